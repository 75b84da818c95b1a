// examples/mini_bert_common.hpp — what examples/ckd_glue.cpp and examples/dynabert.cpp share: the
// model sizes (teacher, s4, s2), configs, the tokenizer, task loading, run tables, timing.
#pragma once
#include <distillery/distillery.hpp>
#include <distillery/data/text_tasks.hpp>
#include <distillery/data/wordpiece.hpp>
#include <distillery/io/atomic_file.hpp>
#include <distillery/io/cli.hpp>
#include <distillery/io/png.hpp>
#include <distillery/methods/bert_distill.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <dirent.h>
#include <sys/stat.h>
#include <vector>

namespace mini_bert {
using namespace distillery;
using namespace distillery::methods;
using Clock = std::chrono::steady_clock;

// ---- small helpers ---------------------------------------------------------------------------
inline std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}
inline bool exists(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0;
}
// make_dirs (mkdir -p, throws naming the folder it cannot create): io/atomic_file.hpp
inline double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// "key = value" lines, '#' comments.
inline std::map<std::string, std::string> read_conf(const std::string& path) {
  std::map<std::string, std::string> c;
  std::ifstream in(path);
  check(in.good(), "ckd_glue", "cannot open config ", path);
  std::string line;
  int64_t no = 0;
  while (std::getline(in, line)) {
    ++no;
    auto h = line.find('#');
    if (h != std::string::npos) line = line.substr(0, h);
    auto eq = line.find('=');
    auto trim = [](std::string s) {
      s.erase(0, s.find_first_not_of(" \t\r"));
      s.erase(s.find_last_not_of(" \t\r") + 1);
      return s;
    };
    if (trim(line).empty()) continue;
    check(eq != std::string::npos, "ckd_glue", path, ":", no, ": expected 'key = value'");
    c[trim(line.substr(0, eq))] = trim(line.substr(eq + 1));
  }
  return c;
}
inline double conf_num(const std::map<std::string, std::string>& c, const std::string& k, double def) {
  auto it = c.find(k);
  return it == c.end() ? def : std::stod(it->second);
}

// --smoke shrinks every model (CI runs the whole pipeline in seconds; the numbers mean nothing).
inline bool& tiny_models() {
  static bool tiny = false;
  return tiny;
}

inline nn::BertConfig model_config(const std::string& name, int64_t vocab, int64_t max_len) {
  nn::BertConfig c;
  c.vocab_size = vocab;
  c.max_len = max_len;
  const bool t = tiny_models();
  if (name == "teacher") { c.layers = t ? 4 : 6; c.hidden = t ? 32 : 256; c.heads = 4; c.ffn = t ? 64 : 1024; }
  else if (name == "s4") { c.layers = t ? 2 : 4; c.hidden = t ? 24 : 192; c.heads = 3; c.ffn = t ? 48 : 768; }
  else if (name == "s2") { c.layers = t ? 1 : 2; c.hidden = t ? 16 : 128; c.heads = 2; c.ffn = t ? 32 : 512; }
  // s3: a deeper student for CKD's layer relations (emb+skip from 6 layers: 4 aligned layers)
  else if (name == "s3") { c.layers = 3; c.hidden = t ? 24 : 192; c.heads = 3; c.ffn = t ? 48 : 768; }
  else fail("ckd_glue", "unknown model '", name, "' (teacher, s4, s3, s2)");
  return c;
}

inline TokenSet encode(const WordPieceTokenizer& tok, const std::vector<std::string>& texts,
                const std::vector<int64_t>& labels, int64_t max_len, int64_t* truncated = nullptr) {
  TokenSet s;
  s.labels = labels;
  int64_t cut = 0;
  for (const auto& t : texts) {
    std::vector<int64_t> ids = tok.encode(t);
    std::vector<int64_t> row{kClsId};
    const size_t keep = std::min<size_t>(ids.size(), size_t(max_len - 2));
    cut += ids.size() > keep;
    row.insert(row.end(), ids.begin(), ids.begin() + keep);
    row.push_back(kSepId);
    s.ids.push_back(std::move(row));
  }
  if (truncated) *truncated = cut;
  return s;
}

// Keeps every k-th example (smoke runs).
inline TokenSet subsample(const TokenSet& s, int64_t n) {
  if (n <= 0 || n >= s.size()) return s;
  TokenSet o;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t j = i * s.size() / n;
    o.ids.push_back(s.ids[j]);
    if (!s.labels.empty()) o.labels.push_back(s.labels[j]);
  }
  return o;
}

// Seconds per example of inference at batch 32 over (a prefix of) a set, best of 3.
inline double inference_seconds_per_example(nn::Bert<float>& m, const TokenSet& set) {
  TokenSet part = subsample(set, std::min<int64_t>(set.size(), 256));
  double best = 1e30;
  for (int r = 0; r < 3; ++r) {
    auto t0 = Clock::now();
    predict_logits(m, part, 32);
    best = std::min(best, seconds_since(t0));
  }
  return best / double(part.size());
}

// ---- the run table (runs.csv), rewritten atomically on every append ----------------------------
struct RunRow {
  std::string task, student, method;
  int64_t seed = 0;
  double dev_acc = 0, dev_f1 = 0, test_acc = 0, test_f1 = 0, train_seconds = 0, tokens_per_second = 0;
  int64_t params = 0;
  int64_t best_epoch = -1;  // the epoch whose weights were evaluated (best dev; -1: the last)
  std::string setting;      // the hyper-parameters chosen on dev (--tune-*), "" = the config's
};
inline const char* kRunHeader =
    "task,student,method,seed,dev_acc,dev_f1,test_acc,test_f1,params,train_seconds,tokens_per_second,best_epoch,setting";

inline std::vector<RunRow> read_runs(const std::string& path) {
  std::vector<RunRow> rows;
  std::ifstream in(path);
  if (!in.good()) return rows;
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::vector<std::string> f;
    std::stringstream ss(line);
    std::string x;
    while (std::getline(ss, x, ',')) f.push_back(x);
    if (f.size() == 12 && line.back() == ',') f.push_back("");  // empty setting
    check(f.size() == 11 || f.size() == 13, "ckd_glue", path, ": bad row '", line, "'");
    RunRow r;
    r.task = f[0]; r.student = f[1]; r.method = f[2]; r.seed = std::stoll(f[3]);
    r.dev_acc = std::stod(f[4]); r.dev_f1 = std::stod(f[5]); r.test_acc = std::stod(f[6]);
    r.test_f1 = std::stod(f[7]); r.params = std::stoll(f[8]); r.train_seconds = std::stod(f[9]);
    r.tokens_per_second = std::stod(f[10]);
    if (f.size() == 13) { r.best_epoch = std::stoll(f[11]); r.setting = f[12]; }  // older files: 11 columns
    rows.push_back(r);
  }
  return rows;
}
inline void write_runs(const std::string& path, std::vector<RunRow> rows) {
  std::ostringstream os;
  os << kRunHeader << "\n";
  for (const auto& r : rows) {
    char buf[512];
    std::snprintf(buf, sizeof buf, "%s,%s,%s,%lld,%.6f,%.6f,%.6f,%.6f,%lld,%.2f,%.1f,%lld,%s\n", r.task.c_str(),
                  r.student.c_str(), r.method.c_str(), static_cast<long long>(r.seed), r.dev_acc, r.dev_f1,
                  r.test_acc, r.test_f1, static_cast<long long>(r.params), r.train_seconds, r.tokens_per_second,
                  static_cast<long long>(r.best_epoch), r.setting.c_str());
    os << buf;
  }
  write_file_atomic(path, os.str());
}
inline void upsert_run(const std::string& path, const RunRow& row) {
  auto rows = read_runs(path);
  rows.erase(std::remove_if(rows.begin(), rows.end(),
                            [&](const RunRow& r) {
                              return r.task == row.task && r.student == row.student && r.method == row.method &&
                                     r.seed == row.seed;
                            }),
             rows.end());
  rows.push_back(row);
  write_runs(path, rows);
}

// Every runs*.csv of the output folder, concatenated (a later file's row replaces an earlier one's).
inline std::vector<RunRow> all_runs(const std::string& out) {
  std::vector<std::string> files;
  if (DIR* d = opendir(out.c_str())) {
    while (dirent* e = readdir(d)) {
      const std::string n = e->d_name;
      if (n.rfind("runs", 0) == 0 && n.size() > 4 && n.compare(n.size() - 4, 4, ".csv") == 0) files.push_back(n);
    }
    closedir(d);
  }
  std::sort(files.begin(), files.end());
  std::vector<RunRow> rows;
  for (const auto& f : files)
    for (const auto& r : read_runs(out + "/" + f)) {
      rows.erase(std::remove_if(rows.begin(), rows.end(),
                                [&](const RunRow& x) {
                                  return x.task == r.task && x.student == r.student && x.method == r.method &&
                                         x.seed == r.seed;
                                }),
                 rows.end());
      rows.push_back(r);
    }
  return rows;
}

struct Setup {
  std::string runs_file = "runs.csv";
  std::string out, data, conf_dir;
  bool smoke = false, resume = false;
  int64_t threads_note = 0;
  Device device = Device::cpu;              // where models train (--device cpu|cuda)
  int64_t pretrain_epochs = 0, max_steps = 0;  // ckd_glue --pretrain-epochs / --max-steps
  std::map<std::string, std::string> pre;  // pretrain.conf
};

// ---- stages ----------------------------------------------------------------------------------
inline WordPieceTokenizer get_tokenizer(const Setup& s, int64_t vocab) {
  const std::string path = s.out + "/tokenizer.txt";
  if (exists(path)) return WordPieceTokenizer::load(path);
  auto t0 = Clock::now();
  std::vector<std::string> text = load_pretraining_text(s.data);
  std::printf("tokenizer: training WordPiece (vocab %lld) on %zu texts\n", static_cast<long long>(vocab), text.size());
  WordPieceTokenizer tok = WordPieceTokenizer::train(text, vocab);
  tok.save(path);
  std::printf("tokenizer: %lld tokens in %.1fs -> %s\n", static_cast<long long>(tok.vocab_size()), seconds_since(t0),
              path.c_str());
  return tok;
}

inline std::string pretrain_path(const Setup& s, const std::string& model) { return s.out + "/pretrain_" + model + ".safetensors"; }

struct TaskData {
  TextTask raw;
  TokenSet train, dev, test;
  std::map<std::string, std::string> conf;
  int64_t max_len = 128;
};

inline TaskData load_task(const Setup& s, const WordPieceTokenizer& tok, const std::string& name) {
  TaskData t;
  t.conf = read_conf(s.conf_dir + "/" + name + ".conf");
  t.max_len = int64_t(conf_num(t.conf, "max_len", 128));
  t.raw = load_text_task(name, s.data);
  int64_t cut = 0;
  t.train = encode(tok, t.raw.train_texts, t.raw.train_labels, t.max_len, &cut);
  t.dev = encode(tok, t.raw.dev_texts, t.raw.dev_labels, t.max_len);
  t.test = encode(tok, t.raw.test_texts, t.raw.test_labels, t.max_len);
  if (s.smoke) {
    t.train = subsample(t.train, 256);
    t.dev = subsample(t.dev, 64);
    t.test = subsample(t.test, 64);
  }
  std::printf("task %s: %lld train / %lld dev / %lld test, %lld labels, %.1f tokens per train example (%lld "
              "truncated to %lld)\n",
              name.c_str(), static_cast<long long>(t.train.size()), static_cast<long long>(t.dev.size()),
              static_cast<long long>(t.test.size()), static_cast<long long>(t.raw.num_labels()),
              double(t.train.tokens()) / double(std::max<int64_t>(1, t.train.size())), static_cast<long long>(cut),
              static_cast<long long>(t.max_len));
  return t;
}

// A classifier initialised from the pre-trained encoder (the classifier head fresh, seeded).
inline std::unique_ptr<nn::Bert<float>> from_pretrained(const Setup& s, const std::string& model, int64_t vocab,
                                                 const TaskData& t, uint64_t seed) {
  nn::BertConfig c = model_config(model, vocab, 128);
  c.num_labels = t.raw.num_labels();
  Generator gen(seed * 7919 + 17);
  auto m = std::make_unique<nn::Bert<float>>(c, gen);
  nn::load_checkpoint(pretrain_path(s, model), *m, /*strict=*/false);
  m->to(s.device);
  return m;
}

inline std::string teacher_path(const Setup& s, const std::string& task) { return s.out + "/" + task + "/teacher.safetensors"; }

// The fine-tuned teacher of a task (ckd_glue --stage finetune).
inline std::unique_ptr<nn::Bert<float>> load_teacher(const Setup& s, const WordPieceTokenizer& tok, const TaskData& t,
                                                     const std::string& task) {
  check(exists(teacher_path(s, task)), "mini_bert", teacher_path(s, task),
        " not found: run `ckd_glue --stage finetune --tasks ", task, "` first");
  nn::BertConfig tc = model_config("teacher", tok.vocab_size(), 128);
  tc.num_labels = t.raw.num_labels();
  Generator g0(1);
  auto teacher = std::make_unique<nn::Bert<float>>(tc, g0);
  nn::load_checkpoint(teacher_path(s, task), *teacher);
  teacher->to(s.device);
  return teacher;
}

// Paired comparison across seeds (ckd_glue's report, dynabert's grid): the differences a − b
// per seed; mean, std, standard error and Student's t test (two-sided, 5%). "beats" / "loses"
// when significant, "ties" otherwise, "n < 2" with fewer than two pairs.
struct PairedTest {
  int n = 0;
  double mean = 0, sd = 0, se = 0, t = 0;
  bool significant = false;
  const char* verdict() const {
    return n < 2 ? "n < 2" : !significant ? "ties" : mean > 0 ? "beats" : "loses";
  }
};
inline PairedTest paired_test(const std::vector<double>& d) {
  PairedTest p;
  p.n = static_cast<int>(d.size());
  if (p.n == 0) return p;
  for (double x : d) p.mean += x;
  p.mean /= p.n;
  if (p.n < 2) return p;
  for (double x : d) p.sd += (x - p.mean) * (x - p.mean);
  p.sd = std::sqrt(p.sd / (p.n - 1));
  p.se = p.sd / std::sqrt(double(p.n));
  // two-sided 5% critical values of Student's t for 1-20 degrees of freedom; 1.96 + 2.5/df beyond
  static const double crit[] = {0,     12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                                2.201, 2.179,  2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086};
  const int df = p.n - 1;
  const double c = df <= 20 ? crit[df] : 1.96 + 2.5 / df;
  p.t = p.se > 0 ? p.mean / p.se : (p.mean == 0 ? 0 : std::copysign(1e9, p.mean));
  p.significant = std::fabs(p.t) > c;
  return p;
}
// a − b on the seeds both have
inline PairedTest paired_test(const std::map<int64_t, double>& a, const std::map<int64_t, double>& b) {
  std::vector<double> d;
  for (const auto& kv : a)
    if (auto it = b.find(kv.first); it != b.end()) d.push_back(kv.second - it->second);
  return paired_test(d);
}

}  // namespace mini_bert
