// tests/losses/test_ckd_padding.cpp — every CKD term sees only each sequence's real tokens.
//
// A batch of hidden states [B, L, n, d] with ragged real lengths is padded further (n → n + extra,
// extra ∈ {1, 3, 9}) and the content of every padded position — the original pads and the new
// ones, in the student AND the teacher — is replaced by arbitrary values (large random numbers for
// the student, zeros or random numbers for the teacher, as a cache or an online teacher would give).
// Every term's value, its gradient on the real tokens (and exactly 0 on the pads), and (double) a
// Hessian-vector product on the real tokens must not change, on the composed and the fused path.
// The reference's convention (PaddedNeighbours::counted) is shown to fail this, which is why it is
// an option and not the default.
#include <distillery/distillery.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <string>

using namespace distillery;
using namespace distillery::losses;

namespace {
using TD = Tensor<double>;
using Term = std::function<TD(const TD& s, const TD& t, const TD& mask, LossPath)>;

constexpr int64_t B = 3, L = 3, n0 = 9, ds = 5, dt = 7;
const int64_t kLengths[B] = {6, 9, 2};  // real tokens per example (example 1 has no padding)

// [B, n] mask of the real lengths.
TD mask_of(int64_t n) {
  std::vector<double> m(B * n, 0.0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < kLengths[b]; ++i) m[b * n + i] = 1;
  return TD::from_vector(m, Shape{B, n});
}

// x [B, L, n0, d] re-laid at length n; padded positions get pad(gen) values.
TD repad(const TD& x, int64_t n, Generator& gen, double pad_scale) {
  const int64_t d = x.shape()[3];
  const auto v = x.to_vector();
  const auto noise = TD::randn({B, L, n, d}, gen, 0, pad_scale).to_vector();
  std::vector<double> out(B * L * n * d);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t l = 0; l < L; ++l)
      for (int64_t i = 0; i < n; ++i)
        for (int64_t k = 0; k < d; ++k) {
          const int64_t o = ((b * L + l) * n + i) * d + k;
          out[o] = i < kLengths[b] ? v[((b * L + l) * n0 + i) * d + k] : noise[o];
        }
  return TD::from_vector(out, Shape{B, L, n, d});
}

// Values at the real positions of y [B, L, n, d] (in order), and the largest |value| at the pads.
std::vector<double> real_part(const TD& y, double* pad_max) {
  const int64_t n = y.shape()[2], d = y.shape()[3];
  const auto v = y.to_vector();
  std::vector<double> out;
  *pad_max = 0;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t l = 0; l < L; ++l)
      for (int64_t i = 0; i < n; ++i)
        for (int64_t k = 0; k < d; ++k) {
          const double e = v[((b * L + l) * n + i) * d + k];
          if (i < kLengths[b])
            out.push_back(e);
          else
            *pad_max = std::max(*pad_max, std::abs(e));
        }
  return out;
}

struct Result {
  double value;
  std::vector<double> grad, hvp;
  double grad_pad, hvp_pad;
};

Result evaluate(const Term& f, const TD& s0, const TD& t, const TD& mask, const TD& v,
                LossPath path, bool second) {
  TD s = s0.detach().requires_grad_();
  TD l = f(s, t, mask, path);
  Result r;
  r.value = l.item();
  auto g = grad<double>({l}, {s}, {}, second, false);
  r.grad = real_part(g[0], &r.grad_pad);
  r.hvp_pad = 0;
  if (second) r.hvp = real_part(grad<double>({sum(mul(g[0], v))}, {s})[0], &r.hvp_pad);
  return r;
}

double max_rel(const std::vector<double>& a, const std::vector<double>& b) {
  double num = 0, den = 1e-300;
  for (size_t i = 0; i < a.size(); ++i) {
    num = std::max(num, std::abs(a[i] - b[i]));
    den = std::max(den, std::abs(b[i]));
  }
  return num / den;
}

const std::vector<std::pair<std::string, Term>>& terms(PaddedNeighbours pads) {
  static std::vector<std::pair<std::string, Term>> out[2];
  auto& o = out[pads == PaddedNeighbours::counted];
  if (!o.empty()) return o;
  o = {{"wr pair",
        [](const TD& s, const TD& t, const TD& m, LossPath p) {
          return word_relation_pair_loss(s, t, m, RelationDistance::cosine, MatchLoss::kldiv,
                                         false, p);
        }},
       {"wr pair squared_l2 normalised (composed)",
        [](const TD& s, const TD& t, const TD& m, LossPath p) {
          return word_relation_pair_loss(s, t, m, RelationDistance::squared_l2, MatchLoss::l2,
                                         true, p == LossPath::fused ? LossPath::composed : p);
        }},
       {"ltr pair",
        [](const TD& s, const TD& t, const TD& m, LossPath p) {
          return layer_relation_pair_loss(s, t, m, RelationDistance::cosine, MatchLoss::kldiv,
                                          false, p);
        }},
       {"wr window 3",
        [pads](const TD& s, const TD& t, const TD& m, LossPath p) {
          return word_relation_window_loss(s, t, m, 3, MatchLoss::l2, p, pads);
        }},
       {"wr window 5 smooth_l1",
        [pads](const TD& s, const TD& t, const TD& m, LossPath p) {
          return word_relation_window_loss(s, t, m, 5, MatchLoss::smooth_l1, p, pads);
        }},
       {"wr window 21 l1",
        [pads](const TD& s, const TD& t, const TD& m, LossPath p) {
          return word_relation_window_loss(s, t, m, 21, MatchLoss::l1, p, pads);
        }},
       {"wr triple",
        [](const TD& s, const TD& t, const TD& m, LossPath p) {
          return word_relation_triple_loss(s, t, m, MatchLoss::l2, p);
        }},
       {"ltr triple",
        [](const TD& s, const TD& t, const TD& m, LossPath p) {
          return layer_relation_triple_loss(s, t, m, MatchLoss::l2, p);
        }},
       {"ckd total (window 5)",
        [pads](const TD& s, const TD& t, const TD& m, LossPath p) {
          return ckd_loss(s, t, m, CkdWeights{1, 10, 1, 10}, WordTriple::window, 5, p, pads);
        }},
       {"ckd total (full triple)", [pads](const TD& s, const TD& t, const TD& m, LossPath p) {
          return ckd_loss(s, t, m, CkdWeights{1, 10, 1, 10}, WordTriple::full, 21, p, pads);
        }}};
  return o;
}

// Largest relative change of any value/gradient/HVP over the repaddings (0 = padding-invariant).
double worst_change(const std::string& name, const Term& f, LossPath path, bool second) {
  Generator gen(23);
  const TD s = TD::randn({B, L, n0, ds}, gen), t = TD::randn({B, L, n0, dt}, gen);
  const TD v = repad(TD::randn({B, L, n0, ds}, gen), n0, gen, 0.0);
  const Result base = evaluate(f, s, t, mask_of(n0), v, path, second);
  double worst = 0;
  for (int64_t extra : {0, 1, 3, 9})
    for (double teacher_pad : {0.0, 3.0}) {
      const int64_t n = n0 + extra;
      INFO(name, ", path ", int(path), ", extra pads ", extra, ", teacher pad scale ",
           teacher_pad);
      const TD sp = repad(s, n, gen, 50.0), tp = repad(t, n, gen, teacher_pad);
      const TD vp = repad(v, n, gen, 0.0);  // the direction lives on the real tokens
      const Result r = evaluate(f, sp, tp, mask_of(n), vp, path, second);
      worst = std::max(worst, std::abs(r.value - base.value) / std::max(std::abs(base.value), 1e-300));
      worst = std::max(worst, max_rel(r.grad, base.grad));
      // gradient (and HVP) exactly 0 on the padded positions: the pads are never read
      worst = std::max(worst, r.grad_pad);
      if (second) {
        worst = std::max(worst, max_rel(r.hvp, base.hvp));
        worst = std::max(worst, r.hvp_pad);
      }
    }
  return worst;
}
}  // namespace

TEST_CASE("CKD padding: appending padding of any content changes no term, gradient or HVP") {
  for (const auto& [name, f] : terms(PaddedNeighbours::excluded))
    for (LossPath path : {LossPath::composed, LossPath::fused}) {
      INFO(name, (path == LossPath::fused ? " (fused)" : " (composed)"));
      CHECK(worst_change(name, f, path, true) < 1e-10);
    }
}

TEST_CASE("CKD padding: the reference convention (padded neighbours count) is not invariant") {
  // This is the defect the default fixes: with pads counted, the window terms near the end of a
  // shorter sentence match u(h_i − h_pad) of the student against the teacher's pads.
  for (const auto& [name, f] : terms(PaddedNeighbours::counted)) {
    if (name.find("window") == std::string::npos) continue;
    for (LossPath path : {LossPath::composed, LossPath::fused}) {
      INFO(name, (path == LossPath::fused ? " (fused)" : " (composed)"));
      CHECK(worst_change(name, f, path, false) > 1e-3);
    }
  }
}

TEST_CASE("CKD padding: fused == composed for both neighbour conventions on a ragged batch") {
  Generator gen(29);
  const int64_t n = n0 + 4;
  const TD s = repad(TD::randn({B, L, n0, ds}, gen), n, gen, 5.0);
  const TD t = repad(TD::randn({B, L, n0, dt}, gen), n, gen, 0.0);
  const TD mask = mask_of(n), v = TD::randn({B, L, n, ds}, gen);
  for (PaddedNeighbours pads : {PaddedNeighbours::excluded, PaddedNeighbours::counted})
    for (const auto& [name, f] : terms(pads)) {
      INFO(name, " counted=", int(pads == PaddedNeighbours::counted));
      const Result c = evaluate(f, s, t, mask, v, LossPath::composed, true);
      const Result u = evaluate(f, s, t, mask, v, LossPath::fused, true);
      CHECK(std::abs(u.value - c.value) <= 1e-10 * std::abs(c.value));
      CHECK(max_rel(u.grad, c.grad) < 1e-10);
      CHECK(max_rel(u.hvp, c.hvp) < 1e-9);
    }
}
