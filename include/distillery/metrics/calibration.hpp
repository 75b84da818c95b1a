// metrics/calibration.hpp — accuracy, negative log-likelihood and expected calibration error.
//
// All functions take predicted probabilities p [N, C] (rows sum to 1; use softmax(logits)) and
// integer labels y [N], and return plain numbers (no graph). ECE uses equal-width confidence bins
// over (0, 1] on the top-class probability, as Guo et al. 2017 and the self-distillation reference:
//     ECE = Σ_b (n_b / N) · |acc_b − conf_b|
// `reliability` returns the per-bin data a reliability diagram plots.
//
//   auto p = softmax(logits, 1);
//   double e = expected_calibration_error(p, y, 15);
#pragma once
#include <cmath>
#include <vector>

#include "../ops/inplace.hpp"
#include "../ops/loss.hpp"

namespace distillery {

struct ReliabilityBin {
  double lower = 0, upper = 0;  // bin edges (lower, upper]
  int64_t count = 0;
  double accuracy = 0, confidence = 0;  // mean over the bin (0 when empty)
};

namespace detail {
template <class T>
void check_probs(const Tensor<T>& p, const Tensor<int64_t>& y, const char* op) {
  check(p.dim() == 2 && y.dim() == 1 && y.shape()[0] == p.shape()[0], op,
        "expected probabilities [N, C] and labels [N], got ", p.shape(), " and ", y.shape());
}
}  // namespace detail

template <class T>
std::vector<ReliabilityBin> reliability(const Tensor<T>& probs, const Tensor<int64_t>& labels,
                                        int bins = 15) {
  detail::check_probs(probs, labels, "reliability");
  check(bins > 0, "reliability", "bins must be positive, got ", bins);
  const int64_t N = probs.shape()[0], C = probs.shape()[1];
  auto p = probs.to_vector();
  auto y = labels.to_vector();
  std::vector<ReliabilityBin> out(bins);
  for (int b = 0; b < bins; ++b) {
    out[b].lower = double(b) / bins;
    out[b].upper = double(b + 1) / bins;
  }
  for (int64_t i = 0; i < N; ++i) {
    const T* row = p.data() + i * C;
    int64_t arg = 0;
    for (int64_t c = 1; c < C; ++c)
      if (row[c] > row[arg]) arg = c;
    double conf = row[arg];
    int b = std::min(bins - 1, std::max(0, int(std::ceil(conf * bins)) - 1));
    out[b].count += 1;
    out[b].accuracy += (arg == y[i]) ? 1.0 : 0.0;
    out[b].confidence += conf;
  }
  for (auto& b : out)
    if (b.count) {
      b.accuracy /= double(b.count);
      b.confidence /= double(b.count);
    }
  return out;
}

template <class T>
double expected_calibration_error(const Tensor<T>& probs, const Tensor<int64_t>& labels,
                                  int bins = 15) {
  auto rb = reliability(probs, labels, bins);
  int64_t n = 0;
  double e = 0;
  for (const auto& b : rb) {
    n += b.count;
    e += double(b.count) * std::fabs(b.accuracy - b.confidence);
  }
  return n ? e / double(n) : 0.0;
}

// Mean −log p(y_i); probabilities are clamped at 1e-12 to keep it finite.
template <class T>
double negative_log_likelihood(const Tensor<T>& probs, const Tensor<int64_t>& labels) {
  detail::check_probs(probs, labels, "negative_log_likelihood");
  const int64_t N = probs.shape()[0], C = probs.shape()[1];
  auto p = probs.to_vector();
  auto y = labels.to_vector();
  double s = 0;
  for (int64_t i = 0; i < N; ++i) {
    check(y[i] >= 0 && y[i] < C, "negative_log_likelihood", "label ", y[i], " out of range");
    s -= std::log(std::max<double>(p[i * C + y[i]], 1e-12));
  }
  return N ? s / double(N) : 0.0;
}

template <class T>
double accuracy(const Tensor<T>& scores, const Tensor<int64_t>& labels) {
  detail::check_probs(scores, labels, "accuracy");
  auto pred = argmax(scores.detach(), 1).to_vector();
  auto y = labels.to_vector();
  int64_t c = 0;
  for (size_t i = 0; i < y.size(); ++i) c += pred[i] == y[i];
  return y.empty() ? 0.0 : double(c) / double(y.size());
}

}  // namespace distillery
