// tests/cuda/test_cuda_ops_table.cpp — the whole op table (tests/ops/table_*.hpp) on the GPU.
//
// Every entry of the table-driven harness runs on the CPU and on CUDA with the same inputs, in
// float and double, with contiguous, transposed and strided (NaN-gapped) inputs, and the two
// devices must agree on the value, the first-order gradient and the Hessian-vector product
// (create_graph). Index constants (dtest::ids) are made on the device being evaluated; an entry
// that still mixes devices is counted and listed as skipped. Without a CUDA device the
// executable exits 77 (skipped).
#include <distillery/cuda.hpp>
#include <distillery/distillery.hpp>

#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "../ops/harness.hpp"
#include "../ops/table_elementwise.hpp"
#include "../ops/table_loss.hpp"
#include "../ops/table_index.hpp"
#include "../ops/table_linalg.hpp"
#include "../ops/table_nn_functional.hpp"
#include "../ops/table_reduce.hpp"
#include "../ops/table_view.hpp"
#include "../losses/table_losses.hpp"

namespace {
using namespace dtest;
using distillery::Device;

// make_input's tensor (CPU) rebuilt over a device copy of its whole buffer: same view geometry.
template <class T>
Tensor<T> input_on(const std::vector<double>& vals, const Shape& s, Layout l, Device d) {
  Tensor<T> x = make_input<T>(vals, s, l);
  if (d == Device::cpu) return x;
  const int64_t n = static_cast<int64_t>(x.impl()->storage->bytes() / sizeof(T));
  Tensor<T> base = x.alias(Shape{n}, Shape{1}, 0).to(d);
  return base.alias(x.shape(), x.strides(), x.storage_offset());
}

template <class T>
std::vector<double> host_values(const Tensor<T>& t) {
  return values_of(t.to(Device::cpu));
}

// harness::evaluate with a device (value, ∇(Σ f·w), ∇(∇(Σ f·w)·v)).
template <class T>
Result evaluate_on(const Entry& e, const Vals& in, Layout layout, Device dev,
                   const std::vector<double>& w, const Vals& v) {
  struct IdsOn {  // index constants (dtest::ids) on `dev` while this evaluation runs
    Device saved = ids_device();
    explicit IdsOn(Device d) { ids_device() = d; }
    ~IdsOn() { ids_device() = saved; }
  } ids_on(dev);
  Inputs<T> xs, diff;
  for (size_t i = 0; i < in.size(); ++i) {
    Tensor<T> x = input_on<T>(in[i], e.shapes[i], layout, dev);
    if (e.differentiable && !e.hint(i).constant) {
      x.requires_grad_();
      diff.push_back(x);
    }
    xs.push_back(x);
  }
  Tensor<T> out = e.fn(xs);
  Result r;
  r.shape = out.shape();
  r.value = host_values(out);
  if (!e.differentiable) return r;
  if (out.device() != dev) throw distillery::Error("output on the wrong device");
  auto zeros_like = [](const Tensor<T>& t) { return std::vector<double>(t.numel(), 0.0); };
  std::vector<T> wt(w.begin(), w.end());
  Tensor<T> loss = distillery::sum(out * Tensor<T>::from_vector(wt, out.shape()).to(dev));
  Inputs<T> gs = distillery::grad<T>({loss}, diff, {}, true, true);
  for (size_t i = 0; i < diff.size(); ++i)
    r.grad.push_back(gs[i].defined() ? host_values(gs[i]) : zeros_like(diff[i]));
  Tensor<T> s;
  for (size_t i = 0; i < diff.size(); ++i) {
    if (!gs[i].defined() || !gs[i].requires_grad()) continue;
    std::vector<T> vt(v[i].begin(), v[i].end());
    Tensor<T> term = distillery::sum(gs[i] * Tensor<T>::from_vector(vt, gs[i].shape()).to(dev));
    s = s.defined() ? s + term : term;
  }
  Inputs<T> hs;
  if (s.defined()) hs = distillery::grad<T>({s}, diff, {}, false, true);
  for (size_t i = 0; i < diff.size(); ++i)
    r.hvp.push_back(i < hs.size() && hs[i].defined() ? host_values(hs[i]) : zeros_like(diff[i]));
  return r;
}

struct Tally { int entries = 0, runs = 0, skipped = 0; std::string skipped_names; };

template <class T>
void compare_devices(const Entry& e, const Vals& in, const std::vector<double>& w, const Vals& v,
                     Report& rep, double tol) {
  for (Layout l : {Layout::contiguous, Layout::transposed, Layout::strided}) {
    bool any = l == Layout::contiguous;
    for (const auto& s : e.shapes) any = any || layout_applies(s, l);
    if (!any || (!e.layouts && l != Layout::contiguous)) continue;
    const std::string tag = std::string(sizeof(T) == 4 ? "f32 " : "f64 ") + layout_name(l) + ": ";
    Result c = evaluate_on<T>(e, in, l, Device::cpu, w, v);
    Result g = evaluate_on<T>(e, in, l, Device::cuda, w, v);
    if (c.shape != g.shape) rep.failures.push_back(tag + "output shapes differ");
    compare(rep, tag + "cuda value vs cpu", g.value, c.value, tol, tol);
    for (size_t i = 0; i < c.grad.size(); ++i) {
      compare(rep, tag + "cuda gradient vs cpu, input " + std::to_string(i), g.grad[i],
              c.grad[i], tol, tol);
      compare(rep, tag + "cuda Hessian-vector vs cpu, input " + std::to_string(i), g.hvp[i],
              c.hvp[i], 10 * tol, 10 * tol);
    }
  }
}

void run_family(void (*fill)(Table&), Tally& tally) {
  Table t;
  fill(t);
  for (const Entry& e : t.entries) {
    ++tally.entries;
    Report rep;
    rep.label = e.label();
    try {
      Generator gen(20240601 ^ fnv1a(e.label()));
      const Vals in = generate_inputs(e, gen);
      std::vector<double> w;
      Vals v;
      // w needs the output size: one value-only evaluation on the CPU first
      {
        Entry ve = e;
        ve.differentiable = false;
        Result r = evaluate_on<double>(ve, in, Layout::contiguous, Device::cpu, {}, {});
        w = normals(gen, r.value.size());
        for (size_t i = 0; i < in.size(); ++i)
          if (!e.hint(i).constant) v.push_back(normals(gen, in[i].size()));
      }
      compare_devices<double>(e, in, w, v, rep, 1e-9);
      compare_devices<float>(e, in, w, v, rep, std::max(5 * e.float_tol, 1e-4));
      ++tally.runs;
    } catch (const std::exception& ex) {
      const std::string m = ex.what();
      // a CPU index tensor captured by the entry meets device inputs
      if (m.find("index on cpu") != std::string::npos ||
          m.find("different devices") != std::string::npos ||
          m.find("on cpu, input on cuda") != std::string::npos) {
        ++tally.skipped;
        tally.skipped_names += " " + e.op;
        continue;
      }
      rep.failures.push_back(std::string("threw: ") + m);
    }
    CHECK_MESSAGE(rep.ok(), rep.str());
  }
}

}  // namespace

TEST_CASE("cuda op table: device present (else exit 77 = skipped)") {
  REQUIRE(distillery::cuda_available());
  if (!distillery::cuda_device_present()) {
    std::printf("SKIPPED: no CUDA device\n");
    std::fflush(stdout);
    std::_Exit(77);
  }
}

TEST_CASE("cuda op table: every entry agrees with the CPU (value, 1st, 2nd order; 3 layouts)") {
  Tally tally;
  for (auto fill : {elementwise_entries, reduce_entries, view_entries, linalg_entries,
                    index_entries, nn_entries, loss_entries, response_entries,
                    feature_relation_entries, ckd_entries, transformer_kd_entries,
                    other_entries})
    run_family(fill, tally);
  std::printf("cuda op table: %d entries, %d compared on CPU and CUDA (f32+f64, all layouts), "
              "%d skipped (inputs on mixed devices):%s\n",
              tally.entries, tally.runs, tally.skipped, tally.skipped_names.c_str());
  CHECK(tally.runs > 0);
  CHECK_MESSAGE(tally.skipped == 0, "entries skipped:", tally.skipped_names);
}
