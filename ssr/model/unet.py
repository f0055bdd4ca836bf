"""Reconstruction U-Net (docs/method.md), 3 scales: 1, 1/2, 1/4 (optionally a 4th, 1/8).

Input at full resolution: ``concat(x_t, A_t, transparent, W(y_{t-1}))`` =
14 + 14 + 3 + 3 = 34 channels (31 without the warped previous output). With feature
widths ``(c0, c1, c2)`` from the width preset:

- encoder scale 1: ``conv3x3(34 -> c0)+ReLU, conv3x3(c0 -> c0)+ReLU`` -> skip ``e0``;
- down to 1/2: ``conv3x3 stride 2 (c0 -> c0)+ReLU``; concat the warped previous output
  average-pooled to 1/2 (3); ``conv3x3(c0+3 -> c1)+ReLU, conv3x3(c1 -> c1)+ReLU`` -> ``e1``;
- down to 1/4: ``conv3x3 stride 2 (c1 -> c1)+ReLU``; concat pooled prev (3);
  ``conv3x3(c1+3 -> c2)+ReLU, conv3x3(c2 -> c2)+ReLU`` -> ``e2``;
- decoder 1/4: ``conv3x3(c2 -> c2)+ReLU, conv3x3(c2 -> 3)`` -> 3-channel image ``d2``;
- decoder 1/2: ``concat(up2(d2), e1, pooled prev)`` (3+c1+3) ->
  ``conv3x3(-> c1)+ReLU, conv3x3(c1 -> 3)`` -> ``d1``;
- decoder 1: ``concat(up2(d1), e0, prev)`` (3+c0+3) -> ``conv3x3(-> c0)+ReLU,
  conv3x3(c0 -> 3)`` -> log irradiance ``y_t``.

With ``layout="fast"`` (``ModelConfig.layout``) scale 1 keeps only a thin guide:

- guide: ``conv1x1(34 -> c0)+ReLU`` -> ``e0``;
- to 1/2: ``conv2x2 stride 2 (34 -> c1)+ReLU`` over the full-resolution input; concat pooled
  prev (3); ``conv3x3(c1+3 -> c1)+ReLU`` -> ``e1``; scales 1/4 and the decoders at 1/4 and
  1/2 as above;
- decoder 1: ``concat(up2(d1), e0, prev)`` -> ``conv3x3(-> c0)+ReLU, conv1x1(c0 -> h0)``.

Upsampling is bilinear x2 (``align_corners=False``); height and width must be multiples
of 4 (:class:`ssr.model.SSRNet` pads).

Kernel-predicting models (``ModelConfig.output == "kernel"``) widen the last conv of each
decoder to ``heads = (h2, h1, h0)`` channels and pass a ``resolve(scale, head, carry)``
callable that turns each head into the 3-channel image the next scale sees (and a carry,
e.g. the filtered signal of that scale); the image of scale 1 is the output. ``heads``
lists one entry per scale, coarsest first.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ssr.data_tools.contract import SIZE_MULTIPLE

from .config import LAYOUTS
from .warp import _check_4d

__all__ = ["ReconstructionUNet", "Resolve"]

Resolve = Callable[[int, Tensor, Optional[Tensor]], "tuple[Tensor, Optional[Tensor]]"]
"""``resolve(scale, head, carry) -> (image [B, 3, h, w], carry)``; scale 3 = 1/8, 2 = 1/4, 0 = full."""


def _identity_resolve(scale: int, head: Tensor, carry: Tensor | None) -> tuple[Tensor, Tensor | None]:
    return head, carry


def _conv_relu(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1), nn.ReLU())


def _upsample2(image: Tensor) -> Tensor:
    return F.interpolate(image, scale_factor=2.0, mode="bilinear", align_corners=False)


class ReconstructionUNet(nn.Module):
    """3-scale U-Net whose decoder passes 3-channel images between scales.

    Args:
        in_channels: full-resolution input channels without the previous output (31).
        widths: feature channels ``(c0, c1, c2)`` at scales 1, 1/2, 1/4.
        use_warped_prev: concatenate the (pooled) warped previous output at every scale.
        heads: output channels of the decoders, coarsest scale first: 1/4, 1/2, 1; 3 each
            for a direct prediction of log irradiance.
        layout: ``"spec"`` (docs/method.md, above) or ``"fast"`` (the encoder from 1/2, a 1x1 guide
            and the decoder head at full resolution).
    """

    def __init__(self, in_channels: int, widths: tuple[int, int, int], use_warped_prev: bool = True,
                 heads: tuple[int, ...] = (3, 3, 3), layout: str = "spec") -> None:
        super().__init__()
        if layout not in LAYOUTS:
            raise ValueError(f"ReconstructionUNet: layout must be one of {LAYOUTS}, got {layout!r}")
        if len(heads) != 3:
            raise ValueError(f"ReconstructionUNet: one head per scale (1/4, 1/2, 1), got heads={heads!r}")
        c0, c1, c2 = widths
        prev = 3 if use_warped_prev else 0
        self.in_channels = in_channels
        self.use_warped_prev = use_warped_prev
        self.layout = layout
        h2, h1, h0 = heads
        if layout == "spec":
            self.enc0 = nn.Sequential(_conv_relu(in_channels + prev, c0), _conv_relu(c0, c0))
            self.down1 = _conv_relu(c0, c0, stride=2)
            self.enc1 = nn.Sequential(_conv_relu(c0 + prev, c1), _conv_relu(c1, c1))
            self.dec0 = nn.Sequential(_conv_relu(3 + c0 + prev, c0), nn.Conv2d(c0, h0, 3, padding=1))
        else:
            self.enc0 = nn.Sequential(nn.Conv2d(in_channels + prev, c0, 1), nn.ReLU())
            self.down1 = nn.Sequential(nn.Conv2d(in_channels + prev, c1, 2, stride=2), nn.ReLU())
            self.enc1 = _conv_relu(c1 + prev, c1)
            self.dec0 = nn.Sequential(_conv_relu(3 + c0 + prev, c0), nn.Conv2d(c0, h0, 1))
        self.down2 = _conv_relu(c1, c1, stride=2)
        self.enc2 = nn.Sequential(_conv_relu(c1 + prev, c2), _conv_relu(c2, c2))
        self.dec2 = nn.Sequential(_conv_relu(c2, c2), nn.Conv2d(c2, h2, 3, padding=1))
        self.dec1 = nn.Sequential(_conv_relu(3 + c1 + prev, c1), nn.Conv2d(c1, h1, 3, padding=1))

    def forward(self, features: Tensor | Sequence[Tensor], warped_prev: Tensor | None,
                resolve: Resolve | None = None) -> Tensor:
        """Reconstruct log irradiance.

        Args:
            features: ``[B, in_channels, H, W]`` (``concat(x_t, A_t, transparent)``), or its
                parts in that order (concatenated once, with the warped previous output),
                H and W multiples of 4.
            warped_prev: ``[B, 3, H, W]`` warped previous output in log space, or None
                when built with ``use_warped_prev=False``.
            resolve: head -> image at each scale (default: the head is the image).

        Returns:
            ``[B, 3, H, W]`` demodulated log irradiance ``y_t``.
        """
        parts = (features,) if isinstance(features, Tensor) else tuple(features)
        if not parts:
            raise ValueError("ReconstructionUNet: features must not be empty")
        channels = sum(int(part.shape[1]) for part in parts) if all(part.dim() == 4 for part in parts) else -1
        if channels != self.in_channels or len({(int(part.shape[-2]), int(part.shape[-1])) for part in parts}) != 1:
            raise ValueError(f"ReconstructionUNet: features must be [B, {self.in_channels}, H, W] (or parts of it "
                             f"with one H, W), got {[tuple(part.shape) for part in parts]}")
        features = parts[0]
        if features.shape[-2] % SIZE_MULTIPLE or features.shape[-1] % SIZE_MULTIPLE:
            raise ValueError(f"ReconstructionUNet: H and W must be multiples of {SIZE_MULTIPLE}, got {tuple(features.shape)}")
        if self.use_warped_prev:
            if warped_prev is None:
                raise ValueError("ReconstructionUNet: warped_prev is required (use_warped_prev=True)")
            _check_4d("warped_prev", warped_prev, 3)
            inputs = torch.cat((*parts, warped_prev), dim=1)
        else:
            inputs = torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]
        return self.decode(inputs, warped_prev, resolve)

    def decode(self, inputs: Tensor, warped_prev: Tensor | None, resolve: Resolve | None = None) -> Tensor:
        """:meth:`forward` on the already concatenated input ``[B, in_channels (+3), H, W]``
        (``features`` then the warped previous output, which is also passed as
        ``warped_prev`` ``[B, 3, H, W]``, or None without ``use_warped_prev``). Unchecked."""
        resolve = resolve if resolve is not None else _identity_resolve
        e0 = self.enc0(inputs)
        down = self.down1(e0 if self.layout == "spec" else inputs)
        if self.use_warped_prev:
            prev1 = F.avg_pool2d(warped_prev, 2)
            d1, carry = self.decode_half(down, prev1, resolve)
            return resolve(0, self.dec0(torch.cat((_upsample2(d1), e0, warped_prev), dim=1)), carry)[0]
        d1, carry = self.decode_half(down, None, resolve)
        return resolve(0, self.dec0(torch.cat((_upsample2(d1), e0), dim=1)), carry)[0]

    channel_align = 1
    """:meth:`decode_half` pads its concatenations with zero planes to a multiple of this
    (:func:`ssr.model.pixel_stages.align_channels` sets 4 on an export copy whose convs it
    widened with zero weights: ONNX Runtime's INT8 convs take half the time on multiples of 4)."""

    def _cat(self, parts: tuple[Tensor, ...]) -> Tensor:
        missing = (-sum(int(part.shape[1]) for part in parts)) % self.channel_align
        if missing == 0:
            return torch.cat(parts, dim=1)
        # zero planes made from one plane of the last (small) part, not from the joined
        # tensor: an exported INT8 graph then dequantises one plane, not the concatenation
        zero = parts[-1][:, :1] * 0.0
        return torch.cat((*parts, *([zero] * missing)), dim=1)

    def decode_half(self, down: Tensor, prev_half: Tensor | None,
                    resolve: Resolve | None = None) -> tuple[Tensor, Tensor | None]:
        """Scales 1/2 and 1/4: from ``down1``'s output ``[B, c0 or c1, H/2, W/2]`` and the
        average-pooled warped previous output ``[B, 3, H/2, W/2]`` (None without
        ``use_warped_prev``) to the half-resolution image ``d1`` ``[B, 3, H/2, W/2]`` and
        the carry of ``resolve`` at scale 1/2. The graph of ``ssr export --pixel-stages
        native`` is this (:class:`ssr.model.pixel_stages.UNetTrunk`)."""
        resolve = resolve if resolve is not None else _identity_resolve
        if prev_half is not None:
            prev2 = F.avg_pool2d(prev_half, 2)
            e1 = self.enc1(self._cat((down, prev_half)))
            e2 = self.enc2(self._cat((self.down2(e1), prev2)))
            d2, carry = self._decode_quarter(e2, prev2, resolve)
            return resolve(1, self.dec1(self._cat((_upsample2(d2), e1, prev_half))), carry)
        e1 = self.enc1(down)
        e2 = self.enc2(self.down2(e1))
        d2, carry = self._decode_quarter(e2, None, resolve)
        return resolve(1, self.dec1(torch.cat((_upsample2(d2), e1), dim=1)), carry)

    def _decode_quarter(self, e2: Tensor, prev2: Tensor | None, resolve: Resolve) -> tuple[Tensor, Tensor | None]:
        """The 1/4 decoder: ``e2`` ``[B, c2, H/4, W/4]`` -> ``resolve(2, ...)``."""
        return resolve(2, self.dec2(e2), None)
