// tests/losses/test_errors.cpp — bad inputs throw distillery::Error naming the loss and shapes.
#include <distillery/distillery.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace distillery;
using namespace distillery::losses;
using TD = Tensor<double>;

namespace {
// Runs f, expects an Error whose message contains every one of `parts`.
template <class F>
void expect_error(F&& f, std::initializer_list<const char*> parts) {
  std::string msg;
  try {
    f();
  } catch (const Error& e) {
    msg = e.what();
  }
  REQUIRE_MESSAGE(!msg.empty(), "no distillery::Error thrown (expected ", *parts.begin(), ")");
  for (const char* p : parts) CHECK_MESSAGE(msg.find(p) != std::string::npos, msg, " lacks ", p);
}
}  // namespace

TEST_CASE("errors: mismatched batch and widths name the loss and the shapes") {
  expect_error(
      [] {
        kd_loss(TD::zeros({4, 5}), TD::zeros({3, 5}), 2.0, Reduction::batchmean,
                TemperatureScale::t_squared);
      },
      {"kd_loss", "[4, 5]", "[3, 5]"});
  expect_error(
      [] {
        kd_loss(TD::zeros({4, 5}), TD::zeros({4, 6}), 2.0, Reduction::sum, TemperatureScale::none);
      },
      {"kd_loss", "[4, 5]", "[4, 6]"});
  expect_error(
      [] {
        soft_cross_entropy(TD::zeros({4, 5}), TD::zeros({4, 3}), Reduction::mean);
      },
      {"soft_cross_entropy", "[4, 3]"});
  expect_error(
      [] {
        kd_with_cross_entropy(TD::zeros({4, 5}), TD::zeros({4, 5}), Tensor<int64_t>::zeros({3}),
                              0.5, 2.0, Reduction::batchmean, TemperatureScale::t_squared);
      },
      {"kd_with_cross_entropy", "[3]", "[4, 5]"});
  expect_error(
      [] {
        rkd_angle_loss(TD::zeros({6, 3}), TD::zeros({5, 3}));
      },
      {"rkd_angle_loss", "[6, 3]", "[5, 3]"});
  expect_error(
      [] {
        rkd_distance_loss(TD::zeros({6, 3}), TD::zeros({5, 3}));
      },
      {"rkd_distance_loss", "[6, 3]", "[5, 3]"});
  expect_error(
      [] {
        similarity_preserving_loss(TD::zeros({4, 3}), TD::zeros({5, 3}));
      },
      {"similarity_preserving_loss", "[4, 3]", "[5, 3]"});
  expect_error(
      [] {
        attention_transfer_loss(TD::zeros({2, 3, 4, 4}), TD::zeros({2, 3, 2, 2}));
      },
      {"attention_transfer_loss", "[2, 3, 4, 4]", "[2, 3, 2, 2]"});
  expect_error(
      [] {
        fitnets_hint_loss(TD::zeros({3, 4}), TD::zeros({3, 5}), TD::zeros({5, 6}), TD(),
                          Reduction::mean);
      },
      {"fitnets_hint_loss", "[5, 6]", "[3, 4]"});
  expect_error(
      [] {
        fitnets_hint_loss(TD::zeros({3, 4}), TD::zeros({3, 6}), TD::zeros({5, 4}), TD(),
                          Reduction::mean);
      },
      {"fitnets_hint_loss", "[3, 5]", "[3, 6]"});
  expect_error(
      [] {
        word_relation_pair_loss(TD::zeros({2, 3, 6, 4}), TD::zeros({2, 3, 5, 4}), TD());
      },
      {"word_relation_pair_loss", "[2, 3, 6, 4]", "[2, 3, 5, 4]"});
  expect_error(
      [] {
        ckd_loss(TD::zeros({2, 3, 6, 4}), TD::zeros({2, 2, 6, 4}), TD(), CkdWeights{1, 1, 1, 1});
      },
      {"ckd_loss", "[2, 3, 6, 4]", "[2, 2, 6, 4]"});
  expect_error(
      [] {
        dpd_imitation_loss(TD::zeros({6, 2}), TD::zeros({6, 3}), TD::zeros({6}),
                           DpdBatchScale::none);
      },
      {"dpd_imitation_loss", "[6, 2]", "[6, 3]"});
  expect_error(
      [] {
        dpd_imitation_loss(TD::zeros({6, 2}), TD::zeros({6, 2}), TD::zeros({5}),
                           DpdBatchScale::none);
      },
      {"dpd_imitation_loss", "[5]"});
  expect_error(
      [] { dpd_weights(TD::zeros({6}), TD::zeros({5}), 1.0, AdvantageSign::peer_minus_own); },
      {"dpd_weights", "[6]", "[5]"});
  expect_error(
      [] {
        soft_label_cross_entropy(TD::zeros({4, 5}), TD::zeros({5, 5}), LabelForm::raw);
      },
      {"soft_label_cross_entropy", "[4, 5]", "[5, 5]"});
  expect_error(
      [] {
        beta_smoothing_targets_from_samples(TD::zeros({4, 5}), Tensor<int64_t>::zeros({4}), {0.5});
      },
      {"beta_smoothing_targets", "[4, 5]"});
}

TEST_CASE("errors: windows must be odd and >= 1") {
  const TD s = TD::zeros({1, 2, 6, 4}), t = TD::zeros({1, 2, 6, 5});
  for (int64_t w : {20, 0, -3})
    expect_error([&] { word_relation_window_loss(s, t, TD(), w); },
                 {"word_relation_window_loss", "window", "[1, 2, 6, 4]"});
  expect_error(
      [&] {
        ckd_loss(s, t, TD(), CkdWeights{1, 1, 1, 1}, WordTriple::window, 4);
      },
      {"ckd_loss", "window", "4"});
}

TEST_CASE("errors: temperature must be positive") {
  for (double T : {0.0, -1.0}) {
    expect_error(
        [&] {
          kd_loss(TD::zeros({2, 3}), TD::zeros({2, 3}), T, Reduction::sum, TemperatureScale::none);
        },
        {"kd_loss", "temperature"});
    expect_error(
        [&] {
          softmax_with_temperature(TD::zeros({2, 3}), T);
        },
        {"softmax_with_temperature", "temperature"});
    expect_error(
        [&] {
          self_distillation_loss(TD::zeros({2, 3}), TD::zeros({2, 3}), Tensor<int64_t>::zeros({2}),
                                 0.4, T);
        },
        {"self_distillation_loss", "temperature"});
  }
}

TEST_CASE("errors: masks of the wrong shape") {
  const TD s = TD::zeros({2, 3, 6, 4}), t = TD::zeros({2, 3, 6, 5});
  const TD bad = TD::ones({2, 5});
  expect_error([&] { word_relation_pair_loss(s, t, bad); },
               {"word_relation_pair_loss", "mask", "[2, 5]", "[2, 6]"});
  expect_error([&] { layer_relation_triple_loss(s, t, bad); },
               {"layer_relation_triple_loss", "mask", "[2, 5]"});
  expect_error([&] { word_relation_window_loss(s, t, TD::ones({6})); },
               {"word_relation_window_loss", "mask", "[6]"});
  expect_error(
      [&] {
        ckd_loss(s, t, TD::ones({3, 6}), CkdWeights{1, 1, 1, 1});
      },
      {"ckd_loss", "mask", "[3, 6]"});
}

TEST_CASE("errors: undefined inputs are named, never dereferenced") {
  expect_error(
      [] {
        kd_loss(TD(), TD::zeros({2, 3}), 2.0, Reduction::sum, TemperatureScale::none);
      },
      {"kd_loss", "undefined tensor"});
  expect_error(
      [] {
        dpd_imitation_loss(TD::zeros({6, 2}), TD::zeros({6, 2}), TD(), DpdBatchScale::none);
      },
      {"dpd_imitation_loss", "undefined tensor"});
  expect_error([] { rkd_angle_loss(TD::zeros({6, 3}), TD()); }, {"rkd_angle_loss", "undefined tensor"});
  expect_error(
      [] {
        attention_transfer_loss(TD(), TD::zeros({2, 3, 2, 2}));
      },
      {"attention_transfer_loss", "undefined tensor"});
  expect_error(
      [] {
        mutual_learning_loss(TD::zeros({2, 3}), TD::zeros({2, 3}), Tensor<int64_t>());
      },
      {"mutual_learning_loss", "undefined tensor"});
}

TEST_CASE("errors: other argument checks") {
  expect_error(
      [] {
        kd_with_cross_entropy(TD::zeros({2, 3}), TD::zeros({2, 3}), Tensor<int64_t>::zeros({2}),
                              1.5, 2.0, Reduction::sum, TemperatureScale::none);
      },
      {"kd_with_cross_entropy", "alpha"});
  expect_error(
      [] {
        word_relation_triple_loss(TD::zeros({1, 1, 3, 2}), TD::zeros({1, 1, 3, 2}), TD(),
                                  MatchLoss::kldiv);
      },
      {"word_relation_triple_loss", "kldiv"});
  expect_error(
      [] {
        kd_loss(TD::zeros({2, 3}), TD::zeros({2, 3}), 2.0, Reduction::none, TemperatureScale::none,
                Divergence::kl, TeacherGrad::detach, LossPath::fused);
      },
      {"kd_loss", "fused"});
  expect_error([] { distillation_score(1, 0, 0.5, 0.9, 0.5); }, {"distillation_score", "sizes"});
  expect_error([] { distillation_score(1, 2, 0.5, 0.9, 1.5); }, {"distillation_score", "alpha"});
  expect_error([] { layer_alignment(1, 7, AlignmentStrategy::emb_skip); }, {"layer_alignment"});
  expect_error([] { label_smoothing_targets<double>(Tensor<int64_t>::from_vector({7}), 5, 0.1); },
               {"label_smoothing_targets", "7"});
}
