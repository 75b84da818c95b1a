// cuda/kernels_loss.cu — fused distillation losses on the GPU: Hinton KD and the relation terms
// (CKD word/layer pair, window angle; RKD full angle) read off Gram matrices.
//
// KD: one block per row of z, v [N, C]: two block maxima, exp sums and a dot product in double,
// the row loss into a scratch slot, the gradient coef/T · (softmax(z/T) − softmax(v/T)) written
// in place. Relations: ops/ computes Gs = Xs Xsᵀ and Gt [groups, m, m] with the GEMM of the
// kernel table; here one block per (group, centre) evaluates the centre's terms and writes its
// coef-weighted loss into a scratch slot, and adds dL/dG into a double buffer; ops/ then forms
// dXs = (dG + dGᵀ) Xs with one more batched GEMM. The per-element arithmetic is
// backend/loss_math.hpp (DST_HD), shared with the CPU.
//
// Determinism: losses are summed in a fixed order (block trees, then one block over the slots),
// so values are reproducible bit for bit. dG is accumulated with double atomicAdd (entries
// shared by several centres); the order of those additions varies between runs, so a gradient
// can differ in the last bits of a double (rarely of a float, after the final rounding).
#include <distillery/backend/loss_math.hpp>

#include <algorithm>

#include "common.cuh"

namespace distillery::cuda_detail {

namespace {

using losses::MatchLoss;

constexpr int kLossThreads = 256;

// Block-wide reductions over kLossThreads threads (every thread gets the result).
template <class V, class Op>
__device__ V block_reduce(V v, Op op, V* sh) {
  const int t = threadIdx.x;
  sh[t] = v;
  __syncthreads();
  for (int s = kLossThreads / 2; s > 0; s >>= 1) {
    if (t < s) sh[t] = op(sh[t], sh[t + s]);
    __syncthreads();
  }
  V r = sh[0];
  __syncthreads();
  return r;
}
struct Max {
  template <class V>
  __device__ V operator()(V a, V b) const { return a > b ? a : b; }
};
struct Plus {
  template <class V>
  __device__ V operator()(V a, V b) const { return a + b; }
};

// ---- KD ------------------------------------------------------------------------------------
template <class T>
__global__ void kd_rows_kernel(const T* z, const T* v, int64_t C, T inv_t, bool soft_ce,
                               double coef, double* row_loss, T* grad) {
  __shared__ T sh_t[kLossThreads];
  __shared__ double sh_d[kLossThreads];
  const int64_t i = blockIdx.x;
  const T* zi = z + i * C;
  const T* vi = v + i * C;
  T lz = -INFINITY, lv = -INFINITY;
  for (int64_t c = threadIdx.x; c < C; c += kLossThreads) {
    lz = lz > zi[c] ? lz : zi[c];
    lv = lv > vi[c] ? lv : vi[c];
  }
  const T mz = block_reduce(lz, Max(), sh_t), mv = block_reduce(lv, Max(), sh_t);
  double zs = 0, zv = 0, dot = 0;
  for (int64_t c = threadIdx.x; c < C; c += kLossThreads) {
    const T es = exp((zi[c] - mz) * inv_t), et = exp((vi[c] - mv) * inv_t);
    zs += double(es);
    zv += double(et);
    dot += soft_ce ? double(et) * double(zi[c]) : double(et) * double(vi[c] - zi[c]);
  }
  zs = block_reduce(zs, Plus(), sh_d);
  zv = block_reduce(zv, Plus(), sh_d);
  dot = block_reduce(dot, Plus(), sh_d);
  if (threadIdx.x == 0) {
    const double it = double(inv_t);
    row_loss[i] = soft_ce ? -(dot / zv - double(mz)) * it + log(zs)
                          : (dot / zv - double(mv) + double(mz)) * it - log(zv) + log(zs);
  }
  if (grad) {
    const T cs = T(coef * double(inv_t) / zs), cv = T(coef * double(inv_t) / zv);
    for (int64_t c = threadIdx.x; c < C; c += kLossThreads)
      grad[i * C + c] = exp((zi[c] - mz) * inv_t) * cs - exp((vi[c] - mv) * inv_t) * cv;
  }
}

// value[0] = T(scale · Σ parts), one block, fixed order.
template <class T>
__global__ void sum_parts_kernel(const double* parts, int64_t n, double scale, T* value) {
  __shared__ double sh[kLossThreads];
  double s = 0;
  for (int64_t k = threadIdx.x; k < n; k += kLossThreads) s += parts[k];
  s = block_reduce(s, Plus(), sh);
  if (threadIdx.x == 0) *value = T(scale * s);
}

// ---- relation terms ------------------------------------------------------------------------
// Warp-wide reductions (every lane gets the result).
template <class V>
__device__ V warp_max(V v) {
  for (int o = 16; o > 0; o >>= 1) {
    const V u = __shfl_xor_sync(0xffffffffu, v, o);
    v = v > u ? v : u;
  }
  return v;
}
__device__ double warp_sum(double v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// ρ_i = 1 / max(√G_ii, ε) of every point of every group, for the student and the teacher.
template <class T>
__global__ void inv_norms_kernel(const T* Gs_all, const T* Gt_all, int64_t groups, int64_t m,
                                 T* rs, T* rt) {
  const int64_t n = groups * m;
  for (int64_t p = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; p < n;
       p += int64_t(gridDim.x) * blockDim.x) {
    const int64_t g = p / m, i = p % m;
    rs[p] = losses::gram_inv_norm(Gs_all + g * m * m, m, i);
    rt[p] = losses::gram_inv_norm(Gt_all + g * m * m, m, i);
  }
}

// Cosine pair term, one warp per row (g, i): masked softmax over valid j ≠ i of
// S_ij = G_ij ρ_i ρ_j, loss_i = KL(p_t ‖ q_s); dS_ij = coef (q_j − p_j) → dG_ij += dS ρ_i ρ_j,
// dρ_i += dS G_ij ρ_j, dρ_j += dS G_ij ρ_i.
constexpr int kPairRows = 4;  // warps (rows) per block
template <class T>
__global__ void pair_kernel(const T* Gs_all, const T* Gt_all, const T* mask_all, const T* rs_all,
                            const T* rt_all, int64_t m, double coef, double* loss,
                            double* dG_all, double* drho_all) {
  const int lane = threadIdx.x & 31;
  const int64_t g = blockIdx.y, i = int64_t(blockIdx.x) * kPairRows + (threadIdx.x >> 5);
  if (i >= m) return;  // whole warps leave; no block-wide synchronisation below
  const T* Gs = Gs_all + g * m * m + i * m;  // row i
  const T* Gt = Gt_all + g * m * m + i * m;
  const T* mask = mask_all + g * m;
  const T* rs = rs_all + g * m;
  const T* rt = rt_all + g * m;
  if (mask[i] == T(0)) {
    if (lane == 0) loss[g * m + i] = 0;
    return;
  }
  const T rsi = rs[i], rti = rt[i];
  T ls = -INFINITY, lt = -INFINITY;
  double cnt = 0;
  for (int64_t j = lane; j < m; j += 32) {
    if (j == i || mask[j] == T(0)) continue;
    const T ss = Gs[j] * rsi * rs[j], st = Gt[j] * rti * rt[j];
    ls = ls > ss ? ls : ss;
    lt = lt > st ? lt : st;
    cnt += 1;
  }
  const T ms = warp_max(ls), mt = warp_max(lt);
  if (warp_sum(cnt) == 0) {  // no valid partner: the reference's NaN row, zeroed
    if (lane == 0) loss[g * m + i] = 0;
    return;
  }
  double zs = 0, zt = 0, pdiff = 0;
  for (int64_t j = lane; j < m; j += 32) {
    if (j == i || mask[j] == T(0)) continue;
    const T ss = Gs[j] * rsi * rs[j], st = Gt[j] * rti * rt[j];
    const T es = exp(ss - ms), et = exp(st - mt);
    zs += double(es);
    zt += double(et);
    pdiff += double(et) * double(st - ss);
  }
  zs = warp_sum(zs);
  zt = warp_sum(zt);
  pdiff = warp_sum(pdiff);
  if (lane == 0)
    loss[g * m + i] = coef * (pdiff / zt - double(mt) + double(ms) - log(zt) + log(zs));
  if (!dG_all) return;
  double* dG = dG_all + g * m * m + i * m;
  double* drho = drho_all + g * m;
  const T cs = T(coef / zs), ct = T(coef / zt);
  double drho_i = 0;
  for (int64_t j = lane; j < m; j += 32) {
    if (j == i || mask[j] == T(0)) continue;
    const T ss = Gs[j] * rsi * rs[j], st = Gt[j] * rti * rt[j];
    const T dS = exp(ss - ms) * cs - exp(st - mt) * ct;
    dG[j] += double(dS * rsi * rs[j]);  // entry (i, j ≠ i) belongs to this warp alone
    drho_i += double(dS * Gs[j] * rs[j]);
    atomicAdd(drho + j, double(dS * Gs[j] * rsi));
  }
  drho_i = warp_sum(drho_i);
  if (lane == 0) atomicAdd(drho + i, drho_i);
}

// ρ_i = G_ii^(−1/2) where active: dG_ii += −½ ρ_i³ dρ_i.
template <class T>
__global__ void pair_finish_kernel(const T* Gs_all, int64_t groups, int64_t m,
                                   const double* drho, double* dG) {
  const int64_t n = groups * m;
  for (int64_t p = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; p < n;
       p += int64_t(gridDim.x) * blockDim.x) {
    const int64_t g = p / m, i = p % m;
    const T* Gs = Gs_all + g * m * m;
    const T gii = Gs[i * m + i];
    const T norm = sqrt(gii > T(0) ? gii : T(0));
    if (!(norm > T(losses::kNormEps))) continue;
    const double r = double(losses::gram_inv_norm(Gs, m, i));
    dG[g * m * m + i * m + i] += -0.5 * r * r * r * drho[p];
  }
}

// Angle terms at vertex a, block (g, a): slots p, q over all points (full: triple mask, b, c ≠ a)
// or the window around a (window: neighbours from window_neighbour_valid, the real tokens only,
// or window_neighbour when spec.window_pads_counted; cached per block). For each angle
// A = P ι_ab ι_ac: loss += e(A^s, A^t); W = coef e'(A^s, A^t), R = W ι_ab ι_ac:
// dG_bc += R, dG_ab −= R, dG_ac −= R, dG_aa += R; wa[slot] += W A^s for both slots, then per
// slot dD_ax = −½ ι_ax² wa (through ι_ax = D_ax^(−1/2)) spread onto dG_aa, dG_xx, dG_ax.
template <class T>
__global__ void angle_kernel(const T* Gs_all, const T* Gt_all, const T* mask_all, int64_t m,
                             bool window, int64_t w, bool pads_counted, MatchLoss f,
                             double coef, double* loss, double* dG_all) {
  extern __shared__ double wa[];  // [slots] weights, then (window) [slots] neighbour indices
  __shared__ double sh_d[kLossThreads];
  const int64_t g = blockIdx.y, a = blockIdx.x;
  const int64_t S = window ? w : m;
  const T* Gs = Gs_all + g * m * m;
  const T* Gt = Gt_all + g * m * m;
  const T* mask = mask_all + g * m;
  if (mask[a] == T(0)) {
    if (threadIdx.x == 0) loss[g * m + a] = 0;
    return;
  }
  double* dG = dG_all ? dG_all + g * m * m : nullptr;
  long long* nbs = reinterpret_cast<long long*>(wa + S);
  for (int64_t p = threadIdx.x; p < S; p += kLossThreads) {
    if (dG) wa[p] = 0;
    if (window)
      nbs[p] = pads_counted ? losses::window_neighbour(a, p, w, m)
                            : losses::window_neighbour_valid(mask, m, a, p, w);
  }
  __syncthreads();
  auto point = [&](int64_t p) { return window ? int64_t(nbs[p]) : p; };
  auto skip = [&](int64_t b) { return b == a || (!window && mask[b] == T(0)); };
  double part = 0, total = 0;
  for (int64_t pq = threadIdx.x; pq < S * S; pq += kLossThreads) {
    const int64_t p = pq / S, q = pq % S, b = point(p), c = point(q);
    if (skip(b) || skip(c)) continue;
    const T isb = losses::gram_inv_distance(Gs, m, a, b), isc = losses::gram_inv_distance(Gs, m, a, c);
    const T itb = losses::gram_inv_distance(Gt, m, a, b), itc = losses::gram_inv_distance(Gt, m, a, c);
    const T as = losses::gram_angle(Gs, m, a, b, c, isb, isc);
    const T at = losses::gram_angle(Gt, m, a, b, c, itb, itc);
    part += double(losses::match_value(f, as, at));
    if (!dG) continue;
    const T wt = T(coef) * losses::match_grad(f, as, at);
    const double r = double(wt * isb * isc);
    atomicAdd(dG + b * m + c, r);
    atomicAdd(dG + a * m + b, -r);
    atomicAdd(dG + a * m + c, -r);
    total += r;
    atomicAdd(wa + p, double(wt * as));
    atomicAdd(wa + q, double(wt * as));
  }
  part = block_reduce(part, Plus(), sh_d);
  if (threadIdx.x == 0) loss[g * m + a] = coef * part;
  if (!dG) return;
  total = block_reduce(total, Plus(), sh_d);  // also orders the wa updates before their reads
  if (threadIdx.x == 0) atomicAdd(dG + a * m + a, total);
  for (int64_t p = threadIdx.x; p < S; p += kLossThreads) {
    const int64_t x = point(p);
    if (x == a || !(losses::gram_distance(Gs, m, a, x) > T(losses::kNormEps))) continue;
    const double ix = double(losses::gram_inv_distance(Gs, m, a, x));
    const double dD = -0.5 * wa[p] * ix * ix;
    atomicAdd(dG + a * m + a, dD);
    atomicAdd(dG + x * m + x, dD);
    atomicAdd(dG + a * m + x, -2 * dD);
  }
}

template <class T>
__global__ void to_scalar_type_kernel(const double* in, int64_t n, T* out) {
  for (int64_t p = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; p < n;
       p += int64_t(gridDim.x) * blockDim.x)
    out[p] = T(in[p]);
}

// Scratch that frees itself (allocator-backed).
struct Scratch {
  void* p = nullptr;
  std::size_t bytes = 0;
  explicit Scratch(std::size_t b) : bytes(b) { p = b ? scratch(b) : nullptr; }
  ~Scratch() {
    if (p) release(p, bytes);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  double* d() const { return static_cast<double*>(p); }
};

}  // namespace

template <class T>
bool kd_fused(const T* z, const T* v, int64_t N, int64_t C, double temperature, bool soft_ce,
              double coef, T* value, T* grad) {
  if (N <= 0 || C <= 0 || N > int64_t(INT32_MAX)) return false;
  Scratch rows(sizeof(double) * N);
  kd_rows_kernel<T><<<unsigned(N), kLossThreads, 0, stream()>>>(
      z, v, C, T(1.0 / temperature), soft_ce, coef, rows.d(), grad);
  check_launch("kd_loss (fused)");
  sum_parts_kernel<T><<<1, kLossThreads, 0, stream()>>>(rows.d(), N, coef, value);
  check_launch("kd_loss (fused)");
  return true;
}

template <class T>
bool relation_fused(const T* Gs, const T* Gt, const T* mask, int64_t groups, int64_t m,
                    const RelationSpec& spec, T* value, T* dG_out) {
  if (groups <= 0 || m <= 0 || groups > 65535 || m > int64_t(INT32_MAX)) return false;
  const int64_t full_slots = spec.full_angle != 0 ? m : 0;
  const int64_t win_slots = spec.window_angle != 0 ? spec.window : 0;
  if (std::max(full_slots, 2 * win_slots) * int64_t(sizeof(double)) > 40 * 1024) return false;
  const int64_t gm = groups * m, gmm = gm * m;
  Scratch loss(sizeof(double) * 3 * gm);
  check_cuda(cudaMemsetAsync(loss.p, 0, loss.bytes, stream()), "relation loss (fused)");
  Scratch dG(dG_out ? sizeof(double) * gmm : 0), drho(dG_out ? sizeof(double) * gm : 0);
  if (dG_out) {
    check_cuda(cudaMemsetAsync(dG.p, 0, dG.bytes, stream()), "relation loss (fused)");
    check_cuda(cudaMemsetAsync(drho.p, 0, drho.bytes, stream()), "relation loss (fused)");
  }
  const dim3 grid{static_cast<unsigned>(m), static_cast<unsigned>(groups)};
  if (spec.pair != 0) {
    Scratch norms(sizeof(T) * 2 * gm);
    T* rs = static_cast<T*>(norms.p);
    inv_norms_kernel<T><<<grid_for(gm), kThreads, 0, stream()>>>(Gs, Gt, groups, m, rs, rs + gm);
    check_launch("relation pair (fused)");
    const dim3 rows{static_cast<unsigned>((m + kPairRows - 1) / kPairRows),
                    static_cast<unsigned>(groups)};
    pair_kernel<T><<<rows, 32 * kPairRows, 0, stream()>>>(Gs, Gt, mask, rs, rs + gm, m, spec.pair,
                                                          loss.d(), dG.d(), drho.d());
    check_launch("relation pair (fused)");
    if (dG_out) {
      pair_finish_kernel<T><<<grid_for(gm), kThreads, 0, stream()>>>(Gs, groups, m, drho.d(),
                                                                     dG.d());
      check_launch("relation pair (fused)");
    }
  }
  if (spec.full_angle != 0) {
    angle_kernel<T><<<grid, kLossThreads, sizeof(double) * m, stream()>>>(
        Gs, Gt, mask, m, false, 0, false, spec.angle_loss, spec.full_angle, loss.d() + gm,
        dG.d());
    check_launch("relation angle (fused)");
  }
  if (spec.window_angle != 0) {
    angle_kernel<T><<<grid, kLossThreads, 2 * sizeof(double) * spec.window, stream()>>>(
        Gs, Gt, mask, m, true, spec.window, spec.window_pads_counted, spec.angle_loss,
        spec.window_angle, loss.d() + 2 * gm, dG.d());
    check_launch("relation window angle (fused)");
  }
  sum_parts_kernel<T><<<1, kLossThreads, 0, stream()>>>(loss.d(), 3 * gm, 1.0, value);
  check_launch("relation loss (fused)");
  if (dG_out) {
    to_scalar_type_kernel<T><<<grid_for(gmm), kThreads, 0, stream()>>>(dG.d(), gmm, dG_out);
    check_launch("relation loss (fused)");
  }
  return true;
}

#define DST_INST(T)                                                                       \
  template bool kd_fused<T>(const T*, const T*, int64_t, int64_t, double, bool, double, T*, \
                            T*);                                                          \
  template bool relation_fused<T>(const T*, const T*, const T*, int64_t, int64_t,          \
                                  const RelationSpec&, T*, T*);
DST_INST(float)
DST_INST(double)
#undef DST_INST

}  // namespace distillery::cuda_detail
