"""Read ssr-seq frames: the layers of one EXR file (:func:`read_exr_layers`) and a whole
sequence with lazy, checked per-frame loading (:class:`Sequence`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from .errors import FormatError
from .exr import read_exr
from .frame_checks import find_value_problem, sanitize_color
from .meta import read_meta
from .spec import FRAME_RE, LAYERS, apply_subpixel_pattern, exr_channel_names, frame_filename

__all__ = ["Sequence", "SequenceMeta", "read_exr_layers"]


def read_exr_layers(
    path: str | os.PathLike[str],
    names: Iterable[str] | None = None,
    *,
    expected_size: tuple[int, int] | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Read docs/format.md layers from one EXR file.

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
        channel_names = exr_channel_names(name)
        found = [c for c in channel_names if c in raw]
        if not found:
            continue
        if len(found) != len(channel_names):
            missing = [c for c in channel_names if c not in raw]
            raise FormatError(file_path, missing[0], f"layer '{name}' is incomplete: missing {', '.join(missing)}")
        layers[name] = np.stack([raw[c].astype(np.float32) for c in channel_names], axis=-1)
    return layers, raw


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
    file are filled with their docs/format.md defaults. Frame files are checked to exist with
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
            int(m.group(1)) for p in self.path.iterdir() if (m := FRAME_RE.match(p.name))
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

    def read_layers(
        self, index: int, names: Iterable[str] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """The first half of :meth:`read_frame`: frame ``index``'s layers as stored (``names``,
        default every known layer present) and its raw EXR channels, read once and checked
        against ``meta.json``'s size but not yet by :meth:`check_layers`."""
        return read_exr_layers(self.frame_path(index), names, expected_size=(self.height, self.width))

    def check_layers(self, index: int, layers: dict[str, np.ndarray]) -> None:
        """The second half: required layers, ``mask`` against ``sampling``, and the value
        checks (with ``sanitize_color``, bad ``color`` values are replaced in ``layers``)."""
        file_path = self.frame_path(index)
        for name, spec in LAYERS.items():
            if spec.required and name not in layers:
                raise FormatError(file_path, exr_channel_names(name)[0], f"required layer '{name}' is missing")
        if self.sampling == "full" and "mask" in layers:
            raise FormatError(file_path, "mask.Y", "mask is present but meta.json sampling is 'full'")
        if self.sampling == "subpixel-2x2" and "mask" not in layers:
            raise FormatError(file_path, "mask.Y", "mask is missing but meta.json sampling is 'subpixel-2x2'")
        if self.sanitize_color and "color" in layers:
            layers["color"] = sanitize_color(layers["color"])
        problem = find_value_problem(layers)
        if problem is not None:
            raise FormatError(file_path, problem.channel, problem.problem)

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
        layers, _raw = self.read_layers(index, [n for n in LAYERS if n in read_names])
        self.check_layers(index, layers)
        shape = (self.height, self.width)
        result: dict[str, np.ndarray] = {}
        for name in wanted:
            if name in layers:
                result[name] = layers[name]
            elif name in ("reference", "reference_albedo"):
                if explicit:
                    raise FormatError(file_path, exr_channel_names(name)[0], f"layer '{name}' is missing (needed for training/eval)")
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
