// tests/ops/test_ops_table.cpp — every op through the table-driven harness (tests/ops/harness.hpp).
//
// The table lives in tests/ops/table_<family>.hpp, one statement per entry. This file runs each
// family, checks that the table and distillery::registered_ops() agree (an op registered without
// an entry fails here), and tests the harness itself: deliberately broken ops must be reported.
#include <distillery/distillery.hpp>
#include <distillery/ops/registry.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "harness.hpp"
#include "table_edge.hpp"
#include "table_elementwise.hpp"
#include "table_loss.hpp"
#include "table_index.hpp"
#include "table_linalg.hpp"
#include "table_nn_functional.hpp"
#include "table_reduce.hpp"
#include "table_view.hpp"

namespace {
using namespace dtest;

Table family(void (*fill)(Table&)) {
  Table t;
  fill(t);
  return t;
}

Table whole_table() {
  Table t;
  for (auto fill : {elementwise_entries, reduce_entries, view_entries, linalg_entries,
                    index_entries, nn_entries, loss_entries, large_entries, empty_entries})
    fill(t);
  return t;
}

void run(const Table& t) {
  for (const Entry& e : t.entries) {
    Report r = check_entry(e);
    CHECK_MESSAGE(r.ok(), r.str());
  }
}

}  // namespace

TEST_CASE("op table: elementwise") { run(family(elementwise_entries)); }
TEST_CASE("op table: reductions") { run(family(reduce_entries)); }
TEST_CASE("op table: views") { run(family(view_entries)); }
TEST_CASE("op table: linear algebra") { run(family(linalg_entries)); }
TEST_CASE("op table: indexing and joining") { run(family(index_entries)); }
TEST_CASE("op table: nn functional") { run(family(nn_entries)); }
TEST_CASE("op table: losses") { run(family(loss_entries)); }
TEST_CASE("op table: large tensors (threaded kernel paths)") { run(family(large_entries)); }
TEST_CASE("op table: empty tensors") { run(family(empty_entries)); }

TEST_CASE("op table: every registered op has an entry, every entry a registered op") {
  const Table t = whole_table();
  std::set<std::string> in_table, differentiable_in_table;
  for (const Entry& e : t.entries) {
    in_table.insert(e.op);
    if (e.differentiable) differentiable_in_table.insert(e.op);
  }
  const auto& ops = distillery::registered_ops();
  const auto& value_ops = distillery::registered_value_ops();
  const char* where = "' is registered (ops/registry.hpp) without an entry in tests/ops/table_*";
  for (const std::string& name : ops)
    CHECK_MESSAGE(differentiable_in_table.count(name) == 1, "op '" << name << where);
  for (const std::string& name : value_ops)
    CHECK_MESSAGE(in_table.count(name) == 1, "value op '" << name << where);
  std::set<std::string> registered(ops.begin(), ops.end());
  registered.insert(value_ops.begin(), value_ops.end());
  const auto& helpers = distillery::registered_helpers();
  registered.insert(helpers.begin(), helpers.end());
  CHECK_MESSAGE(registered.size() == ops.size() + value_ops.size() + helpers.size(),
                "a name is registered twice");
  for (const std::string& name : in_table) {
    const bool is_op = registered.count(name) == 1 &&
                       std::find(helpers.begin(), helpers.end(), name) == helpers.end();
    CHECK_MESSAGE(is_op,
                  "table entry for '" << name << "', which is not an op in ops/registry.hpp");
  }
  MESSAGE("op table: " << t.entries.size() << " entries, " << in_table.size()
                       << " distinct op names (" << ops.size() << " differentiable + "
                       << value_ops.size() << " value-only registered)");
}

// Public functions returning tensors in include/distillery/ops/*.hpp (outside namespace detail),
// read from the source: a new op nobody registered is caught here.
namespace {
// "name" when `line` starts (column 0) a function returning Tensor<..>, a pair of tensors or a
// vector of tensors: [inline] <type> name(   (std::regex trips GCC 12 warnings under ASan)
std::string tensor_function_name(std::string line) {
  if (line.rfind("inline ", 0) == 0) line = line.substr(7);
  bool typed = false;
  for (const char* prefix : {"Tensor<", "std::pair<Tensor<", "std::vector<Tensor<"})
    typed = typed || line.rfind(prefix, 0) == 0;
  if (!typed) return "";
  size_t i = 0;
  for (int depth = 0; i < line.size(); ++i) {  // skip the (templated) return type
    if (line[i] == '<') ++depth;
    if (line[i] == '>' && --depth == 0) break;
  }
  if (i + 1 >= line.size() || line[i + 1] != ' ') return "";
  size_t b = i + 2, e = b;
  while (e < line.size() && (std::isalnum(static_cast<unsigned char>(line[e])) || line[e] == '_'))
    ++e;
  return e > b && e < line.size() && line[e] == '(' ? line.substr(b, e - b) : "";
}

std::set<std::string> public_tensor_functions(const std::filesystem::path& ops_dir) {
  std::set<std::string> names;
  for (const auto& file : std::filesystem::directory_iterator(ops_dir)) {
    if (file.path().extension() != ".hpp") continue;
    std::ifstream in(file.path());
    bool in_detail = false;
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("namespace detail {", 0) == 0) in_detail = true;
      if (line.rfind("}  // namespace detail", 0) == 0) in_detail = false;
      const std::string name = in_detail ? "" : tensor_function_name(line);
      if (!name.empty()) names.insert(name);
    }
  }
  return names;
}
}  // namespace

TEST_CASE("op table: every public tensor function in ops/*.hpp is registered") {
  const char* env = std::getenv("DISTILLERY_SOURCE_DIR");
#ifdef DISTILLERY_SOURCE_DIR
  const std::string root = env ? env : DISTILLERY_SOURCE_DIR;
#else
  if (!env) {
    MESSAGE("DISTILLERY_SOURCE_DIR not set: source scan skipped");
    return;
  }
  const std::string root = env;
#endif
  const auto found = public_tensor_functions(root + "/include/distillery/ops");
  REQUIRE(found.size() > 50);  // the scan works
  std::set<std::string> known;
  for (const auto* list : {&distillery::registered_ops(), &distillery::registered_value_ops(),
                           &distillery::registered_helpers()})
    known.insert(list->begin(), list->end());
  const char* fix =
      "' is not in ops/registry.hpp: register it (and add a table entry) or "
      "list it as a helper";
  for (const std::string& name : found)
    CHECK_MESSAGE(known.count(name) == 1, "ops/*.hpp defines '" << name << fix);
}

// ---- harness self-test: broken ops must be caught ------------------------------------------
namespace broken {
using namespace distillery;

// x², with the rule scaled by 1.5 (3x instead of 2x).
template <class T>
Tensor<T> square_wrong_grad(const Tensor<T>& a) {
  Tensor<T> out = unary_raw(UnaryOp::square, a);
  if (needs_grad({&a}))
    attach<T>(out, "square_wrong_grad", {&a}, [a](const Tensor<T>& g) {
      return std::vector<Tensor<T>>{mul(g, mul_scalar(a, T(3)))};
    });
  return out;
}

// x², correct first order, but the rule detaches x, so its second order is zero (not 2).
template <class T>
Tensor<T> square_detached_rule(const Tensor<T>& a) {
  Tensor<T> out = unary_raw(UnaryOp::square, a);
  if (needs_grad({&a}))
    attach<T>(out, "square_detached_rule", {&a}, [a](const Tensor<T>& g) {
      return std::vector<Tensor<T>>{mul(g, mul_scalar(a.detach(), T(2)))};
    });
  return out;
}

// x², no graph recorded at all.
template <class T>
Tensor<T> square_no_graph(const Tensor<T>& a) {
  return unary_raw(UnaryOp::square, a);
}

// identity that copies numel() elements from data_ptr(), ignoring strides.
template <class T>
Tensor<T> copy_ignoring_strides(const Tensor<T>& a) {
  Tensor<T> out = Tensor<T>::empty(a.shape());
  std::copy(a.data_ptr(), a.data_ptr() + a.numel(), out.data_ptr());
  if (needs_grad({&a}))
    attach<T>(out, "copy_ignoring_strides", {&a},
              [](const Tensor<T>& g) { return std::vector<Tensor<T>>{g}; });
  return out;
}

// a + b whose rule forgets to undo broadcasting.
template <class T>
Tensor<T> add_without_unbroadcast(const Tensor<T>& a, const Tensor<T>& b) {
  Tensor<T> out = binary_raw(BinaryOp::add, a, b, "add_without_unbroadcast");
  if (needs_grad({&a, &b}))
    attach<T>(out, "add_without_unbroadcast", {&a, &b}, [](const Tensor<T>& g) {
      return std::vector<Tensor<T>>{g, g};
    });
  return out;
}
}  // namespace broken

TEST_CASE("harness self-test: a correct op passes every check") {
  Table t;
  const auto sq = ref::unary([](double v) { return v * v; });
  t.add("square", {{3, 4}}, FN(distillery::square(x[0]))).ref(sq);
  Report r = check_entry(t.entries[0]);
  CHECK_MESSAGE(r.ok(), r.str());
  CHECK(r.checks >= 8);  // value, 1st, create_graph, 2nd, float x3, layouts
}

TEST_CASE("harness self-test: broken ops are reported") {
  Table t;
  const auto sq = ref::unary([](double v) { return v * v; });
  t.add("wrong first order", {{3, 4}}, FN(broken::square_wrong_grad(x[0]))).ref(sq);
  t.add("wrong second order", {{3, 4}}, FN(broken::square_detached_rule(x[0]))).ref(sq);
  t.add("wrong value", {{3, 4}}, FN(distillery::exp(x[0]) * 1.001)).ref(ref::unary([](double v) {
    return std::exp(v);
  }));
  t.add("float-only bug", {{3, 4}},
        FN(std::is_same_v<T, float> ? distillery::mul_scalar(x[0], T(1.001)) : x[0] * 1.0));
  t.add("no graph", {{3, 4}}, FN(broken::square_no_graph(x[0])));
  t.add("ignores strides", {{3, 4}}, FN(broken::copy_ignoring_strides(x[0])));
  t.add("no unbroadcast", {{3, 4}, {4}}, FN(broken::add_without_unbroadcast(x[0], x[1])));
  t.add("value-only op records a graph", {{3, 4}}, FN(distillery::exp(x[0]))).values_only();
  const std::vector<std::string> expected = {
      "first-order gradient",     "second-order", "value vs reference", "float value", "threw",
      "transposed inputs: value", "threw",        "recorded a graph"};
  for (size_t i = 0; i < t.entries.size(); ++i) {
    Report r = check_entry(t.entries[i]);
    INFO(r.str());
    CHECK_MESSAGE(!r.ok(), t.entries[i].op << " was not caught");
    CHECK_MESSAGE(r.failed(expected[i]), t.entries[i].op << " not reported as " << expected[i]);
  }
  // the stride-blind copy also reads the NaN gaps of the strided layout
  CHECK(check_entry(t.entries[5]).failed("strided inputs: value"));
  // the wrong first order is not mistaken for a float or layout problem
  CHECK_FALSE(check_entry(t.entries[0]).failed("float"));
}

TEST_CASE("harness self-test: a kink in the inputs is what the generator hints avoid") {
  // |x| with inputs drawn away from 0 passes; the same entry with x = 0 exactly would not have a
  // derivative. Check that away_from_zero really keeps every value out of (-m, m).
  Table t;
  t.add("abs", {{50}}, FN(distillery::abs(x[0]))).gen(Gen().away_from_zero(0.3));
  Generator g(3);
  Vals v = generate_inputs(t.entries[0], g);
  for (double x : v[0]) CHECK(std::abs(x) >= 0.3);
  Table d;
  d.add("max", {{6}, {6}}, FN(x[0])).gen(Gen().distinct(0.1));
  Vals w = generate_inputs(d.entries[0], g);
  for (double a : w[0])
    for (double b : w[1]) CHECK(std::abs(a - b) >= 0.1);
}
