// rl/learner.hpp — the small interface through which methods/dpd.hpp composes RL learners
// (PpoLearner in rl/ppo.hpp, Td3Learner in rl/td3.hpp, DDPG being Td3Learner with ddpg = true).
// It is a compile-time interface (templates, no virtual calls); a learner L provides:
//
//   int64_t steps() const;  VecEnv& env();  Generator& generator();
//   template <class Hook> void update(Hook&& hook);
//       one round of its own algorithm (PPO: a rollout and one PPO update; DDPG/TD3: rollout_steps
//       environment steps and as many train steps), calling hook() after each RL update (PPO:
//       once; DDPG/TD3: after every train step) — where DPD's Algorithm 1 distils
//   std::vector<double> recent_states(int n, int64_t recent, Generator& gen) const;
//       n raw observations [n * obs] drawn from its `recent` newest (0: all it remembers)
//   Tensor<float> act(raw, n, bool sample, Generator& gen);             [n, act], no gradient
//       the policy's output action (PPO: the Gaussian mean, or a sample with sample = true)
//   Tensor<float> state_value(raw, n, ValueEstimate how, const Tensor<float>& peer_actions);  [n]
//   ImitationResult imitate(raw, n, peer_actions [n, act], weights [n], ImitationOptions);
//       one gradient step of the weighted imitation loss on these states
//
// ValueEstimate::paper is V(s) in raw return units (the paper's ξ(s) = V_peer(s) − V_own(s)):
// PPO's value network de-normalised by its own return scale, DDPG/TD3's Q1(s, π_own(s)).
// ValueEstimate::code is the reference code's: PPO's value in its own scaled-reward units,
// DDPG/TD3's critic at the peer's action, Q1_own(s, ã_peer).
#pragma once
#include "../losses/dpd.hpp"

namespace distillery::rl {

enum class ValueEstimate { paper, code };

struct ImitationOptions {
  losses::DpdBatchScale scale = losses::DpdBatchScale::divide_by_batch;
  bool gaussian_nll = false;     // PPO: −log π(ã|s) instead of the squared error of the mean
  bool shared_optimizer = false; // PPO: step with the PPO Adam (clipped), as the reference code
};

struct ImitationResult {
  double loss_before = 0, loss_after = 0;  // the weighted loss on the batch, before / after the step
};

}  // namespace distillery::rl
