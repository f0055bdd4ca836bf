"""How much history does a trained model use? (docs/benchmarks-history.md section 13)

Streams one sequence (1/4-spp subpixel input, as trained) through a kernel-output model and
prints per frame: the TFA's current-frame weight ``beta`` (mean over traced and untraced
pixels; at a traced pixel the accumulated irradiance is ``(1 - beta) * history + beta *
sample``, so ``beta`` sets how many past samples the state averages), the blended traced
mask ``A_mask``, the mean full-resolution history weight ``softplus(logit)`` of the kernel
resolve (before the warp coverage), and PSNR on ``clip(x, 0, 1) ** (1/2.2)``, then the
mean PSNR of the last 4 frames. ``--beta-scale S`` / ``--history-scale M`` multiply both
weights at inference (a probe: does the trained model gain from more history?).

    .venv/bin/python research/temporal_diag.py SEQUENCE [--model WEIGHTS] [--beta-scale S] [--history-scale M]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import torch
import torch.nn.functional as F

import ssr.model.network as network
import ssr.model.tfa as tfa
from ssr.data_tools.format import Sequence
from ssr.data_tools.pack import pack_frame
from ssr.metrics import psnr, tonemap_gamma
from ssr.model.weights import load_model
from ssr.streaming import check_frame


def psnr_gamma(test: np.ndarray, ref: np.ndarray) -> float:
    return psnr(tonemap_gamma(test), tonemap_gamma(ref), data_range=1.0)  # the benchmark's psnr_gamma


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sequence", help="an ssr-seq sequence folder with references")
    parser.add_argument("--model", default=None, help="weights or <run>/last.pt (default: the bundled model)")
    parser.add_argument("--beta-scale", type=float, default=1.0, help="multiply the TFA's beta by this")
    parser.add_argument("--history-scale", type=float, default=1.0, help="multiply the history weight by this")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    net = load_model(args.model).eval()
    if net.tfa is None or net.config.output != "kernel":
        print("temporal_diag: needs a model with the TFA and kernel output", file=sys.stderr)
        return 2
    blend = tfa.accumulate

    def scaled_accumulate(e_ref, e_cur, e_prev, x_t, warped_acc, gate=None):  # beta * S, the blend re-done with it
        _, _, beta = blend(e_ref, e_cur, e_prev, x_t, warped_acc, gate)
        beta = beta * args.beta_scale
        return (1.0 - beta) * warped_acc + beta * x_t, 1.0 - beta, beta

    tfa.accumulate = scaled_accumulate  # type: ignore[assignment]
    sequence = Sequence(args.sequence)  # the subpixel pattern applied, as in training
    captured: dict[str, torch.Tensor] = {}
    net.tfa.register_forward_hook(lambda module, inputs, outputs: captured.__setitem__("beta", outputs[2]))
    softplus = F.softplus

    history_scale = args.history_scale

    def recording_softplus(logit: torch.Tensor, *args, **kwargs) -> torch.Tensor:  # the history weight
        weight = softplus(logit, *args, **kwargs) * history_scale
        captured["history_weight"] = weight
        return weight

    network.F.softplus = recording_softplus  # type: ignore[assignment]
    acc = prev_out = None
    scores: list[float] = []
    for index, cut, frame in sequence.frames():
        packed = torch.from_numpy(pack_frame(check_frame(frame), specular_floor=net.config.specular_floor))[None]
        height, width = packed.shape[-2:]
        reset = acc is None or cut
        if reset:
            acc, prev_out = torch.zeros(1, 14, height, width), torch.zeros(1, 3, height, width)
        captured.pop("history_weight", None)
        with torch.no_grad():
            color, acc, prev_out = net(packed, acc, prev_out, torch.full((1, 1, 1, 1), float(reset)))
        beta = captured["beta"][0, 0].numpy()
        traced = frame["mask"][..., 0] > 0.5
        history = float(captured["history_weight"].mean()) if not reset and "history_weight" in captured else 0.0
        scores.append(psnr_gamma(color[0].permute(1, 2, 0).numpy(), frame["reference"]))
        print(f"frame {index:2d} reset={int(reset)}  beta traced {beta[traced].mean():.3f} untraced "
              f"{beta[~traced].mean():.3f}  A_mask {float(acc[0, 13].mean()):.3f}  history weight {history:.3f}  "
              f"PSNR g2.2 {scores[-1]:.2f}", flush=True)
    print(f"last 4 frames: PSNR g2.2 {np.mean(scores[-4:]):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
