"""Oracle for the demodulation space (docs/training.md, "Filtering radiance too" and "The
specular floor").

Blurs each scored frame's *reference* (no network involved) with a normalised ``--box``
square, in several spaces: demodulated by the G-buffer albedo (``reference / (albedo +
ALBEDO_EPS)``, blurred, remodulated by the pixel's albedo), demodulated by the albedo with a
specular floor (``ssr.data_tools.contract.specular_floor_offset``, one per ``--floors``
value), and as plain radiance. A space in which a blur costs less is one in which a
filter can average more samples for the same error. Prints, per sequence, the per-material
bias of each space (``bench.materials``: mean output / mean reference per class, averaged
over RGB), then for all sequences together the PSNR of the blurred reference against the
reference, per class, in the ``psnr_srgb`` tone map (``ssr.metrics.tonemap_srgb``).

    .venv/bin/python research/demod_oracle.py DATA/test/* [--box 5] [--floors 0.1,0.2]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from scipy.ndimage import uniform_filter

from ssr.bench.materials import BiasAccumulator, material_classes
from ssr.data_tools import Sequence
from ssr.data_tools.contract import ALBEDO_EPS, specular_floor_offset
from ssr.metrics import psnr_of_mse, tonemap_srgb

LAYERS = ("reference", "albedo", "depth", "transparent", "metallic", "roughness")


def blur(image: np.ndarray, box: int) -> np.ndarray:
    """Per-channel ``box x box`` mean of ``[H, W, 3]``, edges replicated."""
    return np.stack([uniform_filter(image[..., c], box, mode="nearest") for c in range(3)], axis=-1)


def denominators(frame: dict[str, np.ndarray], floors: list[float]) -> dict[str, np.ndarray]:
    """``[H, W, 3]`` demodulation denominators by space name (1 for radiance)."""
    albedo = frame["albedo"]
    spaces = {"albedo": albedo + np.float32(ALBEDO_EPS)}
    for floor in floors:
        offset = specular_floor_offset(frame["roughness"], frame["metallic"], np.float32(floor))
        spaces[f"floor {floor:g}"] = albedo + offset + np.float32(ALBEDO_EPS)
    spaces["radiance"] = np.ones_like(albedo)
    return spaces


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sequences", nargs="+", help="ssr-seq folders with reference and G-buffer layers")
    parser.add_argument("--box", type=int, default=9, help="side of the box blur (default 9)")
    parser.add_argument("--floors", default="", help="comma-separated specular floors to compare (default none)")
    parser.add_argument("--every", type=int, default=3, help="score every Nth frame (default 3)")
    args = parser.parse_args(argv)
    floors = [float(f) for f in args.floors.split(",") if f]
    squared: dict[tuple[str, str], float] = {}
    counts: dict[tuple[str, str], int] = {}
    for path in args.sequences:
        seq = Sequence(path)
        bias: dict[str, BiasAccumulator] = {}
        for index in range(0, seq.frame_count, args.every):
            frame = seq.read_frame(index, channels=LAYERS)
            reference, classes = frame["reference"], material_classes(frame)
            toned_reference = tonemap_srgb(reference)
            for space, denominator in denominators(frame, floors).items():
                blurred = blur(reference / denominator, args.box) * denominator
                bias.setdefault(space, BiasAccumulator()).add(blurred, reference, classes)
                error = ((tonemap_srgb(blurred) - toned_reference) ** 2).mean(axis=-1)
                for name, mask in {**classes, "all": np.ones(error.shape, bool)}.items():
                    squared[(space, name)] = squared.get((space, name), 0.0) + float(error[mask].sum())
                    counts[(space, name)] = counts.get((space, name), 0) + int(mask.sum())
        for space, accumulator in bias.items():
            table = {name: (None if row["ratio"] is None else round(float(np.mean(row["ratio"])), 3))
                     for name, row in accumulator.table().items()}
            print(f"{seq.name} {space}: bias {table}")
    spaces = list(dict.fromkeys(space for space, _ in squared))
    names = list(dict.fromkeys(name for _, name in squared))
    print(f"\nPSNR sRGB (dB) of a {args.box}x{args.box} blur of the reference, by material class")
    print(f"{'space':14s}" + "".join(f"{name:>9s}" for name in names))
    for space in spaces:
        row = [squared[(space, n)] / counts[(space, n)] if counts[(space, n)] else float("nan") for n in names]
        print(f"{space:14s}" + "".join(f"{psnr_of_mse(mse):9.2f}" for mse in row))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
