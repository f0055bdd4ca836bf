/*
 * ssr_stages.h -- the per-pixel full-resolution stages of the `fast` SSR network, fused,
 * as a C interface (the graph of `ssr export --pixel-stages native` holds only the U-Net).
 *
 * A `fast`-layout, kernel-output, linear-accumulation model (ssr.model, docs/training.md)
 * spends most of its CPU time at full resolution on memory-bound per-pixel work: the warp
 * of the state, the reset select, the temporal feature accumulator (TFA: three 1x1 nets,
 * two dot products, a sigmoid, a 14-channel blend), the log views, the concatenation of
 * the U-Net input and, after the U-Net, the per-pixel 3x3 kernel filter, the blend with
 * the upsampled coarser result, the history term and the remodulation. Here each of those
 * two groups is one pass over the frame: ssr_stage_accumulate before the graph,
 * ssr_stage_resolve after it. Their Python twins are ssr.model (SSRNet._step, the torch
 * reference) and ssr.runtime.pixel_stages; the parity tests compare them.
 *
 * Layout: every buffer is float32, planar ("CHW"), tightly packed, H x W the full (padded)
 * frame size, both even; element (c, y, x) of a C-plane buffer lives at (c * H + y) * W + x.
 *
 *   packed      [19, H, W]  the packed frame (ssr_pack.h): planes 0-13 state vector x_t
 *                           (0-2 log1p irradiance, 3-5 albedo, 13 traced mask), 14-16
 *                           transparent tint, 17-18 motion in pixels towards the previous
 *                           frame (x right, y down)
 *   acc         [14, H, W]  the committed accumulated state A_{t-1}, NOT warped (the stage
 *                           warps it, bilinear, zeros outside, as ssr_warp_planes): planes
 *                           0-2 LINEAR irradiance blend, 3-12 as x_t, 13 blended traced mask
 *   prev_out    [3, H, W]   the previous output y_{t-1}, log1p of demodulated irradiance
 *   acc_new     [14, H, W]  A_t (written by accumulate, read by resolve)
 *   features    [34, H, W]  the U-Net input: x_t (0-13), log view of A_t (14-27: planes
 *                           0-2 log1p(A_irr / max(A_mask, 1e-4)), the rest copied; all
 *                           clamped to +-1e4), transparent (28-30), warped previous output
 *                           (31-33; at a reset the log view of A_t's irradiance instead)
 *   signal_half [4, H/2, W/2]  2x2 average of (A_irr, A_mask) = acc_new planes 0-2 and 13
 *   head        [K*K + 2, H, W]  the U-Net's full-resolution head: K*K tap logits (tap k =
 *                           row k / K, column k % K of the window centred on the pixel),
 *                           the logit of the blend with the coarser scale, the logit of the
 *                           history weight
 *   carry       [4, H/2, W/2]  the filtered half-resolution signal (the graph's output)
 *   out_log     [3, H, W]   y_t, the next frame's prev_out
 *   color       [out_h, out_w, 3]  interleaved ("HWC") linear HDR output, the top-left
 *                           out_h x out_w of the frame (a padded frame is cropped), >= 0
 *
 * Reset (`reset` != 0: a stream's first frame, a cut): the state is ignored (not read),
 * the history is x_t itself and the history weight 0, as in the network.
 *
 * Threading, return codes: as ssr_pack.h (row bands; SSR_PACK_* status codes). Results do
 * not depend on the number of threads. exp and log1p are Cephes' float32 polynomials (about
 * 1-2 ulp, vectorised), not libm's.
 */
#ifndef SSR_STAGES_H
#define SSR_STAGES_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Planes of the U-Net input written by ssr_stage_accumulate. */
#define SSR_STAGE_FEATURE_PLANES 34
/** First plane of the warped previous output inside the features. */
#define SSR_STAGE_FEATURE_PREV 31
/** Planes of the (A_irr, A_mask) signal and of the carry. */
#define SSR_STAGE_SIGNAL_PLANES 4
/** Denominator floor of num / den (ssr.model.kernel.MASK_FLOOR). */
#define SSR_STAGE_MASK_FLOOR 1e-4f
/** |log view| clamp (ssr.model.kernel.VIEW_BOUND). */
#define SSR_STAGE_VIEW_BOUND 1e4f
/** Clamp of log irradiance before exp (ssr.model.network.LOG_IRRADIANCE_MAX). */
#define SSR_STAGE_LOG_MAX 15.0f
/** Floor of the coverage that undoes the warp's zero padding. */
#define SSR_STAGE_COVERAGE_FLOOR 1e-3f
/** Largest TFA hidden / embedding width supported. */
#define SSR_STAGE_MAX_WIDTH 64

/**
 * The TFA's weights (1x1 convolutions, row-major [out, in] matrices; PyTorch's
 * Conv2d.weight[:, :, 0, 0]). reference net R: conv(17 -> hidden) ReLU conv(hidden ->
 * embed) over (x_t, transparent); embedding net F: conv(14 -> hidden) ReLU conv(hidden ->
 * embed), applied to x_t and to the log view of the (warped) history.
 */
typedef struct ssr_tfa_weights {
    int32_t hidden;          /**< 1 .. SSR_STAGE_MAX_WIDTH */
    int32_t embed;           /**< 1 .. SSR_STAGE_MAX_WIDTH */
    const float *ref_w1;     /**< [hidden, 17] */
    const float *ref_b1;     /**< [hidden] */
    const float *ref_w2;     /**< [embed, hidden] */
    const float *ref_b2;     /**< [embed] */
    const float *emb_w1;     /**< [hidden, 14] */
    const float *emb_b1;     /**< [hidden] */
    const float *emb_w2;     /**< [embed, hidden] */
    const float *emb_b2;     /**< [embed] */
} ssr_tfa_weights;

/**
 * Before the graph: warp the state by the frame's motion, pick the history (x_t at a
 * reset), blend A_t = (1 - beta) * history + beta * x_values with the TFA's weight beta
 * (x_values: x_t with linear irradiance exp(y) - 1), and write acc_new, the U-Net input
 * `features` and `signal_half`. acc and prev_out may be NULL when reset != 0. Outputs
 * must not overlap inputs or each other. H and W must be even.
 */
int ssr_stage_accumulate(const float *packed, const float *acc, const float *prev_out, int reset, int64_t height,
                         int64_t width, const ssr_tfa_weights *weights, float *acc_new, float *features,
                         float *signal_half, int num_threads);

/**
 * After the graph: filter the signal (acc_new planes 0-2, 13) with the head's softmax
 * kernel (K x K, out-of-frame taps read 0), blend in the bilinear x2 upsampled carry
 * (align_corners=False) by sigmoid(blend logit), add the warped previous output
 * (features plane 31-33, divided by the warp's coverage, exp(min(., 15)) - 1) with weight
 * softplus(history logit) * coverage (0 at a reset), and write out_log = log1p(num /
 * max(den, 1e-4)) and color = max((exp(min(out_log, 15)) - 1) * (albedo + 0.004), 0)
 * for the top-left out_h x out_w pixels. kernel_size: odd, 1 .. 7.
 */
int ssr_stage_resolve(const float *head, int32_t kernel_size, const float *carry, const float *acc_new,
                      const float *features, const float *packed, int reset, int64_t height, int64_t width,
                      int64_t out_height, int64_t out_width, float *out_log, float *color, int num_threads);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* SSR_STAGES_H */
