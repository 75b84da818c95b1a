// cuda/kernels_index.cu — gather / scatter_add along a dim, index_select / index_add.
// gather / scatter_add accept an index smaller than the input on the other dims (PyTorch).
//
// scatter_add and index_add accumulate with atomicAdd (double atomics need sm_60+), so their
// float results may differ from the CPU in the last bits when indices repeat. An out-of-range
// index writes nothing (gather writes 0) and sets the runtime's error flag; the error is thrown
// as distillery::Error naming the op at the next synchronisation (copy to host, item(),
// cuda_synchronize()), like PyTorch's device-side asserts but recoverable.
#include "common.cuh"

namespace distillery::cuda_detail {

namespace {

__device__ __forceinline__ void flag_error(int* flag, int code) { atomicCAS(flag, 0, code); }

template <class T>
__global__ void gather_kernel(const T* in, const int64_t* idx, T* out, int64_t n, int64_t dix,
                              int64_t inner, int64_t din, int* flag) {
  DST_GRID_STRIDE(p, n) {
    const int64_t i = p % inner, oj = p / inner, o = oj / dix;
    const int64_t k = idx[p];
    if (k < 0 || k >= din) { out[p] = T(0); flag_error(flag, kGather); continue; }
    out[p] = in[(o * din + k) * inner + i];
  }
}

// An index smaller than the input on dims other than `dim` (PyTorch's rule): each position is
// unravelled over the index's extents and re-linearised with the big tensor's strides.
struct SubMap {
  int nd, dim;
  int64_t ext[kMaxDims], stride[kMaxDims];
};

SubMap sub_map(const Shape& big, const Shape& idx_shape, int dim) {
  SubMap m{};
  m.nd = idx_shape.size();
  m.dim = dim;
  int64_t st = 1;
  for (int d = m.nd - 1; d >= 0; --d) {
    m.ext[d] = idx_shape[d];
    m.stride[d] = st;
    st *= big[d];
  }
  return m;
}

bool same_but(const Shape& a, const Shape& b, int dim) {
  for (int d = 0; d < a.size(); ++d)
    if (d != dim && a[d] != b[d]) return false;
  return true;
}

__device__ __forceinline__ int64_t sub_offset(const SubMap& m, int64_t p, int64_t k) {
  int64_t off = 0;
  for (int d = m.nd - 1; d >= 0; --d) {
    const int64_t c = p % m.ext[d];
    p /= m.ext[d];
    off += (d == m.dim ? k : c) * m.stride[d];
  }
  return off;
}

template <class T>
__global__ void gather_sub_kernel(const T* in, const int64_t* idx, T* out, int64_t n, SubMap m,
                                  int64_t din, int* flag) {
  DST_GRID_STRIDE(p, n) {
    const int64_t k = idx[p];
    if (k < 0 || k >= din) { out[p] = T(0); flag_error(flag, kGather); continue; }
    out[p] = in[sub_offset(m, p, k)];
  }
}

template <class T>
__global__ void scatter_add_sub_kernel(T* out, const int64_t* idx, const T* src, int64_t n,
                                       SubMap m, int64_t dout, int* flag) {
  DST_GRID_STRIDE(p, n) {
    const int64_t k = idx[p];
    if (k < 0 || k >= dout) { flag_error(flag, kScatterAdd); continue; }
    atomicAdd(out + sub_offset(m, p, k), src[p]);
  }
}

template <class T>
__global__ void scatter_add_kernel(T* out, const int64_t* idx, const T* src, int64_t n,
                                   int64_t dix, int64_t inner, int64_t dout, int* flag) {
  DST_GRID_STRIDE(p, n) {
    const int64_t i = p % inner, oj = p / inner, o = oj / dix;
    const int64_t k = idx[p];
    if (k < 0 || k >= dout) { flag_error(flag, kScatterAdd); continue; }
    atomicAdd(out + (o * dout + k) * inner + i, src[p]);
  }
}

template <class T>
__global__ void index_select_kernel(const T* in, int64_t n, int64_t inner, const int64_t* idx,
                                    int64_t nidx, T* out, int64_t total, int* flag) {
  DST_GRID_STRIDE(p, total) {
    const int64_t i = p % inner, oj = p / inner, j = oj % nidx, o = oj / nidx;
    const int64_t k = idx[j];
    if (k < 0 || k >= n) { out[p] = T(0); flag_error(flag, kIndexSelect); continue; }
    out[p] = in[(o * n + k) * inner + i];
  }
}

template <class T>
__global__ void index_add_kernel(T* out, int64_t n, int64_t inner, const int64_t* idx,
                                 int64_t nidx, const T* src, int64_t total, int* flag) {
  DST_GRID_STRIDE(p, total) {
    const int64_t i = p % inner, oj = p / inner, j = oj % nidx, o = oj / nidx;
    const int64_t k = idx[j];
    if (k < 0 || k >= n) { flag_error(flag, kIndexAdd); continue; }
    atomicAdd(out + (o * n + k) * inner + i, src[p]);
  }
}

void dims_around(const Shape& s, int dim, int64_t& outer, int64_t& inner) {
  outer = 1;
  inner = 1;
  for (int d = 0; d < dim; ++d) outer *= s[d];
  for (int d = dim + 1; d < s.size(); ++d) inner *= s[d];
}

}  // namespace

template <class T>
void gather(const T* in, const Shape& in_shape, const I* idx, const Shape& idx_shape, int dim,
            T* out) {
  const int64_t n = idx_shape.numel();
  if (n == 0) return;
  int64_t outer, inner;
  dims_around(idx_shape, dim, outer, inner);
  if (inner == 0) return;
  if (!same_but(in_shape, idx_shape, dim)) {
    gather_sub_kernel<T><<<grid_for(n), kThreads, 0, stream()>>>(
        in, idx, out, n, sub_map(in_shape, idx_shape, dim), in_shape[dim], error_flag());
    check_launch("gather");
    return;
  }
  gather_kernel<T><<<grid_for(n), kThreads, 0, stream()>>>(in, idx, out, n, idx_shape[dim], inner,
                                                           in_shape[dim], error_flag());
  check_launch("gather");
}

template <class T>
void scatter_add(T* out, const Shape& out_shape, const I* idx, const Shape& idx_shape,
                 const T* src, int dim) {
  const int64_t n = idx_shape.numel();
  if (n == 0) return;
  int64_t outer, inner;
  dims_around(idx_shape, dim, outer, inner);
  if (!same_but(out_shape, idx_shape, dim)) {
    scatter_add_sub_kernel<T><<<grid_for(n), kThreads, 0, stream()>>>(
        out, idx, src, n, sub_map(out_shape, idx_shape, dim), out_shape[dim], error_flag());
    check_launch("scatter_add");
    return;
  }
  scatter_add_kernel<T><<<grid_for(n), kThreads, 0, stream()>>>(
      out, idx, src, n, idx_shape[dim], inner, out_shape[dim], error_flag());
  check_launch("scatter_add");
}

template <class T>
void index_select(const T* in, int64_t outer, int64_t n, int64_t inner, const I* idx,
                  int64_t nidx, T* out) {
  const int64_t total = outer * nidx * inner;
  if (total == 0) return;
  index_select_kernel<T><<<grid_for(total), kThreads, 0, stream()>>>(in, n, inner, idx, nidx, out,
                                                                     total, error_flag());
  check_launch("index_select");
}

template <class T>
void index_add(T* out, int64_t outer, int64_t n, int64_t inner, const I* idx, int64_t nidx,
               const T* src) {
  const int64_t total = outer * nidx * inner;
  if (total == 0) return;
  index_add_kernel<T><<<grid_for(total), kThreads, 0, stream()>>>(out, n, inner, idx, nidx, src,
                                                                  total, error_flag());
  check_launch("index_add");
}

#define DST_INST(T)                                                                       \
  template void gather<T>(const T*, const Shape&, const I*, const Shape&, int, T*);       \
  template void scatter_add<T>(T*, const Shape&, const I*, const Shape&, const T*, int);  \
  template void index_select<T>(const T*, int64_t, int64_t, int64_t, const I*, int64_t, T*); \
  template void index_add<T>(T*, int64_t, int64_t, int64_t, const I*, int64_t, const T*);
DST_INST(float)
DST_INST(double)
#undef DST_INST

}  // namespace distillery::cuda_detail
