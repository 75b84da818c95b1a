// backend/bernoulli_math.hpp — the dropout-mask bit recipe, shared by the CPU and CUDA kernels.
//
// A dropout mask needs one biased coin per element. One 64-bit seed (a single draw from the
// caller's Generator, taken by ops/) is expanded through splitmix64 into kLanes independent
// xoshiro256** streams, stepped side by side. Each 64-bit output gives two 32-bit coins:
//
//   mask[i] = u32 < round(p · 2^32) ? 0 : keep          (P(drop) = p up to 2^-33)
//
// Element i of block b (2·kLanes elements) reads step b of lane i mod kLanes, low half for the
// first kLanes elements, high half for the rest. Integer arithmetic only, so every device and
// ISA gives the same bits (backend/cpu/bernoulli.hpp, cuda/kernels_random.cu). Functions are
// DST_HD (host and device under nvcc).
#pragma once
#include <cstdint>

#include "scalar_math.hpp"  // DST_HD

namespace distillery::bernoulli {

constexpr int kLanes = 8;
constexpr int64_t kBlock = 2 * kLanes;  // elements per step of all lanes

// State word w (0..3) of lane l from the seed: splitmix64, as Generator's seeding.
DST_HD uint64_t lane_state(uint64_t seed, int l, int w) {
  uint64_t x = seed + 0x9E3779B97F4A7C15ull * uint64_t(l * 4 + w + 1);
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// One xoshiro256** step of one lane (s0..s3 its state); returns the output.
// The multiplications by 5 and 9 are shifts and adds, available on every SIMD level.
DST_HD uint64_t step(uint64_t& s0, uint64_t& s1, uint64_t& s2, uint64_t& s3) {
  const uint64_t x = (s1 << 2) + s1;        // s1 · 5
  const uint64_t y = (x << 7) | (x >> 57);  // rotl(·, 7)
  const uint64_t r = (y << 3) + y;          // · 9
  const uint64_t t = s1 << 17;
  s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t;
  s3 = (s3 << 45) | (s3 >> 19);
  return r;
}

// The drop threshold on a 32-bit coin for probability p (0 ≤ p < 1).
DST_HD uint64_t threshold(double p) { return static_cast<uint64_t>(p * 4294967296.0 + 0.5); }

}  // namespace distillery::bernoulli
