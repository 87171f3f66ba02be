// Deviances of generalised linear models on a log link (scikit-learn's HalfPoissonLoss,
// HalfGammaLoss and HalfTweedieLoss): the input is the raw prediction f, the predicted mean is
// e^f. Each value is what scikit-learn's `loss()` returns: half the deviance without the terms
// that do not involve f (scikit-learn's `constant_to_optimal_zero`), so the minimum is not 0.
#pragma once

#include "losskit/loss_types.hpp"
#include "losskit/definitions/point.hpp"
#include "losskit/simd/vmath.hpp"

namespace losskit::LOSSKIT_ISA {

// e^f - y f;  d/df = e^f - y;  d2/df2 = e^f.
template <class T> LOSSKIT_INLINE Point<T> half_poisson(Vec<T> f, Vec<T> y) {
  const Vec<T> e = vexp<T>(f);
  return {e - y * f, e - y, e};
}

// f + y e^-f;  d/df = 1 - y e^-f;  d2/df2 = y e^-f.
template <class T> LOSSKIT_INLINE Point<T> half_gamma(Vec<T> f, Vec<T> y) {
  const Vec<T> ye = y * vexp<T>(-f);
  return {f + ye, T(1) - ye, ye};
}

template <class T> struct PoissonLoss {
  static constexpr LossInfo kInfo = [] {
    LossInfo d;
    d.name = "poisson";
    d.link = "log";
    d.class_name = "PoissonLoss";
    d.probabilistic = true;
    d.target_domain = kNonnegative;
    d.target_check = TargetCheck::domain;
    d.summary = "Half Poisson deviance on a log link (the input is the log of the mean).";
    d.formula = "exp(f) - y f";
    d.math = R"(\ell(f, y) = e^{f} - y f, \qquad \partial\ell/\partial f = e^{f} - y)";
    d.notes = "scikit-learn's ``HalfPoissonLoss`` on raw predictions: its ``loss()``, which "
              "leaves out the terms without f (``y log y - y``). Targets must be non-negative "
              "(ValueError otherwise).";
    return d;
  }();
  explicit PoissonLoss(const LossParams&) {}
  LOSSKIT_INLINE Point<T> operator()(Vec<T> f, Vec<T> y) const { return half_poisson<T>(f, y); }
};

template <class T> struct GammaLoss {
  static constexpr LossInfo kInfo = [] {
    LossInfo d;
    d.name = "gamma";
    d.link = "log";
    d.class_name = "GammaLoss";
    d.probabilistic = true;
    d.target_domain = kPositive;
    d.target_check = TargetCheck::domain;
    d.summary = "Half Gamma deviance on a log link (the input is the log of the mean).";
    d.formula = "f + y exp(-f)";
    d.math = R"(\ell(f, y) = f + y e^{-f}, \qquad \partial\ell/\partial f = 1 - y e^{-f})";
    d.notes = "scikit-learn's ``HalfGammaLoss`` on raw predictions: its ``loss()``, which "
              "leaves out the terms without f (``-log y - 1``). Targets must be positive "
              "(ValueError otherwise).";
    return d;
  }();
  explicit GammaLoss(const LossParams&) {}
  LOSSKIT_INLINE Point<T> operator()(Vec<T> f, Vec<T> y) const { return half_gamma<T>(f, y); }
};

// Half Tweedie deviance, power p (scikit-learn's HalfTweedieLoss, its `loss()`):
//   p = 0:  (e^f - y)^2 / 2;       d/df = e^f (e^f - y);   d2/df2 = e^f (2 e^f - y)
//   p = 1:  Poisson;   p = 2:  Gamma (as above: the dropped terms differ, so the loss is not
//           continuous in p there, as scikit-learn's)
//   else:   e2/(2 - p) - y e1/(1 - p) with e1 = e^((1-p) f), e2 = e^((2-p) f);
//           d/df = e2 - y e1;   d2/df2 = (2 - p) e2 - (1 - p) y e1.
// The curvature is negative in places for p = 0 and p > 2: "positive" comes first.
template <class T> struct TweedieLoss {
  static constexpr LossInfo kInfo = with_params([] {
    LossInfo d;
    d.name = "tweedie";
    d.link = "log";
    d.convex = false;  // power 0 and above 2
    d.class_name = "TweedieLoss";
    d.probabilistic = true;
    // Valid for every power (test data, examples); the check is target_domain()'s.
    d.target_domain = kPositive;
    d.target_check = TargetCheck::domain;
    d.hessians = "positive,exact";
    d.summary = "Half Tweedie deviance on a log link (the input is the log of the mean).";
    d.formula = "exp((2-p) f)/(2-p) - y exp((1-p) f)/(1-p)";
    d.math = R"(\ell(f, y) = \frac{e^{(2-p) f}}{2-p} - y\,\frac{e^{(1-p) f}}{1-p}, \qquad
\partial\ell/\partial f = e^{(2-p) f} - y\,e^{(1-p) f})";
    d.notes = R"(scikit-learn's ``HalfTweedieLoss`` on raw predictions: its ``loss()``, which leaves
out the terms without f, so power 0 is ``(e^f - y)^2 / 2``, power 1 :class:`PoissonLoss` and
power 2 :class:`GammaLoss` (the left-out terms differ there: the loss is not continuous in the
power). Powers in (0, 1), where no Tweedie distribution exists, are refused (as
``sklearn.metrics.mean_tweedie_deviance`` refuses them). Targets: any real for power 0 (and
below), non-negative for powers in [1, 2), positive from 2 on (ValueError otherwise). The
exact curvature is negative in places for power 0 and above 2, hence ``hessian="positive"``
for training.)";
    return d;
  }(), {[] {
    ParamInfo p = real_param("power", 1.5, kReals,
                             "The Tweedie power p: 0 normal, 1 Poisson, (1, 2) compound "
                             "Poisson-Gamma, 2 Gamma, 3 inverse Gaussian.");
    p.excluded = kOpenUnit;
    return p;
  }()});
  enum class Kind { normal, poisson, gamma, general };
  Kind kind;
  T one_minus_p, two_minus_p, inv_one_minus_p, inv_two_minus_p;
  Interval targets;
  explicit TweedieLoss(const LossParams& lp) {
    const double p = lp.values[0];
    kind = p == 0 ? Kind::normal : p == 1 ? Kind::poisson : p == 2 ? Kind::gamma : Kind::general;
    one_minus_p = T(1 - p);
    two_minus_p = T(2 - p);
    // Only the general case divides (p is neither 1 nor 2 there).
    inv_one_minus_p = kind == Kind::general ? T(1 / (1 - p)) : T(0);
    inv_two_minus_p = kind == Kind::general ? T(1 / (2 - p)) : T(0);
    targets = p <= 0 ? kReals : p < 2 ? kNonnegative : kPositive;
  }
  Interval target_domain() const { return targets; }
  LOSSKIT_INLINE Point<T> operator()(Vec<T> f, Vec<T> y) const {
    // `kind` is loop-invariant: the compiler hoists the choice out of the block loop.
    if (kind == Kind::poisson) return half_poisson<T>(f, y);
    if (kind == Kind::gamma) return half_gamma<T>(f, y);
    if (kind == Kind::normal) {
      const Vec<T> e = vexp<T>(f);
      const Vec<T> r = e - y;
      return {T(0.5) * r * r, e * r, e * (e + r)};
    }
    const Vec<T> e1 = vexp<T>(one_minus_p * f), e2 = vexp<T>(two_minus_p * f);
    const Vec<T> ye1 = y * e1;
    return {e2 * inv_two_minus_p - ye1 * inv_one_minus_p, e2 - ye1,
            two_minus_p * e2 - one_minus_p * ye1};
  }
};

}  // namespace losskit::LOSSKIT_ISA

// The losses this file defines, in registry order.
#define LOSSKIT_GLM_LOSSES(X) X(PoissonLoss) X(GammaLoss) X(TweedieLoss)
