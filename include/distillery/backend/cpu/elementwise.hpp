// backend/cpu/elementwise.hpp — the CPU kernels of the elementwise family:
// fill, copy, cast, unary, binary, where, and dropout masks (bernoulli.hpp).
//
// One family per file, mirroring ops/elementwise.hpp, cuda/kernels_elementwise.cu and
// tests/ops/table_elementwise.hpp (the family list is in backend/cpu/kernels.hpp). The
// families stack into one table: each Cpu<Family><T> derives from the previous family, and
// CpuKernels<T> (kernels.hpp) is the last. Only backend/cpu/implementation.hpp instantiates
// them.
#pragma once
#include <cstring>

#include "../kernel_table.hpp"
#include "bernoulli.hpp"
#include "gemm.hpp"
#include "parallel.hpp"
#include "strided.hpp"

namespace distillery::cpu {

// Accumulator type of reductions: double for floating types, T for integers.
template <class T>
using Acc = std::conditional_t<std::is_floating_point_v<T>, double, T>;

template <class T>
struct CpuElementwise : KernelTable<T> {
  using I = int64_t;

  void fill(T* out, int64_t n, T value) override {
    parallel_for(n, 1, [&](int64_t b, int64_t e) { std::fill(out + b, out + e, value); });
  }

  void copy(const T* src, const View& sv, T* dst, const View& dv) override {
    if (is_contiguous_view(sv, sv.shape) && is_contiguous_view(dv, dv.shape)) {
      const T* s = src + sv.offset;
      T* d = dst + dv.offset;
      parallel_for(sv.shape.numel(), 1, [&](int64_t b, int64_t e) {
        std::memcpy(d + b, s + b, sizeof(T) * (e - b));
      });
      return;
    }
    const View* vs[2] = {&sv, &dv};
    strided_rows<2>(sv.shape, vs, [&](int64_t, const int64_t* o, int64_t n, const int64_t* st) {
      const T* s = src + o[0];
      T* d = dst + o[1];
      if (st[0] == 1 && st[1] == 1) std::copy(s, s + n, d);
      else if (st[1] == 1) for (int64_t i = 0; i < n; ++i) d[i] = s[i * st[0]];
      else for (int64_t i = 0; i < n; ++i) d[i * st[1]] = s[i * st[0]];
    });
  }

  template <class S>
  void cast_impl(const S* src, T* dst, int64_t n) {
    parallel_for(n, 1, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) dst[i] = static_cast<T>(src[i]);
    });
  }
  void cast(const float* s, T* d, int64_t n) override { cast_impl(s, d, n); }
  void cast(const double* s, T* d, int64_t n) override { cast_impl(s, d, n); }
  void cast(const int64_t* s, T* d, int64_t n) override { cast_impl(s, d, n); }

  // Float GELU and tanh loops are compiled per ISA (AVX-512, AVX2+FMA, baseline; picked by gemm_isa()
  // like losses/vector_exp.hpp): their arithmetic (scalar_math.hpp) is branch- and call-free,
  // so GCC vectorises each clone even in a baseline build.
  template <UnaryOp OP>
  static constexpr bool kWideUnary = std::is_same_v<T, float> &&
                                     (OP == UnaryOp::gelu_erf || OP == UnaryOp::gelu_erf_grad ||
                                      OP == UnaryOp::tanh);
  template <UnaryOp OP>
  static inline __attribute__((always_inline)) void unary_span(const T* __restrict a,
                                                               T* __restrict out, int64_t n,
                                                               T p1, T p2) {
    scalar::UnaryF<OP> f;
    for (int64_t i = 0; i < n; ++i) out[i] = f(a[i], p1, p2);
  }
#ifdef DST_GEMM_X86
  template <UnaryOp OP>
  DST_TARGET_AVX512 static void unary_span_avx512(const T* a, T* out, int64_t n, T p1, T p2) {
    unary_span<OP>(a, out, n, p1, p2);
  }
  template <UnaryOp OP>
  DST_TARGET_AVX2 static void unary_span_avx2(const T* a, T* out, int64_t n, T p1, T p2) {
    unary_span<OP>(a, out, n, p1, p2);
  }
#endif
  template <UnaryOp OP>
  static void unary_span_isa(const T* a, T* out, int64_t n, T p1, T p2) {
#ifdef DST_GEMM_X86
    switch (gemm_isa()) {
      case GemmIsa::avx512: return unary_span_avx512<OP>(a, out, n, p1, p2);
      case GemmIsa::avx2: return unary_span_avx2<OP>(a, out, n, p1, p2);
      default: break;
    }
#endif
    unary_span<OP>(a, out, n, p1, p2);
  }

  template <UnaryOp OP>
  static void unary_loop(const T* a, T* out, int64_t n, T p1, T p2) {
    scalar::UnaryF<OP> f;
    parallel_for(n, 8, [&](int64_t b, int64_t e) {
      if constexpr (kWideUnary<OP>) unary_span_isa<OP>(a + b, out + b, e - b, p1, p2);
      else for (int64_t i = b; i < e; ++i) out[i] = f(a[i], p1, p2);
    });
  }

  void unary(UnaryOp op, const T* a, T* out, int64_t n, T p1, T p2) override {
    if constexpr (std::is_floating_point_v<T>) {
      switch (op) {
#define DST_U(name) \
  case UnaryOp::name: return unary_loop<UnaryOp::name>(a, out, n, p1, p2);
        DST_U(neg) DST_U(recip) DST_U(add_scalar) DST_U(mul_scalar) DST_U(pow_scalar)
        DST_U(rsub_scalar) DST_U(exp) DST_U(log) DST_U(sqrt) DST_U(rsqrt) DST_U(abs) DST_U(sign)
        DST_U(square) DST_U(sin) DST_U(cos) DST_U(relu) DST_U(step) DST_U(leaky_relu)
        DST_U(leaky_relu_slope) DST_U(gelu_erf) DST_U(gelu_erf_grad) DST_U(gelu_tanh) DST_U(sigmoid) DST_U(tanh)
        DST_U(softplus) DST_U(log1p) DST_U(expm1) DST_U(erf) DST_U(clamp) DST_U(inside)
        DST_U(gt_scalar) DST_U(ge_scalar) DST_U(lt_scalar) DST_U(le_scalar) DST_U(eq_scalar)
        DST_U(ne_scalar)
#undef DST_U
      }
    } else {
      (void)op; (void)a; (void)out; (void)n; (void)p1; (void)p2;
      fail("unary", "not available for integer tensors");
    }
  }

  template <BinaryOp OP>
  static void binary_loop(const T* a, const View& av, const T* b, const View& bv, T* out,
                          const Shape& shape) {
    scalar::BinaryF<OP> f;
    const int64_t n = shape.numel();
    const bool ac = is_contiguous_view(av, shape), bc = is_contiguous_view(bv, shape);
    if (ac && bc) {
      const T* pa = a + av.offset; const T* pb = b + bv.offset;
      parallel_for(n, 4, [&](int64_t s, int64_t e) {
        for (int64_t i = s; i < e; ++i) out[i] = f(pa[i], pb[i]);
      });
      return;
    }
    if (ac && is_scalar_view(bv, shape)) {
      const T* pa = a + av.offset; const T vb = b[bv.offset];
      parallel_for(n, 4, [&](int64_t s, int64_t e) {
        for (int64_t i = s; i < e; ++i) out[i] = f(pa[i], vb);
      });
      return;
    }
    if (bc && is_scalar_view(av, shape)) {
      const T va = a[av.offset]; const T* pb = b + bv.offset;
      parallel_for(n, 4, [&](int64_t s, int64_t e) {
        for (int64_t i = s; i < e; ++i) out[i] = f(va, pb[i]);
      });
      return;
    }
    const View* vs[2] = {&av, &bv};
    strided_rows<2>(shape, vs, [&](int64_t flat, const int64_t* o, int64_t n, const int64_t* st) {
      T* y = out + flat;
      const T* pa = a + o[0];
      const T* pb = b + o[1];
      if (st[0] == 1 && st[1] == 1) {
        for (int64_t i = 0; i < n; ++i) y[i] = f(pa[i], pb[i]);
      } else if (st[0] == 1 && st[1] == 0) {
        const T vb = *pb;
        for (int64_t i = 0; i < n; ++i) y[i] = f(pa[i], vb);
      } else if (st[0] == 0 && st[1] == 1) {
        const T va = *pa;
        for (int64_t i = 0; i < n; ++i) y[i] = f(va, pb[i]);
      } else {
        for (int64_t i = 0; i < n; ++i) y[i] = f(pa[i * st[0]], pb[i * st[1]]);
      }
    });
  }

  void binary(BinaryOp op, const T* a, const View& av, const T* b, const View& bv, T* out,
              const Shape& shape) override {
    if constexpr (std::is_floating_point_v<T>) {
      switch (op) {
#define DST_B(name) \
  case BinaryOp::name: return binary_loop<BinaryOp::name>(a, av, b, bv, out, shape);
        DST_B(add) DST_B(sub) DST_B(mul) DST_B(div) DST_B(pow) DST_B(maximum) DST_B(minimum)
        DST_B(gt) DST_B(ge) DST_B(lt) DST_B(le) DST_B(eq) DST_B(ne)
#undef DST_B
      }
    } else {
      (void)op; (void)a; (void)av; (void)b; (void)bv; (void)out; (void)shape;
      fail("binary", "not available for integer tensors");
    }
  }

  void where(const T* c, const View& cv, const T* a, const View& av, const T* b, const View& bv,
             T* out, const Shape& shape) override {
    const View* vs[3] = {&cv, &av, &bv};
    strided_for<3>(shape, vs, [&](int64_t i, const int64_t* o) {
      out[i] = c[o[0]] != T(0) ? a[o[1]] : b[o[2]];
    });
  }

  void bernoulli_mask(uint64_t seed, double p, T keep, T* out, int64_t n) override {
    cpu::bernoulli_mask(seed, p, keep, out, n);
  }

};

}  // namespace distillery::cpu
