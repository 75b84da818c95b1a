// cuda/kernels_reduce.cu — reduce (sum/max/min/prod over [outer, r, inner]), arg_reduce and
// row-wise (log-)softmax.
//
// Reductions accumulate in double (as the CPU backend does) and combine in a fixed tree order,
// so a result depends only on the inputs and the launch shape. Long reductions are split into
// chunks whose partials are combined in order by a second kernel.
#include <math_constants.h>

#include <algorithm>
#include <cfloat>
#include <limits>

#include "common.cuh"

namespace distillery::cuda_detail {

namespace {

using Acc = double;

template <ReduceOp OP>
struct Combine {
  __device__ __forceinline__ static Acc init() {
    if (OP == ReduceOp::sum) return 0.0;
    if (OP == ReduceOp::prod) return 1.0;
    if (OP == ReduceOp::max) return -CUDART_INF;
    return CUDART_INF;
  }
  __device__ __forceinline__ static Acc apply(Acc acc, Acc v) {
    if (OP == ReduceOp::sum) return acc + v;
    if (OP == ReduceOp::prod) return acc * v;
    if (OP == ReduceOp::max) return (v > acc || v != v) ? v : acc;  // NaN propagates
    return (v < acc || v != v) ? v : acc;
  }
};

__device__ __forceinline__ double shfl_down(double v, int d) {
  return __shfl_down_sync(0xffffffffu, v, d);
}

// Block-wide combine of one value per thread; result valid in thread 0.
template <ReduceOp OP, int THREADS>
__device__ Acc block_combine(Acc v) {
  __shared__ Acc sh[THREADS / 32];
  for (int d = 16; d > 0; d >>= 1) v = Combine<OP>::apply(v, shfl_down(v, d));
  const int lane = threadIdx.x & 31, w = threadIdx.x >> 5;
  if (lane == 0) sh[w] = v;
  __syncthreads();
  if (w == 0) {
    v = lane < THREADS / 32 ? sh[lane] : Combine<OP>::init();
    for (int d = 16; d > 0; d >>= 1) v = Combine<OP>::apply(v, shfl_down(v, d));
  }
  return v;
}

// inner == 1: block (row, chunk) combines in[row, chunk*len : (chunk+1)*len].
// With chunks == 1 it writes the result; else a partial part[row * chunks + chunk].
template <class T, ReduceOp OP, int THREADS>
__global__ void reduce_rows(const T* in, int64_t r, int64_t len, T* out, Acc* part) {
  const int64_t row = blockIdx.x, chunk = blockIdx.y, chunks = gridDim.y;
  const T* p = in + row * r;
  int64_t b = chunk * len, e = min(r, b + len);
  Acc acc = Combine<OP>::init();
  for (int64_t j = b + threadIdx.x; j < e; j += THREADS) acc = Combine<OP>::apply(acc, Acc(p[j]));
  acc = block_combine<OP, THREADS>(acc);
  if (threadIdx.x == 0) {
    if (chunks == 1) out[row] = static_cast<T>(acc);
    else part[row * chunks + chunk] = acc;
  }
}

// inner > 1: thread per (o, i, chunk), serial over its chunk of r (coalesced over i).
template <class T, ReduceOp OP>
__global__ void reduce_cols(const T* in, int64_t outer, int64_t r, int64_t inner, int64_t chunks,
                            int64_t len, T* out, Acc* part) {
  const int64_t total = outer * inner * chunks;
  for (int64_t t = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; t < total;
       t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t oi = t % (outer * inner), chunk = t / (outer * inner);
    const int64_t o = oi / inner, i = oi % inner;
    const T* p = in + o * r * inner + i;
    int64_t b = chunk * len, e = min(r, b + len);
    Acc acc = Combine<OP>::init();
    for (int64_t j = b; j < e; ++j) acc = Combine<OP>::apply(acc, Acc(p[j * inner]));
    if (chunks == 1) out[oi] = static_cast<T>(acc);
    else part[chunk * outer * inner + oi] = acc;
  }
}

// combine partials in chunk order: result m = combine_c part[m*ms + c*cs]
template <class T, ReduceOp OP>
__global__ void reduce_partials(const Acc* part, int64_t m, int64_t chunks, int64_t ms,
                                int64_t cs, T* out) {
  for (int64_t t = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; t < m;
       t += int64_t(gridDim.x) * blockDim.x) {
    Acc acc = Combine<OP>::init();
    for (int64_t c = 0; c < chunks; ++c) acc = Combine<OP>::apply(acc, part[t * ms + c * cs]);
    out[t] = static_cast<T>(acc);
  }
}

template <class T, ReduceOp OP>
void reduce_impl(const T* in, int64_t outer, int64_t r, int64_t inner, T* out) {
  const int64_t target = int64_t(num_sms()) * 2048;  // threads that keep the chip busy
  cudaStream_t st = stream();
  if (inner == 1) {
    constexpr int THREADS = 256;
    // one block per row; split long rows when there are too few rows to fill the chip
    int64_t chunks = 1;
    if (outer < 2 * num_sms() && r > 8 * THREADS) {
      chunks = std::min<int64_t>((r + 4 * THREADS - 1) / (4 * THREADS),
                                 (4 * num_sms() + outer - 1) / outer);
      chunks = std::max<int64_t>(chunks, 1);
    }
    const int64_t len = (r + chunks - 1) / chunks;
    Acc* part = nullptr;
    const std::size_t pbytes = sizeof(Acc) * outer * chunks;
    if (chunks > 1) part = static_cast<Acc*>(scratch(pbytes));
    dim3 grid(static_cast<unsigned>(outer), static_cast<unsigned>(chunks));
    check(outer <= 0x7FFFFFFF && chunks <= 65535, "reduce", "too many rows for the CUDA grid");
    reduce_rows<T, OP, THREADS><<<grid, THREADS, 0, st>>>(in, r, len, out, part);
    check_launch("reduce");
    if (chunks > 1) {
      reduce_partials<T, OP><<<grid_for(outer), kThreads, 0, st>>>(part, outer, chunks, chunks,
                                                                   1, out);
      check_launch("reduce");
      release(part, pbytes);
    }
    return;
  }
  const int64_t m = outer * inner;
  int64_t chunks = 1;
  if (m < target && r > 64) {
    chunks = std::min<int64_t>((target + m - 1) / m, (r + 31) / 32);
    chunks = std::max<int64_t>(chunks, 1);
  }
  const int64_t len = (r + chunks - 1) / chunks;
  Acc* part = nullptr;
  const std::size_t pbytes = sizeof(Acc) * m * chunks;
  if (chunks > 1) part = static_cast<Acc*>(scratch(pbytes));
  reduce_cols<T, OP><<<grid_for(m * chunks), kThreads, 0, st>>>(in, outer, r, inner, chunks, len,
                                                                 out, part);
  check_launch("reduce");
  if (chunks > 1) {
    reduce_partials<T, OP><<<grid_for(m), kThreads, 0, st>>>(part, m, chunks, 1, m, out);
    check_launch("reduce");
    release(part, pbytes);
  }
}

// ---- arg_reduce ------------------------------------------------------------------------------
// (value, index) pairs; NaN wins (first NaN), else the extreme value, first occurrence on ties.
template <class T>
__device__ __forceinline__ bool arg_better(bool is_max, T v, int64_t i, T bv, int64_t bi) {
  const bool vn = v != v, bn = bv != bv;
  if (vn || bn) return vn && (!bn || i < bi);
  if (is_max ? v > bv : v < bv) return true;
  return v == bv && i < bi;
}

template <class T>
__global__ void arg_reduce_cols(bool is_max, const T* in, int64_t outer, int64_t r,
                                int64_t inner, int64_t* out) {
  const int64_t m = outer * inner;
  for (int64_t t = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; t < m;
       t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t o = t / inner, i = t % inner;
    const T* p = in + o * r * inner + i;
    int64_t best = 0;
    T bv = p[0];
    for (int64_t j = 1; j < r; ++j) {
      if (bv != bv) break;
      T v = p[j * inner];
      if (is_max ? (v > bv || v != v) : (v < bv || v != v)) { bv = v; best = j; }
    }
    out[t] = best;
  }
}

// inner == 1: a warp per row
template <class T>
__global__ void arg_reduce_rows(bool is_max, const T* in, int64_t outer, int64_t r,
                                int64_t* out) {
  const int lane = threadIdx.x & 31;
  const int64_t warps = int64_t(gridDim.x) * (blockDim.x / 32);
  for (int64_t row = int64_t(blockIdx.x) * (blockDim.x / 32) + (threadIdx.x >> 5); row < outer;
       row += warps) {
    const T* p = in + row * r;
    T bv = p[0];
    int64_t bi = 0;
    for (int64_t j = lane; j < r; j += 32) {
      T v = p[j];
      if (arg_better(is_max, v, j, bv, bi)) { bv = v; bi = j; }
    }
    for (int d = 16; d > 0; d >>= 1) {
      T ov = __shfl_down_sync(0xffffffffu, bv, d);
      int64_t oi = __shfl_down_sync(0xffffffffu, bi, d);
      if (arg_better(is_max, ov, oi, bv, bi)) { bv = ov; bi = oi; }
    }
    if (lane == 0) out[row] = bi;
  }
}

// ---- softmax ---------------------------------------------------------------------------------
template <class T> __device__ __forceinline__ T dexp(T x);
template <> __device__ __forceinline__ float dexp<float>(float x) { return expf(x); }
template <> __device__ __forceinline__ double dexp<double>(double x) { return exp(x); }

template <class T> __device__ __forceinline__ T neg_inf();
template <> __device__ __forceinline__ float neg_inf<float>() { return -CUDART_INF_F; }
template <> __device__ __forceinline__ double neg_inf<double>() { return -CUDART_INF; }

template <class T>
__device__ __forceinline__ void softmax_finish(const T* x, T* y, int64_t cols, T m, Acc s,
                                               bool log, int64_t tid, int64_t nt) {
  if (log) {
    const T lse = m + static_cast<T>(::log(s));
    for (int64_t j = tid; j < cols; j += nt) y[j] = x[j] - lse;
  } else {
    const T inv = static_cast<T>(1.0 / s);
    for (int64_t j = tid; j < cols; j += nt) y[j] = dexp<T>(x[j] - m) * inv;
  }
}

// a warp per row (cols <= 2048)
template <class T>
__global__ void softmax_warp(const T* in, T* out, int64_t rows, int64_t cols, bool log) {
  const int lane = threadIdx.x & 31;
  const int64_t row = int64_t(blockIdx.x) * (blockDim.x / 32) + (threadIdx.x >> 5);
  if (row >= rows) return;
  const T* x = in + row * cols;
  T* y = out + row * cols;
  T m = neg_inf<T>();
  for (int64_t j = lane; j < cols; j += 32) m = fmax(m, x[j]);
  for (int d = 16; d > 0; d >>= 1) m = fmax(m, __shfl_xor_sync(0xffffffffu, m, d));
  if (m == neg_inf<T>()) m = T(0);  // fully masked row
  Acc s = 0;
  for (int64_t j = lane; j < cols; j += 32) s += Acc(dexp<T>(x[j] - m));
  for (int d = 16; d > 0; d >>= 1) s += __shfl_xor_sync(0xffffffffu, s, d);
  softmax_finish<T>(x, y, cols, m, s, log, lane, 32);
}

// a block per row (long rows)
template <class T, int THREADS>
__global__ void softmax_block(const T* in, T* out, int64_t cols, bool log) {
  __shared__ Acc sh[THREADS / 32];
  __shared__ T shm[THREADS / 32];
  const int lane = threadIdx.x & 31, w = threadIdx.x >> 5;
  const T* x = in + int64_t(blockIdx.x) * cols;
  T* y = out + int64_t(blockIdx.x) * cols;
  T m = neg_inf<T>();
  for (int64_t j = threadIdx.x; j < cols; j += THREADS) m = fmax(m, x[j]);
  for (int d = 16; d > 0; d >>= 1) m = fmax(m, __shfl_xor_sync(0xffffffffu, m, d));
  if (lane == 0) shm[w] = m;
  __syncthreads();
  m = shm[0];
  for (int k = 1; k < THREADS / 32; ++k) m = fmax(m, shm[k]);
  if (m == neg_inf<T>()) m = T(0);
  Acc s = 0;
  for (int64_t j = threadIdx.x; j < cols; j += THREADS) s += Acc(dexp<T>(x[j] - m));
  for (int d = 16; d > 0; d >>= 1) s += __shfl_xor_sync(0xffffffffu, s, d);
  if (lane == 0) sh[w] = s;
  __syncthreads();
  s = 0;
  for (int k = 0; k < THREADS / 32; ++k) s += sh[k];
  softmax_finish<T>(x, y, cols, m, s, log, threadIdx.x, THREADS);
}

}  // namespace

template <class T>
void reduce(ReduceOp op, const T* in, int64_t outer, int64_t r, int64_t inner, T* out) {
  if (outer * inner == 0) return;
  switch (op) {
    case ReduceOp::sum: return reduce_impl<T, ReduceOp::sum>(in, outer, r, inner, out);
    case ReduceOp::max: return reduce_impl<T, ReduceOp::max>(in, outer, r, inner, out);
    case ReduceOp::min: return reduce_impl<T, ReduceOp::min>(in, outer, r, inner, out);
    case ReduceOp::prod: return reduce_impl<T, ReduceOp::prod>(in, outer, r, inner, out);
  }
  fail("reduce", "unknown op code ", static_cast<int>(op));
}

template <class T>
void arg_reduce(bool is_max, const T* in, int64_t outer, int64_t r, int64_t inner, I* out) {
  const int64_t m = outer * inner;
  if (m == 0 || r == 0) return;
  if (inner == 1 && r >= 64) {
    const int64_t blocks = std::min<int64_t>((outer + 7) / 8, int64_t(num_sms()) * 32);
    arg_reduce_rows<T><<<static_cast<unsigned>(blocks), 256, 0, stream()>>>(is_max, in, outer, r,
                                                                            out);
  } else {
    arg_reduce_cols<T><<<grid_for(m), kThreads, 0, stream()>>>(is_max, in, outer, r, inner, out);
  }
  check_launch("arg_reduce");
}

template <class T>
void softmax(const T* in, T* out, int64_t rows, int64_t cols, bool log) {
  if (rows == 0 || cols == 0) return;
  if (cols <= 2048) {
    const int64_t blocks = (rows + 7) / 8;
    check(blocks <= 0x7FFFFFFF, "softmax", "too many rows for the CUDA grid");
    softmax_warp<T><<<static_cast<unsigned>(blocks), 256, 0, stream()>>>(in, out, rows, cols, log);
  } else {
    check(rows <= 0x7FFFFFFF, "softmax", "too many rows for the CUDA grid");
    softmax_block<T, 512><<<static_cast<unsigned>(rows), 512, 0, stream()>>>(in, out, cols, log);
  }
  check_launch("softmax");
}

#define DST_INST(T)                                                                    \
  template void reduce<T>(ReduceOp, const T*, int64_t, int64_t, int64_t, T*);          \
  template void arg_reduce<T>(bool, const T*, int64_t, int64_t, int64_t, I*);          \
  template void softmax<T>(const T*, T*, int64_t, int64_t, bool);
DST_INST(float)
DST_INST(double)
#undef DST_INST

}  // namespace distillery::cuda_detail
