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
#include <string>

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
                int num_threads) {
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
        status = ssr_pack_frame(&frame, out_data, num_threads);
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

const float *matrix_of(const InputArray &array, const char *name, std::size_t rows, std::size_t cols) {
    const bool ok = (cols == 0 && array.ndim() == 1 && array.shape(0) == rows) ||
                    (cols > 0 && array.ndim() == 2 && array.shape(0) == rows && array.shape(1) == cols);
    if (!ok) {
        throw nb::value_error(("stage_accumulate(): TFA weight '" + std::string(name) + "' must have shape (" +
                               std::to_string(rows) + (cols ? ", " + std::to_string(cols) : std::string(",")) +
                               "), got " + shape_string(array))
                                  .c_str());
    }
    return array.data();
}

void raise_status(const char *function, int status) {
    if (status == SSR_PACK_ERROR_ALIASING) {
        throw nb::value_error((std::string(function) + "(): an output buffer overlaps an input or another output").c_str());
    }
    if (status != SSR_PACK_OK) {
        throw std::runtime_error(std::string(function) + "(): " + ssr_pack_status_string(status));
    }
}

void stage_accumulate(const InputArray &packed, nb::object acc, nb::object prev_out, bool reset,
                      const InputArray &ref_w1, const InputArray &ref_b1, const InputArray &ref_w2,
                      const InputArray &ref_b2, const InputArray &emb_w1, const InputArray &emb_b1,
                      const InputArray &emb_w2, const InputArray &emb_b2, OutputArray &acc_new, OutputArray &features,
                      OutputArray &signal_half, int num_threads) {
    const char *fn = "stage_accumulate";
    const std::size_t ndim = packed.ndim();
    if (ndim != 3 && ndim != 4) {
        throw nb::value_error(("stage_accumulate(): argument 'packed' must have shape (19, H, W), got " +
                               shape_string(packed)).c_str());
    }
    const std::size_t height = packed.shape(ndim - 2), width = packed.shape(ndim - 1);
    if (height % 2 || width % 2) {
        throw nb::value_error(("stage_accumulate(): H and W must be even, got " + shape_string(packed)).c_str());
    }
    const float *packed_data = planes_of(packed, fn, "packed", SSR_PACK_PLANES, height, width);
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
    if (ref_w1.ndim() != 2 || emb_w2.ndim() != 2) {
        throw nb::value_error("stage_accumulate(): TFA weight matrices must be 2-D [out, in]");
    }
    const std::size_t hidden = ref_w1.shape(0), embed = emb_w2.shape(0);
    if (hidden < 1 || hidden > SSR_STAGE_MAX_WIDTH || embed < 1 || embed > SSR_STAGE_MAX_WIDTH) {
        throw nb::value_error(("stage_accumulate(): TFA widths must be 1.." + std::to_string(SSR_STAGE_MAX_WIDTH)).c_str());
    }
    ssr_tfa_weights weights{static_cast<int32_t>(hidden), static_cast<int32_t>(embed),
                            matrix_of(ref_w1, "ref_w1", hidden, SSR_PACK_STATE_PLANES + 3),
                            matrix_of(ref_b1, "ref_b1", hidden, 0),
                            matrix_of(ref_w2, "ref_w2", embed, hidden),
                            matrix_of(ref_b2, "ref_b2", embed, 0),
                            matrix_of(emb_w1, "emb_w1", hidden, SSR_PACK_STATE_PLANES),
                            matrix_of(emb_b1, "emb_b1", hidden, 0),
                            matrix_of(emb_w2, "emb_w2", embed, hidden),
                            matrix_of(emb_b2, "emb_b2", embed, 0)};
    float *acc_new_data = output_planes(acc_new, fn, "acc_new", SSR_PACK_STATE_PLANES, height, width);
    float *features_data = output_planes(features, fn, "features", SSR_STAGE_FEATURE_PLANES, height, width);
    float *signal_data = output_planes(signal_half, fn, "signal_half", SSR_STAGE_SIGNAL_PLANES, height / 2, width / 2);
    if (num_threads < 0) {
        throw nb::value_error("stage_accumulate(): argument 'num_threads' must be >= 0 (0 = automatic)");
    }
    int status = SSR_PACK_OK;
    {
        nb::gil_scoped_release release;
        status = ssr_stage_accumulate(packed_data, acc_data, prev_data, reset ? 1 : 0, static_cast<int64_t>(height),
                                      static_cast<int64_t>(width), &weights, acc_new_data, features_data, signal_data,
                                      num_threads);
    }
    raise_status(fn, status);
}

void stage_resolve(const InputArray &head, int kernel_size, const InputArray &carry, const InputArray &acc_new,
                   const InputArray &features, const InputArray &packed, bool reset, OutputArray &out_log,
                   OutputArray &color, int num_threads) {
    const char *fn = "stage_resolve";
    const std::size_t ndim = packed.ndim();
    if (ndim != 3 && ndim != 4) {
        throw nb::value_error(("stage_resolve(): argument 'packed' must have shape (19, H, W), got " +
                               shape_string(packed)).c_str());
    }
    const std::size_t height = packed.shape(ndim - 2), width = packed.shape(ndim - 1);
    if (height % 2 || width % 2) {
        throw nb::value_error(("stage_resolve(): H and W must be even, got " + shape_string(packed)).c_str());
    }
    if (kernel_size < 1 || kernel_size > 7 || kernel_size % 2 == 0) {
        throw nb::value_error(("stage_resolve(): kernel_size must be odd, 1..7, got " + std::to_string(kernel_size)).c_str());
    }
    const std::size_t head_planes = static_cast<std::size_t>(kernel_size * kernel_size + 2);
    const float *head_data = planes_of(head, fn, "head", head_planes, height, width);
    const float *carry_data = planes_of(carry, fn, "carry", SSR_STAGE_SIGNAL_PLANES, height / 2, width / 2);
    const float *acc_data = planes_of(acc_new, fn, "acc_new", SSR_PACK_STATE_PLANES, height, width);
    const float *features_data = planes_of(features, fn, "features", SSR_STAGE_FEATURE_PLANES, height, width);
    const float *packed_data = planes_of(packed, fn, "packed", SSR_PACK_PLANES, height, width);
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
        status = ssr_stage_resolve(head_data, kernel_size, carry_data, acc_data, features_data, packed_data,
                                   reset ? 1 : 0, static_cast<int64_t>(height), static_cast<int64_t>(width),
                                   static_cast<int64_t>(color.shape(0)), static_cast<int64_t>(color.shape(1)),
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
    m.attr("STAGE_MASK_FLOOR") = SSR_STAGE_MASK_FLOOR;
    m.attr("STAGE_VIEW_BOUND") = SSR_STAGE_VIEW_BOUND;
    m.attr("STAGE_LOG_MAX") = SSR_STAGE_LOG_MAX;
    m.attr("STAGE_COVERAGE_FLOOR") = SSR_STAGE_COVERAGE_FLOOR;

    m.def("stage_accumulate", &stage_accumulate, "packed"_a, "acc"_a.none(), "prev_out"_a.none(), "reset"_a,
          "ref_w1"_a, "ref_b1"_a, "ref_w2"_a, "ref_b2"_a, "emb_w1"_a, "emb_b1"_a, "emb_w2"_a, "emb_b2"_a,
          "acc_new"_a.noconvert(), "features"_a.noconvert(), "signal_half"_a.noconvert(), "num_threads"_a = 0,
          "The fused pre-graph stage of a fast-layout model (ssr_stages.h): warp + reset select + TFA + log "
          "views, writing acc_new [14, H, W], features [34, H, W] and signal_half [4, H/2, W/2] in place. "
          "acc / prev_out (the unwarped committed state) may be None when reset. The GIL is released.");

    m.def("stage_resolve", &stage_resolve, "head"_a, "kernel_size"_a, "carry"_a, "acc_new"_a, "features"_a,
          "packed"_a, "reset"_a, "out_log"_a.noconvert(), "color"_a.noconvert(), "num_threads"_a = 0,
          "The fused post-graph stage (ssr_stages.h): per-pixel kernel filter + coarse blend + history term + "
          "remodulation, writing out_log [3, H, W] and the cropped HWC colour [h, w, 3] in place. The GIL is "
          "released.");

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
          "out"_a.noconvert(), "num_threads"_a = 0,
          "Pack one frame into the 19 network input planes, in place.\n\n"
          "Inputs: float32 [H, W, C] CPU arrays, C = 3, 3, 3, 1, 1, 1, 1, 1, 3, 2 (color, "
          "albedo, normal, depth, roughness, metallic, shadow, mask, transparent, motion); "
          "non-contiguous or other-dtype inputs are copied to C-contiguous float32 first.\n"
          "out: writable C-contiguous float32 [19, H, W] CPU array, every element written.\n"
          "Planes: 0-2 log1p(color / (albedo + 0.004)) where mask == 1 else 0; 3-5 albedo; "
          "6-8 normal; 9 depth / max(depth > 0) (0 for misses); 10 roughness; 11 metallic; "
          "12 shadow; 13 mask; 14-16 transparent; 17-18 motion.\n"
          "num_threads: worker threads over row bands, 0 = automatic. The GIL is released "
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
