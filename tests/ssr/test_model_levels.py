"""A 4th U-Net scale (``ModelConfig.levels=4``, 1/8): config, the kernel guarantees at sizes
whose 1/4 scale is odd, and ONNX parity of a dynamic graph at such a size."""

from __future__ import annotations

import pytest
import torch

from ssr.export.onnx import check_parity, export_onnx
from ssr.model import ModelConfig, SSRNet, initial_state, step
from ssr.model.cost import conv_macs_per_pixel

from test_model_kernel import _constant_stream, assert_keeps_constant_colour

torch.set_num_threads(1)


def _deep(layout: str = "fast", **overrides) -> ModelConfig:
    width = "fast" if layout == "fast" else "tiny"
    return ModelConfig(width=width, layout=layout, accumulation="linear", output="kernel", levels=4, **overrides)


def test_levels_config_defaults_validation_and_old_sidecars() -> None:
    assert ModelConfig().kernel_sizes == (5, 5, 3) and ModelConfig().levels == 3
    assert _deep().kernel_sizes == (5, 5, 5, 3)
    assert _deep(kernel_sizes=(3, 5, 5, 1)).kernel_sizes == (3, 5, 5, 1)
    with pytest.raises(ValueError, match="kernel_sizes must be 4 odd sizes"):
        _deep(kernel_sizes=(5, 5, 3))
    with pytest.raises(ValueError, match="levels must be one of"):
        ModelConfig(levels=5)
    with pytest.raises(ValueError, match="levels applies to arch=\"ssr\" only"):
        ModelConfig(arch="rae", levels=4)
    with pytest.raises(ValueError, match="deep_width"):
        _deep(deep_width=0)
    assert ModelConfig.from_dict(_deep().to_dict()) == _deep()
    old = {k: v for k, v in ModelConfig().to_dict().items() if k not in ("levels", "deep_width")}
    assert ModelConfig.from_dict(old) == ModelConfig()  # a sidecar written before levels


@pytest.mark.parametrize("layout", ["fast", "spec"])
@pytest.mark.parametrize("size", [(16, 16), (20, 36)], ids=["even-quarter", "odd-quarter"])
def test_deep_kernel_model_cannot_shift_a_constant_colour(layout: str, size: tuple[int, int]) -> None:
    """Untrained: a flat constant-irradiance stream comes out constant through all four
    scales, also where the 1/4 scale has odd sides (20 x 36 -> 5 x 9 -> 1/8 of 3 x 5)."""
    torch.manual_seed(1)
    model = SSRNet(_deep(layout)).eval()
    assert_keeps_constant_colour(model, *size, frames=5, motion=0.7)


def test_deep_scale_is_cheap_and_trains() -> None:
    """The 1/8 scale adds about 2k conv MACs per pixel to the fast model (1/64 of the pixels),
    and every new layer gets a gradient."""
    shallow = conv_macs_per_pixel(SSRNet(ModelConfig.from_dict(_deep().to_dict() | {"levels": 3, "kernel_sizes": []})))
    model = SSRNet(_deep())
    assert shallow < conv_macs_per_pixel(model) < shallow + 2500
    packed = _constant_stream(16, 16, 1, torch.tensor([0.5, 1.0, 2.0]), 0.0)[0]
    packed = packed * (1.0 + 0.2 * torch.rand_like(packed))
    color, _ = step(model, packed, initial_state(1, 16, 16), reset=True)
    color.mean().backward()
    for name in ("down3", "enc3", "dec3"):
        grads = [p.grad for p in getattr(model.unet, name).parameters()]
        assert all(g is not None and torch.isfinite(g).all() for g in grads), name
    assert any(float(g.abs().sum()) > 0 for g in (p.grad for p in model.unet.dec3.parameters())), "dec3"


def test_deep_model_exports_a_dynamic_graph_with_parity(tmp_path) -> None:
    torch.manual_seed(2)
    model = SSRNet(_deep()).eval()
    path = export_onnx(model, tmp_path / "deep.onnx", height=32, width=32, dynamic=True)
    assert check_parity(model, path, 32, 32, frames=3) <= 1e-4
    assert check_parity(model, path, 20, 36, frames=3) <= 1e-4  # odd 1/4 scale at run time
