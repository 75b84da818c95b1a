// bench/torch_flat_lenet.hpp — LeNet-5 written in LibTorch on one flat weight vector [P], the
// parameters in Distillery's LeNet5 order (conv1 w, b, conv2 w, b, fc1, fc2, fc3): the LibTorch
// side of dataset distillation in bench_dd.cpp and twin_dd_libtorch.cpp.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include <distillery/nn/nn.hpp>

struct TorchFlatLeNet {
  std::vector<std::vector<int64_t>> shapes;
  template <class T>
  explicit TorchFlatLeNet(const distillery::nn::LeNet5<T>& m) {
    for (auto& p : m.parameters()) shapes.emplace_back(p.shape().begin(), p.shape().end());
  }
  // w [P], x [N, 1, 28, 28] -> logits [N, C]; with to_fc1, fc1's pre-ReLU output [N, 120].
  torch::Tensor forward(const torch::Tensor& w, const torch::Tensor& x, bool to_fc1 = false) const {
    std::vector<torch::Tensor> p;
    int64_t off = 0;
    for (auto& s : shapes) {
      int64_t n = 1;
      for (int64_t d : s) n *= d;
      p.push_back(w.narrow(0, off, n).view(s));
      off += n;
    }
    auto h = torch::max_pool2d(torch::relu(torch::conv2d(x, p[0], p[1], 1, 2)), 2);  // [N, 6, 14, 14]
    h = torch::max_pool2d(torch::relu(torch::conv2d(h, p[2], p[3])), 2);           // [N, 16, 5, 5]
    h = torch::linear(torch::flatten(h, 1), p[4], p[5]);                           // [N, 120]
    if (to_fc1) return h;
    h = torch::relu(torch::linear(torch::relu(h), p[6], p[7]));
    return torch::linear(h, p[8], p[9]);  // [N, C]
  }
};
