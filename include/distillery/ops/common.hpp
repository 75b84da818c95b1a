// ops/common.hpp — what every op family shares: raw (graph-free) helpers and saved outputs.
//
// * `raw_contiguous(t)`: t itself if contiguous, else a contiguous copy (no autograd link).
// * `broadcast_view(t, shape)`: t's geometry broadcast to `shape` (stride 0 on broadcast dims).
// * `check_inputs(op, tensors...)`: the boundary check every public op starts with.
// * `SavedOutput`: how a backward rule refers to its own op's output without a reference cycle.
//   The closure keeps a detached alias of the output's data; inside the rule, `get()` re-links
//   that alias to the node being run (when a graph is being built), so rules such as
//   exp' = g * exp(x) stay differentiable (second order) through the saved output.
#pragma once
#include "../autograd/engine.hpp"
#include "../autograd/node.hpp"
#include "../backend/kernel_table.hpp"

namespace distillery {

template <class T>
Tensor<T> raw_contiguous(const Tensor<T>& t) {
  if (t.is_contiguous()) return t.detach();
  Tensor<T> out = Tensor<T>::empty(t.shape(), t.device());
  kernels<T>(t.device()).copy(t.base_ptr(), t.view(), out.base_ptr(), out.view());
  return out;
}

template <class T>
View broadcast_view(const Tensor<T>& t, const Shape& shape, const char* op) {
  View v;
  v.shape = shape;
  v.offset = t.storage_offset();
  const int n = shape.size(), k = t.dim();
  check(k <= n, op, "cannot broadcast shape ", t.shape(), " to ", shape);
  for (int i = 0; i < n; ++i) v.strides.push_back(0);
  for (int i = 0; i < k; ++i) {
    int j = n - k + i;
    int64_t d = t.shape()[i];
    check(d == shape[j] || d == 1, op, "cannot broadcast shape ", t.shape(), " to ", shape);
    v.strides[j] = (d == 1 && shape[j] != 1) ? 0 : t.strides()[i];
  }
  return v;
}

template <class T>
void check_same_device(const Tensor<T>& a, const Tensor<T>& b, const char* op) {
  check(a.device() == b.device(), op, "tensors on different devices (", a.device(), " and ",
        b.device(), ")");
}

template <class T>
void check_defined(const Tensor<T>& a, const char* op) {
  check(a.defined(), op, "undefined tensor");
}

// The boundary check every public op runs first on its tensor inputs (tensors or lists of
// tensors; optional inputs such as a bias are not passed): "op: undefined tensor" instead of a
// null access further down.
template <class T>
void check_input(const char* op, const Tensor<T>& t) {
  check_defined(t, op);
}
template <class T>
void check_input(const char* op, const std::vector<Tensor<T>>& ts) {
  for (const auto& t : ts) check_defined(t, op);
}
template <class... Ts>
void check_inputs(const char* op, const Ts&... ts) {
  (check_input(op, ts), ...);
}

template <class T>
struct SavedOutput {
  Tensor<T> data;  // detached alias of the op's output (undefined: nothing saved)
  SavedOutput() = default;
  explicit SavedOutput(const Tensor<T>& out) : data(out.detach()) {}
  Tensor<T> get() const {
    Node<T>* n = detail::current_node_slot<T>();
    if (!is_grad_enabled() || n == nullptr) return data;
    Tensor<T> t = data.alias(data.shape(), data.strides(), data.storage_offset());
    t.impl()->requires_grad = true;
    t.impl()->node = n->shared_from_this();
    return t;
  }
};

// The one fused-versus-composed switch, shared by conv2d and every fused loss: a node whose
// first-order rule runs a fused kernel takes its composed rule (differentiable ops) instead
// while a higher-order graph is being built (create_graph: grad mode is on inside the rule).
template <class T, class Fused, class Composed>
BackwardFn<T> fused_or_composed(Fused fused, Composed composed) {
  return [fused = std::move(fused), composed = std::move(composed)](const Tensor<T>& g) {
    return is_grad_enabled() ? composed(g) : fused(g);
  };
}

}  // namespace distillery
