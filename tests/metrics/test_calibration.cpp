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
