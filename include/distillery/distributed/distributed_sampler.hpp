// distributed/distributed_sampler.hpp — each rank its shard of the data, seeded and epoch-aware.
//
// DistributedSampler(N, rank, world, seed): epoch e's global visiting order is exactly
// DataLoader's (the same Fisher–Yates shuffle driven by (seed, e); 0..N-1 without shuffle), so
// every rank computes the same order with no communication. It is padded by wrapping around to
// a multiple of the world size W (or cut to one with drop_tail), and rank r takes positions
// r, r+W, r+2W, ...: all shards have the same length, hence every rank runs the same number of
// steps (a rank with one batch more would wait in an all-reduce forever).
//
// The striding makes data-parallel batches line up with single-process ones: local batch k of
// size b on every rank together hold positions [k·W·b, (k+1)·W·b) of the global order — exactly
// batch k of a DataLoader with batch W·b and the same seed (when N is a multiple of W·b).
//
// DistributedDataLoader<T> is DataLoader's interface over a shard (same Batch type):
//
//   DataLoaderOptions o;  o.batch_size = 32;  o.seed = 1;       // per-rank batch
//   distributed::DistributedDataLoader<float> loader(x, y, o, pg.rank(), pg.size());
//   for (const auto& b : loader.epoch(e)) ...                   // b.inputs [32, 1, 28, 28]
//
// Needs no MPI itself (rank and world are plain integers), so it is testable anywhere.
#pragma once
#include <cstdint>
#include <memory>
#include <numeric>
#include <vector>

#include "../data/dataloader.hpp"

namespace distillery::distributed {

class DistributedSampler {
 public:
  DistributedSampler(int64_t n, int rank, int world, uint64_t seed = 0, bool shuffle = true,
                     bool drop_tail = false)
      : n_(n), rank_(rank), world_(world), seed_(seed), shuffle_(shuffle), drop_tail_(drop_tail) {
    check(n >= 0, "DistributedSampler", "dataset size must be >= 0, got ", n);
    check(world >= 1 && rank >= 0 && rank < world, "DistributedSampler", "rank ", rank,
          " not in [0, ", world, ")");
    check(!drop_tail || n >= world || n == 0, "DistributedSampler", "drop_tail with ", n,
          " examples for ", world, " ranks leaves nothing");
  }

  int64_t dataset_size() const { return n_; }
  int rank() const { return rank_; }
  int world_size() const { return world_; }
  // Length of every rank's shard.
  int64_t shard_size() const {
    if (n_ == 0) return 0;
    return drop_tail_ ? n_ / world_ : (n_ + world_ - 1) / world_;
  }

  // Epoch e's order over all N examples (identical to DataLoader::order(e) with this seed).
  std::vector<int64_t> global_order(int64_t e) const {
    std::vector<int64_t> idx(static_cast<size_t>(n_));
    std::iota(idx.begin(), idx.end(), int64_t(0));
    if (!shuffle_) return idx;
    Generator gen(seed_ ^ (0x9E3779B97F4A7C15ull * static_cast<uint64_t>(e + 1)));
    for (int64_t i = n_ - 1; i > 0; --i) std::swap(idx[i], idx[gen.randint(i + 1)]);
    return idx;
  }

  // This rank's shard of epoch e, in visiting order.
  std::vector<int64_t> indices(int64_t e) const {
    std::vector<int64_t> g = global_order(e);
    const int64_t len = shard_size();
    std::vector<int64_t> out(static_cast<size_t>(len));
    for (int64_t i = 0; i < len; ++i) {
      const int64_t pos = rank_ + i * int64_t(world_);
      out[i] = g[static_cast<size_t>(pos % n_)];  // wrap-around padding
    }
    return out;
  }

 private:
  int64_t n_;
  int rank_, world_;
  uint64_t seed_;
  bool shuffle_, drop_tail_;
};

template <class T>
class DistributedDataLoader {
 public:
  using Batch = typename DataLoader<T>::Batch;
  using Epoch = typename DataLoader<T>::Epoch;  // order() is this rank's shard

  // inputs [N, ...], labels [N]; o.batch_size is the per-rank batch; o.seed, o.shuffle and
  // o.drop_last (of the last, smaller local batch) as in DataLoader. Batches are assembled by a
  // DataLoader over the shard order.
  DistributedDataLoader(const Tensor<T>& inputs, const Tensor<int64_t>& labels,
                        DataLoaderOptions o, int rank, int world)
      : loader_(inputs, labels, o),
        sampler_(inputs.shape()[0], rank, world, o.seed, o.shuffle) {}

  const DistributedSampler& sampler() const { return sampler_; }
  int64_t batch_size() const { return loader_.batch_size(); }
  // Batches per epoch: the same on every rank.
  int64_t num_batches() const { return loader_.num_batches(sampler_.shard_size()); }

  // Batch b of a shard order (from sampler().indices(e)).
  Batch batch(const std::vector<int64_t>& shard, int64_t b) const { return loader_.batch(shard, b); }

  // Requires: the loader outlives the returned Epoch.
  Epoch epoch(int64_t e) const { return loader_.over(sampler_.indices(e)); }

 private:
  DataLoader<T> loader_;  // first: it validates the inputs before the sampler reads their shape
  DistributedSampler sampler_;
};

}  // namespace distillery::distributed
