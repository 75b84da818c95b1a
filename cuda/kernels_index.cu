// cuda/kernels_index.cu — gather / scatter_add along a dim, index_select / index_add.
//
// scatter_add and index_add accumulate with atomicAdd (double atomics need sm_60+), so their
// float results may differ from the CPU in the last bits when indices repeat. An out-of-range
// index writes nothing (gather writes 0) and sets the runtime's error flag; the error is thrown
// as distillery::Error naming the op at the next synchronisation (copy to host, item(),
// cuda_synchronize()), like PyTorch's device-side asserts but recoverable.
#include "common.cuh"

namespace distillery::cuda_detail {

namespace {

#define DST_GRID_STRIDE(i, n)                                                         \
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (n);          \
       i += int64_t(gridDim.x) * blockDim.x)

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
