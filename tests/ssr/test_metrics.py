"""Tests of ssr.metrics: known values, monotonicity, warping, input checks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ssr.metrics import (
    FRAME_METRICS,
    MetricSet,
    compute_frame_metrics,
    flip_hdr,
    lowfreq_rmse,
    psnr,
    rmse,
    ssim,
    temporal_error,
    tonemap_srgb,
    warp_previous,
)


def _image(seed: int, size: tuple[int, int] = (24, 32), scale: float = 2.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random((*size, 3)) * scale).astype(np.float32)


def _smooth_image(size: tuple[int, int] = (24, 32)) -> np.ndarray:
    y, x = np.mgrid[0 : size[0], 0 : size[1]].astype(np.float32)
    return np.stack([0.5 + 0.4 * np.sin(x / 3), 0.5 + 0.4 * np.cos(y / 4), (x + y) / (size[0] + size[1])], -1)


# ----------------------------------------------------------------------------- rmse / psnr


def test_identical_images_give_perfect_scores() -> None:
    image = _image(0)
    assert rmse(image, image) == 0.0
    assert psnr(image, image) == math.inf
    assert ssim(image, image) == pytest.approx(1.0, abs=1e-12)


def test_constant_offset_gives_hand_computed_psnr_and_rmse() -> None:
    ref = np.zeros((8, 8, 3), np.float32)
    ref[0, 0, 0] = 2.0  # peak 2
    test = ref + 0.1
    assert rmse(test, ref) == pytest.approx(0.1, rel=1e-6)
    # data_range defaults to max(ref) = 2: 10 log10(4 / 0.01) = 26.0206 dB
    assert psnr(test, ref) == pytest.approx(10 * math.log10(4 / 0.01), rel=1e-6)
    # explicit range 1: 10 log10(1 / 0.01) = 20 dB
    assert psnr(test, ref, data_range=1.0) == pytest.approx(20.0, rel=1e-6)


def test_psnr_needs_a_range_for_a_black_reference() -> None:
    black = np.zeros((8, 8, 3), np.float32)
    with pytest.raises(ValueError, match="all black"):
        psnr(black + 0.1, black)
    assert psnr(black + 0.1, black, data_range=1.0) == pytest.approx(20.0)


# ----------------------------------------------------------------------------- ssim


def test_ssim_decreases_with_noise() -> None:
    ref = _smooth_image()
    rng = np.random.default_rng(1)
    scores = [
        ssim(np.clip(ref + sigma * rng.standard_normal(ref.shape), 0, 1), ref, data_range=1.0)
        for sigma in (0.01, 0.05, 0.2)
    ]
    assert 1.0 > scores[0] > scores[1] > scores[2]


def test_ssim_of_a_brightness_shift_matches_the_luminance_term() -> None:
    # A constant offset c leaves variances and covariance unchanged, so per pixel
    # SSIM = (2 mu (mu + c) + C1) / (mu^2 + (mu + c)^2 + C1); for a constant image this
    # is exact everywhere.
    ref = np.full((16, 16, 3), 0.5)
    test = ref + 0.2
    c1 = (0.01 * 1.0) ** 2
    expected = (2 * 0.5 * 0.7 + c1) / (0.5**2 + 0.7**2 + c1)
    assert ssim(test, ref, data_range=1.0) == pytest.approx(expected, rel=1e-9)


def test_ssim_matches_a_brute_force_window_computation() -> None:
    rng = np.random.default_rng(11)
    ref = rng.random((13, 14, 2))
    test = np.clip(ref + 0.1 * rng.standard_normal(ref.shape), 0, 1)
    offsets = np.arange(-5, 6)
    weights_1d = np.exp(-0.5 * (offsets / 1.5) ** 2)
    window = np.outer(weights_1d, weights_1d) / weights_1d.sum() ** 2
    c1, c2 = 0.01**2, 0.03**2
    per_channel = []
    for c in range(2):
        values = []
        for i in range(5, 13 - 5):
            for j in range(5, 14 - 5):
                x, y = test[i - 5 : i + 6, j - 5 : j + 6, c], ref[i - 5 : i + 6, j - 5 : j + 6, c]
                mx, my = (window * x).sum(), (window * y).sum()
                vx, vy = (window * x * x).sum() - mx * mx, (window * y * y).sum() - my * my
                cov = (window * x * y).sum() - mx * my
                values.append((2 * mx * my + c1) * (2 * cov + c2) / ((mx * mx + my * my + c1) * (vx + vy + c2)))
        per_channel.append(np.mean(values))
    assert ssim(test, ref, data_range=1.0) == pytest.approx(float(np.mean(per_channel)), rel=1e-10)


def test_ssim_rejects_images_smaller_than_the_window() -> None:
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim(np.ones((8, 16, 3)), np.ones((8, 16, 3)))


# ----------------------------------------------------------------------------- tone mapping


def test_tonemap_is_monotone_bounded_and_zero_at_black() -> None:
    values = np.array([0.0, 0.01, 0.1, 1.0, 10.0, 1e4], np.float32).reshape(1, -1, 1).repeat(3, axis=2)
    mapped = tonemap_srgb(values)[0, :, 0]
    assert mapped[0] == 0.0
    assert np.all(np.diff(mapped) >= 0) and np.all(np.diff(mapped[:5]) > 0)
    assert mapped[-1] == pytest.approx(1.0)
    assert tonemap_srgb(values, exposure=2.0)[0, 2, 0] > mapped[2]
    assert tonemap_srgb(-values)[0, 3, 0] == 0.0  # negatives count as black


# ----------------------------------------------------------------------------- flip


def test_lowfreq_rmse_keeps_blotches_and_drops_pixel_noise() -> None:
    """Equal-energy errors: per-pixel white noise is filtered out, a smooth blotch is not."""
    rng = np.random.default_rng(3)
    flat = np.full((64, 64, 3), 0.5)
    white = rng.normal(0.0, 0.05, flat.shape)
    y, x = np.mgrid[0:64, 0:64]
    blotch = np.exp(-((y - 32.0) ** 2 + (x - 20.0) ** 2) / (2 * 10.0**2))[..., None] * np.ones(3)
    blotch *= rmse(flat + white, flat) / rmse(flat + blotch, flat)  # the same plain RMSE
    assert lowfreq_rmse(flat, flat) == 0.0
    assert lowfreq_rmse(flat + white, flat) < 0.12 * rmse(flat + white, flat)
    assert lowfreq_rmse(flat + blotch, flat) > 0.8 * rmse(flat + blotch, flat)
    assert lowfreq_rmse(flat + 0.1, flat) == pytest.approx(0.1)  # an offset passes unchanged
    with pytest.raises(ValueError, match="sigma must be > 0"):
        lowfreq_rmse(flat, flat, sigma=0.0)


def test_flip_is_zero_on_identical_and_positive_otherwise() -> None:
    ref = _image(2)
    assert flip_hdr(ref, ref) == 0.0
    small = flip_hdr(ref * 1.05, ref)
    large = flip_hdr(ref * 3.0, ref)
    assert 0.0 < small < large <= 1.0


def test_flip_survives_a_black_reference() -> None:
    black = np.zeros((16, 16, 3), np.float32)
    assert flip_hdr(black, black) == 0.0
    assert flip_hdr(black + 0.5, black) > 0.0


# ----------------------------------------------------------------------------- warp / temporal


def _shift(image: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """current[y, x] = previous[y + dy, x + dx] (edge-replicated where out of range)."""
    height, width = image.shape[:2]
    rows = np.clip(np.arange(height) + dy, 0, height - 1)
    cols = np.clip(np.arange(width) + dx, 0, width - 1)
    return image[rows][:, cols]


def test_warp_follows_the_format_motion_convention() -> None:
    previous = _image(3, (12, 16))
    motion = np.zeros((12, 16, 2), np.float32)
    motion[..., 0], motion[..., 1] = 2.0, -1.0  # surface at p was at p + (2, -1)
    warped, valid = warp_previous(previous, motion)
    assert np.allclose(warped[1:, :14], previous[:-1, 2:])
    assert valid[1:, :14].all() and not valid[0].any() and not valid[:, 14:].any()
    assert np.all(warped[0] == 0)  # sampled above the frame: zero


def test_warp_interpolates_bilinearly() -> None:
    previous = np.arange(4 * 4, dtype=np.float32).reshape(4, 4, 1)
    motion = np.zeros((4, 4, 2), np.float32)
    motion[..., 0] = 0.5
    motion[..., 1] = 0.25
    warped, valid = warp_previous(previous, motion)
    # value = 4 y + x is linear, so bilinear sampling is exact: 4 (y + .25) + x + .5
    y, x = np.mgrid[0:4, 0:4]
    assert np.allclose(warped[valid][:, 0], (4 * (y + 0.25) + x + 0.5)[valid])


def test_temporal_error_is_zero_when_test_equals_reference() -> None:
    ref_prev, ref_t = _image(4), _image(5)
    motion = np.random.default_rng(6).uniform(-2, 2, (24, 32, 2)).astype(np.float32)
    assert temporal_error(ref_t, ref_prev, ref_t, ref_prev, motion) == 0.0


def test_temporal_error_uses_the_motion_for_an_integer_shift() -> None:
    ref_prev = _smooth_image()
    noise = 0.3 * _image(7)  # a fixed texture that moves with the surface: not flicker
    test_prev = ref_prev + noise
    dx, dy = 3, 2
    ref_t, test_t = _shift(ref_prev, dx, dy), _shift(test_prev, dx, dy)
    motion = np.zeros((24, 32, 2), np.float32)
    motion[..., 0], motion[..., 1] = dx, dy
    assert temporal_error(test_t, test_prev, ref_t, ref_prev, motion) == pytest.approx(0.0, abs=1e-7)
    wrong = np.zeros_like(motion)
    assert temporal_error(test_t, test_prev, ref_t, ref_prev, wrong) > 0.01
    flicker = test_t + 0.2 * _image(8)
    assert temporal_error(flicker, test_prev, ref_t, ref_prev, motion) > 0.01


def test_temporal_error_is_nan_without_valid_pixels() -> None:
    image = _image(9, (12, 12))
    motion = np.full((12, 12, 2), 100.0, np.float32)
    assert math.isnan(temporal_error(image, image, image, image, motion))


# ----------------------------------------------------------------------------- frame metrics


def test_compute_frame_metrics_labels_and_values() -> None:
    ref = _image(10)
    test = ref + 0.05
    values = compute_frame_metrics(test, ref)
    assert tuple(values) == FRAME_METRICS
    assert values["rmse_linear"] == pytest.approx(0.05, rel=1e-5)
    assert values["psnr_linear"] == pytest.approx(10 * math.log10(float(ref.max()) ** 2 / 0.05**2), rel=1e-5)
    assert values["rmse_srgb"] == pytest.approx(rmse(tonemap_srgb(test), tonemap_srgb(ref)))
    assert 0 < values["flip_hdr"] < 1 and 0 < values["ssim_srgb"] < 1
    perfect = compute_frame_metrics(ref, ref, MetricSet(flip=False))
    assert "flip_hdr" not in perfect
    assert perfect["psnr_srgb"] == math.inf and perfect["ssim_linear"] == pytest.approx(1.0)


# ----------------------------------------------------------------------------- input checks


@pytest.mark.parametrize(
    ("test", "ref", "message"),
    [
        (np.ones((8, 8)), np.ones((8, 8)), r"\[H, W, C\]"),
        (np.ones((8, 8, 3)), np.ones((8, 9, 3)), "differs from reference shape"),
        (np.full((8, 8, 3), np.nan), np.ones((8, 8, 3)), "test image: 192 NaN/Inf"),
        (np.ones((8, 8, 3)), np.full((8, 8, 3), np.inf), "reference image: 192 NaN/Inf"),
    ],
)
def test_bad_inputs_raise_clear_errors(test: np.ndarray, ref: np.ndarray, message: str) -> None:
    for metric in (rmse, psnr):
        with pytest.raises(ValueError, match=message):
            metric(test, ref)


def test_warp_rejects_motion_of_the_wrong_shape() -> None:
    with pytest.raises(ValueError, match="motion: expected shape"):
        warp_previous(np.ones((8, 8, 3)), np.zeros((8, 8, 3)))


def test_fovvideovdp_jod_ranks_noise_and_flicker() -> None:
    """10 JOD for identical videos; more noise scores lower; temporal flicker of the same
    per-frame error scores lower than a static error (what per-frame metrics cannot see)."""
    pytest.importorskip("pyfvvdp")
    from ssr.metrics import fovvideovdp_jod

    rng = np.random.default_rng(0)
    ref = np.repeat(rng.uniform(0.1, 0.6, (1, 32, 32, 3)).astype(np.float32), 6, axis=0)
    assert fovvideovdp_jod(ref, ref) == pytest.approx(10.0, abs=1e-3)
    noise = rng.normal(0.0, 1.0, ref.shape).astype(np.float32)
    small = fovvideovdp_jod(ref * (1 + 0.05 * noise), ref)
    large = fovvideovdp_jod(ref * (1 + 0.3 * noise), ref)
    assert 10.0 > small > large
    static = fovvideovdp_jod(ref * (1 + 0.1 * noise[:1]), ref)
    assert fovvideovdp_jod(ref * (1 + 0.1 * noise), ref) < static
    with pytest.raises(ValueError, match="F, H, W, 3"):
        fovvideovdp_jod(ref[0], ref[0])
