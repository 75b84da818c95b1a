// tests/data/test_idx.cpp — IDX reader (raw and gzip), the inflate decoder, truncation errors,
// and the real Fashion-MNIST files when scripts/get-data.sh has fetched them.
#include <doctest/doctest.h>

#include <distillery/data/idx.hpp>
#include <distillery/distillery.hpp>

#include "../fixtures/test_support.hpp"

using namespace distillery;
using namespace test_support;

namespace {
Bytes idx_bytes(std::vector<uint32_t> dims, const Bytes& values) {
  Bytes b = {0, 0, 8, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(d >> s));
  b.insert(b.end(), values.begin(), values.end());
  return b;
}
Bytes tiny_pixels() {  // the formula make_fixtures.py uses
  Bytes px;
  for (int n = 0; n < 3; ++n)
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 5; ++x)
        px.push_back(static_cast<uint8_t>((31 * n + 7 * y + 3 * x) % 256));
  return px;
}
}  // namespace

TEST_CASE("idx: raw images and labels written here round-trip") {
  TempDir tmp;
  Bytes px = tiny_pixels();
  write_bytes(tmp.file("img.idx"), idx_bytes({3, 4, 5}, px));
  write_bytes(tmp.file("lab.idx"), idx_bytes({3}, {7, 0, 9}));
  LabelledImages d = load_idx_pair(tmp.file("img.idx"), tmp.file("lab.idx"), 10);
  CHECK(d.images.shape() == Shape{3, 1, 4, 5});
  CHECK(d.labels.to_vector() == std::vector<int64_t>{7, 0, 9});
  auto v = d.images.to_vector();
  for (size_t i = 0; i < px.size(); ++i) CHECK(v[i] == static_cast<float>(px[i]) / 255.0f);
  IdxArray raw = read_idx(tmp.file("img.idx"));
  CHECK(raw.dims == std::vector<int64_t>{3, 4, 5});
  CHECK(raw.data == px);
}

TEST_CASE("idx: gzip fixtures written by Python decode to the same values") {
  const std::string dir = fixtures_dir();
  Tensor<float> gz = load_idx_images(dir + "/tiny_images.idx.gz");
  Tensor<float> raw = load_idx_images(dir + "/tiny_images.idx");
  CHECK(gz.shape() == Shape{3, 1, 4, 5});
  CHECK(gz.to_vector() == raw.to_vector());
  CHECK(read_idx(dir + "/tiny_images.idx.gz").data == tiny_pixels());
  CHECK(load_idx_labels(dir + "/tiny_labels.idx.gz").to_vector() == std::vector<int64_t>{7, 0, 9});
}

TEST_CASE("inflate: stored, fixed, dynamic, multi-member and flagged gzip streams") {
  Bytes reference;
  for (std::string kind : {"stored", "fixed", "dynamic", "multi", "flags"}) {
    CAPTURE(kind);
    const std::string path = fixtures_dir() + "/inflate_" + kind + ".gz";
    Bytes gz = read_file_bytes(path, "test");
    Bytes out = gunzip(gz.data(), gz.size(), path);  // CRC-32 + length trailers are checked
    CHECK(out.size() == 40000);
    CHECK(crc32(0, out.data(), out.size()) == 0x5f4a2ea0u);
    if (reference.empty()) reference = out;
    CHECK(out == reference);
  }
}

TEST_CASE("inflate: corrupt and truncated streams throw with file and offset") {
  const std::string path = fixtures_dir() + "/inflate_dynamic.gz";
  Bytes gz = read_file_bytes(path, "test");
  for (size_t cut : {size_t(1), size_t(5), size_t(10), size_t(100), gz.size() / 2, gz.size() - 9,
                     gz.size() - 4, gz.size() - 1}) {
    CAPTURE(cut);
    std::string msg = error_of([&] { gunzip(gz.data(), cut, "cut.gz"); });
    CHECK(contains(msg, "cut.gz: byte "));
  }
  Bytes bad = gz;
  bad[gz.size() - 6] ^= 0xFF;  // CRC-32 trailer
  CHECK(contains(error_of([&] { gunzip(bad.data(), bad.size(), "x.gz"); }), "CRC-32 mismatch"));
  bad = gz;
  bad[3] = 0xE0;  // reserved flags
  CHECK(contains(error_of([&] { gunzip(bad.data(), bad.size(), "x.gz"); }), "x.gz: byte 3"));
  Bytes trailing = gz;
  trailing.push_back(0);
  CHECK(
      contains(error_of([&] { gunzip(trailing.data(), trailing.size(), "t.gz"); }), "t.gz: byte"));
  const uint8_t block3[] = {0x07};  // BFINAL=1, BTYPE=11 (reserved)
  CHECK(contains(error_of([&] { inflate_raw(block3, 1, "b"); }), "invalid block type"));
  // Fixed-code block whose first symbol is length 3 at distance 1: before the output start.
  const uint8_t far[] = {0x03, 0x02, 0x00};
  CHECK(contains(error_of([&] { inflate_raw(far, sizeof far, "far"); }),
                 "far: byte 1: distance 1 reaches before the start of the output"));
  size_t limit = 1000;
  CHECK(
      contains(error_of([&] { gunzip(gz.data(), gz.size(), "big", limit); }), "exceeds the limit"));
}

TEST_CASE("idx: truncated or corrupt files name the file and byte offset") {
  TempDir tmp;
  Bytes good = idx_bytes({3, 4, 5}, tiny_pixels());
  for (size_t cut = 0; cut < good.size(); ++cut) {
    CAPTURE(cut);
    Bytes b(good.begin(), good.begin() + static_cast<ptrdiff_t>(cut));
    write_bytes(tmp.file("t.idx"), b);
    std::string msg = error_of([&] { read_idx(tmp.file("t.idx")); });
    CHECK(contains(msg, "idx: " + tmp.file("t.idx") + ": byte "));
  }
  write_bytes(tmp.file("t.idx"), Bytes(good.begin(), good.end() - 7));
  CHECK(contains(error_of([&] { read_idx(tmp.file("t.idx")); }),
                 "byte 16: file ends early: extents need 60 data bytes, 53 remain"));
  Bytes extra = good;
  extra.push_back(1);
  CHECK(contains(error_of([&] { parse_idx(extra.data(), extra.size(), "e"); }),
                 "e: byte 76: 1 bytes of trailing"));
  Bytes magic = good;
  magic[0] = 1;
  CHECK(contains(error_of([&] { parse_idx(magic.data(), magic.size(), "m"); }),
                 "m: byte 0: not an IDX"));
  Bytes dtype = good;
  dtype[2] = 0x0D;  // float
  CHECK(contains(error_of([&] { parse_idx(dtype.data(), dtype.size(), "d"); }),
                 "d: byte 2: unsupported IDX dtype 13"));
  Bytes huge = idx_bytes({0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, {1, 2, 3});
  CHECK(contains(error_of([&] { parse_idx(huge.data(), huge.size(), "h"); }),
                 "h: byte 16: file ends early"));
  Bytes labels = idx_bytes({2}, {3, 12});
  IdxArray a = parse_idx(labels.data(), labels.size(), "l");
  CHECK(contains(error_of([&] { idx_to_labels(a, 10); }), "l: byte 9: label 12"));
  CHECK(contains(error_of([&] { idx_to_images(a); }), "3 dimensions"));

  // A truncated gzip IDX reports the offset in the compressed file.
  Bytes gz = read_file_bytes(fixtures_dir() + "/tiny_images.idx.gz", "test");
  write_bytes(tmp.file("t.idx.gz"), Bytes(gz.begin(), gz.begin() + 40));
  CHECK(contains(error_of([&] { read_idx(tmp.file("t.idx.gz")); }),
                 tmp.file("t.idx.gz") + ": byte "));
  CHECK(contains(error_of([&] { read_idx(tmp.file("missing.idx")); }), "cannot open"));
}

TEST_CASE("idx: real Fashion-MNIST (skipped without scripts/get-data.sh)") {
  const std::string dir = data_dir() + "/fashion-mnist";
  if (!exists(dir + "/t10k-images-idx3-ubyte.gz")) {
    MESSAGE("skipped: no " << dir << " (run scripts/get-data.sh)");
    return;
  }
  LabelledImages test = load_fashion_mnist(dir, false);
  CHECK(test.images.shape() == Shape{10000, 1, 28, 28});
  CHECK(class_counts(test.labels, 10) == std::vector<int64_t>(10, 1000));
  LabelledImages train = load_fashion_mnist(dir, true);
  CHECK(train.images.shape() == Shape{60000, 1, 28, 28});
  CHECK(class_counts(train.labels, 10) == std::vector<int64_t>(10, 6000));
  auto v = test.images.to_vector();
  double mean = 0;
  for (float x : v) mean += x;
  mean /= static_cast<double>(v.size());
  CHECK(mean == doctest::Approx(0.2868).epsilon(0.01));  // Fashion-MNIST's known pixel mean
}
