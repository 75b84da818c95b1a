// tests/losses/test_oracles.cpp — the mathematical oracles of papers.md §8 (properties that
// follow from the definitions): KD gradient, KL vs soft-CE, RKD/CKD invariances, wide windows,
// padding invariance, DPD weights, Beta targets, the survey metric's worked example.
#include <distillery/distillery.hpp>

#include <doctest/doctest.h>

#include <cmath>

using namespace distillery;
using namespace distillery::losses;
using TD = Tensor<double>;

namespace {
const LossPath kPaths[] = {LossPath::composed, LossPath::automatic};

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  REQUIRE(a.size() == b.size());
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

// R [rows, cols] with orthonormal columns (Gram-Schmidt on a random matrix).
TD orthonormal_columns(int64_t rows, int64_t cols, Generator& gen) {
  auto a = TD::randn({rows, cols}, gen).to_vector();
  for (int64_t c = 0; c < cols; ++c) {
    for (int64_t k = 0; k < c; ++k) {
      double d = 0;
      for (int64_t r = 0; r < rows; ++r) d += a[r * cols + c] * a[r * cols + k];
      for (int64_t r = 0; r < rows; ++r) a[r * cols + c] -= d * a[r * cols + k];
    }
    double n = 0;
    for (int64_t r = 0; r < rows; ++r) n += a[r * cols + c] * a[r * cols + c];
    for (int64_t r = 0; r < rows; ++r) a[r * cols + c] /= std::sqrt(n);
  }
  return TD::from_vector(a, Shape{rows, cols});
}

// student = c · teacher · Rᵀ + b along the last dim (teacher width 3 -> student width 5).
TD similar_student(const TD& teacher, double c, bool translate, Generator& gen) {
  TD R = orthonormal_columns(5, 3, gen);
  TD s = mul_scalar(matmul(teacher, transpose(R, 0, 1)), c);
  return translate ? add(s, TD::randn({5}, gen)) : s;
}
}  // namespace

TEST_CASE("oracle: KD soft-term gradient is (softmax_T(z) - softmax_T(v)) / T") {
  Generator gen(11);
  TD z = TD::randn({3, 7}, gen).requires_grad_(), v = TD::randn({3, 7}, gen);
  for (double T : {1.0, 2.5, 8.0})
    for (Divergence d : {Divergence::kl, Divergence::soft_cross_entropy})
      for (LossPath path : kPaths) {
        TD l =
            kd_loss(z, v, T, Reduction::sum, TemperatureScale::none, d, TeacherGrad::detach, path);
        auto g = grad({l}, {z})[0].to_vector();
        auto want =
            mul_scalar(sub(softmax_with_temperature(z, T), softmax_with_temperature(v, T)), 1.0 / T)
                .to_vector();
        CHECK(max_abs_diff(g, want) < 1e-13);
      }
}

TEST_CASE("oracle: with T² the KD gradient tends to (z - v)/C for large T (zero-mean logits)") {
  Generator gen(12);
  const int64_t C = 10;
  TD z = TD::randn({1, C}, gen), v = TD::randn({1, C}, gen);
  z = sub(z, mean(z, {1}, true)).detach().requires_grad_();
  v = sub(v, mean(v, {1}, true)).detach();
  auto want = mul_scalar(sub(z, v), 1.0 / double(C)).to_vector();
  double prev = 1e9;
  for (double T : {10.0, 100.0, 1000.0}) {
    TD l = kd_loss(z, v, T, Reduction::sum, TemperatureScale::t_squared);
    double err = max_abs_diff(grad({l}, {z})[0].to_vector(), want);
    CHECK(err < prev);  // converges as T grows
    prev = err;
  }
  CHECK(prev < 1e-3 * max_abs_diff(want, std::vector<double>(C, 0.0)));
}

TEST_CASE("oracle: KL(p || softmax(z)) - CE(p, z) = -H(p) for every z") {
  Generator gen(13);
  TD v = TD::randn({4, 6}, gen);
  const double T = 2.0;
  auto p = softmax_with_temperature(v, T).to_vector();
  double neg_h = 0;
  for (double x : p) neg_h += x * std::log(x);
  for (int trial = 0; trial < 3; ++trial) {
    TD z = mul_scalar(TD::randn({4, 6}, gen), 3.0 * (trial + 1));
    for (LossPath path : kPaths) {
      double kl = kd_loss(z, v, T, Reduction::sum, TemperatureScale::none, Divergence::kl,
                          TeacherGrad::detach, path)
                      .item();
      double ce = kd_loss(z, v, T, Reduction::sum, TemperatureScale::none,
                          Divergence::soft_cross_entropy, TeacherGrad::detach, path)
                      .item();
      CHECK(kl - ce == doctest::Approx(neg_h).epsilon(1e-12));
    }
  }
}

TEST_CASE("oracle: RKD scores zero for student = c·R·teacher + b") {
  Generator gen(14);
  TD t = TD::randn({7, 3}, gen);
  for (bool translate : {false, true}) {
    TD s = similar_student(t, 2.7, translate, gen);
    CHECK(rkd_distance_loss(s, t).item() < 1e-20);
    for (LossPath path : kPaths) CHECK(rkd_angle_loss(s, t, path).item() < 1e-20);
  }
  CHECK(rkd_angle_loss(TD::randn({7, 5}, gen), t).item() > 1e-3);  // and not for a random one
}

TEST_CASE("oracle: CKD terms score zero for student = c·R·teacher + b (cosine: b = 0)") {
  Generator gen(15);
  TD t = TD::randn({2, 3, 6, 3}, gen);
  TD mask = TD::from_vector({1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 0, 0}, Shape{2, 6});
  for (bool translate : {false, true}) {
    TD s = similar_student(t, 0.6, translate, gen);
    for (LossPath path : kPaths) {
      CHECK(word_relation_triple_loss(s, t, mask, MatchLoss::l2, path).item() < 1e-20);
      CHECK(word_relation_window_loss(s, t, mask, 3, MatchLoss::l2, path).item() < 1e-20);
      CHECK(layer_relation_triple_loss(s, t, mask, MatchLoss::l2, path).item() < 1e-20);
      double pair = word_relation_pair_loss(s, t, mask, RelationDistance::cosine, MatchLoss::kldiv,
                                            false, path)
                        .item();
      double ltr = layer_relation_pair_loss(s, t, mask, RelationDistance::cosine, MatchLoss::kldiv,
                                            false, path)
                       .item();
      if (translate) {
        CHECK(pair > 1e-6);  // cosines are not translation invariant
      } else {
        CHECK(std::abs(pair) < 1e-14);
        CHECK(std::abs(ltr) < 1e-14);
      }
    }
    CHECK(word_relation_pair_loss(s, t, mask, RelationDistance::l2, MatchLoss::l2, true).item() <
          1e-20);
  }
  // cosine pairs are invariant to a positive rescaling of each vector
  TD scale = add_scalar(TD::rand({2, 3, 6, 1}, gen), 0.5);
  TD s = mul(similar_student(t, 1.0, false, gen), scale);
  CHECK(std::abs(word_relation_pair_loss(s, t, mask).item()) < 1e-14);
}

TEST_CASE("oracle: a window of w >= 2n-1 holds every vertex-centred angle of the full version") {
  // With no padding, the wide window's neighbour list of centre i is every token, edge tokens
  // repeated: token 0 (n − i) times, token n−1 (i + 1) times (w = 2n − 1). So the window loss is
  // the full angle loss with those multiplicities: Σ_i Σ_jk c_ij c_ik e(A_ijk) / (n w² · B·L).
  Generator gen(16);
  const int64_t B = 1, L = 2, n = 5;
  TD s = TD::randn({B, L, n, 4}, gen), t = TD::randn({B, L, n, 3}, gen);
  for (int64_t w : {2 * n - 1, 2 * n + 3}) {
    const int64_t r = (w - 1) / 2;
    std::vector<double> mult(n * n, 0.0);  // c_ij
    for (int64_t i = 0; i < n; ++i)
      for (int64_t p = 0; p < w; ++p)
        mult[i * n + std::min(std::max<int64_t>(i - r + p, 0), n - 1)] += 1;
    auto as = losses::detail::angle_tensor(reshape(s, Shape{B * L, n, 4})).to_vector();
    auto at = losses::detail::angle_tensor(reshape(t, Shape{B * L, n, 3})).to_vector();
    double want = 0;
    for (int64_t g = 0; g < B * L; ++g)
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < n; ++j)
          for (int64_t k = 0; k < n; ++k) {
            const size_t e = ((g * n + i) * n + j) * n + k;
            want += mult[i * n + j] * mult[i * n + k] * (as[e] - at[e]) * (as[e] - at[e]);
          }
    want /= double(B * L * n * w * w);
    for (LossPath path : kPaths)
      CHECK(word_relation_window_loss(s, t, TD(), w, MatchLoss::l2, path).item() ==
            doctest::Approx(want).epsilon(1e-12));
  }
}

TEST_CASE("oracle: appending padding changes no pair or full-triple loss") {
  Generator gen(17);
  const int64_t B = 2, L = 3, n = 5, pad = 3;
  TD s = TD::randn({B, L, n, 4}, gen), t = TD::randn({B, L, n, 6}, gen);
  TD mask = TD::from_vector({1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, Shape{B, n});
  TD s_pad = cat(std::vector<TD>{s, TD::randn({B, L, pad, 4}, gen)}, 2);
  TD t_pad = cat(std::vector<TD>{t, TD::randn({B, L, pad, 6}, gen)}, 2);
  TD m_pad = cat(std::vector<TD>{mask, TD::zeros({B, pad})}, 1);
  using Fn = std::function<TD(const TD&, const TD&, const TD&, LossPath)>;
  const std::vector<std::pair<const char*, Fn>> losses = {
      {"wr pair cos",
       [](auto& a, auto& b, auto& m, LossPath p) {
         return word_relation_pair_loss(a, b, m, RelationDistance::cosine, MatchLoss::kldiv, false,
                                        p);
       }},
      {"wr pair l2 norm",
       [](auto& a, auto& b, auto& m, LossPath p) {
         return word_relation_pair_loss(a, b, m, RelationDistance::l2, MatchLoss::smooth_l1, true,
                                        p);
       }},
      {"wr pair sq-l2",
       [](auto& a, auto& b, auto& m, LossPath p) {
         return word_relation_pair_loss(a, b, m, RelationDistance::squared_l2, MatchLoss::l1, false,
                                        p);
       }},
      {"ltr pair",
       [](auto& a, auto& b, auto& m, LossPath p) {
         return layer_relation_pair_loss(a, b, m, RelationDistance::cosine, MatchLoss::kldiv, false,
                                         p);
       }},
      {"wr triple",
       [](auto& a, auto& b, auto& m, LossPath p) {
         return word_relation_triple_loss(a, b, m, MatchLoss::l2, p);
       }},
      {"ltr triple",
       [](auto& a, auto& b, auto& m, LossPath p) {
         return layer_relation_triple_loss(a, b, m, MatchLoss::l2, p);
       }},
      {"ckd total, full triple", [](auto& a, auto& b, auto& m, LossPath p) {
         return ckd_loss(a, b, m, CkdWeights{1, 10, 1, 10}, WordTriple::full, 21, p);
       }}};
  for (const auto& [name, f] : losses)
    for (LossPath path : kPaths) {
      INFO(name, (path == LossPath::composed ? " composed" : " fused"));
      TD a = s.detach().requires_grad_(), ap = s_pad.detach().requires_grad_();
      TD l = f(a, t, mask, path), lp = f(ap, t_pad, m_pad, path);
      CHECK(std::isfinite(lp.item()));
      CHECK(lp.item() == doctest::Approx(l.item()).epsilon(1e-12));
      TD g = grad({l}, {a})[0], gp = grad({lp}, {ap})[0];
      CHECK(max_abs_diff(narrow(gp, 2, 0, n).to_vector(), g.to_vector()) < 1e-14);
      CHECK(max_abs_diff(narrow(gp, 2, n, pad).to_vector(),
                         std::vector<double>(B * L * pad * 4, 0.0)) == 0.0);
    }
}

TEST_CASE("oracle: DPD weights sum to 1, are uniform at beta = 0, ratios bounded by 1e4") {
  Generator gen(18);
  TD peer = TD::randn({8}, gen), own = TD::randn({8}, gen);
  for (AdvantageSign sign : {AdvantageSign::peer_minus_own, AdvantageSign::own_minus_peer}) {
    auto w = dpd_weights(peer, own, 0.75, sign).to_vector();
    double total = 0;
    for (double x : w) total += x;
    CHECK(total == doctest::Approx(1.0).epsilon(1e-14));
    for (double x : dpd_weights(peer, own, 0.0, sign).to_vector())
      CHECK(x == doctest::Approx(1.0 / 8).epsilon(1e-14));
  }
  auto up = dpd_weights(peer, own, 1.0, AdvantageSign::peer_minus_own).to_vector();
  auto down = dpd_weights(peer, own, 1.0, AdvantageSign::own_minus_peer).to_vector();
  auto d = sub(peer, own).to_vector();
  for (size_t i = 0; i < d.size(); ++i)
    for (size_t j = 0; j < d.size(); ++j)
      if (d[i] > d[j]) {  // the peer's advantage orders the weights, and the sign flips it
        CHECK(up[i] > up[j]);
        CHECK(down[i] < down[j]);
      }
  TD extreme = TD::from_vector({-50, -1, 0, 1, 50});
  auto we = dpd_weights(extreme, TD::zeros({5}), 1.0, AdvantageSign::peer_minus_own).to_vector();
  CHECK(we[4] / we[0] == doctest::Approx(1e4).epsilon(1e-12));
}

TEST_CASE("oracle: Beta targets sum to 1 and the most confident example gets the largest pi") {
  Generator gen(19);
  const int64_t N = 16, K = 6;
  TD ema = mul_scalar(TD::randn({N, K}, gen), 2.0);
  std::vector<int64_t> yv(N);
  for (int64_t i = 0; i < N; ++i) yv[i] = i % K;
  auto y = Tensor<int64_t>::from_vector(yv);
  auto tg = beta_smoothing_targets(ema, y, 3.0, gen).to_vector();
  auto p = softmax(ema, 1).to_vector();
  int64_t most = 0;
  std::vector<double> pi(N), conf(N);
  for (int64_t i = 0; i < N; ++i) {
    double row = 0;
    for (int64_t k = 0; k < K; ++k) row += tg[i * K + k];
    CHECK(row == doctest::Approx(1.0).epsilon(1e-14));
    pi[i] = tg[i * K + yv[i]];
    conf[i] = p[i * K + yv[i]];
    if (conf[i] > conf[most]) most = i;
  }
  for (int64_t i = 0; i < N; ++i) {
    CHECK(pi[most] >= pi[i]);
    for (int64_t j = 0; j < N; ++j)
      if (conf[i] < conf[j]) CHECK(pi[i] <= pi[j]);  // rank matching
  }
  // π = 1/K gives the uniform target; E[π] = a/(a+1) for Beta(a, 1)
  auto uni = beta_smoothing_targets_from_samples(ema, y, std::vector<double>(N, 1.0 / K));
  for (double x : uni.to_vector()) CHECK(x == doctest::Approx(1.0 / K).epsilon(1e-14));
  TD big = TD::zeros({20000, 2});
  auto ybig = Tensor<int64_t>::zeros({20000});
  auto tb = beta_smoothing_targets(big, ybig, 3.0, gen).to_vector();
  double m = 0;
  for (int64_t i = 0; i < 20000; ++i) m += tb[i * 2];
  CHECK(m / 20000 == doctest::Approx(0.75).epsilon(0.01));
}

TEST_CASE("oracle: label smoothing puts eps/(K-1) on wrong classes and rows sum to 1") {
  auto t = label_smoothing_targets<double>(Tensor<int64_t>::from_vector({2, 0}), 5, 0.2);
  auto v = t.to_vector();
  CHECK(v[2] == doctest::Approx(0.8));
  CHECK(v[0] == doctest::Approx(0.05));
  CHECK(v[5] == doctest::Approx(0.8));
  for (int r = 0; r < 2; ++r) {
    double s = 0;
    for (int k = 0; k < 5; ++k) s += v[r * 5 + k];
    CHECK(s == doctest::Approx(1.0));
  }
}

TEST_CASE("oracle: distillation metric, the survey's worked example (secondary source)") {
  // papers-verified.md §1b: ResNet-44 teacher at 71.76 %, α = 0.5, student sizes in % of teacher.
  const double rows[4][3] = {
      {62.84, 69.12, 0.333}, {35.36, 67.04, 0.210}, {15.25, 62.87, 0.138}, {3.74, 43.11, 0.218}};
  for (const auto& r : rows)
    CHECK(distillation_score(r[0], 100.0, r[1], 71.76, 0.5) ==
          doctest::Approx(r[2]).epsilon(0.002));
  CHECK(distillation_score(15.25, 100.0, 62.87, 71.76, 0.5) ==
        doctest::Approx(0.5 * 0.1525 + 0.5 * (1 - 62.87 / 71.76)));
  CHECK(distillation_score(0.0, 10.0, 0.9, 0.9, 0.3) == 0.0);  // ideal
  CHECK(distillation_score(1.0, 10.0, 0.95, 0.9, 0.0) < 0.0);  // student beats teacher
  CHECK(distillation_score(1.0, 10.0, 0.8, 0.9, 1.0) == doctest::Approx(0.1));  // size only
}
