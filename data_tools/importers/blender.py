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
================================  =============================================================

Frames are numbered by the last integer of the file name (``frame_0001.exr``); a gap in
the numbering is a cut. Samples per pixel come from the ``cycles.<ViewLayer>.samples``
header attribute Blender writes (or ``--spp``).
"""

from __future__ import annotations

from pathlib import Path

from ..exr import read_exr_header
from ..format import FormatError
from .channel_map import ChannelMap, DepthSource, MotionSource, NormalSource, SequenceSettings, Source
from .frames import cuts_from_numbers, numbered_files
from .options import ImportOptions, apply_overrides, camera_for
from .pipeline import SequenceJob

__all__ = ["discover"]

VIEW_LAYER_HINT = "enable the pass in View Layer Properties > Passes and render again"


def _channel_names(path: Path) -> tuple[list[str], dict]:
    _h, _w, headers = read_exr_header(path)
    names = [c.name for header in headers for c in header.get("channels", [])]
    return names, headers[0]


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


def discover(src: Path, options: ImportOptions) -> list[SequenceJob]:
    """One sequence from a folder of Cycles multilayer EXRs (and ``--reference``)."""
    numbered = numbered_files(src)
    numbers = [n for n, _ in numbered]
    first = numbered[0][1]
    names, header = _channel_names(first)
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
    frames = [{"main": path} for _, path in numbered]
    reference_spp = None
    if options.reference is not None:
        reference = {n: p for n, p in numbered_files(options.reference)}
        missing = [n for n in numbers if n not in reference]
        if missing:
            raise FormatError(options.reference, None, f"no reference file for frame number(s) {missing[:5]}")
        ref_names, ref_header = _channel_names(reference[numbers[0]])
        ref_layer = _view_layer(reference[numbers[0]], ref_names, options.view_layer or layer)
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
        reference_spp = int(samples) if samples is not None else None
    settings = SequenceSettings(sampling="full", spp=_samples(header, layer) or 1, reference_spp=reference_spp,
                                scene=src.name, renderer=f"Blender Cycles ({header.get('BlenderMultiChannel', 'multilayer EXR')})")
    cmap = apply_overrides(ChannelMap(sources, settings), options)
    camera = camera_for(options, src, len(frames))
    return [SequenceJob(src.name, frames, cmap, camera, cuts_from_numbers(numbers), "blender", str(src), notes)]
