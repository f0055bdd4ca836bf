"""Write a PNG contact sheet per frame of ssr-seq sequences, or with ``--overview`` one
sheet of a whole dataset (one row per sequence: its middle frame).

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

from .format import Sequence, drop_incomplete, list_sequences
from .imaging import (
    depth_to_rgb,
    hstack_images,
    label_image,
    motion_to_rgb,
    normals_to_rgb,
    to_uint8,
    tonemap_srgb,
    vstack_images,
    write_png,
)

OVERVIEW_TILE_WIDTH = 192
"""Width of one tile of the dataset overview (frames are shrunk by an integer factor to fit)."""


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


def overview_row(seq_path: Path, *, exposure: float = 1.0, tile_width: int = OVERVIEW_TILE_WIDTH) -> np.ndarray:
    """One labelled row for the dataset overview: the middle frame of a sequence as 1/4-spp
    input, 1-spp colour (when stored), reference, albedo and normals, ``uint8 [h, w, 3]``."""
    sequence = Sequence(seq_path, apply_pattern=False)
    index = sequence.frame_count // 2
    frame = sequence.read_frame(index)
    quarter = Sequence(seq_path, apply_pattern=True).read_frame(index)["color"]
    tiles = [("1/4 spp", tonemap_srgb(quarter, exposure))]
    if sequence.sampling == "full":
        tiles.append(("1 spp", tonemap_srgb(frame["color"], exposure)))
    if "reference" in frame:
        tiles.append(("reference", tonemap_srgb(frame["reference"], exposure)))
    tiles += [("albedo", np.clip(frame["albedo"], 0, 1)), ("normal", normals_to_rgb(frame["normal"]))]
    shrink = max(1, -(-sequence.width // tile_width))
    labelled = []
    for number, (label, image) in enumerate(tiles):
        small = image[: image.shape[0] // shrink * shrink, : image.shape[1] // shrink * shrink]
        small = small.reshape(small.shape[0] // shrink, shrink, small.shape[1] // shrink, shrink, 3).mean(axis=(1, 3))
        title = f"{sequence.name} f{index}: {label}" if number == 0 else label
        labelled.append(label_image(to_uint8(small), title))
    return hstack_images(labelled)


def write_overview(sequences: list[Path], path: Path, *, exposure: float = 1.0, progress: bool = True) -> Path:
    """Write the dataset overview PNG (one :func:`overview_row` per sequence)."""
    rows = [overview_row(seq, exposure=exposure) for seq in tqdm(sequences, desc="overview", disable=not progress)]
    width = max(row.shape[1] for row in rows)
    rows = [np.pad(row, ((0, 0), (0, width - row.shape[1]), (0, 0))) for row in rows]
    return write_png(path, vstack_images(rows))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", dest="path", type=Path, required=True, metavar="PATH",
                        help="a sequence folder or a dataset folder of sequences")
    parser.add_argument("--out", type=Path, required=True, help="output folder (one sub-folder per sequence for datasets)")
    parser.add_argument("--exposure", type=float, default=1.0, help="multiply linear colour before tone mapping")
    parser.add_argument("--full-spp", action="store_true", help="show the full 1-spp colour instead of the 1/4-spp masked input")
    parser.add_argument("--every", type=int, default=1, help="only every N-th frame")
    parser.add_argument("--skip-incomplete", action="store_true",
                        help="leave out sequences whose frames are not all written yet (a dataset still rendering)")
    parser.add_argument("--overview", action="store_true",
                        help="one sheet of the whole dataset instead: <out>/overview.png, one row per sequence "
                             "(its middle frame: 1/4 spp, 1 spp, reference, albedo, normals)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    sequences = list_sequences(args.path)
    if args.skip_incomplete:
        sequences = drop_incomplete(sequences)
    if not sequences:
        print(f"ssr preview: no sequence found under {args.path}")
        return 1
    if args.overview:
        path = write_overview(sequences, args.out / "overview.png", exposure=args.exposure,
                              progress=not args.no_progress)
        print(f"{args.path}: overview of {len(sequences)} sequence(s) in {path}")
        return 0
    for seq_path in sequences:
        out_dir = args.out if len(sequences) == 1 else args.out / seq_path.relative_to(args.path)
        paths = preview_sequence(seq_path, out_dir, exposure=args.exposure, full_spp=args.full_spp, every=args.every,
                                 progress=not args.no_progress)
        print(f"{seq_path}: {len(paths)} contact sheets in {out_dir}")
    return 0
