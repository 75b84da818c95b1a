// cuda/common.cuh — what every CUDA kernel file shares: error checks, the stream, launch
// geometry, strided indexing, and the declarations of the kernel entry points that
// cuda/table.cu wires into KernelTable<T>.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include <distillery/backend/index_math.hpp>
#include <distillery/backend/kernel_table.hpp>

namespace distillery::cuda_detail {

// ---- errors ---------------------------------------------------------------------------------
[[noreturn]] void throw_cuda(const char* op, cudaError_t e, const char* what = nullptr);
inline void check_cuda(cudaError_t e, const char* op, const char* what = nullptr) {
  if (e != cudaSuccess) throw_cuda(op, e, what);
}
// After a kernel launch: launch-configuration errors surface here, at the op.
inline void check_launch(const char* op) { check_cuda(cudaGetLastError(), op, "kernel launch"); }

// ---- shared runtime state (cuda/runtime.cu) ------------------------------------------------
cudaStream_t stream();
void* scratch(std::size_t bytes);             // allocator-backed temporary (free with release)
void release(void* p, std::size_t bytes);
int* error_flag();                            // device int: 0 or an IndexError code below
int num_sms();

enum IndexError : int { kNone = 0, kGather = 1, kScatterAdd = 2, kIndexSelect = 3, kIndexAdd = 4 };

// ---- launch geometry -------------------------------------------------------------------------
constexpr int kThreads = 256;
inline unsigned grid_for(int64_t n, int threads = kThreads) {
  int64_t b = (n + threads - 1) / threads;
  int64_t cap = int64_t(num_sms()) * 32;  // grid-stride loops beyond this
  if (b > cap) b = cap;
  return static_cast<unsigned>(b < 1 ? 1 : b);
}
// for (i = this thread's first index; i < n; i += all threads of the grid): a launch of
// grid_for(n) blocks covers any n.
#define DST_GRID_STRIDE(i, n)                                                         \
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (n);          \
       i += int64_t(gridDim.x) * blockDim.x)

// ---- strided indexing ------------------------------------------------------------------------
// Strided<K> and coalesce<K> (passed to kernels by value) are backend/index_math.hpp, shared
// with the CPU loops (backend/cpu/strided.hpp).
using distillery::Strided;
using distillery::coalesce;

// ---- kernel entry points (one .cu file per family; explicit instantiations there) ----------
using I = int64_t;
// kernels_elementwise.cu (fill/copy/cast also for int64)
template <class T> void fill(T* out, int64_t n, T value);
template <class T> void copy(const T* src, const View& sv, T* dst, const View& dv);
template <class T, class S> void cast(const S* src, T* dst, int64_t n);
template <class T> void unary(UnaryOp op, const T* a, T* out, int64_t n, T p1, T p2);
template <class T> void binary(BinaryOp op, const T* a, const View& av, const T* b,
                               const View& bv, T* out, const Shape& shape);
template <class T> void where(const T* c, const View& cv, const T* a, const View& av,
                              const T* b, const View& bv, T* out, const Shape& shape);
template <class T> void bernoulli_mask(uint64_t seed, double p, T keep, T* out, int64_t n);
// kernels_reduce.cu
template <class T> void reduce(ReduceOp op, const T* in, int64_t outer, int64_t r,
                               int64_t inner, T* out);
template <class T> void arg_reduce(bool is_max, const T* in, int64_t outer, int64_t r,
                                   int64_t inner, I* out);
template <class T> void softmax(const T* in, T* out, int64_t rows, int64_t cols, bool log);
// kernels_linalg.cu
template <class T> void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha,
                             const T* A, int64_t lda, int64_t sA, const T* B, int64_t ldb,
                             int64_t sB, T beta, T* C, int64_t ldc, int64_t sC, int64_t batch);
// kernels_index.cu
template <class T> void gather(const T* in, const Shape& in_shape, const I* idx,
                               const Shape& idx_shape, int dim, T* out);
template <class T> void scatter_add(T* out, const Shape& out_shape, const I* idx,
                                    const Shape& idx_shape, const T* src, int dim);
template <class T> void index_select(const T* in, int64_t outer, int64_t n, int64_t inner,
                                     const I* idx, int64_t nidx, T* out);
template <class T> void index_add(T* out, int64_t outer, int64_t n, int64_t inner,
                                  const I* idx, int64_t nidx, const T* src);
// kernels_nn_functional.cu
template <class T> void im2col(const T* x, const Conv2dGeometry& g, T* cols);
template <class T> void col2im(const T* cols, const Conv2dGeometry& g, T* x);
template <class T> void max_pool2d(const T* x, const Conv2dGeometry& g, T* out, I* idx);
// kernels_reduce_sort.cu
template <class T> void sort(const T* in, int64_t rows, int64_t cols, bool descending, T* vals,
                             I* idx);

// kernels_loss.cu (fused distillation losses; false = not for these sizes)
template <class T> bool kd_fused(const T* z, const T* v, int64_t N, int64_t C, double temperature,
                                 bool soft_ce, double coef, T* value, T* grad);
template <class T> bool relation_fused(const T* Gs, const T* Gt, const T* mask, int64_t groups,
                                       int64_t m, const RelationSpec& spec, T* value, T* dG);
}  // namespace distillery::cuda_detail
