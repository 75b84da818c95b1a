// backend/loss_math.hpp — the scalar arithmetic of the fused distillation losses, written once.
//
// The fused KD and relation (RKD angle, CKD word/layer relation) kernels exist on the CPU
// (losses/kd_kernel.hpp, losses/relation_kernels.hpp) and on CUDA (cuda/kernels_loss.cu). Both
// evaluate the per-element formulas below, marked DST_HD (= __host__ __device__ under nvcc), so
// the CPU suite exercises the arithmetic the GPU runs. The device-facing description of a
// relation pass (RelationSpec) lives here too, so the kernel table needs nothing from losses/.
#pragma once
#include <cmath>
#include <algorithm>
#include <cstdint>
#include <vector>

#include "scalar_math.hpp"

namespace distillery::losses {

// Elementwise matching of two relation values (CKD's `lossfunc`): |d|, d², smooth-L1 (β = 1),
// or KL t·(log t − s) with 0 where t = 0 (then s is read as a log-probability).
enum class MatchLoss { kldiv, l1, l2, smooth_l1 };

// The clamp of F.normalize / the reference pdist: u(v) = v / max(‖v‖, kNormEps).
constexpr double kNormEps = 1e-12;

// Value and derivative w.r.t. s of e(s, t).
template <class T>
DST_HD T match_value(MatchLoss f, T s, T t) {
  using std::abs;
  using std::log;
  const T d = s - t;
  switch (f) {
    case MatchLoss::l1:
      return abs(d);
    case MatchLoss::l2:
      return d * d;
    case MatchLoss::smooth_l1:
      return abs(d) < T(1) ? T(0.5) * d * d : abs(d) - T(0.5);
    case MatchLoss::kldiv:
      return t > T(0) ? t * (log(t) - s) : T(0);
  }
  return T(0);
}
template <class T>
DST_HD T match_grad(MatchLoss f, T s, T t) {
  using std::abs;
  const T d = s - t;
  switch (f) {
    case MatchLoss::l1:
      return T((d > 0) - (d < 0));
    case MatchLoss::l2:
      return T(2) * d;
    case MatchLoss::smooth_l1:
      return abs(d) < T(1) ? d : T((d > 0) - (d < 0));
    case MatchLoss::kldiv:
      return -t;
  }
  return T(0);
}

// Relations read off a Gram matrix G = X Xᵀ (row-major, m × m):
//   ρ_i  = 1 / max(√G_ii, ε)                       (cosine: S_ij = G_ij ρ_i ρ_j)
//   ι_ij = 1 / max(√D_ij, ε), D_ij = G_ii + G_jj − 2 G_ij, and ι_ii = 0 (u(0) = 0)
//   A_ijk = (G_ii − G_ij − G_ik + G_jk) ι_ij ι_ik  (the angle at vertex i)
template <class T>
DST_HD T gram_inv_norm(const T* G, int64_t m, int64_t i) {
  using std::sqrt;
  const T g = G[i * m + i];
  const T n = sqrt(g > T(0) ? g : T(0));
  return T(1) / (n > T(kNormEps) ? n : T(kNormEps));
}
template <class T>
DST_HD T gram_distance(const T* G, int64_t m, int64_t i, int64_t j) {  // √D_ij
  using std::sqrt;
  const T d = G[i * m + i] + G[j * m + j] - T(2) * G[i * m + j];
  return sqrt(d > T(0) ? d : T(0));
}
template <class T>
DST_HD T gram_inv_distance(const T* G, int64_t m, int64_t i, int64_t j) {
  if (i == j) return T(0);
  const T d = gram_distance(G, m, i, j);
  return T(1) / (d > T(kNormEps) ? d : T(kNormEps));
}
template <class T>
DST_HD T gram_angle(const T* G, int64_t m, int64_t i, int64_t j, int64_t k, T inv_ij, T inv_ik) {
  return (G[i * m + i] - G[i * m + j] - G[i * m + k] + G[j * m + k]) * inv_ij * inv_ik;
}

// Window slot p of centre i, padded neighbours counted (the reference's convention, right for a
// teacher run online on the same padded batch): clamp(i − r + p, 0, m − 1), r = (w − 1) / 2.
DST_HD int64_t window_neighbour(int64_t i, int64_t p, int64_t w, int64_t m) {
  const int64_t k = i - (w - 1) / 2 + p;
  return k < 0 ? 0 : (k > m - 1 ? m - 1 : k);
}

// Window slot p of valid centre i over the valid points only (the default): with the valid
// points v_0 < … < v_{c−1} of the group and i = v_k, slot p is v_clamp(k − r + p, 0, c − 1) — edge
// replication at the sequence's own first and last real token; padded points are never read.
// O(m) scan (the CUDA kernel caches it per block; the CPU builds the table with window_table).
template <class T>
DST_HD int64_t window_neighbour_valid(const T* mask, int64_t m, int64_t i, int64_t p, int64_t w) {
  int64_t k = 0, c = 0;
  for (int64_t j = 0; j < m; ++j)
    if (mask[j] != T(0)) {
      k += j < i;
      ++c;
    }
  int64_t t = k - (w - 1) / 2 + p;
  t = t < 0 ? 0 : (t > c - 1 ? c - 1 : t);
  for (int64_t j = 0; j < m; ++j)
    if (mask[j] != T(0) && t-- == 0) return j;
  return i;
}

// The neighbour table nb[i·w + p] of one group of m points (rows of padded centres are unused).
template <class T>
inline void window_table(const T* mask, int64_t m, int64_t w, bool pads_counted, int64_t* nb) {
  std::vector<int64_t> valid;
  std::vector<int64_t> rank(m, 0);
  for (int64_t j = 0; j < m; ++j)
    if (mask[j] != T(0)) {
      rank[j] = int64_t(valid.size());
      valid.push_back(j);
    }
  const int64_t c = int64_t(valid.size()), r = (w - 1) / 2;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t p = 0; p < w; ++p) {
      if (pads_counted || c == 0) {
        nb[i * w + p] = window_neighbour(i, p, w, m);
        continue;
      }
      const int64_t t = std::min(std::max<int64_t>(rank[i] - r + p, 0), c - 1);
      nb[i * w + p] = valid[t];
    }
}

}  // namespace distillery::losses

namespace distillery {

// One relation pass over `groups` Gram matrices of m points each (see backend/cpu/relation_kernels.hpp
// for the terms and their masks): each term's weight already divided by its denominator, 0 = off.
struct RelationSpec {
  double pair = 0;          // cosine → masked softmax over j ≠ i → KL(teacher ‖ student)
  double full_angle = 0;    // every vertex-centred angle, triple mask m_i m_j m_k
  double window_angle = 0;  // angles in the window of each valid centre (window_table)
  losses::MatchLoss angle_loss = losses::MatchLoss::l2;
  int64_t window = 21;
  bool window_pads_counted = false;  // true: the reference's clamp to the padded length
};

// Groups of points inside one buffer: point p of group g starts at offset(g, p) and its `dim`
// values are contiguous (the CPU relation kernel reads hidden states in place with it).
struct GroupLayout {
  int64_t groups = 0, points = 0, dim = 0;
  int64_t inner_groups = 1, outer_stride = 0, inner_stride = 0, point_stride = 0;
  int64_t offset(int64_t g, int64_t p) const {
    return (g / inner_groups) * outer_stride + (g % inner_groups) * inner_stride + p * point_stride;
  }
};

// hidden [B, L, n, d]: word relations group the n tokens of each (b, l); layer relations group
// the L layers of each (b, token).
inline GroupLayout word_layout(int64_t B, int64_t L, int64_t n, int64_t d) {
  return GroupLayout{B * L, n, d, 1, n * d, 0, d};
}
inline GroupLayout layer_layout(int64_t B, int64_t L, int64_t n, int64_t d) {
  return GroupLayout{B * n, L, d, n, L * n * d, d, n * d};
}

}  // namespace distillery
