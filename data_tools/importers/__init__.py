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
from .channel_map import (
    ChannelMap,
    DepthSource,
    MapOverrides,
    MotionSource,
    NormalSource,
    RoughnessSource,
    SequenceSettings,
    Source,
    load_channel_map,
    read_map,
)
from ..format import FormatError
from .options import SIDECAR_NAME, ImportOptions
from .pipeline import ImportResult, SequenceJob, import_sequence

__all__ = [
    "CONVENTIONS",
    "LAYOUTS",
    "CameraTrack",
    "ChannelMap",
    "DepthSource",
    "ImportOptions",
    "ImportResult",
    "MapOverrides",
    "MotionSource",
    "NormalSource",
    "REFERENCE_FOLDER_NAMES",
    "RoughnessSource",
    "SequenceJob",
    "SequenceSettings",
    "Source",
    "discover",
    "import_sequence",
    "load_camera_sidecar",
    "load_channel_map",
    "read_map",
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
REFERENCE_FOLDER_NAMES = ("reference", "references", "ref", "gt", "ground_truth", "groundtruth", "converged")
"""Sub-folder names that hold the converged renders of a render folder (``noisy/`` +
``reference/``), never a sequence of their own."""


def discover(layout: str, src: str | Path, options: ImportOptions | None = None) -> list[SequenceJob]:
    """The sequences ``layout`` finds in ``src`` (nothing is written).

    For the one-folder-per-sequence layouts (``blender``, ``mitsuba``, ``custom``) ``src``
    may also be a folder of sequence folders: each sub-folder holding frames is one
    sequence (``--reference`` then names a folder of reference folders of the same names),
    or a *render folder* of one frame folder and a reference folder (``noisy/`` and
    ``reference/``, :data:`REFERENCE_FOLDER_NAMES`): one sequence with that reference.

    ``options.detect_motion = True`` measures the motion convention of every layout whose
    source has motion vectors, and is refused (a :class:`FormatError`) where it has none.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r} (known: {', '.join(LAYOUTS)})")
    root, chosen = Path(src), options or ImportOptions()
    try:
        jobs = LAYOUTS[layout](root, chosen)
    except FormatError as error:
        if layout not in _PER_FOLDER_LAYOUTS or not error.problem.startswith(_NO_FRAMES) or not root.is_dir():
            raise
        folders = [d for d in sorted(root.iterdir()) if d.is_dir() and (layout == "custom" or any(d.glob("*.exr")))]
        if not folders:
            raise
        jobs = _render_folder(layout, root, folders, chosen)
        if jobs is None:
            jobs = _folder_of_sequences(layout, root, folders, chosen)
    return [_with_motion_detection(job, chosen, layout) for job in jobs]


def _render_folder(layout: str, root: Path, folders: list[Path], options: ImportOptions) -> list[SequenceJob] | None:
    """``root/noisy/`` + ``root/reference/`` (any of :data:`REFERENCE_FOLDER_NAMES`): one
    sequence with its reference; None when no sub-folder is a reference folder."""
    references = [d for d in folders if d.name.lower() in REFERENCE_FOLDER_NAMES]
    if not references or layout == "custom":
        return None
    shots = [d for d in folders if d not in references]
    names = ", ".join(f"{d.name}/" for d in folders)
    if len(references) > 1 or len(shots) != 1:
        raise FormatError(root, None, f"holds {names}: a render folder has one frame folder and one reference "
                          f"folder; pass the frame folder as SRC and the reference with --reference, e.g. "
                          f"ssr import --from {layout} {shots[0] if shots else root / 'noisy'} --out DST --reference "
                          f"{references[0]}")
    reference = options.reference if options.reference is not None else references[0]
    camera = options.camera
    if camera is None and not (shots[0] / SIDECAR_NAME).is_file() and (root / SIDECAR_NAME).is_file():
        camera = root / SIDECAR_NAME  # SRC/camera.json, as for a one-sequence SRC
    jobs = LAYOUTS[layout](shots[0], replace(options, reference=reference, camera=camera))
    for job in jobs:
        job.notes.insert(0, f"{root} holds {names}: imported {shots[0].name}/ with {reference} as its reference")
    return jobs


def _folder_of_sequences(layout: str, root: Path, folders: list[Path], options: ImportOptions) -> list[SequenceJob]:
    if options.camera is not None and len(folders) > 1:
        raise FormatError(root, None, f"{len(folders)} sequence folders but one --camera sidecar: put a "
                          "camera.json into each sequence folder instead")
    jobs: list[SequenceJob] = []
    for folder in folders:
        reference = options.reference / folder.name if options.reference is not None else None
        jobs += LAYOUTS[layout](folder, replace(options, reference=reference, camera_in_parent=False))
    return jobs


def _with_motion_detection(job: SequenceJob, options: ImportOptions, layout: str) -> SequenceJob:
    """``--detect-motion`` / ``--no-detect-motion`` applied to a layout's job."""
    if options.detect_motion is None:
        return job
    if options.detect_motion and "motion" not in job.channel_map.sources:
        raise FormatError(job.source or job.name, None,
                          f"--detect-motion: the {layout} source has no motion vectors to measure (the motion comes "
                          "from the camera sidecar by reprojection, or every frame is a cut); leave the flag out")
    return replace(job, detect_motion=bool(options.detect_motion))
