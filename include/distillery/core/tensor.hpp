// core/tensor.hpp — Tensor<T>: a handle to (storage, shape, strides, offset) plus autograd state.
//
// Tensor<T> is a cheap, shared handle (like torch.Tensor): copying it aliases the same data.
// T is float or double for differentiable tensors and int64_t for indices. Views (reshape,
// transpose, narrow, expand, ...) share storage; `contiguous()` copies only when needed.
// Autograd state: `requires_grad`, `grad()`, and the graph node that produced the tensor
// (see autograd/node.hpp). Methods that run ops (sum, matmul, ...) are defined in
// ops/tensor_methods.hpp, so this header stays about data.
//
//   auto x = Tensor<double>::randn({3, 4}).requires_grad_();
//   auto y = (x * x).sum();
//   y.backward();            // x.grad() == 2 x
#pragma once
#include <algorithm>
#include <cmath>
#include <mutex>
#include <memory>
#include <iosfwd>
#include <string>
#include <type_traits>
#include <vector>

#include "error.hpp"
#include "rng.hpp"
#include "shape.hpp"
#include "storage.hpp"

namespace distillery {

template <class T> struct Node;
template <class T> class Tensor;

template <class T>
struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Strides strides;
  int64_t offset = 0;
  bool requires_grad = false;
  std::shared_ptr<Node<T>> node;          // grad_fn (non-leaf) or accumulator (leaf)
  std::shared_ptr<TensorImpl<T>> grad;    // accumulated gradient of a leaf
};

// Thread-local switch used by no_grad (autograd/grad_mode.hpp).
inline bool& grad_mode_flag() {
  thread_local bool enabled = true;
  return enabled;
}

template <class T>
class Tensor {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double> ||
                    std::is_same_v<T, int64_t>,
                "Tensor<T>: T must be float, double or int64_t");

 public:
  using Scalar = T;
  using Impl = TensorImpl<T>;

  Tensor() = default;
  explicit Tensor(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

  // ---- factories -------------------------------------------------------------------------
  // Shapes are validated (non-negative extents, no size overflow) before anything is allocated.
  static Tensor empty(const Shape& shape, Device d = Device::cpu) {
    const int64_t n = checked_numel(shape, "empty", sizeof(T));
    auto impl = std::make_shared<Impl>();
    impl->storage = std::make_shared<Storage>(sizeof(T) * static_cast<std::size_t>(n), d);
    impl->shape = shape;
    impl->strides = contiguous_strides(shape);
    return Tensor(std::move(impl));
  }
  static Tensor full(const Shape& shape, T value, Device d = Device::cpu) {
    Tensor t = empty(shape, d);
    kernels<T>(d).fill(t.data_ptr(), t.numel(), value);
    return t;
  }
  static Tensor zeros(const Shape& shape, Device d = Device::cpu) { return full(shape, T(0), d); }
  static Tensor ones(const Shape& shape, Device d = Device::cpu) { return full(shape, T(1), d); }
  static Tensor scalar(T value, Device d = Device::cpu) { return full(Shape{}, value, d); }
  static Tensor from_vector(const std::vector<T>& v, const Shape& shape, Device d = Device::cpu) {
    const int64_t n = checked_numel(shape, "from_vector", sizeof(T));
    check(static_cast<int64_t>(v.size()) == n, "from_vector", "expected ", n,
          " values for shape ", shape, ", got ", v.size());
    Tensor t = empty(shape, d);
    if (!v.empty()) runtime(d)->copy_from_host(t.data_ptr(), v.data(), sizeof(T) * v.size());
    return t;
  }
  static Tensor from_vector(const std::vector<T>& v) {
    return from_vector(v, Shape{static_cast<int64_t>(v.size())});
  }
  static Tensor arange(int64_t n, Device d = Device::cpu) { return arange(0, n, 1, d); }
  static Tensor arange(double start, double stop, double step = 1, Device d = Device::cpu) {
    check(std::isfinite(start) && std::isfinite(stop) && std::isfinite(step), "arange",
          "start, stop and step must be finite, got ", start, ", ", stop, ", ", step);
    check(step != 0, "arange", "step must be non-zero");
    const double count = std::ceil((stop - start) / step);  // finite here, may be huge
    check(count <= double(int64_t(1) << 52), "arange", "too many elements (", count,
          ") for start ", start, ", stop ", stop, ", step ", step);
    const int64_t n = std::max<int64_t>(static_cast<int64_t>(count), 0);
    checked_numel(Shape{n}, "arange", sizeof(T));
    std::vector<T> v(n);
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<T>(start + step * double(i));
    return from_vector(v, Shape{static_cast<int64_t>(v.size())}, d);
  }
  // Uniform [lo, hi) from `gen` (values drawn on the host, so every device sees the same bits).
  static Tensor rand(const Shape& shape, Generator& gen, double lo = 0, double hi = 1,
                     Device d = Device::cpu) {
    std::vector<T> v(checked_numel(shape, "rand", sizeof(T)));
    std::lock_guard<std::mutex> lk(gen.mutex());
    for (auto& x : v) x = static_cast<T>(gen.uniform(lo, hi));
    return from_vector(v, shape, d);
  }
  static Tensor randn(const Shape& shape, Generator& gen, double mean = 0, double std = 1,
                      Device d = Device::cpu) {
    std::vector<T> v(checked_numel(shape, "randn", sizeof(T)));
    std::lock_guard<std::mutex> lk(gen.mutex());
    for (auto& x : v) x = static_cast<T>(mean + std * gen.normal());
    return from_vector(v, shape, d);
  }
  static Tensor rand(const Shape& shape) { return rand(shape, default_generator()); }
  static Tensor randn(const Shape& shape) { return randn(shape, default_generator()); }

  // ---- metadata --------------------------------------------------------------------------
  bool defined() const { return impl_ != nullptr; }
  // Metadata of an undefined tensor (default-constructed, or an absent .grad()) throws
  // "tensor: undefined tensor"; ops check their inputs first and name themselves instead.
  const Shape& shape() const { return get().shape; }
  const Shape& sizes() const { return get().shape; }
  const Strides& strides() const { return get().strides; }
  int64_t size(int64_t d) const { return get().shape[normalize_dim(d, dim(), "size")]; }
  int64_t stride(int64_t d) const { return get().strides[normalize_dim(d, dim(), "stride")]; }
  int64_t storage_offset() const { return get().offset; }
  int dim() const { return get().shape.size(); }
  int64_t numel() const { return get().shape.numel(); }
  Device device() const { return get().storage->device(); }
  bool is_cuda() const { return device() == Device::cuda; }
  bool is_contiguous() const {
    int64_t expect = 1;
    const Impl& m = get();
    for (int d = dim() - 1; d >= 0; --d) {
      if (m.shape[d] != 1 && m.strides[d] != expect) return false;
      expect *= m.shape[d];
    }
    return true;
  }
  // Version of the storage (bumped by every in-place write; see Storage::version).
  uint64_t version() const { return get().storage->version(); }
  bool same_storage(const Tensor& o) const { return get().storage == o.get().storage; }
  Impl* impl() const { return impl_.get(); }
  const std::shared_ptr<Impl>& impl_ptr() const { return impl_; }
  View view() const { return View{get().shape, get().strides, get().offset}; }

  // Raw pointers: base of the storage, and the first element of this view.
  T* base_ptr() const { return static_cast<T*>(get().storage->data()); }
  T* data_ptr() const { return base_ptr() + get().offset; }

  // A tensor sharing storage with new geometry (no autograd link: ops/view.hpp adds it).
  Tensor alias(const Shape& shape, const Strides& strides, int64_t offset) const {
    auto impl = std::make_shared<Impl>();
    impl->storage = get().storage;
    impl->shape = shape;
    impl->strides = strides;
    impl->offset = offset;
    return Tensor(std::move(impl));
  }

  // ---- host access -----------------------------------------------------------------------
  std::vector<T> to_vector() const;  // row-major copy to the host (ops/tensor_methods.hpp)
  T item() const {
    check(numel() == 1, "item", "expected a tensor with one element, got shape ", shape());
    T v;
    runtime(device())->copy_to_host(&v, data_ptr(), sizeof(T));
    return v;
  }

  // ---- autograd state --------------------------------------------------------------------
  bool requires_grad() const { return impl_ && impl_->requires_grad; }
  Tensor& requires_grad_(bool on = true) {
    static_assert(std::is_floating_point_v<T>, "requires_grad_: only float/double tensors");
    get();
    check(is_leaf(), "requires_grad_", "only leaf tensors can change requires_grad; use "
          "detach() first");
    impl_->requires_grad = on;
    if (!on) impl_->node.reset();
    return *this;
  }
  bool is_leaf() const;                              // autograd/node.hpp
  Tensor grad() const { return get().grad ? Tensor(impl_->grad) : Tensor(); }
  void set_grad(const Tensor& g) const { get().grad = g.impl_; }
  void zero_grad() const { get().grad.reset(); }
  const char* grad_fn_name() const;                  // autograd/node.hpp
  void backward(const Tensor& grad_output = Tensor(), bool retain_graph = false,
                bool create_graph = false) const;    // autograd/engine.hpp
  Tensor detach() const {
    auto impl = std::make_shared<Impl>();
    impl->storage = get().storage;
    impl->shape = impl_->shape;
    impl->strides = impl_->strides;
    impl->offset = impl_->offset;
    return Tensor(std::move(impl));
  }

  // ---- ops as methods (defined in ops/tensor_methods.hpp) --------------------------------
  Tensor contiguous() const;
  Tensor clone() const;
  template <class U> Tensor<U> to() const;
  Tensor to(Device d) const;
  Tensor reshape(const Shape& s) const;
  Tensor view(const Shape& s) const;
  Tensor flatten(int64_t start = 0, int64_t end = -1) const;
  Tensor transpose(int64_t a, int64_t b) const;
  Tensor t() const;
  Tensor permute(const std::vector<int64_t>& order) const;
  Tensor unsqueeze(int64_t d) const;
  Tensor squeeze(int64_t d) const;
  Tensor squeeze() const;
  Tensor expand(const Shape& s) const;
  Tensor narrow(int64_t d, int64_t start, int64_t length) const;
  Tensor slice(int64_t d, int64_t start, int64_t end, int64_t step = 1) const;
  Tensor select(int64_t d, int64_t index) const;
  Tensor sum() const;
  Tensor sum(const std::vector<int64_t>& dims, bool keepdim = false) const;
  Tensor mean() const;
  Tensor mean(const std::vector<int64_t>& dims, bool keepdim = false) const;
  Tensor matmul(const Tensor& o) const;
  Tensor pow(double p) const;
  Tensor exp() const;
  Tensor log() const;
  Tensor sqrt() const;
  Tensor abs() const;

 private:
  Impl& get() const {
    if (!impl_) fail("tensor", "undefined tensor (a default-constructed Tensor has no data)");
    return *impl_;
  }
  std::shared_ptr<Impl> impl_;
};

using TensorF = Tensor<float>;
using TensorD = Tensor<double>;
using IndexTensor = Tensor<int64_t>;

// "Tensor(shape=[3], device=cpu, values=[0.5, -1, 2])" (at most 20 values, "%g" each).
template <class T>
std::string to_string(const Tensor<T>& t) {
  if (!t.defined()) return "Tensor(undefined)";
  auto v = t.to_vector();
  std::string s = "Tensor(shape=" + t.shape().str() + ", device=" + device_name(t.device());
  if (t.requires_grad()) s += ", requires_grad";
  s += ", values=[";
  const size_t show = std::min<size_t>(v.size(), 20);
  for (size_t i = 0; i < show; ++i) {
    if (i) s += ", ";
    format_part(s, v[i]);
  }
  if (v.size() > show) s += ", ... (" + std::to_string(v.size()) + " values)";
  return s + "])";
}
template <class T>
std::ostream& operator<<(std::ostream& os, const Tensor<T>& t) {
  return os << to_string(t);
}

}  // namespace distillery
