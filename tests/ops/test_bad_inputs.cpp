// tests/ops/test_bad_inputs.cpp — the hostile-input table (issue 26): one row per probe that
// once crashed, read out of bounds or returned a silently wrong result, and the error fragment
// it must give now. Every row must throw distillery::Error (never a segfault, a sanitizer
// report, std::length_error or a silent result) whose message starts with the op name and
// contains every listed fragment. This file runs in the Release and the ASan+UBSan builds.
#include <distillery/distillery.hpp>
#include <distillery/nn/nn.hpp>

#include <doctest/doctest.h>

#include "expect_error.hpp"

#include <cmath>
#include <functional>
#include <map>
#include <limits>
#include <string>
#include <vector>

using namespace distillery;
using TD = Tensor<double>;
using TF = Tensor<float>;
using TI = Tensor<int64_t>;

namespace {

using Row = ErrorCase;  // probe, run, fragments (op name first)

TD z(Shape s) { return TD::zeros(s); }
const TD u;  // undefined
const TI ui;

}  // namespace

TEST_CASE("bad inputs: undefined tensors name the op") {
  expect_errors({
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

TEST_CASE("bad inputs: windows larger than the padded input are refused (PyTorch's rule)") {
  expect_errors({
      {"max_pool2d(ones 4x4, 7) read out of bounds",
       [] { max_pool2d(TD::ones({1, 1, 4, 4}), 7); },
       {"max_pool2d", "Output size is too small", "[1, 1, 4, 4]", "7x7"}},
      {"max_pool2d(ones 4x4, 5)", [] { max_pool2d(TD::ones({1, 1, 4, 4}), 5); },
       {"max_pool2d", "Output size is too small"}},
      {"conv2d k5 s5 on 2x2 treated the outside as padding",
       [] {
         Conv2dOptions o;
         o.stride = {5, 5};
         conv2d(TD::ones({1, 1, 2, 2}), TD::ones({1, 1, 5, 5}), TD(), o);
       },
       {"conv2d", "Output size is too small", "[1, 1, 2, 2]", "5x5"}},
      {"conv2d k3 on 2x2", [] { conv2d(TD::ones({1, 1, 2, 2}), TD::ones({1, 1, 3, 3})); },
       {"conv2d", "Output size is too small"}},
      {"conv2d dilation 2, k2 on 2x2",
       [] {
         Conv2dOptions o;
         o.dilation = {2, 2};
         conv2d(TD::ones({1, 1, 2, 2}), TD::ones({1, 1, 2, 2}), TD(), o);
       },
       {"conv2d", "Output size is too small"}},
      {"avg_pool2d k3 on 2x2", [] { avg_pool2d(TD::ones({1, 1, 2, 2}), 3); },
       {"avg_pool2d", "Output size is too small"}},
      {"avg_pool2d pad 2 > k 3 / 2",
       [] {
         AvgPool2dOptions o;
         o.kernel = {3, 4};
         o.padding = {2, 1};
         avg_pool2d(TD::ones({1, 1, 6, 6}), o);
       },
       {"avg_pool2d", "at most half the kernel", "2x1", "3x4"}},
      {"avg_pool2d ceil_mode k5 stride 1 on 2x2",  // (k4 stride 4 is allowed: 1x1, as PyTorch)
       [] {
         AvgPool2dOptions o;
         o.kernel = {5, 5};
         o.stride = {1, 1};
         o.ceil_mode = true;
         avg_pool2d(TD::ones({1, 1, 2, 2}), o);
       },
       {"avg_pool2d", "Output size is too small", "ceil_mode"}},
      {"gather index larger than input off dim",
       [] { gather(TD::ones({2, 3}), 1, Tensor<int64_t>::zeros({3, 1})); },
       {"gather", "[3, 1]", "[2, 3]", "dim 1"}},
      {"conv2d 0x0 kernel returned the bias",
       [] { conv2d(TD::ones({1, 1, 2, 2}), TD::ones({1, 1, 0, 0}), TD::ones({1})); },
       {"conv2d", "kernel size must be positive", "0x0"}},
      {"max_pool2d kernel 0", [] { max_pool2d(TD::ones({1, 1, 2, 2}), 0); },
       {"max_pool2d", "kernel size must be positive"}},
      {"conv1d k4 on length 3", [] { conv1d(TD::ones({1, 1, 3}), TD::ones({1, 1, 4})); },
       {"conv1d", "Output size is too small"}},
      {"conv2d huge padding overflows",
       [] {
         Conv2dOptions o;
         o.padding = {int64_t(1) << 62, 0};
         conv2d(TD::ones({1, 1, 2, 2}), TD::ones({1, 1, 1, 1}), TD(), o);
       },
       {"conv2d", "size overflow"}},
  });
}

TEST_CASE("bad inputs: windows that fit still work, at PyTorch's sizes") {
  // floor((4 + 0 - 3) / 2) + 1 = 1 ; floor((5 + 2 - 3) / 2) + 1 = 3
  CHECK(max_pool2d(TD::ones({1, 1, 4, 4}), 3, 2).shape() == Shape{1, 1, 1, 1});
  CHECK(max_pool2d(TD::ones({1, 1, 5, 5}), 3, 2, 1).shape() == Shape{1, 1, 3, 3});
  CHECK(max_pool2d(TD::ones({1, 1, 4, 4}), 4).shape() == Shape{1, 1, 1, 1});
  CHECK(conv2d(TD::ones({1, 1, 2, 2}), TD::ones({1, 1, 3, 3}), TD(), {{1, 1}, {1, 1}, {1, 1}, 1})
            .shape() == Shape{1, 1, 2, 2});
  CHECK(avg_pool2d(TD::ones({1, 1, 2, 2}), 2).item() == 1.0);
}

TEST_CASE("bad inputs: shape arithmetic is overflow-checked") {
  const int64_t k32 = int64_t(1) << 32, k62 = int64_t(1) << 62;
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  expect_errors({
      {"zeros({2^32, 2^32}) had numel 0", [=] { TD::zeros({k32, k32}); },
       {"empty", "size overflow", "[4294967296, 4294967296]"}},
      {"zeros({3, 2^62}) had numel -4.6e18", [=] { TD::zeros({3, k62}); },
       {"empty", "size overflow"}},
      {"zeros({2^61}) bytes overflow", [=] { TD::zeros({k62 / 2}); }, {"empty", "size overflow"}},
      {"zeros({-1})", [] { TD::zeros({-1}); }, {"empty", "negative extent", "[-1]"}},
      {"randn({-1}) threw std::length_error", [] { TD::randn({-1}); },
       {"randn", "negative extent"}},
      {"rand({2^32, 2^32})", [=] { TF::rand({k32, k32}); }, {"rand", "size overflow"}},
      {"from_vector overflow", [=] { TD::from_vector({1.0}, Shape{k32, k32}); },
       {"from_vector", "size overflow"}},
      {"Shape::numel overflow", [=] { (void)Shape({k32, k32}).numel(); },
       {"numel", "size overflow"}},
      {"reshape to an overflowing shape", [=] { reshape(z({4}), {k32, k32, 0, -1}); },
       {"reshape", "size overflow"}},
      {"reshape wraps to the right count", [=] { reshape(z({4}), {k62, 4, 4}); },
       {"reshape", "size overflow"}},
      {"view to an overflowing shape", [=] { view(z({4}), {k32, k32}); },
       {"view", "size overflow"}},
      {"expand to an overflowing shape", [=] { expand(z({1, 1}), {k32, k32}); },
       {"expand", "size overflow"}},
      {"arange(0, inf) threw std::length_error", [=] { TD::arange(0, inf); },
       {"arange", "finite"}},
      {"arange(0, 1e300)", [] { TD::arange(0, 1e300); }, {"arange", "too many elements"}},
      {"arange(0, NaN) was UB", [=] { TD::arange(0, nan); }, {"arange", "finite"}},
      {"arange(0, 1, NaN)", [=] { TD::arange(0, 1, nan); }, {"arange", "finite"}},
      {"arange(0, 1, 0)", [] { TD::arange(0, 1, 0); }, {"arange", "non-zero"}},
      {"sum(x, {0, 0}) summed once", [] { sum(z({2, 3}), {0, 0}); },
       {"sum", "dim 0 appears multiple times"}},
      {"sum(x, {1, -1})", [] { sum(z({2, 3}), {1, -1}); },
       {"sum", "dim 1 appears multiple times"}},
      {"mean(x, {0, 0})", [] { mean(z({2, 3}), {0, 0}); },
       {"mean", "dim 0 appears multiple times"}},
  });
  // the healthy neighbours still work
  CHECK(TD::arange(0, 5).numel() == 5);
  CHECK(TD::arange(5, 0).numel() == 0);
  CHECK(TD::zeros({0, k62}).numel() == 0);
  CHECK(sum(TD::ones({2, 3}), {0, 1}).item() == 6.0);
}

TEST_CASE("bad inputs: a refused strict load_state_dict leaves the model unchanged") {
  Generator gen(7);
  nn::Sequential<double> model;
  model.push_back(std::make_shared<nn::Linear<double>>(2, 3, gen));
  model.push_back(std::make_shared<nn::Linear<double>>(3, 1, gen));
  auto before = model.state_dict();
  std::map<std::string, std::vector<double>> saved;
  for (auto& kv : before) saved[kv.first] = kv.second.to_vector();
  // every key present, first entries well-formed, the last one with a wrong shape
  std::map<std::string, TD> sd;
  for (auto& kv : before) sd[kv.first] = TD::full(kv.second.shape(), 9.0);
  const std::string last = sd.rbegin()->first;
  sd[last] = TD::zeros({7});
  expect_errors({{"load_state_dict with a wrong shape half-overwrote the model",
                [&] { model.load_state_dict(sd); },
                {"load_state_dict", last, "[7]"}}});
  for (auto& kv : model.state_dict()) CHECK(kv.second.to_vector() == saved[kv.first]);
  // an unexpected key: also refused before any copy
  sd[last] = TD::full(before[last].shape(), 9.0);
  sd["extra.weight"] = TD::zeros({1});
  expect_errors({{"unexpected key", [&] { model.load_state_dict(sd); },
                {"load_state_dict", "extra.weight"}}});
  for (auto& kv : model.state_dict()) CHECK(kv.second.to_vector() == saved[kv.first]);
  sd.erase("extra.weight");
  model.load_state_dict(sd);  // the good dict loads
  for (auto& kv : model.state_dict()) CHECK(kv.second.to_vector()[0] == 9.0);
}
