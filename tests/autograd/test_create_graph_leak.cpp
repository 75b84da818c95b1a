// tests/autograd/test_create_graph_leak.cpp — backward(create_graph=true) frees everything
// (issue 26).
//
// With create_graph, leaf.grad holds the gradient's graph, and that graph's rules keep the tensors
// they read — the leaf among them. Before the fix the rules kept the leaf's own TensorImpl (which
// owns .grad), a reference cycle: 200 iterations on 256 doubles kept 1.6 MB alive. Now rules keep
// a saved alias (autograd/node.hpp, saved_input): same storage and graph edge, no .grad. The tests
// check that the leaf and its storage die with the last user handle, for every family of rule
// that keeps an input (elementwise, matmul, conv2d, fused losses), that the live bytes stay flat
// over 200 iterations, and that gradients of gradients are unchanged.
#include <distillery/distillery.hpp>

#include <doctest/doctest.h>

#include <functional>
#include <memory>
#include <vector>

using namespace distillery;
using TD = Tensor<double>;

namespace {
int64_t live_bytes() { return memory_stats(Device::cpu).live.load(); }

// Runs f(leaf) -> scalar, then backward(create_graph) in a scope; returns true when the leaf's
// TensorImpl (and so its .grad and the gradient graph) was freed once the scope ended.
bool leaf_freed(const Shape& shape, const std::function<TD(const TD&)>& f) {
  std::weak_ptr<TensorImpl<double>> alive;
  {
    TD w = TD::randn(shape).requires_grad_();
    alive = w.impl_ptr();
    TD y = f(w);
    y.backward(TD(), false, /*create_graph=*/true);
    REQUIRE(w.grad().defined());
    REQUIRE(w.grad().requires_grad());  // the gradient has a graph
  }
  return alive.expired();
}
}  // namespace

TEST_CASE("create_graph: the issue's pattern keeps live bytes flat over 200 iterations") {
  auto step = [] {
    TD w = TD::randn({256}).requires_grad_();
    TD y = sum(mul(mul(w, w), w));
    y.backward(TD(), false, true);
  };
  step();  // warm-up (thread-local pools, lazily created tables)
  const int64_t before = live_bytes();
  for (int i = 0; i < 200; ++i) step();
  const int64_t after = live_bytes();
  INFO("live bytes before ", before, ", after 200 iterations ", after);
  CHECK(after == before);  // was +1.6 MB (256 doubles x 4 tensors x 200)
}

TEST_CASE("create_graph: the leaf dies with its last handle, for every rule that keeps inputs") {
  CHECK(leaf_freed({256}, [](const TD& w) { return sum(mul(mul(w, w), w)); }));
  CHECK(leaf_freed({8}, [](const TD& w) { return sum(exp(w)); }));
  CHECK(leaf_freed(
      {8}, [](const TD& w) { return sum(div(TD::ones({8}), add_scalar(square(w), 1.0))); }));
  CHECK(leaf_freed({4, 4}, [](const TD& w) { return sum(square(matmul(w, w))); }));
  CHECK(leaf_freed({2, 1, 3, 3}, [](const TD& w) {
    TD x = TD::randn({1, 1, 5, 5});
    return sum(square(conv2d(x, w)));
  }));
  CHECK(leaf_freed({2, 3}, [](const TD& w) {
    // fused node; its rule takes the composed route under create_graph
    return losses::kd_loss(w, TD::randn({2, 3}), 2.0, Reduction::batchmean,
                           losses::TemperatureScale::t_squared);
  }));
  CHECK(leaf_freed({3, 4}, [](const TD& w) { return sum(square(softmax(w, 1))); }));
}

TEST_CASE("create_graph: gradients of gradients are unchanged, and flow into the leaf's .grad") {
  TD w = TD::from_vector({1.0, -2.0, 0.5}).requires_grad_();
  sum(mul(mul(w, w), w)).backward(TD(), false, true);  // w.grad = 3 w²
  TD g = w.grad();
  CHECK(g.to_vector() == std::vector<double>{3.0, 12.0, 0.75});
  w.zero_grad();
  sum(g).backward();  // d/dw Σ 3 w² = 6 w, accumulated into the same leaf
  CHECK(w.grad().to_vector() == std::vector<double>{6.0, -12.0, 3.0});

  // grad(): a Hessian-vector product through matmul, H = 2 (I ⊗ AᵀA)-style check against FD
  TD a = TD::from_vector({1, 2, 3, 4}, {2, 2});
  TD x = TD::from_vector({0.5, -1.0}, {2, 1}).requires_grad_();
  TD y = sum(square(matmul(a, x)));  // y = |A x|², dy/dx = 2 AᵀA x
  auto gx = grad<double>({y}, {x}, {}, true);
  auto hv = grad<double>({sum(gx[0])}, {x});  // 2 AᵀA 1 = 2 [[10,14],[14,20]] 1
  CHECK(hv[0].to_vector() == std::vector<double>{48.0, 68.0});
}

TEST_CASE("create_graph: a leaf kept alive still gets every gradient (alias shares the edge)") {
  TD w = TD::from_vector({2.0}).requires_grad_();
  for (int i = 0; i < 3; ++i) {
    w.zero_grad();
    sum(mul(mul(w, w), w)).backward(TD(), false, true);  // 3 w² = 12
  }
  CHECK(w.grad().item() == 12.0);
  TD g = w.grad();
  w.zero_grad();
  g.backward();  // 6 w = 12
  CHECK(w.grad().item() == 12.0);
}

TEST_CASE("create_graph: linear rules keep no values, so slicing a flat vector costs no copies") {
  // A flat parameter vector cut into k slices (nn::functional_call's flat overload): each
  // slice's gradient is scattered into a zero tensor of the full size and the k of them are
  // summed. add/sub/neg/scalar rules read only the incoming gradient; before they also kept
  // their inputs and output, so under create_graph every scattered summand stayed alive with the
  // graph: the live bytes after one differentiable SGD step grew by 2 full-size tensors per
  // slice (k = 8: 20 full sizes). Now they do not depend on k.
  auto live_after_step = [](int pieces) {
    const int64_t P = 4096;
    Generator g(1);
    TD w = TD::randn({P}, g).requires_grad_();
    const int64_t live0 = live_bytes();
    TD l;
    for (int i = 0; i < pieces; ++i) {
      TD v = narrow(w, 0, i * (P / pieces), P / pieces);
      TD t = sum(mul(v, v));
      l = l.defined() ? add(l, t) : t;
    }
    TD gw = grad({l}, {w}, {}, /*create_graph=*/true)[0];
    TD w2 = sub(w, mul_scalar(gw, 0.01));
    gw = TD();
    l = TD();
    return double(live_bytes() - live0) / double(P * sizeof(double));  // in full sizes
  };
  const double one = live_after_step(1), eight = live_after_step(8);
  CHECK(one <= 3.5);
  CHECK(eight == doctest::Approx(one));
  // and the rules still give the right second derivative: d/dw of (w - 0.01 * 2w) is 0.98
  TD w = TD::from_vector({1.0, 2.0}, Shape{2}).requires_grad_();
  TD gw = grad({sum(mul(w, w))}, {w}, {}, true)[0];
  TD w2 = sub(w, mul_scalar(gw, 0.01));
  auto d = grad({sum(add(w2, neg(add_scalar(w2, 3.0))) + w2)}, {w})[0].to_vector();
  CHECK(d[0] == doctest::Approx(0.98));
  CHECK(d[1] == doctest::Approx(0.98));
}

TEST_CASE("graph memory: relu keeps only its output, version records own nothing") {
  const int64_t P = 1 << 14;
  TD x = TD::randn({P}).requires_grad_();
  const int64_t live0 = live_bytes();
  TD y;
  {
    TD h = mul_scalar(x, 2.0);  // the pre-activation: dies with this scope
    y = relu(h);
  }
  CHECK(live_bytes() - live0 == int64_t(P * sizeof(double)));  // y alone
  // mul's node records the versions of its inputs and output, and its rule keeps the inputs:
  // the output (z) is not kept by the record
  TD z;
  {
    TD a = mul(y, y);
    z = sum(a);
  }
  CHECK(live_bytes() - live0 == int64_t(P * sizeof(double)) + int64_t(sizeof(double)));
  // relu's second order is zero a.e.: grad of (grad relu · v) w.r.t. x is 0, the first order
  // is 2·[x > 0] for y = relu(2x)
  TD g = grad({sum(y)}, {x}, {}, true)[0];
  auto xv = x.to_vector(), gv = g.to_vector();
  for (int64_t i = 0; i < P; ++i) CHECK(gv[i] == (xv[i] > 0 ? 2.0 : 0.0));
  CHECK(!g.requires_grad());  // constant in x: nothing to differentiate
}
