// tests/ops/reference.hpp — independent reference implementations for the op table.
//
// Plain loops over std::vector<double>, written without any Distillery op or kernel, so the
// table's value check compares the engine against code that shares nothing with it. An `Arr`
// is a row-major array (shape + values); helpers cover the recurring patterns:
//   unary(f)               elementwise on input 0
//   binary(f)              numpy broadcasting of inputs 0 and 1
//   reduce(dims, keep, f)  f(the elements of one reduced group) for every group
//   along(dim, f)          f(one line along dim) -> a line of any length (sort, topk, softmax)
//   matmul(a, b)           torch.matmul semantics (1-D promotion, batch broadcasting)
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <numeric>
#include <stdexcept>
#include <vector>

namespace dtest {

using Dims = std::vector<int64_t>;

inline int64_t numel_of(const Dims& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

// Row-major multi-index <-> flat offset.
inline Dims unravel(int64_t flat, const Dims& shape) {
  Dims idx(shape.size());
  for (int i = static_cast<int>(shape.size()) - 1; i >= 0; --i) {
    idx[i] = shape[i] ? flat % shape[i] : 0;
    flat = shape[i] ? flat / shape[i] : 0;
  }
  return idx;
}
inline int64_t ravel(const Dims& idx, const Dims& shape) {
  int64_t f = 0;
  for (size_t i = 0; i < shape.size(); ++i) f = f * shape[i] + idx[i];
  return f;
}

struct Arr {
  Dims shape;
  std::vector<double> v;
  Arr() = default;
  Arr(Dims s, std::vector<double> vals) : shape(std::move(s)), v(std::move(vals)) {}
  explicit Arr(Dims s, double fill = 0) : shape(std::move(s)), v(numel_of(shape), fill) {}
  int64_t numel() const { return static_cast<int64_t>(v.size()); }
  int dim() const { return static_cast<int>(shape.size()); }
  double& at(const Dims& idx) { return v[ravel(idx, shape)]; }
  double at(const Dims& idx) const { return v[ravel(idx, shape)]; }
};

using Args = std::vector<Arr>;
using RefFn = std::function<Arr(const Args&)>;

inline int norm_dim(int64_t d, int n) { return static_cast<int>(d < 0 ? d + n : d); }

namespace ref {

inline RefFn unary(std::function<double(double)> f) {
  return [f](const Args& a) {
    Arr out(a[0].shape);
    for (int64_t i = 0; i < out.numel(); ++i) out.v[i] = f(a[0].v[i]);
    return out;
  };
}

inline Dims broadcast(const Dims& a, const Dims& b) {
  size_t n = std::max(a.size(), b.size());
  Dims out(n, 1);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i + a.size() >= n ? a[i + a.size() - n] : 1;
    int64_t db = i + b.size() >= n ? b[i + b.size() - n] : 1;
    if (da != db && da != 1 && db != 1) throw std::runtime_error("reference: bad broadcast");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

// Element of `a` that broadcasts to output index `idx`.
inline double bget(const Arr& a, const Dims& idx) {
  Dims j(a.shape.size());
  size_t off = idx.size() - a.shape.size();
  for (size_t i = 0; i < j.size(); ++i) j[i] = a.shape[i] == 1 ? 0 : idx[i + off];
  return a.at(j);
}

// out[i] = f(inputs broadcast together at i), for any number of inputs.
inline Arr nary(const Args& a, const std::function<double(const std::vector<double>&)>& f) {
  Dims s = a[0].shape;
  for (size_t k = 1; k < a.size(); ++k) s = broadcast(s, a[k].shape);
  Arr out(s);
  std::vector<double> xs(a.size());
  for (int64_t i = 0; i < out.numel(); ++i) {
    Dims idx = unravel(i, s);
    for (size_t k = 0; k < a.size(); ++k) xs[k] = bget(a[k], idx);
    out.v[i] = f(xs);
  }
  return out;
}

inline RefFn binary(std::function<double(double, double)> f) {
  return [f](const Args& a) {
    return nary({a[0], a[1]}, [&](const std::vector<double>& x) { return f(x[0], x[1]); });
  };
}

// Groups the elements of `a` by their index outside `dims`; out[group] = f(elements).
inline Arr reduce(const Arr& a, Dims dims, bool keepdim,
                  const std::function<double(const std::vector<double>&)>& f) {
  const int n = a.dim();
  if (dims.empty())
    for (int i = 0; i < n; ++i) dims.push_back(i);
  std::vector<bool> red(n, false);
  for (int64_t d : dims) red[norm_dim(d, n)] = true;
  Dims ks;  // keepdim shape
  for (int i = 0; i < n; ++i) ks.push_back(red[i] ? 1 : a.shape[i]);
  std::vector<std::vector<double>> groups(numel_of(ks));
  for (int64_t i = 0; i < a.numel(); ++i) {
    Dims idx = unravel(i, a.shape);
    for (int k = 0; k < n; ++k)
      if (red[k]) idx[k] = 0;
    groups[ravel(idx, ks)].push_back(a.v[i]);
  }
  Dims os;
  for (int i = 0; i < n; ++i)
    if (!red[i] || keepdim) os.push_back(ks[i]);
  Arr out(os);
  for (size_t g = 0; g < groups.size(); ++g) out.v[g] = f(groups[g]);
  return out;
}

// Applies f to every line of `a` along `dim`; f may return a line of a different length.
inline Arr along(const Arr& a, int64_t dim,
                 const std::function<std::vector<double>(const std::vector<double>&)>& f) {
  const int d = norm_dim(dim, a.dim());
  Dims outer_shape = a.shape;
  outer_shape[d] = 1;
  Arr out;
  for (int64_t o = 0; o < numel_of(outer_shape); ++o) {
    Dims idx = unravel(o, outer_shape);
    std::vector<double> line;
    for (int64_t j = 0; j < a.shape[d]; ++j) {
      idx[d] = j;
      line.push_back(a.at(idx));
    }
    std::vector<double> r = f(line);
    if (o == 0) {
      Dims s = a.shape;
      s[d] = static_cast<int64_t>(r.size());
      out = Arr(s);
    }
    for (size_t j = 0; j < r.size(); ++j) {
      idx[d] = static_cast<int64_t>(j);
      out.at(idx) = r[j];
    }
  }
  return out;
}

// Drops dim d (which must have extent 1).
inline Arr squeeze_dim(Arr a, int64_t d) {
  a.shape.erase(a.shape.begin() + norm_dim(d, a.dim()));
  return a;
}

// out[...] = a[perm-applied index]
inline Arr permute(const Arr& a, const Dims& order) {
  Dims s;
  for (int64_t o : order) s.push_back(a.shape[o]);
  Arr out(s);
  for (int64_t i = 0; i < out.numel(); ++i) {
    Dims oi = unravel(i, s), ai(a.dim());
    for (size_t k = 0; k < order.size(); ++k) ai[order[k]] = oi[k];
    out.v[i] = a.at(ai);
  }
  return out;
}

inline Arr transpose(const Arr& a, int64_t x, int64_t y) {
  Dims order(a.dim());
  std::iota(order.begin(), order.end(), 0);
  std::swap(order[norm_dim(x, a.dim())], order[norm_dim(y, a.dim())]);
  return permute(a, order);
}

// Python-style slice along dim with positive step (start/end already in range).
inline Arr slice(const Arr& a, int64_t dim, int64_t start, int64_t end, int64_t step) {
  const int d = norm_dim(dim, a.dim());
  Dims s = a.shape;
  s[d] = (end - start + step - 1) / step;
  Arr out(s);
  for (int64_t i = 0; i < out.numel(); ++i) {
    Dims idx = unravel(i, s);
    idx[d] = start + idx[d] * step;
    out.v[i] = a.at(idx);
  }
  return out;
}

// cat along dim.
inline Arr cat(const Args& xs, int64_t dim) {
  const int d = norm_dim(dim, xs[0].dim());
  Dims s = xs[0].shape;
  s[d] = 0;
  for (const Arr& x : xs) s[d] += x.shape[d];
  Arr out(s);
  int64_t off = 0;
  for (const Arr& x : xs) {
    for (int64_t i = 0; i < x.numel(); ++i) {
      Dims idx = unravel(i, x.shape);
      idx[d] += off;
      out.at(idx) = x.v[i];
    }
    off += x.shape[d];
  }
  return out;
}

// torch.matmul: 1-D operands promoted, batch dims broadcast.
inline Arr matmul(Arr a, Arr b) {
  const bool a1 = a.dim() == 1, b1 = b.dim() == 1;
  if (a1) a.shape.insert(a.shape.begin(), 1);
  if (b1) b.shape.push_back(1);
  const int na = a.dim(), nb = b.dim();
  const int64_t M = a.shape[na - 2], K = a.shape[na - 1], N = b.shape[nb - 1];
  if (b.shape[nb - 2] != K) throw std::runtime_error("reference matmul: inner dims differ");
  Dims ba(a.shape.begin(), a.shape.end() - 2), bb(b.shape.begin(), b.shape.end() - 2);
  Dims batch = broadcast(ba, bb);
  Dims os = batch;
  os.push_back(M);
  os.push_back(N);
  Arr out(os);
  for (int64_t i = 0; i < out.numel(); ++i) {
    Dims idx = unravel(i, os);
    Dims ia(idx.begin(), idx.end() - 2), ib = ia;
    ia.push_back(0);
    ia.push_back(0);
    ib.push_back(0);
    ib.push_back(0);
    double acc = 0;
    for (int64_t k = 0; k < K; ++k) {
      ia[ia.size() - 2] = idx[idx.size() - 2];
      ia.back() = k;
      ib[ib.size() - 2] = k;
      ib.back() = idx.back();
      acc += bget(a, ia) * bget(b, ib);
    }
    out.v[i] = acc;
  }
  if (b1) out.shape.pop_back();
  if (a1) out.shape.erase(out.shape.end() - (b1 ? 1 : 2));
  return out;
}

// Reshape: same values, new shape.
inline Arr reshape(Arr a, Dims s) {
  a.shape = std::move(s);
  return a;
}

// Scalar (0-dim) result.
inline Arr scalar(double v) { return Arr(Dims{}, std::vector<double>{v}); }

inline double sum(const std::vector<double>& x) { return std::accumulate(x.begin(), x.end(), 0.0); }
inline double mean(const std::vector<double>& x) { return sum(x) / double(x.size()); }
inline double var(const std::vector<double>& x, int correction) {
  double m = mean(x), s = 0;
  for (double v : x) s += (v - m) * (v - m);
  return s / double(static_cast<int64_t>(x.size()) - correction);
}
inline double lse(const std::vector<double>& x) {
  double m = *std::max_element(x.begin(), x.end()), s = 0;
  for (double v : x) s += std::exp(v - m);
  return m + std::log(s);
}
inline std::vector<double> softmax(const std::vector<double>& x) {
  double l = lse(x);
  std::vector<double> y;
  for (double v : x) y.push_back(std::exp(v - l));
  return y;
}
inline std::vector<double> sorted(std::vector<double> x, bool descending) {
  std::stable_sort(x.begin(), x.end());
  if (descending) std::reverse(x.begin(), x.end());
  return x;
}
inline double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
inline double gelu_erf(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }
inline double gelu_tanh(double x) {
  const double k = std::sqrt(2.0 / 3.14159265358979323846);
  return 0.5 * x * (1.0 + std::tanh(k * (x + 0.044715 * x * x * x)));
}
inline double softplus(double x, double beta, double threshold) {
  return beta * x > threshold ? x : std::log(1.0 + std::exp(beta * x)) / beta;
}

}  // namespace ref
}  // namespace dtest
