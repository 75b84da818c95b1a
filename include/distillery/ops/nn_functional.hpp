// ops/nn_functional.hpp — neural-network functions: softmax family, layer_norm, dropout,
// convolution (unfold + GEMM), pooling.
//
// Primitives with their own kernels: softmax/log_softmax (rules in ops: dx = y(g − Σ g·y) and
// dx = g − eᵞ Σ g), unfold/fold (im2col/col2im, each other's adjoint). Everything else is
// composed, so gradients of any order come for free:
//   conv2d      = W[G, Cout/G, K/G] · unfold(x)[N, G, K/G, L]  (+ b)
//   max_pool2d  = gather(x, argmax window) (rule: scatter_add)   avg_pool2d = mean over unfold
//                 (or sum · 1/divisor: count_include_pad=false, ceil_mode; AvgPool2dOptions)
//   adaptive_avg_pool2d = x[N, C, H·W] · P[H·W, oh·ow]  (P the constant pooling matrix)
//   layer_norm  = (x − μ) · rsqrt(σ² + ε) · w + b   (biased σ², as PyTorch)
#pragma once
#include <algorithm>
#include <array>
#include <cmath>

#include "index.hpp"

namespace distillery {

namespace detail {
// Runs a row-wise kernel on `dim` by moving it last; returns the result in x's layout.
template <class T>
Tensor<T> softmax_raw(const Tensor<T>& x, int d, bool log) {
  const int last = x.dim() - 1;
  Tensor<T> moved = raw_contiguous(d == last ? x.detach() : transpose(x.detach(), d, last));
  Tensor<T> out = Tensor<T>::empty(moved.shape(), x.device());
  int64_t cols = x.dim() ? x.shape()[d] : 1;
  int64_t rows = cols ? moved.numel() / cols : 0;
  if (rows) kernels<T>(x.device()).softmax(moved.data_ptr(), out.data_ptr(), rows, cols, log);
  return d == last ? out : raw_contiguous(transpose(out, d, last));
}
}  // namespace detail

template <class T>
Tensor<T> softmax(const Tensor<T>& x, int64_t dim = -1) {
  check_inputs("softmax", x);
  int d = normalize_dim(dim, x.dim(), "softmax");
  Tensor<T> out = detail::softmax_raw(x, d, false);
  if (needs_grad({&x})) {
    SavedOutput<T> y(out);
    attach<T>(out, "softmax", {&x}, [y, d](const Tensor<T>& g) {
      Tensor<T> s = y.get();
      Tensor<T> gy = mul(g, s);
      return std::vector<Tensor<T>>{sub(gy, mul(s, sum(gy, {d}, true)))};
    });
  }
  return out;
}

template <class T>
Tensor<T> log_softmax(const Tensor<T>& x, int64_t dim = -1) {
  check_inputs("log_softmax", x);
  int d = normalize_dim(dim, x.dim(), "log_softmax");
  Tensor<T> out = detail::softmax_raw(x, d, true);
  if (needs_grad({&x})) {
    SavedOutput<T> y(out);
    attach<T>(out, "log_softmax", {&x}, [y, d](const Tensor<T>& g) {
      return std::vector<Tensor<T>>{sub(g, mul(exp(y.get()), sum(g, {d}, true)))};
    });
  }
  return out;
}

// layer_norm over the last normalized_shape.size() dims; weight/bias optional.
template <class T>
Tensor<T> layer_norm(const Tensor<T>& x, const Shape& normalized_shape,
                     const Tensor<T>& weight = Tensor<T>(), const Tensor<T>& bias = Tensor<T>(),
                     double eps = 1e-5) {
  check_inputs("layer_norm", x);  // weight, bias optional
  const int k = normalized_shape.size(), n = x.dim();
  check(k >= 1 && k <= n, "layer_norm", "normalized_shape ", normalized_shape,
        " does not fit input ", x.shape());
  for (int i = 0; i < k; ++i)
    check(x.shape()[n - k + i] == normalized_shape[i], "layer_norm", "normalized_shape ",
          normalized_shape, " does not match the trailing dims of input ", x.shape());
  if (weight.defined())
    check(weight.shape() == normalized_shape, "layer_norm", "weight ", weight.shape(),
          " must have shape ", normalized_shape);
  if (bias.defined())
    check(bias.shape() == normalized_shape, "layer_norm", "bias ", bias.shape(),
          " must have shape ", normalized_shape);
  std::vector<int64_t> dims;
  for (int i = n - k; i < n; ++i) dims.push_back(i);
  Tensor<T> mu = mean(x, dims, true);
  Tensor<T> c = sub(x, mu);
  Tensor<T> var = mean(square(c), dims, true);
  Tensor<T> y = mul(c, rsqrt(add_scalar(var, T(eps))));
  if (weight.defined()) y = mul(y, weight);
  if (bias.defined()) y = add(y, bias);
  return y;
}

// dropout: zeroes each element with probability p and scales the rest by 1/(1-p) in training.
// The mask is drawn on x's device (KernelTable::bernoulli_mask) from one draw of gen, whatever
// the size; the same seed gives the same mask on every device.
template <class T>
Tensor<T> dropout(const Tensor<T>& x, double p, bool training, Generator& gen) {
  check_inputs("dropout", x);
  check(p >= 0 && p < 1, "dropout", "probability must be in [0, 1), got ", p);
  if (!training || p == 0) return x;
  uint64_t seed;
  {
    std::lock_guard<std::mutex> lk(gen.mutex());
    seed = gen.next_u64();
  }
  Tensor<T> m = Tensor<T>::empty(x.shape(), x.device());
  kernels<T>(x.device()).bernoulli_mask(seed, p, T(1.0 / (1.0 - p)), m.data_ptr(), x.numel());
  return mul(x, m);
}
template <class T>
Tensor<T> dropout(const Tensor<T>& x, double p, bool training = true) {
  check_inputs("dropout", x);
  return dropout(x, p, training, default_generator());
}

// ---- convolution -------------------------------------------------------------------------
struct Conv2dOptions {
  std::array<int64_t, 2> stride{1, 1}, padding{0, 0}, dilation{1, 1};
  int64_t groups = 1;
};

namespace detail {
// Output extent of a sliding window, PyTorch's rule: floor((n + 2p - d(k-1) - 1) / s) + 1,
// refused when below 1 (a window larger than the padded input). Overflow-checked.
inline int64_t window_out_size(int64_t n, int64_t k, int64_t s, int64_t p, int64_t d,
                               const char* op) {
  int64_t span = checked_add(checked_mul(d, k - 1, op), 1, op);  // d(k-1) + 1
  int64_t room = checked_add(n, checked_mul(2, p, op), op);      // n + 2p
  return room < span ? 0 : (room - span) / s + 1;
}

inline Conv2dGeometry conv_geometry(const Shape& x, int64_t kh, int64_t kw, const Conv2dOptions& o,
                                    const char* op) {
  check(x.size() == 4, op, "expected input [N, C, H, W], got ", x);
  check(kh > 0 && kw > 0, op, "kernel size must be positive, got ", kh, "x", kw);
  check(o.stride[0] > 0 && o.stride[1] > 0 && o.dilation[0] > 0 && o.dilation[1] > 0 &&
            o.padding[0] >= 0 && o.padding[1] >= 0,
        op, "stride and dilation must be positive and padding non-negative");
  Conv2dGeometry g{
      x[0],         x[1],         x[2],          x[3],          kh, kw, o.stride[0], o.stride[1],
      o.padding[0], o.padding[1], o.dilation[0], o.dilation[1], 0,  0};
  g.Ho = window_out_size(g.H, kh, g.sh, g.ph, g.dh, op);
  g.Wo = window_out_size(g.W, kw, g.sw, g.pw, g.dw, op);
  check(g.Ho > 0 && g.Wo > 0, op, "Output size is too small: input ", x, ", kernel ", kh, "x", kw,
        ", stride ", g.sh, "x", g.sw, ", padding ", g.ph, "x", g.pw, ", dilation ", g.dh, "x", g.dw,
        " give output ", g.Ho, "x", g.Wo);
  return g;
}
}  // namespace detail

template <class T>
Tensor<T> fold(const Tensor<T>& cols, const Conv2dGeometry& g);

// unfold (im2col): x [N, C, H, W] -> [N, C·kh·kw, Ho·Wo]
template <class T>
Tensor<T> unfold(const Tensor<T>& x, const Conv2dGeometry& g) {
  check_inputs("unfold", x);
  Tensor<T> xc = raw_contiguous(x);
  Tensor<T> out = Tensor<T>::empty(Shape{g.N, g.C * g.kh * g.kw, g.Ho * g.Wo}, x.device());
  kernels<T>(x.device()).im2col(xc.data_ptr(), g, out.data_ptr());
  if (needs_grad({&x}))
    attach<T>(
        out, "unfold", {&x},
        [g](const Tensor<T>& gr) { return std::vector<Tensor<T>>{fold(gr, g)}; }, Saves::nothing);
  return out;
}

// fold (col2im), the adjoint of unfold: cols [N, C·kh·kw, Ho·Wo] -> [N, C, H, W] (sums overlaps)
template <class T>
Tensor<T> fold(const Tensor<T>& cols, const Conv2dGeometry& g) {
  check_inputs("fold", cols);
  check(cols.shape() == Shape{g.N, g.C * g.kh * g.kw, g.Ho * g.Wo}, "fold", "cols shape ",
        cols.shape(), " does not match the geometry");
  Tensor<T> cc = raw_contiguous(cols);
  Tensor<T> out = Tensor<T>::zeros(Shape{g.N, g.C, g.H, g.W}, cols.device());
  kernels<T>(cols.device()).col2im(cc.data_ptr(), g, out.data_ptr());
  if (needs_grad({&cols}))
    attach<T>(
        out, "fold", {&cols},
        [g](const Tensor<T>& gr) { return std::vector<Tensor<T>>{unfold(gr, g)}; }, Saves::nothing);
  return out;
}

namespace detail {
// conv2d composed of differentiable ops: unfold + GEMM (+ bias). The reference semantics, used
// for groups > 1 and on devices without a fused kernel (where conv2d_input_grad and
// conv2d_weight_grad also compose unfold/matmul/fold).
template <class T>
Tensor<T> conv2d_composed(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& b,
                          const Conv2dOptions& o, const Conv2dGeometry& g) {
  const int64_t G = o.groups, Cout = w.shape()[0];
  Tensor<T> cols = unfold(x, g);  // [N, Cin·kh·kw, L]
  const int64_t K = w.shape()[1] * g.kh * g.kw, L = g.Ho * g.Wo;
  Tensor<T> y;
  if (G == 1) {
    y = matmul(reshape(w, Shape{Cout, K}), cols);  // [N, Cout, L]
  } else {
    y = matmul(reshape(w, Shape{G, Cout / G, K}), reshape(cols, Shape{g.N, G, K, L}));
  }
  y = reshape(y, Shape{g.N, Cout, g.Ho, g.Wo});
  if (b.defined()) y = add(y, reshape(b, Shape{1, Cout, 1, 1}));
  return y;
}

// The two gradients of the dense (groups = 1) conv2d as ops of their own (defined after conv2d):
//   conv2d_input_grad(gy, w)  = fold(wᵀ · gy)               -> [N, C, H, W]
//   conv2d_weight_grad(x, gy) = Σ_n gy[n] · unfold(x)[n]ᵀ    -> [Cout, C, kh, kw]
// Each runs the device's fused backward kernel (no column tensor) and is differentiable in turn
// through conv2d and the other one, so gradients of any order never keep unfolded columns
// (issue 24: DD's unroll kept ~35k floats per image and inner step). Without a fused kernel they
// compose unfold/matmul/fold.
template <class T>
Tensor<T> conv2d_input_grad(const Tensor<T>& gy, const Tensor<T>& w, const Conv2dGeometry& g);
template <class T>
Tensor<T> conv2d_weight_grad(const Tensor<T>& x, const Tensor<T>& gy, const Conv2dGeometry& g,
                             const Shape& w_shape);

// The gradients of the dense conv2d, in differentiable ops (its rule under create_graph).
template <class T>
std::vector<Tensor<T>> conv2d_backward_composed(const Tensor<T>& gy, const Tensor<T>& x,
                                                const Tensor<T>& w, const Conv2dGeometry& g,
                                                bool nx, bool nw, bool nb) {
  Tensor<T> gx, gw, gb;
  if (nw) gw = conv2d_weight_grad(x, gy, g, w.shape());
  if (nx) gx = conv2d_input_grad(gy, w, g);
  if (nb) gb = sum(gy, {0, 2, 3});
  return {gx, gw, gb};
}

inline Conv2dOptions conv_options(const Conv2dGeometry& g) {  // the options that give g
  Conv2dOptions o;
  o.stride = {g.sh, g.sw};
  o.padding = {g.ph, g.pw};
  o.dilation = {g.dh, g.dw};
  return o;
}
}  // namespace detail

// conv2d(x [N, Cin, H, W], w [Cout, Cin/groups, kh, kw], b [Cout] or undefined)
//
// Dense convolutions (groups = 1) run the device's fused kernel when it has one (CPU: im2col +
// GEMM over cache-sized chunks of the batch, no [N, K, L] column tensor), recorded as one node
// whose rule uses the fused backward kernel, or, while a higher-order graph is being built
// (create_graph), detail::conv2d_backward_composed. Other cases run detail::conv2d_composed.
template <class T>
Tensor<T> conv2d(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& b = Tensor<T>(),
                 const Conv2dOptions& o = {}) {
  check_inputs("conv2d", x, w);  // b optional
  check(w.dim() == 4, "conv2d", "weight must be [Cout, Cin/groups, kh, kw], got ", w.shape());
  const int64_t G = o.groups, Cout = w.shape()[0];
  check(G >= 1 && x.dim() == 4 && x.shape()[1] == w.shape()[1] * G && Cout % G == 0, "conv2d",
        "input ", x.shape(), " does not match weight ", w.shape(), " with groups ", G);
  auto g = detail::conv_geometry(x.shape(), w.shape()[2], w.shape()[3], o, "conv2d");
  if (b.defined()) {
    check(b.dim() == 1 && b.shape()[0] == Cout, "conv2d", "bias ", b.shape(), " does not match ",
          Cout, " output channels");
    check_same_device(x, b, "conv2d");
  }
  check_same_device(x, w, "conv2d");
  if (G == 1) {
    Tensor<T> xc = raw_contiguous(x), wc = raw_contiguous(w);
    Tensor<T> bc = b.defined() ? raw_contiguous(b) : Tensor<T>();
    Tensor<T> y = Tensor<T>::empty(Shape{g.N, Cout, g.Ho, g.Wo}, x.device());
    const bool grad = needs_grad({&x, &w, &b});
    // Training with a strided kernel: keep the unfolded input for the weight gradient (up to
    // 64 MiB). Unit-stride unfolding is a few vector moves per row into a cache-sized chunk,
    // cheaper than writing the whole column tensor to memory and reading it back: the backward
    // unfolds again.
    const int64_t ncols = g.N * x.shape()[1] * g.kh * g.kw * g.Ho * g.Wo;
    const bool keep = grad && w.requires_grad() && (g.sh != 1 || g.sw != 1) &&
                      ncols * int64_t(sizeof(T)) <= (int64_t(64) << 20);
    Tensor<T> cols = keep ? Tensor<T>::empty(Shape{ncols}, x.device()) : Tensor<T>();
    if (kernels<T>(x.device())
            .conv2d_fused(xc.data_ptr(), wc.data_ptr(), bc.defined() ? bc.data_ptr() : nullptr, g,
                          Cout, y.data_ptr(), cols.defined() ? cols.data_ptr() : nullptr)) {
      if (grad) {
        const bool nx = x.requires_grad(), nw = w.requires_grad(), nb = b.requires_grad();
        auto composed = [x = saved_input(x), w = saved_input(w), g, nx, nw,
                         nb](const Tensor<T>& gy) {
          return detail::conv2d_backward_composed(gy, x, w, g, nx, nw, nb);
        };
        auto fused = [x = saved_input(x), w = saved_input(w), g, nx, nw, nb,
                      cols](const Tensor<T>& gy) {
          const Device d = x.device();
          Tensor<T> gyc = raw_contiguous(gy), xc2 = raw_contiguous(x), wc2 = raw_contiguous(w);
          Tensor<T> gx = nx ? Tensor<T>::empty(x.shape(), d) : Tensor<T>();
          Tensor<T> gw = nw ? Tensor<T>::empty(w.shape(), d) : Tensor<T>();
          Tensor<T> gb = nb ? Tensor<T>::empty(Shape{w.shape()[0]}, d) : Tensor<T>();
          kernels<T>(d).conv2d_fused_backward(
              xc2.data_ptr(), wc2.data_ptr(), gyc.data_ptr(), g, w.shape()[0],
              cols.defined() ? cols.data_ptr() : nullptr, nx ? gx.data_ptr() : nullptr,
              nw ? gw.data_ptr() : nullptr, nb ? gb.data_ptr() : nullptr);
          return std::vector<Tensor<T>>{gx, gw, gb};
        };
        attach<T>(y, "conv2d", {&x, &w, &b}, fused_or_composed<T>(fused, composed));
      }
      return y;
    }
  }
  return detail::conv2d_composed(x, w, b, o, g);
}

namespace detail {
// gx [N, C, H, W] = fold(wᵀ · gy), gy [N, Cout, Ho, Wo], w [Cout, C, kh, kw].
// d/dgy = conv2d(G, w), d/dw = conv2d_weight_grad(G, gy).
template <class T>
Tensor<T> conv2d_input_grad(const Tensor<T>& gy, const Tensor<T>& w, const Conv2dGeometry& g) {
  check_inputs("conv2d_input_grad", gy, w);
  const int64_t Cout = w.shape()[0], K = w.shape()[1] * g.kh * g.kw, L = g.Ho * g.Wo;
  check(gy.shape() == Shape{g.N, Cout, g.Ho, g.Wo} && w.shape()[1] == g.C, "conv2d_input_grad",
        "gy ", gy.shape(), " and weight ", w.shape(), " do not match the geometry");
  Tensor<T> gyc = raw_contiguous(gy), wc = raw_contiguous(w);
  Tensor<T> gx = Tensor<T>::empty(Shape{g.N, g.C, g.H, g.W}, gy.device());
  if (!kernels<T>(gy.device())
           .conv2d_fused_backward(nullptr, wc.data_ptr(), gyc.data_ptr(), g, Cout, nullptr,
                                  gx.data_ptr(), nullptr, nullptr))
    return fold(
        matmul(transpose(reshape(w, Shape{Cout, K}), 0, 1), reshape(gy, Shape{g.N, Cout, L})), g);
  if (needs_grad({&gy, &w})) {
    const bool ngy = gy.requires_grad(), nw = w.requires_grad();
    attach<T>(gx, "conv2d_input_grad", {&gy, &w},
              [gy = saved_input(gy), w = saved_input(w), g, ngy, nw](const Tensor<T>& G) {
                return std::vector<Tensor<T>>{
                    ngy ? conv2d(G, w, Tensor<T>(), conv_options(g)) : Tensor<T>(),
                    nw ? conv2d_weight_grad(G, gy, g, w.shape()) : Tensor<T>()};
              });
  }
  return gx;
}

// gw [Cout, C, kh, kw] = Σ_n gy[n] · unfold(x)[n]ᵀ, x [N, C, H, W], gy [N, Cout, Ho, Wo].
// d/dx = conv2d_input_grad(gy, G), d/dgy = conv2d(x, G).
template <class T>
Tensor<T> conv2d_weight_grad(const Tensor<T>& x, const Tensor<T>& gy, const Conv2dGeometry& g,
                             const Shape& w_shape) {
  check_inputs("conv2d_weight_grad", x, gy);
  const int64_t Cout = w_shape[0], L = g.Ho * g.Wo;
  check(x.shape() == Shape{g.N, g.C, g.H, g.W} && gy.shape() == Shape{g.N, Cout, g.Ho, g.Wo} &&
            w_shape == Shape{Cout, g.C, g.kh, g.kw},
        "conv2d_weight_grad", "input ", x.shape(), ", gy ", gy.shape(), " and weight shape ",
        w_shape, " do not match the geometry");
  Tensor<T> xc = raw_contiguous(x), gyc = raw_contiguous(gy);
  Tensor<T> gw = Tensor<T>::empty(w_shape, x.device());
  if (!kernels<T>(x.device())
           .conv2d_fused_backward(xc.data_ptr(), nullptr, gyc.data_ptr(), g, Cout, nullptr, nullptr,
                                  gw.data_ptr(), nullptr))
    return reshape(
        sum(matmul(reshape(gy, Shape{g.N, Cout, L}), transpose(unfold(x, g), 1, 2)), {0}), w_shape);
  if (needs_grad({&x, &gy})) {
    const bool nx = x.requires_grad(), ngy = gy.requires_grad();
    attach<T>(gw, "conv2d_weight_grad", {&x, &gy},
              [x = saved_input(x), gy = saved_input(gy), g, nx, ngy](const Tensor<T>& G) {
                return std::vector<Tensor<T>>{
                    nx ? conv2d_input_grad(gy, G, g) : Tensor<T>(),
                    ngy ? conv2d(x, G, Tensor<T>(), conv_options(g)) : Tensor<T>()};
              });
  }
  return gw;
}
}  // namespace detail

// conv1d(x [N, Cin, L], w [Cout, Cin/groups, k]) through conv2d on a height-1 image.
template <class T>
Tensor<T> conv1d(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& b = Tensor<T>(),
                 int64_t stride = 1, int64_t padding = 0, int64_t dilation = 1,
                 int64_t groups = 1) {
  check_inputs("conv1d", x, w);  // b optional
  check(x.dim() == 3 && w.dim() == 3, "conv1d",
        "expected input [N, C, L] and weight [Cout, "
        "Cin/groups, k], got ",
        x.shape(), " and ", w.shape());
  Conv2dOptions o;
  o.stride = {1, stride};
  o.padding = {0, padding};
  o.dilation = {1, dilation};
  o.groups = groups;
  return rethrow_as("conv1d",
                    [&] { return squeeze(conv2d(unsqueeze(x, 2), unsqueeze(w, 2), b, o), 2); });
}

// ---- pooling -----------------------------------------------------------------------------
struct Pool2dOptions {
  std::array<int64_t, 2> kernel{2, 2}, stride{0, 0} /*0 = kernel*/, padding{0, 0}, dilation{1, 1};
};

// max_pool2d over windows; values are gathered from x (gradient to the max of each window).
template <class T>
Tensor<T> max_pool2d(const Tensor<T>& x, const Pool2dOptions& p) {
  check_inputs("max_pool2d", x);
  Conv2dOptions o;
  o.stride = {p.stride[0] ? p.stride[0] : p.kernel[0], p.stride[1] ? p.stride[1] : p.kernel[1]};
  o.padding = p.padding;
  o.dilation = p.dilation;
  check(p.padding[0] * 2 <= p.kernel[0] && p.padding[1] * 2 <= p.kernel[1], "max_pool2d",
        "padding must be at most half the kernel");
  auto g = detail::conv_geometry(x.shape(), p.kernel[0], p.kernel[1], o, "max_pool2d");
  Tensor<T> xc = raw_contiguous(x);
  Tensor<T> vals = Tensor<T>::empty(Shape{g.N, g.C, g.Ho, g.Wo}, x.device());
  auto idx = Tensor<int64_t>::empty(Shape{g.N, g.C, g.Ho * g.Wo}, x.device());
  kernels<T>(x.device()).max_pool2d(xc.data_ptr(), g, vals.data_ptr(), idx.data_ptr());
  if (needs_grad({&x})) {
    // The values are gather(x, argmax): the rule is gather's adjoint (itself differentiable).
    const Shape xs = x.shape();
    attach<T>(vals, "max_pool2d", {&x}, [g, idx, xs](const Tensor<T>& gy) {
      Tensor<T> gflat = reshape(gy, Shape{g.N, g.C, g.Ho * g.Wo});
      return std::vector<Tensor<T>>{
          reshape(detail::scatter_add_zeros(Shape{g.N, g.C, g.H * g.W}, 2, idx, gflat), xs)};
    });
  }
  return vals;
}
template <class T>
Tensor<T> max_pool2d(const Tensor<T>& x, int64_t kernel, int64_t stride = 0, int64_t padding = 0) {
  check_inputs("max_pool2d", x);
  Pool2dOptions p;
  p.kernel = {kernel, kernel};
  p.stride = {stride, stride};
  p.padding = {padding, padding};
  return max_pool2d(x, p);
}

// avg_pool2d options, PyTorch's arguments: kernel, stride (0 = kernel), padding (at most half the
// kernel), ceil_mode (ceil instead of floor in the output size; the last window must still
// start inside the input or the left padding), count_include_pad (divide by the window's extent
// within the padded input, clipped at its right end, instead of by its input elements).
struct AvgPool2dOptions {
  std::array<int64_t, 2> kernel{2, 2}, stride{0, 0} /*0 = kernel*/, padding{0, 0};
  bool ceil_mode = false, count_include_pad = true;
};

namespace detail {
// PyTorch's pooling_output_shape: floor_div(n + 2p − k (+ s − 1 in ceil mode), s) + 1, and in
// ceil mode one less when the last window would start at or past n + p.
inline int64_t pool_out_size(int64_t n, int64_t k, int64_t s, int64_t p, bool ceil_mode) {
  int64_t num = n + 2 * p - k + (ceil_mode ? s - 1 : 0);
  int64_t q = num >= 0 ? num / s : -((-num + s - 1) / s);  // rounds toward −∞
  int64_t out = q + 1;
  if (ceil_mode && (out - 1) * s >= n + p) --out;
  return out;
}
}  // namespace detail

// avg_pool2d(x [N, C, H, W]) -> [N, C, Ho, Wo]: sum over unfold(x) (x padded on the right where
// ceil_mode needs it) times a constant 1/divisor per output position, so every order of
// gradient is unfold's (fold's) rule.
template <class T>
Tensor<T> avg_pool2d(const Tensor<T>& x, const AvgPool2dOptions& p) {
  check_inputs("avg_pool2d", x);
  check(x.dim() == 4, "avg_pool2d", "expected input [N, C, H, W], got ", x.shape());
  const int64_t N = x.shape()[0], C = x.shape()[1], H = x.shape()[2], W = x.shape()[3];
  const int64_t kh = p.kernel[0], kw = p.kernel[1], ph = p.padding[0], pw = p.padding[1];
  check(kh > 0 && kw > 0, "avg_pool2d", "kernel size must be positive, got ", kh, "x", kw);
  const int64_t sh = p.stride[0] ? p.stride[0] : kh, sw = p.stride[1] ? p.stride[1] : kw;
  check(sh > 0 && sw > 0 && ph >= 0 && pw >= 0, "avg_pool2d",
        "stride must be positive and padding non-negative, got stride ", sh, "x", sw, ", padding ",
        ph, "x", pw);
  check(ph * 2 <= kh && pw * 2 <= kw, "avg_pool2d", "padding ", ph, "x", pw,
        " must be at most half the kernel ", kh, "x", kw);
  const int64_t Ho = detail::pool_out_size(H, kh, sh, ph, p.ceil_mode);
  const int64_t Wo = detail::pool_out_size(W, kw, sw, pw, p.ceil_mode);
  check(Ho > 0 && Wo > 0, "avg_pool2d", "Output size is too small: input ", x.shape(), ", kernel ",
        kh, "x", kw, ", stride ", sh, "x", sw, ", padding ", ph, "x", pw,
        p.ceil_mode ? ", ceil_mode" : "", " give output ", Ho, "x", Wo);
  // rows/cols the last windows reach past the right padding (ceil_mode only)
  const int64_t eh = std::max<int64_t>(0, (Ho - 1) * sh + kh - H - 2 * ph);
  const int64_t ew = std::max<int64_t>(0, (Wo - 1) * sw + kw - W - 2 * pw);
  std::vector<T> inv(Ho * Wo);
  bool uniform = true;
  for (int64_t i = 0; i < Ho; ++i)
    for (int64_t j = 0; j < Wo; ++j) {  // PyTorch's divide_factor
      int64_t h0 = i * sh - ph, w0 = j * sw - pw;
      int64_t h1 = std::min(h0 + kh, H + ph), w1 = std::min(w0 + kw, W + pw);
      int64_t div = (h1 - h0) * (w1 - w0);
      if (!p.count_include_pad)
        div = (std::min(h1, H) - std::max<int64_t>(h0, 0)) *
              (std::min(w1, W) - std::max<int64_t>(w0, 0));
      uniform = uniform && div == kh * kw;
      inv[i * Wo + j] = T(1) / T(div);
    }
  Conv2dOptions o;
  o.stride = {sh, sw};
  o.padding = {ph, pw};
  Tensor<T> xp = (eh || ew) ? pad(x, {0, ew, 0, eh}) : x;
  Shape planes{N * C, 1, H + eh, W + ew};
  auto g = detail::conv_geometry(planes, kh, kw, o, "avg_pool2d");
  check(g.Ho == Ho && g.Wo == Wo, "avg_pool2d", "internal: window geometry ", g.Ho, "x", g.Wo,
        " differs from the output size ", Ho, "x", Wo);
  Tensor<T> cols = unfold(reshape(xp, planes), g);  // [N·C, kh·kw, Ho·Wo]
  if (uniform) return reshape(mean(cols, {1}), Shape{N, C, Ho, Wo});
  Tensor<T> scale = Tensor<T>::from_vector(inv, Shape{Ho * Wo}, x.device());
  return reshape(sum(cols, {1}) * scale, Shape{N, C, Ho, Wo});
}

// avg_pool2d with square kernel/stride/padding, padding counted, floor mode (PyTorch defaults).
template <class T>
Tensor<T> avg_pool2d(const Tensor<T>& x, int64_t kernel, int64_t stride = 0, int64_t padding = 0) {
  check_inputs("avg_pool2d", x);
  AvgPool2dOptions p;
  p.kernel = {kernel, kernel};
  p.stride = {stride, stride};
  p.padding = {padding, padding};
  return avg_pool2d(x, p);
}

// adaptive_avg_pool2d to (oh, ow) with PyTorch's window rule [floor(i·H/oh), ceil((i+1)·H/oh)).
template <class T>
Tensor<T> adaptive_avg_pool2d(const Tensor<T>& x, int64_t oh, int64_t ow) {
  check_inputs("adaptive_avg_pool2d", x);
  check(x.dim() == 4 && oh > 0 && ow > 0, "adaptive_avg_pool2d",
        "expected input [N, C, H, W] "
        "and positive output size, got ",
        x.shape());
  const int64_t N = x.shape()[0], C = x.shape()[1], H = x.shape()[2], W = x.shape()[3];
  std::vector<T> P(H * W * oh * ow, T(0));
  for (int64_t i = 0; i < oh; ++i)
    for (int64_t j = 0; j < ow; ++j) {
      int64_t h0 = (i * H) / oh, h1 = ((i + 1) * H + oh - 1) / oh;
      int64_t w0 = (j * W) / ow, w1 = ((j + 1) * W + ow - 1) / ow;
      T inv = T(1) / T((h1 - h0) * (w1 - w0));
      for (int64_t h = h0; h < h1; ++h)
        for (int64_t w = w0; w < w1; ++w) P[(h * W + w) * oh * ow + i * ow + j] = inv;
    }
  Tensor<T> pm = Tensor<T>::from_vector(P, Shape{H * W, oh * ow}, x.device());
  return reshape(matmul(reshape(x, Shape{N, C, H * W}), pm), Shape{N, C, oh, ow});
}

}  // namespace distillery
