// autograd/node.hpp — one graph node per op output, and how ops attach to the graph.
//
// A Node records, for the tensor an op produced, the nodes of the op's differentiable inputs
// (`next`) and a backward rule: a closure that maps the gradient of the output to one gradient
// per input. Rules are written in differentiable ops (see ops/), so running them with grad mode
// on (create_graph) builds the graph of the gradient itself — that is all a gradient of a
// gradient needs. Leaves that require grad get an accumulator node (is_leaf) that points back to
// the tensor whose .grad it fills (through a weak reference). Rules keep their inputs through
// saved_input(), which never owns a leaf, so a leaf's .grad may hold a graph that uses the leaf
// (create_graph) without a reference cycle.
//
// A leaf accumulator may carry grad-accumulated hooks (autograd/engine.hpp,
// add_grad_accumulated_hook): callbacks that backward() runs once the leaf's .grad is final.
//
// Freeing a long graph must not recurse: ~Node hands its edges and closure to a thread-local
// queue that the outermost destructor drains iteratively.
#pragma once
#include <array>
#include <atomic>
#include <functional>
#include <initializer_list>
#include <memory>
#include <utility>
#include <vector>

#include "../core/tensor.hpp"
#include "grad_mode.hpp"

namespace distillery {

template <class T>
using BackwardFn = std::function<std::vector<Tensor<T>>(const Tensor<T>&)>;

// f(leaf) runs when backward() has written the leaf's final .grad of that sweep.
template <class T>
using GradAccumulatedHook = std::function<void(const Tensor<T>& leaf)>;

namespace detail {
// Grad-accumulated hooks alive in the process (all types): backward() counts dependencies
// only when > 0.
inline std::atomic<int64_t>& grad_hooks_alive() {
  static std::atomic<int64_t> n{0};
  return n;
}
}  // namespace detail

template <class T>
struct NodeGraveyard {
  bool draining = false;
  std::vector<std::shared_ptr<Node<T>>> nodes;
  std::vector<BackwardFn<T>> fns;
};

// What a node's backward rule reads: the values of its inputs and output (the default), or
// nothing but the incoming gradient (linear ops: add, views, sum, gather ...). Nodes that read
// values record the storage versions of their inputs and output when they are created; the
// engine refuses to run the rule if one of them was written in place since (ops/inplace.hpp),
// as PyTorch's "modified by an inplace operation". Saves::output: the rule reads only the output
// (relu), so only the output's version is recorded.
enum class Saves { values, output, nothing };

template <class T>
struct SavedVersion {
  // Weak: a version record never keeps memory alive (the rule keeps what it reads; a storage
  // that died cannot have been written since). Null: slot unused.
  std::weak_ptr<Storage> storage;
  uint64_t version = 0;
};
constexpr int kMaxSavedVersions = 5;  // up to 4 inputs and the output

template <class T>
struct Node : std::enable_shared_from_this<Node<T>> {
  const char* name = "";
  std::vector<std::shared_ptr<Node<T>>> next;            // input nodes; nullptr where no grad flows
  BackwardFn<T> backward;                                // empty for leaves and released nodes
  std::weak_ptr<TensorImpl<T>> leaf;                     // the tensor a leaf accumulator fills
  Shape shape;                                           // shape of the tensor this node produced
  std::array<SavedVersion<T>, kMaxSavedVersions> saved;  // inputs 0..3, then the output
  bool is_leaf = false;
  bool released = false;
  // leaf accumulators only: (id, hook) pairs; null (one pointer) when there are none
  std::unique_ptr<std::vector<std::pair<int64_t, GradAccumulatedHook<T>>>> hooks;
  // scratch used by the engine during one sweep
  uint64_t visit = 0;
  bool needed = false;     // lies on a path to a requested input
  bool propagate = false;  // some input node lies below it
  int64_t pending = 0;     // hooked leaves: consumers still to run (-1: .grad written)
  std::shared_ptr<TensorImpl<T>> acc;

  ~Node() {
    thread_local NodeGraveyard<T> g;
    for (auto& p : next)
      if (p) g.nodes.push_back(std::move(p));
    if (backward) g.fns.push_back(std::move(backward));
    acc.reset();
    if (hooks) detail::grad_hooks_alive() -= static_cast<int64_t>(hooks->size());
    if (g.draining) return;
    g.draining = true;
    while (!g.nodes.empty() || !g.fns.empty()) {
      if (!g.fns.empty()) {
        BackwardFn<T> f = std::move(g.fns.back());
        g.fns.pop_back();
      } else {
        std::shared_ptr<Node<T>> n = std::move(g.nodes.back());
        g.nodes.pop_back();
      }
    }
    g.draining = false;
  }
};

// The node gradients flowing into `t` should be sent to (creating a leaf accumulator lazily).
template <class T>
std::shared_ptr<Node<T>> grad_edge(const Tensor<T>& t) {
  if (!t.defined() || !t.requires_grad()) return nullptr;
  auto* impl = t.impl();
  if (!impl->node) {
    auto n = std::make_shared<Node<T>>();
    n->name = "AccumulateGrad";
    n->is_leaf = true;
    n->leaf = t.impl_ptr();
    n->shape = impl->shape;
    impl->node = std::move(n);
  }
  return impl->node;
}

template <class T>
bool Tensor<T>::is_leaf() const {
  check(impl_ != nullptr, "is_leaf", "undefined tensor");
  return !impl_->node || impl_->node->is_leaf;
}
template <class T>
const char* Tensor<T>::grad_fn_name() const {
  return (impl_->node && !impl_->node->is_leaf) ? impl_->node->name : "";
}

// True when an op with these inputs must record a node.
template <class T>
bool needs_grad(std::initializer_list<const Tensor<T>*> inputs) {
  if (!grad_mode_flag()) return false;
  for (auto* t : inputs)
    if (t && t->requires_grad()) return true;
  return false;
}

// The handle a backward rule keeps of an input tensor `t` (ops capture `saved_input(a)`, never
// `a` itself). For a leaf that requires grad it is an alias: the same storage, geometry and
// graph edge (the leaf's accumulator), but a TensorImpl of its own, without .grad. Keeping the
// leaf's own TensorImpl would make a cycle under create_graph: leaf.grad holds the gradient's
// graph, whose rules hold the leaf (issue 26: 200 iterations leaked 1.6 MB). Through the alias,
// gradients still flow into the leaf's accumulator (and so its .grad) while the leaf is alive,
// and the leaf dies with its last user handle. Other tensors (non-leaves, constants) are kept as
// they are: backward never writes their .grad.
template <class T>
Tensor<T> saved_input(const Tensor<T>& t) {
  if (!t.defined() || !t.requires_grad() || !t.is_leaf()) return t;
  Tensor<T> a = t.alias(t.shape(), t.strides(), t.storage_offset());
  a.impl()->requires_grad = true;
  a.impl()->node = grad_edge(t);
  return a;
}

// Throws when a tensor saved by `n` was written in place after `n` was recorded.
template <class T>
void check_saved_versions(const Node<T>& n) {
  for (int k = 0; k < kMaxSavedVersions; ++k) {
    const SavedVersion<T>& rec = n.saved[k];
    const std::shared_ptr<Storage> st = rec.storage.lock();
    if (!st || st->version() == rec.version) continue;
    const bool out = k == kMaxSavedVersions - 1;
    fail(n.name, "one of the tensors needed for gradient computation (",
         out ? "the output" : "input ", out ? "" : std::to_string(k).c_str(),
         ") has been modified by an inplace "
         "operation: it is at version ",
         st->version(), "; expected version ", rec.version, " (recorded when ", n.name,
         " saved it). Recompute the forward pass after the "
         "in-place write (e.g. an optimizer step), or write into a copy");
  }
}

// Makes `out` the output of a recorded op `name` with the given inputs and backward rule.
// The rule receives dL/d(out) and returns one tensor per input (undefined = no gradient).
template <class T>
void attach(Tensor<T>& out, const char* name, std::initializer_list<const Tensor<T>*> inputs,
            BackwardFn<T> fn, Saves saves = Saves::values) {
  auto n = std::make_shared<Node<T>>();
  n->name = name;
  n->next.reserve(inputs.size());
  for (auto* t : inputs) n->next.push_back(t ? grad_edge(*t) : nullptr);
  if (saves == Saves::values) {
    int k = 0;
    for (auto* t : inputs) {
      if (k == kMaxSavedVersions - 1) break;
      if (t && t->defined()) n->saved[k] = {t->impl()->storage, t->version()};
      ++k;
    }
  }
  if (saves != Saves::nothing)
    n->saved[kMaxSavedVersions - 1] = {out.impl()->storage, out.version()};
  n->backward = std::move(fn);
  n->shape = out.shape();
  out.impl()->requires_grad = true;
  out.impl()->node = std::move(n);
}

}  // namespace distillery
