// losses/relation.hpp — relation-based distillation on a batch of embeddings.
//
//   rkd_distance_loss(s [N, Ds], t [N, Dt])     Huber(ψ_D(s) − ψ_D(t)), mean over all N² pairs
//   rkd_angle_loss(s, t)                        Huber(ψ_A(s) − ψ_A(t)), mean over all N³ triples
//   rkd_loss(s, t, w_d, w_a)                    w_d · distance + w_a · angle
//   similarity_preserving_loss(fs, ft)          ‖row_normalise(fs fsᵀ) − row_normalise(ft ftᵀ)‖²_F
//   / B²
//
// Conventions (those of lenscloth/RKD and RepDistiller):
// * ψ_D(x)_ij = ‖x_i − x_j‖ / μ with the distance computed as sqrt(max(‖a‖² + ‖b‖² − 2ab, 1e-12)),
//   the diagonal exactly 0, μ = mean of the strictly positive entries (per model).
// * ψ_A(x)_abc = <u(x_b − x_a), u(x_c − x_a)>, vertex a, u(v) = v / max(‖v‖, 1e-12) (so u(0) = 0).
// * Huber = smooth-L1 with β = 1. The teacher is always detached (the reference runs it under
//   no_grad); only the widths of student and teacher may differ.
// Fused path (rkd_angle_loss): the angles are read off the Gram matrix (backend/cpu/relation_kernels.hpp), one
// OpenMP pass over vertices computes loss and student gradient; memory O(N²), never N²·D or N³.
// On CUDA the same terms run in cuda/kernels_loss.cu (relation_device.hpp).
#pragma once
#include "relation_device.hpp"

namespace distillery::losses {

namespace detail {

template <class T>
void check_embedding_pair(const Tensor<T>& s, const Tensor<T>& t, const char* loss) {
  check_inputs(loss, s, t);
  check(s.dim() == 2 && t.dim() == 2 && s.shape()[0] == t.shape()[0], loss, "student ",
        detail::shape_of(s), " and teacher ", detail::shape_of(t),
        " must be [N, Ds] and [N, Dt] with the same N");
}

// A[g, i, j, k] = <u(x_j − x_i), u(x_k − x_i)> for x [G, m, d] -> [G, m, m, m] (composed path;
// it stores the [G, m, m, d] differences, as the reference does).
template <class T>
Tensor<T> angle_tensor(const Tensor<T>& x) {
  Tensor<T> u = l2_normalize(sub(unsqueeze(x, 1), unsqueeze(x, 2)), -1);
  return matmul(u, transpose(u, -1, -2));
}

// Σ e(A_s·M3, A_t·M3) / den over groups, M3 = m_i m_j m_k from mask [G, m] (undefined = all 1).
template <class T>
Tensor<T> angle_match_composed(const Tensor<T>& xs, const Tensor<T>& xt, const Tensor<T>& mask,
                               MatchLoss f, double den) {
  Tensor<T> as = angle_tensor(xs), at;
  {
    NoGradGuard no_grad;
    at = angle_tensor(xt.detach());
  }
  if (mask.defined()) {
    const int64_t G = mask.shape()[0], m = mask.shape()[1];
    Tensor<T> m3 = mul(mul(reshape(mask, Shape{G, m, 1, 1}), reshape(mask, Shape{G, 1, m, 1})),
                       reshape(mask, Shape{G, 1, 1, m}));
    as = mul(as, m3);
    at = mul(at, m3);
  }
  return mul_scalar(sum(match_elements(as, at, f)), T(1.0 / std::max(den, 1.0)));
}

// ψ_D: distances / mean positive distance (the reference pdist + normalisation).
template <class T>
Tensor<T> rkd_normalized_distances(const Tensor<T>& x) {
  Tensor<T> d = zero_diagonal(sqrt(clamped_squared_distance(x)));
  Tensor<T> pos = gt_scalar(d.detach(), T(0));
  const double count = std::max(1.0, double(sum(pos).item()));
  Tensor<T> mu = mul_scalar(sum(mul(d, pos)), T(1.0 / count));
  return div(d, mu);
}

template <class T>
Tensor<T> rkd_angle_composed(const Tensor<T>& s, const Tensor<T>& t) {
  const double n = double(s.shape()[0]);
  return angle_match_composed(unsqueeze(s, 0), unsqueeze(t, 0), Tensor<T>(), MatchLoss::smooth_l1,
                              n * n * n);
}

}  // namespace detail

// RKD distance loss: smooth-L1 (β = 1) between ψ_D(student) and ψ_D(teacher), mean over N².
template <class T>
Tensor<T> rkd_distance_loss(const Tensor<T>& student, const Tensor<T>& teacher) {
  detail::check_embedding_pair(student, teacher, "rkd_distance_loss");
  Tensor<T> dt;
  {
    NoGradGuard no_grad;
    dt = detail::rkd_normalized_distances(teacher.detach());
  }
  return smooth_l1_loss(detail::rkd_normalized_distances(student), dt, Reduction::mean, 1.0);
}

// RKD angle loss: smooth-L1 (β = 1) between ψ_A(student) and ψ_A(teacher), mean over N³.
template <class T>
Tensor<T> rkd_angle_loss(const Tensor<T>& student, const Tensor<T>& teacher,
                         LossPath path = LossPath::automatic) {
  detail::check_embedding_pair(student, teacher, "rkd_angle_loss");
  Tensor<T> t = teacher.detach();
  if (!detail::use_fused(path, true, student, "rkd_angle_loss"))
    return detail::rkd_angle_composed(student, t);
  const int64_t N = student.shape()[0];
  Tensor<T> sc = raw_contiguous(student), tc = raw_contiguous(t);
  Tensor<T> g;
  const bool want_grad = student.requires_grad() && is_grad_enabled();
  const double n = double(std::max<int64_t>(N, 1));
  auto composed = [](const std::vector<Tensor<T>>& in) {
    return detail::rkd_angle_composed(in[0], in[1]);
  };
  if (student.device() != Device::cpu) {  // one group of N points (cuda/kernels_loss.cu)
    RelationSpec spec;
    spec.full_angle = 1.0 / (n * n * n);
    spec.angle_loss = MatchLoss::smooth_l1;
    Tensor<T> value, dx;
    const Tensor<T> ones = Tensor<T>::ones(Shape{1, N}, student.device());
    if (!detail::device_relation(reshape(sc, Shape{1, N, sc.shape()[1]}),
                                 reshape(tc, Shape{1, N, tc.shape()[1]}), ones, spec, value,
                                 want_grad ? &dx : nullptr))
      return composed({student, t});
    if (want_grad) g = reshape(dx, student.shape());
    return detail::fused_scalar_loss<T>("rkd_angle_loss_fused", value, {student, t},
                                        {g, Tensor<T>()}, composed);
  }
  if (want_grad) g = Tensor<T>::empty(student.shape());
  double value = 0;  // the CPU's kernel (backend/cpu/relation_kernels.hpp)
  if (!kernels<T>(Device::cpu).angle_group_fused(sc.data_ptr(), N, student.shape()[1],
                                                 tc.data_ptr(), t.shape()[1],
                                                 MatchLoss::smooth_l1, 1.0 / (n * n * n), &value,
                                                 g.defined() ? g.data_ptr() : nullptr))
    return composed({student, t});
  return detail::fused_scalar_loss<T>("rkd_angle_loss_fused", value, {student, t},
                                      {g, Tensor<T>()}, composed);
}

// w_d · rkd_distance_loss + w_a · rkd_angle_loss (official example 1 and 2; RepDistiller 25, 50).
template <class T>
Tensor<T> rkd_loss(const Tensor<T>& student, const Tensor<T>& teacher, double distance_weight,
                   double angle_weight, LossPath path = LossPath::automatic) {
  return add(mul_scalar(rkd_distance_loss(student, teacher), T(distance_weight)),
             mul_scalar(rkd_angle_loss(student, teacher, path), T(angle_weight)));
}

// Similarity-preserving KD (Tung & Mori 2019, RepDistiller's form) for one layer pair:
// f [B, ...] flattened to [B, −1], G = f fᵀ, rows L2-normalised; loss = Σ (G_s − G_t)² / B².
template <class T>
Tensor<T> similarity_preserving_loss(const Tensor<T>& student_features,
                                     const Tensor<T>& teacher_features) {
  check_inputs("similarity_preserving_loss", student_features, teacher_features);
  check(
      student_features.defined() && teacher_features.defined() && student_features.dim() >= 1 &&
          teacher_features.dim() >= 1 && student_features.shape()[0] == teacher_features.shape()[0],
      "similarity_preserving_loss", "student ", detail::shape_of(student_features), " and teacher ",
      detail::shape_of(teacher_features), " must share the batch size B (first dim)");
  const int64_t B = student_features.shape()[0];
  auto gram = [B](const Tensor<T>& f) {
    Tensor<T> flat = reshape(f, Shape{B, -1});
    return detail::l2_normalize(matmul(flat, transpose(flat, 0, 1)), 1);
  };
  Tensor<T> gt;
  {
    NoGradGuard no_grad;
    gt = gram(teacher_features.detach());
  }
  Tensor<T> d = sub(gram(student_features), gt);
  return mul_scalar(sum(square(d)), T(1.0 / double(std::max<int64_t>(B * B, 1))));
}

}  // namespace distillery::losses
