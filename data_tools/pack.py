"""Per-frame input packing: the one definition of docs/method.md's pre-processing.

A frame (``dict`` of ``float32 [H, W, C]`` layers, see :mod:`ssr.data_tools.format`) is
turned into one C-contiguous ``float32 [19, H, W]`` array of input planes, laid out
and encoded as :mod:`ssr.data_tools.contract` defines (the one definition of the planes).

:func:`pack_frame` uses the native multithreaded implementation (``ssr._native``) when
it is built and falls back to :func:`pack_frame_reference`, the pure NumPy twin that
the native code is tested against. The training loader and the runtime both call
:func:`pack_frame`.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from .contract import ALBEDO_EPS, FRAME_LAYERS, PACKED_CHANNELS, SLICES, STATE_CHANNELS, specular_floor_offset

__all__ = [
    "ALBEDO_EPS",
    "PACKED_CHANNELS",
    "PACK_LAYERS",
    "SLICES",
    "STATE_CHANNELS",
    "PackError",
    "native_available",
    "pack_frame",
    "pack_frame_reference",
    "unpack_color",
    "unpack_color_reference",
]

PACK_LAYERS: tuple[tuple[str, int], ...] = tuple(FRAME_LAYERS.items())
"""Input layers of :func:`pack_frame` and their channel counts, in the argument order of
``ssr._native.pack_frame``."""


class PackError(ValueError):
    """A frame handed to :func:`pack_frame` is missing a layer or has the wrong shape."""


def _checked_layers(frame: Mapping[str, np.ndarray]) -> tuple[list[np.ndarray], int, int]:
    """Return the layers in packing order as C-contiguous float32 ``[H, W, C]`` arrays."""
    if "color" not in frame:
        raise PackError("pack_frame: layer 'color' is missing from the frame")
    color = np.asarray(frame["color"])
    if color.ndim != 3:
        raise PackError(f"pack_frame: layer 'color' must be [H, W, 3], got shape {color.shape}")
    height, width = color.shape[:2]
    layers: list[np.ndarray] = []
    for name, channels in PACK_LAYERS:
        if name not in frame:
            raise PackError(f"pack_frame: layer '{name}' is missing from the frame")
        layer = np.asarray(frame[name])
        if layer.ndim == 2 and channels == 1:
            layer = layer[:, :, None]
        if layer.shape != (height, width, channels):
            raise PackError(
                f"pack_frame: layer '{name}' must have shape {(height, width, channels)}, "
                f"got {layer.shape}"
            )
        layers.append(np.ascontiguousarray(layer, dtype=np.float32))
    return layers, height, width


def _check_floor(specular_floor: float) -> float:
    floor = float(specular_floor)
    if not 0 <= floor < float("inf"):
        raise PackError(f"pack_frame: specular_floor must be a finite number >= 0, got {specular_floor!r}")
    return floor


def pack_frame_reference(frame: Mapping[str, np.ndarray], specular_floor: float = 0.0) -> np.ndarray:
    """Pack one frame with plain NumPy (the reference for the native path).

    Args:
        frame: layers ``color, albedo, normal, depth, roughness, metallic, shadow, mask,
            transparent, motion``, each ``float32 [H, W, C]`` (C = 3, 3, 3, 1, 1, 1, 1, 1,
            3, 2), linear HDR colour, world-space normals, view depth in scene units.
        specular_floor: the model's ``ModelConfig.specular_floor`` (the contract's
            demodulation albedo; 0 = the G-buffer albedo).

    Returns:
        ``float32 [19, H, W]``, C-contiguous (see the module docstring for the planes).

    >>> import numpy as np
    >>> h, w = 2, 2
    >>> frame = {n: np.zeros((h, w, c), np.float32) for n, c in PACK_LAYERS}
    >>> frame["mask"][0, 0] = 1; frame["color"][0, 0] = np.e - 1; frame["albedo"][:] = 0.996
    >>> packed = pack_frame_reference(frame)
    >>> packed.shape, round(float(packed[0, 0, 0]), 4), float(packed[0, 1, 1])
    ((19, 2, 2), 1.0, 0.0)
    """
    floor = _check_floor(specular_floor)
    layers, height, width = _checked_layers(frame)
    color, albedo, normal, depth, roughness, metallic, shadow, mask, transparent, motion = layers
    packed = np.empty((PACKED_CHANNELS, height, width), np.float32)
    traced = mask[:, :, 0] == 1.0
    if floor > 0:
        albedo = albedo + specular_floor_offset(roughness, metallic, np.float32(floor))
    irradiance = np.log1p(color / (albedo + np.float32(ALBEDO_EPS)))
    packed[SLICES["irradiance"]] = np.where(traced[None], irradiance.transpose(2, 0, 1), 0.0)
    packed[SLICES["albedo"]] = albedo.transpose(2, 0, 1)
    packed[SLICES["normal"]] = normal.transpose(2, 0, 1)
    depth_plane = depth[:, :, 0]
    valid = depth_plane > 0
    max_depth = np.float32(depth_plane[valid].max()) if valid.any() else np.float32(0)
    if max_depth > 0:
        packed[9] = np.where(valid, depth_plane / max_depth, 0.0)
    else:
        packed[9] = 0.0
    packed[10] = roughness[:, :, 0]
    packed[11] = metallic[:, :, 0]
    packed[12] = shadow[:, :, 0]
    packed[13] = mask[:, :, 0]
    packed[SLICES["transparent"]] = transparent.transpose(2, 0, 1)
    packed[SLICES["motion"]] = motion.transpose(2, 0, 1)
    return packed


def native_available() -> bool:
    """True when the compiled ``ssr._native`` module is importable."""
    try:
        from ssr import _native  # noqa: F401
    except ImportError:
        return False
    return True


def pack_frame(
    frame: Mapping[str, np.ndarray], *, out: np.ndarray | None = None, native: bool | None = None,
    specular_floor: float = 0.0,
) -> np.ndarray:
    """Pack one frame into ``float32 [19, H, W]`` network input planes.

    Args:
        frame: see :func:`pack_frame_reference`.
        out: optional preallocated C-contiguous ``float32 [19, H, W]`` destination
            (native path only; the NumPy path copies into it).
        native: force (True) or forbid (False) the native path; default: native when built.
        specular_floor: the model's ``ModelConfig.specular_floor`` (the contract's
            demodulation albedo), applied inside the native packer.

    Returns:
        The packed planes (``out`` when given).
    """
    use_native = native_available() if native is None else native
    if not use_native:
        packed = pack_frame_reference(frame, specular_floor)
        if out is not None:
            out[...] = packed
            return out
        return packed
    from ssr import _native

    layers, height, width = _checked_layers(frame)
    if out is None:
        out = np.empty((PACKED_CHANNELS, height, width), np.float32)
    elif out.shape != (PACKED_CHANNELS, height, width) or out.dtype != np.float32 or not out.flags.c_contiguous:
        raise PackError(
            f"pack_frame: 'out' must be C-contiguous float32 {(PACKED_CHANNELS, height, width)}, "
            f"got {out.dtype} {out.shape}"
        )
    _native.pack_frame(*layers, out, specular_floor=_check_floor(specular_floor))
    return out


def unpack_color_reference(planes: np.ndarray, height: int, width: int) -> np.ndarray:
    """NumPy twin of the native post-processing: colour planes ``[C >= 3, Hp, Wp]`` (or
    ``[1, C, Hp, Wp]``) -> ``float32 [height, width, 3]`` cropped from the top-left, values
    that are not > 0 (negative, NaN) set to 0."""
    array = np.asarray(planes, np.float32)
    if array.ndim == 4:
        array = array[0]
    rgb = array[:3, :height, :width].transpose(1, 2, 0)
    return np.ascontiguousarray(np.where(rgb > 0, rgb, np.float32(0)), dtype=np.float32)


def unpack_color(
    planes: np.ndarray, height: int | None = None, width: int | None = None, *,
    out: np.ndarray | None = None, native: bool | None = None,
) -> np.ndarray:
    """The network's colour output -> the displayable linear HDR image.

    Args:
        planes: ``float32 [C >= 3, Hp, Wp]`` or ``[1, C, Hp, Wp]`` (planes 0-2 are R, G, B),
            e.g. a graph's padded ``color`` output.
        height, width: crop (default: the whole planes).
        out: optional preallocated C-contiguous ``float32 [H, W, 3]`` destination.
        native: force / forbid the native path (default: native when built).

    Returns:
        ``float32 [H, W, 3]`` C-contiguous, values that are not > 0 set to 0.
    """
    array = np.asarray(planes)
    height = array.shape[-2] if height is None else int(height)
    width = array.shape[-1] if width is None else int(width)
    use_native = native_available() if native is None else native
    if not use_native:
        result = unpack_color_reference(array, height, width)
        if out is not None:
            out[...] = result
            return out
        return result
    from ssr import _native

    if out is None:
        out = np.empty((height, width, 3), np.float32)
    _native.unpack_color(np.ascontiguousarray(array, np.float32), height, width, out)
    return out
