"""ssr-seq v1: the on-disk frame-sequence format (read, write, validate).

A sequence is a folder with ``meta.json`` and ``frame_%05d.exr`` files (written as scanline ZIP EXR; read from any flat EXR, see :mod:`.exr`).
In memory a frame is a ``dict`` of layers, each ``float32 [H, W, C]`` (row-major, y down):

=========================================================== ===  ============
layer                                                       C    EXR channels
=========================================================== ===  ============
color, albedo, reference, reference_albedo, transparent     3    R, G, B
normal                                                      3    X, Y, Z
motion                                                      2    X, Y
depth                                                       1    Z
roughness, metallic, shadow, mask                           1    Y
=========================================================== ===  ============

Every problem found on read is a :class:`FormatError` naming the file, the channel and
the problem. See ``docs/format.md`` for the format in full.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from .contract import PATTERN
from .errors import FormatError
from .exr import MAX_IMAGE_SIDE, read_exr

__all__ = [
    "FORMAT_NAME",
    "apply_subpixel_pattern",
    "FORMAT_VERSION",
    "LAYERS",
    "PATTERN",
    "FormatError",
    "LayerSpec",
    "Sequence",
    "SequenceMeta",
    "SequenceReport",
    "drop_incomplete",
    "frame_filename",
    "list_sequences",
    "make_meta",
    "read_exr_layers",
    "read_json_object",
    "read_meta",
    "sequence_complete",
    "subpixel_mask",
    "validate_sequence",
    "write_frame",
    "write_meta",
    "write_sequence",
]

FORMAT_NAME = "ssr-seq"
FORMAT_VERSION = 1
HALF_MAX = 65504.0
NORMAL_TOLERANCE = 0.01



@dataclass(frozen=True)
class LayerSpec:
    """One FORMAT.md layer: EXR channel suffixes, whether required, default, writer type."""

    suffixes: tuple[str, ...]
    required: bool
    default: float
    write_half: bool  # HALF on write (FLOAT otherwise); reference picks by range


LAYERS: dict[str, LayerSpec] = {
    "color": LayerSpec(("R", "G", "B"), True, 0.0, False),
    "albedo": LayerSpec(("R", "G", "B"), True, 0.0, True),
    "normal": LayerSpec(("X", "Y", "Z"), True, 0.0, True),
    "depth": LayerSpec(("Z",), True, 0.0, False),
    "motion": LayerSpec(("X", "Y"), True, 0.0, False),
    "roughness": LayerSpec(("Y",), False, 0.0, True),
    "metallic": LayerSpec(("Y",), False, 0.0, True),
    "shadow": LayerSpec(("Y",), False, 1.0, True),
    "transparent": LayerSpec(("R", "G", "B"), False, 0.0, True),
    "mask": LayerSpec(("Y",), False, 0.0, True),
    "reference": LayerSpec(("R", "G", "B"), False, 0.0, True),
    "reference_albedo": LayerSpec(("R", "G", "B"), False, 0.0, True),
}
"""Layer name -> spec, in FORMAT.md order."""

REQUIRED_META_KEYS: dict[str, type | tuple[type, ...]] = {
    "format": str,
    "version": int,
    "width": int,
    "height": int,
    "frame_count": int,
    "sampling": str,
    "spp": (int, float),
    "reference_spp": (int, type(None)),
    "shadow_rays": int,
    "cuts": list,
    "scene": str,
    "renderer": str,
}
SAMPLING_MODES = ("full", "subpixel-2x2")
_FRAME_RE = re.compile(r"^frame_(\d{5,})\.exr$")


def frame_filename(index: int) -> str:
    """``frame_00042.exr`` for ``index == 42``."""
    return f"frame_{index:05d}.exr"


def subpixel_mask(frame_index: int, height: int, width: int) -> np.ndarray:
    """The subpixel pattern of frame ``frame_index``: ``float32 [H, W]``, 1 = traced.

    Pixels are grouped in 2x2 tiles from the top-left corner; the traced pixel of each
    tile is at offset ``PATTERN[frame_index % 4]`` (``dx`` along columns, ``dy`` rows).

    >>> subpixel_mask(1, 2, 3).tolist()
    [[0.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    """
    dx, dy = PATTERN[frame_index % 4]
    mask = np.zeros((height, width), np.float32)
    mask[dy::2, dx::2] = 1.0
    return mask


def apply_subpixel_pattern(
    frame: Mapping[str, np.ndarray], frame_index: int, size: tuple[int, int] | None = None
) -> dict[str, np.ndarray]:
    """The 1/4-spp view of a frame whose ``color``/``shadow`` hold every pixel.

    Returns a new dict: ``color`` and ``shadow`` (where present) zeroed outside the pattern
    of ``frame_index``, and ``mask`` (``float32 [H, W, 1]``) set; other layers are shared.
    ``size`` (``(H, W)``) defaults to the size of the frame's first layer.
    """
    height, width = size if size is not None else np.shape(next(iter(frame.values())))[:2]
    mask = subpixel_mask(frame_index, height, width)[:, :, None]
    patterned = dict(frame)
    for name in ("color", "shadow"):
        if name in patterned:
            patterned[name] = patterned[name] * mask
    patterned["mask"] = mask
    return patterned


# ----------------------------------------------------------------------------- meta.json


def make_meta(
    *,
    width: int,
    height: int,
    frame_count: int,
    sampling: str = "full",
    spp: float = 1,
    reference_spp: int | None = None,
    shadow_rays: int = 1,
    cuts: Iterable[int] = (0,),
    scene: str = "",
    renderer: str = "",
    camera: Mapping[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Build a ``meta.json`` dict with every FORMAT.md key (frame 0 is always a cut)."""
    meta: dict[str, Any] = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "width": int(width),
        "height": int(height),
        "frame_count": int(frame_count),
        "sampling": sampling,
        "spp": spp,
        "reference_spp": reference_spp,
        "shadow_rays": int(shadow_rays),
        "cuts": sorted({0, *(int(c) for c in cuts)}),
        "scene": scene,
        "renderer": renderer,
    }
    if camera is not None:
        meta["camera"] = dict(camera)
    meta.update(extra)
    return meta


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def write_meta(seq_dir: str | os.PathLike[str], meta: Mapping[str, Any]) -> Path:
    """Validate and write ``<seq_dir>/meta.json`` atomically; returns its path."""
    seq_path = Path(seq_dir)
    seq_path.mkdir(parents=True, exist_ok=True)
    meta_path = seq_path / "meta.json"
    _check_meta(dict(meta), meta_path)
    _atomic_write_bytes(meta_path, (json.dumps(meta, indent=2) + "\n").encode())
    return meta_path


def _check_meta(meta: dict[str, Any], meta_path: Path) -> dict[str, Any]:
    for key, kind in REQUIRED_META_KEYS.items():
        if key not in meta:
            raise FormatError(meta_path, None, f"meta.json key '{key}' is missing")
        value = meta[key]
        if isinstance(value, bool) or not isinstance(value, kind):
            raise FormatError(meta_path, None, f"meta.json key '{key}' has wrong type {type(value).__name__}")
    if meta["format"] != FORMAT_NAME:
        raise FormatError(meta_path, None, f"meta.json 'format' is {meta['format']!r}, expected {FORMAT_NAME!r}")
    if meta["version"] != FORMAT_VERSION:
        raise FormatError(meta_path, None, f"meta.json 'version' {meta['version']} is not supported (expected 1)")
    for key in ("width", "height"):
        if not 1 <= meta[key] <= MAX_IMAGE_SIDE:
            raise FormatError(meta_path, None, f"meta.json '{key}' = {meta[key]} is outside [1, {MAX_IMAGE_SIDE}]")
    if meta["frame_count"] < 0:
        raise FormatError(meta_path, None, f"meta.json 'frame_count' = {meta['frame_count']} is negative")
    if meta["sampling"] not in SAMPLING_MODES:
        raise FormatError(meta_path, None, f"meta.json 'sampling' = {meta['sampling']!r}, expected one of {SAMPLING_MODES}")
    cuts = meta["cuts"]
    if not all(isinstance(c, int) and not isinstance(c, bool) for c in cuts):
        raise FormatError(meta_path, None, "meta.json 'cuts' must be a list of frame indices (int)")
    bad = [c for c in cuts if not 0 <= c < max(meta["frame_count"], 1)]
    if bad:
        raise FormatError(meta_path, None, f"meta.json 'cuts' has indices outside the sequence: {bad}")
    camera = meta.get("camera")
    if camera is not None:
        if not isinstance(camera, dict) or "fov_y_deg" not in camera or "to_world" not in camera:
            raise FormatError(meta_path, None, "meta.json 'camera' must hold 'fov_y_deg' and 'to_world'")
        to_world = camera["to_world"]
        if not isinstance(to_world, list) or len(to_world) != meta["frame_count"]:
            raise FormatError(meta_path, None, "meta.json 'camera.to_world' must hold one 4x4 matrix per frame")
        try:
            matrices = np.asarray(to_world, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise FormatError(meta_path, None, f"meta.json 'camera.to_world' is not numeric: {exc}") from None
        if matrices.shape[1:] != (4, 4) and matrices.size:
            raise FormatError(meta_path, None, f"meta.json 'camera.to_world' matrices have shape {matrices.shape[1:]}, expected (4, 4)")
    return meta


def read_json_object(path: str | os.PathLike[str], what: str, missing: str = "not found") -> dict[str, Any]:
    """The JSON object in ``path``; a :class:`FormatError` naming ``what`` the file is when it
    is missing, not JSON or not an object."""
    file_path = Path(path)
    if not file_path.is_file():
        raise FormatError(file_path, None, f"{what} {missing}")
    try:
        data = json.loads(file_path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(file_path, None, f"{what} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise FormatError(file_path, None, f"{what} must hold a JSON object")
    return data


def read_meta(seq_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check ``<seq_dir>/meta.json`` (missing keys and wrong types are errors)."""
    meta_path = Path(seq_dir) / "meta.json"
    meta = read_json_object(meta_path, "meta.json", "not found: not an ssr-seq sequence folder")
    return _check_meta(meta, meta_path)


# ----------------------------------------------------------------------------- EXR I/O


def _exr_channel_names(name: str) -> list[str]:
    return [f"{name}.{suffix}" for suffix in LAYERS[name].suffixes]


def write_frame(path: str | os.PathLike[str], layers: Mapping[str, np.ndarray]) -> Path:
    """Write one frame as a scanline ZIP EXR, atomically (temp file, then rename).

    Args:
        path: destination ``.exr`` file.
        layers: any subset of :data:`LAYERS`, each ``[H, W, C]`` (or ``[H, W]`` for C = 1)
            float array, all of one size. FLOAT is written for ``color``, ``depth`` and
            ``motion``, and for ``reference`` when its maximum reaches 65504; HALF for the
            rest (FORMAT.md).
    """
    import OpenEXR

    out_path = Path(path)
    if not layers:
        raise FormatError(out_path, None, "write_frame: no layers to write")
    size: tuple[int, int] | None = None
    channels: dict[str, np.ndarray] = {}
    for name, array in layers.items():
        if name not in LAYERS:
            raise FormatError(out_path, name, f"unknown layer '{name}' (known: {', '.join(LAYERS)})")
        suffixes = LAYERS[name].suffixes
        data = np.asarray(array, dtype=np.float32)
        if data.ndim == 2:
            data = data[:, :, None]
        if data.ndim != 3 or data.shape[2] != len(suffixes):
            raise FormatError(out_path, name, f"layer must be [H, W, {len(suffixes)}], got shape {np.shape(array)}")
        if size is None:
            size = data.shape[:2]
        elif data.shape[:2] != size:
            raise FormatError(out_path, name, f"layer size {data.shape[:2]} differs from {size}")
        half = LAYERS[name].write_half
        if name == "reference":
            finite = data[np.isfinite(data)]
            half = finite.size == 0 or float(np.abs(finite).max()) < HALF_MAX
        dtype = np.float16 if half else np.float32
        for index, suffix in enumerate(suffixes):
            channels[f"{name}.{suffix}"] = np.ascontiguousarray(data[:, :, index].astype(dtype))
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.stem}.tmp{os.getpid()}.exr")
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    with OpenEXR.File(header, channels) as exr:
        exr.write(str(tmp))
    os.replace(tmp, out_path)
    return out_path


def write_sequence(
    seq_dir: str | os.PathLike[str], frames: Iterable[Mapping[str, np.ndarray]], **meta_fields: Any
) -> Path:
    """Write a whole sequence: ``frame_%05d.exr`` for each frame, then ``meta.json``.

    Args:
        seq_dir: destination folder (created).
        frames: layer dicts as for :func:`write_frame`; width, height and frame count of
            ``meta.json`` are taken from them.
        meta_fields: the other :func:`make_meta` arguments (``sampling``, ``cuts``, ``scene``...).
    """
    seq_path = Path(seq_dir)
    count = 0
    size = (0, 0)
    for index, frame in enumerate(frames):
        write_frame(seq_path / frame_filename(index), frame)
        size = np.shape(next(iter(frame.values())))[:2]
        count = index + 1
    write_meta(seq_path, make_meta(width=size[1], height=size[0], frame_count=count, **meta_fields))
    return seq_path


def read_exr_layers(
    path: str | os.PathLike[str],
    names: Iterable[str] | None = None,
    *,
    expected_size: tuple[int, int] | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Read FORMAT.md layers from one EXR file.

    Args:
        path: the ``.exr`` file.
        names: layers wanted; None = every known layer present in the file.
        expected_size: ``(height, width)``; checked on the header before any pixel is read.

    Returns:
        ``(layers, present)``: ``layers`` maps each wanted layer that is present in full to
        ``float32 [H, W, C]``; ``present`` maps every EXR channel name to its raw array.

    Raises:
        FormatError: unreadable / non-EXR / truncated file (see :mod:`ssr.data_tools.exr`:
            scanline and tiled, single- and multi-part files of any compression are read),
            size mismatch, a layer channel that is not HALF or FLOAT (``mask`` may be UINT),
            or a layer with some but not all of its channels.
    """
    file_path = Path(path)
    if not file_path.is_file():
        raise FormatError(file_path, None, "frame file is missing")
    try:
        image = read_exr(file_path, expected_size=expected_size)
    except FormatError as exc:
        if expected_size is not None and exc.problem.startswith("frame size"):
            raise FormatError(file_path, None, exc.problem.replace("the expected", "meta.json")) from None
        raise
    raw = image.channels
    for channel_name, pixels in raw.items():
        layer = channel_name.split(".", 1)[0]
        if pixels.dtype == np.uint32 and layer in LAYERS and layer != "mask":
            raise FormatError(file_path, channel_name, "channel type UINT is not HALF or FLOAT "
                              "(only mask.Y may be UINT)")
    wanted = list(LAYERS) if names is None else list(names)
    layers: dict[str, np.ndarray] = {}
    for name in wanted:
        if name not in LAYERS:
            raise FormatError(file_path, name, f"unknown layer '{name}' (known: {', '.join(LAYERS)})")
        channel_names = _exr_channel_names(name)
        found = [c for c in channel_names if c in raw]
        if not found:
            continue
        if len(found) != len(channel_names):
            missing = [c for c in channel_names if c not in raw]
            raise FormatError(file_path, missing[0], f"layer '{name}' is incomplete: missing {', '.join(missing)}")
        layers[name] = np.stack([raw[c].astype(np.float32) for c in channel_names], axis=-1)
    return layers, raw


def _check_layer_values(
    file_path: Path, layers: dict[str, np.ndarray], *, sanitize_color: bool
) -> None:
    """FORMAT.md value checks: NaN/Inf, negative colour, normal length where depth > 0."""
    for name, data in layers.items():
        bad = ~np.isfinite(data)
        if bad.any():
            if name == "color" and sanitize_color:
                layers[name] = np.where(bad, np.float32(0), data)
                continue
            for index, suffix in enumerate(LAYERS[name].suffixes):
                count = int(bad[:, :, index].sum())
                if count:
                    raise FormatError(file_path, f"{name}.{suffix}", f"{count} NaN/Inf values")
    if "color" in layers:
        negative = layers["color"] < 0
        if negative.any():
            if sanitize_color:
                layers["color"] = np.maximum(layers["color"], 0)
            else:
                channel = f"color.{'RGB'[int(np.argmax(negative.any(axis=(0, 1))))]}"
                raise FormatError(file_path, channel, f"{int(negative.sum())} negative values")
    if "normal" in layers and "depth" in layers:
        hit = layers["depth"][:, :, 0] > 0
        length = np.linalg.norm(layers["normal"], axis=-1)
        off = hit & (np.abs(length - 1.0) > NORMAL_TOLERANCE)
        if off.any():
            y, x = np.argwhere(off)[0]
            raise FormatError(
                file_path, "normal",
                f"{int(off.sum())} normals are not unit length where depth > 0 "
                f"(first at x={x}, y={y}: |n| = {length[y, x]:.4f})",
            )


# ----------------------------------------------------------------------------- Sequence


class SequenceMeta:
    """What a sequence's ``meta.json`` says about its shape and cuts, for any reader that
    holds it as ``self.meta`` (:class:`Sequence`, ``compact.CompactSequence``)."""

    meta: dict[str, Any]

    @property
    def width(self) -> int:
        return int(self.meta["width"])

    @property
    def height(self) -> int:
        return int(self.meta["height"])

    @property
    def frame_count(self) -> int:
        return int(self.meta["frame_count"])

    @property
    def sampling(self) -> str:
        return str(self.meta["sampling"])

    @property
    def cuts(self) -> list[int]:
        """Frames where history must not be reused (always includes 0)."""
        return sorted({0, *self.meta["cuts"]})

    def __len__(self) -> int:
        return self.frame_count

    def is_cut(self, index: int) -> bool:
        return index == 0 or index in self.meta["cuts"]


class Sequence(SequenceMeta):
    """One ssr-seq v1 sequence on disk, with lazy per-frame loading.

    Args:
        path: the sequence folder (holding ``meta.json``).
        apply_pattern: with ``sampling == "full"``, build ``mask`` from the subpixel pattern
            and zero ``color``/``shadow`` outside it (the 1/4-spp input). False keeps every
            pixel (the paper's 1-spp "w/o-SS" mode) with an all-ones mask.
        sanitize_color: replace NaN/Inf/negative ``color`` values by 0 instead of raising.

    ``read_frame`` returns ``float32 [H, W, C]`` layers; optional layers absent from the
    file are filled with their FORMAT.md defaults. Frame files are checked to exist with
    no gaps or extras when the sequence is opened.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        apply_pattern: bool = True,
        sanitize_color: bool = False,
    ) -> None:
        self.path = Path(path)
        self.meta = read_meta(self.path)
        self.apply_pattern = apply_pattern
        self.sanitize_color = sanitize_color
        self._check_frame_files()

    @property
    def name(self) -> str:
        return self.path.name

    def __repr__(self) -> str:
        return f"Sequence({str(self.path)!r}, {self.width}x{self.height}, {self.frame_count} frames, {self.sampling})"

    def frame_path(self, index: int) -> Path:
        if not 0 <= index < self.frame_count:
            raise IndexError(f"{self.path}: frame {index} outside [0, {self.frame_count})")
        return self.path / frame_filename(index)

    def _check_frame_files(self) -> None:
        numbers = sorted(
            int(m.group(1)) for p in self.path.iterdir() if (m := _FRAME_RE.match(p.name))
        )
        expected = list(range(self.frame_count))
        if numbers != expected:
            missing = sorted(set(expected) - set(numbers))
            extra = sorted(set(numbers) - set(expected))
            parts = []
            if missing:
                parts.append(f"missing frame files {', '.join(frame_filename(i) for i in missing[:5])}"
                             + (" ..." if len(missing) > 5 else ""))
            if extra:
                parts.append(f"extra frame files {', '.join(frame_filename(i) for i in extra[:5])}"
                             + (" ..." if len(extra) > 5 else ""))
            raise FormatError(self.path, None, "; ".join(parts) + f" (meta.json frame_count = {self.frame_count})")

    def read_frame(self, index: int, channels: Iterable[str] | None = None) -> dict[str, np.ndarray]:
        """Load frame ``index``: a dict of ``float32 [H, W, C]`` layers.

        Args:
            index: frame number in ``[0, frame_count)``.
            channels: layers to return; None = every known layer present in the file plus
                defaults for the missing optional ones, and ``mask``. ``mask`` is always
                returned. Asking for ``reference``/``reference_albedo`` when the file lacks
                them is an error.
        """
        file_path = self.frame_path(index)
        wanted = list(LAYERS) if channels is None else list(dict.fromkeys(channels))
        explicit = channels is not None
        read_names = set(wanted) | {"mask", "depth", "normal", "color", "albedo", "motion"}
        layers, raw = read_exr_layers(file_path, [n for n in LAYERS if n in read_names],
                                      expected_size=(self.height, self.width))
        for name, spec in LAYERS.items():
            if spec.required and name not in layers:
                raise FormatError(file_path, _exr_channel_names(name)[0], f"required layer '{name}' is missing")
        if self.sampling == "full" and "mask" in layers:
            raise FormatError(file_path, "mask.Y", "mask is present but meta.json sampling is 'full'")
        if self.sampling == "subpixel-2x2" and "mask" not in layers:
            raise FormatError(file_path, "mask.Y", "mask is missing but meta.json sampling is 'subpixel-2x2'")
        _check_layer_values(file_path, layers, sanitize_color=self.sanitize_color)
        shape = (self.height, self.width)
        result: dict[str, np.ndarray] = {}
        for name in wanted:
            if name in layers:
                result[name] = layers[name]
            elif name in ("reference", "reference_albedo"):
                if explicit:
                    raise FormatError(file_path, _exr_channel_names(name)[0], f"layer '{name}' is missing (needed for training/eval)")
            else:
                spec = LAYERS[name]
                result[name] = np.full((*shape, len(spec.suffixes)), spec.default, np.float32)
        if self.sampling == "subpixel-2x2":
            result["mask"] = layers["mask"]
        elif self.apply_pattern:
            result = apply_subpixel_pattern(result, index, shape)
        else:
            result["mask"] = np.ones((*shape, 1), np.float32)
        return result

    def frames(self, channels: Iterable[str] | None = None):
        """Iterate ``(index, is_cut, frame)`` over the whole sequence."""
        for index in range(self.frame_count):
            yield index, self.is_cut(index), self.read_frame(index, channels)


def sequence_complete(path: str | os.PathLike[str]) -> bool:
    """False when a sequence's ``meta.json`` announces frames whose files are not written
    yet (a dataset still rendering); True otherwise, also when meta.json is unreadable (the
    reader reports that properly)."""
    folder = Path(path)
    try:
        count = int(json.loads((folder / "meta.json").read_text())["frame_count"])
    except (OSError, ValueError, KeyError, TypeError):
        return True
    return all((folder / frame_filename(index)).is_file() for index in range(count))


def drop_incomplete(paths: list[Path]) -> list[Path]:
    """``paths`` without the sequences still being written (:func:`sequence_complete`),
    printing the names it leaves out (``--skip-incomplete`` of every command)."""
    incomplete = [p for p in paths if not sequence_complete(p)]
    if incomplete:
        print(f"skipping {len(incomplete)} sequence(s) still being written: "
              f"{', '.join(p.name for p in incomplete)}", flush=True)
    return [p for p in paths if p not in incomplete]


def list_sequences(dataset_dir: str | os.PathLike[str]) -> list[Path]:
    """Sequence folders under ``dataset_dir`` (itself, or any depth below, following
    symbolic links so datasets can be assembled from links), sorted."""
    root = Path(dataset_dir)
    if (root / "meta.json").is_file():
        return [root]
    if not root.is_dir():
        raise FormatError(root, None, "not a directory")
    found = [Path(folder) for folder, _dirs, files in os.walk(root, followlinks=True) if "meta.json" in files]
    return sorted(found)


# ----------------------------------------------------------------------------- validation


@dataclass
class ChannelStats:
    """Value range and NaN/Inf count of one EXR channel over a whole sequence."""

    minimum: float = math.inf
    maximum: float = -math.inf
    nonfinite: int = 0
    pixel_type: str = ""

    def update(self, pixels: np.ndarray) -> None:
        finite = np.isfinite(pixels)
        self.nonfinite += int((~finite).sum())
        if finite.any():
            values = pixels[finite]
            self.minimum = min(self.minimum, float(values.min()))
            self.maximum = max(self.maximum, float(values.max()))
        self.pixel_type = "HALF" if pixels.dtype == np.float16 else "FLOAT"


@dataclass
class SequenceReport:
    """What ``ssr check`` prints for one sequence."""

    path: Path
    meta: dict[str, Any] = field(default_factory=dict)
    channels: dict[str, ChannelStats] = field(default_factory=dict)
    motion_mean_px: float = 0.0
    motion_max_px: float = 0.0
    frames_checked: int = 0
    errors: list[FormatError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        lines = [f"{self.path}: {'OK' if self.ok else 'INVALID'}"]
        if self.meta:
            m = self.meta
            lines.append(
                f"  {m['frame_count']} frames, {m['width']}x{m['height']}, sampling {m['sampling']}, "
                f"spp {m['spp']}, reference_spp {m['reference_spp']}, cuts {m['cuts']}, scene {m['scene']!r}"
            )
        for name, stats in sorted(self.channels.items()):
            lines.append(
                f"  {name:<22} {stats.pixel_type:<5} [{stats.minimum:.4g}, {stats.maximum:.4g}]"
                + (f"  NaN/Inf: {stats.nonfinite}" if stats.nonfinite else "")
            )
        if self.frames_checked:
            lines.append(f"  motion: mean |m| {self.motion_mean_px:.3f} px, max {self.motion_max_px:.3f} px")
        for error in self.errors:
            lines.append(f"  ERROR {error}")
        return "\n".join(lines)


def validate_sequence(path: str | os.PathLike[str], *, max_errors: int = 20) -> SequenceReport:
    """Run every FORMAT.md check over a sequence; problems are collected, not raised.

    Returns:
        A :class:`SequenceReport`; ``report.ok`` is False when any check failed and
        ``report.errors`` holds :class:`FormatError` s naming file, channel and problem.
    """
    report = SequenceReport(Path(path))
    try:
        sequence = Sequence(path, apply_pattern=False)
    except FormatError as exc:
        report.errors.append(exc)
        try:
            report.meta = read_meta(path)
        except FormatError:
            pass
        return report
    report.meta = sequence.meta
    motion_sum = 0.0
    motion_count = 0
    for index in range(sequence.frame_count):
        file_path = sequence.frame_path(index)
        try:
            layers, raw = read_exr_layers(file_path, expected_size=(sequence.height, sequence.width))
            for channel_name, pixels in raw.items():
                report.channels.setdefault(channel_name, ChannelStats()).update(pixels)
            sequence.read_frame(index)
        except FormatError as exc:
            report.errors.append(exc)
            if len(report.errors) >= max_errors:
                break
            continue
        report.frames_checked += 1
        if not sequence.is_cut(index):
            magnitude = np.linalg.norm(layers["motion"], axis=-1)
            magnitude = magnitude[np.isfinite(magnitude)]
            motion_sum += float(magnitude.sum())
            motion_count += magnitude.size
            if magnitude.size:
                report.motion_max_px = max(report.motion_max_px, float(magnitude.max()))
    report.motion_mean_px = motion_sum / motion_count if motion_count else 0.0
    return report
