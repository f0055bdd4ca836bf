"""Per-pixel agreement of the torch model and its ONNX Runtime export on a real sequence.

Streams an ssr-seq sequence through the torch model (the network's own ``grid_sample``
warp, as ``ssr denoise`` runs it) and through its native-stage export (the runtime's exact
bilinear warp) and prints, per frame, how many pixels differ by more than 1/255 in display
(ACES + sRGB, ``ssr.metrics.tonemap_srgb``) and the largest difference. A model whose
output hinges on 1e-5-scale differences of its warped history shows clusters of differing
pixels after every reset (docs/benchmarks-history.md sections 13-14).

    .venv/bin/python research/backend_diff.py --model runs/x/model --data data/v2_box/test/bathroom-truck-s201
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
from pathlib import Path

import numpy as np


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="saved weights or checkpoint (default: the bundled model)")
    parser.add_argument("--data", required=True, help="ssr-seq sequence folder")
    parser.add_argument("--frames", type=int, default=0, help="frames to stream (0: all)")
    parser.add_argument("--view-floor", type=float, default=None,
                        help="probe: run the model with this log-view floor instead of its own (the weights "
                             "were trained with theirs, so quality is not meaningful; agreement is)")
    args = parser.parse_args(argv)

    from ssr.data_tools.format import FormatError, Sequence
    from ssr.export.onnx import export_onnx
    from ssr.metrics import tonemap_srgb
    from ssr.model import load_model
    from ssr.runtime.onnx_backend import OnnxStream
    from ssr.streaming import StreamLoop, TorchBackend, check_frame
    from ssr.data_tools.pack import pack_frame

    try:
        sequence = Sequence(args.data)
    except FormatError as error:
        print(f"backend_diff: error: {error}", file=sys.stderr)
        return 2
    net = load_model(args.model)
    if args.view_floor is not None:
        net.config = dataclasses.replace(net.config, view_floor=args.view_floor)
    count = sequence.frame_count if args.frames <= 0 else min(args.frames, sequence.frame_count)
    with tempfile.TemporaryDirectory() as folder:
        graph = export_onnx(net, Path(folder) / "model.onnx", height=64, width=64, pixel_stages="native")
        torch_loop, onnx_loop = StreamLoop(TorchBackend(net)), OnnxStream(graph)
        total = 0
        print(f"{sequence.name}: {sequence.width}x{sequence.height}, view_floor {net.config.view_floor:g}")
        for index in range(count):
            packed = pack_frame(check_frame(sequence.read_frame(index)), specular_floor=net.config.specular_floor)
            cut = sequence.is_cut(index)
            want, have = torch_loop.step(packed, cut=cut), onnx_loop.step(packed, cut=cut)
            difference = np.abs(tonemap_srgb(want) - tonemap_srgb(have)).max(axis=-1)
            differing = int((difference > 1 / 255).sum())
            total += differing
            print(f"frame {index:3d}{' cut' if cut else '    '}: {differing:6d} px > 1/255, max {difference.max():.4f}")
        print(f"total: {total} px over {count} frames ({total / (count * sequence.width * sequence.height):.4%})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
