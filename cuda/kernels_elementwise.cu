// cuda/kernels_elementwise.cu — fill, copy (strided -> strided), cast, unary, binary (broadcast
// strided views), where, and dropout's bernoulli_mask. The arithmetic is backend/scalar_math.hpp, shared with the CPU.
//
// Strided operands are coalesced on the host (common.cuh) so that the common layouts become
// one-dimensional: contiguous (stride 1), scalar broadcast (stride 0), or one strided dim; those
// run without any index division. Everything else decomposes the flat index per element.
#include "common.cuh"

#include <distillery/backend/bernoulli_math.hpp>

namespace distillery::cuda_detail {

namespace {

template <class T>
__global__ void fill_kernel(T* out, int64_t n, T v) {
  DST_GRID_STRIDE(i, n) out[i] = v;
}

template <class T, class S>
__global__ void cast_kernel(const S* src, T* dst, int64_t n) {
  DST_GRID_STRIDE(i, n) dst[i] = static_cast<T>(src[i]);
}

// Applies f(out_index, offsets) over a K-operand strided space; 1-D fast path.
template <int K, class F>
__global__ void strided_kernel(Strided<K> s, int64_t n, F f) {
  if (s.nd <= 1) {
    int64_t st[K], b[K];
#pragma unroll
    for (int k = 0; k < K; ++k) { st[k] = s.nd ? s.stride[k][0] : 0; b[k] = s.base[k]; }
    DST_GRID_STRIDE(i, n) {
      int64_t off[K];
#pragma unroll
      for (int k = 0; k < K; ++k) off[k] = b[k] + i * st[k];
      f(i, off);
    }
  } else if (n <= int64_t(0xFFFFFFFFu)) {
    DST_GRID_STRIDE(i, n) {
      int64_t off[K];
      s.offsets32(static_cast<uint32_t>(i), off);
      f(i, off);
    }
  } else {
    DST_GRID_STRIDE(i, n) {
      int64_t off[K];
      s.offsets(i, off);
      f(i, off);
    }
  }
}

template <int K, class F>
void launch_strided(const Strided<K>& s, int64_t n, F f, const char* op) {
  if (n == 0) return;
  strided_kernel<K><<<grid_for(n), kThreads, 0, stream()>>>(s, n, f);
  check_launch(op);
}

template <class T>
struct CopyF {
  const T* src;
  T* dst;
  __device__ void operator()(int64_t, const int64_t* o) const { dst[o[1]] = src[o[0]]; }
};

template <class T, UnaryOp OP>
__global__ void unary_kernel(const T* a, T* out, int64_t n, T p1, T p2) {
  scalar::UnaryF<OP> f;
  DST_GRID_STRIDE(i, n) out[i] = f(a[i], p1, p2);
}

template <class T, BinaryOp OP>
struct BinaryStridedF {
  const T* a;
  const T* b;
  T* out;
  __device__ void operator()(int64_t i, const int64_t* o) const {
    out[i] = scalar::BinaryF<OP>()(a[o[0]], b[o[1]]);
  }
};

// contiguous fast paths: both contiguous, or one side a broadcast scalar
template <class T, BinaryOp OP>
__global__ void binary_cc(const T* a, const T* b, T* out, int64_t n) {
  scalar::BinaryF<OP> f;
  DST_GRID_STRIDE(i, n) out[i] = f(a[i], b[i]);
}
template <class T, BinaryOp OP>
__global__ void binary_cs(const T* a, const T* b, T* out, int64_t n) {
  scalar::BinaryF<OP> f;
  const T vb = *b;
  DST_GRID_STRIDE(i, n) out[i] = f(a[i], vb);
}
template <class T, BinaryOp OP>
__global__ void binary_sc(const T* a, const T* b, T* out, int64_t n) {
  scalar::BinaryF<OP> f;
  const T va = *a;
  DST_GRID_STRIDE(i, n) out[i] = f(va, b[i]);
}

template <class T, BinaryOp OP>
void binary_impl(const T* a, const View& av, const T* b, const View& bv, T* out,
                 const Shape& shape) {
  const int64_t n = shape.numel();
  if (n == 0) return;
  const View* vs[2] = {&av, &bv};
  Strided<2> s = coalesce<2>(shape, vs);
  const unsigned grid = grid_for(n);
  if (s.nd <= 1) {
    const int64_t sa = s.nd ? s.stride[0][0] : 0, sb = s.nd ? s.stride[1][0] : 0;
    const T* pa = a + s.base[0];
    const T* pb = b + s.base[1];
    if (sa == 1 && sb == 1) {
      binary_cc<T, OP><<<grid, kThreads, 0, stream()>>>(pa, pb, out, n);
      return check_launch("binary");
    }
    if (sa == 1 && sb == 0) {
      binary_cs<T, OP><<<grid, kThreads, 0, stream()>>>(pa, pb, out, n);
      return check_launch("binary");
    }
    if (sa == 0 && sb == 1) {
      binary_sc<T, OP><<<grid, kThreads, 0, stream()>>>(pa, pb, out, n);
      return check_launch("binary");
    }
  }
  launch_strided<2>(s, n, BinaryStridedF<T, OP>{a, b, out}, "binary");
}

template <class T>
struct WhereF {
  const T* c;
  const T* a;
  const T* b;
  T* out;
  __device__ void operator()(int64_t i, const int64_t* o) const {
    out[i] = c[o[0]] != T(0) ? a[o[1]] : b[o[2]];
  }
};

// One thread per xoshiro lane (backend/bernoulli_math.hpp): lane l writes elements
// b·kBlock + l (low 32 bits) and b·kBlock + kLanes + l (high 32 bits) of every block b, so the
// mask has the CPU's bits. The lanes are sequential streams, hence only kLanes threads: about
// n/16 steps of a few integer ops each (well under a millisecond for a 1M-element mask).
template <class T>
__global__ void bernoulli_kernel(uint64_t seed, uint64_t thresh, T keep, T* out, int64_t n) {
  const int l = threadIdx.x;
  if (l >= bernoulli::kLanes) return;
  uint64_t s0 = bernoulli::lane_state(seed, l, 0), s1 = bernoulli::lane_state(seed, l, 1);
  uint64_t s2 = bernoulli::lane_state(seed, l, 2), s3 = bernoulli::lane_state(seed, l, 3);
  for (int64_t base = 0; base < n; base += bernoulli::kBlock) {
    const uint64_t r = bernoulli::step(s0, s1, s2, s3);
    const int64_t lo = base + l, hi = base + bernoulli::kLanes + l;
    if (lo < n) out[lo] = (r & 0xFFFFFFFFull) < thresh ? T(0) : keep;
    if (hi < n) out[hi] = (r >> 32) < thresh ? T(0) : keep;
  }
}

}  // namespace

template <class T>
void bernoulli_mask(uint64_t seed, double p, T keep, T* out, int64_t n) {
  if (n <= 0) return;
  bernoulli_kernel<T><<<1, bernoulli::kLanes, 0, stream()>>>(seed, bernoulli::threshold(p), keep,
                                                             out, n);
  check_launch("bernoulli_mask");
}
template void bernoulli_mask<float>(uint64_t, double, float, float*, int64_t);
template void bernoulli_mask<double>(uint64_t, double, double, double*, int64_t);

template <class T>
void fill(T* out, int64_t n, T value) {
  if (n <= 0) return;
  fill_kernel<T><<<grid_for(n), kThreads, 0, stream()>>>(out, n, value);
  check_launch("fill");
}

template <class T>
void copy(const T* src, const View& sv, T* dst, const View& dv) {
  const int64_t n = sv.shape.numel();
  if (n == 0) return;
  const View* vs[2] = {&sv, &dv};
  Strided<2> s = coalesce<2>(sv.shape, vs);
  if (s.nd == 0 || (s.nd == 1 && s.stride[0][0] == 1 && s.stride[1][0] == 1)) {
    check_cuda(cudaMemcpyAsync(dst + s.base[1], src + s.base[0], sizeof(T) * n,
                               cudaMemcpyDeviceToDevice, stream()),
               "copy", "cudaMemcpyAsync");
    return;
  }
  launch_strided<2>(s, n, CopyF<T>{src, dst}, "copy");
}

template <class T, class S>
void cast(const S* src, T* dst, int64_t n) {
  if (n <= 0) return;
  cast_kernel<T, S><<<grid_for(n), kThreads, 0, stream()>>>(src, dst, n);
  check_launch("cast");
}

template <class T>
void unary(UnaryOp op, const T* a, T* out, int64_t n, T p1, T p2) {
  if (n <= 0) return;
  const unsigned grid = grid_for(n);
  cudaStream_t st = stream();
  switch (op) {
#define DST_U(name)                                                                  \
  case UnaryOp::name:                                                                \
    unary_kernel<T, UnaryOp::name><<<grid, kThreads, 0, st>>>(a, out, n, p1, p2);    \
    break;
    DST_U(neg) DST_U(recip) DST_U(add_scalar) DST_U(mul_scalar) DST_U(pow_scalar)
    DST_U(rsub_scalar) DST_U(exp) DST_U(log) DST_U(sqrt) DST_U(rsqrt) DST_U(abs) DST_U(sign)
    DST_U(square) DST_U(sin) DST_U(cos) DST_U(relu) DST_U(step) DST_U(leaky_relu)
    DST_U(leaky_relu_slope) DST_U(gelu_erf) DST_U(gelu_erf_grad) DST_U(gelu_tanh) DST_U(sigmoid) DST_U(tanh)
    DST_U(softplus) DST_U(log1p) DST_U(expm1) DST_U(erf) DST_U(clamp) DST_U(inside)
    DST_U(gt_scalar) DST_U(ge_scalar) DST_U(lt_scalar) DST_U(le_scalar) DST_U(eq_scalar)
    DST_U(ne_scalar)
#undef DST_U
    default: fail("unary", "unknown op code ", static_cast<int>(op));
  }
  check_launch("unary");
}

template <class T>
void binary(BinaryOp op, const T* a, const View& av, const T* b, const View& bv, T* out,
            const Shape& shape) {
  switch (op) {
#define DST_B(name) \
  case BinaryOp::name: return binary_impl<T, BinaryOp::name>(a, av, b, bv, out, shape);
    DST_B(add) DST_B(sub) DST_B(mul) DST_B(div) DST_B(pow) DST_B(maximum) DST_B(minimum)
    DST_B(gt) DST_B(ge) DST_B(lt) DST_B(le) DST_B(eq) DST_B(ne)
#undef DST_B
  }
  fail("binary", "unknown op code ", static_cast<int>(op));
}

template <class T>
void where(const T* c, const View& cv, const T* a, const View& av, const T* b, const View& bv,
           T* out, const Shape& shape) {
  const int64_t n = shape.numel();
  if (n == 0) return;
  const View* vs[3] = {&cv, &av, &bv};
  launch_strided<3>(coalesce<3>(shape, vs), n, WhereF<T>{c, a, b, out}, "where");
}

// ---- explicit instantiations -----------------------------------------------------------------
#define DST_ALL_TYPES(T)                                            \
  template void fill<T>(T*, int64_t, T);                             \
  template void copy<T>(const T*, const View&, T*, const View&);     \
  template void cast<T, float>(const float*, T*, int64_t);           \
  template void cast<T, double>(const double*, T*, int64_t);         \
  template void cast<T, int64_t>(const int64_t*, T*, int64_t);
DST_ALL_TYPES(float)
DST_ALL_TYPES(double)
DST_ALL_TYPES(int64_t)
#undef DST_ALL_TYPES

#define DST_FLOAT_TYPES(T)                                                                  \
  template void unary<T>(UnaryOp, const T*, T*, int64_t, T, T);                              \
  template void binary<T>(BinaryOp, const T*, const View&, const T*, const View&, T*,        \
                          const Shape&);                                                     \
  template void where<T>(const T*, const View&, const T*, const View&, const T*, const View&, \
                         T*, const Shape&);
DST_FLOAT_TYPES(float)
DST_FLOAT_TYPES(double)
#undef DST_FLOAT_TYPES

}  // namespace distillery::cuda_detail
