"""Write ssr-seq frames (scanline ZIP EXR, atomically) and whole sequences."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from .errors import FormatError
from .meta import make_meta, write_meta
from .spec import HALF_MAX, LAYERS, frame_filename

__all__ = ["write_frame", "write_sequence"]


def write_frame(path: str | os.PathLike[str], layers: Mapping[str, np.ndarray]) -> Path:
    """Write one frame as a scanline ZIP EXR, atomically (temp file, then rename).

    Args:
        path: destination ``.exr`` file.
        layers: any subset of :data:`LAYERS`, each ``[H, W, C]`` (or ``[H, W]`` for C = 1)
            float array, all of one size. FLOAT is written for ``color``, ``depth`` and
            ``motion``, and for ``reference`` when its maximum reaches 65504; HALF for the
            rest (docs/format.md).
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
