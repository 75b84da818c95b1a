// backend/cpu/kernels.hpp — the CPU kernel table: OpenMP loops and Eigen GEMM.
//
// Each entry implements one KernelTable<T> primitive on host buffers. Elementwise arithmetic
// comes from backend/scalar_math.hpp (shared with CUDA). Reductions accumulate in double and
// split work statically, so results depend only on the inputs and the thread count.
#pragma once
#include <Eigen/Core>
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <numeric>
#include <vector>

#include "../kernel_table.hpp"
#include "parallel.hpp"
#include "strided.hpp"

namespace distillery::cpu {

struct CpuRuntime final : DeviceRuntime {
  void* allocate(std::size_t bytes) override {
    std::size_t n = ((bytes + 63) / 64) * 64;
    void* p = std::aligned_alloc(64, n ? n : 64);
    if (!p) fail("allocate", "out of host memory asking for ", bytes, " bytes");
    return p;
  }
  void deallocate(void* p, std::size_t) override { std::free(p); }
  void copy_to_host(void* d, const void* s, std::size_t n) override { std::memcpy(d, s, n); }
  void copy_from_host(void* d, const void* s, std::size_t n) override { std::memcpy(d, s, n); }
  void copy_device(void* d, const void* s, std::size_t n) override { std::memcpy(d, s, n); }
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
      std::memcpy(dst + dv.offset, src + sv.offset, sizeof(T) * sv.shape.numel());
      return;
    }
    const View* vs[2] = {&sv, &dv};
    strided_for<2>(sv.shape, vs, [&](int64_t, const int64_t* o) { dst[o[1]] = src[o[0]]; });
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

  template <UnaryOp OP>
  static void unary_loop(const T* a, T* out, int64_t n, T p1, T p2) {
    scalar::UnaryF<OP> f;
    parallel_for(n, 8, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) out[i] = f(a[i], p1, p2);
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
        DST_U(leaky_relu_slope) DST_U(gelu_erf) DST_U(gelu_tanh) DST_U(sigmoid) DST_U(tanh)
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
    strided_for<2>(shape, vs, [&](int64_t i, const int64_t* o) { out[i] = f(a[o[0]], b[o[1]]); });
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
    auto init = [&]() -> Acc<T> {
      switch (op) {
        case ReduceOp::sum: return Acc<T>(0);
        case ReduceOp::prod: return Acc<T>(1);
        case ReduceOp::max: return std::numeric_limits<T>::has_infinity
                                       ? -std::numeric_limits<Acc<T>>::infinity()
                                       : std::numeric_limits<Acc<T>>::lowest();
        case ReduceOp::min: return std::numeric_limits<T>::has_infinity
                                       ? std::numeric_limits<Acc<T>>::infinity()
                                       : std::numeric_limits<Acc<T>>::max();
      }
      return Acc<T>(0);
    };
    auto combine = [op](Acc<T> acc, Acc<T> v) -> Acc<T> {
      switch (op) {
        case ReduceOp::sum: return acc + v;
        case ReduceOp::prod: return acc * v;
        case ReduceOp::max: return (v > acc || v != v) ? v : acc;   // NaN propagates
        case ReduceOp::min: return (v < acc || v != v) ? v : acc;
      }
      return acc;
    };
    if (inner == 1 && outer == 1) {  // one long reduction: fixed chunks, combined in order
      int nt = (r >= kParallelGrain && !in_parallel()) ? max_threads() : 1;
      std::vector<Acc<T>> part(nt, init());
      int64_t chunk = (r + nt - 1) / nt;
      parallel_for(nt, kParallelGrain, [&](int64_t tb, int64_t te) {
        for (int64_t t = tb; t < te; ++t) {
          Acc<T> acc = init();
          for (int64_t j = t * chunk; j < std::min(r, (t + 1) * chunk); ++j) acc = combine(acc, in[j]);
          part[t] = acc;
        }
      });
      Acc<T> acc = init();
      for (int t = 0; t < nt; ++t) acc = combine(acc, part[t]);
      out[0] = static_cast<T>(acc);
      return;
    }
    parallel_for(outer * inner, r, [&](int64_t b, int64_t e) {
      if (inner == 1) {
        for (int64_t o = b; o < e; ++o) {
          Acc<T> acc = init();
          const T* p = in + o * r;
          for (int64_t j = 0; j < r; ++j) acc = combine(acc, p[j]);
          out[o] = static_cast<T>(acc);
        }
        return;
      }
      for (int64_t oi = b; oi < e; ++oi) {
        int64_t o = oi / inner, i = oi % inner;
        Acc<T> acc = init();
        const T* p = in + o * r * inner + i;
        for (int64_t j = 0; j < r; ++j) acc = combine(acc, p[j * inner]);
        out[oi] = static_cast<T>(acc);
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
    const int64_t L = g.Ho * g.Wo, K = g.C * g.kh * g.kw;
    parallel_for(g.N * g.C, g.kh * g.kw * L, [&](int64_t b, int64_t e) {
      for (int64_t nc = b; nc < e; ++nc) {
        int64_t n = nc / g.C, c = nc % g.C;
        const T* xp = x + nc * g.H * g.W;
        for (int64_t ki = 0; ki < g.kh; ++ki)
          for (int64_t kj = 0; kj < g.kw; ++kj) {
            T* row = cols + (n * K + (c * g.kh + ki) * g.kw + kj) * L;
            for (int64_t oh = 0; oh < g.Ho; ++oh) {
              int64_t h = oh * g.sh - g.ph + ki * g.dh;
              T* r = row + oh * g.Wo;
              if (h < 0 || h >= g.H) { std::fill(r, r + g.Wo, T(0)); continue; }
              for (int64_t ow = 0; ow < g.Wo; ++ow) {
                int64_t w = ow * g.sw - g.pw + kj * g.dw;
                r[ow] = (w >= 0 && w < g.W) ? xp[h * g.W + w] : T(0);
              }
            }
          }
      }
    });
  }

  void col2im(const T* cols, const Conv2dGeometry& g, T* x) override {
    const int64_t L = g.Ho * g.Wo, K = g.C * g.kh * g.kw;
    parallel_for(g.N * g.C, g.kh * g.kw * L, [&](int64_t b, int64_t e) {
      for (int64_t nc = b; nc < e; ++nc) {
        int64_t n = nc / g.C, c = nc % g.C;
        T* xp = x + nc * g.H * g.W;
        for (int64_t ki = 0; ki < g.kh; ++ki)
          for (int64_t kj = 0; kj < g.kw; ++kj) {
            const T* row = cols + (n * K + (c * g.kh + ki) * g.kw + kj) * L;
            for (int64_t oh = 0; oh < g.Ho; ++oh) {
              int64_t h = oh * g.sh - g.ph + ki * g.dh;
              if (h < 0 || h >= g.H) continue;
              for (int64_t ow = 0; ow < g.Wo; ++ow) {
                int64_t w = ow * g.sw - g.pw + kj * g.dw;
                if (w >= 0 && w < g.W) xp[h * g.W + w] += row[oh * g.Wo + ow];
              }
            }
          }
      }
    });
  }

  void max_pool2d(const T* x, const Conv2dGeometry& g, T* out, I* idx) override {
    parallel_for(g.N * g.C, g.Ho * g.Wo * g.kh * g.kw, [&](int64_t b, int64_t e) {
      for (int64_t nc = b; nc < e; ++nc) {
        const T* xp = x + nc * g.H * g.W;
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
            int64_t o = (nc * g.Ho + oh) * g.Wo + ow;
            out[o] = best;
            idx[o] = bi < 0 ? 0 : bi;
          }
      }
    });
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
