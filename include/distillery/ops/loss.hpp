// ops/loss.hpp — the standard losses, each with an explicit reduction.
//
// Reduction::none keeps per-element (or per-sample) values; mean averages over all elements;
// sum adds them; batchmean (kl_div and the distillation losses) divides the sum by the batch
// size — the convention that matches the mathematical KL of a batch. All losses are composed of
// differentiable ops, so they support gradients of any order.
//
//   cross_entropy(logits [N, C], target [N])            (class indices, optional label smoothing)
//   cross_entropy(logits [N, C], probs [N, C])          (probability targets)
//   kl_div(log_probs [N, C], target [N, C])             = Σ t (log t − input), 0 where t = 0
#pragma once
#include "nn_functional.hpp"

namespace distillery {

enum class Reduction { none, mean, sum, batchmean };

inline const char* reduction_name(Reduction r) {
  switch (r) {
    case Reduction::none: return "none";
    case Reduction::mean: return "mean";
    case Reduction::sum: return "sum";
    case Reduction::batchmean: return "batchmean";
  }
  return "?";
}

// Applies `r` to per-element losses; batchmean divides the total by the first extent.
template <class T>
Tensor<T> reduce_loss(const Tensor<T>& l, Reduction r) {
  check_inputs("reduce_loss", l);
  switch (r) {
    case Reduction::none: return l;
    case Reduction::sum: return sum(l);
    case Reduction::mean: return mean(l);
    case Reduction::batchmean:
      return mul_scalar(sum(l), T(1) / T(l.dim() ? std::max<int64_t>(l.shape()[0], 1) : 1));
  }
  return l;
}

namespace detail {
template <class T>
void check_same_shape(const Tensor<T>& a, const Tensor<T>& b, const char* op) {
  check(a.shape() == b.shape(), op, "input shape ", a.shape(), " and target shape ", b.shape(),
        " must be equal");
}
inline void check_class_targets(const Shape& logits, const Shape& target, const char* op) {
  check(logits.size() == 2 && target.size() == 1 && target[0] == logits[0], op,
        "expected input [N, C] and target [N], got ", logits, " and ", target);
}
}  // namespace detail

// nll_loss(log_probs [N, C], target [N]) = −log_probs[i, target_i]
template <class T>
Tensor<T> nll_loss(const Tensor<T>& logp, const Tensor<int64_t>& target,
                   Reduction r = Reduction::mean) {
  check_inputs("nll_loss", logp, target);
  detail::check_class_targets(logp.shape(), target.shape(), "nll_loss");
  check(target.device() == logp.device(), "nll_loss", "target on ", target.device(), ", input on ",
        logp.device());
  Tensor<T> picked =
      rethrow_as("nll_loss", [&] { return squeeze(gather(logp, 1, unsqueeze(target, 1)), 1); });
  return reduce_loss(neg(picked), r == Reduction::batchmean ? Reduction::mean : r);
}

// cross_entropy with class indices; label_smoothing ε mixes the one-hot target with uniform
// ε/C (PyTorch's convention).
template <class T>
Tensor<T> cross_entropy(const Tensor<T>& logits, const Tensor<int64_t>& target,
                        Reduction r = Reduction::mean, double label_smoothing = 0) {
  check_inputs("cross_entropy", logits, target);
  detail::check_class_targets(logits.shape(), target.shape(), "cross_entropy");
  check(target.device() == logits.device(), "cross_entropy", "target on ", target.device(), ", input on ",
        logits.device());
  check(label_smoothing >= 0 && label_smoothing <= 1, "cross_entropy",
        "label_smoothing must be in [0, 1], got ", label_smoothing);
  Tensor<T> lp = log_softmax(logits, 1);
  Tensor<T> nll = neg(rethrow_as(
      "cross_entropy", [&] { return squeeze(gather(lp, 1, unsqueeze(target, 1)), 1); }));
  if (label_smoothing > 0) {
    const T eps = T(label_smoothing), C = T(logits.shape()[1]);
    Tensor<T> smooth = mul_scalar(sum(lp, {1}), T(-1) / C);
    nll = add(mul_scalar(nll, T(1) - eps), mul_scalar(smooth, eps));
  }
  return reduce_loss(nll, r == Reduction::batchmean ? Reduction::mean : r);
}

// cross_entropy with probability targets: −Σ_c p_c log softmax(z)_c per sample.
template <class T>
Tensor<T> cross_entropy(const Tensor<T>& logits, const Tensor<T>& probs,
                        Reduction r = Reduction::mean) {
  check_inputs("cross_entropy", logits, probs);
  check(logits.dim() == 2, "cross_entropy", "expected input [N, C], got ", logits.shape());
  detail::check_same_shape(logits, probs, "cross_entropy");
  Tensor<T> l = neg(sum(mul(probs, log_softmax(logits, 1)), {1}));
  return reduce_loss(l, r == Reduction::batchmean ? Reduction::mean : r);
}

template <class T>
Tensor<T> mse_loss(const Tensor<T>& input, const Tensor<T>& target, Reduction r = Reduction::mean) {
  check_inputs("mse_loss", input, target);
  detail::check_same_shape(input, target, "mse_loss");
  return reduce_loss(square(sub(input, target)), r);
}

template <class T>
Tensor<T> l1_loss(const Tensor<T>& input, const Tensor<T>& target, Reduction r = Reduction::mean) {
  check_inputs("l1_loss", input, target);
  detail::check_same_shape(input, target, "l1_loss");
  return reduce_loss(abs(sub(input, target)), r);
}

// smooth_l1: 0.5 d²/β where |d| < β, else |d| − 0.5β (β = 1 gives Huber with δ = 1).
template <class T>
Tensor<T> smooth_l1_loss(const Tensor<T>& input, const Tensor<T>& target,
                         Reduction r = Reduction::mean, double beta = 1.0) {
  check_inputs("smooth_l1_loss", input, target);
  detail::check_same_shape(input, target, "smooth_l1_loss");
  check(beta >= 0, "smooth_l1_loss", "beta must be non-negative, got ", beta);
  Tensor<T> d = sub(input, target);
  Tensor<T> ad = abs(d);
  if (beta == 0) return reduce_loss(ad, r);
  Tensor<T> small = lt_scalar(ad.detach(), T(beta));
  Tensor<T> l = where(small, mul_scalar(square(d), T(0.5 / beta)), add_scalar(ad, T(-0.5 * beta)));
  return reduce_loss(l, r);
}

// huber: 0.5 d² where |d| <= δ, else δ(|d| − 0.5δ).
template <class T>
Tensor<T> huber_loss(const Tensor<T>& input, const Tensor<T>& target,
                     Reduction r = Reduction::mean, double delta = 1.0) {
  check_inputs("huber_loss", input, target);
  detail::check_same_shape(input, target, "huber_loss");
  check(delta > 0, "huber_loss", "delta must be positive, got ", delta);
  Tensor<T> d = sub(input, target);
  Tensor<T> ad = abs(d);
  Tensor<T> small = le_scalar(ad.detach(), T(delta));
  Tensor<T> l = where(small, mul_scalar(square(d), T(0.5)),
                      mul_scalar(add_scalar(ad, T(-0.5 * delta)), T(delta)));
  return reduce_loss(l, r);
}

// BCE with logits, stable form: max(x, 0) − x·y + log(1 + e^{−|x|}); y may be soft.
template <class T>
Tensor<T> binary_cross_entropy_with_logits(const Tensor<T>& x, const Tensor<T>& y,
                                           Reduction r = Reduction::mean) {
  check_inputs("binary_cross_entropy_with_logits", x, y);
  detail::check_same_shape(x, y, "binary_cross_entropy_with_logits");
  Tensor<T> l = add(sub(relu(x), mul(x, y)), log1p(exp(neg(abs(x)))));
  return reduce_loss(l, r);
}

// kl_div(input = log q, target = p): Σ p (log p − log q), PyTorch's argument order and
// default reduction 'mean' (use batchmean for the true KL per sample). log_target: target is log p.
template <class T>
Tensor<T> kl_div(const Tensor<T>& input, const Tensor<T>& target, Reduction r = Reduction::mean,
                 bool log_target = false) {
  check_inputs("kl_div", input, target);
  detail::check_same_shape(input, target, "kl_div");
  Tensor<T> l;
  if (log_target) {
    // 0 where exp(target) = 0 (target −inf, a masked class): 0 · −inf would be NaN
    Tensor<T> pt = exp(target);
    Tensor<T> safe =
        where(gt_scalar(pt.detach(), T(0)), target, Tensor<T>::zeros({}, target.device()));
    l = mul(pt, sub(safe, input));
  } else {
    // xlogy: 0 where p = 0 (the gradient w.r.t. p there is not used in distillation)
    Tensor<T> pos = gt_scalar(target.detach(), T(0));
    Tensor<T> safe = where(pos, target, Tensor<T>::ones({}, target.device()));
    l = mul(target, sub(log(safe), input));
  }
  return reduce_loss(l, r);
}

}  // namespace distillery
