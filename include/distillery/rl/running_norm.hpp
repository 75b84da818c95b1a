// rl/running_norm.hpp — running mean/variance and the observation / return normalisers of
// OpenAI baselines (VecNormalize, RunningMeanStd), which the DPD reference code uses.
//
//   RunningMeanStd(n)      mean, var [n], count starting at (0, 1, 1e-4); update(batch) merges a
//                          batch's mean/var with Chan et al.'s parallel formula:
//                          δ = μ_b − μ, N = n_a + n_b, μ ← μ + δ n_b / N,
//                          σ² ← (σ²_a n_a + σ²_b n_b + δ² n_a n_b / N) / N
//   ObsNormalizer(n, clip) normalize(x) = clip((x − μ) / √(σ² + 1e-8), ±clip); update() while
//                          training, frozen (update off) for peers' states and evaluation
//   ReturnScaler(n_envs, γ, clip)  VecNormalize's reward scaling: R ← γ R + r per environment,
//                          the running variance of R is updated, r / √(σ²_R + 1e-8) clipped to
//                          ±clip; R ← 0 at episode ends. Only the learner sees scaled rewards;
//                          reported returns are always the raw ones.
#pragma once
#include <algorithm>
#include <cmath>
#include <vector>

#include "../core/error.hpp"

namespace distillery::rl {

class RunningMeanStd {
 public:
  explicit RunningMeanStd(int n = 1) : mean_(n, 0.0), var_(n, 1.0) {}
  int size() const { return int(mean_.size()); }
  // batch: rows of size() values, row-major, `rows` of them
  void update(const double* batch, int rows) {
    const int n = size();
    check(rows > 0, "RunningMeanStd", "update with an empty batch");
    std::vector<double> bm(n, 0.0), bv(n, 0.0);
    for (int r = 0; r < rows; ++r)
      for (int j = 0; j < n; ++j) bm[j] += batch[r * n + j];
    for (int j = 0; j < n; ++j) bm[j] /= rows;
    for (int r = 0; r < rows; ++r)
      for (int j = 0; j < n; ++j) bv[j] += (batch[r * n + j] - bm[j]) * (batch[r * n + j] - bm[j]);
    for (int j = 0; j < n; ++j) bv[j] /= rows;  // population variance, as np.var
    const double na = count_, nb = rows, tot = na + nb;
    for (int j = 0; j < n; ++j) {
      const double d = bm[j] - mean_[j];
      mean_[j] += d * nb / tot;
      var_[j] = (var_[j] * na + bv[j] * nb + d * d * na * nb / tot) / tot;
    }
    count_ = tot;
  }
  void update(const std::vector<double>& row) {
    check(int(row.size()) == size(), "RunningMeanStd", "row has ", row.size(), " values, expected ",
          size());
    update(row.data(), 1);
  }
  const std::vector<double>& mean() const { return mean_; }
  const std::vector<double>& var() const { return var_; }
  double count() const { return count_; }

 private:
  std::vector<double> mean_, var_;
  double count_ = 1e-4;
};

class ObsNormalizer {
 public:
  ObsNormalizer(int n, double clip = 10.0, bool enabled = true) : rms_(n), clip_(clip), on_(enabled) {}
  void update(const std::vector<double>& obs) {
    if (on_) rms_.update(obs);
  }
  std::vector<double> normalize(const std::vector<double>& obs) const {
    if (!on_) return obs;
    check(int(obs.size()) == rms_.size(), "ObsNormalizer", "observation has ", obs.size(),
          " values, expected ", rms_.size());
    std::vector<double> out(obs.size());
    for (size_t j = 0; j < obs.size(); ++j)
      out[j] = std::clamp((obs[j] - rms_.mean()[j]) / std::sqrt(rms_.var()[j] + 1e-8), -clip_, clip_);
    return out;
  }
  const RunningMeanStd& stats() const { return rms_; }
  bool enabled() const { return on_; }

 private:
  RunningMeanStd rms_;
  double clip_;
  bool on_;
};

class ReturnScaler {
 public:
  ReturnScaler(int n_envs, double gamma, double clip = 10.0, bool enabled = true)
      : ret_(n_envs, 0.0), rms_(1), gamma_(gamma), clip_(clip), on_(enabled) {}
  // Scales env i's raw reward; `done` resets its running return after the update.
  double scale(int i, double reward, bool done) {
    if (!on_) return reward;
    ret_[i] = gamma_ * ret_[i] + reward;
    rms_.update(&ret_[i], 1);
    const double r = std::clamp(reward / std::sqrt(rms_.var()[0] + 1e-8), -clip_, clip_);
    if (done) ret_[i] = 0;
    return r;
  }
  // the divisor of scale(): a value learnt on scaled rewards times this is in raw return units
  double scale_factor() const { return on_ ? std::sqrt(rms_.var()[0] + 1e-8) : 1.0; }

 private:
  std::vector<double> ret_;
  RunningMeanStd rms_;
  double gamma_, clip_;
  bool on_;
};

}  // namespace distillery::rl
