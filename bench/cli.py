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


def _shared_parsers() -> dict[str, argparse.ArgumentParser]:
    """Parent parsers of the flags several harnesses share (one definition each)."""
    from ssr.devices import DEVICE_HELP

    json_out = argparse.ArgumentParser(add_help=False)
    json_out.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file")
    device = argparse.ArgumentParser(add_help=False)
    device.add_argument("--device", default="auto", help=DEVICE_HELP)
    model = argparse.ArgumentParser(add_help=False)
    model.add_argument("--model", default=None,
                       help="saved weights <path> or a training checkpoint <run>/last.pt (default: the bundled model)")
    out = argparse.ArgumentParser(add_help=False)
    out.add_argument("--out", type=Path, default=None, help="write report.json, report.md and the figures here")
    repeat = argparse.ArgumentParser(add_help=False)
    repeat.add_argument("--repeat", type=int, default=10, help="timed repetitions per case (median reported)")
    return {"json": json_out, "device": device, "model": model, "out": out, "repeat": repeat}


def _size_flag(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument("--sizes", type=_sizes, default=None, metavar="HxW,...",
                        help=f"comma-separated frame sizes, height x width (default {default})")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One subparser per harness (``ssr bench <harness> --help``), each with only its own flags:
    a flag that does not apply to a harness is an error (exit 2), not silently ignored."""
    shared = _shared_parsers()
    harnesses = parser.add_subparsers(dest="harness", required=True, metavar="HARNESS",
                                      title="harnesses", help="fps, pack, model, training or quality")

    fps = harnesses.add_parser("fps", parents=[shared["model"], shared["device"], shared["out"], shared["json"]],
                               help="ms per frame of the full streaming path per backend and size, vs OIDN",
                               description="Milliseconds per frame of the full streaming path (validate, pack, "
                                           "network, state swap, unpack) per backend and resolution, with Intel OIDN "
                                           "fast / balanced / high on the same frames (docs/evaluation.md).")
    _size_flag(fps, "720x1280,1080x1920,1024x2048,2160x3840")
    fps.add_argument("--backends", default="torch,onnxruntime", help="backends to time (torch, onnxruntime)")
    fps.add_argument("--onnx", default=None,
                     help="comma-separated ONNX graphs, e.g. fp32 and --int8 exports (default: the model exported dynamic)")
    fps.add_argument("--threads", type=int, default=None,
                     help="onnxruntime: intra-op threads (and the native stages' workers), as in ssr denoise")
    fps.add_argument("--min-frames", type=int, default=5, help="timed frames per case, at least (default 5)")
    fps.add_argument("--max-seconds", type=float, default=20.0, help="stop a case after this (default 20 s)")
    fps.add_argument("--warmup", type=int, default=2, help="untimed frames per case first (default 2)")
    fps.add_argument("--rounds", type=int, default=1,
                     help="time the whole list of cases this many times in turn and pool the samples (a machine "
                          "whose speed drifts then affects each case and its OIDN ratio alike; default 1)")
    fps.add_argument("--no-peers", action="store_true", help="skip the OIDN peers")
    fps.add_argument("--quality", default=None,
                     help="comma-separated `ssr bench quality` report.json files for the speed-quality plot")
    fps.add_argument("--plot-size", type=_sizes, default=None, metavar="HxW",
                     help="resolution of the plot (default 1024x2048)")

    pack = harnesses.add_parser("pack", parents=[shared["repeat"], shared["json"]],
                                help="native C++ input packing vs the NumPy reference",
                                description="Native C++ input packing vs the NumPy reference, same frame, same process.")
    _size_flag(pack, "270x480,540x960,1024x2048")
    pack.add_argument("--threads", type=int, default=None,
                      help="native packing worker threads (default: one per core, as in ssr denoise)")

    model = harnesses.add_parser("model", parents=[shared["repeat"], shared["device"], shared["json"]],
                                 help="one network step per width preset, side by side",
                                 description="One network step per width preset, side by side.")
    _size_flag(model, "256x512")
    model.add_argument("--presets", default="tiny,small,base", help="width presets to compare")

    training = harnesses.add_parser("training", parents=[shared["out"], shared["json"]],
                                    help="learning curves of ssr train runs side by side",
                                    description="The learning curves of `ssr train` runs side by side (training "
                                                "loss and validation PSNR; PNG plots with --out).")
    training.add_argument("--runs", required=True, metavar="RUN,...", help="comma-separated ssr train run folders")

    quality = harnesses.add_parser(
        "quality", parents=[shared["model"], shared["device"], shared["out"], shared["json"]],
        help="image quality of SSR vs OIDN and the other peers",
        description="Image quality of SSR (1/4 spp) vs Intel OIDN high / fast on the 1-spp colour (4x the samples), "
                    "OIDN on the half-res traced samples, SVGF and the noisy input, per sequence: metrics, bias by "
                    "material, curves by frame and by frames since the cut, contact sheets, history maps "
                    "(docs/evaluation.md).")
    quality.add_argument("--data", required=True, help="a sequence folder or a dataset folder of sequences")
    quality.add_argument("--split", default=None, help="use <data>/<split>/ (e.g. val, test)")
    quality.add_argument("--skip-incomplete", action="store_true",
                         help="leave out sequences whose frames are not all written yet (a dataset still rendering)")
    quality.add_argument("--max-frames", type=int, default=None, help="only the first N frames of each sequence")
    quality.add_argument("--no-progress", action="store_true",
                         help="no progress bar (default: one per sequence, on a terminal only)")
    quality.add_argument("--no-flip", action="store_true", help="skip HDR-FLIP (the slowest metric)")
    quality.add_argument("--no-vdp", action="store_true",
                         help="skip the FovVideoVDP video score (pyfvvdp; a few seconds per sequence and method)")
    quality.add_argument("--exposure", type=float, default=1.0, help="tone-mapper exposure for sRGB metrics")
    quality.add_argument("--methods", default=",".join(QUALITY_METHODS), metavar="LIST",
                         help="comma-separated methods to score (default: all: %(default)s)")
    quality.add_argument("--variants", default="", metavar="NAME=WEIGHTS|GRAPH.onnx,...",
                         help="more models scored in the same run (ablations, other recipes), "
                              "e.g. spec=runs/b/model,no-tfa=runs/c/model; a .onnx graph from `ssr export` is "
                              "streamed through ONNX Runtime, the deployed path (e.g. int8=ssr.int8.onnx from "
                              "--pixel-stages native --int8)")
    quality.add_argument("--fps-report", type=Path, default=None, metavar="REPORT_JSON",
                         help="an `ssr bench fps` report.json; its full-path ms per frame become the speed columns of "
                              "the tables and index.html")
    quality.add_argument("--sheet-frame", type=int, default=None,
                         help="frame of each sequence on its contact sheet (default: the last)")


def run(args: argparse.Namespace) -> int:
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs, {platform.system()}"
    results: list[dict] = []
    if getattr(args, "device", None) is not None:
        from ssr.devices import resolve_device

        args.device = resolve_device(args.device)
    if args.harness == "quality":
        return _run_quality(args)
    if args.harness == "fps":
        return _run_fps(args)
    if args.harness == "training":
        return _run_training(args)
    if args.harness == "pack":
        from .pack_speed import bench_pack, print_table

        for height, width in args.sizes or [(270, 480), (540, 960), (1024, 2048)]:
            results.append(bench_pack(height, width, args.repeat, args.threads or 0))
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
            device=args.device, threads=args.threads, peers=() if args.no_peers else OIDN_QUALITIES,
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
