// tests/backend/test_loss_math.cpp — the DST_HD arithmetic of backend/loss_math.hpp, which the CUDA
// fused-loss kernels (cuda/kernels_loss.cu) evaluate, checked on the CPU against direct geometry:
// cosines and angles from Gram matrices vs. from the points, the ε clamps, window clamping, and
// match_grad as the derivative of match_value (central differences).
#include <distillery/distillery.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <vector>

namespace {
namespace L = distillery::losses;

struct Points {  // m points of dimension d, row-major, and their Gram matrix
  int64_t m, d;
  std::vector<double> x, G;
  Points(int64_t m_, int64_t d_, unsigned seed) : m(m_), d(d_), x(m_ * d_), G(m_ * m_) {
    distillery::Generator gen(seed);
    for (auto& v : x) v = gen.normal();
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < m; ++j) {
        double s = 0;
        for (int64_t k = 0; k < d; ++k) s += x[i * d + k] * x[j * d + k];
        G[i * m + j] = s;
      }
  }
  double dist(int64_t i, int64_t j) const {
    double s = 0;
    for (int64_t k = 0; k < d; ++k) s += (x[i * d + k] - x[j * d + k]) * (x[i * d + k] - x[j * d + k]);
    return std::sqrt(s);
  }
  // <u(x_j − x_i), u(x_k − x_i)>
  double angle(int64_t i, int64_t j, int64_t k) const {
    double a = 0;
    for (int64_t c = 0; c < d; ++c) a += (x[j * d + c] - x[i * d + c]) * (x[k * d + c] - x[i * d + c]);
    return a / (dist(i, j) * dist(i, k));
  }
};

}  // namespace

TEST_CASE("loss_math: Gram-matrix relations equal the geometric ones") {
  const Points p(7, 5, 11);
  for (int64_t i = 0; i < p.m; ++i) {
    CHECK(L::gram_inv_norm(p.G.data(), p.m, i) ==
          doctest::Approx(1 / std::sqrt(p.G[i * p.m + i])).epsilon(1e-12));
    CHECK(L::gram_inv_distance(p.G.data(), p.m, i, i) == 0.0);
    for (int64_t j = 0; j < p.m; ++j) {
      if (j == i) continue;
      CHECK(L::gram_distance(p.G.data(), p.m, i, j) == doctest::Approx(p.dist(i, j)).epsilon(1e-10));
      for (int64_t k = 0; k < p.m; ++k) {
        if (k == i) continue;
        const double a = L::gram_angle(p.G.data(), p.m, i, j, k,
                                       L::gram_inv_distance(p.G.data(), p.m, i, j),
                                       L::gram_inv_distance(p.G.data(), p.m, i, k));
        CHECK(a == doctest::Approx(p.angle(i, j, k)).epsilon(1e-9));
      }
    }
  }
}

TEST_CASE("loss_math: clamps at coincident points and zero vectors (u(0) = 0)") {
  // points 0 and 1 coincide, point 2 is the origin
  const std::vector<double> G = {4, 4, 0, 4, 4, 0, 0, 0, 0};
  CHECK(L::gram_distance(G.data(), 3, 0, 1) == 0.0);
  CHECK(L::gram_inv_distance(G.data(), 3, 0, 1) == doctest::Approx(1 / L::kNormEps));
  CHECK(L::gram_inv_norm(G.data(), 3, 2) == doctest::Approx(1 / L::kNormEps));
  // an angle with a coincident neighbour has a zero numerator: 0, not NaN
  const double a = L::gram_angle(G.data(), 3, 0, 1, 2, L::gram_inv_distance(G.data(), 3, 0, 1),
                                 L::gram_inv_distance(G.data(), 3, 0, 2));
  CHECK(a == 0.0);
}

TEST_CASE("loss_math: window neighbours are clamped to [0, m − 1]") {
  const int64_t m = 6, w = 5;  // r = 2
  std::vector<int64_t> got;
  for (int64_t p = 0; p < w; ++p) got.push_back(L::window_neighbour(0, p, w, m));
  CHECK(got == std::vector<int64_t>{0, 0, 0, 1, 2});
  got.clear();
  for (int64_t p = 0; p < w; ++p) got.push_back(L::window_neighbour(5, p, w, m));
  CHECK(got == std::vector<int64_t>{3, 4, 5, 5, 5});
  got.clear();
  for (int64_t p = 0; p < w; ++p) got.push_back(L::window_neighbour(3, p, w, m));
  CHECK(got == std::vector<int64_t>{1, 2, 3, 4, 5});
}

TEST_CASE("loss_math: match_grad is the derivative of match_value in s") {
  const double h = 1e-6;
  for (auto f : {L::MatchLoss::l1, L::MatchLoss::l2, L::MatchLoss::smooth_l1, L::MatchLoss::kldiv})
    for (double s : {-2.3, -0.4, 0.35, 1.7})
      for (double t : {0.2, 0.9, 1.3}) {
        if (std::abs(std::abs(s - t) - 1) < 1e-3 || std::abs(s - t) < 1e-3) continue;  // kinks
        const double fd = (L::match_value(f, s + h, t) - L::match_value(f, s - h, t)) / (2 * h);
        CHECK(L::match_grad(f, s, t) == doctest::Approx(fd).epsilon(1e-6));
      }
  CHECK(L::match_value(L::MatchLoss::kldiv, 0.5, 0.0) == 0.0);  // t = 0 contributes nothing
  CHECK(L::match_value(L::MatchLoss::smooth_l1, 3.0, 1.0) == doctest::Approx(1.5));
  CHECK(L::match_value(L::MatchLoss::l2, 3.0, 1.0) == doctest::Approx(4.0));
}
