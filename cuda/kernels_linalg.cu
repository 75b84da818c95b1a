// cuda/kernels_linalg.cu — row-major (batched) GEMM on cuBLAS (the linalg family).
//
// cuBLAS is column-major. A row-major m×n matrix C with row stride ldc is, read column-major,
// the n×m matrix Cᵀ with leading dimension ldc; so C = op(A)·op(B) is computed as
// Cᵀ = op(B)ᵀ·op(A)ᵀ, i.e. cuBLAS is called with the operands swapped (B first) and m, n
// swapped, each transpose flag unchanged. Batches use the strided-batched entry points (a batch
// stride of 0 broadcasts an operand). float runs in plain FP32 (no TF32), as PyTorch's default;
// set DISTILLERY_CUDA_TF32=1 in the environment to allow TF32 tensor cores.
#include <cublas_v2.h>

#include <cstdlib>
#include <limits>
#include <mutex>

#include "common.cuh"

namespace distillery::cuda_detail {

namespace {

const char* cublas_status_name(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    default: return "CUBLAS_STATUS_UNKNOWN";
  }
}

void check_cublas(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS) fail("gemm", "cuBLAS error in ", what, ": ", cublas_status_name(s));
}

std::mutex handle_mu;

cublasHandle_t handle() {
  static cublasHandle_t h = [] {
    cublasHandle_t hh = nullptr;
    check_cublas(cublasCreate(&hh), "cublasCreate");
    check_cublas(cublasSetStream(hh, stream()), "cublasSetStream");
    const char* tf32 = std::getenv("DISTILLERY_CUDA_TF32");
    const bool allow = tf32 && tf32[0] == '1';
    check_cublas(cublasSetMathMode(hh, allow ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH),
                 "cublasSetMathMode");
    return hh;
  }();
  return h;
}

// C[b] = beta * C[b] over m×n with row stride ldc (k == 0 case).
template <class T>
__global__ void scale_kernel(T* C, int64_t m, int64_t n, int64_t ldc, int64_t sC, int64_t batch,
                             T beta) {
  const int64_t total = batch * m * n;
  for (int64_t t = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; t < total;
       t += int64_t(gridDim.x) * blockDim.x) {
    int64_t j = t % n, r = t / n, i = r % m, b = r / m;
    T* c = C + b * sC + i * ldc + j;
    *c = beta == T(0) ? T(0) : beta * *c;
  }
}

inline cublasStatus_t gemm_call(cublasHandle_t h, cublasOperation_t oa, cublasOperation_t ob,
                                int m, int n, int k, const float* alpha, const float* A, int lda,
                                long long sA, const float* B, int ldb, long long sB,
                                const float* beta, float* C, int ldc, long long sC, int batch) {
  if (batch == 1) return cublasSgemm(h, oa, ob, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
  return cublasSgemmStridedBatched(h, oa, ob, m, n, k, alpha, A, lda, sA, B, ldb, sB, beta, C,
                                   ldc, sC, batch);
}
inline cublasStatus_t gemm_call(cublasHandle_t h, cublasOperation_t oa, cublasOperation_t ob,
                                int m, int n, int k, const double* alpha, const double* A,
                                int lda, long long sA, const double* B, int ldb, long long sB,
                                const double* beta, double* C, int ldc, long long sC,
                                int batch) {
  if (batch == 1) return cublasDgemm(h, oa, ob, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
  return cublasDgemmStridedBatched(h, oa, ob, m, n, k, alpha, A, lda, sA, B, ldb, sB, beta, C,
                                   ldc, sC, batch);
}

}  // namespace

template <class T>
void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* A, int64_t lda,
          int64_t sA, const T* B, int64_t ldb, int64_t sB, T beta, T* C, int64_t ldc, int64_t sC,
          int64_t batch) {
  if (m == 0 || n == 0 || batch == 0) return;
  if (k == 0) {
    scale_kernel<T><<<grid_for(batch * m * n), kThreads, 0, stream()>>>(C, m, n, ldc, sC, batch,
                                                                         beta);
    return check_launch("gemm");
  }
  constexpr int64_t imax = std::numeric_limits<int>::max();
  check(m <= imax && n <= imax && k <= imax && lda <= imax && ldb <= imax && ldc <= imax &&
            batch <= imax,
        "gemm", "extents above 2^31-1 are not supported on CUDA (m=", m, ", n=", n, ", k=", k,
        ", batch=", batch, ")");
  std::lock_guard<std::mutex> lk(handle_mu);
  cublasHandle_t h = handle();
  // row-major C = op(A) op(B)  <=>  column-major Cᵀ = op(B)ᵀ op(A)ᵀ
  const cublasOperation_t opB = tb ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t opA = ta ? CUBLAS_OP_T : CUBLAS_OP_N;
  check_cublas(gemm_call(h, opB, opA, int(n), int(m), int(k), &alpha, B, int(ldb), sB, A,
                         int(lda), sA, &beta, C, int(ldc), sC, int(batch)),
               batch == 1 ? "cublas<t>gemm" : "cublas<t>gemmStridedBatched");
}

template void gemm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t,
                          int64_t, const float*, int64_t, int64_t, float, float*, int64_t,
                          int64_t, int64_t);
template void gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t,
                           int64_t, const double*, int64_t, int64_t, double, double*, int64_t,
                           int64_t, int64_t);

}  // namespace distillery::cuda_detail
