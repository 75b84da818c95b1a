// bench/bench_common.hpp — what every bench_*.cpp shares.
//
// * DISTILLERY_BENCH_MAIN(): a main() that sets LibTorch's intra-op threads (default 2, or
//   $DISTILLERY_BENCH_TORCH_THREADS), records the build flags, thread counts and GEMM path in the
//   benchmark context (it lands in the JSON next to the numbers), then runs the benchmarks.
// * cblas_sgemm / openblas_set_num_threads declared here, so no OpenBLAS -dev package is needed.
// * Small graph-free helpers for training steps (SGD with optional momentum on Distillery
//   parameters, written as raw loops over the buffers, like torch::optim's in-place updates).
//
// Naming: every measured case is registered as `distillery/<case>` with its twin
// `libtorch/<case>` (or `openblas/<case>`), so /work/shared/tools/bench_ratios.py can pair them.
#pragma once
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <cstdlib>
#include <string>
#include <vector>

#include <distillery/backend/cpu/gemm.hpp>  // cpu::gemm_isa, set_gemm_isa (the ISA switch)
#include <distillery/distillery.hpp>
#include <distillery/optim/optim.hpp>

extern "C" {
void cblas_sgemm(int order, int transa, int transb, int m, int n, int k, float alpha,
                 const float* a, int lda, const float* b, int ldb, float beta, float* c, int ldc);
void openblas_set_num_threads(int n);
int openblas_get_num_threads(void);
char* openblas_get_corename(void);
}
namespace bench {
constexpr int kCblasRowMajor = 101, kCblasNoTrans = 111, kCblasTrans = 112;

namespace ds = distillery;

// Parameters of a Distillery model plus optional momentum buffers.
struct DsSgd {
  std::vector<ds::TensorF> params;
  std::vector<std::vector<float>> bufs;
  float lr = 0.01f, momentum = 0.f;
  bool first = true;

  void step() {
    if (bufs.empty()) bufs.resize(params.size());
    for (size_t i = 0; i < params.size(); ++i) {
      ds::TensorF& p = params[i];
      ds::TensorF g = p.grad();
      if (!g.defined()) continue;
      ds::TensorF gc = ds::raw_contiguous(g);
      float* w = p.data_ptr();
      const float* gp = gc.data_ptr();
      const int64_t n = p.numel();
      if (momentum != 0.f) {
        auto& b = bufs[i];
        if (b.empty()) b.assign(gp, gp + n);
        else
          for (int64_t j = 0; j < n; ++j) b[j] = momentum * b[j] + gp[j];
        for (int64_t j = 0; j < n; ++j) w[j] -= lr * b[j];
      } else {
        for (int64_t j = 0; j < n; ++j) w[j] -= lr * gp[j];
      }
    }
  }
  void zero_grad() {
    for (auto& p : params) p.zero_grad();
  }
};

// Uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) like torch.nn.Linear / Conv2d defaults.
inline ds::TensorF ds_param(const ds::Shape& s, int64_t fan_in, ds::Generator& gen) {
  double b = 1.0 / std::sqrt(double(fan_in));
  auto t = ds::TensorF::rand(s, gen, -b, b);
  t.requires_grad_();
  return t;
}

// The same values as a LibTorch leaf (so both sides start from identical weights).
inline torch::Tensor to_torch(const ds::TensorF& t, bool requires_grad = true) {
  auto v = t.to_vector();
  std::vector<int64_t> s(t.shape().begin(), t.shape().end());
  return torch::from_blob(v.data(), s, torch::kFloat32).clone().set_requires_grad(requires_grad);
}
inline torch::Tensor to_torch_index(const ds::Tensor<int64_t>& t) {
  auto v = t.to_vector();
  std::vector<int64_t> s(t.shape().begin(), t.shape().end());
  return torch::from_blob(v.data(), s, torch::kInt64).clone();
}

inline std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v ? v : fallback;
}

inline void add_context() {
  std::string isa;
#ifdef __AVX512F__
  isa += "avx512f ";
#endif
#ifdef __AVX2__
  isa += "avx2 ";
#endif
#ifdef __FMA__
  isa += "fma ";
#endif
  if (isa.empty()) isa = "baseline (no -march)";
  benchmark::AddCustomContext("distillery_compile_isa", isa);
#ifdef DISTILLERY_BENCH_BUILD_TYPE
  benchmark::AddCustomContext("distillery_build_type", DISTILLERY_BENCH_BUILD_TYPE);
  benchmark::AddCustomContext("distillery_cxx_flags", DISTILLERY_BENCH_CXX_FLAGS);
#endif
  benchmark::AddCustomContext("distillery_omp_threads",
                              std::to_string(distillery::cpu::max_threads()));
  benchmark::AddCustomContext("distillery_gemm_kernel", distillery::cpu::gemm_kernel_name());
  benchmark::AddCustomContext("libtorch_threads", std::to_string(torch::get_num_threads()));
  benchmark::AddCustomContext("openblas_threads", std::to_string(openblas_get_num_threads()));
  benchmark::AddCustomContext("openblas_core", openblas_get_corename());
  benchmark::AddCustomContext("OMP_NUM_THREADS", env_or("OMP_NUM_THREADS", "(unset)"));
  benchmark::AddCustomContext("OPENBLAS_NUM_THREADS", env_or("OPENBLAS_NUM_THREADS", "(unset)"));
}

inline int main_impl(int argc, char** argv) {
  torch::set_num_threads(std::atoi(env_or("DISTILLERY_BENCH_TORCH_THREADS", "2").c_str()));
  add_context();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
}  // namespace bench

#define DISTILLERY_BENCH_MAIN() \
  int main(int argc, char** argv) { return bench::main_impl(argc, argv); }
