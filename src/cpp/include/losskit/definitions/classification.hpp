// Elementwise classification and divergence losses: the one per-point definition of each.
// x is a score (logit) or a probability, y the target. Binary margin losses take y = +-1 and
// use y as given otherwise (z = y x is the margin).
#pragma once

#include "losskit/loss_types.hpp"
#include "losskit/definitions/point.hpp"
#include "losskit/simd/vmath.hpp"

namespace losskit::LOSSKIT_ISA {

// log(1 + e^-|z|) and sigmoid(-z), the pieces every logistic loss needs, from one exp:
// with e = exp(-|z|) in (0, 1], softplus(-z) = max(-z, 0) + log1p(e) (no overflow for any z,
// no cancellation), sigmoid(-z) = e/(1+e) for z >= 0, 1/(1+e) for z < 0, and the curvature
// sigmoid(z) sigmoid(-z) = e / (1+e)^2.
template <class T> struct Logistic {
  Vec<T> softplus_neg;  // log(1 + e^-z)
  Vec<T> sigmoid_neg;   // 1 / (1 + e^z)
  Vec<T> curvature;     // d2/dz2 log(1 + e^-z)
};
template <class T> LOSSKIT_INLINE Logistic<T> logistic(Vec<T> z) {
  const Vec<T> e = vexp<T>(-abs<T>(z));
  const Log1pUnit<T> l = vlog1p_unit<T>(e);
  const auto nonneg = z >= T(0);
  const Vec<T> softplus = select<Vec<T>>(nonneg, splat<T>(0), -z) + l.log1p;
  const Vec<T> sigmoid = select<Vec<T>>(nonneg, e * l.reciprocal, l.reciprocal);
  return {softplus, sigmoid, e * l.reciprocal * l.reciprocal};
}

// NaN stays NaN in gradients whose branches are all finite constants.
template <class T> LOSSKIT_INLINE Vec<T> keep_nan(Vec<T> z, Vec<T> g) {
  return select<Vec<T>>(z != z, z, g);
}

// PyTorch binary_cross_entropy_with_logits with pos_weight pw, lw = 1 + (pw - 1) y:
//   (1 - y) x + lw log(1 + e^-x);   d/dx = (1 - y) - lw sigmoid(-x)
// evaluated per sign of x so that no terms cancel (for y in [0, 1], pw > 0 both are >= 0):
//   x >= 0:  (1 - y) x + lw log1p(e^-|x|)
//   x <  0:  -pw y x   + lw log1p(e^-|x|)
// (PyTorch's own formula rounds e.g. x = -30, y = 0 to 0 in float32 instead of 9.4e-14.)
// The gradient likewise, with s = e^-|x| / (1 + e^-|x|) = sigmoid(-|x|):
//   x >= 0:  (1 - y) - lw s
//   x <  0:  lw s - pw y     (= (1 - y) - lw (1 - s): no 1 - y that loses a tiny target)
// d2/dx2 = lw sigmoid(x) sigmoid(-x) = lw s (1 - s).
// kUnitWeight: pw = 1 (the default), the same bits with four fewer multiplications.
template <class T, bool kUnitWeight = false>
LOSSKIT_INLINE Point<T> bce_with_logits(Vec<T> x, Vec<T> y, Vec<T> pw) {
  const Vec<T> e = vexp<T>(-abs<T>(x));
  const Log1pUnit<T> l = vlog1p_unit<T>(e);
  const auto nonneg = x >= T(0);
  const Vec<T> one_minus_y = T(1) - y;
  const Vec<T> s = e * l.reciprocal;
  const Vec<T> curvature = s * l.reciprocal;
  if constexpr (kUnitWeight) {
    const Vec<T> linear = select<Vec<T>>(nonneg, one_minus_y, -y) * x;
    return {linear + l.log1p, select<Vec<T>>(nonneg, one_minus_y - s, s - y), curvature};
  } else {
    const Vec<T> lw = fma(pw - T(1), y, splat<T>(1));
    const Vec<T> pw_y = pw * y;
    const Vec<T> linear = select<Vec<T>>(nonneg, one_minus_y, -pw_y) * x;
    const Vec<T> lw_s = lw * s;
    return {fma(lw, l.log1p, linear), select<Vec<T>>(nonneg, one_minus_y - lw_s, lw_s - pw_y),
            lw * curvature};
  }
}

template <class T> struct BceWithLogitsLoss {
  static constexpr LossInfo kInfo = with_params([] {
    LossInfo d;
    d.name = "bce_with_logits";
    d.torch_function = "binary_cross_entropy_with_logits";
    d.class_name = "BCEWithLogitsLoss";
    d.task = "classification";
    d.probabilistic = true;
    d.target_domain = kUnit;
    d.summary = "Binary cross-entropy on logits, stable for any logit.";
    d.formula = "max(x, 0) - x y + log(1 + exp(-|x|))";
    d.math = R"(\ell = (1 - y)\,x + (1 + (p_w - 1) y)\,\log(1 + e^{-x}), \qquad
\partial\ell/\partial x = (1 - y) - (1 + (p_w - 1) y)\,\sigma(-x))";
    d.notes = R"((with ``pos_weight`` :math:`p_w = 1`: :math:`\max(x,0) - xy + \log(1+e^{-|x|})` and
gradient :math:`\sigma(x) - y`). Targets in [0, 1]. Same as
``torch.nn.functional.binary_cross_entropy_with_logits``.)";
    return d;
  }(), {[] {
    ParamInfo p = real_param("pos_weight", 1.0, kReals,
                             "Weight of positive examples; an array broadcasts along the last "
                             "axis (one per class).");
    p.array_allowed = true;
    p.none_default = true;
    return p;
  }()});
  T pos_weight;
  explicit BceWithLogitsLoss(const LossParams& p) : pos_weight(T(p.values[0])) {}
  LOSSKIT_INLINE Point<T> operator()(Vec<T> x, Vec<T> y) const {
    // Loop-invariant: the compiler hoists the test out of the block loop.
    if (pos_weight == T(1)) return bce_with_logits<T, true>(x, y, splat<T>(1));
    return bce_with_logits<T>(x, y, splat<T>(pos_weight));
  }
};

// The same with a pos_weight array (the third argument, the input's shape): PyTorch broadcasts
// pos_weight along the last axis; the Python layer expands it.
template <class T> struct BceWithLogitsWeightedLoss {
  static constexpr LossInfo kInfo = [] {
    LossInfo d;
    d.name = "bce_with_logits_weighted";  // BCEWithLogitsLoss with a pos_weight array
    d.task = "classification";
    d.arity = 3;
    d.operands = "pos_weight";
    d.third_domain = kExtendedReals;  // PyTorch checks none
    d.target_domain = kUnit;
    d.formula = "max(x, 0) - x y + (1 + (pw - 1) y) log(1 + exp(-|x|)) with pw per element";
    return d;
  }();
  explicit BceWithLogitsWeightedLoss(const LossParams&) {}
  LOSSKIT_INLINE Point<T> operator()(Vec<T> x, Vec<T> y, Vec<T> pos_weight) const {
    return bce_with_logits<T>(x, y, pos_weight);
  }
};

// PyTorch binary_cross_entropy on probabilities p in [0, 1] (others are refused, see
// LossInfo::input_domain):
//   -(y max(log p, -100) + (1 - y) max(log1p(-p), -100))
//   d/dp = (p - y) / max(p (1 - p), 1e-12f)     (PyTorch's clamp, a float constant)
//   d2/dp2 = (y - 2 p y + p^2) / (p (1 - p))^2  (= y/p^2 + (1-y)/(1-p)^2), 1e12 where clamped
// The clamps keep p = 0 or 1 finite (no 0 * -inf).
template <class T> struct BceLoss {
  static constexpr LossInfo kInfo = [] {
    LossInfo d;
    d.name = "bce";
    d.torch_function = "binary_cross_entropy";
    d.class_name = "BCELoss";
    d.task = "classification";
    d.probabilistic = true;
    d.input_domain = kUnit;
    d.target_domain = kUnit;
    d.summary = "Binary cross-entropy on probabilities in [0, 1].";
    d.formula = "-(y log p + (1 - y) log(1 - p)), logs clamped at -100";
    d.math = R"(\ell = -\big(y \max(\log p, -100) + (1 - y)\max(\log(1 - p), -100)\big), \qquad
\partial\ell/\partial p = \frac{p - y}{\max(p (1 - p),\ 10^{-12})})";
    d.notes = "Same as ``torch.nn.functional.binary_cross_entropy`` (its clamps included). "
              "Inputs outside [0, 1] raise ValueError. Prefer :class:`BCEWithLogitsLoss` on "
              "logits.";
    return d;
  }();
  explicit BceLoss(const LossParams&) {}
  LOSSKIT_INLINE Point<T> operator()(Vec<T> p, Vec<T> y) const {
    const Vec<T> floor = splat<T>(-100);
    const Vec<T> lp = vlog<T>(p), l1p = vlog1p<T>(-p);
    const Vec<T> log_p = select<Vec<T>>(lp < floor, floor, lp);
    const Vec<T> log_1mp = select<Vec<T>>(l1p < floor, floor, l1p);
    const Vec<T> denom = p * (T(1) - p);
    const Vec<T> eps = splat<T>(T(1e-12f));
    const auto clamped = denom < eps;
    const Vec<T> d = select<Vec<T>>(clamped, eps, denom);
    const Vec<T> curvature = select<Vec<T>>(clamped, splat<T>(1), fma(p, p - (y + y), y)) / (d * d);
    return {-(y * log_p + (T(1) - y) * log_1mp), (p - y) / d,
            select<Vec<T>>(clamped, T(1) / eps, curvature)};
  }
};

// PyTorch kl_div with the input holding log-probabilities x:
//   log_target false:  xlogy(y, y) - y x   (0 where y = 0);  d/dx = -y
//   log_target true:   e^y (y - x);                           d/dx = -e^y
// Linear in x: d2/dx2 = 0 (gradient boosting needs the "positive" policy).
template <class T> struct KlDivLoss {
  static constexpr LossInfo kInfo = with_params([] {
    LossInfo d;
    d.name = "kl_div";
    d.torch_function = "kl_div";
    d.class_name = "KLDivLoss";
    d.task = "divergence";
    d.probabilistic = true;
    d.reductions = "batchmean,mean,sum,none";
    d.hessians = "positive,exact";
    d.target_domain = kNonnegative;  // probabilities (log-probabilities with log_target)
    d.summary = "Kullback-Leibler divergence with the input holding log-probabilities.";
    d.formula = "y (log y - x) (x: log-probabilities)";
    d.math = R"(\ell = y (\log y - x) \ (0 \text{ where } y = 0), \qquad
\partial\ell/\partial x = -y)";
    d.notes = R"(or, with ``log_target``, :math:`e^{y}(y - x)`. Same as
``torch.nn.functional.kl_div``; the default reduction "batchmean" divides the sum by
``input.shape[0]`` (the mathematically correct KL per sample), "mean" by the number of
elements. With ``sample_weight``, "batchmean" divides the weighted sum by the samples' total
weight, ``sum(w l) / (sum(w) / elements_per_sample)``: for one weight per sample that is
``sum_i w_i sum_c l_ic / sum_i w_i``, and unit weights give PyTorch's batchmean.)";
    return d;
  }(), {bool_param("log_target", false, "The target holds log-probabilities.")});
  bool log_target;
  explicit KlDivLoss(const LossParams& p) : log_target(p.values[0] != 0) {}
  LOSSKIT_INLINE Point<T> operator()(Vec<T> x, Vec<T> y) const {
    if (log_target) {
      const Vec<T> ey = vexp<T>(y);
      return {ey * (y - x), -ey, splat<T>(0)};
    }
    const Vec<T> ylogy = select<Vec<T>>(y == T(0), splat<T>(0), y * vlog<T>(y));
    return {ylogy - y * x, -y, splat<T>(0)};
  }
};

// log(1 + exp(-y x));  d/dx = -y sigmoid(-y x);  d2/dx2 = y^2 sigmoid(z) sigmoid(-z).
template <class T> struct SoftMarginLoss {
  static constexpr LossInfo kInfo = [] {
    LossInfo d;
    d.name = "soft_margin";
    d.torch_function = "soft_margin_loss";
    d.margin_targets = true;
    d.class_name = "SoftMarginLoss";
    d.task = "classification";
    d.probabilistic = true;
    d.summary = "Logistic loss on the margin.";
    d.formula = "log(1 + exp(-z)), z = target * input";
    d.math = R"(\ell = \log(1 + e^{-y x}), \qquad \partial\ell/\partial x = -y\,\sigma(-y x))";
    d.notes = "Same as ``torch.nn.functional.soft_margin_loss``; stable for any margin.";
    return d;
  }();
  explicit SoftMarginLoss(const LossParams&) {}
  LOSSKIT_INLINE Point<T> operator()(Vec<T> x, Vec<T> y) const {
    const Logistic<T> s = logistic<T>(y * x);
    return {s.softplus_neg, -y * s.sigmoid_neg, y * y * s.curvature};
  }
};

// scikit-learn's Hinge: max(0, margin - y x);  d/dx = -y where y x <= margin (the kink
// included, as scikit-learn), else 0;  d2/dx2 = 0. It is (|margin - z| + margin - z) / 2: the
// majorizer curvature is y^2 / (2 |margin - z|).
template <class T> struct HingeLoss {
  static constexpr LossInfo kInfo = with_params([] {
    LossInfo d;
    d.name = "hinge";
    d.margin_targets = true;
    d.class_name = "HingeLoss";
    d.task = "classification";
    d.summary = "Hinge loss.";
    d.formula = "max(0, margin - z), z = target * input";
    d.math = R"(\ell = \max(0,\ \mathrm{margin} - y x))";
    d.notes = "scikit-learn's definition, its subgradient included: -y where y x <= margin, "
              "else 0.";
    d.hessians = "irls,exact,positive";
    return d;
  }(), {real_param("margin", 1.0, kReals, "The margin below which a sample is penalised.")});
  T margin;
  explicit HingeLoss(const LossParams& p) : margin(T(p.values[0])) {}
  LOSSKIT_INLINE Point<T> operator()(Vec<T> x, Vec<T> y) const {
    const Vec<T> z = y * x;
    const auto outside = z > margin;
    return {select<Vec<T>>(outside, splat<T>(0), margin - z),
            keep_nan<T>(z, select<Vec<T>>(outside, splat<T>(0), -y)), splat<T>(0),
            T(0.5) * y * y * inverse_distance<T>(abs<T>(margin - z))};
  }
};

// scikit-learn's SquaredHinge: max(0, margin - y x)^2;  d/dx = -2 y max(0, margin - y x);
// d2/dx2 = 2 y^2 where y x < margin, else 0; the majorizer curvature is 2 y^2 everywhere.
template <class T> struct SquaredHingeLoss {
  static constexpr LossInfo kInfo = with_params([] {
    LossInfo d;
    d.name = "squared_hinge";
    d.margin_targets = true;
    d.class_name = "SquaredHingeLoss";
    d.task = "classification";
    d.summary = "Squared hinge loss.";
    d.formula = "max(0, margin - z)^2, z = target * input";
    d.math = R"(\ell = \max(0,\ \mathrm{margin} - y x)^2, \qquad
\partial\ell/\partial x = -2 y \max(0, \mathrm{margin} - y x))";
    d.notes = "scikit-learn's definition.";
    d.hessians = "irls,exact,positive";
    return d;
  }(), {real_param("margin", 1.0, kReals, "The margin below which a sample is penalised.")});
  T margin;
  explicit SquaredHingeLoss(const LossParams& p) : margin(T(p.values[0])) {}
  LOSSKIT_INLINE Point<T> operator()(Vec<T> x, Vec<T> y) const {
    const Vec<T> h = margin - y * x;
    const Vec<T> m = select<Vec<T>>(h <= T(0), splat<T>(0), h);  // NaN passes through
    const Vec<T> two_y2 = T(2) * y * y;
    return {m * m, T(-2) * y * m, select<Vec<T>>(h > T(0), two_y2, splat<T>(0)), two_y2};
  }
};

// scikit-learn's ModifiedHuber with z = y x: 0 for z >= 1, (1 - z)^2 for -1 <= z < 1, -4 z
// below;  d/dx = 0, -2 y (1 - z), -4 y;  d2/dx2 = 0, 2 y^2, 0 respectively; the majorizer
// curvature is 2 y^2 everywhere.
template <class T> struct ModifiedHuberLoss {
  static constexpr LossInfo kInfo = [] {
    LossInfo d;
    d.name = "modified_huber";
    d.margin_targets = true;
    d.class_name = "ModifiedHuberLoss";
    d.task = "classification";
    d.summary = "scikit-learn's modified Huber loss on the margin z = y x.";
    d.formula = "max(0, 1 - z)^2 if z >= -1 else -4 z, z = target * input";
    d.math = R"(\ell = \begin{cases} 0 & z \ge 1 \\ (1 - z)^2 & -1 \le z < 1 \\
-4 z & z < -1 \end{cases})";
    d.notes = "A smooth hinge that is linear for badly misclassified points.";
    d.hessians = "irls,exact,positive";
    return d;
  }();
  explicit ModifiedHuberLoss(const LossParams&) {}
  LOSSKIT_INLINE Point<T> operator()(Vec<T> x, Vec<T> y) const {
    const Vec<T> z = y * x;
    const Vec<T> one_minus_z = T(1) - z;
    const auto flat = z >= T(1), quadratic = z >= T(-1);
    Vec<T> value = select<Vec<T>>(quadratic, one_minus_z * one_minus_z, T(-4) * z);
    Vec<T> grad = select<Vec<T>>(quadratic, T(-2) * y * one_minus_z, T(-4) * y);
    value = select<Vec<T>>(flat, splat<T>(0), value);
    grad = select<Vec<T>>(flat, splat<T>(0), grad);
    const Vec<T> two_y2 = T(2) * y * y;
    return {value, keep_nan<T>(z, grad),
            select<Vec<T>>(quadratic & ~flat, two_y2, splat<T>(0)), two_y2};
  }
};

// scikit-learn's Perceptron (Hinge with threshold 0): max(0, -y x);  d/dx = -y where y x <= 0;
// d2/dx2 = 0; majorizer curvature y^2 / (2 |z|) (as the hinge's).
template <class T> struct PerceptronLoss {
  static constexpr LossInfo kInfo = [] {
    LossInfo d;
    d.name = "perceptron";
    d.margin_targets = true;
    d.class_name = "PerceptronLoss";
    d.task = "classification";
    d.summary = "Perceptron loss.";
    d.formula = "max(0, -z), z = target * input";
    d.math = R"(\ell = \max(0, -y x))";
    d.notes = "Subgradient -y where y x <= 0 (scikit-learn's).";
    d.hessians = "irls,exact,positive";
    return d;
  }();
  explicit PerceptronLoss(const LossParams&) {}
  LOSSKIT_INLINE Point<T> operator()(Vec<T> x, Vec<T> y) const {
    const Vec<T> z = y * x;
    const auto positive = z > T(0);
    return {select<Vec<T>>(positive, splat<T>(0), -z),
            keep_nan<T>(z, select<Vec<T>>(positive, splat<T>(0), -y)), splat<T>(0),
            T(0.5) * y * y * inverse_distance<T>(abs<T>(z))};
  }
};

// torchvision.ops.sigmoid_focal_loss on logits x, targets y in [0, 1] (soft targets used as
// given). With s = sigmoid(x), s' = sigmoid(-x) = 1 - s:
//   ce = log(1 + e^-x) + (1 - y) x          (binary cross-entropy on the logit)
//   m  = 1 - p_t = s (1 - y) + s' y          (no 1 - p_t cancellation: both terms >= 0)
//   l  = a_t ce m^gamma,  a_t = alpha y + (1 - alpha)(1 - y)  (1 when alpha < 0, torchvision's
//        "no weighting")
// With q = m'/m = s s' (1 - 2y) / m (|q| <= 1; 0 where m = 0) and ce' = s - y, ce'' = s s':
//   d/dx   = a_t m^gamma (ce' + gamma ce q)
//   d2/dx2 = a_t m^gamma (ce'' + 2 gamma ce' q + gamma ce ((gamma - 1) q^2 + q (s' - s)))
// (m'' = m q (s' - s)). The loss is not convex (d2/dx2 < 0 around |x| ~ 3 for gamma = 2), so
// "positive" comes first. m^gamma is m*m for the default gamma = 2, exp(gamma log m) otherwise
// (1 for gamma = 0, as torch's 0^0).
template <class T> struct SigmoidFocalLoss {
  static constexpr LossInfo kInfo = with_params([] {
    LossInfo d;
    d.name = "sigmoid_focal";
    d.convex = false;
    d.class_name = "SigmoidFocalLoss";
    d.task = "classification";
    d.target_domain = kUnit;
    d.hessians = "positive,exact";
    d.summary = "Sigmoid focal loss (Lin et al. 2017) on logits.";
    d.formula = "a_t (1 - p_t)^gamma bce_with_logits(x, y)";
    d.math = R"(\ell = \alpha_t\,(1 - p_t)^{\gamma}\,\mathrm{BCE}(x, y), \qquad
p_t = p y + (1 - p)(1 - y),\ p = \sigma(x),\ \alpha_t = \alpha y + (1 - \alpha)(1 - y))";
    d.notes = R"(Same as ``torchvision.ops.sigmoid_focal_loss`` (``alpha < 0``: no weighting,
:math:`\alpha_t = 1`), with :math:`1 - p_t = \sigma(x)(1 - y) + \sigma(-x) y` computed without
cancellation. Targets in [0, 1]. Not convex: ``hessian="positive"`` floors the curvature for
training.)";
    return d;
  }(), {real_param("alpha", 0.25, kReals,
                   "Weight of the positive class (negative: no weighting)."),
        real_param("gamma", 2.0, kNonnegative, "Focusing exponent on 1 - p_t.")});
  T alpha, one_minus_alpha, gamma;
  bool weighted, square;
  explicit SigmoidFocalLoss(const LossParams& p)
      : alpha(T(p.values[0])), one_minus_alpha(T(1 - p.values[0])), gamma(T(p.values[1])),
        weighted(p.values[0] >= 0), square(p.values[1] == 2) {}
  LOSSKIT_INLINE Point<T> operator()(Vec<T> x, Vec<T> y) const {
    const Vec<T> e = vexp<T>(-abs<T>(x));
    const Log1pUnit<T> l = vlog1p_unit<T>(e);
    const auto nonneg = x >= T(0);
    const Vec<T> one_minus_y = T(1) - y;
    const Vec<T> small = e * l.reciprocal;  // sigmoid(-|x|)
    const Vec<T> s = select<Vec<T>>(nonneg, l.reciprocal, small);
    const Vec<T> s_neg = select<Vec<T>>(nonneg, small, l.reciprocal);
    const Vec<T> ce = select<Vec<T>>(nonneg, one_minus_y, -y) * x + l.log1p;
    const Vec<T> ce1 = select<Vec<T>>(nonneg, one_minus_y - s_neg, s - y);
    const Vec<T> ss = small * l.reciprocal;  // s s'
    const Vec<T> m = fma(s, one_minus_y, s_neg * y);
    const auto positive = m > T(0);
    const Vec<T> q = select<Vec<T>>(positive, ss * (one_minus_y - y) / m, splat<T>(0));
    Vec<T> mg;
    if (square) {
      mg = m * m;
    } else {
      const Vec<T> pw = vexp<T>(gamma * vlog<T>(select<Vec<T>>(positive, m, splat<T>(1))));
      mg = select<Vec<T>>(positive, pw, splat<T>(gamma == T(0) ? 1 : 0));
    }
    const Vec<T> w = weighted ? fma(splat<T>(alpha), y, one_minus_alpha * one_minus_y) * mg : mg;
    const Vec<T> gce = gamma * ce;
    const Vec<T> curvature =
        ss + T(2) * gamma * ce1 * q + gce * q * fma(splat<T>(gamma - T(1)), q, s_neg - s);
    return {w * ce, w * fma(gce, q, ce1), w * curvature};
  }
};

// scikit-learn's ExponentialLoss (AdaBoost's) on the raw prediction f, targets y in [0, 1]:
//   y e^-f + (1 - y) e^f;  d/df = -y e^-f + (1 - y) e^f;  d2/df2 = the value.
// e^-|f| <= 1 is computed, its reciprocal is the other (it overflows only where that exponential
// does); a zero weight times an overflowed exponential is 0 (y = 1 at f = +inf), not NaN.
template <class T> struct ExponentialLoss {
  static constexpr LossInfo kInfo = [] {
    LossInfo d;
    d.name = "exponential";
    d.class_name = "ExponentialLoss";
    d.task = "classification";
    d.target_domain = kUnit;
    d.target_check = TargetCheck::domain;
    d.summary = "Exponential loss of AdaBoost on raw scores, targets in {0, 1}.";
    d.formula = "y exp(-f) + (1 - y) exp(f)";
    d.math = R"(\ell(f, y) = y\,e^{-f} + (1 - y)\,e^{f}, \qquad
\partial\ell/\partial f = -y\,e^{-f} + (1 - y)\,e^{f})";
    d.notes = "scikit-learn's ``ExponentialLoss`` (targets in [0, 1], ValueError otherwise; "
              "the predicted probability is ``expit(2 f)``).";
    return d;
  }();
  explicit ExponentialLoss(const LossParams&) {}
  LOSSKIT_INLINE Point<T> operator()(Vec<T> f, Vec<T> y) const {
    const Vec<T> small = vexp<T>(-abs<T>(f));
    const Vec<T> large = T(1) / small;
    const auto nonneg = f >= T(0);
    const Vec<T> up = select<Vec<T>>(nonneg, large, small);    // e^f
    const Vec<T> down = select<Vec<T>>(nonneg, small, large);  // e^-f
    const Vec<T> one_minus_y = T(1) - y;
    const Vec<T> a = select<Vec<T>>(y == T(0), splat<T>(0), y * down);
    const Vec<T> b = select<Vec<T>>(one_minus_y == T(0), splat<T>(0), one_minus_y * up);
    const Vec<T> value = a + b;
    return {value, b - a, value};
  }
};

}  // namespace losskit::LOSSKIT_ISA

// The losses this file defines, in registry order.
#define LOSSKIT_CLASSIFICATION_LOSSES(X)                                                       \
  X(BceWithLogitsLoss) X(BceWithLogitsWeightedLoss) X(BceLoss) X(KlDivLoss) X(SoftMarginLoss)  \
  X(HingeLoss) X(SquaredHingeLoss) X(ModifiedHuberLoss) X(PerceptronLoss)                   \
  X(SigmoidFocalLoss) X(ExponentialLoss)
