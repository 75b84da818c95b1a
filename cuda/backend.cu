// cuda/backend.cu — the CUDA DeviceRuntime (caching allocator, one stream, deferred index
// errors), the KernelTable<T> that forwards to the kernel files, and their registration into
// cuda_runtime_slot() / cuda_kernel_slot<T>() at static-initialisation time.
//
// Everything public (distillery/cuda.hpp) lives in this one translation unit, so a program that
// calls any of it pulls the registration in even without whole-archive linking.
#include <cuda_runtime.h>

#include <algorithm>
#include <mutex>
#include <sstream>
#include <unordered_map>
#include <vector>

#include <distillery/cuda.hpp>

#include "common.cuh"

namespace distillery {
namespace cuda_detail {

[[noreturn]] void throw_cuda(const char* op, cudaError_t e, const char* what) {
  std::ostringstream os;
  os << op << ": CUDA error";
  if (what) os << " in " << what;
  os << ": " << cudaGetErrorString(e) << " (" << cudaGetErrorName(e) << ")";
  throw Error(os.str());
}

namespace {

const char* index_error_op(int code) {
  switch (code) {
    case kGather: return "gather";
    case kScatterAdd: return "scatter_add";
    case kIndexSelect: return "index_select";
    case kIndexAdd: return "index_add";
    default: return "cuda";
  }
}

// Size classes: multiples of 512 B up to 1 MiB, then steps of 1/8 of the power of two below
// (at most 12.5% slack). A freed block goes back to the free list of its class.
std::size_t round_size(std::size_t n) {
  if (n <= 512) return 512;
  if (n <= (std::size_t(1) << 20)) return (n + 511) / 512 * 512;
  std::size_t p = std::size_t(1) << (63 - __builtin_clzll(static_cast<unsigned long long>(n)));
  std::size_t step = p / 8;
  return (n + step - 1) / step * step;
}

class CudaRuntime final : public DeviceRuntime {
 public:
  void* allocate(std::size_t bytes) override {
    init();
    const std::size_t sz = round_size(bytes);
    std::lock_guard<std::mutex> lk(mu_);
    auto it = free_.find(sz);
    void* p = nullptr;
    if (it != free_.end() && !it->second.empty()) {
      p = it->second.back();
      it->second.pop_back();
      cached_ -= sz;
    } else {
      cudaError_t e = cudaMalloc(&p, sz);
      if (e != cudaSuccess) {  // return the cache to the driver and try once more
        cudaGetLastError();
        release_cache_locked();
        e = cudaMalloc(&p, sz);
      }
      if (e != cudaSuccess) {
        cudaGetLastError();
        std::ostringstream os;
        os << "allocate: CUDA out of memory asking for " << bytes << " bytes (" << live_
           << " bytes live, " << cached_ << " cached): " << cudaGetErrorString(e);
        throw Error(os.str());
      }
      ++mallocs_;
    }
    live_ += sz;
    peak_ = std::max(peak_, live_);
    return p;
  }

  // Work queued on the one stream may still use p; it is handed out again only to work queued
  // later on the same stream, so reuse is ordered after it.
  void deallocate(void* p, std::size_t bytes) override {
    if (!p) return;
    const std::size_t sz = round_size(bytes);
    std::lock_guard<std::mutex> lk(mu_);
    free_[sz].push_back(p);
    live_ -= sz;
    cached_ += sz;
  }

  void copy_to_host(void* dst, const void* src, std::size_t n) override {
    init();
    if (n) check_cuda(cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToHost, stream_),
                      "copy_to_host", "cudaMemcpyAsync");
    synchronize();
  }
  void copy_from_host(void* dst, const void* src, std::size_t n) override {
    init();
    // From pageable memory this returns once the source is staged, so `src` may be reused.
    if (n) check_cuda(cudaMemcpyAsync(dst, src, n, cudaMemcpyHostToDevice, stream_),
                      "copy_from_host", "cudaMemcpyAsync");
  }
  void copy_device(void* dst, const void* src, std::size_t n) override {
    init();
    if (n) check_cuda(cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToDevice, stream_),
                      "copy_device", "cudaMemcpyAsync");
  }
  // Waits for the stream, then reports a deferred device-side error. The flag travels to
  // pinned host memory in the same stream (no second synchronisation).
  void synchronize() override {
    init();
    check_cuda(cudaMemcpyAsync(flag_host_, flag_, sizeof(int), cudaMemcpyDeviceToHost, stream_),
               "synchronize", "reading the device error flag");
    check_cuda(cudaStreamSynchronize(stream_), "synchronize", "cudaStreamSynchronize");
    const int code = *flag_host_;
    if (code != 0) {
      *flag_host_ = 0;
      check_cuda(cudaMemsetAsync(flag_, 0, sizeof(int), stream_), "synchronize",
                 "clearing the error flag");
      std::ostringstream os;
      os << index_error_op(code) << ": index out of range (found by a CUDA kernel, reported at "
         << "the next synchronisation)";
      throw Error(os.str());
    }
  }

  cudaStream_t stream() { init(); return stream_; }
  int* flag() { init(); return flag_; }
  int sms() { init(); return sms_; }

  CudaMemoryInfo info() {
    std::lock_guard<std::mutex> lk(mu_);
    CudaMemoryInfo m;
    m.live_bytes = live_;
    m.cached_bytes = cached_;
    m.peak_bytes = peak_;
    m.cuda_mallocs = mallocs_;
    return m;
  }
  void empty_cache() {
    std::lock_guard<std::mutex> lk(mu_);
    release_cache_locked();
  }

 private:
  void init() {
    std::call_once(once_, [this] {
      int n = 0;
      check_cuda(cudaGetDeviceCount(&n), "cuda", "cudaGetDeviceCount (is there a GPU?)");
      if (n == 0) throw Error("cuda: no CUDA device present");
      check_cuda(cudaStreamCreate(&stream_), "cuda", "cudaStreamCreate");
      check_cuda(cudaMalloc(reinterpret_cast<void**>(&flag_), sizeof(int)), "cuda",
                 "allocating the error flag");
      check_cuda(cudaMemset(flag_, 0, sizeof(int)), "cuda", "clearing the error flag");
      check_cuda(cudaMallocHost(reinterpret_cast<void**>(&flag_host_), sizeof(int)), "cuda",
                 "allocating the pinned error flag");
      *flag_host_ = 0;
      int dev = 0;
      check_cuda(cudaGetDevice(&dev), "cuda", "cudaGetDevice");
      check_cuda(cudaDeviceGetAttribute(&sms_, cudaDevAttrMultiProcessorCount, dev), "cuda",
                 "cudaDeviceGetAttribute");
    });
  }
  void release_cache_locked() {
    if (stream_) cudaStreamSynchronize(stream_);
    for (auto& kv : free_)
      for (void* p : kv.second) cudaFree(p);
    free_.clear();
    cached_ = 0;
  }

  std::once_flag once_;
  std::mutex mu_;
  cudaStream_t stream_ = nullptr;
  int* flag_ = nullptr;       // device
  int* flag_host_ = nullptr;  // pinned host copy, read after each synchronisation
  int sms_ = 1;
  std::unordered_map<std::size_t, std::vector<void*>> free_;
  std::size_t live_ = 0, cached_ = 0, peak_ = 0, mallocs_ = 0;
};

// Never destroyed: tensors in static storage may free memory during program exit.
CudaRuntime& rt() {
  static CudaRuntime* r = new CudaRuntime;
  return *r;
}

}  // namespace

cudaStream_t stream() { return rt().stream(); }
int* error_flag() { return rt().flag(); }
int num_sms() { return rt().sms(); }
void* scratch(std::size_t bytes) { return rt().allocate(bytes); }
void release(void* p, std::size_t bytes) { rt().deallocate(p, bytes); }

// ---- the kernel tables -----------------------------------------------------------------------
template <class T>
struct CudaKernels final : KernelTable<T> {
  void fill(T* out, int64_t n, T v) override { cuda_detail::fill<T>(out, n, v); }
  void copy(const T* s, const View& sv, T* d, const View& dv) override {
    cuda_detail::copy<T>(s, sv, d, dv);
  }
  void cast(const float* s, T* d, int64_t n) override { cuda_detail::cast<T, float>(s, d, n); }
  void cast(const double* s, T* d, int64_t n) override { cuda_detail::cast<T, double>(s, d, n); }
  void cast(const int64_t* s, T* d, int64_t n) override { cuda_detail::cast<T, int64_t>(s, d, n); }
};

template <class T>
struct CudaFloatKernels final : KernelTable<T> {
  using I = int64_t;
  void fill(T* out, int64_t n, T v) override { cuda_detail::fill<T>(out, n, v); }
  void copy(const T* s, const View& sv, T* d, const View& dv) override {
    cuda_detail::copy<T>(s, sv, d, dv);
  }
  void cast(const float* s, T* d, int64_t n) override { cuda_detail::cast<T, float>(s, d, n); }
  void cast(const double* s, T* d, int64_t n) override { cuda_detail::cast<T, double>(s, d, n); }
  void cast(const int64_t* s, T* d, int64_t n) override { cuda_detail::cast<T, int64_t>(s, d, n); }
  void unary(UnaryOp op, const T* a, T* out, int64_t n, T p1, T p2) override {
    cuda_detail::unary<T>(op, a, out, n, p1, p2);
  }
  void binary(BinaryOp op, const T* a, const View& av, const T* b, const View& bv, T* out,
              const Shape& shape) override {
    cuda_detail::binary<T>(op, a, av, b, bv, out, shape);
  }
  void where(const T* c, const View& cv, const T* a, const View& av, const T* b, const View& bv,
             T* out, const Shape& shape) override {
    cuda_detail::where<T>(c, cv, a, av, b, bv, out, shape);
  }
  void bernoulli_mask(uint64_t seed, double p, T keep, T* out, int64_t n) override {
    cuda_detail::bernoulli_mask<T>(seed, p, keep, out, n);
  }
  void reduce(ReduceOp op, const T* in, int64_t outer, int64_t r, int64_t inner,
              T* out) override {
    cuda_detail::reduce<T>(op, in, outer, r, inner, out);
  }
  void arg_reduce(bool is_max, const T* in, int64_t outer, int64_t r, int64_t inner,
                  I* out) override {
    cuda_detail::arg_reduce<T>(is_max, in, outer, r, inner, out);
  }
  void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* A, int64_t lda,
            int64_t sA, const T* B, int64_t ldb, int64_t sB, T beta, T* C, int64_t ldc,
            int64_t sC, int64_t batch) override {
    cuda_detail::gemm<T>(ta, tb, m, n, k, alpha, A, lda, sA, B, ldb, sB, beta, C, ldc, sC, batch);
  }
  void gather(const T* in, const Shape& in_shape, const I* idx, const Shape& idx_shape, int dim,
              T* out) override {
    cuda_detail::gather<T>(in, in_shape, idx, idx_shape, dim, out);
  }
  void scatter_add(T* out, const Shape& out_shape, const I* idx, const Shape& idx_shape,
                   const T* src, int dim) override {
    cuda_detail::scatter_add<T>(out, out_shape, idx, idx_shape, src, dim);
  }
  void index_select(const T* in, int64_t outer, int64_t n, int64_t inner, const I* idx,
                    int64_t nidx, T* out) override {
    cuda_detail::index_select<T>(in, outer, n, inner, idx, nidx, out);
  }
  void index_add(T* out, int64_t outer, int64_t n, int64_t inner, const I* idx, int64_t nidx,
                 const T* src) override {
    cuda_detail::index_add<T>(out, outer, n, inner, idx, nidx, src);
  }
  void softmax(const T* in, T* out, int64_t rows, int64_t cols, bool log) override {
    cuda_detail::softmax<T>(in, out, rows, cols, log);
  }
  void im2col(const T* x, const Conv2dGeometry& g, T* cols) override {
    cuda_detail::im2col<T>(x, g, cols);
  }
  void col2im(const T* cols, const Conv2dGeometry& g, T* x) override {
    cuda_detail::col2im<T>(cols, g, x);
  }
  void max_pool2d(const T* x, const Conv2dGeometry& g, T* out, I* idx) override {
    cuda_detail::max_pool2d<T>(x, g, out, idx);
  }
  void sort(const T* in, int64_t rows, int64_t cols, bool descending, T* vals, I* idx) override {
    cuda_detail::sort<T>(in, rows, cols, descending, vals, idx);
  }
  bool has_fused_losses() const override { return true; }
  bool kd_fused(const T* z, const T* v, int64_t N, int64_t C, double temperature, bool soft_ce,
                double coef, T* value, T* grad) override {
    return cuda_detail::kd_fused<T>(z, v, N, C, temperature, soft_ce, coef, value, grad);
  }
  bool relation_fused(const T* Gs, const T* Gt, const T* mask, int64_t groups, int64_t m,
                      const RelationSpec& spec, T* value, T* dG) override {
    return cuda_detail::relation_fused<T>(Gs, Gt, mask, groups, m, spec, value, dG);
  }
};

namespace {
bool register_backend() {
  static CudaFloatKernels<float> kf;
  static CudaFloatKernels<double> kd;
  static CudaKernels<int64_t> ki;
  cuda_runtime_slot() = &rt();
  cuda_kernel_slot<float>() = &kf;
  cuda_kernel_slot<double>() = &kd;
  cuda_kernel_slot<int64_t>() = &ki;
  return true;
}
// Static-initialisation-time registration (no CUDA call happens here: the runtime starts on
// first use, so a program without a GPU loads fine).
const bool registered = register_backend();
}  // namespace

}  // namespace cuda_detail

// ---- public API (distillery/cuda.hpp) -------------------------------------------------------
bool cuda_device_present() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();
    return false;
  }
  return n > 0;
}

bool cuda_init() {
  (void)cuda_detail::registered;
  cuda_detail::register_backend();
  return cuda_device_present();
}

void* cuda_stream() { return cuda_detail::stream(); }
void cuda_synchronize() { cuda_detail::rt().synchronize(); }
CudaMemoryInfo cuda_memory_info() { return cuda_detail::rt().info(); }
void cuda_empty_cache() { cuda_detail::rt().empty_cache(); }

const char* cuda_device_name() {
  static std::string name;
  static std::once_flag once;
  std::call_once(once, [] {
    if (!cuda_device_present()) return;
    cudaDeviceProp p;
    if (cudaGetDeviceProperties(&p, 0) == cudaSuccess) name = p.name;
  });
  return name.c_str();
}

}  // namespace distillery
