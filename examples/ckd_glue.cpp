// examples/ckd_glue.cpp — contextual knowledge distillation (CKD) of a mini-BERT on real English
// text, against every baseline of the paper: the whole pipeline, from a sub-word tokenizer to the
// results table (issue 9; papers.md §1).
//
//   build/examples/ckd_glue --stage all --tasks sent --seeds 1,2,3            (one task)
//   build/examples/ckd_glue --stage all --smoke            (CI: tiny models, tiny data, seconds)
//   build/examples/ckd_glue --stage pretrain --model teacher                  (one piece at a time)
//   build-cuda/examples/ckd_glue --stage pretrain --model teacher --device cuda --pretrain-epochs 16
//                                                 (on a GPU; --max-steps 100 times a probe first;
//                                                  --device cuda works for finetune and distill too)
//   build/examples/ckd_glue --stage finetune --tasks sent
//   build/examples/ckd_glue --stage distill --tasks sent --students s4 --methods ckd,kd --seeds 1
//   build/examples/ckd_glue --stage report
//
// Stages (each reads what the earlier ones wrote under --out, default out/ckd_glue, and skips
// work whose output exists; training checkpoints every epoch and resumes with --resume):
//   tokenizer  WordPiece, ~8k tokens, trained on the pre-training text -> tokenizer.txt
//   pretrain   masked-LM pre-training of the teacher (6 layers, hidden 256, 4 heads, FFN 1024) and
//              of the students s4 (4 / 192 / 3 / 768), s3 (3 / 192 / 3 / 768: 4 aligned layers)
//              and s2 (2 / 128 / 2 / 512), smaller budget
//              -> pretrain_<model>.safetensors
//   finetune   the teacher on each task (seed 1) -> <task>/teacher.safetensors
//   distill    students × methods × seeds, every method from the same pre-trained student, each
//              run evaluated at its best-dev epoch; --tune-kd/-pkd/-tinybert/-ckd choose each
//              method's setting on dev per seed (recorded in runs.csv and results.json);
//              the teacher's logits, aligned hidden states and attention maps are cached once
//              per task -> a row per run in runs.csv (--runs-file runs_b.csv for a second process
//              running at the same time; the report reads every runs*.csv)
//   report     results.json, results.md (methods × students rows, tasks columns, mean ± std over
//              seeds, parameters, speed-up over the teacher, the survey's distillation metric;
//              then each CKD row against the best of KD/PKD/TinyBERT, paired by seed: mean
//              difference ± standard error, Student's t, beats/ties/loses),
//              wr_heatmap.png (teacher vs student word-relation matrices of one sentence)
// Hyper-parameters: examples/ckd_glue/<task>.conf and examples/ckd_glue/pretrain.conf
// ("key = value" lines; flags such as --student-epochs override them).
#include "mini_bert_common.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <vector>

using namespace distillery;
using namespace distillery::methods;
using namespace mini_bert;

namespace {
void stage_pretrain(const Setup& s, const WordPieceTokenizer& tok, const std::string& model, int64_t max_len) {
  const std::string path = pretrain_path(s, model);
  if (exists(path)) {
    std::printf("pretrain %s: %s exists, skipped\n", model.c_str(), path.c_str());
    return;
  }
  auto t0 = Clock::now();
  std::vector<std::string> text = load_pretraining_text(s.data);
  int64_t cut = 0;
  TokenSet corpus = encode(tok, text, {}, max_len, &cut);
  if (s.smoke) corpus = subsample(corpus, 600);
  std::printf("pretrain %s: %lld sequences, %lld tokens (%lld truncated to %lld)\n", model.c_str(),
              static_cast<long long>(corpus.size()), static_cast<long long>(corpus.tokens()),
              static_cast<long long>(cut), static_cast<long long>(max_len));
  Generator gen(model == "teacher" ? 1001 : model == "s4" ? 1002 : model == "s2" ? 1003 : 1004);
  nn::Bert<float> m(model_config(model, tok.vocab_size(), max_len), gen);
  m.to(s.device);
  TrainOptions o;
  const std::string pre = model == "teacher" ? "teacher_" : "student_";
  o.epochs = s.smoke ? 1 : int64_t(conf_num(s.pre, pre + "epochs", 3));
  if (s.pretrain_epochs > 0) o.epochs = s.pretrain_epochs;
  o.max_steps = s.max_steps;
  o.lr = conf_num(s.pre, pre + "lr", 5e-4);
  o.batch_size = int64_t(conf_num(s.pre, "batch_size", 64));
  o.warmup_frac = conf_num(s.pre, "warmup_frac", 0.06);
  o.seed = 1;
  o.label = "pretrain " + model;
  o.checkpoint = s.out + "/pretrain_" + model + ".ckpt.safetensors";
  o.checkpoint_every = s.device == Device::cpu ? 200 : 0;  // long CPU runs: resumable inside an epoch
  o.resume = s.resume;
  auto t1 = Clock::now();
  TrainHistory h = pretrain_mlm(m, corpus, o);
  if (h.epochs.empty()) {  // --max-steps stopped it inside the first epoch (a speed probe)
    std::printf("pretrain %s: stopped after %lld steps (--max-steps) in %.2fs of training (%.1fs with loading); "
                "nothing saved\n", model.c_str(), static_cast<long long>(h.steps), seconds_since(t1),
                seconds_since(t0));
    return;
  }
  nn::save_checkpoint(path, m, {{"model", model}, {"epochs", std::to_string(h.epochs.size())},
                                {"device", device_name(s.device)},
                                {"final_mlm_loss", std::to_string(h.epochs.back().loss)}});
  std::printf("pretrain %s: MLM loss %.3f after %lld epochs, %.0fs -> %s\n", model.c_str(), h.epochs.back().loss,
              static_cast<long long>(o.epochs), h.seconds, path.c_str());
}

void stage_finetune(const Setup& s, const WordPieceTokenizer& tok, const std::string& task) {
  const std::string path = teacher_path(s, task);
  if (exists(path)) {
    std::printf("finetune teacher %s: %s exists, skipped\n", task.c_str(), path.c_str());
    return;
  }
  make_dirs(s.out + "/" + task);
  TaskData t = load_task(s, tok, task);
  auto m = from_pretrained(s, "teacher", tok.vocab_size(), t, 1);
  TrainOptions o;
  o.epochs = s.smoke ? 1 : int64_t(conf_num(t.conf, "teacher_epochs", 4));
  o.lr = conf_num(t.conf, "teacher_lr", 1e-4);
  o.batch_size = int64_t(conf_num(t.conf, "batch_size", 32));
  o.seed = 1;
  o.label = "finetune teacher " + task;
  o.checkpoint = s.out + "/" + task + "/teacher.ckpt.safetensors";
  o.resume = s.resume;
  TrainHistory h = train_task(*m, t.train, t.dev, o, Method::finetune, DistillConfig{},
                              static_cast<TeacherCache<float>*>(nullptr));
  EvalResult dev = evaluate(*m, t.dev), test = evaluate(*m, t.test);
  nn::save_checkpoint(path, *m, {{"task", task}, {"dev_acc", std::to_string(dev.accuracy)},
                                 {"test_acc", std::to_string(test.accuracy)}});
  RunRow r;
  r.task = task; r.student = "teacher"; r.method = "finetune"; r.seed = 1;
  r.dev_acc = dev.accuracy; r.dev_f1 = dev.macro_f1; r.test_acc = test.accuracy; r.test_f1 = test.macro_f1;
  r.params = m->num_parameters(); r.train_seconds = h.seconds;
  r.tokens_per_second = h.epochs.empty() ? 0 : h.epochs.back().tokens_per_second;
  upsert_run(s.out + "/" + s.runs_file, r);
  std::printf("teacher %s: dev %.2f%% (F1 %.2f%%), test %.2f%% (F1 %.2f%%), %.0fs\n", task.c_str(),
              100 * dev.accuracy, 100 * dev.macro_f1, 100 * test.accuracy, 100 * test.macro_f1, h.seconds);
}

DistillConfig distill_config(const std::map<std::string, std::string>& c) {
  DistillConfig d;
  d.alpha = conf_num(c, "kd_alpha", d.alpha);
  d.temperature = conf_num(c, "kd_temperature", d.temperature);
  d.pkd_beta = conf_num(c, "pkd_beta", d.pkd_beta);
  d.tiny_hidden = conf_num(c, "tinybert_hidden", d.tiny_hidden);
  d.tiny_attention = conf_num(c, "tinybert_attention", d.tiny_attention);
  d.ckd_lambda = conf_num(c, "ckd_lambda", d.ckd_lambda);
  d.ckd_weights.wr_pair = conf_num(c, "ckd_wr_pair", d.ckd_weights.wr_pair);
  d.ckd_weights.wr_triple = conf_num(c, "ckd_wr_window", d.ckd_weights.wr_triple);
  d.ckd_weights.ltr_pair = conf_num(c, "ckd_ltr_pair", d.ckd_weights.ltr_pair);
  d.ckd_weights.ltr_triple = conf_num(c, "ckd_ltr_angle", d.ckd_weights.ltr_triple);
  d.ckd_window = int64_t(conf_num(c, "ckd_window", double(d.ckd_window)));
  // logit term: "reference" = CKD's DistillKL (soft-CE at T, no CE), "hinton" = (1−α) CE + α T² KL
  if (auto it = c.find("kd_form"); it != c.end()) d.kd_form = parse_kd_form(it->second);
  if (auto it = c.find("ckd_kd_form"); it != c.end()) d.ckd_kd_form = parse_kd_form(it->second);
  return d;
}

// Dev tuning (--tune-kd, --tune-pkd, --tune-tinybert, --tune-ckd): candidate settings per method
// family; each seed trains every candidate and keeps the one with the best (best-epoch) dev
// accuracy. Settings: kd "α:T"; pkd "β"; tinybert "hidden:attention"; ckd and ckd_kd "pair/triple"
// (the word- and layer-relation weights alike: 1/10, 100/1000, 100/1 are the reference's).
using Grids = std::map<std::string, std::vector<std::string>>;

std::vector<std::string> candidates(const Grids& g, Method m) {
  const char* fam = m == Method::kd ? "kd" : m == Method::pkd ? "pkd" : m == Method::tinybert ? "tinybert"
                  : (m == Method::ckd || m == Method::ckd_kd) ? "ckd" : "";
  auto it = g.find(fam);
  return it == g.end() || it->second.empty() ? std::vector<std::string>{""} : it->second;
}

void apply_setting(DistillConfig& d, Method m, const std::string& v) {
  if (v.empty()) return;
  auto two = [&](char sep) {
    const size_t k = v.find(sep);
    check(k != std::string::npos, "ckd_glue", "setting '", v, "' for ", method_name(m), " needs 'a", sep, "b'");
    return std::make_pair(std::stod(v.substr(0, k)), std::stod(v.substr(k + 1)));
  };
  if (m == Method::kd) { auto [a, t] = two(':'); d.alpha = a; d.temperature = t; }
  else if (m == Method::pkd) d.pkd_beta = std::stod(v);
  else if (m == Method::tinybert) { auto [h, a] = two(':'); d.tiny_hidden = h; d.tiny_attention = a; }
  else if (m == Method::ckd || m == Method::ckd_kd) {
    auto [p, t] = two('/');
    d.ckd_weights = losses::CkdWeights{p, t, p, t};
  }
}

void stage_distill(const Setup& s, const WordPieceTokenizer& tok, const std::string& task,
                   const std::vector<std::string>& students, const std::vector<std::string>& methods,
                   const std::vector<int64_t>& seeds, int64_t epochs_override, const Grids& grids) {
  TaskData t = load_task(s, tok, task);
  auto teacher_ptr = load_teacher(s, tok, t, task);
  nn::Bert<float>& teacher = *teacher_ptr;
  const auto runs = all_runs(s.out);
  std::unique_ptr<TeacherCache<float>> cache;
  for (const auto& student : students) {
    nn::BertConfig sc = model_config(student, tok.vocab_size(), 128);
    auto al = losses::layer_alignment(teacher.config().layers + 1, sc.layers + 1, losses::AlignmentStrategy::emb_skip);
    for (const auto& mname : methods) {
      Method method = parse_method(mname);
      for (int64_t seed : seeds) {
        bool done = std::any_of(runs.begin(), runs.end(), [&](const RunRow& r) {
          return r.task == task && r.student == student && r.method == mname && r.seed == seed;
        });
        if (done) {
          std::printf("distill %s %s %s seed %lld: in runs.csv, skipped\n", task.c_str(), student.c_str(),
                      mname.c_str(), static_cast<long long>(seed));
          continue;
        }
        if (uses_teacher(method) && (!cache || cache->teacher_layers != al.first)) {
          auto t0 = Clock::now();
          cache = std::make_unique<TeacherCache<float>>(TeacherCache<float>::build(teacher, t.train, al.first, true, true));
          std::printf("teacher cache %s: %lld examples, layers", task.c_str(), static_cast<long long>(t.train.size()));
          for (int64_t l : al.first) std::printf(" %lld", static_cast<long long>(l));
          std::printf(", %.0f MB, %.1fs\n", double(cache->bytes()) / 1e6, seconds_since(t0));
        }
        // Every candidate setting from the same pre-trained student; best-dev epoch of each,
        // then the candidate with the best dev accuracy (the first of ties).
        // With several candidates, each finished one leaves "<prefix>_c<i>.done" (its dev
        // accuracy, F1, best epoch, seconds, tokens/s) and the best so far its weights in
        // "<prefix>_best.safetensors", so --resume skips finished candidates.
        std::unique_ptr<nn::Bert<float>> m;
        TrainHistory h;
        EvalResult dev, test;
        std::string chosen;
        double setting_seconds = 0;
        bool have_best = false;
        size_t best_ci = 0;
        const auto cands = candidates(grids, method);
        const std::string prefix = s.out + "/" + task + "/" + student + "_" + mname + "_s" + std::to_string(seed);
        for (size_t ci = 0; ci < cands.size(); ++ci) {
          const std::string done_path = prefix + "_c" + std::to_string(ci) + ".done";
          if (cands.size() > 1 && s.resume && exists(done_path)) {
            std::ifstream f(done_path);
            EvalResult dc_dev;
            TrainHistory hc;
            EpochLog last;
            check(static_cast<bool>(f >> dc_dev.accuracy >> dc_dev.macro_f1 >> hc.best_epoch >> hc.seconds >>
                                    last.tokens_per_second),
                  "ckd_glue", done_path, ": expected 5 numbers");
            hc.epochs.push_back(last);
            setting_seconds += hc.seconds;
            std::printf("tune %s %s %s seed %lld: %s dev %.2f%% (best epoch %lld; finished earlier)\n", task.c_str(),
                        student.c_str(), mname.c_str(), static_cast<long long>(seed), cands[ci].c_str(),
                        100 * dc_dev.accuracy, static_cast<long long>(hc.best_epoch));
            if (!have_best || dc_dev.accuracy > dev.accuracy) {
              have_best = true, best_ci = ci, m.reset(), h = hc, dev = dc_dev, chosen = cands[ci];
            }
            continue;
          }
          auto mc = from_pretrained(s, student, tok.vocab_size(), t, uint64_t(seed));
          TrainOptions o;
          o.epochs = epochs_override > 0 ? epochs_override
                                         : (s.smoke ? 1 : int64_t(conf_num(t.conf, "student_epochs", 5)));
          o.lr = conf_num(t.conf, "student_lr", 2e-4);
          o.batch_size = int64_t(conf_num(t.conf, "batch_size", 32));
          o.seed = uint64_t(seed);
          o.keep_best_dev = true;
          o.label = task + " " + student + " " + mname + " s" + std::to_string(seed) +
                    (cands[ci].empty() ? "" : " [" + cands[ci] + "]");
          o.checkpoint = prefix + (cands.size() > 1 ? "_c" + std::to_string(ci) : "") + ".ckpt.safetensors";
          o.resume = s.resume;
          DistillConfig dc = distill_config(t.conf);
          apply_setting(dc, method, cands[ci]);
          TrainHistory hc = train_task(*mc, t.train, t.dev, o, method, dc, cache.get(), teacher.config().layers);
          EvalResult dc_dev = evaluate(*mc, t.dev);
          setting_seconds += hc.seconds;
          if (cands.size() > 1)
            std::printf("tune %s %s %s seed %lld: %s dev %.2f%% (best epoch %lld)\n", task.c_str(), student.c_str(),
                        mname.c_str(), static_cast<long long>(seed), cands[ci].c_str(), 100 * dc_dev.accuracy,
                        static_cast<long long>(hc.best_epoch));
          if (!have_best || dc_dev.accuracy > dev.accuracy) {
            m = std::move(mc);
            have_best = true, best_ci = ci, h = hc, dev = dc_dev, chosen = cands[ci];
            if (cands.size() > 1)
              nn::save_checkpoint(prefix + "_best.safetensors", *m, {{"candidate", std::to_string(ci)}});
          }
          if (cands.size() > 1) {
            char buf[160];
            std::snprintf(buf, sizeof buf, "%.17g %.17g %lld %.17g %.17g\n", dc_dev.accuracy, dc_dev.macro_f1,
                          static_cast<long long>(hc.best_epoch), hc.seconds,
                          hc.epochs.empty() ? 0.0 : hc.epochs.back().tokens_per_second);
            write_file_atomic(done_path, buf);
          }
          std::remove(o.checkpoint.c_str());  // finished; the best-dev copy too
          std::remove((o.checkpoint + ".best.safetensors").c_str());
        }
        if (!m) {  // the best candidate finished in an earlier run: its kept weights
          m = from_pretrained(s, student, tok.vocab_size(), t, uint64_t(seed));
          Metadata meta;
          nn::load_checkpoint(prefix + "_best.safetensors", *m, true, &meta);
          check(meta["candidate"] == std::to_string(best_ci), "ckd_glue", prefix,
                "_best.safetensors holds candidate ", meta["candidate"], ", expected ", best_ci);
        }
        test = evaluate(*m, t.test);
        RunRow r;
        r.task = task; r.student = student; r.method = mname; r.seed = seed;
        r.dev_acc = dev.accuracy; r.dev_f1 = dev.macro_f1; r.test_acc = test.accuracy; r.test_f1 = test.macro_f1;
        r.params = m->num_parameters(); r.train_seconds = setting_seconds;
        r.tokens_per_second = h.epochs.empty() ? 0 : h.epochs.back().tokens_per_second;
        r.best_epoch = h.best_epoch;
        r.setting = chosen;
        upsert_run(s.out + "/" + s.runs_file, r);
        if (cands.size() > 1) {  // recorded: the candidates' files are no longer needed
          for (size_t ci = 0; ci < cands.size(); ++ci)
            std::remove((prefix + "_c" + std::to_string(ci) + ".done").c_str());
          std::remove((prefix + "_best.safetensors").c_str());
        }
        if (seed == seeds.front() && (method == Method::kd || method == Method::ckd))  // for the heat map
          nn::save_checkpoint(prefix + ".safetensors", *m);
        std::printf("==> %s %s %s seed %lld: dev %.2f%% test %.2f%% (F1 %.2f%%) at best-dev epoch %lld%s%s, %.0fs\n",
                    task.c_str(), student.c_str(), mname.c_str(), static_cast<long long>(seed), 100 * dev.accuracy,
                    100 * test.accuracy, 100 * test.macro_f1, static_cast<long long>(h.best_epoch),
                    chosen.empty() ? "" : ", setting ", chosen.c_str(), setting_seconds);
      }
    }
  }
}

// Word-relation (cosine, row-softmax) matrices of the last aligned layer for one dev sentence:
// teacher | student, side by side, one row per student size.
void write_heatmap(const Setup& s, const WordPieceTokenizer& tok, const std::string& task,
                   const std::vector<std::string>& students, const std::string& path) {
  TaskData t = load_task(s, tok, task);
  auto teacher_ptr = load_teacher(s, tok, t, task);
  nn::Bert<float>& teacher = *teacher_ptr;
  // the first dev sentence with 12..24 tokens
  int64_t pick = 0;
  for (int64_t i = 0; i < t.dev.size(); ++i)
    if (t.dev.ids[i].size() >= 12 && t.dev.ids[i].size() <= 24) { pick = i; break; }
  TokenSet one;
  one.ids = {t.dev.ids[pick]};
  one.labels = {t.dev.labels[pick]};
  const int64_t n = int64_t(one.ids[0].size());
  auto relation = [&](nn::Bert<float>& m) {
    NoGradGuard ng;
    m.eval();
    nn::EncoderOptions<float> eo;
    eo.output_hidden_states = true;
    Tensor<int64_t> ids = pad_batch(one, {0});
    auto out = m.encode(ids, eo);
    Tensor<float> h = select(out.hidden_states.back(), 0, 0);  // [n, d]
    Tensor<float> u = div(h, clamp_min(sqrt(sum(square(h), {-1}, true)), 1e-12f));
    return softmax(matmul(u, transpose(u, 0, 1)), -1).contiguous();  // [n, n]
  };
  std::vector<Tensor<float>> tiles{relation(teacher)};
  std::vector<std::string> names{"teacher"};
  for (const auto& st : students)
    for (std::string method : {"kd", "ckd"}) {
      const std::string sp = s.out + "/" + task + "/" + st + "_" + method + "_s1.safetensors";
      if (!exists(sp)) continue;
      nn::BertConfig sc = model_config(st, tok.vocab_size(), 128);
      sc.num_labels = t.raw.num_labels();
      Generator g1(1);
      nn::Bert<float> sm(sc, g1);
      nn::load_checkpoint(sp, sm);
      tiles.push_back(relation(sm));
      names.push_back(st + " " + method);
    }
  Tensor<float> grid = Tensor<float>::zeros({int64_t(tiles.size()), 1, n, n});
  for (size_t k = 0; k < tiles.size(); ++k) {
    // scale each matrix to [0, 1] by its own max for visibility
    auto v = tiles[k].to_vector();
    float mx = *std::max_element(v.begin(), v.end());
    for (int64_t i = 0; i < n * n; ++i) grid.data_ptr()[k * n * n + i] = v[i] / mx;
  }
  GridOptions go;
  go.nrow = int64_t(tiles.size());
  go.scale = 12;
  go.pad_value = 1.0;
  write_image_grid(path, grid, go);
  std::string words;
  for (int64_t id : one.ids[0]) words += tok.token(id) + " ";
  std::string panels;
  for (const auto& nm : names) panels += (panels.empty() ? "" : " | ") + nm;
  std::printf("heat map: %s, panels %s, sentence \"%s\"\n", path.c_str(), panels.c_str(), words.c_str());
}

void stage_report(const Setup& s, const std::vector<std::string>& tasks, const WordPieceTokenizer& tok,
                  const std::string& json_path) {
  auto runs = all_runs(s.out);
  check(!runs.empty(), "ckd_glue", "no runs in ", s.out, "/runs*.csv: run --stage distill first");
  // teacher params and per-example inference time; student params/time
  std::map<std::string, int64_t> params;
  std::map<std::string, double> infer;
  const TaskData timing_task = load_task(s, tok, tasks.front());  // inference timing on its dev set
  for (std::string model : {"teacher", "s4", "s3", "s2"}) {
    nn::BertConfig c = model_config(model, tok.vocab_size(), 128);
    c.num_labels = 2;
    Generator g(1);
    nn::Bert<float> m(c, g);
    params[model] = m.num_parameters();
    infer[model] = inference_seconds_per_example(m, timing_task.dev);
  }
  struct Agg {
    std::vector<double> acc, f1, dev;
    std::map<int64_t, double> acc_by_seed;  // for the paired tests
    Json best_epochs = Json::array(), settings = Json::array();  // per seed
  };
  std::map<std::string, std::map<std::string, Agg>> table;  // row (student/method) -> task
  std::vector<std::string> rows;
  for (const auto& r : runs) {
    const std::string row = r.student + " " + r.method;
    if (std::find(rows.begin(), rows.end(), row) == rows.end()) rows.push_back(row);
    table[row][r.task].acc.push_back(r.test_acc);
    table[row][r.task].acc_by_seed[r.seed] = r.test_acc;
    table[row][r.task].f1.push_back(r.test_f1);
    table[row][r.task].dev.push_back(r.dev_acc);
    table[row][r.task].best_epochs.push_back(r.best_epoch);
    table[row][r.task].settings.push_back(r.setting);
  }
  auto mean_std = [](const std::vector<double>& v) {
    double m = 0, q = 0;
    for (double x : v) m += x;
    m /= double(v.size());
    for (double x : v) q += (x - m) * (x - m);
    return std::make_pair(m, v.size() > 1 ? std::sqrt(q / double(v.size() - 1)) : 0.0);
  };
  Json out = Json::object();
  Json jrows = Json::array();
  std::ostringstream md;
  md << "| model / method | params | speed-up |";
  for (const auto& t : tasks) md << " " << t << " test acc (F1) [dev acc] |";
  md << " mean acc | distillation metric |\n|---|---|---|";
  for (size_t i = 0; i < tasks.size() + 2; ++i) md << "---|";
  md << "\n";
  std::map<std::string, double> teacher_acc;
  for (const auto& t : tasks)
    if (table.count("teacher finetune") && table["teacher finetune"].count(t))
      teacher_acc[t] = mean_std(table["teacher finetune"][t].acc).first;
  for (const auto& row : rows) {
    const std::string model = row.substr(0, row.find(' '));
    Json jr = Json::object();
    jr["row"] = row;
    jr["params"] = params[model];
    jr["speedup"] = infer["teacher"] / infer[model];
    char buf[160];
    std::snprintf(buf, sizeof buf, "| %s | %.2fM | %.1fx |", row.c_str(), double(params[model]) / 1e6,
                  infer["teacher"] / infer[model]);
    md << buf;
    double acc_sum = 0, tacc_sum = 0;
    int64_t present = 0;
    Json jt = Json::object();
    for (const auto& t : tasks) {
      if (!table[row].count(t)) { md << " – |"; continue; }
      auto a = mean_std(table[row][t].acc), f = mean_std(table[row][t].f1), dv = mean_std(table[row][t].dev);
      std::snprintf(buf, sizeof buf, " %.2f ± %.2f (%.2f) [%.2f] |", 100 * a.first, 100 * a.second, 100 * f.first,
                    100 * dv.first);
      md << buf;
      Json c = Json::object();
      c["test_acc_mean"] = a.first;
      c["test_acc_std"] = a.second;
      c["test_f1_mean"] = f.first;
      c["dev_acc_mean"] = dv.first;
      c["dev_acc_std"] = dv.second;
      c["seeds"] = int64_t(table[row][t].acc.size());
      c["best_dev_epochs"] = table[row][t].best_epochs;  // test accuracy is the best-dev epoch's
      c["settings"] = table[row][t].settings;            // chosen on dev (--tune-*), per seed
      jt[t] = c;
      if (teacher_acc.count(t)) { acc_sum += a.first; tacc_sum += teacher_acc[t]; ++present; }
    }
    jr["tasks"] = jt;
    if (present > 0) {
      const double ds = losses::distillation_score(double(params[model]), double(params["teacher"]), acc_sum / present,
                                                   tacc_sum / present, 0.5);
      jr["distillation_metric"] = ds;
      std::snprintf(buf, sizeof buf, " %.2f | %.3f |\n", 100 * acc_sum / present, ds);
    } else {
      std::snprintf(buf, sizeof buf, " – | – |\n");
    }
    md << buf;
    jrows.push_back(jr);
  }
  out["rows"] = jrows;
  // CKD rows against the best baseline (KD, PKD or TinyBERT-style: highest mean test accuracy) of
  // the same student and task, paired by seed: mean difference ± standard error, Student's t.
  md << "\n| task | student | CKD row | best baseline | CKD − baseline, points (seeds) | t | verdict |\n"
        "|---|---|---|---|---|---|---|\n";
  Json jpaired = Json::array();
  for (const auto& t : tasks)
    for (std::string student : {"s4", "s3", "s2"}) {
      std::string best;
      double best_acc = -1;
      for (std::string b : {"kd", "pkd", "tinybert"}) {
        const std::string row = student + " " + b;
        if (!table.count(row) || !table[row].count(t)) continue;
        const double m = mean_std(table[row][t].acc).first;
        if (m > best_acc) best_acc = m, best = row;
      }
      if (best.empty()) continue;
      for (std::string c : {"ckd", "ckd_kd"}) {
        const std::string row = student + " " + c;
        if (!table.count(row) || !table[row].count(t)) continue;
        const PairedTest pt = paired_test(table[row][t].acc_by_seed, table[best][t].acc_by_seed);
        char tbuf[32], buf[256];
        if (pt.n < 2) std::snprintf(tbuf, sizeof tbuf, "–");
        else if (pt.se == 0) std::snprintf(tbuf, sizeof tbuf, "%s", pt.mean == 0 ? "0" : pt.mean > 0 ? "inf" : "-inf");
        else std::snprintf(tbuf, sizeof tbuf, "%.2f", pt.t);
        std::snprintf(buf, sizeof buf, "| %s | %s | %s | %s | %+.2f ± %.2f (%d) | %s | %s |\n", t.c_str(),
                      student.c_str(), c.c_str(), best.substr(best.find(' ') + 1).c_str(), 100 * pt.mean,
                      100 * pt.se, pt.n, tbuf, pt.verdict());
        md << buf;
        Json j = Json::object();
        j["task"] = t;
        j["student"] = student;
        j["ckd_row"] = row;
        j["baseline_row"] = best;
        j["seeds"] = int64_t(pt.n);
        j["diff_mean"] = pt.mean;
        j["diff_std"] = pt.sd;
        j["diff_se"] = pt.se;
        j["t"] = pt.t;
        j["verdict"] = std::string(pt.verdict());
        jpaired.push_back(j);
      }
    }
  out["paired_tests"] = jpaired;
  out["inference_seconds_per_example_b32"] = Json::object();
  for (const auto& kv : infer) out["inference_seconds_per_example_b32"][kv.first] = kv.second;
  write_json(s.out + "/results.json", out);
  if (!json_path.empty()) write_json(json_path, out);
  write_file_atomic(s.out + "/results.md", md.str());
  write_heatmap(s, tok, tasks.front(), {"s4", "s2"}, s.out + "/wr_heatmap.png");
  std::printf("\n%s\n(results: %s/results.json, %s/results.md)\n", md.str().c_str(), s.out.c_str(), s.out.c_str());
}

}  // namespace

int program(int argc, char** argv) {
  Args args(argc, argv, "ckd_glue: mini-BERT pre-training, fine-tuning and CKD vs KD/PKD/TinyBERT on mini-GLUE");
  Setup s;
  const std::string stage = args.get<std::string>("stage", "all", "tokenizer|pretrain|finetune|distill|report|all");
  s.out = args.get<std::string>("out", "out/ckd_glue", "output folder");
  s.data = args.get<std::string>("data", "data", "data folder (scripts/get-data.sh)");
  s.conf_dir = args.get<std::string>("config", "examples/ckd_glue", "folder with pretrain.conf and <task>.conf");
  const auto tasks = split_list(args.get<std::string>("tasks", "sent,genre,topic,spam", "comma-separated tasks"));
  const auto students = split_list(args.get<std::string>("students", "s4,s2", "student sizes (s4, s3, s2)"));
  const auto methods = split_list(
      args.get<std::string>("methods", "finetune,kd,pkd,tinybert,ckd,ckd_kd", "methods to compare"));
  std::vector<int64_t> seeds;
  for (const auto& x : split_list(args.get<std::string>("seeds", "1,2,3", "student seeds"))) seeds.push_back(std::stoll(x));
  std::string pre_default = "teacher";  // the teacher and the students asked for
  for (const auto& st : students) pre_default += "," + st;
  const std::string pre_models = args.get<std::string>("model", pre_default, "models to pre-train");
  const int64_t student_epochs = args.get<int64_t>("student-epochs", 0, "override the configs' student_epochs");
  Grids grids;  // dev tuning; empty = the config's setting
  grids["kd"] = split_list(args.get<std::string>("tune-kd", "", "KD α:T candidates chosen on dev, e.g. 0.5:4,0.9:4,0.5:2"));
  grids["pkd"] = split_list(args.get<std::string>("tune-pkd", "", "PKD β candidates, e.g. 10,100,500"));
  grids["tinybert"] =
      split_list(args.get<std::string>("tune-tinybert", "", "TinyBERT hidden:attention weights, e.g. 1:1,10:1,1:10"));
  grids["ckd"] = split_list(
      args.get<std::string>("tune-ckd", "", "CKD relation weights pair/triple (ckd, ckd_kd), e.g. 1/10,100/1000,100/1"));
  s.smoke = args.get<bool>("smoke", false, "tiny data and 1 epoch everywhere (CI)");
  s.resume = args.get<bool>("resume", false, "resume interrupted training from its epoch checkpoint");
  const std::string json = args.get<std::string>("json", "", "also write the results JSON here");
  s.runs_file = args.get<std::string>("runs-file", "runs.csv",
                                      "run table to append to (runs*.csv; parallel processes each use their own)");
  const std::string device = args.get<std::string>("device", "cpu", "cpu|cuda: where every stage trains (needs -DDISTILLERY_CUDA=ON)");
  s.pretrain_epochs = args.get<int64_t>("pretrain-epochs", 0, "override pretrain.conf's epochs (0: the config's)");
  s.max_steps = args.get<int64_t>("max-steps", 0, "stop pre-training after this many steps (speed probe; 0: all)");
  args.finish();
  check(device == "cpu" || device == "cuda", "ckd_glue", "--device must be cpu or cuda, got '", device, "'");
  s.device = device == "cuda" ? Device::cuda : Device::cpu;
  if (s.smoke && !args.has("out")) s.out = "out/ckd_glue_smoke";
  check_output_dir(s.out);  // before any work: a bad --out or --json fails now
  check_output_path(json);
  tiny_models() = s.smoke;
  make_dirs(s.out);
  s.pre = read_conf(s.conf_dir + "/pretrain.conf");
  auto t0 = Clock::now();
  const int64_t vocab = s.smoke ? 2000 : int64_t(conf_num(s.pre, "vocab_size", 8000));
  const int64_t pre_len = int64_t(conf_num(s.pre, "max_len", 128));
  WordPieceTokenizer tok = get_tokenizer(s, vocab);
  const bool all = stage == "all";
  if (all || stage == "pretrain")
    for (const auto& m : split_list(pre_models)) stage_pretrain(s, tok, m, pre_len);
  if (all || stage == "finetune")
    for (const auto& t : tasks) stage_finetune(s, tok, t);
  if (all || stage == "distill")
    for (const auto& t : tasks) stage_distill(s, tok, t, students, methods, seeds, student_epochs, grids);
  if (all || stage == "report") stage_report(s, tasks, tok, json);
  check(all || stage == "tokenizer" || stage == "pretrain" || stage == "finetune" || stage == "distill" ||
            stage == "report",
        "ckd_glue", "unknown --stage '", stage, "'");
  std::printf("ckd_glue: done in %.0fs\n", seconds_since(t0));
  return 0;
}

int main(int argc, char** argv) { return run_main(argc, argv, "ckd_glue", program); }
