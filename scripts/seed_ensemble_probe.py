"""How much of a model's held-out error is seed-to-seed variance? A probe (docs/benchmarks-history.md
section 17).

Streams each sequence through several models trained with the same recipe and different
seeds (each keeps its own recurrent state), and scores each model and the mean of their
linear outputs with ``psnr_srgb`` (``ssr.metrics.compute_frame_metrics``, as ``ssr bench
quality``; mean over frames, then over sequences). If the ensemble gains much over its
members, the members disagree: their error is variance that more data, more steps or
averaged weights could remove; if it gains little, they share a bias.

    .venv/bin/python scripts/seed_ensemble_probe.py SEQUENCE [SEQUENCE ...] --models A.pt,B.pt[,C.pt]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from ssr.bench.quality import SCORED_LAYERS
from ssr.data_tools.format import Sequence, apply_subpixel_pattern
from ssr.metrics import MetricSet, compute_frame_metrics
from ssr.streaming import StreamLoop, TorchBackend



def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sequences", nargs="+", help="ssr-seq folders stored with sampling: full and references")
    parser.add_argument("--models", required=True, help="comma-separated weights (>= 2)")
    args = parser.parse_args(argv)
    models = args.models.split(",")
    if len(models) < 2:
        parser.error("--models needs at least two weights")
    metrics = MetricSet(ssim=False, flip=False)
    names = [*(f"model {i}" for i in range(len(models))), "ensemble mean"]
    table: dict[str, list[float]] = {name: [] for name in names}
    for path in args.sequences:
        sequence = Sequence(path, apply_pattern=False)
        streams = [StreamLoop(TorchBackend(model)) for model in models]
        scores: dict[str, list[float]] = {name: [] for name in names}
        for index in range(len(sequence)):
            frame = sequence.read_frame(index, SCORED_LAYERS)
            quarter = apply_subpixel_pattern(frame, index)
            outputs = [stream.denoise(quarter, cut=sequence.is_cut(index)) for stream in streams]
            outputs.append(np.mean(outputs, axis=0))
            for name, output in zip(names, outputs):
                scores[name].append(compute_frame_metrics(output, frame["reference"], metrics)["psnr_srgb"])
        for name in names:
            table[name].append(float(np.mean(scores[name])))
        print(sequence.name, " ".join(f"{name}: {table[name][-1]:.2f}" for name in names), flush=True)
    print("\nmean PSNR sRGB over sequences:")
    for name in names:
        print(f"  {name:14s} {np.mean(table[name]):6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
