"""Contact sheet of one frame: 1/4-spp input | 1-spp input | SSR (bundled model, streamed) |
OIDN high on the 1-spp frame | reference, plus 3x zoomed crops (the sheet behind the quality
numbers in docs/benchmarks-history.md).

    .venv/bin/python scripts/contact_sheet.py SEQUENCE OUT.png [--frame 12] [--crop y0 y1 x0 x1]
"""

from __future__ import annotations

import argparse

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sequence")
    parser.add_argument("out")
    parser.add_argument("--frame", type=int, default=12)
    parser.add_argument("--crop", type=int, nargs=4, default=(40, 80, 100, 160), metavar=("Y0", "Y1", "X0", "X1"))
    args = parser.parse_args()

    from ssr.bench.peers import OidnDenoiser
    from ssr.data_tools import Sequence
    from ssr.data_tools.imaging import to_uint8, tonemap_srgb, write_png
    from ssr.runtime import open_stream

    subpixel, full = Sequence(args.sequence), Sequence(args.sequence, apply_pattern=False)
    stream = open_stream()
    for index in range(args.frame + 1):  # stream up to the frame so the history is used
        frame = subpixel.read_frame(index)
        ours = stream.denoise(frame, cut=subpixel.is_cut(index))
    dense = full.read_frame(args.frame)
    oidn = OidnDenoiser("high")(dense["color"], dense["albedo"], dense["normal"])
    images = [to_uint8(tonemap_srgb(x)) for x in (frame["color"], dense["color"], ours, oidn, dense["reference"])]
    y0, y1, x0, x1 = args.crop
    crops = np.concatenate([np.kron(x[y0:y1, x0:x1], np.ones((3, 3, 1), np.uint8)) for x in images], axis=1)
    top = np.concatenate(images, axis=1)
    width = max(top.shape[1], crops.shape[1])

    def widen(row: np.ndarray) -> np.ndarray:
        return np.pad(row, ((0, 0), (0, width - row.shape[1]), (0, 0)))

    write_png(args.out, np.concatenate([widen(top), widen(crops)], axis=0))
    print(f"wrote {args.out}: 1/4-spp input | 1-spp input | SSR | OIDN high (1 spp) | reference")


if __name__ == "__main__":
    main()
