"""Static INT8 quantisation of an SSR step graph for ONNX Runtime on CPUs, calibrated on
real frames.

Calibration streams ssr-seq sequences through the float32 graph (the same stream loop
as everything else), so the recorded activation ranges include the recurrent state as it
really evolves. The quantised graph uses ONNX Runtime's QOperator form (``QLinearConv``
and friends: on x86 with AVX512-VNNI/AVX-VNNI the u8s8 kernels) for the convolutions,
activations, pooling, resizing and concatenations; the sampling grids, both GridSample
layers and the ``exp`` tail stay float32 (:func:`ssr.export.fp16.float32_nodes`), as do
the graph's inputs and outputs. :func:`int8_quality_cost` measures what it costs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable

import numpy as np

__all__ = ["INT8_OPS", "int8_quality_cost", "quantize_int8"]

INT8_OPS = ("Conv", "Relu", "Concat", "AveragePool", "Resize", "Add", "Mul")
"""Op types quantised (measured on the small preset at 1024x2048: fastest set)."""


def _calibration_feeds(onnx_path: Path, sequences: Iterable[str | os.PathLike[str]], max_frames: int) -> list[dict]:
    """The graph inputs of up to ``max_frames`` frames of each sequence, streamed through the
    float32 graph by the stream loop (padding, native warps and state as at run time)."""
    from ssr.data_tools.format import Sequence
    from ssr.runtime.onnx_backend import OnnxBackend
    from ssr.streaming import StreamLoop

    backend = OnnxBackend(onnx_path, io_binding=False)
    backend.recorded_feeds = []
    for path in sequences:
        sequence = Sequence(path)
        loop = StreamLoop(backend)
        for index in range(min(max_frames, len(sequence))):
            loop.denoise(sequence.read_frame(index), cut=sequence.is_cut(index))
    if not backend.recorded_feeds:
        raise ValueError("INT8 calibration needs at least one frame (--calibration sequences)")
    return backend.recorded_feeds


def quantize_int8(
    onnx_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    calibration: Iterable[str | os.PathLike[str]],
    *,
    max_frames: int = 8,
) -> Path:
    """Write the INT8 graph of ``onnx_path`` (float32, from ``ssr export``) to ``out_path``,
    calibrated on up to ``max_frames`` frames of each calibration sequence (sizes must suit
    the graph: multiples of 4 for a dynamic one). The ``ssr.*`` metadata is kept with
    ``ssr.precision = int8``."""
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    from .fp16 import float32_nodes
    from .onnx import write_metadata

    source = Path(onnx_path)
    model = onnx.load(str(source))
    named = False
    for index, node in enumerate(model.graph.node):
        if not node.name:
            node.name, named = f"{node.op_type}_{index}", True
    if named:  # the quantiser excludes nodes by name
        source = Path(out_path).with_suffix(".named.onnx")
        onnx.save(model, str(source))
    feeds = _calibration_feeds(Path(onnx_path), calibration, max_frames)

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._items = iter(feeds)

        def get_next(self) -> dict | None:
            return next(self._items, None)

    out = Path(out_path)
    try:
        quantize_static(str(source), str(out), Reader(), quant_format=QuantFormat.QOperator,
                        op_types_to_quantize=list(INT8_OPS), nodes_to_exclude=sorted(float32_nodes(model.graph)),
                        per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    finally:
        if source != Path(onnx_path):
            source.unlink(missing_ok=True)
    write_metadata(out, {"ssr.precision": "int8"})
    return out


def int8_quality_cost(float_path: str | os.PathLike[str], int8_path: str | os.PathLike[str],
                      sequences: Iterable[str | os.PathLike[str]], max_frames: int | None = None) -> dict[str, Any]:
    """Stream sequences through both graphs: mean PSNR (tone-mapped, ``ssr.metrics``) of each
    against the reference, and of INT8 against float32."""
    from ssr.data_tools.format import Sequence
    from ssr.metrics import psnr, tonemap_srgb
    from ssr.runtime.onnx_backend import OnnxStream

    rows = {"float32_vs_reference": [], "int8_vs_reference": [], "int8_vs_float32": []}
    for path in sequences:
        sequence = Sequence(path)
        fp32, int8 = OnnxStream(float_path), OnnxStream(int8_path)
        for index in range(len(sequence) if max_frames is None else min(max_frames, len(sequence))):
            frame = sequence.read_frame(index)
            cut = sequence.is_cut(index)
            a, b = fp32.denoise(frame, cut=cut), int8.denoise(frame, cut=cut)
            ref = tonemap_srgb(sequence.read_frame(index, ["reference"])["reference"])
            rows["float32_vs_reference"].append(psnr(tonemap_srgb(a), ref))
            rows["int8_vs_reference"].append(psnr(tonemap_srgb(b), ref))
            rows["int8_vs_float32"].append(psnr(tonemap_srgb(b), tonemap_srgb(a)))
    return {key: float(np.mean(values)) for key, values in rows.items()} | {"frames": len(rows["int8_vs_float32"])}
