// tests/io/test_atomic_file.cpp — write_file_atomic creates missing folders (or names the one it
// cannot create), removes the temporary files of dead writers of the same path and keeps every
// other file; check_output_path / check_output_dir fail early and name the path.
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <distillery/io/atomic_file.hpp>

#include "../fixtures/test_support.hpp"

using namespace distillery;
using namespace test_support;

namespace {
std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}
// The pid of a child that has exited and been reaped: kill(pid, 0) now fails with ESRCH.
pid_t dead_pid() {
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) ::_exit(0);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  return pid;
}
}  // namespace

TEST_CASE("write_file_atomic creates missing parent folders") {
  TempDir d;
  const std::string path = d.file("a/b/c/result.json");
  write_file_atomic(path, std::string("{\"ok\": true}"));
  CHECK(read_text(path) == "{\"ok\": true}");
  write_file_atomic(path, std::string("second"));  // folders now exist: plain overwrite
  CHECK(read_text(path) == "second");
}

TEST_CASE("write_file_atomic names the folder it cannot create") {
  TempDir d;
  write_text(d.file("blocker"), "a file where a folder should be");
  const std::string msg = error_of([&] { write_file_atomic(d.file("blocker/sub/x.json"), std::string("x")); });
  CHECK(contains(msg, "write_file_atomic"));
  CHECK(contains(msg, d.file("blocker") + " exists and is not a folder"));
  // a folder that cannot be made, even by root: /proc refuses new entries
  const std::string msg2 = error_of([] { write_file_atomic("/proc/distillery_no/x.json", std::string("x")); });
  CHECK(contains(msg2, "cannot create folder /proc/distillery_no"));
}

TEST_CASE("write_file_atomic removes stale temp files of dead writers of the same path only") {
  TempDir d;
  const std::string path = d.file("r.json");
  const std::string dead = std::to_string(dead_pid()), self = std::to_string(::getpid());
  const std::string stale = path + ".tmp." + dead + ".7";
  const std::string live = path + ".tmp." + self + ".99";             // a live writer: kept
  const std::string other = d.file("other.json.tmp." + dead + ".1");  // another path: kept
  const std::string odd = path + ".tmp." + dead + ".x";               // not the pattern: kept
  const std::string longer = d.file("r.json2.tmp." + dead + ".3");    // prefix of a name: kept
  for (const auto& f : {stale, live, other, odd, longer}) write_text(f, "partial");
  write_file_atomic(path, std::string("new"));
  CHECK(read_text(path) == "new");
  CHECK_FALSE(exists(stale));
  CHECK(exists(live));
  CHECK(exists(other));
  CHECK(exists(odd));
  CHECK(exists(longer));
  CHECK(remove_stale_temp_files(path) == 0);  // nothing left to remove
}

TEST_CASE("check_output_path creates the folder, probes it and names a bad path") {
  TempDir d;
  const std::string path = d.file("new/deeper/out.json");
  check_output_path(path);
  CHECK(std::filesystem::is_directory(d.file("new/deeper")));
  CHECK_FALSE(exists(path));  // nothing is written yet, the probe is gone
  CHECK(std::filesystem::is_empty(d.file("new/deeper")));
  check_output_path("");  // no output requested: nothing to check

  const std::string is_dir = error_of([&] { check_output_path(d.file("new")); });
  CHECK(contains(is_dir, "output path: " + d.file("new") + " is a folder"));
  write_text(d.file("file"), "x");
  const std::string blocked = error_of([&] { check_output_path(d.file("file/out.json")); });
  CHECK(contains(blocked, "output path: " + d.file("file/out.json")));
  CHECK(contains(blocked, "not a folder"));
  const std::string proc = error_of([] { check_output_dir("/proc/distillery_no"); });
  CHECK(contains(proc, "/proc/distillery_no"));
  const std::string ro = error_of([] { check_output_dir("/proc/self"); });  // exists, not writable
  CHECK(contains(ro, "output folder: /proc/self is not writable"));
}
