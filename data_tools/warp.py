"""Backward warping by docs/format.md motion vectors (NumPy), shared by metrics, checks and importers."""

from __future__ import annotations

import numpy as np

__all__ = ["check_image", "warp_planes", "warp_planes_reference", "warp_previous"]


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

    docs/format.md convention: the surface seen at pixel centre ``p`` was at ``p + motion`` in
    the previous frame (pixels, x right, y down). The warped value at pixel ``(y, x)`` is
    the bilinear sample of ``previous`` at index position ``(y + motion_y, x + motion_x)``;
    taps outside the frame contribute 0 (docs/method.md's ``W``).

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


def warp_planes_reference(src: np.ndarray, motion_x: np.ndarray, motion_y: np.ndarray) -> np.ndarray:
    """NumPy twin of the native planar warp: ``src`` ``float32 [C, H, W]`` (or ``[1, C, H, W]``)
    sampled at ``(x + motion_x, y + motion_y)`` (bilinear, zeros outside), same shape."""
    array = np.asarray(src, np.float32)
    planes = array[0] if array.ndim == 4 else array
    motion = np.stack([motion_x, motion_y], axis=-1)
    warped, _ = warp_previous(planes.transpose(1, 2, 0), motion)
    result = warped.transpose(2, 0, 1).astype(np.float32)
    return result[None] if array.ndim == 4 else result


def warp_planes(src: np.ndarray, motion_x: np.ndarray, motion_y: np.ndarray, *, out: np.ndarray | None = None,
                native: bool | None = None) -> np.ndarray:
    """Backward-warp planar buffers by per-pixel motion (docs/format.md convention).

    Args:
        src: ``float32 [C, H, W]`` or ``[1, C, H, W]`` planar buffers of the previous frame.
        motion_x, motion_y: ``float32 [H, W]`` motion planes of the current frame (pixels).
        out: optional preallocated C-contiguous destination of ``src``'s shape.
        native: force / forbid the native path (default: native when built).

    Returns:
        The warped planes (``out`` when given): bilinear samples at ``(x + mx, y + my)``,
        taps outside the frame read 0 -- the network's own warp (docs/method.md's ``W``).
    """
    from .pack import native_available

    use_native = native_available() if native is None else native
    if not use_native:
        result = warp_planes_reference(src, motion_x, motion_y)
        if out is not None:
            out[...] = result
            return out
        return result
    from ssr import _native

    source = np.ascontiguousarray(src, np.float32)
    if out is None:
        out = np.empty_like(source)
    _native.warp_planes(source, np.ascontiguousarray(motion_x, np.float32), np.ascontiguousarray(motion_y, np.float32),
                        out)
    return out
