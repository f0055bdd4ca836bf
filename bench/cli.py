"""``ssr bench``: speed harnesses whose results are ratios against a peer in the same run.

  --what pack    native C++ input packing vs the NumPy reference (same frame, same process)
  --what model   one network step per width preset (tiny / small / base), side by side
  --what quality image quality of SSR (1/4 spp) vs Intel Open Image Denoise on the 1-spp
                 colour (4x the samples) + albedo + normal, per sequence, with time per frame
                 (needs the [bench] extra: pip install pyoidn)

Prints Markdown tables (paste them into BENCHMARKS.md with the command line) and, with
--json, writes the raw numbers.

examples:
  ssr bench --what quality --data data/ssr-default --split val --model runs/small/model --out bench_quality
  ssr bench --what quality --data data/seq_kitchen --no-flip --max-frames 16
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path


def _sizes(text: str) -> list[tuple[int, int]]:
    try:
        return [tuple(int(v) for v in size.lower().split("x")) for size in text.split(",")]  # type: ignore[misc]
    except ValueError:
        raise argparse.ArgumentTypeError(f"sizes must look like 270x480,1024x2048, got {text!r}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--what", choices=("pack", "model", "quality"), default="pack", help="which harness to run")
    parser.add_argument("--sizes", type=_sizes, default=None,
                        help="comma-separated HxW frame sizes (default: pack 270x480,540x960,1024x2048; model 256x512)")
    parser.add_argument("--repeat", type=int, default=10, help="timed repetitions per case (median reported)")
    parser.add_argument("--threads", type=int, default=0, help="pack: native worker threads (0: automatic)")
    parser.add_argument("--presets", default="tiny,small,base", help="model: width presets to compare")
    parser.add_argument("--device", default="cpu", help="model, quality: torch device (cpu, cuda)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file")
    quality = parser.add_argument_group("--what quality")
    quality.add_argument("--data", default=None, help="a sequence folder or a dataset folder of sequences")
    quality.add_argument("--split", default=None, help="use <data>/<split>/ (e.g. val, test)")
    quality.add_argument("--model", default=None, help="saved weights <path> (default: the bundled model)")
    quality.add_argument("--out", type=Path, default=None, help="write report.json and report.md here")
    quality.add_argument("--max-frames", type=int, default=None, help="only the first N frames of each sequence")
    quality.add_argument("--no-flip", action="store_true", help="skip HDR-FLIP (the slowest metric)")
    quality.add_argument("--exposure", type=float, default=1.0, help="tone-mapper exposure for sRGB metrics")
    quality.add_argument("--oidn-quality", choices=("high", "balanced", "fast"), default="high",
                         help="OIDN filter quality (default high)")


def run(args: argparse.Namespace) -> int:
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs, {platform.system()}"
    results: list[dict] = []
    if args.what == "quality":
        return _run_quality(args)
    if args.what == "pack":
        from .pack_speed import bench_pack, print_table

        for height, width in args.sizes or [(270, 480), (540, 960), (1024, 2048)]:
            results.append(bench_pack(height, width, args.repeat, args.threads))
        print_table(results, args.repeat)
    else:
        import torch

        from .model_speed import bench_model, print_table as print_model_table

        for height, width in args.sizes or [(256, 512)]:
            rows = bench_model(height, width, args.presets.split(","), args.repeat, args.device)
            print_model_table(rows, height, width, args.device, torch.get_num_threads())
            results.extend({"height": height, "width": width, **row} for row in rows)
    if args.json:
        args.json.write_text(json.dumps({"what": args.what, "machine": machine, "results": results}, indent=2) + "\n")
    return 0


def _run_quality(args: argparse.Namespace) -> int:
    """``ssr bench --what quality``: 0 on success, 2 on bad input or a missing pyoidn."""
    from ssr.data_tools.format import FormatError
    from ssr.evaluate import json_ready, resolve_sequences
    from ssr.metrics import MetricSet

    from .quality import format_quality_markdown, quality_report, write_quality_report

    def fail(message: object) -> int:
        print(f"ssr bench: error: {message}", file=sys.stderr)
        return 2

    if not args.data:
        return fail("--what quality needs --data (a sequence or a dataset folder)")
    if args.max_frames is not None and args.max_frames < 1:
        return fail("--max-frames must be >= 1")
    try:
        report = quality_report(
            args.model,
            resolve_sequences(args.data, args.split),
            device=args.device,
            metrics=MetricSet(flip=not args.no_flip, exposure=args.exposure),
            max_frames=args.max_frames,
            oidn_quality=args.oidn_quality,
            progress=None,
        )
    except ImportError as error:
        return fail(error)
    except (FormatError, FileNotFoundError, ValueError) as error:
        return fail(error)
    print(format_quality_markdown(report))
    if args.json:
        args.json.write_text(json.dumps(json_ready(report), indent=2, allow_nan=False) + "\n")
    if args.out:
        json_path, md_path = write_quality_report(report, args.out)
        print(f"ssr bench: wrote {json_path} and {md_path}")
    return 0
