// nn/module.hpp — Module<T>: the base of every layer and model, with named parameters.
//
// A Module owns *slots*: Tensor<T> members registered under a name. Parameters are leaves with
// requires_grad; buffers (running statistics, masks) are saved in the state dict but never
// trained. Child modules are registered too, so every parameter has a dotted name, as in PyTorch:
//
//   struct Net : nn::Module<float> {
//     nn::Conv2d<float> conv1;                        // a child held by value (or a shared_ptr)
//     Tensor<float> scale = Tensor<float>::ones({6}); // a parameter of Net itself
//     explicit Net(Generator& gen) : conv1(1, 6, 5, gen, /*stride=*/1, /*padding=*/2) {
//       register_module("conv1", &conv1);
//       register_parameter("scale", &scale);
//     }
//     Tensor<float> forward(const Tensor<float>& x) override {
//       return conv1(x) * scale.reshape({1, 6, 1, 1});
//     }
//   };
//   net.named_parameters()  ->  {"scale", ...}, {"conv1.weight", ...}, {"conv1.bias", ...}
//
// Order: a module's own parameters (registration order), then each child's, depth first — the
// order of parameters(), of flat parameter vectors (nn/functional.hpp) and of optimizers.
// A tensor registered under two names (weight tying) is listed twice; avoid it.
//
// Design: the registry stores *pointers to the slots*, so a layer's forward reads its plain
// members (`linear(x, weight, bias)`) and functional_call can swap other tensors (graph nodes,
// views of one flat vector) into the slots for one call. Hence modules are neither copyable nor
// movable: hold them by value inside their parent or in a shared_ptr. `clone()` makes a deep
// copy through `clone_structure()` (a fresh module of the same configuration, which every
// concrete module implements in one line) and then copies every slot.
//
// Parameter representation: Module<T> is templated on the scalar (float by default; double is
// for gradient checks), and every parameter is a Tensor<T> leaf with requires_grad.
// Writes that must keep identities (load_state_dict, optimizers, EMA) go through assign_ under
// NoGradGuard; to(Device) replaces the slots, so build optimizers after moving a model.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "../ops/inplace.hpp"
#include "../ops/loss.hpp"

namespace distillery::nn {

template <class T = float>
class Module {
 public:
  using Scalar = T;
  using NamedTensors = std::vector<std::pair<std::string, Tensor<T>>>;

  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  virtual ~Module() = default;

  // ---- what a concrete module provides ------------------------------------------------------
  virtual std::string type_name() const { return "Module"; }
  // The single-tensor forward used by Sequential; modules with other inputs add overloads.
  virtual Tensor<T> forward(const Tensor<T>&) {
    fail("Module::forward", type_name(), " has no single-tensor forward");
  }
  Tensor<T> operator()(const Tensor<T>& x) { return forward(x); }
  // A freshly constructed module of the same configuration (values are overwritten by clone()).
  virtual std::shared_ptr<Module<T>> clone_structure() const {
    fail("clone", type_name(), " does not implement clone_structure()");
  }
  // Re-draws this module's own parameters (not its children's) in place from `gen`.
  virtual void reset_parameters(Generator&) {}

  // ---- registration ------------------------------------------------------------------------
  // Registers *slot (which must outlive this module, normally a member) as parameter `name`.
  void register_parameter(const std::string& name, Tensor<T>* slot, bool requires_grad = true) {
    check_new_name(name);
    check(slot && slot->defined(), "register_parameter", "'", name, "' is undefined");
    if (requires_grad && !slot->requires_grad()) slot->requires_grad_(true);
    params_.push_back({name, slot});
  }
  void register_buffer(const std::string& name, Tensor<T>* slot) {
    check_new_name(name);
    check(slot && slot->defined(), "register_buffer", "'", name, "' is undefined");
    buffers_.push_back({name, slot});
  }
  // A child held by the parent (a member): not owned.
  void register_module(const std::string& name, Module<T>* child) {
    check_new_name(name);
    check(child != nullptr, "register_module", "'", name, "' is null");
    children_.push_back({name, child, nullptr});
  }
  // A child owned through a shared_ptr (Sequential, lists of layers).
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> child) {
    check_new_name(name);
    check(child != nullptr, "register_module", "'", name, "' is null");
    children_.push_back({name, child.get(), child});
    return child;
  }

  // ---- traversal ---------------------------------------------------------------------------
  NamedTensors named_parameters(bool recurse = true) const {
    NamedTensors out;
    for_each_slot(true, recurse, "", [&](const std::string& n, Tensor<T>* s) {
      out.emplace_back(n, *s);
    });
    return out;
  }
  NamedTensors named_buffers(bool recurse = true) const {
    NamedTensors out;
    for_each_slot(false, recurse, "", [&](const std::string& n, Tensor<T>* s) {
      out.emplace_back(n, *s);
    });
    return out;
  }
  std::vector<Tensor<T>> parameters(bool recurse = true) const {
    std::vector<Tensor<T>> out;
    for (auto& kv : named_parameters(recurse)) out.push_back(kv.second);
    return out;
  }
  std::vector<Tensor<T>> buffers(bool recurse = true) const {
    std::vector<Tensor<T>> out;
    for (auto& kv : named_buffers(recurse)) out.push_back(kv.second);
    return out;
  }
  // Pointers to the parameter slots, in parameters() order (functional_call swaps them).
  std::vector<Tensor<T>*> parameter_slots() {
    std::vector<Tensor<T>*> out;
    for_each_slot(true, true, "", [&](const std::string&, Tensor<T>* s) { out.push_back(s); });
    return out;
  }
  // This module ("") and every descendant, depth first, with dotted names.
  std::vector<std::pair<std::string, Module<T>*>> named_modules() {
    std::vector<std::pair<std::string, Module<T>*>> out;
    collect_modules("", out);
    return out;
  }
  std::vector<std::pair<std::string, Module<T>*>> named_children() const {
    std::vector<std::pair<std::string, Module<T>*>> out;
    for (auto& c : children_) out.emplace_back(c.name, c.ptr);
    return out;
  }

  // Number of scalar parameters (only those requiring grad when trainable_only).
  int64_t num_parameters(bool trainable_only = false) const {
    int64_t n = 0;
    for (auto& kv : named_parameters())
      if (!trainable_only || kv.second.requires_grad()) n += kv.second.numel();
    return n;
  }

  // ---- modes -------------------------------------------------------------------------------
  void train(bool on = true) {
    for (auto& m : named_modules()) m.second->training_ = on;
  }
  void eval() { train(false); }
  bool is_training() const { return training_; }
  void zero_grad() {
    for (auto& p : parameters()) p.zero_grad();
  }
  // Freezes (false) or unfreezes every parameter.
  void requires_grad_(bool on = true) {
    for (Tensor<T>* s : parameter_slots()) s->requires_grad_(on);
  }
  // Re-initialises every module's parameters in place (same order on every call).
  void reset_all_parameters(Generator& gen) {
    NoGradGuard ng;
    for (auto& m : named_modules()) m.second->reset_parameters(gen);
  }

  // ---- state -------------------------------------------------------------------------------
  // name -> tensor for parameters and buffers; values alias the module's storage (detached).
  std::map<std::string, Tensor<T>> state_dict() const {
    std::map<std::string, Tensor<T>> sd;
    for (auto& kv : named_parameters()) sd.emplace(kv.first, kv.second.detach());
    for (auto& kv : named_buffers()) sd.emplace(kv.first, kv.second.detach());
    return sd;
  }
  // Copies values in place (identities kept, so optimizers stay valid). strict: the key sets
  // must be equal; otherwise missing and unexpected keys are ignored. Shapes must match.
  void load_state_dict(const std::map<std::string, Tensor<T>>& sd, bool strict = true) {
    NoGradGuard ng;
    auto slots = all_slots();
    std::string missing, unexpected;
    std::map<std::string, Tensor<T>*> by_name;
    for (auto& s : slots) by_name[s.first] = s.second;
    for (auto& s : slots)
      if (!sd.count(s.first)) missing += " " + s.first;
    for (auto& kv : sd)
      if (!by_name.count(kv.first)) unexpected += " " + kv.first;
    check(!strict || (missing.empty() && unexpected.empty()), "load_state_dict", type_name(),
          ": missing keys [", missing, " ] unexpected keys [", unexpected, " ]");
    // Validate every entry first, then copy: a refused load leaves the module unchanged.
    for (auto& kv : sd) {
      auto it = by_name.find(kv.first);
      if (it == by_name.end()) continue;
      check(kv.second.defined(), "load_state_dict", "'", kv.first, "' is an undefined tensor");
      check(kv.second.shape() == it->second->shape(), "load_state_dict", "'", kv.first,
            "' has shape ", kv.second.shape(), " in the state dict, ", it->second->shape(),
            " in the module");
    }
    for (auto& kv : sd) {
      auto it = by_name.find(kv.first);
      if (it != by_name.end()) assign_(*it->second, kv.second);
    }
  }

  // Deep copy: same configuration, same values (new storage), same requires_grad and mode.
  std::shared_ptr<Module<T>> clone() const {
    std::shared_ptr<Module<T>> c = clone_structure();
    auto src = all_slots();
    auto dst = c->all_slots();
    check(src.size() == dst.size(), "clone", type_name(), ": clone_structure() built a module "
          "with ", dst.size(), " slots, expected ", src.size());
    for (size_t i = 0; i < src.size(); ++i) {
      check(src[i].first == dst[i].first, "clone", "slot '", dst[i].first, "' where '",
            src[i].first, "' was expected");
      Tensor<T> v = src[i].second->detach().clone();
      if (src[i].second->requires_grad()) v.requires_grad_(true);
      *dst[i].second = v;
    }
    std::vector<bool> modes;
    collect_modes(modes);
    auto dm = c->named_modules();
    for (size_t i = 0; i < modes.size() && i < dm.size(); ++i) dm[i].second->training_ = modes[i];
    return c;
  }

  // Moves every parameter and buffer to device d (new leaves; requires_grad kept).
  void to(Device d) {
    for (auto& s : all_slots()) {
      if (s.second->device() == d) continue;
      bool rg = s.second->requires_grad();
      Tensor<T> v = s.second->detach().to(d);
      if (rg) v.requires_grad_(true);
      *s.second = v;
    }
  }

 private:
  struct Slot { std::string name; Tensor<T>* ptr; };
  struct Child { std::string name; Module<T>* ptr; std::shared_ptr<Module<T>> owned; };

  void check_new_name(const std::string& name) const {
    check(!name.empty() && name.find('.') == std::string::npos, "register", "invalid name '",
          name, "' (non-empty, no dots)");
    auto taken = [&](const std::string& n) { return n == name; };
    for (auto& s : params_) check(!taken(s.name), "register", "'", name, "' registered twice");
    for (auto& s : buffers_) check(!taken(s.name), "register", "'", name, "' registered twice");
    for (auto& c : children_) check(!taken(c.name), "register", "'", name, "' registered twice");
  }

  template <class F>
  void for_each_slot(bool params, bool recurse, const std::string& prefix, F&& f) const {
    for (auto& s : params ? params_ : buffers_) f(prefix + s.name, s.ptr);
    if (!recurse) return;
    for (auto& c : children_) c.ptr->for_each_slot(params, true, prefix + c.name + ".", f);
  }
  void collect_modules(const std::string& name,
                       std::vector<std::pair<std::string, Module<T>*>>& out) {
    out.emplace_back(name, this);
    for (auto& c : children_)
      c.ptr->collect_modules(name.empty() ? c.name : name + "." + c.name, out);
  }
  // training flags of this module and its descendants, in named_modules() order
  void collect_modes(std::vector<bool>& out) const {
    out.push_back(training_);
    for (auto& c : children_) c.ptr->collect_modes(out);
  }
  // Parameters then buffers, with names (the slots are writable: a module owns its slots).
  std::vector<std::pair<std::string, Tensor<T>*>> all_slots() const {
    std::vector<std::pair<std::string, Tensor<T>*>> out;
    for_each_slot(true, true, "", [&](const std::string& n, Tensor<T>* s) { out.push_back({n, s}); });
    for_each_slot(false, true, "", [&](const std::string& n, Tensor<T>* s) { out.push_back({n, s}); });
    return out;
  }

  std::vector<Slot> params_, buffers_;
  std::vector<Child> children_;
  bool training_ = true;
};

// Typed deep copy: auto teacher = nn::clone(student);  (std::shared_ptr<LeNet5<float>>)
template <class M>
std::shared_ptr<M> clone(const M& m) {
  auto c = std::dynamic_pointer_cast<M>(m.clone());
  check(c != nullptr, "clone", m.type_name(), ": clone_structure() returned another type");
  return c;
}

}  // namespace distillery::nn
