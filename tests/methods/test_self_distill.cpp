// The distillation driver (methods/distill_trainer.hpp) on small synthetic data: cached and
// on-the-fly teacher logits give the same run, born-again generations run (and cache or not
// gives the same chain), the Beta-smoothing path keeps an EMA model with the reference's decay
// rule, model selection restores the best validation epoch, and bad input throws a clear Error.
#include <doctest/doctest.h>

#include <cmath>
#include <ostream>  // doctest prints the shared_ptr compared below with operator<<
#include <string>

#include <distillery/methods/distill_trainer.hpp>
#include <distillery/nn/nn.hpp>

using namespace distillery;
using TD = double;

namespace {
constexpr int64_t D = 6, C = 3;

struct Blobs {
  Tensor<TD> x, xv;
  Tensor<int64_t> y, yv;
};

// Three overlapping Gaussian classes in D dims (train n, validation n / 4).
Blobs blobs(int64_t n, uint64_t seed) {
  Generator g(seed);
  auto make = [&](int64_t m, Tensor<TD>& x, Tensor<int64_t>& y) {
    std::vector<TD> xs(m * D);
    std::vector<int64_t> ys(m);
    for (int64_t i = 0; i < m; ++i) {
      ys[i] = i % C;
      for (int64_t d = 0; d < D; ++d)
        xs[i * D + d] = g.normal() * 1.2 + (d % C == ys[i] ? 1.5 : 0.0);
    }
    x = Tensor<TD>::from_vector(xs, Shape{m, D});
    y = Tensor<int64_t>::from_vector(ys, Shape{m});
  };
  Blobs b;
  make(n, b.x, b.y);
  make(n / 4, b.xv, b.yv);
  return b;
}

std::shared_ptr<nn::Module<TD>> mlp(int64_t hidden, uint64_t seed) {
  Generator g(seed);
  return std::make_shared<nn::MLP<TD>>(std::vector<int64_t>{D, hidden, C}, g);
}

DistillOptions<TD> small_options() {
  DistillOptions<TD> o;
  o.epochs = 4;
  o.batch_size = 32;
  o.lr = 0.05;
  o.milestones = {3};
  o.seed = 7;
  return o;
}

double max_param_diff(const nn::Module<TD>& a, const nn::Module<TD>& b) {
  auto pa = a.parameters(), pb = b.parameters();
  REQUIRE(pa.size() == pb.size());
  double m = 0;
  for (size_t i = 0; i < pa.size(); ++i) {
    auto va = pa[i].to_vector(), vb = pb[i].to_vector();
    REQUIRE(va.size() == vb.size());
    for (size_t k = 0; k < va.size(); ++k) m = std::max(m, std::fabs(va[k] - vb[k]));
  }
  return m;
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("cached and on-the-fly teacher logits give the same student") {
  Blobs b = blobs(240, 1);
  auto teacher = mlp(24, 2);
  train_distill(*teacher, b.x, b.y, DistillLoss<TD>::cross_entropy(), {}, small_options(), b.xv,
                b.yv);
  // a different architecture for the student (teacher 24 hidden units, student 8)
  auto s_fly = mlp(8, 3), s_cache = mlp(8, 3);
  auto loss = DistillLoss<TD>::self_distillation(0.4, 4.0);
  auto o = small_options();
  auto r_fly =
      train_distill(*s_fly, b.x, b.y, loss, TeacherLogits<TD>::on_the_fly(*teacher), o, b.xv, b.yv);
  auto cache = TeacherLogits<TD>::precompute(*teacher, b.x, 100);
  CHECK(cache.is_cached());
  CHECK(cache.cache().shape() == Shape{240, C});
  auto r_cache = train_distill(*s_cache, b.x, b.y, loss, cache, o, b.xv, b.yv);
  CHECK(max_param_diff(*s_fly, *s_cache) < 1e-12);
  REQUIRE(r_fly.history.size() == r_cache.history.size());
  for (size_t e = 0; e < r_fly.history.size(); ++e) {
    CHECK(r_fly.history[e].train_loss ==
          doctest::Approx(r_cache.history[e].train_loss).epsilon(1e-12));
    CHECK(r_fly.history[e].val_accuracy == r_cache.history[e].val_accuracy);
  }
  CHECK(r_fly.best_epoch == r_cache.best_epoch);
  // the teacher's mode is left as it was
  CHECK(teacher->is_training());
  // and the soft targets matter: a different α gives a different student
  auto s_other = mlp(8, 3);
  train_distill(*s_other, b.x, b.y, DistillLoss<TD>::self_distillation(0.9, 4.0), cache, o, b.xv,
                b.yv);
  CHECK(max_param_diff(*s_other, *s_cache) > 1e-6);
}

TEST_CASE("training learns and model selection restores the best validation epoch") {
  Blobs b = blobs(300, 11);
  auto net = mlp(16, 5);
  auto o = small_options();
  o.epochs = 6;
  int calls = 0;
  o.on_epoch = [&](const EpochRecord& r) {
    ++calls;
    CHECK(r.epoch == calls);
  };
  auto r = train_distill(*net, b.x, b.y, DistillLoss<TD>::label_smoothing(0.1), {}, o, b.xv, b.yv);
  CHECK(calls == 6);
  CHECK(r.history.size() == 6);
  CHECK(r.steps == 6 * 10);  // 300 / 32 -> 10 batches per epoch
  CHECK(r.history.front().lr == doctest::Approx(0.05));
  CHECK(r.history.back().lr == doctest::Approx(0.005));  // after the milestone at epoch 3
  CHECK(r.best_val_accuracy > 0.6);                      // chance is 1/3
  double best = 0;
  for (auto& h : r.history) best = std::max(best, h.val_accuracy);
  CHECK(r.best_val_accuracy == best);
  CalibrationReport cal = evaluate_calibration(*net, b.xv, b.yv);
  CHECK(cal.accuracy == doctest::Approx(r.best_val_accuracy));
  CHECK(cal.nll > 0);
  CHECK(cal.ece15 >= 0);
  CHECK(cal.ece20 >= 0);
  CHECK(cal.bins.size() == 15);
  int64_t n = 0;
  for (auto& bin : cal.bins) n += bin.count;
  CHECK(n == 75);
  CHECK(net->is_training());  // evaluation restored the mode
}

TEST_CASE("generations: a born-again chain, cached or on the fly") {
  Blobs b = blobs(240, 21);
  ModelFactory<TD> make = [](Generator& g) -> std::shared_ptr<nn::Module<TD>> {
    return std::make_shared<nn::MLP<TD>>(std::vector<int64_t>{D, 12, C}, g);
  };
  auto o = small_options();
  o.epochs = 3;
  auto ce = DistillLoss<TD>::cross_entropy();
  auto sd = DistillLoss<TD>::self_distillation();
  std::vector<int64_t> seen;
  auto cached = train_generations(make, 3, ce, sd, b.x, b.y, o, b.xv, b.yv, true, nullptr,
                                  [&](int64_t g, const Generation<TD>& gen) {
                                    seen.push_back(g);
                                    CHECK(gen.result.history.size() == 3);
                                  });
  REQUIRE(cached.size() == 3);
  CHECK(seen == std::vector<int64_t>{0, 1, 2});
  for (auto& g : cached) CHECK(g.result.best_val_accuracy > 0.5);
  // generations start from different inits, so they are different models
  CHECK(max_param_diff(*cached[0].model, *cached[1].model) > 1e-3);
  auto fly = train_generations(make, 3, ce, sd, b.x, b.y, o, b.xv, b.yv, false);
  for (int g = 0; g < 3; ++g) CHECK(max_param_diff(*cached[g].model, *fly[g].model) < 1e-12);
  // a trained generation 0 passed in is used as the first teacher
  auto reuse = train_generations(make, 2, ce, sd, b.x, b.y, o, b.xv, b.yv, true, cached[0].model);
  CHECK(reuse[0].model == cached[0].model);
  CHECK(reuse[0].result.history.empty());
  CHECK(max_param_diff(*reuse[1].model, *cached[1].model) < 1e-12);
}

TEST_CASE("Beta smoothing: EMA model, rank-matched targets, the reference decay rule") {
  Blobs b = blobs(240, 31);
  auto o = small_options();
  auto net = mlp(12, 9);
  auto r =
      train_distill(*net, b.x, b.y, DistillLoss<TD>::beta_smoothing(3.0, 0.6), {}, o, b.xv, b.yv);
  REQUIRE(r.ema_model != nullptr);
  CHECK(r.best_val_accuracy > 0.6);
  CHECK(max_param_diff(*net, *r.ema_model) > 1e-6);  // an average, not a copy
  // the EMA model is a working classifier too
  CHECK(evaluate_calibration(*r.ema_model, b.xv, b.yv).accuracy > 0.5);
  // a custom loss sees the EMA logits with the student's shape
  int64_t batches = 0;
  auto probe = DistillLoss<TD>::custom(
      "probe",
      [&](const DistillBatch<TD>& db) {
        CHECK(db.ema_logits.defined());
        CHECK(!db.teacher_logits.defined());
        CHECK(db.ema_logits.shape() == db.student_logits.shape());
        CHECK(!db.ema_logits.requires_grad());
        ++batches;
        return cross_entropy(db.student_logits, db.labels);
      },
      false, true);
  auto net2 = mlp(12, 9);
  train_distill(*net2, b.x, b.y, probe, {}, o, b.xv, b.yv);
  CHECK(batches == 4 * 8);
  // decay min(1 − 1/(t + 1), 0.999): the first update (t = 0) copies the student
  auto one = small_options();
  one.epochs = 1;
  one.batch_size = 240;
  one.select_best = false;
  auto net3 = mlp(12, 9);
  auto r3 = train_distill(*net3, b.x, b.y, DistillLoss<TD>::beta_smoothing(), {}, one);
  CHECK(r3.steps == 1);
  CHECK(max_param_diff(*net3, *r3.ema_model) == 0.0);
  // Beta smoothing is stochastic through the trainer's seeded generator: same seed, same run
  auto a = mlp(12, 9), c = mlp(12, 9);
  train_distill(*a, b.x, b.y, DistillLoss<TD>::beta_smoothing(), {}, o);
  train_distill(*c, b.x, b.y, DistillLoss<TD>::beta_smoothing(), {}, o);
  CHECK(max_param_diff(*a, *c) == 0.0);
}

TEST_CASE("bad input throws an Error naming the function") {
  Blobs b = blobs(60, 41);
  auto net = mlp(4, 1);
  auto o = small_options();
  auto sd = DistillLoss<TD>::self_distillation();
  auto msg = error_of([&] { train_distill(*net, b.x, b.y, sd, {}, o); });
  CHECK(msg.find("train_distill") == 0);
  CHECK(msg.find("needs teacher logits") != std::string::npos);
  // cache rows must match the training set
  auto wrong_rows = TeacherLogits<TD>::cached(Tensor<TD>::zeros(Shape{10, C}));
  msg = error_of([&] { train_distill(*net, b.x, b.y, sd, wrong_rows, o); });
  CHECK(msg.find("train_distill: cached teacher logits have 10 rows") == 0);
  // teacher with another number of classes
  auto four = TeacherLogits<TD>::cached(Tensor<TD>::zeros(Shape{60, 4}));
  msg = error_of([&] { train_distill(*net, b.x, b.y, sd, four, o); });
  CHECK(msg.find("train_distill: teacher logits") == 0);
  // labels and inputs disagree
  msg = error_of([&] { train_distill(*net, b.x, b.yv, DistillLoss<TD>::cross_entropy(), {}, o); });
  CHECK(msg.find("train_distill") == 0);
  auto bad = o;
  bad.epochs = 0;
  msg = error_of([&] { train_distill(*net, b.x, b.y, DistillLoss<TD>::cross_entropy(), {}, bad); });
  CHECK(msg.find("train_distill: epochs") == 0);
  CHECK_THROWS_AS(DistillLoss<TD>::label_smoothing(1.5), Error);
  CHECK_THROWS_AS(DistillLoss<TD>::beta_smoothing(-1.0), Error);
  CHECK_THROWS_AS(TeacherLogits<TD>::cached(Tensor<TD>::zeros(Shape{5})), Error);
  CHECK(error_of([] {
          TeacherLogits<TD>().logits(Tensor<TD>::zeros(Shape{1, D}), {0});
        }).find("TeacherLogits") == 0);
  ModelFactory<TD> make = [](Generator& g) -> std::shared_ptr<nn::Module<TD>> {
    return std::make_shared<nn::MLP<TD>>(std::vector<int64_t>{D, 4, C}, g);
  };
  CHECK(error_of([&] {
          train_generations(make, 2, sd, sd, b.x, b.y, o);
        }).find("train_generations") == 0);
  CHECK(error_of([&] {
          train_generations(make, 0, DistillLoss<TD>::cross_entropy(), sd, b.x, b.y, o);
        }).find("train_generations") == 0);
  CHECK(error_of([&] {
          evaluate_calibration(Tensor<TD>::zeros(Shape{4, C}), b.y);
        }).find("evaluate_calibration") == 0);
}
