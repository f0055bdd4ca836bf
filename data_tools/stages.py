"""The native per-pixel stages of a fast-layout model (``runtime/include/ssr_stages.h``).

A graph exported with ``ssr export --pixel-stages native`` holds only the U-Net
(:mod:`ssr.model.pixel_stages`); a runtime runs, per frame::

    accumulate(packed, acc, prev_out, reset, tfa, acc_new, features, signal_half)  # before
    <graph: (features, signal_half) -> (head, carry)>
    resolve(head, kernel_size, carry, acc_new, features, packed, reset, out_log, color)  # after

All arrays are ``float32`` planar ``[C, H, W]`` (a leading batch axis of 1 is accepted)
at the padded frame size (H, W even; the graph wants multiples of 4), except ``color``,
the cropped interleaved ``[h, w, 3]`` output. ``acc`` / ``prev_out`` are the committed
state, *unwarped* (the stage warps it); ``acc_new`` / ``out_log`` the new one. The TFA's
weights travel inside the ONNX file as metadata (:func:`encode_tfa_weights`).
"""

from __future__ import annotations

import base64
import json
from typing import Mapping

import numpy as np

__all__ = ["TFA_WEIGHT_NAMES", "accumulate", "decode_tfa_weights", "encode_tfa_weights", "resolve"]

TFA_WEIGHT_NAMES = ("ref_w1", "ref_b1", "ref_w2", "ref_b2", "emb_w1", "emb_b1", "emb_w2", "emb_b2")
"""The TFA's 1x1 conv weights and biases, in the native stage's argument order."""


def encode_tfa_weights(arrays: Mapping[str, np.ndarray]) -> str:
    """A JSON text (``{name: {"shape", "float32_le_base64"}}``) of the TFA weights, for the
    graph's ``ssr.tfa_weights`` metadata entry."""
    entries = {}
    for name in TFA_WEIGHT_NAMES:
        array = np.ascontiguousarray(arrays[name], dtype="<f4")
        entries[name] = {"shape": list(array.shape), "float32_le_base64": base64.b64encode(array.tobytes()).decode()}
    return json.dumps(entries, sort_keys=True)


def decode_tfa_weights(text: str, source: str = "graph") -> dict[str, np.ndarray]:
    """Inverse of :func:`encode_tfa_weights`.

    Raises:
        ValueError: naming ``source`` and the entry, when the text is not such a record.
    """
    try:
        entries = json.loads(text)
        arrays = {}
        for name in TFA_WEIGHT_NAMES:
            entry = entries[name]
            data = np.frombuffer(base64.b64decode(entry["float32_le_base64"]), dtype="<f4")
            arrays[name] = np.ascontiguousarray(data.reshape(entry["shape"]), dtype=np.float32)
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{source}: metadata 'ssr.tfa_weights' is not a TFA weight record ({error})") from error
    for name, array in arrays.items():
        if not np.isfinite(array).all():
            raise ValueError(f"{source}: TFA weight '{name}' has NaN/Inf values")
    return arrays


def accumulate(packed: np.ndarray, acc: np.ndarray | None, prev_out: np.ndarray | None, reset: bool,
               tfa: Mapping[str, np.ndarray], acc_new: np.ndarray, features: np.ndarray, signal_half: np.ndarray,
               num_threads: int = 0) -> None:
    """The pre-graph stage, in place (see the module docstring and ``ssr_stages.h``)."""
    from ssr import _native

    _native.stage_accumulate(packed, None if reset else acc, None if reset else prev_out, bool(reset),
                             *(tfa[name] for name in TFA_WEIGHT_NAMES), acc_new, features, signal_half, num_threads)


def resolve(head: np.ndarray, kernel_size: int, carry: np.ndarray, acc_new: np.ndarray, features: np.ndarray,
            packed: np.ndarray, reset: bool, out_log: np.ndarray, color: np.ndarray, num_threads: int = 0) -> None:
    """The post-graph stage, in place: ``out_log`` (state) and the cropped ``color`` ``[h, w, 3]``."""
    from ssr import _native

    _native.stage_resolve(head, int(kernel_size), carry, acc_new, features, packed, bool(reset), out_log, color,
                          num_threads)
