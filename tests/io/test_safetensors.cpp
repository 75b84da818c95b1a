// tests/io/test_safetensors.cpp — checkpoints: round trip of every dtype, strict header
// validation with file + offset in errors, and PyTorch interoperability both ways (a committed
// file written from PyTorch tensors; and, when /usr/bin/python3 can import torch, a file we write
// read back into torch tensors by tests/fixtures/make_fixtures.py --check).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>

#include <distillery/distillery.hpp>
#include <distillery/io/json.hpp>
#include <distillery/io/safetensors.hpp>

#include "../fixtures/test_support.hpp"

using namespace distillery;
using namespace test_support;

namespace {
// Keep in sync with expected_distillery_state() in tests/fixtures/make_fixtures.py.
StateDict make_state() {
  std::vector<float> a;
  for (int i = 0; i < 12; ++i) a.push_back(static_cast<float>(i * 0.25 - 1.5));
  std::vector<double> b;
  for (int i = 0; i < 5; ++i) b.push_back(1.0 / (i + 1));
  StateDict sd;
  sd["a.f32"] = Tensor<float>::from_vector(a, Shape{3, 4});
  sd["b.f64"] = Tensor<double>::from_vector(b, Shape{5});
  sd["c.i64"] = Tensor<int64_t>::from_vector({-3, int64_t(1) << 40, 7, 0}, Shape{2, 2});
  sd["d.scalar"] = Tensor<float>::scalar(2.5f);
  sd["e.empty"] = Tensor<double>::zeros(Shape{0, 3});
  return sd;
}
const Metadata kMeta = {{"framework", "distillery"}, {"note", "caf\xC3\xA9 \"quoted\""}};

template <class T>
void check_same(const StateDict& got, const StateDict& want, const std::string& name) {
  CAPTURE(name);
  Tensor<T> g = get_tensor<T>(got, name), w = get_tensor<T>(want, name);
  CHECK(g.shape() == w.shape());
  CHECK(g.to_vector() == w.to_vector());
}
void check_state(const StateDict& got) {
  StateDict want = make_state();
  REQUIRE(got.size() == want.size());
  check_same<float>(got, want, "a.f32");
  check_same<double>(got, want, "b.f64");
  check_same<int64_t>(got, want, "c.i64");
  check_same<float>(got, want, "d.scalar");
  check_same<double>(got, want, "e.empty");
}
// A file with the given header text and data buffer.
Bytes file_with(const std::string& header, size_t buffer_bytes) {
  Bytes b(8 + header.size() + buffer_bytes, 0);
  for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(uint64_t(header.size()) >> (8 * i));
  std::copy(header.begin(), header.end(), b.begin() + 8);
  return b;
}
std::string parse_error(const Bytes& b) {
  return error_of([&] { parse_safetensors(b.data(), b.size(), "ckpt.safetensors"); });
}
}  // namespace

TEST_CASE("safetensors: round trip of F32, F64, I64, scalars, empty tensors and metadata") {
  TempDir tmp;
  const std::string path = tmp.file("model.safetensors");
  save_safetensors(path, make_state(), kMeta);
  Metadata meta;
  StateDict back = load_safetensors(path, &meta);
  check_state(back);
  CHECK(meta == kMeta);
  CHECK(dtype_name(back.at("c.i64")) == std::string("I64"));
  // Header is padded to a multiple of 8; no temp files are left behind.
  Bytes bytes = read_file_bytes(path, "test");
  CHECK((bytes[0] | bytes[1] << 8) % 8 == 0);
  int files = 0;
  for (auto& e : std::filesystem::directory_iterator(tmp.path))
    files += e.is_regular_file() ? 1 : 0;
  CHECK(files == 1);
  // Typed helpers.
  std::map<std::string, Tensor<float>> typed = {{"w", Tensor<float>::ones(Shape{2})}};
  StateDict sd = to_state_dict(typed);
  CHECK(contains(error_of([&] { get_tensor<double>(sd, "w"); }),
                 "tensor 'w' has dtype F32, expected F64"));
  CHECK(contains(error_of([&] { get_tensor<float>(sd, "v"); }), "no tensor named 'v'"));
}

TEST_CASE("safetensors: non-contiguous tensors are saved in logical order") {
  auto t = Tensor<float>::from_vector({1, 2, 3, 4, 5, 6}, Shape{2, 3}).transpose(0, 1);
  StateDict sd;
  sd["t"] = t;
  Bytes b = serialize_safetensors(sd);
  StateDict back = parse_safetensors(b.data(), b.size(), "mem");
  CHECK(get_tensor<float>(back, "t").shape() == Shape{3, 2});
  CHECK(get_tensor<float>(back, "t").to_vector() == std::vector<float>{1, 4, 2, 5, 3, 6});
}

TEST_CASE("safetensors: a file written from PyTorch loads with identical values") {
  const std::string dir = fixtures_dir();
  Metadata meta;
  StateDict sd = load_safetensors(dir + "/torch_state.safetensors", &meta);
  CHECK(meta.at("format") == "pt");
  Bytes json = read_file_bytes(dir + "/torch_state.json", "test");
  JsonReader r(json.data(), json.size(), "torch_state.json", "test");
  size_t checked = 0;
  r.read_object([&](const std::string& name, size_t) {
    CAPTURE(name);
    std::string dtype;
    std::vector<int64_t> shape;
    std::vector<std::string> values;
    r.read_object([&](const std::string& key, size_t) {
      if (key == "dtype")
        dtype = r.read_string();
      else if (key == "shape")
        r.read_array([&](size_t) { shape.push_back(r.read_int64()); });
      else
        r.read_array([&](size_t) { values.push_back(r.read_string()); });
    });
    REQUIRE(sd.count(name) == 1);
    CHECK(dtype_name(sd.at(name)) == dtype);
    CHECK(shape_of(sd.at(name)) == Shape(shape));
    std::visit(
        [&](const auto& t) {
          using T = typename std::decay_t<decltype(t)>::Scalar;
          auto v = t.to_vector();
          REQUIRE(v.size() == values.size());
          for (size_t i = 0; i < v.size(); ++i) {
            if constexpr (std::is_same_v<T, int64_t>) {
              CHECK(v[i] == std::stoll(values[i]));
            } else {
              T want = static_cast<T>(std::strtod(values[i].c_str(), nullptr));
              CHECK(std::memcmp(&v[i], &want, sizeof(T)) ==
                    0);  // bitwise: keeps -0.0, inf, denormals
            }
          }
        },
        sd.at(name));
    ++checked;
  });
  CHECK(checked == 7);
}

TEST_CASE("safetensors: a file we write loads in PyTorch (skipped without python3-torch)") {
  if (std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0) {
    MESSAGE("skipped: /usr/bin/python3 cannot import torch (Debian: python3-torch)");
    return;
  }
  TempDir tmp;
  const std::string path = tmp.file("ours.safetensors");
  save_safetensors(path, make_state(), kMeta);
  const std::string cmd =
      "/usr/bin/python3 " + fixtures_dir() + "/make_fixtures.py --check " + path;
  CHECK(std::system(cmd.c_str()) == 0);
}

TEST_CASE("safetensors: corrupt headers are rejected with the file and byte offset") {
  const std::string e = R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  CHECK(parse_error(file_with(e, 8)) == "<no error>");
  CHECK(contains(parse_error(Bytes{1, 2, 3}),
                 "ckpt.safetensors: byte 0: file ends early: header length"));
  CHECK(contains(parse_error(file_with(e, 8)), "<no error>"));
  Bytes too_long = file_with(e, 8);
  too_long[0] = 0xFF;
  CHECK(contains(parse_error(too_long), "byte 0: header length"));
  CHECK(contains(parse_error(file_with(" " + e, 8)), "byte 8: header must start with '{'"));
  CHECK(contains(parse_error(file_with(e, 12)),
                 "byte 70: data buffer has 4 bytes that belong to no tensor"));
  CHECK(contains(parse_error(file_with(e, 4)),
                 "byte 9: tensor 'x': data_offsets end 8 is past the end"));
  CHECK(contains(
      parse_error(file_with(R"({"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8)),
      "byte 9: tensor 'x': shape [3] of F32 needs 12 bytes"));
  CHECK(contains(
      parse_error(file_with(R"({"x":{"dtype":"F16","shape":[4],"data_offsets":[0,8]}})", 8)),
      "unsupported dtype 'F16'"));
  CHECK(contains(
      parse_error(file_with(R"({"x":{"dtype":"Q7","shape":[2],"data_offsets":[0,8]}})", 8)),
      "unknown dtype 'Q7'"));
  CHECK(contains(parse_error(file_with(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                       R"("y":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                                       12)),
                 "tensor 'y': data_offsets [4, 12] overlap another tensor"));
  CHECK(contains(
      parse_error(file_with(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8)),
      "leave a gap"));
  CHECK(contains(
      parse_error(file_with(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", 8)),
      "reversed"));
  CHECK(contains(parse_error(file_with(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                       R"("x":{"dtype":"F32","shape":[0],"data_offsets":[8,8]}})",
                                       8)),
                 "byte 62: duplicate key 'x'"));
  CHECK(contains(parse_error(file_with(
                     R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"extra":1}})", 8)),
                 "unknown field 'extra'"));
  CHECK(contains(parse_error(file_with(R"({"x":{"dtype":"F32","shape":[2]}})", 8)),
                 "needs dtype, shape and data_offsets"));
  CHECK(contains(
      parse_error(file_with(R"({"x":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8)),
      "negative dimension"));
  CHECK(contains(
      parse_error(file_with(R"({"x":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}})", 8)),
      "integer"));
  CHECK(contains(
      parse_error(file_with(
          R"({"x":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", 8)),
      "shape overflows"));
  CHECK(contains(
      parse_error(file_with(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8,9]}})", 8)),
      "exactly 2 entries"));
  CHECK(contains(parse_error(file_with(R"({"__metadata__":{"a":1}})", 0)), "must be a string"));
  CHECK(contains(
      parse_error(file_with(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})", 8)),
      "ckpt.safetensors: byte "));
  CHECK(contains(
      parse_error(file_with(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}} x)", 8)),
      "unexpected data after"));
  // Every truncation of a valid file is rejected.
  Bytes good = serialize_safetensors(make_state(), kMeta);
  for (size_t cut = 0; cut < good.size(); ++cut) {
    CAPTURE(cut);
    CHECK(contains(error_of([&] { parse_safetensors(good.data(), cut, "cut"); }),
                   "safetensors: cut: byte "));
  }
  CHECK(contains(error_of([] { load_safetensors("/nonexistent/x.safetensors"); }), "cannot open"));
}

TEST_CASE("json writer: values, escaping, non-finite numbers, atomic write") {
  Json j = Json::object();
  j["dataset"] = "mnist";
  j["test_accuracy"] = 0.9843;
  j["epochs"] = 10;
  j["ok"] = true;
  j["nan"] = std::nan("");
  j["curve"] = std::vector<double>{0.5, 0.25};
  j["text"] = "a\"b\\c\n\x01";
  j["nested"]["empty"] = Json::array();
  CHECK(j.dump(-1) ==
        R"({"dataset":"mnist","test_accuracy":0.9843,"epochs":10,"ok":true,"nan":null,)"
        R"("curve":[0.5,0.25],"text":"a\"b\\c\n\u0001","nested":{"empty":[]}})");
  TempDir tmp;
  write_json(tmp.file("r.json"), j);
  Bytes back = read_file_bytes(tmp.file("r.json"), "test");
  JsonReader r(back.data(), back.size(), "r.json", "test");
  r.skip_value();  // what we write is valid JSON
  r.expect_end();
  // missing folders are created (issue 20); a path through a file is refused with its reason
  write_json(tmp.file("no/such/dir/r.json"), j);
  CHECK(read_file_bytes(tmp.file("no/such/dir/r.json"), "test").size() == back.size());
  const std::string e = error_of([&] { write_json(tmp.file("r.json/x.json"), j); });
  CHECK(contains(e, "cannot create folder"));
  CHECK(contains(e, "is not a folder"));
}
