"""``ssr import``: other tools' frame dumps -> ssr-seq v1 (import as ``ssr.data_tools.importers``).

One :class:`~.channel_map.ChannelMap` per layout says where each ssr-seq layer comes from
and how it converts; :func:`~.pipeline.import_sequence` reads, converts, writes and
validates. Layouts (``docs/import.md`` has one table each):

* ``blender`` - Blender Cycles multilayer EXR per frame (:mod:`.blender`);
* ``mitsuba`` - Mitsuba 3 ``aov`` integrator output (:mod:`.mitsuba`);
* ``ssr-paper`` - the SSR paper's dataset folders (:mod:`.ssr_paper`);
* ``oidn`` - Intel OIDN's training images (:mod:`.oidn`);
* ``custom`` - a TOML channel map for any engine's dump (:mod:`.custom`).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Callable

from . import blender, custom, mitsuba, oidn, ssr_paper
from .camera import CONVENTIONS, CameraTrack, load_camera_sidecar
from .channel_map import ChannelMap, DepthSource, MotionSource, NormalSource, SequenceSettings, Source, load_channel_map
from ..format import FormatError
from .options import ImportOptions
from .pipeline import ImportResult, SequenceJob, import_sequence

__all__ = [
    "CONVENTIONS",
    "LAYOUTS",
    "CameraTrack",
    "ChannelMap",
    "DepthSource",
    "ImportOptions",
    "ImportResult",
    "MotionSource",
    "NormalSource",
    "SequenceJob",
    "SequenceSettings",
    "Source",
    "discover",
    "import_sequence",
    "load_camera_sidecar",
    "load_channel_map",
]

LAYOUTS: dict[str, Callable[[Path, ImportOptions], list[SequenceJob]]] = {
    "blender": blender.discover,
    "mitsuba": mitsuba.discover,
    "ssr-paper": ssr_paper.discover,
    "oidn": oidn.discover,
    "custom": custom.discover,
}
"""Layout name -> function finding the sequences of a source folder."""


_PER_FOLDER_LAYOUTS = ("blender", "mitsuba", "custom")
_NO_FRAMES = ("no *.exr frame files found", "no file matches")


def discover(layout: str, src: str | Path, options: ImportOptions | None = None) -> list[SequenceJob]:
    """The sequences ``layout`` finds in ``src`` (nothing is written).

    For the one-folder-per-sequence layouts (``blender``, ``mitsuba``, ``custom``) ``src``
    may also be a folder of sequence folders: each sub-folder holding frames is one
    sequence (``--reference`` then names a folder of reference folders of the same names).
    """
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r} (known: {', '.join(LAYOUTS)})")
    root, chosen = Path(src), options or ImportOptions()
    try:
        return LAYOUTS[layout](root, chosen)
    except FormatError as error:
        if layout not in _PER_FOLDER_LAYOUTS or not error.problem.startswith(_NO_FRAMES) or not root.is_dir():
            raise
        folders = [d for d in sorted(root.iterdir()) if d.is_dir() and (layout == "custom" or any(d.glob("*.exr")))]
        if not folders:
            raise
        if chosen.camera is not None and len(folders) > 1:
            raise FormatError(root, None, f"{len(folders)} sequence folders but one --camera sidecar: put a "
                              "camera.json into each sequence folder instead") from None
        jobs: list[SequenceJob] = []
        for folder in folders:
            reference = chosen.reference / folder.name if chosen.reference is not None else None
            jobs += LAYOUTS[layout](folder, replace(chosen, reference=reference))
        return jobs
