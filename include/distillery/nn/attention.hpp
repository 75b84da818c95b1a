// nn/attention.hpp — MultiheadAttention, batch-first, with key-padding mask and head slicing.
//
// Parameters as torch.nn.MultiheadAttention (so state dicts carry the same names):
//   in_proj_weight [3d, d] (rows: q | k | v), in_proj_bias [3d], out_proj.weight [d, d],
//   out_proj.bias [d]; d = embed_dim, h heads of size dh = d / h (or a given head_dim: then the
//   inner width h·dh may differ from d, in_proj_weight is [3·h·dh, d], out_proj.weight [d, h·dh]).
// forward(query [B, Tq, d], key [B, Tk, d], value [B, Tk, d], options) returns
//   output [B, Tq, d] and, when need_weights, the attention probabilities [B, h', Tq, Tk] per head
//   (not averaged, since distillation losses compare them head by head).
// Masks: key_padding_mask [B, Tk] with nonzero = padding (ignored), PyTorch's convention;
// attn_mask [Tq, Tk] is added to the scores (e.g. −inf above the diagonal for causal attention).
// Padded keys get the lowest finite score rather than −inf, so a fully padded row yields a
// uniform distribution instead of NaN.
//
// Width slicing (DynaBERT): options.active_heads = h' < h runs the sub-network made of the first
// h' heads: rows [0, h'·dh) of each of q, k, v and columns [0, h'·dh) of out_proj.weight. These
// are views of the full weights (no copies); gradients flow into the used slices only.
//
//   nn::MultiheadAttention<float> mha(256, 4, gen);
//   nn::AttentionOptions<float> o;  o.key_padding_mask = pad;  o.need_weights = true;
//   auto r = mha.forward(x, x, x, o);
//   r.output [B, T, 256], r.weights [B, 4, T, T]
#pragma once
#include <cmath>
#include <limits>

#include "layers.hpp"

namespace distillery::nn {

template <class T>
struct AttentionOptions {
  Tensor<T> key_padding_mask;  // [B, Tk], nonzero = ignore that key; undefined = none
  Tensor<T> attn_mask;         // [Tq, Tk] additive; undefined = none
  bool need_weights = false;
  int64_t active_heads = 0;    // 0 = all heads
};

template <class T>
struct AttentionOutput {
  Tensor<T> output;   // [B, Tq, d]
  Tensor<T> weights;  // [B, h', Tq, Tk] when need_weights, else undefined
};

template <class T = float>
class MultiheadAttention : public Module<T> {
 public:
  Tensor<T> in_proj_weight, in_proj_bias;  // [3d, d], [3d]
  Linear<T> out_proj;                      // [d, d], [d]

  // head_dim = 0: embed_dim / num_heads (PyTorch). A given head_dim makes the inner width
  // num_heads · head_dim differ from embed_dim (a head-pruned model, e.g. an exported DynaBERT
  // sub-network): in_proj_weight is [3 · inner, d] and out_proj maps inner -> d.
  MultiheadAttention(int64_t embed_dim, int64_t num_heads, Generator& gen, double dropout = 0.0,
                     uint64_t dropout_seed = 0xA77E, int64_t head_dim = 0)
      : out_proj(num_heads > 0 && head_dim > 0 ? num_heads * head_dim : embed_dim, embed_dim, gen),
        d_(embed_dim), h_(num_heads), dh_(head_dim > 0 ? head_dim : (num_heads > 0 ? embed_dim / num_heads : 0)),
        p_(dropout), dropout_gen_(dropout_seed) {
    check(num_heads > 0 && (head_dim > 0 || embed_dim % num_heads == 0), "MultiheadAttention", "embed_dim ",
          embed_dim, " must be divisible by num_heads ", num_heads, " (or give head_dim)");
    check(dropout >= 0 && dropout < 1, "MultiheadAttention", "dropout must be in [0, 1)");
    in_proj_weight = Tensor<T>::empty({3 * inner_dim(), embed_dim});
    in_proj_bias = Tensor<T>::empty({3 * inner_dim()});
    this->register_parameter("in_proj_weight", &in_proj_weight);
    this->register_parameter("in_proj_bias", &in_proj_bias);
    this->register_module("out_proj", &out_proj);
    reset_parameters(gen);
  }

  std::string type_name() const override { return "MultiheadAttention"; }
  // PyTorch: xavier_uniform in_proj_weight, zero biases; out_proj.weight keeps Linear's init.
  void reset_parameters(Generator& gen) override {
    init::xavier_uniform_(in_proj_weight, gen);
    init::zeros_(in_proj_bias);
    init::zeros_(out_proj.bias);
  }
  std::shared_ptr<Module<T>> clone_structure() const override {
    Generator g;
    return std::make_shared<MultiheadAttention>(d_, h_, g, p_, dropout_gen_.next_u64(), dh_);
  }
  int64_t embed_dim() const { return d_; }
  int64_t num_heads() const { return h_; }
  int64_t head_dim() const { return dh_; }
  int64_t inner_dim() const { return h_ * dh_; }  // = embed_dim unless head_dim was given
  // Reseeds the attention-dropout generator (exactly resumable training reseeds per step).
  void seed_dropout(uint64_t seed) { dropout_gen_.seed_(seed); }

  // Self-attention on one input.
  Tensor<T> forward(const Tensor<T>& x) override { return forward(x, x, x).output; }

  AttentionOutput<T> forward(const Tensor<T>& query, const Tensor<T>& key, const Tensor<T>& value,
                             const AttentionOptions<T>& o = {}) {
    const int64_t hs = o.active_heads ? o.active_heads : h_, dh = dh_, w = hs * dh, inner = h_ * dh_;
    check(hs >= 1 && hs <= h_, "MultiheadAttention", "active_heads ", hs, " not in [1, ", h_, "]");
    check(query.dim() == 3 && key.dim() == 3 && value.dim() == 3 && query.size(2) == d_ &&
              key.size(2) == d_ && value.size(2) == d_ && key.size(0) == query.size(0) &&
              value.size(0) == query.size(0) && key.size(1) == value.size(1),
          "MultiheadAttention", "expected query [B, Tq, ", d_, "] and key/value [B, Tk, ", d_,
          "], got ", query.shape(), ", ", key.shape(), ", ", value.shape());
    const int64_t B = query.size(0), Tq = query.size(1), Tk = key.size(1);
    // projections of the active heads: [B, T, w] -> [B, h', T, dh]
    auto project = [&](const Tensor<T>& x, int64_t block, int64_t T_) {
      Tensor<T> W = narrow(in_proj_weight, 0, block * inner, w);  // [w, d]
      Tensor<T> b = narrow(in_proj_bias, 0, block * inner, w);    // [w]
      return transpose(reshape(linear(x, W, b), Shape{B, T_, hs, dh}), 1, 2);
    };
    Tensor<T> q = project(query, 0, Tq), k = project(key, 1, Tk), v = project(value, 2, Tk);
    Tensor<T> scores = mul_scalar(matmul(q, transpose(k, -1, -2)),
                                  T(1.0 / std::sqrt(double(dh))));  // [B, h', Tq, Tk]
    if (o.attn_mask.defined()) {
      check(o.attn_mask.shape() == Shape{Tq, Tk}, "MultiheadAttention", "attn_mask must be [",
            Tq, ", ", Tk, "], got ", o.attn_mask.shape());
      scores = add(scores, o.attn_mask);
    }
    if (o.key_padding_mask.defined()) {
      check(o.key_padding_mask.shape() == Shape{B, Tk}, "MultiheadAttention",
            "key_padding_mask must be [", B, ", ", Tk, "], got ", o.key_padding_mask.shape());
      Tensor<T> m = reshape(ne_scalar(o.key_padding_mask.detach(), T(0)), Shape{B, 1, 1, Tk});
      scores = masked_fill(scores, m, std::numeric_limits<T>::lowest());
    }
    Tensor<T> attn = softmax(scores, -1);
    Tensor<T> used = p_ > 0 ? dropout(attn, p_, this->is_training(), dropout_gen_) : attn;
    Tensor<T> ctx = reshape(transpose(matmul(used, v), 1, 2), Shape{B, Tq, w});  // [B, Tq, w]
    Tensor<T> Wo = narrow(out_proj.weight, 1, 0, w);                             // [d, w]
    AttentionOutput<T> r;
    r.output = linear(ctx, Wo, out_proj.bias);
    if (o.need_weights) r.weights = attn;
    return r;
  }

 private:
  int64_t d_, h_, dh_;
  double p_;
  mutable Generator dropout_gen_;
};

}  // namespace distillery::nn
