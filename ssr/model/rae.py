"""RAE baseline: a recurrent denoising autoencoder (Chaitanya et al. 2017), adapted to the
engine's frame and state contract (``ModelConfig(arch="rae")``, ``ssr train --arch rae``).

The paper's baseline (Table 1) is a U-Net whose encoder levels each carry a recurrent
block: ``h_l = conv(concat(features_l, h_l(t-1)))``. Here, with feature widths
``(c0, c1, c2)`` of the width preset and input ``concat(x_t, transparent)`` (17 channels,
the same G-buffers and 1/4-spp log irradiance SSR sees; packed planes 0-16):

- encoder level ``l`` (full, 1/2, 1/4 resolution; 2x2 max-pool between levels):
  ``conv3x3 -> c_l`` + ReLU, then the recurrent block
  ``conv3x3(concat(f_l, H_l) -> c_l)`` + ReLU, ``conv3x3(c_l -> c_l)`` + ReLU = ``e_l``;
- decoder: nearest 2x upsampling, concatenation with ``e_l``, two ``conv3x3`` + ReLU, and a
  final ``conv3x3(c0 -> 3)``: demodulated log irradiance ``y_t`` (a direct prediction, as
  in the paper), re-modulated by the current albedo.

**State (deviation from the paper, forced by the shared contract).** Every model streams
the same ``acc [B, 14, H, W]`` + ``prev_out [B, 3, H, W]`` state, warped by the frame's
motion before each step (:mod:`ssr.streaming`). The RAE's hidden state lives in ``acc``:
a bottleneck ``tanh(conv1x1(e_l))`` of :data:`HIDDEN_CHANNELS` channels per level, the
coarse levels stored nearest-upsampled to full resolution and read back by average
pooling; ``acc``'s albedo planes (3-5) carry the current albedo (so the albedo loss term
stays defined). The paper's hidden states are full-width and not reprojected; here they are
narrow and warped (NSRR-style reprojection), so history follows the camera.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ssr.data_tools.contract import SLICES, STATE_CHANNELS

__all__ = ["HIDDEN_CHANNELS", "RecurrentAutoencoder", "hidden_planes"]

HIDDEN_CHANNELS = (4, 4, 3)
"""Hidden channels per encoder level (full, 1/2, 1/4): the 11 ``acc`` planes that are not albedo."""


def hidden_planes() -> tuple[list[int], list[int], list[int]]:
    """The ``acc`` plane indices holding each level's hidden state (albedo planes skipped).

    >>> hidden_planes()
    ([0, 1, 2, 6], [7, 8, 9, 10], [11, 12, 13])
    """
    albedo = set(range(SLICES["albedo"].start, SLICES["albedo"].stop))
    free = [index for index in range(STATE_CHANNELS) if index not in albedo]
    levels, start = [], 0
    for count in HIDDEN_CHANNELS:
        levels.append(free[start:start + count])
        start += count
    return levels[0], levels[1], levels[2]


def _conv(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, padding=1), nn.ReLU())


class RecurrentAutoencoder(nn.Module):
    """The RAE body (see the module docstring).

    Args:
        in_channels: input feature channels (17: packed planes 0-16).
        widths: feature channels at full, 1/2 and 1/4 resolution.
    """

    def __init__(self, in_channels: int, widths: tuple[int, int, int]) -> None:
        super().__init__()
        c0, c1, c2 = widths
        h0, h1, h2 = HIDDEN_CHANNELS
        self.enter = nn.ModuleList([_conv(in_channels, c0), _conv(c0, c1), _conv(c1, c2)])
        self.recur = nn.ModuleList([
            nn.Sequential(_conv(c + h, c), _conv(c, c)) for c, h in ((c0, h0), (c1, h1), (c2, h2))
        ])
        self.hidden = nn.ModuleList([nn.Conv2d(c, h, 1) for c, h in ((c0, h0), (c1, h1), (c2, h2))])
        self.decode1 = nn.Sequential(_conv(c2 + c1, c1), _conv(c1, c1))
        self.decode0 = nn.Sequential(_conv(c1 + c0, c0), nn.Conv2d(c0, 3, 3, padding=1))
        self._planes = hidden_planes()

    def forward(self, features: Tensor, warped_acc: Tensor, is_reset: Tensor, albedo: Tensor) -> tuple[Tensor, Tensor]:
        """One frame.

        Args:
            features: ``[B, 17, H, W]`` input planes, H and W multiples of 4.
            warped_acc: ``[B, 14, H, W]`` previous state warped to this frame.
            is_reset: ``[B, 1, 1, 1]`` bool: ignore the history.
            albedo: ``[B, 3, H, W]`` this frame's albedo (stored in the albedo planes).

        Returns:
            ``(out_log [B, 3, H, W] demodulated log irradiance, acc_new [B, 14, H, W])``.
        """
        history = torch.where(is_reset, torch.zeros_like(warped_acc), warped_acc)
        skips, hiddens = [], []
        level_input = features
        for level in range(3):
            if level > 0:
                level_input = F.max_pool2d(level_input, 2)
            entered = self.enter[level](level_input)
            previous = history[:, self._planes[level]]
            if level > 0:
                previous = F.avg_pool2d(previous, 2 ** level)
            encoded = self.recur[level](torch.cat((entered, previous), dim=1))
            hidden = torch.tanh(self.hidden[level](encoded))
            if level > 0:
                hidden = F.interpolate(hidden, scale_factor=float(2 ** level), mode="nearest")
            skips.append(encoded)
            hiddens.append(hidden)
            level_input = encoded
        up1 = F.interpolate(skips[2], scale_factor=2.0, mode="nearest")
        decoded1 = self.decode1(torch.cat((up1, skips[1]), dim=1))
        up0 = F.interpolate(decoded1, scale_factor=2.0, mode="nearest")
        out_log = self.decode0(torch.cat((up0, skips[0]), dim=1))
        h0, h1, h2 = hiddens
        albedo_slice = SLICES["albedo"]
        # acc plane order: hidden0[0:3], albedo, hidden0[3], hidden1, hidden2 (hidden_planes())
        acc_new = torch.cat((h0[:, :albedo_slice.start], albedo, h0[:, albedo_slice.start:], h1, h2), dim=1)
        return out_log, acc_new
