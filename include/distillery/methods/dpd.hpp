// methods/dpd.hpp — Dual Policy Distillation (Lai, Zha, Li, Hu; IJCAI 2020; papers.md §4,
// papers-verified §5): two learners of one RL algorithm, each with its own environment, seed,
// networks, optimisers and statistics, train in turn (Algorithm 1); after each RL update a
// learner takes a weighted imitation step toward its peer on the peer's recent states:
//
//   J(θ) = E_{s ~ peer's 1000 newest transitions}[ ‖π_θ(s) − π̃(s)‖² · exp(α ξ(s)) ],
//   ξ(s) = V_peer(s) − V_own(s)   (Eq. 2: positive on the learner's "disadvantageous" states)
//
// The learners are anything with rl/learner.hpp's interface (PpoLearner, Td3Learner/DDPG).
//
//   DpdOptions o = DpdOptions::paper(/*on_policy=*/true);    // or ::reference_code(true)
//   dpd_train(a, &b, total_steps, o, [&](int who, auto& learner, const DpdRoundStats& d) {...});
//   o.enabled = false;  dpd_train(a, &b, ...)   // two independent learners, diagnostics only
//   dpd_train(a, nullptr, total_steps, o, cb);  // the single-learner baseline
//
// DpdOptions::paper (the default): ξ in raw return units (ValueEstimate::paper), weights
// exp(α ξ) unnormalised with the batch mean (Eq. 11), the peer's mean/deterministic action,
// each learner's separate distillation Adam (PPO lr 1e-5, DDPG/TD3 1e-4: in the learners'
// configs), batch 256 (on-policy) / 64 (off-policy) from the peer's 1000 newest states, after
// every RL update. DpdOptions::reference_code: kiminh/dual-policy-distillation's choices —
// PPO: every 5th update, 512 states from the peer's whole 100k memory, sampled peer actions,
// values in scaled units with the sign own − peer, clip(exp(·), 0.01, 100) normalised, extra
// 1/N, the PPO Adam; DDPG: the critic at the peer's action, clip + normalise, whole buffer.
//
// Diagnostics of every distillation step (DpdStepStats, averaged per round in DpdRoundStats):
// the weighted loss before and after the step on its batch, the weights' effective sample size
// (Σw)² / Σw², the fraction of states with ξ > 0, whether the exp guard rescaled the batch's
// weights (losses/dpd.hpp; the mean over a round is the fraction of steps), the mean ξ, and the paper's §4.4 measure: the mean Euclidean distance between the two
// learners' (deterministic) actions on the same states. With enabled = false and a peer, only
// the distance is measured (once per round), which gives the independent-learner reference.
//
// `total_steps` counts the environment steps of both learners together (the reference's curves),
// so a single learner with the same number gets the same total budget.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "../losses/dpd.hpp"
#include "../rl/learner.hpp"

namespace distillery::methods {

struct DpdOptions {
  bool enabled = true;  // false with a peer: independent learners, distance measured only
  double alpha = 1.0;   // the confidence temperature α (the code's exp-scale; papers.md's β)
  losses::AdvantageSign sign = losses::AdvantageSign::peer_minus_own;
  losses::DpdWeighting weighting = losses::DpdWeighting::exp;
  rl::ValueEstimate values = rl::ValueEstimate::paper;
  int batch = 256;            // peer states per distillation step
  int64_t recent = 1000;      // drawn from the peer's `recent` newest states (0: all it keeps)
  int every = 1;              // distil after every `every`-th RL update
  int imitation_steps = 1;    // gradient steps per distillation
  bool sample_peer_actions = false;  // PPO: ã ~ π_peer instead of its mean
  rl::ImitationOptions imitation;    // loss scale, NLL variant, shared optimiser

  static DpdOptions paper(bool on_policy) {
    DpdOptions o;
    o.batch = on_policy ? 256 : 64;
    return o;
  }
  static DpdOptions reference_code(bool on_policy) {
    DpdOptions o;
    o.weighting = losses::DpdWeighting::clip_normalized;
    o.values = rl::ValueEstimate::code;
    o.recent = 0;
    if (on_policy) {
      o.alpha = 0.5;
      o.sign = losses::AdvantageSign::own_minus_peer;
      o.batch = 512;
      o.every = 5;
      o.sample_peer_actions = true;
      o.imitation.shared_optimizer = true;
    } else {
      o.batch = 64;
      o.imitation.scale = losses::DpdBatchScale::none;
    }
    return o;
  }
};

struct DpdStepStats {
  double loss_before = std::nan(""), loss_after = std::nan("");
  double ess = std::nan(""), positive_fraction = std::nan(""), rescaled = std::nan("");
  double action_distance = std::nan(""), mean_xi = std::nan("");
};

// (Σw)² / Σw² of a weight vector (N for uniform weights, 1 for one weight).
inline double effective_sample_size(const std::vector<double>& w) {
  double s = 0, s2 = 0;
  for (double x : w) {
    s += x;
    s2 += x * x;
  }
  return s2 > 0 ? s * s / s2 : 0.0;
}

// One distillation step of `own` toward `peer` (distil = false: measure only, no step).
template <class Learner>
DpdStepStats dpd_step(Learner& own, Learner& peer, const DpdOptions& o, bool distil) {
  using T = float;
  const int n = o.batch;
  Generator& gen = own.generator();
  const std::vector<double> states = peer.recent_states(n, o.recent, gen);
  Tensor<T> peer_actions = peer.act(states, n, o.sample_peer_actions, gen);
  Tensor<T> peer_mean = o.sample_peer_actions ? peer.act(states, n, false, gen) : peer_actions;
  Tensor<T> own_mean = own.act(states, n, false, gen);
  Tensor<T> v_peer = peer.state_value(states, n, o.values, peer_actions);
  Tensor<T> v_own = own.state_value(states, n, o.values, peer_actions);
  Tensor<T> w = losses::dpd_weights(v_peer, v_own, o.alpha, o.sign, o.weighting);
  DpdStepStats st;
  {
    const std::vector<T> a = own_mean.to_vector(), b = peer_mean.to_vector();
    const size_t d = a.size() / size_t(n);
    double dist = 0;
    for (size_t i = 0; i < size_t(n); ++i) {
      double s = 0;
      for (size_t j = 0; j < d; ++j) s += std::pow(double(a[i * d + j]) - double(b[i * d + j]), 2);
      dist += std::sqrt(s);
    }
    st.action_distance = dist / n;
    const std::vector<T> vp = v_peer.to_vector(), vo = v_own.to_vector(), wv = w.to_vector();
    double pos = 0, top = -std::numeric_limits<double>::infinity(), xi_sum = 0;
    for (size_t i = 0; i < size_t(n); ++i) {
      const double xi = double(vp[i]) - double(vo[i]);
      const double delta = o.sign == losses::AdvantageSign::peer_minus_own ? xi : -xi;
      pos += xi > 0;
      top = std::max(top, o.alpha * delta);
      xi_sum += xi;
    }
    st.positive_fraction = pos / n;
    st.rescaled = o.weighting == losses::DpdWeighting::exp && top > losses::kDpdMaxExponent;
    st.mean_xi = xi_sum / n;
    st.ess = effective_sample_size(std::vector<double>(wv.begin(), wv.end()));
  }
  if (distil) {
    rl::ImitationResult r = own.imitate(states, n, peer_actions, w, o.imitation);
    st.loss_before = r.loss_before;
    st.loss_after = r.loss_after;
  }
  return st;
}

// The mean of a round's distillation steps (count 0: none, all fields NaN).
struct DpdRoundStats {
  DpdStepStats mean;
  int count = 0;
  void add(const DpdStepStats& s) {
    double* dst[] = {&mean.loss_before, &mean.loss_after, &mean.ess, &mean.positive_fraction,
                     &mean.rescaled, &mean.action_distance, &mean.mean_xi};
    const double src[] = {s.loss_before, s.loss_after, s.ess, s.positive_fraction,
                          s.rescaled, s.action_distance, s.mean_xi};
    ++count;
    for (size_t k = 0; k < 7; ++k) {
      if (!std::isfinite(src[k])) continue;
      if (!std::isfinite(*dst[k])) *dst[k] = 0;
      *dst[k] += (src[k] - *dst[k]) / count;  // running mean
    }
  }
};

// Algorithm 1: a round of learner a (an RL update, each followed by its distillation step),
// then one of b, until the learners' steps together reach total_steps.
// callback(int learner_index, Learner&, const DpdRoundStats&) after each round.
template <class Learner, class Callback>
void dpd_train(Learner& a, Learner* b, int64_t total_steps, const DpdOptions& o,
               Callback&& callback) {
  check(o.batch > 0 && o.every > 0 && o.imitation_steps > 0 && o.recent >= 0, "dpd_train",
        "batch ", o.batch, ", every ", o.every, " and imitation_steps ", o.imitation_steps,
        " must be positive, recent ", o.recent, " non-negative");
  auto total = [&] { return a.steps() + (b ? b->steps() : 0); };
  int64_t hooks[2] = {0, 0};
  auto round = [&](int who, Learner& own, Learner* peer) {
    DpdRoundStats acc;
    own.update([&] {
      if (!peer || !o.enabled || peer->steps() == 0 || ++hooks[who] % o.every != 0) return;
      for (int k = 0; k < o.imitation_steps; ++k) acc.add(dpd_step(own, *peer, o, true));
    });
    if (peer && !o.enabled && peer->steps() > 0) acc.add(dpd_step(own, *peer, o, false));
    callback(who, own, static_cast<const DpdRoundStats&>(acc));
  };
  while (total() < total_steps) {
    round(0, a, b);
    if (b && total() < total_steps) round(1, *b, &a);
  }
}

}  // namespace distillery::methods
