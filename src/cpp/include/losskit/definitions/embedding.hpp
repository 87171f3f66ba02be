// Losses over pairs and triplets of embeddings: rows of (N, D) arrays compared row by row,
// with gradients for every array (RowwiseCall::second, third). The one per-row definition of
// each; the row-wise driver (drivers/rowwise.hpp) runs them like the multiclass losses.
#pragma once

#include <cmath>

#include "losskit/loss_types.hpp"
#include "losskit/definitions/multiclass.hpp"
#include "losskit/simd/vmath.hpp"

namespace losskit::LOSSKIT_ISA {

// PyTorch cosine_embedding_loss, with m1 = |a|^2 + e, m2 = |b|^2 + e (e = 1e-12, as PyTorch)
// and cos = a.b / sqrt(m1 m2):  y = 1: 1 - cos;  y = -1: max(0, cos - margin).
//   d cos / d a_c = b_c / sqrt(m1 m2) - cos a_c / m1   (and symmetrically for b)
//   d2 cos / d a_c2 = -2 a_c b_c / (m1 sqrt(m1 m2)) + 3 cos a_c^2 / m1^2 - cos / m1
// times dl/dcos = -1 (y = 1) or [cos - margin >= 0] (y = -1; PyTorch's clamp_min passes the
// gradient at the kink). The sums are taken in float64.
template <class T> struct CosineEmbeddingRows {
  static constexpr LossInfo kInfo = with_params([] {
    LossInfo d;
    d.name = "cosine_embedding";
    d.torch_function = "cosine_embedding_loss";
    d.convex = false;
    d.class_name = "CosineEmbeddingLoss";
    d.family = LossFamily::rowwise;
    d.task = "embedding";
    d.arity = 3;
    d.input_name = "input1";
    d.operands = "input2";
    d.row_target = RowTarget::signs;
    d.summary = "Cosine embedding loss of pairs of rows (N, D) with targets +1 (similar) / -1.";
    d.formula = "1 - cos(x1, x2) if y = 1, max(0, cos(x1, x2) - margin) if y = -1";
    d.math = R"(\ell_i = \begin{cases} 1 - \cos(a_i, b_i) & y_i = 1 \\
\max(0,\ \cos(a_i, b_i) - \mathrm{margin}) & y_i = -1 \end{cases})";
    d.notes = R"(Same as ``torch.nn.functional.cosine_embedding_loss`` (the squared norms get 1e-12 added, as
there). Called as ``loss(input1, input2, target)`` with ``target`` of shape (N,), each +1 or
-1; ``value_and_grads`` gives the gradients in both inputs. "mean" divides by N.)";
    return d;
  }(), {real_param("margin", 0.0, Interval{-1, 1, true, true},
                   "The cosine above which dissimilar pairs (y = -1) are penalised, in [-1, 1].")});
  static constexpr bool kLabelWeightedMean = false;
  static constexpr bool kHonoursIgnoreIndex = false;
  const RowContext<T> ctx;
  double margin;
  CosineEmbeddingRows(const LossParams& p, const RowwiseCall<T>& c) : ctx{c}, margin(p.values[0]) {}

  LOSSKIT_INLINE double rows(std::size_t r0, std::size_t r1, double grad_scale) const {
    const RowwiseCall<T>& c = ctx.c;
    const std::size_t D = c.classes;
    const bool floored = c.hessian == Hessian::positive;
    const double e = double(T(1e-12));
    double total = 0;
    for (std::size_t r = r0; r < r1; ++r) {
      const T* a = c.input + r * D;
      const T* b = c.second + r * D;
      Accumulator<T> ab, aa, bb;
      vectors<T>(0, D, [&](const auto& L) {
        const Vec<T> u = L.ld(a), v = L.ld(b);
        ab.add(u * v);
        aa.add(u * u);
        bb.add(v * v);
      });
      const double m1 = aa.sum() + e, m2 = bb.sum() + e, inv = 1 / std::sqrt(m1 * m2);
      const double cos = ab.sum() * inv;
      const bool similar = c.target[r] == T(1);
      const double value = similar ? 1 - cos : (cos - margin > 0 ? cos - margin : cos != cos ? cos : 0);
      const double slope = similar ? -1 : cos - margin >= 0 ? 1 : cos != cos ? cos : 0;
      const double s = double(ctx.sample_weight(r));
      const double k = grad_scale * s * slope;
      if (c.grad_out) {
        T* ga = c.grad_out + r * D;
        T* gb = c.grad_second_out;
        if (gb) gb += r * D;
        const Vec<T> cross = splat<T>(T(k * inv)), own_a = splat<T>(T(k * cos / m1)),
                     own_b = splat<T>(T(k * cos / m2));
        vectors<T>(0, D, [&](const auto& L) {
          const Vec<T> u = L.ld(a), v = L.ld(b);
          L.st(ga, cross * v - own_a * u);
          if (gb) L.st(gb, cross * u - own_b * v);
        });
      }
      if (c.hess_out) {  // per unit of row weight, floored, then times the row weight
        T* h = c.hess_out + r * D;
        const Vec<T> mixed = splat<T>(T(-2 * slope * inv / m1)),
                     square = splat<T>(T(3 * slope * cos / (m1 * m1))),
                     constant = splat<T>(T(-slope * cos / m1)), w = splat<T>(T(grad_scale * s));
        vectors<T>(0, D, [&](const auto& L) {
          const Vec<T> u = L.ld(a), v = L.ld(b);
          L.st(h, w * floor_curvature<T>(fma(mixed, u * v, fma(square, u * u, constant)), floored));
        });
      }
      if (c.value_out) c.value_out[r] = T(s * value);
      total += s * value;
    }
    return total;
  }
};

// The p-norm of rows of differences d = x1 - x2 + eps (PyTorch's pairwise_distance), and its
// derivatives in d: with N = |d|_p,
//   dN/dd_c = sign(d_c) |d_c|^(p-1) / N^(p-1),   d2N/dd_c2 = (p-1) (|d_c|^(p-2) / N^(p-1) - (dN/dd_c)^2 / N)
// (p = 2: d_c / N and (1 - (d_c/N)^2) / N; p = 1: sign(d_c) and 0). N = 0 has derivatives 0
// (PyTorch's norm backward). kP: 1, 2, or 0 for any other p >= 1.
template <class T, int kP> struct PNorm {
  T p;
  LOSSKIT_INLINE Vec<T> power(Vec<T> d) const {  // |d|^p
    if constexpr (kP == 2) return d * d;
    else if constexpr (kP == 1) return abs<T>(d);
    else return vexp<T>(p * vlog<T>(abs<T>(d)));
  }
  static double norm(double sum_of_powers, double p) {
    return kP == 2 ? std::sqrt(sum_of_powers) : kP == 1 ? sum_of_powers : std::pow(sum_of_powers, 1 / p);
  }
  // d N / d d_c with inv = 1 / N^(p-1) (0 where N = 0).
  LOSSKIT_INLINE Vec<T> slope(Vec<T> d, Vec<T> inv) const {
    if constexpr (kP == 2) return d * inv;
    else if constexpr (kP == 1) return select<Vec<T>>(inv == T(0), inv, sign<T>(d));
    else return copysign<T>(vexp<T>((p - T(1)) * vlog<T>(abs<T>(d))), d) * inv;
  }
  // d2 N / d d_c2 from the slope, inv = 1 / N^(p-1) and inv_n = 1 / N (0 where N = 0).
  LOSSKIT_INLINE Vec<T> curvature(Vec<T> d, Vec<T> slope, Vec<T> inv, Vec<T> inv_n) const {
    if constexpr (kP == 2) return (T(1) - slope * slope) * inv_n;
    else if constexpr (kP == 1) return splat<T>(0);
    else return (p - T(1)) * (vexp<T>((p - T(2)) * vlog<T>(abs<T>(d))) * inv - slope * slope * inv_n);
  }
};

// PyTorch triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap):
//   max(0, margin + N(a - q + eps) - M),  M = N(a - n + eps), or with swap the smaller of M and
//   N(q - n + eps) (ties split the gradient in half, as PyTorch's minimum),
// N the p-norm above. Gradients (where margin + ... >= 0: PyTorch's clamp_min passes the kink):
//   anchor: G(dp) - wn G(dn);  positive: -G(dp) - ws G(ds);  negative: wn G(dn) + ws G(ds)
// with G = dN/dd and wn + ws = 1 the shares of the minimum. The Hessian's diagonal in the
// anchor is H(dp) - wn H(dn) (H = d2N/dd2). The sums are taken in float64.
template <class T> struct TripletMarginRows {
  static constexpr LossInfo kInfo = with_params([] {
    LossInfo d;
    d.name = "triplet_margin";
    d.torch_function = "triplet_margin_loss";
    d.convex = false;
    d.class_name = "TripletMarginLoss";
    d.family = LossFamily::rowwise;
    d.task = "embedding";
    d.arity = 3;
    d.input_name = "anchor";
    d.operands = "positive,negative";
    d.row_target = RowTarget::none;
    d.summary = "Triplet margin loss of anchor, positive and negative rows (N, D).";
    d.formula = "max(0, margin + |a - p + eps|_p - |a - n + eps|_p)";
    d.math = R"(\ell_i = \max\big(0,\ \mathrm{margin} + \lVert a_i - p_i + \varepsilon\rVert_p
  - \lVert a_i - n_i + \varepsilon\rVert_p\big))";
    d.notes = R"(Same as ``torch.nn.functional.triplet_margin_loss`` (PyTorch's pairwise_distance: eps is added
to each difference). With ``swap``, the negative distance is the smaller of :math:`\lVert a - n\rVert` and
:math:`\lVert p - n\rVert` (Balntas et al., 2016). Called as ``loss(anchor, positive, negative)``;
``value_and_grads`` gives the gradients in all three. "mean" divides by N.)";
    return d;
  }(), {real_param("margin", 1.0, kReals, "The margin between positive and negative distances."),
        real_param("p", 2.0, Interval{1, kInf, true, false}, "The norm's degree, 1 or more."),
        real_param("eps", 1e-6, kReals, "Added to each difference before its norm is taken."),
        bool_param("swap", false, "Use the smaller of the anchor's and the positive's distance to "
                                  "the negative.")});
  static constexpr bool kLabelWeightedMean = false;
  static constexpr bool kHonoursIgnoreIndex = false;
  const RowContext<T> ctx;
  double margin, p;
  T eps;
  bool swap;
  TripletMarginRows(const LossParams& q, const RowwiseCall<T>& c)
      : ctx{c}, margin(q.values[0]), p(q.values[1]), eps(T(q.values[2])), swap(q.values[3] != 0) {}

  LOSSKIT_INLINE double rows(std::size_t r0, std::size_t r1, double grad_scale) const {
    if (p == 2) return rows_of<2>(r0, r1, grad_scale);
    if (p == 1) return rows_of<1>(r0, r1, grad_scale);
    return rows_of<0>(r0, r1, grad_scale);
  }

 private:
  // A distance and the factors of its derivatives.
  struct Distance {
    double norm;
    Vec<T> inv;    // 1 / N^(p-1), 0 where N = 0
    Vec<T> inv_n;  // 1 / N, 0 where N = 0
  };
  template <int kP> static Distance distance(double sum, double p) {
    const double n = PNorm<T, kP>::norm(sum, p);
    const bool zero = n == 0;
    const double inv = zero ? 0 : kP == 2 ? 1 / n : kP == 1 ? 1 : std::pow(n, 1 - p);
    return {n, splat<T>(T(inv)), splat<T>(T(zero ? 0 : 1 / n))};
  }

  template <int kP>
  LOSSKIT_INLINE double rows_of(std::size_t r0, std::size_t r1, double grad_scale) const {
    const RowwiseCall<T>& c = ctx.c;
    const std::size_t D = c.classes;
    const PNorm<T, kP> norm{T(p)};
    const Vec<T> e = splat<T>(eps);
    const bool floored = c.hessian == Hessian::positive;
    double total = 0;
    for (std::size_t r = r0; r < r1; ++r) {
      const T* a = c.input + r * D;
      const T* q = c.second + r * D;
      const T* n = c.third + r * D;
      Accumulator<T> sp, sn, ss;
      vectors<T>(0, D, [&](const auto& L) {
        const Vec<T> av = L.ld(a), qv = L.ld(q), nv = L.ld(n);
        sp.add(L.keep(norm.power(av - qv + e)));
        sn.add(L.keep(norm.power(av - nv + e)));
        if (swap) ss.add(L.keep(norm.power(qv - nv + e)));
      });
      const Distance dp = distance<kP>(sp.sum(), p), dn = distance<kP>(sn.sum(), p);
      const Distance ds = swap ? distance<kP>(ss.sum(), p) : dn;
      // shares of the minimum of the negative distances (all to dn without swap, or for NaN)
      const double wn = !swap || !(ds.norm <= dn.norm) ? 1 : ds.norm == dn.norm ? 0.5 : 0;
      const double ws = 1 - wn;
      const double z = margin + dp.norm - (ws == 1 ? ds.norm : dn.norm);  // (a tie: equal)
      const double value = z > 0 || z != z ? z : 0;
      const double s = double(ctx.sample_weight(r));
      const double k = z >= 0 || z != z ? grad_scale * s : 0;
      if (c.grad_out) {
        T* ga = c.grad_out + r * D;
        T* gq = c.grad_second_out ? c.grad_second_out + r * D : nullptr;
        T* gn = c.grad_third_out ? c.grad_third_out + r * D : nullptr;
        const Vec<T> kv = splat<T>(T(k)), kn = splat<T>(T(k * wn)), ks = splat<T>(T(k * ws));
        vectors<T>(0, D, [&](const auto& L) {
          const Vec<T> av = L.ld(a), qv = L.ld(q), nv = L.ld(n);
          const Vec<T> gp = norm.slope(av - qv + e, dp.inv);
          const Vec<T> gneg = norm.slope(av - nv + e, dn.inv);
          L.st(ga, kv * gp - kn * gneg);
          if (gq) {
            Vec<T> to_q = -(kv * gp);
            Vec<T> to_n = kn * gneg;
            if (swap) {
              const Vec<T> gs = norm.slope(qv - nv + e, ds.inv);
              to_q -= ks * gs;
              to_n += ks * gs;
            }
            L.st(gq, to_q);
            L.st(gn, to_n);
          }
        });
      }
      if (c.hess_out) {  // per unit of row weight, floored, then times the row weight
        T* h = c.hess_out + r * D;
        const Vec<T> active = splat<T>(T(k != 0 ? 1 : 0)), share = splat<T>(T(wn)),
                     w = splat<T>(T(grad_scale * s));
        vectors<T>(0, D, [&](const auto& L) {
          const Vec<T> av = L.ld(a);
          const Vec<T> d1 = av - L.ld(q) + e, d2 = av - L.ld(n) + e;
          const Vec<T> h1 = norm.curvature(d1, norm.slope(d1, dp.inv), dp.inv, dp.inv_n);
          const Vec<T> h2 = norm.curvature(d2, norm.slope(d2, dn.inv), dn.inv, dn.inv_n);
          L.st(h, w * floor_curvature<T>(active * (h1 - share * h2), floored));
        });
      }
      if (c.value_out) c.value_out[r] = T(s * value);
      total += s * value;
    }
    return total;
  }
};

}  // namespace losskit::LOSSKIT_ISA

// The losses this file defines, in registry order.
#define LOSSKIT_EMBEDDING_LOSSES(X) X(CosineEmbeddingRows) X(TripletMarginRows)
