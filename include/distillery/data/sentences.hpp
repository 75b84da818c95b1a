// data/sentences.hpp — the labelled review sentences (UCI "Sentiment Labelled Sentences").
//
// scripts/get-data.sh copies the npm `sentiment` package's test fixtures into data/sentences/:
// imdb.json, amazon.json, yelp.json, each 1000 sentences (500 positive, 500 negative) as
//   [{"text": "A very, very, very slow-moving, aimless movie ...  ", "class": 0}, ...,
//    {"text": "", "class": null}]          <- one empty placeholder at the end, skipped
// The reader also takes the original UCI text format (`amazon_cells_labelled.txt`, shipped by
// npm `wink-sentiment`): one "sentence<TAB>label" per line. Labels must be 0 or 1 in both.
// The format is chosen by the first non-blank byte ('[' means JSON).
//
// `split_sentences` holds out a fixed 20% by `stratified_split` (data/dataset.hpp) with strata
// (source file, label), in the order the files were given; for the three standard files that
// is 600 held out (100 per source and label) and 2,400 for training.
//
//   SentenceSet all = load_review_sentences("data/sentences");   // 3000 sentences
//   SentenceSplit s = split_sentences(all);                       // 2400 / 600
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "../io/bytes.hpp"
#include "../io/json_reader.hpp"
#include "dataset.hpp"

namespace distillery {

struct SentenceSet {
  std::vector<std::string> texts;
  std::vector<int64_t> labels;   // 0 = negative, 1 = positive
  std::vector<int64_t> sources;  // index into source_names
  std::vector<std::string> source_names;
  int64_t size() const { return static_cast<int64_t>(texts.size()); }
  Tensor<int64_t> label_tensor() const { return host_tensor(labels, Shape{size()}); }
  void add(std::string text, int64_t label, int64_t source) {
    texts.push_back(std::move(text));
    labels.push_back(label);
    sources.push_back(source);
  }
};

namespace detail {
inline void parse_sentences_json(const uint8_t* data, size_t n, const std::string& name,
                                 SentenceSet& out, int64_t source) {
  JsonReader r(data, n, name, "sentences");
  if (r.peek() != '[') r.error("expected a JSON array of {\"text\", \"class\"} objects");
  r.read_array([&](size_t) {
    if (r.read_null_if_present()) return;
    r.peek();
    size_t at = r.offset();
    std::string text;
    int64_t label = -1;
    bool has_text = false, has_class = false, null_class = false;
    if (r.peek() != '{') r.error("expected an object {\"text\", \"class\"}");
    r.read_object([&](const std::string& key, size_t key_offset) {
      if (key == "text" && !has_text) {
        has_text = true;
        text = r.read_string();
      } else if (key == "class" && !has_class) {
        has_class = true;
        r.peek();
        size_t v_at = r.offset();
        if (r.read_null_if_present()) {
          null_class = true;
          return;
        }
        label = r.read_int64();
        if (label != 0 && label != 1) r.error_at(v_at, "class must be 0 or 1, got ", label);
      } else {
        r.error_at(key_offset, "unexpected or duplicate key '", key, "'");
      }
    });
    if (!has_text || !has_class) r.error_at(at, "entry needs both \"text\" and \"class\"");
    if (null_class) {
      if (!text.empty()) r.error_at(at, "entry with text has class null");
      return;  // the trailing placeholder {"text": "", "class": null}
    }
    out.add(std::move(text), label, source);
  });
  r.expect_end();
}

inline void parse_sentences_tsv(const uint8_t* data, size_t n, const std::string& name,
                                SentenceSet& out, int64_t source) {
  size_t pos = 0;
  while (pos < n) {
    size_t end = pos;
    while (end < n && data[end] != '\n') ++end;
    size_t stop = end > pos && data[end - 1] == '\r' ? end - 1 : end;
    if (stop > pos) {
      size_t tab = stop;
      while (tab > pos && data[tab - 1] != '\t') --tab;
      if (tab == pos) fail_at("sentences", name, pos, "line has no tab before the label");
      std::string label(reinterpret_cast<const char*>(data + tab), stop - tab);
      if (label != "0" && label != "1")
        fail_at("sentences", name, tab, "label must be 0 or 1, got '", label, "'");
      for (size_t i = pos; i < tab - 1; ++i)
        if (data[i] == 0) fail_at("sentences", name, i, "NUL byte in a sentence");
      out.add(std::string(reinterpret_cast<const char*>(data + pos), tab - 1 - pos), label[0] - '0',
              source);
    }
    pos = end + 1;
  }
}
}  // namespace detail

// Appends the sentences of one file held in memory (JSON or TSV, see above).
inline void parse_sentences(const uint8_t* data, size_t n, const std::string& name,
                            SentenceSet& out) {
  const int64_t source = static_cast<int64_t>(out.source_names.size());
  out.source_names.push_back(name);
  size_t first = 0;
  while (first < n &&
         (data[first] == ' ' || data[first] == '\n' || data[first] == '\r' || data[first] == '\t'))
    ++first;
  if (first < n && data[first] == '[')
    detail::parse_sentences_json(data, n, name, out, source);
  else
    detail::parse_sentences_tsv(data, n, name, out, source);
}

inline void load_sentences(const std::string& path, SentenceSet& out) {
  Bytes bytes = read_file_bytes(path, "sentences");
  parse_sentences(bytes.data(), bytes.size(), path, out);
}

// imdb.json, amazon.json and yelp.json under `dir`, in that order.
inline SentenceSet load_review_sentences(const std::string& dir) {
  SentenceSet s;
  for (const char* f : {"imdb", "amazon", "yelp"}) load_sentences(dir + "/" + f + ".json", s);
  return s;
}

struct SentenceSplit {
  SentenceSet train, heldout;
};

// Holds out round(heldout_fraction * N) sentences, stratified by (source, label).
inline SentenceSplit split_sentences(const SentenceSet& all, double heldout_fraction = 0.2) {
  check(heldout_fraction >= 0 && heldout_fraction <= 1, "split_sentences",
        "heldout_fraction must be in [0, 1], got ", heldout_fraction);
  std::vector<int64_t> strata(all.labels.size());
  for (size_t i = 0; i < strata.size(); ++i) strata[i] = all.sources[i] * 2 + all.labels[i];
  const auto h = static_cast<int64_t>(heldout_fraction * static_cast<double>(all.size()) + 0.5);
  Split sp = stratified_split(strata, h);
  SentenceSplit out;
  out.train.source_names = out.heldout.source_names = all.source_names;
  for (int64_t i : sp.train) out.train.add(all.texts[i], all.labels[i], all.sources[i]);
  for (int64_t i : sp.heldout) out.heldout.add(all.texts[i], all.labels[i], all.sources[i]);
  return out;
}

}  // namespace distillery
