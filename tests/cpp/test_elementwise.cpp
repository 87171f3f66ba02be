// Every elementwise loss of the public C++ API against a scalar formula written here (long
// double, straight from each loss's definition: PyTorch's where PyTorch has the loss), for
// value and gradients, every reduction, with and without sample weights, float and double, on
// every available instruction set; and the error reports of the API.
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "check.hpp"
#include "support.hpp"

namespace {

using losskit::BadArgument;
using losskit::ElementwiseLoss;
using losskit::LossParams;
using losskit::Reduction;
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

// The definitions, one per loss (params in loss_list.hpp's order). x: input, y: target,
// z3/z4: the third and fourth argument (arity 3 and 4).
Expected reference(ElementwiseLoss loss, const LossParams& lp, Real x, Real y, Real z3, Real z4) {
  const double* p = lp.values;
  const Real r = x - y;
  switch (loss) {
    case ElementwiseLoss::mse: return {r * r, 2 * r};
    case ElementwiseLoss::l1: return {std::fabs(r), sign(r)};
    case ElementwiseLoss::huber: {
      const Real d = p[0];
      if (std::fabs(r) < d) return {r * r / 2, r};
      return {d * (std::fabs(r) - d / 2), d * sign(r)};
    }
    case ElementwiseLoss::smooth_l1: {
      const Real beta = p[0];
      if (std::fabs(r) < beta) return {r * r / (2 * beta), r / beta};
      return {std::fabs(r) - beta / 2, sign(r)};
    }
    case ElementwiseLoss::pseudo_huber: {
      const Real d = p[0], root = std::sqrt(1 + (r / d) * (r / d));
      return {d * d * (root - 1), r / root};
    }
    case ElementwiseLoss::log_cosh: return {std::log(std::cosh(r)), std::tanh(r)};
    case ElementwiseLoss::quantile: {
      const Real q = p[0], u = y - x;
      return {u >= 0 ? q * u : (q - 1) * u, u > 0 ? -q : (u < 0 ? 1 - q : 0)};
    }
    case ElementwiseLoss::epsilon_insensitive: {
      const Real m = std::fmax(Real(0), std::fabs(r) - Real(p[0]));
      if (p[1] != 0) return {m * m, 2 * m * sign(r)};
      return {m, m > 0 ? sign(r) : 0};
    }
    case ElementwiseLoss::gaussian_nll: {
      const Real full = p[0] != 0 ? kHalfLog2Pi : 0;
      if (p[2] != 0) {  // precision beta, clamped to 1/eps
        const Real b = std::fmin(z3, 1 / Real(p[1]));
        return {(r * r * b - std::log(b)) / 2 + full, r * b, (r * r - 1 / b) / 2};
      }
      const Real v = std::fmax(z3, Real(p[1]));  // var clamped to eps
      return {(std::log(v) + r * r / v) / 2 + full, r / v, (1 / v - r * r / (v * v)) / 2};
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
      return {(1 - y) * x + lw * std::log1p(std::exp(-x)), (1 - y) - lw * sigmoid(-x)};
    }
    case ElementwiseLoss::bce: {
      const Real log_p = std::fmax(std::log(x), Real(-100));
      const Real log_1mp = std::fmax(std::log1p(-x), Real(-100));
      const Real floor = Real(double(1e-12f));  // PyTorch's clamp is a float constant
      return {-(y * log_p + (1 - y) * log_1mp), (x - y) / std::fmax(x * (1 - x), floor)};
    }
    case ElementwiseLoss::kl_div:
      if (p[0] != 0) return {std::exp(y) * (y - x), -std::exp(y)};
      return {(y == 0 ? 0 : y * std::log(y)) - y * x, -y};
    case ElementwiseLoss::soft_margin: return {std::log1p(std::exp(-y * x)), -y * sigmoid(-y * x)};
    case ElementwiseLoss::hinge: {
      const Real h = Real(p[0]) - y * x;
      return {std::fmax(Real(0), h), h >= 0 ? -y : 0};
    }
    case ElementwiseLoss::squared_hinge: {
      const Real h = std::fmax(Real(0), Real(p[0]) - y * x);
      return {h * h, -2 * y * h};
    }
    case ElementwiseLoss::modified_huber: {
      const Real z = y * x;
      if (z >= 1) return {0, 0};
      if (z >= -1) return {(1 - z) * (1 - z), -2 * y * (1 - z)};
      return {-4 * z, -4 * y};
    }
    case ElementwiseLoss::perceptron: return {std::fmax(Real(0), -y * x), y * x <= 0 ? -y : 0};
    case ElementwiseLoss::barron: {
      const Real c = z4, u = r / c;
      const Barron b = barron_general(u, z3);
      // d/dinput = drho/du / c, d/dscale = drho/du * (-u / c)
      return {b.rho, b.drho_du / c, b.drho_da, -b.drho_du * u / c};
    }
  }
  throw std::logic_error("no reference for this loss");
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
    case ElementwiseLoss::soft_margin:
    case ElementwiseLoss::hinge:
    case ElementwiseLoss::squared_hinge:
    case ElementwiseLoss::modified_huber:
    case ElementwiseLoss::perceptron:  // scores, targets +-1
      return {rng.uniform(-3, 3), rng.uniform(0, 1) < 0.5 ? -1.0 : 1.0};
    case ElementwiseLoss::barron:
      return {rng.uniform(-4, 4), rng.uniform(-4, 4), p[0], p[1]};
    default:
      return {rng.uniform(-3, 3), rng.uniform(-3, 3)};
  }
}

struct Case {
  ElementwiseLoss loss;
  std::vector<double> params;
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

std::vector<Case> cases() {
  using L = ElementwiseLoss;
  return {
      {L::mse, {}},
      {L::l1, {}},
      {L::huber, {1.0}},
      {L::huber, {0.3}},
      {L::smooth_l1, {1.0}},
      {L::smooth_l1, {0.0}},  // exactly L1
      {L::pseudo_huber, {1.0}},
      {L::pseudo_huber, {2.5}},
      {L::log_cosh, {}},
      {L::quantile, {0.5}},
      {L::quantile, {0.9}},
      {L::epsilon_insensitive, {0.1, 0}},
      {L::epsilon_insensitive, {0.5, 1}},
      {L::gaussian_nll, {0, 1e-6, 0}},
      {L::gaussian_nll, {1, 1e-3, 0}},
      {L::gaussian_nll, {0, 1e-2, 1}},  // precision
      {L::poisson_nll, {1, 0, 1e-8}},
      {L::poisson_nll, {0, 1, 1e-8}},
      {L::bce_with_logits, {1.0}},
      {L::bce_with_logits, {3.0}},
      {L::bce_with_logits_weighted, {}},
      {L::bce, {}},
      {L::kl_div, {0}},
      {L::kl_div, {1}},
      {L::soft_margin, {}},
      {L::hinge, {1.0}},
      {L::squared_hinge, {0.5}},
      {L::modified_huber, {}},
      {L::perceptron, {}},
      {L::barron, {1.0, 1.0}},
      {L::barron, {0.5, 2.0}},
      {L::barron, {-3.0, 0.7}},
      {L::barron, {4.0, 1.5}},
      {L::barron, {2.0, 1.0}},
      {L::barron, {0.0, 0.5}},
      {L::barron, {-kInf, 1.0}},
      {L::barron, {kInf, 3.0}},
  };
}

template <class T>
constexpr losskit_test::Tolerance kTolerance = losskit_test::for_type<T>({2e-5, 2e-5}, {1e-11, 1e-12});

// The test data of a case in T, with the per-element reference computed from the T values.
template <class T> struct Data {
  std::vector<T> x, y, z3, z4, w;
  std::vector<Expected> expected;
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
    d.expected.push_back(special ? barron_special((Real(d.x.back()) - d.y.back()) / d.z4.back(),
                                                  d.z4.back(), a)
                                 : reference(c.loss, lp, d.x.back(), d.y.back(), a, d.z4.back()));
  }
  return d;
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
  if (reduction == Reduction::batchmean) scale = Real(1) / call.batch_size;
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
      const Data<T> d = make_data<T>(c, n, 1234 + n);
      losskit_test::for_each_isa([&](losskit::Isa isa) {
        const std::string where = c.label() + " " + losskit_test::dtype_name<T>() + " " +
                                  losskit::isa_name(isa) + " n=" + std::to_string(n);
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

LOSSKIT_TEST(every_loss_matches_its_formula_float64) { check_all_cases<double>(); }
LOSSKIT_TEST(every_loss_matches_its_formula_float32) { check_all_cases<float>(); }

LOSSKIT_TEST(every_registered_loss_has_a_test_case) {
  std::vector<bool> seen(losskit::kNumElementwiseLosses, false);
  for (const Case& c : cases()) seen[int(c.loss)] = true;
  for (int i = 0; i < losskit::kNumElementwiseLosses; ++i)
    if (!seen[i]) losskit_test::report(__FILE__, __LINE__, std::string("no case for ") +
                                                               losskit::info(ElementwiseLoss(i)).name);
}

LOSSKIT_TEST(registry_names_round_trip) {
  for (int i = 0; i < losskit::kNumElementwiseLosses; ++i) {
    const auto loss = ElementwiseLoss(i);
    CHECK(losskit::elementwise_loss_from_name(losskit::info(loss).name) == loss);
  }
  CHECK(std::string(losskit::info(ElementwiseLoss::huber).param_names) == "delta");
  CHECK(losskit::info(ElementwiseLoss::gaussian_nll).arity == 3);
  CHECK(losskit::info(ElementwiseLoss::barron).arity == 4);
  CHECK_THROWS(losskit::elementwise_loss_from_name("no_such_loss"), std::invalid_argument);
  CHECK_THROWS(losskit::info(ElementwiseLoss(losskit::kNumElementwiseLosses)), std::invalid_argument);
  CHECK_THROWS(losskit::info(ElementwiseLoss(-1)), std::invalid_argument);
}

// Refused arguments: the result names the argument and the first offending element.
template <class T> void check_bad_arguments() {
  const std::size_t n = 3000;  // past the first block: the index is found in a later one
  std::vector<T> x(n, T(0.5)), y(n, T(0.25)), z(n, T(1)), w(n, T(1)), g(n);
  losskit::ElementwiseCall<T> call;
  call.input = x.data();
  call.target = y.data();
  call.size = n;
  call.grad_out = g.data();
  for (Reduction red : {Reduction::none, Reduction::sum, Reduction::mean}) {
    call.reduction = red;
    call.sample_weight = w.data();
    w[2100] = T(-1);
    w[2500] = T(-2);
    losskit::ElementwiseResult r = losskit::evaluate(ElementwiseLoss::mse, LossParams{}, call);
    CHECK(r.bad_argument == BadArgument::sample_weight);
    CHECK(r.bad_index == 2100);
    w[2100] = w[2500] = T(1);
    call.sample_weight = nullptr;

    x[2049] = T(1.5);  // bce: a probability above 1
    x[2999] = T(-0.5);
    r = losskit::evaluate(ElementwiseLoss::bce, LossParams{}, call);
    CHECK(r.bad_argument == BadArgument::input);
    CHECK(r.bad_index == 2049);
    x[2049] = x[2999] = T(0.5);

    call.third = z.data();  // gaussian_nll: a negative variance
    z[2222] = T(-1e-3);
    LossParams gauss;
    gauss.values[1] = 1e-6;
    r = losskit::evaluate(ElementwiseLoss::gaussian_nll, gauss, call);
    CHECK(r.bad_argument == BadArgument::third);
    CHECK(r.bad_index == 2222);
    z[2222] = T(1);
    r = losskit::evaluate(ElementwiseLoss::gaussian_nll, gauss, call);
    CHECK(r.bad_argument == BadArgument::none);
    call.third = nullptr;
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

}  // namespace
