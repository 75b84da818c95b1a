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
// them: last layer first), into contiguous buckets of about bucket_bytes. With overlap (the
// default) DDP registers a grad-accumulated hook on every parameter (autograd/engine.hpp): the
// engine calls it as soon as that parameter's .grad is final, and once all parameters of bucket
// k are final — and buckets 0..k−1 are started — bucket k is packed and its MPI_Iallreduce is
// started while the backward sweep goes on into the earlier layers. sync_gradients() then
// starts the buckets still waiting (parameters that got no gradient on this rank), waits for
// all and unpacks. Buckets start in the same order on every rank (0, 1, 2, ...), as MPI
// requires. Without overlap (DDPOptions::overlap = false, or set_overlap(false)) everything
// happens inside sync_gradients(), packing bucket k+1 while bucket k is in flight. Both give
// the same bits. How much really overlaps depends on MPI progress: Open MPI without a progress
// thread advances a request only inside MPI calls, which DDP makes (MPI_Test) each time a hook
// fires. With one bucket per step (small models) it starts after the whole sweep either way;
// the cost is then a single all-reduce of the P parameters: P·sizeof(T) payload bytes per rank
// and step, of which a ring all-reduce sends and receives 2·(W−1)/W each way.
//
// With overlap, call sync_gradients() after every backward() that reaches the parameters (a
// second backward() before it throws "second gradient"; for gradient accumulation over several
// backward() calls, set_overlap(false) first). With a weighted sync_gradients(local_count),
// announce the count before backward() with set_local_count(n), or the buckets already started
// are re-done after backward (correct, not overlapped). Freeze parameters (requires_grad_(false))
// before building DDP or call refresh_hooks() after: requires_grad_(false) drops a leaf's hooks.
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
  bool overlap = true;                      // start buckets during backward() (hooks)
};

struct DDPStats {
  int64_t syncs = 0;           // sync_gradients() calls
  int64_t buckets = 0;         // buckets per sync
  int64_t payload_bytes = 0;   // bytes all-reduced per sync and rank (P·sizeof(T) [+1 value])
  int64_t overlapped = 0;      // buckets started during backward(), summed over the syncs
  double seconds = 0;          // total time inside sync_gradients (wait, late buckets, unpack)
  double hook_seconds = 0;     // total time in the hooks during backward() (pack, start)
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
    bucket_of_.assign(params_.size(), 0);
    for (size_t k = 0; k < buckets_.size(); ++k)
      for (size_t i : buckets_[k].members) bucket_of_[i] = k;
    // every rank must have built the same buckets (same model, same options)
    uint64_t sig = 0;
    for (auto& b : buckets_) sig = sig * 1000003u + static_cast<uint64_t>(b.numel);
    auto sigs = pg_->all_gather(sig);
    for (int r = 0; r < pg_->size(); ++r)
      check(sigs[r] == sig, "DistributedDataParallel", "rank ", r, " has different parameters "
            "(or bucket_bytes) than rank ", pg_->rank(), ": every rank must build the same model");
    stats_.buckets = static_cast<int64_t>(buckets_.size());
    if (o_.broadcast_at_start) broadcast_parameters();
    reset_step();
    refresh_hooks();
  }
  // The hooks point at this object: no copies, no moves.
  DistributedDataParallel(const DistributedDataParallel&) = delete;
  DistributedDataParallel& operator=(const DistributedDataParallel&) = delete;
  ~DistributedDataParallel() {
    remove_hooks();
    // an abandoned step (backward without sync): let its requests finish, quietly
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized)
      for (auto& r : reqs_)
        if (r != MPI_REQUEST_NULL) MPI_Wait(&r, MPI_STATUS_IGNORE);
  }

  const std::vector<Tensor<T>>& parameters() const { return params_; }
  ProcessGroup& process_group() { return *pg_; }
  const DDPStats& stats() const { return stats_; }
  int64_t num_buckets() const { return static_cast<int64_t>(buckets_.size()); }
  bool overlap() const { return o_.overlap; }

  // Overlap on or off from the next backward() on (not inside a started step).
  void set_overlap(bool on) {
    check(!step_open_, "set_overlap", "a step is in progress (backward() ran, sync_gradients() "
          "not yet)");
    o_.overlap = on;
    refresh_hooks();
  }
  // (Re-)registers one hook per parameter that requires grad (after requires_grad_ changes).
  void refresh_hooks() {
    remove_hooks();
    if (!o_.overlap) return;
    hooks_.assign(params_.size(), 0);
    for (size_t i = 0; i < params_.size(); ++i)
      if (params_[i].requires_grad() && params_[i].is_leaf())
        hooks_[i] = add_grad_accumulated_hook(
            params_[i], GradAccumulatedHook<T>([this, i](const Tensor<T>&) { on_grad_ready(i); }));
  }
  // The local sample count of the coming weighted sync_gradients(local_count), announced before
  // backward() so that its buckets can start during backward() (see the top of this file).
  void set_local_count(int64_t local_count) {
    check(local_count >= 0, "set_local_count", "local_count must be >= 0, got ", local_count);
    check(launched_ == 0, "set_local_count", "call it before backward(): buckets already started");
    count_ = local_count;
  }

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

  void remove_hooks() {
    for (size_t i = 0; i < hooks_.size(); ++i)
      if (hooks_[i]) remove_grad_accumulated_hook(params_[i], hooks_[i]);
    hooks_.clear();
  }

  // No bucket started, no parameter final.
  void reset_step() {
    const size_t nb = buckets_.size();
    ready_.assign(params_.size(), 0);
    missing_.assign(nb, 0);
    for (size_t k = 0; k < nb; ++k) missing_[k] = static_cast<int64_t>(buckets_[k].members.size());
    reqs_.assign(nb, MPI_REQUEST_NULL);
    bufs_.resize(nb);
    gathered_.resize(nb);
    launched_ = 0;
    payload_ = 0;
    overlapped_ = 0;
    count_ = -1;
    step_open_ = false;
  }

  // Hook: parameter i has its final gradient of this backward().
  void on_grad_ready(size_t i) {
    const auto t0 = std::chrono::steady_clock::now();
    if (!step_open_) {  // the first hook of a step: parameters that cannot get a gradient
      step_open_ = true;
      for (size_t j = 0; j < params_.size(); ++j)
        if (!params_[j].requires_grad()) mark_ready(j);
    }
    check(!ready_[i], "DistributedDataParallel", "parameter ", i, " received a second gradient "
          "before sync_gradients(): call sync_gradients() after each backward(), or "
          "set_overlap(false) to accumulate over several backward() calls");
    mark_ready(i);
    const size_t before = launched_;
    start_ready(count_);
    overlapped_ += static_cast<int64_t>(launched_ - before);
    poll();
    stats_.hook_seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

  void mark_ready(size_t i) {
    if (ready_[i]) return;
    ready_[i] = 1;
    --missing_[bucket_of_[i]];
  }

  // Starts, in order, every bucket whose parameters are all final.
  void start_ready(int64_t local_count) {
    while (launched_ < buckets_.size() && missing_[launched_] == 0) start(launched_++, local_count);
  }

  // Packs bucket k and starts its non-blocking reduction: MPI_Iallreduce, or for
  // ReduceOrder::fixed an MPI_Iallgather whose parts are summed in rank order when it is done.
  void start(size_t k, int64_t local_count) {
    pack(k, local_count);
    const int64_t n = static_cast<int64_t>(bufs_[k].size());
    check(n <= INT32_MAX, "sync_gradients", "bucket of ", n, " elements is too large");
    payload_ += n * int64_t(sizeof(T));
    detail::InCollective in("all_reduce (gradients)");
    if (o_.order == ReduceOrder::fixed) {
      gathered_[k].resize(static_cast<size_t>(n) * static_cast<size_t>(pg_->size()));
      check_mpi(MPI_Iallgather(bufs_[k].data(), int(n), mpi_type<T>(), gathered_[k].data(),
                               int(n), mpi_type<T>(), pg_->comm(), &reqs_[k]),
                "sync_gradients", "MPI_Iallgather");
    } else {
      check_mpi(MPI_Iallreduce(MPI_IN_PLACE, bufs_[k].data(), int(n), mpi_type<T>(), MPI_SUM,
                               pg_->comm(), &reqs_[k]), "sync_gradients", "MPI_Iallreduce");
    }
  }

  void sync(int64_t local_count) {
    const auto t0 = std::chrono::steady_clock::now();
    const bool weighted = local_count >= 0;
    const size_t nb = buckets_.size();
    check(count_ < 0 || count_ == local_count, "sync_gradients", "local_count ", local_count,
          " differs from the ", count_, " announced with set_local_count");
    if (launched_ > 0 && count_ != local_count) {
      // buckets started unweighted during backward(), a weighted sync asked for: finish every
      // bucket (so that all ranks issue the same collectives), then do them again weighted
      for (size_t k = launched_; k < nb; ++k) missing_[k] = 0;
      start_ready(-1);
      for (size_t k = 0; k < nb; ++k) wait_bucket(reqs_[k]);
      launched_ = 0;
      payload_ = 0;
      overlapped_ = 0;
    }
    for (size_t k = launched_; k < nb; ++k) missing_[k] = 0;  // the rest counts as final now
    while (launched_ < nb) {
      start(launched_++, local_count);
      poll();
    }
    for (size_t k = 0; k < nb; ++k) wait_bucket(reqs_[k]);
    if (o_.order == ReduceOrder::fixed) {  // Σ in rank order: ((x₀ + x₁) + x₂) ...
      const int W = pg_->size();
      for (size_t k = 0; k < nb; ++k) {
        const size_t n = bufs_[k].size();
        for (size_t e = 0; e < n; ++e) {
          T s = gathered_[k][e];
          for (int r = 1; r < W; ++r) s += gathered_[k][static_cast<size_t>(r) * n + e];
          bufs_[k][e] = s;
        }
      }
    }
    // divisor: the world size, or the total sample count (last element of the last bucket)
    T denom = T(pg_->size());
    if (weighted) denom = bufs_.back().back();
    const int64_t overlapped = overlapped_, payload = payload_;
    reset_step();
    check(denom > T(0), "sync_gradients", "no rank had samples (all local_count == 0)");
    for (size_t k = 0; k < nb; ++k) unpack(k, denom);
    ++stats_.syncs;
    stats_.payload_bytes = payload;
    stats_.overlapped += overlapped;
    stats_.seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

  // Copies bucket k's gradients (×local_count when >= 0, plus the count itself at the end of
  // the last bucket) into bufs_[k].
  void pack(size_t k, int64_t local_count) {
    const Bucket& b = buckets_[k];
    const bool weighted = local_count >= 0;
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
    }
    if (weighted && last) buf.back() = T(local_count);
  }

  // Lets MPI progress the requests in flight.
  void poll() {
    for (size_t j = 0; j < launched_; ++j) {
      if (reqs_[j] == MPI_REQUEST_NULL) continue;
      int done = 0;
      MPI_Test(&reqs_[j], &done, MPI_STATUS_IGNORE);
      if (done) reqs_[j] = MPI_REQUEST_NULL;
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
  std::vector<size_t> bucket_of_;       // parameter -> bucket
  std::vector<int64_t> hooks_;          // parameter -> hook id (0: none)
  // the step in progress
  std::vector<char> ready_;             // parameter's gradient final
  std::vector<int64_t> missing_;        // bucket's parameters not final yet
  std::vector<MPI_Request> reqs_;
  std::vector<std::vector<T>> bufs_, gathered_;
  size_t launched_ = 0;                 // buckets [0, launched_) started
  int64_t payload_ = 0, overlapped_ = 0;
  int64_t count_ = -1;                  // announced local count (-1: unweighted)
  bool step_open_ = false;
  DDPStats stats_;
};

}  // namespace distillery::distributed
