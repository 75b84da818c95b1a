// rl/ppo.hpp — PPO (clipped objective, GAE, separate value network) as OpenAI baselines' ppo2,
// the base learner of DPD-PPO (papers.md §4.3, kiminh/dual-policy-distillation dpd_ppo).
//
//   PpoLearner ppo(make_env, cfg, seed);
//   ppo.iterate();                         // one rollout of n_steps × n_envs + one update
//   ppo.update([] {});                     // the same, as rl/learner.hpp's interface for DPD
//
// Per update: roll out n_steps in each of n_envs copies with a ~ N(μ(s), σ²) (the environment
// clips the action), observations normalised by this learner's running mean/std (updated on
// every observation it sees, clipped to ±10) and rewards scaled by the running std of the
// discounted return (baselines' VecNormalize). Then
//   δ_t = r_t + γ V(s_{t+1}) (1 − d_t) − V(s_t),   A_t = δ_t + γ λ (1 − d_t) A_{t+1},  R_t = A_t + V(s_t)
// (d_t: the episode ended at step t; a time-limit end adds γ V(final state) to r_t first when
// bootstrap_truncated is on — baselines treats it as terminal), and n_epochs passes over
// shuffled minibatches of n_steps·n_envs / n_minibatches of
//   L = E[max(−Â r, −Â clip(r, 1 ± ε))] + c_v · ½ E[max((V − R)², (V_old + clip(V − V_old, ±ε) − R)²)]
//       − c_e · H,     r = exp(log π(a|s) − log π_old(a|s)),  Â normalised per minibatch,
// one Adam (eps 1e-5) over policy and value, gradients clipped to global norm 0.5.
// Defaults are the DPD-PPO reference's (2048 steps, 64 minibatches, 10 epochs, lr 5e-5
// constant, ε 0.2, c_e 0, c_v 0.5, γ 0.99, λ 0.95; tanh nets, baselines' orthogonal init,
// log σ = 0) with the paper's network sizes: policy 64-64, value 64-64-64.
//
// DPD (rl/learner.hpp, methods/dpd.hpp): act() gives the Gaussian mean (or a sample), state_value()
// the value net on this learner's own normalisation of the states, in raw return units (times
// the return scale; ValueEstimate::code: the scaled units the reference compares), and
// imitate() one step of the weighted imitation loss on the mean, by a separate Adam over the
// policy (lr dis_lr, the paper's 1e-5), or (shared_optimizer) by the PPO Adam with the PPO
// gradient clip at the current PPO lr, as the reference code does.
#pragma once
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "../losses/dpd.hpp"
#include "../nn/policies.hpp"
#include "../optim/adam.hpp"
#include "../optim/clip.hpp"
#include "common.hpp"
#include "learner.hpp"
#include "running_norm.hpp"
#include "vec_env.hpp"

namespace distillery::rl {

struct PpoConfig {
  int n_envs = 1;
  int n_steps = 2048;      // per environment copy and update
  int n_minibatches = 64;  // reference DPD-PPO (baselines' MuJoCo default: 32)
  int n_epochs = 10;
  double lr = 5e-5;        // reference DPD-PPO, constant (baselines' MuJoCo default: 3e-4)
  bool lr_anneal = false;  // linear decay to 0 over total_updates (baselines' MuJoCo default)
  int64_t total_updates = 0;
  double adam_eps = 1e-5;
  double clip = 0.2, ent_coef = 0.0, vf_coef = 0.5, max_grad_norm = 0.5;
  double gamma = 0.99, lam = 0.95;
  std::vector<int64_t> pi_hidden{64, 64}, vf_hidden{64, 64, 64};  // the paper's sizes
  bool norm_obs = true, norm_reward = true, clip_value = true, bootstrap_truncated = true;
  int64_t memory_capacity = 100000;  // raw observations kept for a peer (the reference's memory)
  double dis_lr = 1e-5;              // the separate distillation Adam (the paper's on-policy lr)
};

// Generalised advantage estimation over a rollout laid out [T][N] (time major).
// rewards, values, dones [T*N]; last_values [N] = V(s_T). Returns the advantages [T*N].
inline std::vector<double> gae(const std::vector<double>& rewards, const std::vector<double>& values,
                               const std::vector<char>& dones, const std::vector<double>& last_values,
                               int T, int N, double gamma, double lam) {
  check(int(rewards.size()) == T * N && int(values.size()) == T * N && int(dones.size()) == T * N &&
            int(last_values.size()) == N,
        "gae", "need rewards, values, dones of T*N = ", T * N, " and last_values of N = ", N);
  std::vector<double> adv(static_cast<size_t>(T * N));
  for (int i = 0; i < N; ++i) {
    double next_adv = 0, next_v = last_values[size_t(i)];
    for (int t = T - 1; t >= 0; --t) {
      const size_t k = size_t(t * N + i);
      const double nonterminal = dones[k] ? 0.0 : 1.0;
      const double delta = rewards[k] + gamma * next_v * nonterminal - values[k];
      next_adv = delta + gamma * lam * nonterminal * next_adv;
      adv[k] = next_adv;
      next_v = values[k];
    }
  }
  return adv;
}

struct PpoStats {
  double policy_loss = 0, value_loss = 0, entropy = 0, approx_kl = 0, clip_frac = 0;
};

namespace detail {
// Holds the generator of the initial weights, constructed before the networks.
struct InitGen {
  Generator init_gen;
  explicit InitGen(uint64_t seed) : init_gen(VecEnv::copy_seed(seed, 7777)) {}
};
}  // namespace detail

class PpoLearner : private detail::InitGen {
 public:
  using T = float;
  nn::GaussianPolicy<T> policy;
  nn::ValueNetwork<T> value;

  PpoLearner(const EnvFactory& make_env, PpoConfig cfg, uint64_t seed)
      : detail::InitGen(seed),
        policy(probe_dim(make_env, true), probe_dim(make_env, false), cfg.pi_hidden, init_gen),
        value(probe_dim(make_env, true), cfg.vf_hidden, init_gen),
        cfg_(cfg), venv_(make_env, cfg.n_envs), venv_obs_dim_(venv_.obs_dim()),
        act_dim_(venv_.act_dim()), obs_norm_(venv_.obs_dim(), 10.0, cfg.norm_obs),
        ret_scale_(cfg.n_envs, cfg.gamma, 10.0, cfg.norm_reward),
        memory_(cfg.memory_capacity, venv_.obs_dim()), gen_(VecEnv::copy_seed(seed, 9999)),
        opt_(all_params(), adam_options(cfg.lr, cfg.adam_eps)),
        dis_opt_(policy.parameters(), adam_options(cfg.dis_lr, 1e-8)) {
    check(cfg.n_envs >= 1 && cfg.n_steps >= 1 && cfg.n_minibatches >= 1 && cfg.n_epochs >= 1 &&
              (cfg.n_envs * cfg.n_steps) % cfg.n_minibatches == 0,
          "PpoLearner", "n_steps·n_envs = ", cfg.n_envs * cfg.n_steps,
          " must be a positive multiple of n_minibatches = ", cfg.n_minibatches);
    orthogonal_init(policy, std::sqrt(2.0), 0.01, init_gen);
    orthogonal_init(value, std::sqrt(2.0), 1.0, init_gen);
    params_ = all_params();
    auto raw = venv_.reset(seed);
    obs_.clear();
    for (auto& o : raw) obs_.push_back(observe(o));
  }

  // ---- acting -------------------------------------------------------------------------------
  // One rollout and one PPO update; returns the update's averaged statistics.
  PpoStats iterate() {
    collect();
    return ppo_update();
  }
  int64_t steps() const { return venv_.total_steps(); }
  int64_t updates() const { return updates_; }
  VecEnv& env() { return venv_; }
  const ObsMemory& memory() const { return memory_; }
  const ObsNormalizer& obs_normalizer() const { return obs_norm_; }
  const PpoConfig& config() const { return cfg_; }
  Generator& generator() { return gen_; }
  double return_scale() const { return ret_scale_.scale_factor(); }

  // raw observations [n * obs] -> normalised float tensor [n, obs] (statistics not updated)
  Tensor<T> normalized(const std::vector<double>& raw, int n) const {
    std::vector<double> out(raw.size());
    const int d = venv_obs_dim_;
    for (int i = 0; i < n; ++i) {
      std::vector<double> row(raw.begin() + int64_t(i) * d, raw.begin() + int64_t(i + 1) * d);
      row = obs_norm_.normalize(row);
      std::copy(row.begin(), row.end(), out.begin() + int64_t(i) * d);
    }
    return rows_to_tensor<T>(out, n, d);
  }

  // ---- rl/learner.hpp -----------------------------------------------------------------------
  template <class Hook>
  void update(Hook&& hook) {
    iterate();
    hook();
  }
  std::vector<double> recent_states(int n, int64_t recent, Generator& gen) const {
    return memory_.sample(n, gen, recent);
  }
  // the mean action μ(s) [n, act], or a ~ N(μ, σ²) with sample = true (no gradient)
  Tensor<T> act(const std::vector<double>& raw, int n, bool sample, Generator& gen) {
    NoGradGuard ng;
    Tensor<T> x = normalized(raw, n);
    return sample ? policy.sample(x, gen) : policy.forward(x);
  }
  // V(s) [n]: raw return units (paper) or this learner's scaled-reward units (code)
  Tensor<T> state_value(const std::vector<double>& raw, int n, ValueEstimate how,
                        const Tensor<T>& /*peer_actions*/ = {}) {
    NoGradGuard ng;
    Tensor<T> v = value.forward(normalized(raw, n)).reshape({n});
    return how == ValueEstimate::paper ? mul_scalar(v, T(return_scale())) : v;
  }
  ImitationResult imitate(const std::vector<double>& raw, int n, const Tensor<T>& peer_actions,
                          const Tensor<T>& weights, const ImitationOptions& o) {
    Tensor<T> x = normalized(raw, n);
    auto loss_of = [&] {
      return o.gaussian_nll
                 ? losses::dpd_gaussian_nll_loss(policy.forward(x), policy.log_std, peer_actions,
                                                 weights, o.scale)
                 : losses::dpd_imitation_loss(policy.forward(x), peer_actions, weights, o.scale);
    };
    ImitationResult r;
    Tensor<T> loss = loss_of();
    r.loss_before = double(loss.item());
    if (o.shared_optimizer) {
      opt_.zero_grad();
      loss.backward();
      optim::clip_grad_norm_(params_, cfg_.max_grad_norm);
      opt_.step();
    } else {
      dis_opt_.zero_grad();
      loss.backward();
      dis_opt_.step();
    }
    NoGradGuard ng;
    r.loss_after = double(loss_of().item());
    return r;
  }

 private:
  static int probe_dim(const EnvFactory& make, bool obs) {
    auto e = make();
    return obs ? e->obs_dim() : e->act_dim();
  }
  std::vector<Tensor<T>> all_params() const {
    auto p = policy.parameters();
    auto v = value.parameters();
    p.insert(p.end(), v.begin(), v.end());
    return p;
  }
  static optim::AdamOptions adam_options(double lr, double eps) {
    optim::AdamOptions o;
    o.lr = lr;
    o.eps = eps;
    return o;
  }
  // A new raw observation: into the memory and the running statistics, returned normalised.
  std::vector<double> observe(const std::vector<double>& raw) {
    memory_.push(raw);
    obs_norm_.update(raw);
    return obs_norm_.normalize(raw);
  }

  void collect() {
    const int N = cfg_.n_envs, Tn = cfg_.n_steps, od = venv_obs_dim_, ad = act_dim_;
    b_obs_.assign(static_cast<size_t>(Tn * N * od), 0.0);
    b_act_.assign(static_cast<size_t>(Tn * N * ad), 0.0);
    b_logp_.assign(static_cast<size_t>(Tn * N), 0.0);
    b_val_.assign(static_cast<size_t>(Tn * N), 0.0);
    b_rew_.assign(static_cast<size_t>(Tn * N), 0.0);
    b_done_.assign(static_cast<size_t>(Tn * N), 0);
    NoGradGuard ng;
    const std::vector<T> log_std = policy.log_std.to_vector();
    double logp_const = 0;  // Σ_j (−log σ_j − ½ log 2π)
    for (T l : log_std) logp_const -= double(l) + 0.91893853320467274178;
    std::vector<T> av(static_cast<size_t>(N * ad)), logp(static_cast<size_t>(N));
    for (int t = 0; t < Tn; ++t) {
      std::vector<double> flat;
      for (auto& o : obs_) flat.insert(flat.end(), o.begin(), o.end());
      Tensor<T> x = rows_to_tensor<T>(flat, N, od);
      // a = μ + σ ε and log π(a|s) = Σ_j −½ ε_j² − log σ_j − ½ log 2π, on the host from one
      // forward pass (policy.sample + policy.log_prob would run the network twice)
      const std::vector<T> mu = policy.forward(x).to_vector(), v = value.forward(x).to_vector();
      for (int i = 0; i < N; ++i) {
        double lp = logp_const;
        for (int j = 0; j < ad; ++j) {
          const double e = gen_.normal();
          av[size_t(i * ad + j)] = T(double(mu[size_t(i * ad + j)]) + std::exp(double(log_std[size_t(j)])) * e);
          lp -= 0.5 * e * e;
        }
        logp[size_t(i)] = T(lp);
      }
      std::vector<std::vector<double>> actions(static_cast<size_t>(N), std::vector<double>(static_cast<size_t>(ad)));
      for (int i = 0; i < N; ++i)
        for (int j = 0; j < ad; ++j) actions[size_t(i)][size_t(j)] = av[size_t(i * ad + j)];
      VecStep s = venv_.step(actions);
      for (int i = 0; i < N; ++i) {
        const size_t k = size_t(t * N + i);
        std::copy(flat.begin() + int64_t(i) * od, flat.begin() + int64_t(i + 1) * od,
                  b_obs_.begin() + int64_t(k) * od);
        std::copy(av.begin() + int64_t(i) * ad, av.begin() + int64_t(i + 1) * ad,
                  b_act_.begin() + int64_t(k) * ad);
        b_logp_[k] = logp[size_t(i)];
        b_val_[k] = v[size_t(i)];
        const bool done = s.terminated[size_t(i)] || s.truncated[size_t(i)];
        double r = ret_scale_.scale(i, s.rewards[size_t(i)], done);
        if (s.truncated[size_t(i)] && !s.terminated[size_t(i)] && cfg_.bootstrap_truncated) {
          Tensor<T> fo = rows_to_tensor<T>(obs_norm_.normalize(s.final_obs[size_t(i)]), 1, od);
          r += cfg_.gamma * double(value.forward(fo).item());
        }
        b_rew_[k] = r;
        b_done_[k] = done;
        obs_[size_t(i)] = observe(s.obs[size_t(i)]);
      }
    }
    std::vector<double> flat;
    for (auto& o : obs_) flat.insert(flat.end(), o.begin(), o.end());
    std::vector<T> lv = value.forward(rows_to_tensor<T>(flat, N, od)).to_vector();
    b_adv_ = gae(b_rew_, b_val_, b_done_, std::vector<double>(lv.begin(), lv.end()), Tn, N,
                 cfg_.gamma, cfg_.lam);
  }

  PpoStats ppo_update() {
    const int B = cfg_.n_envs * cfg_.n_steps, M = B / cfg_.n_minibatches, od = venv_obs_dim_,
              ad = act_dim_;
    if (cfg_.lr_anneal && cfg_.total_updates > 0)
      opt_.set_lr(cfg_.lr * std::max(0.0, 1.0 - double(updates_) / double(cfg_.total_updates)));
    std::vector<int64_t> idx(static_cast<size_t>(B));
    std::iota(idx.begin(), idx.end(), 0);
    PpoStats st;
    int count = 0;
    std::vector<T> mo(static_cast<size_t>(M * od)), ma(static_cast<size_t>(M * ad)), mlp(static_cast<size_t>(M)), madv(static_cast<size_t>(M)),
        mret(static_cast<size_t>(M)), mval(static_cast<size_t>(M));
    const T eps = T(cfg_.clip);
    for (int e = 0; e < cfg_.n_epochs; ++e) {
      for (int i = B - 1; i > 0; --i) std::swap(idx[size_t(i)], idx[size_t(gen_.randint(i + 1))]);
      for (int s = 0; s + M <= B; s += M) {
        double am = 0, as = 0;
        for (int r = 0; r < M; ++r) {
          const int64_t k = idx[size_t(s + r)];
          for (int j = 0; j < od; ++j) mo[size_t(r * od + j)] = T(b_obs_[size_t(k * od + j)]);
          for (int j = 0; j < ad; ++j) ma[size_t(r * ad + j)] = T(b_act_[size_t(k * ad + j)]);
          mlp[size_t(r)] = T(b_logp_[size_t(k)]);
          mval[size_t(r)] = T(b_val_[size_t(k)]);
          mret[size_t(r)] = T(b_adv_[size_t(k)] + b_val_[size_t(k)]);
          am += b_adv_[size_t(k)];
        }
        am /= M;
        for (int r = 0; r < M; ++r) as += std::pow(b_adv_[size_t(idx[size_t(s + r)])] - am, 2);
        as = std::sqrt(as / M);  // np.std (population)
        for (int r = 0; r < M; ++r)
          madv[size_t(r)] = T((b_adv_[size_t(idx[size_t(s + r)])] - am) / (as + 1e-8));
        Tensor<T> x = Tensor<T>::from_vector(mo, {M, od}), a = Tensor<T>::from_vector(ma, {M, ad});
        Tensor<T> old_lp = Tensor<T>::from_vector(mlp, {M}), adv = Tensor<T>::from_vector(madv, {M});
        Tensor<T> ret = Tensor<T>::from_vector(mret, {M}), old_v = Tensor<T>::from_vector(mval, {M});
        PpoStats l = loss_and_step(x, a, old_lp, adv, ret, old_v, eps);
        st.policy_loss += l.policy_loss;
        st.value_loss += l.value_loss;
        st.entropy += l.entropy;
        st.approx_kl += l.approx_kl;
        st.clip_frac += l.clip_frac;
        ++count;
      }
    }
    ++updates_;
    st.policy_loss /= count;
    st.value_loss /= count;
    st.entropy /= count;
    st.approx_kl /= count;
    st.clip_frac /= count;
    return st;
  }

 public:
  // The clipped PPO loss on one minibatch and one optimiser step (public for tests).
  PpoStats loss_and_step(const Tensor<T>& x, const Tensor<T>& a, const Tensor<T>& old_lp,
                         const Tensor<T>& adv, const Tensor<T>& ret, const Tensor<T>& old_v,
                         T eps, bool step = true) {
    const int64_t M = x.shape()[0];
    Tensor<T> lp = policy.log_prob(x, a);
    Tensor<T> ratio = exp(sub(lp, old_lp));
    Tensor<T> pg = mean(maximum(neg(mul(adv, ratio)), neg(mul(adv, clamp(ratio, T(1) - eps, T(1) + eps)))));
    Tensor<T> v = value.forward(x).reshape({M});
    Tensor<T> vl = square(sub(v, ret));
    if (cfg_.clip_value) {
      Tensor<T> vc = add(old_v, clamp(sub(v, old_v), -eps, eps));
      vl = maximum(vl, square(sub(vc, ret)));
    }
    Tensor<T> vf = mul_scalar(mean(vl), T(0.5));
    Tensor<T> ent = policy.entropy();
    Tensor<T> loss = add(sub(pg, mul_scalar(ent, T(cfg_.ent_coef))), mul_scalar(vf, T(cfg_.vf_coef)));
    PpoStats st;
    st.policy_loss = pg.item();
    st.value_loss = vf.item();
    st.entropy = ent.item();
    {
      NoGradGuard ng;
      std::vector<T> r = ratio.to_vector(), l = lp.to_vector(), o = old_lp.to_vector();
      for (int64_t i = 0; i < M; ++i) {
        st.approx_kl += 0.5 * std::pow(double(l[size_t(i)]) - double(o[size_t(i)]), 2) / double(M);
        st.clip_frac += (std::abs(double(r[size_t(i)]) - 1) > double(eps)) ? 1.0 / double(M) : 0.0;
      }
    }
    last_loss_ = loss;
    if (step) {
      opt_.zero_grad();
      loss.backward();
      optim::clip_grad_norm_(params_, cfg_.max_grad_norm);
      opt_.step();
    }
    return st;
  }
  Tensor<T> last_loss() const { return last_loss_; }

 private:
  PpoConfig cfg_;
  VecEnv venv_;
  int venv_obs_dim_, act_dim_;
  ObsNormalizer obs_norm_;
  ReturnScaler ret_scale_;
  ObsMemory memory_;
  Generator gen_;
  optim::Adam<T> opt_, dis_opt_;
  std::vector<Tensor<T>> params_;
  std::vector<std::vector<double>> obs_;  // current normalised observations, one per copy
  std::vector<double> b_obs_, b_act_, b_logp_, b_val_, b_rew_, b_adv_;
  std::vector<char> b_done_;
  int64_t updates_ = 0;
  Tensor<T> last_loss_;
};

}  // namespace distillery::rl
