"""The error every ssr-seq reader and writer raises: :class:`FormatError`.

Its own module so that the low-level readers (:mod:`.exr`) and the format modules built on
them can all raise it while the dependency points one way (everything imports this, this
imports nothing of the package).
"""

from __future__ import annotations

import os

__all__ = ["FormatError"]


class FormatError(ValueError):
    """Invalid ssr-seq data. ``str()`` names the file, the channel and the problem."""

    def __init__(self, file: str | os.PathLike[str], channel: str | None, problem: str) -> None:
        self.file = str(file)
        self.channel = channel
        self.problem = problem
        where = f"{self.file}" + (f" [channel {channel}]" if channel else "")
        super().__init__(f"{where}: {problem}")
