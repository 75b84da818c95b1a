// distillery.hpp — the umbrella header.
//
// Distillery is a header-only C++17 tensor library with reverse-mode automatic differentiation
// whose every backward rule is written in differentiable ops, so gradients of gradients work
// everywhere. Layers, bottom up (each knows only the ones below it):
//   core/      Shape, Storage (device tag), Tensor<T>, Generator, errors
//   backend/   the per-device kernel table; backend/cpu = Eigen GEMM + OpenMP loops
//   autograd/  Node, the iterative backward sweep, grad(), no_grad
//   ops/       one header per op family, forward and backward side by side
//
//   #include <distillery/distillery.hpp>
//   using namespace distillery;
//   auto x = Tensor<double>::from_vector({1.0, 2.0}).requires_grad_();
//   auto y = sum(x * x * x);                                   // y = Σ x³
//   auto g = grad({y}, {x}, {}, /*create_graph=*/true)[0];     // 3 x²
//   auto h = grad({sum(g)}, {x})[0];                           // 6 x
//
// The CPU kernels are compiled once per program, not in every translation unit: link the CMake
// target distillery::distillery (headers + the prebuilt distillery::kernels), or, header-only,
// write `#define DISTILLERY_IMPLEMENTATION` before this include in exactly one .cpp file of the
// program (docs/build.md).
#pragma once

#include "core/error.hpp"
#include "core/shape.hpp"
#include "core/device.hpp"
#include "core/rng.hpp"
#include "core/storage.hpp"
#include "core/tensor.hpp"
#include "backend/cpu/threads.hpp"  // cpu::max_threads() (OpenMP threads; no kernels)
#include "autograd/grad_mode.hpp"
#include "autograd/node.hpp"
#include "autograd/engine.hpp"
#include "ops/common.hpp"
#include "ops/view.hpp"
#include "ops/reduce.hpp"
#include "ops/elementwise.hpp"
#include "ops/linalg.hpp"
#include "ops/index.hpp"
#include "ops/nn_functional.hpp"
#include "ops/loss.hpp"
#include "ops/tensor_methods.hpp"
#include "ops/inplace.hpp"
#include "losses/losses.hpp"

#ifdef DISTILLERY_IMPLEMENTATION
#include "backend/cpu/implementation.hpp"
#endif
