// backend/cpu/conv_direct.hpp — one-channel, unit-stride convolutions without im2col (float,
// AVX-512).
//
// With C = 1 (a first layer on grayscale images) the unfolded columns are kh·kw shifted copies of
// the image, and writing them costs about as much as the products. Here each image is copied once
// into a zero-padded raster P of width Wp = W + 2·pw, where output position q = oh·Wp + ow reads
// tap t = (ki, kj) at P[q + off_t], off_t = ki·dh·Wp + kj·dw: a GEMM whose B rows are shifted
// views of P. Columns ow ≥ Wo of the raster are computed and dropped, so the path is taken only
// when they are at most a quarter of it (LeNet-5's conv1: 28 of 32).
//
//   forward   y[co, oh, ow] = Σ_t w[co, t] · P[oh·Wp + ow + off_t]  (+ b[co])
//             taps summed in order by FMAs, then the bias added: the same operations as the
//             im2col + GEMM path, so the same bits.
//   gw        gw[co, t] = Σ_n Σ_q G_n[co, q] · P_n[q + off_t]  (G: gy on the raster, zero in the
//             dropped columns), 6 channels × 4 taps of 16-lane accumulators over q and the
//             thread's samples; per-thread partial sums over a static split of the batch, added
//             in thread order (bits depend on the thread count only). The dropped columns
//             multiply zeros, so an inf in the image may also turn taps that never read it NaN.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "../kernel_table.hpp"
#include "gemm.hpp"
#include "parallel.hpp"

namespace distillery::cpu::conv_direct {

constexpr int kMaxTaps = 64, kRows = 6, kCols = 32;  // taps; output channels × raster per tile

inline int64_t raster_w(const Conv2dGeometry& g) { return g.W + 2 * g.pw; }
// Raster length computed per image (whole tiles) and the padded image buffer's length.
inline int64_t raster_q(const Conv2dGeometry& g) {
  return (g.Ho * raster_w(g) + kCols - 1) / kCols * kCols;
}
inline int64_t image_len(const Conv2dGeometry& g) {
  return raster_q(g) + (g.kh - 1) * g.dh * raster_w(g) + (g.kw - 1) * g.dw + kCols;
}

template <class T>
bool applies(const Conv2dGeometry& g) {
#ifdef DST_GEMM_X86
  const int64_t wp = raster_w(g);
  return std::is_same_v<T, float> && gemm_isa() == GemmIsa::avx512 && g.C == 1 && g.sh == 1 &&
         g.sw == 1 && g.kh * g.kw <= kMaxTaps && 4 * (wp - g.Wo) <= wp && g.Wo >= 8;
#else
  (void)g;
  return false;
#endif
}

// P (image_len floats) = image x [H, W] zero-padded on the raster; offsets of the taps.
inline void pad_image(const float* x, const Conv2dGeometry& g, float* P, int64_t* off) {
  const int64_t wp = raster_w(g);
  std::fill(P, P + image_len(g), 0.f);
  for (int64_t h = 0; h < g.H; ++h) std::memcpy(P + (h + g.ph) * wp + g.pw, x + h * g.W, 4 * g.W);
  for (int64_t ki = 0; ki < g.kh; ++ki)
    for (int64_t kj = 0; kj < g.kw; ++kj) off[ki * g.kw + kj] = ki * g.dh * wp + kj * g.dw;
}

#ifdef DST_GEMM_X86
// acc[r][0..32) = Σ_t wt[t·kRows + r] · P[off_t + q0 ..], stored to C rows (stride ldc).
DST_TARGET_AVX512 inline void tile(int64_t taps, const float* wt, const float* P,
                                   const int64_t* off, float* C, int64_t ldc) {
  __m512 acc[kRows][2];
#pragma GCC unroll 8
  for (int r = 0; r < kRows; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  for (int64_t t = 0; t < taps; ++t, wt += kRows) {
    const __m512 b0 = _mm512_loadu_ps(P + off[t]), b1 = _mm512_loadu_ps(P + off[t] + 16);
#pragma GCC unroll 8
    for (int r = 0; r < kRows; ++r) {
      const __m512 a = _mm512_set1_ps(wt[r]);
      acc[r][0] = _mm512_fmadd_ps(a, b0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(a, b1, acc[r][1]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < kRows; ++r) {
    _mm512_storeu_ps(C + r * ldc, acc[r][0]);
    _mm512_storeu_ps(C + r * ldc + 16, acc[r][1]);
  }
}
#endif

// y [N, cout, Ho, Wo] for samples [n0, n1); scratch: image_len + kRows·raster_q floats.
inline void forward(const float* x, const float* w, const float* b, const Conv2dGeometry& g,
                    int64_t cout, float* y, int64_t n0, int64_t n1, float* scratch) {
#ifdef DST_GEMM_X86
  const int64_t K = g.kh * g.kw, wp = raster_w(g), Q = raster_q(g), L = g.Ho * g.Wo;
  float* P = scratch;
  float* C = scratch + image_len(g);
  int64_t off[kMaxTaps];
  alignas(64) float wt[kMaxTaps * kRows];
  for (int64_t n = n0; n < n1; ++n) {
    pad_image(x + n * g.H * g.W, g, P, off);
    for (int64_t c0 = 0; c0 < cout; c0 += kRows) {
      const int64_t rows = std::min<int64_t>(kRows, cout - c0);
      for (int64_t t = 0; t < K; ++t)  // weights of this block, tap-major, zero-padded rows
        for (int r = 0; r < kRows; ++r) wt[t * kRows + r] = r < rows ? w[(c0 + r) * K + t] : 0.f;
      for (int64_t q0 = 0; q0 < Q; q0 += kCols) tile(K, wt, P + q0, off, C + q0, Q);
      for (int64_t r = 0; r < rows; ++r) {
        float* yr = y + (n * cout + c0 + r) * L;
        const float* cr = C + r * Q;
        const float bias = b ? b[c0 + r] : 0.f;
        for (int64_t oh = 0; oh < g.Ho; ++oh)
          for (int64_t ow = 0; ow < g.Wo; ++ow)
            yr[oh * g.Wo + ow] = b ? cr[oh * wp + ow] + bias : cr[oh * wp + ow];
      }
    }
  }
#else
  (void)x; (void)w; (void)b; (void)g; (void)cout; (void)y; (void)n0; (void)n1; (void)scratch;
#endif
}

#ifdef DST_GEMM_X86
// acc[r][j][0..16) += Σ_q G[r·Q + q] · P[off[j] + q] over q < Q (16 at a time), r < kRows, j < 4.
DST_TARGET_AVX512 inline void grad_tile(int64_t Q, const float* G, const float* P,
                                        const int64_t* off, float* acc) {
  __m512 a[kRows][4];
#pragma GCC unroll 8
  for (int r = 0; r < kRows; ++r)
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) a[r][j] = _mm512_loadu_ps(acc + (r * 4 + j) * 16);
  const float *p0 = P + off[0], *p1 = P + off[1], *p2 = P + off[2], *p3 = P + off[3];
  for (int64_t q = 0; q < Q; q += 16) {
    const __m512 b[4] = {_mm512_loadu_ps(p0 + q), _mm512_loadu_ps(p1 + q),
                         _mm512_loadu_ps(p2 + q), _mm512_loadu_ps(p3 + q)};
#pragma GCC unroll 8
    for (int r = 0; r < kRows; ++r) {
      const __m512 gv = _mm512_loadu_ps(G + r * Q + q);
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) a[r][j] = _mm512_fmadd_ps(gv, b[j], a[r][j]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < kRows; ++r)
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) _mm512_storeu_ps(acc + (r * 4 + j) * 16, a[r][j]);
}
#endif

// Scratch floats for weight_grad: P, G (channels rounded up to kRows), lane accumulators.
inline int64_t grad_scratch(const Conv2dGeometry& g, int64_t cout) {
  const int64_t cb = (cout + kRows - 1) / kRows, tb = (g.kh * g.kw + 3) / 4;
  return image_len(g) + cb * kRows * raster_q(g) + cb * tb * kRows * 4 * 16;
}

// gw [cout, K] += Σ over samples [n0, n1): 16-lane accumulators per (channel, tap) over all the
// samples, lanes summed pairwise at the end.
inline void weight_grad(const float* x, const float* gy, const Conv2dGeometry& g, int64_t cout,
                        float* gw, int64_t n0, int64_t n1, float* scratch) {
#ifdef DST_GEMM_X86
  const int64_t K = g.kh * g.kw, wp = raster_w(g), Q = raster_q(g), L = g.Ho * g.Wo;
  const int64_t cb = (cout + kRows - 1) / kRows, tb = (K + 3) / 4;
  float* P = scratch;
  float* G = P + image_len(g);
  float* acc = G + cb * kRows * Q;
  std::fill(G, acc + cb * tb * kRows * 4 * 16, 0.f);  // dropped columns and padding rows stay 0
  int64_t off[kMaxTaps + 4];
  for (int64_t n = n0; n < n1; ++n) {
    pad_image(x + n * g.H * g.W, g, P, off);
    for (int64_t t = K; t < tb * 4; ++t) off[t] = off[K - 1];  // ragged tap block: discarded
    for (int64_t c = 0; c < cout; ++c)
      for (int64_t oh = 0; oh < g.Ho; ++oh)
        std::memcpy(G + c * Q + oh * wp, gy + (n * cout + c) * L + oh * g.Wo, 4 * g.Wo);
    for (int64_t i = 0; i < cb; ++i)
      for (int64_t j = 0; j < tb; ++j)
        grad_tile(Q, G + i * kRows * Q, P, off + 4 * j, acc + (i * tb + j) * kRows * 4 * 16);
  }
  for (int64_t i = 0; i < cb; ++i)
    for (int64_t j = 0; j < tb; ++j)
      for (int r = 0; r < kRows; ++r)
        for (int k = 0; k < 4; ++k) {
          const int64_t c = i * kRows + r, t = 4 * j + k;
          float* v = acc + ((i * tb + j) * kRows * 4 + r * 4 + k) * 16;
          for (int w = 8; w >= 1; w /= 2)
            for (int l = 0; l < w; ++l) v[l] += v[l + w];
          if (c < cout && t < K) gw[c * K + t] += v[0];
        }
#else
  (void)x; (void)gy; (void)g; (void)cout; (void)gw; (void)n0; (void)n1; (void)scratch;
#endif
}

}  // namespace distillery::cpu::conv_direct
