"""Training data: packed sequences cached in memory, and a seeded clip sampler.

A dataset is ``<dataset>/train/<seq>/`` + ``<dataset>/val/<seq>/`` (ssr-seq folders), or
a folder of sequences without a ``train/`` subfolder (all of them are training data).
Every frame is read with :class:`ssr.data_tools.Sequence` and packed once with
:func:`ssr.data_tools.pack_frame` into ``float32 [19, H, W]``; the targets are the
``reference`` and ``reference_albedo`` layers, ``[3, H, W]``.

The :class:`ClipSampler` draws clips of consecutive frames with random square crops and
one of the 8 flips/rotations of the square, applied consistently to every plane and to
the motion vectors. Its only randomness is its own ``numpy.random.Generator``, whose
state is checkpointed so resumed training samples the same clips.
"""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence as SequenceT

import numpy as np

from ssr.data_tools import Sequence, list_sequences, pack_frame
from ssr.data_tools.contract import PACKED_CHANNELS, SLICES, specular_floor_offset
from ssr.data_tools.compact import CompactSequence, is_compact, list_compact
from ssr.data_tools.format import drop_incomplete

__all__ = [
    "ClipBatch",
    "ClipSampler",
    "PackedSequence",
    "PrefetchingSampler",
    "augment_planes",
    "find_sequences",
    "load_packed_sequence",
    "load_sequences",
    "rotate_motion",
]

_MOTION = SLICES["motion"]
_INPUT_LAYERS = ("color", "albedo", "normal", "depth", "roughness", "metallic", "shadow", "mask", "transparent", "motion")
_TARGET_LAYERS = ("reference", "reference_albedo")


@dataclass
class PackedSequence:
    """One sequence, packed and in memory.

    Attributes:
        name: sequence folder name.
        packed: ``float32 [T, 19, H, W]`` network input planes.
        reference: ``float32 [T, 3, H, W]`` linear HDR reference radiance.
        reference_albedo: ``float32 [T, 3, H, W]`` anti-aliased albedo target.
        cuts: ``bool [T]``, True where history must be reset (frame 0 always).
    """

    name: str
    packed: np.ndarray
    reference: np.ndarray
    reference_albedo: np.ndarray
    cuts: np.ndarray

    def __post_init__(self) -> None:
        frames, channels, height, width = self.packed.shape
        if channels != PACKED_CHANNELS:
            raise ValueError(f"{self.name}: packed must be [T, 19, H, W], got {self.packed.shape}")
        for label, array in (("reference", self.reference), ("reference_albedo", self.reference_albedo)):
            if array.shape != (frames, 3, height, width):
                raise ValueError(f"{self.name}: {label} must be {(frames, 3, height, width)}, got {array.shape}")
        if self.cuts.shape != (frames,):
            raise ValueError(f"{self.name}: cuts must be [{frames}], got {self.cuts.shape}")
        self.cuts = self.cuts.astype(bool)
        self.cuts[0] = True

    @property
    def frame_count(self) -> int:
        return int(self.packed.shape[0])

    @property
    def height(self) -> int:
        return int(self.packed.shape[2])

    @property
    def width(self) -> int:
        return int(self.packed.shape[3])


def find_sequences(data_dir: str | os.PathLike[str], split: str, scenes: Iterable[str] | None = None,
                   skip_incomplete: bool = False) -> list[Path]:
    """Sequence folders of ``split`` (``"train"`` or ``"val"``) under ``data_dir``.

    With a ``<data_dir>/<split>/`` subfolder its sequences are returned; without a
    ``train/`` subfolder every sequence of ``data_dir`` is training data and ``val`` is
    empty. Sequences are ssr-seq folders or compact ``.ssrpack.npz`` files (``ssr
    compact``; a folder holding compact files is read as compact files only). ``scenes``
    keeps sequences whose folder name or ``meta.json`` scene matches.
    ``skip_incomplete`` leaves out sequences whose frame files are not all written yet (a
    dataset still rendering; a resumed run picks them up), printing what it skipped.
    """
    root = Path(data_dir)
    if not root.exists():
        raise FileNotFoundError(f"dataset not found: {root}")
    split_dir = root / split
    if split_dir.is_dir():
        paths = list_compact(split_dir) or list_sequences(split_dir)
    elif (root / "train").is_dir():
        paths = []
    else:
        paths = (list_compact(root) or list_sequences(root)) if split == "train" else []
    if skip_incomplete:
        paths = drop_incomplete(paths)
    wanted = {s for s in (scenes or []) if s}
    if wanted:
        paths = [p for p in paths if _sequence_name(p) in wanted or _open(p).meta.get("scene") in wanted]
    return paths


def _sequence_name(path: Path) -> str:
    return CompactSequence.name_of(path) if is_compact(path) else path.name


def _open(path: str | os.PathLike[str], subpixel: bool = True) -> Sequence | CompactSequence:
    """The reader of an ssr-seq folder or a compact file."""
    if not is_compact(path):
        return Sequence(path, apply_pattern=subpixel)
    if not subpixel:
        raise ValueError(f"{path}: compact files keep only the traced pixels; 1-spp (--full-spp) "
                         "training needs the EXR sequences")
    return CompactSequence(path)


def load_packed_sequence(path: str | os.PathLike[str], subpixel: bool = True,
                         specular_floor: float = 0.0) -> PackedSequence:
    """Read and pack every frame of the sequence at ``path``.

    Args:
        path: an ssr-seq sequence folder with ``reference`` and ``reference_albedo``, or a
            compact ``.ssrpack.npz`` file (:mod:`ssr.data_tools.compact`).
        subpixel: False reads the 1-spp mode (``Sequence(apply_pattern=False)``).
        specular_floor: the model's demodulation floor (``ModelConfig.specular_floor``):
            the packed albedo planes and the albedo target both become the demodulation
            albedo (:func:`ssr.data_tools.contract.specular_floor_offset`).
    """
    seq = _open(path, subpixel)
    frames, height, width = seq.frame_count, seq.height, seq.width
    packed = np.empty((frames, PACKED_CHANNELS, height, width), np.float32)
    reference = np.empty((frames, 3, height, width), np.float32)
    reference_albedo = np.empty((frames, 3, height, width), np.float32)
    for index in range(frames):
        frame = seq.read_frame(index, channels=_INPUT_LAYERS + _TARGET_LAYERS)
        packed[index] = pack_frame(frame, specular_floor=specular_floor)
        reference[index] = frame["reference"].transpose(2, 0, 1)
        offset = specular_floor_offset(frame["roughness"], frame["metallic"], np.float32(specular_floor))
        reference_albedo[index] = (frame["reference_albedo"] + offset).transpose(2, 0, 1)
    cuts = np.array([seq.is_cut(i) for i in range(frames)], bool)
    return PackedSequence(seq.name, packed, reference, reference_albedo, cuts)


def load_sequences(paths: SequenceT[Path], subpixel: bool = True, num_workers: int = 0,
                   specular_floor: float = 0.0) -> list[PackedSequence]:
    """Load several sequences (in order), with ``num_workers`` reader threads
    (:func:`load_packed_sequence`)."""
    if num_workers <= 1 or len(paths) <= 1:
        return [load_packed_sequence(p, subpixel, specular_floor) for p in paths]
    with ThreadPoolExecutor(max_workers=num_workers) as pool:
        return list(pool.map(lambda p: load_packed_sequence(p, subpixel, specular_floor), paths))


def rotate_motion(motion: np.ndarray, quarter_turns: int) -> np.ndarray:
    """Motion vectors after ``np.rot90(image, quarter_turns, axes=(-2, -1))``.

    A counter-clockwise quarter turn (as displayed, y down) maps the pixel at
    ``(x, y)`` to ``(y, W - x)``, so a displacement ``(dx, dy)`` becomes ``(dy, -dx)``.

    Args:
        motion: ``[..., 2, H, W]`` motion (x, y) planes, already rotated spatially.
    """
    mx, my = motion[..., 0, :, :], motion[..., 1, :, :]
    for _ in range(quarter_turns % 4):
        mx, my = my, -mx
    return np.stack((mx, my), axis=-3)




def augment_planes(planes: np.ndarray, quarter_turns: int, flip_x: bool, motion: slice | None = None,
                   out: np.ndarray | None = None) -> np.ndarray:
    """Flip (along x) then rotate ``[..., C, H, W]`` planes; fix up the motion planes.

    Args:
        planes: ``[..., C, H, W]``.
        quarter_turns: ``np.rot90`` count over ``(H, W)`` (counter-clockwise as displayed).
        flip_x: mirror left-right first (negates motion x).
        motion: channel slice of the (x, y) motion planes, if any.
        out: optional float32 destination of the result's shape, written in place (the
            sampler's batch array: one copy instead of two, no temporary).

    Returns:
        A new C-contiguous array, or ``out``.
    """
    view = planes[..., ::-1] if flip_x else planes
    view = np.rot90(view, quarter_turns % 4, axes=(-2, -1))
    if out is None:
        out = np.array(view, dtype=np.float32, copy=True)
    else:
        np.copyto(out, view)
    if motion is not None:
        vectors = out[..., motion, :, :]
        if flip_x:
            vectors = np.stack((-vectors[..., 0, :, :], vectors[..., 1, :, :]), axis=-3)
        out[..., motion, :, :] = rotate_motion(vectors, quarter_turns)
    return out


@dataclass
class ClipBatch:
    """A batch of training clips (numpy, float32).

    Attributes:
        packed: ``[B, T, 19, S, S]``.
        reference: ``[B, T, 3, S, S]``.
        reference_albedo: ``[B, T, 3, S, S]``.
        reset: ``[B, T]``, 1 at each clip's first frame and at cuts.
        burn_in: the first ``burn_in`` of the ``T`` frames are streamed without gradients
            and left out of the loss (``T = burn_in + clip``); clip ``b`` starts its stream
            (``reset = 1``) at frame ``burn_in - k_b``, ``k_b`` its own burn-in count.
    """

    packed: np.ndarray
    reference: np.ndarray
    reference_albedo: np.ndarray
    reset: np.ndarray
    burn_in: int = 0


class ClipSampler:
    """Seeded sampler of augmented clips from in-memory sequences.

    Args:
        sequences: the training sequences (each at least ``clip`` frames long).
        clip: frames per clip.
        crop: square crop size (clamped to the smallest sequence side).
        seed: base seed; ``rank`` gives each distributed process its own stream.
        augment: apply random flips/rotations.
        burn_in: up to this many frames before each clip, streamed without gradients
            (:class:`ClipBatch`); each clip draws its count uniform in ``0..burn_in``, before
            anything else of the batch, so ``burn_in=0`` samples exactly the clips it always did.
    """

    def __init__(
        self, sequences: SequenceT[PackedSequence], clip: int, crop: int, seed: int, rank: int = 0, augment: bool = True,
        burn_in: int = 0,
    ) -> None:
        if burn_in < 0:
            raise ValueError(f"ClipSampler: burn_in must be >= 0, got {burn_in}")
        window = clip + burn_in
        usable = [s for s in sequences if s.frame_count >= window]
        if not usable:
            raise ValueError(f"no training sequence has at least {window} frames (clip length {clip}"
                             + (f" + burn-in {burn_in}" if burn_in else "") + ")")
        self.sequences = usable
        self.clip = clip
        self.burn_in = burn_in
        self.crop = min(crop, *(min(s.height, s.width) for s in usable))
        self.augment = augment
        starts = np.array([s.frame_count - window + 1 for s in usable], np.float64)
        self._probabilities = starts / starts.sum()
        self.rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, rank])))

    def state_dict(self) -> dict[str, Any]:
        """The generator state (JSON/pickle friendly)."""
        return {"bit_generator": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state["bit_generator"]

    def sample(self, batch: int) -> ClipBatch:
        """Draw ``batch`` clips (each with up to ``burn_in`` frames before it)."""
        counts = self.rng.integers(0, self.burn_in + 1, size=batch) if self.burn_in else np.zeros(batch, np.int64)
        lead = int(counts.max())  # frames before the loss frames in this batch
        size, frames = self.crop, lead + self.clip
        packed = np.empty((batch, frames, PACKED_CHANNELS, size, size), np.float32)
        reference = np.empty((batch, frames, 3, size, size), np.float32)
        reference_albedo = np.empty((batch, frames, 3, size, size), np.float32)
        reset = np.zeros((batch, frames), np.float32)
        for b in range(batch):
            seq = self.sequences[int(self.rng.choice(len(self.sequences), p=self._probabilities))]
            start = int(self.rng.integers(0, seq.frame_count - frames + 1))
            y0 = int(self.rng.integers(0, seq.height - size + 1))
            x0 = int(self.rng.integers(0, seq.width - size + 1))
            turns = int(self.rng.integers(0, 4)) if self.augment else 0
            flip = bool(self.rng.integers(0, 2)) if self.augment else False
            window = (slice(start, start + frames), slice(None), slice(y0, y0 + size), slice(x0, x0 + size))
            augment_planes(seq.packed[window], turns, flip, motion=_MOTION, out=packed[b])
            augment_planes(seq.reference[window], turns, flip, out=reference[b])
            augment_planes(seq.reference_albedo[window], turns, flip, out=reference_albedo[b])
            reset[b] = seq.cuts[start : start + frames]
            reset[b, 0] = 1.0
            reset[b, lead - int(counts[b])] = 1.0  # the stream starts here; frames before it are unused
        return ClipBatch(packed, reference, reference_albedo, reset, burn_in=lead)


class PrefetchingSampler:
    """A :class:`ClipSampler` that draws the next batch on a worker thread while the caller
    trains on the current one (NumPy copies release the GIL, so a GPU step and the next
    batch's crops overlap).

    The clips are exactly the wrapped sampler's, in the same order. :meth:`state_dict` is
    the sampler state *before* the batch that is drawn but not yet handed out, so a run
    checkpointed and resumed continues with the same clips as one that never stopped.

    Args:
        sampler: the sampler to draw from (only this object may use it afterwards).
        batch: clips per :meth:`sample` call.
    """

    def __init__(self, sampler: ClipSampler, batch: int) -> None:
        self.sampler = sampler
        self.batch = batch
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clip-prefetch")
        self._pending: tuple[dict[str, Any], Future[ClipBatch]] | None = None

    def _schedule(self) -> None:
        state = self.sampler.state_dict()
        self._pending = (state, self._pool.submit(self.sampler.sample, self.batch))

    def sample(self) -> ClipBatch:
        """The next batch (waits for the worker if it is not ready), and starts drawing the one after."""
        if self._pending is None:
            self._schedule()
        assert self._pending is not None
        clips = self._pending[1].result()
        self._schedule()
        return clips

    def state_dict(self) -> dict[str, Any]:
        """The wrapped sampler's state before the batch not yet handed out."""
        return self._pending[0] if self._pending is not None else self.sampler.state_dict()

    def close(self) -> None:
        """Wait for the worker and stop it."""
        if self._pending is not None:
            self._pending[1].cancel()
            self._pending = None
        self._pool.shutdown(wait=True)
