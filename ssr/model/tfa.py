"""Temporal feature accumulator (TFA), docs/method.md.

- reference net R: conv3x3 -> ReLU -> conv3x3 over ``concat(x_t, transparent)``
  (14 + 3 channels) -> ``e_ref`` (k channels);
- embedding net F (one set of weights, applied twice): conv3x3 -> ReLU -> conv3x3 over
  ``x_t`` and over the warped accumulated state ``W(A_{t-1})`` (14 channels each) ->
  ``e_cur``, ``e_prev``;
- per-pixel scores ``s_cur = <e_ref, e_cur>``, ``s_prev = <e_ref, e_prev>``;
  ``(beta, alpha) = softmax(s_cur, s_prev)``;
- ``A_t = alpha * W(A_{t-1}) + beta * x_t`` on all 14 channels.

Reset handling (``A_{t-1} := x_t`` at stream starts and cuts) is done by the caller
(:class:`ssr.model.SSRNet`), which passes ``x_t`` as ``warped_acc`` there.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ssr.data_tools.contract import SLICES, STATE_CHANNELS

from .warp import _check_4d

__all__ = ["STATE_CHANNELS", "TRANSPARENT_CHANNELS", "TemporalFeatureAccumulator", "accumulate"]

TRANSPARENT_CHANNELS = SLICES["transparent"].stop - SLICES["transparent"].start


def _two_convs(in_channels: int, hidden: int, out_channels: int, kernel: int = 3) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, hidden, kernel, padding=kernel // 2),
        nn.ReLU(),
        nn.Conv2d(hidden, out_channels, kernel, padding=kernel // 2),
    )


def accumulate(
    e_ref: Tensor, e_cur: Tensor, e_prev: Tensor, x_t: Tensor, warped_acc: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """Blend current state and warped history by embedding similarity.

    Args:
        e_ref, e_cur, e_prev: ``[B, k, H, W]`` embeddings.
        x_t: ``[B, C, H, W]`` current state vector.
        warped_acc: ``[B, C, H, W]`` warped accumulated state ``W(A_{t-1})``.

    Returns:
        ``(acc, alpha, beta)``: ``acc = alpha * warped_acc + beta * x_t`` ``[B, C, H, W]``;
        ``alpha`` (history weight) and ``beta`` (current weight) ``[B, 1, H, W]``,
        ``alpha + beta = 1``.
    """
    s_cur = (e_ref * e_cur).sum(dim=1, keepdim=True)
    s_prev = (e_ref * e_prev).sum(dim=1, keepdim=True)
    # softmax over the two scores, as sigmoid(s_cur - s_prev): the same values, elementwise
    # (ONNX Runtime's Softmax on a 2-wide channel axis is slow on CPU)
    beta = torch.sigmoid(s_cur - s_prev)
    alpha = 1.0 - beta
    return alpha * warped_acc + beta * x_t, alpha, beta


class TemporalFeatureAccumulator(nn.Module):
    """TFA with reference net R and shared embedding net F.

    Args:
        hidden: channels after the first conv of R and F.
        embed: embedding size k.
        kernel: side of the nets' convs: 3 (docs/method.md) or 1 (per-pixel scores,
            ``ModelConfig.layout="fast"``).
    """

    def __init__(self, hidden: int, embed: int, kernel: int = 3) -> None:
        super().__init__()
        if kernel not in (1, 3):
            raise ValueError(f"TemporalFeatureAccumulator: kernel must be 1 or 3, got {kernel}")
        self.reference_net = _two_convs(STATE_CHANNELS + TRANSPARENT_CHANNELS, hidden, embed, kernel)
        self.embedding_net = _two_convs(STATE_CHANNELS, hidden, embed, kernel)

    def forward(
        self, x_t: Tensor, transparent: Tensor, warped_acc: Tensor, values: tuple[Tensor, Tensor] | None = None,
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Accumulate one frame.

        Args:
            x_t: ``[B, 14, H, W]`` packed state vector (log irradiance, albedo, normal,
                depth, roughness, metallic, shadow, mask).
            transparent: ``[B, 3, H, W]`` transparent tint (not accumulated).
            warped_acc: ``[B, 14, H, W]`` ``W(A_{t-1})`` (``x_t`` at a reset).
            values: ``(x_values, history_values)``, each ``[B, 14, H, W]``, to blend instead
                of ``(x_t, warped_acc)``, which then only feed the embedding nets (a
                ``accumulation="linear"`` model blends linear irradiance but scores log views).

        Returns:
            ``(acc [B, 14, H, W], alpha [B, 1, H, W], beta [B, 1, H, W])``.
        """
        _check_4d("x_t", x_t, STATE_CHANNELS)
        _check_4d("transparent", transparent, TRANSPARENT_CHANNELS)
        _check_4d("warped_acc", warped_acc, STATE_CHANNELS)
        e_ref = self.reference_net(torch.cat((x_t, transparent), dim=1))
        e_cur = self.embedding_net(x_t)
        e_prev = self.embedding_net(warped_acc)
        x_values, history_values = values if values is not None else (x_t, warped_acc)
        return accumulate(e_ref, e_cur, e_prev, x_values, history_values)
