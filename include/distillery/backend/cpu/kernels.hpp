// backend/cpu/kernels.hpp — the CPU kernel table and the CPU memory runtime.
//
// Each entry implements one KernelTable<T> primitive on host buffers. Elementwise arithmetic
// comes from backend/scalar_math.hpp (shared with CUDA). Reductions accumulate in double and
// split work statically, so results depend only on the inputs and the thread count.
//
// One family name, four places: the kernels of a family live in backend/cpu/<family>.hpp, its
// ops in ops/<family>.hpp, its CUDA kernels in cuda/kernels_<family>.cu and its op-harness rows
// in tests/ops/table_<family>.hpp. The families, in the order they stack into CpuKernels<T>:
//   elementwise    fill, copy, cast, unary, binary, where, bernoulli_mask (dropout)
//   reduce         reduce, arg_reduce, softmax, sort
//   linalg         gemm (gemm.hpp: packed SIMD micro-kernels per ISA)
//   index          gather, scatter_add, index_select, index_add
//   nn_functional  im2col, col2im, max_pool2d, conv2d_fused(_backward)
//                  (helpers im2col.hpp, conv_direct.hpp, pool.hpp)
//   loss           kd_fused, relation_points_fused, angle_group_fused
//                  (helpers kd_kernel.hpp, relation_kernels.hpp, vector_exp.hpp)
// Shared by several families: strided.hpp (strided iteration), parallel.hpp (OpenMP splits),
// allocator.hpp (the host block cache behind CpuRuntime). Only implementation.hpp includes
// this header.
#pragma once
#include <cstring>

#include "../kernel_table.hpp"
#include "allocator.hpp"
#ifdef DISTILLERY_NO_FUSED_LOSSES
#include "nn_functional.hpp"
#else
#include "loss.hpp"
#endif

namespace distillery::cpu {

struct CpuRuntime final : DeviceRuntime {
  void* allocate(std::size_t bytes) override {
    void* p = HostBlockCache::instance().allocate(bytes);
    if (!p) fail("allocate", "out of host memory asking for ", bytes, " bytes");
    return p;
  }
  void deallocate(void* p, std::size_t bytes) override {
    HostBlockCache::instance().deallocate(p, bytes);
  }
  // n == 0 may come with a null pointer (an empty std::vector): memcpy(d, nullptr, 0) is UB
  void copy_to_host(void* d, const void* s, std::size_t n) override { copy_bytes(d, s, n); }
  void copy_from_host(void* d, const void* s, std::size_t n) override { copy_bytes(d, s, n); }
  void copy_device(void* d, const void* s, std::size_t n) override { copy_bytes(d, s, n); }
  static void copy_bytes(void* d, const void* s, std::size_t n) { if (n) std::memcpy(d, s, n); }
};

// The whole CPU table: every family stacked (loss.hpp derives from nn_functional.hpp, and so on
// down to elementwise.hpp, which derives from KernelTable<T>).
// DISTILLERY_NO_FUSED_LOSSES (embedded builds, docs/embedded.md) leaves the loss family out:
// the table's fused slots then answer "not fused", and every loss takes its composed path, as
// on a device without fused kernels (same values up to rounding; tests/losses check both).
#ifdef DISTILLERY_NO_FUSED_LOSSES
template <class T>
struct CpuKernels final : CpuNnFunctional<T> {};
#else
template <class T>
struct CpuKernels final : CpuLoss<T> {};
#endif

}  // namespace distillery::cpu
