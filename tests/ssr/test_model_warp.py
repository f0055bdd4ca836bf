"""Warping: identity, exact integer shifts, zeros outside, fp32 grid."""

from __future__ import annotations

import pytest
import torch

from ssr.model.warp import Warp, sampling_grid, warp

torch.set_num_threads(1)


def _ramp(batch: int = 2, channels: int = 3, height: int = 8, width: int = 10) -> torch.Tensor:
    count = batch * channels * height * width
    return (torch.arange(count, dtype=torch.float32).reshape(batch, channels, height, width) + 1.0) / count


def _check(out: torch.Tensor, expected: torch.Tensor, width: int) -> None:
    if width & (width - 1) == 0:  # power-of-two sizes: the normalised grid is exact
        assert torch.equal(out, expected)
    else:  # otherwise grid normalisation rounds at the 1e-7 level
        torch.testing.assert_close(out, expected, rtol=0, atol=1e-5)


@pytest.mark.parametrize("width", [16, 10])
def test_zero_motion_is_identity(width: int) -> None:
    buffer = _ramp(width=width)
    motion = torch.zeros(2, 2, 8, width)
    _check(warp(buffer, motion), buffer, width)


@pytest.mark.parametrize("width", [16, 10])
def test_integer_shift_moves_pixels_exactly_and_fills_zero(width: int) -> None:
    buffer = _ramp(width=width)
    motion = torch.zeros(2, 2, 8, width)
    motion[:, 0] = 2.0  # surface at p was at p + (2, -1) in the previous frame
    motion[:, 1] = -1.0
    out = warp(buffer, motion)
    expected = torch.zeros_like(buffer)
    # out[y, x] = buffer[y - 1, x + 2]; row 0 and the last two columns come from outside
    expected[:, :, 1:, :-2] = buffer[:, :, :-1, 2:]
    _check(out, expected, width)
    assert out[:, :, 0].abs().max() < 1e-6 and out[:, :, :, -2:].abs().max() < 1e-6


def test_half_pixel_motion_is_bilinear_average() -> None:
    buffer = _ramp(1, 1, 4, 4)
    motion = torch.zeros(1, 2, 4, 4)
    motion[:, 0] = 0.5
    out = warp(buffer, motion)
    assert torch.allclose(out[..., :3], 0.5 * (buffer[..., :3] + buffer[..., 1:]))


def test_fp16_buffer_uses_fp32_grid() -> None:
    motion = torch.full((1, 2, 4, 2048), 0.25, dtype=torch.float16)
    grid = sampling_grid(motion)
    assert grid.dtype == torch.float32
    buffer = torch.rand(1, 1, 4, 2048).half()
    assert warp(buffer, motion).dtype == torch.float16


def test_module_and_shape_errors() -> None:
    buffer = _ramp(width=16)
    assert torch.equal(Warp()(buffer, torch.zeros(2, 2, 8, 16)), buffer)
    with pytest.raises(ValueError, match="2 channels"):
        warp(buffer, torch.zeros(2, 3, 8, 16))
    with pytest.raises(ValueError, match="spatial size"):
        warp(buffer, torch.zeros(2, 2, 8, 9))
