// optim/lr_scheduler.hpp — learning-rate schedules, closed form, PyTorch's semantics.
//
// A scheduler remembers each group's base learning rate when it is built, sets lr(0) at once
// (as PyTorch does in the constructor) and, on every step(), advances its counter e and sets
// each group's lr to lr_at(base, e). Call step() once per epoch (or per iteration, if the
// schedule is meant in iterations), after optimizer.step().
//   StepLR(s, γ)             base · γ^⌊e/s⌋
//   MultiStepLR(ms, γ)       base · γ^(number of milestones ≤ e)
//   CosineAnnealingLR(T, m)  m + (base − m)(1 + cos(π e / T)) / 2
//   LinearLR(f0, f1, n)      base · (f0 + (f1 − f0) · min(e, n) / n)
//   WarmupLinear(w, n)       base · e/w for e < w, then base · max(0, (n − e)/(n − w))
//   WarmupCosine(w, n)       base · e/w for e < w, then base · (1 + cos(π (e − w)/(n − w))) / 2
//   LambdaLR(f)              base · f(e)
// The last two warm-up schedules are Hugging Face's get_{linear,cosine}_schedule_with_warmup.
// Schedulers keep a reference to the optimizer: it must outlive them.
#pragma once
#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include "optimizer.hpp"

namespace distillery::optim {

namespace detail {
constexpr double kPi = 3.14159265358979323846;
}  // namespace detail

template <class T = float>
class LRScheduler {
 public:
  virtual ~LRScheduler() = default;
  // The learning rate of a group whose base rate is `base`, at count e.
  virtual double lr_at(double base, int64_t e) const = 0;

  void step() {
    ++epoch_;
    apply();
  }
  int64_t last_epoch() const { return epoch_; }
  std::vector<double> get_last_lr() const {
    std::vector<double> out;
    for (auto& g : opt_.param_groups()) out.push_back(g.lr);
    return out;
  }

 protected:
  explicit LRScheduler(Optimizer<T>& opt) : opt_(opt) {
    for (auto& g : opt.param_groups()) base_.push_back(g.lr);
  }
  // Derived constructors call this once their parameters are set.
  void apply() {
    auto& groups = opt_.param_groups();
    for (size_t i = 0; i < groups.size() && i < base_.size(); ++i) groups[i].lr = lr_at(base_[i], epoch_);
  }

 private:
  Optimizer<T>& opt_;
  std::vector<double> base_;
  int64_t epoch_ = 0;
};

template <class T = float>
class StepLR : public LRScheduler<T> {
 public:
  StepLR(Optimizer<T>& opt, int64_t step_size, double gamma = 0.1)
      : LRScheduler<T>(opt), s_(step_size), gamma_(gamma) {
    check(step_size > 0, "StepLR", "step_size must be positive, got ", step_size);
    this->apply();
  }
  double lr_at(double base, int64_t e) const override {
    return base * std::pow(gamma_, double(e / s_));
  }

 private:
  int64_t s_;
  double gamma_;
};

template <class T = float>
class MultiStepLR : public LRScheduler<T> {
 public:
  MultiStepLR(Optimizer<T>& opt, std::vector<int64_t> milestones, double gamma = 0.1)
      : LRScheduler<T>(opt), ms_(std::move(milestones)), gamma_(gamma) {
    std::sort(ms_.begin(), ms_.end());
    this->apply();
  }
  double lr_at(double base, int64_t e) const override {
    auto passed = std::upper_bound(ms_.begin(), ms_.end(), e) - ms_.begin();  // bisect_right
    return base * std::pow(gamma_, double(passed));
  }

 private:
  std::vector<int64_t> ms_;
  double gamma_;
};

template <class T = float>
class CosineAnnealingLR : public LRScheduler<T> {
 public:
  CosineAnnealingLR(Optimizer<T>& opt, int64_t t_max, double eta_min = 0.0)
      : LRScheduler<T>(opt), t_max_(t_max), eta_min_(eta_min) {
    check(t_max > 0, "CosineAnnealingLR", "T_max must be positive, got ", t_max);
    this->apply();
  }
  double lr_at(double base, int64_t e) const override {
    return eta_min_ + (base - eta_min_) * (1 + std::cos(detail::kPi * double(e) / double(t_max_))) / 2;
  }

 private:
  int64_t t_max_;
  double eta_min_;
};

template <class T = float>
class LinearLR : public LRScheduler<T> {
 public:
  LinearLR(Optimizer<T>& opt, double start_factor = 1.0 / 3, double end_factor = 1.0,
           int64_t total_iters = 5)
      : LRScheduler<T>(opt), f0_(start_factor), f1_(end_factor), n_(total_iters) {
    check(total_iters > 0, "LinearLR", "total_iters must be positive, got ", total_iters);
    this->apply();
  }
  double lr_at(double base, int64_t e) const override {
    return base * (f0_ + (f1_ - f0_) * double(std::min(e, n_)) / double(n_));
  }

 private:
  double f0_, f1_;
  int64_t n_;
};

template <class T = float>
class WarmupLinear : public LRScheduler<T> {
 public:
  WarmupLinear(Optimizer<T>& opt, int64_t warmup, int64_t total)
      : LRScheduler<T>(opt), w_(warmup), n_(total) {
    check(warmup >= 0 && total > warmup, "WarmupLinear", "need 0 <= warmup < total, got ",
          warmup, " and ", total);
    this->apply();
  }
  double lr_at(double base, int64_t e) const override {
    if (e < w_) return base * double(e) / double(std::max<int64_t>(1, w_));
    return base * std::max(0.0, double(n_ - e) / double(n_ - w_));
  }

 private:
  int64_t w_, n_;
};

template <class T = float>
class WarmupCosine : public LRScheduler<T> {
 public:
  WarmupCosine(Optimizer<T>& opt, int64_t warmup, int64_t total)
      : LRScheduler<T>(opt), w_(warmup), n_(total) {
    check(warmup >= 0 && total > warmup, "WarmupCosine", "need 0 <= warmup < total, got ",
          warmup, " and ", total);
    this->apply();
  }
  double lr_at(double base, int64_t e) const override {
    if (e < w_) return base * double(e) / double(std::max<int64_t>(1, w_));
    double progress = std::min(1.0, double(e - w_) / double(n_ - w_));
    return base * 0.5 * (1 + std::cos(detail::kPi * progress));
  }

 private:
  int64_t w_, n_;
};

template <class T = float>
class LambdaLR : public LRScheduler<T> {
 public:
  LambdaLR(Optimizer<T>& opt, std::function<double(int64_t)> factor)
      : LRScheduler<T>(opt), f_(std::move(factor)) {
    this->apply();
  }
  double lr_at(double base, int64_t e) const override { return base * f_(e); }

 private:
  std::function<double(int64_t)> f_;
};

}  // namespace distillery::optim
