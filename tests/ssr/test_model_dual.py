"""``ModelConfig.signal="dual"``: kernels over demodulated irradiance and radiance alike,
blended per pixel (issue 7: demodulated smoothing brightens glossy, textured surfaces)."""

from __future__ import annotations

import pytest
import torch

from ssr.data_tools.contract import SLICES
from ssr.export.onnx import check_parity, export_onnx
from ssr.model import ModelConfig, SSRNet, initial_state, step
from ssr.model.pixel_stages import check_native_stages

from test_model_kernel import _constant_stream, assert_keeps_constant_colour

torch.set_num_threads(1)


def _dual(layout: str = "fast") -> ModelConfig:
    width = "fast" if layout == "fast" else "tiny"
    return ModelConfig(width=width, layout=layout, accumulation="linear", output="kernel", signal="dual")


def _force_blend(model: SSRNet, logit: float) -> None:
    """Set the full-resolution radiance/irradiance blend to sigmoid(logit) everywhere."""
    head = model.unet.dec0[-1]
    channel = model.config.kernel_sizes[-1] ** 2 + 2
    with torch.no_grad():
        head.weight[channel].zero_()
        head.bias[channel] = logit


def test_dual_config_is_validated() -> None:
    assert ModelConfig().signal == "irradiance"
    with pytest.raises(ValueError, match="signal must be one of"):
        ModelConfig(accumulation="linear", output="kernel", signal="radiance")
    with pytest.raises(ValueError, match='needs output="kernel"'):
        ModelConfig(signal="dual")
    assert ModelConfig.from_dict(_dual().to_dict()) == _dual()
    check_native_stages(SSRNet(_dual()))  # the native stages filter the 7-plane signal too
    with pytest.raises(ValueError, match="layout='spec'"):
        check_native_stages(SSRNet(_dual("spec")))


@pytest.mark.parametrize("layout, size", [("fast", (12, 20)), ("spec", (12, 20)), ("fast", (10, 14))])
def test_dual_model_cannot_shift_a_constant_colour(layout: str, size: tuple[int, int]) -> None:
    """Also at a size the model pads to a multiple of 4 (10 x 14)."""
    torch.manual_seed(0)
    model = SSRNet(_dual(layout)).eval()
    assert_keeps_constant_colour(model, *size, frames=5, motion=0.7)


def test_radiance_estimate_keeps_constant_light_over_a_textured_albedo() -> None:
    """A glossy surface whose light does not follow its diffuse texture: constant radiance over
    a checkerboard albedo. The radiance estimate (blend -> 1) returns the constant radiance; the
    demodulated one (blend -> 0) mixes samples divided by other albedos and misses it."""
    torch.manual_seed(0)
    model = SSRNet(_dual()).eval()
    radiance = torch.tensor([0.8, 0.6, 0.4]).view(1, 3, 1, 1)
    height, width = 16, 16
    checker = ((torch.arange(height).view(-1, 1) // 2 + torch.arange(width).view(1, -1) // 2) % 2).float()
    albedo = (0.1 + 0.7 * checker).expand(1, 3, height, width)
    frames = []
    for packed in _constant_stream(height, width, 4, torch.ones(3), 0.0):
        mask = packed[:, SLICES["mask"]]
        packed[:, SLICES["albedo"]] = albedo
        packed[:, SLICES["irradiance"]] = torch.log1p(radiance / (albedo + 0.004)) * mask
        frames.append(packed)

    def stream(logit: float) -> torch.Tensor:
        _force_blend(model, logit)
        state = initial_state(1, height, width)
        with torch.no_grad():
            for t, packed in enumerate(frames):
                color, state = step(model, packed, state, reset=t == 0)
        return color

    torch.testing.assert_close(stream(60.0), radiance.expand(1, 3, height, width), rtol=1e-4, atol=1e-4)
    assert float((stream(-60.0) - radiance).abs().max()) > 0.05


def test_dual_model_exports_with_parity(tmp_path) -> None:
    torch.manual_seed(3)
    model = SSRNet(_dual()).eval()
    path = export_onnx(model, tmp_path / "dual.onnx", height=32, width=32, dynamic=True)
    assert check_parity(model, path, 20, 36, frames=3) <= 1e-4
