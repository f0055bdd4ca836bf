"""What a user tells ``ssr import`` beyond the files: one dataclass shared by every layout."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from ..format import FormatError
from .camera import CameraTrack, load_camera_sidecar
from .channel_map import ChannelMap, MapOverrides

__all__ = ["ImportOptions", "apply_overrides", "camera_for", "sidecar_candidates"]

SIDECAR_NAME = "camera.json"


@dataclass(frozen=True)
class ImportOptions:
    """Flags of ``ssr import`` (``None`` = the layout's default / read from the files).

    Attributes:
        camera: camera sidecar file (default: ``camera.json`` in the source folder, if any;
            for Blender also in its parent folder, where the docs' snippet writes it next
            to the ``.blend`` when frames render to a sub-folder).
        fov_y_deg: vertical field of view where no sidecar gives it.
        static_camera: the camera does not move (zero camera motion, history kept).
        reference: folder of converged renders of the same frames (Blender, Mitsuba).
        spp, reference_spp: samples per pixel of the noisy / reference renders.
        view_layer: Blender view layer to read (needed when a file holds several).
        aovs: Mitsuba: ssr layer -> AOV name in the file (``color`` = the nested integrator).
        near_clip: Mitsuba: the sensor's ``near_clip`` (its rays, and so its depth AOV,
            start on the near plane).
        spp_dir: SSR-paper layout: the noisy-frame folder of a scene (``images``: 1/4 spp).
        detect_motion: pick the motion convention that best aligns consecutive G-buffers.
        overrides: a TOML channel map: the whole map of ``--from custom``; for the other
            layouts merged over theirs (:meth:`MapOverrides.merge_over`). A
            :class:`ChannelMap` given instead replaces whole sources.
        camera_in_parent: Blender: also look for ``camera.json`` in the parent of the
            frame folder (off for the shots of a folder of shots, which each need their own).
    """

    camera: Path | None = None
    fov_y_deg: float | None = None
    static_camera: bool = False
    reference: Path | None = None
    spp: float | None = None
    reference_spp: int | None = None
    view_layer: str | None = None
    aovs: dict[str, str] = field(default_factory=dict)
    near_clip: float = 0.01
    spp_dir: str = "images"
    detect_motion: bool | None = None
    overrides: MapOverrides | ChannelMap | None = None
    camera_in_parent: bool = True


def sidecar_candidates(options: ImportOptions, folder: Path, *, search_parent: bool = False) -> list[Path]:
    """Where the camera sidecar of ``folder`` is looked for, in order: ``--camera``; the
    map's ``[sequence] camera`` (relative to ``folder``); ``folder/camera.json``; with
    ``search_parent``, ``folder/../camera.json``."""
    if options.camera is not None:
        return [options.camera]
    mapped = _map_settings(options).get("camera")
    if mapped is not None:
        return [folder / mapped]
    candidates = [folder / SIDECAR_NAME]
    if search_parent and options.camera_in_parent:
        candidates.append(folder.parent / SIDECAR_NAME)
    return candidates


def _map_settings(options: ImportOptions) -> dict:
    overrides = options.overrides
    if isinstance(overrides, MapOverrides):
        return overrides.settings
    if isinstance(overrides, ChannelMap):
        return {"camera": overrides.settings.camera, "fov_y_deg": overrides.settings.fov_y_deg}
    return {}


def camera_for(options: ImportOptions, folder: Path, frame_count: int, *, search_parent: bool = False,
               image_size: tuple[int, int] | None = None) -> CameraTrack:
    """The camera of a sequence: the first sidecar of :func:`sidecar_candidates` that
    exists (an explicit ``--camera`` or map ``camera`` must), then ``--fov-y-deg`` (which
    wins over the sidecar's) or the map's ``fov_y_deg`` (where the sidecar has none).
    ``image_size`` = ``(height, width)`` of the frames, checked against a sidecar's
    ``resolution``."""
    candidates = sidecar_candidates(options, folder, search_parent=search_parent)
    explicit = options.camera is not None or _map_settings(options).get("camera") is not None
    track = CameraTrack()
    for sidecar in candidates:
        if explicit or sidecar.is_file():
            track = load_camera_sidecar(sidecar, frame_count, image_size=image_size)
            break
    if options.fov_y_deg is not None:
        if not 0 < options.fov_y_deg < 180:
            raise FormatError(folder, None, f"--fov-y-deg {options.fov_y_deg} must be in (0, 180)")
        track = replace(track, fov_y_deg=float(options.fov_y_deg))
    elif track.fov_y_deg is None and _map_settings(options).get("fov_y_deg") is not None:
        track = replace(track, fov_y_deg=float(_map_settings(options)["fov_y_deg"]))
    return track


def apply_overrides(cmap: ChannelMap, options: ImportOptions, layout: str = "") -> ChannelMap:
    """The layout's map with ``--map`` (merged over it), ``--spp``/``--spp-ref`` and
    ``--static-camera`` applied."""
    overrides = options.overrides
    if isinstance(overrides, MapOverrides):
        cmap = overrides.merge_over(cmap, layout or "this layout")
    elif isinstance(overrides, ChannelMap):
        defaults = type(cmap.settings)()
        changed = {k: v for k, v in vars(overrides.settings).items() if v != getattr(defaults, k)}
        cmap = ChannelMap({**cmap.sources, **overrides.sources}, replace(cmap.settings, **changed), cmap.files)
    settings = cmap.settings
    if options.spp is not None:
        settings = replace(settings, spp=options.spp)
    if options.reference_spp is not None:
        settings = replace(settings, reference_spp=options.reference_spp)
    if options.static_camera:
        settings = replace(settings, static_camera=True)
    return ChannelMap(cmap.sources, settings, cmap.files)
