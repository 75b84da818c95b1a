// backend/cpu/kd_kernel.hpp — the fused KD kernel of the CPU (KernelTable::kd_fused).
//
// Per row of student logits z and teacher logits v [N, C] the kernel needs two max-shifted
// exponentials, two sums and one dot product; everything else is per-row scalars:
//   KL_row = Σ_c p_c (v_c − z_c)/T − (m_v − m_z)/T − log Z_v + log Z_z,   CE_row = −Σ p_c (z_c −
//   m_z)/T + log Z_z ∂/∂z_c = coef · (q_c − p_c) / T      (q = softmax(z/T), p = softmax(v/T))
// The exponentials dominate; they run on the per-ISA vectorised exp of vector_exp.hpp.
#pragma once
#include <Eigen/Core>
#include <cmath>
#include <vector>

#include "parallel.hpp"
#include "vector_exp.hpp"

namespace distillery::cpu::loss_kernels {

enum class KdTerm { kl, soft_cross_entropy };

// Fused KD over rows of z, v [N, C] (contiguous): returns coef · Σ_rows loss_row and, when
// grad != nullptr, writes grad = coef · (softmax(z/T) − softmax(v/T)) / T.
template <class T>
double kd_kernel(const T* z, const T* v, int64_t N, int64_t C, double temperature, KdTerm term,
                 double coef, T* grad) {
  using Arr = Eigen::Array<T, Eigen::Dynamic, 1>;
  using CMap = Eigen::Map<const Arr>;
  std::vector<double> row_loss(N, 0.0);
  const T inv_t = T(1.0 / temperature);
  parallel_for(N, C * 16, [&](int64_t b, int64_t e) {
    Arr es(C), et(C);
    for (int64_t i = b; i < e; ++i) {
      CMap zi(z + i * C, C), vi(v + i * C, C);
      const T mz = zi.maxCoeff(), mv = vi.maxCoeff();
      exp_shifted(z + i * C, mz, inv_t, es.data(), C);
      exp_shifted(v + i * C, mv, inv_t, et.data(), C);
      const double Zz = double(es.sum()), Zv = double(et.sum());
      const double log_zz = std::log(Zz), log_zv = std::log(Zv);
      if (term == KdTerm::kl) {
        // Σ p (v − z), 0 where v = −inf (a masked teacher class: p = 0, and 0 · −inf is NaN)
        const double pdiff =
            double((vi > -std::numeric_limits<T>::infinity()).select(et * (vi - zi), T(0)).sum()) /
            Zv;
        row_loss[i] = (pdiff - double(mv) + double(mz)) * double(inv_t) - log_zv + log_zz;
      } else {
        const double pz = double((et * zi).sum()) / Zv;  // Σ p z
        row_loss[i] = -(pz - double(mz)) * double(inv_t) + log_zz;
      }
      if (grad) {
        const double c = coef * double(inv_t);
        Eigen::Map<Arr>(grad + i * C, C) = es * T(c / Zz) - et * T(c / Zv);
      }
    }
  });
  double total = 0;
  for (double l : row_loss) total += l;
  return coef * total;
}

}  // namespace distillery::cpu::loss_kernels
