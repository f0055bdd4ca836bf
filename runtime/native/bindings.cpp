// nanobind glue of the leaf extension `ssr._native` around the C core (ssr_pack.h).
//
// The module imports nothing from Python (no NumPy): inputs arrive through nanobind's
// ndarray caster (NumPy, DLPack producers such as torch CPU tensors, buffer-protocol
// objects). Argument checks live here and raise ValueError naming the argument; the
// packing itself runs in pack.cpp with the GIL released.

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <limits>
#include <string>
#include <utility>
#include <vector>
#include <initializer_list>

#include "ssr_pack.h"
#include "ssr_stages.h"

#ifndef SSR_NATIVE_VERSION
#define SSR_NATIVE_VERSION "0.0.0+unknown"
#endif

namespace nb = nanobind;
using namespace nb::literals;

namespace {

/// Read-only float32 CPU input, made C-contiguous (a copy) by nanobind when it is not.
using InputArray = nb::ndarray<const float, nb::c_contig, nb::device::cpu>;
/// Writable float32 CPU output; never converted (a copy would be written and dropped),
/// shape and contiguity are checked below.
using OutputArray = nb::ndarray<float, nb::device::cpu>;

/// "(d0, d1, ...)" for an ndarray's shape.
template <typename Array>
std::string shape_string(const Array &array) {
    std::string text = "(";
    for (std::size_t axis = 0; axis < array.ndim(); ++axis) {
        if (axis > 0) {
            text += ", ";
        }
        text += std::to_string(array.shape(axis));
    }
    if (array.ndim() == 1) {
        text += ",";
    }
    return text + ")";
}

std::string expected_string(std::size_t a, std::size_t b, std::size_t c) {
    return "(" + std::to_string(a) + ", " + std::to_string(b) + ", " + std::to_string(c) + ")";
}

/// Raise ValueError unless `array` has shape [height, width, channels].
void check_input(const InputArray &array, const char *name, std::size_t height,
                 std::size_t width, std::size_t channels) {
    const bool ok = array.ndim() == 3 && array.shape(0) == height && array.shape(1) == width &&
                    array.shape(2) == channels;
    if (!ok) {
        throw nb::value_error(("pack_frame(): argument '" + std::string(name) +
                               "' must have shape (H, W, " + std::to_string(channels) +
                               ") = " + expected_string(height, width, channels) +
                               " (H, W from 'color'), got " + shape_string(array))
                                  .c_str());
    }
}

/// True when `array` is laid out C-contiguously (axes of extent 1 may have any stride,
/// and an empty array is trivially contiguous).
bool is_c_contiguous(const OutputArray &array) {
    if (array.size() == 0) {
        return true;
    }
    int64_t expected_stride = 1;
    for (std::size_t axis = array.ndim(); axis-- > 0;) {
        if (array.shape(axis) != 1 && array.stride(axis) != expected_stride) {
            return false;
        }
        expected_stride *= static_cast<int64_t>(array.shape(axis));
    }
    return true;
}

void pack_frame(const InputArray &color, const InputArray &albedo, const InputArray &normal,
                const InputArray &depth, const InputArray &roughness,
                const InputArray &metallic, const InputArray &shadow, const InputArray &mask,
                const InputArray &transparent, const InputArray &motion, OutputArray &out,
                int num_threads, float specular_floor) {
    if (color.ndim() != 3 || color.shape(2) != 3) {
        throw nb::value_error(
            ("pack_frame(): argument 'color' must have shape (H, W, 3), got " +
             shape_string(color))
                .c_str());
    }
    const std::size_t height = color.shape(0);
    const std::size_t width = color.shape(1);
    check_input(albedo, "albedo", height, width, 3);
    check_input(normal, "normal", height, width, 3);
    check_input(depth, "depth", height, width, 1);
    check_input(roughness, "roughness", height, width, 1);
    check_input(metallic, "metallic", height, width, 1);
    check_input(shadow, "shadow", height, width, 1);
    check_input(mask, "mask", height, width, 1);
    check_input(transparent, "transparent", height, width, 3);
    check_input(motion, "motion", height, width, 2);

    const bool out_shape_ok = out.ndim() == 3 && out.shape(0) == SSR_PACK_PLANES &&
                              out.shape(1) == height && out.shape(2) == width;
    if (!out_shape_ok) {
        throw nb::value_error(("pack_frame(): argument 'out' must have shape (19, H, W) = " +
                               expected_string(SSR_PACK_PLANES, height, width) + ", got " +
                               shape_string(out))
                                  .c_str());
    }
    if (!is_c_contiguous(out)) {
        throw nb::value_error(
            "pack_frame(): argument 'out' must be C-contiguous (it is written in place)");
    }
    if (num_threads < 0) {
        throw nb::value_error(("pack_frame(): argument 'num_threads' must be >= 0 "
                               "(0 = automatic), got " +
                               std::to_string(num_threads))
                                  .c_str());
    }

    ssr_frame_view frame{};
    frame.height = static_cast<int64_t>(height);
    frame.width = static_cast<int64_t>(width);
    frame.color = color.data();
    frame.albedo = albedo.data();
    frame.normal = normal.data();
    frame.depth = depth.data();
    frame.roughness = roughness.data();
    frame.metallic = metallic.data();
    frame.shadow = shadow.data();
    frame.mask = mask.data();
    frame.transparent = transparent.data();
    frame.motion = motion.data();
    float *out_data = out.data();

    if (height == 0 || width == 0) {
        return;  // nothing to write; data pointers of empty arrays may be null
    }

    int status = SSR_PACK_OK;
    {
        nb::gil_scoped_release release;
        status = ssr_pack_frame_floored(&frame, specular_floor, out_data, num_threads);
    }
    if (status == SSR_PACK_ERROR_INVALID_FLOOR) {
        throw nb::value_error(("pack_frame(): argument 'specular_floor' must be a finite number >= 0, got " +
                               std::to_string(specular_floor))
                                  .c_str());
    }
    if (status == SSR_PACK_ERROR_ALIASING) {
        throw nb::value_error(
            "pack_frame(): argument 'out' overlaps an input array; pass a separate buffer");
    }
    if (status == SSR_PACK_ERROR_INVALID_SIZE) {
        throw nb::value_error(("pack_frame(): frame size " + std::to_string(height) + " x " +
                               std::to_string(width) + " is too large")
                                  .c_str());
    }
    if (status != SSR_PACK_OK) {
        throw std::runtime_error(std::string("pack_frame(): ") + ssr_pack_status_string(status));
    }
}

/// Colour planes [C >= 3, Hp, Wp] (or [1, C, Hp, Wp]) -> out [H, W, 3], cropped and clamped.
void unpack_color(const InputArray &planes, int64_t height, int64_t width, OutputArray &out,
                  int num_threads) {
    const std::size_t ndim = planes.ndim();
    const bool rank_ok = ndim == 3 || (ndim == 4 && planes.shape(0) == 1);
    if (!rank_ok || planes.shape(ndim - 3) < 3) {
        throw nb::value_error(("unpack_color(): argument 'planes' must have shape (C >= 3, H, W) or "
                               "(1, C >= 3, H, W), got " + shape_string(planes))
                                  .c_str());
    }
    const int64_t padded_h = static_cast<int64_t>(planes.shape(ndim - 2));
    const int64_t padded_w = static_cast<int64_t>(planes.shape(ndim - 1));
    if (height < 0 || width < 0 || height > padded_h || width > padded_w) {
        throw nb::value_error(("unpack_color(): crop " + std::to_string(height) + " x " +
                               std::to_string(width) + " does not fit planes " + shape_string(planes))
                                  .c_str());
    }
    const bool out_ok = out.ndim() == 3 && out.shape(0) == static_cast<std::size_t>(height) &&
                        out.shape(1) == static_cast<std::size_t>(width) && out.shape(2) == 3;
    if (!out_ok || !is_c_contiguous(out)) {
        throw nb::value_error(("unpack_color(): argument 'out' must be C-contiguous float32 (H, W, 3) = " +
                               expected_string(height, width, 3) + ", got " + shape_string(out))
                                  .c_str());
    }
    if (num_threads < 0) {
        throw nb::value_error("unpack_color(): argument 'num_threads' must be >= 0 (0 = automatic)");
    }
    if (height == 0 || width == 0) {
        return;
    }
    const float *source = planes.data();
    float *target = out.data();
    int status = SSR_PACK_OK;
    {
        nb::gil_scoped_release release;
        status = ssr_unpack_color(source, padded_h * padded_w, padded_w, height, width, target, num_threads);
    }
    if (status == SSR_PACK_ERROR_ALIASING) {
        throw nb::value_error("unpack_color(): argument 'out' overlaps 'planes'");
    }
    if (status != SSR_PACK_OK) {
        throw std::runtime_error(std::string("unpack_color(): ") + ssr_pack_status_string(status));
    }
}

/// Planar state [1, C, H, W] or [C, H, W] warped by motion planes [H, W] (x, y) into out (same shape).
void warp_planes(const InputArray &src, const InputArray &motion_x, const InputArray &motion_y, OutputArray &out,
                 int num_threads) {
    const std::size_t ndim = src.ndim();
    if (!(ndim == 3 || (ndim == 4 && src.shape(0) == 1))) {
        throw nb::value_error(("warp_planes(): argument 'src' must have shape (C, H, W) or (1, C, H, W), got " +
                               shape_string(src)).c_str());
    }
    const std::size_t channels = src.shape(ndim - 3), height = src.shape(ndim - 2), width = src.shape(ndim - 1);
    for (const InputArray *motion : {&motion_x, &motion_y}) {
        if (motion->ndim() != 2 || motion->shape(0) != height || motion->shape(1) != width) {
            throw nb::value_error(("warp_planes(): motion planes must have shape (H, W) = (" + std::to_string(height) +
                                   ", " + std::to_string(width) + "), got " + shape_string(*motion)).c_str());
        }
    }
    bool out_ok = out.ndim() == ndim && is_c_contiguous(out);
    for (std::size_t axis = 0; out_ok && axis < ndim; ++axis) {
        out_ok = out.shape(axis) == src.shape(axis);
    }
    if (!out_ok) {
        throw nb::value_error(("warp_planes(): argument 'out' must be C-contiguous float32 of the shape of 'src' " +
                               shape_string(src) + ", got " + shape_string(out)).c_str());
    }
    if (num_threads < 0) {
        throw nb::value_error("warp_planes(): argument 'num_threads' must be >= 0 (0 = automatic)");
    }
    int status = SSR_PACK_OK;
    {
        nb::gil_scoped_release release;
        status = ssr_warp_planes(src.data(), static_cast<int64_t>(channels), static_cast<int64_t>(height),
                                 static_cast<int64_t>(width), motion_x.data(), motion_y.data(), out.data(), num_threads);
    }
    if (status == SSR_PACK_ERROR_ALIASING) {
        throw nb::value_error("warp_planes(): argument 'out' overlaps 'src'");
    }
    if (status != SSR_PACK_OK) {
        throw std::runtime_error(std::string("warp_planes(): ") + ssr_pack_status_string(status));
    }
}

/// Raise ValueError unless `array` is [1, C, H, W] or [C, H, W] with these extents; returns its data.
template <typename Array>
auto planes_of(const Array &array, const char *function, const char *name, std::size_t channels, std::size_t height,
               std::size_t width) {
    const std::size_t ndim = array.ndim();
    const bool rank_ok = ndim == 3 || (ndim == 4 && array.shape(0) == 1);
    const bool ok = rank_ok && array.shape(ndim - 3) == channels && array.shape(ndim - 2) == height &&
                    array.shape(ndim - 1) == width;
    if (!ok) {
        throw nb::value_error((std::string(function) + "(): argument '" + name + "' must have shape (" +
                               std::to_string(channels) + ", " + std::to_string(height) + ", " +
                               std::to_string(width) + ") (or with a leading 1), got " + shape_string(array))
                                  .c_str());
    }
    return array.data();
}

float *output_planes(OutputArray &array, const char *function, const char *name, std::size_t channels,
                     std::size_t height, std::size_t width) {
    planes_of(array, function, name, channels, height, width);
    if (!is_c_contiguous(array)) {
        throw nb::value_error((std::string(function) + "(): argument '" + name + "' must be C-contiguous").c_str());
    }
    return array.data();
}

/// Checks an array of the stage weights against its expected shape, naming it.
const float *weight_of(const std::vector<InputArray> &kept, std::size_t index, const char *name,
                       std::initializer_list<std::size_t> shape) {
    const InputArray &array = kept[index];
    bool ok = array.ndim() == shape.size();
    std::size_t axis = 0;
    std::string expected = "(";
    for (std::size_t extent : shape) {
        ok = ok && array.shape(axis) == extent;
        expected += (axis ? ", " : "") + std::to_string(extent);
        ++axis;
    }
    expected += shape.size() == 1 ? ",)" : ")";
    if (!ok) {
        throw nb::value_error(("stage weight '" + std::string(name) + "' must have shape " + expected + ", got " +
                               shape_string(array)).c_str());
    }
    return array.data();
}

/// The native stages' weights from a dict of float32 arrays (ssr.data_tools.stages.STAGE_WEIGHT_NAMES).
ssr_stage_weights stage_weights(const nb::dict &arrays, int kernel_size, int signal_planes, float view_floor,
                                float history_cap, std::vector<InputArray> &kept) {
    static const char *names[] = {"ref_w1", "ref_b1", "ref_w2", "ref_b2", "emb_w1", "emb_b1", "emb_w2", "emb_b2",
                                  "enc0_w", "enc0_b", "down1_w", "down1_b", "dec0_w", "dec0_b", "head_w", "head_b"};
    kept.clear();
    for (const char *name : names) {
        if (!arrays.contains(name)) {
            throw nb::value_error(("stage weights: '" + std::string(name) + "' is missing").c_str());
        }
        kept.push_back(nb::cast<InputArray>(arrays[name]));
    }
    if (kernel_size < 1 || kernel_size > 7 || kernel_size % 2 == 0) {
        throw nb::value_error(("stage weights: kernel_size must be odd, 1..7, got " + std::to_string(kernel_size)).c_str());
    }
    if (signal_planes != SSR_STAGE_SIGNAL_PLANES && signal_planes != SSR_STAGE_DUAL_SIGNAL_PLANES) {
        throw nb::value_error(("stage weights: signal_planes must be 4 (irradiance) or 7 (dual), got " +
                               std::to_string(signal_planes)).c_str());
    }
    if (!(view_floor > 0.0f && view_floor <= std::numeric_limits<float>::max())) {
        throw nb::value_error(("stage weights: view_floor must be finite and > 0 (ModelConfig.view_floor), got " +
                               std::to_string(view_floor)).c_str());
    }
    if (!(history_cap == 0.0f || (history_cap >= SSR_STAGE_HISTORY_CAP_MIN &&
                                   history_cap <= std::numeric_limits<float>::max()))) {
        throw nb::value_error(("stage weights: history_cap must be 0 (the learned TFA history) or finite and >= " +
                               std::to_string(SSR_STAGE_HISTORY_CAP_MIN) + " (history='rule', ModelConfig.history_cap), got " +
                               std::to_string(history_cap)).c_str());
    }
    if (kept[0].ndim() != 2 || kept[2].ndim() != 2 || kept[8].ndim() != 2 || kept[10].ndim() != 4) {
        throw nb::value_error("stage weights: ref_w1, ref_w2, enc0_w must be 2-D and down1_w 4-D (PyTorch layouts)");
    }
    const std::size_t hidden = kept[0].shape(0), embed = kept[2].shape(0), guide = kept[8].shape(0),
                      down = kept[10].shape(0), heads = static_cast<std::size_t>(SSR_STAGE_HEAD_CHANNELS(kernel_size, signal_planes));
    for (std::size_t width : {hidden, embed, guide, down}) {
        if (width < 1 || width > SSR_STAGE_MAX_WIDTH) {
            throw nb::value_error(("stage weights: layer widths must be 1.." + std::to_string(SSR_STAGE_MAX_WIDTH)).c_str());
        }
    }
    const std::size_t state = SSR_PACK_STATE_PLANES, features = SSR_STAGE_FEATURE_PLANES;
    ssr_stage_weights w{};
    w.hidden = static_cast<int32_t>(hidden);
    w.embed = static_cast<int32_t>(embed);
    w.guide = static_cast<int32_t>(guide);
    w.down = static_cast<int32_t>(down);
    w.kernel_size = kernel_size;
    w.signal_planes = signal_planes;
    w.view_floor = view_floor;
    w.history_cap = history_cap;
    w.ref_w1 = weight_of(kept, 0, "ref_w1", {hidden, state + 3});
    w.ref_b1 = weight_of(kept, 1, "ref_b1", {hidden});
    w.ref_w2 = weight_of(kept, 2, "ref_w2", {embed, hidden});
    w.ref_b2 = weight_of(kept, 3, "ref_b2", {embed});
    w.emb_w1 = weight_of(kept, 4, "emb_w1", {hidden, state});
    w.emb_b1 = weight_of(kept, 5, "emb_b1", {hidden});
    w.emb_w2 = weight_of(kept, 6, "emb_w2", {embed, hidden});
    w.emb_b2 = weight_of(kept, 7, "emb_b2", {embed});
    w.enc0_w = weight_of(kept, 8, "enc0_w", {guide, features});
    w.enc0_b = weight_of(kept, 9, "enc0_b", {guide});
    w.down1_w = weight_of(kept, 10, "down1_w", {down, features, 2, 2});
    w.down1_b = weight_of(kept, 11, "down1_b", {down});
    w.dec0_w = weight_of(kept, 12, "dec0_w", {guide, 3 + guide + 3, 3, 3});
    w.dec0_b = weight_of(kept, 13, "dec0_b", {guide});
    w.head_w = weight_of(kept, 14, "head_w", {heads, guide});
    w.head_b = weight_of(kept, 15, "head_b", {heads});
    return w;
}

void raise_status(const char *function, int status) {
    if (status == SSR_PACK_ERROR_ALIASING) {
        throw nb::value_error((std::string(function) + "(): an output buffer overlaps an input or another output").c_str());
    }
    if (status != SSR_PACK_OK) {
        throw std::runtime_error(std::string(function) + "(): " + ssr_pack_status_string(status));
    }
}

/// (height, width) of a [19, H, W] / [1, 19, H, W] packed frame, both even.
std::pair<std::size_t, std::size_t> packed_size(const InputArray &packed, const char *function) {
    const std::size_t ndim = packed.ndim();
    if ((ndim != 3 && ndim != 4) || (ndim == 4 && packed.shape(0) != 1) || packed.shape(ndim - 3) != SSR_PACK_PLANES) {
        throw nb::value_error((std::string(function) + "(): argument 'packed' must have shape (19, H, W), got " +
                               shape_string(packed)).c_str());
    }
    const std::size_t height = packed.shape(ndim - 2), width = packed.shape(ndim - 1);
    if (height % 2 || width % 2) {
        throw nb::value_error((std::string(function) + "(): H and W must be even, got " + shape_string(packed)).c_str());
    }
    return {height, width};
}

void stage_accumulate(const InputArray &packed, nb::object acc, nb::object prev_out, bool reset, const nb::dict &weights,
                      int kernel_size, OutputArray &acc_new, OutputArray &guide, OutputArray &prev, OutputArray &down,
                      OutputArray &prev_half, OutputArray &signal_half, int num_threads, int signal_planes,
                      float view_floor, float history_cap, nb::object history_valid, int64_t frame_height,
                      int64_t frame_width) {
    const char *fn = "stage_accumulate";
    const auto [height, width] = packed_size(packed, fn);
    if (frame_height == 0 && frame_width == 0) {  // no border: the frame is the planes
        frame_height = static_cast<int64_t>(height);
        frame_width = static_cast<int64_t>(width);
    }
    if (frame_height < 1 || frame_width < 1 || frame_height > static_cast<int64_t>(height) ||
        frame_width > static_cast<int64_t>(width)) {
        throw nb::value_error(("stage_accumulate(): the frame (" + std::to_string(frame_height) + " x " +
                               std::to_string(frame_width) + ") must lie inside the planes (" + std::to_string(height) +
                               " x " + std::to_string(width) + ")").c_str());
    }
    std::vector<InputArray> kept;
    const ssr_stage_weights w = stage_weights(weights, kernel_size, signal_planes, view_floor, history_cap, kept);
    const float *acc_data = nullptr, *prev_data = nullptr;
    InputArray acc_array, prev_array;
    if (!reset) {
        if (acc.is_none() || prev_out.is_none()) {
            throw nb::value_error("stage_accumulate(): 'acc' and 'prev_out' are required unless reset=True");
        }
        acc_array = nb::cast<InputArray>(acc);
        prev_array = nb::cast<InputArray>(prev_out);
        acc_data = planes_of(acc_array, fn, "acc", SSR_PACK_STATE_PLANES, height, width);
        prev_data = planes_of(prev_array, fn, "prev_out", 3, height, width);
    }
    const std::size_t half_h = height / 2, half_w = width / 2;
    float *acc_new_data = output_planes(acc_new, fn, "acc_new", SSR_PACK_STATE_PLANES, height, width);
    float *guide_data = output_planes(guide, fn, "guide", static_cast<std::size_t>(w.guide), height, width);
    float *prev_data_out = output_planes(prev, fn, "prev", 3, height, width);
    float *down_data = output_planes(down, fn, "down", static_cast<std::size_t>(w.down), half_h, half_w);
    float *prev_half_data = output_planes(prev_half, fn, "prev_half", 3, half_h, half_w);
    float *signal_data = output_planes(signal_half, fn, "signal_half", static_cast<std::size_t>(w.signal_planes), half_h,
                                       half_w);
    float *valid_data = nullptr;
    OutputArray valid_array;
    if (history_cap > 0.0f) {
        if (history_valid.is_none()) {
            throw nb::value_error("stage_accumulate(): a rule-history model (history_cap > 0) needs 'history_valid' "
                                  "(1, H, W)");
        }
        valid_array = nb::cast<OutputArray>(history_valid, false);  // no converted copy: written in place
        valid_data = output_planes(valid_array, fn, "history_valid", 1, height, width);
    }
    if (num_threads < 0) {
        throw nb::value_error("stage_accumulate(): argument 'num_threads' must be >= 0 (0 = automatic)");
    }
    int status = SSR_PACK_OK;
    {
        nb::gil_scoped_release release;
        status = ssr_stage_accumulate(packed.data(), acc_data, prev_data, reset ? 1 : 0, static_cast<int64_t>(height),
                                      static_cast<int64_t>(width), frame_height, frame_width, &w, acc_new_data, guide_data, prev_data_out,
                                      down_data, prev_half_data, signal_data, valid_data, num_threads);
    }
    raise_status(fn, status);
}

void stage_resolve(const InputArray &coarse, const InputArray &carry, const InputArray &guide, const InputArray &prev,
                   const InputArray &acc_new, const InputArray &packed, bool reset, const nb::dict &weights,
                   int kernel_size, OutputArray &out_log, OutputArray &color, int num_threads, int signal_planes,
                   nb::object history_valid) {
    const char *fn = "stage_resolve";
    const auto [height, width] = packed_size(packed, fn);
    std::vector<InputArray> kept;
    // the resolve reads no log view: the floor is not its input; history_valid says which history
    const float *valid_data = nullptr;
    InputArray valid_array;
    if (!history_valid.is_none()) {
        valid_array = nb::cast<InputArray>(history_valid);
        valid_data = planes_of(valid_array, fn, "history_valid", 1, height, width);
    }
    // (the cap's value is not the resolve's input either: any valid one marks a rule-history model)
    const ssr_stage_weights w = stage_weights(weights, kernel_size, signal_planes, SSR_STAGE_LEGACY_VIEW_FLOOR,
                                              valid_data != nullptr ? SSR_STAGE_HISTORY_CAP_MIN : 0.0f, kept);
    const std::size_t half_h = height / 2, half_w = width / 2;
    const float *coarse_data = planes_of(coarse, fn, "coarse", 3, half_h, half_w);
    const float *carry_data = planes_of(carry, fn, "carry", static_cast<std::size_t>(w.signal_planes), half_h, half_w);
    const float *guide_data = planes_of(guide, fn, "guide", static_cast<std::size_t>(w.guide), height, width);
    const float *prev_data = planes_of(prev, fn, "prev", 3, height, width);
    const float *acc_data = planes_of(acc_new, fn, "acc_new", SSR_PACK_STATE_PLANES, height, width);
    float *out_log_data = output_planes(out_log, fn, "out_log", 3, height, width);
    if (color.ndim() != 3 || color.shape(2) != 3 || color.shape(0) > height || color.shape(1) > width ||
        !is_c_contiguous(color)) {
        throw nb::value_error(("stage_resolve(): argument 'color' must be C-contiguous (h, w, 3) with h <= " +
                               std::to_string(height) + ", w <= " + std::to_string(width) + ", got " +
                               shape_string(color)).c_str());
    }
    if (num_threads < 0) {
        throw nb::value_error("stage_resolve(): argument 'num_threads' must be >= 0 (0 = automatic)");
    }
    int status = SSR_PACK_OK;
    {
        nb::gil_scoped_release release;
        status = ssr_stage_resolve(coarse_data, carry_data, guide_data, prev_data, acc_data, packed.data(), valid_data,
                                   reset ? 1 : 0, static_cast<int64_t>(height), static_cast<int64_t>(width),
                                   static_cast<int64_t>(color.shape(0)), static_cast<int64_t>(color.shape(1)), &w,
                                   out_log_data, color.data(), num_threads);
    }
    raise_status(fn, status);
}

}  // namespace

NB_MODULE(_native, m) {
    m.doc() =
        "SSR native leaf module: the multithreaded frame packer (see runtime/include/"
        "ssr_pack.h).\n\nImports no Python packages; ssr.data_tools.pack.pack_frame uses it "
        "when built.";
    m.attr("__version__") = SSR_NATIVE_VERSION;
    m.attr("PACKED_PLANES") = SSR_PACK_PLANES;
    m.attr("ALBEDO_EPS") = SSR_PACK_ALBEDO_EPS;
    m.attr("STATE_PLANES") = SSR_PACK_STATE_PLANES;
    {
        nb::dict planes;  // name -> (first plane, plane count): the packed layout the C code writes
        planes["irradiance"] = nb::make_tuple(SSR_PACK_PLANE_IRRADIANCE, 3);
        planes["albedo"] = nb::make_tuple(SSR_PACK_PLANE_ALBEDO, 3);
        planes["normal"] = nb::make_tuple(SSR_PACK_PLANE_NORMAL, 3);
        planes["depth"] = nb::make_tuple(SSR_PACK_PLANE_DEPTH, 1);
        planes["roughness"] = nb::make_tuple(SSR_PACK_PLANE_ROUGHNESS, 1);
        planes["metallic"] = nb::make_tuple(SSR_PACK_PLANE_METALLIC, 1);
        planes["shadow"] = nb::make_tuple(SSR_PACK_PLANE_SHADOW, 1);
        planes["mask"] = nb::make_tuple(SSR_PACK_PLANE_MASK, 1);
        planes["transparent"] = nb::make_tuple(SSR_PACK_PLANE_TRANSPARENT, 3);
        planes["motion"] = nb::make_tuple(SSR_PACK_PLANE_MOTION, 2);
        m.attr("PLANES") = planes;
    }

    m.attr("STAGE_FEATURE_PLANES") = SSR_STAGE_FEATURE_PLANES;
    m.attr("STAGE_FEATURE_PREV") = SSR_STAGE_FEATURE_PREV;
    m.attr("STAGE_SIGNAL_PLANES") = SSR_STAGE_SIGNAL_PLANES;
    m.attr("STAGE_DUAL_SIGNAL_PLANES") = SSR_STAGE_DUAL_SIGNAL_PLANES;
    m.attr("STAGE_MASK_FLOOR") = SSR_STAGE_MASK_FLOOR;
    m.attr("STAGE_VIEW_BOUND") = SSR_STAGE_VIEW_BOUND;
    m.attr("STAGE_LEGACY_VIEW_FLOOR") = SSR_STAGE_LEGACY_VIEW_FLOOR;
    m.attr("STAGE_LOG_MAX") = SSR_STAGE_LOG_MAX;
    m.attr("STAGE_COVERAGE_FLOOR") = SSR_STAGE_COVERAGE_FLOOR;
    m.attr("STAGE_HISTORY_CAP_MIN") = SSR_STAGE_HISTORY_CAP_MIN;
    m.attr("STAGE_HISTORY_ROUGHNESS_FULL") = SSR_STAGE_HISTORY_ROUGHNESS_FULL;
    m.attr("STAGE_HISTORY_NORMAL_COS") = SSR_STAGE_HISTORY_NORMAL_COS;
    m.attr("STAGE_HISTORY_DEPTH_REL") = SSR_STAGE_HISTORY_DEPTH_REL;
    m.attr("STAGE_HISTORY_DEPTH_SLOPE") = SSR_STAGE_HISTORY_DEPTH_SLOPE;
    m.attr("STAGE_HISTORY_VARIANCE_REL") = SSR_STAGE_HISTORY_VARIANCE_REL;

    m.def("stage_accumulate", &stage_accumulate, "packed"_a, "acc"_a.none(), "prev_out"_a.none(), "reset"_a,
          "weights"_a, "kernel_size"_a, "acc_new"_a.noconvert(), "guide"_a.noconvert(), "prev"_a.noconvert(),
          "down"_a.noconvert(), "prev_half"_a.noconvert(), "signal_half"_a.noconvert(), "num_threads"_a = 0,
          "signal_planes"_a = SSR_STAGE_SIGNAL_PLANES, "view_floor"_a = SSR_STAGE_LEGACY_VIEW_FLOOR,
          "history_cap"_a = 0.0f, "history_valid"_a.none() = nb::none(), "frame_height"_a = 0, "frame_width"_a = 0,
          "The fused pre-graph stage of a fast-layout model (ssr_stages.h): warp + reset select + TFA + log views "
          "+ the U-Net's 1x1 guide and 2x2 stride-2 convs, in place. acc / prev_out (the unwarped committed "
          "state) may be None when reset; weights: dict of the stage's float32 arrays; signal_planes: 4 "
          "(irradiance) or 7 (a signal='dual' model); view_floor: the A_mask floor of the log views "
          "(ModelConfig.view_floor); history_cap: 0 (the learned TFA history) or, for a history='rule' model, "
          "ModelConfig.history_cap, which needs history_valid (1, H, W), written with each pixel's valid "
          "reprojection weight; frame_height, frame_width: the frame inside padded planes (0, 0: all of them). The GIL is released.");

    m.def("stage_resolve", &stage_resolve, "coarse"_a, "carry"_a, "guide"_a, "prev"_a, "acc_new"_a, "packed"_a,
          "reset"_a, "weights"_a, "kernel_size"_a, "out_log"_a.noconvert(), "color"_a.noconvert(),
          "num_threads"_a = 0, "signal_planes"_a = SSR_STAGE_SIGNAL_PLANES, "history_valid"_a.none() = nb::none(),
          "The fused post-graph stage (ssr_stages.h): full-resolution decoder + per-pixel kernel filter + carry "
          "blend + history term + remodulation, writing out_log [3, H, W] and the cropped HWC colour [h, w, 3] "
          "in place; signal_planes as stage_accumulate; history_valid: a rule-history model's plane from "
          "stage_accumulate (None: the warp's coverage). The GIL is released.");

    m.def("version", []() { return std::string(SSR_NATIVE_VERSION); },
          "Version of the ssr-engine package this module was built from.");

    m.def("num_threads_default", &ssr_pack_default_threads,
          "Worker threads used for large frames when num_threads=0: the hardware "
          "concurrency, capped at 16.");

    m.def(
        "resolve_threads",
        [](int num_threads, int64_t height, int64_t width) {
            if (num_threads < 0) {
                throw nb::value_error("resolve_threads(): 'num_threads' must be >= 0");
            }
            return ssr_pack_resolve_threads(num_threads, height, width);
        },
        "num_threads"_a, "height"_a, "width"_a,
        "Worker threads pack_frame uses for an H x W frame when asked for num_threads "
        "(0 = automatic: small frames run on the calling thread only).");

    m.def("pack_frame", &pack_frame, "color"_a, "albedo"_a, "normal"_a, "depth"_a,
          "roughness"_a, "metallic"_a, "shadow"_a, "mask"_a, "transparent"_a, "motion"_a,
          "out"_a.noconvert(), "num_threads"_a = 0, "specular_floor"_a = 0.0f,
          "Pack one frame into the 19 network input planes, in place.\n\n"
          "Inputs: float32 [H, W, C] CPU arrays, C = 3, 3, 3, 1, 1, 1, 1, 1, 3, 2 (color, "
          "albedo, normal, depth, roughness, metallic, shadow, mask, transparent, motion); "
          "non-contiguous or other-dtype inputs are copied to C-contiguous float32 first.\n"
          "out: writable C-contiguous float32 [19, H, W] CPU array, every element written.\n"
          "Planes: 0-2 log1p(color / (albedo' + 0.004)) where mask == 1 else 0; 3-5 albedo' = albedo + "
          "specular_floor * clamp(1 - roughness) * clamp(1 - metallic) (the model's demodulation albedo); "
          "6-8 normal; 9 depth / max(depth > 0) (0 for misses); 10 roughness; 11 metallic; "
          "12 shadow; 13 mask; 14-16 transparent; 17-18 motion.\n"
          "num_threads: worker threads over row bands, 0 = automatic. specular_floor: >= 0 "
          "(ModelConfig.specular_floor; 0 = the G-buffer albedo). The GIL is released "
          "while packing. Raises ValueError on a wrong shape, naming the argument.");

    m.def("warp_planes", &warp_planes, "src"_a, "motion_x"_a, "motion_y"_a, "out"_a.noconvert(), "num_threads"_a = 0,
          "Backward warp of planar buffers by per-pixel motion, in place into out (bilinear, zeros padding; equal "
          "to grid_sample(align_corners=False) on ssr.model.warp.sampling_grid). The GIL is released.");

    m.def("unpack_color", &unpack_color, "planes"_a, "height"_a, "width"_a, "out"_a.noconvert(),
          "num_threads"_a = 0,
          "The network's colour planes -> the displayable image, in place.\n\n"
          "planes: float32 [C >= 3, Hp, Wp] or [1, C, Hp, Wp] (the first three planes are R, G, "
          "B; a padded graph output is cropped to height x width from the top-left).\n"
          "out: writable C-contiguous float32 [height, width, 3]; values not > 0 (negative, "
          "NaN) become 0. The GIL is released.");
}
