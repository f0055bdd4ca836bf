"""An analytic test scene for the importer tests, in OpenGL/Blender camera conventions.

Written independently of the importer and of ``ssr.data_tools.render.camera`` (which
uses Mitsuba's axes): a checker-textured floor (z = 0) and a sphere that may move,
ray-cast per pixel centre; cameras are OpenGL-style (+x right, +y up, looking along -z),
pixel y grows downwards. The ground truth of every G-buffer and of the docs/format.md motion
field (``p + m`` = position in the previous frame) comes from projecting the same
world points into the previous camera.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def look_at_gl(eye, target, up=(0.0, 0.0, 1.0)) -> np.ndarray:
    """OpenGL-convention camera-to-world: columns right, up, backward (-forward), eye."""
    eye = np.asarray(eye, np.float64)
    forward = np.asarray(target, np.float64) - eye
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, np.asarray(up, np.float64))
    right /= np.linalg.norm(right)
    true_up = np.cross(right, forward)
    matrix = np.eye(4)
    matrix[:3, 0], matrix[:3, 1], matrix[:3, 2], matrix[:3, 3] = right, true_up, -forward, eye
    return matrix


@dataclass
class GLCamera:
    width: int
    height: int
    fov_y_deg: float

    @property
    def tan_y(self) -> float:
        return math.tan(math.radians(self.fov_y_deg) / 2)

    @property
    def tan_x(self) -> float:
        return self.tan_y * self.width / self.height

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        xs, ys = np.meshgrid(np.arange(self.width) + 0.5, np.arange(self.height) + 0.5)
        return xs, ys

    def rays(self, to_world: np.ndarray) -> np.ndarray:
        xs, ys = self.centres()
        ndc_x = 2 * xs / self.width - 1
        ndc_y = 1 - 2 * ys / self.height
        cam = np.stack([ndc_x * self.tan_x, ndc_y * self.tan_y, -np.ones_like(xs)], axis=-1)
        world = cam @ to_world[:3, :3].T
        return world / np.linalg.norm(world, axis=-1, keepdims=True)

    def project(self, to_world: np.ndarray, points: np.ndarray, direction: bool = False) -> np.ndarray:
        """Pixel coordinates (x right, y down) of world points (or directions)."""
        rel = points if direction else points - to_world[:3, 3]
        cam = rel @ to_world[:3, :3]  # R^T p, row vectors
        depth = -cam[..., 2]
        x = (cam[..., 0] / (depth * self.tan_x) + 1) / 2 * self.width
        y = (1 - cam[..., 1] / (depth * self.tan_y)) / 2 * self.height
        return np.stack([x, y], axis=-1)


@dataclass
class SceneFrame:
    """Per-pixel truth of one frame (all ``[H, W, ...]``, float64)."""

    hit: np.ndarray
    position: np.ndarray
    normal: np.ndarray  # world, facing the camera, 0 at misses
    view_z: np.ndarray  # distance along the viewing axis, 0 at misses
    distance: np.ndarray  # along the ray, 0 at misses
    albedo: np.ndarray
    color: np.ndarray
    direction: np.ndarray
    sphere: np.ndarray  # bool: pixel sees the sphere


def sphere_centres(frames: int, speed=(0.15, 0.05, 0.0)) -> list[np.ndarray]:
    return [np.array([-0.6, 0.2, 0.45]) + k * np.asarray(speed) for k in range(frames)]


def camera_track(frames: int) -> list[np.ndarray]:
    """A camera that translates and turns a little every frame."""
    return [look_at_gl((0.2 * k, -4.0 + 0.1 * k, 2.2 + 0.05 * k), (0.1 * k, 0.3, 0.2)) for k in range(frames)]


def render_frame(camera: GLCamera, to_world: np.ndarray, centre: np.ndarray, radius: float = 0.45) -> SceneFrame:
    eye = to_world[:3, 3]
    rays = camera.rays(to_world)
    t_floor = np.where(rays[..., 2] < -1e-9, -eye[2] / np.minimum(rays[..., 2], -1e-9), np.inf)
    oc = eye - centre
    b = rays @ oc
    disc = b * b - (oc @ oc - radius * radius)
    t_sphere = np.where(disc > 0, -b - np.sqrt(np.maximum(disc, 0)), np.inf)
    t_sphere = np.where(t_sphere > 1e-6, t_sphere, np.inf)
    t = np.minimum(t_floor, t_sphere)
    t = np.where(t < 30.0, t, np.inf)  # the floor ends 30 units away: beyond is a miss
    hit = np.isfinite(t)
    sphere = hit & (t_sphere <= t_floor)
    position = eye + rays * np.where(hit, t, 0)[..., None]
    normal = np.where(sphere[..., None], (position - centre) / radius, np.array([0.0, 0.0, 1.0]))
    normal = np.where(hit[..., None], normal, 0.0)
    checker = ((np.floor(position[..., 0] * 2) + np.floor(position[..., 1] * 2)) % 2).astype(np.float64)
    floor_albedo = np.where(checker[..., None] > 0, np.array([0.8, 0.8, 0.7]), np.array([0.1, 0.3, 0.6]))
    albedo = np.where(sphere[..., None], np.array([0.7, 0.2, 0.1]), floor_albedo)
    albedo = np.where(hit[..., None], albedo, 1.0)
    forward = -to_world[:3, 2]
    view_z = np.where(hit, (position - eye) @ forward, 0.0)
    shading = np.clip(normal @ np.array([0.3, -0.4, 0.87]), 0, None)
    color = np.where(hit[..., None], albedo * (0.2 + shading[..., None]), np.array([0.4, 0.5, 0.7]))
    return SceneFrame(hit, position, normal, view_z, np.where(hit, t, 0.0), albedo, color, rays, sphere)


def true_motion(camera: GLCamera, frame: SceneFrame, previous_to_world: np.ndarray,
                centre_now: np.ndarray, centre_prev: np.ndarray) -> np.ndarray:
    """docs/format.md motion (pixels, x right, y down, towards the previous frame), misses
    included (the direction at infinity)."""
    xs, ys = camera.centres()
    points = np.where(frame.sphere[..., None], frame.position - centre_now + centre_prev, frame.position)
    projected = camera.project(previous_to_world, points)
    at_infinity = camera.project(previous_to_world, frame.direction, direction=True)
    projected = np.where(frame.hit[..., None], projected, at_infinity)
    return projected - np.stack([xs, ys], axis=-1)


def write_exr(path, channels: dict[str, np.ndarray], header: dict | None = None, *, half: bool = False) -> None:
    """Write channels straight with the OpenEXR bindings (as another tool would)."""
    import OpenEXR

    dtype = np.float16 if half else np.float32
    arrays = {name: np.ascontiguousarray(np.asarray(v).astype(v.dtype if v.dtype == np.uint32 else dtype))
              for name, v in channels.items()}
    full_header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage, **(header or {})}
    path.parent.mkdir(parents=True, exist_ok=True)
    with OpenEXR.File(full_header, arrays) as exr:
        exr.write(str(path))
