// tests/ops/table_nn_functional.hpp — op-table entries for ops/nn_functional.hpp.
#pragma once
#include <distillery/ops/nn_functional.hpp>

#include "harness.hpp"

namespace dtest {

// A generator reseeded on every call, so that a random op (dropout) draws the same mask in
// every evaluation the harness makes.
inline Generator& reseeded(uint64_t seed) {
  thread_local Generator g;
  g.seed_(seed);
  return g;
}

namespace ref {
// Direct convolution: x [N, C, H, W], w [Co, C/groups, kh, kw], b [Co] or empty.
inline Arr conv2d(const Arr& x, const Arr& w, const Arr* b, Dims stride, Dims pad, Dims dil,
                  int64_t groups) {
  const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  const int64_t Co = w.shape[0], Cg = w.shape[1], kh = w.shape[2], kw = w.shape[3];
  const int64_t Ho = (H + 2 * pad[0] - dil[0] * (kh - 1) - 1) / stride[0] + 1;
  const int64_t Wo = (W + 2 * pad[1] - dil[1] * (kw - 1) - 1) / stride[1] + 1;
  const int64_t Cog = Co / groups;
  (void)C;
  Arr out({N, Co, Ho, Wo});
  for (int64_t n = 0; n < N; ++n)
    for (int64_t co = 0; co < Co; ++co)
      for (int64_t oh = 0; oh < Ho; ++oh)
        for (int64_t ow = 0; ow < Wo; ++ow) {
          double acc = b ? b->v[co] : 0.0;
          const int64_t g = co / Cog;
          for (int64_t ci = 0; ci < Cg; ++ci)
            for (int64_t i = 0; i < kh; ++i)
              for (int64_t j = 0; j < kw; ++j) {
                int64_t h = oh * stride[0] - pad[0] + i * dil[0];
                int64_t v = ow * stride[1] - pad[1] + j * dil[1];
                if (h < 0 || h >= H || v < 0 || v >= W) continue;
                acc += x.at({n, g * Cg + ci, h, v}) * w.at({co, ci, i, j});
              }
          out.at({n, co, oh, ow}) = acc;
        }
  return out;
}

// Pooling over k x k windows (stride s, padding p): max ignores padding, avg counts it.
inline Arr pool2d(const Arr& x, int64_t k, int64_t s, int64_t p, bool is_max) {
  const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  const int64_t Ho = (H + 2 * p - k) / s + 1, Wo = (W + 2 * p - k) / s + 1;
  Arr out({N, C, Ho, Wo});
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t oh = 0; oh < Ho; ++oh)
        for (int64_t ow = 0; ow < Wo; ++ow) {
          double best = -1e300, acc = 0;
          for (int64_t i = 0; i < k; ++i)
            for (int64_t j = 0; j < k; ++j) {
              int64_t h = oh * s - p + i, v = ow * s - p + j;
              if (h < 0 || h >= H || v < 0 || v >= W) continue;
              best = std::max(best, x.at({n, c, h, v}));
              acc += x.at({n, c, h, v});
            }
          out.at({n, c, oh, ow}) = is_max ? best : acc / double(k * k);
        }
  return out;
}

// avg_pool2d as PyTorch's CPU kernel writes it: output size with floor or ceil (the last window
// starting inside the input or left padding), divisor = window clipped to the padded input
// (count_include_pad) or to the input.
inline Arr avg_pool2d_opts(const Arr& x, Dims k, Dims s, Dims p, bool ceil_mode, bool count_pad) {
  const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  auto out_size = [&](int64_t n, int64_t kk, int64_t ss, int64_t pp) {
    double v = double(n + 2 * pp - kk) / double(ss);
    int64_t o = int64_t(ceil_mode ? std::ceil(v) : std::floor(v)) + 1;
    if (ceil_mode && (o - 1) * ss >= n + pp) --o;
    return o;
  };
  const int64_t Ho = out_size(H, k[0], s[0], p[0]), Wo = out_size(W, k[1], s[1], p[1]);
  Arr out({N, C, Ho, Wo});
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t oh = 0; oh < Ho; ++oh)
        for (int64_t ow = 0; ow < Wo; ++ow) {
          int64_t h0 = oh * s[0] - p[0], w0 = ow * s[1] - p[1];
          int64_t h1 = std::min(h0 + k[0], H + p[0]), w1 = std::min(w0 + k[1], W + p[1]);
          double acc = 0, cnt = 0;
          for (int64_t h = h0; h < h1; ++h)
            for (int64_t v = w0; v < w1; ++v) {
              if (h < 0 || h >= H || v < 0 || v >= W) continue;
              acc += x.at({n, c, h, v});
              cnt += 1;
            }
          out.at({n, c, oh, ow}) = acc / (count_pad ? double((h1 - h0) * (w1 - w0)) : cnt);
        }
  return out;
}

inline Arr adaptive_avg_pool2d(const Arr& x, int64_t oh, int64_t ow) {
  const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  Arr out({N, C, oh, ow});
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          // PyTorch: start = floor(i H / oh), end = ceil((i + 1) H / oh)
          int64_t h0 = (i * H) / oh, h1 = ((i + 1) * H + oh - 1) / oh;
          int64_t w0 = (j * W) / ow, w1 = ((j + 1) * W + ow - 1) / ow;
          double acc = 0;
          for (int64_t h = h0; h < h1; ++h)
            for (int64_t v = w0; v < w1; ++v) acc += x.at({n, c, h, v});
          out.at({n, c, i, j}) = acc / double((h1 - h0) * (w1 - w0));
        }
  return out;
}

// im2col: x [N, C, H, W] -> [N, C kh kw, Ho Wo] (zeros where the window leaves the image).
inline Arr unfold(const Arr& x, int64_t kh, int64_t kw, int64_t s, int64_t p) {
  const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
  const int64_t Ho = (H + 2 * p - kh) / s + 1, Wo = (W + 2 * p - kw) / s + 1;
  Arr out({N, C * kh * kw, Ho * Wo});
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < kh; ++i)
        for (int64_t j = 0; j < kw; ++j)
          for (int64_t oh = 0; oh < Ho; ++oh)
            for (int64_t ow = 0; ow < Wo; ++ow) {
              int64_t h = oh * s - p + i, v = ow * s - p + j;
              if (h >= 0 && h < H && v >= 0 && v < W)
                out.at({n, (c * kh + i) * kw + j, oh * Wo + ow}) = x.at({n, c, h, v});
            }
  return out;
}
}  // namespace ref

inline void nn_entries(Table& t) {
  using namespace distillery;
  using Line = std::vector<double>;
  auto sm = [](int64_t d, bool log) -> RefFn {
    return [=](const Args& a) {
      return ref::along(a[0], d, [log](const Line& l) {
        Line y = ref::softmax(l);
        if (log)
          for (double& v : y) v = std::log(v);
        return y;
      });
    };
  };
  t.add("softmax", {{3, 4}}, FN(softmax(x[0])), "dim -1").ref(sm(1, false));
  t.add("softmax", {{2, 3, 4}}, FN(softmax(x[0], 1)), "dim 1").ref(sm(1, false));
  t.add("softmax", {{2, 3}}, FN(softmax(x[0] * 40.0, 0)), "dim 0, large logits")
      .ref([](const Args& a) {
        Arr s = a[0];
        for (double& v : s.v) v *= 40;
        return ref::along(s, 0, ref::softmax);
      });
  t.add("log_softmax", {{3, 4}}, FN(log_softmax(x[0])), "dim -1").ref(sm(1, true));
  t.add("log_softmax", {{2, 3, 4}}, FN(log_softmax(x[0], 0)), "dim 0").ref(sm(0, true));
  t.add("log_softmax", {{2, 5}}, FN(log_softmax(x[0], 1)), "large logits")
      .gen(Gen::range(-300, 300))
      .ftol(1e-3)
      .ref(sm(1, true));

  auto ln = [](size_t k, bool affine) -> RefFn {
    return [=](const Args& a) {
      const Arr& x = a[0];
      int64_t group = 1;
      for (size_t i = x.shape.size() - k; i < x.shape.size(); ++i) group *= x.shape[i];
      Arr y = x;
      for (int64_t g0 = 0; g0 < x.numel(); g0 += group) {
        Line l(x.v.begin() + g0, x.v.begin() + g0 + group);
        double mu = ref::mean(l), var = ref::var(l, 0);
        for (int64_t j = 0; j < group; ++j) {
          double v = (l[j] - mu) / std::sqrt(var + 1e-5);
          y.v[g0 + j] = affine ? v * a[1].v[j] + a[2].v[j] : v;
        }
      }
      return y;
    };
  };
  t.add("layer_norm", {{2, 3, 4}, {4}, {4}}, FN(layer_norm(x[0], Shape{4}, x[1], x[2])),
        "last dim, affine")
      .ref(ln(1, true));
  t.add("layer_norm", {{2, 3, 4}}, FN(layer_norm(x[0], Shape{3, 4})), "last two dims, plain")
      .ref(ln(2, false));
  t.add("layer_norm", {{3, 5}, {5}, {5}}, FN(layer_norm(x[0], Shape{5}, x[1], x[2])), "2-D")
      .ref(ln(1, true));

  // The mask of backend/cpu/bernoulli.hpp, written out scalar: one draw z from the generator
  // seeds 8 xoshiro256** lanes by splitmix64; block b (16 elements) takes step b of every lane,
  // element j of the block reads lane j % 8, low 32 bits for j < 8, high 32 bits otherwise;
  // dropped when those bits < round(p · 2^32).
  auto drop_ref = [](double p, uint64_t seed) -> RefFn {
    return [=](const Args& a) {
      Generator g(seed);
      uint64_t z = g.next_u64(), s[8][4];
      for (auto& lane : s)
        for (auto& w : lane) {
          uint64_t x = (z += 0x9E3779B97F4A7C15ull);
          x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
          x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
          w = x ^ (x >> 31);
        }
      auto rotl = [](uint64_t x, int k) { return (x << k) | (x >> (64 - k)); };
      const uint64_t thresh = static_cast<uint64_t>(std::llround(p * 4294967296.0));
      Arr y = a[0];
      uint64_t r[8] = {};
      for (size_t i = 0; i < y.v.size(); ++i) {
        if (i % 16 == 0)
          for (int l = 0; l < 8; ++l) {
            uint64_t* q = s[l];
            r[l] = rotl(q[1] * 5, 7) * 9;
            const uint64_t t = q[1] << 17;
            q[2] ^= q[0]; q[3] ^= q[1]; q[1] ^= q[2]; q[0] ^= q[3]; q[2] ^= t;
            q[3] = rotl(q[3], 45);
          }
        const uint64_t u = i % 16 < 8 ? (r[i % 8] & 0xFFFFFFFFull) : (r[i % 8] >> 32);
        y.v[i] = u < thresh ? 0.0 : y.v[i] / (1 - p);
      }
      return y;
    };
  };
  t.add("dropout", {{4, 5}}, FN(dropout(x[0], 0.3, true, reseeded(7))), "p 0.3, seeded")
      .ref(drop_ref(0.3, 7));
  t.add("dropout", {{3, 13}}, FN(dropout(x[0], 0.1, true, reseeded(8))), "p 0.1, 2 blocks + tail")
      .ref(drop_ref(0.1, 8));
  t.add("dropout", {{4, 5}}, FN(dropout(x[0], 0.3, false, reseeded(7))), "eval mode: identity")
      .ref(ref::unary([](double v) { return v; }));

  // ---- unfold / fold, convolution ----
  auto geo = [](const Shape& s, int64_t k, int64_t st, int64_t p) {
    Conv2dOptions o;
    o.stride = {st, st};
    o.padding = {p, p};
    return detail::conv_geometry(s, k, k, o, "test");
  };
  const Conv2dGeometry g1 = geo(Shape{1, 2, 4, 5}, 3, 2, 1);
  t.add("unfold", {{1, 2, 4, 5}}, FN(unfold(x[0], g1)), "k 3, stride 2, pad 1")
      .ref([](const Args& a) { return ref::unfold(a[0], 3, 3, 2, 1); });
  const Conv2dGeometry g2 = geo(Shape{1, 1, 4, 4}, 2, 1, 0);
  t.add("fold", {{1, 4, 9}}, FN(fold(x[0], g2)), "k 2, stride 1 (overlaps summed)")
      .ref([](const Args& a) {  // the adjoint of unfold: scatter-add every column entry back
        Arr out({1, 1, 4, 4});
        for (int64_t i = 0; i < 2; ++i)
          for (int64_t j = 0; j < 2; ++j)
            for (int64_t oh = 0; oh < 3; ++oh)
              for (int64_t ow = 0; ow < 3; ++ow)
                out.at({0, 0, oh + i, ow + j}) += a[0].at({0, i * 2 + j, oh * 3 + ow});
        return out;
      });

  auto conv_ref = [](Dims s, Dims p, Dims d, int64_t groups) -> RefFn {
    return [=](const Args& a) {
      return ref::conv2d(a[0], a[1], a.size() > 2 ? &a[2] : nullptr, s, p, d, groups);
    };
  };
  t.add("conv2d", {{1, 2, 5, 5}, {3, 2, 3, 3}, {3}}, FN(conv2d(x[0], x[1], x[2])), "plain, bias")
      .ref(conv_ref({1, 1}, {0, 0}, {1, 1}, 1));
  t.add("conv2d", {{2, 2, 5, 4}, {2, 2, 3, 2}},
        FN(conv2d(x[0], x[1], Tensor<T>(),
                  [] {
                    Conv2dOptions o;
                    o.stride = {2, 1};
                    o.padding = {1, 1};
                    return o;
                  }())),
        "stride (2,1), padding 1, no bias")
      .ref(conv_ref({2, 1}, {1, 1}, {1, 1}, 1));
  t.add("conv2d", {{1, 1, 6, 6}, {2, 1, 2, 2}, {2}},
        FN(conv2d(x[0], x[1], x[2],
                  [] {
                    Conv2dOptions o;
                    o.dilation = {2, 2};
                    return o;
                  }())),
        "dilation 2")
      .ref(conv_ref({1, 1}, {0, 0}, {2, 2}, 1));
  t.add("conv2d", {{1, 4, 4, 4}, {4, 2, 2, 2}, {4}},
        FN(conv2d(x[0], x[1], x[2],
                  [] {
                    Conv2dOptions o;
                    o.groups = 2;
                    return o;
                  }())),
        "groups 2")
      .ref(conv_ref({1, 1}, {0, 0}, {1, 1}, 2));
  auto conv1d_ref = [](int64_t s, int64_t p, int64_t groups) -> RefFn {
    return [=](const Args& a) {
      Arr x = ref::reshape(a[0], {a[0].shape[0], a[0].shape[1], 1, a[0].shape[2]});
      Arr w = ref::reshape(a[1], {a[1].shape[0], a[1].shape[1], 1, a[1].shape[2]});
      Arr y = ref::conv2d(x, w, a.size() > 2 ? &a[2] : nullptr, {1, s}, {0, p}, {1, 1}, groups);
      return ref::reshape(y, {y.shape[0], y.shape[1], y.shape[3]});
    };
  };
  t.add("conv1d", {{2, 2, 6}, {3, 2, 3}, {3}}, FN(conv1d(x[0], x[1], x[2], 2, 1)),
        "stride 2, padding 1")
      .ref(conv1d_ref(2, 1, 1));
  t.add("conv1d", {{1, 4, 5}, {2, 2, 2}}, FN(conv1d(x[0], x[1], Tensor<T>(), 1, 0, 1, 2)),
        "groups 2, no bias")
      .ref(conv1d_ref(1, 0, 2));

  // ---- pooling ----
  const Gen d = Gen().distinct(0.02);
  t.add("max_pool2d", {{1, 2, 4, 4}}, FN(max_pool2d(x[0], 2)), "k 2").gen(d).ref([](const Args& a) {
    return ref::pool2d(a[0], 2, 2, 0, true);
  });
  t.add("max_pool2d", {{2, 1, 5, 5}}, FN(max_pool2d(x[0], 3, 2, 1)), "k 3, stride 2, pad 1")
      .gen(d)
      .ref([](const Args& a) { return ref::pool2d(a[0], 3, 2, 1, true); });
  t.add("avg_pool2d", {{1, 2, 4, 4}}, FN(avg_pool2d(x[0], 2)), "k 2").ref([](const Args& a) {
    return ref::pool2d(a[0], 2, 2, 0, false);
  });
  t.add("avg_pool2d", {{2, 1, 5, 5}}, FN(avg_pool2d(x[0], 3, 2, 1)), "k 3, stride 2, pad 1")
      .ref([](const Args& a) { return ref::pool2d(a[0], 3, 2, 1, false); });
  auto avg = [](Dims k, Dims st, Dims pd, bool ceil_mode, bool count_pad) {
    AvgPool2dOptions o;
    o.kernel = {k[0], k[1]};
    o.stride = {st[0], st[1]};
    o.padding = {pd[0], pd[1]};
    o.ceil_mode = ceil_mode;
    o.count_include_pad = count_pad;
    return std::make_pair(o, [=](const Args& a) {
      return ref::avg_pool2d_opts(a[0], k, st, pd, ceil_mode, count_pad);
    });
  };
  auto avg_row = [&](Shape in, Dims k, Dims st, Dims pd, bool ceil_mode, bool count_pad,
                     const char* what) {
    auto [o, r] = avg(k, st, pd, ceil_mode, count_pad);
    t.add("avg_pool2d", {in}, FN(avg_pool2d(x[0], o)), what).ref(r);
  };
  avg_row({1, 2, 5, 6}, {3, 2}, {2, 1}, {1, 0}, false, true, "k 3x2, stride 2x1, pad 1x0");
  avg_row({2, 1, 5, 5}, {3, 3}, {2, 2}, {1, 1}, false, false, "k 3, stride 2, pad 1, exclude pad");
  avg_row({1, 2, 5, 6}, {2, 2}, {2, 2}, {0, 0}, true, true, "k 2 on 5x6, ceil_mode");
  avg_row({1, 1, 6, 7}, {3, 2}, {2, 3}, {1, 1}, true, true,
          "k 3x2, stride 2x3, pad 1, ceil_mode, count pad (clipped divisor)");
  avg_row({2, 1, 6, 7}, {3, 2}, {2, 3}, {1, 1}, true, false,
          "k 3x2, stride 2x3, pad 1, ceil_mode, exclude pad");
  avg_row({1, 1, 2, 2}, {3, 3}, {2, 2}, {0, 0}, true, true, "k 3 on 2x2, ceil_mode (1x1)");
  t.add("adaptive_avg_pool2d", {{1, 2, 5, 7}}, FN(adaptive_avg_pool2d(x[0], 2, 3)), "5x7 -> 2x3")
      .ref([](const Args& a) { return ref::adaptive_avg_pool2d(a[0], 2, 3); });
  t.add("adaptive_avg_pool2d", {{2, 1, 4, 4}}, FN(adaptive_avg_pool2d(x[0], 1, 1)), "global")
      .ref([](const Args& a) { return ref::adaptive_avg_pool2d(a[0], 1, 1); });
}

}  // namespace dtest
