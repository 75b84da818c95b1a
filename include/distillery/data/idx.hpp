// data/idx.hpp — the IDX format of MNIST and Fashion-MNIST, gzip-compressed or raw.
//
// An IDX file is a big-endian header followed by the values in C order:
//   bytes 0-1: 0x00 0x00   byte 2: dtype (0x08 = unsigned byte, the only one read here)
//   byte 3: number of dimensions d   then d big-endian uint32 extents   then the data
// Images files are [N, H, W] (magic 0x00000803), label files [N] (magic 0x00000801). A file that
// starts with the gzip magic 1f 8b is decompressed first (data/readers/inflate.hpp, no zlib
// needed). The header is validated and the data must be exactly as long as the extents say;
// anything else throws Error naming the file and the byte offset (offsets count in the
// decompressed data for a .gz file, and the message says so).
//
//   LabelledImages train = load_fashion_mnist("data/fashion-mnist", /*train=*/true);
//   // train.images [60000, 1, 28, 28] float in [0, 1] (= byte / 255), train.labels [60000]
//   IdxArray raw = read_idx("data/fashion-mnist/t10k-images-idx3-ubyte.gz");  // the bytes
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "../io/bytes.hpp"
#include "readers/inflate.hpp"
#include "dataset.hpp"

namespace distillery {

struct IdxArray {
  std::vector<int64_t> dims;  // extents, outermost first
  Bytes data;                 // prod(dims) unsigned bytes, C order
  std::string name;           // the file (for messages)
  size_t data_offset = 0;     // offset of data[0] in the (decompressed) file
};

// Parses an IDX file held in memory (gzip or raw). `name` is used in error messages.
inline IdxArray parse_idx(const uint8_t* data, size_t n, const std::string& name) {
  Bytes inflated;
  std::string where = name;
  if (is_gzip(data, n)) {
    // Cap the inflation at what the header declares (header + product of extents): a small
    // .gz that expands hugely is refused after that many bytes, not after 2 GiB.
    Bytes head = gunzip(data, n, name, 4 + 4 * kMaxDims, /*prefix=*/true);
    size_t cap = head.size();  // a malformed header: the parse below reports it
    if (head.size() >= 4 && head[0] == 0 && head[1] == 0 && head[3] >= 1 && head[3] <= kMaxDims &&
        head.size() >= 4 + 4 * size_t(head[3])) {
      uint64_t count = 1;
      for (int d = 0; d < head[3] && count <= kDefaultMaxInflate; ++d) {
        const uint8_t* e = head.data() + 4 + 4 * d;
        count *= (uint64_t(e[0]) << 24) | (uint64_t(e[1]) << 16) | (uint64_t(e[2]) << 8) | e[3];
      }
      cap = size_t(std::min<uint64_t>(4 + 4 * uint64_t(head[3]) + count, kDefaultMaxInflate));
    }
    if (cap == head.size()) return parse_idx(head.data(), head.size(), name + " (decompressed)");
    inflated = gunzip(data, n, name, cap);
    data = inflated.data();
    n = inflated.size();
    where = name + " (decompressed)";
  }
  ByteCursor c(data, n, where, "idx");
  if (c.u8("magic number") != 0 || c.u8("magic number") != 0)
    c.fail_at_offset(0, "not an IDX file: the magic number must start with two zero bytes");
  uint8_t dtype = c.u8("dtype");
  if (dtype != 0x08)
    c.fail_at_offset(2, "unsupported IDX dtype ", int(dtype),
                     " (only 8 = 0x08, unsigned byte, is read)");
  int ndim = c.u8("number of dimensions");
  if (ndim < 1 || ndim > kMaxDims)
    c.fail_at_offset(3, "number of dimensions must be in [1, ", kMaxDims, "], got ", ndim);
  IdxArray out;
  out.name = where;
  uint64_t count = 1;
  bool has_zero = false, too_big = false;
  for (int d = 0; d < ndim; ++d) {
    uint32_t extent = c.be32("dimension extent");
    if (extent == 0)
      has_zero = true;
    else if (too_big || count > uint64_t(n) / extent)
      too_big = true;  // more than the file holds
    else
      count *= extent;
    out.dims.push_back(extent);
  }
  // Nonzero extents whose product exceeds the file are rejected even next to a zero extent
  // (such an array is empty, but its shape would overflow every size computation).
  if (too_big)
    c.fail_here("file ends early: extents need more than ", c.remaining(), " data bytes");
  if (has_zero) count = 0;
  out.data_offset = c.offset();
  if (count > c.remaining())
    c.fail_here("file ends early: extents need ", count, " data bytes, ", c.remaining(), " remain");
  if (count < c.remaining())
    c.fail_at_offset(c.offset() + count, c.remaining() - count,
                     " bytes of trailing data after the values");
  const uint8_t* p = c.take(static_cast<size_t>(count), "data");
  out.data.assign(p, p + count);
  return out;
}

inline IdxArray read_idx(const std::string& path) {
  Bytes bytes = read_file_bytes(path, "idx");
  return parse_idx(bytes.data(), bytes.size(), path);
}

// [N, H, W] bytes -> Tensor<float> [N, 1, H, W] with values byte / 255.
inline Tensor<float> idx_to_images(const IdxArray& a) {
  check(a.dims.size() == 3, "idx", a.name,
        ": expected an images file with 3 dimensions [N, H, W], got ", a.dims.size());
  std::vector<float> v(a.data.size());
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(a.data[i]) / 255.0f;
  return host_tensor(v, Shape{a.dims[0], 1, a.dims[1], a.dims[2]});
}

// [N] bytes -> Tensor<int64_t> [N]; with num_classes > 0 every label must be below it.
inline Tensor<int64_t> idx_to_labels(const IdxArray& a, int64_t num_classes = 0) {
  check(a.dims.size() == 1, "idx", a.name, ": expected a labels file with 1 dimension [N], got ",
        a.dims.size());
  std::vector<int64_t> v(a.data.begin(), a.data.end());
  for (size_t i = 0; i < v.size(); ++i)
    if (num_classes > 0 && v[i] >= num_classes)
      fail_at("idx", a.name, a.data_offset + i, "label ", v[i], " is not below ", num_classes);
  return host_tensor(v, Shape{static_cast<int64_t>(v.size())});
}

inline Tensor<float> load_idx_images(const std::string& path) {
  return idx_to_images(read_idx(path));
}
inline Tensor<int64_t> load_idx_labels(const std::string& path, int64_t num_classes = 0) {
  return idx_to_labels(read_idx(path), num_classes);
}

// An images file and its labels file; the counts must agree.
inline LabelledImages load_idx_pair(const std::string& images_path, const std::string& labels_path,
                                    int64_t num_classes = 0) {
  LabelledImages d{load_idx_images(images_path), load_idx_labels(labels_path, num_classes)};
  check(d.images.shape()[0] == d.labels.numel(), "idx", images_path, " has ", d.images.shape()[0],
        " images but ", labels_path, " has ", d.labels.numel(), " labels");
  return d;
}

// Fashion-MNIST (or MNIST) in the standard file names under `dir`, as scripts/get-data.sh
// lays them out: train (60,000) or t10k test (10,000) images, 10 classes.
inline LabelledImages load_fashion_mnist(const std::string& dir, bool train) {
  const std::string prefix = dir + (train ? "/train" : "/t10k");
  return load_idx_pair(prefix + "-images-idx3-ubyte.gz", prefix + "-labels-idx1-ubyte.gz", 10);
}

}  // namespace distillery
