"""``ssr render``: render one ssr-seq v1 sequence with Mitsuba 3 (see docs/rendering.md)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .camera_paths import PRESETS
from .sequence import ALBEDO_FILTERS, DEFAULT_ALBEDO_FILTER
from .sharding import parse_shard

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``ssr render`` options."""
    parser.add_argument("--scene", required=True,
                        help="Mitsuba 3 scene file (or its folder), or builtin, builtin:room, builtin:<seed>")
    parser.add_argument("--out", required=True, type=Path, help="output sequence folder")
    parser.add_argument("--width", type=int, default=128, help="image width in pixels (default 128)")
    parser.add_argument("--height", type=int, default=128, help="image height in pixels (default 128)")
    parser.add_argument("--frames", type=int, default=16, help="number of frames (default 16)")
    parser.add_argument("--spp-ref", type=int, default=256, help="samples per pixel of the reference (default 256)")
    parser.add_argument("--path", choices=PRESETS, default="truck", help="camera path preset (default truck)")
    parser.add_argument("--speed", type=float, default=1.5, help="camera speed in pixels per frame (default 1.5)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the camera path and the samplers (default 0)")
    parser.add_argument("--shard", default=None, metavar="i/N", help="render only frames t with t %% N == i")
    parser.add_argument("--max-depth", type=int, default=6, help="path length limit (default 6)")
    parser.add_argument("--shadow-rays", type=int, default=4, help="shadow rays per pixel (default 4)")
    parser.add_argument("--albedo-filter", choices=ALBEDO_FILTERS, default=DEFAULT_ALBEDO_FILTER,
                        help="albedo G-buffer: box (the pixel's box-footprint mean, like a mip-mapped "
                             "texture fetch; consistent with the jittered 1-spp sample; default) or centre "
                             "(one ray through the pixel centre, as docs/format.md and datasets rendered before "
                             "it; docs/rendering.md, 'Albedo filter')")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Render the sequence; returns the exit status (2 for bad input / missing renderer)."""
    from .mitsuba_env import RendererUnavailable
    from .scene_source import SceneLoadError
    from .sequence import RenderConfig, render_sequence

    try:
        config = RenderConfig(
            scene=args.scene, out=args.out, width=args.width, height=args.height, frames=args.frames,
            spp_ref=args.spp_ref, path=args.path, speed=args.speed, seed=args.seed, max_depth=args.max_depth,
            shadow_rays=args.shadow_rays, albedo_filter=args.albedo_filter, shard=parse_shard(args.shard),
        )
        config.check()
        start = time.perf_counter()
        out = render_sequence(config, progress=not args.no_progress)
    except (ValueError, SceneLoadError, RendererUnavailable) as exc:
        print(f"ssr render: error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {out} in {time.perf_counter() - start:.1f} s")
    return 0
