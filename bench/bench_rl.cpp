// bench/bench_rl.cpp — the PPO policy update of rl/ppo.hpp next to the same update in LibTorch.
//
//   case         what is timed
//   ppo_update   one PPO update on a HalfCheetah-shaped batch (obs 17, act 6): 2,048 samples,
//                10 epochs × 32 minibatches of 64 (320 steps), each: Gaussian policy 17-64-64-6
//                tanh + state-independent log σ and value net 17-64-64-64-1 tanh (the DPD paper's
//                sizes; the issue-22 figure 162 vs 207 ms had a 17-64-64-1 value net), clipped surrogate
//                (ε 0.2) + ½ clipped value loss (c_v 0.5), backward, global-norm clip 0.5, Adam
//                (lr 3e-4, eps 1e-5)
//
// Distillery's side is PpoLearner::loss_and_step itself (the code the DPD example runs); the
// LibTorch side writes the same loss with torch ops, clip_grad_norm_ and torch::optim::Adam,
// starting from the same weights. Minibatches are fixed random data (the same on both sides);
// the rollout is not timed. Run through scripts/bench.sh.
#include <distillery/rl/ppo.hpp>

#include "bench_common.hpp"

namespace {
namespace ds = distillery;
namespace rl = distillery::rl;

constexpr int kObs = 17, kAct = 6, kBatch = 2048, kMb = 64, kEpochs = 10;

// An environment with HalfCheetah's sizes, only to build a PpoLearner (never stepped here).
class ShapeEnv : public rl::Env {
 public:
  std::string name() const override { return "shape"; }
  int obs_dim() const override { return kObs; }
  int act_dim() const override { return kAct; }
  std::vector<double> action_low() const override { return std::vector<double>(kAct, -1.0); }
  std::vector<double> action_high() const override { return std::vector<double>(kAct, 1.0); }
  int max_episode_steps() const override { return 1000; }

 protected:
  std::vector<double> reset_impl(ds::Generator&) override { return std::vector<double>(kObs, 0.0); }
  rl::Step step_impl(const std::vector<double>&) override {
    rl::Step s;
    s.obs.assign(kObs, 0.0);
    return s;
  }
};

struct Data {
  std::vector<ds::TensorF> x, a, lp, adv, ret, v;  // one entry per minibatch
  Data() {
    ds::Generator g(21);
    for (int i = 0; i < kBatch / kMb; ++i) {
      x.push_back(ds::TensorF::randn({kMb, kObs}, g));
      a.push_back(ds::TensorF::randn({kMb, kAct}, g));
      lp.push_back(ds::add_scalar(ds::TensorF::randn({kMb}, g), -8.f));
      adv.push_back(ds::TensorF::randn({kMb}, g));
      ret.push_back(ds::TensorF::randn({kMb}, g));
      v.push_back(ds::TensorF::randn({kMb}, g));
    }
  }
};

rl::PpoConfig config() {
  rl::PpoConfig c;
  c.n_steps = kBatch;
  c.n_minibatches = kBatch / kMb;
  c.lr = 3e-4;
  return c;
}
rl::EnvFactory shape_env() {
  return [] { return std::unique_ptr<rl::Env>(new ShapeEnv()); };
}

void BM_ds_ppo_update(benchmark::State& st) {
  rl::PpoLearner ppo(shape_env(), config(), 1);
  Data d;
  for (auto _ : st) {
    for (int e = 0; e < kEpochs; ++e)
      for (size_t m = 0; m < d.x.size(); ++m)
        ppo.loss_and_step(d.x[m], d.a[m], d.lp[m], d.adv[m], d.ret[m], d.v[m], 0.2f);
    benchmark::DoNotOptimize(ppo.policy.log_std.data_ptr());
  }
}

struct TorchPpo {
  std::vector<torch::Tensor> pi, vf;  // W0 b0 W1 b1 W2 b2 (+ log σ for pi)
  explicit TorchPpo(rl::PpoLearner& l) {
    for (auto& p : l.policy.parameters()) pi.push_back(bench::to_torch(p));
    for (auto& p : l.value.parameters()) vf.push_back(bench::to_torch(p));
  }
  // tanh MLP of any depth: p = W0 b0 W1 b1 ... (the last layer linear)
  static torch::Tensor mlp(const std::vector<torch::Tensor>& p, const torch::Tensor& x) {
    auto h = x;
    for (size_t i = 0; i + 2 < p.size(); i += 2) h = torch::tanh(torch::linear(h, p[i], p[i + 1]));
    return torch::linear(h, p[p.size() - 2], p.back());
  }
};

void BM_torch_ppo_update(benchmark::State& st) {
  rl::PpoLearner l(shape_env(), config(), 1);
  TorchPpo m(l);
  // GaussianPolicy's parameters: log_std first, then net.*; ValueNetwork: net.*
  const torch::Tensor log_std = m.pi[0];
  std::vector<torch::Tensor> pnet(m.pi.begin() + 1, m.pi.end());
  std::vector<torch::Tensor> all = m.pi;
  all.insert(all.end(), m.vf.begin(), m.vf.end());
  torch::optim::Adam opt(all, torch::optim::AdamOptions(3e-4).eps(1e-5));
  Data dd;
  std::vector<torch::Tensor> x, a, lp, adv, ret, v;
  for (size_t i = 0; i < dd.x.size(); ++i) {
    x.push_back(bench::to_torch(dd.x[i], false));
    a.push_back(bench::to_torch(dd.a[i], false));
    lp.push_back(bench::to_torch(dd.lp[i], false));
    adv.push_back(bench::to_torch(dd.adv[i], false));
    ret.push_back(bench::to_torch(dd.ret[i], false));
    v.push_back(bench::to_torch(dd.v[i], false));
  }
  const double half_log_2pi = 0.91893853320467274178, eps = 0.2;
  for (auto _ : st) {
    for (int e = 0; e < kEpochs; ++e)
      for (size_t k = 0; k < x.size(); ++k) {
        auto mu = TorchPpo::mlp(pnet, x[k]);
        auto z = (a[k] - mu) / log_std.exp();
        auto logp = (-0.5 * z.square() - log_std - half_log_2pi).sum(-1);
        auto ratio = (logp - lp[k]).exp();
        auto pg = torch::max(-adv[k] * ratio, -adv[k] * ratio.clamp(1 - eps, 1 + eps)).mean();
        auto val = TorchPpo::mlp(m.vf, x[k]).reshape({-1});
        auto vc = v[k] + (val - v[k]).clamp(-eps, eps);
        auto vl = 0.5 * torch::max((val - ret[k]).square(), (vc - ret[k]).square()).mean();
        auto loss = pg + 0.5 * vl;
        opt.zero_grad();
        loss.backward();
        torch::nn::utils::clip_grad_norm_(all, 0.5);
        opt.step();
      }
    benchmark::DoNotOptimize(log_std.data_ptr());
  }
}

}  // namespace

BENCHMARK(BM_ds_ppo_update)->Name("distillery/ppo_update")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_torch_ppo_update)->Name("libtorch/ppo_update")->Unit(benchmark::kMillisecond);

DISTILLERY_BENCH_MAIN()
