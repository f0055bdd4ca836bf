"""Write a PNG contact sheet per frame of ssr-seq sequences.

Each sheet shows, left to right: the traced colour (after the subpixel mask unless
--full-spp), the reference (if present), albedo, normals, depth and motion as colour
(hue = direction, saturation = magnitude). Colour images are tone-mapped with the
project's one display curve (ACES filmic fit + sRGB, docs/evaluation.md) after --exposure.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .format import Sequence, list_sequences
from .imaging import depth_to_rgb, hstack_images, motion_to_rgb, normals_to_rgb, tonemap_srgb, write_png


def contact_sheet(frame: dict[str, np.ndarray], exposure: float = 1.0, motion_max_px: float | None = None) -> np.ndarray:
    """One frame (layers ``float32 [H, W, C]``) -> display image ``float32 [H, k*W, 3]``."""
    tiles = [tonemap_srgb(frame["color"], exposure)]
    if "reference" in frame:
        tiles.append(tonemap_srgb(frame["reference"], exposure))
    tiles += [np.clip(frame["albedo"], 0, 1), normals_to_rgb(frame["normal"]),
              depth_to_rgb(frame["depth"]), motion_to_rgb(frame["motion"], motion_max_px)]
    return hstack_images(tiles)


def preview_sequence(seq_path: Path, out_dir: Path, *, exposure: float = 1.0, full_spp: bool = False,
                     every: int = 1, progress: bool = True) -> list[Path]:
    """Write ``out_dir/frame_%05d.png`` contact sheets; returns the paths written."""
    sequence = Sequence(seq_path, apply_pattern=not full_spp)
    written = []
    indices = range(0, sequence.frame_count, max(every, 1))
    for index in tqdm(indices, desc=f"preview {sequence.name}", disable=not progress, unit="frame"):
        frame = sequence.read_frame(index)
        written.append(write_png(out_dir / f"frame_{index:05d}.png", contact_sheet(frame, exposure)))
    return written


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", type=Path, help="sequence folder, or dataset folder holding sequences")
    parser.add_argument("--out", type=Path, required=True, help="output folder (one sub-folder per sequence for datasets)")
    parser.add_argument("--exposure", type=float, default=1.0, help="multiply linear colour before tone mapping")
    parser.add_argument("--full-spp", action="store_true", help="show the full 1-spp colour instead of the 1/4-spp masked input")
    parser.add_argument("--every", type=int, default=1, help="only every N-th frame")


def run(args: argparse.Namespace) -> int:
    sequences = list_sequences(args.path)
    if not sequences:
        print(f"ssr preview: no sequence found under {args.path}")
        return 1
    for seq_path in sequences:
        out_dir = args.out if len(sequences) == 1 else args.out / seq_path.relative_to(args.path)
        paths = preview_sequence(seq_path, out_dir, exposure=args.exposure, full_spp=args.full_spp, every=args.every)
        print(f"{seq_path}: {len(paths)} contact sheets in {out_dir}")
    return 0
