// methods/train_loop.hpp — the training loop of the mini-BERT pipeline (methods/bert_distill.hpp,
// methods/dynabert.hpp) and its state: options, per-epoch log, history, and the checkpoint that
// holds model, AdamW moments, position (epoch, batch, step) and history, so a run resumes to the
// same bits. AdamW (decay on matrices only), optim::WarmupLinear, gradient-norm clipping,
// seeded (optionally length-bucketed) batches from data/token_batches.hpp.
#pragma once
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "../data/token_batches.hpp"
#include "../io/cli.hpp"
#include "../io/safetensors.hpp"
#include "../nn/checkpoint.hpp"
#include "../nn/module.hpp"
#include "../optim/optim.hpp"

namespace distillery::methods {

using data::epoch_batches;

// ---- optimisation --------------------------------------------------------------------------
struct TrainOptions {
  int64_t epochs = 3;
  int64_t batch_size = 32;
  double lr = 1e-4;
  double warmup_frac = 0.1;
  double weight_decay = 0.01;
  double clip = 1.0;
  uint64_t seed = 1;
  bool verbose = true;
  std::string label = "train";
  std::string checkpoint;     // written atomically at the end of every epoch when set
  bool resume = false;        // continue from `checkpoint` when it exists
  int64_t max_steps = 0;      // stop early after this many steps (smoke runs); 0 = all
  bool keep_best_dev = false; // train_task: end with the weights of the epoch with the best dev
                              // accuracy (the first of ties); <checkpoint>.best.safetensors keeps
                              // them across a resume
  bool bucket = true;         // length-bucketed batches (epoch_batches), far less padding
  int64_t checkpoint_every = 0;  // also checkpoint every this many steps inside an epoch (0 = only at epoch ends)
};

struct EpochLog {
  int64_t epoch = 0;
  double loss = 0;             // mean training loss
  double dev_accuracy = -1, dev_macro_f1 = -1;
  double seconds = 0, tokens_per_second = 0;
};

struct TrainHistory {
  std::vector<EpochLog> epochs;
  int64_t best_epoch = -1;     // keep_best_dev: the epoch whose weights the model ends with
  double best_dev_accuracy = -1;
  double seconds = 0;
  int64_t steps = 0;
};

namespace detail {
template <class T>
std::unique_ptr<optim::AdamW<T>> make_adamw(const std::vector<std::pair<std::string, Tensor<T>>>& named,
                                           const TrainOptions& o) {
  optim::AdamOptions ao;
  ao.lr = o.lr;
  ao.weight_decay = o.weight_decay;
  auto no_decay = [](const std::string& n, const Tensor<T>&) { return n.find("norm") != std::string::npos; };
  return std::make_unique<optim::AdamW<T>>(optim::decay_groups<T>(named, o.weight_decay, no_decay), ao);
}

// Where a run stands: the next batch to run is batch `batch` of epoch `epoch`; loss_sum and tokens
// are the partial sums of that epoch (0 at an epoch boundary).
struct TrainPosition {
  int64_t epoch = 0, batch = 0, step = 0, tokens = 0;
  double loss_sum = 0, epoch_seconds = 0;
};

template <class T>
void save_training_state(const std::string& path, const nn::Module<T>& model, const optim::Optimizer<T>& opt,
                         const TrainPosition& pos, const TrainHistory& h) {
  StateDict sd;
  for (const auto& kv : model.state_dict()) sd["model." + kv.first] = kv.second;
  for (const auto& kv : opt.state_dict()) sd["optim." + kv.first] = kv.second;
  std::string losses;
  char buf[160];
  for (const auto& e : h.epochs) {
    std::snprintf(buf, sizeof buf, "%.17g:%.17g:%.17g:%.17g:%.17g", e.loss, e.dev_accuracy, e.dev_macro_f1, e.seconds,
                  e.tokens_per_second);
    losses += (losses.empty() ? "" : ",") + std::string(buf);
  }
  std::snprintf(buf, sizeof buf, "%.17g", pos.loss_sum);
  const std::string loss_sum = buf;
  std::snprintf(buf, sizeof buf, "%.17g", pos.epoch_seconds);
  save_safetensors(path, sd,
                   {{"epoch", std::to_string(pos.epoch)}, {"batch", std::to_string(pos.batch)},
                    {"step", std::to_string(pos.step)}, {"tokens", std::to_string(pos.tokens)},
                    {"loss_sum", loss_sum}, {"epoch_seconds", buf}, {"history", losses},
                    {"seconds", std::to_string(h.seconds)}});
}

// Restores model, optimizer and history; returns false when there is no checkpoint file.
template <class T>
bool load_training_state(const std::string& path, nn::Module<T>& model, optim::Optimizer<T>& opt,
                         TrainPosition& pos, TrainHistory& h) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  std::fclose(f);
  Metadata md;
  StateDict sd = load_safetensors(path, &md);
  StateDict ms;
  std::map<std::string, Tensor<T>> os;
  for (const auto& kv : sd) {
    if (kv.first.rfind("model.", 0) == 0) ms[kv.first.substr(6)] = kv.second;
    else if (kv.first.rfind("optim.", 0) == 0)
      std::visit([&](const auto& t) { os[kv.first.substr(6)] = t.template to<T>(); }, kv.second);
  }
  nn::load_state_dict(model, ms, true);
  opt.load_state_dict(os);
  for (const char* k : {"epoch", "batch", "step", "tokens", "loss_sum", "epoch_seconds", "history", "seconds"})
    check(md.count(k) > 0, "load_training_state", path, ": metadata lacks '", k, "'");
  pos.epoch = std::stoll(md["epoch"]);
  pos.batch = std::stoll(md["batch"]);
  pos.step = std::stoll(md["step"]);
  pos.tokens = std::stoll(md["tokens"]);
  pos.loss_sum = std::stod(md["loss_sum"]);
  pos.epoch_seconds = std::stod(md["epoch_seconds"]);
  h.seconds = std::stod(md["seconds"]);
  h.epochs.clear();
  std::stringstream hs(md["history"]);
  std::string item;
  int64_t e = 0;
  while (std::getline(hs, item, ',')) {
    EpochLog l;
    l.epoch = e++;
    std::sscanf(item.c_str(), "%lf:%lf:%lf:%lf:%lf", &l.loss, &l.dev_accuracy, &l.dev_macro_f1, &l.seconds,
                &l.tokens_per_second);
    h.epochs.push_back(l);
  }
  return true;
}

inline uint64_t step_seed(uint64_t seed, int64_t step, uint64_t stream) {
  uint64_t z = seed * 0xD6E8FEB86659FD93ull + uint64_t(step) * 0x9E3779B97F4A7C15ull + stream;
  z ^= z >> 32;
  return z * 0xD6E8FEB86659FD93ull + 1;
}
}  // namespace detail

// The generic loop: `step_loss(batch_index_list, step)` returns the loss of one batch (with a
// graph) and the number of real tokens in it; `on_epoch` evaluates (may be empty).
template <class T>
TrainHistory train_loop(nn::Module<T>& model, const std::vector<std::pair<std::string, Tensor<T>>>& named,
                        int64_t n, const TrainOptions& o,
                        const std::function<std::pair<Tensor<T>, int64_t>(const std::vector<int64_t>&, int64_t)>& step_loss,
                        const std::function<void(EpochLog&)>& on_epoch,
                        const std::vector<int64_t>* lengths = nullptr) {
  check(n > 0 && o.batch_size > 0 && o.epochs > 0, "train_loop", "need examples, batch size and epochs > 0, got ",
        n, ", ", o.batch_size, ", ", o.epochs);
  auto opt = detail::make_adamw<T>(named, o);
  std::vector<Tensor<T>> params;
  for (const auto& kv : named) params.push_back(kv.second);
  const int64_t per_epoch = (n + o.batch_size - 1) / o.batch_size, total = per_epoch * o.epochs;
  // optim's warm-up + linear decay (Hugging Face's schedule), one step per batch; made before a
  // resume so its base rate is o.lr, then moved to the resumed step.
  const int64_t warm = std::min<int64_t>(total - 1, int64_t(std::floor(o.warmup_frac * double(total))));
  optim::WarmupLinear<T> schedule(*opt, std::max<int64_t>(0, warm), total);
  TrainHistory h;
  detail::TrainPosition pos;
  if (o.resume && !o.checkpoint.empty() && detail::load_training_state(o.checkpoint, model, *opt, pos, h) && o.verbose)
    std::printf("%s: resumed from %s at epoch %lld, batch %lld (step %lld)\n", o.label.c_str(), o.checkpoint.c_str(),
                static_cast<long long>(pos.epoch), static_cast<long long>(pos.batch), static_cast<long long>(pos.step));
  for (int64_t k = 0; k < pos.step; ++k) schedule.step();
  int64_t step = pos.step;
  Progress progress(o.label, total, 10.0);
  auto stopped = [&] { return o.max_steps > 0 && step >= o.max_steps; };
  for (int64_t e = pos.epoch; e < o.epochs && !stopped(); ++e) {
    auto t0 = std::chrono::steady_clock::now();
    const bool resumed = e == pos.epoch;
    const double prior_seconds = resumed ? pos.epoch_seconds : 0;
    auto epoch_seconds = [&] {
      return prior_seconds + std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
    model.train();
    double loss_sum = resumed ? pos.loss_sum : 0;
    int64_t batches = resumed ? pos.batch : 0, tokens = resumed ? pos.tokens : 0;
    const auto plan = epoch_batches(n, o.batch_size, o.seed, e, o.bucket ? lengths : nullptr);
    for (size_t bi = size_t(batches); bi < plan.size() && !stopped(); ++bi) {
      const std::vector<int64_t>& idx = plan[bi];
      opt->zero_grad();
      auto [loss, ntok] = step_loss(idx, step);
      const double lv = double(loss.item());
      check(std::isfinite(lv), o.label.c_str(), "loss is not finite at step ", step);
      loss.backward();
      if (o.clip > 0) optim::clip_grad_norm_(params, o.clip);
      opt->step();
      schedule.step();
      loss_sum += lv;
      tokens += ntok;
      ++batches;
      ++step;
      if (o.verbose) {
        char extra[128];
        std::snprintf(extra, sizeof extra, "epoch %lld loss %.4f  %.0f tok/s", static_cast<long long>(e),
                      loss_sum / double(batches), double(tokens) / std::max(epoch_seconds(), 1e-9));
        progress.update(step, extra);
      }
      if (!o.checkpoint.empty() && o.checkpoint_every > 0 && step % o.checkpoint_every == 0 &&
          bi + 1 < plan.size()) {
        detail::save_training_state(o.checkpoint, model, *opt,
                                    detail::TrainPosition{e, batches, step, tokens, loss_sum, epoch_seconds()}, h);
      }
    }
    if (batches < int64_t(plan.size())) break;  // max_steps reached inside the epoch
    EpochLog log;
    log.epoch = e;
    log.loss = batches ? loss_sum / double(batches) : 0;
    log.seconds = epoch_seconds();
    log.tokens_per_second = double(tokens) / std::max(log.seconds, 1e-9);
    h.seconds += log.seconds;
    if (on_epoch) on_epoch(log);
    h.epochs.push_back(log);
    if (o.verbose) {
      std::printf("%s: epoch %lld  loss %.4f", o.label.c_str(), static_cast<long long>(e), log.loss);
      if (log.dev_accuracy >= 0) std::printf("  dev acc %.2f%%  macro-F1 %.2f%%", 100 * log.dev_accuracy, 100 * log.dev_macro_f1);
      std::printf("  %.1fs  %.0f tok/s\n", log.seconds, log.tokens_per_second);
      std::fflush(stdout);
    }
    if (!o.checkpoint.empty())
      detail::save_training_state(o.checkpoint, model, *opt, detail::TrainPosition{e + 1, 0, step, 0, 0.0, 0.0}, h);
  }
  h.steps = step;
  return h;
}

}  // namespace distillery::methods
