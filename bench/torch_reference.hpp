// bench/torch_reference.hpp — the relation losses composed from LibTorch ops the way the reference
// implementations compose them (lenscloth/RKD RkdAngle; GeondoPark/CKD WR_Dist, WR_Angle_window,
// LTR_Dist, LTR_Angle, with the same explicit zeroing of padded rows as Distillery). Shared by the
// CPU (bench_losses.cpp) and CUDA (cuda/bench_cuda.cpp) benchmarks; tensors may live on any
// device. Hidden states x [B, L, n, d], mask [B, n] (1 = token).
#pragma once
#include <torch/torch.h>

#include <cmath>

namespace bench_ref {
namespace F = torch::nn::functional;

inline torch::Tensor torch_angles(const torch::Tensor& x) {  // [G, m, d] -> [G, m, m, m]
  const int64_t G = x.size(0), m = x.size(1), d = x.size(2);
  auto sub = F::normalize(x.unsqueeze(1) - x.unsqueeze(2), F::NormalizeFuncOptions().p(2).dim(3));
  sub = sub.reshape({-1, m, d});
  return torch::bmm(sub, sub.transpose(1, 2)).view({G, m, m, m});
}

inline torch::Tensor grouped(const torch::Tensor& x, bool layer) {
  return layer ? x.transpose(1, 2).reshape({-1, x.size(1), x.size(3)})
               : x.reshape({-1, x.size(2), x.size(3)});
}
inline torch::Tensor grouped_mask(const torch::Tensor& mask, bool layer, int64_t L) {
  return layer ? mask.reshape({-1, 1}).repeat({1, L})
               : mask.unsqueeze(1).repeat({1, L, 1}).reshape({-1, mask.size(1)});
}

inline torch::Tensor torch_pair(const torch::Tensor& s, const torch::Tensor& t,
                                const torch::Tensor& mask, bool layer) {
  auto gm = grouped_mask(mask, layer, s.size(1));
  const int64_t m = gm.size(1);
  auto M = gm.unsqueeze(2) * gm.unsqueeze(1);
  auto valid = (M * (1 - torch::eye(m, gm.options()))) > 0;
  auto has = valid.any(-1, true);
  auto rel = [&](const torch::Tensor& x, bool student) {
    auto xn = F::normalize(grouped(x, layer), F::NormalizeFuncOptions().p(2).dim(2));
    auto d = (torch::bmm(xn, xn.transpose(1, 2)) * M).masked_fill(~valid, -INFINITY);
    d = torch::where(has, d, torch::zeros_like(d));
    d = student ? torch::log_softmax(d, -1) : torch::softmax(d, -1);
    return torch::where(valid, d, torch::zeros_like(d));
  };
  torch::Tensor td;
  {
    torch::NoGradGuard ng;
    td = rel(t, false);
  }
  return torch::kl_div(rel(s, true), td, at::Reduction::Sum) / M.sum();
}

inline torch::Tensor torch_window(const torch::Tensor& s, const torch::Tensor& t,
                                  const torch::Tensor& mask, int64_t w) {
  const int64_t L = s.size(1), n = s.size(2), G = s.size(0) * L, r = (w - 1) / 2;
  const auto io = torch::TensorOptions().dtype(torch::kLong).device(s.device());
  auto idx = torch::arange(n, io).unsqueeze(0).unsqueeze(2).repeat({G, 1, w});
  idx = (idx + torch::arange(-r, r + 1, io).expand_as(idx)).clamp(0, n - 1);
  idx = idx + torch::arange(G, io).view({-1, 1, 1}) * n;
  auto M = grouped_mask(mask, false, L).unsqueeze(2).unsqueeze(3).repeat({1, 1, w, w});
  auto angles = [&](const torch::Tensor& x) {
    auto xg = grouped(x, false);
    const int64_t d = xg.size(2);
    auto round = xg.reshape({G * n, d}).index({idx});
    auto sub = F::normalize(xg.unsqueeze(2) - round, F::NormalizeFuncOptions().p(2).dim(3));
    sub = sub.view({-1, w, d});
    return torch::bmm(sub, sub.transpose(1, 2)).view({G, n, w, w}) * M;
  };
  torch::Tensor ta;
  {
    torch::NoGradGuard ng;
    ta = angles(t);
  }
  return F::mse_loss(angles(s), ta, F::MSELossFuncOptions(torch::kSum)) / M.sum();
}

inline torch::Tensor torch_ltr_triple(const torch::Tensor& s, const torch::Tensor& t,
                                      const torch::Tensor& mask) {
  auto gm = grouped_mask(mask, true, s.size(1));
  auto M = gm.unsqueeze(2).unsqueeze(3) * gm.unsqueeze(1).unsqueeze(3) * gm.unsqueeze(1).unsqueeze(2);
  torch::Tensor ta;
  {
    torch::NoGradGuard ng;
    ta = torch_angles(grouped(t, true)) * M;
  }
  auto sa = torch_angles(grouped(s, true)) * M;
  return F::mse_loss(sa, ta, F::MSELossFuncOptions(torch::kSum)) / M.sum();
}

}  // namespace bench_ref
