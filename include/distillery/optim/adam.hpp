// optim/adam.hpp — Adam and AdamW (torch.optim.Adam / AdamW, including amsgrad).
//
// For each parameter p with gradient g, at step t (1-based), m and v starting at 0:
//   Adam:  g ← g + wd·p              (coupled L2 decay, when wd ≠ 0)
//   AdamW: p ← p·(1 − lr·wd)         (decoupled decay, applied before the update)
//   m ← β1 m + (1 − β1) g;      v ← β2 v + (1 − β2) g²;      v̂ ← max(v̂, v) with amsgrad
//   p ← p − (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + ε)      (v̂ in place of v with amsgrad)
// Defaults as PyTorch: lr 1e-3, betas (0.9, 0.999), eps 1e-8; weight decay 0 (Adam) and
// 0.01 (AdamW). Bias and LayerNorm parameters are excluded from decay with decay_groups().
#pragma once
#include <cmath>

#include "optimizer.hpp"

namespace distillery::optim {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  bool amsgrad = false;
};

namespace detail {
// The shared update; `decoupled` selects AdamW's decay.
template <class T>
class AdamBase : public Optimizer<T> {
 public:
  void step() override {
    this->for_each_param([&](auto& group, size_t gi, size_t i, const Tensor<T>& p, Tensor<T> g) {
      Tensor<T> w = p.detach();
      if (group.weight_decay != 0) {
        if (decoupled_) w = mul_scalar(w, T(1 - group.lr * group.weight_decay));
        else g = add(g, mul_scalar(w, T(group.weight_decay)));
      }
      auto& st = this->state(gi, i, 3);
      auto& s = st.buffers;  // m, v, v̂
      const double t = double(++st.step);
      const double bc1 = 1 - std::pow(opt_.beta1, t), bc2 = 1 - std::pow(opt_.beta2, t);
      if (!s[0].defined()) {
        s[0] = Tensor<T>::zeros(p.shape(), p.device());
        s[1] = Tensor<T>::zeros(p.shape(), p.device());
        if (opt_.amsgrad) s[2] = Tensor<T>::zeros(p.shape(), p.device());
      }
      s[0] = add(s[0], mul_scalar(sub(g, s[0]), T(1 - opt_.beta1)));            // lerp, as torch
      s[1] = add(mul_scalar(s[1], T(opt_.beta2)), mul_scalar(mul(g, g), T(1 - opt_.beta2)));
      Tensor<T> v = s[1];
      if (opt_.amsgrad) v = s[2] = maximum(s[2], s[1]);
      Tensor<T> denom = add_scalar(mul_scalar(sqrt(v), T(1 / std::sqrt(bc2))), T(opt_.eps));
      assign_(p, sub(w, mul_scalar(div(s[0], denom), T(group.lr / bc1))));
    });
  }
  const AdamOptions& options() const { return opt_; }

 protected:
  AdamBase(std::vector<ParamGroup<T>> groups, AdamOptions o, bool decoupled, const char* name)
      : Optimizer<T>(std::move(groups), o.lr, o.weight_decay, name), opt_(o), decoupled_(decoupled) {
    check(o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1 && o.eps >= 0, name,
          "betas must be in [0, 1) and eps >= 0");
  }

 private:
  AdamOptions opt_;
  bool decoupled_;
};
}  // namespace detail

template <class T = float>
class Adam : public detail::AdamBase<T> {
 public:
  Adam(std::vector<ParamGroup<T>> groups, AdamOptions o = {})
      : detail::AdamBase<T>(std::move(groups), o, false, "Adam") {}
  Adam(const std::vector<Tensor<T>>& params, AdamOptions o = {}) : Adam(single_group(params), o) {}
};

// AdamOptions with PyTorch's AdamW default weight decay.
inline AdamOptions adamw_defaults() {
  AdamOptions o;
  o.weight_decay = 0.01;
  return o;
}

template <class T = float>
class AdamW : public detail::AdamBase<T> {
 public:
  AdamW(std::vector<ParamGroup<T>> groups, AdamOptions o = adamw_defaults())
      : detail::AdamBase<T>(std::move(groups), o, true, "AdamW") {}
  AdamW(const std::vector<Tensor<T>>& params, AdamOptions o = adamw_defaults())
      : AdamW(single_group(params), o) {}
};

}  // namespace distillery::optim
