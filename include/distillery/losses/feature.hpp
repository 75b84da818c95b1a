// losses/feature.hpp — feature-based distillation on intermediate activations.
//
//   fitnets_hint_loss(fs, ft, W, b, r)        reduce_r((regress(fs) − ft)²), regressor trainable
//   fitnets_hint_loss(fs, ft, regressor, r)   the same with any callable Tensor -> Tensor (a
//   Linear,
//                                             a 1×1 conv module, a lambda)
//   attention_map(f, p = 2)                   normalise_per_sample(mean_c |f_c|^p)  [N, H·W]
//   attention_transfer_loss(fs, ft, p, r)     reduce_r((attention_map(fs) − attention_map(ft))²)
//
// Conventions:
// * FitNets (Romero et al. 2015): the regressor maps student channels to teacher channels along
//   dim 1 — a linear layer on [N, Ds] features, a 1×1 convolution on [N, Cs, H, W] maps — with
//   weight [Ct, Cs] and optional bias [Ct]; it receives gradient, the teacher does not. The
//   paper's ½‖·‖² is 0.5 × Reduction::sum; RepDistiller's HintLoss is Reduction::mean (MSE).
// * Attention transfer (Zagoruyko & Komodakis 2017, official code and RepDistiller): the map is
//   the channel MEAN of |f|^p (p = 2), flattened per sample and L2-normalised (F.normalize,
//   ε = 1e-12); the loss is the mean over N × H·W of the squared difference (Reduction::mean).
//   The paper's β/2 (β = 1000) is the caller's weight. Channels may differ, spatial sizes not.
// * Teachers are always detached.
#pragma once
#include <type_traits>

#include "common.hpp"

namespace distillery::losses {

namespace detail {
// Applies W [Ct, Cs] (and b [Ct]) along dim 1 of x [N, Cs, ...].
template <class T>
Tensor<T> regress_channels(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& b) {
  if (x.dim() == 2) return linear(x, w, b);
  Tensor<T> moved = transpose(x, 1, -1);  // [N, ..., Cs]
  return transpose(linear(moved, w, b), 1, -1);
}
}  // namespace detail

template <class T, class Regressor,
          class = std::enable_if_t<std::is_invocable_r_v<Tensor<T>, Regressor, const Tensor<T>&>>>
Tensor<T> fitnets_hint_loss(const Tensor<T>& student_features, const Tensor<T>& teacher_features,
                            Regressor&& regressor, Reduction reduction) {
  check_inputs("fitnets_hint_loss", student_features, teacher_features);
  check(
      student_features.defined() && teacher_features.defined() && student_features.dim() >= 2 &&
          teacher_features.dim() >= 2 && student_features.shape()[0] == teacher_features.shape()[0],
      "fitnets_hint_loss", "student features ", detail::shape_of(student_features), " and teacher ",
      detail::shape_of(teacher_features), " must be [N, Cs, ...] and [N, Ct, ...] with the same N");
  Tensor<T> r = regressor(student_features);
  check(r.shape() == teacher_features.shape(), "fitnets_hint_loss", "regressed student ",
        detail::shape_of(r), " (from ", detail::shape_of(student_features), ") must match teacher ",
        detail::shape_of(teacher_features));
  return mse_loss(r, teacher_features.detach(), reduction);
}

// FitNets with a plain weight [Ct, Cs] (and bias [Ct] or undefined) as the regressor.
template <class T>
Tensor<T> fitnets_hint_loss(const Tensor<T>& student_features, const Tensor<T>& teacher_features,
                            const Tensor<T>& regressor_weight, const Tensor<T>& regressor_bias,
                            Reduction reduction) {
  check_inputs("fitnets_hint_loss", student_features, teacher_features, regressor_weight);
  check(regressor_weight.defined() && regressor_weight.dim() == 2 && student_features.dim() >= 2 &&
            regressor_weight.shape()[1] == student_features.shape()[1],
        "fitnets_hint_loss", "regressor weight ", detail::shape_of(regressor_weight),
        " must be [Ct, Cs] for student features ", detail::shape_of(student_features));
  check(!regressor_bias.defined() || regressor_bias.shape() == Shape{regressor_weight.shape()[0]},
        "fitnets_hint_loss", "regressor bias ", detail::shape_of(regressor_bias),
        " must be [Ct] for weight ", detail::shape_of(regressor_weight));
  return fitnets_hint_loss(
      student_features, teacher_features,
      [&](const Tensor<T>& x) {
        return detail::regress_channels(x, regressor_weight, regressor_bias);
      },
      reduction);
}

// Per-sample L2-normalised spatial attention map of f [N, C, ...] -> [N, prod(spatial)].
template <class T>
Tensor<T> attention_map(const Tensor<T>& features, double p = 2) {
  check_inputs("attention_map", features);
  check(features.defined() && features.dim() >= 2, "attention_map", "features ",
        detail::shape_of(features), " must be [N, C, ...]");
  check(p > 0, "attention_map", "p must be positive, got ", p);
  Tensor<T> powered = p == 2 ? square(features) : pow_scalar(abs(features), T(p));
  Tensor<T> m = mean(powered, {1});
  return detail::l2_normalize(reshape(m, Shape{features.shape()[0], -1}), 1);
}

template <class T>
Tensor<T> attention_transfer_loss(const Tensor<T>& student_features,
                                  const Tensor<T>& teacher_features, double p = 2,
                                  Reduction reduction = Reduction::mean) {
  check_inputs("attention_transfer_loss", student_features, teacher_features);
  check(student_features.defined() && teacher_features.defined() && student_features.dim() >= 2 &&
            teacher_features.dim() >= 2 &&
            student_features.shape()[0] == teacher_features.shape()[0] &&
            student_features.numel() / std::max<int64_t>(student_features.shape()[1], 1) ==
                teacher_features.numel() / std::max<int64_t>(teacher_features.shape()[1], 1),
        "attention_transfer_loss", "student features ", detail::shape_of(student_features),
        " and teacher ", detail::shape_of(teacher_features),
        " must share the batch size and the spatial size (channels may differ)");
  Tensor<T> at;
  {
    NoGradGuard no_grad;
    at = attention_map(teacher_features.detach(), p);
  }
  return mse_loss(attention_map(student_features, p), at, reduction);
}

}  // namespace distillery::losses
