"""Backward warping by FORMAT.md motion vectors (NumPy), shared by metrics, checks and importers."""

from __future__ import annotations

import numpy as np

__all__ = ["check_image", "warp_previous"]


def check_image(image: np.ndarray, name: str) -> np.ndarray:
    """Check one ``[H, W, C]`` image for shape and finiteness; return it as float64."""
    array = np.asarray(image)
    if array.ndim != 3:
        raise ValueError(f"{name}: expected an [H, W, C] image, got shape {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"{name}: image is empty (shape {array.shape})")
    if not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"{name}: expected a numeric array, got dtype {array.dtype}")
    array = array.astype(np.float64, copy=False)
    bad = ~np.isfinite(array)
    if bad.any():
        raise ValueError(f"{name}: {int(bad.sum())} NaN/Inf values")
    return array


def warp_previous(previous: np.ndarray, motion: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Warp the previous frame's ``[H, W, C]`` buffer to the current frame.

    FORMAT.md convention: the surface seen at pixel centre ``p`` was at ``p + motion`` in
    the previous frame (pixels, x right, y down). The warped value at pixel ``(y, x)`` is
    the bilinear sample of ``previous`` at index position ``(y + motion_y, x + motion_x)``;
    taps outside the frame contribute 0 (SPEC.md's ``W``).

    Args:
        previous: ``[H, W, C]`` buffer of frame ``t - 1``.
        motion: ``[H, W, 2]`` motion of frame ``t`` (``motion[..., 0]`` = x).

    Returns:
        ``(warped [H, W, C] float64, valid [H, W] bool)``; ``valid`` is True where all four
        bilinear taps lie inside the previous frame.
    """
    prev64 = check_image(previous, "previous frame")
    motion64 = check_image(motion, "motion")
    height, width = prev64.shape[:2]
    if motion64.shape != (height, width, 2):
        raise ValueError(f"motion: expected shape {(height, width, 2)}, got {motion64.shape}")
    rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    sample_x = cols + motion64[..., 0]
    sample_y = rows + motion64[..., 1]
    x0 = np.floor(sample_x).astype(np.int64)
    y0 = np.floor(sample_y).astype(np.int64)
    fx = (sample_x - x0)[..., None]
    fy = (sample_y - y0)[..., None]
    warped = np.zeros_like(prev64)
    for dy, wy in ((0, 1.0 - fy), (1, fy)):
        for dx, wx in ((0, 1.0 - fx), (1, fx)):
            ty, tx = y0 + dy, x0 + dx
            inside = (ty >= 0) & (ty < height) & (tx >= 0) & (tx < width)
            taps = prev64[np.clip(ty, 0, height - 1), np.clip(tx, 0, width - 1)]
            warped += np.where(inside[..., None], wy * wx * taps, 0.0)
    valid = (sample_x >= 0) & (sample_x <= width - 1) & (sample_y >= 0) & (sample_y <= height - 1)
    return warped, valid
