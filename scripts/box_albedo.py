"""Convert a rendered dataset (or one sequence) to box-filtered albedo without re-rendering.

Every sequence under SOURCE (a sequence folder, or a dataset with train/val/test splits) is
copied to the same place under OUT with its ``albedo`` replaced by ``reference_albedo``: what
``ssr render --albedo-filter box`` / ``"albedo_filter": "box"`` in a dataset config writes
(docs/rendering.md, "Albedo filter"). Resumable: frames already in OUT are kept.

    .venv/bin/python scripts/box_albedo.py /work/data/v2 /work/data/v2_box
"""

from __future__ import annotations

import sys
from pathlib import Path

from ssr.data_tools.format import FormatError, list_sequences
from ssr.data_tools.render import box_albedo_sequence


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    source, out = Path(argv[0]), Path(argv[1])
    try:
        found = list_sequences(source)  # follows links: datasets assembled from links convert too
    except FormatError as exc:
        print(f"box_albedo: error: {exc}", file=sys.stderr)
        return 2
    if not found:
        print(f"box_albedo: no sequence (meta.json) under {source}", file=sys.stderr)
        return 2
    for number, seq in enumerate(found, 1):
        try:
            box_albedo_sequence(seq, out / seq.relative_to(source))
        except FormatError as exc:
            print(f"box_albedo: error: {exc}", file=sys.stderr)
            return 2
        print(f"[{number}/{len(found)}] {seq.relative_to(source) if seq != source else seq.name}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
