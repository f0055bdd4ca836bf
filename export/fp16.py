"""A half-precision copy of an SSR step graph, for GPU execution providers and TensorRT.

Precision lives in the graph itself (TensorRT 11 builds only strongly typed networks; on
TensorRT 10 the same graph is built with ``STRONGLY_TYPED``). What must stay float32 is
kept float32 by node, not by hope:

* the graph's inputs and outputs (``packed``, the stream state ``acc`` / ``prev_out``,
  ``color``): the state accumulates over frames and is carried in float32;
* the sampling grids of both GridSample layers and everything they are computed from
  (pixel coordinates up to 4K are not representable in half precision to a pixel);
* the GridSample layers themselves;
* ``exp`` of the log irradiance and everything after it up to the next ``Log`` or ``Clip``
  (``e^15`` is far beyond 65504, the largest half);
* for ``accumulation="linear"`` models (``ssr.model_config`` in the graph's metadata), the
  linear state ``acc`` / ``warped_acc`` and everything computed from it up to its clamped
  ``log1p`` views (``ssr.model.kernel.log_view``; linear irradiance exceeds the half range);
* every computation on pixel coordinates (descendants of ``Range``, up to a GridSample):
  the warp coverage of kernel-predicting models (``ssr.model.warp.warp_coverage``) subtracts
  coordinates of up to 4K pixels.

Everything else (the convolutions, activations, softmax of the TFA) runs in float16.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = ["FP32_OPS", "convert_to_fp16", "float32_nodes"]

FP32_OPS = ("GridSample", "Exp")
"""Op types always kept in float32 (with their grid ancestors / exp descendants)."""


def float32_nodes(graph: Any, linear_state: bool = False) -> set[str]:
    """Names of the nodes of ``graph`` (an ``onnx.GraphProto``) that must stay float32
    (``linear_state``: the graph's state holds linear irradiance)."""
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
        """Consumers of ``node``, transitively, up to and including ``Log`` and ``Clip``
        nodes (the log of a linear value, or a clamped one, is in half range again)."""
        for output in node.output:
            for consumer in consumers.get(output, []):
                if consumer.name not in keep:
                    keep.add(consumer.name)
                    if consumer.op_type not in ("Log", "Clip"):
                        descendants(consumer)

    def coordinate_descendants(node: Any) -> None:
        """Consumers of a ``Range``, transitively, up to a GridSample (exclusive; its grid
        input is kept by the GridSample rule) or a ``Clip`` (inclusive: clamped to [0, 1])."""
        for output in node.output:
            for consumer in consumers.get(output, []):
                if consumer.name not in keep and consumer.op_type != "GridSample":
                    keep.add(consumer.name)
                    if consumer.op_type != "Clip":
                        coordinate_descendants(consumer)

    def reset_select(node: Any) -> None:
        keep.add(node.name)
        if node.op_type == "Add":
            return
        for output in node.output:
            for consumer in consumers.get(output, []):
                if consumer.op_type in ("Mul", "Add") and consumer.name not in keep:
                    reset_select(consumer)

    # a native-stage trunk's `signal_half` is linear irradiance (HDR): always float32
    state_inputs = {"signal_half"} | ({"acc", "warped_acc"} if linear_state else set())
    if state_inputs:
        for node in graph.node:
            if state_inputs & set(node.input) and node.name not in keep:
                keep.add(node.name)
                descendants(node)
    for node in graph.node:
        if "reset" in node.input and node.op_type in ("Sub", "Mul"):
            # the exported reset select (ssr.model.network._select_reset):
            # history * (1 - reset) + fresh * reset blends the state, which may hold linear
            # irradiance: its Sub / Mul / Add chain stays float32
            reset_select(node)
        if node.op_type == "Range":
            keep.add(node.name)
            coordinate_descendants(node)
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


def _drop_half_round_trips(graph: Any, float32: set[str]) -> int:
    """Remove ``Cast(to=fp16) -> Cast(to=fp32)`` pairs between two float32 nodes.

    onnxruntime's converter casts the output of every blocked (float32) node to half and
    back for a blocked consumer, so a float32 chain still passes through half precision
    between its nodes (``exp(12)`` = 1.6e5 became inf). Consumers of the second cast are
    rewired to the first cast's float32 input (only where that input is a float32 graph
    input or the output of a node in ``float32``, so it really is float32). Returns the number of casts removed."""
    import onnx

    producers = {output: node for node in graph.node for output in node.output}
    graph_outputs = {o.name for o in graph.output}
    float_inputs = {i.name for i in graph.input if i.type.tensor_type.elem_type == onnx.TensorProto.FLOAT}

    def cast_to(node: Any) -> int | None:
        if node.op_type != "Cast":
            return None
        return next((a.i for a in node.attribute if a.name == "to"), None)

    rename: dict[str, str] = {}
    dropped: set[int] = set()
    for node in graph.node:
        if cast_to(node) != onnx.TensorProto.FLOAT:
            continue
        half = producers.get(node.input[0])
        if half is None or cast_to(half) != onnx.TensorProto.FLOAT16:
            continue
        source = producers.get(half.input[0])
        if source is None:
            if half.input[0] not in float_inputs:
                continue
        elif source.name not in float32 or source.op_type in ("Shape", "Range", "Greater"):
            continue  # not a float32 value round-tripping through half
        if node.output[0] in graph_outputs:
            node.input[0] = half.input[0]  # a float32 -> float32 Cast keeps the output's name
            continue
        rename[node.output[0]] = half.input[0]
        dropped.add(id(node))
    for node in graph.node:
        for index, name in enumerate(node.input):
            if name in rename:
                node.input[index] = rename[name]
    used = {name for node in graph.node if id(node) not in dropped for name in node.input} | graph_outputs
    for node in graph.node:  # half casts left without a consumer
        if cast_to(node) == onnx.TensorProto.FLOAT16 and node.output[0] not in used:
            dropped.add(id(node))
    kept = [n for n in graph.node if id(n) not in dropped]
    removed = len(graph.node) - len(kept)
    copies = [type(n)() for n in kept]
    for copy, node in zip(copies, kept):
        copy.CopyFrom(node)
    del graph.node[:]
    graph.node.extend(copies)
    return removed


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
    props = {p.key: p.value for p in model.metadata_props}
    config = json.loads(props.get("ssr.model_config", "{}"))
    keep = float32_nodes(model.graph, linear_state=config.get("accumulation") == "linear")
    converted = convert_float_to_float16(model, keep_io_types=True, node_block_list=sorted(keep),
                                         disable_shape_infer=False)
    _drop_half_round_trips(converted.graph, keep)
    _sort_topologically(converted.graph)
    out = Path(out_path)
    onnx.save(converted, str(out))
    write_metadata(out, {"ssr.precision": "fp16"})
    onnx.checker.check_model(str(out))
    return out
