"""Cameras of imported sequences: axis conventions and the camera sidecar file.

ssr-seq stores cameras in Mitsuba's convention (docs/format.md): ``p_world = M [p_cam, 1]``,
camera space looks along +z, +y is image-up, +x is image-left. Other tools use other
camera spaces; each is named here by where its axes point:

============  ===========  ========  =================  ===============================
convention    +x           +y        camera looks along  used by
============  ===========  ========  =================  ===============================
``mitsuba``   image-left   image-up  +z                 Mitsuba 3, ssr-seq
``opengl``    image-right  image-up  -z                 OpenGL, Blender's camera object
``blender``   (= opengl)
``directx``   image-right  image-up  +z                 Direct3D view space, Unity (left-handed)
``cycles``    (= directx)                               Cycles' ``Denoising Normal`` pass
============  ===========  ========  =================  ===============================

The camera sidecar (``camera.json``) an importer reads::

    {
      "convention": "blender",           # of to_world's camera axes (table above)
      "fov_y_deg": 39.6,                 # full vertical field of view
      "to_world": [ [[...], [...], [...], [...]], ... ]   # one 4x4 (rows) per frame
    }

``fov_y_deg`` may also be given per frame as a list (constant focal length is assumed by
the format; a varying one is refused). Optional keys (the Blender snippet of
``docs/import.md`` writes them): ``resolution`` (``[width, height]`` the fov was computed
for: a frame size of another aspect ratio is refused, since Blender's ``sensor_fit``
makes the vertical fov depend on it), ``blend_file`` and ``blender_version`` (recorded
as the scene name and the renderer). Other keys are ignored.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..format import FormatError, read_json_object
from ..render.camera import PinholeCamera

__all__ = [
    "CONVENTIONS",
    "CameraTrack",
    "axes_to_mitsuba",
    "load_camera_sidecar",
    "pixel_ray_cosines",
    "to_mitsuba_to_world",
]

CONVENTIONS: dict[str, tuple[float, float, float]] = {
    "mitsuba": (1.0, 1.0, 1.0),
    "opengl": (-1.0, 1.0, -1.0),
    "blender": (-1.0, 1.0, -1.0),
    "directx": (-1.0, 1.0, 1.0),
    "cycles": (-1.0, 1.0, 1.0),
}
"""Convention -> signs taking its camera-space axes to Mitsuba's (``v_mitsuba = S v``)."""


def axes_to_mitsuba(convention: str, *, where: str = "convention") -> np.ndarray:
    """``3x3`` diagonal matrix taking camera-space vectors of ``convention`` to Mitsuba's.

    >>> axes_to_mitsuba("opengl").diagonal().tolist()
    [-1.0, 1.0, -1.0]
    """
    if convention not in CONVENTIONS:
        raise ValueError(f"{where}: unknown camera convention {convention!r} (known: {', '.join(CONVENTIONS)})")
    return np.diag(CONVENTIONS[convention])


def to_mitsuba_to_world(to_world: np.ndarray, convention: str) -> np.ndarray:
    """Camera-to-world matrices ``[..., 4, 4]`` of ``convention`` re-expressed with Mitsuba's
    camera axes (the world space is unchanged): ``M_mitsuba = M diag(S, 1)``."""
    flip = np.eye(4)
    flip[:3, :3] = axes_to_mitsuba(convention)
    return np.asarray(to_world, np.float64) @ flip


@dataclass(frozen=True)
class CameraTrack:
    """The camera of a sequence in ssr-seq's (Mitsuba's) convention.

    Attributes:
        fov_y_deg: full vertical field of view, or None where unknown.
        to_world: ``float64 [T, 4, 4]`` camera-to-world per frame, or None where unknown.
        path: the sidecar it was read from, None without one.
        info: the sidecar's free-text keys (``blend_file``, ``blender_version``).
    """

    fov_y_deg: float | None = None
    to_world: np.ndarray | None = None
    path: Path | None = None
    info: dict[str, str] = field(default_factory=dict)

    def pinhole(self, height: int, width: int) -> PinholeCamera | None:
        return None if self.fov_y_deg is None else PinholeCamera(width, height, self.fov_y_deg)

    def meta(self) -> dict[str, Any] | None:
        """The ``camera`` object of ``meta.json`` (None unless both parts are known)."""
        if self.fov_y_deg is None or self.to_world is None:
            return None
        return {"fov_y_deg": float(self.fov_y_deg), "to_world": self.to_world.tolist()}


INFO_KEYS = ("blend_file", "blender_version")


def _check_resolution(file_path: Path, value: Any, image_size: tuple[int, int] | None) -> None:
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, (int, float)) and v > 0 for v in value)):
        raise FormatError(file_path, None, f"'resolution' = {value!r} must be [width, height]")
    if image_size is None:
        return
    height, width = image_size
    if abs(value[0] / value[1] - width / height) > 1e-3 * width / height:
        raise FormatError(file_path, None, f"'resolution' {value[0]:g}x{value[1]:g} (aspect {value[0] / value[1]:.4f}) "
                          f"differs from the frames' {width}x{height} (aspect {width / height:.4f}): the field of "
                          "view was computed for another image shape; write the sidecar again for this render")


def load_camera_sidecar(path: str | os.PathLike[str], frame_count: int | None = None, *,
                        image_size: tuple[int, int] | None = None) -> CameraTrack:
    """Read a camera sidecar (see the module docstring) into a :class:`CameraTrack`.

    Args:
        path: the sidecar.
        frame_count: the number of frames, which must equal the number of matrices.
        image_size: ``(height, width)`` of the frames, checked against ``resolution``.

    Raises:
        FormatError: unreadable JSON, unknown convention, matrices that are not 4x4, a
            matrix count different from ``frame_count``, a varying field of view, a
            ``resolution`` of another aspect ratio than the frames.
    """
    file_path = Path(path)
    data = read_json_object(file_path, "camera sidecar")
    if "resolution" in data:
        _check_resolution(file_path, data["resolution"], image_size)
    info = {key: str(data[key]) for key in INFO_KEYS if isinstance(data.get(key), str) and data[key]}
    convention = data.get("convention", "mitsuba")
    if convention not in CONVENTIONS:
        raise FormatError(file_path, None, f"'convention' = {convention!r} is unknown (known: {', '.join(CONVENTIONS)})")
    fov = data.get("fov_y_deg")
    if isinstance(fov, list):
        values = np.asarray(fov, np.float64)
        if values.size and np.ptp(values) > 1e-4:
            raise FormatError(file_path, None, "'fov_y_deg' varies over the sequence; ssr-seq needs one field of view")
        fov = float(values[0]) if values.size else None
    if fov is not None:
        if isinstance(fov, bool) or not isinstance(fov, (int, float)) or not 0 < float(fov) < 180:
            raise FormatError(file_path, None, f"'fov_y_deg' = {fov!r} must be a number in (0, 180)")
        fov = float(fov)
    to_world = data.get("to_world")
    matrices = None
    if to_world is not None:
        try:
            matrices = np.asarray(to_world, np.float64)
        except (TypeError, ValueError):
            raise FormatError(file_path, None, "'to_world' must be a list of 4x4 numeric matrices") from None
        if matrices.ndim != 3 or matrices.shape[1:] != (4, 4):
            raise FormatError(file_path, None, f"'to_world' must be a list of 4x4 matrices, got shape {matrices.shape}")
        if not np.all(np.isfinite(matrices)):
            raise FormatError(file_path, None, "'to_world' holds NaN/Inf")
        if frame_count is not None and len(matrices) != frame_count:
            raise FormatError(file_path, None, f"'to_world' has {len(matrices)} matrices for {frame_count} frames")
        rotation = matrices[:, :3, :3]
        gram = np.einsum("nji,njk->nik", rotation, rotation)
        if np.any(np.abs(gram - np.eye(3)) > 1e-3):
            raise FormatError(file_path, None, "'to_world' matrices must be rigid (rotation + translation, no scale)")
        matrices = to_mitsuba_to_world(matrices, convention)
    return CameraTrack(fov, matrices, file_path, info)


def pixel_ray_cosines(height: int, width: int, fov_y_deg: float) -> np.ndarray:
    """``float64 [H, W]``: cosine between each pixel-centre ray and the viewing axis, the
    factor from distance along the ray to view-space depth (``z = t cos``)."""
    camera = PinholeCamera(width, height, fov_y_deg)
    centres = camera.pixel_centres()
    x = (0.5 - centres[..., 0] / width) * 2.0 * camera.tan_half_x
    y = (0.5 - centres[..., 1] / height) * 2.0 * camera.tan_half_y
    return 1.0 / np.sqrt(1.0 + x * x + y * y)

