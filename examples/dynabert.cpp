// examples/dynabert.cpp — one mini-BERT that runs at 12 sizes (DynaBERT), distilled with DynaBERT's
// hidden-state loss and with CKD's relations, on the mini-GLUE tasks (issue 10; papers.md §1.7).
//
//   build/examples/dynabert --tasks sent --seeds 1,2,3
//   build/examples/dynabert --smoke                        (CI-sized)
//   build-cuda/examples/dynabert --tasks spam --variants dynabert_ckd --seeds 2 --device cuda --no-report
//                    (one piece on a GPU; a later plain run on the CPU finds its grid and reports)
//
// Needs the fine-tuned teachers of examples/ckd_glue (same --out, default out/ckd_glue:
// tokenizer.txt and <task>/teacher.safetensors; run `ckd_glue --stage finetune` first).
// Per task and seed, for both variants (dynabert: hidden MSE; dynabert_ckd: hidden MSE + λ · CKD
// relations, or CKD instead of the MSE with --ckd-form replacing; --lambda 0.1,1,10 trains each λ
// and keeps the one whose full-size network is best on dev), --epochs-per-stage (3) each:
//   1. importance of heads and FFN neurons on the dev set, rewiring (a copy of the teacher)
//   2. stage 1, width-adaptive: widths 1, .75, .5, .25 against the fine-tuned teacher
//   3. stage 2, width and depth: 12 sub-networks (× depths 1, .75, .5) against the stage-1 net
//   4. test accuracy of every sub-network, chosen at run time (no weights copied), written to
//      <out>/<task>/dynabert_grid_<variant>_s<seed>.txt; a run whose grid exists is not redone,
//      so processes with different --variants/--seeds can share the work
// Then: parameters and latency (batch 1 and batch 32) of every sub-network, measured on exported
// standalone models; results in <out>/dynabert_<task>.json and .csv, accuracy-vs-latency PNG,
// and the seed-1 (width .5, depth .5) sub-network exported as its own safetensors model.
#include "mini_bert_common.hpp"

#include <distillery/io/plot.hpp>
#include <distillery/methods/dynabert.hpp>

using namespace distillery;
using namespace distillery::methods;
using namespace mini_bert;

namespace {

const std::vector<double> kWidths{1.0, 0.75, 0.5, 0.25}, kDepths{1.0, 0.75, 0.5};

double latency_seconds(nn::Bert<float>& m, const TokenSet& set, int64_t batch, int64_t reps) {
  NoGradGuard ng;
  m.eval();
  const int64_t n = std::min<int64_t>(set.size(), batch);
  std::vector<int64_t> idx;
  for (int64_t i = 0; i < n; ++i) idx.push_back(i);
  Tensor<int64_t> ids = pad_batch(set, idx);
  m.forward_logits(ids);  // warm-up
  double best = 1e30;
  for (int64_t r = 0; r < reps; ++r) {
    auto t0 = Clock::now();
    m.forward_logits(ids);
    best = std::min(best, seconds_since(t0));
  }
  return best;
}

// One (variant, seed) result: "width depth accuracy" per sub-network.
std::string grid_path(const Setup& s, const std::string& task, const std::string& variant, int64_t seed) {
  return s.out + "/" + task + "/dynabert_grid_" + variant + "_s" + std::to_string(seed) + ".txt";
}
// With --lambda a list: each candidate's grid ("_l<λ>.txt", and ".dev": its full-size dev
// accuracy) and the choice ("_lambda.txt": "lambda <λ> dev <accuracy>") beside the grid.
std::string grid_beside(const Setup& s, const std::string& task, const std::string& variant, int64_t seed,
                        const std::string& suffix) {
  const std::string gp = grid_path(s, task, variant, seed);
  return gp.substr(0, gp.size() - 4) + suffix;
}
void write_grid(const std::string& path, const std::vector<std::vector<double>>& a) {
  std::ostringstream o;
  char buf[96];
  for (size_t wi = 0; wi < kWidths.size(); ++wi)
    for (size_t di = 0; di < kDepths.size(); ++di) {
      std::snprintf(buf, sizeof buf, "%.2f %.2f %.17g\n", kWidths[wi], kDepths[di], a[wi][di]);
      o << buf;
    }
  write_file_atomic(path, o.str());
}
std::vector<std::vector<double>> read_grid(const std::string& path) {
  std::ifstream f(path);
  std::vector<std::vector<double>> a(kWidths.size(), std::vector<double>(kDepths.size()));
  for (size_t wi = 0; wi < kWidths.size(); ++wi)
    for (size_t di = 0; di < kDepths.size(); ++di) {
      double w = -1, d = -1;
      check(static_cast<bool>(f >> w >> d >> a[wi][di]) && std::abs(w - kWidths[wi]) < 1e-9 &&
                std::abs(d - kDepths[di]) < 1e-9,
            "dynabert", path, ": line ", wi * kDepths.size() + di + 1, " is not \"", kWidths[wi], " ", kDepths[di],
            " <accuracy>\"");
    }
  return a;
}

}  // namespace

int program(int argc, char** argv) {
  Args args(argc, argv, "dynabert: width- and depth-adaptive mini-BERT, DynaBERT vs DynaBERT+CKD");
  Setup s;
  s.out = args.get<std::string>("out", "out/ckd_glue", "ckd_glue's output folder (tokenizer, teachers)");
  s.data = args.get<std::string>("data", "data", "data folder");
  s.conf_dir = args.get<std::string>("config", "examples/ckd_glue", "folder with <task>.conf");
  const auto tasks = split_list(args.get<std::string>("tasks", "sent,genre,topic,spam", "tasks"));
  std::vector<int64_t> seeds;
  for (const auto& x : split_list(args.get<std::string>("seeds", "1,2,3", "seeds"))) seeds.push_back(std::stoll(x));
  const auto variants = split_list(args.get<std::string>("variants", "dynabert,dynabert_ckd", "variants"));
  const int64_t eps = args.get<int64_t>("epochs-per-stage", 3, "epochs of each stage (DynaBERT: 3)");
  const int64_t e1 = args.get<int64_t>("stage1-epochs", eps, "epochs of stage 1 (default --epochs-per-stage)");
  const int64_t e2 = args.get<int64_t>("stage2-epochs", eps, "epochs of stage 2 (default --epochs-per-stage)");
  std::vector<double> lambdas;  // empty: the configs' dyna_ckd_lambda
  for (const auto& x : split_list(args.get<std::string>(
           "lambda", "", "λ of the CKD term; a list (0.1,1,10) is chosen per seed on dev (the full-size "
                         "network's dev accuracy); empty: the configs' dyna_ckd_lambda")))
    lambdas.push_back(std::stod(x));
  for (double l : lambdas) check(l > 0, "dynabert", "--lambda values must be > 0, got ", l);
  const std::string ckd_form = args.get<std::string>("ckd-form", "added", "dynabert_ckd: added|replacing");
  check(ckd_form == "added" || ckd_form == "replacing", "dynabert", "unknown --ckd-form '", ckd_form,
        "' (added, replacing)");
  s.smoke = args.get<bool>("smoke", false, "tiny data, 1 epoch per stage");
  const std::string device = args.get<std::string>("device", "cpu", "cpu|cuda: where training runs");
  const bool no_report = args.get<bool>("no-report", false, "train and write the grids only (no latency, no JSON)");
  const std::string json = args.get<std::string>("json", "", "also write the last task's results here");
  args.finish();
  if (s.smoke && !args.has("out")) s.out = "out/ckd_glue_smoke";
  check_output_dir(s.out);  // before any work: a bad --out or --json fails now
  check_output_path(json);
  tiny_models() = s.smoke;
  check(device == "cpu" || device == "cuda", "dynabert", "--device must be cpu or cuda, got '", device, "'");
  const Device dev = device == "cuda" ? Device::cuda : Device::cpu;
  check(exists(s.out + "/tokenizer.txt"), "dynabert", s.out, "/tokenizer.txt not found: run ckd_glue first");
  WordPieceTokenizer tok = WordPieceTokenizer::load(s.out + "/tokenizer.txt");
  auto t_all = Clock::now();

  for (const auto& task : tasks) {
    TaskData t = load_task(s, tok, task);
    auto teacher_ptr = load_teacher(s, tok, t, task);
    nn::Bert<float>& teacher = *teacher_ptr;
    const EvalResult teacher_test = evaluate(teacher, t.test);
    std::printf("dynabert %s: teacher test %.2f%%\n", task.c_str(), 100 * teacher_test.accuracy);

    // acc[variant][w][d] over seeds
    std::map<std::string, std::vector<std::vector<std::vector<double>>>> acc;
    for (const auto& v : variants)
      acc[v].assign(kWidths.size(), std::vector<std::vector<double>>(kDepths.size()));
    std::shared_ptr<nn::Bert<float>> teacher_copy;  // on --device; the teacher stays on the host
    nn::Bert<float>* teacher_dev = nullptr;          // (importance, rewiring and latency run there)
    for (const auto& variant : variants) {
      check(variant == "dynabert" || variant == "dynabert_ckd", "dynabert", "unknown variant '", variant, "'");
      for (int64_t seed : seeds) {
        const std::string gp = grid_path(s, task, variant, seed);
        if (exists(gp)) {
          const auto a = read_grid(gp);
          for (size_t wi = 0; wi < kWidths.size(); ++wi)
            for (size_t di = 0; di < kDepths.size(); ++di) acc[variant][wi][di].push_back(a[wi][di]);
          std::printf("%s %s seed %lld: %s exists, not retrained\n", task.c_str(), variant.c_str(),
                      static_cast<long long>(seed), gp.c_str());
          continue;
        }
        auto t0 = Clock::now();
        if (!teacher_dev && dev == Device::cpu) {
          teacher_dev = &teacher;
        } else if (!teacher_dev) {
          teacher_copy = nn::clone(teacher);
          teacher_copy->to(dev);
          teacher_dev = teacher_copy.get();
        }
        // One training of this (variant, seed) at CKD weight λ (0: the config's): the test grid
        // and the full-size network's dev accuracy (what a list of λ is chosen by).
        struct Trained {
          std::shared_ptr<nn::Bert<float>> student;
          std::vector<std::vector<double>> grid;
          double dev_full = 0;
        };
        auto train_one = [&](double lambda, const std::string& tag) {
          auto student = std::dynamic_pointer_cast<nn::Bert<float>>(teacher.clone());
          rewire(*student, importance(*student, t.dev));  // on the host
          student->to(dev);
          DynaOptions dy;
          dy.ckd = variant == "dynabert_ckd";
          dy.ckd_replaces = ckd_form == "replacing";
          dy.hidden_weight = conf_num(t.conf, "dyna_hidden_weight", 1.0);
          dy.ckd_lambda = lambda > 0 ? lambda : conf_num(t.conf, "dyna_ckd_lambda", 1.0);
          dy.ckd_weights = {conf_num(t.conf, "ckd_wr_pair", 1), conf_num(t.conf, "ckd_wr_window", 10),
                            conf_num(t.conf, "ckd_ltr_pair", 1), conf_num(t.conf, "ckd_ltr_angle", 10)};
          dy.ckd_window = int64_t(conf_num(t.conf, "ckd_window", 21));
          TrainOptions o;
          o.lr = conf_num(t.conf, "dyna_lr", 5e-5);
          o.batch_size = int64_t(conf_num(t.conf, "batch_size", 32));
          o.seed = uint64_t(seed);
          o.epochs = s.smoke && !args.has("stage1-epochs") && !args.has("epochs-per-stage") ? 1 : e1;
          o.label = task + " " + variant + " s" + std::to_string(seed) + tag + " stage 1";
          dy.depths = {1.0};
          train_dynabert(*student, *teacher_dev, t.train, t.dev, o, dy);
          auto stage1 = std::dynamic_pointer_cast<nn::Bert<float>>(student->clone());
          o.epochs = s.smoke && !args.has("stage2-epochs") && !args.has("epochs-per-stage") ? 1 : e2;
          o.label = task + " " + variant + " s" + std::to_string(seed) + tag + " stage 2";
          dy.depths = kDepths;
          train_dynabert(*student, *stage1, t.train, t.dev, o, dy);
          Trained r{student, std::vector<std::vector<double>>(kWidths.size(), std::vector<double>(kDepths.size())),
                    evaluate(*student, t.dev, 1.0, 1.0).accuracy};
          for (size_t wi = 0; wi < kWidths.size(); ++wi)
            for (size_t di = 0; di < kDepths.size(); ++di)
              r.grid[wi][di] = evaluate(*student, t.test, kWidths[wi], kDepths[di]).accuracy;
          return r;
        };
        Trained best;
        if (variant == "dynabert_ckd" && lambdas.size() > 1) {
          // λ chosen on dev: each candidate's grid and dev accuracy are kept (a rerun reads them)
          double best_dev = -1, best_lambda = 0;
          for (double l : lambdas) {
            char tag[48];
            std::snprintf(tag, sizeof tag, " l%g", l);
            const std::string cp = grid_beside(s, task, variant, seed, std::string("_l") + (tag + 2) + ".txt");
            Trained r;
            if (exists(cp) && exists(cp + ".dev")) {
              r.grid = read_grid(cp);
              std::ifstream f(cp + ".dev");
              check(static_cast<bool>(f >> r.dev_full), "dynabert", cp, ".dev: no dev accuracy");
            } else {
              r = train_one(l, tag);
              write_grid(cp, r.grid);
              char buf[64];
              std::snprintf(buf, sizeof buf, "%.17g\n", r.dev_full);
              write_file_atomic(cp + ".dev", buf);
            }
            std::printf("%s %s seed %lld λ %g: full-size dev accuracy %.2f%%\n", task.c_str(), variant.c_str(),
                        static_cast<long long>(seed), l, 100 * r.dev_full);
            if (r.dev_full > best_dev) best_dev = r.dev_full, best_lambda = l, best = std::move(r);
          }
          char buf[96];
          std::snprintf(buf, sizeof buf, "lambda %g dev %.17g\n", best_lambda, best_dev);
          write_file_atomic(grid_beside(s, task, variant, seed, "_lambda.txt"), buf);
          std::printf("%s %s seed %lld: λ %g chosen on dev\n", task.c_str(), variant.c_str(),
                      static_cast<long long>(seed), best_lambda);
        } else {
          best = train_one(lambdas.empty() ? 0.0 : lambdas.front(), "");
        }
        std::printf("%s %s seed %lld test accuracy (rows width 1 .75 .5 .25, columns depth 1 .75 .5):\n", task.c_str(),
                    variant.c_str(), static_cast<long long>(seed));
        for (size_t wi = 0; wi < kWidths.size(); ++wi) {
          std::printf("  ");
          for (size_t di = 0; di < kDepths.size(); ++di) {
            acc[variant][wi][di].push_back(best.grid[wi][di]);
            std::printf(" %6.2f", 100 * best.grid[wi][di]);
          }
          std::printf("\n");
        }
        write_grid(gp, best.grid);
        std::printf("  (%.0fs) -> %s\n", seconds_since(t0), gp.c_str());
        if (!best.student) continue;  // chosen from a candidate trained by an earlier run
        auto& student = best.student;
        student->to(Device::cpu);
        if (seed == 1) {
          auto sub = export_subnetwork(*student, 0.5, 0.5);
          const std::string p = s.out + "/" + task + "/" + variant + "_w0.5_d0.5.safetensors";
          nn::save_checkpoint(p, *sub, {{"width_mult", "0.5"}, {"depth_mult", "0.5"}, {"heads", std::to_string(sub->config().heads)},
                                        {"head_size", std::to_string(sub->config().head_dim())},
                                        {"ffn", std::to_string(sub->config().ffn)},
                                        {"layers", std::to_string(sub->config().layers)}});
          std::printf("  exported the (0.5, 0.5) sub-network: %s (%lld parameters)\n", p.c_str(),
                      static_cast<long long>(sub->num_parameters()));
        }
      }
    }

    if (no_report) continue;
    // Parameters and latency per sub-network (exported standalone models: what a deployment runs).
    Json out = Json::object();
    out["task"] = task;
    out["teacher_test_accuracy"] = teacher_test.accuracy;
    out["seeds"] = int64_t(seeds.size());
    if (lambdas.size() > 1) {  // λ chosen on dev per seed (dynabert_ckd)
      Json chosen = Json::object();
      for (int64_t seed : seeds) {
        std::ifstream f(grid_beside(s, task, "dynabert_ckd", seed, "_lambda.txt"));
        std::string key, key2;
        double l = 0, d = 0;
        if (f >> key >> l >> key2 >> d) chosen[std::to_string(seed)] = Json::array({l, d});
      }
      out["dynabert_ckd_lambda_chosen_on_dev"] = chosen;  // seed -> [λ, full-size dev accuracy]
    }
    Json cells = Json::array();
    std::ostringstream csv;
    csv << "width,depth,params,latency_b1_ms,latency_b32_ms";
    for (const auto& v : variants) csv << "," << v << "_mean," << v << "_std";
    csv << "\n";
    struct Point { double lat; std::map<std::string, double> mean; };
    std::vector<Point> points;
    for (size_t wi = 0; wi < kWidths.size(); ++wi)
      for (size_t di = 0; di < kDepths.size(); ++di) {
        auto sub = export_subnetwork(teacher, kWidths[wi], kDepths[di]);
        const double l1 = latency_seconds(*sub, t.test, 1, s.smoke ? 3 : 20);
        const double l32 = latency_seconds(*sub, t.test, 32, s.smoke ? 2 : 5);
        Json c = Json::object();
        c["width"] = kWidths[wi];
        c["depth"] = kDepths[di];
        c["params"] = sub->num_parameters();
        c["latency_b1_ms"] = 1e3 * l1;
        c["latency_b32_ms"] = 1e3 * l32;
        char buf[128];
        std::snprintf(buf, sizeof buf, "%.2f,%.2f,%lld,%.3f,%.3f", kWidths[wi], kDepths[di],
                      static_cast<long long>(sub->num_parameters()), 1e3 * l1, 1e3 * l32);
        csv << buf;
        Point pt{1e3 * l32, {}};
        for (const auto& v : variants) {
          const auto& xs = acc[v][wi][di];
          double m = 0, q = 0;
          for (double x : xs) m += x;
          m /= double(xs.size());
          for (double x : xs) q += (x - m) * (x - m);
          const double sd = xs.size() > 1 ? std::sqrt(q / double(xs.size() - 1)) : 0.0;
          c[v + "_mean"] = m;
          c[v + "_std"] = sd;
          Json all = Json::array();
          for (double x : xs) all.push_back(x);
          c[v + "_seeds"] = all;
          std::snprintf(buf, sizeof buf, ",%.4f,%.4f", m, sd);
          csv << buf;
          pt.mean[v] = m;
        }
        csv << "\n";
        cells.push_back(c);
        points.push_back(pt);
      }
    out["cells"] = cells;
    // DynaBERT + CKD against DynaBERT per sub-network, paired by seed (both variants run the same
    // seeds, in order): cells whose mean difference exceeds two standard errors, each way.
    if (acc.count("dynabert") && acc.count("dynabert_ckd")) {
      int64_t higher = 0, lower = 0, within = 0;
      for (size_t wi = 0; wi < kWidths.size(); ++wi)
        for (size_t di = 0; di < kDepths.size(); ++di) {
          const auto& a = acc["dynabert_ckd"][wi][di];
          const auto& b = acc["dynabert"][wi][di];
          std::vector<double> d;
          for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) d.push_back(a[i] - b[i]);
          const PairedTest pt = paired_test(d);
          if (pt.n > 1 && pt.mean > 0 && pt.mean > 2 * pt.se) ++higher;
          else if (pt.n > 1 && pt.mean < 0 && -pt.mean > 2 * pt.se) ++lower;
          else ++within;
        }
      Json cmp = Json::object();
      cmp["ckd_higher_beyond_2se"] = higher;
      cmp["ckd_lower_beyond_2se"] = lower;
      cmp["within_2se"] = within;
      out["dynabert_ckd_vs_dynabert"] = cmp;
      std::printf("dynabert %s: DynaBERT + CKD vs DynaBERT, paired by seed: %lld cells higher, %lld lower by more "
                  "than 2 standard errors, %lld within\n", task.c_str(), static_cast<long long>(higher),
                  static_cast<long long>(lower), static_cast<long long>(within));
    }
    const std::string base = s.out + "/dynabert_" + task;
    write_json(base + ".json", out);
    if (!json.empty()) write_json(json, out);
    write_file_atomic(base + ".csv", csv.str());
    std::sort(points.begin(), points.end(), [](const Point& a, const Point& b) { return a.lat < b.lat; });
    LinePlot p;
    p.title = "DynaBERT sub-networks on " + task + " (mean over seeds)";
    p.xlabel = "latency, batch 32 (ms)";
    p.ylabel = "test accuracy";
    for (const auto& pt : points) p.x.push_back(pt.lat);
    for (const auto& v : variants) {
      LineSeries ls{v, {}, {}};
      for (const auto& pt : points) ls.y.push_back(pt.mean.at(v));
      p.series.push_back(ls);
    }
    write_csv(base + "_latency.csv", p);
    const bool png = plot_lines(base + "_latency.png", p);
    std::printf("dynabert %s: %s.json, %s.csv%s\n", task.c_str(), base.c_str(), base.c_str(),
                png ? (", " + base + "_latency.png").c_str() : " (no gnuplot: no PNG)");
  }
  std::printf("dynabert: done in %.0fs\n", seconds_since(t_all));
  return 0;
}

int main(int argc, char** argv) { return run_main(argc, argv, "dynabert", program); }
