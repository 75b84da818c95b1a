// tests/fuzz/fuzz_safetensors.cpp — libFuzzer target: safetensors header + data validation.
// A file that parses must serialize and parse again to the same tensors.
#include <distillery/io/safetensors.hpp>

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace distillery;
  StateDict sd;
  Metadata meta;
  try {
    sd = parse_safetensors(data, size, "fuzz", &meta);
  } catch (const Error&) {
    return 0;
  }
  Bytes again = serialize_safetensors(sd, meta);
  Metadata meta2;
  StateDict sd2 = parse_safetensors(again.data(), again.size(), "again", &meta2);
  if (sd2.size() != sd.size() || meta2 != meta) std::abort();
  return 0;
}
