/*
 * ssr_stages.h -- the full-resolution stages of the `fast` SSR network, fused, as a C
 * interface (the graph of `ssr export --pixel-stages native` holds only the U-Net's half-
 * and quarter-resolution part).
 *
 * A `fast`-layout, kernel-output, linear-accumulation model (ssr.model, docs/training.md)
 * does little arithmetic per full-resolution pixel but, inside a graph runtime, touches
 * every plane many times: the warp of the state, the reset select, the temporal feature
 * accumulator (TFA: three 1x1 nets, two dot products, a sigmoid, a 14-channel blend), the
 * log views, the concatenated U-Net input, its 1x1 guide conv and 2x2 stride-2 conv and,
 * after the coarse scales, the bilinear upsampling, the full-resolution decoder (3x3 conv,
 * ReLU, 1x1 head), the per-pixel softmax kernel filter, the blend with the coarser result,
 * the history term and the remodulation. Here each group is one pass over the frame:
 * ssr_stage_accumulate before the graph, ssr_stage_resolve after it. Their reference is
 * the torch model (ssr.model.SSRNet); tests/runtime/test_native_stages.py streams both.
 *
 * Layout: every buffer is float32, planar ("CHW"), tightly packed; H x W the full (padded)
 * frame size, both even; element (c, y, x) of a C-plane buffer lives at (c * H + y) * W + x.
 * "half" buffers are H/2 x W/2. c0 = weights->guide, c1 = weights->down.
 *
 *   packed      [19, H, W]   the packed frame (ssr_pack.h): planes 0-13 state vector x_t
 *                            (0-2 log1p irradiance, 3-5 albedo, 13 traced mask), 14-16
 *                            transparent tint, 17-18 motion in pixels towards the previous
 *                            frame (x right, y down)
 *   acc         [14, H, W]   the committed accumulated state A_{t-1}, NOT warped (the stage
 *                            warps it, bilinear, zeros outside, as ssr_warp_planes): planes
 *                            0-2 LINEAR irradiance blend, 3-12 as x_t, 13 blended traced mask
 *                            (the rule history's layout: below, ssr_stage_accumulate)
 *   prev_out    [3, H, W]    the previous output y_{t-1}, log1p of demodulated irradiance
 *   acc_new     [14, H, W]   A_t (written by accumulate, read by resolve)
 *   history_valid [1, H, W]  rule history only (history_cap > 0): each pixel's valid
 *                            reprojection weight (written by accumulate, read by resolve)
 *   guide       [c0, H, W]   ReLU(1x1 conv) of the U-Net input u = (x_t, log view of A_t,
 *                            transparent, prev): the decoder's full-resolution skip
 *   prev        [3, H, W]    the warped previous output (at a reset the log view of A_t's
 *                            irradiance instead); the log view is log1p(A_irr /
 *                            max(A_mask, 1e-4)) on planes 0-2, the other planes copied, all
 *                            clamped to +-1e4
 *   down        [c1, H/2, W/2]  ReLU(2x2 stride-2 conv) of u: the graph's input
 *   prev_half   [3, H/2, W/2]   2x2 average of prev (graph input)
 *   signal_half [S, H/2, W/2]   2x2 average of the signal (graph input): S = 4, (A_irr,
 *                               A_mask) = acc_new planes 0-2, 13; or S = 7 for a
 *                               signal="dual" model, + the radiance numerator A_rad =
 *                               A_irr * (albedo + 0.004) (albedo: packed planes 3-5)
 *   coarse      [3, H/2, W/2]   the graph's half-resolution log-irradiance image
 *   carry       [S, H/2, W/2]   the graph's filtered half-resolution signal
 *   out_log     [3, H, W]    y_t, the next frame's prev_out
 *   color       [out_h, out_w, 3]  interleaved ("HWC") linear HDR output, the top-left
 *                            out_h x out_w of the frame (a padded frame is cropped), >= 0
 *
 * Reset (`reset` != 0: a stream's first frame, a cut): the state is ignored (not read),
 * the history is x_t itself and the history weight 0, as in the network.
 *
 * Threading, return codes: as ssr_pack.h (row bands; SSR_PACK_* status codes; weights with a
 * width outside 1 .. SSR_STAGE_MAX_WIDTH or a bad kernel size are SSR_PACK_ERROR_INVALID_SIZE,
 * a NULL weight array SSR_PACK_ERROR_NULL_POINTER). Results do
 * not depend on the number of threads. exp and log1p are Cephes' float32 polynomials
 * (about 1-2 ulp, vectorised), not libm's.
 */
#ifndef SSR_STAGES_H
#define SSR_STAGES_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Planes of the U-Net input u (x_t, log view of A_t, transparent, prev). */
#define SSR_STAGE_FEATURE_PLANES 34
/** First plane of the warped previous output inside u. */
#define SSR_STAGE_FEATURE_PREV 31
/** Planes of the (A_irr, A_mask) signal and of the carry. */
#define SSR_STAGE_SIGNAL_PLANES 4
/** Planes of a signal="dual" model's (A_irr, A_mask, A_rad) signal and carry. */
#define SSR_STAGE_DUAL_SIGNAL_PLANES 7
/** Rows of head_w / head_b for kernel side K and signal planes S: K*K tap logits, the carry
 * blend, the history weight, and for a dual signal the radiance blend. */
#define SSR_STAGE_HEAD_CHANNELS(kernel_size, signal_planes) \
    ((kernel_size) * (kernel_size) + 2 + ((signal_planes) == SSR_STAGE_DUAL_SIGNAL_PLANES ? 1 : 0))
/** Denominator floor of num / den (ssr.model.kernel.MASK_FLOOR). */
#define SSR_STAGE_MASK_FLOOR 1e-4f
/** Floor of A_mask in the log view of a state whose weights leave view_floor at 0 (models
 * saved before ssr.model.config.VIEW_FLOOR existed: ssr.model.config.LEGACY_VIEW_FLOOR). */
#define SSR_STAGE_LEGACY_VIEW_FLOOR 1e-4f
/** |log view| clamp (ssr.model.kernel.VIEW_BOUND). */
#define SSR_STAGE_VIEW_BOUND 1e4f
/** Clamp of log irradiance before exp (ssr.model.network.LOG_IRRADIANCE_MAX). */
#define SSR_STAGE_LOG_MAX 15.0f
/** Floor of the coverage that undoes the warp's zero padding. */
#define SSR_STAGE_COVERAGE_FLOOR 1e-3f
/** Rule history (history_cap > 0): the cap on mirrors and glass (HISTORY_CAP_MIN). */
#define SSR_STAGE_HISTORY_CAP_MIN 2.0f
/** Rule history: the microfacet alpha from which a surface keeps the full cap. */
#define SSR_STAGE_HISTORY_ROUGHNESS_FULL 0.5f
/** Rule history: a tap is valid only if its normal and the pixel's have a dot product >= this. */
#define SSR_STAGE_HISTORY_NORMAL_COS 0.9f
/** Rule history: ... and depths within REL * depth + SLOPE * (the pixel's depth slope). */
#define SSR_STAGE_HISTORY_DEPTH_REL 0.05f
#define SSR_STAGE_HISTORY_DEPTH_SLOPE 2.0f
/** Rule history: the view's variance is M2 / N - (1 + this) * mean luminance^2 (agreeing
 * samples read 0, not float32 cancellation noise). */
#define SSR_STAGE_HISTORY_VARIANCE_REL 1e-3f
/** Largest layer width (TFA hidden / embedding, c0, c1) supported. */
#define SSR_STAGE_MAX_WIDTH 64

/**
 * The weights of the full-resolution layers, PyTorch layouts (Conv2d.weight, row-major):
 *   TFA reference net R: ref_w1 [hidden, 17] (1x1 over x_t, transparent), ReLU, ref_w2
 *     [embed, hidden]; embedding net F: emb_w1 [hidden, 14], ReLU, emb_w2 [embed, hidden]
 *     (applied to x_t and to the log view of the history); biases [out];
 *   enc0_w [c0, 34] (1x1, the guide), down1_w [c1, 34, 2, 2] (2x2 stride 2), both + ReLU;
 *   dec0_w [c0, 3 + c0 + 3, 3, 3] (3x3, zero padding 1, over (upsampled coarse, guide,
 *     prev)) + ReLU, head_w [K*K + 2 + D, c0] (1x1): K*K tap logits (tap k = row k / K,
 *     column k % K of the window centred on the pixel), the logit of the blend with the
 *     upsampled carry, the logit of the history weight and, for a dual-signal model (D = 1,
 *     signal_planes = 7), the logit of the blend of the irradiance estimate towards the
 *     radiance estimate's irradiance (D = 0 otherwise).
 */
typedef struct ssr_stage_weights {
    int32_t hidden;       /**< TFA hidden width, 1 .. SSR_STAGE_MAX_WIDTH */
    int32_t embed;        /**< TFA embedding width, 1 .. SSR_STAGE_MAX_WIDTH */
    int32_t guide;        /**< c0, 1 .. SSR_STAGE_MAX_WIDTH */
    int32_t down;         /**< c1, 1 .. SSR_STAGE_MAX_WIDTH */
    int32_t kernel_size;  /**< K: odd, 1 .. 7 */
    const float *ref_w1, *ref_b1, *ref_w2, *ref_b2;
    const float *emb_w1, *emb_b1, *emb_w2, *emb_b2;
    const float *enc0_w, *enc0_b;
    const float *down1_w, *down1_b;
    const float *dec0_w, *dec0_b;
    const float *head_w, *head_b;
    /** S, last so that initialisers written before it existed keep their meaning: 0 or
     * SSR_STAGE_SIGNAL_PLANES (4): the irradiance signal; SSR_STAGE_DUAL_SIGNAL_PLANES (7): a
     * signal="dual" model. */
    int32_t signal_planes;
    /** The floor of A_mask in the log view log1p(A_irr / max(A_mask, view_floor))
     * (ModelConfig.view_floor), after signal_planes for the same reason: 0 means
     * SSR_STAGE_LEGACY_VIEW_FLOOR; otherwise finite and > 0. */
    float view_floor;
    /** The history rule (ModelConfig.history), after view_floor for the same reason: 0, the
     * learned TFA blend of the whole state (docs/method.md, above); > 0 (and >= SSR_STAGE_HISTORY_CAP_MIN):
     * history="rule" with ModelConfig.history_cap = this value (see "Rule history" below).
     * Negative or not finite is refused. */
    float history_cap;
} ssr_stage_weights;

/**
 * Before the graph: warp the state by the frame's motion, pick the history (x_t at a
 * reset), blend A_t = (1 - beta) * history + beta * x_values with the TFA's weight beta
 * (x_values: x_t with linear irradiance exp(y) - 1), build the U-Net input u and write
 * acc_new, guide, prev, down, prev_half and signal_half. acc and prev_out may be NULL when
 * reset != 0. Outputs must not overlap inputs or each other. H and W must be even.
 * frame_height x frame_width (1 .. H, 1 .. W) is the frame inside the planes, which may be
 * padded beyond it at the bottom / right (the graph wants multiples of 4): warp taps outside
 * the frame read nothing, and each pixel of the border computes the values of the frame
 * pixel it replicates (row and column clamped into the frame), which is what the torch
 * model's replicate padding of its U-Net input holds; pass H, W when there is no border.
 * Another extent is SSR_PACK_ERROR_INVALID_SIZE.
 *
 * Rule history (weights->history_cap > 0; ssr.model.history, docs/training.md "Rule-based
 * history"): the state keeps 0-2 A_irr, the sum of linear irradiance samples, 3-5 albedo,
 * 10 roughness, 11 metallic (the TFA's blend), 6-8 / 9 the frame's own normal and depth, 12
 * M2, the sum of squared sample luminance (Rec. 709), 13 N, the sample count. Each of the
 * four bilinear taps of p + motion is valid when inside the frame and either both the tap
 * (state planes 6-9) and the pixel (packed planes 6-9) miss (depth 0), or both hit with
 * normals' dot >= SSR_STAGE_HISTORY_NORMAL_COS and |depth difference| <= REL * depth +
 * SLOPE * slope (slope: per axis the smaller one-sided difference of the pixel's depth,
 * the larger over x and y; edges replicate). history_valid (required, [1, H, W]) gets the
 * valid taps' bilinear weight v (0 at a reset); where v > 0 the history is the valid taps'
 * weighted sum / max(v, 1e-6), else none (N = 0). The TFA blends the G-buffer planes with
 * the history (x_t where there is none) scored by its rule view: log1p(A_irr / max(N,
 * view_floor)) on 0-2, log1p of the luminance standard deviation sqrt(max(M2 / max(N,
 * view_floor) - (1 + VARIANCE_REL) * lum(mean)^2, 0) + 1e-12) (0 where N = 0) on 12, N / history_cap on 13, the
 * rest copied, unclamped. The signal counts samples: the pixel's cap is CAP_MIN +
 * (history_cap - CAP_MIN) * clamp(roughness / ROUGHNESS_FULL, 0, 1) * (1 - clamp(max
 * transparent tint, 0, 1)); N' = min(N + traced, max(cap, traced)); the history is scaled
 * by clamp((N' - traced) / max(N, 1e-6), 0, 1) and the sample (traced: packed plane 13)
 * added with weight 1, to A_irr and (its luminance squared) to M2. The U-Net input holds
 * the rule view of A_t; prev is v * (the warped previous output's valid-tap average) where
 * v > 0, else the rule view's irradiance.
 */
int ssr_stage_accumulate(const float *packed, const float *acc, const float *prev_out, int reset, int64_t height,
                         int64_t width, int64_t frame_height, int64_t frame_width, const ssr_stage_weights *weights,
                         float *acc_new, float *guide, float *prev, float *down, float *prev_half, float *signal_half,
                         float *history_valid, int num_threads);

/**
 * After the graph: the full-resolution decoder on (bilinear x2 of coarse, guide, prev),
 * then the per-pixel softmax kernel over the signal (acc_new planes 0-2, 13; out-of-frame
 * taps read 0), the blend with the bilinear x2 carry by sigmoid(blend logit), the warped
 * previous output (prev / coverage of the warp, exp(min(., 15)) - 1) added with weight
 * softplus(history logit) * coverage (0 at a reset); writes out_log = log1p(num /
 * max(den, 1e-4)) and color = max((exp(min(out_log, 15)) - 1) * (albedo + 0.004), 0) for
 * the top-left out_h x out_w pixels. (Bilinear x2: align_corners=False, as PyTorch.)
 * The coverage is the zero-padded warp's in-frame weight, from the motion, against the
 * out_height x out_width frame (a border pixel beyond it takes the coverage of the frame
 * pixel it replicates, as ssr_stage_accumulate's taps); with the rule history it is
 * ssr_stage_accumulate's history_valid plane (required then, NULL otherwise).
 * Dual signal (signal_planes = 7): the kernel, the carry blend and the history term act on
 * the radiance planes alike (the history's radiance is prev's irradiance times (albedo +
 * 0.004)), and the irradiance is irr + sigmoid(dual logit) * (rad / (albedo + 0.004) - irr)
 * with irr = num / max(den, 1e-4), rad = A_rad / max(den, 1e-4), before the log1p.
 */
int ssr_stage_resolve(const float *coarse, const float *carry, const float *guide, const float *prev,
                      const float *acc_new, const float *packed, const float *history_valid, int reset, int64_t height,
                      int64_t width, int64_t out_height, int64_t out_width, const ssr_stage_weights *weights,
                      float *out_log, float *color, int num_threads);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* SSR_STAGES_H */
