"""Evaluate a model on ssr-seq sequences against their ``reference`` layer (the library
behind ``ssr eval``, whose command line is :mod:`ssr.runtime.evaluate_cli`).

Each sequence is streamed through the model (torch, or any stream backend) frame by frame (history reset at meta.json
cuts); every output frame is scored against the reference (PSNR / SSIM / RMSE on linear
HDR and on tone-mapped sRGB, HDR-FLIP, warped temporal error). Frames right after a cut
(the cut frame and the next 3) are reported apart from steady-state frames, and the noisy
input (1-spp colour at every pixel) is scored as a baseline. Writes ``report.json`` and
``report.md`` (the paper's Table-1 shape: rows = sequences + average) and prints the
tables. Metric definitions: docs/evaluation.md.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from ssr.data_tools.format import apply_subpixel_pattern
from ssr.metrics import (
    HIGHER_IS_BETTER,
    TEMPORAL_METRIC,
    VIDEO_METRIC,
    MetricSet,
    compute_frame_metrics,
    temporal_error,
)

__all__ = [
    "AFTER_CUT_FRAMES",
    "COLUMN_TITLES",
    "CONVERGED_FRAMES",
    "CutClock",
    "INPUT_LABEL",
    "PHASES",
    "SELECTION_METRIC",
    "average_over_sequences",
    "evaluate",
    "format_markdown",
    "format_value",
    "in_phase",
    "json_ready",
    "metric_decimals",
    "phase_means",
    "resolve_sequences",
    "score_frame",
    "write_report",
]

AFTER_CUT_FRAMES = 4
"""Frames counted as "after a cut": the cut frame itself and the next 3."""
CONVERGED_FRAMES = 16
"""Frames since a cut from which a frame also counts as "converged": a history of 1/4-spp
samples has had 4 samples per pixel by then (a long sequence's steady state)."""
PHASES: tuple[str, ...] = ("all", "after_cut", "steady", "converged")
INPUT_LABEL = "input (1-spp full colour)"
_INPUT_LAYERS = (
    "color", "albedo", "normal", "depth", "roughness", "metallic", "shadow", "transparent", "motion", "reference",
)
COLUMN_TITLES: dict[str, str] = {
    "psnr_linear": "PSNR lin (dB)",
    "psnr_srgb": "PSNR sRGB (dB)",
    "ssim_linear": "SSIM lin",
    "ssim_srgb": "SSIM sRGB",
    "rmse_linear": "RMSE lin",
    "rmse_srgb": "RMSE sRGB",
    "psnr_gamma": "PSNR γ2.2 (dB)",
    "relmse": "relMSE",
    "lowfreq_rmse_srgb": "low-freq RMSE sRGB",
    "flip_hdr": "HDR-FLIP",
    TEMPORAL_METRIC: "Temporal sRGB",
    VIDEO_METRIC: "FovVideoVDP JOD",
}


# ----------------------------------------------------------------------------- inputs



class CutClock:
    """Frames since the last camera cut, for a sequence streamed in order from frame 0.

    >>> clock = CutClock()
    >>> [clock.tick(i, cut=i in (0, 5))["phase"] for i in (0, 3, 4, 5)]
    ['after_cut', 'after_cut', 'steady', 'after_cut']
    """

    def __init__(self) -> None:
        self.last_cut = 0

    def tick(self, index: int, *, cut: bool) -> dict[str, Any]:
        """The per-frame record header: ``frame``, ``frames_since_cut``, ``phase``."""
        if cut:
            self.last_cut = index
        since_cut = index - self.last_cut
        return {"frame": index, "frames_since_cut": since_cut,
                "phase": "after_cut" if since_cut < AFTER_CUT_FRAMES else "steady"}


SELECTION_METRIC = "psnr_srgb"
"""The metric models are ranked by: ``ssr bench quality``'s headline and training's ``best.pt``
selection (PSNR on the ACES + sRGB tone map, docs/evaluation.md)."""


def score_frame(
    output: np.ndarray,
    reference: np.ndarray,
    metrics: MetricSet,
    *,
    motion: np.ndarray,
    history: tuple[np.ndarray, np.ndarray] | None,
) -> dict[str, float | None]:
    """Per-frame metrics of ``output`` (HxWx3 linear) plus the warped temporal error.

    ``history`` is (previous output, previous reference) of the same method, or ``None``
    on the first frame and at a cut, where the temporal error is ``None``.
    """
    values: dict[str, float | None] = dict(compute_frame_metrics(output, reference, metrics))
    values[TEMPORAL_METRIC] = (
        temporal_error(output, history[0], reference, history[1], motion, exposure=metrics.exposure)
        if history is not None else None
    )
    return values


def resolve_sequences(data: str | Path, split: str | None = None, skip_incomplete: bool = False) -> list[Path]:
    """Sequence folders to evaluate.

    ``data`` is a sequence (holding meta.json) or a dataset folder. With ``split``, the
    sequences under ``<data>/<split>/`` are used (datasets are laid out as
    ``<dataset>/<split>/<sequence>/``); a split that does not exist is an error.
    ``skip_incomplete`` leaves out sequences still being written (printing their names).
    """
    from ssr.data_tools.format import FormatError, drop_incomplete, list_sequences

    root = Path(data)
    if (root / "meta.json").is_file():
        return [root]
    if not root.is_dir():
        raise FormatError(root, None, "--data is neither a sequence (meta.json) nor a dataset folder")
    if split:
        split_dir = root / split
        if not split_dir.is_dir():
            available = sorted(p.name for p in root.iterdir() if p.is_dir())
            raise FormatError(root, None, f"split '{split}' not found (folders here: {', '.join(available) or 'none'})")
        root = split_dir
    sequences = list_sequences(root)
    if skip_incomplete:
        sequences = drop_incomplete(sequences)
    if not sequences:
        raise FormatError(root, None, "no sequences (folders with meta.json) found"
                          + (" that are completely written" if skip_incomplete else ""))
    return sequences


# ----------------------------------------------------------------------------- aggregation


def _mean(values: Iterable[float | None]) -> float | None:
    """Mean of the non-NaN values (None when there are none); inf propagates."""
    kept = [v for v in values if v is not None and not math.isnan(v)]
    return float(np.mean(kept)) if kept else None


def in_phase(record: Mapping[str, Any], phase: str) -> bool:
    """Whether a per-frame record (:meth:`CutClock.tick`) belongs to ``phase`` (:data:`PHASES`):
    ``all``; ``after_cut`` / ``steady`` (frames since the cut below / from
    :data:`AFTER_CUT_FRAMES`); ``converged`` (from :data:`CONVERGED_FRAMES`, a subset of steady).

    >>> [in_phase({"phase": "steady", "frames_since_cut": n}, "converged") for n in (4, 16)]
    [False, True]
    """
    if phase == "converged":
        return record["frames_since_cut"] >= CONVERGED_FRAMES
    return phase == "all" or record["phase"] == phase


def phase_means(records: list[dict[str, Any]], key: str, names: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """``{phase: {"frames": n, metric: mean}}`` over per-frame ``records[i][key]``."""
    result: dict[str, dict[str, Any]] = {}
    for phase in PHASES:
        chosen = [r for r in records if in_phase(r, phase)]
        summary: dict[str, Any] = {"frames": len(chosen)}
        for name in names:
            summary[name] = _mean(r[key][name] for r in chosen)
        result[phase] = summary
    return result


def average_over_sequences(
    sequences: list[dict[str, Any]], key: str, names: tuple[str, ...]
) -> dict[str, dict[str, Any]] | None:
    """Per phase, the mean over sequences of each sequence's ``sequence[key]`` means (the
    paper's Table-1 average); None when no sequence has ``key``."""
    rows = [s[key] for s in sequences if s.get(key) is not None]
    if not rows:
        return None
    result: dict[str, dict[str, Any]] = {}
    for phase in PHASES:
        summary: dict[str, Any] = {"frames": int(sum(r[phase]["frames"] for r in rows))}
        for name in names:
            summary[name] = _mean(r[phase][name] for r in rows)
        result[phase] = summary
    return result


# ----------------------------------------------------------------------------- evaluation


def _evaluate_sequence(
    backend: Any,
    path: Path,
    *,
    full_spp: bool,
    subpixel: bool,
    metrics: MetricSet,
    include_input: bool,
    max_frames: int | None,
    progress: bool | None,
) -> dict[str, Any]:
    from tqdm import tqdm

    from ssr.data_tools.format import Sequence
    from ssr.streaming import StreamLoop

    sequence = Sequence(path, apply_pattern=False)
    stored_full = sequence.sampling == "full"
    use_pattern = subpixel and not full_spp and stored_full
    baseline = include_input and stored_full
    frame_total = len(sequence) if max_frames is None else min(len(sequence), max_frames)
    names = metrics.names() + (TEMPORAL_METRIC,)
    records: list[dict[str, Any]] = []
    stream = StreamLoop(backend)  # a new stream per sequence: it resets at frame 0
    previous: dict[str, np.ndarray] | None = None
    clock = CutClock()
    bar = tqdm(range(frame_total), desc=f"eval {sequence.name}", unit="frame",
               disable=None if progress is None else not progress)
    for index in bar:
        frame = sequence.read_frame(index, _INPUT_LAYERS)
        reference = frame["reference"]
        net_input = apply_subpixel_pattern(frame, index) if use_pattern else frame
        cut = sequence.is_cut(index)
        output = stream.denoise(net_input, cut=cut)  # what `ssr denoise` runs, validation included
        has_history = previous is not None and not cut
        record: dict[str, Any] = {
            **clock.tick(index, cut=cut),
            "denoised": score_frame(output, reference, metrics, motion=frame["motion"],
                                    history=(previous["output"], previous["reference"]) if has_history else None),
            "input": score_frame(frame["color"], reference, metrics, motion=frame["motion"],
                                 history=(previous["input"], previous["reference"]) if has_history else None)
            if baseline else None,
        }
        records.append(record)
        previous = {"output": output, "reference": reference, "input": frame["color"]}
    return {
        "name": sequence.name,
        "path": str(sequence.path),
        "width": sequence.width,
        "height": sequence.height,
        "sampling": sequence.sampling,
        "network_input": "subpixel-2x2" if (use_pattern or not stored_full) else "1-spp full",
        "cuts": [c for c in sequence.cuts if c < frame_total],
        "frames": frame_total,
        "denoised": phase_means(records, "denoised", names),
        "input": phase_means(records, "input", names) if baseline else None,
        "per_frame": records,
    }


def evaluate(
    model: Any,
    sequences: Iterable[str | Path],
    *,
    device: str = "cpu",
    backend: Any = None,
    full_spp: bool = False,
    metrics: MetricSet | None = None,
    include_input: bool = True,
    max_frames: int | None = None,
    progress: bool | None = False,
) -> dict[str, Any]:
    """Stream each sequence through a model and score every frame against ``reference``.

    Args:
        model: an :class:`ssr.model.SSRNet` (its train/eval mode is restored afterwards),
            a weights path, or None for the bundled default model; with ``backend``, only
            the report's label for it.
        sequences: ssr-seq sequence folders (see :func:`resolve_sequences`).
        device: torch device string; an ``SSRNet`` is moved there.
        backend: an :class:`ssr.streaming.Backend` to stream instead of a torch model
            (an ONNX Runtime session over an exported graph, TensorRT: what
            :func:`ssr.runtime.open_backend` returns; ``ssr eval --backend``), so the
            deployed path is scored on the same protocol as torch.
        full_spp: feed every pixel's 1-spp colour (w/o-SS mode) instead of the subpixel
            pattern; by default the model's ``subpixel`` setting decides.
        metrics: which per-frame metrics (default: all, FLIP included).
        include_input: also score the noisy input colour (1 spp at every pixel) as a
            baseline (only possible for sequences stored with ``sampling: full``).
        max_frames: evaluate only the first N frames of each sequence.
        progress: tqdm bars (None: only on a terminal).

    Returns:
        A JSON-ready dict: ``sequences`` (per sequence: ``denoised`` and ``input`` ->
        ``{"all" | "after_cut" | "steady" | "converged": {"frames": n, metric: mean}}`` and
        ``per_frame`` records), ``average`` (the mean of the per-sequence means, like the
        paper's Table 1) and the settings used. Metric values are None where no frame
        qualifies (e.g. no steady-state frames in a 3-frame sequence).
    """
    chosen = metrics or MetricSet()
    names = chosen.names() + (TEMPORAL_METRIC,)
    net = None
    was_training = False
    if backend is not None:
        model_label = "bundled default" if model is None else str(model)
        backend_label = type(backend).__name__
    else:
        import torch

        from ssr.model import load_model
        from ssr.streaming import TorchBackend

        torch_device = torch.device(device)
        if model is None or isinstance(model, (str, os.PathLike)):
            model_label = "bundled default" if model is None else str(model)
            net = load_model(model, device=torch_device)
        else:
            model_label = type(model).__name__
            net = model
            was_training = net.training
            net.to(torch_device)
        net.eval()
        backend = TorchBackend(net, device=str(torch_device))
        backend_label = "torch"
    subpixel = bool(backend.subpixel)
    try:
        results = [
            _evaluate_sequence(
                backend, Path(path), full_spp=full_spp, subpixel=subpixel, metrics=chosen,
                include_input=include_input, max_frames=max_frames, progress=progress,
            )
            for path in sequences
        ]
    finally:
        if net is not None:
            net.train(was_training)
    return {
        "model": model_label,
        "backend": backend_label,
        "device": str(device),
        "full_spp": full_spp,
        "metrics": list(names),
        "higher_is_better": {name: HIGHER_IS_BETTER[name] for name in names},
        "after_cut_frames": AFTER_CUT_FRAMES,
        "input_label": INPUT_LABEL,
        "tonemap_exposure": chosen.exposure,
        "sequences": results,
        "average": {
            "denoised": average_over_sequences(results, "denoised", names),
            "input": average_over_sequences(results, "input", names),
        },
    }


# ----------------------------------------------------------------------------- report


def metric_decimals(name: str) -> int:
    """Decimals a table shows for metric ``name``: 2 for dB (``psnr*``) and JOD, else 4."""
    return 2 if name.startswith("psnr") or name == VIDEO_METRIC else 4


def format_value(name: str, value: float | None) -> str:
    """One table cell: :func:`metric_decimals` decimals, ``-`` for None."""
    if value is None:
        return "-"
    if math.isinf(value):
        return "inf"
    return f"{value:.{metric_decimals(name)}f}"


def _table(rows: list[tuple[str, Mapping[str, Any] | None]], names: list[str], first: str) -> list[str]:
    arrows = {True: " ↑", False: " ↓"}
    header = [first] + [COLUMN_TITLES.get(n, n) + arrows[HIGHER_IS_BETTER.get(n, True)] for n in names]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * len(names)) + "|"]
    for label, values in rows:
        cells = [label] + [format_value(n, None if values is None else values.get(n)) for n in names]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def format_markdown(report: Mapping[str, Any]) -> str:
    """The report as Markdown: Table-1-style tables (rows = sequences + average)."""
    names = list(report["metrics"])
    sequences = report["sequences"]
    average = report["average"]
    lines = [
        "# SSR evaluation",
        "",
        f"Model: `{report['model']}` on {report['device']}; "
        f"{'1-spp full colour input (w/o-SS)' if report['full_spp'] else 'subpixel input as trained'}; "
        f"{len(sequences)} sequence(s). lin = linear HDR (peak = max of reference), "
        "sRGB = ACES + sRGB tone-mapped; Temporal = warped frame-difference error vs the reference "
        "(docs/evaluation.md).",
        "",
        "## Denoised, all frames",
        "",
    ]
    rows = [(s["name"], s["denoised"]["all"]) for s in sequences]
    rows.append(("**Average**", average["denoised"]["all"] if average["denoised"] else None))
    lines += _table(rows, names, "Sequence")
    if average["input"] is not None:
        lines += ["", f"## Baseline: {report['input_label']}, all frames", ""]
        rows = [(s["name"], s["input"]["all"] if s["input"] else None) for s in sequences]
        rows.append(("**Average**", average["input"]["all"]))
        lines += _table(rows, names, "Sequence")
    lines += [
        "",
        f"## Denoised: after cuts (cut frame + next {report['after_cut_frames'] - 1}) vs steady state",
        "",
    ]
    rows = []
    for entry in [*sequences, {"name": None, "denoised": average["denoised"]}]:
        if entry["denoised"] is None:
            continue
        for phase in ("after_cut", "steady"):
            block = entry["denoised"][phase]
            phase_label = phase.replace("_", " ")
            label = f"{entry['name']} / {phase_label}" if entry["name"] else f"**Average / {phase_label}**"
            rows.append((f"{label} ({block['frames']} frames)", block))
    lines += _table(rows, names, "Sequence / phase")
    return "\n".join(lines) + "\n"


def json_ready(value: Any) -> Any:
    """Replace non-finite floats (inf PSNR of identical frames, NaN) by None for strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    return value


def write_report(report: Mapping[str, Any], out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``<out_dir>/report.json`` and ``<out_dir>/report.md``; returns both paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / "report.json"
    md_path = out / "report.md"
    json_path.write_text(json.dumps(json_ready(report), indent=2, allow_nan=False) + "\n")
    md_path.write_text(format_markdown(report))
    return json_path, md_path
