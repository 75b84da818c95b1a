// methods/dynabert.hpp — width- and depth-adaptive mini-BERTs (DynaBERT, Hou et al. 2020), distilled
// with its own hidden-state loss or with CKD's relations (Park et al. 2021, §1.7 of papers.md).
//
// One network runs at every (width, depth): width m_w keeps the first round(h·m_w) heads and
// round(ffn·m_w) FFN neurons of every layer, depth m_d keeps layers floor(i / m_d) (nn/transformer.hpp);
// nothing is copied, so the sub-networks share (and jointly train) the weights.
//
//   importance(model, dev)    loss sensitivity of every head and FFN neuron: for a mask m on the
//                             head's context (or the neuron's activation), |∂L/∂m| summed over dev
//                             batches, which is Σ W ⊙ ∂L/∂W over the head's columns of out_proj (the
//                             neuron's column of linear2) — no extra forward pass needed
//   rewire(model, importance) reorders heads (q, k, v rows and out_proj columns) and neurons
//                             (linear1 rows, linear2 columns) most important first; the function of
//                             the full network is unchanged
//   train_dynabert(student, teacher, …, stage)
//       stage 1 (width):   for every width w: student(w, 1) vs the fine-tuned teacher
//       stage 2 (w, d):    for every depth d and width w: student(w, d) vs the stage-1 network at
//                          full size (a frozen copy)
//       loss per sub-network = soft-CE(student logits, teacher logits) + λ_h · MSE + λ_ckd · CKD:
//       MSE is DynaBERT's MSE of the embeddings and of every kept layer's output against the
//       teacher layer it replaces (student layer i ↔ teacher layer floor(i / m_d)); with
//       ckd = true, ckd_loss over the same aligned states (relations inside each sub-network:
//       widths agree, no projection) is ADDED, or replaces the MSE with ckd_replaces = true.
//       The sub-network losses are summed before one optimizer step.
//   export_subnetwork(model, w, d)   a standalone smaller Bert (head_size kept, heads/ffn/layers cut)
//   subnetwork_parameters(model, w, d)   parameters the sub-network uses
#pragma once
#include <algorithm>
#include <map>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "bert_distill.hpp"

namespace distillery::methods {

struct Importance {
  std::vector<std::vector<double>> heads;    // [L][h]
  std::vector<std::vector<double>> neurons;  // [L][ffn]
};

template <class T>
Importance importance(nn::Bert<T>& model, const TokenSet& dev, int64_t batch = 32) {
  const auto& c = model.config();
  const int64_t L = c.layers, h = c.heads, dh = c.head_dim(), F = c.ffn, d = c.hidden;
  Importance imp;
  imp.heads.assign(L, std::vector<double>(h, 0.0));
  imp.neurons.assign(L, std::vector<double>(F, 0.0));
  const bool was = model.is_training();
  model.eval();  // no dropout: the sensitivity of the deterministic network
  model.zero_grad();
  const std::vector<int64_t> order = length_order(dev);
  for (int64_t b0 = 0; b0 < dev.size(); b0 += batch) {
    std::vector<int64_t> idx(order.begin() + b0, order.begin() + std::min(dev.size(), b0 + batch));
    std::vector<int64_t> yl;
    for (int64_t i : idx) yl.push_back(dev.labels.at(i));
    model.zero_grad();
    Tensor<T> loss = cross_entropy(model.forward_logits(pad_batch(dev, idx)),
                                   Tensor<int64_t>::from_vector(yl).to(model.device()));
    loss.backward();
    for (int64_t l = 0; l < L; ++l) {
      auto& layer = model.encoder().layer(l);
      const std::vector<T> wo = layer.self_attn.out_proj.weight.contiguous().to_vector();  // [d, h·dh]
      const std::vector<T> go = layer.self_attn.out_proj.weight.grad().contiguous().to_vector();
      for (int64_t k = 0; k < h; ++k) {
        double s = 0;
        for (int64_t i = 0; i < d; ++i)
          for (int64_t j = k * dh; j < (k + 1) * dh; ++j) s += double(wo[i * h * dh + j]) * double(go[i * h * dh + j]);
        imp.heads[l][k] += std::abs(s);
      }
      const std::vector<T> w2 = layer.linear2.weight.contiguous().to_vector();  // [d, F]
      const std::vector<T> g2 = layer.linear2.weight.grad().contiguous().to_vector();
      for (int64_t k = 0; k < F; ++k) {
        double s = 0;
        for (int64_t i = 0; i < d; ++i) s += double(w2[i * F + k]) * double(g2[i * F + k]);
        imp.neurons[l][k] += std::abs(s);
      }
    }
  }
  model.zero_grad();
  model.train(was);
  return imp;
}

namespace detail {
inline std::vector<int64_t> descending(const std::vector<double>& v) {
  std::vector<int64_t> o(v.size());
  std::iota(o.begin(), o.end(), 0);
  std::stable_sort(o.begin(), o.end(), [&](int64_t a, int64_t b) { return v[a] > v[b]; });
  return o;
}
// Rows (dim 0) or columns (dim 1) of a 2-D CPU tensor, or entries of a 1-D one, permuted in place:
// new[k] = old[perm[k]] in blocks of `block` consecutive rows/columns, starting at `offset`.
template <class T>
void permute_blocks(const Tensor<T>& t, int64_t dim, const std::vector<int64_t>& perm, int64_t block, int64_t offset) {
  NoGradGuard ng;
  check(t.device() == Device::cpu && t.is_contiguous(), "rewire", "needs contiguous CPU weights");
  T* p = t.data_ptr();
  const int64_t rows = t.dim() == 1 ? t.numel() : t.size(0), cols = t.dim() == 1 ? 1 : t.size(1);
  std::vector<T> old(p, p + t.numel());
  for (size_t k = 0; k < perm.size(); ++k)
    for (int64_t r = 0; r < block; ++r) {
      const int64_t to = offset + int64_t(k) * block + r, from = offset + perm[k] * block + r;
      if (dim == 0)
        for (int64_t j = 0; j < cols; ++j) p[to * cols + j] = old[from * cols + j];
      else
        for (int64_t i = 0; i < rows; ++i) p[i * cols + to] = old[i * cols + from];
    }
}
}  // namespace detail

// Reorders heads and neurons of every layer by decreasing importance (most important first).
template <class T>
void rewire(nn::Bert<T>& model, const Importance& imp) {
  const auto& c = model.config();
  const int64_t h = c.heads, dh = c.head_dim(), inner = h * dh;
  check(int64_t(imp.heads.size()) == c.layers && int64_t(imp.neurons.size()) == c.layers, "rewire",
        "importance has ", imp.heads.size(), " layers, the model ", c.layers);
  for (int64_t l = 0; l < c.layers; ++l) {
    auto& layer = model.encoder().layer(l);
    const auto hp = detail::descending(imp.heads[l]), np = detail::descending(imp.neurons[l]);
    check(int64_t(hp.size()) == h && int64_t(np.size()) == c.ffn, "rewire", "layer ", l, ": importance sizes ",
          hp.size(), "/", np.size(), " differ from heads ", h, " / ffn ", c.ffn);
    for (int64_t blk = 0; blk < 3; ++blk) {  // q, k, v
      detail::permute_blocks(layer.self_attn.in_proj_weight, 0, hp, dh, blk * inner);
      detail::permute_blocks(layer.self_attn.in_proj_bias, 0, hp, dh, blk * inner);
    }
    detail::permute_blocks(layer.self_attn.out_proj.weight, 1, hp, dh, 0);
    detail::permute_blocks(layer.linear1.weight, 0, np, 1, 0);
    detail::permute_blocks(layer.linear1.bias, 0, np, 1, 0);
    detail::permute_blocks(layer.linear2.weight, 1, np, 1, 0);
  }
}

struct DynaOptions {
  std::vector<double> widths{1.0, 0.75, 0.5, 0.25};
  std::vector<double> depths{1.0};  // stage 1: {1}; stage 2: {1, 0.75, 0.5}
  double hidden_weight = 1.0;       // λ_h of DynaBERT's hidden MSE
  bool ckd = false;                 // add CKD's relations (λ_ckd · ckd_loss) ...
  bool ckd_replaces = false;        // ... or, with this, use them instead of the hidden MSE
  double ckd_lambda = 1.0;          // λ_ckd
  losses::CkdWeights ckd_weights{1, 10, 1, 10};
  int64_t ckd_window = 21;
};

// Teacher hidden-state indices that a student at depth_mult aligns with: 0 (embeddings) and
// kept[i] + 1 for the kept layers.
template <class T>
std::vector<int64_t> depth_alignment(nn::Bert<T>& model, double depth_mult) {
  std::vector<int64_t> a{0};
  for (int64_t k : model.encoder().kept_layers(depth_mult)) a.push_back(k + 1);
  return a;
}

// Trains every sub-network of `student` against `teacher` (run at full size, frozen, on the fly).
template <class T>
TrainHistory train_dynabert(nn::Bert<T>& student, nn::Bert<T>& teacher, const TokenSet& train, const TokenSet& dev,
                            const TrainOptions& o, const DynaOptions& dy) {
  check(!dy.widths.empty() && !dy.depths.empty(), "train_dynabert", "need at least one width and one depth");
  check(student.config().hidden == teacher.config().hidden && student.config().layers == teacher.config().layers,
        "train_dynabert", "student and teacher must share the architecture (DynaBERT starts from the teacher)");
  auto named = student.named_parameters();
  const Device device = student.device();  // batches are made on the host, then moved
  check(teacher.device() == device, "train_dynabert", "teacher on ", teacher.device(), ", student on ", device,
        ": put both on one device");
  const std::vector<int64_t> lengths = lengths_of(train);
  teacher.eval();
  return train_loop<T>(
      student, named, train.size(), o,
      [&](const std::vector<int64_t>& idx, int64_t step) {
        Tensor<int64_t> ids = pad_batch(train, idx);
        Tensor<T> pad_host = nn::Bert<T>::padding_mask(ids), pad = pad_host.to(device);
        Tensor<T> valid = sub(Tensor<T>::ones(pad.shape()), pad_host).to(device);
        int64_t ntok = 0;
        for (int64_t i : idx) ntok += int64_t(train.ids[i].size());
        nn::EncoderOutput<T> tout;
        Tensor<T> tlogits;
        {
          NoGradGuard ng;
          nn::EncoderOptions<T> eo;
          eo.key_padding_mask = pad;
          eo.output_hidden_states = true;
          tout = teacher.encode(ids, eo);
          tlogits = teacher.classify(tout.last_hidden_state);
        }
        Tensor<T> total;
        int64_t sub_index = 0;
        for (double dm : dy.depths) {
          const std::vector<int64_t> al = depth_alignment(student, dm);
          std::vector<Tensor<T>> th;
          for (int64_t k : al) th.push_back(tout.hidden_states.at(k));
          Tensor<T> Ht = stack(th, 1);  // [B, L'+1, T, d]
          for (double wm : dy.widths) {
            student.seed_dropout(detail::step_seed(o.seed, step, 100 + uint64_t(sub_index++)));
            nn::EncoderOptions<T> eo;
            eo.key_padding_mask = pad;
            eo.output_hidden_states = true;
            eo.width_mult = wm;
            eo.depth_mult = dm;
            auto out = student.encode(ids, eo);
            Tensor<T> logits = student.classify(out.last_hidden_state);
            Tensor<T> loss = losses::soft_cross_entropy(logits, softmax(tlogits, -1), Reduction::mean);
            Tensor<T> Hs = stack(out.hidden_states, 1);  // [B, L'+1, T, d]
            if (!(dy.ckd && dy.ckd_replaces))
              loss = add(loss, mul_scalar(losses::hidden_mse_loss(Hs, Ht, valid), T(dy.hidden_weight)));
            if (dy.ckd)
              loss = add(loss, mul_scalar(losses::ckd_loss(Hs, Ht, valid, dy.ckd_weights, losses::WordTriple::window,
                                                           dy.ckd_window),
                                          T(dy.ckd_lambda)));
            total = total.defined() ? add(total, loss) : loss;
          }
        }
        return std::make_pair(total, ntok);
      },
      [&](EpochLog& log) {
        EvalResult r = evaluate(student, dev);  // the full-size network's dev accuracy
        log.dev_accuracy = r.accuracy;
        log.dev_macro_f1 = r.macro_f1;
      },
      &lengths);
}

// Parameters the sub-network (width_mult, depth_mult) runs with.
template <class T>
int64_t subnetwork_parameters(nn::Bert<T>& model, double width_mult, double depth_mult) {
  const auto& c = model.config();
  const nn::LayerWidth w = model.encoder().width(width_mult);
  const int64_t L = int64_t(model.encoder().kept_layers(depth_mult).size()), d = c.hidden, dh = c.head_dim();
  const int64_t inner = w.heads * dh;
  const int64_t per_layer = 3 * inner * d + 3 * inner + d * inner + d  // attention
                            + w.ffn * d + w.ffn + d * w.ffn + d        // FFN
                            + 4 * d;                                   // two LayerNorms
  int64_t total = model.num_parameters();
  int64_t full_layers = 0;
  for (int64_t l = 0; l < c.layers; ++l) full_layers += model.encoder().layer(l).num_parameters();
  return total - full_layers + L * per_layer;
}

// A standalone model holding only the sub-network's weights (heads keep their size).
template <class T>
std::unique_ptr<nn::Bert<T>> export_subnetwork(nn::Bert<T>& model, double width_mult, double depth_mult) {
  nn::BertConfig c = model.config();
  const nn::LayerWidth w = model.encoder().width(width_mult);
  const std::vector<int64_t> kept = model.encoder().kept_layers(depth_mult);
  const int64_t dh = c.head_dim(), inner_old = c.heads * dh, inner = w.heads * dh;
  nn::BertConfig s = c;
  s.head_size = dh;
  s.heads = w.heads;
  s.ffn = w.ffn;
  s.layers = int64_t(kept.size());
  Generator g(0);
  auto out = std::make_unique<nn::Bert<T>>(s, g);
  NoGradGuard ng;
  std::map<std::string, Tensor<T>> src = model.state_dict(), dst;
  for (const auto& kv : out->state_dict()) {
    const std::string& name = kv.first;
    if (name.rfind("encoder.layers.", 0) != 0) {
      dst[name] = src.at(name);
      continue;
    }
    // encoder.layers.<i>.<rest> <- encoder.layers.<kept[i]>.<rest>, sliced
    const size_t p0 = std::string("encoder.layers.").size(), p1 = name.find('.', p0);
    const int64_t i = std::stoll(name.substr(p0, p1 - p0));
    const std::string rest = name.substr(p1 + 1);
    Tensor<T> t = src.at("encoder.layers." + std::to_string(kept[i]) + "." + rest);
    if (rest == "self_attn.in_proj_weight" || rest == "self_attn.in_proj_bias") {
      std::vector<Tensor<T>> parts;
      for (int64_t b = 0; b < 3; ++b) parts.push_back(narrow(t, 0, b * inner_old, inner));
      t = cat(parts, 0);
    } else if (rest == "self_attn.out_proj.weight") {
      t = narrow(t, 1, 0, inner);
    } else if (rest == "linear1.weight" || rest == "linear1.bias") {
      t = narrow(t, 0, 0, w.ffn);
    } else if (rest == "linear2.weight") {
      t = narrow(t, 1, 0, w.ffn);
    }
    dst[name] = t.contiguous().clone();
  }
  out->load_state_dict(dst, true);
  return out;
}

}  // namespace distillery::methods
