// ops/reduce.hpp — reductions over any set of dims, with keepdim.
//
// Primitive: sum (rule: expand the gradient back, which is differentiable). Everything else is
// composed from differentiable ops, so higher orders come for free:
//   mean = sum / n;  var = sum((x - mean)²) / (n - correction);  norm = sqrt(sum(x²));
//   logsumexp = m + log(sum(exp(x - m))) with m = max(x) detached;
//   max/min(dim) = gather(x, dim, argmax/argmin)  (indices carry no gradient);
//   sort/topk values = gather(x, dim, indices).
// sum_to(g, shape) undoes broadcasting (the one "unbroadcast" helper of the library).
#pragma once
#include <algorithm>
#include <utility>

#include "view.hpp"

namespace distillery {

namespace detail {
// Sorted, unique, normalised dims; empty `dims` means all dims.
inline std::vector<int> reduce_dims(const std::vector<int64_t>& dims, int ndim, const char* op) {
  std::vector<int> out;
  if (dims.empty()) {
    for (int i = 0; i < ndim; ++i) out.push_back(i);
    return out;
  }
  for (int64_t d : dims) out.push_back(normalize_dim(d, ndim, op));
  std::sort(out.begin(), out.end());
  for (size_t i = 1; i < out.size(); ++i)  // as PyTorch: sum(x, {0, 0}) is an error
    check(out[i] != out[i - 1], op, "dim ", out[i], " appears multiple times in the list of dims");
  return out;
}

inline Shape reduced_shape(const Shape& s, const std::vector<int>& dims, bool keepdim) {
  Shape out;
  for (int i = 0; i < s.size(); ++i) {
    bool r = std::find(dims.begin(), dims.end(), i) != dims.end();
    if (!r) out.push_back(s[i]);
    else if (keepdim) out.push_back(1);
  }
  return out;
}

// Graph-free reduction of `a` over `dims` (sorted), result with keepdim shape.
template <class T>
Tensor<T> reduce_raw(ReduceOp op, const Tensor<T>& a, const std::vector<int>& dims) {
  Tensor<T> cur = raw_contiguous(a);
  Shape shape = a.shape();
  // reduce blocks of consecutive dims, last block first
  size_t k = dims.size();
  while (k > 0) {
    size_t j = k - 1;
    while (j > 0 && dims[j - 1] == dims[j] - 1) --j;
    int lo = dims[j], hi = dims[k - 1];
    int64_t outer = 1, r = 1, inner = 1;
    for (int i = 0; i < lo; ++i) outer *= shape[i];
    for (int i = lo; i <= hi; ++i) r *= shape[i];
    for (int i = hi + 1; i < shape.size(); ++i) inner *= shape[i];
    for (int i = lo; i <= hi; ++i) shape[i] = 1;
    Tensor<T> out = Tensor<T>::empty(shape, a.device());
    if (r == 0) kernels<T>(a.device()).fill(out.data_ptr(), out.numel(),
                                            op == ReduceOp::prod ? T(1) : T(0));
    else kernels<T>(a.device()).reduce(op, cur.data_ptr(), outer, r, inner, out.data_ptr());
    cur = out;
    k = j;
  }
  if (dims.empty()) return cur.alias(shape, contiguous_strides(shape), cur.storage_offset());
  return cur;
}
}  // namespace detail

// sum over `dims` (all when empty).
template <class T>
Tensor<T> sum(const Tensor<T>& a, const std::vector<int64_t>& dims = {}, bool keepdim = false) {
  check_inputs("sum", a);
  auto ds = detail::reduce_dims(dims, a.dim(), "sum");
  Tensor<T> kd = detail::reduce_raw(ReduceOp::sum, a, ds);
  Shape out_shape = detail::reduced_shape(a.shape(), ds, keepdim);
  Tensor<T> out = kd.alias(out_shape, contiguous_strides(out_shape), kd.storage_offset());
  if (needs_grad({&a})) {
    Shape in = a.shape(), kshape = kd.shape();
    attach<T>(out, "sum", {&a}, [in, kshape](const Tensor<T>& g) {
      return std::vector<Tensor<T>>{expand(reshape(g, kshape), in)};
    }, Saves::nothing);
  }
  return out;
}

// Sums g over broadcast dims so that the result has `shape` (undoes broadcasting).
template <class T>
Tensor<T> sum_to(const Tensor<T>& g, const Shape& shape) {
  check_inputs("sum_to", g);
  if (g.shape() == shape) return g;
  const int n = g.dim(), k = shape.size();
  check(n >= k, "sum_to", "cannot reduce shape ", g.shape(), " to ", shape);
  std::vector<int64_t> dims;
  for (int i = 0; i < n; ++i) {
    int j = i - (n - k);
    if (j < 0 || (shape[j] == 1 && g.shape()[i] != 1)) dims.push_back(i);
    else check(shape[j] == g.shape()[i], "sum_to", "cannot reduce shape ", g.shape(), " to ", shape);
  }
  Tensor<T> s = dims.empty() ? g : sum(g, dims, true);
  return reshape(s, shape);
}

template <class T>
Tensor<T> mean(const Tensor<T>& a, const std::vector<int64_t>& dims = {}, bool keepdim = false) {
  check_inputs("mean", a);
  auto ds = detail::reduce_dims(dims, a.dim(), "mean");
  int64_t n = 1;
  for (int d : ds) n *= a.shape()[d];
  return mul_scalar(sum(a, dims, keepdim), T(1) / static_cast<T>(std::max<int64_t>(n, 1)));
}

// Variance with Bessel's correction by default (correction = 1), as torch.var.
template <class T>
Tensor<T> var(const Tensor<T>& a, const std::vector<int64_t>& dims = {}, bool keepdim = false,
              int64_t correction = 1) {
  check_inputs("var", a);
  auto ds = detail::reduce_dims(dims, a.dim(), "var");
  int64_t n = 1;
  for (int d : ds) n *= a.shape()[d];
  check(n - correction > 0, "var", "not enough elements (", n, ") for correction ", correction);
  Tensor<T> c = sub(a, mean(a, dims, true));
  return mul_scalar(sum(square(c), dims, keepdim), T(1) / static_cast<T>(n - correction));
}

template <class T>
Tensor<T> std_dev(const Tensor<T>& a, const std::vector<int64_t>& dims = {}, bool keepdim = false,
                  int64_t correction = 1) {
  check_inputs("std_dev", a);
  return sqrt(var(a, dims, keepdim, correction));
}

// p-norm over dims (p = 2 by default; p = 1 sums |x|). n = s^(1/p) with s = Σ|x|^p; the rule
// dn/ds = n / (p·s) is taken as 0 where s = 0, so a zero vector gets gradient 0 (torch.norm's
// subgradient) instead of 0/0 = NaN, at every order.
template <class T>
Tensor<T> norm(const Tensor<T>& a, double p = 2, const std::vector<int64_t>& dims = {},
               bool keepdim = false) {
  check_inputs("norm", a);
  check(p > 0, "norm", "p must be positive, got ", p);
  if (p == 1) return sum(abs(a), dims, keepdim);
  Tensor<T> s = p == 2 ? sum(square(a), dims, keepdim)
                       : sum(pow_scalar(abs(a), T(p)), dims, keepdim);
  const T inv_p = T(1.0 / p);
  return unary_op(
      p == 2 ? UnaryOp::sqrt : UnaryOp::pow_scalar, s, "norm_root",
      [inv_p](const Tensor<T>& g, const Tensor<T>& x, const SavedOutput<T>& y) {
        Tensor<T> safe = where(eq_scalar(x.detach(), T(0)),
                               Tensor<T>::full({}, std::numeric_limits<T>::infinity(), x.device()),
                               x);
        return mul(g, mul_scalar(div(y.get(), safe), inv_p));
      },
      p == 2 ? T(0) : inv_p);
}

// argmax/argmin along one dim (indices, no gradient).
template <class T>
Tensor<int64_t> arg_reduce(const Tensor<T>& a, int64_t dim, bool keepdim, bool is_max) {
  const char* op = is_max ? "argmax" : "argmin";
  check_inputs(op, a);
  check(a.numel() > 0, op, "empty tensor of shape ", a.shape());
  int d = normalize_dim(dim, a.dim(), op);
  Tensor<T> c = raw_contiguous(a);
  int64_t outer = 1, inner = 1, r = a.dim() ? a.shape()[d] : 1;
  for (int i = 0; i < d; ++i) outer *= a.shape()[i];
  for (int i = d + 1; i < a.dim(); ++i) inner *= a.shape()[i];
  Shape s = detail::reduced_shape(a.shape(), {d}, keepdim);
  auto out = Tensor<int64_t>::empty(s, a.device());
  kernels<T>(a.device()).arg_reduce(is_max, c.data_ptr(), outer, r, inner, out.data_ptr());
  return out;
}
template <class T>
Tensor<int64_t> argmax(const Tensor<T>& a, int64_t dim, bool keepdim = false) {
  check_inputs("argmax", a);
  return arg_reduce(a, dim, keepdim, true);
}
template <class T>
Tensor<int64_t> argmin(const Tensor<T>& a, int64_t dim, bool keepdim = false) {
  check_inputs("argmin", a);
  return arg_reduce(a, dim, keepdim, false);
}
template <class T>
Tensor<int64_t> argmax(const Tensor<T>& a) {
  check_inputs("argmax", a);
  return argmax(flatten(a.detach()), 0);
}

// max/min along dim: (values, indices); values are gather(x, dim, indices) so they carry grad.
template <class T>
std::pair<Tensor<T>, Tensor<int64_t>> max(const Tensor<T>& a, int64_t dim, bool keepdim = false) {
  check_inputs("max", a);
  Tensor<int64_t> idx = arg_reduce(a, dim, true, true);
  Tensor<T> v = gather(a, dim, idx);
  if (!keepdim) return {squeeze(v, dim), squeeze(idx, dim)};
  return {v, idx};
}
template <class T>
std::pair<Tensor<T>, Tensor<int64_t>> min(const Tensor<T>& a, int64_t dim, bool keepdim = false) {
  check_inputs("min", a);
  Tensor<int64_t> idx = arg_reduce(a, dim, true, false);
  Tensor<T> v = gather(a, dim, idx);
  if (!keepdim) return {squeeze(v, dim), squeeze(idx, dim)};
  return {v, idx};
}
// max/min of all elements (a 0-dim tensor with gradient to the first maximal element).
template <class T>
Tensor<T> max(const Tensor<T>& a) {
  check_inputs("max", a);
  return reshape(max(flatten(a), 0).first, Shape{});
}
template <class T>
Tensor<T> min(const Tensor<T>& a) {
  check_inputs("min", a);
  return reshape(min(flatten(a), 0).first, Shape{});
}

// amax over several dims (graph-free values, used for numerically stable shifts).
template <class T>
Tensor<T> amax_detached(const Tensor<T>& a, const std::vector<int64_t>& dims, bool keepdim) {
  check_inputs("amax_detached", a);
  auto ds = detail::reduce_dims(dims, a.dim(), "amax");
  Tensor<T> kd = detail::reduce_raw(ReduceOp::max, a, ds);
  Shape s = detail::reduced_shape(a.shape(), ds, keepdim);
  return kd.alias(s, contiguous_strides(s), kd.storage_offset());
}

template <class T>
Tensor<T> logsumexp(const Tensor<T>& a, const std::vector<int64_t>& dims = {},
                    bool keepdim = false) {
  check_inputs("logsumexp", a);
  Tensor<T> m = amax_detached(a, dims, true);
  // guard rows that are all -inf: shift by 0 there
  m = where(eq_scalar(abs(m), std::numeric_limits<T>::infinity()), Tensor<T>::zeros({}, a.device()), m);
  Tensor<T> s = log(sum(exp(sub(a, m)), dims, true));
  Tensor<T> out = add(s, m);
  if (!keepdim) {
    auto ds = detail::reduce_dims(dims, a.dim(), "logsumexp");
    out = reshape(out, detail::reduced_shape(a.shape(), ds, false));
  }
  return out;
}

// Stable sort along dim: (values, indices). Values carry gradient through gather.
template <class T>
std::pair<Tensor<T>, Tensor<int64_t>> sort(const Tensor<T>& a, int64_t dim = -1,
                                           bool descending = false) {
  check_inputs("sort", a);
  if (a.dim() == 0) return {a, Tensor<int64_t>::zeros({}, a.device())};
  int d = normalize_dim(dim, a.dim(), "sort");
  Tensor<T> moved = raw_contiguous(transpose(a.detach(), d, -1));
  int64_t cols = moved.shape().back(), rows = cols ? moved.numel() / cols : 0;
  Tensor<T> vals = Tensor<T>::empty(moved.shape(), a.device());
  auto idx = Tensor<int64_t>::empty(moved.shape(), a.device());
  if (rows > 0)
    kernels<T>(a.device()).sort(moved.data_ptr(), rows, cols, descending, vals.data_ptr(),
                                idx.data_ptr());
  Tensor<int64_t> index = raw_contiguous(transpose(idx, d, -1));
  return {gather(a, d, index), index};
}

template <class T>
Tensor<int64_t> argsort(const Tensor<T>& a, int64_t dim = -1, bool descending = false) {
  check_inputs("argsort", a);
  return sort(a.detach(), dim, descending).second;
}

// k largest (or smallest) along dim, sorted: (values, indices).
template <class T>
std::pair<Tensor<T>, Tensor<int64_t>> topk(const Tensor<T>& a, int64_t k, int64_t dim = -1,
                                           bool largest = true) {
  check_inputs("topk", a);
  int d = normalize_dim(dim, a.dim(), "topk");
  check(k >= 0 && k <= a.shape()[d], "topk", "k = ", k, " out of range for dim ", d,
        " of shape ", a.shape());
  auto idx = raw_contiguous(narrow(sort(a.detach(), d, largest).second, d, 0, k));
  return {gather(a, d, idx), idx};
}

}  // namespace distillery
