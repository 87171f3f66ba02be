// Every elementwise loss of the public C++ API, for value and gradients, every reduction, with
// and without sample weights, float and double, on every available instruction set; and the
// error reports of the API. The cases derive from the definitions (losskit::info): every loss
// is tested with its default parameters on data drawn from its argument domains, so a new
// definition is covered without an edit here. Where a scalar formula is written here (long
// double, straight from the loss's definition: PyTorch's where PyTorch has the loss), the
// kernel is checked against it; otherwise its gradients are checked against central
// differences of its own values, and every reduction and weighting against its own
// per-element results.
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <losskit/point.hpp>

#include "check.hpp"
#include "support.hpp"

namespace {

using losskit::BadArgument;
using losskit::ElementwiseLoss;
using losskit::Interval;
using losskit::LossInfo;
using losskit::LossParams;
using losskit::ParamKind;
using losskit::Reduction;
using losskit_test::default_params;
using losskit_test::draw;
using losskit_test::kernel_param_indices;
using losskit_test::Lcg;
using Real = long double;

// One element's loss and derivatives (d/dthird, d/dfourth where the loss has them).
struct Expected {
  Real value, grad, grad_third = 0, grad_fourth = 0;
};

Real sign(Real r) { return r > 0 ? 1 : (r < 0 ? -1 : 0); }
Real sigmoid(Real t) { return 1 / (1 + std::exp(-t)); }
constexpr Real kHalfLog2Pi = 0.918938533204672741780329736405617639L;

// rho(u, a) of Barron's loss for a general alpha (not 0, 2, +-inf) and its derivatives in u
// and in alpha, differentiated by hand from rho = (b/a) (w^(a/2) - 1), w = 1 + u^2/b, b = |a-2|.
struct Barron {
  Real rho, drho_du, drho_da;
};
Barron barron_general(Real u, Real a) {
  const Real b = std::fabs(a - 2), s = a > 2 ? 1 : -1;
  const Real z = u * u / b, w = 1 + z, p = std::pow(w, a / 2);
  const Real dz_da = -z * s / b;
  return {b / a * (p - 1), u * std::pow(w, a / 2 - 1),
          (s * a - b) / (a * a) * (p - 1) + b / a * p * (std::log(w) / 2 + a / 2 * dz_da / w)};
}

// The formulas of the losses that have one written here (params in the order of
// LossInfo::params); nullopt for any other loss. x: input, y: target, z3/z4: the third and
// fourth argument (arity 3 and 4).
std::optional<Expected> reference(ElementwiseLoss loss, const LossParams& lp, Real x, Real y,
                                  Real z3, Real z4) {
  const double* p = lp.values;
  const Real r = x - y;
  switch (loss) {
    case ElementwiseLoss::mse: return Expected{r * r, 2 * r};
    case ElementwiseLoss::l1: return Expected{std::fabs(r), sign(r)};
    case ElementwiseLoss::huber: {
      const Real d = p[0];
      if (std::fabs(r) < d) return Expected{r * r / 2, r};
      return Expected{d * (std::fabs(r) - d / 2), d * sign(r)};
    }
    case ElementwiseLoss::smooth_l1: {
      const Real beta = p[0];
      if (std::fabs(r) < beta) return Expected{r * r / (2 * beta), r / beta};
      return Expected{std::fabs(r) - beta / 2, sign(r)};
    }
    case ElementwiseLoss::pseudo_huber: {
      const Real d = p[0], root = std::sqrt(1 + (r / d) * (r / d));
      return Expected{d * d * (root - 1), r / root};
    }
    case ElementwiseLoss::log_cosh: return Expected{std::log(std::cosh(r)), std::tanh(r)};
    case ElementwiseLoss::quantile: {
      const Real q = p[0], u = y - x;
      return Expected{u >= 0 ? q * u : (q - 1) * u, u > 0 ? -q : (u < 0 ? 1 - q : 0)};
    }
    case ElementwiseLoss::epsilon_insensitive: {
      const Real m = std::fmax(Real(0), std::fabs(r) - Real(p[0]));
      if (p[1] != 0) return Expected{m * m, 2 * m * sign(r)};
      return Expected{m, m > 0 ? sign(r) : 0};
    }
    case ElementwiseLoss::gaussian_nll: {
      const Real full = p[0] != 0 ? kHalfLog2Pi : 0;
      if (p[2] != 0) {  // precision beta, clamped to 1/eps
        const Real b = std::fmin(z3, 1 / Real(p[1]));
        return Expected{(r * r * b - std::log(b)) / 2 + full, r * b, (r * r - 1 / b) / 2};
      }
      const Real v = std::fmax(z3, Real(p[1]));  // var clamped to eps
      return Expected{(std::log(v) + r * r / v) / 2 + full, r / v, (1 / v - r * r / (v * v)) / 2};
    }
    case ElementwiseLoss::poisson_nll: {
      Expected e = p[0] != 0 ? Expected{std::exp(x) - y * x, std::exp(x) - y}
                             : Expected{x - y * std::log(x + Real(p[2])), 1 - y / (x + Real(p[2]))};
      if (p[1] != 0 && y > 1) e.value += y * std::log(y) - y + std::log(2 * M_PIl * y) / 2;
      return e;
    }
    case ElementwiseLoss::bce_with_logits:
    case ElementwiseLoss::bce_with_logits_weighted: {
      const Real pw = loss == ElementwiseLoss::bce_with_logits ? Real(p[0]) : z3;
      const Real lw = 1 + (pw - 1) * y;
      return Expected{(1 - y) * x + lw * std::log1p(std::exp(-x)), (1 - y) - lw * sigmoid(-x)};
    }
    case ElementwiseLoss::bce: {
      const Real log_p = std::fmax(std::log(x), Real(-100));
      const Real log_1mp = std::fmax(std::log1p(-x), Real(-100));
      const Real floor = Real(double(1e-12f));  // PyTorch's clamp is a float constant
      return Expected{-(y * log_p + (1 - y) * log_1mp), (x - y) / std::fmax(x * (1 - x), floor)};
    }
    case ElementwiseLoss::kl_div:
      if (p[0] != 0) return Expected{std::exp(y) * (y - x), -std::exp(y)};
      return Expected{(y == 0 ? 0 : y * std::log(y)) - y * x, -y};
    case ElementwiseLoss::soft_margin:
      return Expected{std::log1p(std::exp(-y * x)), -y * sigmoid(-y * x)};
    case ElementwiseLoss::hinge: {
      const Real h = Real(p[0]) - y * x;
      return Expected{std::fmax(Real(0), h), h >= 0 ? -y : 0};
    }
    case ElementwiseLoss::squared_hinge: {
      const Real h = std::fmax(Real(0), Real(p[0]) - y * x);
      return Expected{h * h, -2 * y * h};
    }
    case ElementwiseLoss::modified_huber: {
      const Real z = y * x;
      if (z >= 1) return Expected{0, 0};
      if (z >= -1) return Expected{(1 - z) * (1 - z), -2 * y * (1 - z)};
      return Expected{-4 * z, -4 * y};
    }
    case ElementwiseLoss::perceptron:
      return Expected{std::fmax(Real(0), -y * x), y * x <= 0 ? -y : 0};
    case ElementwiseLoss::barron: {
      const Real c = z4, u = r / c;
      const Barron b = barron_general(u, z3);
      // d/dinput = drho/du / c, d/dscale = drho/du * (-u / c)
      return Expected{b.rho, b.drho_du / c, b.drho_da, -b.drho_du * u / c};
    }
    default:
      return std::nullopt;
  }
}

// The closed forms of Barron's loss at its special alphas (value, d/dinput, d/dscale; the alpha
// derivative is +inf at 2 (0 where the residual is 0) and 0 at +-inf).
Expected barron_special(Real u, Real c, Real a) {
  Real rho, drho_du, drho_da = 0;
  if (a == 2) {
    rho = u * u / 2, drho_du = u;
    drho_da = u == 0 ? 0 : std::numeric_limits<Real>::infinity();
  } else if (a == 0) {
    rho = std::log1p(u * u / 2), drho_du = u / (1 + u * u / 2);
    drho_da = std::numeric_limits<Real>::quiet_NaN();  // not compared
  } else if (a < 0) {
    rho = -std::expm1(-u * u / 2), drho_du = u * std::exp(-u * u / 2);
  } else {
    rho = std::expm1(u * u / 2), drho_du = u * std::exp(u * u / 2);
  }
  return {rho, drho_du / c, drho_da, -drho_du * u / c};
}

// Where each loss is evaluated: element i of the test data.
struct Point {
  Real x, y, z3 = 0, z4 = 0;
};
// A loss without a case here is sampled from its definition's domains (targets +-1 for a
// margin loss; arity 4: the last two kernel parameters, as per-element operands hold them).
// The cases here reach the parts of a loss the domains do not single out.
Point sample(ElementwiseLoss loss, const LossParams& lp, Lcg& rng) {
  const double* p = lp.values;
  switch (loss) {
    case ElementwiseLoss::gaussian_nll: {
      // variances (or precisions) around 1, some below eps = the clamp
      const Real z = rng.uniform(0, 1) < 0.1 ? Real(p[1]) * rng.uniform(0, 1) : rng.uniform(0.1, 3);
      return {rng.uniform(-3, 3), rng.uniform(-3, 3), z};
    }
    case ElementwiseLoss::poisson_nll:  // counts; positive rates when the input is not a log
      return {p[0] != 0 ? rng.uniform(-2, 2) : rng.uniform(0.05, 4), Real(rng.below(6))};
    case ElementwiseLoss::bce_with_logits:
      return {rng.uniform(-8, 8), rng.uniform(0, 1)};
    case ElementwiseLoss::bce_with_logits_weighted:
      return {rng.uniform(-8, 8), rng.uniform(0, 1), rng.uniform(0.2, 3)};
    case ElementwiseLoss::bce: {  // probabilities, the ends (log clamped at -100) included
      const double u = rng.uniform(0, 1);
      return {u < 0.05 ? 0 : (u < 0.1 ? 1 : rng.uniform(0.01, 0.99)), rng.uniform(0, 1)};
    }
    case ElementwiseLoss::kl_div:  // log-probabilities; targets (or log-targets), zeros included
      if (p[0] != 0) return {rng.uniform(-5, 0), rng.uniform(-5, 0)};
      return {rng.uniform(-5, 0), rng.uniform(0, 1) < 0.1 ? 0 : rng.uniform(0, 1)};
    case ElementwiseLoss::barron:
      return {rng.uniform(-4, 4), rng.uniform(-4, 4), p[0], p[1]};
    default: {
      const LossInfo& info = losskit::info(loss);
      Point pt;
      pt.x = draw(info.input_domain, rng);
      const bool signs = info.margin_targets || info.target_check == losskit::TargetCheck::signs;
      pt.y = signs ? (rng.uniform(0, 1) < 0.5 ? -1.0 : 1.0) : draw(info.target_domain, rng);
      if (info.arity == 3) pt.z3 = draw(info.third_domain, rng);
      if (info.arity == 4) {
        const int k = losskit::kernel_param_count(info);
        pt.z3 = p[k - 2];
        pt.z4 = p[k - 1];
      }
      return pt;
    }
  }
}

struct Case {
  ElementwiseLoss loss;
  std::vector<double> params;
  bool is_default = false;  // the definition's default parameters
  std::string label() const {
    std::string s = losskit::info(loss).name;
    for (double v : params) s += " " + losskit_test::show(v);
    return s;
  }
  LossParams loss_params() const {
    LossParams lp;
    for (std::size_t i = 0; i < params.size(); ++i) lp.values[i] = params[i];
    return lp;
  }
};

const double kInf = std::numeric_limits<double>::infinity();

// Every loss at its defaults, then other parameters that reach other branches of the kernels.
std::vector<Case> cases() {
  std::vector<Case> all;
  for (int i = 0; i < losskit::kNumElementwiseLosses; ++i) {
    const auto loss = ElementwiseLoss(i);
    all.push_back({loss, default_params(losskit::info(loss)), true});
  }
  using L = ElementwiseLoss;
  const std::vector<Case> variations = {
      {L::huber, {0.3}},
      {L::smooth_l1, {0.0}},  // exactly L1
      {L::pseudo_huber, {2.5}},
      {L::quantile, {0.9}},
      {L::epsilon_insensitive, {0.5, 1}},
      {L::gaussian_nll, {1, 1e-3, 0}},
      {L::gaussian_nll, {0, 1e-2, 1}},  // precision
      {L::poisson_nll, {0, 1, 1e-8}},
      {L::bce_with_logits, {3.0}},
      {L::kl_div, {1}},
      {L::squared_hinge, {0.5}},
      {L::barron, {0.5, 2.0}},
      {L::barron, {-3.0, 0.7}},
      {L::barron, {4.0, 1.5}},
      {L::barron, {2.0, 1.0}},
      {L::barron, {0.0, 0.5}},
      {L::barron, {-kInf, 1.0}},
      {L::barron, {kInf, 3.0}},
  };
  all.insert(all.end(), variations.begin(), variations.end());
  return all;
}

template <class T>
constexpr losskit_test::Tolerance kTolerance = losskit_test::for_type<T>({2e-5, 2e-5}, {1e-11, 1e-12});

// The test data of a case in T, with the per-element reference computed from the T values
// (from_reference false: no formula is written here for the loss; `expected` is then empty).
template <class T> struct Data {
  std::vector<T> x, y, z3, z4, w;
  std::vector<Expected> expected;
  bool from_reference = true;
};

template <class T> Data<T> make_data(const Case& c, std::size_t n, std::uint64_t seed) {
  const LossParams lp = c.loss_params();
  Lcg rng(seed);
  Data<T> d;
  for (std::size_t i = 0; i < n; ++i) {
    const Point pt = sample(c.loss, lp, rng);
    d.x.push_back(T(pt.x));
    d.y.push_back(T(pt.y));
    d.z3.push_back(T(pt.z3));
    d.z4.push_back(T(pt.z4));
    d.w.push_back(T(rng.uniform(0, 2)));
    const Real a = d.z3.back();
    const bool special = c.loss == ElementwiseLoss::barron && (a == 0 || a == 2 || std::isinf(a));
    const std::optional<Expected> e =
        special ? barron_special((Real(d.x.back()) - d.y.back()) / d.z4.back(), d.z4.back(), a)
                : reference(c.loss, lp, d.x.back(), d.y.back(), a, d.z4.back());
    if (e) d.expected.push_back(*e);
    else d.from_reference = false;
  }
  if (!d.from_reference) d.expected.clear();
  return d;
}

// The arguments of an evaluation: input, target, third, fourth.
template <class T> using Args = std::array<std::vector<T>, 4>;
template <class T> Args<T> args_of(const Data<T>& d) { return {d.x, d.y, d.z3, d.z4}; }

// What the kernel gives element by element (reduction none, no weights): the values and the
// derivatives in each argument that has one.
template <class T> struct PerElement {
  std::vector<T> value, grad, grad3, grad4;
};
template <class T>
PerElement<T> evaluate_per_element(const Case& c, const Args<T>& a, bool operands) {
  const std::size_t n = a[0].size();
  const int arity = losskit::info(c.loss).arity;
  PerElement<T> out{std::vector<T>(n), std::vector<T>(n), std::vector<T>(n), std::vector<T>(n)};
  losskit::ElementwiseCall<T> call;
  call.input = a[0].data();
  call.target = a[1].data();
  if (arity == 3 || operands) call.third = a[2].data();
  if (operands) call.fourth = a[3].data();
  call.size = n;
  call.reduction = Reduction::none;
  call.value_out = out.value.data();
  call.grad_out = out.grad.data();
  if (arity >= 3) call.grad_third_out = out.grad3.data();
  if (arity == 4) call.grad_fourth_out = out.grad4.data();
  CHECK(losskit::evaluate(c.loss, c.loss_params(), call).bad_argument == BadArgument::none);
  return out;
}

// For a loss with no formula here: the kernel's own per-element results on the current ISA,
// against which every reduction and weighting is then checked.
template <class T> std::vector<Expected> kernel_expected(const Case& c, const Data<T>& d) {
  const PerElement<T> k = evaluate_per_element<T>(c, args_of(d), false);
  std::vector<Expected> e;
  for (std::size_t i = 0; i < d.x.size(); ++i) e.push_back({k.value[i], k.grad[i], k.grad3[i], k.grad4[i]});
  return e;
}

// The kernel's derivatives against central differences of its own per-element values (float64,
// the current ISA), in every argument with a derivative: the check of a loss with no formula
// here. A point is compared where the step stays inside the argument's domain and both the
// derivative and the difference are finite (an infinite derivative at a point is a
// singularity). Kinks (|r| = delta, a hinge's corner) make a difference disagree at the few
// random points within a step of them, so 95% of the compared points must agree, and at least
// half the points with a finite argument must be compared. A loss whose gradient is by
// convention not the derivative of its value (gaussian_nll's clamped variance, PyTorch's
// convention) fails this check: it needs a formula here.
void check_finite_differences(const Case& c, const std::string& where) {
  const losskit_test::Scope scope(where + " (finite differences)");
  const std::size_t n = 2000;
  const LossInfo& info = losskit::info(c.loss);
  const Data<double> d = make_data<double>(c, n, 4321);
  const bool operands = info.arity == 4;  // so alpha and scale can be moved element by element
  const Args<double> a = args_of(d);
  const PerElement<double> base = evaluate_per_element<double>(c, a, operands);
  struct Argument {
    std::size_t index;  // into Args
    std::string name;
    Interval domain;
    const std::vector<double>* grad;
  };
  std::vector<Argument> arguments = {{0, "input", info.input_domain, &base.grad}};
  // bce_with_logits_weighted's third argument (pos_weight) has no derivative in the API.
  if (info.arity == 3 && c.loss != ElementwiseLoss::bce_with_logits_weighted)
    arguments.push_back({2, "third", info.third_domain, &base.grad3});
  if (info.arity == 4) {
    const std::vector<int> k = kernel_param_indices(info);
    const losskit::ParamInfo& third = info.params[k[k.size() - 2]];
    const losskit::ParamInfo& fourth = info.params[k.back()];
    arguments.push_back({2, third.name, third.domain, &base.grad3});
    arguments.push_back({3, fourth.name, fourth.domain, &base.grad4});
  }
  for (const Argument& arg : arguments) {
    const std::vector<double>& v = a[arg.index];
    Args<double> plus = a, minus = a;
    std::vector<double> step(n, 0);
    for (std::size_t i = 0; i < n; ++i) {
      const double h = 1e-6 * std::fmax(1, std::fabs(v[i]));
      if (!std::isfinite(v[i]) || !arg.domain.contains(v[i] + h) || !arg.domain.contains(v[i] - h)) continue;
      plus[arg.index][i] = v[i] + h;
      minus[arg.index][i] = v[i] - h;
      step[i] = plus[arg.index][i] - minus[arg.index][i];  // the step actually taken
    }
    const std::vector<double> up = evaluate_per_element<double>(c, plus, operands).value;
    const std::vector<double> down = evaluate_per_element<double>(c, minus, operands).value;
    std::size_t finite = 0, compared = 0, agreed = 0, worst = n;
    double worst_ratio = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (!std::isfinite(v[i])) continue;
      ++finite;
      if (step[i] == 0) continue;
      const double g = (*arg.grad)[i], fd = (up[i] - down[i]) / step[i];
      if (!std::isfinite(g) || !std::isfinite(fd)) continue;
      ++compared;
      // 1e-5 of the derivative, and the rounding of the values (of size |f|, over a step of
      // 1e-6 of max(1, |v|)) with a wide margin.
      const double size_f = (std::fabs(up[i]) + std::fabs(down[i])) / 2 / std::fmax(1, std::fabs(v[i]));
      const double tol = 1e-5 * std::fabs(g) + 1e-8 * size_f + 1e-10;
      const double ratio = std::fabs(fd - g) / tol;
      if (ratio <= 1) ++agreed;
      if (ratio > worst_ratio) worst_ratio = ratio, worst = i;
    }
    if (finite == 0) continue;  // e.g. barron's alpha = +-inf: no difference to take
    const std::string what = "d/d" + arg.name + ": " + std::to_string(agreed) + " of " +
                             std::to_string(compared) + " compared points agree (" +
                             std::to_string(finite) + " with a finite argument)";
    const std::string at =
        worst == n ? std::string()
                   : "; worst at [" + std::to_string(worst) + "] x=" + losskit_test::show(a[0][worst]) +
                         " y=" + losskit_test::show(a[1][worst]) + " " + arg.name + "=" +
                         losskit_test::show(v[worst]) + ": kernel " +
                         losskit_test::show((*arg.grad)[worst]) + ", difference " +
                         losskit_test::show((up[worst] - down[worst]) / step[worst]);
    if (2 * compared < finite || 100 * agreed < 95 * compared)
      losskit_test::report(__FILE__, __LINE__, what + at);
  }
}
// One evaluation with every output the call can fill, checked element by element.
template <class T>
void check_call(const Case& c, const Data<T>& d, Reduction reduction, bool weighted,
                bool operands, const std::string& where) {
  const std::size_t n = d.x.size();
  const int arity = losskit::info(c.loss).arity;
  const bool alpha_grad_defined =
      c.loss != ElementwiseLoss::barron || !(c.params[0] == 0 || std::isnan(c.params[0]));
  losskit::ElementwiseCall<T> call;
  call.input = d.x.data();
  call.target = d.y.data();
  if (arity == 3 || operands) call.third = d.z3.data();
  if (operands) call.fourth = d.z4.data();
  if (weighted) call.sample_weight = d.w.data();
  call.size = n;
  call.reduction = reduction;
  call.batch_size = 7;
  std::vector<T> values(n), grad(n), grad3(n), grad4(n);
  if (reduction == Reduction::none) call.value_out = values.data();
  call.grad_out = grad.data();
  if (arity >= 3) call.grad_third_out = grad3.data();
  if (arity == 4) call.grad_fourth_out = grad4.data();
  const losskit::ElementwiseResult r = losskit::evaluate(c.loss, c.loss_params(), call);
  CHECK(r.bad_argument == BadArgument::none);

  Real weight_sum = 0, value_sum = 0, magnitude = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const Real w = weighted ? Real(d.w[i]) : 1;
    weight_sum += w;
    value_sum += w * d.expected[i].value;
    magnitude += std::fabs(w * d.expected[i].value);
  }
  Real scale = 1;  // what the reduction multiplies each element's derivatives by
  Real expected_value = value_sum;
  if (reduction == Reduction::mean) scale = 1 / weight_sum;
  // batchmean: over the samples' total weight, sum(w) / (n / batch_size) (batch_size unweighted)
  if (reduction == Reduction::batchmean)
    scale = weighted ? Real(n) / (call.batch_size * weight_sum) : Real(1) / call.batch_size;
  if (reduction == Reduction::mean || reduction == Reduction::batchmean) {
    expected_value *= scale;
    magnitude *= scale;
  }
  const double rtol = kTolerance<T>.rtol, atol = kTolerance<T>.atol;
  if (reduction == Reduction::none)
    CHECK(r.value == 0);
  else
    CHECK_CLOSE(r.value, double(expected_value), 0.0, rtol * double(magnitude) + atol, where + " value");
  for (std::size_t i = 0; i < n; ++i) {
    const Expected& e = d.expected[i];
    const Real w = weighted ? Real(d.w[i]) : 1;
    const std::string at = where + " [" + std::to_string(i) + "] x=" + losskit_test::show(d.x[i]) +
                           " y=" + losskit_test::show(d.y[i]);
    if (reduction == Reduction::none) CHECK_CLOSE(values[i], double(w * e.value), rtol, atol, at + " value");
    CHECK_CLOSE(grad[i], double(w * scale * e.grad), rtol, atol, at + " d/dinput");
    // bce_with_logits_weighted's third argument (pos_weight) has no derivative in the API.
    if (arity == 3 && c.loss != ElementwiseLoss::bce_with_logits_weighted)
      CHECK_CLOSE(grad3[i], double(w * scale * e.grad_third), rtol, atol, at + " d/dthird");
    if (arity == 4) {
      if (alpha_grad_defined)
        CHECK_CLOSE(grad3[i], double(w * scale * e.grad_third), rtol, atol, at + " d/dalpha");
      CHECK_CLOSE(grad4[i], double(w * scale * e.grad_fourth), rtol, atol, at + " d/dscale");
    }
  }
}

// The value alone and the gradient alone are the fused call's parts, bit for bit.
template <class T>
void check_parts_match_fused(const Case& c, const Data<T>& d, Reduction reduction,
                             const std::string& where) {
  const losskit_test::Scope scope(where + " (parts vs fused)");
  const std::size_t n = d.x.size();
  losskit::ElementwiseCall<T> call;
  call.input = d.x.data();
  call.target = d.y.data();
  if (losskit::info(c.loss).arity == 3) call.third = d.z3.data();
  call.size = n;
  call.reduction = reduction;
  std::vector<T> fused_grad(n), grad(n), fused_values(n), values(n);
  if (reduction == Reduction::none) call.value_out = fused_values.data();
  call.grad_out = fused_grad.data();
  const double fused = losskit::evaluate(c.loss, c.loss_params(), call).value;
  call.value_out = reduction == Reduction::none ? values.data() : nullptr;
  call.grad_out = nullptr;
  const double value = losskit::evaluate(c.loss, c.loss_params(), call).value;
  call.value_out = nullptr;
  call.grad_out = grad.data();
  call.compute_value = false;
  const double no_value = losskit::evaluate(c.loss, c.loss_params(), call).value;
  CHECK(losskit_test::same_bits(value, fused));
  CHECK(no_value == 0);
  CHECK(losskit_test::same_bytes(grad, fused_grad));
  CHECK(losskit_test::same_bytes(values, fused_values));
}

template <class T> void check_all_cases() {
  // 37 elements: vectors plus a tail on every ISA; 5000: three kBlock blocks, the last partial.
  for (std::size_t n : {std::size_t(37), std::size_t(5000)}) {
    for (const Case& c : cases()) {
      const Data<T> data = make_data<T>(c, n, 1234 + n);
      losskit_test::for_each_isa([&](losskit::Isa isa) {
        const std::string where = c.label() + " " + losskit_test::dtype_name<T>() + " " +
                                  losskit::isa_name(isa) + " n=" + std::to_string(n);
        Data<T> d = data;
        if (!d.from_reference) {
          d.expected = kernel_expected<T>(c, d);
          if (sizeof(T) == 8 && n == 5000) check_finite_differences(c, where);
        }
        for (Reduction red : {Reduction::none, Reduction::sum, Reduction::mean, Reduction::batchmean}) {
          const std::string at = where + " reduction=" + std::to_string(int(red));
          for (bool weighted : {false, true}) {
            check_call<T>(c, d, red, weighted, false, at + (weighted ? " weighted" : ""));
            // Arity 4: the parameters as per-element operands give the same numbers.
            if (losskit::info(c.loss).arity == 4)
              check_call<T>(c, d, red, weighted, true, at + " operands");
          }
          check_parts_match_fused<T>(c, d, red, at);
        }
      });
    }
  }
}

// The typed object of every loss (losskit/loss_objects.hpp) at its defaults, through each of
// its member functions, against the same formulas: weighted sum and mean, per-element values
// of reduction none, and, for arity 3 and 4, the gradients in the other arguments.
template <class Loss, class T> void check_typed_object() {
  const Case c{Loss::id, default_params(losskit::info(Loss::id)), true};
  Data<T> d = make_data<T>(c, 37, 99);
  if (!d.from_reference) d.expected = kernel_expected<T>(c, d);
  const std::size_t n = d.x.size();
  const std::string where = std::string("typed ") + losskit::info(Loss::id).name + " " +
                            losskit_test::dtype_name<T>();
  const double rtol = kTolerance<T>.rtol, atol = kTolerance<T>.atol;
  Real sum = 0, magnitude = 0, weight_sum = 0;
  for (std::size_t i = 0; i < n; ++i) {
    sum += d.w[i] * d.expected[i].value;
    magnitude += std::fabs(d.w[i] * d.expected[i].value);
    weight_sum += d.w[i];
  }
  std::vector<T> grad(n), grad3(n), grad4(n), values(n);
  losskit::Options<T> weighted;
  weighted.sample_weight = d.w;
  Loss loss;
  loss.reduction = Reduction::sum;
  // Arity 3: the typed call's order, (input, target, third) or PyTorch's (input1, input2, target).
  const bool third_first = losskit::info(Loss::id).third_position == 1;
  const std::vector<T>& second = third_first ? d.z3 : d.y;
  const std::vector<T>& third = third_first ? d.y : d.z3;
  double value = 0;
  if constexpr (Loss::arity == 2) {
    value = loss.value_and_grad(d.x, d.y, grad, weighted);
    CHECK(losskit_test::same_bits(loss.value(d.x, d.y, weighted), value));
  } else if constexpr (Loss::arity == 3) {
    value = loss.value_and_grads(d.x, second, third, grad, grad3, weighted);
    CHECK(losskit_test::same_bits(loss.value(d.x, second, third, weighted), value));
  } else {
    value = loss.value_and_grads(d.x, d.y, d.z3, d.z4, grad, grad3, grad4, weighted);
    std::vector<T> g(n), ga(n), gs(n);  // the members hold the same alpha and scale
    CHECK(losskit_test::same_bits(loss.value_and_grads(d.x, d.y, g, ga, gs, weighted), value));
    CHECK(losskit_test::same_bytes(g, grad) && losskit_test::same_bytes(gs, grad4));
  }
  CHECK_CLOSE(value, double(sum), 0.0, rtol * double(magnitude) + atol, where + " sum");
  for (std::size_t i = 0; i < n; ++i) {
    const Expected& e = d.expected[i];
    const std::string at = where + " [" + std::to_string(i) + "]";
    CHECK_CLOSE(grad[i], double(d.w[i] * e.grad), rtol, atol, at + " d/dinput");
    if (Loss::arity >= 3) CHECK_CLOSE(grad3[i], double(d.w[i] * e.grad_third), rtol, atol, at + " d/dthird");
    if (Loss::arity == 4) CHECK_CLOSE(grad4[i], double(d.w[i] * e.grad_fourth), rtol, atol, at + " d/dfourth");
  }
  loss.reduction = Reduction::mean;
  losskit::Options<T> unweighted;
  if constexpr (Loss::arity == 2) {
    loss.grad(d.x, d.y, grad);
    value = loss.value(d.x, d.y);
  } else if constexpr (Loss::arity == 3) {
    loss.grad(d.x, second, third, grad);
    value = loss.value(d.x, second, third);
  } else {
    loss.grad(d.x, d.y, d.z3, d.z4, grad);
    value = loss.value(d.x, d.y, d.z3, d.z4);
  }
  Real plain_sum = 0;
  for (std::size_t i = 0; i < n; ++i) {
    plain_sum += d.expected[i].value;
    CHECK_CLOSE(grad[i], double(d.expected[i].grad / n), rtol, atol, where + " mean d/dinput");
  }
  CHECK_CLOSE(value, double(plain_sum / n), rtol, atol, where + " mean");
  loss.reduction = Reduction::none;
  losskit::Options<T> per_element;
  per_element.values = values;
  if constexpr (Loss::arity == 2) value = loss.value(d.x, d.y, per_element);
  else if constexpr (Loss::arity == 3) value = loss.value(d.x, second, third, per_element);
  else value = loss.value(d.x, d.y, d.z3, d.z4, per_element);
  CHECK(value == 0);
  for (std::size_t i = 0; i < n; ++i)
    CHECK_CLOSE(values[i], double(d.expected[i].value), rtol, atol, where + " none");
}

template <class T> void check_typed_objects() {
#define LOSSKIT_CHECK_OBJECT(Loss) check_typed_object<losskit::Loss, T>();
  LOSSKIT_ELEMENTWISE_OBJECTS(LOSSKIT_CHECK_OBJECT)
#undef LOSSKIT_CHECK_OBJECT
}

LOSSKIT_TEST(typed_objects_match_the_formulas) {
  check_typed_objects<double>();
  check_typed_objects<float>();
}

// The per-point functions (losskit/point.hpp: the definitions compiled with one lane) at every
// loss's defaults: value, gradient and the fused calls against the formulas, the other
// arguments' gradients too, and the exact curvature against the array kernel's.
template <class Loss, class T, class Call, class ValueGradients>
void check_point_functions(const Call& call, const ValueGradients& value_gradients) {
  const Case c{Loss::id, default_params(losskit::info(Loss::id)), true};
  Data<T> d = make_data<T>(c, 37, 99);
  if (!d.from_reference) d.expected = kernel_expected<T>(c, d);
  const std::size_t n = d.x.size();
  const std::string where = std::string("point ") + losskit::info(Loss::id).name + " " +
                            losskit_test::dtype_name<T>();
  const double rtol = kTolerance<T>.rtol, atol = kTolerance<T>.atol;
  Loss loss;
  loss.reduction = Reduction::sum;
  std::vector<T> grad(n), hess(n);
  if constexpr (Loss::arity == 2) loss.grad_hess(d.x, d.y, grad, hess, losskit::Hessian::exact);
  else if constexpr (Loss::arity == 3) {
    if (losskit::info(Loss::id).third_position == 1)  // PyTorch's (input1, input2, target)
      loss.grad_hess(d.x, d.z3, d.y, grad, hess, losskit::Hessian::exact);
    else
      loss.grad_hess(d.x, d.y, d.z3, grad, hess, losskit::Hessian::exact);
  }
  else loss.grad_hess(d.x, d.y, d.z3, d.z4, grad, hess, losskit::Hessian::exact);
  for (std::size_t i = 0; i < n; ++i) {
    const Expected& e = d.expected[i];
    const std::string at = where + " [" + std::to_string(i) + "]";
    const auto r = call(d.x[i], d.y[i], d.z3[i], d.z4[i]);
    CHECK_CLOSE(r.value, double(e.value), rtol, atol, at + " value");
    CHECK_CLOSE(r.gradient, double(e.grad), rtol, atol, at + " gradient");
    CHECK(losskit_test::same_bits(r.pair.value, r.value) &&
          losskit_test::same_bits(r.pair.gradient, r.gradient));
    CHECK(losskit_test::same_bits(r.curvature.gradient, r.gradient));
    CHECK_CLOSE(r.curvature.hessian, double(hess[i]), rtol, atol, at + " hessian");
    value_gradients(d.x[i], d.y[i], d.z3[i], d.z4[i], e, at);
  }
}

template <class T> struct PointResult {
  T value, gradient;
  losskit::point::ValueGrad<T> pair;
  losskit::point::GradHess<T> curvature;
};

// f called with the arguments in the order of the Python call (MarginRankingLoss: input1,
// input2, target; Barron: input, target, alpha, scale).
template <class Loss, class F, class T> auto call_point(const F& f, T x, T y, T z3, T z4) {
  if constexpr (Loss::arity == 2) return f(x, y);
  else if constexpr (Loss::arity == 4) return f(x, y, z3, z4);
  else if (losskit::info(Loss::id).third_position == 1) return f(x, z3, y);
  else return f(x, y, z3);
}

// The gradients of a three- or four-argument loss's other arguments (its *Gradients struct:
// value, gradient, then one gradient per operand).
template <class Loss, class R>
void check_extra_gradients(const R& all, const Expected& e, double rtol, double atol,
                           const std::string& at) {
  if constexpr (Loss::arity == 3) {
    const auto& [value, gradient, third] = all;
    CHECK_CLOSE(third, double(e.grad_third), rtol, atol, at + " d/dthird");
    (void)value, (void)gradient;
  } else {
    const auto& [value, gradient, third, fourth] = all;
    CHECK_CLOSE(third, double(e.grad_third), rtol, atol, at + " d/dthird");
    CHECK_CLOSE(fourth, double(e.grad_fourth), rtol, atol, at + " d/dfourth");
    (void)value, (void)gradient;
  }
}

template <class T> void check_all_point_functions() {
  using namespace losskit::point;
  const double rtol = kTolerance<T>.rtol, atol = kTolerance<T>.atol;
#define LOSSKIT_POINT_CALL(name, Object)                                                       \
  [](T x, T y, T z3, T z4) {                                                                   \
    auto call = [&](auto fn) { return call_point<losskit::Object>(fn, x, y, z3, z4); };        \
    return PointResult<T>{call([](auto... a) { return name##_value(a...); }),                  \
                          call([](auto... a) { return name##_gradient(a...); }),               \
                          call([](auto... a) { return name##_value_gradient(a...); }),         \
                          call([](auto... a) { return name##_gradient_hessian(a...); })};      \
  }
#define LOSSKIT_POINT_CHECK2(name, Object)                                                     \
  check_point_functions<losskit::Object, T>(                                                   \
      LOSSKIT_POINT_CALL(name, Object), [](T, T, T, T, const Expected&, const std::string&) {});
#define LOSSKIT_POINT_CHECKN(name, Object)                                                     \
  check_point_functions<losskit::Object, T>(                                                   \
      LOSSKIT_POINT_CALL(name, Object),                                                        \
      [&](T x, T y, T z3, T z4, const Expected& e, const std::string& at) {                   \
        const auto all = call_point<losskit::Object>(                                          \
            [](auto... a) { return name##_value_gradients(a...); }, x, y, z3, z4);             \
        CHECK_CLOSE(all.value, double(e.value), rtol, atol, at + " value_gradients value");    \
        CHECK_CLOSE(all.gradient, double(e.grad), rtol, atol, at + " value_gradients grad");   \
        check_extra_gradients<losskit::Object>(all, e, rtol, atol, at);                        \
      });
  LOSSKIT_POINT_LOSSES(LOSSKIT_POINT_CHECK2, LOSSKIT_POINT_CHECKN)
#undef LOSSKIT_POINT_CHECKN
#undef LOSSKIT_POINT_CHECK2
#undef LOSSKIT_POINT_CALL
}

LOSSKIT_TEST(point_functions_match_the_formulas) {
  check_all_point_functions<double>();
  check_all_point_functions<float>();
}

LOSSKIT_TEST(every_loss_matches_its_formula_float64) { check_all_cases<double>(); }
LOSSKIT_TEST(every_loss_matches_its_formula_float32) { check_all_cases<float>(); }

// The check a loss without a formula here gets, run on every loss's default case: the losses
// with formulas show that it passes on correct kernels of every kind (kinks, clamps, domain
// ends, per-element operands).
LOSSKIT_TEST(kernel_gradients_match_finite_differences) {
  for (const Case& c : cases())
    if (c.is_default)
      losskit_test::for_each_isa([&](losskit::Isa isa) {
        check_finite_differences(c, c.label() + " " + losskit::isa_name(isa));
      });
}

// The default case of every loss exists (cases() derives it), holds one value per kernel
// parameter, and each default lies in its parameter's domain: a choice's index names one of
// its choices, an integer is integral, a boolean is 0 or 1.
LOSSKIT_TEST(every_registered_loss_has_a_default_case) {
  std::vector<int> defaults(losskit::kNumElementwiseLosses, 0);
  for (const Case& c : cases()) {
    if (!c.is_default) continue;
    ++defaults[int(c.loss)];
    const LossInfo& info = losskit::info(c.loss);
    const losskit_test::Scope scope(std::string("default case of ") + info.name);
    CHECK(int(c.params.size()) == losskit::kernel_param_count(info));
    CHECK(c.params.size() <= std::size_t(LossParams::kMax));
    const std::vector<int> k = kernel_param_indices(info);
    for (std::size_t j = 0; j < k.size() && j < c.params.size(); ++j) {
      const losskit::ParamInfo& p = info.params[k[j]];
      const double v = c.params[j];
      const std::string what = std::string(info.name) + "." + p.name + " = " + losskit_test::show(v);
      if (!p.domain.contains(v)) losskit_test::report(__FILE__, __LINE__, what + " outside its domain");
      if (p.kind == ParamKind::integer && v != std::floor(v))
        losskit_test::report(__FILE__, __LINE__, what + " is not an integer");
      if (p.kind == ParamKind::boolean && v != 0 && v != 1)
        losskit_test::report(__FILE__, __LINE__, what + " is not a boolean");
      if (p.kind == ParamKind::choice) {
        const std::string choices = p.choices;
        const double count = double(std::count(choices.begin(), choices.end(), ',') + 1);
        if (choices.empty() || v != std::floor(v) || v < 0 || v >= count)
          losskit_test::report(__FILE__, __LINE__, what + " names none of \"" + choices + "\"");
      }
    }
  }
  for (int i = 0; i < losskit::kNumElementwiseLosses; ++i)
    if (defaults[i] != 1)
      losskit_test::report(__FILE__, __LINE__, std::to_string(defaults[i]) + " default cases for " +
                                                   losskit::info(ElementwiseLoss(i)).name);
}

LOSSKIT_TEST(registry_names_round_trip) {
  for (int i = 0; i < losskit::kNumElementwiseLosses; ++i) {
    const auto loss = ElementwiseLoss(i);
    CHECK(losskit::elementwise_loss_from_name(losskit::info(loss).name) == loss);
  }
  const LossInfo& huber = losskit::info(ElementwiseLoss::huber);
  CHECK(huber.num_params == 1);
  CHECK(std::string(huber.params[0].name) == "delta");
  CHECK(huber.params[0].kind == ParamKind::real);
  CHECK(huber.params[0].default_value == 1.0);
  CHECK(!huber.params[0].domain.contains(0.0) && huber.params[0].domain.contains(1e-300));
  const LossInfo& gauss = losskit::info(ElementwiseLoss::gaussian_nll);
  CHECK(gauss.arity == 3);
  CHECK(gauss.num_params == 3);
  CHECK(std::string(gauss.params[0].name) == "full" && gauss.params[0].kind == ParamKind::boolean);
  CHECK(std::string(gauss.params[1].name) == "eps" && gauss.params[1].default_value == 1e-6);
  CHECK(std::string(gauss.params[2].name) == "param" && gauss.params[2].kind == ParamKind::choice);
  CHECK(std::string(gauss.params[2].choices) == "var,precision");
  CHECK(!gauss.third_domain.contains(-1e-300) && gauss.third_domain.contains(0.0));
  const LossInfo& barron = losskit::info(ElementwiseLoss::barron);
  CHECK(barron.arity == 4);
  CHECK(std::string(barron.params[0].name) == "alpha" && barron.params[0].domain.contains(-kInf));
  CHECK(std::string(barron.params[1].name) == "scale" && !barron.params[1].domain.contains(0.0));
  CHECK(losskit::info(ElementwiseLoss::bce).input_domain.contains(1.0));
  CHECK(!losskit::info(ElementwiseLoss::bce).input_domain.contains(1.0 + 1e-15));
  CHECK_THROWS(losskit::elementwise_loss_from_name("no_such_loss"), std::invalid_argument);
  CHECK_THROWS(losskit::info(ElementwiseLoss(losskit::kNumElementwiseLosses)), std::invalid_argument);
  CHECK_THROWS(losskit::info(ElementwiseLoss(-1)), std::invalid_argument);
}

// A finite value outside d, if any (an open infinite end excludes the infinity itself).
std::optional<double> outside(const Interval& d) {
  if (std::isfinite(d.low)) return d.low - 1;
  if (std::isfinite(d.high)) return d.high + 1;
  if (!d.low_closed) return -kInf;
  if (!d.high_closed) return kInf;
  return std::nullopt;
}

// Arguments outside their domains are reported before anything is written: every output keeps
// the sentinel it was filled with, and the report names the argument and its first offending
// element (in the second block of kBlock = 2048 elements; a later offender follows it), for
// every loss at its defaults, every reduction, float and double, on every ISA. The same call
// with the argument put back writes every output, so the sentinels do show a write.
template <class T> void check_refused_before_writing(const Case& c, const std::string& where) {
  const std::size_t n = 3000, first = 2500, later = 2900;
  const LossInfo& info = losskit::info(c.loss);
  const Data<T> d = make_data<T>(c, n, 77);
  const T sentinel = T(-1234.5);
  struct Bad {
    BadArgument argument;
    std::size_t index;  // into Args, or 4: sample_weight
    double value;
  };
  std::vector<Bad> bads = {{BadArgument::sample_weight, 4, -1.0}};
  if (!info.input_domain.is_everything())
    if (const auto v = outside(info.input_domain)) bads.push_back({BadArgument::input, 0, *v});
  if (info.arity == 3 && !info.third_domain.is_everything())
    if (const auto v = outside(info.third_domain)) bads.push_back({BadArgument::third, 2, *v});
  if (info.target_check == losskit::TargetCheck::signs) bads.push_back({BadArgument::target, 1, 0.5});
  if (info.target_check == losskit::TargetCheck::domain)
    if (const auto v = outside(info.target_domain)) bads.push_back({BadArgument::target, 1, *v});
  for (const Bad& bad : bads) {
    for (Reduction red : {Reduction::none, Reduction::sum, Reduction::mean, Reduction::batchmean}) {
      const losskit_test::Scope scope(where + " " + losskit_test::show(bad.value) + " in argument " +
                                      std::to_string(int(bad.argument)) + " reduction=" +
                                      std::to_string(int(red)));
      Args<T> a = args_of(d);
      std::vector<T> w = d.w;
      std::vector<T>& target = bad.index == 4 ? w : a[bad.index];
      const T good = target[first];
      target[first] = T(bad.value);
      target[later] = T(bad.value);
      std::vector<T> values(n, sentinel), grad(n, sentinel), grad3(n, sentinel), grad4(n, sentinel);
      losskit::ElementwiseCall<T> call;
      call.input = a[0].data();
      call.target = a[1].data();
      if (info.arity == 3) call.third = a[2].data();
      call.sample_weight = w.data();
      call.size = n;
      call.reduction = red;
      call.batch_size = 5;
      if (red == Reduction::none) call.value_out = values.data();
      call.grad_out = grad.data();
      if (info.arity >= 3) call.grad_third_out = grad3.data();
      if (info.arity == 4) call.grad_fourth_out = grad4.data();
      const std::vector<T> untouched(n, sentinel);
      losskit::ElementwiseResult r = losskit::evaluate(c.loss, c.loss_params(), call);
      CHECK(r.bad_argument == bad.argument);
      CHECK(r.bad_index == first);
      CHECK(losskit_test::same_bytes(values, untouched));
      CHECK(losskit_test::same_bytes(grad, untouched));
      CHECK(losskit_test::same_bytes(grad3, untouched));
      CHECK(losskit_test::same_bytes(grad4, untouched));
      target[first] = target[later] = good;
      r = losskit::evaluate(c.loss, c.loss_params(), call);
      CHECK(r.bad_argument == BadArgument::none);
      CHECK(grad[first] != sentinel && grad[later] != sentinel);
      if (red == Reduction::none) CHECK(values[first] != sentinel);
      if (info.arity >= 3) CHECK(grad3[first] != sentinel);
      if (info.arity == 4) CHECK(grad4[first] != sentinel);
    }
  }
}

LOSSKIT_TEST(arguments_outside_their_domains_are_refused_before_writing) {
  // The rule must reach a loss with an input domain and one with a third argument's domain.
  CHECK(!losskit::info(ElementwiseLoss::bce).input_domain.is_everything());
  CHECK(!losskit::info(ElementwiseLoss::gaussian_nll).third_domain.is_everything());
  for (const Case& c : cases()) {
    if (!c.is_default) continue;
    losskit_test::for_each_isa([&](losskit::Isa isa) {
      const std::string where = c.label() + " " + losskit::isa_name(isa);
      check_refused_before_writing<float>(c, where + " float32");
      check_refused_before_writing<double>(c, where + " float64");
    });
  }
}

// Named cases of the rule above: a probability above 1 and one below 0 for bce (the first is
// reported), a negative variance for gaussian_nll, negative weights for mse.
template <class T> void check_bad_arguments() {
  const std::size_t n = 3000;  // past the first block: the index is found in a later one
  std::vector<T> x(n, T(0.5)), y(n, T(0.25)), z(n, T(1)), w(n, T(1)), g(n, T(7)), v(n, T(7));
  const std::vector<T> sentinels(n, T(7));
  losskit::ElementwiseCall<T> call;
  call.input = x.data();
  call.target = y.data();
  call.size = n;
  call.grad_out = g.data();
  for (Reduction red : {Reduction::none, Reduction::sum, Reduction::mean, Reduction::batchmean}) {
    call.reduction = red;
    call.batch_size = 3;
    call.value_out = red == Reduction::none ? v.data() : nullptr;
    call.sample_weight = w.data();
    w[2500] = T(-1);
    w[2600] = T(-2);
    losskit::ElementwiseResult r = losskit::evaluate(ElementwiseLoss::mse, LossParams{}, call);
    CHECK(r.bad_argument == BadArgument::sample_weight);
    CHECK(r.bad_index == 2500);
    w[2500] = w[2600] = T(1);
    call.sample_weight = nullptr;

    x[2500] = T(1.5);  // bce: a probability above 1
    x[2999] = T(-0.5);
    r = losskit::evaluate(ElementwiseLoss::bce, LossParams{}, call);
    CHECK(r.bad_argument == BadArgument::input);
    CHECK(r.bad_index == 2500);
    x[2500] = x[2999] = T(0.5);

    call.third = z.data();  // gaussian_nll: a negative variance
    z[2500] = T(-1e-3);
    LossParams gauss;
    gauss.values[1] = 1e-6;
    r = losskit::evaluate(ElementwiseLoss::gaussian_nll, gauss, call);
    CHECK(r.bad_argument == BadArgument::third);
    CHECK(r.bad_index == 2500);
    CHECK(losskit_test::same_bytes(g, sentinels));
    CHECK(losskit_test::same_bytes(v, sentinels));
    z[2500] = T(1);
    r = losskit::evaluate(ElementwiseLoss::gaussian_nll, gauss, call);
    CHECK(r.bad_argument == BadArgument::none);
    CHECK(g[2500] != T(7));
    call.third = nullptr;
    std::fill(g.begin(), g.end(), T(7));
    std::fill(v.begin(), v.end(), T(7));
  }
}

LOSSKIT_TEST(bad_arguments_are_reported_with_their_first_index) {
  losskit_test::for_each_isa([](losskit::Isa) {
    check_bad_arguments<float>();
    check_bad_arguments<double>();
  });
}

LOSSKIT_TEST(empty_input) {
  losskit::ElementwiseCall<double> call;
  call.reduction = Reduction::sum;
  CHECK(losskit::evaluate(ElementwiseLoss::mse, LossParams{}, call).value == 0);
  call.reduction = Reduction::mean;
  CHECK(std::isnan(losskit::evaluate(ElementwiseLoss::mse, LossParams{}, call).value));
}

LOSSKIT_TEST(nan_and_inf_propagate) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> x = {nan, kInf, 1.0}, y = {0.0, 0.0, 0.0}, g(3);
  losskit::ElementwiseCall<double> call;
  call.input = x.data();
  call.target = y.data();
  call.size = 3;
  call.grad_out = g.data();
  call.reduction = Reduction::sum;
  LossParams huber;
  huber.values[0] = 1.0;
  CHECK(std::isnan(losskit::evaluate(ElementwiseLoss::huber, huber, call).value));
  CHECK(std::isnan(g[0]));
  CHECK(g[1] == 1.0);  // huber's gradient is bounded: delta * sign(inf)
  x[0] = 0.0;
  CHECK(losskit::evaluate(ElementwiseLoss::mse, LossParams{}, call).value == kInf);
  CHECK(g[1] == kInf);
}

// The curvature each policy writes (reduction none, no weights), and the gradient of that call.
struct Curvature {
  std::vector<double> grad, hess;
};
Curvature evaluate_curvature(const Case& c, const Args<double>& a, losskit::Hessian policy) {
  const std::size_t n = a[0].size();
  const int arity = losskit::info(c.loss).arity;
  Curvature out{std::vector<double>(n), std::vector<double>(n)};
  losskit::ElementwiseCall<double> call;
  call.input = a[0].data();
  call.target = a[1].data();
  if (arity == 3) call.third = a[2].data();
  call.size = n;
  call.reduction = Reduction::none;
  call.grad_out = out.grad.data();
  call.hess_out = out.hess.data();
  call.hessian = policy;
  CHECK(losskit::evaluate(c.loss, c.loss_params(), call).bad_argument == BadArgument::none);
  return out;
}

// The exact curvature against central differences of the kernel's own gradient, on every case
// and ISA (95% of the points, as check_finite_differences: kinks); the gradient of a curvature
// call is the plain call's, bit for bit; irls curvatures are >= 0 and "positive" is
// max(exact, kPositiveCurvature).
LOSSKIT_TEST(curvatures_match_differences_of_the_gradient) {
  for (const Case& c : cases()) {
    const LossInfo& info = losskit::info(c.loss);
    losskit_test::for_each_isa([&](losskit::Isa isa) {
      const losskit_test::Scope scope(c.label() + " " + losskit::isa_name(isa) + " (curvature)");
      const std::size_t n = 1000;
      const Data<double> d = make_data<double>(c, n, 99);
      const Args<double> a = args_of(d);
      const PerElement<double> plain = evaluate_per_element<double>(c, a, false);
      const Curvature exact = evaluate_curvature(c, a, losskit::Hessian::exact);
      std::size_t compared = 0, agreed = 0;
      for (std::size_t i = 0; i < n; ++i) {
        CHECK(exact.grad[i] == plain.grad[i] || (std::isnan(exact.grad[i]) && std::isnan(plain.grad[i])));
        const double h = 1e-6 * std::fmax(1, std::fabs(a[0][i]));
        if (!info.input_domain.contains(a[0][i] + h) || !info.input_domain.contains(a[0][i] - h))
          continue;
        Args<double> plus = a, minus = a;
        plus[0] = {a[0][i] + h};
        minus[0] = {a[0][i] - h};
        for (std::size_t k = 1; k < 4; ++k) {
          plus[k] = {a[k][i]};
          minus[k] = {a[k][i]};
        }
        const double up = evaluate_per_element<double>(c, plus, false).grad[0];
        const double down = evaluate_per_element<double>(c, minus, false).grad[0];
        const double fd = (up - down) / (plus[0][0] - minus[0][0]);
        if (!std::isfinite(fd) || !std::isfinite(exact.hess[i])) continue;
        ++compared;
        const double tol = 1e-5 * std::fabs(exact.hess[i]) +
                           1e-8 * (std::fabs(up) + std::fabs(down)) / std::fmax(1, std::fabs(a[0][i])) + 1e-9;
        if (std::fabs(fd - exact.hess[i]) <= tol) ++agreed;
      }
      if (100 * agreed < 95 * compared || 2 * compared < n)
        losskit_test::report(__FILE__, __LINE__, std::to_string(agreed) + " of " +
                                                     std::to_string(compared) + " points agree");
      if (losskit::offers(info, losskit::Hessian::irls)) {
        const Curvature irls = evaluate_curvature(c, a, losskit::Hessian::irls);
        for (std::size_t i = 0; i < n; ++i) CHECK(!(irls.hess[i] < 0));
      }
      if (losskit::offers(info, losskit::Hessian::positive)) {
        const Curvature positive = evaluate_curvature(c, a, losskit::Hessian::positive);
        for (std::size_t i = 0; i < n; ++i)
          if (!std::isnan(exact.hess[i]))
            CHECK(positive.hess[i] == std::fmax(exact.hess[i], losskit::kPositiveCurvature));
      }
    });
  }
}

// A policy the loss does not offer, or a curvature without a gradient buffer: refused before
// anything is written.
LOSSKIT_TEST(curvature_requests_the_loss_cannot_serve_are_refused) {
  std::vector<double> x = {0.5, -1.0}, y = {0.0, 1.0}, g = {7, 7}, h = {7, 7};
  losskit::ElementwiseCall<double> call;
  call.input = x.data();
  call.target = y.data();
  call.size = 2;
  call.hess_out = h.data();
  CHECK_THROWS(losskit::evaluate(ElementwiseLoss::mse, LossParams{}, call), std::invalid_argument);
  call.grad_out = g.data();
  call.hessian = losskit::Hessian::irls;
  CHECK(!losskit::offers(losskit::info(ElementwiseLoss::kl_div), losskit::Hessian::irls));
  CHECK_THROWS(losskit::evaluate(ElementwiseLoss::kl_div, LossParams{}, call), std::invalid_argument);
  call.hessian = static_cast<losskit::Hessian>(7);
  CHECK_THROWS(losskit::evaluate(ElementwiseLoss::mse, LossParams{}, call), std::invalid_argument);
  CHECK(g[0] == 7 && g[1] == 7 && h[0] == 7 && h[1] == 7);
}

}  // namespace
