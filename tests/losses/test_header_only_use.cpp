// tests/losses/test_header_only_use.cpp — a loss-only user: includes only the losses umbrella
// (no distillery.hpp) and runs KD and CKD on CPU tensors through the prebuilt kernels. It is also
// the translation unit whose compile cost docs/build.md reports for "a loss-only user".
#include <distillery/losses/losses.hpp>

#include <doctest/doctest.h>

using namespace distillery;

TEST_CASE("losses/losses.hpp alone: fused KD and CKD agree with their composed paths") {
  Generator gen(11);
  auto z = Tensor<double>::randn({4, 6}, gen).requires_grad_();
  auto v = Tensor<double>::randn({4, 6}, gen);
  auto kd = [&](losses::LossPath p) {
    return losses::kd_loss(z, v, 2.0, Reduction::batchmean, losses::TemperatureScale::t_squared,
                           losses::Divergence::kl, losses::TeacherGrad::detach, p);
  };
  CHECK(kd(losses::LossPath::fused).item() ==
        doctest::Approx(kd(losses::LossPath::composed).item()).epsilon(1e-12));

  auto hs = Tensor<double>::randn({2, 3, 5, 4}, gen).requires_grad_();
  auto ht = Tensor<double>::randn({2, 3, 5, 6}, gen);
  const losses::CkdWeights w{1, 10, 1, 10};
  auto ckd = [&](losses::LossPath p) {
    return losses::ckd_loss(hs, ht, Tensor<double>(), w, losses::WordTriple::full, 21, p);
  };
  auto fused = ckd(losses::LossPath::fused), composed = ckd(losses::LossPath::composed);
  CHECK(fused.item() == doctest::Approx(composed.item()).epsilon(1e-10));
  auto gf = grad({fused}, {hs})[0].to_vector(), gc = grad({composed}, {hs})[0].to_vector();
  REQUIRE(gf.size() == gc.size());
  for (size_t i = 0; i < gf.size(); ++i) CHECK(gf[i] == doctest::Approx(gc[i]).epsilon(1e-9));
}
