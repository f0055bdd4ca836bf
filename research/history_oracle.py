"""How much does reprojected history know? A model-free probe of temporal reuse at 1/4 spp
(docs/benchmarks-history.md sections 16 and 21).

For each sequence, accumulates the traced 1/4-spp samples' demodulated irradiance
``color / (albedo + ALBEDO_EPS)`` in a per-pixel state ``(num, den)`` that is warped by the
frame's motion every frame and reset at cuts. Untraced pixels keep their history
(``tfa_untraced="keep"``); a traced pixel blends its sample in with weight ``beta``:

* ``cumulative``: ``num += sample``, ``den += 1`` (the mean of every sample since the cut);
* ``ema B``: ``num = (1 - B) num + B sample`` (and ``den`` alike), an exponential average;
* ``latest``: ``B = 1``: each pixel's most recent sample (at most 3 frames old).

``--warp bilinear`` (default) warps the state as the model does (:func:`ssr.model.warp.warp`);
``--warp nearest`` reads the nearest previous pixel instead, which moves samples without
averaging neighbours (no blur, no spatially correlated noise, up to half a pixel of jitter).

``--filter none`` (default) scores each state's estimate ``num / den``, remodulated by the
frame's albedo, per pixel against the reference, next to the raw 1-spp frame (OIDN high's
input, 4x the samples) and the raw 1/4-spp frame at its traced pixels, over pixels every
estimate covers, on ``clip(x, 0, 1) ** (1/2.2)``. Perfect reprojection of a static scene
would make ``cumulative`` at frame 15 a 4-spp estimate, 6 dB less noise than 1 spp; where
the warp blurs or the history lags, it falls behind.

``--filter oidn`` asks what a strong spatial filter makes of each stream: every estimate
(pixels with no history yet filled from a 5x5 neighbourhood) goes through OIDN high with the
frame's albedo and normal, next to OIDN high on the 1-spp frame (the benchmark's peer), and
whole frames are scored on the benchmark's headline tone map (``ssr.metrics.tonemap_srgb``).
OIDN was not trained on these streams, so this bounds nothing; it says which stream is
easier to filter.

    .venv/bin/python research/history_oracle.py SEQUENCE [SEQUENCE ...] [--from-frame 4]
        [--warp bilinear|nearest] [--filter none|oidn]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import torch
import torch.nn.functional as F

from ssr.data_tools.contract import ALBEDO_EPS
from ssr.data_tools.format import Sequence
from ssr.metrics import psnr_of_mse, tonemap_gamma, tonemap_srgb
from ssr.model.warp import sampling_grid, warp

MODES = {"latest": 1.0, "ema 0.5": 0.5, "ema 0.25": 0.25, "cumulative": None}
FILL_SIZE = 5


def _psnr(squared_error: float) -> float:
    return psnr_of_mse(squared_error)  # the one PSNR formula (ssr.metrics)


def _warp(buffer: torch.Tensor, motion: torch.Tensor, mode: str) -> torch.Tensor:
    if mode == "bilinear":
        return warp(buffer, motion)
    return F.grid_sample(buffer, sampling_grid(motion), mode="nearest", padding_mode="zeros", align_corners=False)


def _filled_estimate(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    """``num / den`` ``[1, 3, H, W]``; pixels without history take their neighbours' ratio."""
    box = torch.ones(1, 1, FILL_SIZE, FILL_SIZE)
    num_box = F.conv2d(num.transpose(0, 1), box, padding=FILL_SIZE // 2).transpose(0, 1)
    den_box = F.conv2d(den, box, padding=FILL_SIZE // 2)
    return torch.where(den > 1e-3, num / den.clamp_min(1e-3), num_box / den_box.clamp_min(1e-3))


def probe(path: str, from_frame: int, warp_mode: str = "bilinear", filter_name: str = "none") -> dict[str, float]:
    """Mean squared error (tone-mapped) per estimate over frames ``>= from_frame`` since a cut."""
    quarter, full = Sequence(path), Sequence(path, apply_pattern=False)
    oidn = None
    if filter_name == "oidn":
        from bench.peers import oidn_denoise as oidn
    states: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    baselines = ("OIDN high, 1 spp",) if oidn else ("1 spp raw", "1/4 spp raw (traced pixels)")
    errors: dict[str, list[float]] = {name: [] for name in (*MODES, *baselines)}
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
                num, den = (_warp(part, motion, warp_mode) for part in states[name])
                if beta is None:
                    num, den = num + sample, den + mask
                else:
                    keep = 1.0 - beta * mask
                    num, den = keep * num + beta * sample, keep * den + beta * mask
            states[name] = (num, den)
        if since_cut < from_frame:
            continue
        if oidn is not None:
            target = tonemap_srgb(reference)
            for name, (num, den) in states.items():
                estimate = _filled_estimate(num, den)[0].numpy().transpose(1, 2, 0) * (albedo + ALBEDO_EPS)
                denoised = oidn(estimate.astype(np.float32), albedo, frame["normal"])
                errors[name].append(float(np.mean((tonemap_srgb(denoised) - target) ** 2)))
            peer = oidn(color_1spp, albedo, frame["normal"])
            errors["OIDN high, 1 spp"].append(float(np.mean((tonemap_srgb(peer) - target) ** 2)))
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
    parser.add_argument("--warp", choices=("bilinear", "nearest"), default="bilinear",
                        help="how the state follows the motion (default: bilinear, as the model)")
    parser.add_argument("--filter", choices=("none", "oidn"), default="none",
                        help="score the estimates per pixel (none) or after OIDN high (oidn)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    table: dict[str, list[float]] = {}
    for path in args.sequences:
        result = probe(path, args.from_frame, args.warp, args.filter)
        print(path.rstrip("/").split("/")[-1] + ": " + ", ".join(f"{k} {_psnr(v):.2f}" for k, v in result.items()),
              flush=True)
        for name, value in result.items():
            table.setdefault(name, []).append(_psnr(value))
    space = "sRGB (ACES), whole frames, after OIDN high" if args.filter == "oidn" else \
        "g2.2, per-pixel estimates, no spatial filter"
    print(f"mean PSNR {space}, {args.warp} warp, frames >= {args.from_frame} after a cut:")
    for name, values in table.items():
        print(f"  {name:30s} {np.mean(values):6.2f} dB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
