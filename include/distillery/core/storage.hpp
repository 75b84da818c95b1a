// core/storage.hpp — reference-counted device buffers and the device registry.
//
// A Storage owns `bytes` bytes on one Device. Tensors are views (shape, strides, offset) over a
// shared Storage. `runtime(device)` and `kernels<T>(device)` return the per-device memory
// manager and kernel table; asking for CUDA without the CUDA backend throws. Live and peak
// bytes are counted per device (memory_stats), which dataset distillation reports.
#pragma once
#include <atomic>
#include <cstddef>
#include <memory>

#include "../backend/cpu/kernels.hpp"
#include "../backend/kernel_table.hpp"
#include "device.hpp"

namespace distillery {

inline DeviceRuntime* runtime(Device d) {
  if (d == Device::cpu) {
    static cpu::CpuRuntime rt;
    return &rt;
  }
  DeviceRuntime* rt = cuda_runtime_slot();
  check(rt != nullptr, "device", "CUDA requested but Distillery was built without the CUDA "
        "backend (configure with -DDISTILLERY_CUDA=ON and link distillery::cuda)");
  return rt;
}

template <class T>
KernelTable<T>& kernels(Device d) {
  if (d == Device::cpu) {
    static cpu::CpuKernels<T> k;
    return k;
  }
  KernelTable<T>* k = cuda_kernel_slot<T>();
  check(k != nullptr, "device", "no CUDA kernels registered for this dtype");
  return *k;
}

inline bool cuda_available() { return cuda_runtime_slot() != nullptr; }

struct MemoryStats {
  std::atomic<int64_t> live{0}, peak{0};
};
inline MemoryStats& memory_stats(Device d) {
  static MemoryStats s[2];
  return s[static_cast<int>(d)];
}
// Resets the peak to the current live size (so a caller can measure one phase).
inline void reset_peak_memory(Device d) {
  memory_stats(d).peak.store(memory_stats(d).live.load());
}

class Storage {
 public:
  Storage(std::size_t bytes, Device d) : bytes_(bytes), device_(d) {
    ptr_ = runtime(d)->allocate(bytes);
    auto& s = memory_stats(d);
    int64_t now = s.live.fetch_add(static_cast<int64_t>(bytes)) + static_cast<int64_t>(bytes);
    int64_t p = s.peak.load();
    while (now > p && !s.peak.compare_exchange_weak(p, now)) {}
  }
  ~Storage() {
    runtime(device_)->deallocate(ptr_, bytes_);
    memory_stats(device_).live.fetch_sub(static_cast<int64_t>(bytes_));
  }
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return ptr_; }
  std::size_t bytes() const { return bytes_; }
  Device device() const { return device_; }

  // Version counter: every in-place write (ops/inplace.hpp) bumps it; autograd records it when
  // a node saves a tensor and refuses a backward through a tensor modified since.
  uint64_t version() const { return version_.load(std::memory_order_relaxed); }
  void bump_version() { version_.fetch_add(1, std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> version_{0};
  void* ptr_ = nullptr;
  std::size_t bytes_;
  Device device_;
};

}  // namespace distillery
