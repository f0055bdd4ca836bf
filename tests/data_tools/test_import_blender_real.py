"""``ssr import --from blender`` on a real Cycles render (Blender 4.2 as the ``bpy`` module).

Skipped unless ``SSR_BLENDER_PYTHON`` names a Python that can ``import bpy`` (Blender is
not a dependency: ``python -m venv bpyenv && bpyenv/bin/pip install bpy==4.2.0``). The
probe (``research/blender_conventions_probe.py``) renders a floor, a cube and a moving
sphere under a moving camera; the imported G-buffers must agree with that known geometry:
this is where the Blender conventions the importer uses were measured.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from ssr.data_tools import Sequence
from ssr.data_tools.importers import ImportOptions, discover, import_sequence, load_camera_sidecar
from ssr.data_tools.importers.camera import pixel_ray_cosines
from ssr.data_tools.render.camera import PinholeCamera

BLENDER_PYTHON = os.environ.get("SSR_BLENDER_PYTHON")
PROBE = Path(__file__).resolve().parents[2] / "research" / "blender_conventions_probe.py"
pytestmark = pytest.mark.skipif(not BLENDER_PYTHON, reason="set SSR_BLENDER_PYTHON to a Python with bpy to run")


def test_real_cycles_render_imports_with_correct_conventions(tmp_path: Path) -> None:
    src = tmp_path / "shot"
    subprocess.run([BLENDER_PYTHON, str(PROBE), str(src), "--reference"], check=True, capture_output=True, timeout=600)
    (job,) = discover("blender", src, ImportOptions(reference=src / "reference"))
    result = import_sequence(job, tmp_path / "out")
    assert result.motion is not None and result.motion["warped"] < 0.8 * result.motion["unwarped"]
    sequence = Sequence(tmp_path / "out", apply_pattern=False)
    assert sequence.meta["spp"] == 4 and sequence.meta["reference_spp"] == 64
    camera = load_camera_sidecar(src / "camera.json")
    truth = json.loads((src / "truth.json").read_text())
    for t in range(1, sequence.frame_count):
        frame = sequence.read_frame(t)
        pinhole = PinholeCamera(sequence.width, sequence.height, camera.fov_y_deg)
        now, before = camera.to_world[t], camera.to_world[t - 1]
        directions = pinhole.pixel_directions(now, pinhole.pixel_centres())
        distance = frame["depth"][..., 0] / pixel_ray_cosines(sequence.height, sequence.width, camera.fov_y_deg)
        points = now[:3, 3] + directions * distance[..., None]
        hit = frame["depth"][..., 0] > 0
        floor = hit & (np.abs(points[..., 2] - truth["floor_z"]) < 0.01)
        assert floor.sum() > 1000  # depth is view z: the floor comes out flat
        expected = pinhole.project(before, points) - pinhole.pixel_centres()
        floor_error = np.linalg.norm(frame["motion"] - expected, axis=-1)[floor]
        assert np.median(floor_error) < 0.05  # pixel-filtered passes: sub-pixel agreement
        np.testing.assert_allclose(np.median(frame["normal"][floor], axis=0), [0, 0, 1], atol=1e-3)
        centre, centre_before = np.array(truth["ball_centre"][t]), np.array(truth["ball_centre"][t - 1])
        ball = hit & (np.abs(np.linalg.norm(points - centre, axis=-1) - truth["ball_radius"]) < 0.01)
        assert ball.sum() > 10
        expected_ball = pinhole.project(before, points - centre + centre_before) - pinhole.pixel_centres()
        assert np.median(np.linalg.norm(frame["motion"] - expected_ball, axis=-1)[ball]) < 0.05
