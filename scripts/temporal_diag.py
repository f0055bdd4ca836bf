"""How much history does a trained model use? (BENCHMARKS.md section 13)

Streams one sequence (1/4-spp subpixel input, as trained) through a kernel-output model and
prints per frame: the TFA's current-frame weight ``beta`` (mean over traced and untraced
pixels; at a traced pixel the accumulated irradiance is ``(1 - beta) * history + beta *
sample``, so ``beta`` sets how many past samples the state averages), the blended traced
mask ``A_mask``, the mean full-resolution history weight ``softplus(logit)`` of the kernel
resolve (before the warp coverage), and PSNR on ``clip(x, 0, 1) ** (1/2.2)``.

    .venv/bin/python scripts/temporal_diag.py SEQUENCE [MODEL]    # MODEL: weights or run/last.pt (default: bundled)
"""

from __future__ import annotations

import sys

import numpy as np
import torch
import torch.nn.functional as F

import ssr.model.network as network
from ssr.data_tools.format import Sequence
from ssr.data_tools.pack import pack_frame
from ssr.model.weights import load_model
from ssr.streaming import check_frame


def psnr_gamma(test: np.ndarray, ref: np.ndarray) -> float:
    def tone(image: np.ndarray) -> np.ndarray:
        return np.clip(image, 0, 1) ** (1 / 2.2)
    return float(-10 * np.log10(np.mean((tone(test) - tone(ref)) ** 2)))


def main(argv: list[str]) -> int:
    if not 1 <= len(argv) <= 2:
        print(__doc__, file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    net = load_model(argv[1] if len(argv) > 1 else None).eval()
    if net.tfa is None or net.config.output != "kernel":
        print("temporal_diag: needs a model with the TFA and kernel output", file=sys.stderr)
        return 2
    sequence = Sequence(argv[0])  # the subpixel pattern applied, as in training
    captured: dict[str, torch.Tensor] = {}
    net.tfa.register_forward_hook(lambda module, inputs, outputs: captured.__setitem__("beta", outputs[2]))
    softplus = F.softplus

    def recording_softplus(logit: torch.Tensor, *args, **kwargs) -> torch.Tensor:  # the history weight
        weight = softplus(logit, *args, **kwargs)
        captured["history_weight"] = weight
        return weight

    network.F.softplus = recording_softplus  # type: ignore[assignment]
    acc = prev_out = None
    for index, cut, frame in sequence.frames():
        packed = torch.from_numpy(pack_frame(check_frame(frame)))[None]
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
        print(f"frame {index:2d} reset={int(reset)}  beta traced {beta[traced].mean():.3f} untraced "
              f"{beta[~traced].mean():.3f}  A_mask {float(acc[0, 13].mean()):.3f}  history weight {history:.3f}  "
              f"PSNR g2.2 {psnr_gamma(color[0].permute(1, 2, 0).numpy(), frame['reference']):.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
