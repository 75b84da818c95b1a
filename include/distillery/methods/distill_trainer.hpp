// methods/distill_trainer.hpp — train a student against a teacher's soft outputs: one driver for
// cross-entropy baselines, label smoothing, Beta smoothing (EMA teacher) and multi-generation
// self-distillation (Zhang & Sabuncu 2020, papers.md §5), or any other loss of the library.
//
// Pieces:
//   DistillLoss<T>       a named loss callable on one batch (student logits with a graph, labels,
//                        and, when the loss asks for them, the teacher's and/or an EMA model's
//                        detached logits and a generator). Ready-made: cross_entropy(),
//                        label_smoothing(ε), beta_smoothing(a, α), self_distillation(α, T);
//                        custom(name, fn, needs_teacher, needs_ema) wraps anything else.
//   TeacherLogits<T>     where teacher logits come from: a teacher Module run on the fly on each
//                        batch (eval mode, no graph), or a cache [N, C] of the logits on the
//                        training set indexed by example (precompute() builds it once).
//   train_distill(...)   SGD (or Adam) over mini-batches with a per-epoch schedule, an optional
//                        EMA copy of the student, per-epoch validation and model selection (the
//                        weights of the epoch with the best validation accuracy, as the
//                        reference). Returns the per-epoch history and the EMA model.
//   train_generations()  born-again chain: generation 0 on its loss, generation g > 0 from a
//                        fresh init against generation g − 1 (its logits cached or on the fly).
//   predict_logits(), evaluate_calibration()   accuracy, NLL, ECE (15 and 20 bins) and the
//                        reliability bins of a model or of logits (metrics/calibration.hpp).
//
//   auto loss = DistillLoss<float>::self_distillation(0.4, 4.0);        // α, T (no T²)
//   auto teacher = TeacherLogits<float>::precompute(gen0, x_train);    // or on_the_fly(gen0)
//   DistillOptions<float> o;  o.epochs = 20;  o.lr = 0.05;  o.milestones = {10, 15};
//   auto r = train_distill(student, x_train, y_train, loss, teacher, o, x_val, y_val);
//
// Conventions and contracts:
// * Inputs x [N, ...] and labels y [N] on the CPU; a model maps [B, ...] to logits [B, C].
//   Teacher and student may differ in architecture but must agree on C.
// * Cached teacher logits are the teacher's outputs on the untransformed training inputs. With
//   DistillOptions::transform (augmentation) an on-the-fly teacher sees the transformed batch
//   and a cache does not; without a transform both paths give the same training run.
// * EMA (Beta smoothing): the EMA model starts as a copy of the student; after optimizer step t
//   (t = 0, 1, ...) θ̃ ← d θ̃ + (1 − d) θ with d = optim::ramped_ema_decay(t, ema_max_decay) =
//   min(1 − 1/(t + 1), ema_max_decay), so the first
//   update copies θ. Its logits are computed in training mode without a graph, as the reference.
// * Randomness: shuffling follows DataLoader(seed); the loss generator (Beta samples) is
//   Generator(seed ^ kLossSeedMix). The same arguments give the same run for a fixed thread
//   count.
// * Errors: bad arguments throw distillery::Error naming train_distill, TeacherLogits,
//   train_generations or evaluate_calibration.
#pragma once
#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "../data/dataloader.hpp"
#include "../ops/inplace.hpp"
#include "../ops/loss.hpp"
#include "../losses/losses.hpp"
#include "../metrics/calibration.hpp"
#include "../nn/module.hpp"
#include "../optim/optim.hpp"

namespace distillery {

// ---- losses ---------------------------------------------------------------------------------

// What a loss sees for one mini-batch.
template <class T>
struct DistillBatch {
  Tensor<T> student_logits;  // [B, C], part of the graph
  Tensor<int64_t> labels;    // [B]
  Tensor<T> teacher_logits;  // [B, C], detached; defined iff the loss needs_teacher
  Tensor<T> ema_logits;      // [B, C], detached; defined iff the loss needs_ema
  Generator* gen = nullptr;  // the trainer's loss generator (stochastic targets)
  int64_t step = 0, epoch = 0;
};

template <class T>
struct DistillLoss {
  std::string name;
  std::function<Tensor<T>(const DistillBatch<T>&)> fn;  // returns a scalar loss
  bool needs_teacher = false;
  bool needs_ema = false;

  static DistillLoss custom(std::string name, std::function<Tensor<T>(const DistillBatch<T>&)> fn,
                            bool needs_teacher = false, bool needs_ema = false) {
    check(static_cast<bool>(fn), "DistillLoss", "loss '", name, "' has no function");
    return {std::move(name), std::move(fn), needs_teacher, needs_ema};
  }
  // CE(y, z), batch mean.
  static DistillLoss cross_entropy() {
    return custom("ce", [](const DistillBatch<T>& b) {
      return distillery::cross_entropy(b.student_logits, b.labels, Reduction::mean);
    });
  }
  // Soft CE against 1 − ε on the true class, ε/(K − 1) elsewhere (losses::label_smoothing_loss).
  static DistillLoss label_smoothing(double epsilon) {
    check(epsilon >= 0 && epsilon <= 1, "DistillLoss",
          "label smoothing epsilon must be in [0, 1], got ", epsilon);
    return custom("ls", [epsilon](const DistillBatch<T>& b) {
      return losses::label_smoothing_loss(b.student_logits, b.labels, epsilon);
    });
  }
  // (1 − α) CE + α soft CE against Beta(a, 1) targets rank-matched to the EMA model's confidence.
  static DistillLoss beta_smoothing(double a = 3.0, double alpha = 0.6) {
    check(a > 0 && alpha >= 0 && alpha <= 1, "DistillLoss",
          "beta smoothing needs a > 0 and alpha in [0, 1], got a = ", a, ", alpha = ", alpha);
    return custom(
        "beta",
        [a, alpha](const DistillBatch<T>& b) {
          Tensor<T> t = losses::beta_smoothing_targets(b.ema_logits, b.labels, a, *b.gen);
          return losses::beta_smoothing_loss(b.student_logits, b.labels, t, alpha);
        },
        false, true);
  }
  // (1 − α) CE(y, z) + α CE(softmax(v / T), z), no T² (losses::self_distillation_loss).
  static DistillLoss self_distillation(double alpha = 0.4, double temperature = 4.0) {
    check(alpha >= 0 && alpha <= 1 && temperature > 0, "DistillLoss",
          "self-distillation needs alpha in [0, 1] and temperature > 0, got alpha = ", alpha,
          ", T = ", temperature);
    return custom(
        "selfdistill",
        [alpha, temperature](const DistillBatch<T>& b) {
          return losses::self_distillation_loss(b.student_logits, b.teacher_logits, b.labels, alpha,
                                                temperature);
        },
        true, false);
  }
};

// ---- evaluation -----------------------------------------------------------------------------

// Logits [N, C] of `model` on x [N, ...], in eval mode, without a graph, `batch` rows at a time.
// The model's training flag is restored afterwards.
template <class T>
Tensor<T> predict_logits(nn::Module<T>& model, const Tensor<T>& x, int64_t batch = 1000,
                         bool eval_mode = true) {
  check(x.defined() && x.dim() >= 1, "predict_logits", "inputs must be [N, ...]");
  check(batch >= 1, "predict_logits", "batch must be >= 1, got ", batch);
  NoGradGuard ng;
  const bool was_training = model.is_training();
  model.train(!eval_mode);
  const int64_t N = x.shape()[0];
  std::vector<Tensor<T>> parts;
  for (int64_t s = 0; s < N; s += batch)
    parts.push_back(model.forward(narrow(x, 0, s, std::min(batch, N - s))).detach());
  model.train(was_training);
  check(!parts.empty(), "predict_logits", "no inputs (N = 0)");
  Tensor<T> out = parts.size() == 1 ? parts[0] : cat(parts, 0);
  check(out.dim() == 2 && out.shape()[0] == N, "predict_logits", "the model returned ", out.shape(),
        " for ", N, " inputs; expected logits [N, C]");
  return out.contiguous();
}

struct CalibrationReport {
  double accuracy = 0, nll = 0, ece15 = 0, ece20 = 0;
  std::vector<ReliabilityBin> bins;  // reliability diagram data (`bins` equal-width bins)
};

template <class T>
CalibrationReport evaluate_calibration(const Tensor<T>& logits, const Tensor<int64_t>& labels,
                                       int bins = 15) {
  check(logits.defined() && labels.defined() && logits.dim() == 2 && labels.dim() == 1 &&
            logits.shape()[0] == labels.shape()[0],
        "evaluate_calibration", "expected logits [N, C] and labels [N]");
  NoGradGuard ng;
  Tensor<T> p = softmax(logits.detach(), 1);
  CalibrationReport r;
  r.accuracy = accuracy(p, labels);
  r.nll = negative_log_likelihood(p, labels);
  r.ece15 = expected_calibration_error(p, labels, 15);
  r.ece20 = expected_calibration_error(p, labels, 20);
  r.bins = reliability(p, labels, bins);
  return r;
}

template <class T>
CalibrationReport evaluate_calibration(nn::Module<T>& model, const Tensor<T>& x,
                                       const Tensor<int64_t>& labels, int bins = 15,
                                       int64_t batch = 1000) {
  return evaluate_calibration(predict_logits(model, x, batch), labels, bins);
}

// ---- teacher logits -------------------------------------------------------------------------

template <class T>
class TeacherLogits {
 public:
  TeacherLogits() = default;  // no teacher

  // Runs `teacher` on every batch (eval mode, no graph). The teacher must outlive training.
  static TeacherLogits on_the_fly(nn::Module<T>& teacher) {
    TeacherLogits t;
    t.module_ = &teacher;
    return t;
  }
  // Shares ownership of the teacher.
  static TeacherLogits on_the_fly(std::shared_ptr<nn::Module<T>> teacher) {
    check(teacher != nullptr, "TeacherLogits", "teacher is null");
    TeacherLogits t = on_the_fly(*teacher);
    t.owned_ = std::move(teacher);
    return t;
  }
  // Logits [N, C] already computed on the N training examples, row i for example i.
  static TeacherLogits cached(Tensor<T> logits) {
    check(logits.defined() && logits.dim() == 2, "TeacherLogits", "cached logits must be [N, C]");
    TeacherLogits t;
    t.cache_ = logits.detach().contiguous();
    if (t.cache_.device() != Device::cpu) t.cache_ = t.cache_.to(Device::cpu);
    return t;
  }
  // Computes the teacher's logits on x [N, ...] once (eval mode) and caches them.
  static TeacherLogits precompute(nn::Module<T>& teacher, const Tensor<T>& x,
                                  int64_t batch = 1000) {
    return cached(predict_logits(teacher, x, batch));
  }

  bool defined() const { return module_ != nullptr || cache_.defined(); }
  bool is_cached() const { return cache_.defined(); }
  const Tensor<T>& cache() const { return cache_; }

  // Teacher logits [B, C] for a batch: the inputs (on the fly) or their example indices (cache).
  Tensor<T> logits(const Tensor<T>& inputs, const std::vector<int64_t>& indices) const {
    check(defined(), "TeacherLogits", "no teacher was given");
    if (is_cached()) return take_rows(cache_, indices);
    NoGradGuard ng;
    const bool was_training = module_->is_training();
    module_->eval();
    Tensor<T> z = module_->forward(inputs).detach();
    module_->train(was_training);
    return z;
  }

 private:
  nn::Module<T>* module_ = nullptr;
  std::shared_ptr<nn::Module<T>> owned_;
  Tensor<T> cache_;
};

// ---- training -------------------------------------------------------------------------------

enum class DistillOptimizer { sgd, adam };

struct EpochRecord {
  int64_t epoch = 0;         // 1-based
  double train_loss = 0;     // mean over the epoch's batches
  double lr = 0;             // learning rate used in this epoch
  double val_accuracy = -1;  // -1 without a validation set
  double val_nll = -1;
  double seconds = 0;  // since training started
};

template <class T>
struct DistillOptions {
  int64_t epochs = 10;
  int64_t batch_size = 128;
  uint64_t seed = 0;  // shuffling and the loss generator
  DistillOptimizer optimizer = DistillOptimizer::sgd;
  double lr = 0.1, momentum = 0.9, weight_decay = 1e-4;  // the reference's SGD
  bool nesterov = false;
  std::vector<int64_t> milestones;  // epochs at which lr ×= gamma (MultiStepLR, per epoch)
  double gamma = 0.1;
  bool cosine = false;           // cosine annealing to 0 over all epochs instead of milestones
  double ema_max_decay = 0.999;  // EMA model kept iff the loss needs_ema or keep_ema
  bool keep_ema = false;
  bool select_best = true;  // restore the epoch with the best validation accuracy
  int64_t eval_batch = 1000;
  // Train-time input transform (augmentation), applied to each batch before the forward passes.
  std::function<Tensor<T>(const Tensor<T>&, Generator&)> transform;
  // Called after every epoch (progress printing).
  std::function<void(const EpochRecord&)> on_epoch;
};

template <class T>
struct DistillResult {
  std::vector<EpochRecord> history;
  int64_t best_epoch = 0;  // 1-based; the last epoch when there is no selection
  double best_val_accuracy = -1;
  int64_t steps = 0;  // optimizer steps
  double seconds = 0;
  std::shared_ptr<nn::Module<T>> ema_model;  // null unless EMA was kept (at best_epoch)
};

namespace detail {
constexpr uint64_t kLossSeedMix = 0xB5EDull << 32 | 0x5EEDull;

template <class X>
struct non_deduced {
  using type = X;
};

template <class T>
std::map<std::string, Tensor<T>> snapshot(const nn::Module<T>& m) {
  std::map<std::string, Tensor<T>> s;
  for (auto& kv : m.state_dict()) s.emplace(kv.first, kv.second.clone());
  return s;
}
}  // namespace detail

// Trains `student` in place on (x, y) with `loss`; see the header comment. Validation data
// (x_val, y_val) is optional; without it the last epoch is kept.
template <class T>
DistillResult<T> train_distill(nn::Module<T>& student, const Tensor<T>& x, const Tensor<int64_t>& y,
                               const DistillLoss<T>& loss, const TeacherLogits<T>& teacher,
                               const DistillOptions<T>& opt, const Tensor<T>& x_val = {},
                               const Tensor<int64_t>& y_val = {}) {
  const char* op = "train_distill";
  check(x.defined() && y.defined() && x.dim() >= 1 && y.dim() == 1 && x.shape()[0] == y.shape()[0],
        op, "expected inputs [N, ...] and labels [N] with the same N");
  check(x.shape()[0] > 0, op, "no training examples");
  check(static_cast<bool>(loss.fn), op, "loss '", loss.name, "' has no function");
  check(opt.epochs >= 1 && opt.batch_size >= 1 && opt.eval_batch >= 1, op,
        "epochs, batch_size and eval_batch must be >= 1, got ", opt.epochs, ", ", opt.batch_size,
        ", ", opt.eval_batch);
  check(opt.lr > 0 && opt.momentum >= 0 && opt.weight_decay >= 0 && opt.gamma > 0, op,
        "need lr > 0, momentum >= 0, weight_decay >= 0, gamma > 0");
  check(opt.ema_max_decay >= 0 && opt.ema_max_decay <= 1, op,
        "ema_max_decay must be in [0, 1], got ", opt.ema_max_decay);
  check(!loss.needs_teacher || teacher.defined(), op, "loss '", loss.name,
        "' needs teacher logits, but no teacher was given");
  if (teacher.is_cached())
    check(teacher.cache().shape()[0] == x.shape()[0], op, "cached teacher logits have ",
          teacher.cache().shape()[0], " rows for ", x.shape()[0], " training examples");
  const bool has_val = x_val.defined();
  if (has_val)
    check(y_val.defined() && y_val.dim() == 1 && x_val.shape()[0] == y_val.shape()[0] &&
              x_val.shape()[0] > 0,
          op, "validation inputs [M, ...] and labels [M] must match and be non-empty");
  for (size_t i = 0; i < opt.milestones.size(); ++i)
    check(opt.milestones[i] > 0 && (i == 0 || opt.milestones[i] > opt.milestones[i - 1]), op,
          "milestones must be positive and increasing");

  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  std::unique_ptr<optim::Optimizer<T>> optimizer;
  if (opt.optimizer == DistillOptimizer::sgd) {
    optim::SGDOptions so;
    so.lr = opt.lr;
    so.momentum = opt.momentum;
    so.weight_decay = opt.weight_decay;
    so.nesterov = opt.nesterov;
    optimizer = std::make_unique<optim::SGD<T>>(student.parameters(), so);
  } else {
    optim::AdamOptions ao;
    ao.lr = opt.lr;
    ao.weight_decay = opt.weight_decay;
    optimizer = std::make_unique<optim::AdamW<T>>(student.parameters(), ao);
  }
  std::unique_ptr<optim::LRScheduler<T>> sched;
  if (opt.cosine)
    sched = std::make_unique<optim::CosineAnnealingLR<T>>(*optimizer, opt.epochs);
  else if (!opt.milestones.empty())
    sched = std::make_unique<optim::MultiStepLR<T>>(*optimizer, opt.milestones, opt.gamma);

  DistillResult<T> res;
  const bool use_ema = loss.needs_ema || opt.keep_ema;
  std::shared_ptr<nn::Module<T>> ema;
  if (use_ema) {
    ema = student.clone();
    ema->requires_grad_(false);
  }
  DataLoaderOptions lo;
  lo.batch_size = opt.batch_size;
  lo.seed = opt.seed;
  DataLoader<T> loader(x, y, lo);
  Generator loss_gen(opt.seed ^ detail::kLossSeedMix), aug_gen(opt.seed ^ 0xA06ull);
  std::map<std::string, Tensor<T>> best, best_ema;
  student.train();
  for (int64_t e = 0; e < opt.epochs; ++e) {
    EpochRecord rec;
    rec.epoch = e + 1;
    rec.lr = optimizer->lr();
    double loss_sum = 0;
    int64_t batches = 0;
    for (const auto& b : loader.epoch(e)) {
      Tensor<T> xb = opt.transform ? opt.transform(b.inputs, aug_gen) : b.inputs;
      DistillBatch<T> db;
      db.labels = b.labels;
      db.gen = &loss_gen;
      db.step = res.steps;
      db.epoch = e;
      if (loss.needs_teacher) db.teacher_logits = teacher.logits(xb, b.indices);
      if (loss.needs_ema) {
        NoGradGuard ng;
        db.ema_logits = ema->forward(xb).detach();  // training mode, as the reference
      }
      db.student_logits = student.forward(xb);
      check(db.student_logits.dim() == 2 && db.student_logits.shape()[0] == b.labels.shape()[0], op,
            "the student returned ", db.student_logits.shape(), " for a batch of ",
            b.labels.shape()[0], "; expected logits [B, C]");
      if (db.teacher_logits.defined())
        check(db.teacher_logits.shape() == db.student_logits.shape(), op, "teacher logits ",
              db.teacher_logits.shape(), " do not match student logits ",
              db.student_logits.shape());
      Tensor<T> l = loss.fn(db);
      check(l.defined() && l.numel() == 1, op, "loss '", loss.name, "' must return a scalar");
      optimizer->zero_grad();
      l.backward();
      optimizer->step();
      if (ema) {
        optim::ema_update(*ema, student, optim::ramped_ema_decay(res.steps, opt.ema_max_decay));
      }
      ++res.steps;
      loss_sum += double(l.item());
      ++batches;
    }
    if (sched) sched->step();
    rec.train_loss = loss_sum / double(batches);
    if (has_val) {
      Tensor<T> zv = predict_logits(student, x_val, opt.eval_batch);
      NoGradGuard ng;
      Tensor<T> pv = softmax(zv, 1);
      rec.val_accuracy = accuracy(pv, y_val);
      rec.val_nll = negative_log_likelihood(pv, y_val);
      if (opt.select_best && rec.val_accuracy > res.best_val_accuracy) {
        res.best_val_accuracy = rec.val_accuracy;
        res.best_epoch = rec.epoch;
        best = detail::snapshot(student);
        if (ema) best_ema = detail::snapshot(*ema);
      }
    }
    rec.seconds = elapsed();
    res.history.push_back(rec);
    if (opt.on_epoch) opt.on_epoch(rec);
  }
  if (has_val && opt.select_best) {
    student.load_state_dict(best);
    if (ema) ema->load_state_dict(best_ema);
  } else {
    res.best_epoch = opt.epochs;
    res.best_val_accuracy = res.history.back().val_accuracy;
  }
  res.ema_model = ema;
  res.seconds = elapsed();
  return res;
}

// ---- generations ----------------------------------------------------------------------------

template <class T>
struct Generation {
  std::shared_ptr<nn::Module<T>> model;
  DistillResult<T> result;  // empty history for a generation 0 passed in
};

template <class T>
using ModelFactory = std::function<std::shared_ptr<nn::Module<T>>(Generator&)>;

// Born-again chain of `generations` models (generation 0 included). Generation g is built by
// make(Generator(seed + g)) and trained with `first` (g = 0) or `later` (g > 0, teacher =
// generation g − 1: its logits on x cached once when cache_teacher, else computed per batch).
// opt.seed + g seeds generation g's shuffling. A trained generation 0 may be passed in
// (`generation0`); `on_generation(g, generation)` is called after each one.
template <class T>
std::vector<Generation<T>> train_generations(
    const typename detail::non_deduced<ModelFactory<T>>::type& make, int64_t generations,
    const DistillLoss<T>& first, const DistillLoss<T>& later, const Tensor<T>& x,
    const Tensor<int64_t>& y, const DistillOptions<T>& opt, const Tensor<T>& x_val = {},
    const Tensor<int64_t>& y_val = {}, bool cache_teacher = true,
    typename detail::non_deduced<std::shared_ptr<nn::Module<T>>>::type generation0 = nullptr,
    const typename detail::non_deduced<std::function<void(int64_t, const Generation<T>&)>>::type&
        on_generation = nullptr) {
  check(static_cast<bool>(make), "train_generations", "no model factory");
  check(generations >= 1, "train_generations", "generations must be >= 1, got ", generations);
  check(!first.needs_teacher, "train_generations", "generation 0's loss '", first.name,
        "' needs a teacher, but generation 0 has none");
  std::vector<Generation<T>> out;
  for (int64_t g = 0; g < generations; ++g) {
    Generation<T> gen;
    if (g == 0 && generation0) {
      gen.model = generation0;
    } else {
      Generator init(opt.seed + static_cast<uint64_t>(g));
      gen.model = make(init);
      check(gen.model != nullptr, "train_generations", "the model factory returned null");
      DistillOptions<T> o = opt;
      o.seed = opt.seed + static_cast<uint64_t>(g);
      TeacherLogits<T> teacher;
      if (g > 0)
        teacher = cache_teacher ? TeacherLogits<T>::precompute(*out.back().model, x, opt.eval_batch)
                                : TeacherLogits<T>::on_the_fly(out.back().model);
      gen.result =
          train_distill(*gen.model, x, y, g == 0 ? first : later, teacher, o, x_val, y_val);
    }
    out.push_back(gen);
    if (on_generation) on_generation(g, out.back());
  }
  return out;
}

}  // namespace distillery
