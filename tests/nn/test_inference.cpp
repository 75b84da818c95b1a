// tests/nn/test_inference.cpp — nn::InferencePlan (nn/inference.hpp): bit-identical to the
// training path's forward, and zero heap allocations per call after finish().
//
// What is counted, process-wide, while a counter is armed:
//  * every replaceable global operator new / new[] (all overloads, aligned ones too), defined
//    below in this translation unit;
//  * on glibc (and without sanitizers, which own malloc), every malloc / calloc / realloc /
//    aligned_alloc / posix_memalign / memalign call, from any library of the process (libstdc++,
//    libgomp, the kernels' std::aligned_alloc scratch): this file defines those symbols and
//    forwards them to glibc's __libc_* entry points, which the dynamic linker prefers over libc's.
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include <doctest/doctest.h>

#include "distillery/backend/cpu/gemm.hpp"  // set_gemm_isa: the portable path
#include "distillery/nn/checkpoint.hpp"
#include "distillery/nn/inference.hpp"

namespace {
std::atomic<bool> g_armed{false};
std::atomic<long> g_news{0}, g_mallocs{0};
inline void note_new() {
  if (g_armed.load(std::memory_order_relaxed)) g_news.fetch_add(1, std::memory_order_relaxed);
}
inline void note_malloc() {
  if (g_armed.load(std::memory_order_relaxed)) g_mallocs.fetch_add(1, std::memory_order_relaxed);
}
void* counted_new(std::size_t n) {
  note_new();
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* counted_new_aligned(std::size_t n, std::align_val_t a) {
  note_new();
  const std::size_t al = static_cast<std::size_t>(a);
  void* p = nullptr;
  if (posix_memalign(&p, al < sizeof(void*) ? sizeof(void*) : al, n ? n : 1) != 0) throw std::bad_alloc();
  return p;
}
}  // namespace

void* operator new(std::size_t n) { return counted_new(n); }
void* operator new[](std::size_t n) { return counted_new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try { return counted_new(n); } catch (...) { return nullptr; }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  try { return counted_new(n); } catch (...) { return nullptr; }
}
void* operator new(std::size_t n, std::align_val_t a) { return counted_new_aligned(n, a); }
void* operator new[](std::size_t n, std::align_val_t a) { return counted_new_aligned(n, a); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define DST_TEST_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define DST_TEST_SANITIZED 1
#endif
#if defined(__GLIBC__) && !defined(DST_TEST_SANITIZED) && !defined(__STATIC_BINARY__)
#define DST_COUNT_MALLOC 1
extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void __libc_free(void*);
void* malloc(std::size_t n) { note_malloc(); return __libc_malloc(n); }
void* calloc(std::size_t a, std::size_t b) { note_malloc(); return __libc_calloc(a, b); }
void* realloc(void* p, std::size_t n) { note_malloc(); return __libc_realloc(p, n); }
void free(void* p) { __libc_free(p); }
void* memalign(std::size_t a, std::size_t n) { note_malloc(); return __libc_memalign(a, n); }
void* aligned_alloc(std::size_t a, std::size_t n) { note_malloc(); return __libc_memalign(a, n); }
int posix_memalign(void** out, std::size_t a, std::size_t n) {
  note_malloc();
  void* p = __libc_memalign(a, n);
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}
}
#endif

using namespace distillery;

namespace {
struct Counts { long news, mallocs; };
template <class F>
Counts count_allocations(F&& f) {
  g_news = 0;
  g_mallocs = 0;
  g_armed = true;
  f();
  g_armed = false;
  return {g_news.load(), g_mallocs.load()};
}

template <class T>
void require_bit_identical(const Tensor<T>& ref, const std::vector<T>& got) {
  REQUIRE(int64_t(got.size()) == ref.numel());
  Tensor<T> c = ref.contiguous();
  CHECK(std::memcmp(c.data_ptr(), got.data(), got.size() * sizeof(T)) == 0);
}

template <class Model>
Tensor<float> eval_forward(Model& m, const Tensor<float>& x) {
  NoGradGuard ng;
  return m.forward(x);
}

std::vector<float> run_plan(nn::InferencePlan<float>& p, const Tensor<float>& x) {
  const int64_t n = x.size(0);
  std::vector<float> y(size_t(n * p.out_elems()));
  p.run(x.contiguous().data_ptr(), n, y.data());
  return y;
}
}  // namespace

TEST_CASE("the allocation counters see allocations (the test can fail)") {
  Counts c = count_allocations([] { std::vector<float> v(1000); v[3] = 1; CHECK(v[3] == 1); });
  CHECK(c.news >= 1);
#ifdef DST_COUNT_MALLOC
  CHECK(c.mallocs >= 1);
  Counts m = count_allocations([] { void* p = std::malloc(64); std::free(p); });
  CHECK(m.mallocs == 1);
#endif
  // the training path's forward allocates tensors on every call
  Generator gen(1);
  nn::LeNet5<float> net(10, gen);
  Tensor<float> x = Tensor<float>::randn({1, 1, 28, 28}, gen);
  eval_forward(net, x);
  Counts t = count_allocations([&] { eval_forward(net, x); });
  CHECK(t.news > 0);
}

// Builds a LeNet5 plan on the current GEMM path, checks its bits against forward at batch 1, 8
// and 3, and counts the allocations of 100 inferences at batch 1 and 8.
static Counts lenet_plan_checks() {
  Generator gen(7);
  nn::LeNet5<float> net(10, gen);
  auto plan = nn::InferencePlan<float>::lenet5(net, 8);
  CHECK(plan.out_elems() == 10);
  CHECK(plan.in_elems() == 28 * 28);
  for (int64_t n : {1, 8, 3}) {
    Tensor<float> x = Tensor<float>::randn({n, 1, 28, 28}, gen);
    require_bit_identical(eval_forward(net, x), run_plan(plan, x));
  }
  std::vector<float> x1(28 * 28), x8(8 * 28 * 28), y(8 * 10);
  Tensor<float> r = Tensor<float>::randn({8 * 28 * 28}, gen);
  std::memcpy(x8.data(), r.data_ptr(), x8.size() * sizeof(float));
  std::memcpy(x1.data(), r.data_ptr(), x1.size() * sizeof(float));
  // Every thread layout the pool may choose (backend/cpu/parallel.hpp): a solo GEMM packs a
  // whole operand into chunk 0's scratch, which a warm-up in the pooled layout alone leaves small.
  const cpu::Schedule layouts[] = {cpu::Schedule::adaptive, cpu::Schedule::solo,
                                   cpu::Schedule::pooled};
  Counts c = count_allocations([&] {
    for (int i = 0; i < 100; ++i) {
      cpu::ScheduleGuard layout(layouts[(i / 2) % 3]);
      if (i % 2) plan.run(x8.data(), 8, y.data());
      else plan.run(x1.data(), 1, y.data());
    }
  });
  MESSAGE("LeNet5 plan, 100 inferences (batch 1 and 8): operator new ", c.news, ", malloc ",
          c.mallocs, "; arena ", plan.arena_bytes(), " bytes");
  return c;
}

TEST_CASE("LeNet5 plan: bit-identical to forward at batch 1 and 8, zero allocations per call") {
  Counts c = lenet_plan_checks();
  CHECK(c.news == 0);
  CHECK(c.mallocs == 0);
}

// The path that aarch64 and x86 without AVX2 run: packed GEMM with the portable micro-kernel,
// whose packing buffers are chunk scratch like the SIMD paths' (Eigen's GEMM, the "eigen" path,
// mallocs its blocking buffers on every call).
TEST_CASE("LeNet5 plan on the portable GEMM path: bit-identical, zero allocations per call") {
  const cpu::GemmIsa prev = cpu::gemm_isa();
  cpu::set_gemm_isa(cpu::GemmIsa::portable);
  REQUIRE(std::string(cpu::gemm_kernel_name()) == "portable");
  Counts c = lenet_plan_checks();
  cpu::set_gemm_isa(prev);
  CHECK(c.news == 0);
  CHECK(c.mallocs == 0);
}

TEST_CASE("LeNet5 plan for 32x32 images with 3 channels") {
  Generator gen(3);
  nn::LeNet5<float> net(7, gen, 3, 32);
  auto plan = nn::InferencePlan<float>::lenet5(net, 4);
  Tensor<float> x = Tensor<float>::randn({4, 3, 32, 32}, gen);
  require_bit_identical(eval_forward(net, x), run_plan(plan, x));
}

TEST_CASE("LeNet5 plan from a state dict (no Module): bit-identical to the model's forward") {
  Generator gen(21);
  for (int64_t size : {28, 32}) {
    nn::LeNet5<float> net(10, gen, size == 28 ? 1 : 3, size);
    StateDict sd = nn::state_dict_any(net);
    auto plan = nn::InferencePlan<float>::lenet5(sd, 4, size);
    Tensor<float> x = Tensor<float>::randn({4, size == 28 ? 1 : 3, size, size}, gen);
    require_bit_identical(eval_forward(net, x), run_plan(plan, x));
    // through a safetensors round trip, as embedded_lenet loads it
    const Bytes bytes = serialize_safetensors(sd);
    StateDict back = parse_safetensors(bytes.data(), bytes.size(), "mem");
    auto plan2 = nn::InferencePlan<float>::lenet5(back, 4, size);
    require_bit_identical(eval_forward(net, x), run_plan(plan2, x));
  }
  nn::LeNet5<float> net(10, gen);
  StateDict sd = nn::state_dict_any(net);
  StateDict missing = sd;
  missing.erase("fc2.bias");
  CHECK_THROWS_WITH_AS(nn::InferencePlan<float>::lenet5(missing, 1),
                       doctest::Contains("InferencePlan::lenet5: the state dict has no 'fc2.bias'"), Error);
  StateDict extra = sd;
  extra.emplace("fc4.weight", Tensor<float>::zeros({2, 2}));
  CHECK_THROWS_WITH_AS(nn::InferencePlan<float>::lenet5(extra, 1),
                       doctest::Contains("unexpected key 'fc4.weight'"), Error);
  StateDict f64 = sd;
  f64["fc1.bias"] = std::get<Tensor<float>>(sd.at("fc1.bias")).to<double>();
  CHECK_THROWS_WITH_AS(nn::InferencePlan<float>::lenet5(f64, 1),
                       doctest::Contains("'fc1.bias' is F64, the plan's type is F32"), Error);
  StateDict narrow = sd;
  narrow["fc1.weight"] = Tensor<float>::zeros({120, 300});
  CHECK_THROWS_WITH_AS(nn::InferencePlan<float>::lenet5(narrow, 1),
                       doctest::Contains("does not match weight [120, 300]"), Error);
  CHECK_THROWS_WITH_AS(nn::InferencePlan<float>::lenet5(sd, 1, 30),
                       doctest::Contains("image size must be 28 or 32, got 30"), Error);
}

TEST_CASE("MLP and policy plans: bit-identical, zero allocations per call") {
  Generator gen(11);
  nn::GaussianPolicy<float> pi(17, 6, {64, 64}, gen);
  nn::ValueNetwork<float> v(17, {64, 64}, gen);
  nn::QNetwork<float> q(17, 6, {256, 256}, gen);
  nn::DeterministicActor<float> actor(17, 6, {256, 256}, gen, 2.0);
  nn::MLP<float> relu_mlp({5, 32, 32, 3}, gen);
  auto ppi = nn::InferencePlan<float>::policy(pi, 8);
  auto pv = nn::InferencePlan<float>::policy(v, 8);
  auto pq = nn::InferencePlan<float>::policy(q, 8);
  auto pa = nn::InferencePlan<float>::policy(actor, 2.0f, 8);
  auto pm = nn::InferencePlan<float>::mlp(relu_mlp, 8);
  for (int64_t n : {1, 8}) {
    Tensor<float> obs = Tensor<float>::randn({n, 17}, gen);
    Tensor<float> oa = Tensor<float>::randn({n, 23}, gen);
    Tensor<float> xm = Tensor<float>::randn({n, 5}, gen);
    require_bit_identical(eval_forward(pi, obs), run_plan(ppi, obs));
    require_bit_identical(eval_forward(v, obs), run_plan(pv, obs));
    require_bit_identical(eval_forward(q, oa), run_plan(pq, oa));
    require_bit_identical(eval_forward(actor, obs), run_plan(pa, obs));
    require_bit_identical(eval_forward(relu_mlp, xm), run_plan(pm, xm));
  }
  std::vector<float> obs(8 * 23, 0.25f), y(8 * 6);
  Counts c = count_allocations([&] {
    for (int i = 0; i < 100; ++i) {
      const int64_t n = i % 2 ? 8 : 1;
      ppi.run(obs.data(), n, y.data());
      pv.run(obs.data(), n, y.data());
      pq.run(obs.data(), n, y.data());
      pa.run(obs.data(), n, y.data());
    }
  });
  MESSAGE("policy plans, 4 x 100 inferences: operator new ", c.news, ", malloc ", c.mallocs);
  CHECK(c.news == 0);
  CHECK(c.mallocs == 0);
}

// Linear layers large enough that each GEMM is split over the threads: solo, the pool runs the
// whole product in one tile call on chunk 0's scratch, which needs more than half the product
// did; the warm-up covers both layouts (fails with a pooled-only warm-up: 1+ malloc).
TEST_CASE("wide MLP plan: split GEMMs, zero allocations in every thread layout") {
  Generator gen(13);
  nn::MLP<float> mlp({784, 512, 256, 10}, gen);
  auto plan = nn::InferencePlan<float>::mlp(mlp, 64);
  Tensor<float> x = Tensor<float>::randn({64, 784}, gen);
  require_bit_identical(eval_forward(mlp, x), run_plan(plan, x));
  std::vector<float> y(64 * 10);
  const cpu::Schedule layouts[] = {cpu::Schedule::solo, cpu::Schedule::pooled,
                                   cpu::Schedule::adaptive};
  Counts c = count_allocations([&] {
    for (int i = 0; i < 30; ++i) {
      cpu::ScheduleGuard layout(layouts[i % 3]);
      plan.run(x.data_ptr(), i % 2 ? 64 : 1, y.data());
    }
  });
  MESSAGE("wide MLP plan, 30 inferences (3 layouts): operator new ", c.news, ", malloc ",
          c.mallocs);
  CHECK(c.news == 0);
  CHECK(c.mallocs == 0);
  for (cpu::Schedule layout : layouts) {  // and the same bits in each
    cpu::ScheduleGuard guard(layout);
    require_bit_identical(eval_forward(mlp, x), run_plan(plan, x));
  }
}

TEST_CASE("InferencePlan errors name the op and the shapes") {
  Generator gen(5);
  nn::LeNet5<float> net(10, gen);
  auto plan = nn::InferencePlan<float>::lenet5(net, 2);
  std::vector<float> x(3 * 28 * 28), y(30);
  CHECK_THROWS_WITH_AS(plan.run(x.data(), 3, y.data()), doctest::Contains("batch 3 outside [1, 2]"),
                       Error);
  nn::InferencePlan<float> p(Shape{5}, 2);
  Tensor<float> w = Tensor<float>::zeros({4, 6});
  CHECK_THROWS_WITH_AS(p.linear(w, Tensor<float>()), doctest::Contains("InferencePlan::linear"),
                       Error);
  nn::Sequential<float> seq({std::make_shared<nn::Linear<float>>(5, 4, gen),
                             std::make_shared<nn::LayerNorm<float>>(Shape{4})});
  CHECK_THROWS_WITH_AS(p.sequential(seq), doctest::Contains("LayerNorm"), Error);
  CHECK_THROWS_WITH_AS(nn::InferencePlan<float>(Shape{5}, 2).run(x.data(), 1, y.data()),
                       doctest::Contains("finish"), Error);
}
