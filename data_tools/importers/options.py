"""What a user tells ``ssr import`` beyond the files: one dataclass shared by every layout."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from ..format import FormatError
from .camera import CameraTrack, load_camera_sidecar
from .channel_map import ChannelMap

__all__ = ["ImportOptions", "apply_overrides", "camera_for"]


@dataclass(frozen=True)
class ImportOptions:
    """Flags of ``ssr import`` (``None`` = the layout's default / read from the files).

    Attributes:
        camera: camera sidecar file (default: ``camera.json`` in the source folder, if any).
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
        overrides: a TOML channel map whose tables replace the layout's sources/settings.
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
    overrides: ChannelMap | None = None


def camera_for(options: ImportOptions, folder: Path, frame_count: int) -> CameraTrack:
    """The camera of a sequence: the sidecar (``--camera``, else ``<folder>/camera.json``)
    and ``--fov-y-deg`` (which wins over the sidecar's)."""
    sidecar = options.camera if options.camera is not None else folder / "camera.json"
    track = CameraTrack()
    if options.camera is not None or sidecar.is_file():
        track = load_camera_sidecar(sidecar, frame_count)
    if options.fov_y_deg is not None:
        if not 0 < options.fov_y_deg < 180:
            raise FormatError(folder, None, f"--fov-y-deg {options.fov_y_deg} must be in (0, 180)")
        track = CameraTrack(float(options.fov_y_deg), track.to_world)
    return track


def apply_overrides(cmap: ChannelMap, options: ImportOptions) -> ChannelMap:
    """The layout's map with ``--map`` tables, ``--spp``/``--reference-spp`` and
    ``--static-camera`` applied."""
    sources = dict(cmap.sources)
    settings = cmap.settings
    if options.overrides is not None:
        sources.update(options.overrides.sources)
        defaults = type(settings)()
        changed = {k: v for k, v in vars(options.overrides.settings).items() if v != getattr(defaults, k)}
        settings = replace(settings, **changed)
    if options.spp is not None:
        settings = replace(settings, spp=options.spp)
    if options.reference_spp is not None:
        settings = replace(settings, reference_spp=options.reference_spp)
    if options.static_camera:
        settings = replace(settings, static_camera=True)
    return ChannelMap(sources, settings, cmap.files)
