#include <doctest/doctest.h>

#include <distillery/metrics/calibration.hpp>

using namespace distillery;

TEST_CASE("calibration: ECE, NLL and accuracy on hand-computed cases") {
  // 4 samples, 2 classes. confidences 0.9 (right), 0.8 (wrong), 0.6 (right), 0.55 (right)
  auto p = Tensor<double>::from_vector({0.9, 0.1, 0.2, 0.8, 0.6, 0.4, 0.45, 0.55}, Shape{4, 2});
  auto y = Tensor<int64_t>::from_vector({0, 0, 0, 1}, Shape{4});
  CHECK(accuracy(p, y) == doctest::Approx(0.75));
  double nll = -(std::log(0.9) + std::log(0.2) + std::log(0.6) + std::log(0.55)) / 4;
  CHECK(negative_log_likelihood(p, y) == doctest::Approx(nll));
  // 10 bins: 0.9 -> bin 8 (0.8,0.9], 0.8 -> bin 7, 0.6 -> bin 5, 0.55 -> bin 5
  auto rb = reliability(p, y, 10);
  CHECK(rb[8].count == 1);
  CHECK(rb[7].count == 1);
  CHECK(rb[5].count == 2);
  CHECK(rb[5].confidence == doctest::Approx(0.575));
  double ece = (1 * std::fabs(1 - 0.9) + 1 * std::fabs(0 - 0.8) + 2 * std::fabs(1 - 0.575)) / 4;
  CHECK(expected_calibration_error(p, y, 10) == doctest::Approx(ece));
}

TEST_CASE("calibration: a perfectly calibrated predictor has ECE 0 in the limit of its bins") {
  // every sample predicted with confidence 1 and correct
  auto p = Tensor<double>::from_vector({1, 0, 0, 1, 1, 0}, Shape{3, 2});
  auto y = Tensor<int64_t>::from_vector({0, 1, 0}, Shape{3});
  CHECK(expected_calibration_error(p, y, 15) == doctest::Approx(0.0));
  CHECK_THROWS_AS(expected_calibration_error(p, Tensor<int64_t>::zeros({2}), 15), Error);
}

TEST_CASE("calibration: predictive diversity is the entropy of the renormalised wrong classes") {
  // row 0: wrong mass uniform over 3 classes -> log 3; row 1: all wrong mass on one class -> 0;
  // row 2: wrong mass 0.1, 0.3 (label 3, class 2 has 0) -> H(0.25, 0.75)
  auto p = Tensor<double>::from_vector({0.4, 0.2, 0.2, 0.2, 0.0, 0.5, 0.5, 0.0, 0.1, 0.3, 0.0, 0.6},
                                       Shape{3, 4});
  auto y = Tensor<int64_t>::from_vector({0, 1, 3}, Shape{3});
  const double h2 = -(0.25 * std::log(0.25) + 0.75 * std::log(0.75));
  CHECK(predictive_diversity(p, y) == doctest::Approx((std::log(3.0) + 0.0 + h2) / 3));
  // the label matters: the same row with another label renormalises other classes
  auto y2 = Tensor<int64_t>::from_vector({1, 1, 3}, Shape{3});
  const double h0 = -(0.4 / 0.8 * std::log(0.5) + 2 * 0.25 * std::log(0.25));
  CHECK(predictive_diversity(p, y2) == doctest::Approx((h0 + 0.0 + h2) / 3));
  // a saturated row (no wrong mass) counts as 0, not NaN
  auto sat = Tensor<double>::from_vector({1, 0, 0}, Shape{1, 3});
  CHECK(predictive_diversity(sat, Tensor<int64_t>::zeros({1})) == 0.0);
  CHECK_THROWS_AS(predictive_diversity(p, Tensor<int64_t>::full({3}, 4)), Error);
}

TEST_CASE("calibration: fit_temperature recovers the temperature that generated the labels") {
  // labels drawn from softmax(z / 2): the NLL-optimal temperature of the logits z is about 2
  Generator g(7);
  const int64_t N = 20000, C = 5;
  Tensor<double> z = mul_scalar(Tensor<double>::randn({N, C}, g), 3.0);
  auto zv = z.to_vector();
  std::vector<int64_t> yv(N);
  auto u = Tensor<double>::rand({N}, g).to_vector();
  for (int64_t i = 0; i < N; ++i) {
    double m = -1e300, s = 0;
    for (int64_t k = 0; k < C; ++k) m = std::max(m, zv[i * C + k] / 2);
    std::vector<double> q(C);
    for (int64_t k = 0; k < C; ++k) s += q[k] = std::exp(zv[i * C + k] / 2 - m);
    double acc = 0;
    yv[i] = C - 1;
    for (int64_t k = 0; k < C; ++k)
      if ((acc += q[k] / s) >= u[i]) {
        yv[i] = k;
        break;
      }
  }
  auto y = Tensor<int64_t>::from_vector(yv, Shape{N});
  const double t = fit_temperature(z, y);
  CHECK(t == doctest::Approx(2.0).epsilon(0.05));
  // it is a minimum: NLL at t is below the NLL at t·0.9, t·1.1 and 1
  auto nll_at = [&](double tt) {
    return negative_log_likelihood(softmax(mul_scalar(z, 1 / tt), 1), y);
  };
  CHECK(nll_at(t) < nll_at(0.9 * t));
  CHECK(nll_at(t) < nll_at(1.1 * t));
  CHECK(nll_at(t) < nll_at(1.0));
  CHECK_THROWS_AS(fit_temperature(z, y, 2.0, 1.0), Error);
}
