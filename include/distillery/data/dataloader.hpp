// data/dataloader.hpp — mini-batches of (inputs, labels) with seeded per-epoch shuffling.
//
// DataLoader<T> holds inputs [N, ...] (float images, or int64 token ids for text) and labels
// [N]. Epoch e visits the examples in an order that depends only on (seed, e): a Fisher–Yates
// shuffle driven by Generator(seed, mixed with e), or 0..N-1 with shuffle = false. So a run is
// reproducible, and resuming at epoch e needs no saved generator state. Each batch is a fresh
// contiguous tensor with rows copied on the host, then placed on `device`. The last, smaller
// batch is kept unless drop_last.
//
//   DataLoader<float>::Options o;
//   o.batch_size = 64; o.seed = 1;
//   DataLoader<float> loader(train.images, train.labels, o);
//   for (int64_t epoch = 0; epoch < 10; ++epoch)
//     for (const auto& batch : loader.epoch(epoch))
//       step(batch.inputs, batch.labels);     // [64, 1, 28, 28], [64]
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <memory>
#include <numeric>
#include <vector>

#include "dataset.hpp"

namespace distillery {

struct DataLoaderOptions {
  int64_t batch_size = 64;
  bool shuffle = true;
  bool drop_last = false;
  uint64_t seed = 0;
  Device device = Device::cpu;  // where batches are placed
};

template <class T>
class DataLoader {
 public:
  using Options = DataLoaderOptions;
  struct Batch {
    Tensor<T> inputs;              // [B, ...]
    Tensor<int64_t> labels;        // [B]
    std::vector<int64_t> indices;  // the B example indices, in batch order
  };

  // Requires inputs.shape()[0] == labels.numel() and labels of dim 1; batch_size >= 1.
  DataLoader(const Tensor<T>& inputs, const Tensor<int64_t>& labels, Options o = Options())
      : o_(o) {
    check(inputs.defined() && labels.defined() && inputs.dim() >= 1 && labels.dim() == 1,
          "DataLoader", "expected inputs [N, ...] and labels [N]");
    check(inputs.shape()[0] == labels.shape()[0], "DataLoader", "inputs have ", inputs.shape()[0],
          " rows but labels have ", labels.shape()[0]);
    check(o.batch_size >= 1, "DataLoader", "batch_size must be >= 1, got ", o.batch_size);
    inputs_ = (inputs.device() == Device::cpu ? inputs : inputs.to(Device::cpu)).contiguous();
    labels_ = labels.to_vector();
    n_ = inputs.shape()[0];
    row_ = n_ > 0 ? inputs.numel() / n_ : 0;
  }

  int64_t size() const { return n_; }
  int64_t batch_size() const { return o_.batch_size; }
  int64_t num_batches() const { return num_batches(n_); }
  // Batches of an order of `count` indices (a whole epoch, or a shard of one).
  int64_t num_batches(int64_t count) const {
    return o_.drop_last ? count / o_.batch_size : (count + o_.batch_size - 1) / o_.batch_size;
  }

  // The visiting order of epoch `e` (a permutation of 0..N-1).
  std::vector<int64_t> order(int64_t e) const {
    std::vector<int64_t> idx(static_cast<size_t>(n_));
    std::iota(idx.begin(), idx.end(), int64_t(0));
    if (!o_.shuffle) return idx;
    Generator gen(o_.seed ^ (0x9E3779B97F4A7C15ull * static_cast<uint64_t>(e + 1)));
    for (int64_t i = n_ - 1; i > 0; --i) std::swap(idx[i], idx[gen.randint(i + 1)]);
    return idx;
  }

  // Batch b (0-based) of a visiting order (any list of example indices: an epoch's order or a
  // shard of it).
  Batch batch(const std::vector<int64_t>& ord, int64_t b) const {
    const int64_t len = static_cast<int64_t>(ord.size());
    check(b >= 0 && b < num_batches(len), "DataLoader::batch", "batch ", b, " out of range [0, ",
          num_batches(len), ")");
    const int64_t start = b * o_.batch_size, count = std::min(o_.batch_size, len - start);
    Batch out;
    out.indices.assign(ord.begin() + start, ord.begin() + start + count);
    Shape s = inputs_.shape();
    s[0] = count;
    std::vector<T> x(static_cast<size_t>(count * row_));
    std::vector<int64_t> y(static_cast<size_t>(count));
    const T* src = inputs_.data_ptr();
    for (int64_t i = 0; i < count; ++i) {
      const int64_t r = out.indices[i];
      if (row_) std::memcpy(x.data() + i * row_, src + r * row_, sizeof(T) * row_);
      y[i] = labels_[r];
    }
    out.inputs = host_tensor(x, s, o_.device);
    out.labels = host_tensor(y, Shape{count}, o_.device);
    return out;
  }

  // One pass over the data: iterate with range-for; batches are built on dereference.
  class Epoch {
   public:
    class iterator {
     public:
      using iterator_category = std::input_iterator_tag;
      using value_type = Batch;
      using difference_type = std::ptrdiff_t;
      using pointer = void;
      using reference = Batch;
      iterator(const Epoch* ep, int64_t b) : ep_(ep), b_(b) {}
      Batch operator*() const { return ep_->loader_->batch(*ep_->order_, b_); }
      iterator& operator++() {
        ++b_;
        return *this;
      }
      bool operator!=(const iterator& o) const { return b_ != o.b_; }
      bool operator==(const iterator& o) const { return b_ == o.b_; }

     private:
      const Epoch* ep_;
      int64_t b_;
    };
    Epoch(const DataLoader* l, std::vector<int64_t> ord)
        : loader_(l), order_(std::make_shared<std::vector<int64_t>>(std::move(ord))) {}
    iterator begin() const { return iterator(this, 0); }
    iterator end() const { return iterator(this, size()); }
    int64_t size() const { return loader_->num_batches(static_cast<int64_t>(order_->size())); }
    const std::vector<int64_t>& order() const { return *order_; }

   private:
    const DataLoader* loader_;
    std::shared_ptr<std::vector<int64_t>> order_;
  };
  // Requires: the loader outlives the returned Epoch.
  Epoch epoch(int64_t e) const { return Epoch(this, order(e)); }
  // A pass over a given index order (e.g. a DistributedSampler shard).
  Epoch over(std::vector<int64_t> ord) const { return Epoch(this, std::move(ord)); }

 private:
  Options o_;
  Tensor<T> inputs_;  // contiguous, on the CPU
  std::vector<int64_t> labels_;
  int64_t n_ = 0, row_ = 0;
};

}  // namespace distillery
