// distributed/ddp.hpp — data-parallel training: every rank holds a full replica of the model,
// computes gradients on its shard of the global batch, and the gradients are averaged over the
// ranks before the optimizer step, so all replicas take the same step.
//
//   distributed::ProcessGroup pg;
//   nn::LeNet5<float> net(10, gen);
//   distributed::DistributedDataParallel<float> ddp(net, pg);  // broadcasts rank 0's parameters
//   for (const auto& b : loader.epoch(e)) {                     // DistributedDataLoader: shard
//     Tensor<float> loss = cross_entropy(net(b.inputs), b.labels);   // mean over the local batch
//     opt.zero_grad();
//     loss.backward();
//     ddp.sync_gradients();          // grads := mean over ranks of the local grads
//     opt.step();
//   }
//
// With equal local batches b and a loss that is a mean over the batch, the mean of the ranks'
// gradients is the gradient of the mean loss over the global batch W·b: the run follows the
// same trajectory as one process with batch W·b (up to floating-point summation order; bit for
// bit with ReduceOrder::fixed against a process that accumulates the W parts in rank order).
// Unequal local batches: sync_gradients(local_count) weights each rank's gradient by its
// sample count, Σ n_r g_r / Σ n_r.
//
// Buckets: the gradients are packed, in reverse parameter order (the order backward produces
// them: last layer first), into contiguous buckets of about bucket_bytes. Bucket k's
// MPI_Iallreduce is started as soon as it is packed, and packing bucket k+1 (and unpacking the
// finished ones) runs while it is in flight. What does NOT overlap: the backward sweep itself —
// the autograd engine (autograd/engine.hpp) has no per-leaf hook, so all-reduces start after
// loss.backward() returns. With one bucket per step (small models) the overhead is a single
// all-reduce of the P parameters: P·sizeof(T) payload bytes per rank and step, of which a ring
// all-reduce sends and receives 2·(W−1)/W each way.
//
// Parameters without a gradient on a rank count as zero there (a branch not taken locally).
// Buffers (e.g. running statistics) are broadcast from rank 0 by broadcast_parameters() only.
#pragma once
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "../nn/module.hpp"
#include "process_group.hpp"

namespace distillery::distributed {

struct DDPOptions {
  int64_t bucket_bytes = int64_t(1) << 20;  // ~1 MiB per all-reduce
  ReduceOrder order = ReduceOrder::fast;    // fixed: bit-reproducible summation order
  bool broadcast_at_start = true;           // copy rank 0's parameters to every rank
};

struct DDPStats {
  int64_t syncs = 0;           // sync_gradients() calls
  int64_t buckets = 0;         // buckets per sync
  int64_t payload_bytes = 0;   // bytes all-reduced per sync and rank (P·sizeof(T) [+1 value])
  double seconds = 0;          // total time inside sync_gradients (pack, reduce, unpack)
};

template <class T>
class DistributedDataParallel {
 public:
  DistributedDataParallel(nn::Module<T>& model, ProcessGroup& pg, DDPOptions o = DDPOptions())
      : DistributedDataParallel(model.parameters(), pg, o) {
    buffers_ = model.buffers();
    if (o.broadcast_at_start) broadcast_buffers();
  }
  // Data-parallel over a list of parameter leaves (no module).
  DistributedDataParallel(std::vector<Tensor<T>> params, ProcessGroup& pg,
                          DDPOptions o = DDPOptions())
      : pg_(&pg), o_(o), params_(std::move(params)) {
    check(o_.bucket_bytes > 0, "DistributedDataParallel", "bucket_bytes must be positive");
    for (size_t i = 0; i < params_.size(); ++i)
      check(params_[i].defined(), "DistributedDataParallel", "parameter ", i, " is undefined");
    // buckets in reverse parameter order
    Bucket cur;
    for (size_t k = params_.size(); k-- > 0;) {
      const int64_t n = params_[k].numel();
      if (!cur.members.empty() && (cur.numel + n) * int64_t(sizeof(T)) > o_.bucket_bytes) {
        buckets_.push_back(cur);
        cur = Bucket();
      }
      cur.members.push_back(k);
      cur.numel += n;
    }
    if (!cur.members.empty() || buckets_.empty()) buckets_.push_back(cur);
    // every rank must have built the same buckets (same model, same options)
    uint64_t sig = 0;
    for (auto& b : buckets_) sig = sig * 1000003u + static_cast<uint64_t>(b.numel);
    auto sigs = pg_->all_gather(sig);
    for (int r = 0; r < pg_->size(); ++r)
      check(sigs[r] == sig, "DistributedDataParallel", "rank ", r, " has different parameters "
            "(or bucket_bytes) than rank ", pg_->rank(), ": every rank must build the same model");
    stats_.buckets = static_cast<int64_t>(buckets_.size());
    if (o_.broadcast_at_start) broadcast_parameters();
  }

  const std::vector<Tensor<T>>& parameters() const { return params_; }
  ProcessGroup& process_group() { return *pg_; }
  const DDPStats& stats() const { return stats_; }
  int64_t num_buckets() const { return static_cast<int64_t>(buckets_.size()); }

  // Every parameter (and buffer) gets root's values.
  void broadcast_parameters(int root = 0) {
    for (auto& p : params_) pg_->broadcast_(p, root);
    broadcast_buffers(root);
  }

  // grads := mean over ranks (equal local batches).
  void sync_gradients() { sync(-1); }
  // grads := Σ_r n_r g_r / Σ_r n_r, with n_r = local_count of rank r (> 0 somewhere).
  void sync_gradients(int64_t local_count) {
    check(local_count >= 0, "sync_gradients", "local_count must be >= 0, got ", local_count);
    sync(local_count);
  }

  // True when every rank holds bit-identical parameters (a checksum compared with a
  // min/max all-reduce; cheap enough to call every few hundred steps).
  bool parameters_in_sync() {
    uint64_t h = 1469598103934665603ull;  // FNV-1a over the parameter bytes
    for (auto& p : params_) {
      std::vector<T> v = p.detach().to_vector();
      const unsigned char* b = reinterpret_cast<const unsigned char*>(v.data());
      for (size_t i = 0; i < v.size() * sizeof(T); ++i) h = (h ^ b[i]) * 1099511628211ull;
    }
    uint64_t lo = h, hi = h;
    pg_->all_reduce(&lo, 1, Reduce::min);
    pg_->all_reduce(&hi, 1, Reduce::max);
    return lo == hi;
  }

 private:
  struct Bucket {
    std::vector<size_t> members;  // parameter indices, in packing order
    int64_t numel = 0;
  };

  void broadcast_buffers(int root = 0) {
    for (auto& b : buffers_) pg_->broadcast_(b, root);
  }

  void sync(int64_t local_count) {
    const auto t0 = std::chrono::steady_clock::now();
    const bool weighted = local_count >= 0;
    const bool fixed = o_.order == ReduceOrder::fixed;
    const size_t nb = buckets_.size();
    if (bufs_.size() != nb) bufs_.resize(nb);
    int64_t payload = 0;
    if (!fixed) {
      // pipelined: start bucket k's all-reduce, pack k+1 while it is in flight
      std::vector<MPI_Request> reqs(nb, MPI_REQUEST_NULL);
      for (size_t k = 0; k < nb; ++k) {
        pack(k, weighted, local_count, &reqs);
        const int64_t n = static_cast<int64_t>(bufs_[k].size());
        payload += n * int64_t(sizeof(T));
        detail::InCollective in("all_reduce (gradients)");
        check_mpi(MPI_Iallreduce(MPI_IN_PLACE, bufs_[k].data(), int(n), mpi_type<T>(), MPI_SUM,
                                 pg_->comm(), &reqs[k]), "sync_gradients", "MPI_Iallreduce");
      }
      for (size_t k = 0; k < nb; ++k) {
        wait_bucket(reqs[k]);
      }
    } else {
      for (size_t k = 0; k < nb; ++k) {
        pack(k, weighted, local_count, nullptr);
        payload += static_cast<int64_t>(bufs_[k].size()) * int64_t(sizeof(T));
        pg_->all_reduce(bufs_[k].data(), static_cast<int64_t>(bufs_[k].size()), Reduce::sum,
                        ReduceOrder::fixed);
      }
    }
    // divisor: the world size, or the total sample count (last element of the last bucket)
    T denom = T(pg_->size());
    if (weighted) {
      denom = bufs_.back().back();
      check(denom > T(0), "sync_gradients", "no rank had samples (all local_count == 0)");
    }
    for (size_t k = 0; k < nb; ++k) unpack(k, denom);
    ++stats_.syncs;
    stats_.payload_bytes = payload;
    stats_.seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

  // Copies bucket k's gradients (×local_count when weighted) into bufs_[k]. While packing,
  // polls the requests already in flight so that MPI progresses them.
  void pack(size_t k, bool weighted, int64_t local_count, std::vector<MPI_Request>* inflight) {
    const Bucket& b = buckets_[k];
    const bool last = k + 1 == buckets_.size();
    std::vector<T>& buf = bufs_[k];
    buf.assign(static_cast<size_t>(b.numel + (weighted && last ? 1 : 0)), T(0));
    int64_t off = 0;
    for (size_t i : b.members) {
      const Tensor<T>& p = params_[i];
      Tensor<T> g = p.grad();
      const int64_t n = p.numel();
      if (g.defined()) {
        check(g.numel() == n, "sync_gradients", "gradient of parameter ", i, " has ", g.numel(),
              " elements, the parameter ", n);
        if (g.device() == Device::cpu && g.is_contiguous()) {
          std::memcpy(buf.data() + off, g.data_ptr(), sizeof(T) * size_t(n));
        } else {
          std::vector<T> h = g.to_vector();
          std::memcpy(buf.data() + off, h.data(), sizeof(T) * size_t(n));
        }
        if (weighted) {
          const T c = T(local_count);
          for (int64_t j = 0; j < n; ++j) buf[size_t(off + j)] *= c;
        }
      }
      off += n;
      if (inflight) poll(*inflight, k);
    }
    if (weighted && last) buf.back() = T(local_count);
  }

  void poll(std::vector<MPI_Request>& reqs, size_t upto) {
    for (size_t j = 0; j < upto; ++j) {
      if (reqs[j] == MPI_REQUEST_NULL) continue;
      int done = 0;
      MPI_Test(&reqs[j], &done, MPI_STATUS_IGNORE);
      if (done) reqs[j] = MPI_REQUEST_NULL;
    }
  }

  void wait_bucket(MPI_Request& req) {
    if (req == MPI_REQUEST_NULL) return;
    detail::InCollective in("all_reduce (gradients)");
    const double limit = pg_->timeout();
    if (limit <= 0) {
      check_mpi(MPI_Wait(&req, MPI_STATUS_IGNORE), "sync_gradients", "MPI_Wait");
      return;
    }
    const auto t0 = std::chrono::steady_clock::now();
    for (int64_t polls = 0;; ++polls) {
      int done = 0;
      check_mpi(MPI_Test(&req, &done, MPI_STATUS_IGNORE), "sync_gradients", "MPI_Test");
      if (done) return;
      if (std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() > limit)
        abort_job("sync_gradients: the gradient all-reduce did not complete within " +
                  detail::seconds_str(limit) + " (DISTILLERY_MPI_TIMEOUT): another rank is "
                  "stuck or gone");
      if (polls > 1000) std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }

  // Writes the reduced bucket k, divided by denom, into the parameters' gradients.
  void unpack(size_t k, T denom) {
    const Bucket& b = buckets_[k];
    const std::vector<T>& buf = bufs_[k];
    int64_t off = 0;
    for (size_t i : b.members) {
      Tensor<T>& p = params_[i];
      const int64_t n = p.numel();
      Tensor<T> g = Tensor<T>::empty(p.shape());
      T* d = g.data_ptr();
      for (int64_t j = 0; j < n; ++j) d[j] = buf[size_t(off + j)] / denom;
      p.set_grad(p.device() == Device::cpu ? g : g.to(p.device()));
      off += n;
    }
  }

  ProcessGroup* pg_;
  DDPOptions o_;
  std::vector<Tensor<T>> params_, buffers_;
  std::vector<Bucket> buckets_;
  std::vector<std::vector<T>> bufs_;
  DDPStats stats_;
};

}  // namespace distillery::distributed
