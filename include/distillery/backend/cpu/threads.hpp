// backend/cpu/threads.hpp — how many threads the CPU kernels use, and whether we are inside
// one of their parallel regions. Small on purpose: the umbrella header includes this, not the
// thread pool (parallel.hpp, with <thread> and <condition_variable>), which only the kernels'
// translation unit needs.
#pragma once
#ifdef _OPENMP
#include <omp.h>
#endif

namespace distillery::cpu {

// OpenMP's thread count (OMP_NUM_THREADS, omp_set_num_threads); 1 without OpenMP.
inline int max_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

namespace detail {
inline bool& in_pool_region() {
  thread_local bool inside = false;
  return inside;
}
}  // namespace detail

// True inside a parallel_for chunk (or a user's OpenMP region): nested loops run serially.
inline bool in_parallel() {
#ifdef _OPENMP
  if (omp_in_parallel()) return true;
#endif
  return detail::in_pool_region();
}

}  // namespace distillery::cpu
