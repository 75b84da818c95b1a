// io/atomic_file.hpp — write a whole file so that readers see the old file or the new one,
// never half of one.
//
// The bytes go to a temporary file in the same directory (`<path>.tmp.<pid>.<n>`), which is
// fsync'ed, then renamed over `path` (rename is atomic within one file system), then the
// directory is fsync'ed so the rename survives a crash. On any failure the temporary file is
// removed and Error names the path and the reason. Checkpoints (io/safetensors.hpp), results
// (io/json.hpp) and images (io/png.hpp) are all written this way.
//
//   write_file_atomic("out/results.json", text);
#pragma once
#include <fcntl.h>
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
}  // namespace detail

// Requires: the directory of `path` exists and is writable.
// Ensures: `path` holds exactly data[0, n) or, on Error, is unchanged.
inline void write_file_atomic(const std::string& path, const void* data, size_t n) {
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

}  // namespace distillery
