"""``ssr import --from custom --map map.toml``: an engine dump described by a channel map.

The dump uses conventions far from docs/format.md's on purpose (OpenGL view-space normals
encoded in [0, 1], negative view z, UV-unit velocities pointing from the previous frame
with y up) and stores its G-buffer as a two-part EXR with a tiled part: the import must
reproduce the scene's world-space normals, view depth and docs/format.md motion.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import OpenEXR
import pytest

from ssr.data_tools import Sequence
from ssr.data_tools.format import FormatError
from ssr.data_tools.importers import ImportOptions, discover, import_sequence, load_channel_map

try:
    from .import_scenes import GLCamera, camera_track, render_frame, sphere_centres, true_motion, write_exr
except ImportError:  # rootdir-relative imports (no __init__.py in tests/)
    from import_scenes import GLCamera, camera_track, render_frame, sphere_centres, true_motion, write_exr

FRAMES, WIDTH, HEIGHT, FOV = 3, 40, 24, 45.0

MAP = """
[files]
main = "beauty/beauty.{frame:04d}.exr"
gbuffer = "gbuffer/gb.{frame:04d}.exr"
reference = "ref/ref.{frame:04d}.exr"

[sequence]
sampling = "full"
spp = 1
reference_spp = 256
camera = "camera.json"
renderer = "MyEngine 5"

[color]
channels = ["R", "G", "B"]

[albedo]
file = "gbuffer"
channels = ["gbuffer.BaseColor.R", "gbuffer.BaseColor.G", "gbuffer.BaseColor.B"]

[normal]
file = "gbuffer"
channels = ["N.X", "N.Y", "N.Z"]
space = "camera"
convention = "opengl"
encoding = "unsigned"

[depth]
file = "gbuffer"
channels = ["ViewZ"]
scale = -1.0

[motion]
file = "gbuffer"
channels = ["MV.X", "MV.Y"]
units = "uv"
y_axis = "up"
points_to = "from_previous"

[reference]
file = "reference"
channels = ["R", "G", "B"]

[reference_albedo]
file = "gbuffer"
channels = ["gbuffer.BaseColor.R", "gbuffer.BaseColor.G", "gbuffer.BaseColor.B"]
"""


def _write_gbuffer(path: Path, parts: dict[str, dict[str, np.ndarray]]) -> None:
    tiles = OpenEXR.TileDescription()
    tiles.xSize, tiles.ySize, tiles.mode = 16, 16, OpenEXR.ONE_LEVEL
    exr_parts = []
    for index, (name, channels) in enumerate(parts.items()):
        header = {"compression": OpenEXR.PIZ_COMPRESSION, "type": OpenEXR.tiledimage, "tiles": tiles} if index == 0 else \
            {"compression": OpenEXR.ZIPS_COMPRESSION, "type": OpenEXR.scanlineimage}
        arrays = {k: np.ascontiguousarray(v.astype(np.float32)) for k, v in channels.items()}
        exr_parts.append(OpenEXR.Part(header, arrays, name=name))
    path.parent.mkdir(parents=True, exist_ok=True)
    with OpenEXR.File(exr_parts) as exr:
        exr.write(str(path))


def write_engine_dump(root: Path) -> dict:
    camera = GLCamera(WIDTH, HEIGHT, FOV)
    cameras, centres = camera_track(FRAMES), sphere_centres(FRAMES)
    truth: dict = {"motion": [], "normal": [], "view_z": [], "hit": []}
    for k in range(FRAMES):
        number = 100 + k
        frame = render_frame(camera, cameras[k], centres[k])
        motion = true_motion(camera, frame, cameras[k - 1], centres[k], centres[k - 1]) if k else np.zeros((HEIGHT, WIDTH, 2))
        velocity = np.stack([-motion[..., 0] / WIDTH, motion[..., 1] / HEIGHT], axis=-1)  # uv, y up, p - p_prev
        view_normal = frame.normal @ cameras[k][:3, :3]  # OpenGL camera axes
        encoded = np.where(frame.hit[..., None], view_normal * 0.5 + 0.5, 0.5)
        write_exr(root / "beauty" / f"beauty.{number:04d}.exr", {c: frame.color[..., i] for i, c in enumerate("RGB")})
        write_exr(root / "ref" / f"ref.{number:04d}.exr", {c: frame.color[..., i] for i, c in enumerate("RGB")})
        _write_gbuffer(root / "gbuffer" / f"gb.{number:04d}.exr", {
            "gbuffer": {**{f"BaseColor.{c}": frame.albedo[..., i] for i, c in enumerate("RGB")},
                        **{f"N.{c}": encoded[..., i] for i, c in enumerate("XYZ")}},
            "motion": {"MV.X": velocity[..., 0], "MV.Y": velocity[..., 1], "ViewZ": -frame.view_z},
        })
        for key, value in (("motion", motion), ("normal", frame.normal), ("view_z", frame.view_z), ("hit", frame.hit)):
            truth[key].append(value)
    (root / "camera.json").write_text(json.dumps(
        {"convention": "opengl", "fov_y_deg": FOV, "to_world": [m.tolist() for m in cameras]}))
    (root / "map.toml").write_text(MAP)
    return truth


def test_custom_map_converts_view_normals_depth_and_velocity(tmp_path: Path) -> None:
    truth = write_engine_dump(tmp_path / "dump")
    options = ImportOptions(overrides=load_channel_map(tmp_path / "dump" / "map.toml"))
    (job,) = discover("custom", tmp_path / "dump", options)
    import_sequence(job, tmp_path / "out")
    sequence = Sequence(tmp_path / "out", apply_pattern=False)
    assert sequence.meta["renderer"] == "MyEngine 5" and sequence.meta["reference_spp"] == 256
    for t in range(FRAMES):
        frame = sequence.read_frame(t)
        hit = truth["hit"][t]
        np.testing.assert_allclose(frame["normal"][hit], truth["normal"][t][hit], atol=2e-3)
        np.testing.assert_allclose(frame["depth"][..., 0], truth["view_z"][t], rtol=1e-6, atol=1e-5)
        if t:
            np.testing.assert_allclose(frame["motion"][hit], truth["motion"][t][hit], atol=1e-4)


@pytest.mark.parametrize("edit,message", [
    (lambda m: m.replace('space = "camera"', 'space = "camera"\nspcae = 1'), "unknown key(s) spcae"),
    (lambda m: m.replace('channels = ["MV.X", "MV.Y"]', 'channels = ["MV.X"]'), "must list 2 channel name(s) for layer 'motion'"),
    (lambda m: m.replace('units = "uv"', 'units = "furlongs"'), "'units' = 'furlongs'"),
    (lambda m: m.replace('file = "reference"', 'file = "ref"'), "file = 'ref' is not a key of [files]"),
    (lambda m: m.replace("[files]", "[filez]"), "unknown layer 'filez'"),
    (lambda m: m.split("[sequence]")[1].join(["[sequence]", ""]), "[files] must map file keys"),
    (lambda m: m.replace("[albedo]", "[albedoo]"), "unknown layer 'albedoo'"),
    (lambda m: m + "\n[color\n", "not valid TOML"),
])
def test_map_errors_name_the_map_and_the_problem(tmp_path: Path, edit, message: str) -> None:
    path = tmp_path / "map.toml"
    path.write_text(edit(MAP))
    with pytest.raises(FormatError) as info:
        load_channel_map(path)
    assert message in info.value.problem and info.value.file == str(path)


def test_missing_channel_names_file_channel_and_what_is_there(tmp_path: Path) -> None:
    write_engine_dump(tmp_path / "dump")
    cmap = load_channel_map(tmp_path / "dump" / "map.toml")
    broken = MAP.replace('channels = ["N.X", "N.Y", "N.Z"]', 'channels = ["Normal.X", "Normal.Y", "Normal.Z"]')
    (tmp_path / "broken.toml").write_text(broken)
    (job,) = discover("custom", tmp_path / "dump", ImportOptions(overrides=load_channel_map(tmp_path / "broken.toml")))
    with pytest.raises(FormatError, match=r"channel not found \(the file has: .*N.X") as info:
        import_sequence(job, tmp_path / "out")
    assert info.value.channel == "Normal.X" and info.value.file.endswith("gb.0100.exr")
    assert cmap.sources["normal"].channels == ("N.X", "N.Y", "N.Z")
