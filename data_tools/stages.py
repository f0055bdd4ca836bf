"""The native full-resolution stages of a fast-layout model (``runtime/include/ssr_stages.h``).

A graph exported with ``ssr export --pixel-stages native`` holds only the U-Net's half- and
quarter-resolution part (:mod:`ssr.model.pixel_stages`); a runtime runs, per frame::

    accumulate(packed, acc, prev_out, reset, weights, k, acc_new, guide, prev, down, prev_half, signal_half)
    <graph: (down, prev_half, signal_half) -> (coarse, carry)>
    resolve(coarse, carry, guide, prev, acc_new, packed, reset, weights, k, out_log, color)

(each with ``signal_planes=7`` for a ``signal="dual"`` model: ``signal_half`` and ``carry``
then also carry the radiance numerator).

All arrays are ``float32`` planar ``[C, H, W]`` (a leading batch axis of 1 is accepted) at
the padded frame size (H, W even; the graph wants multiples of 4) or half of it, except
``color``, the cropped interleaved ``[h, w, 3]`` output. ``acc`` / ``prev_out`` are the
committed state, *unwarped* (the stage warps it); ``acc_new`` / ``out_log`` the new one.
The stage weights travel inside the ONNX file as metadata (:func:`encode_stage_weights`).
"""

from __future__ import annotations

import base64
import json
from typing import Mapping

import numpy as np

from .contract import LEGACY_VIEW_FLOOR

__all__ = ["STAGE_WEIGHT_NAMES", "accumulate", "decode_stage_weights", "encode_stage_weights", "resolve"]

STAGE_WEIGHT_NAMES = ("ref_w1", "ref_b1", "ref_w2", "ref_b2", "emb_w1", "emb_b1", "emb_w2", "emb_b2",
                      "enc0_w", "enc0_b", "down1_w", "down1_b", "dec0_w", "dec0_b", "head_w", "head_b")
"""The weights of the full-resolution layers in PyTorch layouts (``ssr_stages.h``): the TFA's
reference and embedding nets (1x1), the U-Net's guide (1x1), its 2x2 stride-2 conv, the
full-resolution decoder conv (3x3) and head (1x1)."""


def encode_stage_weights(arrays: Mapping[str, np.ndarray]) -> str:
    """A JSON text (``{name: {"shape", "float32_le_base64"}}``) of the stage weights, for the
    graph's ``ssr.stage_weights`` metadata entry."""
    entries = {}
    for name in STAGE_WEIGHT_NAMES:
        array = np.ascontiguousarray(arrays[name], dtype="<f4")
        entries[name] = {"shape": list(array.shape), "float32_le_base64": base64.b64encode(array.tobytes()).decode()}
    return json.dumps(entries, sort_keys=True)


def decode_stage_weights(text: str, source: str = "graph") -> dict[str, np.ndarray]:
    """Inverse of :func:`encode_stage_weights`.

    Raises:
        ValueError: naming ``source`` and the entry, when the text is not such a record.
    """
    try:
        entries = json.loads(text)
        arrays = {}
        for name in STAGE_WEIGHT_NAMES:
            entry = entries[name]
            data = np.frombuffer(base64.b64decode(entry["float32_le_base64"]), dtype="<f4")
            arrays[name] = np.ascontiguousarray(data.reshape(entry["shape"]), dtype=np.float32)
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{source}: metadata 'ssr.stage_weights' is not a stage weight record ({error})") from error
    for name, array in arrays.items():
        if not np.isfinite(array).all():
            raise ValueError(f"{source}: stage weight '{name}' has NaN/Inf values")
    return arrays


def widths(weights: Mapping[str, np.ndarray]) -> tuple[int, int]:
    """``(c0, c1)``: the planes of ``guide`` and ``down``."""
    return int(weights["enc0_w"].shape[0]), int(weights["down1_w"].shape[0])


def accumulate(packed: np.ndarray, acc: np.ndarray | None, prev_out: np.ndarray | None, reset: bool,
               weights: Mapping[str, np.ndarray], kernel_size: int, acc_new: np.ndarray, guide: np.ndarray,
               prev: np.ndarray, down: np.ndarray, prev_half: np.ndarray, signal_half: np.ndarray,
               num_threads: int = 0, signal_planes: int = 4, view_floor: float = LEGACY_VIEW_FLOOR,
               history_cap: float = 0.0, history_valid: np.ndarray | None = None) -> None:
    """The pre-graph stage, in place (see the module docstring and ``ssr_stages.h``).
    ``signal_planes``: :data:`ssr.data_tools.contract.STAGE_SIGNAL_PLANES` of the model's
    signal (4, or 7 for ``signal="dual"``: ``signal_half`` then has 7 planes);
    ``view_floor``: the model's ``ModelConfig.view_floor`` (the A_mask floor of the log
    views; :data:`LEGACY_VIEW_FLOOR` for models saved before it existed); ``history_cap``: 0
    for the learned TFA history, the model's ``ModelConfig.history_cap`` for a
    ``history="rule"`` model, which also writes ``history_valid`` ``[1, H, W]`` (each pixel's
    valid reprojection weight; :func:`resolve` reads it)."""
    from ssr import _native

    _native.stage_accumulate(packed, None if reset else acc, None if reset else prev_out, bool(reset), dict(weights),
                             int(kernel_size), acc_new, guide, prev, down, prev_half, signal_half, num_threads,
                             int(signal_planes), float(view_floor), float(history_cap), history_valid)


def resolve(coarse: np.ndarray, carry: np.ndarray, guide: np.ndarray, prev: np.ndarray, acc_new: np.ndarray,
            packed: np.ndarray, reset: bool, weights: Mapping[str, np.ndarray], kernel_size: int,
            out_log: np.ndarray, color: np.ndarray, num_threads: int = 0, signal_planes: int = 4,
            history_valid: np.ndarray | None = None) -> None:
    """The post-graph stage, in place: ``out_log`` (state) and the cropped ``color`` ``[h, w, 3]``
    (``signal_planes`` as :func:`accumulate`; ``carry`` has that many planes; a
    ``history="rule"`` model passes :func:`accumulate`'s ``history_valid``)."""
    from ssr import _native

    _native.stage_resolve(coarse, carry, guide, prev, acc_new, packed, bool(reset), dict(weights), int(kernel_size),
                          out_log, color, num_threads, int(signal_planes), history_valid)
