// losses/response.hpp — response-based distillation: losses on logits.
//
//   softmax_with_temperature(z, T)          softmax(z / T) along the last dim
//   soft_cross_entropy(z, p, r, T = 1)      −Σ_c p_c log softmax(z/T)_c per sample; p keeps its
//   grad kd_loss(z, v, T, r, scale, div)         Hinton KD: [T² ·] reduce_r( KL(softmax(v/T) ‖
//   softmax(z/T)) ) kd_with_cross_entropy(z, v, y, α, ...)  α · kd_loss + (1 − α) · CE(y, z)
//   mutual_learning_loss(z, z_peer, y)      DML: CE(y, z) + KL(softmax(z_peer) ‖ softmax(z)), peer
//   detached self_distillation_loss(z, v, y, α, T[, form])   (1 − α) CE(y, z) + α CE(softmax(v/T),
//   z), no T²; form exact (default) or reference_eps (the reference's log(softmax + 1e-8))
//
// Conventions, each one an argument of the signature:
// * reduction of kd_loss follows torch.nn.functional.kl_div on the [N, C] elementwise terms:
//   none → [N, C]; sum; mean → / (N·C) (PyTorch's pitfall, kept); batchmean → / N (the true KL
//   per sample, what RepDistiller and Hinton's formula use).
// * TemperatureScale::t_squared multiplies by T² (Hinton, RepDistiller); ::none does not (CKD's
//   DistillKL, Zhang & Sabuncu's self-distillation).
// * Divergence::kl is Σ p (log p − log q); ::soft_cross_entropy is −Σ p log q (CKD). They differ by
//   the teacher entropy H(p) and have identical student gradients.
// * The teacher is detached unless TeacherGrad::keep. CE with hard labels is always a batch mean.
// Fused path: kd_loss with reduction sum/mean/batchmean and a detached teacher runs one OpenMP pass
// per row that computes the loss and the student gradient (T²·coef·(softmax_T(z) −
// softmax_T(v))/T).
#pragma once
#include "common.hpp"

namespace distillery::losses {

enum class TemperatureScale { none, t_squared };
enum class Divergence { kl, soft_cross_entropy };

template <class T>
Tensor<T> softmax_with_temperature(const Tensor<T>& logits, double temperature, int64_t dim = -1) {
  detail::check_temperature<T>(temperature, "softmax_with_temperature");
  return softmax(mul_scalar(logits, T(1.0 / temperature)), dim);
}

template <class T>
Tensor<T> log_softmax_with_temperature(const Tensor<T>& logits, double temperature,
                                       int64_t dim = -1) {
  detail::check_temperature<T>(temperature, "log_softmax_with_temperature");
  return log_softmax(mul_scalar(logits, T(1.0 / temperature)), dim);
}

// −Σ_c p_c log softmax(z/T)_c per sample. none → [N]; mean and batchmean → / N; sum.
// requires: z, p [N, C]. p is NOT detached (dataset distillation learns it).
template <class T>
Tensor<T> soft_cross_entropy(const Tensor<T>& student_logits, const Tensor<T>& target_probs,
                             Reduction reduction, double temperature = 1.0) {
  detail::check_logits_pair(student_logits, target_probs, "soft_cross_entropy");
  detail::check_temperature<T>(temperature, "soft_cross_entropy");
  Tensor<T> lq = log_softmax(mul_scalar(student_logits, T(1.0 / temperature)), 1);
  Tensor<T> per_sample = neg(sum(mul(target_probs, lq), {1}));
  return reduce_loss(per_sample, reduction == Reduction::batchmean ? Reduction::mean : reduction);
}

namespace detail {

template <class T>
Tensor<T> kd_composed(const Tensor<T>& z, const Tensor<T>& v, double temperature, Reduction r,
                      TemperatureScale scale, Divergence div) {
  const T inv_t = T(1.0 / temperature);
  Tensor<T> lq = log_softmax(mul_scalar(z, inv_t), 1);
  Tensor<T> vt = mul_scalar(v, inv_t);
  Tensor<T> p = softmax(vt, 1);
  Tensor<T> elem;
  if (div == Divergence::kl) {
    // p (log p − log q) is 0 where p = 0: a teacher class masked with −inf contributes nothing
    // (log p = −inf there would give 0 · −inf = NaN), as PyTorch's kl_div (xlogy).
    Tensor<T> lp = log_softmax(vt, 1);
    lp = where(gt_scalar(p.detach(), T(0)), lp, Tensor<T>::zeros({}, lp.device()));
    elem = mul(p, sub(lp, lq));
  } else {
    elem = neg(mul(p, lq));
  }
  Tensor<T> l = reduce_loss(elem, r);
  return scale == TemperatureScale::t_squared ? mul_scalar(l, T(temperature * temperature)) : l;
}

}  // namespace detail

// Hinton KD. z = student logits [N, C], v = teacher logits [N, C] (detached unless
// TeacherGrad::keep). Value: [T² ·] reduce(elementwise divergence) — see the header conventions.
template <class T>
Tensor<T> kd_loss(const Tensor<T>& student_logits, const Tensor<T>& teacher_logits,
                  double temperature, Reduction reduction, TemperatureScale scale,
                  Divergence divergence = Divergence::kl,
                  TeacherGrad teacher_grad = TeacherGrad::detach,
                  LossPath path = LossPath::automatic) {
  detail::check_logits_pair(student_logits, teacher_logits, "kd_loss");
  detail::check_temperature<T>(temperature, "kd_loss");
  const Tensor<T>& z = student_logits;
  Tensor<T> v = detail::teacher_side(teacher_logits, teacher_grad);
  if (z.numel() == 0)  // no classes (or no rows): 0, as PyTorch (none: the empty [N, C] terms)
    return reduce_loss(mul_scalar(z, T(0)), reduction);
  // The choice depends on the options only (never on requires_grad), so a value is the same
  // bit for bit whether or not a graph is being recorded.
  const bool supported = reduction != Reduction::none && teacher_grad == TeacherGrad::detach;
  if (!detail::use_fused(path, supported, z, "kd_loss"))
    return detail::kd_composed(z, v, temperature, reduction, scale, divergence);

  const int64_t N = z.shape()[0], C = z.shape()[1];
  const double den = reduction == Reduction::sum    ? 1.0
                     : reduction == Reduction::mean ? double(std::max<int64_t>(N * C, 1))
                                                    : double(std::max<int64_t>(N, 1));
  const double coef =
      (scale == TemperatureScale::t_squared ? temperature * temperature : 1.0) / den;
  Tensor<T> zc = raw_contiguous(z), vc = raw_contiguous(v);
  Tensor<T> g;
  if (z.requires_grad() && is_grad_enabled()) g = Tensor<T>::empty(z.shape(), z.device());
  T* gp = g.defined() ? g.data_ptr() : nullptr;
  auto composed = [=](const std::vector<Tensor<T>>& in) {
    return detail::kd_composed(in[0], in[1], temperature, reduction, scale, divergence);
  };
  // the device's fused kernel (backend/cpu/kd_kernel.hpp, cuda/kernels_loss.cu)
  Tensor<T> value = Tensor<T>::empty(Shape{}, z.device());
  if (!kernels<T>(z.device()).kd_fused(zc.data_ptr(), vc.data_ptr(), N, C, temperature,
                                       divergence == Divergence::soft_cross_entropy, coef,
                                       value.data_ptr(), gp))
    return composed({z, v});
  return detail::fused_scalar_loss<T>("kd_loss_fused", value, {z, v}, {g, Tensor<T>()},
                                      composed);
}

// α · kd_loss(z, v, T, reduction, scale, divergence) + (1 − α) · CE(y, z) (batch mean, T = 1).
template <class T>
Tensor<T> kd_with_cross_entropy(const Tensor<T>& student_logits, const Tensor<T>& teacher_logits,
                                const Tensor<int64_t>& labels, double alpha, double temperature,
                                Reduction reduction, TemperatureScale scale,
                                Divergence divergence = Divergence::kl,
                                LossPath path = LossPath::automatic) {
  detail::check_labels(student_logits, labels, "kd_with_cross_entropy");
  detail::check_alpha<T>(alpha, "kd_with_cross_entropy");
  Tensor<T> kd = kd_loss(student_logits, teacher_logits, temperature, reduction, scale, divergence,
                         TeacherGrad::detach, path);
  Tensor<T> ce = cross_entropy(student_logits, labels, Reduction::mean);
  return add(mul_scalar(kd, T(alpha)), mul_scalar(ce, T(1 - alpha)));
}

// Deep mutual learning, the loss of one peer: CE(y, z) (batch mean) + KL(softmax(z_peer) ‖
// softmax(z)) (batchmean, T = 1, no T²). The peer's logits are detached. Call it once per peer.
template <class T>
Tensor<T> mutual_learning_loss(const Tensor<T>& logits, const Tensor<T>& peer_logits,
                               const Tensor<int64_t>& labels, LossPath path = LossPath::automatic) {
  detail::check_logits_pair(logits, peer_logits, "mutual_learning_loss");
  detail::check_labels(logits, labels, "mutual_learning_loss");
  Tensor<T> kl = kd_loss(logits, peer_logits, 1.0, Reduction::batchmean, TemperatureScale::none,
                         Divergence::kl, TeacherGrad::detach, path);
  return add(cross_entropy(logits, labels, Reduction::mean), kl);
}

// Zhang & Sabuncu self-distillation (generation g ≥ 1): (1 − α) CE(y, z) + α CE(softmax(v/T), z)
// with the student at temperature 1, no T², batch means; the teacher v is detached.
// Reference defaults: α = 0.4, T = 4. Two forms of the soft term, named:
// * SelfDistillForm::exact (default): −Σ p log_softmax(z) / B, the exact cross-entropy.
// * SelfDistillForm::reference_eps: −Σ p log(softmax(z) + 1e-8) / B, the reference code's soft
//   cross-entropy. The 1e-8 caps each term at −log 1e-8 ≈ 18.4 and all but stops its gradient
//   once the student is saturated: z = [30, 0, 0], teacher logits 0, y = 0, α 0.4, T 4 give
//   8.000 and ∇ [0.267, −0.133, −0.133] (exact) but 4.912 and ∇ [2.5e-6, −1.2e-6, −1.2e-6]
//   (reference_eps). The CE with hard labels is the exact one in both (as in the reference).
enum class SelfDistillForm { exact, reference_eps };

template <class T>
Tensor<T> self_distillation_loss(const Tensor<T>& student_logits, const Tensor<T>& teacher_logits,
                                 const Tensor<int64_t>& labels, double alpha, double temperature,
                                 SelfDistillForm form = SelfDistillForm::exact) {
  detail::check_logits_pair(student_logits, teacher_logits, "self_distillation_loss");
  detail::check_labels(student_logits, labels, "self_distillation_loss");
  detail::check_alpha<T>(alpha, "self_distillation_loss");
  detail::check_temperature<T>(temperature, "self_distillation_loss");
  Tensor<T> p = softmax(mul_scalar(teacher_logits.detach(), T(1.0 / temperature)), 1);
  Tensor<T> soft;
  if (form == SelfDistillForm::exact) {
    soft = soft_cross_entropy(student_logits, p, Reduction::mean, 1.0);
  } else {  // the reference's −Σ p log(softmax(z) + 1e-8) / B
    Tensor<T> logq = log(add_scalar(softmax(student_logits, 1), T(1e-8)));
    soft = neg(mean(sum(mul(p, logq), {1})));
  }
  Tensor<T> ce = cross_entropy(student_logits, labels, Reduction::mean);
  return add(mul_scalar(ce, T(1 - alpha)), mul_scalar(soft, T(alpha)));
}

}  // namespace distillery::losses
