// tests/io/test_cli.cpp — run_main: an exception escaping a program (distillery::Error, any
// std::exception, a bad flag rejected by Args) becomes exactly one stderr line
// "<program>: error: <message>" and exit status 1; a normal return passes through.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <iterator>

#include <distillery/io/cli.hpp>

#include "../fixtures/test_support.hpp"

using namespace distillery;
using namespace test_support;

namespace {
// Runs f() with stderr redirected to a file; returns {f's result, what it wrote to stderr}.
template <class F>
std::pair<int, std::string> with_stderr(F&& f) {
  TempDir d;
  const std::string path = d.file("stderr.txt");
  std::fflush(stderr);
  int saved = ::dup(2), fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  REQUIRE(saved >= 0);
  REQUIRE(fd >= 0);
  ::dup2(fd, 2);
  ::close(fd);
  int rc = f();
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  std::ifstream in(path);
  return {rc, std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>())};
}
int run_with(std::vector<std::string> argv_s, int (*body)(int, char**)) {
  std::vector<char*> argv;
  for (auto& s : argv_s) argv.push_back(s.data());
  return run_main(int(argv.size()), argv.data(), "prog", body);
}
int flags_body(int argc, char** argv) {
  Args args(argc, argv, "prog: test");
  args.get<int>("epochs", 1, "epochs");
  args.finish();
  return 7;
}
}  // namespace

TEST_CASE("run_main: Error and std::exception become one line and exit status 1") {
  auto [rc, err] = with_stderr([] {
    return run_with({"prog"}, [](int, char**) -> int { fail("write_file_atomic", "out/x: no\nspace"); });
  });
  CHECK(rc == 1);
  CHECK(err == "prog: error: write_file_atomic: out/x: no space\n");
  auto [rc2, err2] = with_stderr([] {
    return run_with({"prog"}, [](int, char**) -> int { throw std::runtime_error("boom"); });
  });
  CHECK(rc2 == 1);
  CHECK(err2 == "prog: error: boom\n");
}

TEST_CASE("run_main: bad flags are one line and exit status 1, good ones pass through") {
  auto [rc, err] = with_stderr([] { return run_with({"prog", "--bogus", "3"}, flags_body); });
  CHECK(rc == 1);
  CHECK(err == "prog: error: Args: unknown flag --bogus (see --help)\n");
  auto [rc2, err2] = with_stderr([] { return run_with({"prog", "--epochs", "x"}, flags_body); });
  CHECK(rc2 == 1);
  CHECK(err2 == "prog: error: Args: --epochs expects a number, got 'x'\n");
  auto [rc3, err3] = with_stderr([] { return run_with({"prog", "stray"}, flags_body); });
  CHECK(rc3 == 1);
  CHECK(contains(err3, "prog: error: Args: unexpected argument 'stray'"));
  auto [rc4, err4] = with_stderr([] { return run_with({"prog", "--epochs=4"}, flags_body); });
  CHECK(rc4 == 7);
  CHECK(err4.empty());
}

namespace {
template <class V>
V parse_one(const std::string& value) {
  std::vector<std::string> argv_s{"prog", "--v", value};
  std::vector<char*> argv;
  for (auto& s : argv_s) argv.push_back(s.data());
  Args args(int(argv.size()), argv.data(), "prog");
  V v = args.get<V>("v", V{}, "");
  args.finish();
  return v;
}
}  // namespace

TEST_CASE("Args: numbers parse as istream >> v with an eof check did, without iostreams") {
  CHECK(parse_one<int>("42") == 42);
  CHECK(parse_one<int>("-7") == -7);
  CHECK(parse_one<int>("+5") == 5);
  CHECK(parse_one<int64_t>("8589934592") == 8589934592LL);
  CHECK(parse_one<double>("1e-3") == 1e-3);
  CHECK(parse_one<double>("-.5") == -0.5);
  CHECK(parse_one<float>("0.25") == 0.25f);
  CHECK(parse_one<unsigned>("3") == 3u);
  CHECK(parse_one<bool>("on"));
  CHECK(parse_one<std::string>("a b") == "a b");
  // whole string, decimal, in range, finite
  for (const char* bad : {"", "+", "+-3", "5x", "1e3", "0x10", "3 ", "99999999999", "1.5"})
    CHECK_THROWS_WITH_AS(parse_one<int>(bad), doctest::Contains("--v expects a number"), Error);
  for (const char* bad : {"inf", "nan", "1e999", "0x1p3", "1..2", "e"})
    CHECK_THROWS_WITH_AS(parse_one<double>(bad), doctest::Contains("--v expects a number"), Error);
  CHECK_THROWS_WITH_AS(parse_one<unsigned>("-3"), doctest::Contains("--v expects a number"), Error);
}
