// optim/optimizer.hpp — the Optimizer base: parameter groups, zero_grad, learning rates.
//
// An optimizer holds handles to parameter tensors (the same storage as the model's slots) in
// one or more groups; a group may override the learning rate and the weight decay, which is how
// biases and LayerNorm weights are excluded from decay (`decay_groups`). step() computes every
// update with ops under NoGradGuard and writes it into the parameter's own storage (assign_),
// so the model sees the new values and the kernels used are the parameter's device's.
//
//   auto groups = optim::decay_groups(model.named_parameters(), 0.01);   // wd on dim >= 2 only
//   optim::AdamOptions o;  o.lr = 1e-3;
//   optim::AdamW<float> opt(groups, o);
//   loss.backward();  opt.step();  opt.zero_grad();
//
// Requires: parameters are leaves that stay alive; a model moved with to(Device) gets new leaves,
// so build the optimizer afterwards. Parameters whose grad is undefined are skipped.
#pragma once
#include <cstdio>
#include <map>
#include <string>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "../ops/inplace.hpp"

namespace distillery::optim {

template <class T = float>
struct ParamGroup {
  std::vector<Tensor<T>> params;
  std::optional<double> lr;            // unset: the optimizer's default
  std::optional<double> weight_decay;  // unset: the optimizer's default
};

// Two groups from named parameters: those with dim >= 2 (weights of Linear/Conv/Embedding) get
// `weight_decay`; the rest (biases, LayerNorm weights, log-stds) get 0. `no_decay(name, tensor)`
// may move more parameters to the second group (e.g. names containing "norm").
template <class T>
std::vector<ParamGroup<T>> decay_groups(
    const std::vector<std::pair<std::string, Tensor<T>>>& named, double weight_decay,
    const std::function<bool(const std::string&, const Tensor<T>&)>& no_decay = nullptr) {
  ParamGroup<T> decay, plain;
  decay.weight_decay = weight_decay;
  plain.weight_decay = 0.0;
  for (const auto& kv : named) {
    bool skip = kv.second.dim() < 2 || (no_decay && no_decay(kv.first, kv.second));
    (skip ? plain : decay).params.push_back(kv.second);
  }
  std::vector<ParamGroup<T>> out;
  if (!decay.params.empty()) out.push_back(decay);
  if (!plain.params.empty()) out.push_back(plain);
  return out;
}

template <class T = float>
class Optimizer {
 public:
  struct Group {
    std::vector<Tensor<T>> params;
    double lr;
    double weight_decay;
  };

  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // Applies one update to every parameter that has a gradient.
  virtual void step() = 0;

  void zero_grad() {
    for (auto& g : groups_)
      for (auto& p : g.params) p.zero_grad();
  }
  std::vector<Group>& param_groups() { return groups_; }
  const std::vector<Group>& param_groups() const { return groups_; }
  double lr(size_t group = 0) const { return groups_.at(group).lr; }
  void set_lr(double lr) {
    for (auto& g : groups_) g.lr = lr;
  }
  int64_t steps() const { return steps_; }

  // The optimizer's state as named tensors, for checkpoints that resume exactly: per parameter
  // "<group>.<index>.<slot>" (momentum, moments, ...) and "<group>.<index>.step", plus "steps";
  // learning rates are not included (they come from the caller's schedule). load_state_dict
  // expects an optimizer built on the same parameters in the same order.
  std::map<std::string, Tensor<T>> state_dict() const {
    std::map<std::string, Tensor<T>> out;
    out["steps"] = Tensor<T>::scalar(T(steps_));
    for (size_t gi = 0; gi < state_.size(); ++gi)
      for (size_t i = 0; i < state_[gi].size(); ++i) {
        const std::string k = std::to_string(gi) + "." + std::to_string(i) + ".";
        const ParamState& ps = state_[gi][i];
        out[k + "step"] = Tensor<T>::scalar(T(ps.step));
        for (size_t b = 0; b < ps.buffers.size(); ++b)
          if (ps.buffers[b].defined()) out[k + std::to_string(b)] = ps.buffers[b].detach().clone();
      }
    return out;
  }
  void load_state_dict(const std::map<std::string, Tensor<T>>& sd) {
    auto it = sd.find("steps");
    check(it != sd.end(), "Optimizer::load_state_dict", "missing key 'steps'");
    steps_ = static_cast<int64_t>(it->second.item());
    state_.assign(groups_.size(), {});
    for (const auto& kv : sd) {
      if (kv.first == "steps") continue;
      size_t gi = 0, i = 0;
      char slot[32] = {0};
      check(std::sscanf(kv.first.c_str(), "%zu.%zu.%31s", &gi, &i, slot) == 3 && gi < groups_.size() &&
                i < groups_[gi].params.size(),
            "Optimizer::load_state_dict", "key '", kv.first, "' does not name a parameter of this optimizer");
      if (state_[gi].size() < groups_[gi].params.size()) state_[gi].resize(groups_[gi].params.size());
      ParamState& ps = state_[gi][i];
      if (std::string(slot) == "step") {
        ps.step = static_cast<int64_t>(kv.second.item());
      } else {
        const size_t b = static_cast<size_t>(std::stoul(slot));
        check(kv.second.shape() == groups_[gi].params[i].shape(), "Optimizer::load_state_dict", "key '",
              kv.first, "' has shape ", kv.second.shape(), ", the parameter ", groups_[gi].params[i].shape());
        if (ps.buffers.size() <= b) ps.buffers.resize(b + 1);
        ps.buffers[b] = kv.second.detach().clone().to(groups_[gi].params[i].device());
      }
    }
  }

 protected:
  Optimizer(std::vector<ParamGroup<T>> groups, double default_lr, double default_wd,
            const char* name) {
    check(!groups.empty(), name, "empty parameter list");
    check(default_lr >= 0, name, "learning rate must be non-negative, got ", default_lr);
    for (auto& g : groups) {
      for (auto& p : g.params)
        check(p.defined() && p.is_leaf(), name, "parameters must be defined leaf tensors "
              "(a frozen one, without requires_grad, is allowed and never updated)");
      groups_.push_back({g.params, g.lr.value_or(default_lr), g.weight_decay.value_or(default_wd)});
    }
  }
  // Calls f(group, index in group, param, grad) for every parameter with a gradient, under
  // NoGradGuard, and counts the step.
  template <class F>
  void for_each_param(F&& f) {
    NoGradGuard ng;
    ++steps_;
    for (size_t gi = 0; gi < groups_.size(); ++gi)
      for (size_t i = 0; i < groups_[gi].params.size(); ++i) {
        const Tensor<T>& p = groups_[gi].params[i];
        Tensor<T> g = p.grad();
        if (g.defined()) f(groups_[gi], gi, i, p, g.detach());
      }
  }
  // Per-parameter state, created on first use: `buffers` (momentum, moments...) and the number
  // of updates this parameter has received.
  struct ParamState {
    std::vector<Tensor<T>> buffers;
    int64_t step = 0;
  };
  ParamState& state(size_t gi, size_t i, size_t slots) {
    if (state_.size() < groups_.size()) state_.resize(groups_.size());
    auto& gs = state_[gi];
    if (gs.size() < groups_[gi].params.size()) gs.resize(groups_[gi].params.size());
    if (gs[i].buffers.size() < slots) gs[i].buffers.resize(slots);
    return gs[i];
  }

  std::vector<Group> groups_;

 private:
  std::vector<std::vector<ParamState>> state_;
  int64_t steps_ = 0;
};

// All parameters in one group.
template <class T>
std::vector<ParamGroup<T>> single_group(const std::vector<Tensor<T>>& params) {
  ParamGroup<T> g;
  g.params = params;
  return {g};
}

}  // namespace distillery::optim
