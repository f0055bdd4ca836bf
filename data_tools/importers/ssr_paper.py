"""The SSR paper's dataset layout (Zhang & Yuan, AAAI-24; the authors' loader reads it).

::

    <scene>/<spp dir>/<sub scene>/<NNNN>/HDRImg.exr            noisy colour (R, G, B)
                                        GBufferColor.exr        albedo (R, G, B)
                                        GBufferNormal.exr       normal (R, G, B)
                                        GBufferVelocity.exr     R, G: motion; B: ViewDist; A: mesh id
                                        GBufferPBR.exr          G: roughness, B: metallic (optional)
                                        GBufferTransparent.exr  transparency tint R, G, B (optional)
                                        GBufferShadow.exr       shadow R (optional)
    <scene>/ground_truth/<sub scene>/<NNNN>/HDRImg.exr          reference
                                           GBufferColor.exr     reference albedo

Frames are 1-based (``0001``); ``<spp dir>`` is ``images`` for the paper's 1/4-spp data
(``--spp-dir``). ``SRC`` is a scene folder (every sub scene becomes a sequence) or one
sub-scene folder. What the layout leaves undocumented is measured or stated:

* sampling: the traced pixel of each 2x2 tile is found per frame from the colour
  (``subpixel-2x2`` with a ``mask``); frames with a sample at every pixel import as ``full``;
* motion: units, y axis and direction are measured (the convention that best aligns
  consecutive G-buffers wins, reported) unless ``--no-detect-motion``; then the map's
  default (pixels, y down, pointing to the previous frame) or ``--map``'s applies;
* depth: ViewDist is a distance along the ray: converted to view depth with
  ``--fov-y-deg``, used as it is (and said so) without it;
* normals are taken as world space (``--map`` with ``[normal] space = "camera"`` otherwise);
  the mesh id is dropped.
"""

from __future__ import annotations

from pathlib import Path

from ..format import FormatError
from .channel_map import ChannelMap, DepthSource, MotionSource, NormalSource, SequenceSettings, Source
from .frames import cuts_from_numbers
from .options import ImportOptions, apply_overrides, camera_for
from .pipeline import SequenceJob

__all__ = ["discover"]

FRAME_FILES = {
    "color": "HDRImg.exr",
    "albedo": "GBufferColor.exr",
    "normal": "GBufferNormal.exr",
    "velocity": "GBufferVelocity.exr",
}
OPTIONAL_FILES = {"pbr": "GBufferPBR.exr", "transparent": "GBufferTransparent.exr", "shadow": "GBufferShadow.exr"}
REFERENCE_FILES = {"reference": "HDRImg.exr", "reference_albedo": "GBufferColor.exr"}
_RGB = ("R", "G", "B")


def _frame_folders(folder: Path) -> list[tuple[int, Path]]:
    frames = sorted((int(p.name), p) for p in folder.iterdir() if p.is_dir() and p.name.isdigit())
    if not frames:
        raise FormatError(folder, None, "no frame folders (0001, 0002, ...) found")
    return frames


def _sub_scenes(src: Path, spp_dir: str) -> list[tuple[Path, Path | None]]:
    """``(noisy sub-scene folder, ground-truth sub-scene folder or None)`` pairs."""
    if (src / spp_dir).is_dir():
        scene, folders = src, sorted(p for p in (src / spp_dir).iterdir() if p.is_dir())
        if not folders:
            raise FormatError(src / spp_dir, None, "no sub-scene folders found")
    elif src.is_dir() and any(p.is_dir() and p.name.isdigit() for p in src.iterdir()):
        scene, folders = src.parent.parent, [src]
    else:
        raise FormatError(src, None, f"not an SSR-paper scene (no '{spp_dir}/' folder) nor a sub-scene "
                          "(no 0001/ frame folders)")
    pairs = []
    for folder in folders:
        truth = scene / "ground_truth" / folder.name
        pairs.append((folder, truth if truth.is_dir() else None))
    return pairs


def discover(src: Path, options: ImportOptions) -> list[SequenceJob]:
    jobs = []
    for folder, truth in _sub_scenes(src, options.spp_dir):
        numbered = _frame_folders(folder)
        numbers = [n for n, _ in numbered]
        first = numbered[0][1]
        for key, name in FRAME_FILES.items():
            if not (first / name).is_file():
                raise FormatError(first / name, None, f"{key} file of the SSR-paper layout is missing")
        optional = {key: name for key, name in OPTIONAL_FILES.items() if (first / name).is_file()}
        depth_kind = "ray_distance" if options.fov_y_deg is not None or options.camera is not None else "view_z"
        sources: dict[str, Source] = {
            "color": Source(_RGB, file="color"),
            "albedo": Source(_RGB, file="albedo"),
            "normal": NormalSource(_RGB, file="normal", space="world"),
            "motion": MotionSource(("R", "G"), file="velocity"),
            "depth": DepthSource(("B",), file="velocity", kind=depth_kind),
        }
        notes = []
        if depth_kind == "view_z":
            notes.append("depth: ViewDist (distance along the ray) used as view depth; give --fov-y-deg to convert it")
        if "pbr" in optional:
            sources["roughness"] = Source(("G",), file="pbr")
            sources["metallic"] = Source(("B",), file="pbr")
        if "transparent" in optional:
            sources["transparent"] = Source(_RGB, file="transparent")
        if "shadow" in optional:
            sources["shadow"] = Source(("R",), file="shadow")
        frames = []
        for number, frame_dir in numbered:
            files = {key: frame_dir / name for key, name in {**FRAME_FILES, **optional}.items()}
            if truth is not None:
                files.update({key: truth / frame_dir.name / name for key, name in REFERENCE_FILES.items()})
            frames.append(files)
        if truth is not None:
            sources["reference"] = Source(_RGB, file="reference")
            sources["reference_albedo"] = Source(_RGB, file="reference_albedo")
        else:
            notes.append(f"no ground_truth/{folder.name}: imported without reference")
        settings = SequenceSettings(sampling="full", spp=1, scene=f"{folder.parent.parent.name}/{folder.name}",
                                    renderer="SSR paper dataset (Vulkan hybrid ray tracer)")
        cmap = apply_overrides(ChannelMap(sources, settings), options, "ssr-paper")
        camera = camera_for(options, folder, len(frames))
        detect = True if options.detect_motion is None else options.detect_motion
        jobs.append(SequenceJob(folder.name, frames, cmap, camera, cuts_from_numbers(numbers), "ssr-paper",
                                str(folder), notes, derive_mask=True, detect_motion=detect))
    return jobs
