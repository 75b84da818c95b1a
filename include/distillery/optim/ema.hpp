// optim/ema.hpp — exponential moving averages of parameters (Polyak averaging, EMA teachers).
//
// ParameterEMA keeps shadow copies s_i of a list of tensors and, on update(θ), sets
//   s_i ← d·s_i + (1 − d)·θ_i,   d = decay, or min(decay, (1 + n)/(10 + n)) with warmup
// (n = number of updates so far, TensorFlow's ExponentialMovingAverage num_updates rule).
// copy_to(θ) writes the averages into θ in place (e.g. to evaluate the averaged model).
//
// ramped_ema_decay(t, max) is the schedule min(1 − 1/(t + 1), max) of Beta smoothing's EMA teacher.
//
// ema_update(ema_model, model, decay) does the same between two modules of one structure,
// parameters averaged and buffers copied — the usual EMA-teacher pattern:
//   auto teacher = nn::clone(student);   teacher->requires_grad_(false);
//   ... after each optimizer step:  optim::ema_update(*teacher, student, 0.999);
#pragma once
#include <algorithm>
#include <vector>

#include "../ops/inplace.hpp"

namespace distillery::optim {

// The ramped decay of the self-distillation / Beta-smoothing EMA teacher at step t = 0, 1, ...:
//   d_t = min(1 − 1/(t + 1), max_decay)
// d_0 = 0 (the first update copies θ), then the running mean of all iterates while
// t/(t + 1) < max_decay, then max_decay (0.999 in the reference: from t = 999 on).
inline double ramped_ema_decay(int64_t t, double max_decay = 0.999) {
  check(t >= 0, "ramped_ema_decay", "step must be non-negative, got ", t);
  check(max_decay >= 0 && max_decay <= 1, "ramped_ema_decay", "max_decay must be in [0, 1], got ",
        max_decay);
  return std::min(1.0 - 1.0 / double(t + 1), max_decay);
}

template <class T = float>
class ParameterEMA {
 public:
  ParameterEMA(const std::vector<Tensor<T>>& params, double decay, bool warmup = false)
      : decay_(decay), warmup_(warmup) {
    check(decay >= 0 && decay <= 1, "ParameterEMA", "decay must be in [0, 1], got ", decay);
    for (auto& p : params) shadow_.push_back(p.detach().clone());
  }
  // The decay the next update will use.
  double current_decay() const {
    return warmup_ ? std::min(decay_, (1.0 + double(n_)) / (10.0 + double(n_))) : decay_;
  }
  void update(const std::vector<Tensor<T>>& params) {
    check(params.size() == shadow_.size(), "ParameterEMA", "expected ", shadow_.size(),
          " tensors, got ", params.size());
    NoGradGuard ng;
    const T d = T(current_decay());
    for (size_t i = 0; i < params.size(); ++i)
      assign_(shadow_[i], add(mul_scalar(shadow_[i], d), mul_scalar(params[i].detach(), T(1) - d)));
    ++n_;
  }
  void copy_to(const std::vector<Tensor<T>>& params) const {
    check(params.size() == shadow_.size(), "ParameterEMA", "expected ", shadow_.size(),
          " tensors, got ", params.size());
    NoGradGuard ng;
    for (size_t i = 0; i < params.size(); ++i) assign_(params[i], shadow_[i]);
  }
  const std::vector<Tensor<T>>& shadow() const { return shadow_; }
  int64_t num_updates() const { return n_; }

 private:
  std::vector<Tensor<T>> shadow_;
  double decay_;
  bool warmup_;
  int64_t n_ = 0;
};

// ema_model's parameters ← decay·ema + (1 − decay)·model's; buffers copied. Same structure.
template <class M>
void ema_update(M& ema_model, const M& model, double decay) {
  using T = typename M::Scalar;
  check(decay >= 0 && decay <= 1, "ema_update", "decay must be in [0, 1], got ", decay);
  NoGradGuard ng;
  auto dst = ema_model.parameters(), src = model.parameters();
  check(dst.size() == src.size(), "ema_update", "models differ: ", dst.size(), " and ",
        src.size(), " parameters");
  for (size_t i = 0; i < dst.size(); ++i)
    assign_(dst[i], add(mul_scalar(dst[i].detach(), T(decay)), mul_scalar(src[i].detach(), T(1 - decay))));
  auto db = ema_model.buffers(), sb = model.buffers();
  for (size_t i = 0; i < db.size() && i < sb.size(); ++i) assign_(db[i], sb[i]);
}

}  // namespace distillery::optim
