// bench/bench_engine.cpp — the engine benchmarks of issue 3 (GEMM, MLP step, autograd
// overhead, Hessian-vector product), each case next to its OpenBLAS / LibTorch twin.
//
//   case          what is timed                                               target
//   gemm_512      C = A·B, fp32 512³ (GFLOPS counter)                         ≥ 0.85× OpenBLAS
//   gemm_128      C = A·B, fp32 128³                                          ≥ 0.85× OpenBLAS
//   mlp_step      784-256-256-10 ReLU MLP, batch 64: forward, cross-entropy,
//                 backward, SGD step                                          ≤ 0.8× LibTorch
//   chain_1000    1,000 elementwise ops on a 16-element tensor, fwd + bwd     ≤ 0.5× LibTorch
//   mlp_hvp       Hessian-vector product of the mlp_step loss (create_graph)  ≤ 1.0× LibTorch
//   busy/<case>/threads:<n>   gemm_128, mlp_step and lenet_step (LeNet-5, batch 64) at n = 1, 2
//                 threads while a background thread spins on one core (pinned to the first
//                 allowed CPU): a shared machine. Target (issue 26): 2 threads no slower than 1.
//
// Both sides compute the same math from the same initial values; the inputs are built outside
// the timed loop. Run through scripts/bench.sh (OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=1).
#include "bench_common.hpp"
#include "lenet_models.hpp"

#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <thread>

namespace {
namespace ds = distillery;

// ---- GEMM --------------------------------------------------------------------------------
void set_gemm_counters(benchmark::State& st, int64_t n) {
  st.counters["GFLOPS"] = benchmark::Counter(2.0 * double(n) * n * n,
                                             benchmark::Counter::kIsIterationInvariantRate,
                                             benchmark::Counter::kIs1000);
}

template <int N>
void BM_ds_gemm(benchmark::State& st) {
  const int64_t n = N;
  ds::Generator gen(1);
  auto a = ds::TensorF::randn({n, n}, gen), b = ds::TensorF::randn({n, n}, gen);
  for (auto _ : st) {
    auto c = ds::matmul(a, b);
    benchmark::DoNotOptimize(c.data_ptr());
  }
  set_gemm_counters(st, n);
}

template <int N>
void BM_openblas_gemm(benchmark::State& st) {
  const int n = N;
  ds::Generator gen(1);
  auto a = ds::TensorF::randn({n, n}, gen), b = ds::TensorF::randn({n, n}, gen);
  std::vector<float> c(size_t(n) * n);
  for (auto _ : st) {
    ::cblas_sgemm(bench::kCblasRowMajor, bench::kCblasNoTrans, bench::kCblasNoTrans, n, n,
                       n, 1.f, a.data_ptr(), n, b.data_ptr(), n, 0.f, c.data(), n);
    benchmark::DoNotOptimize(c.data());
  }
  set_gemm_counters(st, n);
}

// OpenBLAS allowed two threads (not a ratio baseline: reported for context only).
template <int N>
void BM_openblas2_gemm(benchmark::State& st) {
  int prev = ::openblas_get_num_threads();
  ::openblas_set_num_threads(2);
  BM_openblas_gemm<N>(st);
  ::openblas_set_num_threads(prev);
}

template <int N>
void BM_torch_gemm(benchmark::State& st) {
  const int64_t n = N;
  torch::NoGradGuard ng;
  torch::manual_seed(1);
  auto a = torch::randn({n, n}), b = torch::randn({n, n});
  for (auto _ : st) {
    auto c = torch::mm(a, b);
    benchmark::DoNotOptimize(c.data_ptr());
  }
  set_gemm_counters(st, n);
}

// ---- MLP 784-256-256-10, batch 64 ---------------------------------------------------------
constexpr int64_t kBatch = 64, kIn = 784, kH = 256, kOut = 10;

struct DsMlp {
  ds::TensorF x;
  ds::Tensor<int64_t> y;
  std::vector<ds::TensorF> p;  // W1 b1 W2 b2 W3 b3
  DsMlp() {
    ds::Generator gen(7);
    x = ds::TensorF::randn({kBatch, kIn}, gen);
    std::vector<int64_t> labels(kBatch);
    for (auto& l : labels) l = gen.randint(kOut);
    y = ds::Tensor<int64_t>::from_vector(labels, ds::Shape{kBatch});
    const int64_t dims[4] = {kIn, kH, kH, kOut};
    for (int l = 0; l < 3; ++l) {
      p.push_back(bench::ds_param({dims[l + 1], dims[l]}, dims[l], gen));
      p.push_back(bench::ds_param({dims[l + 1]}, dims[l], gen));
    }
  }
  ds::TensorF loss() const {
    auto h = ds::relu(ds::linear(x, p[0], p[1]));
    h = ds::relu(ds::linear(h, p[2], p[3]));
    return ds::cross_entropy(ds::linear(h, p[4], p[5]), y);
  }
};

struct TorchMlp {
  torch::Tensor x, y;
  std::vector<torch::Tensor> p;
  explicit TorchMlp(const DsMlp& m) {
    x = bench::to_torch(m.x, false);
    y = bench::to_torch_index(m.y);
    for (auto& t : m.p) p.push_back(bench::to_torch(t));
  }
  torch::Tensor loss() const {
    auto h = torch::relu(torch::linear(x, p[0], p[1]));
    h = torch::relu(torch::linear(h, p[2], p[3]));
    return torch::nn::functional::cross_entropy(torch::linear(h, p[4], p[5]), y);
  }
};

void BM_ds_mlp_step(benchmark::State& st) {
  DsMlp m;
  ds::optim::SGDOptions so;
  so.lr = 0.01;
  ds::optim::SGD<float> opt(m.p, so);
  for (auto _ : st) {
    opt.zero_grad();
    auto l = m.loss();
    l.backward();
    opt.step();
    benchmark::DoNotOptimize(l.data_ptr());
  }
}

void BM_torch_mlp_step(benchmark::State& st) {
  DsMlp dm;
  TorchMlp m(dm);
  torch::optim::SGD opt(m.p, torch::optim::SGDOptions(0.01));
  for (auto _ : st) {
    opt.zero_grad();
    auto l = m.loss();
    l.backward();
    opt.step();
    benchmark::DoNotOptimize(l.data_ptr());
  }
}

// ---- Hessian-vector product of the MLP loss -----------------------------------------------
void BM_ds_mlp_hvp(benchmark::State& st) {
  DsMlp m;
  ds::Generator gen(11);
  std::vector<ds::TensorF> v;
  for (auto& t : m.p) v.push_back(ds::TensorF::randn(t.shape(), gen));
  for (auto _ : st) {
    auto l = m.loss();
    auto g = ds::grad({l}, m.p, {}, /*create_graph=*/true);
    ds::TensorF gv = ds::sum(ds::mul(g[0], v[0]));
    for (size_t i = 1; i < g.size(); ++i) gv = ds::add(gv, ds::sum(ds::mul(g[i], v[i])));
    auto hv = ds::grad({gv}, m.p);
    benchmark::DoNotOptimize(hv[0].data_ptr());
  }
}

void BM_torch_mlp_hvp(benchmark::State& st) {
  DsMlp dm;
  TorchMlp m(dm);
  torch::manual_seed(11);
  std::vector<torch::Tensor> v;
  for (auto& t : m.p) v.push_back(torch::randn(t.sizes()));
  for (auto _ : st) {
    auto l = m.loss();
    auto g = torch::autograd::grad({l}, m.p, {}, /*retain_graph=*/true, /*create_graph=*/true);
    auto gv = (g[0] * v[0]).sum();
    for (size_t i = 1; i < g.size(); ++i) gv = gv + (g[i] * v[i]).sum();
    auto hv = torch::autograd::grad({gv}, m.p);
    benchmark::DoNotOptimize(hv[0].data_ptr());
  }
}

// ---- autograd overhead: 1,000 elementwise ops on 16 elements ------------------------------
// Cycle of four ops (binary add, scalar mul, tanh, binary mul), 250 times.
void BM_ds_chain(benchmark::State& st) {
  ds::Generator gen(3);
  auto x = ds::TensorF::randn({16}, gen);
  x.requires_grad_();
  auto w = ds::TensorF::rand({16}, gen, 0.9, 1.1);
  for (auto _ : st) {
    ds::TensorF y = x;
    for (int i = 0; i < 250; ++i) {
      y = ds::add(y, x);
      y = ds::mul_scalar(y, 0.5f);
      y = ds::tanh(y);
      y = ds::mul(y, w);
    }
    auto s = ds::sum(y);
    s.backward();
    benchmark::DoNotOptimize(x.grad().data_ptr());
    x.zero_grad();
  }
  st.counters["ops/s"] = benchmark::Counter(1001, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_torch_chain(benchmark::State& st) {
  ds::Generator gen(3);
  auto dx = ds::TensorF::randn({16}, gen);
  auto dw = ds::TensorF::rand({16}, gen, 0.9, 1.1);
  auto x = bench::to_torch(dx), w = bench::to_torch(dw, false);
  for (auto _ : st) {
    torch::Tensor y = x;
    for (int i = 0; i < 250; ++i) {
      y = y + x;
      y = y * 0.5f;
      y = torch::tanh(y);
      y = y * w;
    }
    auto s = y.sum();
    s.backward();
    benchmark::DoNotOptimize(x.grad().data_ptr());
    x.mutable_grad() = torch::Tensor();
  }
  st.counters["ops/s"] = benchmark::Counter(1001, benchmark::Counter::kIsIterationInvariantRate);
}


// ---- busy core: the cases above while another thread keeps one core busy -----------------
// A spinning thread pinned to the first CPU this process may use (as a compile or a second
// experiment would keep it busy); the benchmark runs with st.range(0) threads on both sides.
class BusyCore {
 public:
  BusyCore() : thread_([this] { spin(); }) {
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof(allowed), &allowed) == 0)
      for (int c = 0; c < CPU_SETSIZE; ++c)
        if (CPU_ISSET(c, &allowed)) {
          cpu_set_t one;
          CPU_ZERO(&one);
          CPU_SET(c, &one);
          pthread_setaffinity_np(thread_.native_handle(), sizeof(one), &one);
          break;
        }
  }
  ~BusyCore() {
    stop_ = true;
    thread_.join();
  }

 private:
  void spin() {
    volatile uint64_t x = 0;
    while (!stop_.load(std::memory_order_relaxed)) x = x + 1;
  }
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Runs bm with st.range(0) threads (Distillery: omp_set_num_threads, read by cpu::max_threads;
// LibTorch: set_num_threads) and a busy core; restores both thread counts afterwards.
template <void (*BM)(benchmark::State&)>
void BM_busy(benchmark::State& st) {
  const int threads = static_cast<int>(st.range(0));
  const int ds_prev = ds::cpu::max_threads(), torch_prev = torch::get_num_threads();
#ifdef _OPENMP
  omp_set_num_threads(threads);
#endif
  torch::set_num_threads(threads);
  {
    BusyCore busy;
    BM(st);
  }
#ifdef _OPENMP
  omp_set_num_threads(ds_prev);
#endif
  torch::set_num_threads(torch_prev);
  st.counters["threads"] = threads;
}

}  // namespace

BENCHMARK(BM_ds_gemm<512>)->Name("distillery/gemm_512")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_openblas_gemm<512>)->Name("openblas/gemm_512")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_torch_gemm<512>)->Name("libtorch/gemm_512")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_openblas2_gemm<512>)->Name("openblas_2threads/gemm_512")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ds_gemm<128>)->Name("distillery/gemm_128")->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_openblas_gemm<128>)->Name("openblas/gemm_128")->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_torch_gemm<128>)->Name("libtorch/gemm_128")->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_openblas2_gemm<128>)->Name("openblas_2threads/gemm_128")->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ds_mlp_step)->Name("distillery/mlp_step")->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_torch_mlp_step)->Name("libtorch/mlp_step")->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ds_chain)->Name("distillery/chain_1000")->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_torch_chain)->Name("libtorch/chain_1000")->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ds_mlp_hvp)->Name("distillery/mlp_hvp")->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_torch_mlp_hvp)->Name("libtorch/mlp_hvp")->Unit(benchmark::kMicrosecond);

BENCHMARK(BM_busy<BM_ds_gemm<128>>)->Name("distillery/busy/gemm_128")->Arg(1)->Arg(2)
    ->ArgName("threads")->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_busy<BM_torch_gemm<128>>)->Name("libtorch/busy/gemm_128")->Arg(1)->Arg(2)
    ->ArgName("threads")->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_busy<BM_ds_mlp_step>)->Name("distillery/busy/mlp_step")->Arg(1)->Arg(2)
    ->ArgName("threads")->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_busy<BM_torch_mlp_step>)->Name("libtorch/busy/mlp_step")->Arg(1)->Arg(2)
    ->ArgName("threads")->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_busy<bench::ds_lenet_step>)->Name("distillery/busy/lenet_step")->Arg(1)->Arg(2)
    ->ArgName("threads")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_busy<bench::torch_lenet_step>)->Name("libtorch/busy/lenet_step")->Arg(1)->Arg(2)
    ->ArgName("threads")->Unit(benchmark::kMillisecond);

DISTILLERY_BENCH_MAIN()
