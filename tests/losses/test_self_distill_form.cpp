// tests/losses/test_self_distill_form.cpp — self_distillation_loss's two named forms on the
// saturated student of issue 24 (z = [30, 0, 0], teacher logits 0, y = 0, α 0.4, T 4).
// Expected values by hand (s = softmax(z), p = 1/3, ε = 1e-8, r = s/(s + ε)):
//   exact:          0.6·(−log s₀) + 0.4·(−Σ p log s)        = 8.000,  ∇ = 0.6(s − e₀) + 0.4(s − p)
//   reference_eps:  0.6·(−log s₀) + 0.4·(−Σ p log(s + ε))   = 4.9122, ∇ = 0.6(s − e₀) − 0.4(p r − s Σ p r)
#include <distillery/distillery.hpp>

#include <doctest/doctest.h>

#include <cmath>

using namespace distillery;
using namespace distillery::losses;

namespace {
struct Out {
  double loss;
  std::vector<double> grad;
};
Out run(SelfDistillForm form) {
  auto z = Tensor<double>::from_vector({30, 0, 0}, Shape{1, 3}).requires_grad_(true);
  auto v = Tensor<double>::zeros(Shape{1, 3});
  auto y = Tensor<int64_t>::from_vector({0}, Shape{1});
  Tensor<double> l = self_distillation_loss(z, v, y, 0.4, 4.0, form);
  l.backward();
  return {l.item(), z.grad().to_vector()};
}
}  // namespace

TEST_CASE("self_distillation_loss: exact form is the default and matches the hand values") {
  Out ex = run(SelfDistillForm::exact);
  CHECK(ex.loss == doctest::Approx(8.0).epsilon(1e-12));
  CHECK(ex.grad[0] == doctest::Approx(0.4 * (1 - 1.0 / 3)).epsilon(1e-9));
  CHECK(ex.grad[1] == doctest::Approx(-0.4 / 3).epsilon(1e-9));
  CHECK(ex.grad[2] == doctest::Approx(-0.4 / 3).epsilon(1e-9));
  auto z = Tensor<double>::from_vector({30, 0, 0}, Shape{1, 3});
  double dflt = self_distillation_loss(z, Tensor<double>::zeros(Shape{1, 3}),
                                       Tensor<int64_t>::from_vector({0}, Shape{1}), 0.4, 4.0)
                    .item();
  CHECK(dflt == ex.loss);
}

TEST_CASE("self_distillation_loss: reference_eps form, log(softmax + 1e-8)") {
  Out re = run(SelfDistillForm::reference_eps);
  const double s0 = 1 / (1 + 2 * std::exp(-30.0)), s1 = std::exp(-30.0) * s0, eps = 1e-8;
  const double want = 0.6 * -std::log(s0) -
                      0.4 / 3 * (std::log(s0 + eps) + 2 * std::log(s1 + eps));
  CHECK(re.loss == doctest::Approx(want).epsilon(1e-12));
  CHECK(re.loss == doctest::Approx(4.91218).epsilon(1e-5));
  const double r0 = s0 / (s0 + eps), r1 = s1 / (s1 + eps), R = (r0 + 2 * r1) / 3;
  const double g0 = 0.6 * (s0 - 1) - 0.4 * (r0 / 3 - s0 * R);
  const double g1 = 0.6 * s1 - 0.4 * (r1 / 3 - s1 * R);
  CHECK(re.grad[0] == doctest::Approx(g0).epsilon(1e-6));
  CHECK(re.grad[1] == doctest::Approx(g1).epsilon(1e-6));
  CHECK(re.grad[2] == doctest::Approx(g1).epsilon(1e-6));
  CHECK(re.grad[0] == doctest::Approx(2.4953e-6).epsilon(1e-4));
  CHECK(re.grad[1] == doctest::Approx(-1.2477e-6).epsilon(1e-4));
}

TEST_CASE("self_distillation_loss: the forms agree away from saturation") {
  auto z = Tensor<double>::from_vector({0.3, -0.2, 0.5, 1.0, 0.1, -0.4}, Shape{2, 3});
  auto v = Tensor<double>::from_vector({1.0, 0.0, -1.0, 0.2, 0.4, 0.6}, Shape{2, 3});
  auto y = Tensor<int64_t>::from_vector({2, 0}, Shape{2});
  double a = self_distillation_loss(z, v, y, 0.4, 4.0, SelfDistillForm::exact).item();
  double b = self_distillation_loss(z, v, y, 0.4, 4.0, SelfDistillForm::reference_eps).item();
  CHECK(a == doctest::Approx(b).epsilon(1e-7));
  CHECK(a != b);
}
