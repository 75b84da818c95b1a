// tests/fuzz/fuzz_idx.cpp — libFuzzer target: IDX parsing, including gzip + inflate.
// Built and run by scripts/fuzz.sh (clang, -fsanitize=fuzzer,address,undefined); not part of
// the CMake build. Any input may be rejected with distillery::Error; nothing else may happen.
#include <distillery/data/idx.hpp>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    distillery::IdxArray a = distillery::parse_idx(data, size, "fuzz");
    if (a.dims.size() == 3) (void)distillery::idx_to_images(a);
    if (a.dims.size() == 1) (void)distillery::idx_to_labels(a, 10);
  } catch (const distillery::Error&) {
  }
  return 0;
}
