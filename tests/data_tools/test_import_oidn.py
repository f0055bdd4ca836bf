"""``ssr import --from oidn``: Intel OIDN's training layout (single frames, no motion, no depth)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ssr.data_tools import Sequence, validate_sequence
from ssr.data_tools.format import FormatError
from ssr.data_tools.importers import ImportOptions, discover, import_sequence

try:
    from .import_scenes import write_exr
except ImportError:  # rootdir-relative imports (no __init__.py in tests/)
    from import_scenes import write_exr

H, W = 12, 20


def _rgb(image: np.ndarray) -> dict[str, np.ndarray]:
    return {"R": image[..., 0], "G": image[..., 1], "B": image[..., 2]}


def write_oidn_images(folder: Path, name: str = "kitchen", spps=(1, 16), *, ref_albedo: bool = False) -> None:
    rng = np.random.default_rng(3)
    normal = rng.normal(size=(H, W, 3))
    normal = 0.8 * normal / np.linalg.norm(normal, axis=-1, keepdims=True)  # OIDN allows non-unit normals
    normal[0, :] = 0  # background: no surface
    albedo = rng.uniform(0.1, 0.9, (H, W, 3))
    for spp in spps:
        stem = folder / f"{name}_{spp:04d}spp"
        write_exr(Path(f"{stem}.hdr.exr"), _rgb(rng.exponential(0.5, (H, W, 3))), half=True)
        write_exr(Path(f"{stem}.alb.exr"), _rgb(albedo), half=True)
        write_exr(Path(f"{stem}.nrm.exr"), _rgb(normal), half=True)
    write_exr(folder / f"{name}_ref.hdr.exr", _rgb(np.full((H, W, 3), 0.5)), half=True)
    if ref_albedo:
        write_exr(folder / f"{name}_ref.alb.exr", _rgb(albedo), half=True)


def test_each_name_and_spp_becomes_a_one_frame_sequence(tmp_path: Path) -> None:
    write_oidn_images(tmp_path / "data" / "sub")
    jobs = discover("oidn", tmp_path / "data", ImportOptions())
    assert [job.name for job in jobs] == ["kitchen_0001spp", "kitchen_0016spp"]
    for job in jobs:
        result = import_sequence(job, tmp_path / "out" / job.name)
        assert validate_sequence(result.path).ok and result.motion is None
    sequence = Sequence(tmp_path / "out" / "kitchen_0016spp", apply_pattern=False)
    assert sequence.frame_count == 1 and sequence.cuts == [0] and sequence.meta["spp"] == 16
    frame = sequence.read_frame(0)
    np.testing.assert_array_equal(frame["depth"][0], 0)  # no normal: a miss
    np.testing.assert_array_equal(frame["depth"][1:], 1)  # surfaces: depth 1 (OIDN has no depth)
    np.testing.assert_allclose(np.linalg.norm(frame["normal"][1:], axis=-1), 1, atol=2e-3)  # renormalised
    np.testing.assert_array_equal(frame["albedo"][0], 1)
    assert np.all(frame["motion"] == 0)
    np.testing.assert_allclose(frame["reference"], 0.5)
    np.testing.assert_allclose(frame["reference_albedo"][1:], frame["albedo"][1:], atol=1e-6)


def test_spp_filter_and_missing_feature_error(tmp_path: Path) -> None:
    write_oidn_images(tmp_path, ref_albedo=True)
    (job,) = discover("oidn", tmp_path, ImportOptions(spp=16))
    assert job.name == "kitchen_0016spp" and job.channel_map.sources["reference_albedo"].file == "reference_albedo"
    with pytest.raises(FormatError, match="with 4 spp"):
        discover("oidn", tmp_path, ImportOptions(spp=4))
    (tmp_path / "kitchen_0001spp.alb.exr").unlink()
    with pytest.raises(FormatError, match="albedo image of kitchen_0001spp.hdr.exr is missing") as info:
        discover("oidn", tmp_path, ImportOptions())
    assert info.value.file.endswith("kitchen_0001spp.alb.exr")
