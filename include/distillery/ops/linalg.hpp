// ops/linalg.hpp — matrix products on GEMM.
//
// matmul follows torch.matmul: 1-D operands are promoted (and the added dim removed after),
// batch dims broadcast. Operands whose last two dims are row- or column-contiguous go to GEMM
// without a copy (a transpose is a flag, not a copy); broadcast batch dims use batch stride 0.
// Rules: dA = sum_to(g · Bᵀ), dB = sum_to(Aᵀ · g) — matmuls again, so differentiable. A 2-D
// B under batched A (linear on [B, T, D]) gets dB as one GEMM over all rows, and a column-major
// operand (the Wᵀ view of linear) gets its gradient computed transposed, in its own layout.
//
//   x [B, T, D] · W [D, H] -> [B, T, H]          linear(x, W [H, D], b [H]) = x Wᵀ + b
#pragma once
#include "elementwise.hpp"

namespace distillery {

namespace detail {
struct GemmOperand {
  int64_t ld = 0, batch_stride = 0;
  bool trans = false;
};

// How to hand the last two dims [R, C] of `t` (batch dims already expanded to `batch`) to GEMM;
// returns false when a copy is needed.
template <class T>
bool gemm_operand(const Tensor<T>& t, GemmOperand& op) {
  const int n = t.dim();
  const int64_t R = t.shape()[n - 2], C = t.shape()[n - 1];
  const int64_t s0 = t.strides()[n - 2], s1 = t.strides()[n - 1];
  if ((s1 == 1 || C == 1) && s0 >= std::max<int64_t>(C, 1)) { op.trans = false; op.ld = s0; }
  else if ((s0 == 1 || R == 1) && s1 >= std::max<int64_t>(R, 1)) { op.trans = true; op.ld = s1; }
  else return false;
  // batch dims must collapse into one stride
  op.batch_stride = 0;
  int64_t expect = -1;
  for (int d = n - 3; d >= 0; --d) {
    if (t.shape()[d] == 1) continue;
    if (expect < 0) { op.batch_stride = t.strides()[d]; expect = t.strides()[d] * t.shape()[d]; }
    else if (t.strides()[d] != expect) return false;
    else expect = t.strides()[d] * t.shape()[d];
  }
  if (op.batch_stride == 0 && expect >= 0) {  // all batch dims broadcast: fine only if all 0
    for (int d = n - 3; d >= 0; --d)
      if (t.shape()[d] != 1 && t.strides()[d] != 0) return false;
  }
  return true;
}

// Graph-free batched product of a [..., M, K] and b [..., K, N] with equal batch shapes.
template <class T>
Tensor<T> matmul_raw(Tensor<T> a, Tensor<T> b, const Shape& out_shape) {
  const int n = a.dim();
  const int64_t M = a.shape()[n - 2], K = a.shape()[n - 1], N = b.shape()[n - 1];
  GemmOperand oa, ob;
  if (!gemm_operand(a, oa)) { a = raw_contiguous(a); gemm_operand(a, oa); }
  if (!gemm_operand(b, ob)) { b = raw_contiguous(b); gemm_operand(b, ob); }
  Tensor<T> out = Tensor<T>::empty(out_shape, a.device());
  int64_t batch = 1;
  for (int d = 0; d < n - 2; ++d) batch *= out_shape[d];
  if (out.numel() == 0) return out;
  kernels<T>(a.device()).gemm(oa.trans, ob.trans, M, N, K, T(1), a.data_ptr(), oa.ld,
                              oa.batch_stride, b.data_ptr(), ob.ld, ob.batch_stride, T(0),
                              out.data_ptr(), N, M * N, batch);
  return out;
}
}  // namespace detail

template <class T>
Tensor<T> matmul(const Tensor<T>& a0, const Tensor<T>& b0);

namespace detail {
// A 2-D operand stored column-major (a transposed view, e.g. the Wᵀ of linear): its gradient is
// computed transposed, so that it lands in the operand's own layout (contiguous for the weight).
template <class T>
bool column_major_2d(const Tensor<T>& t) {
  return t.dim() == 2 && t.shape()[0] > 1 && t.shape()[1] > 1 && t.strides()[0] == 1 &&
         t.strides()[1] >= t.shape()[0];
}

// dA = sum_to(g · Bᵀ, A.shape)  (for a column-major 2-D A: (B · gᵀ)ᵀ)
template <class T>
Tensor<T> matmul_grad_a(const Tensor<T>& g, const Tensor<T>& a0, const Tensor<T>& b0) {
  if (a0.dim() == 2 && b0.dim() == 2 && column_major_2d(a0))
    return transpose(matmul(b0, transpose(g, 0, 1)), 0, 1);
  return sum_to(matmul(g, transpose(b0, -1, -2)), a0.shape());
}

// dB = sum_to(Aᵀ · g, B.shape). A 2-D B shared by a batch of rows of A (linear on [B, T, D])
// gets one GEMM over all rows instead of a batched product and a reduction.
template <class T>
Tensor<T> matmul_grad_b(const Tensor<T>& g, const Tensor<T>& a0, const Tensor<T>& b0) {
  if (b0.dim() == 2 && a0.dim() >= 2) {
    const int64_t K = a0.shape()[a0.dim() - 1], N = b0.shape()[1];
    Tensor<T> a2 = a0.dim() == 2 ? a0 : reshape(a0, Shape{-1, K});
    Tensor<T> g2 = g.dim() == 2 ? g : reshape(g, Shape{-1, N});
    if (column_major_2d(b0)) return transpose(matmul(transpose(g2, 0, 1), a2), 0, 1);
    return matmul(transpose(a2, 0, 1), g2);
  }
  return sum_to(matmul(transpose(a0, -1, -2), g), b0.shape());
}
}  // namespace detail

template <class T>
Tensor<T> matmul(const Tensor<T>& a0, const Tensor<T>& b0) {
  check_defined(a0, "matmul");
  check_defined(b0, "matmul");
  check_same_device(a0, b0, "matmul");
  check(a0.dim() >= 1 && b0.dim() >= 1, "matmul", "both operands need at least one dim, got ",
        a0.shape(), " and ", b0.shape());
  if (a0.dim() == 1 || b0.dim() == 1) {
    Tensor<T> a = a0.dim() == 1 ? unsqueeze(a0, 0) : a0;
    Tensor<T> b = b0.dim() == 1 ? unsqueeze(b0, -1) : b0;
    Tensor<T> r = matmul(a, b);
    if (b0.dim() == 1) r = squeeze(r, -1);
    if (a0.dim() == 1) r = squeeze(r, a0.dim() == 1 && b0.dim() == 1 ? 0 : -2);
    return r;
  }
  const int na = a0.dim(), nb = b0.dim();
  check(a0.shape()[na - 1] == b0.shape()[nb - 2], "matmul", "shapes ", a0.shape(), " and ",
        b0.shape(), " cannot be multiplied (", a0.shape()[na - 1], " != ", b0.shape()[nb - 2], ")");
  Shape ba(a0.shape().begin(), a0.shape().end() - 2), bb(b0.shape().begin(), b0.shape().end() - 2);
  Shape batch = broadcast_shapes(ba, bb, "matmul");
  Shape sa = batch, sb = batch, so = batch;
  sa.push_back(a0.shape()[na - 2]); sa.push_back(a0.shape()[na - 1]);
  sb.push_back(b0.shape()[nb - 2]); sb.push_back(b0.shape()[nb - 1]);
  so.push_back(a0.shape()[na - 2]); so.push_back(b0.shape()[nb - 1]);
  Tensor<T> out;
  if (bb.empty() && !ba.empty() && a0.is_contiguous()) {
    // [..., M, K] · [K, N]: one GEMM over all rows
    Tensor<T> a2 = a0.alias(Shape{a0.numel() / a0.shape()[na - 1], a0.shape()[na - 1]},
                            Shape{a0.shape()[na - 1], 1}, a0.storage_offset());
    out = detail::matmul_raw(a2, b0.detach(), Shape{a2.shape()[0], b0.shape()[1]});
    out = out.alias(so, contiguous_strides(so), out.storage_offset());
  } else {
    Tensor<T> ea = a0.alias(sa, broadcast_view(a0, sa, "matmul").strides, a0.storage_offset());
    Tensor<T> eb = b0.alias(sb, broadcast_view(b0, sb, "matmul").strides, b0.storage_offset());
    out = detail::matmul_raw(ea, eb, so);
  }
  if (needs_grad({&a0, &b0})) {
    bool na_ = a0.requires_grad(), nb_ = b0.requires_grad();
    attach<T>(out, "matmul", {&a0, &b0},
              [a0 = saved_input(a0), b0 = saved_input(b0), na_, nb_](const Tensor<T>& g) {
      return std::vector<Tensor<T>>{na_ ? detail::matmul_grad_a(g, a0, b0) : Tensor<T>(),
                                    nb_ ? detail::matmul_grad_b(g, a0, b0) : Tensor<T>()};
    });
  }
  return out;
}

template <class T>
Tensor<T> mm(const Tensor<T>& a, const Tensor<T>& b) {
  check_inputs("mm", a, b);
  check(a.dim() == 2 && b.dim() == 2, "mm", "expected 2-D operands, got ", a.shape(), " and ",
        b.shape());
  return matmul(a, b);
}

template <class T>
Tensor<T> bmm(const Tensor<T>& a, const Tensor<T>& b) {
  check_inputs("bmm", a, b);
  check(a.dim() == 3 && b.dim() == 3 && a.shape()[0] == b.shape()[0], "bmm",
        "expected [B, M, K] and [B, K, N], got ", a.shape(), " and ", b.shape());
  return matmul(a, b);
}

// outer(u [M], v [N]) -> [M, N]
template <class T>
Tensor<T> outer(const Tensor<T>& u, const Tensor<T>& v) {
  check_inputs("outer", u, v);
  check(u.dim() == 1 && v.dim() == 1, "outer", "expected 1-D operands, got ", u.shape(), " and ",
        v.shape());
  return mul(unsqueeze(u, 1), unsqueeze(v, 0));
}

// linear(x [..., in], W [out, in], b [out] or undefined) = x Wᵀ + b
template <class T>
Tensor<T> linear(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& b = Tensor<T>()) {
  check_inputs("linear", x, w);  // b optional
  check(w.dim() == 2 && x.dim() >= 1 && x.shape().back() == w.shape()[1], "linear",
        "input ", x.shape(), " does not match weight ", w.shape());
  Tensor<T> y = matmul(x, transpose(w, 0, 1));
  if (b.defined()) {
    check(b.dim() == 1 && b.shape()[0] == w.shape()[0], "linear", "bias ", b.shape(),
          " does not match weight ", w.shape());
    y = add(y, b);
  }
  return y;
}

}  // namespace distillery
