"""Intel Open Image Denoise's training layout (``oidn/training``'s ``[name]_[spp]spp.[feature].exr``).

::

    <name>_<spp>spp.hdr.exr    noisy colour (R, G, B)
    <name>_<spp>spp.alb.exr    albedo
    <name>_<spp>spp.nrm.exr    normal (any space, [-1, 1])
    <name>_ref.hdr.exr         reference colour
    <name>_ref.alb.exr         reference albedo (optional; the noisy albedo otherwise)

found anywhere below ``SRC``. OIDN's data are single frames without motion or depth: each
``(name, spp)`` becomes a one-frame sequence ``<name>_<spp>spp`` (frame 0 is a cut), with
``depth`` 1 where the normal is non-zero and 0 elsewhere, motion 0, ``sampling: full``.
Normals are renormalised but not rotated (OIDN does not say their space) nor flipped.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..exr import read_exr_header
from ..format import FormatError
from .camera import CameraTrack
from .channel_map import ChannelMap, NormalSource, SequenceSettings, Source
from .options import ImportOptions, apply_overrides
from .pipeline import SequenceJob

__all__ = ["discover"]

_NOISY = re.compile(r"^(?P<name>.+)_(?P<spp>\d+)spp\.hdr\.exr$")


def _channels(path: Path, kinds: tuple[str, ...] = ("RGB", "XYZ")) -> tuple[str, ...]:
    _h, _w, headers = read_exr_header(path)
    names = {c.name for header in headers for c in header.get("channels", [])}
    for suffixes in kinds:
        if all(s in names for s in suffixes):
            return tuple(suffixes)
    raise FormatError(path, None, f"expected channels R, G, B (has: {', '.join(sorted(names)) or 'none'})")


def discover(src: Path, options: ImportOptions) -> list[SequenceJob]:
    if not src.is_dir():
        raise FormatError(src, None, "source folder not found")
    jobs = []
    for noisy in sorted(src.rglob("*spp.hdr.exr")):
        match = _NOISY.match(noisy.name)
        if match is None:
            continue
        name, spp = match.group("name"), int(match.group("spp"))
        if options.spp is not None and spp != options.spp:
            continue
        stem = noisy.parent / f"{name}_{match.group('spp')}spp"
        files = {"color": noisy, "albedo": Path(f"{stem}.alb.exr"), "normal": Path(f"{stem}.nrm.exr")}
        for key in ("albedo", "normal"):
            if not files[key].is_file():
                raise FormatError(files[key], None, f"{key} image of {noisy.name} is missing")
        sources: dict[str, Source] = {
            "color": Source(_channels(noisy, ("RGB",)), file="color"),
            "albedo": Source(_channels(files["albedo"], ("RGB",)), file="albedo"),
            "normal": NormalSource(_channels(files["normal"]), file="normal", space="world"),
        }
        notes = ["OIDN images are single frames: depth 1 on surfaces (normal non-zero), motion 0, normals not "
                 "flipped (no camera)"]
        reference = noisy.parent / f"{name}_ref.hdr.exr"
        if reference.is_file():
            files["reference"] = reference
            sources["reference"] = Source(_channels(reference, ("RGB",)), file="reference")
            ref_albedo = noisy.parent / f"{name}_ref.alb.exr"
            if ref_albedo.is_file():
                files["reference_albedo"] = ref_albedo
                sources["reference_albedo"] = Source(_channels(ref_albedo, ("RGB",)), file="reference_albedo")
            else:
                sources["reference_albedo"] = sources["albedo"]
                notes.append("reference_albedo: no _ref.alb.exr, the noisy albedo is used")
        else:
            notes.append("no _ref.hdr.exr: imported without reference")
        settings = SequenceSettings(sampling="full", spp=spp, scene=name, renderer="OIDN training layout")
        cmap = apply_overrides(ChannelMap(sources, settings), options, "oidn")
        jobs.append(SequenceJob(f"{name}_{match.group('spp')}spp", [files], cmap, CameraTrack(), set(), "oidn",
                                str(noisy), notes, camera_expected=False))
    if not jobs:
        raise FormatError(src, None, "no '<name>_<spp>spp.hdr.exr' images found"
                          + (f" with {options.spp:g} spp" if options.spp is not None else ""))
    return jobs
