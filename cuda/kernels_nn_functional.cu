// cuda/kernels_nn_functional.cu — im2col / col2im (NCHW, stride, padding, dilation) and
// max_pool2d.
//
// col2im gathers: each input pixel sums the column entries that read it, in a fixed order, so
// it needs no atomics and is deterministic.
#include <limits>

#include <math_constants.h>

#include "common.cuh"

namespace distillery::cuda_detail {

namespace {

// cols [N, C*kh*kw, Ho*Wo]; thread per column entry
template <class T>
__global__ void im2col_kernel(const T* x, Conv2dGeometry g, T* cols, int64_t total) {
  DST_GRID_STRIDE(t, total) {
    int64_t ow = t % g.Wo, r = t / g.Wo;
    int64_t oh = r % g.Ho; r /= g.Ho;
    int64_t kj = r % g.kw; r /= g.kw;
    int64_t ki = r % g.kh; r /= g.kh;
    int64_t c = r % g.C, n = r / g.C;
    const int64_t h = window_row(g, oh, ki), w = window_col(g, ow, kj);
    T v = T(0);
    if (h >= 0 && h < g.H && w >= 0 && w < g.W) v = x[((n * g.C + c) * g.H + h) * g.W + w];
    cols[t] = v;
  }
}

// thread per input pixel: x[n,c,h,w] += sum over (ki,kj) of cols entries that read it
template <class T>
__global__ void col2im_kernel(const T* cols, Conv2dGeometry g, T* x, int64_t total) {
  const int64_t L = g.Ho * g.Wo, K = g.C * g.kh * g.kw;
  DST_GRID_STRIDE(t, total) {
    int64_t w = t % g.W, r = t / g.W;
    int64_t h = r % g.H; r /= g.H;
    int64_t c = r % g.C, n = r / g.C;
    T acc = T(0);
    for (int64_t ki = 0; ki < g.kh; ++ki) {
      const int64_t oh = window_out_row(g, h, ki);
      if (oh < 0) continue;
      for (int64_t kj = 0; kj < g.kw; ++kj) {
        const int64_t ow = window_out_col(g, w, kj);
        if (ow < 0) continue;
        acc += cols[(n * K + (c * g.kh + ki) * g.kw + kj) * L + oh * g.Wo + ow];
      }
    }
    x[t] += acc;
  }
}

template <class T> __device__ __forceinline__ T neg_inf();
template <> __device__ __forceinline__ float neg_inf<float>() { return -CUDART_INF_F; }
template <> __device__ __forceinline__ double neg_inf<double>() { return -CUDART_INF; }

template <class T>
__global__ void max_pool2d_kernel(const T* x, Conv2dGeometry g, T* out, int64_t* idx,
                                  int64_t total) {
  DST_GRID_STRIDE(o, total) {
    int64_t ow = o % g.Wo, r = o / g.Wo;
    int64_t oh = r % g.Ho, nc = r / g.Ho;
    const T* xp = x + nc * g.H * g.W;
    T best = neg_inf<T>();
    int64_t bi;
    max_window(xp, g, oh, ow, best, bi);
    out[o] = best;
    idx[o] = bi < 0 ? 0 : bi;
  }
}

}  // namespace

template <class T>
void im2col(const T* x, const Conv2dGeometry& g, T* cols) {
  const int64_t total = g.N * g.C * g.kh * g.kw * g.Ho * g.Wo;
  if (total == 0) return;
  im2col_kernel<T><<<grid_for(total), kThreads, 0, stream()>>>(x, g, cols, total);
  check_launch("im2col");
}

template <class T>
void col2im(const T* cols, const Conv2dGeometry& g, T* x) {
  const int64_t total = g.N * g.C * g.H * g.W;
  if (total == 0) return;
  col2im_kernel<T><<<grid_for(total), kThreads, 0, stream()>>>(cols, g, x, total);
  check_launch("col2im");
}

template <class T>
void max_pool2d(const T* x, const Conv2dGeometry& g, T* out, I* idx) {
  const int64_t total = g.N * g.C * g.Ho * g.Wo;
  if (total == 0) return;
  max_pool2d_kernel<T><<<grid_for(total), kThreads, 0, stream()>>>(x, g, out, idx, total);
  check_launch("max_pool2d");
}

#define DST_INST(T)                                                      \
  template void im2col<T>(const T*, const Conv2dGeometry&, T*);          \
  template void col2im<T>(const T*, const Conv2dGeometry&, T*);          \
  template void max_pool2d<T>(const T*, const Conv2dGeometry&, T*, I*);
DST_INST(float)
DST_INST(double)
#undef DST_INST

}  // namespace distillery::cuda_detail
