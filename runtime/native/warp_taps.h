// Bilinear taps of the backward warp (docs/format.md motion, zeros outside the frame), shared by
// ssr_warp_planes (pack.cpp) and the native stages (stages.cpp); internal, not the C API.
#ifndef SSR_NATIVE_WARP_TAPS_H
#define SSR_NATIVE_WARP_TAPS_H

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace ssr_native {

/// The four taps (index within one plane, weight) of pixels x0 .. x0+n-1 of row y: a
/// sample at (x + motion_x, y + motion_y), taps outside the frame weigh 0 (their index is
/// clamped into it), a non-finite position samples 0. Indices are int32: H * W < 2^31.
/// The frame is the top-left frame_height x frame_width of the height x width planes
/// (default: all of them); a pixel of the border beyond it takes the taps of the frame pixel
/// it replicates (its row and column clamped into the frame), so that every per-pixel stage
/// computes that pixel's values there, as a replicate padding of the frame's results would.
struct WarpTaps {
    std::vector<int32_t> index[4];
    std::vector<float> weight[4];
    explicit WarpTaps(std::size_t n) {
        for (int t = 0; t < 4; ++t) {
            index[t].assign(n, 0);
            weight[t].assign(n, 0.0f);
        }
    }
    inline void compute(const float *motion_x, const float *motion_y, int64_t y, int64_t x0, int64_t n, int64_t height,
                 int64_t width, int64_t frame_height = -1, int64_t frame_width = -1) {
        const int64_t stride = width;
        if (frame_height > 0 && frame_width > 0) {
            height = std::min(height, frame_height);
            width = std::min(width, frame_width);
        }
        const int64_t row = std::min(y, height - 1);
        for (int64_t k = 0; k < n; ++k) {
            const std::size_t i = static_cast<std::size_t>(k);
            const int64_t column = std::min(x0 + k, width - 1);
            const int64_t pixel = row * stride + column;
            const float sx = static_cast<float>(column) + motion_x[pixel];
            const float sy = static_cast<float>(row) + motion_y[pixel];
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
            index[0][i] = static_cast<int32_t>(cy0 * stride + cx0);
            index[1][i] = static_cast<int32_t>(cy0 * stride + cx1);
            index[2][i] = static_cast<int32_t>(cy1 * stride + cx0);
            index[3][i] = static_cast<int32_t>(cy1 * stride + cx1);
        }
    }
    /// out[k] = the bilinear sample of `plane` for k < n.
    inline void sample_plane(const float *plane, float *out, int64_t n) const {
        const int32_t *i0 = index[0].data(), *i1 = index[1].data(), *i2 = index[2].data(), *i3 = index[3].data();
        const float *w0 = weight[0].data(), *w1 = weight[1].data(), *w2 = weight[2].data(), *w3 = weight[3].data();
        for (int64_t k = 0; k < n; ++k) {
            out[k] = w0[k] * plane[i0[k]] + w1[k] * plane[i1[k]] + w2[k] * plane[i2[k]] + w3[k] * plane[i3[k]];
        }
    }
};

}  // namespace ssr_native

#endif  // SSR_NATIVE_WARP_TAPS_H
