// tests/nn/test_layers.cpp — shapes and values of every layer; attention and recurrent layers
// against PyTorch outputs (tests/fixtures/nn_fixtures.txt).
#include <doctest/doctest.h>

#include <distillery/distillery.hpp>
#include <distillery/nn/nn.hpp>

#include "torch_fixtures.hpp"

using namespace distillery;
using TD = Tensor<double>;
using torch_fixtures::max_abs_diff;

TEST_CASE("shapes of the basic layers") {
  Generator g(1);
  TD img = TD::randn({2, 3, 12, 10}, g);
  CHECK(nn::Linear<double>(10, 7, g)(TD::randn({4, 5, 10}, g)).shape() == Shape{4, 5, 7});
  CHECK(nn::Conv2d<double>(3, 8, 3, g, 1, 1)(img).shape() == Shape{2, 8, 12, 10});
  CHECK(nn::Conv2d<double>(3, 8, 3, g, 2, 0)(img).shape() == Shape{2, 8, 5, 4});
  Conv2dOptions o;
  o.groups = 3;
  CHECK(nn::Conv2d<double>(3, 6, {3, 1}, g, o)(img).shape() == Shape{2, 6, 10, 10});
  CHECK(nn::Conv1d<double>(4, 6, 3, g, 1, 1)(TD::randn({2, 4, 9}, g)).shape() == Shape{2, 6, 9});
  CHECK(nn::MaxPool2d<double>(2)(img).shape() == Shape{2, 3, 6, 5});
  CHECK(nn::AvgPool2d<double>(3, 1, 1)(img).shape() == Shape{2, 3, 12, 10});
  CHECK(nn::Flatten<double>()(img).shape() == Shape{2, 360});
  CHECK(nn::Dropout<double>(0.3)(img).shape() == img.shape());
  CHECK(nn::ReLU<double>()(img).shape() == img.shape());
  CHECK(nn::LayerNorm<double>(10)(img).shape() == img.shape());
  CHECK(nn::LayerNorm<double>(Shape{12, 10})(img).shape() == img.shape());
  nn::Embedding<double> emb(11, 4, g);
  CHECK(emb.forward(Tensor<int64_t>::from_vector({1, 2, 3, 10, 0, 5}, {2, 3})).shape() == Shape{2, 3, 4});
  CHECK(nn::MLP<double>({10, 32, 32, 3}, g)(TD::randn({6, 10}, g)).shape() == Shape{6, 3});
  CHECK(nn::MLP<double>({10, 32, 32, 3}, g).size() == 5);
}

TEST_CASE("layers compute what they say") {
  Generator g(2);
  nn::Linear<double> lin(3, 2, g);
  TD x = TD::randn({4, 3}, g);
  CHECK(max_abs_diff(lin(x), matmul(x, lin.weight.t()) + lin.bias) < 1e-14);
  nn::Linear<double> nobias(3, 2, g, false);
  CHECK(nobias.named_parameters().size() == 1);
  // Conv1d is Conv2d on a height-1 image
  nn::Conv1d<double> c1(2, 3, 3, g);
  TD s = TD::randn({1, 2, 7}, g);
  TD ref = squeeze(conv2d(unsqueeze(s, 2), unsqueeze(c1.weight, 2), c1.bias), 2);
  CHECK(max_abs_diff(c1(s), ref) < 1e-14);
  // LayerNorm: zero mean, unit (biased) variance per row with the default affine
  nn::LayerNorm<double> ln(6);
  TD y = ln(TD::randn({5, 6}, g) * 3.0 + 1.0);
  CHECK(max(abs(mean(y, {-1}))).item() < 1e-12);
  CHECK(max(abs(mean(square(y), {-1}) - 1.0)).item() < 1e-4);
  // Embedding rows
  nn::Embedding<double> emb(5, 3, g);
  TD e = emb.forward(Tensor<int64_t>::from_vector({4, 0}));
  CHECK(max_abs_diff(select(e, 0, 0), select(emb.weight, 0, 4)) == 0.0);
  // Dropout: identity in eval, zeros or 1/(1-p)-scaled values in training
  nn::Dropout<double> d(0.5, 7);
  TD ones = TD::ones({1000});
  auto v = d(ones).to_vector();
  int zeros = 0;
  for (double u : v) {
    CHECK((u == 0.0 || u == 2.0));
    zeros += u == 0.0;
  }
  CHECK(zeros > 400);
  CHECK(zeros < 600);
  d.eval();
  CHECK(max_abs_diff(d(ones), ones) == 0.0);
  // Sequential chains and exposes its layers
  auto seq = nn::Sequential<double>({std::make_shared<nn::Linear<double>>(3, 4, g),
                                     std::make_shared<nn::Tanh<double>>()});
  CHECK(max_abs_diff(seq(x), tanh(seq.at<nn::Linear<double>>(0)(x))) == 0.0);
  CHECK_THROWS_AS(seq.at<nn::Linear<double>>(1), Error);
}

TEST_CASE("MultiheadAttention matches torch.nn.MultiheadAttention (padding mask, per-head weights)") {
  Generator g(3);
  nn::MultiheadAttention<double> mha(8, 2, g);
  mha.load_state_dict(torch_fixtures::state_dict("mha"));  // PyTorch's names
  TD x = torch_fixtures::get("mha", "input");
  nn::AttentionOptions<double> o;
  o.key_padding_mask = torch_fixtures::get("mha", "pad");
  o.need_weights = true;
  auto r = mha.forward(x, x, x, o);
  CHECK(max_abs_diff(r.output, torch_fixtures::get("mha", "output")) < 1e-12);
  CHECK(max_abs_diff(r.weights, torch_fixtures::get("mha", "attn")) < 1e-12);
  CHECK(r.weights.shape() == Shape{2, 2, 5, 5});
  // padded keys get zero probability
  CHECK(max(abs(narrow(select(r.weights, 0, 1), -1, 3, 2))).item() == 0.0);
}

TEST_CASE("MultiheadAttention: fully padded rows stay finite; head slicing = zeroed heads") {
  Generator g(4);
  nn::MultiheadAttention<double> mha(12, 3, g);
  TD x = TD::randn({2, 4, 12}, g);
  nn::AttentionOptions<double> o;
  o.key_padding_mask = TD::ones({2, 4});
  o.need_weights = true;
  auto r = mha.forward(x, x, x, o);
  for (double v : r.output.to_vector()) CHECK(std::isfinite(v));
  CHECK(max(abs(r.weights - 0.25)).item() < 1e-12);  // uniform, not NaN

  // the first 2 of 3 heads = the full layer with head 3's output-projection columns zeroed
  nn::AttentionOptions<double> sliced;
  sliced.active_heads = 2;
  sliced.need_weights = true;
  auto rs = mha.forward(x, x, x, sliced);
  CHECK(rs.weights.shape() == Shape{2, 2, 4, 4});
  auto zeroed = nn::clone(mha);
  {
    NoGradGuard ng;
    zero_(narrow(zeroed->out_proj.weight, 1, 8, 4));
  }
  CHECK(max_abs_diff(rs.output, zeroed->forward(x, x, x).output) < 1e-12);
  // gradients reach only the active slices
  sum(mha.forward(x, x, x, sliced).output).backward();
  TD gw = mha.in_proj_weight.grad();
  CHECK(max(abs(narrow(gw, 0, 8, 4))).item() == 0.0);    // q rows of head 3
  CHECK(max(abs(narrow(gw, 0, 0, 8))).item() > 0.0);
  CHECK_THROWS_AS(mha.forward(x, x, x, [] { nn::AttentionOptions<double> b; b.active_heads = 4; return b; }()), Error);
}

TEST_CASE("LSTM and RNN match torch.nn.LSTM / torch.nn.RNN (2 layers, batch first)") {
  Generator g(5);
  nn::LSTM<double> lstm(3, 5, g, 2);
  lstm.load_state_dict(torch_fixtures::state_dict("lstm"));
  TD x = torch_fixtures::get("lstm", "input");
  auto r = lstm.forward(x, {});
  CHECK(max_abs_diff(r.output, torch_fixtures::get("lstm", "output")) < 1e-12);
  CHECK(max_abs_diff(r.h_n, torch_fixtures::get("lstm", "h_n")) < 1e-12);
  CHECK(max_abs_diff(r.c_n, torch_fixtures::get("lstm", "c_n")) < 1e-12);
  nn::RNN<double> rnn(3, 5, g, 2);
  rnn.load_state_dict(torch_fixtures::state_dict("rnn"));
  auto q = rnn.forward(x, {});
  CHECK(max_abs_diff(q.output, torch_fixtures::get("rnn", "output")) < 1e-12);
  CHECK(max_abs_diff(q.h_n, torch_fixtures::get("rnn", "h_n")) < 1e-12);
}

TEST_CASE("recurrent lengths: the state stops at each sequence's end") {
  Generator g(6);
  nn::LSTM<double> lstm(3, 4, g);
  TD x = TD::randn({2, 6, 3}, g);
  auto full = lstm.forward(narrow(x, 0, 1, 1), {});
  auto r = lstm.forward(x, {6, 2});
  // sequence 1 with length 2 ends where the same 2 steps run alone end
  auto short_run = lstm.forward(narrow(narrow(x, 0, 1, 1), 1, 0, 2), {});
  CHECK(max_abs_diff(select(select(r.h_n, 0, 0), 0, 1), select(select(short_run.h_n, 0, 0), 0, 0)) < 1e-14);
  CHECK(max(abs(narrow(select(r.output, 0, 1), 0, 2, 4))).item() == 0.0);  // zeros after the end
  CHECK(full.output.shape() == Shape{1, 6, 4});
  CHECK_THROWS_AS(lstm.forward(x, {7, 1}), Error);
}
