"""A tiny analytic ssr-seq sequence: a textured plane scrolling under a fixed light.

No renderer needed: used by tests and as a format example. Every channel is consistent
with docs/format.md: the surface seen at pixel ``p`` in frame ``t`` was at ``p + motion`` in
frame ``t - 1`` (the texture scrolls by ``-velocity`` pixels per frame, so ``motion``
is ``+velocity``), colour = reference + zero-mean noise
(clamped at 0, so never negative), normals unit, depth > 0.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .format import write_sequence

__all__ = ["synthetic_frame", "write_synthetic_sequence"]


def _texture(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Albedo of the plane at continuous texture coordinates (pixels): ``[H, W, 3]``."""
    checker = ((np.floor(x / 6.0) + np.floor(y / 6.0)) % 2).astype(np.float32)
    base = 0.25 + 0.5 * checker
    return np.stack([base, 0.6 * base + 0.2 * np.sin(x / 9.0) ** 2, 0.3 + 0.2 * np.cos(y / 7.0) ** 2], axis=-1).astype(np.float32)


def synthetic_frame(index: int, height: int, width: int, *, velocity: tuple[float, float] = (1.0, 0.5),
                    seed: int = 0, noise: float = 0.6) -> dict[str, np.ndarray]:
    """Frame ``index`` of the scrolling plane: every docs/format.md layer, ``float32 [H, W, C]``.

    The texture point under pixel centre ``p`` in frame ``t`` is ``p + t * velocity``; it was
    under ``p + velocity`` in frame ``t - 1``, so ``motion = velocity`` everywhere (0 at frame 0).
    """
    rng = np.random.default_rng(seed * 100003 + index)
    ys, xs = np.meshgrid(np.arange(height, dtype=np.float32) + 0.5, np.arange(width, dtype=np.float32) + 0.5, indexing="ij")
    tx, ty = xs + index * velocity[0], ys + index * velocity[1]
    albedo = _texture(tx, ty)
    light = (0.6 + 0.4 * np.exp(-((xs - width / 2) ** 2 + (ys - height / 2) ** 2) / (0.3 * width * height)))[..., None]
    shadow = (np.sin(tx / 11.0) > -0.7).astype(np.float32)[..., None]
    irradiance = light * (0.3 + 0.7 * shadow)
    reference = (albedo * irradiance).astype(np.float32)
    color = np.maximum(reference * (1.0 + noise * rng.standard_normal(reference.shape).astype(np.float32)), 0.0)
    normal = np.zeros((height, width, 3), np.float32)
    normal[..., 2] = 1.0
    depth = (2.0 + 0.01 * ys)[..., None].astype(np.float32)
    motion = np.zeros((height, width, 2), np.float32)
    if index > 0:
        motion[..., 0], motion[..., 1] = velocity
    return {
        "color": color.astype(np.float32),
        "albedo": albedo,
        "normal": normal,
        "depth": depth,
        "motion": motion,
        "roughness": np.full((height, width, 1), 0.8, np.float32),
        "metallic": np.zeros((height, width, 1), np.float32),
        "shadow": shadow,
        "transparent": np.zeros((height, width, 3), np.float32),
        "reference": reference,
        "reference_albedo": albedo,
    }


def write_synthetic_sequence(path: str | os.PathLike[str], *, width: int = 32, height: int = 24, frames: int = 6,
                             cuts: tuple[int, ...] = (0,), seed: int = 0,
                             velocity: tuple[float, float] = (1.0, 0.5)) -> Path:
    """Write a complete ``sampling: full`` ssr-seq sequence of the scrolling plane."""
    def frames_with_cuts():
        for index in range(frames):
            frame = synthetic_frame(index, height, width, velocity=velocity, seed=seed)
            if index in cuts:
                frame["motion"][:] = 0.0
            yield frame

    return write_sequence(path, frames_with_cuts(), sampling="full", spp=1, reference_spp=None, shadow_rays=1,
                          cuts=cuts, scene="synthetic scrolling plane", renderer="ssr.data_tools.synthetic")
