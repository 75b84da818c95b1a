// tests/losses/test_masked_teacher.cpp — softmax-based losses with a teacher masked by −inf
// (issue 26). A masked class has p = 0 and contributes p · (log p − log q) = 0 (PyTorch's
// kl_div uses xlogy); before, the fused KD path returned −inf and the composed path NaN.
// Oracle: the same loss with the masked logits replaced by −1e4 (exp underflows to exactly 0 in
// double, so p is the same, and every term is finite), and a hand-written formula.
#include <distillery/distillery.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <vector>

using namespace distillery;
using namespace distillery::losses;
using TD = Tensor<double>;

namespace {
const double kInf = std::numeric_limits<double>::infinity();

// KD by hand: T² / N · Σ_rows Σ_{c: p_c > 0} p_c (log p_c − log q_c), gradient T/N (q − p).
double kd_by_hand(const std::vector<double>& z, const std::vector<double>& v, int N, int C,
                  double T, std::vector<double>& grad) {
  double total = 0;
  grad.assign(z.size(), 0);
  for (int i = 0; i < N; ++i) {
    double mz = -kInf, mv = -kInf, Zz = 0, Zv = 0;
    for (int c = 0; c < C; ++c) {
      mz = std::max(mz, z[i * C + c] / T);
      mv = std::max(mv, v[i * C + c] / T);
    }
    for (int c = 0; c < C; ++c) {
      Zz += std::exp(z[i * C + c] / T - mz);
      Zv += std::exp(v[i * C + c] / T - mv);
    }
    for (int c = 0; c < C; ++c) {
      const double lq = z[i * C + c] / T - mz - std::log(Zz);
      const double p = std::exp(v[i * C + c] / T - mv) / Zv;
      if (p > 0) total += p * (std::log(p) - lq);
      grad[i * C + c] = T / N * (std::exp(lq) - p);
    }
  }
  return T * T * total / N;
}

struct Run {
  double value;
  std::vector<double> grad;
};
Run kd(const std::vector<double>& z, const std::vector<double>& v, LossPath path) {
  TD zt = TD::from_vector(z, {2, 3}).requires_grad_();
  TD l = kd_loss(zt, TD::from_vector(v, {2, 3}), 2.0, Reduction::batchmean,
                 TemperatureScale::t_squared, Divergence::kl, TeacherGrad::detach, path);
  l.backward();
  return {l.item(), zt.grad().to_vector()};
}
}  // namespace

TEST_CASE("kd_loss: a teacher masked with -inf stays finite on both paths (T 2)") {
  const std::vector<double> z = {1.0, 0.5, -0.3, 0.2, 0.1, 0.4};
  const std::vector<double> v = {2.0, -kInf, 0.1, 0.5, 1.0, -kInf};
  const std::vector<double> v_finite = {2.0, -1e4, 0.1, 0.5, 1.0, -1e4};
  std::vector<double> want_grad;
  const double want = kd_by_hand(z, v_finite, 2, 3, 2.0, want_grad);
  REQUIRE(std::isfinite(want));
  for (LossPath path : {LossPath::fused, LossPath::composed}) {
    INFO("path " << (path == LossPath::fused ? "fused" : "composed"));
    const Run masked = kd(z, v, path), finite = kd(z, v_finite, path);
    CHECK(std::isfinite(masked.value));
    CHECK(masked.value == doctest::Approx(want).epsilon(1e-12));
    CHECK(masked.value == doctest::Approx(finite.value).epsilon(1e-12));
    for (size_t k = 0; k < want_grad.size(); ++k) {
      CHECK(std::isfinite(masked.grad[k]));
      CHECK(masked.grad[k] == doctest::Approx(want_grad[k]).epsilon(1e-10));
    }
  }
  // kd_with_cross_entropy goes through kd_loss
  TD l = kd_with_cross_entropy(TD::from_vector(z, {2, 3}), TD::from_vector(v, {2, 3}),
                               Tensor<int64_t>::from_vector({0, 1}), 0.5, 2.0,
                               Reduction::batchmean, TemperatureScale::t_squared);
  CHECK(std::isfinite(l.item()));
}

TEST_CASE("soft_cross_entropy and kl_div: masked (zero-probability) targets stay finite") {
  TD z = TD::from_vector({1.0, 0.5, -0.3}, {1, 3}).requires_grad_();
  TD v = TD::from_vector({2.0, -kInf, 0.1}, {1, 3});
  TD sce = soft_cross_entropy(z, softmax(v, 1), Reduction::mean);
  sce.backward();
  CHECK(std::isfinite(sce.item()));
  for (double g : z.grad().to_vector()) CHECK(std::isfinite(g));
  // kl_div with log-probability targets of -inf (log_target = true) and probabilities 0
  TD lq = log_softmax(z, 1);
  TD a = kl_div(lq, log_softmax(v, 1), Reduction::sum, /*log_target=*/true);
  TD b = kl_div(lq, softmax(v, 1), Reduction::sum, /*log_target=*/false);
  CHECK(std::isfinite(a.item()));
  CHECK(a.item() == doctest::Approx(b.item()).epsilon(1e-12));
}

TEST_CASE("kd_loss: zero classes give 0 (as PyTorch), not an Eigen assertion or NaN") {
  for (Reduction r : {Reduction::batchmean, Reduction::sum, Reduction::mean}) {
    TD z = TD::zeros({3, 0}).requires_grad_();
    TD l = kd_loss(z, TD::zeros({3, 0}), 2.0, r, TemperatureScale::t_squared);
    CHECK(l.item() == 0.0);
    l.backward();
  }
}

// ---- the other softmax-based losses (issue 26 audit) ----------------------------------------
// Each row: loss(z, v) with teacher-side logits v masked by −inf must be finite and equal, value
// and gradients (student, and teacher where it keeps a gradient), the same loss with −1e4 in
// place of −inf (p = 0 exactly in double). Losses on features, relations or probabilities
// (feature, relation, ckd, transformer_kd, dpd, metric) take no logits through a softmax of a
// teacher and have no −inf convention to follow; ckd masks invalid pairs with an explicit mask.
namespace {
struct Grads {
  double value;
  std::vector<double> gz, gv;
};
using PairLoss = std::function<TD(const TD& z, const TD& v)>;
Grads run_pair(const PairLoss& f, const std::vector<double>& z, const std::vector<double>& v,
               bool teacher_grad) {
  TD zt = TD::from_vector(z, {2, 3}).requires_grad_();
  TD vt = TD::from_vector(v, {2, 3});
  if (teacher_grad) vt.requires_grad_();
  TD l = f(zt, vt);
  l.backward();
  Grads r{l.item(), zt.grad().to_vector(), {}};
  if (teacher_grad) r.gv = vt.grad().defined() ? vt.grad().to_vector() : std::vector<double>(6, 0.0);
  return r;
}
void check_masked(const char* name, const PairLoss& f, bool teacher_grad = false) {
  INFO(name);
  const std::vector<double> z = {1.0, 0.5, -0.3, 0.2, 0.1, 0.4};
  const std::vector<double> v = {2.0, -kInf, 0.1, 0.5, 1.0, -kInf};
  const std::vector<double> v_finite = {2.0, -1e4, 0.1, 0.5, 1.0, -1e4};
  const Grads m = run_pair(f, z, v, teacher_grad), o = run_pair(f, z, v_finite, teacher_grad);
  REQUIRE(std::isfinite(o.value));
  CHECK(std::isfinite(m.value));
  CHECK(m.value == doctest::Approx(o.value).epsilon(1e-12));
  for (size_t k = 0; k < o.gz.size(); ++k) {
    CHECK(std::isfinite(m.gz[k]));
    CHECK(m.gz[k] == doctest::Approx(o.gz[k]).epsilon(1e-10));
  }
  for (size_t k = 0; k < o.gv.size(); ++k) {
    CHECK(std::isfinite(m.gv[k]));
    CHECK(m.gv[k] == doctest::Approx(o.gv[k]).epsilon(1e-10));
  }
}
const Tensor<int64_t> kLabels = Tensor<int64_t>::from_vector({0, 2});
}  // namespace

TEST_CASE("softmax-based losses: a teacher masked by -inf gives the value and gradient of -1e4") {
  for (LossPath path : {LossPath::fused, LossPath::composed}) {
    const bool fused = path == LossPath::fused;
    check_masked(fused ? "mutual_learning_loss fused" : "mutual_learning_loss composed",
                 [path](const TD& z, const TD& v) { return mutual_learning_loss(z, v, kLabels, path); });
    check_masked(fused ? "kd_with_cross_entropy fused" : "kd_with_cross_entropy composed",
                 [path](const TD& z, const TD& v) {
                   return kd_with_cross_entropy(z, v, kLabels, 0.5, 2.0, Reduction::batchmean,
                                                TemperatureScale::t_squared, Divergence::kl, path);
                 });
    for (Reduction r : {Reduction::batchmean, Reduction::sum, Reduction::mean, Reduction::none})
      for (Divergence d : {Divergence::kl, Divergence::soft_cross_entropy}) {
        if (fused && r == Reduction::none) continue;  // no fused kernel for none
        check_masked("kd_loss (reduction x divergence)", [=](const TD& z, const TD& v) {
          return sum(kd_loss(z, v, 2.0, r, TemperatureScale::t_squared, d, TeacherGrad::detach,
                             r == Reduction::none ? LossPath::automatic : path));
        });
      }
  }
  check_masked("kd_loss, teacher keeps its gradient (composed)", [](const TD& z, const TD& v) {
    return kd_loss(z, v, 2.0, Reduction::batchmean, TemperatureScale::t_squared, Divergence::kl,
                   TeacherGrad::keep);
  }, /*teacher_grad=*/true);
  check_masked("self_distillation_loss", [](const TD& z, const TD& v) {
    return self_distillation_loss(z, v, kLabels, 0.4, 4.0);
  });
  check_masked("soft_cross_entropy(z, softmax_with_temperature(v))", [](const TD& z, const TD& v) {
    return soft_cross_entropy(z, softmax_with_temperature(v, 2.0), Reduction::mean, 2.0);
  }, true);
  check_masked("soft_label_cross_entropy, LabelForm::softmax (learned labels)",
               [](const TD& z, const TD& v) {
    return soft_label_cross_entropy(z, v, LabelForm::softmax, Reduction::mean);
  }, true);
  check_masked("beta_smoothing_loss (EMA teacher masked)", [](const TD& z, const TD& v) {
    TD t = beta_smoothing_targets_from_samples(v, kLabels, {0.9, 0.6});
    return beta_smoothing_loss(z, kLabels, t, 0.5);
  });
}

TEST_CASE("entropy: a class masked by -inf contributes 0 log 0 = 0 (was NaN)") {
  auto run = [](double masked) {
    TD z = TD::from_vector({1.0, masked, 0.1, 0.5, 1.0, masked}, {2, 3}).requires_grad_();
    TD h = entropy_regularized_loss(z, Tensor<int64_t>::from_vector({0, 1}), 0.1);  // live labels
    h.backward();
    return Grads{h.item(), z.grad().to_vector(), {}};
  };
  const Grads m = run(-kInf), o = run(-1e4);
  CHECK(std::isfinite(m.value));
  CHECK(m.value == doctest::Approx(o.value).epsilon(1e-12));
  for (size_t k = 0; k < o.gz.size(); ++k) {
    CHECK(std::isfinite(m.gz[k]));
    CHECK(m.gz[k] == doctest::Approx(o.gz[k]).epsilon(1e-10));
  }
  // one row [1, -inf, 0.1]: H = -(p0 log p0 + p2 log p2) over the two live classes
  const double p0 = std::exp(1.0) / (std::exp(1.0) + std::exp(0.1)), p2 = 1 - p0;
  TD h = entropy(TD::from_vector({1.0, -kInf, 0.1}, {1, 3}));
  CHECK(h.item() == doctest::Approx(-(p0 * std::log(p0) + p2 * std::log(p2))).epsilon(1e-12));
}

TEST_CASE("softmax-based losses: zero classes give 0") {
  TD z = TD::zeros({3, 0}).requires_grad_();
  TD p = TD::zeros({3, 0});
  for (TD l : {soft_cross_entropy(z, p, Reduction::mean), soft_cross_entropy(z, p, Reduction::sum),
               soft_label_cross_entropy(z, p, LabelForm::softmax, Reduction::mean)}) {
    CHECK(l.item() == 0.0);
  }
}
