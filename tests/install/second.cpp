// tests/install/second.cpp — a second translation unit that includes the umbrella header and
// runs kernels (float and double GEMM through matmul), so duplicate symbols would fail to link.
#include <distillery/distillery.hpp>

double second_derivative_of_cube(double x) {
  using namespace distillery;
  auto a = Tensor<float>::ones({2, 2});
  if (matmul(a, a).sum().item() != 8.0f) return -1;  // float kernels from this unit
  auto t = Tensor<double>::from_vector({x}).requires_grad_();
  auto y = sum(t * t * t);
  auto g = grad({y}, {t}, {}, /*create_graph=*/true)[0];
  return grad({sum(g)}, {t})[0].item();
}
