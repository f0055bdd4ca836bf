"""What does the rule-based history alone know? A model-free probe of ``history="rule"``
(docs/training.md, "Rule-based history"; issue 31, section 1).

Streams a sequence's packed 1/4-spp frames through the rule core of a ``history="rule"``
model, without its network: validity-tested reprojection (:func:`ssr.model.history.reproject`)
and sample counting (:func:`ssr.model.history.accumulate_samples`, the per-pixel cap of
:func:`ssr.model.history.history_cap_map`). Each frame's estimate is the state's mean
``A_irr / N`` remodulated by the frame's albedo, pixels with no sample yet filled from their
5x5 neighbourhood. It is scored against the reference on ``clip(x, 0, 1) ** (1/2.2)``
(PSNR γ2.2) beside the 1-spp frame (OIDN's input), and with ``--oidn`` after OIDN high on
the ``ssr.metrics.tonemap_srgb`` scale beside OIDN high on the 1-spp frame (OIDN was not
trained on this input: the estimate is what a filter trained on it starts from). Prints
one line per window of frames since the last cut and the mean ``N``.

    .venv/bin/python research/rule_history_probe.py SEQUENCE [SEQUENCE ...] [--cap 32] [--oidn]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import torch
import torch.nn.functional as F

from ssr.data_tools import Sequence, pack_frame
from ssr.data_tools.contract import ALBEDO_EPS, RULE_HISTORY_CAP, SLICES
from ssr.metrics import psnr_of_mse, tonemap_gamma, tonemap_srgb
from ssr.model.history import accumulate_samples, history_cap_map, reproject

WINDOWS = ((0, 4), (4, 8), (8, 16), (16, 24), (24, 32), (32, 64))
FILL = 5


def _psnr(squared_error: float) -> float:
    return psnr_of_mse(squared_error)  # the one PSNR formula (ssr.metrics)


def _estimate(total: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
    box = torch.ones(1, 1, FILL, FILL)
    num = F.conv2d(total.transpose(0, 1), box, padding=FILL // 2).transpose(0, 1)
    den = F.conv2d(count, box, padding=FILL // 2)
    return torch.where(count > 0, total / count.clamp_min(1e-6), num / den.clamp_min(1e-6))


def probe(path: str, cap: float, use_oidn: bool) -> dict[tuple[int, int], dict[str, list[float]]]:
    quarter, full = Sequence(path), Sequence(path, apply_pattern=False)
    oidn = None
    if use_oidn:
        from bench.peers import oidn_denoise as oidn
    rows: dict[tuple[int, int], dict[str, list[float]]] = {w: {} for w in WINDOWS}
    state = None
    since_cut = 0
    for index in range(len(quarter)):
        frame = quarter.read_frame(index)
        packed = torch.from_numpy(pack_frame(frame))[None]
        since_cut = 0 if quarter.is_cut(index) else since_cut + 1
        mask = packed[:, SLICES["mask"]]
        sample = (torch.exp(packed[:, SLICES["irradiance"]]) - 1.0) * mask
        normal, depth = packed[:, SLICES["normal"]], packed[:, SLICES["depth"]]
        if state is None or since_cut == 0:
            total, count, square = torch.zeros_like(sample), torch.zeros_like(mask), torch.zeros_like(mask)
        else:
            previous = torch.cat((state[0], state[1], state[2], state[3], state[4]), dim=1)
            weighted, weight = reproject(previous, packed[:, SLICES["motion"]], normal, depth)
            renormalised = torch.where(weight > 0, weighted / weight.clamp_min(1e-6), torch.zeros_like(weighted))
            total, count, square = renormalised[:, 0:3], renormalised[:, 13:14], renormalised[:, 12:13]
        pixel_cap = history_cap_map(packed[:, SLICES["roughness"]], packed[:, SLICES["transparent"]], cap)
        total, count, square = accumulate_samples(total, count, square, sample, mask, pixel_cap)
        # the reprojection reads normal (6-8) and depth (9) of the 14-plane layout
        filler = torch.zeros(1, 3, *mask.shape[-2:])
        state = (total, filler, normal, depth, torch.cat((filler[:, :2], square, count), dim=1))
        window = next((w for w in WINDOWS if w[0] <= since_cut < w[1]), None)
        if window is None:
            continue
        albedo, reference = frame["albedo"], frame["reference"]
        estimate = _estimate(total, count)[0].numpy().transpose(1, 2, 0) * (albedo + ALBEDO_EPS)
        color_1spp = full.read_frame(index, ["color"])["color"]
        scores = rows[window]
        scores.setdefault("mean N", []).append(float(count.mean()))
        target = tonemap_gamma(reference)
        scores.setdefault("rule estimate, γ2.2", []).append(float(np.mean((tonemap_gamma(estimate) - target) ** 2)))
        scores.setdefault("1 spp raw, γ2.2", []).append(float(np.mean((tonemap_gamma(color_1spp) - target) ** 2)))
        if oidn is not None:
            target = tonemap_srgb(reference)
            filtered = oidn(estimate.astype(np.float32), albedo, frame["normal"])
            peer = oidn(color_1spp, albedo, frame["normal"])
            scores.setdefault("OIDN high on the estimate, sRGB", []).append(
                float(np.mean((tonemap_srgb(filtered) - target) ** 2)))
            scores.setdefault("OIDN high on 1 spp, sRGB", []).append(float(np.mean((tonemap_srgb(peer) - target) ** 2)))
    return rows


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sequences", nargs="+", help="ssr-seq sequence folders with references")
    parser.add_argument("--cap", type=float, default=RULE_HISTORY_CAP, help="history cap N_max (default 32)")
    parser.add_argument("--oidn", action="store_true", help="also OIDN high on the estimate and on the 1-spp frame")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    for path in args.sequences:
        rows = probe(path, args.cap, args.oidn)
        print(path.rstrip("/").split("/")[-1])
        for (lo, hi), scores in rows.items():
            if not scores:
                continue
            cells = [f"{name} {np.mean(v):.2f}" if name == "mean N" else f"{name} {_psnr(float(np.mean(v))):.2f}"
                     for name, v in scores.items()]
            print(f"  frames {lo}-{hi - 1} since cut: " + ", ".join(cells), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
