// Branch-free float32 exp and log1p that compilers vectorise inside pixel loops (libm's
// scalar expf / log1pf were most of the native stages' time). Cephes' minimax polynomials:
// about 1-2 ulp over the ranges the stages use (internal, not part of the C API). Selects
// vectorise only without -ftrapping-math: CMakeLists.txt compiles stages.cpp with
// -fno-trapping-math (no code here relies on floating-point exceptions).
#ifndef SSR_NATIVE_FAST_MATH_H
#define SSR_NATIVE_FAST_MATH_H

#include <cstdint>
#include <cstring>

namespace ssr_native {

#if defined(__GNUC__)
#define SSR_MATH_INLINE inline __attribute__((always_inline))
#else
#define SSR_MATH_INLINE inline
#endif

SSR_MATH_INLINE float bits_to_float(int32_t bits) {
    float value;
    std::memcpy(&value, &bits, sizeof(value));
    return value;
}

SSR_MATH_INLINE int32_t float_to_bits(float value) {
    int32_t bits;
    std::memcpy(&bits, &value, sizeof(bits));
    return bits;
}

/// e^x for finite x; inputs are clamped to [-87.3, 88.37] (results in [1.2e-38, 2.4e38]).
SSR_MATH_INLINE float fast_exp(float x) {
    x = x < -87.33654f ? -87.33654f : (x > 88.3762626647949f ? 88.3762626647949f : x);
    // n = round(x / ln 2) by the 1.5 * 2^23 trick: float arithmetic only, so it vectorises
    const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    const float r = x - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    return p * bits_to_float((static_cast<int32_t>(n) + 127) << 23);
}

/// ln(y) for finite y > 0 (normal numbers).
SSR_MATH_INLINE float fast_log(float y) {
    const int32_t bits = float_to_bits(y);
    float exponent = static_cast<float>(((bits >> 23) & 0xff) - 126);
    float m = bits_to_float((bits & 0x807fffff) | 0x3f000000);  // mantissa in [0.5, 1)
    const bool small = m < 0.707106781186547524f;
    exponent = small ? exponent - 1.0f : exponent;
    m = small ? m + m - 1.0f : m - 1.0f;
    const float z = m * m;
    float p = 7.0376836292e-2f;
    p = p * m - 1.1514610310e-1f;
    p = p * m + 1.1676998740e-1f;
    p = p * m - 1.2420140846e-1f;
    p = p * m + 1.4249322787e-1f;
    p = p * m - 1.6668057665e-1f;
    p = p * m + 2.0000714765e-1f;
    p = p * m - 2.4999993993e-1f;
    p = p * m + 3.3333331174e-1f;
    p = p * m * z;
    p = p - 2.12194440e-4f * exponent;
    p = p - 0.5f * z;
    return m + p + 0.693359375f * exponent;
}

/// ln(1 + x) for finite x > -1, accurate for small x (log(u) * x / (u - 1), u = 1 + x).
SSR_MATH_INLINE float fast_log1p(float x) {
    const float u = 1.0f + x;
    const float d = u - 1.0f;
    const float ratio = d == 0.0f ? 1.0f : x / d;
    return d == 0.0f ? x : fast_log(u) * ratio;
}

}  // namespace ssr_native

#endif  // SSR_NATIVE_FAST_MATH_H
