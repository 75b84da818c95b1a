// tests/ops/table_loss.hpp — op-table entries for ops/loss.hpp (every reduction of every loss).
#pragma once
#include <distillery/ops/loss.hpp>

#include "harness.hpp"

namespace dtest {

namespace ref {
// Applies a reduction to per-element (or per-sample) losses; batch = first extent.
inline Arr reduced(const Arr& l, distillery::Reduction r) {
  using distillery::Reduction;
  if (r == Reduction::none) return l;
  double s = sum(l.v);
  if (r == Reduction::mean) s /= double(l.numel());
  if (r == Reduction::batchmean) s /= double(l.shape.empty() ? 1 : l.shape[0]);
  return scalar(s);
}
}  // namespace ref

inline void loss_entries(Table& t) {
  using namespace distillery;
  using Line = std::vector<double>;
  const std::vector<std::pair<Reduction, std::string>> reductions = {
      {Reduction::none, "none"}, {Reduction::mean, "mean"}, {Reduction::sum, "sum"}};
  const std::vector<int64_t> cls = {3, 0, 4, 3};
  const Shape nc{4, 5};
  // per-sample loss from (row of input, row of target or class) -> value
  auto rows = [](const Args& a, const std::function<double(const Line&, size_t)>& f) {
    Arr out({a[0].shape[0]});
    const int64_t C = a[0].shape[1];
    for (int64_t i = 0; i < a[0].shape[0]; ++i)
      out.v[i] = f(Line(a[0].v.begin() + i * C, a[0].v.begin() + (i + 1) * C), size_t(i));
    return out;
  };
  // elementwise loss of (input, target)
  auto elem = [](const Args& a, double (*f)(double, double)) {
    Arr out = a[0];
    for (int64_t i = 0; i < out.numel(); ++i) out.v[i] = f(a[0].v[i], a[1].v[i]);
    return out;
  };

  for (const auto& red : reductions) {
    const Reduction r = red.first;
    const std::string rn = red.second;
    t.add("reduce_loss", {nc}, FN(reduce_loss(x[0], r)), rn).ref([=](const Args& a) {
      return ref::reduced(a[0], r);
    });
    t.add("nll_loss", {nc}, FN(nll_loss(x[0], ids(cls), r)), rn).ref([=](const Args& a) {
      return ref::reduced(rows(a, [&](const Line& l, size_t i) { return -l[cls[i]]; }), r);
    });
    t.add("cross_entropy", {nc}, FN(cross_entropy(x[0], ids(cls), r)), "class indices, " + rn)
        .gen(Gen::range(-4, 4))
        .ref([=](const Args& a) {
          return ref::reduced(
              rows(a, [&](const Line& l, size_t i) { return ref::lse(l) - l[cls[i]]; }), r);
        });
    t.add("cross_entropy", {nc, nc}, FN(cross_entropy(x[0], x[1], r)), "probability targets, " + rn)
        .gens({Gen::range(-4, 4), Gen::positive(0.05, 1)})
        .ref([=](const Args& a) {
          const int64_t C = a[0].shape[1];
          return ref::reduced(rows(a,
                                   [&](const Line& l, size_t i) {
                                     double s = 0;
                                     for (int64_t c = 0; c < C; ++c)
                                       s -= a[1].v[i * C + c] * (l[c] - ref::lse(l));
                                     return s;
                                   }),
                              r);
        });
    t.add("mse_loss", {nc, nc}, FN(mse_loss(x[0], x[1], r)), rn).ref([=](const Args& a) {
      return ref::reduced(elem(a, [](double p, double q) { return (p - q) * (p - q); }), r);
    });
    t.add("l1_loss", {nc, nc}, FN(l1_loss(x[0], x[1], r)), rn)
        .gen(Gen().distinct())
        .ref([=](const Args& a) {
          return ref::reduced(elem(a, [](double p, double q) { return std::abs(p - q); }), r);
        });
    t.add("binary_cross_entropy_with_logits", {nc, nc},
          FN(binary_cross_entropy_with_logits(x[0], x[1], r)), rn)
        .gens({Gen::range(-5, 5).away_from_zero(), Gen::range(0, 1)})
        .ref([=](const Args& a) {
          return ref::reduced(elem(a,
                                   [](double z, double y) {
                                     return -(y * std::log(ref::sigmoid(z)) +
                                              (1 - y) * std::log(1 - ref::sigmoid(z)));
                                   }),
                              r);
        });
    t.add("kl_div", {nc, nc}, FN(kl_div(x[0], x[1], r)), rn)
        .gens({Gen::range(-3, 0), Gen::positive(0.05, 1)})
        .ref([=](const Args& a) {
          return ref::reduced(elem(a, [](double lq, double p) { return p * (std::log(p) - lq); }),
                              r);
        });
  }
  t.add("cross_entropy", {nc}, FN(cross_entropy(x[0], ids(cls), Reduction::mean, 0.1)),
        "label smoothing 0.1")
      .ref([=](const Args& a) {
        return ref::reduced(rows(a,
                                 [&](const Line& l, size_t i) {
                                   double C = double(l.size()), lse = ref::lse(l), smooth = 0;
                                   for (double v : l) smooth += (lse - v) / C;
                                   return 0.9 * (lse - l[cls[i]]) + 0.1 * smooth;
                                 }),
                            Reduction::mean);
      });
  t.add("cross_entropy", {nc}, FN(cross_entropy(x[0], ids(cls), Reduction::batchmean)),
        "batchmean acts as mean")
      .ref([=](const Args& a) {
        return ref::reduced(
            rows(a, [&](const Line& l, size_t i) { return ref::lse(l) - l[cls[i]]; }),
            Reduction::mean);
      });
  t.add("kl_div", {nc, nc}, FN(kl_div(x[0], x[1], Reduction::batchmean)), "batchmean")
      .gens({Gen::range(-3, 0), Gen::positive(0.05, 1)})
      .ref([=](const Args& a) {
        return ref::reduced(elem(a, [](double lq, double p) { return p * (std::log(p) - lq); }),
                            Reduction::batchmean);
      });
  t.add("kl_div", {nc, nc}, FN(kl_div(x[0], x[1], Reduction::sum, true)), "log_target")
      .gens({Gen::range(-3, 0), Gen::range(-3, 0)})
      .ref([=](const Args& a) {
        return ref::reduced(elem(a, [](double lq, double lp) { return std::exp(lp) * (lp - lq); }),
                            Reduction::sum);
      });
  t.add("kl_div", {nc, nc, nc}, FN(kl_div(x[0], x[1] * x[2], Reduction::sum)),
        "target with exact zeros (constant target)")
      .gens({Gen::range(-3, 0), Gen::positive(0.05, 1).no_grad(), Gen::mask01()})
      .ref([=](const Args& a) {
        double s = 0;
        for (int64_t i = 0; i < a[0].numel(); ++i) {
          double p = a[1].v[i] * a[2].v[i];
          if (p > 0) s += p * (std::log(p) - a[0].v[i]);
        }
        return ref::scalar(s);
      });

  // smooth_l1 / huber: kinks at |d| = 0 and |d| = beta (delta); with a zero target the input
  // itself is kept away from them, and two-input entries stay inside one branch
  auto sl1 = [](double d, double beta) {
    return std::abs(d) < beta ? 0.5 * d * d / beta : std::abs(d) - 0.5 * beta;
  };
  auto hub = [](double d, double delta) {
    return std::abs(d) <= delta ? 0.5 * d * d : delta * (std::abs(d) - 0.5 * delta);
  };
  for (const auto& red : reductions) {
    const Reduction r = red.first;
    const std::string rn = red.second;
    t.add("smooth_l1_loss", {nc}, FN(smooth_l1_loss(x[0], Tensor<T>::zeros(x[0].shape(), x[0].device()), r)),
          "zero target, both branches, " + rn)
        .gen(Gen::range(-3, 3).away_from({-1, 0, 1}, 0.1))
        .ref([=](const Args& a) {
          return ref::reduced(ref::unary([=](double d) { return sl1(d, 1); })(a), r);
        });
    t.add("huber_loss", {nc}, FN(huber_loss(x[0], Tensor<T>::zeros(x[0].shape(), x[0].device()), r, 0.5)),
          "zero target, delta 0.5, " + rn)
        .gen(Gen::range(-3, 3).away_from({-0.5, 0, 0.5}, 0.1))
        .ref([=](const Args& a) {
          return ref::reduced(ref::unary([=](double d) { return hub(d, 0.5); })(a), r);
        });
  }
  auto two = [](double lo_in, double hi_in, double lo_t, double hi_t) {
    return std::vector<Gen>{Gen::range(lo_in, hi_in), Gen::range(lo_t, hi_t)};
  };
  t.add("smooth_l1_loss", {nc, nc}, FN(smooth_l1_loss(x[0], x[1], Reduction::sum, 2.0)),
        "quadratic branch, beta 2")
      .gens(two(-0.8, 0.8, -0.8, 0.8))
      .ref([=](const Args& a) {
        return ref::reduced(ref::binary([=](double p, double q) { return sl1(p - q, 2); })(a),
                            Reduction::sum);
      });
  t.add("smooth_l1_loss", {nc, nc}, FN(smooth_l1_loss(x[0], x[1], Reduction::mean)),
        "linear branch")
      .gens(two(1.5, 3, -0.5, 0.2))
      .ref([=](const Args& a) {
        return ref::reduced(ref::binary([=](double p, double q) { return sl1(p - q, 1); })(a),
                            Reduction::mean);
      });
  t.add("huber_loss", {nc, nc}, FN(huber_loss(x[0], x[1], Reduction::sum)), "quadratic branch")
      .gens(two(-0.4, 0.4, -0.4, 0.4))
      .ref([=](const Args& a) {
        return ref::reduced(ref::binary([=](double p, double q) { return hub(p - q, 1); })(a),
                            Reduction::sum);
      });
  t.add("huber_loss", {nc, nc}, FN(huber_loss(x[0], x[1], Reduction::mean, 0.5)),
        "linear branch, delta 0.5")
      .gens(two(-3, -1.5, -0.5, 0.5))
      .ref([=](const Args& a) {
        return ref::reduced(ref::binary([=](double p, double q) { return hub(p - q, 0.5); })(a),
                            Reduction::mean);
      });
}

}  // namespace dtest
