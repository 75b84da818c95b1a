// backend/cpu/bernoulli.hpp — dropout masks from xoshiro256** streams in SIMD lanes.
//
// The bit recipe (splitmix64-seeded lanes, two 32-bit coins per 64-bit output) is
// backend/bernoulli_math.hpp, shared with cuda/kernels_random.cu; here the kLanes streams are
// stepped side by side so the loop vectorises. The mask is a function of the seed alone (ops/
// takes one draw from the caller's Generator per mask) — not of the thread count or the ISA
// (integer arithmetic only): same seed, same bits. Loops are compiled per ISA like
// backend/cpu/gemm.hpp. Reached through KernelTable::bernoulli_mask.
#pragma once
#include <cstdint>

#include "../bernoulli_math.hpp"
#include "gemm.hpp"

namespace distillery::cpu {

namespace bernoulli_detail {

constexpr int kLanes = bernoulli::kLanes;

struct Lanes {
  uint64_t s[4][kLanes];
};

// One xoshiro256** step of every lane; r[l] = lane l's output.
inline __attribute__((always_inline)) void step(Lanes& st, uint64_t* r) {
  for (int l = 0; l < kLanes; ++l)
    r[l] = bernoulli::step(st.s[0][l], st.s[1][l], st.s[2][l], st.s[3][l]);
}

// out[0, nblocks · 2 · kLanes) from nblocks steps.
template <class T>
inline __attribute__((always_inline)) void fill_blocks(Lanes& st, uint64_t thresh, T keep,
                                                       T* __restrict out, int64_t nblocks) {
  for (int64_t b = 0; b < nblocks; ++b) {
    uint64_t r[kLanes];
    step(st, r);
    T* o = out + b * 2 * kLanes;
    for (int l = 0; l < kLanes; ++l) o[l] = (r[l] & 0xFFFFFFFFull) < thresh ? T(0) : keep;
    for (int l = 0; l < kLanes; ++l) o[kLanes + l] = (r[l] >> 32) < thresh ? T(0) : keep;
  }
}
#ifdef DST_GEMM_X86
template <class T>
DST_TARGET_AVX512 void fill_blocks_avx512(Lanes& st, uint64_t thresh, T keep, T* out, int64_t nb) {
  fill_blocks(st, thresh, keep, out, nb);
}
template <class T>
DST_TARGET_AVX2 void fill_blocks_avx2(Lanes& st, uint64_t thresh, T keep, T* out, int64_t nb) {
  fill_blocks(st, thresh, keep, out, nb);
}
#endif
template <class T>
void fill_blocks_baseline(Lanes& st, uint64_t thresh, T keep, T* out, int64_t nb) {
  fill_blocks(st, thresh, keep, out, nb);
}

}  // namespace bernoulli_detail

// out[i] = 0 with probability p, else keep, for i < n (0 ≤ p < 1), from the 64-bit seed.
template <class T>
void bernoulli_mask(uint64_t seed, double p, T keep, T* out, int64_t n) {
  using namespace bernoulli_detail;
  Lanes st;
  for (int l = 0; l < kLanes; ++l)
    for (int w = 0; w < 4; ++w) st.s[w][l] = bernoulli::lane_state(seed, l, w);
  const uint64_t thresh = bernoulli::threshold(p);
  constexpr int64_t B = bernoulli::kBlock;
  auto fill = [&](T* o, int64_t nb) {
#ifdef DST_GEMM_X86
    switch (gemm_isa()) {
      case GemmIsa::avx512: return fill_blocks_avx512(st, thresh, keep, o, nb);
      case GemmIsa::avx2: return fill_blocks_avx2(st, thresh, keep, o, nb);
      default: break;
    }
#endif
    fill_blocks_baseline(st, thresh, keep, o, nb);
  };
  const int64_t full = n / B;
  fill(out, full);
  if (const int64_t rest = n - full * B) {
    T tail[B];
    fill(tail, 1);
    for (int64_t i = 0; i < rest; ++i) out[full * B + i] = tail[i];
  }
}

}  // namespace distillery::cpu
