// io/bytes.hpp — reading files into memory and walking a byte buffer with bounds checks.
//
// Every reader in io/ and data/ parses from a memory buffer (so fuzzers and tests can feed
// bytes directly) and names its errors the same way:
//
//   "<reader>: <file>: byte <offset>: <what went wrong>"
//
// `ByteCursor` is the one bounds-checked walker they share: each read names what it reads, so a
// truncated file reports e.g. "idx: t10k.idx: byte 16: file ends early: image data needs 784
// bytes, 12 remain".
//
//   auto bytes = read_file_bytes("data/x.idx", "idx");
//   ByteCursor c(bytes.data(), bytes.size(), "data/x.idx", "idx");
//   uint32_t magic = c.be32("magic number");
#pragma once
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "../core/error.hpp"

namespace distillery {

using Bytes = std::vector<uint8_t>;

// Throws Error("op: name: byte offset: parts...").
template <class... Parts>
[[noreturn]] void fail_at(const char* op, const std::string& name, uint64_t offset,
                          const Parts&... parts) {
  fail(op, name, ": byte ", offset, ": ", parts...);
}

// Reads a whole file. Throws Error("op: path: cannot open/read: reason").
inline Bytes read_file_bytes(const std::string& path, const char* op) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) fail(op, path, ": cannot open: ", std::strerror(errno));
  Bytes out;
  uint8_t buf[1 << 16];
  for (;;) {
    size_t got = std::fread(buf, 1, sizeof buf, f);
    out.insert(out.end(), buf, buf + got);
    if (got < sizeof buf) break;
  }
  bool bad = std::ferror(f) != 0;
  std::fclose(f);
  if (bad) fail(op, path, ": read error after ", out.size(), " bytes");
  return out;
}

// A read position in [data, data + size) that throws instead of reading past the end.
// `base` is added to reported offsets (for a buffer that starts inside a larger file).
class ByteCursor {
 public:
  ByteCursor(const uint8_t* data, size_t size, std::string name, const char* op, uint64_t base = 0)
      : data_(data), size_(size), name_(std::move(name)), op_(op), base_(base) {}

  size_t offset() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }
  bool at_end() const { return pos_ == size_; }
  const std::string& name() const { return name_; }

  // Ensures n more bytes exist; `what` names the field for the error message.
  void need(size_t n, const char* what) const {
    if (n > remaining())
      fail_here("file ends early: ", what, " needs ", n, " bytes, ", remaining(), " remain");
  }
  const uint8_t* take(size_t n, const char* what) {
    need(n, what);
    const uint8_t* p = data_ + pos_;
    pos_ += n;
    return p;
  }
  uint8_t u8(const char* what) { return *take(1, what); }
  uint32_t be32(const char* what) {
    const uint8_t* p = take(4, what);
    return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
  }
  uint16_t le16(const char* what) {
    const uint8_t* p = take(2, what);
    return static_cast<uint16_t>(p[0] | p[1] << 8);
  }
  uint32_t le32(const char* what) {
    const uint8_t* p = take(4, what);
    return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
  }
  uint64_t le64(const char* what) {
    const uint8_t* p = take(8, what);
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = v << 8 | p[i];
    return v;
  }

  template <class... Parts>
  [[noreturn]] void fail_here(const Parts&... parts) const {
    fail_at(op_, name_, base_ + pos_, parts...);
  }
  template <class... Parts>
  [[noreturn]] void fail_at_offset(size_t offset, const Parts&... parts) const {
    fail_at(op_, name_, base_ + offset, parts...);
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  std::string name_;
  const char* op_;
  uint64_t base_;
};

}  // namespace distillery
