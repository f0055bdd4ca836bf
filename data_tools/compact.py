"""Compact training copies of ssr-seq sequences: one ``.ssrpack.npz`` file per sequence.

A compact copy carries a dataset to a machine without OpenEXR or with a small transfer
budget (a rented GPU, a CI runner): ``ssr compact`` writes it, and the training loader
(:func:`ssr.train.data.find_sequences`) reads a folder of such files exactly like a
folder of ssr-seq sequences, with the same ``train/`` / ``val/`` split layout.

What it keeps, and how (a lossy copy, made for training only):

- the layers training reads (:data:`COMPACT_LAYERS`), ``float16 [T, H, W, C]``, saved
  with ``numpy.savez_compressed``; frames ``0..frames-1`` and one square window per
  sequence (``crop``; its corner on even pixels so the 2x2 pattern keeps its phase);
- ``color`` and ``shadow`` only at the traced pixels of the subpixel pattern (the file is
  ``sampling: "subpixel-2x2"`` with its ``mask``), so 1-spp (``--full-spp``) training
  needs the EXR sequences;
- ``color``, ``reference`` and ``reference_albedo`` rounded to :data:`MANTISSA_BITS`
  mantissa bits (relative error <= 2^-9, far below the sample noise of a 1-spp input or a
  64-spp reference), values clipped to the float16 range (65504) and counted;
- ``motion`` rounded to 1/:data:`MOTION_STEPS` pixel.

``meta.json`` travels inside the file (key ``meta``) with ``width``, ``height``,
``frame_count``, ``cuts`` and ``sampling`` rewritten for the window, plus ``compact``:
where the window came from.

>>> import numpy as np
>>> halves = np.array([1.0, 1.0009765625, 3.14159], np.float16)
>>> round_mantissa(halves, 8).astype(np.float32).tolist()
[1.0, 1.0, 3.140625]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import zipfile
import zlib
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from .format import HALF_MAX, LAYERS, FormatError, Sequence, SequenceMeta, apply_subpixel_pattern, subpixel_mask
from .frame_checks import find_value_problem

__all__ = [
    "COMPACT_LAYERS",
    "COMPACT_SUFFIX",
    "MANTISSA_BITS",
    "MOTION_STEPS",
    "CompactSequence",
    "describe",
    "is_compact",
    "list_compact",
    "round_mantissa",
    "write_compact",
]

COMPACT_SUFFIX = ".ssrpack.npz"
COMPACT_LAYERS: tuple[str, ...] = (
    "color", "albedo", "normal", "depth", "roughness", "metallic", "shadow", "mask", "transparent", "motion",
    "reference", "reference_albedo",
)
"""Layers a compact file holds: the network inputs and the training targets."""
MANTISSA_BITS = 8
"""Mantissa bits kept (of float16's 10) in ``color``, ``reference`` and ``reference_albedo``."""
MOTION_STEPS = 64
"""Motion vectors are stored in steps of ``1 / MOTION_STEPS`` pixel."""
_ROUNDED = ("color", "reference", "reference_albedo")
_SUBSAMPLED = ("color", "shadow")


def is_compact(path: str | os.PathLike[str]) -> bool:
    """True for a path naming a compact sequence file (by its suffix)."""
    return str(path).endswith(COMPACT_SUFFIX)


def list_compact(folder: str | os.PathLike[str]) -> list[Path]:
    """Compact sequence files directly in ``folder``, sorted."""
    root = Path(folder)
    return sorted(p for p in root.iterdir() if p.is_file() and is_compact(p)) if root.is_dir() else []


def round_mantissa(halves: np.ndarray, bits: int) -> np.ndarray:
    """``float16`` values rounded (to nearest) to ``bits`` of the 10 mantissa bits.

    The low bits become zero, which is what makes the noisy images compress. Finite values
    stay finite (a value that would round past 65504 is truncated instead).

    >>> round_mantissa(np.array([65504.0], np.float16), 8).tolist()
    [65408.0]
    """
    drop = 10 - int(bits)
    if not 0 <= drop <= 10:
        raise ValueError(f"round_mantissa: bits must be in 0..10, got {bits}")
    if drop == 0:
        return halves.astype(np.float16)
    raw = np.ascontiguousarray(halves, np.float16).view(np.uint16).astype(np.uint32)
    rounded = ((raw + (1 << (drop - 1))) >> drop) << drop
    exponent_all_ones = (rounded & 0x7C00) == 0x7C00  # rounded past 65504: truncate instead
    rounded = np.where(exponent_all_ones & ((raw & 0x7C00) != 0x7C00), (raw >> drop) << drop, rounded)
    return rounded.astype(np.uint16).view(np.float16)


def _window(height: int, width: int, crop: int | None, rng: np.random.Generator) -> tuple[int, int, int, int]:
    """``(top, left, size_y, size_x)`` of a random square window with an even corner."""
    if crop is None or (crop >= height and crop >= width):
        return 0, 0, height, width
    if crop < 2 or crop % 2:
        raise ValueError(f"crop must be an even number >= 2, got {crop}")
    size_y, size_x = min(crop, height), min(crop, width)
    top = 2 * int(rng.integers(0, (height - size_y) // 2 + 1))
    left = 2 * int(rng.integers(0, (width - size_x) // 2 + 1))
    return top, left, size_y, size_x


def write_compact(
    sequence_path: str | os.PathLike[str],
    out_file: str | os.PathLike[str],
    *,
    crop: int | None = None,
    frames: int | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Write a compact copy of one ssr-seq sequence (see the module docstring).

    Args:
        sequence_path: an ssr-seq sequence folder with ``reference`` and ``reference_albedo``.
        out_file: destination, ending in :data:`COMPACT_SUFFIX`; written atomically.
        crop: side of the square window kept (None: the whole frame).
        frames: keep frames ``0..frames-1`` (None: all).
        seed: picks the window.

    Returns:
        The file's ``meta`` dict (with ``compact.clipped``: float16-range clips per layer).
    """
    out_path = Path(out_file)
    if not is_compact(out_path):
        raise ValueError(f"{out_path}: a compact file's name must end in {COMPACT_SUFFIX}")
    seq = Sequence(sequence_path, apply_pattern=False)
    count = seq.frame_count if frames is None else min(int(frames), seq.frame_count)
    if count < 1:
        raise ValueError(f"frames must be >= 1, got {frames}")
    top, left, size_y, size_x = _window(seq.height, seq.width, crop, np.random.default_rng(seed))
    stacks: dict[str, list[np.ndarray]] = {name: [] for name in COMPACT_LAYERS}
    for index in range(count):
        frame = seq.read_frame(index, channels=COMPACT_LAYERS)
        if seq.sampling == "full":
            frame = apply_subpixel_pattern(frame, index, (seq.height, seq.width))
        elif not np.array_equal(frame["mask"][:, :, 0], subpixel_mask(index, seq.height, seq.width)):
            raise FormatError(seq.frame_path(index), "mask.Y", "compact copies need the standard 2x2 subpixel "
                              "pattern of the frame number (ssr.data_tools.subpixel_mask); this mask differs")
        for name in COMPACT_LAYERS:
            stacks[name].append(frame[name][top:top + size_y, left:left + size_x])
    arrays: dict[str, np.ndarray] = {}
    clipped: dict[str, int] = {}
    for name, stack in stacks.items():
        data = np.stack(stack).astype(np.float32)
        over = int(np.count_nonzero(np.abs(data) > HALF_MAX))
        if over:
            clipped[name] = over
        data = np.clip(data, -HALF_MAX, HALF_MAX)
        if name == "motion":
            data = np.round(data * MOTION_STEPS) / MOTION_STEPS
        halves = data.astype(np.float16)
        arrays[name] = round_mantissa(halves, MANTISSA_BITS) if name in _ROUNDED else halves
    meta = dict(seq.meta)
    meta.update(
        width=size_x, height=size_y, frame_count=count, sampling="subpixel-2x2",
        cuts=[c for c in seq.cuts if c < count],
        compact={"source": str(Path(sequence_path)), "window": [top, left, size_y, size_x],
                 "mantissa_bits": MANTISSA_BITS, "motion_steps": MOTION_STEPS, "clipped": clipped},
    )
    buffer = io.BytesIO()
    np.savez_compressed(buffer, meta=np.frombuffer(json.dumps(meta).encode(), np.uint8), **arrays)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.tmp{os.getpid()}")
    tmp.write_bytes(buffer.getvalue())
    os.replace(tmp, out_path)
    return meta


class CompactSequence(SequenceMeta):
    """A compact sequence file, read like :class:`ssr.data_tools.Sequence` (training's subset:
    ``name``, ``meta``, ``read_frame`` and the shape and cuts of
    :class:`~ssr.data_tools.format.SequenceMeta`).

    Every layer is loaded (as float32) and checked when the file is opened: a file that is
    not a valid compact copy (a missing layer, a wrong shape, a value problem of
    :func:`~ssr.data_tools.frame_checks.find_value_problem` in any frame, the checks of the
    EXR reader: NaN/Inf, negative colour, normals not unit length where depth > 0, or a
    mask that is not the subpixel pattern of its frame numbers) raises
    :class:`FormatError` naming the file and the layer or channel (and the frame).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            with np.load(self.path, allow_pickle=False) as archive:
                if "meta" not in archive.files:
                    raise FormatError(self.path, None, "not a compact sequence file (no 'meta' entry)")
                self.meta: dict[str, Any] = json.loads(archive["meta"].tobytes().decode())
                missing = [n for n in COMPACT_LAYERS if n not in archive.files]
                if missing:
                    raise FormatError(self.path, missing[0], f"layer '{missing[0]}' is missing")
                self._layers = {name: archive[name].astype(np.float32) for name in COMPACT_LAYERS}
        except (OSError, ValueError, zipfile.BadZipFile) as error:
            raise FormatError(self.path, None, f"cannot read compact sequence file: {error}") from error
        shape = (self.frame_count, self.height, self.width)
        for name in COMPACT_LAYERS:
            expected = (*shape, len(LAYERS[name].suffixes))
            if self._layers[name].shape != expected:
                raise FormatError(self.path, name, f"layer must have shape {expected}, got {self._layers[name].shape}")
        for index in range(self.frame_count):
            problem = find_value_problem({name: layers[index] for name, layers in self._layers.items()})
            if problem is not None:
                raise FormatError(self.path, problem.channel, f"frame {index}: {problem.problem}")
        for index in range(self.frame_count):
            if not np.array_equal(self._layers["mask"][index, :, :, 0], subpixel_mask(index, self.height, self.width)):
                raise FormatError(self.path, "mask", f"frame {index}: the mask is not the 2x2 subpixel pattern")

    @staticmethod
    def name_of(path: str | os.PathLike[str]) -> str:
        """The sequence name of a compact file's path (its name without the suffix)."""
        return Path(path).name[: -len(COMPACT_SUFFIX)]

    @property
    def name(self) -> str:
        return self.name_of(self.path)

    def read_frame(self, index: int, channels: Iterable[str] | None = None) -> dict[str, np.ndarray]:
        """Frame ``index``: ``float32 [H, W, C]`` layers (``channels``, default all, plus ``mask``)."""
        if not 0 <= index < self.frame_count:
            raise IndexError(f"{self.path}: frame {index} outside [0, {self.frame_count})")
        wanted = list(COMPACT_LAYERS) if channels is None else list(dict.fromkeys([*channels, "mask"]))
        unknown = [n for n in wanted if n not in self._layers]
        if unknown:
            raise FormatError(self.path, unknown[0], f"layer '{unknown[0]}' is not kept in compact files")
        return {name: self._layers[name][index] for name in wanted}


def describe(meta: Mapping[str, Any]) -> str:
    """One line on a compact file's window and clips (for ``ssr compact``'s log)."""
    compact = meta.get("compact", {})
    top, left, size_y, size_x = compact.get("window", [0, 0, meta["height"], meta["width"]])
    clipped = compact.get("clipped") or {}
    clip_text = f", clipped to the float16 range: {clipped}" if clipped else ""
    return f"{size_x}x{size_y} window at ({left}, {top}), {meta['frame_count']} frames{clip_text}"


# ----------------------------------------------------------------------------- ssr compact


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = (
        "example: ssr compact --data /data/v2 --out /data/v2_compact --splits train,val --crop 128 --frames 12\n"
        "then:    ssr train --data /data/v2_compact ...   (reads the .ssrpack.npz files like sequence folders)"
    )
    parser.add_argument("--data", type=Path, required=True,
                        help="dataset folder: <data>/<split>/<sequence>/ (or a folder of sequences)")
    parser.add_argument("--out", type=Path, required=True,
                        help="output folder: <out>/<split>/<sequence>.ssrpack.npz")
    parser.add_argument("--splits", default="train,val",
                        help="comma-separated split folders to copy (default: train,val); a dataset "
                             "without split folders is copied flat")
    parser.add_argument("--crop", type=int, default=None,
                        help="keep one random square window of this (even) side per sequence (default: whole frames)")
    parser.add_argument("--frames", type=int, default=None, help="keep the first N frames (default: all)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the windows (each sequence draws its own)")
    parser.add_argument("--overwrite", action="store_true",
                        help="rewrite files that exist (default: keep them, so an interrupted run resumes)")
    parser.add_argument("--skip-incomplete", action="store_true",
                        help="leave out sequences whose frames are not all written yet")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .format import drop_incomplete, list_sequences

    if not args.data.is_dir():
        print(f"ssr compact: error: --data {args.data}: not a directory", file=sys.stderr)
        return 2
    splits = [s for s in args.splits.split(",") if s]
    jobs: list[tuple[Path, Path]] = []
    split_dirs = [s for s in splits if (args.data / s).is_dir()]
    for split in split_dirs or [""]:
        sequences = list_sequences(args.data / split)
        if args.skip_incomplete:
            sequences = drop_incomplete(sequences)
        jobs += [(seq, args.out / split / f"{seq.name}{COMPACT_SUFFIX}") for seq in sequences]
    if not jobs:
        print(f"ssr compact: error: no sequences under {args.data} (splits {', '.join(splits)})", file=sys.stderr)
        return 2
    total_in = total_out = 0
    for seq, out_file in tqdm(jobs, desc="compact", unit="seq", disable=args.no_progress):
        total_in += sum(p.stat().st_size for p in seq.iterdir() if p.is_file())
        if out_file.exists() and not args.overwrite:
            total_out += out_file.stat().st_size
            continue
        seed = zlib.crc32(f"{args.seed}:{seq.name}".encode())
        try:
            meta = write_compact(seq, out_file, crop=args.crop, frames=args.frames, seed=seed)
        except (FormatError, ValueError) as error:
            print(f"ssr compact: error: {error}", file=sys.stderr)
            return 1
        total_out += out_file.stat().st_size
        tqdm.write(f"{out_file}: {describe(meta)}, {out_file.stat().st_size / 1e6:.2f} MB")
    print(f"ssr compact: {len(jobs)} sequence(s), {total_in / 1e6:.1f} MB of EXR sequences -> "
          f"{total_out / 1e6:.1f} MB in {args.out}")
    return 0
