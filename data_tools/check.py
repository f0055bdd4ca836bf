"""Validate ssr-seq v1 sequences (one folder, or every sequence below a dataset folder).

Runs every check of the format (docs/format.md): meta.json keys and types, frame files
without gaps or extras, frame sizes, channel types, NaN/Inf counts, negative colour,
mask vs sampling, unit normals where depth > 0. Prints a summary per sequence (frames,
size, channels with type and value range, motion statistics) and exits with status 1
when any sequence is invalid.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .format import FormatError, list_sequences, validate_sequence


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                        help="sequence folder(s) or dataset folder(s) holding sequences")
    parser.add_argument("--quiet", "-q", action="store_true", help="print only invalid sequences and the total")
    parser.add_argument("--max-errors", type=int, default=20, help="stop listing errors of a sequence after this many")


def run(args: argparse.Namespace) -> int:
    invalid = 0
    total = 0
    for root in args.paths:
        try:
            sequences = list_sequences(root)
        except FormatError as exc:
            print(f"ERROR {exc}", file=sys.stderr)
            invalid += 1
            continue
        if not sequences:
            print(f"ERROR {root}: no sequence found (no meta.json below it)", file=sys.stderr)
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
