// methods/dataset_distill_distributed.hpp — dataset distillation (methods/dataset_distill.hpp)
// split over the ranks of a ProcessGroup (distributed/ is told how to reduce; it never includes
// methods/, so the method brings its distributed driver here).
//
// distributed_step(pg, dd, x_real, y_real, gen): one outer iteration, same result as
// dd.step(x_real, y_real, gen) up to summation order. Every rank draws all n_nets inits from
// gen in the same order (cheap; keeps every rank's gen in step with a single-process run),
// computes a share of the hypergradients, and one all-reduce of the flat vector
// [loss, dL/dx̃, dL/dr, dL/dỹ] (1 + images·pixels + K + labels values: 7,944 floats for 10 MNIST
// images, K = 3, soft labels) gives every rank the same sum, hence the same Adam step:
//   * n_nets ≥ W (random init): rank r computes the inits n ≡ r (mod W) on the whole real batch;
//   * otherwise (fixed init, or few nets): every rank computes every init on its slice
//     rows [r·N/W, (r+1)·N/W) of the real batch, weighted by its share of the rows (the outer
//     loss is a mean over the rows, so the weighted sum is the full-batch hypergradient). The
//     K inner steps on the distilled images are then repeated on every rank; only the real-batch
//     part (forward and backward at w_K on N rows, usually the bulk) is divided.
//
// evaluate_random_inits(pg, dd, model, x, y, nets, seed): the accuracy of networks trained on
// the distilled data from `nets` random inits. Init i is drawn from its own generator
// (init_seed(seed, i)), so the results do not depend on the number of ranks; rank r evaluates
// the inits i ≡ r (mod W) and every rank gets all accuracies, in init order.
#pragma once
#include <vector>

#include "../distributed/process_group.hpp"
#include "dataset_distill.hpp"

namespace distillery::distributed {

// The seed of random init i in evaluate_random_inits.
inline uint64_t init_seed(uint64_t seed, int64_t i) {
  return seed ^ (0xD1B54A32D192ED03ull * static_cast<uint64_t>(i + 1));
}

template <class T>
T distributed_step(ProcessGroup& pg, DatasetDistiller<T>& dd, const Tensor<T>& x_real,
                   const Tensor<int64_t>& y_real, Generator& gen,
                   ReduceOrder order = ReduceOrder::fast) {
  check(x_real.defined() && y_real.defined() && x_real.dim() >= 1 &&
        x_real.shape()[0] == y_real.numel(), "distributed_step", "expected x_real [N, ...] and "
        "y_real [N]");
  const int64_t nets = dd.nets_per_step(), W = pg.size(), r = pg.rank();
  const int64_t N = x_real.shape()[0];
  const bool split_nets = nets >= W;
  check(split_nets || N >= W, "distributed_step", "a real batch of ", N, " rows cannot be split "
        "over ", W, " ranks");
  // this rank's rows (batch split) and their weight
  const int64_t lo = split_nets ? 0 : r * N / W, hi = split_nets ? N : (r + 1) * N / W;
  Tensor<T> x = split_nets ? x_real : narrow(x_real, 0, lo, hi - lo);
  Tensor<int64_t> y = split_nets ? y_real : narrow(y_real, 0, lo, hi - lo);
  const T weight = split_nets ? T(1) : T(double(hi - lo) / double(N));

  const bool soft = dd.config().soft_labels;
  const int64_t nx = dd.images().numel(), nr = dd.raw_lrs().numel(),
                ny = soft ? dd.raw_labels().numel() : 0;
  std::vector<T> flat(static_cast<size_t>(1 + nx + nr + ny), T(0));
  auto add_into = [&](int64_t off, const Tensor<T>& g, T w) {
    std::vector<T> v = g.to_vector();
    for (size_t i = 0; i < v.size(); ++i) flat[static_cast<size_t>(off) + i] += w * v[i];
  };
  for (int64_t n = 0; n < nets; ++n) {
    Tensor<T> w0 = dd.draw_init(gen);
    Tensor<T> noise = dd.draw_noise(gen);  // drawn on every rank: the streams stay in step
    if (split_nets && n % W != r) continue;
    HyperGradients<T> h = dd.hypergradients(w0, x, y, noise);
    flat[0] += weight * h.loss / T(nets);
    add_into(1, h.images, weight);
    add_into(1 + nx, h.raw_lrs, weight);
    if (soft) add_into(1 + nx + nr, h.labels, weight);
  }
  pg.all_reduce(flat.data(), static_cast<int64_t>(flat.size()), Reduce::sum, order);

  const T scale = T(1) / T(nets);
  auto part = [&](int64_t off, int64_t n, const Shape& s) {
    std::vector<T> v(flat.begin() + off, flat.begin() + off + n);
    return mul_scalar(Tensor<T>::from_vector(v, s), scale);
  };
  HyperGradients<T> mean;
  mean.loss = flat[0];
  mean.images = part(1, nx, dd.images().shape());
  mean.raw_lrs = part(1 + nx, nr, dd.raw_lrs().shape());
  if (soft) mean.labels = part(1 + nx + nr, ny, dd.raw_labels().shape());
  dd.apply_hypergradients(mean);
  return mean.loss;
}

template <class T>
std::vector<double> evaluate_random_inits(ProcessGroup& pg, const DatasetDistiller<T>& dd,
                                          const FunctionalModel<T>& model, const Tensor<T>& x,
                                          const Tensor<int64_t>& y, int64_t nets, uint64_t seed) {
  check(nets >= 0, "evaluate_random_inits", "nets must be >= 0, got ", nets);
  std::vector<double> acc(static_cast<size_t>(nets), 0.0);
  for (int64_t i = pg.rank(); i < nets; i += pg.size()) {
    Generator g(init_seed(seed, i));
    acc[static_cast<size_t>(i)] = accuracy(model, dd.train(model.init(g)), x, y);
  }
  // each entry is non-zero on one rank only: the sum is exact, in any order
  pg.all_reduce(acc.data(), nets, Reduce::sum);
  return acc;
}

}  // namespace distillery::distributed
