"""Per-material colour bias: mean output / mean reference per channel, by G-buffer class.

A denoiser that darkens metals or tints walls blue can still gain PSNR; this table shows
it. Every pixel of a frame falls in exactly one class, decided from the frame's own
G-buffers (FORMAT.md layers):

========= =================================================================
class     pixels
========= =================================================================
``miss``  ``depth == 0`` (the ray left the scene: environment or black)
``glass`` a hit whose ``transparent`` tint is > 0 in any channel (dielectrics)
``metal`` other hits with ``metallic > 0.5`` (conductors)
``glossy`` other hits with ``roughness < 0.3`` (smooth plastics, varnish, coats)
``diffuse`` every other hit
========= =================================================================

The bias of a method on a class is ``sum(output) / sum(reference)`` per channel over every
pixel of the class in every frame scored (1.0 = unbiased). Classes whose reference sum is
below :data:`MIN_REFERENCE_SUM` per channel (almost no pixels, or black) report null.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

__all__ = ["MATERIALS", "MIN_REFERENCE_SUM", "BiasAccumulator", "material_classes"]

MATERIALS: tuple[str, ...] = ("metal", "glass", "glossy", "diffuse", "miss")
GLOSSY_ROUGHNESS = 0.3
METAL_THRESHOLD = 0.5
MIN_REFERENCE_SUM = 1.0
"""Below this (summed linear radiance of one channel) a class's ratio is not reported."""


def material_classes(frame: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``{class: bool [H, W]}`` for one frame (layers ``depth``, ``transparent``,
    ``metallic``, ``roughness``, each ``[H, W, C]``); the masks partition the frame."""
    hit = frame["depth"][..., 0] > 0
    glass = hit & (frame["transparent"].max(axis=-1) > 0)
    metal = hit & ~glass & (frame["metallic"][..., 0] > METAL_THRESHOLD)
    glossy = hit & ~glass & ~metal & (frame["roughness"][..., 0] < GLOSSY_ROUGHNESS)
    diffuse = hit & ~glass & ~metal & ~glossy
    return {"metal": metal, "glass": glass, "glossy": glossy, "diffuse": diffuse, "miss": ~hit}


class BiasAccumulator:
    """Sums of output and reference radiance per class and channel, for one method."""

    def __init__(self) -> None:
        self.output = np.zeros((len(MATERIALS), 3), np.float64)
        self.reference = np.zeros((len(MATERIALS), 3), np.float64)
        self.pixels = np.zeros(len(MATERIALS), np.int64)

    def add(self, output: np.ndarray, reference: np.ndarray, classes: Mapping[str, np.ndarray]) -> None:
        """Add one frame (``output``, ``reference``: linear ``[H, W, 3]``)."""
        for row, name in enumerate(MATERIALS):
            where = classes[name]
            self.pixels[row] += int(where.sum())
            self.output[row] += output[where].sum(axis=0, dtype=np.float64)
            self.reference[row] += reference[where].sum(axis=0, dtype=np.float64)

    def merge(self, other: "BiasAccumulator") -> None:
        """Add another accumulator's sums (e.g. to pool sequences)."""
        self.output += other.output
        self.reference += other.reference
        self.pixels += other.pixels

    def table(self) -> dict[str, Any]:
        """``{class: {"ratio": [r, g, b] | None, "worst": max |ratio - 1| | None, "pixels": n}}``."""
        result: dict[str, Any] = {}
        for row, name in enumerate(MATERIALS):
            if np.all(self.reference[row] >= MIN_REFERENCE_SUM):
                ratio = (self.output[row] / self.reference[row]).tolist()
                result[name] = {"ratio": ratio, "worst": float(np.max(np.abs(np.asarray(ratio) - 1.0))),
                                "pixels": int(self.pixels[row])}
            else:
                result[name] = {"ratio": None, "worst": None, "pixels": int(self.pixels[row])}
        return result
