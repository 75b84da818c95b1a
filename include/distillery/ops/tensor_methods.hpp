// ops/tensor_methods.hpp — Tensor<T> member functions that forward to the free ops, plus
// device/dtype conversion. Kept apart so core/tensor.hpp stays about data.
#pragma once
#include "index.hpp"

namespace distillery {

template <class T>
std::vector<T> Tensor<T>::to_vector() const {
  Tensor<T> c = raw_contiguous(*this);
  std::vector<T> v(numel());
  if (!v.empty()) runtime(device())->copy_to_host(v.data(), c.data_ptr(), sizeof(T) * v.size());
  return v;
}

template <class T> Tensor<T> Tensor<T>::contiguous() const { return distillery::contiguous(*this); }
template <class T> Tensor<T> Tensor<T>::clone() const { return distillery::clone(*this); }
template <class T> Tensor<T> Tensor<T>::reshape(const Shape& s) const { return distillery::reshape(*this, s); }
template <class T> Tensor<T> Tensor<T>::view(const Shape& s) const { return distillery::view(*this, s); }
template <class T> Tensor<T> Tensor<T>::flatten(int64_t a, int64_t b) const { return distillery::flatten(*this, a, b); }
template <class T> Tensor<T> Tensor<T>::transpose(int64_t a, int64_t b) const { return distillery::transpose(*this, a, b); }
template <class T> Tensor<T> Tensor<T>::t() const {
  check(dim() <= 2, "t", "expects a tensor with <= 2 dims, got shape ", shape());
  return dim() < 2 ? *this : distillery::transpose(*this, 0, 1);
}
template <class T> Tensor<T> Tensor<T>::permute(const std::vector<int64_t>& o) const { return distillery::permute(*this, o); }
template <class T> Tensor<T> Tensor<T>::unsqueeze(int64_t d) const { return distillery::unsqueeze(*this, d); }
template <class T> Tensor<T> Tensor<T>::squeeze(int64_t d) const { return distillery::squeeze(*this, d); }
template <class T> Tensor<T> Tensor<T>::squeeze() const { return distillery::squeeze(*this); }
template <class T> Tensor<T> Tensor<T>::expand(const Shape& s) const { return distillery::expand(*this, s); }
template <class T> Tensor<T> Tensor<T>::narrow(int64_t d, int64_t s, int64_t l) const { return distillery::narrow(*this, d, s, l); }
template <class T> Tensor<T> Tensor<T>::slice(int64_t d, int64_t s, int64_t e, int64_t st) const { return distillery::slice(*this, d, s, e, st); }
template <class T> Tensor<T> Tensor<T>::select(int64_t d, int64_t i) const { return distillery::select(*this, d, i); }
template <class T> Tensor<T> Tensor<T>::sum() const { return distillery::sum(*this); }
template <class T> Tensor<T> Tensor<T>::sum(const std::vector<int64_t>& d, bool k) const { return distillery::sum(*this, d, k); }
template <class T> Tensor<T> Tensor<T>::mean() const { return distillery::mean(*this); }
template <class T> Tensor<T> Tensor<T>::mean(const std::vector<int64_t>& d, bool k) const { return distillery::mean(*this, d, k); }
template <class T> Tensor<T> Tensor<T>::matmul(const Tensor<T>& o) const { return distillery::matmul(*this, o); }
template <class T> Tensor<T> Tensor<T>::pow(double p) const { return distillery::pow_scalar(*this, T(p)); }
template <class T> Tensor<T> Tensor<T>::exp() const { return distillery::exp(*this); }
template <class T> Tensor<T> Tensor<T>::log() const { return distillery::log(*this); }
template <class T> Tensor<T> Tensor<T>::sqrt() const { return distillery::sqrt(*this); }
template <class T> Tensor<T> Tensor<T>::abs() const { return distillery::abs(*this); }

// Copy to another device (differentiable: the gradient is copied back).
template <class T>
Tensor<T> Tensor<T>::to(Device d) const {
  if (d == device()) return *this;
  Tensor<T> c = raw_contiguous(*this);
  Tensor<T> out = Tensor<T>::empty(shape(), d);
  const std::size_t bytes = sizeof(T) * numel();
  if (bytes) {
    if (d == Device::cpu) runtime(device())->copy_to_host(out.data_ptr(), c.data_ptr(), bytes);
    else runtime(d)->copy_from_host(out.data_ptr(), c.data_ptr(), bytes);
  }
  if constexpr (std::is_floating_point_v<T>) {
    if (needs_grad({this})) {
      Device src = device();
      attach<T>(out, "to_device", {this}, [src](const Tensor<T>& g) {
        return std::vector<Tensor<T>>{g.to(src)};
      }, Saves::nothing);
    }
  }
  return out;
}

// dtype conversion (graph-free: a new leaf).
template <class T>
template <class U>
Tensor<U> Tensor<T>::to() const {
  if constexpr (std::is_same_v<T, U>) {
    return *this;
  } else {
    Tensor<T> c = raw_contiguous(*this);
    Tensor<U> out = Tensor<U>::empty(shape(), device());
    if (numel()) kernels<U>(device()).cast(c.data_ptr(), out.data_ptr(), numel());
    return out;
  }
}

}  // namespace distillery
