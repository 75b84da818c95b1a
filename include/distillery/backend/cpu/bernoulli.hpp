// backend/cpu/bernoulli.hpp — dropout masks from xoshiro256** streams in SIMD lanes.
//
// A dropout mask needs one biased coin per element; drawing a double per element from the
// scalar Generator costs more than the rest of the dropout. Here one draw from the caller's
// Generator seeds (through splitmix64) kLanes independent xoshiro256** streams, stepped side by
// side so the loop vectorises (the multiplications by 5 and 9 are written as shifts and adds,
// available on every SIMD level). Each 64-bit output gives two 32-bit coins:
//
//   mask[i] = u32 < round(p · 2^32) ? 0 : keep          (P(drop) = p up to 2^-33)
//
// Element i of block b (2·kLanes elements) reads lane i mod kLanes, low half for the first
// kLanes elements, high half for the rest. The mask is a function of the Generator state alone
// (which advances by exactly one draw per mask) — not of the thread count or the ISA (integer
// arithmetic only): same seed, same bits. Loops are compiled per ISA like backend/cpu/gemm.hpp.
#pragma once
#include <cstdint>
#include <mutex>

#include "../../core/rng.hpp"
#include "gemm.hpp"

namespace distillery::cpu {

namespace bernoulli_detail {

constexpr int kLanes = 8;

struct Lanes {
  uint64_t s[4][kLanes];
};

// One xoshiro256** step of every lane; r[l] = lane l's output.
inline __attribute__((always_inline)) void step(Lanes& st, uint64_t* r) {
  for (int l = 0; l < kLanes; ++l) {
    uint64_t s0 = st.s[0][l], s1 = st.s[1][l], s2 = st.s[2][l], s3 = st.s[3][l];
    const uint64_t x = (s1 << 2) + s1;            // s1 · 5
    const uint64_t y = (x << 7) | (x >> 57);      // rotl(·, 7)
    r[l] = (y << 3) + y;                          // · 9
    const uint64_t t = s1 << 17;
    s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t;
    s3 = (s3 << 45) | (s3 >> 19);
    st.s[0][l] = s0; st.s[1][l] = s1; st.s[2][l] = s2; st.s[3][l] = s3;
  }
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

// out[i] = 0 with probability p, else keep, for i < n (0 ≤ p < 1); one draw from gen.
template <class T>
void bernoulli_mask(Generator& gen, double p, T keep, T* out, int64_t n) {
  using namespace bernoulli_detail;
  uint64_t z;
  {
    std::lock_guard<std::mutex> lk(gen.mutex());
    z = gen.next_u64();
  }
  Lanes st;
  for (int l = 0; l < kLanes; ++l)
    for (int w = 0; w < 4; ++w) {  // splitmix64, as Generator::seed_
      uint64_t x = (z += 0x9E3779B97F4A7C15ull);
      x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
      x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
      st.s[w][l] = x ^ (x >> 31);
    }
  const uint64_t thresh = static_cast<uint64_t>(p * 4294967296.0 + 0.5);
  constexpr int64_t B = 2 * kLanes;
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
