// examples/dpd_common.hpp — what examples/dpd.cpp and examples/dpd_mpi.cpp share: the environment
// factory (--env), one run of a single learner or a DPD pair with progress and its result.
#pragma once
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <distillery/io/cli.hpp>
#include <distillery/rl/dpd.hpp>
#include <distillery/rl/pendulum.hpp>
#include <distillery/rl/ppo.hpp>
#include <distillery/rl/td3.hpp>
#ifdef DISTILLERY_HAS_MUJOCO
#include <distillery/rl/mujoco_env.hpp>
#endif

namespace dpd_example {
using namespace distillery;
using namespace distillery::rl;

inline EnvFactory make_env_factory(const std::string& name, const std::string& model_dir) {
  if (name == "pendulum") return [] { return std::unique_ptr<Env>(new Pendulum()); };
#ifdef DISTILLERY_HAS_MUJOCO
  MujocoTask task = mujoco_task_from_name(name);
  return [task, model_dir] { return make_mujoco_env(task, model_dir); };
#else
  (void)model_dir;
  fail("dpd", "unknown --env '", name, "': this build has only 'pendulum' (MuJoCo was not found "
       "at configure time; scripts/install-deps.sh --rl installs it)");
#endif
}

struct RunResult {
  std::vector<double> curve;  // windowed return (mean over the run's learners) at each checkpoint
  std::vector<std::vector<double>> learner_curves;
  double final_return = 0, max_return = 0, best_learner_final = 0, seconds = 0, steps_per_s = 0;
  int64_t steps = 0, episodes = 0;
};

template <class Learner, class MakeLearner>
RunResult run_one(MakeLearner make, bool dpd, uint64_t seed, int64_t total, int64_t log_every,
                  const DpdOptions& opts, size_t window, const std::string& label) {
  std::unique_ptr<Learner> a = make(seed), b;
  if (dpd) b = make(seed + 10000);
  std::vector<Learner*> ls{a.get()};
  if (b) ls.push_back(b.get());
  RunResult r;
  r.learner_curves.resize(ls.size());
  std::vector<double> best(ls.size(), -1e300);
  int64_t next_log = log_every;
  Progress prog(label, total, 5.0);
  auto t0 = std::chrono::steady_clock::now();
  auto total_steps = [&] {
    int64_t s = 0;
    for (auto* l : ls) s += l->steps();
    return s;
  };
  auto record = [&] {
    double m = 0;
    for (size_t i = 0; i < ls.size(); ++i) {
      double v = ls[i]->env().recent_return(window);
      r.learner_curves[i].push_back(v);
      if (std::isfinite(v)) best[i] = std::max(best[i], v);
      m += v;
    }
    r.curve.push_back(m / double(ls.size()));
  };
  dpd_train(*a, b.get(), total, opts, [&](int, Learner&) {
    const int64_t s = total_steps();
    while (s >= next_log && next_log <= total) {
      record();
      next_log += log_every;
    }
    char extra[160];
    std::snprintf(extra, sizeof extra, "return(last %zu) %s%.1f%s", window,
                  ls.size() > 1 ? "A " : "", ls[0]->env().recent_return(window),
                  ls.size() > 1 ? "" : "");
    std::string e = extra;
    if (ls.size() > 1) {
      std::snprintf(extra, sizeof extra, "  B %.1f", ls[1]->env().recent_return(window));
      e += extra;
    }
    prog.update(std::min(s, total), e);
  });
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.steps = total_steps();
  r.steps_per_s = double(r.steps) / r.seconds;
  r.best_learner_final = -1e300;
  for (size_t i = 0; i < ls.size(); ++i) {
    const double f = ls[i]->env().recent_return(window);
    r.final_return += f / double(ls.size());
    r.max_return += best[i] / double(ls.size());
    r.best_learner_final = std::max(r.best_learner_final, f);
    r.episodes += int64_t(ls[i]->env().episode_returns().size());
  }
  return r;
}

}  // namespace dpd_example
