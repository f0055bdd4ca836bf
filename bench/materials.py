"""Per-material colour bias: mean output / mean reference per channel, by G-buffer class.

A denoiser that darkens metals or tints walls blue can still gain PSNR; this table shows
it. Every pixel of a frame falls in exactly one class, decided from the frame's own
G-buffers (docs/format.md layers):

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

The same ratio is also kept over the *display range* only: the pixels whose reference is at
most :data:`DISPLAY_MAX` in every channel, i.e. what the ``clip(x, 0, 1) ** (1/2.2)`` tone map
shows unclipped. Linear means are dominated by HDR highlights (in a sunlit bathroom a third
of the diffuse pixels are above 1 and hold 97 % of the energy), so a method that is exact on
everything a viewer sees but 10 % dark on highlights reads 0.90 in the first table and 1.00
in the second. Both are reported; neither replaces the other.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

__all__ = ["DISPLAY_MAX", "MATERIALS", "MIN_REFERENCE_SUM", "RANGES", "BiasAccumulator", "material_classes"]

MATERIALS: tuple[str, ...] = ("metal", "glass", "glossy", "diffuse", "miss")
GLOSSY_ROUGHNESS = 0.3
METAL_THRESHOLD = 0.5
MIN_REFERENCE_SUM = 1.0
"""Below this (summed linear radiance of one channel) a class's ratio is not reported."""
DISPLAY_MAX = 1.0
"""Reference values up to this (every channel, linear) are the display range of the ``clip + gamma
2.2`` tone map; brighter pixels are clipped there."""


def material_classes(frame: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``{class: bool [H, W]}`` for one frame (layers ``depth``, ``transparent``,
    ``metallic``, ``roughness``, each ``[H, W, C]``); the masks partition the frame."""
    hit = frame["depth"][..., 0] > 0
    glass = hit & (frame["transparent"].max(axis=-1) > 0)
    metal = hit & ~glass & (frame["metallic"][..., 0] > METAL_THRESHOLD)
    glossy = hit & ~glass & ~metal & (frame["roughness"][..., 0] < GLOSSY_ROUGHNESS)
    diffuse = hit & ~glass & ~metal & ~glossy
    return {"metal": metal, "glass": glass, "glossy": glossy, "diffuse": diffuse, "miss": ~hit}


RANGES: tuple[str, ...] = ("all", "display")
"""The pixel sets a :class:`BiasAccumulator` sums over: every pixel of the class, and those in
the display range (reference <= :data:`DISPLAY_MAX` in every channel)."""


class BiasAccumulator:
    """Sums of output and reference radiance per range, class and channel, for one method."""

    def __init__(self) -> None:
        shape = (len(RANGES), len(MATERIALS))
        self.output = np.zeros((*shape, 3), np.float64)
        self.reference = np.zeros((*shape, 3), np.float64)
        self.pixels = np.zeros(shape, np.int64)

    def add(self, output: np.ndarray, reference: np.ndarray, classes: Mapping[str, np.ndarray]) -> None:
        """Add one frame (``output``, ``reference``: linear ``[H, W, 3]``)."""
        in_display = reference.max(axis=-1) <= DISPLAY_MAX
        for row, name in enumerate(MATERIALS):
            for band, where in enumerate((classes[name], classes[name] & in_display)):
                self.pixels[band, row] += int(where.sum())
                self.output[band, row] += output[where].sum(axis=0, dtype=np.float64)
                self.reference[band, row] += reference[where].sum(axis=0, dtype=np.float64)

    def merge(self, other: "BiasAccumulator") -> None:
        """Add another accumulator's sums (e.g. to pool sequences)."""
        self.output += other.output
        self.reference += other.reference
        self.pixels += other.pixels

    def table(self, pixels: str = "all") -> dict[str, Any]:
        """``{class: {"ratio": [r, g, b] | None, "worst": max |ratio - 1| | None, "pixels": n}}``
        over ``pixels`` (one of :data:`RANGES`)."""
        if pixels not in RANGES:
            raise ValueError(f"bias table: pixels must be one of {RANGES}, got {pixels!r}")
        band = RANGES.index(pixels)
        result: dict[str, Any] = {}
        for row, name in enumerate(MATERIALS):
            output, reference = self.output[band, row], self.reference[band, row]
            count = int(self.pixels[band, row])
            if np.all(reference >= MIN_REFERENCE_SUM):
                ratio = (output / reference).tolist()
                result[name] = {"ratio": ratio, "worst": float(np.max(np.abs(np.asarray(ratio) - 1.0))),
                                "pixels": count}
            else:
                result[name] = {"ratio": None, "worst": None, "pixels": count}
        return result
