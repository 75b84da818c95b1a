// tests/data/test_text_tasks.cpp — the mini-GLUE readers (Brown, fortunes, e-mail), the fixed
// splits, the tasks and pre-training text on a small generated data folder, and the WordPiece
// tokenizer.
#include <doctest/doctest.h>

#include <distillery/data/text_tasks.hpp>
#include <distillery/data/wordpiece.hpp>

#include <filesystem>
#include <set>

#include "../fixtures/test_support.hpp"

using namespace distillery;
using namespace test_support;

namespace {
using Strings = std::vector<std::string>;
const uint8_t* u8(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }
Strings brown(const std::string& s, std::vector<int64_t>* words = nullptr) {
  return parse_brown(u8(s), s.size(), "cx01", words);
}
Strings fortunes(const std::string& s) { return parse_fortunes(u8(s), s.size(), "love"); }
std::string email(const std::string& s, size_t max_bytes = 2000) {
  return email_text(u8(s), s.size(), "m.txt", max_bytes);
}
std::set<std::string> as_set(const Strings& v) { return {v.begin(), v.end()}; }
}  // namespace

TEST_CASE("brown: tags stripped, light detokenisation, word counts") {
  std::vector<int64_t> words;
  Strings s = brown(
      "\n\n\tThe/at jury/nn said/vbd ``/`` no/at evidence/nn ''/'' ,/, (/( 1-1/2/cd )/) ./.\n"
      "\n  It/pps urged/vbd //in the/at city/nn-tl ?/.  \r\n\t \n",
      &words);
  REQUIRE(s.size() == 2);
  CHECK(s[0] == "The jury said \"no evidence\", (1-1/2).");
  CHECK(s[1] == "It urged / the city?");
  CHECK(words == std::vector<int64_t>{6, 4});
  auto brown_err = [](const std::string& t) { return error_of([&] { brown(t); }); };
  CHECK(contains(brown_err("The/at jury said/vbd"), "brown: cx01: byte 7: token has no '/tag'"));
  CHECK(contains(brown_err("a/at /nn"), "byte 5: token has an empty word"));
  CHECK(contains(brown_err("a/at b/"), "byte 6: token has an empty tag"));
  CHECK(contains(brown_err(std::string("a/at b\0c/nn", 11)), "byte 6: control byte 0"));
  const std::string two = "ca01 news\ncb02  editorial\n\n";
  auto cats = parse_brown_categories(u8(two), two.size(), "cats.txt");
  REQUIRE(cats.size() == 2);
  CHECK(cats[1] == std::make_pair(std::string("cb02"), std::string("editorial")));
  const std::string three = "ca01 news\nca02 news extra\n";
  CHECK(contains(error_of([&] { parse_brown_categories(u8(three), three.size(), "cats.txt"); }),
                 "brown: cats.txt: byte 10: expected '<file> <genre>', got 3 fields"));
  const std::string path = "ca01 news\n../x news\n";
  CHECK(contains(error_of([&] { parse_brown_categories(u8(path), path.size(), "cats.txt"); }),
                 "byte 10: file name must be letters and digits"));
}

TEST_CASE("fortunes: '%' lines separate entries") {
  Strings f = fortunes(
      "First line\n  second line\n%\n%\n\n%DCL-MEM-BAD, bad memory\n%\r\nCaf\xC3\xA9 \x07!\n");
  REQUIRE(f.size() == 3);
  CHECK(f[0] == "First line\n  second line");
  CHECK(f[1] == "%DCL-MEM-BAD, bad memory");  // not a separator
  CHECK(f[2] == "Caf\xC3\xA9  !");              // BEL -> space
  CHECK(fortunes("").empty());
  CHECK(fortunes("%\n%\n").empty());
  CHECK(fortunes("no newline at end").size() == 1);
  CHECK(contains(error_of([] { fortunes(std::string("ab\n%\nc\0d", 8)); }),
                 "fortunes: love: byte 6: NUL byte"));
  CHECK(contains(error_of([] { fortunes("ok\n%\nbad \xC3(\n"); }),
                 "fortunes: love: byte 9: invalid UTF-8 byte 195"));
}

TEST_CASE("email: headers except Subject stripped, MIME decoded, HTML removed") {
  const std::string plain =
      "From someone@example.com  Thu Aug 22 13:17:22 2002\n"
      "Received: from localhost\n"
      "\tby mail.example.com\n"
      "Subject: =?iso-8859-1?Q?Caf=E9_offer?=\n"
      "  for you\n"
      "X-Spam-Status: No\n"
      "\n"
      "Hello   there,\n\nthis is the  body -------- end!!!!!!\n";
  CHECK(email(plain) == "Caf\xC3\xA9 offer for you. Hello there, this is the body --- end!!!");

  const std::string multi =
      "Subject: Deal!\r\n"
      "Content-Type: multipart/mixed; boundary=\"XX\"\r\n"
      "\r\n"
      "preamble is ignored\r\n"
      "--XX\r\n"
      "Content-Type: multipart/alternative;\r\n boundary=YY\r\n"
      "\r\n"
      "--YY\r\n"
      "Content-Type: text/html\r\n"
      "\r\n"
      "<p>html version</p>\r\n"
      "--YY\r\n"
      "Content-Type: text/plain; charset=utf-8\r\n"
      "Content-Transfer-Encoding: quoted-printable\r\n"
      "\r\n"
      "Plain =3D better, soft=\r\nbreak.\r\n"
      "--YY--\r\n"
      "--XX\r\n"
      "Content-Type: image/gif\r\n"
      "Content-Transfer-Encoding: base64\r\n"
      "\r\n"
      "R0lGODlhAQABAAAAACw=\r\n"
      "--XX\r\n"
      "Content-Type: text/html\r\n"
      "Content-Transfer-Encoding: base64\r\n"
      "\r\n"
      // base64 of: <html><style>p{}</style><!-- x --><b>Buy&nbsp;now</b> &amp; &#233;&lt;</html>
      "PGh0bWw+PHN0eWxlPnB7fTwvc3R5bGU+PCEtLSB4IC0tPjxiPkJ1eSZuYnNwO25vdzwvYj4gJmFtcDsgJiMy\r\n"
      "MzM7Jmx0OzwvaHRtbD4=\r\n"
      "--XX--\r\n";
  CHECK(email(multi) == "Deal! Plain = better, softbreak. Buy now & \xC3\xA9<");

  // no boundary: the body is read as text; Windows-1252 bytes become UTF-8
  CHECK(email("Content-Type: multipart/mixed\n\nHi \x93there\x94 \xE9t\xE9\n") ==
        "Hi \"there\" \xC3\xA9t\xC3\xA9");
  CHECK(email("Subject: only headers\n") == "only headers");
  CHECK(email("To: a@b\n\n").empty());
  // cut at a space, never beyond max_bytes
  std::string cut = email("Subject: x\n\nalpha beta gamma delta epsilon\n", 22);
  CHECK(cut == "x. alpha beta gamma");
  CHECK(contains(error_of([] { email("To: a@b\nnot a header line\n\nbody"); }),
                 "email: m.txt: byte 8: header line has no 'name:'"));
  CHECK(contains(error_of([] { email(" continued\nTo: a@b\n\nbody"); }),
                 "email: m.txt: byte 0: continuation line before any header"));
}

TEST_CASE("split_train_dev_test: fixed, disjoint, stratified 80/10/10") {
  std::vector<int64_t> strata;
  for (int i = 0; i < 200; ++i) strata.push_back(i < 150 ? 0 : 1 + i % 2);
  ThreeWaySplit s = split_train_dev_test(strata);
  CHECK(s.train.size() == 160);
  CHECK(s.dev.size() == 20);
  CHECK(s.test.size() == 20);
  std::vector<int64_t> all = s.train;
  all.insert(all.end(), s.dev.begin(), s.dev.end());
  all.insert(all.end(), s.test.begin(), s.test.end());
  std::sort(all.begin(), all.end());
  for (int64_t i = 0; i < 200; ++i) CHECK(all[static_cast<size_t>(i)] == i);
  int64_t dev0 = 0, test0 = 0;
  for (int64_t i : s.dev) dev0 += strata[static_cast<size_t>(i)] == 0;
  for (int64_t i : s.test) test0 += strata[static_cast<size_t>(i)] == 0;
  CHECK(dev0 == 15);
  CHECK(test0 == 15);
  ThreeWaySplit again = split_train_dev_test(strata);
  CHECK(again.dev == s.dev);
  CHECK(again.test == s.test);
  CHECK(contains(error_of([&] { split_train_dev_test(strata, 0.6, 0.5); }), "split_train_dev_test"));
  CHECK(dedupe_texts({"a", "b", "a", "c", "b", "a"}, {0, 1, 0, 0, 0, 0}) ==
        std::vector<int64_t>{0, 3});  // "b" has two labels: dropped; "a" kept once
  CHECK(evenly_spaced(10, 3) == std::vector<int64_t>{1, 5, 8});
  CHECK(evenly_spaced(2, 5) == std::vector<int64_t>{0, 1});
}

namespace {
// A data folder shaped like get-data.sh's, with generated text.
void make_data(const std::string& root) {
  namespace fs = std::filesystem;
  fs::create_directories(root + "/sentences");
  for (const char* src : {"imdb", "amazon", "yelp"}) {
    std::string j = "[";
    for (int i = 0; i < 40; ++i)
      j += "{\"text\":\"" + std::string(src) + " review number " + std::to_string(i) +
           (i % 2 ? " was great" : " was awful") + ".\",\"class\":" + std::to_string(i % 2) + "},";
    j += "{\"text\":\"duplicate sentence.\",\"class\":1},{\"text\":\"\",\"class\":null}]";
    write_text(root + "/sentences/" + src + ".json", j);
  }
  fs::create_directories(root + "/brown");
  std::string cats;
  const auto& genres = detail::brown_genres();
  for (size_t g = 0; g < genres.size(); ++g)
    for (int k = 0; k < 2; ++k) {
      std::string file = "c" + std::string(1, static_cast<char>('a' + g)) + "0" + std::to_string(k);
      cats += file + " " + genres[g] + "\n";
      std::string text;
      for (int s = 0; s < 30; ++s)
        text += "\n\n\tIn/in " + file + "/np sentence/nn " + std::to_string(s) +
                "/cd the/at " + genres[g] + "/nn speaks/vbz ./.\n";
      text += "\tShort/jj " + file + "/np ./.\n";  // < 5 words: not in genre, but pre-training text
      write_text(root + "/brown/" + file, text);
    }
  write_text(root + "/brown/cats.txt", cats);
  fs::create_directories(root + "/fortunes");
  for (const auto& f : detail::fortune_files()) {
    std::string text;
    for (int e = 0; e < 25; ++e) text += "A saying about " + f + " number " + std::to_string(e) + ".\n%\n";
    text += "Shared by every file.\n%\n";
    write_text(root + "/fortunes/" + f, text);
  }
  for (const char* folder : {"easy-ham-1", "easy-ham-2", "hard-ham-1", "spam-1", "spam-2"}) {
    fs::create_directories(root + "/spam/" + folder);
    for (int m = 0; m < 20; ++m) {
      std::string name = root + "/spam/" + folder + "/000" + std::to_string(10 + m) + ".abc.txt";
      write_text(name, "From: x@y\nSubject: " + std::string(folder) + " mail " + std::to_string(m) +
                           "\n\nBody of the message.\n");
    }
  }
}
}  // namespace

TEST_CASE("text tasks and pre-training text on a generated data folder") {
  TempDir tmp;
  const std::string root = tmp.file("data");
  make_data(root);
  for (const char* name : {"sent", "genre", "genre15", "topic", "spam"}) {
    CAPTURE(name);
    TextTask t = load_text_task(name, root);
    CHECK(t.name == name);
    REQUIRE(t.train_texts.size() == t.train_labels.size());
    REQUIRE(t.dev_texts.size() == t.dev_labels.size());
    REQUIRE(t.test_texts.size() == t.test_labels.size());
    CHECK(!t.dev_texts.empty());
    CHECK(!t.test_texts.empty());
    std::set<std::string> tr = as_set(t.train_texts), dv = as_set(t.dev_texts), te = as_set(t.test_texts);
    CHECK(tr.size() == t.train_texts.size());  // no duplicates
    for (const auto& s : dv) CHECK(!tr.count(s));
    for (const auto& s : te) CHECK((!tr.count(s) && !dv.count(s)));
    for (auto y : t.train_labels) CHECK((y >= 0 && y < t.num_labels()));
    TextTask again = load_text_task(name, root);
    CHECK(again.train_texts == t.train_texts);
    CHECK(again.test_labels == t.test_labels);
  }
  TextTask sent = load_text_task("sent", root);
  // 120 sentences + "duplicate sentence." once (its copies all have label 1)
  CHECK(sent.train_texts.size() + sent.dev_texts.size() + sent.test_texts.size() == 121);
  TextTask topic = load_text_task("topic", root);
  CHECK(topic.num_labels() == 14);
  // "Shared by every file." has 14 labels: dropped; 25 per topic remain
  CHECK(topic.train_texts.size() + topic.dev_texts.size() + topic.test_texts.size() == 14 * 25);
  TextTask genre = load_text_task("genre", root);
  CHECK(genre.label_names == Strings{"press", "learned", "popular", "essays", "fiction"});
  for (const auto& s : genre.train_texts) CHECK(s.find("Short") == std::string::npos);
  TextTask spam = load_text_task("spam", root);
  CHECK(spam.train_texts.size() + spam.dev_texts.size() + spam.test_texts.size() == 100);
  CHECK(spam.train_texts[0] == "easy-ham-1 mail 0. Body of the message.");
  CHECK(contains(error_of([&] { load_text_task("glue", root); }), "unknown task 'glue'"));

  Strings lm = load_pretraining_text(root);
  std::set<std::string> lm_set = as_set(lm);
  CHECK(lm_set.count("Short ca00."));  // short Brown sentences of train files are pre-training text
  CHECK(lm_set.count("Shared by every file."));
  CHECK(std::count(lm.begin(), lm.end(), "Shared by every file.") == 1);
  for (const char* name : {"sent", "genre", "genre15", "topic"}) {
    TextTask t = load_text_task(name, root);
    for (const auto& s : t.dev_texts) CHECK(!lm_set.count(s));
    for (const auto& s : t.test_texts) CHECK(!lm_set.count(s));
    int64_t train_in_lm = 0;
    for (const auto& s : t.train_texts) train_in_lm += lm_set.count(s);
    CHECK(train_in_lm == static_cast<int64_t>(t.train_texts.size()));
  }
  // Brown files of genre's dev/test split contribute nothing, not even short sentences
  detail::BrownData b = detail::load_brown(root);
  for (size_t i = 0; i < b.sentences.size(); ++i)
    if (b.file_split[static_cast<size_t>(b.sentence_file[i])] != 0) CHECK(!lm_set.count(b.sentences[i]));
  CHECK(contains(error_of([&] { load_text_task("spam", tmp.file("nowhere")); }), "cannot open"));
}

TEST_CASE("wordpiece: basic tokenizer") {
  CHECK(basic_tokenize("Don't PANIC!  \xE2\x80\x9C" "Caf\xC3\x89\xE2\x80\x9D\t--x") ==
        Strings{"don", "'", "t", "panic", "!", "\"", "caf\xC3\xA9", "\"", "-", "-", "x"});
  CHECK(basic_tokenize("a\x01" "b \xFF c[MASK]") == Strings{"ab", "c", "[", "mask", "]"});
  CHECK(basic_tokenize("").empty());
}

TEST_CASE("wordpiece: train, encode, decode, specials, truncation, save/load") {
  Strings corpus;
  for (int i = 0; i < 30; ++i) {
    corpus.push_back("The lower tower is the lowest of the towers, lower than the newest tower.");
    corpus.push_back("Newer, wider, slower: the walker walked and talked " + std::to_string(i % 7) + ".");
    if (i < 2) corpus.push_back("Wear a [mask].");
  }
  // 1000 is more than the corpus allows: merging stops when no pair occurs twice, by then every
  // word seen at least twice is one piece
  WordPieceTokenizer tok = WordPieceTokenizer::train(corpus, 1000);
  CHECK(tok.vocab_size() < 1000);
  CHECK(tok.token(0) == "[PAD]");
  CHECK(tok.token(1) == "[UNK]");
  CHECK(tok.token(2) == "[CLS]");
  CHECK(tok.token(3) == "[SEP]");
  CHECK(tok.token(4) == "[MASK]");
  for (const auto& text : corpus)
    for (const auto& w : basic_tokenize(text)) CHECK(tok.encode(w).size() == 1);
  CHECK(WordPieceTokenizer::train(corpus, 60).vocab_size() == 60);
  std::vector<int64_t> ids = tok.encode("The towers, walked.");
  CHECK(ids == std::vector<int64_t>{tok.id("the"), tok.id("towers"), tok.id(","), tok.id("walked"), tok.id(".")});
  for (int64_t id : ids) CHECK(id >= 5);
  CHECK(tok.decode(ids) == "the towers , walked .");
  // unseen words: longest pieces from the left
  CHECK(tok.encode("towered walkers") ==
        std::vector<int64_t>{tok.id("tower"), tok.id("##ed"), tok.id("walker"), tok.id("##s")});
  CHECK(tok.decode(tok.encode("Tower, walkers talk slower")) == "tower , walkers talk slower");
  // unknown character -> the whole word is [UNK]
  CHECK(tok.encode("tower zzq") == std::vector<int64_t>{tok.id("tower"), WordPieceTokenizer::kUnk});
  std::vector<int64_t> mask = tok.encode("[MASK]");  // text never yields special ids
  CHECK(mask.size() == 3);
  for (int64_t id : mask) CHECK(id >= 5);
  CHECK(tok.decode(mask) == "[ mask ]");
  CHECK(tok.encode(std::string(101, 'a')) == std::vector<int64_t>{WordPieceTokenizer::kUnk});

  EncodeStats st;
  Tensor<int64_t> batch = tok.encode_batch({"the tower", "", "the lower tower is the lowest"}, 5, &st);
  CHECK(batch.shape() == Shape{3, 5});
  std::vector<int64_t> b = batch.to_vector();
  const int64_t the = tok.id("the"), tower = tok.id("tower");
  CHECK(std::vector<int64_t>(b.begin(), b.begin() + 5) == std::vector<int64_t>{2, the, tower, 3, 0});
  CHECK(std::vector<int64_t>(b.begin() + 5, b.begin() + 10) == std::vector<int64_t>{2, 3, 0, 0, 0});
  CHECK(std::vector<int64_t>(b.begin() + 10, b.end()) ==
        std::vector<int64_t>{2, the, tok.id("lower"), tower, 3});
  CHECK(st.truncated == 1);
  CHECK(st.lengths == std::vector<int64_t>{4, 2, 2 + static_cast<int64_t>(tok.encode("the lower tower is the lowest").size())});
  CHECK(contains(error_of([&] { tok.encode_batch({"x"}, 1); }), "max_len must be >= 2"));
  CHECK(tok.decode({2, the, 3, 0, 0}) == "[CLS] the [SEP]");

  // deterministic: same corpus in another order -> the same vocabulary
  Strings reversed(corpus.rbegin(), corpus.rend());
  WordPieceTokenizer tok2 = WordPieceTokenizer::train(reversed, 1000);
  CHECK(tok2.vocab_size() == tok.vocab_size());
  for (int64_t i = 0; i < tok.vocab_size(); ++i) CHECK(tok2.token(i) == tok.token(i));
  // small corpora stop when no pair occurs twice
  WordPieceTokenizer tiny = WordPieceTokenizer::train({"ab ab"}, 1000);
  CHECK(tiny.vocab_size() == 5 + 2 + 1);  // a, ##b, ab
  CHECK(contains(error_of([&] { WordPieceTokenizer::train(corpus, 5); }), "vocab_size must be > 5"));

  TempDir tmp;
  tok.save(tmp.file("vocab.txt"));
  WordPieceTokenizer loaded = WordPieceTokenizer::load(tmp.file("vocab.txt"));
  CHECK(loaded.vocab_size() == tok.vocab_size());
  for (int64_t i = 0; i < tok.vocab_size(); ++i) CHECK(loaded.token(i) == tok.token(i));
  CHECK(loaded.encode("The lowest walker talked.") == tok.encode("The lowest walker talked."));
  auto load_err = [&](const std::string& text) {
    write_text(tmp.file("bad.txt"), text);
    return error_of([&] { WordPieceTokenizer::load(tmp.file("bad.txt")); });
  };
  const std::string head = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";
  CHECK(load_err(head + "a\n##b") == "<no error>");  // valid; the last line may lack '\n'
  CHECK(contains(load_err(head + "a\n\nb\n"), "wordpiece: " + tmp.file("bad.txt") + ": byte 33: line 7: empty token"));
  CHECK(contains(load_err(head + "a\na\n"), "byte 33: line 7: duplicate token 'a'"));
  CHECK(contains(load_err(head + "a b\n"), "byte 32: line 6: white space"));
  CHECK(contains(load_err(head + "a\r\n"), "line 6: white space or control byte 13"));
  CHECK(contains(load_err(head + "\xC3\n"), "line 6: invalid UTF-8"));
  CHECK(contains(load_err(head + "##\n"), "line 6: continuation marker"));
  CHECK(contains(load_err("[PAD]\n[CLS]\n"), "byte 6: line 2: expected the special token [UNK]"));
  CHECK(contains(load_err("[PAD]\n[UNK]\n"), "only 2 tokens"));
}
