// backend/cpu/reduce.hpp — the CPU kernels of the reduce family:
// reductions, arg-reductions, softmax and sort (accumulation in double, static splits).
//
// One family per file, mirroring ops/reduce.hpp, cuda/kernels_reduce.cu and
// tests/ops/table_reduce.hpp (the family list is in backend/cpu/kernels.hpp). The
// families stack into one table: each Cpu<Family><T> derives from the previous family, and
// CpuKernels<T> (kernels.hpp) is the last. Only backend/cpu/implementation.hpp instantiates
// them.
#pragma once
#include <algorithm>
#include <limits>
#include <numeric>
#include <vector>

#include "elementwise.hpp"

namespace distillery::cpu {

template <class T>
struct CpuReduce : CpuElementwise<T> {
  using I = int64_t;

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
