"""The value checks of a frame: one definition for every path a frame takes.

:func:`find_value_problem` finds the first value problem of a dict of layers (each
``[H, W, C]``, docs/format.md names), in this order:

1. NaN or Inf in any channel (layers in docs/format.md order, then any others);
2. negative ``color``;
3. a ``normal`` that is not unit length (``| |n| - 1 | > NORMAL_TOLERANCE``) where
   ``depth > 0`` (misses may hold any normal; docs/format.md writes 0).

It returns a :class:`ValueProblem` (the layer, the channel, the problem) and each path
raises its own error with it:

* frames read from disk (:meth:`ssr.data_tools.Sequence.read_frame`, ``ssr check``):
  :class:`~ssr.data_tools.errors.FormatError` naming the file;
* compact training copies (:class:`ssr.data_tools.compact.CompactSequence`):
  :class:`~ssr.data_tools.errors.FormatError` naming the file and the frame;
* frames handed to the engine in memory (:func:`ssr.streaming.check_frame`):
  :class:`FrameValueError` naming the frame layer.

It runs per frame in the runtime's hot path (2048 x 1024 frames), so a valid frame costs
one ``min`` and one ``max`` reduction per layer (NaN propagates through both, +-Inf shows
in one) and one pass over the normals for their squared length (in blocks that stay in
cache, misses set aside by ``depth``); counts and positions are only worked out once a
reduction shows a problem.

>>> import numpy as np
>>> frame = {"color": np.ones((2, 2, 3), np.float32), "depth": np.ones((2, 2, 1), np.float32),
...          "normal": np.tile(np.float32([0, 0, 1]), (2, 2, 1))}
>>> find_value_problem(frame) is None
True
>>> frame["color"][1, 0, 2] = -1.0
>>> find_value_problem(frame)
ValueProblem(layer='color', channel='color.B', problem='1 negative values')
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from .spec import LAYERS

__all__ = ["NORMAL_TOLERANCE", "FrameValueError", "ValueProblem", "find_value_problem", "sanitize_color"]

NORMAL_TOLERANCE = 0.01
"""Largest accepted ``| |n| - 1 |`` of a normal where ``depth > 0``."""

_ORDER = {name: index for index, name in enumerate(LAYERS)}
_REDUCE_BLOCK = 1 << 18
"""Values per block of the min/max reductions (1 MiB of float32: stays in L2)."""
_BLOCK = 1 << 16
"""Pixels per block of the squared-length pass (about 1 MiB of temporaries: stays in L2)."""
# the squared-length pass only filters: a pixel it cannot clear (a margin inside the
# tolerance, far above float32 rounding) sends the frame to the exact test of the length
_SQUARED_LOW = (1.0 - NORMAL_TOLERANCE) ** 2 * (1.0 + 1e-4)
_SQUARED_HIGH = (1.0 + NORMAL_TOLERANCE) ** 2 * (1.0 - 1e-4)


@dataclass(frozen=True)
class ValueProblem:
    """The first value problem of a frame.

    Attributes:
        layer: the layer (``"color"``).
        channel: its EXR channel (``"color.G"``); the layer name itself for a problem of
            the whole vector (a normal's length: ``"normal"``).
        problem: what is wrong, with a count (``"3 NaN/Inf values"``).
    """

    layer: str
    channel: str
    problem: str


class FrameValueError(ValueError):
    """A frame in memory refused for its values (:func:`ssr.streaming.check_frame`).

    ``str()`` names the frame layer, the problem and the channel:
    ``frame layer 'color': 1 NaN/Inf values (channel color.G)``.
    """

    def __init__(self, layer: str, channel: str, problem: str) -> None:
        self.layer = layer
        self.channel = channel
        self.problem = problem
        where = f" (channel {channel})" if channel != layer else ""
        super().__init__(f"frame layer '{layer}': {problem}{where}")


def _finite_low(data: np.ndarray) -> float | None:
    """The minimum of ``data`` when every value is finite, else None: ``min`` and ``max``
    reductions (NaN propagates through both, +-Inf shows in one) block by block, so the
    second reads the block from cache."""
    flat = np.reshape(data, -1)
    low = math.inf
    for start in range(0, flat.size, _REDUCE_BLOCK):
        block = flat[start:start + _REDUCE_BLOCK]
        block_low, block_high = float(block.min()), float(block.max())
        if not (math.isfinite(block_low) and math.isfinite(block_high)):
            return None
        low = min(low, block_low)
    return low


def _channel_name(layer: str, index: int, channels: int) -> str:
    spec = LAYERS.get(layer)
    suffix = spec.suffixes[index] if spec is not None and len(spec.suffixes) == channels else str(index)
    return f"{layer}.{suffix}"


def _first_channel(layer: str, bad: np.ndarray, what: str) -> ValueProblem:
    """The first channel of ``layer`` where ``bad`` (``[H, W, C]`` bool) holds, with its count."""
    channels = bad.shape[-1]
    counts = np.count_nonzero(bad.reshape(-1, channels), axis=0)
    index = int(np.flatnonzero(counts)[0])
    return ValueProblem(layer, _channel_name(layer, index, channels), f"{int(counts[index])} {what}")


def _normal_pass(normal: np.ndarray, depth: np.ndarray) -> tuple[bool, bool]:
    """One blocked pass over the normals: ``(finite, maybe_off)``.

    ``finite`` is True when every squared length is finite (so is every component; False
    also for an overflow of a square, which the caller's exact test clears). ``maybe_off``
    is False when every normal where ``depth > 0`` is clearly unit length (its squared
    length inside the tolerance with a margin), True when the exact test must decide.
    """
    vectors = np.reshape(normal, (-1, 3))
    hits = np.reshape(depth, -1)
    pixels = vectors.shape[0]
    size = min(_BLOCK, pixels)
    squares = np.empty((size, 3), np.float32)
    lengths = np.empty(size, np.float32)
    maybe_off = False
    for start in range(0, pixels, size):
        block = vectors[start:start + size]
        count = block.shape[0]
        square, length = squares[:count], lengths[:count]
        with np.errstate(over="ignore"):  # a square past float32: not finite, decided below
            np.multiply(block, block, out=square)
        np.add(square[:, 0], square[:, 1], out=length)
        length += square[:, 2]
        if not math.isfinite(float(length.max())):  # NaN propagates, +-Inf squares to +Inf
            return False, True
        if not maybe_off:
            np.copyto(length, np.float32(1.0), where=hits[start:start + size] <= 0)
            maybe_off = bool(length.min() < _SQUARED_LOW or length.max() > _SQUARED_HIGH)
    return True, maybe_off


def _normal_problem(normal: np.ndarray, depth: np.ndarray) -> ValueProblem | None:
    """The exact test (the first offending pixel and the count), run only when the squared
    lengths leave a doubt."""
    hit = depth[..., 0] > 0
    with np.errstate(over="ignore"):  # |n| = inf for a component past 1.8e19: "not unit length"
        length = np.linalg.norm(normal, axis=-1)
    off = hit & (np.abs(length - 1.0) > NORMAL_TOLERANCE)
    if not off.any():
        return None
    y, x = np.argwhere(off)[0]
    return ValueProblem(
        "normal", "normal",
        f"{int(off.sum())} normals are not unit length where depth > 0 "
        f"(first at x={x}, y={y}: |n| = {length[y, x]:.4f})",
    )


def find_value_problem(layers: Mapping[str, np.ndarray]) -> ValueProblem | None:
    """The first value problem of ``layers`` (see the module docstring), None when there is none.

    Args:
        layers: layer name -> float array ``[H, W, C]`` (``depth`` ``[H, W, 1]``), as a
            frame reader returns them.
    """
    normal, depth = layers.get("normal"), layers.get("depth")
    with_normals = (normal is not None and depth is not None and normal.ndim == 3 and normal.size > 0
                    and normal.shape[-1] == 3 and depth.shape == (*normal.shape[:-1], 1))
    maybe_off = False
    color_low: float | None = None
    for name in sorted(layers, key=lambda n: _ORDER.get(n, len(_ORDER))):
        data = layers[name]
        if data.size == 0:
            continue
        if name == "normal" and with_normals:
            # the squared lengths show NaN/Inf too: no separate min/max over the normals
            finite, maybe_off = _normal_pass(data, depth)
            if not finite and not np.isfinite(data).all():
                return _first_channel(name, ~np.isfinite(data), "NaN/Inf values")
            continue
        low = _finite_low(data)
        if low is None:
            return _first_channel(name, ~np.isfinite(data), "NaN/Inf values")
        if name == "color":
            color_low = low
    if color_low is not None and color_low < 0:
        return _first_channel("color", layers["color"] < 0, "negative values")
    if maybe_off:
        return _normal_problem(normal, depth)
    return None


def sanitize_color(color: np.ndarray) -> np.ndarray:
    """``color`` with NaN, Inf and negative values replaced by 0 (``color`` itself when it
    has none): what ``Sequence(..., sanitize_color=True)`` reads."""
    if color.size == 0:
        return color
    low, high = float(color.min()), float(color.max())
    if math.isfinite(low) and math.isfinite(high) and low >= 0:
        return color
    return np.where(np.isfinite(color), np.maximum(color, 0), np.float32(0)).astype(color.dtype, copy=False)
