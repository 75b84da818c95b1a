// dpd — Dual Policy Distillation (Lai et al., IJCAI 2020; papers.md §4, papers-verified §5;
// methods/dpd.hpp) against the single learner and two independent learners on continuous
// control: Pendulum (written directly) and, when MuJoCo is found at configure time, the gym
// locomotion tasks (rl/mujoco_env.hpp).
//
//   build/examples/dpd --algo ppo --env halfcheetah --dpd all --steps 1000000 --seeds 5
//       --json out/dpd/ppo_halfcheetah.json                      (one command line)
//
// --variant paper (default): Algorithm 1 with Eq. 11's weights exp(α ξ), ξ = V_peer − V_own in
// raw return units, a separate distillation Adam per learner (PPO lr 1e-5, batch 256; DDPG/TD3
// lr 1e-4, batch 64) after every RL update, on the peer's 1000 newest states. --variant code:
// the reference implementation's choices (methods/dpd.hpp lists them); single flags override.
// --dpd: single | indep | dpd | both | all (examples/dpd_common.hpp describes the modes and
// the reported numbers). --steps counts the environment steps of all of a run's learners.
// With --json PATH.json: PATH.json (summaries with std and standard error over seeds, curves,
// per-round distillation diagnostics), PATH_curve.csv/png, PATH_distance.csv/png and (for the DPD
// pairs) PATH_diagnostics.csv/png: ESS / batch, fraction of states with ξ > 0, loss drop per step.
// --run-dir DIR keeps each finished run (a rerun reuses it) and lets several processes started
// with the same command share the runs, one core each (examples/dpd_common.hpp, RunStore):
//   for i in 1 2; do build/examples/dpd ... --run-dir out/dpd2/hc --json out/dpd2/hc.json & done
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "dpd_common.hpp"

using namespace dpd_example;

namespace {

int run_dpd(int argc, char** argv) {
  Args args(argc, argv, "dpd: dual policy distillation vs the single learner on continuous control");
  const DpdConfig c = parse_config(args);
  std::printf("dpd: %s on %s, %lld total steps per run, %d seeds, variant %s, α %.3g\n",
              c.algo.c_str(), c.env.c_str(), static_cast<long long>(c.steps), c.seeds,
              c.variant.c_str(), c.opts.alpha);
  const double raw = raw_env_rate(c);
  std::printf("raw environment: %.0f steps per CPU second (random actions, no policy)\n", raw);
  const RunStore store(c);
  // runs[m][k]: mode m, seed seed0 + k; `have` marks the ones this process holds
  std::vector<std::vector<RunResult>> runs(c.modes.size(), std::vector<RunResult>(size_t(c.seeds)));
  std::vector<std::vector<bool>> have(c.modes.size(), std::vector<bool>(size_t(c.seeds)));
  for (int pass = 0; pass < 2; ++pass)  // pass 1: runs that other processes finished meanwhile
    for (size_t m = 0; m < c.modes.size(); ++m)
      for (int k = 0; k < c.seeds; ++k) {
        if (have[m][k]) continue;
        const int seed = c.seed0 + k;
        const std::string label = c.modes[m] + " seed " + std::to_string(seed);
        RunResult& r = runs[m][k];
        const auto run = [&] { return run_one(c, c.modes[m], uint64_t(seed), label); };
        if (!store.obtain(c.modes[m], seed, pass == 0, run, r)) {
          if (pass == 1) std::printf("%s: running in another process\n", label.c_str());
          continue;
        }
        have[m][k] = true;
        std::printf("%s: mean over episodes %.2f  final %.2f  max %.2f  (%.0f episodes, %.0f s, %.0f "
                    "steps/s, %.0f per CPU second)\n", label.c_str(), r.mean_all, r.final_return,
                    r.max_return, r.episodes, r.seconds, r.steps_per_s, r.cpu_steps_per_s);
      }
  for (auto& h : have)
    if (std::find(h.begin(), h.end(), false) != h.end()) {  // the last process to finish reports
      std::printf("dpd: runs are still running in other processes, so no report from this one "
                  "(the last to finish writes it; or run the same command again later)\n");
      return 0;
    }
  report(c, runs, [&](Json& out) { out["raw_env_steps_per_second"] = raw; });
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return run_main(argc, argv, "dpd", run_dpd); }
