"""Camera path presets: per-frame camera-to-world matrices and cut frames.

Every path starts from the scene's own camera (for ``seed != 0`` turned by a seeded yaw of
up to +-20 degrees and pitch of up to +-5 degrees when that pose is valid) and moves at
about ``speed`` pixels per frame on screen for content at the *focus distance* ``d`` (the
hit distance of the start pose's centre ray):

=========  ==================================================================================
preset     motion per frame
=========  ==================================================================================
static     none
dolly      along the view axis by ``speed * d / (W / 2)`` (image points at the edge, at
           depth d, move ~speed px)
truck      sideways by ``speed * 2 d tan(fov_x / 2) / W``
pan        yaw about the camera's up axis by ``speed * 2 tan(fov_x / 2) / W`` radians
orbit      the position turns about the up axis through the focus point, the view follows it
           (same angular rate as pan)
handheld   smooth pseudo-random shake (sums of sinusoids on yaw, pitch, roll and, smaller,
           position) with about ``speed`` px/frame; a shake that would leave the valid
           region is damped (1/2, 1/4) before the camera holds
cut        truck for the first half, then a cut (listed in ``cuts``) to the start pose turned
           by 180 (or 90 / -90) degrees, followed by a pan
=========  ==================================================================================

Directions (left/right, in/out) come from the seed. A pose is valid when the camera stays
inside the scene's bounding box (grown to contain the start position), the move from the previous position is not blocked by
geometry, and the centre ray hits something farther than ``min_distance``. An invalid step
reverses the direction (ping-pong); if the reverse step is invalid too the camera holds.
Everything is deterministic for a given (scene, preset, speed, seed, frame count, size).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .camera import PinholeCamera

__all__ = ["PRESETS", "CameraPath", "plan_camera_path"]

PRESETS = ("static", "dolly", "truck", "pan", "orbit", "handheld", "cut")

Probe = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""(origins [N, 3], unit directions [N, 3]) -> hit distances [N] (inf on a miss)."""


@dataclass(frozen=True)
class CameraPath:
    """Per-frame 4x4 camera-to-world matrices (float64) and the cut frames (0 included)."""

    to_world: list[np.ndarray]
    cuts: list[int]


def _rotation(axis: np.ndarray, angle: float) -> np.ndarray:
    axis = np.asarray(axis, np.float64)
    axis = axis / max(np.linalg.norm(axis), 1e-12)
    x, y, z = axis
    c, s, one_c = math.cos(angle), math.sin(angle), 1.0 - math.cos(angle)
    return np.array([
        [c + x * x * one_c, x * y * one_c - z * s, x * z * one_c + y * s],
        [y * x * one_c + z * s, c + y * y * one_c, y * z * one_c - x * s],
        [z * x * one_c - y * s, z * y * one_c + x * s, c + z * z * one_c],
    ])


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / max(float(np.linalg.norm(vector)), 1e-12)


def _turned(pose: np.ndarray, axis: np.ndarray, angle: float, pivot: np.ndarray | None = None) -> np.ndarray:
    """``pose`` rotated by ``angle`` about world ``axis`` through ``pivot`` (default: its origin)."""
    rotation = _rotation(axis, angle)
    out = pose.copy()
    out[:3, :3] = rotation @ pose[:3, :3]
    if pivot is not None:
        out[:3, 3] = pivot + rotation @ (pose[:3, 3] - pivot)
    return out


def _moved(pose: np.ndarray, offset: np.ndarray) -> np.ndarray:
    out = pose.copy()
    out[:3, 3] = pose[:3, 3] + offset
    return out


class _Validator:
    def __init__(self, probe: Probe, bounds: tuple[np.ndarray, np.ndarray], min_distance: float) -> None:
        self.probe = probe
        low, high = (np.asarray(b, np.float64) for b in bounds)
        margin = 0.01 * (high - low)
        self.low, self.high = low + margin, high - margin
        self.min_distance = min_distance
        self.clearance = 0.01 * min_distance  # keep off the surfaces the camera moves towards

    def centre_distance(self, pose: np.ndarray) -> float:
        return float(self.probe(pose[None, :3, 3], _unit(pose[:3, 2])[None])[0])

    def valid(self, pose: np.ndarray, previous: np.ndarray | None) -> bool:
        position = pose[:3, 3]
        if np.any(position < self.low) or np.any(position > self.high):
            return False
        if previous is not None:
            step = position - previous[:3, 3]
            length = float(np.linalg.norm(step))
            if length > 1e-9:
                blocked = float(self.probe(previous[None, :3, 3], (step / length)[None])[0])
                if blocked < length + self.clearance:
                    return False
        distance = self.centre_distance(pose)
        return math.isfinite(distance) and distance > self.min_distance


def _start_pose(start: np.ndarray, rng: np.random.Generator, seed: int, validator: _Validator) -> np.ndarray:
    if seed == 0:
        return start.copy()
    up = _unit(start[:3, 1])
    for _ in range(8):
        yaw = math.radians(rng.uniform(-20.0, 20.0))
        pitch = math.radians(rng.uniform(-5.0, 5.0))
        pose = _turned(start, up, yaw)
        pose = _turned(pose, _unit(pose[:3, 0]), pitch)
        if validator.valid(pose, None):
            return pose
    return start.copy()


def plan_camera_path(
    preset: str,
    *,
    start: np.ndarray,
    frames: int,
    speed: float,
    seed: int,
    camera: PinholeCamera,
    probe: Probe,
    bounds: tuple[np.ndarray, np.ndarray],
    near_clip: float = 0.0,
) -> CameraPath:
    """Plan ``frames`` camera poses for ``preset`` (see the module docstring)."""
    if preset not in PRESETS:
        raise ValueError(f"unknown camera path preset {preset!r}; choose one of {', '.join(PRESETS)}")
    if frames < 1:
        raise ValueError(f"frames must be >= 1, got {frames}")
    if speed < 0 or not math.isfinite(speed):
        raise ValueError(f"speed must be a finite number >= 0 px/frame, got {speed}")
    start = np.asarray(start, np.float64)
    low, high = (np.asarray(b, np.float64) for b in bounds)
    # a camera that starts outside the shapes' box (an object seen from outside) may roam
    # the box grown to include its start point
    low, high = np.minimum(low, start[:3, 3]), np.maximum(high, start[:3, 3])
    span = np.maximum(high - low, 1e-3)
    bounds = (low - 0.05 * span, high + 0.05 * span)
    rng = np.random.default_rng(np.random.SeedSequence([0xCA3, int(seed), PRESETS.index(preset)]))
    diagonal = float(np.linalg.norm(high - low))
    probe_validator = _Validator(probe, bounds, 0.0)
    focus = probe_validator.centre_distance(start)
    if not math.isfinite(focus) or focus <= 0:
        focus = 0.25 * diagonal if math.isfinite(diagonal) and diagonal > 0 else 1.0
    min_distance = max(1.5 * near_clip, 0.12 * focus)
    validator = _Validator(probe, bounds, min_distance)
    pose = _start_pose(start, rng, seed, validator)
    focus_now = validator.centre_distance(pose)
    focus = focus_now if math.isfinite(focus_now) and focus_now > 0 else focus

    pixel_angle = 2.0 * camera.tan_half_x / camera.width  # radians per pixel near the centre
    sign = 1.0 if rng.random() < 0.5 else -1.0
    up = _unit(pose[:3, 1])
    poses = [pose]
    cuts = [0]
    cut_frame = frames // 2 if preset == "cut" and frames >= 2 else None
    # handheld: a few sinusoids per degree of freedom
    omegas = rng.uniform(0.25, 0.7, size=(6, 3))
    phases = rng.uniform(0, 2 * math.pi, size=(6, 3))
    weights = rng.uniform(0.5, 1.0, size=(6, 3))
    base = pose.copy()
    pivot = pose[:3, 3] + focus * _unit(pose[:3, 2])

    for frame in range(1, frames):
        previous = poses[-1]
        if cut_frame is not None and frame == cut_frame:
            jumped = None
            for angle in (math.pi, math.pi / 2, -math.pi / 2, math.pi / 4):
                candidate = _turned(base, up, angle + math.radians(rng.uniform(-20, 20)))
                if validator.valid(candidate, None):
                    jumped = candidate
                    break
            if jumped is None:  # nothing else to look at: jump back to the start pose
                jumped = base.copy()
            poses.append(jumped)
            cuts.append(frame)
            continue
        mode = preset
        if preset == "cut":
            mode = "truck" if cut_frame is None or frame < cut_frame else "pan"
        if mode == "handheld":
            t = float(frame)
            wave = (weights * np.sin(omegas * t + phases)).sum(axis=1) / weights.sum(axis=1)
            mean_omega = float(omegas.mean())
            angle_amp = speed * pixel_angle / max(mean_omega, 1e-6) * 0.7
            move_amp = 0.25 * angle_amp * focus  # mostly rotation: a hand shakes more than it walks
            chosen = None
            for damping in (1.0, 0.5, 0.25):
                candidate = _turned(base, up, angle_amp * wave[0])
                candidate = _turned(candidate, _unit(candidate[:3, 0]), angle_amp * wave[1])
                candidate = _turned(candidate, _unit(candidate[:3, 2]), 0.3 * angle_amp * wave[2])
                offset = wave[3] * _unit(base[:3, 0]) + wave[4] * up + wave[5] * _unit(base[:3, 2])
                candidate = _moved(candidate, damping * move_amp * offset)
                if validator.valid(candidate, previous):
                    chosen = candidate
                    break
            poses.append(chosen if chosen is not None else previous.copy())
            continue
        chosen = None
        for attempt in range(2):
            if mode == "static":
                candidate = previous.copy()
            elif mode == "dolly":
                candidate = _moved(previous, sign * speed * focus / (camera.width / 2.0) * _unit(previous[:3, 2]))
            elif mode == "truck":
                candidate = _moved(previous, sign * speed * focus * pixel_angle * _unit(previous[:3, 0]))
            elif mode == "pan":
                candidate = _turned(previous, up, sign * speed * pixel_angle)
            else:  # orbit
                candidate = _turned(previous, up, sign * speed * pixel_angle, pivot=pivot)
            if mode == "static" or validator.valid(candidate, previous):
                chosen = candidate
                break
            sign = -sign
        poses.append(chosen if chosen is not None else previous.copy())
    return CameraPath(to_world=poses, cuts=cuts)
