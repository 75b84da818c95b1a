// tests/backend/test_gemm.cpp — the CPU GEMM paths (backend/cpu/gemm.hpp) against a long-double
// reference: every SIMD kernel the CPU has plus the Eigen fallback, all transpose flags, ragged
// edges, packed and in-place (direct) operands, the dot-product path, k larger than one cache
// block, batches (including broadcast operands), alpha/beta, and beta = 0 ignoring NaN in C. The packed kernels must also give bit-identical results for any
// thread count (the split is by output tiles, never along k).
#include <distillery/backend/cpu/gemm.hpp>  // cpu::gemm_isa, set_gemm_isa (the ISA switch)
#include <distillery/distillery.hpp>

#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace {
using namespace distillery;
using cpu::GemmIsa;

struct IsaGuard {  // restores the default path after a test lowers it
  GemmIsa prev = cpu::gemm_isa();
  ~IsaGuard() { cpu::set_gemm_isa(prev); }
};

std::vector<GemmIsa> isas() {
  std::vector<GemmIsa> v{GemmIsa::eigen};
  IsaGuard g;
  for (GemmIsa i : {GemmIsa::portable, GemmIsa::avx2, GemmIsa::avx512}) {
    cpu::set_gemm_isa(i);
    if (cpu::gemm_isa() == i) v.push_back(i);  // only what this CPU runs
  }
  return v;
}

template <class T>
struct Case {
  bool ta, tb;
  int64_t m, n, k, batch;
  T alpha, beta;
  bool bcast_a = false;  // batch stride 0 for A
};

// Runs one case on each path in `paths` (the reference is computed once); returns the worst
// error scaled by sqrt(k) (the padding between rows of C must stay untouched). `out` receives
// the last path's C.
template <class T>
double run_case(const Case<T>& c, const std::vector<GemmIsa>& paths,
                std::vector<T>* out = nullptr) {
  Generator gen(static_cast<uint64_t>(c.m * 131 + c.n * 7 + c.k));
  const int64_t lda = (c.ta ? c.m : c.k) + 3, ldb = (c.tb ? c.k : c.n) + 1, ldc = c.n + 2;
  const int64_t ra = c.ta ? c.k : c.m, rb = c.tb ? c.n : c.k;
  const int64_t sA = c.bcast_a ? 0 : ra * lda + 5, sB = rb * ldb, sC = c.m * ldc + 1;
  std::vector<T> A(std::max<int64_t>(sA, ra * lda) * c.batch), B(sB * c.batch),
      C0(sC * c.batch);
  for (auto& x : A) x = static_cast<T>(gen.normal());
  for (auto& x : B) x = static_cast<T>(gen.normal());
  for (auto& x : C0) x = c.beta == T(0) ? std::numeric_limits<T>::quiet_NaN()
                                        : static_cast<T>(gen.normal());
  std::vector<T> R = C0;
  for (int64_t b = 0; b < c.batch; ++b)
    for (int64_t i = 0; i < c.m; ++i)
      for (int64_t j = 0; j < c.n; ++j) {
        long double s = 0;
        for (int64_t p = 0; p < c.k; ++p) {
          T a = c.ta ? A[b * sA + p * lda + i] : A[b * sA + i * lda + p];
          T v = c.tb ? B[b * sB + j * ldb + p] : B[b * sB + p * ldb + j];
          s += static_cast<long double>(a) * v;
        }
        T& r = R[b * sC + i * ldc + j];
        r = c.beta == T(0) ? T(c.alpha * s) : T(c.alpha * s + c.beta * (long double)r);
      }
  double err = 0;
  IsaGuard guard;
  for (GemmIsa isa : paths) {
    cpu::set_gemm_isa(isa);
    std::vector<T> C = C0;
    kernels<T>(Device::cpu).gemm(c.ta, c.tb, c.m, c.n, c.k, c.alpha, A.data(), lda, sA,
                                 B.data(), ldb, sB, c.beta, C.data(), ldc, sC, c.batch);
    for (int64_t b = 0; b < c.batch; ++b)
      for (int64_t i = 0; i < c.m; ++i) {
        for (int64_t j = 0; j < c.n; ++j) {
          double d = std::abs(double(C[b * sC + i * ldc + j]) - double(R[b * sC + i * ldc + j]));
          err = std::max(err, std::isnan(d) ? 1e30 : d / std::sqrt(double(c.k) + 1));
        }
        for (int64_t j = c.n; j < ldc && (b * sC + i * ldc + j) < (int64_t)C.size(); ++j) {
          T got = C[b * sC + i * ldc + j], want = R[b * sC + i * ldc + j];
          if (!(got == want || (std::isnan(got) && std::isnan(want)))) err = 1e30;
        }
      }
    if (out) *out = C;
  }
  return err;
}

template <class T>
std::vector<Case<T>> cases() {
  std::vector<Case<T>> v;
  const std::vector<std::array<int64_t, 3>> shapes = {
      {1, 1, 1},    {7, 13, 5},   {13, 33, 300}, {145, 70, 513}, {40, 100, 300},
      {5, 600, 17}, {300, 9, 40}, {6, 784, 25},  {16, 100, 150}, {49, 97, 64},
      {6, 25, 1568}, {3, 7, 1100}};  // the last two take the dot-product path when tb
  for (auto [m, n, k] : shapes)
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb)
        for (T beta : {T(0), T(1), T(-0.5)})
          v.push_back({ta != 0, tb != 0, m, n, k, 1, T(1.5), beta});
  v.push_back({false, false, 20, 40, 30, 4, T(1), T(0)});
  v.push_back({false, true, 6, 50, 25, 3, T(-2), T(0.25), /*bcast_a=*/true});
  v.push_back({true, false, 130, 70, 90, 2, T(1), T(1)});
  return v;
}

template <class T>
void check_all_paths(double tol) {
  const auto paths = isas();
  for (const auto& c : cases<T>()) {
    double err = run_case(c, paths);
    INFO("ta ", c.ta, " tb ", c.tb, " m ", c.m, " n ", c.n, " k ", c.k, " batch ", c.batch,
         " beta ", double(c.beta));
    CHECK(err < tol);
  }
}

}  // namespace

TEST_CASE("gemm: every path matches the reference (float)") { check_all_paths<float>(2e-5); }
TEST_CASE("gemm: every path matches the reference (double)") { check_all_paths<double>(1e-13); }

TEST_CASE("gemm: default path is the widest the CPU supports, and set_gemm_isa only lowers") {
  IsaGuard guard;
  auto avail = isas();
  cpu::set_gemm_isa(GemmIsa::avx512);
  CHECK(cpu::gemm_isa() == avail.back());
  cpu::set_gemm_isa(GemmIsa::eigen);
  CHECK(std::string(cpu::gemm_kernel_name()) == "eigen");
}

#ifdef _OPENMP
TEST_CASE("gemm: packed kernels give the same bits for 1 and 2 threads") {
  IsaGuard guard;
  const int prev = omp_get_max_threads();
  for (GemmIsa isa : isas()) {
    if (isa == GemmIsa::eigen) continue;
    cpu::set_gemm_isa(isa);
    for (Case<float> c : {Case<float>{false, false, 200, 300, 270, 1, 1.f, 0.f},
                          Case<float>{true, true, 300, 40, 64, 1, 1.f, 0.5f},
                          Case<float>{false, true, 33, 500, 100, 2, 1.f, 0.f}}) {
      std::vector<float> one;
      omp_set_num_threads(1);
      run_case(c, {isa}, &one);
      omp_set_num_threads(2);
      // both layouts of the 2-thread job: chunks on two threads, and the caller alone running
      // the whole product in one tile call (backend/cpu/parallel.hpp's solo layout)
      for (cpu::Schedule layout : {cpu::Schedule::pooled, cpu::Schedule::solo,
                                   cpu::Schedule::adaptive}) {
        cpu::ScheduleGuard guard(layout);
        std::vector<float> two;
        run_case(c, {isa}, &two);
        CHECK(one.size() == two.size());
        bool same = true;
        for (size_t i = 0; i < one.size(); ++i)
          same = same && (one[i] == two[i] || (std::isnan(one[i]) && std::isnan(two[i])));
        CHECK(same);
      }
    }
  }
  omp_set_num_threads(prev);
}
#endif

TEST_CASE("matmul through the SIMD path and through Eigen agree, including gradients") {
  IsaGuard guard;
  Generator gen(3);
  auto a = TensorF::randn({37, 53}, gen), b = TensorF::randn({41, 53}, gen);
  a.requires_grad_();
  b.requires_grad_();
  auto run = [&] {
    a.zero_grad();
    b.zero_grad();
    auto y = linear(a, b);  // a · bᵀ: b is read column-major
    sum(mul(y, y)).backward();
    return std::vector<std::vector<float>>{y.to_vector(), a.grad().to_vector(),
                                           b.grad().to_vector()};
  };
  cpu::set_gemm_isa(GemmIsa::eigen);
  auto ref = run();
  for (GemmIsa isa : isas()) {
    cpu::set_gemm_isa(isa);
    auto got = run();
    for (size_t t = 0; t < ref.size(); ++t)
      for (size_t i = 0; i < ref[t].size(); ++i)
        CHECK(got[t][i] == doctest::Approx(ref[t][i]).epsilon(1e-4));
  }
}
