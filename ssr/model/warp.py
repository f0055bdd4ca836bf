"""Backward warping of a previous-frame buffer with screen-space motion vectors.

Convention (docs/format.md): the surface seen at pixel centre ``p`` of the current frame was
at ``p + motion`` in the previous frame, motion in pixels, x to the right, y down, pixel
centres at ``i + 0.5``. :func:`warp` samples the previous buffer there with bilinear
interpolation; samples outside the previous frame read 0 (zeros padding, so a sample
half a pixel outside blends with 0). The sampling grid is always fp32, even for fp16
buffers: at 2048 px, fp16 grid coordinates are ~0.5 px apart.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["Warp", "sampling_grid", "warp", "warp_coverage"]


def _check_4d(name: str, tensor: Tensor, channels: int | None = None) -> None:
    if tensor.dim() != 4:
        raise ValueError(f"{name} must be [B, C, H, W], got shape {tuple(tensor.shape)}")
    if channels is not None and tensor.shape[1] != channels:
        raise ValueError(f"{name} must have {channels} channels, got shape {tuple(tensor.shape)}")


def sampling_grid(motion_px: Tensor) -> Tensor:
    """Normalised ``grid_sample`` coordinates of ``p + motion`` for every pixel ``p``.

    Args:
        motion_px: ``[B, 2, H, W]`` motion in pixels (x right, y down).

    Returns:
        fp32 ``[B, H, W, 2]`` grid in ``align_corners=False`` coordinates: -1 and +1 are
        the outer edges of the first and last pixel, so pixel centre ``i + 0.5`` maps to
        ``2 (i + 0.5) / size - 1``.
    """
    _check_4d("motion_px", motion_px, 2)
    motion = motion_px.float()
    height, width = motion.shape[-2], motion.shape[-1]
    xs = (torch.arange(width, device=motion.device, dtype=torch.float32) + 0.5) * (2.0 / width) - 1.0
    ys = (torch.arange(height, device=motion.device, dtype=torch.float32) + 0.5) * (2.0 / height) - 1.0
    grid_x = xs.view(1, 1, width) + motion[:, 0] * (2.0 / width)
    grid_y = ys.view(1, height, 1) + motion[:, 1] * (2.0 / height)
    return torch.stack((grid_x, grid_y), dim=-1)


def warp(buffer: Tensor, motion_px: Tensor) -> Tensor:
    """Sample ``buffer`` (previous frame) at ``p + motion`` for each current pixel ``p``.

    Args:
        buffer: ``[B, C, H, W]`` previous-frame buffer (any float dtype).
        motion_px: ``[B, 2, H, W]`` current frame's motion in pixels (docs/format.md).

    Returns:
        ``[B, C, H, W]`` warped buffer in ``buffer``'s dtype; out-of-frame samples are 0.
    """
    _check_4d("buffer", buffer)
    _check_4d("motion_px", motion_px, 2)
    if buffer.shape[0] != motion_px.shape[0] or buffer.shape[-2:] != motion_px.shape[-2:]:
        raise ValueError(
            f"warp: buffer {tuple(buffer.shape)} and motion_px {tuple(motion_px.shape)} "
            "must share batch and spatial size"
        )
    grid = sampling_grid(motion_px)
    warped = F.grid_sample(
        buffer.float(), grid, mode="bilinear", padding_mode="zeros", align_corners=False
    )
    return warped.to(buffer.dtype)


def warp_coverage(motion_px: Tensor) -> Tensor:
    """The weight :func:`warp`'s bilinear taps put inside the previous frame, per pixel.

    Along x, a sample at pixel-index coordinate ``u = i + motion_x`` has in-frame weight
    ``clamp(min(u + 1, W - u), 0, 1)`` (likewise along y); the coverage is their product:
    1 inside, falling to 0 one pixel outside. ``warp(buffer) / coverage`` undoes the zero
    padding exactly where the coverage is > 0.

    Args:
        motion_px: ``[B, 2, H, W]`` motion in pixels (docs/format.md).

    Returns:
        fp32 ``[B, 1, H, W]`` in ``[0, 1]``.
    """
    _check_4d("motion_px", motion_px, 2)
    motion = motion_px.float()
    height, width = motion.shape[-2], motion.shape[-1]
    u = torch.arange(width, device=motion.device, dtype=torch.float32).view(1, 1, width) + motion[:, 0]
    v = torch.arange(height, device=motion.device, dtype=torch.float32).view(1, height, 1) + motion[:, 1]
    cover_x = torch.clamp(torch.minimum(u + 1.0, width - u), 0.0, 1.0)
    cover_y = torch.clamp(torch.minimum(v + 1.0, height - v), 0.0, 1.0)
    return (cover_x * cover_y).unsqueeze(1)


class Warp(nn.Module):
    """Module form of :func:`warp`."""

    def forward(self, buffer: Tensor, motion_px: Tensor) -> Tensor:
        return warp(buffer, motion_px)
