// nn/models.hpp — the reference models: LeNet-5, Kim-CNN and an RNN/LSTM text classifier.
//
// LeNet5 — exactly the network of the dataset-distillation reference (papers.md §3.2,
// SsnL/dataset-distillation networks/networks.py), with its parameter names:
//   x [N, 1, 28, 28] -> conv1 (1→6, 5×5, pad 2) -> ReLU -> max-pool 2 -> [N, 6, 14, 14]
//                    -> conv2 (6→16, 5×5)        -> ReLU -> max-pool 2 -> [N, 16, 5, 5]
//                    -> flatten [N, 400] -> fc1 (400→120) -> ReLU -> fc2 (120→84) -> ReLU
//                    -> fc3 (84→C) -> logits [N, C]
// The paper's variant uses ReLU activations and max pooling (not LeCun's tanh / average
// subsampling). 32×32 inputs use pad 0 (image_size = 32). Parameters for C = 10:
//   156 + 2,416 + 48,120 + 10,164 + 850 = 61,706.
//
// KimCNN — Kim (2014): embedding [V, E]; for each kernel height k in {3, 4, 5}: conv (k × E,
// 100 filters) -> ReLU -> max over time -> [N, 100]; concat [N, 300] -> dropout -> fc -> [N, C].
//   forward(ids [N, T]) or forward_embedded(emb [N, T, E]) (text dataset distillation learns
//   embeddings directly). Sequences shorter than the largest kernel are zero-padded.
//
// RNNClassifier — embedding -> RNN or LSTM -> state at each sequence's last token -> dropout ->
//   fc. forward(ids [N, T], lengths) -> [N, C].
#pragma once
#include <vector>

#include "container.hpp"
#include "recurrent.hpp"

namespace distillery::nn {

template <class T = float>
class LeNet5 : public Module<T> {
 public:
  Conv2d<T> conv1, conv2;
  Linear<T> fc1, fc2, fc3;

  explicit LeNet5(int64_t num_classes, Generator& gen, int64_t in_channels = 1,
                  int64_t image_size = 28, Init scheme = Init::pytorch)
      : conv1(in_channels, 6, 5, gen, 1, image_size == 28 ? 2 : 0, true, scheme),
        conv2(6, 16, 5, gen, 1, 0, true, scheme),
        fc1(16 * 5 * 5, 120, gen, true, scheme),
        fc2(120, 84, gen, true, scheme),
        fc3(84, num_classes, gen, true, scheme),
        classes_(num_classes), in_channels_(in_channels), image_size_(image_size), init_(scheme) {
    check(image_size == 28 || image_size == 32, "LeNet5", "image size must be 28 or 32, got ",
          image_size);
    this->register_module("conv1", &conv1);
    this->register_module("conv2", &conv2);
    this->register_module("fc1", &fc1);
    this->register_module("fc2", &fc2);
    this->register_module("fc3", &fc3);
  }
  std::string type_name() const override { return "LeNet5"; }
  std::shared_ptr<Module<T>> clone_structure() const override {
    Generator g;
    return std::make_shared<LeNet5>(classes_, g, in_channels_, image_size_, init_);
  }

  // x [N, C_in, 28, 28] -> logits [N, classes]
  Tensor<T> forward(const Tensor<T>& x) override {
    Tensor<T> h = max_pool2d(relu(conv1.forward(x)), 2);  // [N, 6, 14, 14]
    h = max_pool2d(relu(conv2.forward(h)), 2);            // [N, 16, 5, 5]
    h = flatten(h, 1);                                    // [N, 400]
    h = relu(fc1.forward(h));                             // [N, 120]
    h = relu(fc2.forward(h));                             // [N, 84]
    return fc3.forward(h);                                // [N, classes]
  }

 private:
  int64_t classes_, in_channels_, image_size_;
  Init init_;
};

struct KimCNNConfig {
  int64_t vocab_size = 0, embed_dim = 300, num_classes = 2, num_filters = 100;
  std::vector<int64_t> kernel_heights{3, 4, 5};
  double dropout = 0.5;
};

template <class T = float>
class KimCNN : public Module<T> {
 public:
  Embedding<T> embedding;
  Linear<T> fc;

  KimCNN(const KimCNNConfig& c, Generator& gen)
      : embedding(c.vocab_size, c.embed_dim, gen),
        fc(c.num_filters * static_cast<int64_t>(c.kernel_heights.size()), c.num_classes, gen),
        cfg_(c), drop_(c.dropout, gen) {
    check(!c.kernel_heights.empty(), "KimCNN", "need at least one kernel height");
    this->register_module("embedding", &embedding);
    convs_ = this->register_module("convs", std::make_shared<Sequential<T>>());
    for (int64_t k : c.kernel_heights)
      convs_->push_back(std::make_shared<Conv2d<T>>(1, c.num_filters, std::array<int64_t, 2>{k, c.embed_dim}, gen));
    this->register_module("fc", &fc);
  }
  std::string type_name() const override { return "KimCNN"; }
  std::shared_ptr<Module<T>> clone_structure() const override {
    Generator g;
    return std::make_shared<KimCNN>(cfg_, g);
  }

  // ids [N, T] -> logits [N, C]
  Tensor<T> forward(const Tensor<int64_t>& ids) { return forward_embedded(embedding.forward(ids)); }
  using Module<T>::forward;
  // emb [N, T, E] -> logits [N, C]
  Tensor<T> forward_embedded(const Tensor<T>& emb) {
    check(emb.dim() == 3 && emb.size(2) == cfg_.embed_dim, "KimCNN", "expected embeddings [N, T, ",
          cfg_.embed_dim, "], got ", emb.shape());
    int64_t kmax = 0;
    for (int64_t k : cfg_.kernel_heights) kmax = std::max(kmax, k);
    Tensor<T> x = unsqueeze(emb, 1);  // [N, 1, T, E]
    if (x.size(2) < kmax) x = pad(x, {0, 0, 0, kmax - x.size(2)});
    std::vector<Tensor<T>> pooled;
    for (size_t i = 0; i < convs_->size(); ++i) {
      Tensor<T> c = squeeze(relu((*convs_)[i].forward(x)), 3);  // [N, F, T-k+1]
      pooled.push_back(max(c, 2).first);                         // [N, F]
    }
    drop_.train(this->is_training());
    return fc.forward(drop_.forward(cat(pooled, 1)));           // [N, C]
  }

 private:
  KimCNNConfig cfg_;
  Dropout<T> drop_;  // not registered: no parameters, follows this module's mode
  std::shared_ptr<Sequential<T>> convs_;
};

struct RNNClassifierConfig {
  int64_t vocab_size = 0, embed_dim = 128, hidden_size = 128, num_classes = 2, num_layers = 1;
  CellType cell = CellType::lstm;
  double dropout = 0.5;
};

template <class T = float>
class RNNClassifier : public Module<T> {
 public:
  Embedding<T> embedding;
  Recurrent<T> rnn;
  Linear<T> fc;

  RNNClassifier(const RNNClassifierConfig& c, Generator& gen)
      : embedding(c.vocab_size, c.embed_dim, gen),
        rnn(c.cell, c.embed_dim, c.hidden_size, gen, c.num_layers),
        fc(c.hidden_size, c.num_classes, gen),
        cfg_(c), drop_(c.dropout, gen) {
    this->register_module("embedding", &embedding);
    this->register_module("rnn", &rnn);
    this->register_module("fc", &fc);
  }
  std::string type_name() const override { return "RNNClassifier"; }
  std::shared_ptr<Module<T>> clone_structure() const override {
    Generator g;
    return std::make_shared<RNNClassifier>(cfg_, g);
  }

  // ids [N, T], lengths (empty = all T) -> logits [N, C]
  Tensor<T> forward(const Tensor<int64_t>& ids, const std::vector<int64_t>& lengths = {}) {
    return forward_embedded(embedding.forward(ids), lengths);
  }
  using Module<T>::forward;
  // emb [N, T, E] -> logits [N, C]
  Tensor<T> forward_embedded(const Tensor<T>& emb, const std::vector<int64_t>& lengths = {}) {
    RecurrentOutput<T> r = rnn.forward(emb, lengths);
    Tensor<T> last = select(r.h_n, 0, cfg_.num_layers - 1);  // [N, H]
    drop_.train(this->is_training());
    return fc.forward(drop_.forward(last));
  }

 private:
  RNNClassifierConfig cfg_;
  Dropout<T> drop_;
};

}  // namespace distillery::nn
