"""Build the wheel from the repository and install it into a clean virtual environment.

Checks the package mapping of pyproject.toml (source folders land inside ``ssr/``, none at
the top level of site-packages) and that the native leaf module imports and packs a frame
without NumPy. Offline: the wheel is built without build isolation (scikit-build-core and
nanobind come from the running interpreter) and installed with ``--no-index --no-deps``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

# Run inside the clean venv: imports only the extension and the standard library, checks
# that NumPy was not pulled in, and packs a 2x2 frame through buffer-protocol memoryviews.
SMOKE_SCRIPT = textwrap.dedent(
    """
    import math, struct, sys
    import ssr._native as native

    assert "numpy" not in sys.modules, "ssr._native imported numpy"
    height, width = 2, 2

    def layer(channels, values=None):
        values = values or [0.0] * (height * width * channels)
        data = bytearray(struct.pack(f"{len(values)}f", *values))
        return memoryview(data).cast("B").cast("f", shape=[height, width, channels])

    out_bytes = bytearray(19 * height * width * 4)
    out = memoryview(out_bytes).cast("B").cast("f", shape=[19, height, width])
    native.pack_frame(
        layer(3, [math.e - 1.0] * 12),       # color
        layer(3, [0.996] * 12),              # albedo
        layer(3),                            # normal
        layer(1, [1.0, 2.0, 0.0, 4.0]),      # depth
        layer(1), layer(1), layer(1),        # roughness, metallic, shadow
        layer(1, [1.0, 0.0, 0.0, 1.0]),      # mask
        layer(3), layer(2),                  # transparent, motion
        out,
        num_threads=2,
    )
    planes = struct.unpack(f"{19 * height * width}f", out_bytes)
    irradiance_r = planes[0:4]
    depth = planes[9 * 4 : 10 * 4]
    assert all(abs(a - b) < 1e-6 for a, b in zip(irradiance_r, [1.0, 0.0, 0.0, 1.0])), planes
    assert list(depth) == [0.25, 0.5, 0.0, 1.0], depth
    assert "numpy" not in sys.modules
    import sysconfig
    print(native.version())
    print(sysconfig.get_paths()["purelib"])
    """
)


def clean_environment() -> dict[str, str]:
    """os.environ without variables that would leak the outer environment's packages
    (or redirect pip) into the clean venv."""
    leaky = {"PYTHONPATH", "PYTHONHOME", "PYTHONUSERBASE", "PYTHONSTARTUP"}
    return {
        key: value
        for key, value in os.environ.items()
        if key not in leaky and key not in {"PIP_TARGET", "PIP_PREFIX", "PIP_USER", "PIP_ROOT"}
    }


def run_checked(
    command: list[str], timeout: float, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command, failing the test with its output when it exits non-zero."""
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    if result.returncode != 0:
        pytest.fail(
            f"command failed ({result.returncode}): {' '.join(command)}\n"
            f"--- stdout ---\n{result.stdout[-4000:]}\n--- stderr ---\n{result.stderr[-4000:]}"
        )
    return result


@pytest.mark.slow
def test_wheel_installs_into_clean_venv(tmp_path: Path) -> None:
    pytest.importorskip("scikit_build_core", reason="building needs scikit-build-core")
    pytest.importorskip("nanobind", reason="building needs nanobind")
    wheel_dir = tmp_path / "wheels"
    run_checked(
        [
            sys.executable, "-m", "pip", "wheel",
            "--no-build-isolation", "--no-deps", "--no-index",
            "-w", str(wheel_dir),
            f"--config-settings=build-dir={tmp_path / 'build'}",
            str(REPO_ROOT),
        ],
        timeout=600,
    )  # fmt: skip
    wheels = sorted(wheel_dir.glob("ssr_engine-*.whl"))
    assert len(wheels) == 1, wheels

    venv_dir = tmp_path / "venv"
    env = clean_environment()
    run_checked(
        [sys.executable, "-m", "venv", "--without-pip", str(venv_dir)], timeout=120, env=env
    )
    venv_python = venv_dir / "bin" / "python"
    assert venv_python.exists()
    # the outer pip installs into the clean environment (pip >= 22.3: --python)
    run_checked(
        [
            sys.executable, "-m", "pip", "--python", str(venv_python), "install",
            "--no-deps", "--no-index", "--no-compile", "--ignore-installed", str(wheels[0]),
        ],
        timeout=300,
        env=env,
    )  # fmt: skip

    smoke = run_checked([str(venv_python), "-I", "-c", SMOKE_SCRIPT], timeout=60, env=env)
    version, purelib = smoke.stdout.split()[-2:]
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    assert version == project["version"]

    site_packages = Path(purelib)
    assert site_packages.is_relative_to(venv_dir)
    package = site_packages / "ssr"
    assert (package / "data_tools" / "pack.py").is_file()
    for folder in ("runtime", "export", "bench", "data_tools"):
        assert (package / folder / "__init__.py").is_file(), f"ssr/{folder} missing"
        assert not (site_packages / folder).exists(), f"top-level '{folder}' in site-packages"
    assert list(package.glob("_native*.so")) or list(package.glob("_native*.pyd"))
    assert not (site_packages / "numpy").exists()
