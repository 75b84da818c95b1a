// losses/smoothing.hpp — label smoothing, Beta smoothing and entropy regularisation
// (Zhang & Sabuncu 2020, "Self-Distillation as Instance-Specific Label Smoothing").
//
//   label_smoothing_targets<T>(y, K, ε)          1 − ε on the true class, ε/(K − 1) elsewhere
//   smoothed_cross_entropy(z, targets, r)        −Σ_k t_k log(softmax(z)_k + 1e-8) per sample
//   label_smoothing_loss(z, y, ε, r)             smoothed_cross_entropy with the targets above
//   beta_smoothing_targets(z_ema, y, a, gen)     Beta(a, 1) samples rank-matched to confidence
//   beta_smoothing_targets_from_samples(z_ema, y, π)   the same with given samples (tests, replay)
//   beta_smoothing_loss(z, y, targets, α)        (1 − α) CE(y, z) + α smoothed_cross_entropy
//   entropy(z)                                   mean over the batch of H(softmax(z))
//   entropy_regularized_loss(z, y, β)            CE(y, z) − β · entropy(z)
//
// Conventions (ZhiluZhang123/neurips_2020_distillation loss.py, the reference):
// * Wrong classes get ε/(K − 1), NOT ε/K as in PyTorch's label_smoothing argument; each target
//   row sums to 1. The soft CE adds 1e-8 inside the log and averages over the batch.
// * Beta smoothing: c_i = softmax(z_ema)_i[y_i] (the EMA model's confidence in the true class);
//   n samples π ~ Beta(a, 1) (drawn as U^(1/a)) are sorted ascending and the k-th smallest goes to
//   the k-th least confident example (stable order on ties); target π_i on the true class,
//   (1 − π_i)/(K − 1) on the others. Targets carry no gradient. Reference defaults a = 3, α = 0.6.
// * Entropy regularisation SUBTRACTS β·H (a confidence penalty), batch means throughout.
#pragma once
#include <algorithm>
#include <numeric>

#include "common.hpp"

namespace distillery::losses {

template <class T>
Tensor<T> label_smoothing_targets(const Tensor<int64_t>& labels, int64_t num_classes,
                                  double epsilon) {
  check(labels.defined() && labels.dim() == 1, "label_smoothing_targets", "labels ",
        detail::shape_of(labels), " must be [N]");
  check(num_classes >= 2, "label_smoothing_targets", "need at least 2 classes, got ", num_classes);
  check(epsilon >= 0 && epsilon <= 1, "label_smoothing_targets", "epsilon must be in [0, 1], got ",
        epsilon);
  const auto y = labels.to_vector();
  const int64_t N = labels.shape()[0];
  std::vector<T> t(N * num_classes, T(epsilon / double(num_classes - 1)));
  for (int64_t i = 0; i < N; ++i) {
    check(y[i] >= 0 && y[i] < num_classes, "label_smoothing_targets", "label ", y[i],
          " out of range for ", num_classes, " classes");
    t[i * num_classes + y[i]] = T(1 - epsilon);
  }
  return Tensor<T>::from_vector(t, Shape{N, num_classes}, labels.device());
}

// −Σ_k t_k log(softmax(z)_k + 1e-8) per sample; none → [N], mean/batchmean → / N, sum.
template <class T>
Tensor<T> smoothed_cross_entropy(const Tensor<T>& logits, const Tensor<T>& targets,
                                 Reduction reduction = Reduction::mean) {
  detail::check_logits_pair(logits, targets, "smoothed_cross_entropy");
  Tensor<T> lp = log(add_scalar(softmax(logits, 1), T(1e-8)));
  Tensor<T> per_sample = neg(sum(mul(targets, lp), {1}));
  return reduce_loss(per_sample, reduction == Reduction::batchmean ? Reduction::mean : reduction);
}

template <class T>
Tensor<T> label_smoothing_loss(const Tensor<T>& logits, const Tensor<int64_t>& labels,
                               double epsilon, Reduction reduction = Reduction::mean) {
  detail::check_labels(logits, labels, "label_smoothing_loss");
  return smoothed_cross_entropy(
      logits, label_smoothing_targets<T>(labels, logits.shape()[1], epsilon), reduction);
}

// Beta-smoothing targets from given samples π (any order; they are sorted here).
template <class T>
Tensor<T> beta_smoothing_targets_from_samples(const Tensor<T>& ema_logits,
                                              const Tensor<int64_t>& labels,
                                              std::vector<double> samples) {
  detail::check_labels(ema_logits, labels, "beta_smoothing_targets");
  const int64_t N = ema_logits.shape()[0], K = ema_logits.shape()[1];
  check(int64_t(samples.size()) == N, "beta_smoothing_targets", "got ", samples.size(),
        " samples for ", N, " examples (ema logits ", detail::shape_of(ema_logits), ")");
  check(K >= 2, "beta_smoothing_targets", "need at least 2 classes, got logits ",
        detail::shape_of(ema_logits));
  std::vector<T> probs;
  {
    NoGradGuard no_grad;
    probs = softmax(ema_logits.detach(), 1).to_vector();
  }
  const auto y = labels.to_vector();
  std::vector<double> conf(N);
  for (int64_t i = 0; i < N; ++i) {
    check(y[i] >= 0 && y[i] < K, "beta_smoothing_targets", "label ", y[i], " out of range for ", K,
          " classes");
    conf[i] = double(probs[i * K + y[i]]);
  }
  std::vector<int64_t> order(N);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return conf[a] < conf[b]; });
  std::sort(samples.begin(), samples.end());
  std::vector<T> t(N * K);
  for (int64_t k = 0; k < N; ++k) {
    const int64_t i = order[k];
    const double pi = samples[k], other = (1 - pi) / double(K - 1);
    for (int64_t c = 0; c < K; ++c) t[i * K + c] = T(c == y[i] ? pi : other);
  }
  return Tensor<T>::from_vector(t, Shape{N, K}, ema_logits.device());
}

// Draws π ~ Beta(a, 1) = U^(1/a) from `gen` (N samples) and builds the targets.
template <class T>
Tensor<T> beta_smoothing_targets(const Tensor<T>& ema_logits, const Tensor<int64_t>& labels,
                                 double a, Generator& gen) {
  check(a > 0, "beta_smoothing_targets", "Beta parameter a must be positive, got ", a);
  check(ema_logits.defined() && ema_logits.dim() == 2, "beta_smoothing_targets", "ema logits ",
        detail::shape_of(ema_logits), " must be [N, K]");
  std::vector<double> samples(ema_logits.shape()[0]);
  {
    std::lock_guard<std::mutex> lk(gen.mutex());
    for (auto& s : samples) s = std::pow(gen.uniform(), 1.0 / a);
  }
  return beta_smoothing_targets_from_samples(ema_logits, labels, std::move(samples));
}

// (1 − α) · CE(y, z) + α · smoothed_cross_entropy(z, targets), batch means.
template <class T>
Tensor<T> beta_smoothing_loss(const Tensor<T>& logits, const Tensor<int64_t>& labels,
                              const Tensor<T>& targets, double alpha) {
  detail::check_labels(logits, labels, "beta_smoothing_loss");
  detail::check_alpha<T>(alpha, "beta_smoothing_loss");
  return add(mul_scalar(cross_entropy(logits, labels, Reduction::mean), T(1 - alpha)),
             mul_scalar(smoothed_cross_entropy(logits, targets.detach()), T(alpha)));
}

// Mean over the batch of H(softmax(z)) = −Σ p log p, with 0 · log 0 = 0: a class masked by a
// −inf logit contributes nothing (value and gradient), as torch.distributions.Categorical.
template <class T>
Tensor<T> entropy(const Tensor<T>& logits) {
  check(logits.defined() && logits.dim() == 2, "entropy", "logits ", detail::shape_of(logits),
        " must be [N, C]");
  Tensor<T> lp = log_softmax(logits, 1);
  Tensor<T> p = exp(lp);
  lp = where(gt_scalar(p.detach(), T(0)), lp, Tensor<T>::zeros({}, lp.device()));
  return mul_scalar(neg(sum(mul(p, lp))),
                    T(1.0 / double(std::max<int64_t>(logits.shape()[0], 1))));
}

template <class T>
Tensor<T> entropy_regularized_loss(const Tensor<T>& logits, const Tensor<int64_t>& labels,
                                   double beta) {
  detail::check_labels(logits, labels, "entropy_regularized_loss");
  return sub(cross_entropy(logits, labels, Reduction::mean), mul_scalar(entropy(logits), T(beta)));
}

}  // namespace distillery::losses
