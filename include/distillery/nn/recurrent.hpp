// nn/recurrent.hpp — RNN (tanh) and LSTM, batch-first, built from differentiable ops.
//
// Parameters per layer l as torch.nn.RNN / torch.nn.LSTM (so state dicts carry the same names):
//   weight_ih_l{l} [G·H, in_l], weight_hh_l{l} [G·H, H], bias_ih_l{l} [G·H], bias_hh_l{l} [G·H]
//   with G = 1 (RNN) or 4 (LSTM, gate order i, f, g, o); all ~ U(±1/√H) as PyTorch.
// Step (RNN):  h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh)
// Step (LSTM): [i f g o] = x W_ihᵀ + b_ih + h W_hhᵀ + b_hh;  c' = σ(f) c + σ(i) tanh(g);
//              h' = σ(o) tanh(c')
// forward(x [B, T, in], lengths) -> output [B, T, H] (last layer; zeros after each sequence's
// length), h_n [layers, B, H] (state at each sequence's last valid step), c_n (LSTM only).
// The input projection of all steps is one GEMM; the loop over time runs only the recurrent
// part. Everything is made of ops, so gradients of gradients work (dataset distillation on text).
#pragma once
#include <cmath>
#include <vector>

#include "layers.hpp"

namespace distillery::nn {

enum class CellType { rnn, lstm };

template <class T>
struct RecurrentOutput {
  Tensor<T> output;  // [B, T, H]
  Tensor<T> h_n;     // [layers, B, H]
  Tensor<T> c_n;     // [layers, B, H] (LSTM)
};

template <class T = float>
class Recurrent : public Module<T> {
 public:
  Recurrent(CellType cell, int64_t input_size, int64_t hidden_size, Generator& gen,
            int64_t num_layers = 1)
      : cell_(cell), in_(input_size), H_(hidden_size), L_(num_layers) {
    check(input_size > 0 && hidden_size > 0 && num_layers > 0, type_name().c_str(),
          "sizes must be positive");
    const int64_t G = gates() * H_;
    w_.resize(4 * L_);
    for (int64_t l = 0; l < L_; ++l) {
      const std::string s = "_l" + std::to_string(l);
      w_[4 * l + 0] = Tensor<T>::empty({G, l == 0 ? in_ : H_});
      w_[4 * l + 1] = Tensor<T>::empty({G, H_});
      w_[4 * l + 2] = Tensor<T>::empty({G});
      w_[4 * l + 3] = Tensor<T>::empty({G});
      this->register_parameter("weight_ih" + s, &w_[4 * l + 0]);
      this->register_parameter("weight_hh" + s, &w_[4 * l + 1]);
      this->register_parameter("bias_ih" + s, &w_[4 * l + 2]);
      this->register_parameter("bias_hh" + s, &w_[4 * l + 3]);
    }
    reset_parameters(gen);
  }
  std::string type_name() const override { return cell_ == CellType::lstm ? "LSTM" : "RNN"; }
  void reset_parameters(Generator& gen) override {
    const double b = 1.0 / std::sqrt(static_cast<double>(H_));
    for (auto& w : w_) init::uniform_(w, -b, b, gen);
  }
  std::shared_ptr<Module<T>> clone_structure() const override {
    Generator g;
    return std::make_shared<Recurrent>(cell_, in_, H_, g, L_);
  }
  int64_t input_size() const { return in_; }
  int64_t hidden_size() const { return H_; }
  int64_t num_layers() const { return L_; }

  Tensor<T> forward(const Tensor<T>& x) override { return forward(x, {}).output; }

  // x [B, T, in]; lengths[b] in [1, T] (empty = all T).
  RecurrentOutput<T> forward(const Tensor<T>& x, const std::vector<int64_t>& lengths) {
    check(x.dim() == 3 && x.size(2) == in_, type_name().c_str(), "expected input [B, T, ", in_,
          "], got ", x.shape());
    const int64_t B = x.size(0), Tn = x.size(1);
    check(lengths.empty() || static_cast<int64_t>(lengths.size()) == B, type_name().c_str(),
          "expected ", B, " lengths, got ", lengths.size());
    // masks[t] [B, 1]: 1 while t < length (only built when some sequence is shorter than T)
    std::vector<Tensor<T>> masks;
    bool ragged = false;
    for (int64_t l : lengths) {
      check(l >= 1 && l <= Tn, type_name().c_str(), "length ", l, " not in [1, ", Tn, "]");
      ragged = ragged || l < Tn;
    }
    if (ragged)
      for (int64_t t = 0; t < Tn; ++t) {
        std::vector<T> m(B);
        for (int64_t b = 0; b < B; ++b) m[b] = t < lengths[b] ? T(1) : T(0);
        masks.push_back(Tensor<T>::from_vector(m, Shape{B, 1}, x.device()));
      }
    RecurrentOutput<T> r;
    std::vector<Tensor<T>> hn, cn;
    Tensor<T> seq = x;
    for (int64_t l = 0; l < L_; ++l) {
      Tensor<T> xw = linear(seq, w_[4 * l], w_[4 * l + 2]);  // [B, T, G·H]
      Tensor<T> h = Tensor<T>::zeros({B, H_}, x.device()), c = h;
      std::vector<Tensor<T>> outs;
      for (int64_t t = 0; t < Tn; ++t) {
        Tensor<T> pre = add(select(xw, 1, t), linear(h, w_[4 * l + 1], w_[4 * l + 3]));
        Tensor<T> h_new, c_new;
        if (cell_ == CellType::rnn) {
          h_new = tanh(pre);
        } else {
          auto g = chunk(pre, 4, 1);  // i, f, g, o: [B, H] each
          c_new = add(mul(sigmoid(g[1]), c), mul(sigmoid(g[0]), tanh(g[2])));
          h_new = mul(sigmoid(g[3]), tanh(c_new));
        }
        if (ragged) {  // past the end: keep the state, output zeros
          const Tensor<T>& m = masks[t];
          h = add(mul(m, h_new), mul(rsub_scalar(m, T(1)), h));
          if (cell_ == CellType::lstm) c = add(mul(m, c_new), mul(rsub_scalar(m, T(1)), c));
          outs.push_back(mul(m, h_new));
        } else {
          h = h_new;
          if (cell_ == CellType::lstm) c = c_new;
          outs.push_back(h_new);
        }
      }
      seq = stack(outs, 1);  // [B, T, H]
      hn.push_back(h);
      if (cell_ == CellType::lstm) cn.push_back(c);
    }
    r.output = seq;
    r.h_n = stack(hn, 0);
    if (cell_ == CellType::lstm) r.c_n = stack(cn, 0);
    return r;
  }

 private:
  int64_t gates() const { return cell_ == CellType::lstm ? 4 : 1; }
  CellType cell_;
  int64_t in_, H_, L_;
  std::vector<Tensor<T>> w_;  // per layer: weight_ih, weight_hh, bias_ih, bias_hh
};

template <class T = float>
struct RNN : Recurrent<T> {
  RNN(int64_t input_size, int64_t hidden_size, Generator& gen, int64_t num_layers = 1)
      : Recurrent<T>(CellType::rnn, input_size, hidden_size, gen, num_layers) {}
  std::shared_ptr<Module<T>> clone_structure() const override {
    Generator g;
    return std::make_shared<RNN>(this->input_size(), this->hidden_size(), g, this->num_layers());
  }
};
template <class T = float>
struct LSTM : Recurrent<T> {
  LSTM(int64_t input_size, int64_t hidden_size, Generator& gen, int64_t num_layers = 1)
      : Recurrent<T>(CellType::lstm, input_size, hidden_size, gen, num_layers) {}
  std::shared_ptr<Module<T>> clone_structure() const override {
    Generator g;
    return std::make_shared<LSTM>(this->input_size(), this->hidden_size(), g, this->num_layers());
  }
};

}  // namespace distillery::nn
