// rl/pendulum.hpp — gym's Pendulum-v1, written directly (no physics engine).
//
// State (θ, θ̇), θ = 0 upright. Action: torque u ∈ [−2, 2]. With g = 10, m = l = 1, dt = 0.05:
//   cost  = norm(θ)² + 0.1 θ̇² + 0.001 u²       norm(θ) = ((θ + π) mod 2π) − π, reward = −cost
//   θ̇'   = clip(θ̇ + (3g/(2l) sin θ + 3/(m l²) u) dt, −8, 8)
//   θ'    = θ + θ̇' dt                           (gym v1 uses the new θ̇)
// Observation [cos θ, sin θ, θ̇]; reset draws θ ~ U(−π, π), θ̇ ~ U(−1, 1); 200 steps per episode
// (TimeLimit), never terminated. The cost uses the state before the step, as gym.
#pragma once
#include <cmath>

#include "env.hpp"

namespace distillery::rl {

class Pendulum : public Env {
 public:
  static constexpr double kMaxSpeed = 8, kMaxTorque = 2, kDt = 0.05, kG = 10, kM = 1, kL = 1;

  std::string name() const override { return "Pendulum-v1"; }
  int obs_dim() const override { return 3; }
  int act_dim() const override { return 1; }
  std::vector<double> action_low() const override { return {-kMaxTorque}; }
  std::vector<double> action_high() const override { return {kMaxTorque}; }
  int max_episode_steps() const override { return 200; }

  static double angle_normalize(double x) {
    const double pi = 3.14159265358979323846;
    double y = std::fmod(x + pi, 2 * pi);
    if (y < 0) y += 2 * pi;  // Python's % is a floor modulo
    return y - pi;
  }
  // Sets the state directly (tests).
  void set_state(double theta, double theta_dot) { th_ = theta; thdot_ = theta_dot; }
  double theta() const { return th_; }
  double theta_dot() const { return thdot_; }

 protected:
  std::vector<double> reset_impl(Generator& gen) override {
    th_ = gen.uniform(-3.14159265358979323846, 3.14159265358979323846);
    thdot_ = gen.uniform(-1.0, 1.0);
    return obs();
  }
  Step step_impl(const std::vector<double>& action) override {
    const double u = clip_action(action)[0];
    const double cost = std::pow(angle_normalize(th_), 2) + 0.1 * thdot_ * thdot_ + 0.001 * u * u;
    double nthdot = thdot_ + (3 * kG / (2 * kL) * std::sin(th_) + 3.0 / (kM * kL * kL) * u) * kDt;
    nthdot = std::min(std::max(nthdot, -kMaxSpeed), kMaxSpeed);
    th_ = th_ + nthdot * kDt;
    thdot_ = nthdot;
    Step s;
    s.obs = obs();
    s.reward = -cost;
    return s;
  }

 private:
  std::vector<double> obs() const { return {std::cos(th_), std::sin(th_), thdot_}; }
  double th_ = 0, thdot_ = 0;
};

}  // namespace distillery::rl
