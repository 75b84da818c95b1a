// data/tokenizer.hpp — a word tokenizer and a vocabulary for the review sentences.
//
// `tokenize` lowercases ASCII letters and splits on every byte that is not a letter or digit.
// Bytes >= 0x80 (UTF-8 letters such as the é in "café") count as letters, so non-English
// words stay whole, except UTF-8 punctuation (U+0080..U+00BF, U+2000..U+207F), which splits. An
// apostrophe (' or the typographic ’) is kept only between two word characters, so "Don't" ->
// "don't" and "it's" stays one token, while quotes are dropped:
//   tokenize("A very, very slow-moving 'art' movie. Don't!") ==
//       {"a", "very", "very", "slow", "moving", "art", "movie", "don't"}
//
// `Vocabulary` maps tokens to ids: <pad> = 0, <unk> = 1, then every token seen at least
// `min_count` times, most frequent first (ties in byte order), optionally capped at `max_size`
// ids in total. `encode_batch` turns texts into a padded id matrix for an Embedding layer:
//   Vocabulary v = Vocabulary::build(tokenized_train_texts, /*min_count=*/2);
//   Tensor<int64_t> ids = v.encode_batch(texts, /*length=*/40);   // [N, 40], 0-padded at the end
#pragma once
#include <algorithm>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "dataset.hpp"

namespace distillery {

inline std::vector<std::string> tokenize(const std::string& text) {
  auto is_word = [](unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
  };
  const size_t n = text.size();
  auto at = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  // Length of an apostrophe at i (1 for ', 3 for U+2019 in UTF-8), or 0.
  auto apostrophe = [&](size_t i) -> size_t {
    if (at(i) == '\'') return 1;
    if (i + 2 < n && at(i) == 0xE2 && at(i + 1) == 0x80 && at(i + 2) == 0x99) return 3;
    return 0;
  };
  // Length of a UTF-8 punctuation or space character at i (U+0080..U+00BF, which holds NBSP,
  // « » ¿ and the C1 dashes of mis-decoded cp1252 text, and U+2000..U+207F: dashes, quotes,
  // ellipsis), or 0.
  auto punctuation = [&](size_t i) -> size_t {
    if (i + 1 < n && at(i) == 0xC2 && at(i + 1) >= 0x80 && at(i + 1) <= 0xBF) return 2;
    if (i + 2 < n && at(i) == 0xE2 && (at(i + 1) == 0x80 || at(i + 1) == 0x81)) return 3;
    return 0;
  };
  std::vector<std::string> tokens;
  std::string cur;
  for (size_t i = 0; i < n;) {
    size_t ap = apostrophe(i);
    if (ap && !cur.empty() && i + ap < n && is_word(at(i + ap)) && !apostrophe(i + ap) &&
        !punctuation(i + ap)) {
      cur += '\'';  // the typographic form is normalised to '
      i += ap;
      continue;
    }
    unsigned char c = at(i);
    size_t skip = ap ? ap : punctuation(i);
    if (!skip && is_word(c)) {
      cur += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    } else if (!cur.empty()) {
      tokens.push_back(std::move(cur));
      cur.clear();
    }
    i += skip ? skip : 1;
  }
  if (!cur.empty()) tokens.push_back(std::move(cur));
  return tokens;
}

class Vocabulary {
 public:
  static constexpr int64_t kPad = 0, kUnk = 1;

  Vocabulary() : tokens_{"<pad>", "<unk>"} {}

  // Requires min_count >= 1; max_size == 0 means no cap, else max_size >= 2.
  static Vocabulary build(const std::vector<std::vector<std::string>>& docs, int64_t min_count = 1,
                          int64_t max_size = 0) {
    check(min_count >= 1, "Vocabulary::build", "min_count must be >= 1, got ", min_count);
    check(max_size == 0 || max_size >= 2, "Vocabulary::build", "max_size must be 0 or >= 2");
    std::unordered_map<std::string, int64_t> counts;
    for (const auto& doc : docs)
      for (const auto& t : doc) ++counts[t];
    std::vector<std::pair<std::string, int64_t>> items;
    for (auto& kv : counts)
      if (kv.second >= min_count && kv.first != "<pad>" && kv.first != "<unk>") items.push_back(kv);
    std::sort(items.begin(), items.end(), [](const auto& a, const auto& b) {
      return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    Vocabulary v;
    for (const auto& it : items) {
      if (max_size && v.size() >= max_size) break;
      v.add(it.first);
    }
    return v;
  }
  static Vocabulary build_from_texts(const std::vector<std::string>& texts, int64_t min_count = 1,
                                     int64_t max_size = 0) {
    std::vector<std::vector<std::string>> docs;
    for (const auto& t : texts) docs.push_back(tokenize(t));
    return build(docs, min_count, max_size);
  }

  int64_t size() const { return static_cast<int64_t>(tokens_.size()); }
  bool contains(const std::string& token) const { return ids_.count(token) > 0; }
  int64_t id(const std::string& token) const {
    auto it = ids_.find(token);
    return it == ids_.end() ? kUnk : it->second;
  }
  const std::string& token(int64_t id) const {
    check(id >= 0 && id < size(), "Vocabulary::token", "id ", id, " out of range [0, ", size(),
          ")");
    return tokens_[static_cast<size_t>(id)];
  }

  // Ids of the first `length` tokens, padded with kPad to exactly `length`.
  std::vector<int64_t> encode(const std::vector<std::string>& tokens, int64_t length) const {
    check(length >= 1, "Vocabulary::encode", "length must be >= 1, got ", length);
    std::vector<int64_t> ids(static_cast<size_t>(length), kPad);
    for (size_t i = 0; i < tokens.size() && i < ids.size(); ++i) ids[i] = id(tokens[i]);
    return ids;
  }
  // Tokenizes and encodes each text: Tensor<int64_t> [texts.size(), length].
  Tensor<int64_t> encode_batch(const std::vector<std::string>& texts, int64_t length) const {
    std::vector<int64_t> all;
    all.reserve(texts.size() * static_cast<size_t>(std::max<int64_t>(length, 0)));
    for (const auto& t : texts) {
      std::vector<int64_t> ids = encode(tokenize(t), length);
      all.insert(all.end(), ids.begin(), ids.end());
    }
    return host_tensor(all, Shape{static_cast<int64_t>(texts.size()), length});
  }

 private:
  void add(const std::string& t) {
    ids_.emplace(t, size());
    tokens_.push_back(t);
  }
  std::vector<std::string> tokens_;
  std::unordered_map<std::string, int64_t> ids_;
};

}  // namespace distillery
