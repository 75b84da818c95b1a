// nn/functional.hpp — run any Module with parameters passed in, and flat parameter vectors.
//
// functional_call(model, params, args...) runs model.forward(args...) with `params` installed
// in the model's parameter slots for the duration of the call (then the originals come back,
// also when forward throws). Entries may be any tensors of the right shapes — in particular
// graph nodes — so a loss computed through them differentiates with respect to whatever
// produced them. That is what dataset distillation needs: unrolled differentiable SGD steps
//
//   Tensor<float> w = nn::flatten_parameters(model.parameters()).detach().requires_grad_();
//   for (int t = 0; t < steps; ++t) {
//     auto l = cross_entropy(nn::functional_call(model, w, x_syn), y_syn);   // flat overload
//     auto g = grad({l}, {w}, {}, /*create_graph=*/true)[0];
//     w = w - lr * g;                                            // still a graph node
//   }
//   auto outer = cross_entropy(nn::functional_call(model, w, x_real), y_real);
//   auto dx = grad({outer}, {x_syn})[0];                         // gradient through the unroll
//
// Three ways to pass parameters: a vector in parameters() order, a name -> tensor map (a subset
// is fine; the other parameters stay), or one flat 1-D vector (split with views, no copies).
// flatten_parameters / unflatten_parameters convert between the two layouts differentiably.
// Not thread-safe: while a call runs, the model's slots hold the passed tensors.
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "module.hpp"

namespace distillery::nn {

// Installs tensors into parameter slots; the destructor restores the originals. Everything is
// validated before the first slot changes, so a throwing constructor leaves the model intact.
template <class T>
class ParameterSwap {
 public:
  ParameterSwap(Module<T>& model, const std::vector<Tensor<T>>& params) {
    auto slots = model.parameter_slots();
    check(slots.size() == params.size(), "functional_call", model.type_name(), " has ",
          slots.size(), " parameters, got ", params.size());
    std::vector<std::pair<Tensor<T>*, Tensor<T>>> plan;
    for (size_t i = 0; i < slots.size(); ++i) plan.emplace_back(slots[i], params[i]);
    install(plan);
  }
  ParameterSwap(Module<T>& model, const std::map<std::string, Tensor<T>>& params) {
    auto names = model.named_parameters();
    auto slots = model.parameter_slots();
    std::vector<std::pair<Tensor<T>*, Tensor<T>>> plan;
    std::map<std::string, Tensor<T>> left = params;
    for (size_t i = 0; i < slots.size(); ++i) {
      auto it = left.find(names[i].first);
      if (it == left.end()) continue;
      plan.emplace_back(slots[i], it->second);
      left.erase(it);
    }
    if (!left.empty()) {
      std::string unknown;
      for (auto& kv : left) unknown += " " + kv.first;
      fail("functional_call", model.type_name(), " has no parameters named [", unknown, " ]");
    }
    install(plan);
  }
  ~ParameterSwap() {
    for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) *it->first = it->second;
  }
  ParameterSwap(const ParameterSwap&) = delete;
  ParameterSwap& operator=(const ParameterSwap&) = delete;

 private:
  void install(const std::vector<std::pair<Tensor<T>*, Tensor<T>>>& plan) {
    for (size_t i = 0; i < plan.size(); ++i) {
      const Tensor<T>& v = plan[i].second;
      check(v.defined() && v.shape() == plan[i].first->shape(), "functional_call", "parameter ",
            i, " has shape ", plan[i].first->shape(), ", got ", v.defined() ? v.shape() : Shape{});
    }
    for (auto& [slot, value] : plan) {
      saved_.emplace_back(slot, *slot);
      *slot = value;
    }
  }
  std::vector<std::pair<Tensor<T>*, Tensor<T>>> saved_;
};

// Shapes of the model's parameters, in parameters() order.
template <class T>
std::vector<Shape> parameter_shapes(const Module<T>& model) {
  std::vector<Shape> out;
  for (auto& p : model.parameters()) out.push_back(p.shape());
  return out;
}

// cat of every tensor flattened: [Σ numel]. Differentiable (gradients flow back to each entry).
template <class T>
Tensor<T> flatten_parameters(const std::vector<Tensor<T>>& params) {
  check(!params.empty(), "flatten_parameters", "empty parameter list");
  std::vector<Tensor<T>> flat;
  for (auto& p : params) flat.push_back(reshape(p, Shape{p.numel()}));
  return cat(flat, 0);
}
// torch.nn.utils.parameters_to_vector
template <class T>
Tensor<T> parameters_to_vector(const std::vector<Tensor<T>>& params) {
  return flatten_parameters(params);
}

// Splits flat [Σ numel] into views of the given shapes (differentiable, no copies).
template <class T>
std::vector<Tensor<T>> unflatten_parameters(const Tensor<T>& flat, const std::vector<Shape>& shapes) {
  int64_t total = 0;
  for (auto& s : shapes) total += s.numel();
  check(flat.dim() == 1 && flat.numel() == total, "unflatten_parameters", "expected a 1-D tensor of ",
        total, " values, got shape ", flat.shape());
  std::vector<Tensor<T>> out;
  int64_t off = 0;
  for (auto& s : shapes) {
    out.push_back(reshape(narrow(flat, 0, off, s.numel()), s));
    off += s.numel();
  }
  return out;
}
template <class T>
std::vector<Tensor<T>> unflatten_parameters(const Tensor<T>& flat, const Module<T>& model) {
  return unflatten_parameters(flat, parameter_shapes(model));
}

// Copies a flat vector's values into the model's parameters in place (no graph).
template <class T>
void vector_to_parameters(const Tensor<T>& flat, Module<T>& model) {
  NoGradGuard ng;
  auto views = unflatten_parameters(flat.detach(), model);
  auto params = model.parameters();
  for (size_t i = 0; i < params.size(); ++i) assign_(params[i], views[i]);
}

// model.forward(args...) with `params` (parameters() order) in place of the model's own.
template <class M, class... Args>
auto functional_call(M& model, const std::vector<Tensor<typename M::Scalar>>& params,
                     Args&&... args) {
  ParameterSwap<typename M::Scalar> swap(model, params);
  return model.forward(std::forward<Args>(args)...);
}
// ... with the parameters named in `params` replaced (others unchanged).
template <class M, class... Args>
auto functional_call(M& model, const std::map<std::string, Tensor<typename M::Scalar>>& params,
                     Args&&... args) {
  ParameterSwap<typename M::Scalar> swap(model, params);
  return model.forward(std::forward<Args>(args)...);
}
// ... with all parameters taken from one flat vector [num_parameters()].
template <class M, class... Args>
auto functional_call(M& model, const Tensor<typename M::Scalar>& flat, Args&&... args) {
  ParameterSwap<typename M::Scalar> swap(model, unflatten_parameters(flat, model));
  return model.forward(std::forward<Args>(args)...);
}

// Runs fn() (any code using the model: several forwards, other methods) with `params` installed.
template <class T, class Fn>
auto with_parameters(Module<T>& model, const std::vector<Tensor<T>>& params, Fn&& fn) {
  ParameterSwap<T> swap(model, params);
  return fn();
}

}  // namespace distillery::nn
