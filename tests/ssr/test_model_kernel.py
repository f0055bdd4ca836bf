"""Linear accumulation and the kernel-predicting output (ssr.model.kernel, issue 7)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ssr.data_tools.contract import SLICES
from ssr.model import ModelConfig, SSRNet, initial_state, step
from ssr.model.cost import conv_macs_per_pixel
from ssr.model.kernel import apply_kernel, kernel_weights, log_view, signal_irradiance, signal_of
from ssr.model.warp import warp, warp_coverage

torch.set_num_threads(1)
KERNEL = ModelConfig(width="lean", accumulation="linear", output="kernel")


def _constant_stream(height: int, width: int, frames: int, irradiance: torch.Tensor, motion: float):
    """1/4-spp frames of a flat surface of constant irradiance, rotating subpixel mask."""
    stream = []
    for t in range(frames):
        packed = torch.rand(1, 19, height, width, generator=torch.Generator().manual_seed(t))
        mask = torch.zeros(1, 1, height, width)
        mask[:, :, (t // 2) % 2::2, t % 2::2] = 1.0
        packed[:, SLICES["irradiance"]] = torch.log1p(irradiance.view(1, 3, 1, 1)) * mask
        packed[:, SLICES["mask"]] = mask
        packed[:, SLICES["albedo"]] = 0.25
        packed[:, SLICES["motion"]] = motion
        stream.append(packed)
    return stream


def assert_keeps_constant_colour(model: SSRNet, height: int, width: int, frames: int, motion: float) -> None:
    """Stream :func:`_constant_stream` (irradiance 0.3 / 1.5 / 7.0, albedo 0.25) through
    ``model`` and assert every frame's colour is that irradiance times the albedo."""
    irradiance = torch.tensor([0.3, 1.5, 7.0])
    state = initial_state(1, height, width)
    with torch.no_grad():
        for t, packed in enumerate(_constant_stream(height, width, frames, irradiance, motion)):
            color, state = step(model, packed, state, reset=t == 0)
            torch.testing.assert_close(color / (0.25 + 0.004), irradiance.view(1, 3, 1, 1).expand_as(color),
                                       rtol=1e-4, atol=1e-4)


def test_apply_kernel_uniform_weights_is_a_zero_padded_box_filter() -> None:
    signal = torch.rand(2, 4, 9, 11, generator=torch.Generator().manual_seed(0))
    for side in (3, 5):
        weights = kernel_weights(torch.zeros(2, side * side, 9, 11))
        box = torch.ones(4, 1, side, side) / side**2
        expected = F.conv2d(signal, box, padding=side // 2, groups=4)
        torch.testing.assert_close(apply_kernel(signal, weights), expected, rtol=1e-5, atol=1e-6)


def test_apply_kernel_one_hot_tap_shifts() -> None:
    signal = torch.arange(25.0).view(1, 1, 5, 5)
    logits = torch.full((1, 9, 5, 5), -1e4)
    logits[:, 5] = 0.0  # row 1, column 2: the right neighbour
    out = apply_kernel(signal, kernel_weights(logits))
    torch.testing.assert_close(out[0, 0, :, :4], signal[0, 0, :, 1:])
    assert torch.all(out[0, 0, :, 4] == 0)  # outside the image reads 0


def test_kernel_weights_are_normalised_and_non_negative() -> None:
    weights = kernel_weights(torch.randn(1, 25, 4, 4) * 10)
    assert torch.all(weights >= 0)
    torch.testing.assert_close(weights.sum(dim=1), torch.ones(1, 4, 4))
    with pytest.raises(ValueError, match="odd square"):
        apply_kernel(torch.zeros(1, 4, 4, 4), torch.zeros(1, 8, 4, 4))


def test_warp_coverage_undoes_zero_padding() -> None:
    motion = (torch.rand(1, 2, 8, 10, generator=torch.Generator().manual_seed(3)) - 0.5) * 6.0
    ones = warp(torch.ones(1, 1, 8, 10), motion)
    coverage = warp_coverage(motion)
    torch.testing.assert_close(coverage, ones, rtol=1e-5, atol=1e-5)
    assert coverage.min() < 0.5 < coverage.max()  # the case covers outside and inside


@pytest.mark.parametrize("motion", [0.0, 0.7, -2.3])
def test_kernel_model_cannot_shift_a_constant_colour(motion: float) -> None:
    """Untrained, random weights: the output of a flat constant-irradiance stream is that
    irradiance at every pixel and frame (kernels are convex combinations of traced samples)."""
    torch.manual_seed(0)
    model = SSRNet(KERNEL).eval()
    assert_keeps_constant_colour(model, 10, 14, 6, motion)


def test_linear_accumulation_is_a_mean_of_traced_samples_only() -> None:
    """The TFA blends A_irr and A_mask with the same weights: their ratio is a weighted mean
    of traced linear samples, never pulled towards the zeros of untraced pixels."""
    torch.manual_seed(1)
    model = SSRNet(ModelConfig(width="tiny", accumulation="linear")).eval()
    irradiance = torch.tensor([2.0, 0.5, 1.0])
    state = initial_state(1, 8, 8)
    with torch.no_grad():
        for t, packed in enumerate(_constant_stream(8, 8, 5, irradiance, 0.0)):
            _, state = step(model, packed, state, reset=t == 0)
    mean = signal_irradiance(signal_of(state.acc))
    traced = state.acc[:, SLICES["mask"]] > 1e-3
    assert traced.float().mean() > 0.99  # after 4 frames of the rotating pattern
    torch.testing.assert_close(mean[traced.expand_as(mean)], irradiance.view(1, 3, 1, 1).expand_as(mean)[traced.expand_as(mean)],
                               rtol=1e-5, atol=1e-5)
    view = log_view(state.acc)
    torch.testing.assert_close(view[:, SLICES["irradiance"]], torch.log1p(mean))


def test_kernel_model_budget_and_gradients() -> None:
    small = conv_macs_per_pixel(SSRNet(ModelConfig()))
    lean = conv_macs_per_pixel(SSRNet(KERNEL))
    assert lean <= small  # issue 7: at most today's conv MACs per pixel
    model = SSRNet(KERNEL)
    state = initial_state(2, 12, 12)
    stream = _constant_stream(12, 12, 3, torch.tensor([1.0, 2.0, 3.0]), 0.5)
    loss = 0.0
    for t, packed in enumerate(stream):
        noisy = packed.repeat(2, 1, 1, 1)
        noisy[:, SLICES["irradiance"]] *= torch.rand(2, 3, 12, 12) * 2
        color, state = step(model, noisy, state, reset=t == 0)
        loss = loss + color.mean()
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_config_rejects_kernel_without_linear_accumulation() -> None:
    with pytest.raises(ValueError, match="accumulation"):
        ModelConfig(output="kernel")
    with pytest.raises(ValueError, match="kernel_sizes"):
        ModelConfig(accumulation="linear", output="kernel", kernel_sizes=(5, 4, 3))
    config = ModelConfig.from_dict(KERNEL.to_dict() | {"kernel_sizes": [3, 3, 3]})
    assert config.kernel_sizes == (3, 3, 3)


@pytest.mark.parametrize("config", [KERNEL, ModelConfig(width="tiny")], ids=["kernel", "direct"])
def test_fp16_graph_streams_close_to_float32_on_bright_frames(tmp_path, config: ModelConfig) -> None:
    """Log irradiance up to 12 (linear 1.6e5, beyond the half range): every conv runs in
    half, the linear state and exp paths stay float32 end to end (no fp16 round trip)."""
    pytest.importorskip("onnxruntime")
    import onnx

    from ssr.export.fp16 import convert_to_fp16
    from ssr.export.onnx import export_onnx, random_stream_inputs
    from ssr.runtime.onnx_backend import OnnxStream

    torch.manual_seed(3)
    path = export_onnx(SSRNet(config).eval(), tmp_path / "m.onnx", height=16, width=16, dynamic=True)
    half_path = convert_to_fp16(path, tmp_path / "m.fp16.onnx")
    half = onnx.load(str(half_path))
    weights = {i.name: i.data_type for i in half.graph.initializer}
    convs = [n for n in half.graph.node if n.op_type == "Conv"]
    assert convs and all(weights.get(n.input[1]) == onnx.TensorProto.FLOAT16 for n in convs)
    stream32, stream16 = OnnxStream(path), OnnxStream(half_path)
    for index, packed in enumerate(random_stream_inputs(16, 16, 3)):
        packed[0, SLICES["irradiance"]] *= 6.0
        want, have = stream32.step(packed[0], cut=index == 0), stream16.step(packed[0], cut=index == 0)
        assert np.isfinite(have).all()
        assert np.abs(have - want).max() <= 1e-2 * np.abs(want).max()


FAST = ModelConfig(width="fast", accumulation="linear", output="kernel", layout="fast")


def test_kernel_weights_equal_softmax() -> None:
    """The exported form exp(x - max) / sum is torch.softmax, extreme logits included."""
    logits = torch.randn(2, 9, 5, 6) * 30.0
    torch.testing.assert_close(kernel_weights(logits), torch.softmax(logits, dim=1), rtol=1e-6, atol=1e-7)


def test_tfa_two_way_blend_equals_softmax_of_scores() -> None:
    from ssr.model.tfa import accumulate

    generator = torch.Generator().manual_seed(4)
    e_ref, e_cur, e_prev = (torch.randn(1, 8, 4, 4, generator=generator) * 3 for _ in range(3))
    x_t, history = torch.randn(1, 14, 4, 4, generator=generator), torch.randn(1, 14, 4, 4, generator=generator)
    acc, alpha, beta = accumulate(e_ref, e_cur, e_prev, x_t, history)
    scores = torch.cat(((e_ref * e_cur).sum(1, keepdim=True), (e_ref * e_prev).sum(1, keepdim=True)), dim=1)
    expected = torch.softmax(scores, dim=1)
    torch.testing.assert_close(torch.cat((beta, alpha), dim=1), expected)
    torch.testing.assert_close(acc, expected[:, 1:2] * history + expected[:, 0:1] * x_t)


@pytest.mark.parametrize("sizes", [(5, 5, 3), (5, 5, 1)])
def test_fast_layout_costs_a_third_and_keeps_the_kernel_guarantees(sizes: tuple[int, int, int]) -> None:
    """layout="fast": about a third of docs/method.md's conv MACs, and like every kernel model it
    cannot shift a constant colour; odd sizes (14 x 10 pad to multiples of 4) work."""
    config = ModelConfig.from_dict(FAST.to_dict() | {"kernel_sizes": list(sizes)})
    model = SSRNet(config).eval()
    assert conv_macs_per_pixel(model) < conv_macs_per_pixel(SSRNet(KERNEL)) / 2.5
    assert_keeps_constant_colour(model, 10, 14, 5, 0.7)
    assert all(m.kernel_size == (1, 1) for m in model.tfa.modules() if isinstance(m, torch.nn.Conv2d))


def test_layout_is_validated_and_round_trips() -> None:
    with pytest.raises(ValueError, match="layout"):
        ModelConfig(layout="tiny")
    with pytest.raises(ValueError, match="layout"):
        ModelConfig(arch="rae", layout="fast")
    assert ModelConfig.from_dict(FAST.to_dict()) == FAST
    old = {k: v for k, v in KERNEL.to_dict().items() if k != "layout"}  # a sidecar written before layouts
    assert ModelConfig.from_dict(old).layout == "spec"


def test_removed_tfa_untraced_option_loads_only_as_learned() -> None:
    """``tfa_untraced`` ("keep" / "count") lost its A/B and left the model: a config saved
    with ``"learned"`` loads as today's model, any other value is refused by name."""
    assert ModelConfig.from_dict(FAST.to_dict() | {"tfa_untraced": "learned"}) == FAST
    with pytest.raises(ValueError, match="tfa_untraced='keep' is no longer supported"):
        ModelConfig.from_dict(FAST.to_dict() | {"tfa_untraced": "keep"})

