"""Data tools (import as ``ssr.data_tools``): the ssr-seq v1 format, the subpixel pattern,
input packing, checking/previewing, and the Mitsuba 3 dataset renderer.

Knows nothing of networks and never imports torch.
"""

from .format import (
    LAYERS,
    PATTERN,
    FormatError,
    Sequence,
    SequenceReport,
    list_sequences,
    make_meta,
    read_meta,
    subpixel_mask,
    validate_sequence,
    write_frame,
    write_meta,
)
from .pack import PACKED_CHANNELS, SLICES, pack_frame, pack_frame_reference

__all__ = [
    "LAYERS",
    "PACKED_CHANNELS",
    "PATTERN",
    "SLICES",
    "FormatError",
    "Sequence",
    "SequenceReport",
    "list_sequences",
    "make_meta",
    "pack_frame",
    "pack_frame_reference",
    "read_meta",
    "subpixel_mask",
    "validate_sequence",
    "write_frame",
    "write_meta",
]
