// backend/cpu/vector_exp.hpp — a vectorised e^x for max-shifted arguments, compiled per ISA.
//
// The fused losses spend most of their time in exponentials (softmax rows). A baseline build
// (no -march) would get SSE-only exps from Eigen, so the exp loop is compiled three times —
// AVX-512, AVX2+FMA, baseline — with function-level target attributes and picked at run time by
// the engine's CPU dispatch (gemm_isa(); DISTILLERY_GEMM=eigen|avx2 lowers it). The exp is
// branch- and call-free (Cody–Waite reduction, Taylor polynomial, exponent bits) so GCC
// vectorises the loop, and the same code runs on every ISA (up to FMA contraction).
#pragma once
#include <cstring>
#include <type_traits>

#include "gemm.hpp"

namespace distillery::cpu::loss_kernels {

// e^x for x ≤ 0 (clamped below at −708 / −87, where e^x is ~1e-308 / ~1e-38). Relative error
// < 1e-15 (double, degree-13 polynomial) / < 2e-7 (float, degree 7) on |r| ≤ ln2/2.
template <class T>
inline __attribute__((always_inline)) T exp_nonpositive(T x) {
  if constexpr (std::is_same_v<T, double>) {
    x = x < -708.0 ? -708.0 : x;
    const double shifter = 0x1.8p52 + 1023.0;  // t's low mantissa bits hold round(k) + 1023
    const double t = x * 1.4426950408889634074 + shifter;
    const double k = t - shifter;
    const double r = (x - k * 6.93147180369123816490e-01) - k * 1.90821492927058770002e-10;
    double p = 1.0 / 6227020800.0;  // 1/13!
    const double inv_fact[] = {1.0 / 479001600.0,
                               1.0 / 39916800.0,
                               1.0 / 3628800.0,
                               1.0 / 362880.0,
                               1.0 / 40320.0,
                               1.0 / 5040.0,
                               1.0 / 720.0,
                               1.0 / 120.0,
                               1.0 / 24.0,
                               1.0 / 6.0,
                               0.5,
                               1.0,
                               1.0};
    for (double c : inv_fact) p = p * r + c;
    uint64_t bits;
    std::memcpy(&bits, &t, sizeof bits);
    bits <<= 52;
    double scale;
    std::memcpy(&scale, &bits, sizeof scale);
    return p * scale;
  } else {
    x = x < -87.0f ? -87.0f : x;
    const float shifter = 0x1.8p23f + 127.0f;
    const float t = x * 1.44269504088896341f + shifter;
    const float k = t - shifter;
    const float r = (x - k * 0.693359375f) - k * -2.12194440e-4f;
    float p = 1.0f / 5040.0f;  // 1/7!
    const float inv_fact[] = {1.0f / 720.0f, 1.0f / 120.0f, 1.0f / 24.0f, 1.0f / 6.0f,
                              0.5f,          1.0f,          1.0f};
    for (float c : inv_fact) p = p * r + c;
    uint32_t bits;
    std::memcpy(&bits, &t, sizeof bits);
    bits <<= 23;
    float scale;
    std::memcpy(&scale, &bits, sizeof scale);
    return p * scale;
  }
}

// out[i] = e^((x[i] − shift)·scale) for x[i] ≤ shift, scale > 0; one clone per ISA.
template <class T>
inline __attribute__((always_inline)) void exp_shifted_loop(const T* x, T shift, T scale, T* out,
                                                            int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = exp_nonpositive<T>((x[i] - shift) * scale);
}
#ifdef DST_GEMM_X86
template <class T>
DST_TARGET_AVX512 void exp_shifted_avx512(const T* x, T shift, T scale, T* out, int64_t n) {
  exp_shifted_loop(x, shift, scale, out, n);
}
template <class T>
DST_TARGET_AVX2 void exp_shifted_avx2(const T* x, T shift, T scale, T* out, int64_t n) {
  exp_shifted_loop(x, shift, scale, out, n);
}
#endif
template <class T>
void exp_shifted_baseline(const T* x, T shift, T scale, T* out, int64_t n) {
  exp_shifted_loop(x, shift, scale, out, n);
}
template <class T>
void exp_shifted(const T* x, T shift, T scale, T* out, int64_t n) {
#ifdef DST_GEMM_X86
  switch (gemm_isa()) {
    case GemmIsa::avx512:
      return exp_shifted_avx512(x, shift, scale, out, n);
    case GemmIsa::avx2:
      return exp_shifted_avx2(x, shift, scale, out, n);
    default:
      break;
  }
#endif
  exp_shifted_baseline(x, shift, scale, out, n);
}

}  // namespace distillery::cpu::loss_kernels
