"""A half-precision copy of an SSR step graph, for GPU execution providers and TensorRT.

Precision lives in the graph itself (TensorRT 11 builds only strongly typed networks; on
TensorRT 10 the same graph is built with ``STRONGLY_TYPED``). What must stay float32 is
kept float32 by node, not by hope:

* the graph's inputs and outputs (``packed``, the stream state ``acc`` / ``prev_out``,
  ``color``): the state accumulates over frames and is carried in float32;
* the sampling grids of both GridSample layers and everything they are computed from
  (pixel coordinates up to 4K are not representable in half precision to a pixel);
* the GridSample layers themselves;
* ``exp`` of the log irradiance and everything after it (``e^15`` is far beyond
  65504, the largest half).

Everything else (the convolutions, activations, softmax of the TFA) runs in float16.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["FP32_OPS", "convert_to_fp16", "float32_nodes"]

FP32_OPS = ("GridSample", "Exp")
"""Op types always kept in float32 (with their grid ancestors / exp descendants)."""


def float32_nodes(graph: Any) -> set[str]:
    """Names of the nodes of ``graph`` (an ``onnx.GraphProto``) that must stay float32."""
    producers = {output: node for node in graph.node for output in node.output}
    consumers: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    keep: set[str] = set()

    def ancestors(tensor: str) -> None:
        node = producers.get(tensor)
        if node is None or node.name in keep:
            return
        keep.add(node.name)
        for name in node.input:
            ancestors(name)

    def descendants(node: Any) -> None:
        for output in node.output:
            for consumer in consumers.get(output, []):
                if consumer.name not in keep:
                    keep.add(consumer.name)
                    descendants(consumer)

    for node in graph.node:
        if node.op_type == "GridSample":
            keep.add(node.name)
            ancestors(node.input[1])  # the sampling grid
        elif node.op_type == "Exp":
            keep.add(node.name)
            for name in node.input:  # the clip in front of it
                producer = producers.get(name)
                if producer is not None and producer.op_type == "Clip":
                    keep.add(producer.name)
            descendants(node)
    return keep


def _sort_topologically(graph: Any) -> None:
    """Reorder ``graph.node`` so every node comes after the producers of its inputs (the
    converter appends the input casts it inserts at the end)."""
    available = {i.name for i in graph.input} | {t.name for t in graph.initializer} | {""}
    pending = list(graph.node)
    ordered = []
    while pending:
        ready = [n for n in pending if all(name in available for name in n.input)]
        if not ready:
            raise ValueError("fp16 conversion produced a graph with a cycle or a dangling input")
        for node in ready:
            ordered.append(node)
            available.update(node.output)
        ready_ids = {id(n) for n in ready}
        pending = [n for n in pending if id(n) not in ready_ids]
    copies = [type(n)() for n in ordered]
    for copy, node in zip(copies, ordered):
        copy.CopyFrom(node)
    del graph.node[:]
    graph.node.extend(copies)


def convert_to_fp16(onnx_path: str | os.PathLike[str], out_path: str | os.PathLike[str]) -> Path:
    """Write the half-precision copy of ``onnx_path`` to ``out_path`` (see the module
    docstring for what stays float32); the ``ssr.*`` metadata is kept, with
    ``ssr.precision = fp16``."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    from .onnx import write_metadata

    model = onnx.load(str(onnx_path))
    for index, node in enumerate(model.graph.node):
        if not node.name:
            node.name = f"{node.op_type}_{index}"
    keep = float32_nodes(model.graph)
    converted = convert_float_to_float16(model, keep_io_types=True, node_block_list=sorted(keep),
                                         disable_shape_infer=False)
    _sort_topologically(converted.graph)
    out = Path(out_path)
    onnx.save(converted, str(out))
    write_metadata(out, {"ssr.precision": "fp16"})
    onnx.checker.check_model(str(out))
    return out
