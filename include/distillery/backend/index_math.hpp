// backend/index_math.hpp — index arithmetic shared by the CPU and CUDA kernels, written once.
//
// `coalesce<K>(shape, views)` describes K strided operands over one output shape with the dims
// of extent 1 dropped and mergeable neighbouring dims merged (dim d merges into the previous
// one when, for every operand, stride[d-1] == stride[d] * size[d]), so contiguous and
// broadcast layouts become one or two dims. `Strided<K>::offsets(i, off)` maps a flat
// row-major output index i to the element offset of each operand (its view's offset plus the
// multi-index dotted with its strides). The CPU loops (cpu/strided.hpp) walk the result row by
// row; the CUDA kernels (cuda/kernels_elementwise.cu) call `offsets` per thread. Functions
// marked DST_HOST_DEVICE compile for both host and device under nvcc.
#pragma once
#include <cstdint>

#include "../core/shape.hpp"    // Shape, kMaxDims
#include "../core/storage.hpp"  // View

#if defined(__CUDACC__)
#define DST_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define DST_HOST_DEVICE inline
#endif
#if defined(__CUDA_ARCH__)  // device pass only: the host compiler does not know the pragma
#define DST_UNROLL _Pragma("unroll")
#else
#define DST_UNROLL
#endif

namespace distillery {

template <int K>
struct Strided {
  int nd = 0;
  int64_t size[kMaxDims];          // [nd] extents after coalescing
  int64_t stride[K][kMaxDims];     // [K][nd] element strides per operand
  int64_t base[K];                 // [K] view offsets

  // offset of operand k for flat row-major index i, into off[K]
  DST_HOST_DEVICE void offsets(int64_t i, int64_t* off) const {
    DST_UNROLL for (int k = 0; k < K; ++k) off[k] = base[k];
    for (int d = nd - 1; d >= 0; --d) {
      int64_t s = size[d];
      int64_t q = i / s, r = i - q * s;
      DST_UNROLL for (int k = 0; k < K; ++k) off[k] += r * stride[k][d];
      i = q;
    }
  }
  // the same in 32-bit index arithmetic (cheaper division on GPUs), for i < 2^32
  DST_HOST_DEVICE void offsets32(uint32_t i, int64_t* off) const {
    DST_UNROLL for (int k = 0; k < K; ++k) off[k] = base[k];
    for (int d = nd - 1; d >= 0; --d) {
      uint32_t s = static_cast<uint32_t>(size[d]);
      uint32_t q = i / s, r = i - q * s;
      DST_UNROLL for (int k = 0; k < K; ++k) off[k] += int64_t(r) * stride[k][d];
      i = q;
    }
  }
};

// Host side: views[k] is operand k's view, broadcast to `shape` (stride 0 on broadcast dims).
template <int K>
Strided<K> coalesce(const Shape& shape, const View* const* views) {
  Strided<K> c;
  for (int k = 0; k < K; ++k) c.base[k] = views[k]->offset;
  for (int d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    bool merge = c.nd > 0;
    for (int k = 0; merge && k < K; ++k)
      merge = c.stride[k][c.nd - 1] == views[k]->strides[d] * shape[d];
    if (merge) {
      c.size[c.nd - 1] *= shape[d];
      for (int k = 0; k < K; ++k) c.stride[k][c.nd - 1] = views[k]->strides[d];
    } else {
      c.size[c.nd] = shape[d];
      for (int k = 0; k < K; ++k) c.stride[k][c.nd] = views[k]->strides[d];
      ++c.nd;
    }
  }
  return c;
}

// ---- convolution / pooling windows -------------------------------------------------------

struct Conv2dGeometry {  // im2col / col2im / pooling geometry, NCHW
  int64_t N, C, H, W, kh, kw, sh, sw, ph, pw, dh, dw, Ho, Wo;
};

// Input row (column) that output row oh (column ow) reads through kernel row ki (column kj);
// outside [0, H) ([0, W)) it lies in the zero padding.
DST_HOST_DEVICE int64_t window_row(const Conv2dGeometry& g, int64_t oh, int64_t ki) {
  return oh * g.sh - g.ph + ki * g.dh;
}
DST_HOST_DEVICE int64_t window_col(const Conv2dGeometry& g, int64_t ow, int64_t kj) {
  return ow * g.sw - g.pw + kj * g.dw;
}

// The output row (column) whose window reads input row h (column w) through kernel row ki
// (column kj), or -1 when none does: the inverse of window_row (window_col).
DST_HOST_DEVICE int64_t window_out_row(const Conv2dGeometry& g, int64_t h, int64_t ki) {
  const int64_t hh = h + g.ph - ki * g.dh;  // = oh * sh
  if (hh < 0 || hh % g.sh != 0 || hh / g.sh >= g.Ho) return -1;
  return hh / g.sh;
}
DST_HOST_DEVICE int64_t window_out_col(const Conv2dGeometry& g, int64_t w, int64_t kj) {
  const int64_t ww = w + g.pw - kj * g.dw;  // = ow * sw
  if (ww < 0 || ww % g.sw != 0 || ww / g.sw >= g.Wo) return -1;
  return ww / g.sw;
}

// Max over the window of output (oh, ow) in one [H, W] plane xp: best and its flat index
// h·W + w. A NaN wins (and the last NaN is kept), otherwise the first maximum. A window with
// no tap inside the image leaves best as given (the caller's −inf) and bi = -1.
template <class T>
DST_HOST_DEVICE void max_window(const T* xp, const Conv2dGeometry& g, int64_t oh, int64_t ow,
                                T& best, int64_t& bi) {
  bi = -1;
  for (int64_t ki = 0; ki < g.kh; ++ki) {
    const int64_t h = window_row(g, oh, ki);
    if (h < 0 || h >= g.H) continue;
    for (int64_t kj = 0; kj < g.kw; ++kj) {
      const int64_t w = window_col(g, ow, kj);
      if (w < 0 || w >= g.W) continue;
      const T v = xp[h * g.W + w];
      if (bi < 0 || v > best || v != v) {
        best = v;
        bi = h * g.W + w;
      }
    }
  }
}

}  // namespace distillery
