"""Score a model on ssr-seq sequences against their ``reference`` layer.

Each sequence is streamed through the chosen backend frame by frame, exactly as
``ssr denoise`` runs it (history reset at meta.json cuts); every output frame is scored
against the reference (PSNR / SSIM / RMSE on linear HDR and on tone-mapped sRGB, HDR-FLIP,
warped temporal error). Frames right after a cut (the cut frame and the next 3) are
reported apart from steady-state frames, frames 16 or more after a cut also as
"converged", and the noisy input (1-spp colour at every pixel) is scored as a baseline.
Prints the tables and, with --out, writes ``report.json`` and ``report.md``. Metric
definitions: docs/evaluation.md.

Backends (--backend, as in ``ssr denoise``): torch (saved weights or the bundled model),
onnxruntime (a graph written by ``ssr export``, e.g. ``--pixel-stages native --int8``: the
path users deploy) and tensorrt (an engine, NVIDIA GPUs); auto picks by the model file.

examples:
  ssr eval --model runs/small/model --data data/ssr-default --split val --out eval_val
  ssr eval --data data/seq_kitchen                        # one sequence, bundled model
  ssr eval --model ssr.int8.onnx --data data/v2 --split test --no-flip   # the deployed INT8 graph
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of ``ssr eval`` (the model and backend flags mean what they mean in ``ssr denoise``)."""
    from ssr.devices import DEVICE_HELP
    from ssr.runtime import BACKENDS

    parser.add_argument("--model", default=None,
                        help="saved weights <path>, a training checkpoint <run>/last.pt, or an exported .onnx graph "
                             "(default: the bundled model)")
    parser.add_argument("--backend", choices=BACKENDS, default="auto",
                        help="inference backend (default auto: onnxruntime for .onnx, tensorrt for .plan/.engine, "
                             "torch otherwise)")
    parser.add_argument("--threads", type=int, default=None, help="onnxruntime: intra-op threads")
    parser.add_argument("--data", required=True, help="a sequence folder or a dataset folder of sequences")
    parser.add_argument("--split", default=None, help="evaluate <data>/<split>/ (e.g. val, test)")
    parser.add_argument("--skip-incomplete", action="store_true",
                        help="leave out sequences whose frames are not all written yet (a dataset still rendering)")
    parser.add_argument("--out", default=None, help="write report.json and report.md here (default: print only)")
    parser.add_argument("--device", default="auto", help=DEVICE_HELP)
    parser.add_argument("--full-spp", action="store_true",
                        help="feed 1-spp colour at every pixel (w/o-SS) instead of the subpixel pattern")
    parser.add_argument("--max-frames", type=int, default=None, help="only the first N frames of each sequence")
    parser.add_argument("--no-flip", action="store_true", help="skip HDR-FLIP (the slowest metric)")
    parser.add_argument("--no-input", action="store_true", help="skip the noisy-input baseline rows")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--exposure", type=float, default=1.0, help="tone-mapper exposure for sRGB metrics")


def run(args: argparse.Namespace) -> int:
    """``ssr eval``: returns 0 on success, 2 on bad input (message on stderr)."""
    from ssr.data_tools.format import FormatError
    from ssr.devices import resolve_device
    from ssr.evaluate import evaluate, format_markdown, resolve_sequences, write_report
    from ssr.metrics import MetricSet
    from ssr.runtime import open_backend, resolve_backend

    args.device = resolve_device(args.device)
    if args.max_frames is not None and args.max_frames < 1:
        print("ssr eval: error: --max-frames must be >= 1", file=sys.stderr)
        return 2
    try:
        sequences = resolve_sequences(args.data, args.split, args.skip_incomplete)
        chosen = resolve_backend(args.model, args.backend)
        backend = (None if chosen == "torch"
                   else open_backend(args.model, chosen, device=args.device, threads=args.threads))
        report = evaluate(
            args.model,
            sequences,
            device=args.device,
            backend=backend,
            full_spp=args.full_spp,
            metrics=MetricSet(flip=not args.no_flip, exposure=args.exposure),
            include_input=not args.no_input,
            max_frames=args.max_frames,
            progress=False if args.no_progress else None,
        )
    except (FormatError, FileNotFoundError, ValueError, RuntimeError) as error:
        print(f"ssr eval: error: {error}", file=sys.stderr)
        return 2
    if backend is not None:
        report["backend"] = chosen
    print(format_markdown(report))
    if args.out:
        json_path, md_path = write_report(report, args.out)
        print(f"ssr eval: wrote {json_path} and {md_path}")
    return 0
