/*
 * ssr_pack.h -- the C interface of the SSR frame packer (the hot-path pre-processing of
 * docs/method.md), usable from C, C++ and any engine without Python.
 *
 * The same function backs the Python module `ssr._native.pack_frame`; its NumPy twin is
 * `ssr.data_tools.pack.pack_frame_reference`, and the two must agree to within 1e-6.
 * ssr_unpack_color (below) is the matching post-processing of the network's output.
 * Built as a shared library `libssr_pack` by CMake (`-DSSR_PYTHON=OFF` builds it alone);
 * runtime/tests/test_c_api.c is its C test program, run by ctest.
 *
 * Inputs (one frame, full resolution H x W, all float32, CPU memory)
 * ------------------------------------------------------------------
 * Every input buffer is tightly packed, row-major, channel-interleaved ("HWC"):
 * element (y, x, c) of a layer with C channels lives at index (y * W + x) * C + c,
 * y growing downwards. No row padding, no strides.
 *
 *   field         C   meaning (docs/format.md)
 *   color         3   noisy linear radiance (only meaningful where mask == 1)
 *   albedo        3   diffuse reflectance in [0, 1]
 *   normal        3   world-space unit normal, 0 for misses
 *   depth         1   view-space depth, 0 for misses
 *   roughness     1
 *   metallic      1
 *   shadow        1   traced: 0 where mask == 0
 *   mask          1   1 where colour was traced this frame, 0 elsewhere
 *   transparent   3   specular transmittance tint
 *   motion        2   screen-space motion in pixels (x right, y down)
 *
 * Output
 * ------
 * `out` is float32 [19, H, W], planar ("CHW"), tightly packed: element (p, y, x) lives at
 * index (p * H + y) * W + x. Every element is written; `out` must not overlap any input.
 *
 *   planes  name         encoding
 *   0-2     irradiance   log1p(color / (albedo' + 0.004f)) where mask == 1.0f exactly, else 0
 *   3-5     albedo       albedo' = albedo + specular_floor * clamp(1 - roughness, 0, 1)
 *                        * clamp(1 - metallic, 0, 1) (float32, multiplied in that order);
 *                        ssr_pack_frame packs with specular_floor = 0 (albedo' = albedo, copied),
 *                        ssr_pack_frame_floored with the model's ModelConfig.specular_floor
 *   6-8     normal       copied
 *   9       depth        depth / max_depth where depth > 0, else 0; max_depth is the
 *                        maximum of this frame's depth over depth > 0 (NaN never counts);
 *                        the whole plane is 0 when no pixel has depth > 0
 *   10      roughness    copied
 *   11      metallic     copied
 *   12      shadow       copied
 *   13      mask         copied
 *   14-16   transparent  copied
 *   17-18   motion       copied
 *
 * Planes 0-13 are the 14-channel state vector x_t of docs/method.md. All arithmetic is IEEE
 * float32 (division and log1pf, no reciprocal approximations), matching NumPy's float32.
 *
 * Threading
 * ---------
 * Rows are split into contiguous bands, one per worker thread. The depth maximum is a
 * first parallel reduction pass over the same bands, then the packing pass runs.
 * `num_threads` = 0 picks a default: ssr_pack_default_threads(), reduced for small
 * frames so that every worker has at least SSR_PACK_MIN_PIXELS_PER_THREAD pixels (a
 * small frame runs on the calling thread only). An explicit `num_threads` > 0 is
 * honoured, capped at SSR_PACK_MAX_THREADS and at H (one row per worker at least).
 * The calling thread always works on the first band. The result does not depend on the
 * number of threads.
 */
#ifndef SSR_PACK_H
#define SSR_PACK_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Number of output planes of ssr_pack_frame. */
#define SSR_PACK_PLANES 19
/** First plane of each named range of the output (ssr.data_tools.contract.PACKED_PLANES). */
#define SSR_PACK_PLANE_IRRADIANCE 0  /* 3 planes */
#define SSR_PACK_PLANE_ALBEDO 3      /* 3 planes */
#define SSR_PACK_PLANE_NORMAL 6      /* 3 planes */
#define SSR_PACK_PLANE_DEPTH 9       /* 1 plane */
#define SSR_PACK_PLANE_ROUGHNESS 10  /* 1 plane */
#define SSR_PACK_PLANE_METALLIC 11   /* 1 plane */
#define SSR_PACK_PLANE_SHADOW 12     /* 1 plane */
#define SSR_PACK_PLANE_MASK 13       /* 1 plane */
#define SSR_PACK_PLANE_TRANSPARENT 14 /* 3 planes */
#define SSR_PACK_PLANE_MOTION 17     /* 2 planes */
/** Planes 0 .. SSR_PACK_STATE_PLANES-1 are the network's accumulated state vector. */
#define SSR_PACK_STATE_PLANES 14
/** Added to albedo before demodulation (docs/method.md). */
#define SSR_PACK_ALBEDO_EPS 0.004f
/** Upper bound on worker threads, automatic or requested. */
#define SSR_PACK_MAX_THREADS 64
/** Automatic thread counts give every worker at least this many pixels. */
#define SSR_PACK_MIN_PIXELS_PER_THREAD 32768

/** Return codes of ssr_pack_frame. */
typedef enum ssr_pack_status {
    SSR_PACK_OK = 0,
    /** `frame` or `out` is NULL, or an input pointer is NULL for a non-empty frame. */
    SSR_PACK_ERROR_NULL_POINTER = 1,
    /** height or width is negative, or H * W * 19 overflows the address space. */
    SSR_PACK_ERROR_INVALID_SIZE = 2,
    /** num_threads is negative. */
    SSR_PACK_ERROR_INVALID_THREADS = 3,
    /** `out` overlaps one of the input buffers. */
    SSR_PACK_ERROR_ALIASING = 4,
    /** Internal failure (e.g. an exception escaping a worker); `out` is unspecified. */
    SSR_PACK_ERROR_INTERNAL = 5,
    /** specular_floor is negative, infinite or NaN (ssr_pack_frame_floored). */
    SSR_PACK_ERROR_INVALID_FLOOR = 6
} ssr_pack_status;

/** Borrowed pointers to one frame's input layers (see the table above). */
typedef struct ssr_frame_view {
    int64_t height;            /**< H, rows */
    int64_t width;             /**< W, columns */
    const float *color;        /**< [H, W, 3] */
    const float *albedo;       /**< [H, W, 3] */
    const float *normal;       /**< [H, W, 3] */
    const float *depth;        /**< [H, W, 1] */
    const float *roughness;    /**< [H, W, 1] */
    const float *metallic;     /**< [H, W, 1] */
    const float *shadow;       /**< [H, W, 1] */
    const float *mask;         /**< [H, W, 1] */
    const float *transparent;  /**< [H, W, 3] */
    const float *motion;       /**< [H, W, 2] */
} ssr_frame_view;

/**
 * Pack one frame into `out` (float32 [19, H, W]).
 *
 * Returns SSR_PACK_OK or an ssr_pack_status error code; on an error other than
 * SSR_PACK_ERROR_INTERNAL nothing has been written. A frame with H == 0 or W == 0 is
 * valid and writes nothing (its pointers may then be NULL). Thread-safe: concurrent
 * calls on different output buffers do not interfere.
 */
int ssr_pack_frame(const ssr_frame_view *frame, float *out, int num_threads);

/**
 * ssr_pack_frame with the demodulation albedo of a model trained with a specular floor
 * (planes 0-5 of the table above; the model's sidecar / ONNX metadata hold the value as
 * model_config.specular_floor). specular_floor == 0 is exactly ssr_pack_frame.
 */
int ssr_pack_frame_floored(const ssr_frame_view *frame, float specular_floor, float *out, int num_threads);

/**
 * Post-processing: the network's colour output, planar float32 [3, H, W] ("CHW", as the
 * graph writes it, possibly inside a larger padded buffer), into the interleaved
 * float32 [H, W, 3] ("HWC") linear HDR image an engine displays, clamped: every value
 * that is not > 0 (negative, -0, NaN) becomes 0; +Inf stays +Inf.
 *
 *   planes       source; element (c, y, x) at planes[c * plane_stride + y * row_stride + x]
 *   plane_stride elements between colour planes (>= height * row_stride)
 *   row_stride   elements between rows (>= width); a padded graph buffer of width Wp
 *                gives row_stride = Wp, plane_stride = Hp * Wp: the crop costs nothing
 *   out          destination, tightly packed HWC: element (y, x, c) at (y * W + x) * 3 + c;
 *                must not overlap `planes`
 *
 * Same return codes and threading (row bands) as ssr_pack_frame; strides smaller than
 * the frame are SSR_PACK_ERROR_INVALID_SIZE.
 */
int ssr_unpack_color(const float *planes, int64_t plane_stride, int64_t row_stride, int64_t height,
                     int64_t width, float *out, int num_threads);

/**
 * Backward warp of planar buffers by the frame's motion (docs/format.md / docs/method.md's W): for
 * every pixel (x, y), bilinear sample of each source plane at index position
 * (x + motion_x[y, x], y + motion_y[y, x]); taps outside the plane contribute 0 (zeros
 * padding). Equal to torch.nn.functional.grid_sample(mode="bilinear",
 * padding_mode="zeros", align_corners=False) on the grid of ssr.model.warp.sampling_grid,
 * and to ssr.data_tools.warp.warp_previous.
 *
 *   src       float32 [channels, H, W] planar, tightly packed (the previous state)
 *   motion_x  float32 [H, W] (e.g. plane SSR_PACK_PLANE_MOTION of the packed frame)
 *   motion_y  float32 [H, W] (plane SSR_PACK_PLANE_MOTION + 1)
 *   out       float32 [channels, H, W]; must not overlap src
 *
 * Same return codes and threading as ssr_pack_frame; H * W >= 2^31 is
 * SSR_PACK_ERROR_INVALID_SIZE (tap indices are 32-bit).
 */
int ssr_warp_planes(const float *src, int64_t channels, int64_t height, int64_t width, const float *motion_x,
                    const float *motion_y, float *out, int num_threads);

/** Worker threads used for a frame of the given size when `requested` threads are asked
 *  for (0 = automatic); requested < 0 returns 1. Always >= 1. */
int ssr_pack_resolve_threads(int requested, int64_t height, int64_t width);

/** The automatic thread count for large frames: the hardware concurrency (1 when
 *  unknown), capped at 16. */
int ssr_pack_default_threads(void);

/** A static, human-readable description of an ssr_pack_status code. */
const char *ssr_pack_status_string(int status);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* SSR_PACK_H */
