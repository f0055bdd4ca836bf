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
