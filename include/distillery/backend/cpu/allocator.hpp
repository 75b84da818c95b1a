// backend/cpu/allocator.hpp — host memory with a small cache of large blocks.
//
// Training loops free and re-allocate the same large buffers every step; through malloc those
// come back from the kernel as fresh pages (mmap + page faults + zeroing), which cost 5–10% of a
// LeNet step. Blocks of at least kMinCached bytes are therefore kept on free lists by size class
// (4 classes per power of two, so at most 25% slack) and reused; smaller blocks go straight to
// aligned_alloc/free (malloc's own caches are fast for them). The cache is capped
// (DISTILLERY_CPU_CACHE_MB, default 256; 0 disables it) and disabled under AddressSanitizer, so
// use-after-free stays detectable in the sanitizer build. `cpu::empty_cache()` returns it all.
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
  static constexpr std::size_t kMinCached = std::size_t(64) << 10;  // 64 KiB

  static HostBlockCache& instance() {
    static HostBlockCache* c = new HostBlockCache();  // never destroyed: frees may come late
    return *c;
  }

  // Rounded size actually allocated for a request (64-byte multiple; size class when cached).
  static std::size_t block_size(std::size_t bytes) {
    std::size_t n = ((bytes + 63) / 64) * 64;
    if (n == 0) n = 64;
    if (n < kMinCached) return n;
    int e = 63 - __builtin_clzll(static_cast<unsigned long long>(n));  // 2^e <= n < 2^(e+1)
    std::size_t quarter = std::size_t(1) << (e - 2);
    return ((n + quarter - 1) / quarter) * quarter;
  }

  void* allocate(std::size_t bytes) {
    const std::size_t n = block_size(bytes);
    if (n >= kMinCached && limit_ > 0) {
      std::lock_guard<std::mutex> lk(mu_);
      auto& list = bucket(n);
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
    if (n >= kMinCached && limit_ > 0) {
      std::lock_guard<std::mutex> lk(mu_);
      if (cached_ + n <= limit_) {
        bucket(n).push_back(p);
        cached_ += n;
        return;
      }
    }
    std::free(p);
  }

  void empty() {
    std::lock_guard<std::mutex> lk(mu_);
    for (auto& b : buckets_) {
      for (void* p : b.blocks) std::free(p);
      b.blocks.clear();
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
  struct Bucket {
    std::size_t size;
    std::vector<void*> blocks;
  };
  std::vector<void*>& bucket(std::size_t n) {
    for (auto& b : buckets_)
      if (b.size == n) return b.blocks;
    buckets_.push_back({n, {}});
    return buckets_.back().blocks;
  }
  std::mutex mu_;
  std::vector<Bucket> buckets_;  // few distinct sizes in practice; linear search is fine
  std::size_t cached_ = 0, limit_ = 0;
};

// Frees every cached block (e.g. before measuring memory with an external tool).
inline void empty_cache() { HostBlockCache::instance().empty(); }
inline std::size_t cached_bytes() { return HostBlockCache::instance().cached_bytes(); }

}  // namespace distillery::cpu
