// core/error.hpp — the one exception type and the one message formatter.
//
// Every op checks its inputs once, at construction, and throws `distillery::Error` with a
// message of the form "op: expected ..., got ...". `check(cond, op, parts...)` builds the
// message only when the check fails, so the happy path costs one branch.
#pragma once
#include <cstdio>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace distillery {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Message parts are appended to a std::string as std::ostream would print them (numbers with
// the default "%g" form, char as a character, bool as 0/1) without <sstream>: the error path
// of every header then costs no iostreams to parse or instantiate. A type of ours becomes
// printable in messages with a `format_part(std::string&, const X&)` found by ADL (Shape,
// Device, ShapeOf); its operator<< prints the same text.
inline void format_part(std::string& s, const char* p) { s += p ? p : "(null)"; }
inline void format_part(std::string& s, const std::string& p) { s += p; }
inline void format_part(std::string& s, char c) { s += c; }
inline void format_part(std::string& s, bool b) { s += b ? '1' : '0'; }
inline void format_part(std::string& s, double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  s += buf;
}
inline void format_part(std::string& s, long double v) { format_part(s, double(v)); }
template <class N, std::enable_if_t<std::is_integral_v<N> && !std::is_same_v<N, bool> &&
                                        !std::is_same_v<N, char>, int> = 0>
void format_part(std::string& s, N n) {
  s += std::to_string(n);
}
template <class E, std::enable_if_t<std::is_enum_v<E>, int> = 0>
void format_part(std::string& s, E e) {  // an enum without its own format_part: its number
  s += std::to_string(static_cast<long long>(e));
}
inline void format_part(std::string& s, float v) { format_part(s, double(v)); }

namespace detail {
inline void append_all(std::string&) {}
template <class A, class... R>
void append_all(std::string& s, const A& a, const R&... r) {
  format_part(s, a);
  append_all(s, r...);
}
}  // namespace detail

// Throws Error("op: parts...").
template <class... Parts>
[[noreturn]] void fail(const char* op, const Parts&... parts) {
  std::string s(op);
  s += ": ";
  detail::append_all(s, parts...);
  throw Error(s);
}

template <class... Parts>
inline void check(bool cond, const char* op, const Parts&... parts) {
  if (!cond) fail(op, parts...);
}

// Runs f(); an Error thrown inside (by an op that `op` is built on) comes out prefixed with `op`,
// so the message names the op the user called and the one that failed: "embedding: index_select:
// index 5 out of range [0, 5)".
template <class F>
auto rethrow_as(const char* op, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const Error& e) {
    throw Error(std::string(op) + ": " + e.what());
  }
}

}  // namespace distillery
