// ops/elementwise.hpp — pointwise math with numpy broadcasting.
//
// Unary ops run one kernel (backend/scalar_math.hpp) and record a rule g ↦ g · f'(x), written in
// ops; rules that need f(x) itself read the saved output (SavedOutput), which stays
// differentiable. Binary ops broadcast, and their rules end with sum_to(·, input shape).
// Comparisons and sign return 0/1 (or -1/0/1) masks of the same dtype and carry no gradient.
//
//   y = sigmoid(x)            // dy/dx = y (1 - y)
//   z = add(a, b)             // a [B, 1, D], b [N, D]  ->  z [B, N, D]
#pragma once
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "reduce.hpp"

namespace distillery {

// ---- raw kernels (no graph) ----------------------------------------------------------------
template <class T>
Tensor<T> unary_raw(UnaryOp op, const Tensor<T>& a, T p1 = T(0), T p2 = T(0)) {
  Tensor<T> c = raw_contiguous(a);
  Tensor<T> out = Tensor<T>::empty(a.shape(), a.device());
  kernels<T>(a.device()).unary(op, c.data_ptr(), out.data_ptr(), a.numel(), p1, p2);
  return out;
}

template <class T>
Tensor<T> binary_raw(BinaryOp op, const Tensor<T>& a, const Tensor<T>& b, const char* name) {
  check_defined(a, name);
  check_defined(b, name);
  check_same_device(a, b, name);
  Shape s = broadcast_shapes(a.shape(), b.shape(), name);
  Tensor<T> out = Tensor<T>::empty(s, a.device());
  kernels<T>(a.device())
      .binary(op, a.base_ptr(), broadcast_view(a, s, name), b.base_ptr(),
              broadcast_view(b, s, name), out.data_ptr(), s);
  return out;
}

// What a rule reads, read off its signature: a value the rule takes as `auto&` it never uses
// (by convention those parameters are unnamed), so the rule is invocable with `NotRead` there.
// An op keeps only the values its rule reads and records the versions of exactly those
// (Saves::values: inputs and output; Saves::output; Saves::nothing), so a graph never holds
// memory its rules do not need: under create_graph an add that kept its summands kept every
// gradient it accumulated (issue 24), and mul kept its output.
struct NotRead {};
inline Saves saves_for(bool reads_inputs, bool reads_output) {
  return reads_inputs ? Saves::values : reads_output ? Saves::output : Saves::nothing;
}

// Unary op with rule(g, x, saved_y) -> dL/dx.
template <class T, class Rule>
Tensor<T> unary_op(UnaryOp op, const Tensor<T>& a, const char* name, Rule rule, T p1 = T(0),
                   T p2 = T(0)) {
  check_defined(a, name);
  Tensor<T> out = unary_raw(op, a, p1, p2);
  if (needs_grad({&a})) {
    using G = const Tensor<T>&;
    constexpr bool reads_x = !std::is_invocable_v<Rule&, G, const NotRead&, const SavedOutput<T>&>;
    constexpr bool reads_y = !std::is_invocable_v<Rule&, G, G, const NotRead&>;
    SavedOutput<T> y;
    if (reads_y) y = SavedOutput<T>(out);
    attach<T>(
        out, name, {&a},
        [a = reads_x ? saved_input(a) : Tensor<T>(), y, rule](G g) {
          return std::vector<Tensor<T>>{rule(g, a, y)};
        },
        saves_for(reads_x, reads_y));
  }
  return out;
}

// ---- masks (no gradient) -------------------------------------------------------------------
#define DST_MASK_SCALAR(fn, code)          \
  template <class T>                       \
  Tensor<T> fn(const Tensor<T>& a, T s) {  \
    check_inputs(#fn, a);                  \
    return unary_raw(UnaryOp::code, a, s); \
  }
DST_MASK_SCALAR(gt_scalar, gt_scalar)
DST_MASK_SCALAR(ge_scalar, ge_scalar)
DST_MASK_SCALAR(lt_scalar, lt_scalar)
DST_MASK_SCALAR(le_scalar, le_scalar)
DST_MASK_SCALAR(eq_scalar, eq_scalar)
DST_MASK_SCALAR(ne_scalar, ne_scalar)
#undef DST_MASK_SCALAR

#define DST_MASK_BINARY(fn)                              \
  template <class T>                                     \
  Tensor<T> fn(const Tensor<T>& a, const Tensor<T>& b) { \
    return binary_raw(BinaryOp::fn, a, b, #fn);          \
  }
DST_MASK_BINARY(gt)
DST_MASK_BINARY(ge)
DST_MASK_BINARY(lt)
DST_MASK_BINARY(le)
DST_MASK_BINARY(eq)
DST_MASK_BINARY(ne)
#undef DST_MASK_BINARY

template <class T>
Tensor<T> sign(const Tensor<T>& a) {
  check_inputs("sign", a);
  return unary_raw(UnaryOp::sign, a);
}
template <class T>
Tensor<T> step(const Tensor<T>& a) {  // x > 0
  check_inputs("step", a);
  return unary_raw(UnaryOp::step, a);
}

// ---- binary arithmetic ---------------------------------------------------------------------
template <class T>
Tensor<T> mul(const Tensor<T>& a, const Tensor<T>& b);
template <class T>
Tensor<T> div(const Tensor<T>& a, const Tensor<T>& b);
template <class T>
Tensor<T> neg(const Tensor<T>& a);
template <class T>
Tensor<T> mul_scalar(const Tensor<T>& a, T s);

template <class T, class Rule>
Tensor<T> binary_op(BinaryOp op, const Tensor<T>& a, const Tensor<T>& b, const char* name,
                    Rule rule) {
  Tensor<T> out = binary_raw(op, a, b, name);
  if (needs_grad({&a, &b})) {
    using G = const Tensor<T>&;
    using Y = const SavedOutput<T>&;
    constexpr bool reads_a = !std::is_invocable_v<Rule&, G, const NotRead&, G, Y, bool, bool>;
    constexpr bool reads_b = !std::is_invocable_v<Rule&, G, G, const NotRead&, Y, bool, bool>;
    constexpr bool reads_y = !std::is_invocable_v<Rule&, G, G, G, const NotRead&, bool, bool>;
    SavedOutput<T> y;
    if (reads_y) y = SavedOutput<T>(out);
    bool na = a.requires_grad(), nb = b.requires_grad();
    attach<T>(
        out, name, {&a, &b},
        [a = reads_a ? saved_input(a) : Tensor<T>(), b = reads_b ? saved_input(b) : Tensor<T>(),
         as = a.shape(), bs = b.shape(), y, na, nb, rule](G g) {
          auto [ga, gb] = rule(g, a, b, y, na, nb);
          return std::vector<Tensor<T>>{ga.defined() ? sum_to(ga, as) : ga,
                                        gb.defined() ? sum_to(gb, bs) : gb};
        },
        saves_for(reads_a || reads_b, reads_y));
  }
  return out;
}

template <class T>
Tensor<T> add(const Tensor<T>& a, const Tensor<T>& b) {
  return binary_op(BinaryOp::add, a, b, "add",
                   [](const Tensor<T>& g, auto&, auto&, auto&, bool, bool) {
                     return std::pair<Tensor<T>, Tensor<T>>{g, g};
                   });
}

template <class T>
Tensor<T> sub(const Tensor<T>& a, const Tensor<T>& b) {
  return binary_op(BinaryOp::sub, a, b, "sub",
                   [](const Tensor<T>& g, auto&, auto&, auto&, bool, bool nb) {
                     return std::pair<Tensor<T>, Tensor<T>>{g, nb ? neg(g) : Tensor<T>()};
                   });
}

template <class T>
Tensor<T> mul(const Tensor<T>& a, const Tensor<T>& b) {
  return binary_op(
      BinaryOp::mul, a, b, "mul",
      [](const Tensor<T>& g, const Tensor<T>& x, const Tensor<T>& z, auto&, bool na, bool nb) {
        return std::pair<Tensor<T>, Tensor<T>>{na ? mul(g, z) : Tensor<T>(),
                                               nb ? mul(g, x) : Tensor<T>()};
      });
}

template <class T>
Tensor<T> div(const Tensor<T>& a, const Tensor<T>& b) {
  return binary_op(
      BinaryOp::div, a, b, "div",
      [](const Tensor<T>& g, auto&, const Tensor<T>& z, const SavedOutput<T>& y, bool na, bool nb) {
        Tensor<T> gz = na || nb ? div(g, z) : Tensor<T>();
        return std::pair<Tensor<T>, Tensor<T>>{na ? gz : Tensor<T>(),
                                               nb ? neg(mul(gz, y.get())) : Tensor<T>()};
      });
}

template <class T>
Tensor<T> log(const Tensor<T>& a);
template <class T>
Tensor<T> pow_scalar(const Tensor<T>& a, T p);

// a^b elementwise (a > 0 where b's gradient is needed).
template <class T>
Tensor<T> pow(const Tensor<T>& a, const Tensor<T>& b) {
  return binary_op(BinaryOp::pow, a, b, "pow",
                   [](const Tensor<T>& g, const Tensor<T>& x, const Tensor<T>& z,
                      const SavedOutput<T>& y, bool na, bool nb) {
                     Tensor<T> ga, gb;
                     if (na) ga = mul(g, mul(z, pow(x, add_scalar(z, T(-1)))));
                     if (nb) gb = mul(g, mul(y.get(), log(x)));
                     return std::pair<Tensor<T>, Tensor<T>>{ga, gb};
                   });
}

template <class T>
Tensor<T> maximum(const Tensor<T>& a, const Tensor<T>& b) {
  return binary_op(
      BinaryOp::maximum, a, b, "maximum",
      [](const Tensor<T>& g, const Tensor<T>& x, const Tensor<T>& z, auto&, bool na, bool nb) {
        Tensor<T> m = ge(x.detach(), z.detach());
        return std::pair<Tensor<T>, Tensor<T>>{
            na ? mul(g, m) : Tensor<T>(),
            nb ? mul(g, unary_raw(UnaryOp::rsub_scalar, m, T(1))) : Tensor<T>()};
      });
}

template <class T>
Tensor<T> minimum(const Tensor<T>& a, const Tensor<T>& b) {
  return binary_op(
      BinaryOp::minimum, a, b, "minimum",
      [](const Tensor<T>& g, const Tensor<T>& x, const Tensor<T>& z, auto&, bool na, bool nb) {
        Tensor<T> m = le(x.detach(), z.detach());
        return std::pair<Tensor<T>, Tensor<T>>{
            na ? mul(g, m) : Tensor<T>(),
            nb ? mul(g, unary_raw(UnaryOp::rsub_scalar, m, T(1))) : Tensor<T>()};
      });
}

// where(cond, a, b): a where cond != 0, else b (cond is a 0/1 mask of the same dtype).
template <class T>
Tensor<T> where(const Tensor<T>& cond, const Tensor<T>& a, const Tensor<T>& b) {
  check_inputs("where", cond, a, b);
  check_same_device(cond, a, "where");
  check_same_device(a, b, "where");
  Shape s =
      broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  Tensor<T> out = Tensor<T>::empty(s, a.device());
  kernels<T>(a.device())
      .where(cond.base_ptr(), broadcast_view(cond, s, "where"), a.base_ptr(),
             broadcast_view(a, s, "where"), b.base_ptr(), broadcast_view(b, s, "where"),
             out.data_ptr(), s);
  if (needs_grad({&a, &b})) {
    Tensor<T> c = cond.detach();
    Shape sa = a.shape(), sb = b.shape();
    bool na = a.requires_grad(), nb = b.requires_grad();
    attach<T>(out, "where", {&a, &b}, [c, sa, sb, na, nb](const Tensor<T>& g) {
      Tensor<T> zero = Tensor<T>::zeros({}, g.device());
      return std::vector<Tensor<T>>{na ? sum_to(where(c, g, zero), sa) : Tensor<T>(),
                                    nb ? sum_to(where(c, zero, g), sb) : Tensor<T>()};
    });
  }
  return out;
}

// masked_fill: value where mask != 0.
template <class T>
Tensor<T> masked_fill(const Tensor<T>& a, const Tensor<T>& mask, T value) {
  check_inputs("masked_fill", a, mask);
  return where(mask, Tensor<T>::full({}, value, a.device()), a);
}

// ---- unary math ----------------------------------------------------------------------------

template <class T>
Tensor<T> neg(const Tensor<T>& a) {
  return unary_op(UnaryOp::neg, a, "neg", [](const Tensor<T>& g, auto&, auto&) { return neg(g); });
}
template <class T>
Tensor<T> add_scalar(const Tensor<T>& a, T s) {
  return unary_op(
      UnaryOp::add_scalar, a, "add_scalar", [](const Tensor<T>& g, auto&, auto&) { return g; }, s);
}
template <class T>
Tensor<T> mul_scalar(const Tensor<T>& a, T s) {
  return unary_op(
      UnaryOp::mul_scalar, a, "mul_scalar",
      [s](const Tensor<T>& g, auto&, auto&) { return mul_scalar(g, s); }, s);
}
template <class T>
Tensor<T> rsub_scalar(const Tensor<T>& a, T s) {  // s - a
  return unary_op(
      UnaryOp::rsub_scalar, a, "rsub_scalar",
      [](const Tensor<T>& g, auto&, auto&) { return neg(g); }, s);
}
template <class T>
Tensor<T> pow_scalar(const Tensor<T>& a, T p) {
  return unary_op(
      UnaryOp::pow_scalar, a, "pow_scalar",
      [p](const Tensor<T>& g, const Tensor<T>& x, auto&) {
        if (p == T(0)) return mul_scalar(g, T(0));
        if (p == T(1)) return g;
        if (p == T(2)) return mul(g, mul_scalar(x, T(2)));
        return mul(g, mul_scalar(pow_scalar(x, p - T(1)), p));
      },
      p);
}
template <class T>
Tensor<T> square(const Tensor<T>& a) {
  return unary_op(UnaryOp::square, a, "square", [](const Tensor<T>& g, const Tensor<T>& x, auto&) {
    return mul(g, mul_scalar(x, T(2)));
  });
}
template <class T>
Tensor<T> reciprocal(const Tensor<T>& a) {
  return unary_op(UnaryOp::recip, a, "reciprocal",
                  [](const Tensor<T>& g, auto&, const SavedOutput<T>& y) {
                    Tensor<T> r = y.get();
                    return neg(mul(g, mul(r, r)));
                  });
}
template <class T>
Tensor<T> exp(const Tensor<T>& a) {
  return unary_op(UnaryOp::exp, a, "exp", [](const Tensor<T>& g, auto&, const SavedOutput<T>& y) {
    return mul(g, y.get());
  });
}
template <class T>
Tensor<T> log(const Tensor<T>& a) {
  return unary_op(UnaryOp::log, a, "log",
                  [](const Tensor<T>& g, const Tensor<T>& x, auto&) { return div(g, x); });
}
template <class T>
Tensor<T> sqrt(const Tensor<T>& a) {
  return unary_op(UnaryOp::sqrt, a, "sqrt", [](const Tensor<T>& g, auto&, const SavedOutput<T>& y) {
    return div(mul_scalar(g, T(0.5)), y.get());
  });
}
template <class T>
Tensor<T> rsqrt(const Tensor<T>& a) {
  return unary_op(UnaryOp::rsqrt, a, "rsqrt",
                  [](const Tensor<T>& g, auto&, const SavedOutput<T>& y) {
                    Tensor<T> r = y.get();
                    return mul(g, mul_scalar(mul(r, mul(r, r)), T(-0.5)));
                  });
}
template <class T>
Tensor<T> abs(const Tensor<T>& a) {
  return unary_op(UnaryOp::abs, a, "abs", [](const Tensor<T>& g, const Tensor<T>& x, auto&) {
    return mul(g, sign(x.detach()));
  });
}
template <class T>
Tensor<T> sin(const Tensor<T>& a);
template <class T>
Tensor<T> cos(const Tensor<T>& a) {
  return unary_op(UnaryOp::cos, a, "cos", [](const Tensor<T>& g, const Tensor<T>& x, auto&) {
    return neg(mul(g, sin(x)));
  });
}
template <class T>
Tensor<T> sin(const Tensor<T>& a) {
  return unary_op(UnaryOp::sin, a, "sin",
                  [](const Tensor<T>& g, const Tensor<T>& x, auto&) { return mul(g, cos(x)); });
}
namespace detail {
// relu's gradient g·[y > 0] (y = relu(x)) as an op that keeps only y: no mask tensor and no
// pre-activation stay alive with a gradient graph (create_graph), as PyTorch's threshold_backward.
// Its own gradient: d/dg = relu_grad(G, y); y is treated as a constant (zero a.e.).
template <class T>
Tensor<T> relu_grad(const Tensor<T>& g, const Tensor<T>& y) {
  check_inputs("relu_grad", g, y);
  check(g.shape() == y.shape(), "relu_grad", "gradient ", g.shape(), " and output ", y.shape(),
        " differ");
  Tensor<T> out = binary_raw(BinaryOp::mul, g, unary_raw(UnaryOp::step, y.detach()), "relu_grad");
  if (needs_grad({&g}))
    attach<T>(
        out, "relu_backward", {&g},
        [yd = y.detach()](const Tensor<T>& G) {
          return std::vector<Tensor<T>>{detail::relu_grad(G, yd)};
        },
        Saves::nothing);  // reads y, relu's output (relu's node checks its version)
  return out;
}
}  // namespace detail

template <class T>
Tensor<T> relu(const Tensor<T>& a) {
  check_defined(a, "relu");
  Tensor<T> out = unary_raw(UnaryOp::relu, a);
  if (needs_grad({&a}))  // keeps the output only (y > 0 exactly where x > 0)
    attach<T>(
        out, "relu", {&a},
        [y = SavedOutput<T>(out)](const Tensor<T>& g) {
          return std::vector<Tensor<T>>{detail::relu_grad(g, y.data)};
        },
        Saves::output);
  return out;
}
template <class T>
Tensor<T> leaky_relu(const Tensor<T>& a, T slope = T(0.01)) {
  return unary_op(
      UnaryOp::leaky_relu, a, "leaky_relu",
      [slope](const Tensor<T>& g, const Tensor<T>& x, auto&) {
        return mul(g, unary_raw(UnaryOp::leaky_relu_slope, x.detach(), slope));
      },
      slope);
}
template <class T>
Tensor<T> sigmoid(const Tensor<T>& a) {
  return unary_op(UnaryOp::sigmoid, a, "sigmoid",
                  [](const Tensor<T>& g, auto&, const SavedOutput<T>& y) {
                    Tensor<T> s = y.get();
                    return mul(g, mul(s, rsub_scalar(s, T(1))));
                  });
}
template <class T>
Tensor<T> tanh(const Tensor<T>& a) {
  return unary_op(UnaryOp::tanh, a, "tanh", [](const Tensor<T>& g, auto&, const SavedOutput<T>& y) {
    Tensor<T> t = y.get();
    return mul(g, rsub_scalar(square(t), T(1)));
  });
}
template <class T>
Tensor<T> erf(const Tensor<T>& a) {
  return unary_op(UnaryOp::erf, a, "erf", [](const Tensor<T>& g, const Tensor<T>& x, auto&) {
    return mul(g, mul_scalar(exp(neg(square(x))), T(1.12837916709551257390)));  // 2/sqrt(pi)
  });
}
namespace detail {
// gelu_erf'(x) = Φ(x) + x φ(x) in one kernel; its own derivative φ(x) (2 − x²) is composed.
template <class T>
Tensor<T> gelu_erf_grad(const Tensor<T>& a) {
  return unary_op(
      UnaryOp::gelu_erf_grad, a, "gelu_grad", [](const Tensor<T>& g, const Tensor<T>& x, auto&) {
        Tensor<T> x2 = square(x);
        Tensor<T> pdf = mul_scalar(exp(mul_scalar(x2, T(-0.5))), T(0.39894228040143267794));
        return mul(g, mul(pdf, rsub_scalar(x2, T(2))));
      });
}
}  // namespace detail
// GELU, exact (erf) form by default; approximate = true gives the tanh form.
template <class T>
Tensor<T> gelu(const Tensor<T>& a, bool approximate = false) {
  if (!approximate)
    return unary_op(UnaryOp::gelu_erf, a, "gelu",
                    [](const Tensor<T>& g, const Tensor<T>& x, auto&) {
                      return mul(g, detail::gelu_erf_grad(x));  // Φ(x) + x φ(x)
                    });
  return unary_op(
      UnaryOp::gelu_tanh, a, "gelu_tanh", [](const Tensor<T>& g, const Tensor<T>& x, auto&) {
        const T k = T(0.79788456080286535588), c = T(0.044715);
        Tensor<T> x2 = square(x);
        Tensor<T> t = tanh(mul_scalar(mul(x, add_scalar(mul_scalar(x2, c), T(1))), k));
        Tensor<T> left = mul_scalar(add_scalar(t, T(1)), T(0.5));
        Tensor<T> dt = mul_scalar(add_scalar(mul_scalar(x2, T(3) * c), T(1)), k);
        Tensor<T> right = mul(mul_scalar(x, T(0.5)), mul(rsub_scalar(square(t), T(1)), dt));
        return mul(g, add(left, right));
      });
}
// softplus(x) = log(1 + exp(beta x)) / beta, linear above beta x > threshold (PyTorch's rule).
template <class T>
Tensor<T> softplus(const Tensor<T>& a, T beta = T(1), T threshold = T(20)) {
  return unary_op(
      UnaryOp::softplus, a, "softplus",
      [beta, threshold](const Tensor<T>& g, const Tensor<T>& x, auto&) {
        Tensor<T> linear = gt_scalar(mul_scalar(x.detach(), beta), threshold);
        return mul(g, where(linear, Tensor<T>::ones({}, g.device()), sigmoid(mul_scalar(x, beta))));
      },
      beta, threshold);
}
template <class T>
Tensor<T> log1p(const Tensor<T>& a) {
  return unary_op(UnaryOp::log1p, a, "log1p", [](const Tensor<T>& g, const Tensor<T>& x, auto&) {
    return div(g, add_scalar(x, T(1)));
  });
}
template <class T>
Tensor<T> expm1(const Tensor<T>& a) {
  return unary_op(UnaryOp::expm1, a, "expm1",
                  [](const Tensor<T>& g, auto&, const SavedOutput<T>& y) {
                    return mul(g, add_scalar(y.get(), T(1)));
                  });
}
template <class T>
Tensor<T> clamp(const Tensor<T>& a, T lo, T hi) {
  check_inputs("clamp", a);
  check(!(lo > hi), "clamp", "min ", lo, " greater than max ", hi);
  return unary_op(
      UnaryOp::clamp, a, "clamp",
      [lo, hi](const Tensor<T>& g, const Tensor<T>& x, auto&) {
        return mul(g, unary_raw(UnaryOp::inside, x.detach(), lo, hi));
      },
      lo, hi);
}
template <class T>
Tensor<T> clamp_min(const Tensor<T>& a, T lo) {
  return clamp(a, lo, std::numeric_limits<T>::infinity());
}
template <class T>
Tensor<T> clamp_max(const Tensor<T>& a, T hi) {
  return clamp(a, -std::numeric_limits<T>::infinity(), hi);
}

// ---- operators -----------------------------------------------------------------------------
template <class T>
Tensor<T> operator+(const Tensor<T>& a, const Tensor<T>& b) {
  return add(a, b);
}
template <class T>
Tensor<T> operator-(const Tensor<T>& a, const Tensor<T>& b) {
  return sub(a, b);
}
template <class T>
Tensor<T> operator*(const Tensor<T>& a, const Tensor<T>& b) {
  return mul(a, b);
}
template <class T>
Tensor<T> operator/(const Tensor<T>& a, const Tensor<T>& b) {
  return div(a, b);
}
template <class T>
Tensor<T> operator-(const Tensor<T>& a) {
  return neg(a);
}
template <class T, class S, class = std::enable_if_t<std::is_arithmetic_v<S>>>
Tensor<T> operator+(const Tensor<T>& a, S s) {
  return add_scalar(a, T(s));
}
template <class T, class S, class = std::enable_if_t<std::is_arithmetic_v<S>>>
Tensor<T> operator+(S s, const Tensor<T>& a) {
  return add_scalar(a, T(s));
}
template <class T, class S, class = std::enable_if_t<std::is_arithmetic_v<S>>>
Tensor<T> operator-(const Tensor<T>& a, S s) {
  return add_scalar(a, T(-s));
}
template <class T, class S, class = std::enable_if_t<std::is_arithmetic_v<S>>>
Tensor<T> operator-(S s, const Tensor<T>& a) {
  return rsub_scalar(a, T(s));
}
template <class T, class S, class = std::enable_if_t<std::is_arithmetic_v<S>>>
Tensor<T> operator*(const Tensor<T>& a, S s) {
  return mul_scalar(a, T(s));
}
template <class T, class S, class = std::enable_if_t<std::is_arithmetic_v<S>>>
Tensor<T> operator*(S s, const Tensor<T>& a) {
  return mul_scalar(a, T(s));
}
template <class T, class S, class = std::enable_if_t<std::is_arithmetic_v<S>>>
Tensor<T> operator/(const Tensor<T>& a, S s) {
  return mul_scalar(a, T(1) / T(s));
}
template <class T, class S, class = std::enable_if_t<std::is_arithmetic_v<S>>>
Tensor<T> operator/(S s, const Tensor<T>& a) {
  return mul_scalar(reciprocal(a), T(s));
}

}  // namespace distillery
