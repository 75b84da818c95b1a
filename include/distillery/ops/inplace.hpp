// ops/inplace.hpp — the few in-place writes the library needs (optimizers, load_state_dict, EMA).
//
// Everything else in ops/ is out of place. These helpers write values into an existing tensor's
// storage, so every handle that aliases it (a Module's parameter slot, an optimizer's list, a
// state dict entry) sees the new values. They record no graph and refuse to write into a tensor
// that requires grad while grad mode is on (as PyTorch refuses in-place ops on leaves): run
// them under NoGradGuard. Writes go through the device kernel table, so they work on any device.
//
//   NoGradGuard ng;
//   assign_(p, sub(p, mul_scalar(p.grad(), 0.1f)));   // p ← p − 0.1 ∇p, p keeps its storage
//   fill_(buffer, 0.0f);
#pragma once
#include "tensor_methods.hpp"

namespace distillery {

// dst ← src (src broadcast to dst's shape, moved to dst's device if needed).
// Requires: dst defined, src broadcastable to dst.shape(); not (grad mode on and dst requires
// grad). Ensures: dst's storage holds the values, its shape/strides/identity are unchanged.
template <class T>
void assign_(const Tensor<T>& dst, const Tensor<T>& src) {
  check_defined(dst, "assign_");
  check_defined(src, "assign_");
  check(!(is_grad_enabled() && dst.requires_grad()), "assign_", "in-place write into a tensor "
        "that requires grad while grad mode is on; wrap the update in NoGradGuard");
  Tensor<T> s = src.device() == dst.device() ? src.detach() : src.detach().to(dst.device());
  // A source aliasing the destination's storage is copied first (the kernel reads while writing).
  if (s.same_storage(dst)) s = raw_contiguous(clone(s));
  View sv = broadcast_view(s, dst.shape(), "assign_");
  if (dst.numel() == 0) return;
  kernels<T>(dst.device()).copy(s.base_ptr(), sv, dst.base_ptr(), dst.view());
  dst.impl()->storage->bump_version();  // graphs that saved dst now refuse to backward
}

// dst ← value everywhere.
template <class T>
void fill_(const Tensor<T>& dst, T value) {
  assign_(dst, Tensor<T>::scalar(value, dst.device()));
}

template <class T>
void zero_(const Tensor<T>& dst) { fill_(dst, T(0)); }

}  // namespace distillery
