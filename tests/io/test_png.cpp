// tests/io/test_png.cpp — the PNG writer, checked without an image decoder: signature, chunk
// layout and CRCs, IHDR fields, and the IDAT zlib stream (inflated with data/readers/inflate.hpp,
// Adler-32 checked) holding exactly the filtered scanlines.
#include <doctest/doctest.h>

#include <distillery/distillery.hpp>
#include <distillery/data/readers/inflate.hpp>
#include <distillery/io/png.hpp>

#include "../fixtures/test_support.hpp"

using namespace distillery;
using namespace test_support;

namespace {
uint32_t be32(const Bytes& b, size_t at) {
  return uint32_t(b[at]) << 24 | uint32_t(b[at + 1]) << 16 | uint32_t(b[at + 2]) << 8 | b[at + 3];
}
struct Png {
  uint32_t width = 0, height = 0;
  int color_type = -1;
  std::vector<std::string> chunks;
  Bytes scanlines;  // inflated IDAT
};
// Walks a PNG, REQUIRE-ing every structural property.
Png check_png(const Bytes& b) {
  const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  REQUIRE(b.size() >= 8);
  REQUIRE(std::equal(sig, sig + 8, b.begin()));
  Png p;
  Bytes idat;
  size_t at = 8;
  while (at < b.size()) {
    REQUIRE(b.size() - at >= 12);
    uint32_t len = be32(b, at);
    REQUIRE(b.size() - at - 12 >= len);
    std::string type(b.begin() + at + 4, b.begin() + at + 8);
    CHECK(be32(b, at + 8 + len) == crc32(0, b.data() + at + 4, len + 4));
    if (type == "IHDR") {
      REQUIRE(len == 13);
      p.width = be32(b, at + 8);
      p.height = be32(b, at + 12);
      CHECK(b[at + 16] == 8);  // bit depth
      p.color_type = b[at + 17];
    }
    if (type == "IDAT") idat.insert(idat.end(), b.begin() + at + 8, b.begin() + at + 8 + len);
    p.chunks.push_back(type);
    at += 12 + len;
  }
  REQUIRE(idat.size() >= 6);
  CHECK((idat[0] * 256 + idat[1]) % 31 == 0);  // zlib header check bits
  CHECK((idat[0] & 0x0F) == 8);                // deflate
  p.scanlines = inflate_raw(idat.data() + 2, idat.size() - 6, "IDAT");
  CHECK(be32(idat, idat.size() - 4) == adler32(1, p.scanlines.data(), p.scanlines.size()));
  return p;
}
}  // namespace

TEST_CASE("png: grayscale and RGB encodings are well-formed and hold the pixels") {
  Bytes gray = {0, 64, 128, 255, 1, 2};  // 3 x 2
  Png p = check_png(encode_png(gray.data(), 3, 2, 1));
  CHECK(p.chunks == std::vector<std::string>{"IHDR", "IDAT", "IEND"});
  CHECK(p.width == 3);
  CHECK(p.height == 2);
  CHECK(p.color_type == 0);
  CHECK(p.scanlines == Bytes{0, 0, 64, 128, 0, 255, 1, 2});
  Bytes rgb(2 * 2 * 3);
  for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = static_cast<uint8_t>(i * 20);
  Png q = check_png(encode_png(rgb.data(), 2, 2, 3));
  CHECK(q.color_type == 2);
  CHECK(q.scanlines.size() == 2 * (1 + 6));
  CHECK(contains(error_of([&] { encode_png(rgb.data(), 2, 2, 4); }), "channels must be 1 or 3"));
}

TEST_CASE("png: a large image spans several stored blocks") {
  const int64_t w = 300, h = 300;  // 90,300 bytes of scanlines > 65,535
  Bytes px(static_cast<size_t>(w * h * 3));
  for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<uint8_t>(i * 7 % 251);
  Png p = check_png(encode_png(px.data(), w, h, 3));
  REQUIRE(p.scanlines.size() == static_cast<size_t>(h * (1 + w * 3)));
  CHECK(p.scanlines[1 + 5] == px[5]);
  CHECK(p.scanlines[(1 + w * 3) * 299 + 1 + 17] == px[w * 3 * 299 + 17]);
}

TEST_CASE("png: tensor images and grids are written atomically to files") {
  TempDir tmp;
  auto img = Tensor<float>::from_vector({0.0f, 0.5f, 1.0f, 2.0f, -1.0f, 0.25f}, Shape{1, 2, 3});
  write_png(tmp.file("one.png"), img);
  Png p = check_png(read_file_bytes(tmp.file("one.png"), "test"));
  CHECK(p.scanlines == Bytes{0, 0, 128, 255, 0, 255, 0, 64});  // clamped to [0, 1]

  std::vector<float> v(5 * 1 * 4 * 4);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i % 16) / 15.0f * 3.0f - 1.0f;
  GridOptions g;
  g.nrow = 3;
  g.padding = 1;
  g.normalize = true;
  g.scale = 2;
  write_image_grid(tmp.file("grid.png"), Tensor<float>::from_vector(v, Shape{5, 1, 4, 4}), g);
  Png grid = check_png(read_file_bytes(tmp.file("grid.png"), "test"));
  CHECK(grid.width == 2 * (3 * 5 + 1));   // 3 columns of 4 + padding, upscaled x2
  CHECK(grid.height == 2 * (2 * 5 + 1));  // 2 rows
  CHECK(grid.color_type == 0);
  // Image 0's first pixel (the batch minimum) is black, its last (the maximum) white.
  const size_t row = 1 + grid.width;
  CHECK(grid.scanlines[2 * row * 1 + 1 + 2] == 0);
  CHECK(grid.scanlines[2 * row * 4 + 1 + 2 * 4] == 255);
  int files = 0;
  for (auto& e : std::filesystem::directory_iterator(tmp.path))
    files += e.is_regular_file() ? 1 : 0;
  CHECK(files == 2);  // no temp files left
  CHECK(contains(error_of([&] { write_image_grid(tmp.file("x.png"), img); }),
                 "expected [N, 1 or 3, H, W]"));
}
