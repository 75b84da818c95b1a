// nn/bert.hpp — a BERT-style encoder ("mini-BERT"): token + position embeddings, a post-LN
// TransformerEncoder, a masked-LM head tied to the token embeddings, and a [CLS] classifier.
//
//   embeddings(ids [B, T])      = dropout(LayerNorm(word[ids] + position[0..T)))       [B, T, d]
//   encode(ids, mask, opts)     -> EncoderOutput: hidden_states = {embeddings, layer 1..L'}
//                                  (L' = layers run at the chosen depth), attentions [B, h', T, T]
//   mlm_logits(h [N, d])        = LayerNorm(gelu(transform(h))) · wordᵀ + mlm_bias      [N, V]
//   classify(last [B, T, d])    = classifier(dropout(tanh(pooler(last[:, 0]))))         [B, C]
//
// Token ids follow the data/wordpiece.hpp convention: [PAD] = 0, [CLS] = 2 first, [SEP] = 3.
// The padding mask handed to the encoder is `ids == 0` (nonzero = padding). Width and depth
// multipliers (DynaBERT) pass through to TransformerEncoder; the embeddings, the pooler and the
// heads always run at full hidden size (only heads and FFN neurons are sliced).
//
// Parameter names follow the shape of Hugging Face's BertForMaskedLM/SequenceClassification
// loosely: embeddings.word.weight, embeddings.position.weight, embeddings.norm.{weight,bias},
// encoder.layers.<i>.…, mlm.transform.…, mlm.norm.…, mlm_bias, pooler.…, classifier.…
// A pre-trained checkpoint (num_labels = 0: no pooler/classifier) loads into a classifier model
// with load_checkpoint(..., strict = false); the classifier keeps its fresh initialisation.
//
// Initialisation (BERT): every Linear and Embedding weight ~ N(0, 0.02²), biases 0, LayerNorm 1/0.
#pragma once
#include <cmath>
#include <memory>
#include <string>

#include "transformer.hpp"

namespace distillery::nn {

struct BertConfig {
  int64_t vocab_size = 8000;
  int64_t hidden = 256, layers = 6, heads = 4, ffn = 1024;
  int64_t max_len = 128;
  double dropout = 0.1;
  int64_t num_labels = 0;  // 0: no classifier (pre-training)
  int64_t head_size = 0;   // 0: hidden / heads; else attention inner width heads · head_size (pruned models)

  int64_t head_dim() const { return head_size > 0 ? head_size : hidden / heads; }
};

template <class T = float>
class Bert : public Module<T> {
 public:
  struct Embeddings : Module<T> {
    Embedding<T> word, position;
    LayerNorm<T> norm;
    Embeddings(const BertConfig& c, Generator& gen)
        : word(c.vocab_size, c.hidden, gen), position(c.max_len, c.hidden, gen), norm(c.hidden, 1e-12) {
      this->register_module("word", &word);
      this->register_module("position", &position);
      this->register_module("norm", &norm);
    }
    std::string type_name() const override { return "BertEmbeddings"; }
  };
  struct MlmHead : Module<T> {
    Linear<T> transform;
    LayerNorm<T> norm;
    MlmHead(const BertConfig& c, Generator& gen) : transform(c.hidden, c.hidden, gen), norm(c.hidden, 1e-12) {
      this->register_module("transform", &transform);
      this->register_module("norm", &norm);
    }
    std::string type_name() const override { return "BertMlmHead"; }
  };

  Bert(const BertConfig& c, Generator& gen)
      : cfg_(c), emb_(c, gen), mlm_(c, gen),
        encoder_(encoder_config(c), c.layers, gen, /*final_norm=*/false), drop_gen_(gen.next_u64()) {
    check(c.vocab_size > 5 && c.hidden > 0 && c.layers > 0 && c.heads > 0 && (c.head_size > 0 || c.hidden % c.heads == 0) &&
              c.max_len > 1 && c.num_labels >= 0,
          "Bert", "bad config: vocab ", c.vocab_size, ", hidden ", c.hidden, ", heads ", c.heads,
          ", layers ", c.layers, ", max_len ", c.max_len, ", labels ", c.num_labels);
    this->register_module("embeddings", &emb_);
    this->register_module("encoder", &encoder_);
    this->register_module("mlm", &mlm_);
    mlm_bias = Tensor<T>::zeros({c.vocab_size});
    this->register_parameter("mlm_bias", &mlm_bias);
    if (c.num_labels > 0) {
      pooler_ = this->register_module("pooler", std::make_shared<Linear<T>>(c.hidden, c.hidden, gen));
      classifier_ =
          this->register_module("classifier", std::make_shared<Linear<T>>(c.hidden, c.num_labels, gen));
    }
    reset_parameters(gen);
  }
  std::string type_name() const override { return "Bert"; }
  std::shared_ptr<Module<T>> clone_structure() const override {
    Generator g;
    return std::make_shared<Bert>(cfg_, g);
  }
  // BERT's initialisation for the whole model.
  void reset_parameters(Generator& gen) override {
    for (auto& kv : this->named_parameters()) {
      const std::string& n = kv.first;
      Tensor<T> p = kv.second;
      NoGradGuard ng;
      const bool layer_norm_weight = p.dim() == 1 && n.find("norm") != std::string::npos &&
                                     n.size() >= 7 && n.compare(n.size() - 7, 7, ".weight") == 0;
      if (layer_norm_weight) init::constant_(p, 1.0);
      else if (p.dim() >= 2) init::normal_(p, 0.0, 0.02, gen);
      else init::zeros_(p);
    }
  }

  const BertConfig& config() const { return cfg_; }
  Device device() const { return emb_.word.weight.device(); }  // where the weights live
  TransformerEncoder<T>& encoder() { return encoder_; }
  Embeddings& embeddings() { return emb_; }

  // Reseeds every dropout of the model (call once per training step for exact resumption).
  void seed_dropout(uint64_t seed) {
    drop_gen_.seed_(seed);
    encoder_.seed_dropout(seed ^ 0xC2B2AE3D27D4EB4Full);
  }

  // ids [B, T] -> [B, T, d]
  Tensor<T> embed(const Tensor<int64_t>& ids) {
    check(ids.dim() == 2 && ids.size(1) <= cfg_.max_len, "Bert", "ids must be [B, T] with T <= ",
          cfg_.max_len, ", got ", ids.shape());
    const int64_t Tn = ids.size(1);
    Tensor<T> pos = narrow(emb_.position.weight, 0, 0, Tn);  // [T, d]
    Tensor<T> e = emb_.norm.forward(add(emb_.word.forward(ids), pos));
    return drop(e);
  }
  // Padding mask for the encoder: 1 where ids == 0 ([PAD]), as T.
  static Tensor<T> padding_mask(const Tensor<int64_t>& ids) {
    check(ids.device() == Device::cpu, "Bert", "padding_mask reads the ids on the host; got ids on ",
          ids.device(), " (pass EncoderOptions::key_padding_mask for device ids)");
    Tensor<T> m = Tensor<T>::zeros(ids.shape());
    const Tensor<int64_t> c = ids.contiguous();
    const int64_t* src = c.data_ptr();
    T* dst = m.data_ptr();
    for (int64_t i = 0; i < ids.numel(); ++i) dst[i] = src[i] == 0 ? T(1) : T(0);
    return m;
  }

  // Host ids are fine for a model on a device: they (and the padding mask, made on the host) move
  // to the model's device first.
  EncoderOutput<T> encode(const Tensor<int64_t>& ids, EncoderOptions<T> o = {}) {
    const Device dev = device();
    if (!o.key_padding_mask.defined())
      o.key_padding_mask = padding_mask(ids.device() == Device::cpu ? ids : ids.to(Device::cpu));
    o.key_padding_mask = o.key_padding_mask.to(dev);
    return encoder_.forward(embed(ids.to(dev)), o);
  }

  // Masked-LM logits for hidden states at the masked positions: h [N, d] -> [N, V].
  Tensor<T> mlm_logits(const Tensor<T>& h) {
    Tensor<T> u = mlm_.norm.forward(gelu(mlm_.transform.forward(h)));
    return add(matmul(u, transpose(emb_.word.weight, 0, 1)), mlm_bias);
  }

  // [CLS] classifier: last hidden state [B, T, d] -> logits [B, C].
  Tensor<T> classify(const Tensor<T>& last) {
    check(classifier_ != nullptr, "Bert", "classify needs num_labels > 0 (this model has none)");
    Tensor<T> cls = select(last, 1, 0);  // [B, d]
    return classifier_->forward(drop(tanh(pooler_->forward(cls))));
  }
  // ids -> logits at the given width/depth.
  Tensor<T> forward_logits(const Tensor<int64_t>& ids, double width_mult = 1.0, double depth_mult = 1.0) {
    EncoderOptions<T> o;
    o.width_mult = width_mult;
    o.depth_mult = depth_mult;
    return classify(encode(ids, o).last_hidden_state);
  }
  Tensor<T> forward(const Tensor<T>&) override {
    fail("Bert", "takes token ids: use encode(ids), forward_logits(ids) or mlm_logits(h)");
  }

  Tensor<T> mlm_bias;  // [V]

 private:
  static TransformerConfig encoder_config(const BertConfig& c) {
    TransformerConfig t;
    t.d_model = c.hidden;
    t.nhead = c.heads;
    t.dim_feedforward = c.ffn;
    t.dropout = c.dropout;
    t.activation = Activation::gelu;
    t.norm_first = false;
    t.layer_norm_eps = 1e-12;
    t.head_dim = c.head_size;
    return t;
  }
  Tensor<T> drop(const Tensor<T>& x) {
    return cfg_.dropout > 0 ? dropout(x, cfg_.dropout, this->is_training(), drop_gen_) : x;
  }

  BertConfig cfg_;
  Embeddings emb_;
  MlmHead mlm_;
  TransformerEncoder<T> encoder_;
  std::shared_ptr<Linear<T>> pooler_, classifier_;
  mutable Generator drop_gen_;
};

}  // namespace distillery::nn
