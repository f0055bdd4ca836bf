"""ssr-seq v1: the on-disk frame-sequence format (read, write, validate).

A sequence is a folder with ``meta.json`` and ``frame_%05d.exr`` files (written as scanline ZIP EXR; read from any flat EXR, see :mod:`.exr`).
In memory a frame is a ``dict`` of layers, each ``float32 [H, W, C]`` (row-major, y down):

=========================================================== ===  ============
layer                                                       C    EXR channels
=========================================================== ===  ============
color, albedo, reference, reference_albedo, transparent     3    R, G, B
normal                                                      3    X, Y, Z
motion                                                      2    X, Y
depth                                                       1    Z
roughness, metallic, shadow, mask                           1    Y
=========================================================== ===  ============

Every problem found on read is a :class:`FormatError` naming the file, the channel and
the problem. See ``docs/format.md`` for the format in full.

This module is the format's one import point; the code lives in one module per job:

==================== ==============================================================
:mod:`.errors`       :class:`FormatError`
:mod:`.spec`         the layer table, frame file names, the subpixel pattern
:mod:`.meta`         ``meta.json``: make, check, write, read
:mod:`.writer`       :func:`write_frame`, :func:`write_sequence`
:mod:`.reader`       :func:`read_exr_layers`, :class:`Sequence`
:mod:`.frame_checks` the value checks every frame path shares (NaN/Inf, negative
                     colour, normal length), also for compact copies and the engine
:mod:`.listing`      :func:`list_sequences`, :func:`drop_incomplete`
:mod:`.validation`   :func:`validate_sequence` (``ssr check``)
==================== ==============================================================

>>> frame_filename(7), LAYERS["depth"].suffixes, subpixel_mask(2, 2, 2).tolist()
('frame_00007.exr', ('Z',), [[0.0, 1.0], [0.0, 0.0]])
"""

from __future__ import annotations

from .errors import FormatError
from .listing import drop_incomplete, list_sequences, sequence_complete
from .meta import REQUIRED_META_KEYS, SAMPLING_MODES, make_meta, read_json_object, read_meta, write_meta
from .frame_checks import NORMAL_TOLERANCE
from .reader import Sequence, SequenceMeta, read_exr_layers
from .spec import (
    FORMAT_NAME,
    FORMAT_VERSION,
    HALF_MAX,
    LAYERS,
    PATTERN,
    LayerSpec,
    apply_subpixel_pattern,
    frame_filename,
    subpixel_mask,
)
from .validation import ChannelStats, SequenceReport, validate_sequence
from .writer import write_frame, write_sequence

__all__ = [
    "FORMAT_NAME",
    "apply_subpixel_pattern",
    "FORMAT_VERSION",
    "LAYERS",
    "PATTERN",
    "FormatError",
    "LayerSpec",
    "Sequence",
    "SequenceMeta",
    "SequenceReport",
    "drop_incomplete",
    "frame_filename",
    "list_sequences",
    "make_meta",
    "read_exr_layers",
    "read_json_object",
    "read_meta",
    "sequence_complete",
    "subpixel_mask",
    "validate_sequence",
    "write_frame",
    "write_meta",
    "write_sequence",
]
# also importable from here, as before the split: ChannelStats, HALF_MAX, NORMAL_TOLERANCE,
# REQUIRED_META_KEYS, SAMPLING_MODES
