// metrics/calibration.hpp — accuracy, negative log-likelihood and expected calibration error.
//
// All functions take predicted probabilities p [N, C] (rows sum to 1; use softmax(logits)) and
// integer labels y [N], and return plain numbers (no graph). ECE uses equal-width confidence bins
// over (0, 1] on the top-class probability, as Guo et al. 2017 and the self-distillation reference:
//     ECE = Σ_b (n_b / N) · |acc_b − conf_b|
// `reliability` returns the per-bin data a reliability diagram plots.
// `predictive_diversity` measures how a prediction spreads its mass over the wrong classes, and
// `fit_temperature` fits the temperature-scaling baseline (Guo et al. 2017) on held-out logits.
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

// Predictive diversity (Zhang & Sabuncu 2020 relate self-distillation's gains to "the diversity
// in teacher predictions"; the definition used here, since the paper's own could not be read:)
// the mean over examples of the entropy, in nats, of the non-target probabilities renormalised
// to sum to 1:  q_k = p_k / (1 − p_y) for k ≠ y,  H_i = −Σ_{k≠y} q_k log q_k.  0 when all the
// wrong-class mass sits on one class, log(C − 1) when it is uniform (label smoothing's target).
// Rows whose non-target mass is below 1e-30 (a saturated prediction) count as 0.
template <class T>
double predictive_diversity(const Tensor<T>& probs, const Tensor<int64_t>& labels) {
  detail::check_probs(probs, labels, "predictive_diversity");
  const int64_t N = probs.shape()[0], C = probs.shape()[1];
  check(C >= 2, "predictive_diversity", "needs at least 2 classes, got ", probs.shape());
  auto p = probs.to_vector();
  auto y = labels.to_vector();
  double total = 0;
  for (int64_t i = 0; i < N; ++i) {
    check(y[i] >= 0 && y[i] < C, "predictive_diversity", "label ", y[i], " out of range [0, ", C,
          ")");
    double rest = 0;
    for (int64_t k = 0; k < C; ++k)
      if (k != y[i]) rest += double(p[i * C + k]);
    if (rest < 1e-30) continue;
    double h = 0;
    for (int64_t k = 0; k < C; ++k) {
      const double q = double(p[i * C + k]) / rest;
      if (k != y[i] && q > 0) h -= q * std::log(q);
    }
    total += h;
  }
  return N ? total / double(N) : 0.0;
}

// Temperature scaling: the T > 0 that minimises the mean NLL of softmax(logits / T) on held-out
// logits [N, C] with labels [N]. The NLL is convex in β = 1/T (log-sum-exp of β·z minus β·z_y),
// so a golden-section search over β ∈ [1/t_max, 1/t_min] finds the minimum (to ~1e-6 relative in
// β); computed in double. Returns T.
template <class T>
double fit_temperature(const Tensor<T>& logits, const Tensor<int64_t>& labels, double t_min = 0.05,
                       double t_max = 20.0) {
  detail::check_probs(logits, labels, "fit_temperature");
  check(t_min > 0 && t_max > t_min, "fit_temperature", "need 0 < t_min < t_max, got ", t_min,
        " and ", t_max);
  const int64_t N = logits.shape()[0], C = logits.shape()[1];
  check(N > 0, "fit_temperature", "no examples");
  auto z = logits.to_vector();
  auto y = labels.to_vector();
  for (int64_t i = 0; i < N; ++i)
    check(y[i] >= 0 && y[i] < C, "fit_temperature", "label ", y[i], " out of range [0, ", C, ")");
  auto nll = [&](double beta) {  // mean −log softmax(β z)_y, stable
    double s = 0;
    for (int64_t i = 0; i < N; ++i) {
      const T* r = z.data() + i * C;
      double m = -INFINITY;
      for (int64_t k = 0; k < C; ++k) m = std::max(m, beta * double(r[k]));
      double e = 0;
      for (int64_t k = 0; k < C; ++k) e += std::exp(beta * double(r[k]) - m);
      s += m + std::log(e) - beta * double(r[y[i]]);
    }
    return s / double(N);
  };
  const double g = (std::sqrt(5.0) - 1) / 2;
  double a = 1 / t_max, b = 1 / t_min;
  double c = b - g * (b - a), d = a + g * (b - a), fc = nll(c), fd = nll(d);
  for (int it = 0; it < 200 && (b - a) > 1e-7 * b; ++it) {
    if (fc < fd) {
      b = d, d = c, fd = fc;
      c = b - g * (b - a), fc = nll(c);
    } else {
      a = c, c = d, fc = fd;
      d = a + g * (b - a), fd = nll(d);
    }
  }
  return 2 / (a + b);
}

}  // namespace distillery
