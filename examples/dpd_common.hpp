// examples/dpd_common.hpp — everything examples/dpd.cpp and examples/dpd_mpi.cpp share: the
// flags (parse_config), the environment factory, one run of a mode and seed (run_one), a run
// as doubles for MPI (pack_run / unpack_run), the finished runs kept on disk for processes
// that share the work (RunStore, --run-dir), and the report (summaries, JSON, CSV, PNGs).
//
// Modes (--dpd): single (one learner, the whole --steps budget: the paper's equal total steps),
// indep (two learners that never distil: equal steps per learner, and the reference value of
// the §4.4 action distance), dpd (the pair of methods/dpd.hpp). --dpd all runs the three.
// Per run and mode, over the run's learners: "final" = the mean raw return of the last --window
// training episodes at the end; "max" = the highest such windowed return during the run;
// "mean_all" = the mean return over all training episodes (the paper's Table 1 "Mean");
// "max_episode" = the best single training episode. The JSON has each with mean, std and
// standard error over seeds, the learning curves, and the per-round distillation diagnostics.
#pragma once
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <distillery/io/atomic_file.hpp>
#include <distillery/io/bytes.hpp>
#include <distillery/io/cli.hpp>
#include <distillery/io/json.hpp>
#include <distillery/io/plot.hpp>
#include <distillery/methods/dpd.hpp>
#include <distillery/rl/pendulum.hpp>
#include <distillery/rl/ppo.hpp>
#include <distillery/rl/td3.hpp>
#ifdef DISTILLERY_HAS_MUJOCO
#include <distillery/rl/mujoco_env.hpp>
#endif

namespace dpd_example {
using namespace distillery;
using namespace distillery::rl;
using methods::DpdOptions;

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

struct DpdConfig {
  std::string algo, env, variant, json, model_dir, run_dir;
  std::vector<std::string> modes;
  int64_t steps = 0, log_every = 0;
  int seeds = 0, seed0 = 0, window = 0;
  int64_t raw_steps = 0;
  PpoConfig ppo;
  Td3Config td3;
  DpdOptions opts;
};

inline DpdConfig parse_config(Args& args) {
  DpdConfig c;
  c.algo = args.get<std::string>("algo", "ppo", "ppo | ddpg (the paper's: 64-64-64) | td3");
  c.env = args.get<std::string>("env", "pendulum",
                                "pendulum | swimmer | halfcheetah | hopper | walker2d | humanoid");
  const std::string dpd = args.get<std::string>("dpd", "all", "single | indep | dpd | both (single, dpd) | all");
  c.steps = args.get<int64_t>("steps", 200000, "environment steps per run (all its learners together)");
  c.seeds = args.get<int>("seeds", 3, "seeds per mode (--seed0, --seed0 + 1, ...)");
  c.seed0 = args.get<int>("seed0", 0, "first seed");
  c.log_every = args.get<int64_t>("log-every", 0, "curve point every N total steps (0: steps/50)");
  c.window = args.get<int>("window", 100, "episodes in the windowed return (reference: 100)");
  c.variant = args.get<std::string>("variant", "paper",
      "paper (Algorithm 1, Eq. 11) | code (kiminh/dual-policy-distillation's choices)");
  const bool on_policy = c.algo == "ppo";
  c.opts = c.variant == "code" ? DpdOptions::reference_code(on_policy) : DpdOptions::paper(on_policy);
  DpdOptions& o = c.opts;
  o.alpha = args.get<double>("alpha", o.alpha, "confidence temperature α of exp(α ξ) (paper: 0.1..10)");
  const std::string sign = args.get<std::string>("sign", o.sign == losses::AdvantageSign::peer_minus_own ? "paper" : "code",
      "paper: ξ = V_peer − V_own; code: the PPO code's own − peer");
  const std::string weights = args.get<std::string>("weights",
      o.weighting == losses::DpdWeighting::exp ? "exp" : "clip", "exp (Eq. 11) | clip (clip to [0.01, 100], normalise)");
  o.batch = args.get<int>("dpd-batch", o.batch, "peer states per distillation step");
  o.recent = args.get<int64_t>("dpd-recent", o.recent, "from the peer's N newest states (0: its whole memory)");
  o.every = args.get<int>("dpd-every", o.every, "distil after every N-th RL update");
  c.ppo.n_envs = args.get<int>("envs", 1, "PPO: environment copies per learner");
  c.ppo.n_steps = args.get<int>("nsteps", 2048, "PPO: steps per copy and update");
  c.ppo.n_minibatches = args.get<int>("minibatches", 64, "PPO: minibatches per epoch (reference 64)");
  c.ppo.n_epochs = args.get<int>("epochs", 10, "PPO: epochs per update");
  c.ppo.lr = args.get<double>("lr", 3e-4,
      "learning rate (PPO: baselines' MuJoCo 3e-4; the DPD-PPO reference 5e-5 for 10M steps)");
  c.ppo.gamma = args.get<double>("gamma", 0.99, "discount");
  c.ppo.lam = args.get<double>("lam", 0.95, "PPO: GAE λ");
  c.ppo.lr_anneal = args.get<bool>("lr-anneal", false, "PPO: linear learning-rate decay to 0");
  c.ppo.dis_lr = args.get<double>("dis-lr", on_policy ? 1e-5 : 1e-4,
      "the distillation Adam's lr (paper: on-policy 1e-5, off-policy 1e-4)");
  if (c.algo == "ddpg") c.td3 = Td3Config::ddpg_paper();
  c.td3.start_steps = args.get<int>("start-steps", 10000, "DDPG/TD3: uniform random actions first");
  c.td3.batch = args.get<int>("batch", 64, "DDPG/TD3: minibatch (reference DDPG 64)");
  const int64_t width = args.get<int64_t>("hidden", 64, "DDPG/TD3: hidden width");
  c.td3.hidden.assign(size_t(args.get<int>("layers", int(c.td3.hidden.size()),
                                           "DDPG/TD3: hidden layers (paper's DDPG: 3)")), width);
  c.td3.lr = c.ppo.lr;
  c.td3.gamma = c.ppo.gamma;
  c.td3.dis_lr = c.ppo.dis_lr;
  c.json = args.get<std::string>("json", "", "write results (and curves) here");
  c.run_dir = args.get<std::string>("run-dir", "",
      "keep each finished run here and reuse it; processes with the same flags and run-dir share "
      "the runs (each claims the next unclaimed one) and the last to finish writes the report");
  c.model_dir = args.get<std::string>("models", "data/mujoco", "MuJoCo XML folder");
  c.raw_steps = args.get<int64_t>("raw-steps", 20000,
      "time this many environment steps with random actions and no policy first (0: skip)");
  args.finish();
  check_output_path(c.json);  // before any work: a bad path fails now, not at the end

  check(c.algo == "ppo" || c.algo == "td3" || c.algo == "ddpg", "dpd", "--algo must be ppo, td3 or ddpg");
  check(c.variant == "paper" || c.variant == "code", "dpd", "--variant must be paper or code");
  check(sign == "paper" || sign == "code", "dpd", "--sign must be paper or code");
  check(weights == "exp" || weights == "clip", "dpd", "--weights must be exp or clip");
  check(c.steps > 0 && c.seeds > 0 && c.window > 0 && o.batch > 0 && o.every > 0 && o.recent >= 0,
        "dpd", "--steps, --seeds, --window, --dpd-batch, --dpd-every must be positive");
  if (dpd == "all") c.modes = {"single", "indep", "dpd"};
  else if (dpd == "both") c.modes = {"single", "dpd"};
  else if (dpd == "single" || dpd == "indep" || dpd == "dpd") c.modes = {dpd};
  else fail("dpd", "--dpd must be single, indep, dpd, both or all, got '", dpd, "'");
  o.sign = sign == "paper" ? losses::AdvantageSign::peer_minus_own : losses::AdvantageSign::own_minus_peer;
  o.weighting = weights == "exp" ? losses::DpdWeighting::exp : losses::DpdWeighting::clip_normalized;
  if (c.log_every <= 0) c.log_every = std::max<int64_t>(1, c.steps / 50);
  c.ppo.total_updates = c.steps / (int64_t(c.ppo.n_steps) * c.ppo.n_envs);
  return c;
}

// Environment steps per second with uniform random actions, no policy, one thread: the
// physical limit of a training loop on this core (resets included).
// Measured in CPU time of the process (std::clock), which a busy machine inflates far less
// than wall time; with OMP_NUM_THREADS=1 it is the one core's time.
inline double raw_env_rate(const DpdConfig& c) {
  if (c.raw_steps <= 0) return std::nan("");
  std::unique_ptr<Env> env = make_env_factory(c.env, c.model_dir)();
  Generator gen(12345);
  const std::vector<double> lo = env->action_low(), hi = env->action_high();
  std::vector<double> a(lo.size());
  env->reset(1);
  const std::clock_t t0 = std::clock();
  for (int64_t i = 0; i < c.raw_steps; ++i) {
    for (size_t j = 0; j < a.size(); ++j) a[j] = gen.uniform(lo[j], hi[j]);
    Step s = env->step(a);
    if (s.terminated || s.truncated) env->reset();
  }
  return double(c.raw_steps) * CLOCKS_PER_SEC / double(std::clock() - t0);
}

inline Json config_json(const DpdConfig& c) {
  Json out = Json::object();
  out["algo"] = c.algo;
  out["env"] = c.env;
  out["variant"] = c.variant;
  out["steps_per_run"] = c.steps;
  out["seeds"] = c.seeds;
  out["seed0"] = c.seed0;
  out["window"] = c.window;
  out["modes"] = c.modes;
  Json d = Json::object();
  d["alpha"] = c.opts.alpha;
  d["sign"] = c.opts.sign == losses::AdvantageSign::peer_minus_own ? "peer_minus_own" : "own_minus_peer";
  d["weights"] = c.opts.weighting == losses::DpdWeighting::exp ? "exp" : "clip_normalized";
  d["values"] = c.opts.values == ValueEstimate::paper ? "raw_return_units" : "code";
  d["batch"] = c.opts.batch;
  d["recent"] = c.opts.recent;
  d["every"] = c.opts.every;
  d["sample_peer_actions"] = c.opts.sample_peer_actions;
  d["shared_optimizer"] = c.opts.imitation.shared_optimizer;
  d["dis_lr"] = c.ppo.dis_lr;
  out["dpd"] = d;
  Json p = Json::object();
  p["lr"] = c.ppo.lr;
  p["gamma"] = c.ppo.gamma;
  if (c.algo == "ppo") {
    p["n_envs"] = c.ppo.n_envs;
    p["n_steps"] = c.ppo.n_steps;
    p["n_minibatches"] = c.ppo.n_minibatches;
    p["n_epochs"] = c.ppo.n_epochs;
    p["lam"] = c.ppo.lam;
    p["lr_anneal"] = c.ppo.lr_anneal;
    p["pi_hidden"] = c.ppo.pi_hidden;
    p["vf_hidden"] = c.ppo.vf_hidden;
  } else {
    p["start_steps"] = c.td3.start_steps;
    p["batch"] = c.td3.batch;
    p["hidden"] = c.td3.hidden;
    p["ddpg"] = c.td3.ddpg;
    p["buffer"] = c.td3.buffer;
  }
  out[c.algo] = p;
  return out;
}

// The per-round diagnostics fields (methods::DpdStepStats), in this order.
inline const std::vector<std::string>& diag_names() {
  static const std::vector<std::string> n{"loss_before", "loss_after", "ess", "positive_fraction",
                                          "rescaled", "action_distance", "mean_xi"};
  return n;
}
inline std::vector<double> diag_values(const methods::DpdStepStats& s) {
  return {s.loss_before, s.loss_after, s.ess, s.positive_fraction, s.rescaled, s.action_distance,
          s.mean_xi};
}

struct RunResult {
  double final_return = 0, max_return = 0, mean_all = 0, max_episode = 0, seconds = 0,
         steps_per_s = 0, steps = 0, episodes = 0, cpu_steps_per_s = 0;  // cpu: per CPU second
  std::vector<double> curve;       // windowed return (mean over learners) at each checkpoint
  std::vector<double> curve_a, curve_b;
  std::vector<double> distance;    // action distance at each checkpoint (mean of the rounds
                                   // since the previous one, or the last value)
  // per round of each learner: total steps, then diag_names() (flattened rows)
  std::vector<double> rounds_a, rounds_b;
  std::vector<double*> numbers() {
    return {&final_return, &max_return, &mean_all, &max_episode, &seconds, &steps_per_s, &steps,
            &episodes, &cpu_steps_per_s};
  }
  std::vector<std::vector<double>*> vectors() {
    return {&curve, &curve_a, &curve_b, &distance, &rounds_a, &rounds_b};
  }
};

inline std::vector<double> pack_run(RunResult r) {
  std::vector<double> v;
  for (double* x : r.numbers()) v.push_back(*x);
  for (auto* x : r.vectors()) {
    v.push_back(double(x->size()));
    v.insert(v.end(), x->begin(), x->end());
  }
  return v;
}
inline RunResult unpack_run(const std::vector<double>& v) {
  RunResult r;
  size_t at = 0;
  auto need = [&](size_t n) {
    check(at + n <= v.size(), "dpd", "run record of ", v.size(), " values is truncated");
  };
  for (double* x : r.numbers()) {
    need(1);
    *x = v[at++];
  }
  for (auto* x : r.vectors()) {
    need(1);
    const size_t n = size_t(v[at++]);
    need(n);
    x->assign(v.begin() + std::ptrdiff_t(at), v.begin() + std::ptrdiff_t(at + n));
    at += n;
  }
  return r;
}

// --run-dir DIR: every finished run as DIR/<mode>_s<seed>.run (its pack_run numbers, written
// atomically), so an interrupted job loses only the runs in flight, and processes started with
// the same flags share the work without MPI: a process claims a run by creating
// DIR/<mode>_s<seed>.claim (O_EXCL, holding its pid) and skips runs that a live process claimed;
// a claim whose process is gone is taken over. DIR/config.json holds the flags that shape a run
// (everything but --dpd, --seeds, --seed0, --json): a run-dir of other flags is an error.
class RunStore {
 public:
  explicit RunStore(const DpdConfig& c) : dir_(c.run_dir) {
    if (dir_.empty()) return;
    DpdConfig k = c;  // the run-shaping flags only
    k.modes.clear();
    k.seeds = k.seed0 = 0;
    const std::string want = config_json(k).dump(2), path = dir_ + "/config.json";
    if (::access(path.c_str(), F_OK) == 0) {
      const Bytes have = read_file_bytes(path, "dpd");
      check(std::string(have.begin(), have.end()) == want, "dpd", "--run-dir ", dir_,
            " holds runs made with other flags (", path, "); use another directory");
    } else {
      write_file_atomic(path, want);
    }
  }
  // The run of (mode, seed) into r: without a run-dir, run(); with one, the finished run if the
  // directory has it, else run() and keep it when `may_run` and this process wins the claim.
  // False when the run is another live process's (or `may_run` is false and it is not finished).
  bool obtain(const std::string& mode, int seed, bool may_run,
              const std::function<RunResult()>& run, RunResult& r) const {
    if (dir_.empty()) {
      if (may_run) r = run();
      return may_run;
    }
    if (load(mode, seed, r)) return true;
    if (!may_run || !claim(mode, seed)) return false;
    if (load(mode, seed, r)) return true;  // finished between the two looks: reuse it
    r = run();
    save(mode, seed, r);
    return true;
  }

 private:
  std::string stem(const std::string& mode, int seed) const {
    return dir_ + "/" + mode + "_s" + std::to_string(seed);
  }
  // The finished run, if the directory has it.
  bool load(const std::string& mode, int seed, RunResult& r) const {
    FILE* f = std::fopen((stem(mode, seed) + ".run").c_str(), "rb");
    if (!f) return false;
    std::vector<double> v;
    for (double x; std::fscanf(f, "%lf", &x) == 1;) v.push_back(x);
    std::fclose(f);
    r = unpack_run(v);
    return true;
  }
  void save(const std::string& mode, int seed, const RunResult& r) const {
    std::string text;
    char b[40];
    for (double x : pack_run(r)) {
      std::snprintf(b, sizeof b, "%.17g\n", x);
      text += b;
    }
    write_file_atomic(stem(mode, seed) + ".run", text);
    std::remove((stem(mode, seed) + ".claim").c_str());
  }
  // True when this process may run it: no claim yet, or the claiming process is gone.
  bool claim(const std::string& mode, int seed) const {
    const std::string path = stem(mode, seed) + ".claim";
    for (int attempt = 0; attempt < 2; ++attempt) {
      const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
      if (fd >= 0) {
        const std::string pid = std::to_string(long(::getpid())) + "\n";
        const bool ok = ::write(fd, pid.data(), pid.size()) == ssize_t(pid.size());
        ::close(fd);
        check(ok, "dpd", "cannot write ", path);
        return true;
      }
      check(errno == EEXIST, "dpd", "cannot create ", path, ": ", std::strerror(errno));
      long owner = 0;
      if (FILE* f = std::fopen(path.c_str(), "rb")) {
        if (std::fscanf(f, "%ld", &owner) != 1) owner = 0;
        std::fclose(f);
      }
      if (owner > 0 && alive(owner)) return false;
      std::remove(path.c_str());  // stale: its process ended without finishing the run
    }
    return false;
  }

  // A process that exists and is not a zombie (one killed but not yet reaped holds no run).
  static bool alive(long pid) {
    if (::kill(pid_t(pid), 0) != 0 && errno != EPERM) return false;
    char state = 0;
    if (FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "rb")) {
      if (std::fscanf(f, "%*d (%*[^)]) %c", &state) != 1) state = 0;
      std::fclose(f);
    }
    return state != 'Z';
  }
  std::string dir_;
};

template <class Learner>
RunResult run_learners(const DpdConfig& c, const std::string& mode, uint64_t seed,
                       const std::string& label,
                       const std::function<std::unique_ptr<Learner>(uint64_t)>& make) {
  std::unique_ptr<Learner> a = make(seed), b;
  if (mode != "single") b = make(seed + 10000);
  std::vector<Learner*> ls{a.get()};
  if (b) ls.push_back(b.get());
  DpdOptions opts = c.opts;
  opts.enabled = mode == "dpd";
  RunResult r;
  const size_t window = size_t(c.window);
  std::vector<double> best(ls.size(), -1e300);
  double dist_sum = 0, dist_last = std::nan("");
  int dist_n = 0;
  int64_t next_log = c.log_every;
  Progress prog(label, c.steps, 5.0);
  auto t0 = std::chrono::steady_clock::now();
  const std::clock_t c0 = std::clock();
  auto total_steps = [&] {
    int64_t s = 0;
    for (auto* l : ls) s += l->steps();
    return s;
  };
  methods::dpd_train(*a, b.get(), c.steps, opts, [&](int who, Learner&, const methods::DpdRoundStats& d) {
    const int64_t s = total_steps();
    if (d.count > 0) {
      auto& rows = who == 0 ? r.rounds_a : r.rounds_b;
      rows.push_back(double(s));
      for (double x : diag_values(d.mean)) rows.push_back(x);
      if (std::isfinite(d.mean.action_distance)) {
        dist_sum += d.mean.action_distance;
        ++dist_n;
      }
    }
    while (s >= next_log && next_log <= c.steps) {
      double m = 0;
      for (size_t i = 0; i < ls.size(); ++i) {
        const double v = ls[i]->env().recent_return(window);
        (i == 0 ? r.curve_a : r.curve_b).push_back(v);
        if (std::isfinite(v)) best[i] = std::max(best[i], v);
        m += v / double(ls.size());
      }
      r.curve.push_back(m);
      if (dist_n > 0) dist_last = dist_sum / dist_n;  // else: no round ended since the last point
      r.distance.push_back(dist_last);
      dist_sum = 0;
      dist_n = 0;
      next_log += c.log_every;
    }
    char extra[160];
    std::snprintf(extra, sizeof extra, "return(last %zu) %.1f", window, ls[0]->env().recent_return(window));
    std::string e = extra;
    if (b) {
      std::snprintf(extra, sizeof extra, " / %.1f  action distance %.3f", b->env().recent_return(window),
                    r.distance.empty() ? std::nan("") : r.distance.back());
      e += extra;
    }
    prog.update(std::min(s, c.steps), e);
  });
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.steps = double(total_steps());
  r.steps_per_s = r.steps / r.seconds;
  r.cpu_steps_per_s = r.steps * CLOCKS_PER_SEC / double(std::clock() - c0);
  for (size_t i = 0; i < ls.size(); ++i) {
    const auto& eps = ls[i]->env().episode_returns();
    const double n = double(ls.size());
    r.final_return += ls[i]->env().recent_return(window) / n;
    r.max_return += best[i] / n;
    double sum = 0, top = -1e300;
    for (double x : eps) {
      sum += x;
      top = std::max(top, x);
    }
    r.mean_all += (eps.empty() ? std::nan("") : sum / double(eps.size())) / n;
    r.max_episode += top / n;
    r.episodes += double(eps.size());
  }
  return r;
}

inline RunResult run_one(const DpdConfig& c, const std::string& mode, uint64_t seed,
                         const std::string& label) {
  const EnvFactory env = make_env_factory(c.env, c.model_dir);
  if (c.algo == "ppo")
    return run_learners<PpoLearner>(c, mode, seed, label, [&](uint64_t s) {
      return std::make_unique<PpoLearner>(env, c.ppo, s);
    });
  Td3Config tc = c.td3;
  tc.ddpg = c.algo == "ddpg";
  return run_learners<Td3Learner>(c, mode, seed, label, [&](uint64_t s) {
    return std::make_unique<Td3Learner>(env, tc, s);
  });
}

inline Json stats_json(const std::vector<double>& xs) {
  auto [m, s] = mean_std(xs);
  Json j = Json::object();
  j["mean"] = m;
  j["std"] = s;
  j["sem"] = xs.size() > 1 ? s / std::sqrt(double(xs.size())) : std::nan("");
  j["values"] = xs;
  return j;
}

// Mean ± std over runs of a per-checkpoint series (non-finite points left out).
inline LineSeries mean_series(const std::string& name, const std::vector<std::vector<double>>& ys,
                              size_t points) {
  LineSeries s{name, {}, {}};
  for (size_t c = 0; c < points; ++c) {
    std::vector<double> v;
    for (auto& y : ys)
      if (c < y.size() && std::isfinite(y[c])) v.push_back(y[c]);
    auto [m, sd] = mean_std(v);
    s.y.push_back(m);
    s.err.push_back(v.size() > 1 ? sd : 0.0);
  }
  return s;
}

inline std::string stem_of(const std::string& json) {
  return json.size() > 5 && json.substr(json.size() - 5) == ".json" ? json.substr(0, json.size() - 5) : json;
}

// The DPD pairs' distillation diagnostics per curve checkpoint: the mean, over both learners,
// every seed and the rounds since the previous checkpoint, of ESS / batch, the fraction of states
// with ξ > 0 and the relative drop of the weighted imitation loss in one step (1 - after/before).
inline LinePlot diagnostics_plot(const DpdConfig& c, const std::vector<RunResult>& runs,
                                 const std::vector<double>& x) {
  LinePlot p;
  p.title = "DPD distillation diagnostics (mean over learners, seeds and rounds)";
  p.xlabel = "total steps";
  p.ylabel = "fraction";
  p.x = x;
  const size_t w = diag_names().size() + 1;  // total steps, then diag_names()
  auto col = [](const char* name) {  // a diagnostic's column in a round's row
    const auto& n = diag_names();
    return size_t(std::find(n.begin(), n.end(), name) - n.begin()) + 1;
  };
  std::vector<LineSeries> out{{"ess_over_batch", {}, {}}, {"positive_fraction", {}, {}},
                              {"loss_drop_per_step", {}, {}}};
  for (size_t i = 0; i < x.size(); ++i) {
    const double lo = i == 0 ? 0.0 : x[i - 1];
    double sum[3] = {0, 0, 0};
    int n[3] = {0, 0, 0};
    auto add = [&](int k, double v) {
      if (std::isfinite(v)) sum[k] += v, ++n[k];
    };
    for (const RunResult& r : runs)
      for (const auto* rows : {&r.rounds_a, &r.rounds_b})
        for (size_t at = 0; at + w <= rows->size(); at += w) {
          const double* row = rows->data() + at;
          if (!(row[0] > lo && row[0] <= x[i])) continue;
          add(0, row[col("ess")] / double(c.opts.batch));
          add(1, row[col("positive_fraction")]);
          const double before = row[col("loss_before")], after = row[col("loss_after")];
          if (before > 0) add(2, 1.0 - after / before);
        }
    for (int k = 0; k < 3; ++k) out[size_t(k)].y.push_back(n[k] ? sum[k] / n[k] : std::nan(""));
  }
  p.series = out;
  return p;
}

// Prints each mode's summary and (with --json) writes PATH.json, PATH_curve.csv/png and
// PATH_distance.csv/png (and PATH_diagnostics.csv/png with a dpd mode). runs[m][k]: mode c.modes[m], seed c.seed0 + k. `extra` adds fields.
inline void report(const DpdConfig& c, const std::vector<std::vector<RunResult>>& runs,
                   const std::function<void(Json&)>& extra = {}) {
  Json out = config_json(c);
  if (extra) extra(out);
  LinePlot plot, dplot;
  plot.title = c.algo + " on " + c.env + " (mean +- std over seeds)";
  plot.xlabel = dplot.xlabel = "total steps";
  plot.ylabel = "return (last " + std::to_string(c.window) + " episodes)";
  dplot.title = "action distance between the two learners (paper 4.4), mean +- std over seeds";
  dplot.ylabel = "mean Euclidean distance of actions";
  for (int64_t s = c.log_every; s <= c.steps; s += c.log_every) plot.x.push_back(double(s));
  dplot.x = plot.x;
  Json modes = Json::object();
  for (size_t m = 0; m < c.modes.size(); ++m) {
    const std::string& mode = c.modes[m];
    std::vector<double> fin, mx, all, mxe, sps, cps, secs;
    std::vector<std::vector<double>> curves, dists;
    Json rj = Json::array();
    for (const RunResult& r : runs[m]) {
      fin.push_back(r.final_return);
      mx.push_back(r.max_return);
      all.push_back(r.mean_all);
      mxe.push_back(r.max_episode);
      sps.push_back(r.steps_per_s);
      cps.push_back(r.cpu_steps_per_s);
      secs.push_back(r.seconds);
      curves.push_back(r.curve);
      dists.push_back(r.distance);
      Json j = Json::object();
      j["curve"] = r.curve;
      j["curve_a"] = r.curve_a;
      if (!r.curve_b.empty()) j["curve_b"] = r.curve_b;
      j["action_distance"] = r.distance;
      Json rounds = Json::object();
      const size_t w = diag_names().size() + 1;
      for (int l = 0; l < 2; ++l) {
        const auto& rows = l == 0 ? r.rounds_a : r.rounds_b;
        if (rows.empty()) continue;
        Json lj = Json::object();
        for (size_t f = 0; f < w; ++f) {
          std::vector<double> col;
          for (size_t i = f; i < rows.size(); i += w) col.push_back(rows[i]);
          lj[f == 0 ? std::string("total_steps") : diag_names()[f - 1]] = col;
        }
        rounds[l == 0 ? "a" : "b"] = lj;
      }
      j["rounds"] = rounds;
      rj.push_back(j);
    }
    auto show = [](const std::vector<double>& x) {
      auto [a, s] = mean_std(x);
      char b[96];
      std::snprintf(b, sizeof b, "%.2f ± %.2f", a, s);
      return std::string(b);
    };
    std::printf("== %s %s %s: mean over episodes %s, max %s, final %s, %.0f steps/s (%.0f per CPU "
                "second)\n", c.algo.c_str(), c.env.c_str(), mode.c_str(), show(all).c_str(),
                show(mx).c_str(), show(fin).c_str(), mean_std(sps).first, mean_std(cps).first);
    Json mj = Json::object();
    mj["mean_return_all_episodes"] = stats_json(all);
    mj["max_return"] = stats_json(mx);
    mj["max_episode_return"] = stats_json(mxe);
    mj["final_return"] = stats_json(fin);
    mj["steps_per_second"] = stats_json(sps);
    mj["steps_per_cpu_second"] = stats_json(cps);
    mj["seconds"] = stats_json(secs);
    mj["runs"] = rj;
    modes[mode] = mj;
    plot.series.push_back(mean_series(mode, curves, plot.x.size()));
    if (mode != "single") dplot.series.push_back(mean_series(mode, dists, dplot.x.size()));
  }
  out["curve_steps"] = plot.x;
  out["results"] = modes;
  if (c.json.empty()) return;
  write_json(c.json, out);
  const std::string stem = stem_of(c.json);
  write_csv(stem + "_curve.csv", plot);
  bool png = plot_lines(stem + "_curve.png", plot);
  if (!dplot.series.empty()) {
    write_csv(stem + "_distance.csv", dplot);
    png = plot_lines(stem + "_distance.png", dplot) && png;
  }
  for (size_t m = 0; m < c.modes.size(); ++m)
    if (c.modes[m] == "dpd") {
      const LinePlot diag = diagnostics_plot(c, runs[m], plot.x);
      write_csv(stem + "_diagnostics.csv", diag);
      png = plot_lines(stem + "_diagnostics.png", diag) && png;
    }
  std::printf("wrote %s, %s_curve.csv%s%s\n", c.json.c_str(), stem.c_str(),
              dplot.series.empty() ? "" : (", " + stem + "_distance.csv").c_str(),
              png ? " and PNGs" : " (no gnuplot: no PNG)");
}

}  // namespace dpd_example
