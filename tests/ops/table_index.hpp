// tests/ops/table_index.hpp — op-table entries for ops/index.hpp.
#pragma once
#include "harness.hpp"

namespace dtest {

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
  // index smaller than the input on the other dims (PyTorch reads the leading slice)
  const std::vector<int64_t> gs = {3, 0, 3, 2, 2, 1};
  t.add("gather", {m}, FN(gather(x[0], 1, ids(gs, Shape{2, 3}))), "dim 1, index [2,3] < [3,4]")
      .ref([gs](const Args& a) {
        Arr out({2, 3});
        for (int64_t i = 0; i < 2; ++i)
          for (int64_t j = 0; j < 3; ++j) out.at({i, j}) = a[0].at({i, gs[i * 3 + j]});
        return out;
      });
  const std::vector<int64_t> g3 = {1, 0, 2, 2, 0, 1, 1, 1};
  t.add("gather", {{3, 3, 4}}, FN(gather(x[0], 0, ids(g3, Shape{2, 2, 2}))),
        "dim 0 of [3,3,4], index [2,2,2], repeats")
      .ref([g3](const Args& a) {
        Arr out({2, 2, 2});
        for (int64_t i = 0; i < 8; ++i) {
          Dims c = unravel(i, {2, 2, 2});
          out.at(c) = a[0].at({g3[i], c[1], c[2]});
        }
        return out;
      });
  t.add("gather", {{2, 4, 3}}, FN(gather(x[0], 1, ids(g3, Shape{1, 4, 2}))),
        "middle dim of [2,4,3], index [1,4,2]")
      .ref([g3](const Args& a) {
        Arr out({1, 4, 2});
        for (int64_t i = 0; i < 8; ++i) {
          Dims c = unravel(i, {1, 4, 2});
          out.at(c) = a[0].at({c[0], g3[i], c[2]});
        }
        return out;
      });
  const std::vector<int64_t> ss = {2, 2, 0, 3};
  t.add("scatter_add", {m, {2, 2}}, FN(scatter_add(x[0], 1, ids(ss, Shape{2, 2}), x[1])),
        "dim 1, index [2,2] < base [3,4]")
      .ref([ss](const Args& a) {
        Arr out = a[0];
        for (int64_t i = 0; i < 2; ++i)
          for (int64_t j = 0; j < 2; ++j) out.at({i, ss[i * 2 + j]}) += a[1].at({i, j});
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
