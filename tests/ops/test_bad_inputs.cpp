// tests/ops/test_bad_inputs.cpp — the hostile-input table (issue 26): one row per probe that
// once crashed, read out of bounds or returned a silently wrong result, and the error fragment
// it must give now. Every row must throw distillery::Error (never a segfault, a sanitizer
// report, std::length_error or a silent result) whose message starts with the op name and
// contains every listed fragment. This file runs in the Release and the ASan+UBSan builds.
#include <distillery/distillery.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

using namespace distillery;
using TD = Tensor<double>;
using TF = Tensor<float>;
using TI = Tensor<int64_t>;

namespace {

struct Row {
  std::string probe;
  std::function<void()> run;
  std::vector<std::string> fragments;  // the op name first ("op: ..."), then other parts
};

void expect_rows(const std::vector<Row>& rows) {
  for (const Row& r : rows) {
    INFO("probe: " << r.probe);
    std::string msg;
    bool other = false;
    try {
      r.run();
    } catch (const Error& e) {
      msg = e.what();
    } catch (const std::exception& e) {
      other = true;
      msg = e.what();
    }
    INFO("message: " << msg);
    CHECK_FALSE(other);
    REQUIRE_FALSE(msg.empty());
    CHECK(msg.rfind(r.fragments[0] + ":", 0) == 0);
    for (const std::string& f : r.fragments) CHECK(msg.find(f) != std::string::npos);
  }
}

TD z(Shape s) { return TD::zeros(s); }
const TD u;  // undefined
const TI ui;

}  // namespace

TEST_CASE("bad inputs: undefined tensors name the op") {
  expect_rows({
      {"u.shape()", [] { (void)u.shape(); }, {"tensor", "undefined tensor"}},
      {"u.numel()", [] { (void)u.numel(); }, {"tensor", "undefined tensor"}},
      {"u.item()", [] { (void)u.item(); }, {"tensor", "undefined tensor"}},
      {"u.detach()", [] { (void)u.detach(); }, {"tensor", "undefined tensor"}},
      {"sum(u)", [] { sum(u); }, {"sum", "undefined tensor"}},
      {"sum(u, {0})", [] { sum(u, {0}); }, {"sum", "undefined tensor"}},
      {"mean(u)", [] { mean(u); }, {"mean", "undefined tensor"}},
      {"max(u)", [] { max(u); }, {"max", "undefined tensor"}},
      {"argmax(u, 0)", [] { argmax(u, 0); }, {"argmax", "undefined tensor"}},
      {"logsumexp(u)", [] { logsumexp(u); }, {"logsumexp", "undefined tensor"}},
      {"softmax(u)", [] { softmax(u); }, {"softmax", "undefined tensor"}},
      {"log_softmax(u)", [] { log_softmax(u); }, {"log_softmax", "undefined tensor"}},
      {"reshape(u)", [] { reshape(u, {2}); }, {"reshape", "undefined tensor"}},
      {"transpose(u)", [] { transpose(u, 0, 1); }, {"transpose", "undefined tensor"}},
      {"expand(u)", [] { expand(u, {2}); }, {"expand", "undefined tensor"}},
      {"contiguous(u)", [] { contiguous(u); }, {"contiguous", "undefined tensor"}},
      {"cross_entropy(u, t)", [] { cross_entropy(u, TI::zeros({2})); },
       {"cross_entropy", "undefined tensor"}},
      {"cross_entropy(x, u)", [] { cross_entropy(z({2, 3}), ui); },
       {"cross_entropy", "undefined tensor"}},
      {"mse_loss(u, x)", [] { mse_loss(u, z({2})); }, {"mse_loss", "undefined tensor"}},
      {"mse_loss(x, u)", [] { mse_loss(z({2}), u); }, {"mse_loss", "undefined tensor"}},
      {"kl_div(u, x)", [] { kl_div(u, z({2})); }, {"kl_div", "undefined tensor"}},
      {"layer_norm(u)", [] { layer_norm(u, Shape{3}); }, {"layer_norm", "undefined tensor"}},
      {"conv2d(u, w)", [] { conv2d(u, z({1, 1, 1, 1})); }, {"conv2d", "undefined tensor"}},
      {"conv2d(x, u)", [] { conv2d(z({1, 1, 2, 2}), u); }, {"conv2d", "undefined tensor"}},
      {"max_pool2d(u)", [] { max_pool2d(u, 2); }, {"max_pool2d", "undefined tensor"}},
      {"avg_pool2d(u)", [] { avg_pool2d(u, 2); }, {"avg_pool2d", "undefined tensor"}},
      {"cat({x, u})", [] { cat(std::vector<TD>{z({2}), u}); }, {"cat", "undefined tensor"}},
      {"stack({u})", [] { stack(std::vector<TD>{u}); }, {"stack", "undefined tensor"}},
      {"gt_scalar(u)", [] { gt_scalar(u, 0.0); }, {"gt_scalar", "undefined tensor"}},
      {"gt(u, x)", [] { gt(u, z({2})); }, {"gt", "undefined tensor"}},
      {"where(u, a, b)", [] { where(u, z({2}), z({2})); }, {"where", "undefined tensor"}},
      {"sign(u)", [] { sign(u); }, {"sign", "undefined tensor"}},
      {"gather(x, u)", [] { gather(z({2}), 0, ui); }, {"gather", "undefined tensor"}},
      {"index_select(u)", [] { index_select(u, 0, TI::zeros({1})); },
       {"index_select", "undefined tensor"}},
      {"embedding(w, u)", [] { embedding(z({3, 2}), ui); }, {"embedding", "undefined tensor"}},
      {"pad(u)", [] { pad(u, {1, 1}); }, {"pad", "undefined tensor"}},
      {"matmul(u, x)", [] { matmul(u, z({2, 2})); }, {"matmul", "undefined tensor"}},
      {"linear(x, u)", [] { linear(z({2, 2}), u); }, {"linear", "undefined tensor"}},
      {"bmm(u, x)", [] { bmm(u, z({1, 2, 2})); }, {"bmm", "undefined tensor"}},
      {"exp(u)", [] { exp(u); }, {"exp", "undefined tensor"}},
      {"add(x, u)", [] { add(z({2}), u); }, {"add", "undefined tensor"}},
      {"clamp(u)", [] { clamp(u, 0.0, 1.0); }, {"clamp", "undefined tensor"}},
      {"dropout(u)", [] { dropout(u, 0.5); }, {"dropout", "undefined tensor"}},
      {"sort(u)", [] { sort(u); }, {"sort", "undefined tensor"}},
      {"u.sum()", [] { u.sum(); }, {"sum", "undefined tensor"}},
      {"u.backward()", [] { u.backward(); }, {"backward", "undefined tensor"}},
      {"assign_(u, x)", [] { assign_(u, z({2})); }, {"assign_", "undefined tensor"}},
  });
}
