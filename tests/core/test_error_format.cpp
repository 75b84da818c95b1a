// tests/core/test_error_format.cpp — error messages are built by format_part (core/error.hpp)
// without <sstream>; every kind of part must print as std::ostream printed it before (numbers
// in the default %g form, char as a character, bool as 0/1), and Shape, Device and Tensor
// print the same text in messages and on streams.
#include <distillery/distillery.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <sstream>
#include <string>

using namespace distillery;

namespace {
std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}
template <class X>
std::string streamed(const X& x) {
  std::ostringstream os;
  os << x;
  return os.str();
}
template <class X>
void same_as_ostream(const X& x) {
  CAPTURE(streamed(x));
  CHECK(message_of([&] { fail("op", x); }) == "op: " + streamed(x));
}
}  // namespace

TEST_CASE("format_part prints numbers, chars and bools as std::ostream does") {
  using L = std::numeric_limits<double>;
  for (double v : {0.0, -0.0, 0.5, -1.0, 3.14159265358979, 1e-7, 1e20, 123456789.0, 1.0 / 3,
                   L::infinity(), -L::infinity(), L::quiet_NaN(), L::denorm_min()})
    same_as_ostream(v);
  for (float v : {0.1f, -2.5f, 1e-30f, 16777217.0f}) same_as_ostream(v);
  for (int64_t v : {int64_t(0), int64_t(-7), std::numeric_limits<int64_t>::min(),
                    std::numeric_limits<int64_t>::max()})
    same_as_ostream(v);
  same_as_ostream(std::numeric_limits<uint64_t>::max());
  same_as_ostream(int(-3));
  same_as_ostream(size_t(42));
  same_as_ostream('x');
  same_as_ostream(true);
  same_as_ostream(false);
  same_as_ostream("text");
  same_as_ostream(std::string("a string"));
}

TEST_CASE("Shape, Device and Tensor print the same in messages and on streams") {
  same_as_ostream(Shape{});
  same_as_ostream(Shape{2, 3, 4});
  same_as_ostream(Device::cpu);
  CHECK(streamed(Shape{2, 3}) == "[2, 3]");
  auto t = Tensor<double>::from_vector({0.5, -1.0, 2.0});
  CHECK(streamed(t) == "Tensor(shape=[3], device=cpu, values=[0.5, -1, 2])");
  CHECK(streamed(Tensor<float>()) == "Tensor(undefined)");
  // the stream's own precision is no longer changed by printing a tensor
  std::ostringstream os;
  os.precision(3);
  os << t << " " << 3.14159;
  CHECK(os.str() == "Tensor(shape=[3], device=cpu, values=[0.5, -1, 2]) 3.14");
}

TEST_CASE("a message with several parts, as ops write them") {
  const Shape a{2, 3}, b{4};
  CHECK(message_of([&] { fail("matmul", "shapes ", a, " and ", b, " (k ", int64_t(3), " vs ", 4,
                              "), scale ", 0.25); }) ==
        "matmul: shapes [2, 3] and [4] (k 3 vs 4), scale 0.25");
}
