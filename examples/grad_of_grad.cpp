// grad_of_grad — the README's 20-line example: a Hessian-vector product and a third derivative.
#include <distillery/distillery.hpp>
#include <distillery/io/cli.hpp>
#include <iostream>
using namespace distillery;

int program(int argc, char** argv) {
  Args(argc, argv, "grad_of_grad: a Hessian-vector product and a third derivative").finish();
  auto x = Tensor<double>::from_vector({0.5, -1.0, 2.0}).requires_grad_();
  auto y = sum(tanh(x) * x * x);                               // y = Σ x² tanh x

  // first order, keeping the graph of the gradient (create_graph = true)
  auto g = grad({y}, {x}, {}, /*create_graph=*/true)[0];       // dy/dx
  // Hessian-vector product: d(g · v)/dx = H v
  auto v = Tensor<double>::from_vector({1.0, 0.0, 0.0});
  auto hv = grad({sum(g * v)}, {x}, {}, /*create_graph=*/true)[0];
  // third order: d/dx of the first entry of H v
  auto t = grad({select(hv, 0, 0)}, {x})[0];

  std::cout << "y      = " << y.item() << "\n"
            << "dy/dx  = " << g << "\n"
            << "H v    = " << hv << "\n"
            << "d3y/dx0^3 = " << t.to_vector()[0] << "\n";
  return 0;
}

// run_main (io/cli.hpp): an error becomes one line "grad_of_grad: error: ...", exit status 1.
int main(int argc, char** argv) { return run_main(argc, argv, "grad_of_grad", program); }
