// rl/td3.hpp — TD3 (Fujimoto et al. 2018) with a replay buffer, DDPG as its special case, and
// DPD-DDPG's per-train-step imitation (papers.md §4.3, baselines/dpd_ddpg in the reference).
//
//   Td3Learner td3(make_env, cfg, seed);             // Td3Config::ddpg_paper(): DPD's DDPG
//   td3.update([] {});     // rollout_steps env steps, then as many train steps (rl/learner.hpp)
//
// Acting: uniform random actions for the first start_steps steps, then
// a = clip(π(s) + N(0, (expl_noise·a_max)²), ±a_max). Transitions (s, a, r, s', terminated) go
// to a ring buffer (a time-limit end is not terminal: the target bootstraps through it).
// Train step on a minibatch: ã' = clip(π'(s') + clip(N(0, (σ̃ a_max)²), ±c a_max), ±a_max),
//   y = r + γ (1 − term) min(Q1'(s', ã'), Q2'(s', ã')),  critic loss Σ_k mean (Q_k(s, a) − y)²;
//   every policy_delay-th step the actor minimises −mean Q1(s, π(s)) and the targets move by
//   θ' ← τ θ + (1 − τ) θ'. With ddpg = true: one critic, no target smoothing, delay 1
//   (Fujimoto's "our DDPG"). Adam for actor and critic.
// DPD (rl/learner.hpp, methods/dpd.hpp; the hook runs after every train step, as the reference's
//   learner.train): act() is π(s) without noise, state_value() Q1(s, π_own(s)) in raw return
//   units (ValueEstimate::code: Q1_own(s, ã_peer), the reference DDPG code), imitate() one step
//   of the weighted squared error by its own Adam (dis_lr, the paper's 1e-4).
// Networks (relu MLPs; the actor ends in a_max·tanh) default to 2 × 64, batch 64;
// Td3Config::ddpg_paper() is the paper's DDPG: 64-64-64, one critic, replay 10⁶.
#pragma once
#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "../losses/dpd.hpp"
#include "../nn/policies.hpp"
#include "../optim/adam.hpp"
#include "common.hpp"
#include "learner.hpp"
#include "vec_env.hpp"

namespace distillery::rl {

struct Td3Config {
  int start_steps = 10000;
  int batch = 64;
  std::vector<int64_t> hidden{64, 64};
  double lr = 3e-4;  // actor and critic
  double gamma = 0.99, tau = 0.005;
  double expl_noise = 0.1, policy_noise = 0.2, noise_clip = 0.5;
  int policy_delay = 2;
  bool ddpg = false;
  int64_t buffer = 1000000;
  int rollout_steps = 100;  // env steps per round, followed by as many train steps
  double dis_lr = 1e-4;     // the separate distillation Adam (the paper's off-policy lr)
  // DDPG as the DPD paper ran it: 64-64-64 ReLU, tanh output, replay 10⁶, one critic
  static Td3Config ddpg_paper() {
    Td3Config c;
    c.ddpg = true;
    c.hidden = {64, 64, 64};
    c.buffer = 1000000;
    return c;
  }
};

class ReplayBuffer {
 public:
  ReplayBuffer(int64_t capacity, int obs_dim, int act_dim)
      : cap_(capacity), od_(obs_dim), ad_(act_dim), s_(static_cast<size_t>(capacity * obs_dim)),
        s2_(static_cast<size_t>(capacity * obs_dim)), a_(static_cast<size_t>(capacity * act_dim)), r_(static_cast<size_t>(capacity)),
        d_(static_cast<size_t>(capacity)) {
    check(capacity > 0, "ReplayBuffer", "capacity must be positive, got ", capacity);
  }
  void add(const std::vector<double>& s, const std::vector<double>& a, double r,
           const std::vector<double>& s2, bool terminated) {
    std::copy(s.begin(), s.end(), s_.begin() + next_ * od_);
    std::copy(s2.begin(), s2.end(), s2_.begin() + next_ * od_);
    std::copy(a.begin(), a.end(), a_.begin() + next_ * ad_);
    r_[size_t(next_)] = r;
    d_[size_t(next_)] = terminated ? 1.0 : 0.0;
    next_ = (next_ + 1) % cap_;
    size_ = std::min(size_ + 1, cap_);
  }
  int64_t size() const { return size_; }
  struct Batch {
    Tensor<float> s, a, r, s2, d;  // [B, obs], [B, act], [B, 1], [B, obs], [B, 1]
    std::vector<double> raw_s;     // [B * obs]
  };
  Batch sample(int n, Generator& gen) const {
    check(size_ > 0, "ReplayBuffer::sample", "the buffer is empty");
    std::vector<double> s(static_cast<size_t>(n * od_)), s2(static_cast<size_t>(n * od_)), a(static_cast<size_t>(n * ad_)), r(static_cast<size_t>(n)),
        d(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      const int64_t k = gen.randint(size_);
      std::copy(s_.begin() + k * od_, s_.begin() + (k + 1) * od_, s.begin() + int64_t(i) * od_);
      std::copy(s2_.begin() + k * od_, s2_.begin() + (k + 1) * od_, s2.begin() + int64_t(i) * od_);
      std::copy(a_.begin() + k * ad_, a_.begin() + (k + 1) * ad_, a.begin() + int64_t(i) * ad_);
      r[size_t(i)] = r_[size_t(k)];
      d[size_t(i)] = d_[size_t(k)];
    }
    Batch b;
    b.s = rows_to_tensor(s, n, od_);
    b.s2 = rows_to_tensor(s2, n, od_);
    b.a = rows_to_tensor(a, n, ad_);
    b.r = rows_to_tensor(r, n, 1);
    b.d = rows_to_tensor(d, n, 1);
    b.raw_s = std::move(s);
    return b;
  }
  // n raw states [n * obs] from the `recent` newest transitions (0 or ≥ size(): all)
  std::vector<double> sample_states(int n, Generator& gen, int64_t recent = 0) const {
    check(size_ > 0, "ReplayBuffer::sample_states", "the buffer is empty");
    const int64_t pool = recent > 0 ? std::min(recent, size_) : size_;
    std::vector<double> s(static_cast<size_t>(n * od_));
    for (int i = 0; i < n; ++i) {
      const int64_t k = ((next_ - 1 - gen.randint(pool)) % cap_ + cap_) % cap_;
      std::copy(s_.begin() + k * od_, s_.begin() + (k + 1) * od_, s.begin() + int64_t(i) * od_);
    }
    return s;
  }

 private:
  int64_t cap_;
  int od_, ad_;
  std::vector<double> s_, s2_, a_, r_, d_;
  int64_t next_ = 0, size_ = 0;
};

namespace detail {
struct Td3Init {
  Generator init_gen;
  explicit Td3Init(uint64_t seed) : init_gen(VecEnv::copy_seed(seed, 5555)) {}
};
// target ← τ source + (1 − τ) target
template <class T>
void soft_update(nn::Module<T>& target, const nn::Module<T>& source, double tau) {
  NoGradGuard ng;
  auto tp = target.parameters(), sp = source.parameters();
  for (size_t i = 0; i < tp.size(); ++i)
    assign_(tp[i], add(mul_scalar(sp[i].detach(), T(tau)), mul_scalar(tp[i].detach(), T(1 - tau))));
}
}  // namespace detail

class Td3Learner : private detail::Td3Init {
 public:
  using T = float;

  Td3Learner(const EnvFactory& make_env, Td3Config cfg, uint64_t seed)
      : detail::Td3Init(seed), cfg_(cfg), venv_(make_env, 1), od_(venv_.obs_dim()),
        ad_(venv_.act_dim()), max_action_(venv_.env(0).action_high()[0]),
        actor(od_, ad_, cfg.hidden, init_gen, max_action_), q1(od_, ad_, cfg.hidden, init_gen),
        q2(od_, ad_, cfg.hidden, init_gen), buffer_(cfg.buffer, od_, ad_),
        gen_(VecEnv::copy_seed(seed, 3333)) {
    check(cfg.batch > 0 && cfg.rollout_steps > 0 && cfg.policy_delay > 0, "Td3Learner",
          "batch, rollout_steps and policy_delay must be positive");
    actor_t = std::static_pointer_cast<nn::DeterministicActor<T>>(actor.clone());
    q1_t = std::static_pointer_cast<nn::QNetwork<T>>(q1.clone());
    q2_t = std::static_pointer_cast<nn::QNetwork<T>>(q2.clone());
    optim::AdamOptions o;
    o.lr = cfg.lr;
    actor_opt_ = std::make_unique<optim::Adam<T>>(actor.parameters(), o);
    auto cp = q1.parameters();
    if (!cfg.ddpg) {
      auto c2 = q2.parameters();
      cp.insert(cp.end(), c2.begin(), c2.end());
    }
    critic_opt_ = std::make_unique<optim::Adam<T>>(cp, o);
    o.lr = cfg.dis_lr;
    dis_opt_ = std::make_unique<optim::Adam<T>>(actor.parameters(), o);
    obs_ = venv_.reset(seed)[0];
  }

  int64_t steps() const { return venv_.total_steps(); }
  int64_t train_steps() const { return train_steps_; }
  VecEnv& env() { return venv_; }
  const ReplayBuffer& buffer() const { return buffer_; }

  Generator& generator() { return gen_; }

  // ---- rl/learner.hpp -----------------------------------------------------------------------
  // rollout_steps environment steps, then (after start_steps) as many train steps, each
  // followed by hook() (DPD's distillation step) and the target update.
  template <class Hook>
  void update(Hook&& hook) {
    for (int i = 0; i < cfg_.rollout_steps; ++i) act_once();
    if (steps() < cfg_.start_steps || buffer_.size() < cfg_.batch) return;
    for (int i = 0; i < cfg_.rollout_steps; ++i) {
      train_once();
      hook();
      if (train_steps_ % (cfg_.ddpg ? 1 : cfg_.policy_delay) == 0) update_targets();
    }
  }
  std::vector<double> recent_states(int n, int64_t recent, Generator& gen) const {
    return buffer_.sample_states(n, gen, recent);
  }
  // π(s) [n, act] without exploration noise (deterministic: `sample` is ignored)
  Tensor<T> act(const std::vector<double>& raw, int n, bool /*sample*/, Generator& /*gen*/) {
    NoGradGuard ng;
    return actor.forward(rows_to_tensor<T>(raw, n, od_));
  }
  // paper: Q1(s, π_own(s)); code: Q1(s, ã_peer)  [n]
  Tensor<T> state_value(const std::vector<double>& raw, int n, ValueEstimate how,
                        const Tensor<T>& peer_actions) {
    NoGradGuard ng;
    Tensor<T> s = rows_to_tensor<T>(raw, n, od_);
    return q1.forward(s, how == ValueEstimate::paper ? actor.forward(s) : peer_actions).reshape({n});
  }
  ImitationResult imitate(const std::vector<double>& raw, int n, const Tensor<T>& peer_actions,
                          const Tensor<T>& weights, const ImitationOptions& o) {
    Tensor<T> s = rows_to_tensor<T>(raw, n, od_);
    ImitationResult r;
    Tensor<T> loss = losses::dpd_imitation_loss(actor.forward(s), peer_actions, weights, o.scale);
    r.loss_before = double(loss.item());
    dis_opt_->zero_grad();
    loss.backward();
    dis_opt_->step();
    NoGradGuard ng;
    r.loss_after =
        double(losses::dpd_imitation_loss(actor.forward(s), peer_actions, weights, o.scale).item());
    return r;
  }

  // deterministic action for one raw observation
  std::vector<double> act(const std::vector<double>& obs) {
    NoGradGuard ng;
    std::vector<T> a = actor.forward(rows_to_tensor<T>(obs, 1, od_)).to_vector();
    return std::vector<double>(a.begin(), a.end());
  }

  nn::DeterministicActor<T>& policy() { return actor; }

 private:
  Td3Config cfg_;
  VecEnv venv_;
  int od_, ad_;
  double max_action_;

 public:
  nn::DeterministicActor<T> actor;
  nn::QNetwork<T> q1, q2;
  std::shared_ptr<nn::DeterministicActor<T>> actor_t;
  std::shared_ptr<nn::QNetwork<T>> q1_t, q2_t;

 private:
  void act_once() {
    std::vector<double> a(static_cast<size_t>(ad_));
    if (steps() < cfg_.start_steps) {
      for (auto& x : a) x = gen_.uniform(-max_action_, max_action_);
    } else {
      a = act(obs_);
      for (auto& x : a)
        x = std::clamp(x + gen_.normal() * cfg_.expl_noise * max_action_, -max_action_, max_action_);
    }
    VecStep s = venv_.step({a});
    const bool done = s.terminated[0] || s.truncated[0];
    buffer_.add(obs_, a, s.rewards[0], done ? s.final_obs[0] : s.obs[0], s.terminated[0]);
    obs_ = s.obs[0];
  }

  void train_once() {
    ++train_steps_;
    ReplayBuffer::Batch b = buffer_.sample(cfg_.batch, gen_);
    Tensor<T> y;
    {
      NoGradGuard ng;
      Tensor<T> a2 = actor_t->forward(b.s2);
      if (!cfg_.ddpg) {
        Tensor<T> noise = clamp(Tensor<T>::randn(a2.shape(), gen_, 0, cfg_.policy_noise * max_action_),
                                T(-cfg_.noise_clip * max_action_), T(cfg_.noise_clip * max_action_));
        a2 = clamp(add(a2, noise), T(-max_action_), T(max_action_));
      }
      Tensor<T> qn = q1_t->forward(b.s2, a2);
      if (!cfg_.ddpg) qn = minimum(qn, q2_t->forward(b.s2, a2));
      y = add(b.r, mul(mul_scalar(rsub_scalar(b.d, T(1)), T(cfg_.gamma)), qn));
    }
    Tensor<T> closs = mean(square(sub(q1.forward(b.s, b.a), y)));
    if (!cfg_.ddpg) closs = add(closs, mean(square(sub(q2.forward(b.s, b.a), y))));
    critic_opt_->zero_grad();
    closs.backward();
    critic_opt_->step();
    if (cfg_.ddpg || train_steps_ % cfg_.policy_delay == 0) {
      Tensor<T> aloss = neg(mean(q1.forward(b.s, actor.forward(b.s))));
      actor_opt_->zero_grad();
      aloss.backward();
      actor_opt_->step();
      q1.zero_grad();
    }
  }
  void update_targets() {
    detail::soft_update(*actor_t, actor, cfg_.tau);
    detail::soft_update(*q1_t, q1, cfg_.tau);
    if (!cfg_.ddpg) detail::soft_update(*q2_t, q2, cfg_.tau);
  }

  ReplayBuffer buffer_;
  Generator gen_;
  std::unique_ptr<optim::Adam<T>> actor_opt_, critic_opt_, dis_opt_;
  std::vector<double> obs_;
  int64_t train_steps_ = 0;
};

}  // namespace distillery::rl
