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
``weights`` is the dict of the stage weights by name
(:data:`ssr.runtime.stage_weights.STAGE_WEIGHT_NAMES`; they travel inside the ONNX file as metadata).
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from .contract import LEGACY_VIEW_FLOOR

__all__ = ["accumulate", "resolve"]

def accumulate(packed: np.ndarray, acc: np.ndarray | None, prev_out: np.ndarray | None, reset: bool,
               weights: Mapping[str, np.ndarray], kernel_size: int, acc_new: np.ndarray, guide: np.ndarray,
               prev: np.ndarray, down: np.ndarray, prev_half: np.ndarray, signal_half: np.ndarray,
               num_threads: int = 0, signal_planes: int = 4, view_floor: float = LEGACY_VIEW_FLOOR,
               history_cap: float = 0.0, history_valid: np.ndarray | None = None,
               frame_size: tuple[int, int] | None = None) -> None:
    """The pre-graph stage, in place (see the module docstring and ``ssr_stages.h``).
    ``signal_planes``: :data:`ssr.data_tools.contract.STAGE_SIGNAL_PLANES` of the model's
    signal (4, or 7 for ``signal="dual"``: ``signal_half`` then has 7 planes);
    ``view_floor``: the model's ``ModelConfig.view_floor`` (the A_mask floor of the log
    views; :data:`LEGACY_VIEW_FLOOR` for models saved before it existed); ``history_cap``: 0
    for the learned TFA history, the model's ``ModelConfig.history_cap`` for a
    ``history="rule"`` model, which also writes ``history_valid`` ``[1, H, W]`` (each pixel's
    valid reprojection weight; :func:`resolve` reads it); ``frame_size``: ``(h, w)`` of the
    frame inside planes padded beyond it (default: the planes' size): warp taps outside it
    read nothing and the border computes the replicated edge's values, as torch's
    replicate padding of the U-Net input."""
    from ssr import _native

    _native.stage_accumulate(packed, None if reset else acc, None if reset else prev_out, bool(reset), dict(weights),
                             int(kernel_size), acc_new, guide, prev, down, prev_half, signal_half, num_threads,
                             int(signal_planes), float(view_floor), float(history_cap), history_valid,
                             *(frame_size if frame_size is not None else (0, 0)))


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
