// bench/bench_losses.cpp — the distillation losses of issue 5, forward + backward, each case next
// to its LibTorch twin composed from torch ops the way the reference implementations compose it
// (RepDistiller DistillKL, lenscloth/RKD RkdAngle, GeondoPark/CKD WR_Dist / WR_Angle_window /
// LTR_Dist / LTR_Angle, with the same explicit zeroing of padded rows as Distillery).
//
//   case                      shapes                                              target
//   kd_b256_c1000             logits 256 × 1000, T = 4, batchmean, T²            ≤ 1/3 LibTorch
//   rkd_angle_b128_d512       embeddings 128 × 512 (student and teacher)         ≤ 1/3 LibTorch
//   ckd_<term>_b32_l7_n128    hidden states B 32 × L 7 × n 128, teacher 768 wide,
//                             student 312, window 21, padded batch (64–128 tokens) ≤ 1/3 LibTorch
//     wr_pair, wr_window21, ltr_pair, ltr_triple, total (weights 1, 10, 1, 10)
//
// Each iteration: zero the student's gradient, build the loss, backward. Inputs are identical on
// both sides and built outside the timed loop. Run through scripts/bench.sh (OMP_NUM_THREADS=2,
// OPENBLAS_NUM_THREADS=1, torch::set_num_threads(2)).
#include "bench_common.hpp"
#include "torch_reference.hpp"

namespace {
namespace ds = distillery;
namespace L = distillery::losses;
namespace F = torch::nn::functional;
using bench_ref::torch_angles;
using bench_ref::torch_ltr_triple;
using bench_ref::torch_pair;

// ---- KD -------------------------------------------------------------------------------------
constexpr int64_t kN = 256, kC = 1000;
constexpr double kT = 4.0;

void BM_ds_kd(benchmark::State& st) {
  ds::Generator gen(1);
  auto z = ds::TensorF::randn({kN, kC}, gen, 0, 3).requires_grad_();
  auto v = ds::TensorF::randn({kN, kC}, gen, 0, 3);
  for (auto _ : st) {
    z.zero_grad();
    auto l = L::kd_loss(z, v, kT, ds::Reduction::batchmean, L::TemperatureScale::t_squared);
    l.backward();
    benchmark::DoNotOptimize(z.grad().data_ptr());
  }
}

void BM_torch_kd(benchmark::State& st) {
  ds::Generator gen(1);
  auto z = bench::to_torch(ds::TensorF::randn({kN, kC}, gen, 0, 3));
  auto v = bench::to_torch(ds::TensorF::randn({kN, kC}, gen, 0, 3), false);
  for (auto _ : st) {
    z.mutable_grad() = torch::Tensor();
    auto ls = torch::log_softmax(z / kT, 1);
    auto pt = torch::softmax(v / kT, 1);
    auto l = torch::kl_div(ls, pt, at::Reduction::Sum) * (kT * kT / double(kN));
    l.backward();
    benchmark::DoNotOptimize(z.grad().data_ptr());
  }
}

// ---- RKD angle ------------------------------------------------------------------------------
constexpr int64_t kRkdN = 128, kRkdD = 512;

void BM_ds_rkd_angle(benchmark::State& st) {
  ds::Generator gen(2);
  auto s = ds::TensorF::randn({kRkdN, kRkdD}, gen).requires_grad_();
  auto t = ds::TensorF::randn({kRkdN, kRkdD}, gen);
  for (auto _ : st) {
    s.zero_grad();
    L::rkd_angle_loss(s, t).backward();
    benchmark::DoNotOptimize(s.grad().data_ptr());
  }
}

void BM_torch_rkd_angle(benchmark::State& st) {
  ds::Generator gen(2);
  auto s = bench::to_torch(ds::TensorF::randn({kRkdN, kRkdD}, gen));
  auto t = bench::to_torch(ds::TensorF::randn({kRkdN, kRkdD}, gen), false);
  for (auto _ : st) {
    s.mutable_grad() = torch::Tensor();
    torch::Tensor ta;
    {
      torch::NoGradGuard ng;
      ta = torch_angles(t.unsqueeze(0)).view(-1);
    }
    auto sa = torch_angles(s.unsqueeze(0)).view(-1);
    F::smooth_l1_loss(sa, ta).backward();
    benchmark::DoNotOptimize(s.grad().data_ptr());
  }
}

// ---- CKD ------------------------------------------------------------------------------------
constexpr int64_t kB = 32, kL = 7, kTok = 128, kDt = 768, kDs = 312, kW = 21;

struct CkdInputs {
  ds::TensorF s, t, mask;
  CkdInputs() {
    ds::Generator gen(3);
    s = ds::TensorF::randn({kB, kL, kTok, kDs}, gen).requires_grad_();
    t = ds::TensorF::randn({kB, kL, kTok, kDt}, gen);
    std::vector<float> m(kB * kTok, 0.f);
    for (int64_t b = 0; b < kB; ++b)  // lengths 64..128, like a padded GLUE batch
      for (int64_t i = 0; i < 64 + (b * 37) % 65; ++i) m[b * kTok + i] = 1.f;
    mask = ds::TensorF::from_vector(m, {kB, kTok});
  }
};

enum class Term { wr_pair, wr_window, ltr_pair, ltr_triple, total };

ds::TensorF ds_term(const CkdInputs& in, Term term) {
  switch (term) {
    case Term::wr_pair: return L::word_relation_pair_loss(in.s, in.t, in.mask);
    case Term::wr_window: return L::word_relation_window_loss(in.s, in.t, in.mask, kW);
    case Term::ltr_pair: return L::layer_relation_pair_loss(in.s, in.t, in.mask);
    case Term::ltr_triple: return L::layer_relation_triple_loss(in.s, in.t, in.mask);
    case Term::total:
      return L::ckd_loss(in.s, in.t, in.mask, L::CkdWeights{1, 10, 1, 10}, L::WordTriple::window,
                         kW);
  }
  return {};
}

template <Term term>
void BM_ds_ckd(benchmark::State& st) {
  CkdInputs in;
  for (auto _ : st) {
    in.s.zero_grad();
    ds_term(in, term).backward();
    benchmark::DoNotOptimize(in.s.grad().data_ptr());
  }
}

torch::Tensor torch_term(const torch::Tensor& s, const torch::Tensor& t, const torch::Tensor& m,
                         Term term) {
  switch (term) {
    case Term::wr_pair: return torch_pair(s, t, m, false);
    case Term::wr_window: return bench_ref::torch_window(s, t, m, kW);
    case Term::ltr_pair: return torch_pair(s, t, m, true);
    case Term::ltr_triple: return torch_ltr_triple(s, t, m);
    case Term::total:
      return torch_pair(s, t, m, false) + 10 * bench_ref::torch_window(s, t, m, kW) + torch_pair(s, t, m, true) +
             10 * torch_ltr_triple(s, t, m);
  }
  return {};
}

template <Term term>
void BM_torch_ckd(benchmark::State& st) {
  CkdInputs in;
  auto s = bench::to_torch(in.s), t = bench::to_torch(in.t, false);
  auto m = bench::to_torch(in.mask, false);
  for (auto _ : st) {
    s.mutable_grad() = torch::Tensor();
    torch_term(s, t, m, term).backward();
    benchmark::DoNotOptimize(s.grad().data_ptr());
  }
}

}  // namespace

BENCHMARK(BM_ds_kd)->Name("distillery/kd_b256_c1000")->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_torch_kd)->Name("libtorch/kd_b256_c1000")->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ds_rkd_angle)->Name("distillery/rkd_angle_b128_d512")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_torch_rkd_angle)->Name("libtorch/rkd_angle_b128_d512")->Unit(benchmark::kMillisecond);
#define DST_CKD_CASE(term, name)                                                             \
  BENCHMARK(BM_ds_ckd<Term::term>)->Name("distillery/ckd_" name "_b32_l7_n128")              \
      ->Unit(benchmark::kMillisecond)->UseRealTime();                                        \
  BENCHMARK(BM_torch_ckd<Term::term>)->Name("libtorch/ckd_" name "_b32_l7_n128")             \
      ->Unit(benchmark::kMillisecond)->UseRealTime();
DST_CKD_CASE(wr_pair, "wr_pair")
DST_CKD_CASE(wr_window, "wr_window21")
DST_CKD_CASE(ltr_pair, "ltr_pair")
DST_CKD_CASE(ltr_triple, "ltr_triple")
DST_CKD_CASE(total, "total")
#undef DST_CKD_CASE

DISTILLERY_BENCH_MAIN()
