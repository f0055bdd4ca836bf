"""The built-in procedural scenes: rooms of primitives, no external assets.

Names (``--scene builtin[:name]``):

* ``builtin`` / ``builtin:room`` - the curated default room (layout seed 0, fixed).
* ``builtin:<int>`` - a random room from that layout seed: room size, wall colours,
  primitives (spheres, cubes, cylinders, rectangles), their materials (diffuse, checkerboard
  and grid textures, rough plastic, plastic, metal, rough metal, glass, rough glass) and
  the lights (a rectangular ceiling area light and a point light) all follow the seed.

Every room has two moving objects (a cube and a sphere) whose rigid motion is a function of
the frame index, so object motion vectors are exercised. The scene is Y-up, the floor is
``y = 0`` and the camera starts near the front wall looking at the back wall.

This module only builds plain Python data (a ``mi.load_dict`` dictionary built lazily by
:func:`ProceduralScene.to_dict`) and the per-frame transforms; it does not render.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

__all__ = ["MovingObject", "ProceduralScene", "builtin_scene", "parse_builtin_name", "BUILTIN_NAMES"]

BUILTIN_NAMES = ("room",)
"""Named built-in variants (plus any non-negative integer seed)."""
ACCEPTED_FORMS = "use 'builtin', 'builtin:room' or 'builtin:<seed>' with a non-negative integer seed"
"""What :func:`parse_builtin_name`'s errors list."""


def _translate(offset: np.ndarray) -> np.ndarray:
    matrix = np.eye(4)
    matrix[:3, 3] = offset
    return matrix


def _scale(factors: np.ndarray | float) -> np.ndarray:
    return np.diag(np.append(np.asarray(factors, np.float64) * np.ones(3), 1.0))


def _rotate(axis: np.ndarray, angle_rad: float) -> np.ndarray:
    axis = np.asarray(axis, np.float64)
    axis = axis / np.linalg.norm(axis)
    x, y, z = axis
    c, s, one_c = math.cos(angle_rad), math.sin(angle_rad), 1.0 - math.cos(angle_rad)
    matrix = np.eye(4)
    matrix[:3, :3] = [
        [c + x * x * one_c, x * y * one_c - z * s, x * z * one_c + y * s],
        [y * x * one_c + z * s, c + y * y * one_c, y * z * one_c - x * s],
        [z * x * one_c - y * s, z * y * one_c + x * s, c + z * z * one_c],
    ]
    return matrix


@dataclass(frozen=True)
class MovingObject:
    """A shape (``shape_key`` in the scene dict) with a rigid world transform per frame.

    ``transform(t)`` returns the 4x4 object-to-world matrix at frame ``t`` (float64); the
    shape is defined in the dict with ``transform(0)``.
    """

    shape_key: str
    kind: str  # "mesh" (vertex positions are updated) or "sphere" (to_world is updated)
    transform: Callable[[int], np.ndarray]


@dataclass
class ProceduralScene:
    """A built-in scene: shape/material/light descriptions and its moving objects."""

    name: str
    seed: int
    room_size: tuple[float, float, float]  # x extent, y (height), z extent
    camera_to_world: np.ndarray  # 4x4
    fov_y_deg: float
    elements: dict[str, dict[str, Any]] = field(default_factory=dict)  # plain, mi-free
    moving: list[MovingObject] = field(default_factory=list)

    def to_dict(self, mi: Any, *, max_depth: int) -> dict[str, Any]:
        """The ``mi.load_dict`` dictionary (objects at frame 0; no sensor: the renderer adds it)."""
        scene: dict[str, Any] = {"type": "scene", "integrator": {"type": "path", "max_depth": int(max_depth)}}
        for key, element in self.elements.items():
            scene[key] = _materialise(mi, element)
        return scene


def _materialise(mi: Any, value: Any) -> Any:
    """Turn numpy 4x4 matrices (under key ``to_world`` / ``to_uv``) into Mitsuba transforms."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "to_world" and isinstance(item, np.ndarray):
                out[key] = mi.ScalarTransform4f(item.tolist())
            elif key == "to_uv" and isinstance(item, np.ndarray):
                out[key] = mi.ScalarTransform4f(item.tolist())
            else:
                out[key] = _materialise(mi, item)
        return out
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def parse_builtin_name(spec: str) -> tuple[str, int]:
    """``"builtin"``, ``"builtin:room"`` or ``"builtin:<seed>"`` -> (canonical name, seed).

    Anything else is a ``ValueError`` that lists the accepted forms (the ``builtin:sun<seed>``
    sunrooms were removed: docs/research-log.md)."""
    if spec == "builtin":
        return "room", 0
    if not spec.startswith("builtin:"):
        raise ValueError(f"not a built-in scene name: {spec!r} ({ACCEPTED_FORMS})")
    variant = spec.split(":", 1)[1].strip()
    if variant in ("", "room"):
        return "room", 0
    if variant.isdigit():
        return variant, int(variant)
    raise ValueError(f"unknown built-in scene {spec!r}: {ACCEPTED_FORMS}")


# ----------------------------------------------------------------------------- materials

_CONDUCTORS = ("Au", "Cu", "Al", "Ag", "Cr")


def _rgb(colour: np.ndarray) -> dict[str, Any]:
    return {"type": "rgb", "value": [float(c) for c in colour]}


def _material(rng: np.random.Generator, kind: str) -> dict[str, Any]:
    colour = rng.uniform(0.15, 0.85, 3)
    if kind == "diffuse":
        return {"type": "diffuse", "reflectance": _rgb(colour)}
    if kind == "checker":
        return {
            "type": "diffuse",
            "reflectance": {
                "type": "checkerboard",
                "color0": _rgb(colour * 0.35),
                "color1": _rgb(np.clip(colour * 1.1, 0, 0.9)),
                "to_uv": _scale(np.array([float(rng.integers(2, 6)), float(rng.integers(2, 6)), 1.0])),
            },
        }
    if kind == "plastic":
        return {"type": "plastic", "diffuse_reflectance": _rgb(colour)}
    if kind == "roughplastic":
        return {"type": "roughplastic", "diffuse_reflectance": _rgb(colour), "alpha": float(rng.uniform(0.1, 0.4))}
    if kind == "metal":
        return {"type": "conductor", "material": str(rng.choice(_CONDUCTORS))}
    if kind == "roughmetal":
        return {"type": "roughconductor", "material": str(rng.choice(_CONDUCTORS)), "alpha": float(rng.uniform(0.05, 0.35))}
    if kind == "glass":
        return {"type": "dielectric", "int_ior": 1.5, "specular_transmittance": _rgb(0.75 + 0.25 * colour)}
    if kind == "roughglass":
        return {"type": "roughdielectric", "int_ior": 1.5, "alpha": float(rng.uniform(0.05, 0.25))}
    raise ValueError(f"unknown material kind {kind!r}")


# ----------------------------------------------------------------------------- scene


def _room(rng: np.random.Generator, size: tuple[float, float, float], curated: bool) -> dict[str, dict[str, Any]]:
    """Floor (checkerboard), walls, ceiling: rectangles facing into the room."""
    sx, sy, sz = size
    floor_colours = (np.array([0.8, 0.78, 0.7]), np.array([0.15, 0.15, 0.18])) if curated else (
        rng.uniform(0.5, 0.9, 3), rng.uniform(0.05, 0.3, 3))
    wall = lambda: _rgb(rng.uniform(0.35, 0.85, 3))  # noqa: E731
    checks = 10.0 if curated else float(rng.integers(6, 16))
    elements: dict[str, dict[str, Any]] = {
        "floor": {
            "type": "rectangle",
            "to_world": _translate(np.array([0, 0, 0])) @ _rotate([1, 0, 0], -math.pi / 2) @ _scale(np.array([sx / 2, sz / 2, 1])),
            "bsdf": {"type": "diffuse", "reflectance": {
                "type": "checkerboard", "color0": _rgb(floor_colours[0]), "color1": _rgb(floor_colours[1]),
                "to_uv": _scale(np.array([checks, checks, 1.0]))}},
        },
        "ceiling": {
            "type": "rectangle",
            "to_world": _translate(np.array([0, sy, 0])) @ _rotate([1, 0, 0], math.pi / 2) @ _scale(np.array([sx / 2, sz / 2, 1])),
            "bsdf": {"type": "diffuse", "reflectance": _rgb(np.array([0.8, 0.8, 0.8]))},
        },
        "wall_back": {
            "type": "rectangle",
            "to_world": _translate(np.array([0, sy / 2, -sz / 2])) @ _scale(np.array([sx / 2, sy / 2, 1])),
            "bsdf": {"type": "diffuse", "reflectance": {
                "type": "checkerboard", "color0": wall(), "color1": wall(),
                "to_uv": _scale(np.array([4.0, 2.0, 1.0]))}},
        },
        "wall_front": {
            "type": "rectangle",
            "to_world": _translate(np.array([0, sy / 2, sz / 2])) @ _rotate([0, 1, 0], math.pi) @ _scale(np.array([sx / 2, sy / 2, 1])),
            "bsdf": {"type": "diffuse", "reflectance": wall()},
        },
        "wall_left": {
            "type": "rectangle",
            "to_world": _translate(np.array([-sx / 2, sy / 2, 0])) @ _rotate([0, 1, 0], math.pi / 2) @ _scale(np.array([sz / 2, sy / 2, 1])),
            "bsdf": {"type": "diffuse", "reflectance": _rgb(np.array([0.7, 0.25, 0.2]) if curated else rng.uniform(0.2, 0.8, 3))},
        },
        "wall_right": {
            "type": "rectangle",
            "to_world": _translate(np.array([sx / 2, sy / 2, 0])) @ _rotate([0, 1, 0], -math.pi / 2) @ _scale(np.array([sz / 2, sy / 2, 1])),
            "bsdf": {"type": "diffuse", "reflectance": _rgb(np.array([0.2, 0.4, 0.7]) if curated else rng.uniform(0.2, 0.8, 3))},
        },
    }
    return elements


def _static_objects(rng: np.random.Generator, size: tuple[float, float, float], curated: bool) -> dict[str, dict[str, Any]]:
    """Static primitives on the floor in the back two thirds of the room."""
    sx, sy, sz = size
    if curated:
        layout = [("sphere", "glass"), ("cube", "roughplastic"), ("cylinder", "metal"),
                  ("sphere", "roughmetal"), ("rectangle", "checker"), ("cube", "diffuse"), ("sphere", "plastic")]
    else:
        shapes = ("sphere", "cube", "cylinder", "rectangle")
        kinds = ("diffuse", "checker", "plastic", "roughplastic", "metal", "roughmetal", "glass", "roughglass")
        layout = [(str(rng.choice(shapes)), str(rng.choice(kinds))) for _ in range(int(rng.integers(5, 9)))]
    elements: dict[str, dict[str, Any]] = {}
    count = len(layout)
    for index, (shape, kind) in enumerate(layout):
        # spread along x in a loose arc so that objects rarely overlap
        fx = (index + 0.5) / count
        x = (fx - 0.5) * (sx - 1.2) + rng.uniform(-0.15, 0.15)
        z = -sz / 2 + 0.9 + rng.uniform(0.0, sz * 0.35) * (1.0 - 0.6 * abs(fx - 0.5))
        radius = float(rng.uniform(0.25, 0.45))
        bsdf = _material(rng, kind)
        key = f"object_{index}_{shape}"
        if shape == "sphere":
            elements[key] = {"type": "sphere", "center": [float(x), radius, float(z)], "radius": radius, "bsdf": bsdf}
        elif shape == "cube":
            yaw = float(rng.uniform(0, math.pi))
            elements[key] = {"type": "cube", "bsdf": bsdf, "to_world":
                             _translate(np.array([x, radius, z])) @ _rotate([0, 1, 0], yaw) @ _scale(radius)}
        elif shape == "cylinder":
            height = float(rng.uniform(0.6, 1.4))
            elements[key] = {"type": "cylinder", "radius": radius * 0.7, "bsdf": bsdf,
                             "p0": [float(x), 0.0, float(z)], "p1": [float(x), height, float(z)]}
            elements[key + "_cap"] = {"type": "disk", "bsdf": bsdf, "to_world":
                                      _translate(np.array([x, height, z])) @ _rotate([1, 0, 0], -math.pi / 2) @ _scale(radius * 0.7)}
        else:  # an upright panel (e.g. a picture on a stand), two-sided
            yaw = float(rng.uniform(-0.6, 0.6))
            if bsdf["type"] not in ("dielectric", "roughdielectric"):  # those are two-sided already
                bsdf = {"type": "twosided", "bsdf": bsdf}
            elements[key] = {"type": "rectangle", "bsdf": bsdf, "to_world":
                             _translate(np.array([x, 0.55, z])) @ _rotate([0, 1, 0], yaw) @ _scale(np.array([0.4, 0.55, 1.0]))}
    return elements


def _lights(rng: np.random.Generator, size: tuple[float, float, float], curated: bool) -> dict[str, dict[str, Any]]:
    sx, sy, sz = size
    power = 6.0 if curated else float(rng.uniform(4.0, 10.0))
    tint = np.array([1.0, 0.95, 0.85]) if curated else rng.uniform(0.8, 1.0, 3)
    lx = 0.0 if curated else float(rng.uniform(-sx / 4, sx / 4))
    point = np.array([sx * 0.3, sy * 0.8, sz * 0.1]) if curated else np.array(
        [rng.uniform(-sx / 3, sx / 3), sy * rng.uniform(0.6, 0.85), rng.uniform(-sz / 4, sz / 4)])
    return {
        "ceiling_light": {
            "type": "rectangle",
            "to_world": _translate(np.array([lx, sy - 0.01, -sz * 0.1])) @ _rotate([1, 0, 0], math.pi / 2) @ _scale(np.array([0.6, 0.4, 1.0])),
            "bsdf": {"type": "diffuse", "reflectance": _rgb(np.array([0.8, 0.8, 0.8]))},
            "emitter": {"type": "area", "radiance": _rgb(power * tint)},
        },
        "point_light": {"type": "point", "position": [float(v) for v in point], "intensity": _rgb(np.array([2.5, 2.2, 1.8]) * (sy ** 2) * 0.6)},
    }


def _moving_objects(rng: np.random.Generator, size: tuple[float, float, float], curated: bool) -> tuple[dict[str, dict[str, Any]], list[MovingObject]]:
    """A sliding, spinning cube and a sphere circling in mid-air."""
    sx, sy, sz = size
    cube_size = 0.3 if curated else float(rng.uniform(0.22, 0.35))
    cube_centre = np.array([-0.4, cube_size, 0.2]) if curated else np.array([rng.uniform(-0.6, 0.2), cube_size, rng.uniform(-0.2, 0.4)])
    cube_speed = 0.09 if curated else float(rng.uniform(0.06, 0.12))  # scene units per frame (peak)
    sphere_radius = 0.22 if curated else float(rng.uniform(0.15, 0.28))
    orbit_centre = np.array([0.5, sy * 0.45, -0.3]) if curated else np.array([rng.uniform(0.0, 0.8), sy * rng.uniform(0.35, 0.55), rng.uniform(-0.8, 0.0)])
    orbit_radius = 0.45 if curated else float(rng.uniform(0.3, 0.6))
    orbit_rate = 0.16 if curated else float(rng.uniform(0.1, 0.22))  # radians per frame
    phase = 0.0 if curated else float(rng.uniform(0, 2 * math.pi))

    def cube_transform(frame: int) -> np.ndarray:
        offset = np.array([math.sin(frame * cube_speed / 0.8) * 0.8, 0.0, 0.0])
        return _translate(cube_centre + offset) @ _rotate([0, 1, 0], 0.12 * frame) @ _scale(cube_size)

    def sphere_transform(frame: int) -> np.ndarray:
        angle = phase + orbit_rate * frame
        position = orbit_centre + orbit_radius * np.array([math.cos(angle), 0.3 * math.sin(2 * angle), math.sin(angle)])
        return _translate(position) @ _rotate([0, 1, 0], 0.2 * frame) @ _scale(sphere_radius)

    cube_material = _material(rng, "checker") if curated else _material(rng, str(rng.choice(["checker", "roughplastic", "diffuse"])))
    sphere_material = _material(rng, "roughmetal") if curated else _material(rng, str(rng.choice(["roughmetal", "plastic", "checker", "glass"])))
    elements = {
        "moving_cube": {"type": "cube", "to_world": cube_transform(0), "bsdf": cube_material},
        "moving_sphere": {"type": "sphere", "to_world": sphere_transform(0), "bsdf": sphere_material},
    }
    moving = [MovingObject("moving_cube", "mesh", cube_transform), MovingObject("moving_sphere", "sphere", sphere_transform)]
    return elements, moving


def builtin_scene(spec: str = "builtin") -> ProceduralScene:
    """Build the procedural scene named by ``spec`` (see the module docstring)."""
    name, seed = parse_builtin_name(spec)
    curated = name == "room"
    rng = np.random.default_rng(np.random.SeedSequence([0x55A, seed]))
    size = (6.0, 3.0, 7.0) if curated else (float(rng.uniform(5.0, 8.0)), float(rng.uniform(2.6, 3.6)), float(rng.uniform(5.5, 9.0)))
    elements = _room(rng, size, curated)
    elements.update(_static_objects(rng, size, curated))
    elements.update(_lights(rng, size, curated))
    moving_elements, moving = _moving_objects(rng, size, curated)
    elements.update(moving_elements)
    sx, sy, sz = size
    eye = np.array([0.0, sy * 0.5, sz / 2 - 0.6])
    target = np.array([0.0, sy * 0.3, -sz / 4])
    from .camera import look_at

    return ProceduralScene(
        name=f"builtin:{name}", seed=seed, room_size=size, camera_to_world=look_at(eye, target, np.array([0.0, 1.0, 0.0])),
        fov_y_deg=55.0, elements=elements, moving=moving,
    )
