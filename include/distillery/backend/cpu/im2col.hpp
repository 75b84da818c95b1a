// backend/cpu/im2col.hpp — im2col / col2im loops of the CPU kernels.
//
// The row of (sample n, patch element k = (c·kh + ki)·kw + kj) lives at cols + k·ldk + n·lds:
// the kernel-table layout [N, K, L] is ldk = L, lds = K·L; the fused convolution uses [K, N·L]
// (ldk = N·L, lds = L). Work is split over the (n, c) planes.
//
// A small convolution's rows are short (LeNet-5: 28 and 10 values), so per-row overhead decides
// the speed. With unit stride and dilation, each (c, ki, kj) moves one block of Ho rows whose
// valid columns [lo, hi) and valid rows are known up front: on AVX-512 a row of up to 16 floats
// is one masked load and one masked store (the zero padding comes from the load mask); otherwise
// SSE2 vectors with an overlapping last one. Each element is still written (or summed) exactly
// once, with the same single addition as the scalar loop, so results do not depend on the path.
#pragma once
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "../kernel_table.hpp"
#include "gemm.hpp"
#include "parallel.hpp"

namespace distillery::cpu {

namespace im2col_detail {
// Values per SSE2 vector for T (0: no vector path).
template <class T>
constexpr int kLanes =
#if defined(__SSE2__)
    std::is_same_v<T, float> ? 4 : std::is_same_v<T, double> ? 2 : 0;
#else
    0;
#endif

#if defined(__SSE2__)
inline __m128 vload(const float* p) { return _mm_loadu_ps(p); }
inline __m128d vload(const double* p) { return _mm_loadu_pd(p); }
inline void vstore(float* p, __m128 v) { _mm_storeu_ps(p, v); }
inline void vstore(double* p, __m128d v) { _mm_storeu_pd(p, v); }
inline __m128 vadd(__m128 a, __m128 b) { return _mm_add_ps(a, b); }
inline __m128d vadd(__m128d a, __m128d b) { return _mm_add_pd(a, b); }
inline __m128 vzero(const float*) { return _mm_setzero_ps(); }
inline __m128d vzero(const double*) { return _mm_setzero_pd(); }
// An empty asm the value passes through: keeps GCC from turning a short copy loop into a
// memmove call (which costs more than the whole row).
template <class V>
inline V opaque(V v) {
  __asm__("" : "+x"(v));
  return v;
}
#endif

// d[0, n) = s[0, n)
template <class T>
inline void copy_row(const T* __restrict s, T* __restrict d, int64_t n) {
  constexpr int V = kLanes<T>;
#if defined(__SSE2__)
  if constexpr (V > 0) {
    if (n >= V) {
      for (int64_t i = 0; i + V <= n; i += V) vstore(d + i, opaque(vload(s + i)));
      vstore(d + n - V, vload(s + n - V));  // overlapping tail: same values again
      return;
    }
  }
#endif
  for (int64_t i = 0; i < n; ++i) d[i] = s[i];
}

// d[0, n) += s[0, n). The overlapping tail is summed from the original d before the main loop
// and stored after it, so every element gets exactly one addition.
template <class T>
inline void add_row(const T* __restrict s, T* __restrict d, int64_t n) {
  constexpr int V = kLanes<T>;
#if defined(__SSE2__)
  if constexpr (V > 0) {
    if (n >= V) {
      const auto tail = vadd(vload(d + n - V), vload(s + n - V));
      for (int64_t i = 0; i + V <= n; i += V) vstore(d + i, vadd(vload(d + i), vload(s + i)));
      vstore(d + n - V, tail);
      return;
    }
  }
#endif
  for (int64_t i = 0; i < n; ++i) d[i] += s[i];
}

// One (c, ki, kj) block, unit stride: rows oh < rows of Wo values, r at stride Wo, the image
// row at stride W with column ow at src[oh·W + ow] (valid for ow in [lo, hi)).
//   gather:  r[oh·Wo + ow] = src[oh·W + ow] in [lo, hi), 0 elsewhere
//   scatter: src[oh·W + ow] += r[oh·Wo + ow] in [lo, hi)
template <class T>
void gather_block(const T* src, int64_t W, int64_t lo, int64_t hi, int64_t Wo, int64_t rows,
                  T* r) {
  constexpr int V = kLanes<T>;
#if defined(__SSE2__)
  if constexpr (V > 0) {  // short margins: one zero vector each, stored before the copy
    if (Wo >= V && lo <= V && Wo - hi <= V) {
      const auto z = vzero(r);
      for (int64_t oh = 0; oh < rows; ++oh, src += W, r += Wo) {
        if (lo > 0) vstore(r, z);
        if (hi < Wo) vstore(r + Wo - V, z);
        copy_row(src + lo, r + lo, hi - lo);
      }
      return;
    }
  }
#endif
  for (int64_t oh = 0; oh < rows; ++oh, src += W, r += Wo) {
    std::fill(r, r + lo, T(0));
    copy_row(src + lo, r + lo, hi - lo);
    std::fill(r + hi, r + Wo, T(0));
  }
}
template <class T>
void scatter_block(T* dst, int64_t W, int64_t lo, int64_t hi, int64_t Wo, int64_t rows,
                   const T* r) {
  for (int64_t oh = 0; oh < rows; ++oh, dst += W, r += Wo) add_row(r + lo, dst + lo, hi - lo);
}

#ifdef DST_GEMM_X86
// Lanes [a, b) of a 16-lane (float) or 8-lane (double) mask.
inline uint32_t lane_mask(int64_t a, int64_t b) {
  return b <= a ? 0u : static_cast<uint32_t>(((uint64_t(1) << b) - 1) & ~((uint64_t(1) << a) - 1));
}
template <class T>
DST_TARGET_AVX512 void gather_block_avx512(const T* src, int64_t W, int64_t lo, int64_t hi,
                                           int64_t Wo, int64_t rows, T* r) {
  constexpr int64_t V = 64 / sizeof(T);
  if (Wo <= V) {  // one vector per row, masks fixed
    const uint32_t ld = lane_mask(lo, hi), st = lane_mask(0, Wo);
    for (int64_t oh = 0; oh < rows; ++oh, src += W, r += Wo)
      if constexpr (sizeof(T) == 4)
        _mm512_mask_storeu_ps(r, __mmask16(st), _mm512_maskz_loadu_ps(__mmask16(ld), src));
      else
        _mm512_mask_storeu_pd(r, __mmask8(st), _mm512_maskz_loadu_pd(__mmask8(ld), src));
    return;
  }
  for (int64_t oh = 0; oh < rows; ++oh, src += W, r += Wo)
    for (int64_t o = 0; o < Wo; o += V) {  // masked-off lanes are neither read nor written
      const uint32_t ld = lane_mask(std::max(lo - o, int64_t(0)), std::min(hi - o, V));
      const uint32_t st = lane_mask(0, std::min(Wo - o, V));
      if constexpr (sizeof(T) == 4)
        _mm512_mask_storeu_ps(r + o, __mmask16(st), _mm512_maskz_loadu_ps(__mmask16(ld), src + o));
      else
        _mm512_mask_storeu_pd(r + o, __mmask8(st), _mm512_maskz_loadu_pd(__mmask8(ld), src + o));
    }
}
#endif

template <class T>
using GatherBlock = void (*)(const T*, int64_t, int64_t, int64_t, int64_t, int64_t, T*);
template <class T>
GatherBlock<T> gather_block_fn() {
#ifdef DST_GEMM_X86
  if constexpr (std::is_floating_point_v<T>)
    if (gemm_isa() == GemmIsa::avx512) return gather_block_avx512<T>;
#endif
  return gather_block<T>;
}


// Output rows oh whose input row oh·sh − ph + ki·dh lies in [0, H): [lo, hi) (sh = 1 here).
inline void valid_rows_unit(const Conv2dGeometry& g, int64_t ki, int64_t& lo, int64_t& hi) {
  const int64_t off = ki * g.dh - g.ph;  // h = oh + off
  lo = std::min(std::max(-off, int64_t(0)), g.Ho);
  hi = std::max(std::min(g.H - off, g.Ho), lo);
}
}  // namespace im2col_detail

// Output columns ow whose input column ow·sw − pw + kj·dw lies in [0, W): [lo, hi).
inline void valid_cols(const Conv2dGeometry& g, int64_t kj, int64_t& lo, int64_t& hi) {
  const int64_t off = kj * g.dw - g.pw;  // w = ow·sw + off
  lo = off >= 0 ? 0 : (-off + g.sw - 1) / g.sw;
  hi = g.W - off <= 0 ? 0 : (g.W - off + g.sw - 1) / g.sw;
  hi = std::min(hi, g.Wo);
  lo = std::min(lo, hi);
}

// x [N, C, H, W] -> cols (layout above)
template <class T>
void im2col_rows(const T* x, const Conv2dGeometry& g, T* cols, int64_t ldk, int64_t lds) {
  using namespace im2col_detail;
  const int64_t L = g.Ho * g.Wo;
  const bool unit = g.sh == 1 && g.sw == 1;
  const GatherBlock<T> block = gather_block_fn<T>();
  parallel_for(g.N * g.C, g.kh * g.kw * L, [&](int64_t b, int64_t e) {
    for (int64_t nc = b; nc < e; ++nc) {
      int64_t n = nc / g.C, c = nc % g.C;
      const T* xp = x + nc * g.H * g.W;
      for (int64_t ki = 0; ki < g.kh; ++ki)
        for (int64_t kj = 0; kj < g.kw; ++kj) {
          T* row = cols + ((c * g.kh + ki) * g.kw + kj) * ldk + n * lds;
          int64_t lo, hi;
          valid_cols(g, kj, lo, hi);
          const int64_t off = kj * g.dw - g.pw;
          if (unit) {  // zero rows above and below, one block in between
            int64_t r0, r1;
            valid_rows_unit(g, ki, r0, r1);
            if (r0 > 0) std::fill(row, row + r0 * g.Wo, T(0));
            if (r1 > r0)
              block(xp + (r0 + ki * g.dh - g.ph) * g.W + off, g.W, lo, hi, g.Wo, r1 - r0,
                    row + r0 * g.Wo);
            if (r1 < g.Ho) std::fill(row + r1 * g.Wo, row + L, T(0));
            continue;
          }
          for (int64_t oh = 0; oh < g.Ho; ++oh) {
            int64_t h = oh * g.sh - g.ph + ki * g.dh;
            T* r = row + oh * g.Wo;
            if (h < 0 || h >= g.H) { std::fill(r, r + g.Wo, T(0)); continue; }
            const T* src = xp + h * g.W + off;
            std::fill(r, r + lo, T(0));
            for (int64_t ow = lo; ow < hi; ++ow) r[ow] = src[ow * g.sw];
            std::fill(r + hi, r + g.Wo, T(0));
          }
        }
    }
  });
}

// cols (layout above) -> x [N, C, H, W], summed into x (zero it first for the adjoint of im2col)
template <class T>
void col2im_rows(const T* cols, const Conv2dGeometry& g, T* x, int64_t ldk, int64_t lds) {
  using namespace im2col_detail;
  const int64_t L = g.Ho * g.Wo;
  const bool unit = g.sh == 1 && g.sw == 1;
  parallel_for(g.N * g.C, g.kh * g.kw * L, [&](int64_t b, int64_t e) {
    for (int64_t nc = b; nc < e; ++nc) {
      int64_t n = nc / g.C, c = nc % g.C;
      T* xp = x + nc * g.H * g.W;
      for (int64_t ki = 0; ki < g.kh; ++ki)
        for (int64_t kj = 0; kj < g.kw; ++kj) {
          const T* row = cols + ((c * g.kh + ki) * g.kw + kj) * ldk + n * lds;
          int64_t lo, hi;
          valid_cols(g, kj, lo, hi);
          const int64_t off = kj * g.dw - g.pw;
          if (unit) {
            int64_t r0, r1;
            valid_rows_unit(g, ki, r0, r1);
            if (r1 > r0)
              scatter_block(xp + (r0 + ki * g.dh - g.ph) * g.W + off, g.W, lo, hi, g.Wo,
                            r1 - r0, row + r0 * g.Wo);
            continue;
          }
          for (int64_t oh = 0; oh < g.Ho; ++oh) {
            int64_t h = oh * g.sh - g.ph + ki * g.dh;
            if (h < 0 || h >= g.H) continue;
            T* dst = xp + h * g.W + off;
            const T* r = row + oh * g.Wo;
            for (int64_t ow = lo; ow < hi; ++ow) dst[ow * g.sw] += r[ow];
          }
        }
    }
  });
}

}  // namespace distillery::cpu
