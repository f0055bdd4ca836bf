"""``ssr bench training``: the learning curves of ``ssr train`` runs side by side.

Reads each run folder's TensorBoard scalars (``<run>/tb``: ``train/total``, every
``--log-every`` steps) and its validation log (``<run>/val.jsonl``), and writes:

- ``training_loss.png``: log10 of the training loss, averaged over bins of :data:`LOSS_BIN` steps;
- ``val_psnr.png``: validation PSNR at every validation step;
- a Markdown table (validation PSNR per step per run), printed and in ``training.md``.

Runs are labelled by their folder name; the x axis is the step.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any, Sequence

from ssr.evaluate import SELECTION_METRIC

__all__ = ["LOSS_BIN", "format_training_markdown", "read_run", "training_report", "write_training_plots"]

LOSS_BIN = 100
"""Steps per point of the training-loss curve (mean of the logged values in the bin)."""


def read_run(run: str | Path) -> dict[str, Any]:
    """``{"name", "loss": {step: value}, "val": [{"step", "psnr", ...}]}`` of one run folder."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    folder = Path(run)
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(f"{folder}: not an ssr train run folder (no config.json)")
    loss: dict[int, float] = {}
    tb = folder / "tb"
    if tb.is_dir():
        # a resumed run restarts its event log at the checkpoint: TensorBoard purges the
        # superseded steps (and warns about it, which is expected here)
        logging.getLogger("tensorboard").setLevel(logging.ERROR)
        events = EventAccumulator(str(tb), size_guidance={"scalars": 0})
        events.Reload()
        if "train/total" in events.Tags().get("scalars", []):
            # a resumed run re-logs steps after its last checkpoint: the latest value wins
            for event in events.Scalars("train/total"):
                loss[int(event.step)] = float(event.value)
    validation: dict[int, dict[str, Any]] = {}
    log = folder / "val.jsonl"
    if log.is_file():
        for line in log.read_text().splitlines():
            if line.strip():
                record = json.loads(line)
                validation[int(record["step"])] = record
    return {"name": folder.name, "loss": loss, "val": [validation[s] for s in sorted(validation)]}


def training_report(runs: Sequence[str | Path]) -> dict[str, Any]:
    """:func:`read_run` of every run, plus the binned loss curves on a shared step grid."""
    if not runs:
        raise ValueError("bench training: no run folders given (--runs a,b,...)")
    data = [read_run(run) for run in runs]
    last = max([max(d["loss"], default=0) for d in data] + [1])
    bins = list(range(0, last, LOSS_BIN))
    curves = {}
    for run in data:
        curve: list[float | None] = []
        for start in bins:
            values = [v for s, v in run["loss"].items() if start < s <= start + LOSS_BIN]
            curve.append(sum(values) / len(values) if values else None)
        curves[run["name"]] = curve
    return {"runs": data, "loss_bin": LOSS_BIN, "loss_bins": [b + LOSS_BIN for b in bins], "loss_curves": curves}


def write_training_plots(report: dict[str, Any], out_dir: str | Path) -> list[Path]:
    """``training_loss.png`` and ``val_psnr.png`` under ``out_dir``."""
    from .plot import write_curve_plot

    out = Path(out_dir)
    # losses span orders of magnitude (the first steps of a fresh model): plot log10
    log_curves = {name: [math.log10(v) if v is not None and v > 0 else None for v in curve]
                  for name, curve in report["loss_curves"].items()}
    written = [write_curve_plot(log_curves, out / "training_loss.png",
                                title=f"training loss, log10 (mean over each {report['loss_bin']} steps)",
                                x_label="step", y_label="log10 loss", x_ticks=[str(s) for s in report["loss_bins"]])]
    steps = sorted({record["step"] for run in report["runs"] for record in run["val"]})
    if steps:
        by_step = {run["name"]: {r["step"]: _val_psnr(r) for r in run["val"]} for run in report["runs"]}
        curves = {name: [values.get(step) for step in steps] for name, values in by_step.items()}
        written.append(write_curve_plot(curves, out / "val_psnr.png", title="validation PSNR sRGB",
                                        x_label="step", y_label="PSNR (dB)", x_ticks=[str(s) for s in steps]))
    return written


def _val_psnr(record: dict[str, Any]) -> float | None:
    """A validation record's selection metric (PSNR sRGB); runs from before it, their linear ``psnr``."""
    return record.get(SELECTION_METRIC, record.get("psnr"))


def format_training_markdown(report: dict[str, Any]) -> str:
    """Validation PSNR per step (rows) and run (columns), and the last binned loss."""
    names = [run["name"] for run in report["runs"]]
    steps = sorted({record["step"] for run in report["runs"] for record in run["val"]})
    lines = ["| step | " + " | ".join(names) + " |", "|---:|" + "---:|" * len(names)]
    for step in steps:
        cells = []
        for run in report["runs"]:
            value = next((_val_psnr(r) for r in run["val"] if r["step"] == step), None)
            cells.append("-" if value is None else f"{value:.2f}")
        lines.append(f"| {step} | " + " | ".join(cells) + " |")
    last = []
    for name in names:
        values = [v for v in report["loss_curves"][name] if v is not None]
        last.append("-" if not values else f"{values[-1]:.4f}")
    lines += ["", "Last binned training loss: " + ", ".join(f"{n} {v}" for n, v in zip(names, last))]
    return "\n".join(lines) + "\n"
