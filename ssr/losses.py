"""Training losses (docs/method.md), on linear HDR images ``[B, 3, H, W]``.

- ``smape(d, r) = mean(|d - r| / (|d| + |r| + 0.01))`` over pixels and channels;
- spatial ``l_s = smape(d_t, r_t)`` (docs/method.md), or with ``spatial="relmse"`` the
  noise2noise relative MSE ``mean((d - r)^2 / (sg(d)^2 + 0.01))`` (``sg`` = stop-gradient):
  its expectation over a noisy, unbiased reference ``r`` is minimised by ``d = E[r]``, where
  SMAPE's optimum is pulled below the mean of a right-skewed noisy reference (issue 7);
- temporal ``l_t = smape(d_t - d_{t-1}, r_t - r_{t-1})``, or with ``temporal="relmse"`` the
  noise2noise relative MSE of the differences ``mean((Δd - Δr)^2 / (sg(d_t)^2 + 0.01))``:
  SMAPE of a difference against a noisy reference's difference is flat (about 1) for any
  output flicker well above the reference noise and *lowest* for a flicker of about the
  reference noise's size, so it gives static regions no pull towards a stable output; the
  relative MSE's expectation is minimised by the clean difference (issue 7);
- edge ``l_e = L1(HFEN(d_t) / (r_t + eps), HFEN(r_t) / (r_t + eps))``, HFEN = Laplacian
  of Gaussian, sigma 1.5, 15x15 kernel (the size of Ravishankar & Bresler's HFEN),
  replicate padding, ``eps = 0.01``;
- warped temporal (last two frames) ``l_wt = smape(d_t - W(d_{t-1}), r_t - W(r_{t-1}))``
  (the same choice of SMAPE or relative MSE as ``l_t``);
- albedo (last frame) ``l_a = smape(albedo_acc_t, reference_albedo_t)``;

:func:`clip_loss` combines them over a clip with frame weights
``(0.05, 0.25, 0.5, 0.75, 1)`` on ``l_s``, ``l_t``, ``l_e`` (a weighted sum over
frames, not normalised; ``l_t`` starts at the second frame) and the lambdas
``0.7 l_s + 0.1 l_t + 0.2 l_e + 0.4 l_wt + 5.0 l_a``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from .model.warp import warp

__all__ = [
    "EDGE_EPS",
    "FRAME_WEIGHTS",
    "LAMBDAS",
    "SPATIAL_LOSSES",
    "SMAPE_EPS",
    "ClipLoss",
    "albedo_loss",
    "clip_loss",
    "edge_loss",
    "hfen",
    "log_kernel",
    "relmse_n2n",
    "smape",
    "smape_map",
    "spatial_loss",
    "temporal_loss",
    "warped_temporal_loss",
]

SMAPE_EPS = 0.01
EDGE_EPS = 0.01
LOG_SIGMA = 1.5
LOG_SIZE = 15
FRAME_WEIGHTS: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 1.0)
LAMBDAS: dict[str, float] = {"spatial": 0.7, "temporal": 0.1, "edge": 0.2, "warped_temporal": 0.4, "albedo": 5.0}


def _check_same(name_a: str, a: Tensor, name_b: str, b: Tensor) -> None:
    if a.dim() != 4:
        raise ValueError(f"{name_a} must be [B, C, H, W], got shape {tuple(a.shape)}")
    if a.shape != b.shape:
        raise ValueError(f"{name_a} {tuple(a.shape)} and {name_b} {tuple(b.shape)} must have the same shape")


def smape_map(denoised: Tensor, reference: Tensor, eps: float = SMAPE_EPS) -> Tensor:
    """Per-element SMAPE ``|d - r| / (|d| + |r| + eps)``, the same shape as the inputs.

    Args:
        denoised, reference: ``[B, C, H, W]``.
        eps: added to the denominator.
    """
    _check_same("denoised", denoised, "reference", reference)
    return (denoised - reference).abs() / (denoised.abs() + reference.abs() + eps)


def smape(denoised: Tensor, reference: Tensor, eps: float = SMAPE_EPS) -> Tensor:
    """Symmetric mean absolute percentage error, a scalar: the mean of :func:`smape_map`.

    Args:
        denoised, reference: ``[B, C, H, W]``.
        eps: added to the denominator.
    """
    return smape_map(denoised, reference, eps).mean()


SPATIAL_LOSSES = ("smape", "relmse")
RELMSE_EPS = 0.01


def relmse_n2n(denoised: Tensor, reference: Tensor, eps: float = RELMSE_EPS) -> Tensor:
    """Noise2noise relative MSE ``mean((d - r)^2 / (sg(s)^2 + eps))``, a scalar; unbiased for
    a noisy reference whose mean is the clean image (the denominator does not depend on ``r``).

    Args:
        denoised, reference: ``[B, C, H, W]``.
        eps: added to the denominator.
    """
    _check_same("denoised", denoised, "reference", reference)
    return ((denoised - reference) ** 2 / (denoised.detach() ** 2 + eps)).mean()


def spatial_loss(denoised: Tensor, reference: Tensor, kind: str = "smape") -> Tensor:
    """``l_s``: ``smape(d_t, r_t)`` or :func:`relmse_n2n`; ``[B, 3, H, W]`` each."""
    if kind == "relmse":
        return relmse_n2n(denoised, reference)
    if kind != "smape":
        raise ValueError(f"spatial loss must be one of {SPATIAL_LOSSES}, got {kind!r}")
    return smape(denoised, reference)


def temporal_loss(denoised: Tensor, denoised_prev: Tensor, reference: Tensor, reference_prev: Tensor) -> Tensor:
    """``l_t = smape(d_t - d_{t-1}, r_t - r_{t-1})`` (docs/method.md); ``[B, 3, H, W]`` each.

    (A relative-MSE form of the temporal terms, unbiased on noisy references, was measured
    and not adopted: docs/research-log.md, 12-05.)

    >>> import torch
    >>> still = torch.ones(1, 3, 8, 8)
    >>> float(temporal_loss(still, still, still, still))
    0.0
    """
    return smape(denoised - denoised_prev, reference - reference_prev)


def log_kernel(sigma: float = LOG_SIGMA, size: int = LOG_SIZE) -> Tensor:
    """Laplacian-of-Gaussian kernel ``[size, size]`` (MATLAB ``fspecial('log')``), sum 0.

    ``h = (x^2 + y^2 - 2 sigma^2) / sigma^4 * g / sum(g)`` with ``g`` the Gaussian, then
    the mean is subtracted so a constant image maps to 0.
    """
    if size % 2 != 1:
        raise ValueError(f"log_kernel: size must be odd, got {size}")
    half = size // 2
    coords = torch.arange(-half, half + 1, dtype=torch.float64)
    yy, xx = torch.meshgrid(coords, coords, indexing="ij")
    r2 = xx**2 + yy**2
    gauss = torch.exp(-r2 / (2 * sigma**2))
    gauss = gauss / gauss.sum()
    kernel = (r2 - 2 * sigma**2) / sigma**4 * gauss
    kernel = kernel - kernel.mean()
    return kernel.to(torch.float32)


def hfen(image: Tensor, sigma: float = LOG_SIGMA, size: int = LOG_SIZE) -> Tensor:
    """High-frequency content: per-channel LoG filter, replicate padding.

    Args:
        image: ``[B, C, H, W]``.

    Returns:
        ``[B, C, H, W]``.
    """
    if image.dim() != 4:
        raise ValueError(f"image must be [B, C, H, W], got shape {tuple(image.shape)}")
    channels = image.shape[1]
    kernel = log_kernel(sigma, size).to(device=image.device, dtype=image.dtype)
    weight = kernel.expand(channels, 1, size, size)
    half = size // 2
    padded = F.pad(image, (half, half, half, half), mode="replicate")
    return F.conv2d(padded, weight, groups=channels)


def edge_loss(denoised: Tensor, reference: Tensor, eps: float = EDGE_EPS) -> Tensor:
    """``l_e = mean|HFEN(d) - HFEN(r)| / (r + eps)``; ``[B, 3, H, W]`` each."""
    _check_same("denoised", denoised, "reference", reference)
    scale = reference + eps
    return F.l1_loss(hfen(denoised) / scale, hfen(reference) / scale)


def warped_temporal_loss(
    denoised: Tensor,
    denoised_prev: Tensor,
    reference: Tensor,
    reference_prev: Tensor,
    motion_px: Tensor,
) -> Tensor:
    """``l_wt``: :func:`temporal_loss` of ``d_t - W(d_{t-1})`` against ``r_t - W(r_{t-1})``.

    Args:
        denoised, denoised_prev, reference, reference_prev: ``[B, 3, H, W]``.
        motion_px: ``[B, 2, H, W]`` motion of frame t in pixels (docs/format.md).
    """
    return smape(denoised - warp(denoised_prev, motion_px), reference - warp(reference_prev, motion_px))


def albedo_loss(albedo_acc: Tensor, reference_albedo: Tensor) -> Tensor:
    """``l_a = smape(albedo_acc, reference_albedo)``; ``[B, 3, H, W]`` each."""
    return smape(albedo_acc, reference_albedo)


@dataclass
class ClipLoss:
    """Total loss of a clip and its (unweighted-by-lambda) components, all scalars."""

    total: Tensor
    spatial: Tensor
    temporal: Tensor
    edge: Tensor
    warped_temporal: Tensor
    albedo: Tensor

    def scalars(self) -> dict[str, float]:
        """Component values as floats (for logging)."""
        return {name: float(getattr(self, name).detach()) for name in ("total", *LAMBDAS)}


def _frame_weights(frames: int, frame_weights: Sequence[float] | None) -> list[float]:
    weights = list(FRAME_WEIGHTS if frame_weights is None else frame_weights)
    if frame_weights is None and frames != len(weights):
        # other clip lengths: keep the last weights (the latest frames matter most)
        weights = ([weights[0]] * max(0, frames - len(weights)) + weights)[-frames:]
    if len(weights) != frames:
        raise ValueError(f"clip_loss: {frames} frames but {len(weights)} frame weights")
    return weights


def clip_loss(
    denoised: Tensor,
    reference: Tensor,
    motion_px: Tensor,
    albedo_acc: Tensor,
    reference_albedo: Tensor,
    frame_weights: Sequence[float] | None = None,
    spatial_kind: str = "smape",
) -> ClipLoss:
    """docs/method.md's loss over a clip.

    Args:
        denoised: ``[B, T, 3, H, W]`` network colour (linear HDR).
        reference: ``[B, T, 3, H, W]`` reference radiance.
        motion_px: ``[B, T, 2, H, W]`` per-frame motion in pixels.
        albedo_acc: ``[B, 3, H, W]`` accumulated albedo of the last frame.
        reference_albedo: ``[B, 3, H, W]`` reference albedo of the last frame.
        frame_weights: per-frame weights (default ``FRAME_WEIGHTS`` for T = 5; other T
            use its last T entries, padded in front with 0.05).
        spatial_kind: ``"smape"`` (docs/method.md) or ``"relmse"`` (:func:`relmse_n2n`) for ``l_s``.

    Returns:
        :class:`ClipLoss`.
    """
    if denoised.dim() != 5 or denoised.shape != reference.shape:
        raise ValueError(
            f"denoised {tuple(denoised.shape)} and reference {tuple(reference.shape)} must both be [B, T, 3, H, W]"
        )
    frames = denoised.shape[1]
    if frames < 2:
        raise ValueError("clip_loss needs at least 2 frames")
    if motion_px.shape[:2] != denoised.shape[:2] or motion_px.shape[2] != 2:
        raise ValueError(f"motion_px must be [B, T, 2, H, W], got {tuple(motion_px.shape)}")
    weights = _frame_weights(frames, frame_weights)
    spatial = denoised.new_zeros(())
    temporal = denoised.new_zeros(())
    edge = denoised.new_zeros(())
    for t, weight in enumerate(weights):
        spatial = spatial + weight * spatial_loss(denoised[:, t], reference[:, t], spatial_kind)
        edge = edge + weight * edge_loss(denoised[:, t], reference[:, t])
        if t > 0:
            temporal = temporal + weight * temporal_loss(
                denoised[:, t], denoised[:, t - 1], reference[:, t], reference[:, t - 1]
            )
    warped = warped_temporal_loss(denoised[:, -1], denoised[:, -2], reference[:, -1], reference[:, -2], motion_px[:, -1])
    albedo = albedo_loss(albedo_acc, reference_albedo)
    total = (
        LAMBDAS["spatial"] * spatial
        + LAMBDAS["temporal"] * temporal
        + LAMBDAS["edge"] * edge
        + LAMBDAS["warped_temporal"] * warped
        + LAMBDAS["albedo"] * albedo
    )
    return ClipLoss(total, spatial, temporal, edge, warped, albedo)
