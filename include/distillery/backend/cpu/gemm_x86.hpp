// backend/cpu/gemm_x86.hpp — the x86 micro-kernels of the packed GEMM (gemm.hpp): AVX2+FMA and
// AVX-512F register-blocked MR × NR kernels for float and double, and the AVX2 dot-product
// blocks for small outputs with a long k. Each is compiled with a function-level target
// attribute, so a baseline build (no -march) carries them and gemm.hpp picks one by CPUID.
// Defines DST_GEMM_X86 where they exist (GCC/Clang on x86, unless DISTILLERY_NO_SIMD_GEMM);
// elsewhere this header is empty and the portable micro-kernel runs.
#pragma once
#include <cstdint>

#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__)) && \
    !defined(DISTILLERY_NO_SIMD_GEMM)
#include <immintrin.h>
#define DST_GEMM_X86 1
#define DST_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define DST_TARGET_AVX512 __attribute__((target("avx512f,avx2,fma")))
#endif

#ifdef DST_GEMM_X86
namespace distillery::cpu::gemm_detail {

// ---- micro-kernels: C[MR×NR] (ldc) = alpha · A·B + beta · C  (beta == 0: C not read) --------
// A: packed (kc columns of MR values) or, with DA ("direct A"), MR rows read in place with row
// stride lda. B: kc rows of NR values, row stride ldb (the packed strip, or B itself in place).
// One text per (ISA, type), instantiated for both A layouts; NR = 2 vectors.

DST_TARGET_AVX2 inline void uk_avx2_f32_pa(int64_t kc, const float* A, int64_t lda, const float* B, int64_t ldb,
                                    float* C, int64_t ldc, float alpha, float beta) {
  constexpr bool DA = false;
  constexpr int MR = 6;
  __m256 c[MR][2];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) c[i][0] = c[i][1] = _mm256_setzero_ps();
  for (int64_t p = 0; p < kc; ++p) {
    const __m256 b0 = _mm256_loadu_ps(B), b1 = _mm256_loadu_ps(B + 8);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const __m256 a = _mm256_broadcast_ss(DA ? A + i * lda : A + i);
      c[i][0] = _mm256_fmadd_ps(a, b0, c[i][0]);
      c[i][1] = _mm256_fmadd_ps(a, b1, c[i][1]);
    }
    A += DA ? 1 : MR;
    B += ldb;
  }
  const __m256 va = _mm256_set1_ps(alpha);
  if (beta == float(0)) {
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      _mm256_storeu_ps(C + i * ldc, _mm256_mul_ps(va, c[i][0]));
      _mm256_storeu_ps(C + i * ldc + 8, _mm256_mul_ps(va, c[i][1]));
    }
  } else {
    const __m256 vb = _mm256_set1_ps(beta);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      float* r = C + i * ldc;
      _mm256_storeu_ps(r, _mm256_fmadd_ps(va, c[i][0], _mm256_mul_ps(vb, _mm256_loadu_ps(r))));
      _mm256_storeu_ps(r + 8, _mm256_fmadd_ps(va, c[i][1], _mm256_mul_ps(vb, _mm256_loadu_ps(r + 8))));
    }
  }
}

DST_TARGET_AVX2 inline void uk_avx2_f32_da(int64_t kc, const float* A, int64_t lda, const float* B, int64_t ldb,
                                    float* C, int64_t ldc, float alpha, float beta) {
  constexpr bool DA = true;
  constexpr int MR = 6;
  __m256 c[MR][2];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) c[i][0] = c[i][1] = _mm256_setzero_ps();
  for (int64_t p = 0; p < kc; ++p) {
    const __m256 b0 = _mm256_loadu_ps(B), b1 = _mm256_loadu_ps(B + 8);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const __m256 a = _mm256_broadcast_ss(DA ? A + i * lda : A + i);
      c[i][0] = _mm256_fmadd_ps(a, b0, c[i][0]);
      c[i][1] = _mm256_fmadd_ps(a, b1, c[i][1]);
    }
    A += DA ? 1 : MR;
    B += ldb;
  }
  const __m256 va = _mm256_set1_ps(alpha);
  if (beta == float(0)) {
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      _mm256_storeu_ps(C + i * ldc, _mm256_mul_ps(va, c[i][0]));
      _mm256_storeu_ps(C + i * ldc + 8, _mm256_mul_ps(va, c[i][1]));
    }
  } else {
    const __m256 vb = _mm256_set1_ps(beta);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      float* r = C + i * ldc;
      _mm256_storeu_ps(r, _mm256_fmadd_ps(va, c[i][0], _mm256_mul_ps(vb, _mm256_loadu_ps(r))));
      _mm256_storeu_ps(r + 8, _mm256_fmadd_ps(va, c[i][1], _mm256_mul_ps(vb, _mm256_loadu_ps(r + 8))));
    }
  }
}

DST_TARGET_AVX2 inline void uk_avx2_f64_pa(int64_t kc, const double* A, int64_t lda, const double* B, int64_t ldb,
                                    double* C, int64_t ldc, double alpha, double beta) {
  constexpr bool DA = false;
  constexpr int MR = 6;
  __m256d c[MR][2];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) c[i][0] = c[i][1] = _mm256_setzero_pd();
  for (int64_t p = 0; p < kc; ++p) {
    const __m256d b0 = _mm256_loadu_pd(B), b1 = _mm256_loadu_pd(B + 4);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const __m256d a = _mm256_broadcast_sd(DA ? A + i * lda : A + i);
      c[i][0] = _mm256_fmadd_pd(a, b0, c[i][0]);
      c[i][1] = _mm256_fmadd_pd(a, b1, c[i][1]);
    }
    A += DA ? 1 : MR;
    B += ldb;
  }
  const __m256d va = _mm256_set1_pd(alpha);
  if (beta == double(0)) {
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      _mm256_storeu_pd(C + i * ldc, _mm256_mul_pd(va, c[i][0]));
      _mm256_storeu_pd(C + i * ldc + 4, _mm256_mul_pd(va, c[i][1]));
    }
  } else {
    const __m256d vb = _mm256_set1_pd(beta);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      double* r = C + i * ldc;
      _mm256_storeu_pd(r, _mm256_fmadd_pd(va, c[i][0], _mm256_mul_pd(vb, _mm256_loadu_pd(r))));
      _mm256_storeu_pd(r + 4, _mm256_fmadd_pd(va, c[i][1], _mm256_mul_pd(vb, _mm256_loadu_pd(r + 4))));
    }
  }
}

DST_TARGET_AVX2 inline void uk_avx2_f64_da(int64_t kc, const double* A, int64_t lda, const double* B, int64_t ldb,
                                    double* C, int64_t ldc, double alpha, double beta) {
  constexpr bool DA = true;
  constexpr int MR = 6;
  __m256d c[MR][2];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) c[i][0] = c[i][1] = _mm256_setzero_pd();
  for (int64_t p = 0; p < kc; ++p) {
    const __m256d b0 = _mm256_loadu_pd(B), b1 = _mm256_loadu_pd(B + 4);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const __m256d a = _mm256_broadcast_sd(DA ? A + i * lda : A + i);
      c[i][0] = _mm256_fmadd_pd(a, b0, c[i][0]);
      c[i][1] = _mm256_fmadd_pd(a, b1, c[i][1]);
    }
    A += DA ? 1 : MR;
    B += ldb;
  }
  const __m256d va = _mm256_set1_pd(alpha);
  if (beta == double(0)) {
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      _mm256_storeu_pd(C + i * ldc, _mm256_mul_pd(va, c[i][0]));
      _mm256_storeu_pd(C + i * ldc + 4, _mm256_mul_pd(va, c[i][1]));
    }
  } else {
    const __m256d vb = _mm256_set1_pd(beta);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      double* r = C + i * ldc;
      _mm256_storeu_pd(r, _mm256_fmadd_pd(va, c[i][0], _mm256_mul_pd(vb, _mm256_loadu_pd(r))));
      _mm256_storeu_pd(r + 4, _mm256_fmadd_pd(va, c[i][1], _mm256_mul_pd(vb, _mm256_loadu_pd(r + 4))));
    }
  }
}

DST_TARGET_AVX512 inline void uk_avx512_f32_pa(int64_t kc, const float* A, int64_t lda, const float* B, int64_t ldb,
                                    float* C, int64_t ldc, float alpha, float beta) {
  constexpr bool DA = false;
  constexpr int MR = 12;
  __m512 c[MR][2];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) c[i][0] = c[i][1] = _mm512_setzero_ps();
  for (int64_t p = 0; p < kc; ++p) {
    const __m512 b0 = _mm512_loadu_ps(B), b1 = _mm512_loadu_ps(B + 16);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const __m512 a = _mm512_set1_ps(*(DA ? A + i * lda : A + i));
      c[i][0] = _mm512_fmadd_ps(a, b0, c[i][0]);
      c[i][1] = _mm512_fmadd_ps(a, b1, c[i][1]);
    }
    A += DA ? 1 : MR;
    B += ldb;
  }
  const __m512 va = _mm512_set1_ps(alpha);
  if (beta == float(0)) {
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      _mm512_storeu_ps(C + i * ldc, _mm512_mul_ps(va, c[i][0]));
      _mm512_storeu_ps(C + i * ldc + 16, _mm512_mul_ps(va, c[i][1]));
    }
  } else {
    const __m512 vb = _mm512_set1_ps(beta);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      float* r = C + i * ldc;
      _mm512_storeu_ps(r, _mm512_fmadd_ps(va, c[i][0], _mm512_mul_ps(vb, _mm512_loadu_ps(r))));
      _mm512_storeu_ps(r + 16, _mm512_fmadd_ps(va, c[i][1], _mm512_mul_ps(vb, _mm512_loadu_ps(r + 16))));
    }
  }
}

DST_TARGET_AVX512 inline void uk_avx512_f32_da(int64_t kc, const float* A, int64_t lda, const float* B, int64_t ldb,
                                    float* C, int64_t ldc, float alpha, float beta) {
  constexpr bool DA = true;
  constexpr int MR = 12;
  __m512 c[MR][2];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) c[i][0] = c[i][1] = _mm512_setzero_ps();
  for (int64_t p = 0; p < kc; ++p) {
    const __m512 b0 = _mm512_loadu_ps(B), b1 = _mm512_loadu_ps(B + 16);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const __m512 a = _mm512_set1_ps(*(DA ? A + i * lda : A + i));
      c[i][0] = _mm512_fmadd_ps(a, b0, c[i][0]);
      c[i][1] = _mm512_fmadd_ps(a, b1, c[i][1]);
    }
    A += DA ? 1 : MR;
    B += ldb;
  }
  const __m512 va = _mm512_set1_ps(alpha);
  if (beta == float(0)) {
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      _mm512_storeu_ps(C + i * ldc, _mm512_mul_ps(va, c[i][0]));
      _mm512_storeu_ps(C + i * ldc + 16, _mm512_mul_ps(va, c[i][1]));
    }
  } else {
    const __m512 vb = _mm512_set1_ps(beta);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      float* r = C + i * ldc;
      _mm512_storeu_ps(r, _mm512_fmadd_ps(va, c[i][0], _mm512_mul_ps(vb, _mm512_loadu_ps(r))));
      _mm512_storeu_ps(r + 16, _mm512_fmadd_ps(va, c[i][1], _mm512_mul_ps(vb, _mm512_loadu_ps(r + 16))));
    }
  }
}

DST_TARGET_AVX512 inline void uk_avx512_f64_pa(int64_t kc, const double* A, int64_t lda, const double* B, int64_t ldb,
                                    double* C, int64_t ldc, double alpha, double beta) {
  constexpr bool DA = false;
  constexpr int MR = 12;
  __m512d c[MR][2];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) c[i][0] = c[i][1] = _mm512_setzero_pd();
  for (int64_t p = 0; p < kc; ++p) {
    const __m512d b0 = _mm512_loadu_pd(B), b1 = _mm512_loadu_pd(B + 8);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const __m512d a = _mm512_set1_pd(*(DA ? A + i * lda : A + i));
      c[i][0] = _mm512_fmadd_pd(a, b0, c[i][0]);
      c[i][1] = _mm512_fmadd_pd(a, b1, c[i][1]);
    }
    A += DA ? 1 : MR;
    B += ldb;
  }
  const __m512d va = _mm512_set1_pd(alpha);
  if (beta == double(0)) {
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      _mm512_storeu_pd(C + i * ldc, _mm512_mul_pd(va, c[i][0]));
      _mm512_storeu_pd(C + i * ldc + 8, _mm512_mul_pd(va, c[i][1]));
    }
  } else {
    const __m512d vb = _mm512_set1_pd(beta);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      double* r = C + i * ldc;
      _mm512_storeu_pd(r, _mm512_fmadd_pd(va, c[i][0], _mm512_mul_pd(vb, _mm512_loadu_pd(r))));
      _mm512_storeu_pd(r + 8, _mm512_fmadd_pd(va, c[i][1], _mm512_mul_pd(vb, _mm512_loadu_pd(r + 8))));
    }
  }
}

DST_TARGET_AVX512 inline void uk_avx512_f64_da(int64_t kc, const double* A, int64_t lda, const double* B, int64_t ldb,
                                    double* C, int64_t ldc, double alpha, double beta) {
  constexpr bool DA = true;
  constexpr int MR = 12;
  __m512d c[MR][2];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) c[i][0] = c[i][1] = _mm512_setzero_pd();
  for (int64_t p = 0; p < kc; ++p) {
    const __m512d b0 = _mm512_loadu_pd(B), b1 = _mm512_loadu_pd(B + 8);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const __m512d a = _mm512_set1_pd(*(DA ? A + i * lda : A + i));
      c[i][0] = _mm512_fmadd_pd(a, b0, c[i][0]);
      c[i][1] = _mm512_fmadd_pd(a, b1, c[i][1]);
    }
    A += DA ? 1 : MR;
    B += ldb;
  }
  const __m512d va = _mm512_set1_pd(alpha);
  if (beta == double(0)) {
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      _mm512_storeu_pd(C + i * ldc, _mm512_mul_pd(va, c[i][0]));
      _mm512_storeu_pd(C + i * ldc + 8, _mm512_mul_pd(va, c[i][1]));
    }
  } else {
    const __m512d vb = _mm512_set1_pd(beta);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      double* r = C + i * ldc;
      _mm512_storeu_pd(r, _mm512_fmadd_pd(va, c[i][0], _mm512_mul_pd(vb, _mm512_loadu_pd(r))));
      _mm512_storeu_pd(r + 8, _mm512_fmadd_pd(va, c[i][1], _mm512_mul_pd(vb, _mm512_loadu_pd(r + 8))));
    }
  }
}

// ---- dot-product blocks for C = A·Bᵀ with both operands row-major and a long k ---------------
// (small m × n, e.g. a convolution's weight gradient gy · colsᵀ): a 2 × 4 block of dot products
// per pass, vectorised along k, no packing. out[i·4 + j] = Σ_p a[i][p] · b[j][p].
DST_TARGET_AVX2 inline void dot_block_avx2_f32(int64_t k, const float* const* a,
                                               const float* const* b, float* out) {
  __m256 acc[2][4];
#pragma GCC unroll 8
  for (int i = 0; i < 2; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < 4; ++j) acc[i][j] = _mm256_setzero_ps();
  int64_t p = 0;
  for (; p + 8 <= k; p += 8) {
    const __m256 a0 = _mm256_loadu_ps(a[0] + p), a1 = _mm256_loadu_ps(a[1] + p);
#pragma GCC unroll 8
    for (int j = 0; j < 4; ++j) {
      const __m256 bj = _mm256_loadu_ps(b[j] + p);
      acc[0][j] = _mm256_fmadd_ps(a0, bj, acc[0][j]);
      acc[1][j] = _mm256_fmadd_ps(a1, bj, acc[1][j]);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < 2; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < 4; ++j) {
      alignas(32) float v[8];
      _mm256_store_ps(v, acc[i][j]);
      float s = ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7]));
      for (int64_t q = p; q < k; ++q) s += a[i][q] * b[j][q];
      out[i * 4 + j] = s;
    }
}

DST_TARGET_AVX2 inline void dot_block_avx2_f64(int64_t k, const double* const* a,
                                               const double* const* b, double* out) {
  __m256d acc[2][4];
#pragma GCC unroll 8
  for (int i = 0; i < 2; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < 4; ++j) acc[i][j] = _mm256_setzero_pd();
  int64_t p = 0;
  for (; p + 4 <= k; p += 4) {
    const __m256d a0 = _mm256_loadu_pd(a[0] + p), a1 = _mm256_loadu_pd(a[1] + p);
#pragma GCC unroll 8
    for (int j = 0; j < 4; ++j) {
      const __m256d bj = _mm256_loadu_pd(b[j] + p);
      acc[0][j] = _mm256_fmadd_pd(a0, bj, acc[0][j]);
      acc[1][j] = _mm256_fmadd_pd(a1, bj, acc[1][j]);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < 2; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < 4; ++j) {
      alignas(32) double v[4];
      _mm256_store_pd(v, acc[i][j]);
      double s = (v[0] + v[2]) + (v[1] + v[3]);
      for (int64_t q = p; q < k; ++q) s += a[i][q] * b[j][q];
      out[i * 4 + j] = s;
    }
}

}  // namespace distillery::cpu::gemm_detail
#endif  // DST_GEMM_X86
