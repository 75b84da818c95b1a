// ops/index.hpp — indexing and joining: gather/scatter_add, index_select/index_add, embedding,
// cat/stack/split/chunk, pad.
//
// Adjoint pairs make every rule differentiable:
//   gather  ↔ scatter_add      index_select ↔ index_add      cat → slices      pad → slice
// Index tensors are Tensor<int64_t> and carry no gradient. Out-of-range indices throw.
// gather / scatter_add take an index no larger than the input on the dims other than `dim`
// (PyTorch's rule): a smaller index reads (writes) the leading slice of those dims.
//
//   gather(x [B, C], 1, y [B, 1]) -> [B, 1]    gather(x [B, C], 1, i [b ≤ B, k]) -> [b, k]          embedding(W [V, D], ids [B, T]) -> [B, T, D]
#pragma once
#include "linalg.hpp"

namespace distillery {

namespace detail {
template <class T>
void check_index_geometry(const Tensor<T>& x, int d, const Tensor<int64_t>& idx, const char* op) {
  check(idx.dim() == x.dim(), op, "index of shape ", idx.shape(), " must have as many dims as ",
        "input of shape ", x.shape());
  for (int i = 0; i < x.dim(); ++i)
    check(i == d || idx.shape()[i] <= x.shape()[i], op, "index shape ", idx.shape(),
          " must not exceed input shape ", x.shape(), " except along dim ", d);
  check(idx.device() == x.device(), op, "index on ", idx.device(), ", input on ", x.device());
}
}  // namespace detail

template <class T>
Tensor<T> scatter_add(const Tensor<T>& base, int64_t dim, const Tensor<int64_t>& index,
                      const Tensor<T>& src);
template <class T>
Tensor<T> gather(const Tensor<T>& x, int64_t dim, const Tensor<int64_t>& index);

namespace detail {
// scatter_add(zeros(shape), d, index, src) without materialising and copying the zero base
// (gather's adjoint, e.g. every max-pool backward). index is contiguous and checked.
template <class T>
Tensor<T> scatter_add_zeros(const Shape& shape, int d, const Tensor<int64_t>& index,
                            const Tensor<T>& src) {
  Tensor<T> out = Tensor<T>::zeros(shape, src.device());
  Tensor<T> sc = raw_contiguous(src);
  kernels<T>(src.device()).scatter_add(out.data_ptr(), shape, index.data_ptr(), index.shape(),
                                       sc.data_ptr(), d);
  if (needs_grad({&src}))
    attach<T>(out, "scatter_add", {&src}, [d, index](const Tensor<T>& g) {
      return std::vector<Tensor<T>>{gather(g, d, index)};
    }, Saves::nothing);
  return out;
}
}  // namespace detail

// out[..i..] = x[.. index[..i..] ..] along dim.
template <class T>
Tensor<T> gather(const Tensor<T>& x, int64_t dim, const Tensor<int64_t>& index) {
  check_inputs("gather", x, index);
  int d = normalize_dim(dim, x.dim(), "gather");
  if (x.dim() == 0) return x;
  detail::check_index_geometry(x, d, index, "gather");
  Tensor<T> xc = raw_contiguous(x);
  Tensor<int64_t> ic = raw_contiguous(index);
  Tensor<T> out = Tensor<T>::empty(index.shape(), x.device());
  kernels<T>(x.device()).gather(xc.data_ptr(), x.shape(), ic.data_ptr(), index.shape(), d,
                                out.data_ptr());
  if (needs_grad({&x})) {
    Shape s = x.shape();
    attach<T>(out, "gather", {&x}, [s, d, ic](const Tensor<T>& g) {
      return std::vector<Tensor<T>>{detail::scatter_add_zeros(s, d, ic, g)};
    }, Saves::nothing);
  }
  return out;
}

// out = base, then out[.. index[..i..] ..] += src[..i..] along dim (out of place).
template <class T>
Tensor<T> scatter_add(const Tensor<T>& base, int64_t dim, const Tensor<int64_t>& index,
                      const Tensor<T>& src) {
  check_inputs("scatter_add", base, index, src);
  int d = normalize_dim(dim, base.dim(), "scatter_add");
  detail::check_index_geometry(base, d, index, "scatter_add");
  check(src.shape() == index.shape(), "scatter_add", "src shape ", src.shape(),
        " must equal index shape ", index.shape());
  Tensor<T> out = Tensor<T>::empty(base.shape(), base.device());
  kernels<T>(base.device()).copy(base.base_ptr(), base.view(), out.base_ptr(), out.view());
  Tensor<int64_t> ic = raw_contiguous(index);
  Tensor<T> sc = raw_contiguous(src);
  kernels<T>(base.device()).scatter_add(out.data_ptr(), base.shape(), ic.data_ptr(),
                                        index.shape(), sc.data_ptr(), d);
  if (needs_grad({&base, &src})) {
    bool nb = base.requires_grad(), ns = src.requires_grad();
    attach<T>(out, "scatter_add", {&base, &src}, [d, ic, nb, ns](const Tensor<T>& g) {
      return std::vector<Tensor<T>>{nb ? g : Tensor<T>(), ns ? gather(g, d, ic) : Tensor<T>()};
    }, Saves::nothing);
  }
  return out;
}

template <class T>
Tensor<T> index_add(const Tensor<T>& base, int64_t dim, const Tensor<int64_t>& index,
                    const Tensor<T>& src);

// out = x[..., index, ...] along dim; index is 1-D.
template <class T>
Tensor<T> index_select(const Tensor<T>& x, int64_t dim, const Tensor<int64_t>& index) {
  check_inputs("index_select", x, index);
  int d = normalize_dim(dim, x.dim(), "index_select");
  check(index.dim() == 1, "index_select", "index must be 1-D, got shape ", index.shape());
  check(index.device() == x.device(), "index_select", "index on ", index.device(), ", input on ",
        x.device());
  Shape s = x.shape();
  int64_t outer = 1, inner = 1, n = x.dim() ? x.shape()[d] : 1;
  for (int i = 0; i < d; ++i) outer *= s[i];
  for (int i = d + 1; i < x.dim(); ++i) inner *= s[i];
  Shape os = s;
  if (x.dim()) os[d] = index.numel();
  Tensor<T> xc = raw_contiguous(x);
  Tensor<int64_t> ic = raw_contiguous(index);
  Tensor<T> out = Tensor<T>::empty(os, x.device());
  kernels<T>(x.device()).index_select(xc.data_ptr(), outer, n, inner, ic.data_ptr(),
                                      index.numel(), out.data_ptr());
  if (needs_grad({&x})) {
    attach<T>(out, "index_select", {&x}, [s, d, ic](const Tensor<T>& g) {
      return std::vector<Tensor<T>>{index_add(Tensor<T>::zeros(s, g.device()), d, ic, g)};
    }, Saves::nothing);
  }
  return out;
}

// out = base; out[..., index[j], ...] += src[..., j, ...] along dim (out of place).
template <class T>
Tensor<T> index_add(const Tensor<T>& base, int64_t dim, const Tensor<int64_t>& index,
                    const Tensor<T>& src) {
  check_inputs("index_add", base, index, src);
  int d = normalize_dim(dim, base.dim(), "index_add");
  check(index.dim() == 1, "index_add", "index must be 1-D, got shape ", index.shape());
  check(index.device() == base.device(), "index_add", "index on ", index.device(), ", input on ",
        base.device());
  check_same_device(base, src, "index_add");
  Shape expect = base.shape();
  if (base.dim()) expect[d] = index.numel();
  check(src.shape() == expect, "index_add", "src shape ", src.shape(), " must be ", expect);
  Shape s = base.shape();
  int64_t outer = 1, inner = 1, n = base.dim() ? s[d] : 1;
  for (int i = 0; i < d; ++i) outer *= s[i];
  for (int i = d + 1; i < base.dim(); ++i) inner *= s[i];
  Tensor<T> out = Tensor<T>::empty(s, base.device());
  kernels<T>(base.device()).copy(base.base_ptr(), base.view(), out.base_ptr(), out.view());
  Tensor<int64_t> ic = raw_contiguous(index);
  Tensor<T> sc = raw_contiguous(src);
  kernels<T>(base.device()).index_add(out.data_ptr(), outer, n, inner, ic.data_ptr(),
                                      index.numel(), sc.data_ptr());
  if (needs_grad({&base, &src})) {
    bool nb = base.requires_grad(), ns = src.requires_grad();
    attach<T>(out, "index_add", {&base, &src}, [d, ic, nb, ns](const Tensor<T>& g) {
      return std::vector<Tensor<T>>{nb ? g : Tensor<T>(),
                                    ns ? index_select(g, d, ic) : Tensor<T>()};
    }, Saves::nothing);
  }
  return out;
}

// embedding(weight [V, D], ids [...]) -> [..., D]
template <class T>
Tensor<T> embedding(const Tensor<T>& weight, const Tensor<int64_t>& ids) {
  check_inputs("embedding", weight, ids);
  check(weight.dim() == 2, "embedding", "weight must be [V, D], got ", weight.shape());
  check(ids.device() == weight.device(), "embedding", "ids on ", ids.device(), ", weight on ",
        weight.device());
  Shape s = ids.shape();
  s.push_back(weight.shape()[1]);
  Tensor<int64_t> ic = raw_contiguous(ids);
  Tensor<int64_t> flat = ic.alias(Shape{ids.numel()}, Shape{1}, ic.storage_offset());
  return rethrow_as("embedding", [&] { return reshape(index_select(weight, 0, flat), s); });
}

// cat along dim; all other extents must agree.
template <class T>
Tensor<T> cat(const std::vector<Tensor<T>>& xs, int64_t dim = 0) {
  check_inputs("cat", xs);
  check(!xs.empty(), "cat", "expected a non-empty list of tensors");
  const Tensor<T>& x0 = xs[0];
  int d = normalize_dim(dim, x0.dim(), "cat");
  Shape s = x0.shape();
  int64_t total = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const Shape& si = xs[i].shape();
    check(si.size() == s.size(), "cat", "tensor ", i, " has shape ", si, ", tensor 0 has ", s);
    for (int k = 0; k < s.size(); ++k)
      check(k == d || si[k] == s[k], "cat", "tensor ", i, " has shape ", si, ", tensor 0 has ",
            s, " (only dim ", d, " may differ)");
    check_same_device(xs[i], x0, "cat");
    total += si[d];
  }
  s[d] = total;
  Tensor<T> out = Tensor<T>::empty(s, x0.device());
  std::vector<int64_t> offs;
  int64_t off = 0;
  for (const auto& x : xs) {
    View dst{x.shape(), out.strides(), off * out.strides()[d]};
    kernels<T>(x.device()).copy(x.base_ptr(), x.view(), out.base_ptr(), dst);
    offs.push_back(off);
    off += x.shape()[d];
  }
  bool any = false;
  for (const auto& x : xs) any = any || x.requires_grad();
  if (any && is_grad_enabled()) {
    auto node = std::make_shared<Node<T>>();
    node->name = "cat";
    std::vector<int64_t> lens;
    for (const auto& x : xs) {
      node->next.push_back(grad_edge(x));
      lens.push_back(x.shape()[d]);
    }
    node->backward = [d, offs, lens](const Tensor<T>& g) {
      std::vector<Tensor<T>> r;
      for (size_t i = 0; i < offs.size(); ++i) r.push_back(narrow(g, d, offs[i], lens[i]));
      return r;
    };
    node->shape = out.shape();
    out.impl()->requires_grad = true;
    out.impl()->node = std::move(node);
  }
  return out;
}

template <class T>
Tensor<T> stack(const std::vector<Tensor<T>>& xs, int64_t dim = 0) {
  check_inputs("stack", xs);
  check(!xs.empty(), "stack", "expected a non-empty list of tensors");
  int d = normalize_dim(dim, xs[0].dim() + 1, "stack");
  std::vector<Tensor<T>> us;
  for (const auto& x : xs) {
    check(x.shape() == xs[0].shape(), "stack", "all tensors must have shape ", xs[0].shape(),
          ", got ", x.shape());
    us.push_back(unsqueeze(x, d));
  }
  return cat(us, d);
}

// split into pieces of `size` along dim (the last may be smaller); views.
template <class T>
std::vector<Tensor<T>> split(const Tensor<T>& x, int64_t size, int64_t dim = 0) {
  check_inputs("split", x);
  int d = normalize_dim(dim, x.dim(), "split");
  check(size > 0, "split", "split size must be positive, got ", size);
  std::vector<Tensor<T>> out;
  for (int64_t s = 0; s < x.shape()[d]; s += size)
    out.push_back(narrow(x, d, s, std::min(size, x.shape()[d] - s)));
  return out;
}

template <class T>
std::vector<Tensor<T>> chunk(const Tensor<T>& x, int64_t chunks, int64_t dim = 0) {
  check_inputs("chunk", x);
  int d = normalize_dim(dim, x.dim(), "chunk");
  check(chunks > 0, "chunk", "number of chunks must be positive, got ", chunks);
  int64_t n = x.shape()[d];
  return split(x, std::max<int64_t>((n + chunks - 1) / chunks, 1), d);
}

// Constant padding, PyTorch order: pads = {last_lo, last_hi, second_last_lo, ...}, all >= 0.
template <class T>
Tensor<T> pad(const Tensor<T>& x, const std::vector<int64_t>& pads, T value = T(0)) {
  check_inputs("pad", x);
  check(pads.size() % 2 == 0 && static_cast<int>(pads.size()) / 2 <= x.dim(), "pad",
        "expected an even number of pads for at most ", x.dim(), " dims, got ", pads.size());
  Shape s = x.shape();
  std::vector<int64_t> lo(x.dim(), 0);
  for (size_t i = 0; i < pads.size() / 2; ++i) {
    int d = x.dim() - 1 - static_cast<int>(i);
    check(pads[2 * i] >= 0 && pads[2 * i + 1] >= 0, "pad", "negative padding is not supported");
    lo[d] = pads[2 * i];
    s[d] += pads[2 * i] + pads[2 * i + 1];
  }
  Tensor<T> out = Tensor<T>::full(s, value, x.device());
  int64_t off = 0;
  for (int d = 0; d < x.dim(); ++d) off += lo[d] * out.strides()[d];
  View dst{x.shape(), out.strides(), off};
  kernels<T>(x.device()).copy(x.base_ptr(), x.view(), out.base_ptr(), dst);
  if (needs_grad({&x})) {
    Shape xs = x.shape();
    attach<T>(out, "pad", {&x}, [lo, xs](const Tensor<T>& g) {
      Tensor<T> r = g;
      for (int d = 0; d < xs.size(); ++d)
        if (r.shape()[d] != xs[d]) r = narrow(r, d, lo[d], xs[d]);
      return std::vector<Tensor<T>>{r};
    }, Saves::nothing);
  }
  return out;
}

}  // namespace distillery
