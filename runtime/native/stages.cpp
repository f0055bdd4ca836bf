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
#include "ssr_pack.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define SSR_HOT __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define SSR_HOT
#endif

namespace {

using ssr_native::RowBand;
using ssr_native::run_bands;
using ssr_native::split_rows;
using ssr_native::fast_exp;
using ssr_native::fast_log1p;

constexpr int64_t kChunk = 256;
constexpr int kState = SSR_PACK_STATE_PLANES;              // 14
constexpr int kTransparent = 3;
constexpr int kRefInputs = kState + kTransparent;          // 17
constexpr int kMaskPlane = SSR_PACK_PLANE_MASK;            // 13
constexpr int kSignalPlanes[4] = {0, 1, 2, kMaskPlane};

bool ranges_overlap(const void *a, std::size_t a_bytes, const void *b, std::size_t b_bytes) {
    const auto a_begin = reinterpret_cast<std::uintptr_t>(a);
    const auto b_begin = reinterpret_cast<std::uintptr_t>(b);
    return a_begin < b_begin + b_bytes && b_begin < a_begin + a_bytes;
}

/// out[o][k] = b[o] + sum_i w[o, i] * in[i][k] for k < n (ReLU when asked); out planes of kChunk.
/// Blocks of kLanes pixels keep every output's sum in a vector register (one store per
/// output): GCC / Clang vector extensions, lowered to AVX2 or SSE2 per clone.
constexpr int64_t kLanes = 8;
typedef float Lanes __attribute__((vector_size(kLanes * sizeof(float))));

inline Lanes load_lanes(const float *source) {
    Lanes value;
    std::memcpy(&value, source, sizeof(value));
    return value;
}

inline void dense(const float *const *in, int in_channels, const float *w, const float *b, int out_channels,
                  float *out, int64_t n, bool relu) {
    const int64_t blocked = n - n % kLanes;
    const Lanes zero = {};
    for (int64_t k0 = 0; k0 < blocked; k0 += kLanes) {
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
            std::memcpy(out + o * kChunk + k0, &s0, sizeof(s0));
            std::memcpy(out + (o + 1) * kChunk + k0, &s1, sizeof(s1));
            std::memcpy(out + (o + 2) * kChunk + k0, &s2, sizeof(s2));
            std::memcpy(out + (o + 3) * kChunk + k0, &s3, sizeof(s3));
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
            std::memcpy(out + o * kChunk + k0, &sum, sizeof(sum));
        }
    }
    for (int o = 0; o < out_channels; ++o) {  // the last n % kLanes pixels
        for (int64_t k = blocked; k < n; ++k) {
            float sum = b[o];
            for (int i = 0; i < in_channels; ++i) {
                sum += w[o * in_channels + i] * in[i][k];
            }
            out[o * kChunk + k] = relu ? (sum > 0.0f ? sum : 0.0f) : sum;
        }
    }
}

/// log view of 14 state planes (chunk-strided `src`) into `dst` rows: planes 0-2
/// log1p(A_irr / max(A_mask, floor)), the rest copied, all clamped to +-VIEW_BOUND.
inline void log_view(const float *const *src, float *const *dst, int64_t n) {
    const float *mask = src[kMaskPlane];
    for (int c = 0; c < kState; ++c) {
        const float *s = src[c];
        float *d = dst[c];
        if (c < 3) {
            for (int64_t k = 0; k < n; ++k) {
                const float den = mask[k] > SSR_STAGE_MASK_FLOOR ? mask[k] : SSR_STAGE_MASK_FLOOR;
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

/// Bilinear taps of the backward warp for pixels x0 .. x0+n-1 of row y (as ssr_warp_planes).
struct WarpTaps {
    std::vector<int32_t> index[4];  // within one plane (H * W < 2^31, checked by the callers)
    std::vector<float> weight[4];
    explicit WarpTaps(std::size_t n) {
        for (int t = 0; t < 4; ++t) {
            index[t].assign(n, 0);
            weight[t].assign(n, 0.0f);
        }
    }
    void compute(const float *motion_x, const float *motion_y, int64_t y, int64_t x0, int64_t n, int64_t height,
                 int64_t width) {
        for (int64_t k = 0; k < n; ++k) {
            const std::size_t i = static_cast<std::size_t>(k);
            const int64_t pixel = y * width + x0 + k;
            const float sx = static_cast<float>(x0 + k) + motion_x[pixel];
            const float sy = static_cast<float>(y) + motion_y[pixel];
            if (!std::isfinite(sx) || !std::isfinite(sy)) {
                for (int t = 0; t < 4; ++t) {
                    index[t][i] = 0;
                    weight[t][i] = 0.0f;
                }
                continue;
            }
            const float fx0 = std::floor(sx), fy0 = std::floor(sy);
            const float wx1 = sx - fx0, wy1 = sy - fy0;
            const float wx0 = 1.0f - wx1, wy0 = 1.0f - wy1;
            const int64_t xa = static_cast<int64_t>(std::max(std::min(fx0, 1e15f), -1e15f));
            const int64_t ya = static_cast<int64_t>(std::max(std::min(fy0, 1e15f), -1e15f));
            const bool in_x0 = xa >= 0 && xa < width, in_x1 = xa + 1 >= 0 && xa + 1 < width;
            const bool in_y0 = ya >= 0 && ya < height, in_y1 = ya + 1 >= 0 && ya + 1 < height;
            weight[0][i] = (in_x0 && in_y0) ? wx0 * wy0 : 0.0f;
            weight[1][i] = (in_x1 && in_y0) ? wx1 * wy0 : 0.0f;
            weight[2][i] = (in_x0 && in_y1) ? wx0 * wy1 : 0.0f;
            weight[3][i] = (in_x1 && in_y1) ? wx1 * wy1 : 0.0f;
            const int64_t cx0 = std::min<int64_t>(std::max<int64_t>(xa, 0), width - 1);
            const int64_t cx1 = std::min<int64_t>(std::max<int64_t>(xa + 1, 0), width - 1);
            const int64_t cy0 = std::min<int64_t>(std::max<int64_t>(ya, 0), height - 1);
            const int64_t cy1 = std::min<int64_t>(std::max<int64_t>(ya + 1, 0), height - 1);
            index[0][i] = static_cast<int32_t>(cy0 * width + cx0);
            index[1][i] = static_cast<int32_t>(cy0 * width + cx1);
            index[2][i] = static_cast<int32_t>(cy1 * width + cx0);
            index[3][i] = static_cast<int32_t>(cy1 * width + cx1);
        }
    }
    void sample(const float *plane, float *out, int64_t n) const {
        const int32_t *i0 = index[0].data(), *i1 = index[1].data(), *i2 = index[2].data(), *i3 = index[3].data();
        const float *w0 = weight[0].data(), *w1 = weight[1].data(), *w2 = weight[2].data(), *w3 = weight[3].data();
        for (int64_t k = 0; k < n; ++k) {
            out[k] = w0[k] * plane[i0[k]] + w1[k] * plane[i1[k]] + w2[k] * plane[i2[k]] + w3[k] * plane[i3[k]];
        }
    }
};

struct AccumulateArgs {
    const float *packed;
    const float *acc;
    const float *prev_out;
    bool reset;
    int64_t height;
    int64_t width;
    const ssr_tfa_weights *weights;
    float *acc_new;
    float *features;
    float *signal_half;
};

SSR_HOT void accumulate_rows(const AccumulateArgs &a, RowBand rows) {
    const int64_t width = a.width, plane = a.height * a.width;
    const int hidden = a.weights->hidden, embed = a.weights->embed;
    std::vector<float> scratch(static_cast<std::size_t>((3 + 2 * kState + hidden + 3 * embed + 2) * kChunk), 0.0f);
    float *x_linear = scratch.data();                 // [3][kChunk]
    float *history = x_linear + 3 * kChunk;           // [14][kChunk]
    float *history_view = history + kState * kChunk;  // [14][kChunk]
    float *hidden_buf = history_view + kState * kChunk;
    float *e_ref = hidden_buf + hidden * kChunk;
    float *e_cur = e_ref + embed * kChunk;
    float *e_prev = e_cur + embed * kChunk;
    float *beta = e_prev + embed * kChunk;
    WarpTaps taps(static_cast<std::size_t>(kChunk));
    const float *motion_x = a.packed + SSR_PACK_PLANE_MOTION * plane;
    const float *motion_y = motion_x + plane;
    const float *in[kRefInputs];
    const float *view_in[kState];
    float *history_rows[kState];
    const float *history_const[kState];
    float *view_rows[kState];
    const float *acc_rows[kState];
    float *feature_view[kState];
    for (int c = 0; c < kState; ++c) {
        history_rows[c] = history + c * kChunk;
        history_const[c] = history_rows[c];
        view_rows[c] = history_view + c * kChunk;
        view_in[c] = view_rows[c];
    }
    for (int64_t y = rows.row_begin; y < rows.row_end; ++y) {
        for (int64_t x0 = 0; x0 < width; x0 += kChunk) {
            const int64_t n = std::min(kChunk, width - x0);
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
            if (a.reset) {
                for (int c = 0; c < kState; ++c) {
                    const float *src = c < 3 ? x_linear + c * kChunk : in[c];
                    std::copy(src, src + n, history_rows[c]);
                }
            } else {
                taps.compute(motion_x, motion_y, y, x0, n, a.height, width);
                for (int c = 0; c < kState; ++c) {
                    taps.sample(a.acc + c * plane, history_rows[c], n);
                }
            }
            log_view(history_const, view_rows, n);
            // TFA scores: s = <e_ref, e_cur> - <e_ref, e_prev>, beta = sigmoid(s)
            const ssr_tfa_weights &w = *a.weights;
            dense(in, kRefInputs, w.ref_w1, w.ref_b1, hidden, hidden_buf, n, true);
            const float *hidden_in[SSR_STAGE_MAX_WIDTH];
            for (int j = 0; j < hidden; ++j) {
                hidden_in[j] = hidden_buf + j * kChunk;
            }
            dense(hidden_in, hidden, w.ref_w2, w.ref_b2, embed, e_ref, n, false);
            dense(in, kState, w.emb_w1, w.emb_b1, hidden, hidden_buf, n, true);
            dense(hidden_in, hidden, w.emb_w2, w.emb_b2, embed, e_cur, n, false);
            dense(view_in, kState, w.emb_w1, w.emb_b1, hidden, hidden_buf, n, true);
            dense(hidden_in, hidden, w.emb_w2, w.emb_b2, embed, e_prev, n, false);
            float *s_prev = beta + kChunk;  // scratch row
            for (int64_t k = 0; k < n; ++k) {
                beta[k] = 0.0f;
                s_prev[k] = 0.0f;
            }
            for (int j = 0; j < embed; ++j) {
                const float *r = e_ref + j * kChunk, *cu = e_cur + j * kChunk, *pr = e_prev + j * kChunk;
                for (int64_t k = 0; k < n; ++k) {
                    beta[k] += r[k] * cu[k];
                    s_prev[k] += r[k] * pr[k];
                }
            }
            for (int64_t k = 0; k < n; ++k) {
                beta[k] = 1.0f / (1.0f + fast_exp(-(beta[k] - s_prev[k])));
            }
            // A_t = (1 - beta) * history + beta * x_values -> acc_new
            for (int c = 0; c < kState; ++c) {
                const float *x_values = c < 3 ? x_linear + c * kChunk : in[c];
                const float *h = history_rows[c];
                float *dst = a.acc_new + c * plane + offset;
                for (int64_t k = 0; k < n; ++k) {
                    dst[k] = (1.0f - beta[k]) * h[k] + beta[k] * x_values[k];
                }
                acc_rows[c] = dst;
            }
            // features: x_t, log view of A_t, transparent, warped previous output
            for (int c = 0; c < kState; ++c) {
                std::copy(in[c], in[c] + n, a.features + c * plane + offset);
                feature_view[c] = a.features + (kState + c) * plane + offset;
            }
            log_view(acc_rows, feature_view, n);
            for (int c = 0; c < kTransparent; ++c) {
                std::copy(in[kState + c], in[kState + c] + n, a.features + (2 * kState + c) * plane + offset);
            }
            for (int c = 0; c < 3; ++c) {
                float *dst = a.features + (SSR_STAGE_FEATURE_PREV + c) * plane + offset;
                if (a.reset) {
                    std::copy(feature_view[c], feature_view[c] + n, dst);
                } else {
                    taps.sample(a.prev_out + c * plane, dst, n);
                }
            }
        }
        if (y % 2 == 1) {  // both rows of a 2x2 block are written: pool the signal
            const int64_t half_w = width / 2, half_plane = (a.height / 2) * half_w;
            for (int s = 0; s < SSR_STAGE_SIGNAL_PLANES; ++s) {
                const float *top = a.acc_new + kSignalPlanes[s] * plane + (y - 1) * width;
                const float *bottom = top + width;
                float *dst = a.signal_half + s * half_plane + (y / 2) * half_w;
                for (int64_t k = 0; k < half_w; ++k) {
                    dst[k] = (top[2 * k] + top[2 * k + 1] + bottom[2 * k] + bottom[2 * k + 1]) / 4.0f;
                }
            }
        }
    }
}

struct ResolveArgs {
    const float *head;
    int side;
    const float *carry;
    const float *acc_new;
    const float *features;
    const float *packed;
    bool reset;
    int64_t height;
    int64_t width;
    int64_t out_height;
    int64_t out_width;
    float *out_log;
    float *color;
};

/// PyTorch's bilinear x2 source index (align_corners=False): index, neighbour, weight of the neighbour.
template <typename Index>
inline void upsample_source(int64_t dst, int64_t in_size, Index &i0, Index &i1, float &lambda) {
    float src = 0.5f * (static_cast<float>(dst) + 0.5f) - 0.5f;
    src = src < 0.0f ? 0.0f : src;
    i0 = static_cast<Index>(src);
    i1 = static_cast<Index>(i0 + (i0 < in_size - 1 ? 1 : 0));
    lambda = src - static_cast<float>(i0);
}

SSR_HOT void resolve_rows(const ResolveArgs &a, RowBand rows) {
    const int64_t width = a.width, height = a.height, plane = height * width;
    const int side = a.side, radius = side / 2, taps = side * side;
    const int64_t half_w = width / 2, half_h = height / 2, half_plane = half_h * half_w;
    std::vector<float> scratch(static_cast<std::size_t>((taps + 8) * kChunk), 0.0f);
    float *weights = scratch.data();                 // [taps][kChunk]
    float *filtered = weights + taps * kChunk;       // [4][kChunk]
    float *maximum = filtered + 4 * kChunk;
    float *total = maximum + kChunk;
    std::vector<int32_t> col0(static_cast<std::size_t>(kChunk)), col1(col0.size());
    std::vector<float> col_lambda(col0.size());
    const float *signal[4];
    for (int s = 0; s < 4; ++s) {
        signal[s] = a.acc_new + kSignalPlanes[s] * plane;
    }
    const float *motion_x = a.packed + SSR_PACK_PLANE_MOTION * plane;
    const float *motion_y = motion_x + plane;
    for (int64_t y = rows.row_begin; y < rows.row_end; ++y) {
        int64_t row0 = 0, row1 = 0;
        float row_lambda = 0.0f;
        upsample_source(y, half_h, row0, row1, row_lambda);
        for (int64_t x0 = 0; x0 < width; x0 += kChunk) {
            const int64_t n = std::min(kChunk, width - x0);
            const int64_t offset = y * width + x0;
            // softmax over the taps: exp(x - max) / sum
            for (int64_t k = 0; k < n; ++k) {
                maximum[k] = -std::numeric_limits<float>::infinity();
                total[k] = 0.0f;
            }
            for (int t = 0; t < taps; ++t) {
                const float *logit = a.head + t * plane + offset;
                for (int64_t k = 0; k < n; ++k) {
                    maximum[k] = std::max(maximum[k], logit[k]);
                }
            }
            for (int t = 0; t < taps; ++t) {
                const float *logit = a.head + t * plane + offset;
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
            // per-pixel kernel over (A_irr, A_mask); out-of-frame taps read 0
            for (int s = 0; s < 4; ++s) {
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
                    const float *src = signal[s] + yy * width + x0 + dx;
                    const float *wt = weights + t * kChunk;
                    for (int64_t k = k_begin; k < k_end; ++k) {
                        f[k] += wt[k] * src[k];
                    }
                }
            }
            // blend with the upsampled coarser scale
            for (int64_t k = 0; k < n; ++k) {
                upsample_source(x0 + k, half_w, col0[static_cast<std::size_t>(k)], col1[static_cast<std::size_t>(k)],
                                col_lambda[static_cast<std::size_t>(k)]);
            }
            const float *blend_logit = a.head + taps * plane + offset;
            for (int s = 0; s < 4; ++s) {
                const float *top = a.carry + s * half_plane + row0 * half_w;
                const float *bottom = a.carry + s * half_plane + row1 * half_w;
                float *f = filtered + s * kChunk;
                for (int64_t k = 0; k < n; ++k) {
                    const std::size_t i = static_cast<std::size_t>(k);
                    const float l1 = col_lambda[i], l0 = 1.0f - l1;
                    const float coarse = (1.0f - row_lambda) * (l0 * top[col0[i]] + l1 * top[col1[i]]) +
                                         row_lambda * (l0 * bottom[col0[i]] + l1 * bottom[col1[i]]);
                    const float b = 1.0f / (1.0f + fast_exp(-blend_logit[k]));
                    f[k] = f[k] + b * (coarse - f[k]);
                }
            }
            // the warped previous output, weighted by softplus(logit) * coverage
            if (!a.reset) {
                const float *history_logit = a.head + (taps + 1) * plane + offset;
                const float fw = static_cast<float>(width), fh = static_cast<float>(height);
                for (int64_t k = 0; k < n; ++k) {
                    const int64_t pixel = offset + k;
                    const float u = static_cast<float>(x0 + k) + motion_x[pixel];
                    const float v = static_cast<float>(y) + motion_y[pixel];
                    const float cover_x = std::min(std::max(std::min(u + 1.0f, fw - u), 0.0f), 1.0f);
                    const float cover_y = std::min(std::max(std::min(v + 1.0f, fh - v), 0.0f), 1.0f);
                    const float coverage = cover_x * cover_y;
                    const float logit = history_logit[k];
                    const float softplus = logit > 20.0f ? logit : fast_log1p(fast_exp(logit));
                    const float weight = softplus * coverage;
                    const float floor = coverage > SSR_STAGE_COVERAGE_FLOOR ? coverage : SSR_STAGE_COVERAGE_FLOOR;
                    for (int c = 0; c < 3; ++c) {
                        const float prev = a.features[(SSR_STAGE_FEATURE_PREV + c) * plane + pixel] / floor;
                        const float previous = fast_exp(std::min(prev, SSR_STAGE_LOG_MAX)) - 1.0f;
                        filtered[c * kChunk + k] += weight * previous;
                    }
                    filtered[3 * kChunk + k] += weight;
                }
            }
            // out_log = log1p(num / den); colour = remodulated, clamped, HWC (cropped)
            const float *den = filtered + 3 * kChunk;
            for (int c = 0; c < 3; ++c) {
                const float *num = filtered + c * kChunk;
                float *dst = a.out_log + c * plane + offset;
                for (int64_t k = 0; k < n; ++k) {
                    const float d = den[k] > SSR_STAGE_MASK_FLOOR ? den[k] : SSR_STAGE_MASK_FLOOR;
                    dst[k] = fast_log1p(num[k] / d);
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

bool valid_weights(const ssr_tfa_weights *w) {
    return w != nullptr && w->hidden >= 1 && w->hidden <= SSR_STAGE_MAX_WIDTH && w->embed >= 1 &&
           w->embed <= SSR_STAGE_MAX_WIDTH && w->ref_w1 && w->ref_b1 && w->ref_w2 && w->ref_b2 && w->emb_w1 &&
           w->emb_b1 && w->emb_w2 && w->emb_b2;
}

/// Row bands on even boundaries (the signal pooling reads row pairs within one band).
std::vector<RowBand> even_bands(int64_t height, int count) {
    std::vector<RowBand> bands = split_rows(height / 2, count);
    for (RowBand &band : bands) {
        band.row_begin *= 2;
        band.row_end *= 2;
    }
    return bands;
}

}  // namespace

extern "C" {

int ssr_stage_accumulate(const float *packed, const float *acc, const float *prev_out, int reset, int64_t height,
                         int64_t width, const ssr_tfa_weights *weights, float *acc_new, float *features,
                         float *signal_half, int num_threads) {
    if (height < 0 || width < 0 || height % 2 || width % 2) {
        return SSR_PACK_ERROR_INVALID_SIZE;
    }
    if (num_threads < 0) {
        return SSR_PACK_ERROR_INVALID_THREADS;
    }
    if (height == 0 || width == 0) {
        return SSR_PACK_OK;
    }
    if (packed == nullptr || acc_new == nullptr || features == nullptr || signal_half == nullptr ||
        (!reset && (acc == nullptr || prev_out == nullptr)) || !valid_weights(weights)) {
        return SSR_PACK_ERROR_NULL_POINTER;
    }
    if (static_cast<uint64_t>(height) * static_cast<uint64_t>(width) >= (uint64_t{1} << 31)) {  // int32 plane indices
        return SSR_PACK_ERROR_INVALID_SIZE;
    }
    const std::size_t plane = static_cast<std::size_t>(height * width) * sizeof(float);
    const void *inputs[3] = {packed, reset ? nullptr : acc, reset ? nullptr : prev_out};
    const std::size_t input_bytes[3] = {SSR_PACK_PLANES * plane, kState * plane, 3 * plane};
    void *outputs[3] = {acc_new, features, signal_half};
    const std::size_t output_bytes[3] = {kState * plane, SSR_STAGE_FEATURE_PLANES * plane, plane};
    for (int o = 0; o < 3; ++o) {
        for (int i = 0; i < 3; ++i) {
            if (inputs[i] != nullptr && ranges_overlap(outputs[o], output_bytes[o], inputs[i], input_bytes[i])) {
                return SSR_PACK_ERROR_ALIASING;
            }
        }
        for (int p = o + 1; p < 3; ++p) {
            if (ranges_overlap(outputs[o], output_bytes[o], outputs[p], output_bytes[p])) {
                return SSR_PACK_ERROR_ALIASING;
            }
        }
    }
    const AccumulateArgs args{packed, acc, prev_out, reset != 0, height, width, weights, acc_new, features, signal_half};
    try {
        const int thread_count = std::min<int>(ssr_pack_resolve_threads(num_threads, height, width),
                                               static_cast<int>(std::max<int64_t>(height / 2, 1)));
        const std::vector<RowBand> bands = even_bands(height, thread_count);
        const bool done = run_bands(thread_count, [&](int band) { accumulate_rows(args, bands[static_cast<std::size_t>(band)]); });
        return done ? SSR_PACK_OK : SSR_PACK_ERROR_INTERNAL;
    } catch (...) {
        return SSR_PACK_ERROR_INTERNAL;
    }
}

int ssr_stage_resolve(const float *head, int32_t kernel_size, const float *carry, const float *acc_new,
                      const float *features, const float *packed, int reset, int64_t height, int64_t width,
                      int64_t out_height, int64_t out_width, float *out_log, float *color, int num_threads) {
    if (height < 0 || width < 0 || height % 2 || width % 2 || out_height < 0 || out_width < 0 ||
        out_height > height || out_width > width || kernel_size < 1 || kernel_size > 7 || kernel_size % 2 == 0) {
        return SSR_PACK_ERROR_INVALID_SIZE;
    }
    if (num_threads < 0) {
        return SSR_PACK_ERROR_INVALID_THREADS;
    }
    if (height == 0 || width == 0) {
        return SSR_PACK_OK;
    }
    if (head == nullptr || carry == nullptr || acc_new == nullptr || features == nullptr || packed == nullptr ||
        out_log == nullptr || color == nullptr) {
        return SSR_PACK_ERROR_NULL_POINTER;
    }
    if (static_cast<uint64_t>(height) * static_cast<uint64_t>(width) >= (uint64_t{1} << 31)) {  // int32 plane indices
        return SSR_PACK_ERROR_INVALID_SIZE;
    }
    const std::size_t plane = static_cast<std::size_t>(height * width) * sizeof(float);
    const std::size_t color_bytes = static_cast<std::size_t>(out_height * out_width) * 3 * sizeof(float);
    const void *inputs[5] = {head, carry, acc_new, features, packed};
    const std::size_t input_bytes[5] = {static_cast<std::size_t>(kernel_size * kernel_size + 2) * plane, plane,
                                        kState * plane, SSR_STAGE_FEATURE_PLANES * plane, SSR_PACK_PLANES * plane};
    for (int i = 0; i < 5; ++i) {
        if (ranges_overlap(out_log, 3 * plane, inputs[i], input_bytes[i]) ||
            ranges_overlap(color, color_bytes, inputs[i], input_bytes[i])) {
            return SSR_PACK_ERROR_ALIASING;
        }
    }
    if (ranges_overlap(out_log, 3 * plane, color, color_bytes)) {
        return SSR_PACK_ERROR_ALIASING;
    }
    const ResolveArgs args{head,   kernel_size, carry,      acc_new,   features, packed, reset != 0,
                           height, width,       out_height, out_width, out_log,  color};
    try {
        const int thread_count = ssr_pack_resolve_threads(num_threads, height, width);
        const std::vector<RowBand> bands = split_rows(height, thread_count);
        const bool done = run_bands(thread_count, [&](int band) { resolve_rows(args, bands[static_cast<std::size_t>(band)]); });
        return done ? SSR_PACK_OK : SSR_PACK_ERROR_INTERNAL;
    } catch (...) {
        return SSR_PACK_ERROR_INTERNAL;
    }
}

}  // extern "C"
