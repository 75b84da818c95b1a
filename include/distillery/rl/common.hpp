// rl/common.hpp — small pieces shared by the RL learners.
//
//   orthogonal_init(module, hidden_gain, out_gain, gen)  OpenAI baselines' ortho_init for an MLP:
//       every Linear weight [out, in] gets orthonormal rows (out ≤ in) or columns (out > in) from a
//       Gaussian matrix by Gram–Schmidt, times hidden_gain (√2), the last layer's times out_gain
//       (0.01 for a policy mean, 1 for a value); biases 0
//   ObsMemory(capacity, dim)     ring buffer of raw observations (DPD's peer-state memory);
//       sample(n, gen) draws n rows uniformly with replacement; sample(n, gen, recent) from the
//       `recent` newest rows only (0 or ≥ size(): all)
//   rows_to_tensor(flat, rows, cols)  host doubles -> float tensor [rows, cols]
//   mean_std(xs)                 mean and sample standard deviation (0 for fewer than 2 values)
#pragma once
#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "../core/rng.hpp"
#include "../nn/module.hpp"
#include "../ops/inplace.hpp"

namespace distillery::rl {

// Fills w [out, in] with a scaled (semi-)orthogonal matrix drawn from gen.
template <class T>
void orthogonal_(const Tensor<T>& w, double gain, Generator& gen) {
  check(w.dim() == 2, "orthogonal_", "expects a matrix, got ", w.dim(), " dimensions");
  const int64_t rows = w.shape()[0], cols = w.shape()[1];
  const bool by_rows = rows <= cols;
  const int64_t nvec = by_rows ? rows : cols, len = by_rows ? cols : rows;
  std::vector<double> v(static_cast<size_t>(nvec * len));
  for (auto& x : v) x = gen.normal();
  for (int64_t i = 0; i < nvec; ++i) {  // modified Gram–Schmidt, twice for stability
    double* vi = &v[size_t(i * len)];
    for (int pass = 0; pass < 2; ++pass)
      for (int64_t j = 0; j < i; ++j) {
        const double* vj = &v[size_t(j * len)];
        double d = 0;
        for (int64_t k = 0; k < len; ++k) d += vi[k] * vj[k];
        for (int64_t k = 0; k < len; ++k) vi[k] -= d * vj[k];
      }
    double n = 0;
    for (int64_t k = 0; k < len; ++k) n += vi[k] * vi[k];
    n = std::sqrt(n);
    for (int64_t k = 0; k < len; ++k) vi[k] /= n;
  }
  std::vector<T> out(static_cast<size_t>(rows * cols));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      out[size_t(r * cols + c)] = T(gain * (by_rows ? v[size_t(r * len + c)] : v[size_t(c * len + r)]));
  NoGradGuard ng;
  assign_(w, Tensor<T>::from_vector(out, w.shape(), w.device()));
}

// baselines' ortho_init over every parameter of a module made of MLPs: weights (dim 2) get
// orthogonal_ with hidden_gain, the last weight with out_gain; biases (names ending in "bias")
// are zeroed. Other parameters (a log-std) are left alone.
template <class T>
void orthogonal_init(nn::Module<T>& m, double hidden_gain, double out_gain, Generator& gen) {
  auto named = m.named_parameters();
  int last = -1;
  for (int i = 0; i < int(named.size()); ++i)
    if (named[size_t(i)].second.dim() == 2) last = i;
  for (int i = 0; i < int(named.size()); ++i) {
    const auto& [name, p] = named[size_t(i)];
    if (p.dim() == 2) orthogonal_(p, i == last ? out_gain : hidden_gain, gen);
    else if (name.size() >= 4 && name.compare(name.size() - 4, 4, "bias") == 0) {
      NoGradGuard ng;
      assign_(p, Tensor<T>::zeros(p.shape(), p.device()));
    }
  }
}

class ObsMemory {
 public:
  ObsMemory(int64_t capacity, int dim) : cap_(capacity), dim_(dim) {
    check(capacity > 0 && dim > 0, "ObsMemory", "capacity ", capacity, " and dim ", dim,
          " must be positive");
    data_.resize(static_cast<size_t>(capacity * dim));
  }
  void push(const std::vector<double>& obs) {
    check(int(obs.size()) == dim_, "ObsMemory", "observation has ", obs.size(), " values, expected ",
          dim_);
    std::copy(obs.begin(), obs.end(), data_.begin() + next_ * dim_);
    next_ = (next_ + 1) % cap_;
    if (size_ < cap_) ++size_;
  }
  int64_t size() const { return size_; }
  int dim() const { return dim_; }
  // n rows drawn uniformly with replacement -> flat [n * dim]
  std::vector<double> sample(int n, Generator& gen, int64_t recent = 0) const {
    check(size_ > 0, "ObsMemory::sample", "the memory is empty");
    const int64_t pool = recent > 0 ? std::min(recent, size_) : size_;
    std::vector<double> out(static_cast<size_t>(n) * size_t(dim_));
    for (int i = 0; i < n; ++i) {
      const int64_t r = ((next_ - 1 - gen.randint(pool)) % cap_ + cap_) % cap_;  // newest first
      std::copy(data_.begin() + r * dim_, data_.begin() + (r + 1) * dim_, out.begin() + int64_t(i) * dim_);
    }
    return out;
  }

 private:
  int64_t cap_;
  int dim_;
  std::vector<double> data_;
  int64_t next_ = 0, size_ = 0;
};

template <class T = float>
Tensor<T> rows_to_tensor(const std::vector<double>& flat, int64_t rows, int64_t cols) {
  check(int64_t(flat.size()) == rows * cols, "rows_to_tensor", flat.size(), " values for [", rows,
        ", ", cols, "]");
  std::vector<T> v(flat.begin(), flat.end());
  return Tensor<T>::from_vector(v, Shape{rows, cols});
}

inline std::pair<double, double> mean_std(const std::vector<double>& xs) {
  if (xs.empty()) return {std::nan(""), std::nan("")};
  double m = 0;
  for (double x : xs) m += x;
  m /= double(xs.size());
  if (xs.size() < 2) return {m, 0.0};
  double s = 0;
  for (double x : xs) s += (x - m) * (x - m);
  return {m, std::sqrt(s / double(xs.size() - 1))};
}

}  // namespace distillery::rl
