// backend/cpu/loss.hpp — the CPU kernels of the loss family:
// the fused distillation losses (kd_kernel.hpp, relation_kernels.hpp).
//
// One family per file, mirroring ops/loss.hpp, cuda/kernels_loss.cu and
// tests/ops/table_loss.hpp (the family list is in backend/cpu/kernels.hpp). The
// families stack into one table: each Cpu<Family><T> derives from the previous family, and
// CpuKernels<T> (kernels.hpp) is the last. Only backend/cpu/implementation.hpp instantiates
// them.
#pragma once
#include "kd_kernel.hpp"
#include "nn_functional.hpp"
#include "relation_kernels.hpp"

namespace distillery::cpu {

template <class T>
struct CpuLoss : CpuNnFunctional<T> {
  using I = int64_t;

  // ---- fused distillation losses (kd_kernel.hpp, relation_kernels.hpp): floating types ------
  bool has_fused_losses() const override { return std::is_floating_point_v<T>; }
  bool kd_fused(const T* z, const T* v, int64_t N, int64_t C, double temperature, bool soft_ce,
                double coef, T* value, T* grad) override {
    if constexpr (!std::is_floating_point_v<T>) return false;
    else {
      const auto term = soft_ce ? loss_kernels::KdTerm::soft_cross_entropy
                                : loss_kernels::KdTerm::kl;
      *value = T(loss_kernels::kd_kernel(z, v, N, C, temperature, term, coef, grad));
      return true;
    }
  }
  bool relation_points_fused(const T* xs, const GroupLayout& ls, const T* xt,
                             const GroupLayout& lt, const T* mask, const RelationSpec& spec,
                             double* value, T* grad) override {
    if constexpr (!std::is_floating_point_v<T>) return false;
    else {
      *value = loss_kernels::relation_pass(xs, ls, xt, lt, mask, spec, grad);
      return true;
    }
  }
  bool angle_group_fused(const T* xs, int64_t m, int64_t ds, const T* xt, int64_t dt,
                         losses::MatchLoss f, double coef, double* value, T* grad) override {
    if constexpr (!std::is_floating_point_v<T>) return false;
    else {
      *value = loss_kernels::single_group_angle(xs, m, ds, xt, dt, f, T(coef), grad);
      return true;
    }
  }

};

}  // namespace distillery::cpu
