// dpd — Dual Policy Distillation (Lai et al., IJCAI 2020; papers.md §4, papers-verified §5)
// against the single learner on continuous control: Pendulum (written directly) and, when
// MuJoCo is found at configure time, the gym locomotion tasks (rl/mujoco_env.hpp).
//
//   build/examples/dpd --algo ppo --env pendulum --dpd both --steps 400000 --seeds 3
//       --json out/dpd/ppo_pendulum.json                          (one command line)
//
// --dpd on: two learners (seeds s and s + 10000 for their environments, networks and sampling),
// alternating rounds; each imitates its peer as rl/dpd.hpp describes (PPO: after every 5th
// update, 512 peer states, β 0.5; TD3/DDPG: after every train step, 64 states). --dpd off: one
// learner. --dpd both: the two, seed by seed. --steps counts the environment steps of both
// learners together (the reference's curves), so both modes get the same total budget.
// Reported per run: the mean raw return of the last --window training episodes at the end
// ("final"), its maximum over the run ("max"), and environment steps per second of the whole
// training loop. A DPD run's value is the mean over its two learners. With --json PATH.json it
// writes PATH.json and the learning curves PATH_curve.csv / PATH_curve.png (mean ± std over seeds
// of the windowed return against total steps).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "dpd_common.hpp"

#include <distillery/io/atomic_file.hpp>
#include <distillery/io/cli.hpp>
#include <distillery/io/json.hpp>
#include <distillery/io/plot.hpp>
#include <distillery/rl/dpd.hpp>
#include <distillery/rl/pendulum.hpp>
#include <distillery/rl/ppo.hpp>
#include <distillery/rl/td3.hpp>
#ifdef DISTILLERY_HAS_MUJOCO
#include <distillery/rl/mujoco_env.hpp>
#endif

using namespace distillery;
using namespace distillery::rl;
using namespace dpd_example;

namespace {

Json stats_json(const std::vector<double>& xs) {
  auto [m, s] = mean_std(xs);
  Json j = Json::object();
  j["mean"] = m;
  j["std"] = s;
  j["values"] = xs;
  return j;
}

}  // namespace

int program(int argc, char** argv) {
  Args args(argc, argv, "dpd: dual policy distillation vs the single learner on continuous control");
  const std::string algo = args.get<std::string>("algo", "ppo", "ppo | td3 | ddpg");
  const std::string env = args.get<std::string>(
      "env", "pendulum", "pendulum | swimmer | halfcheetah | hopper | walker2d");
  const std::string dpd = args.get<std::string>("dpd", "both", "on | off | both");
  const int64_t steps = args.get<int64_t>("steps", 200000, "environment steps per run (both learners)");
  const int seeds = args.get<int>("seeds", 3, "seeds per mode (0, 1, ... + --seed0)");
  const int seed0 = args.get<int>("seed0", 0, "first seed");
  const int64_t log_every_arg = args.get<int64_t>("log-every", 0, "curve point every N total steps (0: steps/50)");
  const int window = args.get<int>("window", 100, "episodes in the windowed return (reference: 100)");
  const std::string sign = args.get<std::string>("sign", "paper",
      "paper: Δ = V_peer − V_own (imitate where the peer is better); code: the PPO code's own − peer");
  const double beta = args.get<double>("beta", algo == "ppo" ? 0.5 : 1.0,
      "confidence temperature β (PPO reference 0.5, DDPG reference 1)");
  const int dpd_every = args.get<int>("dpd-every", 5, "PPO: imitate after every N-th update");
  const int dpd_batch = args.get<int>("dpd-batch", algo == "ppo" ? 512 : 64, "peer states per imitation step");
  // PPO
  PpoConfig pc;
  pc.n_envs = args.get<int>("envs", 1, "PPO: environment copies per learner");
  pc.n_steps = args.get<int>("nsteps", 2048, "PPO: steps per copy and update");
  pc.n_minibatches = args.get<int>("minibatches", 64, "PPO: minibatches per epoch (reference 64)");
  pc.n_epochs = args.get<int>("epochs", 10, "PPO: epochs per update");
  pc.lr = args.get<double>("lr", algo == "ppo" ? 3e-4 : 3e-4,
      "learning rate (PPO reference 5e-5 for 10M steps; 3e-4 is baselines' MuJoCo value)");
  pc.gamma = args.get<double>("gamma", 0.99, "discount");
  pc.lam = args.get<double>("lam", 0.95, "PPO: GAE λ");
  pc.lr_anneal = args.get<bool>("lr-anneal", false, "PPO: linear learning-rate decay to 0");
  pc.dpd_batch = dpd_batch;
  // TD3 / DDPG
  Td3Config tc;
  tc.start_steps = args.get<int>("start-steps", 10000, "TD3/DDPG: uniform random actions first");
  tc.batch = args.get<int>("batch", 64, "TD3/DDPG: minibatch (reference DDPG 64; TD3 paper 256)");
  const int64_t width = args.get<int64_t>("hidden", 64, "TD3/DDPG: hidden width (reference 64; TD3 paper 256)");
  tc.hidden.assign(size_t(args.get<int>("layers", 2, "TD3/DDPG: hidden layers (paper's DDPG: 3)")), width);
  tc.lr = pc.lr;
  tc.gamma = pc.gamma;
  tc.dpd_batch = dpd_batch;
  const std::string json = args.get<std::string>("json", "", "write results (and curves) here");
  const std::string model_dir = args.get<std::string>("models", "data/mujoco", "MuJoCo XML folder");
  args.finish();
  check_output_path(json);  // before any work: a bad path fails now, not at the end

  check(algo == "ppo" || algo == "td3" || algo == "ddpg", "dpd", "--algo must be ppo, td3 or ddpg");
  check(dpd == "on" || dpd == "off" || dpd == "both", "dpd", "--dpd must be on, off or both");
  check(sign == "paper" || sign == "code", "dpd", "--sign must be paper or code");
  check(steps > 0 && seeds > 0 && window > 0, "dpd", "--steps, --seeds, --window must be positive");
  if (algo == "ddpg") tc.ddpg = true;
  const EnvFactory make_env = make_env_factory(env, model_dir);
  DpdOptions opts;
  opts.beta = beta;
  opts.sign = sign == "paper" ? losses::AdvantageSign::peer_minus_own
                              : losses::AdvantageSign::own_minus_peer;
  opts.every = algo == "ppo" ? dpd_every : 1;
  const int64_t log_every = log_every_arg > 0 ? log_every_arg : std::max<int64_t>(1, steps / 50);
  pc.total_updates = steps / (int64_t(pc.n_steps) * pc.n_envs);

  std::vector<std::string> modes;
  if (dpd != "on") modes.push_back("single");
  if (dpd != "off") modes.push_back("dpd");
  std::printf("dpd: %s on %s, %lld total steps per run, %d seeds, modes:", algo.c_str(), env.c_str(),
              static_cast<long long>(steps), seeds);
  for (auto& m : modes) std::printf(" %s", m.c_str());
  std::printf("  (β %.3g, Δ = %s)\n", beta, sign == "paper" ? "V_peer − V_own" : "V_own − V_peer");

  Json out = Json::object();
  out["algo"] = algo;
  out["env"] = env;
  out["steps_per_run"] = steps;
  out["seeds"] = seeds;
  out["seed0"] = seed0;
  out["window"] = window;
  out["beta"] = beta;
  out["sign"] = sign == "paper" ? "peer_minus_own" : "own_minus_peer";
  out["dpd_batch"] = dpd_batch;
  out["dpd_every"] = opts.every;
  out["lr"] = pc.lr;
  out["gamma"] = pc.gamma;
  if (algo == "ppo") {
    Json p = Json::object();
    p["n_envs"] = pc.n_envs;
    p["n_steps"] = pc.n_steps;
    p["n_minibatches"] = pc.n_minibatches;
    p["n_epochs"] = pc.n_epochs;
    p["lam"] = pc.lam;
    p["lr_anneal"] = pc.lr_anneal;
    out["ppo"] = p;
  } else {
    Json p = Json::object();
    p["start_steps"] = tc.start_steps;
    p["batch"] = tc.batch;
    p["hidden"] = tc.hidden;
    p["ddpg"] = tc.ddpg;
    out["td3"] = p;
  }
  LinePlot plot;
  plot.title = algo + " on " + env + " (mean +- std over seeds)";
  plot.xlabel = "total steps";
  plot.ylabel = "return (last " + std::to_string(window) + " episodes)";
  for (int64_t s = log_every; s <= steps; s += log_every) plot.x.push_back(double(s));
  Json modes_json = Json::object();
  for (const auto& mode : modes) {
    std::vector<RunResult> runs;
    for (int k = 0; k < seeds; ++k) {
      const uint64_t seed = uint64_t(seed0 + k);
      const std::string label = mode + " seed " + std::to_string(seed);
      RunResult r;
      if (algo == "ppo")
        r = run_one<PpoLearner>([&](uint64_t s) { return std::make_unique<PpoLearner>(make_env, pc, s); },
                                mode == "dpd", seed, steps, log_every, opts, size_t(window), label);
      else
        r = run_one<Td3Learner>([&](uint64_t s) { return std::make_unique<Td3Learner>(make_env, tc, s); },
                                mode == "dpd", seed, steps, log_every, opts, size_t(window), label);
      std::printf("%s: final %.2f  max %.2f  (%lld episodes, %.0f s, %.0f steps/s)\n", label.c_str(),
                  r.final_return, r.max_return, static_cast<long long>(r.episodes), r.seconds,
                  r.steps_per_s);
      runs.push_back(std::move(r));
    }
    // the windowed return at half the budget: a single learner there has taken as many steps as
    // each DPD learner at the end (the equal-per-learner comparison next to the paper's equal total)
    size_t half = 0;
    for (size_t c = 0; c < plot.x.size(); ++c)
      if (std::abs(plot.x[c] - 0.5 * double(steps)) < std::abs(plot.x[half] - 0.5 * double(steps))) half = c;
    std::vector<double> fin, mx, best, sps, secs, at_half;
    for (auto& r : runs) {
      if (half < r.curve.size()) at_half.push_back(r.curve[half]);
      fin.push_back(r.final_return);
      mx.push_back(r.max_return);
      best.push_back(r.best_learner_final);
      sps.push_back(r.steps_per_s);
      secs.push_back(r.seconds);
    }
    auto [fm, fs] = mean_std(fin);
    auto [mm, ms] = mean_std(mx);
    auto [hm, hs] = mean_std(at_half);
    std::printf("== %s %s %s: final return %.2f ± %.2f, max return %.2f ± %.2f, at half budget "
                "%.2f ± %.2f, %.0f steps/s\n", algo.c_str(), env.c_str(), mode.c_str(), fm, fs, mm,
                ms, hm, hs, mean_std(sps).first);
    Json mj = Json::object();
    mj["final_return"] = stats_json(fin);
    mj["max_return"] = stats_json(mx);
    mj["best_learner_final_return"] = stats_json(best);
    mj["return_at_half_budget"] = stats_json(at_half);
    mj["half_budget_steps"] = plot.x.empty() ? 0.0 : plot.x[half];
    mj["steps_per_second"] = stats_json(sps);
    mj["seconds"] = stats_json(secs);
    Json curves = Json::array();
    LineSeries series{mode == "dpd" ? "DPD" : "single", {}, {}};
    for (size_t c = 0; c < plot.x.size(); ++c) {
      std::vector<double> ys;
      for (auto& r : runs)
        if (c < r.curve.size() && std::isfinite(r.curve[c])) ys.push_back(r.curve[c]);
      auto [m, s] = mean_std(ys);
      series.y.push_back(m);
      series.err.push_back(s);
    }
    for (auto& r : runs) {
      Json rc = Json::object();
      rc["curve"] = r.curve;
      Json lc = Json::array();
      for (auto& c : r.learner_curves) lc.push_back(Json(c));
      rc["learner_curves"] = lc;
      curves.push_back(rc);
    }
    mj["runs"] = curves;
    modes_json[mode] = mj;
    plot.series.push_back(series);
  }
  out["curve_steps"] = plot.x;
  out["modes"] = modes_json;
  if (!json.empty()) {
    write_json(json, out);
    std::string stem = json.size() > 5 && json.substr(json.size() - 5) == ".json"
                           ? json.substr(0, json.size() - 5) : json;
    write_csv(stem + "_curve.csv", plot);
    const bool png = plot_lines(stem + "_curve.png", plot);
    std::printf("wrote %s, %s_curve.csv%s\n", json.c_str(), stem.c_str(),
                png ? (", " + stem + "_curve.png").c_str() : " (no gnuplot: no PNG)");
  }
  return 0;
}

int main(int argc, char** argv) { return run_main(argc, argv, "dpd", program); }
