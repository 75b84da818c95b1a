// data/readers/inflate.hpp — DEFLATE (RFC 1951) and gzip (RFC 1952) decompression without zlib.
//
// Distillery stays header-only with no link dependency, so the gzip IDX files of Fashion-MNIST
// are decompressed here. The decoder follows zlib's `puff.c` (canonical Huffman codes, one
// bit at a time) with a 9-bit lookup table in front for the common short codes; it decodes the
// 26 MB Fashion-MNIST training images in well under a second. Every malformed or truncated
// stream throws Error naming the file and the byte offset in the compressed data; the output
// size is capped (`max_output`) so a tiny input cannot ask for gigabytes. It lives beside the
// readers that need it (data/idx.hpp, rl/mujoco_env.hpp), outside the headers every user includes.
//
//   Bytes raw = gunzip(bytes.data(), bytes.size(), "train-images-idx3-ubyte.gz");
//   bool gz = is_gzip(bytes.data(), bytes.size());
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

#include "../../io/bytes.hpp"
#include "../../io/checksum.hpp"

namespace distillery {

constexpr size_t kDefaultMaxInflate = size_t(1) << 31;  // 2 GiB

namespace detail {

// Canonical Huffman code: symbols sorted by (length, value) plus a table for codes <= 9 bits.
struct HuffmanCode {
  static constexpr int kFastBits = 9;
  uint16_t count[16] = {};             // number of codes of each length (count[0] unused)
  uint16_t symbol[288] = {};           // symbols in canonical order
  uint16_t fast[1 << kFastBits] = {};  // (length << 9 | symbol) for the next 9 input bits; 0: slow

  // Builds from code lengths. Over-subscribed sets are rejected (returns false); incomplete
  // sets are allowed (zlib allows a lone 1-bit distance code); bits that match no code throw
  // when decoded.
  bool build(const uint8_t* lengths, int n) {
    std::memset(count, 0, sizeof count);
    std::memset(fast, 0, sizeof fast);
    for (int s = 0; s < n; ++s) ++count[lengths[s]];
    count[0] = 0;
    int left = 1;
    for (int len = 1; len <= 15; ++len) {
      left <<= 1;
      left -= count[len];
      if (left < 0) return false;
    }
    uint16_t offs[16];
    offs[1] = 0;
    for (int len = 1; len < 15; ++len)
      offs[len + 1] = static_cast<uint16_t>(offs[len] + count[len]);
    for (int s = 0; s < n; ++s)
      if (lengths[s]) symbol[offs[lengths[s]]++] = static_cast<uint16_t>(s);
    // Fast table: canonical codes are assigned MSB-first, the stream delivers bits LSB-first,
    // so a code of length L fills every slot whose low L bits are its bit-reversal.
    uint32_t code = 0;
    int index = 0;
    for (int len = 1; len <= kFastBits; ++len) {
      for (int k = 0; k < count[len]; ++k, ++code, ++index) {
        uint32_t rev = 0;
        for (int b = 0; b < len; ++b) rev |= ((code >> b) & 1u) << (len - 1 - b);
        for (uint32_t slot = rev; slot < (1u << kFastBits); slot += 1u << len)
          fast[slot] = static_cast<uint16_t>(len << 9 | symbol[index]);
      }
      code <<= 1;
    }
    return true;
  }
};

class Inflater {
 public:
  // prefix: stop quietly once max_out bytes are out (read a header without inflating the rest).
  Inflater(const uint8_t* in, size_t n, const std::string& name, uint64_t base, size_t max_out,
           bool prefix = false)
      : in_(in), n_(n), name_(name), base_(base), max_out_(max_out), prefix_(prefix) {}

  // Decodes one DEFLATE stream, appending to `out`; returns the input bytes consumed (the
  // stream ends byte-aligned after its final block).
  size_t run(Bytes& out) {
    try {
      return run_blocks(out);
    } catch (const PrefixDone&) {
      return 0;  // prefix mode: the first max_out bytes are out
    }
  }
  size_t run_blocks(Bytes& out) {
    for (bool last = false; !last;) {
      last = bits(1) != 0;
      int type = static_cast<int>(bits(2));
      if (type == 0)
        stored(out);
      else if (type == 1)
        codes(out, fixed().first, fixed().second);
      else if (type == 2)
        dynamic(out);
      else
        error("invalid block type 3");
    }
    return pos_ - static_cast<size_t>(cnt_ / 8);  // whole unread bytes go back to the caller
  }

 private:
  struct PrefixDone {};
  [[noreturn]] void exceeded() const {
    if (prefix_) throw PrefixDone{};
    error("decompressed size exceeds the limit of ", max_out_,
          " bytes (a decompression bomb, or a cap too small for this file)");
  }
  template <class... P>
  [[noreturn]] void error(const P&... parts) const {
    size_t consumed = pos_ * 8 > static_cast<size_t>(cnt_) ? (pos_ * 8 - cnt_) / 8 : 0;
    if (consumed > n_) consumed = n_;
    fail_at("inflate", name_, base_ + consumed, parts...);
  }
  void refill() {
    while (cnt_ <= 56) {
      uint64_t b = pos_ < n_ ? in_[pos_] : 0;  // zero padding past the end, checked on use
      buf_ |= b << cnt_;
      cnt_ += 8;
      ++pos_;
    }
  }
  void consume(int k) {
    buf_ >>= k;
    cnt_ -= k;
    if (pos_ > n_ && static_cast<size_t>(cnt_) < (pos_ - n_) * 8)
      fail_at("inflate", name_, base_ + n_, "unexpected end of compressed data");
  }
  uint32_t bits(int k) {  // k <= 32
    if (cnt_ < k) refill();
    uint32_t v = static_cast<uint32_t>(buf_ & ((uint64_t(1) << k) - 1));
    consume(k);
    return v;
  }
  int decode(const HuffmanCode& h) {
    if (cnt_ < 15) refill();
    uint16_t e = h.fast[buf_ & ((1u << HuffmanCode::kFastBits) - 1)];
    if (e) {
      consume(e >> 9);
      return e & 511;
    }
    int code = 0, first = 0, index = 0;  // puff's canonical decode, one bit at a time
    for (int len = 1; len <= 15; ++len) {
      code |= static_cast<int>((buf_ >> (len - 1)) & 1);
      int c = h.count[len];
      if (code - c < first) {
        consume(len);
        return h.symbol[index + (code - first)];
      }
      index += c;
      first = (first + c) << 1;
      code <<= 1;
    }
    error("invalid Huffman code");
  }
  void stored(Bytes& out) {
    pos_ -= static_cast<size_t>(cnt_ / 8);  // drop partial byte, return whole bytes to input
    buf_ = 0;
    cnt_ = 0;
    if (pos_ > n_ || n_ - pos_ < 4)
      fail_at("inflate", name_, base_ + std::min(pos_, n_), "unexpected end of compressed data");
    unsigned len = in_[pos_] | in_[pos_ + 1] << 8, nlen = in_[pos_ + 2] | in_[pos_ + 3] << 8;
    if (len != (~nlen & 0xFFFFu)) error("stored block length check failed");
    pos_ += 4;
    if (n_ - pos_ < len) fail_at("inflate", name_, base_ + n_, "unexpected end of compressed data");
    if (out.size() + len > max_out_) {
      if (prefix_) out.insert(out.end(), in_ + pos_, in_ + pos_ + (max_out_ - out.size()));
      exceeded();
    }
    out.insert(out.end(), in_ + pos_, in_ + pos_ + len);
    pos_ += len;
  }
  void codes(Bytes& out, const HuffmanCode& lit, const HuffmanCode& dist) {
    static const uint16_t kLenBase[29] = {3,  4,  5,  6,   7,   8,   9,   10,  11, 13,
                                          15, 17, 19, 23,  27,  31,  35,  43,  51, 59,
                                          67, 83, 99, 115, 131, 163, 195, 227, 258};
    static const uint8_t kLenExtra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                          2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
    static const uint16_t kDistBase[30] = {
        1,   2,   3,   4,   5,   7,    9,    13,   17,   25,   33,   49,   65,    97,    129,
        193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
    static const uint8_t kDistExtra[30] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                           6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
    for (;;) {
      int sym = decode(lit);
      if (sym < 256) {
        if (out.size() >= max_out_) exceeded();
        out.push_back(static_cast<uint8_t>(sym));
      } else if (sym == 256) {
        return;
      } else {
        sym -= 257;
        if (sym >= 29) error("invalid length symbol ", sym + 257);
        size_t len = kLenBase[sym] + bits(kLenExtra[sym]);
        int ds = decode(dist);
        if (ds >= 30) error("invalid distance symbol ", ds);
        size_t d = kDistBase[ds] + bits(kDistExtra[ds]);
        if (d > out.size()) error("distance ", d, " reaches before the start of the output");
        size_t from = out.size() - d;
        if (out.size() + len > max_out_) {
          if (prefix_) len = max_out_ - out.size();  // then stop
          else exceeded();
        }
        for (size_t i = 0; i < len; ++i) out.push_back(out[from + i]);  // may overlap
        if (out.size() >= max_out_ && prefix_) exceeded();
      }
    }
  }
  void dynamic(Bytes& out) {
    static const uint8_t kOrder[19] = {16, 17, 18, 0, 8,  7, 9,  6, 10, 5,
                                       11, 4,  12, 3, 13, 2, 14, 1, 15};
    int nlen = static_cast<int>(bits(5)) + 257, ndist = static_cast<int>(bits(5)) + 1;
    int ncode = static_cast<int>(bits(4)) + 4;
    if (nlen > 286 || ndist > 30) error("too many length or distance codes");
    uint8_t lengths[320] = {};
    for (int i = 0; i < ncode; ++i) lengths[kOrder[i]] = static_cast<uint8_t>(bits(3));
    HuffmanCode lencode, litcode, distcode;
    if (!lencode.build(lengths, 19)) error("over-subscribed code-length code");
    for (int i = 0; i < nlen + ndist;) {
      int sym = decode(lencode);
      if (sym < 16) {
        lengths[i++] = static_cast<uint8_t>(sym);
        continue;
      }
      int rep = 0;
      uint8_t value = 0;
      if (sym == 16) {
        if (i == 0) error("repeat with no previous code length");
        value = lengths[i - 1];
        rep = 3 + static_cast<int>(bits(2));
      } else if (sym == 17) {
        rep = 3 + static_cast<int>(bits(3));
      } else {
        rep = 11 + static_cast<int>(bits(7));
      }
      if (i + rep > nlen + ndist) error("code lengths overflow the table");
      while (rep--) lengths[i++] = value;
    }
    if (lengths[256] == 0) error("no end-of-block code");
    if (!litcode.build(lengths, nlen)) error("over-subscribed literal/length code");
    if (!distcode.build(lengths + nlen, ndist)) error("over-subscribed distance code");
    codes(out, litcode, distcode);
  }
  static const std::pair<HuffmanCode, HuffmanCode>& fixed() {
    static const std::pair<HuffmanCode, HuffmanCode> f = [] {
      std::pair<HuffmanCode, HuffmanCode> p;
      uint8_t l[288];
      for (int s = 0; s < 288; ++s) l[s] = s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8;
      p.first.build(l, 288);
      for (int s = 0; s < 30; ++s) l[s] = 5;
      p.second.build(l, 30);
      return p;
    }();
    return f;
  }

  const uint8_t* in_;
  size_t n_, pos_ = 0;
  uint64_t buf_ = 0;
  int cnt_ = 0;
  const std::string& name_;
  uint64_t base_;
  size_t max_out_;
  bool prefix_ = false;
};

}  // namespace detail

// Raw DEFLATE data (no zlib or gzip wrapper). Returns the output; `consumed`, if given, gets
// the number of input bytes used.
inline Bytes inflate_raw(const uint8_t* data, size_t n, const std::string& name,
                         size_t max_output = kDefaultMaxInflate, size_t* consumed = nullptr,
                         uint64_t base = 0) {
  Bytes out;
  size_t used = detail::Inflater(data, n, name, base, max_output).run(out);
  if (consumed) *consumed = used;
  return out;
}

inline bool is_gzip(const uint8_t* data, size_t n) {
  return n >= 2 && data[0] == 0x1F && data[1] == 0x8B;
}

// A gzip file (one or more members). The header is validated, and each member's CRC-32 and
// length trailer is checked.
// With prefix = true: only the first max_output bytes of the first member (no trailer checks),
// for reading a header that says how large the whole output may be (data/idx.hpp).
inline Bytes gunzip(const uint8_t* data, size_t n, const std::string& name,
                    size_t max_output = kDefaultMaxInflate, bool prefix = false) {
  ByteCursor c(data, n, name, "gzip");
  Bytes out;
  do {
    size_t member_start = c.offset(), out_start = out.size();
    if (c.u8("gzip magic") != 0x1F || c.u8("gzip magic") != 0x8B)
      c.fail_at_offset(member_start, "not a gzip member (magic 1f 8b expected)");
    if (c.u8("compression method") != 8)
      c.fail_at_offset(c.offset() - 1, "compression method is not deflate (8)");
    uint8_t flags = c.u8("flags");
    if (flags & 0xE0) c.fail_at_offset(c.offset() - 1, "reserved flag bits are set");
    c.take(6, "gzip header (mtime, xfl, os)");
    if (flags & 4) c.take(c.le16("extra field length"), "extra field");
    for (int field : {8, 16}) {  // FNAME, FCOMMENT: zero-terminated
      if (!(flags & field)) continue;
      while (c.u8(field == 8 ? "file name" : "comment") != 0) {
      }
    }
    if (flags & 2) c.take(2, "header CRC");
    size_t used = 0;
    if (prefix) {
      detail::Inflater(data + c.offset(), c.remaining(), name, c.offset(), max_output, true)
          .run(out);
      return out;
    }
    Bytes part = inflate_raw(data + c.offset(), c.remaining(), name, max_output - out.size(), &used,
                             c.offset());
    c.take(used, "deflate data");
    out.insert(out.end(), part.begin(), part.end());
    size_t trailer = c.offset();
    uint32_t crc = c.le32("CRC-32 trailer"), isize = c.le32("length trailer");
    if (crc != crc32(0, out.data() + out_start, out.size() - out_start))
      c.fail_at_offset(trailer, "CRC-32 mismatch: data is corrupt");
    if (isize != static_cast<uint32_t>(out.size() - out_start))
      c.fail_at_offset(trailer + 4, "length trailer mismatch: data is corrupt");
  } while (!c.at_end());
  return out;
}

}  // namespace distillery
