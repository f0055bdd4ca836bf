/*
 * C test program of the libssr_pack C API (runtime/include/ssr_pack.h, ssr_stages.h), run by ctest.
 * Plain C99, no Python: what an engine linking the library sees.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssr_pack.h"
#include "ssr_stages.h"

static int failures = 0;
#define CHECK(condition, ...)                                    \
    do {                                                         \
        if (!(condition)) {                                      \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                        \
            fprintf(stderr, "\n");                               \
            ++failures;                                          \
        }                                                        \
    } while (0)

static float *layer(int64_t h, int64_t w, int channels, float value) {
    float *data = malloc((size_t)(h * w * channels) * sizeof(float));
    for (int64_t i = 0; i < h * w * channels; ++i) data[i] = value;
    return data;
}

static void test_pack(int threads) {
    const int64_t h = 5, w = 7;
    ssr_frame_view frame;
    memset(&frame, 0, sizeof frame);
    frame.height = h;
    frame.width = w;
    float *color = layer(h, w, 3, 0.5f), *albedo = layer(h, w, 3, 0.25f), *normal = layer(h, w, 3, 0.0f);
    float *depth = layer(h, w, 1, 2.0f), *roughness = layer(h, w, 1, 0.3f), *metallic = layer(h, w, 1, 1.0f);
    float *shadow = layer(h, w, 1, 1.0f), *mask = layer(h, w, 1, 0.0f), *transparent = layer(h, w, 3, 0.1f);
    float *motion = layer(h, w, 2, -1.5f);
    for (int64_t i = 0; i < h * w; ++i) normal[3 * i + 2] = 1.0f;
    mask[0] = 1.0f;       /* only pixel (0, 0) traced */
    depth[w + 1] = 4.0f;  /* the frame's maximum depth */
    frame.color = color; frame.albedo = albedo; frame.normal = normal; frame.depth = depth;
    frame.roughness = roughness; frame.metallic = metallic; frame.shadow = shadow; frame.mask = mask;
    frame.transparent = transparent; frame.motion = motion;
    float *out = layer(h, w, SSR_PACK_PLANES, NAN);
    int status = ssr_pack_frame(&frame, out, threads);
    CHECK(status == SSR_PACK_OK, "ssr_pack_frame returned %d (%s)", status, ssr_pack_status_string(status));
    const int64_t plane = h * w;
    const float expected_irradiance = log1pf(0.5f / (0.25f + SSR_PACK_ALBEDO_EPS));
    CHECK(fabsf(out[SSR_PACK_PLANE_IRRADIANCE * plane] - expected_irradiance) < 1e-6f, "irradiance at the traced pixel");
    CHECK(out[SSR_PACK_PLANE_IRRADIANCE * plane + 1] == 0.0f, "irradiance is 0 where not traced");
    CHECK(out[(SSR_PACK_PLANE_NORMAL + 2) * plane + 3] == 1.0f, "normal z copied");
    CHECK(out[SSR_PACK_PLANE_DEPTH * plane] == 0.5f, "depth normalised by the frame maximum");
    CHECK(out[SSR_PACK_PLANE_DEPTH * plane + w + 1] == 1.0f, "the deepest pixel is 1");
    CHECK(out[SSR_PACK_PLANE_MASK * plane] == 1.0f && out[SSR_PACK_PLANE_MASK * plane + 1] == 0.0f, "mask plane");
    CHECK(out[SSR_PACK_PLANE_MOTION * plane + 2] == -1.5f, "motion x copied");
    for (int64_t i = 0; i < SSR_PACK_PLANES * plane; ++i) CHECK(!isnan(out[i]), "element %lld unwritten", (long long)i);
    /* errors: nothing written, a clear code */
    CHECK(ssr_pack_frame(NULL, out, 0) == SSR_PACK_ERROR_NULL_POINTER, "NULL frame");
    CHECK(ssr_pack_frame(&frame, out, -1) == SSR_PACK_ERROR_INVALID_THREADS, "negative threads");
    CHECK(ssr_pack_frame(&frame, color, 0) == SSR_PACK_ERROR_ALIASING, "output aliasing an input");
    /* a specular floor: metallic pixels keep their albedo, a smooth dielectric gains the floor */
    metallic[0] = 0.0f;
    status = ssr_pack_frame_floored(&frame, 0.2f, out, threads);
    CHECK(status == SSR_PACK_OK, "ssr_pack_frame_floored returned %d (%s)", status, ssr_pack_status_string(status));
    const float floored = 0.25f + 0.2f * 0.7f;
    CHECK(fabsf(out[SSR_PACK_PLANE_ALBEDO * plane] - floored) < 1e-6f, "floored albedo at a dielectric");
    CHECK(out[SSR_PACK_PLANE_ALBEDO * plane + 1] == 0.25f, "a metallic pixel keeps its albedo");
    CHECK(fabsf(out[SSR_PACK_PLANE_IRRADIANCE * plane] - log1pf(0.5f / (floored + SSR_PACK_ALBEDO_EPS))) < 1e-6f,
          "irradiance demodulated by the floored albedo");
    CHECK(ssr_pack_frame_floored(&frame, -0.1f, out, 0) == SSR_PACK_ERROR_INVALID_FLOOR, "negative floor");
    CHECK(ssr_pack_frame_floored(&frame, NAN, out, 0) == SSR_PACK_ERROR_INVALID_FLOOR, "NaN floor");
    free(color); free(albedo); free(normal); free(depth); free(roughness); free(metallic);
    free(shadow); free(mask); free(transparent); free(motion); free(out);
}

static void test_unpack(int threads) {
    /* a padded graph output [3, 6, 9] cropped to 5 x 7, clamped */
    const int64_t ph = 6, pw = 9, h = 5, w = 7;
    float *planes = layer(ph, pw, 3, 0.0f);
    for (int c = 0; c < 3; ++c)
        for (int64_t y = 0; y < ph; ++y)
            for (int64_t x = 0; x < pw; ++x) planes[(c * ph + y) * pw + x] = (float)(c * 100 + y * 10 + x);
    planes[0] = -2.0f;
    planes[1] = NAN;
    float *out = layer(h, w, 3, -7.0f);
    int status = ssr_unpack_color(planes, ph * pw, pw, h, w, out, threads);
    CHECK(status == SSR_PACK_OK, "ssr_unpack_color returned %d", status);
    CHECK(out[0] == 0.0f && out[3] == 0.0f, "negative and NaN clamp to 0");
    CHECK(out[(2 * w + 3) * 3 + 1] == 100.0f + 23.0f, "G of pixel (2, 3)");
    CHECK(out[((h - 1) * w + (w - 1)) * 3 + 2] == 200.0f + 46.0f, "B of the last pixel (the crop)");
    CHECK(ssr_unpack_color(planes, ph * pw, 3, h, w, out, 0) == SSR_PACK_ERROR_INVALID_SIZE, "row stride < width");
    CHECK(ssr_unpack_color(planes, ph * pw, pw, h, w, planes, 0) == SSR_PACK_ERROR_ALIASING, "aliasing");
    free(planes);
    free(out);
}

/* A flat, fully traced frame with zero motion and all-zero weights: every stage output is
 * known in closed form (normalised kernels and convex blends of equal values give the value
 * back; zero convs give ReLU(0) = 0). */
static void test_stages(int threads) {
    const int64_t h = 6, w = 8, plane = h * w, half = plane / 4;
    const float irradiance = 0.75f, albedo = 0.4f;
    float *packed = layer(h, w, SSR_PACK_PLANES, 0.0f);
    for (int64_t i = 0; i < plane; ++i) {
        for (int c = 0; c < 3; ++c) {
            packed[(SSR_PACK_PLANE_IRRADIANCE + c) * plane + i] = log1pf(irradiance);
            packed[(SSR_PACK_PLANE_ALBEDO + c) * plane + i] = albedo;
        }
        packed[SSR_PACK_PLANE_MASK * plane + i] = 1.0f;
    }
    static float zeros[64 * 34 * 4];
    ssr_stage_weights weights = {12, 8, 8, 24, 3, zeros, zeros, zeros, zeros, zeros, zeros, zeros, zeros,
                                 zeros, zeros, zeros, zeros, zeros, zeros, zeros, zeros};
    float *acc_new = layer(h, w, SSR_PACK_STATE_PLANES, NAN), *guide = layer(h, w, 8, NAN), *prev = layer(h, w, 3, NAN);
    float *down = layer(h / 2, w / 2, 24, NAN), *prev_half = layer(h / 2, w / 2, 3, NAN);
    float *signal = layer(h / 2, w / 2, SSR_STAGE_SIGNAL_PLANES, NAN);
    float *coarse = layer(h / 2, w / 2, 3, log1pf(irradiance)), *carry = layer(h / 2, w / 2, 4, irradiance);
    for (int64_t i = 0; i < half; ++i) carry[3 * half + i] = 1.0f;
    float *out_log = layer(h, w, 3, NAN), *color = layer(h, w, 3, NAN);
    float *acc = layer(h, w, SSR_PACK_STATE_PLANES, 0.0f), *prev_out = layer(h, w, 3, 0.0f);
    for (int frame = 0; frame < 2; ++frame) {
        const int reset = frame == 0;
        int status = ssr_stage_accumulate(packed, acc, prev_out, reset, h, w, h, w, &weights, acc_new, guide, prev, down,
                                          prev_half, signal, NULL, threads);
        CHECK(status == SSR_PACK_OK, "ssr_stage_accumulate returned %d (%s)", status, ssr_pack_status_string(status));
        CHECK(fabsf(acc_new[0] - irradiance) < 1e-6f, "A_irr holds linear irradiance (frame %d)", frame);
        CHECK(fabsf(prev[plane + 9] - log1pf(irradiance)) < 1e-6f, "warped previous output (frame %d)", frame);
        CHECK(fabsf(prev_half[half - 1] - log1pf(irradiance)) < 1e-6f, "pooled previous output");
        CHECK(fabsf(signal[3] - irradiance) < 1e-6f && fabsf(signal[3 * half] - 1.0f) < 1e-6f, "pooled signal");
        CHECK(guide[5] == 0.0f && down[7] == 0.0f, "zero convs give ReLU(0)");
        status = ssr_stage_resolve(coarse, carry, guide, prev, acc_new, packed, NULL, reset, h, w, h - 1, w - 2, &weights,
                                   out_log, color, threads);
        CHECK(status == SSR_PACK_OK, "ssr_stage_resolve returned %d", status);
        for (int64_t i = 0; i < (h - 1) * (w - 2) * 3; ++i)
            CHECK(fabsf(color[i] - irradiance * (albedo + SSR_PACK_ALBEDO_EPS)) < 1e-5f, "flat colour at %lld (frame %d)",
                  (long long)i, frame);
        CHECK(fabsf(out_log[plane - 1] - log1pf(irradiance)) < 1e-6f, "out_log");
        memcpy(acc, acc_new, sizeof(float) * SSR_PACK_STATE_PLANES * plane);
        memcpy(prev_out, out_log, sizeof(float) * 3 * plane);
    }
    CHECK(ssr_stage_accumulate(packed, acc, prev_out, 0, h, w - 1, h, w - 1, &weights, acc_new, guide, prev, down, prev_half,
                               signal, NULL, 0) == SSR_PACK_ERROR_INVALID_SIZE, "odd width");
    CHECK(ssr_stage_accumulate(packed, acc, prev_out, 0, h, w, h + 1, w, &weights, acc_new, guide, prev, down, prev_half,
                               signal, NULL, 0) == SSR_PACK_ERROR_INVALID_SIZE, "frame taller than the planes");
    CHECK(ssr_stage_accumulate(packed, acc, prev_out, 0, h, w, h, 0, &weights, acc_new, guide, prev, down, prev_half,
                               signal, NULL, 0) == SSR_PACK_ERROR_INVALID_SIZE, "empty frame in non-empty planes");
    CHECK(ssr_stage_accumulate(packed, NULL, prev_out, 0, h, w, h, w, &weights, acc_new, guide, prev, down, prev_half, signal, NULL,
                               0) == SSR_PACK_ERROR_NULL_POINTER, "missing state without a reset");
    CHECK(ssr_stage_accumulate(packed, acc, prev_out, 0, h, w, h, w, &weights, acc_new, packed, prev, down, prev_half, signal, NULL,
                               0) == SSR_PACK_ERROR_ALIASING, "guide aliasing packed");
    weights.kernel_size = 4;
    CHECK(ssr_stage_resolve(coarse, carry, guide, prev, acc_new, packed, NULL, 0, h, w, h, w, &weights, out_log, color, 0) ==
              SSR_PACK_ERROR_INVALID_SIZE, "even kernel size");
    weights.kernel_size = 3;
    CHECK(ssr_stage_resolve(coarse, carry, guide, prev, acc_new, packed, NULL, 0, h, w, h + 1, w, &weights, out_log, color,
                            0) == SSR_PACK_ERROR_INVALID_SIZE, "crop larger than the frame");
    /* a dual-signal model (signal_planes = 7): the radiance numerator is pooled and filtered too, and a flat
     * frame stays flat through the radiance/irradiance blend (zero weights: blend weight 0.5) */
    weights.signal_planes = 5;
    CHECK(ssr_stage_accumulate(packed, NULL, NULL, 1, h, w, h, w, &weights, acc_new, guide, prev, down, prev_half, signal, NULL,
                               0) == SSR_PACK_ERROR_INVALID_SIZE, "signal_planes neither 4 nor 7");
    weights.signal_planes = SSR_STAGE_SIGNAL_PLANES;
    /* view_floor (last in the struct, 0 in the initialiser above = the legacy floor): negative or NaN is refused */
    weights.view_floor = -1.0f;
    CHECK(ssr_stage_accumulate(packed, NULL, NULL, 1, h, w, h, w, &weights, acc_new, guide, prev, down, prev_half, signal, NULL,
                               0) == SSR_PACK_ERROR_INVALID_SIZE, "negative view_floor");
    weights.view_floor = NAN;
    CHECK(ssr_stage_accumulate(packed, NULL, NULL, 1, h, w, h, w, &weights, acc_new, guide, prev, down, prev_half, signal, NULL,
                               0) == SSR_PACK_ERROR_INVALID_SIZE, "NaN view_floor");
    weights.view_floor = 1e-2f;
    CHECK(ssr_stage_accumulate(packed, NULL, NULL, 1, h, w, h, w, &weights, acc_new, guide, prev, down, prev_half, signal, NULL,
                               0) == SSR_PACK_OK, "view_floor 1e-2");
    CHECK(fabsf(acc_new[0] - irradiance) < 1e-6f, "a traced flat frame does not depend on the floor");
    /* history_cap (last in the struct): on a frame that traced nothing, the rule history (cap 8,
     * mirror-smooth: the pixel cap is SSR_STAGE_HISTORY_CAP_MIN) keeps the history exactly (both
     * frames miss: the taps are valid, v = 1); the learned TFA (cap 0; zero weights: equal scores,
     * beta 0.5) halves both A_irr and A_mask */
    float *untraced = layer(h, w, SSR_PACK_PLANES, 0.0f), *valid = layer(h, w, 1, NAN);
    memcpy(untraced, packed, sizeof(float) * SSR_PACK_PLANES * plane);
    for (int64_t i = 0; i < plane; ++i) {
        for (int c = 0; c < 3; ++c) untraced[(SSR_PACK_PLANE_IRRADIANCE + c) * plane + i] = 0.0f;
        untraced[SSR_PACK_PLANE_MASK * plane + i] = 0.0f;
    }
    for (int rule = 0; rule <= 1; ++rule) {
        weights.history_cap = rule ? 8.0f : 0.0f;
        CHECK(ssr_stage_accumulate(untraced, acc, prev_out, 0, h, w, h, w, &weights, acc_new, guide, prev, down, prev_half,
                                   signal, rule ? valid : NULL, 0) == SSR_PACK_OK, "history_cap %d", rule);
        const float expected = rule ? 1.0f : 0.5f;
        CHECK(fabsf(acc_new[5] - expected * irradiance) < 1e-6f, "A_irr of an untraced pixel, rule %d", rule);
        CHECK(fabsf(acc_new[SSR_PACK_PLANE_MASK * plane + 5] - expected) < 1e-6f, "A_mask / N, rule %d", rule);
    }
    CHECK(fabsf(valid[5] - 1.0f) < 1e-6f, "history_valid of a pixel whose taps all miss, as it does");
    CHECK(ssr_stage_resolve(coarse, carry, guide, prev, acc_new, untraced, valid, 0, h, w, h, w, &weights, out_log,
                            color, 0) == SSR_PACK_OK, "rule resolve with its valid plane");
    CHECK(ssr_stage_accumulate(untraced, acc, prev_out, 0, h, w, h, w, &weights, acc_new, guide, prev, down, prev_half,
                               signal, NULL, 0) == SSR_PACK_ERROR_NULL_POINTER, "rule history without history_valid");
    weights.history_cap = 1.0f;
    CHECK(ssr_stage_accumulate(untraced, acc, prev_out, 0, h, w, h, w, &weights, acc_new, guide, prev, down, prev_half,
                               signal, valid, 0) == SSR_PACK_ERROR_INVALID_SIZE, "history_cap below the mirrors' cap");
    weights.history_cap = 0.0f;
    CHECK(ssr_stage_resolve(coarse, carry, guide, prev, acc_new, untraced, valid, 0, h, w, h, w, &weights, out_log,
                            color, 0) == SSR_PACK_ERROR_NULL_POINTER, "a valid plane for a learned-history model");
    free(valid);
    free(untraced);
    weights.signal_planes = SSR_STAGE_DUAL_SIGNAL_PLANES;
    float *signal7 = layer(h / 2, w / 2, SSR_STAGE_DUAL_SIGNAL_PLANES, NAN);
    float *carry7 = layer(h / 2, w / 2, SSR_STAGE_DUAL_SIGNAL_PLANES, irradiance);
    for (int64_t i = 0; i < half; ++i) {
        carry7[3 * half + i] = 1.0f;
        for (int c = 0; c < 3; ++c) carry7[(4 + c) * half + i] = irradiance * (albedo + SSR_PACK_ALBEDO_EPS);
    }
    int status = ssr_stage_accumulate(packed, NULL, NULL, 1, h, w, h, w, &weights, acc_new, guide, prev, down, prev_half,
                                      signal7, NULL, 0);
    CHECK(status == SSR_PACK_OK, "dual ssr_stage_accumulate returned %d", status);
    CHECK(fabsf(signal7[6 * half + 2] - irradiance * (albedo + SSR_PACK_ALBEDO_EPS)) < 1e-5f, "pooled radiance numerator");
    status = ssr_stage_resolve(coarse, carry7, guide, prev, acc_new, packed, NULL, 1, h, w, h, w, &weights, out_log, color, 0);
    CHECK(status == SSR_PACK_OK, "dual ssr_stage_resolve returned %d", status);
    for (int64_t i = 0; i < h * w * 3; ++i)
        CHECK(fabsf(color[i] - irradiance * (albedo + SSR_PACK_ALBEDO_EPS)) < 1e-5f, "dual flat colour at %lld",
              (long long)i);
    free(signal7), free(carry7);
    free(packed), free(acc_new), free(guide), free(prev), free(down), free(prev_half), free(signal), free(coarse);
    free(carry), free(out_log), free(color), free(acc), free(prev_out);
}

int main(void) {
    CHECK(SSR_PACK_PLANE_MOTION + 2 == SSR_PACK_PLANES, "plane table ends at SSR_PACK_PLANES");
    CHECK(ssr_pack_resolve_threads(0, 4, 4) == 1, "small frames run on the calling thread");
    for (int threads = 0; threads <= 3; ++threads) {
        test_pack(threads);
        test_unpack(threads);
        test_stages(threads);
    }
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("libssr_pack C API: all checks passed\n");
    return 0;
}
