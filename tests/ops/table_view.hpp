// tests/ops/table_view.hpp — op-table entries for ops/view.hpp.
#pragma once
#include "harness.hpp"

namespace dtest {

inline void view_entries(Table& t) {
  using namespace distillery;
  const Shape m{3, 4}, c{2, 3, 4};
  auto same = [](Dims s) -> RefFn { return [s](const Args& a) { return ref::reshape(a[0], s); }; };
  auto perm = [](Dims o) -> RefFn { return [o](const Args& a) { return ref::permute(a[0], o); }; };
  auto sl = [](int64_t d, int64_t s, int64_t e, int64_t st) -> RefFn {
    return [=](const Args& a) { return ref::slice(a[0], d, s, e, st); };
  };

  t.add("reshape", {m}, FN(reshape(x[0], Shape{4, 3}))).ref(same({4, 3}));
  t.add("reshape", {c}, FN(x[0].reshape(Shape{-1, 6})), "-1 extent, method").ref(same({4, 6}));
  t.add("reshape", {m}, FN(reshape(x[0], Shape{12, 1})), "to a column").ref(same({12, 1}));
  // view never copies, so it rejects non-contiguous inputs by contract
  t.add("view", {c}, FN(view(x[0], Shape{6, 4}))).contiguous_only().ref(same({6, 4}));
  t.add("flatten", {c}, FN(flatten(x[0])), "all").ref(same({24}));
  t.add("flatten", {c}, FN(x[0].flatten(1)), "from dim 1").ref(same({2, 12}));
  t.add("flatten", {c}, FN(flatten(x[0], 0, 1)), "dims 0..1").ref(same({6, 4}));
  t.add("permute", {c}, FN(permute(x[0], {2, 0, 1}))).ref(perm({2, 0, 1}));
  t.add("permute", {c}, FN(x[0].permute({-1, 1, 0})), "negative dim, method").ref(perm({2, 1, 0}));
  t.add("transpose", {m}, FN(x[0].t()), "t()").ref(perm({1, 0}));
  t.add("transpose", {c}, FN(transpose(x[0], 0, 2))).ref(perm({2, 1, 0}));
  t.add("transpose", {c}, FN(transpose(x[0], 1, 1)), "same dim").ref(perm({0, 1, 2}));
  t.add("unsqueeze", {m}, FN(unsqueeze(x[0], 1))).ref(same({3, 1, 4}));
  t.add("unsqueeze", {m}, FN(x[0].unsqueeze(-1)), "dim -1, method").ref(same({3, 4, 1}));
  t.add("squeeze", {{3, 1, 4}}, FN(squeeze(x[0], 1))).ref(same({3, 4}));
  t.add("squeeze", {{1, 3, 1, 4}}, FN(squeeze(x[0])), "all unit dims").ref(same({3, 4}));
  t.add("squeeze", {m}, FN(squeeze(x[0], 0)), "non-unit dim: no-op").ref(same({3, 4}));
  t.add("expand", {{3, 1}}, FN(expand(x[0], Shape{2, 3, 4}))).ref([](const Args& a) {
    return ref::nary({a[0], Arr({2, 3, 4})}, [](const std::vector<double>& v) { return v[0]; });
  });
  t.add("expand", {{1, 4}}, FN(x[0].expand(Shape{3, -1})), "-1 keeps an extent, method")
      .ref([](const Args& a) {
        return ref::nary({a[0], Arr({3, 4})}, [](const std::vector<double>& v) { return v[0]; });
      });
  t.add("narrow", {c}, FN(narrow(x[0], 2, 1, 2))).ref(sl(2, 1, 3, 1));
  t.add("narrow", {m}, FN(x[0].narrow(0, -2, 2)), "negative start, method").ref(sl(0, 1, 3, 1));
  t.add("slice", {{3, 7}}, FN(slice(x[0], 1, 1, 7, 2)), "step 2").ref(sl(1, 1, 7, 2));
  t.add("slice", {{7, 3}}, FN(x[0].slice(0, -5, 100, 3)), "step 3, negative start, clamped end")
      .ref(sl(0, 2, 7, 3));
  t.add("slice", {c}, FN(slice(slice(x[0], 2, 0, 4, 2), 1, 1, 3)), "slice of a slice")
      .ref([](const Args& a) { return ref::slice(ref::slice(a[0], 2, 0, 4, 2), 1, 1, 3, 1); });
  t.add("select", {c}, FN(select(x[0], 1, 2))).ref([](const Args& a) {
    return ref::squeeze_dim(ref::slice(a[0], 1, 2, 3, 1), 1);
  });
  t.add("select", {m}, FN(x[0].select(-1, -1)), "negative dim and index, method")
      .ref([](const Args& a) { return ref::squeeze_dim(ref::slice(a[0], 1, 3, 4, 1), 1); });
  t.add("contiguous", {m}, FN(contiguous(transpose(x[0], 0, 1))), "of a transpose")
      .ref(perm({1, 0}));
  t.add("contiguous", {m}, FN(x[0].contiguous()), "method").ref(same({3, 4}));
  t.add("clone", {m}, FN(clone(x[0]))).ref(same({3, 4}));
  t.add("clone", {c}, FN(x[0].clone() * x[0]), "method, mixed with the original")
      .ref(ref::unary([](double v) { return v * v; }));
  t.add("slice_scatter_zeros", {{3, 2}}, FN(slice_scatter_zeros(x[0], Shape{3, 5}, 1, 1, 2)))
      .ref([](const Args& a) {
        Arr out({3, 5});
        for (int64_t i = 0; i < 3; ++i)
          for (int64_t j = 0; j < 2; ++j) out.at({i, 1 + 2 * j}) = a[0].at({i, j});
        return out;
      });
}

}  // namespace dtest
