// nn/policies.hpp — networks for continuous-control RL (PPO, DDPG/TD3, dual policy distillation).
//
//   GaussianPolicy(obs, act, hidden)   mean = MLP(obs) [B, act]; log_std [act] is a parameter
//                                      independent of the state (PPO's usual parametrisation).
//     log_prob(obs, a [B, act]) -> [B]  Σ_j −½((a_j − μ_j)/σ_j)² − log σ_j − ½ log 2π
//     entropy()                  -> []  Σ_j ½ + ½ log 2π + log σ_j (the same for every state)
//     sample(obs, gen)           -> [B, act]  μ + σ ε, no gradient;  rsample: with gradient
//   DeterministicActor(obs, act)      a = max_action · tanh(MLP(obs))            [B, act]
//   QNetwork(obs, act)                Q(s, a) = MLP(cat(obs, act))               [B, 1]
//   ValueNetwork(obs)                 V(s) = MLP(obs)                            [B, 1]
// Parameter names: "net.0.weight", ... for the MLPs, "log_std" for the policy's log-std.
#pragma once
#include <cmath>
#include <vector>

#include "container.hpp"

namespace distillery::nn {

namespace detail {
inline std::vector<int64_t> layer_sizes(int64_t in, const std::vector<int64_t>& hidden, int64_t out) {
  std::vector<int64_t> s{in};
  s.insert(s.end(), hidden.begin(), hidden.end());
  s.push_back(out);
  return s;
}
constexpr double kHalfLog2Pi = 0.91893853320467274178;  // ½ log 2π
}  // namespace detail

template <class T = float>
class GaussianPolicy : public Module<T> {
 public:
  MLP<T> net;         // obs -> mean
  Tensor<T> log_std;  // [act]

  GaussianPolicy(int64_t obs_dim, int64_t act_dim, std::vector<int64_t> hidden, Generator& gen,
                 Activation activation = Activation::tanh, double log_std_init = 0.0)
      : net(detail::layer_sizes(obs_dim, hidden, act_dim), gen, mlp_options(activation)),
        obs_(obs_dim), act_(act_dim), hidden_(std::move(hidden)), activation_(activation),
        log_std_init_(log_std_init) {
    this->register_module("net", &net);
    log_std = Tensor<T>::full({act_dim}, T(log_std_init));
    this->register_parameter("log_std", &log_std);
  }
  std::string type_name() const override { return "GaussianPolicy"; }
  std::shared_ptr<Module<T>> clone_structure() const override {
    Generator g;
    return std::make_shared<GaussianPolicy>(obs_, act_, hidden_, g, activation_, log_std_init_);
  }
  void reset_parameters(Generator&) override { init::constant_(log_std, log_std_init_); }

  Tensor<T> forward(const Tensor<T>& obs) override { return net.forward(obs); }  // mean [B, act]
  Tensor<T> stddev() const { return exp(log_std); }                              // [act]

  // obs [B, obs], action [B, act] -> [B]
  Tensor<T> log_prob(const Tensor<T>& obs, const Tensor<T>& action) {
    Tensor<T> z = div(sub(action, forward(obs)), exp(log_std));
    Tensor<T> per_dim = add_scalar(neg(add(mul_scalar(square(z), T(0.5)), log_std)),
                                   T(-detail::kHalfLog2Pi));
    return sum(per_dim, {-1});
  }
  Tensor<T> entropy() const {
    return add_scalar(sum(log_std), T(act_ * (0.5 + detail::kHalfLog2Pi)));
  }
  // A draw from N(μ(obs), σ²) without gradient.
  Tensor<T> sample(const Tensor<T>& obs, Generator& gen) {
    NoGradGuard ng;
    return rsample(obs, gen);
  }
  // Reparameterised draw μ + σ ε (differentiable in the parameters).
  Tensor<T> rsample(const Tensor<T>& obs, Generator& gen) {
    Tensor<T> mu = forward(obs);
    Tensor<T> eps = Tensor<T>::randn(mu.shape(), gen, 0, 1, mu.device());
    return add(mu, mul(eps, exp(log_std)));
  }

 private:
  static MLPOptions mlp_options(Activation a) {
    MLPOptions o;
    o.activation = a;
    return o;
  }
  int64_t obs_, act_;
  std::vector<int64_t> hidden_;
  Activation activation_;
  double log_std_init_;
};

template <class T = float>
class DeterministicActor : public Module<T> {
 public:
  MLP<T> net;

  DeterministicActor(int64_t obs_dim, int64_t act_dim, std::vector<int64_t> hidden, Generator& gen,
                     double max_action = 1.0)
      : net(detail::layer_sizes(obs_dim, hidden, act_dim), gen), obs_(obs_dim), act_(act_dim),
        hidden_(std::move(hidden)), max_action_(max_action) {
    this->register_module("net", &net);
  }
  std::string type_name() const override { return "DeterministicActor"; }
  std::shared_ptr<Module<T>> clone_structure() const override {
    Generator g;
    return std::make_shared<DeterministicActor>(obs_, act_, hidden_, g, max_action_);
  }
  // obs [B, obs] -> action [B, act] in [−max_action, max_action]
  Tensor<T> forward(const Tensor<T>& obs) override {
    return mul_scalar(tanh(net.forward(obs)), T(max_action_));
  }

 private:
  int64_t obs_, act_;
  std::vector<int64_t> hidden_;
  double max_action_;
};

template <class T = float>
class QNetwork : public Module<T> {
 public:
  MLP<T> net;

  QNetwork(int64_t obs_dim, int64_t act_dim, std::vector<int64_t> hidden, Generator& gen)
      : net(detail::layer_sizes(obs_dim + act_dim, hidden, 1), gen), obs_(obs_dim), act_(act_dim),
        hidden_(std::move(hidden)) {
    this->register_module("net", &net);
  }
  std::string type_name() const override { return "QNetwork"; }
  std::shared_ptr<Module<T>> clone_structure() const override {
    Generator g;
    return std::make_shared<QNetwork>(obs_, act_, hidden_, g);
  }
  // obs [B, obs], action [B, act] -> [B, 1]
  Tensor<T> forward(const Tensor<T>& obs, const Tensor<T>& action) {
    return net.forward(cat(std::vector<Tensor<T>>{obs, action}, -1));
  }
  // input [B, obs + act] (already concatenated) -> [B, 1]
  Tensor<T> forward(const Tensor<T>& obs_action) override { return net.forward(obs_action); }

 private:
  int64_t obs_, act_;
  std::vector<int64_t> hidden_;
};

template <class T = float>
class ValueNetwork : public Module<T> {
 public:
  MLP<T> net;

  ValueNetwork(int64_t obs_dim, std::vector<int64_t> hidden, Generator& gen,
               Activation activation = Activation::tanh)
      : net(detail::layer_sizes(obs_dim, hidden, 1), gen, mlp_options(activation)), obs_(obs_dim),
        hidden_(std::move(hidden)), activation_(activation) {
    this->register_module("net", &net);
  }
  std::string type_name() const override { return "ValueNetwork"; }
  std::shared_ptr<Module<T>> clone_structure() const override {
    Generator g;
    return std::make_shared<ValueNetwork>(obs_, hidden_, g, activation_);
  }
  // obs [B, obs] -> [B, 1]
  Tensor<T> forward(const Tensor<T>& obs) override { return net.forward(obs); }

 private:
  static MLPOptions mlp_options(Activation a) {
    MLPOptions o;
    o.activation = a;
    return o;
  }
  int64_t obs_;
  std::vector<int64_t> hidden_;
  Activation activation_;
};

}  // namespace distillery::nn
