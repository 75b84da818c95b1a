// lenet_mpi — LeNet-5 on real MNIST digits or Fashion-MNIST, data-parallel over MPI processes
// (include/distillery/distributed/): the recipe of lenet_mnist with the global batch split
// over the ranks.
//
//   mpirun -np 2 build/examples/lenet_mpi --dataset fashion --epochs 5 --json out/lenet_mpi.json
//   mpirun -np 8 --hostfile hosts build/examples/lenet_mpi ...        (several machines)
//   (as root, Open MPI also needs --allow-run-as-root; more ranks than cores: --oversubscribe)
//
// Every rank loads the data, builds LeNet-5 and receives rank 0's parameters; each epoch the
// DistributedSampler gives every rank its shard of the same shuffled order, each step every
// rank computes the gradient of its --batch / W examples and DistributedDataParallel averages
// the gradients (one bucketed all-reduce of the 61,706 parameters), so all ranks take the same
// AdamW step. Test accuracy is computed on a slice of the test set per rank and summed. Only
// rank 0 prints, writes the checkpoint (--checkpoint PATH, safetensors, after every epoch) and
// the results (--json PATH, plus PATH.csv). Augmentation draws from a per-rank generator, so
// runs with different numbers of ranks see different (equally distributed) random shifts.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>

#include <distillery/data/idx.hpp>
#include <distillery/data/mnist_json.hpp>
#include <distillery/distillery.hpp>
#include <distillery/distributed/distributed.hpp>
#include <distillery/io/atomic_file.hpp>
#include <distillery/io/cli.hpp>
#include <distillery/io/json.hpp>
#include <distillery/io/plot.hpp>
#include <distillery/nn/checkpoint.hpp>
#include <distillery/nn/nn.hpp>
#include <distillery/optim/optim.hpp>

using namespace distillery;
namespace dist = distillery::distributed;
using T = float;

namespace {

struct Data {
  LabelledImages train, test;
  std::string test_name;
};

Data load(const std::string& dataset, const std::string& dir) {
  if (dataset == "mnist") {
    MnistSplit m = load_mnist_json_split(dir + "/mnist");
    return {m.train, m.heldout, "held-out"};
  }
  check(dataset == "fashion", "lenet_mpi", "--dataset must be mnist or fashion, got '", dataset, "'");
  return {load_fashion_mnist(dir + "/fashion-mnist", true),
          load_fashion_mnist(dir + "/fashion-mnist", false), "test"};
}

// Random ±shift translations (zero fill) and optional horizontal flips of [B, 1, H, W].
Tensor<T> augment(const Tensor<T>& x, int64_t shift, bool flip, Generator& gen) {
  const int64_t B = x.shape()[0], H = x.shape()[2], W = x.shape()[3];
  std::vector<T> in = x.to_vector(), out(in.size(), T(0));
  for (int64_t b = 0; b < B; ++b) {
    const int64_t dy = gen.randint(2 * shift + 1) - shift, dx = gen.randint(2 * shift + 1) - shift;
    const bool mirror = flip && gen.uniform() < 0.5;
    const T* src = in.data() + b * H * W;
    T* dst = out.data() + b * H * W;
    for (int64_t y = 0; y < H; ++y) {
      const int64_t sy = y - dy;
      if (sy < 0 || sy >= H) continue;
      for (int64_t c = 0; c < W; ++c) {
        const int64_t sx = (mirror ? W - 1 - c : c) - dx;
        if (sx >= 0 && sx < W) dst[y * W + c] = src[sy * W + sx];
      }
    }
  }
  return Tensor<T>::from_vector(out, x.shape());
}

Tensor<T> normalize(const Tensor<T>& x, double mean, double stdev) {
  return mul_scalar(add_scalar(x, T(-mean)), T(1.0 / stdev));
}

// Accuracy on (images, labels): rank r evaluates rows [r·N/W, (r+1)·N/W); counts are summed.
double accuracy(dist::ProcessGroup& pg, nn::LeNet5<T>& net, const LabelledImages& d, double mean,
                double stdev) {
  NoGradGuard ng;
  net.eval();
  const int64_t N = d.images.shape()[0], lo = pg.rank() * N / pg.size(),
                hi = (pg.rank() + 1) * N / pg.size(), bs = 500;
  int64_t correct = 0;
  std::vector<int64_t> labels = d.labels.to_vector();
  for (int64_t s = lo; s < hi; s += bs) {
    const int64_t n = std::min(bs, hi - s);
    std::vector<int64_t> pred = argmax(net(normalize(narrow(d.images, 0, s, n), mean, stdev)), 1).to_vector();
    for (int64_t i = 0; i < n; ++i) correct += pred[i] == labels[s + i];
  }
  net.train();
  return double(pg.all_reduce_value(correct)) / double(N);
}

std::string replace_extension(const std::string& path, const std::string& ext) {
  const size_t slash = path.find_last_of('/'), dot = path.find_last_of('.');
  if (dot != std::string::npos && (slash == std::string::npos || dot > slash))
    return path.substr(0, dot) + ext;
  return path + ext;
}

int train(int argc, char** argv, bool setup_only) {
  Args args(argc, argv, "lenet_mpi: LeNet-5 on MNIST / Fashion-MNIST, data-parallel over MPI ranks "
                        "(mpirun -np W build/examples/lenet_mpi ...)");
  const std::string dataset = args.get<std::string>("dataset", "mnist", "mnist or fashion");
  const int epochs = args.get<int>("epochs", 30, "training epochs");
  const int64_t batch = args.get<int64_t>("batch", 64, "global mini-batch (split over the ranks)");
  const double lr = args.get<double>("lr", 2e-3, "peak learning rate (AdamW, cosine to 0)");
  const double wd = args.get<double>("weight-decay", 5e-4, "AdamW weight decay (weights only)");
  const int64_t shift = args.get<int64_t>("shift", 2, "random translation in pixels (0 = off)");
  const bool flip = args.get<bool>("flip", dataset == "fashion", "random horizontal flips");
  const int64_t limit = args.get<int64_t>("limit", 0, "use N evenly spaced training examples");
  const int64_t bucket_kb = args.get<int64_t>("bucket-kb", 1024, "gradient all-reduce bucket (KiB)");
  const uint64_t seed = args.get<uint64_t>("seed", 0, "seed of init, shuffling, augmentation");
  const std::string dir = args.get<std::string>(
      "data", std::getenv("DISTILLERY_DATA") ? std::getenv("DISTILLERY_DATA") : "data", "data dir");
  const std::string ckpt = args.get<std::string>("checkpoint", "", "rank 0 saves the model here");
  const std::string json = args.get<std::string>("json", "", "rank 0 writes results (and .csv) here");
  args.finish();
  check_output_path(json);  // before any work: a bad path fails now, not at the end
  check_output_path(ckpt);
  if (setup_only) return 0;  // flags and paths checked before MPI starts (see main)
  dist::ProcessGroup pg;
  const bool main_rank = pg.is_main();
  const int W = pg.size();
  check(batch % W == 0, "lenet_mpi", "--batch ", batch, " must be a multiple of the number of "
        "ranks (", W, ")");

  Data d = load(dataset, dir);
  if (limit > 0 && limit < d.train.images.shape()[0]) {
    std::vector<int64_t> rows(limit);  // evenly spaced: the files are sorted by class
    for (int64_t i = 0; i < limit; ++i) rows[i] = i * d.train.images.shape()[0] / limit;
    d.train = take_rows(d.train, rows);
  }
  const int64_t n_train = d.train.images.shape()[0], n_test = d.test.images.shape()[0];
  const double mean = sum(d.train.images).item() / double(d.train.images.numel());
  const double stdev = std_dev(d.train.images, {}, false, 0).item();
  if (main_rank)
    std::printf("lenet_mpi: %d ranks x %d threads, %s, %lld train / %lld %s images, global batch "
                "%lld (%lld per rank)\n", W, cpu::max_threads(), dataset.c_str(),
                (long long)n_train, (long long)n_test, d.test_name.c_str(), (long long)batch,
                (long long)(batch / W));

  Generator gen(seed), aug(seed ^ 0xA06ull ^ (0x9E3779B97F4A7C15ull * uint64_t(pg.rank())));
  nn::LeNet5<T> net(10, gen);
  dist::DDPOptions ddo;
  ddo.bucket_bytes = bucket_kb << 10;
  dist::DistributedDataParallel<T> ddp(net, pg, ddo);  // rank 0's parameters everywhere
  optim::AdamOptions ao;
  ao.lr = lr;
  ao.weight_decay = wd;
  optim::AdamW<T> opt(optim::decay_groups(net.named_parameters(), wd), ao);
  DataLoaderOptions lo;
  lo.batch_size = batch / W;
  lo.seed = seed;
  dist::DistributedDataLoader<T> loader(d.train.images, d.train.labels, lo, pg.rank(), W);
  const int64_t steps_per_epoch = loader.num_batches(), total = steps_per_epoch * epochs;
  optim::WarmupCosine<T> sched(opt, 0, std::max<int64_t>(total, 1));
  if (main_rank)
    std::printf("LeNet-5: %lld parameters in %lld all-reduce bucket(s), %lld steps/epoch, AdamW "
                "lr %g wd %g\n", (long long)net.num_parameters(), (long long)ddp.num_buckets(),
                (long long)steps_per_epoch, lr, wd);

  std::vector<double> losses, train_accs, test_accs, seconds, comm_seconds;
  double train_seconds = 0, test_accuracy = 0;
  for (int e = 0; e < epochs; ++e) {
    Progress progress("  epoch " + std::to_string(e + 1), steps_per_epoch, 10.0);
    const double comm0 = ddp.stats().seconds;
    pg.barrier();  // time the epoch from a common start
    const auto t0 = std::chrono::steady_clock::now();
    double loss_sum = 0;
    int64_t correct = 0, seen = 0, step = 0;
    for (const auto& b : loader.epoch(e)) {
      Tensor<T> x = b.inputs;
      if (shift > 0 || flip) x = augment(x, shift, flip, aug);
      Tensor<T> logits = net(normalize(x, mean, stdev));
      Tensor<T> loss = cross_entropy(logits, b.labels);
      opt.zero_grad();
      loss.backward();
      ddp.sync_gradients();
      opt.step();
      sched.step();
      const int64_t n = b.labels.numel();
      loss_sum += double(loss.item()) * double(n);
      std::vector<int64_t> pred = argmax(logits.detach(), 1).to_vector(), y = b.labels.to_vector();
      for (int64_t i = 0; i < n; ++i) correct += pred[i] == y[i];
      seen += n;
      ++step;
      if (main_rank) progress.update(step, "loss (rank 0) " + std::to_string(loss_sum / double(seen)));
    }
    pg.barrier();
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    train_seconds += dt;
    // epoch statistics over all ranks: [loss_sum, correct, seen]
    double st[3] = {loss_sum, double(correct), double(seen)};
    pg.all_reduce(st, 3, dist::Reduce::sum);
    test_accuracy = accuracy(pg, net, d.test, mean, stdev);
    losses.push_back(st[0] / st[2]);
    train_accs.push_back(st[1] / st[2]);
    test_accs.push_back(test_accuracy);
    seconds.push_back(dt);
    comm_seconds.push_back(ddp.stats().seconds - comm0);
    if (main_rank) {
      std::printf("epoch %2d/%d  loss %.4f  train acc %.4f  %s acc %.4f  %.2fs (gradient sync "
                  "%.2fs)\n", e + 1, epochs, losses.back(), train_accs.back(), d.test_name.c_str(),
                  test_accuracy, dt, comm_seconds.back());
      std::fflush(stdout);
    }
    if (!ckpt.empty())
      pg.run_on_main([&] {
        nn::save_checkpoint(ckpt, net, {{"epoch", std::to_string(e + 1)}, {"ranks", std::to_string(W)}});
      });
  }
  check(ddp.parameters_in_sync(), "lenet_mpi", "the replicas' parameters diverged");

  const int64_t bytes_per_step = ddp.stats().payload_bytes;
  if (main_rank)
    std::printf("summary: LeNet-5 on %s, %d ranks, %d epochs, %s accuracy %.4f, train time %.1fs "
                "(%.2fs/epoch), all-reduce %lld bytes/step/rank (ring: sends and receives %.0f "
                "bytes each)\n", dataset.c_str(), W, epochs, d.test_name.c_str(), test_accuracy,
                train_seconds, epochs ? train_seconds / epochs : 0.0, (long long)bytes_per_step,
                2.0 * (W - 1) / W * double(bytes_per_step));
  if (!json.empty())
    pg.run_on_main([&] {
      Json r = Json::object();
      r["dataset"] = dataset;
      r["ranks"] = W;
      r["threads_per_rank"] = cpu::max_threads();
      r["test_accuracy"] = test_accuracy;
      r["test_set"] = d.test_name;
      r["test_size"] = n_test;
      r["train_size"] = n_train;
      r["params"] = net.num_parameters();
      r["epochs"] = epochs;
      r["global_batch"] = batch;
      r["steps_per_epoch"] = steps_per_epoch;
      r["train_seconds"] = train_seconds;
      r["epoch_seconds"] = seconds;
      r["gradient_sync_seconds"] = comm_seconds;
      r["allreduce_bytes_per_step"] = bytes_per_step;
      r["allreduce_buckets"] = ddp.num_buckets();
      r["train_loss"] = losses;
      r["train_accuracy"] = train_accs;
      r["test_accuracy_curve"] = test_accs;
      r["seed"] = static_cast<int64_t>(seed);
      write_json(json, r);
      LinePlot curve;
      curve.title = "LeNet-5 on " + dataset + ", " + std::to_string(W) + " ranks";
      curve.xlabel = "epoch";
      for (int e = 1; e <= epochs; ++e) curve.x.push_back(e);
      curve.series = {{"train_accuracy", train_accs, {}}, {d.test_name + "_accuracy", test_accs, {}},
                      {"train_loss", losses, {}}};
      write_csv(replace_extension(json, ".csv"), curve);
      std::printf("wrote %s, %s\n", json.c_str(), replace_extension(json, ".csv").c_str());
    });
  return 0;
}

}  // namespace

// Flags and output paths are checked before MPI starts, so a bad one is one line
// "lenet_mpi: error: ..." and exit status 1 (run_main, io/cli.hpp); an error during the
// distributed run is reported by dist::run with its rank and ends the whole job.
int main(int argc, char** argv) {
  return run_main(argc, argv, "lenet_mpi", [](int argc, char** argv) {
    train(argc, argv, /*setup_only=*/true);
    return dist::run(argc, argv, [&] { return train(argc, argv, false); });
  });
}
