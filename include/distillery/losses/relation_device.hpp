// losses/relation_device.hpp — the fused relation terms on a device with fused-loss kernels
// (CUDA). The Gram matrices and the student gradient go through the kernel table's batched GEMM
// (plain ops, no graph); the terms themselves through kernels<T>(device).relation_fused.
//
//   xs [G, m, ds], xt [G, m, dt]  →  Gs = xs xsᵀ, Gt = xt xtᵀ  [G, m, m]
//   value (0-dim, on the device) = Σ weighted terms of `spec` (pair / full angle / window angle)
//   dxs [G, m, ds] = (dG + dGᵀ) xs,  dG = ∂value/∂Gs
#pragma once
#include "common.hpp"

namespace distillery::losses::detail {

// False when the device declines these sizes (then the caller takes the composed path).
template <class T>
bool device_relation(const Tensor<T>& xs, const Tensor<T>& xt, const Tensor<T>& mask,
                     const RelationSpec& spec, Tensor<T>& value, Tensor<T>* dxs) {
  NoGradGuard no_grad;
  const Device dev = xs.device();
  const int64_t G = xs.shape()[0], m = xs.shape()[1];
  Tensor<T> Gs = raw_contiguous(matmul(xs, transpose(xs, 1, 2)));
  Tensor<T> Gt = raw_contiguous(matmul(xt, transpose(xt, 1, 2)));
  Tensor<T> mc = raw_contiguous(mask);
  value = Tensor<T>::empty(Shape{}, dev);
  Tensor<T> dG = dxs ? Tensor<T>::empty(Gs.shape(), dev) : Tensor<T>();
  if (!kernels<T>(dev).relation_fused(Gs.data_ptr(), Gt.data_ptr(), mc.data_ptr(), G, m, spec,
                                      value.data_ptr(), dxs ? dG.data_ptr() : nullptr))
    return false;
  if (dxs) *dxs = matmul(add(dG, transpose(dG, 1, 2)), xs);
  return true;
}

}  // namespace distillery::losses::detail
