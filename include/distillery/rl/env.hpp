// rl/env.hpp — the continuous-control environment interface of the RL learners.
//
//   Env (abstract)
//     obs_dim(), act_dim()              sizes of the observation and action vectors
//     action_low(), action_high()       the box of legal actions [act] (actions outside are clipped
//                                       by the environment, as gym's tasks do)
//     max_episode_steps()               gym's TimeLimit (the step that reaches it is `truncated`)
//     reset(seed) -> obs                reseeds the environment's own Generator, starts an episode
//     reset()     -> obs                a new episode with the generator as it stands
//     step(action [act]) -> Step        {obs, reward, terminated, truncated}
//
// Everything is double precision on the host: the environments are small and the learners copy
// observations into float tensors themselves. `terminated` is a true end of the task (a hopper
// that fell); `truncated` is the time limit (the state is not terminal, learners may bootstrap).
// After either, call reset() before the next step; step() throws otherwise.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "../core/error.hpp"
#include "../core/rng.hpp"

namespace distillery::rl {

struct Step {
  std::vector<double> obs;  // [obs_dim] after the step
  double reward = 0;
  bool terminated = false;  // the task ended (absorbing state)
  bool truncated = false;   // the time limit was reached
};

class Env {
 public:
  virtual ~Env() = default;
  virtual std::string name() const = 0;
  virtual int obs_dim() const = 0;
  virtual int act_dim() const = 0;
  virtual std::vector<double> action_low() const = 0;
  virtual std::vector<double> action_high() const = 0;
  virtual int max_episode_steps() const = 0;

  std::vector<double> reset(uint64_t seed) {
    gen_.seed_(seed);
    return reset();
  }
  std::vector<double> reset() {
    elapsed_ = 0;
    need_reset_ = false;
    return reset_impl(gen_);
  }
  Step step(const std::vector<double>& action) {
    check(!need_reset_, name().c_str(), "step() after the episode ended: call reset() first");
    check(int(action.size()) == act_dim(), name().c_str(), "action has ", action.size(),
          " entries, the environment expects ", act_dim());
    Step s = step_impl(action);
    ++elapsed_;
    if (!s.terminated && elapsed_ >= max_episode_steps()) s.truncated = true;
    need_reset_ = s.terminated || s.truncated;
    return s;
  }
  int elapsed_steps() const { return elapsed_; }

 protected:
  virtual std::vector<double> reset_impl(Generator& gen) = 0;
  virtual Step step_impl(const std::vector<double>& action) = 0;
  // action clipped to [low, high] elementwise
  std::vector<double> clip_action(const std::vector<double>& a) const {
    std::vector<double> lo = action_low(), hi = action_high(), out(a.size());
    for (size_t i = 0; i < a.size(); ++i) out[i] = a[i] < lo[i] ? lo[i] : (a[i] > hi[i] ? hi[i] : a[i]);
    return out;
  }

 private:
  Generator gen_{0};
  int elapsed_ = 0;
  bool need_reset_ = true;
};

using EnvFactory = std::function<std::unique_ptr<Env>()>;

}  // namespace distillery::rl
