// losses/dataset_distill.hpp — the inner losses of (soft-label) dataset distillation
// (Wang et al. 2018; Sucholutsky & Schonlau, ilia10000/dataset-distillation).
//
//   soft_label_cross_entropy(z [N, C], ỹ [N, C], form, r)   −Σ_c ỹ'_c log softmax(z)_c per sample,
//                                                           ỹ' = ỹ (raw) or softmax(ỹ)
//   soft_label_binary_cross_entropy(z [N], ỹ [N], r)        BCE-with-logits against soft labels
//
// Conventions:
// * The labels are LEARNED: they keep their gradient (and the loss is differentiable to any order,
//   as the unrolled inner loop needs). LabelForm::raw uses ỹ as is — it may leave the simplex or go
//   negative (the reference default); LabelForm::softmax is the `--label_softmax` option.
// * Reductions: none → [N]; mean and batchmean → / N (the reference's mean over the batch); sum.
// * Binary tasks (C = 2 in the reference) use one logit per example; z and ỹ may be [N] or [N, 1].
#pragma once
#include "common.hpp"

namespace distillery::losses {

enum class LabelForm { raw, softmax };

template <class T>
Tensor<T> soft_label_cross_entropy(const Tensor<T>& logits, const Tensor<T>& labels, LabelForm form,
                                   Reduction reduction = Reduction::mean) {
  detail::check_logits_pair(logits, labels, "soft_label_cross_entropy");
  Tensor<T> p = form == LabelForm::softmax ? softmax(labels, 1) : labels;
  Tensor<T> per_sample = neg(sum(mul(p, log_softmax(logits, 1)), {1}));
  return reduce_loss(per_sample, reduction == Reduction::batchmean ? Reduction::mean : reduction);
}

template <class T>
Tensor<T> soft_label_binary_cross_entropy(const Tensor<T>& logits, const Tensor<T>& labels,
                                          Reduction reduction = Reduction::mean) {
  check_inputs("soft_label_binary_cross_entropy", logits, labels);
  check(logits.defined() && labels.defined() && logits.shape() == labels.shape() &&
            (logits.dim() == 1 || (logits.dim() == 2 && logits.shape()[1] == 1)),
        "soft_label_binary_cross_entropy", "logits ", detail::shape_of(logits), " and labels ",
        detail::shape_of(labels), " must both be [N] or [N, 1]");
  Tensor<T> l = binary_cross_entropy_with_logits(reshape(logits, Shape{-1}),
                                                 reshape(labels, Shape{-1}), Reduction::none);
  return reduce_loss(l, reduction == Reduction::batchmean ? Reduction::mean : reduction);
}

}  // namespace distillery::losses
