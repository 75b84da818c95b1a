// backend/cpu/kernels.hpp — the CPU kernel table: OpenMP loops and Eigen GEMM.
//
// Each entry implements one KernelTable<T> primitive on host buffers. Elementwise arithmetic
// comes from backend/scalar_math.hpp (shared with CUDA). Reductions accumulate in double and
// split work statically, so results depend only on the inputs and the thread count.
#pragma once
#include <Eigen/Core>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <numeric>
#include <vector>

#include "../kernel_table.hpp"
#include "allocator.hpp"
#include "bernoulli.hpp"
#include "conv_direct.hpp"
#include "gemm.hpp"
#include "im2col.hpp"
#include "kd_kernel.hpp"
#include "parallel.hpp"
#include "pool.hpp"
#include "relation_kernels.hpp"
#include "strided.hpp"

namespace distillery::cpu {

struct CpuRuntime final : DeviceRuntime {
  void* allocate(std::size_t bytes) override {
    void* p = HostBlockCache::instance().allocate(bytes);
    if (!p) fail("allocate", "out of host memory asking for ", bytes, " bytes");
    return p;
  }
  void deallocate(void* p, std::size_t bytes) override {
    HostBlockCache::instance().deallocate(p, bytes);
  }
  // n == 0 may come with a null pointer (an empty std::vector): memcpy(d, nullptr, 0) is UB
  void copy_to_host(void* d, const void* s, std::size_t n) override { copy_bytes(d, s, n); }
  void copy_from_host(void* d, const void* s, std::size_t n) override { copy_bytes(d, s, n); }
  void copy_device(void* d, const void* s, std::size_t n) override { copy_bytes(d, s, n); }
  static void copy_bytes(void* d, const void* s, std::size_t n) { if (n) std::memcpy(d, s, n); }
};

template <class T>
using Acc = std::conditional_t<std::is_floating_point_v<T>, double, T>;

template <class T>
struct CpuKernels final : KernelTable<T> {
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

  // Float GELU loops are compiled per ISA (AVX-512, AVX2+FMA, baseline; picked by gemm_isa()
  // like losses/vector_exp.hpp): their arithmetic (scalar_math.hpp) is branch- and call-free,
  // so GCC vectorises each clone even in a baseline build.
  template <UnaryOp OP>
  static constexpr bool kWideUnary = std::is_same_v<T, float> &&
                                     (OP == UnaryOp::gelu_erf || OP == UnaryOp::gelu_erf_grad);
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

  void reduce(ReduceOp op, const T* in, int64_t outer, int64_t r, int64_t inner,
              T* out) override {
    switch (op) {
      case ReduceOp::sum: return reduce_t<ReduceOp::sum>(in, outer, r, inner, out);
      case ReduceOp::max: return reduce_t<ReduceOp::max>(in, outer, r, inner, out);
      case ReduceOp::min: return reduce_t<ReduceOp::min>(in, outer, r, inner, out);
      case ReduceOp::prod: return reduce_t<ReduceOp::prod>(in, outer, r, inner, out);
    }
  }

  template <ReduceOp OP>
  static Acc<T> reduce_init() {
    if constexpr (OP == ReduceOp::sum) return Acc<T>(0);
    else if constexpr (OP == ReduceOp::prod) return Acc<T>(1);
    else if constexpr (OP == ReduceOp::max)
      return std::numeric_limits<T>::has_infinity ? -std::numeric_limits<Acc<T>>::infinity()
                                                  : std::numeric_limits<Acc<T>>::lowest();
    else
      return std::numeric_limits<T>::has_infinity ? std::numeric_limits<Acc<T>>::infinity()
                                                  : std::numeric_limits<Acc<T>>::max();
  }
  template <ReduceOp OP>
  static Acc<T> reduce_combine(Acc<T> acc, Acc<T> v) {
    if constexpr (OP == ReduceOp::sum) return acc + v;
    else if constexpr (OP == ReduceOp::prod) return acc * v;
    else if constexpr (OP == ReduceOp::max) return (v > acc || v != v) ? v : acc;  // NaN wins
    else return (v < acc || v != v) ? v : acc;
  }
  // One contiguous row: kRowAcc interleaved accumulators (independent chains, vectorisable),
  // combined pairwise at the end; the order depends only on r.
  static constexpr int kRowAcc = 8;
  template <ReduceOp OP>
  static Acc<T> reduce_row(const T* p, int64_t r) {
    Acc<T> acc[kRowAcc];
    for (int k = 0; k < kRowAcc; ++k) acc[k] = reduce_init<OP>();
    int64_t j = 0;
    for (; j + kRowAcc <= r; j += kRowAcc)
      for (int k = 0; k < kRowAcc; ++k) acc[k] = reduce_combine<OP>(acc[k], Acc<T>(p[j + k]));
    for (; j < r; ++j) acc[0] = reduce_combine<OP>(acc[0], Acc<T>(p[j]));
    for (int w = kRowAcc / 2; w >= 1; w /= 2)
      for (int k = 0; k < w; ++k) acc[k] = reduce_combine<OP>(acc[k], acc[k + w]);
    return acc[0];
  }

  template <ReduceOp OP>
  static void reduce_t(const T* in, int64_t outer, int64_t r, int64_t inner, T* out) {
    if (inner == 1 && outer == 1) {  // one long reduction: fixed chunks, combined in order
      int nt = (r >= kParallelGrain && !in_parallel()) ? max_threads() : 1;
      std::vector<Acc<T>> part(nt, reduce_init<OP>());
      int64_t chunk = (r + nt - 1) / nt;
      parallel_for(nt, kParallelGrain, [&](int64_t tb, int64_t te) {
        for (int64_t t = tb; t < te; ++t) {
          const int64_t j0 = std::min(r, t * chunk), j1 = std::min(r, (t + 1) * chunk);
          part[t] = reduce_row<OP>(in + j0, j1 - j0);
        }
      });
      Acc<T> acc = reduce_init<OP>();
      for (int t = 0; t < nt; ++t) acc = reduce_combine<OP>(acc, part[t]);
      out[0] = static_cast<T>(acc);
      return;
    }
    if (inner == 1) {
      parallel_for(outer, r, [&](int64_t b, int64_t e) {
        for (int64_t o = b; o < e; ++o) out[o] = static_cast<T>(reduce_row<OP>(in + o * r, r));
      });
      return;
    }
    // [outer, r, inner]: each output accumulates over j in order; rows are read contiguously,
    // kInnerBlock outputs at a time (work split over (o, block) pairs).
    constexpr int64_t kInnerBlock = 256;
    const int64_t nblk = (inner + kInnerBlock - 1) / kInnerBlock;
    parallel_for(outer * nblk, r * std::min(inner, kInnerBlock), [&](int64_t b, int64_t e) {
      Acc<T> acc[kInnerBlock];
      for (int64_t ob = b; ob < e; ++ob) {
        const int64_t o = ob / nblk, i0 = (ob % nblk) * kInnerBlock;
        const int64_t len = std::min(kInnerBlock, inner - i0);
        for (int64_t i = 0; i < len; ++i) acc[i] = reduce_init<OP>();
        const T* p = in + o * r * inner + i0;
        for (int64_t j = 0; j < r; ++j, p += inner)
          for (int64_t i = 0; i < len; ++i) acc[i] = reduce_combine<OP>(acc[i], Acc<T>(p[i]));
        for (int64_t i = 0; i < len; ++i) out[o * inner + i0 + i] = static_cast<T>(acc[i]);
      }
    });
  }

  void arg_reduce(bool is_max, const T* in, int64_t outer, int64_t r, int64_t inner,
                  I* out) override {
    parallel_for(outer * inner, r, [&](int64_t b, int64_t e) {
      for (int64_t oi = b; oi < e; ++oi) {
        int64_t o = oi / inner, i = oi % inner;
        const T* p = in + o * r * inner + i;
        int64_t best = 0;
        T bv = p[0];
        for (int64_t j = 1; j < r; ++j) {
          T v = p[j * inner];
          if (bv != bv) break;  // NaN wins
          if (is_max ? (v > bv || v != v) : (v < bv || v != v)) { bv = v; best = j; }
        }
        out[oi] = best;
      }
    });
  }

  void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* A, int64_t lda,
            int64_t sA, const T* B, int64_t ldb, int64_t sB, T beta, T* C, int64_t ldc,
            int64_t sC, int64_t batch) override {
    if constexpr (std::is_floating_point_v<T>) {
      if (m <= 0 || n <= 0 || batch <= 0) return;
      if (k > 0 && packed_gemm(ta, tb, m, n, k, alpha, A, lda, sA, B, ldb, sB, beta, C, ldc, sC,
                               batch))
        return;
      using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
      using CMap = Eigen::Map<const Mat, 0, Eigen::OuterStride<>>;
      using MMap = Eigen::Map<Mat, 0, Eigen::OuterStride<>>;
      auto one = [&](int64_t bi) {
        MMap c(C + bi * sC, m, n, Eigen::OuterStride<>(ldc));
        if (k == 0) { if (beta == T(0)) c.setZero(); else c *= beta; return; }
        CMap a0(A + bi * sA, ta ? k : m, ta ? m : k, Eigen::OuterStride<>(lda));
        CMap b0(B + bi * sB, tb ? n : k, tb ? k : n, Eigen::OuterStride<>(ldb));
        if (beta == T(0)) {
          if (!ta && !tb) c.noalias() = alpha * (a0 * b0);
          else if (ta && !tb) c.noalias() = alpha * (a0.transpose() * b0);
          else if (!ta && tb) c.noalias() = alpha * (a0 * b0.transpose());
          else c.noalias() = alpha * (a0.transpose() * b0.transpose());
        } else {
          if (beta != T(1)) c *= beta;
          if (!ta && !tb) c.noalias() += alpha * (a0 * b0);
          else if (ta && !tb) c.noalias() += alpha * (a0.transpose() * b0);
          else if (!ta && tb) c.noalias() += alpha * (a0 * b0.transpose());
          else c.noalias() += alpha * (a0.transpose() * b0.transpose());
        }
      };
      const int64_t flops = m * n * k;
      if (batch > 1 && flops < 64 * 64 * 64) {
        parallel_for(batch, flops, [&](int64_t b, int64_t e) {
          for (int64_t bi = b; bi < e; ++bi) one(bi);
        });
      } else {
        for (int64_t bi = 0; bi < batch; ++bi) one(bi);
      }
    } else {
      fail("gemm", "not available for integer tensors");
    }
  }

  void gather(const T* in, const Shape& in_shape, const I* idx, const Shape& idx_shape, int dim,
              T* out) override {
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < dim; ++d) outer *= idx_shape[d];
    for (int d = dim + 1; d < idx_shape.size(); ++d) inner *= idx_shape[d];
    const int64_t din = in_shape[dim], dix = idx_shape[dim];
    std::atomic<bool> bad{false};
    parallel_for(outer, dix * inner, [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o)
        for (int64_t j = 0; j < dix; ++j)
          for (int64_t i = 0; i < inner; ++i) {
            int64_t p = (o * dix + j) * inner + i;
            int64_t k = idx[p];
            if (k < 0 || k >= din) { bad = true; out[p] = T(0); continue; }
            out[p] = in[(o * din + k) * inner + i];
          }
    });
    if (bad) fail("gather", "index out of range for dimension ", dim, " of size ", din);
  }

  void scatter_add(T* out, const Shape& out_shape, const I* idx, const Shape& idx_shape,
                   const T* src, int dim) override {
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < dim; ++d) outer *= idx_shape[d];
    for (int d = dim + 1; d < idx_shape.size(); ++d) inner *= idx_shape[d];
    const int64_t dout = out_shape[dim], dix = idx_shape[dim];
    std::atomic<bool> bad{false};
    if (inner == 1) {  // e.g. max_pool2d's backward: rows of indices, pointers kept in registers
      parallel_for(outer, dix, [=, &bad](int64_t b, int64_t e) {
        bool oob = false;
        for (int64_t o = b; o < e; ++o) {
          T* __restrict d = out + o * dout;
          const T* __restrict s = src + o * dix;
          const I* __restrict ix = idx + o * dix;
          for (int64_t j = 0; j < dix; ++j) {
            const int64_t k = ix[j];
            if (static_cast<uint64_t>(k) >= static_cast<uint64_t>(dout)) { oob = true; continue; }
            d[k] += s[j];
          }
        }
        if (oob) bad = true;
      });
      if (bad) fail("scatter_add", "index out of range for dimension ", dim, " of size ", dout);
      return;
    }
    parallel_for(outer, dix * inner, [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o)
        for (int64_t j = 0; j < dix; ++j)
          for (int64_t i = 0; i < inner; ++i) {
            int64_t p = (o * dix + j) * inner + i;
            int64_t k = idx[p];
            if (k < 0 || k >= dout) { bad = true; continue; }
            out[(o * dout + k) * inner + i] += src[p];
          }
    });
    if (bad) fail("scatter_add", "index out of range for dimension ", dim, " of size ", dout);
  }

  void index_select(const T* in, int64_t outer, int64_t n, int64_t inner, const I* idx,
                    int64_t nidx, T* out) override {
    for (int64_t j = 0; j < nidx; ++j)
      if (idx[j] < 0 || idx[j] >= n)
        fail("index_select", "index ", idx[j], " out of range for size ", n);
    parallel_for(outer * nidx, inner, [&](int64_t b, int64_t e) {
      for (int64_t oj = b; oj < e; ++oj) {
        int64_t o = oj / nidx, j = oj % nidx;
        std::memcpy(out + oj * inner, in + (o * n + idx[j]) * inner, sizeof(T) * inner);
      }
    });
  }

  void index_add(T* out, int64_t outer, int64_t n, int64_t inner, const I* idx, int64_t nidx,
                 const T* src) override {
    for (int64_t j = 0; j < nidx; ++j)
      if (idx[j] < 0 || idx[j] >= n)
        fail("index_add", "index ", idx[j], " out of range for size ", n);
    parallel_for(outer, nidx * inner, [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o)
        for (int64_t j = 0; j < nidx; ++j) {
          T* d = out + (o * n + idx[j]) * inner;
          const T* s = src + (o * nidx + j) * inner;
          for (int64_t i = 0; i < inner; ++i) d[i] += s[i];
        }
    });
  }

  void softmax(const T* in, T* out, int64_t rows, int64_t cols, bool log) override {
    parallel_for(rows, cols * 4, [&](int64_t b, int64_t e) {
      for (int64_t r = b; r < e; ++r) {
        const T* x = in + r * cols;
        T* y = out + r * cols;
        T m = -std::numeric_limits<T>::infinity();
        for (int64_t j = 0; j < cols; ++j) m = std::max(m, x[j]);
        if (m == -std::numeric_limits<T>::infinity()) m = T(0);  // fully masked row
        Acc<T> s = 0;
        if (log) {
          for (int64_t j = 0; j < cols; ++j) s += std::exp(x[j] - m);
          T lse = m + static_cast<T>(std::log(s));
          for (int64_t j = 0; j < cols; ++j) y[j] = x[j] - lse;
        } else {
          for (int64_t j = 0; j < cols; ++j) { y[j] = std::exp(x[j] - m); s += y[j]; }
          T inv = static_cast<T>(1.0 / s);
          for (int64_t j = 0; j < cols; ++j) y[j] *= inv;
        }
      }
    });
  }

  void im2col(const T* x, const Conv2dGeometry& g, T* cols) override {
    const int64_t L = g.Ho * g.Wo;
    im2col_rows(x, g, cols, L, g.C * g.kh * g.kw * L);
  }

  void col2im(const T* cols, const Conv2dGeometry& g, T* x) override {
    const int64_t L = g.Ho * g.Wo;
    col2im_rows(cols, g, x, L, g.C * g.kh * g.kw * L);
  }

  // One output row of a 2×2 stride-2 max pool over input rows r0 and r0 + W (flat index of
  // r0[0] is q0). Ties keep the first element; a NaN wins (the last NaN seen, as the general
  // path). Four outputs at a time with SSE2 selects for float (comparisons are unpredictable).
  static void max_pool_2x2_row(const T* r0, int64_t W, int64_t q0, int64_t Wo, T* out, I* idx) {
    const T* r1 = r0 + W;
    int64_t ow = 0;
#ifdef DST_GEMM_X86
    if constexpr (std::is_same_v<T, float>)  // backend/cpu/pool.hpp, same selection rule
      if (gemm_isa() == GemmIsa::avx512 && Wo >= 8 &&
          q0 + 2 * Wo + W + 1 <= int64_t(std::numeric_limits<int32_t>::max()))
        return max_pool_2x2_row_avx512(r0, W, q0, Wo, out, idx);
#endif
#if defined(__SSE2__)
    // The winner's offset inside the window (0, 1, W or W + 1) is selected like the value, so
    // the flat indices are q0 + 2·ow + offset, widened to int64 by interleaving with zeros.
    if constexpr (std::is_same_v<T, float>) {
      const bool fits = q0 + 2 * Wo + W + 1 <= int64_t(std::numeric_limits<int32_t>::max());
      const int64_t vec_end = fits ? Wo : 0;  // int32 indices
      const __m128i one = _mm_set1_epi32(1), below = _mm_set1_epi32(int32_t(W)),
                    diag = _mm_set1_epi32(int32_t(W + 1)), zero = _mm_setzero_si128();
      const __m128i lane2 = _mm_setr_epi32(0, 2, 4, 6);
      for (; ow + 4 <= vec_end; ow += 4) {
        const __m128 x0 = _mm_loadu_ps(r0 + 2 * ow), x1 = _mm_loadu_ps(r0 + 2 * ow + 4);
        const __m128 y0 = _mm_loadu_ps(r1 + 2 * ow), y1 = _mm_loadu_ps(r1 + 2 * ow + 4);
        const __m128 a = _mm_shuffle_ps(x0, x1, _MM_SHUFFLE(2, 0, 2, 0));  // r0[2ow]
        const __m128 b = _mm_shuffle_ps(x0, x1, _MM_SHUFFLE(3, 1, 3, 1));  // r0[2ow + 1]
        const __m128 c = _mm_shuffle_ps(y0, y1, _MM_SHUFFLE(2, 0, 2, 0));  // r1[2ow]
        const __m128 d = _mm_shuffle_ps(y0, y1, _MM_SHUFFLE(3, 1, 3, 1));  // r1[2ow + 1]
        __m128 best = a;
        __m128i which = _mm_setzero_si128();
        auto step = [&](__m128 v, __m128i code) {
          const __m128 m = _mm_or_ps(_mm_cmpgt_ps(v, best), _mm_cmpunord_ps(v, v));
          best = _mm_or_ps(_mm_and_ps(m, v), _mm_andnot_ps(m, best));
          const __m128i mi = _mm_castps_si128(m);
          which = _mm_or_si128(_mm_and_si128(mi, code), _mm_andnot_si128(mi, which));
        };
        step(b, one);
        step(c, below);
        step(d, diag);
        _mm_storeu_ps(out + ow, best);
        const __m128i q = _mm_add_epi32(_mm_add_epi32(_mm_set1_epi32(int32_t(q0 + 2 * ow)), lane2),
                                        which);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(idx + ow), _mm_unpacklo_epi32(q, zero));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(idx + ow + 2), _mm_unpackhi_epi32(q, zero));
      }
    }
#endif
    for (; ow < Wo; ++ow) {
      const int64_t q = q0 + 2 * ow;
      T best = r0[2 * ow];
      int64_t bi = q;
      const T cand[3] = {r0[2 * ow + 1], r1[2 * ow], r1[2 * ow + 1]};
      const int64_t where[3] = {q + 1, q + W, q + W + 1};
      for (int j = 0; j < 3; ++j)
        if (cand[j] > best || cand[j] != cand[j]) { best = cand[j]; bi = where[j]; }
      out[ow] = best;
      idx[ow] = bi;
    }
  }

  void max_pool2d(const T* x, const Conv2dGeometry& g, T* out, I* idx) override {
    // Windows fully inside the image (no padding, no dilation): no bounds checks.
    const bool inside = g.ph == 0 && g.pw == 0 && g.dh == 1 && g.dw == 1;
    using Bits = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;
    parallel_for(g.N * g.C, g.Ho * g.Wo * g.kh * g.kw, [&](int64_t b, int64_t e) {
      for (int64_t nc = b; nc < e; ++nc) {
        const T* xp = x + nc * g.H * g.W;
        T* op = out + nc * g.Ho * g.Wo;
        I* ip = idx + nc * g.Ho * g.Wo;
        if (inside && g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2) {  // the common 2×2/2
          for (int64_t oh = 0; oh < g.Ho; ++oh)
            max_pool_2x2_row(xp + 2 * oh * g.W, g.W, 2 * oh * g.W, g.Wo, op + oh * g.Wo,
                             ip + oh * g.Wo);
          continue;
        }
        if (inside) {  // row at a time, branch-free selects (the comparisons are unpredictable)
          for (int64_t oh = 0; oh < g.Ho; ++oh) {
            T* __restrict orow = op + oh * g.Wo;
            I* __restrict irow = ip + oh * g.Wo;
            const T* __restrict xr = xp;
            const int64_t h0 = oh * g.sh;
            for (int64_t ow = 0; ow < g.Wo; ++ow) {
              const int64_t q = h0 * g.W + ow * g.sw;
              orow[ow] = xr[q];
              irow[ow] = q;
            }
            for (int64_t ki = 0; ki < g.kh; ++ki)
              for (int64_t kj = ki == 0 ? 1 : 0; kj < g.kw; ++kj) {
                const int64_t base = (h0 + ki) * g.W + kj;
                for (int64_t ow = 0; ow < g.Wo; ++ow) {
                  const int64_t q = base + ow * g.sw;
                  const T v = xr[q], b = orow[ow];
                  // take = v > b || isnan(v), evaluated without branches; selects by masks
                  const int64_t m = -static_cast<int64_t>((v > b) | (v != v));
                  Bits vb, bb;
                  std::memcpy(&vb, &v, sizeof(T));
                  std::memcpy(&bb, &b, sizeof(T));
                  const Bits r = (bb & ~static_cast<Bits>(m)) | (vb & static_cast<Bits>(m));
                  std::memcpy(&orow[ow], &r, sizeof(T));
                  irow[ow] = (irow[ow] & ~m) | (q & m);
                }
              }
          }
          continue;
        }
        for (int64_t oh = 0; oh < g.Ho; ++oh)
          for (int64_t ow = 0; ow < g.Wo; ++ow) {
            T best = -std::numeric_limits<T>::infinity();
            int64_t bi = -1;
            for (int64_t ki = 0; ki < g.kh; ++ki) {
              int64_t h = oh * g.sh - g.ph + ki * g.dh;
              if (h < 0 || h >= g.H) continue;
              for (int64_t kj = 0; kj < g.kw; ++kj) {
                int64_t w = ow * g.sw - g.pw + kj * g.dw;
                if (w < 0 || w >= g.W) continue;
                T v = xp[h * g.W + w];
                if (bi < 0 || v > best || v != v) { best = v; bi = h * g.W + w; }
              }
            }
            op[oh * g.Wo + ow] = best;
            ip[oh * g.Wo + ow] = bi < 0 ? 0 : bi;
          }
      }
    });
  }

  // ---- fused dense convolution ------------------------------------------------------------
  // The batch is cut into chunks of a few samples whose im2col columns stay in cache; chunks run
  // on separate threads (the GEMMs inside are then single-threaded), each thread summing its
  // own weight/bias gradient, reduced in thread order at the end. For one chunk (batch 1) the
  // GEMMs themselves use the threads.
  static gemm_detail::Scratch& conv_scratch() {
    thread_local gemm_detail::Scratch s;
    return s;
  }
  // Samples per chunk: about 192 KiB of columns. Depends only on the geometry (not on the
  // thread count), so a forward's saved columns match the backward's chunking.
  static int64_t conv_chunk(int64_t per_sample_elems, int64_t n) {
    const int64_t budget = (192 << 10) / static_cast<int64_t>(sizeof(T));
    int64_t nb = std::max<int64_t>(1, budget / std::max<int64_t>(per_sample_elems, 1));
    return std::min(nb, n);
  }
  template <class F>
  static void conv_threads(int64_t chunks, double work, F&& f) {  // f(thread, c0, c1)
    int nt = (chunks >= 2 && !in_parallel() && work >= double(kGemmThreadMin)) ? max_threads() : 1;
    nt = static_cast<int>(std::min<int64_t>(nt, chunks));
    if (nt <= 1) return f(0, int64_t(0), chunks);
    parallel_for(nt, kParallelGrain, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) f(static_cast<int>(t), chunks * t / nt, chunks * (t + 1) / nt);
    });
  }

  bool conv2d_fused(const T* x, const T* w, const T* b, const Conv2dGeometry& g, int64_t cout,
                    T* y, T* saved) override {
    if constexpr (!std::is_floating_point_v<T>) {
      (void)x; (void)w; (void)b; (void)g; (void)cout; (void)y; (void)saved;
      return false;
    } else {
      const int64_t L = g.Ho * g.Wo, K = g.C * g.kh * g.kw, xs = g.C * g.H * g.W, ys = cout * L;
      if (g.N == 0) return true;
      if constexpr (std::is_same_v<T, float>)
        if (conv_direct::applies<T>(g)) {  // one channel, unit stride: no columns, same bits
          const int64_t need =
              conv_direct::image_len(g) + conv_direct::kRows * conv_direct::raster_q(g);
          conv_threads(g.N, double(g.N) * double(cout) * double(K * L),
                       [&](int, int64_t n0, int64_t n1) {
            float* s = static_cast<float*>(conv_scratch().get(sizeof(float) * need));
            conv_direct::forward(x, w, b, g, cout, y, n0, n1, s);
          });
          return true;
        }
      const int64_t nb = conv_chunk(K * L, g.N), chunks = (g.N + nb - 1) / nb;
      conv_threads(chunks, double(g.N) * double(cout) * double(K * L), [&](int, int64_t c0,
                                                                           int64_t c1) {
        T* scratch =
            static_cast<T*>(conv_scratch().get(sizeof(T) * nb * ((saved ? 0 : K) + cout) * L));
        T* yt = saved ? scratch : scratch + nb * K * L;
        for (int64_t ch = c0; ch < c1; ++ch) {
          const int64_t n0 = ch * nb, n = std::min(nb, g.N - n0);
          Conv2dGeometry gc = g;
          gc.N = n;
          const int64_t P = n * L;  // chunk columns: cols [K, n·L] (saved: chunk after chunk)
          T* cols = saved ? saved + n0 * K * L : scratch;
          im2col_rows(x + n0 * xs, gc, cols, P, L);
          // yt [cout, n·L] = w [cout, K] · cols (one product for the chunk: fewer ragged tiles
          // than one per sample), then y[i] [cout, L] = yt[:, i·L : (i+1)·L] (+ b)
          gemm(false, false, cout, P, K, T(1), w, K, 0, cols, P, 0, T(0), yt, P, 0, 1);
          T* yc = y + n0 * ys;
          for (int64_t i = 0; i < n; ++i)
            for (int64_t c = 0; c < cout; ++c) {
              const T* src = yt + c * P + i * L;
              T* dst = yc + i * ys + c * L;
              if (b) for (int64_t l = 0; l < L; ++l) dst[l] = src[l] + b[c];
              else std::copy(src, src + L, dst);
            }
        }
      });
      return true;
    }
  }

  bool conv2d_fused_backward(const T* x, const T* w, const T* gy, const Conv2dGeometry& g,
                             int64_t cout, const T* saved, T* gx, T* gw, T* gb) override {
    if constexpr (!std::is_floating_point_v<T>) {
      (void)x; (void)w; (void)gy; (void)g; (void)cout; (void)saved; (void)gx; (void)gw; (void)gb;
      return false;
    } else {
      const int64_t L = g.Ho * g.Wo, K = g.C * g.kh * g.kw, xs = g.C * g.H * g.W, ys = cout * L;
      if (g.N == 0) {
        if (gw) std::fill(gw, gw + cout * K, T(0));
        if (gb) std::fill(gb, gb + cout, T(0));
        return true;
      }
      const int nt_max = std::max(1, max_threads());
      if constexpr (std::is_same_v<T, float>)
        if (gw && conv_direct::applies<T>(g)) {  // one channel, unit stride: no columns
          const int64_t need = conv_direct::grad_scratch(g, cout);
          std::vector<float> part(static_cast<size_t>(cout * K * nt_max), 0.f);
          conv_threads(g.N, 2.0 * double(g.N) * double(cout) * double(K * L),
                       [&](int t, int64_t n0, int64_t n1) {
            if (n0 >= n1) return;
            float* s = static_cast<float*>(conv_scratch().get(sizeof(float) * need));
            conv_direct::weight_grad(x, gy, g, cout, part.data() + t * cout * K, n0, n1, s);
          });
          for (int64_t j = 0; j < cout * K; ++j) {  // thread partials in order
            float acc = part[j];
            for (int t = 1; t < nt_max; ++t) acc += part[t * cout * K + j];
            gw[j] = acc;
          }
          gw = nullptr;
          if (!gx && !gb) return true;
        }
      const int64_t nb = conv_chunk(K * L, g.N), chunks = (g.N + nb - 1) / nb;
      // Few output channels: the weight gradient as dot products (no tile padding of cout);
      // otherwise as a GEMM producing gwᵀ. Per-thread partial sums: gw (or gwᵀ), then gb.
      const bool gw_dot = cout < 8;
      const int64_t part_sz = (gw ? K * cout : 0) + (gb ? cout : 0);
      std::vector<T> parts(static_cast<size_t>(part_sz * nt_max), T(0));
      conv_threads(chunks, 3.0 * double(g.N) * double(cout) * double(K * L),
                   [&](int t, int64_t c0, int64_t c1) {
        if (c0 >= c1) return;
        T* cols = static_cast<T*>(conv_scratch().get(sizeof(T) * nb * (K + cout) * L));
        T* gyt = cols + nb * K * L;
        T* pw = parts.data() + t * part_sz;
        T* pb = pw + (gw ? K * cout : 0);
        for (int64_t ch = c0; ch < c1; ++ch) {
          const int64_t n0 = ch * nb, n = std::min(nb, g.N - n0);
          Conv2dGeometry gc = g;
          gc.N = n;
          const T* gyc = gy + n0 * ys;
          const int64_t P = n * L;  // chunk columns: cols [K, n·L], gyt [cout, n·L]
          if (gw || gx)
            for (int64_t i = 0; i < n; ++i)
              for (int64_t c = 0; c < cout; ++c)
                std::copy(gyc + i * ys + c * L, gyc + i * ys + (c + 1) * L, gyt + c * P + i * L);
          if (gw) {
            const T* cols_in = cols;
            if (saved) cols_in = saved + n0 * K * L;
            else im2col_rows(x + n0 * xs, gc, cols, P, L);
            if (gw_dot)  // gw [cout, K] += gyt [cout, P] · colsᵀ [P, K]  (dot products)
              gemm(false, true, cout, K, P, T(1), gyt, P, 0, cols_in, P, 0, T(1), pw, K, 0, 1);
            else  // gwᵀ [K, cout] += cols [K, P] · gytᵀ [P, cout]  (cols read in place)
              gemm(false, true, K, cout, P, T(1), cols_in, P, 0, gyt, P, 0, T(1), pw, cout, 0, 1);
          }
          if (gb)
            for (int64_t i = 0; i < n; ++i)
              for (int64_t c = 0; c < cout; ++c) {
                const T* r = gyc + i * ys + c * L;
                Acc<T> acc[4] = {0, 0, 0, 0};  // independent chains (vectorisable)
                int64_t l = 0;
                for (; l + 4 <= L; l += 4)
                  for (int j = 0; j < 4; ++j) acc[j] += r[l + j];
                for (; l < L; ++l) acc[0] += r[l];
                pb[c] += static_cast<T>((acc[0] + acc[1]) + (acc[2] + acc[3]));
              }
          if (gx) {
            // cols [K, n·L] = wᵀ [K, cout] · gyt [cout, n·L] (one product for the chunk: fewer
            // ragged tiles than one per sample), then col2im into gx
            gemm(true, false, K, P, cout, T(1), w, K, 0, gyt, P, 0, T(0), cols, P, 0, 1);
            T* gxc = gx + n0 * xs;
            std::fill(gxc, gxc + n * xs, T(0));
            col2im_rows(cols, gc, gxc, P, L);
          }
        }
      });
      const int used = nt_max;  // partials of idle threads are zero
      if (gw)
        for (int64_t c = 0; c < cout; ++c)
          for (int64_t k = 0; k < K; ++k) {
            const int64_t j = gw_dot ? c * K + k : k * cout + c;
            T acc = parts[j];
            for (int t = 1; t < used; ++t) acc += parts[t * part_sz + j];
            gw[c * K + k] = acc;
          }
      if (gb)
        for (int64_t c = 0; c < cout; ++c) {
          const int64_t off = gw ? K * cout : 0;
          T acc = parts[off + c];
          for (int t = 1; t < used; ++t) acc += parts[t * part_sz + off + c];
          gb[c] = acc;
        }
      return true;
    }
  }

  // ---- fused distillation losses (kd_kernel.hpp, relation_kernels.hpp): floating types ------
  bool has_fused_losses() const override { return std::is_floating_point_v<T>; }
  bool kd_fused(const T* z, const T* v, int64_t N, int64_t C, double temperature, bool soft_ce,
                double coef, T* value, T* grad) override {
    if constexpr (!std::is_floating_point_v<T>) return false;
    else {
      const auto term = soft_ce ? loss_kernels::KdTerm::soft_cross_entropy
                                : loss_kernels::KdTerm::kl;
      *value = T(loss_kernels::kd_kernel(z, v, N, C, temperature, term, coef, grad));
      return true;
    }
  }
  bool relation_points_fused(const T* xs, const GroupLayout& ls, const T* xt,
                             const GroupLayout& lt, const T* mask, const RelationSpec& spec,
                             double* value, T* grad) override {
    if constexpr (!std::is_floating_point_v<T>) return false;
    else {
      *value = loss_kernels::relation_pass(xs, ls, xt, lt, mask, spec, grad);
      return true;
    }
  }
  bool angle_group_fused(const T* xs, int64_t m, int64_t ds, const T* xt, int64_t dt,
                         losses::MatchLoss f, double coef, double* value, T* grad) override {
    if constexpr (!std::is_floating_point_v<T>) return false;
    else {
      *value = loss_kernels::single_group_angle(xs, m, ds, xt, dt, f, T(coef), grad);
      return true;
    }
  }

  void bernoulli_mask(uint64_t seed, double p, T keep, T* out, int64_t n) override {
    cpu::bernoulli_mask(seed, p, keep, out, n);
  }

  void sort(const T* in, int64_t rows, int64_t cols, bool descending, T* vals, I* idx) override {
    parallel_for(rows, cols * 16, [&](int64_t b, int64_t e) {
      std::vector<int64_t> perm(cols);
      for (int64_t r = b; r < e; ++r) {
        const T* x = in + r * cols;
        std::iota(perm.begin(), perm.end(), int64_t(0));
        if (descending)
          std::stable_sort(perm.begin(), perm.end(), [x](int64_t a, int64_t c) { return x[a] > x[c]; });
        else
          std::stable_sort(perm.begin(), perm.end(), [x](int64_t a, int64_t c) { return x[a] < x[c]; });
        for (int64_t j = 0; j < cols; ++j) {
          vals[r * cols + j] = x[perm[j]];
          idx[r * cols + j] = perm[j];
        }
      }
    });
  }
};

}  // namespace distillery::cpu
