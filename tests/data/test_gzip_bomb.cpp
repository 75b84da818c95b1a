// tests/data/test_gzip_bomb.cpp — a small .gz that expands hugely is refused after the size its
// IDX header declares, with the file name and a byte offset (issue 26: a 2.1 MB bomb used to run
// 19 s and reach 2 GiB before the generic cap).
#include <distillery/data/idx.hpp>
#include <distillery/distillery.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

using namespace distillery;

namespace {
// Fixed-Huffman DEFLATE writer: literals, and runs of length-258 distance-1 matches.
struct BitWriter {
  std::vector<uint8_t> out;
  int nbits = 0;
  void put(uint32_t v, int n) {  // LSB first
    for (int i = 0; i < n; ++i) {
      if (nbits % 8 == 0) out.push_back(0);
      out.back() |= uint8_t(((v >> i) & 1) << (nbits % 8));
      ++nbits;
    }
  }
  void huff(uint32_t code, int n) {  // Huffman codes go MSB first
    for (int i = n - 1; i >= 0; --i) put((code >> i) & 1, 1);
  }
  void literal(uint8_t b) { b < 144 ? huff(0x30 + b, 8) : huff(0x190 + b - 144, 9); }
};

// gzip of: the IDX header of a [1] uint8 array, one value, then `runs` x 258 more bytes.
std::vector<uint8_t> idx_bomb(int runs) {
  BitWriter w;
  w.put(1, 1);  // last block
  w.put(1, 2);  // fixed Huffman
  for (uint8_t b : {0, 0, 8, 1, 0, 0, 0, 1, 7}) w.literal(b);
  for (int i = 0; i < runs; ++i) {
    w.huff(0xC0 + (285 - 280), 8);  // length 258
    w.huff(0, 5);                    // distance 1
  }
  w.huff(0, 7);  // end of block
  std::vector<uint8_t> gz = {0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 0xFF};
  gz.insert(gz.end(), w.out.begin(), w.out.end());
  for (int i = 0; i < 8; ++i) gz.push_back(0);  // CRC and size: never reached
  return gz;
}
}  // namespace

TEST_CASE("idx: a gzip bomb is refused at the header's declared size") {
  const std::vector<uint8_t> gz = idx_bomb(400000);  // ~650 KB expanding to ~103 MB
  const auto t0 = std::chrono::steady_clock::now();
  std::string msg;
  try {
    parse_idx(gz.data(), gz.size(), "bomb.gz");
  } catch (const Error& e) {
    msg = e.what();
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  INFO(msg);
  CHECK(msg.find("bomb.gz") != std::string::npos);
  CHECK(msg.find("byte") != std::string::npos);
  CHECK(msg.find("exceeds the limit of 9 bytes") != std::string::npos);  // 8 header + 1 value
  CHECK(s < 1.0);  // the cap trips after a few bytes (it took seconds at the 2 GiB cap)
}

TEST_CASE("idx: a well-formed gzip file still reads, its header included in the cap") {
  // the same stream without runs: exactly the declared 9 bytes
  std::vector<uint8_t> gz = idx_bomb(0);
  // fix the trailer: CRC-32 and size of the 9 bytes
  const uint8_t raw[9] = {0, 0, 8, 1, 0, 0, 0, 1, 7};
  uint32_t crc = crc32(0, raw, 9);
  gz.resize(gz.size() - 8);
  for (int i = 0; i < 4; ++i) gz.push_back(uint8_t(crc >> (8 * i)));
  for (int i = 0; i < 4; ++i) gz.push_back(uint8_t(9 >> (8 * i)));
  IdxArray a = parse_idx(gz.data(), gz.size(), "ok.gz");
  REQUIRE(a.data.size() == 1);
  CHECK(a.data[0] == 7);
}
