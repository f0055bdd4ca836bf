"""Load a scene for rendering: a Mitsuba 3 scene file or a built-in procedural scene.

A :class:`LoadedScene` bundles the ``mi.Scene`` with what the renderer needs besides it:
the scene's own camera (pose, vertical field of view, clip planes), the objects that move
and their per-frame rigid transforms (for object motion vectors), and a probe that traces
rays (for camera-path planning).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .mitsuba_env import load_mitsuba
from .procedural import MovingObject, builtin_scene

__all__ = ["LoadedScene", "load_scene", "SceneLoadError"]


class SceneLoadError(ValueError):
    """The scene spec names no loadable scene."""


@dataclass
class LoadedScene:
    """A scene ready to render.

    Attributes:
        scene: the ``mi.Scene`` (moving objects at the frame of the last :meth:`set_frame`).
        description: free text for ``meta.json`` (file path or built-in name).
        camera_to_world: 4x4 float64 camera-to-world matrix of the scene's own camera.
        fov_y_deg: its vertical field of view for the requested image size.
        near_clip, far_clip: its clip distances (scene units).
        moving: the moving objects (built-in scenes only).
        width, height: film size the scene was loaded for.
    """

    scene: Any
    description: str
    camera_to_world: np.ndarray
    fov_y_deg: float
    near_clip: float
    far_clip: float
    width: int
    height: int
    moving: list[MovingObject] = field(default_factory=list)
    _params: Any = None
    _rest_positions: dict[str, np.ndarray] = field(default_factory=dict)
    _rest_normals: dict[str, np.ndarray] = field(default_factory=dict)
    _frame: int | None = None
    _shape_ids: dict[str, int] = field(default_factory=dict)

    # ------------------------------------------------------------------ moving objects
    def set_frame(self, frame: int) -> None:
        """Move every moving object to its pose at ``frame`` (no-op for static scenes)."""
        if not self.moving or self._frame == frame:
            self._frame = frame
            return
        mi = load_mitsuba()
        params = self._params
        for obj in self.moving:
            matrix = obj.transform(frame)
            if obj.kind == "sphere":
                params[f"{obj.shape_key}.to_world"] = mi.ScalarTransform4f(matrix.tolist())
            else:
                relative = matrix @ np.linalg.inv(obj.transform(0))
                rest = self._rest_positions[obj.shape_key]
                moved = rest @ relative[:3, :3].T + relative[:3, 3]
                params[f"{obj.shape_key}.vertex_positions"] = mi.Float(moved.astype(np.float32).ravel())
                normals = self._rest_normals.get(obj.shape_key)
                if normals is not None:
                    normal_matrix = np.linalg.inv(relative[:3, :3]).T
                    turned = normals @ normal_matrix.T
                    turned /= np.maximum(np.linalg.norm(turned, axis=1, keepdims=True), 1e-12)
                    params[f"{obj.shape_key}.vertex_normals"] = mi.Float(turned.astype(np.float32).ravel())
        params.update()
        self._frame = frame

    def object_transforms(self, frame: int) -> dict[int, np.ndarray]:
        """Shape registry id (as in ``si.shape``) -> 4x4 object-to-world at ``frame``."""
        return {self._shape_ids[obj.shape_key]: obj.transform(frame) for obj in self.moving}

    # ------------------------------------------------------------------ ray probe
    def probe(self, origins: np.ndarray, directions: np.ndarray) -> np.ndarray:
        """Hit distances of rays ``[N, 3]`` (inf on a miss), float64 ``[N]``."""
        mi = load_mitsuba()
        origins = np.asarray(origins, np.float32).reshape(-1, 3)
        directions = np.asarray(directions, np.float32).reshape(-1, 3)
        ray = mi.Ray3f(mi.Point3f(*[mi.Float(origins[:, i]) for i in range(3)]),
                       mi.Vector3f(*[mi.Float(directions[:, i]) for i in range(3)]))
        si = self.scene.ray_intersect(ray)
        distance = np.array(si.t, dtype=np.float64)
        distance[~np.isfinite(distance) | (distance > 1e30)] = np.inf
        return distance

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Axis-aligned bounding box of the scene's shapes (min, max), float64."""
        box = self.scene.bbox()
        return np.array(box.min, np.float64).ravel(), np.array(box.max, np.float64).ravel()


def _registry_id(mi: Any, shape: Any) -> int:
    import drjit as dr

    return int(dr.reinterpret_array(mi.UInt32, mi.ShapePtr(shape))[0])


def _sensor_camera(mi: Any, scene: Any, width: int, height: int) -> tuple[np.ndarray, float, float, float]:
    sensors = scene.sensors()
    if not sensors:
        raise SceneLoadError("the scene has no sensor (camera) to start the camera path from")
    sensor = sensors[0]
    params = mi.traverse(sensor)
    keys = set(params.keys())
    if "to_world" not in keys or "x_fov" not in keys:
        raise SceneLoadError(f"the scene's first sensor ({sensor.class_name()}) is not a perspective camera")
    to_world = np.array(params["to_world"].matrix, np.float64).reshape(4, 4)
    film_w, film_h = (int(v) for v in sensor.film().size())
    x_fov = float(np.array(params["x_fov"]).ravel()[0])
    tan_half_y = math.tan(math.radians(x_fov) / 2) * film_h / film_w
    fov_y = math.degrees(2 * math.atan(tan_half_y))
    near = float(params["near_clip"]) if "near_clip" in keys else 0.01
    far = float(params["far_clip"]) if "far_clip" in keys else 1e4
    return to_world, fov_y, near, far


def _load_file(mi: Any, path: Path, width: int, height: int, max_depth: int) -> Any:
    try:
        return mi.load_file(str(path), resx=width, resy=height, spp=1, max_depth=max_depth, parallel=False)
    except Exception as first:  # noqa: BLE001 - scenes without the $resx/... parameters
        try:
            return mi.load_file(str(path), parallel=False)
        except Exception:  # noqa: BLE001
            raise SceneLoadError(f"cannot load scene file {path}: {first}") from None


def load_scene(spec: str, *, width: int, height: int, max_depth: int) -> LoadedScene:
    """Load ``spec``: a Mitsuba 3 scene file path, or ``builtin[:room|:<seed>]``.

    Scene files are loaded deterministically (``parallel=False``) with the ``resx``, ``resy``,
    ``spp`` and ``max_depth`` parameters when the file declares them.
    """
    if width < 1 or height < 1:
        raise SceneLoadError(f"image size must be positive, got {width}x{height}")
    mi = load_mitsuba()
    if spec == "builtin" or spec.startswith("builtin:"):
        try:
            procedural = builtin_scene(spec)
        except ValueError as exc:
            raise SceneLoadError(str(exc)) from None
        scene = mi.load_dict(procedural.to_dict(mi, max_depth=max_depth), parallel=False)
        loaded = LoadedScene(
            scene=scene, description=procedural.name, camera_to_world=procedural.camera_to_world,
            fov_y_deg=procedural.fov_y_deg, near_clip=0.01, far_clip=1000.0, width=width, height=height,
            moving=list(procedural.moving),
        )
        _prepare_moving(mi, loaded)
        return loaded
    path = Path(spec)
    if path.is_dir():
        path = path / "scene.xml"
    if not path.is_file():
        raise SceneLoadError(f"scene file not found: {spec!r} (give a Mitsuba 3 .xml file or builtin[:name])")
    scene = _load_file(mi, path, width, height, max_depth)
    to_world, fov_y, near, far = _sensor_camera(mi, scene, width, height)
    return LoadedScene(scene=scene, description=str(path), camera_to_world=to_world, fov_y_deg=fov_y,
                       near_clip=near, far_clip=far, width=width, height=height)


def _prepare_moving(mi: Any, loaded: LoadedScene) -> None:
    params = mi.traverse(loaded.scene)
    loaded._params = params
    by_id = {shape.id(): shape for shape in loaded.scene.shapes()}
    for obj in loaded.moving:
        if obj.shape_key not in by_id:
            raise SceneLoadError(f"moving object {obj.shape_key!r} is not in the scene")
        loaded._shape_ids[obj.shape_key] = _registry_id(mi, by_id[obj.shape_key])
        if obj.kind == "mesh":
            loaded._rest_positions[obj.shape_key] = np.array(params[f"{obj.shape_key}.vertex_positions"], np.float64).reshape(-1, 3)
            normals_key = f"{obj.shape_key}.vertex_normals"
            if normals_key in params.keys():
                normals = np.array(params[normals_key], np.float64)
                if normals.size:
                    loaded._rest_normals[obj.shape_key] = normals.reshape(-1, 3)
    loaded._frame = 0
