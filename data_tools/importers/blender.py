"""Blender Cycles: one multilayer EXR per frame (``<ViewLayer>.<Pass>.<Channel>``).

Passes read (View Layer Properties > Passes; measured on Blender 4.2 renders, see
``docs/import.md``):

================================  =============================================================
ssr-seq layer                      Cycles pass
================================  =============================================================
``color``                          ``Noisy Image`` when present (the denoiser was on and
                                   ``Combined`` is denoised), else ``Combined``; R, G, B
``albedo``                         ``Denoising Albedo`` (Data > Denoising Data), else ``DiffCol``
``normal``                         ``Normal`` (world space); else ``Denoising Normal`` (camera
                                   space, +x right, +y up, +z forward: needs the camera)
``depth``                          ``Depth`` (view-space z; 1e10 where the ray misses)
``motion``                         ``Vector`` X, Y: pixels, y up, pointing to the previous frame
                                   (Z, W point to the next frame and are ignored); absent: from
                                   the camera
``reference``, ``reference_albedo`` the ``color`` / ``albedo`` passes of ``--reference`` renders
``roughness``                      Shader AOV ``roughness`` (Value): the Principled BSDF's
                                   Roughness, squared to the microfacet alpha
``metallic``, ``shadow``           Shader AOVs ``metallic``, ``shadow`` (Value)
``transparent``                    Shader AOV ``transparent`` (Color)
================================  =============================================================

Frames are numbered by the last integer of the file name (``frame_0001.exr``); a gap in
the numbering is a cut. Samples per pixel come from the ``cycles.<ViewLayer>.samples``
header attribute Blender writes (or ``--spp``). The camera sidecar is ``camera.json`` in
the frame folder or its parent (the docs' snippet writes it next to the ``.blend``, and
renders usually go to a sub-folder of it); without one the import warns. ``scene`` is the
``.blend`` name (the sidecar's ``blend_file``, else the ``File`` stamp Blender writes into
the header), else the folder name (its parent's when it is called ``noisy``, ``reference``,
...); ``renderer`` is ``Blender <version> Cycles`` when the header (``Software``, Blender
5+) or the sidecar (``blender_version``) names the version, else ``Blender Cycles``:
Blender 4.2 writes no version into its EXRs (``BlenderMultiChannel`` is a fixed marker,
"Blender V2.55.1 and newer").
"""

from __future__ import annotations

import re
from pathlib import Path, PureWindowsPath

from ..exr import read_exr_header
from ..format import FormatError
from .camera import CameraTrack
from .channel_map import ChannelMap, DepthSource, MotionSource, NormalSource, RoughnessSource, SequenceSettings, Source
from .frames import cuts_from_numbers, numbered_files
from .options import ImportOptions, apply_overrides, camera_for, sidecar_candidates
from .pipeline import SequenceJob

__all__ = ["AOVS", "GENERIC_FOLDER_NAMES", "discover", "renderer_name", "scene_name"]

VIEW_LAYER_HINT = "enable the pass in View Layer Properties > Passes and render again"

AOVS: dict[str, tuple[str, str]] = {
    "roughness": ("roughness", "X"),
    "metallic": ("metallic", "X"),
    "shadow": ("shadow", "X"),
    "transparent": ("transparent", "RGB"),
}
"""ssr-seq layer -> (Shader AOV name, channels): Value AOVs are written as ``.X``, Color
AOVs as ``.R/G/B/A`` (Cycles' ``list_render_passes``)."""

GENERIC_FOLDER_NAMES = frozenset({
    "noisy", "reference", "ref", "references", "gt", "ground_truth", "groundtruth", "converged", "render", "renders",
    "rendered", "frames", "exr", "exrs", "output", "outputs", "out", "tmp", "images", "beauty", "passes", "multilayer",
})
"""Frame-folder names that say nothing about the scene: its parent names it instead."""

_SPP_FOLDER = re.compile(r"^(spp[_-]?\d+|\d+[_-]?spp)$", re.IGNORECASE)


def _channel_names(path: Path) -> tuple[list[str], dict, tuple[int, int]]:
    """Channel names of every part, the first part's header and ``(height, width)``."""
    height, width, headers = read_exr_header(path)
    names = [c.name for header in headers for c in header.get("channels", [])]
    return names, headers[0], (height, width)


def _view_layer(path: Path, names: list[str], requested: str | None) -> str:
    layers = sorted({n[: -len(".Combined.R")] for n in names if n.endswith(".Combined.R")})
    if requested is not None:
        if requested not in layers:
            raise FormatError(path, None, f"view layer '{requested}' not found (the file has: {', '.join(layers) or 'none'})")
        return requested
    if not layers:
        raise FormatError(path, None, "no '<ViewLayer>.Combined.R' channel: not a Blender multilayer EXR "
                          "(File Format: OpenEXR MultiLayer)")
    if len(layers) > 1:
        raise FormatError(path, None, f"several view layers ({', '.join(layers)}): choose one with --view-layer")
    return layers[0]


def _rgb(layer: str, pass_name: str) -> tuple[str, ...]:
    return tuple(f"{layer}.{pass_name}.{c}" for c in "RGB")


def _pick(names: list[str], layer: str, candidates: tuple[str, ...], suffixes: str) -> str | None:
    for candidate in candidates:
        if all(f"{layer}.{candidate}.{s}" in names for s in suffixes):
            return candidate
    return None


def _samples(header: dict, layer: str) -> float | None:
    value = header.get(f"cycles.{layer}.samples")
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _blend_stem(value: object) -> str | None:
    """``city`` for ``/shots/city.blend`` or ``C:\\shots\\city.blend``; None otherwise
    (``<untitled>``: an unsaved file)."""
    if not isinstance(value, str) or not value.lower().endswith(".blend"):
        return None
    path = PureWindowsPath(value) if "\\" in value else Path(value)
    return path.stem or None


def scene_name(src: Path, header: dict, camera: CameraTrack) -> str:
    """The ``scene`` of meta.json: the ``.blend`` name (the sidecar's ``blend_file``, else
    the header's ``File`` stamp), else the frame folder's name, or its parent's when the
    folder's name is generic (``noisy``, ``reference``, ``render``, ``4spp``, ...)."""
    for value in (camera.info.get("blend_file"), header.get("File")):
        stem = _blend_stem(value)
        if stem:
            return stem
    folder = src.resolve()
    generic = folder.name.lower() in GENERIC_FOLDER_NAMES or _SPP_FOLDER.match(folder.name)
    return folder.parent.name if generic and folder.parent.name else folder.name


def renderer_name(header: dict, camera: CameraTrack) -> str:
    """``Blender <version> Cycles`` from the header's ``Software`` (Blender 5+ writes
    ``Blender 5.0.0``) or the sidecar's ``blender_version``; ``Blender Cycles`` when
    neither names it (Blender 4.2's headers do not)."""
    software = header.get("Software")
    if isinstance(software, str) and software.startswith("Blender "):
        version = software[len("Blender "):].strip()
    else:
        version = camera.info.get("blender_version", "").strip()
    return f"Blender {version} Cycles" if version else "Blender Cycles"


def _aov_sources(names: list[str], layer: str) -> tuple[dict[str, Source], list[str]]:
    """Sources of the Shader AOVs :data:`AOVS` names that the file holds, and notes."""
    sources: dict[str, Source] = {}
    for target, (aov, suffixes) in AOVS.items():
        if _pick(names, layer, (aov,), suffixes) is None:
            continue
        channels = tuple(f"{layer}.{aov}.{c}" for c in suffixes)
        sources[target] = RoughnessSource(channels, kind="perceptual") if target == "roughness" else Source(channels)
    notes = []
    if sources:
        notes.append(f"Shader AOVs read: {', '.join(sources)}"
                     + (" (roughness squared to the microfacet alpha)" if "roughness" in sources else ""))
    return sources, notes


def _camera_warning(src: Path, options: ImportOptions, camera: CameraTrack) -> str | None:
    if camera.to_world is not None and camera.fov_y_deg is not None:
        return None
    looked = ", ".join(str(p) for p in sidecar_candidates(options, src, search_parent=True))
    missing = "no camera sidecar found" if camera.path is None else f"{camera.path} lacks " + \
        ("'to_world'" if camera.to_world is None else "'fov_y_deg'")
    return (f"{missing} (looked for: {looked}); pass --camera FILE (docs/import.md, 'The camera sidecar'). "
            "Without the camera, normals are not flipped towards it, misses (sky) keep motion 0 instead of the "
            "motion of the direction at infinity, the motion vectors are not checked against it and meta.json "
            "has no camera")


def _add_reference(folder: Path, layer: str, numbers: list[int], frames: list[dict[str, Path]],
                   sources: dict[str, Source], notes: list[str]) -> int | None:
    """Add the ``reference`` files and sources of the ``--reference`` renders (the same
    frame numbers); returns their samples per pixel from the header, if given."""
    reference = dict(numbered_files(folder))
    missing = [n for n in numbers if n not in reference]
    if missing:
        raise FormatError(folder, None, f"no reference file for frame number(s) {missing[:5]}")
    first = reference[numbers[0]]
    ref_names, ref_header, _size = _channel_names(first)
    ref_layer = _view_layer(first, ref_names, layer)
    ref_color = _pick(ref_names, ref_layer, ("Noisy Image", "Combined"), "RGB")
    sources["reference"] = Source(_rgb(ref_layer, ref_color or "Combined"), file="reference")
    ref_albedo = _pick(ref_names, ref_layer, ("Denoising Albedo", "DiffCol"), "RGB")
    if ref_albedo is not None:
        sources["reference_albedo"] = Source(_rgb(ref_layer, ref_albedo), file="reference")
    else:
        sources["reference_albedo"] = sources["albedo"]
        notes.append("reference_albedo: the reference has no albedo pass, the noisy render's albedo is used")
    for frame, number in zip(frames, numbers):
        frame["reference"] = reference[number]
    samples = _samples(ref_header, ref_layer)
    return int(samples) if samples is not None else None


def discover(src: Path, options: ImportOptions) -> list[SequenceJob]:
    """One sequence from a folder of Cycles multilayer EXRs (and ``--reference``)."""
    numbered = numbered_files(src)
    numbers = [n for n, _ in numbered]
    first = numbered[0][1]
    names, header, size = _channel_names(first)
    layer = _view_layer(first, names, options.view_layer)
    color_pass = _pick(names, layer, ("Noisy Image", "Combined"), "RGB")
    albedo_pass = _pick(names, layer, ("Denoising Albedo", "DiffCol"), "RGB")
    if albedo_pass is None:
        raise FormatError(first, f"{layer}.Denoising Albedo.R", f"no albedo pass: {VIEW_LAYER_HINT} (Data > Denoising Data)")
    if _pick(names, layer, ("Depth",), "Z") is None:
        raise FormatError(first, f"{layer}.Depth.Z", f"no Z (depth) pass: {VIEW_LAYER_HINT} (Data > Z)")
    sources: dict[str, Source] = {
        "color": Source(_rgb(layer, color_pass or "Combined")),
        "albedo": Source(_rgb(layer, albedo_pass)),
        "depth": DepthSource((f"{layer}.Depth.Z",), kind="view_z", miss_above=1e9),
    }
    notes = [f"view layer '{layer}': colour from '{color_pass}', albedo from '{albedo_pass}'"]
    if _pick(names, layer, ("Normal",), "XYZ"):
        sources["normal"] = NormalSource(tuple(f"{layer}.Normal.{c}" for c in "XYZ"), space="world")
    elif _pick(names, layer, ("Denoising Normal",), "XYZ"):
        sources["normal"] = NormalSource(tuple(f"{layer}.Denoising Normal.{c}" for c in "XYZ"),
                                         space="camera", convention="cycles")
        notes.append("normals from 'Denoising Normal' (camera space), rotated to world space by the camera")
    else:
        raise FormatError(first, f"{layer}.Normal.X", f"no normal pass: {VIEW_LAYER_HINT} (Data > Normal)")
    if _pick(names, layer, ("Vector",), "XY"):
        sources["motion"] = MotionSource((f"{layer}.Vector.X", f"{layer}.Vector.Y"),
                                         units="pixels", y_axis="up", points_to="previous")
    aovs, aov_notes = _aov_sources(names, layer)
    sources.update(aovs)
    notes += aov_notes
    frames = [{"main": path} for _, path in numbered]
    reference_spp = _add_reference(options.reference, options.view_layer or layer, numbers, frames, sources, notes) \
        if options.reference is not None else None
    camera = camera_for(options, src, len(frames), search_parent=True, image_size=size)
    if camera.path is not None and camera.path.parent != src:
        notes.append(f"camera sidecar: {camera.path}")
    settings = SequenceSettings(sampling="full", spp=_samples(header, layer) or 1, reference_spp=reference_spp,
                                scene=scene_name(src, header, camera), renderer=renderer_name(header, camera))
    cmap = apply_overrides(ChannelMap(sources, settings), options, "blender")
    warning = _camera_warning(src, options, camera)
    return [SequenceJob(src.name, frames, cmap, camera, cuts_from_numbers(numbers), "blender", str(src), notes,
                        warnings=[warning] if warning else [])]
