"""How much does reprojected history know? A model-free probe of temporal reuse at 1/4 spp
(BENCHMARKS.md section 16).

For each sequence, accumulates the traced 1/4-spp samples' demodulated irradiance
``color / (albedo + ALBEDO_EPS)`` in a per-pixel state ``(num, den)`` that is warped by the
frame's motion every frame (bilinear, as the model's state is: :func:`ssr.model.warp.warp`)
and reset at cuts. Untraced pixels keep their history (``tfa_untraced="keep"``); a traced
pixel blends its sample in with weight ``beta``:

* ``cumulative``: ``num += sample``, ``den += 1`` (the mean of every sample since the cut);
* ``ema B``: ``num = (1 - B) num + B sample`` (and ``den`` alike), an exponential average;
* ``latest``: ``B = 1``: each pixel's most recent sample (at most 3 frames old).

Each state's estimate ``num / den``, remodulated by the frame's albedo, is scored per pixel
(no spatial filter) against the reference, next to the raw 1-spp frame (OIDN high's input,
4x the samples) and the raw 1/4-spp frame at its traced pixels, over pixels every estimate
covers, on ``clip(x, 0, 1) ** (1/2.2)``. Perfect reprojection of a static scene would make
``cumulative`` at frame 15 a 4-spp estimate, 6 dB less noise than 1 spp; where the warp
blurs or the history lags, it falls behind.

    .venv/bin/python scripts/history_oracle.py SEQUENCE [SEQUENCE ...] [--from-frame 4]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import torch

from ssr.data_tools.contract import ALBEDO_EPS
from ssr.data_tools.format import Sequence
from ssr.metrics import tonemap_gamma
from ssr.model.warp import warp

MODES = {"latest": 1.0, "ema 0.5": 0.5, "ema 0.25": 0.25, "cumulative": None}


def _psnr(squared_error: float) -> float:
    return float(-10 * np.log10(max(squared_error, 1e-12)))


def probe(path: str, from_frame: int) -> dict[str, float]:
    """Mean squared error (tone-mapped) per estimate over frames ``>= from_frame`` since a cut."""
    quarter, full = Sequence(path), Sequence(path, apply_pattern=False)
    states: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    errors: dict[str, list[float]] = {name: [] for name in (*MODES, "1 spp raw", "1/4 spp raw (traced pixels)")}
    since_cut = 0
    for index in range(len(quarter)):
        frame = quarter.read_frame(index)
        color_1spp = full.read_frame(index, ["color"])["color"]
        albedo, reference = frame["albedo"], frame["reference"]
        mask = torch.from_numpy(frame["mask"][..., 0].copy())[None, None]
        sample = torch.from_numpy((frame["color"] / (albedo + ALBEDO_EPS)).transpose(2, 0, 1).copy())[None] * mask
        motion = torch.from_numpy(frame["motion"].transpose(2, 0, 1).copy())[None]
        since_cut = 0 if quarter.is_cut(index) else since_cut + 1
        for name, beta in MODES.items():
            if since_cut == 0 or name not in states:
                num, den = sample.clone(), mask.clone()
            else:
                num, den = (warp(part, motion) for part in states[name])
                if beta is None:
                    num, den = num + sample, den + mask
                else:
                    keep = 1.0 - beta * mask
                    num, den = keep * num + beta * sample, keep * den + beta * mask
            states[name] = (num, den)
        if since_cut < from_frame:
            continue
        covered = np.ones(reference.shape[:2], bool)
        estimates = {}
        for name, (num, den) in states.items():
            den_np = den[0, 0].numpy()
            covered &= den_np > 1e-3
            estimates[name] = (num[0].numpy() / np.maximum(den_np, 1e-3)).transpose(1, 2, 0) * (albedo + ALBEDO_EPS)
        target = tonemap_gamma(reference)
        for name, estimate in estimates.items():
            errors[name].append(float(np.mean((tonemap_gamma(estimate) - target)[covered] ** 2)))
        errors["1 spp raw"].append(float(np.mean((tonemap_gamma(color_1spp) - target)[covered] ** 2)))
        traced = frame["mask"][..., 0] > 0.5
        quarter_error = (tonemap_gamma(frame["color"]) - target)[traced]
        errors["1/4 spp raw (traced pixels)"].append(float(np.mean(quarter_error ** 2)))
    return {name: float(np.mean(values)) for name, values in errors.items()}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sequences", nargs="+", help="ssr-seq sequence folders with references")
    parser.add_argument("--from-frame", type=int, default=4, help="score frames at least this many after a cut")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    table: dict[str, list[float]] = {}
    for path in args.sequences:
        result = probe(path, args.from_frame)
        print(path.rstrip("/").split("/")[-1] + ": " + ", ".join(f"{k} {_psnr(v):.2f}" for k, v in result.items()),
              flush=True)
        for name, value in result.items():
            table.setdefault(name, []).append(_psnr(value))
    print("mean PSNR g2.2 over sequences (per-pixel estimates, no spatial filter):")
    for name, values in table.items():
        print(f"  {name:30s} {np.mean(values):6.2f} dB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
