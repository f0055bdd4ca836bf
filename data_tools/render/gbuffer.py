"""Rasterised G-buffers and shadow, traced with Mitsuba from one ray per pixel centre.

Every array returned is NumPy ``float32`` in image layout ``[H, W, C]`` (row-major, y down),
matching docs/format.md / docs/internals.md:

* ``albedo [H,W,3]``: textured diffuse reflectance where the BSDF has a diffuse lobe;
  otherwise (conductors, dielectrics) the directional albedo, the Monte Carlo mean of
  ``bsdf.sample`` weights (importance transport, so clear glass is about 1); 1 for misses
  and emitters; clamped to [0, 1].
* ``normal [H,W,3]``: world shading normal flipped towards the camera; 0 on misses.
* ``depth [H,W,1]``: distance along the camera's forward axis; 0 on misses.
* ``roughness``, ``metallic [H,W,1]``, ``transparent [H,W,3]``: from :mod:`.materials`;
  0 on misses.
* ``shadow [H,W,1]``: fraction of ``shadow_rays`` emitter samples (Mitsuba's light
  sampling, ``scene.sample_emitter_direction`` with a visibility test) that are lit and on
  the camera side of the surface (either side for transmissive BSDFs); 0 on misses.

Surfaces whose null transmission exceeds 0.5 (opacity < 0.5, Mitsuba's ``mask`` BSDF) are
skipped: the ray continues behind them (alpha test).

Besides the channels, :class:`GBuffer` keeps ``position [H,W,3]`` (world hit point),
``hit [H,W]`` (bool), ``shape_id [H,W]`` (shape registry id) and ``direction [H,W,3]``
(ray direction) for the motion vectors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .camera import PinholeCamera, forward_axis
from .materials import MaterialTable
from .mitsuba_env import load_mitsuba

__all__ = ["GBuffer", "GBufferTracer"]

ALPHA_TEST_LAYERS = 8
"""Most cut-out surfaces a G-buffer ray passes through before it stops."""


@dataclass
class GBuffer:
    albedo: np.ndarray
    normal: np.ndarray
    depth: np.ndarray
    roughness: np.ndarray
    metallic: np.ndarray
    transparent: np.ndarray
    shadow: np.ndarray
    position: np.ndarray
    direction: np.ndarray
    hit: np.ndarray
    shape_id: np.ndarray

    def layers(self) -> dict[str, np.ndarray]:
        """The docs/format.md layers held here (float32 [H, W, C])."""
        return {
            "albedo": self.albedo, "normal": self.normal, "depth": self.depth, "roughness": self.roughness,
            "metallic": self.metallic, "transparent": self.transparent, "shadow": self.shadow,
        }


def _to_numpy(value: Any, channels: int) -> np.ndarray:
    array = np.array(value, dtype=np.float64)
    if channels == 1:
        return array.reshape(-1)
    # Mitsuba/Dr.Jit arrays of vectors convert to [C, N]
    return array.reshape(channels, -1).T if array.shape[0] == channels and array.ndim == 2 else array.reshape(-1, channels)


def _mix_seed(*values: int) -> int:
    """A 64-bit hash of integers (splitmix64 chain), for decorrelated sampler seeds."""
    state = 0x9E3779B97F4A7C15
    for value in values:
        state = (state ^ (int(value) & 0xFFFFFFFFFFFFFFFF)) & 0xFFFFFFFFFFFFFFFF
        state = (state + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        state = z ^ (z >> 31)
    return state


class GBufferTracer:
    """Traces G-buffers, shadow and reference albedo of one loaded scene."""

    def __init__(self, scene: Any, near_clip: float = 0.0) -> None:
        self.mi = load_mitsuba()
        self.scene = scene
        self.near_clip = float(near_clip)
        self.materials = MaterialTable(self.mi, scene)
        self.has_cutouts = any(
            shape.bsdf() is not None and bool(int(shape.bsdf().flags()) & int(self.mi.BSDFFlags.Null))
            for shape in scene.shapes()
        )

    # ------------------------------------------------------------------ helpers
    def _rng(self, count: int, *seed: int) -> Any:
        mi = self.mi
        import drjit as dr

        return mi.PCG32(size=count, initstate=mi.UInt64(_mix_seed(*seed)), initseq=dr.arange(mi.UInt64, count))

    def _ray_arrays(self, origin: np.ndarray, directions: np.ndarray, forward: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Ray starts ``[N, 3]`` (on the near plane, like Mitsuba's perspective camera) and
        directions ``[N, 3]``, float32."""
        directions = np.asarray(directions, np.float64).reshape(-1, 3)
        start = origin[None, :] + directions * (self.near_clip / np.maximum(directions @ forward, 1e-6))[:, None]
        return start.astype(np.float32), directions.astype(np.float32)

    def _make_ray(self, start: np.ndarray, directions: np.ndarray) -> Any:
        mi = self.mi
        return mi.Ray3f(mi.Point3f(*[mi.Float(np.ascontiguousarray(start[:, i])) for i in range(3)]),
                        mi.Vector3f(*[mi.Float(np.ascontiguousarray(directions[:, i])) for i in range(3)]))

    def _intersect(self, start: np.ndarray, directions: np.ndarray) -> tuple[Any, Any]:
        """Closest surface with opacity >= 0.5 along each ray: (si, ray actually traced).

        Rays that hit a cut-out (null transmission > 0.5) are continued behind it; only those
        rays are re-traced (compacted), then all rays are traced once more from their final
        start points.
        """
        if not self.has_cutouts:
            ray = self._make_ray(start, directions)
            return self.scene.ray_intersect(ray), ray
        start = start.copy()
        active = np.arange(len(start))
        for _ in range(ALPHA_TEST_LAYERS):
            ray = self._make_ray(start[active], directions[active])
            si = self.scene.ray_intersect(ray)
            null_t = si.bsdf(ray).eval_null_transmission(si, si.is_valid())
            skip_dr = si.is_valid() & ((null_t[0] + null_t[1] + null_t[2]) > 1.5)
            skip = np.array(skip_dr, bool).reshape(-1)
            if not skip.any():
                break
            next_origin = _to_numpy(si.spawn_ray(ray.d).o, 3).astype(np.float32)
            active = active[skip]
            start[active] = next_origin[skip]
        ray = self._make_ray(start, directions)
        return self.scene.ray_intersect(ray), ray

    def _albedo(self, si: Any, ray: Any, bsdf_ids: np.ndarray, rng: Any, dir_samples: int) -> np.ndarray:
        """``[N, 3]`` albedo at the hits (1 for misses and emitters), see module docstring."""
        mi = self.mi
        import drjit as dr

        valid = si.is_valid()
        bsdf = si.bsdf(ray)
        diffuse = bsdf.eval_diffuse_reflectance(si, valid)
        ctx = mi.BSDFContext(mi.TransportMode.Importance)
        directional = mi.Color3f(0.0)
        for index in range(dir_samples):
            sample1 = rng.next_float32()
            sample2 = mi.Point2f(rng.next_float32(), rng.next_float32())
            bs, weight = bsdf.sample(ctx, si, sample1, sample2, valid)
            good = valid & (bs.pdf > 0) & dr.isfinite(weight[0] + weight[1] + weight[2])
            directional += dr.select(good, weight, 0.0)
        directional /= max(dir_samples, 1)
        emitter_ids = dr.reinterpret_array(mi.UInt32, si.emitter(self.scene))
        diffuse_np = np.clip(_to_numpy(diffuse, 3), 0.0, 1.0)
        directional_np = np.clip(_to_numpy(directional, 3), 0.0, 1.0)
        valid_np = np.array(valid, bool).reshape(-1)
        emitter_np = np.array(emitter_ids, np.int64).reshape(-1) != 0
        _, _, _, has_diffuse = self.materials.lookup(bsdf_ids)
        albedo = np.where(has_diffuse[:, None], diffuse_np, directional_np)
        albedo[~valid_np | emitter_np] = 1.0
        return albedo

    # ------------------------------------------------------------------ public
    def trace(self, camera: PinholeCamera, to_world: np.ndarray, *, shadow_rays: int, seed: int,
              dir_samples: int = 16) -> GBuffer:
        """G-buffer and shadow of one frame (see the module docstring)."""
        mi = self.mi
        import drjit as dr

        height, width = camera.height, camera.width
        count = height * width
        origin = np.asarray(to_world, np.float64)[:3, 3]
        forward = forward_axis(to_world)
        directions = camera.pixel_directions(to_world, camera.pixel_centres()).reshape(-1, 3)
        si, ray = self._intersect(*self._ray_arrays(origin, directions, forward))
        rng = self._rng(count, seed, 1)
        valid = si.is_valid()
        bsdf_ids = np.array(dr.reinterpret_array(mi.UInt32, si.bsdf(ray)), np.int64).reshape(-1)
        shape_ids = np.array(dr.reinterpret_array(mi.UInt32, si.shape), np.int64).reshape(-1)
        albedo = self._albedo(si, ray, bsdf_ids, rng, dir_samples)
        roughness, metallic, transmittance, _ = self.materials.lookup(bsdf_ids)

        normal_dr = si.sh_frame.n
        flip = dr.dot(normal_dr, ray.d) > 0
        normal_dr = dr.select(flip, -normal_dr, normal_dr)

        transmissive = np.any(transmittance > 0, axis=1)
        transmissive_dr = mi.Bool(transmissive)
        lit_count = mi.Float(0.0)
        for _ in range(max(shadow_rays, 0)):
            sample = mi.Point2f(rng.next_float32(), rng.next_float32())
            ds, spec = self.scene.sample_emitter_direction(si, sample, True, valid)
            facing = dr.dot(ds.d, normal_dr) > 0
            lit = valid & ((spec[0] + spec[1] + spec[2]) > 0) & (facing | transmissive_dr)
            lit_count += dr.select(lit, 1.0, 0.0)

        valid_np = np.array(valid, bool).reshape(-1)
        position = _to_numpy(si.p, 3)
        normal = _to_numpy(normal_dr, 3)
        normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-12)
        depth = (position - origin[None, :]) @ forward
        shadow = np.array(lit_count, np.float64).reshape(-1) / max(shadow_rays, 1)

        position[~valid_np] = 0.0
        normal[~valid_np] = 0.0
        depth[~valid_np] = 0.0
        shadow[~valid_np] = 0.0
        roughness = np.where(valid_np, roughness, 0.0)
        metallic = np.where(valid_np, metallic, 0.0)
        transmittance = np.where(valid_np[:, None], transmittance, 0.0)
        shape_ids[~valid_np] = 0

        def image(values: np.ndarray, channels: int) -> np.ndarray:
            return np.ascontiguousarray(values.reshape(height, width, channels).astype(np.float32))

        return GBuffer(
            albedo=image(albedo, 3), normal=image(normal, 3), depth=image(depth, 1),
            roughness=image(roughness, 1), metallic=image(metallic, 1), transparent=image(transmittance, 3),
            shadow=image(shadow, 1), position=position.reshape(height, width, 3),
            direction=directions.reshape(height, width, 3), hit=valid_np.reshape(height, width),
            shape_id=shape_ids.reshape(height, width),
        )

    def reference_albedo(self, camera: PinholeCamera, to_world: np.ndarray, *, seed: int,
                         strata: int = 8, max_rays: int = 1 << 18) -> np.ndarray:
        """Box-footprint mean of albedo with ``strata**2`` jittered stratified samples per
        pixel (misses and emitters count as 1): ``float32 [H, W, 3]``."""
        height, width = camera.height, camera.width
        origin = np.asarray(to_world, np.float64)[:3, 3]
        forward = forward_axis(to_world)
        centres = camera.pixel_centres().reshape(-1, 2) - 0.5  # pixel corners
        total = np.zeros((height * width, 3), np.float64)
        samples = strata * strata
        jitter_rng = np.random.default_rng(_mix_seed(seed, 2))
        jitter = jitter_rng.random((samples, height * width, 2))
        per_pass = max(1, min(samples, max_rays // max(height * width, 1)))
        for first in range(0, samples, per_pass):
            indices = range(first, min(first + per_pass, samples))
            pixels = np.concatenate([
                centres + (np.array([k % strata, k // strata], np.float64) + jitter[k]) / strata for k in indices
            ])
            directions = camera.pixel_directions(to_world, pixels)
            si, ray = self._intersect(*self._ray_arrays(origin, directions, forward))
            import drjit as dr

            bsdf_ids = np.array(dr.reinterpret_array(self.mi.UInt32, si.bsdf(ray)), np.int64).reshape(-1)
            rng = self._rng(len(pixels), seed, 3, first)
            albedo = self._albedo(si, ray, bsdf_ids, rng, dir_samples=1)
            total += albedo.reshape(len(indices), height * width, 3).sum(axis=0)
        return np.ascontiguousarray((total / samples).reshape(height, width, 3).astype(np.float32))
