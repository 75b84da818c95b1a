// tests/ops/test_errors.cpp — bad shapes, dims and indices throw distillery::Error, and the
// message names the op and the shapes involved ("op: ... [3, 4] ... [5] ..."), never a silent
// truncation or an unexpected broadcast.
#include <distillery/distillery.hpp>

#include <doctest/doctest.h>

#include "expect_error.hpp"

#include <functional>
#include <string>
#include <vector>

using namespace distillery;
using TD = Tensor<double>;
using TI = Tensor<int64_t>;

namespace {

using Case = ErrorCase;

TD z(Shape s) { return TD::zeros(s); }
TI idx(std::vector<int64_t> v, Shape s) { return TI::from_vector(v, s); }

}  // namespace

TEST_CASE("elementwise: broadcasting failures name the op and both shapes") {
  expect_errors({
      {"add",
       [] {
         add(z({3, 4}), z({5}));
       },
       {"add", "[3, 4]", "[5]"}},
      {"operator+",
       [] {
         (void)(z({2, 3}) + z({3, 2}));
       },
       {"add", "[2, 3]", "[3, 2]"}},
      {"sub", [] { sub(z({4}), z({3})); }, {"sub", "[4]", "[3]"}},
      {"mul",
       [] {
         mul(z({2, 1, 3}), z({4, 2}));
       },
       {"mul", "[2, 1, 3]", "[4, 2]"}},
      {"div",
       [] {
         div(z({3}), z({2, 2}));
       },
       {"div", "[3]", "[2, 2]"}},
      {"pow", [] { pow(z({3}), z({4})); }, {"pow", "[3]", "[4]"}},
      {"maximum", [] { maximum(z({3}), z({4})); }, {"maximum", "[3]", "[4]"}},
      {"where", [] { where(z({3}), z({4}), z({3})); }, {"where", "[3]", "[4]"}},
      {"masked_fill",
       [] {
         masked_fill(z({3, 4}), z({3}), 1.0);
       },
       {"where", "[3]", "[3, 4]"}},
      {"clamp bounds", [] { clamp(z({3}), 1.0, -1.0); }, {"clamp", "1", "-1"}},
  });
}

TEST_CASE("reductions and views: bad dims and shapes") {
  expect_errors({
      {"sum dim",
       [] {
         sum(z({3, 4}), {2});
       },
       {"sum", "dim 2", "2 dimensions"}},
      {"mean dim", [] { mean(z({3}), {-2}); }, {"mean", "dim -2"}},
      {"var correction", [] { var(z({1})); }, {"var", "correction"}},
      {"argmax dim", [] { argmax(z({3}), 1); }, {"argmax", "dim 1"}},
      {"topk k",
       [] {
         topk(z({2, 3}), 4);
       },
       {"topk", "k = 4", "[2, 3]"}},
      {"sum_to",
       [] {
         sum_to(z({3, 4}), Shape{2, 4});
       },
       {"sum_to", "[3, 4]", "[2, 4]"}},
      {"reshape",
       [] {
         reshape(z({3, 4}), Shape{5, 5});
       },
       {"reshape", "[5, 5]", "[3, 4]"}},
      {"reshape two -1",
       [] {
         reshape(z({3, 4}), Shape{-1, -1});
       },
       {"reshape", "[-1, -1]"}},
      {"view of a transpose",
       [] {
         view(transpose(z({3, 4}), 0, 1), Shape{12});
       },
       {"view", "[4, 3]", "reshape"}},
      {"permute",
       [] {
         permute(z({3, 4}), {0});
       },
       {"permute", "[3, 4]"}},
      {"permute repeat",
       [] {
         permute(z({3, 4}), {1, 1});
       },
       {"permute", "repeated"}},
      {"expand",
       [] {
         expand(z({3, 2}), Shape{3, 4});
       },
       {"expand", "[3, 2]", "[3, 4]"}},
      {"narrow",
       [] {
         narrow(z({3, 4}), 1, 2, 3);
       },
       {"narrow", "[3, 4]"}},
      {"select",
       [] {
         select(z({3, 4}), 0, 3);
       },
       {"select", "index 3", "[3, 4]"}},
      {"slice step",
       [] {
         slice(z({3, 4}), 0, 0, 3, 0);
       },
       {"slice", "step"}},
      {"from_vector",
       [] {
         TD::from_vector({1, 2, 3}, Shape{2, 2});
       },
       {"from_vector", "4", "[2, 2]", "3"}},
      {"item", [] { z({2}).item(); }, {"item", "[2]"}},
  });
}

TEST_CASE("linear algebra: mismatched operands") {
  expect_errors({
      {"matmul",
       [] {
         matmul(z({3, 4}), z({5, 6}));
       },
       {"matmul", "[3, 4]", "[5, 6]"}},
      {"matmul batch",
       [] {
         matmul(z({2, 3, 4}), z({3, 4, 5}));
       },
       {"matmul", "[2]", "[3]"}},
      {"matmul 0-dim", [] { matmul(TD::scalar(1), z({3})); }, {"matmul", "[]", "[3]"}},
      {"mm",
       [] {
         mm(z({3}), z({3, 2}));
       },
       {"mm", "[3]", "[3, 2]"}},
      {"bmm",
       [] {
         bmm(z({2, 3, 4}), z({3, 4, 5}));
       },
       {"bmm", "[2, 3, 4]", "[3, 4, 5]"}},
      {"outer",
       [] {
         outer(z({2, 2}), z({3}));
       },
       {"outer", "[2, 2]", "[3]"}},
      {"linear weight",
       [] {
         linear(z({2, 3}), z({4, 5}));
       },
       {"linear", "[2, 3]", "[4, 5]"}},
      {"linear bias",
       [] {
         linear(z({2, 3}), z({4, 3}), z({5}));
       },
       {"linear", "[5]", "[4, 3]"}},
  });
}

TEST_CASE("indexing and joining: shapes and out-of-range indices") {
  expect_errors({
      {"cat",
       [] {
         cat(std::vector<TD>{z({2, 4}), z({2, 5})}, 0);
       },
       {"cat", "[2, 5]", "[2, 4]"}},
      {"cat ranks",
       [] {
         cat(std::vector<TD>{z({2, 4}), z({4})}, 0);
       },
       {"cat", "[4]", "[2, 4]"}},
      {"cat empty list", [] { cat(std::vector<TD>{}, 0); }, {"cat", "non-empty"}},
      {"stack",
       [] {
         stack(std::vector<TD>{z({3}), z({4})});
       },
       {"stack", "[3]", "[4]"}},
      {"gather rank",
       [] {
         gather(z({3, 4}), 1, idx({0, 1}, {2}));
       },
       {"gather", "[2]", "[3, 4]"}},
      {"gather shape",
       [] {
         gather(z({3, 4}), 1, idx({0, 0, 0, 0}, {4, 1}));
       },
       {"gather", "[4, 1]", "[3, 4]"}},
      {"gather range",
       [] {
         gather(z({3, 4}), 1, idx({0, 4, 0}, {3, 1}));
       },
       {"gather", "out of range", "4"}},
      {"scatter_add src",
       [] {
         scatter_add(z({3, 4}), 1, idx({0, 1, 2}, {3, 1}), z({3, 2}));
       },
       {"scatter_add", "[3, 2]", "[3, 1]"}},
      {"index_select range",
       [] {
         index_select(z({3, 4}), 0, TI::from_vector({0, 3}));
       },
       {"index_select", "3", "out of range"}},
      {"index_select rank",
       [] {
         index_select(z({3, 4}), 0, idx({0, 1}, {1, 2}));
       },
       {"index_select", "[1, 2]"}},
      {"index_add src",
       [] {
         index_add(z({3, 4}), 0, TI::from_vector({0}), z({2, 4}));
       },
       {"index_add", "[2, 4]", "[1, 4]"}},
      {"embedding range",
       [] {
         embedding(z({5, 3}), TI::from_vector({1, 5}));
       },
       {"embedding", "index_select", "5", "out of range"}},
      {"nll_loss range",
       [] {
         nll_loss(z({2, 3}), TI::from_vector({-1, 0}));
       },
       {"nll_loss", "gather", "out of range"}},
      {"embedding weight", [] { embedding(z({5}), TI::from_vector({1})); }, {"embedding", "[5]"}},
      {"split size", [] { split(z({4}), 0); }, {"split", "0"}},
      {"pad count",
       [] {
         pad(z({3, 4}), {1, 1, 1});
       },
       {"pad", "3"}},
  });
}

TEST_CASE("nn functional and losses: mismatched inputs") {
  expect_errors({
      {"softmax dim",
       [] {
         softmax(z({3, 4}), 2);
       },
       {"softmax", "dim 2"}},
      {"layer_norm",
       [] {
         layer_norm(z({2, 3, 4}), Shape{3});
       },
       {"layer_norm", "[3]", "[2, 3, 4]"}},
      {"layer_norm weight",
       [] {
         layer_norm(z({2, 4}), Shape{4}, z({3}));
       },
       {"layer_norm", "[3]", "[4]"}},
      {"conv2d channels",
       [] {
         conv2d(z({1, 3, 5, 5}), z({2, 2, 3, 3}));
       },
       {"conv2d", "[1, 3, 5, 5]", "[2, 2, 3, 3]"}},
      {"conv2d kernel too big",
       [] {
         conv2d(z({1, 1, 2, 2}), z({1, 1, 3, 3}));
       },
       {"conv2d", "[1, 1, 2, 2]"}},
      {"conv1d",
       [] {
         conv1d(z({1, 2, 5, 1}), z({2, 2, 3}));
       },
       {"conv1d", "[1, 2, 5, 1]"}},
      {"max_pool2d",
       [] {
         max_pool2d(z({2, 4, 4}), 2);
       },
       {"max_pool2d", "[2, 4, 4]"}},
      {"dropout p", [] { dropout(z({3}), 1.5); }, {"dropout", "1.5"}},
      {"mse_loss",
       [] {
         mse_loss(z({3, 4}), z({4, 3}));
       },
       {"mse_loss", "[3, 4]", "[4, 3]"}},
      {"l1_loss", [] { l1_loss(z({3}), z({4})); }, {"l1_loss", "[3]", "[4]"}},
      {"smooth_l1_loss",
       [] {
         smooth_l1_loss(z({3}), z({1, 3}));
       },
       {"smooth_l1_loss", "[3]", "[1, 3]"}},
      {"huber_loss", [] { huber_loss(z({2}), z({3})); }, {"huber_loss", "[2]", "[3]"}},
      {"bce_with_logits",
       [] {
         binary_cross_entropy_with_logits(z({2, 2}), z({4}));
       },
       {"binary_cross_entropy_with_logits", "[2, 2]", "[4]"}},
      {"kl_div",
       [] {
         kl_div(z({2, 3}), z({3, 2}));
       },
       {"kl_div", "[2, 3]", "[3, 2]"}},
      {"cross_entropy classes",
       [] {
         cross_entropy(z({4, 5}), TI::from_vector({1, 2, 3}));
       },
       {"cross_entropy", "[4, 5]", "[3]"}},
      {"cross_entropy probs",
       [] {
         cross_entropy(z({4, 5}), z({4, 4}));
       },
       {"cross_entropy", "[4, 5]", "[4, 4]"}},
      {"cross_entropy class range",
       [] {
         cross_entropy(z({2, 3}), TI::from_vector({0, 3}));
       },
       {"cross_entropy", "gather", "out of range"}},
      {"nll_loss",
       [] {
         nll_loss(z({4, 5}), idx({0, 1, 2, 3}, {2, 2}));
       },
       {"nll_loss", "[4, 5]", "[2, 2]"}},
  });
}

TEST_CASE("autograd: mismatched gradient shapes") {
  TD x = TD::zeros({3}).requires_grad_();
  expect_errors({
      {"backward grad_output",
       [&] { (x * 2.0).backward(TD::zeros({4})); },
       {"backward", "[4]", "[3]"}},
      {"grad grad_outputs",
       [&] { grad({x * 2.0}, {x}, {TD::zeros({2})}); },
       {"grad", "[2]", "[3]"}},
      {"grad count",
       [&] {
         grad({x * 2.0}, {x}, {TD::zeros({3}), TD::zeros({3})});
       },
       {"grad", "2"}},
  });
}
