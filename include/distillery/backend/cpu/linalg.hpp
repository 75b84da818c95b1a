// backend/cpu/linalg.hpp — the CPU kernels of the linalg family:
// GEMM (gemm.hpp's packed SIMD kernels, Eigen as the fallback).
//
// One family per file, mirroring ops/linalg.hpp, cuda/kernels_linalg.cu and
// tests/ops/table_linalg.hpp (the family list is in backend/cpu/kernels.hpp). The
// families stack into one table: each Cpu<Family><T> derives from the previous family, and
// CpuKernels<T> (kernels.hpp) is the last. Only backend/cpu/implementation.hpp instantiates
// them.
#pragma once
#include <Eigen/Core>

#include "gemm.hpp"
#include "reduce.hpp"

namespace distillery::cpu {

template <class T>
struct CpuLinalg : CpuReduce<T> {
  using I = int64_t;

  void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* A, int64_t lda,
            int64_t sA, const T* B, int64_t ldb, int64_t sB, T beta, T* C, int64_t ldc,
            int64_t sC, int64_t batch) override {
    if constexpr (std::is_floating_point_v<T>) {
      if (m <= 0 || n <= 0 || batch <= 0) return;
      if (k > 0 && packed_gemm(ta, tb, m, n, k, alpha, A, lda, sA, B, ldb, sB, beta, C, ldc, sC,
                               batch))
        return;
      using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
      using CMap = Eigen::Map<const Mat, 0, Eigen::OuterStride<>>;
      using MMap = Eigen::Map<Mat, 0, Eigen::OuterStride<>>;
      auto one = [&](int64_t bi) {
        MMap c(C + bi * sC, m, n, Eigen::OuterStride<>(ldc));
        if (k == 0) { if (beta == T(0)) c.setZero(); else c *= beta; return; }
        CMap a0(A + bi * sA, ta ? k : m, ta ? m : k, Eigen::OuterStride<>(lda));
        CMap b0(B + bi * sB, tb ? n : k, tb ? k : n, Eigen::OuterStride<>(ldb));
        if (beta == T(0)) {
          if (!ta && !tb) c.noalias() = alpha * (a0 * b0);
          else if (ta && !tb) c.noalias() = alpha * (a0.transpose() * b0);
          else if (!ta && tb) c.noalias() = alpha * (a0 * b0.transpose());
          else c.noalias() = alpha * (a0.transpose() * b0.transpose());
        } else {
          if (beta != T(1)) c *= beta;
          if (!ta && !tb) c.noalias() += alpha * (a0 * b0);
          else if (ta && !tb) c.noalias() += alpha * (a0.transpose() * b0);
          else if (!ta && tb) c.noalias() += alpha * (a0 * b0.transpose());
          else c.noalias() += alpha * (a0.transpose() * b0.transpose());
        }
      };
      const int64_t flops = m * n * k;
      if (batch > 1 && flops < 64 * 64 * 64) {
        parallel_for(batch, flops, [&](int64_t b, int64_t e) {
          for (int64_t bi = b; bi < e; ++bi) one(bi);
        });
      } else {
        for (int64_t bi = 0; bi < batch; ++bi) one(bi);
      }
    } else {
      fail("gemm", "not available for integer tensors");
    }
  }

};

}  // namespace distillery::cpu
