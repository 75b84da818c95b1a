// core/device.hpp — where a tensor's bytes live, and how to reach a device's memory and kernels.
//
// Every Storage carries a Device tag. Ops never touch memory themselves: they call kernels
// through the per-device table of backend/kernel_table.hpp, so the CUDA backend (cuda/) plugs
// in under the same user-facing API: `t.to(Device::cuda)`.
//
// This header only DECLARES the CPU registry (`cpu_runtime()`, and `kernels<T>()` whose table
// type lives in backend/kernel_table.hpp): the definitions, which instantiate every CPU kernel,
// are compiled once per program — by the prebuilt `distillery::kernels` library, or by the one
// translation unit that defines DISTILLERY_IMPLEMENTATION before including
// <distillery/distillery.hpp> (see docs/build.md). So core/ includes no backend header.
#pragma once
#include <cstddef>
#include <iosfwd>
#include <string>

namespace distillery {

enum class Device : unsigned char { cpu = 0, cuda = 1 };

inline const char* device_name(Device d) { return d == Device::cpu ? "cpu" : "cuda"; }
inline void format_part(std::string& s, Device d) { s += device_name(d); }
inline std::ostream& operator<<(std::ostream& os, Device d) {
  return os << std::string(device_name(d));
}

// Memory of one device. The CPU one is an aligned malloc with a block cache
// (backend/cpu/allocator.hpp); CUDA's is a caching allocator (cuda/backend.cu).
struct DeviceRuntime {
  virtual ~DeviceRuntime() = default;
  virtual void* allocate(std::size_t bytes) = 0;
  virtual void deallocate(void* p, std::size_t bytes) = 0;
  virtual void copy_to_host(void* dst, const void* src, std::size_t bytes) = 0;
  virtual void copy_from_host(void* dst, const void* src, std::size_t bytes) = 0;
  virtual void copy_device(void* dst, const void* src, std::size_t bytes) = 0;
  virtual void synchronize() {}
};

// The CPU runtime (defined in backend/cpu/implementation.hpp, compiled once per program).
DeviceRuntime* cpu_runtime();

// Registration slot for the CUDA runtime (filled by cuda/ at static-initialisation time).
inline DeviceRuntime*& cuda_runtime_slot() {
  static DeviceRuntime* rt = nullptr;
  return rt;
}

// The per-device kernel table (backend/kernel_table.hpp defines both; core/tensor.hpp only
// names them inside templates, which are instantiated after the ops headers are seen).
template <class T>
struct KernelTable;
template <class T>
KernelTable<T>& kernels(Device d);

}  // namespace distillery
