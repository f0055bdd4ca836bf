"""``ssr import --from blender`` as a new user meets it: Blender 4.2 Cycles renders laid out
the way Blender and ``docs/import.md`` lay them out.

Files follow Blender's conventions (multilayer ``<ViewLayer>.<Pass>.<Channel>`` channels,
``BlenderMultiChannel`` header, camera looking down -Z with +Y up, ``Vector`` y up,
Shader AOVs as ``.X`` / ``.R/G/B/A``) and are written with OpenEXR (``write_exr``). The
camera's field of view follows Blender's *Sensor Fit* rules (``BKE_camera_sensor_fit``:
``AUTO`` fits the sensor width to the larger image dimension).
"""

from __future__ import annotations

import ast
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from ssr.cli import main as ssr_main
from ssr.data_tools import Sequence
from ssr.data_tools.format import FormatError
from ssr.data_tools.importers import ImportOptions, discover, import_sequence, read_map
from ssr.data_tools.importers.pipeline import CAMERA_CHECK_MAX_PX

try:
    from .test_import_blender import FRAMES, LAYER, write_blender_sequence
except ImportError:  # rootdir-relative imports (no __init__.py in tests/)
    from test_import_blender import FRAMES, LAYER, write_blender_sequence

DOCS = Path(__file__).resolve().parents[2] / "docs" / "import.md"
BLENDER_DEFAULT = {"sensor_width": 36.0, "sensor_height": 24.0, "lens": 50.0}  # the default camera


def _blender_fov_y(sensor_fit: str, sensor_width: float, sensor_height: float, lens: float,
                   width: int, height: int) -> float:
    """Blender's rule, written from its source (BKE_camera_sensor_size / _sensor_fit):
    the sensor size is the height only for VERTICAL; AUTO fits horizontally when the
    image is at least as wide as high."""
    size = sensor_height if sensor_fit == "VERTICAL" else sensor_width
    fit = ("HORIZONTAL" if width >= height else "VERTICAL") if sensor_fit == "AUTO" else sensor_fit
    half_extent = size / 2 / lens  # tan of the half angle along the fitted dimension
    tan_half_y = half_extent if fit == "VERTICAL" else half_extent * height / width
    return math.degrees(2 * math.atan(tan_half_y))


def _docs_fov_function():
    """The ``fov_y_deg`` function of the docs' Blender snippet (it needs no ``bpy``)."""
    section = DOCS.read_text().split("## The camera sidecar", 1)[1]
    code = next(block for block in re.findall(r"```python\n(.*?)```", section, re.S) if "import bpy" in block)
    function = next(node for node in ast.parse(code).body
                    if isinstance(node, ast.FunctionDef) and node.name == "fov_y_deg")
    namespace: dict = {"math": math}
    exec(compile(ast.Module([function], []), str(DOCS), "exec"), namespace)
    return namespace["fov_y_deg"]


def _import(src: Path, dst: Path, **options):
    (job,) = discover("blender", src, ImportOptions(**options))
    return import_sequence(job, dst)


# 1. the sidecar where the docs put it; loud warnings (not "fixed") without one

def test_sidecar_next_to_the_blend_is_found(tmp_path: Path) -> None:
    """The docs' snippet writes //camera.json; frames render to //render/."""
    project = tmp_path / "city"
    truth = write_blender_sequence(project / "render", sidecar=project / "camera.json")
    result = _import(project / "render", tmp_path / "out")
    assert any(f"camera sidecar: {project / 'camera.json'}" in note for note in result.layout_notes)
    assert not result.all_warnings()
    frame = Sequence(tmp_path / "out").read_frame(2, ["motion", "depth"])
    sky = ~truth["hit"][2]
    np.testing.assert_allclose(frame["motion"][sky], truth["motion"][2][sky], atol=1e-3)  # not left at 0
    assert result.camera is not None and result.camera["median_px"] < 1e-3


def test_no_sidecar_warns_loudly_and_labels_nothing_fixed(tmp_path: Path, capsys) -> None:
    write_blender_sequence(tmp_path / "shot" / "render", sidecar=tmp_path / "elsewhere" / "camera.json")
    args = ["import", "--from", "blender", str(tmp_path / "shot" / "render"), "--out", str(tmp_path / "out"),
            "--no-progress"]
    assert ssr_main(args) == 0
    captured = capsys.readouterr()
    fixed = [line for line in captured.out.splitlines() if line.strip().startswith("fixed:")]
    assert not [line for line in fixed if "camera unknown" in line or "flipped" in line], fixed
    assert "WARNING: no camera sidecar found" in captured.out
    assert str(tmp_path / "shot" / "render" / "camera.json") in captured.err
    assert str(tmp_path / "shot" / "camera.json") in captured.err  # the parent was searched too
    assert "--camera FILE" in captured.err
    assert "misses (sky) keep motion 0" in captured.err and "normals: NOT flipped" in captured.err
    assert "camera" not in Sequence(tmp_path / "out").meta


# 2. the effective vertical fov (docs' snippet) and the camera check

@pytest.mark.parametrize("fit,width,height,expected", [
    ("AUTO", 384, 192, 20.41),        # the friction: AUTO on a wide image
    ("VERTICAL", 384, 192, 26.99),    # what the old snippet recorded (angle_y)
    ("HORIZONTAL", 384, 192, 20.41),
    ("AUTO", 192, 384, 39.60),        # portrait: the sensor width spans the height
    ("HORIZONTAL", 192, 384, 71.51),
    ("VERTICAL", 192, 384, 26.99),
])
def test_docs_snippet_records_the_effective_vertical_fov(fit: str, width: int, height: int, expected: float) -> None:
    fov_y_deg = _docs_fov_function()
    blender = BLENDER_DEFAULT
    value = fov_y_deg(fit, blender["sensor_width"], blender["sensor_height"], blender["lens"], width, height)
    assert value == pytest.approx(_blender_fov_y(fit, *blender.values(), width, height), abs=1e-9)
    assert value == pytest.approx(expected, abs=0.01)


def test_frames_rendered_at_the_snippets_fov_pass_the_camera_check(tmp_path: Path) -> None:
    fov = _docs_fov_function()("AUTO", 36.0, 24.0, 50.0, 96, 48)
    write_blender_sequence(tmp_path / "shot", fov=fov, size=(96, 48))
    sidecar = json.loads((tmp_path / "shot" / "camera.json").read_text())
    sidecar["resolution"] = [384, 192]  # rendered at Resolution 25 %: same aspect, same fov
    (tmp_path / "shot" / "camera.json").write_text(json.dumps(sidecar))
    result = _import(tmp_path / "shot", tmp_path / "out")
    assert result.camera is not None and result.camera["median_px"] < 1e-3 and result.camera["frames"] == FRAMES - 1
    assert "camera check:" in result.summary() and f"ok below {CAMERA_CHECK_MAX_PX} px): ok" in result.summary()


@pytest.mark.parametrize("rendered,recorded,size", [
    (20.41, 26.99, (96, 48)),    # the old snippet's angle_y for Blender's default camera
    (32.2, 42.5, (48, 32)),      # a wrong fov: ~0.3 px of camera-derived motion error
])
def test_a_wrong_fov_fails_the_camera_check_naming_file_and_disagreement(
        tmp_path: Path, capsys, rendered: float, recorded: float, size: tuple[int, int]) -> None:
    write_blender_sequence(tmp_path / "shot", fov=rendered, sidecar_fov=recorded, size=size)
    with pytest.raises(FormatError) as info:
        _import(tmp_path / "shot", tmp_path / "out")
    error = info.value
    assert error.file.endswith(".exr") and error.channel == f"{LAYER}.Vector.X, {LAYER}.Vector.Y"
    median = float(re.search(r"median ([0-9.]+) px", error.problem).group(1))
    assert median > 2 * CAMERA_CHECK_MAX_PX
    assert f"{recorded:.3f} deg" in error.problem and "EFFECTIVE vertical field of view" in error.problem
    assert not (tmp_path / "out").exists()  # refused before anything is written
    args = ["import", "--from", "blender", str(tmp_path / "shot"), "--out", str(tmp_path / "cli"), "--no-progress"]
    assert ssr_main(args) == 2
    assert "disagree by a median" in capsys.readouterr().err
    assert ssr_main(args + ["--no-camera-check"]) == 0
    assert "camera check skipped" in capsys.readouterr().out


def test_sidecar_of_another_aspect_ratio_is_refused(tmp_path: Path) -> None:
    write_blender_sequence(tmp_path / "shot")
    sidecar = json.loads((tmp_path / "shot" / "camera.json").read_text())
    (tmp_path / "shot" / "camera.json").write_text(json.dumps({**sidecar, "resolution": [1920, 1080]}))
    with pytest.raises(FormatError, match="'resolution' 1920x1080 .* differs from the frames' 48x32"):
        discover("blender", tmp_path / "shot", ImportOptions())


# 3. a partial --map merges over the built-in Blender layout

def test_a_map_with_only_a_sequence_table_merges_over_the_layout(tmp_path: Path, capsys) -> None:
    write_blender_sequence(tmp_path / "shot")
    (tmp_path / "map.toml").write_text('[sequence]\nscene = "city, shot 10"\nspp = 4\n')
    args = ["import", "--from", "blender", str(tmp_path / "shot"), "--out", str(tmp_path / "out"), "--no-progress",
            "--map", str(tmp_path / "map.toml")]
    assert ssr_main(args) == 0, capsys.readouterr().err
    meta = Sequence(tmp_path / "out").meta
    assert meta["scene"] == "city, shot 10" and meta["spp"] == 4 and meta["renderer"] == "Blender Cycles"


def test_a_map_table_replaces_only_its_keys(tmp_path: Path) -> None:
    """The docs' ``[normal] space = "camera"``: a compositor wrote camera-space normals
    (Cycles axes) into the Normal pass; and a pass the layout does not read by itself."""
    def cycles_camera_normal(axis: int):  # R^T n in Blender camera axes, then +z forward
        return lambda frame, to_world: ((frame.normal @ to_world[:3, :3]) * np.array([1.0, 1.0, -1.0]))[..., axis]

    passes = {f"{LAYER}.Normal.{c}": cycles_camera_normal(i) for i, c in enumerate("XYZ")}
    passes[f"{LAYER}.Metal.X"] = lambda frame, to_world: frame.sphere * 1.0
    truth = write_blender_sequence(tmp_path / "shot", extra=passes)
    (tmp_path / "map.toml").write_text('[normal]\nspace = "camera"\nconvention = "cycles"\n\n'
                                       f'[metallic]\nchannels = ["{LAYER}.Metal.X"]\n')
    result = _import(tmp_path / "shot", tmp_path / "out", overrides=read_map(tmp_path / "map.toml"))
    assert result.camera is not None
    sequence = Sequence(tmp_path / "out")
    for t in range(FRAMES):
        frame = sequence.read_frame(t, ["normal", "metallic"])
        hit = truth["hit"][t]
        np.testing.assert_allclose(frame["normal"][hit], truth["normal"][t][hit], atol=2e-3)
        np.testing.assert_array_equal(frame["metallic"][..., 0][hit], truth["frames"][t].sphere[hit])


@pytest.mark.parametrize("text,message", [
    ('[files]\nmain = "f.{frame:04d}.exr"\n', "[files] is only read by --from custom"),
    ("[roughness]\nkind = \"perceptual\"\n", "has no 'roughness' source to merge over: give its 'channels'"),
    ('[normal]\nfile = "gbuffer"\n', "file = 'gbuffer': --from blender has no such file (its file keys: main)"),
    ('[normal]\nspace = "screen"\n', "'space' = 'screen', expected one of world, camera"),
])
def test_a_map_that_cannot_merge_names_the_map(tmp_path: Path, text: str, message: str) -> None:
    write_blender_sequence(tmp_path / "shot")
    (tmp_path / "map.toml").write_text(text)
    with pytest.raises(FormatError) as info:
        discover("blender", tmp_path / "shot", ImportOptions(overrides=read_map(tmp_path / "map.toml")))
    assert message in info.value.problem and info.value.file == str(tmp_path / "map.toml")


# 4. scene and renderer in meta.json

@pytest.mark.parametrize("header,sidecar_extra,scene,renderer", [
    ({}, {}, "shot_a", "Blender Cycles"),  # noisy/ is a generic name: its parent names the scene
    ({"File": "/projects/city/city.blend"}, {}, "city", "Blender Cycles"),  # Blender's File stamp
    ({"File": "C:\\projects\\city\\harbour.blend"}, {}, "harbour", "Blender Cycles"),
    ({"File": "<untitled>"}, {}, "shot_a", "Blender Cycles"),
    ({"File": "/p/city.blend"}, {"blend_file": "/p/port.blend", "blender_version": "4.2.3 LTS"},
     "port", "Blender 4.2.3 LTS Cycles"),
    ({"Software": "Blender 5.0.0"}, {"blender_version": "4.2.3 LTS"}, "shot_a", "Blender 5.0.0 Cycles"),
])
def test_scene_and_renderer_defaults(tmp_path: Path, header: dict, sidecar_extra: dict, scene: str,
                                     renderer: str) -> None:
    src = tmp_path / "shot_a" / "noisy"
    write_blender_sequence(src, header=header)
    sidecar = json.loads((src / "camera.json").read_text())
    (src / "camera.json").write_text(json.dumps({**sidecar, **sidecar_extra}))
    _import(src, tmp_path / "out")
    meta = Sequence(tmp_path / "out").meta
    assert (meta["scene"], meta["renderer"]) == (scene, renderer)


# 5. --detect-motion with --from blender

def test_detect_motion_measures_the_blender_convention(tmp_path: Path, capsys) -> None:
    write_blender_sequence(tmp_path / "shot")
    args = ["import", "--from", "blender", str(tmp_path / "shot"), "--out", str(tmp_path / "out"), "--no-progress",
            "--detect-motion"]
    assert ssr_main(args) == 0
    assert "motion convention measured: units=pixels, y_axis=up, points_to=previous" in capsys.readouterr().out


def test_detect_motion_without_vectors_is_refused(tmp_path: Path, capsys) -> None:
    write_blender_sequence(tmp_path / "shot", vector=False)
    args = ["import", "--from", "blender", str(tmp_path / "shot"), "--out", str(tmp_path / "out"), "--no-progress",
            "--detect-motion"]
    assert ssr_main(args) == 2
    err = capsys.readouterr().err
    assert "--detect-motion: the blender source has no motion vectors to measure" in err and "Traceback" not in err


# 6. a render folder holding noisy/, reference/ and camera.json

def test_render_folder_imports_noisy_with_its_reference(tmp_path: Path, capsys) -> None:
    render = tmp_path / "harbour"
    truth = write_blender_sequence(render / "noisy", sidecar=render / "camera.json", spp=1)
    write_blender_sequence(render / "reference", sidecar=render / "camera.json", spp=1024)
    assert ssr_main(["import", "--from", "blender", str(render), "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "imported 1 sequence(s), 4 frame(s)" in out and "imported noisy/ with" in out
    sequence = Sequence(tmp_path / "out")
    assert sequence.meta["spp"] == 1 and sequence.meta["reference_spp"] == 1024
    assert sequence.meta["scene"] == "harbour" and sequence.meta["camera"] is not None
    assert sequence.read_frame(1, ["reference"])["reference"].max() > 0.1
    assert truth["hit"][0].any()


def test_render_folder_with_two_frame_folders_says_what_to_pass(tmp_path: Path, capsys) -> None:
    render = tmp_path / "harbour"
    for name in ("noisy", "noisy_4spp", "reference"):
        write_blender_sequence(render / name, sidecar=render / "camera.json")
    assert ssr_main(["import", "--from", "blender", str(render), "--out", str(tmp_path / "out"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "pass the frame folder as SRC and the reference with --reference" in err
    assert f"--reference {render / 'reference'}" in err


# 8. the motion check's verdict

def test_motion_check_prints_a_verdict_with_its_threshold(tmp_path: Path, capsys) -> None:
    write_blender_sequence(tmp_path / "shot", size=(96, 64))
    assert ssr_main(["import", "--from", "blender", str(tmp_path / "shot"), "--out", str(tmp_path / "good"),
                     "--no-progress"]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if "motion check:" in line)
    assert re.search(r": ok \(ratio 0\.\d\d to the best alternative, [a-z ]+; ok up to 0\.95\)$", line), line
    (tmp_path / "wrong_y.toml").write_text('[motion]\ny_axis = "down"\n')  # a y-axis mistake
    assert ssr_main(["import", "--from", "blender", str(tmp_path / "shot"), "--out", str(tmp_path / "bad"),
                     "--no-progress", "--map", str(tmp_path / "wrong_y.toml")]) == 2  # the camera check catches it first
    assert "disagree by a median" in capsys.readouterr().err
    assert ssr_main(["import", "--from", "blender", str(tmp_path / "shot"), "--out", str(tmp_path / "bad"),
                     "--no-progress", "--map", str(tmp_path / "wrong_y.toml"), "--no-camera-check"]) == 0
    captured = capsys.readouterr()
    assert "SUSPICIOUS (ratio" in captured.out and "to y flipped > 0.95" in captured.out
    assert "WARNING" in captured.err and "motion check: SUSPICIOUS" in captured.err


# 9. ssr preview --no-progress

def test_preview_accepts_no_progress(tmp_path: Path) -> None:
    write_blender_sequence(tmp_path / "shot")
    _import(tmp_path / "shot", tmp_path / "seq")
    assert ssr_main(["preview", "--data", str(tmp_path / "seq"), "--out", str(tmp_path / "png"), "--every", "2",
                     "--no-progress"]) == 0
    assert sorted(p.name for p in (tmp_path / "png").iterdir()) == ["frame_00000.png", "frame_00002.png"]


# 10. roughness, metallic, transparent from Shader AOVs

def test_shader_aovs_are_read(tmp_path: Path) -> None:
    aovs = {f"{LAYER}.roughness.X": lambda frame, _m: np.where(frame.sphere, 0.5, 1.0),  # Principled Roughness
            f"{LAYER}.metallic.X": lambda frame, _m: frame.sphere * 1.0}
    for channel, value in zip("RGBA", (0.9, 0.8, 0.7, 1.0)):  # Color AOVs are RGBA
        aovs[f"{LAYER}.transparent.{channel}"] = lambda frame, _m, v=value: frame.sphere * v
    truth = write_blender_sequence(tmp_path / "shot", extra=aovs)
    result = _import(tmp_path / "shot", tmp_path / "out")
    assert any("Shader AOVs read: roughness, metallic, transparent" in note for note in result.layout_notes)
    frame = Sequence(tmp_path / "out").read_frame(1, ["roughness", "metallic", "transparent"])
    sphere, hit = truth["frames"][1].sphere, truth["hit"][1]
    np.testing.assert_allclose(frame["roughness"][..., 0][sphere], 0.25, atol=1e-3)  # alpha = r^2
    np.testing.assert_allclose(frame["roughness"][..., 0][hit & ~sphere], 1.0, atol=1e-3)
    assert np.all(frame["roughness"][~hit] == 0)
    np.testing.assert_array_equal(frame["metallic"][..., 0][hit], sphere[hit])
    np.testing.assert_allclose(frame["transparent"][sphere], [[0.9, 0.8, 0.7]] * int(sphere.sum()), atol=1e-3)
