// rl/mujoco_env.hpp — gym's MuJoCo locomotion tasks (v3 definitions) on MuJoCo 2.2 (Debian
// libmujoco-dev), with the gym XML models of Debian's dart-doc. Needs <mujoco/mujoco.h> and
// libmujoco: include it only where MuJoCo is linked (CMake: DISTILLERY_HAS_MUJOCO).
//
//   auto env = make_mujoco_env(MujocoTask::half_cheetah, "data/mujoco");
//
// Each step sets ctrl = clip(a, ctrlrange), runs frame_skip mj_step calls and computes, with
// dt = timestep · frame_skip and x = qpos[0] (the root's slider):
//   task          frame_skip  obs                                    reward                                   terminated
//   swimmer       4           qpos[2:], qvel           (8)           Δx/dt − 1e-4 Σa²                         never
//   half_cheetah  5           qpos[1:], qvel           (17)          Δx/dt − 0.1 Σa²                          never
//   hopper        4           qpos[1:], clip(qvel,±10) (11)          Δx/dt + 1 − 1e-3 Σa²                     unhealthy
//   walker2d      4           qpos[1:], clip(qvel,±10) (17)          Δx/dt + 1 − 1e-3 Σa²                     unhealthy
//   humanoid      5           qpos[2:], qvel, cinert, cvel,          1.25 Δc/dt + 5 − 0.1 Σa²                 z ∉ (1, 2)
//                             qfrc_actuator, cfrc_ext  (376)         − min(5e-7 Σ cfrc_ext², 10)
// hopper healthy: |s| < 100 for s = (qpos, qvel)[2:], z = qpos[1] > 0.7, |qpos[2]| < 0.2;
// walker2d healthy: 0.8 < z < 2, −1 < qpos[2] < 1. Episodes end after 1000 steps (TimeLimit).
// humanoid (Humanoid-v3): c = the x of the mass centre Σ_b m_b xipos_b / Σ_b m_b, z = qpos[2];
// the observation's cinert [nbody·10], cvel [nbody·6], cfrc_ext [nbody·6] flattened. MuJoCo ≥ 2
// computes cfrc_ext only on request: mj_rnePostConstraint runs after the step (as gymnasium's v5
// does), so the contact cost is the one MuJoCo 1.5 gave the paper's Humanoid-v2 (under
// mujoco-py 2.x gym v3 read zeros there).
// Reset: qpos = qpos0 + U(±c), qvel = U(±c) (swimmer, hopper, walker2d, humanoid: c = 0.1, 5e-3,
// 5e-3, 1e-2),
// half_cheetah: qpos0 + U(±0.1), qvel = 0.1·N(0, 1); then mj_forward.
// Actions are clipped to the control range before the control cost (gym itself charges the
// unclipped action; the actuators clip either way).
//
// Models: <model_dir>/<task>.xml (scripts/get-data.sh copies them there), else read from
// /usr/share/doc/dart/data/mjcf/openai/ (gunzipped in memory, walker2d's `pos="0.2/2 0 0.1"` fixed
// to "0.1 0 0.1" for MuJoCo 2.2) through MuJoCo's virtual file system.
#pragma once
#include <mujoco/mujoco.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "../data/readers/inflate.hpp"
#include "env.hpp"

namespace distillery::rl {

enum class MujocoTask { swimmer, half_cheetah, hopper, walker2d, humanoid };

inline MujocoTask mujoco_task_from_name(const std::string& n) {
  if (n == "swimmer") return MujocoTask::swimmer;
  if (n == "halfcheetah" || n == "half_cheetah") return MujocoTask::half_cheetah;
  if (n == "hopper") return MujocoTask::hopper;
  if (n == "walker2d" || n == "walker") return MujocoTask::walker2d;
  if (n == "humanoid") return MujocoTask::humanoid;
  fail("mujoco_env", "unknown task '", n, "' (swimmer, halfcheetah, hopper, walker2d, humanoid)");
}
inline const char* mujoco_task_file(MujocoTask t) {
  switch (t) {
    case MujocoTask::swimmer: return "swimmer";
    case MujocoTask::half_cheetah: return "half_cheetah";
    case MujocoTask::hopper: return "hopper";
    case MujocoTask::walker2d: return "walker2d";
    case MujocoTask::humanoid: return "humanoid";
  }
  return "";
}

// The model's XML text: <model_dir>/<file>.xml, else Debian's dart-doc copy (fixed).
inline std::string gym_model_xml(MujocoTask t, const std::string& model_dir) {
  const std::string file = mujoco_task_file(t);
  auto read = [](const std::string& path, std::string& out) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return false;
    out.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    return true;
  };
  std::string text;
  if (!model_dir.empty() && read(model_dir + "/" + file + ".xml", text)) return text;
  const std::string deb = "/usr/share/doc/dart/data/mjcf/openai/" + file + ".xml";
  if (read(deb + ".gz", text)) {
    Bytes raw = gunzip(reinterpret_cast<const uint8_t*>(text.data()), text.size(), deb + ".gz");
    text.assign(raw.begin(), raw.end());
  } else {
    check(read(deb, text), "mujoco_env", "no model ", file, ".xml in '", model_dir, "' nor ", deb,
          "(.gz): run scripts/get-data.sh (needs Debian dart-doc)");
  }
  const std::string bad = "pos=\"0.2/2 0 0.1\"";
  for (size_t p; (p = text.find(bad)) != std::string::npos;) text.replace(p, bad.size(), "pos=\"0.1 0 0.1\"");
  return text;
}

// Compiles XML text with MuJoCo (through a one-file virtual file system).
inline mjModel* load_mujoco_model(const std::string& xml, const std::string& name) {
  auto vfs = std::make_unique<mjVFS>();
  mj_defaultVFS(vfs.get());
  const std::string fname = name + ".xml";
  check(mj_makeEmptyFileVFS(vfs.get(), fname.c_str(), int(xml.size())) == 0, "mujoco_env",
        "could not create the in-memory file ", fname);
  const int i = mj_findFileVFS(vfs.get(), fname.c_str());
  std::copy(xml.begin(), xml.end(), static_cast<char*>(vfs->filedata[i]));
  char err[1000] = "";
  mjModel* m = mj_loadXML(fname.c_str(), vfs.get(), err, sizeof err);
  mj_deleteVFS(vfs.get());
  check(m != nullptr, "mujoco_env", "MuJoCo could not load ", fname, ": ", err);
  return m;
}

class MujocoEnv : public Env {
 public:
  MujocoEnv(MujocoTask task, const std::string& model_dir) : task_(task) {
    m_ = load_mujoco_model(gym_model_xml(task, model_dir), mujoco_task_file(task));
    d_ = mj_makeData(m_);
    check(d_ != nullptr, "mujoco_env", "mj_makeData failed");
    switch (task) {
      case MujocoTask::swimmer: frame_skip_ = 4; ctrl_w_ = 1e-4; noise_ = 0.1; break;
      case MujocoTask::half_cheetah: frame_skip_ = 5; ctrl_w_ = 0.1; noise_ = 0.1; break;
      case MujocoTask::hopper: frame_skip_ = 4; ctrl_w_ = 1e-3; noise_ = 5e-3; break;
      case MujocoTask::walker2d: frame_skip_ = 4; ctrl_w_ = 1e-3; noise_ = 5e-3; break;
      case MujocoTask::humanoid: frame_skip_ = 5; ctrl_w_ = 0.1; noise_ = 1e-2; break;
    }
    for (int i = 0; i < m_->nu; ++i) {
      const bool lim = m_->actuator_ctrllimited[i];
      low_.push_back(lim ? m_->actuator_ctrlrange[2 * i] : -1e300);
      high_.push_back(lim ? m_->actuator_ctrlrange[2 * i + 1] : 1e300);
    }
  }
  ~MujocoEnv() override {
    mj_deleteData(d_);
    mj_deleteModel(m_);
  }
  MujocoEnv(const MujocoEnv&) = delete;
  MujocoEnv& operator=(const MujocoEnv&) = delete;

  std::string name() const override {
    switch (task_) {
      case MujocoTask::swimmer: return "Swimmer-v3";
      case MujocoTask::half_cheetah: return "HalfCheetah-v3";
      case MujocoTask::hopper: return "Hopper-v3";
      case MujocoTask::walker2d: return "Walker2d-v3";
      case MujocoTask::humanoid: return "Humanoid-v3";
    }
    return "";
  }
  int obs_dim() const override {
    const int skip = task_ == MujocoTask::swimmer || task_ == MujocoTask::humanoid ? 2 : 1;
    const int extra = task_ == MujocoTask::humanoid ? 22 * m_->nbody + m_->nv : 0;
    return m_->nq - skip + m_->nv + extra;
  }
  int act_dim() const override { return m_->nu; }
  std::vector<double> action_low() const override { return low_; }
  std::vector<double> action_high() const override { return high_; }
  int max_episode_steps() const override { return 1000; }
  double dt() const { return m_->opt.timestep * frame_skip_; }
  int frame_skip() const { return frame_skip_; }
  double ctrl_cost_weight() const { return ctrl_w_; }
  const mjModel* model() const { return m_; }
  const mjData* data() const { return d_; }
  bool healthy() const {
    const double* q = d_->qpos;
    if (task_ == MujocoTask::hopper) {
      for (int i = 2; i < m_->nq + m_->nv; ++i) {
        const double s = i < m_->nq ? q[i] : d_->qvel[i - m_->nq];
        if (!(std::abs(s) < 100)) return false;
      }
      return q[1] > 0.7 && std::abs(q[2]) < 0.2;
    }
    if (task_ == MujocoTask::walker2d) return q[1] > 0.8 && q[1] < 2.0 && q[2] > -1 && q[2] < 1;
    if (task_ == MujocoTask::humanoid) return q[2] > 1.0 && q[2] < 2.0;
    return true;
  }
  // x of the mass centre Σ_b m_b xipos_b / Σ_b m_b (humanoid's forward position)
  double mass_center_x() const {
    double mx = 0, m = 0;
    for (int b = 0; b < m_->nbody; ++b) {
      mx += m_->body_mass[b] * d_->xipos[3 * b];
      m += m_->body_mass[b];
    }
    return mx / m;
  }

 protected:
  std::vector<double> reset_impl(Generator& gen) override {
    mj_resetData(m_, d_);
    for (int i = 0; i < m_->nq; ++i) d_->qpos[i] = m_->qpos0[i] + gen.uniform(-noise_, noise_);
    for (int i = 0; i < m_->nv; ++i)
      d_->qvel[i] = task_ == MujocoTask::half_cheetah ? noise_ * gen.normal() : gen.uniform(-noise_, noise_);
    mj_forward(m_, d_);
    if (task_ == MujocoTask::humanoid) mj_rnePostConstraint(m_, d_);  // cfrc_ext of the observation
    return obs();
  }
  Step step_impl(const std::vector<double>& action) override {
    const std::vector<double> a = clip_action(action);
    const bool humanoid = task_ == MujocoTask::humanoid;
    const double x0 = humanoid ? mass_center_x() : d_->qpos[0];
    for (int i = 0; i < m_->nu; ++i) d_->ctrl[i] = a[size_t(i)];
    for (int k = 0; k < frame_skip_; ++k) mj_step(m_, d_);
    double ctrl = 0;
    for (double v : a) ctrl += v * v;
    Step s;
    if (humanoid) {
      mj_rnePostConstraint(m_, d_);  // fills cfrc_ext
      double contact = 0;
      for (int i = 0; i < 6 * m_->nbody; ++i) contact += d_->cfrc_ext[i] * d_->cfrc_ext[i];
      s.reward = 1.25 * (mass_center_x() - x0) / dt() + 5.0 - ctrl_w_ * ctrl -
                 std::min(5e-7 * contact, 10.0);
      s.terminated = !healthy();
      s.obs = obs();
      return s;
    }
    s.reward = (d_->qpos[0] - x0) / dt() - ctrl_w_ * ctrl;
    if (task_ == MujocoTask::hopper || task_ == MujocoTask::walker2d) {
      s.reward += 1.0;  // healthy reward (always paid when unhealthy states terminate)
      s.terminated = !healthy();
    }
    s.obs = obs();
    return s;
  }

 private:
  std::vector<double> obs() const {
    const int skip = task_ == MujocoTask::swimmer || task_ == MujocoTask::humanoid ? 2 : 1;
    const bool clip_v = task_ == MujocoTask::hopper || task_ == MujocoTask::walker2d;
    std::vector<double> o;
    for (int i = skip; i < m_->nq; ++i) o.push_back(d_->qpos[i]);
    for (int i = 0; i < m_->nv; ++i)
      o.push_back(clip_v ? std::clamp(double(d_->qvel[i]), -10.0, 10.0) : double(d_->qvel[i]));
    if (task_ == MujocoTask::humanoid) {
      const int nb = m_->nbody;
      o.insert(o.end(), d_->cinert, d_->cinert + 10 * nb);
      o.insert(o.end(), d_->cvel, d_->cvel + 6 * nb);
      o.insert(o.end(), d_->qfrc_actuator, d_->qfrc_actuator + m_->nv);
      o.insert(o.end(), d_->cfrc_ext, d_->cfrc_ext + 6 * nb);
    }
    return o;
  }
  MujocoTask task_;
  mjModel* m_ = nullptr;
  mjData* d_ = nullptr;
  int frame_skip_ = 1;
  double ctrl_w_ = 0, noise_ = 0;
  std::vector<double> low_, high_;
};

inline std::unique_ptr<Env> make_mujoco_env(MujocoTask task, const std::string& model_dir) {
  return std::make_unique<MujocoEnv>(task, model_dir);
}

}  // namespace distillery::rl
