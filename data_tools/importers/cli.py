"""Convert another tool's frame dumps into ssr-seq v1 and validate the result.

Layouts (--from):
  blender     Blender Cycles, one multilayer EXR per frame (passes: Combined or Noisy Image,
              Denoising Albedo, Normal, Z, Vector); camera from SRC/camera.json or --camera
  mitsuba     Mitsuba 3 'aov' integrator EXRs (--aov albedo=alb --aov normal=nn --aov depth=dd.y)
  ssr-paper   the SSR paper's dataset: <scene>/images/<sub>/<NNNN>/HDRImg.exr, GBuffer*.exr,
              <scene>/ground_truth/<sub>/<NNNN>/...; every sub scene becomes a sequence
  oidn        Intel OIDN training images <name>_<spp>spp.{hdr,alb,nrm}.exr + <name>_ref.hdr.exr:
              one one-frame sequence per (name, spp)
  custom      any engine's dump, described by a TOML channel map (--map; docs/import.md)

--out DST is the output sequence folder when SRC holds one sequence, and a dataset folder with one
sequence folder per sequence otherwise (a render folder holding noisy/ and reference/ is one
sequence with that reference). Every problem is reported with the file, the channel
and what is wrong; the written sequences are checked like `ssr check` does, and a motion check
tells whether the imported motion vectors really align consecutive frames. Where both motion
vectors and a camera are given, they must agree on static geometry (camera check, exit 2
otherwise). Warnings (no camera found, ...) are repeated on stderr.

examples:
  ssr import --from blender renders/shot010 --out data/shot010 --reference renders/shot010_ref
  ssr import --from mitsuba aovs/ --out data/room --aov depth=dd.y --aov normal=nn --camera aovs/camera.json
  ssr import --from ssr-paper SSRdata/Bistro --out data/bistro --fov-y-deg 60
  ssr import --from oidn oidn_data/ --out data/oidn
  ssr import --from custom dump/ --out data/mygame --map mygame.toml
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

__all__ = ["add_arguments", "run"]


def _aov(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected LAYER=NAME, got {text!r}")
    layer, name = text.split("=", 1)
    return layer.strip(), name.strip()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``ssr import`` options."""
    from . import LAYOUTS

    parser.add_argument("src", type=Path, metavar="SRC", help="source folder (layout-specific, see above)")
    parser.add_argument("--from", dest="layout", required=True, choices=list(LAYOUTS), help="source layout")
    parser.add_argument("--out", dest="dst", type=Path, required=True, metavar="DST",
                        help="output sequence folder (a dataset folder of sequences when SRC holds several)")
    parser.add_argument("--map", type=Path, default=None, metavar="MAP.toml",
                        help="TOML channel map: required for custom; for other layouts merged over the layout's "
                             "(a table's keys replace only those keys)")
    parser.add_argument("--camera", type=Path, default=None, metavar="CAMERA.json",
                        help="camera sidecar (convention, fov_y_deg, to_world per frame); default SRC/camera.json "
                             "if present (blender: also SRC/../camera.json)")
    parser.add_argument("--fov-y-deg", type=float, default=None, help="vertical field of view where no sidecar gives it")
    parser.add_argument("--static-camera", action="store_true",
                        help="the camera does not move: keep history without motion vectors or a sidecar")
    parser.add_argument("--reference", type=Path, default=None, metavar="DIR",
                        help="blender/mitsuba: folder of converged renders of the same frames (same numbering)")
    parser.add_argument("--spp", type=float, default=None, help="samples per pixel of the noisy colour "
                        "(default: from the files; oidn: import only this spp)")
    parser.add_argument("--spp-ref", type=int, default=None,
                        help="samples per pixel of the reference (as in ssr render; default: read from the files)")
    parser.add_argument("--view-layer", default=None, help="blender: the view layer to read when there are several")
    parser.add_argument("--aov", type=_aov, action="append", default=[], metavar="LAYER=NAME",
                        help="mitsuba: which AOV holds a layer (color, albedo, normal, depth); repeatable")
    parser.add_argument("--near-clip", type=float, default=0.01,
                        help="mitsuba: the sensor's near_clip, where its depth AOV starts (default 0.01, Mitsuba's)")
    parser.add_argument("--spp-dir", default="images", help="ssr-paper: folder of the noisy frames (default images)")
    detect = parser.add_mutually_exclusive_group()
    detect.add_argument("--detect-motion", dest="detect_motion", action="store_true", default=None,
                        help="measure the motion convention from the data (default for ssr-paper; refused "
                             "where the source has no motion vectors)")
    detect.add_argument("--no-detect-motion", dest="detect_motion", action="store_false",
                        help="trust the layout's / map's motion convention")
    parser.add_argument("--no-camera-check", action="store_true",
                        help="do not compare the motion vectors with the camera's reprojection of static geometry "
                             "(for shots where most of the visible surface moves)")
    parser.add_argument("--sanitize", action="store_true",
                        help="zero NaN/Inf/negative colour and reference values instead of failing")
    parser.add_argument("--overwrite", action="store_true", help="replace sequences that already exist in DST")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _destinations(jobs: list, dst: Path) -> list[Path]:
    if len(jobs) == 1:
        return [dst]
    names = [job.name for job in jobs]
    if len(set(names)) != len(names):
        names = [f"{index:03d}_{name}" for index, name in enumerate(names)]
    return [dst / name for name in names]


def run(args: argparse.Namespace) -> int:
    """Import; exit status 0, or 2 for input that cannot be mapped."""
    from tqdm import tqdm

    from ..format import FormatError, frame_filename
    from . import discover, import_sequence, read_map
    from .options import ImportOptions

    try:
        overrides = read_map(args.map) if args.map is not None else None
        options = ImportOptions(
            camera=args.camera, fov_y_deg=args.fov_y_deg, static_camera=args.static_camera,
            reference=args.reference, spp=args.spp, reference_spp=args.spp_ref,
            view_layer=args.view_layer, aovs=dict(args.aov), near_clip=args.near_clip, spp_dir=args.spp_dir,
            detect_motion=args.detect_motion, overrides=overrides,
        )
        jobs = discover(args.layout, args.src, options)
        destinations = _destinations(jobs, args.dst)
        for out in destinations:
            if (out / "meta.json").exists() or (out.is_dir() and (out / frame_filename(0)).exists()):
                if not args.overwrite:
                    raise FormatError(out, None, "already holds a sequence (use --overwrite to replace it)")
                shutil.rmtree(out)
        total = sum(len(job.frames) for job in jobs)
        with tqdm(total=total, desc="ssr import", unit="frame", disable=args.no_progress, file=sys.stderr) as bar:
            results = [import_sequence(job, out, sanitize=args.sanitize, progress=bar,
                                       check_camera=not args.no_camera_check)
                       for job, out in zip(jobs, destinations)]
    except (FormatError, ValueError) as exc:
        print(f"ssr import: error: {exc}", file=sys.stderr)
        return 2
    for result in results:
        print(result.summary())
        for warning in result.all_warnings():
            print(f"ssr import: WARNING: {result.path}: {warning}", file=sys.stderr)
    print(f"imported {len(results)} sequence(s), {total} frame(s) into {args.dst} (layout {args.layout}); "
          f"all pass `ssr check`")
    return 0
