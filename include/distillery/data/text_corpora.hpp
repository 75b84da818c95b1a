// data/text_corpora.hpp — readers for the raw English text corpora behind the mini-GLUE tasks.
//
// scripts/get-data.sh puts the files in data/ (see data/text_tasks.hpp for the tasks built on them):
//   Brown corpus (data/brown/c[a-r]NN): one sentence per line as "word/tag" tokens separated by
//     spaces, a paragraph's first line indented by a tab, blank lines between:
//       "\tThe/at Fulton/np-tl County/nn-tl Grand/jj-tl Jury/nn-tl said/vbd ... ./.\n"
//     `parse_brown` strips the tags (the part after each token's last '/') and joins the words
//     with light detokenisation (`` and '' -> ", no space after `` and (, none before '' , . ; :
//     ? ! and )):
//       "\tThe/at jury/nn said/vbd ``/`` no/at evidence/nn ''/'' ./."  ->  "The jury said \"no evidence\"."
//     cats.txt maps each file to one of 15 genres ("ca01 news"): `parse_brown_categories`.
//   fortune files (data/fortunes/<topic>): entries separated by lines holding only "%":
//     `parse_fortunes` returns the entries, each with its lines joined by '\n', trimmed.
//   e-mails (data/spam/...): data/readers/email.hpp (RFC 822 / MIME / HTML to text).
// All readers parse from memory (so tests/fuzz/fuzz_text_tasks.cpp reaches them) and reject
// corrupt input with Error("<reader>: <file>: byte <offset>: ..."): a Brown token without a
// word or a tag or with a control byte, a NUL byte or invalid UTF-8 in a fortune file (e.g. a
// .dat index passed by mistake; other control bytes become spaces).
//
//   std::vector<std::string> s = load_brown_file("data/brown/ca01");       // 98 sentences
//   std::vector<std::string> f = load_fortune_file("data/fortunes/love");  // 150 entries
#pragma once
#include <dirent.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "../io/bytes.hpp"

namespace distillery {

namespace detail {
inline bool text_space(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}
// ASCII letters only (no locale): 'A'..'Z' -> 'a'..'z'.
inline std::string ascii_lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}
// Length of the valid UTF-8 sequence at data[i] (1..4), or 0 when it is not valid
// (overlong forms, surrogates and code points above U+10FFFF are invalid).
inline size_t utf8_length(const uint8_t* d, size_t n, size_t i) {
  const uint8_t c = d[i];
  if (c < 0x80) return 1;
  size_t len;
  uint32_t cp;
  if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1F;
  else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0F;
  else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07;
  else return 0;
  if (i + len > n) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((d[i + k] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (d[i + k] & 0x3F);
  }
  if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
    return 0;
  return len;
}
inline void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}
// Valid UTF-8 is copied; any other byte is read as Windows-1252 (the C1 range's quotes and
// dashes become ASCII, its other codes a space); control bytes other than \t \n become spaces.
inline std::string to_utf8(const std::string& s) {
  const auto* d = reinterpret_cast<const uint8_t*>(s.data());
  const size_t n = s.size();
  std::string out;
  out.reserve(n);
  for (size_t i = 0; i < n;) {
    size_t len = utf8_length(d, n, i);
    const uint8_t c = d[i];
    if (len == 1) {
      out += (c < 0x20 && c != '\t' && c != '\n') || c == 0x7F ? ' ' : static_cast<char>(c);
    } else if (len > 1) {
      out.append(s, i, len);
    } else {
      len = 1;
      if (c >= 0xA0) append_utf8(out, c);
      else if (c == 0x91 || c == 0x92) out += '\'';
      else if (c == 0x93 || c == 0x94) out += '"';
      else if (c == 0x96 || c == 0x97) out += '-';
      else out += ' ';
    }
    i += len;
  }
  return out;
}
}  // namespace detail

// Every white-space run becomes one space; leading and trailing white space is dropped.
inline std::string normalize_space(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  bool pending = false;
  for (char ch : s) {
    if (detail::text_space(static_cast<unsigned char>(ch))) {
      pending = !out.empty();
    } else {
      if (pending) out += ' ';
      pending = false;
      out += ch;
    }
  }
  return out;
}

// ---- Brown ----------------------------------------------------------------------------------

// The detokenised, tag-free sentences of one Brown file (one per non-blank line), in order.
// If `word_counts` is given, it receives each sentence's number of tokens with a letter or digit.
inline std::vector<std::string> parse_brown(const uint8_t* data, size_t n, const std::string& name,
                                            std::vector<int64_t>* word_counts = nullptr) {
  std::vector<std::string> out;
  if (word_counts) word_counts->clear();
  size_t pos = 0;
  while (pos < n) {
    size_t end = pos;
    while (end < n && data[end] != '\n') ++end;
    std::string sentence;
    int64_t words = 0;
    bool no_space_next = true;
    for (size_t i = pos; i < end;) {
      if (detail::text_space(data[i])) {
        ++i;
        continue;
      }
      size_t j = i, slash = n;
      for (; j < end && !detail::text_space(data[j]); ++j) {
        if (data[j] < 0x20 || data[j] == 0x7F) fail_at("brown", name, j, "control byte ", int(data[j]));
        if (data[j] == '/') slash = j;
      }
      if (slash == n) fail_at("brown", name, i, "token has no '/tag'");
      if (slash == i) fail_at("brown", name, i, "token has an empty word");
      if (slash + 1 == j) fail_at("brown", name, slash, "token has an empty tag");
      std::string word(reinterpret_cast<const char*>(data + i), slash - i);
      const bool open = word == "``" || word == "(", close_quote = word == "''";
      if (word == "``" || close_quote) word = "\"";
      bool attach_left = close_quote || word == "," || word == "." || word == ";" ||
                         word == ":" || word == "?" || word == "!" || word == ")";
      if (!sentence.empty() && !attach_left && !no_space_next) sentence += ' ';
      sentence += word;
      no_space_next = open;
      for (char ch : word)
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            static_cast<unsigned char>(ch) >= 0x80) {
          ++words;
          break;
        }
      i = j;
    }
    if (!sentence.empty()) {
      out.push_back(std::move(sentence));
      if (word_counts) word_counts->push_back(words);
    }
    pos = end + 1;
  }
  return out;
}

inline std::vector<std::string> load_brown_file(const std::string& path,
                                                std::vector<int64_t>* word_counts = nullptr) {
  Bytes b = read_file_bytes(path, "brown");
  return parse_brown(b.data(), b.size(), path, word_counts);
}

// cats.txt: "<file> <genre>" per line -> (file, genre) pairs in file order. File names must be
// letters and digits only (they are joined to a directory).
inline std::vector<std::pair<std::string, std::string>> parse_brown_categories(
    const uint8_t* data, size_t n, const std::string& name) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t pos = 0;
  while (pos < n) {
    size_t end = pos;
    while (end < n && data[end] != '\n') ++end;
    std::vector<std::pair<size_t, std::string>> fields;
    for (size_t i = pos; i < end;) {
      if (detail::text_space(data[i])) {
        ++i;
        continue;
      }
      size_t j = i;
      while (j < end && !detail::text_space(data[j])) {
        if (data[j] < 0x20 || data[j] >= 0x7F) fail_at("brown", name, j, "unexpected byte ", int(data[j]));
        ++j;
      }
      fields.emplace_back(i, std::string(reinterpret_cast<const char*>(data + i), j - i));
      i = j;
    }
    if (!fields.empty()) {
      if (fields.size() != 2)
        fail_at("brown", name, fields[0].first, "expected '<file> <genre>', got ", fields.size(), " fields");
      for (size_t k = 0; k < fields[0].second.size(); ++k) {
        char ch = fields[0].second[k];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')))
          fail_at("brown", name, fields[0].first + k, "file name must be letters and digits");
      }
      out.emplace_back(fields[0].second, fields[1].second);
    }
    pos = end + 1;
  }
  return out;
}

// ---- fortunes -------------------------------------------------------------------------------

// The entries of one fortune file ('%' lines separate them; empty entries are skipped).
inline std::vector<std::string> parse_fortunes(const uint8_t* data, size_t n, const std::string& name) {
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&] {
    size_t b = 0, e = cur.size();
    while (b < e && detail::text_space(static_cast<unsigned char>(cur[b]))) ++b;
    while (e > b && detail::text_space(static_cast<unsigned char>(cur[e - 1]))) --e;
    if (e > b) out.push_back(cur.substr(b, e - b));
    cur.clear();
  };
  size_t pos = 0;
  while (pos < n) {
    size_t end = pos;
    while (end < n && data[end] != '\n') ++end;
    size_t stop = end > pos && data[end - 1] == '\r' ? end - 1 : end;
    if (stop == pos + 1 && data[pos] == '%') {
      flush();
    } else {
      for (size_t i = pos; i < stop;) {
        const uint8_t c = data[i];
        if (c == 0) fail_at("fortunes", name, i, "NUL byte (not a fortune text file?)");
        size_t len = detail::utf8_length(data, n, i);
        if (!len) fail_at("fortunes", name, i, "invalid UTF-8 byte ", int(c));
        // other control bytes (a few entries ring the bell or overstrike) become spaces
        cur += (c < 0x20 && c != '\t') || c == 0x7F ? ' ' : static_cast<char>(c);
        if (len > 1) cur.append(reinterpret_cast<const char*>(data + i + 1), len - 1);
        i += len;
      }
      cur += '\n';
    }
    pos = end + 1;
  }
  flush();
  return out;
}

inline std::vector<std::string> load_fortune_file(const std::string& path) {
  Bytes b = read_file_bytes(path, "fortunes");
  return parse_fortunes(b.data(), b.size(), path);
}

// The names in directory `dir` ending in `suffix` (e.g. ".txt"), sorted bytewise.
inline std::vector<std::string> list_files(const std::string& dir, const std::string& suffix) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) fail("list_files", dir, ": cannot open directory");
  std::vector<std::string> out;
  while (const dirent* ent = ::readdir(d)) {
    std::string f = ent->d_name;
    if (f.size() > suffix.size() && f.compare(f.size() - suffix.size(), suffix.size(), suffix) == 0)
      out.push_back(f);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace distillery
