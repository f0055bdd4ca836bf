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

from ssr.bench.materials import BiasAccumulator, material_classes
from ssr.data_tools import Sequence, pack_frame
from ssr.data_tools.contract import ALBEDO_EPS, RULE_HISTORY_CAP, SLICES, specular_floor_offset
from ssr.metrics import psnr_of_mse, tonemap_gamma, tonemap_srgb
from ssr.model.history import accumulate_samples, history_cap_map, luminance, reproject

WINDOWS = ((0, 4), (4, 8), (8, 16), (16, 24), (24, 32), (32, 64))
FILL = 5


def _psnr(squared_error: float) -> float:
    return psnr_of_mse(squared_error)  # the one PSNR formula (ssr.metrics)


def _estimate(total: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
    box = torch.ones(1, 1, FILL, FILL)
    num = F.conv2d(total.transpose(0, 1), box, padding=FILL // 2).transpose(0, 1)
    den = F.conv2d(count, box, padding=FILL // 2)
    return torch.where(count > 0, total / count.clamp_min(1e-6), num / den.clamp_min(1e-6))


def gradient_rejection(total: torch.Tensor, count: torch.Tensor, square: torch.Tensor, sample: torch.Tensor,
                       traced: torch.Tensor, tile: int, k: float) -> torch.Tensor:
    """A-SVGF-style temporal gradient from the fresh samples, ``[1, 1, H, W]`` in [0, 1].

    Per ``tile x tile`` block, the mean luminance of this frame's traced samples is compared
    with the mean of the reprojected history at the same pixels; the difference is judged
    against the standard error the history's own variance predicts for that many samples
    (``z``). ``lambda = clamp((z - k) / k, 0, 1)``: no rejection within ``k`` standard errors,
    all of it at ``2k``. (A-SVGF re-shades with the previous frame's random numbers, which a
    denoiser fed by a renderer does not get; the variance test stands in for it.)
    """
    has = (traced * (count > 0).float())
    mean = total / count.clamp_min(1e-6)
    lum_mean = luminance(mean)
    variance = (square / count.clamp_min(1e-6) - lum_mean ** 2).clamp_min(0.0)
    pool = lambda x: F.avg_pool2d(x, tile, ceil_mode=True)  # noqa: E731
    samples = pool(has) * tile * tile
    fresh = pool(luminance(sample) * has) * tile * tile / samples.clamp_min(1.0)
    history = pool(lum_mean * has) * tile * tile / samples.clamp_min(1.0)
    spread = (pool(variance * has) * tile * tile / samples.clamp_min(1.0) / samples.clamp_min(1.0)).sqrt()
    z = (fresh - history).abs() / (spread + 0.02 * history + 1e-4)
    rejection = ((z - k) / k).clamp(0.0, 1.0) * (samples > 0).float()
    height, width = total.shape[-2:]
    return F.interpolate(rejection, scale_factor=tile, mode="nearest")[..., :height, :width]


def probe(path: str, cap: float, use_oidn: bool, reject_tile: int = 0, reject_k: float = 2.0,
          bias: "dict[str, BiasAccumulator] | None" = None,
          specular_floor: float = 0.0) -> dict[tuple[int, int], dict[str, list[float]]]:
    quarter, full = Sequence(path), Sequence(path, apply_pattern=False)
    oidn = None
    if use_oidn:
        from bench.peers import oidn_denoise as oidn
    rows: dict[tuple[int, int], dict[str, list[float]]] = {w: {} for w in WINDOWS}
    state = None
    since_cut = 0
    for index in range(len(quarter)):
        frame = quarter.read_frame(index)
        packed = torch.from_numpy(pack_frame(frame, specular_floor=specular_floor))[None]
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
        if reject_tile and state is not None and since_cut > 0:
            shorten = 1.0 - gradient_rejection(total, count, square, sample, mask, reject_tile, reject_k)
            total, count, square = total * shorten, count * shorten, square * shorten
        pixel_cap = history_cap_map(packed[:, SLICES["roughness"]], packed[:, SLICES["transparent"]], cap)
        total, count, square = accumulate_samples(total, count, square, sample, mask, pixel_cap)
        # the reprojection reads normal (6-8) and depth (9) of the 14-plane layout
        filler = torch.zeros(1, 3, *mask.shape[-2:])
        state = (total, filler, normal, depth, torch.cat((filler[:, :2], square, count), dim=1))
        window = next((w for w in WINDOWS if w[0] <= since_cut < w[1]), None)
        if window is None:
            continue
        albedo, reference = frame["albedo"], frame["reference"]
        floor = specular_floor_offset(frame["roughness"], frame["metallic"], specular_floor)
        estimate = _estimate(total, count)[0].numpy().transpose(1, 2, 0) * (albedo + floor + ALBEDO_EPS)
        color_1spp = full.read_frame(index, ["color"])["color"]
        scores = rows[window]
        scores.setdefault("mean N", []).append(float(count.mean()))
        if bias is not None and since_cut >= 16:
            classes = material_classes(frame)
            bias.setdefault("rule estimate", BiasAccumulator()).add(estimate, reference, classes)
            bias.setdefault("1 spp raw", BiasAccumulator()).add(color_1spp, reference, classes)
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
    parser.add_argument("--reject-tile", type=int, default=0,
                        help="shorten the history by a temporal gradient of the fresh samples over tiles of this "
                             "size (0: off; gradient_rejection)")
    parser.add_argument("--reject-k", type=float, default=2.0, help="standard errors tolerated before rejecting")
    parser.add_argument("--specular-floor", type=float, default=0.0,
                        help="demodulate as a model with this ModelConfig.specular_floor does (the recipe: 0.2)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    for path in args.sequences:
        bias: dict[str, BiasAccumulator] = {}
        rows = probe(path, args.cap, args.oidn, args.reject_tile, args.reject_k, bias, args.specular_floor)
        print(path.rstrip("/").split("/")[-1])
        for (lo, hi), scores in rows.items():
            if not scores:
                continue
            cells = [f"{name} {np.mean(v):.2f}" if name == "mean N" else f"{name} {_psnr(float(np.mean(v))):.2f}"
                     for name, v in scores.items()]
            print(f"  frames {lo}-{hi - 1} since cut: " + ", ".join(cells), flush=True)
        for name, accumulator in bias.items():  # frames >= 16 since the cut
            table = accumulator.table("all")
            print(f"  bias (frames >= 16), {name}: " + ", ".join(
                f"{cls} {' / '.join(f'{v:.2f}' for v in entry['ratio'])}" for cls, entry in table.items()
                if entry["ratio"] is not None))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
