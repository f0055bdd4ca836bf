"""The ``builtin:sun<seed>`` procedural family: rooms lit through a window.

The plain built-in rooms (:mod:`.procedural`) are lit directly by a ceiling light and a point
light, and their surfaces are untextured or checkered diffuse. The held-out interiors that
score worst (docs/benchmarks-history.md section 17) are lit by the sun through a window, so most pixels
see only indirect light, and most of the error sits on textured glossy and metallic
surfaces. A sunroom has both:

* **light**: a window (an opening framed by four wall pieces) in the back, left or right
  wall; outside, a ``directional`` sun aimed through the opening (elevation 15-55 degrees)
  and a ``constant`` sky; in 60 % of the rooms a small ceiling area light as well;
* **textures** (``bitmap`` textures from seeded numpy arrays, linear values): tiles with
  grout, wood grain, mottled plaster, under ``diffuse``, ``plastic``, ``roughplastic``
  (textured diffuse under a clear coat) and ``roughconductor`` (textured
  ``specular_reflectance``);
* **objects**: 6-10 static primitives (as in :mod:`.procedural`, with the textured kinds
  added) and 0-2 mirrors on stands, plus the two moving objects of the plain rooms.

Everything follows the seed; the module builds plain data only (see :mod:`.procedural`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .procedural import (_CONDUCTORS, ProceduralScene, _material, _moving_objects, _rgb, _rotate, _scale,
                         _translate)

__all__ = ["sunroom_scene", "tile_texture", "wood_texture", "plaster_texture"]

TEXTURE_SIZE = 256
"""Side of the generated bitmaps, texels."""


def _smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """``[size, size]`` value noise in [0, 1]: a ``cells x cells`` random grid, bilinear, tiling."""
    grid = rng.uniform(0.0, 1.0, (cells, cells))
    coords = np.arange(size) * cells / size
    low = np.floor(coords).astype(int)
    frac = coords - low
    frac = frac * frac * (3 - 2 * frac)  # smoothstep
    high = (low + 1) % cells
    rows = grid[low] * (1 - frac)[:, None] + grid[high] * frac[:, None]
    return rows[:, low] * (1 - frac)[None, :] + rows[:, high] * frac[None, :]


def plaster_texture(rng: np.random.Generator, base: np.ndarray) -> np.ndarray:
    """``float32 [S, S, 3]``: ``base`` colour mottled by two octaves of value noise (+-15 %)."""
    noise = 0.65 * _smooth_noise(rng, TEXTURE_SIZE, 8) + 0.35 * _smooth_noise(rng, TEXTURE_SIZE, 32)
    return np.clip(base[None, None, :] * (0.85 + 0.3 * noise[..., None]), 0.02, 0.95).astype(np.float32)


def tile_texture(rng: np.random.Generator, base: np.ndarray) -> np.ndarray:
    """``float32 [S, S, 3]``: 4-8 tiles per side, each tile's colour varied by +-10 %, grout
    lines (dark or light) between them."""
    tiles = int(rng.integers(4, 9))
    step = TEXTURE_SIZE / tiles
    index = (np.arange(TEXTURE_SIZE) // step).astype(int)
    jitter = rng.uniform(0.9, 1.1, (tiles, tiles, 3))
    image = base[None, None, :] * jitter[index[:, None], index[None, :]]
    grout = rng.uniform(0.05, 0.15) if rng.uniform() < 0.5 else rng.uniform(0.7, 0.9)
    width = max(1.0, step * rng.uniform(0.04, 0.1))
    offset = np.arange(TEXTURE_SIZE) % step
    line = (offset < width)
    image[line, :, :] = grout
    image[:, line, :] = grout
    return np.clip(image, 0.02, 0.95).astype(np.float32)


def wood_texture(rng: np.random.Generator) -> np.ndarray:
    """``float32 [S, S, 3]``: brown planks along one axis with grain (rings warped by noise)
    and a dark seam between planks."""
    light = rng.uniform([0.45, 0.28, 0.12], [0.75, 0.5, 0.3])
    dark = light * rng.uniform(0.35, 0.6)
    planks = int(rng.integers(3, 7))
    y = np.arange(TEXTURE_SIZE)[:, None] / TEXTURE_SIZE
    x = np.arange(TEXTURE_SIZE)[None, :] / TEXTURE_SIZE
    warp = _smooth_noise(rng, TEXTURE_SIZE, 6)
    rings = 0.5 + 0.5 * np.sin(2 * np.pi * (y * planks * rng.uniform(3, 8) + 1.5 * warp + 0.2 * x))
    grain = rings ** rng.uniform(1.5, 4.0)
    image = light[None, None, :] * (1 - grain[..., None]) + dark[None, None, :] * grain[..., None]
    seam = (y[:, 0] * planks) % 1.0 < 0.02
    image[seam, :, :] *= 0.4
    return np.clip(image, 0.02, 0.95).astype(np.float32)


def _bitmap(data: np.ndarray, repeat: float) -> dict[str, Any]:
    return {"type": "bitmap", "data": data, "raw": True, "to_uv": _scale(np.array([repeat, repeat, 1.0]))}


def _texture(rng: np.random.Generator) -> np.ndarray:
    kind = rng.choice(["tile", "wood", "plaster"])
    base = rng.uniform(0.15, 0.85, 3)
    if kind == "tile":
        return tile_texture(rng, base)
    if kind == "wood":
        return wood_texture(rng)
    return plaster_texture(rng, base)


def _textured_material(rng: np.random.Generator, kind: str, repeat: float = 1.0) -> dict[str, Any]:
    """A textured surface: ``diffuse`` / ``plastic`` / ``roughplastic`` (the texture is the
    diffuse reflectance under the coat) or ``roughconductor`` (the texture tints the
    specular reflectance)."""
    texture = _bitmap(_texture(rng), repeat)
    if kind == "tdiffuse":
        return {"type": "diffuse", "reflectance": texture}
    if kind == "tplastic":
        return {"type": "plastic", "diffuse_reflectance": texture}
    if kind == "troughplastic":
        return {"type": "roughplastic", "diffuse_reflectance": texture, "alpha": float(rng.uniform(0.05, 0.35))}
    if kind == "troughmetal":
        return {"type": "roughconductor", "material": str(rng.choice(_CONDUCTORS)), "specular_reflectance": texture,
                "alpha": float(rng.uniform(0.05, 0.3))}
    raise ValueError(f"unknown textured material kind {kind!r}")


_SURFACES = ("tdiffuse", "tdiffuse", "tplastic", "troughplastic", "troughplastic")
_OBJECT_KINDS = ("diffuse", "plastic", "roughplastic", "metal", "roughmetal", "glass", "roughglass",
                 "tdiffuse", "tplastic", "troughplastic", "troughplastic", "troughmetal")


def _surface(rng: np.random.Generator, repeat: float) -> dict[str, Any]:
    return _textured_material(rng, str(rng.choice(_SURFACES)), repeat)


def _object_material(rng: np.random.Generator) -> dict[str, Any]:
    kind = str(rng.choice(_OBJECT_KINDS))
    return _textured_material(rng, kind) if kind.startswith("t") else _material(rng, kind)


def _panel(centre: np.ndarray, yaw: float, half_width: float, half_height: float) -> np.ndarray:
    """``to_world`` of a rectangle facing +z before ``yaw`` about y."""
    return _translate(centre) @ _rotate([0, 1, 0], yaw) @ _scale(np.array([half_width, half_height, 1.0]))


def _room_with_window(rng: np.random.Generator, size: tuple[float, float, float]
                      ) -> tuple[dict[str, dict[str, Any]], np.ndarray]:
    """Floor, ceiling and four walls facing into the room; one of the back, left and right
    walls has a window opening (four wall pieces around it).

    Returns ``(elements, inward_normal)``: the window wall's normal pointing into the room."""
    sx, sy, sz = size
    elements: dict[str, dict[str, Any]] = {
        "floor": {"type": "rectangle", "bsdf": _surface(rng, float(rng.integers(2, 5))),
                  "to_world": _rotate([1, 0, 0], -math.pi / 2) @ _scale(np.array([sx / 2, sz / 2, 1]))},
        "ceiling": {"type": "rectangle", "bsdf": {"type": "diffuse", "reflectance": _rgb(rng.uniform(0.6, 0.85, 3))},
                    "to_world": _translate(np.array([0, sy, 0])) @ _rotate([1, 0, 0], math.pi / 2)
                    @ _scale(np.array([sx / 2, sz / 2, 1]))},
    }
    # each wall: (centre at mid-height, yaw that turns +z into the inward normal, half width)
    walls = {
        "back": (np.array([0.0, sy / 2, -sz / 2]), 0.0, sx / 2),
        "front": (np.array([0.0, sy / 2, sz / 2]), math.pi, sx / 2),
        "left": (np.array([-sx / 2, sy / 2, 0.0]), math.pi / 2, sz / 2),
        "right": (np.array([sx / 2, sy / 2, 0.0]), -math.pi / 2, sz / 2),
    }
    window_wall = str(rng.choice(["back", "left", "right"]))
    inward: np.ndarray | None = None
    for name, (centre, yaw, half_width) in walls.items():
        bsdf = _surface(rng, float(rng.integers(1, 4)))
        if name != window_wall:
            elements[f"wall_{name}"] = {"type": "rectangle", "bsdf": bsdf, "to_world": _panel(centre, yaw, half_width, sy / 2)}
            continue
        # opening: u in [u0, u1] (across the wall, 0 = centre), v in [v0, v1] (height)
        width = float(rng.uniform(0.35, 0.7)) * 2 * half_width
        u0 = float(rng.uniform(-half_width + 0.3, half_width - 0.3 - width))
        u1 = u0 + width
        v0 = float(rng.uniform(0.3, 0.8))
        v1 = min(sy - 0.2, v0 + float(rng.uniform(1.2, 2.0)))
        rotation = _rotate([0, 1, 0], yaw)
        axis_u = (rotation @ np.array([1.0, 0, 0, 0]))[:3]
        base = centre - np.array([0.0, sy / 2, 0.0])  # on the floor
        pieces = {  # (u range, v range)
            "left": ((-half_width, u0), (0.0, sy)),
            "right": ((u1, half_width), (0.0, sy)),
            "below": ((u0, u1), (0.0, v0)),
            "above": ((u0, u1), (v1, sy)),
        }
        for piece, ((a, b), (c, d)) in pieces.items():
            if b - a < 1e-3 or d - c < 1e-3:
                continue
            piece_centre = base + axis_u * (a + b) / 2 + np.array([0.0, (c + d) / 2, 0.0])
            elements[f"wall_{name}_{piece}"] = {"type": "rectangle", "bsdf": bsdf,
                                                "to_world": _panel(piece_centre, yaw, (b - a) / 2, (d - c) / 2)}
        inward = (rotation @ np.array([0.0, 0, 1, 0]))[:3]
    assert inward is not None
    return elements, inward


def _sun_and_sky(rng: np.random.Generator, inward: np.ndarray, size: tuple[float, float, float]) -> dict[str, dict[str, Any]]:
    """A directional sun entering through the window (down into the room) and a constant sky;
    sometimes a small ceiling light."""
    elevation = math.radians(float(rng.uniform(15.0, 55.0)))
    side = math.radians(float(rng.uniform(-35.0, 35.0)))
    up = np.array([0.0, 1.0, 0.0])
    across = np.cross(up, inward)
    direction = math.cos(elevation) * (math.cos(side) * inward + math.sin(side) * across) - math.sin(elevation) * up
    warmth = rng.uniform([1.0, 0.85, 0.65], [1.0, 1.0, 0.95])
    lights: dict[str, dict[str, Any]] = {
        "sun": {"type": "directional", "direction": [float(v) for v in direction],
                "irradiance": _rgb(float(rng.uniform(40.0, 150.0)) * warmth)},
        "sky": {"type": "constant", "radiance": _rgb(float(rng.uniform(1.5, 5.0)) * rng.uniform([0.5, 0.65, 0.9], [0.7, 0.8, 1.0]))},
    }
    if rng.uniform() < 0.6:
        sx, sy, sz = size
        lights["ceiling_light"] = {
            "type": "rectangle",
            "to_world": _translate(np.array([float(rng.uniform(-sx / 4, sx / 4)), sy - 0.01, float(rng.uniform(-sz / 4, 0))]))
            @ _rotate([1, 0, 0], math.pi / 2) @ _scale(np.array([0.4, 0.3, 1.0])),
            "bsdf": {"type": "diffuse", "reflectance": _rgb(np.array([0.8, 0.8, 0.8]))},
            "emitter": {"type": "area", "radiance": _rgb(float(rng.uniform(2.0, 5.0)) * np.array([1.0, 0.9, 0.75]))},
        }
    return lights


def _objects(rng: np.random.Generator, size: tuple[float, float, float]) -> dict[str, dict[str, Any]]:
    """6-10 static primitives on the floor in the back two thirds, 0-2 mirrors on stands."""
    sx, sy, sz = size
    elements: dict[str, dict[str, Any]] = {}
    count = int(rng.integers(6, 11))
    for index in range(count):
        shape = str(rng.choice(["sphere", "cube", "cylinder", "cube"]))
        fx = (index + 0.5) / count
        x = (fx - 0.5) * (sx - 1.2) + rng.uniform(-0.15, 0.15)
        z = -sz / 2 + 0.8 + rng.uniform(0.0, sz * 0.4)
        radius = float(rng.uniform(0.2, 0.5))
        bsdf = _object_material(rng)
        key = f"object_{index}_{shape}"
        if shape == "sphere":
            elements[key] = {"type": "sphere", "center": [float(x), radius, float(z)], "radius": radius, "bsdf": bsdf}
        elif shape == "cube":
            stretch = np.array([rng.uniform(0.6, 1.8), rng.uniform(0.5, 1.5), rng.uniform(0.6, 1.5)])
            elements[key] = {"type": "cube", "bsdf": bsdf, "to_world": _translate(np.array([x, radius * stretch[1], z]))
                             @ _rotate([0, 1, 0], float(rng.uniform(0, math.pi))) @ _scale(radius * stretch)}
        else:
            height = float(rng.uniform(0.5, 1.5))
            elements[key] = {"type": "cylinder", "radius": radius * 0.7, "bsdf": bsdf,
                             "p0": [float(x), 0.0, float(z)], "p1": [float(x), height, float(z)]}
            elements[key + "_cap"] = {"type": "disk", "bsdf": bsdf, "to_world": _translate(np.array([x, height, z]))
                                      @ _rotate([1, 0, 0], -math.pi / 2) @ _scale(radius * 0.7)}
    for index in range(int(rng.integers(0, 3))):
        x = float(rng.uniform(-sx / 2 + 0.8, sx / 2 - 0.8))
        z = float(-sz / 2 + 0.6 + rng.uniform(0.0, sz * 0.3))
        mirror = {"type": "twosided", "bsdf": {"type": "conductor", "material": "Ag"}}
        elements[f"mirror_{index}"] = {"type": "rectangle", "bsdf": mirror,
                                       "to_world": _panel(np.array([x, 0.9, z]), float(rng.uniform(-0.7, 0.7)), 0.45, 0.6)}
    return elements


def sunroom_scene(name: str, seed: int) -> ProceduralScene:
    """Build ``builtin:sun<seed>`` (``name`` = ``"sun<seed>"``)."""
    rng = np.random.default_rng(np.random.SeedSequence([0x5A7, seed]))
    size = (float(rng.uniform(4.5, 7.5)), float(rng.uniform(2.6, 3.4)), float(rng.uniform(5.0, 8.0)))
    elements, inward = _room_with_window(rng, size)
    elements.update(_sun_and_sky(rng, inward, size))
    elements.update(_objects(rng, size))
    moving_elements, moving = _moving_objects(rng, size, curated=False)
    elements.update(moving_elements)
    sx, sy, sz = size
    from .camera import look_at

    eye = np.array([float(rng.uniform(-sx / 4, sx / 4)), sy * float(rng.uniform(0.35, 0.6)), sz / 2 - 0.6])
    target = np.array([float(rng.uniform(-sx / 4, sx / 4)), sy * float(rng.uniform(0.2, 0.45)), -sz / 4])
    return ProceduralScene(name=f"builtin:{name}", seed=seed, room_size=size,
                           camera_to_world=look_at(eye, target, np.array([0.0, 1.0, 0.0])),
                           fov_y_deg=float(rng.uniform(45.0, 65.0)), elements=elements, moving=moving)
