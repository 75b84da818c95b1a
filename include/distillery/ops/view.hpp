// ops/view.hpp — movement ops: views over the same storage, no data copied.
//
// reshape/view, permute/transpose, unsqueeze/squeeze, expand, narrow/slice/select, and the two
// copies contiguous/clone. Each backward rule is itself a movement op (or sum_to for expand),
// so every rule is differentiable:
//   reshape ↔ reshape,  permute ↔ inverse permute,  expand → sum_to,
//   slice → slice_scatter (zeros with g written into the slice) → slice.
#pragma once
#include <numeric>

#include "common.hpp"

namespace distillery {

template <class T>
Tensor<T> sum_to(const Tensor<T>& g, const Shape& shape);  // ops/reduce.hpp

namespace detail {
// Resolves one -1 in a requested shape against numel.
inline Shape infer_shape(const Shape& req, int64_t numel, const Shape& from, const char* op) {
  Shape s = req;
  int neg = -1;
  int64_t known = 1;
  for (int i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      check(neg < 0, op, "only one dimension can be -1, got ", req);
      neg = i;
    } else {
      check(s[i] >= 0, op, "invalid extent in shape ", req);
      known = checked_mul(known, s[i], op);
    }
  }
  if (neg >= 0) {
    check(known != 0 && numel % known == 0, op, "shape ", req, " is invalid for input of shape ",
          from);
    s[neg] = numel / known;
  }
  check(checked_numel(s, op) == numel, op, "shape ", req, " is invalid for input of shape ",
        from, " (", numel, " elements)");
  return s;
}
}  // namespace detail

// Alias of `a` with new geometry, recorded as op `name` with backward rule `fn` (input grad).
template <class T, class Fn>
Tensor<T> make_view(const Tensor<T>& a, const Shape& shape, const Strides& strides,
                    int64_t offset, const char* name, Fn fn) {
  Tensor<T> out = a.alias(shape, strides, offset);
  if (needs_grad({&a}))
    attach<T>(
        out, name, {&a}, [fn](const Tensor<T>& g) { return std::vector<Tensor<T>>{fn(g)}; },
        Saves::nothing);
  return out;
}

// Copy of `a` into fresh contiguous memory; gradient passes through unchanged.
template <class T>
Tensor<T> clone(const Tensor<T>& a) {
  check_inputs("clone", a);
  Tensor<T> out = Tensor<T>::empty(a.shape(), a.device());
  kernels<T>(a.device()).copy(a.base_ptr(), a.view(), out.base_ptr(), out.view());
  if (needs_grad({&a}))
    attach<T>(
        out, "clone", {&a}, [](const Tensor<T>& g) { return std::vector<Tensor<T>>{g}; },
        Saves::nothing);
  return out;
}

template <class T>
Tensor<T> contiguous(const Tensor<T>& a) {
  check_inputs("contiguous", a);
  return a.is_contiguous() ? a : clone(a);
}

// reshape: a view when the data is contiguous, a copy otherwise. One extent may be -1.
template <class T>
Tensor<T> reshape(const Tensor<T>& a, const Shape& req) {
  check_inputs("reshape", a);
  Shape s = detail::infer_shape(req, a.numel(), a.shape(), "reshape");
  Tensor<T> c = contiguous(a);
  Shape from = a.shape();
  return make_view(c, s, contiguous_strides(s), c.storage_offset(), "reshape",
                   [from](const Tensor<T>& g) { return reshape(g, from); });
}

// view: like reshape but never copies; throws for non-contiguous input.
template <class T>
Tensor<T> view(const Tensor<T>& a, const Shape& req) {
  check_inputs("view", a);
  check(a.is_contiguous(), "view", "input of shape ", a.shape(), " with strides ", a.strides(),
        " is not contiguous; use reshape()");
  return rethrow_as("view", [&] { return reshape(a, req); });
}

template <class T>
Tensor<T> flatten(const Tensor<T>& a, int64_t start = 0, int64_t end = -1) {
  check_inputs("flatten", a);
  if (a.dim() == 0) return reshape(a, Shape{1});
  int s = normalize_dim(start, a.dim(), "flatten"), e = normalize_dim(end, a.dim(), "flatten");
  check(s <= e, "flatten", "start dim ", start, " after end dim ", end);
  Shape out;
  for (int i = 0; i < s; ++i) out.push_back(a.shape()[i]);
  int64_t m = 1;
  for (int i = s; i <= e; ++i) m *= a.shape()[i];
  out.push_back(m);
  for (int i = e + 1; i < a.dim(); ++i) out.push_back(a.shape()[i]);
  return reshape(a, out);
}

template <class T>
Tensor<T> permute(const Tensor<T>& a, const std::vector<int64_t>& order) {
  check_inputs("permute", a);
  const int n = a.dim();
  check(static_cast<int>(order.size()) == n, "permute", "order has ", order.size(),
        " entries for a tensor of shape ", a.shape());
  Shape s, st;
  std::vector<int64_t> inv(n, -1);
  for (int i = 0; i < n; ++i) {
    int d = normalize_dim(order[i], n, "permute");
    check(inv[d] < 0, "permute", "repeated dim ", order[i]);
    inv[d] = i;
    s.push_back(a.shape()[d]);
    st.push_back(a.strides()[d]);
  }
  return make_view(a, s, st, a.storage_offset(), "permute",
                   [inv](const Tensor<T>& g) { return permute(g, inv); });
}

template <class T>
Tensor<T> transpose(const Tensor<T>& a, int64_t d0, int64_t d1) {
  check_inputs("transpose", a);
  const int n = a.dim();
  int x = normalize_dim(d0, n, "transpose"), y = normalize_dim(d1, n, "transpose");
  if (n < 2 || x == y) return a;
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::swap(order[x], order[y]);
  return permute(a, order);
}

template <class T>
Tensor<T> unsqueeze(const Tensor<T>& a, int64_t d) {
  check_inputs("unsqueeze", a);
  int k = normalize_dim(d, a.dim() + 1, "unsqueeze");
  Shape s = a.shape(), st = a.strides();
  int64_t stride = k < a.dim() ? a.strides()[k] * a.shape()[k] : 1;
  s.insert(k, 1);
  st.insert(k, stride);
  Shape from = a.shape();
  return make_view(a, s, st, a.storage_offset(), "unsqueeze",
                   [from](const Tensor<T>& g) { return reshape(g, from); });
}

template <class T>
Tensor<T> squeeze(const Tensor<T>& a, int64_t d) {
  check_inputs("squeeze", a);
  if (a.dim() == 0) return a;
  int k = normalize_dim(d, a.dim(), "squeeze");
  if (a.shape()[k] != 1) return a;
  Shape s = a.shape(), st = a.strides();
  s.erase(k);
  st.erase(k);
  Shape from = a.shape();
  return make_view(a, s, st, a.storage_offset(), "squeeze",
                   [from](const Tensor<T>& g) { return reshape(g, from); });
}

template <class T>
Tensor<T> squeeze(const Tensor<T>& a) {
  check_inputs("squeeze", a);
  Shape s;
  for (int i = 0; i < a.dim(); ++i)
    if (a.shape()[i] != 1) s.push_back(a.shape()[i]);
  return s == a.shape() ? a : reshape(a, s);
}

// expand: broadcast to `shape` without copying (-1 keeps an extent).
template <class T>
Tensor<T> expand(const Tensor<T>& a, const Shape& req) {
  check_inputs("expand", a);
  Shape shape = req;
  const int n = shape.size(), k = a.dim();
  check(n >= k, "expand", "cannot expand shape ", a.shape(), " to ", req);
  for (int i = 0; i < k; ++i)
    if (shape[n - k + i] == -1) shape[n - k + i] = a.shape()[i];
  if (shape == a.shape()) return a;
  checked_numel(shape, "expand");
  View v = broadcast_view(a, shape, "expand");
  Shape from = a.shape();
  return make_view(a, shape, v.strides, a.storage_offset(), "expand",
                   [from](const Tensor<T>& g) { return sum_to(g, from); });
}

template <class T>
Tensor<T> slice(const Tensor<T>& a, int64_t dim, int64_t start, int64_t end, int64_t step = 1);

// The adjoint of slice: a zero tensor of `shape` with g written into the sliced positions.
template <class T>
Tensor<T> slice_scatter_zeros(const Tensor<T>& g, const Shape& shape, int d, int64_t start,
                              int64_t step) {
  check_inputs("slice_scatter_zeros", g);
  Tensor<T> out = Tensor<T>::zeros(shape, g.device());
  View dst{g.shape(), out.strides(), start * out.strides()[d]};
  dst.strides[d] *= step;
  kernels<T>(g.device()).copy(g.base_ptr(), g.view(), out.base_ptr(), dst);
  if (needs_grad({&g})) {
    int64_t end = start + step * (g.shape()[d] - 1) + 1;
    attach<T>(out, "slice_backward", {&g}, [d, start, end, step](const Tensor<T>& gg) {
      return std::vector<Tensor<T>>{slice(gg, d, start, end, step)};
    }, Saves::nothing);
  }
  return out;
}

// slice along dim: elements start, start+step, ... < end (negative start/end count from the end,
// out-of-range values are clamped, as in Python).
template <class T>
Tensor<T> slice(const Tensor<T>& a, int64_t dim, int64_t start, int64_t end, int64_t step) {
  check_inputs("slice", a);
  int d = normalize_dim(dim, a.dim(), "slice");
  check(step > 0, "slice", "step must be positive, got ", step);
  const int64_t n = a.shape()[d];
  if (start < 0) start += n;
  if (end < 0) end += n;
  start = std::min(std::max<int64_t>(start, 0), n);
  end = std::min(std::max<int64_t>(end, start), n);
  Shape s = a.shape(), st = a.strides();
  s[d] = (end - start + step - 1) / step;
  st[d] *= step;
  Shape from = a.shape();
  return make_view(a, s, st, a.storage_offset() + start * a.strides()[d], "slice",
                   [from, d, start, step](const Tensor<T>& g) {
                     return slice_scatter_zeros(g, from, d, start, step);
                   });
}

template <class T>
Tensor<T> narrow(const Tensor<T>& a, int64_t dim, int64_t start, int64_t length) {
  check_inputs("narrow", a);
  int d = normalize_dim(dim, a.dim(), "narrow");
  const int64_t n = a.shape()[d];
  if (start < 0) start += n;
  check(start >= 0 && length >= 0 && start + length <= n, "narrow", "start ", start,
        " + length ", length, " out of range for dim ", d, " of shape ", a.shape());
  return slice(a, d, start, start + length, 1);
}

template <class T>
Tensor<T> select(const Tensor<T>& a, int64_t dim, int64_t index) {
  check_inputs("select", a);
  int d = normalize_dim(dim, a.dim(), "select");
  const int64_t n = a.shape()[d];
  check(index >= -n && index < n, "select", "index ", index, " out of range for dim ", d,
        " of shape ", a.shape());
  if (index < 0) index += n;
  return squeeze(narrow(a, d, index, 1), d);
}

}  // namespace distillery
