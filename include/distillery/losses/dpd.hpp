// losses/dpd.hpp — Dual Policy Distillation (Lai, Zha, Li, Hu; IJCAI 2020).
//
//   dpd_weights(V_peer [N], V_own [N], α, sign, weighting)  no grad, [N]:
//       DpdWeighting::clip_normalized (default; the reference code): normalise(clip(exp(α·Δ), 0.01, 100))
//       DpdWeighting::exp (the paper's Eq. 11):                       exp(α·Δ), see the guard below
//   dpd_imitation_loss(a [N, D], ã [N, D], w, scale)   c · Σ_i w_i · mean_d (a_id − ã_id)²
//   dpd_nll_loss(log π(ã|s) [N], w, scale)             c · Σ_i w_i · (−log π(ã_i|s_i))
//   dpd_gaussian_nll_loss(μ [N, D], log σ, ã [N, D], w, scale)  the NLL loss with ã detached
//   gaussian_log_prob(μ [N, D], log σ [D] or [N, D], a [N, D])  Σ_d log N(a_d; μ_d, σ_d²)  [N]
//       (a general log-density: the gradient reaches μ, log σ and a; DPD uses the wrapper above)
//
// Conventions (the paper, papers-verified §5a, and kiminh/dual-policy-distillation):
// * The advantage sign is an explicit argument because the two reference implementations
//   disagree: AdvantageSign::peer_minus_own (Δ = V_peer − V_own) is the paper's Eq. 2 and the
//   DPD-DDPG code; ::own_minus_peer is what the DPD-PPO code computes (a likely bug, kept
//   reproducible). With peer_minus_own, states where the peer is better weigh more.
// * Clipping to [0.01, 100] and normalising to sum 1 are code-only (the paper's Eq. 11 is an
//   unnormalised expectation E[D · exp(α ξ)]: use DpdWeighting::exp with divide_by_batch). Guard
//   of ::exp: when the batch's largest exponent α·Δ exceeds 30, all weights are multiplied by
//   the one constant exp(30 − max α·Δ), so that w² (Adam's second moment) stays finite in float;
//   the relative weights, hence the effective sample size, are exactly Eq. 11's. The weights are constants
//   for the gradient (stop-gradient). α = 0 gives uniform weights (behaviour cloning of the peer).
// * DpdBatchScale::none is DDPG's Σ w̄ · (…); ::divide_by_batch is PPO's extra 1/N (and the
//   batch mean of Eq. 11).
// * Peer actions are detached in every loss here; gradient flows only into the learner's own
//   actions / log-probs (gaussian_log_prob itself is general: call dpd_gaussian_nll_loss).
#pragma once
#include "common.hpp"

namespace distillery::losses {

enum class AdvantageSign { peer_minus_own, own_minus_peer };
enum class DpdBatchScale { none, divide_by_batch };
enum class DpdWeighting { clip_normalized, exp };
constexpr double kDpdMaxExponent = 30.0;  // DpdWeighting::exp: |α·Δ| is clamped to this

template <class T>
Tensor<T> dpd_weights(const Tensor<T>& peer_values, const Tensor<T>& own_values, double beta,
                      AdvantageSign sign,
                      DpdWeighting weighting = DpdWeighting::clip_normalized) {
  check_inputs("dpd_weights", peer_values, own_values);
  check(peer_values.defined() && own_values.defined() && peer_values.dim() == 1 &&
            peer_values.shape() == own_values.shape(),
        "dpd_weights", "peer values ", detail::shape_of(peer_values), " and own values ",
        detail::shape_of(own_values), " must both be [N]");
  NoGradGuard no_grad;
  Tensor<T> delta = sign == AdvantageSign::peer_minus_own
                        ? sub(peer_values.detach(), own_values.detach())
                        : sub(own_values.detach(), peer_values.detach());
  if (weighting == DpdWeighting::exp) {
    Tensor<T> e = mul_scalar(delta, T(beta));
    const double top = double(max(e).item());
    return top > kDpdMaxExponent ? exp(add_scalar(e, T(kDpdMaxExponent - top))) : exp(e);
  }
  Tensor<T> w = clamp(exp(mul_scalar(delta, T(beta))), T(0.01), T(100));
  return div(w, sum(w));
}

namespace detail {
template <class T>
void check_weights(const Tensor<T>& w, int64_t N, const char* loss) {
  check(w.defined() && w.shape() == Shape{N}, loss, "weights ", detail::shape_of(w),
        " must be [N] = [", N, "]");
}
template <class T>
Tensor<T> dpd_scale(const Tensor<T>& l, DpdBatchScale scale, int64_t N) {
  return scale == DpdBatchScale::divide_by_batch
             ? mul_scalar(l, T(1.0 / double(std::max<int64_t>(N, 1))))
             : l;
}
}  // namespace detail

template <class T>
Tensor<T> dpd_imitation_loss(const Tensor<T>& actions, const Tensor<T>& peer_actions,
                             const Tensor<T>& weights, DpdBatchScale scale) {
  check_inputs("dpd_imitation_loss", actions, peer_actions, weights);
  check(actions.defined() && peer_actions.defined() && actions.dim() == 2 &&
            actions.shape() == peer_actions.shape(),
        "dpd_imitation_loss", "actions ", detail::shape_of(actions), " and peer actions ",
        detail::shape_of(peer_actions), " must both be [N, D]");
  const int64_t N = actions.shape()[0];
  detail::check_weights(weights, N, "dpd_imitation_loss");
  Tensor<T> per_state = mean(square(sub(actions, peer_actions.detach())), {1});
  return detail::dpd_scale(sum(mul(weights.detach(), per_state)), scale, N);
}

template <class T>
Tensor<T> dpd_nll_loss(const Tensor<T>& log_probs, const Tensor<T>& weights, DpdBatchScale scale) {
  check_inputs("dpd_nll_loss", log_probs, weights);
  check(log_probs.defined() && log_probs.dim() == 1, "dpd_nll_loss", "log-probabilities ",
        detail::shape_of(log_probs), " must be [N]");
  detail::check_weights(weights, log_probs.shape()[0], "dpd_nll_loss");
  return detail::dpd_scale(neg(sum(mul(weights.detach(), log_probs))), scale, log_probs.shape()[0]);
}

template <class T>
Tensor<T> gaussian_log_prob(const Tensor<T>& mean_actions, const Tensor<T>& log_std,
                            const Tensor<T>& actions) {
  check_inputs("gaussian_log_prob", mean_actions, log_std, actions);
  check(mean_actions.defined() && log_std.defined() && actions.defined() &&
            mean_actions.dim() == 2 && actions.shape() == mean_actions.shape() &&
            (log_std.shape() == Shape{mean_actions.shape()[1]} ||
             log_std.shape() == mean_actions.shape()),
        "gaussian_log_prob", "mean ", detail::shape_of(mean_actions), ", log_std ",
        detail::shape_of(log_std), " and actions ", detail::shape_of(actions),
        " must be [N, D], [D] or [N, D], and [N, D]");
  Tensor<T> z = mul(sub(actions, mean_actions), exp(neg(log_std)));
  Tensor<T> per_dim = add_scalar(add(mul_scalar(square(z), T(-0.5)), neg(log_std)),
                                 T(-0.91893853320467274178));  // −½ log 2π
  return sum(per_dim, {1});
}

// −Σ_i w_i log N(ã_i; μ_i, σ²) (times c): the NLL variant with the peer's actions ã detached.
template <class T>
Tensor<T> dpd_gaussian_nll_loss(const Tensor<T>& mean_actions, const Tensor<T>& log_std,
                                const Tensor<T>& peer_actions, const Tensor<T>& weights,
                                DpdBatchScale scale) {
  check(peer_actions.defined(), "dpd_gaussian_nll_loss", "peer actions are undefined");
  return dpd_nll_loss(gaussian_log_prob(mean_actions, log_std, peer_actions.detach()), weights, scale);
}

}  // namespace distillery::losses
