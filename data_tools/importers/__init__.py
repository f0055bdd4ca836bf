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

from pathlib import Path
from typing import Callable

from . import blender, custom, mitsuba, oidn, ssr_paper
from .camera import CONVENTIONS, CameraTrack, load_camera_sidecar
from .channel_map import ChannelMap, DepthSource, MotionSource, NormalSource, SequenceSettings, Source, load_channel_map
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


def discover(layout: str, src: str | Path, options: ImportOptions | None = None) -> list[SequenceJob]:
    """The sequences ``layout`` finds in ``src`` (nothing is written)."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r} (known: {', '.join(LAYOUTS)})")
    return LAYOUTS[layout](Path(src), options or ImportOptions())
