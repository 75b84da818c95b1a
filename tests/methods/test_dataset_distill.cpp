// Hyper-gradients of dataset distillation against finite differences (papers.md §8.6, §8.7),
// the checkpointed reverse pass against the full unroll, and memory that does not grow.
#include <doctest/doctest.h>

#include <Eigen/Eigenvalues>
#include <distillery/methods/dataset_distill.hpp>

using namespace distillery;

namespace {
constexpr int64_t D = 4, H = 5, C = 3;

// A tiny tanh MLP D -> H -> C on one flat parameter vector.
FunctionalModel<double> tiny_mlp() {
  FunctionalModel<double> m;
  m.forward = [](const Tensor<double>& w, const Tensor<double>& x, bool) {
    int64_t o = 0;
    auto take = [&](Shape s) {
      Tensor<double> t = reshape(narrow(w, 0, o, s.numel()), s);
      o += s.numel();
      return t;
    };
    Tensor<double> W1 = take({H, D}), b1 = take({H}), W2 = take({C, H}), b2 = take({C});
    return linear(tanh(linear(flatten(x, 1), W1, b1)), W2, b2);
  };
  m.init = [](Generator& g) {
    return Tensor<double>::randn(Shape{H * D + H + C * H + C}, g, 0.0, 0.5);
  };
  return m;
}

DDConfig tiny_config(bool soft, bool recompute) {
  DDConfig c;
  c.num_classes = C;
  c.images = 3;
  c.steps = 2;
  c.epochs = 2;
  c.distill_lr = 0.3;
  c.soft_labels = soft;
  c.recompute = recompute;
  return c;
}

struct Real {
  Tensor<double> x;
  Tensor<int64_t> y;
};
Real real_batch(Generator& g) {
  return {Tensor<double>::randn(Shape{8, 1, D}, g),
          Tensor<int64_t>::from_vector({0, 1, 2, 0, 1, 2, 1, 0}, Shape{8})};
}

// Central difference of L with respect to element i of the tensor `which` returns (by reference).
template <class Get>
double fd(DatasetDistiller<double>& dd, const Tensor<double>& w0, const Real& r, Get get, int64_t i,
          double eps = 1e-6) {
  Tensor<double> t = get(dd);
  double* p = t.data_ptr() + i;
  const double old = *p;
  *p = old + eps;
  double lp = dd.hypergradients(w0, r.x, r.y).loss;
  *p = old - eps;
  double lm = dd.hypergradients(w0, r.x, r.y).loss;
  *p = old;
  return (lp - lm) / (2 * eps);
}
}  // namespace

TEST_CASE("dataset distillation: hyper-gradients match central finite differences") {
  for (bool soft : {false, true}) {
    Generator gen(7);
    DatasetDistiller<double> dd(tiny_mlp(), Shape{1, D}, tiny_config(soft, false), gen);
    Real r = real_batch(gen);
    Tensor<double> w0 = dd.fixed_init();
    HyperGradients<double> h = dd.hypergradients(w0, r.x, r.y);
    auto gx = h.images.to_vector();
    for (int64_t i : {0, 5, 13, 23}) {
      double num = fd(
          dd, w0, r, [](auto& d) { return d.images(); }, i);
      CHECK(gx[i] == doctest::Approx(num).epsilon(1e-5));
    }
    auto gr = h.raw_lrs.to_vector();
    for (int64_t i = 0; i < dd.inner_steps(); ++i) {
      double num = fd(
          dd, w0, r, [](auto& d) { return d.raw_lrs(); }, i);
      CHECK(gr[i] == doctest::Approx(num).epsilon(1e-5));
    }
    if (soft) {
      auto gy = h.labels.to_vector();
      for (int64_t i : {0, 4, 8, 17}) {
        double num = fd(
            dd, w0, r, [](auto& d) { return d.raw_labels(); }, i);
        CHECK(gy[i] == doctest::Approx(num).epsilon(1e-5));
      }
    }
  }
}

TEST_CASE("dataset distillation: checkpointed reverse pass equals the full unroll") {
  for (bool soft : {false, true}) {
    Generator g1(3), g2(3);
    DatasetDistiller<double> a(tiny_mlp(), Shape{1, D}, tiny_config(soft, false), g1);
    DatasetDistiller<double> b(tiny_mlp(), Shape{1, D}, tiny_config(soft, true), g2);
    Real r = real_batch(g1);
    auto ha = a.hypergradients(a.fixed_init(), r.x, r.y);
    auto hb = b.hypergradients(b.fixed_init(), r.x, r.y);
    CHECK(ha.loss == doctest::Approx(hb.loss).epsilon(1e-12));
    auto check_close = [](const Tensor<double>& p, const Tensor<double>& q) {
      auto u = p.to_vector(), v = q.to_vector();
      REQUIRE(u.size() == v.size());
      for (size_t i = 0; i < u.size(); ++i) CHECK(u[i] == doctest::Approx(v[i]).epsilon(1e-9));
    };
    check_close(ha.images, hb.images);
    check_close(ha.raw_lrs, hb.raw_lrs);
    if (soft) check_close(ha.labels, hb.labels);
  }
}

TEST_CASE("dataset distillation: single-step oracle dL/deta = -grad L(w1) . grad l(w0)") {
  Generator gen(11);
  DDConfig c = tiny_config(false, false);
  c.steps = 1;
  c.epochs = 1;
  DatasetDistiller<double> dd(tiny_mlp(), Shape{1, D}, c, gen);
  Real r = real_batch(gen);
  auto model = tiny_mlp();
  Tensor<double> w0 = dd.fixed_init().detach().requires_grad_();
  Tensor<double> g0 = grad({dd.inner_loss(w0, dd.images(), dd.raw_labels(), 0)}, {w0})[0];
  double eta = dd.learning_rates().item();
  Tensor<double> w1 = (w0.detach() - g0 * eta).requires_grad_();
  Tensor<double> gL = grad({cross_entropy(model.forward(w1, r.x, false), r.y)}, {w1})[0];
  double dL_deta = -sum(gL * g0).item();
  double raw = dd.raw_lrs().item();
  double dL_draw = dL_deta / (1 + std::exp(-raw));  // d softplus / dr = sigmoid(r)
  auto h = dd.hypergradients(dd.fixed_init(), r.x, r.y);
  CHECK(h.raw_lrs.item() == doctest::Approx(dL_draw).epsilon(1e-9));
}

TEST_CASE("dataset distillation: softplus parametrisation round-trips eta0") {
  for (double eta0 : {0.001, 0.01, 0.02, 0.3, 2.0}) {
    Tensor<double> raw = Tensor<double>::scalar(std::log(std::expm1(eta0)));
    CHECK(softplus(raw).item() == doctest::Approx(eta0).epsilon(1e-12));
  }
}

TEST_CASE("dataset distillation: outer steps learn and memory does not grow") {
  Generator gen(5);
  DDConfig c = tiny_config(true, false);
  DatasetDistiller<double> dd(tiny_mlp(), Shape{1, D}, c, gen);
  Real r = real_batch(gen);
  double first = dd.step(r.x, r.y, gen);
  int64_t live = memory_stats(Device::cpu).live.load();
  double last = first;
  for (int i = 0; i < 30; ++i) last = dd.step(r.x, r.y, gen);
  CHECK(memory_stats(Device::cpu).live.load() == live);
  CHECK(last < first);
  CHECK(dd.peak_bytes() > 0);
}

TEST_CASE("dataset distillation: set_fixed_init replaces w0 and checks its shape") {
  Generator gen(13);
  DatasetDistiller<double> dd(tiny_mlp(), Shape{1, D}, tiny_config(true, false), gen);
  Tensor<double> w = tiny_mlp().init(gen);
  dd.set_fixed_init(w);
  CHECK(dd.fixed_init().to_vector() == w.to_vector());
  CHECK_FALSE(dd.fixed_init().requires_grad());
  CHECK_THROWS(dd.set_fixed_init(Tensor<double>::zeros(Shape{3})));
}

TEST_CASE("dataset distillation: the outer-lr schedule (reference: ten halvings over the run)") {
  DDConfig c;
  c.lr = 0.01;
  c.decay_every = dd_decay_every(24000, 10);
  CHECK(c.decay_every == 2400);
  CHECK(dd_outer_lr(c, 1) == 0.01);
  CHECK(dd_outer_lr(c, 2399) == 0.01);
  CHECK(dd_outer_lr(c, 2400) == 0.005);
  CHECK(dd_outer_lr(c, 9599) == 0.01 / 8);  // the old default (4/10, 8/10) would give 0.005
  CHECK(dd_outer_lr(c, 23999) == 0.01 / 512);
  CHECK(dd_outer_lr(c, 24000) == doctest::Approx(9.765625e-6).epsilon(1e-12));
  CHECK(dd_decay_every(6400, 10) == 640);
  CHECK(dd_decay_every(5, 10) == 1);
  CHECK(dd_decay_every(100, 0) == 0);
  c.decay_every = 0;
  CHECK(dd_outer_lr(c, 24000) == 0.01);
  CHECK_THROWS_AS(dd_decay_every(0, 10), Error);
  CHECK_THROWS_AS(dd_outer_lr(c, 0), Error);

  // the distiller's own Adam lr follows the same function, update by update
  Generator gen(21);
  DDConfig t = tiny_config(false, false);
  t.lr = 0.02;
  t.decay_every = dd_decay_every(12, 4);  // 3
  DatasetDistiller<double> dd(tiny_mlp(), Shape{1, D}, t, gen);
  Real r = real_batch(gen);
  CHECK(dd.outer_lr() == 0.02);
  for (int64_t it = 1; it <= 12; ++it) {
    dd.step(r.x, r.y, gen);
    CHECK(dd.outer_steps() == it);
    CHECK(dd.outer_lr() == dd_outer_lr(t, it));
  }
  CHECK(dd.outer_lr() == 0.02 / 16);
}

TEST_CASE("dataset distillation: inner_sharpness is eta_t times the top Hessian eigenvalue") {
  Generator gen(17);
  DatasetDistiller<double> dd(tiny_mlp(), Shape{1, D}, tiny_config(false, false), gen);
  auto sharp = dd.inner_sharpness(dd.fixed_init(), gen, 300);
  REQUIRE(sharp.size() == size_t(dd.inner_steps()));
  // oracle: the full Hessian of the inner loss at each w_t (one HVP per unit vector), its
  // eigenvalue of largest magnitude (power iteration's limit)
  const std::vector<double> eta = dd.learning_rates().to_vector();
  Tensor<double> w = dd.fixed_init();
  const int64_t P = w.numel();
  for (int64_t t = 0; t < dd.inner_steps(); ++t) {
    Tensor<double> wl = w.detach().requires_grad_();
    Tensor<double> g =
        grad({dd.inner_loss(wl, dd.images(), dd.raw_labels(), t % 2)}, {wl}, {}, true)[0];
    Eigen::MatrixXd Hm(P, P);
    for (int64_t j = 0; j < P; ++j) {
      Tensor<double> e = Tensor<double>::zeros(Shape{P});
      e.data_ptr()[j] = 1;
      auto col = grad({g}, {wl}, {e}, false, false, 1)[0].to_vector();
      for (int64_t i = 0; i < P; ++i) Hm(i, j) = col[i];
    }
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(0.5 * (Hm + Hm.transpose()));
    const auto& ev = es.eigenvalues();
    const double top = std::fabs(ev(0)) > std::fabs(ev(P - 1)) ? ev(0) : ev(P - 1);
    CHECK(sharp[t].lr == doctest::Approx(eta[t]));
    CHECK(sharp[t].lambda_max == doctest::Approx(top).epsilon(1e-6));
    CHECK(sharp[t].product == doctest::Approx(eta[t] * top).epsilon(1e-6));
    w = w - g.detach() * eta[t];
  }
  CHECK_THROWS(dd.inner_sharpness(dd.fixed_init(), gen, 0));
}

TEST_CASE("dataset distillation: train() with replacement images") {
  Generator gen(19);
  DatasetDistiller<double> dd(tiny_mlp(), Shape{1, D}, tiny_config(true, false), gen);
  const auto base = dd.train(dd.fixed_init()).to_vector();
  CHECK(dd.train(dd.fixed_init(), dd.images().clone()).to_vector() == base);
  Tensor<double> moved = dd.images() + 1e-3;
  CHECK(dd.train(dd.fixed_init(), moved).to_vector() != base);
  CHECK_THROWS(dd.train(dd.fixed_init(), Tensor<double>::zeros(Shape{1, 2, 3})));
}

TEST_CASE("dataset distillation: image noise gives the hyper-gradients of the shifted images") {
  for (bool recompute : {false, true}) {
    Generator gen(23);
    DatasetDistiller<double> dd(tiny_mlp(), Shape{1, D}, tiny_config(true, recompute), gen);
    Real r = real_batch(gen);
    const Tensor<double> w0 = dd.fixed_init();
    const Tensor<double> noise = Tensor<double>::randn(dd.images().shape(), gen, 0.0, 0.1);
    auto h = dd.hypergradients(w0, r.x, r.y, noise);
    CHECK(h.loss != doctest::Approx(dd.hypergradients(w0, r.x, r.y).loss).epsilon(1e-6));
    // d/dx̃ L(x̃ + noise) by central differences on x̃ itself
    for (int64_t i : {0, 4, 9}) {
      Tensor<double> x = dd.images();
      double* p = x.data_ptr() + i;
      const double old = *p, eps = 1e-6;
      *p = old + eps;
      const double lp = dd.hypergradients(w0, r.x, r.y, noise).loss;
      *p = old - eps;
      const double lm = dd.hypergradients(w0, r.x, r.y, noise).loss;
      *p = old;
      CHECK(h.images.to_vector()[size_t(i)] ==
            doctest::Approx((lp - lm) / (2 * eps)).epsilon(1e-6));
    }
    CHECK_THROWS(dd.hypergradients(w0, r.x, r.y, Tensor<double>::zeros(Shape{2})));
  }
}

TEST_CASE("dataset distillation: image_noise 0 draws nothing; image_noise > 0 is reproducible") {
  auto run = [](double sigma, uint64_t seed) {
    Generator gen(seed);
    DDConfig c = tiny_config(false, false);
    c.image_noise = sigma;
    DatasetDistiller<double> dd(tiny_mlp(), Shape{1, D}, c, gen);
    Real r = real_batch(gen);
    for (int i = 0; i < 3; ++i) dd.step(r.x, r.y, gen);
    return std::make_pair(dd.images().to_vector(), gen.normal());
  };
  Generator ref(29);  // the stream of a run with σ = 0 after construction and real_batch
  DatasetDistiller<double> probe(tiny_mlp(), Shape{1, D}, tiny_config(false, false), ref);
  real_batch(ref);
  CHECK(run(0.0, 29).second == ref.normal());  // 3 outer steps consumed no random numbers
  CHECK(run(0.05, 29) == run(0.05, 29));
  CHECK(run(0.05, 29).first != run(0.0, 29).first);
}
