// nn/inference.hpp — planned inference without autograd and without heap allocation per call.
//
// An InferencePlan is built once from a model (or layer by layer) for a maximum batch size:
// the weights are copied and every activation buffer is carved out of ONE arena sized at plan
// time. `run(x, n, y)` then calls the CPU kernel table on raw buffers, step by step:
//   conv2d     -> KernelTable::conv2d_fused (im2col/direct conv + GEMM + bias, as ops::conv2d)
//   max_pool2d -> KernelTable::max_pool2d (its argmax indices go to a slice of the arena)
//   linear     -> KernelTable::gemm (x · Wᵀ, operands described exactly as ops::matmul does)
//                 then KernelTable::binary(add) with the bias broadcast over rows (ops::add)
//   activation -> KernelTable::unary (relu, tanh, sigmoid, gelu, mul_scalar, ...)
// The kernels are the very calls the training path's forward makes, in the same order with the
// same operand descriptions, so the results are bit-identical (tests/nn/test_inference.cpp).
//
// Allocation: `run` itself allocates nothing. The kernels keep per-thread scratch buffers that
// only grow (GEMM packing, convolution columns), so the FIRST call at a given batch size may
// allocate them; the plan warms up at batch 1 and at max_batch, in both thread layouts, when it
// is finished, and every later call performs zero heap allocations (counted by the test,
// operator new and malloc).
// Activations ping-pong between two arena slices of the largest per-batch activation.
//
//   auto plan = nn::InferencePlan<float>::lenet5(model, /*max_batch=*/8);
//   plan.run(images /*[n, 1, 28, 28]*/, n, logits /*[n, 10]*/);
//   auto plan2 = nn::InferencePlan<float>::lenet5(load_safetensors(path), 8);  // no Module at all
//
// Models: LeNet5 (nn/models.hpp), MLP, GaussianPolicy (mean), DeterministicActor, QNetwork
// (pre-concatenated input), ValueNetwork (nn/policies.hpp). Dropout layers act as in eval mode.
// Layers are recognised by type_name(), so the plan needs no RTTI (works with -fno-rtti).
#pragma once
#include <algorithm>
#include <cstring>
#include <iterator>
#include <memory>
#include <variant>
#include <vector>

#include "../backend/cpu/threads.hpp"
#include "../io/safetensors.hpp"
#include "models.hpp"
#include "policies.hpp"

namespace distillery::nn {

template <class T = float>
class InferencePlan {
 public:
  // sample_shape: one input sample, e.g. {1, 28, 28} (image) or {obs} (features).
  InferencePlan(const Shape& sample_shape, int64_t max_batch)
      : sample_(sample_shape), cur_(sample_shape), max_batch_(max_batch) {
    check(max_batch >= 1, "InferencePlan", "max_batch must be at least 1, got ", max_batch);
    check(sample_shape.size() >= 1, "InferencePlan", "empty sample shape");
  }

  // ---- building (allocates; before finish()) ------------------------------------------------
  // w [Cout, C, kh, kw], b [Cout] or undefined; input sample [C, H, W] -> [Cout, Ho, Wo]
  InferencePlan& conv2d(const Tensor<T>& w, const Tensor<T>& b, const Conv2dOptions& o = {}) {
    check_building("conv2d");
    check(w.dim() == 4 && o.groups == 1, "InferencePlan::conv2d",
          "expected a dense weight [Cout, C, kh, kw], got ", w.shape(), " groups ", o.groups);
    check(cur_.size() == 3 && cur_[0] == w.shape()[1], "InferencePlan::conv2d", "input sample ",
          cur_, " does not match weight ", w.shape());
    Step s = step(Kind::conv2d);
    s.g = distillery::detail::conv_geometry(Shape{1, cur_[0], cur_[1], cur_[2]}, w.shape()[2], w.shape()[3],
                                o, "InferencePlan::conv2d");
    s.cout = w.shape()[0];
    s.w = add_weight(w, "conv2d weight");
    if (b.defined()) {
      check(b.dim() == 1 && b.shape()[0] == s.cout, "InferencePlan::conv2d", "bias ", b.shape(),
            " does not match ", s.cout, " output channels");
      s.b = add_weight(b, "conv2d bias");
    }
    return push(s, Shape{s.cout, s.g.Ho, s.g.Wo});
  }
  // k×k windows, stride k (ops::max_pool2d(x, k)); [C, H, W] -> [C, Ho, Wo]
  InferencePlan& max_pool2d(int64_t k) {
    check_building("max_pool2d");
    check(cur_.size() == 3, "InferencePlan::max_pool2d", "expected a sample [C, H, W], got ", cur_);
    Conv2dOptions o;
    o.stride = {k, k};
    Step s = step(Kind::max_pool2d);
    s.g = distillery::detail::conv_geometry(Shape{1, cur_[0], cur_[1], cur_[2]}, k, k, o,
                                "InferencePlan::max_pool2d");
    idx_elems_ = std::max(idx_elems_, max_batch_ * s.g.C * s.g.Ho * s.g.Wo);
    return push(s, Shape{s.g.C, s.g.Ho, s.g.Wo});
  }
  // w [out, in], b [out] or undefined; input sample of `in` elements (flattened) -> [out]
  InferencePlan& linear(const Tensor<T>& w, const Tensor<T>& b) {
    check_building("linear");
    check(w.dim() == 2 && w.shape()[1] == cur_.numel(), "InferencePlan::linear", "input sample ",
          cur_, " does not match weight ", w.shape());
    Step s = step(Kind::linear);
    s.K = w.shape()[1];
    s.cout = w.shape()[0];
    s.w = add_weight(w, "linear weight");
    // Wᵀ is the view [K, out] with strides [1, K]: described as detail::gemm_operand does
    if (s.cout == 1) { s.w_trans = false; s.ldw = 1; }
    else { s.w_trans = true; s.ldw = s.K; }
    if (b.defined()) {
      check(b.dim() == 1 && b.shape()[0] == s.cout, "InferencePlan::linear", "bias ", b.shape(),
            " does not match weight ", w.shape());
      s.b = add_weight(b, "linear bias");
    }
    return push(s, Shape{s.cout});
  }
  // elementwise op (relu, tanh, sigmoid, gelu_erf, mul_scalar with p1, ...)
  InferencePlan& unary(UnaryOp op, T p1 = T(0), T p2 = T(0)) {
    check_building("unary");
    Step s = step(Kind::unary);
    s.op = op;
    s.p1 = p1;
    s.p2 = p2;
    return push(s, cur_);
  }
  InferencePlan& activation(Activation a) {
    switch (a) {
      case Activation::relu: return unary(UnaryOp::relu);
      case Activation::gelu: return unary(UnaryOp::gelu_erf);
      case Activation::tanh: return unary(UnaryOp::tanh);
      case Activation::sigmoid: return unary(UnaryOp::sigmoid);
      case Activation::identity: return *this;
    }
    return *this;
  }
  // Every layer of an MLP / Sequential of Linear, activation and Dropout (eval) modules.
  InferencePlan& sequential(const Sequential<T>& net) {
    for (size_t i = 0; i < net.size(); ++i) {
      Module<T>& m = net[i];
      const std::string t = m.type_name();
      if (t == "Linear") linear(param(m, "weight"), param(m, "bias", false));
      else if (t == "ReLU") unary(UnaryOp::relu);
      else if (t == "Tanh") unary(UnaryOp::tanh);
      else if (t == "Sigmoid") unary(UnaryOp::sigmoid);
      else if (t == "GELU") unary(UnaryOp::gelu_erf);
      else if (t == "Identity" || t == "Dropout") continue;
      else fail("InferencePlan", "layer ", i, " is a ", t, ", which the plan does not support");
    }
    return *this;
  }

  // Allocates the arena, places the weights, warms the kernels' scratch up (batch 1 and
  // max_batch). After this, run() performs no heap allocation.
  InferencePlan& finish() {
    check_building("finish");
    check(!steps_.empty(), "InferencePlan", "no layers");
    act_elems_ = 0;
    for (const Step& s : steps_) act_elems_ = std::max(act_elems_, max_batch_ * s.out);
    const size_t wbytes = align(weights_.size() * sizeof(T));
    const size_t abytes = align(size_t(act_elems_) * sizeof(T));
    const size_t ibytes = align(size_t(idx_elems_) * sizeof(int64_t));
    arena_bytes_ = wbytes + 2 * abytes + ibytes;
    arena_.reset(new unsigned char[arena_bytes_ + kAlign]);
    unsigned char* base = arena_.get();
    base += (kAlign - reinterpret_cast<uintptr_t>(base) % kAlign) % kAlign;
    w_ = reinterpret_cast<T*>(base);
    act_[0] = reinterpret_cast<T*>(base + wbytes);
    act_[1] = reinterpret_cast<T*>(base + wbytes + abytes);
    idx_ = reinterpret_cast<int64_t*>(base + wbytes + 2 * abytes);
    if (!weights_.empty()) std::memcpy(w_, weights_.data(), weights_.size() * sizeof(T));
    std::vector<T>().swap(weights_);
    finished_ = true;
    std::vector<T> x(size_t(max_batch_ * sample_.numel()), T(0)), y(size_t(max_batch_ * out_elems()));
    // Both thread layouts the pool may choose later (backend/cpu/parallel.hpp): a solo GEMM
    // packs a whole operand into chunk 0's scratch, a pooled one half of it into each chunk's.
    for (cpu::Schedule layout : {cpu::Schedule::pooled, cpu::Schedule::solo}) {
      cpu::ScheduleGuard guard(layout);
      run(x.data(), 1, y.data());
      run(x.data(), max_batch_, y.data());
    }
    return *this;
  }

  // ---- running (no allocation) --------------------------------------------------------------
  // x [n, sample...] contiguous -> y [n, output...] contiguous; 1 ≤ n ≤ max_batch.
  void run(const T* x, int64_t n, T* y) {
    check(finished_, "InferencePlan::run", "call finish() first");
    check(n >= 1 && n <= max_batch_, "InferencePlan::run", "batch ", n, " outside [1, ",
          max_batch_, "]");
    KernelTable<T>& k = cpu_kernel_table<T>();
    const T* in = x;
    for (size_t i = 0; i < steps_.size(); ++i) {
      const Step& s = steps_[i];
      T* out = i + 1 == steps_.size() ? y : act_[i % 2];
      switch (s.kind) {
        case Kind::conv2d: {
          Conv2dGeometry g = s.g;
          g.N = n;
          const bool ok = k.conv2d_fused(in, w_ + s.w, s.b >= 0 ? w_ + s.b : nullptr, g, s.cout,
                                         out, nullptr);
          check(ok, "InferencePlan::run", "the CPU table has no fused conv2d");
          break;
        }
        case Kind::max_pool2d: {
          Conv2dGeometry g = s.g;
          g.N = n;
          k.max_pool2d(in, g, out, idx_);
          break;
        }
        case Kind::linear: {  // ops::linear = matmul(x, Wᵀ) then add(y, b)
          k.gemm(false, s.w_trans, n, s.cout, s.K, T(1), in, s.K, 0, w_ + s.w, s.ldw, 0, T(0),
                 out, s.cout, n * s.cout, 1);
          if (s.b >= 0) {
            const Shape shape{n, s.cout};
            View yv, bv;
            yv.shape = bv.shape = shape;
            yv.strides = Strides{s.cout, 1};
            bv.strides = Strides{0, 1};
            k.binary(BinaryOp::add, out, yv, w_ + s.b, bv, out, shape);  // in place
          }
          break;
        }
        case Kind::unary: k.unary(s.op, in, out, n * s.in, s.p1, s.p2); break;
      }
      in = out;
    }
  }

  // ---- factories ----------------------------------------------------------------------------
  // LeNet5: x [n, C, 28, 28] (or 32×32) -> logits [n, classes]; its parameters by name, as the
  // state-dict factory below takes them (one layer sequence for both).
  static InferencePlan lenet5(const LeNet5<T>& m, int64_t max_batch) {
    StateDict sd;
    for (auto& [k, v] : m.named_parameters()) sd.emplace(k, v);
    return lenet5(sd, max_batch, m.conv1.options().padding[0] == 2 ? 28 : 32);
  }
  // LeNet5 straight from its parameters by name, e.g. a checkpoint's state dict
  // (load_safetensors of what nn::save_checkpoint wrote): conv1.weight ... fc3.bias, of type T,
  // and nothing else. image_size 28 (conv1 padding 2) or 32 (no padding), as LeNet5's
  // constructor. Builds no Module, so a program that only plans never instantiates the training
  // path (ops, autograd): the static embedded example is ~175 KB smaller (docs/embedded.md).
  static InferencePlan lenet5(const StateDict& sd, int64_t max_batch, int64_t image_size = 28) {
    const char* op = "InferencePlan::lenet5";
    check(image_size == 28 || image_size == 32, op, "image size must be 28 or 32, got ", image_size);
    static const char* const keys[] = {"conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias",
                                       "fc1.weight",   "fc1.bias",   "fc2.weight",   "fc2.bias",
                                       "fc3.weight",   "fc3.bias"};
    for (const auto& kv : sd)
      check(std::find_if(std::begin(keys), std::end(keys),
                         [&](const char* k) { return kv.first == k; }) != std::end(keys),
            op, "unexpected key '", kv.first, "' in a LeNet5 state dict");
    auto get = [&](const char* k) -> const Tensor<T>& {
      auto it = sd.find(k);
      check(it != sd.end(), op, "the state dict has no '", k, "'");
      const Tensor<T>* t = std::get_if<Tensor<T>>(&it->second);
      check(t != nullptr, op, "'", k, "' is ", dtype_name(it->second), ", the plan's type is ",
            distillery::detail::safetensors_dtype<T>());
      return *t;
    };
    check(get("conv1.weight").dim() == 4, op, "conv1.weight must be [6, C, 5, 5], got ",
          get("conv1.weight").shape());
    Conv2dOptions first;
    if (image_size == 28) first.padding = {2, 2};
    InferencePlan p(Shape{get("conv1.weight").shape()[1], image_size, image_size}, max_batch);
    p.conv2d(get("conv1.weight"), get("conv1.bias"), first).unary(UnaryOp::relu).max_pool2d(2);
    p.conv2d(get("conv2.weight"), get("conv2.bias")).unary(UnaryOp::relu).max_pool2d(2);
    p.linear(get("fc1.weight"), get("fc1.bias")).unary(UnaryOp::relu);
    p.linear(get("fc2.weight"), get("fc2.bias")).unary(UnaryOp::relu);
    p.linear(get("fc3.weight"), get("fc3.bias"));
    p.finish();
    return p;
  }
  // MLP: x [n, in] -> [n, out]
  static InferencePlan mlp(const MLP<T>& m, int64_t max_batch) {
    InferencePlan p(Shape{m.sizes().front()}, max_batch);
    p.sequential(m).finish();
    return p;
  }
  // GaussianPolicy: obs -> mean action; ValueNetwork: obs -> V; QNetwork: [obs, act] -> Q
  static InferencePlan policy(const GaussianPolicy<T>& m, int64_t max_batch) { return mlp(m.net, max_batch); }
  static InferencePlan policy(const ValueNetwork<T>& m, int64_t max_batch) { return mlp(m.net, max_batch); }
  static InferencePlan policy(const QNetwork<T>& m, int64_t max_batch) { return mlp(m.net, max_batch); }
  // DeterministicActor: obs -> max_action · tanh(MLP(obs))
  static InferencePlan policy(const DeterministicActor<T>& m, T max_action, int64_t max_batch) {
    InferencePlan p(Shape{m.net.sizes().front()}, max_batch);
    p.sequential(m.net).unary(UnaryOp::tanh).unary(UnaryOp::mul_scalar, max_action).finish();
    return p;
  }

  int64_t max_batch() const { return max_batch_; }
  int64_t in_elems() const { return sample_.numel(); }  // per sample
  int64_t out_elems() const { return steps_.empty() ? 0 : steps_.back().out; }
  const Shape& output_shape() const { return cur_; }  // per sample
  size_t arena_bytes() const { return arena_bytes_; }
  size_t num_steps() const { return steps_.size(); }

 private:
  enum class Kind : uint8_t { conv2d, max_pool2d, linear, unary };
  struct Step {
    Kind kind;
    Conv2dGeometry g{};        // conv2d / max_pool2d, N = 1 (set per call)
    int64_t in = 0, out = 0;   // elements per sample
    int64_t cout = 0, K = 0;   // conv: output channels; linear: out and in features
    int64_t w = -1, b = -1;    // element offsets into the weights (-1: none)
    bool w_trans = true;
    int64_t ldw = 0;
    UnaryOp op = UnaryOp::relu;
    T p1 = T(0), p2 = T(0);
  };
  static constexpr size_t kAlign = 64;
  static size_t align(size_t b) { return (b + kAlign - 1) / kAlign * kAlign; }

  void check_building(const char* what) const {
    check(!finished_, "InferencePlan", what, ": the plan is already finished");
  }
  Step step(Kind k) const {
    Step s;
    s.kind = k;
    s.in = cur_.numel();
    return s;
  }
  InferencePlan& push(Step s, const Shape& out) {
    s.out = out.numel();
    steps_.push_back(s);
    cur_ = out;
    return *this;
  }
  // appends a contiguous float copy, padded so every tensor starts on a 64-byte boundary
  int64_t add_weight(const Tensor<T>& t, const char* what) {
    check(t.device() == Device::cpu, "InferencePlan", what, " must be on the CPU");
    const int64_t at = int64_t(weights_.size());
    Tensor<T> c = t.detach().contiguous();
    weights_.insert(weights_.end(), c.data_ptr(), c.data_ptr() + c.numel());
    weights_.resize(align(weights_.size() * sizeof(T)) / sizeof(T), T(0));
    return at;
  }
  static Tensor<T> param(const Module<T>& m, const char* name, bool required = true) {
    for (auto& [k, v] : m.named_parameters(false))
      if (k == name) return v;
    check(!required, "InferencePlan", "layer ", m.type_name(), " has no parameter ", name);
    return Tensor<T>();
  }

  Shape sample_, cur_;
  int64_t max_batch_;
  std::vector<Step> steps_;
  std::vector<T> weights_;  // staging until finish()
  int64_t act_elems_ = 0, idx_elems_ = 0;
  std::unique_ptr<unsigned char[]> arena_;
  size_t arena_bytes_ = 0;
  T* w_ = nullptr;
  T* act_[2] = {nullptr, nullptr};
  int64_t* idx_ = nullptr;
  bool finished_ = false;
};

}  // namespace distillery::nn
