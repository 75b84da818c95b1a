// dpd_mpi — examples/dpd with its runs split over MPI ranks: the same runs (every seed of every
// --dpd mode), the same results, in about 1/W of the time when there are W cores to spare.
//
//   mpirun -np 2 build/examples/dpd_mpi --algo ppo --env pendulum --dpd both --steps 400000
//       --seeds 4 --json out/dpd/ppo_pendulum.json                   (one command line)
//   mpirun -np 8 --hostfile hosts build/examples/dpd_mpi ...           (several machines)
//   (as root, Open MPI also needs --allow-run-as-root; more ranks than cores: --oversubscribe)
//
// The flags are those of dpd (see examples/dpd.cpp). Run j of the list (modes in the order
// single, dpd; seeds --seed0, --seed0 + 1, ... within a mode) runs on rank j mod W, so with one
// mode rank r runs seeds r, r + W, ...; a DPD run keeps its two learners on one rank (they
// alternate rounds and exchange states, actions and values after every update: see the README
// on why that does not pay across processes). Every run depends only on its seed, so the
// returns, curves, JSON and CSV are the numbers of a one-process `dpd` run with the same flags
// (times and steps/s aside); rank 0 gathers the runs (a broadcast of each run's curves from its
// rank), prints the per-run lines and the summary and writes the files. Each rank prints its
// own progress lines, prefixed with [rank r]. --json also records, under "mpi", the ranks, the
// wall time of the whole job and the rank of every run.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <distillery/distributed/distributed.hpp>
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
namespace dist = distillery::distributed;

namespace {

// A run as doubles (for the broadcast from its rank) and back.
std::vector<double> pack_run(const RunResult& r) {
  std::vector<double> v{r.final_return, r.max_return, r.best_learner_final, r.seconds,
                        r.steps_per_s, double(r.steps), double(r.episodes), double(r.curve.size()),
                        double(r.learner_curves.size())};
  v.insert(v.end(), r.curve.begin(), r.curve.end());
  for (auto& c : r.learner_curves) {
    v.push_back(double(c.size()));
    v.insert(v.end(), c.begin(), c.end());
  }
  return v;
}
RunResult unpack_run(const std::vector<double>& v) {
  check(v.size() >= 9, "dpd_mpi", "run record of ", v.size(), " values is too short");
  RunResult r;
  r.final_return = v[0];
  r.max_return = v[1];
  r.best_learner_final = v[2];
  r.seconds = v[3];
  r.steps_per_s = v[4];
  r.steps = int64_t(v[5]);
  r.episodes = int64_t(v[6]);
  size_t at = 9;
  auto take = [&](size_t n) {
    check(at + n <= v.size(), "dpd_mpi", "run record of ", v.size(), " values is truncated");
    std::vector<double> out(v.begin() + std::ptrdiff_t(at), v.begin() + std::ptrdiff_t(at + n));
    at += n;
    return out;
  };
  r.curve = take(size_t(v[7]));
  for (size_t l = 0; l < size_t(v[8]); ++l) r.learner_curves.push_back(take(size_t(take(1)[0])));
  return r;
}

// Every rank gets the run that rank `owner` computed (a collective: all ranks call it).
RunResult share_run(dist::ProcessGroup& pg, const RunResult& mine, int owner) {
  std::vector<double> buf;
  if (pg.rank() == owner) buf = pack_run(mine);
  int64_t n = int64_t(buf.size());
  pg.broadcast(&n, 1, owner);
  buf.resize(size_t(n));
  pg.broadcast(buf.data(), n, owner);
  return unpack_run(buf);
}

Json stats_json(const std::vector<double>& xs) {
  auto [m, s] = mean_std(xs);
  Json j = Json::object();
  j["mean"] = m;
  j["std"] = s;
  j["values"] = xs;
  return j;
}

int run_dpd(int argc, char** argv, bool setup_only) {
  const auto job_t0 = std::chrono::steady_clock::now();
  Args args(argc, argv, "dpd_mpi: dual policy distillation vs the single learner, runs split over "
                        "MPI ranks (mpirun -np W build/examples/dpd_mpi ...)");
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
  if (setup_only) return 0;  // flags and paths checked before MPI starts (see main)
  dist::ProcessGroup pg;
  const int W = pg.size(), rank = pg.rank();
  const bool main_rank = pg.is_main();
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
  if (main_rank) {
    std::printf("dpd_mpi: %s on %s, %lld total steps per run, %d seeds, modes:", algo.c_str(),
                env.c_str(), static_cast<long long>(steps), seeds);
    for (auto& m : modes) std::printf(" %s", m.c_str());
    std::printf("  (β %.3g, Δ = %s); %d runs over %d ranks\n", beta,
                sign == "paper" ? "V_peer − V_own" : "V_own − V_peer",
                int(modes.size()) * seeds, W);
    std::fflush(stdout);
  }
  // run j (modes outer, seeds inner, as dpd runs them) on rank j mod W
  std::vector<RunResult> all(modes.size() * size_t(seeds));
  std::vector<int> owner(all.size());
  for (size_t j = 0; j < all.size(); ++j) {
    owner[j] = int(j % size_t(W));
    if (owner[j] != rank) continue;
    const std::string& mode = modes[j / size_t(seeds)];
    const uint64_t seed = uint64_t(seed0 + int(j % size_t(seeds)));
    const std::string label = "[rank " + std::to_string(rank) + "] " + mode + " seed " +
                              std::to_string(seed);
    if (algo == "ppo")
      all[j] = run_one<PpoLearner>([&](uint64_t s) { return std::make_unique<PpoLearner>(make_env, pc, s); },
                                   mode == "dpd", seed, steps, log_every, opts, size_t(window), label);
    else
      all[j] = run_one<Td3Learner>([&](uint64_t s) { return std::make_unique<Td3Learner>(make_env, tc, s); },
                                   mode == "dpd", seed, steps, log_every, opts, size_t(window), label);
  }
  for (size_t j = 0; j < all.size(); ++j) all[j] = share_run(pg, all[j], owner[j]);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - job_t0).count();
  if (!main_rank) return 0;  // rank 0 reports and writes (it holds every run now)

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
  double run_seconds = 0;
  for (size_t mi = 0; mi < modes.size(); ++mi) {
    const std::string& mode = modes[mi];
    std::vector<RunResult> runs;
    for (int k = 0; k < seeds; ++k) {
      const size_t j = mi * size_t(seeds) + size_t(k);
      const RunResult& r = all[j];
      std::printf("%s seed %llu: final %.2f  max %.2f  (%lld episodes, %.0f s, %.0f steps/s, "
                  "rank %d)\n", mode.c_str(), static_cast<unsigned long long>(seed0 + k),
                  r.final_return, r.max_return, static_cast<long long>(r.episodes), r.seconds,
                  r.steps_per_s, owner[j]);
      run_seconds += r.seconds;
      runs.push_back(r);
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
  Json mj = Json::object();
  mj["ranks"] = W;
  mj["wall_seconds"] = wall;
  mj["run_seconds_sum"] = run_seconds;
  mj["run_rank"] = std::vector<double>(owner.begin(), owner.end());
  out["mpi"] = mj;
  std::printf("dpd_mpi: %d runs on %d ranks in %.1f s wall (the runs took %.1f s together)\n",
              int(all.size()), W, wall, run_seconds);
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

}  // namespace

// Flags and output paths are checked before MPI starts, so a bad one is one line
// "dpd_mpi: error: ..." and exit status 1 (run_main, io/cli.hpp); an error during the
// distributed run is reported by dist::run with its rank and ends the whole job.
int main(int argc, char** argv) {
  return run_main(argc, argv, "dpd_mpi", [](int argc, char** argv) {
    run_dpd(argc, argv, /*setup_only=*/true);
    return dist::run(argc, argv, [&] { return run_dpd(argc, argv, false); });
  });
}
