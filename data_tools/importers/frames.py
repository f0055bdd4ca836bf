"""Finding numbered frame files, and the cuts their numbering implies."""

from __future__ import annotations

import re
from pathlib import Path

from ..format import FormatError

__all__ = ["cuts_from_numbers", "numbered_files", "pattern_regex"]

_LAST_NUMBER = re.compile(r"(\d+)(?!.*\d)")


def numbered_files(folder: Path, suffix: str = ".exr", *, exclude: tuple[str, ...] = ()) -> list[tuple[int, Path]]:
    """``(number, path)`` of the files in ``folder`` ending in ``suffix``, numbered by the
    last integer in their name, sorted by number.

    Raises:
        FormatError: the folder does not exist, holds no such file, a file has no number,
            or two files share a number.
    """
    if not folder.is_dir():
        raise FormatError(folder, None, "source folder not found")
    found: dict[int, Path] = {}
    for path in sorted(folder.iterdir()):
        name = path.name
        if not path.is_file() or not name.endswith(suffix) or name.startswith(".") or any(e in name for e in exclude):
            continue
        match = _LAST_NUMBER.search(name[: -len(suffix)])
        if match is None:
            raise FormatError(path, None, "frame file name has no frame number")
        number = int(match.group(1))
        if number in found:
            raise FormatError(path, None, f"frame number {number} is also used by {found[number].name}")
        found[number] = path
    if not found:
        raise FormatError(folder, None, f"no *{suffix} frame files found")
    return sorted(found.items())


def cuts_from_numbers(numbers: list[int]) -> set[int]:
    """Indices where the frame numbering jumps (history across a gap is not trusted).

    >>> sorted(cuts_from_numbers([1, 2, 3, 7, 8]))
    [3]
    """
    return {index for index in range(1, len(numbers)) if numbers[index] != numbers[index - 1] + 1}


def pattern_regex(pattern: str) -> tuple[re.Pattern[str], str]:
    """A regex matching file paths of ``pattern`` (``{frame}`` / ``{frame:04d}``), capturing
    the frame number, and the glob that lists candidates.

    >>> regex, glob = pattern_regex("beauty/f.{frame:04d}.exr")
    >>> bool(regex.fullmatch("beauty/f.0012.exr")), glob
    (True, 'beauty/f.*.exr')
    """
    placeholder = re.compile(r"\{frame(?::[^}]*)?\}")
    if len(placeholder.findall(pattern)) != 1:
        raise ValueError(f"file pattern {pattern!r} must hold {{frame}} exactly once")
    before, after = placeholder.split(pattern)
    return re.compile(re.escape(before) + r"(\d+)" + re.escape(after)), before + "*" + after
