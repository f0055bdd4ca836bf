"""Motion vectors: warping frame t-1's reference by frame t's motion must reproduce frame t.

Camera motion is tested on a static scene file (no moving objects), object motion on the
built-in room with a static camera. Both on tiny real renders.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

try:
    from .test_render_helpers import psnr, require_renderer, warp_previous, write_static_scene
except ImportError:  # rootdir-relative imports (no __init__.py in tests/)
    from test_render_helpers import psnr, require_renderer, warp_previous, write_static_scene

require_renderer()

from ssr.data_tools import Sequence  # noqa: E402
from ssr.data_tools.render import RenderConfig, render_sequence  # noqa: E402

pytestmark = pytest.mark.render


def _frames(config: RenderConfig) -> list[dict[str, np.ndarray]]:
    seq = Sequence(render_sequence(config, progress=False), apply_pattern=False)
    return [seq.read_frame(t, ["reference", "motion", "depth"]) for t in range(len(seq))]


@pytest.mark.parametrize("path", ["truck", "pan"])
def test_camera_motion_warp(tmp_path: Path, path: str) -> None:
    scene = write_static_scene(tmp_path / "scene")
    frames = _frames(RenderConfig(scene=str(scene), out=tmp_path / "seq", width=40, height=32, frames=2, spp_ref=64,
                                  path=path, speed=2.5, seed=0, max_depth=3, shadow_rays=1, albedo_samples=2))
    previous, current = frames
    motion = current["motion"]
    assert np.linalg.norm(motion, axis=-1).mean() > 1.0, "the camera did not move"
    warped, inside = warp_previous(previous["reference"], motion)
    gain = psnr(warped, current["reference"], inside) - psnr(previous["reference"], current["reference"], inside)
    assert inside.mean() > 0.7
    assert gain > 4.0, f"warping by the motion vectors gains only {gain:.2f} dB"  # measured ~9.6 (truck)


def test_object_motion_warp(tmp_path: Path) -> None:
    frames = _frames(RenderConfig(scene="builtin", out=tmp_path / "seq", width=48, height=48, frames=3, spp_ref=32,
                                  path="static", speed=0.0, seed=0, max_depth=3, shadow_rays=1, albedo_samples=2))
    for previous, current in zip(frames[1:], frames[2:]):
        motion = current["motion"]
        moving = np.linalg.norm(motion, axis=-1) > 0.5
        assert 10 < moving.sum() < moving.size // 2, "expected a few moving-object pixels"
        warped, inside = warp_previous(previous["reference"], motion)
        region = moving & inside
        # the moving objects' own pixels: warp vs. no warp
        gain = psnr(warped, current["reference"], region) - psnr(previous["reference"], current["reference"], region)
        assert gain > 2.0, f"warping the moving objects gains only {gain:.2f} dB"  # measured ~3.7
        # static background has zero motion with a static camera
        assert np.abs(motion[~moving]).max() < 0.5
