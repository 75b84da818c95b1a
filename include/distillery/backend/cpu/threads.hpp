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

// How parallel_for lays a job out (parallel.hpp): adaptive (the default: per call site and
// size, whichever layout measured faster), or forced for the jobs this thread starts.
enum class Schedule { adaptive, pooled, solo };
namespace detail {
inline Schedule& schedule_slot() {
  thread_local Schedule s = Schedule::adaptive;
  return s;
}
}  // namespace detail

// Forces a layout for the jobs this thread starts, for its scope. Results never depend on it,
// only the speed (the chunk cut does not change): for warm-ups that must touch every layout's
// scratch (nn::InferencePlan), tests and benchmarks.
class ScheduleGuard {
 public:
  explicit ScheduleGuard(Schedule s) : prev_(detail::schedule_slot()) { detail::schedule_slot() = s; }
  ~ScheduleGuard() { detail::schedule_slot() = prev_; }
  ScheduleGuard(const ScheduleGuard&) = delete;
  ScheduleGuard& operator=(const ScheduleGuard&) = delete;

 private:
  Schedule prev_;
};

// True inside a parallel_for chunk (or a user's OpenMP region): nested loops run serially.
inline bool in_parallel() {
#ifdef _OPENMP
  if (omp_in_parallel()) return true;
#endif
  return detail::in_pool_region();
}

}  // namespace distillery::cpu
