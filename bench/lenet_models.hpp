// bench/lenet_models.hpp — LeNet-5 on both sides (Distillery and LibTorch, the same initial
// values) its synthetic MNIST-sized batch and the training-step benchmark pair; used by bench_models.cpp (lenet_*) and
// bench_engine.cpp (busy/lenet_step).
#pragma once
#include "bench_common.hpp"

namespace bench {

// ---- LeNet-5 -----------------------------------------------------------------------------
// conv 1→6 5×5 pad 2, ReLU, maxpool 2 | conv 6→16 5×5, ReLU, maxpool 2 | 400→120→84→10
struct DsLeNet {
  std::vector<ds::TensorF> p;  // c1w c1b c2w c2b f1w f1b f2w f2b f3w f3b
  DsLeNet() {
    ds::Generator gen(5);
    p.push_back(ds_param({6, 1, 5, 5}, 25, gen));
    p.push_back(ds_param({6}, 25, gen));
    p.push_back(ds_param({16, 6, 5, 5}, 150, gen));
    p.push_back(ds_param({16}, 150, gen));
    const int64_t fc[4] = {400, 120, 84, 10};
    for (int l = 0; l < 3; ++l) {
      p.push_back(ds_param({fc[l + 1], fc[l]}, fc[l], gen));
      p.push_back(ds_param({fc[l + 1]}, fc[l], gen));
    }
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

struct TorchLeNet {
  std::vector<torch::Tensor> p;
  explicit TorchLeNet(const DsLeNet& m) {
    for (auto& t : m.p) p.push_back(to_torch(t));
  }
  torch::Tensor forward(const torch::Tensor& x) const {
    auto h = torch::max_pool2d(torch::relu(torch::conv2d(x, p[0], p[1], 1, 2)), 2);
    h = torch::max_pool2d(torch::relu(torch::conv2d(h, p[2], p[3])), 2);
    h = torch::flatten(h, 1);
    h = torch::relu(torch::linear(h, p[4], p[5]));
    h = torch::relu(torch::linear(h, p[6], p[7]));
    return torch::linear(h, p[8], p[9]);
  }
};

struct LeNetData {
  ds::TensorF x;
  ds::Tensor<int64_t> y;
  explicit LeNetData(int64_t n) {
    ds::Generator gen(9);
    x = ds::TensorF::rand({n, 1, 28, 28}, gen);
    std::vector<int64_t> labels(n);
    for (auto& l : labels) l = gen.randint(10);
    y = ds::Tensor<int64_t>::from_vector(labels, ds::Shape{n});
  }
};

// One SGD-momentum training step of LeNet-5 at batch 64 (lenet_step_b64, busy/lenet_step).
inline void ds_lenet_step(benchmark::State& st) {
  DsLeNet m;
  LeNetData d(64);
  distillery::optim::SGDOptions so;
  so.lr = 0.01;
  so.momentum = 0.9;
  distillery::optim::SGD<float> opt(m.p, so);
  for (auto _ : st) {
    opt.zero_grad();
    auto l = distillery::cross_entropy(m.forward(d.x), d.y);
    l.backward();
    opt.step();
    benchmark::DoNotOptimize(l.data_ptr());
  }
}

inline void torch_lenet_step(benchmark::State& st) {
  DsLeNet dm;
  TorchLeNet m(dm);
  LeNetData d(64);
  auto x = to_torch(d.x, false);
  auto y = to_torch_index(d.y);
  torch::optim::SGD opt(m.p, torch::optim::SGDOptions(0.01).momentum(0.9));
  for (auto _ : st) {
    opt.zero_grad();
    auto l = torch::nn::functional::cross_entropy(m.forward(x), y);
    l.backward();
    opt.step();
    benchmark::DoNotOptimize(l.data_ptr());
  }
}

}  // namespace bench
