// autograd/engine.hpp — the reverse sweep: backward() and grad().
//
// 1. Collect the nodes reachable from the outputs with an explicit stack (no recursion, so a
//    chain of 100,000 ops is fine) in post-order.
// 2. For grad(inputs=...), mark the nodes that lead to an input (`needed`); others are skipped.
// 3. Walk in reverse post-order (every consumer before its producers), run each node's backward
//    rule on its summed incoming gradient and add the results into its inputs' accumulators.
//    Rules run with grad mode = create_graph, so with create_graph the gradients are graph
//    nodes themselves and can be differentiated again.
// 4. Unless retain_graph, release the rules' closures (and the tensors they saved); a second
//    backward through them throws.
//
// Grad-accumulated hooks: add_grad_accumulated_hook(leaf, f) makes every later backward() call
// f(leaf) once per sweep, right after it has written the leaf's final .grad for that sweep
// (grad() writes no .grad and calls none). While any hook exists, backward() counts for each
// hooked leaf the graph nodes that feed it and writes its .grad as soon as the last of them has
// run, instead of at the leaf's own place in the sweep: data-parallel training starts a
// bucket's all-reduce there (distributed/ddp.hpp) while the sweep goes on below. The gradients
// are the same bits either way (each leaf's accumulator is summed in the same order); only the
// moment .grad is written moves. Without hooks the sweep does no extra work. Hooks run with
// grad mode off, in sweep order (deterministic); an exception from a hook ends backward().
// requires_grad_(false) drops a leaf's hooks.
#pragma once
#include <atomic>
#include <vector>

#include "node.hpp"

namespace distillery {

template <class T> Tensor<T> add(const Tensor<T>& a, const Tensor<T>& b);  // ops/elementwise.hpp

namespace detail {

// The node whose backward rule is running (SavedOutput re-links to it; ops/common.hpp).
template <class T>
Node<T>*& current_node_slot() {
  thread_local Node<T>* n = nullptr;
  return n;
}

inline int64_t next_grad_hook_id() {
  static std::atomic<int64_t> id{0};
  return ++id;
}

inline uint64_t next_visit_epoch() {
  static std::atomic<uint64_t> epoch{0};
  return ++epoch;
}

template <class T>
void accumulate(const std::shared_ptr<Node<T>>& n, const Tensor<T>& g) {
  check(g.shape() == n->shape, "backward", "gradient of shape ", g.shape(),
        " for a tensor of shape ", n->shape, " (rule of ", n->name, ")");
  if (!n->acc) n->acc = g.impl_ptr();
  else n->acc = add(Tensor<T>(n->acc), g).impl_ptr();
}

template <class T>
std::vector<Tensor<T>> run_backward(const std::vector<Tensor<T>>& outputs,
                                    const std::vector<Tensor<T>>& grad_outputs,
                                    const std::vector<Tensor<T>>* inputs, bool retain_graph,
                                    bool create_graph, bool allow_unused) {
  const char* op = inputs ? "grad" : "backward";
  check(grad_outputs.empty() || grad_outputs.size() == outputs.size(), op, "expected ",
        outputs.size(), " grad_outputs, got ", grad_outputs.size());
  const uint64_t epoch = next_visit_epoch();

  // roots
  std::vector<std::shared_ptr<Node<T>>> roots;
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Tensor<T>& y = outputs[i];
    check(y.defined() && y.requires_grad(), op, "output ", i,
          " does not require grad and has no grad_fn");
    roots.push_back(grad_edge(y));
  }

  // 1. iterative post-order DFS
  std::vector<Node<T>*> order;
  std::vector<std::pair<Node<T>*, size_t>> stack;
  for (auto& r : roots) {
    if (r->visit == epoch) continue;
    r->visit = epoch;
    stack.push_back({r.get(), 0});
    while (!stack.empty()) {
      auto& [n, i] = stack.back();
      if (i < n->next.size()) {
        Node<T>* c = n->next[i++].get();
        if (c && c->visit != epoch) {
          c->visit = epoch;
          stack.push_back({c, 0});
        }
      } else {
        order.push_back(n);
        stack.pop_back();
      }
    }
  }

  // 2. which nodes lead to a requested input
  std::vector<Node<T>*> input_nodes;
  if (inputs) {
    for (auto& x : *inputs) {
      check(x.defined() && x.requires_grad(), "grad", "an input does not require grad");
      input_nodes.push_back(grad_edge(x).get());
    }
    for (Node<T>* n : order) n->needed = n->propagate = false;
    for (Node<T>* n : input_nodes)
      if (n->visit == epoch) n->needed = true;
    for (Node<T>* n : order)  // children come before parents in post-order
      for (auto& c : n->next)
        if (c && c->needed) n->needed = n->propagate = true;
  } else {
    for (Node<T>* n : order) n->needed = n->propagate = true;
  }

  // seeds
  {
    GradModeGuard gm(create_graph);
    for (size_t i = 0; i < outputs.size(); ++i) {
      Tensor<T> g;
      if (!grad_outputs.empty() && grad_outputs[i].defined()) {
        g = grad_outputs[i];
        check(g.shape() == outputs[i].shape(), op, "grad_output shape ", g.shape(),
              " does not match output shape ", outputs[i].shape());
      } else {
        check(outputs[i].numel() == 1, op, "grad can be implicitly created only for scalar "
              "outputs, got shape ", outputs[i].shape());
        g = Tensor<T>::ones(outputs[i].shape(), outputs[i].device());
      }
      accumulate(roots[i], g);
    }
  }

  // hooked leaves: how many nodes of this sweep feed them (written early when all have run)
  const bool eager = !inputs && grad_hooks_alive().load(std::memory_order_relaxed) > 0;
  if (eager) {
    for (Node<T>* n : order)
      if (n->is_leaf) n->pending = 0;
    for (Node<T>* n : order)
      if (!n->is_leaf)
        for (auto& c : n->next)
          if (c && c->hooks) ++c->pending;
  }
  // leaf n's summed gradient into its .grad, then its hooks
  auto write_leaf = [&](Node<T>* n) {
    if (!n->acc) return;
    auto leaf = n->leaf.lock();
    if (!leaf) return;
    {
      GradModeGuard gm(create_graph);
      Tensor<T> g(n->acc);
      Tensor<T> gl = create_graph ? g : g.detach();
      leaf->grad = leaf->grad ? add(Tensor<T>(leaf->grad), gl).impl_ptr() : gl.impl_ptr();
    }
    if (n->hooks && !n->hooks->empty()) {
      auto hooks = *n->hooks;  // a hook may add or remove hooks
      GradModeGuard gm(false);
      Tensor<T> t(leaf);
      for (auto& h : hooks) h.second(t);
    }
  };

  // 3. reverse sweep
  struct Cleanup {  // scratch accumulators are dropped even if a rule throws
    std::vector<Node<T>*>& order;
    ~Cleanup() { for (Node<T>* n : order) n->acc.reset(); }
  } cleanup{order};
  std::vector<Tensor<T>> result(inputs ? inputs->size() : 0);
  for (size_t k = order.size(); k-- > 0;) {
    Node<T>* n = order[k];
    if (!n->needed || !n->acc) continue;
    Tensor<T> g(n->acc);
    if (inputs) {
      for (size_t j = 0; j < input_nodes.size(); ++j)
        if (input_nodes[j] == n) result[j] = g;
    }
    if (n->is_leaf) {
      if (!inputs && !(eager && n->hooks && n->pending < 0)) write_leaf(n);
      continue;
    }
    if (!n->propagate) continue;  // a requested non-leaf input with nothing needed below
    check(!n->released, op, "trying to backward through the graph a second time (the saved "
          "tensors of ", n->name, " were freed); pass retain_graph=true the first time");
    std::vector<Tensor<T>> gin;
    {
      GradModeGuard gm(create_graph);
      Node<T>*& cur = current_node_slot<T>();
      Node<T>* prev = cur;
      cur = n;
      struct Restore { Node<T>*& c; Node<T>* p; ~Restore() { c = p; } } restore{cur, prev};
      check_saved_versions(*n);
      gin = n->backward(g);
    }
    check(gin.size() == n->next.size(), op, "rule of ", n->name, " returned ", gin.size(),
          " gradients for ", n->next.size(), " inputs");
    for (size_t i = 0; i < gin.size(); ++i) {
      auto& c = n->next[i];
      if (c && c->needed && gin[i].defined()) accumulate(c, gin[i]);
    }
    n->acc.reset();
    if (eager)
      for (auto& c : n->next)
        if (c && c->hooks && c->pending > 0 && --c->pending == 0) {
          c->pending = -1;
          write_leaf(c.get());
        }
  }

  // 4. release the graph
  if (!retain_graph)
    for (Node<T>* n : order)
      if (!n->is_leaf && n->backward) {
        n->backward = nullptr;
        n->released = true;
      }

  if (inputs) {
    for (size_t j = 0; j < result.size(); ++j) {
      if (!result[j].defined()) {
        check(allow_unused, "grad", "input ", j, " was not used in the graph of the outputs "
              "(pass allow_unused=true to get an undefined tensor for it)");
      } else if (!create_graph) {
        result[j] = result[j].detach();
      }
    }
  }
  return result;
}

}  // namespace detail

// Computes d(outputs)/d(inputs) weighted by grad_outputs, without touching .grad.
// With create_graph the results are differentiable (Hessian-vector products, third order...).
template <class T>
std::vector<Tensor<T>> grad(const std::vector<Tensor<T>>& outputs,
                            const std::vector<Tensor<T>>& inputs,
                            const std::vector<Tensor<T>>& grad_outputs = {},
                            bool create_graph = false, bool allow_unused = false,
                            int retain_graph = -1) {
  bool retain = retain_graph < 0 ? create_graph : retain_graph != 0;
  return detail::run_backward(outputs, grad_outputs, &inputs, retain, create_graph, allow_unused);
}

// Non-template overloads so that braced lists work: grad({y}, {x}, {}, true).
inline std::vector<Tensor<double>> grad(const std::vector<Tensor<double>>& outputs,
                                        const std::vector<Tensor<double>>& inputs,
                                        const std::vector<Tensor<double>>& grad_outputs = {},
                                        bool create_graph = false, bool allow_unused = false,
                                        int retain_graph = -1) {
  return grad<double>(outputs, inputs, grad_outputs, create_graph, allow_unused, retain_graph);
}
inline std::vector<Tensor<float>> grad(const std::vector<Tensor<float>>& outputs,
                                       const std::vector<Tensor<float>>& inputs,
                                       const std::vector<Tensor<float>>& grad_outputs = {},
                                       bool create_graph = false, bool allow_unused = false,
                                       int retain_graph = -1) {
  return grad<float>(outputs, inputs, grad_outputs, create_graph, allow_unused, retain_graph);
}

// Calls f(leaf) in every later backward() that reaches `leaf`, once per sweep, right after
// the sweep has written leaf's final .grad (f reads it with leaf.grad()). Returns an id for
// remove_grad_accumulated_hook. `leaf` must be a leaf that requires grad.
template <class T>
int64_t add_grad_accumulated_hook(const Tensor<T>& leaf, GradAccumulatedHook<T> f) {
  check(leaf.defined() && leaf.requires_grad() && leaf.is_leaf(), "add_grad_accumulated_hook",
        "the tensor must be a leaf that requires grad");
  check(static_cast<bool>(f), "add_grad_accumulated_hook", "empty hook");
  auto n = grad_edge(leaf);
  using Hooks = std::vector<std::pair<int64_t, GradAccumulatedHook<T>>>;
  if (!n->hooks) n->hooks = std::make_unique<Hooks>();
  const int64_t id = detail::next_grad_hook_id();
  n->hooks->emplace_back(id, std::move(f));
  ++detail::grad_hooks_alive();
  return id;
}

// Removes hook `id` from `leaf`; false when it is not there (already removed, or dropped by
// requires_grad_(false)).
template <class T>
bool remove_grad_accumulated_hook(const Tensor<T>& leaf, int64_t id) {
  if (!leaf.defined() || !leaf.requires_grad() || !leaf.is_leaf()) return false;
  auto n = grad_edge(leaf);
  if (!n->hooks) return false;
  auto& v = *n->hooks;
  for (size_t i = 0; i < v.size(); ++i)
    if (v[i].first == id) {
      v.erase(v.begin() + static_cast<std::ptrdiff_t>(i));
      --detail::grad_hooks_alive();
      if (v.empty()) n->hooks.reset();
      return true;
    }
  return false;
}

template <class T>
void Tensor<T>::backward(const Tensor<T>& grad_output, bool retain_graph,
                         bool create_graph) const {
  check(defined(), "backward", "undefined tensor");
  std::vector<Tensor<T>> gos;
  if (grad_output.defined()) gos.push_back(grad_output);
  detail::run_backward<T>({*this}, gos, nullptr, retain_graph || create_graph, create_graph,
                          true);
}

}  // namespace distillery
