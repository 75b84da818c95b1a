// tests/ops/test_fused_paths.cpp — fused fast paths against the composed ops they replace.
//
// conv2d (groups = 1) runs the device's fused kernel and, without create_graph, its fused
// backward; detail::conv2d_composed is the unfold + GEMM composition it must equal. Checked:
// values and first-order gradients (x, w, b; fused backward) for strides, padding, dilation,
// batch sizes that make one chunk, several chunks and several threads, one-channel inputs
// (backend/cpu/conv_direct.hpp for float); non-contiguous inputs;
// and the second order (create_graph goes through the composed rule) against the composed op.
#include <distillery/backend/cpu/gemm.hpp>  // cpu::gemm_isa, set_gemm_isa (the ISA switch)
#include <distillery/distillery.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "harness.hpp"  // the op harness: value, 1st/2nd order vs differences, float

namespace {
using namespace distillery;

template <class T>
std::vector<T> vals(const Tensor<T>& t) {
  return t.defined() ? t.to_vector() : std::vector<T>{};
}

template <class T>
void check_close(const std::vector<T>& a, const std::vector<T>& b, double tol, const char* what) {
  INFO(what);
  REQUIRE(a.size() == b.size());
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i)
    worst = std::max(worst, std::abs(double(a[i]) - double(b[i])) / (1.0 + std::abs(double(b[i]))));
  CHECK(worst < tol);
}

struct ConvCase {
  int64_t n, c, h, w, cout, kh, kw;
  Conv2dOptions o;
  bool bias;
};

std::vector<ConvCase> conv_cases() {
  std::vector<ConvCase> v;
  Conv2dOptions plain, pad2, strided, dil;
  pad2.padding = {2, 2};
  strided.stride = {2, 3};
  strided.padding = {1, 0};
  dil.dilation = {2, 1};
  dil.padding = {1, 2};
  v.push_back({1, 1, 28, 28, 6, 5, 5, pad2, true});     // LeNet conv1, batch 1
  v.push_back({9, 1, 28, 28, 6, 5, 5, pad2, true});     // several chunks / threads
  v.push_back({17, 6, 14, 14, 16, 5, 5, plain, true});  // LeNet conv2
  v.push_back({3, 4, 9, 11, 5, 3, 2, strided, false});
  v.push_back({4, 3, 10, 7, 7, 3, 3, dil, true});
  v.push_back({2, 2, 5, 5, 3, 1, 1, plain, true});
  // one channel, unit stride (float: the im2col-free path): 7 output channels, 6 taps, dilation
  v.push_back({5, 1, 12, 20, 7, 3, 2, dil, true});
  return v;
}

template <class T>
void conv_first_order(double tol) {
  Generator gen(21);
  for (const auto& cc : conv_cases()) {
    INFO("conv case n ", cc.n, " c ", cc.c, " cout ", cc.cout, " k ", cc.kh, "x", cc.kw);
    auto x = Tensor<T>::randn({cc.n, cc.c, cc.h, cc.w}, gen).requires_grad_();
    auto w = Tensor<T>::randn({cc.cout, cc.c, cc.kh, cc.kw}, gen).requires_grad_();
    auto b = cc.bias ? Tensor<T>::randn({cc.cout}, gen).requires_grad_() : Tensor<T>();
    auto g = detail::conv_geometry(x.shape(), cc.kh, cc.kw, cc.o, "test");
    auto probe = Tensor<T>::randn({cc.n, cc.cout, g.Ho, g.Wo}, gen);

    auto yf = conv2d(x, w, b, cc.o);
    auto yc = detail::conv2d_composed(x, w, b, cc.o, g);
    CHECK(std::string(yf.grad_fn_name()) == "conv2d");
    check_close(vals(yf), vals(yc), tol, "value");

    std::vector<Tensor<T>> in =
        cc.bias ? std::vector<Tensor<T>>{x, w, b} : std::vector<Tensor<T>>{x, w};
    auto gf = grad({sum(mul(yf, probe))}, in);
    auto gc = grad({sum(mul(yc, probe))}, in);
    for (size_t i = 0; i < in.size(); ++i) check_close(vals(gf[i]), vals(gc[i]), tol, "grad");

    {  // no graph recorded without grad
      NoGradGuard ng;
      auto y0 = conv2d(x, w, b, cc.o);
      CHECK_FALSE(y0.requires_grad());
      check_close(vals(y0), vals(yc), tol, "no-grad value");
    }
  }
}

}  // namespace

TEST_CASE("conv2d fused == composed: values and gradients (double)") {
  conv_first_order<double>(1e-12);
}
TEST_CASE("conv2d fused == composed: values and gradients (float)") {
  conv_first_order<float>(1e-4);  // sums over up to 7,000 products in float
}

TEST_CASE("conv2d fused: non-contiguous inputs, input-only and weight-only gradients") {
  Generator gen(5);
  Conv2dOptions o;
  o.padding = {1, 1};
  auto xt = TensorD::randn({3, 2, 7, 6}, gen);  // x = transpose of a [3, 2, 6, 7] buffer
  auto x = transpose(xt, 2, 3).requires_grad_();
  auto wbuf = TensorD::randn({4, 2, 3, 3}, gen);
  auto w = transpose(wbuf, 2, 3).requires_grad_();
  auto g = detail::conv_geometry(x.shape(), 3, 3, o, "test");
  auto probe = TensorD::randn({3, 4, g.Ho, g.Wo}, gen);
  auto gx_f = grad({sum(mul(conv2d(x, w.detach(), TensorD(), o), probe))}, {x})[0];
  auto gx_c =
      grad({sum(mul(detail::conv2d_composed(x, w.detach(), TensorD(), o, g), probe))}, {x})[0];
  check_close(vals(gx_f), vals(gx_c), 1e-12, "grad x only");
  auto gw_f = grad({sum(mul(conv2d(x.detach(), w, TensorD(), o), probe))}, {w})[0];
  auto gw_c =
      grad({sum(mul(detail::conv2d_composed(x.detach(), w, TensorD(), o, g), probe))}, {w})[0];
  check_close(vals(gw_f), vals(gw_c), 1e-12, "grad w only");
}

TEST_CASE("conv2d fused: second order through create_graph equals the composed op") {
  Generator gen(8);
  Conv2dOptions o;
  o.stride = {2, 1};
  o.padding = {1, 1};
  auto x = TensorD::randn({2, 3, 6, 5}, gen).requires_grad_();
  auto w = TensorD::randn({4, 3, 3, 2}, gen).requires_grad_();
  auto b = TensorD::randn({4}, gen).requires_grad_();
  auto g = detail::conv_geometry(x.shape(), 3, 2, o, "test");
  std::vector<TensorD> v{TensorD::randn(x.shape(), gen), TensorD::randn(w.shape(), gen),
                         TensorD::randn(b.shape(), gen)};
  auto hvp = [&](bool fused) {
    // a loss that is not linear in the conv output, so the Hessian has x-w-b blocks
    auto y = fused ? conv2d(x, w, b, o) : detail::conv2d_composed(x, w, b, o, g);
    auto l = sum(mul(tanh(y), y));
    auto gs = grad({l}, {x, w, b}, {}, /*create_graph=*/true);
    auto gv = add(add(sum(mul(gs[0], v[0])), sum(mul(gs[1], v[1]))), sum(mul(gs[2], v[2])));
    return grad({gv}, {x, w, b});
  };
  auto hf = hvp(true), hc = hvp(false);
  for (size_t i = 0; i < 3; ++i) check_close(vals(hf[i]), vals(hc[i]), 1e-10, "hvp");
}

TEST_CASE("conv2d gradient ops: adjoint identities, composed values, third order") {
  // detail::conv2d_input_grad / conv2d_weight_grad (the rule of conv2d under create_graph) are
  // the adjoints of conv2d: <conv2d(x, w), gy> = <x, input_grad(gy, w)> = <w, weight_grad(x, gy)>
  Generator gen(9);
  for (int c = 0; c < 2; ++c) {
    Conv2dOptions o;
    if (c) o.stride = {2, 1}, o.padding = {1, 2}, o.dilation = {1, 2};
    auto x = TensorD::randn({3, 2, 7, 6}, gen), w = TensorD::randn({4, 2, 3, 2}, gen);
    auto g = detail::conv_geometry(x.shape(), 3, 2, o, "test");
    auto gy = TensorD::randn({3, 4, g.Ho, g.Wo}, gen);
    const double lhs = sum(mul(conv2d(x, w, TensorD(), o), gy)).item();
    auto gx = detail::conv2d_input_grad(gy, w, g);
    auto gw = detail::conv2d_weight_grad(x, gy, g, w.shape());
    CHECK(sum(mul(x, gx)).item() == doctest::Approx(lhs).epsilon(1e-12));
    CHECK(sum(mul(w, gw)).item() == doctest::Approx(lhs).epsilon(1e-12));
    // and they equal the unfold/matmul/fold composition they replace
    const int64_t L = g.Ho * g.Wo, K = 2 * 3 * 2;
    auto gy3 = reshape(gy, Shape{3, 4, L});
    check_close(vals(gx), vals(fold(matmul(transpose(reshape(w, Shape{4, K}), 0, 1), gy3), g)),
                1e-12, "input grad");
    check_close(vals(gw),
                vals(reshape(sum(matmul(gy3, transpose(unfold(x, g), 1, 2)), {0}), w.shape())),
                1e-12, "weight grad");
  }
  // third order: d/dx of the HVP's x-part, through the gradient ops' own rules, equals the
  // fully composed conv2d's
  Conv2dOptions o;
  o.stride = {2, 1};
  o.padding = {1, 1};
  auto x = TensorD::randn({2, 2, 5, 5}, gen).requires_grad_();
  auto w = TensorD::randn({3, 2, 3, 2}, gen).requires_grad_();
  auto g = detail::conv_geometry(x.shape(), 3, 2, o, "test");
  auto v = TensorD::randn(x.shape(), gen), u = TensorD::randn(w.shape(), gen);
  auto third = [&](bool fused) {
    auto y = fused ? conv2d(x, w, TensorD(), o) : detail::conv2d_composed(x, w, TensorD(), o, g);
    auto l = sum(mul(tanh(y), y));
    auto gs = grad({l}, {x, w}, {}, true);
    auto h = grad({add(sum(mul(gs[0], v)), sum(mul(gs[1], u)))}, {x, w}, {}, true);
    auto t = add(sum(mul(h[0], h[0])), sum(mul(h[1], u)));
    return grad({t}, {x, w});
  };
  auto tf = third(true), tc = third(false);
  for (size_t i = 0; i < 2; ++i) check_close(vals(tf[i]), vals(tc[i]), 1e-10, "third order");
}

TEST_CASE("gradient rule ops through the op harness (1st and 2nd order vs differences, float)") {
  // detail::conv2d_input_grad, conv2d_weight_grad and relu_grad are graph ops of their own (the
  // rules of conv2d and relu under create_graph); they are internal (namespace detail), so not
  // in ops/registry.hpp, but they get the same checks as every public op.
  using namespace dtest;
  Table t;
  auto geom = [](Shape x, int64_t kh, int64_t kw, bool strided) {
    Conv2dOptions o;
    if (strided) o.stride = {2, 1}, o.padding = {1, 1};
    return detail::conv_geometry(x, kh, kw, o, "test");
  };
  t.add("conv2d_input_grad", {{2, 3, 3, 3}, {3, 2, 3, 3}},
        FN(detail::conv2d_input_grad(x[0], x[1], geom({2, 2, 5, 5}, 3, 3, false))), "plain");
  t.add("conv2d_input_grad", {{1, 2, 3, 5}, {2, 3, 3, 2}},
        FN(detail::conv2d_input_grad(x[0], x[1], geom({1, 3, 5, 4}, 3, 2, true))),
        "stride (2,1), padding 1");
  t.add("conv2d_weight_grad", {{2, 2, 5, 5}, {2, 3, 3, 3}},
        FN(detail::conv2d_weight_grad(x[0], x[1], geom({2, 2, 5, 5}, 3, 3, false),
                                      Shape{3, 2, 3, 3})),
        "plain");
  t.add(
      "conv2d_weight_grad", {{1, 3, 5, 4}, {1, 2, 3, 5}},
      FN(detail::conv2d_weight_grad(x[0], x[1], geom({1, 3, 5, 4}, 3, 2, true), Shape{2, 3, 3, 2})),
      "stride (2,1), padding 1");
  t.add("relu_grad", {{3, 4}, {3, 4}}, FN(detail::relu_grad(x[0], x[1])), "y held constant")
      .gens({Gen(), Gen().away_from_zero().no_grad()});
  for (const Entry& e : t.entries) {
    Report r = check_entry(e);
    CHECK_MESSAGE(r.ok(), r.str());
  }
}

// unfold/fold (im2col/col2im) against index-by-index loops, on every im2col path the CPU has
// (AVX-512 masked rows, SSE2 rows with overlapping tails, scalar strided rows): widths below,
// at and above a vector, zero margins wider than a vector, dilation. Values move or add once:
// results are exact.
TEST_CASE("unfold / fold: every row path equals the index loops, bit for bit") {
  struct Case {
    int64_t n, c, h, w, kh, kw;
    Conv2dOptions o;
  };
  std::vector<Case> cases;
  Conv2dOptions pad2, wide, dil, str;
  pad2.padding = {2, 2};
  wide.padding = {1, 6};  // margins of 6 > 4 float lanes
  dil.padding = {2, 1};
  dil.dilation = {2, 3};
  str.stride = {1, 2};
  str.padding = {1, 1};
  for (int64_t w : {2, 3, 4, 5, 10, 17, 28, 35}) cases.push_back({2, 2, 6, w, 3, 3, pad2});
  cases.push_back({1, 2, 7, 9, 2, 3, wide});
  cases.push_back({2, 1, 9, 12, 3, 2, dil});
  cases.push_back({1, 3, 6, 11, 3, 3, str});
  const auto prev = cpu::gemm_isa();
  for (auto isa :
       {cpu::GemmIsa::avx512, cpu::GemmIsa::avx2, cpu::GemmIsa::portable, cpu::GemmIsa::eigen}) {
    cpu::set_gemm_isa(isa);
    INFO("path ", cpu::gemm_kernel_name());
    Generator gen(3);
    for (const auto& cs : cases) {
      INFO("x [", cs.n, ", ", cs.c, ", ", cs.h, ", ", cs.w, "] k ", cs.kh, "x", cs.kw);
      auto g = detail::conv_geometry(Shape{cs.n, cs.c, cs.h, cs.w}, cs.kh, cs.kw, cs.o, "test");
      auto x = TensorF::randn({cs.n, cs.c, cs.h, cs.w}, gen);
      const int64_t K = cs.c * cs.kh * cs.kw, L = g.Ho * g.Wo;
      auto cols = TensorF::randn({cs.n, K, L}, gen);
      auto u = unfold(x, g).to_vector(), f = fold(cols, g).to_vector();
      auto xv = x.to_vector(), cv = cols.to_vector();
      std::vector<float> u_ref(u.size(), 0.f), f_ref(f.size(), 0.f);
      for (int64_t n = 0; n < cs.n; ++n)
        for (int64_t k = 0; k < K; ++k)
          for (int64_t l = 0; l < L; ++l) {
            const int64_t c = k / (cs.kh * cs.kw), ki = k / cs.kw % cs.kh, kj = k % cs.kw;
            const int64_t h = l / g.Wo * g.sh - g.ph + ki * g.dh;
            const int64_t w = l % g.Wo * g.sw - g.pw + kj * g.dw;
            if (h < 0 || h >= cs.h || w < 0 || w >= cs.w) continue;
            const int64_t xi = ((n * cs.c + c) * cs.h + h) * cs.w + w, ci = (n * K + k) * L + l;
            u_ref[ci] = xv[xi];
            f_ref[xi] += cv[ci];  // same order as col2im: k outer, l inner
          }
      CHECK(u == u_ref);
      CHECK(f == f_ref);
    }
  }
  cpu::set_gemm_isa(prev);
}

// 2×2 max pool (float) on every row path (AVX-512 16 lanes with masked ends, SSE2 4 lanes,
// scalar): values and argmax indices equal the window loop, with ties (first wins) and NaNs
// (a NaN wins; the last one seen).
TEST_CASE("max_pool2d 2x2: every row path equals the window loop, ties and NaNs included") {
  const auto prev = cpu::gemm_isa();
  for (auto isa :
       {cpu::GemmIsa::avx512, cpu::GemmIsa::avx2, cpu::GemmIsa::portable, cpu::GemmIsa::eigen}) {
    cpu::set_gemm_isa(isa);
    INFO("path ", cpu::gemm_kernel_name());
    Generator gen(4);
    for (int64_t w : {4, 10, 16, 28, 34, 66}) {
      INFO("width ", w);
      auto x = TensorF::randn({2, 3, 6, w}, gen);
      auto xv = x.to_vector();
      for (size_t i = 0; i < xv.size(); i += 7) xv[i] = xv[i + 1 < xv.size() ? i + 1 : i];  // ties
      for (size_t i = 5; i < xv.size(); i += 23) xv[i] = std::nanf("");
      x = TensorF::from_vector(xv, x.shape()).requires_grad_();
      auto y = max_pool2d(x, 2);
      auto gx = grad({sum(y)}, {x})[0].to_vector();
      auto yv = y.to_vector();
      const int64_t ho = 3, wo = w / 2;
      std::vector<float> g_ref(xv.size(), 0.f);
      for (int64_t p = 0; p < 6; ++p)
        for (int64_t oh = 0; oh < ho; ++oh)
          for (int64_t ow = 0; ow < wo; ++ow) {
            int64_t bi = p * 6 * w + 2 * oh * w + 2 * ow;
            for (int64_t d : {int64_t(1), w, w + 1}) {
              const int64_t q = p * 6 * w + 2 * oh * w + 2 * ow + d;
              if (xv[q] > xv[bi] || std::isnan(xv[q])) bi = q;
            }
            const float v = yv[(p * ho + oh) * wo + ow];
            CHECK(((std::isnan(v) && std::isnan(xv[bi])) || v == xv[bi]));
            g_ref[bi] += 1.f;
          }
      CHECK(gx == g_ref);
    }
  }
  cpu::set_gemm_isa(prev);
}
