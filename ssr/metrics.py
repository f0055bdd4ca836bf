"""Image-quality and temporal-stability metrics (NumPy only, no torch).

Every image is a ``float32 [H, W, 3]`` array (row-major, y down). Two spaces are used,
and every metric name says which one it was computed in:

- **linear**: the linear HDR radiance as rendered / denoised (unbounded, >= 0);
- **srgb**: :func:`tonemap_srgb` of the linear image: the ACES filmic curve (Narkowicz
  fit, the same curve HDR-FLIP assumes) followed by the sRGB OETF, values in [0, 1];
- **gamma**: :func:`tonemap_gamma`, the plain ``clip(x, 0, 1) ** (1 / 2.2)`` (no highlight
  roll-off: bright regions count as white), the tone map of the issue-7 protocol.

Metrics:

- :func:`rmse`, :func:`psnr`, :func:`ssim` -- classic full-reference metrics;
- :func:`flip_hdr` -- mean HDR-FLIP error (NVIDIA ``flip-evaluator``), 0 = identical;
- :func:`temporal_error` -- warped frame-difference error against the reference's;
- :func:`compute_frame_metrics` -- all per-frame metrics as a dict with explicit labels
  (``psnr_linear``, ``psnr_srgb``, ``ssim_linear``, ``ssim_srgb``, ``rmse_linear``,
  ``rmse_srgb``, ``psnr_gamma``, ``relmse``, ``flip_hdr``);
- :func:`relmse` -- relative MSE ``mean((x - r)^2 / (r^2 + 0.01))`` on linear radiance.

See ``docs/evaluation.md`` for the definitions in full.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ssr.data_tools.imaging import ACES_FIT, ACES_PRE_EXPOSURE
from ssr.data_tools.imaging import tonemap_srgb as _display_tonemap
from ssr.data_tools.warp import check_image as _as_image
from ssr.data_tools.warp import warp_previous

__all__ = [
    "psnr_of_mse",
    "FRAME_METRICS",
    "HIGHER_IS_BETTER",
    "TEMPORAL_METRIC",
    "VIDEO_METRIC",
    "MetricSet",
    "compute_frame_metrics",
    "flip_hdr",
    "flip_hdr_map",
    "fovvideovdp_jod",
    "psnr",
    "lowfreq_rmse",
    "relmse",
    "rmse",
    "ssim",
    "temporal_error",
    "tonemap_gamma",
    "tonemap_srgb",
    "warp_previous",
]

FRAME_METRICS: tuple[str, ...] = (
    "psnr_linear",
    "psnr_srgb",
    "ssim_linear",
    "ssim_srgb",
    "rmse_linear",
    "rmse_srgb",
    "psnr_gamma",
    "relmse",
    "lowfreq_rmse_srgb",
    "flip_hdr",
)
"""Keys of :func:`compute_frame_metrics`, in report order."""

TEMPORAL_METRIC = "temporal_srgb"
"""Key under which evaluators report :func:`temporal_error` (tone-mapped space)."""

VIDEO_METRIC = "fvvdp_jod"
"""Key of the per-sequence video metric :func:`fovvideovdp_jod` (reported for all frames
of a sequence, not per frame)."""
VIDEO_FPS = 30.0
"""Frame rate the video metric assumes (a real-time stream)."""
VIDEO_DISPLAY = "standard_fhd"
"""FovVideoVDP display model: 24-inch Full HD monitor, 200 cd/m^2, office light, 2 display
heights away."""

HIGHER_IS_BETTER: dict[str, bool] = {
    "psnr_linear": True,
    "psnr_srgb": True,
    "ssim_linear": True,
    "ssim_srgb": True,
    "rmse_linear": False,
    "rmse_srgb": False,
    "psnr_gamma": True,
    "relmse": False,
    "lowfreq_rmse_srgb": False,
    "flip_hdr": False,
    TEMPORAL_METRIC: False,
    VIDEO_METRIC: True,
}

SSIM_SIGMA = 1.5
SSIM_RADIUS = 5  # 11-pixel window: int(3.5 * 1.5 + 0.5) = 5 (scikit-image's truncate = 3.5)
SSIM_K1 = 0.01
SSIM_K2 = 0.03


FLIP_PPD = 67.0
"""Pixels per degree of visual angle for HDR-FLIP (FLIP's default: 0.7 m from a 0.7 m
wide 4K monitor)."""

_FLT_EPSILON = 2.0 ** -23


# ----------------------------------------------------------------------------- checks


def _as_pair(test: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    test64 = _as_image(test, "test image")
    ref64 = _as_image(ref, "reference image")
    if test64.shape != ref64.shape:
        raise ValueError(f"test image shape {test64.shape} differs from reference shape {ref64.shape}")
    return test64, ref64


def _default_range(ref: np.ndarray) -> float:
    peak = float(ref.max())
    if peak <= 0:
        raise ValueError("reference image is all black (max <= 0): pass data_range explicitly")
    return peak


# ----------------------------------------------------------------------------- tone mapping


def tonemap_srgb(linear: np.ndarray, exposure: float = 1.0) -> np.ndarray:
    """Map linear HDR radiance to display sRGB in [0, 1].

    ``x = 0.6 * exposure * max(linear, 0)``;
    ``aces(x) = clamp(x (2.51 x + 0.03) / (x (2.43 x + 0.59) + 0.14), 0, 1)`` (Narkowicz's
    ACES filmic fit, the curve HDR-FLIP calls "ACES");
    then the sRGB OETF: ``12.92 v`` for ``v <= 0.0031308``, else ``1.055 v^(1/2.4) - 0.055``.

    Args:
        linear: ``[H, W, 3]`` (any shape works) linear HDR radiance; negative values are
            treated as 0.
        exposure: linear scale applied before the curve.

    Returns:
        ``float32`` array of the same shape, in [0, 1].
    """
    array = np.asarray(linear, dtype=np.float64)
    if not np.isfinite(array).all():
        raise ValueError(f"tonemap_srgb: {int((~np.isfinite(array)).sum())} NaN/Inf values in the input")
    return _display_tonemap(array, exposure)


GAMMA = 2.2
RELMSE_EPS = 0.01


def tonemap_gamma(linear: np.ndarray) -> np.ndarray:
    """``clip(linear, 0, 1) ** (1 / 2.2)`` (float64); the plain tone map of issue 7's protocol."""
    return np.clip(np.asarray(linear, np.float64), 0.0, 1.0) ** (1.0 / GAMMA)


# ----------------------------------------------------------------------------- error metrics


def relmse(test: np.ndarray, ref: np.ndarray) -> float:
    """Relative MSE on linear radiance: ``mean((test - ref)^2 / (ref^2 + 0.01))``."""
    a, b = _as_pair(test, ref)
    return float(np.mean((a - b) ** 2 / (b * b + RELMSE_EPS)))


def rmse(test: np.ndarray, ref: np.ndarray) -> float:
    """Root-mean-square error over all pixels and channels of two ``[H, W, C]`` images."""
    test64, ref64 = _as_pair(test, ref)
    return float(np.sqrt(np.mean((test64 - ref64) ** 2)))


def psnr_of_mse(mse: float, data_range: float = 1.0) -> float:
    """``10 log10(data_range^2 / mse)`` in dB (``inf`` for a zero error): the one PSNR
    formula, for :func:`psnr` and for callers that pool the squared error themselves (over
    frames, or over the pixels of one material class).

    >>> round(psnr_of_mse(0.01), 6)
    20.0
    """
    if mse == 0.0:
        return math.inf
    return 10.0 * math.log10(data_range * data_range / mse)


def psnr(test: np.ndarray, ref: np.ndarray, data_range: float | None = None) -> float:
    """Peak signal-to-noise ratio in dB: ``10 log10(data_range^2 / MSE)``.

    Args:
        test, ref: ``[H, W, C]`` images of one space.
        data_range: the peak value. Default: the maximum of ``ref`` -- meant for linear
            HDR images (there is no fixed white); pass ``1.0`` for tone-mapped sRGB images.

    Returns:
        PSNR in dB; ``inf`` when the images are identical.
    """
    test64, ref64 = _as_pair(test, ref)
    peak = _default_range(ref64) if data_range is None else float(data_range)
    if not peak > 0:
        raise ValueError(f"psnr: data_range must be > 0, got {data_range}")
    return psnr_of_mse(float(np.mean((test64 - ref64) ** 2)), peak)


def _gaussian_kernel(sigma: float = SSIM_SIGMA, radius: int = SSIM_RADIUS) -> np.ndarray:
    offsets = np.arange(-radius, radius + 1, dtype=np.float64)
    weights = np.exp(-0.5 * (offsets / sigma) ** 2)
    return weights / weights.sum()


def _filter_axis(image: np.ndarray, kernel: np.ndarray, axis: int) -> np.ndarray:
    """Correlate ``image`` with a 1-D ``kernel`` along ``axis`` (symmetric padding)."""
    radius = kernel.size // 2
    pad = [(0, 0)] * image.ndim
    pad[axis] = (radius, radius)
    padded = np.pad(image, pad, mode="symmetric")
    length = image.shape[axis]
    out = np.zeros_like(image)
    for offset, weight in enumerate(kernel):
        out += weight * np.take(padded, np.arange(offset, offset + length), axis=axis)
    return out


def _gaussian_blur(image: np.ndarray) -> np.ndarray:
    """Separable Gaussian blur of ``[H, W, C]`` over H and W (sigma 1.5, 11 taps)."""
    kernel = _gaussian_kernel()
    return _filter_axis(_filter_axis(image, kernel, 0), kernel, 1)


def ssim(test: np.ndarray, ref: np.ndarray, data_range: float | None = None) -> float:
    """Mean structural similarity with a Gaussian window (Wang et al. 2004).

    Window: Gaussian, sigma 1.5, 11 x 11 (separable); ``K1 = 0.01``, ``K2 = 0.03``;
    population (not sample) statistics. Local statistics are filtered with symmetric
    padding and the SSIM map is averaged over the interior (5 px away from the border),
    per channel, then the channels are averaged -- this matches scikit-image's
    ``structural_similarity(gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, channel_axis=-1)``.

    Args:
        test, ref: ``[H, W, C]`` images, ``H, W >= 11``.
        data_range: as for :func:`psnr` (default: max of ``ref``; 1.0 for sRGB).

    Returns:
        SSIM in [-1, 1]; 1 for identical images.
    """
    test64, ref64 = _as_pair(test, ref)
    height, width = test64.shape[:2]
    window = 2 * SSIM_RADIUS + 1
    if height < window or width < window:
        raise ValueError(f"ssim: images must be at least {window}x{window} pixels, got {width}x{height}")
    peak = _default_range(ref64) if data_range is None else float(data_range)
    if not peak > 0:
        raise ValueError(f"ssim: data_range must be > 0, got {data_range}")
    c1 = (SSIM_K1 * peak) ** 2
    c2 = (SSIM_K2 * peak) ** 2
    mu_x = _gaussian_blur(test64)
    mu_y = _gaussian_blur(ref64)
    var_x = _gaussian_blur(test64 * test64) - mu_x * mu_x
    var_y = _gaussian_blur(ref64 * ref64) - mu_y * mu_y
    cov = _gaussian_blur(test64 * ref64) - mu_x * mu_y
    numerator = (2 * mu_x * mu_y + c1) * (2 * cov + c2)
    denominator = (mu_x * mu_x + mu_y * mu_y + c1) * (var_x + var_y + c2)
    ssim_map = numerator / denominator
    r = SSIM_RADIUS
    interior = ssim_map[r : height - r, r : width - r]
    return float(interior.mean(axis=(0, 1)).mean())


LOWFREQ_SIGMA = 4.0
"""Gaussian sigma (pixels) of :func:`lowfreq_rmse`'s low-pass filter."""


def lowfreq_rmse(test: np.ndarray, ref: np.ndarray, sigma: float = LOWFREQ_SIGMA) -> float:
    """RMSE of the low-pass filtered error: blotches and colour drift, not per-pixel noise.

    The error ``test - ref`` is blurred with a separable Gaussian (``sigma`` pixels, radius
    ``3 * sigma``, symmetric padding) before the RMSE, so zero-mean per-pixel noise (the
    output's, and the reference's own Monte Carlo noise) mostly averages out while
    low-frequency residual noise ("blotches" on flat walls) and regional brightness or
    colour errors remain. On the test split's 64-128-spp references the reference's noise
    alone adds almost nothing here, where it dominates the plain RMSE of a good denoiser.

    Args:
        test, ref: ``[H, W, C]`` images (compare tone-mapped images for a perceptual view).
        sigma: filter width in pixels (> 0).

    Returns:
        The RMSE of the filtered error (0 for identical images).

    Example:
        >>> flat = np.full((32, 32, 3), 0.5)
        >>> noise = np.random.default_rng(0).normal(0, 0.1, flat.shape)
        >>> lowfreq_rmse(flat + noise, flat) < 0.1 * 0.15      # white noise mostly filtered out
        True
        >>> round(lowfreq_rmse(flat + 0.05, flat), 6)           # a brightness offset is not
        0.05
    """
    test64, ref64 = _as_pair(test, ref)
    if not sigma > 0:
        raise ValueError(f"lowfreq_rmse: sigma must be > 0, got {sigma}")
    kernel = _gaussian_kernel(sigma, int(math.ceil(3 * sigma)))
    error = test64 - ref64
    low = _filter_axis(_filter_axis(error, kernel, 0), kernel, 1)
    return float(np.sqrt(np.mean(low * low)))


# ----------------------------------------------------------------------------- FLIP


def _aces_white_point() -> float:
    """Linear input that HDR-FLIP's ACES curve maps to 0.85 (FLIP's exposure anchor)."""
    # the curve at input y is (p0 y^2 + p1 y + p2) / (q0 y^2 + q1 y + q2): solve it = t for y
    fit_a, fit_b, fit_c, fit_d, fit_e = ACES_FIT
    k = ACES_PRE_EXPOSURE
    p0, p1, p2, q0, q1, q2 = k * k * fit_a, k * fit_b, 0.0, k * k * fit_c, k * fit_d, fit_e
    t = 0.85
    a = p0 - t * q0
    b = p1 - t * q1
    c = p2 - t * q2
    return (-b + math.sqrt(b * b - 4 * a * c)) / (2 * a)


def flip_hdr(test: np.ndarray, ref: np.ndarray) -> float:
    """Mean HDR-FLIP error (Andersson et al. 2021) of linear HDR ``[H, W, 3]`` images.

    Settings: ``flip_evaluator.evaluate(ref, test, "HDR")`` with 67 pixels per degree, the
    ACES tone mapper and FLIP's automatic exposure range (start/stop exposures computed
    from the reference's maximum and median luminance). Negative values are clamped to 0
    (FLIP needs non-negative HDR input). For a (nearly) black reference, where FLIP's
    automatic range would be empty, a single exposure anchored at luminance ``2^-23`` is
    used instead.

    Returns:
        The mean FLIP error in [0, 1]; 0 for identical images.
    """
    _, mean_error = _flip_hdr(test, ref, magma=False)
    return mean_error


def flip_hdr_map(test: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, float]:
    """The HDR-FLIP error map of :func:`flip_hdr` in FLIP's magma colour map.

    Returns:
        ``(map, mean)``: ``float32 [H, W, 3]`` display colours in [0, 1] (black = no
        visible difference, yellow = maximal) and the mean FLIP error.
    """
    return _flip_hdr(test, ref, magma=True)


def _flip_hdr(test: np.ndarray, ref: np.ndarray, *, magma: bool) -> tuple[np.ndarray, float]:
    import flip_evaluator

    test64, ref64 = _as_pair(test, ref)
    if test64.shape[2] != 3:
        raise ValueError(f"flip_hdr: expected 3 colour channels, got {test64.shape[2]}")
    ref32 = np.ascontiguousarray(np.maximum(ref64, 0.0), dtype=np.float32)
    test32 = np.ascontiguousarray(np.maximum(test64, 0.0), dtype=np.float32)
    parameters: dict[str, object] = {"ppd": FLIP_PPD, "tonemapper": "ACES"}
    luminance = ref32 @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    if float(luminance.max()) <= 16 * _FLT_EPSILON:
        # FLIP would derive start > stop exposure and terminate the process.
        exposure = math.log2(_aces_white_point() / _FLT_EPSILON)
        parameters.update(startExposure=exposure, stopExposure=exposure, numExposures=2)
    error_map, mean_error, _ = flip_evaluator.evaluate(
        ref32, test32, "HDR", applyMagma=magma, computeMeanError=True, parameters=parameters
    )
    return np.asarray(error_map, np.float32), float(mean_error)


# ----------------------------------------------------------------------------- video


def fovvideovdp_jod(test: np.ndarray, ref: np.ndarray, *, exposure: float = 1.0, fps: float = VIDEO_FPS) -> float:
    """FovVideoVDP quality (Mantiuk et al. 2021, ``pyfvvdp``) of a linear HDR video
    ``[F, H, W, 3]`` against its reference, in JOD (10 = indistinguishable, higher is better).

    Both videos are shown as :func:`tonemap_srgb` display values on the
    :data:`VIDEO_DISPLAY` monitor at ``fps`` frames per second, non-foveated: the metric sees
    flicker and temporal noise that per-frame metrics miss.
    """
    import torch

    try:
        import pyfvvdp
    except ImportError as error:  # pragma: no cover - bench extra
        raise RuntimeError("the video metric needs pyfvvdp (pip install 'ssr-engine[bench]'); "
                           "or switch it off (ssr bench quality --no-vdp)") from error
    if test.shape != ref.shape or test.ndim != 4 or test.shape[-1] != 3:
        raise ValueError(f"fovvideovdp_jod: expected two [F, H, W, 3] videos of one shape, got {test.shape} "
                         f"and {ref.shape}")
    display_test = tonemap_srgb(np.asarray(test, np.float32), exposure).astype(np.float32)
    display_ref = tonemap_srgb(np.asarray(ref, np.float32), exposure).astype(np.float32)
    metric = pyfvvdp.fvvdp(display_name=VIDEO_DISPLAY, heatmap=None, quiet=True, device=torch.device("cpu"))
    jod, _ = metric.predict(display_test, display_ref, dim_order="FHWC", frames_per_second=fps)
    return float(jod)


# ----------------------------------------------------------------------------- temporal


def temporal_error(
    test_t: np.ndarray,
    test_prev: np.ndarray,
    ref_t: np.ndarray,
    ref_prev: np.ndarray,
    motion_t: np.ndarray,
    *,
    exposure: float = 1.0,
) -> float:
    """Warped frame-difference error of a sequence against its reference (tone-mapped).

    With ``T`` = :func:`tonemap_srgb` and ``W`` = :func:`warp_previous` by ``motion_t``:

    ``d_test = T(test_t) - W(T(test_prev))``, ``d_ref = T(ref_t) - W(T(ref_prev))``,
    ``error = sqrt(mean over valid pixels and channels of (d_test - d_ref)^2)``.

    It is 0 when the output changes from frame to frame exactly as the reference does,
    whatever its per-frame error; flicker and lag raise it. Pixels whose warp sample falls
    outside the previous frame are excluded (disocclusions inside the frame are not
    detected; they add the same term to both sides only when the output is correct).

    Args:
        test_t, test_prev: ``[H, W, 3]`` linear HDR output of frames ``t`` and ``t - 1``.
        ref_t, ref_prev: ``[H, W, 3]`` linear HDR reference of the same frames.
        motion_t: ``[H, W, 2]`` motion vectors of frame ``t`` (docs/format.md convention).
        exposure: passed to :func:`tonemap_srgb`.

    Returns:
        The error in tone-mapped sRGB units; ``nan`` when no pixel is valid.
    """
    images = {"test_t": test_t, "test_prev": test_prev, "ref_t": ref_t, "ref_prev": ref_prev}
    checked = {name: _as_image(image, name) for name, image in images.items()}
    shape = checked["test_t"].shape
    for name, image in checked.items():
        if image.shape != shape:
            raise ValueError(f"temporal_error: {name} has shape {image.shape}, expected {shape}")
    mapped = {name: tonemap_srgb(image, exposure).astype(np.float64) for name, image in checked.items()}
    warped_test, valid = warp_previous(mapped["test_prev"], motion_t)
    warped_ref, _ = warp_previous(mapped["ref_prev"], motion_t)
    if not valid.any():
        return math.nan
    diff = (mapped["test_t"] - warped_test) - (mapped["ref_t"] - warped_ref)
    return float(np.sqrt(np.mean(diff[valid] ** 2)))


# ----------------------------------------------------------------------------- per frame


@dataclass(frozen=True)
class MetricSet:
    """Which per-frame metrics :func:`compute_frame_metrics` computes, and how.

    Attributes:
        flip: compute ``flip_hdr`` (the slowest metric).
        ssim: compute ``ssim_linear`` / ``ssim_srgb`` (needs images of at least 11x11).
        exposure: exposure of the tone mapper for the ``*_srgb`` metrics.
        video: also score each sequence as a video with :func:`fovvideovdp_jod`
            (:data:`VIDEO_METRIC`; evaluators that stream whole sequences, e.g.
            ``ssr bench quality``).
    """

    flip: bool = True
    ssim: bool = True
    exposure: float = 1.0
    video: bool = False

    def names(self) -> tuple[str, ...]:
        """The metric keys this set produces, in :data:`FRAME_METRICS` order."""
        skip = set()
        if not self.flip:
            skip.add("flip_hdr")
        if not self.ssim:
            skip.update({"ssim_linear", "ssim_srgb"})
        return tuple(name for name in FRAME_METRICS if name not in skip)


def compute_frame_metrics(
    test: np.ndarray, ref: np.ndarray, metrics: MetricSet | None = None
) -> dict[str, float]:
    """All per-frame metrics of a linear HDR ``[H, W, 3]`` image against its reference.

    Linear metrics use ``data_range = max(ref)`` (1.0 when the reference is black);
    ``*_srgb`` metrics compare :func:`tonemap_srgb` images with ``data_range = 1``.

    Returns:
        ``{"psnr_linear", "psnr_srgb", "ssim_linear", "ssim_srgb", "rmse_linear",
        "rmse_srgb", "psnr_gamma", "relmse", "lowfreq_rmse_srgb", "flip_hdr"}`` (minus what
        ``metrics`` switches off) -> float. ``lowfreq_rmse_srgb`` is :func:`lowfreq_rmse` of
        the ``*_srgb`` images.
    """
    chosen = metrics or MetricSet()
    test64, ref64 = _as_pair(test, ref)
    if test64.shape[2] != 3:
        raise ValueError(f"compute_frame_metrics: expected [H, W, 3] images, got {test64.shape}")
    peak = float(ref64.max())
    linear_range = peak if peak > 0 else 1.0
    test_srgb = tonemap_srgb(test64, chosen.exposure)
    ref_srgb = tonemap_srgb(ref64, chosen.exposure)
    values: dict[str, float] = {
        "psnr_linear": psnr(test64, ref64, linear_range),
        "psnr_srgb": psnr(test_srgb, ref_srgb, 1.0),
        "rmse_linear": rmse(test64, ref64),
        "rmse_srgb": rmse(test_srgb, ref_srgb),
        "psnr_gamma": psnr(tonemap_gamma(test64), tonemap_gamma(ref64), 1.0),
        "relmse": relmse(test64, ref64),
        "lowfreq_rmse_srgb": lowfreq_rmse(test_srgb, ref_srgb),
    }
    if chosen.ssim:
        values["ssim_linear"] = ssim(test64, ref64, linear_range)
        values["ssim_srgb"] = ssim(test_srgb, ref_srgb, 1.0)
    if chosen.flip:
        values["flip_hdr"] = flip_hdr(test64, ref64)
    return {name: values[name] for name in chosen.names()}
