"""Conv multiply-accumulates per output pixel: the model-size budget of issue 7.

Example:
    >>> from ssr.model import SSRNet
    >>> round(conv_macs_per_pixel(SSRNet()))  # the ``small`` preset
    30888
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ssr.data_tools.contract import PACKED_CHANNELS

__all__ = ["conv_macs_per_pixel"]


def conv_macs_per_pixel(model: nn.Module, height: int = 64, width: int = 64) -> float:
    """Sum over every ``nn.Conv2d`` of ``out_pixels * C_out * C_in/groups * k_h * k_w``,
    divided by ``height * width``, for one frame through an :class:`ssr.model.SSRNet`
    (elementwise work, warps and kernel application are not counted)."""
    from .network import initial_state, step

    total = 0.0

    def count(module: nn.Conv2d, inputs: tuple[Tensor, ...], output: Tensor) -> None:
        nonlocal total
        kernel = module.kernel_size[0] * module.kernel_size[1] * module.in_channels // module.groups
        total += float(output.numel() // output.shape[0]) * kernel

    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, nn.Conv2d)]
    try:
        with torch.no_grad():
            packed = torch.zeros(1, PACKED_CHANNELS, height, width)
            step(model, packed, initial_state(1, height, width), reset=True)
    finally:
        for hook in hooks:
            hook.remove()
    return total / (height * width)
