"""What the host-buffer and device-buffer backends share: padding a frame to the graph's
size and the ping-pong of the recurrent state between buffer pairs.

Each backend keeps, per padded frame size, three state pairs (``acc``, ``prev_out``):
pairs 0 and 1 alternate (the graph reads one and writes the other), pair
:data:`ZERO_PAIR` stays zero and is the state of a new stream. A failed step therefore
never touches the committed state.
"""

from __future__ import annotations

import numpy as np

from ssr.data_tools.contract import SIZE_MULTIPLE

__all__ = ["MAX_CACHED_SIZES", "ZERO_PAIR", "next_pair", "pad_into", "padded_size"]

ZERO_PAIR = 2
"""Index of the state pair that stays zero (a new stream reads it)."""
MAX_CACHED_SIZES = 2
"""Buffer sets kept: the current size and the last one (a failed first frame at a new
size must not lose the committed state)."""


def next_pair(pair: int) -> int:
    """The pair a step writes when it reads ``pair``.

    >>> [next_pair(p) for p in (ZERO_PAIR, 0, 1)]
    [0, 1, 0]
    """
    return 0 if pair == ZERO_PAIR else 1 - pair


def padded_size(fixed: tuple[int, int] | None, height: int, width: int, source: str) -> tuple[int, int]:
    """The size a ``height x width`` frame runs at: a static graph's own size (another size
    is a ``ValueError`` naming ``source``), else the next multiples of 4.

    >>> padded_size(None, 14, 10, "m.onnx")
    (16, 12)
    """
    if fixed is not None:
        if fixed != (height, width):
            raise ValueError(
                f"{source} was exported for {fixed[0]}x{fixed[1]} frames (static shape), got a {height}x{width} "
                f"frame; re-export with `ssr export --height {height} --width {width}` or with --dynamic"
            )
        return height, width  # a static graph pads inside itself
    return height + (-height) % SIZE_MULTIPLE, width + (-width) % SIZE_MULTIPLE


def pad_into(target: np.ndarray, packed: np.ndarray) -> None:
    """Write ``packed`` ``[C, H, W]`` into the top-left of ``target`` ``[C, Hp, Wp]`` and
    replicate its last row / column into the bottom / right border (no copy when
    ``packed`` already lives in ``target``)."""
    height, width = packed.shape[1:]
    if not np.shares_memory(packed, target):
        target[:, :height, :width] = packed
    if target.shape[1:] != (height, width):
        target[:, height:, :width] = target[:, height - 1 : height, :width]
        target[:, :, width:] = target[:, :, width - 1 : width]
