"""What docs/format.md defines for frames: the layer table, the frame file names and the subpixel
pattern (no I/O; the rest of the format builds on these).

>>> frame_filename(42)
'frame_00042.exr'
>>> exr_channel_names("motion")
['motion.X', 'motion.Y']
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from .contract import PATTERN

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "FRAME_RE",
    "HALF_MAX",
    "LAYERS",
    "PATTERN",
    "LayerSpec",
    "apply_subpixel_pattern",
    "exr_channel_names",
    "frame_filename",
    "subpixel_mask",
]

FORMAT_NAME = "ssr-seq"
FORMAT_VERSION = 1
HALF_MAX = 65504.0
"""Largest finite float16 value."""


@dataclass(frozen=True)
class LayerSpec:
    """One docs/format.md layer: EXR channel suffixes, whether required, default, writer type."""

    suffixes: tuple[str, ...]
    required: bool
    default: float
    write_half: bool  # HALF on write (FLOAT otherwise); reference picks by range


LAYERS: dict[str, LayerSpec] = {
    "color": LayerSpec(("R", "G", "B"), True, 0.0, False),
    "albedo": LayerSpec(("R", "G", "B"), True, 0.0, True),
    "normal": LayerSpec(("X", "Y", "Z"), True, 0.0, True),
    "depth": LayerSpec(("Z",), True, 0.0, False),
    "motion": LayerSpec(("X", "Y"), True, 0.0, False),
    "roughness": LayerSpec(("Y",), False, 0.0, True),
    "metallic": LayerSpec(("Y",), False, 0.0, True),
    "shadow": LayerSpec(("Y",), False, 1.0, True),
    "transparent": LayerSpec(("R", "G", "B"), False, 0.0, True),
    "mask": LayerSpec(("Y",), False, 0.0, True),
    "reference": LayerSpec(("R", "G", "B"), False, 0.0, True),
    "reference_albedo": LayerSpec(("R", "G", "B"), False, 0.0, True),
}
"""Layer name -> spec, in docs/format.md order."""

FRAME_RE = re.compile(r"^frame_(\d{5,})\.exr$")
"""A frame file's name; group 1 is its number."""


def exr_channel_names(name: str) -> list[str]:
    """The EXR channels of layer ``name``: ``["normal.X", "normal.Y", "normal.Z"]``."""
    return [f"{name}.{suffix}" for suffix in LAYERS[name].suffixes]


def frame_filename(index: int) -> str:
    """``frame_00042.exr`` for ``index == 42``."""
    return f"frame_{index:05d}.exr"


def subpixel_mask(frame_index: int, height: int, width: int) -> np.ndarray:
    """The subpixel pattern of frame ``frame_index``: ``float32 [H, W]``, 1 = traced.

    Pixels are grouped in 2x2 tiles from the top-left corner; the traced pixel of each
    tile is at offset ``PATTERN[frame_index % 4]`` (``dx`` along columns, ``dy`` rows).

    >>> subpixel_mask(1, 2, 3).tolist()
    [[0.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    """
    dx, dy = PATTERN[frame_index % 4]
    mask = np.zeros((height, width), np.float32)
    mask[dy::2, dx::2] = 1.0
    return mask


def apply_subpixel_pattern(
    frame: Mapping[str, np.ndarray], frame_index: int, size: tuple[int, int] | None = None
) -> dict[str, np.ndarray]:
    """The 1/4-spp view of a frame whose ``color``/``shadow`` hold every pixel.

    Returns a new dict: ``color`` and ``shadow`` (where present) zeroed outside the pattern
    of ``frame_index``, and ``mask`` (``float32 [H, W, 1]``) set; other layers are shared.
    ``size`` (``(H, W)``) defaults to the size of the frame's first layer.
    """
    height, width = size if size is not None else np.shape(next(iter(frame.values())))[:2]
    mask = subpixel_mask(frame_index, height, width)[:, :, None]
    patterned = dict(frame)
    for name in ("color", "shadow"):
        if name in patterned:
            patterned[name] = patterned[name] * mask
    patterned["mask"] = mask
    return patterned
