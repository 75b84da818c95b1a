// bench/bench_models.cpp — the model benchmarks of issue 4, each next to its LibTorch twin.
//
//   case                 what is timed                                                target
//   lenet_step_b64       LeNet-5 on 1×28×28, batch 64: forward, cross-entropy, backward,
//                        SGD step (lr 0.01, momentum 0.9)                             ≤ 0.7× LibTorch
//   lenet_infer_b1       LeNet-5 forward, no grad, batch 1                            ≤ 0.7× LibTorch
//   lenet_infer_b256     LeNet-5 forward, no grad, batch 256                          ≤ 0.7× LibTorch
//   lenet_plan_b1        LeNet-5 batch 1 through nn::InferencePlan (no autograd, no
//                        allocation) vs LibTorch's forward under c10::InferenceMode    ≤ 0.3× LibTorch
//                        (issue 25's embedded goal)
//   encoder_fwd_bwd      one post-LN transformer encoder layer, d 256, 4 heads, FFN 1024,
//                        ReLU, no dropout; input [8, 128, 256]; forward + backward of
//                        sum(out · probe)                                             ≤ 0.8× LibTorch
//
// The layers are written here in functional ops on both sides (the same math, the same initial
// values): conv2d/max_pool2d/linear/softmax/layer_norm are LibTorch's fused kernels on its side.
// Run through scripts/bench.sh (OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=1).
#include "bench_common.hpp"
#include "lenet_models.hpp"

#include <distillery/nn/inference.hpp>

namespace {
using bench::DsLeNet;
using bench::LeNetData;
using bench::TorchLeNet;
namespace ds = distillery;

template <int N>
void BM_ds_lenet_infer(benchmark::State& st) {
  DsLeNet m;
  LeNetData d(N);
  ds::NoGradGuard ng;
  for (auto _ : st) {
    auto out = m.forward(d.x);
    benchmark::DoNotOptimize(out.data_ptr());
  }
}

template <int N>
void BM_torch_lenet_infer(benchmark::State& st) {
  DsLeNet dm;
  TorchLeNet m(dm);
  LeNetData d(N);
  auto x = bench::to_torch(d.x, false);
  torch::NoGradGuard ng;
  for (auto _ : st) {
    auto out = m.forward(x);
    benchmark::DoNotOptimize(out.data_ptr());
  }
}

// The planned inference path (nn/inference.hpp) on the same weights and image.
void BM_ds_lenet_plan_b1(benchmark::State& st) {
  DsLeNet m;
  LeNetData d(1);
  ds::Conv2dOptions pad2;
  pad2.padding = {2, 2};
  ds::nn::InferencePlan<float> plan(ds::Shape{1, 28, 28}, 1);
  plan.conv2d(m.p[0], m.p[1], pad2).unary(ds::UnaryOp::relu).max_pool2d(2);
  plan.conv2d(m.p[2], m.p[3]).unary(ds::UnaryOp::relu).max_pool2d(2);
  plan.linear(m.p[4], m.p[5]).unary(ds::UnaryOp::relu);
  plan.linear(m.p[6], m.p[7]).unary(ds::UnaryOp::relu);
  plan.linear(m.p[8], m.p[9]).finish();
  std::vector<float> y(10);
  const float* x = d.x.data_ptr();
  for (auto _ : st) {
    plan.run(x, 1, y.data());
    benchmark::DoNotOptimize(y.data());
  }
}

void BM_torch_lenet_infer_mode_b1(benchmark::State& st) {
  DsLeNet dm;
  TorchLeNet m(dm);
  LeNetData d(1);
  auto x = bench::to_torch(d.x, false);
  c10::InferenceMode guard;
  for (auto _ : st) {
    auto out = m.forward(x);
    benchmark::DoNotOptimize(out.data_ptr());
  }
}

// ---- transformer encoder layer -------------------------------------------------------------
constexpr int64_t kB = 8, kS = 128, kD = 256, kHeads = 4, kDh = kD / kHeads, kFF = 1024;

struct DsEncoder {
  std::vector<ds::TensorF> p;  // Wqkv bqkv Wo bo ln1w ln1b W1 b1 W2 b2 ln2w ln2b
  ds::TensorF x, probe;
  DsEncoder() {
    ds::Generator gen(13);
    p.push_back(bench::ds_param({3 * kD, kD}, kD, gen));
    p.push_back(bench::ds_param({3 * kD}, kD, gen));
    p.push_back(bench::ds_param({kD, kD}, kD, gen));
    p.push_back(bench::ds_param({kD}, kD, gen));
    p.push_back(ds::TensorF::ones({kD}).requires_grad_());
    p.push_back(ds::TensorF::zeros({kD}).requires_grad_());
    p.push_back(bench::ds_param({kFF, kD}, kD, gen));
    p.push_back(bench::ds_param({kFF}, kD, gen));
    p.push_back(bench::ds_param({kD, kFF}, kFF, gen));
    p.push_back(bench::ds_param({kD}, kFF, gen));
    p.push_back(ds::TensorF::ones({kD}).requires_grad_());
    p.push_back(ds::TensorF::zeros({kD}).requires_grad_());
    x = ds::TensorF::randn({kB, kS, kD}, gen);
    probe = ds::TensorF::randn({kB, kS, kD}, gen);
  }
  ds::TensorF forward() const {
    auto qkv = ds::linear(x, p[0], p[1]);                                  // [B, S, 3D]
    auto heads = ds::permute(ds::reshape(qkv, {kB, kS, 3, kHeads, kDh}),  // [3, B, H, S, Dh]
                             {2, 0, 3, 1, 4});
    auto q = ds::select(heads, 0, 0), k = ds::select(heads, 0, 1), v = ds::select(heads, 0, 2);
    auto scores = ds::mul_scalar(ds::matmul(q, ds::transpose(k, -1, -2)),
                                 1.f / std::sqrt(float(kDh)));            // [B, H, S, S]
    auto ctx = ds::matmul(ds::softmax(scores, -1), v);                    // [B, H, S, Dh]
    ctx = ds::reshape(ds::permute(ctx, {0, 2, 1, 3}), {kB, kS, kD});
    auto h = ds::layer_norm(ds::add(x, ds::linear(ctx, p[2], p[3])), {kD}, p[4], p[5]);
    auto ff = ds::linear(ds::relu(ds::linear(h, p[6], p[7])), p[8], p[9]);
    return ds::layer_norm(ds::add(h, ff), {kD}, p[10], p[11]);
  }
};

struct TorchEncoder {
  std::vector<torch::Tensor> p;
  torch::Tensor x, probe;
  explicit TorchEncoder(const DsEncoder& m) {
    for (auto& t : m.p) p.push_back(bench::to_torch(t));
    x = bench::to_torch(m.x, false);
    probe = bench::to_torch(m.probe, false);
  }
  torch::Tensor forward() const {
    auto qkv = torch::linear(x, p[0], p[1]);
    auto heads = qkv.reshape({kB, kS, 3, kHeads, kDh}).permute({2, 0, 3, 1, 4});
    auto q = heads.select(0, 0), k = heads.select(0, 1), v = heads.select(0, 2);
    auto scores = torch::matmul(q, k.transpose(-1, -2)) * (1.f / std::sqrt(float(kDh)));
    auto ctx = torch::matmul(torch::softmax(scores, -1), v);
    ctx = ctx.permute({0, 2, 1, 3}).reshape({kB, kS, kD});
    auto h = torch::layer_norm(x + torch::linear(ctx, p[2], p[3]), {kD}, p[4], p[5]);
    auto ff = torch::linear(torch::relu(torch::linear(h, p[6], p[7])), p[8], p[9]);
    return torch::layer_norm(h + ff, {kD}, p[10], p[11]);
  }
};

void BM_ds_encoder(benchmark::State& st) {
  DsEncoder m;
  for (auto _ : st) {
    auto l = ds::sum(ds::mul(m.forward(), m.probe));
    l.backward();
    benchmark::DoNotOptimize(m.p[0].grad().data_ptr());
    for (auto& t : m.p) t.zero_grad();
  }
}

void BM_torch_encoder(benchmark::State& st) {
  DsEncoder dm;
  TorchEncoder m(dm);
  for (auto _ : st) {
    auto l = (m.forward() * m.probe).sum();
    l.backward();
    benchmark::DoNotOptimize(m.p[0].grad().data_ptr());
    for (auto& t : m.p) t.mutable_grad() = torch::Tensor();
  }
}

}  // namespace

BENCHMARK(bench::ds_lenet_step)->Name("distillery/lenet_step_b64")->Unit(benchmark::kMillisecond);
BENCHMARK(bench::torch_lenet_step)->Name("libtorch/lenet_step_b64")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ds_lenet_infer<1>)->Name("distillery/lenet_infer_b1")->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_torch_lenet_infer<1>)->Name("libtorch/lenet_infer_b1")->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ds_lenet_plan_b1)->Name("distillery/lenet_plan_b1")->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_torch_lenet_infer_mode_b1)->Name("libtorch/lenet_plan_b1")->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ds_lenet_infer<256>)->Name("distillery/lenet_infer_b256")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_torch_lenet_infer<256>)->Name("libtorch/lenet_infer_b256")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ds_encoder)->Name("distillery/encoder_fwd_bwd")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_torch_encoder)->Name("libtorch/encoder_fwd_bwd")->Unit(benchmark::kMillisecond);

DISTILLERY_BENCH_MAIN()
