"""Facts an importer can measure when a layout does not document them.

* :func:`traced_offset` - which pixel of each 2x2 tile a 1/4-spp frame traced (or None
  for a frame with a sample at every pixel);
* :func:`detect_motion_convention` - which motion convention (units, y axis, direction)
  makes frame t-1's G-buffers, warped by frame t's motion, match frame t best.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..warp import warp_previous
from .channel_map import MOTION_UNITS, MOTION_Y_AXES, MotionSource

__all__ = ["detect_motion_convention", "traced_offset"]


def traced_offset(color: np.ndarray, dominance: float = 0.95) -> tuple[int, int] | None:
    """The ``(dx, dy)`` tile offset holding (nearly) all non-zero pixels of ``color``
    ``[H, W, 3]``, or None when samples are spread over the tile (a full-sampling frame).

    >>> frame = np.zeros((4, 4, 3), np.float32); frame[1::2, 0::2] = 1.0
    >>> traced_offset(frame)
    (0, 1)
    """
    lit = np.any(color != 0, axis=-1)
    counts = {(dx, dy): int(lit[dy::2, dx::2].sum()) for dy in (0, 1) for dx in (0, 1)}
    total = sum(counts.values())
    best = max(counts, key=counts.get)
    if total == 0 or counts[best] < dominance * total:
        return None
    return best


def _features(frame: dict[str, np.ndarray]) -> np.ndarray:
    return np.concatenate([frame["albedo"], frame["normal"]], axis=-1)


def detect_motion_convention(
    source: MotionSource,
    pairs: list[tuple[dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray]],
) -> tuple[MotionSource, list[tuple[float, MotionSource]]]:
    """Rank every motion convention by the G-buffer error it leaves after warping.

    Args:
        source: the layout's motion source (channels, file, scale are kept).
        pairs: ``(frame t-1, frame t, raw motion of frame t [H, W, 2])`` with converted
            ``albedo``, ``normal`` and ``depth`` layers.

    Returns:
        ``(best source, [(error, source), ...] sorted best first)``; the error is the mean
        absolute albedo+normal difference over surfaces whose warp stays in the frame.
    """
    from .convert import motion_to_format

    ranked: list[tuple[float, MotionSource]] = []
    for units in MOTION_UNITS:
        for y_axis in MOTION_Y_AXES:
            for points_to in ("previous", "from_previous"):
                candidate = replace(source, units=units, y_axis=y_axis, points_to=points_to)
                errors = []
                for previous, current, raw in pairs:
                    height, width = raw.shape[:2]
                    motion = motion_to_format(raw, candidate, height, width)
                    warped, valid = warp_previous(_features(previous), motion)
                    hit = valid & (current["depth"][..., 0] > 0)
                    if hit.any():
                        errors.append(float(np.abs(warped - _features(current))[hit].mean()))
                ranked.append((float(np.mean(errors)) if errors else float("inf"), candidate))
    ranked.sort(key=lambda item: item[0])
    return ranked[0][1], ranked
