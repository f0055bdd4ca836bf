"""Export a model's frame step to ONNX (and optionally build a TensorRT engine from it).

Writes the ONNX graph plus a JSON sidecar (``<out>.json``: model config, tensor names and
shapes, opset, source weights), checks it with onnx.checker and, unless ``--no-check``,
compares a short random stream through torch and onnxruntime (docs/export.md).

``--format tensorrt`` needs an NVIDIA GPU and the ``tensorrt`` Python package: it writes
the ONNX graph next to ``--out`` (``<out stem>.onnx``) and serialises a TensorRT engine to
``--out``.

examples:
  ssr export --out ssr.onnx --height 720 --width 1280                   # bundled model, static
  ssr export --model runs/small/model --out ssr.onnx --height 256 --width 256 --dynamic
  ssr export --out ssr.plan --height 720 --width 1280 --format tensorrt --fp16
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = [
    "TENSORRT_UNAVAILABLE",
    "add_arguments",
    "build_tensorrt_engine",
    "run",
    "tensorrt_unavailable_reason",
]

TENSORRT_UNAVAILABLE = "TensorRT needs an NVIDIA GPU and the tensorrt package; not available here"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of ``ssr export``."""
    parser.add_argument("--model", default=None, help="saved weights <path> (default: the bundled model)")
    parser.add_argument("--out", required=True, help="output file: model.onnx, or the engine file for tensorrt")
    parser.add_argument("--height", type=int, required=True, help="frame height (trace size when --dynamic)")
    parser.add_argument("--width", type=int, required=True, help="frame width (trace size when --dynamic)")
    parser.add_argument(
        "--dynamic",
        action="store_true",
        help="dynamic H and W axes; H, W (export and run time) must be multiples of 4",
    )
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset (>= 16; default 17)")
    parser.add_argument("--format", choices=("onnx", "tensorrt"), default="onnx", help="output format (default onnx)")
    parser.add_argument("--no-check", action="store_true", help="skip the torch vs onnxruntime parity check")
    parser.add_argument("--atol", type=float, default=1e-4, help="parity tolerance, max abs difference (default 1e-4)")
    trt = parser.add_argument_group("tensorrt")
    trt.add_argument("--fp16", action="store_true", help="allow fp16 kernels in the TensorRT engine")
    trt.add_argument(
        "--max-height", type=int, default=None, help="largest height of a --dynamic engine (default: --height)"
    )
    trt.add_argument(
        "--max-width", type=int, default=None, help="largest width of a --dynamic engine (default: --width)"
    )
    trt.add_argument("--workspace-mib", type=int, default=1024, help="TensorRT builder workspace (default 1024 MiB)")


def tensorrt_unavailable_reason() -> str | None:
    """None when ``import tensorrt`` works and a CUDA device is present, else why not."""
    try:
        import tensorrt  # noqa: F401
    except ImportError as error:
        return f"{TENSORRT_UNAVAILABLE} (import tensorrt failed: {error})"
    try:
        import torch
    except ImportError:
        return f"{TENSORRT_UNAVAILABLE} (torch is missing, so CUDA cannot be checked)"
    if not torch.cuda.is_available():
        return f"{TENSORRT_UNAVAILABLE} (no CUDA device)"
    return None


def build_tensorrt_engine(
    onnx_path: str | Path,
    engine_path: str | Path,
    *,
    fp16: bool = False,
    dynamic_range: tuple[tuple[int, int], tuple[int, int], tuple[int, int]] | None = None,
    workspace_mib: int = 1024,
) -> Path:
    """Parse an SSR ONNX graph with TensorRT and write the serialised engine.

    Args:
        onnx_path: graph written by :func:`ssr.export.onnx.export_onnx`.
        engine_path: destination of the serialised engine (plan).
        fp16: set ``BuilderFlag.FP16`` (TensorRT may then pick fp16 kernels).
        dynamic_range: for a dynamic graph, ``((min_h, min_w), (opt_h, opt_w), (max_h,
            max_w))`` of the optimisation profile applied to ``packed``, ``acc`` and
            ``prev_out`` (``reset`` is always ``[1, 1, 1, 1]``); None for a static graph.
        workspace_mib: builder workspace memory pool limit.

    Returns:
        ``engine_path``.

    Raises:
        RuntimeError: TensorRT/CUDA missing, the parser rejected the graph, or the build failed.
    """
    reason = tensorrt_unavailable_reason()
    if reason is not None:
        raise RuntimeError(reason)
    import tensorrt as trt

    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    flags = 0
    explicit = getattr(trt.NetworkDefinitionCreationFlag, "EXPLICIT_BATCH", None)
    if explicit is not None and int(trt.__version__.split(".")[0]) < 10:
        flags = 1 << int(explicit)  # required before TensorRT 10, implied (deprecated) since
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise RuntimeError(f"TensorRT could not parse {onnx_path}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_mib) << 20)
    if fp16:
        config.set_flag(trt.BuilderFlag.FP16)
    if dynamic_range is not None:
        profile = builder.create_optimization_profile()
        for name, channels in (("packed", 19), ("acc", 14), ("prev_out", 3)):
            shapes = [(1, channels, h, w) for h, w in dynamic_range]
            profile.set_shape(name, *shapes)
        config.add_optimization_profile(profile)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise RuntimeError(f"TensorRT failed to build an engine from {onnx_path} (see the log above)")
    out = Path(engine_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(bytes(serialized))
    return out


def _parity_size(args: argparse.Namespace) -> tuple[int, int]:
    """Stream size of the parity check: the export size, capped at 64 for dynamic graphs."""
    if not args.dynamic:
        return args.height, args.width
    return min(args.height, 64), min(args.width, 64)


def run(args: argparse.Namespace) -> int:
    """Export; return 0 on success, 2 on bad arguments, unavailable TensorRT or failed parity."""
    out = Path(args.out)
    if args.format == "tensorrt":
        reason = tensorrt_unavailable_reason()
        if reason is not None:
            print(f"ssr export: error: {reason}", file=sys.stderr)
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
                    dynamic=args.dynamic)
    except ValueError as error:
        print(f"ssr export: error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {onnx_path} and {sidecar_path(onnx_path)}")
    if not args.no_check:
        height, width = _parity_size(args)
        try:
            diff = check_parity(args.model, onnx_path, height, width, frames=3, atol=args.atol)
        except ParityError as error:
            print(f"ssr export: error: parity check failed: {error}", file=sys.stderr)
            return 2
        print(f"parity torch vs onnxruntime ({height}x{width}, 3 frames): max abs difference {diff:.3g}")
    if args.format == "tensorrt":
        dynamic_range = None
        if args.dynamic:
            max_h, max_w = args.max_height or args.height, args.max_width or args.width
            if max_h % 4 or max_w % 4 or max_h < args.height or max_w < args.width:
                print(f"ssr export: error: --max-height/--max-width must be multiples of 4 and at least the "
                      f"export size, got {max_h}x{max_w}", file=sys.stderr)
                return 2
            dynamic_range = ((4, 4), (args.height, args.width), (max_h, max_w))
        try:
            build_tensorrt_engine(onnx_path, out, fp16=args.fp16, dynamic_range=dynamic_range,
                                  workspace_mib=args.workspace_mib)
        except RuntimeError as error:
            print(f"ssr export: error: {error}", file=sys.stderr)
            return 2
        print(f"wrote TensorRT engine {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m ssr.export.cli``: the same as ``ssr export`` (until it is registered)."""
    parser = argparse.ArgumentParser(prog="ssr export", description=(__doc__ or "").strip(),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except FileNotFoundError as error:
        print(f"ssr export: error: {error}", file=sys.stderr)
        return 1
