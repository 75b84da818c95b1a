// nn/container.hpp — Sequential and MLP.
//
// Sequential owns its children (shared_ptr) and names them "0", "1", ... as torch.nn.Sequential,
// so a Sequential's state dict has keys like "0.weight", "2.bias". MLP is a Sequential of
// Linear / activation (/ Dropout) layers built from a list of sizes:
//   MLP({obs, 64, 64, act}, gen)  =  Linear(obs,64) ReLU Linear(64,64) ReLU Linear(64,act)
// with state-dict keys "0.weight", "2.weight", "4.weight" (the activations hold no parameters).
//
//   auto net = nn::Sequential<float>({std::make_shared<nn::Conv2d<float>>(1, 6, 5, gen, 1, 2),
//                                     std::make_shared<nn::ReLU<float>>(),
//                                     std::make_shared<nn::Flatten<float>>()});
#pragma once
#include <initializer_list>
#include <string>
#include <vector>

#include "layers.hpp"

namespace distillery::nn {

template <class T = float>
class Sequential : public Module<T> {
 public:
  Sequential() = default;
  Sequential(std::initializer_list<std::shared_ptr<Module<T>>> layers) {
    for (auto& l : layers) push_back(l);
  }
  explicit Sequential(const std::vector<std::shared_ptr<Module<T>>>& layers) {
    for (auto& l : layers) push_back(l);
  }

  // Appends a layer under the next index name; returns it with its own type.
  template <class M>
  std::shared_ptr<M> push_back(std::shared_ptr<M> layer) {
    layers_.push_back(layer);
    return this->register_module(std::to_string(layers_.size() - 1), std::move(layer));
  }
  size_t size() const { return layers_.size(); }
  Module<T>& operator[](size_t i) const {
    check(i < layers_.size(), "Sequential", "index ", i, " out of range for ", layers_.size(),
          " layers");
    return *layers_[i];
  }
  template <class M>
  M& at(size_t i) const {
    M* m = dynamic_cast<M*>(&(*this)[i]);
    check(m != nullptr, "Sequential::at", "layer ", i, " is a ", layers_[i]->type_name());
    return *m;
  }

  std::string type_name() const override { return "Sequential"; }
  // x -> layer_{n-1}(... layer_0(x)); shapes as the layers dictate.
  Tensor<T> forward(const Tensor<T>& x) override {
    Tensor<T> h = x;
    for (auto& l : layers_) h = l->forward(h);
    return h;
  }
  std::shared_ptr<Module<T>> clone_structure() const override {
    auto s = std::make_shared<Sequential>();
    for (auto& l : layers_) s->push_back(l->clone_structure());
    return s;
  }

 private:
  std::vector<std::shared_ptr<Module<T>>> layers_;
};

struct MLPOptions {
  Activation activation = Activation::relu;
  bool activate_output = false;   // an activation after the last Linear too
  double dropout = 0.0;           // Dropout after every hidden activation when > 0
  Init init = Init::pytorch;
};

template <class T = float>
class MLP : public Sequential<T> {
 public:
  // sizes = {in, hidden..., out}; at least two entries.
  MLP(std::vector<int64_t> sizes, Generator& gen, MLPOptions options = {})
      : sizes_(std::move(sizes)), opt_(options) {
    check(sizes_.size() >= 2, "MLP", "need at least input and output sizes, got ", sizes_.size());
    for (size_t i = 0; i + 1 < sizes_.size(); ++i) {
      this->push_back(std::make_shared<Linear<T>>(sizes_[i], sizes_[i + 1], gen, true, opt_.init));
      const bool last = i + 2 == sizes_.size();
      if (!last || opt_.activate_output) {
        this->push_back(std::make_shared<ActivationModule<T>>(opt_.activation));
        if (!last && opt_.dropout > 0) this->push_back(std::make_shared<Dropout<T>>(opt_.dropout, gen));
      }
    }
  }
  std::string type_name() const override { return "MLP"; }
  std::shared_ptr<Module<T>> clone_structure() const override {
    Generator g;
    return std::make_shared<MLP>(sizes_, g, opt_);
  }
  const std::vector<int64_t>& sizes() const { return sizes_; }

 private:
  std::vector<int64_t> sizes_;
  MLPOptions opt_;
};

}  // namespace distillery::nn
