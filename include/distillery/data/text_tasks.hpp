// data/text_tasks.hpp — "mini-GLUE": four English text-classification tasks with fixed splits,
// and the pre-training text, all built from the corpora scripts/get-data.sh puts in data/.
//
//   TextTask t = load_text_task("genre", "data");   // t.train_texts[i] has label t.train_labels[i]
//   std::vector<std::string> lm = load_pretraining_text("data");
//
// Every text is white-space normalised (runs -> one space, trimmed). Splits are fixed by
// `split_train_dev_test` (80/10/10, the stratified rule of data/dataset.hpp applied twice, no
// random numbers), so every run and machine sees the same examples. Before splitting, each task
// drops duplicate texts: the first copy is kept, and a text that occurs with two labels is dropped
// altogether; so no text is in two splits.
//
//   sent    the 3,000 review sentences (data/sentences, see data/sentences.hpp), binary
//           {negative, positive}; strata (source, label). 18 duplicate texts -> 2,982.
//   genre   Brown sentences (data/brown) with 5 coarse genre groups, chance 20%:
//             press   = news, editorial, reviews      learned = learned, government
//             popular = hobbies, lore                 essays  = belles_lettres, religion
//             fiction = fiction, mystery, science_fiction, adventure, romance, humor
//           Split by *file*, not by sentence (sentences of one text share names and topics):
//           the 500 files are split 80/10/10 stratified by their 15 genres. Sentences with fewer
//           than 5 words (tokens with a letter or digit) are dropped; then each group keeps at
//           most 1,600 train and 200 dev / 200 test sentences, evenly spaced through the group in
//           file order (so <= 8,000 / 1,000 / 1,000, balanced).
//   genre15 the same files, split and sentence filter with the 15 Brown genres as labels, at most
//           533 train and 66 dev / 66 test sentences per genre (science_fiction has 6 files, so
//           it may be missing from dev or test: report macro-F1 over the classes present).
//   topic   English fortunes (data/fortunes) of 14 topic files with >= 198 entries that are about
//           one subject: art computers drugs education food law linux literature men-women
//           politics science songs-poems startrek work (not the grab-bag files such as cookie,
//           definitions, fortunes, people, platitudes, wisdom, zippy). At most 300 entries per
//           topic, evenly spaced through the file; split stratified by topic.
//   spam    SpamAssassin e-mails (data/spam): easy-ham-1, easy-ham-2, hard-ham-1 -> ham (0),
//           spam-1, spam-2 -> spam (1); text = `email_text` (data/readers/email.hpp: headers
//           except Subject dropped, MIME decoded, HTML stripped, cut to 2,000 bytes); strata =
//           folder. E-mails whose text is empty are dropped.
//
// Pre-training text (`load_pretraining_text`), in this order: the Brown sentences (all, no length
// filter) of the files in genre's *train* split; the entries of every English fortune file except
// ascii-art, de-duplicated; the review sentences. Any text equal to a dev or test text of sent,
// topic or genre is left out, and so are all sentences of Brown's dev/test files; so pre-training
// sees task *training* text (sentences, fortunes, reviews) but no dev/test text. The SpamAssassin
// e-mails are not pre-training text.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "dataset.hpp"
#include "sentences.hpp"
#include "readers/email.hpp"
#include "text_corpora.hpp"

namespace distillery {

struct TextTask {  // one mini-GLUE task with a fixed, documented split
  std::string name;  // "sent", "genre", "genre15", "topic", "spam"
  std::vector<std::string> label_names;
  std::vector<std::string> train_texts, dev_texts, test_texts;
  std::vector<int64_t> train_labels, dev_labels, test_labels;
  int64_t num_labels() const { return static_cast<int64_t>(label_names.size()); }
};

inline std::vector<std::string> text_task_names() { return {"sent", "genre", "topic", "spam"}; }

struct ThreeWaySplit {
  std::vector<int64_t> train, dev, test;  // indices, ascending
};

// Holds out round((dev + test) * N) examples with `stratified_split`, then splits those (same
// strata, in order) so that round(test / (dev + test) * held) go to test and the rest to dev.
inline ThreeWaySplit split_train_dev_test(const std::vector<int64_t>& strata,
                                          double dev_fraction = 0.1, double test_fraction = 0.1) {
  check(dev_fraction >= 0 && test_fraction >= 0 && dev_fraction + test_fraction <= 1,
        "split_train_dev_test", "need dev, test >= 0 and dev + test <= 1, got ", dev_fraction,
        " and ", test_fraction);
  const double held_fraction = dev_fraction + test_fraction;
  const auto h = static_cast<int64_t>(held_fraction * static_cast<double>(strata.size()) + 0.5);
  Split first = stratified_split(strata, h);
  std::vector<int64_t> held_strata;
  for (int64_t i : first.heldout) held_strata.push_back(strata[static_cast<size_t>(i)]);
  const auto t = held_fraction > 0
                     ? static_cast<int64_t>(test_fraction / held_fraction * static_cast<double>(h) + 0.5)
                     : 0;
  Split second = stratified_split(held_strata, t);
  ThreeWaySplit s;
  s.train = first.train;
  for (int64_t i : second.train) s.dev.push_back(first.heldout[static_cast<size_t>(i)]);
  for (int64_t i : second.heldout) s.test.push_back(first.heldout[static_cast<size_t>(i)]);
  return s;
}

// Indices to keep: the first copy of each text, none of a text seen with two different labels.
inline std::vector<int64_t> dedupe_texts(const std::vector<std::string>& texts,
                                         const std::vector<int64_t>& labels) {
  std::unordered_map<std::string, std::pair<int64_t, bool>> seen;  // text -> (label, conflict)
  for (size_t i = 0; i < texts.size(); ++i) {
    auto it = seen.emplace(texts[i], std::make_pair(labels[i], false)).first;
    if (it->second.first != labels[i]) it->second.second = true;
  }
  std::vector<int64_t> keep;
  std::unordered_set<std::string> taken;
  for (size_t i = 0; i < texts.size(); ++i)
    if (!seen[texts[i]].second && taken.insert(texts[i]).second) keep.push_back(static_cast<int64_t>(i));
  return keep;
}

// k positions evenly spaced in [0, n): floor((2j + 1) n / (2k)), j < k (all of them if k >= n).
inline std::vector<int64_t> evenly_spaced(int64_t n, int64_t k) {
  std::vector<int64_t> out;
  if (k >= n) {
    for (int64_t i = 0; i < n; ++i) out.push_back(i);
  } else {
    for (int64_t j = 0; j < k; ++j) out.push_back((2 * j + 1) * n / (2 * k));
  }
  return out;
}

namespace detail {
inline void fill_split(TextTask& t, const std::vector<std::string>& texts,
                       const std::vector<int64_t>& labels, const ThreeWaySplit& s) {
  for (int64_t i : s.train) t.train_texts.push_back(texts[i]), t.train_labels.push_back(labels[i]);
  for (int64_t i : s.dev) t.dev_texts.push_back(texts[i]), t.dev_labels.push_back(labels[i]);
  for (int64_t i : s.test) t.test_texts.push_back(texts[i]), t.test_labels.push_back(labels[i]);
}

inline TextTask sent_task(const std::string& data_dir) {
  SentenceSet all = load_review_sentences(data_dir + "/sentences");
  std::vector<std::string> texts;
  for (const auto& s : all.texts) texts.push_back(normalize_space(s));
  std::vector<int64_t> keep = dedupe_texts(texts, all.labels);
  std::vector<std::string> kt;
  std::vector<int64_t> kl, strata;
  for (int64_t i : keep) {
    kt.push_back(texts[i]);
    kl.push_back(all.labels[i]);
    strata.push_back(all.sources[i] * 2 + all.labels[i]);
  }
  TextTask t;
  t.name = "sent";
  t.label_names = {"negative", "positive"};
  fill_split(t, kt, kl, split_train_dev_test(strata));
  return t;
}

inline const std::vector<std::string>& brown_genres() {
  static const std::vector<std::string> g = {
      "news",    "editorial", "reviews",        "religion",  "hobbies",   "lore",    "belles_lettres", "government",
      "learned", "fiction",   "mystery",        "science_fiction", "adventure", "romance", "humor"};
  return g;
}
inline const std::vector<std::string>& genre_groups() {
  static const std::vector<std::string> g = {"press", "learned", "popular", "essays", "fiction"};
  return g;
}
inline int64_t genre_group(int64_t genre15) {  // index into brown_genres() -> genre_groups()
  static const int64_t map[15] = {0, 0, 0, 3, 2, 2, 3, 1, 1, 4, 4, 4, 4, 4, 4};
  return map[genre15];
}

struct BrownData {
  std::vector<std::string> files;
  std::vector<int64_t> file_genre;  // index into brown_genres()
  std::vector<int> file_split;      // 0 train, 1 dev, 2 test
  // every sentence, in file order
  std::vector<std::string> sentences;
  std::vector<int64_t> sentence_file, sentence_words;
};

inline BrownData load_brown(const std::string& data_dir) {
  const std::string dir = data_dir + "/brown";
  Bytes cats = read_file_bytes(dir + "/cats.txt", "brown");
  BrownData b;
  for (const auto& fc : parse_brown_categories(cats.data(), cats.size(), dir + "/cats.txt")) {
    int64_t g = -1;
    for (size_t k = 0; k < brown_genres().size(); ++k)
      if (brown_genres()[k] == fc.second) g = static_cast<int64_t>(k);
    if (g < 0) fail("brown", dir, "/cats.txt: unknown genre '", fc.second, "' for ", fc.first);
    b.files.push_back(fc.first);
    b.file_genre.push_back(g);
  }
  check(!b.files.empty(), "brown", dir, "/cats.txt lists no files");
  ThreeWaySplit fs = split_train_dev_test(b.file_genre);
  b.file_split.assign(b.files.size(), 0);
  for (int64_t i : fs.dev) b.file_split[static_cast<size_t>(i)] = 1;
  for (int64_t i : fs.test) b.file_split[static_cast<size_t>(i)] = 2;
  for (size_t f = 0; f < b.files.size(); ++f) {
    std::vector<int64_t> words;
    for (auto& s : load_brown_file(dir + "/" + b.files[f], &words)) {
      b.sentences.push_back(normalize_space(s));
      b.sentence_file.push_back(static_cast<int64_t>(f));
    }
    b.sentence_words.insert(b.sentence_words.end(), words.begin(), words.end());
  }
  return b;
}

inline TextTask genre_task(const std::string& data_dir, bool fine) {
  BrownData b = load_brown(data_dir);
  constexpr int64_t kMinWords = 5;
  std::vector<int64_t> pool;  // sentences long enough
  for (size_t i = 0; i < b.sentences.size(); ++i)
    if (b.sentence_words[i] >= kMinWords) pool.push_back(static_cast<int64_t>(i));
  // duplicates across files are dropped (the file acts as the label), within a file the first kept
  std::vector<std::string> pt;
  std::vector<int64_t> pf;
  for (int64_t i : pool) pt.push_back(b.sentences[i]), pf.push_back(b.sentence_file[i]);
  std::vector<int64_t> keep;
  for (int64_t k : dedupe_texts(pt, pf)) keep.push_back(pool[static_cast<size_t>(k)]);

  TextTask t;
  t.name = fine ? "genre15" : "genre";
  t.label_names = fine ? brown_genres() : genre_groups();
  const int64_t classes = t.num_labels();
  const int64_t train_cap = fine ? 533 : 1600, eval_cap = fine ? 66 : 200;
  // members[split][label] = sentence indices in file order
  std::vector<std::vector<std::vector<int64_t>>> members(3, std::vector<std::vector<int64_t>>(classes));
  for (int64_t i : keep) {
    const int64_t f = b.sentence_file[i], g = b.file_genre[f];
    members[b.file_split[f]][fine ? g : genre_group(g)].push_back(i);
  }
  for (int split = 0; split < 3; ++split) {
    std::vector<std::pair<int64_t, int64_t>> chosen;  // (sentence, label), kept in file order
    for (int64_t c = 0; c < classes; ++c) {
      const auto& m = members[split][c];
      for (int64_t p : evenly_spaced(static_cast<int64_t>(m.size()), split == 0 ? train_cap : eval_cap))
        chosen.emplace_back(m[p], c);
    }
    std::sort(chosen.begin(), chosen.end());
    auto& texts = split == 0 ? t.train_texts : split == 1 ? t.dev_texts : t.test_texts;
    auto& labels = split == 0 ? t.train_labels : split == 1 ? t.dev_labels : t.test_labels;
    for (const auto& cl : chosen) texts.push_back(b.sentences[cl.first]), labels.push_back(cl.second);
  }
  return t;
}

inline const std::vector<std::string>& topic_files() {
  static const std::vector<std::string> f = {"art",      "computers",  "drugs",   "education", "food",
                                             "law",      "linux",      "literature", "men-women", "politics",
                                             "science",  "songs-poems", "startrek", "work"};
  return f;
}
inline const std::vector<std::string>& fortune_files() {  // every English topic file
  static const std::vector<std::string> f = {
      "art",       "ascii-art", "computers",   "cookie",    "debian",     "definitions", "disclaimer", "drugs",
      "education", "ethnic",    "food",        "fortunes",  "goedel",     "humorists",   "kids",       "knghtbrd",
      "law",       "linux",     "linuxcookie", "literature", "love",      "magic",       "medicine",   "men-women",
      "miscellaneous", "news",  "paradoxum",   "people",    "perl",       "pets",        "platitudes", "politics",
      "pratchett", "riddles",   "science",     "songs-poems", "sports",   "startrek",    "tao",        "translate-me",
      "wisdom",    "work",      "zippy"};
  return f;
}

inline TextTask topic_task(const std::string& data_dir) {
  constexpr int64_t kCap = 300;
  std::vector<std::string> texts;
  std::vector<int64_t> labels;
  for (size_t c = 0; c < topic_files().size(); ++c)
    for (auto& e : load_fortune_file(data_dir + "/fortunes/" + topic_files()[c])) {
      texts.push_back(normalize_space(e));
      labels.push_back(static_cast<int64_t>(c));
    }
  std::vector<std::vector<int64_t>> by_class(topic_files().size());
  for (int64_t i : dedupe_texts(texts, labels)) by_class[static_cast<size_t>(labels[i])].push_back(i);
  std::vector<std::string> kt;
  std::vector<int64_t> kl;
  for (const auto& m : by_class)
    for (int64_t p : evenly_spaced(static_cast<int64_t>(m.size()), kCap))
      kt.push_back(texts[m[p]]), kl.push_back(labels[m[p]]);
  TextTask t;
  t.name = "topic";
  t.label_names = topic_files();
  fill_split(t, kt, kl, split_train_dev_test(kl));
  return t;
}

inline TextTask spam_task(const std::string& data_dir) {
  const std::vector<std::string> folders = {"easy-ham-1", "easy-ham-2", "hard-ham-1", "spam-1", "spam-2"};
  std::vector<std::string> texts;
  std::vector<int64_t> labels, folder_of;
  for (size_t f = 0; f < folders.size(); ++f) {
    const std::string dir = data_dir + "/spam/" + folders[f];
    for (const auto& name : list_files(dir, ".txt")) {
      std::string text = load_email_text(dir + "/" + name);
      if (text.empty()) continue;
      texts.push_back(std::move(text));
      labels.push_back(f >= 3 ? 1 : 0);
      folder_of.push_back(static_cast<int64_t>(f));
    }
  }
  std::vector<std::string> kt;
  std::vector<int64_t> kl, strata;
  for (int64_t i : dedupe_texts(texts, labels))
    kt.push_back(texts[i]), kl.push_back(labels[i]), strata.push_back(folder_of[i]);
  TextTask t;
  t.name = "spam";
  t.label_names = {"ham", "spam"};
  fill_split(t, kt, kl, split_train_dev_test(strata));
  return t;
}
}  // namespace detail

// name: "sent", "genre", "genre15", "topic" or "spam"; data_dir: the folder get-data.sh filled.
inline TextTask load_text_task(const std::string& name, const std::string& data_dir) {
  if (name == "sent") return detail::sent_task(data_dir);
  if (name == "genre") return detail::genre_task(data_dir, false);
  if (name == "genre15") return detail::genre_task(data_dir, true);
  if (name == "topic") return detail::topic_task(data_dir);
  if (name == "spam") return detail::spam_task(data_dir);
  fail("load_text_task", "unknown task '", name, "' (expected sent, genre, genre15, topic or spam)");
}

// Brown (train files), English fortunes, review sentences; no dev/test text (see the top).
inline std::vector<std::string> load_pretraining_text(const std::string& data_dir) {
  std::unordered_set<std::string> held;
  for (const char* name : {"sent", "topic"}) {  // genre's dev/test sentences: in dev/test files
    TextTask t = load_text_task(name, data_dir);
    held.insert(t.dev_texts.begin(), t.dev_texts.end());
    held.insert(t.test_texts.begin(), t.test_texts.end());
  }
  std::vector<std::string> out;
  detail::BrownData b = detail::load_brown(data_dir);
  for (size_t i = 0; i < b.sentences.size(); ++i)
    if (b.file_split[static_cast<size_t>(b.sentence_file[i])] == 0 && !held.count(b.sentences[i]))
      out.push_back(b.sentences[i]);
  std::unordered_set<std::string> seen;
  for (const auto& f : detail::fortune_files()) {
    if (f == "ascii-art") continue;
    for (const auto& e : load_fortune_file(data_dir + "/fortunes/" + f)) {
      std::string s = normalize_space(e);
      if (!held.count(s) && seen.insert(s).second) out.push_back(std::move(s));
    }
  }
  for (const auto& s : load_review_sentences(data_dir + "/sentences").texts) {
    std::string n = normalize_space(s);
    if (!n.empty() && !held.count(n)) out.push_back(std::move(n));
  }
  return out;
}

}  // namespace distillery
