// methods/bert_distill.hpp — the mini-BERT pipeline of the CKD experiments: masked-LM
// pre-training, fine-tuning, and task-specific distillation with every baseline CKD is compared
// against (Park, Kim, Yang 2021; papers.md §1).
//
//   TokenSet                     token-id sequences ([CLS] … [SEP], no padding) + labels
//   mask_tokens(ids, V, gen)     BERT masking: 15% of the real tokens; of those 80% [MASK], 10% a
//                                random token, 10% unchanged; at least one per batch
//   pretrain_mlm(model, corpus, opts)        MLM loss on the masked positions only, on the model's
//                                            device (batches are built on the host and moved)
//   train_task(student, train, dev, opts, method, teacher or cache)
//       Method::finetune   CE(y)                                     (no teacher)
//              kd         (1 − α) CE + α T² KL(p_T ‖ q_T)            (Hinton; batchmean)
//              pkd        kd + β · pkd_loss(CLS of the aligned intermediate layers)
//              tinybert   kd + γ_h · hidden_mse(W·H_s, H_t) + γ_a · attention_mse(Ā_s, Ā_t)
//              ckd        CE + λ · ckd_loss(H_s, H_t, mask, (wr_pair, wr_triple, ltr_pair, ltr_triple))
//              ckd_kd     the reference: ckd_logit_loss (soft-CE at T, no CE) + λ · ckd_loss(…);
//                         Hinton's kd + λ · ckd_loss with DistillConfig::ckd_kd_form = hinton
//     Layers are aligned by losses::layer_alignment (default emb+skip, as CKD). PKD uses the
//     aligned layers other than the embedding and the last; TinyBERT all of them (layer 0 = its
//     embedding loss) and the attention maps of the aligned layers ≥ 1, averaged over heads
//     (teacher and student may have different head counts). Where widths differ, PKD and TinyBERT
//     learn a projection W [dt, ds] (trained with the student); CKD needs none.
//   TeacherCache::build(teacher, train, alignment)   logits, aligned hidden states and head-
//                                averaged attention maps of every training example, computed once
//                                (eval mode, no graph), so distillation runs skip the teacher
//   evaluate(model, set)          accuracy and macro-F1
//
// Reproducibility and resumption: every random choice of step t (the shuffled order of epoch e,
// the dropout masks, the MLM masks) is a function of (seed, e or t) only; a checkpoint written at
// the end of an epoch (model, optimizer moments, epoch and step in the metadata) therefore
// resumes to the same bits as an uninterrupted run with the same thread count.
// The learning rate follows linear warm-up (warmup_frac of the steps) then linear decay to 0;
// AdamW (β 0.9/0.999, ε 1e-8 … decay on matrices only), gradient-norm clipping.
// Split out: data/token_batches.hpp (TokenSet, padding, epoch batches, MLM masking) and
// methods/train_loop.hpp (options, history, resumable checkpoint state, train_loop).
#pragma once
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "../data/token_batches.hpp"
#include "../io/cli.hpp"
#include "../io/safetensors.hpp"
#include "../losses/losses.hpp"
#include "../nn/bert.hpp"
#include "../nn/checkpoint.hpp"
#include "../optim/optim.hpp"
#include "train_loop.hpp"

namespace distillery::methods {

// ---- data (data/token_batches.hpp) ---------------------------------------------------------
using data::epoch_batches;
using data::epoch_order;
using data::kClsId;
using data::kMaskId;
using data::kNumSpecial;
using data::kPadId;
using data::kSepId;
using data::kUnkId;
using data::length_order;
using data::lengths_of;
using data::mask_tokens;
using data::MlmBatch;
using data::pad_batch;
using data::TokenSet;

// ---- pre-training ---------------------------------------------------------------------------
template <class T>
TrainHistory pretrain_mlm(nn::Bert<T>& model, const TokenSet& corpus, const TrainOptions& o) {
  const int64_t V = model.config().vocab_size;
  auto named = model.named_parameters();
  const Device dev = model.device();  // batches are made on the host, then moved
  const std::vector<int64_t> lengths = lengths_of(corpus);
  return train_loop<T>(
      model, named, corpus.size(), o,
      [&](const std::vector<int64_t>& idx, int64_t step) {
        model.seed_dropout(detail::step_seed(o.seed, step, 1));
        Generator g(detail::step_seed(o.seed, step, 2));
        Tensor<int64_t> ids = pad_batch(corpus, idx);
        MlmBatch mb = mask_tokens(ids, V, g);
        nn::EncoderOptions<T> eo;
        eo.key_padding_mask = nn::Bert<T>::padding_mask(ids).to(dev);
        Tensor<T> h = model.encode(mb.input.to(dev), eo).last_hidden_state;  // [B, T, d]
        const int64_t d = h.size(2);
        Tensor<T> hm = index_select(reshape(h, Shape{-1, d}), 0, mb.positions.to(dev));  // [M, d]
        Tensor<T> loss = cross_entropy(model.mlm_logits(hm), mb.targets.to(dev));
        int64_t ntok = 0;
        for (int64_t i : idx) ntok += static_cast<int64_t>(corpus.ids[i].size());
        return std::make_pair(loss, ntok);
      },
      nullptr, &lengths);
}

// ---- evaluation -----------------------------------------------------------------------------
struct EvalResult {
  double accuracy = 0, macro_f1 = 0;
  std::vector<int64_t> predictions;
};

inline EvalResult score(const std::vector<int64_t>& pred, const std::vector<int64_t>& gold, int64_t classes) {
  check(pred.size() == gold.size() && !gold.empty(), "score", "need as many predictions (", pred.size(),
        ") as labels (", gold.size(), "), and at least one");
  std::vector<double> tp(classes, 0), fp(classes, 0), fn(classes, 0);
  int64_t correct = 0;
  for (size_t i = 0; i < gold.size(); ++i) {
    if (pred[i] == gold[i]) { ++correct; tp[gold[i]] += 1; }
    else { fp[pred[i]] += 1; fn[gold[i]] += 1; }
  }
  double f1 = 0;
  int64_t present = 0;
  for (int64_t c = 0; c < classes; ++c) {
    if (tp[c] + fn[c] == 0 && fp[c] == 0) continue;  // class absent from gold and predictions
    ++present;
    const double denom = 2 * tp[c] + fp[c] + fn[c];
    f1 += denom > 0 ? 2 * tp[c] / denom : 0;
  }
  EvalResult r;
  r.accuracy = double(correct) / double(gold.size());
  r.macro_f1 = present ? f1 / double(present) : 0;
  r.predictions = pred;
  return r;
}

template <class T>
Tensor<T> predict_logits(nn::Bert<T>& model, const TokenSet& set, int64_t batch = 64, double width = 1.0,
                         double depth = 1.0) {
  NoGradGuard ng;
  const bool was = model.is_training();
  model.eval();
  const int64_t C = model.config().num_labels;
  Tensor<T> out = Tensor<T>::zeros({set.size(), C});
  const std::vector<int64_t> order = length_order(set);  // batches of similar length: less padding
  for (int64_t b0 = 0; b0 < set.size(); b0 += batch) {
    std::vector<int64_t> idx(order.begin() + b0, order.begin() + std::min(set.size(), b0 + batch));
    Tensor<T> lg = model.forward_logits(pad_batch(set, idx), width, depth).to(Device::cpu).contiguous();
    for (size_t b = 0; b < idx.size(); ++b)
      std::copy(lg.data_ptr() + b * C, lg.data_ptr() + (b + 1) * C, out.data_ptr() + idx[b] * C);
  }
  model.train(was);
  return out;
}

template <class T>
EvalResult evaluate(nn::Bert<T>& model, const TokenSet& set, double width = 1.0, double depth = 1.0) {
  Tensor<T> lg = predict_logits(model, set, 64, width, depth);
  const int64_t C = lg.size(1);
  std::vector<int64_t> pred(set.size());
  const T* p = lg.data_ptr();
  for (int64_t i = 0; i < set.size(); ++i)
    pred[i] = std::max_element(p + i * C, p + (i + 1) * C) - (p + i * C);
  return score(pred, set.labels, C);
}

// ---- task training and distillation ---------------------------------------------------------
enum class Method { finetune, kd, pkd, tinybert, ckd, ckd_kd };

inline const char* method_name(Method m) {
  switch (m) {
    case Method::finetune: return "finetune";
    case Method::kd: return "kd";
    case Method::pkd: return "pkd";
    case Method::tinybert: return "tinybert";
    case Method::ckd: return "ckd";
    case Method::ckd_kd: return "ckd_kd";
  }
  return "?";
}
inline Method parse_method(const std::string& s) {
  for (Method m : {Method::finetune, Method::kd, Method::pkd, Method::tinybert, Method::ckd, Method::ckd_kd})
    if (s == method_name(m)) return m;
  fail("parse_method", "unknown method '", s, "' (finetune, kd, pkd, tinybert, ckd, ckd_kd)");
}

// The logit term: Hinton's (1 − α) CE + α T² KL, or the CKD reference's DistillKL (soft-CE at T,
// no T², no CE: losses::ckd_logit_loss).
enum class KdForm { hinton, reference };
inline KdForm parse_kd_form(const std::string& s) {
  if (s == "hinton") return KdForm::hinton;
  if (s == "reference") return KdForm::reference;
  fail("parse_kd_form", "unknown KD form '", s, "' (hinton, reference)");
}

struct DistillConfig {
  double alpha = 0.5, temperature = 4.0;  // KD: (1 − α) CE + α T² KL
  KdForm kd_form = KdForm::hinton;        // kd, pkd, tinybert
  KdForm ckd_kd_form = KdForm::reference; // ckd_kd: the reference's objective
  double pkd_beta = 100.0;                // PKD weight (reference: 10…1000 with MSE-mean)
  double tiny_hidden = 1.0, tiny_attention = 1.0;
  double ckd_lambda = 1.0;                // multiplies ckd_loss
  losses::CkdWeights ckd_weights{1, 10, 1, 10};
  int64_t ckd_window = 21;
  losses::AlignmentStrategy alignment = losses::AlignmentStrategy::emb_skip;
};

inline bool uses_hidden(Method m) { return m == Method::pkd || m == Method::tinybert || m == Method::ckd || m == Method::ckd_kd; }
inline bool uses_teacher(Method m) { return m != Method::finetune; }

// Everything the student's losses read from the teacher, per training example.
template <class T>
struct TeacherCache {
  std::vector<int64_t> teacher_layers;            // aligned teacher hidden-state indices
  std::vector<std::vector<T>> logits;             // [C]
  std::vector<std::vector<T>> hidden;             // [La, len, dt] row-major
  std::vector<std::vector<T>> attention;          // [La − 1, len, len] (aligned layers ≥ 1), head-averaged
  int64_t classes = 0, width = 0;
  bool with_attention = false;

  static TeacherCache build(nn::Bert<T>& teacher, const TokenSet& set, const std::vector<int64_t>& layers,
                            bool hidden_states, bool attentions, int64_t batch = 64) {
    NoGradGuard ng;
    const bool was = teacher.is_training();
    teacher.eval();
    TeacherCache c;
    c.teacher_layers = layers;
    c.classes = teacher.config().num_labels;
    c.width = teacher.config().hidden;
    c.with_attention = attentions;
    c.logits.resize(set.size());
    if (hidden_states) c.hidden.resize(set.size());
    if (attentions) c.attention.resize(set.size());
    const std::vector<int64_t> order = length_order(set);
    for (int64_t b0 = 0; b0 < set.size(); b0 += batch) {
      std::vector<int64_t> idx(order.begin() + b0, order.begin() + std::min(set.size(), b0 + batch));
      Tensor<int64_t> ids = pad_batch(set, idx);
      nn::EncoderOptions<T> eo;
      eo.output_hidden_states = hidden_states;
      eo.output_attentions = attentions;
      auto out = teacher.encode(ids, eo);
      Tensor<T> lg = teacher.classify(out.last_hidden_state).to(Device::cpu).contiguous();
      const int64_t Tn = ids.size(1), d = c.width;
      std::vector<Tensor<T>> hs, as;
      for (int64_t l : layers) {
        if (hidden_states) hs.push_back(out.hidden_states.at(l).to(Device::cpu).contiguous());
        if (attentions && l >= 1)
          as.push_back(mean(out.attentions.at(l - 1), {1}).to(Device::cpu).contiguous());  // [B, T, T]
      }
      for (size_t b = 0; b < idx.size(); ++b) {
        const int64_t i = idx[b], len = static_cast<int64_t>(set.ids[i].size());
        c.logits[i].assign(lg.data_ptr() + b * c.classes, lg.data_ptr() + (b + 1) * c.classes);
        if (hidden_states) {
          auto& v = c.hidden[i];
          v.resize(layers.size() * len * d);
          for (size_t k = 0; k < hs.size(); ++k)
            std::copy(hs[k].data_ptr() + (b * Tn) * d, hs[k].data_ptr() + (b * Tn + len) * d, v.data() + k * len * d);
        }
        if (attentions) {
          auto& v = c.attention[i];
          v.assign(as.size() * len * len, T(0));
          for (size_t k = 0; k < as.size(); ++k)
            for (int64_t r = 0; r < len; ++r)
              std::copy(as[k].data_ptr() + (b * Tn + r) * Tn, as[k].data_ptr() + (b * Tn + r) * Tn + len,
                        v.data() + (k * len + r) * len);
        }
      }
    }
    teacher.train(was);
    return c;
  }
  // Batch views, padded to Tn with zeros: logits [B, C], hidden [B, La, Tn, dt], attention [B, La−1, Tn, Tn].
  Tensor<T> batch_logits(const std::vector<int64_t>& idx) const {
    Tensor<T> o = Tensor<T>::zeros({int64_t(idx.size()), classes});
    for (size_t b = 0; b < idx.size(); ++b) std::copy(logits[idx[b]].begin(), logits[idx[b]].end(), o.data_ptr() + b * classes);
    return o;
  }
  Tensor<T> batch_hidden(const TokenSet& set, const std::vector<int64_t>& idx, int64_t Tn) const {
    const int64_t La = int64_t(teacher_layers.size()), d = width;
    Tensor<T> o = Tensor<T>::zeros({int64_t(idx.size()), La, Tn, d});
    for (size_t b = 0; b < idx.size(); ++b) {
      const int64_t len = int64_t(set.ids[idx[b]].size());
      const auto& v = hidden[idx[b]];
      for (int64_t k = 0; k < La; ++k)
        std::copy(v.begin() + k * len * d, v.begin() + (k + 1) * len * d, o.data_ptr() + ((b * La + k) * Tn) * d);
    }
    return o;
  }
  Tensor<T> batch_attention(const TokenSet& set, const std::vector<int64_t>& idx, int64_t Tn) const {
    const int64_t La = int64_t(teacher_layers.size()) - (teacher_layers.front() == 0 ? 1 : 0);
    Tensor<T> o = Tensor<T>::zeros({int64_t(idx.size()), La, Tn, Tn});
    for (size_t b = 0; b < idx.size(); ++b) {
      const int64_t len = int64_t(set.ids[idx[b]].size());
      const auto& v = attention[idx[b]];
      for (int64_t k = 0; k < La; ++k)
        for (int64_t r = 0; r < len; ++r)
          std::copy(v.begin() + (k * len + r) * len, v.begin() + (k * len + r + 1) * len,
                    o.data_ptr() + ((b * La + k) * Tn + r) * Tn);
    }
    return o;
  }
  size_t bytes() const {
    size_t n = 0;
    for (const auto& v : logits) n += v.size();
    for (const auto& v : hidden) n += v.size();
    for (const auto& v : attention) n += v.size();
    return n * sizeof(T);
  }
};

struct TaskResult {
  TrainHistory history;
  EvalResult dev, test;
  double teacher_cache_seconds = 0;
};

// The training loss of one batch `idx` of `train` for `method`, in the student's current mode
// (train() with seeded dropout in train_task; eval() in tests). `s_layers`: the student layers
// aligned with the cache's teacher layers (layer_alignment(...).second; empty when the method uses
// no hidden states); `project` maps the student width to the teacher's (PKD/TinyBERT).
// Logit term: CE for finetune/ckd; DistillConfig::ckd_kd_form for ckd_kd; kd_form otherwise.
template <class T, class Project>
Tensor<T> distill_loss(nn::Bert<T>& student, const TokenSet& train, const std::vector<int64_t>& idx, Method method,
                       const DistillConfig& dc, const TeacherCache<T>* cache, const std::vector<int64_t>& s_layers,
                       const Project& project) {
  check(!uses_teacher(method) || cache != nullptr, "distill_loss", method_name(method), " needs a teacher cache");
  const Device device = student.device();
  Tensor<int64_t> ids = pad_batch(train, idx);
  const int64_t Tn = ids.size(1);
  std::vector<int64_t> yl;
  for (int64_t i : idx) yl.push_back(train.labels[i]);
  Tensor<int64_t> y = Tensor<int64_t>::from_vector(yl).to(device);
  Tensor<T> pad_host = nn::Bert<T>::padding_mask(ids), pad = pad_host.to(device);
  nn::EncoderOptions<T> eo;
  eo.key_padding_mask = pad;
  eo.output_hidden_states = uses_hidden(method);
  eo.output_attentions = method == Method::tinybert;
  auto out = student.encode(ids, eo);
  Tensor<T> logits = student.classify(out.last_hidden_state);
  Tensor<T> loss;
  if (method == Method::finetune || method == Method::ckd) {
    loss = cross_entropy(logits, y);
  } else if ((method == Method::ckd_kd ? dc.ckd_kd_form : dc.kd_form) == KdForm::reference) {
    loss = losses::ckd_logit_loss(logits, cache->batch_logits(idx).to(device), dc.temperature);
  } else {
    loss = losses::kd_with_cross_entropy(logits, cache->batch_logits(idx).to(device), y, dc.alpha, dc.temperature,
                                         Reduction::batchmean, losses::TemperatureScale::t_squared);
  }
  if (uses_hidden(method)) {
    Tensor<T> valid = sub(Tensor<T>::ones(pad.shape()), pad_host).to(device);  // [B, T], 1 = real
    std::vector<Tensor<T>> sh;
    for (int64_t l : s_layers) sh.push_back(out.hidden_states.at(l));
    Tensor<T> Hs = stack(sh, 1);                          // [B, La, T, ds]
    Tensor<T> Ht = cache->batch_hidden(train, idx, Tn).to(device);  // [B, La, T, dt]
    const int64_t La = Hs.size(1);
    if (method == Method::pkd) {
      // aligned layers other than the embedding and the last
      std::vector<Tensor<T>> cs, ct;
      for (int64_t k = 0; k < La; ++k) {
        if (s_layers[k] == 0 || k == La - 1) continue;
        cs.push_back(select(select(Hs, 1, k), 1, 0));  // [B, ds]
        ct.push_back(select(select(Ht, 1, k), 1, 0));
      }
      if (!cs.empty()) loss = add(loss, mul_scalar(losses::pkd_loss(project(stack(cs, 1)), stack(ct, 1)), T(dc.pkd_beta)));
    } else if (method == Method::tinybert) {
      loss = add(loss, mul_scalar(losses::hidden_mse_loss(project(Hs), Ht, valid), T(dc.tiny_hidden)));
      std::vector<Tensor<T>> as;
      for (int64_t l : s_layers)
        if (l >= 1) as.push_back(mean(out.attentions.at(l - 1), {1}));  // [B, T, T]
      if (!as.empty()) {
        Tensor<T> At = cache->batch_attention(train, idx, Tn).to(device);
        loss = add(loss, mul_scalar(losses::attention_mse_loss(stack(as, 1), At, valid), T(dc.tiny_attention)));
      }
    } else {
      loss = add(loss, mul_scalar(losses::ckd_loss(Hs, Ht, valid, dc.ckd_weights, losses::WordTriple::window,
                                                   dc.ckd_window),
                                  T(dc.ckd_lambda)));
    }
  }
  return loss;
}

namespace detail {
inline std::string exact(double v) {  // round-trips through std::stod
  char b[40];
  std::snprintf(b, sizeof b, "%.17g", v);
  return b;
}
}  // namespace detail

// Trains `student` (a Bert with num_labels > 0) on a task with one of the methods. `cache` holds
// the teacher's outputs on `train` (TeacherCache::build with the alignment's teacher layers); it
// may be null for Method::finetune.
template <class T>
TrainHistory train_task(nn::Bert<T>& student, const TokenSet& train, const TokenSet& dev, const TrainOptions& o,
                        Method method, const DistillConfig& dc, const TeacherCache<T>* cache,
                        int64_t teacher_layers_total = 0) {
  check(student.config().num_labels > 0 && int64_t(train.labels.size()) == train.size(), "train_task",
        "the student needs a classifier and every training example a label");
  check(!uses_teacher(method) || cache != nullptr, "train_task", method_name(method), " needs a teacher cache");
  const int64_t Ls = student.config().layers;
  std::vector<int64_t> s_layers;
  if (uses_teacher(method) && uses_hidden(method)) {
    auto al = losses::layer_alignment(teacher_layers_total + 1, Ls + 1, dc.alignment);
    check(al.first == cache->teacher_layers, "train_task", "the cache holds teacher layers that differ from the alignment");
    s_layers = al.second;
  }
  const int64_t ds = student.config().hidden, dt = cache ? cache->width : ds;
  // PKD/TinyBERT projection when widths differ: trained with the student.
  std::shared_ptr<nn::Linear<T>> proj;
  Generator pg(o.seed ^ 0x5A5A5A5Aull);
  auto named = student.named_parameters();
  const Device device = student.device();  // batches are made on the host, then moved
  if ((method == Method::pkd || method == Method::tinybert) && ds != dt) {
    proj = std::make_shared<nn::Linear<T>>(ds, dt, pg);
    proj->to(device);
  }
  if (proj)
    for (auto& kv : proj->named_parameters()) named.push_back({"proj." + kv.first, kv.second});
  auto project = [&](const Tensor<T>& h) { return proj ? proj->forward(h) : h; };
  const std::vector<int64_t> lengths = lengths_of(train);
  // Best-dev selection: the best epoch's weights, in memory and (with a checkpoint) on disk.
  std::map<std::string, Tensor<T>> best;
  int64_t best_epoch = -1;
  double best_acc = -1;
  const std::string best_path = o.checkpoint.empty() ? std::string() : o.checkpoint + ".best.safetensors";
  if (o.keep_best_dev && !best_path.empty()) {
    Metadata meta;
    if (o.resume && std::ifstream(best_path).good()) {
      load_safetensors(best_path, &meta);
      best_epoch = std::stoll(meta.at("epoch"));
      best_acc = std::stod(meta.at("dev_accuracy"));
    } else {
      std::remove(best_path.c_str());  // a fresh run: an older file is stale
    }
  }
  const bool from_disk = best_epoch >= 0;

  TrainHistory h = train_loop<T>(
      student, named, train.size(), o,
      [&](const std::vector<int64_t>& idx, int64_t step) {
        student.seed_dropout(detail::step_seed(o.seed, step, 1));
        int64_t ntok = 0;
        for (int64_t i : idx) ntok += int64_t(train.ids[i].size());
        Tensor<T> loss = distill_loss(student, train, idx, method, dc, cache, s_layers, project);
        return std::make_pair(loss, ntok);
      },
      [&](EpochLog& log) {
        EvalResult r = evaluate(student, dev);
        log.dev_accuracy = r.accuracy;
        log.dev_macro_f1 = r.macro_f1;
        if (!o.keep_best_dev || !(r.accuracy > best_acc)) return;
        best_acc = r.accuracy;
        best_epoch = log.epoch;
        best.clear();
        for (auto& kv : student.state_dict()) best.emplace(kv.first, kv.second.clone());
        if (!best_path.empty())
          nn::save_checkpoint(best_path, student,
                              {{"epoch", std::to_string(best_epoch)}, {"dev_accuracy", detail::exact(best_acc)}});
      },
      &lengths);
  if (o.keep_best_dev && best_epoch >= 0) {
    if (!best.empty()) student.load_state_dict(best);
    else if (from_disk) nn::load_checkpoint(best_path, student);
    h.best_epoch = best_epoch;
    h.best_dev_accuracy = best_acc;
  }
  return h;
}

}  // namespace distillery::methods
