// backend/cpu/index.hpp — the CPU kernels of the index family:
// gather, scatter_add, index_select, index_add (bounds-checked indices).
//
// One family per file, mirroring ops/index.hpp, cuda/kernels_index.cu and
// tests/ops/table_index.hpp (the family list is in backend/cpu/kernels.hpp). The
// families stack into one table: each Cpu<Family><T> derives from the previous family, and
// CpuKernels<T> (kernels.hpp) is the last. Only backend/cpu/implementation.hpp instantiates
// them.
#pragma once
#include <atomic>
#include <vector>

#include "linalg.hpp"

namespace distillery::cpu {

template <class T>
struct CpuIndex : CpuLinalg<T> {
  using I = int64_t;

  // Index smaller than the input on dims other than `dim` (PyTorch's rule): offs[o] and offs_in[i]
  // map the index's outer / inner positions to the input's (row-major over the index's extents).
  static void sub_offsets(const Shape& big, const Shape& idx_shape, int dim, int64_t outer,
                          int64_t inner, std::vector<int64_t>& o_off, std::vector<int64_t>& i_off) {
    auto table = [&](int lo, int hi, int64_t n, std::vector<int64_t>& off) {
      off.assign(n, 0);
      for (int64_t q = 0; q < n; ++q) {
        int64_t r = q, lin = 0, stride = 1;
        for (int d = hi - 1; d >= lo; --d) {
          lin += (r % idx_shape[d]) * stride;
          r /= idx_shape[d];
          stride *= big[d];
        }
        off[q] = lin;
      }
    };
    table(0, dim, outer, o_off);
    table(dim + 1, idx_shape.size(), inner, i_off);
  }
  static bool same_but(const Shape& a, const Shape& b, int dim) {
    for (int d = 0; d < a.size(); ++d)
      if (d != dim && a[d] != b[d]) return false;
    return true;
  }

  void gather(const T* in, const Shape& in_shape, const I* idx, const Shape& idx_shape, int dim,
              T* out) override {
    int64_t outer = 1, inner = 1, inner_in = 1;
    for (int d = 0; d < dim; ++d) outer *= idx_shape[d];
    for (int d = dim + 1; d < idx_shape.size(); ++d) inner *= idx_shape[d];
    for (int d = dim + 1; d < in_shape.size(); ++d) inner_in *= in_shape[d];
    const int64_t din = in_shape[dim], dix = idx_shape[dim];
    std::vector<int64_t> oo, io;
    const bool sub = !same_but(in_shape, idx_shape, dim);
    if (sub) sub_offsets(in_shape, idx_shape, dim, outer, inner, oo, io);
    std::atomic<bool> bad{false};
    parallel_for(outer, dix * inner, [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o)
        for (int64_t j = 0; j < dix; ++j)
          for (int64_t i = 0; i < inner; ++i) {
            int64_t p = (o * dix + j) * inner + i;
            int64_t k = idx[p];
            if (k < 0 || k >= din) { bad = true; out[p] = T(0); continue; }
            out[p] = in[sub ? (oo[o] * din + k) * inner_in + io[i] : (o * din + k) * inner + i];
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
    if (!same_but(out_shape, idx_shape, dim)) {  // index smaller than out (rare): serial
      int64_t inner_out = 1;
      for (int d = dim + 1; d < out_shape.size(); ++d) inner_out *= out_shape[d];
      std::vector<int64_t> oo, io;
      sub_offsets(out_shape, idx_shape, dim, outer, inner, oo, io);
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t j = 0; j < dix; ++j)
          for (int64_t i = 0; i < inner; ++i) {
            int64_t p = (o * dix + j) * inner + i;
            int64_t k = idx[p];
            if (k < 0 || k >= dout) { bad = true; continue; }
            out[(oo[o] * dout + k) * inner_out + io[i]] += src[p];
          }
      if (bad) fail("scatter_add", "index out of range for dimension ", dim, " of size ", dout);
      return;
    }
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

};

}  // namespace distillery::cpu
