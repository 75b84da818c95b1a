// tests/losses/test_ckd_objective.cpp — the reference's logit term (CKD DistillKL): soft
// cross-entropy at T without T² for classification, MSE of T-scaled logits for regression,
// against hand-written formulas; errors name the op and the shapes.
#include <distillery/distillery.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <string>

using namespace distillery;
using namespace distillery::losses;

TEST_CASE("ckd_logit_loss classification = mean over rows of −Σ p_T log q_T (no T², no CE)") {
  Generator gen(31);
  const int64_t N = 5, C = 4;
  const double T = 3.0;
  Tensor<double> z = Tensor<double>::randn({N, C}, gen, 0, 2),
                 v = Tensor<double>::randn({N, C}, gen, 0, 2);
  const auto zv = z.to_vector(), vv = v.to_vector();
  double expect = 0;
  std::vector<double> want(N * C);
  for (int64_t i = 0; i < N; ++i) {
    double zs = 0, zt = 0;
    for (int64_t c = 0; c < C; ++c) {
      zs += std::exp(zv[i * C + c] / T);
      zt += std::exp(vv[i * C + c] / T);
    }
    for (int64_t c = 0; c < C; ++c) {
      const double p = std::exp(vv[i * C + c] / T) / zt, q = std::exp(zv[i * C + c] / T) / zs;
      expect -= p * std::log(q) / N;
      want[i * C + c] = (q - p) / (T * N);  // d/dz of −Σ p log softmax(z/T)
    }
  }
  for (LossPath path : {LossPath::composed, LossPath::automatic}) {
    Tensor<double> x = z.detach().requires_grad_();
    Tensor<double> l = ckd_logit_loss(x, v, T, LogitTask::classification, path);
    CHECK(l.item() == doctest::Approx(expect).epsilon(1e-12));
    const auto g = grad<double>({l}, {x})[0].to_vector();
    for (int64_t k = 0; k < N * C; ++k) CHECK(g[k] == doctest::Approx(want[k]).epsilon(1e-10));
  }
  // Hinton's form (T² KL + CE) is a different objective: not the same number
  Tensor<int64_t> y = Tensor<int64_t>::from_vector({0, 1, 2, 3, 0});
  CHECK(std::abs(kd_with_cross_entropy(z, v, y, 0.5, T, Reduction::batchmean,
                                       TemperatureScale::t_squared)
                     .item() -
                 expect) > 1e-3);
}

TEST_CASE("ckd_logit_loss regression = mean (z/T − v/T)², teacher detached") {
  Generator gen(32);
  const double T = 2.0;
  Tensor<double> z = Tensor<double>::randn({6, 1}, gen), v = Tensor<double>::randn({6, 1}, gen);
  Tensor<double> x = z.detach().requires_grad_(), vt = v.detach().requires_grad_();
  Tensor<double> l = ckd_logit_loss(x, vt, T, LogitTask::regression);
  const auto zv = z.to_vector(), vv = v.to_vector();
  double expect = 0;
  for (size_t k = 0; k < zv.size(); ++k) expect += std::pow((zv[k] - vv[k]) / T, 2) / 6.0;
  CHECK(l.item() == doctest::Approx(expect).epsilon(1e-13));
  auto g = grad<double>({l}, {x})[0].to_vector();
  for (size_t k = 0; k < zv.size(); ++k)
    CHECK(g[k] == doctest::Approx(2 * (zv[k] - vv[k]) / (T * T * 6.0)).epsilon(1e-12));
  // the regression form is the MSE of the scaled logits, i.e. MSE(z, v) / T²
  CHECK(l.item() == doctest::Approx(mse_loss(z, v).item() / (T * T)).epsilon(1e-12));
}

TEST_CASE("ckd_logit_loss errors name the op and the shapes") {
  Tensor<double> a = Tensor<double>::zeros({3, 2}), b = Tensor<double>::zeros({3, 4});
  for (LogitTask task : {LogitTask::classification, LogitTask::regression}) {
    try {
      ckd_logit_loss(a, b, 2.0, task);
      FAIL("no error");
    } catch (const Error& e) {
      const std::string m = e.what();
      CHECK(m.find("[3, 2]") != std::string::npos);
      CHECK(m.find("[3, 4]") != std::string::npos);
      CHECK((m.find("kd_loss") != std::string::npos ||
             m.find("ckd_logit_loss") != std::string::npos));
    }
  }
  CHECK_THROWS_AS(ckd_logit_loss(a, a, 0.0, LogitTask::regression), Error);
}
