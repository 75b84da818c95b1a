// autograd/grad_mode.hpp — no_grad and friends.
//
// While grad mode is off, ops record no graph: outputs have requires_grad == false. Teachers'
// forward passes, optimizer updates and EMA copies run under `NoGradGuard`. The engine turns it
// off while running backward rules unless create_graph is requested.
#pragma once
#include "../core/tensor.hpp"

namespace distillery {

inline bool is_grad_enabled() { return grad_mode_flag(); }

class GradModeGuard {
 public:
  explicit GradModeGuard(bool enabled) : prev_(grad_mode_flag()) { grad_mode_flag() = enabled; }
  ~GradModeGuard() { grad_mode_flag() = prev_; }
  GradModeGuard(const GradModeGuard&) = delete;
  GradModeGuard& operator=(const GradModeGuard&) = delete;

 private:
  bool prev_;
};

struct NoGradGuard : GradModeGuard {
  NoGradGuard() : GradModeGuard(false) {}
};

}  // namespace distillery
