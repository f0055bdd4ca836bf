"""The channel map: where each ssr-seq layer comes from in another tool's files, and how
to convert it. Every layout of ``ssr import`` is one :class:`ChannelMap`; the ``custom``
layout reads one from a TOML file (documented in ``docs/import.md``).

Conversions, each explicit:

* **motion** (:class:`MotionSource`): ``units`` = ``pixels`` | ``uv`` (the image is 1 wide
  and 1 high) | ``ndc`` (the image is 2 wide and 2 high); ``y_axis`` = ``down`` | ``up``;
  ``points_to`` = ``previous`` (``p + v`` is where the surface was in the previous frame:
  docs/format.md's) | ``from_previous`` (``v = p - p_prev``, a velocity; Unity, Unreal, most TAA
  buffers) | ``next`` (``p + v`` is where it will be in the next frame; converted as
  ``-v``, exact only for motion that is constant over the two frames).
* **normal** (:class:`NormalSource`): ``space`` = ``world`` | ``camera`` (then
  ``convention`` names the camera axes, see :mod:`.camera`, and the camera's ``to_world``
  is needed); ``encoding`` = ``signed`` ([-1, 1]) | ``unsigned`` ([0, 1], ``n * 0.5 + 0.5``).
  Normals are renormalised, flipped to face the camera when the camera is known, 0 at misses.
* **depth** (:class:`DepthSource`): ``kind`` = ``view_z`` (distance along the viewing
  axis: docs/format.md's) | ``ray_distance`` (distance from the eye along the pixel's ray; needs
  the field of view); values that are not finite, ``<= 0`` or ``>= miss_above`` are misses
  (0). ``scale`` converts units or signs (``-1`` for OpenGL's negative view z);
  ``near_plane`` is added to hits when distances start on the near clip plane.
* **roughness** (:class:`RoughnessSource`): ``kind`` = ``alpha`` (the microfacet alpha:
  docs/format.md's) | ``perceptual`` (the artist-facing roughness of Blender's Principled BSDF,
  Unreal, glTF: ``alpha = r * r``).
* every source has ``scale`` (multiplied first).

A map given to another layout than ``custom`` (:func:`read_map`, :class:`MapOverrides`)
is merged over that layout's built-in map: a table's keys replace only those keys of the
layout's source for that layer (``[normal] space = "camera"`` alone is enough), and
``[sequence]`` keys replace only those settings.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from ..format import LAYERS, SAMPLING_MODES, FormatError
from .camera import CONVENTIONS

__all__ = [
    "ChannelMap",
    "DepthSource",
    "MapOverrides",
    "MotionSource",
    "NormalSource",
    "RoughnessSource",
    "SequenceSettings",
    "Source",
    "load_channel_map",
    "read_map",
]

MOTION_UNITS = ("pixels", "uv", "ndc")
MOTION_Y_AXES = ("down", "up")
MOTION_POINTS_TO = ("previous", "from_previous", "next")
NORMAL_SPACES = ("world", "camera")
NORMAL_ENCODINGS = ("signed", "unsigned")
DEPTH_KINDS = ("view_z", "ray_distance")
ROUGHNESS_KINDS = ("alpha", "perceptual")


@dataclass(frozen=True)
class Source:
    """Channels of one frame file that make up one ssr-seq layer.

    Attributes:
        channels: EXR channel names, in the order of the layer's components
            (``R, G, B`` / ``X, Y, Z`` / ``X, Y`` / one channel).
        file: key of the frame file holding them (``main`` unless the layout has several).
        scale: multiplied into the values before any other conversion.
    """

    channels: tuple[str, ...]
    file: str = "main"
    scale: float = 1.0


@dataclass(frozen=True)
class MotionSource(Source):
    units: str = "pixels"
    y_axis: str = "down"
    points_to: str = "previous"


@dataclass(frozen=True)
class NormalSource(Source):
    space: str = "world"
    convention: str = "mitsuba"
    encoding: str = "signed"


@dataclass(frozen=True)
class DepthSource(Source):
    kind: str = "view_z"
    miss_above: float | None = None
    near_plane: float = 0.0
    """View depth where the measured distance starts (Mitsuba 3 starts its rays on the
    near clip plane: ``z = t cos + near_clip``); added after the kind conversion."""


@dataclass(frozen=True)
class RoughnessSource(Source):
    kind: str = "alpha"
    """``alpha`` (microfacet alpha, docs/format.md's) or ``perceptual`` (``alpha = r * r``)."""


LAYER_SOURCE_TYPES: dict[str, type[Source]] = {
    name: {"motion": MotionSource, "normal": NormalSource, "depth": DepthSource,
           "roughness": RoughnessSource}.get(name, Source)
    for name in LAYERS
}


@dataclass(frozen=True)
class SequenceSettings:
    """Sequence-level facts the files do not hold (``[sequence]`` of a TOML map).

    Attributes:
        sampling: ``full`` (colour at every pixel) or ``subpixel-2x2`` (needs a mask source).
        spp: samples per traced pixel in ``color``.
        reference_spp: samples per pixel of the reference, None if unknown / absent.
        shadow_rays: rays behind the ``shadow`` layer (1 if it is absent).
        camera: camera sidecar path (relative to the source folder), or None.
        fov_y_deg: full vertical field of view where no sidecar gives it.
        cuts: frame indices (0-based, in import order) where the camera cuts.
        static_camera: the camera does not move (motion from it is 0 without a sidecar).
        scene, renderer: free text for ``meta.json``.
    """

    sampling: str = "full"
    spp: float = 1
    reference_spp: int | None = None
    shadow_rays: int = 1
    camera: str | None = None
    fov_y_deg: float | None = None
    cuts: tuple[int, ...] = ()
    static_camera: bool = False
    scene: str = ""
    renderer: str = ""


@dataclass(frozen=True)
class ChannelMap:
    """Layer name -> source, for every ssr-seq layer the data provides.

    ``color``, ``albedo`` and ``normal`` are required. ``depth`` may be absent (layouts
    without depth, such as OIDN's: depth becomes 1 where the normal is non-zero, 0
    elsewhere). ``motion`` may be absent (derived from the camera by reprojection of static
    geometry, 0 with a static camera, or every frame is a cut). Absent optional layers get
    docs/format.md's defaults on read.
    """

    sources: dict[str, Source]
    settings: SequenceSettings = field(default_factory=SequenceSettings)
    files: dict[str, str] = field(default_factory=dict)
    """File key -> path pattern with ``{frame}`` (custom layout only)."""

    def __post_init__(self) -> None:
        for name in ("color", "albedo", "normal"):
            if name not in self.sources:
                raise ValueError(f"channel map: layer '{name}' has no source")

    def files_needed(self) -> set[str]:
        return {source.file for source in self.sources.values()}


def _choice(where: str, key: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"{where}: '{key}' = {value!r}, expected one of {', '.join(allowed)}")
    return value


def _check_table(layer: str, table: dict[str, Any], where: str) -> dict[str, Any]:
    """The keys of one layer table, type- and choice-checked (``channels`` may be absent)."""
    if layer not in LAYERS:
        raise ValueError(f"{where}: unknown layer '{layer}' (known: {', '.join(LAYERS)})")
    kind = LAYER_SOURCE_TYPES[layer]
    allowed = {f.name for f in fields(kind)}
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})")
    values = dict(table)
    if "channels" in values:
        channels = values["channels"]
        if isinstance(channels, str):
            channels = [channels]
        expected = len(LAYERS[layer].suffixes)
        if not isinstance(channels, (list, tuple)) or not all(isinstance(c, str) for c in channels) \
                or len(channels) != expected:
            raise ValueError(f"{where}: 'channels' must list {expected} channel name(s) for layer '{layer}', "
                             f"got {channels!r}")
        values["channels"] = tuple(channels)
    if "file" in values and not isinstance(values["file"], str):
        raise ValueError(f"{where}: 'file' must be a file key (a string)")
    if "scale" in values:
        if isinstance(values["scale"], bool) or not isinstance(values["scale"], (int, float)):
            raise ValueError(f"{where}: 'scale' must be a number")
        values["scale"] = float(values["scale"])
    choices = {"units": MOTION_UNITS, "y_axis": MOTION_Y_AXES, "points_to": MOTION_POINTS_TO,
               "space": NORMAL_SPACES, "convention": tuple(CONVENTIONS), "encoding": NORMAL_ENCODINGS}
    if kind is DepthSource:
        choices["kind"] = DEPTH_KINDS
        if values.get("miss_above") is not None:
            values["miss_above"] = float(values["miss_above"])
        if "near_plane" in values:
            values["near_plane"] = float(values["near_plane"])
    if kind is RoughnessSource:
        choices["kind"] = ROUGHNESS_KINDS
    for key, allowed_values in choices.items():
        if key in values:
            _choice(where, key, values[key], allowed_values)
    return values


def make_source(layer: str, table: dict[str, Any], where: str) -> Source:
    """A :class:`Source` of the right type for ``layer`` from a TOML-like table, checked."""
    values = _check_table(layer, table, where)
    if "channels" not in values:
        expected = len(LAYERS[layer].suffixes)
        raise ValueError(f"{where}: 'channels' must list {expected} channel name(s) for layer '{layer}', got None")
    return LAYER_SOURCE_TYPES[layer](**values)


def _settings_values(table: dict[str, Any], where: str) -> dict[str, Any]:
    """The ``[sequence]`` keys given, checked (absent keys stay absent)."""
    if not isinstance(table, dict):
        raise ValueError("'sequence' must be a table ([sequence])")
    allowed = {f.name for f in fields(SequenceSettings)}
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})")
    values = dict(table)
    if "sampling" in values:
        _choice(where, "sampling", values["sampling"], SAMPLING_MODES)
    if "cuts" in values:
        cuts = values["cuts"]
        if not isinstance(cuts, list) or not all(isinstance(c, int) and c >= 0 for c in cuts):
            raise ValueError(f"{where}: 'cuts' must be a list of frame indices >= 0")
        values["cuts"] = tuple(cuts)
    for key, kinds in (("spp", (int, float)), ("reference_spp", int), ("shadow_rays", int),
                       ("fov_y_deg", (int, float)), ("static_camera", bool), ("camera", str),
                       ("scene", str), ("renderer", str)):
        if key in values and not isinstance(values[key], kinds):
            raise ValueError(f"{where}: '{key}' has the wrong type {type(values[key]).__name__}")
    return values


@dataclass(frozen=True)
class MapOverrides:
    """A TOML channel map as written, every key checked but nothing required yet.

    ``--from custom`` turns it into a full :class:`ChannelMap` (:meth:`channel_map`);
    every other layout merges it over its built-in map (:meth:`merge_over`).

    Attributes:
        path: the map file (named in every error).
        tables: layer -> the keys its table gives.
        settings: the ``[sequence]`` keys given.
        files: ``[files]``: file key -> path pattern with ``{frame}`` (custom layout only).
    """

    path: Path
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)

    def _error(self, problem: str) -> FormatError:
        return FormatError(self.path, None, problem)

    def channel_map(self) -> ChannelMap:
        """The complete map of ``--from custom``: ``[files]`` and a source with ``channels``
        for ``color``, ``albedo`` and ``normal`` are required."""
        try:
            if not self.files:
                raise ValueError("[files] must map file keys to path patterns, e.g. main = \"beauty.{frame:04d}.exr\"")
            sources: dict[str, Source] = {}
            for layer, table in self.tables.items():
                source = make_source(layer, table, f"[{layer}]")
                if source.file not in self.files:
                    raise ValueError(f"[{layer}] file = {source.file!r} is not a key of [files] ({', '.join(self.files)})")
                sources[layer] = source
            return ChannelMap(sources, SequenceSettings(**self.settings), dict(self.files))
        except (TypeError, ValueError) as exc:
            raise self._error(str(exc)) from None

    def merge_over(self, cmap: ChannelMap, layout: str) -> ChannelMap:
        """``cmap`` (a layout's built-in map) with this map's keys replacing its own.

        Raises:
            FormatError: naming the map file: ``[files]`` (only ``--from custom`` reads
                frame files by pattern), a new layer without ``channels``, a ``file`` key
                the layout does not have.
        """
        if self.files:
            raise self._error(f"[files] is only read by --from custom: --from {layout} finds its own frame files "
                              f"(file keys: {', '.join(sorted(cmap.files_needed()))}); leave [files] out to "
                              "override part of the layout")
        known_files = cmap.files_needed()
        sources = dict(cmap.sources)
        try:
            for layer, table in self.tables.items():
                base = sources.get(layer)
                if base is None and "channels" not in table:
                    raise ValueError(f"[{layer}]: --from {layout} has no '{layer}' source to merge over: "
                                     "give its 'channels'")
                merged = {**({f.name: getattr(base, f.name) for f in fields(base)} if base else {}), **table}
                source = make_source(layer, merged, f"[{layer}]")
                if source.file not in known_files:
                    raise ValueError(f"[{layer}] file = {source.file!r}: --from {layout} has no such file "
                                     f"(its file keys: {', '.join(sorted(known_files))})")
                sources[layer] = source
            settings = replace(cmap.settings, **self.settings)
            return ChannelMap(sources, settings, cmap.files)
        except (TypeError, ValueError) as exc:
            raise self._error(str(exc)) from None


def read_map(path: str | os.PathLike[str]) -> MapOverrides:
    """Read a TOML channel map (``docs/import.md``) without requiring anything: every
    table, key, type and conversion is checked, ``channels`` counts included.

    Raises:
        FormatError: naming the map file and the problem (missing file, TOML syntax,
            unknown layer or key, wrong channel count, unknown conversion).
    """
    map_path = Path(path)
    if not map_path.is_file():
        raise FormatError(map_path, None, "channel map not found")
    try:
        data = tomllib.loads(map_path.read_text())
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise FormatError(map_path, None, f"channel map is not valid TOML: {exc}") from None
    try:
        files = data.pop("files", {})
        if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
            raise ValueError("[files] must map file keys to path patterns, e.g. main = \"beauty.{frame:04d}.exr\"")
        for key, pattern in files.items():
            if "{frame" not in pattern:
                raise ValueError(f"[files] {key} = {pattern!r} has no {{frame}} placeholder")
        settings = _settings_values(data.pop("sequence", {}), "[sequence]")
        tables: dict[str, dict[str, Any]] = {}
        for layer, table in data.items():
            if not isinstance(table, dict):
                raise ValueError(f"'{layer}' must be a table ([{layer}])")
            tables[layer] = _check_table(layer, table, f"[{layer}]")
        return MapOverrides(map_path, tables, settings, dict(files))
    except ValueError as exc:
        raise FormatError(map_path, None, str(exc)) from None


def load_channel_map(path: str | os.PathLike[str]) -> ChannelMap:
    """Read a complete custom-layout TOML map (``docs/import.md``), every key checked.

    Raises:
        FormatError: naming the map file and the problem (TOML syntax, unknown layer or
            key, wrong channel count, unknown conversion, no ``[files]``, a source file
            key without a ``[files]`` pattern, a required layer without a source).
    """
    return read_map(path).channel_map()
