"""Denoise an ssr-seq sequence frame by frame.

Streams the sequence through the model like a renderer would (history reset at every
cut listed in meta.json) and writes ``<out>/frame_00000.exr, ...`` (same numbering as
the input) holding the denoised linear HDR radiance as ``color.R,G,B`` (FLOAT), plus
optional tone-mapped PNGs (``--png``: ACES + sRGB, see docs/evaluation.md).

Backends (--backend): torch (saved weights or the bundled model, any torch device),
onnxruntime (a graph written by `ssr export`) and tensorrt (an engine built by `ssr export
--format tensorrt`, NVIDIA GPUs); auto picks by the model file (.onnx, .plan/.engine). Both
run the same stream loop (ssr.streaming.StreamLoop): validation, reset at cuts and size
changes, state committed after each successful step.

examples:
  ssr denoise --data data/seq --out denoised               # bundled default model
  ssr denoise --model runs/small/model --data data/seq --out denoised --png --device cuda
  ssr denoise --model model.onnx --data data/seq --out denoised    # ONNX Runtime
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

__all__ = ["add_arguments", "denoise_sequence", "run", "to_png_rgb8"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of ``ssr denoise``."""
    from ssr.devices import DEVICE_HELP
    from ssr.runtime import BACKENDS

    parser.add_argument("--model", default=None,
                        help="saved weights <path>, a training checkpoint <run>/last.pt, or an exported .onnx graph (default: the bundled model)")
    parser.add_argument("--backend", choices=BACKENDS, default="auto",
                        help="inference backend (default auto: onnxruntime for .onnx, tensorrt for .plan/.engine, torch otherwise)")
    parser.add_argument("--threads", type=int, default=None, help="onnxruntime: intra-op threads")
    parser.add_argument("--data", required=True, help="ssr-seq sequence folder (holding meta.json)")
    parser.add_argument("--out", required=True, help="output folder for frame_%%05d.exr (created)")
    parser.add_argument("--png", action="store_true", help="also write tone-mapped frame_%%05d.png")
    parser.add_argument("--exposure", type=float, default=1.0, help="exposure of the PNG tone mapper (default 1)")
    parser.add_argument("--device", default="auto", help=DEVICE_HELP)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--full-spp",
        action="store_true",
        help="feed every pixel's 1-spp colour instead of the 1/4-spp subpixel pattern "
        "(the paper's w/o-SS mode; default: what the model was trained on)",
    )


def to_png_rgb8(linear: np.ndarray, exposure: float = 1.0) -> np.ndarray:
    """Linear HDR ``[H, W, 3]`` -> ``uint8 [H, W, 3]`` via :func:`ssr.metrics.tonemap_srgb`."""
    from ssr.data_tools.imaging import to_uint8
    from ssr.metrics import tonemap_srgb

    return to_uint8(tonemap_srgb(linear, exposure))


def denoise_sequence(
    model: object,
    input_dir: str | Path,
    out_dir: str | Path,
    *,
    backend: str = "auto",
    device: str = "cpu",
    threads: int | None = None,
    full_spp: bool = False,
    png: bool = False,
    exposure: float = 1.0,
    progress: bool | None = None,
) -> list[Path]:
    """Denoise every frame of a sequence and write the outputs.

    Args:
        model: an :class:`ssr.model.SSRNet`, a weights path, an ``.onnx`` graph, or None
            (bundled default).
        backend: ``auto``, ``torch``, ``onnxruntime`` or ``tensorrt`` (:func:`ssr.runtime.open_stream`).
        input_dir: the ssr-seq sequence folder.
        out_dir: destination; gets ``frame_%05d.exr`` (``color.R,G,B`` FLOAT, linear HDR)
            and with ``png`` also ``frame_%05d.png``.
        device: torch device string (``cuda`` also selects ONNX Runtime's CUDA provider).
        threads: ONNX Runtime intra-op threads.
        full_spp: read every pixel's colour (1-spp mode) instead of the subpixel pattern;
            otherwise the model's ``config.subpixel`` decides.
        progress: show a tqdm bar (None: only on a terminal).

    Returns:
        The written EXR paths, in frame order. Reading the next frame and writing the last
        one run on I/O threads while the network works on the current frame.
    """
    from tqdm import tqdm

    from ssr.data_tools.format import Sequence, frame_filename, write_frame
    from ssr.data_tools.imaging import write_png
    from ssr.runtime import open_stream

    stream = open_stream(model, backend, device=device, threads=threads)
    subpixel = stream.subpixel
    sequence = Sequence(input_dir, apply_pattern=subpixel and not full_spp)
    if sequence.sampling == "subpixel-2x2" and (full_spp or not subpixel):
        print(
            f"ssr denoise: warning: {sequence.path} is stored subpixel-2x2; "
            "full 1-spp colour is not available, using the stored pattern",
            file=sys.stderr,
        )
    out_path = Path(out_dir)
    out_path.mkdir(parents=True, exist_ok=True)
    written: list[Path] = [out_path / frame_filename(index) for index in range(len(sequence))]
    bar = tqdm(total=len(sequence), desc=f"denoise {sequence.name}", unit="frame",
               disable=None if progress is None else not progress)

    def write(index: int, color: np.ndarray) -> None:
        write_frame(written[index], {"color": color})
        if png:
            write_png(written[index].with_suffix(".png"), to_png_rgb8(color, exposure))

    # EXR decode of frame t+1 (read-ahead) and encode of frame t-1 (write-behind) overlap the
    # network step of frame t; frames are still denoised strictly in order.
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="ssr-denoise-io") as pool:
        pending_read = pool.submit(sequence.read_frame, 0) if len(sequence) else None
        pending_write = None
        for index in range(len(sequence)):
            frame = pending_read.result()  # type: ignore[union-attr]
            if index + 1 < len(sequence):
                pending_read = pool.submit(sequence.read_frame, index + 1)
            color = stream.denoise(frame, cut=sequence.is_cut(index))
            if pending_write is not None:
                pending_write.result()  # surface write errors in order
            pending_write = pool.submit(write, index, color)
            bar.update(1)
        if pending_write is not None:
            pending_write.result()
    bar.close()
    return written


def run(args: argparse.Namespace) -> int:
    """``ssr denoise``: returns 0 on success, 2 on bad input (message on stderr)."""
    from ssr.data_tools.format import FormatError
    from ssr.devices import resolve_device

    args.device = resolve_device(args.device)

    try:
        written = denoise_sequence(
            args.model,
            args.data,
            args.out,
            backend=args.backend,
            device=args.device,
            threads=args.threads,
            progress=False if args.no_progress else None,
            full_spp=args.full_spp,
            png=args.png,
            exposure=args.exposure,
        )
    except (FormatError, FileNotFoundError, ValueError) as error:
        print(f"ssr denoise: error: {error}", file=sys.stderr)
        return 2
    print(f"ssr denoise: wrote {len(written)} frames to {args.out}")
    return 0
