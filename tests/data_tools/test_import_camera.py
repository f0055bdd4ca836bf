"""Camera sidecars and axis conventions of ``ssr import``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ssr.data_tools.format import FormatError
from ssr.data_tools.importers import load_camera_sidecar
from ssr.data_tools.render.camera import PinholeCamera

try:
    from .import_scenes import GLCamera, look_at_gl
except ImportError:  # rootdir-relative imports (no __init__.py in tests/)
    from import_scenes import GLCamera, look_at_gl


def test_opengl_sidecar_projects_like_an_opengl_camera(tmp_path: Path) -> None:
    gl = look_at_gl((1.0, -3.0, 2.0), (0.2, 0.5, 0.1))
    (tmp_path / "camera.json").write_text(json.dumps({"convention": "opengl", "fov_y_deg": 40, "to_world": [gl.tolist()]}))
    track = load_camera_sidecar(tmp_path / "camera.json", 1)
    points = np.random.default_rng(0).uniform(-1, 1, (50, 3))
    expected = GLCamera(64, 48, 40).project(gl, points)
    np.testing.assert_allclose(PinholeCamera(64, 48, 40).project(track.to_world[0], points), expected, atol=1e-9)
    assert track.meta()["to_world"][0] == track.to_world[0].tolist()


@pytest.mark.parametrize("data,message", [
    ({"convention": "maya", "to_world": []}, "'convention' = 'maya' is unknown"),
    ({"fov_y_deg": 200}, "must be a number in (0, 180)"),
    ({"fov_y_deg": [40, 50]}, "varies over the sequence"),
    ({"to_world": [[[1, 0, 0], [0, 1, 0], [0, 0, 1]]]}, "must be a list of 4x4 matrices"),
    ({"to_world": [np.eye(4).tolist(), np.diag([2.0, 2, 2, 1]).tolist()]}, "must be rigid"),
    ({"to_world": [np.eye(4).tolist(), [[1, 0.5, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]]}, "must be rigid"),
    ({"to_world": [np.eye(4).tolist()] * 3}, "has 3 matrices for 2 frames"),
])
def test_bad_sidecars_are_refused_with_the_reason(tmp_path: Path, data: dict, message: str) -> None:
    path = tmp_path / "camera.json"
    path.write_text(json.dumps(data))
    with pytest.raises(FormatError) as info:
        load_camera_sidecar(path, 2)
    assert message in info.value.problem and info.value.file == str(path)
    path.write_text("{not json")
    with pytest.raises(FormatError, match="camera sidecar is not valid JSON"):
        load_camera_sidecar(path, 2)
