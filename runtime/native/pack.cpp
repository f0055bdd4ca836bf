// Pure C++17 core of the SSR frame packer behind the C interface of ssr_pack.h.
//
// No Python here: bindings.cpp wraps this for `ssr._native`, engines link it directly.
// Layouts and plane encodings are documented in runtime/include/ssr_pack.h.

#include "ssr_pack.h"
#include "bands.h"
#include "warp_taps.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <limits>
#include <thread>
#include <vector>

namespace {

using ssr_native::RowBand;
using ssr_native::ranges_overlap;
using ssr_native::run_bands;
using ssr_native::split_rows;

constexpr int kDefaultThreadCap = 16;

/// Maximum of depth over depth > 0 in rows [row_begin, row_end); 0 when none.
/// NaN compares false and so never counts; +inf counts (as in the NumPy reference).
float band_depth_max(const float *depth, int64_t width, RowBand band) {
    float maximum = 0.0f;
    const float *end = depth + band.row_end * width;
    for (const float *value = depth + band.row_begin * width; value < end; ++value) {
        const float d = *value;
        if (d > 0.0f && d > maximum) {
            maximum = d;
        }
    }
    return maximum;
}

/// Copy the rows of one band from an interleaved [H, W, channels] layer into `channels`
/// consecutive planes of `out` starting at plane `first_plane` ([19, H, W]).
void transpose_band(const float *layer, int channels, float *out, int first_plane,
                    int64_t height, int64_t width, RowBand band) {
    const int64_t plane_size = height * width;
    for (int64_t y = band.row_begin; y < band.row_end; ++y) {
        const float *source = layer + y * width * channels;
        for (int c = 0; c < channels; ++c) {
            float *target = out + (first_plane + c) * plane_size + y * width;
            const float *column = source + c;
            for (int64_t x = 0; x < width; ++x) {
                target[x] = column[x * channels];
            }
        }
    }
}

/// Planes 0-5 of rows [band.row_begin, band.row_end) with a specular floor > 0: the
/// demodulation albedo a' = albedo + floor * clamp(1 - roughness) * clamp(1 - metallic)
/// (same float32 operation order as ssr.data_tools.contract.specular_floor_offset) in
/// planes 3-5, and log1p(color / (a' + eps)) where traced in planes 0-2.
void pack_floored_albedo_band(const ssr_frame_view &frame, float *out, float specular_floor, RowBand band) {
    const int64_t plane_size = frame.height * frame.width;
    const float eps = SSR_PACK_ALBEDO_EPS;
    for (int64_t y = band.row_begin; y < band.row_end; ++y) {
        const int64_t row = y * frame.width;
        for (int64_t x = 0; x < frame.width; ++x) {
            const int64_t pixel = row + x;
            const float smooth = std::clamp(1.0f - frame.roughness[pixel], 0.0f, 1.0f);
            const float dielectric = std::clamp(1.0f - frame.metallic[pixel], 0.0f, 1.0f);
            const float offset = specular_floor * smooth * dielectric;
            const bool traced = frame.mask[pixel] == 1.0f;
            for (int c = 0; c < 3; ++c) {
                const float albedo = frame.albedo[3 * pixel + c] + offset;
                out[(SSR_PACK_PLANE_ALBEDO + c) * plane_size + pixel] = albedo;
                out[(SSR_PACK_PLANE_IRRADIANCE + c) * plane_size + pixel] =
                    traced ? std::log1p(frame.color[3 * pixel + c] / (albedo + eps)) : 0.0f;
            }
        }
    }
}

/// Planes 0-5 of rows [band.row_begin, band.row_end) without a specular floor: the
/// G-buffer albedo copied into planes 3-5, log1p(color / (albedo + eps)) where traced in 0-2.
void pack_albedo_band(const ssr_frame_view &frame, float *out, RowBand band) {
    const int64_t height = frame.height;
    const int64_t width = frame.width;
    const int64_t plane_size = height * width;
    const float eps = SSR_PACK_ALBEDO_EPS;

    // planes 0-2: demodulated log irradiance where traced
    for (int64_t y = band.row_begin; y < band.row_end; ++y) {
        const int64_t row = y * width;
        const float *color = frame.color + row * 3;
        const float *albedo = frame.albedo + row * 3;
        const float *mask = frame.mask + row;
        float *irr_r = out + (SSR_PACK_PLANE_IRRADIANCE + 0) * plane_size + row;
        float *irr_g = out + (SSR_PACK_PLANE_IRRADIANCE + 1) * plane_size + row;
        float *irr_b = out + (SSR_PACK_PLANE_IRRADIANCE + 2) * plane_size + row;
        for (int64_t x = 0; x < width; ++x) {
            if (mask[x] == 1.0f) {
                irr_r[x] = std::log1p(color[3 * x + 0] / (albedo[3 * x + 0] + eps));
                irr_g[x] = std::log1p(color[3 * x + 1] / (albedo[3 * x + 1] + eps));
                irr_b[x] = std::log1p(color[3 * x + 2] / (albedo[3 * x + 2] + eps));
            } else {
                irr_r[x] = 0.0f;
                irr_g[x] = 0.0f;
                irr_b[x] = 0.0f;
            }
        }
    }
    transpose_band(frame.albedo, 3, out, SSR_PACK_PLANE_ALBEDO, height, width, band);
}

/// Pack rows [band.row_begin, band.row_end) of the frame into `out`.
void pack_band(const ssr_frame_view &frame, float *out, float max_depth, float specular_floor, RowBand band) {
    const int64_t height = frame.height;
    const int64_t width = frame.width;
    const int64_t plane_size = height * width;

    if (specular_floor > 0.0f) {
        pack_floored_albedo_band(frame, out, specular_floor, band);
    } else {
        pack_albedo_band(frame, out, band);
    }
    transpose_band(frame.normal, 3, out, SSR_PACK_PLANE_NORMAL, height, width, band);

    // plane 9: depth normalised by the frame's maximum valid depth
    for (int64_t y = band.row_begin; y < band.row_end; ++y) {
        const int64_t row = y * width;
        const float *depth = frame.depth + row;
        float *target = out + SSR_PACK_PLANE_DEPTH * plane_size + row;
        if (max_depth > 0.0f) {
            for (int64_t x = 0; x < width; ++x) {
                const float d = depth[x];
                target[x] = d > 0.0f ? d / max_depth : 0.0f;
            }
        } else {
            std::fill(target, target + width, 0.0f);
        }
    }

    transpose_band(frame.roughness, 1, out, SSR_PACK_PLANE_ROUGHNESS, height, width, band);
    transpose_band(frame.metallic, 1, out, SSR_PACK_PLANE_METALLIC, height, width, band);
    transpose_band(frame.shadow, 1, out, SSR_PACK_PLANE_SHADOW, height, width, band);
    transpose_band(frame.mask, 1, out, SSR_PACK_PLANE_MASK, height, width, band);
    transpose_band(frame.transparent, 3, out, SSR_PACK_PLANE_TRANSPARENT, height, width, band);
    transpose_band(frame.motion, 2, out, SSR_PACK_PLANE_MOTION, height, width, band);
}

}  // namespace

extern "C" {

int ssr_pack_default_threads(void) {
    const unsigned hardware = std::thread::hardware_concurrency();
    const int threads = hardware == 0 ? 1 : static_cast<int>(hardware);
    return std::clamp(threads, 1, kDefaultThreadCap);
}

int ssr_pack_resolve_threads(int requested, int64_t height, int64_t width) {
    if (requested < 0 || height <= 0 || width <= 0) {
        return 1;
    }
    int64_t threads = requested;
    if (requested == 0) {
        const int64_t pixels = height * width;
        const int64_t by_size = pixels / SSR_PACK_MIN_PIXELS_PER_THREAD;
        threads = std::min<int64_t>(ssr_pack_default_threads(), by_size);
    }
    threads = std::min<int64_t>(threads, SSR_PACK_MAX_THREADS);
    threads = std::min<int64_t>(threads, height);
    return static_cast<int>(std::max<int64_t>(threads, 1));
}

const char *ssr_pack_status_string(int status) {
    switch (status) {
        case SSR_PACK_OK:
            return "ok";
        case SSR_PACK_ERROR_NULL_POINTER:
            return "null pointer for the frame, an input layer or the output";
        case SSR_PACK_ERROR_INVALID_SIZE:
            return "invalid frame size (negative, or too large to address)";
        case SSR_PACK_ERROR_INVALID_THREADS:
            return "num_threads must be >= 0 (0 = automatic)";
        case SSR_PACK_ERROR_ALIASING:
            return "the output buffer overlaps an input buffer";
        case SSR_PACK_ERROR_INTERNAL:
            return "internal error while packing";
        case SSR_PACK_ERROR_INVALID_FLOOR:
            return "specular_floor must be a finite number >= 0";
        default:
            return "unknown ssr_pack status code";
    }
}

int ssr_pack_frame(const ssr_frame_view *frame, float *out, int num_threads) {
    return ssr_pack_frame_floored(frame, 0.0f, out, num_threads);
}

int ssr_pack_frame_floored(const ssr_frame_view *frame, float specular_floor, float *out, int num_threads) {
    if (frame == nullptr || out == nullptr) {
        return SSR_PACK_ERROR_NULL_POINTER;
    }
    if (!(specular_floor >= 0.0f && specular_floor <= std::numeric_limits<float>::max())) {
        return SSR_PACK_ERROR_INVALID_FLOOR;
    }
    const int64_t height = frame->height;
    const int64_t width = frame->width;
    if (height < 0 || width < 0) {
        return SSR_PACK_ERROR_INVALID_SIZE;
    }
    if (num_threads < 0) {
        return SSR_PACK_ERROR_INVALID_THREADS;
    }
    if (height == 0 || width == 0) {
        return SSR_PACK_OK;
    }
    // H * W * 19 floats must be addressable in bytes.
    const uint64_t max_elements =
        static_cast<uint64_t>(std::numeric_limits<std::ptrdiff_t>::max()) / sizeof(float) /
        SSR_PACK_PLANES;
    if (static_cast<uint64_t>(height) > max_elements / static_cast<uint64_t>(width)) {
        return SSR_PACK_ERROR_INVALID_SIZE;
    }

    const std::size_t pixels = static_cast<std::size_t>(height) * static_cast<std::size_t>(width);
    struct Input {
        const float *data;
        std::size_t channels;
    };
    const Input inputs[] = {
        {frame->color, 3},     {frame->albedo, 3},   {frame->normal, 3}, {frame->depth, 1},
        {frame->roughness, 1}, {frame->metallic, 1}, {frame->shadow, 1}, {frame->mask, 1},
        {frame->transparent, 3}, {frame->motion, 2},
    };
    const std::size_t out_bytes = pixels * SSR_PACK_PLANES * sizeof(float);
    for (const Input &input : inputs) {
        if (input.data == nullptr) {
            return SSR_PACK_ERROR_NULL_POINTER;
        }
        if (ranges_overlap(out, out_bytes, input.data, pixels * input.channels * sizeof(float))) {
            return SSR_PACK_ERROR_ALIASING;
        }
    }

    const int thread_count = ssr_pack_resolve_threads(num_threads, height, width);
    try {
        const std::vector<RowBand> bands = split_rows(height, thread_count);

        // pass 1: parallel reduction of the maximum valid depth
        std::vector<float> band_maxima(bands.size(), 0.0f);
        const bool reduced = run_bands(thread_count, [&](int band) {
            band_maxima[static_cast<std::size_t>(band)] =
                band_depth_max(frame->depth, width, bands[static_cast<std::size_t>(band)]);
        });
        if (!reduced) {
            return SSR_PACK_ERROR_INTERNAL;
        }
        float max_depth = 0.0f;
        for (float band_max : band_maxima) {
            max_depth = std::max(max_depth, band_max);
        }

        // pass 2: packing
        const bool packed = run_bands(thread_count, [&](int band) {
            pack_band(*frame, out, max_depth, specular_floor, bands[static_cast<std::size_t>(band)]);
        });
        return packed ? SSR_PACK_OK : SSR_PACK_ERROR_INTERNAL;
    } catch (...) {  // e.g. std::bad_alloc from the band vectors
        return SSR_PACK_ERROR_INTERNAL;
    }
}

int ssr_unpack_color(const float *planes, int64_t plane_stride, int64_t row_stride, int64_t height,
                     int64_t width, float *out, int num_threads) {
    if (planes == nullptr || out == nullptr) {
        return SSR_PACK_ERROR_NULL_POINTER;
    }
    if (height < 0 || width < 0 || row_stride < width || plane_stride < height * row_stride) {
        return SSR_PACK_ERROR_INVALID_SIZE;
    }
    if (num_threads < 0) {
        return SSR_PACK_ERROR_INVALID_THREADS;
    }
    if (height == 0 || width == 0) {
        return SSR_PACK_OK;
    }
    const uint64_t max_elements =
        static_cast<uint64_t>(std::numeric_limits<std::ptrdiff_t>::max()) / sizeof(float) / 3;
    if (static_cast<uint64_t>(height) > max_elements / static_cast<uint64_t>(width) ||
        static_cast<uint64_t>(plane_stride) > max_elements) {
        return SSR_PACK_ERROR_INVALID_SIZE;
    }
    const std::size_t out_bytes = static_cast<std::size_t>(height * width) * 3 * sizeof(float);
    const std::size_t in_bytes = static_cast<std::size_t>(3 * plane_stride) * sizeof(float);
    if (ranges_overlap(out, out_bytes, planes, in_bytes)) {
        return SSR_PACK_ERROR_ALIASING;
    }
    const int thread_count = ssr_pack_resolve_threads(num_threads, height, width);
    try {
        const std::vector<RowBand> bands = split_rows(height, thread_count);
        const bool done = run_bands(thread_count, [&](int band) {
            const RowBand rows = bands[static_cast<std::size_t>(band)];
            for (int64_t y = rows.row_begin; y < rows.row_end; ++y) {
                const float *r = planes + y * row_stride;
                const float *g = r + plane_stride;
                const float *b = g + plane_stride;
                float *target = out + y * width * 3;
                for (int64_t x = 0; x < width; ++x) {
                    target[3 * x + 0] = r[x] > 0.0f ? r[x] : 0.0f;
                    target[3 * x + 1] = g[x] > 0.0f ? g[x] : 0.0f;
                    target[3 * x + 2] = b[x] > 0.0f ? b[x] : 0.0f;
                }
            }
        });
        return done ? SSR_PACK_OK : SSR_PACK_ERROR_INTERNAL;
    } catch (...) {
        return SSR_PACK_ERROR_INTERNAL;
    }
}

int ssr_warp_planes(const float *src, int64_t channels, int64_t height, int64_t width, const float *motion_x,
                    const float *motion_y, float *out, int num_threads) {
    if (src == nullptr || motion_x == nullptr || motion_y == nullptr || out == nullptr) {
        return SSR_PACK_ERROR_NULL_POINTER;
    }
    if (channels < 0 || height < 0 || width < 0) {
        return SSR_PACK_ERROR_INVALID_SIZE;
    }
    if (num_threads < 0) {
        return SSR_PACK_ERROR_INVALID_THREADS;
    }
    if (channels == 0 || height == 0 || width == 0) {
        return SSR_PACK_OK;
    }
    const uint64_t max_elements =
        static_cast<uint64_t>(std::numeric_limits<std::ptrdiff_t>::max()) / sizeof(float);
    if (static_cast<uint64_t>(height) > max_elements / static_cast<uint64_t>(width) / static_cast<uint64_t>(channels)) {
        return SSR_PACK_ERROR_INVALID_SIZE;
    }
    if (static_cast<uint64_t>(height) * static_cast<uint64_t>(width) >= (uint64_t{1} << 31)) {  // int32 tap indices
        return SSR_PACK_ERROR_INVALID_SIZE;
    }
    const int64_t plane = height * width;
    const std::size_t bytes = static_cast<std::size_t>(channels * plane) * sizeof(float);
    if (ranges_overlap(out, bytes, src, bytes)) {
        return SSR_PACK_ERROR_ALIASING;
    }
    const int thread_count = ssr_pack_resolve_threads(num_threads, height, width);
    try {
        const std::vector<RowBand> bands = split_rows(height, thread_count);
        const bool done = run_bands(thread_count, [&](int band) {
            const RowBand rows = bands[static_cast<std::size_t>(band)];
            // per row: the four taps' indices and weights once, then every channel reuses them
            ssr_native::WarpTaps taps(static_cast<std::size_t>(width));
            for (int64_t y = rows.row_begin; y < rows.row_end; ++y) {
                taps.compute(motion_x, motion_y, y, 0, width, height, width);
                for (int64_t c = 0; c < channels; ++c) {
                    taps.sample_plane(src + c * plane, out + c * plane + y * width, width);
                }
            }
        });
        return done ? SSR_PACK_OK : SSR_PACK_ERROR_INTERNAL;
    } catch (...) {
        return SSR_PACK_ERROR_INTERNAL;
    }
}

}  // extern "C"
