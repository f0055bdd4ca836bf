"""Training: data sampling, the unrolled training loop, checkpoints, distributed set-up.

``ssr train`` is :mod:`ssr.train.cli`; the loop is :func:`ssr.train.loop.train`.
"""

from .config import TrainConfig
from .data import ClipBatch, ClipSampler, PackedSequence, find_sequences, load_packed_sequence, load_sequences
from .loop import ClipUnroller, TrainResult, train, validate

__all__ = [
    "ClipBatch",
    "ClipSampler",
    "ClipUnroller",
    "PackedSequence",
    "TrainConfig",
    "TrainResult",
    "find_sequences",
    "load_packed_sequence",
    "load_sequences",
    "train",
    "validate",
]
