// The fused per-pixel stages of the `fast` network around its U-Net graph (ssr_stages.h).
//
// Each stage is one pass over the frame in row bands (one worker thread each); within a
// row, columns are processed in chunks of kChunk pixels held in per-thread scratch planes,
// so every per-channel loop is a contiguous, vectorisable loop over pixels. The hot loops
// are compiled twice (x86-64-v3 with AVX2/FMA, and the portable baseline) and picked at
// load time where the compiler supports it.

#include "ssr_stages.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "bands.h"
#include "fast_math.h"
#include "warp_taps.h"
#include "ssr_pack.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define SSR_HOT __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define SSR_HOT
#endif
// A function whose products and sums must round one by one (threshold tests that mirror the
// torch reference): GCC compiles it without FMA contraction; clang gets the pragma inside it.
#if defined(__GNUC__) && !defined(__clang__)
#define SSR_NO_CONTRACT __attribute__((noinline, optimize("fp-contract=off")))
#elif defined(__GNUC__)
#define SSR_NO_CONTRACT __attribute__((noinline))
#else
#define SSR_NO_CONTRACT
#endif
// Helpers of the hot loops are forced inline, so that each clone compiles them for its target.
#if defined(__GNUC__)
#define SSR_INLINE inline __attribute__((always_inline))
#else
#define SSR_INLINE inline
#endif

namespace {

/// S of the weights: 0 (unset) means the irradiance signal.
int signal_planes_of(const ssr_stage_weights &w) {
    return w.signal_planes == 0 ? SSR_STAGE_SIGNAL_PLANES : w.signal_planes;
}

/// The log view's A_mask floor of the weights: 0 (unset) means the legacy floor.
float view_floor_of(const ssr_stage_weights &w) {
    return w.view_floor == 0.0f ? SSR_STAGE_LEGACY_VIEW_FLOOR : w.view_floor;
}

using ssr_native::RowBand;
using ssr_native::ranges_overlap;
using ssr_native::run_bands;
using ssr_native::split_rows;
using ssr_native::fast_exp;
using ssr_native::fast_log1p;
using ssr_native::WarpTaps;

constexpr int64_t kChunk = 512;  // columns per chunk: 512 measured fastest at 2048x1024 (256: +30 %)
constexpr int kState = SSR_PACK_STATE_PLANES;              // 14
constexpr int kTransparent = 3;
constexpr int kRefInputs = kState + kTransparent;          // 17
constexpr int kMaskPlane = SSR_PACK_PLANE_MASK;            // 13
constexpr int kSignalPlanes[4] = {0, 1, 2, kMaskPlane};

/// out[o * out_stride + k] = b[o] + sum_i w[o, i] * in[i][k] for k < n (ReLU when asked).
/// Blocks of kLanes pixels keep every output's sum in a vector register (one store per
/// output): GCC / Clang vector extensions, lowered to AVX2 or SSE2 per clone.
constexpr int64_t kLanes = 8;
typedef float Lanes __attribute__((vector_size(kLanes * sizeof(float))));

SSR_INLINE Lanes load_lanes(const float *source) {
    Lanes value;
    std::memcpy(&value, source, sizeof(value));
    return value;
}

SSR_INLINE void dense(const float *const *in, int in_channels, const float *w, const float *b, int out_channels,
                  float *out, int64_t out_stride, int64_t n, bool relu) {
    const int64_t blocked = n - n % kLanes;
    const Lanes zero = {};
    int64_t k0 = 0;
    const int quads = out_channels - out_channels % 4;
    for (; k0 + 2 * kLanes <= n && quads > 0; k0 += 2 * kLanes) {  // 2 x 8 pixels x 4 outputs: 8 sums in registers
        for (int o = 0; o < quads; o += 4) {
            Lanes a0 = zero + b[o], a1 = zero + b[o + 1], a2 = zero + b[o + 2], a3 = zero + b[o + 3];
            Lanes c0 = a0, c1 = a1, c2 = a2, c3 = a3;
            const float *r0 = w + o * in_channels, *r1 = r0 + in_channels, *r2 = r1 + in_channels,
                        *r3 = r2 + in_channels;
            for (int i = 0; i < in_channels; ++i) {
                const Lanes x = load_lanes(in[i] + k0), z = load_lanes(in[i] + k0 + kLanes);
                const float w0 = r0[i], w1 = r1[i], w2 = r2[i], w3 = r3[i];
                a0 += w0 * x;
                c0 += w0 * z;
                a1 += w1 * x;
                c1 += w1 * z;
                a2 += w2 * x;
                c2 += w2 * z;
                a3 += w3 * x;
                c3 += w3 * z;
            }
            if (relu) {
                a0 = a0 > zero ? a0 : zero, c0 = c0 > zero ? c0 : zero;
                a1 = a1 > zero ? a1 : zero, c1 = c1 > zero ? c1 : zero;
                a2 = a2 > zero ? a2 : zero, c2 = c2 > zero ? c2 : zero;
                a3 = a3 > zero ? a3 : zero, c3 = c3 > zero ? c3 : zero;
            }
            float *d = out + o * out_stride + k0;
            std::memcpy(d, &a0, sizeof(a0)), std::memcpy(d + kLanes, &c0, sizeof(c0));
            std::memcpy(d + out_stride, &a1, sizeof(a1)), std::memcpy(d + out_stride + kLanes, &c1, sizeof(c1));
            std::memcpy(d + 2 * out_stride, &a2, sizeof(a2)), std::memcpy(d + 2 * out_stride + kLanes, &c2, sizeof(c2));
            std::memcpy(d + 3 * out_stride, &a3, sizeof(a3)), std::memcpy(d + 3 * out_stride + kLanes, &c3, sizeof(c3));
        }
        for (int o = quads; o < out_channels; ++o) {
            Lanes sum = zero + b[o], more = sum;
            const float *row = w + o * in_channels;
            for (int i = 0; i < in_channels; ++i) {
                sum += row[i] * load_lanes(in[i] + k0);
                more += row[i] * load_lanes(in[i] + k0 + kLanes);
            }
            if (relu) {
                sum = sum > zero ? sum : zero;
                more = more > zero ? more : zero;
            }
            std::memcpy(out + o * out_stride + k0, &sum, sizeof(sum));
            std::memcpy(out + o * out_stride + k0 + kLanes, &more, sizeof(more));
        }
    }
    for (; k0 < blocked; k0 += kLanes) {
        int o = 0;
        for (; o + 4 <= out_channels; o += 4) {  // four independent sums hide the FMA latency
            Lanes s0 = zero + b[o], s1 = zero + b[o + 1], s2 = zero + b[o + 2], s3 = zero + b[o + 3];
            const float *r0 = w + o * in_channels, *r1 = r0 + in_channels, *r2 = r1 + in_channels,
                        *r3 = r2 + in_channels;
            for (int i = 0; i < in_channels; ++i) {
                const Lanes x = load_lanes(in[i] + k0);
                s0 += r0[i] * x;
                s1 += r1[i] * x;
                s2 += r2[i] * x;
                s3 += r3[i] * x;
            }
            if (relu) {
                s0 = s0 > zero ? s0 : zero;
                s1 = s1 > zero ? s1 : zero;
                s2 = s2 > zero ? s2 : zero;
                s3 = s3 > zero ? s3 : zero;
            }
            std::memcpy(out + o * out_stride + k0, &s0, sizeof(s0));
            std::memcpy(out + (o + 1) * out_stride + k0, &s1, sizeof(s1));
            std::memcpy(out + (o + 2) * out_stride + k0, &s2, sizeof(s2));
            std::memcpy(out + (o + 3) * out_stride + k0, &s3, sizeof(s3));
        }
        for (; o < out_channels; ++o) {
            Lanes sum = zero + b[o];
            const float *row = w + o * in_channels;
            for (int i = 0; i < in_channels; ++i) {
                sum += row[i] * load_lanes(in[i] + k0);
            }
            if (relu) {
                sum = sum > zero ? sum : zero;
            }
            std::memcpy(out + o * out_stride + k0, &sum, sizeof(sum));
        }
    }
    for (int o = 0; o < out_channels; ++o) {  // the last n % kLanes pixels
        for (int64_t k = blocked; k < n; ++k) {
            float sum = b[o];
            for (int i = 0; i < in_channels; ++i) {
                sum += w[o * in_channels + i] * in[i][k];
            }
            out[o * out_stride + k] = relu ? (sum > 0.0f ? sum : 0.0f) : sum;
        }
    }
}

/// log view of 14 state planes (chunk-strided `src`) into `dst` rows: planes 0-2
/// log1p(A_irr / max(A_mask, floor)), the rest copied, all clamped to +-VIEW_BOUND.
SSR_INLINE void log_view(const float *const *src, float *const *dst, int64_t n, float floor) {
    const float *mask = src[kMaskPlane];
    for (int c = 0; c < kState; ++c) {
        const float *s = src[c];
        float *d = dst[c];
        if (c < 3) {
            for (int64_t k = 0; k < n; ++k) {
                const float den = mask[k] > floor ? mask[k] : floor;
                d[k] = fast_log1p(s[k] / den);
            }
        } else {
            for (int64_t k = 0; k < n; ++k) {
                d[k] = s[k];
            }
        }
        for (int64_t k = 0; k < n; ++k) {
            d[k] = std::min(std::max(d[k], -SSR_STAGE_VIEW_BOUND), SSR_STAGE_VIEW_BOUND);
        }
    }
}

/// out[c][k] = bilinear sample of plane c (src + c * plane_stride) for c < channels.
/// Blocks of kLanes pixels whose four taps each read kLanes consecutive elements (smooth
/// motion: the integer part of the offset is the same across the block) use vector loads;
/// other pixels are gathered one by one, each pixel's taps read once for all planes.
template <int Channels>
SSR_INLINE void sample(const WarpTaps &taps, const float *src, int64_t plane_stride, float *const *out, int64_t n) {
    const int32_t *i0 = taps.index[0].data(), *i1 = taps.index[1].data(), *i2 = taps.index[2].data(),
                  *i3 = taps.index[3].data();
    const float *w0 = taps.weight[0].data(), *w1 = taps.weight[1].data(), *w2 = taps.weight[2].data(),
                *w3 = taps.weight[3].data();
    int64_t k = 0;
    while (k < n) {
        bool run = k + kLanes <= n;
        for (int64_t j = 1; run && j < kLanes; ++j) {
            run = i0[k + j] == i0[k] + j && i1[k + j] == i1[k] + j && i2[k + j] == i2[k] + j &&
                  i3[k + j] == i3[k] + j;
        }
        if (run) {
            const Lanes wa = load_lanes(w0 + k), wb = load_lanes(w1 + k), wc = load_lanes(w2 + k),
                        wd = load_lanes(w3 + k);
            for (int ch = 0; ch < Channels; ++ch) {
                const float *p = src + ch * plane_stride;
                const Lanes value = wa * load_lanes(p + i0[k]) + wb * load_lanes(p + i1[k]) +
                                    wc * load_lanes(p + i2[k]) + wd * load_lanes(p + i3[k]);
                std::memcpy(out[ch] + k, &value, sizeof(value));
            }
            k += kLanes;
            continue;
        }
        const int64_t stop = std::min<int64_t>(n, k + kLanes);
        for (; k < stop; ++k) {
            const int32_t a = i0[k], b = i1[k], c = i2[k], d = i3[k];
            const float wa = w0[k], wb = w1[k], wc = w2[k], wd = w3[k];
            for (int ch = 0; ch < Channels; ++ch) {
                const float *p = src + ch * plane_stride;
                out[ch][k] = wa * p[a] + wb * p[b] + wc * p[c] + wd * p[d];
            }
        }
    }
}

/// PyTorch's bilinear x2 source index (align_corners=False): index, neighbour, weight of the neighbour.
template <typename Index>
SSR_INLINE void upsample_source(int64_t dst, int64_t in_size, Index &i0, Index &i1, float &lambda) {
    float src = 0.5f * (static_cast<float>(dst) + 0.5f) - 0.5f;
    src = src < 0.0f ? 0.0f : src;
    i0 = static_cast<Index>(src);
    i1 = static_cast<Index>(i0 + (i0 < in_size - 1 ? 1 : 0));
    lambda = src - static_cast<float>(i0);
}

/// Bilinear x2 upsampling (align_corners=False, as PyTorch): out[k] = the half-resolution
/// plane upsampled at output row (row0, row1, row_lambda), columns x0 + k: the vertical blend into `blend` (half_w floats of scratch), then the
/// fixed x2 pattern (even columns 0.25 / 0.75 of their left / own source column, odd ones
/// 0.75 / 0.25 of their own / right one, clamped at the edges: PyTorch's weights).
SSR_INLINE void upsample_row(const float *half, int64_t half_w, int64_t row0, int64_t row1, float row_lambda,
                             int64_t x0, int64_t n, float *blend, float *out) {
    const float *top = half + row0 * half_w, *bottom = half + row1 * half_w;
    const int64_t first = std::max<int64_t>(x0 / 2 - 1, 0), last = std::min<int64_t>((x0 + n) / 2 + 1, half_w);
    for (int64_t j = first; j < last; ++j) {
        blend[j] = (1.0f - row_lambda) * top[j] + row_lambda * bottom[j];
    }
    int64_t k = 0;
    if (x0 == 0) {  // column 0 reads its source column alone
        out[0] = blend[0];
        out[1] = 0.75f * blend[0] + 0.25f * blend[std::min<int64_t>(1, half_w - 1)];
        k = 2;
    }
    const int64_t end = (x0 + n == 2 * half_w) ? n - 2 : n;  // the last odd column clamps
    for (; k < end; k += 2) {
        const int64_t i = (x0 + k) / 2;
        out[k] = 0.25f * blend[i - 1] + 0.75f * blend[i];
        out[k + 1] = 0.75f * blend[i] + 0.25f * blend[i + 1];
    }
    if (end < n && k < n) {
        const int64_t i = (x0 + k) / 2;
        out[k] = 0.25f * blend[i - 1] + 0.75f * blend[i];
        out[k + 1] = blend[i];
    }
}

/// Rec. 709 luminance (ssr.model.history.LUMINANCE).
SSR_INLINE float luminance_of(float r, float g, float b) { return r * 0.2126f + g * 0.7152f + b * 0.0722f; }

/// The rule history's view (ssr.model.history.history_view) of 14 state planes (chunk
/// rows) into `dst`: 0-2 log1p(A_irr / max(N, floor)), 12 log1p of the luminance standard
/// deviation (0 where N = 0), 13 N / cap; unclamped. Planes 3-11 are the state's own, which
/// callers read from `src` (not copied).
// The rows as restrict-qualified parameters (the planes never overlap): with them GCC
// vectorises the loop; restrict-qualified locals copied from the row arrays do not suffice.
SSR_INLINE void rule_view_rows(const float *__restrict count, const float *__restrict square,
                               const float *__restrict total_r, const float *__restrict total_g,
                               const float *__restrict total_b, float *__restrict view_r, float *__restrict view_g,
                               float *__restrict view_b, float *__restrict view_deviation, float *__restrict view_count,
                               int64_t n, float cap, float floor) {
    for (int64_t k = 0; k < n; ++k) {
        const float safe = count[k] > floor ? count[k] : floor, inverse = 1.0f / safe;
        const float r = total_r[k] * inverse, g = total_g[k] * inverse, b = total_b[k] * inverse;
        const float mean_luminance = luminance_of(r, g, b);
        const float variance =
            std::max(square[k] * inverse - (1.0f + SSR_STAGE_HISTORY_VARIANCE_REL) * (mean_luminance * mean_luminance), 0.0f);
        const float deviation = count[k] > 0.0f ? std::sqrt(variance + 1e-12f) : 0.0f;
        view_r[k] = fast_log1p(r);
        view_g[k] = fast_log1p(g);
        view_b[k] = fast_log1p(b);
        view_deviation[k] = fast_log1p(deviation);
        view_count[k] = count[k] / cap;
    }
}

/// previous[k] = v * previous[k] where a tap is valid (v > 0), else the view's irradiance.
SSR_INLINE void weigh_previous(const float *__restrict valid, const float *__restrict view, float *__restrict previous,
                               int64_t n) {
    for (int64_t k = 0; k < n; ++k) {
        previous[k] = valid[k] > 0.0f ? valid[k] * previous[k] : view[k];
    }
}

SSR_INLINE void rule_view(const float *const *src, float *const *dst, int64_t n, float cap, float floor) {
    rule_view_rows(src[kMaskPlane], src[SSR_PACK_PLANE_SHADOW], src[0], src[1], src[2], dst[0], dst[1], dst[2],
                   dst[SSR_PACK_PLANE_SHADOW], dst[kMaskPlane], n, cap, floor);
}

/// The rule's sample counting of n pixels (ssr.model.history.accumulate_samples with the cap
/// of history_cap_map): the reprojected (total, square, count) and this frame's linear
/// sample -> the new ones. Restrict-qualified rows, as rule_view_rows.
SSR_HOT __attribute__((noinline)) void count_samples(const float *__restrict traced, const float *__restrict roughness,
                              const float *__restrict tint_r, const float *__restrict tint_g,
                              const float *__restrict tint_b, const float *__restrict sample_r,
                              const float *__restrict sample_g, const float *__restrict sample_b,
                              const float *__restrict old_r, const float *__restrict old_g,
                              const float *__restrict old_b, const float *__restrict old_square,
                              const float *__restrict old_count, float *__restrict new_r, float *__restrict new_g,
                              float *__restrict new_b, float *__restrict new_square, float *__restrict new_count,
                              int64_t n, float history_cap) {
    const float cap_range = history_cap - SSR_STAGE_HISTORY_CAP_MIN;
    for (int64_t k = 0; k < n; ++k) {
        const float rough = std::min(std::max(roughness[k] / SSR_STAGE_HISTORY_ROUGHNESS_FULL, 0.0f), 1.0f);
        const float opacity = 1.0f - std::min(std::max(std::max(std::max(tint_r[k], tint_g[k]), tint_b[k]), 0.0f), 1.0f);
        const float cap = SSR_STAGE_HISTORY_CAP_MIN + cap_range * rough * opacity;
        const float count = old_count[k];
        const float count_new = std::min(count + traced[k], std::max(cap, traced[k]));
        const float keep = std::min(std::max((count_new - traced[k]) / std::max(count, 1e-6f), 0.0f), 1.0f);
        const float r = sample_r[k], g = sample_g[k], b = sample_b[k];
        const float sample_luminance = luminance_of(r, g, b);
        new_r[k] = old_r[k] * keep + traced[k] * r;
        new_g[k] = old_g[k] * keep + traced[k] * g;
        new_b[k] = old_b[k] * keep + traced[k] * b;
        new_square[k] = old_square[k] * keep + traced[k] * (sample_luminance * sample_luminance);
        new_count[k] = count_new;
    }
}

// The validity tests compare against thresholds, so they must round as the torch reference
// does (each multiply and add rounded on its own): an FMA would move a tap across a
// threshold. SSR_ROUNDED(v) pins a product in a register, which keeps the compiler from
// fusing it into the next add (GNU C's default -ffp-contract=fast fuses across statements).
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define SSR_ROUNDED(v) __asm__("" : "+x"(v))
#elif defined(__GNUC__) && defined(__aarch64__)
#define SSR_ROUNDED(v) __asm__("" : "+w"(v))
#elif defined(__GNUC__)
#define SSR_ROUNDED(v) __asm__ volatile("" : "+m"(v))
#else
#define SSR_ROUNDED(v) (void)(v)
#endif

/// The per-pixel depth slope of ssr.model.history.depth_slope at row y, columns x0 .. x0+n-1
/// of the depth plane (edges replicate): per axis the smaller one-sided difference, the
/// larger over the two axes.
SSR_INLINE void depth_slope_row(const float *depth, int64_t height, int64_t width, int64_t y, int64_t x0, int64_t n,
                                float *slope) {
    const float *row = depth + y * width;
    const float *up = depth + std::max<int64_t>(y - 1, 0) * width;
    const float *below = depth + std::min<int64_t>(y + 1, height - 1) * width;
    for (int64_t k = 0; k < n; ++k) {
        const int64_t x = x0 + k;
        const float centre = row[x];
        const float left = row[std::max<int64_t>(x - 1, 0)], right = row[std::min<int64_t>(x + 1, width - 1)];
        const float along_x = std::min(std::fabs(right - centre), std::fabs(centre - left));
        const float along_y = std::min(std::fabs(below[x] - centre), std::fabs(centre - up[x]));
        slope[k] = std::max(along_x, along_y);
    }
}

/// One tap of every pixel of a row (the tests of ssr.model.history.tap_validity): zero
/// `weight[k]` where the tap fails against the pixel (normal, depth, `limit` = the depth
/// tolerance) and add the weight that remains to `weight_sum[k]`. `tap` holds the previous
/// frame's normal (3 rows) and depth (1 row) gathered at the tap, kChunk floats apart. The
/// tests compare against thresholds, so each product and sum must round as the torch
/// reference's does: the function is compiled without FMA contraction (which would move a
/// tap across a threshold) and, branch-free on restrict-qualified rows, vectorises.
SSR_HOT SSR_NO_CONTRACT void validate_tap(
    const float *__restrict tap, float *__restrict weight, const float *__restrict nx, const float *__restrict ny,
    const float *__restrict nz, const float *__restrict depth, const float *__restrict limit,
    float *__restrict weight_sum, int64_t n) {
#if defined(__clang__)
#pragma clang fp contract(off)
#endif
    const float *__restrict tap_nx = tap, *__restrict tap_ny = tap + kChunk, *__restrict tap_nz = tap + 2 * kChunk,
                            *__restrict tap_depth = tap + 3 * kChunk;
    for (int64_t k = 0; k < n; ++k) {
        const float facing = (tap_nx[k] * nx[k] + tap_ny[k] * ny[k]) + tap_nz[k] * nz[k];
        const bool hit = depth[k] > 0.0f, tap_hit = tap_depth[k] > 0.0f;
        const bool agree = (facing >= SSR_STAGE_HISTORY_NORMAL_COS) & (std::fabs(tap_depth[k] - depth[k]) <= limit[k]);
        const bool valid = (hit & tap_hit & agree) | (!hit & !tap_hit);
        const float kept = valid ? weight[k] : 0.0f;
        weight[k] = kept;
        weight_sum[k] += kept;
    }
}

/// Zero the bilinear weight of every tap failing ssr.model.history.tap_validity against the
/// pixel (normal `normal[3]`, depth `depth`, slope; `slope` is overwritten with the depth
/// tolerance) and write the valid weights' sum (taps added in order 0-3, as the reference).
/// `gathered`: 4 * kChunk floats of scratch.
SSR_INLINE void validate_taps(WarpTaps &taps, const float *prev_state, int64_t plane, const float *const *normal,
                              const float *depth, float *slope, int64_t n, float *weight_sum, float *gathered) {
    const float *prev_nx = prev_state + SSR_PACK_PLANE_NORMAL * plane, *prev_ny = prev_nx + plane,
                *prev_nz = prev_ny + plane, *prev_depth = prev_state + SSR_PACK_PLANE_DEPTH * plane;
    for (int64_t k = 0; k < n; ++k) {
        float relative = SSR_STAGE_HISTORY_DEPTH_REL * depth[k];
        SSR_ROUNDED(relative);
        slope[k] = relative + SSR_STAGE_HISTORY_DEPTH_SLOPE * slope[k];  // x 2: exact, so an FMA rounds alike
        weight_sum[k] = 0.0f;
    }
    for (int t = 0; t < 4; ++t) {
        const int32_t *index = taps.index[t].data();
        for (int64_t k = 0; k < n; ++k) {  // the gathers (GCC's generic tuning emits no vector gathers)
            const int32_t at = index[k];
            gathered[k] = prev_nx[at];
            gathered[kChunk + k] = prev_ny[at];
            gathered[2 * kChunk + k] = prev_nz[at];
            gathered[3 * kChunk + k] = prev_depth[at];
        }
        validate_tap(gathered, taps.weight[t].data(), normal[0], normal[1], normal[2], depth, slope, weight_sum, n);
    }
}

/// The TFA's current-frame weight beta = sigmoid(<e_ref, e_cur> - <e_ref, e_prev>) of n pixels:
/// e_ref from the packed planes `in` (x_t, transparent), e_cur from x_t, e_prev from `view`.
SSR_INLINE void tfa_weight(const float *const *in, const float *const *view, const float *const *hidden_in,
                           const ssr_stage_weights &w, float *hidden_buf, float *e_ref, float *e_cur, float *e_prev,
                           float *beta, float *s_prev, int64_t n) {
    const int hidden = w.hidden, embed = w.embed;
    dense(in, kRefInputs, w.ref_w1, w.ref_b1, hidden, hidden_buf, kChunk, n, true);
    dense(hidden_in, hidden, w.ref_w2, w.ref_b2, embed, e_ref, kChunk, n, false);
    dense(in, kState, w.emb_w1, w.emb_b1, hidden, hidden_buf, kChunk, n, true);
    dense(hidden_in, hidden, w.emb_w2, w.emb_b2, embed, e_cur, kChunk, n, false);
    dense(view, kState, w.emb_w1, w.emb_b1, hidden, hidden_buf, kChunk, n, true);
    dense(hidden_in, hidden, w.emb_w2, w.emb_b2, embed, e_prev, kChunk, n, false);
    for (int64_t k = 0; k < n; ++k) {
        beta[k] = 0.0f;
        s_prev[k] = 0.0f;
    }
    for (int e = 0; e < embed; ++e) {
        const float *ref = e_ref + e * kChunk, *cur = e_cur + e * kChunk, *pre = e_prev + e * kChunk;
        for (int64_t k = 0; k < n; ++k) {
            beta[k] += ref[k] * cur[k];
            s_prev[k] += ref[k] * pre[k];
        }
    }
    for (int64_t k = 0; k < n; ++k) {
        beta[k] = 1.0f / (1.0f + fast_exp(-(beta[k] - s_prev[k])));
    }
}

struct AccumulateArgs {
    const float *packed;
    const float *acc;
    const float *prev_out;
    bool reset;
    int64_t height;
    int64_t width;
    int64_t frame_height;  // the frame inside the (padded) planes
    int64_t frame_width;
    const ssr_stage_weights *weights;
    const float *down_weights;  // down1_w as [c1, 4 * 34]: taps (0,0), (0,1), (1,0), (1,1), each over the 34 planes
    float *acc_new;
    float *guide;
    float *prev;
    float *down;
    float *prev_half;
    float *signal_half;
    float *history_valid;  // rule history only: [1, H, W]
};

constexpr int kFeatures = SSR_STAGE_FEATURE_PLANES;  // 34
constexpr int64_t kHalfChunk = kChunk / 2;

SSR_HOT void accumulate_rows(const AccumulateArgs &a, RowBand rows) {
    const int64_t width = a.width, plane = a.height * a.width;
    const int64_t half_w = width / 2, half_plane = (a.height / 2) * half_w;
    const ssr_stage_weights &w = *a.weights;
    const int hidden = w.hidden, embed = w.embed;
    const bool rule = w.history_cap > 0.0f;
    const std::size_t floats = static_cast<std::size_t>(
        (3 + 3 * kState + hidden + 3 * embed + 3 + 4) * kChunk + 4 * kFeatures * kHalfChunk);
    std::vector<float> scratch(floats, 0.0f);
    float *x_linear = scratch.data();                 // [3][kChunk]
    float *history = x_linear + 3 * kChunk;           // [14][kChunk]
    float *history_view = history + kState * kChunk;  // [14][kChunk]
    float *acc_view = history_view + kState * kChunk; // [14][kChunk]
    float *hidden_buf = acc_view + kState * kChunk;
    float *e_ref = hidden_buf + hidden * kChunk;
    float *e_cur = e_ref + embed * kChunk;
    float *e_prev = e_cur + embed * kChunk;
    float *beta = e_prev + embed * kChunk;
    float *s_prev = beta + kChunk;
    float *slope = s_prev + kChunk;                   // the rule history's depth slope
    float *split = slope + kChunk;                    // [row 0/1][even/odd][34][kHalfChunk]
    float *gathered = split + 4 * kFeatures * kHalfChunk;  // the rule history's tap planes [4][kChunk]
    WarpTaps taps(static_cast<std::size_t>(kChunk));
    const float *motion_x = a.packed + SSR_PACK_PLANE_MOTION * plane;
    const float *motion_y = motion_x + plane;
    const float *in[kRefInputs];
    const float *view_in[kState], *history_const[kState], *hidden_in[SSR_STAGE_MAX_WIDTH];
    float *history_rows[kState], *view_rows[kState], *acc_view_rows[kState], *acc_rows[kState];
    const float *features[kFeatures];
    const float *split_in[4 * kFeatures];
    for (int c = 0; c < kState; ++c) {
        history_rows[c] = history + c * kChunk;
        history_const[c] = history_rows[c];
        view_rows[c] = history_view + c * kChunk;
        view_in[c] = view_rows[c];
        acc_view_rows[c] = acc_view + c * kChunk;
    }
    for (int j = 0; j < hidden; ++j) {
        hidden_in[j] = hidden_buf + j * kChunk;
    }
    const float *rule_view_in[kState];  // the rule view of the history: planes 3-11 are the history's own
    for (int c = 0; c < kState; ++c) {
        rule_view_in[c] = (c >= 3 && c < SSR_PACK_PLANE_SHADOW) ? history_rows[c] : view_rows[c];
    }
    for (int t = 0; t < 4; ++t) {  // (row, column parity) of the 2x2 tap, in down_weights order
        for (int i = 0; i < kFeatures; ++i) {
            split_in[t * kFeatures + i] = split + (t * kFeatures + i) * kHalfChunk;
        }
    }
    for (int64_t y_pair = rows.row_begin; y_pair < rows.row_end; y_pair += 2) {
        for (int64_t x0 = 0; x0 < width; x0 += kChunk) {
            const int64_t n = std::min(kChunk, width - x0);
            for (int r = 0; r < 2; ++r) {
                const int64_t y = y_pair + r;
                const int64_t offset = y * width + x0;
                for (int c = 0; c < kRefInputs; ++c) {
                    in[c] = a.packed + c * plane + offset;
                }
                for (int c = 0; c < 3; ++c) {
                    float *dst = x_linear + c * kChunk;
                    for (int64_t k = 0; k < n; ++k) {
                        dst[k] = fast_exp(in[c][k]) - 1.0f;
                    }
                }
                float *prev_rows[3];
                for (int c = 0; c < 3; ++c) {
                    prev_rows[c] = a.prev + c * plane + offset;
                }
                for (int c = 0; c < kState; ++c) {
                    acc_rows[c] = a.acc_new + c * plane + offset;
                }
                if (rule) {
                    // validity-tested reprojection of (A_{t-1}, y_{t-1}); v = the valid taps' weight
                    float *valid = a.history_valid + offset;
                    if (a.reset) {
                        for (int c = 0; c < kState; ++c) {
                            std::fill(history_rows[c], history_rows[c] + n, 0.0f);
                        }
                        for (int c = 0; c < 3; ++c) {
                            std::fill(prev_rows[c], prev_rows[c] + n, 0.0f);
                        }
                        std::fill(valid, valid + n, 0.0f);
                    } else {
                        taps.compute(motion_x, motion_y, y, x0, n, a.height, width, a.frame_height, a.frame_width);
                        depth_slope_row(a.packed + SSR_PACK_PLANE_DEPTH * plane, a.height, width, y, x0, n, slope);
                        validate_taps(taps, a.acc, plane, in + SSR_PACK_PLANE_NORMAL, in[SSR_PACK_PLANE_DEPTH], slope, n,
                                      valid, gathered);
                        sample<kState>(taps, a.acc, plane, history_rows, n);
                        sample<3>(taps, a.prev_out, plane, prev_rows, n);
                        float *inverse = s_prev;  // scratch until the TFA: 1 / v where v > 0, else 0
                        for (int64_t k = 0; k < n; ++k) {
                            inverse[k] = valid[k] > 0.0f ? 1.0f / std::max(valid[k], 1e-6f) : 0.0f;
                        }
                        for (int c = 0; c < kState + 3; ++c) {  // renormalised over the valid taps, 0 without any
                            float *row = c < kState ? history_rows[c] : prev_rows[c - kState];
                            for (int64_t k = 0; k < n; ++k) {
                                row[k] *= inverse[k];
                            }
                        }
                    }
                    // the signal counts samples up to the pixel's cap -> acc_new 0-2, 12, 13
                    count_samples(in[kMaskPlane], in[SSR_PACK_PLANE_ROUGHNESS], in[kState], in[kState + 1],
                                  in[kState + 2], x_linear, x_linear + kChunk, x_linear + 2 * kChunk, history_rows[0],
                                  history_rows[1], history_rows[2], history_rows[SSR_PACK_PLANE_SHADOW],
                                  history_rows[kMaskPlane], acc_rows[0], acc_rows[1], acc_rows[2],
                                  acc_rows[SSR_PACK_PLANE_SHADOW], acc_rows[kMaskPlane], n, w.history_cap);
                    // the TFA's history: the reprojection, or this frame where there is none
                    for (int c = 0; c < kState; ++c) {
                        const float *x_values = c < 3 ? x_linear + c * kChunk : in[c];
                        float *h = history_rows[c];
                        for (int64_t k = 0; k < n; ++k) {
                            h[k] += (valid[k] > 0.0f ? 0.0f : 1.0f) * x_values[k];
                        }
                    }
                    rule_view(history_const, view_rows, n, w.history_cap, view_floor_of(w));
                    // the TFA weight (an always-inline helper, not a lambda: lambdas are not target-cloned)
                    tfa_weight(in, rule_view_in, hidden_in, w, hidden_buf, e_ref, e_cur, e_prev, beta, s_prev, n);
                    for (int c : {3, 4, 5, SSR_PACK_PLANE_ROUGHNESS, SSR_PACK_PLANE_METALLIC}) {
                        const float *h = history_rows[c];
                        for (int64_t k = 0; k < n; ++k) {
                            acc_rows[c][k] = (1.0f - beta[k]) * h[k] + beta[k] * in[c][k];
                        }
                    }
                    for (int c = SSR_PACK_PLANE_NORMAL; c <= SSR_PACK_PLANE_DEPTH; ++c) {  // the next frame's taps test these
                        std::copy(in[c], in[c] + n, acc_rows[c]);
                    }
                    rule_view(acc_rows, acc_view_rows, n, w.history_cap, view_floor_of(w));
                    for (int c = 0; c < 3; ++c) {  // v * the valid average, else the view's irradiance
                        weigh_previous(valid, acc_view_rows[c], prev_rows[c], n);
                    }
                } else {
                    if (a.reset) {
                        for (int c = 0; c < kState; ++c) {
                            const float *src = c < 3 ? x_linear + c * kChunk : in[c];
                            std::copy(src, src + n, history_rows[c]);
                        }
                    } else {
                        taps.compute(motion_x, motion_y, y, x0, n, a.height, width, a.frame_height, a.frame_width);
                        sample<kState>(taps, a.acc, plane, history_rows, n);
                    }
                    log_view(history_const, view_rows, n, view_floor_of(w));
                    // the TFA weight (an always-inline helper, not a lambda: lambdas are not target-cloned)
                    tfa_weight(in, view_in, hidden_in, w, hidden_buf, e_ref, e_cur, e_prev, beta, s_prev, n);
                    // A_t = (1 - beta) * history + beta * x_values -> acc_new
                    for (int c = 0; c < kState; ++c) {
                        const float *x_values = c < 3 ? x_linear + c * kChunk : in[c];
                        const float *h = history_rows[c];
                        float *dst = acc_rows[c];
                        for (int64_t k = 0; k < n; ++k) {
                            dst[k] = (1.0f - beta[k]) * h[k] + beta[k] * x_values[k];
                        }
                    }
                    log_view(acc_rows, acc_view_rows, n, view_floor_of(w));
                    if (a.reset) {
                        for (int c = 0; c < 3; ++c) {
                            std::copy(acc_view_rows[c], acc_view_rows[c] + n, prev_rows[c]);
                        }
                    } else {
                        sample<3>(taps, a.prev_out, plane, prev_rows, n);
                    }
                }
                // the U-Net input u = (x_t, log view of A_t, transparent, prev)
                for (int c = 0; c < kState; ++c) {
                    features[c] = in[c];
                    features[kState + c] = (rule && c >= 3 && c < SSR_PACK_PLANE_SHADOW) ? acc_rows[c] : acc_view_rows[c];
                }
                for (int c = 0; c < kTransparent; ++c) {
                    features[2 * kState + c] = in[kState + c];
                }
                for (int c = 0; c < 3; ++c) {
                    features[SSR_STAGE_FEATURE_PREV + c] = prev_rows[c];
                }
                dense(features, kFeatures, w.enc0_w, w.enc0_b, w.guide, a.guide + offset, plane, n, true);
                for (int i = 0; i < kFeatures; ++i) {  // even / odd columns, for the 2x2 stride-2 conv
                    float *even = split + ((2 * r) * kFeatures + i) * kHalfChunk;
                    float *odd = split + ((2 * r + 1) * kFeatures + i) * kHalfChunk;
                    const float *src = features[i];
                    for (int64_t k = 0; k < n / 2; ++k) {
                        even[k] = src[2 * k];
                        odd[k] = src[2 * k + 1];
                    }
                }
            }
            const int64_t half_offset = (y_pair / 2) * half_w + x0 / 2;
            dense(split_in, 4 * kFeatures, a.down_weights, w.down1_b, w.down, a.down + half_offset, half_plane, n / 2,
                  true);
            for (int c = 0; c < 3; ++c) {  // avg_pool2d(prev, 2): (0,0) + (0,1) + (1,0) + (1,1), / 4
                const int i = SSR_STAGE_FEATURE_PREV + c;
                const float *e0 = split_in[i], *o0 = split_in[kFeatures + i];
                const float *e1 = split_in[2 * kFeatures + i], *o1 = split_in[3 * kFeatures + i];
                float *dst = a.prev_half + c * half_plane + half_offset;
                for (int64_t k = 0; k < n / 2; ++k) {
                    dst[k] = (e0[k] + o0[k] + e1[k] + o1[k]) / 4.0f;
                }
            }
            for (int s = 0; s < SSR_STAGE_SIGNAL_PLANES; ++s) {
                const float *top = a.acc_new + kSignalPlanes[s] * plane + y_pair * width + x0;
                const float *bottom = top + width;
                float *dst = a.signal_half + s * half_plane + half_offset;
                for (int64_t k = 0; k < n / 2; ++k) {
                    dst[k] = (top[2 * k] + top[2 * k + 1] + bottom[2 * k] + bottom[2 * k + 1]) / 4.0f;
                }
            }
            for (int c = 0; signal_planes_of(w) == SSR_STAGE_DUAL_SIGNAL_PLANES && c < 3; ++c) {
                // the radiance numerator A_irr * (albedo + eps), pooled the same way
                const float *top = a.acc_new + c * plane + y_pair * width + x0, *bottom = top + width;
                const float *albedo_top = a.packed + (SSR_PACK_PLANE_ALBEDO + c) * plane + y_pair * width + x0;
                const float *albedo_bottom = albedo_top + width;
                float *dst = a.signal_half + (SSR_STAGE_SIGNAL_PLANES + c) * half_plane + half_offset;
                for (int64_t k = 0; k < n / 2; ++k) {
                    dst[k] = (top[2 * k] * (albedo_top[2 * k] + SSR_PACK_ALBEDO_EPS) +
                              top[2 * k + 1] * (albedo_top[2 * k + 1] + SSR_PACK_ALBEDO_EPS) +
                              bottom[2 * k] * (albedo_bottom[2 * k] + SSR_PACK_ALBEDO_EPS) +
                              bottom[2 * k + 1] * (albedo_bottom[2 * k + 1] + SSR_PACK_ALBEDO_EPS)) / 4.0f;
                }
            }
        }
    }
}

struct ResolveArgs {
    const float *coarse;
    const float *carry;
    const float *guide;
    const float *prev;
    const float *acc_new;
    const float *packed;
    const float *history_valid;  // the rule history's valid reprojection weight, else NULL (the warp's coverage)
    bool reset;
    int64_t height;
    int64_t width;
    int64_t out_height;
    int64_t out_width;
    const ssr_stage_weights *weights;
    float *out_log;
    float *color;
};

SSR_HOT void resolve_rows(const ResolveArgs &a, RowBand rows) {
    const ssr_stage_weights &w = *a.weights;
    const int64_t width = a.width, height = a.height, plane = height * width;
    const int planes = signal_planes_of(w);
    const bool dual = planes == SSR_STAGE_DUAL_SIGNAL_PLANES;
    const int side = w.kernel_size, radius = side / 2, taps = side * side,
              heads = SSR_STAGE_HEAD_CHANNELS(side, planes);
    const int guide = w.guide, decoder_in = 3 + guide + 3;
    const int64_t half_w = width / 2, half_h = height / 2, half_plane = half_h * half_w;
    const int64_t padded = width + 2;
    std::vector<float> scratch(static_cast<std::size_t>((taps + heads + guide + planes + 2) * kChunk), 0.0f);
    float *weights = scratch.data();                 // [taps][kChunk]
    float *head = weights + taps * kChunk;           // [heads][kChunk]
    float *hidden = head + heads * kChunk;           // [guide][kChunk]
    float *filtered = hidden + guide * kChunk;       // [planes][kChunk]
    float *maximum = filtered + planes * kChunk;
    float *total = maximum + kChunk;
    // three padded rows of the decoder input (upsampled coarse, guide, prev), ring-indexed by row
    std::vector<float> ring(static_cast<std::size_t>(3 * decoder_in * padded), 0.0f);
    std::vector<float> blend(static_cast<std::size_t>(half_w + 1));
    const float *signal[4];
    for (int s = 0; s < 4; ++s) {
        signal[s] = a.acc_new + kSignalPlanes[s] * plane;
    }
    const float *albedo_planes = a.packed + SSR_PACK_PLANE_ALBEDO * plane;
    const float *motion_x = a.packed + SSR_PACK_PLANE_MOTION * plane;
    const float *motion_y = motion_x + plane;
    const float *hidden_in[SSR_STAGE_MAX_WIDTH];
    for (int j = 0; j < guide; ++j) {
        hidden_in[j] = hidden + j * kChunk;
    }
    auto slot_of = [&](int64_t yy) { return ring.data() + ((yy + 3) % 3) * decoder_in * padded; };
    auto fill = [&](int64_t yy) {
        float *slot = slot_of(yy);
        if (yy < 0 || yy >= height) {
            std::fill(slot, slot + decoder_in * padded, 0.0f);
            return;
        }
        int64_t row0 = 0, row1 = 0;
        float row_lambda = 0.0f;
        upsample_source(yy, half_h, row0, row1, row_lambda);
        for (int c = 0; c < decoder_in; ++c) {
            float *dst = slot + c * padded;
            dst[0] = 0.0f;
            dst[width + 1] = 0.0f;
            if (c < 3) {
                upsample_row(a.coarse + c * half_plane, half_w, row0, row1, row_lambda, 0, width, blend.data(), dst + 1);
            } else {
                const float *src = c < 3 + guide ? a.guide + (c - 3) * plane : a.prev + (c - 3 - guide) * plane;
                std::copy(src + yy * width, src + (yy + 1) * width, dst + 1);
            }
        }
    };
    fill(rows.row_begin - 1);
    fill(rows.row_begin);
    // the 3x3 conv as a dense layer over 9 * decoder_in shifted row pointers, in the order of
    // PyTorch's weight [out][in][dy][dx]: (in, dy, dx) -> the padded row of input row y + dy - 1,
    // column offset dx - 1 (+1 for the left border column)
    std::vector<const float *> tap_rows(static_cast<std::size_t>(3 * decoder_in));
    std::vector<const float *> conv_inputs(static_cast<std::size_t>(9 * decoder_in));
    for (int64_t y = rows.row_begin; y < rows.row_end; ++y) {
        fill(y + 1);
        for (int dy = 0; dy < 3; ++dy) {
            const float *slot = slot_of(y + dy - 1);
            for (int c = 0; c < decoder_in; ++c) {
                tap_rows[static_cast<std::size_t>(dy * decoder_in + c)] = slot + c * padded;
            }
        }
        int64_t row0 = 0, row1 = 0;
        float row_lambda = 0.0f;
        upsample_source(y, half_h, row0, row1, row_lambda);
        for (int64_t x0 = 0; x0 < width; x0 += kChunk) {
            const int64_t n = std::min(kChunk, width - x0);
            const int64_t offset = y * width + x0;
            // full-resolution decoder: 3x3 conv + ReLU, then the 1x1 head
            for (int i = 0; i < decoder_in; ++i) {
                for (int dy = 0; dy < 3; ++dy) {
                    for (int dx = 0; dx < 3; ++dx) {
                        conv_inputs[static_cast<std::size_t>((i * 3 + dy) * 3 + dx)] =
                            tap_rows[static_cast<std::size_t>(dy * decoder_in + i)] + x0 + dx;
                    }
                }
            }
            dense(conv_inputs.data(), 9 * decoder_in, w.dec0_w, w.dec0_b, guide, hidden, kChunk, n, true);
            dense(hidden_in, guide, w.head_w, w.head_b, heads, head, kChunk, n, false);
            // softmax over the taps: exp(x - max) / sum
            for (int64_t k = 0; k < n; ++k) {
                maximum[k] = -std::numeric_limits<float>::infinity();
                total[k] = 0.0f;
            }
            for (int t = 0; t < taps; ++t) {
                const float *logit = head + t * kChunk;
                for (int64_t k = 0; k < n; ++k) {
                    maximum[k] = std::max(maximum[k], logit[k]);
                }
            }
            for (int t = 0; t < taps; ++t) {
                const float *logit = head + t * kChunk;
                float *wt = weights + t * kChunk;
                for (int64_t k = 0; k < n; ++k) {
                    wt[k] = fast_exp(logit[k] - maximum[k]);
                    total[k] += wt[k];
                }
            }
            for (int t = 0; t < taps; ++t) {
                float *wt = weights + t * kChunk;
                for (int64_t k = 0; k < n; ++k) {
                    wt[k] = wt[k] / total[k];
                }
            }
            // per-pixel kernel over (A_irr, A_mask[, A_rad = A_irr * (albedo + eps)]); out-of-frame taps read 0
            for (int s = 0; s < planes; ++s) {
                float *f = filtered + s * kChunk;
                std::fill(f, f + n, 0.0f);
                for (int t = 0; t < taps; ++t) {
                    const int64_t yy = y + t / side - radius;
                    if (yy < 0 || yy >= height) {
                        continue;
                    }
                    const int64_t dx = t % side - radius;
                    const int64_t k_begin = std::max<int64_t>(0, -(x0 + dx));
                    const int64_t k_end = std::min<int64_t>(n, width - x0 - dx);
                    const float *wt = weights + t * kChunk;
                    if (s < 4) {
                        const float *src = signal[s] + yy * width + x0 + dx;
                        for (int64_t k = k_begin; k < k_end; ++k) {
                            f[k] += wt[k] * src[k];
                        }
                    } else {
                        const float *src = signal[s - 4] + yy * width + x0 + dx;
                        const float *alb = albedo_planes + (s - 4) * plane + yy * width + x0 + dx;
                        for (int64_t k = k_begin; k < k_end; ++k) {
                            f[k] += wt[k] * (src[k] * (alb[k] + SSR_PACK_ALBEDO_EPS));
                        }
                    }
                }
            }
            // blend with the upsampled carry
            const float *blend_logit = head + taps * kChunk;
            float *coarse = maximum;  // scratch row, the maxima are spent
            for (int s = 0; s < planes; ++s) {
                upsample_row(a.carry + s * half_plane, half_w, row0, row1, row_lambda, x0, n, blend.data(), coarse);
                float *f = filtered + s * kChunk;
                for (int64_t k = 0; k < n; ++k) {
                    const float b = 1.0f / (1.0f + fast_exp(-blend_logit[k]));
                    f[k] = f[k] + b * (coarse[k] - f[k]);
                }
            }
            // the warped previous output, weighted by softplus(logit) * coverage
            if (!a.reset) {
                const float *history_logit = head + (taps + 1) * kChunk;
                // against the frame (out_height x out_width): a border pixel takes its replicated
                // frame pixel's coverage, as the accumulate stage's taps
                const float fw = static_cast<float>(a.out_width), fh = static_cast<float>(a.out_height);
                const int64_t frame_row = std::min(y, a.out_height - 1);
                for (int64_t k = 0; k < n; ++k) {
                    const int64_t pixel = offset + k;
                    const int64_t frame_column = std::min(x0 + k, a.out_width - 1);
                    const int64_t source = frame_row * width + frame_column;
                    const float u = static_cast<float>(frame_column) + motion_x[source];
                    const float v = static_cast<float>(frame_row) + motion_y[source];
                    const float cover_x = std::min(std::max(std::min(u + 1.0f, fw - u), 0.0f), 1.0f);
                    const float cover_y = std::min(std::max(std::min(v + 1.0f, fh - v), 0.0f), 1.0f);
                    const float coverage = a.history_valid != nullptr ? a.history_valid[pixel] : cover_x * cover_y;
                    const float logit = history_logit[k];
                    const float softplus = logit > 20.0f ? logit : fast_log1p(fast_exp(logit));
                    const float weight = softplus * coverage;
                    const float floor = coverage > SSR_STAGE_COVERAGE_FLOOR ? coverage : SSR_STAGE_COVERAGE_FLOOR;
                    for (int c = 0; c < 3; ++c) {
                        const float prev = a.prev[c * plane + pixel] / floor;
                        const float previous = fast_exp(std::min(prev, SSR_STAGE_LOG_MAX)) - 1.0f;
                        filtered[c * kChunk + k] += weight * previous;
                        if (dual) {
                            filtered[(4 + c) * kChunk + k] +=
                                weight * previous * (albedo_planes[c * plane + pixel] + SSR_PACK_ALBEDO_EPS);
                        }
                    }
                    filtered[3 * kChunk + k] += weight;
                }
            }
            // out_log = log1p(num / den); colour = remodulated, clamped, HWC (cropped)
            const float *den = filtered + 3 * kChunk;
            const float *dual_logit = head + (taps + 2) * kChunk;
            for (int c = 0; c < 3; ++c) {
                const float *num = filtered + c * kChunk;
                float *dst = a.out_log + c * plane + offset;
                if (!dual) {
                    for (int64_t k = 0; k < n; ++k) {
                        const float d = den[k] > SSR_STAGE_MASK_FLOOR ? den[k] : SSR_STAGE_MASK_FLOOR;
                        dst[k] = fast_log1p(num[k] / d);
                    }
                    continue;
                }
                // irr + b * (rad / (albedo + eps) - irr), b = sigmoid(dual logit)
                const float *rad = filtered + (4 + c) * kChunk;
                const float *albedo = albedo_planes + c * plane + offset;
                for (int64_t k = 0; k < n; ++k) {
                    const float d = den[k] > SSR_STAGE_MASK_FLOOR ? den[k] : SSR_STAGE_MASK_FLOOR;
                    const float irradiance = num[k] / d;
                    const float from_radiance = (rad[k] / d) / (albedo[k] + SSR_PACK_ALBEDO_EPS);
                    const float b = 1.0f / (1.0f + fast_exp(-dual_logit[k]));
                    dst[k] = fast_log1p(irradiance + b * (from_radiance - irradiance));
                }
            }
            if (y < a.out_height && x0 < a.out_width) {
                const int64_t m = std::min(n, a.out_width - x0);
                float *target = a.color + (y * a.out_width + x0) * 3;
                for (int c = 0; c < 3; ++c) {
                    const float *log_irr = a.out_log + c * plane + offset;
                    const float *albedo = a.packed + (SSR_PACK_PLANE_ALBEDO + c) * plane + offset;
                    for (int64_t k = 0; k < m; ++k) {
                        const float irradiance = fast_exp(std::min(log_irr[k], SSR_STAGE_LOG_MAX)) - 1.0f;
                        const float radiance = irradiance * (albedo[k] + SSR_PACK_ALBEDO_EPS);
                        target[3 * k + c] = radiance > 0.0f ? radiance : 0.0f;
                    }
                }
            }
        }
    }
}

/// SSR_PACK_OK, SSR_PACK_ERROR_NULL_POINTER (no struct, a NULL array) or
/// SSR_PACK_ERROR_INVALID_SIZE (a width outside 1 .. SSR_STAGE_MAX_WIDTH, a bad kernel size,
/// signal_planes neither 0, 4 nor 7, a view_floor negative or not finite, a history_cap
/// neither 0 nor finite and >= SSR_STAGE_HISTORY_CAP_MIN).
int check_weights(const ssr_stage_weights *w) {
    if (w == nullptr) {
        return SSR_PACK_ERROR_NULL_POINTER;
    }
    const float *pointers[] = {w->ref_w1, w->ref_b1, w->ref_w2, w->ref_b2, w->emb_w1,  w->emb_b1, w->emb_w2, w->emb_b2,
                               w->enc0_w, w->enc0_b, w->down1_w, w->down1_b, w->dec0_w, w->dec0_b, w->head_w, w->head_b};
    for (const float *pointer : pointers) {
        if (pointer == nullptr) {
            return SSR_PACK_ERROR_NULL_POINTER;
        }
    }
    const int32_t widths[4] = {w->hidden, w->embed, w->guide, w->down};
    for (int32_t value : widths) {
        if (value < 1 || value > SSR_STAGE_MAX_WIDTH) {
            return SSR_PACK_ERROR_INVALID_SIZE;
        }
    }
    if (signal_planes_of(*w) != SSR_STAGE_SIGNAL_PLANES && signal_planes_of(*w) != SSR_STAGE_DUAL_SIGNAL_PLANES) {
        return SSR_PACK_ERROR_INVALID_SIZE;
    }
    if (!(w->view_floor >= 0.0f && w->view_floor <= std::numeric_limits<float>::max())) {
        return SSR_PACK_ERROR_INVALID_SIZE;
    }
    if (!(w->history_cap == 0.0f || (w->history_cap >= SSR_STAGE_HISTORY_CAP_MIN &&
                                      w->history_cap <= std::numeric_limits<float>::max()))) {
        return SSR_PACK_ERROR_INVALID_SIZE;
    }
    return (w->kernel_size >= 1 && w->kernel_size <= 7 && w->kernel_size % 2 == 1) ? SSR_PACK_OK
                                                                                      : SSR_PACK_ERROR_INVALID_SIZE;
}

/// Row bands on even boundaries (the 2x2 stages read row pairs within one band).
std::vector<RowBand> even_bands(int64_t height, int count) {
    std::vector<RowBand> bands = split_rows(height / 2, count);
    for (RowBand &band : bands) {
        band.row_begin *= 2;
        band.row_end *= 2;
    }
    return bands;
}

/// True when any output range overlaps any input range or another output.
bool any_overlap(const void *const *outputs, const std::size_t *output_bytes, int output_count,
                 const void *const *inputs, const std::size_t *input_bytes, int input_count) {
    for (int o = 0; o < output_count; ++o) {
        for (int i = 0; i < input_count; ++i) {
            if (inputs[i] != nullptr && ranges_overlap(outputs[o], output_bytes[o], inputs[i], input_bytes[i])) {
                return true;
            }
        }
        for (int p = o + 1; p < output_count; ++p) {
            if (ranges_overlap(outputs[o], output_bytes[o], outputs[p], output_bytes[p])) {
                return true;
            }
        }
    }
    return false;
}

}  // namespace

extern "C" {

int ssr_stage_accumulate(const float *packed, const float *acc, const float *prev_out, int reset, int64_t height,
                         int64_t width, int64_t frame_height, int64_t frame_width, const ssr_stage_weights *weights,
                         float *acc_new, float *guide, float *prev, float *down, float *prev_half, float *signal_half,
                         float *history_valid, int num_threads) {
    if (height < 0 || width < 0 || height % 2 || width % 2) {
        return SSR_PACK_ERROR_INVALID_SIZE;
    }
    if (height > 0 && width > 0 &&
        (frame_height < 1 || frame_width < 1 || frame_height > height || frame_width > width)) {
        return SSR_PACK_ERROR_INVALID_SIZE;
    }
    if (num_threads < 0) {
        return SSR_PACK_ERROR_INVALID_THREADS;
    }
    if (height == 0 || width == 0) {
        return SSR_PACK_OK;
    }
    if (packed == nullptr || acc_new == nullptr || guide == nullptr || prev == nullptr || down == nullptr ||
        prev_half == nullptr || signal_half == nullptr || (!reset && (acc == nullptr || prev_out == nullptr))) {
        return SSR_PACK_ERROR_NULL_POINTER;
    }
    if (const int status = check_weights(weights); status != SSR_PACK_OK) {
        return status;
    }
    const bool rule = weights->history_cap > 0.0f;
    if (rule && history_valid == nullptr) {
        return SSR_PACK_ERROR_NULL_POINTER;
    }
    if (static_cast<uint64_t>(height) * static_cast<uint64_t>(width) >= (uint64_t{1} << 31)) {  // int32 plane indices
        return SSR_PACK_ERROR_INVALID_SIZE;
    }
    const std::size_t plane = static_cast<std::size_t>(height * width) * sizeof(float), half = plane / 4;
    const void *inputs[3] = {packed, reset ? nullptr : acc, reset ? nullptr : prev_out};
    const std::size_t input_bytes[3] = {SSR_PACK_PLANES * plane, kState * plane, 3 * plane};
    const void *outputs[7] = {acc_new, guide, prev, down, prev_half, signal_half, rule ? history_valid : acc_new};
    const std::size_t output_bytes[7] = {kState * plane, static_cast<std::size_t>(weights->guide) * plane, 3 * plane,
                                         static_cast<std::size_t>(weights->down) * half, 3 * half,
                                         static_cast<std::size_t>(signal_planes_of(*weights)) * half,
                                         rule ? plane : 0};
    if (any_overlap(outputs, output_bytes, 7, inputs, input_bytes, 3)) {
        return SSR_PACK_ERROR_ALIASING;
    }
    try {
        // down1_w [c1, 34, 2, 2] -> [c1, (dy, dx, plane)], the order of the split rows
        std::vector<float> down_weights(static_cast<std::size_t>(weights->down * 4 * kFeatures));
        for (int o = 0; o < weights->down; ++o) {
            for (int i = 0; i < kFeatures; ++i) {
                for (int t = 0; t < 4; ++t) {
                    down_weights[static_cast<std::size_t>((o * 4 + t) * kFeatures + i)] =
                        weights->down1_w[(o * kFeatures + i) * 4 + t];
                }
            }
        }
        const AccumulateArgs args{packed, acc,  prev_out, reset != 0, height, width, frame_height, frame_width, weights,
                                  down_weights.data(), acc_new, guide, prev, down, prev_half, signal_half,
                                  rule ? history_valid : nullptr};
        const int thread_count = std::min<int>(ssr_pack_resolve_threads(num_threads, height, width),
                                               static_cast<int>(std::max<int64_t>(height / 2, 1)));
        const std::vector<RowBand> bands = even_bands(height, thread_count);
        const bool done =
            run_bands(thread_count, [&](int band) { accumulate_rows(args, bands[static_cast<std::size_t>(band)]); });
        return done ? SSR_PACK_OK : SSR_PACK_ERROR_INTERNAL;
    } catch (...) {
        return SSR_PACK_ERROR_INTERNAL;
    }
}

int ssr_stage_resolve(const float *coarse, const float *carry, const float *guide, const float *prev,
                      const float *acc_new, const float *packed, const float *history_valid, int reset,
                      int64_t height, int64_t width, int64_t out_height, int64_t out_width,
                      const ssr_stage_weights *weights, float *out_log, float *color, int num_threads) {
    if (height < 0 || width < 0 || height % 2 || width % 2 || out_height < 0 || out_width < 0 ||
        out_height > height || out_width > width) {
        return SSR_PACK_ERROR_INVALID_SIZE;
    }
    if (num_threads < 0) {
        return SSR_PACK_ERROR_INVALID_THREADS;
    }
    if (height == 0 || width == 0) {
        return SSR_PACK_OK;
    }
    if (coarse == nullptr || carry == nullptr || guide == nullptr || prev == nullptr || acc_new == nullptr ||
        packed == nullptr || out_log == nullptr || color == nullptr) {
        return SSR_PACK_ERROR_NULL_POINTER;
    }
    if (const int status = check_weights(weights); status != SSR_PACK_OK) {
        return status;
    }
    if ((weights->history_cap > 0.0f) != (history_valid != nullptr)) {  // the rule history's plane, only there
        return SSR_PACK_ERROR_NULL_POINTER;
    }
    if (static_cast<uint64_t>(height) * static_cast<uint64_t>(width) >= (uint64_t{1} << 31)) {
        return SSR_PACK_ERROR_INVALID_SIZE;
    }
    const std::size_t plane = static_cast<std::size_t>(height * width) * sizeof(float), half = plane / 4;
    const void *inputs[7] = {coarse, carry, guide, prev, acc_new, packed, history_valid};
    const std::size_t input_bytes[7] = {3 * half, static_cast<std::size_t>(signal_planes_of(*weights)) * half,
                                        static_cast<std::size_t>(weights->guide) * plane, 3 * plane, kState * plane,
                                        SSR_PACK_PLANES * plane, plane};
    const void *outputs[2] = {out_log, color};
    const std::size_t output_bytes[2] = {3 * plane, static_cast<std::size_t>(out_height * out_width) * 3 * sizeof(float)};
    if (any_overlap(outputs, output_bytes, 2, inputs, input_bytes, 7)) {
        return SSR_PACK_ERROR_ALIASING;
    }
    const ResolveArgs args{coarse, carry,     guide,     prev,    acc_new, packed, history_valid, reset != 0,
                           height, width,     out_height, out_width, weights, out_log, color};
    try {
        const int thread_count = ssr_pack_resolve_threads(num_threads, height, width);
        const std::vector<RowBand> bands = split_rows(height, thread_count);
        const bool done =
            run_bands(thread_count, [&](int band) { resolve_rows(args, bands[static_cast<std::size_t>(band)]); });
        return done ? SSR_PACK_OK : SSR_PACK_ERROR_INTERNAL;
    } catch (...) {
        return SSR_PACK_ERROR_INTERNAL;
    }
}

}  // extern "C"
