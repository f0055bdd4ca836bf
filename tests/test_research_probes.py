"""The research probes (research/README.md) still import and parse their arguments: a
refactor of the package that breaks one fails here, not months later in someone's study."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

RESEARCH = Path(__file__).resolve().parents[1] / "research"
PROBES = sorted(p for p in RESEARCH.glob("*.py") if p.name != "blender_conventions_probe.py")


@pytest.mark.parametrize("probe", PROBES, ids=[p.stem for p in PROBES])
def test_probe_help_runs(probe: Path) -> None:
    result = subprocess.run([sys.executable, str(probe), "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "usage" in result.stdout.lower()


def test_every_probe_is_in_the_readme_and_shell_probes_parse() -> None:
    readme = (RESEARCH / "README.md").read_text()
    for probe in sorted(RESEARCH.glob("*.py")) + sorted(RESEARCH.glob("*.sh")):
        assert f"`{probe.name}`" in readme, f"{probe.name} is not described in research/README.md"
    for script in RESEARCH.glob("*.sh"):
        assert subprocess.run(["bash", "-n", str(script)]).returncode == 0, script.name


def test_rule_history_probe_runs_on_a_tiny_sequence(tmp_path: Path) -> None:
    """The model-free rule probe end to end, with the temporal-gradient rejection it measured
    (docs/research-log.md, 12-08): windows, the mean N and the bias lines come out."""
    from ssr.data_tools.synthetic import write_synthetic_sequence

    sequence = write_synthetic_sequence(tmp_path / "plane", width=24, height=16, frames=18)
    for flags in ([], ["--reject-tile", "4", "--reject-k", "2"]):
        result = subprocess.run([sys.executable, str(RESEARCH / "rule_history_probe.py"), str(sequence), *flags],
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-2000:]
        assert "frames 16-23 since cut: mean N" in result.stdout and "bias (frames >= 16), rule estimate" in result.stdout
