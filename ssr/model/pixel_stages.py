"""The `fast` network split for native per-pixel stages (``ssr export --pixel-stages native``).

A ``layout="fast"`` kernel-output model does little arithmetic per full-resolution pixel
but touches every plane many times inside a graph runtime (warp, reset select, TFA nets,
log views, concatenation, the per-pixel kernel filter, remodulation). With
``pixel_stages="native"`` those run fused in the native extension
(``runtime/include/ssr_stages.h``, :mod:`ssr.data_tools.stages`) and the exported graph
is :class:`UNetTrunk`: the U-Net from its concatenated full-resolution input to the
full-resolution head and the filtered half-resolution signal. Torch's :meth:`SSRNet.forward`
stays the reference; the parity tests stream both.

Graph (all ``float32``, batch 1, H and W multiples of 4):

========== ===================== ============================================================
name       shape                 contents
========== ===================== ============================================================
features   ``[1, 34, H, W]``     ``x_t``, log view of ``A_t``, transparent, warped ``y_{t-1}``
signal_half ``[1, 4, H/2, W/2]`` 2x2 average of ``(A_irr, A_mask)``
head       ``[1, K*K+2, H, W]``  full-resolution tap logits, blend logit, history logit
carry      ``[1, 4, H/2, W/2]``  the filtered half-resolution signal
========== ===================== ============================================================
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ssr.data_tools.contract import STAGE_CHANNELS

from .network import SSRNet

__all__ = ["UNetTrunk", "check_native_stages", "tfa_weight_arrays"]

MAX_NATIVE_KERNEL = 7
"""Largest full-resolution kernel side the native resolve stage implements."""


def check_native_stages(net: SSRNet) -> None:
    """Raise ``ValueError`` unless ``net`` can run with native pixel stages: the ``ssr``
    architecture with ``layout="fast"`` (1x1 TFA nets), ``output="kernel"``,
    ``accumulation="linear"``, TFA and warped previous output on, a full-resolution kernel
    side of at most 7."""
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
    if config.kernel_sizes[2] > MAX_NATIVE_KERNEL:
        problems.append(f"full-resolution kernel {config.kernel_sizes[2]} > {MAX_NATIVE_KERNEL}")
    if problems:
        raise ValueError("native pixel stages need a fast-layout kernel model: " + "; ".join(problems))


def tfa_weight_arrays(net: SSRNet) -> dict[str, np.ndarray]:
    """The TFA's 1x1 conv weights as the native stage takes them: ``ref_w1 [hidden, 17]``,
    ``ref_b1``, ``ref_w2 [embed, hidden]``, ``ref_b2``, ``emb_w1 [hidden, 14]``, ``emb_b1``,
    ``emb_w2``, ``emb_b2`` (float32, C-contiguous)."""
    check_native_stages(net)
    assert net.tfa is not None
    arrays: dict[str, np.ndarray] = {}
    for prefix, sequential in (("ref", net.tfa.reference_net), ("emb", net.tfa.embedding_net)):
        first, second = sequential[0], sequential[2]
        for index, conv in ((1, first), (2, second)):
            arrays[f"{prefix}_w{index}"] = np.ascontiguousarray(conv.weight.detach().cpu().float().numpy()[:, :, 0, 0])
            arrays[f"{prefix}_b{index}"] = np.ascontiguousarray(conv.bias.detach().cpu().float().numpy())
    return arrays


class UNetTrunk(nn.Module):
    """The exported graph of a native-stage model: ``(features, signal_half) -> (head, carry)``
    (shapes in the module docstring). Scales 1/4 and 1/2 are resolved in the graph exactly as
    :meth:`SSRNet._kernel_resolver` does; the full-resolution head is returned unresolved."""

    def __init__(self, net: SSRNet) -> None:
        super().__init__()
        check_native_stages(net)
        self.net = net

    def forward(self, features: Tensor, signal_half: Tensor) -> tuple[Tensor, Tensor]:
        prev = features[:, STAGE_CHANNELS["features"] - 3:]
        signals = (F.avg_pool2d(signal_half, 2), signal_half, None)
        resolve_coarse = self.net.kernel_resolver_on(signals, prev, None)
        captured: list[tuple[Tensor, Tensor]] = []

        def resolve(scale: int, head: Tensor, carry: Tensor | None) -> tuple[Tensor, Tensor | None]:
            if scale == 0:
                assert carry is not None
                captured.append((head, carry))
                return head[:, :3], carry
            return resolve_coarse(scale, head, carry)

        assert self.net.unet is not None
        self.net.unet.decode(features, prev, resolve)
        return captured[0]


def trunk_example(height: int, width: int, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Random ``(features, signal_half)`` of the trunk's shapes (export tracing)."""
    generator = torch.Generator().manual_seed(seed)
    return (torch.rand(1, STAGE_CHANNELS["features"], height, width, generator=generator),
            torch.rand(1, STAGE_CHANNELS["signal_half"], height // 2, width // 2, generator=generator))
