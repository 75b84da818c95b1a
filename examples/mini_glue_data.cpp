// examples/mini_glue_data.cpp — the mini-GLUE data at a glance: split sizes and label counts of
// every task, the pre-training text, the WordPiece tokenizer's training time, and the mean and
// 95th-percentile token length ([CLS] and [SEP] included) per task and split.
//
//   scripts/get-data.sh
//   OMP_NUM_THREADS=1 build/examples/mini_glue_data --vocab-size 8000
//       --save-vocab out/vocab.txt --json out/mini_glue_data.json
//
// The numbers go into the README's "mini-GLUE data" section. Tasks and splits:
// include/distillery/data/text_tasks.hpp; the tokenizer: include/distillery/data/wordpiece.hpp.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>

#include <distillery/data/text_tasks.hpp>
#include <distillery/data/wordpiece.hpp>
#include <distillery/io/atomic_file.hpp>
#include <distillery/io/cli.hpp>
#include <distillery/io/json.hpp>

using namespace distillery;

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

int program(int argc, char** argv) {
  Args args(argc, argv, "mini_glue_data: sizes, labels and token lengths of the mini-GLUE tasks");
  const std::string data = args.get<std::string>("data", "data", "folder filled by scripts/get-data.sh");
  const int64_t vocab = args.get<int64_t>("vocab-size", 8000, "WordPiece vocabulary size");
  const int64_t max_len = args.get<int64_t>("max-len", 128, "model length (truncation is counted)");
  const std::string save_vocab = args.get<std::string>("save-vocab", "", "write vocab.txt here");
  const std::string json_path = args.get<std::string>("json", "", "write the numbers here");
  args.finish();
  check_output_path(save_vocab);  // before any work: a bad path fails now
  check_output_path(json_path);

  Json out = Json::object();
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::string> pre = load_pretraining_text(data);
  int64_t words = 0, bytes = 0;
  for (const auto& s : pre) {
    words += static_cast<int64_t>(basic_tokenize(s).size());
    bytes += static_cast<int64_t>(s.size());
  }
  std::printf("pre-training text: %zu texts, %lld basic tokens, %.1f MB (loaded in %.1f s)\n",
              pre.size(), static_cast<long long>(words), bytes / 1e6, seconds_since(t0));
  t0 = std::chrono::steady_clock::now();
  WordPieceTokenizer tok = WordPieceTokenizer::train(pre, vocab);
  const double train_s = seconds_since(t0);
  std::printf("WordPiece: vocabulary %lld, trained in %.2f s (one core)\n",
              static_cast<long long>(tok.vocab_size()), train_s);
  EncodeStats pre_stats;
  tok.encode_batch(pre, max_len, &pre_stats);
  int64_t pieces = 0, unk = 0;
  for (const auto& s : pre)
    for (int64_t id : tok.encode(s)) pieces += 1, unk += id == WordPieceTokenizer::kUnk;
  std::printf("  pre-training text: %lld pieces (%.3f per basic token), %.4f%% [UNK], %lld texts over %lld\n",
              static_cast<long long>(pieces), static_cast<double>(pieces) / static_cast<double>(words),
              100.0 * static_cast<double>(unk) / static_cast<double>(pieces),
              static_cast<long long>(pre_stats.truncated), static_cast<long long>(max_len));
  out["pretraining"] = Json::object();
  out["pretraining"]["texts"] = static_cast<int64_t>(pre.size());
  out["pretraining"]["basic_tokens"] = words;
  out["pretraining"]["pieces"] = pieces;
  out["pretraining"]["unk_pieces"] = unk;
  out["tokenizer"] = Json::object();
  out["tokenizer"]["vocab_size"] = tok.vocab_size();
  out["tokenizer"]["train_seconds"] = train_s;
  if (!save_vocab.empty()) tok.save(save_vocab);

  out["tasks"] = Json::object();
  for (const std::string name : {"sent", "genre", "genre15", "topic", "spam"}) {
    TextTask t = load_text_task(name, data);
    Json tj = Json::object();
    tj["labels"] = Json::array();
    for (const auto& l : t.label_names) tj["labels"].push_back(l);
    std::printf("\n%s (%lld labels)\n", name.c_str(), static_cast<long long>(t.num_labels()));
    for (int s = 0; s < 3; ++s) {
      const auto& texts = s == 0 ? t.train_texts : s == 1 ? t.dev_texts : t.test_texts;
      const auto& labels = s == 0 ? t.train_labels : s == 1 ? t.dev_labels : t.test_labels;
      const char* split = s == 0 ? "train" : s == 1 ? "dev" : "test";
      std::vector<int64_t> counts(static_cast<size_t>(t.num_labels()), 0);
      for (int64_t y : labels) ++counts[static_cast<size_t>(y)];
      EncodeStats st;
      tok.encode_batch(texts, max_len, &st);
      std::vector<int64_t> len = st.lengths;
      std::sort(len.begin(), len.end());
      double mean = 0;
      for (int64_t l : len) mean += static_cast<double>(l);
      mean /= std::max<double>(1.0, static_cast<double>(len.size()));
      const int64_t p95 = len.empty() ? 0 : len[std::min(len.size() - 1, (len.size() * 95 + 99) / 100 - 1)];
      std::printf("  %-5s %5zu  tokens mean %6.1f  p95 %4lld  over %lld: %4lld  labels:", split, texts.size(),
                  mean, static_cast<long long>(p95), static_cast<long long>(max_len),
                  static_cast<long long>(st.truncated));
      Json sj = Json::object();
      sj["size"] = static_cast<int64_t>(texts.size());
      sj["label_counts"] = Json::array();
      for (size_t k = 0; k < counts.size(); ++k) {
        std::printf(" %s %lld", t.label_names[k].c_str(), static_cast<long long>(counts[k]));
        sj["label_counts"].push_back(counts[k]);
      }
      std::printf("\n");
      sj["mean_tokens"] = mean;
      sj["p95_tokens"] = p95;
      sj["truncated"] = st.truncated;
      tj[split] = sj;
    }
    out["tasks"][name] = tj;
  }
  if (!json_path.empty()) write_json(json_path, out);
  return 0;
}

int main(int argc, char** argv) { return run_main(argc, argv, "mini_glue_data", program); }
