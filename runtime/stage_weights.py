"""The native stages' weights as they travel inside an exported graph.

``ssr export --pixel-stages native`` writes the weights of the full-resolution layers (the
TFA's nets, the U-Net's guide, its stride-2 conv, the full-resolution decoder conv and head)
into the ONNX file's ``ssr.stage_weights`` metadata entry; :class:`ssr.runtime.onnx_backend.OnnxBackend`
reads them back and hands them to the fused C++ stages (:mod:`ssr.data_tools.stages`,
``runtime/include/ssr_stages.h``, whose ``ssr_stage_weights`` struct names the same arrays).
:func:`ssr.model.pixel_stages.stage_weight_arrays` takes them from a trained network.
No torch here: a runtime that only runs graphs does not need it.
"""

from __future__ import annotations

import base64
import json
from typing import Mapping

import numpy as np

__all__ = ["STAGE_WEIGHT_NAMES", "decode_stage_weights", "encode_stage_weights", "widths"]

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
