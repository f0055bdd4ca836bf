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
from .convert import FrameContext, convert_frame, frame_paths_exist, read_source
from .detect import detect_motion_convention, traced_offset

__all__ = ["ImportResult", "SequenceJob", "import_sequence", "motion_check"]


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

    def summary(self) -> str:
        lines = [f"{self.path}: {self.frames} frames, {self.width}x{self.height}, cuts {self.cuts}"]
        lines += [f"  note: {note}" for note in self.layout_notes]
        lines += [f"  fixed: {message} ({count} px)" for message, count in sorted(self.notes.items())]
        if self.motion is not None:
            m = self.motion
            lines.append(
                f"  motion check: warping frame t-1 by the motion gives G-buffer error {m['warped']:.4f} "
                f"vs {m['unwarped']:.4f} without warping, over {int(m['pairs'])} frame pair(s)"
                + ("" if m["warped"] <= m["unwarped"] else "  WARNING: the motion makes it worse; check its convention")
            )
        return "\n".join(lines)


def _frame_size(job: SequenceJob) -> tuple[int, int]:
    first = job.frames[0]
    key = "main" if "main" in first else sorted(first)[0]
    height, width, _ = read_exr_header(first[key])
    return height, width


def motion_check(seq_dir: Path, max_pairs: int = 8) -> dict[str, float] | None:
    """Mean absolute G-buffer difference (albedo + normal, surfaces seen in both frames)
    between frame t and frame t-1, warped by frame t's motion and not warped, over up to
    ``max_pairs`` non-cut frames. None when there is no such frame."""
    sequence = Sequence(seq_dir, apply_pattern=False)
    pairs = [t for t in range(1, sequence.frame_count) if not sequence.is_cut(t)][:max_pairs]
    if not pairs:
        return None
    warped_sum = unwarped_sum = 0.0
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
        features_now = current["features"]
        warped, valid = warp_previous(features_prev, current["motion"])
        hit = (current["depth"][..., 0] > 0) & valid
        if hit.any():
            warped_sum += float(np.abs(warped - features_now)[hit].mean())
            unwarped_sum += float(np.abs(features_prev - features_now)[hit].mean())
            count += 1
    if not count:
        return None
    return {"warped": warped_sum / count, "unwarped": unwarped_sum / count, "pairs": float(count)}


def import_sequence(
    job: SequenceJob,
    out_dir: Path,
    *,
    sanitize: bool = False,
    progress: Iterable[Any] | None = None,
) -> ImportResult:
    """Convert ``job`` into the ssr-seq sequence ``out_dir`` (created) and validate it.

    Args:
        job: the sequence as a layout found it.
        out_dir: destination sequence folder; must not hold a sequence already.
        sanitize: zero invalid colour/reference values instead of failing.
        progress: optional callback-free iterable wrapper (e.g. a tqdm bar) updated per frame.

    Raises:
        FormatError: naming the file, channel and problem of anything that cannot be mapped,
            or an error of the written sequence found by the ssr-seq reader.
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
        context = FrameContext(index, index in cuts, job.camera, sanitize, notes, mask)
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
                        motion_check(out_dir))
