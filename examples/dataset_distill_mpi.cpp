// dataset_distill_mpi — dataset distillation of real MNIST digits for LeNet-5 (as
// examples/dataset_distill) with the work split over MPI ranks (distributed/dataset_distill.hpp):
//   * the outer step: with --init random and --n-nets ≥ ranks, each rank unrolls its share of
//     the n_nets random inits; otherwise each rank takes a slice of the real batch. One
//     all-reduce of the hypergradients (7,944 floats for 10 soft-label images) per step;
//   * the final evaluation over --eval-nets random inits: each rank trains and tests its share
//     of the networks, the accuracies are gathered (the init of network i does not depend on the
//     number of ranks, so 1 and W ranks report the same numbers).
//
//   mpirun -np 2 build/examples/dataset_distill_mpi --mode soft --images 10 --iterations 2000
//       --eval-nets 20 --json out/dd_mpi.json                         (one command line)
//
// Rank 0 prints progress and writes --json PATH (accuracies, seconds of the outer steps and of
// the evaluation, bytes all-reduced per step); pictures and baselines: examples/dataset_distill.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>

#include <distillery/backend/cpu/parallel.hpp>  // cpu::max_threads
#include <distillery/data/mnist_json.hpp>
#include <distillery/distributed/distributed.hpp>
#include <distillery/io/atomic_file.hpp>
#include <distillery/methods/dataset_distill_distributed.hpp>
#include <distillery/io/cli.hpp>
#include <distillery/io/json.hpp>
#include <distillery/methods/dataset_distill.hpp>
#include <distillery/nn/nn.hpp>

using namespace distillery;
namespace dist = distillery::distributed;
using T = float;

namespace {
constexpr double kMean = 0.1307, kStd = 0.3081;

FunctionalModel<T> lenet_model(int64_t classes) {
  Generator g0(0);
  auto net = std::make_shared<nn::LeNet5<T>>(classes, g0, 1, 28, nn::Init::xavier_normal);
  FunctionalModel<T> m;
  m.forward = [net](const Tensor<T>& w, const Tensor<T>& x, bool) {
    return nn::functional_call(*net, w, x);
  };
  m.init = [classes](Generator& g) {
    nn::LeNet5<T> fresh(classes, g, 1, 28, nn::Init::xavier_normal);
    return nn::flatten_parameters(fresh.parameters()).detach();
  };
  return m;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int distill(int argc, char** argv, bool setup_only) {
  Args args(argc, argv, "dataset_distill_mpi: DD / soft-label DD of MNIST for LeNet-5, split over "
                        "MPI ranks (mpirun -np W ...)");
  const std::string mode = args.get<std::string>("mode", "soft", "dd | soft");
  const int64_t images = args.get<int64_t>("images", 10, "distilled images (per step)");
  const std::string init = args.get<std::string>("init", "fixed", "fixed | random");
  const int64_t n_nets = args.get<int64_t>("n-nets", 4, "random inits per outer step (--init random)");
  const int64_t iters = args.get<int64_t>("iterations", 2000, "outer iterations");
  const int64_t steps = args.get<int64_t>("steps", 1, "inner steps (distinct image batches)");
  const int64_t epochs = args.get<int64_t>("epochs", 3, "inner epochs over the steps");
  const int64_t batch = args.get<int64_t>("batch", 1024, "real batch per outer iteration");
  const double dlr = args.get<double>("distill-lr", mode == "dd" ? 0.02 : 0.01, "initial η");
  const double lr = args.get<double>("lr", 0.01, "outer Adam lr");
  const int64_t decay = args.get<int64_t>("decay-every", iters / 10 > 0 ? iters / 10 * 4 : 0,
                                          "outer iterations between lr halvings");
  const int64_t eval_nets = args.get<int64_t>("eval-nets", 20, "random inits evaluated at the end");
  const uint64_t seed = args.get<uint64_t>("seed", 1, "random seed");
  const std::string data = args.get<std::string>("data", "data/mnist", "MNIST JSON folder");
  const std::string json = args.get<std::string>("json", "", "results JSON path (rank 0)");
  args.finish();
  check_output_path(json);  // before any work: a bad path fails now, not at the end
  check(mode == "dd" || mode == "soft", "dataset_distill_mpi", "--mode must be dd or soft");
  check(init == "fixed" || init == "random", "dataset_distill_mpi", "--init must be fixed or random");
  if (setup_only) return 0;  // flags and paths checked before MPI starts (see main)
  dist::ProcessGroup pg;
  const bool main_rank = pg.is_main();

  MnistSplit split = load_mnist_json_split(data);
  auto norm = [](const Tensor<T>& x) { return mul_scalar(add_scalar(x, T(-kMean)), T(1 / kStd)); };
  Tensor<T> xtr = norm(split.train.images), xte = norm(split.heldout.images);
  Tensor<int64_t> ytr = split.train.labels, yte = split.heldout.labels;

  DDConfig cfg;
  cfg.images = images;
  cfg.steps = steps;
  cfg.epochs = epochs;
  cfg.distill_lr = dlr;
  cfg.soft_labels = mode == "soft";
  cfg.random_init = init == "random";
  cfg.n_nets = n_nets;
  cfg.lr = lr;
  cfg.decay_every = decay;
  Generator gen(seed);  // the same on every rank: same real batches, same inits
  FunctionalModel<T> model = lenet_model(10);
  DatasetDistiller<T> dd(model, Shape{1, 28, 28}, cfg, gen);
  const int W = pg.size();
  const bool split_nets = dd.nets_per_step() >= W;
  if (main_rank)
    std::printf("dataset_distill_mpi: %d ranks x %d threads, mode=%s images=%lld init=%s "
                "nets/step=%lld iterations=%lld batch=%lld; outer step split over %s\n", W,
                cpu::max_threads(), mode.c_str(), (long long)images, init.c_str(),
                (long long)dd.nets_per_step(), (long long)iters, (long long)batch,
                split_nets ? "the random inits" : "the real batch");

  Progress prog("outer", iters, 10.0);
  const int64_t n = ytr.numel();
  std::vector<int64_t> perm(n);
  std::iota(perm.begin(), perm.end(), 0);
  int64_t cursor = n;
  const int64_t bytes0 = pg.stats().bytes;
  pg.barrier();
  const auto t0 = std::chrono::steady_clock::now();
  double loss = 0;
  for (int64_t it = 1; it <= iters; ++it) {
    if (cursor + batch > n) {
      for (int64_t i = n - 1; i > 0; --i) std::swap(perm[i], perm[gen.randint(i + 1)]);
      cursor = 0;
    }
    std::vector<int64_t> rows(perm.begin() + cursor, perm.begin() + cursor + batch);
    cursor += batch;
    loss = dist::distributed_step(pg, dd, take_rows(xtr, rows), take_rows(ytr, rows), gen);
    if (main_rank) prog.update(it, "loss " + std::to_string(loss));
  }
  pg.barrier();
  const double distill_seconds = seconds_since(t0);
  const int64_t bytes_per_step = iters > 0 ? (pg.stats().bytes - bytes0) / iters : 0;
  const double fixed_acc = accuracy(model, dd.train(dd.fixed_init()), xte, yte);

  pg.barrier();
  const auto t1 = std::chrono::steady_clock::now();
  std::vector<double> accs = dist::evaluate_random_inits(pg, dd, model, xte, yte, eval_nets, seed);
  const double eval_seconds = seconds_since(t1);
  double m = 0, v = 0;
  for (double a : accs) m += a / double(std::max<int64_t>(eval_nets, 1));
  for (double a : accs) v += (a - m) * (a - m) / double(std::max<int64_t>(eval_nets, 1));
  if (main_rank)
    std::printf("held-out accuracy: fixed init %.2f%%, %lld random inits %.2f%% ± %.2f%%; outer "
                "steps %.1f s (%.3f s each, %lld bytes all-reduced per step and rank), "
                "evaluation %.1f s (%.3f s per network)\n", 100 * fixed_acc, (long long)eval_nets,
                100 * m, 100 * std::sqrt(v), distill_seconds, distill_seconds / double(std::max<int64_t>(iters, 1)),
                (long long)bytes_per_step, eval_seconds,
                eval_seconds / double(std::max<int64_t>(eval_nets, 1)));
  if (!json.empty())
    pg.run_on_main([&] {
      Json r = Json::object();
      r["ranks"] = W;
      r["threads_per_rank"] = cpu::max_threads();
      r["mode"] = mode;
      r["images"] = images;
      r["init"] = init;
      r["nets_per_step"] = dd.nets_per_step();
      r["outer_step_split"] = split_nets ? "random inits" : "real batch";
      r["outer_steps"] = iters;
      r["final_outer_loss"] = double(loss);
      r["fixed_init_accuracy"] = fixed_acc;
      r["random_init_accuracies"] = accs;
      r["random_init_mean"] = m;
      r["random_init_std"] = std::sqrt(v);
      r["distill_seconds"] = distill_seconds;
      r["seconds_per_outer_step"] = distill_seconds / double(std::max<int64_t>(iters, 1));
      r["allreduce_bytes_per_step"] = bytes_per_step;
      r["eval_seconds"] = eval_seconds;
      Json lrs = Json::array();
      for (T x : dd.learning_rates().to_vector()) lrs.push_back(double(x));
      r["learned_lrs"] = lrs;
      write_json(json, r);
    });
  return 0;
}
}  // namespace

// Flags and output paths are checked before MPI starts, so a bad one is one line
// "dataset_distill_mpi: error: ..." and exit status 1 (run_main, io/cli.hpp); an error during the
// distributed run is reported by dist::run with its rank and ends the whole job.
int main(int argc, char** argv) {
  return run_main(argc, argv, "dataset_distill_mpi", [](int argc, char** argv) {
    distill(argc, argv, /*setup_only=*/true);
    return dist::run(argc, argv, [&] { return distill(argc, argv, false); });
  });
}
