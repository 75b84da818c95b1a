// tests/fuzz/fuzz_text_tasks.cpp — libFuzzer target: the mini-GLUE readers (Brown files and
// cats.txt, fortune files, e-mails) and the WordPiece vocab reader and tokenizer. The first
// byte picks the parser; the rest is its input.
#include <distillery/data/readers/email.hpp>
#include <distillery/data/text_corpora.hpp>
#include <distillery/data/wordpiece.hpp>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace distillery;
  if (size == 0) return 0;
  const uint8_t which = data[0] % 6;
  ++data;
  --size;
  try {
    switch (which) {
      case 0: {
        std::vector<int64_t> words;
        std::vector<std::string> s = parse_brown(data, size, "fuzz", &words);
        if (s.size() != words.size()) __builtin_trap();
        break;
      }
      case 1:
        (void)parse_brown_categories(data, size, "fuzz");
        break;
      case 2:
        for (const auto& e : parse_fortunes(data, size, "fuzz")) (void)normalize_space(e);
        break;
      case 3: {
        std::string t = email_text(data, size, "fuzz", 300);
        if (t.size() > 300) __builtin_trap();
        break;
      }
      case 4: {
        WordPieceTokenizer tok = WordPieceTokenizer::parse(data, size, "fuzz");
        std::string text(reinterpret_cast<const char*>(data), size);
        std::vector<int64_t> ids = tok.encode(text);
        for (int64_t id : ids)
          if (id < 0 || id >= tok.vocab_size() || (id != WordPieceTokenizer::kUnk && id < 5)) __builtin_trap();
        (void)tok.decode(ids);
        (void)tok.encode_batch({text}, 8);
        break;
      }
      default: {
        std::string text(reinterpret_cast<const char*>(data), size);
        WordPieceTokenizer tok = WordPieceTokenizer::train({text, text}, 64);
        std::vector<int64_t> ids = tok.encode(text);
        (void)tok.decode(ids);
        break;
      }
    }
  } catch (const Error&) {
  }
  return 0;
}
