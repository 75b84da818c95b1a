// io/atomic_file.hpp — write a whole file so that readers see the old file or the new one,
// never half of one.
//
// The bytes go to a temporary file in the same directory (`<path>.tmp.<pid>.<n>`), which is
// fsync'ed, then renamed over `path` (rename is atomic within one file system), then the
// directory is fsync'ed so the rename survives a crash. On any failure the temporary file is
// removed and Error names the path and the reason. Checkpoints (io/safetensors.hpp), results
// (io/json.hpp) and images (io/png.hpp) are all written this way.
//
// Missing parent folders are created first (`make_parent_dirs`, like `mkdir -p`); a component
// that cannot be created (a file in the way, no permission) is named in the Error. Temporary
// files of writers that died before their rename (`<path>.tmp.<pid>.<n>` whose pid is no longer
// alive: kill(pid, 0) fails with ESRCH) are removed before a new write of the same path.
//
// Programs call `check_output_path(path)` (or `check_output_dir(dir)`) before any long work: it
// creates the folders and proves, with a probe file, that the folder is writable, so a bad
// --json path fails in the first second instead of after the training.
//
//   check_output_path("out/results.json");          // at start-up: mkdir -p out, probe
//   write_file_atomic("out/results.json", text);    // at the end
#pragma once
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "../core/error.hpp"

namespace distillery {

namespace detail {
inline std::string dir_of(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}
inline std::string base_of(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}
inline bool all_digits(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}
}  // namespace detail

// Creates `dir` and its missing parents (mkdir -p, mode 0777 & ~umask). Error names the first
// component that cannot be created, or that exists but is not a folder.
inline void make_dirs(const std::string& dir, const char* op = "make_dirs") {
  if (dir.empty() || dir == "." || dir == "/") return;
  std::string prefix;
  size_t pos = 0;
  while (pos <= dir.size()) {
    size_t next = dir.find('/', pos);
    if (next == std::string::npos) next = dir.size();
    prefix = dir.substr(0, next);
    pos = next + 1;
    if (prefix.empty() || prefix == "." || prefix == "..") continue;
    struct stat st {};
    if (::stat(prefix.c_str(), &st) == 0) {
      check(S_ISDIR(st.st_mode), op, "cannot create folder ", dir, ": ", prefix,
            " exists and is not a folder");
      continue;
    }
    if (::mkdir(prefix.c_str(), 0777) != 0 && errno != EEXIST)
      fail(op, "cannot create folder ", prefix, " (for ", dir, "): ", std::strerror(errno));
  }
}

// Creates the folder that will hold `path` (see make_dirs).
inline void make_parent_dirs(const std::string& path, const char* op = "make_parent_dirs") {
  make_dirs(detail::dir_of(path), op);
}

// Removes `<path>.tmp.<pid>.<n>` files left by writers of `path` that are no longer alive
// (kill(pid, 0) fails with ESRCH). Files of live processes, and other names, are kept.
// Returns how many were removed.
inline int remove_stale_temp_files(const std::string& path) {
  const std::string dir = detail::dir_of(path), prefix = detail::base_of(path) + ".tmp.";
  DIR* d = ::opendir(dir.c_str());
  if (!d) return 0;
  int removed = 0;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string rest = name.substr(prefix.size());  // "<pid>.<n>"
    const size_t dot = rest.find('.');
    if (dot == std::string::npos || !detail::all_digits(rest.substr(0, dot)) ||
        !detail::all_digits(rest.substr(dot + 1)) || dot > 9)
      continue;
    const long pid = std::stol(rest.substr(0, dot));
    if (pid <= 0 || ::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
    if (::unlink((dir + "/" + name).c_str()) == 0) ++removed;
  }
  ::closedir(d);
  return removed;
}

// Requires: the folder of `path` exists or can be created, and is writable.
// Ensures: `path` holds exactly data[0, n) or, on Error, is unchanged.
inline void write_file_atomic(const std::string& path, const void* data, size_t n) {
  make_parent_dirs(path, "write_file_atomic");
  remove_stale_temp_files(path);
  static std::atomic<uint64_t> counter{0};
  const std::string tmp =
      path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter.fetch_add(1));
  auto fail_with = [&](const char* step, int err) {
    ::unlink(tmp.c_str());
    fail("write_file_atomic", path, ": ", step, " failed: ", std::strerror(err));
  };
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("write_file_atomic", path, ": cannot create ", tmp, ": ", std::strerror(errno));
  const char* p = static_cast<const char*>(data);
  size_t left = n;
  while (left > 0) {
    ssize_t w = ::write(fd, p, left);
    if (w < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      fail_with("write", err);
    }
    p += w;
    left -= static_cast<size_t>(w);
  }
  if (::fsync(fd) != 0) {
    int err = errno;
    ::close(fd);
    fail_with("fsync", err);
  }
  if (::close(fd) != 0) fail_with("close", errno);
  if (::rename(tmp.c_str(), path.c_str()) != 0) fail_with("rename", errno);
  int dfd = ::open(detail::dir_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {  // best effort: some file systems refuse to fsync a directory
    (void)::fsync(dfd);
    ::close(dfd);
  }
}

inline void write_file_atomic(const std::string& path, const std::string& text) {
  write_file_atomic(path, text.data(), text.size());
}

// For programs, before the work: creates `dir` (make_dirs) and checks that a file can be created
// in it (a probe file, removed at once). Error names the folder and the reason.
inline void check_output_dir(const std::string& dir) {
  const std::string d = dir.empty() ? "." : dir;
  make_dirs(d, "output folder");
  const std::string probe = d + "/.distillery_probe." + std::to_string(::getpid());
  int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("output folder", d, " is not writable: ", std::strerror(errno));
  ::close(fd);
  ::unlink(probe.c_str());
}

// For programs, before the work: `path` (a file to be written later; "" = none) is not a
// folder, and its folder exists (created if missing) and is writable. Error names the path.
inline void check_output_path(const std::string& path) {
  if (path.empty()) return;
  struct stat st {};
  check(!(::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)), "output path",
        path, " is a folder, expected a file name");
  try {
    check_output_dir(detail::dir_of(path));
  } catch (const Error& e) {
    fail("output path", path, ": ", e.what());
  }
}

}  // namespace distillery
