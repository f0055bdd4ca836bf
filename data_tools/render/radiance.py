"""Path-traced radiance: the 1-spp ``color`` and the converged ``reference``.

Both use Mitsuba's ``path`` integrator (``max_depth`` from the config) through a
perspective sensor built for the frame's camera pose with a **box** pixel filter, so every
sample lands in the pixel it was drawn in. The reference is accumulated in chunks of at
most ``max_samples_per_pass`` samples (bounded memory), each chunk with its own seed.
Arrays are ``float32 [H, W, 3]`` linear radiance, NaN/Inf/negatives replaced by 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .camera import PinholeCamera
from .mitsuba_env import load_mitsuba

__all__ = ["RadianceRenderer"]


class RadianceRenderer:
    """Renders radiance images of one scene from arbitrary camera poses."""

    def __init__(self, scene: Any, camera: PinholeCamera, *, max_depth: int, near_clip: float, far_clip: float,
                 max_samples_per_pass: int = 1 << 20) -> None:
        self.mi = load_mitsuba()
        self.scene = scene
        self.camera = camera
        self.near_clip = near_clip
        self.far_clip = far_clip
        self.max_samples_per_pass = max_samples_per_pass
        self.integrator = self.mi.load_dict({"type": "path", "max_depth": int(max_depth)}, parallel=False)

    def sensor(self, to_world: np.ndarray, spp: int) -> Any:
        """A perspective sensor at ``to_world`` with a box-filtered film of the camera's size."""
        mi = self.mi
        return mi.load_dict({
            "type": "perspective",
            "fov": float(self.camera.fov_y_deg),
            "fov_axis": "y",
            "near_clip": float(self.near_clip),
            "far_clip": float(self.far_clip),
            "to_world": mi.ScalarTransform4f(np.asarray(to_world, np.float64).tolist()),
            "sampler": {"type": "independent", "sample_count": int(spp)},
            "film": {"type": "hdrfilm", "width": self.camera.width, "height": self.camera.height,
                     "rfilter": {"type": "box"}, "pixel_format": "rgb", "component_format": "float32"},
        }, parallel=False)

    def render(self, to_world: np.ndarray, spp: int, seed: int) -> np.ndarray:
        """Mean of ``spp`` samples per pixel at pose ``to_world`` (chunked; seeds ``seed + k``)."""
        if spp < 1:
            raise ValueError(f"spp must be >= 1, got {spp}")
        pixels = self.camera.width * self.camera.height
        chunk = max(1, min(spp, self.max_samples_per_pass // max(pixels, 1)))
        total = np.zeros((self.camera.height, self.camera.width, 3), np.float64)
        done = 0
        sensor = self.sensor(to_world, chunk)
        index = 0
        while done < spp:
            count = min(chunk, spp - done)
            if count != chunk:
                sensor = self.sensor(to_world, count)
            image = self.mi.render(self.scene, sensor=sensor, integrator=self.integrator, spp=count,
                                   seed=(int(seed) + index) & 0xFFFFFFFF)
            array = np.array(image, dtype=np.float64)[:, :, :3]
            total += array * count
            done += count
            index += 1
        result = total / spp
        result[~np.isfinite(result)] = 0.0
        return np.ascontiguousarray(np.maximum(result, 0.0).astype(np.float32))
