// tests/ops/table_linalg.hpp — op-table entries for ops/linalg.hpp.
#pragma once
#include "harness.hpp"

namespace dtest {

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

}  // namespace dtest
