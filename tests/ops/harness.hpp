// tests/ops/harness.hpp — the table-driven op harness (after ggml test-backend-ops, Stan expect_ad).
//
// Adding an op is one table entry: the registered op name, the input shapes, and the op written
// once for any scalar type (FN(...) makes a template lambda over `x`, a std::vector<Tensor<T>>;
// `T` is the scalar type inside it). Optional: an independent reference (tests/ops/reference.hpp)
// and input-generator hints that keep inputs away from kinks and ties.
//
//   t.add("exp", {{3, 4}}, FN(exp(x[0]))).ref(ref::unary([](double v) { return std::exp(v); }));
//   t.add("relu", {{3, 4}}, FN(relu(x[0]))).gen(Gen().away_from_zero());
//   t.add("maximum", {{3, 1}, {4}}, FN(maximum(x[0], x[1])), "broadcast").gen(Gen().distinct());
//
// check_entry(e) then verifies, with inputs drawn from a seeded distillery::Generator:
//   value        (double) against the reference, when one is given (values and shape); the
//                value computed while recording a graph must equal the no-grad value exactly
//   first order  grad of L = Σ f(x)·w (random w) against central differences, eps 1e-6
//                (on every element, or on a few sampled ones for large inputs: sample_fd(n))
//   second order grad of (∇L · v) (random v, create_graph) against central differences of ∇L,
//                eps 1e-5; the create_graph gradient must equal the plain one
//   float        value, gradient and Hessian-vector product in float against double
//   layouts      the same op on non-contiguous inputs (a transposed buffer; a stride-2 slice
//                with a storage offset and NaN in the gaps) gives the same value and derivatives
// Kinks (relu at 0, max ties, clamp bounds) are avoided by the generator, never by loosening
// tolerances. Value-only entries (comparisons, argmax, ...) check the value, float, layouts, and
// that no graph is recorded. Every entry also checks that an undefined tensor in place of each
// input gives "<op>: undefined tensor". check_entry returns a Report instead of asserting, so the harness
// itself can be tested (a deliberately wrong backward rule must produce a failing report).
#pragma once
#include <distillery/distillery.hpp>

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "reference.hpp"

namespace dtest {

using distillery::Generator;
using distillery::Shape;
using distillery::Tensor;

template <class T>
using Inputs = std::vector<Tensor<T>>;

// An op written once for float and double (both instantiations are stored).
struct OpFn {
  std::function<Tensor<double>(const Inputs<double>&)> d;
  std::function<Tensor<float>(const Inputs<float>&)> f;
  OpFn() = default;
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, OpFn>>>
  OpFn(F fn) : d(fn), f(fn) {}  // NOLINT: implicit on purpose (table entries pass lambdas)
  Tensor<double> operator()(const Inputs<double>& x) const { return d(x); }
  Tensor<float> operator()(const Inputs<float>& x) const { return f(x); }
};

// FN(expr): a template lambda over the inputs `x`, with `T` the scalar type. Captures by value.
#define FN(...)                                                               \
  [=](const auto& x) {                                                        \
    using T [[maybe_unused]] = typename std::decay_t<decltype(x[0])>::Scalar; \
    return __VA_ARGS__;                                                       \
  }

// Index tensors for entries (constants captured by FN; they carry no gradient). They are made on
// ids_device(), which the CUDA table test points at the GPU while it evaluates there.
inline distillery::Device& ids_device() {
  static distillery::Device d = distillery::Device::cpu;
  return d;
}
inline Tensor<int64_t> ids(std::vector<int64_t> v, Shape s) {
  return Tensor<int64_t>::from_vector(v, s).to(ids_device());
}
inline Tensor<int64_t> ids(std::vector<int64_t> v) {
  return Tensor<int64_t>::from_vector(v).to(ids_device());
}
// Index results as values of type T, so value-only entries can return them.
template <class T>
Tensor<T> as_real(const Tensor<int64_t>& i) {
  return i.template to<T>();
}

// Input-generator hints for one input.
struct Gen {
  double lo = -2, hi = 2;     // uniform range
  double min_abs = 0;         // keep |x| >= min_abs (kinks at 0: relu, abs)
  std::vector<double> avoid;  // keep |x - p| >= margin for these points (clamp bounds)
  double margin = 0.05;
  double gap = 0;         // > 0: pairwise gap to every other "distinct" value, across
                          // all inputs of the entry (ties: max, sort, maximum)
  bool mask = false;      // 0/1 values (where's condition, masked_fill's mask)
  bool constant = false;  // never differentiated (no requires_grad, no perturbation)

  static Gen range(double lo, double hi) {
    Gen g;
    g.lo = lo;
    g.hi = hi;
    return g;
  }
  static Gen positive(double lo = 0.25, double hi = 2) { return range(lo, hi); }
  static Gen mask01() {
    Gen g;
    g.mask = true;
    g.constant = true;
    return g;
  }
  Gen& away_from_zero(double m = 0.1) {
    min_abs = m;
    return *this;
  }
  Gen& away_from(std::vector<double> pts, double m = 0.05) {
    avoid = std::move(pts);
    margin = m;
    return *this;
  }
  Gen& distinct(double g = 0.05) {
    gap = g;
    return *this;
  }
  Gen& no_grad() {
    constant = true;
    return *this;
  }
};

struct Entry {
  std::string op;       // the name in distillery::registered_ops() (or registered_value_ops())
  std::string variant;  // what this entry exercises
  std::vector<Shape> shapes;
  OpFn fn;
  RefFn reference;
  std::vector<Gen> hints;      // empty: default for all; one: for all; else one per input
  bool differentiable = true;  // false: value checks only
  bool layouts = true;         // also run with non-contiguous inputs
  double float_tol = 2e-5;
  int fd_samples = 0;  // > 0: finite differences on this many random elements per
                       // input (large inputs); 0: on every element

  std::string label() const { return op + " [" + variant + "]"; }
  Entry& ref(RefFn r) {
    reference = std::move(r);
    return *this;
  }
  Entry& gen(Gen g) {
    hints = {std::move(g)};
    return *this;
  }
  Entry& gens(std::vector<Gen> g) {
    hints = std::move(g);
    return *this;
  }
  Entry& values_only() {
    differentiable = false;
    return *this;
  }
  Entry& contiguous_only() {
    layouts = false;
    return *this;
  }
  Entry& ftol(double t) {
    float_tol = t;
    return *this;
  }
  Entry& sample_fd(int n) {
    fd_samples = n;
    return *this;
  }
  Gen hint(size_t i) const {
    if (hints.empty()) return Gen();
    return hints.size() == 1 ? hints[0] : hints.at(i);
  }
};

struct Table {
  std::vector<Entry> entries;
  Entry& add(std::string op, std::vector<Shape> shapes, OpFn fn, std::string variant = "") {
    if (variant.empty()) {
      std::ostringstream os;
      for (size_t i = 0; i < shapes.size(); ++i) os << (i ? " " : "") << shapes[i];
      variant = os.str();
    }
    entries.push_back(Entry{std::move(op),
                            std::move(variant),
                            std::move(shapes),
                            std::move(fn),
                            {},
                            {},
                            true,
                            true,
                            2e-5,
                            0});
    return entries.back();
  }
};

// ---- reports -------------------------------------------------------------------------------
struct Report {
  std::string label;
  std::vector<std::string> failures;
  int checks = 0;
  bool ok() const { return failures.empty(); }
  bool failed(const std::string& what) const {  // some failure mentions `what`
    for (const auto& f : failures)
      if (f.find(what) != std::string::npos) return true;
    return false;
  }
  std::string str() const {
    std::ostringstream os;
    os << label << ": " << (ok() ? "ok" : "FAILED") << " (" << checks << " checks)";
    for (const auto& f : failures) os << "\n  - " << f;
    return os.str();
  }
};

// Records a failure when some |got - want| > atol + rtol |want| (or a NaN, or a size mismatch).
inline void compare(Report& r, const std::string& what, const std::vector<double>& got,
                    const std::vector<double>& want, double atol, double rtol) {
  ++r.checks;
  if (got.size() != want.size()) {
    r.failures.push_back(what + ": " + std::to_string(got.size()) + " values, expected " +
                         std::to_string(want.size()));
    return;
  }
  size_t bad = 0, worst = 0;
  double worst_excess = -1;
  for (size_t i = 0; i < got.size(); ++i) {
    double err = std::abs(got[i] - want[i]), lim = atol + rtol * std::abs(want[i]);
    bool nan =
        std::isnan(got[i]) != std::isnan(want[i]) || (std::isnan(err) && !std::isnan(want[i]));
    if (nan || err > lim) {
      ++bad;
      double excess = nan ? std::numeric_limits<double>::infinity() : err / lim;
      if (excess > worst_excess) {
        worst_excess = excess;
        worst = i;
      }
    }
  }
  if (bad) {
    std::ostringstream os;
    os.precision(12);
    os << what << ": " << bad << " of " << got.size() << " elements differ; worst at " << worst
       << ": got " << got[worst] << ", expected " << want[worst] << " (atol " << atol << ", rtol "
       << rtol << ")";
    r.failures.push_back(os.str());
  }
}

inline void compare_shape(Report& r, const std::string& what, const Shape& got, const Shape& want) {
  ++r.checks;
  if (got == want) return;
  std::ostringstream os;
  os << what << ": shape " << got << ", expected " << want;
  r.failures.push_back(os.str());
}

// ---- evaluation ----------------------------------------------------------------------------
using Vals = std::vector<std::vector<double>>;

enum class Layout { contiguous, transposed, strided };
inline const char* layout_name(Layout l) {
  return l == Layout::contiguous   ? "contiguous"
         : l == Layout::transposed ? "transposed"
                                   : "strided";
}
inline bool layout_applies(const Shape& s, Layout l) {
  const int n = s.size();
  if (l == Layout::transposed) return n >= 2 && s[n - 1] > 1 && s[n - 2] > 1;
  if (l == Layout::strided) return n >= 1 && s.numel() > 1;
  return true;
}

// A tensor holding `vals` (row-major for shape s) in the given memory layout; a leaf.
template <class T>
Tensor<T> make_input(const std::vector<double>& vals, const Shape& s, Layout l) {
  std::vector<T> tv(vals.begin(), vals.end());
  if (!layout_applies(s, l) || l == Layout::contiguous) return Tensor<T>::from_vector(tv, s);
  const int n = s.size();
  Dims shape(s.begin(), s.end());
  if (l == Layout::transposed) {  // buffer holds the transpose; the input is a view of it
    Dims bs = shape;
    std::swap(bs[n - 1], bs[n - 2]);
    std::vector<T> buf(tv.size());
    for (int64_t i = 0; i < numel_of(shape); ++i) {
      Dims idx = unravel(i, shape);
      std::swap(idx[n - 1], idx[n - 2]);
      buf[ravel(idx, bs)] = tv[i];
    }
    return distillery::transpose(Tensor<T>::from_vector(buf, Shape(bs)), -1, -2);
  }
  // strided: last dim spread over 2k+1 slots (offset 1, step 2), NaN in between
  Dims bs = shape;
  bs[n - 1] = 2 * shape[n - 1] + 1;
  std::vector<T> buf(numel_of(bs), std::numeric_limits<T>::quiet_NaN());
  for (int64_t i = 0; i < numel_of(shape); ++i) {
    Dims idx = unravel(i, shape);
    idx[n - 1] = 2 * idx[n - 1] + 1;
    buf[ravel(idx, bs)] = tv[i];
  }
  return distillery::slice(Tensor<T>::from_vector(buf, Shape(bs)), -1, 1, bs[n - 1], 2);
}

template <class T>
std::vector<double> values_of(const Tensor<T>& t) {
  std::vector<T> v = t.to_vector();
  return std::vector<double>(v.begin(), v.end());
}

enum class Order { value, first, second };

struct Result {
  Shape shape;
  std::vector<double> value;
  Vals grad, hvp;              // per differentiable input
  bool records_graph = false;  // the output requires grad
};

// Runs the entry once in scalar type T. Order::first/second also return ∇(Σ f·w) and
// ∇((∇(Σ f·w))·v) for the non-constant inputs.
template <class T>
Result evaluate(const Entry& e, const Vals& in, Layout layout, Order order,
                const std::vector<double>& w = {}, const Vals& v = {}) {
  Inputs<T> xs, diff;
  for (size_t i = 0; i < in.size(); ++i) {
    Tensor<T> x = make_input<T>(in[i], e.shapes[i], layout);
    if (order != Order::value && !e.hint(i).constant) {
      x.requires_grad_();
      diff.push_back(x);
    }
    xs.push_back(x);
  }
  Tensor<T> out = e.fn(xs);
  Result r;
  r.shape = out.shape();
  r.value = values_of(out);
  r.records_graph = out.requires_grad();
  if (order == Order::value || !e.differentiable) return r;
  auto zeros_like = [](const Tensor<T>& t) { return std::vector<double>(t.numel(), 0.0); };
  if (!out.requires_grad()) throw distillery::Error("output does not require grad");
  std::vector<T> wt(w.begin(), w.end());
  Tensor<T> loss = distillery::sum(out * Tensor<T>::from_vector(wt, out.shape()));
  const bool create = order == Order::second;
  Inputs<T> gs = distillery::grad<T>({loss}, diff, {}, create, /*allow_unused=*/true);
  for (size_t i = 0; i < diff.size(); ++i)
    r.grad.push_back(gs[i].defined() ? values_of(gs[i]) : zeros_like(diff[i]));
  if (!create) return r;
  Tensor<T> s;
  for (size_t i = 0; i < diff.size(); ++i) {
    if (!gs[i].defined() || !gs[i].requires_grad()) continue;  // constant in x: no 2nd order
    std::vector<T> vt(v[i].begin(), v[i].end());
    Tensor<T> term = distillery::sum(gs[i] * Tensor<T>::from_vector(vt, gs[i].shape()));
    s = s.defined() ? s + term : term;
  }
  Inputs<T> hs;
  if (s.defined()) hs = distillery::grad<T>({s}, diff, {}, false, /*allow_unused=*/true);
  for (size_t i = 0; i < diff.size(); ++i)
    r.hvp.push_back(i < hs.size() && hs[i].defined() ? values_of(hs[i]) : zeros_like(diff[i]));
  return r;
}

inline double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// Element indices (per non-constant input) where derivatives are checked by differences.
using Picks = std::vector<std::vector<size_t>>;

// Central differences of phi at the picked elements of every non-constant input.
inline Vals central_differences(const Entry& e, const Vals& in, const Picks& picks, double eps,
                                const std::function<double(const Vals&)>& phi) {
  Vals out;
  for (size_t i = 0, k = 0; i < in.size(); ++i) {
    if (e.hint(i).constant) continue;
    std::vector<double> d;
    for (size_t j : picks[k++]) {
      Vals p = in, m = in;
      p[i][j] += eps;
      m[i][j] -= eps;
      d.push_back((phi(p) - phi(m)) / (2 * eps));
    }
    out.push_back(d);
  }
  return out;
}

inline std::vector<double> pick(const std::vector<double>& v, const std::vector<size_t>& idx) {
  std::vector<double> out;
  for (size_t j : idx) out.push_back(v[j]);
  return out;
}

// ---- input generation ----------------------------------------------------------------------
inline uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

inline Vals generate_inputs(const Entry& e, Generator& g) {
  Vals out;
  std::vector<double> taken;  // values of "distinct" inputs so far
  for (size_t i = 0; i < e.shapes.size(); ++i) {
    const Gen h = e.hint(i);
    std::vector<double> vals;
    for (int64_t k = 0; k < e.shapes[i].numel(); ++k) {
      if (h.mask) {
        vals.push_back(g.uniform() < 0.5 ? 0.0 : 1.0);
        continue;
      }
      for (int tries = 0;; ++tries) {
        if (tries > 100000) throw std::runtime_error("generate_inputs: hints cannot be met");
        double x = g.uniform(h.lo, h.hi);
        bool okv = std::abs(x) >= h.min_abs;
        for (double p : h.avoid) okv = okv && std::abs(x - p) >= h.margin;
        if (h.gap > 0)
          for (double t : taken) okv = okv && std::abs(x - t) >= h.gap;
        if (!okv) continue;
        vals.push_back(x);
        if (h.gap > 0) taken.push_back(x);
        break;
      }
    }
    out.push_back(vals);
  }
  return out;
}

inline std::vector<double> normals(Generator& g, size_t n) {
  std::vector<double> v(n);
  for (auto& x : v) x = g.normal();
  return v;
}

// ---- the checks ----------------------------------------------------------------------------
struct Tolerances {
  double value_atol = 1e-10, value_rtol = 1e-10;  // double vs the reference
  double fd1_eps = 1e-6, fd1_tol = 1e-6;          // first order
  double fd2_eps = 1e-5, fd2_tol = 1e-5;          // second order
  double layout_tol = 1e-10;                      // non-contiguous vs contiguous inputs
};

// Each input in turn replaced by an undefined tensor: the entry must throw distillery::Error
// "...: undefined tensor" (the boundary check of the first op that receives it, ops/common.hpp
// check_inputs, or Tensor's own metadata check), never crash or throw anything else. No error is
// accepted too: the input may be optional (a bias) or unused by the entry. The exact op name of
// the message is checked by tests/ops/test_bad_inputs.cpp.
inline void check_undefined_inputs(Report& rep, const Entry& e, const Vals& in) {
  for (size_t k = 0; k < in.size(); ++k) {
    Inputs<double> xs;
    for (size_t i = 0; i < in.size(); ++i)
      xs.push_back(i == k ? Tensor<double>()
                          : make_input<double>(in[i], e.shapes[i], Layout::contiguous));
    ++rep.checks;
    std::string msg;
    try {
      e.fn(xs);
      continue;
    } catch (const distillery::Error& err) {
      msg = err.what();
    } catch (const std::exception& err) {
      msg = std::string("not a distillery::Error: ") + err.what();
    }
    if (msg.find(": undefined tensor") == std::string::npos)
      rep.failures.push_back("undefined input " + std::to_string(k) +
                             ": expected \"<op>: undefined tensor\", got \"" + msg + "\"");
  }
}

inline Report check_entry(const Entry& e, uint64_t seed = 20240601, Tolerances tol = {}) {
  Report rep;
  rep.label = e.label();
  try {
    Generator gen(seed ^ fnv1a(e.label()));
    const Vals in = generate_inputs(e, gen);
    check_undefined_inputs(rep, e, in);

    // value in double, against the independent reference
    const Result base = evaluate<double>(e, in, Layout::contiguous, Order::value);
    if (e.reference) {
      Args args;
      for (size_t i = 0; i < in.size(); ++i)
        args.emplace_back(Dims(e.shapes[i].begin(), e.shapes[i].end()), in[i]);
      Arr want = e.reference(args);
      compare_shape(rep, "output vs reference", base.shape, Shape(want.shape));
      compare(rep, "value vs reference", base.value, want.v, tol.value_atol, tol.value_rtol);
    }

    std::vector<double> w;
    Vals v;
    Result second;
    std::vector<size_t> diff_input;  // entry input index of each differentiable input
    auto input = [&](size_t k) { return "input " + std::to_string(diff_input[k]); };
    if (e.differentiable) {
      w = normals(gen, base.value.size());
      Picks picks;  // every element, or fd_samples random ones for large inputs
      for (size_t i = 0; i < in.size(); ++i) {
        if (e.hint(i).constant) continue;
        diff_input.push_back(i);
        v.push_back(normals(gen, in[i].size()));
        std::vector<size_t> idx;
        for (size_t j = 0; j < in[i].size(); ++j) idx.push_back(j);
        if (e.fd_samples > 0 && in[i].size() > size_t(e.fd_samples)) {
          for (size_t j = 0; j < size_t(e.fd_samples); ++j)  // partial Fisher-Yates
            std::swap(idx[j], idx[j + gen.next_u64() % (idx.size() - j)]);
          idx.resize(e.fd_samples);
        }
        picks.push_back(idx);
      }
      // first order against central differences of L(x) = Σ f(x)·w
      const Result first = evaluate<double>(e, in, Layout::contiguous, Order::first, w);
      compare(rep, "value while recording a graph", first.value, base.value, 0, 0);
      auto loss = [&](const Vals& x) {
        distillery::NoGradGuard ng;
        return dot(evaluate<double>(e, x, Layout::contiguous, Order::value).value, w);
      };
      Vals fd1 = central_differences(e, in, picks, tol.fd1_eps, loss);
      for (size_t i = 0; i < fd1.size(); ++i)
        compare(rep, "first-order gradient of " + input(i), pick(first.grad[i], picks[i]), fd1[i],
                tol.fd1_tol, tol.fd1_tol);
      // second order: ∇(∇L·v) against central differences of ∇L·v
      second = evaluate<double>(e, in, Layout::contiguous, Order::second, w, v);
      for (size_t i = 0; i < fd1.size(); ++i)
        compare(rep, "create_graph gradient of " + input(i), second.grad[i], first.grad[i], 1e-12,
                1e-12);
      auto grad_dot_v = [&](const Vals& x) {
        Result r = evaluate<double>(e, x, Layout::contiguous, Order::first, w);
        double s = 0;
        for (size_t i = 0; i < r.grad.size(); ++i) s += dot(r.grad[i], v[i]);
        return s;
      };
      Vals fd2 = central_differences(e, in, picks, tol.fd2_eps, grad_dot_v);
      for (size_t i = 0; i < fd2.size(); ++i)
        compare(rep, "second-order (Hessian-vector) of " + input(i), pick(second.hvp[i], picks[i]),
                fd2[i], tol.fd2_tol, tol.fd2_tol);
    } else {
      // a value-only op records no graph even when its inputs require grad
      Inputs<double> xs;
      for (size_t i = 0; i < in.size(); ++i)
        xs.push_back(make_input<double>(in[i], e.shapes[i], Layout::contiguous).requires_grad_());
      ++rep.checks;
      if (e.fn(xs).requires_grad()) rep.failures.push_back("value-only op recorded a graph");
    }

    // float against double
    const Order ord = e.differentiable ? Order::second : Order::value;
    const Result fl = evaluate<float>(e, in, Layout::contiguous, ord, w, v);
    compare_shape(rep, "float output", fl.shape, base.shape);
    compare(rep, "float value", fl.value, base.value, e.float_tol, e.float_tol);
    for (size_t i = 0; i < second.grad.size(); ++i) {
      compare(rep, "float gradient of " + input(i), fl.grad[i], second.grad[i], e.float_tol,
              e.float_tol);
      compare(rep, "float Hessian-vector of " + input(i), fl.hvp[i], second.hvp[i],
              10 * e.float_tol, 10 * e.float_tol);
    }

    // non-contiguous inputs: same value and derivatives
    for (Layout l : {Layout::transposed, Layout::strided}) {
      bool any = false;
      for (const auto& s : e.shapes) any = any || layout_applies(s, l);
      if (!e.layouts || !any) continue;
      const std::string tag = std::string(layout_name(l)) + " inputs: ";
      const Result r = evaluate<double>(e, in, l, ord, w, v);
      compare_shape(rep, tag + "output", r.shape, base.shape);
      compare(rep, tag + "value", r.value, base.value, tol.layout_tol, tol.layout_tol);
      for (size_t i = 0; i < second.grad.size(); ++i) {
        compare(rep, tag + "gradient of " + input(i), r.grad[i], second.grad[i], tol.layout_tol,
                tol.layout_tol);
        compare(rep, tag + "Hessian-vector of " + input(i), r.hvp[i], second.hvp[i], tol.layout_tol,
                tol.layout_tol);
      }
    }
  } catch (const std::exception& ex) {
    rep.failures.push_back(std::string("threw: ") + ex.what());
  }
  return rep;
}

}  // namespace dtest
