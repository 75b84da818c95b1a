// cuda/kernels_reduce_sort.cu — the reduce family's sort (as ops/reduce.hpp): stable per-row
// sort (values and source indices) with CUB's segmented sort, one segment per row of
// in [rows, cols]. Equal keys keep their order, as
// std::stable_sort on the CPU; -0.0 and +0.0 compare equal.
#include <cub/device/device_segmented_sort.cuh>

#include "common.cuh"

namespace distillery::cuda_detail {

namespace {

__global__ void sort_setup(int64_t rows, int64_t cols, int64_t* offsets, int64_t* iota) {
  const int64_t n = rows * cols;
  for (int64_t t = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; t <= n;
       t += int64_t(gridDim.x) * blockDim.x) {
    if (t < n) iota[t] = t % cols;
    if (t % cols == 0) offsets[t / cols] = t;
  }
}

}  // namespace

template <class T>
void sort(const T* in, int64_t rows, int64_t cols, bool descending, T* vals, I* idx) {
  const int64_t n = rows * cols;
  if (n == 0) return;
  cudaStream_t st = stream();
  const std::size_t off_bytes = sizeof(int64_t) * (rows + 1), iota_bytes = sizeof(int64_t) * n;
  int64_t* offsets = static_cast<int64_t*>(scratch(off_bytes));
  int64_t* iota = static_cast<int64_t*>(scratch(iota_bytes));
  sort_setup<<<grid_for(n + 1), kThreads, 0, st>>>(rows, cols, offsets, iota);
  check_launch("sort");
  std::size_t temp_bytes = 0;
  auto run = [&](void* temp) {
    return descending
               ? cub::DeviceSegmentedSort::StableSortPairsDescending(
                     temp, temp_bytes, in, vals, iota, idx, n, rows, offsets, offsets + 1, st)
               : cub::DeviceSegmentedSort::StableSortPairs(temp, temp_bytes, in, vals, iota, idx,
                                                           n, rows, offsets, offsets + 1, st);
  };
  check_cuda(run(nullptr), "sort", "cub::DeviceSegmentedSort (temp size)");
  const std::size_t tb = temp_bytes ? temp_bytes : 1;
  void* temp = scratch(tb);
  cudaError_t e = run(temp);
  release(temp, tb);
  release(iota, iota_bytes);
  release(offsets, off_bytes);
  check_cuda(e, "sort", "cub::DeviceSegmentedSort");
  check_launch("sort");
}

template void sort<float>(const float*, int64_t, int64_t, bool, float*, I*);
template void sort<double>(const double*, int64_t, int64_t, bool, double*, I*);

}  // namespace distillery::cuda_detail
