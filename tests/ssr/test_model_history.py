"""Rule-based history (ssr.model.history, ModelConfig.history="rule"): tap validity, the
validity-masked reprojection, sample counting and caps, and the model's stream semantics."""

from __future__ import annotations

import pytest
import torch

from ssr.data_tools.contract import (HISTORY_CAP_MIN, HISTORY_DEPTH_REL, HISTORY_NORMAL_COS, HISTORY_VARIANCE_REL,
                                     PATTERN, RULE_HISTORY_CAP)
from ssr.model import ModelConfig, SSRNet, initial_state, step
from ssr.model.history import (accumulate_samples, core_step, depth_slope, history_cap_map, history_view, luminance,
                               reproject, tap_validity)
from ssr.model.warp import warp

torch.set_num_threads(1)

RULE = dict(width="fast", layout="fast", accumulation="linear", output="kernel", signal="dual", history="rule")


def _flat_gbuffer(height: int, width: int, depth: float = 0.5) -> tuple[torch.Tensor, torch.Tensor]:
    normal = torch.zeros(1, 3, height, width)
    normal[:, 2] = 1.0
    return normal, torch.full((1, 1, height, width), depth)


def _previous(height: int, width: int, channels: int = 14, seed: int = 0, depth: float = 0.5) -> torch.Tensor:
    previous = torch.rand(1, channels, height, width, generator=torch.Generator().manual_seed(seed))
    normal, depth_plane = _flat_gbuffer(height, width, depth)
    previous[:, 6:9], previous[:, 9:10] = normal, depth_plane
    return previous


def _frame(t: int, height: int, width: int, motion: tuple[float, float] = (0.0, 0.0), seed: int = 0,
           depth: torch.Tensor | None = None) -> torch.Tensor:
    """A packed frame of a flat, rough, grey wall facing the camera, traced in the 2x2 pattern."""
    generator = torch.Generator().manual_seed(1000 * seed + t)
    packed = torch.zeros(1, 19, height, width)
    dx, dy = PATTERN[t % 4]
    mask = torch.zeros(1, 1, height, width)
    mask[..., dy::2, dx::2] = 1.0
    packed[:, 0:3] = torch.log1p(torch.rand(1, 3, height, width, generator=generator) * 2.0) * mask
    packed[:, 3:6] = 0.5
    packed[:, 6:9], packed[:, 9:10] = _flat_gbuffer(height, width)
    if depth is not None:
        packed[:, 9:10] = depth
    packed[:, 10] = 1.0
    packed[:, 13:14] = mask
    packed[:, 17], packed[:, 18] = motion
    return packed


def test_tap_validity_tests_normal_depth_and_misses() -> None:
    normal, depth = _flat_gbuffer(1, 4)
    slope = torch.zeros_like(depth)
    tilted = torch.tensor([0.0, (1 - HISTORY_NORMAL_COS ** 2) ** 0.5 * 1.5, 0.0]).view(1, 3, 1, 1)
    tilted = normal + tilted
    tilted = tilted / tilted.norm(dim=1, keepdim=True)
    assert tap_validity(normal, depth, normal, depth, slope).flatten().tolist() == [1.0] * 4
    assert tap_validity(tilted, depth, normal, depth, slope).flatten().tolist() == [0.0] * 4
    far = depth * (1.0 + 2.0 * HISTORY_DEPTH_REL)
    assert tap_validity(normal, far, normal, depth, slope).flatten().tolist() == [0.0] * 4
    # a grazing surface's slope widens the depth tolerance
    assert tap_validity(normal, far, normal, depth, slope + depth).flatten().tolist() == [1.0] * 4
    miss = torch.zeros_like(depth)
    assert tap_validity(normal * 0, miss, normal * 0, miss, slope).flatten().tolist() == [1.0] * 4
    assert tap_validity(normal * 0, miss, normal, depth, slope).flatten().tolist() == [0.0] * 4


def test_depth_slope_ignores_the_far_side_of_an_edge() -> None:
    depth = torch.tensor([[0.2, 0.2, 0.2, 0.9, 0.9]]).view(1, 1, 1, 5)
    assert depth_slope(depth).flatten().tolist() == pytest.approx([0.0] * 5)


@pytest.mark.parametrize("motion", [(0.0, 0.0), (0.37, -0.61), (-1.25, 0.5)])
def test_reproject_matches_the_bilinear_warp_where_every_tap_is_valid(motion: tuple[float, float]) -> None:
    height, width = 9, 11
    previous = _previous(height, width)
    motion_px = torch.tensor(motion).view(1, 2, 1, 1).expand(1, 2, height, width).contiguous()
    normal, depth = _flat_gbuffer(height, width)
    weighted, weight = reproject(previous, motion_px, normal, depth)
    torch.testing.assert_close(weighted, warp(previous, motion_px), atol=1e-5, rtol=1e-5)
    # the weight is the in-frame coverage of the bilinear footprint
    interior = weight[..., 2:-2, 2:-2]
    torch.testing.assert_close(interior, torch.ones_like(interior))


def test_reproject_drops_taps_across_a_depth_edge() -> None:
    """A foreground pixel beside the background reads only foreground taps (no ghosting)."""
    height, width = 4, 6
    depth = torch.full((1, 1, height, width), 0.9)
    depth[..., :3] = 0.2  # foreground on the left
    previous = _previous(height, width)
    previous[:, 9:10] = depth
    previous[:, 0] = torch.where(depth[:, 0] < 0.5, 1.0, 100.0)  # foreground 1, background 100
    motion_px = torch.zeros(1, 2, height, width)
    motion_px[:, 0] = 0.5  # half a pixel: each pixel's taps straddle its right neighbour
    normal, _ = _flat_gbuffer(height, width)
    weighted, weight = reproject(previous, motion_px, normal, depth)
    renormalised = weighted[:, 0] / weight[:, 0].clamp_min(1e-6)
    assert torch.allclose(renormalised[..., :3], torch.ones(1, height, 3))  # no background leaks in
    assert float(weight[0, 0, 1, 2]) == pytest.approx(0.5)  # one of two horizontal taps valid
    assert torch.allclose(warp(previous, motion_px)[:, 0, 1, 2], torch.tensor([50.5]))  # the plain warp blends


def test_accumulate_samples_counts_caps_and_keeps_untraced_history() -> None:
    total, count, square = torch.full((1, 3, 1, 2), 6.0), torch.full((1, 1, 1, 2), 3.0), torch.full((1, 1, 1, 2), 12.0)
    sample = torch.full((1, 3, 1, 2), 2.0)
    traced = torch.tensor([[[[1.0, 0.0]]]])
    cap = torch.full((1, 1, 1, 2), 32.0)
    new_total, new_count, new_square = accumulate_samples(total, count, square, sample, traced, cap)
    assert new_count.flatten().tolist() == [4.0, 3.0]
    assert new_total[0, 0].flatten().tolist() == [8.0, 6.0]
    assert new_square.flatten().tolist() == pytest.approx([12.0 + 4.0, 12.0])
    # at the cap the oldest samples fade: the count stays, the new sample weighs 1 / cap
    capped_total, capped_count, _ = accumulate_samples(total, count, square, sample, traced, torch.full_like(cap, 3.0))
    assert capped_count.flatten().tolist() == [3.0, 3.0]
    assert capped_total[0, 0, 0, 0] / capped_count[0, 0, 0, 0] == pytest.approx((2.0 * 2.0 + 2.0) / 3.0)
    # no history: the sample alone
    fresh_total, fresh_count, _ = accumulate_samples(total * 0, count * 0, square * 0, sample, traced, cap)
    assert fresh_count.flatten().tolist() == [1.0, 0.0]
    assert fresh_total[0, 0].flatten().tolist() == [2.0, 0.0]


def test_history_cap_shortens_on_mirrors_and_glass() -> None:
    roughness = torch.tensor([1.0, 0.5, 0.25, 0.0, 1.0]).view(1, 1, 1, 5)
    transparent = torch.zeros(1, 3, 1, 5)
    transparent[..., 4] = 1.0
    caps = history_cap_map(roughness, transparent, RULE_HISTORY_CAP).flatten().tolist()
    middle = HISTORY_CAP_MIN + (RULE_HISTORY_CAP - HISTORY_CAP_MIN) / 2
    assert caps == pytest.approx([RULE_HISTORY_CAP, RULE_HISTORY_CAP, middle, HISTORY_CAP_MIN, HISTORY_CAP_MIN])


def test_history_view_gives_mean_spread_and_count() -> None:
    state = torch.zeros(1, 14, 1, 1)
    state[:, 0:3] = 4.0 * 2.0  # 4 samples of mean 2 per channel
    state[:, 12] = 4.0 * 2.0 ** 2 + 4.0 * 1.0  # luminance second moment: variance 1
    state[:, 13] = 4.0
    view = history_view(state, 32.0, 1e-2)
    assert float(view[0, 0]) == pytest.approx(float(torch.log1p(torch.tensor(2.0))))
    spread = (1.0 - HISTORY_VARIANCE_REL * 4.0) ** 0.5  # variance 1 less the relative floor of mean^2 = 4
    assert float(view[0, 12]) == pytest.approx(float(torch.log1p(torch.tensor(spread))), rel=1e-4)
    # agreeing samples (one, or a constant one) read a spread of 0, not float32 cancellation noise
    agreeing = state.clone()
    agreeing[:, 0:3] = torch.tensor([0.37, 11.3, 2.9]).view(1, 3, 1, 1) * 3.0
    agreeing[:, 12] = luminance(agreeing[:, 0:3] / 3.0) ** 2 * 3.0 * (1.0 + 1e-5)
    agreeing[:, 13] = 3.0
    assert float(history_view(agreeing, 32.0, 1e-2)[0, 12]) == pytest.approx(1e-6, abs=1e-9)
    assert float(view[0, 13]) == pytest.approx(4.0 / 32.0)
    assert float(luminance(torch.ones(1, 3, 1, 1))) == pytest.approx(1.0)


def test_rule_model_counts_samples_on_a_static_wall() -> None:
    """A static camera: every pixel gains one sample every four frames, up to the cap."""
    torch.manual_seed(0)
    model = SSRNet(ModelConfig(**RULE, history_cap=4.0)).eval()
    height, width = 8, 12
    state = initial_state(1, height, width)
    counts = []
    with torch.no_grad():
        for t in range(24):
            color, state = step(model, _frame(t, height, width), state, reset=t == 0)
            counts.append(float(state.acc[0, 13].mean()))
            assert torch.isfinite(color).all()
    assert counts[:8] == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0])
    assert counts[-1] == pytest.approx(4.0)
    # the state keeps this frame's normal and depth for the next frame's validity test
    torch.testing.assert_close(state.acc[:, 6:10], _frame(0, height, width)[:, 6:10])


def test_rule_model_restarts_history_at_a_reset_and_a_disocclusion() -> None:
    torch.manual_seed(0)
    model = SSRNet(ModelConfig(**RULE)).eval()
    height, width = 8, 12
    state = initial_state(1, height, width)
    with torch.no_grad():
        for t in range(8):
            _, state = step(model, _frame(t, height, width), state, reset=t == 0)
        assert float(state.acc[0, 13].min()) == pytest.approx(2.0)
        _, after_cut = step(model, _frame(8, height, width), state, reset=True)
        assert float(after_cut.acc[0, 13].max()) == 1.0
        moved = torch.full((1, 1, height, width), 0.5)
        moved[..., :, : width // 2] = 0.1  # the left half is now a near object
        _, occluded = step(model, _frame(8, height, width, depth=moved), state, reset=False)
    counts = occluded.acc[0, 13]
    assert float(counts[:, : width // 2].max()) <= 1.0  # history restarted where the surface changed
    assert float(counts[:, width // 2 + 1:].min()) >= 2.0  # kept elsewhere


def test_rule_model_ignores_a_nan_state_at_reset() -> None:
    torch.manual_seed(0)
    model = SSRNet(ModelConfig(**RULE)).eval()
    state = initial_state(1, 8, 8)
    poisoned = state._replace(acc=torch.full_like(state.acc, float("nan")),
                              prev_out=torch.full_like(state.prev_out, float("nan")))
    with torch.no_grad():
        clean, _ = step(model, _frame(0, 8, 8), state, reset=True)
        color, _ = step(model, _frame(0, 8, 8), poisoned, reset=True)
    torch.testing.assert_close(color, clean)


def test_rule_model_trains_end_to_end() -> None:
    torch.manual_seed(0)
    model = SSRNet(ModelConfig(**RULE))
    state = initial_state(1, 8, 8)
    loss = torch.zeros(())
    for t in range(3):
        color, state = step(model, _frame(t, 8, 8, motion=(0.3, -0.2)), state, reset=t == 0)
        loss = loss + color.mean()
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(float(g.abs().sum()) > 0 for g in grads if g is not None)


@pytest.mark.parametrize("bad", [
    dict(accumulation="log", output="direct", signal="irradiance"),
    dict(use_tfa=False),
    dict(history_cap=1.0),
])
def test_rule_config_is_validated(bad: dict) -> None:
    with pytest.raises(ValueError, match="history"):
        ModelConfig(**{**RULE, **bad})


def test_rule_model_refuses_a_state_warped_outside() -> None:
    model = SSRNet(ModelConfig(**RULE))
    state = initial_state(1, 8, 8)
    with pytest.raises(ValueError, match="history='rule'"):
        model.forward_prewarped(_frame(0, 8, 8), state.acc, state.prev_out, torch.ones(1, 1, 1, 1))


def _moving_frames(frames: int, height: int, width: int) -> list[torch.Tensor]:
    """A wall that moves a fraction of a pixel per frame, with a near box appearing on the left."""
    out = []
    for t in range(frames):
        depth = torch.full((1, 1, height, width), 0.5)
        if t >= 4:
            depth[..., 2:6, 1:4] = 0.2
        out.append(_frame(t, height, width, motion=(0.35, -0.15), seed=3, depth=depth))
    return out


def test_core_step_leaves_the_signal_the_network_would() -> None:
    """The warm-up without the network gives the same signal planes as the model's own steps."""
    torch.manual_seed(0)
    model = SSRNet(ModelConfig(**RULE)).eval()
    height, width = 8, 12
    state = initial_state(1, height, width)
    acc, prev_out = state
    with torch.no_grad():
        for t, packed in enumerate(_moving_frames(10, height, width)):
            reset = torch.full((1, 1, 1, 1), float(t in (0, 6)))
            _, state = step(model, packed, state, reset=reset)
            acc, prev_out = core_step(acc, prev_out, packed, reset, model.config.history_cap, model.config.view_floor)
    rule_planes = [0, 1, 2, 6, 7, 8, 9, 12, 13]
    torch.testing.assert_close(acc[:, rule_planes], state.acc[:, rule_planes], atol=1e-5, rtol=1e-5)
    assert float(acc[0, 13].max()) > 0.5  # history survived the moving camera after the reset at frame 6


def test_unroller_burn_in_of_a_rule_model_warms_the_signal() -> None:
    from ssr.train.loop import ClipUnroller

    torch.manual_seed(0)
    model = SSRNet(ModelConfig(**RULE)).eval()
    height, width = 8, 12
    packed = torch.cat(_moving_frames(9, height, width))[None]  # [1, 9, 19, H, W]
    reset = torch.zeros(1, 9)
    reset[0, 0] = 1.0
    unroller = ClipUnroller(model)
    with torch.no_grad():
        warm, _ = unroller(packed, reset, burn_in=8)
        cold, _ = unroller(packed[:, 8:], torch.ones(1, 1), burn_in=0)
        # the last frame streamed from frame 0 by the network itself
        state = initial_state(1, height, width)
        for t in range(9):
            color, state = step(model, packed[:, t], state, reset=t == 0)
    assert not torch.allclose(warm[:, 0], cold[:, 0])  # the history is used
    # the signal is exact, the G-buffer blend and previous output are approximated: close, not equal
    assert float((warm[:, 0] - color).abs().mean()) < float((cold[:, 0] - color).abs().mean())
