// backend/kernel_table.hpp — the per-device kernel interface.
//
// Kernels know buffers, never graphs: each entry takes raw pointers, extents and strides (in
// elements). Ops (include/distillery/ops) call `kernels<T>(device)` and never touch memory
// themselves, so the CPU table (backend/cpu) and the CUDA table (cuda/, registered at load
// time when built with DISTILLERY_CUDA=ON) are interchangeable and testable against each other.
//
// Conventions: outputs are contiguous unless a View says otherwise; a `View` describes a strided
// operand already broadcast to the output's shape (stride 0 on broadcast dims); index tensors are
// int64. Row-major GEMM: C[b] = alpha * op(A[b]) * op(B[b]) + beta * C[b].
#pragma once
#include <cstddef>
#include <cstdint>

#include "../core/device.hpp"
#include "../core/error.hpp"
#include "../core/shape.hpp"
#include "../core/storage.hpp"
#include "index_math.hpp"
#include "loss_math.hpp"
#include "scalar_math.hpp"

namespace distillery {

// Conv2dGeometry (convolution / pooling windows) is in index_math.hpp, shared with CUDA.

#define DST_NOT_ON_DEVICE(name) \
  { fail(name, "not implemented on this device"); }

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
template <class T>
struct KernelTable {
  using I = int64_t;
  virtual ~KernelTable() = default;
  // out[i] = value, i < n
  virtual void fill(T* out, int64_t n, T value) DST_NOT_ON_DEVICE("fill")
  // dst (strided) <- src (strided), same shape
  virtual void copy(const T* src, const View& sv, T* dst, const View& dv) DST_NOT_ON_DEVICE("copy")
  // dst[i] = T(src[i]) for each source type
  virtual void cast(const float* src, T* dst, int64_t n) DST_NOT_ON_DEVICE("cast")
  virtual void cast(const double* src, T* dst, int64_t n) DST_NOT_ON_DEVICE("cast")
  virtual void cast(const int64_t* src, T* dst, int64_t n) DST_NOT_ON_DEVICE("cast")
  // out[i] = op(a[i]; p1, p2), contiguous
  virtual void unary(UnaryOp op, const T* a, T* out, int64_t n, T p1, T p2)
      DST_NOT_ON_DEVICE("unary")
  // out (contiguous, shape) = op(a, b) with a, b strided views broadcast to shape
  virtual void binary(BinaryOp op, const T* a, const View& av, const T* b, const View& bv,
                      T* out, const Shape& shape) DST_NOT_ON_DEVICE("binary")
  // out = cond != 0 ? a : b, all three strided views broadcast to shape
  virtual void where(const T* c, const View& cv, const T* a, const View& av, const T* b,
                     const View& bv, T* out, const Shape& shape) DST_NOT_ON_DEVICE("where")
  // in [outer, r, inner] contiguous -> out [outer, inner]
  virtual void reduce(ReduceOp op, const T* in, int64_t outer, int64_t r, int64_t inner, T* out)
      DST_NOT_ON_DEVICE("reduce")
  // index of the max (is_max) or min along r; first occurrence wins
  virtual void arg_reduce(bool is_max, const T* in, int64_t outer, int64_t r, int64_t inner,
                          I* out) DST_NOT_ON_DEVICE("arg_reduce")
  virtual void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* A,
                    int64_t lda, int64_t sA, const T* B, int64_t ldb, int64_t sB, T beta, T* C,
                    int64_t ldc, int64_t sC, int64_t batch) DST_NOT_ON_DEVICE("gemm")
  // out[...i...] = in[...idx[...i...]...] along dim; in_shape and idx_shape agree off dim
  virtual void gather(const T* in, const Shape& in_shape, const I* idx, const Shape& idx_shape,
                      int dim, T* out) DST_NOT_ON_DEVICE("gather")
  // out[...idx[...i...]...] += src[...i...] along dim (out contiguous, out_shape)
  virtual void scatter_add(T* out, const Shape& out_shape, const I* idx, const Shape& idx_shape,
                           const T* src, int dim) DST_NOT_ON_DEVICE("scatter_add")
  // in viewed as [outer, n, inner]; out [outer, nidx, inner] = in[:, idx, :]
  virtual void index_select(const T* in, int64_t outer, int64_t n, int64_t inner, const I* idx,
                            int64_t nidx, T* out) DST_NOT_ON_DEVICE("index_select")
  // out [outer, n, inner] (accumulated) [:, idx, :] += src [outer, nidx, inner]
  virtual void index_add(T* out, int64_t outer, int64_t n, int64_t inner, const I* idx,
                         int64_t nidx, const T* src) DST_NOT_ON_DEVICE("index_add")
  // row-wise softmax or log-softmax of in [rows, cols]
  virtual void softmax(const T* in, T* out, int64_t rows, int64_t cols, bool log)
      DST_NOT_ON_DEVICE("softmax")
  // x [N,C,H,W] -> cols [N, C*kh*kw, Ho*Wo]; col2im accumulates the adjoint into x (zeroed)
  virtual void im2col(const T* x, const Conv2dGeometry& g, T* cols) DST_NOT_ON_DEVICE("im2col")
  virtual void col2im(const T* cols, const Conv2dGeometry& g, T* x) DST_NOT_ON_DEVICE("col2im")
  // max pooling with padding -inf; idx is the flat h*W+w index within each (n, c) plane
  virtual void max_pool2d(const T* x, const Conv2dGeometry& g, T* out, I* idx)
      DST_NOT_ON_DEVICE("max_pool2d")
  // dropout mask: out[i] = 0 with probability p, else keep (i < n, 0 ≤ p < 1), the bits a
  // function of `seed` alone, the same on every device (backend/bernoulli_math.hpp)
  virtual void bernoulli_mask(uint64_t seed, double p, T keep, T* out, int64_t n)
      DST_NOT_ON_DEVICE("bernoulli_mask")
  // stable sort of each row of in [rows, cols]
  virtual void sort(const T* in, int64_t rows, int64_t cols, bool descending, T* vals, I* idx)
      DST_NOT_ON_DEVICE("sort")

  // Optional fused dense convolution (groups = 1), all buffers contiguous NCHW:
  //   y [N, cout, Ho, Wo] = conv(x [N, C, H, W], w [cout, C, kh, kw]) (+ b [cout] unless null).
  // The backward writes (overwrites) whichever of gx [N, C, H, W], gw [cout, C, kh, kw],
  // gb [cout] is non-null, from gy [N, cout, Ho, Wo]; x may be null when gw is, and w when gx is
  // (ops/ asks for one gradient alone in conv2d_input_grad and conv2d_weight_grad, the rule of
  // conv2d under create_graph). `cols`, when non-null, is a buffer of N·C·kh·kw·Ho·Wo elements
  // the forward fills with the unfolded input (layout private to the device) so the backward can
  // read it instead of unfolding again. Returning false means "no fused path on this device":
  // ops/ then composes unfold + GEMM (+ fold).
  virtual bool conv2d_fused(const T* x, const T* w, const T* b, const Conv2dGeometry& g,
                            int64_t cout, T* y, T* cols) { return false; }
  virtual bool conv2d_fused_backward(const T* x, const T* w, const T* gy,
                                     const Conv2dGeometry& g, int64_t cout, const T* cols,
                                     T* gx, T* gw, T* gb) { return false; }

  // Optional fused distillation losses (losses/ uses them when has_fused_losses(): the CPU's
  // OpenMP kernels in backend/cpu/{kd,relation}_kernels.hpp, CUDA's in cuda/kernels_loss.cu).
  // All buffers live on the device; `value` is one element of device memory; a null grad / dG
  // means "value only". Returning false means "not for these sizes": losses/ then takes the
  // composed path.
  virtual bool has_fused_losses() const { return false; }
  // Hinton KD over rows of contiguous z, v [N, C] (see backend/cpu/kd_kernel.hpp):
  //   value = coef · Σ_rows loss_row,  grad [N, C] = coef/T · (softmax(z/T) − softmax(v/T)).
  virtual bool kd_fused(const T* z, const T* v, int64_t N, int64_t C, double temperature,
                        bool soft_ce, double coef, T* value, T* grad) { return false; }
  // Relation terms of `groups` Gram matrices Gs, Gt [groups, m, m] (contiguous) with a 0/1 mask
  // [groups, m]: value = Σ of the weighted terms of `spec`, dG [groups, m, m] = ∂value/∂Gs.
  virtual bool relation_fused(const T* Gs, const T* Gt, const T* mask, int64_t groups, int64_t m,
                              const RelationSpec& spec, T* value, T* dG) { return false; }
  // The same terms read off the points themselves, without Gram buffers (the CPU's kernel):
  // group g holds ls.points points of xs (layout ls) and of xt (layout lt), mask [groups, points]
  // 0/1; *value (a host double) = Σ weighted terms, grad (xs's layout, when non-null)
  // += ∂value/∂xs.
  virtual bool relation_points_fused(const T* xs, const GroupLayout& ls, const T* xt,
                                     const GroupLayout& lt, const T* mask,
                                     const RelationSpec& spec, double* value, T* grad) {
    return false;
  }
  // The full-angle term of ONE group of m points xs [m, ds], xt [m, dt] (RKD), weighted by coef:
  // *value (a host double); grad [m, ds] (when non-null) = ∂value/∂xs, overwritten.
  virtual bool angle_group_fused(const T* xs, int64_t m, int64_t ds, const T* xt, int64_t dt,
                                 losses::MatchLoss f, double coef, double* value, T* grad) {
    return false;
  }
};

#pragma GCC diagnostic pop
#undef DST_NOT_ON_DEVICE

// Registration slot for the CUDA tables (filled by cuda/ at static-initialisation time; the
// runtime's slot is in core/device.hpp).
template <class T>
KernelTable<T>*& cuda_kernel_slot() {
  static KernelTable<T>* k = nullptr;
  return k;
}

// The CPU tables: declared here, defined once per program in backend/cpu/implementation.hpp
// (compiled into distillery::kernels, or into the one translation unit that defines
// DISTILLERY_IMPLEMENTATION). Only these element types have kernels.
template <class T>
KernelTable<T>& cpu_kernel_table();
template <>
KernelTable<float>& cpu_kernel_table<float>();
template <>
KernelTable<double>& cpu_kernel_table<double>();
template <>
KernelTable<int64_t>& cpu_kernel_table<int64_t>();

// The kernel table of device d for element type T.
template <class T>
KernelTable<T>& kernels(Device d) {
  if (d == Device::cpu) return cpu_kernel_table<T>();
  KernelTable<T>* k = cuda_kernel_slot<T>();
  check(k != nullptr, "device", "no CUDA kernels registered for this dtype");
  return *k;
}

}  // namespace distillery
