"""Where does the error come from? Squared error by material class, ours vs OIDN high
(docs/benchmarks-history.md section 17).

Streams each sequence through a model (1/4-spp subpixel input, as ``ssr bench quality``) and
OIDN high (1 spp, 4x the samples), and sums the squared error of the tone-mapped images
(``ssr.metrics.tonemap_srgb``, the space of ``psnr_srgb``) per material class of
:func:`bench.materials.material_classes` (metal, glass, glossy, diffuse, miss) over frames
``>= --from-frame``. Prints, per class: its share of the pixels, each method's mean squared
error there, and each method's share of its own total squared error, then the PSNR the
model would have if one class's error were OIDN's (the dB that class costs).

    .venv/bin/python research/error_by_material.py SEQUENCE [SEQUENCE ...] --model WEIGHTS [--from-frame 4]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from ssr.bench.materials import MATERIALS, material_classes
from ssr.bench.peers import OidnDenoiser
from ssr.bench.quality import SCORED_LAYERS
from ssr.data_tools.format import Sequence, apply_subpixel_pattern
from ssr.metrics import psnr_of_mse, tonemap_srgb
from ssr.streaming import StreamLoop, TorchBackend



def _psnr(mse: float) -> float:
    return psnr_of_mse(mse)  # the one PSNR formula (ssr.metrics)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sequences", nargs="+", help="ssr-seq folders stored with sampling: full and references")
    parser.add_argument("--model", required=True, help="weights or <run>/last.pt")
    parser.add_argument("--from-frame", type=int, default=0, help="score frames from this index on (default 0)")
    args = parser.parse_args(argv)

    sums = {name: np.zeros(len(MATERIALS)) for name in ("ssr", "oidn_high")}
    pixels = np.zeros(len(MATERIALS))
    oidn = OidnDenoiser("high")
    for path in args.sequences:
        sequence = Sequence(path, apply_pattern=False)
        stream = StreamLoop(TorchBackend(args.model))
        per_sequence = {name: np.zeros(len(MATERIALS)) for name in sums}
        for index in range(len(sequence)):
            frame = sequence.read_frame(index, SCORED_LAYERS)
            ours = stream.denoise(apply_subpixel_pattern(frame, index), cut=sequence.is_cut(index))
            if index < args.from_frame:
                continue
            peer = oidn(frame["color"], frame["albedo"], frame["normal"])
            reference = tonemap_srgb(frame["reference"])
            classes = material_classes(frame)
            for name, output in (("ssr", ours), ("oidn_high", peer)):
                error = ((tonemap_srgb(output) - reference) ** 2).mean(axis=-1)
                for row, material in enumerate(MATERIALS):
                    per_sequence[name][row] += error[classes[material]].sum()
            for row, material in enumerate(MATERIALS):
                pixels[row] += classes[material].sum()
        for name in sums:
            sums[name] += per_sequence[name]
        share = {name: per_sequence[name] / per_sequence[name].sum() for name in sums}
        print(sequence.name, " ".join(f"{m}: ours {100 * share['ssr'][r]:.0f}% oidn {100 * share['oidn_high'][r]:.0f}%"
                                      for r, m in enumerate(MATERIALS) if pixels[r] > 0), flush=True)
    oidn.close()
    total_pixels = pixels.sum()
    print(f"\n{'class':8s} {'pixels':>7s} {'MSE ours':>9s} {'MSE oidn':>9s} {'share ours':>10s} {'share oidn':>10s} {'dB if oidn here':>15s}")
    total = {name: sums[name].sum() for name in sums}
    for row, material in enumerate(MATERIALS):
        if pixels[row] == 0:
            continue
        mse = {name: sums[name][row] / pixels[row] for name in sums}
        swapped = (total["ssr"] - sums["ssr"][row] + sums["oidn_high"][row]) / total_pixels
        print(f"{material:8s} {100 * pixels[row] / total_pixels:6.1f}% {mse['ssr']:9.5f} {mse['oidn_high']:9.5f} "
              f"{100 * sums['ssr'][row] / total['ssr']:9.1f}% {100 * sums['oidn_high'][row] / total['oidn_high']:9.1f}% "
              f"{_psnr(swapped) - _psnr(total['ssr'] / total_pixels):+14.2f}")
    print(f"pooled PSNR sRGB: ours {_psnr(total['ssr'] / total_pixels):.2f}, oidn high {_psnr(total['oidn_high'] / total_pixels):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
