"""Small image helpers without dependencies: tone mapping, false colour, PNG writing.

All inputs are ``float32 [H, W, C]`` arrays; outputs of the colour helpers are display
values in [0, 1], ``float32 [H, W, 3]``.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np

__all__ = ["ACES_FIT", "ACES_PRE_EXPOSURE", "LABEL_HEIGHT", "SRGB_LINEAR_LIMIT", "label_image", "tonemap_srgb",
           "srgb_oetf", "normals_to_rgb", "depth_to_rgb", "motion_to_rgb", "to_uint8", "write_png", "hstack_images",
           "vstack_images"]


SRGB_LINEAR_LIMIT = 0.0031308
"""sRGB OETF: ``12.92 v`` up to this value, ``1.055 v^(1/2.4) - 0.055`` above it."""


def srgb_oetf(linear: np.ndarray) -> np.ndarray:
    """sRGB transfer function (IEC 61966-2-1) of values in [0, 1]."""
    linear = np.clip(np.asarray(linear, np.float64), 0.0, 1.0)
    return np.where(linear <= SRGB_LINEAR_LIMIT, 12.92 * linear,
                    1.055 * np.power(linear, 1 / 2.4) - 0.055).astype(np.float32)


ACES_PRE_EXPOSURE = 0.6
"""Scale applied before the ACES fit (as HDR-FLIP does)."""

ACES_FIT = (2.51, 0.03, 2.43, 0.59, 0.14)
"""Narkowicz's ACES filmic fit ``(a, b, c, d, e)``: ``x (a x + b) / (x (c x + d) + e)``."""


def tonemap_srgb(linear: np.ndarray, exposure: float = 1.0) -> np.ndarray:
    """Linear HDR ``[H, W, 3]`` -> display sRGB in [0, 1]: the project's one tone mapper.

    ``x = 0.6 * exposure * max(linear, 0)``; Narkowicz's ACES filmic fit
    ``clamp(x (2.51 x + 0.03) / (x (2.43 x + 0.59) + 0.14), 0, 1)`` (the curve HDR-FLIP
    calls "ACES"); then the sRGB OETF. For display, NaN maps to 0 and +Inf to white;
    :func:`ssr.metrics.tonemap_srgb` is the same curve but refuses non-finite input.
    """
    array = np.nan_to_num(np.asarray(linear, np.float64), nan=0.0, posinf=1e6, neginf=0.0)
    x = ACES_PRE_EXPOSURE * float(exposure) * np.maximum(array, 0.0)
    a, b, c, d, e = ACES_FIT
    mapped = np.clip((x * (a * x + b)) / (x * (c * x + d) + e), 0.0, 1.0)
    return srgb_oetf(mapped)


def normals_to_rgb(normal: np.ndarray) -> np.ndarray:
    """World-space unit normals ``[H, W, 3]`` -> ``n * 0.5 + 0.5`` (misses, n = 0, grey)."""
    return np.clip(np.asarray(normal, np.float32) * 0.5 + 0.5, 0.0, 1.0)


def depth_to_rgb(depth: np.ndarray) -> np.ndarray:
    """View depth ``[H, W, 1]`` -> grey, near = bright, normalised by the frame's max; misses black."""
    plane = np.asarray(depth, np.float32)[:, :, 0]
    valid = plane > 0
    out = np.zeros_like(plane)
    if valid.any():
        out[valid] = 1.0 - 0.85 * plane[valid] / plane[valid].max()
    return np.repeat(out[:, :, None], 3, axis=2)


def motion_to_rgb(motion: np.ndarray, max_px: float | None = None) -> np.ndarray:
    """Motion ``[H, W, 2]`` in pixels -> optical-flow colour wheel (hue = direction,
    saturation = magnitude / ``max_px``; white = no motion)."""
    flow = np.nan_to_num(np.asarray(motion, np.float32))
    magnitude = np.hypot(flow[:, :, 0], flow[:, :, 1])
    scale = max_px if max_px else max(float(magnitude.max()), 1e-6)
    hue = (np.arctan2(-flow[:, :, 1], -flow[:, :, 0]) / (2 * np.pi)) % 1.0
    saturation = np.clip(magnitude / scale, 0.0, 1.0)
    sector = hue * 6.0
    rgb = np.stack([np.clip(np.abs(sector - 3.0) - 1.0, 0, 1),
                    np.clip(2.0 - np.abs(sector - 2.0), 0, 1),
                    np.clip(2.0 - np.abs(sector - 4.0), 0, 1)], axis=-1)
    return (1.0 - saturation[:, :, None] * (1.0 - rgb)).astype(np.float32)


def to_uint8(display: np.ndarray) -> np.ndarray:
    """Display values in [0, 1] -> ``uint8`` (rounded, clipped)."""
    return np.clip(np.round(np.asarray(display, np.float32) * 255.0), 0, 255).astype(np.uint8)


def hstack_images(images: list[np.ndarray], gap: int = 2) -> np.ndarray:
    """Place ``[H, W, 3]`` images side by side with a black gap."""
    height = max(image.shape[0] for image in images)
    padded = []
    for index, image in enumerate(images):
        tile = np.zeros((height, image.shape[1] + (gap if index < len(images) - 1 else 0), 3), image.dtype)
        tile[: image.shape[0], : image.shape[1]] = image
        padded.append(tile)
    return np.concatenate(padded, axis=1)


def vstack_images(images: list[np.ndarray], gap: int = 2) -> np.ndarray:
    """Stack ``[H, W, 3]`` images vertically with a black gap."""
    return np.transpose(hstack_images([np.transpose(i, (1, 0, 2)) for i in images], gap), (1, 0, 2))


LABEL_HEIGHT = 14
"""Height in pixels of the white strip :func:`label_image` adds above an image."""


def label_image(image: np.ndarray, text: str) -> np.ndarray:
    """``uint8 [H, W, 3]`` -> ``uint8 [H + LABEL_HEIGHT, W, 3]`` with ``text`` (clipped to the
    width) in black on a white strip above it."""
    from PIL import Image, ImageDraw

    canvas = Image.new("RGB", (image.shape[1], LABEL_HEIGHT), (255, 255, 255))
    ImageDraw.Draw(canvas).text((2, 1), text[: max(1, image.shape[1] // 6)], fill=(0, 0, 0))
    return np.concatenate([np.asarray(canvas), image], axis=0)


def write_png(path: str | os.PathLike[str], rgb: np.ndarray) -> Path:
    """Write an 8-bit RGB PNG (``uint8 [H, W, 3]``, or float display values in [0, 1])."""
    pixels = rgb if rgb.dtype == np.uint8 else to_uint8(rgb)
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ValueError(f"write_png({path}): expected [H, W, 3], got shape {pixels.shape}")
    height, width = pixels.shape[:2]
    raw = b"".join(b"\x00" + pixels[row].tobytes() for row in range(height))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    png = (b"\x89PNG\r\n\x1a\n"
           + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw, 6))
           + chunk(b"IEND", b""))
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(png)
    return out
