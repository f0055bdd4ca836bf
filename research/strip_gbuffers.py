"""What a renderer that writes fewer G-buffers costs: copy sequences without some layers.

Writes every sequence under SOURCE (a split folder of sequences) to OUT with only the
layers a default Blender Cycles render gives (colour, albedo, normal, depth, motion and the
references); the reader then fills roughness, metallic, shadow and transparent with the
format's defaults (docs/format.md). Score both copies with the same command to see what the
layers are worth (docs/import.md, "Roughness, metallic, shadow, transparent"):

    .venv/bin/python research/strip_gbuffers.py DATA/val STRIPPED/val
    ssr bench quality --data STRIPPED --split val --methods ssr,oidn_high --no-vdp --no-flip
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from ssr.data_tools.format import Sequence, frame_filename, list_sequences, write_frame

KEPT = ("color", "albedo", "normal", "depth", "motion", "reference", "reference_albedo")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, help="a folder of ssr-seq sequences (e.g. DATA/val)")
    parser.add_argument("out", type=Path, help="where the stripped copies go (one folder per sequence)")
    args = parser.parse_args(argv)
    for seq_dir in list_sequences(args.source):
        target = args.out / seq_dir.name
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(seq_dir / "meta.json", target / "meta.json")
        sequence = Sequence(seq_dir, apply_pattern=False)
        for index in range(len(sequence)):
            frame = sequence.read_frame(index, list(KEPT))
            frame.pop("mask", None)  # added by the reader for full sampling, not stored
            write_frame(target / frame_filename(index), frame)
        print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
