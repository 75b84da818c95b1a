// tests/ops/table_elementwise.hpp — op-table entries for ops/elementwise.hpp.
// One line per entry (see harness.hpp): name, input shapes, FN(op), then reference and hints.
#pragma once
#include "harness.hpp"

namespace dtest {

inline void elementwise_entries(Table& t) {
  using namespace distillery;
  const Shape m{3, 4};
  auto U = [](double (*f)(double)) { return ref::unary(f); };
  auto B = [](double (*f)(double, double)) { return ref::binary(f); };

  // ---- unary math ----
  t.add("neg", {m}, FN(neg(x[0]))).ref(ref::unary([](double v) { return -v; }));
  t.add("neg", {{}}, FN(-x[0]), "0-dim, operator-").ref(ref::unary([](double v) { return -v; }));
  t.add("exp", {m}, FN(exp(x[0]))).ref(U(std::exp));
  t.add("exp", {{2, 3, 4}}, FN(x[0].exp()), "3-D, method").ref(U(std::exp));
  t.add("log", {m}, FN(log(x[0]))).gen(Gen::positive()).ref(U(std::log));
  t.add("sqrt", {m}, FN(sqrt(x[0]))).gen(Gen::positive()).ref(U(std::sqrt));
  t.add("rsqrt", {m}, FN(rsqrt(x[0]))).gen(Gen::positive()).ref(ref::unary([](double v) {
    return 1 / std::sqrt(v);
  }));
  t.add("abs", {m}, FN(abs(x[0]))).gen(Gen().away_from_zero()).ref(U(std::fabs));
  t.add("square", {m}, FN(square(x[0]))).ref(ref::unary([](double v) { return v * v; }));
  t.add("reciprocal", {m}, FN(reciprocal(x[0])))
      .gen(Gen().away_from_zero(0.3))
      .ref(ref::unary([](double v) { return 1 / v; }));
  t.add("reciprocal", {m}, FN(2.0 / x[0]), "scalar / tensor")
      .gen(Gen().away_from_zero(0.3))
      .ref(ref::unary([](double v) { return 2 / v; }));
  t.add("sin", {m}, FN(sin(x[0]))).gen(Gen::range(-4, 4)).ref(U(std::sin));
  t.add("cos", {m}, FN(cos(x[0]))).gen(Gen::range(-4, 4)).ref(U(std::cos));
  t.add("relu", {m}, FN(relu(x[0]))).gen(Gen().away_from_zero()).ref(ref::unary([](double v) {
    return v > 0 ? v : 0;
  }));
  t.add("leaky_relu", {m}, FN(leaky_relu(x[0])), "default slope 0.01")
      .gen(Gen().away_from_zero())
      .ref(ref::unary([](double v) { return v > 0 ? v : 0.01 * v; }));
  t.add("leaky_relu", {m}, FN(leaky_relu(x[0], T(0.2))), "slope 0.2")
      .gen(Gen().away_from_zero())
      .ref(ref::unary([](double v) { return v > 0 ? v : 0.2 * v; }));
  t.add("gelu", {m}, FN(gelu(x[0])), "erf form").gen(Gen::range(-3, 3)).ref(U(ref::gelu_erf));
  t.add("gelu", {m}, FN(gelu(x[0], true)), "tanh form")
      .gen(Gen::range(-3, 3))
      .ref(U(ref::gelu_tanh));
  t.add("sigmoid", {m}, FN(sigmoid(x[0]))).gen(Gen::range(-6, 6)).ref(U(ref::sigmoid));
  t.add("tanh", {m}, FN(tanh(x[0]))).ref(U(std::tanh));
  t.add("softplus", {m}, FN(softplus(x[0]))).gen(Gen::range(-4, 4)).ref(ref::unary([](double v) {
    return ref::softplus(v, 1, 20);
  }));
  t.add("softplus", {m}, FN(softplus(x[0], T(2), T(1.5))), "beta 2, threshold 1.5 (linear part)")
      .gen(Gen().away_from({0.75}, 0.1))
      .ref(ref::unary([](double v) { return ref::softplus(v, 2, 1.5); }));
  t.add("log1p", {m}, FN(log1p(x[0]))).gen(Gen::range(-0.6, 2)).ref(U(std::log1p));
  t.add("expm1", {m}, FN(expm1(x[0]))).ref(U(std::expm1));
  t.add("erf", {m}, FN(erf(x[0]))).ref(U(std::erf));
  t.add("clamp", {m}, FN(clamp(x[0], T(-0.5), T(0.8))))
      .gen(Gen().away_from({-0.5, 0.8}))
      .ref(ref::unary([](double v) { return std::min(std::max(v, -0.5), 0.8); }));
  t.add("clamp_min", {m}, FN(clamp_min(x[0], T(0.3))))
      .gen(Gen().away_from({0.3}))
      .ref(ref::unary([](double v) { return std::max(v, 0.3); }));
  t.add("clamp_max", {m}, FN(clamp_max(x[0], T(-0.2))))
      .gen(Gen().away_from({-0.2}))
      .ref(ref::unary([](double v) { return std::min(v, -0.2); }));

  // ---- tensor-scalar ----
  t.add("pow_scalar", {m}, FN(pow_scalar(x[0], T(3))), "p = 3").ref(ref::unary([](double v) {
    return v * v * v;
  }));
  t.add("pow_scalar", {m}, FN(pow_scalar(x[0], T(2))), "p = 2").ref(ref::unary([](double v) {
    return v * v;
  }));
  t.add("pow_scalar", {m}, FN(x[0].pow(0.5)), "p = 0.5, method")
      .gen(Gen::positive())
      .ref(U(std::sqrt));
  t.add("pow_scalar", {m}, FN(pow_scalar(x[0], T(-1.5))), "p = -1.5")
      .gen(Gen::positive())
      .ref(ref::unary([](double v) { return std::pow(v, -1.5); }));
  t.add("pow_scalar", {m}, FN(pow_scalar(x[0], T(1))), "p = 1").ref(ref::unary([](double v) {
    return v;
  }));
  t.add("add_scalar", {m}, FN(x[0] + 1.5)).ref(ref::unary([](double v) { return v + 1.5; }));
  t.add("add_scalar", {m}, FN(x[0] - 0.25), "tensor - scalar").ref(ref::unary([](double v) {
    return v - 0.25;
  }));
  t.add("mul_scalar", {m}, FN(-2.5 * x[0])).ref(ref::unary([](double v) { return -2.5 * v; }));
  t.add("mul_scalar", {m}, FN(x[0] / 4), "tensor / scalar").ref(ref::unary([](double v) {
    return v / 4;
  }));
  t.add("rsub_scalar", {m}, FN(3.0 - x[0])).ref(ref::unary([](double v) { return 3 - v; }));

  // ---- binary, with broadcasting ----
  auto add_ = [](double a, double b) { return a + b; };
  auto sub_ = [](double a, double b) { return a - b; };
  auto mul_ = [](double a, double b) { return a * b; };
  auto div_ = [](double a, double b) { return a / b; };
  const std::vector<std::pair<std::vector<Shape>, std::string>> bshapes = {
      {{m, m}, "same shape"},
      {{{3, 1}, {1, 4}}, "broadcast [3,1] x [1,4]"},
      {{{2, 3, 4}, {4}}, "broadcast [2,3,4] x [4]"},
      {{{}, m}, "broadcast 0-dim x [3,4]"},
      {{{4}, {2, 3, 1}}, "broadcast [4] x [2,3,1]"},
  };
  for (const auto& [shapes, name] : bshapes) {
    t.add("add", shapes, FN(x[0] + x[1]), name).ref(B(+add_));
    t.add("sub", shapes, FN(x[0] - x[1]), name).ref(B(+sub_));
    t.add("mul", shapes, FN(x[0] * x[1]), name).ref(B(+mul_));
    t.add("div", shapes, FN(x[0] / x[1]), name)
        .gens({Gen(), Gen().away_from_zero(0.4)})
        .ref(B(+div_));
    t.add("pow", shapes, FN(pow(x[0], x[1])), name)
        .gens({Gen::positive(0.3, 2), Gen::range(-2, 2)})
        .ref(B(std::pow));
    t.add("maximum", shapes, FN(maximum(x[0], x[1])), name)
        .gen(Gen().distinct())
        .ref(ref::binary([](double a, double b) { return std::max(a, b); }));
    t.add("minimum", shapes, FN(minimum(x[0], x[1])), name)
        .gen(Gen().distinct())
        .ref(ref::binary([](double a, double b) { return std::min(a, b); }));
  }
  t.add("add", {m, m}, FN(add(x[0], x[0])), "same tensor twice").ref(ref::unary([](double v) {
    return 2 * v;
  }));
  t.add("mul", {m}, FN(mul(x[0], x[0])), "same tensor twice").ref(ref::unary([](double v) {
    return v * v;
  }));

  auto where_ref = [](const Args& a) {
    return ref::nary(a, [](const std::vector<double>& v) { return v[0] != 0 ? v[1] : v[2]; });
  };
  t.add("where", {m, m, {4}}, FN(where(x[0], x[1], x[2])), "b broadcast")
      .gens({Gen::mask01(), Gen(), Gen()})
      .ref(where_ref);
  t.add("where", {{3, 1}, {1, 4}, m}, FN(where(x[0], x[1], x[2])), "cond and a broadcast")
      .gens({Gen::mask01(), Gen(), Gen()})
      .ref(where_ref);
  t.add("masked_fill", {m, {1, 4}}, FN(masked_fill(x[0], x[1], T(2.5))), "mask broadcast")
      .gens({Gen(), Gen::mask01()})
      .ref(ref::binary([](double a, double mk) { return mk != 0 ? 2.5 : a; }));

  // ---- masks (value only) ----
  auto cmp = [](bool (*f)(double, double)) {
    return ref::binary([f](double a, double b) { return f(a, b) ? 1.0 : 0.0; });
  };
  t.add("gt", {m, {4}}, FN(gt(x[0], x[1]))).values_only().ref(cmp([](double a, double b) {
    return a > b;
  }));
  t.add("ge", {m, {4}}, FN(ge(x[0], x[1]))).values_only().ref(cmp([](double a, double b) {
    return a >= b;
  }));
  t.add("lt", {m, {4}}, FN(lt(x[0], x[1]))).values_only().ref(cmp([](double a, double b) {
    return a < b;
  }));
  t.add("le", {m, {4}}, FN(le(x[0], x[1]))).values_only().ref(cmp([](double a, double b) {
    return a <= b;
  }));
  t.add("eq", {m, {4}}, FN(eq(x[0], maximum(x[0], x[1]))), "x == max(x, y)")
      .values_only()
      .ref(cmp([](double a, double b) { return a >= b; }));
  t.add("ne", {m, {4}}, FN(ne(x[0], maximum(x[0], x[1]))), "x != max(x, y)")
      .values_only()
      .ref(cmp([](double a, double b) { return a < b; }));
  auto cmp1 = [](bool (*f)(double)) {
    return ref::unary([f](double a) { return f(a) ? 1.0 : 0.0; });
  };
  t.add("gt_scalar", {m}, FN(gt_scalar(x[0], T(0.25)))).values_only().ref(cmp1([](double a) {
    return a > 0.25;
  }));
  t.add("ge_scalar", {m}, FN(ge_scalar(x[0], T(0.25)))).values_only().ref(cmp1([](double a) {
    return a >= 0.25;
  }));
  t.add("lt_scalar", {m}, FN(lt_scalar(x[0], T(0.25)))).values_only().ref(cmp1([](double a) {
    return a < 0.25;
  }));
  t.add("le_scalar", {m}, FN(le_scalar(x[0], T(0.25)))).values_only().ref(cmp1([](double a) {
    return a <= 0.25;
  }));
  t.add("eq_scalar", {m}, FN(eq_scalar(clamp(x[0], T(-0.5), T(0.5)), T(0.5))), "clamped to 0.5")
      .values_only()
      .ref(cmp1([](double a) { return a >= 0.5; }));
  t.add("ne_scalar", {m}, FN(ne_scalar(clamp(x[0], T(-0.5), T(0.5)), T(0.5))), "clamped to 0.5")
      .values_only()
      .ref(cmp1([](double a) { return a < 0.5; }));
  t.add("sign", {m}, FN(sign(x[0]))).values_only().ref(ref::unary([](double a) {
    return a > 0 ? 1.0 : -1.0;
  }));
  t.add("sign", {m}, FN(sign(relu(x[0]))), "exact zeros")
      .values_only()
      .ref(ref::unary([](double a) { return a > 0 ? 1.0 : 0.0; }));
  t.add("step", {m}, FN(step(x[0]))).values_only().ref(cmp1([](double a) { return a > 0; }));
}

}  // namespace dtest
