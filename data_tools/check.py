"""Validate ssr-seq v1 sequences (one folder, or every sequence below a dataset folder).

Runs every check of the format (docs/format.md): meta.json keys and types, frame files
without gaps or extras, frame sizes, channel types, NaN/Inf counts, negative colour,
mask vs sampling, unit normals where depth > 0. Prints a summary per sequence (frames,
size, channels with type and value range, motion statistics) and exits with status 1
when any sequence is invalid. Compact training copies (``*.ssrpack.npz``, ``ssr compact``)
found among the paths are opened, which checks every layer, and summarised.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .compact import COMPACT_SUFFIX, CompactSequence, describe, is_compact
from .format import FormatError, list_sequences, validate_sequence


def _compact_files(root: Path) -> list[Path]:
    """``root`` itself when it is a compact file, else the compact files below it."""
    if is_compact(root) and root.is_file():
        return [root]
    return sorted(root.rglob(f"*{COMPACT_SUFFIX}")) if root.is_dir() else []


def _check_compact(path: Path) -> tuple[bool, str]:
    """Open a compact copy (which checks every layer) and summarise it."""
    try:
        sequence = CompactSequence(path)
    except FormatError as error:
        return False, f"{path}: INVALID\n  ERROR {error}"
    source = sequence.meta.get("compact", {}).get("source", "?")
    return True, f"{path}: OK (compact copy of {source})\n  {describe(sequence.meta)}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", dest="paths", nargs="+", type=Path, required=True, metavar="PATH",
                        help="a sequence folder or a dataset folder of sequences (several may follow one --data), "
                             "or compact .ssrpack.npz files")
    parser.add_argument("--quiet", "-q", action="store_true", help="print only invalid sequences and the total")
    parser.add_argument("--max-errors", type=int, default=20, help="stop listing errors of a sequence after this many")


def run(args: argparse.Namespace) -> int:
    invalid = 0
    total = 0
    for root in args.paths:
        try:
            sequences = [] if is_compact(root) and root.is_file() else list_sequences(root)
        except FormatError as exc:
            print(f"ERROR {exc}", file=sys.stderr)
            invalid += 1
            continue
        compact = _compact_files(root)
        for path in compact:
            total += 1
            ok, summary = _check_compact(path)
            invalid += not ok
            if not args.quiet or not ok:
                print(summary)
        if not sequences and not compact:
            print(f"ERROR {root}: no sequence found (no meta.json or {COMPACT_SUFFIX} file below it)",
                  file=sys.stderr)
            invalid += 1
            continue
        for seq_path in sequences:
            total += 1
            report = validate_sequence(seq_path, max_errors=args.max_errors)
            if not report.ok:
                invalid += 1
            if not args.quiet or not report.ok:
                print(report.summary())
    print(f"{total - invalid if total >= invalid else 0}/{total} sequences valid")
    return 1 if invalid else 0
