"""Evaluate a model on ssr-seq sequences against their ``reference`` layer.

Each sequence is streamed through the model frame by frame (history reset at meta.json
cuts); every output frame is scored against the reference (PSNR / SSIM / RMSE on linear
HDR and on tone-mapped sRGB, HDR-FLIP, warped temporal error). Frames right after a cut
(the cut frame and the next 3) are reported apart from steady-state frames, and the noisy
input (1-spp colour at every pixel) is scored as a baseline. Writes ``report.json`` and
``report.md`` (the paper's Table-1 shape: rows = sequences + average) and prints the
tables. Metric definitions: docs/evaluation.md.

examples:
  ssr eval --model runs/small/model --data data/ssr-default --split val --out eval_val
  ssr eval --data data/seq_kitchen                        # one sequence, bundled model
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
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
    "add_arguments",
    "average_over_sequences",
    "evaluate",
    "format_markdown",
    "format_value",
    "in_phase",
    "json_ready",
    "metric_decimals",
    "phase_means",
    "resolve_sequences",
    "run",
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
    model: Any,
    path: Path,
    *,
    device: Any,
    full_spp: bool,
    subpixel: bool,
    metrics: MetricSet,
    include_input: bool,
    max_frames: int | None,
    progress: bool | None,
) -> dict[str, Any]:
    from tqdm import tqdm

    from ssr.data_tools.format import Sequence
    from ssr.streaming import StreamLoop, TorchBackend

    sequence = Sequence(path, apply_pattern=False)
    stored_full = sequence.sampling == "full"
    use_pattern = subpixel and not full_spp and stored_full
    baseline = include_input and stored_full
    frame_total = len(sequence) if max_frames is None else min(len(sequence), max_frames)
    names = metrics.names() + (TEMPORAL_METRIC,)
    records: list[dict[str, Any]] = []
    stream = StreamLoop(TorchBackend(model, device=str(device)))
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
    full_spp: bool = False,
    metrics: MetricSet | None = None,
    include_input: bool = True,
    max_frames: int | None = None,
    progress: bool | None = False,
) -> dict[str, Any]:
    """Stream each sequence through ``model`` and score every frame against ``reference``.

    Args:
        model: an :class:`ssr.model.SSRNet` (its train/eval mode is restored afterwards),
            a weights path, or None for the bundled default model.
        sequences: ssr-seq sequence folders (see :func:`resolve_sequences`).
        device: torch device string; an ``SSRNet`` is moved there.
        full_spp: feed every pixel's 1-spp colour (w/o-SS mode) instead of the subpixel
            pattern; by default the model's ``config.subpixel`` decides.
        metrics: which per-frame metrics (default: all, FLIP included).
        include_input: also score the noisy input colour (1 spp at every pixel) as a
            baseline (only possible for sequences stored with ``sampling: full``).
        max_frames: evaluate only the first N frames of each sequence.
        progress: tqdm bars (None: only on a terminal).

    Returns:
        A JSON-ready dict: ``sequences`` (per sequence: ``denoised`` and ``input`` ->
        ``{"all" | "after_cut" | "steady": {"frames": n, metric: mean}}`` and
        ``per_frame`` records), ``average`` (the mean of the per-sequence means, like the
        paper's Table 1) and the settings used. Metric values are None where no frame
        qualifies (e.g. no steady-state frames in a 3-frame sequence).
    """
    import torch

    from ssr.model import load_model

    chosen = metrics or MetricSet()
    torch_device = torch.device(device)
    if model is None or isinstance(model, (str, os.PathLike)):
        model_label = "bundled default" if model is None else str(model)
        net = load_model(model, device=torch_device)
        was_training = False
    else:
        model_label = type(model).__name__
        net = model
        was_training = net.training
        net.to(torch_device)
    net.eval()
    subpixel = bool(getattr(getattr(net, "config", None), "subpixel", True))
    names = chosen.names() + (TEMPORAL_METRIC,)
    try:
        results = [
            _evaluate_sequence(
                net, Path(path), device=torch_device, full_spp=full_spp, subpixel=subpixel, metrics=chosen,
                include_input=include_input, max_frames=max_frames, progress=progress,
            )
            for path in sequences
        ]
    finally:
        net.train(was_training)
    return {
        "model": model_label,
        "device": str(torch_device),
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


# ----------------------------------------------------------------------------- CLI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of ``ssr eval``."""
    parser.add_argument("--model", default=None, help="saved weights <path> or a training checkpoint <run>/last.pt (default: the bundled model)")
    parser.add_argument("--data", required=True, help="a sequence folder or a dataset folder of sequences")
    parser.add_argument("--split", default=None, help="evaluate <data>/<split>/ (e.g. val, test)")
    parser.add_argument("--skip-incomplete", action="store_true",
                        help="leave out sequences whose frames are not all written yet (a dataset still rendering)")
    parser.add_argument("--out", default=None, help="write report.json and report.md here (default: print only)")
    parser.add_argument("--device", default="cpu", help="torch device: cpu, cuda, ... (default cpu)")
    parser.add_argument("--full-spp", action="store_true",
                        help="feed 1-spp colour at every pixel (w/o-SS) instead of the subpixel pattern")
    parser.add_argument("--max-frames", type=int, default=None, help="only the first N frames of each sequence")
    parser.add_argument("--no-flip", action="store_true", help="skip HDR-FLIP (the slowest metric)")
    parser.add_argument("--no-input", action="store_true", help="skip the noisy-input baseline rows")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--exposure", type=float, default=1.0, help="tone-mapper exposure for sRGB metrics")


def run(args: argparse.Namespace) -> int:
    """``ssr eval``: returns 0 on success, 2 on bad input (message on stderr)."""
    from ssr.data_tools.format import FormatError

    if args.max_frames is not None and args.max_frames < 1:
        print("ssr eval: error: --max-frames must be >= 1", file=sys.stderr)
        return 2
    try:
        sequences = resolve_sequences(args.data, args.split, args.skip_incomplete)
        report = evaluate(
            args.model,
            sequences,
            device=args.device,
            full_spp=args.full_spp,
            metrics=MetricSet(flip=not args.no_flip, exposure=args.exposure),
            include_input=not args.no_input,
            max_frames=args.max_frames,
            progress=False if args.no_progress else None,
        )
    except (FormatError, FileNotFoundError, ValueError) as error:
        print(f"ssr eval: error: {error}", file=sys.stderr)
        return 2
    print(format_markdown(report))
    if args.out:
        json_path, md_path = write_report(report, args.out)
        print(f"ssr eval: wrote {json_path} and {md_path}")
    return 0
