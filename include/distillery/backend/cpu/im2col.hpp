// backend/cpu/im2col.hpp — im2col / col2im loops of the CPU kernels.
//
// The row of (sample n, patch element k = (c·kh + ki)·kw + kj) lives at cols + k·ldk + n·lds:
// the kernel-table layout [N, K, L] is ldk = L, lds = K·L; the fused convolution uses [K, N·L]
// (ldk = N·L, lds = L). Work is split over the (n, c) planes.
//
// A small convolution's rows are short (LeNet-5: 28 and 10 values), so per-row overhead decides
// the speed. With unit stride, each (c, ki, kj) moves one block of Ho rows whose valid columns
// [lo, hi) and valid rows are known up front: on AVX-512 a row of up to 16 floats is one masked
// load and one masked store (the zero padding comes from the load mask); otherwise SSE2 vectors
// with an overlapping last one. Float col2im on AVX-512 gathers instead (col2im_plane_avx512):
// each image row sums its contributions in a register. Every path performs the same additions in the
// same order, so results do not depend on the path.
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
#if defined(__SSE2__)
  constexpr int V = kLanes<T>;
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
#if defined(__SSE2__)
  constexpr int V = kLanes<T>;
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
#if defined(__SSE2__)
  constexpr int V = kLanes<T>;
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
// col2im of one (n, c) plane with unit stride, as a gather (float): each image row segment of
// 16 values sums its kh·kw contributions in a register (masked loads of the column rows, shifted
// by the tap's offset) and is added to x once. The sum runs over ki, then kj, from zero, as the
// row loop: the same additions, and no store-to-load stalls between overlapping rows.
// row0: the (c, 0, 0) row of this sample (rows ldk apart).
DST_TARGET_AVX512 inline void col2im_plane_avx512(const float* row0, int64_t ldk,
                                                  const Conv2dGeometry& g, float* xp) {
  constexpr int64_t V = 16, kMaxKw = 32;
  __mmask16 m[kMaxKw];
  int64_t shift[kMaxKw];
  for (int64_t w0 = 0; w0 < g.W; w0 += V) {
    for (int64_t kj = 0; kj < g.kw; ++kj) {  // w = ow + s: lanes with ow = w0 + lane − s valid
      const int64_t s = kj * g.dw - g.pw;
      const int64_t a = std::max<int64_t>(0, s - w0);
      const int64_t e = std::min<int64_t>(std::min<int64_t>(V, g.Wo + s - w0), g.W - w0);
      m[kj] = __mmask16(lane_mask(a, e));
      shift[kj] = kj * ldk + (w0 - s);
    }
    const __mmask16 mw = __mmask16(lane_mask(0, std::min<int64_t>(V, g.W - w0)));
    for (int64_t h = 0; h < g.H; ++h) {
      __m512 acc = _mm512_setzero_ps();
      for (int64_t ki = 0; ki < g.kh; ++ki) {
        const int64_t oh = h + g.ph - ki * g.dh;  // unit stride: h = oh − ph + ki·dh
        if (oh < 0 || oh >= g.Ho) continue;
        const float* base = row0 + ki * g.kw * ldk + oh * g.Wo;
        for (int64_t kj = 0; kj < g.kw; ++kj)
          acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(m[kj], base + shift[kj]));
      }
      float* d = xp + h * g.W + w0;
      _mm512_mask_storeu_ps(d, mw, _mm512_add_ps(_mm512_maskz_loadu_ps(mw, d), acc));
    }
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
            const int64_t h = window_row(g, oh, ki);
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
  [[maybe_unused]] const bool plane = unit && gemm_isa() == GemmIsa::avx512 && g.kw <= 32;
  parallel_for(g.N * g.C, g.kh * g.kw * L, [&](int64_t b, int64_t e) {
    for (int64_t nc = b; nc < e; ++nc) {
      int64_t n = nc / g.C, c = nc % g.C;
      T* xp = x + nc * g.H * g.W;
#ifdef DST_GEMM_X86
      if constexpr (std::is_same_v<T, float>)
        if (plane) {
          col2im_plane_avx512(cols + c * g.kh * g.kw * ldk + n * lds, ldk, g, xp);
          continue;
        }
#endif
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
            const int64_t h = window_row(g, oh, ki);
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
