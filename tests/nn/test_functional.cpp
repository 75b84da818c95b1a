// tests/nn/test_functional.cpp — functional_call and flat parameter vectors, including the
// gradient through a differentiable SGD step (dataset distillation's hyper-gradient).
#include <doctest/doctest.h>

#include <distillery/distillery.hpp>
#include <distillery/nn/nn.hpp>

using namespace distillery;
using TD = Tensor<double>;

namespace {
double max_abs_diff(const TD& a, const TD& b) { return max(abs(a - b)).item(); }

nn::MLP<double> tiny_mlp(Generator& g) {
  nn::MLPOptions o;
  o.activation = nn::Activation::tanh;  // smooth, so finite differences are accurate
  return nn::MLP<double>({4, 6, 3}, g, o);
}

// One differentiable SGD step on (xs, ys) from flat w0, then the loss on (xr, yr).
TD unrolled_loss(nn::MLP<double>& model, const TD& w0, const TD& xs, const Tensor<int64_t>& ys,
                 const TD& lr, const TD& xr, const Tensor<int64_t>& yr) {
  TD inner = cross_entropy(nn::functional_call(model, w0, xs), ys);
  TD g = grad({inner}, {w0}, {}, /*create_graph=*/true)[0];
  TD w1 = w0 - lr * g;
  return cross_entropy(nn::functional_call(model, w1, xr), yr);
}
}  // namespace

TEST_CASE("functional_call with the model's own parameters equals forward") {
  Generator g(1);
  nn::LeNet5<double> net(10, g);
  auto x = TD::randn({3, 1, 28, 28}, g);
  TD y = net(x);
  CHECK(max_abs_diff(nn::functional_call(net, net.parameters(), x), y) == 0.0);
  TD flat = nn::flatten_parameters(net.parameters());
  CHECK(flat.numel() == 61706);
  CHECK(max_abs_diff(nn::functional_call(net, flat, x), y) == 0.0);
}

TEST_CASE("functional_call with other parameters (list, map, flat) and restoration") {
  Generator g(2);
  nn::LeNet5<double> a(10, g), b(10, g);
  auto x = TD::randn({2, 1, 28, 28}, g);
  TD yb = b(x);
  CHECK(max_abs_diff(nn::functional_call(a, b.parameters(), x), yb) < 1e-12);
  CHECK(max_abs_diff(nn::functional_call(a, nn::flatten_parameters(b.parameters()), x), yb) < 1e-12);
  std::map<std::string, TD> all;
  for (auto& kv : b.named_parameters()) all[kv.first] = kv.second;
  CHECK(max_abs_diff(nn::functional_call(a, all, x), yb) < 1e-12);
  // a's own parameters are back
  auto a_after = a(x);
  CHECK(max_abs_diff(a_after, yb) > 1e-6);
  CHECK(a.fc3.weight.is_leaf());
  // partial map: only fc3 replaced
  std::map<std::string, TD> part{{"fc3.weight", b.fc3.weight}, {"fc3.bias", b.fc3.bias}};
  TD mixed = nn::functional_call(a, part, x);
  CHECK(max_abs_diff(mixed, a_after) > 1e-6);
  CHECK(max_abs_diff(mixed, yb) > 1e-6);
  // errors: wrong count, unknown name, wrong shape — and the slots are restored after a throw
  std::vector<TD> short_list = a.parameters();
  short_list.pop_back();
  CHECK_THROWS_AS(nn::functional_call(a, short_list, x), Error);
  CHECK_THROWS_AS(nn::functional_call(a, std::map<std::string, TD>{{"nope", b.fc3.bias}}, x), Error);
  auto wrong = b.parameters();
  wrong.back() = TD::zeros({7});
  CHECK_THROWS_AS(nn::functional_call(a, wrong, x), Error);
  CHECK(max_abs_diff(a(x), a_after) == 0.0);
}

TEST_CASE("flatten/unflatten are inverse and differentiable; vector_to_parameters") {
  Generator g(3);
  auto m = tiny_mlp(g);
  auto params = m.parameters();
  TD flat = nn::flatten_parameters(params);
  CHECK(flat.numel() == m.num_parameters());
  auto back = nn::unflatten_parameters(flat, m);
  for (size_t i = 0; i < params.size(); ++i) {
    CHECK(back[i].shape() == params[i].shape());
    CHECK(max_abs_diff(back[i], params[i]) == 0.0);
  }
  // d/dflat Σ unflatten(flat)[i]·c_i is c_i laid out flat
  TD leaf = flat.detach().requires_grad_();
  auto views = nn::unflatten_parameters(leaf, m);
  TD s = sum(views[0]) * 2.0 + sum(views[3]) * 3.0;
  TD gflat = grad({s}, {leaf})[0];
  auto gv = nn::unflatten_parameters(gflat, m);
  CHECK(max(abs(gv[0] - 2.0)).item() == 0.0);
  CHECK(max(abs(gv[1])).item() == 0.0);
  CHECK(max(abs(gv[3] - 3.0)).item() == 0.0);
  nn::vector_to_parameters(TD::zeros({m.num_parameters()}), m);
  CHECK(max(abs(m[0].parameters()[0])).item() == 0.0);
}

TEST_CASE("gradient through a differentiable SGD step matches finite differences") {
  Generator g(4);
  auto model = tiny_mlp(g);
  TD w0 = nn::flatten_parameters(model.parameters()).detach().requires_grad_();
  TD xs = TD::randn({3, 4}, g).requires_grad_();  // synthetic data (what DD learns)
  Tensor<int64_t> ys = Tensor<int64_t>::from_vector({0, 1, 2});
  TD lr = TD::scalar(0.5).requires_grad_();
  TD xr = TD::randn({8, 4}, g);
  Tensor<int64_t> yr = Tensor<int64_t>::from_vector({0, 1, 2, 0, 1, 2, 2, 1});

  TD L = unrolled_loss(model, w0, xs, ys, lr, xr, yr);
  auto grads = grad({L}, {xs, lr, w0});
  const TD& dxs = grads[0];
  const TD& dlr = grads[1];

  const double h = 1e-5;
  auto loss_at = [&](const TD& xs_, const TD& lr_, const TD& w_) {
    TD w = w_.detach().requires_grad_();
    return unrolled_loss(model, w, xs_.detach(), ys, lr_.detach(), xr, yr).item();
  };
  auto xv = xs.to_vector();
  for (size_t i = 0; i < xv.size(); ++i) {
    auto plus = xv, minus = xv;
    plus[i] += h;
    minus[i] -= h;
    double fd = (loss_at(TD::from_vector(plus, {3, 4}), lr, w0) -
                 loss_at(TD::from_vector(minus, {3, 4}), lr, w0)) / (2 * h);
    CHECK(dxs.to_vector()[i] == doctest::Approx(fd).epsilon(1e-6));
  }
  double fd_lr = (loss_at(xs, TD::scalar(0.5 + h), w0) - loss_at(xs, TD::scalar(0.5 - h), w0)) / (2 * h);
  CHECK(dlr.item() == doctest::Approx(fd_lr).epsilon(1e-6));
  // the gradient w.r.t. the initial weights (a Hessian-vector product inside) too, on a few entries
  auto wv = w0.to_vector();
  for (size_t i : {size_t(0), size_t(7), wv.size() - 1}) {
    auto plus = wv, minus = wv;
    plus[i] += h;
    minus[i] -= h;
    double fd = (loss_at(xs, lr, TD::from_vector(plus)) - loss_at(xs, lr, TD::from_vector(minus))) / (2 * h);
    CHECK(grads[2].to_vector()[i] == doctest::Approx(fd).epsilon(1e-6));
  }
}

TEST_CASE("hyper-gradient identity dL/dlr = -grad L(w1) . grad l(w0) through LeNet-5 (papers.md 8.6)") {
  Generator g(5);
  nn::LeNet5<double> net(10, g);
  TD w0 = nn::flatten_parameters(net.parameters()).detach().requires_grad_();
  TD xs = TD::randn({10, 1, 28, 28}, g).requires_grad_();
  Tensor<int64_t> ys = Tensor<int64_t>::arange(10);
  TD xr = TD::randn({6, 1, 28, 28}, g);
  Tensor<int64_t> yr = Tensor<int64_t>::from_vector({1, 3, 5, 7, 9, 0});
  TD lr = TD::scalar(0.02).requires_grad_();

  TD inner = cross_entropy(nn::functional_call(net, w0, xs), ys);
  TD gw0 = grad({inner}, {w0}, {}, true)[0];
  TD w1 = w0 - lr * gw0;
  TD L = cross_entropy(nn::functional_call(net, w1, xr), yr);
  auto grads = grad({L}, {lr, xs});
  // independent evaluation of the right-hand side
  TD w1d = w1.detach().requires_grad_();
  TD gL = grad({cross_entropy(nn::functional_call(net, w1d, xr), yr)}, {w1d})[0];
  double rhs = -sum(gL * gw0.detach()).item();
  CHECK(grads[0].item() == doctest::Approx(rhs).epsilon(1e-9));
  CHECK(grads[1].shape() == xs.shape());
  CHECK(max(abs(grads[1])).item() > 0.0);  // the synthetic images receive a gradient
}
