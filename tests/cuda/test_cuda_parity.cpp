// tests/cuda/test_cuda_parity.cpp — the CUDA backend computes what the CPU backend computes.
//
// Three layers, each CPU vs CUDA in float and double:
//  1. kernels: every KernelTable entry called directly on identical buffers (all unary/binary
//     op codes, strided/broadcast views, every reduce path, GEMM flags/batches/strides, index
//     ops, softmax, im2col/col2im/max_pool2d, sort);
//  2. ops: values, first-order gradients (grad) and second-order gradients (grad of grad·w with
//     create_graph) for a broad op set, inputs often non-contiguous;
//  3. a dataset-distillation step: hypergradient through one differentiable SGD step.
// Without a CUDA device the executable exits 77, which ctest reports as skipped
// (tests/CMakeLists.txt sets SKIP_RETURN_CODE 77 for tests whose name contains `cuda`).
#include <distillery/cuda.hpp>
#include <distillery/distillery.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>


using namespace distillery;

namespace {

constexpr Device kCuda = Device::cuda;
constexpr Device kCpu = Device::cpu;

// ---- comparison ------------------------------------------------------------------------------
template <class T> struct Tol;
template <> struct Tol<float> { static constexpr double rtol = 1e-4, atol = 1e-5; };
template <> struct Tol<double> { static constexpr double rtol = 1e-9, atol = 1e-11; };

// worst error per family, printed at the end
std::map<std::string, std::pair<int, double>>& summary() {
  static std::map<std::string, std::pair<int, double>> s;
  return s;
}

// |a - b| <= atol * max(1, max|b|) + rtol * |b| elementwise; NaN must match NaN.
template <class T>
bool close(const std::vector<T>& a, const std::vector<T>& b, const std::string& what,
           double rtol_scale = 1.0) {
  const double rtol = Tol<T>::rtol * rtol_scale, atol0 = Tol<T>::atol * rtol_scale;
  if (a.size() != b.size()) {
    MESSAGE(what << ": size " << a.size() << " vs " << b.size());
    return false;
  }
  double scale = 1;
  for (T v : b)
    if (std::isfinite(double(v))) scale = std::max(scale, std::abs(double(v)));
  const double atol = atol0 * scale;
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double x = a[i], y = b[i];
    if (std::isnan(y) || std::isnan(x)) {
      if (std::isnan(x) != std::isnan(y)) {
        MESSAGE(what << ": NaN mismatch at " << i << " (cuda " << x << ", cpu " << y << ")");
        return false;
      }
      continue;
    }
    if (std::isinf(y) || std::isinf(x)) {
      if (x != y) {
        MESSAGE(what << ": inf mismatch at " << i << " (cuda " << x << ", cpu " << y << ")");
        return false;
      }
      continue;
    }
    const double err = std::abs(x - y), lim = atol + rtol * std::abs(y);
    worst = std::max(worst, err / (atol + rtol * std::abs(y)) * rtol);
    if (err > lim) {
      MESSAGE(what << ": element " << i << " cuda " << x << " cpu " << y << " (|diff| " << err
                   << " > " << lim << ")");
      return false;
    }
  }
  std::string fam = what.substr(0, what.find(' '));
  auto& e = summary()[fam + (sizeof(T) == 4 ? " f32" : " f64")];
  e.first += 1;
  e.second = std::max(e.second, worst);
  return true;
}

template <class T>
std::vector<T> host(const Tensor<T>& t) { return t.to(kCpu).to_vector(); }

template <class T>
Tensor<T> rnd(const Shape& s, Generator& g, double lo = -1, double hi = 1) {
  return Tensor<T>::rand(s, g, lo, hi);
}

const char* tname(float) { return "f32"; }
const char* tname(double) { return "f64"; }

// ============================================================================================
// 1. kernel level
// ============================================================================================
template <class T>
struct Pair {  // the same data on both devices
  Tensor<T> c, g;
  explicit Pair(const Tensor<T>& cpu) : c(cpu.contiguous()), g(cpu.contiguous().to(kCuda)) {}
};

template <class T>
void kernel_unary_binary(Generator& gen) {
  auto& kc = kernels<T>(kCpu);
  auto& kg = kernels<T>(kCuda);
  const int64_t n = 1000;
  // unary: every op code
  for (int op = 0; op <= static_cast<int>(UnaryOp::ne_scalar); ++op) {
    UnaryOp u = static_cast<UnaryOp>(op);
    const bool pos = u == UnaryOp::log || u == UnaryOp::sqrt || u == UnaryOp::rsqrt ||
                     u == UnaryOp::recip || u == UnaryOp::pow_scalar || u == UnaryOp::log1p;
    Pair<T> x(rnd<T>({n}, gen, pos ? 0.1 : -3, 3));
    T p1 = u == UnaryOp::softplus ? T(1.5) : u == UnaryOp::clamp || u == UnaryOp::inside ? T(-0.5)
         : u == UnaryOp::pow_scalar ? T(2.7) : T(0.25);
    T p2 = u == UnaryOp::softplus ? T(2) : T(0.75);
    auto oc = Tensor<T>::empty({n}), og = Tensor<T>::empty({n}, kCuda);
    kc.unary(u, x.c.data_ptr(), oc.data_ptr(), n, p1, p2);
    kg.unary(u, x.g.data_ptr(), og.data_ptr(), n, p1, p2);
    CHECK_MESSAGE(close(host(og), oc.to_vector(), "kernel.unary op " + std::to_string(op)),
                  "unary op code ", op);
  }
  // binary over broadcast / strided views: a [4, 1, 6] (transposed storage), b [3, 6]
  Pair<T> A(rnd<T>({6, 4}, gen, 0.2, 2)), B(rnd<T>({3, 6}, gen, 0.2, 2));
  Shape s{4, 3, 6};
  View av{s, Strides{1, 0, 4}, 0}, bv{s, Strides{0, 6, 1}, 0};
  View sv{s, Strides{0, 0, 0}, 5};  // a scalar broadcast
  View cv{s, contiguous_strides(s), 0};
  Pair<T> C(rnd<T>({4, 3, 6}, gen, 0.2, 2));
  for (int op = 0; op <= static_cast<int>(BinaryOp::ne); ++op) {
    BinaryOp b = static_cast<BinaryOp>(op);
    struct Combo { const Tensor<T>* a[2]; View va; const Tensor<T>* b[2]; View vb; };
    Combo combos[] = {{{&A.c, &A.g}, av, {&B.c, &B.g}, bv},
                      {{&C.c, &C.g}, cv, {&C.c, &C.g}, cv},
                      {{&C.c, &C.g}, cv, {&A.c, &A.g}, sv},
                      {{&A.c, &A.g}, sv, {&C.c, &C.g}, cv}};
    int k = 0;
    for (auto& cb : combos) {
      auto oc = Tensor<T>::empty(s), og = Tensor<T>::empty(s, kCuda);
      kc.binary(b, cb.a[0]->data_ptr(), cb.va, cb.b[0]->data_ptr(), cb.vb, oc.data_ptr(), s);
      kg.binary(b, cb.a[1]->data_ptr(), cb.va, cb.b[1]->data_ptr(), cb.vb, og.data_ptr(), s);
      CHECK(close(host(og), oc.to_vector(),
                  "kernel.binary op " + std::to_string(op) + " path " + std::to_string(k++)));
    }
  }
  // where with three differently broadcast operands
  {
    Pair<T> M(rnd<T>({3, 6}, gen, -1, 1));
    auto mc = gt_scalar(M.c, T(0)), mg = gt_scalar(M.g, T(0));
    auto oc = Tensor<T>::empty(s), og = Tensor<T>::empty(s, kCuda);
    kc.where(mc.data_ptr(), bv, A.c.data_ptr(), av, C.c.data_ptr(), cv, oc.data_ptr(), s);
    kg.where(mg.data_ptr(), bv, A.g.data_ptr(), av, C.g.data_ptr(), cv, og.data_ptr(), s);
    CHECK(close(host(og), oc.to_vector(), "kernel.where"));
  }
  // copy strided -> strided (transpose into a slice of a bigger buffer), fill, cast
  {
    Pair<T> X(rnd<T>({5, 7}, gen));
    View src{Shape{7, 5}, Strides{1, 7}, 0};
    View dst{Shape{7, 5}, Strides{12, 2}, 3};
    auto oc = Tensor<T>::zeros({100}), og = Tensor<T>::zeros({100}, kCuda);
    kc.copy(X.c.data_ptr(), src, oc.data_ptr(), dst);
    kg.copy(X.g.data_ptr(), src, og.data_ptr(), dst);
    CHECK(close(host(og), oc.to_vector(), "kernel.copy strided"));
    kc.fill(oc.data_ptr() + 10, 50, T(2.5));
    kg.fill(og.data_ptr() + 10, 50, T(2.5));
    CHECK(close(host(og), oc.to_vector(), "kernel.fill"));
    auto xd = rnd<double>({33}, gen, -50, 50);
    auto xf = xd.template to<float>();
    auto xi = xd.template to<int64_t>();
    CHECK(close(host(xd.to(kCuda).template to<T>()), xd.template to<T>().to_vector(), "kernel.cast f64"));
    CHECK(close(host(xf.to(kCuda).template to<T>()), xf.template to<T>().to_vector(), "kernel.cast f32"));
    CHECK(close(host(xi.to(kCuda).template to<T>()), xi.template to<T>().to_vector(), "kernel.cast i64"));
    auto back = xd.to(kCuda).template to<int64_t>().to(kCpu).to_vector();
    CHECK(back == xd.template to<int64_t>().to_vector());
  }
}

// values rounded to a grid of ~cols/4 levels so that rows have ties
template <class T>
Tensor<T> floor_like(const Tensor<T>& x, int64_t cols) {
  auto v = x.to_vector();
  const double levels = std::max<double>(2, double(cols) / 4);
  for (auto& e : v) e = static_cast<T>(std::floor(double(e) * levels) / levels);
  return Tensor<T>::from_vector(v, x.shape());
}

template <class T>
void kernel_reduce_softmax_sort(Generator& gen) {
  auto& kc = kernels<T>(kCpu);
  auto& kg = kernels<T>(kCuda);
  // (outer, r, inner): rows path, chunked rows, columns path, chunked columns, one long sum
  const int64_t geo[][3] = {{7, 13, 1}, {3, 50000, 1}, {2000, 40, 1}, {5, 9, 11},
                            {1, 70000, 3}, {4, 300, 700}, {1, 1 << 20, 1}, {1, 1, 1}};
  for (auto& gm : geo) {
    const int64_t outer = gm[0], r = gm[1], inner = gm[2];
    Pair<T> X(rnd<T>({outer * r * inner}, gen, 0.5, 1.5));
    for (int op = 0; op <= static_cast<int>(ReduceOp::prod); ++op) {
      if (op == static_cast<int>(ReduceOp::prod) && r > 64) continue;  // overflow
      auto oc = Tensor<T>::empty({outer * inner}), og = Tensor<T>::empty({outer * inner}, kCuda);
      kc.reduce(static_cast<ReduceOp>(op), X.c.data_ptr(), outer, r, inner, oc.data_ptr());
      kg.reduce(static_cast<ReduceOp>(op), X.g.data_ptr(), outer, r, inner, og.data_ptr());
      CHECK(close(host(og), oc.to_vector(),
                  "kernel.reduce op " + std::to_string(op) + " [" + std::to_string(outer) + "," +
                      std::to_string(r) + "," + std::to_string(inner) + "]"));
    }
    for (bool is_max : {true, false}) {
      auto oc = IndexTensor::empty({outer * inner}), og = IndexTensor::empty({outer * inner}, kCuda);
      kc.arg_reduce(is_max, X.c.data_ptr(), outer, r, inner, oc.data_ptr());
      kg.arg_reduce(is_max, X.g.data_ptr(), outer, r, inner, og.data_ptr());
      CHECK_MESSAGE(host(og) == oc.to_vector(), "arg_reduce ", outer, ",", r, ",", inner);
    }
  }
  {  // ties and NaN: first occurrence / first NaN wins
    std::vector<T> v = {1, 3, 3, 2, 0, 0, 5, 5, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 7};
    v[20] = std::numeric_limits<T>::quiet_NaN();
    v[40] = std::numeric_limits<T>::quiet_NaN();
    const int64_t r = static_cast<int64_t>(v.size());
    Pair<T> X(Tensor<T>::from_vector(v));
    for (int64_t len : {r, int64_t(15)}) {
      for (bool is_max : {true, false}) {
        auto oc = IndexTensor::empty({1}), og = IndexTensor::empty({1}, kCuda);
        kc.arg_reduce(is_max, X.c.data_ptr(), 1, len, 1, oc.data_ptr());
        kg.arg_reduce(is_max, X.g.data_ptr(), 1, len, 1, og.data_ptr());
        CHECK(host(og) == oc.to_vector());
      }
    }
  }
  // softmax: short rows (warp per row) and long rows (block per row), plain and log
  for (auto rc : {std::pair<int64_t, int64_t>{37, 10}, {256, 1000}, {5, 5000}, {3, 1}}) {
    Pair<T> X(rnd<T>({rc.first * rc.second}, gen, -8, 8));
    for (bool lg : {false, true}) {
      auto oc = Tensor<T>::empty({rc.first * rc.second});
      auto og = Tensor<T>::empty({rc.first * rc.second}, kCuda);
      kc.softmax(X.c.data_ptr(), oc.data_ptr(), rc.first, rc.second, lg);
      kg.softmax(X.g.data_ptr(), og.data_ptr(), rc.first, rc.second, lg);
      CHECK(close(host(og), oc.to_vector(), std::string("kernel.softmax ") + (lg ? "log" : "plain")));
    }
  }
  // sort: ties (stable), both directions, short and long rows
  for (auto rc : {std::pair<int64_t, int64_t>{6, 9}, {3, 3000}, {100, 1}, {1, 70000}}) {
    const int64_t rows = rc.first, cols = rc.second;
    auto xc = Tensor<T>::rand({rows * cols}, gen, 0, 1);
    auto xq = floor_like(xc, cols);  // quantised: many ties
    Pair<T> X(xq);
    for (bool desc : {false, true}) {
      auto vc = Tensor<T>::empty({rows * cols}), vg = Tensor<T>::empty({rows * cols}, kCuda);
      auto ic = IndexTensor::empty({rows * cols}), ig = IndexTensor::empty({rows * cols}, kCuda);
      kc.sort(X.c.data_ptr(), rows, cols, desc, vc.data_ptr(), ic.data_ptr());
      kg.sort(X.g.data_ptr(), rows, cols, desc, vg.data_ptr(), ig.data_ptr());
      CHECK(close(host(vg), vc.to_vector(), "kernel.sort values"));
      CHECK_MESSAGE(host(ig) == ic.to_vector(), "sort indices rows=", rows, " cols=", cols,
                    " desc=", desc);
    }
  }
}

template <class T>
void kernel_gemm(Generator& gen) {
  auto& kc = kernels<T>(kCpu);
  auto& kg = kernels<T>(kCuda);
  struct G { int64_t m, n, k, batch; bool ta, tb; int64_t pad; bool bcastA; };
  const G cases[] = {{5, 7, 3, 1, false, false, 0, false}, {64, 48, 80, 1, true, false, 2, false},
                     {33, 17, 65, 1, false, true, 1, false}, {9, 11, 13, 4, true, true, 3, false},
                     {16, 8, 24, 5, false, false, 0, true}, {1, 1, 100, 2, false, true, 0, false},
                     {6, 5, 0, 2, false, false, 0, false}, {128, 128, 128, 3, false, false, 0, false}};
  for (const G& c : cases) {
    // row-major storage with leading dims padded by `pad`
    const int64_t ra = c.ta ? c.k : c.m, ca = c.ta ? c.m : c.k;
    const int64_t rb = c.tb ? c.n : c.k, cb = c.tb ? c.k : c.n;
    const int64_t lda = ca + c.pad, ldb = cb + c.pad, ldc = c.n + c.pad;
    const int64_t sA = c.bcastA ? 0 : ra * lda, sB = rb * ldb, sC = c.m * ldc;
    Pair<T> A(rnd<T>({std::max<int64_t>(1, (c.bcastA ? 1 : c.batch) * ra * lda)}, gen));
    Pair<T> B(rnd<T>({std::max<int64_t>(1, c.batch * rb * ldb)}, gen));
    Pair<T> C0(rnd<T>({c.batch * c.m * ldc}, gen));
    for (T beta : {T(0), T(0.5)}) {
      auto oc = C0.c.clone(), og = C0.g.clone();
      kc.gemm(c.ta, c.tb, c.m, c.n, c.k, T(1.25), A.c.data_ptr(), lda, sA, B.c.data_ptr(), ldb,
              sB, beta, oc.data_ptr(), ldc, sC, c.batch);
      kg.gemm(c.ta, c.tb, c.m, c.n, c.k, T(1.25), A.g.data_ptr(), lda, sA, B.g.data_ptr(), ldb,
              sB, beta, og.data_ptr(), ldc, sC, c.batch);
      CHECK_MESSAGE(close(host(og), oc.to_vector(), "kernel.gemm", 4.0), "gemm m=", c.m,
                    " n=", c.n, " k=", c.k, " batch=", c.batch, " ta=", c.ta, " tb=", c.tb,
                    " beta=", beta);
    }
  }
}

template <class T>
void kernel_index_conv(Generator& gen) {
  auto& kc = kernels<T>(kCpu);
  auto& kg = kernels<T>(kCuda);
  // gather / scatter_add along each dim of [4, 5, 6]
  Shape xs{4, 5, 6};
  Pair<T> X(rnd<T>(xs, gen));
  for (int dim = 0; dim < 3; ++dim) {
    Shape is = xs;
    is[dim] = 7;
    std::vector<int64_t> iv(is.numel());
    for (auto& e : iv) e = gen.randint(xs[dim]);
    auto ic = IndexTensor::from_vector(iv, is);
    auto ig = ic.to(kCuda);
    auto oc = Tensor<T>::empty(is), og = Tensor<T>::empty(is, kCuda);
    kc.gather(X.c.data_ptr(), xs, ic.data_ptr(), is, dim, oc.data_ptr());
    kg.gather(X.g.data_ptr(), xs, ig.data_ptr(), is, dim, og.data_ptr());
    CHECK(close(host(og), oc.to_vector(), "kernel.gather"));
    Pair<T> S(rnd<T>(is, gen));
    auto bc = X.c.clone(), bg = X.g.clone();
    kc.scatter_add(bc.data_ptr(), xs, ic.data_ptr(), is, S.c.data_ptr(), dim);
    kg.scatter_add(bg.data_ptr(), xs, ig.data_ptr(), is, S.g.data_ptr(), dim);
    CHECK(close(host(bg), bc.to_vector(), "kernel.scatter_add"));
    // an index smaller than the input on the other dims (PyTorch's leading slice)
    Shape ss{3, 4, 5};
    ss[dim] = 6;
    std::vector<int64_t> sv(ss.numel());
    for (auto& e : sv) e = gen.randint(xs[dim]);
    auto sc = IndexTensor::from_vector(sv, ss);
    auto sg = sc.to(kCuda);
    auto pc = Tensor<T>::empty(ss), pg = Tensor<T>::empty(ss, kCuda);
    kc.gather(X.c.data_ptr(), xs, sc.data_ptr(), ss, dim, pc.data_ptr());
    kg.gather(X.g.data_ptr(), xs, sg.data_ptr(), ss, dim, pg.data_ptr());
    CHECK(close(host(pg), pc.to_vector(), "kernel.gather (smaller index)"));
    Pair<T> Q(rnd<T>(ss, gen));
    auto qc = X.c.clone(), qg = X.g.clone();
    kc.scatter_add(qc.data_ptr(), xs, sc.data_ptr(), ss, Q.c.data_ptr(), dim);
    kg.scatter_add(qg.data_ptr(), xs, sg.data_ptr(), ss, Q.g.data_ptr(), dim);
    CHECK(close(host(qg), qc.to_vector(), "kernel.scatter_add (smaller index)"));
  }
  // index_select / index_add with repeated indices
  {
    const int64_t outer = 3, n = 5, inner = 4, nidx = 9;
    Pair<T> Y(rnd<T>({outer * n * inner}, gen));
    std::vector<int64_t> iv(nidx);
    for (auto& e : iv) e = gen.randint(n);
    auto ic = IndexTensor::from_vector(iv);
    auto ig = ic.to(kCuda);
    auto oc = Tensor<T>::empty({outer * nidx * inner}), og = Tensor<T>::empty({outer * nidx * inner}, kCuda);
    kc.index_select(Y.c.data_ptr(), outer, n, inner, ic.data_ptr(), nidx, oc.data_ptr());
    kg.index_select(Y.g.data_ptr(), outer, n, inner, ig.data_ptr(), nidx, og.data_ptr());
    CHECK(close(host(og), oc.to_vector(), "kernel.index_select"));
    Pair<T> S(rnd<T>({outer * nidx * inner}, gen));
    auto bc = Y.c.clone(), bg = Y.g.clone();
    kc.index_add(bc.data_ptr(), outer, n, inner, ic.data_ptr(), nidx, S.c.data_ptr());
    kg.index_add(bg.data_ptr(), outer, n, inner, ig.data_ptr(), nidx, S.g.data_ptr());
    CHECK(close(host(bg), bc.to_vector(), "kernel.index_add"));
  }
  // im2col / col2im / max_pool2d over several geometries (stride, padding, dilation)
  const int64_t geo[][10] = {  // N C H W kh kw sh sw ph pw   (dilation 1 or 2 below)
      {2, 3, 8, 7, 3, 3, 1, 1, 1, 1}, {1, 2, 9, 9, 2, 2, 2, 2, 0, 0},
      {3, 1, 10, 6, 3, 2, 2, 1, 1, 0}, {2, 4, 12, 12, 5, 5, 1, 1, 2, 2}};
  for (auto& q : geo) {
    for (int64_t dil : {1, 2}) {
      Conv2dGeometry g{q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7], q[8], q[9], dil, dil, 0, 0};
      g.Ho = (g.H + 2 * g.ph - g.dh * (g.kh - 1) - 1) / g.sh + 1;
      g.Wo = (g.W + 2 * g.pw - g.dw * (g.kw - 1) - 1) / g.sw + 1;
      if (g.Ho <= 0 || g.Wo <= 0) continue;
      Pair<T> Xi(rnd<T>({g.N * g.C * g.H * g.W}, gen));
      const int64_t ncol = g.N * g.C * g.kh * g.kw * g.Ho * g.Wo;
      auto cc = Tensor<T>::empty({ncol}), cg = Tensor<T>::empty({ncol}, kCuda);
      kc.im2col(Xi.c.data_ptr(), g, cc.data_ptr());
      kg.im2col(Xi.g.data_ptr(), g, cg.data_ptr());
      CHECK(close(host(cg), cc.to_vector(), "kernel.im2col"));
      Pair<T> Cols(rnd<T>({ncol}, gen));
      auto xc = Tensor<T>::zeros({g.N * g.C * g.H * g.W});
      auto xg = Tensor<T>::zeros({g.N * g.C * g.H * g.W}, kCuda);
      kc.col2im(Cols.c.data_ptr(), g, xc.data_ptr());
      kg.col2im(Cols.g.data_ptr(), g, xg.data_ptr());
      CHECK(close(host(xg), xc.to_vector(), "kernel.col2im"));
      if (g.ph * 2 <= g.kh && g.pw * 2 <= g.kw) {
        const int64_t no = g.N * g.C * g.Ho * g.Wo;
        auto pc = Tensor<T>::empty({no}), pg = Tensor<T>::empty({no}, kCuda);
        auto ic = IndexTensor::empty({no}), ig = IndexTensor::empty({no}, kCuda);
        kc.max_pool2d(Xi.c.data_ptr(), g, pc.data_ptr(), ic.data_ptr());
        kg.max_pool2d(Xi.g.data_ptr(), g, pg.data_ptr(), ig.data_ptr());
        CHECK(close(host(pg), pc.to_vector(), "kernel.max_pool2d"));
        CHECK(host(ig) == ic.to_vector());
      }
    }
  }
}

// ============================================================================================
// 2. op level: values, grad, grad of grad
// ============================================================================================
template <class T>
using Fn = std::function<Tensor<T>(const std::vector<Tensor<T>>&)>;

template <class T>
struct Case {
  std::string name;
  std::vector<Shape> shapes;
  Fn<T> f;
  double lo = -1, hi = 1;
  double tol = 1;  // tolerance multiplier
};

template <class T>
IndexTensor idx(std::vector<int64_t> v, const Shape& s, Device d) {
  return IndexTensor::from_vector(v, s).to(d);
}

template <class T>
Tensor<T> log_softmax_c(const Tensor<T>& x, int64_t dim) {
  return sub(x, logsumexp(x, {dim}, true));
}

template <class T>
Tensor<T> layer_norm_c(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& b, T eps) {
  Tensor<T> mu = mean(x, {-1}, true);
  Tensor<T> var0 = var(x, {-1}, true, 0);
  return add(mul(div(sub(x, mu), sqrt(add_scalar(var0, eps))), w), b);
}

template <class T>
std::vector<Case<T>> op_cases() {
  using V = std::vector<Tensor<T>>;
  std::vector<Case<T>> c;
  auto add1 = [&](std::string n, Shape s, Fn<T> f, double lo = -1, double hi = 1, double tol = 1) {
    c.push_back({n, {s}, f, lo, hi, tol});
  };
  auto add2 = [&](std::string n, Shape s0, Shape s1, Fn<T> f, double lo = -1, double hi = 1,
                  double tol = 1) { c.push_back({n, {s0, s1}, f, lo, hi, tol}); };
  // ---- unary (non-contiguous inputs through t(), slice, expand)
  add1("neg", {5, 7}, [](const V& x) { return neg(x[0]); });
  add1("exp_t", {7, 5}, [](const V& x) { return exp(x[0].t()); });
  add1("log", {5, 7}, [](const V& x) { return log(x[0]); }, 0.2, 2);
  add1("sqrt_slice", {5, 8}, [](const V& x) { return sqrt(x[0].slice(1, 1, 8, 2)); }, 0.2, 2);
  add1("rsqrt", {5, 7}, [](const V& x) { return rsqrt(x[0]); }, 0.2, 2);
  add1("abs", {5, 7}, [](const V& x) { return abs(x[0]); });
  add1("sin_cos", {5, 7}, [](const V& x) { return mul(sin(x[0]), cos(x[0])); });
  add1("relu", {5, 7}, [](const V& x) { return relu(x[0]); });
  add1("leaky_relu", {5, 7}, [](const V& x) { return leaky_relu(x[0], T(0.1)); });
  add1("sigmoid_t", {7, 5}, [](const V& x) { return sigmoid(x[0].t()); }, -4, 4);
  add1("tanh", {5, 7}, [](const V& x) { return tanh(x[0]); }, -3, 3);
  add1("erf", {5, 7}, [](const V& x) { return erf(x[0]); });
  add1("gelu", {5, 7}, [](const V& x) { return gelu(x[0]); }, -3, 3);
  add1("gelu_tanh", {5, 7}, [](const V& x) { return gelu(x[0], true); }, -3, 3);
  add1("softplus", {5, 7}, [](const V& x) { return softplus(x[0], T(2), T(3)); }, -3, 3);
  add1("log1p", {5, 7}, [](const V& x) { return log1p(x[0]); }, -0.5, 2);
  add1("expm1", {5, 7}, [](const V& x) { return expm1(x[0]); });
  add1("clamp", {5, 7}, [](const V& x) { return mul(clamp(x[0], T(-0.5), T(0.5)), x[0]); });
  add1("square", {5, 7}, [](const V& x) { return square(x[0]); });
  add1("reciprocal", {5, 7}, [](const V& x) { return reciprocal(x[0]); }, 0.5, 2);
  add1("pow_scalar", {5, 7}, [](const V& x) { return pow_scalar(x[0], T(2.5)); }, 0.2, 2);
  add1("scalars", {5, 7}, [](const V& x) {
    return rsub_scalar(mul_scalar(add_scalar(x[0], T(0.5)), T(3)), T(2)); });
  // ---- binary with broadcasting and views
  add2("add_bcast", {4, 1, 5}, {3, 5}, [](const V& x) { return add(x[0], x[1]); });
  add2("sub_bcast", {3, 5}, {4, 1, 5}, [](const V& x) { return sub(x[0], x[1]); });
  add2("mul_t", {5, 4}, {4, 5}, [](const V& x) { return mul(x[0].t(), x[1]); });
  add2("mul_row", {4, 5}, {5}, [](const V& x) { return mul(x[0], x[1]); });
  add2("div_col", {4, 5}, {4, 1}, [](const V& x) { return div(x[0], x[1]); }, 0.5, 2);
  add2("pow", {4, 5}, {5}, [](const V& x) { return pow(x[0], x[1]); }, 0.5, 2);
  add2("maximum", {4, 5}, {4, 5}, [](const V& x) { return mul(maximum(x[0], x[1]), x[0]); });
  add2("minimum", {4, 5}, {1, 5}, [](const V& x) { return mul(minimum(x[0], x[1]), x[1]); });
  add2("where", {4, 5}, {4, 5}, [](const V& x) {
    return mul(where(gt(x[0], x[1]), x[0], square(x[1])), x[0]); });
  add2("masked_fill", {4, 5}, {5}, [](const V& x) {
    return mul(masked_fill(x[0], gt_scalar(x[1].detach(), T(0)), T(2)), x[0]); });
  add1("expand", {3, 1}, [](const V& x) { return mul(x[0].expand({3, 4}), x[0]); });
  // ---- reductions
  add1("sum_all", {4, 5, 6}, [](const V& x) { return mul(sum(x[0]), sum(square(x[0]))); });
  add1("sum_dims", {4, 5, 6}, [](const V& x) { return square(sum(x[0], {0, 2}, true)); });
  add1("sum_long", {3, 20000}, [](const V& x) { return square(sum(x[0], {1})); }, -1, 1, 10);
  add1("mean_t", {6, 5}, [](const V& x) { return square(mean(x[0].t(), {1})); });
  add1("var", {4, 9}, [](const V& x) { return var(x[0], {1}); });
  add1("std", {4, 9}, [](const V& x) { return std_dev(x[0], {0}); });
  add1("norm", {4, 9}, [](const V& x) { return norm(x[0], 2, {1}); });
  add1("logsumexp", {4, 9}, [](const V& x) { return logsumexp(x[0], {1}); }, -5, 5);
  add1("max_dim", {4, 9}, [](const V& x) { return square(max(x[0], 1).first); });
  add1("min_dim", {4, 9}, [](const V& x) { return square(min(x[0], 0).first); });
  add1("max_all", {4, 9}, [](const V& x) { return square(max(x[0])); });
  // ---- softmax family, layer norm (kernels), and the same composed from primitives
  add1("softmax", {6, 10}, [](const V& x) { return square(softmax(x[0], -1)); }, -4, 4);
  add1("log_softmax", {6, 10}, [](const V& x) { return square(log_softmax(x[0], -1)); }, -4, 4);
  add1("softmax_dim0_t", {6, 10}, [](const V& x) { return square(softmax(x[0].t(), 0)); }, -4, 4);
  add1("log_softmax_long", {3, 3000}, [](const V& x) { return square(log_softmax(x[0], 1)); }, -4, 4, 10);
  add1("log_softmax_composed", {6, 10}, [](const V& x) { return log_softmax_c(x[0], -1); }, -4, 4);
  c.push_back({"layer_norm", {{4, 3, 8}, {8}, {8}}, [](const V& x) {
                 return square(layer_norm(x[0], Shape{8}, x[1], x[2])); }, -2, 2, 10});
  c.push_back({"layer_norm_composed", {{4, 3, 8}, {8}, {8}}, [](const V& x) {
                 return layer_norm_c(x[0], x[1], x[2], T(1e-5)); }, -2, 2, 10});
  // ---- convolution and pooling (unfold/fold = im2col/col2im, GEMM, gather)
  c.push_back({"conv2d", {{2, 3, 7, 6}, {4, 3, 3, 3}, {4}}, [](const V& x) {
                 Conv2dOptions o;
                 o.padding = {1, 1};
                 return tanh(conv2d(x[0], x[1], x[2], o)); }, -1, 1, 10});
  c.push_back({"conv2d_strided_dilated_groups", {{2, 4, 9, 9}, {6, 2, 3, 2}}, [](const V& x) {
                 Conv2dOptions o;
                 o.stride = {2, 1};
                 o.padding = {1, 0};
                 o.dilation = {1, 2};
                 o.groups = 2;
                 return square(conv2d(x[0], x[1], Tensor<T>(), o)); }, -1, 1, 10});
  add1("max_pool2d", {2, 3, 8, 8}, [](const V& x) { return square(max_pool2d(x[0], 2)); });
  add1("max_pool2d_pad", {2, 2, 7, 7}, [](const V& x) { return square(max_pool2d(x[0], 3, 2, 1)); });
  add1("avg_pool2d", {2, 3, 8, 8}, [](const V& x) { return square(avg_pool2d(x[0], 2)); });
  add1("avg_pool2d_opts", {2, 2, 7, 8}, [](const V& x) {
    AvgPool2dOptions o;
    o.kernel = {3, 2};
    o.stride = {2, 3};
    o.padding = {1, 1};
    o.ceil_mode = true;
    o.count_include_pad = false;
    return square(avg_pool2d(x[0], o)); });
  // ---- losses used by distillation
  add2("kd_kl_T4", {8, 10}, {8, 10}, [](const V& x) {
    const T t = T(4);
    auto s = log_softmax(mul_scalar(x[0], T(1) / t), 1);
    auto p = softmax(mul_scalar(x[1], T(1) / t), 1);
    return mul_scalar(kl_div(s, p, Reduction::batchmean), t * t); }, -3, 3);
  add1("cross_entropy", {8, 5}, [](const V& x) {
    auto y = idx<T>({0, 4, 2, 2, 1, 3, 0, 4}, {8}, x[0].device());
    return cross_entropy(x[0], y, Reduction::mean, 0.1); }, -3, 3);
  // ---- matmul family
  add2("mm", {5, 6}, {6, 4}, [](const V& x) { return square(matmul(x[0], x[1])); });
  add2("mm_tt", {6, 5}, {4, 6}, [](const V& x) { return square(matmul(x[0].t(), x[1].t())); });
  add2("bmm", {3, 5, 6}, {3, 6, 4}, [](const V& x) { return square(bmm(x[0], x[1])); });
  add2("matmul_bcast", {2, 3, 5, 6}, {6, 4}, [](const V& x) { return square(matmul(x[0], x[1])); });
  add2("matmul_bcast_b", {5, 6}, {2, 6, 4}, [](const V& x) { return square(matmul(x[0], x[1])); });
  add2("matmul_transposed", {3, 6, 5}, {3, 6, 4}, [](const V& x) {
    return square(matmul(x[0].transpose(-1, -2), x[1])); });
  add2("matvec", {5, 6}, {6}, [](const V& x) { return square(matmul(x[0], x[1])); });
  add2("vecmat", {6}, {6, 4}, [](const V& x) { return square(matmul(x[0], x[1])); });
  c.push_back({"linear", {{2, 3, 6}, {4, 6}, {4}}, [](const V& x) {
                 return tanh(linear(x[0], x[1], x[2])); }});
  // ---- indexing and joining
  add1("gather", {4, 6}, [](const V& x) {
    auto i = idx<T>({0, 5, 5, 1, 2, 3, 4, 4, 0, 1, 1, 1}, {4, 3}, x[0].device());
    return square(gather(x[0], 1, i)); });
  add1("gather_smaller_index", {4, 6}, [](const V& x) {
    auto i = idx<T>({0, 5, 5, 1, 2, 3}, {2, 3}, x[0].device());
    return square(gather(x[0], 1, i)); });
  add2("scatter_add", {4, 6}, {4, 3}, [](const V& x) {
    auto i = idx<T>({0, 5, 5, 1, 2, 3, 4, 4, 0, 1, 1, 1}, {4, 3}, x[0].device());
    return square(scatter_add(x[0], 1, i, x[1])); });
  add1("index_select", {5, 4}, [](const V& x) {
    auto i = idx<T>({4, 0, 0, 2, 3, 3, 1}, {7}, x[0].device());
    return square(index_select(x[0], 0, i)); });
  add2("index_add", {5, 4}, {5, 3}, [](const V& x) {
    auto i = idx<T>({1, 1, 3}, {3}, x[0].device());
    return square(index_add(x[0], 1, i, x[1])); });
  add1("embedding", {10, 4}, [](const V& x) {
    auto i = idx<T>({9, 0, 3, 3, 7, 1}, {2, 3}, x[0].device());
    return square(embedding(x[0], i)); });
  add2("cat0", {2, 3}, {4, 3}, [](const V& x) { return square(cat<T>({x[0], x[1]}, 0)); });
  add2("cat1_t", {3, 2}, {3, 4}, [](const V& x) { return square(cat<T>({x[0].t().t(), x[1]}, 1)); });
  add2("stack", {3, 4}, {3, 4}, [](const V& x) { return square(stack<T>({x[0], x[1]}, 1)); });
  add1("pad", {3, 4}, [](const V& x) { return square(pad(x[0], {1, 2, 0, 1}, T(0.5))); });
  add1("slice_step", {6, 9}, [](const V& x) { return square(x[0].slice(1, 1, 8, 3)); });
  add1("narrow_select", {6, 9}, [](const V& x) { return square(x[0].narrow(0, 1, 3).select(1, 4)); });
  add1("permute_reshape", {2, 3, 4}, [](const V& x) {
    return square(x[0].permute({2, 0, 1}).reshape({4, 6})); });
  add1("sort", {5, 8}, [](const V& x) { return square(sort(x[0], -1).first); });
  add1("sort_desc_dim0", {8, 5}, [](const V& x) { return square(sort(x[0], 0, true).first); });
  add1("topk", {5, 8}, [](const V& x) { return square(topk(x[0], 3, 1).first); });
  return c;
}

struct OpStats { int values = 0, first = 0, second = 0; };

template <class T>
void run_op_case(const Case<T>& k, Generator& gen, OpStats& st) {
  std::vector<Tensor<T>> xc, xg;
  for (const Shape& s : k.shapes) {
    Tensor<T> h = rnd<T>(s, gen, k.lo, k.hi);
    xc.push_back(h.clone().requires_grad_());
    xg.push_back(h.to(kCuda).requires_grad_());
  }
  const std::string nm = std::string("op.") + k.name;
  Tensor<T> yc = k.f(xc), yg = k.f(xg);
  REQUIRE(yg.device() == kCuda);
  CHECK_MESSAGE(close(host(yg), yc.to_vector(), nm + " value", k.tol), k.name, " value");
  ++st.values;
  if (!yc.requires_grad()) return;
  // first order: g = d<y, v>/dx
  Tensor<T> v = rnd<T>(yc.shape(), gen);
  auto gc = grad({sum(mul(yc, v))}, xc, {}, true, true);
  auto gg = grad({sum(mul(yg, v.to(kCuda)))}, xg, {}, true, true);
  for (size_t i = 0; i < xc.size(); ++i) {
    CHECK(gc[i].defined() == gg[i].defined());
    if (gc[i].defined() && gg[i].defined()) {
      REQUIRE(gg[i].device() == kCuda);
      CHECK_MESSAGE(close(host(gg[i]), gc[i].to_vector(), nm + " grad", k.tol), k.name,
                    " grad of input ", i);
    }
  }
  ++st.first;
  // second order: d<g, w>/dx (Hessian-vector product)
  Tensor<T> mc, mg;
  for (size_t i = 0; i < xc.size(); ++i) {
    if (!gc[i].defined() || !gc[i].requires_grad()) continue;
    Tensor<T> w = rnd<T>(xc[i].shape(), gen);
    Tensor<T> tc = sum(mul(gc[i], w)), tg = sum(mul(gg[i], w.to(kCuda)));
    mc = mc.defined() ? add(mc, tc) : tc;
    mg = mg.defined() ? add(mg, tg) : tg;
  }
  if (!mc.defined()) return;
  REQUIRE(mg.defined());
  REQUIRE(mg.requires_grad());
  auto hc = grad({mc}, xc, {}, false, true);
  auto hg = grad({mg}, xg, {}, false, true);
  for (size_t i = 0; i < xc.size(); ++i) {
    std::vector<T> a = hg[i].defined() ? host(hg[i]) : std::vector<T>(xc[i].numel(), T(0));
    std::vector<T> b = hc[i].defined() ? hc[i].to_vector() : std::vector<T>(xc[i].numel(), T(0));
    CHECK_MESSAGE(close(a, b, nm + " grad2", k.tol * 2), k.name, " second-order grad of input ", i);
  }
  ++st.second;
}

template <class T>
OpStats run_op_cases() {
  Generator gen(1234);
  OpStats st;
  for (const auto& k : op_cases<T>()) {
    CAPTURE(k.name);
    run_op_case(k, gen, st);
  }
  return st;
}

// ============================================================================================
// 3. dataset distillation: hypergradient through one differentiable SGD step
// ============================================================================================
template <class T>
Tensor<T> mlp(const Tensor<T>& x, const std::vector<Tensor<T>>& p) {
  return linear(tanh(linear(x, p[0], p[1])), p[2], p[3]);
}


// returns (outer loss, d outer / d synthetic images, d outer / d lr)
template <class T>
std::vector<std::vector<T>> distill_step(Device d) {
  Generator gen(77);
  const int64_t D = 6, H = 16, C = 3, Ns = 6, Nr = 32;
  std::vector<Tensor<T>> params = {rnd<T>({H, D}, gen, -0.5, 0.5), rnd<T>({H}, gen, -0.1, 0.1),
                                   rnd<T>({C, H}, gen, -0.5, 0.5), rnd<T>({C}, gen, -0.1, 0.1)};
  for (auto& p : params) p = p.to(d).requires_grad_();
  Tensor<T> xs = rnd<T>({Ns, D}, gen).to(d).requires_grad_();  // the distilled data
  Tensor<T> lr = Tensor<T>::scalar(T(0.3)).to(d).requires_grad_();
  std::vector<int64_t> ys_v(Ns), yr_v(Nr);
  for (int64_t i = 0; i < Ns; ++i) ys_v[i] = i % C;
  for (auto& e : yr_v) e = gen.randint(C);
  IndexTensor ys = IndexTensor::from_vector(ys_v).to(d), yr = IndexTensor::from_vector(yr_v).to(d);
  Tensor<T> xr = rnd<T>({Nr, D}, gen).to(d);
  // inner step on the synthetic set, kept differentiable
  Tensor<T> inner = cross_entropy(mlp(xs, params), ys);
  auto g = grad({inner}, params, {}, /*create_graph=*/true);
  std::vector<Tensor<T>> p1;
  for (size_t i = 0; i < params.size(); ++i) p1.push_back(sub(params[i], mul(lr, g[i])));
  // outer loss on real data, differentiated back to the synthetic images and the lr
  Tensor<T> outer = cross_entropy(mlp(xr, p1), yr);
  auto hyper = grad({outer}, {xs, lr});
  return {outer.to(kCpu).to_vector(), host(hyper[0]), host(hyper[1])};
}

}  // namespace

// ---- the test cases ----------------------------------------------------------------------------
TEST_CASE("cuda: backend registered, device present (else exit 77 = skipped)") {
  REQUIRE(cuda_available());  // registered at static init (whole-archive link)
  if (!cuda_device_present()) {
    std::printf("SKIPPED: no CUDA device (the backend is registered and linked)\n");
    std::fflush(stdout);
    std::_Exit(77);
  }
  std::printf("CUDA device: %s\n", cuda_device_name());
}

TEST_CASE("cuda: round trip, allocator cache, errors name the op") {
  auto x = TensorF::arange(10).to(kCuda);
  CHECK(x.is_cuda());
  CHECK(x.to(kCpu).to_vector() == TensorF::arange(10).to_vector());
  auto before = cuda_memory_info();
  for (int i = 0; i < 100; ++i) { auto t = TensorF::empty({1000, 37}, kCuda); (void)t; }
  CHECK(cuda_memory_info().cuda_mallocs <= before.cuda_mallocs + 1);  // cached after the first
  // out-of-range gather: thrown as distillery::Error naming the op at the next synchronisation
  auto y = TensorD::rand({3, 4}).to(kCuda);
  auto bad = IndexTensor::from_vector({0, 9, 1}, {3, 1}).to(kCuda);
  bool thrown = false;
  try {
    auto z = gather(y, 1, bad);
    (void)z.to(kCpu).to_vector();
  } catch (const Error& e) {
    thrown = std::string(e.what()).find("gather") != std::string::npos;
  }
  CHECK(thrown);
  // the flag is cleared: the next op works
  CHECK(gather(y, 1, IndexTensor::zeros({3, 1}).to(kCuda)).to(kCpu).numel() == 3);
  // an impossible allocation reports the op and the CUDA error
  std::string msg;
  try { auto huge = TensorF::empty({int64_t(1) << 45}, kCuda); } catch (const Error& e) { msg = e.what(); }
  CHECK(msg.find("allocate") != std::string::npos);
  CHECK(msg.find("out of memory") != std::string::npos);
}

TEST_CASE_TEMPLATE("cuda parity: kernels", T, float, double) {
  Generator gen(42);
  kernel_unary_binary<T>(gen);
  kernel_reduce_softmax_sort<T>(gen);
  kernel_gemm<T>(gen);
  kernel_index_conv<T>(gen);
}

TEST_CASE_TEMPLATE("cuda parity: ops, first and second order", T, float, double) {
  OpStats st = run_op_cases<T>();
  std::printf("op parity %s: %d cases, %d with 1st-order, %d with 2nd-order gradients\n",
              tname(T()), st.values, st.first, st.second);
  CHECK(st.values >= 75);
}

TEST_CASE_TEMPLATE("cuda parity: dataset-distillation hypergradient", T, float, double) {
  auto c = distill_step<T>(kCpu);
  auto g = distill_step<T>(kCuda);
  CHECK(close(g[0], c[0], "distill outer_loss", 10));
  CHECK(close(g[1], c[1], "distill d_outer/d_synthetic", 10));
  CHECK(close(g[2], c[2], "distill d_outer/d_lr", 10));
  double n = 0;
  for (T v : c[1]) n += double(v) * double(v);
  CHECK(n > 0);  // the hypergradient is not trivially zero
}

TEST_CASE("cuda parity: summary") {
  cuda_synchronize();
  std::printf("%-28s %6s %12s\n", "family", "checks", "worst err/rtol");
  for (auto& kv : summary())
    std::printf("%-28s %6d %12.3g\n", kv.first.c_str(), kv.second.first,
                kv.second.second / (kv.first.find("f32") != std::string::npos ? Tol<float>::rtol
                                                                              : Tol<double>::rtol));
}
