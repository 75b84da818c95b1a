// tests/nn/test_transformer.cpp — TransformerEncoderLayer against PyTorch; the encoder's hidden
// states, attention maps and run-time width/depth slicing.
#include <doctest/doctest.h>

#include <distillery/distillery.hpp>
#include <distillery/nn/nn.hpp>

#include "torch_fixtures.hpp"

using namespace distillery;
using TD = Tensor<double>;
using torch_fixtures::max_abs_diff;

namespace {
nn::TransformerConfig small_config(bool pre_ln) {
  nn::TransformerConfig c;
  c.d_model = 8;
  c.nhead = 2;
  c.dim_feedforward = 16;
  c.dropout = 0.0;
  c.norm_first = pre_ln;
  c.activation = pre_ln ? nn::Activation::gelu : nn::Activation::relu;
  return c;
}
}  // namespace

TEST_CASE("TransformerEncoderLayer matches torch (post-LN relu and pre-LN gelu, padding mask)") {
  Generator g(1);
  TD x = torch_fixtures::get("mha", "input");
  TD pad = torch_fixtures::get("mha", "pad");
  for (bool pre : {false, true}) {
    const char* group = pre ? "enc_pre" : "enc_post";
    nn::TransformerEncoderLayer<double> layer(small_config(pre), g);
    layer.load_state_dict(torch_fixtures::state_dict(group));
    auto r = layer.forward(x, pad, /*need_weights=*/true);
    CHECK_MESSAGE(max_abs_diff(r.hidden, torch_fixtures::get(group, "output")) < 1e-12, group);
    CHECK(r.attention.shape() == Shape{2, 2, 5, 5});
  }
}

TEST_CASE("TransformerEncoder returns L+1 hidden states and L attention maps") {
  Generator g(2);
  nn::TransformerConfig c = small_config(false);
  c.dropout = 0.1;
  nn::TransformerEncoder<double> enc(c, 3, g);
  enc.eval();
  CHECK(enc.named_parameters().front().first == "layers.0.self_attn.in_proj_weight");
  CHECK(enc.named_parameters().back().first == "layers.2.norm2.bias");
  TD x = TD::randn({2, 7, 8}, g);
  nn::EncoderOptions<double> o;
  o.output_hidden_states = true;
  o.output_attentions = true;
  auto r = enc.forward(x, o);
  REQUIRE(r.hidden_states.size() == 4);
  REQUIRE(r.attentions.size() == 3);
  CHECK(max_abs_diff(r.hidden_states[0], x) == 0.0);  // the embedding output
  CHECK(max_abs_diff(r.hidden_states[3], r.last_hidden_state) == 0.0);
  // each hidden state is the previous one through its layer
  for (int l = 0; l < 3; ++l) {
    auto step = enc.layer(l).forward(r.hidden_states[l], TD(), true);
    CHECK(max_abs_diff(step.hidden, r.hidden_states[l + 1]) < 1e-12);
    CHECK(max_abs_diff(step.attention, r.attentions[l]) < 1e-12);
  }
  for (auto& a : r.attentions) CHECK(max(abs(sum(a, {-1}) - 1.0)).item() < 1e-12);
  CHECK(max_abs_diff(enc(x), r.last_hidden_state) == 0.0);
  // in training mode dropout makes two runs differ
  enc.train();
  CHECK(max_abs_diff(enc(x), enc(x)) > 0.0);
}

TEST_CASE("pre-LN encoder with a final norm: the last hidden state is normalised") {
  Generator g(3);
  nn::TransformerEncoder<double> enc(small_config(true), 2, g, /*final_norm=*/true);
  CHECK(enc.named_parameters().back().first == "norm.bias");
  TD x = TD::randn({1, 4, 8}, g);
  nn::EncoderOptions<double> o;
  o.output_hidden_states = true;
  auto r = enc.forward(x, o);
  CHECK(max(abs(mean(r.last_hidden_state, {-1}))).item() < 1e-12);
  CHECK(max_abs_diff(r.hidden_states.back(), r.last_hidden_state) == 0.0);
}

TEST_CASE("depth slicing follows DynaBERT's rule; explicit layer lists") {
  Generator g(4);
  nn::TransformerConfig c = small_config(false);
  nn::TransformerEncoder<double> enc(c, 12, g);
  CHECK(enc.kept_layers(1.0) == std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  CHECK(enc.kept_layers(0.5) == std::vector<int64_t>{0, 2, 4, 6, 8, 10});
  CHECK(enc.kept_layers(0.75) == std::vector<int64_t>{0, 1, 2, 4, 5, 6, 8, 9, 10});
  CHECK(enc.kept_layers(0.25) == std::vector<int64_t>{0, 4, 8});
  TD x = TD::randn({2, 3, 8}, g);
  nn::EncoderOptions<double> half;
  half.depth_mult = 0.5;
  half.output_hidden_states = true;
  half.output_attentions = true;
  auto r = enc.forward(x, half);
  CHECK(r.hidden_states.size() == 7);
  CHECK(r.attentions.size() == 6);
  nn::EncoderOptions<double> expl;
  expl.layers = {0, 2, 4, 6, 8, 10};
  CHECK(max_abs_diff(enc.forward(x, expl).last_hidden_state, r.last_hidden_state) == 0.0);
  expl.layers = {12};
  CHECK_THROWS_AS(enc.forward(x, expl), Error);
}

TEST_CASE("width slicing = the full network with the unused heads and neurons zeroed") {
  Generator g(5);
  nn::TransformerConfig c = small_config(false);
  c.nhead = 4;
  c.dim_feedforward = 12;
  nn::TransformerEncoder<double> enc(c, 2, g);
  auto w = enc.width(0.5);
  CHECK(w.heads == 2);
  CHECK(w.ffn == 6);
  CHECK(enc.width(0.75).heads == 3);
  CHECK(enc.width(0.75).ffn == 9);
  TD x = TD::randn({2, 5, 8}, g);
  TD pad = TD::zeros({2, 5});
  {
    NoGradGuard ng;
    fill_(narrow(select(pad, 0, 1), 0, 4, 1), 1.0);
  }
  nn::EncoderOptions<double> o;
  o.width_mult = 0.5;
  o.key_padding_mask = pad;
  o.output_attentions = true;
  auto r = enc.forward(x, o);
  CHECK(r.attentions[0].shape() == Shape{2, 2, 5, 5});

  auto zeroed = nn::clone(enc);
  {
    NoGradGuard ng;
    for (int l = 0; l < 2; ++l) {
      auto& layer = zeroed->layer(l);
      zero_(narrow(layer.self_attn.out_proj.weight, 1, 4, 4));  // heads 3, 4 (dh = 2)
      zero_(narrow(layer.linear2.weight, 1, 6, 6));             // neurons 7..12
    }
  }
  nn::EncoderOptions<double> full;
  full.key_padding_mask = pad;
  CHECK(max_abs_diff(r.last_hidden_state, zeroed->forward(x, full).last_hidden_state) < 1e-12);

  // training the sub-network changes only the shared slices
  sum(enc.forward(x, o).last_hidden_state).backward();
  auto& l0 = enc.layer(0);
  CHECK(max(abs(narrow(l0.linear1.weight.grad(), 0, 6, 6))).item() == 0.0);
  CHECK(max(abs(narrow(l0.linear1.weight.grad(), 0, 0, 6))).item() > 0.0);
  CHECK(max(abs(narrow(l0.self_attn.out_proj.weight.grad(), 1, 4, 4))).item() == 0.0);
}

TEST_CASE("transformer state dict round trip and clone") {
  Generator g(6);
  nn::TransformerEncoder<double> a(small_config(false), 2, g), b(small_config(false), 2, g);
  TD x = TD::randn({1, 3, 8}, g);
  b.load_state_dict(a.state_dict());
  CHECK(max_abs_diff(a(x), b(x)) == 0.0);
  auto c = nn::clone(a);
  CHECK(max_abs_diff(a(x), c->forward(x)) == 0.0);
  CHECK(a.num_parameters() == 2 * (24 * 8 + 24 + 64 + 8 + 16 * 8 + 16 + 8 * 16 + 8 + 4 * 8));
}
