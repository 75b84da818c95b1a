// backend/cpu/parallel.hpp — OpenMP helpers with a size threshold.
//
// Loops run serially below kParallelGrain elements (thread start-up costs more than it saves on
// small tensors, our users' common case). The split of a range over threads is static and
// depends only on the range and the thread count, so results are bit-identical for a fixed
// OMP_NUM_THREADS.
#pragma once
#include <algorithm>
#include <cstdint>
#ifdef _OPENMP
#include <omp.h>
#endif

namespace distillery::cpu {

constexpr int64_t kParallelGrain = 32768;

inline int max_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

inline bool in_parallel() {
#ifdef _OPENMP
  return omp_in_parallel();
#else
  return false;
#endif
}

// Calls f(begin, end) on contiguous chunks of [0, n); `cost` is the work per item in elements.
template <class F>
void parallel_for(int64_t n, int64_t cost, F&& f) {
  if (n <= 0) return;
  int nt = max_threads();
  if (nt <= 1 || n < 2 || n * std::max<int64_t>(cost, 1) < kParallelGrain || in_parallel()) {
    f(int64_t(0), n);
    return;
  }
  nt = static_cast<int>(std::min<int64_t>(nt, n));
#ifdef _OPENMP
#pragma omp parallel num_threads(nt)
  {
    int t = omp_get_thread_num();
    int64_t chunk = (n + nt - 1) / nt;
    int64_t b = t * chunk, e = std::min(n, b + chunk);
    if (b < e) f(b, e);
  }
#else
  f(int64_t(0), n);
#endif
}

}  // namespace distillery::cpu
