// tests/install/main.cpp — the whole of a user's first program; fails (exit 1) on a wrong sum.
#include <distillery/distillery.hpp>

#include <cstdio>

int main() {
  auto t = distillery::Tensor<double>::ones({2, 3});
  const double s = t.sum().item();
  if (s != 6.0) {
    std::fprintf(stderr, "consumer: sum(ones({2,3})) = %g, expected 6\n", s);
    return 1;
  }
  std::printf("consumer: sum(ones({2,3})) = %g\n", s);
  return 0;
}
