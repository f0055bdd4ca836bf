"""SSRNet and step(): shapes, reset semantics, TFA weights, ablations, re-modulation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ssr.data_tools import pack_frame_reference
from ssr.model import ModelConfig, SSRNet, StreamState, TemporalFeatureAccumulator, initial_state, remodulate, step
from ssr.model.tfa import accumulate

torch.set_num_threads(1)


def _packed(batch: int, height: int, width: int, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    packed = torch.rand(batch, 19, height, width, generator=generator)
    packed[:, 17:19] = (packed[:, 17:19] - 0.5) * 4.0  # motion in pixels
    return packed


@pytest.mark.parametrize("size", [(16, 16), (13, 10)])
def test_step_shapes_and_dtypes(size: tuple[int, int]) -> None:
    torch.manual_seed(0)
    model = SSRNet(ModelConfig(width="tiny")).eval()
    height, width = size
    state = initial_state(2, height, width)
    with torch.no_grad():
        color, state = step(model, _packed(2, height, width), state, reset=True)
        color2, state2 = step(model, _packed(2, height, width, seed=1), state, reset=[False, True])
    assert isinstance(state2, StreamState)
    for tensor, channels in ((color, 3), (color2, 3), (state2.acc, 14), (state2.prev_out, 3)):
        assert tensor.shape == (2, channels, height, width)
        assert tensor.dtype == torch.float32
        assert torch.isfinite(tensor).all()
    assert (color2 >= 0).all()


def test_reset_output_is_independent_of_prior_state() -> None:
    torch.manual_seed(0)
    model = SSRNet(ModelConfig(width="tiny")).eval()
    packed = _packed(1, 12, 12)
    reset = torch.ones(1, 1, 1, 1)
    with torch.no_grad():
        zero = model(packed, torch.zeros(1, 14, 12, 12), torch.zeros(1, 3, 12, 12), reset)
        garbage = model(packed, torch.full((1, 14, 12, 12), float("nan")), torch.randn(1, 3, 12, 12) * 100, reset)
        no_reset = model(packed, torch.randn(1, 14, 12, 12), torch.randn(1, 3, 12, 12), torch.zeros(1, 1, 1, 1))
    for a, b in zip(zero, garbage):
        assert torch.equal(a, b)
    assert not torch.equal(zero[0], no_reset[0])  # history matters without a reset


def test_reset_is_per_batch_item() -> None:
    torch.manual_seed(0)
    model = SSRNet(ModelConfig(width="tiny")).eval()
    packed = _packed(2, 8, 8)
    acc = torch.randn(2, 14, 8, 8)
    prev = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        mixed = model(packed, acc, prev, torch.tensor([1.0, 0.0]).view(2, 1, 1, 1))[0]
        fresh = model(packed[:1], torch.zeros(1, 14, 8, 8), torch.zeros(1, 3, 8, 8), torch.ones(1, 1, 1, 1))[0]
        carried = model(packed[1:], acc[1:], prev[1:], torch.zeros(1, 1, 1, 1))[0]
    assert torch.allclose(mixed[:1], fresh, atol=1e-6)
    assert torch.allclose(mixed[1:], carried, atol=1e-6)


def test_softmax_weights_sum_to_one_and_blend() -> None:
    generator = torch.Generator().manual_seed(0)
    e_ref, e_cur, e_prev = (torch.randn(2, 4, 5, 5, generator=generator) * 3 for _ in range(3))
    x_t = torch.randn(2, 14, 5, 5, generator=generator)
    history = torch.randn(2, 14, 5, 5, generator=generator)
    acc, alpha, beta = accumulate(e_ref, e_cur, e_prev, x_t, history)
    assert torch.allclose(alpha + beta, torch.ones_like(alpha))
    assert ((alpha >= 0) & (alpha <= 1)).all()
    assert torch.allclose(acc, alpha * history + beta * x_t)
    # hand check at one pixel: scores s = <e_ref, e>, beta = e^s_cur / (e^s_cur + e^s_prev)
    s_cur = (e_ref[0, :, 2, 3] * e_cur[0, :, 2, 3]).sum()
    s_prev = (e_ref[0, :, 2, 3] * e_prev[0, :, 2, 3]).sum()
    assert torch.allclose(beta[0, 0, 2, 3], torch.sigmoid(s_cur - s_prev), atol=1e-6)


def test_tfa_module_returns_convex_blend() -> None:
    torch.manual_seed(0)
    tfa = TemporalFeatureAccumulator(hidden=4, embed=4)
    x_t, history = torch.randn(1, 14, 6, 6), torch.randn(1, 14, 6, 6)
    acc, alpha, beta = tfa(x_t, torch.rand(1, 3, 6, 6), history)
    assert torch.allclose(alpha + beta, torch.ones_like(alpha))
    assert torch.allclose(acc, alpha * history + beta * x_t, atol=1e-6)
    # at a reset the history is x_t itself, so A_t = x_t
    same, _, _ = tfa(x_t, torch.rand(1, 3, 6, 6), x_t)
    assert torch.allclose(same, x_t, atol=1e-6)


def test_no_tfa_accumulates_nothing() -> None:
    torch.manual_seed(0)
    model = SSRNet(ModelConfig(width="tiny", use_tfa=False)).eval()
    packed = _packed(1, 8, 8)
    with torch.no_grad():
        _, acc, _ = model(packed, torch.randn(1, 14, 8, 8), torch.zeros(1, 3, 8, 8), torch.zeros(1, 1, 1, 1))
    assert torch.equal(acc, packed[:, :14])
    assert not any(name.startswith("tfa") for name, _ in model.named_parameters())


def test_no_warped_prev_ignores_previous_output() -> None:
    torch.manual_seed(0)
    model = SSRNet(ModelConfig(width="tiny", use_warped_prev=False)).eval()
    packed = _packed(1, 8, 8)
    acc = torch.randn(1, 14, 8, 8)
    reset = torch.zeros(1, 1, 1, 1)
    with torch.no_grad():
        a = model(packed, acc, torch.zeros(1, 3, 8, 8), reset)[0]
        b = model(packed, acc, torch.randn(1, 3, 8, 8) * 10, reset)[0]
    assert torch.equal(a, b)
    assert model.unet.enc0[0][0].in_channels == 31


def test_remodulate_inverts_packing() -> None:
    rng = np.random.default_rng(0)
    frame = {
        "color": rng.uniform(0, 5, (4, 4, 3)).astype(np.float32),
        "albedo": rng.uniform(0, 1, (4, 4, 3)).astype(np.float32),
        "normal": np.tile(np.array([0, 0, 1], np.float32), (4, 4, 1)),
        "depth": np.ones((4, 4, 1), np.float32),
        "roughness": np.zeros((4, 4, 1), np.float32),
        "metallic": np.zeros((4, 4, 1), np.float32),
        "shadow": np.ones((4, 4, 1), np.float32),
        "mask": np.ones((4, 4, 1), np.float32),
        "transparent": np.zeros((4, 4, 3), np.float32),
        "motion": np.zeros((4, 4, 2), np.float32),
    }
    packed = torch.from_numpy(pack_frame_reference(frame))[None]
    color = remodulate(packed[:, 0:3], packed[:, 3:6])
    assert torch.allclose(color[0].permute(1, 2, 0), torch.from_numpy(frame["color"]), rtol=1e-5, atol=1e-5)
    # huge log values stay finite, negative colours clamp to 0
    extreme = remodulate(torch.tensor([[[[100.0]], [[-5.0]], [[0.0]]]]), torch.full((1, 3, 1, 1), 0.5))
    assert torch.isfinite(extreme).all() and extreme[0, 1].item() == 0.0


def test_input_shape_errors() -> None:
    model = SSRNet(ModelConfig(width="tiny"))
    with pytest.raises(ValueError, match="19 channels"):
        model(torch.zeros(1, 18, 8, 8), torch.zeros(1, 14, 8, 8), torch.zeros(1, 3, 8, 8), torch.ones(1, 1, 1, 1))
    with pytest.raises(ValueError, match="must match"):
        model(torch.zeros(1, 19, 8, 8), torch.zeros(1, 14, 8, 4), torch.zeros(1, 3, 8, 8), torch.ones(1, 1, 1, 1))
    with pytest.raises(ValueError, match="width"):
        ModelConfig(width="huge")
    with pytest.raises(ValueError, match="one flag per batch"):
        step(model, torch.zeros(2, 19, 8, 8), initial_state(2, 8, 8), reset=[True, False, True])
