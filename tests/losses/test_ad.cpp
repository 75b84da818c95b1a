// tests/losses/test_ad.cpp — every loss through the op-test harness (tests/ops/harness.hpp):
// value vs float, first order and second order (Hessian-vector, create_graph) against central
// finite differences in double, non-contiguous inputs. Losses with a fused kernel appear twice,
// [fused] and [composed]; the fused one is differentiated twice through its create_graph route.
// Teacher inputs are constants (every loss detaches them), masks and labels are captured.
#include <distillery/distillery.hpp>

#include <doctest/doctest.h>

#include "table_losses.hpp"

namespace {
using namespace dtest;

void run(void (*fill)(Table&)) {
  Table t;
  fill(t);
  for (const Entry& e : t.entries) {
    Report r = check_entry(e);
    CHECK_MESSAGE(r.ok(), r.str());
  }
}

}  // namespace

TEST_CASE("loss harness: response") { run(response_entries); }
TEST_CASE("loss harness: feature and relation") { run(feature_relation_entries); }
TEST_CASE("loss harness: CKD") { run(ckd_entries); }
TEST_CASE("loss harness: PKD and TinyBERT-style") { run(transformer_kd_entries); }
TEST_CASE("loss harness: smoothing, DPD, dataset distillation") { run(other_entries); }
