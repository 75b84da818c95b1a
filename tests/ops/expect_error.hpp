// tests/ops/expect_error.hpp — one checker for tables of bad inputs (tests/ops/test_errors.cpp,
// tests/ops/test_bad_inputs.cpp): every case must throw distillery::Error (never another
// exception type, a crash or a silent result) whose message starts with "op:" and contains
// every expected part (the op name first, then shapes or other fragments).
#pragma once
#include <distillery/core/error.hpp>

#include <doctest/doctest.h>

#include <exception>
#include <functional>
#include <string>
#include <vector>

struct ErrorCase {
  std::string what;                       // the probe, shown when the case fails
  std::function<void()> run;
  std::vector<std::string> must_mention;  // the op name first, then other parts
};

inline void expect_errors(const std::vector<ErrorCase>& cases) {
  for (const ErrorCase& c : cases) {
    INFO(c.what);
    std::string msg;
    bool other = false;
    try {
      c.run();
    } catch (const distillery::Error& e) {
      msg = e.what();
    } catch (const std::exception& e) {
      other = true;
      msg = e.what();
    }
    INFO("message: " << msg);
    CHECK_FALSE(other);
    REQUIRE_FALSE(msg.empty());
    CHECK(msg.rfind(c.must_mention[0] + ":", 0) == 0);  // "op: ..."
    for (const std::string& part : c.must_mention) CHECK(msg.find(part) != std::string::npos);
  }
}
