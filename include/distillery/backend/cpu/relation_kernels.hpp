// backend/cpu/relation_kernels.hpp — the fused CPU kernels of the relation losses (RKD, CKD),
// reached through KernelTable::relation_points_fused and angle_group_fused.
//
// Every relation the composed path builds from difference vectors can be read off the Gram
// matrix G = X Xᵀ of a group of points (tokens of one layer, layers of one token, a batch):
//   cosine      S_ij = G_ij ρ_i ρ_j,                 ρ_i = 1 / max(√G_ii, ε)
//   distance²   D_ij = G_ii + G_jj − 2 G_ij
//   angle       A_ijk = <u(x_j − x_i), u(x_k − x_i)> = (G_ii − G_ij − G_ik + G_jk) ι_ij ι_ik,
//               ι_ij = 1 / max(√D_ij, ε), and ι_ii = 0 (u(0) = 0, as F.normalize gives).
// So a group costs one GEMM per model forward (m × m × d), the relation loops (m² for pairs,
// m·w² for windows, m³ for full angles) touch only m × m scalars, and the backward is one more
// GEMM: dX = (dG + dGᵀ) X. No [m, m, d] difference tensor and no m³ tensor is ever stored.
// Each term adds coef · dL/dG into a per-group dG scratch; derivations are beside each term.
// Kernels know buffers, not graphs: pointers, a group layout, a host mask.
#pragma once
#include <Eigen/Core>
#include <vector>

#include "../kernel_table.hpp"
#include "parallel.hpp"
#include "vector_exp.hpp"

namespace distillery::cpu::loss_kernels {

using namespace distillery::losses;  // MatchLoss, kNormEps, match_value / match_grad

// Groups of points are described by GroupLayout (backend/loss_math.hpp); the terms a pass
// computes, each with coef = weight / denominator (0 = off), by RelationSpec.
using RelationTerms = RelationSpec;

template <class T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// ι_ij for all pairs of a group, and whether √D_ij > ε (else ι is the constant 1/ε or 0).
template <class T>
void inverse_distances(const RowMat<T>& G, RowMat<T>& inv, std::vector<char>& active) {
  const int64_t m = G.rows();
  inv.resize(m, m);
  active.assign(m * m, 0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < m; ++j) {
      if (i == j) {
        inv(i, j) = T(0);
        continue;
      }
      const T d = std::sqrt(std::max(G(i, i) + G(j, j) - T(2) * G(i, j), T(0)));
      active[i * m + j] = d > T(kNormEps);
      inv(i, j) = T(1) / std::max(d, T(kNormEps));
    }
}

// D_ij = G_ii + G_jj − 2G_ij receives dD: spread it onto dG.
template <class T>
inline void add_distance_grad(RowMat<T>& dG, int64_t i, int64_t j, T dD) {
  dG(i, i) += dD;
  dG(j, j) += dD;
  dG(i, j) -= T(2) * dD;
}

// Cosine pair term of one group. For each valid row i with at least one valid j ≠ i:
//   p = softmax_j(S^t_ij), log q = log_softmax_j(S^s_ij) over valid j ≠ i,
//   loss_i = Σ_j p_j (log p_j − log q_j),   ∂loss_i/∂S^s_ij = q_j − p_j.
// Chain: S_ij = G_ij ρ_i ρ_j  →  dG_ij += dS ρ_i ρ_j,  dρ_i += dS G_ij ρ_j,  dρ_j += dS G_ij ρ_i,
//        ρ_i = G_ii^(−1/2) (when active) → dG_ii += −½ ρ_i³ dρ_i.
template <class T>
double pair_term(const RowMat<T>& Gs, const RowMat<T>& Gt, const T* mask, T coef, RowMat<T>* dG) {
  const int64_t m = Gs.rows();
  std::vector<T> rs(m), rt(m), drho(m, T(0)), ss(m), st(m), es(m), et(m);
  std::vector<int64_t> valid, js(m);
  std::vector<char> act(m);
  for (int64_t i = 0; i < m; ++i) {
    const T ns = std::sqrt(std::max(Gs(i, i), T(0))), nt = std::sqrt(std::max(Gt(i, i), T(0)));
    act[i] = ns > T(kNormEps);
    rs[i] = T(1) / std::max(ns, T(kNormEps));
    rt[i] = T(1) / std::max(nt, T(kNormEps));
    if (mask[i]) valid.push_back(i);
  }
  double loss = 0;
  for (int64_t i : valid) {
    int64_t k = 0;  // compacted row: the valid partners j ≠ i
    T ms = -std::numeric_limits<T>::infinity(), mt = ms;
    for (int64_t j : valid) {
      if (j == i) continue;
      js[k] = j;
      ss[k] = Gs(i, j) * rs[i] * rs[j];
      st[k] = Gt(i, j) * rt[i] * rt[j];
      ms = std::max(ms, ss[k]);
      mt = std::max(mt, st[k]);
      ++k;
    }
    if (k == 0) continue;  // no valid partner: the reference's NaN row, zeroed
    exp_shifted(ss.data(), ms, T(1), es.data(), k);
    exp_shifted(st.data(), mt, T(1), et.data(), k);
    double zs = 0, zt = 0, pdiff = 0;
    for (int64_t a = 0; a < k; ++a) {
      zs += double(es[a]);
      zt += double(et[a]);
      pdiff += double(et[a]) * double(st[a] - ss[a]);
    }
    // Σ p (log p − log q) = Σ p (S^t − S^s) − (m_t − m_s) − log Z_t + log Z_s
    loss += pdiff / zt - double(mt) + double(ms) - std::log(zt) + std::log(zs);
    if (!dG) continue;
    const T cs = T(double(coef) / zs), ct = T(double(coef) / zt);
    for (int64_t a = 0; a < k; ++a) {
      const int64_t j = js[a];
      const T dS = es[a] * cs - et[a] * ct;
      (*dG)(i, j) += dS * rs[i] * rs[j];
      drho[i] += dS * Gs(i, j) * rs[j];
      drho[j] += dS * Gs(i, j) * rs[i];
    }
  }
  if (dG)
    for (int64_t i = 0; i < m; ++i)
      if (act[i]) (*dG)(i, i) += T(-0.5) * rs[i] * rs[i] * rs[i] * drho[i];
  return double(coef) * loss;
}

// Full angle term, vertices a in [a0, a1). For vertex a and valid b, c:
//   A_bc = P_bc ι_ab ι_ac, P_bc = G_aa − G_ab − G_ac + G_bc, loss += e(A^s_bc, A^t_bc),
//   W = coef·e'(A^s, A^t), R = W ι_ab ι_ac:  dG_bc += R, dG_ab −= R, dG_ac −= R, dG_aa += R;
//   through ι_ax = D_ax^(−1/2): dD_ax = −½ ι_ax² Σ (W·A over both slots where x appears).
template <class T>
double full_angle_term(const RowMat<T>& Gs, const RowMat<T>& Gt, const RowMat<T>& is,
                       const std::vector<char>& act, const RowMat<T>& it, const T* mask,
                       MatchLoss f, T coef, int64_t a0, int64_t a1, RowMat<T>* dG) {
  const int64_t m = Gs.rows();
  std::vector<T> row_r(m), col_r(m), wa(m);
  double loss = 0;
  for (int64_t a = a0; a < a1; ++a) {
    if (!mask[a]) continue;
    if (dG) {
      std::fill(row_r.begin(), row_r.end(), T(0));
      std::fill(col_r.begin(), col_r.end(), T(0));
      std::fill(wa.begin(), wa.end(), T(0));
    }
    const T gs_aa = Gs(a, a), gt_aa = Gt(a, a);
    double vertex = 0;
    for (int64_t b = 0; b < m; ++b) {
      if (!mask[b] || b == a) continue;  // ι_aa = 0: every angle with b = a is 0 for both models
      const T sb = gs_aa - Gs(a, b), tb = gt_aa - Gt(a, b), isb = is(a, b), itb = it(a, b);
      for (int64_t c = 0; c < m; ++c) {
        if (!mask[c] || c == a) continue;
        const T as = (sb - Gs(a, c) + Gs(b, c)) * isb * is(a, c);
        const T at = (tb - Gt(a, c) + Gt(b, c)) * itb * it(a, c);
        vertex += double(match_value(f, as, at));
        if (dG) {
          const T w = coef * match_grad(f, as, at);
          const T r = w * isb * is(a, c);
          (*dG)(b, c) += r;
          row_r[b] += r;
          col_r[c] += r;
          wa[b] += w * as;
          wa[c] += w * as;
        }
      }
    }
    loss += vertex;
    if (!dG) continue;
    T total = 0;
    for (int64_t x = 0; x < m; ++x) {
      total += row_r[x];
      (*dG)(a, x) -= row_r[x] + col_r[x];
      if (x != a && act[a * m + x])
        add_distance_grad(*dG, a, x, T(-0.5) * wa[x] * is(a, x) * is(a, x));
    }
    (*dG)(a, a) += total;
  }
  return double(coef) * loss;
}

// Window angle term: for each valid centre i, neighbours n_p = window_table(i, p), p = 0..w−1
// (by default the sequence's own real tokens, edges replicated at its first/last real token; with
// pads_counted clamp(i − r + p, 0, m − 1)), A_pq = <u(x_i − x_np), u(x_i − x_nq)>.
// Same chain rule as the full term with vertex i and the slots p, q.
template <class T>
double window_angle_term(const RowMat<T>& Gs, const RowMat<T>& Gt, const T* mask, MatchLoss f,
                         int64_t w, bool pads_counted, T coef, RowMat<T>* dG) {
  const int64_t m = Gs.rows();
  std::vector<int64_t> table(m * w), nb(w);
  window_table(mask, m, w, pads_counted, table.data());
  std::vector<T> is(w), it(w), wa(w), as(w * w);
  std::vector<char> act(w);
  double loss = 0;
  for (int64_t i = 0; i < m; ++i) {
    if (!mask[i]) continue;
    for (int64_t p = 0; p < w; ++p) {
      const int64_t k = table[i * w + p];
      nb[p] = k;
      const T ds = std::sqrt(std::max(Gs(i, i) + Gs(k, k) - T(2) * Gs(i, k), T(0)));
      const T dt = std::sqrt(std::max(Gt(i, i) + Gt(k, k) - T(2) * Gt(i, k), T(0)));
      act[p] = k != i && ds > T(kNormEps);
      is[p] = k == i ? T(0) : T(1) / std::max(ds, T(kNormEps));
      it[p] = k == i ? T(0) : T(1) / std::max(dt, T(kNormEps));
      wa[p] = T(0);
    }
    double centre = 0;
    T total = 0;
    for (int64_t p = 0; p < w; ++p) {
      const int64_t kp = nb[p];
      if (is[p] == T(0) && it[p] == T(0)) continue;
      const T sp = Gs(i, i) - Gs(i, kp), tp = Gt(i, i) - Gt(i, kp);
      for (int64_t q = 0; q < w; ++q) {
        const int64_t kq = nb[q];
        const T a_s = (sp - Gs(i, kq) + Gs(kp, kq)) * is[p] * is[q];
        const T a_t = (tp - Gt(i, kq) + Gt(kp, kq)) * it[p] * it[q];
        centre += double(match_value(f, a_s, a_t));
        if (dG) {
          const T wt = coef * match_grad(f, a_s, a_t);
          const T rr = wt * is[p] * is[q];
          (*dG)(kp, kq) += rr;
          (*dG)(i, kp) -= rr;
          (*dG)(i, kq) -= rr;
          total += rr;
          wa[p] += wt * a_s;
          wa[q] += wt * a_s;
        }
      }
    }
    loss += centre;
    if (!dG) continue;
    (*dG)(i, i) += total;
    for (int64_t p = 0; p < w; ++p)
      if (act[p]) add_distance_grad(*dG, i, nb[p], T(-0.5) * wa[p] * is[p] * is[p]);
  }
  return double(coef) * loss;
}

// Products through the engine's CPU GEMM (the kernel table: runtime-dispatched SIMD kernels).
// Row-major; X is m × d with row stride ld.
template <class T>
void gram(const T* X, int64_t m, int64_t d, int64_t ld, RowMat<T>& G) {
  G.resize(m, m);
  kernels<T>(Device::cpu)
      .gemm(false, true, m, m, d, T(1), X, ld, 0, X, ld, 0, T(0), G.data(), m, 0, 1);
}
// dX (m × d, row stride ld) += (dG + dGᵀ) X.
template <class T>
void add_gram_grad(const RowMat<T>& dG, const T* X, int64_t m, int64_t d, int64_t ld, T* dX) {
  RowMat<T> sym = dG + dG.transpose();
  kernels<T>(Device::cpu)
      .gemm(false, false, m, d, m, T(1), sym.data(), m, 0, X, ld, 0, T(1), dX, ld, 0, 1);
}

// One pass over all groups (parallel over groups): Grams, the requested terms, and
// grad += (dG + dGᵀ) X_s when grad != nullptr (grad has the student's layout). Returns the sum of
// coef-weighted terms. `mask` holds groups × points entries (0/1).
template <class T>
double relation_pass(const T* xs, const GroupLayout& ls, const T* xt, const GroupLayout& lt,
                     const T* mask, const RelationTerms& terms, T* grad) {
  const int64_t G = ls.groups, m = ls.points;
  std::vector<double> group_loss(G, 0.0);
  const int64_t cost = m * m * (ls.dim + lt.dim) + (terms.full_angle != 0 ? m * m * m : 0);
  parallel_for(G, cost, [&](int64_t g0, int64_t g1) {
    RowMat<T> Gs(m, m), Gt(m, m), dG(m, m), is, it;
    std::vector<char> act;
    for (int64_t g = g0; g < g1; ++g) {
      const T* mk = mask + g * m;
      bool any = false;
      for (int64_t p = 0; p < m; ++p) any = any || mk[p] != T(0);
      if (!any) continue;  // a fully padded group contributes nothing
      const T* Xs = xs + ls.offset(g, 0);
      gram(Xs, m, ls.dim, ls.point_stride, Gs);
      gram(xt + lt.offset(g, 0), m, lt.dim, lt.point_stride, Gt);
      RowMat<T>* dgp = grad ? &dG : nullptr;
      if (grad) dG.setZero();
      double l = 0;
      if (terms.pair != 0) l += pair_term(Gs, Gt, mk, T(terms.pair), dgp);
      if (terms.full_angle != 0) {
        std::vector<char> act_t;
        inverse_distances(Gs, is, act);
        inverse_distances(Gt, it, act_t);
        l += full_angle_term(Gs, Gt, is, act, it, mk, terms.angle_loss, T(terms.full_angle), 0, m,
                             dgp);
      }
      if (terms.window_angle != 0)
        l += window_angle_term(Gs, Gt, mk, terms.angle_loss, terms.window,
                               terms.window_pads_counted, T(terms.window_angle), dgp);
      group_loss[g] = l;
      if (grad) add_gram_grad(dG, Xs, m, ls.dim, ls.point_stride, grad + ls.offset(g, 0));
    }
  });
  double total = 0;
  for (double l : group_loss) total += l;
  return total;
}

// The full angle term of ONE large group (RKD: the batch), parallel over vertices with one dG per
// chunk, merged in a fixed order. grad = (dG + dGᵀ) X_s when grad != nullptr (overwritten).
template <class T>
double single_group_angle(const T* xs, int64_t m, int64_t ds, const T* xt, int64_t dt, MatchLoss f,
                          T coef, T* grad) {
  RowMat<T> Gs, Gt, is, it;
  gram(xs, m, ds, ds, Gs);
  gram(xt, m, dt, dt, Gt);
  std::vector<char> act, act_t;
  inverse_distances(Gs, is, act);
  inverse_distances(Gt, it, act_t);
  const std::vector<T> mask(m, T(1));
  const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(max_threads(), m));
  std::vector<double> part(chunks, 0.0);
  std::vector<RowMat<T>> dgs(grad ? chunks : 0);
  parallel_for(chunks, m * m * m / chunks + 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t a0 = m * c / chunks, a1 = m * (c + 1) / chunks;
      RowMat<T>* dgp = nullptr;
      if (grad) {
        dgs[c] = RowMat<T>::Zero(m, m);
        dgp = &dgs[c];
      }
      part[c] = full_angle_term(Gs, Gt, is, act, it, mask.data(), f, coef, a0, a1, dgp);
    }
  });
  double total = 0;
  for (double p : part) total += p;
  if (grad) {
    RowMat<T> dG = RowMat<T>::Zero(m, m);
    for (const auto& d : dgs) dG += d;
    std::fill(grad, grad + m * ds, T(0));
    add_gram_grad(dG, xs, m, ds, ds, grad);
  }
  return total;
}

}  // namespace distillery::cpu::loss_kernels
