// tests/core/test_smoke.cpp — the build, the headers and doctest fit together.
#include <distillery/distillery.hpp>

#include <doctest/doctest.h>

TEST_CASE("smoke: ones({2,3}) has six elements") {
  auto t = distillery::Tensor<double>::ones({2, 3});
  CHECK(t.numel() == 6);
  CHECK(t.dim() == 2);
}
