// backend/cpu/pool.hpp — the 2×2 stride-2 max-pool row on AVX-512 (float).
//
// Sixteen outputs per step: the four window values are de-interleaved from two input rows by
// permutes, selected by masks (the first maximum wins ties, a NaN wins: the last NaN seen, as
// the SSE2 and scalar rows in kernels.hpp), and the winner's offset in the window (0, 1, W,
// W + 1) is selected alongside, so the flat index is q0 + 2·ow + offset, widened to int64.
// Ragged ends use masked loads and stores. Needs q0 + 2·Wo + W + 1 to fit in int32.
#pragma once
#include <algorithm>
#include <cstdint>

#include "gemm.hpp"

namespace distillery::cpu {

#ifdef DST_GEMM_X86
// best, which ← v, code where v > best or v is NaN
DST_TARGET_AVX512 inline void pool_take(__m512 v, __m512i code, __m512& best, __m512i& which) {
  const __mmask16 m =
      _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
  best = _mm512_mask_mov_ps(best, m, v);
  which = _mm512_mask_mov_epi32(which, m, code);
}

DST_TARGET_AVX512 inline void max_pool_2x2_row_avx512(const float* r0, int64_t W, int64_t q0,
                                                      int64_t Wo, float* out, int64_t* idx) {
  auto mask = [](int64_t n) {  // lanes [0, n), n clamped to [0, 16]
    n = std::min<int64_t>(std::max<int64_t>(n, 0), 16);
    return static_cast<__mmask16>((uint32_t(1) << n) - 1);
  };
  const float* r1 = r0 + W;
  const __m512i even =
      _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
  const __m512i one = _mm512_set1_epi32(1), below = _mm512_set1_epi32(int32_t(W)),
                diag = _mm512_set1_epi32(int32_t(W + 1));
  for (int64_t ow = 0; ow < Wo; ow += 16) {
    const int64_t n = std::min<int64_t>(16, Wo - ow);
    const __mmask16 m0 = mask(2 * n), m1 = mask(2 * n - 16), mo = mask(n);
    const __m512 x0 = _mm512_maskz_loadu_ps(m0, r0 + 2 * ow);
    const __m512 x1 = _mm512_maskz_loadu_ps(m1, r0 + 2 * ow + 16);
    const __m512 y0 = _mm512_maskz_loadu_ps(m0, r1 + 2 * ow);
    const __m512 y1 = _mm512_maskz_loadu_ps(m1, r1 + 2 * ow + 16);
    __m512 best = _mm512_permutex2var_ps(x0, even, x1);  // r0[2ow]
    __m512i which = _mm512_setzero_si512();
    pool_take(_mm512_permutex2var_ps(x0, odd, x1), one, best, which);    // r0[2ow + 1]
    pool_take(_mm512_permutex2var_ps(y0, even, y1), below, best, which);  // r1[2ow]
    pool_take(_mm512_permutex2var_ps(y0, odd, y1), diag, best, which);    // r1[2ow + 1]
    _mm512_mask_storeu_ps(out + ow, mo, best);
    // q0 + 2·(ow + lane) + offset  ("even" holds 2·lane)
    const __m512i q =
        _mm512_add_epi32(_mm512_add_epi32(_mm512_set1_epi32(int32_t(q0 + 2 * ow)), even), which);
    // (the maskz forms: GCC 12 warns about the undefined pass-through of the plain ones)
    const __m256i lo = _mm512_maskz_extracti64x4_epi64(0xF, q, 0);
    const __m256i hi = _mm512_maskz_extracti64x4_epi64(0xF, q, 1);
    _mm512_mask_storeu_epi64(idx + ow, __mmask8(mo), _mm512_maskz_cvtepi32_epi64(0xFF, lo));
    _mm512_mask_storeu_epi64(idx + ow + 8, __mmask8(mo >> 8),
                             _mm512_maskz_cvtepi32_epi64(0xFF, hi));
  }
}
#endif

}  // namespace distillery::cpu
