"""Read any flat OpenEXR file a user's tool writes, refusing damaged ones cleanly.

One reader for the ssr-seq frame reader (:func:`ssr.data_tools.format.read_exr_layers`)
and every importer (:mod:`ssr.data_tools.importers`):

* storage: scanline or tiled (single-level tiles), in one part or several (multi-part);
* compression: whatever the OpenEXR library decodes (NONE, RLE, ZIPS, ZIP, PIZ, PXR24,
  B44(A), DWAA/B, ...);
* pixel types: HALF, FLOAT and UINT, returned as ``float16`` / ``float32`` / ``uint32``
  ``[H, W]`` arrays, row 0 at the top of the data window;
* refused with a :class:`FormatError` naming the file (and the channel where there is
  one): non-EXR bytes, truncated or corrupt headers and pixel data, implausible declared
  sizes (before any allocation), deep images, mip/rip-mapped tiles, sub-sampled
  channels, parts with different data windows.

Channel names of a single-part file are kept as they are. In a multi-part file every
channel is available as ``<part name>.<channel>`` and also under its bare name when no
other part has a channel of that name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import FormatError

__all__ = ["EXR_MAGIC", "MAX_IMAGE_SIDE", "ExrImage", "read_exr", "read_exr_header"]

EXR_MAGIC = b"\x76\x2f\x31\x01"
MAX_IMAGE_SIDE = 16384
"""Largest width/height a reader accepts (guards against hostile headers)."""


@dataclass
class ExrImage:
    """The pixels of one EXR file.

    Attributes:
        path: the file.
        height, width: size of the data window.
        channels: channel name -> ``[H, W]`` array (``float16``, ``float32`` or ``uint32``).
        header: the first part's header attributes (plain Python values).
        parts: part names in file order (``[""]`` for an unnamed single part).
    """

    path: Path
    height: int
    width: int
    channels: dict[str, np.ndarray] = field(default_factory=dict)
    header: dict[str, Any] = field(default_factory=dict)
    parts: list[str] = field(default_factory=list)

    def channel(self, name: str) -> np.ndarray:
        """One channel, or a :class:`FormatError` listing the channels the file has."""
        if name not in self.channels:
            available = ", ".join(sorted(self.channels)) or "none"
            raise FormatError(self.path, name, f"channel not found (the file has: {available})")
        return self.channels[name]


def _check_magic(file_path: Path) -> None:
    if not file_path.is_file():
        raise FormatError(file_path, None, "file is missing")
    try:
        with open(file_path, "rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise FormatError(file_path, None, f"cannot open file: {exc.strerror}") from None
    if magic != EXR_MAGIC:
        raise FormatError(file_path, None, "not an OpenEXR file (bad magic number)")


def _part_size(file_path: Path, header: dict[str, Any]) -> tuple[int, int]:
    try:
        (x_min, y_min), (x_max, y_max) = (np.array(v) for v in header["dataWindow"])
        height, width = int(y_max - y_min + 1), int(x_max - x_min + 1)
    except (KeyError, TypeError, ValueError):
        raise FormatError(file_path, None, "EXR header has no valid dataWindow") from None
    if not (1 <= width <= MAX_IMAGE_SIDE and 1 <= height <= MAX_IMAGE_SIDE):
        raise FormatError(file_path, None, f"EXR declares an implausible size {width}x{height}")
    return height, width


def _check_part_header(file_path: Path, header: dict[str, Any], part_label: str) -> None:
    import OpenEXR

    storage = header.get("type")
    if storage in (OpenEXR.deepscanline, OpenEXR.deeptile):
        raise FormatError(file_path, None, f"{part_label}is a deep image (several samples per pixel); "
                            "flatten it first (e.g. with Nuke's DeepToImage or oiiotool --flatten)")
    if storage == OpenEXR.tiledimage:
        tiles = header.get("tiles")
        if tiles is not None and getattr(tiles, "mode", OpenEXR.ONE_LEVEL) != OpenEXR.ONE_LEVEL:
            raise FormatError(file_path, None, f"{part_label}is a mip/rip-mapped tiled image (a texture); "
                                "write single-level tiles or scanlines")
    for channel in header.get("channels", []) or []:
        if getattr(channel, "xSampling", 1) != 1 or getattr(channel, "ySampling", 1) != 1:
            raise FormatError(file_path, getattr(channel, "name", None),
                                f"{part_label}channel is sub-sampled ({channel.xSampling}x{channel.ySampling}); "
                                "only full-resolution channels are supported")


def read_exr_header(path: str | os.PathLike[str]) -> tuple[int, int, list[dict[str, Any]]]:
    """Size and the headers of every part, checked, without reading any pixel.

    Returns:
        ``(height, width, headers)``; every part has the same data window.

    Raises:
        FormatError: non-EXR, corrupt/truncated header, implausible size, deep or
            mip-mapped image, sub-sampled channels, parts of different sizes.
    """
    import OpenEXR

    file_path = Path(path)
    _check_magic(file_path)
    try:
        with OpenEXR.File(str(file_path), header_only=True) as exr:
            # the header dicts are only valid while the file is open: copy them
            headers = [dict(part.header) for part in exr.parts]
            names = [part.name() for part in exr.parts]
    except Exception as exc:  # the bindings raise RuntimeError for every kind of damage
        raise FormatError(file_path, None, f"corrupt or truncated EXR header: {exc}") from None
    if not headers:
        raise FormatError(file_path, None, "EXR file has no image part")
    size: tuple[int, int] | None = None
    for index, header in enumerate(headers):
        label = f"part {index} ('{names[index]}') " if len(headers) > 1 else ""
        part_size = _part_size(file_path, header)
        _check_part_header(file_path, header, label)
        if size is None:
            size = part_size
        elif part_size != size:
            raise FormatError(file_path, None, f"{label}has size {part_size[1]}x{part_size[0]}, "
                                f"part 0 has {size[1]}x{size[0]}: parts must share one data window")
    assert size is not None
    for header, name in zip(headers, names):
        header["_part_name"] = name
    return size[0], size[1], headers


def read_exr(
    path: str | os.PathLike[str], *, expected_size: tuple[int, int] | None = None
) -> ExrImage:
    """Read every channel of every part of an EXR file.

    Args:
        path: the file.
        expected_size: ``(height, width)``; checked on the header before any pixel is read.

    Returns:
        An :class:`ExrImage`.

    Raises:
        FormatError: see the module docstring; also a size different from ``expected_size``
            and a channel of another type than HALF, FLOAT or UINT.
    """
    file_path = Path(path)
    height, width, headers = read_exr_header(file_path)
    if expected_size is not None and (height, width) != tuple(expected_size):
        raise FormatError(
            file_path, None,
            f"frame size {width}x{height} differs from the expected {expected_size[1]}x{expected_size[0]}",
        )
    import OpenEXR

    try:
        with OpenEXR.File(str(file_path), separate_channels=True) as exr:
            per_part = [
                (part.name(), {name: channel.pixels for name, channel in part.channels.items()})
                for part in exr.parts
            ]
    except Exception as exc:
        raise FormatError(file_path, None, f"corrupt or truncated EXR pixel data: {exc}") from None
    if len(per_part) != len(headers):
        raise FormatError(file_path, None, "corrupt or truncated EXR pixel data (a part could not be decoded)")
    channels: dict[str, np.ndarray] = {}
    for part_name, part_channels in per_part:
        for name, pixels in part_channels.items():
            if not isinstance(pixels, np.ndarray) or pixels.dtype not in (np.float16, np.float32, np.uint32):
                kind = getattr(pixels, "dtype", type(pixels).__name__)
                raise FormatError(file_path, name, f"channel type {kind} is not HALF, FLOAT or UINT")
            if pixels.shape != (height, width):
                raise FormatError(file_path, name, f"channel has shape {pixels.shape}, expected {(height, width)}")
    if len(per_part) == 1:
        channels = dict(per_part[0][1])
    else:
        counts: dict[str, int] = {}
        for _part, part_channels in per_part:
            for name in part_channels:
                counts[name] = counts.get(name, 0) + 1
        for part_name, part_channels in per_part:
            for name, pixels in part_channels.items():
                channels[f"{part_name}.{name}"] = pixels
                if counts[name] == 1:
                    channels.setdefault(name, pixels)
    header = {k: v for k, v in headers[0].items() if k != "_part_name"}
    return ExrImage(file_path, height, width, channels, header, [name for name, _ in per_part])
