// ops/registry.hpp — the names of the public ops, for the op-test harness.
//
// registered_ops(): one name per differentiable public op function in ops/*.hpp (overloads
// share a name). registered_value_ops(): public ops that carry no gradient (masks, indices,
// graph-free helpers); they get value tests only. registered_helpers(): public building blocks
// for op authors that are not ops themselves (tested through the ops built on them).
//
// OP AUTHORS: when you add a public op, add its name here AND at least one entry for it in the
// op table (tests/ops/table_<family>.hpp). The test ops/ops_table fails for a name registered
// here without an entry, for an entry whose name is not registered here, and for a public
// function returning a tensor in ops/*.hpp (outside namespace detail) that is in none of the
// three lists. In-place writers (ops/inplace.hpp, returning void) are not ops.
#pragma once
#include <string>
#include <vector>

namespace distillery {

inline const std::vector<std::string>& registered_ops() {
  static const std::vector<std::string> names = {
      // ops/elementwise.hpp
      "add",
      "sub",
      "mul",
      "div",
      "pow",
      "maximum",
      "minimum",
      "where",
      "masked_fill",
      "neg",
      "add_scalar",
      "mul_scalar",
      "rsub_scalar",
      "pow_scalar",
      "square",
      "reciprocal",
      "exp",
      "log",
      "sqrt",
      "rsqrt",
      "abs",
      "sin",
      "cos",
      "relu",
      "leaky_relu",
      "sigmoid",
      "tanh",
      "erf",
      "gelu",
      "softplus",
      "log1p",
      "expm1",
      "clamp",
      "clamp_min",
      "clamp_max",
      // ops/reduce.hpp
      "sum",
      "sum_to",
      "mean",
      "var",
      "std_dev",
      "norm",
      "max",
      "min",
      "logsumexp",
      "sort",
      "topk",
      // ops/view.hpp
      "clone",
      "contiguous",
      "reshape",
      "view",
      "flatten",
      "permute",
      "transpose",
      "unsqueeze",
      "squeeze",
      "expand",
      "slice",
      "narrow",
      "select",
      "slice_scatter_zeros",
      // ops/linalg.hpp
      "matmul",
      "mm",
      "bmm",
      "outer",
      "linear",
      // ops/index.hpp
      "gather",
      "scatter_add",
      "index_select",
      "index_add",
      "embedding",
      "cat",
      "stack",
      "split",
      "chunk",
      "pad",
      // ops/nn_functional.hpp
      "softmax",
      "log_softmax",
      "layer_norm",
      "dropout",
      "unfold",
      "fold",
      "conv2d",
      "conv1d",
      "max_pool2d",
      "avg_pool2d",
      "adaptive_avg_pool2d",
      // ops/loss.hpp
      "reduce_loss",
      "nll_loss",
      "cross_entropy",
      "mse_loss",
      "l1_loss",
      "smooth_l1_loss",
      "huber_loss",
      "binary_cross_entropy_with_logits",
      "kl_div",
  };
  return names;
}

inline const std::vector<std::string>& registered_value_ops() {
  static const std::vector<std::string> names = {
      // ops/elementwise.hpp
      "gt",
      "ge",
      "lt",
      "le",
      "eq",
      "ne",
      "gt_scalar",
      "ge_scalar",
      "lt_scalar",
      "le_scalar",
      "eq_scalar",
      "ne_scalar",
      "sign",
      "step",
      // ops/reduce.hpp
      "argmax",
      "argmin",
      "argsort",
      "amax_detached",
  };
  return names;
}

inline const std::vector<std::string>& registered_helpers() {
  static const std::vector<std::string> names = {
      "raw_contiguous",                                         // ops/common.hpp
      "unary_raw",      "binary_raw", "unary_op", "binary_op",  // ops/elementwise.hpp
      "make_view",                                              // ops/view.hpp
      "arg_reduce",                                             // ops/reduce.hpp (argmax/argmin)
  };
  return names;
}

}  // namespace distillery
