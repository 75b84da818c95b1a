// tests/losses/test_fused.cpp — the fused kernels against the composed graphs at larger shapes
// (threaded code paths), in double and float; the selection rule; memory of the window angle.
#include <distillery/distillery.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <functional>

using namespace distillery;
using namespace distillery::losses;

namespace {
template <class T>
using LossFn = std::function<Tensor<T>(const Tensor<T>&, LossPath)>;

double rel_err(const std::vector<double>& a, const std::vector<double>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num = std::max(num, std::abs(a[i] - b[i]));
    den = std::max(den, std::abs(b[i]));
  }
  return num / std::max(den, 1e-300);
}
template <class T>
std::vector<double> as_double(const Tensor<T>& t) {
  auto v = t.to_vector();
  return std::vector<double>(v.begin(), v.end());
}

// Value, gradient and (double only) Hessian-vector product of both paths agree.
template <class T>
void expect_paths_agree(const Tensor<T>& x0, const LossFn<T>& f, double tol, bool second) {
  std::vector<double> vals[2], grads[2], hvps[2];
  Generator gen(5);
  Tensor<T> v = Tensor<T>::randn(x0.shape(), gen);
  int k = 0;
  for (LossPath path : {LossPath::composed, LossPath::automatic}) {
    Tensor<T> x = x0.detach().requires_grad_();
    Tensor<T> l = f(x, path);
    CHECK((std::string(l.grad_fn_name()).find("fused") != std::string::npos) ==
          (path == LossPath::automatic));
    vals[k] = as_double(l);
    auto g = grad<T>({l}, {x}, {}, second, false);
    grads[k] = as_double(g[0]);
    if (second) hvps[k] = as_double(grad<T>({sum(mul(g[0], v))}, {x})[0]);
    ++k;
  }
  CHECK(rel_err(vals[1], vals[0]) < tol);
  CHECK(rel_err(grads[1], grads[0]) < tol);
  if (second) CHECK(rel_err(hvps[1], hvps[0]) < 10 * tol);
}

template <class T>
void all_fused_losses(double tol, bool second) {
  Generator gen(21);
  INFO("scalar type ", std::string(sizeof(T) == 8 ? "double" : "float"));
  {  // KD, many rows (threaded), every scalar reduction and both divergences
    Tensor<T> z = Tensor<T>::randn({96, 130}, gen, 0, 3),
              v = Tensor<T>::randn({96, 130}, gen, 0, 3);
    for (Reduction r : {Reduction::batchmean, Reduction::mean, Reduction::sum})
      for (Divergence d : {Divergence::kl, Divergence::soft_cross_entropy})
        expect_paths_agree<T>(
            z,
            [&](const Tensor<T>& x, LossPath p) {
              return kd_loss(x, v, 3.0, r, TemperatureScale::t_squared, d, TeacherGrad::detach, p);
            },
            tol, second);
  }
  {  // RKD angle
    Tensor<T> s = Tensor<T>::randn({24, 10}, gen), t = Tensor<T>::randn({24, 14}, gen);
    expect_paths_agree<T>(
        s, [&](const Tensor<T>& x, LossPath p) { return rkd_angle_loss(x, t, p); }, tol, second);
  }
  // CKD on hidden states with ragged padding
  const int64_t B = 3, L = 4, n = 12;
  Tensor<T> s = Tensor<T>::randn({B, L, n, 6}, gen), t = Tensor<T>::randn({B, L, n, 9}, gen);
  std::vector<T> m(B * n, T(1));
  for (int64_t i = 9; i < n; ++i) m[i] = 0;          // example 0: 9 tokens
  for (int64_t i = 4; i < n; ++i) m[2 * n + i] = 0;  // example 2: 4 tokens
  Tensor<T> mask = Tensor<T>::from_vector(m, Shape{B, n});
  const std::vector<std::pair<const char*, LossFn<T>>> ckd = {
      {"wr pair",
       [&](const Tensor<T>& x, LossPath p) {
         return word_relation_pair_loss(x, t, mask, RelationDistance::cosine, MatchLoss::kldiv,
                                        false, p);
       }},
      {"ltr pair",
       [&](const Tensor<T>& x, LossPath p) {
         return layer_relation_pair_loss(x, t, mask, RelationDistance::cosine, MatchLoss::kldiv,
                                         false, p);
       }},
      {"wr window 5",
       [&](const Tensor<T>& x, LossPath p) {
         return word_relation_window_loss(x, t, mask, 5, MatchLoss::l2, p);
       }},
      {"wr window 21 l1",
       [&](const Tensor<T>& x, LossPath p) {
         return word_relation_window_loss(x, t, mask, 21, MatchLoss::l1, p);
       }},
      {"wr triple smooth-l1",
       [&](const Tensor<T>& x, LossPath p) {
         return word_relation_triple_loss(x, t, mask, MatchLoss::smooth_l1, p);
       }},
      {"ltr triple",
       [&](const Tensor<T>& x, LossPath p) {
         return layer_relation_triple_loss(x, t, mask, MatchLoss::l2, p);
       }},
      {"ckd total", [&](const Tensor<T>& x, LossPath p) {
         return ckd_loss(x, t, mask, CkdWeights{1, 10, 1, 10}, WordTriple::window, 7, p);
       }}};
  for (const auto& [name, f] : ckd) {
    INFO(std::string(name));
    expect_paths_agree<T>(s, f, tol, second);
  }
}
}  // namespace

TEST_CASE("fused == composed in double (value, gradient, Hessian-vector product)") {
  all_fused_losses<double>(1e-10, true);
}

TEST_CASE("fused == composed in float (value, gradient)") { all_fused_losses<float>(2e-4, false); }

TEST_CASE("fused: selection rule, no_grad, retain_graph, accumulation into .grad") {
  Generator gen(22);
  auto z = Tensor<double>::randn({5, 7}, gen), v = Tensor<double>::randn({5, 7}, gen);
  // unsupported options fall back to the composed path under automatic
  auto none = kd_loss(z.detach().requires_grad_(), v, 2.0, Reduction::none, TemperatureScale::none);
  CHECK(std::string(none.grad_fn_name()).find("fused") == std::string::npos);
  auto keep = kd_loss(z.detach().requires_grad_(), v.detach().requires_grad_(), 2.0, Reduction::sum,
                      TemperatureScale::none, Divergence::kl, TeacherGrad::keep);
  CHECK(std::string(keep.grad_fn_name()).find("fused") == std::string::npos);
  // under no_grad the fused path returns the value and records nothing
  auto x = z.detach().requires_grad_();
  {
    NoGradGuard ng;
    auto l = kd_loss(x, v, 2.0, Reduction::batchmean, TemperatureScale::t_squared);
    CHECK(!l.requires_grad());
    CHECK(l.item() ==
          doctest::Approx(kd_loss(z, v, 2.0, Reduction::batchmean, TemperatureScale::t_squared,
                                  Divergence::kl, TeacherGrad::detach, LossPath::composed)
                              .item()));
  }
  // backward twice with retain_graph accumulates twice the gradient; upstream scaling works
  auto l = kd_loss(x, v, 2.0, Reduction::batchmean, TemperatureScale::t_squared);
  mul_scalar(l, 3.0).backward(Tensor<double>(), /*retain_graph=*/true);
  auto g1 = x.grad().to_vector();
  mul_scalar(l, 3.0).backward();
  auto g2 = x.grad().to_vector();
  auto y = z.detach().requires_grad_();
  auto lc = kd_loss(y, v, 2.0, Reduction::batchmean, TemperatureScale::t_squared, Divergence::kl,
                    TeacherGrad::detach, LossPath::composed);
  mul_scalar(lc, 3.0).backward();
  auto gc = y.grad().to_vector();
  for (size_t i = 0; i < gc.size(); ++i) {
    CHECK(g1[i] == doctest::Approx(gc[i]).epsilon(1e-12));
    CHECK(g2[i] == doctest::Approx(2 * gc[i]).epsilon(1e-12));
  }
}

TEST_CASE("fused: third order through the create_graph route matches composed") {
  Generator gen(23);
  auto z0 = Tensor<double>::randn({3, 4}, gen), v = Tensor<double>::randn({3, 4}, gen);
  double third[2];
  int k = 0;
  for (LossPath path : {LossPath::composed, LossPath::fused}) {
    auto z = z0.detach().requires_grad_();
    auto l = kd_loss(z, v, 1.5, Reduction::sum, TemperatureScale::none, Divergence::kl,
                     TeacherGrad::detach, path);
    auto g = grad({l}, {z}, {}, true)[0];
    auto h = grad({sum(mul(g, g))}, {z}, {}, true)[0];
    auto t = grad({sum(mul(h, h))}, {z})[0];
    third[k++] = t.to_vector()[1];
  }
  CHECK(third[1] == doctest::Approx(third[0]).epsilon(1e-10));
}

TEST_CASE("window angle memory is O(B·L·n·w²)-bounded: no n³, no n² per layer kept") {
  Generator gen(24);
  const int64_t B = 1, L = 1, n = 96, d = 4, w = 5;
  auto s = Tensor<double>::randn({B, L, n, d}, gen).requires_grad_();
  auto t = Tensor<double>::randn({B, L, n, d}, gen);
  const int64_t n3_bytes = n * n * n * int64_t(sizeof(double));
  for (LossPath path : {LossPath::composed, LossPath::automatic}) {
    reset_peak_memory(Device::cpu);
    const int64_t before = memory_stats(Device::cpu).live.load();
    auto l = word_relation_window_loss(s, t, Tensor<double>(), w, MatchLoss::l2, path);
    auto g = grad({l}, {s})[0];
    const int64_t used = memory_stats(Device::cpu).peak.load() - before;
    // the composed path stores [n, w, d] differences and [n, w, w] angles (a few copies)
    CHECK(used < 40 * B * L * n * w * std::max(w, d) * int64_t(sizeof(double)));
    CHECK(used < n3_bytes / 20);
  }
}
