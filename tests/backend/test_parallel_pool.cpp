// tests/backend/test_parallel_pool.cpp — cpu::parallel_for on the library's own thread pool
// (backend/cpu/parallel.hpp, issue 26: no OpenMP spin-waiting, so a busy core costs no cliff).
// Every index is visited exactly once with the same static chunks for a thread count, nested
// loops run serially, exceptions reach the caller, concurrent callers take turns, late workers
// send jobs to the caller alone, and ScheduleGuard forces a layout (whole() when solo).
#include <distillery/backend/cpu/parallel.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <ostream>  // doctest prints the std::thread::id compared below
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

using namespace distillery::cpu;

static bool schedule_slot_is_adaptive() {
  return distillery::cpu::detail::schedule_slot() == Schedule::adaptive;
}

namespace {
struct Threads {  // sets OpenMP's thread count for a scope (read by max_threads())
  int prev = max_threads();
  explicit Threads(int n) {
#ifdef _OPENMP
    omp_set_num_threads(n);
#else
    (void)n;
#endif
  }
  ~Threads() {
#ifdef _OPENMP
    omp_set_num_threads(prev);
#endif
  }
};
}  // namespace

TEST_CASE("parallel_for: every index once, in the static chunks of the thread count") {
  for (int nt : {1, 2, 3, 4}) {
    Threads t(nt);
    for (int64_t n : {int64_t(1), int64_t(2), int64_t(5), int64_t(100000), int64_t(1 << 20)}) {
      std::vector<std::atomic<int>> seen(static_cast<size_t>(n));
      std::vector<std::pair<int64_t, int64_t>> chunks(static_cast<size_t>(nt), {-1, -1});
      std::atomic<int> calls{0};
      parallel_for(n, 1, [&](int64_t b, int64_t e) {
        ++calls;
        for (int64_t i = b; i < e; ++i) seen[static_cast<size_t>(i)]++;
        if (n >= kParallelGrain && nt > 1) {
          const int64_t chunk = (n + nt - 1) / nt;
          CHECK(b % chunk == 0);  // chunk boundaries depend on n and nt only
          CHECK(e == std::min(n, b + chunk));
        }
      });
      for (auto& s : seen) CHECK(s.load() == 1);
      CHECK(calls.load() == (n < kParallelGrain || nt == 1 ? 1 : nt));
    }
  }
}

TEST_CASE("parallel_for: nested loops run serially, on the chunk's thread") {
  Threads t(2);
  std::atomic<int> inner_calls{0};
  parallel_for(int64_t(1) << 20, 1, [&](int64_t, int64_t) {
    CHECK(in_parallel());
    parallel_for(int64_t(1) << 20, 1, [&](int64_t b, int64_t e) {
      CHECK(b == 0);
      CHECK(e == int64_t(1) << 20);
      ++inner_calls;
    });
  });
  CHECK(inner_calls.load() == 2);
  CHECK_FALSE(in_parallel());
}

TEST_CASE("parallel_for: an exception in any chunk reaches the caller after all chunks end") {
  Threads t(2);
  for (int bad : {0, 1}) {
    std::atomic<int> finished{0};
    const int64_t n = int64_t(1) << 20, chunk = n / 2;
    CHECK_THROWS_AS(parallel_for(n, 1, [&](int64_t b, int64_t) {
                      if (b / chunk == bad) throw std::runtime_error("chunk failed");
                      ++finished;
                    }),
                    std::runtime_error);
    CHECK(finished.load() == 1);
    // the pool still works afterwards
    std::atomic<int64_t> sum{0};
    parallel_for(n, 1, [&](int64_t b, int64_t e) { sum += e - b; });
    CHECK(sum.load() == n);
  }
}

TEST_CASE("parallel_for: concurrent callers from several threads") {
  Threads t(2);
  std::vector<std::thread> callers;
  std::atomic<int64_t> total{0};
  for (int c = 0; c < 3; ++c)
    callers.emplace_back([&] {
      for (int rep = 0; rep < 200; ++rep) {
        std::atomic<int64_t> s{0};
        parallel_for(int64_t(1) << 16, 1, [&](int64_t b, int64_t e) { s += e - b; });
        total += s.load();
      }
    });
  for (auto& c : callers) c.join();
  CHECK(total.load() == int64_t(3) * 200 * (int64_t(1) << 16));
}

TEST_CASE("parallel_for: many short regions back to back (the training-step pattern)") {
  Threads t(2);
  const int64_t n = 2 * kParallelGrain;
  std::vector<double> x(static_cast<size_t>(n), 1.0);
  for (int rep = 0; rep < 20000; ++rep)
    parallel_for(n, 1, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) x[static_cast<size_t>(i)] += 1.0;
    });
  for (double v : x) CHECK(v == 20001.0);
}

#ifdef _OPENMP
// Shared cores: when, over recent jobs, the workers cost the caller more time than running
// their chunks itself would have (here: a worker chunk that sleeps 5 ms, as if descheduled), the
// next jobs run every chunk on the caller, as one thread would.
TEST_CASE("parallel_for: late workers send the next jobs to the caller alone") {
  Threads t(2);
  const std::thread::id caller = std::this_thread::get_id();
  // One job whose chunk 1, when a worker claims it, takes 5 ms; its chunk 0 (the caller's)
  // waits up to 20 ms for chunk 1 to start. True when a worker ran chunk 1.
  auto late_job = [&] {
    std::atomic<bool> started{false}, on_worker{false};
    parallel_for(2, 1 << 20, [&](int64_t b, int64_t) {
      if (b == 0) {
        const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(20);
        while (!started.load() && std::chrono::steady_clock::now() < until)
          std::this_thread::yield();
        return;
      }
      started = true;
      if (std::this_thread::get_id() != caller) {
        on_worker = true;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    });
    return on_worker.load();
  };
  std::this_thread::sleep_for(std::chrono::milliseconds(400));  // earlier tests' solo periods
  int late = 0;
  for (int i = 0; i < 40; ++i) {
    if (late_job()) ++late;
    else if (late >= 16) break;  // the pool judged them (after 16 jobs) and kept this one
  }
  if (late < 16) {
    MESSAGE("workers claimed only ", late, " of the late chunks; nothing to check");
    return;
  }
  // The next job: its chunk 0 again gives a worker time (50 ms) to claim chunk 1, which a
  // worker would do unless the pool now keeps the job on the caller.
  std::vector<std::thread::id> ran(2);
  std::atomic<bool> started{false};
  parallel_for(2, 1 << 20, [&](int64_t b, int64_t) {
    ran[static_cast<size_t>(b)] = std::this_thread::get_id();
    if (b == 1) started = true;
    if (b != 0) return;
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(50);
    while (!started.load() && std::chrono::steady_clock::now() < until) std::this_thread::yield();
  });
  CHECK(ran[0] == caller);
  CHECK(ran[1] == caller);
}

// A forced layout: solo runs every chunk on the caller, or whole() once when the call site
// gives one; pooled lets the workers claim chunks.
TEST_CASE("parallel_for: ScheduleGuard forces a layout; whole() replaces the chunks when solo") {
  Threads t(2);
  const std::thread::id caller = std::this_thread::get_id();
  const int64_t n = int64_t(1) << 20;
  {
    ScheduleGuard solo(Schedule::solo);
    std::atomic<int> chunk_calls{0}, whole_calls{0};
    std::atomic<bool> elsewhere{false};
    parallel_for(n, 1, [&](int64_t, int64_t) {
      ++chunk_calls;
      if (std::this_thread::get_id() != caller) elsewhere = true;
    });
    CHECK(chunk_calls.load() == 2);
    CHECK_FALSE(elsewhere.load());
    chunk_calls = 0;
    parallel_for(n, 1, [&](int64_t, int64_t) { ++chunk_calls; }, [&] {
      CHECK(in_parallel());  // nested loops inside whole() run serially too
      ++whole_calls;
    });
    CHECK(chunk_calls.load() == 0);
    CHECK(whole_calls.load() == 1);
    // an exception in whole() reaches the caller, and the pool still works afterwards
    CHECK_THROWS_AS(parallel_for(n, 1, [&](int64_t, int64_t) {},
                                 [&] { throw std::runtime_error("whole failed"); }),
                    std::runtime_error);
    CHECK_FALSE(in_parallel());
    std::atomic<int64_t> sum{0};
    parallel_for(n, 1, [&](int64_t b, int64_t e) { sum += e - b; });
    CHECK(sum.load() == n);
  }
  {
    ScheduleGuard pooled(Schedule::pooled);
    std::atomic<int> chunk_calls{0}, whole_calls{0};
    parallel_for(n, 1, [&](int64_t, int64_t) { ++chunk_calls; }, [&] { ++whole_calls; });
    CHECK(chunk_calls.load() == 2);
    CHECK(whole_calls.load() == 0);
  }
  CHECK(schedule_slot_is_adaptive());
}
#endif
