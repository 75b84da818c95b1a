// losses/metric.hpp — the survey's distillation metric (Alkhulaifi, Alsahli, Ahmad 2021,
// "Knowledge Distillation in Deep Learning and its Applications", PeerJ CS 7:e474).
//
//   DS = α · (student_size / teacher_size) + (1 − α) · (1 − student_accuracy / teacher_accuracy)
//
// * α ∈ [0, 1] trades compression (first term) against accuracy retention (second term).
// * LOWER IS BETTER; 0 is ideal (a free student with the teacher's accuracy). The size term is
//   always ≥ 0; DS goes negative only through the accuracy term, i.e. when the student is more
//   accurate than the teacher.
// * Sizes in any one unit (parameters, bytes, or % of the teacher); accuracies in any one unit
//   (fraction or %), both measured on the same task.
// * Provenance: the formula is confirmed by a secondary source only (papers-verified.md §1a); the
//   worked example of §1b (α = 0.5, teacher 71.76 %) is a unit test. Check against the PeerJ
//   text before publishing numbers.
#pragma once
#include <cmath>

#include "../core/error.hpp"

namespace distillery::losses {

inline double distillation_score(double student_size, double teacher_size, double student_accuracy,
                                 double teacher_accuracy, double alpha) {
  check(alpha >= 0 && alpha <= 1, "distillation_score", "alpha must be in [0, 1], got ", alpha);
  check(teacher_size > 0 && student_size >= 0, "distillation_score",
        "sizes must be student >= 0 "
        "and teacher > 0, got ",
        student_size, " and ", teacher_size);
  check(teacher_accuracy > 0 && student_accuracy >= 0, "distillation_score",
        "accuracies must be "
        "student >= 0 and teacher > 0, got ",
        student_accuracy, " and ", teacher_accuracy);
  return alpha * (student_size / teacher_size) +
         (1 - alpha) * (1 - student_accuracy / teacher_accuracy);
}

}  // namespace distillery::losses
