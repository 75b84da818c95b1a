// tests/nn/torch_fixtures.hpp — reads tests/fixtures/nn_fixtures.txt (made by
// tests/fixtures/make_nn_fixtures.py from PyTorch) into double tensors.
#pragma once
#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include <distillery/distillery.hpp>

#include "../fixtures/test_support.hpp"

namespace torch_fixtures {
using distillery::Shape;
using distillery::Tensor;

// group -> name -> tensor
inline const std::map<std::string, std::map<std::string, Tensor<double>>>& all() {
  static auto data = [] {
    std::map<std::string, std::map<std::string, Tensor<double>>> out;
    std::string path = test_support::fixtures_dir() + "/nn_fixtures.txt";
    std::ifstream in(path);
    REQUIRE_MESSAGE(in.good(), "cannot open ", path);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      std::istringstream ls(line);
      std::string group, name, dims;
      ls >> group >> name >> dims;
      Shape s;
      if (dims != "scalar") {
        std::istringstream ds(dims);
        std::string d;
        while (std::getline(ds, d, ',')) s.push_back(std::stoll(d));
      }
      std::vector<double> v(s.numel());
      for (auto& x : v) ls >> x;
      REQUIRE(!ls.fail());
      out[group][name] = Tensor<double>::from_vector(v, s);
    }
    return out;
  }();
  return data;
}

inline Tensor<double> get(const std::string& group, const std::string& name) {
  auto g = all().find(group);
  REQUIRE_MESSAGE(g != all().end(), "no fixture group ", group);
  auto t = g->second.find(name);
  REQUIRE_MESSAGE(t != g->second.end(), "no fixture ", group, "/", name);
  return t->second;
}

// The "param.*" records of a group as a state dict (prefix stripped).
inline std::map<std::string, Tensor<double>> state_dict(const std::string& group) {
  std::map<std::string, Tensor<double>> sd;
  for (auto& kv : all().at(group))
    if (kv.first.rfind("param.", 0) == 0) sd[kv.first.substr(6)] = kv.second;
  return sd;
}

inline double max_abs_diff(const Tensor<double>& a, const Tensor<double>& b) {
  REQUIRE(a.shape() == b.shape());
  return distillery::max(distillery::abs(a - b)).item();
}
}  // namespace torch_fixtures
