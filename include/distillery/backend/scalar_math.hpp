// backend/scalar_math.hpp — the arithmetic of every elementwise kernel, written once.
//
// These are plain scalar functions marked DST_HD (= __host__ __device__ under nvcc), so the
// CPU loops and the CUDA kernels evaluate exactly the same expressions and the CPU test suite
// exercises the arithmetic the GPU runs. Op codes are enums; kernels switch on the code once,
// outside the element loop, and instantiate a loop per functor.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

#if defined(__CUDACC__)
#define DST_HD __host__ __device__ __forceinline__
#define DST_HD_FOLD DST_HD
#else
#define DST_HD inline
// The op switches below and their functors: always inlined, so a loop instantiated per op folds
// the switch away. Left to the inliner, GCC stopped inlining them in the one large kernels unit
// once it grew (the element loops then called the whole switch per element: mlp_step 1.8x).
#if defined(__GNUC__)
#define DST_HD_FOLD inline __attribute__((always_inline))
#else
#define DST_HD_FOLD inline
#endif
#endif

namespace distillery {

// Elementwise unary ops. p1/p2 are scalar parameters (documented per op).
enum class UnaryOp : int {
  neg, recip, add_scalar /*x+p1*/, mul_scalar /*x*p1*/, pow_scalar /*x^p1*/, rsub_scalar /*p1-x*/,
  exp, log, sqrt, rsqrt, abs, sign, square, sin, cos,
  relu, step /*x>0*/, leaky_relu /*slope p1*/, leaky_relu_slope /*x>0 ? 1 : p1*/,
  gelu_erf, gelu_erf_grad /*gelu_erf'(x) = Φ(x) + x φ(x)*/, gelu_tanh, sigmoid, tanh, softplus /*beta p1, threshold p2*/, log1p, expm1, erf,
  clamp /*[p1,p2]*/, inside /*p1<=x<=p2 ? 1 : 0*/,
  gt_scalar, ge_scalar, lt_scalar, le_scalar, eq_scalar, ne_scalar /*x ? p1*/,
};

enum class BinaryOp : int { add, sub, mul, div, pow, maximum, minimum, gt, ge, lt, le, eq, ne };

enum class ReduceOp : int { sum, max, min, prod };

namespace scalar {

// Branch- and call-free float versions of e^x (x ≤ 0) and erf, so the CPU loops that use them
// vectorise (libm's expf/erff are scalar calls); the same code runs on CUDA.
// e^x for x ≤ 0, clamped below at −87: Cody–Waite reduction, degree-7 Taylor polynomial,
// exponent bits (as losses/vector_exp.hpp); relative error < 2e-7.
DST_HD float exp_nonpositive_f32(float x) {
  x = x < -87.0f ? -87.0f : x;
  const float shifter = 0x1.8p23f + 127.0f;  // t's low mantissa bits hold round(k) + 127
  const float t = x * 1.44269504088896341f + shifter;
  const float k = t - shifter;
  const float r = (x - k * 0.693359375f) - k * -2.12194440e-4f;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  uint32_t bits;
  memcpy(&bits, &t, sizeof bits);
  bits <<= 23;
  float scale;
  memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}
// erf for float: odd/even rational approximation on [−4, 4] (erf(±4) rounds to ±1 in float),
// the one of Eigen's generic_fast_erf_float / XLA; error within a few float ulps.
DST_HD float erf_f32(float a) {
  const float x = a < -4.0f ? -4.0f : (a > 4.0f ? 4.0f : a);
  const float x2 = x * x;
  float p = -2.72614225801306e-10f;
  p = p * x2 + 2.77068142495902e-08f;
  p = p * x2 + -2.10102402082508e-06f;
  p = p * x2 + -5.69250639462346e-05f;
  p = p * x2 + -7.34990630326855e-04f;
  p = p * x2 + -2.95459980854025e-03f;
  p = p * x2 + -1.60960333262415e-02f;
  float q = -1.45660718464996e-05f;
  q = q * x2 + -2.13374055278905e-04f;
  q = q * x2 + -1.68282697438203e-03f;
  q = q * x2 + -7.37332916720468e-03f;
  q = q * x2 + -1.42647390514189e-02f;
  return x * p / q;
}
// tanh for float: Eigen's generic_fast_tanh_float rational form (odd degree-13 numerator,
// even degree-6 denominator) on [−7.9053, 7.9053], beyond which tanh rounds to ±1 in float;
// branch- and call-free so the per-ISA loops vectorise it (libm's tanhf is a scalar call).
// Max error against tanh in double rounded to float, exhaustive over [−20, 20]: 7 ulps without
// FMA, 5 ulps with FMA contraction (the AVX2 / AVX-512 clones, CUDA). NaN in, NaN out; ±inf → ±1.
DST_HD float tanh_f32(float a) {
  const float c = 7.90531110763549805f;
  const float x = a < -c ? -c : (a > c ? c : a);
  const float x2 = x * x;
  float p = x2 * -2.76076847742355e-16f + 2.00018790482477e-13f;
  p = x2 * p + -8.60467152213735e-11f;
  p = x2 * p + 5.12229709037114e-08f;
  p = x2 * p + 1.48572235717979e-05f;
  p = x2 * p + 6.37261928875436e-04f;
  p = x2 * p + 4.89352455891786e-03f;
  float q = x2 * 1.19825839466702e-06f + 1.18534705686654e-04f;
  q = x2 * q + 2.26843463243900e-03f;
  q = x2 * q + 4.89352518554385e-03f;
  // |x| < 4e-4: tanh(x) = x to float precision; x * p would also go subnormal for |x| < 1e-36
  return (a < 0.0004f && a > -0.0004f) ? a : x * p / q;
}
// GELU (erf form) and its derivative Φ(x) + x φ(x); float takes the vectorisable forms above.
template <class T>
DST_HD T gelu_erf(T x) {
  if constexpr (std::is_same_v<T, float>)
    return 0.5f * x * (1.0f + erf_f32(x * 0.70710678118654752440f));
  using std::erf;
  return T(0.5) * x * (T(1) + erf(x * T(0.70710678118654752440)));
}
template <class T>
DST_HD T gelu_erf_grad(T x) {
  if constexpr (std::is_same_v<T, float>)
    return 0.5f * (1.0f + erf_f32(x * 0.70710678118654752440f)) +
           x * 0.39894228040143267794f * exp_nonpositive_f32(-0.5f * x * x);
  using std::erf; using std::exp;
  return T(0.5) * (T(1) + erf(x * T(0.70710678118654752440))) +
         x * T(0.39894228040143267794) * exp(T(-0.5) * x * x);
}

template <class T>
DST_HD_FOLD T unary(UnaryOp op, T x, T p1, T p2) {
  using std::abs; using std::cos; using std::erf; using std::exp; using std::expm1;
  using std::log; using std::log1p; using std::pow; using std::sin; using std::sqrt;
  using std::tanh;
  const T zero = T(0), one = T(1);
  switch (op) {
    case UnaryOp::neg: return -x;
    case UnaryOp::recip: return one / x;
    case UnaryOp::add_scalar: return x + p1;
    case UnaryOp::mul_scalar: return x * p1;
    case UnaryOp::pow_scalar: return p1 == T(2) ? x * x : pow(x, p1);
    case UnaryOp::rsub_scalar: return p1 - x;
    case UnaryOp::exp: return exp(x);
    case UnaryOp::log: return log(x);
    case UnaryOp::sqrt: return sqrt(x);
    case UnaryOp::rsqrt: return one / sqrt(x);
    case UnaryOp::abs: return abs(x);
    case UnaryOp::sign: return x > zero ? one : (x < zero ? -one : zero);
    case UnaryOp::square: return x * x;
    case UnaryOp::sin: return sin(x);
    case UnaryOp::cos: return cos(x);
    case UnaryOp::relu: return x > zero ? x : zero;
    case UnaryOp::step: return x > zero ? one : zero;
    case UnaryOp::leaky_relu: return x > zero ? x : x * p1;
    case UnaryOp::leaky_relu_slope: return x > zero ? one : p1;
    case UnaryOp::gelu_erf: return gelu_erf(x);
    case UnaryOp::gelu_erf_grad: return gelu_erf_grad(x);
    case UnaryOp::gelu_tanh: {
      const T k = T(0.79788456080286535588);  // sqrt(2/pi)
      return T(0.5) * x * (one + tanh(k * (x + T(0.044715) * x * x * x)));
    }
    case UnaryOp::sigmoid:
      return x >= zero ? one / (one + exp(-x)) : exp(x) / (one + exp(x));
    case UnaryOp::tanh:
      if constexpr (std::is_same_v<T, float>) return tanh_f32(x);
      else return tanh(x);
    case UnaryOp::softplus: {
      T bx = p1 * x;
      return bx > p2 ? x : (bx > zero ? bx + log1p(exp(-bx)) : log1p(exp(bx))) / p1;
    }
    case UnaryOp::log1p: return log1p(x);
    case UnaryOp::expm1: return expm1(x);
    case UnaryOp::erf: return erf(x);
    case UnaryOp::clamp: return x < p1 ? p1 : (x > p2 ? p2 : x);
    case UnaryOp::inside: return (x >= p1 && x <= p2) ? one : zero;
    case UnaryOp::gt_scalar: return x > p1 ? one : zero;
    case UnaryOp::ge_scalar: return x >= p1 ? one : zero;
    case UnaryOp::lt_scalar: return x < p1 ? one : zero;
    case UnaryOp::le_scalar: return x <= p1 ? one : zero;
    case UnaryOp::eq_scalar: return x == p1 ? one : zero;
    case UnaryOp::ne_scalar: return x != p1 ? one : zero;
  }
  return x;
}

template <class T>
DST_HD_FOLD T binary(BinaryOp op, T a, T b) {
  using std::pow;
  const T zero = T(0), one = T(1);
  switch (op) {
    case BinaryOp::add: return a + b;
    case BinaryOp::sub: return a - b;
    case BinaryOp::mul: return a * b;
    case BinaryOp::div: return a / b;
    case BinaryOp::pow: return pow(a, b);
    case BinaryOp::maximum: return a >= b ? a : b;
    case BinaryOp::minimum: return a <= b ? a : b;
    case BinaryOp::gt: return a > b ? one : zero;
    case BinaryOp::ge: return a >= b ? one : zero;
    case BinaryOp::lt: return a < b ? one : zero;
    case BinaryOp::le: return a <= b ? one : zero;
    case BinaryOp::eq: return a == b ? one : zero;
    case BinaryOp::ne: return a != b ? one : zero;
  }
  return a;
}

// Functor wrappers so loops can be instantiated per op (switch hoisted out of the loop).
template <UnaryOp OP>
struct UnaryF {
  template <class T>
  DST_HD_FOLD T operator()(T x, T p1, T p2) const { return unary<T>(OP, x, p1, p2); }
};
template <BinaryOp OP>
struct BinaryF {
  template <class T>
  DST_HD_FOLD T operator()(T a, T b) const { return binary<T>(OP, a, b); }
};

}  // namespace scalar
}  // namespace distillery
