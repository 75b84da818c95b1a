// io/json.hpp — a tiny JSON value for results files (`--json PATH` in the examples).
//
// `Json` is null, a bool, a number, a string, an array or an object (members keep insertion
// order, so files read the way the program wrote them). Doubles print with the shortest text
// that reads back to the same value; NaN and infinities, which JSON lacks, print as null.
// `write_json` writes atomically (io/atomic_file.hpp).
//
//   Json r = Json::object();
//   r["dataset"] = "mnist";
//   r["test_accuracy"] = 0.9843;
//   r["epochs"] = 10;
//   r["curve"] = Json::array({0.91, 0.95, 0.97});
//   write_json("out/lenet.json", r);        // {"dataset": "mnist", ...}
#pragma once
#include <charconv>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../core/error.hpp"
#include "atomic_file.hpp"

namespace distillery {

class Json {
 public:
  enum class Kind { null, boolean, integer, number, string, array, object };

  Json() = default;
  Json(std::nullptr_t) {}
  Json(bool b) : kind_(Kind::boolean), int_(b) {}
  template <class I, std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>, int> = 0>
  Json(I i) : kind_(Kind::integer), int_(static_cast<int64_t>(i)) {}
  Json(double d) : kind_(Kind::number), num_(d) {}
  Json(float f) : Json(static_cast<double>(f)) {}
  Json(const char* s) : kind_(Kind::string), str_(s) {}
  Json(std::string s) : kind_(Kind::string), str_(std::move(s)) {}
  template <class T>
  Json(const std::vector<T>& v) : kind_(Kind::array) {
    for (const auto& x : v) items_.emplace_back(Json(x));
  }

  static Json array(std::initializer_list<Json> items = {}) {
    Json j;
    j.kind_ = Kind::array;
    j.items_.assign(items.begin(), items.end());
    return j;
  }
  static Json object() {
    Json j;
    j.kind_ = Kind::object;
    return j;
  }

  Kind kind() const { return kind_; }
  size_t size() const { return kind_ == Kind::object ? members_.size() : items_.size(); }

  // Object member (inserted as null if missing). A null value becomes an object on first use.
  Json& operator[](const std::string& key) {
    if (kind_ == Kind::null) kind_ = Kind::object;
    check(kind_ == Kind::object, "Json", "operator[\"", key,
          "\"] on a value that is not an object");
    for (auto& m : members_)
      if (m.first == key) return m.second;
    members_.emplace_back(key, Json());
    return members_.back().second;
  }
  // Appends to an array (a null value becomes an array on first use).
  Json& push_back(Json v) {
    if (kind_ == Kind::null) kind_ = Kind::array;
    check(kind_ == Kind::array, "Json", "push_back on a value that is not an array");
    items_.push_back(std::move(v));
    return items_.back();
  }

  // Compact text when indent < 0, else pretty-printed with `indent` spaces per level.
  std::string dump(int indent = 2) const {
    std::string out;
    write(out, indent, 0);
    if (indent >= 0) out += '\n';
    return out;
  }

 private:
  static void escape(std::string& out, const std::string& s) {
    out += '"';
    for (unsigned char c : s) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        default:
          if (c < 0x20) {
            const char* hex = "0123456789abcdef";
            out += "\\u00";
            out += hex[c >> 4];
            out += hex[c & 15];
          } else {
            out += static_cast<char>(c);  // UTF-8 passes through unchanged
          }
      }
    }
    out += '"';
  }
  static void newline(std::string& out, int indent, int depth) {
    if (indent < 0) return;
    out += '\n';
    out.append(static_cast<size_t>(indent) * depth, ' ');
  }
  void write(std::string& out, int indent, int depth) const {
    char buf[40];
    switch (kind_) {
      case Kind::null:
        out += "null";
        break;
      case Kind::boolean:
        out += int_ ? "true" : "false";
        break;
      case Kind::integer:
        out.append(buf, std::to_chars(buf, buf + sizeof buf, int_).ptr);
        break;
      case Kind::number:
        if (!std::isfinite(num_))
          out += "null";
        else
          out.append(buf, std::to_chars(buf, buf + sizeof buf, num_).ptr);
        break;
      case Kind::string:
        escape(out, str_);
        break;
      case Kind::array:
        out += '[';
        for (size_t i = 0; i < items_.size(); ++i) {
          if (i) out += ',';
          newline(out, indent, depth + 1);
          items_[i].write(out, indent, depth + 1);
        }
        if (!items_.empty()) newline(out, indent, depth);
        out += ']';
        break;
      case Kind::object:
        out += '{';
        for (size_t i = 0; i < members_.size(); ++i) {
          if (i) out += ',';
          newline(out, indent, depth + 1);
          escape(out, members_[i].first);
          out += indent < 0 ? ":" : ": ";
          members_[i].second.write(out, indent, depth + 1);
        }
        if (!members_.empty()) newline(out, indent, depth);
        out += '}';
        break;
    }
  }

  Kind kind_ = Kind::null;
  int64_t int_ = 0;
  double num_ = 0;
  std::string str_;
  std::vector<Json> items_;
  std::vector<std::pair<std::string, Json>> members_;
};

// Writes j.dump(indent) to `path` atomically.
inline void write_json(const std::string& path, const Json& j, int indent = 2) {
  write_file_atomic(path, j.dump(indent));
}

}  // namespace distillery
