"""Rule-based temporal accumulation (``ModelConfig.history="rule"``; docs/training.md,
"Rule-based history").

The learned TFA blend keeps ~0.9 of the current frame even at pixels the frame did not
trace, so a pixel's history is gone one frame after its last sample. This module
accumulates the *signal* (demodulated linear irradiance) by rules that keep valid history,
as SVGF and NRD do, and leaves the network to filter it:

* **Reprojection with validity per tap.** Each of the 2x2 bilinear taps of ``p + motion``
  in the previous frame is tested against the current pixel: inside the frame, the
  previous normal within :data:`~ssr.data_tools.contract.HISTORY_NORMAL_COS` of the
  current one, the previous depth within ``HISTORY_DEPTH_REL x depth + HISTORY_DEPTH_SLOPE x
  slope`` of the current one (``slope``: the current depth's one-sided screen-space
  gradient, :func:`depth_slope`), or both misses. Invalid taps get weight 0, the others
  keep their bilinear weights (:func:`reproject`); the caller renormalises by their sum.
  A pixel with no valid tap starts over with no history.
* **Sample counting** (:func:`accumulate_samples`). The state holds the sum of the samples
  ``A_irr``, their count ``N`` and the sum of their squared luminance ``M2``. An untraced
  pixel carries its history unchanged; a traced one adds its sample with weight 1, so the
  mean ``A_irr / N`` blends it in with ``1 / N``, until ``N`` reaches the pixel's cap
  (:func:`history_cap_map`: ``ModelConfig.history_cap`` on rough surfaces, down to
  ``HISTORY_CAP_MIN`` on mirrors and glass, whose reflections move unlike the surface),
  beyond which the oldest samples fade.

State layout of a ``history="rule"`` model (``[B, 14, H, W]``, the packed planes' order):
0-2 ``A_irr`` (sum of linear irradiance samples), 3-5 albedo, 10 roughness, 11 metallic
(the learned TFA blend, as in every model), 6-8 and 9: this frame's normal and depth (the
previous G-buffer the next frame tests its taps against), 12 ``M2`` (sum of squared
luminance samples), 13 ``N`` (sample count). :func:`history_view` is the network's view.

Every function is functional and exportable (no Python control flow on tensor values).

Example:
    >>> import torch
    >>> count = torch.full((1, 1, 1, 1), 3.0)
    >>> total = torch.full((1, 3, 1, 1), 6.0)                    # 3 samples, mean 2
    >>> sample, traced = torch.full((1, 3, 1, 1), 6.0), torch.ones(1, 1, 1, 1)
    >>> new_total, new_count, _ = accumulate_samples(total, count, count * 0, sample, traced,
    ...                                              torch.full((1, 1, 1, 1), 32.0))
    >>> float(new_count), float(new_total[0, 0] / new_count)      # 4 samples, mean 3
    (4.0, 3.0)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ssr.data_tools.contract import (HISTORY_CAP_MIN, HISTORY_DEPTH_REL, HISTORY_DEPTH_SLOPE, HISTORY_NORMAL_COS,
                                     HISTORY_ROUGHNESS_FULL, HISTORY_VARIANCE_REL, SLICES)

from .warp import _check_4d

__all__ = [
    "LUMINANCE",
    "accumulate_samples",
    "assemble_state",
    "core_step",
    "depth_slope",
    "history_cap_map",
    "history_view",
    "luminance",
    "reproject",
    "split_history",
    "tap_validity",
    "update_signal",
]

LUMINANCE = (0.2126, 0.7152, 0.0722)
"""Rec. 709 weights of the luminance whose second moment the state keeps."""

_IRRADIANCE, _NORMAL, _DEPTH = SLICES["irradiance"], SLICES["normal"], SLICES["depth"]
_SHADOW, _MASK = SLICES["shadow"], SLICES["mask"]
_ALBEDO, _ROUGHNESS, _METALLIC = SLICES["albedo"], SLICES["roughness"], SLICES["metallic"]
_STATE, _TRANSPARENT, _MOTION = SLICES["state"], SLICES["transparent"], SLICES["motion"]
_COUNT_FLOOR = 1e-6


def luminance(rgb: Tensor) -> Tensor:
    """``[B, 1, H, W]`` Rec. 709 luminance of ``[B, 3, H, W]`` linear RGB."""
    return rgb[:, 0:1] * LUMINANCE[0] + rgb[:, 1:2] * LUMINANCE[1] + rgb[:, 2:3] * LUMINANCE[2]


def depth_slope(depth: Tensor) -> Tensor:
    """How fast ``depth`` ``[B, 1, H, W]`` changes per pixel: per axis the smaller of the
    forward and backward differences (so a pixel beside a depth edge reads its own
    surface's slope, not the edge), the larger over x and y. ``[B, 1, H, W]``, >= 0.

    >>> ramp = torch.arange(4.0).view(1, 1, 1, 4).expand(1, 1, 4, 4) * 0.1
    >>> [round(v, 3) for v in depth_slope(ramp)[0, 0, 0].tolist()]
    [0.0, 0.1, 0.1, 0.0]
    """
    _check_4d("depth", depth, 1)
    padded = F.pad(depth, (1, 1, 1, 1), mode="replicate")
    centre = padded[:, :, 1:-1, 1:-1]
    along_x = torch.minimum((padded[:, :, 1:-1, 2:] - centre).abs(), (centre - padded[:, :, 1:-1, :-2]).abs())
    along_y = torch.minimum((padded[:, :, 2:, 1:-1] - centre).abs(), (centre - padded[:, :, :-2, 1:-1]).abs())
    return torch.maximum(along_x, along_y)


def tap_validity(prev_normal: Tensor, prev_depth: Tensor, normal: Tensor, depth: Tensor, slope: Tensor) -> Tensor:
    """1 where a previous-frame tap may feed the current pixel's history, else 0.

    Args:
        prev_normal, normal: ``[B, 3, H, W]`` world-space unit normals (0 for misses) of the
            tap and of the current pixel.
        prev_depth, depth: ``[B, 1, H, W]`` packed depth (0 for misses).
        slope: ``[B, 1, H, W]`` :func:`depth_slope` of the current depth.

    Returns:
        ``[B, 1, H, W]`` float, 0 or 1: both misses, or both hits with the normals within
        ``HISTORY_NORMAL_COS`` and the depths within ``HISTORY_DEPTH_REL * depth +
        HISTORY_DEPTH_SLOPE * slope``.
    """
    hit = (depth > 0).float()
    prev_hit = (prev_depth > 0).float()
    facing = ((prev_normal * normal).sum(dim=1, keepdim=True) >= HISTORY_NORMAL_COS).float()
    near = ((prev_depth - depth).abs() <= HISTORY_DEPTH_REL * depth + HISTORY_DEPTH_SLOPE * slope).float()
    return hit * prev_hit * facing * near + (1.0 - hit) * (1.0 - prev_hit)


def reproject(previous: Tensor, motion_px: Tensor, normal: Tensor, depth: Tensor) -> tuple[Tensor, Tensor]:
    """Bilinear backward warp of ``previous`` that drops the taps failing :func:`tap_validity`.

    Args:
        previous: ``[B, C, H, W]`` previous-frame planes; channels 6-8 and 9 must hold the
            previous frame's normal and depth (the rule state's layout; more channels may
            follow, e.g. the previous output, and are warped with the same weights).
        motion_px: ``[B, 2, H, W]`` this frame's motion in pixels (FORMAT: the surface at
            pixel centre ``p`` was at ``p + motion``), as :func:`ssr.model.warp.warp`.
        normal, depth: ``[B, 3, H, W]``, ``[B, 1, H, W]`` this frame's packed planes.

    Returns:
        ``(weighted [B, C, H, W], weight [B, 1, H, W])``: the sum over valid taps of
        bilinear weight x tap value, and the sum of those weights (in [0, 1]; 0 where no tap
        is valid). ``weighted / weight`` is the renormalised warp.
    """
    _check_4d("previous", previous)
    _check_4d("motion_px", motion_px, 2)
    batch, _, height, width = previous.shape
    motion = motion_px.float()
    u = torch.arange(width, device=motion.device, dtype=torch.float32).view(1, 1, width) + motion[:, 0]
    v = torch.arange(height, device=motion.device, dtype=torch.float32).view(1, height, 1) + motion[:, 1]
    u0, v0 = torch.floor(u), torch.floor(v)
    fu, fv = (u - u0).unsqueeze(1), (v - v0).unsqueeze(1)
    slope = depth_slope(depth)
    weighted = torch.zeros_like(previous)
    weight = torch.zeros_like(depth)
    for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1)):
        tap_u, tap_v = u0 + dx, v0 + dy
        inside = ((tap_u >= 0) & (tap_u <= width - 1) & (tap_v >= 0) & (tap_v <= height - 1)).float().unsqueeze(1)
        # nearest-neighbour reads at exact pixel centres: a gather of the tap's pixel
        grid = torch.stack(((tap_u + 0.5) * (2.0 / width) - 1.0, (tap_v + 0.5) * (2.0 / height) - 1.0), dim=-1)
        sample = F.grid_sample(previous, grid, mode="nearest", padding_mode="zeros", align_corners=False)
        bilinear = (fu if dx else 1.0 - fu) * (fv if dy else 1.0 - fv)
        valid = inside * tap_validity(sample[:, _NORMAL], sample[:, _DEPTH], normal, depth, slope)
        tap_weight = bilinear * valid
        weighted = weighted + tap_weight * sample
        weight = weight + tap_weight
    return weighted, weight


def history_cap_map(roughness: Tensor, transparent: Tensor, cap: float) -> Tensor:
    """Per-pixel sample cap ``[B, 1, H, W]``: ``cap`` on rough surfaces (microfacet alpha >=
    ``HISTORY_ROUGHNESS_FULL``), falling linearly with the alpha to ``HISTORY_CAP_MIN`` on
    mirrors, and towards it with the specular transmittance tint (glass): what they show
    moves unlike the surface the motion vectors follow.

    Args:
        roughness: ``[B, 1, H, W]`` packed roughness (0 smooth .. 1 diffuse; 0 for misses).
        transparent: ``[B, 3, H, W]`` packed transmittance tint.
        cap: ``ModelConfig.history_cap``, >= ``HISTORY_CAP_MIN``.
    """
    rough = torch.clamp(roughness / HISTORY_ROUGHNESS_FULL, 0.0, 1.0)
    opaque = 1.0 - torch.clamp(torch.amax(transparent, dim=1, keepdim=True), 0.0, 1.0)
    return HISTORY_CAP_MIN + (cap - HISTORY_CAP_MIN) * rough * opaque


def accumulate_samples(total: Tensor, count: Tensor, square: Tensor, sample: Tensor, traced: Tensor,
                       cap: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """One frame of sample counting.

    Args:
        total: ``[B, 3, H, W]`` reprojected sum of linear irradiance samples.
        count: ``[B, 1, H, W]`` reprojected sample count ``N`` (0 after a disocclusion).
        square: ``[B, 1, H, W]`` reprojected sum of squared sample luminance.
        sample: ``[B, 3, H, W]`` this frame's linear irradiance (0 where untraced).
        traced: ``[B, 1, H, W]`` 1 where this frame traced the pixel, else 0.
        cap: ``[B, 1, H, W]`` most samples a pixel keeps (:func:`history_cap_map`), >= 1.

    Returns:
        ``(total, count, square)``: ``count = min(N + traced, cap)``; the history is scaled
        by ``(count - traced) / N`` (1 until the cap) and the sample added with weight 1.
    """
    new_count = torch.minimum(count + traced, torch.maximum(cap, traced))
    keep = (new_count - traced) / torch.clamp(count, min=_COUNT_FLOOR)
    keep = torch.clamp(keep, 0.0, 1.0)
    new_total = total * keep + traced * sample
    new_square = square * keep + traced * luminance(sample) ** 2
    return new_total, new_count, new_square


def history_view(state: Tensor, cap: float, floor: float) -> Tensor:
    """The network's view ``[B, 14, H, W]`` of a rule state ``[B, 14, H, W]`` (module
    docstring): irradiance -> ``log1p(A_irr / max(N, floor))``, plane 12 -> ``log1p`` of the
    samples' luminance standard deviation ``sqrt(max(M2 / N - (1 + r) mean^2, 0))`` (``r`` =
    :data:`~ssr.data_tools.contract.HISTORY_VARIANCE_REL`: agreeing samples read 0, not
    float32 cancellation noise), plane 13 -> ``N / cap``; the G-buffer planes unchanged.
    """
    count = state[:, _MASK]
    safe = torch.clamp(count, min=floor)
    mean = state[:, _IRRADIANCE] / safe
    mean_square = luminance(mean) ** 2
    variance = torch.clamp(state[:, _SHADOW] / safe - (1.0 + HISTORY_VARIANCE_REL) * mean_square, min=0.0)
    std = torch.sqrt(variance + 1e-12) * (count > 0).float()
    return torch.cat((torch.log1p(mean), state[:, _IRRADIANCE.stop:_SHADOW.start], torch.log1p(std),
                      count / cap), dim=1)


def _keep_where(flag: Tensor, value: Tensor) -> Tensor:
    """``value`` where ``flag`` (``[B, 1, H, W]``, 0 or 1) is 1, else 0: ``torch.where`` in eager
    PyTorch (a NaN in a discarded state stays out), a product in an exported graph (ONNX
    Runtime's broadcasting ``Where`` is slow on CPUs; the runtimes keep states finite)."""
    if torch.onnx.is_in_onnx_export():
        return value * flag
    return torch.where(flag > 0.5, value, torch.zeros_like(value))


def split_history(weighted: Tensor, weight: Tensor, reset: Tensor, channels: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """The renormalised reprojection of :func:`reproject`'s ``(weighted, weight)``.

    Args:
        weighted: ``[B, C, H, W]`` valid taps' weighted sum of the previous planes, the state's
            ``channels`` first.
        weight: ``[B, 1, H, W]`` their weight.
        reset: ``[B, 1, 1, 1]`` 1 at a stream's start and at cuts (no history anywhere).
        channels: planes of the state (14); the rest (the previous output) follow it.

    Returns:
        ``(state [B, channels, H, W], rest [B, C - channels, H, W], valid, has_history)``: the
        renormalised planes (0 without history), the valid weight ``weight * (1 - reset)``
        ``[B, 1, H, W]`` and ``has_history = valid > 0`` as 0/1.
    """
    valid = weight * (1.0 - reset)
    has_history = (valid > 0).float()
    renormalised = _keep_where(has_history, weighted / torch.clamp(weight, min=1e-6))
    return renormalised[:, :channels], renormalised[:, channels:], valid, has_history


def update_signal(history: Tensor, sample: Tensor, traced: Tensor, roughness: Tensor, transparent: Tensor,
                  cap: float) -> tuple[Tensor, Tensor, Tensor]:
    """:func:`accumulate_samples` on a renormalised rule state ``history`` ``[B, 14, H, W]`` (0
    without history) with this frame's linear irradiance ``sample`` ``[B, 3, H, W]`` (0 where
    untraced), capped per pixel by :func:`history_cap_map`: ``(total, count, square)``."""
    pixel_cap = history_cap_map(roughness, transparent, cap)
    return accumulate_samples(history[:, _IRRADIANCE], history[:, _MASK], history[:, _SHADOW], sample, traced,
                              pixel_cap)


def assemble_state(total: Tensor, count: Tensor, square: Tensor, gbuffer: Tensor, normal: Tensor,
                   depth: Tensor) -> Tensor:
    """The ``[B, 14, H, W]`` rule state (module docstring): the signal ``(total, count,
    square)``, albedo, roughness and metallic from ``gbuffer`` ``[B, 14, H, W]`` (the TFA's
    blend), and this frame's ``normal`` and ``depth`` for the next frame's validity test."""
    return torch.cat((total, gbuffer[:, _ALBEDO], normal, depth, gbuffer[:, _ROUGHNESS], gbuffer[:, _METALLIC],
                      square, count), dim=1)


def core_step(acc: Tensor, prev_out: Tensor, packed: Tensor, reset: Tensor, cap: float, floor: float
              ) -> tuple[Tensor, Tensor]:
    """One frame of the rule core alone, without the network: the warm-up of training clips
    (``ssr train --burn-in`` with ``history="rule"``).

    The signal planes (irradiance sum, count, luminance second moment) and the normal and
    depth planes come out exactly as a ``history="rule"`` :class:`ssr.model.SSRNet` step
    computes them (they depend on no weight); albedo, roughness and metallic take this
    frame's values (the network blends them), and ``prev_out`` becomes ``log1p`` of the new
    state's mean irradiance (what a reset feeds the network as its previous output).

    Args:
        acc: ``[B, 14, H, W]`` the rule state ``A_{t-1}``.
        prev_out: ``[B, 3, H, W]`` the previous output (warped with the state).
        packed: ``[B, 19, H, W]`` this frame's packed planes.
        reset: ``[B, 1, 1, 1]`` 1 at a stream start or cut.
        cap: ``ModelConfig.history_cap``; floor: ``ModelConfig.view_floor``.

    Returns:
        ``(acc_new [B, 14, H, W], prev_out_new [B, 3, H, W])``.
    """
    x_t = packed[:, _STATE]
    weighted, weight = reproject(torch.cat((acc, prev_out), dim=1), packed[:, _MOTION], x_t[:, _NORMAL],
                                 x_t[:, _DEPTH])
    history, _, _, _ = split_history(weighted, weight, reset, acc.shape[1])
    sample = (torch.exp(x_t[:, _IRRADIANCE]) - 1.0) * x_t[:, _MASK]
    total, count, square = update_signal(history, sample, x_t[:, _MASK], x_t[:, _ROUGHNESS],
                                         packed[:, _TRANSPARENT], cap)
    acc_new = assemble_state(total, count, square, x_t, x_t[:, _NORMAL], x_t[:, _DEPTH])
    return acc_new, history_view(acc_new, cap, floor)[:, _IRRADIANCE]
