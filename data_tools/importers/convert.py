"""One frame of another tool's files -> one valid ssr-seq frame (docs/format.md), by a
:class:`~.channel_map.ChannelMap`.

Every conversion is explicit in the map (see :mod:`.channel_map`); what this module adds
is what docs/format.md demands of every frame whatever its source:

* a *hit* is a pixel with a finite depth in ``(0, miss_above)`` and a usable normal;
  misses get depth 0, normal 0, albedo 1, roughness/metallic 0;
* normals are unit length, in world space, flipped to face the camera (when the camera
  is known);
* motion is in pixels, x right, y down, pointing to the previous frame, 0 at cuts; where
  the source leaves misses at 0 and the camera is known, misses get the motion of the
  direction at infinity;
* ``color`` / ``reference`` NaN, Inf or negative values are errors naming file and
  channel (``sanitize=True`` zeroes them and counts them instead).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..exr import ExrImage
from ..format import FormatError
from ..render.camera import PinholeCamera
from ..render.motion import motion_vectors
from .camera import CameraTrack, axes_to_mitsuba, pixel_ray_cosines
from .channel_map import ChannelMap, DepthSource, MotionSource, NormalSource, RoughnessSource, Source

__all__ = ["FrameContext", "camera_motion", "convert_frame", "frame_paths_exist", "motion_to_format", "read_source"]

_MIN_NORMAL_LENGTH = 1e-3


@dataclass
class FrameContext:
    """What a frame's conversion needs beyond its files.

    Attributes:
        index: frame index in the imported sequence (0-based).
        is_cut: history is invalid here (motion is written as 0).
        camera: the sequence's camera (Mitsuba convention), possibly partly unknown.
        sanitize: zero NaN/Inf/negative colour and reference values instead of failing.
        notes: counts of what was fixed, shared over the sequence (message -> pixels).
        mask: ``float32 [H, W, 1]`` traced pixels when the layout derived them (1/4-spp
            data without a mask channel), else None.
        warnings: counts of what docs/format.md asks for but could not be done (message ->
            pixels), e.g. facing flips without a camera.
    """

    index: int
    is_cut: bool
    camera: CameraTrack
    sanitize: bool = False
    notes: Counter = field(default_factory=Counter)
    mask: np.ndarray | None = None
    warnings: Counter = field(default_factory=Counter)

    def camera_moves_known(self) -> bool:
        """Both this frame's and the previous frame's camera, and the fov, are known."""
        return self.camera.fov_y_deg is not None and self.to_world() is not None and self.to_world(-1) is not None

    def to_world(self, offset: int = 0) -> np.ndarray | None:
        matrices = self.camera.to_world
        index = self.index + offset
        if matrices is None or not 0 <= index < len(matrices):
            return None
        return matrices[index]


def read_source(images: dict[str, ExrImage], source: Source) -> tuple[np.ndarray, ExrImage]:
    """``float32 [H, W, C]`` values of ``source`` (scale applied) and the file they came from."""
    image = images[source.file]
    planes = [image.channel(name).astype(np.float32) for name in source.channels]
    data = np.stack(planes, axis=-1)
    if source.scale != 1.0:
        data = data * np.float32(source.scale)
    return data, image


def motion_to_format(vectors: np.ndarray, source: MotionSource, height: int, width: int) -> np.ndarray:
    """Convert ``[H, W, 2]`` motion of ``source``'s convention to docs/format.md's (pixels, x right,
    y down, ``p + m`` = the position in the previous frame).

    >>> m = np.array([[[0.25, 0.5]]], np.float32)
    >>> motion_to_format(m, MotionSource(("x", "y"), units="uv", y_axis="up",
    ...                  points_to="from_previous"), 2, 4).tolist()
    [[[-1.0, 1.0]]]
    """
    units = {"pixels": (1.0, 1.0), "uv": (float(width), float(height)), "ndc": (width / 2.0, height / 2.0)}
    scale_x, scale_y = units[source.units]
    motion = np.empty(vectors.shape, np.float32)
    motion[..., 0] = vectors[..., 0] * scale_x
    motion[..., 1] = vectors[..., 1] * scale_y
    if source.y_axis == "up":
        motion[..., 1] = -motion[..., 1]
    if source.points_to in ("from_previous", "next"):
        motion = -motion
    return motion


def _first_bad_channel(source: Source, bad: np.ndarray) -> str:
    return source.channels[int(np.argmax(bad.reshape(-1, bad.shape[-1]).any(axis=0)))]


def _check_radiance(name: str, data: np.ndarray, image: ExrImage, source: Source, context: FrameContext) -> np.ndarray:
    bad = ~np.isfinite(data)
    if bad.any():
        if not context.sanitize:
            raise FormatError(image.path, _first_bad_channel(source, bad),
                              f"{int(bad.sum())} NaN/Inf values in {name} (use --sanitize to zero them)")
        context.notes[f"{name}: NaN/Inf values zeroed"] += int(bad.sum())
        data = np.where(bad, np.float32(0), data)
    negative = data < 0
    if negative.any():
        if not context.sanitize:
            raise FormatError(image.path, _first_bad_channel(source, negative),
                              f"{int(negative.sum())} negative values in {name} (use --sanitize to zero them)")
        context.notes[f"{name}: negative values zeroed"] += int(negative.sum())
        data = np.maximum(data, 0)
    return data


def _depth_and_hits(
    images: dict[str, ExrImage], cmap: ChannelMap, normal_length: np.ndarray, context: FrameContext
) -> np.ndarray:
    """View-space depth ``[H, W]`` with 0 at misses."""
    source = cmap.sources.get("depth")
    height, width = normal_length.shape
    usable_normal = np.isfinite(normal_length) & (normal_length > _MIN_NORMAL_LENGTH)
    if source is None:
        context.notes["depth: not in the source, set to 1 where the normal is non-zero"] += int(usable_normal.sum())
        return usable_normal.astype(np.float32)
    assert isinstance(source, DepthSource)
    raw, image = read_source(images, source)
    depth = raw[..., 0].astype(np.float64)
    miss = ~np.isfinite(depth) | (depth <= 0)
    if source.miss_above is not None:
        miss |= depth >= source.miss_above
    depth = np.where(miss, 0.0, depth)
    if source.kind == "ray_distance":
        if context.camera.fov_y_deg is None:
            raise FormatError(image.path, source.channels[0],
                              "depth is a distance along the ray: converting it to view depth needs the "
                              "field of view (--fov-y-deg or a camera sidecar)")
        depth = depth * pixel_ray_cosines(height, width, context.camera.fov_y_deg)
    if source.near_plane:
        depth = np.where(miss, 0.0, depth + source.near_plane)
    lost = (depth > 0) & ~usable_normal
    if lost.any():
        context.notes["pixels with a depth but no usable normal made misses"] += int(lost.sum())
        depth = np.where(lost, 0.0, depth)
    return depth.astype(np.float32)


def _world_normals(
    images: dict[str, ExrImage], source: NormalSource, context: FrameContext
) -> tuple[np.ndarray, ExrImage]:
    raw, image = read_source(images, source)
    normal = raw.astype(np.float64)
    if source.encoding == "unsigned":
        normal = normal * 2.0 - 1.0
    if source.space == "camera":
        to_world = context.to_world()
        if to_world is None:
            raise FormatError(image.path, source.channels[0],
                              "normals are in camera space: converting them to world space needs the "
                              "camera's to_world per frame (a camera sidecar, --camera)")
        axes = axes_to_mitsuba(source.convention)
        normal = normal @ (to_world[:3, :3] @ axes).T
    return normal, image


def _facing_flip(normal: np.ndarray, hit: np.ndarray, context: FrameContext, height: int, width: int) -> np.ndarray:
    to_world = context.to_world()
    pinhole = context.camera.pinhole(height, width)
    if to_world is None or pinhole is None:
        context.warnings["normals: NOT flipped towards the camera (camera unknown)"] += int(hit.sum())
        return normal
    directions = pinhole.pixel_directions(to_world, pinhole.pixel_centres())
    away = hit & (np.sum(normal * directions, axis=-1) > 0)
    if away.any():
        context.notes["normals: flipped to face the camera"] += int(away.sum())
    return np.where(away[..., None], -normal, normal)


def camera_motion(depth: np.ndarray, context: FrameContext, pinhole: PinholeCamera) -> np.ndarray:
    """``float32 [H, W, 2]``: the motion of static geometry (and of misses, where
    ``depth`` is 0) implied by this frame's and the previous frame's cameras and the
    view depth ``[H, W]``."""
    to_world, previous = context.to_world(), context.to_world(-1)
    assert to_world is not None and previous is not None
    height, width = depth.shape
    directions = pinhole.pixel_directions(to_world, pinhole.pixel_centres())
    distance = depth / pixel_ray_cosines(height, width, pinhole.fov_y_deg)
    position = to_world[:3, 3] + directions * distance[..., None]
    hit = depth > 0
    return motion_vectors(pinhole, previous, position, directions, hit, np.zeros(hit.shape, np.int32))


def _motion(
    images: dict[str, ExrImage], cmap: ChannelMap, depth: np.ndarray, context: FrameContext
) -> np.ndarray:
    height, width = depth.shape
    zero = np.zeros((height, width, 2), np.float32)
    if context.is_cut:
        return zero
    pinhole = context.camera.pinhole(height, width)
    camera_known = context.camera_moves_known()
    source = cmap.sources.get("motion")
    if source is None:
        if camera_known:
            assert pinhole is not None
            context.notes["motion: from the camera (reprojection of static geometry)"] += height * width
            return camera_motion(depth, context, pinhole)
        return zero  # the caller makes every frame a cut, or the camera is static
    assert isinstance(source, MotionSource)
    raw, image = read_source(images, source)
    bad = ~np.isfinite(raw).all(axis=-1)
    if bad.any():
        context.notes["motion: NaN/Inf vectors set to 0"] += int(bad.sum())
        raw = np.where(bad[..., None], np.float32(0), raw)
    motion = motion_to_format(raw, source, height, width)
    miss_unset = (depth <= 0) & np.all(motion == 0, axis=-1)
    if camera_known and miss_unset.any():
        assert pinhole is not None
        from_camera = camera_motion(np.zeros_like(depth), context, pinhole)
        motion = np.where(miss_unset[..., None], from_camera, motion)
        context.notes["motion: misses given the motion of the direction at infinity"] += int(miss_unset.sum())
    elif miss_unset.any() and not cmap.settings.static_camera:
        context.warnings["motion: misses (sky) keep motion 0, NOT the motion of the direction at infinity "
                         "(camera unknown)"] += int(miss_unset.sum())
    return motion.astype(np.float32)


def convert_frame(images: dict[str, ExrImage], cmap: ChannelMap, context: FrameContext) -> dict[str, np.ndarray]:
    """Build one docs/format.md frame (layer name -> ``float32 [H, W, C]``) from the files of
    one source frame (file key -> :class:`ExrImage`, all of one size).

    Raises:
        FormatError: a channel the map names is missing, colour/reference values are
            invalid, or a conversion needs a camera the import was not given.
    """
    sources = cmap.sources
    normal_source = sources["normal"]
    assert isinstance(normal_source, NormalSource)
    normal, _ = _world_normals(images, normal_source, context)
    length = np.linalg.norm(normal, axis=-1)
    height, width = length.shape
    depth = _depth_and_hits(images, cmap, length, context)
    hit = depth > 0
    normal = np.where(hit[..., None], normal / np.maximum(length, _MIN_NORMAL_LENGTH)[..., None], 0.0)
    normal = _facing_flip(normal, hit, context, height, width)
    frame: dict[str, np.ndarray] = {"normal": normal.astype(np.float32), "depth": depth[..., None]}

    color, image = read_source(images, sources["color"])
    frame["color"] = _check_radiance("color", color, image, sources["color"], context)

    albedo, image = read_source(images, sources["albedo"])
    bad = hit[..., None] & ~np.isfinite(albedo)
    if bad.any():
        raise FormatError(image.path, _first_bad_channel(sources["albedo"], bad), f"{int(bad.sum())} NaN/Inf albedo values on surfaces")
    frame["albedo"] = np.where(hit[..., None], np.clip(np.nan_to_num(albedo), 0, 1), 1.0).astype(np.float32)

    for name in ("roughness", "metallic", "transparent"):
        if name in sources:
            values, _ = read_source(images, sources[name])
            values = np.clip(np.nan_to_num(values), 0, 1)
            if isinstance(sources[name], RoughnessSource) and sources[name].kind == "perceptual":
                values = values * values  # alpha = r^2 (Blender's Principled BSDF, Unreal, glTF)
            frame[name] = np.where(hit[..., None], values, 0.0).astype(np.float32)
    if "shadow" in sources:
        values, _ = read_source(images, sources["shadow"])
        frame["shadow"] = np.clip(np.nan_to_num(values), 0, 1).astype(np.float32)
    mask = context.mask
    if "mask" in sources:
        values, _ = read_source(images, sources["mask"])
        mask = (np.nan_to_num(values) > 0.5).astype(np.float32)
    if mask is not None:
        frame["mask"] = mask
        frame["color"] = frame["color"] * mask
        if "shadow" in frame:
            frame["shadow"] = frame["shadow"] * mask
    if "reference" in sources:
        reference, image = read_source(images, sources["reference"])
        frame["reference"] = _check_radiance("reference", reference, image, sources["reference"], context)
    if "reference_albedo" in sources:
        values, _ = read_source(images, sources["reference_albedo"])
        frame["reference_albedo"] = np.clip(np.nan_to_num(values, nan=1.0), 0, 1).astype(np.float32)

    frame["motion"] = _motion(images, cmap, depth, context)
    return frame


def frame_paths_exist(frame_files: dict[str, Path]) -> None:
    """Every file of a source frame exists (a clear error otherwise)."""
    for key, path in frame_files.items():
        if not Path(path).is_file():
            raise FormatError(path, None, f"{key} file of this frame is missing")
