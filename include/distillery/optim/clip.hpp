// optim/clip.hpp — gradient clipping (torch.nn.utils.clip_grad_norm_ / clip_grad_value_).
//
// clip_grad_norm_(params, max_norm, p): total = ‖(‖g_1‖_p, ..., ‖g_n‖_p)‖_p over the parameters
// that have a gradient (p = ∞: the largest |g|); every gradient is multiplied by
// min(1, max_norm / (total + 1e-6)). Returns the total norm before clipping.
// clip_grad_value_(params, c): every gradient entry clamped to [−c, c].
// Gradients are replaced by new tensors (set_grad); no graph is recorded.
#pragma once
#include <cmath>
#include <limits>
#include <vector>

#include "../ops/inplace.hpp"

namespace distillery::optim {

template <class T>
double clip_grad_norm_(const std::vector<Tensor<T>>& params, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false) {
  check(max_norm >= 0 && norm_type > 0, "clip_grad_norm_", "need max_norm >= 0 and norm_type > 0");
  NoGradGuard ng;
  const bool inf = std::isinf(norm_type);
  double total = 0;
  bool any = false;
  for (const auto& p : params) {
    Tensor<T> g = p.grad();
    if (!g.defined()) continue;
    any = true;
    if (inf) total = std::max(total, double(max(abs(g)).item()));
    else total += std::pow(double(norm(g, norm_type).item()), norm_type);
  }
  if (!any) return 0.0;
  if (!inf) total = std::pow(total, 1.0 / norm_type);
  check(!error_if_nonfinite || std::isfinite(total), "clip_grad_norm_", "the total norm of the "
        "gradients is not finite (", total, ")");
  const double coef = std::min(1.0, max_norm / (total + 1e-6));
  if (coef < 1.0)
    for (const auto& p : params)
      if (p.grad().defined()) p.set_grad(mul_scalar(p.grad().detach(), T(coef)));
  return total;
}

template <class T>
void clip_grad_value_(const std::vector<Tensor<T>>& params, double clip_value) {
  check(clip_value >= 0, "clip_grad_value_", "clip_value must be >= 0, got ", clip_value);
  NoGradGuard ng;
  for (const auto& p : params)
    if (p.grad().defined()) p.set_grad(clamp(p.grad().detach(), T(-clip_value), T(clip_value)));
}

}  // namespace distillery::optim
