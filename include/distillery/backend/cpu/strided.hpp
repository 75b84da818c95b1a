// backend/cpu/strided.hpp — iterating K strided operands over one output shape.
//
// `strided_for<K>(shape, views, f)` calls f(flat_out_index, offsets) for every element of
// `shape` in row-major order, where offsets[k] is the element offset of operand k (its view's
// offset plus the dot product of the multi-index with its strides). Dims are coalesced first,
// the innermost dim runs as a tight loop, and large ranges are split across OpenMP threads.
#pragma once
#include <array>

#include "../index_math.hpp"
#include "../kernel_table.hpp"
#include "parallel.hpp"

namespace distillery::cpu {

// Dims coalesced by the shared index arithmetic (backend/index_math.hpp, also used by CUDA).
template <int K>
using Coalesced = Strided<K>;
using distillery::coalesce;

// Row-level form: f(flat_begin, offsets, n, inner_strides) for each run of n elements along the
// innermost (coalesced) dim, so kernels can specialise their inner loops on the strides.
template <int K, class F>
void strided_rows(const Shape& shape, const View* const* views, F&& f) {
  Coalesced<K> c = coalesce<K>(shape, views);
  if (c.nd == 0) {  // a single element
    std::array<int64_t, K> off, st{};
    for (int k = 0; k < K; ++k) off[k] = c.base[k];
    f(int64_t(0), off.data(), int64_t(1), st.data());
    return;
  }
  const int last = c.nd - 1;
  const int64_t inner = c.size[last];
  int64_t outer = 1;
  for (int d = 0; d < last; ++d) outer *= c.size[d];
  std::array<int64_t, K> ist;
  for (int k = 0; k < K; ++k) ist[k] = c.stride[k][last];
  parallel_for(outer, inner, [&](int64_t ob, int64_t oe) {
    int64_t idx[kMaxDims] = {};
    int64_t rem = ob;
    for (int d = last - 1; d >= 0; --d) {
      idx[d] = rem % c.size[d];
      rem /= c.size[d];
    }
    std::array<int64_t, K> off;
    for (int64_t o = ob; o < oe; ++o) {
      for (int k = 0; k < K; ++k) {
        int64_t v = c.base[k];
        for (int d = 0; d < last; ++d) v += idx[d] * c.stride[k][d];
        off[k] = v;
      }
      f(o * inner, off.data(), inner, ist.data());
      for (int d = last - 1; d >= 0; --d) {
        if (++idx[d] < c.size[d]) break;
        idx[d] = 0;
      }
    }
  });
}

template <int K, class F>
void strided_for(const Shape& shape, const View* const* views, F&& f) {
  strided_rows<K>(shape, views, [&](int64_t flat, const int64_t* off0, int64_t n,
                                    const int64_t* st) {
    std::array<int64_t, K> off;
    for (int k = 0; k < K; ++k) off[k] = off0[k];
    for (int64_t i = 0; i < n; ++i) {
      f(flat + i, off.data());
      for (int k = 0; k < K; ++k) off[k] += st[k];
    }
  });
}

inline bool is_contiguous_view(const View& v, const Shape& shape) {
  int64_t expect = 1;
  for (int d = shape.size() - 1; d >= 0; --d) {
    if (shape[d] != 1 && v.strides[d] != expect) return false;
    expect *= shape[d];
  }
  return true;
}

inline bool is_scalar_view(const View& v, const Shape& shape) {
  for (int d = 0; d < shape.size(); ++d)
    if (shape[d] != 1 && v.strides[d] != 0) return false;
  return true;
}

}  // namespace distillery::cpu
