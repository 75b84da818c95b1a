// tests/nn/test_models.cpp — LeNet-5, Kim-CNN, RNN classifier and the RL networks.
#include <doctest/doctest.h>

#include <cmath>

#include <distillery/distillery.hpp>
#include <distillery/nn/nn.hpp>
#include <distillery/optim/optim.hpp>

using namespace distillery;
using TD = Tensor<double>;
constexpr double kPi = 3.14159265358979323846;

TEST_CASE("LeNet-5 (papers.md 3.2): layout, shapes and 61,706 parameters for 10 classes") {
  Generator g(1);
  nn::LeNet5<float> net(10, g);
  // conv1 6·1·25+6, conv2 16·6·25+16, fc1 400·120+120, fc2 120·84+84, fc3 84·10+10
  CHECK(net.num_parameters() == 156 + 2416 + 48120 + 10164 + 850);
  CHECK(net.num_parameters() == 61706);
  CHECK(net.conv1.options().padding[0] == 2);
  CHECK(net.forward(Tensor<float>::randn({3, 1, 28, 28}, g)).shape() == Shape{3, 10});
  nn::LeNet5<float> big(10, g, 1, 32);  // 32×32 inputs: no padding, same count
  CHECK(big.conv1.options().padding[0] == 0);
  CHECK(big.forward(Tensor<float>::randn({2, 1, 32, 32}, g)).shape() == Shape{2, 10});
  CHECK(big.num_parameters() == 61706);
  CHECK(nn::LeNet5<float>(100, g, 3).num_parameters() == 61706 - 850 + 84 * 100 + 100 + 2 * 150);
  CHECK_THROWS_AS(nn::LeNet5<float>(10, g, 1, 30), Error);
}

TEST_CASE("LeNet-5 learns a small synthetic problem with SGD + momentum") {
  Generator g(2);
  nn::LeNet5<float> net(3, g);
  // three classes: a bright square in different corners
  std::vector<float> px(12 * 28 * 28, 0.0f);
  std::vector<int64_t> labels;
  for (int i = 0; i < 12; ++i) {
    int cls = i % 3, r0 = cls == 1 ? 18 : 2, c0 = cls == 2 ? 18 : 2;
    for (int r = r0; r < r0 + 8; ++r)
      for (int c = c0; c < c0 + 8; ++c) px[i * 784 + r * 28 + c] = 1.0f;
    labels.push_back(cls);
  }
  auto x = Tensor<float>::from_vector(px, {12, 1, 28, 28});
  auto y = Tensor<int64_t>::from_vector(labels);
  optim::SGDOptions o;
  o.lr = 0.05;
  o.momentum = 0.9;
  optim::SGD<float> opt(net.parameters(), o);
  float first = 0, last = 0;
  for (int it = 0; it < 60; ++it) {
    auto loss = cross_entropy(net(x), y);
    if (it == 0) first = loss.item();
    last = loss.item();
    opt.zero_grad();
    loss.backward();
    opt.step();
  }
  CHECK(last < 0.1f * first);
  auto pred = argmax(net(x), 1).to_vector();
  for (size_t i = 0; i < pred.size(); ++i) CHECK(pred[i] == labels[i]);
}

TEST_CASE("Kim-CNN: kernel heights 3/4/5 x 100 filters, max over time, short sequences padded") {
  Generator g(3);
  nn::KimCNNConfig c;
  c.vocab_size = 50;
  c.embed_dim = 16;
  c.num_classes = 2;
  nn::KimCNN<double> net(c, g);
  CHECK(net.num_parameters() == 50 * 16 + (3 + 4 + 5) * 16 * 100 + 300 + 300 * 2 + 2);
  CHECK(net.named_parameters()[1].first == "convs.0.weight");
  CHECK(net.named_parameters()[1].second.shape() == Shape{100, 1, 3, 16});
  auto ids = Tensor<int64_t>::from_vector({1, 5, 7, 9, 2, 3, 4, 0, 1, 2, 3, 4, 5, 6, 7, 8}, {2, 8});
  net.eval();
  TD logits = net.forward(ids);
  CHECK(logits.shape() == Shape{2, 2});
  CHECK(max(abs(net.forward_embedded(net.embedding.forward(ids)) - logits)).item() == 0.0);
  CHECK(net.forward(Tensor<int64_t>::from_vector({1, 2}, {1, 2})).shape() == Shape{1, 2});
  // gradients reach the embeddings (text dataset distillation learns them)
  TD emb = net.embedding.forward(ids).detach().requires_grad_();
  TD gemb = grad({sum(net.forward_embedded(emb))}, {emb})[0];
  CHECK(max(abs(gemb)).item() > 0.0);
}

TEST_CASE("RNN/LSTM classifier shapes, lengths and clone") {
  Generator g(4);
  nn::RNNClassifierConfig c;
  c.vocab_size = 30;
  c.embed_dim = 8;
  c.hidden_size = 6;
  c.num_classes = 3;
  for (auto cell : {nn::CellType::rnn, nn::CellType::lstm}) {
    c.cell = cell;
    nn::RNNClassifier<double> net(c, g);
    net.eval();
    auto ids = Tensor<int64_t>::from_vector({1, 2, 3, 4, 5, 6, 0, 0}, {2, 4});
    TD y = net.forward(ids, {4, 2});
    CHECK(y.shape() == Shape{2, 3});
    // the padded tail of sequence 2 does not matter
    auto ids2 = Tensor<int64_t>::from_vector({1, 2, 3, 4, 5, 6, 9, 9}, {2, 4});
    CHECK(max(abs(net.forward(ids2, {4, 2}) - y)).item() < 1e-14);
    auto copy = nn::clone(net);
    CHECK(max(abs(copy->forward(ids, {4, 2}) - y)).item() == 0.0);
  }
  CHECK(nn::RNNClassifier<double>(c, g).named_parameters()[1].first == "rnn.weight_ih_l0");
}

TEST_CASE("Gaussian policy: log_prob and entropy formulas, sampling, gradients") {
  Generator g(5);
  nn::GaussianPolicy<double> pi(4, 2, {16, 16}, g, nn::Activation::tanh, -0.5);
  CHECK(pi.named_parameters().front().first == "log_std");  // own parameters first
  TD obs = TD::randn({3, 4}, g);
  TD act = TD::randn({3, 2}, g);
  TD mu = pi(obs);
  CHECK(mu.shape() == Shape{3, 2});
  auto m = mu.to_vector(), a = act.to_vector();
  const double s = std::exp(-0.5);
  auto lp = pi.log_prob(obs, act).to_vector();
  REQUIRE(lp.size() == 3);
  for (int i = 0; i < 3; ++i) {
    double want = 0;
    for (int j = 0; j < 2; ++j) {
      double z = (a[i * 2 + j] - m[i * 2 + j]) / s;
      want += -0.5 * z * z - std::log(s) - 0.5 * std::log(2 * kPi);
    }
    CHECK(lp[i] == doctest::Approx(want).epsilon(1e-12));
  }
  CHECK(pi.entropy().item() == doctest::Approx(2 * (0.5 + 0.5 * std::log(2 * kPi) - 0.5)));
  // samples: mean μ, std σ; no gradient from sample(), gradient from rsample()
  TD o1 = TD::zeros({4000, 4});
  TD smp = pi.sample(o1, g);
  CHECK(!smp.requires_grad());
  TD centred = smp - pi(o1).detach();
  CHECK(std::abs(mean(centred).item()) < 0.03);
  CHECK(std_dev(centred).item() == doctest::Approx(s).epsilon(0.03));
  TD r = pi.rsample(obs, g);
  auto grads = grad({sum(r)}, {pi.log_std});
  CHECK(grads[0].shape() == Shape{2});
  TD gl = grad({sum(pi.log_prob(obs, act))}, {pi.log_std})[0];
  CHECK(max(abs(gl)).item() > 0.0);
}

TEST_CASE("deterministic actor, Q and value networks") {
  Generator g(6);
  nn::DeterministicActor<double> actor(5, 2, {32, 32}, g, 2.0);
  TD obs = TD::randn({7, 5}, g) * 10.0;
  TD a = actor(obs);
  CHECK(a.shape() == Shape{7, 2});
  CHECK(max(abs(a)).item() <= 2.0);
  nn::QNetwork<double> q(5, 2, {32, 32}, g);
  CHECK(q.forward(obs, a).shape() == Shape{7, 1});
  CHECK(max(abs(q.forward(obs, a) - q.forward(cat(std::vector<TD>{obs, a}, 1)))).item() == 0.0);
  nn::ValueNetwork<double> v(5, {16}, g);
  CHECK(v(obs).shape() == Shape{7, 1});
  auto target = nn::clone(q);  // target networks are clones
  optim::ema_update(*target, q, 0.5);
  CHECK(max(abs(target->forward(obs, a) - q.forward(obs, a))).item() < 1e-12);
}
