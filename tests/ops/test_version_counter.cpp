// tests/ops/test_version_counter.cpp — in-place writes and saved tensors (issue 26).
//
// Every in-place write (assign_, fill_, an optimizer step) bumps the version of the storage it
// writes; a node that saved a tensor records its version, and backward through that node after
// the tensor was modified raises "<op>: ... modified by an inplace operation" (as PyTorch)
// instead of silently using the new values. Rules that read no values (add, views, sum, ...)
// are not affected, and the ordinary loop (forward, backward, step) keeps working.
#include <distillery/distillery.hpp>
#include <distillery/optim/optim.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace distillery;
using optim::Adam;
using optim::AdamOptions;
using optim::SGD;
using optim::SGDOptions;
using TD = Tensor<double>;

namespace {
std::string backward_error(const TD& y, bool retain = false) {
  try {
    y.backward(TD(), retain);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("version counter: assign_ and fill_ bump the storage version, views share it") {
  TD w = TD::from_vector({1, 2});
  TD v = w.reshape({2, 1});
  const uint64_t v0 = w.version();
  assign_(w, TD::from_vector({3, 4}));
  CHECK(w.version() == v0 + 1);
  fill_(v, 0.0);
  CHECK(w.version() == v0 + 2);
  CHECK(v.version() == w.version());
}

TEST_CASE("version counter: assign_ under no_grad before backward is refused (was [20, 40])") {
  TD w = TD::from_vector({1, 2}).requires_grad_();
  TD y = sum(mul(w, w));
  {
    NoGradGuard ng;
    assign_(w, TD::from_vector({10, 20}));
  }
  const std::string msg = backward_error(y);
  INFO(msg);
  CHECK(msg.rfind("mul:", 0) == 0);
  CHECK(msg.find("modified by an inplace operation") != std::string::npos);
  CHECK(msg.find("version 1; expected version 0") != std::string::npos);
  CHECK_FALSE(w.grad().defined());  // nothing half-written
}

TEST_CASE("version counter: a modified saved output is refused too") {
  TD x = TD::from_vector({0.5, 1.0}).requires_grad_();
  TD y = exp(x);  // exp' = exp(x), read from the saved output
  TD l = sum(y);
  {
    NoGradGuard ng;
    fill_(y, 0.0);
  }
  const std::string msg = backward_error(l);
  CHECK(msg.rfind("exp:", 0) == 0);
  CHECK(msg.find("the output") != std::string::npos);
}

TEST_CASE("version counter: rules that read no values still run (as PyTorch)") {
  TD w = TD::from_vector({1, 2}).requires_grad_();
  TD y = sum(add_scalar(reshape(w, {2, 1}), 1.0));
  {
    NoGradGuard ng;
    assign_(w, TD::from_vector({10, 20}));
  }
  y.backward();
  CHECK(w.grad().to_vector() == std::vector<double>{1, 1});
}

TEST_CASE("version counter: l2.backward(); opt.step(); l1.backward() with a shared W") {
  // h = tanh(x W1); l1 = sum((h W2)^2); l2 = sum(h^2). Before the counter, l1.backward() after
  // the step used the updated W1 and gave dL1/dW1 from the wrong weights (0.10896 vs 0.05971).
  TD x = TD::from_vector({0.3, -0.7}, {1, 2});
  TD W1 = TD::from_vector({0.1, 0.2, -0.3, 0.4}, {2, 2}).requires_grad_();
  TD W2 = TD::from_vector({0.5, -0.6}, {2, 1}).requires_grad_();
  TD h = tanh(matmul(x, W1));
  TD l1 = sum(square(matmul(h, W2)));
  TD l2 = sum(square(h));
  SGD<double> opt(std::vector<TD>{W1, W2}, SGDOptions{0.1});
  l2.backward(TD(), /*retain_graph=*/true);
  opt.step();
  const std::string msg = backward_error(l1);
  INFO(msg);
  CHECK(msg.find("modified by an inplace operation") != std::string::npos);
  CHECK(msg.rfind("matmul:", 0) == 0);
}

TEST_CASE("version counter: the ordinary training loop is unaffected") {
  TD x = TD::from_vector({0.3, -0.7, 0.2, 0.9}, {2, 2});
  TD W = TD::from_vector({0.1, 0.2, -0.3, 0.4}, {2, 2}).requires_grad_();
  Adam<double> opt(std::vector<TD>{W}, AdamOptions{0.01});
  double first = 0, last = 0;
  for (int it = 0; it < 20; ++it) {
    opt.zero_grad();
    TD l = sum(square(tanh(matmul(x, W))));
    if (it == 0) first = l.item();
    last = l.item();
    l.backward();
    opt.step();
  }
  CHECK(last < first);
  // a graph built after the step sees the new version and runs
  TD l = sum(square(matmul(x, W)));
  l.backward();
  CHECK(W.grad().defined());
}

TEST_CASE("version counter: relu reads only its output (as PyTorch's threshold_backward)") {
  // writing relu's input in place after the forward is fine (its rule does not read it) ...
  TD x = TD::from_vector({-1.0, 2.0, 3.0}).requires_grad_();
  TD h = mul_scalar(x, 2.0);
  TD y = relu(h);
  {
    NoGradGuard ng;
    assign_(h, TD::from_vector({5.0, 5.0, 5.0}));
  }
  CHECK(backward_error(sum(y)) == "");
  CHECK(x.grad().to_vector() == std::vector<double>{0, 2, 2});
  // ... writing its output is refused
  TD x2 = TD::from_vector({-1.0, 2.0}).requires_grad_();
  TD y2 = relu(mul_scalar(x2, 1.0));
  TD l2 = sum(mul(y2, y2));  // mul saves y2 too; relu's own record names relu when mul's passes
  {
    NoGradGuard ng;
    assign_(y2, TD::from_vector({1.0, 1.0}));
  }
  CHECK(backward_error(l2).find("modified by an inplace operation") != std::string::npos);
}
