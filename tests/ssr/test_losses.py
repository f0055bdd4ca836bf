"""Loss functions against hand-computed values."""

from __future__ import annotations

import pytest
import torch

from ssr.losses import (
    FRAME_WEIGHTS,
    albedo_loss,
    clip_loss,
    edge_loss,
    hfen,
    log_kernel,
    smape,
    spatial_loss,
    temporal_loss,
    warped_temporal_loss,
)

torch.set_num_threads(1)


def _img(values: list[float]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32).view(1, 1, 1, -1)


def test_smape_hand_values() -> None:
    # |1-1| / (1+1+0.01) = 0 and |3-1| / (3+1+0.01) = 2/4.01 -> mean 1/4.01
    assert smape(_img([1, 3]), _img([1, 1])).item() == pytest.approx(1 / 4.01, rel=1e-6)
    assert spatial_loss(_img([0, -2]), _img([0, 2])).item() == pytest.approx((0 + 4 / 4.01) / 2, rel=1e-6)
    with pytest.raises(ValueError, match="same shape"):
        smape(_img([1, 2]), _img([1, 2, 3]))


def test_temporal_hand_value() -> None:
    # d_t - d_prev = 1, r_t - r_prev = 2 -> 1 / (1 + 2 + 0.01)
    value = temporal_loss(_img([2]), _img([1]), _img([3]), _img([1])).item()
    assert value == pytest.approx(1 / 3.01, rel=1e-6)


def test_log_kernel_properties() -> None:
    kernel = log_kernel()
    assert kernel.shape == (15, 15)
    assert abs(kernel.sum().item()) < 1e-6
    assert torch.allclose(kernel, kernel.flip(0)) and torch.allclose(kernel, kernel.T)
    assert kernel[7, 7] < 0  # negative centre, like MATLAB's fspecial('log', 15, 1.5)
    # centre by hand: (0 - 2 s^2) / s^4 * g(0) / sum(g), minus the kernel mean
    import math

    sigma = 1.5
    gauss_sum = sum(math.exp(-(x * x + y * y) / (2 * sigma**2)) for x in range(-7, 8) for y in range(-7, 8))
    raw_sum = sum(
        (x * x + y * y - 2 * sigma**2) / sigma**4 * math.exp(-(x * x + y * y) / (2 * sigma**2)) / gauss_sum
        for x in range(-7, 8)
        for y in range(-7, 8)
    )
    centre = -2 / sigma**2 / gauss_sum - raw_sum / 225
    assert kernel[7, 7].item() == pytest.approx(centre, rel=1e-5)


def test_hfen_of_constant_and_linear_images_is_zero_and_impulse_gives_kernel() -> None:
    assert hfen(torch.full((1, 3, 20, 20), 4.0)).abs().max() < 1e-5
    ramp = torch.arange(40, dtype=torch.float32).view(1, 1, 1, 40).expand(1, 1, 40, 40).contiguous()
    assert hfen(ramp)[..., 8:-8, 8:-8].abs().max() < 1e-4  # away from the replicate border
    impulse = torch.zeros(1, 1, 15, 15)
    impulse[0, 0, 7, 7] = 1.0
    assert torch.allclose(hfen(impulse)[0, 0], log_kernel(), atol=1e-7)


def test_edge_loss_hand_value() -> None:
    reference = torch.ones(1, 1, 15, 15)  # HFEN(r) = 0
    denoised = torch.ones(1, 1, 15, 15)
    denoised[0, 0, 7, 7] = 3.0  # impulse of height 2 on top of a constant
    expected = 2.0 * log_kernel().abs().sum().item() / (225 * 1.01)
    assert edge_loss(denoised, reference).item() == pytest.approx(expected, rel=1e-5)
    assert edge_loss(reference + 5.0, reference).item() == pytest.approx(0.0, abs=1e-6)


def test_warped_temporal_hand_value() -> None:
    d_t, d_prev = torch.ones(1, 1, 4, 4), torch.full((1, 1, 4, 4), 2.0)
    r_t, r_prev = torch.ones(1, 1, 4, 4), torch.ones(1, 1, 4, 4)
    motion = torch.zeros(1, 2, 4, 4)
    motion[:, 0] = 1.0  # last column samples outside the previous frame (0)
    # inside: |(1-2) - (1-1)| / (1 + 0 + 0.01); last column: |1 - 1| / .. = 0 -> 12/16 / 1.01
    value = warped_temporal_loss(d_t, d_prev, r_t, r_prev, motion).item()
    assert value == pytest.approx(12 / 16 / 1.01, rel=1e-5)
    # zero motion reduces to the plain temporal loss
    still = torch.zeros(1, 2, 4, 4)
    assert warped_temporal_loss(d_t, d_prev, r_t, r_prev, still).item() == pytest.approx(
        temporal_loss(d_t, d_prev, r_t, r_prev).item(), rel=1e-6
    )


def test_albedo_hand_value() -> None:
    assert albedo_loss(torch.full((1, 3, 2, 2), 0.5), torch.ones(1, 3, 2, 2)).item() == pytest.approx(0.5 / 1.51, rel=1e-6)


def _static_clip() -> tuple[torch.Tensor, ...]:
    """A static 8x8 clip of FRAME_WEIGHTS' length: output 2 against reference 1, zero motion,
    accumulated albedo 0.5 against 1 (clip_loss's arguments in order)."""
    frames = len(FRAME_WEIGHTS)
    return (torch.full((1, frames, 3, 8, 8), 2.0), torch.ones(1, frames, 3, 8, 8), torch.zeros(1, frames, 2, 8, 8),
            torch.full((1, 3, 8, 8), 0.5), torch.ones(1, 3, 8, 8))


def test_clip_loss_weights_and_lambdas() -> None:
    denoised, reference, motion, albedo_acc, reference_albedo = _static_clip()
    losses = clip_loss(denoised, reference, motion, albedo_acc, reference_albedo)
    # spatial: sum of frame weights (2.55) * 1/3.01; temporal/edge/warped: 0 (static images)
    assert losses.spatial.item() == pytest.approx(2.55 / 3.01, rel=1e-6)
    assert losses.temporal.item() == pytest.approx(0.0, abs=1e-7)
    assert losses.edge.item() == pytest.approx(0.0, abs=1e-5)
    assert losses.warped_temporal.item() == pytest.approx(0.0, abs=1e-7)
    assert losses.albedo.item() == pytest.approx(0.5 / 1.51, rel=1e-6)
    expected_total = 0.7 * 2.55 / 3.01 + 5.0 * 0.5 / 1.51
    assert losses.total.item() == pytest.approx(expected_total, rel=1e-5)
    # temporal: only the last frame changes (d: 2 -> 3, r: 1 -> 1): weight 1 * 1/(1+0+0.01)
    denoised[:, -1] = 3.0
    changed = clip_loss(denoised, reference, motion, albedo_acc, reference_albedo)
    assert changed.temporal.item() == pytest.approx(1.0 / 1.01, rel=1e-5)
    assert changed.warped_temporal.item() == pytest.approx(1.0 / 1.01, rel=1e-5)
    assert set(changed.scalars()) == {"total", "spatial", "temporal", "edge", "warped_temporal", "albedo"}


def test_clip_loss_is_differentiable_and_checks_shapes() -> None:
    denoised = torch.rand(2, 5, 3, 8, 8, requires_grad=True)
    losses = clip_loss(denoised, torch.rand(2, 5, 3, 8, 8), torch.zeros(2, 5, 2, 8, 8), torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8))
    losses.total.backward()
    assert denoised.grad is not None and torch.isfinite(denoised.grad).all()
    with pytest.raises(ValueError, match="B, T, 3, H, W"):
        clip_loss(torch.rand(5, 3, 8, 8), torch.rand(5, 3, 8, 8), torch.zeros(5, 2, 8, 8), torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8))


def test_relmse_n2n_is_minimised_by_the_mean_of_a_noisy_reference() -> None:
    """On a right-skewed noisy reference (exponential samples of mean 2), the constant that
    minimises the noise2noise relMSE is the mean; SMAPE's minimiser sits well below it."""
    from ssr.losses import relmse_n2n, smape

    generator = torch.Generator().manual_seed(0)
    reference = -2.0 * torch.log(torch.rand(1, 1, 64, 64, generator=generator))
    for loss, expect_mean in ((relmse_n2n, True), (smape, False)):
        value = torch.full((1, 1, 1, 1), 0.5, requires_grad=True)
        optimiser = torch.optim.Adam([value], lr=0.05)
        for _ in range(400):
            optimiser.zero_grad()
            loss(value.expand_as(reference), reference).backward()
            optimiser.step()
        if expect_mean:
            assert abs(float(value) - float(reference.mean())) < 0.1
        else:
            assert float(value) < 0.85 * float(reference.mean())


def test_spatial_loss_kind_is_checked() -> None:
    from ssr.losses import spatial_loss

    with pytest.raises(ValueError, match="smape"):
        spatial_loss(torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 4), "l2")


def test_clip_loss_spatial_kind_changes_the_spatial_term_only() -> None:
    denoised = torch.rand(2, 5, 3, 8, 8, generator=torch.Generator().manual_seed(1), requires_grad=True)
    reference = torch.rand(2, 5, 3, 8, 8, generator=torch.Generator().manual_seed(2))
    args = (reference, torch.zeros(2, 5, 2, 8, 8), torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8))
    smape_terms = clip_loss(denoised, *args, spatial_kind="smape")
    relmse_terms = clip_loss(denoised, *args, spatial_kind="relmse")
    for name in ("temporal", "edge", "warped_temporal", "albedo"):
        assert float(getattr(smape_terms, name)) == float(getattr(relmse_terms, name))
    assert float(smape_terms.spatial) != float(relmse_terms.spatial)
    relmse_terms.total.backward()
    assert denoised.grad is not None and torch.isfinite(denoised.grad).all()
    with pytest.raises(TypeError):  # the relMSE temporal form was removed (docs/research-log.md)
        clip_loss(denoised, *args, temporal_kind="relmse")


