// bench/bench_bert.cpp — training-step speed of the mini-BERTs of examples/ckd_glue (issue 9):
// Distillery's nn::Bert against the same network written with LibTorch ops, weights copied.
//
//   <side>/bert_<model>_step   embeddings + L post-LN GELU layers + pooler + classifier, cross-entropy,
//                              backward, on a batch of 32 sequences of 64 tokens (no padding),
//                              dropout 0.1 on both sides; counter tokens_per_second
//   models: teacher (6 layers, 256, 4 heads, FFN 1024), s4 (4, 192, 3, 768), s2 (2, 128, 2, 512)
// Target (issue 9): Distillery time ≤ 0.8 × LibTorch's.
#include "bench_common.hpp"

#include <distillery/nn/bert.hpp>

namespace {
namespace ds = distillery;
constexpr int64_t kBatch = 32, kSeq = 64, kVocab = 8000, kLabels = 4;

ds::nn::BertConfig config_of(int which) {
  ds::nn::BertConfig c;
  c.vocab_size = kVocab;
  c.max_len = 128;
  c.num_labels = kLabels;
  if (which == 0) { c.layers = 6; c.hidden = 256; c.heads = 4; c.ffn = 1024; }
  if (which == 1) { c.layers = 4; c.hidden = 192; c.heads = 3; c.ffn = 768; }
  if (which == 2) { c.layers = 2; c.hidden = 128; c.heads = 2; c.ffn = 512; }
  return c;
}

struct Inputs {
  ds::Tensor<int64_t> ids, y;
  Inputs() {
    ds::Generator g(3);
    std::vector<int64_t> v(kBatch * kSeq), lab(kBatch);
    for (auto& x : v) x = 5 + g.randint(kVocab - 5);
    for (auto& x : lab) x = g.randint(kLabels);
    ids = ds::Tensor<int64_t>::from_vector(v, ds::Shape{kBatch, kSeq});
    y = ds::Tensor<int64_t>::from_vector(lab);
  }
};

template <int Which>
void BM_ds_bert(benchmark::State& st) {
  ds::Generator gen(1);
  ds::nn::Bert<float> m(config_of(Which), gen);
  m.train();
  Inputs in;
  auto params = m.parameters();
  for (auto _ : st) {
    auto loss = ds::cross_entropy(m.forward_logits(in.ids), in.y);
    loss.backward();
    benchmark::DoNotOptimize(loss.item());
    for (auto& p : params) p.zero_grad();
  }
  st.counters["tokens_per_second"] = benchmark::Counter(double(kBatch * kSeq), benchmark::Counter::kIsIterationInvariantRate);
}

// The same network in LibTorch ops; parameters copied from a Distillery model by name.
struct TorchBert {
  ds::nn::BertConfig c;
  std::map<std::string, torch::Tensor> p;
  TorchBert(const ds::nn::Bert<float>& m) : c(const_cast<ds::nn::Bert<float>&>(m).config()) {
    for (auto& kv : m.state_dict()) p[kv.first] = bench::to_torch(kv.second);
  }
  torch::Tensor drop(const torch::Tensor& x) const { return torch::dropout(x, c.dropout, true); }
  torch::Tensor logits(const torch::Tensor& ids) const {
    const int64_t B = ids.size(0), T = ids.size(1), d = c.hidden, h = c.heads, dh = d / h;
    auto x = torch::embedding(p.at("embeddings.word.weight"), ids) +
             p.at("embeddings.position.weight").narrow(0, 0, T);
    x = drop(torch::layer_norm(x, {d}, p.at("embeddings.norm.weight"), p.at("embeddings.norm.bias"), 1e-12));
    for (int64_t l = 0; l < c.layers; ++l) {
      const std::string k = "encoder.layers." + std::to_string(l) + ".";
      auto qkv = torch::linear(x, p.at(k + "self_attn.in_proj_weight"), p.at(k + "self_attn.in_proj_bias"));
      auto heads = qkv.reshape({B, T, 3, h, dh}).permute({2, 0, 3, 1, 4});
      auto q = heads.select(0, 0), kk = heads.select(0, 1), v = heads.select(0, 2);
      auto att = torch::softmax(torch::matmul(q, kk.transpose(-1, -2)) * (1.0 / std::sqrt(double(dh))), -1);
      auto ctx = torch::matmul(drop(att), v).permute({0, 2, 1, 3}).reshape({B, T, d});
      auto sa = drop(torch::linear(ctx, p.at(k + "self_attn.out_proj.weight"), p.at(k + "self_attn.out_proj.bias")));
      x = torch::layer_norm(x + sa, {d}, p.at(k + "norm1.weight"), p.at(k + "norm1.bias"), 1e-12);
      auto ff = drop(torch::gelu(torch::linear(x, p.at(k + "linear1.weight"), p.at(k + "linear1.bias"))));
      ff = drop(torch::linear(ff, p.at(k + "linear2.weight"), p.at(k + "linear2.bias")));
      x = torch::layer_norm(x + ff, {d}, p.at(k + "norm2.weight"), p.at(k + "norm2.bias"), 1e-12);
    }
    auto pooled = drop(torch::tanh(torch::linear(x.select(1, 0), p.at("pooler.weight"), p.at("pooler.bias"))));
    return torch::linear(pooled, p.at("classifier.weight"), p.at("classifier.bias"));
  }
};

template <int Which>
void BM_torch_bert(benchmark::State& st) {
  ds::Generator gen(1);
  ds::nn::Bert<float> dm(config_of(Which), gen);
  TorchBert m(dm);
  Inputs in;
  auto ids = bench::to_torch_index(in.ids), y = bench::to_torch_index(in.y);
  for (auto _ : st) {
    auto loss = torch::cross_entropy_loss(m.logits(ids), y);
    loss.backward();
    benchmark::DoNotOptimize(loss.item<float>());
    for (auto& kv : m.p) kv.second.mutable_grad() = torch::Tensor();
  }
  st.counters["tokens_per_second"] = benchmark::Counter(double(kBatch * kSeq), benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

BENCHMARK(BM_ds_bert<0>)->Name("distillery/bert_teacher_step")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_torch_bert<0>)->Name("libtorch/bert_teacher_step")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ds_bert<1>)->Name("distillery/bert_s4_step")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_torch_bert<1>)->Name("libtorch/bert_s4_step")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ds_bert<2>)->Name("distillery/bert_s2_step")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_torch_bert<2>)->Name("libtorch/bert_s2_step")->Unit(benchmark::kMillisecond);

DISTILLERY_BENCH_MAIN()
