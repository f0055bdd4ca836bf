"""Image quality of SSR against Intel Open Image Denoise given four times the samples.

``ssr bench quality`` scores, on every frame of every sequence and against the
same ``reference``:

- **SSR**: our network on the 1/4-spp subpixel input (one traced sample per 2x2 tile),
  streamed with :func:`ssr.evaluate.evaluate` (history reset at cuts);
- **OIDN**: Intel Open Image Denoise (``RT`` filter, HDR, albedo + normal auxiliary
  buffers) on the 1-spp colour at every pixel, i.e. 4x the samples SSR traces, each frame
  on its own (OIDN has no temporal state);
- **Input**: the raw 1-spp colour (no denoising), taken from evaluate's baseline.

Per-frame metrics and the warped temporal error are the ones ``ssr eval`` reports
(:func:`ssr.metrics.compute_frame_metrics`, :func:`ssr.metrics.temporal_error`, undefined
at a stream's first frame and at cuts), aggregated the same way (per-sequence means, then
the mean over sequences). It also times one frame of each method on this machine:
SSR = the network forward in eager PyTorch, OIDN = its optimized CPU filter.
"""

from __future__ import annotations

import math
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from ssr.evaluate import (
    COLUMN_TITLES,
    average_over_sequences,
    format_value,
    json_ready,
    phase_means,
    AFTER_CUT_FRAMES,
)
from ssr.metrics import HIGHER_IS_BETTER, TEMPORAL_METRIC, MetricSet, compute_frame_metrics, temporal_error

__all__ = ["HEADLINE_METRICS", "METHODS", "format_quality_markdown", "quality_report", "write_quality_report"]

METHODS: tuple[str, ...] = ("ssr", "oidn", "input")
"""Keys of the compared methods in the report."""
HEADLINE_METRICS: tuple[str, ...] = ("psnr_srgb", "ssim_srgb", "flip_hdr", TEMPORAL_METRIC)
"""Metrics shown in the Markdown tables (report.json holds every metric)."""
_OIDN_LAYERS = ("color", "albedo", "normal", "motion", "reference")


def _machine() -> str:
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs, {platform.system()}"


def _median_ms(samples: list[float]) -> float | None:
    return statistics.median(samples) * 1e3 if samples else None


class _ForwardTimer:
    """Times every ``SSRNet.forward`` call through module hooks (no copy of the loop)."""

    def __init__(self, net: Any, device: Any) -> None:
        import torch

        self._sync = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None)
        self.samples: list[float] = []
        self._start = 0.0
        self._handles = [net.register_forward_pre_hook(self._pre), net.register_forward_hook(self._post)]

    def _pre(self, *_: Any) -> None:
        self._sync()
        self._start = time.perf_counter()

    def _post(self, *_: Any) -> None:
        self._sync()
        self.samples.append(time.perf_counter() - self._start)

    def take(self) -> list[float]:
        samples, self.samples = self.samples, []
        return samples

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()


def _oidn_sequence(path: Path, denoise: Any, metrics: MetricSet, max_frames: int | None,
                   progress: bool | None) -> tuple[list[dict[str, Any]] | None, list[float]]:
    """Per-frame OIDN metrics of one sequence (None when it is not stored with every pixel)."""
    from tqdm import tqdm

    from ssr.data_tools.format import Sequence

    sequence = Sequence(path, apply_pattern=False)
    if sequence.sampling != "full":
        return None, []
    frame_total = len(sequence) if max_frames is None else min(len(sequence), max_frames)
    records: list[dict[str, Any]] = []
    seconds: list[float] = []
    previous: dict[str, np.ndarray] | None = None
    bar = tqdm(range(frame_total), desc=f"oidn {sequence.name}", unit="frame",
               disable=None if progress is None else not progress)
    for index in bar:
        frame = sequence.read_frame(index, _OIDN_LAYERS)
        start = time.perf_counter()
        output = denoise(frame["color"], frame["albedo"], frame["normal"])
        seconds.append(time.perf_counter() - start)
        cut = sequence.is_cut(index)
        values = compute_frame_metrics(output, frame["reference"], metrics)
        values[TEMPORAL_METRIC] = (
            temporal_error(output, previous["output"], frame["reference"], previous["reference"], frame["motion"],
                           exposure=metrics.exposure)
            if previous is not None and not cut else None
        )
        records.append({"frame": index, "oidn": values})
        previous = {"output": output, "reference": frame["reference"]}
    return records, seconds


def _difference(ssr: Mapping[str, Any] | None, oidn: Mapping[str, Any] | None,
                names: Iterable[str]) -> dict[str, Any] | None:
    """``{metric: ssr - oidn}`` plus ``better: {metric: "ssr" | "oidn" | "tie"}``."""
    if ssr is None or oidn is None:
        return None
    delta: dict[str, Any] = {}
    better: dict[str, str | None] = {}
    for name in names:
        a, b = ssr.get(name), oidn.get(name)
        if a is None or b is None or not (math.isfinite(a) and math.isfinite(b)):
            delta[name], better[name] = None, None
            continue
        delta[name] = a - b
        if a == b:
            better[name] = "tie"
        else:
            better[name] = "ssr" if (a > b) == HIGHER_IS_BETTER[name] else "oidn"
    return {**delta, "better": better}


def quality_report(
    model: Any,
    sequences: Iterable[str | Path],
    *,
    device: str = "cpu",
    metrics: MetricSet | None = None,
    max_frames: int | None = None,
    oidn_quality: str = "high",
    progress: bool | None = False,
) -> dict[str, Any]:
    """Score SSR (1/4 spp), OIDN (1 spp + albedo + normal) and the raw input per sequence.

    Args:
        model: an :class:`ssr.model.SSRNet`, a weights path, or None (bundled model).
        sequences: ssr-seq sequence folders (:func:`ssr.evaluate.resolve_sequences`);
            OIDN needs ``sampling: full`` (its entry is null otherwise).
        device: torch device of the network (OIDN always runs on its CPU device).
        metrics: per-frame metrics (default: all, HDR-FLIP included).
        max_frames: only the first N frames of each sequence.
        oidn_quality: OIDN filter quality (``high``, ``balanced``, ``fast``).
        progress: tqdm bars (None: only on a terminal).

    Returns:
        A JSON-ready dict (see docs/evaluation.md, "Peer: Intel Open Image Denoise"):
        ``sequences`` (per sequence: ``ssr`` / ``oidn`` / ``input`` phase means, the
        ``ssr_minus_oidn`` difference, ``timing`` and ``per_frame``), ``average`` (mean
        over sequences), ``ssr_minus_oidn`` (on the averages) and ``timing``.
    """
    import torch

    from ssr.evaluate import evaluate
    from ssr.model import load_model

    from .peers import OidnDenoiser, oidn_version

    chosen = metrics or MetricSet()
    names = chosen.names() + (TEMPORAL_METRIC,)
    paths = [Path(p) for p in sequences]
    denoiser = OidnDenoiser(oidn_quality)  # fails early (ImportError) without pyoidn
    torch_device = torch.device(device)
    if model is None or isinstance(model, (str, os.PathLike)):
        model_label = "bundled default" if model is None else str(model)
        net = load_model(model, device=torch_device)
    else:
        model_label = type(model).__name__
        net = model

    entries: list[dict[str, Any]] = []
    ssr_seconds: list[float] = []
    oidn_seconds: list[float] = []
    timer = _ForwardTimer(net, torch_device)
    try:
        for path in paths:
            report = evaluate(net, [path], device=device, metrics=chosen, include_input=True,
                              max_frames=max_frames, progress=progress)
            seq = report["sequences"][0]
            forward = timer.take()
            oidn_frames, oidn_time = _oidn_sequence(path, denoiser, chosen, max_frames, progress)
            per_frame = []
            for index, record in enumerate(seq["per_frame"]):
                row = {"frame": record["frame"], "frames_since_cut": record["frames_since_cut"],
                       "phase": record["phase"], "ssr": record["denoised"], "input": record["input"],
                       "oidn": oidn_frames[index]["oidn"] if oidn_frames is not None else None}
                per_frame.append(row)
            oidn_means = phase_means(per_frame, "oidn", names) if oidn_frames is not None else None
            # The run's first call of each method (lazy set-up: OIDN filter commit, torch
            # kernel selection) is left out of the timing when there is more than one frame.
            if not ssr_seconds and len(forward) > 1:
                forward = forward[1:]
            if not oidn_seconds and len(oidn_time) > 1:
                oidn_time = oidn_time[1:]
            ssr_seconds += forward
            oidn_seconds += oidn_time
            entries.append({
                "name": seq["name"], "path": seq["path"], "width": seq["width"], "height": seq["height"],
                "sampling": seq["sampling"], "network_input": seq["network_input"], "cuts": seq["cuts"],
                "frames": seq["frames"],
                "ssr": seq["denoised"], "oidn": oidn_means, "input": seq["input"],
                "ssr_minus_oidn": _difference(seq["denoised"]["all"], oidn_means and oidn_means["all"], names),
                "timing": {"ssr_ms": _median_ms(forward), "oidn_ms": _median_ms(oidn_time)},
                "per_frame": per_frame,
            })
    finally:
        timer.remove()
        denoiser.close()

    compared = [e for e in entries if e["oidn"] is not None]
    average = {method: average_over_sequences(entries, method, names) for method in METHODS}
    # The difference is taken over the sequences both methods scored.
    ssr_compared = average_over_sequences(compared, "ssr", names)
    oidn_average = average["oidn"]
    return {
        "what": "quality",
        "model": model_label,
        "device": str(torch_device),
        "network_input": sorted({e["network_input"] for e in entries}),
        "metrics": list(names),
        "headline_metrics": [n for n in HEADLINE_METRICS if n in names],
        "higher_is_better": {name: HIGHER_IS_BETTER[name] for name in names},
        "after_cut_frames": AFTER_CUT_FRAMES,
        "tonemap_exposure": chosen.exposure,
        "methods": {
            "ssr": "SSR (ours): network on the 1/4-spp subpixel input (1 traced sample per 2x2 tile)",
            "oidn": (f"Intel Open Image Denoise {oidn_version()} (RT filter, quality {oidn_quality}, hdr, "
                     "albedo + normal) on the 1-spp colour at every pixel (4x SSR's samples)"),
            "input": "input: 1-spp colour at every pixel, not denoised",
        },
        "traced_spp": {"ssr": 0.25, "oidn": 1.0, "input": 1.0},
        "oidn": {"version": oidn_version(), "quality": oidn_quality, "device": "cpu", "filter": "RT",
                 "hdr": True, "clean_aux": denoiser.clean_aux},
        "sequences": entries,
        "average": average,
        "ssr_minus_oidn": {
            phase: _difference(ssr_compared[phase] if ssr_compared else None,
                               oidn_average[phase] if oidn_average else None, names)
            for phase in ("all", "after_cut", "steady")
        },
        "timing": {
            "machine": _machine(),
            "ssr_ms_per_frame": _median_ms(ssr_seconds),
            "ssr_frames_timed": len(ssr_seconds),
            "ssr_path": f"eager PyTorch {torch.__version__} on {torch_device}, {torch.get_num_threads()} threads; "
                        "network forward only (packing, I/O and metrics excluded)",
            "oidn_ms_per_frame": _median_ms(oidn_seconds),
            "oidn_frames_timed": len(oidn_seconds),
            "oidn_path": "OIDN optimized CPU device (all cores, automatic thread count); "
                         "filter execute incl. input copy (I/O and metrics excluded)",
            "statistic": "median over all frames of all sequences (the run's first frame left out: warm-up)",
        },
    }


# ----------------------------------------------------------------------------- Markdown


def _signed(name: str, value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:+.2f}" if name.startswith("psnr") else f"{value:+.4f}"


def _header(first: list[str], names: list[str], extra: tuple[str, ...] | list[str] = ()) -> list[str]:
    arrows = {True: " ↑", False: " ↓"}
    cells = first + [COLUMN_TITLES.get(n, n) + arrows[HIGHER_IS_BETTER[n]] for n in names] + list(extra)
    aligns = ["---"] * len(first) + ["---:"] * (len(names) + len(extra))
    return ["| " + " | ".join(cells) + " |", "|" + "|".join(aligns) + "|"]


def _row(cells: list[str], names: list[str], values: Mapping[str, Any] | None,
         extra: tuple[str, ...] | list[str] = ()) -> str:
    shown = [format_value(n, None if values is None else values.get(n)) for n in names]
    return "| " + " | ".join(cells + shown + list(extra)) + " |"


def format_quality_markdown(report: Mapping[str, Any]) -> str:
    """The quality report as Markdown: averages, per-sequence rows, timing."""
    names = list(report["headline_metrics"])
    labels = {"ssr": "SSR (ours), 1/4 spp", "oidn": f"OIDN {report['oidn']['version']}, 1 spp + albedo + normal",
              "input": "Input, 1 spp, not denoised"}
    timing = report["timing"]
    ms = {"ssr": timing["ssr_ms_per_frame"], "oidn": timing["oidn_ms_per_frame"], "input": None}
    sequences = report["sequences"]
    frames = sum(s["frames"] for s in sequences)
    lines = [
        "# SSR vs Intel Open Image Denoise (4x the traced samples)",
        "",
        f"Model `{report['model']}` on {report['device']}; {len(sequences)} sequence(s), {frames} frame(s). "
        f"SSR sees 1/4 spp ({', '.join(report['network_input'])}); OIDN {report['oidn']['version']} "
        f"(`RT` filter, quality `{report['oidn']['quality']}`, HDR, albedo + normal) denoises the 1-spp colour "
        "at every pixel, i.e. 4x the samples, one frame at a time. sRGB = ACES + sRGB tone-mapped; "
        "Temporal = warped frame-difference error vs the reference (docs/evaluation.md).",
        "",
        "## Average over sequences, all frames",
        "",
        *_header(["Method", "traced spp"], names, ["ms / frame"]),
    ]
    for method in METHODS:
        block = report["average"][method]
        lines.append(_row([labels[method], f"{report['traced_spp'][method]:g}"], names,
                          block["all"] if block else None,
                          [f"{ms[method]:.1f}" if ms[method] is not None else "-"]))
    diff = report["ssr_minus_oidn"]["all"]
    if diff is not None:
        lines.append("| **SSR − OIDN** | | " + " | ".join(_signed(n, diff.get(n)) for n in names) + " | |")
        lines.append("| better | | " + " | ".join({"ssr": "SSR", "oidn": "OIDN", "tie": "tie"}.get(
            diff["better"].get(n), "-") for n in names) + " | |")
    steady = report["average"]["ssr"], report["average"]["oidn"]
    if all(block is not None and block["steady"]["frames"] > 0 for block in steady):
        lines += ["", f"## Average, steady-state frames (frames since cut >= {report['after_cut_frames']})", "",
                  *_header(["Method", "frames"], names)]
        for method in ("ssr", "oidn"):
            block = report["average"][method]["steady"]
            lines.append(_row([labels[method], str(block["frames"])], names, block))
        diff = report["ssr_minus_oidn"]["steady"]
        if diff is not None:
            lines.append("| **SSR − OIDN** | | " + " | ".join(_signed(n, diff.get(n)) for n in names) + " |")
    lines += ["", "## Per sequence, all frames", "", *_header(["Sequence", "Method"], names)]
    for entry in sequences:
        for method in METHODS:
            block = entry[method]
            lines.append(_row([entry["name"], labels[method]], names, block["all"] if block else None))
        diff = entry["ssr_minus_oidn"]
        if diff is not None:
            lines.append(f"| {entry['name']} | **SSR − OIDN** | " + " | ".join(_signed(n, diff.get(n)) for n in names)
                         + " |")
    lines += [
        "",
        "## Time per frame on this machine",
        "",
        f"{timing['machine']}; {timing['statistic']}. Not an engine-to-engine comparison: OIDN runs its "
        "optimized CPU path, SSR runs eager PyTorch (the deployable ONNX Runtime / TensorRT paths are "
        "benchmarked by `ssr bench fps`).",
        "",
        "| Method | path | frames timed | ms / frame |",
        "|---|---|---:|---:|",
        f"| SSR | {timing['ssr_path']} | {timing['ssr_frames_timed']} | "
        f"{_format_ms(timing['ssr_ms_per_frame'])} |",
        f"| OIDN | {timing['oidn_path']} | {timing['oidn_frames_timed']} | "
        f"{_format_ms(timing['oidn_ms_per_frame'])} |",
    ]
    return "\n".join(lines) + "\n"


def _format_ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def write_quality_report(report: Mapping[str, Any], out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``<out_dir>/report.json`` and ``<out_dir>/report.md``; returns both paths."""
    import json

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / "report.json", out / "report.md"
    json_path.write_text(json.dumps(json_ready(report), indent=2, allow_nan=False) + "\n")
    md_path.write_text(format_quality_markdown(report))
    return json_path, md_path
