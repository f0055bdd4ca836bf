// Row bands and the worker threads that run them, and the buffer-overlap test of the entry
// points: shared by pack.cpp and stages.cpp (internal, not part of the C API).
#ifndef SSR_NATIVE_BANDS_H
#define SSR_NATIVE_BANDS_H

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

namespace ssr_native {

/// One band of rows [row_begin, row_end) handled by one worker.
struct RowBand {
    int64_t row_begin;
    int64_t row_end;
};

/// Split `height` rows into `count` contiguous bands whose sizes differ by at most one.
inline std::vector<RowBand> split_rows(int64_t height, int count) {
    std::vector<RowBand> bands;
    bands.reserve(static_cast<std::size_t>(count));
    const int64_t base = height / count;
    const int64_t extra = height % count;
    int64_t row = 0;
    for (int index = 0; index < count; ++index) {
        const int64_t rows = base + (index < extra ? 1 : 0);
        bands.push_back({row, row + rows});
        row += rows;
    }
    return bands;
}

/// Run `work(band_index)` for every band: band 0 on the calling thread, the others on
/// std::thread workers. A worker that cannot be started runs on the calling thread
/// instead. Returns false when any call threw.
inline bool run_bands(int band_count, const std::function<void(int)> &work) {
    std::vector<std::thread> workers;
    std::vector<char> failed(static_cast<std::size_t>(band_count), 0);
    std::vector<int> inline_bands;
    auto guarded = [&work, &failed](int band) {
        try {
            work(band);
        } catch (...) {
            failed[static_cast<std::size_t>(band)] = 1;
        }
    };
    workers.reserve(static_cast<std::size_t>(band_count > 0 ? band_count - 1 : 0));
    for (int band = 1; band < band_count; ++band) {
        try {
            workers.emplace_back(guarded, band);
        } catch (...) {  // std::system_error: no more threads available
            inline_bands.push_back(band);
        }
    }
    if (band_count > 0) {
        guarded(0);
    }
    for (int band : inline_bands) {
        guarded(band);
    }
    for (std::thread &worker : workers) {
        worker.join();
    }
    return std::none_of(failed.begin(), failed.end(), [](char flag) { return flag != 0; });
}

/// True when the byte ranges [a, a + a_bytes) and [b, b + b_bytes) intersect.
inline bool ranges_overlap(const void *a, std::size_t a_bytes, const void *b, std::size_t b_bytes) {
    const auto a_begin = reinterpret_cast<std::uintptr_t>(a);
    const auto b_begin = reinterpret_cast<std::uintptr_t>(b);
    return a_begin < b_begin + b_bytes && b_begin < a_begin + a_bytes;
}

}  // namespace ssr_native

#endif  // SSR_NATIVE_BANDS_H
