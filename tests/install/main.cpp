// tests/install/main.cpp — the whole of a user's first program; fails (exit 1) on a wrong sum or
// a wrong gradient computed in the other translation unit (second.cpp).
#include <distillery/distillery.hpp>

#include <cstdio>

double second_derivative_of_cube(double x);  // second.cpp

int main() {
  auto t = distillery::Tensor<double>::ones({2, 3});
  const double s = t.sum().item();
  if (s != 6.0) {
    std::fprintf(stderr, "consumer: sum(ones({2,3})) = %g, expected 6\n", s);
    return 1;
  }
  const double h = second_derivative_of_cube(2.0);
  if (h != 12.0) {
    std::fprintf(stderr, "consumer: d2/dx2 x^3 at 2 = %g, expected 12\n", h);
    return 1;
  }
  std::printf("consumer: sum(ones({2,3})) = %g, d2/dx2 x^3 at 2 = %g\n", s, h);
  return 0;
}
