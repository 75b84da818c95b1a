// tests/ops/table_shape.hpp — op-table entries for ops/view.hpp, ops/linalg.hpp, ops/index.hpp.
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

inline void linalg_entries(Table& t) {
  using namespace distillery;
  auto mm_ref = [](const Args& a) { return ref::matmul(a[0], a[1]); };
  t.add("matmul", {{4}, {4}}, FN(matmul(x[0], x[1])), "1-D . 1-D").ref(mm_ref);
  t.add("matmul", {{4}, {4, 3}}, FN(matmul(x[0], x[1])), "1-D . 2-D").ref(mm_ref);
  t.add("matmul", {{3, 4}, {4}}, FN(matmul(x[0], x[1])), "2-D . 1-D").ref(mm_ref);
  t.add("matmul", {{3, 4}, {4, 5}}, FN(x[0].matmul(x[1])), "2-D, method").ref(mm_ref);
  t.add("matmul", {{2, 3, 4}, {2, 4, 5}}, FN(matmul(x[0], x[1])), "batched").ref(mm_ref);
  t.add("matmul", {{2, 3, 4}, {4, 5}}, FN(matmul(x[0], x[1])), "batched . 2-D").ref(mm_ref);
  t.add("matmul", {{3, 4}, {2, 4, 5}}, FN(matmul(x[0], x[1])), "2-D . batched").ref(mm_ref);
  t.add("matmul", {{2, 1, 3, 4}, {3, 4, 2}}, FN(matmul(x[0], x[1])), "broadcast batch").ref(mm_ref);
  t.add("matmul", {{2, 3, 4}, {4}}, FN(matmul(x[0], x[1])), "batched . 1-D").ref(mm_ref);
  t.add("matmul", {{4}, {2, 4, 3}}, FN(matmul(x[0], x[1])), "1-D . batched").ref(mm_ref);
  t.add("matmul", {{4, 3}, {4, 5}}, FN(matmul(transpose(x[0], 0, 1), x[1])), "A^T . B")
      .ref([](const Args& a) { return ref::matmul(ref::transpose(a[0], 0, 1), a[1]); });
  t.add("matmul", {{3, 4}, {5, 4}}, FN(matmul(x[0], x[1].t())), "A . B^T").ref([](const Args& a) {
    return ref::matmul(a[0], ref::transpose(a[1], 0, 1));
  });
  t.add("matmul", {{2, 4, 3}, {2, 5, 4}},
        FN(matmul(transpose(x[0], -1, -2), transpose(x[1], -1, -2))), "batched A^T . B^T")
      .ref([](const Args& a) {
        return ref::matmul(ref::transpose(a[0], 1, 2), ref::transpose(a[1], 1, 2));
      });
  t.add("matmul", {{3, 4}, {4, 5}}, FN(matmul(x[0], expand(x[1], Shape{2, 4, 5}))),
        "expanded (stride-0) batch operand")
      .ref([](const Args& a) {
        return ref::matmul(a[0], ref::reshape(ref::cat({a[1], a[1]}, 0), {2, 4, 5}));
      });
  t.add("matmul", {{3, 4}}, FN(matmul(x[0], x[0].t())), "x . x^T (same tensor)")
      .ref([](const Args& a) { return ref::matmul(a[0], ref::transpose(a[0], 0, 1)); });
  t.add("mm", {{3, 4}, {4, 2}}, FN(mm(x[0], x[1]))).ref(mm_ref);
  t.add("bmm", {{2, 3, 4}, {2, 4, 2}}, FN(bmm(x[0], x[1]))).ref(mm_ref);
  t.add("outer", {{3}, {4}}, FN(outer(x[0], x[1]))).ref([](const Args& a) {
    return ref::matmul(ref::reshape(a[0], {3, 1}), ref::reshape(a[1], {1, 4}));
  });
  auto lin = [](const Args& a) {
    Arr y = ref::matmul(a[0], ref::transpose(a[1], 0, 1));
    if (a.size() == 3) y = ref::binary([](double p, double q) { return p + q; })({y, a[2]});
    return y;
  };
  t.add("linear", {{2, 4}, {3, 4}, {3}}, FN(linear(x[0], x[1], x[2])), "with bias").ref(lin);
  t.add("linear", {{2, 4}, {3, 4}}, FN(linear(x[0], x[1])), "without bias").ref(lin);
  t.add("linear", {{2, 3, 4}, {5, 4}, {5}}, FN(linear(x[0], x[1], x[2])), "3-D input").ref(lin);
  t.add("linear", {{4}, {3, 4}, {3}}, FN(linear(x[0], x[1], x[2])), "1-D input").ref(lin);
}

inline void index_entries(Table& t) {
  using namespace distillery;
  const Shape m{3, 4};
  // gather along dim 1 with repeated indices
  const std::vector<int64_t> gi = {0, 3, 3, 1, 2, 2, 0, 1, 1};
  t.add("gather", {m}, FN(gather(x[0], 1, ids(gi, Shape{3, 3}))), "dim 1, repeats")
      .ref([gi](const Args& a) {
        Arr out({3, 3});
        for (int64_t i = 0; i < 3; ++i)
          for (int64_t j = 0; j < 3; ++j) out.at({i, j}) = a[0].at({i, gi[i * 3 + j]});
        return out;
      });
  const std::vector<int64_t> g0 = {2, 0, 1, 2};
  t.add("gather", {m}, FN(gather(x[0], 0, ids(g0, Shape{1, 4}))), "dim 0").ref([g0](const Args& a) {
    Arr out({1, 4});
    for (int64_t j = 0; j < 4; ++j) out.at({0, j}) = a[0].at({g0[j], j});
    return out;
  });
  const std::vector<int64_t> si = {1, 1, 0, 3, 0, 2};
  t.add("scatter_add", {m, {3, 2}}, FN(scatter_add(x[0], 1, ids(si, Shape{3, 2}), x[1])),
        "dim 1, repeats; base and src differentiable")
      .ref([si](const Args& a) {
        Arr out = a[0];
        for (int64_t i = 0; i < 3; ++i)
          for (int64_t j = 0; j < 2; ++j) out.at({i, si[i * 2 + j]}) += a[1].at({i, j});
        return out;
      });
  const std::vector<int64_t> ii = {2, 0, 2, 1, 2};
  t.add("index_select", {m}, FN(index_select(x[0], 0, ids(ii))), "dim 0, repeats")
      .ref([ii](const Args& a) {
        Arr out({5, 4});
        for (int64_t k = 0; k < 5; ++k)
          for (int64_t j = 0; j < 4; ++j) out.at({k, j}) = a[0].at({ii[k], j});
        return out;
      });
  const std::vector<int64_t> ij = {3, 3, 0};
  t.add("index_select", {{2, 4, 2}}, FN(index_select(x[0], 1, ids(ij))), "middle dim")
      .ref([ij](const Args& a) {
        Arr out({2, 3, 2});
        for (int64_t i = 0; i < 2; ++i)
          for (int64_t k = 0; k < 3; ++k)
            for (int64_t j = 0; j < 2; ++j) out.at({i, k, j}) = a[0].at({i, ij[k], j});
        return out;
      });
  t.add("index_add", {m, {3, 3}}, FN(index_add(x[0], 1, ids(ij), x[1])), "dim 1, repeats")
      .ref([ij](const Args& a) {
        Arr out = a[0];
        for (int64_t i = 0; i < 3; ++i)
          for (int64_t k = 0; k < 3; ++k) out.at({i, ij[k]}) += a[1].at({i, k});
        return out;
      });
  const std::vector<int64_t> ei = {4, 0, 4, 2, 1, 0};
  t.add("embedding", {{5, 3}}, FN(embedding(x[0], ids(ei, Shape{2, 3}))), "ids [2,3], repeats")
      .ref([ei](const Args& a) {
        Arr out({2, 3, 3});
        for (int64_t k = 0; k < 6; ++k)
          for (int64_t j = 0; j < 3; ++j) out.at({k / 3, k % 3, j}) = a[0].at({ei[k], j});
        return out;
      });
  t.add("cat", {{2, 4}, {1, 4}, {3, 4}}, FN(cat(x, 0)), "dim 0").ref([](const Args& a) {
    return ref::cat(a, 0);
  });
  t.add("cat", {{3, 2}, {3, 4}}, FN(cat(Inputs<T>{x[0], x[1], x[0]}, -1)), "dim -1, an input twice")
      .ref([](const Args& a) {
        return ref::cat({a[0], a[1], a[0]}, 1);
      });
  t.add("stack", {m, m}, FN(stack(x, 1)), "dim 1").ref([](const Args& a) {
    return ref::cat({ref::reshape(a[0], {3, 1, 4}), ref::reshape(a[1], {3, 1, 4})}, 1);
  });
  t.add("stack", {m, m}, FN(stack(x)), "dim 0").ref([](const Args& a) {
    return ref::cat({ref::reshape(a[0], {1, 3, 4}), ref::reshape(a[1], {1, 3, 4})}, 0);
  });
  // pieces weighted differently so that a wrong piece order changes the value
  auto weighted = [](const Arr& a, int64_t d, std::vector<int64_t> sizes) {
    Args parts;
    int64_t off = 0;
    for (size_t k = 0; k < sizes.size(); ++k) {
      Arr p = ref::slice(a, d, off, off + sizes[k], 1);
      for (double& v : p.v) v *= double(k + 1);
      parts.push_back(p);
      off += sizes[k];
    }
    return ref::cat(parts, d);
  };
  auto recombine = [](const auto& parts) {
    using Tn = std::decay_t<decltype(parts[0])>;
    std::vector<Tn> scaled;
    for (size_t k = 0; k < parts.size(); ++k) scaled.push_back(parts[k] * double(k + 1));
    return scaled;
  };
  t.add("split", {{3, 5}}, FN(cat(recombine(split(x[0], 2, 1)), 1)), "size 2 along dim 1")
      .ref([=](const Args& a) {
        return weighted(a[0], 1, {2, 2, 1});
      });
  t.add("split", {{4, 3}}, FN(cat(recombine(split(x[0], 3)), 0)), "size 3 along dim 0")
      .ref([=](const Args& a) {
        return weighted(a[0], 0, {3, 1});
      });
  t.add("chunk", {{3, 5}}, FN(cat(recombine(chunk(x[0], 3, 1)), 1)), "3 chunks along dim 1")
      .ref([=](const Args& a) {
        return weighted(a[0], 1, {2, 2, 1});
      });
  t.add("chunk", {{4, 3}}, FN(cat(recombine(chunk(x[0], 2)), 0)), "2 chunks along dim 0")
      .ref([=](const Args& a) {
        return weighted(a[0], 0, {2, 2});
      });
  auto pad_ref = [](Dims lo, Dims hi, double value) -> RefFn {
    return [=](const Args& a) {
      Dims s = a[0].shape;
      for (size_t d = 0; d < s.size(); ++d) s[d] += lo[d] + hi[d];
      Arr out(s, value);
      for (int64_t i = 0; i < a[0].numel(); ++i) {
        Dims idx = unravel(i, a[0].shape);
        for (size_t d = 0; d < idx.size(); ++d) idx[d] += lo[d];
        out.at(idx) = a[0].v[i];
      }
      return out;
    };
  };
  t.add("pad", {m}, FN(pad(x[0], {1, 2})), "last dim").ref(pad_ref({0, 1}, {0, 2}, 0));
  t.add("pad", {{2, 3, 2}}, FN(pad(x[0], {0, 1, 2, 0}, T(1.5))), "two dims, value 1.5")
      .ref(pad_ref({0, 2, 0}, {0, 0, 1}, 1.5));
}

}  // namespace dtest
