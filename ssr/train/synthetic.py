"""A tiny synthetic sequence packed in memory, for tests and smoke runs (no renderer, no disk).

The frames are :func:`ssr.data_tools.synthetic.synthetic_frame`'s scrolling plane (the one
synthetic scene of the project; :func:`ssr.data_tools.synthetic.write_synthetic_sequence`
writes the same frames to disk), packed as :func:`ssr.train.data.load_packed_sequence`
packs a sequence read from disk.
"""

from __future__ import annotations

import numpy as np

from ssr.data_tools import pack_frame
from ssr.data_tools.format import apply_subpixel_pattern
from ssr.data_tools.synthetic import synthetic_frame

from .data import PackedSequence

__all__ = ["synthetic_packed_sequence"]


def synthetic_packed_sequence(
    frames: int = 6,
    height: int = 16,
    width: int = 16,
    velocity: tuple[float, float] = (1.0, 0.5),
    seed: int = 0,
    subpixel: bool = True,
    name: str = "synthetic",
) -> PackedSequence:
    """The scrolling plane packed in memory (the subpixel pattern applied like the reader
    does): ``packed float32 [T, 19, H, W]``, ``reference`` / ``reference_albedo``
    ``float32 [T, 3, H, W]``, one cut at frame 0.

    >>> synthetic_packed_sequence(frames=3, height=8, width=12).packed.shape
    (3, 19, 8, 12)
    """
    packed, reference, reference_albedo = [], [], []
    for index in range(frames):
        frame = synthetic_frame(index, height, width, velocity=velocity, seed=seed)
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
