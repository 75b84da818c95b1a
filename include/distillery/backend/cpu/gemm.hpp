// backend/cpu/gemm.hpp — packed GEMM with SIMD micro-kernels picked at run time.
//
// C = alpha · op(A) · op(B) + beta · C for row-major float/double, the classic GotoBLAS/BLIS
// scheme: B is packed in KC × NR strips, A in MR × KC strips, and an MR × NR register-blocked
// micro-kernel runs over them. The micro-kernels are compiled for AVX2+FMA and AVX-512F with
// function-level target attributes and chosen once by CPUID, so a baseline build (no -march)
// still runs wide vectors on the machines that have them (gemm_x86.hpp). Other CPUs (aarch64,
// x86 without AVX2) run the same packed scheme with a portable C++ micro-kernel that the
// compiler vectorises (NEON on aarch64): like the SIMD paths it allocates nothing per call (its
// packing buffers are the chunk scratch of parallel.hpp), which Eigen's GEMM (kept as the
// reference path, "eigen") does not. Work is split statically over the threads by output tiles
// (each thread packs its own operands, no barriers); every C element accumulates over k in the
// same order whatever the split, so results depend only on the inputs and the ISA.
//
// beta == 0 never reads C (it may hold garbage or NaN), as BLAS.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>

#include "gemm_x86.hpp"
#include "parallel.hpp"  // DST_GEMM_X86, the AVX2 / AVX-512 micro-kernels

namespace distillery::cpu {

// Products with fewer multiply-adds than this run on one thread.
constexpr int64_t kGemmThreadMin = int64_t(1) << 19;

enum class GemmIsa : int { eigen = 0, portable = 1, avx2 = 2, avx512 = 3 };

namespace gemm_detail {

inline GemmIsa detect_isa() {
  GemmIsa best = GemmIsa::portable;
#ifdef DST_GEMM_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) best = GemmIsa::avx2;
  if (best == GemmIsa::avx2 && __builtin_cpu_supports("avx512f")) best = GemmIsa::avx512;
#endif
  // DISTILLERY_GEMM=eigen|portable|avx2|avx512 lowers the choice (for comparisons; never raises
  // it).
  if (const char* env = std::getenv("DISTILLERY_GEMM")) {
    GemmIsa want = best;
    if (!std::strcmp(env, "eigen")) want = GemmIsa::eigen;
    else if (!std::strcmp(env, "portable")) want = GemmIsa::portable;
    else if (!std::strcmp(env, "avx2")) want = GemmIsa::avx2;
    if (static_cast<int>(want) < static_cast<int>(best)) best = want;
  }
  return best;
}
inline GemmIsa& isa_slot() {
  static GemmIsa isa = detect_isa();
  return isa;
}
inline GemmIsa supported_isa() {
  static const GemmIsa isa = detect_isa();
  return isa;
}

// Packing buffers: per parallel chunk (per thread outside parallel_for), grown only (parallel.hpp).
using cpu::Scratch;
inline Scratch& scratch_a() { return cpu::scratch(ScratchKind::gemm_a); }
inline Scratch& scratch_b() { return cpu::scratch(ScratchKind::gemm_b); }

template <class T>
using MicroKernel = void (*)(int64_t, const T*, int64_t, const T*, int64_t, T*, int64_t, T, T);

// The portable micro-kernel: C[MR×NR] = alpha · A·B + beta · C in plain C++ (beta == 0: C not
// read). A packed (A[p·MR + i]) or, with DA, rows in place (A[i·lda + p]); B rows at stride
// ldb. The NR-wide inner loop over a local accumulator block is what the compiler vectorises.
template <class T, int MR, int NR, bool DA>
void uk_portable(int64_t kc, const T* A, int64_t lda, const T* B, int64_t ldb, T* C,
                 int64_t ldc, T alpha, T beta) {
  T acc[MR][NR] = {};
  for (int64_t p = 0; p < kc; ++p) {
    const T* b = B + p * ldb;
    for (int i = 0; i < MR; ++i) {
      const T a = DA ? A[i * lda + p] : A[p * MR + i];
      for (int j = 0; j < NR; ++j) acc[i][j] += a * b[j];
    }
  }
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) {
      T& c = C[i * ldc + j];
      c = beta == T(0) ? alpha * acc[i][j] : alpha * acc[i][j] + beta * c;
    }
}

// 4 × 4 transposes for float packing: dst[q·ld + r] = src[r·rs + q] for r < 4, q < 4, over
// `groups` groups of 4 rows (dst advancing 4, src 4·rs per group). Packing only moves values.
#if defined(DST_GEMM_X86) && defined(__SSE__)
#define DST_PACK_SSE 1
inline void transpose4_groups(const float* src, int64_t rs, float* dst, int64_t ld, int groups) {
  for (int g = 0; g < groups; ++g, src += 4 * rs, dst += 4) {
    __m128 r0 = _mm_loadu_ps(src), r1 = _mm_loadu_ps(src + rs);
    __m128 r2 = _mm_loadu_ps(src + 2 * rs), r3 = _mm_loadu_ps(src + 3 * rs);
    _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
    _mm_storeu_ps(dst, r0);
    _mm_storeu_ps(dst + ld, r1);
    _mm_storeu_ps(dst + 2 * ld, r2);
    _mm_storeu_ps(dst + 3 * ld, r3);
  }
}
#endif

// Packs the MR-row strips of A(i, p) = a[i·rs + p·cs], i < mc, p < kc (zero-padded rows).
template <class T, int MR>
void pack_a(const T* a, int64_t rs, int64_t cs, int64_t mc, int64_t kc, T* out) {
  for (int64_t i0 = 0; i0 < mc; i0 += MR) {
    const int64_t h = std::min<int64_t>(MR, mc - i0);
    const T* src = a + i0 * rs;
    if (rs == 1) {  // columns of A contiguous (A transposed in memory)
      if (h == MR) {
        for (int64_t p = 0; p < kc; ++p, out += MR) std::memcpy(out, src + p * cs, sizeof(T) * MR);
      } else {
        for (int64_t p = 0; p < kc; ++p, out += MR) {
          const T* col = src + p * cs;
          for (int64_t i = 0; i < MR; ++i) out[i] = i < h ? col[i] : T(0);
        }
      }
    } else {
#ifdef DST_PACK_SSE
      if constexpr (std::is_same_v<T, float> && MR % 4 == 0) {
        if (cs == 1 && h == MR) {  // rows of A contiguous: 4 × 4 transposes
          int64_t p = 0;
          for (; p + 4 <= kc; p += 4) transpose4_groups(src + p, rs, out + p * MR, MR, MR / 4);
          for (; p < kc; ++p)
            for (int64_t i = 0; i < MR; ++i) out[p * MR + i] = src[i * rs + p];
          out += kc * MR;
          continue;
        }
      }
#endif
      for (int64_t i = 0; i < h; ++i) {
        const T* row = src + i * rs;
        if (cs == 1)
          for (int64_t p = 0; p < kc; ++p) out[p * MR + i] = row[p];
        else
          for (int64_t p = 0; p < kc; ++p) out[p * MR + i] = row[p * cs];
      }
      for (int64_t i = h; i < MR; ++i)
        for (int64_t p = 0; p < kc; ++p) out[p * MR + i] = T(0);
      out += kc * MR;
    }
  }
}

// Packs the NR-column strips of B(p, j) = b[p·rs + j·cs], p < kc, j < nc (zero-padded cols).
template <class T, int NR>
void pack_b(const T* b, int64_t rs, int64_t cs, int64_t kc, int64_t nc, T* out) {
  for (int64_t j0 = 0; j0 < nc; j0 += NR) {
    const int64_t w = std::min<int64_t>(NR, nc - j0);
    const T* src = b + j0 * cs;
    if (cs == 1) {  // rows of B contiguous
      if (w == NR) {
        for (int64_t p = 0; p < kc; ++p, out += NR) std::memcpy(out, src + p * rs, sizeof(T) * NR);
      } else {
        for (int64_t p = 0; p < kc; ++p, out += NR) {
          const T* row = src + p * rs;
          for (int64_t j = 0; j < NR; ++j) out[j] = j < w ? row[j] : T(0);
        }
      }
    } else {
#ifdef DST_PACK_SSE
      if constexpr (std::is_same_v<T, float> && NR % 4 == 0) {
        if (rs == 1 && w == NR) {  // columns of B contiguous: 4 × 4 transposes
          int64_t p = 0;
          for (; p + 4 <= kc; p += 4) transpose4_groups(src + p, cs, out + p * NR, NR, NR / 4);
          for (; p < kc; ++p)
            for (int64_t j = 0; j < NR; ++j) out[p * NR + j] = src[j * cs + p];
          out += kc * NR;
          continue;
        }
      }
#endif
      for (int64_t j = 0; j < w; ++j) {
        const T* col = src + j * cs;
        if (rs == 1)
          for (int64_t p = 0; p < kc; ++p) out[p * NR + j] = col[p];
        else
          for (int64_t p = 0; p < kc; ++p) out[p * NR + j] = col[p * rs];
      }
      for (int64_t j = w; j < NR; ++j)
        for (int64_t p = 0; p < kc; ++p) out[p * NR + j] = T(0);
      out += kc * NR;
    }
  }
}

// One thread's share: rows [m0, m1) × cols [n0, n1) of C. A(i, p) = a[i·ars + p·acs],
// B(p, j) = b[p·brs + j·bcs]. UKP reads packed A, UKD reads A rows in place.
template <class T, int MR, int NR, MicroKernel<T> UKP, MicroKernel<T> UKD>
void gemm_tile(int64_t m0, int64_t m1, int64_t n0, int64_t n1, int64_t k, T alpha, const T* a,
               int64_t ars, int64_t acs, const T* b, int64_t brs, int64_t bcs, T beta, T* c,
               int64_t ldc) {
  constexpr int64_t KC = 256, MC = 144, NC = sizeof(T) == 4 ? 4096 : 2048;
  static_assert(MC % MR == 0 && NC % NR == 0, "block sizes must be multiples of the tile");
  // Packing pays off when the packed panel is reused many times. With few rows (columns), each
  // B (A) element is used only a few times: the micro-kernel then reads it in place when its
  // rows are contiguous, and only a ragged last strip is packed (zero-padded).
  const bool direct_b = bcs == 1 && (m1 - m0) <= 4 * MR;
  const bool direct_a = acs == 1 && (n1 - n0) <= 4 * NR;
  const int64_t kcmax = std::min(KC, k);
  const int64_t ncmax = direct_b ? NR : std::min(NC, ((n1 - n0 + NR - 1) / NR) * NR);
  const int64_t mcmax = direct_a ? MR : std::min(MC, ((m1 - m0 + MR - 1) / MR) * MR);
  T* bp = static_cast<T*>(scratch_b().get(sizeof(T) * kcmax * ncmax));
  T* ap = static_cast<T*>(scratch_a().get(sizeof(T) * kcmax * mcmax));
  alignas(64) T tmp[MR * NR];
  for (int64_t jc = n0; jc < n1; jc += NC) {
    const int64_t nc = std::min(NC, n1 - jc);
    const int64_t nfull = (nc / NR) * NR;
    for (int64_t pc = 0; pc < k; pc += KC) {
      const int64_t kc = std::min(KC, k - pc);
      const T be = pc == 0 ? beta : T(1);
      const T* bsrc = b + pc * brs + jc * bcs;
      if (!direct_b) pack_b<T, NR>(bsrc, brs, bcs, kc, nc, bp);
      else if (nfull < nc) pack_b<T, NR>(bsrc + nfull, brs, bcs, kc, nc - nfull, bp);
      for (int64_t ic = m0; ic < m1; ic += MC) {
        const int64_t mc = std::min(MC, m1 - ic);
        const int64_t mfull = (mc / MR) * MR;
        const T* asrc = a + ic * ars + pc * acs;
        if (!direct_a) pack_a<T, MR>(asrc, ars, acs, mc, kc, ap);
        else if (mfull < mc) pack_a<T, MR>(asrc + mfull * ars, ars, acs, mc - mfull, kc, ap);
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const int64_t w = std::min<int64_t>(NR, nc - jr);
          const T* bs = bp + jr * kc;
          int64_t ldb = NR;
          if (direct_b) {
            if (jr < nfull) { bs = bsrc + jr; ldb = brs; }
            else bs = bp;
          }
          for (int64_t ir = 0; ir < mc; ir += MR) {
            const int64_t h = std::min<int64_t>(MR, mc - ir);
            const bool da = direct_a && ir < mfull;
            const T* as = da ? asrc + ir * ars : (direct_a ? ap : ap + ir * kc);
            auto uk = da ? UKD : UKP;
            T* cp = c + (ic + ir) * ldc + jc + jr;
            if (h == MR && w == NR) {
              uk(kc, as, ars, bs, ldb, cp, ldc, alpha, be);
            } else {
              uk(kc, as, ars, bs, ldb, tmp, NR, T(1), T(0));
              for (int64_t i = 0; i < h; ++i)
                for (int64_t j = 0; j < w; ++j) {
                  const T v = alpha * tmp[i * NR + j];
                  cp[i * ldc + j] = be == T(0) ? v : v + be * cp[i * ldc + j];
                }
            }
          }
        }
      }
    }
  }
}

template <class T>
struct KernelSpec {
  void (*tile)(int64_t, int64_t, int64_t, int64_t, int64_t, T, const T*, int64_t, int64_t,
               const T*, int64_t, int64_t, T, T*, int64_t) = nullptr;
  int mr = 0, nr = 0;
};

template <class T, int MR, int NR, MicroKernel<T> UKP, MicroKernel<T> UKD>
KernelSpec<T> make_spec() {
  KernelSpec<T> ks;
  ks.tile = gemm_tile<T, MR, NR, UKP, UKD>;
  ks.mr = MR;
  ks.nr = NR;
  return ks;
}

// The kernel for an m × n product: the widest ISA, except that small products whose padding to
// the big AVX-512 tile would waste much more work than the AVX2 tile use the AVX2 tile.
template <class T>
bool kernel_spec(GemmIsa isa, int64_t m, int64_t n, KernelSpec<T>& ks) {
#ifdef DST_GEMM_X86
  auto padded = [&](int mr, int nr) {
    return double((m + mr - 1) / mr * mr) * double((n + nr - 1) / nr * nr);
  };
  if constexpr (std::is_same_v<T, float>) {
    if (isa == GemmIsa::avx512 && padded(12, 32) <= 1.25 * padded(6, 16)) {
      ks = make_spec<float, 12, 32, uk_avx512_f32_pa, uk_avx512_f32_da>();
      return true;
    }
    if (isa == GemmIsa::avx2 || isa == GemmIsa::avx512) {
      ks = make_spec<float, 6, 16, uk_avx2_f32_pa, uk_avx2_f32_da>();
      return true;
    }
  } else {
    if (isa == GemmIsa::avx512 && padded(12, 16) <= 1.25 * padded(6, 8)) {
      ks = make_spec<double, 12, 16, uk_avx512_f64_pa, uk_avx512_f64_da>();
      return true;
    }
    if (isa == GemmIsa::avx2 || isa == GemmIsa::avx512) {
      ks = make_spec<double, 6, 8, uk_avx2_f64_pa, uk_avx2_f64_da>();
      return true;
    }
  }
#endif
  (void)m; (void)n;
  if (isa == GemmIsa::eigen) return false;
  ks = make_spec<T, 4, 8, uk_portable<T, 4, 8, false>, uk_portable<T, 4, 8, true>>();
  return true;
}

// C = alpha · A·Bᵀ + beta · C by dot-product blocks (A [m, k] and B [n, k] row-major, rows
// contiguous). Used for small m × n with a long k, where packing would cost more than the
// products; returns false when no dot kernel exists for this ISA/type.
template <class T>
bool dot_gemm(int64_t m, int64_t n, int64_t k, T alpha, const T* A, int64_t lda, const T* B,
              int64_t ldb, T beta, T* C, int64_t ldc) {
#ifdef DST_GEMM_X86
  void (*blk)(int64_t, const T* const*, const T* const*, T*) = nullptr;
  if constexpr (std::is_same_v<T, float>) blk = dot_block_avx2_f32;
  else blk = dot_block_avx2_f64;
  const int64_t bi = (m + 1) / 2, bj = (n + 3) / 4;
  auto run = [&](int64_t b0, int64_t b1) {
    for (int64_t blkid = b0; blkid < b1; ++blkid) {
      const int64_t i0 = (blkid / bj) * 2, j0 = (blkid % bj) * 4;
      const T* ap[2];
      const T* bp[4];
      for (int i = 0; i < 2; ++i) ap[i] = A + std::min(i0 + i, m - 1) * lda;  // ragged: repeat
      for (int j = 0; j < 4; ++j) bp[j] = B + std::min(j0 + j, n - 1) * ldb;  // the last row
      alignas(64) T out[8];
      blk(k, ap, bp, out);
      for (int i = 0; i < 2 && i0 + i < m; ++i)
        for (int j = 0; j < 4 && j0 + j < n; ++j) {
          T& cv = C[(i0 + i) * ldc + j0 + j];
          const T v = alpha * out[i * 4 + j];
          cv = beta == T(0) ? v : v + beta * cv;
        }
    }
  };
  parallel_for(bi * bj, 8 * k, run);
  return true;
#else
  (void)m; (void)n; (void)k; (void)alpha; (void)A; (void)lda; (void)B; (void)ldb; (void)beta;
  (void)C; (void)ldc;
  return false;
#endif
}

}  // namespace gemm_detail

// The GEMM path in use ("avx512", "avx2", "portable" or "eigen"); set_gemm_isa lowers it
// (tests compare the paths; asking for more than the CPU has is ignored).
inline const char* gemm_kernel_name() {
  switch (gemm_detail::isa_slot()) {
    case GemmIsa::avx512: return "avx512";
    case GemmIsa::avx2: return "avx2";
    case GemmIsa::portable: return "portable";
    default: return "eigen";
  }
}
inline GemmIsa gemm_isa() { return gemm_detail::isa_slot(); }
inline void set_gemm_isa(GemmIsa isa) {
  if (static_cast<int>(isa) > static_cast<int>(gemm_detail::supported_isa()))
    isa = gemm_detail::supported_isa();
  gemm_detail::isa_slot() = isa;
}

// Batched row-major GEMM on the packed kernels; returns false when no SIMD kernel applies
// (the caller then uses Eigen). k > 0, m, n > 0.
template <class T>
bool packed_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* A,
                 int64_t lda, int64_t sA, const T* B, int64_t ldb, int64_t sB, T beta, T* C,
                 int64_t ldc, int64_t sC, int64_t batch) {
  gemm_detail::KernelSpec<T> ks;
  if (!gemm_detail::kernel_spec<T>(gemm_detail::isa_slot(), m, n, ks)) return false;
  // A·Bᵀ with both operands' rows contiguous and few outputs, with a long k or one or two rows
  // of A (a linear layer at batch 1-2: packing its weight would cost more than the products,
  // and a 6- or 12-row micro-tile would compute mostly padding): dot products, unpacked
  if (gemm_detail::isa_slot() >= GemmIsa::avx2 && !ta && tb && m * n <= 1024 &&
      std::min(m, n) <= 16 && (k >= 1024 || m <= 2)) {
    for (int64_t bi = 0; bi < batch; ++bi)
      gemm_detail::dot_gemm(m, n, k, alpha, A + bi * sA, lda, B + bi * sB, ldb, beta,
                            C + bi * sC, ldc);
    return true;
  }
  const int64_t ars = ta ? 1 : lda, acs = ta ? lda : 1;
  const int64_t brs = tb ? 1 : ldb, bcs = tb ? ldb : 1;
  const double flops = double(m) * double(n) * double(k);
  int nt = in_parallel() ? 1 : max_threads();
  // Below ~0.5 M multiply-adds (a few µs of work) a fork/join costs more than it saves.
  if (flops * double(batch) < double(kGemmThreadMin)) nt = 1;
  auto whole = [&](int64_t b0, int64_t b1) {
    for (int64_t bi = b0; bi < b1; ++bi)
      ks.tile(0, m, 0, n, k, alpha, A + bi * sA, ars, acs, B + bi * sB, brs, bcs, beta,
              C + bi * sC, ldc);
  };
  if (nt == 1) {
    whole(0, batch);
    return true;
  }
  if (batch >= nt) {  // whole products per thread (static split over the batch)
    parallel_for(batch, kParallelGrain, whole);
    return true;
  }
  // split each product's output over the threads, along the longer side in micro-tile units
  const bool split_n = (n / ks.nr) >= (m / ks.mr);
  const int64_t unit = split_n ? ks.nr : ks.mr, ext = split_n ? n : m;
  const int64_t tiles = (ext + unit - 1) / unit;
  nt = static_cast<int>(std::min<int64_t>(nt, tiles));
  for (int64_t bi = 0; bi < batch; ++bi) {
    const T* a = A + bi * sA;
    const T* b = B + bi * sB;
    T* c = C + bi * sC;
    // Solo (the pool's choice when the cores are shared), the whole product in one tile call:
    // the same micro-tiles and sums as the split (tests/backend/test_gemm.cpp), each operand
    // packed once instead of once per chunk.
    parallel_for(nt, kParallelGrain, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t lo = std::min(ext, (tiles * t / nt) * unit);
        const int64_t hi = std::min(ext, (tiles * (t + 1) / nt) * unit);
        if (lo >= hi) continue;
        if (split_n)
          ks.tile(0, m, lo, hi, k, alpha, a, ars, acs, b, brs, bcs, beta, c, ldc);
        else
          ks.tile(lo, hi, 0, n, k, alpha, a, ars, acs, b, brs, bcs, beta, c, ldc);
      }
    }, [&] { ks.tile(0, m, 0, n, k, alpha, a, ars, acs, b, brs, bcs, beta, c, ldc); });
  }
  return true;
}

}  // namespace distillery::cpu
