// tests/nn/test_module.cpp — the Module base: dotted names, state dicts, clone, modes, checkpoints.
#include <doctest/doctest.h>

#include <distillery/distillery.hpp>
#include <distillery/nn/nn.hpp>

#include "../fixtures/test_support.hpp"

using namespace distillery;

namespace {
// A user-defined module: a parameter of its own, a member child, an owned Sequential, a buffer.
struct Net : nn::Module<float> {
  Tensor<float> scale = Tensor<float>::ones({3});
  Tensor<float> running = Tensor<float>::zeros({3});
  nn::Linear<float> head;
  std::shared_ptr<nn::Sequential<float>> features;

  explicit Net(Generator& g) : head(3, 2, g) {
    register_parameter("scale", &scale);
    register_buffer("running", &running);
    features = register_module("features", std::make_shared<nn::Sequential<float>>());
    features->push_back(std::make_shared<nn::Linear<float>>(4, 5, g));
    features->push_back(std::make_shared<nn::ReLU<float>>());
    features->push_back(std::make_shared<nn::Linear<float>>(5, 3, g));
    register_module("head", &head);
  }
  std::string type_name() const override { return "Net"; }
  Tensor<float> forward(const Tensor<float>& x) override {
    return head.forward(features->forward(x) * scale);
  }
  std::shared_ptr<nn::Module<float>> clone_structure() const override {
    Generator g;
    return std::make_shared<Net>(g);
  }
};

std::vector<std::string> names(const nn::Module<float>::NamedTensors& v) {
  std::vector<std::string> out;
  for (auto& kv : v) out.push_back(kv.first);
  return out;
}
}  // namespace

TEST_CASE("parameters are collected recursively with dotted names, own ones first") {
  Generator g(1);
  Net net(g);
  std::vector<std::string> want = {"scale", "features.0.weight", "features.0.bias",
                                   "features.2.weight", "features.2.bias", "head.weight",
                                   "head.bias"};
  CHECK(names(net.named_parameters()) == want);
  CHECK(names(net.named_buffers()) == std::vector<std::string>{"running"});
  CHECK(net.num_parameters() == 3 + 4 * 5 + 5 + 5 * 3 + 3 + 3 * 2 + 2);
  for (auto& p : net.parameters()) CHECK((p.requires_grad() && p.is_leaf()));
  auto mods = net.named_modules();
  REQUIRE(mods.size() == 6);  // Net, features, features.0, .1, .2, head
  CHECK(mods[1].first == "features");
  CHECK(mods[3].first == "features.1");
  CHECK(mods[3].second->type_name() == "ReLU");
}

TEST_CASE("registration rejects duplicates, dots and undefined tensors") {
  Generator g(1);
  Net net(g);
  Tensor<float> t = Tensor<float>::ones({1});
  CHECK_THROWS_AS(net.register_parameter("scale", &t), Error);
  CHECK_THROWS_AS(net.register_parameter("a.b", &t), Error);
  Tensor<float> undefined;
  CHECK_THROWS_AS(net.register_buffer("u", &undefined), Error);
}

TEST_CASE("state_dict round trip: values copied in place, strict key and shape checks") {
  Generator g1(1), g2(2);
  Net a(g1), b(g2);
  auto x = Tensor<float>::randn({2, 4}, g1);
  CHECK(sum(abs(a(x) - b(x))).item() > 1e-3f);
  Tensor<float> handle = b.head.weight;  // an optimizer would hold this
  b.load_state_dict(a.state_dict());
  CHECK(sum(abs(a(x) - b(x))).item() == 0.0f);
  CHECK(handle.same_storage(b.head.weight));  // identity kept
  CHECK(b.state_dict().size() == 8);          // 7 parameters + 1 buffer

  auto sd = a.state_dict();
  sd.erase("head.bias");
  CHECK_THROWS_AS(b.load_state_dict(sd), Error);
  b.load_state_dict(sd, /*strict=*/false);
  sd["extra"] = Tensor<float>::ones({1});
  CHECK_THROWS_AS(b.load_state_dict(sd), Error);
  auto bad = a.state_dict();
  bad["head.weight"] = Tensor<float>::ones({3, 3});
  CHECK_THROWS_AS(b.load_state_dict(bad), Error);
}

TEST_CASE("clone is a deep copy with the same values, modes and requires_grad") {
  Generator g(3);
  Net a(g);
  a.eval();
  a.head.bias.requires_grad_(false);
  auto c = nn::clone(a);
  auto x = Tensor<float>::randn({2, 4}, g);
  CHECK(sum(abs(a(x) - c->forward(x))).item() == 0.0f);
  CHECK(!c->is_training());
  CHECK(!c->features->is_training());
  CHECK(!c->head.bias.requires_grad());
  CHECK(c->head.weight.requires_grad());
  CHECK(!c->head.weight.same_storage(a.head.weight));
  {  // changing the copy leaves the original alone
    NoGradGuard ng;
    fill_(c->head.weight, 0.0f);
  }
  CHECK(sum(abs(a.head.weight)).item() > 0.0f);
}

TEST_CASE("train/eval reach every descendant; dropout follows the mode") {
  Generator g(4);
  nn::MLP<float> mlp({8, 16, 4}, g, [] { nn::MLPOptions o; o.dropout = 0.5; return o; }());
  CHECK(mlp.size() == 4);  // Linear ReLU Dropout Linear
  auto x = Tensor<float>::randn({5, 8}, g);
  mlp.eval();
  CHECK(!mlp[2].is_training());
  CHECK(sum(abs(mlp(x) - mlp(x))).item() == 0.0f);  // deterministic in eval
  mlp.train();
  CHECK(mlp[2].is_training());
  CHECK(sum(abs(mlp(x) - mlp(x))).item() > 0.0f);   // two dropout masks
}

TEST_CASE("requires_grad_, zero_grad, reset_all_parameters, to(cpu)") {
  Generator g(5);
  Net net(g);
  auto x = Tensor<float>::randn({2, 4}, g);
  sum(net(x)).backward();
  CHECK(net.head.weight.grad().defined());
  net.zero_grad();
  CHECK(!net.head.weight.grad().defined());
  net.requires_grad_(false);
  CHECK(net.num_parameters(/*trainable_only=*/true) == 0);
  net.requires_grad_(true);
  auto before = net.head.weight.to_vector();
  Tensor<float> handle = net.head.weight;
  Generator g2(6);
  net.reset_all_parameters(g2);
  CHECK(net.head.weight.to_vector() != before);
  CHECK(handle.same_storage(net.head.weight));
  net.to(Device::cpu);  // no-op on the same device
  CHECK(handle.same_storage(net.head.weight));
}

TEST_CASE("checkpoint: safetensors save/load through the module's names") {
  test_support::TempDir dir;
  Generator g1(7), g2(8);
  Net a(g1), b(g2);
  nn::save_checkpoint(dir.file("net.safetensors"), a, {{"epoch", "3"}});
  Metadata md;
  nn::load_checkpoint(dir.file("net.safetensors"), b, true, &md);
  CHECK(md["epoch"] == "3");
  auto x = Tensor<float>::randn({2, 4}, g1);
  CHECK(sum(abs(a(x) - b(x))).item() == 0.0f);
  // a double model loads the float file (dtype converted)
  StateDict sd = load_safetensors(dir.file("net.safetensors"));
  CHECK(std::string(dtype_name(sd.at("head.weight"))) == "F32");
  nn::Linear<double> lin(3, 2, g1);
  StateDict part;
  part["weight"] = sd.at("head.weight");
  part["bias"] = sd.at("head.bias");
  nn::load_state_dict(lin, part);
  auto want = a.head.weight.to_vector();
  auto got = lin.weight.to_vector();
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]));
}

TEST_CASE("PyTorch-default initialisation bounds and Xavier-normal statistics") {
  Generator g(9);
  nn::Linear<double> lin(400, 300, g);
  double bound = 1.0 / std::sqrt(400.0);
  CHECK(max(abs(lin.weight)).item() <= bound);
  CHECK(max(abs(lin.bias)).item() <= bound);
  double var = mean(square(lin.weight)).item();  // U(±b) has variance b²/3
  CHECK(var == doctest::Approx(bound * bound / 3).epsilon(0.03));

  nn::Conv2d<double> conv(6, 16, 5, g, 1, 0, true, nn::Init::xavier_normal);
  double want = 2.0 / (6 * 25 + 16 * 25);
  CHECK(mean(square(conv.weight)).item() == doctest::Approx(want).epsilon(0.1));
  CHECK(max(abs(conv.bias)).item() == 0.0);

  Generator a(42), b(42);  // same seed, same weights
  nn::LeNet5<float> n1(10, a), n2(10, b);
  CHECK(n1.fc1.weight.to_vector() == n2.fc1.weight.to_vector());
}
