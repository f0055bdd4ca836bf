"""The frame contract: the one definition of every number the engine's parts must agree on.

Everything else imports these (the packer, the network, training, export, the runtime
backends, the benches); the native extension defines the same values in
``runtime/include/ssr_pack.h`` and ``tests/runtime/test_native_pack.py`` asserts they are
equal.

**Input frame** (``FRAME_LAYERS``): a dict of ``float32 [H, W, C]`` layers in docs/format.md's
encodings (linear radiance, world-space unit normals, view depth, pixel motion towards the
previous frame, x right / y down).

**Packed planes** (``PACKED_PLANES``): one C-contiguous ``float32 [19, H, W]`` array:

====== =============== ==========================================================
planes name            encoding
====== =============== ==========================================================
0-2    irradiance      ``log1p(color / (albedo' + ALBEDO_EPS))`` where ``mask == 1``, else 0
3-5    albedo          ``albedo'``: as read, in [0, 1], plus the specular floor (below)
6-8    normal          world space, unit length (0 for misses)
9      depth           ``depth / max(depth[depth > 0])`` of this frame; 0 for misses
10     roughness       as read
11     metallic        as read
12     shadow          as read (traced: 0 where ``mask == 0``)
13     mask            1 where colour was traced this frame
14-16  transparent     as read
17-18  motion          pixels, x right / y down (docs/format.md convention)
====== =============== ==========================================================

Planes 0-13 are docs/method.md's 14-channel state vector ``x_t``.

**Demodulation albedo** ``albedo' = albedo + specular_floor * (1 - roughness) * (1 - metallic)``
(per pixel, the same for R, G, B; :func:`specular_floor_offset`). ``specular_floor`` is a
property of the model (``ModelConfig.specular_floor``, default 0: ``albedo' = albedo``, the
contract of every model trained before it existed). The G-buffer albedo of a coated
dielectric is its diffuse reflectance, but its specular coat reflects light that does not
scale with it; a floor on smooth, non-metallic surfaces keeps a filter in demodulated
space from multiplying the diffuse texture back onto that light (docs/benchmarks-history.md section 18).

**Stream state** between frames: ``acc`` ``float32 [1, 14, H, W]`` (the accumulated state
``A_{t-1}``, same plane order as packed planes 0-13) and ``prev_out`` ``float32
[1, 3, H, W]`` (the previous frame's log-irradiance output ``y_{t-1}``). An exported step
graph has inputs ``GRAPH_INPUTS`` and outputs ``GRAPH_OUTPUTS``.

**Sizes**: the U-Net needs H and W to be multiples of ``SIZE_MULTIPLE``; the model pads
other sizes itself. **Subpixel pattern**: frame ``t`` traces pixel ``PATTERN[t % 4]``
(``(dx, dy)``) of every 2x2 tile.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ALBEDO_EPS",
    "CONTRACT_VERSION",
    "FRAME_LAYERS",
    "GRAPH_INPUTS",
    "GRAPH_INPUTS_NATIVE",
    "GRAPH_INPUTS_PREWARPED",
    "GRAPH_OUTPUTS",
    "GRAPH_OUTPUTS_NATIVE",
    "HISTORY_CAP_MIN",
    "HISTORY_DEPTH_REL",
    "HISTORY_DEPTH_SLOPE",
    "HISTORY_MODES",
    "HISTORY_NORMAL_COS",
    "HISTORY_VARIANCE_REL",
    "HISTORY_ROUGHNESS_FULL",
    "RULE_HISTORY_CAP",
    "OUTPUT_CHANNELS",
    "PACKED_CHANNELS",
    "PACKED_PLANES",
    "PATTERN",
    "SIZE_MULTIPLE",
    "SPECULAR_FLOOR",
    "SLICES",
    "STAGE_CHANNELS",
    "STAGE_SIGNAL_PLANES",
    "STAGE_FEATURE_PREV",
    "LEGACY_VIEW_FLOOR",
    "STATE_CHANNELS",
    "GRAPH_CHANNELS",
    "Plane",
    "specular_floor_offset",
]

CONTRACT_VERSION = 3
"""Bumped whenever anything below or the native stages' C interface (``ssr_stages.h``)
changes meaning; stored with exported graphs. 2: the native stages run ``history="rule"``
models (``ssr_stage_weights.history_cap`` replaces ``keep_untraced``; a ``history_valid``
plane between the two stages). 3: ``ssr_stage_accumulate`` takes the frame's extent inside
padded planes (``frame_height``, ``frame_width``), so an odd-sized frame streams as torch's."""

ALBEDO_EPS = 0.004
"""Added to albedo before demodulation and again when re-modulating (docs/method.md)."""

SPECULAR_FLOOR = 0.0
"""Default ``ModelConfig.specular_floor``: the demodulation albedo is the G-buffer albedo."""


def specular_floor_offset(roughness, metallic, specular_floor: float):  # type: ignore[no-untyped-def]
    """``specular_floor * clip(1 - roughness, 0, 1) * clip(1 - metallic, 0, 1)``: what the
    packer adds to every albedo channel (the module docstring's ``albedo'``).

    Args:
        roughness, metallic: arrays of the same shape (NumPy or torch), as read.
        specular_floor: the model's floor, >= 0.

    >>> import numpy as np
    >>> specular_floor_offset(np.array([0.0, 0.5, 1.0]), np.array([0.0, 0.0, 0.0]), 0.2).tolist()
    [0.2, 0.1, 0.0]
    """
    return specular_floor * (1 - roughness).clip(0, 1) * (1 - metallic).clip(0, 1)


SIZE_MULTIPLE = 4
"""The U-Net's two 2x downsamplings need H and W to be multiples of this."""

PATTERN: tuple[tuple[int, int], ...] = ((0, 0), (1, 1), (1, 0), (0, 1))
"""Traced pixel ``(dx, dy)`` inside each 2x2 tile for frame ``t % 4``."""


@dataclass(frozen=True)
class Plane:
    """One named range of the packed planes."""

    name: str
    start: int
    channels: int
    encoding: str

    @property
    def slice(self) -> slice:
        return slice(self.start, self.start + self.channels)


PACKED_PLANES: tuple[Plane, ...] = (
    Plane("irradiance", 0, 3, "log1p(color / (albedo + ALBEDO_EPS)) where mask == 1, else 0"),
    Plane("albedo", 3, 3, "as read, in [0, 1]"),
    Plane("normal", 6, 3, "world space, unit length, 0 for misses"),
    Plane("depth", 9, 1, "depth / max(depth[depth > 0]) of the frame, 0 for misses"),
    Plane("roughness", 10, 1, "as read"),
    Plane("metallic", 11, 1, "as read"),
    Plane("shadow", 12, 1, "as read (0 where mask == 0)"),
    Plane("mask", 13, 1, "1 where colour was traced this frame"),
    Plane("transparent", 14, 3, "as read"),
    Plane("motion", 17, 2, "pixels, x right, y down, towards the previous frame"),
)
PACKED_CHANNELS = 19
STATE_CHANNELS = 14
"""Channels of the accumulated state ``acc`` (packed planes 0-13)."""
OUTPUT_CHANNELS = 3

SLICES: dict[str, slice] = {plane.name: plane.slice for plane in PACKED_PLANES}
SLICES["state"] = slice(0, STATE_CHANNELS)
"""Named plane ranges of the packed ``[19, H, W]`` array (``state`` = planes 0-13)."""

FRAME_LAYERS: dict[str, int] = {
    "color": 3,
    "albedo": 3,
    "normal": 3,
    "depth": 1,
    "roughness": 1,
    "metallic": 1,
    "shadow": 1,
    "mask": 1,
    "transparent": 3,
    "motion": 2,
}
"""Input layers of one frame and their channel counts, in packing order."""

GRAPH_INPUTS: tuple[str, ...] = ("packed", "acc", "prev_out", "reset")
GRAPH_INPUTS_PREWARPED: tuple[str, ...] = ("packed", "warped_acc", "warped_prev", "reset")
"""Inputs of a graph exported with the warps outside (``ssr export --warp outside``): the
runtime passes ``W(acc)`` and ``W(prev_out)``, warped by the frame's motion planes."""
GRAPH_OUTPUTS: tuple[str, ...] = ("color", "acc_new", "out_log")
GRAPH_CHANNELS: dict[str, int] = {
    "packed": PACKED_CHANNELS, "acc": STATE_CHANNELS, "prev_out": OUTPUT_CHANNELS, "reset": 1,
    "color": OUTPUT_CHANNELS, "acc_new": STATE_CHANNELS, "out_log": OUTPUT_CHANNELS,
}
"""Channel count of every graph tensor (all ``[1, C, H, W]``; ``reset`` is ``[1, 1, 1, 1]``);
``warped_acc`` / ``warped_prev`` have the channels of ``acc`` / ``prev_out``."""


GRAPH_INPUTS_NATIVE: tuple[str, ...] = ("down", "prev_half", "signal_half")
GRAPH_OUTPUTS_NATIVE: tuple[str, ...] = ("coarse", "carry")
"""Inputs / outputs of a graph exported with native pixel stages (``ssr export --pixel-stages
native``, :mod:`ssr.model.pixel_stages`), all at half resolution: the runtime runs every
full-resolution stage itself (``runtime/include/ssr_stages.h``) around this graph."""
STAGE_CHANNELS: dict[str, int] = {"features": 34, "prev": 3, "prev_half": 3, "signal_half": 4, "coarse": 3,
                                  "carry": 4}
"""Channels of the native-stage tensors (``guide`` and ``down`` have the model's ``c0`` /
``c1``). ``features`` is the U-Net's full-resolution input (never materialised): planes
0-13 ``x_t``, 14-27 the log view of ``A_t``, 28-30 transparent, 31-33 the warped previous
output ``prev``; ``prev_half``, ``signal_half``, ``coarse``, ``carry`` are at half
resolution."""
STAGE_FEATURE_PREV = 31
"""First plane of the warped previous output inside ``features``."""
STAGE_SIGNAL_PLANES: dict[str, int] = {"irradiance": 4, "dual": 7}
"""Planes of ``signal_half`` and ``carry`` per model signal (``ssr.model.ModelConfig.signal``):
``(A_irr, A_mask)``, or with ``"dual"`` also the radiance numerator ``A_irr * (albedo +
ALBEDO_EPS)``; ``STAGE_CHANNELS`` holds the ``"irradiance"`` counts."""
LEGACY_VIEW_FLOOR = 1e-4
"""The ``A_mask`` floor of the state's log view, ``log1p(A_irr / max(A_mask, floor))``, in
models saved before ``ssr.model.ModelConfig.view_floor`` existed: what their weights, graphs
(metadata ``ssr.model_config`` without ``view_floor``) and the native stages' weight
records (``view_floor`` 0) mean (``SSR_STAGE_LEGACY_VIEW_FLOOR``)."""

HISTORY_MODES = ("learned", "rule")
"""Values of ``ssr.model.ModelConfig.history``: how the state's signal (irradiance and its
count) follows time: ``"learned"`` (the TFA's blend, SPEC) or ``"rule"``
(:mod:`ssr.model.history`: validity-tested reprojection and sample counting)."""

RULE_HISTORY_CAP = 32.0
"""Default ``ModelConfig.history_cap`` of a ``history="rule"`` model: the most samples a rough
surface's history counts (128 frames at 1/4 spp)."""
HISTORY_CAP_MIN = 2.0
"""The cap on mirrors and glass (:func:`ssr.model.history.history_cap_map`)."""
HISTORY_ROUGHNESS_FULL = 0.5
"""Microfacet alpha from which a surface keeps the full cap; below it the cap falls linearly."""
HISTORY_VARIANCE_REL = 1e-3
"""The rule history's view subtracts this times the squared mean luminance from the samples'
luminance variance before its square root (``ssr.model.history.history_view``): spreads
below ~3 % of the mean read 0. Without it a pixel whose samples agree (one sample, or a
constant one) sits where ``sqrt(M2 / N - mean^2)`` is float32 cancellation noise, which
differs between runtimes and which a trained TFA amplifies."""
HISTORY_NORMAL_COS = 0.9
"""A reprojection tap is valid only if its normal and the pixel's have a dot product >= this."""
HISTORY_DEPTH_REL = 0.05
"""... and their packed depths differ by at most this fraction of the pixel's depth ..."""
HISTORY_DEPTH_SLOPE = 2.0
"""... plus this many times the pixel's one-sided depth slope per pixel (grazing surfaces)."""


def _check() -> None:
    end = 0
    for plane in PACKED_PLANES:
        assert plane.start == end, plane
        end = plane.start + plane.channels
    assert end == PACKED_CHANNELS
    assert STAGE_CHANNELS["features"] == 2 * STATE_CHANNELS + SLICES["transparent"].stop - SLICES["transparent"].start + 3
    assert STAGE_FEATURE_PREV == STAGE_CHANNELS["features"] - 3
    assert STAGE_SIGNAL_PLANES["irradiance"] == STAGE_CHANNELS["signal_half"] == STAGE_CHANNELS["carry"]
    assert [p.name for p in PACKED_PLANES if p.name != "irradiance"] == [n for n in FRAME_LAYERS if n != "color"]


_check()
