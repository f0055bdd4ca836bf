"""``ssr bench fps``: milliseconds per frame of the full streaming path, per backend and
resolution, with Intel OIDN timed in the same run on the same frames.

What is timed, per frame, after warm-up frames:

* **full path** (every backend): :meth:`ssr.streaming.StreamLoop.denoise` on a frame dict
  as a renderer hands it over: validation (``check_frame``), native packing, the network
  step, the state swap and the native unpacking (CHW -> HWC + clamp), with device
  synchronisation (the colour is back in host memory);
* **network only** beside it: the model step alone on data already in place (torch: the
  step on device tensors; ONNX Runtime: ``run_with_iobinding`` on the bound buffers);
* **peers**: OIDN fast / balanced / high (``pyoidn``) on the same resolution with the
  1-spp colour, albedo and normal (4x the samples SSR gets).

Each case runs at least ``min_frames`` frames and stops after ``max_seconds`` (but never
before ``min_frames``); reported: median, p95 and min ms, FPS (1000 / median), peak host
memory (the process's resident-set high-water mark during the case, reset before it via
``/proc/self/clear_refs``) and peak device memory (CUDA), and every median as a ratio to
OIDN fast at the same resolution.
"""

from __future__ import annotations

import gc
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

__all__ = ["DEFAULT_SIZES", "bench_fps", "format_fps_markdown", "machine_description"]

DEFAULT_SIZES: tuple[tuple[int, int], ...] = ((720, 1280), (1080, 1920), (1024, 2048), (2160, 3840))
OIDN_QUALITIES = ("fast", "balanced", "high")


def machine_description() -> dict[str, Any]:
    """CPU model, core count, OS, and the versions of what is timed."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions: dict[str, str] = {"python": platform.python_version()}
    for module in ("torch", "onnxruntime", "numpy"):
        try:
            versions[module] = __import__(module).__version__
        except ImportError:
            pass
    try:
        from .peers import oidn_version

        versions["oidn"] = oidn_version()
    except ImportError:
        pass
    return {"cpu": cpu, "logical_cpus": os.cpu_count(), "os": f"{platform.system()} {platform.release()}",
            "versions": versions}


def _reset_peak_rss() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _peak_rss_mib() -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def _time(run: Callable[[int], Any], *, warmup: int, min_frames: int, max_seconds: float,
          sync: Callable[[], None] = lambda: None, device: Any = None) -> dict[str, Any]:
    """Stats of ``run(frame_index)`` over the timed frames (after ``warmup`` untimed ones)."""
    import torch

    for index in range(warmup):
        run(index)
    sync()
    _reset_peak_rss()
    cuda = device is not None and getattr(device, "type", "") == "cuda"
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
    samples: list[float] = []
    started = time.perf_counter()
    index = warmup
    while len(samples) < min_frames or (time.perf_counter() - started < max_seconds and len(samples) < 10 * min_frames):
        begin = time.perf_counter()
        run(index)
        sync()
        samples.append(time.perf_counter() - begin)
        index += 1
        if time.perf_counter() - started >= max_seconds and len(samples) >= min_frames:
            break
    return _stats([s * 1e3 for s in samples], _peak_rss_mib(),
                  torch.cuda.max_memory_allocated(device) / 2**20 if cuda else None)


def _stats(samples_ms: list[float], peak_host: float | None, peak_device: float | None) -> dict[str, Any]:
    ms = sorted(samples_ms)
    median = statistics.median(ms)
    return {
        "frames": len(ms), "median_ms": median, "p95_ms": ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))],
        "min_ms": ms[0], "fps": 1e3 / median, "peak_host_mib": peak_host, "peak_device_mib": peak_device,
        "samples_ms": ms,
    }


def _merge(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One case's stats over several rounds: all samples pooled, the peaks' maxima."""
    def peak(key: str) -> float | None:
        values = [r[key] for r in rounds if r[key] is not None]
        return max(values) if values else None

    merged = _stats([ms for r in rounds for ms in r["samples_ms"]], peak("peak_host_mib"), peak("peak_device_mib"))
    return {**{k: v for k, v in rounds[0].items() if k not in merged}, **merged}


def _frames(height: int, width: int, count: int) -> list[dict[str, np.ndarray]]:
    """``count`` renderer frames (the scrolling-plane scene, 1/4-spp pattern applied) plus
    their 1-spp colour under ``color_full`` for the peers."""
    from ssr.data_tools.format import apply_subpixel_pattern
    from ssr.data_tools.synthetic import synthetic_frame

    frames = []
    for index in range(count):
        full = synthetic_frame(index, height, width, seed=index)
        frame = apply_subpixel_pattern({k: v for k, v in full.items() if not k.startswith("reference")}, index)
        frame["color_full"] = full["color"]
        frames.append(frame)
    return frames


def _torch_cases(model: Any, device: str, frames: list[dict], limits: dict) -> dict[str, Any]:
    import torch

    from ssr.model import step
    from ssr.streaming import StreamLoop, TorchBackend

    backend = TorchBackend(model, device=device)
    loop = StreamLoop(backend)
    sync = torch.cuda.synchronize if backend.device.type == "cuda" else (lambda: None)
    with torch.inference_mode():
        full = _time(lambda i: loop.denoise(frames[i % len(frames)], cut=i == 0), sync=sync,
                     device=backend.device, **limits)
        packed = torch.from_numpy(_packed(frames[0]))[None].to(backend.device)
        state = backend.initial_state(*packed.shape[2:])
        holder = {"state": state}

        def network(i: int) -> None:
            _, holder["state"] = step(backend.model, packed, holder["state"], reset=i == 0)

        net = _time(network, sync=sync, device=backend.device, **limits)
    return {"full": full, "network": net}


def _packed(frame: dict) -> np.ndarray:
    from ssr.data_tools.pack import pack_frame
    from ssr.streaming import check_frame

    return pack_frame(check_frame(frame))


def _onnx_cases(onnx_path: Path, frames: list[dict], limits: dict, threads: int | None) -> dict[str, Any]:
    from ssr.runtime.onnx_backend import OnnxStream

    stream = OnnxStream(onnx_path, threads=threads)
    full = _time(lambda i: stream.denoise(frames[i % len(frames)], cut=i == 0), **limits)
    backend = stream.backend
    net = _time(lambda i: backend.rerun(), **limits)  # the graph alone on the last frame's bound buffers
    del stream, backend
    gc.collect()  # the next case must not start with this one's GiB of buffers still held
    return {"full": full, "network": net}


def _precision(graph: Path) -> str:
    """``fp32`` / ``fp16`` / ``int8``, with ``-native-stages`` for graphs whose per-pixel stages
    the runtime does, else ``-warp-outside`` for graphs whose warps it does."""
    import onnx

    props = {p.key: p.value for p in onnx.load(str(graph), load_external_data=False).metadata_props}
    split = ("-native-stages" if props.get("ssr.pixel_stages") == "native"
             else "-warp-outside" if props.get("ssr.warp") == "outside" else "")
    return props.get("ssr.precision", "fp32") + split


def _source_sha256(graph: Path) -> str | None:
    """sha256 of the weights a graph was exported from (its ``ssr export`` sidecar), or None."""
    from ssr.runtime.onnx_backend import load_sidecar

    sidecar = load_sidecar(graph) or {}
    return (sidecar.get("source_weights") or {}).get("sha256")


def _oidn_case(quality: str, frames: list[dict], limits: dict) -> dict[str, Any]:
    from .peers import OidnDenoiser

    denoiser = OidnDenoiser(quality)
    try:
        return _time(lambda i: denoiser(frames[i % len(frames)]["color_full"], frames[i % len(frames)]["albedo"],
                                        frames[i % len(frames)]["normal"]), **limits)
    finally:
        denoiser.close()


def bench_fps(
    sizes: list[tuple[int, int]],
    *,
    model: Any = None,
    backends: tuple[str, ...] = ("torch", "onnxruntime"),
    onnx_path: Path | list[Path] | None = None,
    device: str = "cpu",
    threads: int | None = None,
    peers: tuple[str, ...] = OIDN_QUALITIES,
    min_frames: int = 5,
    max_seconds: float = 20.0,
    warmup: int = 2,
    rounds: int = 1,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Time every backend and peer at every size (see the module docstring).

    Args:
        sizes: ``(height, width)`` frame sizes.
        model: weights path / SSRNet / None (bundled) for the torch backend and the export.
        backends: of ``torch``, ``onnxruntime``.
        onnx_path: graph(s) for ``onnxruntime`` (default: the model exported dynamic to a temp
            dir); several graphs (e.g. float32 and INT8) are timed side by side, labelled
            by their ``ssr.precision`` metadata.
        device: torch device of the torch backend.
        threads: ONNX Runtime intra-op threads (default: its own choice).
        peers: OIDN qualities to time (empty: none; needs ``pyoidn``).
        min_frames, max_seconds, warmup: the timing budget per case (per round).
        rounds: run the whole list of cases this many times, one after the other, and pool
            each case's samples: on a machine whose speed drifts (shared VMs), every case
            and its OIDN ratio then see the same mix of fast and slow periods.
        progress: called with a line per finished case.

    Returns:
        ``{"machine": ..., "settings": ..., "rows": [{"height", "width", "method", "path",
        ...stats, "vs_oidn_fast"}, ...]}``.
    """
    limits = {"warmup": warmup, "min_frames": min_frames, "max_seconds": max_seconds}
    rows: list[dict[str, Any]] = []
    temp: tempfile.TemporaryDirectory | None = None
    if "onnxruntime" in backends and onnx_path is None:
        from ssr.export.onnx import export_onnx

        temp = tempfile.TemporaryDirectory(prefix="ssr-bench-")
        onnx_path = export_onnx(model, Path(temp.name) / "ssr.onnx", height=64, width=64, dynamic=True)
    graphs = [Path(p) for p in (onnx_path if isinstance(onnx_path, list) else [onnx_path] if onnx_path else [])]
    labels = [f"ssr-onnxruntime-cpu-{_precision(graph)}" for graph in graphs]
    # graphs of the same precision (e.g. two models) are told apart by their file name
    labels = [f"{label} ({graph.stem})" if labels.count(label) > 1 else label for label, graph in zip(labels, graphs)]
    try:
        for height, width in sizes:
            frames = _frames(height, width, 4)
            collected: dict[tuple[str, str], list[dict[str, Any]]] = {}

            def add(method: str, path: str, stats: dict[str, Any]) -> None:
                collected.setdefault((method, path), []).append(stats)
                if progress is not None:
                    progress(f"{height}x{width} {method} ({path}): median {stats['median_ms']:.1f} ms")

            for _ in range(max(1, rounds)):
                for quality in peers:
                    add(f"oidn-{quality}", "full (1 spp + albedo + normal)", _oidn_case(quality, frames, limits))
                if "torch" in backends:
                    cases = _torch_cases(model, device, frames, limits)
                    add(f"ssr-torch-{device}", "full stream", cases["full"])
                    add(f"ssr-torch-{device}", "network only", cases["network"])
                if "onnxruntime" in backends:
                    for graph, label in zip(graphs, labels):
                        cases = _onnx_cases(graph, frames, limits, threads)
                        weights = _source_sha256(graph)  # ties the row to a quality report's model
                        add(label, "full stream", {**cases["full"], "source_sha256": weights})
                        add(label, "network only", {**cases["network"], "source_sha256": weights})
            size_rows = [{"height": height, "width": width, "method": method, "path": path, **_merge(stats),
                          "rounds": len(stats)} for (method, path), stats in collected.items()]
            fast = next((r["median_ms"] for r in size_rows if r["method"] == "oidn-fast"), None)
            for row in size_rows:
                row["vs_oidn_fast"] = row["median_ms"] / fast if fast else None
            rows.extend(size_rows)
    finally:
        if temp is not None:
            temp.cleanup()
    settings = {"backends": list(backends), "device": device, "threads": threads, "peers": list(peers),
                "rounds": max(1, rounds), **limits}
    return {"machine": machine_description(), "settings": settings, "rows": rows}


def full_path_ms(report: dict[str, Any]) -> dict[str, dict[str, float]]:
    """``{quality-method key: {"WxH": median ms}}`` of the full path in an fps ``report``:
    ``ssr`` takes its fastest full-stream backend, ``oidn_<quality>`` the OIDN rows (the
    keys ``ssr bench quality`` uses, for its speed column).

    >>> full_path_ms({"rows": [
    ...     {"height": 4, "width": 8, "method": "oidn-fast", "path": "full", "median_ms": 2.0},
    ...     {"height": 4, "width": 8, "method": "ssr-torch-cpu", "path": "full stream", "median_ms": 9.0},
    ...     {"height": 4, "width": 8, "method": "ssr-onnxruntime-cpu-fp32", "path": "full stream", "median_ms": 5.0},
    ...     {"height": 4, "width": 8, "method": "ssr-onnxruntime-cpu-fp32", "path": "network only", "median_ms": 3.0}]})
    {'oidn_fast': {'8x4': 2.0}, 'ssr': {'8x4': 5.0}}
    """
    table: dict[str, dict[str, float]] = {}
    for row in report["rows"]:
        if row["path"] == "network only":
            continue
        key = "ssr" if row["method"].startswith("ssr-") else row["method"].replace("-", "_")
        size = f"{row['width']}x{row['height']}"
        current = table.setdefault(key, {}).get(size)
        if current is None or row["median_ms"] < current:
            table[key][size] = row["median_ms"]
    return table


def format_fps_markdown(report: dict[str, Any]) -> str:
    """The report as Markdown: one table per resolution, machine and versions first."""
    machine = report["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in machine["versions"].items())
    lines = [f"Machine: {machine['cpu']}, {machine['logical_cpus']} logical CPUs, {machine['os']}; {versions}.", ""]
    sizes = sorted({(r["height"], r["width"]) for r in report["rows"]}, key=lambda s: s[0] * s[1])
    for height, width in sizes:
        lines += [f"**{width}x{height}**", "",
                  "| method | timed path | median ms | p95 ms | min ms | FPS | vs OIDN fast | peak host MiB | peak device MiB |",
                  "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
        for row in (r for r in report["rows"] if (r["height"], r["width"]) == (height, width)):
            ratio = f"{row['vs_oidn_fast']:.2f}x" if row["vs_oidn_fast"] is not None else "-"
            host = f"{row['peak_host_mib']:.0f}" if row["peak_host_mib"] is not None else "-"
            dev = f"{row['peak_device_mib']:.0f}" if row["peak_device_mib"] is not None else "-"
            lines.append(f"| {row['method']} | {row['path']} | {row['median_ms']:.1f} | {row['p95_ms']:.1f} | "
                         f"{row['min_ms']:.1f} | {row['fps']:.2f} | {ratio} | {host} | {dev} |")
        lines.append("")
    return "\n".join(lines)
