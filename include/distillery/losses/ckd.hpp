// losses/ckd.hpp — Contextual Knowledge Distillation for transformers (Park, Kim, Yang 2021).
//
// Inputs are aligned hidden states H [B, L, n, d] (L = M+1 aligned layers incl. the embedding
// output, n tokens; teacher width dt and student width ds may differ) and an attention mask
// [B, n] (1 = real token; an undefined mask means all tokens are real).
//
//   layer_alignment(Lt+1, Ls+1, strategy)             aligned (teacher, student) layer indices
//   align_hidden_states(teacher_list, student_list, s) stacked [B, M+1, n, d] pair
//   word_relation_pair_loss(Hs, Ht, mask, ...)         WR pair: token–token relations per layer
//   word_relation_triple_loss(Hs, Ht, mask, f)         WR triple, all n³ angles (mask m_i m_j m_k)
//   word_relation_window_loss(Hs, Ht, mask, w, f)      WR triple in a window of w tokens per centre
//   layer_relation_pair_loss / layer_relation_triple_loss   LTR: layer–layer relations per token
//   ckd_loss(Hs, Ht, mask, weights, ...)               Σ weight · term (the logit term is separate)
//   ckd_logit_loss(z [N, C], v [N, C], T, task)         the reference's DistillKL: soft-CE at T
//                                                       (no T², no CE) or, for regression, MSE(z/T, v/T)
// The reference objective (GeondoPark/CKD glue_train.py with `kd`): ckd_logit_loss + ckd_loss.
//
// Conventions (GeondoPark/CKD loss.py, with its NaN cases made explicit):
// * Pair relations: RelationDistance::cosine S_ij = cos(h_i, h_j) turned into a row distribution
//   over the valid j ≠ i (teacher softmax, student log-softmax); ::l2 the Euclidean distance;
//   ::squared_l2 the squared distance — what the reference's distance="l2" really computes (its
//   pdist is called with squared=False, which skips the sqrt). Distances are clamped at 1e-12 and
//   0 on the diagonal; `normalize` divides by the mean positive entry per group (RKD style).
//   MatchLoss kldiv | l1 | l2 | smooth_l1 compares them elementwise; the sum runs over valid pairs
//   and is divided by the number of valid pairs INCLUDING the diagonal (Σ_groups (Σ_i m_i)²).
// * Padding: entries of padded rows/columns are explicitly 0 in both models (the reference makes
//   them NaN through softmax(−inf…)), as are rows with no valid partner; so appending padding
//   never changes a pair or full-triple loss.
// * Full triple: vertex-centred angles <u(h_j − h_i), u(h_k − h_i)>, u(0) = 0, denominator
//   Σ (Σ m)³. Window triple: angles <u(h_i − h_a), u(h_i − h_b)> over the w neighbour slots of
//   each valid centre, denominator Σ m_i · w² · L. Neighbours (PaddedNeighbours):
//   ::excluded (default) — slots r = (w − 1)/2 either side among the sequence's own real tokens,
//     replicated at its first/last real token, so no padded position is ever read: appending
//     padding (any content, student or teacher) changes no term and no gradient;
//   ::counted — the reference's clamp(i − r + p, 0, n − 1) to the padded length, padded
//     neighbours counting. Right only when both models produce real outputs at the pads (a
//     teacher run online on the same batch); against a cache holding zeros there it matches the
//     student's u(h_i − h_pad) to the teacher's u(h_i − 0).
// * LTR: the same recipes over the L layers of each token, mask = the token's validity; needs
//   all aligned layers of a model to share its width (true for stacked states).
// * The teacher is always detached.
// Fused path: cosine+kldiv pairs and every triple (l1/l2/smooth_l1) run in backend/cpu/relation_kernels.hpp:
// one Gram GEMM per group and model, m² / m·w² / m³ scalar loops, one backward GEMM; ckd_loss
// shares the Grams between the word terms. Memory O(B·L·n²) transient per thread, no n³ and no
// [n, w, d] differences. The composed window path stores O(B·L·n·w·d) differences and
// O(B·L·n·w²) angles; the composed full triple stores O(B·L·n²·d) (use it for small n).
#pragma once
#include <numeric>
#include <utility>

#include "relation.hpp"
#include "response.hpp"

namespace distillery::losses {

enum class RelationDistance { cosine, l2, squared_l2 };
enum class AlignmentStrategy { emb_skip, skip, last, final_layer, emb, emb_final, triple };
enum class WordTriple { full, window };
enum class PaddedNeighbours { excluded, counted };

// Aligned layer indices for teacher/student hidden-state lists of lengths Lt+1 and Ls+1
// (index 0 = embedding output). emb_skip: {0} ∪ {st, 2st, …, Lt} with st = Lt/gcd(Lt, Ls).
inline std::pair<std::vector<int64_t>, std::vector<int64_t>> layer_alignment(
    int64_t teacher_states, int64_t student_states, AlignmentStrategy strategy) {
  check(teacher_states >= 2 && student_states >= 2, "layer_alignment",
        "need at least 2 hidden "
        "states (embeddings + 1 layer) per model, got teacher ",
        teacher_states, " and student ", student_states);
  const int64_t Lt = teacher_states - 1, Ls = student_states - 1;
  std::vector<int64_t> t, s;
  switch (strategy) {
    case AlignmentStrategy::emb_skip:
    case AlignmentStrategy::skip: {
      const int64_t g = std::gcd(Lt, Ls), st = Lt / g, ss = Ls / g;
      if (strategy == AlignmentStrategy::emb_skip) {
        t.push_back(0);
        s.push_back(0);
      }
      for (int64_t k = 1; k <= g; ++k) {
        t.push_back(k * st);
        s.push_back(k * ss);
      }
      break;
    }
    case AlignmentStrategy::last:  // the reference hard-codes t[7:] (= this rule for 12 → 6)
      check(Lt >= Ls, "layer_alignment", "'last' needs a deeper teacher, got ", Lt, " < ", Ls);
      for (int64_t k = 1; k <= Ls; ++k) {
        t.push_back(Lt - Ls + k);
        s.push_back(k);
      }
      break;
    case AlignmentStrategy::final_layer:
      t = {Lt};
      s = {Ls};
      break;
    case AlignmentStrategy::emb:
      t = {0};
      s = {0};
      break;
    case AlignmentStrategy::emb_final:
      t = {0, Lt};
      s = {0, Ls};
      break;
    case AlignmentStrategy::triple:
      t = {0, Lt / 2, Lt};
      s = {0, Ls / 2, Ls};
      break;
  }
  return {t, s};
}

// Stacks the aligned states: lists of [B, n, d] tensors -> ([B, M+1, n, dt], [B, M+1, n, ds]).
template <class T>
std::pair<Tensor<T>, Tensor<T>> align_hidden_states(const std::vector<Tensor<T>>& teacher,
                                                    const std::vector<Tensor<T>>& student,
                                                    AlignmentStrategy strategy) {
  auto [ti, si] = layer_alignment(int64_t(teacher.size()), int64_t(student.size()), strategy);
  std::vector<Tensor<T>> t, s;
  for (int64_t i : ti) t.push_back(teacher[i]);
  for (int64_t i : si) s.push_back(student[i]);
  return {stack(t, 1), stack(s, 1)};
}

namespace detail {

template <class T>
void check_hidden(const Tensor<T>& s, const Tensor<T>& t, const Tensor<T>& mask, const char* loss) {
  check_inputs(loss, s, t);
  check(s.dim() == 4 && t.dim() == 4 && s.shape()[0] == t.shape()[0] &&
            s.shape()[1] == t.shape()[1] && s.shape()[2] == t.shape()[2],
        loss, "student hidden states ", detail::shape_of(s), " and teacher ", detail::shape_of(t),
        " must be [B, L, n, Ds] and [B, L, n, Dt] with the same B, L, n");
  if (mask.defined())
    check(mask.shape() == Shape{s.shape()[0], s.shape()[2]}, loss, "mask ", detail::shape_of(mask),
          " must be [B, n] = [", s.shape()[0], ", ", s.shape()[2], "]");
}

inline void check_angle_loss(MatchLoss f, const char* loss) {
  check(f != MatchLoss::kldiv, loss, "angles take l1, l2 or smooth_l1, not kldiv");
}

// Groups for the composed path: word -> x [B·L, n, d], mask [B·L, n]; layer -> [B·n, L, d].
template <class T>
Tensor<T> grouped(const Tensor<T>& x, bool layer) {
  const int64_t B = x.shape()[0], L = x.shape()[1], n = x.shape()[2], d = x.shape()[3];
  return layer ? reshape(permute(x, {0, 2, 1, 3}), Shape{B * n, L, d})
               : reshape(x, Shape{B * L, n, d});
}
// Expanded 0/1 mask: host vector (groups × points) and, for the composed path, a tensor.
template <class T>
std::vector<T> grouped_mask(const std::vector<T>& m, int64_t B, int64_t L, int64_t n, bool layer) {
  std::vector<T> out(B * L * n);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t l = 0; l < L; ++l)
      for (int64_t i = 0; i < n; ++i)
        out[layer ? (b * n + i) * L + l : (b * L + l) * n + i] = m[b * n + i];
  return out;
}
template <class T>
double mask_power_sum(const std::vector<T>& gm, int64_t points, int power) {
  double total = 0;
  for (size_t g = 0; g * points < gm.size(); ++g) {
    double c = 0;
    for (int64_t p = 0; p < points; ++p) c += double(gm[g * points + p]);
    total += std::pow(c, power);
  }
  return total;
}

// One model's pair relation matrix [G, m, m] (composed), zero outside the valid pairs.
template <class T>
Tensor<T> pair_relation(const Tensor<T>& x, const Tensor<T>& M, const Tensor<T>& valid,
                        const Tensor<T>& row_has, RelationDistance dist, bool normalize,
                        bool student) {
  const Tensor<T> zero = Tensor<T>::zeros({}, x.device());
  if (dist == RelationDistance::cosine) {
    Tensor<T> u = l2_normalize(x, -1);
    Tensor<T> S = matmul(u, transpose(u, -1, -2));
    Tensor<T> filled = where(valid, S, Tensor<T>::full({}, -std::numeric_limits<T>::infinity(), S.device()));
    filled = where(row_has, filled, zero);  // rows without a valid partner: finite, zeroed below
    return where(valid, student ? log_softmax(filled, -1) : softmax(filled, -1), zero);
  }
  Tensor<T> D = clamped_squared_distance(x);
  if (dist == RelationDistance::l2) D = sqrt(D);
  D = mul(zero_diagonal(D), M);
  if (!normalize) return D;
  Tensor<T> count = clamp_min(sum(gt_scalar(D.detach(), T(0)), {1, 2}, true), T(1));
  Tensor<T> mean = div(sum(D, {1, 2}, true), count);
  Tensor<T> one = Tensor<T>::ones({}, x.device());
  return div(D, where(eq_scalar(mean.detach(), T(0)), one, mean));
}

template <class T>
Tensor<T> pair_composed(const Tensor<T>& s, const Tensor<T>& t, const std::vector<T>& hm,
                        bool layer, RelationDistance dist, MatchLoss f, bool normalize) {
  Tensor<T> xs = grouped(s, layer), xt = grouped(t.detach(), layer);
  const int64_t G = xs.shape()[0], m = xs.shape()[1];
  Tensor<T> gm = Tensor<T>::from_vector(
      grouped_mask(hm, s.shape()[0], s.shape()[1], s.shape()[2], layer), Shape{G, m}, s.device());
  Tensor<T> M = mul(reshape(gm, Shape{G, m, 1}), reshape(gm, Shape{G, 1, m}));
  Tensor<T> valid = zero_diagonal(M);
  Tensor<T> row_has = gt_scalar(sum(valid, {2}, true), T(0));
  Tensor<T> rt;
  {
    NoGradGuard no_grad;
    rt = pair_relation(xt, M, valid, row_has, dist, normalize, false);
  }
  Tensor<T> rs = pair_relation(xs, M, valid, row_has, dist, normalize, true);
  const double den = mask_power_sum(gm.to_vector(), m, 2);
  return mul_scalar(sum(match_elements(rs, rt, f)), T(1.0 / std::max(den, 1.0)));
}

template <class T>
Tensor<T> triple_composed(const Tensor<T>& s, const Tensor<T>& t, const std::vector<T>& hm,
                          bool layer, MatchLoss f) {
  Tensor<T> xs = grouped(s, layer), xt = grouped(t.detach(), layer);
  const int64_t G = xs.shape()[0], m = xs.shape()[1];
  auto gv = grouped_mask(hm, s.shape()[0], s.shape()[1], s.shape()[2], layer);
  Tensor<T> gm = Tensor<T>::from_vector(gv, Shape{G, m}, s.device());
  return angle_match_composed(xs, xt, gm, f, mask_power_sum(gv, m, 3));
}

// Window neighbours x[N(i)_p] (window_table of each group's mask gv [G·n]) - differences
// x_i − x_N(i)_p, normalised, Gram per centre.
template <class T>
Tensor<T> window_angles(const Tensor<T>& x, const std::vector<T>& gv, int64_t w, bool counted) {
  const int64_t G = x.shape()[0], n = x.shape()[1], d = x.shape()[2];
  std::vector<int64_t> idx(G * n * w);
  for (int64_t g = 0; g < G; ++g) {
    window_table(gv.data() + g * n, n, w, counted, idx.data() + g * n * w);
    for (int64_t k = g * n * w; k < (g + 1) * n * w; ++k) idx[k] += g * n;
  }
  Tensor<T> nb = reshape(index_select(reshape(x, Shape{G * n, d}), 0,
                                      Tensor<int64_t>::from_vector(idx).to(x.device())),
                         Shape{G, n, w, d});
  Tensor<T> u = l2_normalize(sub(unsqueeze(x, 2), nb), -1);
  return matmul(u, transpose(u, -1, -2));  // [G, n, w, w]
}

template <class T>
Tensor<T> window_composed(const Tensor<T>& s, const Tensor<T>& t, const std::vector<T>& hm,
                          int64_t w, MatchLoss f, bool counted) {
  Tensor<T> xs = grouped(s, false), xt = grouped(t.detach(), false);
  const int64_t G = xs.shape()[0], n = xs.shape()[1];
  auto gv = grouped_mask(hm, s.shape()[0], s.shape()[1], s.shape()[2], false);
  Tensor<T> mc = Tensor<T>::from_vector(gv, Shape{G, n, 1, 1}, s.device());
  Tensor<T> at;
  {
    NoGradGuard no_grad;
    at = mul(window_angles(xt, gv, w, counted), mc);
  }
  Tensor<T> as = mul(window_angles(xs, gv, w, counted), mc);
  const double den = mask_power_sum(gv, n, 1) * double(w * w);
  return mul_scalar(sum(match_elements(as, at, f)), T(1.0 / std::max(den, 1.0)));
}

// Runs one fused relation pass (word or layer groups) and adds it to `grad` (may be null).
template <class T>
double fused_relation(const Tensor<T>& sc, const Tensor<T>& tc, const std::vector<T>& hm,
                      bool layer, const RelationTerms& terms, T* grad) {
  const int64_t B = sc.shape()[0], L = sc.shape()[1], n = sc.shape()[2];
  auto lay = layer ? layer_layout : word_layout;
  const std::vector<T> gm = grouped_mask(hm, B, L, n, layer);
  double value = 0;  // the CPU's kernel (backend/cpu/relation_kernels.hpp)
  check(kernels<T>(Device::cpu)
            .relation_points_fused(sc.data_ptr(), lay(B, L, n, sc.shape()[3]), tc.data_ptr(),
                                   lay(B, L, n, tc.shape()[3]), gm.data(), terms, &value, grad),
        "ckd", "the CPU kernel table has no relation kernel");
  return value;
}

// Shared driver of every CKD loss: terms for word groups and for layer groups, fused or composed.
template <class T>
Tensor<T> ckd_terms(const char* name, const char* fused_name, const Tensor<T>& s,
                    const Tensor<T>& t, const Tensor<T>& mask, const std::vector<T>& hm,
                    RelationTerms word,
                    RelationTerms layer, bool supported, LossPath path, ComposedLoss<T> composed) {
  Tensor<T> td = t.detach();
  if (!use_fused(path, supported, s, name)) return composed({s, td});
  const int64_t B = s.shape()[0], L = s.shape()[1], n = s.shape()[2];
  Tensor<T> sc = raw_contiguous(s), tc = raw_contiguous(td), g;
  const bool want_grad = s.requires_grad() && is_grad_enabled();
  if (s.device() != Device::cpu) {  // cuda/kernels_loss.cu through relation_device.hpp
    check(!mask.defined() || mask.shape() == Shape{B, n}, name, "mask ", shape_of(mask),
          " must be [B, n] = [", B, ", ", n, "]");
    Tensor<T> value;
    bool done = true;
    {
      NoGradGuard no_grad;  // raw buffers; the grouped mask stays on the device (nonzero = valid)
      const Tensor<T> m2 =
          mask.defined() ? mask.detach() : Tensor<T>::ones(Shape{B, n}, s.device());
      for (bool by_layer : {false, true}) {
        const RelationTerms& terms = by_layer ? layer : word;
        if (terms.pair == 0 && terms.full_angle == 0 && terms.window_angle == 0) continue;
        const Tensor<T> xs = raw_contiguous(grouped(sc, by_layer));
        const Tensor<T> xt = raw_contiguous(grouped(tc, by_layer));
        const Tensor<T> gm =
            by_layer ? reshape(expand(reshape(m2, Shape{B, n, 1}), Shape{B, n, L}), Shape{B * n, L})
                     : reshape(expand(reshape(m2, Shape{B, 1, n}), Shape{B, L, n}), Shape{B * L, n});
        Tensor<T> v, dx;
        if (!device_relation(xs, xt, gm, terms, v, want_grad ? &dx : nullptr)) {
          done = false;
          break;
        }
        value = value.defined() ? add(value, v) : v;
        if (want_grad) {
          Tensor<T> back = by_layer ? permute(reshape(dx, Shape{B, n, L, s.shape()[3]}), {0, 2, 1, 3})
                                    : reshape(dx, s.shape());
          g = g.defined() ? add(g, back) : raw_contiguous(back);
        }
      }
      if (done && !value.defined()) value = Tensor<T>::zeros(Shape{}, s.device());
    }
    if (!done) return composed({s, td});
    return fused_scalar_loss<T>(fused_name, value, {s, td}, {g, Tensor<T>()}, std::move(composed));
  }
  if (want_grad) g = Tensor<T>::zeros(s.shape());
  T* gp = g.defined() ? g.data_ptr() : nullptr;
  double value = 0;
  if (word.pair != 0 || word.full_angle != 0 || word.window_angle != 0)
    value += fused_relation(sc, tc, hm, false, word, gp);
  if (layer.pair != 0 || layer.full_angle != 0)
    value += fused_relation(sc, tc, hm, true, layer, gp);
  return fused_scalar_loss<T>(fused_name, value, {s, td}, {g, Tensor<T>()}, std::move(composed));
}

template <class T>
double coef_of(const std::vector<T>& hm, const Tensor<T>& s, bool layer, int power, double factor) {
  const int64_t B = s.shape()[0], L = s.shape()[1], n = s.shape()[2];
  auto gv = grouped_mask(hm, B, L, n, layer);
  return 1.0 / std::max(mask_power_sum(gv, layer ? L : n, power) * factor, 1.0);
}

}  // namespace detail

// WR pair: token–token relations of each aligned layer (see the header for every convention).
// Defaults are the reference's: cosine, kldiv, no normalisation.
template <class T>
Tensor<T> word_relation_pair_loss(const Tensor<T>& student_hidden, const Tensor<T>& teacher_hidden,
                                  const Tensor<T>& mask,
                                  RelationDistance distance = RelationDistance::cosine,
                                  MatchLoss f = MatchLoss::kldiv, bool normalize = false,
                                  LossPath path = LossPath::automatic) {
  const char* name = "word_relation_pair_loss";
  detail::check_hidden(student_hidden, teacher_hidden, mask, name);
  const int64_t B = student_hidden.shape()[0], n = student_hidden.shape()[2];
  const auto hm = detail::host_mask(mask, B, n, name);
  detail::RelationTerms word;
  word.pair = detail::coef_of(hm, student_hidden, false, 2, 1.0);
  const bool supported = distance == RelationDistance::cosine && f == MatchLoss::kldiv;
  return detail::ckd_terms<T>(
      name, "word_relation_pair_loss_fused", student_hidden, teacher_hidden, mask, hm, word, {},
      supported, path, [=](const std::vector<Tensor<T>>& in) {
        return detail::pair_composed(in[0], in[1], hm, false, distance, f, normalize);
      });
}

// LTR pair: the pair recipe over the L layers of each token.
template <class T>
Tensor<T> layer_relation_pair_loss(const Tensor<T>& student_hidden, const Tensor<T>& teacher_hidden,
                                   const Tensor<T>& mask,
                                   RelationDistance distance = RelationDistance::cosine,
                                   MatchLoss f = MatchLoss::kldiv, bool normalize = false,
                                   LossPath path = LossPath::automatic) {
  const char* name = "layer_relation_pair_loss";
  detail::check_hidden(student_hidden, teacher_hidden, mask, name);
  const auto hm =
      detail::host_mask(mask, student_hidden.shape()[0], student_hidden.shape()[2], name);
  detail::RelationTerms layer;
  layer.pair = detail::coef_of(hm, student_hidden, true, 2, 1.0);
  const bool supported = distance == RelationDistance::cosine && f == MatchLoss::kldiv;
  return detail::ckd_terms<T>(
      name, "layer_relation_pair_loss_fused", student_hidden, teacher_hidden, mask, hm, {}, layer,
      supported, path, [=](const std::vector<Tensor<T>>& in) {
        return detail::pair_composed(in[0], in[1], hm, true, distance, f, normalize);
      });
}

// WR triple over all token triples of each layer (default l2 = squared error).
template <class T>
Tensor<T> word_relation_triple_loss(const Tensor<T>& student_hidden,
                                    const Tensor<T>& teacher_hidden, const Tensor<T>& mask,
                                    MatchLoss f = MatchLoss::l2,
                                    LossPath path = LossPath::automatic) {
  const char* name = "word_relation_triple_loss";
  detail::check_hidden(student_hidden, teacher_hidden, mask, name);
  detail::check_angle_loss(f, name);
  const auto hm =
      detail::host_mask(mask, student_hidden.shape()[0], student_hidden.shape()[2], name);
  detail::RelationTerms word;
  word.full_angle = detail::coef_of(hm, student_hidden, false, 3, 1.0);
  word.angle_loss = f;
  return detail::ckd_terms<T>(name, "word_relation_triple_loss_fused", student_hidden,
                              teacher_hidden, mask, hm, word, {}, true, path,
                              [=](const std::vector<Tensor<T>>& in) {
                                return detail::triple_composed(in[0], in[1], hm, false, f);
                              });
}

// WR triple in a local window of `window` (odd, ≥ 1; reference default 21, SQuAD script 5);
// `pads` picks the neighbours of tokens near padding (header: excluded by default).
template <class T>
Tensor<T> word_relation_window_loss(const Tensor<T>& student_hidden,
                                    const Tensor<T>& teacher_hidden, const Tensor<T>& mask,
                                    int64_t window = 21, MatchLoss f = MatchLoss::l2,
                                    LossPath path = LossPath::automatic,
                                    PaddedNeighbours pads = PaddedNeighbours::excluded) {
  const char* name = "word_relation_window_loss";
  const bool counted = pads == PaddedNeighbours::counted;
  detail::check_hidden(student_hidden, teacher_hidden, mask, name);
  detail::check_angle_loss(f, name);
  check(window >= 1 && window % 2 == 1, name, "window must be odd and >= 1, got ", window,
        " (hidden states ", detail::shape_of(student_hidden), ")");
  const auto hm =
      detail::host_mask(mask, student_hidden.shape()[0], student_hidden.shape()[2], name);
  detail::RelationTerms word;
  word.window_angle = detail::coef_of(hm, student_hidden, false, 1, double(window * window));
  word.angle_loss = f;
  word.window = window;
  word.window_pads_counted = counted;
  return detail::ckd_terms<T>(
      name, "word_relation_window_loss_fused", student_hidden, teacher_hidden, mask, hm, word, {},
      true, path, [=](const std::vector<Tensor<T>>& in) {
        return detail::window_composed(in[0], in[1], hm, window, f, counted);
      });
}

// LTR triple: angles between the layers of each token (default l2).
template <class T>
Tensor<T> layer_relation_triple_loss(const Tensor<T>& student_hidden,
                                     const Tensor<T>& teacher_hidden, const Tensor<T>& mask,
                                     MatchLoss f = MatchLoss::l2,
                                     LossPath path = LossPath::automatic) {
  const char* name = "layer_relation_triple_loss";
  detail::check_hidden(student_hidden, teacher_hidden, mask, name);
  detail::check_angle_loss(f, name);
  const auto hm =
      detail::host_mask(mask, student_hidden.shape()[0], student_hidden.shape()[2], name);
  detail::RelationTerms layer;
  layer.full_angle = detail::coef_of(hm, student_hidden, true, 3, 1.0);
  layer.angle_loss = f;
  return detail::ckd_terms<T>(name, "layer_relation_triple_loss_fused", student_hidden,
                              teacher_hidden, mask, hm, {}, layer, true, path,
                              [=](const std::vector<Tensor<T>>& in) {
                                return detail::triple_composed(in[0], in[1], hm, true, f);
                              });
}

// The weights of ckd_loss. The reference CLI defaults are all 1; its per-task table (e.g. CoLA
// 1, 10, 1, 10) never reaches the LTR terms because of a config-name bug (they stay 1).
struct CkdWeights {
  double wr_pair, wr_triple, ltr_pair, ltr_triple;
};

// Σ weights · {WR pair (cosine, kldiv), WR triple (window or full, l2), LTR pair, LTR triple}.
template <class T>
Tensor<T> ckd_loss(const Tensor<T>& student_hidden, const Tensor<T>& teacher_hidden,
                   const Tensor<T>& mask, const CkdWeights& w,
                   WordTriple triple = WordTriple::window, int64_t window = 21,
                   LossPath path = LossPath::automatic,
                   PaddedNeighbours pads = PaddedNeighbours::excluded) {
  const char* name = "ckd_loss";
  const bool counted = pads == PaddedNeighbours::counted;
  detail::check_hidden(student_hidden, teacher_hidden, mask, name);
  check(triple == WordTriple::full || (window >= 1 && window % 2 == 1), name,
        "window must be odd and >= 1, got ", window, " (hidden states ",
        detail::shape_of(student_hidden), ")");
  const auto hm =
      detail::host_mask(mask, student_hidden.shape()[0], student_hidden.shape()[2], name);
  const Tensor<T>& s = student_hidden;
  detail::RelationTerms word, layer;
  word.pair = w.wr_pair * detail::coef_of(hm, s, false, 2, 1.0);
  if (triple == WordTriple::window)
    word.window_angle = w.wr_triple * detail::coef_of(hm, s, false, 1, double(window * window));
  else
    word.full_angle = w.wr_triple * detail::coef_of(hm, s, false, 3, 1.0);
  word.window = window;
  word.window_pads_counted = counted;
  layer.pair = w.ltr_pair * detail::coef_of(hm, s, true, 2, 1.0);
  layer.full_angle = w.ltr_triple * detail::coef_of(hm, s, true, 3, 1.0);
  return detail::ckd_terms<T>(
      name, "ckd_loss_fused", s, teacher_hidden, mask, hm, word, layer, true, path,
      [=](const std::vector<Tensor<T>>& in) {
        using namespace detail;
        const auto cos = RelationDistance::cosine;
        Tensor<T> wt = triple == WordTriple::window
                           ? window_composed(in[0], in[1], hm, window, MatchLoss::l2, counted)
                           : triple_composed(in[0], in[1], hm, false, MatchLoss::l2);
        Tensor<T> total = mul_scalar(
            pair_composed(in[0], in[1], hm, false, cos, MatchLoss::kldiv, false), T(w.wr_pair));
        total = add(total, mul_scalar(wt, T(w.wr_triple)));
        total = add(total,
                    mul_scalar(pair_composed(in[0], in[1], hm, true, cos, MatchLoss::kldiv, false),
                               T(w.ltr_pair)));
        return add(total, mul_scalar(triple_composed(in[0], in[1], hm, true, MatchLoss::l2),
                                     T(w.ltr_triple)));
      });
}

// CKD's DistillKL (GeondoPark/CKD loss.py). classification: −Σ_c softmax(v/T)_c log softmax(z/T)_c
// summed over classes, mean over the N rows, no T² factor; regression (STS-B): mean over N·C of
// (z/T − v/T)². The teacher is detached.
enum class LogitTask { classification, regression };
template <class T>
Tensor<T> ckd_logit_loss(const Tensor<T>& student_logits, const Tensor<T>& teacher_logits,
                         double temperature, LogitTask task = LogitTask::classification,
                         LossPath path = LossPath::automatic) {
  if (task == LogitTask::classification)
    return kd_loss(student_logits, teacher_logits, temperature, Reduction::batchmean,
                   TemperatureScale::none, Divergence::soft_cross_entropy, TeacherGrad::detach,
                   path);
  detail::check_logits_pair(student_logits, teacher_logits, "ckd_logit_loss");
  detail::check_temperature<T>(temperature, "ckd_logit_loss");
  const T inv = T(1.0 / temperature);
  return mse_loss(mul_scalar(student_logits, inv), mul_scalar(teacher_logits.detach(), inv));
}

}  // namespace distillery::losses
