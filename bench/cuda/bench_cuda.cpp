// bench/cuda/bench_cuda.cpp — Distillery's CUDA backend against LibTorch (CUDA) and cuBLAS.
//
// Pairs `distillery_cuda/<case>` / `libtorch_cuda/<case>` (and `cublas/gemm_4096`) in one binary:
//   gemm_4096   fp32 4096x4096x4096 matmul (no TF32 on any side)
//   kd_loss     KD loss fwd+bwd: T² · KL(softmax(t/T) ‖ log_softmax(s/T)), batch 256 × 1000, T = 4
//               (Distillery: losses::kd_loss, the fused kernel; kd_loss_composed: the same from ops)
//   rkd_angle_b128_d512            RKD angle loss fwd+bwd, embeddings 128 × 512 (fused)
//   ckd_<term>_b32_l7_n128         CKD terms fwd+bwd on hidden states 32 × 7 × 128, student 312
//                                  wide, teacher 768, padded batch: wr_pair, wr_window21,
//                                  ltr_pair, total (weights 1, 10, 1, 10; LTR triple composed)
//   encoder_layer_b32_s128         one post-LN transformer encoder layer fwd+bwd, d 256, 4 heads,
//                                  FFN 1024, dropout 0
//   lenet_step  LeNet-5 training step (forward, cross-entropy, backward, SGD), batch 256, 1×28×28
// The LibTorch side of the relation losses is bench/torch_reference.hpp (the reference
// implementations' composition), the same code the CPU benchmark uses.
// Timing: each iteration ends with cudaDeviceSynchronize and is timed on the host clock
// (UseManualTime), after warm-up runs that keep module loading, cuBLAS handle creation and
// the caching allocators' first cudaMallocs out of the numbers. LibTorch cases are compiled when
// Torch is found (DST_BENCH_TORCH) and registered only when torch::cuda::is_available().
#include <benchmark/benchmark.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <chrono>
#include <cstdio>
#include <vector>

#include <distillery/cuda.hpp>
#include <distillery/distillery.hpp>
#include <distillery/nn/nn.hpp>

#ifdef DST_BENCH_TORCH
#include <torch/torch.h>

#include "../torch_reference.hpp"
#endif

namespace ds = distillery;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kWarmup = 3;

// Times f() + device sync per iteration.
template <class F>
void timed_loop(benchmark::State& st, F&& f) {
  for (int i = 0; i < kWarmup; ++i) f();
  cudaDeviceSynchronize();
  for (auto _ : st) {
    auto t0 = Clock::now();
    f();
    cudaDeviceSynchronize();
    st.SetIterationTime(std::chrono::duration<double>(Clock::now() - t0).count());
  }
}

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    std::fprintf(stderr, "%s: %s\n", what, cudaGetErrorString(e));
    std::exit(1);
  }
}

// ---- GEMM ----------------------------------------------------------------------------------
constexpr int64_t kN = 4096;

void set_flops(benchmark::State& st, double flops) {
  st.counters["TFLOPS"] = benchmark::Counter(flops * 1e-12, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_ds_gemm(benchmark::State& st) {
  ds::Generator g(1);
  auto a = ds::TensorF::randn({kN, kN}, g).to(ds::Device::cuda);
  auto b = ds::TensorF::randn({kN, kN}, g).to(ds::Device::cuda);
  timed_loop(st, [&] { auto c = ds::matmul(a, b); benchmark::DoNotOptimize(c); });
  set_flops(st, 2.0 * kN * kN * kN);
}

void BM_cublas_gemm(benchmark::State& st) {
  float *a, *b, *c;
  const size_t bytes = sizeof(float) * kN * kN;
  check(cudaMalloc(&a, bytes), "cudaMalloc");
  check(cudaMalloc(&b, bytes), "cudaMalloc");
  check(cudaMalloc(&c, bytes), "cudaMalloc");
  {
    ds::Generator g(1);
    auto ha = ds::TensorF::randn({kN, kN}, g).to_vector();
    auto hb = ds::TensorF::randn({kN, kN}, g).to_vector();
    check(cudaMemcpy(a, ha.data(), bytes, cudaMemcpyHostToDevice), "cudaMemcpy");
    check(cudaMemcpy(b, hb.data(), bytes, cudaMemcpyHostToDevice), "cudaMemcpy");
  }
  cublasHandle_t h;
  cublasCreate(&h);
  cublasSetMathMode(h, CUBLAS_DEFAULT_MATH);
  const float one = 1, zero = 0;
  timed_loop(st, [&] {
    cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, kN, kN, kN, &one, b, kN, a, kN, &zero, c, kN);
  });
  set_flops(st, 2.0 * kN * kN * kN);
  cublasDestroy(h);
  cudaFree(a);
  cudaFree(b);
  cudaFree(c);
}

// ---- KD loss -------------------------------------------------------------------------------
constexpr int64_t kB = 256, kC = 1000;
constexpr float kT = 4.0f;

void BM_ds_kd(benchmark::State& st) {
  ds::Generator g(2);
  auto s = ds::TensorF::randn({kB, kC}, g, 0, 3).to(ds::Device::cuda).requires_grad_();
  auto t = ds::TensorF::randn({kB, kC}, g, 0, 3).to(ds::Device::cuda);
  timed_loop(st, [&] {
    auto loss = ds::losses::kd_loss(s, t, kT, ds::Reduction::batchmean,
                                    ds::losses::TemperatureScale::t_squared);
    auto gs = ds::grad({loss}, {s});
    benchmark::DoNotOptimize(gs);
  });
}

void BM_ds_kd_composed(benchmark::State& st) {
  ds::Generator g(2);
  auto s = ds::TensorF::randn({kB, kC}, g, 0, 3).to(ds::Device::cuda).requires_grad_();
  auto t = ds::TensorF::randn({kB, kC}, g, 0, 3).to(ds::Device::cuda);
  timed_loop(st, [&] {
    auto ls = ds::log_softmax(ds::mul_scalar(s, 1 / kT), 1);
    auto pt = ds::softmax(ds::mul_scalar(t, 1 / kT), 1);
    auto loss = ds::mul_scalar(ds::kl_div(ls, pt, ds::Reduction::batchmean), kT * kT);
    auto gs = ds::grad({loss}, {s});
    benchmark::DoNotOptimize(gs);
  });
}

// ---- relation losses (RKD angle, CKD) ------------------------------------------------------
constexpr int64_t kRkdN = 128, kRkdD = 512;
constexpr int64_t kCkdB = 32, kCkdL = 7, kTok = 128, kDt = 768, kDs = 312, kW = 21;

struct CkdInputs {  // the CPU benchmark's inputs (bench_losses.cpp), on the device
  ds::TensorF s, t, mask;
  CkdInputs() {
    ds::Generator gen(3);
    s = ds::TensorF::randn({kCkdB, kCkdL, kTok, kDs}, gen).to(ds::Device::cuda).requires_grad_();
    t = ds::TensorF::randn({kCkdB, kCkdL, kTok, kDt}, gen).to(ds::Device::cuda);
    std::vector<float> m(kCkdB * kTok, 0.f);
    for (int64_t b = 0; b < kCkdB; ++b)  // lengths 64..128, like a padded GLUE batch
      for (int64_t i = 0; i < 64 + (b * 37) % 65; ++i) m[b * kTok + i] = 1.f;
    mask = ds::TensorF::from_vector(m, {kCkdB, kTok}).to(ds::Device::cuda);
  }
};

enum class Term { rkd_angle, wr_pair, wr_window, ltr_pair, total };

template <Term term>
void BM_ds_relation(benchmark::State& st) {
  namespace L = ds::losses;
  CkdInputs in;
  ds::Generator gen(2);
  auto rs = ds::TensorF::randn({kRkdN, kRkdD}, gen).to(ds::Device::cuda).requires_grad_();
  auto rt = ds::TensorF::randn({kRkdN, kRkdD}, gen).to(ds::Device::cuda);
  timed_loop(st, [&] {
    ds::TensorF loss, x = term == Term::rkd_angle ? rs : in.s;
    switch (term) {
      case Term::rkd_angle: loss = L::rkd_angle_loss(rs, rt); break;
      case Term::wr_pair: loss = L::word_relation_pair_loss(in.s, in.t, in.mask); break;
      case Term::wr_window: loss = L::word_relation_window_loss(in.s, in.t, in.mask, kW); break;
      case Term::ltr_pair: loss = L::layer_relation_pair_loss(in.s, in.t, in.mask); break;
      case Term::total:
        loss = L::ckd_loss(in.s, in.t, in.mask, L::CkdWeights{1, 10, 1, 10},
                           L::WordTriple::window, kW);
        break;
    }
    auto gs = ds::grad({loss}, {x});
    benchmark::DoNotOptimize(gs);
  });
}

// ---- transformer encoder layer -------------------------------------------------------------
constexpr int64_t kEncB = 32, kEncS = 128, kEncD = 256;

void BM_ds_encoder(benchmark::State& st) {
  ds::Generator g(13);
  ds::nn::TransformerConfig c;
  c.d_model = kEncD;
  c.nhead = 4;
  c.dim_feedforward = 1024;
  c.dropout = 0.0;
  ds::nn::TransformerEncoderLayer<float> layer(c, g);
  layer.to(ds::Device::cuda);
  auto params = layer.parameters();
  auto x = ds::TensorF::randn({kEncB, kEncS, kEncD}, g).to(ds::Device::cuda);
  auto probe = ds::TensorF::randn({kEncB, kEncS, kEncD}, g).to(ds::Device::cuda);
  timed_loop(st, [&] {
    auto loss = ds::sum(ds::mul(layer.forward(x), probe));
    auto gs = ds::grad({loss}, params);
    benchmark::DoNotOptimize(gs);
  });
}

// ---- LeNet step ----------------------------------------------------------------------------
struct DsLeNet {
  std::vector<ds::TensorF> p;  // c1w c1b c2w c2b f1w f1b f2w f2b f3w f3b
  explicit DsLeNet(ds::Generator& g) {
    auto u = [&](ds::Shape s, double fan_in) {
      double k = 1.0 / std::sqrt(fan_in);
      return ds::TensorF::rand(s, g, -k, k).to(ds::Device::cuda).requires_grad_();
    };
    p = {u({6, 1, 5, 5}, 25),   u({6}, 25),   u({16, 6, 5, 5}, 150), u({16}, 150),
         u({120, 400}, 400),    u({120}, 400), u({84, 120}, 120),    u({84}, 120),
         u({10, 84}, 84),       u({10}, 84)};
  }
  ds::TensorF forward(const ds::TensorF& x) const {
    ds::Conv2dOptions pad2;
    pad2.padding = {2, 2};
    auto h = ds::max_pool2d(ds::relu(ds::conv2d(x, p[0], p[1], pad2)), 2);
    h = ds::max_pool2d(ds::relu(ds::conv2d(h, p[2], p[3])), 2);
    h = ds::flatten(h, 1);
    h = ds::relu(ds::linear(h, p[4], p[5]));
    h = ds::relu(ds::linear(h, p[6], p[7]));
    return ds::linear(h, p[8], p[9]);
  }
};

void BM_ds_lenet(benchmark::State& st) {
  ds::Generator g(3);
  DsLeNet net(g);
  auto x = ds::TensorF::randn({kB, 1, 28, 28}, g).to(ds::Device::cuda);
  std::vector<int64_t> yv(kB);
  for (auto& e : yv) e = g.randint(10);
  auto y = ds::IndexTensor::from_vector(yv).to(ds::Device::cuda);
  timed_loop(st, [&] {
    auto loss = ds::cross_entropy(net.forward(x), y);
    auto gs = ds::grad({loss}, net.p);
    ds::NoGradGuard ng;
    for (size_t i = 0; i < net.p.size(); ++i)
      ds::assign_(net.p[i], ds::sub(net.p[i], ds::mul_scalar(gs[i], 0.01f)));
  });
}

#ifdef DST_BENCH_TORCH
namespace F = torch::nn::functional;
torch::Device tdev() { return torch::Device(torch::kCUDA); }

void BM_torch_gemm(benchmark::State& st) {
  torch::manual_seed(1);
  auto a = torch::randn({kN, kN}, torch::TensorOptions().device(tdev()));
  auto b = torch::randn({kN, kN}, torch::TensorOptions().device(tdev()));
  timed_loop(st, [&] { auto c = torch::matmul(a, b); benchmark::DoNotOptimize(c); });
  set_flops(st, 2.0 * kN * kN * kN);
}

void BM_torch_kd(benchmark::State& st) {
  torch::manual_seed(2);
  auto s = (torch::randn({kB, kC}, torch::TensorOptions().device(tdev())) * 3).requires_grad_();
  auto t = torch::randn({kB, kC}, torch::TensorOptions().device(tdev())) * 3;
  timed_loop(st, [&] {
    auto ls = torch::log_softmax(s / kT, 1);
    auto pt = torch::softmax(t / kT, 1);
    auto loss = F::kl_div(ls, pt, F::KLDivFuncOptions().reduction(torch::kBatchMean)) * (kT * kT);
    auto gs = torch::autograd::grad({loss}, {s});
    benchmark::DoNotOptimize(gs);
  });
}

void BM_torch_kd_composed(benchmark::State& st) { BM_torch_kd(st); }  // the same formula

torch::Tensor to_torch_cuda(const ds::TensorF& t, bool grad) {
  ds::TensorF h = t.to(ds::Device::cpu).contiguous();
  std::vector<int64_t> shape(h.shape().begin(), h.shape().end());
  auto out = torch::from_blob(h.data_ptr(), shape, torch::kFloat).clone().to(tdev());
  return grad ? out.requires_grad_() : out;
}

template <Term term>
void BM_torch_relation(benchmark::State& st) {
  CkdInputs in;
  ds::Generator gen(2);
  auto rs = to_torch_cuda(ds::TensorF::randn({kRkdN, kRkdD}, gen), true);
  auto rt = to_torch_cuda(ds::TensorF::randn({kRkdN, kRkdD}, gen), false);
  auto s = to_torch_cuda(in.s, true), t = to_torch_cuda(in.t, false);
  auto m = to_torch_cuda(in.mask, false);
  timed_loop(st, [&] {
    torch::Tensor loss, x = term == Term::rkd_angle ? rs : s;
    switch (term) {
      case Term::rkd_angle: {
        torch::Tensor ta;
        {
          torch::NoGradGuard ng;
          ta = bench_ref::torch_angles(rt.unsqueeze(0)).view(-1);
        }
        loss = F::smooth_l1_loss(bench_ref::torch_angles(rs.unsqueeze(0)).view(-1), ta);
        break;
      }
      case Term::wr_pair: loss = bench_ref::torch_pair(s, t, m, false); break;
      case Term::wr_window: loss = bench_ref::torch_window(s, t, m, kW); break;
      case Term::ltr_pair: loss = bench_ref::torch_pair(s, t, m, true); break;
      case Term::total:
        loss = bench_ref::torch_pair(s, t, m, false) + 10 * bench_ref::torch_window(s, t, m, kW) +
               bench_ref::torch_pair(s, t, m, true) + 10 * bench_ref::torch_ltr_triple(s, t, m);
        break;
    }
    auto gs = torch::autograd::grad({loss}, {x});
    benchmark::DoNotOptimize(gs);
  });
}

void BM_torch_encoder(benchmark::State& st) {
  torch::manual_seed(13);
  torch::nn::TransformerEncoderLayer layer(
      torch::nn::TransformerEncoderLayerOptions(kEncD, 4).dim_feedforward(1024).dropout(0.0));
  layer->to(tdev());
  auto params = layer->parameters();
  auto o = torch::TensorOptions().device(tdev());
  auto x = torch::randn({kEncS, kEncB, kEncD}, o);  // LibTorch's layout: [S, B, D]
  auto probe = torch::randn({kEncS, kEncB, kEncD}, o);
  timed_loop(st, [&] {
    auto loss = (layer->forward(x) * probe).sum();
    auto gs = torch::autograd::grad({loss}, params);
    benchmark::DoNotOptimize(gs);
  });
}

void BM_torch_lenet(benchmark::State& st) {
  torch::manual_seed(3);
  auto o = torch::TensorOptions().device(tdev());
  auto u = [&](std::vector<int64_t> s, double fan_in) {
    double k = 1.0 / std::sqrt(fan_in);
    return (torch::rand(s, o) * 2 * k - k).requires_grad_();
  };
  std::vector<torch::Tensor> p = {u({6, 1, 5, 5}, 25), u({6}, 25),   u({16, 6, 5, 5}, 150),
                                  u({16}, 150),        u({120, 400}, 400), u({120}, 400),
                                  u({84, 120}, 120),   u({84}, 120), u({10, 84}, 84),
                                  u({10}, 84)};
  auto x = torch::randn({kB, 1, 28, 28}, o);
  auto y = torch::randint(0, 10, {kB}, torch::TensorOptions().device(tdev()).dtype(torch::kLong));
  timed_loop(st, [&] {
    auto h = torch::max_pool2d(torch::relu(torch::conv2d(x, p[0], p[1], 1, 2)), 2);
    h = torch::max_pool2d(torch::relu(torch::conv2d(h, p[2], p[3])), 2);
    h = h.flatten(1);
    h = torch::relu(torch::linear(h, p[4], p[5]));
    h = torch::relu(torch::linear(h, p[6], p[7]));
    auto loss = F::cross_entropy(torch::linear(h, p[8], p[9]), y);
    auto gs = torch::autograd::grad({loss}, p);
    torch::NoGradGuard ng;
    for (size_t i = 0; i < p.size(); ++i) p[i].sub_(gs[i] * 0.01f);
  });
}
#endif

void reg(const char* name, void (*fn)(benchmark::State&)) {
  benchmark::RegisterBenchmark(name, fn)->UseManualTime()->Unit(benchmark::kMicrosecond)
      ->MinTime(0.5);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (!ds::cuda_device_present()) {
    std::printf("bench_cuda: no CUDA device, nothing to measure\n");
    return 0;
  }
  benchmark::AddCustomContext("gpu", ds::cuda_device_name());
  reg("distillery_cuda/gemm_4096", BM_ds_gemm);
  reg("cublas/gemm_4096", BM_cublas_gemm);
  reg("distillery_cuda/kd_loss", BM_ds_kd);
  reg("distillery_cuda/kd_loss_composed", BM_ds_kd_composed);
  reg("distillery_cuda/rkd_angle_b128_d512", BM_ds_relation<Term::rkd_angle>);
  reg("distillery_cuda/ckd_wr_pair_b32_l7_n128", BM_ds_relation<Term::wr_pair>);
  reg("distillery_cuda/ckd_wr_window21_b32_l7_n128", BM_ds_relation<Term::wr_window>);
  reg("distillery_cuda/ckd_ltr_pair_b32_l7_n128", BM_ds_relation<Term::ltr_pair>);
  reg("distillery_cuda/ckd_total_b32_l7_n128", BM_ds_relation<Term::total>);
  reg("distillery_cuda/encoder_layer_b32_s128", BM_ds_encoder);
  reg("distillery_cuda/lenet_step", BM_ds_lenet);
#ifdef DST_BENCH_TORCH
  if (torch::cuda::is_available()) {
    benchmark::AddCustomContext("libtorch", TORCH_VERSION);
    reg("libtorch_cuda/gemm_4096", BM_torch_gemm);
    reg("libtorch_cuda/kd_loss", BM_torch_kd);
    reg("libtorch_cuda/kd_loss_composed", BM_torch_kd_composed);
    reg("libtorch_cuda/rkd_angle_b128_d512", BM_torch_relation<Term::rkd_angle>);
    reg("libtorch_cuda/ckd_wr_pair_b32_l7_n128", BM_torch_relation<Term::wr_pair>);
    reg("libtorch_cuda/ckd_wr_window21_b32_l7_n128", BM_torch_relation<Term::wr_window>);
    reg("libtorch_cuda/ckd_ltr_pair_b32_l7_n128", BM_torch_relation<Term::ltr_pair>);
    reg("libtorch_cuda/ckd_total_b32_l7_n128", BM_torch_relation<Term::total>);
    reg("libtorch_cuda/encoder_layer_b32_s128", BM_torch_encoder);
    reg("libtorch_cuda/lenet_step", BM_torch_lenet);
  } else {
    std::printf("bench_cuda: LibTorch found but without CUDA; libtorch_cuda/* not registered\n");
  }
#else
  std::printf("bench_cuda: built without LibTorch; libtorch_cuda/* not available\n");
#endif
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
