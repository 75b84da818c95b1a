// tests/backend/test_allocator.cpp — the host block cache (backend/cpu/allocator.hpp): size
// classes (64-byte multiples, 4 per power of two, at most 25% slack, one index each), reuse of a
// freed block of the same class, 64-byte alignment, the cap, and absurd sizes left to malloc.
#include <distillery/backend/cpu/allocator.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <set>

using distillery::cpu::HostBlockCache;

TEST_CASE("allocator: size classes round up by at most 25% and index without collisions") {
  std::set<std::size_t> classes;
  std::size_t prev_block = 0, prev_class = 0;
  for (std::size_t bytes = 1; bytes <= (std::size_t(1) << 22); bytes += 1 + bytes / 97) {
    const std::size_t n = HostBlockCache::block_size(bytes);
    CHECK(n >= bytes);
    CHECK(n % 64 == 0);
    if (bytes > 64) CHECK(double(n) <= 1.25 * double(((bytes + 63) / 64) * 64));
    CHECK(HostBlockCache::block_size(n) == n);  // a class size is its own class
    const std::size_t c = HostBlockCache::size_class(n);
    CHECK(c < 4 * 56);
    if (n == prev_block) CHECK(c == prev_class);
    if (n > prev_block && prev_block > 0) CHECK(c > prev_class);  // distinct sizes, distinct classes
    prev_block = n, prev_class = c;
    classes.insert(c);
  }
  CHECK(HostBlockCache::size_class(64) == 0);
  CHECK(HostBlockCache::block_size(0) == 64);
  CHECK(HostBlockCache::block_size(65) == 128);
  CHECK(HostBlockCache::block_size(1025) == 1280);
  CHECK(HostBlockCache::block_size((std::size_t(1) << 20) + 1) == (std::size_t(5) << 18));
  CHECK(classes.size() == 60);  // 64 B, 128 and 192 B, then 4 per power of two up to 4 MiB
}

TEST_CASE("allocator: a freed block is reused for a request of its class, aligned to 64 bytes") {
  HostBlockCache& c = HostBlockCache::instance();
  if (c.cached_bytes() == 0) {  // the cache may be off (ASan build, DISTILLERY_CPU_CACHE_MB=0)
    void* probe = c.allocate(100);
    c.deallocate(probe, 100);
    if (c.cached_bytes() == 0) {
      MESSAGE("block cache disabled in this build/environment: reuse not checked");
      return;
    }
    CHECK(c.allocate(100) == probe);  // (taken back out)
    c.deallocate(probe, 100);
  }
  for (std::size_t bytes : {std::size_t(8), std::size_t(300), std::size_t(5000), std::size_t(70000),
                            std::size_t(3) << 20}) {
    c.empty();
    void* a = c.allocate(bytes);
    REQUIRE(a != nullptr);
    CHECK(reinterpret_cast<std::uintptr_t>(a) % 64 == 0);
    c.deallocate(a, bytes);
    CHECK(c.cached_bytes() == HostBlockCache::block_size(bytes));
    void* b = c.allocate(HostBlockCache::block_size(bytes));  // same class, other request size
    CHECK(b == a);
    CHECK(c.cached_bytes() == 0);
    void* d = c.allocate(HostBlockCache::block_size(bytes) + 64);  // next class: a new block
    CHECK(d != a);
    c.deallocate(b, bytes);
    c.deallocate(d, HostBlockCache::block_size(bytes) + 64);
  }
  c.empty();
  CHECK(c.cached_bytes() == 0);
}

TEST_CASE("allocator: sizes beyond any machine are malloc's to refuse, not rounded or cached") {
  const std::size_t huge = (std::size_t(1) << 62) + 1;
  CHECK(HostBlockCache::block_size(huge) == huge);  // no wrap-around to a small block
#if DST_CPU_CACHE_DEFAULT_ON  // (AddressSanitizer aborts on such a request instead of returning null)
  void* p = HostBlockCache::instance().allocate(huge);
  CHECK(p == nullptr);
#endif
}
