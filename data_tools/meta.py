"""``meta.json``: build, check, write (atomically) and read a sequence's metadata, and read
any JSON object file with errors that name it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from .errors import FormatError
from .exr import MAX_IMAGE_SIDE
from .spec import FORMAT_NAME, FORMAT_VERSION

__all__ = [
    "REQUIRED_META_KEYS",
    "SAMPLING_MODES",
    "atomic_write_bytes",
    "check_meta",
    "make_meta",
    "read_json_object",
    "read_meta",
    "write_meta",
]

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
    """Build a ``meta.json`` dict with every docs/format.md key (frame 0 is always a cut)."""
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


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename (readers never see a
    partial file)."""
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
    check_meta(dict(meta), meta_path)
    atomic_write_bytes(meta_path, (json.dumps(meta, indent=2) + "\n").encode())
    return meta_path


def check_meta(meta: dict[str, Any], meta_path: Path) -> dict[str, Any]:
    """``meta`` when it holds every docs/format.md key with the right type and values; a
    :class:`FormatError` naming ``meta_path`` and the key otherwise."""
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
    return check_meta(meta, meta_path)
