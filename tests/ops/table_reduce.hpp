// tests/ops/table_reduce.hpp — op-table entries for ops/reduce.hpp.
#pragma once
#include "harness.hpp"

namespace dtest {

inline void reduce_entries(Table& t) {
  using namespace distillery;
  const Shape m{3, 4}, c{2, 3, 4};
  using Line = std::vector<double>;
  // reference: f over each group of the reduced dims
  auto R = [](Dims dims, bool keep, std::function<double(const Line&)> f) -> RefFn {
    return [=](const Args& a) { return ref::reduce(a[0], dims, keep, f); };
  };
  auto mx = [](const Line& l) { return *std::max_element(l.begin(), l.end()); };
  auto mn = [](const Line& l) { return *std::min_element(l.begin(), l.end()); };
  auto l2 = [](const Line& l) {
    double s = 0;
    for (double v : l) s += v * v;
    return std::sqrt(s);
  };
  auto l1 = [](const Line& l) {
    double s = 0;
    for (double v : l) s += std::abs(v);
    return s;
  };
  auto l3 = [](const Line& l) {
    double s = 0;
    for (double v : l) s += std::pow(std::abs(v), 3);
    return std::cbrt(s);
  };
  auto var1 = [](const Line& l) { return ref::var(l, 1); };
  auto var0 = [](const Line& l) { return ref::var(l, 0); };
  auto std1 = [](const Line& l) { return std::sqrt(ref::var(l, 1)); };

  // ---- sum / mean / var / std / norm ----
  t.add("sum", {m}, FN(sum(x[0])), "all").ref(R({}, false, ref::sum));
  t.add("sum", {m}, FN(x[0].sum({1})), "dim 1, method").ref(R({1}, false, ref::sum));
  t.add("sum", {m}, FN(sum(x[0], {0}, true)), "dim 0 keepdim").ref(R({0}, true, ref::sum));
  t.add("sum", {c}, FN(sum(x[0], {0, 2})), "dims {0,2}").ref(R({0, 2}, false, ref::sum));
  t.add("sum", {c}, FN(sum(x[0], {-1, -2}, true)), "dims {-1,-2} keepdim")
      .ref(R({1, 2}, true, ref::sum));
  t.add("sum", {{}}, FN(sum(x[0])), "0-dim").ref(R({}, false, ref::sum));
  t.add("sum_to", {c}, FN(sum_to(x[0], Shape{3, 1})), "[2,3,4] -> [3,1]").ref([](const Args& a) {
    return ref::reduce(ref::reduce(a[0], {0}, false, ref::sum), {1}, true, ref::sum);
  });
  t.add("sum_to", {m}, FN(sum_to(x[0], Shape{4})), "[3,4] -> [4]").ref(R({0}, false, ref::sum));
  t.add("mean", {m}, FN(mean(x[0])), "all").ref(R({}, false, ref::mean));
  t.add("mean", {c}, FN(x[0].mean({0, 2}, true)), "dims {0,2} keepdim, method")
      .ref(R({0, 2}, true, ref::mean));
  t.add("var", {m}, FN(var(x[0])), "all, correction 1").ref(R({}, false, var1));
  t.add("var", {c}, FN(var(x[0], {1}, true, 0)), "dim 1 keepdim, correction 0")
      .ref(R({1}, true, var0));
  t.add("var", {c}, FN(var(x[0], {0, 2})), "dims {0,2}").ref(R({0, 2}, false, var1));
  t.add("std_dev", {m}, FN(std_dev(x[0])), "all").ref(R({}, false, std1));
  t.add("std_dev", {m}, FN(std_dev(x[0], {1})), "dim 1").ref(R({1}, false, std1));
  t.add("norm", {m}, FN(norm(x[0])), "p = 2, all").ref(R({}, false, l2));
  t.add("norm", {c}, FN(norm(x[0], 2, {1}, true)), "p = 2, dim 1 keepdim").ref(R({1}, true, l2));
  t.add("norm", {m}, FN(norm(x[0], 1)), "p = 1").gen(Gen().away_from_zero()).ref(R({}, false, l1));
  t.add("norm", {m}, FN(norm(x[0], 3, {0})), "p = 3, dim 0")
      .gen(Gen().away_from_zero())
      .ref(R({0}, false, l3));

  // ---- max / min (values carry gradient to the arg) ----
  const Gen d = Gen().distinct();
  t.add("max", {m}, FN(max(x[0])), "global").gen(d).ref(R({}, false, mx));
  t.add("max", {m}, FN(max(x[0], 1).first), "dim 1").gen(d).ref(R({1}, false, mx));
  t.add("max", {c}, FN(max(x[0], 0, true).first), "dim 0 keepdim").gen(d).ref(R({0}, true, mx));
  t.add("min", {m}, FN(min(x[0])), "global").gen(d).ref(R({}, false, mn));
  t.add("min", {c}, FN(min(x[0], -1).first), "dim -1").gen(d).ref(R({2}, false, mn));
  t.add("logsumexp", {m}, FN(logsumexp(x[0])), "all").ref(R({}, false, ref::lse));
  t.add("logsumexp", {m}, FN(logsumexp(x[0], {1})), "dim 1").ref(R({1}, false, ref::lse));
  t.add("logsumexp", {c}, FN(logsumexp(x[0], {0, 2}, true)), "dims {0,2} keepdim")
      .gen(Gen::range(-20, 20))
      .ref(R({0, 2}, true, ref::lse));

  // ---- sort / topk values ----
  auto along = [](int64_t dim, std::function<Line(const Line&)> f) -> RefFn {
    return [=](const Args& a) { return ref::along(a[0], dim, f); };
  };
  auto asc = [](const Line& l) { return ref::sorted(l, false); };
  auto desc = [](const Line& l) { return ref::sorted(l, true); };
  t.add("sort", {m}, FN(sort(x[0]).first), "dim -1 ascending").gen(d).ref(along(1, asc));
  t.add("sort", {c}, FN(sort(x[0], 1, true).first), "dim 1 descending").gen(d).ref(along(1, desc));
  t.add("topk", {m}, FN(topk(x[0], 2).first), "k 2, dim -1 largest")
      .gen(d)
      .ref(along(1, [](const Line& l) {
        return Line{ref::sorted(l, true)[0], ref::sorted(l, true)[1]};
      }));
  t.add("topk", {c}, FN(topk(x[0], 2, 0, false).first), "k 2, dim 0 smallest")
      .gen(d)
      .ref(along(0, [](const Line& l) {
        return Line{ref::sorted(l, false)[0], ref::sorted(l, false)[1]};
      }));

  // ---- indices (value only) ----
  auto arg = [](bool is_max) {
    return [is_max](const Line& l) {
      auto it =
          is_max ? std::max_element(l.begin(), l.end()) : std::min_element(l.begin(), l.end());
      return Line{double(it - l.begin())};
    };
  };
  auto argsort_ref = [](bool descending) {
    return [descending](const Line& l) {
      std::vector<int64_t> p(l.size());
      std::iota(p.begin(), p.end(), 0);
      std::stable_sort(p.begin(), p.end(), [&](int64_t a, int64_t b) {
        return descending ? l[a] > l[b] : l[a] < l[b];
      });
      return Line(p.begin(), p.end());
    };
  };
  t.add("argmax", {m}, FN(as_real<T>(argmax(x[0], 1))), "dim 1")
      .values_only()
      .gen(d)
      .ref([=](const Args& a) { return ref::squeeze_dim(ref::along(a[0], 1, arg(true)), 1); });
  t.add("argmax", {c}, FN(as_real<T>(argmax(x[0], 0, true))), "dim 0 keepdim")
      .values_only()
      .gen(d)
      .ref(along(0, arg(true)));
  t.add("argmax", {m}, FN(as_real<T>(argmax(x[0]))), "flattened")
      .values_only()
      .gen(d)
      .ref([=](const Args& a) {
        return ref::squeeze_dim(ref::along(ref::reshape(a[0], {12}), 0, arg(true)), 0);
      });
  t.add("argmin", {m}, FN(as_real<T>(argmin(x[0], 0))), "dim 0")
      .values_only()
      .gen(d)
      .ref([=](const Args& a) { return ref::squeeze_dim(ref::along(a[0], 0, arg(false)), 0); });
  t.add("argsort", {m}, FN(as_real<T>(argsort(x[0]))), "dim -1")
      .values_only()
      .gen(d)
      .ref(along(1, argsort_ref(false)));
  t.add("argsort", {c}, FN(as_real<T>(argsort(x[0], 0, true))), "dim 0 descending")
      .values_only()
      .gen(d)
      .ref(along(0, argsort_ref(true)));
  t.add("amax_detached", {c}, FN(amax_detached(x[0], {0, 2}, false)), "dims {0,2}")
      .values_only()
      .ref(R({0, 2}, false, mx));
}

}  // namespace dtest
