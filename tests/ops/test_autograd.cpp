// tests/ops/test_autograd.cpp — engine behaviour (autograd/): accumulation, no_grad, grad()'s
// options, retain_graph, higher orders, long chains, grad-accumulated hooks. Per-op rules are
// the op table's job (test_ops_table.cpp); this file is about the sweep itself.
#include <distillery/distillery.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

using namespace distillery;
using TD = Tensor<double>;

namespace {

TD vec(std::vector<double> v) { return TD::from_vector(v); }

void check_values(const TD& t, const std::vector<double>& want, double tol = 1e-12) {
  REQUIRE(t.defined());
  auto got = t.to_vector();
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(tol));
}

// The message of the distillery::Error thrown by f ("" when nothing is thrown).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("backward accumulates into .grad over two calls; zero_grad resets") {
  TD x = vec({1, -2, 3}).requires_grad_();
  sum(x * x).backward();  // 2x
  check_values(x.grad(), {2, -4, 6});
  sum(x * 3.0).backward();  // + 3
  check_values(x.grad(), {5, -1, 9});
  CHECK_FALSE(x.grad().requires_grad());  // without create_graph .grad is plain data
  x.zero_grad();
  CHECK_FALSE(x.grad().defined());
  sum(exp(x)).backward();
  check_values(x.grad(), {std::exp(1.0), std::exp(-2.0), std::exp(3.0)});
}

TEST_CASE("backward with an explicit grad_output; a non-scalar output needs one") {
  TD x = vec({1, 2}).requires_grad_();
  TD y = x * x;
  CHECK(contains(error_of([&] { y.backward(TD(), true); }), "only for scalar outputs"));
  y.backward(vec({10, 100}));
  check_values(x.grad(), {20, 400});
}

TEST_CASE("a leaf used on several paths gets the sum of their gradients") {
  TD a = vec({0.5, -1.5}).requires_grad_();
  TD y = a * a;                    // shared sub-expression
  TD z = sum(y + y * y + exp(a));  // a² + a⁴ + eᵃ
  z.backward();
  std::vector<double> want;
  for (double v : {0.5, -1.5}) want.push_back(2 * v + 4 * v * v * v + std::exp(v));
  check_values(a.grad(), want);
}

TEST_CASE("no_grad records no graph and restores the previous mode") {
  TD x = vec({1, 2}).requires_grad_();
  {
    NoGradGuard ng;
    CHECK_FALSE(is_grad_enabled());
    TD y = exp(x) * 2.0 + x;
    CHECK_FALSE(y.requires_grad());
    CHECK(y.is_leaf());
    CHECK(std::string(y.grad_fn_name()).empty());
    {
      GradModeGuard on(true);  // re-enabled inside
      CHECK(exp(x).requires_grad());
    }
    CHECK_FALSE(is_grad_enabled());
  }
  CHECK(is_grad_enabled());
  TD z = exp(x);
  CHECK(z.requires_grad());
  CHECK(std::string(z.grad_fn_name()) == "exp");
}

TEST_CASE("grad mode is per thread") {
  NoGradGuard ng;
  bool other_thread_enabled = false;
  std::thread t([&] { other_thread_enabled = is_grad_enabled(); });
  t.join();
  CHECK(other_thread_enabled);
  CHECK_FALSE(is_grad_enabled());
}

TEST_CASE("detach cuts the graph") {
  TD x = vec({1, 2}).requires_grad_();
  TD y = sum(x * x.detach());  // d/dx = x (not 2x)
  check_values(grad({y}, {x})[0], {1, 2});
  CHECK_FALSE(x.detach().requires_grad());
  CHECK(x.detach().same_storage(x));
}

TEST_CASE("grad(): does not touch .grad; allow_unused; non-leaf inputs") {
  TD a = vec({1, 2}).requires_grad_();
  TD b = vec({3, 4}).requires_grad_();
  SUBCASE("results only, .grad untouched") {
    auto g = grad({sum(a * b)}, {a, b});
    check_values(g[0], {3, 4});
    check_values(g[1], {1, 2});
    CHECK_FALSE(a.grad().defined());
    CHECK_FALSE(b.grad().defined());
  }
  SUBCASE("an unused input is an error naming it, unless allow_unused") {
    TD y = sum(a * a);
    std::string msg = error_of([&] { grad({y}, {a, b}, {}, false, false, 1); });
    CHECK(contains(msg, "input 1"));
    CHECK(contains(msg, "allow_unused"));
    auto g = grad({y}, {a, b}, {}, false, /*allow_unused=*/true);
    check_values(g[0], {2, 4});
    CHECK_FALSE(g[1].defined());
  }
  SUBCASE("gradient with respect to a non-leaf") {
    TD h = a * a;  // non-leaf
    TD y = sum(h * b);
    auto g = grad({y}, {h, a});
    check_values(g[0], {3, 4});   // dy/dh = b
    check_values(g[1], {6, 16});  // dy/da = 2ab
  }
  SUBCASE("several outputs with grad_outputs") {
    auto g = grad({a * b, sum(a)}, {a}, {vec({1, 10}), TD()});
    check_values(g[0], {3 + 1, 40 + 1});
  }
  SUBCASE("an output that does not require grad is an error") {
    TD c = vec({1, 2});
    CHECK(contains(error_of([&] { grad({sum(c)}, {a}); }), "does not require grad"));
  }
}

TEST_CASE("retain_graph: a second backward through a freed graph throws a clear error") {
  TD x = vec({1, 2}).requires_grad_();
  SUBCASE("backward") {
    TD y = sum(exp(x));
    y.backward();
    std::string msg = error_of([&] { y.backward(); });
    CHECK(contains(msg, "second time"));
    CHECK(contains(msg, "retain_graph"));
  }
  SUBCASE("backward with retain_graph can run twice") {
    TD y = sum(exp(x));
    y.backward(TD(), /*retain_graph=*/true);
    y.backward();
    check_values(x.grad(), {2 * std::exp(1.0), 2 * std::exp(2.0)});
  }
  SUBCASE("grad() without create_graph frees the graph too") {
    TD y = sum(exp(x));
    grad({y}, {x});
    CHECK(contains(error_of([&] { grad({y}, {x}); }), "second time"));
  }
}

TEST_CASE("requires_grad_ on a non-leaf throws") {
  TD x = vec({1, 2}).requires_grad_();
  TD y = x * 2.0;
  std::string msg = error_of([&] { y.requires_grad_(); });
  CHECK(contains(msg, "requires_grad_"));
  CHECK(contains(msg, "leaf"));
  CHECK_NOTHROW(y.detach().requires_grad_());
}

TEST_CASE("third order: d³/dx³ of x⁴ sin x matches the analytic value") {
  const double x0 = 0.7, s = std::sin(x0), c = std::cos(x0);
  TD x = TD::scalar(x0).requires_grad_();
  TD f = pow_scalar(x, 4.0) * sin(x);
  TD d1 = grad({f}, {x}, {}, true)[0];
  TD d2 = grad({d1}, {x}, {}, true)[0];
  TD d3 = grad({d2}, {x}, {}, true)[0];
  const double x2 = x0 * x0, x3 = x2 * x0, x4 = x3 * x0;
  CHECK(d1.item() == doctest::Approx(4 * x3 * s + x4 * c).epsilon(1e-13));
  CHECK(d2.item() == doctest::Approx(12 * x2 * s + 8 * x3 * c - x4 * s).epsilon(1e-13));
  CHECK(d3.item() ==
        doctest::Approx(24 * x0 * s + 36 * x2 * c - 12 * x3 * s - x4 * c).epsilon(1e-13));
  CHECK(d3.requires_grad());  // and a fourth would work too
}

TEST_CASE("backward(create_graph) leaves a differentiable .grad") {
  TD x = vec({0.3, -0.8}).requires_grad_();
  sum(pow_scalar(x, 3.0)).backward(TD(), false, /*create_graph=*/true);  // .grad = 3x²
  TD g = x.grad();
  REQUIRE(g.requires_grad());
  check_values(grad({sum(g)}, {x})[0], {6 * 0.3, 6 * -0.8});
}

TEST_CASE("Hessian-vector product of a small MLP matches finite differences of the gradient") {
  Generator gen(11);
  TD X = TD::randn({5, 3}, gen), Y = TD::randn({5, 2}, gen);
  std::vector<TD> params = {TD::randn({4, 3}, gen), TD::randn({4}, gen), TD::randn({2, 4}, gen),
                            TD::randn({2}, gen)};
  std::vector<TD> dirs;
  for (auto& p : params) dirs.push_back(TD::randn(p.shape(), gen));
  auto loss = [&](const std::vector<TD>& p) {
    TD h = tanh(linear(X, p[0], p[1]));
    return mean(square(linear(h, p[2], p[3]) - Y));
  };
  auto leaves = [](const std::vector<TD>& ps) {
    std::vector<TD> out;
    for (auto& p : ps) out.push_back(p.detach().requires_grad_());
    return out;
  };
  // H v via double backward
  std::vector<TD> ps = leaves(params);
  std::vector<TD> g = grad({loss(ps)}, ps, {}, /*create_graph=*/true);
  TD gv = sum(g[0] * dirs[0]);
  for (size_t i = 1; i < g.size(); ++i) gv = gv + sum(g[i] * dirs[i]);
  std::vector<TD> hv = grad({gv}, ps);
  // (∇L(θ + εv) − ∇L(θ − εv)) / 2ε
  const double eps = 1e-5;
  auto grad_at = [&](double t) {
    std::vector<TD> shifted;
    for (size_t i = 0; i < params.size(); ++i) shifted.push_back(params[i] + dirs[i] * t);
    std::vector<TD> sp = leaves(shifted);
    return grad({loss(sp)}, sp);
  };
  std::vector<TD> gp = grad_at(eps), gm = grad_at(-eps);
  double max_err = 0, max_ref = 0;
  for (size_t i = 0; i < params.size(); ++i) {
    auto a = hv[i].to_vector(), p = gp[i].to_vector(), m = gm[i].to_vector();
    for (size_t j = 0; j < a.size(); ++j) {
      double fd = (p[j] - m[j]) / (2 * eps);
      max_err = std::max(max_err, std::abs(a[j] - fd));
      max_ref = std::max(max_ref, std::abs(fd));
    }
  }
  CHECK(max_ref > 1e-3);  // not a vacuous comparison
  CHECK(max_err < 1e-7 * (1 + max_ref));
}

TEST_CASE("a chain of 100,000 ops: backward and destruction without stack overflow") {
  const int n = 100000;
  TD x = vec({1.0, 2.0}).requires_grad_();
  {
    TD y = x;
    for (int i = 0; i < n; ++i) y = y * 1.00001;
    sum(y).backward();
    const double d = std::pow(1.00001, n);
    check_values(x.grad(), {d, d}, 1e-9);
  }  // graph freed here
  {
    TD y = x;
    for (int i = 0; i < n; ++i) y = add_scalar(y, 1e-6);
    y = TD();  // dropped without any backward: the destructor must not recurse either
    CHECK_FALSE(y.defined());
  }
  {
    TD y = x;  // create_graph through a long chain, then differentiate again
    for (int i = 0; i < n; ++i) y = y + x * 1e-5;
    TD g = grad({sum(y * y)}, {x}, {}, true)[0];
    CHECK(g.requires_grad());
  }
}

TEST_CASE("gradients reach non-contiguous leaves in their logical layout") {
  TD base = TD::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  TD xt = transpose(base, 0, 1).requires_grad_();  // [3, 2] view, a leaf
  CHECK_FALSE(xt.is_contiguous());
  sum(xt * TD::from_vector({1, 10, 100, 1000, 1e4, 1e5}, {3, 2})).backward();
  CHECK(xt.grad().shape() == Shape{3, 2});
  check_values(xt.grad(), {1, 10, 100, 1000, 1e4, 1e5});
}

TEST_CASE("grad-accumulated hooks: once per leaf per backward, with the final .grad, early") {
  // y = Σ tanh(W2 · tanh(W1 · x + b1)) + Σ W1², with W1 used on two paths
  Generator gen(3);
  TD x = TD::randn(Shape{4, 5}, gen);
  TD W1 = TD::randn(Shape{6, 5}, gen).requires_grad_();
  TD b1 = TD::randn(Shape{6}, gen).requires_grad_();
  TD W2 = TD::randn(Shape{2, 6}, gen).requires_grad_();
  TD unused = TD::randn(Shape{3}, gen).requires_grad_();
  auto loss = [&] { return sum(tanh(linear(tanh(linear(x, W1, b1)), W2))) + sum(W1 * W1); };

  // reference without hooks
  loss().backward();
  std::vector<std::vector<double>> ref;
  for (TD* p : {&W1, &b1, &W2}) {
    ref.push_back(p->grad().to_vector());
    p->zero_grad();
  }

  std::vector<std::string> fired;
  std::vector<std::vector<double>> seen(3);
  bool w1_written_when_w2_fired = true;
  const std::vector<std::pair<std::string, TD*>> leaves{{"W1", &W1}, {"b1", &b1}, {"W2", &W2}};
  std::vector<int64_t> ids;
  for (size_t i = 0; i < leaves.size(); ++i)
    ids.push_back(add_grad_accumulated_hook(*leaves[i].second, GradAccumulatedHook<double>(
        [&, i](const TD& leaf) {
          CHECK(leaf.impl() == leaves[i].second->impl());
          CHECK_FALSE(grad_mode_flag());
          fired.push_back(leaves[i].first);
          seen[i] = leaf.grad().to_vector();
          if (i == 2) w1_written_when_w2_fired = W1.grad().defined();
        })));
  int unused_fired = 0;
  const int64_t uid = add_grad_accumulated_hook(
      unused, GradAccumulatedHook<double>([&](const TD&) { ++unused_fired; }));
  loss().backward();
  // each hooked leaf once; W2 (near the output) before W1, whose .grad is not written yet then
  CHECK(fired.size() == 3);
  for (const char* name : {"W1", "b1", "W2"})
    CHECK(std::count(fired.begin(), fired.end(), name) == 1);
  CHECK(fired.front() == "W2");
  CHECK_FALSE(w1_written_when_w2_fired);
  CHECK(unused_fired == 0);  // no gradient reached it: no call
  for (size_t i = 0; i < 3; ++i) {
    CHECK(seen[i] == leaves[i].second->grad().to_vector());  // what the hook saw is final
    CHECK(seen[i] == ref[i]);                                // and the same bits as no hooks
  }

  // a second backward: the hook sees the accumulated gradient; grad() calls no hook
  fired.clear();
  loss().backward();
  CHECK(fired.size() == 3);
  for (size_t i = 0; i < 3; ++i) CHECK(seen[i] == leaves[i].second->grad().to_vector());
  fired.clear();
  grad({loss()}, {W1, W2});
  CHECK(fired.empty());

  // removed hooks are not called
  for (size_t i = 0; i < leaves.size(); ++i)
    CHECK(remove_grad_accumulated_hook(*leaves[i].second, ids[i]));
  CHECK(remove_grad_accumulated_hook(unused, uid));
  CHECK_FALSE(remove_grad_accumulated_hook(W1, ids[0]));
  loss().backward();
  CHECK(fired.empty());
  CHECK(contains(error_of([&] { add_grad_accumulated_hook(x, GradAccumulatedHook<double>(
                     [](const TD&) {})); }), "must be a leaf that requires grad"));
}
