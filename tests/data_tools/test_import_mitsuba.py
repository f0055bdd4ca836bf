"""``ssr import --from mitsuba`` on real Mitsuba 3 ``aov`` integrator renders.

A fronto-parallel wall 3 units in front of a camera that slides sideways, and a sphere:
the importer must turn the AOVs' distance along the ray into view depth (the wall is flat
at 3), flip the wall's normal (it points away from the camera) and give the wall the
analytic motion of a sideways slide, ``-f * dx / z`` pixels.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from ssr.data_tools import Sequence
from ssr.data_tools.format import FormatError
from ssr.data_tools.importers import ImportOptions, discover, import_sequence

try:
    from .test_render_helpers import require_renderer
except ImportError:  # rootdir-relative imports (no __init__.py in tests/)
    from test_render_helpers import require_renderer

require_renderer()
pytestmark = pytest.mark.render

WIDTH, HEIGHT, FOV, WALL_Z, SLIDE = 32, 24, 60.0, 3.0, 0.08


def _render(folder: Path, frames: int = 2) -> list[np.ndarray]:
    from ssr.data_tools.render.mitsuba_env import load_mitsuba

    mi = load_mitsuba()
    matrices = []
    folder.mkdir(parents=True)
    for k in range(frames):
        to_world = mi.ScalarTransform4f().look_at(origin=[SLIDE * k, 0, 0], target=[SLIDE * k, 0, 1], up=[0, 1, 0])
        scene = mi.load_dict({
            "type": "scene",
            "integrator": {"type": "aov", "aovs": "dd.y:depth,nn:sh_normal,alb:albedo",
                           "image": {"type": "path", "max_depth": 3}},
            "sensor": {"type": "perspective", "fov": FOV, "fov_axis": "y", "to_world": to_world,
                       "film": {"type": "hdrfilm", "width": WIDTH, "height": HEIGHT, "rfilter": {"type": "box"}},
                       "sampler": {"type": "independent", "sample_count": 64, "seed": k}},
            "wall": {"type": "rectangle",  # normal +z: facing away from the camera
                     "to_world": mi.ScalarTransform4f().translate([0, 0, WALL_Z]).scale([10, 10, 1]),
                     "bsdf": {"type": "twosided", "material": {"type": "diffuse", "reflectance": {
                         "type": "checkerboard", "to_uv": mi.ScalarTransform4f().scale([20, 20, 1])}}}},
            "ball": {"type": "sphere", "center": [0.4, -0.2, 2.0], "radius": 0.3,
                     "bsdf": {"type": "diffuse", "reflectance": {"type": "rgb", "value": [0.7, 0.3, 0.1]}}},
            "light": {"type": "constant", "radiance": {"type": "rgb", "value": [1, 1, 1]}},
        })
        mi.render(scene)
        scene.sensors()[0].film().write(str(folder / f"render_{k + 1:03d}.exr"))
        matrices.append(np.array(to_world.matrix, np.float64).tolist())
    return matrices


@pytest.fixture(scope="module")
def aov_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("mitsuba") / "aovs"
    matrices = _render(folder)
    (folder.parent / "camera.json").write_text(json.dumps({"convention": "mitsuba", "fov_y_deg": FOV, "to_world": matrices}))
    return folder


AOVS = {"color": "image", "depth": "dd.y", "normal": "nn", "albedo": "alb"}


def test_aov_render_imports_view_depth_facing_normals_and_camera_motion(aov_folder: Path, tmp_path: Path) -> None:
    options = ImportOptions(aovs=AOVS, camera=aov_folder.parent / "camera.json")
    (job,) = discover("mitsuba", aov_folder, options)
    result = import_sequence(job, tmp_path / "out")
    sequence = Sequence(tmp_path / "out", apply_pattern=False)
    assert sequence.cuts == [0] and result.motion is not None
    frame = sequence.read_frame(1)
    depth = frame["depth"][..., 0]
    wall = np.abs(depth - WALL_Z) < 0.003
    assert wall.mean() > 0.6  # the wall is flat at z = 3 once converted from ray distance
    import OpenEXR

    with OpenEXR.File(str(aov_folder / "render_002.exr"), separate_channels=True) as exr:
        raw_distance = exr.channels()["dd.y.T"].pixels
    assert raw_distance[wall].max() > WALL_Z * 1.15  # ... which the raw AOV is not
    np.testing.assert_allclose(frame["normal"][wall], np.broadcast_to([0, 0, -1], frame["normal"][wall].shape), atol=2e-3)
    focal = HEIGHT / (2 * math.tan(math.radians(FOV) / 2))
    expected_x = -focal * SLIDE / WALL_Z
    np.testing.assert_allclose(frame["motion"][wall][:, 0], expected_x, atol=0.01)
    np.testing.assert_allclose(frame["motion"][wall][:, 1], 0.0, atol=0.01)
    assert result.notes.get("motion: from the camera (reprojection of static geometry)", 0) > 0


def test_without_camera_every_frame_is_a_cut_and_depth_needs_the_fov(aov_folder: Path, tmp_path: Path) -> None:
    (job,) = discover("mitsuba", aov_folder, ImportOptions(aovs=AOVS, fov_y_deg=FOV))
    result = import_sequence(job, tmp_path / "out")
    assert result.cuts == [0, 1] and any("every frame is a cut" in n for n in result.layout_notes)
    (job,) = discover("mitsuba", aov_folder, ImportOptions(aovs=AOVS))
    with pytest.raises(FormatError, match="needs the field of view") as info:
        import_sequence(job, tmp_path / "out2")
    assert info.value.channel == "dd.y.T"


def test_unknown_aov_names_list_what_the_file_has(aov_folder: Path) -> None:
    with pytest.raises(FormatError, match=r"AOVs in the file: alb, dd.y, image, nn") as info:
        discover("mitsuba", aov_folder, ImportOptions(aovs={"color": "image"}))
    assert info.value.channel == "albedo.R"
