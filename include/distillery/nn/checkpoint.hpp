// nn/checkpoint.hpp — a Module's state dict to and from safetensors files (io/safetensors.hpp).
//
// Keys are the module's dotted names, so a file written here loads in PyTorch with
// `model.load_state_dict(safetensors.torch.load_file(path))` for a model with the same names,
// and vice versa. Loading converts dtypes (an F64 file loads into a float model) and copies
// values in place, so optimizers built on the model stay valid.
//
//   nn::save_checkpoint("lenet.safetensors", model, {{"epoch", "10"}});
//   nn::load_checkpoint("lenet.safetensors", model);
#pragma once
#include <string>

#include "../io/safetensors.hpp"
#include "module.hpp"

namespace distillery::nn {

// A typed state dict of the model as the variant map io/safetensors.hpp writes.
template <class T>
StateDict state_dict_any(const Module<T>& model) {
  return to_state_dict(model.state_dict());
}

// Loads a StateDict (any dtypes; converted to T) into the model; strict as Module::load_state_dict.
template <class T>
void load_state_dict(Module<T>& model, const StateDict& sd, bool strict = true) {
  std::map<std::string, Tensor<T>> typed;
  for (const auto& kv : sd) {
    std::visit([&](const auto& t) { typed.emplace(kv.first, t.template to<T>()); }, kv.second);
  }
  model.load_state_dict(typed, strict);
}

template <class T>
void save_checkpoint(const std::string& path, const Module<T>& model, const Metadata& metadata = {}) {
  save_safetensors(path, state_dict_any(model), metadata);
}

template <class T>
void load_checkpoint(const std::string& path, Module<T>& model, bool strict = true,
                     Metadata* metadata = nullptr) {
  load_state_dict(model, load_safetensors(path, metadata), strict);
}

}  // namespace distillery::nn
