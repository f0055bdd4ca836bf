"""Screen-space motion vectors (docs/format.md convention), from G-buffer hits, in NumPy.

``motion[y, x] = p_prev - p`` in pixels (x right, y down, pixel centres at ``i + 0.5``):
the surface seen at pixel centre ``p`` in frame t was at ``p + motion`` in frame t-1.

* static surfaces: the hit point projected with frame t-1's camera;
* moving objects: the hit point is carried back with the object's rigid motion,
  ``M(t-1) @ inv(M(t)) @ x``, then projected with frame t-1's camera;
* misses: the direction at infinity projected with frame t-1's camera's rotation;
* points that end up behind frame t-1's camera get motion 0 (they were not visible).

At cut frames the caller writes 0 (readers ignore motion there).
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from .camera import PinholeCamera

__all__ = ["motion_vectors"]


def motion_vectors(
    camera: PinholeCamera,
    to_world_prev: np.ndarray,
    position: np.ndarray,
    direction: np.ndarray,
    hit: np.ndarray,
    shape_id: np.ndarray,
    transforms_now: Mapping[int, np.ndarray] | None = None,
    transforms_prev: Mapping[int, np.ndarray] | None = None,
) -> np.ndarray:
    """Motion of every pixel centre of frame t back to frame t-1.

    Args:
        camera: intrinsics (same in both frames).
        to_world_prev: frame t-1's camera-to-world 4x4.
        position: ``[H, W, 3]`` world hit points of frame t.
        direction: ``[H, W, 3]`` world ray directions of frame t (used for misses).
        hit: ``[H, W]`` bool, True where the ray hit a surface.
        shape_id: ``[H, W]`` shape registry id of the hit.
        transforms_now / transforms_prev: shape id -> 4x4 object-to-world of the moving
            objects at frame t and t-1 (absent ids are static).

    Returns:
        ``float32 [H, W, 2]`` motion in pixels.
    """
    height, width = hit.shape
    previous_points = np.asarray(position, np.float64).copy()
    for shape, now in (transforms_now or {}).items():
        prev = (transforms_prev or {}).get(shape)
        if prev is None:
            continue
        selected = hit & (shape_id == shape)
        if not np.any(selected):
            continue
        relative = np.asarray(prev, np.float64) @ np.linalg.inv(np.asarray(now, np.float64))
        points = previous_points[selected]
        previous_points[selected] = points @ relative[:3, :3].T + relative[:3, 3]
    projected_hits = camera.project(to_world_prev, previous_points)
    projected_misses = camera.project(to_world_prev, direction, is_direction=True)
    projected = np.where(hit[..., None], projected_hits, projected_misses)
    motion = projected - camera.pixel_centres()
    motion[~np.all(np.isfinite(motion), axis=-1)] = 0.0
    return np.ascontiguousarray(motion.astype(np.float32).reshape(height, width, 2))
