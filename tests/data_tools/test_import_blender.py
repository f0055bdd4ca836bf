"""``ssr import --from blender``: files written in Cycles' multilayer conventions.

The conventions written here are the ones measured on real Blender 4.2 renders
(``test_import_blender_real.py``, ``docs/import.md``): ``Vector.XY`` is the previous
position minus the current one in Blender's y-up pixel coordinates, ``Depth.Z`` is the
view-space z (1e10 at misses), ``Normal`` is world space, ``Denoising Normal`` camera
space with +x right, +y up, +z forward.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ssr.data_tools import Sequence, validate_sequence
from ssr.data_tools.format import FormatError
from ssr.data_tools.importers import ImportOptions, discover, import_sequence

try:
    from .import_scenes import GLCamera, camera_track, render_frame, sphere_centres, true_motion, write_exr
except ImportError:  # rootdir-relative imports (no __init__.py in tests/)
    from import_scenes import GLCamera, camera_track, render_frame, sphere_centres, true_motion, write_exr

FRAMES, WIDTH, HEIGHT, FOV = 4, 48, 32, 50.0
LAYER = "ViewLayer"


def write_blender_sequence(folder: Path, *, world_normals: bool = True, first_number: int = 1,
                           numbers: list[int] | None = None, spp: int = 16, fov: float = FOV,
                           size: tuple[int, int] = (WIDTH, HEIGHT), sidecar: Path | None = None,
                           sidecar_fov: float | None = None, vector: bool = True,
                           header: dict | None = None, extra: dict | None = None) -> dict:
    """Frames ``frame_NNNN.exr`` of the analytic scene in Cycles' multilayer conventions,
    rendered at ``fov`` (the effective vertical field of view) and ``size`` = (width,
    height), and a camera sidecar at ``sidecar`` (default ``folder/camera.json``) that
    records ``sidecar_fov`` (default ``fov``). ``extra``: channel name -> function of the
    frame's :class:`SceneFrame` and camera-to-world matrix giving more (or replacing)
    passes."""
    width, height = size
    camera = GLCamera(width, height, fov)
    cameras, centres = camera_track(FRAMES), sphere_centres(FRAMES)
    truth = {"motion": [], "normal": [], "view_z": [], "hit": [], "frames": []}
    numbers = numbers or list(range(first_number, first_number + FRAMES))
    for k, number in enumerate(numbers):
        frame = render_frame(camera, cameras[k], centres[k])
        # Blender's Vector.XY: previous position - current position, pixels, y up
        motion = true_motion(camera, frame, cameras[k - 1], centres[k], centres[k - 1]) if k else np.zeros((height, width, 2))
        vectors = np.stack([motion[..., 0], -motion[..., 1]], axis=-1)
        vectors = np.where(frame.hit[..., None], vectors, 0.0)  # Blender leaves misses at 0
        channels = {
            f"{LAYER}.Combined.R": frame.color[..., 0], f"{LAYER}.Combined.G": frame.color[..., 1],
            f"{LAYER}.Combined.B": frame.color[..., 2], f"{LAYER}.Combined.A": np.ones((height, width)),
            f"{LAYER}.Denoising Albedo.R": np.where(frame.hit, frame.albedo[..., 0], 0.025),
            f"{LAYER}.Denoising Albedo.G": np.where(frame.hit, frame.albedo[..., 1], 0.025),
            f"{LAYER}.Denoising Albedo.B": np.where(frame.hit, frame.albedo[..., 2], 0.025),
            f"{LAYER}.Depth.Z": np.where(frame.hit, frame.view_z, 1e10),
        }
        if vector:
            channels.update({
                f"{LAYER}.Vector.X": vectors[..., 0], f"{LAYER}.Vector.Y": vectors[..., 1],
                f"{LAYER}.Vector.Z": np.zeros((height, width)), f"{LAYER}.Vector.W": np.zeros((height, width)),
            })
        if world_normals:
            for index, axis in enumerate("XYZ"):
                channels[f"{LAYER}.Normal.{axis}"] = frame.normal[..., index]
        else:
            camera_normal = frame.normal @ cameras[k][:3, :3]  # R^T n: OpenGL camera axes
            cycles = camera_normal * np.array([1.0, 1.0, -1.0])  # +z forward
            for index, axis in enumerate("XYZ"):
                channels[f"{LAYER}.Denoising Normal.{axis}"] = np.where(frame.hit, cycles[..., index], 0.0)
        for name, make in (extra or {}).items():
            channels[name] = make(frame, cameras[k])
        write_exr(folder / f"frame_{number:04d}.exr", channels,
                  {"BlenderMultiChannel": "Blender V2.55.1 and newer", f"cycles.{LAYER}.samples": str(spp),
                   **(header or {})})
        truth["motion"].append(motion)
        truth["normal"].append(frame.normal)
        truth["view_z"].append(frame.view_z)
        truth["hit"].append(frame.hit)
        truth["frames"].append(frame)
    sidecar = sidecar or folder / "camera.json"
    sidecar.parent.mkdir(parents=True, exist_ok=True)
    sidecar.write_text(json.dumps({"convention": "blender", "fov_y_deg": fov if sidecar_fov is None else sidecar_fov,
                                   "to_world": [m.tolist() for m in cameras]}))
    return truth


def _import(src: Path, dst: Path, **options) -> Path:
    (job,) = discover("blender", src, ImportOptions(**options))
    import_sequence(job, dst)
    return dst


def test_blender_motion_imports_to_format_within_1e4_px(tmp_path: Path) -> None:
    truth = write_blender_sequence(tmp_path / "shot")
    seq_dir = _import(tmp_path / "shot", tmp_path / "out")
    assert validate_sequence(seq_dir).ok
    sequence = Sequence(seq_dir, apply_pattern=False)
    assert sequence.meta["spp"] == 16 and sequence.meta["sampling"] == "full" and sequence.cuts == [0]
    assert sequence.meta["camera"]["fov_y_deg"] == pytest.approx(FOV)
    for t in range(1, FRAMES):
        frame = sequence.read_frame(t)
        hit = truth["hit"][t]
        expected = truth["motion"][t]
        assert hit.sum() > 500 and np.abs(expected[hit]).max() > 1.0  # a real move
        np.testing.assert_allclose(frame["motion"][hit], expected[hit], atol=1e-4)
        # misses: the direction at infinity (Blender wrote 0 there)
        miss = ~hit & np.all(np.isfinite(expected), axis=-1)
        assert miss.sum() > 20
        np.testing.assert_allclose(frame["motion"][miss], expected[miss], atol=1e-3)
        np.testing.assert_allclose(frame["depth"][..., 0], truth["view_z"][t], rtol=1e-6, atol=1e-5)
        np.testing.assert_allclose(frame["albedo"][~hit], 1.0)  # misses: albedo 1


def test_denoising_normal_camera_space_imports_to_world_normals(tmp_path: Path) -> None:
    truth = write_blender_sequence(tmp_path / "shot", world_normals=False)
    sequence = Sequence(_import(tmp_path / "shot", tmp_path / "out"), apply_pattern=False)
    for t in range(FRAMES):
        hit = truth["hit"][t]
        normal = sequence.read_frame(t)["normal"]
        np.testing.assert_allclose(normal[hit], truth["normal"][t][hit], atol=2e-3)  # HALF on disk
        assert np.all(normal[~hit] == 0)


def test_camera_space_normals_without_camera_is_a_clear_error(tmp_path: Path) -> None:
    write_blender_sequence(tmp_path / "shot", world_normals=False)
    (tmp_path / "shot" / "camera.json").unlink()
    (job,) = discover("blender", tmp_path / "shot", ImportOptions(fov_y_deg=FOV))
    with pytest.raises(FormatError, match="camera space") as info:
        import_sequence(job, tmp_path / "out")
    assert info.value.channel == f"{LAYER}.Denoising Normal.X" and "frame_0001.exr" in info.value.file


def test_numbering_gap_is_a_cut_and_reference_is_read(tmp_path: Path) -> None:
    write_blender_sequence(tmp_path / "shot", numbers=[10, 11, 12, 20])
    write_blender_sequence(tmp_path / "ref", numbers=[10, 11, 12, 20], spp=1024)
    sequence = Sequence(_import(tmp_path / "shot", tmp_path / "out", reference=tmp_path / "ref"))
    assert sequence.cuts == [0, 3]
    assert sequence.meta["reference_spp"] == 1024
    frame = sequence.read_frame(3, ["reference", "reference_albedo", "motion"])
    assert np.all(frame["motion"] == 0)  # cut: no history
    assert frame["reference"].max() > 0.1


def test_missing_pass_and_view_layer_errors(tmp_path: Path) -> None:
    write_blender_sequence(tmp_path / "shot")
    with pytest.raises(FormatError, match="view layer 'Other' not found"):
        discover("blender", tmp_path / "shot", ImportOptions(view_layer="Other"))
    (tmp_path / "bad").mkdir()
    write_exr(tmp_path / "bad" / "frame_0001.exr", {f"{LAYER}.Combined.R": np.ones((4, 4)), f"{LAYER}.Combined.G": np.ones((4, 4)),
                                                    f"{LAYER}.Combined.B": np.ones((4, 4))})
    with pytest.raises(FormatError, match="no albedo pass") as info:
        discover("blender", tmp_path / "bad", ImportOptions())
    assert info.value.channel == f"{LAYER}.Denoising Albedo.R"
    (tmp_path / "plain").mkdir()
    write_exr(tmp_path / "plain" / "frame_0001.exr", {"R": np.ones((4, 4)), "G": np.ones((4, 4)), "B": np.ones((4, 4))})
    with pytest.raises(FormatError, match="not a Blender multilayer EXR"):
        discover("blender", tmp_path / "plain", ImportOptions())


def test_a_folder_of_shots_imports_as_a_dataset(tmp_path: Path) -> None:
    from ssr.cli import main as ssr_main
    from ssr.data_tools import list_sequences

    for shot in ("shot010", "shot020"):
        write_blender_sequence(tmp_path / "renders" / shot)
        write_blender_sequence(tmp_path / "refs" / shot, spp=512)
    jobs = discover("blender", tmp_path / "renders", ImportOptions(reference=tmp_path / "refs"))
    assert [job.name for job in jobs] == ["shot010", "shot020"]
    assert ssr_main(["import", "--from", "blender", str(tmp_path / "renders"), "--out", str(tmp_path / "data"),
                     "--reference", str(tmp_path / "refs"), "--no-progress"]) == 0
    sequences = list_sequences(tmp_path / "data")
    assert [p.name for p in sequences] == ["shot010", "shot020"]
    assert all(Sequence(p).meta["reference_spp"] == 512 for p in sequences)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FormatError, match="no \\*.exr frame files found"):
        discover("blender", tmp_path / "empty", ImportOptions())
