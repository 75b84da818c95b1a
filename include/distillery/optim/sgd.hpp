// optim/sgd.hpp — SGD with momentum, dampening, Nesterov and (coupled) weight decay.
//
// torch.optim.SGD, step by step (g the gradient, b the momentum buffer, μ momentum, τ dampening):
//   g ← g + wd·p                          (weight decay, when wd ≠ 0)
//   b ← g on the first step, else b ← μ b + (1 − τ) g    (when μ ≠ 0)
//   g ← g + μ b (Nesterov) or g ← b
//   p ← p − lr·g
//
//   optim::SGDOptions o;  o.lr = 0.05;  o.momentum = 0.9;
//   optim::SGD<float> opt(model.parameters(), o);
#pragma once
#include "optimizer.hpp"

namespace distillery::optim {

struct SGDOptions {
  double lr = 0.01;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;
};

template <class T = float>
class SGD : public Optimizer<T> {
 public:
  SGD(std::vector<ParamGroup<T>> groups, SGDOptions o = {})
      : Optimizer<T>(std::move(groups), o.lr, o.weight_decay, "SGD"), opt_(o) {
    check(o.momentum >= 0 && o.weight_decay >= 0, "SGD", "momentum and weight decay must be >= 0");
    check(!o.nesterov || (o.momentum > 0 && o.dampening == 0), "SGD",
          "Nesterov momentum requires a momentum and zero dampening");
  }
  SGD(const std::vector<Tensor<T>>& params, SGDOptions o = {}) : SGD(single_group(params), o) {}

  void step() override {
    const T mu = T(opt_.momentum);
    this->for_each_param([&](auto& group, size_t gi, size_t i, const Tensor<T>& p, Tensor<T> g) {
      if (group.weight_decay != 0) g = add(g, mul_scalar(p.detach(), T(group.weight_decay)));
      if (opt_.momentum != 0) {
        Tensor<T>& buf = this->state(gi, i, 1).buffers[0];
        buf = buf.defined() ? add(mul_scalar(buf, mu), mul_scalar(g, T(1 - opt_.dampening)))
                            : clone(g);
        g = opt_.nesterov ? add(g, mul_scalar(buf, mu)) : buf;
      }
      assign_(p, sub(p.detach(), mul_scalar(g, T(group.lr))));
    });
  }
  const SGDOptions& options() const { return opt_; }

 private:
  SGDOptions opt_;
};

}  // namespace distillery::optim
