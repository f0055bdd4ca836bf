"""Tiny synthetic ssr-seq sequences for tests and smoke runs (no renderer needed).

A periodic textured plane pans across the screen at an integer ``velocity`` (pixels per
frame, content moving +x/+y), so the exact motion vectors are ``-velocity`` (FORMAT.md:
the surface at ``p`` was at ``p + motion`` in the previous frame) and 0 at frame 0.
``color`` is the reference radiance times per-pixel gamma noise with mean 1.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ssr.data_tools import pack_frame
from ssr.data_tools.format import apply_subpixel_pattern, write_sequence

from .data import PackedSequence

__all__ = ["synthetic_frames", "synthetic_packed_sequence", "write_synthetic_sequence"]


def synthetic_frames(
    frames: int = 6, height: int = 16, width: int = 16, velocity: tuple[int, int] = (1, 0), seed: int = 0, noise_shape: float = 2.0
) -> list[dict[str, np.ndarray]]:
    """Full-sampling frames (no mask): ``float32 [H, W, C]`` layers incl. the references."""
    rng = np.random.default_rng(seed)
    ys, xs = np.meshgrid(np.arange(height) + 0.5, np.arange(width) + 0.5, indexing="ij")
    phases = np.array([0.0, 1.0, 2.0], np.float32)
    result = []
    for t in range(frames):
        u = xs - velocity[0] * t
        v = ys - velocity[1] * t
        albedo = 0.5 + 0.4 * np.sin(2 * np.pi * u[..., None] / 8 + phases) * np.cos(2 * np.pi * v[..., None] / 6)
        irradiance = 1.0 + 0.5 * np.sin(2 * np.pi * (u + v)[..., None] / 11)
        reference = (albedo * irradiance).astype(np.float32)
        noise = rng.gamma(noise_shape, 1.0 / noise_shape, size=(height, width, 1)).astype(np.float32)
        depth = (2.0 + 0.2 * np.sin(2 * np.pi * u / 9))[..., None]
        motion = np.zeros((height, width, 2), np.float32)
        if t > 0:
            motion[..., 0] = -velocity[0]
            motion[..., 1] = -velocity[1]
        normal = np.zeros((height, width, 3), np.float32)
        normal[..., 2] = 1.0
        result.append(
            {
                "color": reference * noise,
                "albedo": albedo.astype(np.float32),
                "normal": normal,
                "depth": depth.astype(np.float32),
                "motion": motion,
                "roughness": np.full((height, width, 1), 0.5, np.float32),
                "metallic": np.zeros((height, width, 1), np.float32),
                "shadow": np.ones((height, width, 1), np.float32),
                "transparent": np.zeros((height, width, 3), np.float32),
                "reference": reference,
                "reference_albedo": albedo.astype(np.float32),
            }
        )
    return result


def write_synthetic_sequence(
    path: str | os.PathLike[str],
    frames: int = 6,
    height: int = 16,
    width: int = 16,
    velocity: tuple[int, int] = (1, 0),
    seed: int = 0,
) -> Path:
    """Write a synthetic sequence (``sampling: full``) to ``path``; returns the folder."""
    return write_sequence(
        path, synthetic_frames(frames, height, width, velocity, seed), sampling="full", spp=1, reference_spp=1,
        shadow_rays=1, cuts=[0], scene="synthetic-pan", renderer="ssr.train.synthetic",
    )


def synthetic_packed_sequence(
    frames: int = 6,
    height: int = 16,
    width: int = 16,
    velocity: tuple[int, int] = (1, 0),
    seed: int = 0,
    subpixel: bool = True,
    name: str = "synthetic",
) -> PackedSequence:
    """The same data packed in memory (the subpixel pattern applied like the reader does)."""
    packed, reference, reference_albedo = [], [], []
    for index, frame in enumerate(synthetic_frames(frames, height, width, velocity, seed)):
        if subpixel:
            frame = apply_subpixel_pattern(frame, index)
        else:
            frame = dict(frame, mask=np.ones((height, width, 1), np.float32))
        packed.append(pack_frame(frame))
        reference.append(frame["reference"].transpose(2, 0, 1))
        reference_albedo.append(frame["reference_albedo"].transpose(2, 0, 1))
    cuts = np.zeros(frames, bool)
    cuts[0] = True
    return PackedSequence(name, np.stack(packed), np.stack(reference), np.stack(reference_albedo), cuts)
