// losses/losses.hpp — the distillation objectives library, all families in one include.
//
// Every loss is a function: tensors in, tensor out, namespace distillery::losses. The most common
// complaint about distillation code is silent convention differences, so every convention is an
// argument (an enum where a bool would be ambiguous) and is listed here, family by family. The
// equations and reference quirks come from ../shared/papers.md §0–§5 (+ papers-verified.md).
//
// SHARED (common.hpp)
// * Reduction (ops/loss.hpp): none | mean | sum | batchmean. Elementwise losses (kd_loss, MSE-type
//   losses) follow torch: mean = / numel, batchmean = / N. Per-sample losses (cross-entropies):
//   none → [N], mean = batchmean = / N.
// * Teachers: TeacherGrad::detach (default) or ::keep for kd_loss; every other teacher-taking
//   loss always detaches the teacher (the references run it under no_grad). Learned targets
//   (soft_cross_entropy's p, dataset-distillation labels) keep their gradient.
// * u(v) = v / max(‖v‖₂, 1e-12) everywhere a vector is normalised (F.normalize), so u(0) = 0;
//   distances are sqrt(max(‖a‖² + ‖b‖² − 2ab, 1e-12)) with an exact-zero diagonal (pdist).
// * MatchLoss kldiv | l1 | l2 | smooth_l1 (β = 1): l2 is the squared error (MSE-type, not a norm).
// * LossPath automatic | fused | composed. automatic takes the fused kernel (one custom op: forward
//   loop computes loss + student gradient; backward scales it) when one exists for the options
//   and the tensors are on the CPU; the composed path (plain ops) otherwise. A fused loss stays
//   differentiable to any order: under create_graph its rule rebuilds the composed graph.
// * Errors: bad inputs throw distillery::Error("<loss name>: ... <shapes> ...").
// * Files: one header per family (below); common.hpp holds the shared pieces; the fused CPU
//   kernels live in backend/cpu/kd_kernel.hpp and relation_kernels.hpp, reached through the
//   kernel table's fused slots (relations read off Gram matrices: one GEMM per group, no
//   [n, n, d] differences, no n³ tensor), on the per-ISA vectorised exp of
//   backend/cpu/vector_exp.hpp (AVX-512 / AVX2 / baseline chosen at run time, like the GEMM).
//
// RESPONSE (response.hpp)
// * softmax_with_temperature = softmax(z/T); T must be > 0.
// * kd_loss(z, v, T, reduction, TemperatureScale::{none, t_squared}, Divergence::{kl,
//   soft_cross_entropy}): KL = Σ p (log p − log q) (Hinton, RepDistiller: batchmean + T²);
//   soft-CE = −Σ p log q = KL + H(p) (CKD: mean over the batch, no T²). Same student gradient.
// * kd_with_cross_entropy = α · kd_loss + (1 − α) · CE(y, z) (CE at T = 1, batch mean).
// * mutual_learning_loss (DML) = CE + KL(p_peer ‖ p) with batchmean, T = 1, peer detached.
// * self_distillation_loss = (1 − α) CE(y, z) + α CE(softmax(v/T), z), student at T = 1, no T²
//   (Zhang & Sabuncu; defaults there α = 0.4, T = 4).
//
// TRANSFORMER BASELINES (transformer_kd.hpp) — what CKD is compared with
// * pkd_loss: Patient KD, MSE (mean over every element) of L2-normalised [CLS] vectors of the
//   aligned layers [B, L, d]; equal widths (project the student first).
// * hidden_mse_loss / attention_mse_loss: TinyBERT-style; padded tokens left out; attention
//   probabilities (not pre-softmax scores), summed over keys, averaged over valid queries.
//
// FEATURE (feature.hpp)
// * fitnets_hint_loss: regressor (weight [Ct, Cs] + bias, or any callable) along dim 1, trainable;
//   MSE with an explicit reduction (RepDistiller: mean; paper: 0.5 × sum).
// * attention_transfer_loss: map = per-sample L2-normalised channel-mean of |f|^p (p = 2); loss =
//   mean over N × spatial of the squared difference (the β/2 weight is the caller's).
//
// RELATION (relation.hpp)
// * rkd_distance_loss: distances / mean positive distance, smooth-L1, mean over N² (diagonal
//   included). rkd_angle_loss: vertex-centred angles, smooth-L1, mean over N³. Fused: angle.
// * similarity_preserving_loss: row-normalised batch Gram matrices, Σ squared difference / B².
//
// CKD (ckd.hpp): hidden states [B, L, n, d] (aligned layers incl. embeddings), mask [B, n].
// * layer_alignment / align_hidden_states: emb_skip (default), skip, last, final_layer, emb,
//   emb_final, triple — the reference's index rules.
// * Pairs: RelationDistance cosine (row softmax over valid j ≠ i) | l2 | squared_l2 (the
//   reference's "l2", which skips the sqrt); optional mean normalisation; MatchLoss; sum over valid
//   pairs / number of valid pairs including the diagonal.
// * Triples: full (mask m_i m_j m_k, / Σ(Σm)³) or window w (odd ≥ 1, default 21, edge replication,
//   centre-only mask, / Σ m · w²); default l2. LTR: same over the layers of each token.
// * Padded rows and rows without a valid partner are explicitly 0 (the reference gives NaN), so
//   appending padding changes no pair or full-triple loss. ckd_loss = weighted sum of the four
//   terms (the logit term is separate). Fused: cosine+kldiv pairs and all triples.
//
// SMOOTHING (smoothing.hpp)
// * Label smoothing: 1 − ε on the true class, ε/(K − 1) elsewhere (the reference; not ε/K), soft
//   CE with +1e-8 inside the log, batch mean.
// * Beta smoothing: π ~ Beta(a, 1) sorted and rank-matched to the EMA model's true-class
//   confidence (least confident ↔ smallest π); target π / (1 − π)/(K − 1); loss (1 − α) CE + α
//   soft CE. entropy_regularized_loss = CE − β · mean entropy.
//
// DPD (dpd.hpp)
// * Weights w̄ = normalise(clip(exp(β·Δ), 0.01, 100)), stop-gradient; Δ's sign is
//   AdvantageSign::peer_minus_own (paper, DDPG code) or ::own_minus_peer (PPO code).
// * Losses Σ w̄ · mean_d squared action error, or Σ w̄ · NLL; DpdBatchScale::divide_by_batch adds
//   PPO's 1/N.
//
// DATASET DISTILLATION (dataset_distill.hpp)
// * soft_label_cross_entropy with LabelForm::raw (labels used as is) or ::softmax; binary case:
//   BCE-with-logits against soft labels; labels keep their gradient.
//
// METRIC (metric.hpp)
// * distillation_score = α · size_s/size_t + (1 − α) · (1 − acc_s/acc_t): lower is better, 0 ideal,
//   negative only when the student beats the teacher.
//
//   using namespace distillery;
//   namespace L = distillery::losses;
//   auto loss = L::kd_loss(student_logits, teacher_logits, 4.0, Reduction::batchmean,
//                          L::TemperatureScale::t_squared);
//   loss.backward();
#pragma once
#include "ckd.hpp"
#include "common.hpp"
#include "dataset_distill.hpp"
#include "dpd.hpp"
#include "feature.hpp"
#include "metric.hpp"
#include "relation.hpp"
#include "response.hpp"
#include "smoothing.hpp"
#include "transformer_kd.hpp"
