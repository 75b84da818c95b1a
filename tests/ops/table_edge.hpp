// tests/ops/table_edge.hpp — op-table entries for edge sizes:
//   large  tensors above the OpenMP grain (backend/cpu/parallel.hpp: 32768 elements), so the
//          threaded kernel paths are checked too; finite differences on 4 sampled elements per
//          input
//   empty  tensors with a zero extent
#pragma once
#include <distillery/ops/nn_functional.hpp>

#include "harness.hpp"
#include "table_nn_functional.hpp"

namespace dtest {

inline void large_entries(Table& t) {
  using namespace distillery;
  const Shape big{192, 176};  // 33792 elements, just above the grain
  auto R = [](Dims dims, bool keep, std::function<double(const std::vector<double>&)> f) -> RefFn {
    return [=](const Args& a) { return ref::reduce(a[0], dims, keep, f); };
  };
  auto mx = [](const std::vector<double>& l) { return *std::max_element(l.begin(), l.end()); };
  const int k = 4;
  t.add("sum", {big}, FN(sum(x[0])), "large, all (chunked parallel reduction)")
      .sample_fd(k)
      .ref(R({}, false, ref::sum));
  t.add("sum", {big}, FN(sum(x[0], {0})), "large, dim 0 (strided parallel reduction)")
      .sample_fd(k)
      .ref(R({0}, false, ref::sum));
  t.add("mean", {big}, FN(mean(x[0], {1}, true)), "large, dim 1 keepdim")
      .sample_fd(k)
      .ref(R({1}, true, ref::mean));
  t.add("max", {big}, FN(max(x[0], 1).first), "large, dim 1").sample_fd(k).ref(R({1}, false, mx));
  t.add("logsumexp", {big}, FN(logsumexp(x[0], {0})), "large, dim 0")
      .sample_fd(k)
      .ref(R({0}, false, ref::lse));
  t.add("exp", {big}, FN(exp(x[0])), "large").sample_fd(k).ref(ref::unary([](double v) {
    return std::exp(v);
  }));
  t.add("add", {big, {176}}, FN(x[0] + x[1]), "large, broadcast row")
      .sample_fd(k)
      .ref(ref::binary([](double a, double b) { return a + b; }));
  t.add("mul", {big, {192, 1}}, FN(x[0] * x[1]), "large, broadcast column")
      .sample_fd(k)
      .ref(ref::binary([](double a, double b) { return a * b; }));
  t.add("where", {big, big, {176}}, FN(where(x[0], x[1], x[2])), "large")
      .sample_fd(k)
      .gens({Gen::mask01(), Gen(), Gen()})
      .ref([](const Args& a) {
        return ref::nary(a, [](const std::vector<double>& v) { return v[0] != 0 ? v[1] : v[2]; });
      });
  t.add("contiguous", {big}, FN(contiguous(transpose(x[0], 0, 1))), "large transpose copy")
      .sample_fd(k)
      .ref([](const Args& a) { return ref::transpose(a[0], 0, 1); });
  t.add("matmul", {{96, 128}, {128, 80}}, FN(matmul(x[0], x[1])), "large GEMM")
      .sample_fd(k)
      .ref([](const Args& a) { return ref::matmul(a[0], a[1]); });
  t.add("bmm", {{8, 40, 40}, {8, 40, 40}}, FN(bmm(x[0], x[1])), "batch-parallel GEMM")
      .sample_fd(k)
      .ref([](const Args& a) { return ref::matmul(a[0], a[1]); });
  t.add("softmax", {big}, FN(softmax(x[0], -1)), "large rows").sample_fd(k).ref([](const Args& a) {
    return ref::along(a[0], 1, ref::softmax);
  });
  t.add("sort", {{120, 300}}, FN(sort(x[0], 1).first), "large rows")
      .sample_fd(k)
      .ref([](const Args& a) {
        return ref::along(a[0], 1,
                          [](const std::vector<double>& l) { return ref::sorted(l, false); });
      });
  std::vector<int64_t> rows(1000);
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = int64_t((i * 7919) % 2000);
  t.add("index_select", {{2000, 40}}, FN(index_select(x[0], 0, ids(rows))), "large")
      .sample_fd(k)
      .ref([rows](const Args& a) {
        Arr out({1000, 40});
        for (int64_t i = 0; i < 1000; ++i)
          for (int64_t j = 0; j < 40; ++j) out.at({i, j}) = a[0].at({rows[i], j});
        return out;
      });
  t.add("conv2d", {{2, 3, 32, 32}, {4, 3, 3, 3}, {4}}, FN(conv2d(x[0], x[1], x[2])),
        "large image (parallel im2col)")
      .sample_fd(k)
      .ref([](const Args& a) {
        return ref::conv2d(a[0], a[1], &a[2], {1, 1}, {0, 0}, {1, 1}, 1);
      });
  t.add("max_pool2d", {{2, 4, 64, 64}}, FN(max_pool2d(x[0], 2)), "large")
      .sample_fd(k)
      .ref([](const Args& a) { return ref::pool2d(a[0], 2, 2, 0, true); });
}

inline void empty_entries(Table& t) {
  using namespace distillery;
  t.add("add", {{0, 3}, {3}}, FN(x[0] + x[1]), "empty").ref(ref::binary([](double a, double b) {
    return a + b;
  }));
  t.add("exp", {{0}}, FN(exp(x[0])), "empty").ref(ref::unary([](double v) { return std::exp(v); }));
  t.add("sum", {{0, 3}}, FN(sum(x[0])), "empty, all").ref([](const Args&) {
    return ref::scalar(0);
  });
  t.add("sum", {{0, 3}}, FN(sum(x[0], {0})), "empty, dim 0").ref([](const Args&) {
    return Arr({3}, 0.0);
  });
  t.add("matmul", {{0, 4}, {4, 2}}, FN(matmul(x[0], x[1])), "empty rows").ref([](const Args&) {
    return Arr({0, 2});
  });
  t.add("matmul", {{3, 0}, {0, 2}}, FN(matmul(x[0], x[1])), "empty inner dim").ref([](const Args&) {
    return Arr({3, 2}, 0.0);
  });
  t.add("cat", {{0, 4}, {2, 4}}, FN(cat(x, 0)), "an empty piece").ref([](const Args& a) {
    return a[1];
  });
  t.add("reshape", {{0, 3}}, FN(reshape(x[0], Shape{3, 0})), "empty").ref([](const Args&) {
    return Arr({3, 0});
  });
}

}  // namespace dtest
