// data/wordpiece.hpp — a BERT-style WordPiece sub-word tokenizer, trained here on the
// pre-training text (data/text_tasks.hpp), saved as a vocab.txt (one token per line, id = line).
//
// Text -> ids in two steps, as in BERT (uncased):
//   1. `basic_tokenize`: UTF-8 code points; white space splits; control characters (and bytes
//      that are not valid UTF-8) are dropped; typographic quotes and dashes become ' " -;
//      ASCII and Latin-1 letters are lower-cased (no accent stripping); every punctuation
//      character (ASCII punctuation, U+00A1..U+00BF, U+2010..U+205E, U+3000..U+303F) is a token
//      of its own:   "Don't PANIC!" -> {"don", "'", "t", "panic", "!"}
//   2. WordPiece: each word is split greedily into the longest vocabulary pieces from the left,
//      continuation pieces written "##xx"; a word with a character the vocabulary lacks, or longer
//      than 100 bytes, becomes [UNK]:   "tokenizer" -> {"token", "##izer"}
// Special ids: [PAD]=0, [UNK]=1, [CLS]=2, [SEP]=3, [MASK]=4; `encode` never yields them from text
// (a literal "[MASK]" in text is the three tokens "[", "mask", "]").
//
// Training (`train`), deterministic: count the words of step 1 once; the alphabet is every
// character seen at least twice (a word's first character as "c", later ones as "##c"), most
// frequent first; then byte-pair merges on the word-frequency table: repeatedly the most frequent
// adjacent pair (ties: smaller ids first) becomes one new piece, until the vocabulary has
// `vocab_size` entries or no pair occurs twice (the HuggingFace WordPiece trainer does the same).
// Pair counts are updated incrementally, so training time is about linear in the number of
// distinct words times the merges that touch them (seconds for the ~1.3M words of mini-GLUE).
//
// `encode_batch` builds the model input [N, max_len]: [CLS] ids [SEP] [PAD]...; a text with
// more than max_len - 2 pieces is truncated (its [SEP] kept at the end). This is counted, not
// silent: pass an `EncodeStats*` to get each text's full length and the number truncated.
//
//   WordPieceTokenizer tok = WordPieceTokenizer::train(load_pretraining_text("data"), 8000);
//   tok.save("runs/vocab.txt");
//   EncodeStats st;
//   Tensor<int64_t> ids = tok.encode_batch(task.train_texts, 128, &st);   // [N, 128]
//   // st.truncated texts were cut; st.lengths[i] = 2 + pieces of text i before the cut
#pragma once
#include <algorithm>
#include <cstdint>
#include <queue>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "../io/atomic_file.hpp"
#include "../io/bytes.hpp"
#include "dataset.hpp"
#include "text_corpora.hpp"

namespace distillery {

namespace detail {
// Code point of the valid UTF-8 sequence of `len` bytes at s[i].
inline uint32_t utf8_decode(const std::string& s, size_t i, size_t len) {
  const auto c = static_cast<unsigned char>(s[i]);
  uint32_t cp = len == 1 ? c : len == 2 ? c & 0x1F : len == 3 ? c & 0x0F : c & 0x07;
  for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  return cp;
}
inline bool wp_space(uint32_t cp) {
  return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == '\v' || cp == '\f' ||
         cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
         cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}
inline bool wp_control(uint32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || (cp >= 0x200B && cp <= 0x200F) ||
         cp == 0xFEFF || cp == 0xFFFD;
}
inline bool wp_punct(uint32_t cp) {
  return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
         (cp >= 123 && cp <= 126) || (cp >= 0xA1 && cp <= 0xBF) || (cp >= 0x2010 && cp <= 0x205E) ||
         (cp >= 0x3000 && cp <= 0x303F);
}
}  // namespace detail

// Step 1 above.
inline std::vector<std::string> basic_tokenize(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  const auto* d = reinterpret_cast<const uint8_t*>(text.data());
  const size_t n = text.size();
  auto flush = [&] {
    if (!cur.empty()) out.push_back(std::move(cur));
    cur.clear();
  };
  for (size_t i = 0; i < n;) {
    const size_t len = detail::utf8_length(d, n, i);
    if (!len) {  // not UTF-8: dropped
      ++i;
      continue;
    }
    uint32_t cp = detail::utf8_decode(text, i, len);
    i += len;
    if (detail::wp_space(cp)) {
      flush();
      continue;
    }
    if (detail::wp_control(cp)) continue;
    if (cp == 0x2018 || cp == 0x2019 || cp == 0x201B || cp == 0x2032) cp = '\'';
    else if (cp == 0x201C || cp == 0x201D || cp == 0x201E || cp == 0x2033) cp = '"';
    else if (cp == 0x2013 || cp == 0x2014 || cp == 0x2015 || cp == 0x2212) cp = '-';
    if ((cp >= 'A' && cp <= 'Z') || (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7)) cp += 0x20;
    if (detail::wp_punct(cp)) {
      flush();
      detail::append_utf8(cur, cp);
      flush();
    } else {
      detail::append_utf8(cur, cp);
    }
  }
  flush();
  return out;
}

struct EncodeStats {
  std::vector<int64_t> lengths;  // per text: 2 + number of pieces, before truncation
  int64_t truncated = 0;         // texts longer than max_len (cut to max_len)
};

class WordPieceTokenizer {
 public:
  static constexpr int64_t kPad = 0, kUnk = 1, kCls = 2, kSep = 3, kMask = 4;
  static constexpr size_t kMaxWordBytes = 100;

  static const std::vector<std::string>& specials() {
    static const std::vector<std::string> s = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    return s;
  }

  // Requires vocab_size > 5. The result may be smaller when the text has no more pairs to merge.
  static WordPieceTokenizer train(const std::vector<std::string>& texts, int64_t vocab_size) {
    check(vocab_size > 5, "WordPieceTokenizer::train", "vocab_size must be > 5 (5 special tokens), got ",
          vocab_size);
    // 1. word frequencies, words in byte order (deterministic ids)
    std::unordered_map<std::string, int64_t> counts;
    for (const auto& t : texts)
      for (auto& w : basic_tokenize(t))
        if (w.size() <= kMaxWordBytes) ++counts[w];
    std::vector<std::pair<std::string, int64_t>> words(counts.begin(), counts.end());
    std::sort(words.begin(), words.end());

    // 2. alphabet: characters seen at least twice, most frequent first
    std::unordered_map<std::string, int64_t> char_count;
    auto chars_of = [](const std::string& w) {
      std::vector<std::string> cs;
      const auto* d = reinterpret_cast<const uint8_t*>(w.data());
      for (size_t i = 0; i < w.size();) {
        size_t len = std::max<size_t>(detail::utf8_length(d, w.size(), i), 1);
        cs.push_back((i ? "##" : "") + w.substr(i, len));
        i += len;
      }
      return cs;
    };
    for (const auto& wc : words)
      for (auto& c : chars_of(wc.first)) char_count[c] += wc.second;
    std::vector<std::pair<std::string, int64_t>> alphabet;
    for (auto& kv : char_count)
      if (kv.second >= 2) alphabet.push_back(kv);
    std::sort(alphabet.begin(), alphabet.end(), [](const auto& a, const auto& b) {
      return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    WordPieceTokenizer tok;
    for (const auto& a : alphabet) {
      if (tok.vocab_size() >= vocab_size) break;
      tok.add(a.first);
    }

    // 3. merges. Symbols: vocabulary ids, or -1 for a character outside the alphabet.
    std::vector<std::vector<int32_t>> syms(words.size());
    std::vector<int64_t> freq(words.size());
    for (size_t w = 0; w < words.size(); ++w) {
      freq[w] = words[w].second;
      for (auto& c : chars_of(words[w].first)) {
        auto it = tok.ids_.find(c);
        syms[w].push_back(it == tok.ids_.end() ? -1 : static_cast<int32_t>(it->second));
      }
    }
    auto key = [](int32_t a, int32_t b) {
      return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
    };
    std::unordered_map<uint64_t, int64_t> pair_count;
    std::unordered_map<uint64_t, std::vector<int32_t>> pair_words;
    for (size_t w = 0; w < syms.size(); ++w)
      for (size_t k = 0; k + 1 < syms[w].size(); ++k) {
        if (syms[w][k] < 0 || syms[w][k + 1] < 0) continue;
        uint64_t p = key(syms[w][k], syms[w][k + 1]);
        pair_count[p] += freq[w];
        pair_words[p].push_back(static_cast<int32_t>(w));
      }
    // max-heap on (count, then smaller a, then smaller b); stale entries skipped when popped
    using Entry = std::tuple<int64_t, int32_t, int32_t>;
    auto less = [](const Entry& x, const Entry& y) {
      if (std::get<0>(x) != std::get<0>(y)) return std::get<0>(x) < std::get<0>(y);
      if (std::get<1>(x) != std::get<1>(y)) return std::get<1>(x) > std::get<1>(y);
      return std::get<2>(x) > std::get<2>(y);
    };
    std::priority_queue<Entry, std::vector<Entry>, decltype(less)> heap(less);
    for (const auto& pc : pair_count)
      heap.emplace(pc.second, static_cast<int32_t>(pc.first >> 32), static_cast<int32_t>(pc.first & 0xFFFFFFFFu));
    std::vector<int64_t> stamp(syms.size(), -1);
    std::vector<uint64_t> changed;
    for (int64_t step = 0; tok.vocab_size() < vocab_size && !heap.empty(); ++step) {
      auto [count, a, b] = heap.top();
      heap.pop();
      const uint64_t p = key(a, b);
      auto pit = pair_count.find(p);
      if (pit == pair_count.end() || pit->second != count) continue;  // stale
      if (count < 2) break;
      const std::string& sb = tok.tokens_[static_cast<size_t>(b)];
      std::string merged = tok.tokens_[static_cast<size_t>(a)] + sb.substr(2);  // b is "##..."
      auto mit = tok.ids_.find(merged);
      const auto c = static_cast<int32_t>(mit == tok.ids_.end() ? tok.vocab_size() : mit->second);
      if (mit == tok.ids_.end()) tok.add(merged);
      std::vector<int32_t> where = std::move(pair_words[p]);
      pair_words.erase(p);
      changed.clear();
      auto bump = [&](int32_t x, int32_t y, int64_t by, int32_t w) {
        if (x < 0 || y < 0) return;
        uint64_t q = key(x, y);
        pair_count[q] += by;
        changed.push_back(q);
        if (by > 0) pair_words[q].push_back(w);
      };
      for (int32_t w : where) {
        if (stamp[static_cast<size_t>(w)] == step) continue;  // listed twice
        stamp[static_cast<size_t>(w)] = step;
        std::vector<int32_t>& s = syms[static_cast<size_t>(w)];
        bool has = false;
        for (size_t k = 0; k + 1 < s.size() && !has; ++k) has = s[k] == a && s[k + 1] == b;
        if (!has) continue;
        const int64_t f = freq[static_cast<size_t>(w)];
        for (size_t k = 0; k + 1 < s.size(); ++k) bump(s[k], s[k + 1], -f, w);
        std::vector<int32_t> ns;
        for (size_t k = 0; k < s.size(); ++k) {
          if (k + 1 < s.size() && s[k] == a && s[k + 1] == b) {
            ns.push_back(c);
            ++k;
          } else {
            ns.push_back(s[k]);
          }
        }
        s.swap(ns);
        for (size_t k = 0; k + 1 < s.size(); ++k) bump(s[k], s[k + 1], f, w);
      }
      std::sort(changed.begin(), changed.end());
      changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
      for (uint64_t q : changed) {
        auto it = pair_count.find(q);
        if (it->second <= 0) {
          pair_count.erase(it);
          pair_words.erase(q);
        } else {
          heap.emplace(it->second, static_cast<int32_t>(q >> 32), static_cast<int32_t>(q & 0xFFFFFFFFu));
        }
      }
    }
    return tok;
  }

  int64_t vocab_size() const { return static_cast<int64_t>(tokens_.size()); }
  const std::string& token(int64_t id) const {
    check(id >= 0 && id < vocab_size(), "WordPieceTokenizer::token", "id ", id, " out of range [0, ",
          vocab_size(), ")");
    return tokens_[static_cast<size_t>(id)];
  }
  // The id of a vocabulary entry, or kUnk.
  int64_t id(const std::string& token) const {
    auto it = ids_.find(token);
    return it == ids_.end() ? kUnk : it->second;
  }
  bool contains(const std::string& token) const { return ids_.count(token) > 0; }

  // Pieces of one basic token (step 2 above).
  void encode_word(const std::string& w, std::vector<int64_t>& out) const {
    if (w.size() > kMaxWordBytes) {
      out.push_back(kUnk);
      return;
    }
    const size_t mark = out.size();
    std::string piece;
    for (size_t start = 0; start < w.size();) {
      int64_t found = -1;
      size_t end = w.size();
      for (; end > start; --end) {
        if (end < w.size() && (static_cast<unsigned char>(w[end]) & 0xC0) == 0x80) continue;
        piece.assign(start ? "##" : "");
        piece.append(w, start, end - start);
        auto it = ids_.find(piece);
        if (it != ids_.end() && it->second >= kNumSpecials) {
          found = it->second;
          break;
        }
      }
      if (found < 0) {
        out.resize(mark);
        out.push_back(kUnk);
        return;
      }
      out.push_back(found);
      start = end;
    }
  }

  // Ids of the text's pieces, no special tokens.
  std::vector<int64_t> encode(const std::string& text) const {
    std::vector<int64_t> ids;
    for (const auto& w : basic_tokenize(text)) encode_word(w, ids);
    return ids;
  }

  // [N, max_len]: [CLS] ids [SEP] [PAD]...; requires max_len >= 2. See the top for truncation.
  Tensor<int64_t> encode_batch(const std::vector<std::string>& texts, int64_t max_len,
                               EncodeStats* stats = nullptr) const {
    check(max_len >= 2, "WordPieceTokenizer::encode_batch", "max_len must be >= 2 ([CLS] and [SEP]), got ",
          max_len);
    if (stats) *stats = EncodeStats{};
    std::vector<int64_t> all(texts.size() * static_cast<size_t>(max_len), kPad);
    for (size_t i = 0; i < texts.size(); ++i) {
      std::vector<int64_t> ids = encode(texts[i]);
      const auto n = static_cast<int64_t>(ids.size());
      const int64_t keep = std::min(n, max_len - 2);
      int64_t* row = all.data() + i * static_cast<size_t>(max_len);
      row[0] = kCls;
      std::copy(ids.begin(), ids.begin() + keep, row + 1);
      row[keep + 1] = kSep;
      if (stats) {
        stats->lengths.push_back(n + 2);
        if (keep < n) ++stats->truncated;
      }
    }
    return host_tensor(all, Shape{static_cast<int64_t>(texts.size()), max_len});
  }

  // Tokens joined by spaces, "##" pieces glued to the previous token; [PAD] is skipped.
  std::string decode(const std::vector<int64_t>& ids) const {
    std::string out;
    for (int64_t id : ids) {
      if (id == kPad) continue;
      const std::string& t = token(id);
      if (t.size() > 2 && t[0] == '#' && t[1] == '#' && id >= kNumSpecials) {
        out.append(t, 2, std::string::npos);
      } else {
        if (!out.empty()) out += ' ';
        out += t;
      }
    }
    return out;
  }

  // One token per line (id = line number - 1), written atomically.
  void save(const std::string& path) const {
    std::string text;
    for (const auto& t : tokens_) text += t + "\n";
    write_file_atomic(path, text);
  }

  static WordPieceTokenizer load(const std::string& path) {
    Bytes b = read_file_bytes(path, "wordpiece");
    return parse(b.data(), b.size(), path);
  }

  // A vocab file in memory: lines of one token each (no white space or control bytes, valid
  // UTF-8, no duplicates, "##" followed by something), the first five the special tokens in
  // order; the last line may lack its '\n'.
  static WordPieceTokenizer parse(const uint8_t* data, size_t n, const std::string& name) {
    WordPieceTokenizer tok;
    tok.tokens_.clear();
    tok.ids_.clear();
    size_t pos = 0;
    int64_t line = 1;
    auto bad = [&](size_t at, const std::string& what) {
      fail_at("wordpiece", name, at, "line ", line, ": ", what);
    };
    while (pos < n) {
      size_t end = pos;
      while (end < n && data[end] != '\n') ++end;
      if (end == pos) bad(pos, "empty token");
      for (size_t i = pos; i < end;) {
        if (data[i] <= 0x20 || data[i] == 0x7F) bad(i, "white space or control byte " + std::to_string(data[i]));
        size_t len = detail::utf8_length(data, end, i);
        if (!len) bad(i, "invalid UTF-8");
        i += len;
      }
      std::string t(reinterpret_cast<const char*>(data + pos), end - pos);
      if (t == "##") bad(pos, "continuation marker '##' without a piece");
      const auto id = static_cast<int64_t>(tok.tokens_.size());
      if (id < kNumSpecials && t != specials()[static_cast<size_t>(id)])
        bad(pos, "expected the special token " + specials()[static_cast<size_t>(id)] + ", got '" + t + "'");
      if (tok.ids_.count(t)) bad(pos, "duplicate token '" + t + "'");
      tok.add(t);
      pos = end + 1;
      ++line;
    }
    if (tok.vocab_size() < kNumSpecials)
      fail_at("wordpiece", name, n, "only ", tok.vocab_size(), " tokens; the first 5 must be the special tokens");
    return tok;
  }

  // Only the 5 special tokens (every word encodes to [UNK]); use train() or load().
  WordPieceTokenizer() {
    for (const auto& s : specials()) add(s);
  }

 private:
  static constexpr int64_t kNumSpecials = 5;
  void add(const std::string& t) {
    ids_.emplace(t, vocab_size());
    tokens_.push_back(t);
  }
  std::vector<std::string> tokens_;
  std::unordered_map<std::string, int64_t> ids_;
};

}  // namespace distillery
