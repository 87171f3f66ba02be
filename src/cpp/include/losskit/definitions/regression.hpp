// Regression losses: the one per-point definition of each (value and its derivatives together;
// the elementwise driver drops what a call does not need, so value, grad, value_and_grad and
// grad_hess cannot disagree). Point<T> is {value, d/dx, d2/dx2, irls curvature}. r = input - target unless stated. Every branch is a lane mask: all lanes
// compute every branch, so operands of unselected branches are kept finite where it matters.
#pragma once

#include "losskit/loss_types.hpp"
#include "losskit/definitions/point.hpp"
#include "losskit/simd/vmath.hpp"

namespace losskit::LOSSKIT_ISA {

// (x - y)^2;  d/dx = 2 (x - y);  d2/dx2 = 2, its own majorizer.
template <class T> struct MseLoss {
  static constexpr LossInfo kInfo = [] {
    LossInfo d;
    d.name = "mse";
    d.residual = true;
    d.torch_function = "mse_loss";
    d.class_name = "MSELoss";
    d.summary = "Mean squared error.";
    d.formula = "r^2";
    d.math = R"(\ell(x, y) = (x - y)^2, \qquad \partial\ell/\partial x = 2 (x - y))";
    d.notes = "Same as ``torch.nn.functional.mse_loss``.";
    d.hessians = "exact,irls,positive";
    return d;
  }();
  explicit MseLoss(const LossParams&) {}
  LOSSKIT_INLINE Point<T> operator()(Vec<T> x, Vec<T> y) const {
    const Vec<T> r = x - y;
    return {r * r, r + r, splat<T>(2), splat<T>(2)};
  }
};

// |x - y|;  d/dx = sign(x - y), 0 at the kink (torch.sign);  d2/dx2 = 0;
// majorizer curvature 1 / |r| (|r| >= u_k: |r| <= r^2 / (2 |r_k|) + |r_k| / 2).
template <class T> struct L1Loss {
  static constexpr LossInfo kInfo = [] {
    LossInfo d;
    d.name = "l1";
    d.residual = true;
    d.torch_function = "l1_loss";
    d.class_name = "L1Loss";
    d.summary = "Absolute error.";
    d.formula = "|r|";
    d.math = R"(\ell(x, y) = |x - y|, \qquad \partial\ell/\partial x = \operatorname{sign}(x - y))";
    d.notes = "The subgradient at x = y is 0, as ``torch.nn.functional.l1_loss``.";
    d.hessians = "irls,exact,positive";
    return d;
  }();
  explicit L1Loss(const LossParams&) {}
  LOSSKIT_INLINE Point<T> operator()(Vec<T> x, Vec<T> y) const {
    const Vec<T> r = x - y;
    const Vec<T> a = abs<T>(r);
    return {a, sign<T>(r), splat<T>(0), inverse_distance<T>(a)};
  }
};

// PyTorch huber_loss: 0.5 r^2 if |r| < delta, else delta (|r| - 0.5 delta);
// d/dx = r inside, delta sign(r) outside (continuous at |r| = delta);
// d2/dx2 = 1 inside, 0 outside;  majorizer curvature psi(r)/r = min(1, delta / |r|).
template <class T> struct HuberLoss {
  static constexpr LossInfo kInfo = with_params([] {
    LossInfo d;
    d.name = "huber";
    d.residual = true;
    d.torch_function = "huber_loss";
    d.class_name = "HuberLoss";
    d.summary = "Huber loss: quadratic near zero, linear in the tails.";
    d.formula = "r^2/2 if |r| < delta else delta (|r| - delta/2)";
    d.math = R"(\ell = \begin{cases} \tfrac12 r^2 & |r| < \delta \\
                     \delta (|r| - \tfrac12 \delta) & \text{otherwise} \end{cases}
\qquad \partial\ell/\partial x = \operatorname{clip}(r, -\delta, \delta))";
    d.notes = "Same as ``torch.nn.functional.huber_loss``.";
    d.hessians = "irls,exact,positive";
    return d;
  }(), {real_param("delta", 1.0, kPositive, "Where the loss turns from quadratic to linear.")});
  T delta;
  explicit HuberLoss(const LossParams& p) : delta(T(p.values[0])) {}
  LOSSKIT_INLINE Point<T> operator()(Vec<T> x, Vec<T> y) const {
    const Vec<T> r = x - y;
    const Vec<T> a = abs<T>(r);
    const auto inside = a < delta;
    return {select<Vec<T>>(inside, T(0.5) * r * r, delta * (a - T(0.5) * delta)),
            select<Vec<T>>(inside, r, delta * sign<T>(r)),
            select<Vec<T>>(inside, splat<T>(1), splat<T>(0)),
            select<Vec<T>>(inside, splat<T>(1), delta / a)};
  }
};

// PyTorch smooth_l1_loss: 0.5 r^2 / beta if |r| < beta, else |r| - 0.5 beta;
// d/dx = r / beta inside, sign(r) outside; d2/dx2 = 1 / beta inside, 0 outside; majorizer
// curvature 1 / beta inside, 1 / |r| outside. beta = 0 is exactly L1: the inside branch is
// never selected and 1/beta is replaced by 0 so no lane computes 0/0.
template <class T> struct SmoothL1Loss {
  static constexpr LossInfo kInfo = with_params([] {
    LossInfo d;
    d.name = "smooth_l1";
    d.residual = true;
    d.torch_function = "smooth_l1_loss";
    d.class_name = "SmoothL1Loss";
    d.summary = "Smooth L1 loss (Huber divided by beta).";
    d.formula = "r^2/(2 beta) if |r| < beta else |r| - beta/2";
    d.math = R"(\ell = \begin{cases} \tfrac12 r^2 / \beta & |r| < \beta \\
                     |r| - \tfrac12 \beta & \text{otherwise} \end{cases})";
    d.notes = "``beta = 0`` is exactly :class:`L1Loss` (no division by zero). Same as "
              "``torch.nn.functional.smooth_l1_loss``.";
    d.hessians = "irls,exact,positive";
    return d;
  }(), {real_param("beta", 1.0, kNonnegative, "Where the loss turns from quadratic to linear.")});
  T beta, inv_beta;
  explicit SmoothL1Loss(const LossParams& p)
      : beta(T(p.values[0])), inv_beta(p.values[0] > 0 ? T(1 / p.values[0]) : T(0)) {}
  LOSSKIT_INLINE Point<T> operator()(Vec<T> x, Vec<T> y) const {
    const Vec<T> r = x - y;
    const Vec<T> a = abs<T>(r);
    const auto inside = a < beta;
    return {select<Vec<T>>(inside, T(0.5) * inv_beta * r * r, a - T(0.5) * beta),
            select<Vec<T>>(inside, r * inv_beta, sign<T>(r)),
            select<Vec<T>>(inside, splat<T>(inv_beta), splat<T>(0)),
            select<Vec<T>>(inside, splat<T>(inv_beta), inverse_distance<T>(a))};
  }
};

// delta^2 (sqrt(1 + (r/delta)^2) - 1);  d/dx = r / sqrt(1 + (r/delta)^2);
// majorizer curvature psi(r)/r = 1 / root;  d2/dx2 = 1 / root^3.
// With a = |r|/delta and root = sqrt(1 + a^2), cancellation-free:
//   value = |r| (|r| / (root + 1)),   d/dx = r / root,
// both from one division 1 / (root (root + 1)) (the kernel is bound by the divider and the
// square root). a is capped at 2^60 so that a^2 stays finite in float32; past the cap
// a / (root + 1) rounds to 1 and d/dx to sign(r) delta, which the cap's lanes take.
template <class T> struct PseudoHuberLoss {
  static constexpr LossInfo kInfo = with_params([] {
    LossInfo d;
    d.name = "pseudo_huber";
    d.residual = true;
    d.class_name = "PseudoHuberLoss";
    d.summary = "Pseudo-Huber loss: a smooth Huber.";
    d.formula = "delta^2 (sqrt(1 + (r/delta)^2) - 1)";
    d.math = R"(\ell = \delta^2 \left(\sqrt{1 + (r/\delta)^2} - 1\right), \qquad
\partial\ell/\partial x = \frac{r}{\sqrt{1 + (r/\delta)^2}})";
    d.notes = "Evaluated without cancellation for small r and without overflow for huge r.";
    d.hessians = "irls,exact,positive";
    return d;
  }(), {real_param("delta", 1.0, kPositive, "Width of the quadratic bowl.")});
  static constexpr T kCap = T(1152921504606846976.0);  // 2^60
  T delta, inv_delta;
  explicit PseudoHuberLoss(const LossParams& p)
      : delta(T(p.values[0])), inv_delta(T(1 / p.values[0])) {}
  LOSSKIT_INLINE Point<T> operator()(Vec<T> x, Vec<T> y) const {
    const Vec<T> r = x - y;
    const Vec<T> abs_r = abs<T>(r);
    const Vec<T> a = min_or_second<T>(splat<T>(kCap), abs_r * inv_delta);  // NaN passes
    const Vec<T> root = sqrt(fma(a, a, splat<T>(1)));
    const Vec<T> inv = T(1) / (root * (root + T(1)));
    const Vec<T> grad = r * ((root + T(1)) * inv);
    const Vec<T> capped = select<Vec<T>>(a == kCap, copysign<T>(splat<T>(delta), r), grad);
    // delta^2 (root - 1) = r^2 / (root + 1) = |r| (|r| / (root + 1)): no delta^2 or delta |r|,
    // which overflow for a large delta while the value does not (float: delta 1e30, r 1e10 is
    // 5e19). |r| / (root + 1) <= min(|r|/2, delta) keeps the product finite wherever the value
    // is. Where a is capped, |r| / (root + 1) is delta to within 2^-60.
    const Vec<T> ratio = select<Vec<T>>(a == kCap, splat<T>(delta), abs_r * (root * inv));
    // 1 / root = (root + 1) inv; where a is capped, root is a = |r| / delta to within 2^-60.
    const Vec<T> irls = select<Vec<T>>(a == kCap, delta / abs_r, (root + T(1)) * inv);
    return {abs_r * ratio, capped, irls * irls * irls, irls};
  }
};

// log(cosh(r)), exact from |r| = 0 to the overflow threshold;  d/dx = tanh(r);
// d2/dx2 = 1 - tanh^2 (from the same pieces, without cancellation);  majorizer curvature
// tanh(r) / r (1 at r = 0).
// One exp reduction (vexp_pair) and one log1p on [0, 1] (vlog1p_unit) per lane, on an argument
// chosen per lane (a = |r|):
//   a <= 1.3:  e = expm1(a);  value = log1p(e^2 / (2 (1 + e)))   (= log1p(cosh(a) - 1), the
//              argument <= 0.97),  tanh(a) = e (e + 2) / (e (e + 2) + 2)
//   a >  1.3:  p = exp(-2a), m = expm1(-2a);  value = (a - log 2) + log1p(p),
//              tanh(a) = -m / (2 + m)
// All terms are positive (no cancellation); the small branch cannot overflow. At |r| = 1e30
// the value is |r| - log 2.
template <class T> struct LogCoshLoss {
  static constexpr LossInfo kInfo = [] {
    LossInfo d;
    d.name = "log_cosh";
    d.residual = true;
    d.class_name = "LogCoshLoss";
    d.summary = "Log-cosh loss.";
    d.formula = "log(cosh(r))";
    d.math = R"(\ell = \log\cosh(r), \qquad \partial\ell/\partial x = \tanh(r))";
    d.notes = "Exact over the whole range: ~ r^2/2 for tiny r, :math:`|r| - \\log 2` for large "
              ":math:`|r|` (no overflow of cosh, e.g. at :math:`|r| = 10^{30}`).";
    d.hessians = "irls,exact,positive";
    return d;
  }();
  explicit LogCoshLoss(const LossParams&) {}
  LOSSKIT_INLINE Point<T> operator()(Vec<T> x, Vec<T> y) const {
    const Vec<T> r = x - y;
    const Vec<T> a = abs<T>(r);
    const auto small = a <= T(1.3);
    const ExpPair<T> ep = vexp_pair<T>(select<Vec<T>>(small, a, T(-2) * a));
    const Vec<T> e = ep.expm1;
    const Vec<T> e_e2 = e * (e + T(2));
    // One division each for the log1p argument and for tanh: select numerators/denominators.
    const Vec<T> l = vlog1p_unit<T>(select<Vec<T>>(small, e * e, ep.exp) /
                                    select<Vec<T>>(small, T(2) * (T(1) + e), splat<T>(1))).log1p;
    const Vec<T> value = select<Vec<T>>(small, l, (a - T(0.69314718055994530942)) + l);
    const Vec<T> tanh_a = select<Vec<T>>(small, e_e2, -e) / (select<Vec<T>>(small, e_e2, e) + T(2));
    // 1 - tanh^2 = 4 (1 + e)^2 / (e (e + 2) + 2)^2 (small), 4 p / (1 + p)^2 (large, p = e^-2a).
    const Vec<T> one_e = T(1) + e, d_small = e_e2 + T(2), one_p = T(1) + ep.exp;
    const Vec<T> sech2 = T(4) * select<Vec<T>>(small, one_e * one_e, ep.exp) /
                         select<Vec<T>>(small, d_small * d_small, one_p * one_p);
    const Vec<T> ratio = select<Vec<T>>(a < T(1e-30), splat<T>(1), tanh_a / a);
    return {value, copysign<T>(tanh_a, r), sech2, ratio};
  }
};

// Pinball loss with u = target - input: max(q u, (q - 1) u);
// d/dx = -q if u > 0, 1 - q if u < 0, 0 at the kink; d2/dx2 = 0. It is |u|/2 + (q - 1/2) u:
// the majorizer curvature is that of |u|/2, 1 / (2 |u|) (Hunter and Lange's quantile MM),
// whatever q (l'(r)/r would not majorize an asymmetric loss).
template <class T> struct QuantileLoss {
  static constexpr LossInfo kInfo = with_params([] {
    LossInfo d;
    d.name = "quantile";
    d.residual = true;
    d.class_name = "QuantileLoss";
    d.summary = "Quantile (pinball) loss, with u = target - input.";
    d.formula = "max(q u, (q - 1) u), u = target - input";
    d.math = R"(\ell = \max(q\,u,\ (q - 1)\,u), \qquad
\partial\ell/\partial x = \begin{cases} -q & u > 0 \\ 1 - q & u < 0 \\ 0 & u = 0 \end{cases})";
    d.notes = "Minimised in expectation by the q-quantile of the target; q = 0.5 is half the L1 "
              "loss.";
    d.hessians = "irls,exact,positive";
    return d;
  }(), {real_param("quantile", 0.5, kOpenUnit, "The quantile q estimated.")});
  T q, q_minus_1;  // q - 1 rounded once from double, not in T
  explicit QuantileLoss(const LossParams& p)
      : q(T(p.values[0])), q_minus_1(T(p.values[0] - 1)) {}
  LOSSKIT_INLINE Point<T> operator()(Vec<T> x, Vec<T> y) const {
    const Vec<T> u = y - x;
    const Vec<T> value = select<Vec<T>>(u >= T(0), q * u, q_minus_1 * u);
    Vec<T> grad = select<Vec<T>>(u > T(0), splat<T>(-q), splat<T>(0));
    grad = select<Vec<T>>(u < T(0), splat<T>(-q_minus_1), grad);
    return {value, select<Vec<T>>(u != u, u, grad), splat<T>(0),
            T(0.5) * inverse_distance<T>(abs<T>(u))};
  }
};

// max(0, |r| - eps), or its square when squared;
// d/dx = sign(r) (times 2 (|r| - eps) when squared) outside the tube, 0 inside and at |r| = eps;
// d2/dx2 = 0 (2 outside the tube when squared). Written as "<= eps ? 0 : ..." so NaN propagates.
// Majorizer: max(0, |r| - eps) = (|r - eps| + |r + eps|) / 2 - eps, a sum of two kinks, so
// its curvature is (1 / |r - eps| + 1 / |r + eps|) / 2; squared, 2 (the gradient's Lipschitz
// constant).
template <class T> struct EpsilonInsensitiveLoss {
  static constexpr LossInfo kInfo = with_params([] {
    LossInfo d;
    d.name = "epsilon_insensitive";
    d.residual = true;
    d.class_name = "EpsilonInsensitiveLoss";
    d.summary = "Epsilon-insensitive loss of support vector regression.";
    d.formula = "max(0, |r| - epsilon) (squared if squared)";
    d.math = R"(\ell = \max(0, |r| - \epsilon) \quad\text{or, if squared,}\quad
\max(0, |r| - \epsilon)^2)";
    d.notes = "The subgradient is 0 inside the tube and on its edge, :math:`|r| = \\epsilon`.";
    d.hessians = "irls,exact,positive";
    return d;
  }(), {real_param("epsilon", 0.1, kNonnegative, "Half-width of the tube where the loss is 0."),
        bool_param("squared", false, "Square the distance to the tube.")});
  T eps;
  bool squared;
  explicit EpsilonInsensitiveLoss(const LossParams& p)
      : eps(T(p.values[0])), squared(p.values[1] != 0) {}
  LOSSKIT_INLINE Point<T> operator()(Vec<T> x, Vec<T> y) const {
    const Vec<T> r = x - y;
    const auto inside = abs<T>(r) <= eps;
    const Vec<T> m = select<Vec<T>>(inside, splat<T>(0), abs<T>(r) - eps);
    if (squared)
      return {m * m, T(2) * m * sign<T>(r), select<Vec<T>>(inside, splat<T>(0), splat<T>(2)),
              splat<T>(2)};
    const Vec<T> curvature =
        T(0.5) * (inverse_distance<T>(abs<T>(r - eps)) + inverse_distance<T>(abs<T>(r + eps)));
    return {m, select<Vec<T>>(inside, splat<T>(0), sign<T>(r)), splat<T>(0), curvature};
  }
};

// PyTorch gaussian_nll_loss with v = max(var, eps) (the clamp is transparent to the gradient,
// as PyTorch's no-grad clamp):  0.5 (log v + r^2 / v) [+ 0.5 log(2 pi) when full];
// d/dx = r / v;  d2/dx2 = 1 / v (its own majorizer);  d/dvar = 0.5 (1/v - r^2/v^2).
// precision: the third argument is beta = 1/var, clamped to min(beta, 1/eps):
//   0.5 (-log beta + r^2 beta);  d/dx = r beta;  d2/dx2 = beta;  d/dbeta = 0.5 (r^2 - 1/beta).
// A negative var (or beta) is refused (LossInfo::third_domain), as PyTorch refuses it.
template <class T> struct GaussianNllLoss {
  static constexpr LossInfo kInfo = with_params([] {
    LossInfo d;
    d.name = "gaussian_nll";
    d.residual = true;
    d.torch_function = "gaussian_nll_loss";
    d.class_name = "GaussianNLLLoss";
    d.arity = 3;
    d.operands = "var";
    d.third_domain = Interval{0, kInf, true, true};
    d.probabilistic = true;
    d.hessians = "exact,irls,positive";
    d.summary = "Gaussian negative log-likelihood with a predicted variance (or precision).";
    d.formula = "(log(max(var, eps)) + r^2 / max(var, eps)) / 2 (+ log(2 pi)/2 if full)";
    d.math = R"(\ell(x, y, v) = \tfrac12 \left(\log v + \frac{(x - y)^2}{v}\right)
\ [+\ \tfrac12 \log 2\pi \text{ if full}], \qquad v \leftarrow \max(v, \epsilon))";
    d.notes = R"(Gradients for the input, ``r / v``, and for the variance, ``(1/v - r^2/v^2) / 2``;
the clamp passes the gradient straight through, as ``torch.nn.functional.gaussian_nll_loss``
does. With ``param="precision"`` the third argument is beta = 1/var (the maximum-likelihood
view of weighted L2), clamped to ``min(beta, 1/eps)``: ``(r^2 beta - log beta) / 2``.

The third argument has the input's shape, or the input's shape without its last axis or with
a last axis of 1 (one variance shared along it; its gradient is summed there). Negative
variances raise ValueError.

Call as ``loss(input, target, var)``; ``value_and_grads(input, target, var)`` returns
``(value, d_input, d_var)``.)";
    return d;
  }(), {bool_param("full", false, "Add the constant 0.5 log(2 pi)."),
        real_param("eps", 1e-6, kPositive, "Clamp for the variance."),
        choice_param("param", "var,precision",
                     "What the third argument holds: the variance or its inverse.")});
  T constant, eps, inv_eps;
  bool precision;
  explicit GaussianNllLoss(const LossParams& p)
      : constant(p.values[0] != 0 ? T(0.91893853320467274178) : T(0)),  // 0.5 log(2 pi)
        eps(T(p.values[1])), inv_eps(T(1 / p.values[1])), precision(p.values[2] != 0) {}
  LOSSKIT_INLINE Point<T> operator()(Vec<T> x, Vec<T> y, Vec<T> z) const {
    const Vec<T> r = x - y;
    const Vec<T> r2 = r * r;
    if (precision) {
      const Vec<T> b = select<Vec<T>>(z > inv_eps, splat<T>(inv_eps), z);
      Point<T> out{T(0.5) * (r2 * b - vlog<T>(b)) + constant, r * b, b, b};
      out.grad_third = T(0.5) * (r2 - T(1) / b);
      return out;
    }
    const Vec<T> v = select<Vec<T>>(z < eps, splat<T>(eps), z);
    const Vec<T> inv_v = T(1) / v;
    Point<T> out{T(0.5) * (vlog<T>(v) + r2 * inv_v) + constant, r * inv_v, inv_v, inv_v};
    out.grad_third = T(0.5) * inv_v * (T(1) - r2 * inv_v);
    return out;
  }
};

// PyTorch poisson_nll_loss.
//   log_input:  exp(x) - y x;            d/dx = exp(x) - y;          d2/dx2 = exp(x)
//   otherwise:  x - y log(x + eps);      d/dx = 1 - y / (x + eps);   d2/dx2 = y / (x + eps)^2
//   full: + y log y - y + 0.5 log(2 pi y) for y > 1 (Stirling's approximation of log y!),
//         0 for y <= 1.
template <class T> struct PoissonNllLoss {
  static constexpr LossInfo kInfo = with_params([] {
    LossInfo d;
    d.name = "poisson_nll";
    d.torch_function = "poisson_nll_loss";
    d.class_name = "PoissonNLLLoss";
    d.probabilistic = true;
    d.target_domain = kNonnegative;
    d.summary = "Poisson negative log-likelihood.";
    d.formula = "exp(x) - y x (log_input), x - y log(x + eps) otherwise";
    d.math = R"(\ell = e^{x} - y\,x \quad(\text{log\_input}) \qquad\text{or}\qquad
\ell = x - y \log(x + \epsilon))";
    d.notes = "Plus, when ``full``, Stirling's term ``y log y - y + log(2 pi y)/2`` for y > 1. "
              "Same as ``torch.nn.functional.poisson_nll_loss``.";
    return d;
  }(), {bool_param("log_input", true, "The input is the log of the rate (else the rate)."),
        bool_param("full", false, "Add Stirling's approximation of log(y!)."),
        real_param("eps", 1e-8, kNonnegative,
                   "Added to the rate inside the log when ``log_input=False``.")});
  bool log_input, full;
  T eps;
  explicit PoissonNllLoss(const LossParams& p)
      : log_input(p.values[0] != 0), full(p.values[1] != 0), eps(T(p.values[2])) {}
  LOSSKIT_INLINE Point<T> operator()(Vec<T> x, Vec<T> y) const {
    Point<T> out;
    if (log_input) {
      const Vec<T> ex = vexp<T>(x);
      out = {ex - y * x, ex - y, ex};
    } else {
      const Vec<T> xe = x + eps;
      const Vec<T> y_xe = y / xe;
      out = {x - y * vlog<T>(xe), T(1) - y_xe, y_xe / xe};
    }
    if (full) {
      const auto counted = y > T(1);
      const Vec<T> ys = select<Vec<T>>(counted, y, splat<T>(1));  // keep log finite elsewhere
      const Vec<T> stirling =
          ys * vlog<T>(ys) - ys + T(0.5) * vlog<T>(T(6.28318530717958647692) * ys);
      out.value += select<Vec<T>>(counted, stirling, splat<T>(0));
    }
    return out;
  }
};

// Expectile loss with u = target - input (QuantileLoss's convention): |tau - 1[u < 0]| u^2;
// d/dx = -2 |tau - 1[u < 0]| u, continuous (0 at u = 0); d2/dx2 = 2 |tau - 1[u < 0]|; the
// majorizer's curvature is the largest of the two, 2 max(tau, 1 - tau).
template <class T> struct ExpectileLoss {
  static constexpr LossInfo kInfo = with_params([] {
    LossInfo d;
    d.name = "expectile";
    d.residual = true;
    d.class_name = "ExpectileLoss";
    d.summary = "Expectile loss (asymmetric squared error), with u = target - input.";
    d.formula = "|tau - 1[u < 0]| u^2, u = target - input";
    d.math = R"(\ell = |\tau - \mathbb{1}[u < 0]|\, u^2, \qquad
\partial\ell/\partial x = -2\, |\tau - \mathbb{1}[u < 0]|\, u)";
    d.notes = "Minimised in expectation by the tau-expectile of the target; tau = 0.5 is half "
              "the squared error. Smooth, unlike the quantile loss.";
    d.hessians = "exact,irls,positive";
    return d;
  }(), {real_param("expectile", 0.5, kOpenUnit, "The expectile tau estimated.")});
  T tau, one_minus_tau;  // 1 - tau rounded once from double
  T majorizer;           // 2 max(tau, 1 - tau)
  explicit ExpectileLoss(const LossParams& p)
      : tau(T(p.values[0])), one_minus_tau(T(1 - p.values[0])),
        majorizer(T(2 * (p.values[0] > 0.5 ? p.values[0] : 1 - p.values[0]))) {}
  LOSSKIT_INLINE Point<T> operator()(Vec<T> x, Vec<T> y) const {
    const Vec<T> u = y - x;
    const Vec<T> weight = select<Vec<T>>(u < T(0), splat<T>(one_minus_tau), splat<T>(tau));
    const Vec<T> wu = weight * u;
    return {wu * u, T(-2) * wu, weight + weight, splat<T>(majorizer)};
  }
};

// The CRPS of the normal distribution N(mu, sigma) at y (Gneiting et al. 2005), with the mean mu
// as the input and sigma as the third argument; z = (y - mu) / sigma, Phi, phi the standard
// normal cdf and density, erf(z / sqrt 2) = 2 Phi(z) - 1:
//   sigma (z (2 Phi(z) - 1) + 2 phi(z) - 1/sqrt(pi))
//     = (y - mu) erf(z / sqrt 2) + sigma (2 phi(z) - 1/sqrt(pi))   (no sigma z: z may overflow)
//   d/dmu = -erf(z / sqrt 2);  d/dsigma = 2 phi(z) - 1/sqrt(pi);  d2/dmu2 = 2 phi(z) / sigma.
// erf and phi share one exp (verf_gauss). sigma <= 0 is refused (LossInfo::third_domain).
template <class T> struct GaussianCrpsLoss {
  static constexpr LossInfo kInfo = [] {
    LossInfo d;
    d.name = "gaussian_crps";
    d.residual = true;
    d.class_name = "GaussianCRPSLoss";
    d.arity = 3;
    d.operands = "sigma";
    d.third_domain = Interval{0, kInf, false, true};
    d.summary = "Continuous ranked probability score of a Gaussian prediction N(input, sigma).";
    d.formula = "sigma (z (2 Phi(z) - 1) + 2 phi(z) - 1/sqrt(pi)), z = (y - mu)/sigma";
    d.math = R"(\ell(\mu, y, \sigma) = \sigma\left(z\,(2\Phi(z) - 1) + 2\varphi(z)
- \tfrac{1}{\sqrt\pi}\right), \quad z = \frac{y - \mu}{\sigma}, \qquad
\partial\ell/\partial\mu = 1 - 2\Phi(z), \quad \partial\ell/\partial\sigma = 2\varphi(z) - \tfrac{1}{\sqrt\pi})";
    d.notes = R"(The closed form of :math:`\int (F(x) - \mathbb{1}[x \ge y])^2\,dx` for the normal
cdf F of mean ``input`` and standard deviation ``sigma``: a proper scoring rule, in the units of
y, and the mean absolute error when sigma -> 0. Call as ``loss(input, target, sigma)``;
``value_and_grads(input, target, sigma)`` returns ``(value, d_input, d_sigma)``. sigma must be
positive (ValueError otherwise); it has the input's shape or broadcasts to it as
``GaussianNLLLoss``'s variance does.)";
    return d;
  }();
  explicit GaussianCrpsLoss(const LossParams&) {}
  LOSSKIT_INLINE Point<T> operator()(Vec<T> mu, Vec<T> y, Vec<T> sigma) const {
    const T inv_sqrt2 = T(0.70710678118654752440), inv_sqrt_pi = T(0.56418958354775628695);
    const T two_over_sqrt_2pi = T(0.79788456080286535588);  // 2 phi(0)
    const Vec<T> r = y - mu;
    const ErfGauss<T> eg = verf_gauss<T>((r / sigma) * inv_sqrt2);
    const Vec<T> two_phi = two_over_sqrt_2pi * eg.gauss;
    const Vec<T> d_sigma = two_phi - inv_sqrt_pi;
    Point<T> out{fma(r, eg.erf, sigma * d_sigma), -eg.erf, two_phi / sigma};
    out.grad_third = d_sigma;
    return out;
  }
};

}  // namespace losskit::LOSSKIT_ISA

// The losses this file defines, in registry order.
#define LOSSKIT_REGRESSION_LOSSES(X)                                                           \
  X(MseLoss) X(L1Loss) X(HuberLoss) X(SmoothL1Loss) X(PseudoHuberLoss) X(LogCoshLoss)          \
  X(QuantileLoss) X(EpsilonInsensitiveLoss) X(GaussianNllLoss) X(PoissonNllLoss)            \
  X(ExpectileLoss) X(GaussianCrpsLoss)
