"""Find the sequences of a dataset folder, and leave out the ones still being written."""

from __future__ import annotations

import json
import os
from pathlib import Path

from .errors import FormatError
from .spec import frame_filename

__all__ = ["drop_incomplete", "list_sequences", "sequence_complete"]


def sequence_complete(path: str | os.PathLike[str]) -> bool:
    """False when a sequence's ``meta.json`` announces frames whose files are not written
    yet (a dataset still rendering); True otherwise, also when meta.json is unreadable (the
    reader reports that properly)."""
    folder = Path(path)
    try:
        count = int(json.loads((folder / "meta.json").read_text())["frame_count"])
    except (OSError, ValueError, KeyError, TypeError):
        return True
    return all((folder / frame_filename(index)).is_file() for index in range(count))


def drop_incomplete(paths: list[Path]) -> list[Path]:
    """``paths`` without the sequences still being written (:func:`sequence_complete`),
    printing the names it leaves out (``--skip-incomplete`` of every command)."""
    incomplete = [p for p in paths if not sequence_complete(p)]
    if incomplete:
        print(f"skipping {len(incomplete)} sequence(s) still being written: "
              f"{', '.join(p.name for p in incomplete)}", flush=True)
    return [p for p in paths if p not in incomplete]


def list_sequences(dataset_dir: str | os.PathLike[str]) -> list[Path]:
    """Sequence folders under ``dataset_dir`` (itself, or any depth below, following
    symbolic links so datasets can be assembled from links), sorted."""
    root = Path(dataset_dir)
    if (root / "meta.json").is_file():
        return [root]
    if not root.is_dir():
        raise FormatError(root, None, "not a directory")
    found = [Path(folder) for folder, _dirs, files in os.walk(root, followlinks=True) if "meta.json" in files]
    return sorted(found)
