// Losses over the rows of (N, C) scores: the one per-row definition of each. A row loss
// processes a range of rows: it writes the gradient rows (already multiplied by the reduction
// scale and the sample weight) and returns the sum of the sample-weighted row losses, adding
// rows in order (so a block's sum never depends on the thread that ran it).
#pragma once

#include <algorithm>
#include <limits>
#include <vector>

#include "losskit/loss_types.hpp"
#include "losskit/definitions/classification.hpp"
#include "losskit/simd/vmath.hpp"

namespace losskit::LOSSKIT_ISA {

// Lanes of the vector starting at column i that lie inside a row of `classes` columns.
template <class T> LOSSKIT_INLINE std::size_t lanes_at(std::size_t i, std::size_t classes) {
  return classes - i < kLanes<T> ? classes - i : kLanes<T>;
}
template <class T> LOSSKIT_INLINE Vec<T> load_row(const T* p, std::size_t i, std::size_t lanes) {
  return lanes == kLanes<T> ? load<T>(p + i) : load_partial<T>(p + i, lanes);
}
template <class T> LOSSKIT_INLINE void store_row(T* p, std::size_t i, std::size_t lanes, Vec<T> v) {
  if (lanes == kLanes<T>) store<T>(p + i, v);
  else store_partial<T>(p + i, lanes, v);
}

// max over a row (lanes past the row count as -inf). A NaN may be skipped here; it still
// reaches the result through exp(x - max).
template <class T> LOSSKIT_INLINE T row_max(const T* x, std::size_t classes) {
  const Vec<T> ninf = splat<T>(-std::numeric_limits<T>::infinity());
  Vec<T> m = ninf;
  vectors<T>(0, classes, [&](const auto& L) { m = max_or_second<T>(L.keep(L.ld(x), ninf), m); });
  return reduce_max(m);
}

// A row's sums are taken in plain lanes. Short rows (few terms per lane, and the per-row cost
// matters) reduce those directly; long ones (accuracy over thousands of terms) add them into
// float64 lanes after every kRowSumChunk vectors: widening every vector costs more than the
// exponential's arithmetic, and a partial sum of 16 terms per lane loses nothing that matters.
inline constexpr std::size_t kShortRow = 64;
inline constexpr std::size_t kRowSumChunk = 16;
template <class T, bool kWide> struct RowSum {
  Accumulator<T> acc;
  // Long rows: moves the partial sum into the float64 lanes (and clears it).
  LOSSKIT_INLINE void absorb(Vec<T>& part) {
    if constexpr (kWide) {
      acc.add(part);
      part = Vec<T>{};
    }
  }
  LOSSKIT_INLINE T sum(Vec<T> part) {
    if constexpr (kWide) {
      acc.add(part);
      return T(acc.sum());
    } else {
      return reduce_sum(part);
    }
  }
};

template <class T> LOSSKIT_INLINE void zero_row(T* g, std::size_t classes) {
  vectors<T>(0, classes, [&](const auto& L) { L.st(g, splat<T>(0)); });
}

// Transposes a kLanes x kLanes tile held as kLanes vectors (tile[i][j] <-> tile[j][i]) in
// log2(kLanes) stages; stage H swaps the off-diagonal H x H blocks of rows i and i + H with
// two-source shuffles.
template <std::size_t H, class V, std::size_t... I>
LOSSKIT_INLINE void swap_blocks(V& a, V& b, std::index_sequence<I...>) {
  constexpr std::size_t L = sizeof...(I);
  const V low = __builtin_shufflevector(a, b, ((I & H) ? L + I - H : I)...);
  const V high = __builtin_shufflevector(a, b, ((I & H) ? L + I : I + H)...);
  a = low;
  b = high;
}
template <std::size_t H, class T> LOSSKIT_INLINE void transpose_stage(Vec<T>* tile) {
  if constexpr (H > 0) {
    for (std::size_t i = 0; i < kLanes<T>; ++i)
      if (!(i & H)) swap_blocks<H>(tile[i], tile[i + H], std::make_index_sequence<kLanes<T>>());
    transpose_stage<H / 2, T>(tile);
  }
}
template <class T> LOSSKIT_INLINE void transpose_tile(Vec<T>* tile) {
  transpose_stage<kLanes<T> / 2, T>(tile);
}

// What the driver hands a row loss: the call, and per row its label (or -1 when the row has a
// probability target) and whether it is ignored.
template <class T> struct RowContext {
  RowwiseCall<T> c;  // a copy: see evaluate_rowwise
  T label_weight(std::int64_t y) const { return c.class_weight ? c.class_weight[y] : T(1); }
  T sample_weight(std::size_t r) const { return c.sample_weight ? c.sample_weight[r] : T(1); }
  bool ignored(std::size_t r) const { return c.labels && c.labels[r] == c.ignore_index; }
};

// max(h, kPositiveCurvature) for Hessian::positive (NaN stays NaN).
template <class T> LOSSKIT_INLINE Vec<T> floor_curvature(Vec<T> h, bool floored) {
  if (!floored) return h;
  const T tiny = T(kPositiveCurvature);
  return select<Vec<T>>(h < tiny, splat<T>(tiny), h);
}

// p (1 - p), floored at kPositiveCurvature for Hessian::positive.
template <class T> LOSSKIT_INLINE Vec<T> softmax_curvature(Vec<T> p, bool floored) {
  return floor_curvature<T>(p * (T(1) - p), floored);
}

// Poly-1's curvature per unit of row weight, with q = eps p_y and onehot = [c = y]:
// d2/dx_c2 (lse - x_y + eps (1 - p_y)) = p_c (1 - p_c) (1 + q) - q (p_c - [c = y])^2.
template <class T>
LOSSKIT_INLINE Vec<T> poly_curvature(Vec<T> p, Vec<T> onehot, Vec<T> q, bool floored) {
  const Vec<T> d = p - onehot;
  return floor_curvature<T>(p * (T(1) - p) * (T(1) + q) - q * d * d, floored);
}

// PyTorch cross_entropy over logits x, with lse = log sum_c exp(x_c), class weights w (W their
// sum), label smoothing eps (e = eps / C), sample weight s:
//   label y:        (1-eps) w_y (lse - x_y) + e (W lse - sum_c w_c x_c)
//                   d/dx_c = p_c ((1-eps) w_y + e W) - (1-eps) w_y [c = y] - e w_c
//   probabilities:  t'_c = (1-eps) t_c + e;  (sum_c w_c t'_c) lse - sum_c w_c t'_c x_c
//                   d/dx_c = p_c sum_k w_k t'_k - w_c t'_c
// with p = softmax(x) = exp(x - max) / sum. The diagonal of the row's Hessian is
// p_c (1 - p_c) times the row's target weight (sum_k w_k t'_k, or (1-eps) w_y + e W).
// The same rows serve Poly-1 (`poly` = its epsilon, labels, no weights or smoothing): it adds
// eps (1 - p_y) = -eps expm1(-ce) to the row's cross-entropy ce = lse - x_y, and since
// d p_y / dx_c = p_y ([c = y] - p_c) its gradient is the cross-entropy's times 1 + eps p_y.
// One read of the row for the max, one for the
// exponentials (written straight into the gradient row and summed in float64), one in-cache
// pass to scale them: softmax is never stored separately. Rows go in groups of one vector so
// that the logs of the sums are one vector log. Logits of -inf get probability 0 and gradient
// 0; the smoothing terms are skipped entirely when eps = 0 (0 * inf would be NaN).
template <class T> struct CrossEntropyRows {
  static constexpr LossInfo kInfo = with_params([] {
    LossInfo d;
    d.name = "cross_entropy";
    d.torch_function = "cross_entropy";
    d.probability_targets = true;
    d.spatial = true;
    d.class_name = "CrossEntropyLoss";
    d.family = LossFamily::rowwise;
    d.task = "classification";
    d.probabilistic = true;
    d.summary = "Softmax cross-entropy over logits of shape (N, C).";
    d.formula = "logsumexp(s) - s_y";
    d.math = R"(\ell_i = (1-\epsilon)\, w_{y}(\mathrm{lse} - x_{y})
         + \tfrac{\epsilon}{C}\,\Big(W\,\mathrm{lse} - \sum_c w_c x_c\Big))";
    d.notes = R"(With :math:`\mathrm{lse} = \log\sum_c e^{x_c}`, class weights :math:`w` (sum :math:`W`) and
label smoothing :math:`\epsilon`, for an integer label :math:`y`; for a probability row
:math:`t` (smoothed to :math:`t' = (1-\epsilon) t + \epsilon/C`):
:math:`\ell_i = -\sum_c w_c t'_c (x_c - \mathrm{lse})`.

Same as ``torch.nn.functional.cross_entropy``: "mean" divides by the summed weight
:math:`w_{y_i}` of the rows not ignored (by N for probability targets); rows whose label is
``ignore_index`` contribute nothing. Logits may be -inf on classes that are not the target
(masking): their probability and gradient are 0. Exact for logits of any size.)";
    return d;
  }(), {class_weight_param(), ignore_index_param(),
        real_param("label_smoothing", 0.0, kUnit, "Weight of the uniform distribution mixed "
                   "into the target.")});
  static constexpr bool kLabelWeightedMean = true;  // mean divides by sum of s_i w[y_i]
  static constexpr bool kHonoursIgnoreIndex = true;
  const RowContext<T> ctx;
  T smoothing, eps_per_class, weight_total;
  T poly;  // Poly-1's epsilon; 0 for cross-entropy

  bool one_vector_rows;  // see short_rows

  CrossEntropyRows(const LossParams& p, const RowwiseCall<T>& c)
      : CrossEntropyRows(c, p.values[0], 0) {}

 protected:
  CrossEntropyRows(const RowwiseCall<T>& c, double label_smoothing, double poly_epsilon)
      : ctx{c}, smoothing(T(label_smoothing)),
        eps_per_class(T(label_smoothing / double(c.classes))), poly(T(poly_epsilon)),
        one_vector_rows(c.labels && !c.target && label_smoothing == 0 && c.classes > 0 &&
                        c.classes <= kLanes<T>) {
    double total = double(c.classes);
    if (c.class_weight) {
      total = 0;
      for (std::size_t k = 0; k < c.classes; ++k) total += c.class_weight[k];
    }
    weight_total = T(total);
  }

 public:

  // Sums are taken relative to the row's max (x_c - max), so that the loss, computed as
  // log(sum_exp) - (x_y - max), has the rounding error of its own size, not of the logits'.
  struct RowSums {
    T max, sum_exp, sum_wd, sum_wt;  // sum_wd: sum w_c (x_c - max) (labels; probs: w_c t'_c)
  };

  // w_c t'_c (probabilities) or w_c (labels with smoothing) over one vector L of a row.
  template <class L> LOSSKIT_INLINE Vec<T> class_weights(const T* t, const L& lanes) const {
    const RowwiseCall<T>& c = ctx.c;
    Vec<T> w = c.class_weight ? lanes.ld(c.class_weight) : splat<T>(1);
    if (t) w *= fma(splat<T>(T(1) - smoothing), lanes.ld(t), splat<T>(eps_per_class));
    return w;
  }

  // max, sum exp(x - max) (stored into g when kStore) and the weighted sums a row needs
  // (kWeighted: probability targets or smoothing).
  template <bool kStore, bool kWide, bool kWeighted>
  LOSSKIT_INLINE RowSums scan_row(const T* x, const T* t, T* g) const {
    const T m = row_max<T>(x, ctx.c.classes);
    // The partial sums are locals of this loop (in a RowSum they would live in memory: one
    // store-to-load round trip per vector).
    Vec<T> part_exp = {}, part_wd = {}, part_wt = {};
    const auto body = [&](const auto& L) {
      const Vec<T> v = L.ld(x);
      const Vec<T> e = L.keep(vexp<T>(v - m));
      part_exp += e;
      if constexpr (kStore) L.st(g, e);
      if constexpr (kWeighted) {
        const Vec<T> w = L.keep(class_weights(t, L));
        part_wt += w;
        part_wd += select<Vec<T>>(w == T(0), splat<T>(0), w * (v - m));  // 0 * -inf counts as 0
      }
    };
    RowSum<T, kWide> sum_exp, sum_wd, sum_wt;
    const std::size_t C = ctx.c.classes;
    std::size_t i = 0;
    if constexpr (kWide) {
      for (constexpr std::size_t kStep = kRowSumChunk * kLanes<T>; i + kStep <= C; i += kStep) {
        vectors<T>(i, i + kStep, body);
        sum_exp.absorb(part_exp);
        if constexpr (kWeighted) {
          sum_wd.absorb(part_wd);
          sum_wt.absorb(part_wt);
        }
      }
    }
    vectors<T>(i, C, body);
    return {m, sum_exp.sum(part_exp), sum_wd.sum(part_wd), sum_wt.sum(part_wt)};
  }
  LOSSKIT_INLINE RowSums scan(std::size_t r, T* g) const {
    const RowwiseCall<T>& c = ctx.c;
    const T* x = c.input + r * c.classes;
    const T* t = c.target ? c.target + r * c.classes : nullptr;
    return with_flags([&](auto store, auto wide, auto weighted) {
      return scan_row<store, wide, weighted>(x, t, g);
    }, g != nullptr, c.classes > kShortRow, t || smoothing != T(0));
  }

  // The row's loss (before the sample weight) and its scaled gradient, from scan() and
  // log_sum = log(sum_exp), i.e. lse - max. k (the reduction scale times the sample weight)
  // is in double, and so are the row's gradient factors until they are rounded.
  LOSSKIT_INLINE T finish(std::size_t r, const RowSums& s, T log_sum, T* g, double k) const {
    const RowwiseCall<T>& c = ctx.c;
    const std::size_t C = c.classes;
    const T* x = c.input + r * C;
    T* h = c.hess_out ? c.hess_out + r * C : nullptr;
    T value, p_scale;
    double g_y = 0;
    std::int64_t y = -1;
    T poly_py = 0;  // Poly-1: eps p_y
    if (c.target) {
      value = s.sum_wt * log_sum - s.sum_wd;
      p_scale = s.sum_wt;
    } else {
      y = c.labels[r];
      const T wy = ctx.label_weight(y);
      const T ce = log_sum - (x[y] - s.max);
      value = (T(1) - smoothing) * wy * ce;
      if (smoothing != T(0)) value += eps_per_class * (weight_total * log_sum - s.sum_wd);
      p_scale = (T(1) - smoothing) * wy + eps_per_class * weight_total;
      if (poly != T(0)) {
        value -= poly * std::expm1(-ce);
        poly_py = poly * std::exp(-ce);
        p_scale *= T(1) + poly_py;
      }
      g_y = k * double(T(1) - smoothing) * double(wy);
      if (poly != T(0)) g_y *= double(T(1) + poly_py);
    }
    if (h) {  // from the exponentials in g, before they become the gradient
      const Vec<T> inv_sum = splat<T>(T(1) / s.sum_exp);
      const bool floored = c.hessian == Hessian::positive;
      if (poly != T(0)) {  // per unit of row weight (the curvature is not p_scale's multiple)
        const Vec<T> row_scale = splat<T>(T(k));
        const Vec<T> q = splat<T>(poly_py);
        vectors<T>(0, C, [&](const auto& L) {
          const Vec<T> p = L.ld(g) * inv_sum;
          L.st(h, row_scale * poly_curvature<T>(p, splat<T>(0), q, floored));
        });
        const Vec<T> py = splat<T>(g[y] / s.sum_exp);
        h[y] = T(k) * poly_curvature<T>(py, splat<T>(1), q, floored)[0];
      } else {
        const Vec<T> row_scale = splat<T>(T(k * double(p_scale)));
        vectors<T>(0, C, [&](const auto& L) {
          const Vec<T> p = L.ld(g) * inv_sum;
          L.st(h, row_scale * softmax_curvature<T>(p, floored));
        });
      }
    }
    if (g) {
      const Vec<T> a = splat<T>(T(k * double(p_scale) / double(s.sum_exp)));
      const T* t = c.target ? c.target + r * C : nullptr;
      with_flags([&](auto weighted) {
        vectors<T>(0, C, [&](const auto& L) {
          Vec<T> gv = L.ld(g) * a;
          if constexpr (weighted) {
            const Vec<T> w = class_weights(t, L);
            gv = fma(splat<T>(T(-k)), t ? w : w * eps_per_class, gv);
          }
          L.st(g, gv);
        });
      }, t || smoothing != T(0));
      if (y >= 0) g[y] -= T(g_y);
    }
    return value;
  }

  // Integer labels, no smoothing, rows of at most one vector (a classifier head, C = 10): a
  // tile of kLanes rows is transposed in registers so that each vector holds one class of
  // kLanes rows. Max, exp, sum, log and gradient are then plain lane-wise arithmetic (no
  // horizontal reductions, one vector log per tile) and the gradient tile is transposed back.
  // Per element the arithmetic is scan() and finish()'s, except that a row's exponentials are
  // summed class by class in order, and the rows' values in float64 lanes (a fixed order too).
  LOSSKIT_INLINE double short_rows(std::size_t r0, std::size_t r1, double grad_scale) const {
    const RowwiseCall<T>& c = ctx.c;
    const std::size_t C = c.classes;
    constexpr std::size_t G = kLanes<T>;
    const Vec<T> ninf = splat<T>(-std::numeric_limits<T>::infinity());
    const Vec<T> lane = lane_indices<T>(std::make_index_sequence<G>());
    const Vec<T> class_weights = c.class_weight ? load_row<T>(c.class_weight, 0, C) : Vec<T>{};
    const bool weighted = c.sample_weight || c.class_weight;
    Accumulator<T> total;
    double weighted_total = 0;
    for (std::size_t g0 = r0; g0 < r1; g0 += G) {
      const std::size_t gn = r1 - g0 < G ? r1 - g0 : G;
      // Rows past the block are zeros (harmless arithmetic, masked out below). A label as T
      // compares with the ignore_index as T without confusion: valid labels are below 16.
      Vec<T> tile[G];
      alignas(sizeof(Vec<T>)) T label[G];
      for (std::size_t j = 0; j < G; ++j) {
        tile[j] = j < gn ? load_row<T>(c.input + (g0 + j) * C, 0, C) : splat<T>(0);
        label[j] = j < gn ? T(c.labels[g0 + j]) : T(-1);
      }
      transpose_tile<T>(tile);
      const Vec<T> labels = load<T>(label);
      const auto counted = (lane < T(gn)) & (labels != T(c.ignore_index));
      // Per row: s w_y (the value's weight) and k s w_y (the gradient's), 0 where not counted.
      const Vec<T> sw = c.sample_weight ? load_row<T>(c.sample_weight + g0, 0, gn) : splat<T>(1);
      // (Clamped into [0, G) first: an ignore_index label converts to an integer too.)
      const Vec<T> index = min_or_second<T>(splat<T>(T(G - 1)), max_or_second<T>(labels, splat<T>(0)));
      const Vec<T> wy = c.class_weight
          ? __builtin_shuffle(class_weights, __builtin_convertvector(index, Mask<T>))
          : splat<T>(1);
      Vec<T> weight = select<Vec<T>>(counted, splat<T>(1), splat<T>(0));
      Vec<T> scaled = select<Vec<T>>(counted, splat<T>(T(grad_scale)), splat<T>(0));
      alignas(sizeof(Vec<T>)) double row_weight[G] = {};
      if (weighted) {  // s w_y in double (exact for float), then k s w_y rounded once
        for (std::size_t j = 0; j < G; ++j) {
          row_weight[j] = counted[j] ? double(sw[j]) * double(wy[j]) : 0;
          weight[j] = T(row_weight[j]);
          scaled[j] = T(grad_scale * row_weight[j]);
        }
      }
      // The class loops run over all kLanes vectors, unrolled, with a test against C: the tile
      // stays in registers (a loop to the run-time C would keep it in memory).
      Vec<T> m = ninf, label_logit = splat<T>(0);
#pragma GCC unroll 16
      for (std::size_t k = 0; k < G; ++k) {
        if (k >= C) break;
        m = max_or_second<T>(tile[k], m);  // as row_max: skips NaN
        label_logit = select<Vec<T>>(labels == T(k), tile[k], label_logit);
      }
      Vec<T> sum = splat<T>(0);
#pragma GCC unroll 16
      for (std::size_t k = 0; k < G; ++k) {
        if (k >= C) break;
        tile[k] = vexp<T>(tile[k] - m);
        sum += tile[k];
      }
      Vec<T> losses = vlog<T>(sum) - (label_logit - m);
      // Poly-1: eps p_y, and the gradient's factor 1 + eps p_y (see finish)
      Vec<T> poly_py = splat<T>(0), grad_factor = splat<T>(1);
      if (poly != T(0)) {
        poly_py = poly * vexp<T>(-losses);
        grad_factor += poly_py;
        losses -= poly * vexpm1<T>(-losses);
      }
      const Vec<T> values = select<Vec<T>>(counted, weight * losses, splat<T>(0));
      if (c.hess_out) {
        Vec<T> hess[G];
        const Vec<T> inv_sum = T(1) / sum;
        const bool floored = c.hessian == Hessian::positive;
#pragma GCC unroll 16
        for (std::size_t k = 0; k < G; ++k) {
          const Vec<T> p = tile[k] * inv_sum;
          const Vec<T> onehot = select<Vec<T>>(labels == T(k), splat<T>(1), splat<T>(0));
          hess[k] = k >= C ? splat<T>(0)
                    : poly != T(0) ? scaled * poly_curvature<T>(p, onehot, poly_py, floored)
                                   : scaled * softmax_curvature<T>(p, floored);
        }
        transpose_tile<T>(hess);
        for (std::size_t j = 0; j < gn; ++j) store_row<T>(c.hess_out + (g0 + j) * C, 0, C, hess[j]);
      }
      if (c.grad_out) {
        if (poly != T(0)) scaled *= grad_factor;
        const Vec<T> scale = scaled / sum;
#pragma GCC unroll 16
        for (std::size_t k = 0; k < G; ++k) {
          tile[k] = k < C ? tile[k] * scale - select<Vec<T>>(labels == T(k), scaled, splat<T>(0))
                          : splat<T>(0);
        }
        transpose_tile<T>(tile);
        for (std::size_t j = 0; j < gn; ++j) store_row<T>(c.grad_out + (g0 + j) * C, 0, C, tile[j]);
      }
      if (c.value_out) store_row<T>(c.value_out + g0, 0, gn, values);
      if (weighted) {  // s w_y l in double: a tiny s w_y would lose its bits as a float
        for (std::size_t j = 0; j < gn; ++j)
          if (counted[j]) weighted_total += row_weight[j] * double(losses[j]);
      } else {
        total.add(values);
      }
    }
    return weighted ? weighted_total : total.sum();
  }

  LOSSKIT_INLINE double rows(std::size_t r0, std::size_t r1, double grad_scale) const {
    if (one_vector_rows) return short_rows(r0, r1, grad_scale);
    const RowwiseCall<T>& c = ctx.c;
    const std::size_t C = c.classes;
    constexpr std::size_t G = kLanes<T>;
    double total = 0;
    for (std::size_t g0 = r0; g0 < r1; g0 += G) {
      const std::size_t gn = r1 - g0 < G ? r1 - g0 : G;
      RowSums sums[G];
      Vec<T> s = splat<T>(1);
      for (std::size_t j = 0; j < gn; ++j) {
        const std::size_t r = g0 + j;
        if (ctx.ignored(r)) continue;
        sums[j] = scan(r, c.grad_out ? c.grad_out + r * C : nullptr);
        s[j] = sums[j].sum_exp;
      }
      const Vec<T> log_s = vlog<T>(s);
      for (std::size_t j = 0; j < gn; ++j) {
        const std::size_t r = g0 + j;
        T* g = c.grad_out ? c.grad_out + r * C : nullptr;
        if (ctx.ignored(r)) {
          if (g) zero_row<T>(g, C);
          if (c.hess_out) zero_row<T>(c.hess_out + r * C, C);
          if (c.value_out) c.value_out[r] = 0;
          continue;
        }
        const T sw = ctx.sample_weight(r);
        const T row = finish(r, sums[j], log_s[j], g, grad_scale * double(sw));
        if (c.value_out) c.value_out[r] = sw * row;
        total += double(sw) * double(row);
      }
    }
    return total;
  }
};

// PyTorch nll_loss over log-probabilities x:  -w_y x_y;  d/dx_c = -w_y [c = y]; linear, so
// the Hessian is 0 (kPositiveCurvature w_y under Hessian::positive).
template <class T> struct NllRows {
  static constexpr LossInfo kInfo = with_params([] {
    LossInfo d;
    d.name = "nll";
    d.torch_function = "nll_loss";
    d.class_name = "NLLLoss";
    d.spatial = true;
    d.family = LossFamily::rowwise;
    d.task = "classification";
    d.probabilistic = true;
    d.summary = "Negative log-likelihood of log-probabilities of shape (N, C).";
    d.formula = "-x_y (x: log-probabilities)";
    d.math = R"(\ell_i = -w_{y_i}\, x_{i, y_i})";
    d.notes = "Same as ``torch.nn.functional.nll_loss`` (\"mean\" divides by the summed weights "
              "of the rows not ignored).";
    d.hessians = "positive,exact";
    return d;
  }(), {class_weight_param(), ignore_index_param()});
  static constexpr bool kLabelWeightedMean = true;
  static constexpr bool kHonoursIgnoreIndex = true;
  const RowContext<T> ctx;
  NllRows(const LossParams&, const RowwiseCall<T>& c) : ctx{c} {}

  LOSSKIT_INLINE double rows(std::size_t r0, std::size_t r1, double grad_scale) const {
    const RowwiseCall<T>& c = ctx.c;
    const std::size_t C = c.classes;
    double total = 0;
    for (std::size_t r = r0; r < r1; ++r) {
      T* g = c.grad_out ? c.grad_out + r * C : nullptr;
      T* h = c.hess_out ? c.hess_out + r * C : nullptr;
      if (g) zero_row<T>(g, C);
      double value = 0, curvature = 0;
      if (!ctx.ignored(r)) {  // s w_y in double: exact for float, and no overflow of k s w_y
        const std::int64_t y = c.labels[r];
        const double weight = double(ctx.sample_weight(r)) * double(ctx.label_weight(y));
        value = -weight * double(c.input[r * C + y]);
        if (g) g[y] = T(-grad_scale * weight);
        if (c.hessian == Hessian::positive) curvature = grad_scale * weight * kPositiveCurvature;
      }
      if (h) vectors<T>(0, C, [&](const auto& L) { L.st(h, splat<T>(T(curvature))); });
      if (c.value_out) c.value_out[r] = T(value);
      total += value;
    }
    return total;
  }
};

// Multiclass margin losses, with z_c = margin - x_y + x_c for c != y:
//   multi_margin (PyTorch):     w_y / C  sum_{c != y} max(0, z_c)^p,  p in {1, 2}
//   multiclass_hinge (CS231n):  w_y      sum_{c != y} max(0, z_c)     (or its square)
// d/dx_c = w_y norm p max(0, z_c)^(p-1) for c != y, and d/dx_y = -sum of those. The kink z = 0
// contributes 0. A NaN score makes z NaN and is counted (IEEE propagation). The Hessian's
// diagonal is 0 for p = 1; for p = 2, 2 w_y norm [z_c > 0] for c != y and the sum of those
// for y (kPositiveCurvature w_y norm at least under Hessian::positive).
template <class T> struct MarginRows {
  static constexpr bool kLabelWeightedMean = false;  // mean divides by sum of s_i
  static constexpr bool kHonoursIgnoreIndex = false;
  const RowContext<T> ctx;
  T margin, norm;
  bool squared;
  MarginRows(const RowwiseCall<T>& c, double p, double margin_, bool per_class)
      : ctx{c}, margin(T(margin_)), norm(per_class ? T(1 / double(c.classes)) : T(1)),
        squared(p == 2) {}

  LOSSKIT_INLINE double rows(std::size_t r0, std::size_t r1, double grad_scale) const {
    const RowwiseCall<T>& c = ctx.c;
    const std::size_t C = c.classes;
    double total = 0;
    for (std::size_t r = r0; r < r1; ++r) {
      const T* x = c.input + r * C;
      T* g = c.grad_out ? c.grad_out + r * C : nullptr;
      const std::int64_t y = c.labels[r];
      const double weight =
          double(ctx.sample_weight(r)) * double(ctx.label_weight(y)) * double(norm);
      const T k = T(grad_scale * weight);
      const T base = margin - x[y];
      T* h = c.hess_out ? c.hess_out + r * C : nullptr;
      const T floor = c.hessian == Hessian::positive ? T(k * kPositiveCurvature) : T(0);
      Accumulator<T> sum_h;
      Vec<T> sum_g = splat<T>(0), sum_curvature = splat<T>(0);
      for (std::size_t i = 0; i < C; i += kLanes<T>) {
        const std::size_t lanes = lanes_at<T>(i, C);
        const Vec<T> z = load_row<T>(x, i, lanes) + base;
        auto active = (z > T(0)) | (z != z);
        if (lanes < kLanes<T>) active &= first_lanes<T>(lanes);
        if (std::size_t(y) >= i && std::size_t(y) < i + lanes) {
          Mask<T> not_y = Mask<T>{} - 1;
          not_y[std::size_t(y) - i] = 0;
          active &= not_y;
        }
        const Vec<T> zc = select<Vec<T>>(active, z, splat<T>(0));
        sum_h.add(squared ? zc * zc : zc);
        if (g) {
          // A NaN score gives NaN (not k) in its class and, through the sum, in the label's.
          const Vec<T> slope = squared ? T(2) * k * zc : splat<T>(k);
          const Vec<T> gv = select<Vec<T>>(active, select<Vec<T>>(z != z, z, slope), splat<T>(0));
          sum_g += gv;
          store_row<T>(g, i, lanes, gv);
        }
        if (h) {
          const Vec<T> slope2 = splat<T>(squared ? T(2) * k : T(0));
          const Vec<T> curvature =
              select<Vec<T>>(active, select<Vec<T>>(z != z, z, slope2), splat<T>(0));
          sum_curvature += curvature;
          store_row<T>(h, i, lanes, select<Vec<T>>(curvature < floor, splat<T>(floor), curvature));
        }
      }
      if (g) g[y] = -reduce_sum(sum_g);
      if (h) {
        const T hy = reduce_sum(sum_curvature);
        h[y] = hy < floor ? floor : hy;
      }
      const double value = weight * sum_h.sum();
      if (c.value_out) c.value_out[r] = T(value);
      total += value;
    }
    return total;
  }
};

template <class T> struct MultiMarginRows : MarginRows<T> {
  static constexpr LossInfo kInfo = with_params([] {
    LossInfo d;
    d.name = "multi_margin";
    d.torch_function = "multi_margin_loss";
    d.class_name = "MultiMarginLoss";
    d.family = LossFamily::rowwise;
    d.task = "classification";
    d.summary = "Multiclass margin loss of ``torch.nn.functional.multi_margin_loss``.";
    d.formula = "sum_{c != y} max(0, margin - s_y + s_c)^p / C";
    d.math = R"(\ell_i = \frac{w_{y}}{C} \sum_{c \ne y} \max(0,\ \mathrm{margin} - x_y + x_c)^p)";
    d.notes = "``p = 2`` is the squared hinge. \"mean\" divides by N. The gradient at the kink "
              "is 0.";
    return d;
  }(), {integer_param("p", 1, Interval{1, 2, true, true},
                      "The exponent of each hinge term, 1 or 2."),
        real_param("margin", 1.0, kReals, "The margin."), class_weight_param()});
  MultiMarginRows(const LossParams& p, const RowwiseCall<T>& c)
      : MarginRows<T>(c, p.values[0], p.values[1], true) {}
};
template <class T> struct MulticlassHingeRows : MarginRows<T> {
  static constexpr LossInfo kInfo = with_params([] {
    LossInfo d;
    d.name = "multiclass_hinge";
    d.class_name = "MulticlassHingeLoss";
    d.family = LossFamily::rowwise;
    d.task = "classification";
    d.summary = "The multiclass SVM loss (Weston-Watkins, as in CS231n) over scores (N, C).";
    d.formula = "sum_{c != y} max(0, s_c - s_y + margin)";
    d.math = R"(\ell_i = w_y \sum_{c \ne y} \max(0,\ s_c - s_y + \mathrm{margin}))";
    d.notes = "(squared terms when ``squared``). Unlike :class:`MultiMarginLoss` there is no 1/C "
              "factor. \"mean\" divides by N. The gradient at the kink is 0.";
    return d;
  }(), {real_param("margin", 1.0, kReals, "The margin."),
        bool_param("squared", false, "Square each hinge term."), class_weight_param()});
  MulticlassHingeRows(const LossParams& p, const RowwiseCall<T>& c)
      : MarginRows<T>(c, p.values[1] != 0 ? 2 : 1, p.values[0], false) {}
};

// Poly-1 (Leng et al., ICLR 2022): cross-entropy plus eps (1 - p_y), on CrossEntropyRows.
template <class T> struct Poly1Rows : CrossEntropyRows<T> {
  static constexpr LossInfo kInfo = with_params([] {
    LossInfo d;
    d.name = "poly1";
    d.convex = false;  // for |epsilon| > 1
    d.class_name = "PolyLoss";
    d.family = LossFamily::rowwise;
    d.task = "classification";
    d.spatial = true;
    d.summary = "Poly-1 cross-entropy over logits of shape (N, C): CE + epsilon (1 - p_y).";
    d.formula = "logsumexp(s) - s_y + eps (1 - softmax(s)_y)";
    d.math = R"(\ell_i = \mathrm{lse}(x) - x_y + \epsilon\,(1 - p_y), \qquad p = \mathrm{softmax}(x))";
    d.notes = R"(The Poly-1 loss of Leng et al. (2022), the leading term of the polynomial expansion of
cross-entropy re-weighted: PyTorch's ``cross_entropy(x, y, reduction="none") + epsilon * (1 -
softmax(x)[y])``. Integer labels; "mean" divides by N (by the number of positions for
(N, C, d1, ...) scores). ``epsilon = 0`` is cross-entropy; ``epsilon >= -1`` keeps the loss
non-negative.)";
    return d;
  }(), {real_param("epsilon", 1.0, Interval{-1, kInf, true, false},
                   "Weight of the 1 - p_y term (-1 or more).")});
  static constexpr bool kHonoursIgnoreIndex = false;
  Poly1Rows(const LossParams& p, const RowwiseCall<T>& c) : CrossEntropyRows<T>(c, 0, p.values[0]) {}
};

// PyTorch multilabel_soft_margin_loss: the class-weighted mean over the classes of the
// logistic loss of each (score, 0/1 target), with per class (bce_with_logits, classification.hpp)
//   w_c (softplus(x_c) - y_c x_c) / C;  d/dx_c = w_c (sigmoid(x_c) - y_c) / C;
//   d2/dx_c2 = w_c sigmoid(x_c) sigmoid(-x_c) / C.
template <class T> struct MultiLabelSoftMarginRows {
  static constexpr LossInfo kInfo = with_params([] {
    LossInfo d;
    d.name = "multilabel_soft_margin";
    d.torch_function = "multilabel_soft_margin_loss";
    d.class_name = "MultiLabelSoftMarginLoss";
    d.family = LossFamily::rowwise;
    d.task = "classification";
    d.probabilistic = true;
    d.row_target = RowTarget::values;
    d.target_domain = kUnit;
    d.summary = "Multi-label one-versus-all logistic loss over scores (N, C) and 0/1 targets (N, C).";
    d.formula = "mean_c [log(1 + exp(-s_c)) y_c + log(1 + exp(s_c)) (1 - y_c)]";
    d.math = R"(\ell_i = -\frac{1}{C} \sum_c w_c \big(y_c \log\sigma(x_c) + (1 - y_c) \log\sigma(-x_c)\big))";
    d.notes = R"(Same as ``torch.nn.functional.multilabel_soft_margin_loss``: targets of the input's shape,
1 for the classes a sample has and 0 for the others (values in between are used as given);
"mean" divides by N. Stable for logits of any size.)";
    return d;
  }(), {class_weight_param()});
  static constexpr bool kLabelWeightedMean = false;
  static constexpr bool kHonoursIgnoreIndex = false;
  const RowContext<T> ctx;
  MultiLabelSoftMarginRows(const LossParams&, const RowwiseCall<T>& c) : ctx{c} {}

  LOSSKIT_INLINE double rows(std::size_t r0, std::size_t r1, double grad_scale) const {
    const RowwiseCall<T>& c = ctx.c;
    const std::size_t C = c.classes;
    const double per_class = 1 / double(C);
    const bool floored = c.hessian == Hessian::positive;
    double total = 0;
    for (std::size_t r = r0; r < r1; ++r) {
      const T* x = c.input + r * C;
      const T* y = c.target + r * C;
      T* g = c.grad_out ? c.grad_out + r * C : nullptr;
      T* h = c.hess_out ? c.hess_out + r * C : nullptr;
      const double weight = double(ctx.sample_weight(r)) * per_class;
      const Vec<T> k = splat<T>(T(grad_scale * weight));
      Accumulator<T> sum;
      vectors<T>(0, C, [&](const auto& L) {
        const Point<T> pt = bce_with_logits<T, true>(L.ld(x), L.ld(y), splat<T>(1));
        const Vec<T> w = c.class_weight ? L.ld(c.class_weight) : splat<T>(1);
        sum.add(L.keep(w * pt.value));
        if (g) L.st(g, k * (w * pt.grad));
        if (h) L.st(h, k * floor_curvature<T>(w * pt.hess, floored));
      });
      const double value = weight * sum.sum();
      if (c.value_out) c.value_out[r] = T(value);
      total += value;
    }
    return total;
  }
};

// PyTorch multilabel_margin_loss: with J the row's target classes (its label list, up to the
// first negative entry; a class listed twice counts twice),
//   (1/C) sum_{j in J} sum_{c not in J} max(0, 1 - x_j + x_c);
// d/dx_c = +1/C and d/dx_j = -1/C for each term above 0 (0 at the kink, as PyTorch). Linear
// pieces: the exact Hessian is 0 (kPositiveCurvature per unit of row weight under positive;
// NaN where the gradient is).
template <class T> struct MultiLabelMarginRows {
  static constexpr LossInfo kInfo = [] {
    LossInfo d;
    d.name = "multilabel_margin";
    d.torch_function = "multilabel_margin_loss";
    d.class_name = "MultiLabelMarginLoss";
    d.family = LossFamily::rowwise;
    d.task = "classification";
    d.row_target = RowTarget::label_lists;
    d.summary = "Multi-label hinge loss over scores (N, C) and label lists (N, C) padded with -1.";
    d.formula = "sum_{j in y} sum_{c not in y} max(0, 1 - s_j + s_c) / C";
    d.math = R"(\ell_i = \frac{1}{C} \sum_{j \in J_i} \sum_{c \notin J_i} \max(0,\ 1 - x_j + x_c))";
    d.notes = R"(Same as ``torch.nn.functional.multilabel_margin_loss``: the target has the input's shape and
holds each sample's class indices, ended by the first negative entry (PyTorch pads with -1;
entries after it are not read). "mean" divides by N. The gradient at the kink is 0.)";
    d.hessians = "exact,positive";
    return d;
  }();
  static constexpr bool kLabelWeightedMean = false;
  static constexpr bool kHonoursIgnoreIndex = false;
  const RowContext<T> ctx;
  MultiLabelMarginRows(const LossParams&, const RowwiseCall<T>& c) : ctx{c} {}

  LOSSKIT_INLINE double rows(std::size_t r0, std::size_t r1, double grad_scale) const {
    const RowwiseCall<T>& c = ctx.c;
    const std::size_t C = c.classes;
    std::vector<T> other(C);  // 1 for the classes not in the row's list, else 0
    double total = 0;
    for (std::size_t r = r0; r < r1; ++r) {
      const T* x = c.input + r * C;
      const std::int64_t* list = c.labels + r * C;
      T* g = c.grad_out ? c.grad_out + r * C : nullptr;
      std::fill(other.begin(), other.end(), T(1));
      std::size_t count = 0;
      while (count < C && list[count] >= 0) other[std::size_t(list[count++])] = T(0);
      const double weight = double(ctx.sample_weight(r)) / double(C);
      const T k = T(grad_scale * weight);
      if (g) zero_row<T>(g, C);
      Accumulator<T> sum;
      for (std::size_t j = 0; j < count; ++j) {
        const std::size_t y = std::size_t(list[j]);
        const T base = T(1) - x[y];
        Vec<T> slopes = splat<T>(0);
        vectors<T>(0, C, [&](const auto& L) {
          const Vec<T> z = L.ld(x) + base;
          const auto active = ((z > T(0)) | (z != z)) & (L.ld(other.data()) != T(0));
          sum.add(select<Vec<T>>(active, z, splat<T>(0)));
          if (g) {  // a NaN score gives NaN in its class and, through the sum, in y's
            const Vec<T> gv = select<Vec<T>>(active, select<Vec<T>>(z != z, z, splat<T>(k)),
                                             splat<T>(0));
            slopes += gv;
            L.st(g, L.ld(g) + gv);
          }
        });
        if (g) g[y] -= reduce_sum(slopes);
      }
      if (c.hess_out) {  // (with the gradient, which a NaN score makes NaN: so is this then)
        const Vec<T> floor = splat<T>(c.hessian == Hessian::positive
                                          ? T(grad_scale * weight * kPositiveCurvature) : T(0));
        vectors<T>(0, C, [&](const auto& L) {
          const Vec<T> gv = L.ld(g);
          L.st(c.hess_out + r * C, select<Vec<T>>(gv != gv, gv, floor));
        });
      }
      const double value = weight * sum.sum();
      if (c.value_out) c.value_out[r] = T(value);
      total += value;
    }
    return total;
  }
};

}  // namespace losskit::LOSSKIT_ISA

// The losses this file defines, in registry order.
#define LOSSKIT_MULTICLASS_LOSSES(X)                                                  \
  X(CrossEntropyRows) X(NllRows) X(MultiMarginRows) X(MulticlassHingeRows) X(Poly1Rows) \
  X(MultiLabelSoftMarginRows) X(MultiLabelMarginRows)
