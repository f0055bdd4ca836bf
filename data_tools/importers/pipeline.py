"""Write one imported sequence: read each source frame, convert it, write ssr-seq, then
validate the result with the same reader every other command uses and check that the
motion vectors really point to the previous frame.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from ..exr import read_exr, read_exr_header
from ..format import (
    FormatError,
    Sequence,
    frame_filename,
    make_meta,
    validate_sequence,
    write_frame,
    write_meta,
)
from ..warp import warp_previous
from .camera import CameraTrack
from .channel_map import ChannelMap
from .convert import FrameContext, camera_motion, convert_frame, frame_paths_exist, read_source
from .detect import detect_motion_convention, traced_offset

__all__ = ["CAMERA_CHECK_MAX_PX", "MOTION_CHECK_MAX_RATIO", "ImportResult", "SequenceJob", "camera_check",
           "import_sequence", "motion_check", "motion_verdict"]

CAMERA_CHECK_MAX_PX = 0.1
"""Largest median disagreement (pixels) between rendered motion vectors and the motion the
camera implies, over a frame's surface pixels, that the camera check accepts. Exact data
agree to < 1e-6 px and the real Cycles probe render to ~0.01 px; on the synthetic test
scene a field of view of 42.5 deg instead of the rendered 32.2 gives 0.32 px at 48x32
(2.0 px at 384x192), Blender's ``angle_y`` (26.99 deg) for a 20.41 deg render 0.75 px at 96x48
(docs/import.md, the checks after the import)."""

CAMERA_CHECK_FRAMES = 4
"""Frames (spread over the sequence, cuts excluded) the camera check compares."""

MOTION_CHECK_MAX_RATIO = 0.95
"""The motion check's verdict is ``ok`` when warping frame t-1 by the imported motion leaves
at most this fraction of the G-buffer error of the best alternative (no warp, the motion
negated, x flipped or y flipped): the imported convention must clearly beat its mistakes."""

MOTION_CHECK_MIN_PX = 0.1
"""Mean motion (pixels) below which the motion check cannot judge the convention."""

MOTION_VARIANTS: dict[str, tuple[float, float]] = {
    "unwarped": (0.0, 0.0), "negated": (-1.0, -1.0), "x_flipped": (-1.0, 1.0), "y_flipped": (1.0, -1.0),
}
"""The motion check's alternatives to the imported motion: none, and its sign mistakes."""


@dataclass
class SequenceJob:
    """One sequence to import, as a layout found it.

    Attributes:
        name: output folder name.
        frames: per frame, file key -> path (every key the channel map uses).
        channel_map: where each layer comes from and how it converts.
        camera: the camera in ssr-seq's convention (parts may be unknown).
        cuts: frame indices (0-based) where history is invalid.
        layout: the layout's name (recorded in ``meta.json``).
        source: where the data came from (recorded in ``meta.json``).
        notes: what the layout decided that a user should know.
        warnings: what the layout could not do that a user must know (printed as WARNING).
        camera_expected: False where the layout never has a camera (OIDN's single images):
            the missing facing flips are then not warned about.
        derive_mask: the colour holds 1/4-spp samples without a mask channel: find the
            traced pixel of each tile per frame (``sampling: subpixel-2x2``), or import as
            ``full`` when every pixel holds a sample.
        detect_motion: measure the motion convention (units, y axis, direction) instead
            of trusting the channel map's.
    """

    name: str
    frames: list[dict[str, Path]]
    channel_map: ChannelMap
    camera: CameraTrack = field(default_factory=CameraTrack)
    cuts: set[int] = field(default_factory=set)
    layout: str = ""
    source: str = ""
    notes: list[str] = field(default_factory=list)
    derive_mask: bool = False
    detect_motion: bool = False
    warnings: list[str] = field(default_factory=list)
    camera_expected: bool = True


def motion_verdict(motion: dict[str, float]) -> str:
    """``ok``, ``SUSPICIOUS`` or ``not judged`` for a :func:`motion_check` result, with the
    threshold and the reason."""
    if motion.get("motion_px", 1.0) < MOTION_CHECK_MIN_PX:
        return f"not judged (the motion averages {motion['motion_px']:.3f} px < {MOTION_CHECK_MIN_PX} px: too small)"
    alternatives = {name: motion[name] for name in MOTION_VARIANTS if name in motion}
    best = min(alternatives, key=alternatives.get)
    ratio = motion["warped"] / max(alternatives[best], 1e-12)
    label = best.replace("_", " ") if best != "unwarped" else "no warp"
    if ratio <= MOTION_CHECK_MAX_RATIO:
        return f"ok (ratio {ratio:.2f} to the best alternative, {label}; ok up to {MOTION_CHECK_MAX_RATIO})"
    return (f"SUSPICIOUS (ratio {ratio:.2f} to {label} > {MOTION_CHECK_MAX_RATIO}: the imported motion does not "
            "align the frames clearly better; check its convention, or --detect-motion)")


@dataclass
class ImportResult:
    """What ``ssr import`` reports for one sequence."""

    path: Path
    frames: int
    width: int
    height: int
    cuts: list[int]
    notes: dict[str, int]
    layout_notes: list[str]
    motion: dict[str, float] | None
    warnings: dict[str, int] = field(default_factory=dict)
    layout_warnings: list[str] = field(default_factory=list)
    camera: dict[str, float] | None = None

    def all_warnings(self) -> list[str]:
        """Every warning of this import, one line each (also printed to stderr by the CLI)."""
        lines = list(self.layout_warnings)
        lines += [f"{message} ({count} px)" for message, count in sorted(self.warnings.items())]
        if self.motion is not None and motion_verdict(self.motion).startswith("SUSPICIOUS"):
            lines.append(f"motion check: {motion_verdict(self.motion)}")
        return lines

    def summary(self) -> str:
        lines = [f"{self.path}: {self.frames} frames, {self.width}x{self.height}, cuts {self.cuts}"]
        lines += [f"  note: {note}" for note in self.layout_notes]
        lines += [f"  fixed: {message} ({count} px)" for message, count in sorted(self.notes.items())]
        lines += [f"  WARNING: {message}" for message in self.layout_warnings]
        lines += [f"  WARNING: {message} ({count} px)" for message, count in sorted(self.warnings.items())]
        if self.camera is not None:
            c = self.camera
            lines.append(f"  camera check: motion vectors vs the camera's reprojection of static geometry: median "
                         f"{c['median_px']:.4f} px (worst of {int(c['frames'])} frame(s); ok below "
                         f"{CAMERA_CHECK_MAX_PX} px): ok")
        if self.motion is not None:
            m = self.motion
            others = ", ".join(f"{m[name]:.4f} {name.replace('_', ' ')}" for name in MOTION_VARIANTS if name in m)
            lines.append(
                f"  motion check: G-buffer error {m['warped']:.4f} after warping frame t-1 by the motion "
                f"({others}), over {int(m['pairs'])} frame pair(s): {motion_verdict(m)}")
        return "\n".join(lines)


def _frame_size(job: SequenceJob) -> tuple[int, int]:
    first = job.frames[0]
    key = "main" if "main" in first else sorted(first)[0]
    height, width, _ = read_exr_header(first[key])
    return height, width


def motion_check(seq_dir: Path, max_pairs: int = 8) -> dict[str, float] | None:
    """Mean absolute G-buffer difference (albedo + normal, surfaces seen in both frames)
    between frame t and frame t-1 warped by frame t's motion (``warped``), not warped
    (``unwarped``) and warped by the motion negated / with x or y flipped, over up to
    ``max_pairs`` non-cut frames; ``motion_px``: the mean motion length on surfaces.
    None when there is no such frame. :func:`motion_verdict` judges it."""
    sequence = Sequence(seq_dir, apply_pattern=False)
    pairs = [t for t in range(1, sequence.frame_count) if not sequence.is_cut(t)][:max_pairs]
    if not pairs:
        return None
    sums: Counter = Counter()
    count = 0
    layers = ("albedo", "normal", "depth", "motion")
    frames: dict[int, dict[str, np.ndarray]] = {}

    def read(index: int) -> dict[str, np.ndarray]:  # consecutive pairs share a frame: read it once
        if index not in frames:
            frame = sequence.read_frame(index, layers)
            frame["features"] = np.concatenate([frame["albedo"], frame["normal"]], axis=-1)
            frames.clear()
            frames[index] = frame
        return frames[index]

    for t in pairs:
        features_prev = read(t - 1)["features"]
        current = read(t)
        motion = current["motion"]
        variants = {"warped": (1.0, 1.0), **MOTION_VARIANTS}
        warps = {name: warp_previous(features_prev, motion * np.array(signs, np.float32))
                 for name, signs in variants.items()}
        hit = current["depth"][..., 0] > 0
        for _warped, valid in warps.values():
            hit &= valid
        if hit.any():
            for name, (warped, _valid) in warps.items():
                sums[name] += float(np.abs(warped - current["features"])[hit].mean())
            sums["motion_px"] += float(np.linalg.norm(motion, axis=-1)[hit].mean())
            count += 1
    if not count:
        return None
    return {**{name: value / count for name, value in sums.items()}, "pairs": float(count)}


def _checked_frames(frame_count: int, cuts: set[int]) -> list[int]:
    candidates = [t for t in range(1, frame_count) if t not in cuts]
    if not candidates:
        return []
    picks = np.linspace(0, len(candidates) - 1, min(CAMERA_CHECK_FRAMES, len(candidates)))
    return sorted({candidates[int(round(p))] for p in picks})


def camera_check(
    job: SequenceJob, cmap: ChannelMap, cuts: set[int], load: Any, *, sanitize: bool = False
) -> dict[str, float] | None:
    """Compare the source's motion vectors with the motion the camera implies for static
    geometry, on up to :data:`CAMERA_CHECK_FRAMES` frames, before anything is written.

    The statistic is the median, over a frame's surface pixels, of the distance between
    the two motions (robust to moving objects covering less than half the surface).

    Returns:
        ``{"median_px": worst frame's median, "frames": frames compared}``, or None when
        there are no motion vectors, no moving camera or no frame to compare.

    Raises:
        FormatError: a frame's median exceeds :data:`CAMERA_CHECK_MAX_PX`, naming its file,
            the motion channels, the disagreement and what to check.
    """
    motion_source = cmap.sources.get("motion")
    camera = job.camera
    if motion_source is None or camera.fov_y_deg is None or camera.to_world is None:
        return None
    frames = _checked_frames(len(job.frames), cuts)
    if not frames:
        return None
    convert_frame(load(0), cmap, FrameContext(0, True, camera, sanitize))  # a mapping error names the first frame
    worst, compared = 0.0, 0
    for t in frames:
        context = FrameContext(t, False, camera, sanitize)
        frame = convert_frame(load(t), cmap, context)
        depth = frame["depth"][..., 0]
        hit = depth > 0
        if hit.sum() < 16:
            continue
        pinhole = camera.pinhole(*depth.shape)
        assert pinhole is not None
        expected = camera_motion(depth, context, pinhole)
        median = float(np.median(np.linalg.norm(frame["motion"] - expected, axis=-1)[hit]))
        compared += 1
        worst = max(worst, median)
        if median > CAMERA_CHECK_MAX_PX:
            frame_file = job.frames[t].get(motion_source.file, next(iter(job.frames[t].values())))
            sidecar = f"the camera sidecar {camera.path}" if camera.path is not None else "the camera"
            raise FormatError(frame_file, ", ".join(motion_source.channels),
                              f"the rendered motion vectors and the motion {sidecar} implies for static geometry "
                              f"disagree by a median {median:.3f} px over {int(hit.sum())} surface pixels (frame index "
                              f"{t}; the check accepts up to {CAMERA_CHECK_MAX_PX} px, exact data agree to < 1e-6 px): "
                              f"the camera does not match the render - check fov_y_deg ({camera.fov_y_deg:.3f} deg, "
                              "the EFFECTIVE vertical field of view, docs/import.md 'The camera sidecar') and that "
                              "to_world holds one matrix per rendered frame, in order. If most of the visible "
                              "surface moves, --no-camera-check imports anyway")
    if not compared:
        return None
    return {"median_px": worst, "frames": float(compared)}


def import_sequence(
    job: SequenceJob,
    out_dir: Path,
    *,
    sanitize: bool = False,
    progress: Iterable[Any] | None = None,
    check_camera: bool = True,
) -> ImportResult:
    """Convert ``job`` into the ssr-seq sequence ``out_dir`` (created) and validate it.

    Args:
        job: the sequence as a layout found it.
        out_dir: destination sequence folder; must not hold a sequence already.
        sanitize: zero invalid colour/reference values instead of failing.
        progress: optional callback-free iterable wrapper (e.g. a tqdm bar) updated per frame.
        check_camera: compare motion vectors with the camera (:func:`camera_check`) first.

    Raises:
        FormatError: naming the file, channel and problem of anything that cannot be mapped,
            motion vectors that disagree with the camera, or an error of the written
            sequence found by the ssr-seq reader.
    """
    if not job.frames:
        raise FormatError(job.source or job.name, None, "no frames found to import")
    settings = job.channel_map.settings
    height, width = _frame_size(job)
    has_motion_source = "motion" in job.channel_map.sources
    camera_moves_known = job.camera.to_world is not None and job.camera.fov_y_deg is not None
    cuts = {0, *job.cuts, *settings.cuts}
    layout_notes = list(job.notes)
    if not has_motion_source and not camera_moves_known and not settings.static_camera and len(job.frames) > 1:
        cuts = set(range(len(job.frames)))
        layout_notes.append("no motion vectors and no camera: every frame is a cut (no history is reused); "
                            "give a camera sidecar or --static-camera to keep the history")
    bad_cuts = sorted(c for c in cuts if c >= len(job.frames))
    if bad_cuts:
        raise FormatError(job.source or job.name, None, f"cuts {bad_cuts} are outside the {len(job.frames)} frames")
    notes: Counter = Counter()
    warnings: Counter = Counter()
    needed = job.channel_map.files_needed()

    def load(index: int) -> dict[str, Any]:
        frame_files = job.frames[index]
        frame_paths_exist(frame_files)
        missing = sorted(needed - set(frame_files))
        if missing:
            raise FormatError(job.source or job.name, None, f"frame {index}: no file for key(s) {', '.join(missing)}")
        return {key: read_exr(frame_files[key], expected_size=(height, width)) for key in needed}

    cmap = job.channel_map
    sampling = settings.sampling
    if job.derive_mask:
        offsets = [traced_offset(read_source(load(i), cmap.sources["color"])[0]) for i in range(min(4, len(job.frames)))]
        if all(o is None for o in offsets):
            sampling = "full"
        elif any(o is None for o in offsets):
            raise FormatError(job.frames[offsets.index(None)].get("main", job.source), cmap.sources["color"].channels[0],
                              "some frames hold one sample per 2x2 tile and others a sample at every pixel")
        else:
            sampling = "subpixel-2x2"
            layout_notes.append(f"colour holds one sample per 2x2 tile (traced offsets of frames 0-{len(offsets) - 1}: "
                                f"{offsets}): imported as sampling 'subpixel-2x2' with a mask")
    if sampling == "subpixel-2x2" and "mask" not in cmap.sources and not job.derive_mask:
        raise FormatError(job.source or job.name, "mask.Y", "sampling 'subpixel-2x2' needs a mask source")
    motion_source = cmap.sources.get("motion")
    if job.detect_motion and motion_source is not None:
        pairs = []
        for t in [t for t in range(1, len(job.frames)) if t not in cuts][:3]:
            images_prev, images_now = load(t - 1), load(t)
            frame_prev = convert_frame(images_prev, cmap, FrameContext(t - 1, True, job.camera, True))
            frame_now = convert_frame(images_now, cmap, FrameContext(t, True, job.camera, True))
            pairs.append((frame_prev, frame_now, read_source(images_now, motion_source)[0]))
        if pairs:
            best, ranked = detect_motion_convention(motion_source, pairs)  # type: ignore[arg-type]
            cmap = ChannelMap({**cmap.sources, "motion": best}, cmap.settings, cmap.files)
            runner_up = ranked[1][0]
            ambiguous = runner_up - ranked[0][0] < 0.01 * max(ranked[0][0], 1e-12)
            layout_notes.append(
                f"motion convention measured: units={best.units}, y_axis={best.y_axis}, points_to={best.points_to} "
                f"(G-buffer warp error {ranked[0][0]:.4f}; next best {runner_up:.4f})"
                + (" - ambiguous: the frames barely move, check the motion" if ambiguous else ""))
    camera_report = camera_check(job, cmap, cuts, load, sanitize=sanitize) if check_camera else None
    if not check_camera and motion_source is not None and job.camera.meta() is not None:
        layout_notes.append("camera check skipped (--no-camera-check)")
    out_dir.mkdir(parents=True, exist_ok=True)
    for index in range(len(job.frames)):
        images = load(index)
        mask = None
        if job.derive_mask and sampling == "subpixel-2x2":
            offset = traced_offset(read_source(images, cmap.sources["color"])[0])
            if offset is None:
                raise FormatError(job.frames[index].get("main", job.source), cmap.sources["color"].channels[0],
                                  "frame holds samples at more than one pixel per 2x2 tile")
            mask = np.zeros((height, width, 1), np.float32)
            mask[offset[1]::2, offset[0]::2] = 1.0
        context = FrameContext(index, index in cuts, job.camera, sanitize, notes, mask,
                               warnings if job.camera_expected else Counter())
        layers = convert_frame(images, cmap, context)
        write_frame(out_dir / frame_filename(index), layers)
        if progress is not None:
            progress.update(1)  # type: ignore[attr-defined]
    extra: dict[str, Any] = {"import": {"layout": job.layout, "source": job.source,
                                        "frames": [str(f.get("main", next(iter(f.values())))) for f in job.frames]}}
    meta = make_meta(
        width=width, height=height, frame_count=len(job.frames), sampling=sampling,
        spp=settings.spp, reference_spp=settings.reference_spp if "reference" in cmap.sources else None,
        shadow_rays=settings.shadow_rays, cuts=sorted(cuts), scene=settings.scene or job.name,
        renderer=settings.renderer or job.layout, camera=job.camera.meta(), **extra,
    )
    write_meta(out_dir, meta)
    report = validate_sequence(out_dir)
    if not report.ok:
        raise report.errors[0]
    return ImportResult(out_dir, len(job.frames), width, height, sorted(cuts), dict(notes), layout_notes,
                        motion_check(out_dir), dict(warnings), list(job.warnings), camera_report)
