"""``ssr bench``: speed harnesses whose results are ratios against a peer in the same run.

  --what pack    native C++ input packing vs the NumPy reference (same frame, same process)
  --what model   one network step per width preset (tiny / small / base), side by side

Prints Markdown tables (paste them into BENCHMARKS.md with the command line) and, with
--json, writes the raw numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path


def _sizes(text: str) -> list[tuple[int, int]]:
    try:
        return [tuple(int(v) for v in size.lower().split("x")) for size in text.split(",")]  # type: ignore[misc]
    except ValueError:
        raise argparse.ArgumentTypeError(f"sizes must look like 270x480,1024x2048, got {text!r}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--what", choices=("pack", "model"), default="pack", help="which harness to run")
    parser.add_argument("--sizes", type=_sizes, default=None,
                        help="comma-separated HxW frame sizes (default: pack 270x480,540x960,1024x2048; model 256x512)")
    parser.add_argument("--repeat", type=int, default=10, help="timed repetitions per case (median reported)")
    parser.add_argument("--threads", type=int, default=0, help="pack: native worker threads (0: automatic)")
    parser.add_argument("--presets", default="tiny,small,base", help="model: width presets to compare")
    parser.add_argument("--device", default="cpu", help="model: torch device (cpu, cuda)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file")


def run(args: argparse.Namespace) -> int:
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs, {platform.system()}"
    results: list[dict] = []
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
