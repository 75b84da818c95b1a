// core/error.hpp — the one exception type and the one message formatter.
//
// Every op checks its inputs once, at construction, and throws `distillery::Error` with a
// message of the form "op: expected ..., got ...". `check(cond, op, parts...)` builds the
// message only when the check fails, so the happy path costs one branch.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace distillery {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

namespace detail {
inline void append_all(std::ostringstream&) {}
template <class A, class... R>
void append_all(std::ostringstream& os, const A& a, const R&... r) {
  os << a;
  append_all(os, r...);
}
}  // namespace detail

// Throws Error("op: parts...").
template <class... Parts>
[[noreturn]] void fail(const char* op, const Parts&... parts) {
  std::ostringstream os;
  os << op << ": ";
  detail::append_all(os, parts...);
  throw Error(os.str());
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
