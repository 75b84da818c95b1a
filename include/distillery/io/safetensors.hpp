// io/safetensors.hpp — checkpoints in the safetensors format (Hugging Face), readable by PyTorch.
//
// A state dict maps dotted parameter names to tensors of any supported dtype:
//   AnyTensor = std::variant<Tensor<float>, Tensor<double>, Tensor<int64_t>>   (F32, F64, I64)
// File layout (https://github.com/huggingface/safetensors, "Format"):
//   [8 bytes: N, little-endian u64] [N bytes: JSON header] [tensor bytes, little-endian, C order]
//   header = {"__metadata__": {"k": "v", ...},
//             "<name>": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...}
// Offsets are relative to the start of the tensor bytes. We write tensors in name order, pad the
// header with spaces to a multiple of 8 bytes (as the reference writer does) and write the file
// atomically. The reader is strict: the header must be valid JSON starting with '{', every key
// unique, every dtype known and supported, each byte range must hold exactly shape-product x
// dtype-size bytes, and the ranges must tile the data buffer with no gap or overlap. Errors
// name the file and the byte offset of the offending header entry.
//
//   StateDict sd;
//   sd["fc.weight"] = Tensor<float>::randn({10, 784});
//   sd["step"] = Tensor<int64_t>::scalar(100);
//   save_safetensors("ckpt.safetensors", sd, {{"epoch", "3"}});
//   StateDict back = load_safetensors("ckpt.safetensors");
//   Tensor<float> w = get_tensor<float>(back, "fc.weight");
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "../ops/tensor_methods.hpp"
#include "atomic_file.hpp"
#include "bytes.hpp"
#include "json.hpp"
#include "json_reader.hpp"

namespace distillery {

using AnyTensor = std::variant<Tensor<float>, Tensor<double>, Tensor<int64_t>>;
using StateDict = std::map<std::string, AnyTensor>;
using Metadata = std::map<std::string, std::string>;

namespace detail {
template <class T>
constexpr const char* safetensors_dtype();
template <>
constexpr const char* safetensors_dtype<float>() {
  return "F32";
}
template <>
constexpr const char* safetensors_dtype<double>() {
  return "F64";
}
template <>
constexpr const char* safetensors_dtype<int64_t>() {
  return "I64";
}

inline bool host_is_little_endian() {
  const uint16_t one = 1;
  uint8_t first;
  std::memcpy(&first, &one, 1);
  return first == 1;
}
// Copies n values of `size` bytes, reversing each value's bytes on a big-endian host.
inline void copy_little_endian(uint8_t* dst, const uint8_t* src, size_t n, size_t size) {
  if (host_is_little_endian()) {
    if (n) std::memcpy(dst, src, n * size);
    return;
  }
  for (size_t i = 0; i < n; ++i)
    for (size_t b = 0; b < size; ++b) dst[i * size + b] = src[i * size + size - 1 - b];
}
}  // namespace detail

// "F32", "F64" or "I64".
inline const char* dtype_name(const AnyTensor& t) {
  return std::visit(
      [](const auto& x) {
        return detail::safetensors_dtype<typename std::decay_t<decltype(x)>::Scalar>();
      },
      t);
}
inline Shape shape_of(const AnyTensor& t) {
  return std::visit([](const auto& x) { return x.shape(); }, t);
}

// The tensor called `name`, which must exist and have dtype T.
template <class T>
Tensor<T> get_tensor(const StateDict& sd, const std::string& name) {
  auto it = sd.find(name);
  check(it != sd.end(), "get_tensor", "no tensor named '", name, "' in the state dict");
  const Tensor<T>* t = std::get_if<Tensor<T>>(&it->second);
  check(t != nullptr, "get_tensor", "tensor '", name, "' has dtype ", dtype_name(it->second),
        ", expected ", detail::safetensors_dtype<T>());
  return *t;
}

// A typed map (e.g. a Module's state dict of Tensor<float>) as a StateDict.
template <class T>
StateDict to_state_dict(const std::map<std::string, Tensor<T>>& m) {
  StateDict sd;
  for (const auto& kv : m) sd.emplace(kv.first, kv.second);
  return sd;
}

// The file contents in memory. Requires: every tensor defined; `__metadata__` is not a name.
inline Bytes serialize_safetensors(const StateDict& tensors, const Metadata& metadata = {}) {
  Json header = Json::object();
  if (!metadata.empty()) {
    Json& m = header["__metadata__"];
    m = Json::object();
    for (const auto& kv : metadata) m[kv.first] = kv.second;
  }
  std::vector<std::vector<uint8_t>> blobs;
  uint64_t offset = 0;
  for (const auto& kv : tensors) {
    check(kv.first != "__metadata__", "save_safetensors", "'__metadata__' is reserved");
    std::visit(
        [&](const auto& t) {
          using T = typename std::decay_t<decltype(t)>::Scalar;
          check(t.defined(), "save_safetensors", "tensor '", kv.first, "' is undefined");
          std::vector<T> v = t.to_vector();
          std::vector<uint8_t> blob(v.size() * sizeof(T));
          detail::copy_little_endian(blob.data(), reinterpret_cast<const uint8_t*>(v.data()),
                                     v.size(), sizeof(T));
          Json entry = Json::object();
          entry["dtype"] = detail::safetensors_dtype<T>();
          entry["shape"] = t.shape().vec();
          entry["data_offsets"] = Json::array({offset, offset + blob.size()});
          header[kv.first] = entry;
          offset += blob.size();
          blobs.push_back(std::move(blob));
        },
        kv.second);
  }
  std::string text = header.dump(-1);
  text.append((8 - text.size() % 8) % 8, ' ');
  Bytes out(8 + text.size());
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(uint64_t(text.size()) >> (8 * i));
  std::memcpy(out.data() + 8, text.data(), text.size());
  out.reserve(out.size() + offset);
  for (const auto& b : blobs) out.insert(out.end(), b.begin(), b.end());
  return out;
}

// Writes atomically (temp file in the same directory, fsync, rename).
inline void save_safetensors(const std::string& path, const StateDict& tensors,
                             const Metadata& metadata = {}) {
  Bytes bytes = serialize_safetensors(tensors, metadata);
  write_file_atomic(path, bytes.data(), bytes.size());
}

// Parses a whole file held in memory; `name` is used in error messages.
inline StateDict parse_safetensors(const uint8_t* data, size_t n, const std::string& name,
                                   Metadata* metadata = nullptr) {
  constexpr uint64_t kMaxHeader = 100u << 20;  // the reference implementation's limit
  ByteCursor c(data, n, name, "safetensors");
  const uint64_t hlen = c.le64("header length");
  if (hlen > c.remaining())
    c.fail_at_offset(0, "header length ", hlen, " exceeds the ", c.remaining(),
                     " bytes after the length field");
  if (hlen > kMaxHeader) c.fail_at_offset(0, "header length ", hlen, " exceeds 100 MiB");
  if (hlen == 0 || data[8] != '{') c.fail_at_offset(8, "header must start with '{'");
  const uint64_t buffer_size = n - 8 - hlen;
  const uint8_t* buffer = data + 8 + hlen;

  struct Entry {
    std::string name, dtype;
    std::vector<int64_t> shape;
    uint64_t begin = 0, end = 0;
    size_t at = 0;  // file offset of the entry's key
  };
  std::vector<Entry> entries;
  std::map<std::string, size_t> seen;
  JsonReader r(data + 8, static_cast<size_t>(hlen), name, "safetensors", 8);
  r.read_object([&](const std::string& key, size_t key_offset) {
    if (!seen.emplace(key, key_offset).second) r.error_at(key_offset, "duplicate key '", key, "'");
    if (key == "__metadata__") {
      std::map<std::string, bool> keys;
      r.read_object([&](const std::string& k, size_t off) {
        if (!keys.emplace(k, true).second) r.error_at(off, "duplicate metadata key '", k, "'");
        if (r.peek() != '"') r.error("metadata value for '", k, "' must be a string");
        std::string v = r.read_string();
        if (metadata) (*metadata)[k] = v;
      });
      return;
    }
    Entry e;
    e.name = key;
    e.at = 8 + key_offset;
    bool has_dtype = false, has_shape = false, has_offsets = false;
    if (r.peek() != '{') r.error("entry for tensor '", key, "' must be an object");
    r.read_object([&](const std::string& field, size_t off) {
      bool* flag = field == "dtype"          ? &has_dtype
                   : field == "shape"        ? &has_shape
                   : field == "data_offsets" ? &has_offsets
                                             : nullptr;
      if (!flag) r.error_at(off, "unknown field '", field, "' in tensor '", key, "'");
      if (*flag) r.error_at(off, "duplicate field '", field, "' in tensor '", key, "'");
      *flag = true;
      if (field == "dtype") {
        e.dtype = r.read_string();
      } else if (field == "shape") {
        r.read_array([&](size_t i) {
          if (i >= static_cast<size_t>(kMaxDims)) r.error("more than ", kMaxDims, " dimensions");
          int64_t d = r.read_int64();
          if (d < 0) r.error("negative dimension");
          e.shape.push_back(d);
        });
      } else {
        std::vector<int64_t> o;
        r.read_array([&](size_t i) {
          if (i >= 2) r.error("data_offsets must have exactly 2 entries");
          int64_t v = r.read_int64();
          if (v < 0) r.error("negative data offset");
          o.push_back(v);
        });
        if (o.size() != 2) r.error_at(off, "data_offsets must have exactly 2 entries");
        e.begin = static_cast<uint64_t>(o[0]);
        e.end = static_cast<uint64_t>(o[1]);
      }
    });
    if (!has_dtype || !has_shape || !has_offsets)
      c.fail_at_offset(e.at, "tensor '", key, "' needs dtype, shape and data_offsets");
    entries.push_back(std::move(e));
  });
  r.expect_end();

  // Byte ranges must tile [0, buffer_size) exactly.
  std::vector<const Entry*> order;
  for (const auto& e : entries) order.push_back(&e);
  std::sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t cursor = 0;
  for (const Entry* e : order) {
    if (e->begin > e->end)
      c.fail_at_offset(e->at, "tensor '", e->name, "': data_offsets [", e->begin, ", ", e->end,
                       "] are reversed");
    if (e->begin != cursor)
      c.fail_at_offset(e->at, "tensor '", e->name, "': data_offsets [", e->begin, ", ", e->end,
                       "] ", e->begin < cursor ? "overlap another tensor" : "leave a gap",
                       " (expected to start at ", cursor, ")");
    if (e->end > buffer_size)
      c.fail_at_offset(e->at, "tensor '", e->name, "': data_offsets end ", e->end,
                       " is past the end of the ", buffer_size, "-byte data buffer");
    cursor = e->end;
  }
  if (cursor != buffer_size)
    c.fail_at_offset(8 + hlen + cursor, "data buffer has ", buffer_size - cursor,
                     " bytes that belong to no tensor");

  StateDict out;
  for (const auto& e : entries) {
    auto build = [&](auto tag) {
      using T = decltype(tag);
      // Product of the extents, guarding against overflow (extents come from the file).
      const uint64_t bytes = e.end - e.begin, limit = bytes / sizeof(T);
      uint64_t count = 1;
      bool fits = true, has_zero = false;
      for (int64_t d : e.shape) {
        if (d == 0)
          has_zero = true;
        else if (count > static_cast<uint64_t>(INT64_MAX) / static_cast<uint64_t>(d))
          fits = false;
        else
          count *= static_cast<uint64_t>(d);
      }
      if (!fits) c.fail_at_offset(e.at, "tensor '", e.name, "': shape overflows 64 bits");
      if (has_zero) count = 0;
      if (count > limit || count * sizeof(T) != bytes) {
        std::string need = count > UINT64_MAX / sizeof(T) ? std::string("more than 2^64")
                                                          : std::to_string(count * sizeof(T));
        c.fail_at_offset(e.at, "tensor '", e.name, "': shape ", Shape(e.shape), " of ", e.dtype,
                         " needs ", need, " bytes, but data_offsets [", e.begin, ", ", e.end,
                         "] hold ", bytes);
      }
      std::vector<T> v(count);
      detail::copy_little_endian(reinterpret_cast<uint8_t*>(v.data()), buffer + e.begin, count,
                                 sizeof(T));
      // (zeros() for empty tensors: from_vector would hand memcpy the null data() of an empty
      // vector)
      out.emplace(e.name, count ? Tensor<T>::from_vector(v, Shape(e.shape))
                                : Tensor<T>::zeros(Shape(e.shape)));
    };
    if (e.dtype == "F32")
      build(float{});
    else if (e.dtype == "F64")
      build(double{});
    else if (e.dtype == "I64")
      build(int64_t{});
    else {
      static const char* kKnown[] = {"BOOL", "U8",  "I8",   "F8_E5M2", "F8_E4M3", "I16",
                                     "U16",  "F16", "BF16", "I32",     "U32",     "U64"};
      bool known = std::find_if(std::begin(kKnown), std::end(kKnown),
                                [&](const char* k) { return e.dtype == k; }) != std::end(kKnown);
      c.fail_at_offset(e.at, "tensor '", e.name, "': ", known ? "unsupported" : "unknown",
                       " dtype '", e.dtype, "' (Distillery reads F32, F64 and I64)");
    }
  }
  return out;
}

// Loads a .safetensors file; fills *metadata when given.
inline StateDict load_safetensors(const std::string& path, Metadata* metadata = nullptr) {
  Bytes bytes = read_file_bytes(path, "safetensors");
  return parse_safetensors(bytes.data(), bytes.size(), path, metadata);
}

}  // namespace distillery
