// methods/dataset_distill.hpp — dataset distillation (Wang et al. 2018) and soft-label dataset
// distillation (Sucholutsky & Schonlau 2019), as a library component.
//
// A handful of synthetic examples x̃ (with fixed hard labels, or learnable soft labels ỹ) and one
// learning rate per inner step η_t = softplus(r_t) are learned so that K = steps × epochs
// differentiable SGD steps on them, from an initial weight vector w₀, give a network that does
// well on real data:
//     w_{t+1} = w_t − η_t ∇_w l(x̃_s, ỹ_s; w_t),     L = CE(f(x_real; w_K), y_real),
// and (x̃, ỹ, r) follow ∇L — a gradient through gradients (create_graph). Two equivalent ways to
// get ∇L are offered:
//   * full unroll: one graph over all K steps (fast, memory O(K));
//   * recompute (checkpointing): keep only w_0..w_K, then walk back t = K−1..0, rebuilding step t
//     and taking the vector–Jacobian product of g_t = η_t ∇l_t(w_t) with cotangent −dw (the
//     reference's manual reverse pass; memory O(1 step), about 2× the time).
// The model is any FunctionalModel: logits = forward(flat_params, x, train), so the weights of
// every inner step are graph nodes. "known init" keeps one w₀; "random init" draws a fresh w₀
// every outer iteration (n_nets of them, gradients averaged).
//
//   DatasetDistiller<float> dd(model, Shape{1, 28, 28}, cfg, gen);
//   for (...) dd.step(x_real, y_real, gen);          // outer Adam step (lr 0.01, β 0.5/0.999)
//   Tensor<float> w = dd.train(dd.fixed_init());    // a network trained on the distilled data
#pragma once
#include <algorithm>
#include <cmath>
#include <functional>

#include "../ops/inplace.hpp"
#include "../ops/loss.hpp"

namespace distillery {

template <class T>
struct FunctionalModel {
  // logits [N, C] = forward(flat params [P], x [N, ...], train)
  std::function<Tensor<T>(const Tensor<T>&, const Tensor<T>&, bool)> forward;
  // fresh flat parameters from the model's initial distribution
  std::function<Tensor<T>(Generator&)> init;
};

enum class LabelInit { one_hot, smoothed, uniform, stdnormal };

struct DDConfig {
  int64_t num_classes = 10;
  int64_t images = 10;                 // distilled images per inner step
  std::vector<int64_t> image_classes;  // class of image i (default i % num_classes)
  int64_t steps = 1, epochs = 3;       // K = steps × epochs inner SGD steps
  double distill_lr = 0.02;            // η₀; r₀ = log(expm1(η₀))
  bool soft_labels = false;            // learn ỹ (soft-label DD)
  bool label_softmax = false;          // use softmax(ỹ) as targets instead of raw ỹ
  LabelInit label_init = LabelInit::one_hot;
  double label_smoothing = 0.1;  // for LabelInit::smoothed
  double image_init_std = 1.0;   // x̃ ~ N(0, std²) in normalised input space
  bool random_init = false;      // fresh w₀ each outer iteration
  int64_t n_nets = 1;            // w₀ draws per outer iteration (random init)
  double lr = 0.01, beta1 = 0.5, beta2 = 0.999, adam_eps = 1e-8;
  int64_t decay_every = 0;   // outer iterations between lr decays (0 = never); the
  double decay_gamma = 0.5;  //   reference's: dd_decay_every(iterations, 10)
  bool recompute = false;    // checkpointed reverse pass
  // Robust DD (an option of ours, not in the papers): each w₀ of an outer iteration trains on
  // x̃ + σ·ε, ε ~ N(0, 1) drawn afresh, so the outer step follows ∇ E_ε L(x̃ + σε). At the
  // papers' σ = 0 the learned step sizes drift to the edge of stability, where 1e-4 changes
  // of the pixels move the trained network's accuracy by points (docs/dataset-distillation.md).
  double image_noise = 0;
};

// Outer-lr schedule (step decay): update t = 1, 2, ... uses lr · γ^⌊t / decay_every⌋ (the decay
// is applied before the t-th update, as DatasetDistiller::apply_hypergradients does).
// The reference (Wang et al.'s code: decay every 40 of 400 epochs) halves about ten times over
// the run: dd_decay_every(iterations, 10) = iterations / 10, so 24,000 iterations at lr 0.01
// end at 0.01 / 2¹⁰ ≈ 9.8e-6 (the last halving applies to the last update).
inline int64_t dd_decay_every(int64_t iterations, int64_t halvings) {
  check(iterations > 0 && halvings >= 0, "dd_decay_every",
        "need iterations > 0 and halvings >= 0, got ", iterations, ", ", halvings);
  return halvings == 0 ? 0 : std::max<int64_t>(iterations / halvings, 1);
}
inline double dd_outer_lr(const DDConfig& cfg, int64_t t) {
  check(t >= 1, "dd_outer_lr", "update index t starts at 1, got ", t);
  return cfg.decay_every > 0 ? cfg.lr * std::pow(cfg.decay_gamma, double(t / cfg.decay_every))
                             : cfg.lr;
}

template <class T>
struct HyperGradients {
  T loss = T(0);
  Tensor<T> images, labels, raw_lrs;  // dL/dx̃, dL/dỹ (undefined for hard labels), dL/dr
};

template <class T>
class DatasetDistiller {
 public:
  DatasetDistiller(FunctionalModel<T> model, const Shape& image_shape, DDConfig cfg, Generator& gen)
      : model_(std::move(model)), cfg_(std::move(cfg)) {
    const char* op = "DatasetDistiller";
    check(cfg_.images > 0 && cfg_.steps > 0 && cfg_.epochs > 0 && cfg_.num_classes > 1, op,
          "images, steps, epochs must be positive and num_classes > 1");
    check(cfg_.distill_lr > 0, op, "distill_lr must be positive, got ", cfg_.distill_lr);
    if (cfg_.image_classes.empty())
      for (int64_t i = 0; i < cfg_.images; ++i) cfg_.image_classes.push_back(i % cfg_.num_classes);
    check(static_cast<int64_t>(cfg_.image_classes.size()) == cfg_.images, op, "image_classes has ",
          cfg_.image_classes.size(), " entries for ", cfg_.images, " images");
    Shape xs{cfg_.steps, cfg_.images};
    for (int64_t d : image_shape) xs.push_back(d);
    images_ = Tensor<T>::randn(xs, gen, 0.0, cfg_.image_init_std);
    hard_ = Tensor<int64_t>::empty(Shape{cfg_.steps, cfg_.images});
    std::vector<T> y(cfg_.steps * cfg_.images * cfg_.num_classes);
    for (int64_t s = 0; s < cfg_.steps; ++s)
      for (int64_t i = 0; i < cfg_.images; ++i) {
        int64_t c = cfg_.image_classes[i];
        check(c >= 0 && c < cfg_.num_classes, op, "class ", c, " out of range");
        hard_.data_ptr()[s * cfg_.images + i] = c;
        T* row = y.data() + (s * cfg_.images + i) * cfg_.num_classes;
        const double K = double(cfg_.num_classes);
        for (int64_t k = 0; k < cfg_.num_classes; ++k) {
          switch (cfg_.label_init) {
            case LabelInit::one_hot:
              row[k] = T(k == c);
              break;
            case LabelInit::smoothed:
              row[k] = T(k == c ? 1 - cfg_.label_smoothing : cfg_.label_smoothing / (K - 1));
              break;
            case LabelInit::uniform:
              row[k] = T(gen.uniform());
              break;
            case LabelInit::stdnormal:
              row[k] = T(gen.normal());
              break;
          }
        }
      }
    labels_ = Tensor<T>::from_vector(y, Shape{cfg_.steps, cfg_.images, cfg_.num_classes});
    const int64_t K = cfg_.steps * cfg_.epochs;
    raw_lrs_ = Tensor<T>::full(Shape{K}, T(std::log(std::expm1(cfg_.distill_lr))));
    fixed_init_ = model_.init(gen);
    lr_ = cfg_.lr;
  }

  const DDConfig& config() const { return cfg_; }
  double outer_lr() const { return lr_; }  // the lr of the last outer update (cfg.lr before any)
  int64_t outer_steps() const { return t_; }
  const Tensor<T>& images() const { return images_; }      // [S, M, ...]
  const Tensor<T>& raw_labels() const { return labels_; }  // [S, M, C]
  const Tensor<T>& raw_lrs() const { return raw_lrs_; }    // [K]
  const Tensor<T>& fixed_init() const { return fixed_init_; }
  // Replaces the known init w₀ (e.g. to share one w₀ with a reference run); requires the shape
  // of model.init()'s output.
  void set_fixed_init(const Tensor<T>& w0) {
    check(w0.shape() == fixed_init_.shape(), "DatasetDistiller", "fixed init has shape ",
          fixed_init_.shape(), ", got ", w0.shape());
    fixed_init_ = w0.detach();
  }
  Tensor<T> learning_rates() const { return softplus(raw_lrs_.detach()); }
  // Targets the inner loss uses for step s: one-hot (hard), raw ỹ or softmax(ỹ).
  Tensor<T> targets(const Tensor<T>& labels, int64_t s) const {
    Tensor<T> y = select(labels, 0, s);
    return cfg_.label_softmax ? softmax(y, 1) : y;
  }
  Tensor<T> effective_labels() const {
    std::vector<Tensor<T>> ys;
    for (int64_t s = 0; s < cfg_.steps; ++s) ys.push_back(targets(labels_.detach(), s));
    return stack(ys, 0);
  }
  int64_t inner_steps() const { return cfg_.steps * cfg_.epochs; }
  int64_t peak_bytes() const { return peak_bytes_; }  // extra bytes at the peak of the last step()

  // Inner loss of step s at weights w (graph kept for differentiation).
  Tensor<T> inner_loss(const Tensor<T>& w, const Tensor<T>& x, const Tensor<T>& y,
                       int64_t s) const {
    Tensor<T> logits = model_.forward(w, select(x, 0, s), true);
    if (!cfg_.soft_labels) return cross_entropy(logits, select(hard_, 0, s));
    return cross_entropy(logits, targets(y, s));
  }

  // L(w₀; x̃ + noise, ỹ, r) on a real batch and its gradient with respect to x̃, ỹ and r
  // (noise [S, M, ...], optional: the inner steps train on the shifted images).
  HyperGradients<T> hypergradients(const Tensor<T>& w0, const Tensor<T>& x_real,
                                   const Tensor<int64_t>& y_real,
                                   const Tensor<T>& noise = {}) const {
    if (noise.defined())
      check(noise.shape() == images_.shape(), "DatasetDistiller::hypergradients",
            "noise must have the images' shape ", images_.shape(), ", got ", noise.shape());
    return cfg_.recompute ? hyper_recompute(w0, x_real, y_real, noise)
                          : hyper_unroll(w0, x_real, y_real, noise);
  }

  // One outer iteration: hypergradients (averaged over n_nets inits) and an Adam step.
  T step(const Tensor<T>& x_real, const Tensor<int64_t>& y_real, Generator& gen) {
    const int64_t live0 = memory_stats(Device::cpu).live.load();
    reset_peak_memory(Device::cpu);
    const int64_t nets = nets_per_step();
    HyperGradients<T> acc;
    for (int64_t n = 0; n < nets; ++n) {
      Tensor<T> w0 = draw_init(gen);
      HyperGradients<T> h = hypergradients(w0, x_real, y_real, draw_noise(gen));
      acc.loss += h.loss / T(nets);
      acc.images = acc.images.defined() ? add(acc.images, h.images) : h.images;
      acc.raw_lrs = acc.raw_lrs.defined() ? add(acc.raw_lrs, h.raw_lrs) : h.raw_lrs;
      if (h.labels.defined())
        acc.labels = acc.labels.defined() ? add(acc.labels, h.labels) : h.labels;
    }
    peak_bytes_ = memory_stats(Device::cpu).peak.load() - live0;
    const T scale = T(1) / T(nets);
    HyperGradients<T> mean;
    mean.loss = acc.loss;
    mean.images = mul_scalar(acc.images, scale);
    mean.raw_lrs = mul_scalar(acc.raw_lrs, scale);
    if (cfg_.soft_labels) mean.labels = mul_scalar(acc.labels, scale);
    apply_hypergradients(mean);
    return acc.loss;
  }

  // The pieces of step() for callers that compute the hypergradients themselves (e.g. split
  // over processes, methods/dataset_distill_distributed.hpp):
  // w₀ draws per outer iteration (n_nets with random init, else 1),
  int64_t nets_per_step() const { return cfg_.random_init ? cfg_.n_nets : 1; }
  // the next w₀ (a fresh draw from gen with random init, else the fixed init),
  Tensor<T> draw_init(Generator& gen) const {
    return cfg_.random_init ? model_.init(gen) : fixed_init_;
  }
  // the image noise for that w₀ (undefined at image_noise 0, which draws nothing),
  Tensor<T> draw_noise(Generator& gen) const {
    if (cfg_.image_noise <= 0) return {};
    return Tensor<T>::randn(images_.shape(), gen, 0.0, cfg_.image_noise);
  }
  // and the outer Adam step (with lr decay) on hypergradients already averaged over the inits.
  void apply_hypergradients(const HyperGradients<T>& mean) {
    check(mean.images.defined() && mean.raw_lrs.defined() &&
              (!cfg_.soft_labels || mean.labels.defined()),
          "DatasetDistiller::apply_hypergradients",
          "missing gradients (images, raw_lrs and, for soft labels, labels are needed)");
    check(mean.images.shape() == images_.shape() && mean.raw_lrs.shape() == raw_lrs_.shape() &&
              (!cfg_.soft_labels || mean.labels.shape() == labels_.shape()),
          "DatasetDistiller::apply_hypergradients", "gradient shapes ", mean.images.shape(), ", ",
          mean.raw_lrs.shape(), " do not match images ", images_.shape(), ", raw_lrs ",
          raw_lrs_.shape());
    ++t_;
    if (cfg_.decay_every > 0 && t_ % cfg_.decay_every == 0) lr_ *= cfg_.decay_gamma;
    adam(images_, m_x_, v_x_, mean.images);
    adam(raw_lrs_, m_r_, v_r_, mean.raw_lrs);
    if (cfg_.soft_labels) adam(labels_, m_y_, v_y_, mean.labels);
  }

  // Trains w₀ with the distilled data (K plain SGD steps with the learned rates); `images`
  // [S, M, ...] replaces the distilled images when given (e.g. a perturbed copy).
  Tensor<T> train(const Tensor<T>& w0, const Tensor<T>& images = {}) const {
    const Tensor<T> x = images.defined() ? images.detach() : images_.detach();
    check(x.shape() == images_.shape(), "DatasetDistiller::train", "images must have shape ",
          images_.shape(), ", got ", x.shape());
    const std::vector<T> eta = learning_rates().to_vector();
    Tensor<T> w = w0.detach();
    for (int64_t e = 0; e < cfg_.epochs; ++e)
      for (int64_t s = 0; s < cfg_.steps; ++s) {
        Tensor<T> wl = w.detach().requires_grad_();
        Tensor<T> g = grad({inner_loss(wl, x, labels_.detach(), s)}, {wl})[0];
        NoGradGuard ng;
        w = sub(w, mul_scalar(g, eta[e * cfg_.steps + s]));
      }
    return w;
  }

  // Stability of the inner training from w₀, step by step: λ_t = the largest Hessian eigenvalue
  // of the inner loss at w_t (power iteration on Hessian-vector products, `iters` of them, from a
  // random start; the Rayleigh quotient of the last iterate) and η_t·λ_t. Gradient descent on a
  // quadratic with curvature λ diverges along that direction when η·λ > 2, so values near or above
  // 2 mean the K steps sit at the edge of stability, where tiny changes of x̃ move w_K a lot.
  struct StepSharpness {
    double lr = 0, lambda_max = 0, product = 0;
  };
  std::vector<StepSharpness> inner_sharpness(const Tensor<T>& w0, Generator& gen,
                                             int iters = 20) const {
    check(iters >= 1, "DatasetDistiller::inner_sharpness", "iters must be >= 1, got ", iters);
    const std::vector<T> eta = learning_rates().to_vector();
    std::vector<StepSharpness> out;
    Tensor<T> w = w0.detach();
    for (int64_t t = 0; t < inner_steps(); ++t) {
      const int64_t s = t % cfg_.steps;
      Tensor<T> wl = w.detach().requires_grad_();
      Tensor<T> g = grad({inner_loss(wl, images_.detach(), labels_.detach(), s)}, {wl}, {},
                         /*create_graph=*/true)[0];
      Tensor<T> v = Tensor<T>::randn(w.shape(), gen);
      double lambda = 0;
      for (int i = 0; i < iters; ++i) {  // v, hv carry no graph (detached)
        const double norm = std::sqrt(double(sum(square(v)).item()));
        v = mul_scalar(v, T(1 / std::max(1e-30, norm)));
        Tensor<T> hv = grad({g}, {wl}, {v}, /*create_graph=*/false, false, /*retain_graph=*/1)[0];
        lambda = double(sum(mul(v, hv)).item());  // Rayleigh quotient, |v| = 1
        v = hv.detach();
      }
      out.push_back({double(eta[t]), lambda, double(eta[t]) * lambda});
      NoGradGuard ng;
      w = sub(w, mul_scalar(g.detach(), eta[t]));
    }
    return out;
  }

 private:
  HyperGradients<T> hyper_unroll(const Tensor<T>& w0, const Tensor<T>& x_real,
                                 const Tensor<int64_t>& y_real, const Tensor<T>& noise) const {
    Tensor<T> x = images_.detach().requires_grad_();
    const Tensor<T> xin = noise.defined() ? add(x, noise) : x;
    Tensor<T> y = labels_.detach();
    if (cfg_.soft_labels) y.requires_grad_();
    Tensor<T> r = raw_lrs_.detach().requires_grad_();
    Tensor<T> eta = softplus(r);
    Tensor<T> w = w0.detach().requires_grad_();
    for (int64_t e = 0; e < cfg_.epochs; ++e)
      for (int64_t s = 0; s < cfg_.steps; ++s) {
        Tensor<T> g = grad({inner_loss(w, xin, y, s)}, {w}, {}, /*create_graph=*/true)[0];
        w = sub(w, mul(select(eta, 0, e * cfg_.steps + s), g));
      }
    Tensor<T> L = cross_entropy(model_.forward(w, x_real, false), y_real);
    std::vector<Tensor<T>> wrt{x, r};
    if (cfg_.soft_labels) wrt.push_back(y);
    auto gs = grad({L}, wrt);
    HyperGradients<T> h;
    h.loss = L.item();
    h.images = gs[0];
    h.raw_lrs = gs[1];
    if (cfg_.soft_labels) h.labels = gs[2];
    return h;
  }

  HyperGradients<T> hyper_recompute(const Tensor<T>& w0, const Tensor<T>& x_real,
                                    const Tensor<int64_t>& y_real, const Tensor<T>& noise) const {
    const Tensor<T> x0 = noise.defined() ? add(images_.detach(), noise) : images_.detach();
    const int64_t K = inner_steps();
    Tensor<T> eta_all = learning_rates();
    std::vector<T> eta = eta_all.to_vector();
    // forward: keep only the weights of every step
    std::vector<Tensor<T>> ws{w0.detach()};
    for (int64_t t = 0; t < K; ++t) {
      Tensor<T> wl = ws.back().detach().requires_grad_();
      Tensor<T> g = grad({inner_loss(wl, x0, labels_.detach(), t % cfg_.steps)}, {wl})[0];
      NoGradGuard ng;
      ws.push_back(sub(ws.back(), mul_scalar(g, eta[t])));
    }
    Tensor<T> wK = ws.back().detach().requires_grad_();
    Tensor<T> L = cross_entropy(model_.forward(wK, x_real, false), y_real);
    Tensor<T> dw = grad({L}, {wK})[0];
    HyperGradients<T> h;
    h.loss = L.item();
    Tensor<T> x = images_.detach().requires_grad_();
    Tensor<T> y = labels_.detach();
    if (cfg_.soft_labels) y.requires_grad_();
    Tensor<T> r = raw_lrs_.detach().requires_grad_();
    for (int64_t t = K; t-- > 0;) {
      Tensor<T> wt = ws[t].detach().requires_grad_();
      Tensor<T> eta_t = select(softplus(r), 0, t);
      const Tensor<T> xin = noise.defined() ? add(x, noise) : x;  // a fresh node each step
      Tensor<T> g = grad({inner_loss(wt, xin, y, t % cfg_.steps)}, {wt}, {}, true)[0];
      Tensor<T> gt = mul(eta_t, g);
      std::vector<Tensor<T>> wrt;  // (built by push_back: GCC 12 warns falsely on {..} + push_back)
      wrt.reserve(4);
      for (const Tensor<T>* p : {&wt, &x, &r}) wrt.push_back(*p);
      if (cfg_.soft_labels) wrt.push_back(y);
      auto v = grad({gt}, wrt, {neg(dw)}, false, /*allow_unused=*/true);
      NoGradGuard ng;
      auto acc = [](Tensor<T>& a, const Tensor<T>& b) {
        if (b.defined()) a = a.defined() ? add(a, b) : b;
      };
      acc(h.images, v[1]);
      acc(h.raw_lrs, v[2]);
      if (cfg_.soft_labels) acc(h.labels, v[3]);
      dw = add(dw, v[0]);
    }
    if (!h.images.defined()) h.images = Tensor<T>::zeros(images_.shape(), images_.device());
    if (!h.raw_lrs.defined()) h.raw_lrs = Tensor<T>::zeros(raw_lrs_.shape(), raw_lrs_.device());
    if (cfg_.soft_labels && !h.labels.defined())
      h.labels = Tensor<T>::zeros(labels_.shape(), labels_.device());
    return h;
  }

  // Adam on a leaf we own (bias-corrected, as torch.optim.Adam).
  void adam(Tensor<T>& p, Tensor<T>& m, Tensor<T>& v, const Tensor<T>& g) {
    NoGradGuard ng;
    if (!m.defined()) {
      m = Tensor<T>::zeros(p.shape(), p.device());
      v = Tensor<T>::zeros(p.shape(), p.device());
    }
    const T b1 = T(cfg_.beta1), b2 = T(cfg_.beta2);
    m = add(mul_scalar(m, b1), mul_scalar(g, T(1) - b1));
    v = add(mul_scalar(v, b2), mul_scalar(square(g), T(1) - b2));
    const T c1 = T(1) - T(std::pow(cfg_.beta1, double(t_)));
    const T c2 = T(1) - T(std::pow(cfg_.beta2, double(t_)));
    Tensor<T> upd = div(mul_scalar(m, T(lr_) / c1),
                        add_scalar(sqrt(mul_scalar(v, T(1) / c2)), T(cfg_.adam_eps)));
    p = sub(p, upd).detach();
  }

  FunctionalModel<T> model_;
  DDConfig cfg_;
  Tensor<T> images_, labels_, raw_lrs_, fixed_init_;
  Tensor<int64_t> hard_;
  Tensor<T> m_x_, v_x_, m_y_, v_y_, m_r_, v_r_;
  int64_t t_ = 0;
  double lr_ = 0.01;
  int64_t peak_bytes_ = 0;
};

// Plain full-batch SGD from w on real (x, y) for `steps` steps at lr: the same-budget baseline
// (a few real examples trained exactly as the distilled ones are).
template <class T>
Tensor<T> sgd_baseline(const FunctionalModel<T>& m, Tensor<T> w, const Tensor<T>& x,
                       const Tensor<int64_t>& y, int64_t steps, double lr) {
  for (int64_t t = 0; t < steps; ++t) {
    Tensor<T> wl = w.detach().requires_grad_();
    Tensor<T> g = grad({cross_entropy(m.forward(wl, x, true), y)}, {wl})[0];
    NoGradGuard ng;
    w = sub(w, mul_scalar(g, T(lr)));
  }
  return w;
}

// Accuracy of logits = forward(w, x) against labels, in batches, without a graph.
template <class T>
double accuracy(const FunctionalModel<T>& model, const Tensor<T>& w, const Tensor<T>& x,
                const Tensor<int64_t>& y, int64_t batch = 1000) {
  NoGradGuard ng;
  int64_t correct = 0, n = x.shape()[0];
  for (int64_t s = 0; s < n; s += batch) {
    int64_t len = std::min(batch, n - s);
    Tensor<int64_t> pred = argmax(model.forward(w, narrow(x, 0, s, len), false), 1);
    auto p = pred.to_vector();
    auto t = narrow(y, 0, s, len).to_vector();
    for (int64_t i = 0; i < len; ++i) correct += p[i] == t[i];
  }
  return n ? double(correct) / double(n) : 0.0;
}

}  // namespace distillery
