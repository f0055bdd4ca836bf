"""Where torch's warp and the runtime's warp make the network's inputs differ (docs/benchmarks-history.md s14).

Streams frame 0 of a sequence through a model (torch), then warps the resulting state by
frame 1's motion twice: with the network's own ``grid_sample`` warp and with the runtime's
exact bilinear warp (``ssr.data_tools.warp.warp_planes``). It prints how far the two warped
states differ, what share of pixels holds a warped ``A_mask`` strictly between 0 and 1e-4,
and, for several view floors, how far the network's view ``log1p(A_irr / max(A_mask,
floor))`` differs between the two warps.

    .venv/bin/python scripts/view_floor_probe.py --data data/v2_box/test/bathroom-truck-s201
"""

from __future__ import annotations

import argparse
import sys

import numpy as np


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="saved weights or checkpoint (default: the bundled model)")
    parser.add_argument("--data", required=True, help="ssr-seq sequence folder (2+ frames)")
    parser.add_argument("--floors", default="1e-4,1e-3,1e-2", help="comma-separated view floors to compare")
    args = parser.parse_args(argv)

    import torch

    from ssr.data_tools.contract import SLICES
    from ssr.data_tools.format import FormatError, Sequence
    from ssr.data_tools.pack import pack_frame
    from ssr.data_tools.warp import warp_planes
    from ssr.model.kernel import log_view
    from ssr.model.warp import warp
    from ssr.streaming import StreamLoop, TorchBackend, check_frame

    try:
        sequence = Sequence(args.data)
    except FormatError as error:
        print(f"view_floor_probe: error: {error}", file=sys.stderr)
        return 2
    loop = StreamLoop(TorchBackend(args.model))
    loop.denoise(sequence.read_frame(0), cut=True)
    packed = pack_frame(check_frame(sequence.read_frame(1)), specular_floor=loop.backend.specular_floor)
    motion = SLICES["motion"]
    acc = loop.state.acc.float()
    by_torch = warp(acc, torch.from_numpy(packed[motion])[None])
    by_runtime = torch.from_numpy(warp_planes(np.ascontiguousarray(acc[0].numpy()), packed[motion.start],
                                              packed[motion.start + 1]))[None]
    state_difference = (by_torch - by_runtime).abs().amax(dim=1)[0].numpy()
    mask_torch, mask_runtime = (w[0, SLICES["mask"]][0].numpy() for w in (by_torch, by_runtime))
    tiny = ((mask_torch > 0) & (mask_torch < 1e-4)) | ((mask_runtime > 0) & (mask_runtime < 1e-4))
    print(f"{sequence.name}, frame 1 after a reset: warped-state difference max {state_difference.max():.2e}, "
          f"median {np.median(state_difference):.2e}; 0 < A_mask < 1e-4 at {tiny.mean():.1%} of the pixels")
    for floor in (float(text) for text in args.floors.split(",")):
        view = (log_view(by_torch, floor) - log_view(by_runtime, floor)).abs().amax(dim=1)[0].numpy()
        differing = view > 0.01
        print(f"view floor {floor:g}: view difference max {view.max():.3f}, {int(differing.sum())} px > 0.01 "
              f"({int((differing & tiny).sum())} of them at 0 < A_mask < 1e-4)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
