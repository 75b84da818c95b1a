// backend/cpu/nn_functional.hpp — the CPU kernels of the nn_functional family:
// im2col / col2im, max pooling and the fused dense convolution.
//
// One family per file, mirroring ops/nn_functional.hpp, cuda/kernels_nn_functional.cu and
// tests/ops/table_nn_functional.hpp (the family list is in backend/cpu/kernels.hpp). The
// families stack into one table: each Cpu<Family><T> derives from the previous family, and
// CpuKernels<T> (kernels.hpp) is the last. Only backend/cpu/implementation.hpp instantiates
// them.
#pragma once
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "conv_direct.hpp"
#include "im2col.hpp"
#include "index.hpp"
#include "pool.hpp"

namespace distillery::cpu {

template <class T>
struct CpuNnFunctional : CpuIndex<T> {
  using I = int64_t;

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
            int64_t bi;
            max_window(xp, g, oh, ow, best, bi);
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
  static Scratch& conv_scratch() { return cpu::scratch(ScratchKind::conv); }
  // Samples per chunk: about 192 KiB of columns. Depends only on the geometry (not on the
  // thread count), so a forward's saved columns match the backward's chunking.
  static int64_t conv_chunk(int64_t per_sample_elems, int64_t n) {
    const int64_t budget = (192 << 10) / static_cast<int64_t>(sizeof(T));
    int64_t nb = std::max<int64_t>(1, budget / std::max<int64_t>(per_sample_elems, 1));
    return std::min(nb, n);
  }
  // `split_free`: f's results do not depend on the cut (a forward: each sample's output alone),
  // so a job the pool runs on the caller alone calls f(0, 0, chunks) once, on one scratch.
  template <class F>
  static void conv_threads(int64_t chunks, double work, F&& f, bool split_free = false) {
    int nt = (chunks >= 2 && !in_parallel() && work >= double(kGemmThreadMin)) ? max_threads() : 1;
    nt = static_cast<int>(std::min<int64_t>(nt, chunks));
    if (nt <= 1) return f(0, int64_t(0), chunks);
    auto split = [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) f(static_cast<int>(t), chunks * t / nt, chunks * (t + 1) / nt);
    };
    if (split_free) parallel_for(nt, kParallelGrain, split, [&] { f(0, int64_t(0), chunks); });
    else parallel_for(nt, kParallelGrain, split);
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
          }, /*split_free=*/true);
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
          this->gemm(false, false, cout, P, K, T(1), w, K, 0, cols, P, 0, T(0), yt, P, 0, 1);
          T* yc = y + n0 * ys;
          for (int64_t i = 0; i < n; ++i)
            for (int64_t c = 0; c < cout; ++c) {
              const T* src = yt + c * P + i * L;
              T* dst = yc + i * ys + c * L;
              if (b) for (int64_t l = 0; l < L; ++l) dst[l] = src[l] + b[c];
              else std::copy(src, src + L, dst);
            }
        }
      }, /*split_free=*/true);
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
              this->gemm(false, true, cout, K, P, T(1), gyt, P, 0, cols_in, P, 0, T(1), pw, K, 0,
                         1);
            else  // gwᵀ [K, cout] += cols [K, P] · gytᵀ [P, cout]  (cols read in place)
              this->gemm(false, true, K, cout, P, T(1), cols_in, P, 0, gyt, P, 0, T(1), pw, cout,
                         0, 1);
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
            this->gemm(true, false, K, P, cout, T(1), w, K, 0, gyt, P, 0, T(0), cols, P, 0, 1);
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

};

}  // namespace distillery::cpu
