"""SVGF-style spatiotemporal variance-guided filter (Schied et al. 2017), adapted to 1/4 spp.

A non-learned baseline for ``ssr bench quality`` (issue 10): what game engines run instead
of a network. It sees exactly SSR's input: one traced sample per 2x2 tile plus the
full-resolution G-buffers and motion. Per frame, all in torch on the CPU (vectorised, no
Python loops over pixels):

1. **Demodulate** the traced colour by its albedo: ``irr = color / (albedo + 0.004)``.
2. **Reproject** the history (illumination, luminance moments, history length, depth,
   normal) with the frame's motion (bilinear, :func:`ssr.model.warp.warp`); a pixel's
   history is *valid* where the warp stayed inside the previous frame and the warped depth
   and normal agree with the current ones (relative depth difference < ``depth_tolerance``,
   normal dot > ``normal_tolerance``) and the previous frame was not a cut.
3. **Temporal accumulation** (exponential moving average, ``alpha = max(1/n, alpha_min)``
   with ``n`` the history length): traced pixels blend their new sample into the valid
   history; untraced pixels keep the valid history unchanged; pixels with neither (stream
   start, disocclusion) take the mask-weighted mean of the traced samples in the 5x5
   window around them (the 1/4-spp adaptation). Luminance moments are accumulated the
   same way.
4. **Variance**: ``m2 - m1^2`` of the accumulated moments; where fewer than 4 samples were
   accumulated, the 5x5 spatial variance of the fill instead.
5. **A-trous wavelet filter**, ``iterations`` rounds of the 5x5 B3-spline kernel with
   step ``2^i``, edge-stopping weights ``exp(-|z_p - z_q| / (sigma_depth |grad z| step))``,
   ``max(0, n_p . n_q)^sigma_normal`` and ``exp(-|l_p - l_q| / (sigma_luminance
   sqrt(g3x3(var)) + eps))``; the variance is filtered with the squared weights. The
   output of the first round becomes the colour history (as in the paper).
6. **Remodulate** by the albedo.

Parameters are the paper's (``sigma_depth = 1``, ``sigma_normal = 128``,
``sigma_luminance = 4``, ``alpha_min = 0.2``, 5 iterations). No temporal anti-aliasing pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ssr.data_tools.contract import ALBEDO_EPS
from ssr.model.warp import warp, warp_coverage

__all__ = ["SvgfConfig", "SvgfDenoiser"]

_B3 = (1.0 / 16.0, 1.0 / 4.0, 3.0 / 8.0, 1.0 / 4.0, 1.0 / 16.0)
_LUMA = (0.2126, 0.7152, 0.0722)


@dataclass(frozen=True)
class SvgfConfig:
    """SVGF parameters (defaults: Schied et al. 2017).

    Attributes:
        iterations: a-trous wavelet passes (step 1, 2, 4, ...), >= 1.
        alpha_min: lowest exponential-average weight of the colour history, in (0, 1];
            1 disables temporal accumulation.
        moments_alpha_min: the same for the first and second luminance moments.
        sigma_depth: edge-stopping scale of the depth term (times the local depth gradient).
        sigma_normal: exponent of the normal term ``max(0, n.n')**sigma_normal``.
        sigma_luminance: edge-stopping scale of the luminance term (times the filtered
            standard deviation).
        depth_tolerance: relative depth difference beyond which a reprojected history
            sample counts as disoccluded, > 0.
        normal_tolerance: smallest ``n.n'`` at which history is reused, in [-1, 1].

    >>> SvgfConfig(iterations=0)
    Traceback (most recent call last):
    ...
    ValueError: SvgfConfig: iterations must be >= 1, got 0
    """

    iterations: int = 5
    alpha_min: float = 0.2
    moments_alpha_min: float = 0.2
    sigma_depth: float = 1.0
    sigma_normal: float = 128.0
    sigma_luminance: float = 4.0
    depth_tolerance: float = 0.1
    normal_tolerance: float = 0.9

    def __post_init__(self) -> None:
        checks = (
            ("iterations", self.iterations >= 1, ">= 1"),
            ("alpha_min", 0.0 < self.alpha_min <= 1.0, "in (0, 1]"),
            ("moments_alpha_min", 0.0 < self.moments_alpha_min <= 1.0, "in (0, 1]"),
            ("sigma_depth", self.sigma_depth > 0.0, "> 0"),
            ("sigma_normal", self.sigma_normal > 0.0, "> 0"),
            ("sigma_luminance", self.sigma_luminance > 0.0, "> 0"),
            ("depth_tolerance", self.depth_tolerance > 0.0, "> 0"),
            ("normal_tolerance", -1.0 <= self.normal_tolerance <= 1.0, "in [-1, 1]"),
        )
        for name, ok, rule in checks:
            if not ok:
                raise ValueError(f"SvgfConfig: {name} must be {rule}, got {getattr(self, name)}")


def _luminance(rgb: Tensor) -> Tensor:
    weights = torch.tensor(_LUMA, dtype=rgb.dtype).view(1, 3, 1, 1)
    return (rgb * weights).sum(dim=1, keepdim=True)


def _box(image: Tensor, radius: int) -> Tensor:
    """Zero-padded box sum over a (2r+1)^2 window, ``[1, C, H, W]``."""
    size = 2 * radius + 1
    channels = image.shape[1]
    weight = torch.ones(channels, 1, size, size, dtype=image.dtype)
    return F.conv2d(image, weight, padding=radius, groups=channels)


def _gauss3(image: Tensor) -> Tensor:
    kernel = torch.tensor([[1, 2, 1], [2, 4, 2], [1, 2, 1]], dtype=image.dtype) / 16.0
    channels = image.shape[1]
    padded = F.pad(image, (1, 1, 1, 1), mode="replicate")
    return F.conv2d(padded, kernel.expand(channels, 1, 3, 3), groups=channels)


def _shift(image: Tensor, dy: int, dx: int) -> Tensor:
    """``image[y + dy, x + dx]`` with replicate borders, ``[1, C, H, W]``."""
    pad = max(abs(dy), abs(dx))
    padded = F.pad(image, (pad, pad, pad, pad), mode="replicate")
    height, width = image.shape[-2:]
    return padded[:, :, pad + dy:pad + dy + height, pad + dx:pad + dx + width]


def _to_tensor(array: np.ndarray) -> Tensor:
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32)).permute(2, 0, 1)[None]


class SvgfDenoiser:
    """Stateful SVGF on 1/4-spp frames; call once per frame in order, ``cut=True`` at cuts."""

    def __init__(self, config: SvgfConfig | None = None) -> None:
        self.config = config or SvgfConfig()
        self.reset()

    def reset(self) -> None:
        """Forget the history (the next frame starts a new stream)."""
        self._history: dict[str, Tensor] | None = None

    @torch.no_grad()
    def __call__(self, frame: Mapping[str, np.ndarray], mask: np.ndarray, *, cut: bool = False) -> np.ndarray:
        """Denoise one frame.

        Args:
            frame: ``color`` (traced where ``mask``; other pixels ignored), ``albedo``,
                ``normal`` (world space), ``depth`` (view z, 0 = miss), ``motion`` (pixels,
                docs/format.md), each ``[H, W, C]`` float32.
            mask: ``[H, W]`` or ``[H, W, 1]``, 1 where colour was traced this frame.
            cut: the frame starts a new shot (history dropped).

        Returns:
            ``float32 [H, W, 3]`` linear HDR radiance.
        """
        cfg = self.config
        traced = _to_tensor(np.asarray(mask, np.float32).reshape(mask.shape[0], mask.shape[1], 1))
        albedo = _to_tensor(frame["albedo"])
        normal = _to_tensor(frame["normal"])
        depth = _to_tensor(frame["depth"])
        motion = _to_tensor(frame["motion"])
        irradiance = _to_tensor(frame["color"]) / (albedo + ALBEDO_EPS) * traced
        luma = _luminance(irradiance)
        sample_moments = torch.cat((luma, luma * luma), dim=1) * traced
        history = self._history
        if cut or history is None or history["color"].shape[-2:] != irradiance.shape[-2:]:
            valid = torch.zeros_like(traced)
            warped = None
        else:
            warped = {name: warp(value, motion) for name, value in history.items()}
            coverage = warp_coverage(motion)
            relative = (warped["depth"] / torch.clamp(coverage, min=1e-3) - depth).abs() / torch.clamp(depth, min=1e-6)
            facing = (warped["normal"] / torch.clamp(coverage, min=1e-3) * normal).sum(dim=1, keepdim=True)
            valid = ((coverage > 0.99) & (relative < cfg.depth_tolerance) & (facing > cfg.normal_tolerance)
                     & (depth > 0)).to(irradiance.dtype)
        # 5x5 mask-weighted fill of the traced samples (stream start, disocclusions)
        weight = _box(traced, 2)
        fill = _box(irradiance, 2) / torch.clamp(weight, min=1e-6)
        fill_moments = _box(sample_moments, 2) / torch.clamp(weight, min=1e-6)
        if warped is not None:
            length = (warped["length"] * valid) + traced
            alpha = torch.clamp(1.0 / torch.clamp(length, min=1.0), min=cfg.alpha_min)
            alpha_m = torch.clamp(1.0 / torch.clamp(length, min=1.0), min=cfg.moments_alpha_min)
            blended = warped["color"] + alpha * (irradiance - warped["color"])
            blended_m = warped["moments"] + alpha_m * (sample_moments - warped["moments"])
            kept = torch.where(traced > 0, blended, warped["color"])
            kept_m = torch.where(traced > 0, blended_m, warped["moments"])
            color = torch.where(valid > 0, kept, torch.where(traced > 0, irradiance, fill))
            moments = torch.where(valid > 0, kept_m, torch.where(traced > 0, sample_moments, fill_moments))
        else:
            length = traced.clone()
            color = torch.where(traced > 0, irradiance, fill)
            moments = torch.where(traced > 0, sample_moments, fill_moments)
        variance = torch.clamp(moments[:, 1:2] - moments[:, 0:1] ** 2, min=0.0)
        spatial = _box(sample_moments, 2) / torch.clamp(weight, min=1e-6)
        spatial_variance = torch.clamp(spatial[:, 1:2] - spatial[:, 0:1] ** 2, min=0.0)
        variance = torch.where(length < 4, torch.maximum(variance, spatial_variance), variance)

        grad_z = (_shift(depth, 0, 1) - _shift(depth, 0, -1)).abs() * 0.5 + (
            _shift(depth, 1, 0) - _shift(depth, -1, 0)).abs() * 0.5
        filtered, var = color, variance
        history_color = color
        for level in range(cfg.iterations):
            filtered, var = self._atrous(filtered, var, depth, normal, grad_z, 1 << level)
            if level == 0:
                history_color = filtered
        self._history = {"color": history_color, "moments": moments, "length": length, "depth": depth,
                         "normal": normal}
        out = filtered * (albedo + ALBEDO_EPS)
        return out[0].permute(1, 2, 0).contiguous().numpy()

    def _atrous(self, color: Tensor, variance: Tensor, depth: Tensor, normal: Tensor, grad_z: Tensor,
                step: int) -> tuple[Tensor, Tensor]:
        cfg = self.config
        luma = _luminance(color)
        sigma_l = cfg.sigma_luminance * torch.sqrt(_gauss3(variance)) + 1e-6
        sum_w = torch.zeros_like(luma)
        sum_c = torch.zeros_like(color)
        sum_v = torch.zeros_like(variance)
        for i, hy in enumerate(_B3):
            for j, hx in enumerate(_B3):
                dy, dx = (i - 2) * step, (j - 2) * step
                q_color = _shift(color, dy, dx)
                q_var = _shift(variance, dy, dx)
                distance = float(max(abs(dy), abs(dx)))
                w_z = torch.exp(-(_shift(depth, dy, dx) - depth).abs() / (cfg.sigma_depth * grad_z * distance + 1e-6))
                w_n = torch.clamp((_shift(normal, dy, dx) * normal).sum(dim=1, keepdim=True), min=0.0) ** cfg.sigma_normal
                w_l = torch.exp(-(_luminance(q_color) - luma).abs() / sigma_l)
                weight = (hy * hx) * w_z * w_n * w_l if (dy or dx) else torch.full_like(luma, hy * hx)
                sum_w = sum_w + weight
                sum_c = sum_c + weight * q_color
                sum_v = sum_v + weight * weight * q_var
        return sum_c / sum_w, sum_v / (sum_w * sum_w)
