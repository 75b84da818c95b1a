// losses/transformer_kd.hpp — the intermediate-layer baselines CKD is compared with:
// Patient KD (Sun et al. 2019) and TinyBERT-style hidden-state and attention matching (Jiao et
// al. 2020). Inputs are aligned layers, as ckd.hpp's: hidden states H [B, L, n, d] (L aligned
// layers, n tokens), attention probabilities A [B, L, n, n] (averaged over heads by the caller
// when the head counts differ), a mask [B, n] (1 = real token; undefined = all real).
//
//   pkd_loss(Cs [B, L, d], Ct [B, L, d])              mean over B, L, d of (u(Cs) − u(Ct))²
//       u = L2-normalise along d: the [CLS] vectors of the aligned layers, the reference's
//       patience_loss(normalized_patience = True) = F.mse_loss (mean over every element). Widths
//       must agree: project the student first when they do not.
//   hidden_mse_loss(Hs [B, L, n, d], Ht, mask)        Σ_valid tokens mean_d (Hs − Ht)² / (#valid · L)
//       TinyBERT's hidden (and embedding, layer 0) loss; project Hs to the teacher width first
//       (a learned W [dt, ds]: linear(Hs, W)). Padded tokens are left out (TinyBERT's MSE counts
//       them; leaving them out makes the loss independent of how much padding a batch has).
//   attention_mse_loss(As [B, L, n, n], At, mask)     Σ_valid queries Σ_keys (As − At)² / (#valid · L)
//       TinyBERT matches pre-softmax scores with −inf replaced by 0; our encoder exposes the
//       probabilities, so this matches probabilities (padded keys are 0 in both). The per-row sum
//       over keys (not a mean) keeps the loss independent of the padded length.
// The teacher is always detached; every loss is composed of differentiable ops (any order).
#pragma once
#include "common.hpp"

namespace distillery::losses {

namespace detail {
// mask [B, n] -> float weights [B, 1, n] (1 = real token); all ones when undefined.
template <class T>
Tensor<T> token_weights(const Tensor<T>& mask, int64_t B, int64_t n, Device dev, const char* loss) {
  if (!mask.defined()) return Tensor<T>::ones({B, 1, n}, dev);
  check(mask.shape() == Shape{B, n}, loss, "mask ", shape_of(mask), " must be [B, n] = [", B, ", ", n, "]");
  return reshape(ne_scalar(mask.detach(), T(0)), Shape{B, 1, n});
}
}  // namespace detail

template <class T>
Tensor<T> pkd_loss(const Tensor<T>& student_cls, const Tensor<T>& teacher_cls) {
  check_inputs("pkd_loss", student_cls, teacher_cls);
  check(student_cls.defined() && teacher_cls.defined() && student_cls.dim() == 3 &&
            student_cls.shape() == teacher_cls.shape(),
        "pkd_loss", "student ", detail::shape_of(student_cls), " and teacher ",
        detail::shape_of(teacher_cls), " must both be [B, L, d] (project the student first)");
  auto unit = [](const Tensor<T>& x) {
    Tensor<T> nrm = clamp_min(sqrt(sum(square(x), {-1}, true)), T(1e-12));
    return div(x, nrm);
  };
  return mean(square(sub(unit(student_cls), unit(teacher_cls.detach()))));
}

template <class T>
Tensor<T> hidden_mse_loss(const Tensor<T>& student_hidden, const Tensor<T>& teacher_hidden,
                          const Tensor<T>& mask = Tensor<T>()) {
  check_inputs("hidden_mse_loss", student_hidden, teacher_hidden);  // mask optional
  check(student_hidden.defined() && teacher_hidden.defined() && student_hidden.dim() == 4 &&
            student_hidden.shape() == teacher_hidden.shape(),
        "hidden_mse_loss", "student ", detail::shape_of(student_hidden), " and teacher ",
        detail::shape_of(teacher_hidden), " must both be [B, L, n, d] (project the student first)");
  const auto& s = student_hidden.shape();
  const int64_t B = s[0], L = s[1], n = s[2];
  Tensor<T> w = detail::token_weights(mask, B, n, student_hidden.device(), "hidden_mse_loss");
  Tensor<T> per_token = mean(square(sub(student_hidden, teacher_hidden.detach())), {-1});  // [B, L, n]
  const double valid = std::max(1.0, double(sum(w).item()));
  return mul_scalar(sum(mul(per_token, w)), T(1.0 / (valid * double(L))));
}

template <class T>
Tensor<T> attention_mse_loss(const Tensor<T>& student_attn, const Tensor<T>& teacher_attn,
                             const Tensor<T>& mask = Tensor<T>()) {
  check_inputs("attention_mse_loss", student_attn, teacher_attn);  // mask optional
  check(student_attn.defined() && teacher_attn.defined() && student_attn.dim() == 4 &&
            student_attn.shape() == teacher_attn.shape() &&
            student_attn.shape()[2] == student_attn.shape()[3],
        "attention_mse_loss", "student ", detail::shape_of(student_attn), " and teacher ",
        detail::shape_of(teacher_attn), " must both be [B, L, n, n] (average the heads first)");
  const auto& s = student_attn.shape();
  const int64_t B = s[0], L = s[1], n = s[2];
  Tensor<T> w = detail::token_weights(mask, B, n, student_attn.device(), "attention_mse_loss");
  Tensor<T> per_row = sum(square(sub(student_attn, teacher_attn.detach())), {-1});  // [B, L, n]
  const double valid = std::max(1.0, double(sum(w).item()));
  return mul_scalar(sum(mul(per_row, w)), T(1.0 / (valid * double(L))));
}

}  // namespace distillery::losses
