// core/storage.hpp — reference-counted device buffers.
//
// A Storage owns `bytes` bytes on one Device. Tensors are views (shape, strides, offset) over a
// shared Storage. `runtime(device)` returns the per-device memory manager (the kernel table is
// `kernels<T>(device)`, backend/kernel_table.hpp); asking for CUDA without the CUDA backend
// throws. Live and peak
// bytes are counted per device (memory_stats), which dataset distillation reports.
#pragma once
#include <atomic>
#include <cstddef>
#include <memory>

#include "device.hpp"
#include "error.hpp"
#include "shape.hpp"

namespace distillery {

inline DeviceRuntime* runtime(Device d) {
  if (d == Device::cpu) return cpu_runtime();
  DeviceRuntime* rt = cuda_runtime_slot();
  check(rt != nullptr, "device", "CUDA requested but Distillery was built without the CUDA "
        "backend (configure with -DDISTILLERY_CUDA=ON and link distillery::cuda)");
  return rt;
}

// A strided window over a buffer, in elements: what a kernel needs to read a tensor
// (backend/kernel_table.hpp; a broadcast operand has stride 0 on its broadcast dims).
struct View {
  Shape shape;
  Strides strides;
  int64_t offset = 0;
};

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
