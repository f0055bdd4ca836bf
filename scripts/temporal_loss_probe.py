"""What the temporal loss terms see on a real sequence (docs/training.md, "Loss").

Streams one sequence (1/4-spp subpixel input, as trained) through a model and, for every
pair of consecutive frames without a cut, scores the temporal term
``l_t(d_t - d_{t-1}, r_t - r_{t-1})`` of two outputs against the sequence's noisy
references, with SMAPE (SPEC.md) and with the noise2noise relative MSE
(``ssr.losses.temporal_loss``):

* ``model``: the model's output ``d_t``;
* ``frozen``: the previous output repeated (``d_t = d_{t-1}``, perfectly stable).

It also prints the share of pixels whose SMAPE term exceeds 0.9, where SMAPE is saturated
and gives no gradient. A loss that ranks the frozen output no better than a noisy model
output gives static regions no pull towards stability.

    .venv/bin/python scripts/temporal_loss_probe.py SEQUENCE [--model WEIGHTS] [--frames N]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from ssr.data_tools.format import Sequence
from ssr.losses import smape_map, temporal_loss
from ssr.streaming import StreamLoop, TorchBackend


def _chw(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sequence", help="an ssr-seq sequence folder with references")
    parser.add_argument("--model", default=None, help="weights or <run>/last.pt (default: the bundled model)")
    parser.add_argument("--frames", type=int, default=0, help="frames to stream (0: all)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    loop = StreamLoop(TorchBackend(args.model))
    sequence = Sequence(args.sequence)
    previous: tuple[torch.Tensor, torch.Tensor] | None = None
    rows: list[tuple[float, float, float, float, float]] = []
    for index, cut, frame in sequence.frames():
        if args.frames and index >= args.frames:
            break
        denoised = _chw(loop.denoise(frame, cut))
        reference = _chw(frame["reference"].astype(np.float32))
        if previous is not None and not cut:
            denoised_prev, reference_prev = previous
            terms = (temporal_loss(d, denoised_prev, reference, reference_prev, kind)
                     for d in (denoised, denoised_prev) for kind in ("smape", "relmse"))
            model_smape, model_relmse, frozen_smape, frozen_relmse = (float(t) for t in terms)
            per_pixel = smape_map(denoised - denoised_prev, reference - reference_prev)
            saturated = float((per_pixel > 0.9).float().mean())
            rows.append((model_smape, frozen_smape, model_relmse, frozen_relmse, saturated))
        previous = (denoised, reference)
    if not rows:
        parser.error(f"{args.sequence}: no pair of consecutive frames without a cut")
    print(f"{'frame pair':>10} {'smape model':>12} {'smape frozen':>13} {'relmse model':>13} "
          f"{'relmse frozen':>14} {'smape > 0.9':>12}")
    for number, row in enumerate(rows, start=1):
        print(f"{number:>10} {row[0]:>12.4f} {row[1]:>13.4f} {row[2]:>13.5f} {row[3]:>14.5f} {row[4]:>11.1%}")
    mean = np.mean(np.asarray(rows), axis=0)
    print(f"{'mean':>10} {mean[0]:>12.4f} {mean[1]:>13.4f} {mean[2]:>13.5f} {mean[3]:>14.5f} {mean[4]:>11.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
