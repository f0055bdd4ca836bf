"""Export a model's frame step to ONNX (and optionally build a TensorRT engine from it).

Writes the ONNX graph plus a JSON sidecar (``<out>.json``: model config, tensor names and
shapes, opset, source weights), checks it with onnx.checker and, unless ``--no-check``,
compares a short random stream through torch and onnxruntime (docs/export.md).

``--format tensorrt`` needs an NVIDIA GPU and the ``tensorrt`` Python package (10 or 11):
it writes the ONNX graph next to ``--out`` (``<out stem>.onnx``), builds a strongly typed
engine from it (from the fp16 graph with ``--fp16``), writes it to ``--out`` and, unless
``--no-check``, runs it against ONNX Runtime on a short stream (docs/export.md).

examples:
  ssr export --out ssr.onnx --height 720 --width 1280                   # bundled model, static
  ssr export --model runs/small/model --out ssr.onnx --height 256 --width 256 --dynamic
  ssr export --out ssr.plan --height 720 --width 1280 --format tensorrt --fp16   # strongly typed fp16 engine
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["add_arguments", "run"]

def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of ``ssr export``."""
    parser.add_argument("--model", default=None, help="saved weights <path> or a training checkpoint <run>/last.pt (default: the bundled model)")
    parser.add_argument("--out", required=True, help="output file: model.onnx, or the engine file for tensorrt")
    parser.add_argument("--height", type=int, required=True, help="frame height (trace size when --dynamic)")
    parser.add_argument("--width", type=int, required=True, help="frame width (trace size when --dynamic)")
    parser.add_argument(
        "--dynamic",
        action="store_true",
        help="dynamic H and W axes; H, W (export and run time) must be multiples of 4",
    )
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset (>= 16; default 17)")
    parser.add_argument("--warp", choices=("inside", "outside"), default="inside",
                        help="inside: the graph warps its state (GridSample; for TensorRT and GPUs); outside: the "
                             "runtime warps natively before the graph (faster with ONNX Runtime on CPUs)")
    parser.add_argument("--pixel-stages", choices=("graph", "native"), default="graph",
                        help="graph: the whole frame step in the graph (default); native: only the U-Net's half- and "
                             "quarter-resolution part, the runtime runs every full-resolution stage fused in C++ "
                             "(fast-layout kernel models, ONNX Runtime; implies --dynamic and --warp outside; "
                             "docs/export.md)")
    parser.add_argument("--format", choices=("onnx", "tensorrt"), default="onnx", help="output format (default onnx)")
    parser.add_argument("--no-check", action="store_true", help="skip the torch vs onnxruntime parity check")
    parser.add_argument("--atol", type=float, default=1e-4,
                        help="parity tolerance: an element fails beyond atol + rtol * |torch| (default 1e-4)")
    parser.add_argument("--rtol", type=float, default=1e-3,
                        help="relative parity tolerance (default 1e-3: the colour is linear HDR, and float32 "
                             "reordering moves a trained TFA's blend weight by ~1e-4-1e-3)")
    parser.add_argument("--int8", action="store_true",
                        help="also write <out stem>.int8.onnx: static INT8 for ONNX Runtime on CPUs, calibrated on "
                             "--calibration (grids, GridSample and exp stay float32)")
    parser.add_argument("--calibration", default=None, metavar="SEQ[,SEQ]",
                        help="--int8: ssr-seq sequences to calibrate on (sizes: multiples of 4 for --dynamic)")
    trt = parser.add_argument_group("tensorrt")
    parser.add_argument("--fp16", action="store_true",
                        help="also write the half-precision graph <out stem>.fp16.onnx (float32 I/O, state, sampling "
                             "grids and exp kept float32) for GPU providers; tensorrt builds from it")
    trt.add_argument(
        "--max-height", type=int, default=None, help="largest height of a --dynamic engine (default: --height)"
    )
    trt.add_argument(
        "--max-width", type=int, default=None, help="largest width of a --dynamic engine (default: --width)"
    )
    trt.add_argument("--workspace-mib", type=int, default=1024, help="TensorRT builder workspace (default 1024 MiB)")


def _parity_size(args: argparse.Namespace) -> tuple[int, int]:
    """Stream size of the parity check: the export size, capped at 64 for dynamic graphs."""
    if not args.dynamic and args.pixel_stages == "graph":
        return args.height, args.width
    return min(args.height, 64), min(args.width, 64)


def run(args: argparse.Namespace) -> int:
    """Export; return 0 on success, 2 on bad arguments, unavailable TensorRT or failed parity."""
    out = Path(args.out)
    if args.format == "tensorrt":
        from .tensorrt import MAX_TENSORRT_OPSET, MIN_TENSORRT_OPSET, tensorrt_unavailable_reason

        if args.warp == "outside":
            print("ssr export: error: --warp outside is for ONNX Runtime; TensorRT engines warp inside the graph",
                  file=sys.stderr)
            return 2
        if args.pixel_stages == "native":
            print("ssr export: error: --pixel-stages native is for ONNX Runtime on CPUs; TensorRT engines hold the "
                  "whole frame step", file=sys.stderr)
            return 2

        reason = tensorrt_unavailable_reason()
        if reason is not None:
            print(f"ssr export: error: {reason}", file=sys.stderr)
            return 2
        if not MIN_TENSORRT_OPSET <= args.opset <= MAX_TENSORRT_OPSET:
            print(f"ssr export: error: --opset {args.opset}: TensorRT builds need opset {MIN_TENSORRT_OPSET}-"
                  f"{MAX_TENSORRT_OPSET} (opset 20 writes GridSample mode='linear', which TensorRT does not import)",
                  file=sys.stderr)
            return 2
    if args.height < 1 or args.width < 1:
        print(f"ssr export: error: --height/--width must be positive, got {args.height}x{args.width}", file=sys.stderr)
        return 2
    from .onnx import ParityError, check_parity, export_onnx, sidecar_path

    onnx_path = out if args.format == "onnx" else out.with_suffix(".onnx")
    if onnx_path == out and args.format == "tensorrt":
        print("ssr export: error: --out must not end in .onnx with --format tensorrt (use e.g. model.plan)",
              file=sys.stderr)
        return 2
    try:
        export_onnx(args.model, onnx_path, height=args.height, width=args.width, opset=args.opset,
                    dynamic=args.dynamic, warp=args.warp, pixel_stages=args.pixel_stages)
    except ValueError as error:
        print(f"ssr export: error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {onnx_path} and {sidecar_path(onnx_path)}")
    if not args.no_check:
        height, width = _parity_size(args)
        try:
            diff = check_parity(args.model, onnx_path, height, width, frames=3, atol=args.atol, rtol=args.rtol)
        except ParityError as error:
            print(f"ssr export: error: parity check failed: {error}", file=sys.stderr)
            return 2
        print(f"parity torch vs onnxruntime ({height}x{width}, 3 frames): max abs difference {diff:.3g}")
    if args.int8:
        from .quantize import int8_quality_cost, quantize_int8

        if not args.calibration:
            print("ssr export: error: --int8 needs --calibration SEQ[,SEQ] (real frames)", file=sys.stderr)
            return 2
        sequences = [name for name in args.calibration.split(",") if name]
        try:
            int8_path = quantize_int8(onnx_path, onnx_path.with_name(onnx_path.stem + ".int8.onnx"), sequences)
            cost = int8_quality_cost(onnx_path, int8_path, sequences)
        except (ValueError, FileNotFoundError) as error:
            print(f"ssr export: error: --int8: {error}", file=sys.stderr)
            return 2
        print(f"wrote {int8_path}: on the {cost['frames']} calibration frames INT8 vs float32 PSNR "
              f"{cost['int8_vs_float32']:.2f} dB; vs reference {cost['int8_vs_reference']:.2f} dB "
              f"(float32 {cost['float32_vs_reference']:.2f} dB)")
    graph = onnx_path
    if args.fp16:
        from .fp16 import convert_to_fp16

        graph = convert_to_fp16(onnx_path, onnx_path.with_name(onnx_path.stem + ".fp16.onnx"))
        print(f"wrote {graph} (half precision; float32 I/O, state, sampling grids and exp)")
    if args.format == "tensorrt":
        from .tensorrt import build_tensorrt_engine, check_engine_parity

        dynamic_range = None
        if args.dynamic:
            max_h, max_w = args.max_height or args.height, args.max_width or args.width
            if max_h % 4 or max_w % 4 or max_h < args.height or max_w < args.width:
                print(f"ssr export: error: --max-height/--max-width must be multiples of 4 and at least the "
                      f"export size, got {max_h}x{max_w}", file=sys.stderr)
                return 2
            dynamic_range = ((4, 4), (args.height, args.width), (max_h, max_w))
        try:
            build_tensorrt_engine(graph, out, dynamic_range=dynamic_range, workspace_mib=args.workspace_mib)
            print(f"wrote TensorRT engine {out}")
            if not args.no_check:
                height, width = _parity_size(args)
                diff = check_engine_parity(out, onnx_path, height, width, atol=1e-2 if args.fp16 else 1e-3)
                print(f"parity TensorRT vs onnxruntime ({height}x{width}, 3 frames): max abs difference {diff:.3g}")
        except (RuntimeError, ValueError, ParityError) as error:
            print(f"ssr export: error: {error}", file=sys.stderr)
            return 2
    return 0

