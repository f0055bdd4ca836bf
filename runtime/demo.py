"""The main job on the embedded default: render, denoise, compare.

1. renders a short sequence of the built-in procedural scene with Mitsuba 3
   (1-spp colour, G-buffers, motion vectors, a converged reference) into
   ``<out>/sequence`` and writes PNG contact sheets of it into ``<out>/preview``;
2. denoises it frame by frame with the bundled model (or ``--model``), reading only the
   1/4-spp subpixel input, into ``<out>/denoised`` (EXR + PNG);
3. writes side-by-side PNGs (input | output | reference) into ``<out>/side_by_side`` and
   the metrics (PSNR/SSIM/RMSE/FLIP/temporal, Table-1 style) into ``<out>/metrics``.

Re-running resumes: frames already rendered are kept.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ssr.devices import DEVICE_HELP

    parser.add_argument("--out", type=Path, default=Path("demo_out"), help="output folder (default: demo_out)")
    parser.add_argument("--scene", default="builtin", help="scene: builtin[:name|:seed] or a Mitsuba 3 scene.xml")
    parser.add_argument("--width", type=int, default=128, help="image width in pixels")
    parser.add_argument("--height", type=int, default=128, help="image height in pixels")
    parser.add_argument("--frames", type=int, default=8, help="number of frames")
    parser.add_argument("--spp-ref", type=int, default=256, help="samples per pixel of the reference")
    parser.add_argument("--path", default="orbit", help="camera path preset (see `ssr render --help`)")
    parser.add_argument("--model", default=None, help="saved weights <path> or a training checkpoint <run>/last.pt (default: the bundled model)")
    parser.add_argument("--device", default="auto", help=DEVICE_HELP)
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--no-flip", action="store_true", help="skip HDR-FLIP in the metrics (faster)")


def side_by_side(input_rgb: np.ndarray, output_rgb: np.ndarray, reference_rgb: np.ndarray) -> np.ndarray:
    """Three linear HDR ``[H, W, 3]`` images -> one tone-mapped display image ``[H, 3W+4, 3]``."""
    from ssr.data_tools.imaging import hstack_images, tonemap_srgb

    return hstack_images([tonemap_srgb(image) for image in (input_rgb, output_rgb, reference_rgb)])


def run(args: argparse.Namespace) -> int:
    from ssr.devices import resolve_device

    args.device = resolve_device(args.device)
    from ssr.data_tools.format import Sequence, frame_filename, read_exr_layers
    from ssr.data_tools.imaging import write_png
    from ssr.data_tools.preview import preview_sequence
    from ssr.data_tools.render.sequence import RenderConfig, render_sequence
    from ssr.runtime.denoise import denoise_sequence
    from ssr.evaluate import MetricSet, evaluate, format_markdown, write_report
    from ssr.model import load_model

    out: Path = args.out
    print(f"[1/4] rendering {args.scene} ({args.width}x{args.height}, {args.frames} frames, "
          f"reference {args.spp_ref} spp) -> {out / 'sequence'}")
    seq_dir = render_sequence(RenderConfig(scene=args.scene, out=out / "sequence", width=args.width,
                                           height=args.height, frames=args.frames, spp_ref=args.spp_ref,
                                           path=args.path), progress=not args.no_progress)
    preview_sequence(seq_dir, out / "preview")

    print(f"[2/4] denoising with {'the bundled model' if args.model is None else args.model} -> {out / 'denoised'}")
    model = load_model(args.model, device=args.device)
    denoise_sequence(model, seq_dir, out / "denoised", device=args.device, png=True,
                     progress=False if args.no_progress else None)

    print(f"[3/4] side-by-side PNGs (input | output | reference) -> {out / 'side_by_side'}")
    sequence = Sequence(seq_dir, apply_pattern=model.config.subpixel)
    for index in range(len(sequence)):
        frame = sequence.read_frame(index, ["color", "reference"])
        output, _ = read_exr_layers(out / "denoised" / frame_filename(index), ["color"])
        write_png(out / "side_by_side" / f"frame_{index:05d}.png",
                  side_by_side(frame["color"], output["color"], frame["reference"]))

    print(f"[4/4] metrics -> {out / 'metrics'}")
    metric_set = MetricSet(flip=not args.no_flip)
    report = evaluate(model, [seq_dir], device=args.device, metrics=metric_set,
                      progress=False if args.no_progress else None)
    write_report(report, out / "metrics")
    print(format_markdown(report))
    return 0
