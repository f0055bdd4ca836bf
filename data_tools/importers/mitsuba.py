"""Mitsuba 3 ``aov`` integrator output: one EXR per frame written by ``film.write`` /
``mi.Bitmap.write``.

The ``aov`` integrator names its channels after the ``aovs`` string of the scene
(``"dd.y:depth,nn:sh_normal,alb:albedo"`` gives ``dd.y.T``, ``nn.X/Y/Z``, ``alb.R/G/B``);
the nested integrator's radiance is ``R, G, B`` (or ``<name>.R/G/B`` when the nested
integrator has an id). ``--aov LAYER=NAME`` says which AOV is which:

============  ==================  ============  ==============================================
ssr layer     default AOV name    AOV type      conversion
============  ==================  ============  ==============================================
``color``     (unnamed: R, G, B)  integrator    none
``albedo``    ``albedo``          ``albedo``    1 where the ray misses
``normal``    ``sh_normal``       ``sh_normal`` world space; flipped to face the camera
``depth``     ``depth``           ``depth``     ``.T`` is the distance along the ray from the
                                                near clip plane: ``z = T cos + near_clip``
                                                (needs the fov; ``--near-clip``, default 0.01)
============  ==================  ============  ==============================================

Mitsuba writes no motion vectors: with a camera sidecar (Mitsuba's convention by default:
``sensor.world_transform().matrix`` per frame) motion is reprojected from depth for static
geometry, otherwise every frame is a cut. AOVs are pixel-filtered like the image: render
them with a ``box`` reconstruction filter so that silhouettes are not blended across.
"""

from __future__ import annotations

from pathlib import Path

from ..exr import read_exr_header
from ..format import FormatError
from .channel_map import ChannelMap, DepthSource, NormalSource, SequenceSettings, Source
from .frames import cuts_from_numbers, numbered_files
from .options import ImportOptions, apply_overrides, camera_for
from .pipeline import SequenceJob

__all__ = ["DEFAULT_AOVS", "discover"]

DEFAULT_AOVS = {"color": "", "albedo": "albedo", "normal": "sh_normal", "depth": "depth"}
_SUFFIXES = {"color": "RGB", "albedo": "RGB", "normal": "XYZ", "depth": "T", "reference": "RGB"}


def _channels(layer: str, aov: str) -> tuple[str, ...]:
    prefix = f"{aov}." if aov else ""
    return tuple(f"{prefix}{suffix}" for suffix in _SUFFIXES[layer])


def _aov_names(names: list[str]) -> list[str]:
    return sorted({n.rsplit(".", 1)[0] for n in names if "." in n})


def discover(src: Path, options: ImportOptions) -> list[SequenceJob]:
    """One sequence from a folder of Mitsuba AOV EXRs (and ``--reference``)."""
    unknown = sorted(set(options.aovs) - set(DEFAULT_AOVS))
    if unknown:
        raise FormatError(src, None, f"--aov: unknown layer(s) {', '.join(unknown)} (choose from {', '.join(DEFAULT_AOVS)})")
    aovs = {**DEFAULT_AOVS, **options.aovs}
    numbered = numbered_files(src)
    numbers = [n for n, _ in numbered]
    first = numbered[0][1]
    _h, _w, headers = read_exr_header(first)
    names = [c.name for header in headers for c in header.get("channels", [])]
    for layer, aov in aovs.items():
        missing = [c for c in _channels(layer, aov) if c not in names]
        if missing:
            raise FormatError(first, missing[0], f"{layer}: channel not found; AOVs in the file: "
                              f"{', '.join(_aov_names(names)) or 'none'} (say which one with --aov {layer}=NAME)")
    sources: dict[str, Source] = {
        "color": Source(_channels("color", aovs["color"])),
        "albedo": Source(_channels("albedo", aovs["albedo"])),
        "normal": NormalSource(_channels("normal", aovs["normal"]), space="world"),
        "depth": DepthSource(_channels("depth", aovs["depth"]), kind="ray_distance", near_plane=options.near_clip),
    }
    frames = [{"main": path} for _, path in numbered]
    notes: list[str] = []
    if options.reference is not None:
        reference = dict(numbered_files(options.reference))
        missing_numbers = [n for n in numbers if n not in reference]
        if missing_numbers:
            raise FormatError(options.reference, None, f"no reference file for frame number(s) {missing_numbers[:5]}")
        sources["reference"] = Source(_channels("reference", aovs["color"]), file="reference")
        _rh, _rw, ref_headers = read_exr_header(reference[numbers[0]])
        ref_names = [c.name for header in ref_headers for c in header.get("channels", [])]
        if all(c in ref_names for c in _channels("albedo", aovs["albedo"])):
            sources["reference_albedo"] = Source(_channels("albedo", aovs["albedo"]), file="reference")
        else:
            sources["reference_albedo"] = sources["albedo"]
            notes.append("reference_albedo: the reference has no albedo AOV, the noisy render's albedo is used")
        for frame, number in zip(frames, numbers):
            frame["reference"] = reference[number]
    settings = SequenceSettings(sampling="full", spp=1, scene=src.name, renderer="Mitsuba 3 (aov integrator)")
    cmap = apply_overrides(ChannelMap(sources, settings), options, "mitsuba")
    camera = camera_for(options, src, len(frames))
    return [SequenceJob(src.name, frames, cmap, camera, cuts_from_numbers(numbers), "mitsuba", str(src), notes)]
