// io/png.hpp — a dependency-free PNG writer for 8-bit grayscale and RGB images.
//
// Enough PNG to look at distilled images and plots: one IHDR, one IDAT holding a zlib stream
// of *stored* (uncompressed) deflate blocks, one IEND; every chunk carries its CRC-32 and the
// zlib stream its Adler-32 (io/checksum.hpp). Files are a little larger than compressed PNGs,
// which does not matter at these sizes. Tensor overloads map [lo, hi] to 0..255 (clamped);
// `write_image_grid` tiles a batch [N, C, H, W] like torchvision's make_grid. Written atomically.
//
//   write_png("digit.png", images.select(0, 0));            // [1, 28, 28] in [0, 1]
//   GridOptions g; g.nrow = 10; g.normalize = true; g.scale = 3;
//   write_image_grid("distilled.png", synthetic_images, g);  // [N, 1, 28, 28]
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "../ops/tensor_methods.hpp"
#include "atomic_file.hpp"
#include "bytes.hpp"
#include "checksum.hpp"

namespace distillery {

namespace detail {
inline void put_be32(Bytes& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(v >> s));
}
inline void png_chunk(Bytes& out, const char type[4], const Bytes& data) {
  put_be32(out, static_cast<uint32_t>(data.size()));
  size_t start = out.size();
  out.insert(out.end(), type, type + 4);
  out.insert(out.end(), data.begin(), data.end());
  put_be32(out, crc32(0, out.data() + start, out.size() - start));
}
// A zlib stream (RFC 1950) of stored deflate blocks.
inline Bytes zlib_stored(const Bytes& raw) {
  Bytes z = {0x78, 0x01};  // deflate, 32K window, no dictionary; 0x7801 % 31 == 0
  size_t pos = 0;
  do {
    size_t len = std::min<size_t>(raw.size() - pos, 65535);
    bool last = pos + len == raw.size();
    z.push_back(last ? 1 : 0);  // BFINAL, BTYPE = 00 (stored)
    z.push_back(static_cast<uint8_t>(len));
    z.push_back(static_cast<uint8_t>(len >> 8));
    z.push_back(static_cast<uint8_t>(~len));
    z.push_back(static_cast<uint8_t>(~len >> 8));
    z.insert(z.end(), raw.begin() + static_cast<ptrdiff_t>(pos),
             raw.begin() + static_cast<ptrdiff_t>(pos + len));
    pos += len;
  } while (pos < raw.size());
  put_be32(z, adler32(1, raw.data(), raw.size()));
  return z;
}
}  // namespace detail

// PNG bytes of a width x height image; `pixels` is row-major, `channels` bytes per pixel
// (1 = grayscale, 3 = RGB). Requires width, height >= 1.
inline Bytes encode_png(const uint8_t* pixels, int64_t width, int64_t height, int channels) {
  check(channels == 1 || channels == 3, "encode_png", "channels must be 1 or 3, got ", channels);
  check(width >= 1 && height >= 1 && width <= (1 << 24) && height <= (1 << 24), "encode_png",
        "image size must be in [1, 2^24], got ", width, "x", height);
  Bytes out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  Bytes ihdr;
  detail::put_be32(ihdr, static_cast<uint32_t>(width));
  detail::put_be32(ihdr, static_cast<uint32_t>(height));
  ihdr.insert(ihdr.end(), {8, static_cast<uint8_t>(channels == 1 ? 0 : 2), 0, 0, 0});
  detail::png_chunk(out, "IHDR", ihdr);
  const size_t row = static_cast<size_t>(width) * channels;
  Bytes raw;
  raw.reserve((row + 1) * static_cast<size_t>(height));
  for (int64_t y = 0; y < height; ++y) {
    raw.push_back(0);  // filter type None
    raw.insert(raw.end(), pixels + y * row, pixels + (y + 1) * row);
  }
  detail::png_chunk(out, "IDAT", detail::zlib_stored(raw));
  detail::png_chunk(out, "IEND", {});
  return out;
}

inline void write_png(const std::string& path, const uint8_t* pixels, int64_t width, int64_t height,
                      int channels) {
  Bytes png = encode_png(pixels, width, height, channels);
  write_file_atomic(path, png.data(), png.size());
}

namespace detail {
inline uint8_t to_byte(double v, double lo, double hi) {
  double x = hi > lo ? (v - lo) / (hi - lo) : 0.0;
  if (!(x > 0)) x = 0;  // also maps NaN to 0
  if (x > 1) x = 1;
  return static_cast<uint8_t>(std::lround(x * 255.0));
}
}  // namespace detail

// An image tensor [H, W] (gray), [1, H, W] (gray) or [3, H, W] (RGB); [lo, hi] maps to 0..255.
template <class T>
void write_png(const std::string& path, const Tensor<T>& image, double lo = 0, double hi = 1) {
  static_assert(std::is_floating_point_v<T>, "write_png: float or double image");
  const Shape& s = image.shape();
  check(s.size() == 2 || (s.size() == 3 && (s[0] == 1 || s[0] == 3)), "write_png",
        "expected [H, W], [1, H, W] or [3, H, W], got ", s);
  const int c = s.size() == 2 ? 1 : static_cast<int>(s[0]);
  const int64_t h = s[s.size() - 2], w = s[s.size() - 1];
  std::vector<T> v = image.to_vector();
  Bytes px(static_cast<size_t>(h * w * c));
  for (int64_t ch = 0; ch < c; ++ch)  // planar CHW -> interleaved HWC
    for (int64_t i = 0; i < h * w; ++i) px[i * c + ch] = detail::to_byte(v[ch * h * w + i], lo, hi);
  write_png(path, px.data(), w, h, c);
}

struct GridOptions {
  int64_t nrow = 8;         // images per row (torchvision's name)
  int64_t padding = 2;      // pixels between and around images
  double pad_value = 0.0;   // in the images' value scale after normalisation (0 = black)
  bool normalize = false;   // map [min, max] (of the batch, or of each image) to [0, 1]
  bool scale_each = false;  // with normalize: per-image min/max
  int64_t scale = 1;        // integer nearest-neighbour upscaling of the finished grid
};

// A batch [N, C, H, W] (C = 1 or 3) tiled into one PNG, row-major, `nrow` per row.
template <class T>
void write_image_grid(const std::string& path, const Tensor<T>& images, const GridOptions& o = {}) {
  static_assert(std::is_floating_point_v<T>, "write_image_grid: float or double images");
  const Shape& s = images.shape();
  check(s.size() == 4 && (s[1] == 1 || s[1] == 3) && s[0] >= 1, "write_image_grid",
        "expected [N, 1 or 3, H, W] with N >= 1, got ", s);
  check(o.nrow >= 1 && o.padding >= 0 && o.scale >= 1, "write_image_grid",
        "nrow and scale must be >= 1 and padding >= 0");
  const int64_t n = s[0], c = s[1], h = s[2], w = s[3], per = c * h * w;
  const int64_t cols = std::min(n, o.nrow), rows = (n + cols - 1) / cols;
  const int64_t gw = cols * (w + o.padding) + o.padding, gh = rows * (h + o.padding) + o.padding;
  std::vector<T> v = images.to_vector();
  std::vector<double> lo(n, 0.0), hi(n, 1.0);
  if (o.normalize) {
    for (int64_t k = 0; k < n; ++k) {
      auto mm = std::minmax_element(v.begin() + k * per, v.begin() + (k + 1) * per);
      lo[k] = *mm.first;
      hi[k] = *mm.second;
    }
    if (!o.scale_each) {
      double a = *std::min_element(lo.begin(), lo.end()),
             b = *std::max_element(hi.begin(), hi.end());
      std::fill(lo.begin(), lo.end(), a);
      std::fill(hi.begin(), hi.end(), b);
    }
  }
  const uint8_t pad = detail::to_byte(o.pad_value, 0, 1);
  Bytes grid(static_cast<size_t>(gw * gh * c), pad);
  for (int64_t k = 0; k < n; ++k) {
    const int64_t x0 = o.padding + (k % cols) * (w + o.padding);
    const int64_t y0 = o.padding + (k / cols) * (h + o.padding);
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t y = 0; y < h; ++y)
        for (int64_t x = 0; x < w; ++x)
          grid[((y0 + y) * gw + x0 + x) * c + ch] =
              detail::to_byte(v[k * per + (ch * h + y) * w + x], lo[k], hi[k]);
  }
  if (o.scale == 1) return write_png(path, grid.data(), gw, gh, static_cast<int>(c));
  const int64_t sw = gw * o.scale, sh = gh * o.scale;
  Bytes big(static_cast<size_t>(sw * sh * c));
  for (int64_t y = 0; y < sh; ++y)
    for (int64_t x = 0; x < sw; ++x)
      for (int64_t ch = 0; ch < c; ++ch)
        big[(y * sw + x) * c + ch] = grid[((y / o.scale) * gw + x / o.scale) * c + ch];
  write_png(path, big.data(), sw, sh, static_cast<int>(c));
}

}  // namespace distillery
