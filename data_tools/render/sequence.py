"""Render one ssr-seq v1 sequence: :class:`RenderConfig` and :func:`render_sequence`.

Per frame ``t`` (see docs/rendering.md for the derivations):

* ``color``: 1 spp path tracing through a box-filtered sensor, seed derived from (seed, t);
* ``reference``: ``spp_ref`` spp, accumulated in chunks, its own seeds;
* G-buffers, ``shadow`` (full, unmasked): :mod:`.gbuffer`, one ray per pixel centre;
* ``reference_albedo``: ``albedo_strata**2`` stratified samples over each pixel's box;
* ``albedo``: the box-footprint mean (``reference_albedo`` itself, ``albedo_filter="box"``,
  the default) or the pixel-centre albedo (``"centre"``; docs/rendering.md, "Albedo filter");
* ``motion``: :mod:`.motion` (camera and object motion), 0 at cut frames.

The sequence is resumable: ``meta.json`` is written first, and frames whose file already
exists and reads back with every layer at the right size are skipped. Frame files are
written atomically (temporary file, then ``os.replace``), so an interrupted render never
leaves a half-written frame under the final name. ``shard = (i, N)`` renders only the
frames ``t`` with ``t % N == i``; every shard writes the same ``meta.json``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..format import FormatError, frame_filename, make_meta, read_exr_layers, write_frame, write_meta
from .camera import PinholeCamera
from .camera_paths import PRESETS, plan_camera_path
from .gbuffer import GBufferTracer, _mix_seed
from .motion import motion_vectors
from .radiance import RadianceRenderer
from .scene_source import LoadedScene, load_scene

__all__ = ["ALBEDO_FILTERS", "DEFAULT_ALBEDO_FILTER", "RenderConfig", "render_sequence", "box_albedo_sequence", "FRAME_LAYERS", "RENDERER_NAME"]

ALBEDO_FILTERS = ("centre", "box")
"""What the ``albedo`` G-buffer holds: the pixel-centre value or the pixel's box-footprint mean."""
DEFAULT_ALBEDO_FILTER = "box"
"""The default of ``RenderConfig``, ``ssr render --albedo-filter`` and dataset configs."""

RENDERER_NAME = "ssr.data_tools.render"
FRAME_LAYERS = (
    "color", "albedo", "normal", "depth", "motion", "roughness", "metallic", "shadow", "transparent",
    "reference", "reference_albedo",
)
"""Layers every rendered frame holds (``sampling: full``: no ``mask``)."""


@dataclass
class RenderConfig:
    """Everything that determines a rendered sequence.

    Attributes:
        scene: Mitsuba 3 scene file (or its folder), or ``builtin[:room|:<seed>]``.
        out: output sequence folder.
        width, height: image size in pixels.
        frames: number of frames.
        spp_ref: samples per pixel of ``reference``.
        path: camera path preset (:data:`camera_paths.PRESETS`).
        speed: camera speed in pixels per frame.
        seed: seeds the camera path and every sampler.
        max_depth: path length limit of the path tracer.
        shadow_rays: emitter samples per pixel behind ``shadow``.
        albedo_strata: ``reference_albedo`` uses ``albedo_strata**2`` samples per pixel (>= 8).
        albedo_samples: BSDF samples of the directional albedo (conductors, dielectrics).
        albedo_filter: what the ``albedo`` G-buffer holds (:data:`ALBEDO_FILTERS`):
            ``"box"`` (the default: the mean over the pixel's box, the same samples as
            ``reference_albedo``; what a rasteriser's mip-mapped texture fetch approximates,
            and consistent with the jittered 1-spp ``color`` sample, so demodulation does
            not turn texture edges into fireflies) or ``"centre"`` (docs/format.md as written: one
            ray through the pixel centre; what every dataset before docs/benchmarks-history.md section 12
            holds).
        shard: ``(i, N)``: render frames ``t % N == i``.
    """

    scene: str
    out: Path
    width: int = 128
    height: int = 128
    frames: int = 16
    spp_ref: int = 256
    path: str = "truck"
    speed: float = 1.5
    seed: int = 0
    max_depth: int = 6
    shadow_rays: int = 4
    albedo_strata: int = 8
    albedo_samples: int = 16
    albedo_filter: str = DEFAULT_ALBEDO_FILTER
    shard: tuple[int, int] = (0, 1)

    def check(self) -> None:
        """Raise ``ValueError`` with a clear message for any bad value."""
        problems = []
        if not (1 <= self.width <= 16384 and 1 <= self.height <= 16384):
            problems.append(f"width/height must be in [1, 16384], got {self.width}x{self.height}")
        if self.frames < 1:
            problems.append(f"frames must be >= 1, got {self.frames}")
        if self.spp_ref < 1:
            problems.append(f"spp_ref must be >= 1, got {self.spp_ref}")
        if self.path not in PRESETS:
            problems.append(f"path must be one of {', '.join(PRESETS)}, got {self.path!r}")
        if not (self.speed >= 0 and np.isfinite(self.speed)):
            problems.append(f"speed must be a finite number >= 0, got {self.speed}")
        if self.seed < 0:
            problems.append(f"seed must be >= 0, got {self.seed}")
        if self.max_depth < 1:
            problems.append(f"max_depth must be >= 1, got {self.max_depth}")
        if self.shadow_rays < 1:
            problems.append(f"shadow_rays must be >= 1, got {self.shadow_rays}")
        if self.albedo_strata < 8:
            problems.append(f"albedo_strata must be >= 8 (>= 64 samples per pixel), got {self.albedo_strata}")
        if self.albedo_samples < 1:
            problems.append(f"albedo_samples must be >= 1, got {self.albedo_samples}")
        if self.albedo_filter not in ALBEDO_FILTERS:
            problems.append(f"albedo_filter must be one of {', '.join(ALBEDO_FILTERS)}, got {self.albedo_filter!r}")
        index, count = self.shard
        if count < 1 or not 0 <= index < count:
            problems.append(f"shard must be (i, N) with 0 <= i < N, got {self.shard}")
        if problems:
            raise ValueError("invalid render config: " + "; ".join(problems))

    def identity(self) -> dict[str, Any]:
        """The settings that define the sequence's content (recorded in meta.json)."""
        data = asdict(self)
        for key in ("out", "shard"):
            data.pop(key)
        if data["albedo_filter"] == "centre":  # as before the option existed: older sequences still resume
            data.pop("albedo_filter")
        return data


def _frame_is_complete(path: Path, width: int, height: int) -> bool:
    if not path.is_file():
        return False
    try:
        layers, _ = read_exr_layers(path, FRAME_LAYERS, expected_size=(height, width))
    except (FormatError, OSError):
        return False
    return all(name in layers for name in FRAME_LAYERS)


def _build_meta(config: RenderConfig, loaded: LoadedScene, camera: PinholeCamera, poses: list[np.ndarray],
                cuts: list[int]) -> dict[str, Any]:
    import mitsuba as mi

    return make_meta(
        width=config.width, height=config.height, frame_count=config.frames, sampling="full", spp=1,
        reference_spp=config.spp_ref, shadow_rays=config.shadow_rays, cuts=cuts, scene=loaded.description,
        renderer=f"{RENDERER_NAME} (Mitsuba {mi.__version__}, path tracer max_depth={config.max_depth}, box filter)",
        camera={"fov_y_deg": float(camera.fov_y_deg), "to_world": [np.asarray(p, np.float64).tolist() for p in poses]},
        render_config=config.identity(),
    )


def _check_existing_meta(out: Path, meta: dict[str, Any]) -> None:
    meta_path = out / "meta.json"
    if not meta_path.is_file():
        return
    try:
        existing = json.loads(meta_path.read_text())
    except (OSError, json.JSONDecodeError):
        return  # unreadable: overwritten below
    # everything but the free-text renderer must match, camera path included (a planner
    # change between runs must not mix two paths in one sequence)
    ours = json.loads(json.dumps({k: v for k, v in meta.items() if k != "renderer"}))
    theirs = {k: v for k, v in existing.items() if k != "renderer"}
    if theirs != ours:
        differing = sorted(k for k in set(ours) | set(theirs) if ours.get(k) != theirs.get(k))
        raise ValueError(
            f"{out} already holds a different sequence (meta.json differs in {', '.join(differing)}); "
            "choose a new --out folder or delete the old one"
        )


def _already_finished(config: RenderConfig, out: Path) -> bool:
    """True when ``out`` holds this config's sequence with every frame of this shard done
    (then nothing is loaded or planned: resuming a finished dataset is quick)."""
    try:
        existing = json.loads((out / "meta.json").read_text())
    except (OSError, json.JSONDecodeError):
        return False
    if existing.get("render_config") != json.loads(json.dumps(config.identity())):
        return False
    index, count = config.shard
    return all(_frame_is_complete(out / frame_filename(t), config.width, config.height)
               for t in range(config.frames) if t % count == index)


def render_sequence(config: RenderConfig, progress: bool = True) -> Path:
    """Render (or resume) the sequence described by ``config``; returns the sequence folder."""
    config.check()
    out = Path(config.out)
    if _already_finished(config, out):
        return out
    loaded = load_scene(config.scene, width=config.width, height=config.height, max_depth=config.max_depth)
    camera = PinholeCamera(config.width, config.height, loaded.fov_y_deg)
    loaded.set_frame(0)
    path = plan_camera_path(
        config.path, start=loaded.camera_to_world, frames=config.frames, speed=config.speed, seed=config.seed,
        camera=camera, probe=loaded.probe, bounds=loaded.bounds(), near_clip=loaded.near_clip,
    )
    meta = _build_meta(config, loaded, camera, path.to_world, path.cuts)
    _check_existing_meta(out, meta)
    out.mkdir(parents=True, exist_ok=True)
    write_meta(out, meta)

    index, count = config.shard
    todo = [t for t in range(config.frames)
            if t % count == index and not _frame_is_complete(out / frame_filename(t), config.width, config.height)]
    if not todo:
        return out
    tracer = GBufferTracer(loaded.scene, loaded.near_clip)
    radiance = RadianceRenderer(loaded.scene, camera, max_depth=config.max_depth, near_clip=loaded.near_clip,
                                far_clip=loaded.far_clip)
    cuts = set(path.cuts)
    iterator: Any = todo
    if progress:
        from tqdm import tqdm

        iterator = tqdm(todo, desc=f"render {out.name}", unit="frame")
    for frame in iterator:
        layers = render_frame(config, loaded, camera, tracer, radiance, path.to_world, frame, frame in cuts)
        write_frame(out / frame_filename(frame), layers)
    return out


def render_frame(config: RenderConfig, loaded: LoadedScene, camera: PinholeCamera, tracer: GBufferTracer,
                 radiance: RadianceRenderer, poses: list[np.ndarray], frame: int, is_cut: bool) -> dict[str, np.ndarray]:
    """All FRAME_LAYERS of one frame (float32 [H, W, C])."""
    pose = poses[frame]
    loaded.set_frame(frame)
    gbuffer = tracer.trace(camera, pose, shadow_rays=config.shadow_rays, seed=_mix_seed(config.seed, frame, 11),
                           dir_samples=config.albedo_samples)
    color = radiance.render(pose, 1, _mix_seed(config.seed, frame, 12) & 0xFFFFFFFF)
    reference = radiance.render(pose, config.spp_ref, _mix_seed(config.seed, frame, 13) & 0xFFFFFFFF)
    reference_albedo = tracer.reference_albedo(camera, pose, seed=_mix_seed(config.seed, frame, 14),
                                               strata=config.albedo_strata)
    if is_cut or frame == 0:
        motion = np.zeros((config.height, config.width, 2), np.float32)
    else:
        motion = motion_vectors(
            camera, poses[frame - 1], gbuffer.position, gbuffer.direction, gbuffer.hit, gbuffer.shape_id,
            loaded.object_transforms(frame), loaded.object_transforms(frame - 1),
        )
    layers = gbuffer.layers()
    layers.update(color=color, reference=reference, reference_albedo=reference_albedo, motion=motion)
    if config.albedo_filter == "box":
        layers["albedo"] = reference_albedo
    return {name: layers[name] for name in FRAME_LAYERS}


def box_albedo_sequence(source: str | Path, out: str | Path) -> Path:
    """Copy a rendered sequence with its ``albedo`` replaced by ``reference_albedo``.

    The result is what :func:`render_sequence` writes with ``albedo_filter="box"`` for the same
    config (the same file contents; ``meta.json`` records the filter), without re-rendering.
    Frames already converted in ``out`` are kept (resumable); writes are atomic.

    Raises:
        FormatError: a frame lacks ``reference_albedo`` (names the file and layer).
    """
    source, out = Path(source), Path(out)
    meta = json.loads((source / "meta.json").read_text())
    if isinstance(meta.get("render_config"), dict):
        meta["render_config"]["albedo_filter"] = "box"
    out.mkdir(parents=True, exist_ok=True)
    write_meta(out, meta)
    for frame in range(int(meta["frame_count"])):
        src, dst = source / frame_filename(frame), out / frame_filename(frame)
        if not src.is_file() or dst.is_file():
            continue
        layers, _ = read_exr_layers(src)
        if "reference_albedo" not in layers:
            raise FormatError(src, "reference_albedo", "missing: the box albedo is copied from it")
        layers["albedo"] = layers["reference_albedo"]
        write_frame(dst, layers)
    return out
