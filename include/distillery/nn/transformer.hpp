// nn/transformer.hpp — TransformerEncoderLayer and TransformerEncoder (batch-first, pre/post-LN)
// with all hidden states, all attention maps, and run-time width/depth slicing (DynaBERT).
//
// Layer (names as torch.nn.TransformerEncoderLayer: self_attn, linear1, linear2, norm1, norm2):
//   post-LN (default):  x = norm1(x + drop(SA(x)));        x = norm2(x + drop(FF(x)))
//   pre-LN (norm_first): x = x + drop(SA(norm1(x)));        x = x + drop(FF(norm2(x)))
//   FF(x) = linear2(drop(act(linear1(x))))      x [B, T, d], linear1 [ffn, d], linear2 [d, ffn]
// Encoder: layers.0 ... layers.{L-1}, and `norm` (a final LayerNorm) when final_norm is set
// (usual with pre-LN). forward(x [B, T, d], options) -> EncoderOutput:
//   last_hidden_state [B, T, d]
//   hidden_states     (output_hidden_states) L'+1 tensors [B, T, d]: the input (the embedding
//                     output) and each executed layer's output; the last one equals
//                     last_hidden_state (after the final norm, if any)
//   attentions        (output_attentions) L' tensors [B, h', T, T], per-head probabilities
//
// Sub-networks (no weights copied; the slices are views, so training a sub-network trains the
// shared weights): width_mult m_w keeps the first round(h·m_w) heads of every layer and the first
// round(ffn·m_w) FFN neurons (rows of linear1, columns of linear2); depth_mult m_d keeps
// round(L·m_d) layers, layer floor(i / m_d) for i = 0, 1, ... (DynaBERT's rule: m_d = 0.5 keeps
// 0, 2, 4, ...; m_d = 0.75 drops every fourth layer). Rounding is Python's (ties to even).
// `layers` lists the layers to run explicitly instead. DynaBERT reorders heads and neurons by
// importance before slicing; that permutation is the caller's business (it is a weight edit).
#pragma once
#include <cmath>
#include <vector>

#include "attention.hpp"

namespace distillery::nn {

struct TransformerConfig {
  int64_t d_model = 256, nhead = 4, dim_feedforward = 1024;
  double dropout = 0.1;
  Activation activation = Activation::relu;
  bool norm_first = false;  // pre-LN when true
  double layer_norm_eps = 1e-5;
  int64_t head_dim = 0;     // 0: d_model / nhead; else the attention's inner width is nhead · head_dim
};

// Width of one run of a layer; 0 = full.
struct LayerWidth {
  int64_t heads = 0, ffn = 0;
};

template <class T>
struct EncoderLayerOutput {
  Tensor<T> hidden;     // [B, T, d]
  Tensor<T> attention;  // [B, h', T, T] when asked
};

namespace detail {
inline int64_t round_half_even(double v) {
  return static_cast<int64_t>(std::nearbyint(v));  // default rounding mode: ties to even
}
}  // namespace detail

template <class T = float>
class TransformerEncoderLayer : public Module<T> {
 public:
  MultiheadAttention<T> self_attn;
  Linear<T> linear1, linear2;
  LayerNorm<T> norm1, norm2;

  TransformerEncoderLayer(const TransformerConfig& c, Generator& gen)
      : self_attn(c.d_model, c.nhead, gen, c.dropout, gen.next_u64(), c.head_dim),
        linear1(c.d_model, c.dim_feedforward, gen),
        linear2(c.dim_feedforward, c.d_model, gen),
        norm1(c.d_model, c.layer_norm_eps),
        norm2(c.d_model, c.layer_norm_eps),
        cfg_(c),
        dropout_gen_(gen.next_u64()) {
    this->register_module("self_attn", &self_attn);
    this->register_module("linear1", &linear1);
    this->register_module("linear2", &linear2);
    this->register_module("norm1", &norm1);
    this->register_module("norm2", &norm2);
  }
  std::string type_name() const override { return "TransformerEncoderLayer"; }
  std::shared_ptr<Module<T>> clone_structure() const override {
    Generator g(dropout_gen_.next_u64());
    return std::make_shared<TransformerEncoderLayer>(cfg_, g);
  }
  const TransformerConfig& config() const { return cfg_; }
  // Reseeds this layer's dropout generators (residual/FFN and attention) from one seed.
  void seed_dropout(uint64_t seed) {
    dropout_gen_.seed_(seed);
    self_attn.seed_dropout(seed ^ 0x9E3779B97F4A7C15ull);
  }

  Tensor<T> forward(const Tensor<T>& x) override { return forward(x, Tensor<T>()).hidden; }

  // x [B, T, d]; key_padding_mask [B, T] (nonzero = padding) or undefined.
  EncoderLayerOutput<T> forward(const Tensor<T>& x, const Tensor<T>& key_padding_mask,
                                bool need_weights = false, LayerWidth width = {}) {
    const int64_t ffn = width.ffn ? width.ffn : cfg_.dim_feedforward;
    check(ffn >= 1 && ffn <= cfg_.dim_feedforward, "TransformerEncoderLayer", "ffn width ", ffn,
          " not in [1, ", cfg_.dim_feedforward, "]");
    AttentionOptions<T> ao;
    ao.key_padding_mask = key_padding_mask;
    ao.need_weights = need_weights;
    ao.active_heads = width.heads;
    EncoderLayerOutput<T> r;
    auto sa = [&](const Tensor<T>& h) {
      AttentionOutput<T> a = self_attn.forward(h, h, h, ao);
      r.attention = a.weights;
      return drop(a.output);
    };
    auto ff = [&](const Tensor<T>& h) {
      Tensor<T> W1 = narrow(linear1.weight, 0, 0, ffn), b1 = narrow(linear1.bias, 0, 0, ffn);
      Tensor<T> W2 = narrow(linear2.weight, 1, 0, ffn);
      Tensor<T> u = drop(activate(linear(h, W1, b1), cfg_.activation));  // [B, T, ffn]
      return drop(linear(u, W2, linear2.bias));
    };
    Tensor<T> h = x;
    if (cfg_.norm_first) {
      h = add(h, sa(norm1.forward(h)));
      h = add(h, ff(norm2.forward(h)));
    } else {
      h = norm1.forward(add(h, sa(h)));
      h = norm2.forward(add(h, ff(h)));
    }
    r.hidden = h;
    return r;
  }

 private:
  Tensor<T> drop(const Tensor<T>& x) {
    return cfg_.dropout > 0 ? dropout(x, cfg_.dropout, this->is_training(), dropout_gen_) : x;
  }
  TransformerConfig cfg_;
  mutable Generator dropout_gen_;
};

template <class T>
struct EncoderOptions {
  Tensor<T> key_padding_mask;      // [B, T], nonzero = padding
  bool output_hidden_states = false;
  bool output_attentions = false;
  double width_mult = 1.0;         // fraction of heads and FFN neurons used
  double depth_mult = 1.0;         // fraction of layers used (DynaBERT's choice of layers)
  std::vector<int64_t> layers;     // explicit layer indices (overrides depth_mult)
};

template <class T>
struct EncoderOutput {
  Tensor<T> last_hidden_state;           // [B, T, d]
  std::vector<Tensor<T>> hidden_states;  // L'+1 x [B, T, d]
  std::vector<Tensor<T>> attentions;     // L' x [B, h', T, T]
};

template <class T = float>
class TransformerEncoder : public Module<T> {
 public:
  TransformerEncoder(const TransformerConfig& c, int64_t num_layers, Generator& gen,
                     bool final_norm = false)
      : cfg_(c), final_norm_(final_norm) {
    check(num_layers >= 1, "TransformerEncoder", "need at least one layer, got ", num_layers);
    layers_ = std::make_shared<LayerList>();
    for (int64_t i = 0; i < num_layers; ++i) layers_->add(std::make_shared<TransformerEncoderLayer<T>>(c, gen));
    this->register_module("layers", layers_);
    if (final_norm) norm_ = this->register_module("norm", std::make_shared<LayerNorm<T>>(c.d_model, c.layer_norm_eps));
  }
  std::string type_name() const override { return "TransformerEncoder"; }
  std::shared_ptr<Module<T>> clone_structure() const override {
    Generator g;
    return std::make_shared<TransformerEncoder>(cfg_, num_layers(), g, final_norm_);
  }
  int64_t num_layers() const { return static_cast<int64_t>(layers_->items.size()); }
  const TransformerConfig& config() const { return cfg_; }
  bool final_norm() const { return final_norm_; }
  // Reseeds every layer's dropout (layer i from seed + i), e.g. once per training step so a run
  // resumed from a checkpoint draws the same masks as an uninterrupted one.
  void seed_dropout(uint64_t seed) {
    for (int64_t i = 0; i < num_layers(); ++i) layer(i).seed_dropout(seed + 0x100000001B3ull * uint64_t(i + 1));
  }
  TransformerEncoderLayer<T>& layer(int64_t i) { return *layers_->items.at(i); }

  // Indices of the layers a depth multiplier keeps (DynaBERT).
  std::vector<int64_t> kept_layers(double depth_mult) const {
    check(depth_mult > 0 && depth_mult <= 1, "TransformerEncoder", "depth_mult must be in (0, 1], got ",
          depth_mult);
    const int64_t L = num_layers(), depth = std::max<int64_t>(1, detail::round_half_even(depth_mult * L));
    std::vector<int64_t> kept;
    for (int64_t i = 0; i < depth; ++i)
      kept.push_back(std::min<int64_t>(L - 1, static_cast<int64_t>(std::floor(i / depth_mult + 1e-9))));
    return kept;
  }
  // Heads and FFN neurons a width multiplier keeps.
  LayerWidth width(double width_mult) const {
    check(width_mult > 0 && width_mult <= 1, "TransformerEncoder", "width_mult must be in (0, 1], got ",
          width_mult);
    LayerWidth w;
    w.heads = std::max<int64_t>(1, detail::round_half_even(cfg_.nhead * width_mult));
    w.ffn = std::max<int64_t>(1, detail::round_half_even(cfg_.dim_feedforward * width_mult));
    return w;
  }

  Tensor<T> forward(const Tensor<T>& x) override { return forward(x, EncoderOptions<T>()).last_hidden_state; }

  EncoderOutput<T> forward(const Tensor<T>& x, const EncoderOptions<T>& o) {
    check(x.dim() == 3 && x.size(2) == cfg_.d_model, "TransformerEncoder", "expected input [B, T, ",
          cfg_.d_model, "], got ", x.shape());
    std::vector<int64_t> run = o.layers.empty() ? kept_layers(o.depth_mult) : o.layers;
    LayerWidth w = width(o.width_mult);
    EncoderOutput<T> out;
    Tensor<T> h = x;
    if (o.output_hidden_states) out.hidden_states.push_back(h);
    for (size_t k = 0; k < run.size(); ++k) {
      check(run[k] >= 0 && run[k] < num_layers(), "TransformerEncoder", "layer index ", run[k],
            " out of range for ", num_layers(), " layers");
      EncoderLayerOutput<T> r = layer(run[k]).forward(h, o.key_padding_mask, o.output_attentions, w);
      h = r.hidden;
      if (norm_ && k + 1 == run.size()) h = norm_->forward(h);
      if (o.output_hidden_states) out.hidden_states.push_back(h);
      if (o.output_attentions) out.attentions.push_back(r.attention);
    }
    out.last_hidden_state = h;
    return out;
  }

 private:
  // Holds the layers under the names "0", "1", ... (so keys read layers.3.linear1.weight).
  struct LayerList : Module<T> {
    std::vector<std::shared_ptr<TransformerEncoderLayer<T>>> items;
    void add(std::shared_ptr<TransformerEncoderLayer<T>> l) {
      items.push_back(l);
      this->register_module(std::to_string(items.size() - 1), l);
    }
    std::string type_name() const override { return "ModuleList"; }
  };
  TransformerConfig cfg_;
  bool final_norm_;
  std::shared_ptr<LayerList> layers_;
  std::shared_ptr<LayerNorm<T>> norm_;
};

}  // namespace distillery::nn
