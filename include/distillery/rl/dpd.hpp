// rl/dpd.hpp — the Dual Policy Distillation driver (Lai et al., IJCAI 2020; papers.md §4,
// papers-verified §5): two learners of one algorithm, each with its own environment copy,
// seed, networks, optimiser and observation statistics, train in turn; each periodically
// imitates its peer on the peer's states, weighted by w̄ = normalise(clip(exp(β·Δ), 0.01, 100)).
//
//   DpdOptions o;                 // β 0.5, Δ = V_peer − V_own (the paper's sign), every 5th update
//   dpd_train(a, &b, total_steps, o, [&](int who, auto& learner) { log... });
//   dpd_train(a, nullptr, total_steps, o, cb);      // the single-learner baseline
//
// `total_steps` counts the environment steps of both learners together, as the reference's
// curves do (timestep = 2 × a learner's steps), so a single learner run with the same number
// gets the same total budget (the paper's protocol: the baseline gets twice one learner's steps).
// A Learner provides steps() and round(peer, β, sign, every, imitation_steps); peer is null
// for the single learner or with enabled = false. The loop alternates whole rounds (one PPO
// update; one TD3/DDPG cycle of rollout + train steps) and stops once the budget is reached.
#pragma once
#include <cstdint>

#include "../losses/dpd.hpp"

namespace distillery::rl {

struct DpdOptions {
  bool enabled = true;
  double beta = 0.5;  // the confidence-score temperature (paper: α; code: exp-scale)
  losses::AdvantageSign sign = losses::AdvantageSign::peer_minus_own;
  int every = 5;            // PPO: imitate after every `every`-th update (DDPG/TD3: every train step)
  int imitation_steps = 1;  // gradient steps per imitation
};

// callback(int learner_index, Learner&) after each round.
template <class Learner, class Callback>
void dpd_train(Learner& a, Learner* b, int64_t total_steps, const DpdOptions& o, Callback&& callback) {
  auto total = [&] { return a.steps() + (b ? b->steps() : 0); };
  const bool distil = b && o.enabled;
  while (total() < total_steps) {
    a.round(distil ? b : nullptr, o.beta, o.sign, o.every, o.imitation_steps);
    callback(0, a);
    if (b && total() < total_steps) {
      b->round(distil ? &a : nullptr, o.beta, o.sign, o.every, o.imitation_steps);
      callback(1, *b);
    }
  }
}

}  // namespace distillery::rl
