// backend/cpu/implementation.hpp — the one place the CPU kernels are compiled.
//
// The light headers only declare `cpu_runtime()` (core/device.hpp) and `cpu_kernel_table<T>()`
// (backend/kernel_table.hpp). This header DEFINES them: a static CpuRuntime and one static
// CpuKernels<T> per element type, whose virtual tables instantiate every CPU kernel (GEMM
// micro-kernels per ISA, im2col, convolution, pooling, sort, ...). It holds non-inline
// definitions, so exactly one translation unit of a program may include it:
//   - the prebuilt library distillery::kernels (src/kernels.cpp) does, and CMake users who link
//     distillery::distillery get it from there;
//   - header-only users define DISTILLERY_IMPLEMENTATION in one .cpp before including
//     <distillery/distillery.hpp>, which then includes this file (docs/build.md).
#pragma once
#ifdef DISTILLERY_KERNELS_DEFINED
#error "backend/cpu/implementation.hpp included twice in one translation unit"
#endif
#define DISTILLERY_KERNELS_DEFINED 1

#include "kernels.hpp"

namespace distillery {

DeviceRuntime* cpu_runtime() {
  static cpu::CpuRuntime rt;
  return &rt;
}

template <>
KernelTable<float>& cpu_kernel_table<float>() {
  static cpu::CpuKernels<float> k;
  return k;
}
#ifdef DISTILLERY_FLOAT_ONLY
// Embedded builds (docs/embedded.md): only the float kernels are compiled. A double or int64
// tensor op then fails with this message instead of pulling ~500 KB of kernels into the binary
// (a virtual table keeps every kernel it names alive, whatever --gc-sections does). Tensors of
// those types can still be created, filled and read element by element; no kernel runs on them.
template <>
KernelTable<double>& cpu_kernel_table<double>() {
  fail("cpu kernels", "no kernels for double: this program was built with DISTILLERY_FLOAT_ONLY");
}
template <>
KernelTable<int64_t>& cpu_kernel_table<int64_t>() {
  fail("cpu kernels", "no kernels for int64: this program was built with DISTILLERY_FLOAT_ONLY");
}
#else
template <>
KernelTable<double>& cpu_kernel_table<double>() {
  static cpu::CpuKernels<double> k;
  return k;
}
template <>
KernelTable<int64_t>& cpu_kernel_table<int64_t>() {
  static cpu::CpuKernels<int64_t> k;
  return k;
}
#endif

}  // namespace distillery
