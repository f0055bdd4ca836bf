"""``ssr check``'s engine: every docs/format.md check over a sequence, with channel statistics,
collected into a :class:`SequenceReport` instead of raised."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import FormatError
from .meta import read_meta
from .reader import Sequence

__all__ = ["ChannelStats", "SequenceReport", "validate_sequence"]


@dataclass
class ChannelStats:
    """Value range and NaN/Inf count of one EXR channel over a whole sequence."""

    minimum: float = math.inf
    maximum: float = -math.inf
    nonfinite: int = 0
    pixel_type: str = ""

    def update(self, pixels: np.ndarray) -> None:
        finite = np.isfinite(pixels)
        self.nonfinite += int((~finite).sum())
        if finite.any():
            values = pixels[finite]
            self.minimum = min(self.minimum, float(values.min()))
            self.maximum = max(self.maximum, float(values.max()))
        self.pixel_type = "HALF" if pixels.dtype == np.float16 else "FLOAT"


@dataclass
class SequenceReport:
    """What ``ssr check`` prints for one sequence."""

    path: Path
    meta: dict[str, Any] = field(default_factory=dict)
    channels: dict[str, ChannelStats] = field(default_factory=dict)
    motion_mean_px: float = 0.0
    motion_max_px: float = 0.0
    frames_checked: int = 0
    errors: list[FormatError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        lines = [f"{self.path}: {'OK' if self.ok else 'INVALID'}"]
        if self.meta:
            m = self.meta
            lines.append(
                f"  {m['frame_count']} frames, {m['width']}x{m['height']}, sampling {m['sampling']}, "
                f"spp {m['spp']}, reference_spp {m['reference_spp']}, cuts {m['cuts']}, scene {m['scene']!r}"
            )
        for name, stats in sorted(self.channels.items()):
            lines.append(
                f"  {name:<22} {stats.pixel_type:<5} [{stats.minimum:.4g}, {stats.maximum:.4g}]"
                + (f"  NaN/Inf: {stats.nonfinite}" if stats.nonfinite else "")
            )
        if self.frames_checked:
            lines.append(f"  motion: mean |m| {self.motion_mean_px:.3f} px, max {self.motion_max_px:.3f} px")
        for error in self.errors:
            lines.append(f"  ERROR {error}")
        return "\n".join(lines)


def validate_sequence(path: str | os.PathLike[str], *, max_errors: int = 20) -> SequenceReport:
    """Run every docs/format.md check over a sequence; problems are collected, not raised.

    Each frame file is read once: its raw channels feed the statistics, then the layers go
    through the reader's checks (:meth:`Sequence.check_layers`, what ``read_frame`` runs).

    Returns:
        A :class:`SequenceReport`; ``report.ok`` is False when any check failed and
        ``report.errors`` holds :class:`FormatError` s naming file, channel and problem.
    """
    report = SequenceReport(Path(path))
    try:
        sequence = Sequence(path, apply_pattern=False)
    except FormatError as exc:
        report.errors.append(exc)
        try:
            report.meta = read_meta(path)
        except FormatError:
            pass
        return report
    report.meta = sequence.meta
    motion_sum = 0.0
    motion_count = 0
    for index in range(sequence.frame_count):
        try:
            layers, raw = sequence.read_layers(index)
            for channel_name, pixels in raw.items():
                report.channels.setdefault(channel_name, ChannelStats()).update(pixels)
            sequence.check_layers(index, layers)
        except FormatError as exc:
            report.errors.append(exc)
            if len(report.errors) >= max_errors:
                break
            continue
        report.frames_checked += 1
        if not sequence.is_cut(index):
            magnitude = np.linalg.norm(layers["motion"], axis=-1)
            magnitude = magnitude[np.isfinite(magnitude)]
            motion_sum += float(magnitude.sum())
            motion_count += magnitude.size
            if magnitude.size:
                report.motion_max_px = max(report.motion_max_px, float(magnitude.max()))
    report.motion_mean_px = motion_sum / motion_count if motion_count else 0.0
    return report
