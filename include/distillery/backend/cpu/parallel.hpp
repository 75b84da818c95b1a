// backend/cpu/parallel.hpp — parallel_for: our own small thread pool, with a size threshold.
//
// Loops run serially below kParallelGrain elements (waking threads costs more than it saves on
// small tensors, our users' common case). Above it, [0, n) is cut into max_threads() fixed
// chunks; the cut depends only on n and the thread count, so results are bit-identical for a
// fixed OMP_NUM_THREADS, whichever thread runs which chunk.
//
// Why not `#pragma omp parallel`: libgomp's workers spin up to ~300,000 iterations waiting for
// each other, so when one core is busy (another program, a compile) a 2-thread run waits for a
// descheduled peer at every region: mlp_step took 106 ms instead of 0.70 ms at one thread
// (issue 26). OMP_WAIT_POLICY=passive helps but must be set before libgomp initialises — too
// late for a library. So the pool here
//   * lets the calling thread take every chunk no worker has claimed yet (chunks are claimed
//     with one compare-and-swap on a word holding the job's generation and next chunk), so a
//     descheduled worker never delays a region it has not started: the caller just runs it as
//     one thread would;
//   * spins for at most 200 µs (workers) or 1 ms (caller) before sleeping on a condition
//     variable (workers between jobs; the caller waiting for a chunk a worker has started), so a
//     busy core costs a wake-up, not a time slice;
//   * measures, per job, whether the workers saved the caller time: decayed sums over recent
//     jobs of (wall time of the job − the caller's CPU time for its chunks scaled to all of
//     them). When they cost more than they saved (a worker or the caller keeps losing its core
//     to another program), the next jobs run on the caller alone for 20–1,280 ms (note_wait).
//     A call site may pass whole(), the job in one piece with the same bits, which such a solo
//     job calls instead of every chunk in turn (a GEMM then packs each operand once, not once
//     per chunk). ScheduleGuard (threads.hpp) forces either layout for a thread's jobs.
// The thread count is still OpenMP's (OMP_NUM_THREADS, omp_set_num_threads); no OpenMP region
// is ever entered, so libgomp starts no threads. Without OpenMP everything runs serially.
// The pool is created on first use and never destroyed (its threads sleep at exit).
//
// Scratch (GEMM packing, convolution columns) belongs to a CHUNK, not to a thread: inside
// parallel_for, chunk c of a job always gets slot c, whichever thread runs it (outside, each
// thread has its own). Which thread claims a chunk depends on timing; the chunk cut does not.
// So once a shape has run in both layouts (pooled, and solo: whole() grows chunk 0's slot to
// the whole job's size), running it again never allocates (nn::InferencePlan warms up both and
// relies on this: per-thread buffers allocated whenever a worker first claimed a chunk the caller
// used to run).
#pragma once
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <memory>
#include <mutex>
#include <new>
#include <thread>
#include <type_traits>
#include <vector>

#include "threads.hpp"

namespace distillery::cpu {

constexpr int64_t kParallelGrain = 32768;

// 64-byte aligned scratch that only grows, reused across calls.
struct Scratch {
  void* p = nullptr;
  std::size_t bytes = 0;
  Scratch() = default;
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  ~Scratch() { std::free(p); }
  void* get(std::size_t n) {
    if (n > bytes) {
      std::free(p);
      p = nullptr;
      bytes = 0;
      const std::size_t want = ((n + 4095) / 4096) * 4096;
      p = std::aligned_alloc(64, want);
      if (!p) throw std::bad_alloc();
      bytes = want;
    }
    return p;
  }
};
enum class ScratchKind { gemm_a, gemm_b, conv, count };
using ScratchSet = std::array<Scratch, static_cast<int>(ScratchKind::count)>;

namespace detail {
// The scratch set of the chunk this thread is running (null outside a parallel_for).
inline ScratchSet*& chunk_scratch() {
  thread_local ScratchSet* set = nullptr;
  return set;
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Spins while pred() is false, for at most `micros`; returns pred(). Workers spin between jobs
// for kWorkerSpinMicros (back-to-back regions of a training step find them awake); the caller
// waits kCallerSpinMicros for a chunk a worker has started before it sleeps.
constexpr int kWorkerSpinMicros = 200, kCallerSpinMicros = 1000;
template <class P>
bool spin_until(int micros, P&& pred) {
  auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(micros);
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (pred()) return true;
      cpu_relax();
    }
    if (std::chrono::steady_clock::now() >= until) return pred();
  }
}

// CPU seconds this thread has run (wall time where the platform has no per-thread clock).
inline double thread_cpu_seconds() {
#ifdef CLOCK_THREAD_CPUTIME_ID
  timespec ts;
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0)
    return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
#endif
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

class Pool {
 public:
  // Runs call(ctx, c) for c in [0, chunks), chunk 0 (and any unclaimed chunk) on this thread;
  // or, solo, every chunk here (whole(ctx) once instead, when given).
  void run(int chunks, void (*call)(const void*, int64_t), const void* ctx,
           void (*whole)(const void*) = nullptr) {
    using Clock = std::chrono::steady_clock;
    std::lock_guard<std::mutex> one_job(job_mutex_);  // concurrent callers take turns
    while (static_cast<int>(scratch_.size()) < chunks)
      scratch_.push_back(std::make_unique<ScratchSet>());
    call_ = call;
    ctx_ = ctx;
    error_ = nullptr;
    const auto t0 = Clock::now();
    const Schedule forced = schedule_slot();
    if (forced == Schedule::solo || (forced == Schedule::adaptive && t0 < solo_until_)) {
      // the cores are shared: run the job here, as one thread would
      if (whole) run_in_slot(0, [&] { whole(ctx); });
      else
        for (int c = 0; c < chunks; ++c) run_chunk(c);
      if (error_) std::rethrow_exception(error_);
      return;
    }
    const double c0 = thread_cpu_seconds();
    ensure_workers(chunks - 1);
    done_.store(0, std::memory_order_relaxed);
    const uint64_t gen = (state_.load(std::memory_order_relaxed) >> 32) + 1;
    state_.store((gen << 32) | (uint64_t(chunks) << 16) | 1u);  // chunk 0 is ours
    if (sleepers_.load() > 0) {
      { std::lock_guard<std::mutex> lk(mutex_); }
      work_cv_.notify_all();
    }
    int mine = 1;
    run_chunk(0);
    for (int c; (c = claim(gen)) >= 0;) {
      run_chunk(c);
      ++mine;
    }
    const int target = chunks - mine;  // chunks that workers run
    auto finished = [&] { return done_.load(std::memory_order_acquire) == target; };
    const double own = thread_cpu_seconds() - c0;
    if (!spin_until(kCallerSpinMicros, finished)) {
      std::unique_lock<std::mutex> lk(mutex_);
      caller_waiting_.store(true);
      done_cv_.wait(lk, finished);
      caller_waiting_.store(false);
    }
    if (target > 0 && forced == Schedule::adaptive) note_wait(t0, own, Clock::now(), mine, chunks);
    if (error_) std::rethrow_exception(error_);
  }

 private:
  // Claims the next chunk of job `gen`; -1 when there is none (or the job is over).
  int claim(uint64_t gen) {
    uint64_t s = state_.load();
    for (;;) {
      if ((s >> 32) != gen) return -1;
      const uint64_t next = s & 0xffff, total = (s >> 16) & 0xffff;
      if (next >= total) return -1;
      if (state_.compare_exchange_weak(s, s + 1)) return static_cast<int>(next);
    }
  }

  // Shared cores. The job started at t0 and ended at t2; the caller ran `mine` of its chunks in
  // `own` seconds of CPU, so alone it would have taken about own · chunks / mine (CPU time, not
  // wall time: a caller preempted by a spinning worker or another program is a loss too).
  // Decayed sums over recent jobs of the time lost (t2 − t0 minus that estimate; negative when
  // the workers saved time) and of the estimates tell whether a second thread pays. When the
  // loss passes 5% (judged over at least 16 jobs, or at once when it passes 1 ms: a worker
  // that lost its core mid-chunk), the next jobs run on the caller alone for a while (20 ms,
  // doubling up to 1.28 s while it lasts), then up to 16 jobs try the workers again.
  // Which thread runs a chunk never changes the bits, only the speed.
  template <class TP>
  void note_wait(TP t0, double own, TP t2, int mine, int chunks) {
    const double alone = own * chunks / mine, took = std::chrono::duration<double>(t2 - t0).count();
    lost_ = 0.95 * lost_ + (took - alone);
    work_ = 0.95 * work_ + alone;
    const bool lost = lost_ > 0.05 * work_;
    // after a solo period: judge 16 jobs, not the first, unless the loss is already gross
    if (++jobs_ < kJudgeAfter && !(lost && lost_ > kGrossLoss)) return;
    if (lost) {
      solo_until_ = t2 + solo_period_;
      solo_period_ = std::min(solo_period_ * 2, kSoloMax);
      lost_ = work_ = 0;
      jobs_ = 0;
    } else {
      solo_period_ = kSoloMin;
    }
  }

  void run_chunk(int c) { run_in_slot(c, [&] { call_(ctx_, c); }); }

  // Runs fn() as a chunk of the job in scratch slot `slot`: nested loops run serially, and the
  // first exception is kept for the caller. A solo job in one piece (whole()) runs in slot 0,
  // which a planned inference's warm-up grows for this layout too (nn/inference.hpp).
  template <class Fn>
  void run_in_slot(int slot, Fn&& fn) {
    bool& inside = in_pool_region();
    inside = true;
    chunk_scratch() = scratch_[static_cast<size_t>(slot)].get();
    try {
      fn();
    } catch (...) {
      std::lock_guard<std::mutex> lk(mutex_);
      if (!error_) error_ = std::current_exception();
    }
    chunk_scratch() = nullptr;
    inside = false;
  }

  void ensure_workers(int n) {
    while (static_cast<int>(workers_.size()) < n) {
      workers_.emplace_back([this] { work(); });
      workers_.back().detach();
    }
  }

  void work() {
    uint64_t seen = 0;  // generation of the last job this worker looked at
    auto fresh = [&] { return (state_.load() >> 32) != seen; };
    for (;;) {
      if (!spin_until(kWorkerSpinMicros, fresh)) {
        std::unique_lock<std::mutex> lk(mutex_);
        sleepers_.fetch_add(1);
        work_cv_.wait(lk, fresh);
        sleepers_.fetch_sub(1);
      }
      seen = state_.load() >> 32;
      for (int c; (c = claim(seen)) >= 0;) {
        run_chunk(c);  // job `seen` cannot end before done_ counts this chunk
        done_.fetch_add(1);
        if (caller_waiting_.load()) {
          { std::lock_guard<std::mutex> lk(mutex_); }
          done_cv_.notify_one();
        }
      }
    }
  }

  static constexpr int kJudgeAfter = 16;
  double lost_ = 0, work_ = 0;  // seconds, decayed per job (note_wait)
  int jobs_ = 0;                // jobs since the last solo period
  static constexpr std::chrono::milliseconds kSoloMin{20}, kSoloMax{1280};
  static constexpr double kGrossLoss = 1e-3;  // seconds
  std::chrono::steady_clock::time_point solo_until_{};  // guarded by job_mutex_
  std::chrono::milliseconds solo_period_ = kSoloMin;
  std::mutex job_mutex_, mutex_;
  std::condition_variable work_cv_, done_cv_;
  std::atomic<uint64_t> state_{0};  // generation << 32 | chunks << 16 | next chunk
  std::atomic<int> done_{0}, sleepers_{0};
  std::atomic<bool> caller_waiting_{false};
  void (*call_)(const void*, int64_t) = nullptr;  // written before state_ is published
  const void* ctx_ = nullptr;
  std::exception_ptr error_;
  std::vector<std::thread> workers_;
  std::vector<std::unique_ptr<ScratchSet>> scratch_;  // slot c: chunk c's (grown only in run())
};

inline Pool& pool() {
  static Pool* p = new Pool;  // never destroyed: workers may still sleep on it at exit
  return *p;
}

}  // namespace detail

// Scratch of kind k for the running chunk (inside parallel_for) or this thread (outside).
inline Scratch& scratch(ScratchKind k) {
  if (ScratchSet* set = detail::chunk_scratch()) return (*set)[static_cast<size_t>(k)];
  // Touched only outside chunks: a thread_local with a destructor registers it (a malloc) on
  // first use, which a worker must not do in the middle of a planned inference.
  thread_local ScratchSet own;
  return own[static_cast<size_t>(k)];
}

namespace detail {
template <class F, class W>
void parallel_run(int64_t n, F& f, W* whole) {
  const int nt = static_cast<int>(std::min<int64_t>({max_threads(), n, 0xffff}));
  const int64_t chunk = (n + nt - 1) / nt;
  struct Ctx {
    F* f;
    W* whole;
    int64_t n, chunk;
  } ctx{&f, whole, n, chunk};
  void (*run_whole)(const void*) = nullptr;
  if constexpr (!std::is_same_v<W, std::nullptr_t>)
    run_whole = [](const void* p) { (*static_cast<const Ctx*>(p)->whole)(); };
  pool().run(nt, [](const void* p, int64_t t) {
    const Ctx& c = *static_cast<const Ctx*>(p);
    const int64_t b = t * c.chunk, e = std::min(c.n, b + c.chunk);
    if (b < e) (*c.f)(b, e);
  }, &ctx, run_whole);
}
inline bool run_serially(int64_t n, int64_t cost) {
  return max_threads() <= 1 || n < 2 || n * std::max<int64_t>(cost, 1) < kParallelGrain ||
         in_parallel();
}
}  // namespace detail

// Calls f(begin, end) on contiguous chunks of [0, n); `cost` is the work per item in elements.
template <class F>
void parallel_for(int64_t n, int64_t cost, F&& f) {
  if (n <= 0) return;
  if (detail::run_serially(n, cost)) return void(f(int64_t(0), n));
  detail::parallel_run(n, f, static_cast<std::nullptr_t*>(nullptr));
}

// The same, where whole() computes what all the chunks together would, with the same bits: a
// job the pool runs on the caller alone calls it once instead of every chunk in turn.
template <class F, class W>
void parallel_for(int64_t n, int64_t cost, F&& f, W&& whole) {
  if (n <= 0) return;
  if (detail::run_serially(n, cost)) return void(f(int64_t(0), n));
  detail::parallel_run(n, f, &whole);
}

}  // namespace distillery::cpu
