// losses/common.hpp — what every loss family shares: the convention enums, input checks, the
// safe L2 normalisation, elementwise matching losses, and the machinery of fused losses.
//
// Fused losses. A hot loss (KD, CKD relations, RKD angle) has two paths that compute the same
// number:
//   composed  built from differentiable ops, so gradients of any order work (create_graph);
//   fused     one custom node: its forward runs a dedicated kernel through the kernel table
//             (CPU: backend/cpu/kd_kernel.hpp, relation_kernels.hpp) that computes the loss AND
//             the analytic gradient of the student in the same pass (no intermediate graph); its backward rule only scales
//             that saved gradient by the upstream scalar (or hands it out as is when that is 1).
// Rule (LossPath::automatic, the default): the fused path is taken whenever the loss has a fused
// kernel for the requested OPTIONS on the tensors' device (the kernel table's optional slots:
// CPU backend/cpu/, CUDA cuda/kernels_loss.cu); otherwise the composed one.
// The choice never depends on requires_grad or grad mode, so values are identical bit for bit
// with or without a graph. If a fused node is later differentiated with create_graph=true, its
// backward rule notices (grad mode is on while the rule runs) and falls back to the composed
// formula: it rebuilds the composed loss on fresh leaves aliasing the saved inputs,
// differentiates it with create_graph, and re-points those leaves at the real inputs (`relink`),
// so second and higher orders stay exact. The nested sweep only ever sees the fresh sub-graph,
// never the outer graph's bookkeeping. A retained graph swept a second time after the saved
// gradient was handed out also takes the composed route (without a graph).
// LossPath::fused / LossPath::composed force a path (fused throws where no kernel exists).
#pragma once
#include <cmath>
#include <functional>
#include <limits>
#include <vector>

#include "../backend/loss_math.hpp"
#include "../ops/loss.hpp"
#include "../ops/tensor_methods.hpp"

namespace distillery::losses {

// Which implementation a hot loss uses (see the header comment).
enum class LossPath { automatic, fused, composed };

// Whether the teacher side receives gradient. Every teacher-taking loss detaches by default.
enum class TeacherGrad { detach, keep };

// The name of a MatchLoss (CKD's `lossfunc`: |d|, d², smooth-L1 (β = 1) or KL t·(log t − s);
// the enum and its scalar arithmetic live in backend/loss_math.hpp).
inline const char* match_loss_name(MatchLoss m) {
  switch (m) {
    case MatchLoss::kldiv:
      return "kldiv";
    case MatchLoss::l1:
      return "l1";
    case MatchLoss::l2:
      return "l2";
    case MatchLoss::smooth_l1:
      return "smooth_l1";
  }
  return "?";
}

// kNormEps (the clamp of F.normalize / the reference pdist) and MatchLoss live in
// backend/loss_math.hpp with the scalar arithmetic the CPU and CUDA kernels share.

namespace detail {

// Which relation terms a fused pass computes (backend/loss_math.hpp).
using RelationTerms = RelationSpec;

// Prints a tensor's shape, or "(undefined)"; lazy, so error messages may name any input.
template <class T>
struct ShapeOf {
  const Tensor<T>& t;
};
template <class T>
void format_part(std::string& out, const ShapeOf<T>& s) {
  out += s.t.defined() ? s.t.shape().str() : std::string("(undefined)");
}
template <class T>
ShapeOf<T> shape_of(const Tensor<T>& t) {
  return {t};
}

template <class T>
void check_temperature(double temperature, const char* loss) {
  check(temperature > 0 && std::isfinite(temperature), loss,
        "temperature must be positive and finite, got ", temperature);
}

template <class T>
void check_logits_pair(const Tensor<T>& s, const Tensor<T>& t, const char* loss) {
  check_inputs(loss, s, t);  // "<loss>: undefined tensor"
  check(s.dim() == 2 && s.shape() == t.shape(), loss, "student logits ", shape_of(s),
        " and teacher logits ", shape_of(t), " must both be [N, C] with the same shape");
}

template <class T>
void check_labels(const Tensor<T>& logits, const Tensor<int64_t>& labels, const char* loss) {
  check_inputs(loss, logits, labels);
  check(labels.defined() && logits.defined() && labels.dim() == 1 && logits.dim() == 2 &&
            labels.shape()[0] == logits.shape()[0],
        loss, "labels ", shape_of(labels), " must be [N] for logits ", shape_of(logits));
}

template <class T>
void check_alpha(double alpha, const char* loss) {
  check(alpha >= 0 && alpha <= 1, loss, "alpha must be in [0, 1], got ", alpha);
}

template <class T>
Tensor<T> teacher_side(const Tensor<T>& t, TeacherGrad g) {
  return g == TeacherGrad::detach ? t.detach() : t;
}

// x / max(‖x‖₂, eps) along `dim` — F.normalize. Written as x · rsqrt(max(Σx², eps²)) so that the
// zero vector maps to 0 with finite derivatives of every order (sqrt'(0) is never evaluated).
template <class T>
Tensor<T> l2_normalize(const Tensor<T>& x, int64_t dim, double eps = kNormEps) {
  Tensor<T> ss = sum(square(x), {dim}, true);
  return mul(x, rsqrt(clamp_min(ss, T(eps * eps))));
}

// Squared distances between the rows of x [..., m, d] as the reference pdist computes them:
// ‖a‖² + ‖b‖² − 2ab clamped at 1e-12 (the diagonal is NOT zeroed here; see zero_diagonal).
template <class T>
Tensor<T> clamped_squared_distance(const Tensor<T>& x) {
  Tensor<T> sq = sum(square(x), {-1}, true);         // [..., m, 1]
  Tensor<T> prod = matmul(x, transpose(x, -1, -2));  // [..., m, m]
  return clamp_min(sub(add(sq, transpose(sq, -1, -2)), mul_scalar(prod, T(2))), T(1e-12));
}

// d [..., m, m] with the diagonal set to exactly 0 (value and gradient), as `d[range, range] = 0`.
template <class T>
Tensor<T> zero_diagonal(const Tensor<T>& d) {
  const int64_t m = d.shape()[d.dim() - 1];
  std::vector<T> off_diagonal(m * m, T(1));
  for (int64_t i = 0; i < m; ++i) off_diagonal[i * m + i] = T(0);
  return mul(d, Tensor<T>::from_vector(off_diagonal, Shape{m, m}, d.device()));
}

// Elementwise matching loss e(s, t) of the MatchLoss family (no reduction).
template <class T>
Tensor<T> match_elements(const Tensor<T>& s, const Tensor<T>& t, MatchLoss f) {
  switch (f) {
    case MatchLoss::l1:
      return abs(sub(s, t));
    case MatchLoss::l2:
      return square(sub(s, t));
    case MatchLoss::smooth_l1:
      return smooth_l1_loss(s, t, Reduction::none, 1.0);
    case MatchLoss::kldiv:
      return kl_div(s, t, Reduction::none, false);
  }
  return s;
}

// Scalar versions for the fused kernels: match_value / match_grad (backend/loss_math.hpp).

// ---- fused losses ---------------------------------------------------------------------------
template <class T>
using ComposedLoss = std::function<Tensor<T>(const std::vector<Tensor<T>>&)>;

// Turns the accumulator node of a fresh leaf into an identity edge to `target`, so a graph built
// on the leaf differentiates into `target` (see the header comment).
template <class T>
void relink(const Tensor<T>& leaf, const Tensor<T>& target) {
  const auto& n = leaf.impl()->node;
  if (!n || !n->is_leaf) return;
  n->is_leaf = false;
  n->leaf.reset();
  n->name = "fused_relink";
  n->next = {grad_edge(target)};
  n->backward = [](const Tensor<T>& g) { return std::vector<Tensor<T>>{g}; };
}

// The fallback route of a fused node: d(composed)/d(inputs) · g. With create_graph it is a
// differentiable graph (the leaves are relinked to the real inputs); without, plain tensors.
template <class T>
std::vector<Tensor<T>> composed_gradients(const std::vector<Tensor<T>>& inputs, const Tensor<T>& g,
                                          const ComposedLoss<T>& composed, bool create_graph) {
  GradModeGuard building(true);  // the composed forward must record its graph
  std::vector<Tensor<T>> args, leaves;
  std::vector<size_t> which;
  for (size_t i = 0; i < inputs.size(); ++i) {
    Tensor<T> a = inputs[i].defined() ? inputs[i].detach() : inputs[i];
    if (inputs[i].defined() && inputs[i].requires_grad()) {
      a.requires_grad_();
      leaves.push_back(a);
      which.push_back(i);
    }
    args.push_back(a);
  }
  std::vector<Tensor<T>> out(inputs.size());
  if (leaves.empty()) return out;
  Tensor<T> loss = composed(args);
  auto gs = grad<T>(std::vector<Tensor<T>>{loss}, leaves, std::vector<Tensor<T>>{g}, create_graph,
                    /*allow_unused=*/true);
  for (size_t k = 0; k < leaves.size(); ++k) {
    if (create_graph) relink(leaves[k], inputs[which[k]]);
    out[which[k]] = gs[k];
  }
  return out;
}

// s · x for a contiguous tensor, one kernel call (no graph, no broadcasting machinery).
template <class T>
Tensor<T> scaled_copy(const Tensor<T>& x, T s) {
  Tensor<T> out = Tensor<T>::empty(x.shape(), x.device());
  kernels<T>(x.device()).unary(UnaryOp::mul_scalar, x.data_ptr(), out.data_ptr(), x.numel(), s,
                               T(0));
  return out;
}

// Wraps a fused result: `value` is the loss, grads[i] its gradient w.r.t. inputs[i] (undefined
// where inputs[i] needs none), `composed` the same loss built from ops. First-order backward
// scales the saved gradients by the upstream scalar (handing them out as they are when it is 1;
// a retained graph swept a second time then takes the composed route, so the handed-out buffers
// may be modified freely); under create_graph the rule takes the composed route with a graph.
// `value` is a 0-dim tensor on the inputs' device (a device kernel wrote it: no host round trip).
template <class T>
Tensor<T> fused_scalar_loss(const char* name, Tensor<T> value, const std::vector<Tensor<T>>& inputs,
                            const std::vector<Tensor<T>>& grads, ComposedLoss<T> composed) {
  Tensor<T> out = std::move(value);
  bool any = false;
  for (const auto& x : inputs) any = any || (x.defined() && x.requires_grad());
  if (!any || !is_grad_enabled()) return out;
  struct State {
    std::vector<Tensor<T>> grads;
    bool handed_out = false;
  };
  auto state = std::make_shared<State>(State{grads, false});
  std::vector<Tensor<T>> kept;  // the rule's handles: never the leaves themselves (saved_input)
  for (const auto& x : inputs) kept.push_back(saved_input(x));
  auto node = std::make_shared<Node<T>>();
  node->name = name;
  for (const auto& x : inputs)
    node->next.push_back(x.defined() && x.requires_grad() ? grad_edge(x) : nullptr);
  auto with_graph = [inputs = kept, composed](const Tensor<T>& g) {
    return composed_gradients(inputs, g, composed, true);
  };
  auto first_order = [inputs = kept, state, composed](const Tensor<T>& g) {
    if (state->handed_out) return composed_gradients(inputs, g, composed, false);
    std::vector<Tensor<T>> r(inputs.size());
    if (g.device() != Device::cpu) {  // scale on the device, without reading g back
      for (size_t i = 0; i < inputs.size(); ++i)
        if (inputs[i].defined() && inputs[i].requires_grad() && state->grads[i].defined())
          r[i] = mul(state->grads[i], g);
      return r;
    }
    const T gv = g.item();
    for (size_t i = 0; i < inputs.size(); ++i)
      if (inputs[i].defined() && inputs[i].requires_grad() && state->grads[i].defined())
        r[i] = gv == T(1) ? state->grads[i] : scaled_copy(state->grads[i], gv);
    if (gv == T(1)) state->handed_out = true;
    return r;
  };
  node->backward = fused_or_composed<T>(first_order, with_graph);
  node->shape = out.shape();
  out.impl()->requires_grad = true;
  out.impl()->node = std::move(node);
  return out;
}
template <class T>
Tensor<T> fused_scalar_loss(const char* name, double value, const std::vector<Tensor<T>>& inputs,
                            const std::vector<Tensor<T>>& grads, ComposedLoss<T> composed) {
  return fused_scalar_loss<T>(name, Tensor<T>::scalar(T(value), inputs[0].device()), inputs, grads,
                              std::move(composed));
}

// True when `path` selects the fused kernel; `supported` says whether one exists for the options.
template <class T>
bool use_fused(LossPath path, bool supported, const Tensor<T>& x, const char* loss) {
  if (path == LossPath::composed) return false;
  const bool ok = supported && kernels<T>(x.device()).has_fused_losses();
  check(ok || path != LossPath::fused, loss,
        "no fused kernel for these options/device; use "
        "LossPath::automatic or LossPath::composed");
  return ok;
}

// A 0/1 validity mask [B, n] as a host vector (nonzero = valid), shape-checked.
template <class T>
std::vector<T> host_mask(const Tensor<T>& mask, int64_t B, int64_t n, const char* loss) {
  if (!mask.defined()) return std::vector<T>(B * n, T(1));
  check(mask.shape() == Shape{B, n}, loss, "mask ", shape_of(mask), " must be [B, n] = [", B, ", ",
        n, "]");
  std::vector<T> m = mask.to_vector();
  for (auto& v : m) v = v != T(0) ? T(1) : T(0);
  return m;
}

}  // namespace detail
}  // namespace distillery::losses
