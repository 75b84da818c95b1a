// nn/layers.hpp — the standard layers, thin Modules over the free ops of ops/.
//
// Each layer holds its parameters as public members (so `fc.weight` reads like PyTorch), names
// them like PyTorch (`weight`, `bias`), initialises them like PyTorch (nn/init.hpp) from an
// explicit Generator, and forwards to one op. Shapes:
//   Linear(in, out)             x [..., in]          -> [..., out]     weight [out, in], bias [out]
//   Conv2d(in, out, k)          x [N, in, H, W]      -> [N, out, Ho, Wo]  weight [out, in/g, kh, kw]
//   Conv1d(in, out, k)          x [N, in, L]         -> [N, out, Lo]      weight [out, in/g, k]
//   MaxPool2d(k) / AvgPool2d(k) x [N, C, H, W]       -> [N, C, Ho, Wo]
//   Flatten(start=1, end=-1)    x [N, C, H, W]       -> [N, C·H·W]
//   LayerNorm(shape)            x [..., *shape]      -> same          weight, bias [*shape]
//   Embedding(V, D)             ids [...] (int64)    -> [..., D]      weight [V, D]
//   Dropout(p), ReLU, GELU, Tanh, Sigmoid, Identity: elementwise, same shape.
//
//   Generator gen(0);
//   nn::Linear<float> fc(784, 10, gen);          auto y = fc(x);     // x [B, 784] -> [B, 10]
#pragma once
#include <array>
#include <cmath>

#include "init.hpp"
#include "module.hpp"

namespace distillery::nn {

template <class T = float>
class Linear : public Module<T> {
 public:
  Tensor<T> weight, bias;  // [out, in], [out] (undefined without bias)

  Linear(int64_t in, int64_t out, Generator& gen, bool with_bias = true, Init scheme = Init::pytorch)
      : in_(in), out_(out), bias_(with_bias), init_(scheme) {
    check(in > 0 && out > 0, "Linear", "features must be positive, got ", in, " -> ", out);
    weight = Tensor<T>::empty({out, in});
    this->register_parameter("weight", &weight);
    if (with_bias) {
      bias = Tensor<T>::empty({out});
      this->register_parameter("bias", &bias);
    }
    reset_parameters(gen);
  }
  std::string type_name() const override { return "Linear"; }
  Tensor<T> forward(const Tensor<T>& x) override { return linear(x, weight, bias); }
  void reset_parameters(Generator& gen) override { init::weight_and_bias_(weight, bias, init_, gen); }
  std::shared_ptr<Module<T>> clone_structure() const override {
    Generator g;
    return std::make_shared<Linear>(in_, out_, g, bias_, init_);
  }
  int64_t in_features() const { return in_; }
  int64_t out_features() const { return out_; }

 private:
  int64_t in_, out_;
  bool bias_;
  Init init_;
};

template <class T = float>
class Conv2d : public Module<T> {
 public:
  Tensor<T> weight, bias;  // [out, in/groups, kh, kw], [out]

  Conv2d(int64_t in, int64_t out, std::array<int64_t, 2> kernel, Generator& gen,
         Conv2dOptions options = {}, bool with_bias = true, Init scheme = Init::pytorch)
      : in_(in), out_(out), kernel_(kernel), opt_(options), bias_(with_bias), init_(scheme) {
    check(in > 0 && out > 0 && kernel[0] > 0 && kernel[1] > 0 && options.groups > 0 &&
              in % options.groups == 0 && out % options.groups == 0,
          "Conv2d", "invalid channels ", in, " -> ", out, " / kernel ", kernel[0], "x", kernel[1],
          " / groups ", options.groups);
    weight = Tensor<T>::empty({out, in / options.groups, kernel[0], kernel[1]});
    this->register_parameter("weight", &weight);
    if (with_bias) {
      bias = Tensor<T>::empty({out});
      this->register_parameter("bias", &bias);
    }
    reset_parameters(gen);
  }
  // Square kernel k×k with the given stride and padding.
  Conv2d(int64_t in, int64_t out, int64_t k, Generator& gen, int64_t stride = 1,
         int64_t padding = 0, bool with_bias = true, Init scheme = Init::pytorch)
      : Conv2d(in, out, {k, k}, gen, square_options(stride, padding), with_bias, scheme) {}

  std::string type_name() const override { return "Conv2d"; }
  Tensor<T> forward(const Tensor<T>& x) override { return conv2d(x, weight, bias, opt_); }
  void reset_parameters(Generator& gen) override { init::weight_and_bias_(weight, bias, init_, gen); }
  std::shared_ptr<Module<T>> clone_structure() const override {
    Generator g;
    return std::make_shared<Conv2d>(in_, out_, kernel_, g, opt_, bias_, init_);
  }
  const Conv2dOptions& options() const { return opt_; }

  static Conv2dOptions square_options(int64_t stride, int64_t padding) {
    Conv2dOptions o;
    o.stride = {stride, stride};
    o.padding = {padding, padding};
    return o;
  }

 private:
  int64_t in_, out_;
  std::array<int64_t, 2> kernel_;
  Conv2dOptions opt_;
  bool bias_;
  Init init_;
};

template <class T = float>
class Conv1d : public Module<T> {
 public:
  Tensor<T> weight, bias;  // [out, in/groups, k], [out]

  Conv1d(int64_t in, int64_t out, int64_t k, Generator& gen, int64_t stride = 1,
         int64_t padding = 0, int64_t dilation = 1, int64_t groups = 1, bool with_bias = true,
         Init scheme = Init::pytorch)
      : in_(in), out_(out), k_(k), stride_(stride), padding_(padding), dilation_(dilation),
        groups_(groups), bias_(with_bias), init_(scheme) {
    check(in > 0 && out > 0 && k > 0 && groups > 0 && in % groups == 0 && out % groups == 0,
          "Conv1d", "invalid channels ", in, " -> ", out, " / kernel ", k, " / groups ", groups);
    weight = Tensor<T>::empty({out, in / groups, k});
    this->register_parameter("weight", &weight);
    if (with_bias) {
      bias = Tensor<T>::empty({out});
      this->register_parameter("bias", &bias);
    }
    reset_parameters(gen);
  }
  std::string type_name() const override { return "Conv1d"; }
  Tensor<T> forward(const Tensor<T>& x) override {
    return conv1d(x, weight, bias, stride_, padding_, dilation_, groups_);
  }
  void reset_parameters(Generator& gen) override { init::weight_and_bias_(weight, bias, init_, gen); }
  std::shared_ptr<Module<T>> clone_structure() const override {
    Generator g;
    return std::make_shared<Conv1d>(in_, out_, k_, g, stride_, padding_, dilation_, groups_,
                                    bias_, init_);
  }

 private:
  int64_t in_, out_, k_, stride_, padding_, dilation_, groups_;
  bool bias_;
  Init init_;
};

template <class T = float>
class MaxPool2d : public Module<T> {
 public:
  explicit MaxPool2d(int64_t kernel, int64_t stride = 0, int64_t padding = 0)
      : k_(kernel), s_(stride), p_(padding) {}
  std::string type_name() const override { return "MaxPool2d"; }
  Tensor<T> forward(const Tensor<T>& x) override { return max_pool2d(x, k_, s_, p_); }
  std::shared_ptr<Module<T>> clone_structure() const override {
    return std::make_shared<MaxPool2d>(k_, s_, p_);
  }

 private:
  int64_t k_, s_, p_;
};

template <class T = float>
class AvgPool2d : public Module<T> {
 public:
  explicit AvgPool2d(int64_t kernel, int64_t stride = 0, int64_t padding = 0)
      : k_(kernel), s_(stride), p_(padding) {}
  std::string type_name() const override { return "AvgPool2d"; }
  Tensor<T> forward(const Tensor<T>& x) override { return avg_pool2d(x, k_, s_, p_); }
  std::shared_ptr<Module<T>> clone_structure() const override {
    return std::make_shared<AvgPool2d>(k_, s_, p_);
  }

 private:
  int64_t k_, s_, p_;
};

template <class T = float>
class Flatten : public Module<T> {
 public:
  explicit Flatten(int64_t start = 1, int64_t end = -1) : start_(start), end_(end) {}
  std::string type_name() const override { return "Flatten"; }
  Tensor<T> forward(const Tensor<T>& x) override { return flatten(x, start_, end_); }
  std::shared_ptr<Module<T>> clone_structure() const override {
    return std::make_shared<Flatten>(start_, end_);
  }

 private:
  int64_t start_, end_;
};

// Dropout owns a Generator seeded at construction, so runs are reproducible per module.
template <class T = float>
class Dropout : public Module<T> {
 public:
  explicit Dropout(double p, uint64_t seed = 0xD509) : p_(p), gen_(seed) {
    check(p >= 0 && p < 1, "Dropout", "probability must be in [0, 1), got ", p);
  }
  Dropout(double p, Generator& gen) : Dropout(p, gen.next_u64()) {}
  std::string type_name() const override { return "Dropout"; }
  Tensor<T> forward(const Tensor<T>& x) override {
    return dropout(x, p_, this->is_training(), gen_);
  }
  std::shared_ptr<Module<T>> clone_structure() const override {
    return std::make_shared<Dropout>(p_, gen_.next_u64());
  }
  double p() const { return p_; }
  Generator& generator() { return gen_; }
  void seed_dropout(uint64_t seed) { gen_.seed_(seed); }

 private:
  double p_;
  mutable Generator gen_;
};

// Activation modules (no parameters). Activation::identity passes the input through.
enum class Activation { relu, gelu, tanh, sigmoid, identity };

template <class T>
Tensor<T> activate(const Tensor<T>& x, Activation a) {
  switch (a) {
    case Activation::relu: return relu(x);
    case Activation::gelu: return gelu(x);
    case Activation::tanh: return tanh(x);
    case Activation::sigmoid: return sigmoid(x);
    case Activation::identity: return x;
  }
  return x;
}
inline const char* activation_name(Activation a) {
  switch (a) {
    case Activation::relu: return "ReLU";
    case Activation::gelu: return "GELU";
    case Activation::tanh: return "Tanh";
    case Activation::sigmoid: return "Sigmoid";
    case Activation::identity: return "Identity";
  }
  return "?";
}

template <class T = float>
class ActivationModule : public Module<T> {
 public:
  explicit ActivationModule(Activation a) : a_(a) {}
  std::string type_name() const override { return activation_name(a_); }
  Tensor<T> forward(const Tensor<T>& x) override { return activate(x, a_); }
  std::shared_ptr<Module<T>> clone_structure() const override {
    return std::make_shared<ActivationModule>(a_);
  }
  Activation activation() const { return a_; }

 private:
  Activation a_;
};
template <class T = float> struct ReLU : ActivationModule<T> { ReLU() : ActivationModule<T>(Activation::relu) {} };
template <class T = float> struct GELU : ActivationModule<T> { GELU() : ActivationModule<T>(Activation::gelu) {} };
template <class T = float> struct Tanh : ActivationModule<T> { Tanh() : ActivationModule<T>(Activation::tanh) {} };
template <class T = float> struct Sigmoid : ActivationModule<T> { Sigmoid() : ActivationModule<T>(Activation::sigmoid) {} };
template <class T = float> struct Identity : ActivationModule<T> { Identity() : ActivationModule<T>(Activation::identity) {} };

template <class T = float>
class LayerNorm : public Module<T> {
 public:
  Tensor<T> weight, bias;  // [*normalized_shape] (undefined without elementwise_affine)

  explicit LayerNorm(Shape normalized_shape, double eps = 1e-5, bool elementwise_affine = true)
      : shape_(normalized_shape), eps_(eps), affine_(elementwise_affine) {
    if (affine_) {
      weight = Tensor<T>::ones(shape_);
      bias = Tensor<T>::zeros(shape_);
      this->register_parameter("weight", &weight);
      this->register_parameter("bias", &bias);
    }
  }
  explicit LayerNorm(int64_t dim, double eps = 1e-5, bool elementwise_affine = true)
      : LayerNorm(Shape{dim}, eps, elementwise_affine) {}
  std::string type_name() const override { return "LayerNorm"; }
  Tensor<T> forward(const Tensor<T>& x) override { return layer_norm(x, shape_, weight, bias, eps_); }
  void reset_parameters(Generator&) override {
    if (!affine_) return;
    init::ones_(weight);
    init::zeros_(bias);
  }
  std::shared_ptr<Module<T>> clone_structure() const override {
    return std::make_shared<LayerNorm>(shape_, eps_, affine_);
  }

 private:
  Shape shape_;
  double eps_;
  bool affine_;
};

template <class T = float>
class Embedding : public Module<T> {
 public:
  Tensor<T> weight;  // [num_embeddings, dim]

  Embedding(int64_t num_embeddings, int64_t dim, Generator& gen) : n_(num_embeddings), d_(dim) {
    check(num_embeddings > 0 && dim > 0, "Embedding", "sizes must be positive, got ",
          num_embeddings, " x ", dim);
    weight = Tensor<T>::empty({num_embeddings, dim});
    this->register_parameter("weight", &weight);
    reset_parameters(gen);
  }
  std::string type_name() const override { return "Embedding"; }
  Tensor<T> forward(const Tensor<int64_t>& ids) { return embedding(weight, ids); }
  using Module<T>::forward;
  void reset_parameters(Generator& gen) override { init::normal_(weight, 0.0, 1.0, gen); }
  std::shared_ptr<Module<T>> clone_structure() const override {
    Generator g;
    return std::make_shared<Embedding>(n_, d_, g);
  }
  int64_t num_embeddings() const { return n_; }
  int64_t embedding_dim() const { return d_; }

 private:
  int64_t n_, d_;
};

}  // namespace distillery::nn
