// data/token_batches.hpp — token-id sequences for the mini-BERT pipeline
// (methods/bert_distill.hpp): the set, padded batches, the seeded (optionally length-bucketed)
// epoch order, and BERT's masked-LM masking.
//
//   TokenSet                     sequences [CLS] … [SEP] (no padding) + labels
//   pad_batch(set, idx)          [B, Tmax] ids padded with [PAD] = 0
//   epoch_order / epoch_batches  the shuffled order of epoch e, a function of (seed, e) only
//   lengths_of / length_order    lengths; indices sorted by length (stable)
//   mask_tokens(ids, V, gen)     BERT masking: 15% of the real tokens; of those 80% [MASK], 10% a
//                                random token, 10% unchanged; at least one per batch
#pragma once
#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

#include "../core/error.hpp"
#include "../core/rng.hpp"
#include "../core/tensor.hpp"

namespace distillery::data {
struct TokenSet {
  std::vector<std::vector<int64_t>> ids;  // each starts with [CLS] = 2 and ends with [SEP] = 3
  std::vector<int64_t> labels;            // empty for the pre-training corpus
  int64_t size() const { return static_cast<int64_t>(ids.size()); }
  int64_t tokens() const {
    int64_t n = 0;
    for (const auto& s : ids) n += static_cast<int64_t>(s.size());
    return n;
  }
};

constexpr int64_t kPadId = 0, kUnkId = 1, kClsId = 2, kSepId = 3, kMaskId = 4, kNumSpecial = 5;

// Rows `index` of the set, padded with [PAD] to the longest: [B, Tmax].
inline Tensor<int64_t> pad_batch(const TokenSet& set, const std::vector<int64_t>& index) {
  size_t tmax = 1;
  for (int64_t i : index) tmax = std::max(tmax, set.ids.at(i).size());
  Tensor<int64_t> out = Tensor<int64_t>::zeros({static_cast<int64_t>(index.size()), int64_t(tmax)});
  int64_t* p = out.data_ptr();
  for (size_t b = 0; b < index.size(); ++b) {
    const auto& s = set.ids[index[b]];
    std::copy(s.begin(), s.end(), p + b * tmax);
  }
  return out;
}

// The order of epoch e: a Fisher–Yates shuffle driven by (seed, e).
inline std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> o(n);
  std::iota(o.begin(), o.end(), 0);
  Generator g(seed * 0x9E3779B97F4A7C15ull + uint64_t(epoch) * 0xBF58476D1CE4E5B9ull + 1);
  for (int64_t i = n - 1; i > 0; --i) std::swap(o[i], o[g.randint(i + 1)]);
  return o;
}

// The batches of epoch e. Without lengths: consecutive slices of epoch_order. With lengths
// (length bucketing, to cut padding): the shuffled order is cut into windows of 50 batches, each
// window is sorted by length (stable) and sliced into batches, and the batch order is shuffled
// again; so each batch holds sequences of similar length and the epoch still visits everything
// once, in an order that depends only on (seed, e).
inline std::vector<std::vector<int64_t>> epoch_batches(int64_t n, int64_t batch, uint64_t seed, int64_t epoch,
                                                       const std::vector<int64_t>* lengths = nullptr) {
  std::vector<int64_t> order = epoch_order(n, seed, epoch);
  if (lengths) {
    const int64_t window = batch * 50;
    for (int64_t w0 = 0; w0 < n; w0 += window)
      std::stable_sort(order.begin() + w0, order.begin() + std::min(n, w0 + window),
                       [&](int64_t a, int64_t b) { return (*lengths)[a] < (*lengths)[b]; });
  }
  std::vector<std::vector<int64_t>> out;
  for (int64_t b0 = 0; b0 < n; b0 += batch)
    out.emplace_back(order.begin() + b0, order.begin() + std::min(n, b0 + batch));
  if (lengths) {
    Generator g(seed * 0x94D049BB133111EBull + uint64_t(epoch) * 0x2545F4914F6CDD1Dull + 7);
    for (int64_t i = int64_t(out.size()) - 1; i > 0; --i) std::swap(out[i], out[g.randint(i + 1)]);
  }
  return out;
}
inline std::vector<int64_t> lengths_of(const TokenSet& s) {
  std::vector<int64_t> l(s.size());
  for (int64_t i = 0; i < s.size(); ++i) l[i] = static_cast<int64_t>(s.ids[i].size());
  return l;
}

// Indices sorted by length (stable), for inference in batches with little padding.
inline std::vector<int64_t> length_order(const TokenSet& s) {
  std::vector<int64_t> o(s.size());
  std::iota(o.begin(), o.end(), 0);
  std::stable_sort(o.begin(), o.end(), [&](int64_t a, int64_t b) { return s.ids[a].size() < s.ids[b].size(); });
  return o;
}

struct MlmBatch {
  Tensor<int64_t> input;      // [B, T] with masked tokens replaced
  Tensor<int64_t> positions;  // [M] flat indices b·T + t of the masked tokens
  Tensor<int64_t> targets;    // [M] original ids there
};

// BERT's masking. Special tokens ([PAD], [CLS], [SEP]) are never chosen.
inline MlmBatch mask_tokens(const Tensor<int64_t>& ids, int64_t vocab_size, Generator& gen,
                            double prob = 0.15) {
  check(ids.dim() == 2 && vocab_size > kNumSpecial && prob > 0 && prob < 1, "mask_tokens",
        "need ids [B, T], vocab > ", kNumSpecial, " and 0 < prob < 1, got ", ids.shape(), ", ",
        vocab_size, ", ", prob);
  MlmBatch b;
  b.input = ids.clone();
  int64_t* x = b.input.data_ptr();
  const int64_t* src = ids.data_ptr();
  std::vector<int64_t> pos, tgt, candidates;
  for (int64_t i = 0; i < ids.numel(); ++i) {
    if (src[i] < kNumSpecial) continue;  // pad/unk/cls/sep/mask: unk is left too (no target info)
    candidates.push_back(i);
    if (gen.uniform() < prob) pos.push_back(i);
  }
  if (pos.empty() && !candidates.empty()) pos.push_back(candidates[gen.randint(int64_t(candidates.size()))]);
  for (int64_t i : pos) {
    tgt.push_back(src[i]);
    double u = gen.uniform();
    if (u < 0.8) x[i] = kMaskId;
    else if (u < 0.9) x[i] = kNumSpecial + gen.randint(vocab_size - kNumSpecial);
  }
  b.positions = Tensor<int64_t>::from_vector(pos);
  b.targets = Tensor<int64_t>::from_vector(tgt);
  return b;
}

}  // namespace distillery::data
