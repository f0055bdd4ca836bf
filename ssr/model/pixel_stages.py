"""The `fast` network split for native per-pixel stages (``ssr export --pixel-stages native``).

A ``layout="fast"`` kernel-output model does little arithmetic per full-resolution pixel
but touches every plane many times inside a graph runtime (warp, reset select, TFA nets,
log views, concatenation, the guide and stride-2 convs, the full-resolution decoder, the
per-pixel kernel filter, remodulation). With ``pixel_stages="native"`` all of that runs
fused in the native extension (``runtime/include/ssr_stages.h``,
:mod:`ssr.data_tools.stages`) and the exported graph is :class:`UNetTrunk`: the U-Net's
half- and quarter-resolution part. Torch's :meth:`SSRNet.forward`
stays the reference; the parity tests stream both.

Graph (all ``float32``, batch 1, H and W multiples of 4, everything at half resolution):

=========== ======================= =========================================================
name        shape                   contents
=========== ======================= =========================================================
down        ``[1, c1, H/2, W/2]``   ReLU(2x2 stride-2 conv) of the full-resolution U-Net input
prev_half   ``[1, 3, H/2, W/2]``    2x2 average of the warped previous output
signal_half ``[1, S, H/2, W/2]``    2x2 average of ``(A_irr, A_mask)`` (S = 4), or of
                                    ``(A_irr, A_mask, A_rad)`` (S = 7, ``signal="dual"``)
coarse      ``[1, 3, H/2, W/2]``    the half-resolution log-irradiance image ``d1``
carry       ``[1, S, H/2, W/2]``    the filtered half-resolution signal
=========== ======================= =========================================================
"""

from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ssr.data_tools.contract import STAGE_CHANNELS, STAGE_SIGNAL_PLANES

from .network import SSRNet

__all__ = ["UNetTrunk", "align_channels", "check_native_stages", "stage_weight_arrays", "trunk_example"]

MAX_NATIVE_KERNEL = 7
"""Largest full-resolution kernel side the native resolve stage implements."""


def check_native_stages(net: SSRNet) -> None:
    """Raise ``ValueError`` unless ``net`` can run with native pixel stages: the ``ssr``
    architecture with ``layout="fast"`` (1x1 TFA nets), ``output="kernel"``,
    ``accumulation="linear"``, TFA and warped previous output on, a full-resolution kernel
    side of at most 7 (either signal: ``"irradiance"`` or ``"dual"``; either history:
    ``"learned"`` or ``"rule"``)."""
    config = net.config
    problems = []
    if config.arch != "ssr":
        problems.append(f"arch={config.arch!r} (needs 'ssr')")
    if config.layout != "fast":
        problems.append(f"layout={config.layout!r} (needs 'fast': 1x1 TFA nets)")
    if config.output != "kernel":
        problems.append(f"output={config.output!r} (needs 'kernel')")
    if config.accumulation != "linear":
        problems.append(f"accumulation={config.accumulation!r} (needs 'linear')")
    if not config.use_tfa or not config.use_warped_prev:
        problems.append("the TFA and the warped previous output must be on")
    if config.kernel_sizes[-1] > MAX_NATIVE_KERNEL:
        problems.append(f"full-resolution kernel {config.kernel_sizes[-1]} > {MAX_NATIVE_KERNEL}")
    if problems:
        raise ValueError("native pixel stages need a fast-layout kernel model: " + "; ".join(problems))


def stage_weight_arrays(net: SSRNet) -> dict[str, np.ndarray]:
    """The full-resolution layers' weights as the native stages take them
    (:data:`ssr.runtime.stage_weights.STAGE_WEIGHT_NAMES`, PyTorch layouts, float32,
    C-contiguous; the 1x1 convs as ``[out, in]`` matrices)."""
    check_native_stages(net)
    assert net.tfa is not None and net.unet is not None

    def arrays(conv: nn.Conv2d, flat: bool) -> tuple[np.ndarray, np.ndarray]:
        weight = conv.weight.detach().cpu().float().numpy()
        weight = weight[:, :, 0, 0] if flat else weight
        return np.ascontiguousarray(weight), np.ascontiguousarray(conv.bias.detach().cpu().float().numpy())

    unet = net.unet
    layers = {
        "ref_w1": (net.tfa.reference_net[0], True), "ref_w2": (net.tfa.reference_net[2], True),
        "emb_w1": (net.tfa.embedding_net[0], True), "emb_w2": (net.tfa.embedding_net[2], True),
        "enc0_w": (unet.enc0[0], True), "down1_w": (unet.down1[0], False),
        "dec0_w": (unet.dec0[0][0], False), "head_w": (unet.dec0[1], True),
    }
    result: dict[str, np.ndarray] = {}
    for name, (conv, flat) in layers.items():
        result[name], result[name.replace("_w", "_b")] = arrays(conv, flat)
    return result


def _widened(conv: nn.Conv2d, in_channels: int, out_channels: int) -> nn.Conv2d:
    """``conv`` with zero weights for extra (trailing) input and output channels: the same
    outputs on the original channels, zero planes on the new ones."""
    wide = nn.Conv2d(in_channels, out_channels, conv.kernel_size, conv.stride, conv.padding)
    with torch.no_grad():
        wide.weight.zero_()
        wide.bias.zero_()
        wide.weight[:conv.out_channels, :conv.in_channels] = conv.weight
        wide.bias[:conv.out_channels] = conv.bias
    return wide


def align_channels(net: SSRNet, multiple: int = 4) -> SSRNet:
    """A copy of ``net`` whose half- and quarter-resolution convs have channel counts that
    are multiples of ``multiple`` (zero weights, zero-padded concatenations; the same
    outputs), for export: ONNX Runtime's CPU INT8 convolutions took about twice as long on
    27 / 30 input or 26 output channels as on 28 / 32 / 28 (docs/benchmarks-history.md section 8).
    Extra head channels are zero planes that the resolve step never reads."""
    check_native_stages(net)
    aligned = copy.deepcopy(net).eval()
    unet = aligned.unet
    assert unet is not None

    def up(channels: int) -> int:
        return channels + (-channels) % multiple

    # the convs after decode_half's concatenations (wider inputs), and the two coarse heads (wider outputs)
    after_concat = [(unet.enc1, 0), (unet.enc2[0], 0), (unet.dec1[0], 0)]
    heads = [(unet.dec1, 1), (unet.dec2, 1)]
    for holder, index in after_concat:
        conv = holder[index]
        holder[index] = _widened(conv, up(conv.in_channels), conv.out_channels)
    for holder, index in heads:
        conv = holder[index]
        holder[index] = _widened(conv, conv.in_channels, up(conv.out_channels))
    unet.channel_align = multiple
    return aligned


class UNetTrunk(nn.Module):
    """The exported graph of a native-stage model: ``(down, prev_half, signal_half) ->
    (coarse, carry)`` (shapes in the module docstring): :meth:`ReconstructionUNet.decode_half`
    with scales 1/4 and 1/2 resolved exactly as :meth:`SSRNet._kernel_resolver` does.
    ``channel_multiple > 1`` traces :func:`align_channels`' copy (what ``ssr export`` does, 4)."""

    def __init__(self, net: SSRNet, channel_multiple: int = 1) -> None:
        super().__init__()
        check_native_stages(net)
        self.net = align_channels(net, channel_multiple) if channel_multiple > 1 else net

    def forward(self, down: Tensor, prev_half: Tensor, signal_half: Tensor) -> tuple[Tensor, Tensor]:
        resolve = self.net.kernel_resolver_on((*self.net.coarse_signals(signal_half), None), None, None)
        assert self.net.unet is not None
        coarse, carry = self.net.unet.decode_half(down, prev_half, resolve)
        assert carry is not None
        return coarse, carry


def trunk_example(net: SSRNet, height: int, width: int, seed: int = 0) -> tuple[Tensor, Tensor, Tensor]:
    """Random ``(down, prev_half, signal_half)`` of the trunk's shapes for an ``H x W`` frame."""
    generator = torch.Generator().manual_seed(seed)
    c1 = net.config.preset.unet[1]
    half = (height // 2, width // 2)
    return (torch.rand(1, c1, *half, generator=generator),
            torch.rand(1, STAGE_CHANNELS["prev_half"], *half, generator=generator),
            torch.rand(1, STAGE_SIGNAL_PLANES[net.config.signal], *half, generator=generator))
