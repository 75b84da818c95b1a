// io/checksum.hpp — CRC-32 (gzip, PNG chunks) and Adler-32 (zlib streams in PNG).
//
// Both take a running value so a checksum can be fed in pieces:
//   uint32_t c = crc32(0, a, na); c = crc32(c, b, nb);   // == crc32 of a||b
#pragma once
#include <cstddef>
#include <cstdint>

namespace distillery {

// CRC-32/ISO-HDLC (polynomial 0xEDB88320 reflected), as used by gzip, zip and PNG.
inline uint32_t crc32(uint32_t crc, const uint8_t* data, size_t n) {
  struct Table {
    uint32_t v[256];
    Table() {
      for (uint32_t i = 0; i < 256; ++i) {
        uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        v[i] = c;
      }
    }
  };
  static const Table table;
  crc = ~crc;
  for (size_t i = 0; i < n; ++i) crc = table.v[(crc ^ data[i]) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

// Adler-32 (RFC 1950); start with adler = 1.
inline uint32_t adler32(uint32_t adler, const uint8_t* data, size_t n) {
  constexpr uint32_t kMod = 65521;
  uint32_t a = adler & 0xFFFF, b = adler >> 16;
  while (n > 0) {
    size_t chunk = n < 5552 ? n : 5552;  // largest run with no 32-bit overflow before mod
    n -= chunk;
    for (size_t i = 0; i < chunk; ++i) {
      a += data[i];
      b += a;
    }
    data += chunk;
    a %= kMod;
    b %= kMod;
  }
  return b << 16 | a;
}

}  // namespace distillery
