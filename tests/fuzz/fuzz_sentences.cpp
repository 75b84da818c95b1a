// tests/fuzz/fuzz_sentences.cpp — libFuzzer target: review-sentence files (JSON and TSV) and
// the tokenizer applied to whatever text they yield.
#include <distillery/data/sentences.hpp>
#include <distillery/data/tokenizer.hpp>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace distillery;
  try {
    SentenceSet s;
    parse_sentences(data, size, "fuzz", s);
    std::vector<std::vector<std::string>> docs;
    for (const auto& t : s.texts) docs.push_back(tokenize(t));
    if (!docs.empty()) (void)Vocabulary::build(docs, 1).encode_batch(s.texts, 8);
  } catch (const Error&) {
  }
  (void)tokenize(std::string(reinterpret_cast<const char*>(data), size));
  return 0;
}
