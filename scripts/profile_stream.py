"""Where the time of the streaming path goes (the profile quoted in docs/benchmarks-history.md).

    .venv/bin/python scripts/profile_stream.py GRAPH.onnx [--height 1024 --width 2048]

Prints, for one ONNX graph from ``ssr export``: the host-side stages of the full path on a
synthetic renderer frame (``check_frame``, native packing, the native warp of the state
when the graph takes it pre-warped, native unpacking; for ``--pixel-stages native`` graphs
the fused native stages before and after the graph instead) as the best of 3, the full
``StreamLoop.denoise`` median of 3, and ONNX Runtime's per-operator profile of the graph
(kernel time summed per op type over 2 runs, as ms per run and share of the graph).
"""

from __future__ import annotations

import argparse
import collections
import json
import tempfile
import time
from pathlib import Path

import numpy as np


def best_ms(run, repeat: int = 3) -> float:
    run()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    return 1e3 * min(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("graph", type=Path)
    parser.add_argument("--height", type=int, default=1024)
    parser.add_argument("--width", type=int, default=2048)
    parser.add_argument("--nodes", type=int, default=0, help="also list the N slowest graph nodes")
    parser.add_argument("--graph-only", action="store_true", help="skip the host stages and the full stream")
    args = parser.parse_args()

    from ssr.data_tools.format import apply_subpixel_pattern
    from ssr.data_tools.pack import pack_frame
    from ssr.data_tools.synthetic import synthetic_frame
    from ssr.streaming import check_frame

    height, width = args.height, args.width
    frames = [apply_subpixel_pattern({k: v for k, v in synthetic_frame(i, height, width).items()
                                      if not k.startswith("reference")}, i) for i in range(3)]
    checked = check_frame(frames[1])
    packed = pack_frame(checked)
    print(f"{args.graph.name} at {width}x{height}")
    if not args.graph_only:
        host_stages(args.graph, frames, checked, packed, height, width)
    profile_graph(args.graph, height, width, args.nodes)


def host_stages(graph, frames, checked, packed, height, width) -> None:
    from ssr.data_tools.pack import pack_frame, unpack_color
    from ssr.data_tools.warp import warp_planes
    from ssr.runtime.onnx_backend import OnnxStream
    from ssr.streaming import check_frame

    print(f"  check_frame      {best_ms(lambda: check_frame(frames[1])):8.1f} ms")
    print(f"  pack_frame       {best_ms(lambda: pack_frame(checked)):8.1f} ms")
    stream = OnnxStream(graph)
    backend = stream.backend
    if backend.native_stages:
        from ssr.data_tools import stages

        weights, kernel, planes = backend.stage_weights, backend.kernel_size, backend.signal_planes
        buffers = backend._native_buffers(height, width)
        acc = np.random.rand(1, 14, height, width).astype(np.float32)
        prev = np.random.rand(1, 3, height, width).astype(np.float32)
        acc_new, out_log = np.zeros_like(acc), np.zeros_like(prev)
        color = np.zeros((height, width, 3), np.float32)
        b = buffers
        print(f"  accumulate stage {best_ms(lambda: stages.accumulate(packed[None], acc, prev, False, weights, kernel, acc_new, b['guide'], b['prev'], b['down'], b['prev_half'], b['signal_half'], signal_planes=planes, view_floor=backend.view_floor)):8.1f} ms")
        print(f"  resolve stage    {best_ms(lambda: stages.resolve(b['coarse'], b['carry'], b['guide'], b['prev'], acc_new, packed[None], False, weights, kernel, out_log, color, signal_planes=planes)):8.1f} ms")
    elif backend.warp_outside:
        acc = np.random.rand(1, 14, height, width).astype(np.float32)
        prev = np.random.rand(1, 3, height, width).astype(np.float32)
        motion = packed[17:19]
        print(f"  warp (17 planes) {best_ms(lambda: (warp_planes(acc, motion[0], motion[1]), warp_planes(prev, motion[0], motion[1]))):8.1f} ms")
    if not backend.native_stages:
        color = np.random.rand(1, 3, height, width).astype(np.float32)
        print(f"  unpack_color     {best_ms(lambda: unpack_color(color, height, width)):8.1f} ms")
    stream.denoise(frames[0], cut=True)
    samples = []
    for index in range(3):
        start = time.perf_counter()
        stream.denoise(frames[index % 3])
        samples.append(time.perf_counter() - start)
    print(f"  full stream      {1e3 * sorted(samples)[1]:8.1f} ms (median of 3)")


def profile_graph(graph, height: int, width: int, nodes: int) -> None:
    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as folder:
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.enable_profiling = True
        options.profile_file_prefix = str(Path(folder) / "profile")
        session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        feeds = {}
        for node in session.get_inputs():
            channels = node.shape[1]
            half = node.name in ("down", "prev_half", "signal_half")
            shape = (1, 1, 1, 1) if node.name == "reset" else (1, channels, height // (1 + half), width // (1 + half))
            feeds[node.name] = np.random.rand(*shape).astype(np.float32) * (0 if node.name == "reset" else 1)
        session.run(None, feeds)
        session.run(None, feeds)
        events = json.loads(Path(session.end_profiling()).read_text())
    per_op: collections.Counter = collections.Counter()
    per_node: collections.Counter = collections.Counter()
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            per_op[event["args"]["op_name"]] += event["dur"]
            per_node[(event["args"]["op_name"], event["name"][:-len("_kernel_time")])] += event["dur"]
    total = sum(per_op.values())
    print("  graph, per op type (ONNX Runtime profiler, 2 runs):")
    for op, microseconds in per_op.most_common(10):
        print(f"    {op:20s} {microseconds / 2e3:8.1f} ms/run {100 * microseconds / total:5.1f} %")
    if nodes:
        print(f"  graph, {nodes} slowest nodes:")
        for (op, name), microseconds in per_node.most_common(nodes):
            print(f"    {op:16s} {microseconds / 2e3:8.1f} ms/run  {name}")


if __name__ == "__main__":
    main()
