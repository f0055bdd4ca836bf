"""``ssr bench <harness>``: speed and quality harnesses whose results are ratios against a
peer measured in the same run.

  fps      milliseconds per frame of the full streaming path (validate, pack, network, state
           swap, unpack) per backend and resolution, network-only time beside it, Intel OIDN
           fast / balanced / high on the same frames; JSON + Markdown (--out), and with
           --quality a speed-quality plot (needs pyoidn for the peers)
  pack     native C++ input packing vs the NumPy reference (same frame, same process)
  model    one network step per width preset (tiny / small / base), side by side
  training the learning curves of `ssr train` runs side by side (--runs a,b: training loss and
           validation PSNR, PNG plots with --out)
  quality  image quality of SSR (1/4 spp) vs Intel OIDN high / fast on the 1-spp colour
           (4x the samples) + albedo + normal, OIDN on the half-res traced samples, and the
           noisy input, per sequence: metrics, per-material bias, per-frame curves, contact
           sheets (--out), time per frame (needs the [bench] extra: pip install pyoidn)

Prints Markdown tables (paste them into BENCHMARKS.md with the command line) and, with
--json, writes the raw numbers.

examples:
  ssr bench fps --out bench_fps --quality bench_quality/report.json    # 720p, 1080p, 1024x2048, 4K
  ssr bench fps --sizes 256x512 --max-seconds 5 --no-peers
  ssr bench quality --data data/v2 --split test --model runs/v2/model --out bench_quality
  ssr bench quality --data data/seq_kitchen --no-flip --max-frames 16
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

QUALITY_METHODS = ("ssr", "oidn_high", "oidn_fast", "oidn_halfres", "svgf", "input")
"""``ssr bench quality --methods`` choices (bench.quality.METHODS; a test keeps them equal)."""

def _sizes(text: str) -> list[tuple[int, int]]:
    try:
        return [tuple(int(v) for v in size.lower().split("x")) for size in text.split(",")]  # type: ignore[misc]
    except ValueError:
        raise argparse.ArgumentTypeError(f"sizes must look like 270x480,1024x2048, got {text!r}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("harness", choices=("fps", "pack", "model", "quality", "training"), help="which harness to run")
    parser.add_argument("--sizes", type=_sizes, default=None,
                        help="comma-separated HxW frame sizes (default: fps 720x1280,1080x1920,1024x2048,2160x3840; "
                             "pack 270x480,540x960,1024x2048; model 256x512)")
    parser.add_argument("--repeat", type=int, default=10, help="timed repetitions per case (median reported)")
    parser.add_argument("--threads", type=int, default=0, help="pack: native worker threads (0: automatic)")
    parser.add_argument("--presets", default="tiny,small,base", help="model: width presets to compare")
    parser.add_argument("--device", default="cpu", help="model, quality: torch device (cpu, cuda)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file")
    fps = parser.add_argument_group("fps")
    fps.add_argument("--backends", default="torch,onnxruntime", help="fps: backends to time (torch, onnxruntime)")
    fps.add_argument("--onnx", default=None,
                     help="fps: comma-separated ONNX graphs, e.g. fp32 and --int8 exports (default: the model exported dynamic)")
    fps.add_argument("--ort-threads", type=int, default=None, help="fps: ONNX Runtime intra-op threads")
    fps.add_argument("--min-frames", type=int, default=5, help="fps: timed frames per case, at least (default 5)")
    fps.add_argument("--max-seconds", type=float, default=20.0, help="fps: stop a case after this (default 20 s)")
    fps.add_argument("--warmup", type=int, default=2, help="fps: untimed frames per case first (default 2)")
    fps.add_argument("--rounds", type=int, default=1,
                     help="fps: time the whole list of cases this many times in turn and pool the samples (a "
                          "machine whose speed drifts then affects each case and its OIDN ratio alike; default 1)")
    fps.add_argument("--no-peers", action="store_true", help="fps: skip the OIDN peers")
    fps.add_argument("--quality", default=None,
                     help="fps: comma-separated `ssr bench quality` report.json files for the speed-quality plot")
    fps.add_argument("--plot-size", type=_sizes, default=None, help="fps: resolution of the plot (default 1024x2048)")
    training = parser.add_argument_group("training")
    training.add_argument("--runs", default="", metavar="RUN,...", help="training: comma-separated ssr train run folders")
    quality = parser.add_argument_group("quality")
    quality.add_argument("--data", default=None, help="a sequence folder or a dataset folder of sequences")
    quality.add_argument("--split", default=None, help="use <data>/<split>/ (e.g. val, test)")
    quality.add_argument("--skip-incomplete", action="store_true",
                         help="quality: leave out sequences whose frames are not all written yet (a dataset still rendering)")
    parser.add_argument("--model", default=None, help="fps, quality: saved weights <path> or a training checkpoint <run>/last.pt (default: the bundled model)")
    parser.add_argument("--out", type=Path, default=None, help="fps, quality: write report.json and report.md here")
    quality.add_argument("--max-frames", type=int, default=None, help="only the first N frames of each sequence")
    quality.add_argument("--no-progress", action="store_true",
                         help="quality: no progress bar (default: one per sequence, on a terminal only)")
    quality.add_argument("--no-flip", action="store_true", help="skip HDR-FLIP (the slowest metric)")
    quality.add_argument("--no-vdp", action="store_true",
                         help="quality: skip the FovVideoVDP video score (pyfvvdp; a few seconds per sequence and method)")
    quality.add_argument("--exposure", type=float, default=1.0, help="tone-mapper exposure for sRGB metrics")
    quality.add_argument("--methods", default=",".join(QUALITY_METHODS), metavar="LIST",
                         help="quality: comma-separated methods to score (default: all: %(default)s)")
    quality.add_argument("--variants", default="", metavar="NAME=WEIGHTS,...",
                         help="quality: more models scored in the same run (ablations, other recipes), "
                              "e.g. spec=runs/b/model,no-tfa=runs/c/model")
    quality.add_argument("--fps-report", type=Path, default=None, metavar="REPORT_JSON",
                         help="quality: an `ssr bench fps` report.json; its full-path ms per frame become the "
                              "speed columns of the tables and index.html")
    quality.add_argument("--sheet-frame", type=int, default=None,
                         help="quality: frame of each sequence on its contact sheet (default: the last)")


def run(args: argparse.Namespace) -> int:
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs, {platform.system()}"
    results: list[dict] = []
    if args.harness == "quality":
        return _run_quality(args)
    if args.harness == "fps":
        return _run_fps(args)
    if args.harness == "training":
        return _run_training(args)
    if args.harness == "pack":
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
        args.json.write_text(json.dumps({"what": args.harness, "machine": machine, "results": results}, indent=2) + "\n")
    return 0


def _variants(text: str) -> dict[str, str]:
    """``"a=path,b=path"`` -> ``{"a": "path", "b": "path"}`` (ValueError on a malformed item)."""
    variants: dict[str, str] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, sep, path = item.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise ValueError(f"--variants: expected NAME=WEIGHTS, got {item!r}")
        variants[name.strip()] = path.strip()
    return variants


def _run_quality(args: argparse.Namespace) -> int:
    """``ssr bench quality``: 0 on success, 2 on bad input or a missing pyoidn."""
    from ssr.data_tools.format import FormatError
    from ssr.evaluate import json_ready, resolve_sequences
    from ssr.metrics import MetricSet

    from .quality import format_quality_markdown, quality_report, write_quality_report

    def fail(message: object) -> int:
        print(f"ssr bench: error: {message}", file=sys.stderr)
        return 2

    if not args.data:
        return fail("quality needs --data (a sequence or a dataset folder)")
    if args.max_frames is not None and args.max_frames < 1:
        return fail("--max-frames must be >= 1")
    try:
        report = quality_report(
            args.model,
            resolve_sequences(args.data, args.split, args.skip_incomplete),
            device=args.device,
            metrics=MetricSet(flip=not args.no_flip, exposure=args.exposure, video=not args.no_vdp),
            max_frames=args.max_frames,
            methods=[m.strip() for m in args.methods.split(",") if m.strip()],
            progress=False if args.no_progress else None,
            out_dir=args.out,
            sheet_frame=args.sheet_frame,
            variants=_variants(args.variants),
        )
    except ImportError as error:
        return fail(error)
    except (FormatError, FileNotFoundError, ValueError) as error:
        return fail(error)
    if args.fps_report is not None:
        from .fps import full_path_ms

        try:
            fps = json.loads(args.fps_report.read_text())
            report["speed"] = {"source": str(args.fps_report), "machine": fps["machine"],
                               "ms_per_frame": full_path_ms(fps)}
        except (OSError, ValueError, KeyError, TypeError) as error:
            return fail(f"--fps-report {args.fps_report}: not an `ssr bench fps` report ({error})")
    print(format_quality_markdown(report))
    if args.json:
        args.json.write_text(json.dumps(json_ready(report), indent=2, allow_nan=False) + "\n")
    if args.out:
        json_path, md_path = write_quality_report(report, args.out)
        print(f"ssr bench: wrote {json_path} and {md_path}")
    return 0


def _run_training(args: argparse.Namespace) -> int:
    """``ssr bench training``: 0 on success, 2 on a missing or foreign run folder."""
    from .training_curves import format_training_markdown, training_report, write_training_plots

    try:
        report = training_report([run for run in args.runs.split(",") if run])
    except (FileNotFoundError, ValueError) as error:
        print(f"ssr bench: error: {error}", file=sys.stderr)
        return 2
    text = format_training_markdown(report)
    if _emit(args, report, text, {"training.md": text}):
        for path in write_training_plots(report, args.out):
            print(f"ssr bench: wrote {path}")
    return 0


def _emit(args: argparse.Namespace, report: dict, markdown: str, files: dict[str, str]) -> bool:
    """Print ``markdown``, write ``report`` to ``--json`` and ``files`` (name -> text) under
    ``--out``; True when there is an ``--out`` folder."""
    print(markdown)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    if not args.out:
        return False
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (args.out / name).write_text(text)
    return True


def _run_fps(args: argparse.Namespace) -> int:
    """``ssr bench fps``: 0 on success, 2 on bad input or a missing peer."""
    from .fps import DEFAULT_SIZES, OIDN_QUALITIES, bench_fps, format_fps_markdown
    from .plot import speed_quality_points, write_speed_quality_plot

    backends = tuple(b for b in args.backends.split(",") if b)
    unknown = sorted(set(backends) - {"torch", "onnxruntime"})
    if unknown:
        print(f"ssr bench: error: unknown backend(s) {', '.join(unknown)} (fps times torch, onnxruntime)", file=sys.stderr)
        return 2
    quality_reports = []
    for name in (args.quality or "").split(","):
        if name:
            try:
                quality_reports.append(json.loads(Path(name).read_text()))
            except (OSError, json.JSONDecodeError) as error:
                print(f"ssr bench: error: --quality {name}: {error}", file=sys.stderr)
                return 2
    try:
        report = bench_fps(
            list(args.sizes or DEFAULT_SIZES), model=args.model, backends=backends,
            onnx_path=[Path(p) for p in args.onnx.split(",") if p] if args.onnx else None,
            device=args.device, threads=args.ort_threads, peers=() if args.no_peers else OIDN_QUALITIES,
            min_frames=args.min_frames, max_seconds=args.max_seconds, warmup=args.warmup, rounds=args.rounds,
            progress=lambda line: print(line, file=sys.stderr, flush=True),
        )
    except ImportError as error:
        print(f"ssr bench: error: {error} (install pyoidn or pass --no-peers)", file=sys.stderr)
        return 2
    markdown = format_fps_markdown(report)
    if _emit(args, report, markdown, {"report.json": json.dumps(report, indent=2) + "\n", "report.md": markdown + "\n"}):
        print(f"ssr bench: wrote {args.out / 'report.json'} and {args.out / 'report.md'}")
        if quality_reports:
            size = (args.plot_size or [(1024, 2048)])[0]
            points = speed_quality_points(report, quality_reports, size=size)
            if points:
                plot = write_speed_quality_plot(points, args.out / "speed_quality.png",
                                                title=f"speed vs quality at {size[1]}x{size[0]} ({report['machine']['cpu']})")
                print(f"ssr bench: wrote {plot}")
            else:
                print(f"ssr bench: no method at {size[1]}x{size[0]} has a quality number: plot skipped", file=sys.stderr)
    return 0
