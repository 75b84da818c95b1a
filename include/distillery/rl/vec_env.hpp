// rl/vec_env.hpp — several seeded copies of one environment, reset automatically.
//
//   VecEnv venv(factory, n);
//   auto obs = venv.reset(seed);          // copy i is seeded with mix(seed, i)   -> n × [obs]
//   VecStep s = venv.step(actions);       // n × [act]
//
// After a copy's episode ends (terminated or truncated) it is reset at once: s.obs[i] is then the
// first observation of the next episode and s.final_obs[i] the last one of the finished episode
// (learners bootstrap truncated episodes from it). Completed episodes' raw returns and lengths
// are appended to episode_returns() / episode_lengths(); total_steps() counts env steps over all
// copies. Same seed -> same episodes, bit for bit.
#pragma once
#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "env.hpp"

namespace distillery::rl {

struct VecStep {
  std::vector<std::vector<double>> obs, final_obs;  // n × [obs]; final_obs only where done
  std::vector<double> rewards;                      // raw rewards [n]
  std::vector<char> terminated, truncated;          // [n]
};

class VecEnv {
 public:
  VecEnv(const EnvFactory& make, int n) {
    check(n >= 1, "VecEnv", "need at least one environment copy, got ", n);
    for (int i = 0; i < n; ++i) envs_.push_back(make());
    ret_.assign(n, 0.0);
    len_.assign(n, 0);
  }
  int size() const { return int(envs_.size()); }
  Env& env(int i) { return *envs_.at(static_cast<size_t>(i)); }
  int obs_dim() const { return envs_[0]->obs_dim(); }
  int act_dim() const { return envs_[0]->act_dim(); }

  // Seed of copy i: a splitmix-style mix so that nearby seeds give unrelated streams.
  static uint64_t copy_seed(uint64_t seed, int i) {
    uint64_t z = seed * 0x9E3779B97F4A7C15ull + uint64_t(i) + 1;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  std::vector<std::vector<double>> reset(uint64_t seed) {
    std::vector<std::vector<double>> obs;
    for (int i = 0; i < size(); ++i) {
      obs.push_back(envs_[i]->reset(copy_seed(seed, i)));
      ret_[i] = 0;
      len_[i] = 0;
    }
    return obs;
  }
  VecStep step(const std::vector<std::vector<double>>& actions) {
    check(int(actions.size()) == size(), "VecEnv::step", "got ", actions.size(), " actions for ",
          size(), " environments");
    VecStep s;
    const int n = size();
    s.obs.resize(n);
    s.final_obs.resize(n);
    s.rewards.resize(n);
    s.terminated.resize(n);
    s.truncated.resize(n);
    for (int i = 0; i < n; ++i) {
      Step r = envs_[i]->step(actions[i]);
      s.rewards[i] = r.reward;
      s.terminated[i] = r.terminated;
      s.truncated[i] = r.truncated;
      ret_[i] += r.reward;
      ++len_[i];
      if (r.terminated || r.truncated) {
        returns_.push_back(ret_[i]);
        lengths_.push_back(len_[i]);
        ret_[i] = 0;
        len_[i] = 0;
        s.final_obs[i] = std::move(r.obs);
        s.obs[i] = envs_[i]->reset();
      } else {
        s.obs[i] = std::move(r.obs);
      }
    }
    steps_ += n;
    return s;
  }
  const std::vector<double>& episode_returns() const { return returns_; }
  const std::vector<int64_t>& episode_lengths() const { return lengths_; }
  int64_t total_steps() const { return steps_; }
  // Mean raw return of the last k completed episodes (NaN when none has finished yet).
  double recent_return(size_t k = 100) const {
    if (returns_.empty()) return std::nan("");
    const size_t m = std::min(k, returns_.size());
    double s = 0;
    for (size_t i = returns_.size() - m; i < returns_.size(); ++i) s += returns_[i];
    return s / double(m);
  }

 private:
  std::vector<std::unique_ptr<Env>> envs_;
  std::vector<double> ret_;
  std::vector<int64_t> len_;
  std::vector<double> returns_;
  std::vector<int64_t> lengths_;
  int64_t steps_ = 0;
};

}  // namespace distillery::rl
