// tests/fuzz/fuzz_gzip_bomb.cpp — libFuzzer target: gzip IDX files whose DEFLATE data may expand
// far beyond what their header declares (issue 26: a 2.1 MB .gz used to reach 2 GiB).
// Built and run by scripts/fuzz.sh with -max_len=262144 (a DEFLATE stream of that size can
// expand ~1000x, to ~270 MB) and -malloc_limit_mb=64; not part of the CMake build.
//
// Input: 3 bytes that choose the declared extent E (< 1 MiB) of a 1-dim IDX array, then raw
// DEFLATE blocks. The target wraps them into a gzip member whose first (stored) block holds the
// IDX header [0, 0, 8, 1, E], so every input is a gzip IDX file and the fuzzer spends its time
// on the compressed data. Properties: parse_idx either throws distillery::Error or returns
// exactly E bytes; no allocation is larger than the declared size allows (a cap checked only at
// the end would allocate hundreds of MB and trip -malloc_limit_mb), and no input takes long
// (-timeout).
#include <distillery/data/idx.hpp>

#include <cstdlib>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const uint32_t extent = (uint32_t(data[0]) << 16 | uint32_t(data[1]) << 8 | data[2]) & 0xFFFFF;
  const uint8_t header[8] = {0, 0, 8, 1, uint8_t(extent >> 24), uint8_t(extent >> 16),
                             uint8_t(extent >> 8), uint8_t(extent)};
  std::vector<uint8_t> gz = {0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 0xFF};  // gzip header, no flags
  gz.insert(gz.end(), {0x00, 8, 0, 0xF7, 0xFF});  // stored block, not final, LEN 8, NLEN
  gz.insert(gz.end(), header, header + 8);
  gz.insert(gz.end(), data + 3, data + size);   // the fuzzer's blocks (should end with BFINAL)
  gz.insert(gz.end(), 8, 0);                    // CRC32 and ISIZE (usually wrong: an Error)
  try {
    distillery::IdxArray a = distillery::parse_idx(gz.data(), gz.size(), "fuzz");
    if (a.data.size() != extent) std::abort();  // the reader must return what it declares
  } catch (const distillery::Error&) {
  }
  return 0;
}
