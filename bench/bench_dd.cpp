// bench/bench_dd.cpp — one outer step of dataset distillation (issue 6), next to its LibTorch twin.
//
//   case            what is timed                                                     target
//   dd_outer_step   LeNet-5 (Xavier-normal init, known init w₀), 10 distilled 1×28×28
//                   images with learnable soft labels [10, 10] and 10 learnable step
//                   sizes η = softplus(r); 10 inner SGD steps on the 10 images
//                   (steps 1 × epochs 10), each w ← w − η_t ∇_w CE(f(x̃; w), ỹ) with
//                   create_graph; outer CE on a real batch of 256; ∇ of it w.r.t.
//                   (x̃, ỹ, r) through the unroll; Adam step (lr 0.01, β 0.5/0.999)  ≤ 1.0× LibTorch
//
// Distillery side: DatasetDistiller::step (methods/dataset_distill.hpp, full unroll). LibTorch
// side: the same algorithm on one flat weight vector, written with
// torch::autograd::grad(create_graph=true) and torch::optim::Adam, from the same w₀, x̃, ỹ, r
// and real batch (random pixels and labels: the cost does not depend on the values). Both
// report the outer losses of their first two steps (counters loss_step1, loss_step2, computed
// before timing), which must agree: the second one depends on the first step's hyper-gradients.
// Counter peak_mb (only with DISTILLERY_BENCH_PEAK_MEMORY=1, one side per process, e.g.
// --benchmark_filter=libtorch/dd_outer_step): the resident memory the steps added at their peak,
// measured the same way on both sides (RssPeak: the kernel's high-water mark after the loop
// minus the resident size before it, the mark reset first), so it includes each side's
// allocator caching. In that mode the loss counters are skipped (their steps would warm the
// heap) and the largest value over Google Benchmark's calls is reported (the first, fresh one).
// Run through scripts/bench.sh (OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=1).
#include "bench_common.hpp"

#include <fstream>
#include <optional>
#include <string>
#include "torch_flat_lenet.hpp"

#include <distillery/methods/dataset_distill.hpp>
#include <distillery/nn/nn.hpp>

namespace {
namespace ds = distillery;

// Peak resident memory added since construction, in MB, from /proc/self/status (Linux): VmHWM
// (the high-water mark, reset at construction through /proc/self/clear_refs) minus the VmRSS at
// construction. −1 where /proc is not available.
class RssPeak {
 public:
  RssPeak() {
    std::ofstream("/proc/self/clear_refs") << "5";  // reset VmHWM to the current RSS
    base_kb_ = read_kb("VmRSS:");
  }
  double extra_mb() const {
    const double hwm = read_kb("VmHWM:");
    return hwm < 0 || base_kb_ < 0 ? -1.0 : (hwm - base_kb_) / 1024.0;
  }

 private:
  static double read_kb(const std::string& key) {
    std::ifstream f("/proc/self/status");
    for (std::string line; std::getline(f, line);)
      if (line.compare(0, key.size(), key) == 0) return std::stod(line.substr(key.size()));
    return -1;
  }
  double base_kb_ = -1;
};
constexpr int64_t kImages = 10, kInner = 10, kBatch = 256, kClasses = 10;

// The shared setup: model, distiller (its x̃, ỹ, r, w₀ seed both sides) and the real batch.
struct DdSetup {
  std::shared_ptr<ds::nn::LeNet5<float>> net;
  ds::FunctionalModel<float> model;
  std::unique_ptr<ds::DatasetDistiller<float>> dd;
  ds::TensorF x_real;
  ds::Tensor<int64_t> y_real;
  ds::Generator gen{3};

  DdSetup() {
    ds::Generator g0(0);
    net = std::make_shared<ds::nn::LeNet5<float>>(kClasses, g0, 1, 28, ds::nn::Init::xavier_normal);
    auto n = net;
    model.forward = [n](const ds::TensorF& w, const ds::TensorF& x, bool) {
      return ds::nn::functional_call(*n, w, x);
    };
    model.init = [](ds::Generator& g) {
      ds::nn::LeNet5<float> fresh(kClasses, g, 1, 28, ds::nn::Init::xavier_normal);
      return ds::nn::flatten_parameters(fresh.parameters()).detach();
    };
    ds::DDConfig cfg;
    cfg.images = kImages;
    cfg.steps = 1;
    cfg.epochs = kInner;
    cfg.distill_lr = 0.01;
    cfg.soft_labels = true;
    dd = std::make_unique<ds::DatasetDistiller<float>>(model, ds::Shape{1, 28, 28}, cfg, gen);
    ds::Generator gd(9);
    x_real = ds::TensorF::rand({kBatch, 1, 28, 28}, gd);
    std::vector<int64_t> labels(kBatch);
    for (auto& l : labels) l = gd.randint(kClasses);
    y_real = ds::Tensor<int64_t>::from_vector(labels, ds::Shape{kBatch});
  }
};

// Outer losses of the first two steps (before timing, on a fresh setup): the second depends on
// the first step's hyper-gradients and Adam update, so equal values on both sides mean the same
// algorithm.
template <class Step>
void loss_counters(benchmark::State& st, Step&& step) {
  st.counters["loss_step1"] = step();
  st.counters["loss_step2"] = step();
}

bool peak_memory_mode() {
  const char* e = std::getenv("DISTILLERY_BENCH_PEAK_MEMORY");
  return e && std::string(e) == "1";
}

void BM_ds_dd_outer_step(benchmark::State& st) {
  static double peak = 0;
  if (!peak_memory_mode()) {
    DdSetup c;
    loss_counters(st, [&] { return double(c.dd->step(c.x_real, c.y_real, c.gen)); });
  }
  DdSetup s;
  std::optional<RssPeak> rss;  // only in peak-memory mode: no /proc writes otherwise
  if (peak_memory_mode()) rss.emplace();
  for (auto _ : st) {
    float loss = s.dd->step(s.x_real, s.y_real, s.gen);
    benchmark::DoNotOptimize(loss);
  }
  if (rss) st.counters["peak_mb"] = peak = std::max(peak, rss->extra_mb());
  st.counters["tensor_peak_mb"] = double(s.dd->peak_bytes()) / (1024.0 * 1024.0);  // live tensors
}

// The LibTorch twin's state: leaves x̃, ỹ, r, their Adam, fixed w₀ and the real batch.
struct TorchDd {
  TorchFlatLeNet f;
  torch::Tensor w0, x, y, r, xr, yr;
  std::unique_ptr<torch::optim::Adam> opt;
  explicit TorchDd(const DdSetup& s) : f(*s.net) {
    w0 = bench::to_torch(s.dd->fixed_init(), false);
    x = bench::to_torch(s.dd->images());      // [1, 10, 1, 28, 28]
    y = bench::to_torch(s.dd->raw_labels());  // [1, 10, 10]
    r = bench::to_torch(s.dd->raw_lrs());     // [10]
    xr = bench::to_torch(s.x_real, false);
    yr = bench::to_torch_index(s.y_real);
    opt = std::make_unique<torch::optim::Adam>(std::vector<torch::Tensor>{x, y, r},
                                               torch::optim::AdamOptions(0.01).betas({0.5, 0.999}));
  }
  double step() {
    torch::Tensor eta = torch::softplus(r);
    torch::Tensor w = w0.detach().requires_grad_(true);
    for (int64_t t = 0; t < kInner; ++t) {
      torch::Tensor logits = f.forward(w, x[0]);
      torch::Tensor l = -(y[0] * torch::log_softmax(logits, 1)).sum(1).mean();
      torch::Tensor g = torch::autograd::grad({l}, {w}, {}, /*retain_graph=*/true,
                                              /*create_graph=*/true)[0];
      w = w - eta[t] * g;
    }
    torch::Tensor L = torch::nn::functional::cross_entropy(f.forward(w, xr), yr);
    auto gs = torch::autograd::grad({L}, {x, y, r});
    x.mutable_grad() = gs[0];
    y.mutable_grad() = gs[1];
    r.mutable_grad() = gs[2];
    opt->step();
    return L.item<double>();
  }
};

void BM_torch_dd_outer_step(benchmark::State& st) {
  static double peak = 0;
  if (!peak_memory_mode()) {
    DdSetup s;
    TorchDd c(s);
    loss_counters(st, [&] { return c.step(); });
  }
  DdSetup s;
  TorchDd t(s);
  std::optional<RssPeak> rss;  // only in peak-memory mode: no /proc writes otherwise
  if (peak_memory_mode()) rss.emplace();
  for (auto _ : st) {
    double loss = t.step();
    benchmark::DoNotOptimize(loss);
  }
  if (rss) st.counters["peak_mb"] = peak = std::max(peak, rss->extra_mb());
}

}  // namespace

BENCHMARK(BM_ds_dd_outer_step)->Name("distillery/dd_outer_step")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_torch_dd_outer_step)->Name("libtorch/dd_outer_step")->Unit(benchmark::kMillisecond);

DISTILLERY_BENCH_MAIN()
