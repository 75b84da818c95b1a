// nn/init.hpp — parameter initialisation, PyTorch's torch.nn.init with an explicit Generator.
//
// Every function fills an existing tensor in place (assign_, under NoGradGuard), so it works on
// parameters already registered in a module or held by an optimizer. Fans follow PyTorch: for a
// weight [out, in, k...] fan_in = in·∏k and fan_out = out·∏k.
//
// Defaults used by the layers (Init::pytorch), as torch.nn.Linear / Conv*d.reset_parameters:
//   weight ~ kaiming_uniform(a = √5)  = U(±1/√fan_in)      bias ~ U(±1/√fan_in)
// Init::xavier_normal (the dataset-distillation reference): weight ~ N(0, 2/(fan_in+fan_out)),
// bias = 0. Embedding weights ~ N(0, 1); LayerNorm weight = 1, bias = 0.
#pragma once
#include <cmath>
#include <utility>

#include "../ops/inplace.hpp"

namespace distillery::nn {

enum class Init { pytorch, xavier_normal };

namespace init {

// (fan_in, fan_out) of a weight of shape [out, in, k...]; a 1-D tensor has fan_in = fan_out = n.
inline std::pair<int64_t, int64_t> fans(const Shape& s) {
  check(s.size() >= 1, "init", "cannot compute fans of a scalar");
  if (s.size() == 1) return {s[0], s[0]};
  int64_t receptive = 1;
  for (int i = 2; i < s.size(); ++i) receptive *= s[i];
  return {s[1] * receptive, s[0] * receptive};
}

template <class T>
void uniform_(const Tensor<T>& t, double lo, double hi, Generator& gen) {
  NoGradGuard ng;
  assign_(t, Tensor<T>::rand(t.shape(), gen, lo, hi, t.device()));
}
template <class T>
void normal_(const Tensor<T>& t, double mean, double std, Generator& gen) {
  NoGradGuard ng;
  assign_(t, Tensor<T>::randn(t.shape(), gen, mean, std, t.device()));
}
template <class T>
void constant_(const Tensor<T>& t, double value) {
  NoGradGuard ng;
  fill_(t, T(value));
}
template <class T> void zeros_(const Tensor<T>& t) { constant_(t, 0.0); }
template <class T> void ones_(const Tensor<T>& t) { constant_(t, 1.0); }

// U(±gain·√(3/fan_in)), gain = √(2/(1+a²)) (leaky-ReLU gain, PyTorch's default nonlinearity).
template <class T>
void kaiming_uniform_(const Tensor<T>& w, double a, Generator& gen) {
  const double gain = std::sqrt(2.0 / (1.0 + a * a));
  const double bound = gain * std::sqrt(3.0 / static_cast<double>(fans(w.shape()).first));
  uniform_(w, -bound, bound, gen);
}
template <class T>
void xavier_normal_(const Tensor<T>& w, Generator& gen, double gain = 1.0) {
  auto [fi, fo] = fans(w.shape());
  normal_(w, 0.0, gain * std::sqrt(2.0 / static_cast<double>(fi + fo)), gen);
}
template <class T>
void xavier_uniform_(const Tensor<T>& w, Generator& gen, double gain = 1.0) {
  auto [fi, fo] = fans(w.shape());
  const double bound = gain * std::sqrt(6.0 / static_cast<double>(fi + fo));
  uniform_(w, -bound, bound, gen);
}

// The weight/bias pair of a Linear or Conv layer under `scheme` (bias may be undefined).
template <class T>
void weight_and_bias_(const Tensor<T>& w, const Tensor<T>& b, Init scheme, Generator& gen) {
  if (scheme == Init::xavier_normal) {
    xavier_normal_(w, gen);
    if (b.defined()) zeros_(b);
    return;
  }
  kaiming_uniform_(w, std::sqrt(5.0), gen);
  if (b.defined()) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(fans(w.shape()).first));
    uniform_(b, -bound, bound, gen);
  }
}

}  // namespace init
}  // namespace distillery::nn
