// tests/losses/fixture.hpp — reads tests/fixtures/losses_golden.txt (written by
// tests/fixtures/make_loss_fixtures.py with PyTorch) and compares losses against it.
//
//   const auto& c = golden("kd_kl_batchmean_t2");
//   expect_golden(c, {"z"}, [&](Inputs& in) { return kd_loss(in["z"], in["v"], ...); });
// builds leaves from the case's tensors (those named in `grads` require grad), checks the value
// and d(sum value)/d(leaf) against the stored ones to 1e-6 (relative to max(1, |expected|)).
#pragma once
#include <distillery/distillery.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <string>

namespace golden_fixture {

using distillery::Shape;
using distillery::Tensor;

struct Case {
  std::string name;
  std::map<std::string, std::pair<Shape, std::vector<double>>> tensors;
  std::map<std::string, std::pair<Shape, std::vector<int64_t>>> indices;
  std::map<std::string, double> scalars;

  Tensor<double> tensor(const std::string& k) const {
    auto it = tensors.find(k);
    REQUIRE_MESSAGE(it != tensors.end(), name, ": no tensor ", k);
    return Tensor<double>::from_vector(it->second.second, it->second.first);
  }
  Tensor<int64_t> index(const std::string& k) const {
    auto it = indices.find(k);
    REQUIRE_MESSAGE(it != indices.end(), name, ": no index tensor ", k);
    return Tensor<int64_t>::from_vector(it->second.second, it->second.first);
  }
  double scalar(const std::string& k) const {
    auto it = scalars.find(k);
    REQUIRE_MESSAGE(it != scalars.end(), name, ": no scalar ", k);
    return it->second;
  }
};

inline std::string fixture_path() {
#ifdef DISTILLERY_SOURCE_DIR
  std::string root = DISTILLERY_SOURCE_DIR;
#else
  const char* env = std::getenv("DISTILLERY_SOURCE_DIR");
  std::string root = env ? env : ".";
#endif
  return root + "/tests/fixtures/losses_golden.txt";
}

inline const std::map<std::string, Case>& all() {
  static const std::map<std::string, Case> cases = [] {
    std::map<std::string, Case> out;
    std::ifstream in(fixture_path());
    if (!in) throw std::runtime_error("cannot open " + fixture_path());
    std::string word;
    Case cur;
    while (in >> word) {
      if (word == "case") {
        cur = Case{};
        in >> cur.name;
      } else if (word == "end") {
        out[cur.name] = cur;
      } else if (word == "scalar") {
        std::string k;
        double v;
        in >> k >> v;
        cur.scalars[k] = v;
      } else if (word == "tensor" || word == "index") {
        std::string k;
        int nd;
        in >> k >> nd;
        std::vector<int64_t> dims(nd);
        for (auto& d : dims) in >> d;
        Shape s(dims);
        if (word == "tensor") {
          std::vector<double> v(s.numel());
          for (auto& x : v) in >> x;
          cur.tensors[k] = {s, v};
        } else {
          std::vector<int64_t> v(s.numel());
          for (auto& x : v) in >> x;
          cur.indices[k] = {s, v};
        }
      } else {
        throw std::runtime_error("bad fixture record '" + word + "' in " + fixture_path());
      }
    }
    return out;
  }();
  return cases;
}

inline const Case& golden(const std::string& name) {
  auto it = all().find(name);
  if (it == all().end()) throw std::runtime_error("no golden case " + name);
  return it->second;
}

inline void expect_close(const std::vector<double>& got, const std::vector<double>& want,
                         const std::string& what, double tol = 1e-6) {
  REQUIRE_MESSAGE(got.size() == want.size(), what, ": ", got.size(), " values, expected ",
                  want.size());
  for (size_t i = 0; i < got.size(); ++i)
    CHECK_MESSAGE(std::abs(got[i] - want[i]) <= tol * std::max(1.0, std::abs(want[i])), what, "[",
                  i, "] = ", got[i], ", expected ", want[i]);
}

using Inputs = std::map<std::string, Tensor<double>>;

inline void expect_golden(const Case& c, const std::vector<std::string>& grads,
                          const std::function<Tensor<double>(Inputs&)>& f) {
  INFO("golden case ", c.name);
  Inputs in;
  for (const auto& [k, v] : c.tensors) {
    if (k == "value" || k.rfind("grad_", 0) == 0) continue;
    Tensor<double> t = Tensor<double>::from_vector(v.second, v.first);
    for (const auto& g : grads)
      if (g == k) t.requires_grad_();
    in[k] = t;
  }
  Tensor<double> value = f(in);
  const auto& want = c.tensors.at("value");
  CHECK_MESSAGE(value.shape() == want.first, c.name, ": value shape ", value.shape(), ", expected ",
                want.first);
  expect_close(value.to_vector(), want.second, c.name + " value");
  if (grads.empty()) return;
  std::vector<Tensor<double>> leaves;
  for (const auto& g : grads) leaves.push_back(in.at(g));
  auto gs = distillery::grad({distillery::sum(value)}, leaves, {}, false, true);
  for (size_t i = 0; i < grads.size(); ++i) {
    const auto& w = c.tensors.at("grad_" + grads[i]).second;
    std::vector<double> got =
        gs[i].defined() ? gs[i].to_vector() : std::vector<double>(w.size(), 0.0);
    expect_close(got, w, c.name + " grad_" + grads[i]);
  }
}

}  // namespace golden_fixture
