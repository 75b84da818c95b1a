// tests/losses/test_golden.cpp — every loss against PyTorch golden values (value + gradients),
// computed in float64 by tests/fixtures/make_loss_fixtures.py. Losses with a fused kernel are
// checked on both paths.
#include <distillery/distillery.hpp>

#include <doctest/doctest.h>

#include "fixture.hpp"

using namespace distillery;
using namespace distillery::losses;
using golden_fixture::expect_golden;
using golden_fixture::golden;
using golden_fixture::Inputs;

namespace {
const LossPath kPaths[] = {LossPath::composed, LossPath::automatic};

Reduction reduction_named(const std::string& s) {
  if (s == "none") return Reduction::none;
  if (s == "sum") return Reduction::sum;
  if (s == "mean") return Reduction::mean;
  return Reduction::batchmean;
}
}  // namespace

TEST_CASE("golden: response losses") {
  struct Kd {
    const char* name;
    Reduction r;
    TemperatureScale s;
    Divergence d;
  };
  const Kd kds[] = {
      {"kd_kl_batchmean_t2", Reduction::batchmean, TemperatureScale::t_squared, Divergence::kl},
      {"kd_kl_mean_not2", Reduction::mean, TemperatureScale::none, Divergence::kl},
      {"kd_kl_sum_t2", Reduction::sum, TemperatureScale::t_squared, Divergence::kl},
      {"kd_soft_ce_batchmean_not2", Reduction::batchmean, TemperatureScale::none,
       Divergence::soft_cross_entropy},
      {"kd_kl_none_t2", Reduction::none, TemperatureScale::t_squared, Divergence::kl},
      {"kd_soft_ce_none_not2", Reduction::none, TemperatureScale::none,
       Divergence::soft_cross_entropy}};
  for (const auto& k : kds)
    for (LossPath path : kPaths) {
      const auto& c = golden(k.name);
      const double T = c.scalar("temperature");
      expect_golden(c, {"z"}, [&](Inputs& in) {
        return kd_loss(in["z"], in["v"], T, k.r, k.s, k.d, TeacherGrad::detach, path);
      });
    }
  for (const char* r : {"mean", "sum", "none"}) {
    const auto& c = golden(std::string("soft_ce_") + r);
    expect_golden(c, {"z", "p"}, [&](Inputs& in) {
      return soft_cross_entropy(in["z"], in["p"], reduction_named(r), c.scalar("temperature"));
    });
  }
  {
    const auto& c = golden("softmax_t");
    expect_golden(c, {"z"}, [&](Inputs& in) {
      return mul(softmax_with_temperature(in["z"], c.scalar("temperature")),
                 Tensor<double>::arange(1.0, 6.0));
    });
  }
  for (LossPath path : kPaths) {
    const auto& c = golden("kd_with_ce");
    expect_golden(c, {"z"}, [&](Inputs& in) {
      return kd_with_cross_entropy(in["z"], in["v"], c.index("labels"), c.scalar("alpha"),
                                   c.scalar("temperature"), Reduction::batchmean,
                                   TemperatureScale::t_squared, Divergence::kl, path);
    });
    const auto& m = golden("mutual_learning");
    expect_golden(m, {"z"}, [&](Inputs& in) {
      return mutual_learning_loss(in["z"], in["v"], m.index("labels"), path);
    });
  }
  const auto& sd = golden("self_distillation");
  expect_golden(sd, {"z"}, [&](Inputs& in) {
    return self_distillation_loss(in["z"], in["v"], sd.index("labels"), sd.scalar("alpha"),
                                  sd.scalar("temperature"));
  });
}

TEST_CASE("golden: feature losses") {
  expect_golden(golden("fitnets_conv"), {"s", "w", "b"}, [&](Inputs& in) {
    return fitnets_hint_loss(in["s"], in["t"], in["w"], in["b"], Reduction::mean);
  });
  expect_golden(golden("fitnets_linear_sum"), {"s", "w"}, [&](Inputs& in) {
    return fitnets_hint_loss(in["s"], in["t"], in["w"], Tensor<double>(), Reduction::sum);
  });
  expect_golden(golden("fitnets_linear_sum"), {"s", "w"}, [&](Inputs& in) {  // callable regressor
    auto w = in["w"];
    return fitnets_hint_loss(
        in["s"], in["t"], [w](const Tensor<double>& x) { return matmul(x, transpose(w, 0, 1)); },
        Reduction::sum);
  });
  expect_golden(golden("attention_transfer"), {"s"}, [&](Inputs& in) {
    return attention_transfer_loss(in["s"], in["t"], 2.0, Reduction::mean);
  });
}

TEST_CASE("golden: relation losses") {
  expect_golden(golden("rkd_distance"), {"s"},
                [&](Inputs& in) { return rkd_distance_loss(in["s"], in["t"]); });
  for (LossPath path : kPaths) {
    expect_golden(golden("rkd_angle"), {"s"},
                  [&](Inputs& in) { return rkd_angle_loss(in["s"], in["t"], path); });
    const auto& c = golden("rkd_total");
    expect_golden(c, {"s"}, [&](Inputs& in) {
      return rkd_loss(in["s"], in["t"], c.scalar("distance_weight"), c.scalar("angle_weight"),
                      path);
    });
  }
  expect_golden(golden("similarity_preserving"), {"s"},
                [&](Inputs& in) { return similarity_preserving_loss(in["s"], in["t"]); });
}

TEST_CASE("golden: CKD relations (with padding)") {
  struct Pair {
    const char* tag;
    RelationDistance d;
    MatchLoss f;
    bool normalize;
  };
  const Pair pairs[] = {
      {"cos_kldiv_raw", RelationDistance::cosine, MatchLoss::kldiv, false},
      {"cos_l2_raw", RelationDistance::cosine, MatchLoss::l2, false},
      {"l2_smooth_l1_norm", RelationDistance::l2, MatchLoss::smooth_l1, true},
      {"squared_l2_l1_raw", RelationDistance::squared_l2, MatchLoss::l1, false},
      {"squared_l2_kldiv_norm", RelationDistance::squared_l2, MatchLoss::kldiv, true}};
  for (const auto& p : pairs)
    for (LossPath path : kPaths) {
      expect_golden(golden(std::string("wr_pair_") + p.tag), {"s"}, [&](Inputs& in) {
        return word_relation_pair_loss(in["s"], in["t"], in["mask"], p.d, p.f, p.normalize, path);
      });
      expect_golden(golden(std::string("ltr_pair_") + p.tag), {"s"}, [&](Inputs& in) {
        return layer_relation_pair_loss(in["s"], in["t"], in["mask"], p.d, p.f, p.normalize, path);
      });
    }
  const std::pair<const char*, MatchLoss> fs[] = {
      {"l2", MatchLoss::l2}, {"l1", MatchLoss::l1}, {"smooth_l1", MatchLoss::smooth_l1}};
  for (const auto& [name, f] : fs)
    for (LossPath path : kPaths) {
      expect_golden(golden(std::string("wr_triple_") + name), {"s"}, [&](Inputs& in) {
        return word_relation_triple_loss(in["s"], in["t"], in["mask"], f, path);
      });
      expect_golden(golden(std::string("ltr_triple_") + name), {"s"}, [&](Inputs& in) {
        return layer_relation_triple_loss(in["s"], in["t"], in["mask"], f, path);
      });
    }
  const std::pair<const char*, MatchLoss> windows[] = {
      {"wr_window_3_l2", MatchLoss::l2},
      {"wr_window_5_smooth_l1", MatchLoss::smooth_l1},
      {"wr_window_1_l2", MatchLoss::l2},
      {"wr_window_21_l1", MatchLoss::l1}};
  for (const auto& [name, f] : windows)
    for (LossPath path : kPaths) {
      const auto& c = golden(name);
      expect_golden(c, {"s"}, [&](Inputs& in) {
        // the fixtures follow the reference (padded neighbours count)
        return word_relation_window_loss(in["s"], in["t"], in["mask"], int64_t(c.scalar("window")),
                                         f, path, PaddedNeighbours::counted);
      });
    }
  for (LossPath path : kPaths) {
    const auto& c = golden("ckd_total_window5");
    expect_golden(c, {"s"}, [&](Inputs& in) {
      CkdWeights w{c.scalar("wr_pair"), c.scalar("wr_triple"), c.scalar("ltr_pair"),
                   c.scalar("ltr_triple")};
      return ckd_loss(in["s"], in["t"], in["mask"], w, WordTriple::window,
                      int64_t(c.scalar("window")), path, PaddedNeighbours::counted);
    });
  }
}

TEST_CASE("golden: CKD layer alignment") {
  int checked = 0;
  for (const auto& [name, c] : golden_fixture::all()) {
    if (name.rfind("alignment_", 0) != 0) continue;
    auto [t, s] =
        layer_alignment(int64_t(c.scalar("teacher_states")), int64_t(c.scalar("student_states")),
                        AlignmentStrategy(int(c.scalar("strategy"))));
    CHECK_MESSAGE(t == c.index("teacher").to_vector(), name);
    CHECK_MESSAGE(s == c.index("student").to_vector(), name);
    ++checked;
  }
  CHECK(checked == 28);
}

TEST_CASE("golden: smoothing, DPD and dataset-distillation losses") {
  const auto& ls = golden("label_smoothing");
  expect_golden(ls, {"z"}, [&](Inputs& in) {
    return label_smoothing_loss(in["z"], ls.index("labels"), ls.scalar("epsilon"));
  });
  const auto& bt = golden("beta_targets");
  expect_golden(bt, {}, [&](Inputs& in) {
    return beta_smoothing_targets_from_samples(in["ema"], bt.index("labels"),
                                               in["samples"].to_vector());
  });
  const auto& bs = golden("beta_smoothing");
  expect_golden(bs, {"z"}, [&](Inputs& in) {
    auto targets = beta_smoothing_targets_from_samples(in["ema"], bs.index("labels"),
                                                       bt.tensor("samples").to_vector());
    return beta_smoothing_loss(in["z"], bs.index("labels"), targets, bs.scalar("alpha"));
  });
  const auto& er = golden("entropy_regularized");
  expect_golden(er, {"z"}, [&](Inputs& in) {
    return entropy_regularized_loss(in["z"], er.index("labels"), er.scalar("beta"));
  });

  const auto& d1 = golden("dpd_imitation_peer_minus_own");
  expect_golden(d1, {"a"}, [&](Inputs& in) {
    auto w =
        dpd_weights(in["peer_v"], in["own_v"], d1.scalar("beta"), AdvantageSign::peer_minus_own);
    return dpd_imitation_loss(in["a"], in["peer"], w, DpdBatchScale::none);
  });
  const auto& d2 = golden("dpd_imitation_own_minus_peer");
  expect_golden(d2, {"a"}, [&](Inputs& in) {
    auto w =
        dpd_weights(in["peer_v"], in["own_v"], d2.scalar("beta"), AdvantageSign::own_minus_peer);
    return dpd_imitation_loss(in["a"], in["peer"], w, DpdBatchScale::divide_by_batch);
  });
  const auto& d3 = golden("dpd_nll");
  expect_golden(d3, {"mu", "log_std"}, [&](Inputs& in) {
    auto w =
        dpd_weights(in["peer_v"], in["own_v"], d3.scalar("beta"), AdvantageSign::own_minus_peer);
    return dpd_nll_loss(gaussian_log_prob(in["mu"], in["log_std"], in["peer"]), w,
                        DpdBatchScale::divide_by_batch);
  });

  expect_golden(golden("soft_label_ce_raw"), {"z", "y"}, [&](Inputs& in) {
    return soft_label_cross_entropy(in["z"], in["y"], LabelForm::raw);
  });
  expect_golden(golden("soft_label_ce_softmax"), {"z", "y"}, [&](Inputs& in) {
    return soft_label_cross_entropy(in["z"], in["y"], LabelForm::softmax);
  });
  expect_golden(golden("soft_label_bce"), {"z", "y"},
                [&](Inputs& in) { return soft_label_binary_cross_entropy(in["z"], in["y"]); });
}
