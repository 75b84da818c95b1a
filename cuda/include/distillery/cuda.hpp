// distillery/cuda.hpp — the host-side entry points of the CUDA backend (cuda/, distillery::cuda).
//
// The backend registers itself into the slots of backend/kernel_table.hpp at static
// initialisation of libdistillery_cuda (linked whole-archive through distillery::cuda), so
// `t.to(Device::cuda)` works without calling anything here. These functions are for programs
// that want to ask about the device, force registration, or interoperate on the same stream.
//
//   if (!distillery::cuda_device_present()) return 77;   // skip: no GPU
//   auto x = Tensor<float>::randn({256, 1000}).to(Device::cuda);
//
// Every CUDA failure throws distillery::Error("<op>: CUDA error: <cudaGetErrorString>").
#pragma once
#include <cstddef>

namespace distillery {

// True when the CUDA runtime sees at least one device (never throws; false without a driver).
bool cuda_device_present();

// Registers the runtime and the float/double/int64 kernel tables (idempotent; also done at
// static-initialisation time). Returns cuda_device_present().
bool cuda_init();

// The one stream every kernel, copy and cuBLAS call of the backend runs on (a cudaStream_t,
// created on first use; blocking with respect to the legacy default stream).
void* cuda_stream();

// Waits for all queued work of the backend, then reports any deferred device-side error
// (out-of-range index in gather/scatter_add/index_select/index_add) as distillery::Error.
void cuda_synchronize();

// Caching allocator: bytes handed out (live), bytes held in the cache (free for reuse), and a
// way to return the cache to the driver.
struct CudaMemoryInfo {
  std::size_t live_bytes = 0, cached_bytes = 0, peak_bytes = 0;
  std::size_t cuda_mallocs = 0;  // real cudaMalloc calls so far
};
CudaMemoryInfo cuda_memory_info();
void cuda_empty_cache();

// Name of device 0 ("NVIDIA H100 80GB HBM3"), or "" without a device.
const char* cuda_device_name();

}  // namespace distillery
