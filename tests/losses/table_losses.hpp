// tests/losses/table_losses.hpp — the distillation losses as op-test harness entries
// (tests/ops/harness.hpp), shared by tests/losses/test_ad.cpp (finite differences, first and
// second order) and tests/cuda/test_cuda_ops_table.cpp (CPU vs CUDA). Teacher inputs are
// constants (every loss detaches them); masks and labels are made inside each entry on
// ids_device(), so the same entries run on either device.
#pragma once

#include <distillery/distillery.hpp>

#include "../ops/harness.hpp"

namespace dtest {
using namespace distillery::losses;
using distillery::Reduction;

// A fixed padding mask [2, 6] for the CKD entries (row 1 has three padded tokens).
template <class T>
Tensor<T> ckd_mask() {
  return Tensor<T>::from_vector({1, 1, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0}, Shape{2, 6}).to(ids_device());
}

inline void response_entries(Table& t) {
  const std::vector<int64_t> lv = {1, 0, 4, 2};
  const Gen c = Gen().no_grad();
  const Gen free;
  for (auto [path, tag] :
       {std::pair{LossPath::automatic, "fused"}, std::pair{LossPath::composed, "composed"}}) {
    t.add("kd_loss", {{4, 5}, {4, 5}},
          FN(kd_loss(x[0], x[1], 2.0, Reduction::batchmean, TemperatureScale::t_squared,
                     Divergence::kl, TeacherGrad::detach, path)),
          std::string("kl batchmean T² ") + tag)
        .gens({free, c});
    t.add("kd_loss", {{4, 5}, {4, 5}},
          FN(kd_loss(x[0], x[1], 3.0, Reduction::mean, TemperatureScale::none,
                     Divergence::soft_cross_entropy, TeacherGrad::detach, path)),
          std::string("soft-CE mean ") + tag)
        .gens({free, c});
    t.add("kd_with_cross_entropy", {{4, 5}, {4, 5}},
          FN(kd_with_cross_entropy(x[0], x[1], ids(lv), 0.7, 4.0, Reduction::batchmean,
                                   TemperatureScale::t_squared, Divergence::kl, path)),
          tag)
        .gens({free, c});
    t.add("mutual_learning_loss", {{4, 5}, {4, 5}},
          FN(mutual_learning_loss(x[0], x[1], ids(lv), path)), tag)
        .gens({free, c});
  }
  t.add("kd_loss", {{4, 5}, {4, 5}},
        FN(kd_loss(x[0], x[1], 2.0, Reduction::none, TemperatureScale::t_squared)),
        "none (composed)")
      .gens({free, c});
  t.add("kd_loss", {{4, 5}, {4, 5}},
        FN(kd_loss(x[0], x[1], 2.0, Reduction::sum, TemperatureScale::none, Divergence::kl,
                   TeacherGrad::keep)),
        "teacher keeps grad (composed)");
  t.add("softmax_with_temperature", {{3, 4}}, FN(softmax_with_temperature(x[0], 2.5)));
  t.add("soft_cross_entropy", {{4, 5}, {4, 5}},
        FN(soft_cross_entropy(x[0], x[1], Reduction::none, 2.0)), "none");
  t.add("soft_cross_entropy", {{4, 5}, {4, 5}}, FN(soft_cross_entropy(x[0], x[1], Reduction::mean)),
        "mean");
  t.add("self_distillation_loss", {{4, 5}, {4, 5}},
        FN(self_distillation_loss(x[0], x[1], ids(lv), 0.4, 4.0)))
      .gens({free, c});
  t.add("self_distillation_loss", {{4, 5}, {4, 5}},
        FN(self_distillation_loss(x[0], x[1], ids(lv), 0.4, 4.0, SelfDistillForm::reference_eps)),
        "reference_eps: log(softmax + 1e-8)")
      .gens({free, c});
}

inline void feature_relation_entries(Table& t) {
  const Gen c = Gen().no_grad();
  const Gen free;
  t.add("fitnets_hint_loss", {{3, 4, 2, 2}, {3, 5, 2, 2}, {5, 4}, {5}},
        FN(fitnets_hint_loss(x[0], x[1], x[2], x[3], Reduction::mean)), "1×1 conv regressor")
      .gens({free, c, free, free});
  t.add("fitnets_hint_loss", {{3, 4}, {3, 5}, {5, 4}},
        FN(fitnets_hint_loss(x[0], x[1], x[2], Tensor<T>(), Reduction::sum)), "linear")
      .gens({free, c, free});
  t.add("attention_transfer_loss", {{2, 3, 3, 3}, {2, 4, 3, 3}},
        FN(attention_transfer_loss(x[0], x[1])))
      .gens({free, c});
  t.add("rkd_distance_loss", {{6, 3}, {6, 4}}, FN(rkd_distance_loss(x[0], x[1]))).gens({free, c});
  t.add("rkd_angle_loss", {{6, 3}, {6, 4}}, FN(rkd_angle_loss(x[0], x[1])), "fused")
      .gens({free, c});
  t.add("rkd_angle_loss", {{6, 3}, {6, 4}}, FN(rkd_angle_loss(x[0], x[1], LossPath::composed)),
        "composed")
      .gens({free, c});
  t.add("similarity_preserving_loss", {{4, 3, 2}, {4, 5}},
        FN(similarity_preserving_loss(x[0], x[1])))
      .gens({free, c});
}

inline void transformer_kd_entries(Table& t) {
  const Gen c = Gen().no_grad();
  const Gen free;
  t.add("pkd_loss", {{4, 3, 5}, {4, 3, 5}}, FN(pkd_loss(x[0], x[1]))).gens({free, c});
  t.add("hidden_mse_loss", {{2, 3, 6, 4}, {2, 3, 6, 4}},
        FN(hidden_mse_loss(x[0], x[1], ckd_mask<T>())), "masked")
      .gens({free, c});
  t.add("hidden_mse_loss", {{2, 2, 3, 4}, {2, 2, 3, 4}}, FN(hidden_mse_loss(x[0], x[1])),
        "no mask")
      .gens({free, c});
  t.add("attention_mse_loss", {{2, 3, 6, 6}, {2, 3, 6, 6}},
        FN(attention_mse_loss(softmax(x[0], -1), softmax(x[1], -1), ckd_mask<T>())), "masked")
      .gens({free, c});
}

inline void ckd_entries(Table& t) {
  const Gen c = Gen().no_grad();
  const Gen free;
  const std::vector<Shape> hs = {{2, 3, 6, 4}, {2, 3, 6, 5}};
  for (auto [path, tag] :
       {std::pair{LossPath::automatic, "fused"}, std::pair{LossPath::composed, "composed"}}) {
    t.add("word_relation_pair_loss", hs,
          FN(word_relation_pair_loss(x[0], x[1], ckd_mask<T>(), RelationDistance::cosine,
                                     MatchLoss::kldiv, false, path)),
          tag)
        .gens({free, c});
    t.add("layer_relation_pair_loss", hs,
          FN(layer_relation_pair_loss(x[0], x[1], ckd_mask<T>(), RelationDistance::cosine,
                                      MatchLoss::kldiv, false, path)),
          tag)
        .gens({free, c});
    t.add("word_relation_triple_loss", hs,
          FN(word_relation_triple_loss(x[0], x[1], ckd_mask<T>(), MatchLoss::l2, path)), tag)
        .gens({free, c});
    t.add("word_relation_window_loss", hs,
          FN(word_relation_window_loss(x[0], x[1], ckd_mask<T>(), 3, MatchLoss::l2, path)),
          std::string("w = 3 ") + tag)
        .gens({free, c});
    t.add("word_relation_window_loss", hs,
          FN(word_relation_window_loss(x[0], x[1], ckd_mask<T>(), 21, MatchLoss::smooth_l1, path)),
          std::string("w = 21 smooth-L1 ") + tag)
        .gens({free, c});
    t.add("layer_relation_triple_loss", hs,
          FN(layer_relation_triple_loss(x[0], x[1], ckd_mask<T>(), MatchLoss::l2, path)), tag)
        .gens({free, c});
    t.add("ckd_loss", hs,
          FN(ckd_loss(x[0], x[1], ckd_mask<T>(), CkdWeights{1, 10, 1, 10}, WordTriple::window, 5,
                      path)),
          tag)
        .gens({free, c});
  }
  t.add("word_relation_pair_loss", hs,
        FN(word_relation_pair_loss(x[0], x[1], ckd_mask<T>(), RelationDistance::l2,
                                   MatchLoss::smooth_l1, true)),
        "l2 normalised smooth-L1")
      .gens({free, c});
  t.add("word_relation_pair_loss", hs,
        FN(word_relation_pair_loss(x[0], x[1], ckd_mask<T>(), RelationDistance::squared_l2,
                                   MatchLoss::l2, false)),
        "squared l2, l2")
      .gens({free, c});
  t.add("layer_relation_pair_loss", hs,
        FN(layer_relation_pair_loss(x[0], x[1], ckd_mask<T>(), RelationDistance::l2, MatchLoss::l2,
                                    true)),
        "l2 normalised")
      .gens({free, c});
}

inline void other_entries(Table& t) {
  const std::vector<int64_t> lv = {1, 0, 4, 2};
  const Gen c = Gen().no_grad();
  const Gen free;
  t.add("label_smoothing_loss", {{4, 5}}, FN(label_smoothing_loss(x[0], ids(lv), 0.1)));
  t.add("beta_smoothing_loss", {{4, 5}, {4, 5}},
        FN(beta_smoothing_loss(
            x[0], ids(lv), beta_smoothing_targets_from_samples(x[1], ids(lv), {0.9, 0.3, 0.7, 0.5}),
            0.6)))
      .gens({free, c});
  t.add("entropy_regularized_loss", {{4, 5}}, FN(entropy_regularized_loss(x[0], ids(lv), 0.5)));
  t.add("dpd_weights", {{6}, {6}}, FN(dpd_weights(x[0], x[1], 0.75, AdvantageSign::peer_minus_own)))
      .values_only();
  t.add("dpd_imitation_loss", {{6, 2}, {6, 2}, {6}, {6}},
        FN(dpd_imitation_loss(x[0], x[1],
                              dpd_weights(x[2], x[3], 0.75, AdvantageSign::peer_minus_own),
                              DpdBatchScale::none)))
      .gens({free, c, c, c});
  t.add("dpd_nll_loss", {{6, 2}, {2}, {6, 2}, {6}, {6}},
        FN(dpd_nll_loss(gaussian_log_prob(x[0], x[1], x[2]),
                        dpd_weights(x[3], x[4], 0.5, AdvantageSign::own_minus_peer),
                        DpdBatchScale::divide_by_batch)))
      .gens({free, free, c, c, c});
  t.add("soft_label_cross_entropy", {{4, 5}, {4, 5}},
        FN(soft_label_cross_entropy(x[0], x[1], LabelForm::raw)), "raw");
  t.add("soft_label_cross_entropy", {{4, 5}, {4, 5}},
        FN(soft_label_cross_entropy(x[0], x[1], LabelForm::softmax)), "softmax");
  t.add("soft_label_binary_cross_entropy", {{5}, {5}},
        FN(soft_label_binary_cross_entropy(x[0], x[1])));
}

}  // namespace dtest
