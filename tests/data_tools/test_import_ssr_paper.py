"""``ssr import --from ssr-paper``: the SSR paper's dataset folders, written in their layout.

Frames are folders ``0001/`` ... of RGBA EXRs (``HDRImg``, ``GBufferColor``,
``GBufferNormal``, ``GBufferVelocity`` = motion x, y / ViewDist / mesh id, ``GBufferPBR``),
the colour is 1/4 spp in a traced-pixel order that is *not* ssr-seq's, and the velocity
is written in a convention the importer is not told: it must measure both.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ssr.data_tools import Sequence
from ssr.data_tools.format import FormatError
from ssr.data_tools.importers import ImportOptions, discover, import_sequence

try:
    from .import_scenes import GLCamera, camera_track, render_frame, sphere_centres, true_motion, write_exr
except ImportError:  # rootdir-relative imports (no __init__.py in tests/)
    from import_scenes import GLCamera, camera_track, render_frame, sphere_centres, true_motion, write_exr

FRAMES, WIDTH, HEIGHT, FOV = 5, 48, 32, 55.0
THEIR_ORDER = [(1, 1), (0, 0), (0, 1), (1, 0)]  # (dx, dy) traced per frame, not ssr-seq's PATTERN


def _rgba(rgb: np.ndarray, alpha: float | np.ndarray = 1.0) -> dict[str, np.ndarray]:
    a = np.broadcast_to(alpha, rgb.shape[:2])
    return {"R": rgb[..., 0], "G": rgb[..., 1], "B": rgb[..., 2], "A": a}


def write_paper_scene(root: Path, sub: str = "path01", *, with_truth: bool = True) -> dict:
    camera = GLCamera(WIDTH, HEIGHT, FOV)
    cameras, centres = camera_track(FRAMES), sphere_centres(FRAMES)
    truth: dict = {"motion": [], "view_z": [], "hit": []}
    for k in range(FRAMES):
        frame = render_frame(camera, cameras[k], centres[k])
        motion = true_motion(camera, frame, cameras[k - 1], centres[k], centres[k - 1]) if k else np.zeros((HEIGHT, WIDTH, 2))
        # their velocity (as far as this test is concerned): UV units, y up, current - previous
        velocity_x = -motion[..., 0] / WIDTH
        velocity_y = motion[..., 1] / HEIGHT
        dx, dy = THEIR_ORDER[k % 4]
        sparse = np.zeros_like(frame.color)
        sparse[dy::2, dx::2] = frame.color[dy::2, dx::2]
        folder = root / "images" / sub / f"{k + 1:04d}"
        write_exr(folder / "HDRImg.exr", _rgba(sparse))
        write_exr(folder / "GBufferColor.exr", _rgba(frame.albedo))
        write_exr(folder / "GBufferNormal.exr", _rgba(frame.normal, 0.0))
        write_exr(folder / "GBufferVelocity.exr", {"R": velocity_x, "G": velocity_y, "B": frame.distance,
                                                    "A": frame.sphere.astype(np.float64) + 1})
        write_exr(folder / "GBufferPBR.exr", _rgba(np.stack([np.ones((HEIGHT, WIDTH)), np.full((HEIGHT, WIDTH), 0.4),
                                                             frame.sphere.astype(np.float64)], -1)))
        if with_truth:
            gt = root / "ground_truth" / sub / f"{k + 1:04d}"
            write_exr(gt / "HDRImg.exr", _rgba(frame.color))
            write_exr(gt / "GBufferColor.exr", _rgba(frame.albedo))
        truth["motion"].append(motion)
        truth["view_z"].append(frame.view_z)
        truth["hit"].append(frame.hit)
    return truth


def test_paper_layout_mask_motion_convention_and_depth(tmp_path: Path) -> None:
    truth = write_paper_scene(tmp_path / "Bistro")
    jobs = discover("ssr-paper", tmp_path / "Bistro", ImportOptions(fov_y_deg=FOV))
    assert [job.name for job in jobs] == ["path01"]
    result = import_sequence(jobs[0], tmp_path / "out")
    assert any("units=uv, y_axis=up, points_to=from_previous" in note for note in result.layout_notes)
    sequence = Sequence(tmp_path / "out")
    assert sequence.meta["sampling"] == "subpixel-2x2" and sequence.meta["reference_spp"] is None
    for t in range(FRAMES):
        frame = sequence.read_frame(t)
        dx, dy = THEIR_ORDER[t % 4]
        expected_mask = np.zeros((HEIGHT, WIDTH), np.float32)
        expected_mask[dy::2, dx::2] = 1
        np.testing.assert_array_equal(frame["mask"][..., 0], expected_mask)
        assert np.all(frame["color"][expected_mask == 0] == 0)
        hit = truth["hit"][t]
        np.testing.assert_allclose(frame["depth"][..., 0], truth["view_z"][t], rtol=1e-5, atol=1e-5)
        if t:
            np.testing.assert_allclose(frame["motion"][hit], truth["motion"][t][hit], atol=1e-4)
        np.testing.assert_allclose(frame["roughness"][hit, 0], 0.4, atol=1e-3)
        assert frame["reference"].shape == (HEIGHT, WIDTH, 3) and frame["reference_albedo"].max() <= 1


def test_sub_scene_folder_and_missing_truth(tmp_path: Path) -> None:
    write_paper_scene(tmp_path / "Scene", "a", with_truth=False)
    jobs = discover("ssr-paper", tmp_path / "Scene" / "images" / "a", ImportOptions())
    (job,) = jobs
    assert "reference" not in job.channel_map.sources
    assert any("ViewDist" in note for note in job.notes)  # no fov: distance used as depth, said so
    result = import_sequence(job, tmp_path / "out")
    assert Sequence(result.path).meta["reference_spp"] is None


def test_paper_layout_errors_name_the_file(tmp_path: Path) -> None:
    write_paper_scene(tmp_path / "S", with_truth=False)
    (tmp_path / "S" / "images" / "path01" / "0001" / "GBufferVelocity.exr").unlink()
    with pytest.raises(FormatError, match="velocity file of the SSR-paper layout is missing") as info:
        discover("ssr-paper", tmp_path / "S", ImportOptions())
    assert info.value.file.endswith("0001/GBufferVelocity.exr")
    with pytest.raises(FormatError, match="not an SSR-paper scene"):
        discover("ssr-paper", tmp_path, ImportOptions())
