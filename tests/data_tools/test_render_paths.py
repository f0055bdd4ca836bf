"""Camera path presets on the built-in scene: deterministic, inside the scene, looking at content."""

from __future__ import annotations

import numpy as np
import pytest

try:
    from .test_render_helpers import require_renderer
except ImportError:  # rootdir-relative imports (no __init__.py in tests/)
    from test_render_helpers import require_renderer

require_renderer()

from ssr.data_tools.render.camera import PinholeCamera  # noqa: E402
from ssr.data_tools.render.camera_paths import PRESETS, plan_camera_path  # noqa: E402
from ssr.data_tools.render.scene_source import load_scene  # noqa: E402

pytestmark = pytest.mark.render


@pytest.fixture(scope="module")
def room():
    return load_scene("builtin", width=32, height=32, max_depth=2)


def _plan(room, preset: str, seed: int, frames: int = 24, speed: float = 3.0):
    camera = PinholeCamera(32, 32, room.fov_y_deg)
    return plan_camera_path(preset, start=room.camera_to_world, frames=frames, speed=speed, seed=seed, camera=camera,
                            probe=room.probe, bounds=room.bounds(), near_clip=room.near_clip)


@pytest.mark.parametrize("preset", PRESETS)
def test_paths_are_deterministic_and_valid(room, preset: str) -> None:
    path = _plan(room, preset, seed=7)
    again = _plan(room, preset, seed=7)
    assert all(np.array_equal(a, b) for a, b in zip(path.to_world, again.to_world))
    assert len(path.to_world) == 24
    low, high = room.bounds()
    for pose in path.to_world:
        assert np.all(pose[:3, 3] > low) and np.all(pose[:3, 3] < high)
        distance = room.probe(pose[None, :3, 3], pose[None, :3, 2])[0]
        assert np.isfinite(distance) and distance > 0.3
    moved = [np.abs(a - b).max() for a, b in zip(path.to_world[1:], path.to_world[:-1])]
    if preset == "static":
        assert max(moved) == 0
    else:
        assert max(moved) > 1e-3
    assert path.cuts == ([0, 12] if preset == "cut" else [0])


def test_seeds_change_paths_and_seed_zero_starts_at_scene_camera(room) -> None:
    zero, other = _plan(room, "truck", 0), _plan(room, "truck", 5)
    assert np.allclose(zero.to_world[0], room.camera_to_world)
    assert not np.allclose(zero.to_world[3], other.to_world[3])


def test_speed_is_about_right_in_pixels(room) -> None:
    camera = PinholeCamera(32, 32, room.fov_y_deg)
    path = _plan(room, "pan", 0, frames=3, speed=2.0)
    centre_point = path.to_world[1][:3, 3] + 5.0 * path.to_world[1][:3, 2]
    shift = camera.project(path.to_world[0], centre_point) - camera.project(path.to_world[1], centre_point)
    assert 1.5 < np.linalg.norm(shift) < 2.5


def test_bad_preset(room) -> None:
    with pytest.raises(ValueError, match="preset"):
        _plan(room, "spiral", 0)


@pytest.mark.parametrize("first_seed", [0, 12])
def test_builtin_variants_load_and_have_their_objects(first_seed: int) -> None:
    for seed in range(first_seed, first_seed + 12):
        loaded = load_scene(f"builtin:{seed}", width=8, height=8, max_depth=2)
        assert len(loaded.object_transforms(0)) == 2
        assert len(loaded.scene.emitters()) >= 2  # area light + point light
