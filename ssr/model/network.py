"""SSRNet: TFA + reconstruction U-Net, and the functional per-frame :func:`step`.

``step()`` is the single definition of one frame's work: training unrolls it over clips,
export traces :meth:`SSRNet.forward`, the runtime calls it.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ssr.data_tools.contract import ALBEDO_EPS, OUTPUT_CHANNELS, PACKED_CHANNELS, SIZE_MULTIPLE, SLICES, STATE_CHANNELS

from .config import ModelConfig
from .kernel import (apply_kernel, blend_signals, dual_signal, kernel_weights, linear_irradiance,
                     log_view, signal_irradiance, signal_of, signal_radiance)
from .history import assemble_state, history_view, reproject, split_history, update_signal
from .rae import RecurrentAutoencoder
from .tfa import TemporalFeatureAccumulator
from .unet import ReconstructionUNet
from .warp import _check_4d, warp, warp_coverage

__all__ = [
    "ALBEDO_EPS",
    "LOG_IRRADIANCE_MAX",
    "PACKED_CHANNELS",
    "SSRNet",
    "StreamState",
    "initial_state",
    "remodulate",
    "reset_tensor",
    "step",
]

LOG_IRRADIANCE_MAX = 15.0
"""``y_t`` is clamped to this before ``expm1`` (e^15 ~ 3.3e6) so the colour stays finite."""

_STATE, _IRRADIANCE, _ALBEDO, _MASK = SLICES["state"], SLICES["irradiance"], SLICES["albedo"], SLICES["mask"]
_TRANSPARENT, _MOTION = SLICES["transparent"], SLICES["motion"]
_NORMAL, _DEPTH, _ROUGHNESS = SLICES["normal"], SLICES["depth"], SLICES["roughness"]


def remodulate(out_log: Tensor, albedo_acc: Tensor) -> Tensor:
    """Linear HDR colour from log irradiance: ``max(expm1(y) * (albedo_acc + 0.004), 0)``.

    docs/method.md writes ``expm1(y_t) * albedo_acc``; adding the demodulation epsilon 0.004
    back is our one deliberate reading: it exactly inverts ``log1p(color / (albedo +
    0.004))``, so black albedo does not force black output.

    Args:
        out_log: ``[B, 3, H, W]`` demodulated log irradiance ``y_t``.
        albedo_acc: ``[B, 3, H, W]`` accumulated albedo (channels 3-5 of ``A_t``).

    Returns:
        ``[B, 3, H, W]`` linear HDR radiance, >= 0.
    """
    # exp(y) - 1 rather than expm1: ONNX has no Expm1 op; the absolute error is ~1e-7
    irradiance = torch.exp(torch.clamp(out_log, max=LOG_IRRADIANCE_MAX)) - 1.0
    radiance = irradiance * (albedo_acc + ALBEDO_EPS)
    # Straight-through clamp: the value is max(radiance, 0), but the gradient passes as
    # if unclamped, so pixels whose log output went below 0 are pulled back by the loss
    # instead of dying (zero gradient). `detach` is a no-op in ONNX export.
    return radiance + (torch.clamp(radiance, min=0.0) - radiance).detach()


def _pad_to_multiple(tensor: Tensor, multiple: int) -> Tensor:
    pad_h = (-tensor.shape[-2]) % multiple
    pad_w = (-tensor.shape[-1]) % multiple
    if pad_h == 0 and pad_w == 0:
        return tensor
    return F.pad(tensor, (0, pad_w, 0, pad_h), mode="replicate")


def _select_reset(reset: Tensor, fresh: Tensor, history: Tensor) -> Tensor:
    """``fresh`` where ``reset`` (``[B, 1, 1, 1]``, 0 or 1) is 1, else ``history``.

    Eager PyTorch uses ``torch.where``, so a reset ignores whatever the state holds (NaN
    included). An exported graph computes ``history * (1 - reset) + fresh * reset``: ONNX
    Runtime's broadcasting ``Where`` was the slowest single node of the graph at 2048x1024
    (docs/benchmarks-history.md s7); the values are the same for a finite state, which the runtimes
    guarantee: at a reset they pass the all-zero state pair (``runtime.state_buffers``) or,
    with warps outside the graph, the last warped buffers unchanged, and every state they
    keep is a finite network output."""
    if torch.onnx.is_in_onnx_export():
        return history * (1.0 - reset) + fresh * reset
    return torch.where(reset > 0.5, fresh, history)


class SSRNet(nn.Module):
    """Subpixel sampling reconstruction network (docs/method.md), or with ``config.arch == "rae"``
    the RAE baseline (:mod:`ssr.model.rae`) behind the same interface and state contract.

    Args:
        config: architecture (width preset and ablation switches).
    """

    def __init__(self, config: ModelConfig | None = None) -> None:
        super().__init__()
        self.config = config if config is not None else ModelConfig()
        preset = self.config.preset
        self.rae = (RecurrentAutoencoder(STATE_CHANNELS + 3, preset.unet) if self.config.arch == "rae" else None)
        if self.rae is not None:
            self.tfa, self.unet = None, None
            return
        tfa_kernel = 3 if self.config.layout == "spec" else 1
        self.tfa = (TemporalFeatureAccumulator(preset.tfa_hidden, preset.tfa_embed, tfa_kernel)
                    if self.config.use_tfa else None)
        sizes = self.config.kernel_sizes
        # kernel heads, coarsest first: K*K tap logits, + a coarse-blend logit (every scale but
        # the coarsest), + a history weight (full resolution)
        dual = 1 if self.config.signal == "dual" else 0  # + the radiance/irradiance blend logit
        heads = (3, 3, 3) if self.config.output == "direct" else (
            sizes[0] ** 2, *(k * k + 1 for k in sizes[1:-1]), sizes[-1] ** 2 + 2 + dual)
        self.unet = ReconstructionUNet(
            in_channels=2 * STATE_CHANNELS + 3, widths=preset.unet, use_warped_prev=self.config.use_warped_prev,
            heads=heads, layout=self.config.layout,
        )

    def forward(self, packed: Tensor, acc: Tensor, prev_out: Tensor, reset: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Denoise one frame.

        Args:
            packed: ``[B, 19, H, W]`` packed input planes (:mod:`ssr.data_tools.pack`):
                state vector ``x_t`` (0-13, log irradiance first), transparent (14-16),
                motion in pixels (17-18).
            acc: ``[B, 14, H, W]`` previous accumulated state ``A_{t-1}``.
            prev_out: ``[B, 3, H, W]`` previous output ``y_{t-1}`` (demodulated log space).
                With ``accumulation="linear"`` channels 0-2 of ``acc`` hold linear
                irradiance and channel 13 the blended traced mask (:mod:`ssr.model.kernel`).
            reset: ``[B, 1, 1, 1]``, 1 at a stream's first frame and at cuts (then ``acc``
                and ``prev_out`` are ignored), else 0.

        Returns:
            ``(color [B, 3, H, W] linear HDR, acc_new [B, 14, H, W], out_log [B, 3, H, W])``.
        """
        _check_4d("packed", packed, PACKED_CHANNELS)
        _check_4d("acc", acc, STATE_CHANNELS)
        _check_4d("prev_out", prev_out, OUTPUT_CHANNELS)
        _check_4d("reset", reset, 1)
        if acc.shape[-2:] != packed.shape[-2:] or prev_out.shape[-2:] != packed.shape[-2:]:
            raise ValueError(
                f"SSRNet: acc {tuple(acc.shape)} and prev_out {tuple(prev_out.shape)} must match "
                f"packed {tuple(packed.shape)} in H and W"
            )
        motion = packed[:, _MOTION]
        if self.config.history == "rule":
            weighted, weight = reproject(torch.cat((acc, prev_out), dim=1), motion, packed[:, _NORMAL],
                                         packed[:, _DEPTH])
            return self._step_rule(packed, weighted, weight, reset)
        return self._step(packed, warp(acc, motion), warp(prev_out, motion), reset)

    def forward_prewarped(
        self, packed: Tensor, warped_acc: Tensor, warped_prev: Tensor, reset: Tensor
    ) -> tuple[Tensor, Tensor, Tensor]:
        """:meth:`forward` with the state already warped by the frame's motion
        (``W(A_{t-1})``, ``W(y_{t-1})``): the form exported with ``warp="outside"``, where the
        runtime warps natively (``ssr.data_tools.warp.warp_planes``) before the graph."""
        _check_4d("packed", packed, PACKED_CHANNELS)
        _check_4d("warped_acc", warped_acc, STATE_CHANNELS)
        _check_4d("warped_prev", warped_prev, OUTPUT_CHANNELS)
        _check_4d("reset", reset, 1)
        if self.config.history == "rule":
            raise ValueError("SSRNet.forward_prewarped: a history='rule' model tests every reprojection tap against "
                             "the previous G-buffer inside its step; it cannot take a state warped outside")
        return self._step(packed, warped_acc, warped_prev, reset)

    def _step_rule(self, packed: Tensor, weighted: Tensor, weight: Tensor, reset: Tensor
                   ) -> tuple[Tensor, Tensor, Tensor]:
        """One frame of a ``history="rule"`` model (:mod:`ssr.model.history`).

        ``weighted`` ``[B, 17, H, W]``: the valid taps' weighted sum of ``(acc, prev_out)``,
        ``weight`` ``[B, 1, H, W]`` their weight (:func:`~ssr.model.history.reproject`)."""
        height, width = packed.shape[-2], packed.shape[-1]
        x_t = packed[:, _STATE]
        transparent = packed[:, _TRANSPARENT]
        history_state, history_prev, valid, has_history = split_history(weighted, weight, reset, STATE_CHANNELS)
        x_values = torch.cat((linear_irradiance(x_t[:, _IRRADIANCE]), x_t[:, _IRRADIANCE.stop:]), dim=1)
        # the TFA blends the G-buffer planes; where nothing is valid its history is this frame
        tfa_history = history_state + (1.0 - has_history) * x_values
        cap = self.config.history_cap
        assert self.tfa is not None
        blended, _, _ = self.tfa(x_t, transparent, history_view(tfa_history, cap, self.config.view_floor),
                                 values=(x_values, tfa_history))
        total, count, square = update_signal(history_state, x_values[:, _IRRADIANCE], x_t[:, _MASK],
                                             x_t[:, _ROUGHNESS], transparent, cap)
        acc_new = assemble_state(total, count, square, blended, x_t[:, _NORMAL], x_t[:, _DEPTH])
        acc_features = history_view(acc_new, cap, self.config.view_floor)
        # the previous output where a tap is valid (weighted as the default path's zero-padded
        # warp, which the resolver divides by ``valid``), else the accumulated irradiance
        warped_prev = valid * history_prev + (1.0 - has_history) * acc_features[:, _IRRADIANCE]
        warped_prev = _pad_to_multiple(warped_prev, SIZE_MULTIPLE)
        resolve = self._kernel_resolver(acc_new, warped_prev, _pad_to_multiple(valid, SIZE_MULTIPLE), x_t[:, _ALBEDO])
        features = (x_t, acc_features, transparent)
        out_log = self.unet(tuple(_pad_to_multiple(part, SIZE_MULTIPLE) for part in features), warped_prev, resolve)
        out_log = out_log[:, :, :height, :width]
        return remodulate(out_log, x_t[:, _ALBEDO]), acc_new, out_log

    def _step(self, packed: Tensor, warped_acc: Tensor, warped_prev_out: Tensor, reset: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        height, width = packed.shape[-2], packed.shape[-1]
        x_t = packed[:, _STATE]
        transparent = packed[:, _TRANSPARENT]
        if self.rae is not None:
            features = _pad_to_multiple(torch.cat((x_t, transparent), dim=1), SIZE_MULTIPLE)
            out_log, acc_new = self.rae(features, _pad_to_multiple(warped_acc, SIZE_MULTIPLE), reset > 0.5,
                                        _pad_to_multiple(x_t[:, _ALBEDO], SIZE_MULTIPLE))
            out_log, acc_new = out_log[:, :, :height, :width], acc_new[:, :, :height, :width]
            return remodulate(out_log, x_t[:, _ALBEDO]), acc_new, out_log
        linear = self.config.accumulation == "linear"
        # the values the TFA blends: log1p irradiance (docs/method.md) or linear irradiance
        x_values = torch.cat((linear_irradiance(x_t[:, _IRRADIANCE]), x_t[:, _IRRADIANCE.stop:]), dim=1) if linear else x_t

        if self.tfa is not None:
            history = _select_reset(reset, x_values, warped_acc)
            history_view = log_view(history, self.config.view_floor) if linear else history
            acc_new, _, _ = self.tfa(x_t, transparent, history_view, values=(x_values, history) if linear else None)
        else:
            acc_new = x_values
        acc_features = log_view(acc_new, self.config.view_floor) if linear else acc_new

        features = (x_t, acc_features, transparent)
        warped_prev: Tensor | None = None
        if self.config.use_warped_prev:
            warped_prev = _select_reset(reset, acc_features[:, _IRRADIANCE], warped_prev_out)
            warped_prev = _pad_to_multiple(warped_prev, SIZE_MULTIPLE)
        resolve = None
        if self.config.output == "kernel":
            coverage = _pad_to_multiple(warp_coverage(packed[:, _MOTION]), SIZE_MULTIPLE)
            resolve = self._kernel_resolver(acc_new, warped_prev, coverage * (1.0 - reset), x_t[:, _ALBEDO])
        out_log = self.unet(tuple(_pad_to_multiple(part, SIZE_MULTIPLE) for part in features), warped_prev, resolve)
        out_log = out_log[:, :, :height, :width]
        # a kernel output was demodulated by this frame's albedo; docs/method.md remodulates the
        # direct output by the accumulated albedo
        albedo = x_t[:, _ALBEDO] if self.config.output == "kernel" else acc_new[:, _ALBEDO]
        color = remodulate(out_log, albedo)
        return color, acc_new, out_log

    def _kernel_resolver(self, acc_new: Tensor, warped_prev: Tensor | None, history_valid: Tensor, albedo: Tensor):
        """The U-Net's ``resolve`` for ``output="kernel"`` (see :mod:`ssr.model.kernel`).

        Scale 1/4 and 1/2 filter the average-pooled signal ``(A_irr, A_mask)`` with their
        predicted kernels, and blend in the upsampled coarser result; full resolution does the
        same, then adds the warped previous output as ``w * prev`` to the numerator and ``w``
        to the denominator (``w = softplus * history_valid``: 0 at a reset, and falling to 0
        where the warp reads outside the previous frame; the warped output is divided by that
        coverage, which undoes the warp's zero padding). Each scale hands the decoder of the
        next one ``log1p`` of its filtered irradiance. With ``signal="dual"`` the signal also
        carries radiance (``albedo`` ``[B, 3, H, W]``: this frame's, which remodulates the
        output) and full resolution blends the two estimates (:meth:`kernel_resolver_on`)."""
        signal0 = _pad_to_multiple(signal_of(acc_new), SIZE_MULTIPLE)
        padded_albedo = None
        if self.config.signal == "dual":
            padded_albedo = _pad_to_multiple(albedo, SIZE_MULTIPLE)
            signal0 = dual_signal(signal0, padded_albedo)
        return self.kernel_resolver_on((*self.coarse_signals(F.avg_pool2d(signal0, 2)), signal0), warped_prev,
                                       history_valid, padded_albedo)

    def coarse_signals(self, signal_half: Tensor) -> tuple[Tensor, ...]:
        """The signal pyramid from 1/2 down, coarsest first: ``(1/4, 1/2)`` (2x2 averages),
        ``[B, S, h, w]`` each."""
        return F.avg_pool2d(signal_half, 2), signal_half

    def kernel_resolver_on(self, signals: tuple[Tensor | None, ...], warped_prev: Tensor | None,
                           history_valid: Tensor | None, albedo: Tensor | None = None):
        """:meth:`_kernel_resolver` on given ``signals``, one per U-Net scale, coarsest first
        (1/4, 1/2, 1; ``[B, 4, h, w]`` each; the full-resolution
        one may be None when scale 1 is resolved elsewhere, as in the graph of ``ssr export
        --pixel-stages native``). ``albedo`` ``[B, 3, H, W]`` (``signal="dual"``): the
        full-resolution output is ``irr + b * (rad / (albedo + eps) - irr)`` with ``b`` a
        predicted sigmoid weight, the demodulated and the radiance estimate's irradiance."""
        taps = tuple(k * k for k in self.config.kernel_sizes)
        finest = len(signals) - 1

        def resolve(scale: int, head: Tensor, carry: Tensor | None) -> tuple[Tensor, Tensor | None]:
            level = finest - scale  # 0 = the coarsest scale, finest = full resolution
            signal = signals[level]
            assert signal is not None
            filtered = apply_kernel(signal, kernel_weights(head[:, :taps[level]]))
            if carry is not None:
                coarse = F.interpolate(carry, scale_factor=2.0, mode="bilinear", align_corners=False)
                filtered = blend_signals(filtered, coarse, head[:, taps[level]:taps[level] + 1])
            if scale == 0 and warped_prev is not None:
                history_weight = F.softplus(head[:, taps[level] + 1:taps[level] + 2]) * history_valid
                unpadded = warped_prev / torch.clamp(history_valid, min=1e-3)
                previous = linear_irradiance(torch.clamp(unpadded, max=LOG_IRRADIANCE_MAX))
                parts = [filtered[:, 0:3] + history_weight * previous, filtered[:, 3:4] + history_weight]
                if albedo is not None:
                    parts.append(filtered[:, 4:7] + history_weight * previous * (albedo + ALBEDO_EPS))
                filtered = torch.cat(parts, dim=1)
            irradiance = signal_irradiance(filtered)
            if scale == 0 and albedo is not None:
                from_radiance = signal_radiance(filtered) / (albedo + ALBEDO_EPS)
                blend = torch.sigmoid(head[:, taps[level] + 2:taps[level] + 3])
                irradiance = irradiance + blend * (from_radiance - irradiance)
            return torch.log1p(irradiance), filtered

        return resolve

class StreamState(NamedTuple):
    """Recurrent state carried between frames.

    Attributes:
        acc: ``[B, 14, H, W]`` accumulated state ``A_t``.
        prev_out: ``[B, 3, H, W]`` output ``y_t`` in demodulated log space.
    """

    acc: Tensor
    prev_out: Tensor


def initial_state(
    batch: int, height: int, width: int, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32
) -> StreamState:
    """All-zero state; the first frame must be stepped with ``reset=True``."""
    return StreamState(
        acc=torch.zeros(batch, STATE_CHANNELS, height, width, device=device, dtype=dtype),
        prev_out=torch.zeros(batch, OUTPUT_CHANNELS, height, width, device=device, dtype=dtype),
    )


def reset_tensor(reset: bool | Sequence[bool] | Tensor, batch: int, device: torch.device, dtype: torch.dtype) -> Tensor:
    """Normalise a reset flag (bool, per-batch bools, ``[B]`` or ``[B,1,1,1]``) to ``[B, 1, 1, 1]``."""
    if isinstance(reset, Tensor):
        flags = reset.to(device=device, dtype=dtype).reshape(-1)
    elif isinstance(reset, bool):
        flags = torch.full((batch,), float(reset), device=device, dtype=dtype)
    else:
        flags = torch.tensor([float(bool(r)) for r in reset], device=device, dtype=dtype)
    if flags.numel() == 1 and batch != 1:
        flags = flags.expand(batch)
    if flags.numel() != batch:
        raise ValueError(f"reset must have one flag per batch item ({batch}), got {flags.numel()}")
    return flags.reshape(batch, 1, 1, 1)


def step(
    model: nn.Module, packed: Tensor, state: StreamState, reset: bool | Sequence[bool] | Tensor = False
) -> tuple[Tensor, StreamState]:
    """Run one frame through ``model`` and return ``(color, new_state)``.

    Args:
        model: an :class:`SSRNet` (or a wrapper with the same forward, e.g. DDP).
        packed: ``[B, 19, H, W]`` packed frame.
        state: previous :class:`StreamState` (:func:`initial_state` for a new stream).
        reset: True (or per-item flags) at a stream's first frame and at cuts.

    Returns:
        ``color [B, 3, H, W]`` linear HDR and the new :class:`StreamState`.
    """
    flags = reset_tensor(reset, packed.shape[0], packed.device, packed.dtype)
    color, acc_new, out_log = model(packed, state.acc, state.prev_out, flags)
    return color, StreamState(acc_new, out_log)
