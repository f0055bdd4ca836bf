"""Any engine's dump, described by a TOML channel map (``--map``, see ``docs/import.md``).

The map's ``[files]`` patterns (relative to ``SRC``) name each file of a frame with a
``{frame}`` placeholder; the frames are the numbers for which the ``main`` file (or the
first key) exists, sorted; a gap in the numbering is a cut. Each layer table names its
file key, its channels and its conversions (:mod:`.channel_map`).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ..format import FormatError
from .channel_map import MapOverrides
from .frames import cuts_from_numbers, pattern_regex
from .options import ImportOptions, apply_overrides, camera_for
from .pipeline import SequenceJob

__all__ = ["discover"]


def discover(src: Path, options: ImportOptions) -> list[SequenceJob]:
    if options.overrides is None:
        raise FormatError(src, None, "--from custom needs a channel map: --map map.toml")
    overrides = options.overrides
    cmap = overrides.channel_map() if isinstance(overrides, MapOverrides) else overrides
    if not src.is_dir():
        raise FormatError(src, None, "source folder not found")
    key = "main" if "main" in cmap.files else sorted(cmap.files)[0]
    regex, glob = pattern_regex(cmap.files[key])
    numbers = sorted(
        int(match.group(1))
        for path in src.glob(glob)
        if (match := regex.fullmatch(path.relative_to(src).as_posix())) is not None
    )
    if not numbers:
        raise FormatError(src, None, f"no file matches [files] {key} = {cmap.files[key]!r}")
    frames = [{k: src / pattern.format(frame=number) for k, pattern in cmap.files.items()} for number in numbers]
    camera = camera_for(replace(options, overrides=cmap), src, len(frames))
    final = apply_overrides(cmap, replace(options, overrides=None), "custom")
    detect = bool(options.detect_motion)
    return [SequenceJob(src.name, frames, final, camera, cuts_from_numbers(numbers), "custom", str(src),
                        [], detect_motion=detect)]
