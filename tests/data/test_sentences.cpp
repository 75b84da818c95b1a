// tests/data/test_sentences.cpp — review sentence files (JSON and TSV), the split, the
// tokenizer and the vocabulary.
#include <doctest/doctest.h>

#include <distillery/data/sentences.hpp>
#include <distillery/data/tokenizer.hpp>
#include <distillery/distillery.hpp>

#include "../fixtures/test_support.hpp"

using namespace distillery;
using namespace test_support;

namespace {
SentenceSet parse_text(const std::string& text, const std::string& name = "s.json") {
  SentenceSet s;
  parse_sentences(reinterpret_cast<const uint8_t*>(text.data()), text.size(), name, s);
  return s;
}
using Tokens = std::vector<std::string>;
}  // namespace

TEST_CASE("sentences: the npm sentiment JSON layout, placeholder skipped") {
  SentenceSet s = parse_text(
      "[{\"text\":\"Great phone.  \",\"class\":1},{\"text\":\"Caf\\u00e9 was "
      "\\\"bad\\\"\",\"class\":0},"
      "{\"text\":\"\",\"class\":null}]");
  REQUIRE(s.size() == 2);
  CHECK(s.texts[0] == "Great phone.  ");
  CHECK(s.texts[1] == "Caf\xC3\xA9 was \"bad\"");
  CHECK(s.labels == std::vector<int64_t>{1, 0});
  CHECK(s.sources == std::vector<int64_t>{0, 0});
  CHECK(s.source_names == std::vector<std::string>{"s.json"});
}

TEST_CASE("sentences: the UCI tab-separated layout") {
  SentenceSet s = parse_text(
      "So there is no way.\t0\r\nGood case, excellent value.\t1\n\nGreat\tjob\t1", "a.txt");
  REQUIRE(s.size() == 3);
  CHECK(s.texts[2] == "Great\tjob");
  CHECK(s.labels == std::vector<int64_t>{0, 1, 1});
  CHECK(contains(error_of([] { parse_text("no label here\n", "a.txt"); }),
                 "a.txt: byte 0: line has no tab"));
  CHECK(contains(error_of([] { parse_text("ok\t1\nbad\t2\n", "a.txt"); }),
                 "a.txt: byte 9: label must be 0 or 1"));
}

TEST_CASE("sentences: malformed JSON names the file and offset") {
  auto err = [](const std::string& t) { return error_of([&] { parse_text(t, "r.json"); }); };
  CHECK(contains(err("[{\"text\":\"a\",\"class\":2}]"), "r.json: byte 21: class must be 0 or 1"));
  CHECK(contains(err("[{\"text\":\"a\"}]"), "needs both"));
  CHECK(contains(err("[{\"text\":\"a\",\"class\":null}]"), "class null"));
  CHECK(contains(err("[{\"text\":\"a\",\"class\":1,\"x\":1}]"), "unexpected or duplicate key 'x'"));
  CHECK(contains(err("[{\"text\":\"a\",\"class\":1}"), "r.json: byte 23: expected ']'"));
  CHECK(contains(err("[{\"text\":\"a\",\"class\":1},]"), "r.json: byte 24: expected an object"));
}

TEST_CASE("tokenize: lowercase, split on punctuation, apostrophes inside words") {
  CHECK(tokenize("A very, very slow-moving 'art' movie. Don't!") ==
        Tokens{"a", "very", "very", "slow", "moving", "art", "movie", "don't"});
  CHECK(tokenize("It's 10/10 -- rock'n'roll'") == Tokens{"it's", "10", "10", "rock'n'roll"});
  CHECK(tokenize("  ") == Tokens{});
  CHECK(tokenize("''hi''") == Tokens{"hi"});
  CHECK(tokenize("Caf\xC3\xA9 isn\xE2\x80\x99t \xE2\x80\x9Cgood\xE2\x80\x9D\xC2\x96ok") ==
        Tokens{"caf\xC3\xA9", "isn't", "good", "ok"});
}

TEST_CASE("vocabulary: ids, min count, order, padding and truncation") {
  std::vector<Tokens> docs = {{"good", "movie"}, {"bad", "movie"}, {"good", "good", "plot"}};
  Vocabulary v = Vocabulary::build(docs, 1);
  CHECK(v.size() == 6);
  CHECK(v.token(0) == "<pad>");
  CHECK(v.token(1) == "<unk>");
  CHECK(v.token(2) == "good");   // 3 times
  CHECK(v.token(3) == "movie");  // 2 times
  CHECK(v.token(4) == "bad");    // ties in byte order
  CHECK(v.token(5) == "plot");
  CHECK(v.id("unseen") == Vocabulary::kUnk);
  Vocabulary v2 = Vocabulary::build(docs, 2);
  CHECK(v2.size() == 4);
  CHECK(Vocabulary::build(docs, 1, 3).size() == 3);
  CHECK(v.encode({"good", "zzz"}, 4) == std::vector<int64_t>{2, 1, 0, 0});
  CHECK(v.encode({"good", "bad", "plot"}, 2) == std::vector<int64_t>{2, 4});
  Tensor<int64_t> ids = v.encode_batch({"Good movie!", "BAD plot, bad."}, 3);
  CHECK(ids.shape() == Shape{2, 3});
  CHECK(ids.to_vector() == std::vector<int64_t>{2, 3, 0, 4, 5, 4});
}

TEST_CASE("sentences: the real imdb/amazon/yelp files and their split") {
  const std::string dir = data_dir() + "/sentences";
  if (!exists(dir + "/yelp.json")) {
    MESSAGE("skipped: no " << dir << " (run scripts/get-data.sh)");
    return;
  }
  SentenceSet all = load_review_sentences(dir);
  CHECK(all.size() == 3000);
  CHECK(class_counts(all.label_tensor(), 2) == std::vector<int64_t>{1500, 1500});
  CHECK(all.texts[0].rfind("A very, very, very slow-moving, aimless movie", 0) == 0);
  SentenceSplit s = split_sentences(all);
  CHECK(s.train.size() == 2400);
  CHECK(s.heldout.size() == 600);
  for (int64_t src = 0; src < 3; ++src)
    for (int64_t label = 0; label < 2; ++label) {
      int64_t k = 0;
      for (int64_t i = 0; i < s.heldout.size(); ++i)
        k += s.heldout.sources[i] == src && s.heldout.labels[i] == label;
      CHECK(k == 100);
    }
  std::vector<Tokens> docs;
  for (const auto& t : s.train.texts) docs.push_back(tokenize(t));
  Vocabulary v = Vocabulary::build(docs, 2);
  CHECK(v.size() > 1000);
  CHECK(v.size() < 5000);
  Tensor<int64_t> ids = v.encode_batch(s.heldout.texts, 50);
  CHECK(ids.shape() == Shape{600, 50});
}
