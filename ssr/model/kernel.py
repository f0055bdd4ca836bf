"""Kernel-predicting reconstruction on linear, mask-weighted irradiance (issue 7).

The accumulated state of a ``accumulation="linear"`` model holds, per pixel,

* ``A_irr`` (channels 0-2): a running blend of **linear** demodulated irradiance, 0 where a
  pixel was not traced;
* ``A_mask`` (channel 13): the same blend of the traced mask.

Both are blended with the same TFA weights, so ``A_irr / A_mask`` is a weighted mean of the
traced samples only (untraced pixels carry no weight, whatever ``alpha`` is) and no mean of
logarithms is ever taken (no Jensen bias). The pair ``(A_irr, A_mask)`` is a *signal*
``[B, 4, H, W]``; every operation below is a non-negative weighted sum applied to numerator
and denominator alike, so the result ``num / den`` is a convex combination of traced
samples: it cannot shift colour or brightness, only choose which samples to average.

A ``signal="dual"`` model (``ModelConfig.signal``) appends the radiance numerator
``A_irr * (albedo + ALBEDO_EPS)`` (each pixel's irradiance remodulated by its own albedo) as
channels 4-6: a ``[B, 7, H, W]`` signal ``(A_irr, A_mask, A_rad)`` that every kernel and
blend treats like the others, so ``A_rad / A_mask`` is a convex combination of radiance
samples. Channels 0-3 keep their meaning in both forms.

Example:
    >>> import torch
    >>> signal = torch.rand(1, 4, 8, 8)
    >>> weights = kernel_weights(torch.zeros(1, 9, 8, 8))  # uniform 3x3 box
    >>> apply_kernel(signal, weights).shape
    torch.Size([1, 4, 8, 8])
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from ssr.data_tools.contract import ALBEDO_EPS, SLICES

from .config import VIEW_FLOOR

__all__ = [
    "MASK_FLOOR",
    "VIEW_BOUND",
    "apply_kernel",
    "blend_signals",
    "dual_signal",
    "kernel_size_of",
    "kernel_weights",
    "linear_irradiance",
    "log_view",
    "signal_of",
    "signal_radiance",
    "signal_irradiance",
]

MASK_FLOOR = 1e-4
"""Denominator floor of ``num / den`` (a window with no traced sample reads as black)."""

_IRRADIANCE, _MASK = SLICES["irradiance"], SLICES["mask"]


def linear_irradiance(log_irradiance: Tensor) -> Tensor:
    """``exp(y) - 1`` of packed ``log1p`` irradiance (0 stays 0). Any ``[B, C, H, W]``."""
    return torch.exp(log_irradiance) - 1.0


def signal_of(state: Tensor) -> Tensor:
    """``[B, 4, H, W]`` ``(A_irr, A_mask)`` of a ``[B, 14, H, W]`` linear state."""
    return torch.cat((state[:, _IRRADIANCE], state[:, _MASK]), dim=1)


def dual_signal(signal: Tensor, albedo: Tensor) -> Tensor:
    """``[B, 7, H, W]`` ``(A_irr, A_mask, A_irr * (albedo + ALBEDO_EPS))`` of a ``[B, 4, H, W]``
    signal (:func:`signal_of`) and the albedo ``[B, 3, H, W]`` its irradiance is remodulated by."""
    return torch.cat((signal, signal[:, 0:3] * (albedo + ALBEDO_EPS)), dim=1)


def signal_radiance(signal: Tensor) -> Tensor:
    """``[B, 3, H, W]`` weighted-mean linear radiance ``A_rad / max(A_mask, MASK_FLOOR)`` of a
    dual signal ``[B, 7, H, W]``."""
    return signal[:, 4:7] / torch.clamp(signal[:, 3:4], min=MASK_FLOOR)


def signal_irradiance(signal: Tensor, floor: float = MASK_FLOOR) -> Tensor:
    """``[B, 3, H, W]`` weighted-mean linear irradiance ``num / max(den, floor)``."""
    return signal[:, 0:3] / torch.clamp(signal[:, 3:4], min=floor)


VIEW_BOUND = 1e4
"""|values| of :func:`log_view` are clamped to this (a no-op on real data: log irradiance
<= ~15 and G-buffer planes in [-1, 1]); the clamp marks where linear values end for the fp16
converter (``ssr.export.fp16`` keeps float32 up to a ``Log`` or ``Clip``)."""


def log_view(state: Tensor, floor: float = VIEW_FLOOR) -> Tensor:
    """Network-input view of a linear state: irradiance channels ->
    ``log1p(A_irr / max(A_mask, floor))``, every other channel unchanged (``A_mask`` itself
    tells the confidence). ``[B, 14, H, W]`` in, same out.

    Args:
        state: ``[B, 14, H, W]`` linear TFA state (:func:`signal_of` layout).
        floor: denominator floor (``ModelConfig.view_floor``, :data:`ssr.model.config.VIEW_FLOOR`
            by default).

    >>> state = torch.zeros(1, 14, 1, 1); state[:, 0:3] = 2e-5 * 3.0; state[:, 3] = 2e-5
    >>> round(float(log_view(state, 1e-4)[0, 0]), 3), round(float(log_view(state, 1e-2)[0, 0]), 4)
    (0.47, 0.006)
    """
    irradiance = torch.log1p(signal_irradiance(signal_of(state), floor))
    return torch.clamp(torch.cat((irradiance, state[:, _IRRADIANCE.stop:]), dim=1), -VIEW_BOUND, VIEW_BOUND)


def kernel_size_of(taps: int) -> int:
    """Side of a square kernel with ``taps`` weights (9 -> 3, 25 -> 5)."""
    side = int(round(math.sqrt(taps)))
    if side * side != taps or side % 2 == 0:
        raise ValueError(f"kernel taps must be an odd square (9, 25, ...), got {taps}")
    return side


def kernel_weights(logits: Tensor) -> Tensor:
    """Per-pixel normalised non-negative kernels: softmax over the tap axis.

    Args:
        logits: ``[B, K*K, H, W]`` raw network output (tap ``k`` = row ``k // K``, column
            ``k % K`` of the window centred on the pixel).

    Returns:
        ``[B, K*K, H, W]`` weights >= 0 summing to 1 over taps.

    Written as ``exp(x - max) / sum`` over the channel axis rather than ``torch.softmax``: the
    same values, but ONNX Runtime's CPU ``Softmax`` on a non-last axis transposes to rows of
    K*K values and took half of the exported graph's time at 2048x1024 (docs/benchmarks-history.md s7).
    """
    shifted = torch.exp(logits - torch.amax(logits, dim=1, keepdim=True))
    return shifted / torch.sum(shifted, dim=1, keepdim=True)


def apply_kernel(signal: Tensor, weights: Tensor) -> Tensor:
    """Filter ``signal`` with a different ``K x K`` kernel at every pixel.

    Out-of-image taps read zero in numerator and denominator alike (a normalised
    convolution, no edge darkening). Written as ``K*K`` shifted multiply-adds (static
    slices), which ONNX exports as plain Slice/Mul/Add.

    Args:
        signal: ``[B, C, H, W]``.
        weights: ``[B, K*K, H, W]`` from :func:`kernel_weights`.

    Returns:
        ``[B, C, H, W]``.
    """
    side = kernel_size_of(weights.shape[1])
    radius = side // 2
    height, width = signal.shape[-2], signal.shape[-1]
    padded = F.pad(signal, (radius, radius, radius, radius))
    out = torch.zeros_like(signal)
    for tap in range(side * side):
        row, col = divmod(tap, side)
        out = out + weights[:, tap:tap + 1] * padded[:, :, row:row + height, col:col + width]
    return out


def blend_signals(fine: Tensor, coarse_upsampled: Tensor, blend_logit: Tensor) -> Tensor:
    """``(1 - b) * fine + b * coarse`` with ``b = sigmoid(blend_logit)`` ``[B, 1, H, W]``
    (on numerator and denominator alike, so still a convex combination of samples)."""
    blend = torch.sigmoid(blend_logit)
    return fine + blend * (coarse_upsampled - fine)
