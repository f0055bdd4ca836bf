"""The SVGF-style baseline (ssr.bench.svgf): converges on a static scene, does not ghost."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ssr.bench.svgf import SvgfDenoiser  # noqa: E402
from ssr.data_tools.format import apply_subpixel_pattern  # noqa: E402
from ssr.data_tools.synthetic import synthetic_frame  # noqa: E402

torch.set_num_threads(1)


def _rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a.astype(np.float64) - b) ** 2)))


def _run(velocity: tuple[float, float], frames: int, size: tuple[int, int] = (40, 48)) -> list[tuple[float, float]]:
    """``(rmse of SVGF, rmse of the 1-spp input)`` per frame."""
    svgf = SvgfDenoiser()
    errors = []
    for index in range(frames):
        frame = synthetic_frame(index, *size, velocity=velocity, noise=0.8)
        quarter = apply_subpixel_pattern(frame, index)
        out = svgf(quarter, quarter["mask"], cut=index == 0)
        assert out.shape == (*size, 3) and out.dtype == np.float32 and np.isfinite(out).all()
        errors.append((_rmse(out, frame["reference"]), _rmse(frame["color"], frame["reference"])))
    return errors


def test_static_scene_error_falls_as_frames_accumulate() -> None:
    errors = [e for e, _ in _run((0.0, 0.0), 8)]
    assert all(b < a for a, b in zip(errors[:4], errors[1:5])), errors  # monotone over the first frames
    assert errors[-1] < 0.75 * errors[0]


def test_moving_scene_does_not_ghost() -> None:
    """A scrolling texture (1.5 px/frame): reprojection keeps the error within a small factor
    of the static case (repeated bilinear resampling blurs the history a little) and far below
    the noisy input; ghosting (history not following the motion) would drag the texture
    along and the error would grow towards the input's."""
    moving = _run((1.5, -0.75), 10)
    static = _run((0.0, 0.0), 10)
    for (error, noisy), (still, _) in zip(moving[4:], static[4:]):
        assert error < 0.3 * noisy
        assert error < 2.5 * still


def test_cut_and_size_change_reset_the_history() -> None:
    svgf = SvgfDenoiser()
    first = synthetic_frame(0, 16, 16)
    quarter = apply_subpixel_pattern(first, 0)
    fresh = svgf(quarter, quarter["mask"], cut=True)
    for index in range(1, 4):  # build a history
        frame = apply_subpixel_pattern(synthetic_frame(index, 16, 16), index)
        svgf(frame, frame["mask"])
    np.testing.assert_array_equal(svgf(quarter, quarter["mask"], cut=True), fresh)
    small = apply_subpixel_pattern(synthetic_frame(0, 8, 12), 0)
    assert svgf(small, small["mask"]).shape == (8, 12, 3)  # another size: no crash, new history
