// core/rng.hpp — one seeded generator type, portable and reproducible.
//
// xoshiro256** seeded through splitmix64; uniform doubles from the top 53 bits; normals by
// Box–Muller. Results are the same on every platform and standard library (std::normal_
// distribution is not). Random ops take a Generator& or use the default one, guarded by a
// mutex; `manual_seed(s)` reseeds the default.
#pragma once
#include <cmath>
#include <cstdint>
#include <mutex>

namespace distillery {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0x5EEDull) { seed_(seed); }
  void seed_(uint64_t seed) {
    uint64_t z = seed;
    for (auto& w : s_) w = splitmix(z);
    has_spare_ = false;
  }
  uint64_t next_u64() {
    const uint64_t r = rotl(s_[1] * 5, 7) * 9, t = s_[1] << 17;
    s_[2] ^= s_[0]; s_[3] ^= s_[1]; s_[1] ^= s_[2]; s_[0] ^= s_[3]; s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return r;
  }
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }  // [0, 1)
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  double normal() {
    if (has_spare_) { has_spare_ = false; return spare_; }
    double u1 = uniform(), u2 = uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    double r = std::sqrt(-2.0 * std::log(u1)), th = 6.283185307179586476925 * u2;
    spare_ = r * std::sin(th);
    has_spare_ = true;
    return r * std::cos(th);
  }
  int64_t randint(int64_t n) { return static_cast<int64_t>(next_u64() % static_cast<uint64_t>(n)); }
  std::mutex& mutex() { return mu_; }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static uint64_t splitmix(uint64_t& z) {
    uint64_t x = (z += 0x9E3779B97F4A7C15ull);
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
  }
  uint64_t s_[4];
  double spare_ = 0;
  bool has_spare_ = false;
  std::mutex mu_;
};

inline Generator& default_generator() {
  static Generator g;
  return g;
}
inline void manual_seed(uint64_t seed) {
  std::lock_guard<std::mutex> lk(default_generator().mutex());
  default_generator().seed_(seed);
}

}  // namespace distillery
