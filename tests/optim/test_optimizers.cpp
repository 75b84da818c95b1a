// tests/optim/test_optimizers.cpp — SGD, Adam, AdamW, schedules and clipping against PyTorch.
//
// The reference values come from tests/fixtures/make_optim_fixtures.py (torch, float64), stored
// in tests/fixtures/optim_fixtures.txt; the same problem is set up here in double and every
// recorded value must agree to 1e-6 (absolute or relative).
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include <distillery/distillery.hpp>
#include <distillery/optim/optim.hpp>

#include "../fixtures/test_support.hpp"

using namespace distillery;
using TD = Tensor<double>;

namespace {

// "case step name" -> values
std::map<std::string, std::vector<double>> load_fixtures() {
  std::string path = test_support::fixtures_dir() + "/optim_fixtures.txt";
  std::ifstream in(path);
  REQUIRE_MESSAGE(in.good(), "cannot open ", path);
  std::map<std::string, std::vector<double>> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string c, name;
    int step = 0;
    size_t n = 0;
    ls >> c >> step >> name >> n;
    std::vector<double> v(n);
    for (auto& x : v) ls >> x;
    REQUIRE(!ls.fail());
    out[c + " " + std::to_string(step) + " " + name] = v;
  }
  return out;
}
const std::map<std::string, std::vector<double>>& fixtures() {
  static auto f = load_fixtures();
  return f;
}
const std::vector<double>& ref(const std::string& c, int step, const std::string& name) {
  auto key = c + " " + std::to_string(step) + " " + name;
  auto it = fixtures().find(key);
  REQUIRE_MESSAGE(it != fixtures().end(), "fixture has no record '", key, "'");
  return it->second;
}

void check_close(const std::vector<double>& got, const std::vector<double>& want,
                 const std::string& what) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    double tol = 1e-6 * std::max(1.0, std::abs(want[i]));
    CHECK_MESSAGE(std::abs(got[i] - want[i]) <= tol, what, "[", i, "]: ", got[i], " vs ", want[i]);
  }
}

// The fixture's problem: w [2, 3], b [3]; loss = ½ Σ a w² + Σ c w + Σ (b − t)².
struct Problem {
  TD w = TD::from_vector({0.5, -1.0, 2.0, 1.5, 0.25, -0.75}, {2, 3}).requires_grad_();
  TD b = TD::from_vector({0.1, -0.2, 0.3}, {3}).requires_grad_();
  TD a = TD::from_vector({1.0, 2.0, 0.5, 3.0, 1.5, 0.25}, {2, 3});
  TD c = TD::from_vector({0.1, -0.3, 0.2, 0.0, 0.5, -0.1}, {2, 3});
  TD t = TD::from_vector({1.0, -1.0, 0.5}, {3});
  TD loss() const { return sum(a * w * w) * 0.5 + sum(c * w) + sum(square(b - t)); }
};

template <class Opt>
void run_case(const std::string& name, Problem& p, Opt& opt) {
  for (int s = 1; s <= 5; ++s) {
    opt.zero_grad();
    p.loss().backward();
    opt.step();
    check_close(p.w.to_vector(), ref(name, s, "w"), name + " step " + std::to_string(s) + " w");
    check_close(p.b.to_vector(), ref(name, s, "b"), name + " step " + std::to_string(s) + " b");
  }
}

}  // namespace

TEST_CASE("SGD matches torch.optim.SGD: plain, momentum+dampening+wd, Nesterov") {
  {
    Problem p;
    optim::SGDOptions o;
    o.lr = 0.1;
    optim::SGD<double> opt({p.w, p.b}, o);
    run_case("sgd_plain", p, opt);
  }
  {
    Problem p;
    optim::SGDOptions o;
    o.lr = 0.1;
    o.momentum = 0.9;
    o.dampening = 0.1;
    o.weight_decay = 0.01;
    optim::SGD<double> opt({p.w, p.b}, o);
    run_case("sgd_momentum", p, opt);
  }
  {
    Problem p;
    optim::SGDOptions o;
    o.lr = 0.05;
    o.momentum = 0.9;
    o.nesterov = true;
    o.weight_decay = 0.001;
    optim::SGD<double> opt({p.w, p.b}, o);
    run_case("sgd_nesterov", p, opt);
  }
}

TEST_CASE("Adam and AdamW match PyTorch, including amsgrad and parameter groups") {
  {
    Problem p;
    optim::AdamOptions o;
    o.lr = 0.01;
    optim::Adam<double> opt({p.w, p.b}, o);
    run_case("adam", p, opt);
  }
  {
    Problem p;
    optim::AdamOptions o;
    o.lr = 0.02;
    o.beta1 = 0.5;
    o.weight_decay = 0.1;
    o.amsgrad = true;
    optim::Adam<double> opt({p.w, p.b}, o);
    run_case("adam_wd_amsgrad", p, opt);
  }
  {
    Problem p;
    // decay_groups puts w (dim 2) in the decayed group and b (dim 1) in the other: the fixture's
    // groups [{w, wd 0.1}, {b, wd 0}].
    auto groups = optim::decay_groups<double>({{"w", p.w}, {"b", p.b}}, 0.1);
    REQUIRE(groups.size() == 2);
    CHECK(groups[0].params[0].same_storage(p.w));
    optim::AdamOptions o = optim::adamw_defaults();
    o.lr = 0.01;
    optim::AdamW<double> opt(groups, o);
    CHECK(opt.param_groups()[1].weight_decay == 0.0);
    run_case("adamw_groups", p, opt);
  }
}

TEST_CASE("float parameters follow the double reference closely") {
  Tensor<float> w = Tensor<float>::from_vector({0.5f, -1.0f, 2.0f, 1.5f, 0.25f, -0.75f}, {2, 3});
  w.requires_grad_();
  Tensor<float> a = Tensor<float>::from_vector({1.0f, 2.0f, 0.5f, 3.0f, 1.5f, 0.25f}, {2, 3});
  Tensor<float> c = Tensor<float>::from_vector({0.1f, -0.3f, 0.2f, 0.0f, 0.5f, -0.1f}, {2, 3});
  optim::AdamOptions o;
  o.lr = 0.01;
  optim::Adam<float> opt({w}, o);
  for (int s = 1; s <= 5; ++s) {
    opt.zero_grad();
    (sum(a * w * w) * 0.5f + sum(c * w)).backward();
    opt.step();
  }
  auto got = w.to_vector();
  auto want = ref("adam", 5, "w");
  for (size_t i = 0; i < got.size(); ++i) CHECK(std::abs(got[i] - want[i]) < 1e-5);
}

TEST_CASE("optimizer steps write into the parameter's storage (identity kept)") {
  Problem p;
  TD alias = p.w.detach();  // shares storage with the parameter
  optim::SGD<double> opt({p.w, p.b});
  p.loss().backward();
  opt.step();
  CHECK(alias.to_vector() == p.w.to_vector());
  CHECK(p.w.is_leaf());
  // parameters without a gradient are skipped
  opt.zero_grad();
  auto before = p.w.to_vector();
  opt.step();
  CHECK(p.w.to_vector() == before);
}

TEST_CASE("LR schedules match PyTorch's StepLR, MultiStepLR, CosineAnnealingLR, LinearLR") {
  auto check_schedule = [](const std::string& name, auto make) {
    Problem p;
    optim::SGDOptions o;
    o.lr = 0.1;
    optim::SGD<double> opt({p.w, p.b}, o);
    auto sched = make(opt);
    for (int e = 0; e < 12; ++e) {
      check_close({opt.lr()}, ref(name, e, "lr"), name + " epoch " + std::to_string(e));
      sched.step();
    }
  };
  using Opt = optim::Optimizer<double>;
  check_schedule("step_lr", [](Opt& o) { return optim::StepLR<double>(o, 3, 0.5); });
  check_schedule("multistep_lr", [](Opt& o) { return optim::MultiStepLR<double>(o, {2, 5}, 0.1); });
  check_schedule("cosine_lr", [](Opt& o) { return optim::CosineAnnealingLR<double>(o, 10, 0.001); });
  check_schedule("linear_lr", [](Opt& o) { return optim::LinearLR<double>(o, 0.25, 1.0, 4); });
}

TEST_CASE("warm-up schedules (Hugging Face formulas) and per-group base rates") {
  Problem p;
  optim::ParamGroup<double> g1, g2;
  g1.params = {p.w};
  g2.params = {p.b};
  g2.lr = 0.5;
  optim::SGD<double> opt({g1, g2}, optim::SGDOptions{});
  optim::WarmupLinear<double> s(opt, 2, 6);
  std::vector<double> want = {0.0, 0.5, 1.0, 0.75, 0.5, 0.25, 0.0, 0.0};
  for (double f : want) {
    CHECK(opt.lr(0) == doctest::Approx(0.01 * f));
    CHECK(opt.lr(1) == doctest::Approx(0.5 * f));
    s.step();
  }
  Problem q;
  optim::SGD<double> opt2({q.w}, optim::SGDOptions{});
  optim::WarmupCosine<double> c(opt2, 2, 6);
  std::vector<double> wc = {0.0, 0.5, 1.0, 0.8535533905932737, 0.5, 0.14644660940672627, 0.0};
  for (double f : wc) {
    CHECK(opt2.lr() == doctest::Approx(0.01 * f));
    c.step();
  }
}

TEST_CASE("clip_grad_norm_ matches torch.nn.utils.clip_grad_norm_ (L2 and inf)") {
  for (auto [name, pn] : {std::pair<std::string, double>{"clip_l2", 2.0},
                          {"clip_inf", std::numeric_limits<double>::infinity()}}) {
    Problem p;
    p.loss().backward();
    double total = optim::clip_grad_norm_<double>({p.w, p.b}, 1.0, pn);
    check_close({total}, ref(name, 0, "total"), name + " total");
    check_close(p.w.grad().to_vector(), ref(name, 0, "w_grad"), name + " w.grad");
    check_close(p.b.grad().to_vector(), ref(name, 0, "b_grad"), name + " b.grad");
  }
  Problem p;
  p.loss().backward();
  optim::clip_grad_value_<double>({p.w}, 0.5);
  for (double v : p.w.grad().to_vector()) CHECK(std::abs(v) <= 0.5);
}

TEST_CASE("ramped_ema_decay: min(1 - 1/(t + 1), max)") {
  CHECK(optim::ramped_ema_decay(0) == 0.0);
  CHECK(optim::ramped_ema_decay(1) == 0.5);
  CHECK(optim::ramped_ema_decay(3) == 0.75);
  CHECK(optim::ramped_ema_decay(998) == doctest::Approx(998.0 / 999.0).epsilon(1e-15));
  CHECK(optim::ramped_ema_decay(998) < 0.999);
  CHECK(optim::ramped_ema_decay(999) == doctest::Approx(0.999).epsilon(1e-15));
  CHECK(optim::ramped_ema_decay(100000) == 0.999);
  CHECK(optim::ramped_ema_decay(9, 0.5) == 0.5);
  CHECK_THROWS_AS(optim::ramped_ema_decay(-1), Error);
  CHECK_THROWS_AS(optim::ramped_ema_decay(3, 1.5), Error);
}

TEST_CASE("ParameterEMA and ema_update average in place") {
  TD p = TD::from_vector({1.0, 2.0}).requires_grad_();
  optim::ParameterEMA<double> ema({p}, 0.9);
  {
    NoGradGuard ng;
    assign_(p, TD::from_vector({3.0, 4.0}));
  }
  ema.update({p});
  check_close(ema.shadow()[0].to_vector(), {1.2, 2.2}, "ema");
  TD q = TD::zeros({2});
  ema.copy_to({q});
  check_close(q.to_vector(), {1.2, 2.2}, "copy_to");
  optim::ParameterEMA<double> warm({p}, 0.999, true);
  CHECK(warm.current_decay() == doctest::Approx(0.1));  // (1 + 0) / (10 + 0)
}

TEST_CASE("optimizer argument checks") {
  Problem p;
  TD not_leaf = p.w * 2.0;
  CHECK_THROWS_AS(optim::SGD<double>({not_leaf}), Error);
  optim::SGDOptions o;
  o.nesterov = true;
  CHECK_THROWS_AS(optim::SGD<double>({p.w}, o), Error);
  CHECK_THROWS_AS(optim::StepLR<double>(*std::make_unique<optim::SGD<double>>(std::vector<TD>{p.w}), 0), Error);
}
