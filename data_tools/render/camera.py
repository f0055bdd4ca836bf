"""Pinhole camera maths in NumPy (no Mitsuba): projection, look-at, pixel-centre rays.

Conventions (docs/format.md / Mitsuba): ``to_world`` is a 4x4 camera-to-world matrix,
``p_world = M @ [p_cam, 1]``; camera space looks along +z, +y is image-up and +x is
image-left. Pixel coordinates are continuous, x to the right in ``[0, W)``, y down in
``[0, H)``, pixel centres at ``i + 0.5``. ``fov_y_deg`` is the full vertical angle; pixels
are square and the principal point is the image centre.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["PinholeCamera", "look_at", "normalize"]


def normalize(vectors: np.ndarray) -> np.ndarray:
    """Unit vectors along the last axis (zero vectors stay zero)."""
    norm = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return np.where(norm > 0, vectors / np.maximum(norm, 1e-30), 0.0)


def look_at(origin: np.ndarray, target: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Camera-to-world 4x4 (float64) looking from ``origin`` at ``target`` (Mitsuba's look_at)."""
    origin = np.asarray(origin, np.float64)
    forward = normalize(np.asarray(target, np.float64) - origin)
    left = np.cross(np.asarray(up, np.float64), forward)
    if np.linalg.norm(left) < 1e-9:  # up parallel to the view: pick any perpendicular
        left = np.cross([1.0, 0.0, 0.0] if abs(forward[0]) < 0.9 else [0.0, 0.0, 1.0], forward)
    left = normalize(left)
    new_up = np.cross(forward, left)
    matrix = np.eye(4)
    matrix[:3, 0], matrix[:3, 1], matrix[:3, 2], matrix[:3, 3] = left, new_up, forward, origin
    return matrix


@dataclass(frozen=True)
class PinholeCamera:
    """Intrinsics of a perspective camera: image size and vertical field of view."""

    width: int
    height: int
    fov_y_deg: float

    @property
    def tan_half_y(self) -> float:
        return math.tan(math.radians(self.fov_y_deg) * 0.5)

    @property
    def tan_half_x(self) -> float:
        return self.tan_half_y * self.width / self.height

    def project(self, to_world: np.ndarray, points: np.ndarray, *, is_direction: bool = False) -> np.ndarray:
        """Pixel coordinates of world points (or directions at infinity).

        Args:
            to_world: 4x4 camera-to-world matrix.
            points: ``[..., 3]`` world positions, or world directions when ``is_direction``.

        Returns:
            ``[..., 2]`` float64 pixel coordinates (x right, y down); NaN for points at or
            behind the camera plane.
        """
        to_world = np.asarray(to_world, np.float64)
        rotation, origin = to_world[:3, :3], to_world[:3, 3]
        world = np.asarray(points, np.float64)
        rel = world if is_direction else world - origin
        cam = rel @ np.linalg.inv(rotation).T
        z = cam[..., 2]
        safe_z = np.where(z > 1e-12, z, np.nan)
        px = self.width * (0.5 - 0.5 * cam[..., 0] / (safe_z * self.tan_half_x))
        py = self.height * (0.5 - 0.5 * cam[..., 1] / (safe_z * self.tan_half_y))
        return np.stack([px, py], axis=-1)

    def pixel_directions(self, to_world: np.ndarray, pixels: np.ndarray) -> np.ndarray:
        """Unit world-space ray directions through continuous pixel positions ``[..., 2]``."""
        to_world = np.asarray(to_world, np.float64)
        pixels = np.asarray(pixels, np.float64)
        x_cam = (0.5 - pixels[..., 0] / self.width) * 2.0 * self.tan_half_x
        y_cam = (0.5 - pixels[..., 1] / self.height) * 2.0 * self.tan_half_y
        cam = np.stack([x_cam, y_cam, np.ones_like(x_cam)], axis=-1)
        return normalize(cam @ to_world[:3, :3].T)

    def pixel_centres(self) -> np.ndarray:
        """``[H, W, 2]`` pixel-centre coordinates ``(i + 0.5, j + 0.5)``."""
        xs = np.arange(self.width, dtype=np.float64) + 0.5
        ys = np.arange(self.height, dtype=np.float64) + 0.5
        grid_x, grid_y = np.meshgrid(xs, ys)
        return np.stack([grid_x, grid_y], axis=-1)


def forward_axis(to_world: np.ndarray) -> np.ndarray:
    """Unit world-space viewing direction (+z of camera space)."""
    return normalize(np.asarray(to_world, np.float64)[:3, 2])
