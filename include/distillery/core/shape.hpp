// core/shape.hpp — shapes and strides as small fixed-capacity vectors.
//
// Small tensors are the common case, so a Shape never allocates: it holds up to kMaxDims
// int64 extents inline. The same type stores strides (in elements, not bytes). Helpers here
// compute contiguous strides, element counts, numpy broadcasting and dim normalisation
// (negative dims count from the end, as in PyTorch).
#pragma once
#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <string>
#include <vector>

#include "error.hpp"

namespace distillery {

constexpr int kMaxDims = 8;

// Overflow-checked int64 arithmetic for sizes: throws "op: size overflow (a * b)" instead of
// wrapping (signed overflow is undefined behaviour).
inline int64_t checked_mul(int64_t a, int64_t b, const char* op) {
  int64_t r;
  check(!__builtin_mul_overflow(a, b, &r), op, "size overflow (", a, " * ", b,
        " does not fit in int64)");
  return r;
}
inline int64_t checked_add(int64_t a, int64_t b, const char* op) {
  int64_t r;
  check(!__builtin_add_overflow(a, b, &r), op, "size overflow (", a, " + ", b,
        " does not fit in int64)");
  return r;
}

class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims) { assign(dims.begin(), dims.end()); }
  explicit Shape(const std::vector<int64_t>& dims) { assign(dims.begin(), dims.end()); }
  template <class It>
  Shape(It b, It e) { assign(b, e); }

  int size() const { return n_; }
  bool empty() const { return n_ == 0; }
  int64_t operator[](int i) const { return d_[i]; }
  int64_t& operator[](int i) { return d_[i]; }
  const int64_t* begin() const { return d_; }
  const int64_t* end() const { return d_ + n_; }
  int64_t* data() { return d_; }
  const int64_t* data() const { return d_; }
  int64_t back() const { return d_[n_ - 1]; }

  void push_back(int64_t v) {
    check(n_ < kMaxDims, "Shape", "at most ", kMaxDims, " dimensions are supported");
    d_[n_++] = v;
  }
  void pop_back() { --n_; }
  void insert(int pos, int64_t v) {
    check(n_ < kMaxDims, "Shape", "at most ", kMaxDims, " dimensions are supported");
    for (int i = n_; i > pos; --i) d_[i] = d_[i - 1];
    d_[pos] = v;
    ++n_;
  }
  void erase(int pos) {
    for (int i = pos; i + 1 < n_; ++i) d_[i] = d_[i + 1];
    --n_;
  }
  std::vector<int64_t> vec() const { return std::vector<int64_t>(begin(), end()); }

  // Product of the extents (overflow-checked: throws "numel: size overflow ...").
  int64_t numel() const {
    int64_t n = 1;
    for (int i = 0; i < n_; ++i) n = checked_mul(n, d_[i], "numel");
    return n;
  }

  friend bool operator==(const Shape& a, const Shape& b) {
    if (a.n_ != b.n_) return false;
    for (int i = 0; i < a.n_; ++i)
      if (a.d_[i] != b.d_[i]) return false;
    return true;
  }
  friend bool operator!=(const Shape& a, const Shape& b) { return !(a == b); }
  // "[2, 3]": in error messages (format_part) and on streams.
  std::string str() const {
    std::string s = "[";
    for (int i = 0; i < n_; ++i) {
      if (i) s += ", ";
      s += std::to_string(d_[i]);
    }
    return s + "]";
  }
  friend void format_part(std::string& out, const Shape& s) { out += s.str(); }
  friend std::ostream& operator<<(std::ostream& os, const Shape& s) { return os << s.str(); }

 private:
  template <class It>
  void assign(It b, It e) {
    n_ = 0;
    for (; b != e; ++b) push_back(static_cast<int64_t>(*b));
  }
  int64_t d_[kMaxDims] = {};
  int n_ = 0;
};

using Strides = Shape;

// Element count of a shape a tensor is about to get: every extent non-negative, and the count,
// in bytes of `elem_size`, within what one allocation can address (PTRDIFF_MAX).
inline int64_t checked_numel(const Shape& s, const char* op, int64_t elem_size = 1) {
  int64_t n = 1;
  for (int i = 0; i < s.size(); ++i) {
    check(s[i] >= 0, op, "negative extent in shape ", s);
    check(!__builtin_mul_overflow(n, s[i], &n), op, "size overflow: shape ", s,
          " has more elements than int64 can count");
  }
  int64_t bytes;
  check(!__builtin_mul_overflow(n, elem_size, &bytes), op, "size overflow: shape ", s, " needs ",
        n, " elements of ", elem_size, " bytes");
  return n;
}

inline Strides contiguous_strides(const Shape& s) {
  Strides st = s;
  int64_t acc = 1;
  for (int i = s.size() - 1; i >= 0; --i) {
    st[i] = acc;
    acc = checked_mul(acc, std::max<int64_t>(s[i], 1), "strides");
  }
  return st;
}

// Maps a possibly negative dim into [0, ndim); `op` names the caller in the error.
inline int normalize_dim(int64_t dim, int ndim, const char* op) {
  int64_t n = std::max(ndim, 1);
  check(dim >= -n && dim < n, op, "dim ", dim, " out of range for a tensor of ", ndim,
        " dimensions");
  return static_cast<int>(dim < 0 ? dim + n : dim);
}

// numpy broadcasting of two shapes; throws naming the op and both shapes.
inline Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  int n = std::max(a.size(), b.size());
  Shape out;
  for (int i = 0; i < n; ++i) out.push_back(1);
  for (int i = 0; i < n; ++i) {
    int ia = a.size() - n + i, ib = b.size() - n + i;
    int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    check(da == db || da == 1 || db == 1, op, "shapes ", a, " and ", b,
          " cannot be broadcast together");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

}  // namespace distillery
