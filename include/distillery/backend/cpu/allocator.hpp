// backend/cpu/allocator.hpp — host memory with a cache of freed blocks.
//
// Training loops free and re-allocate the same buffers every step. Through malloc the large ones
// come back from the kernel as fresh pages (mmap + page faults + zeroing: 5–10% of a LeNet step),
// and the small ones cost glibc's bookkeeping (`_int_malloc`, `_int_free`, `malloc_consolidate`:
// about 25% of a PPO update on 64-row minibatches, docs/dpd.md). Every block is therefore kept on
// a free list by size class when freed (4 classes per power of two, so at most 25% slack; a
// class is an index, not a search) and reused. The cache is capped (DISTILLERY_CPU_CACHE_MB,
// default 256; 0 disables it) and disabled under AddressSanitizer, so use-after-free stays
// detectable in the sanitizer build. `cpu::empty_cache()` returns it all.
// Live/peak statistics (core/storage.hpp) count tensors, not cached blocks.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <new>
#include <vector>

namespace distillery::cpu {

#if defined(__SANITIZE_ADDRESS__)
#define DST_CPU_CACHE_DEFAULT_ON 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DST_CPU_CACHE_DEFAULT_ON 0
#endif
#endif
#ifndef DST_CPU_CACHE_DEFAULT_ON
#define DST_CPU_CACHE_DEFAULT_ON 1
#endif

class HostBlockCache {
 public:
  static HostBlockCache& instance() {
    static HostBlockCache* c = new HostBlockCache();  // never destroyed: frees may come late
    return *c;
  }

  // Rounded size actually allocated for a request: a 64-byte multiple, then up to the next of
  // the 4 classes per power of two (k · 2^(e−2), k = 4..7).
  static constexpr std::size_t kMaxBlock = std::size_t(1) << 61;  // larger: never cached
  static std::size_t block_size(std::size_t bytes) {
    if (bytes > kMaxBlock) return bytes;  // (no rounding that could wrap; malloc refuses it)
    std::size_t n = ((bytes + 63) / 64) * 64;
    if (n == 0) n = 64;
    const int e = 63 - __builtin_clzll(static_cast<unsigned long long>(n));  // 2^e <= n < 2^(e+1)
    const std::size_t quarter = std::size_t(1) << (e - 2);
    return ((n + quarter - 1) / quarter) * quarter;
  }
  // The class of a block_size(): 4 (e − 6) + (k − 4); 0 for 64 bytes.
  static std::size_t size_class(std::size_t n) {
    const int e = 63 - __builtin_clzll(static_cast<unsigned long long>(n));
    return std::size_t(4 * (e - 6)) + ((n >> (e - 2)) - 4);
  }

  void* allocate(std::size_t bytes) {
    const std::size_t n = block_size(bytes);
    if (limit_ > 0 && n <= kMaxBlock) {
      std::lock_guard<std::mutex> lk(mu_);
      auto& list = buckets_[size_class(n)];
      if (!list.empty()) {
        void* p = list.back();
        list.pop_back();
        cached_ -= n;
        return p;
      }
    }
    void* p = std::aligned_alloc(64, n);
    if (!p) {
      empty();  // give the cache back and try once more
      p = std::aligned_alloc(64, n);
    }
    return p;
  }

  void deallocate(void* p, std::size_t bytes) {
    if (!p) return;
    const std::size_t n = block_size(bytes);
    if (limit_ > 0 && n <= kMaxBlock) {
      std::lock_guard<std::mutex> lk(mu_);
      if (cached_ + n <= limit_) {
        buckets_[size_class(n)].push_back(p);
        cached_ += n;
        return;
      }
    }
    std::free(p);
  }

  void empty() {
    std::lock_guard<std::mutex> lk(mu_);
    for (auto& b : buckets_) {
      for (void* p : b) std::free(p);
      b.clear();
    }
    cached_ = 0;
  }

  std::size_t cached_bytes() {
    std::lock_guard<std::mutex> lk(mu_);
    return cached_;
  }

 private:
  HostBlockCache() {
    std::size_t mb = DST_CPU_CACHE_DEFAULT_ON ? 256 : 0;
    if (const char* env = std::getenv("DISTILLERY_CPU_CACHE_MB")) mb = std::strtoull(env, nullptr, 10);
    limit_ = mb << 20;
  }
  std::mutex mu_;
  std::vector<void*> buckets_[4 * 56];  // size_class() of 64 B .. kMaxBlock
  std::size_t cached_ = 0, limit_ = 0;
};

// Frees every cached block (e.g. before measuring memory with an external tool).
inline void empty_cache() { HostBlockCache::instance().empty(); }
inline std::size_t cached_bytes() { return HostBlockCache::instance().cached_bytes(); }

}  // namespace distillery::cpu
