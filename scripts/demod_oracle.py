"""Oracle for the demodulation bias (docs/training.md, "Filtering radiance too").

Blurs each scored frame's *reference* (no network involved) with a normalised 9x9 box, once
in demodulated space (``reference / (albedo + ALBEDO_EPS)``, blurred, remodulated by the
pixel's albedo) and once as radiance, and prints the per-material bias of both
(``bench.materials``: mean output / mean reference per class, averaged over RGB).

    .venv/bin/python scripts/demod_oracle.py /work/data/v2/test/bathroom-truck-s201 ...
"""

from __future__ import annotations

import sys

import numpy as np
from scipy.ndimage import uniform_filter

from ssr.bench.materials import BiasAccumulator, material_classes
from ssr.data_tools import Sequence
from ssr.data_tools.contract import ALBEDO_EPS

BOX = 9
LAYERS = ("reference", "albedo", "depth", "transparent", "metallic", "roughness")


def blur(image: np.ndarray) -> np.ndarray:
    """Per-channel ``BOX x BOX`` mean of ``[H, W, 3]``, edges replicated."""
    return np.stack([uniform_filter(image[..., c], BOX, mode="nearest") for c in range(3)], axis=-1)


def main(paths: list[str]) -> None:
    for path in paths:
        seq = Sequence(path)
        sums = {"demodulated": BiasAccumulator(), "radiance": BiasAccumulator()}
        for index in range(0, seq.frame_count, 3):
            frame = seq.read_frame(index, channels=LAYERS)
            reference, albedo = frame["reference"], frame["albedo"] + np.float32(ALBEDO_EPS)
            classes = material_classes(frame)
            sums["demodulated"].add(blur(reference / albedo) * albedo, reference, classes)
            sums["radiance"].add(blur(reference), reference, classes)
        for space, accumulator in sums.items():
            table = {name: (None if row["ratio"] is None else round(float(np.mean(row["ratio"])), 3))
                     for name, row in accumulator.table().items()}
            print(f"{seq.name} {space}: {table}")


if __name__ == "__main__":
    main(sys.argv[1:])
