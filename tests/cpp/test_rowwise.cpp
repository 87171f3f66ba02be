// The row-wise losses of the public C++ API (cross_entropy, nll, multi_margin,
// multiclass_hinge) against per-row formulas written here in long double (PyTorch's
// definitions), with class weights, sample weights, ignore_index, label smoothing and
// probability targets; and the refusal of bad labels and weights before anything is written.
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "check.hpp"
#include "support.hpp"

namespace {

using losskit::BadArgument;
using losskit::LossParams;
using losskit::Reduction;
using losskit::RowwiseLoss;
using losskit_test::Lcg;
using Real = long double;

struct Options {
  RowwiseLoss loss;
  double p0 = 0, p1 = 0;  // the loss's kernel parameters, in LossInfo::params' order
  bool class_weights = false, sample_weights = false, probabilities = false;
  std::string label() const {
    return std::string(losskit::info(loss).name) + " p=" + losskit_test::show(p0) + "," +
           losskit_test::show(p1) + (class_weights ? " class-weighted" : "") +
           (sample_weights ? " sample-weighted" : "") + (probabilities ? " probabilities" : "");
  }
};

struct RowExpected {
  Real value;              // before the sample weight
  std::vector<Real> grad;  // d value / d row, before the sample weight and reduction scale
  Real mean_weight;        // the row's share of the mean's denominator, before sample weight
};

RowExpected reference_row(const Options& o, const Real* x, std::size_t C, std::int64_t y,
                          const Real* t, const std::vector<Real>& w) {
  RowExpected e{0, std::vector<Real>(C, 0), 1};
  const auto weight = [&](std::size_t c) { return w.empty() ? Real(1) : w[c]; };
  switch (o.loss) {
    case RowwiseLoss::cross_entropy: {
      Real m = x[0];
      for (std::size_t c = 1; c < C; ++c) m = std::fmax(m, x[c]);
      Real s = 0;
      for (std::size_t c = 0; c < C; ++c) s += std::exp(x[c] - m);
      const Real lse = m + std::log(s), eps = o.p0;
      // target distribution q (smoothed) and weights: loss = sum_c w_c q_c (lse - x_c)
      std::vector<Real> q(C);
      for (std::size_t c = 0; c < C; ++c)
        q[c] = t ? (1 - eps) * t[c] + eps / C : (1 - eps) * (Real(c) == y) + eps / C;
      Real wq = 0;
      for (std::size_t c = 0; c < C; ++c) {
        e.value += weight(c) * q[c] * (lse - x[c]);
        wq += weight(c) * q[c];
      }
      for (std::size_t c = 0; c < C; ++c)
        e.grad[c] = std::exp(x[c] - lse) * wq - weight(c) * q[c];
      if (!t) e.mean_weight = weight(std::size_t(y));
      return e;
    }
    case RowwiseLoss::nll:
      e.value = -weight(std::size_t(y)) * x[y];
      e.grad[y] = -weight(std::size_t(y));
      e.mean_weight = weight(std::size_t(y));
      return e;
    case RowwiseLoss::multi_margin:
    case RowwiseLoss::multiclass_hinge: {
      const bool multi = o.loss == RowwiseLoss::multi_margin;
      const Real margin = multi ? o.p1 : o.p0;
      const bool squared = multi ? o.p0 == 2 : o.p1 != 0;
      const Real norm = weight(std::size_t(y)) / (multi ? Real(C) : Real(1));
      for (std::size_t c = 0; c < C; ++c) {
        if (std::int64_t(c) == y) continue;
        const Real h = std::fmax(Real(0), margin - x[y] + x[c]);
        e.value += norm * (squared ? h * h : h);
        const Real g = norm * (squared ? 2 * h : (h > 0 ? 1 : 0));
        e.grad[c] += g;
        e.grad[y] -= g;
      }
      return e;
    }
    default: break;  // the others: reference_any below
  }
  throw std::logic_error("no reference for this loss");
}

template <class T>
constexpr losskit_test::Tolerance kTolerance = losskit_test::for_type<T>({3e-5, 3e-6}, {1e-11, 1e-13});

template <class T>
void check_rows(const Options& o, std::size_t N, std::size_t C, Reduction reduction,
                const std::string& where) {
  Lcg rng(N * 31 + C);
  const bool ignores = o.loss == RowwiseLoss::cross_entropy || o.loss == RowwiseLoss::nll;
  const std::int64_t ignore_index = -100;
  std::vector<T> x(N * C), t, cw, sw;
  std::vector<std::int64_t> labels(N);
  for (auto& v : x) v = T(rng.uniform(-4, 4));
  for (std::size_t r = 0; r < N; ++r)
    labels[r] = ignores && !o.probabilities && r % 7 == 3 ? ignore_index : rng.below(std::int64_t(C));
  if (o.probabilities) {
    t.resize(N * C);
    for (std::size_t r = 0; r < N; ++r) {
      double total = 0;
      for (std::size_t c = 0; c < C; ++c) total += (t[r * C + c] = T(rng.uniform(0, 1)));
      for (std::size_t c = 0; c < C; ++c) t[r * C + c] = T(t[r * C + c] / total);
    }
  }
  if (o.class_weights)
    for (std::size_t c = 0; c < C; ++c) cw.push_back(T(rng.uniform(0.2, 2)));
  if (o.sample_weights)
    for (std::size_t r = 0; r < N; ++r) sw.push_back(T(rng.uniform(0, 2)));

  losskit::RowwiseCall<T> call =
      losskit_test::labelled_rows(x.data(), N, C, o.probabilities ? nullptr : labels.data());
  call.target = o.probabilities ? t.data() : nullptr;
  call.ignore_index = ignore_index;
  call.class_weight = cw.empty() ? nullptr : cw.data();
  call.sample_weight = sw.empty() ? nullptr : sw.data();
  call.reduction = reduction;
  std::vector<T> values(N), grad(N * C);
  if (reduction == Reduction::none) call.value_out = values.data();
  call.grad_out = grad.data();
  LossParams lp;
  lp.values[0] = o.p0;
  lp.values[1] = o.p1;
  const losskit::ElementwiseResult result = losskit::evaluate(o.loss, lp, call);
  CHECK(result.bad_argument == BadArgument::none);

  std::vector<Real> w(cw.begin(), cw.end());
  std::vector<RowExpected> rows;
  Real total = 0, magnitude = 0, denominator = 0;
  for (std::size_t r = 0; r < N; ++r) {
    const bool ignored = !o.probabilities && labels[r] == ignore_index;
    std::vector<Real> xr(x.begin() + r * C, x.begin() + (r + 1) * C);
    std::vector<Real> tr = o.probabilities ? std::vector<Real>(t.begin() + r * C, t.begin() + (r + 1) * C)
                                           : std::vector<Real>();
    RowExpected e = ignored ? RowExpected{0, std::vector<Real>(C, 0), 0}
                            : reference_row(o, xr.data(), C, labels[r], tr.empty() ? nullptr : tr.data(), w);
    const Real s = sw.empty() ? 1 : Real(sw[r]);
    total += s * e.value;
    magnitude += std::fabs(s * e.value);
    // PyTorch's weighted mean (labels, CE and NLL): divided by the sum of the label weights.
    const bool label_weighted = o.loss == RowwiseLoss::cross_entropy || o.loss == RowwiseLoss::nll;
    denominator += s * (label_weighted ? e.mean_weight : (ignored ? 0 : 1));
    rows.push_back(std::move(e));
  }
  const Real scale = reduction == Reduction::mean ? 1 / denominator : 1;
  const double rtol = kTolerance<T>.rtol, atol = kTolerance<T>.atol;
  if (reduction != Reduction::none)
    CHECK_CLOSE(result.value, double(total * scale), 0.0, rtol * double(magnitude * scale) + atol, where);
  for (std::size_t r = 0; r < N; ++r) {
    const Real s = sw.empty() ? 1 : Real(sw[r]);
    const std::string at = where + " row " + std::to_string(r);
    if (reduction == Reduction::none) CHECK_CLOSE(values[r], double(s * rows[r].value), rtol, atol, at);
    for (std::size_t c = 0; c < C; ++c)
      CHECK_CLOSE(grad[r * C + c], double(s * scale * rows[r].grad[c]), rtol, atol,
                  at + " class " + std::to_string(c));
  }
}

std::vector<Options> options() {
  using L = RowwiseLoss;
  std::vector<Options> out;
  for (bool cw : {false, true}) {
    for (bool sw : {false, true}) {
      out.push_back({L::cross_entropy, 0.0, 0, cw, sw, false});
      out.push_back({L::cross_entropy, 0.1, 0, cw, sw, false});
      out.push_back({L::cross_entropy, 0.0, 0, cw, sw, true});
      out.push_back({L::cross_entropy, 0.2, 0, cw, sw, true});
      out.push_back({L::nll, 0, 0, cw, sw, false});
      out.push_back({L::multi_margin, 1, 1.0, cw, sw, false});
      out.push_back({L::multi_margin, 2, 0.5, cw, sw, false});
      out.push_back({L::multiclass_hinge, 1.0, 0, cw, sw, false});
      out.push_back({L::multiclass_hinge, 2.0, 1, cw, sw, false});
    }
  }
  return out;
}

template <class T> void check_all() {
  // (N, C): a single class; short rows (one vector, a tail); long rows (float64 row sums);
  // enough rows for several blocks of rows.
  const std::size_t shapes[][2] = {{5, 1}, {33, 3}, {19, 17}, {6, 130}, {700, 24}};
  for (const Options& o : options()) {
    for (const auto& shape : shapes) {
      losskit_test::for_each_isa([&](losskit::Isa isa) {
        for (Reduction red : {Reduction::none, Reduction::sum, Reduction::mean}) {
          check_rows<T>(o, shape[0], shape[1], red,
                        o.label() + " " + losskit_test::dtype_name<T>() + " " + losskit::isa_name(isa) +
                            " " + std::to_string(shape[0]) + "x" + std::to_string(shape[1]) +
                            " reduction=" + std::to_string(int(red)));
        }
      });
    }
  }
}

// Whether a typed object has the overloads of probability targets.
template <class Loss, class T, class = void> struct TakesProbabilities : std::false_type {};
template <class Loss, class T>
struct TakesProbabilities<Loss, T, std::void_t<decltype(std::declval<const Loss&>().value(
                                       losskit::span<const T>(), std::size_t(1), losskit::span<const T>()))>>
    : std::true_type {};

// The typed objects of the losses reference_row covers, at their defaults, against the formulas:
// value and gradient of the weighted sum, with labels (and probabilities where the loss takes
// them). The other row-wise losses' typed objects: test_typed_rows.cpp.
template <class Loss, class T> void check_typed_object() {
  const std::vector<double> defaults = losskit_test::default_params(losskit::info(Loss::id));
  Options o{Loss::id};
  if (defaults.size() > 0) o.p0 = defaults[0];
  if (defaults.size() > 1) o.p1 = defaults[1];
  const std::size_t N = 23, C = 5;
  Lcg rng(7);
  std::vector<T> x(N * C), sw(N), t(N * C), grad(N * C);
  std::vector<std::int64_t> labels(N);
  for (T& v : x) v = T(rng.uniform(-3, 3));
  for (T& v : sw) v = T(rng.uniform(0, 2));
  for (std::size_t r = 0; r < N; ++r) {
    labels[r] = rng.below(std::int64_t(C));
    T total = 0;
    for (std::size_t c = 0; c < C; ++c) total += t[r * C + c] = T(rng.uniform(0.1, 1));
    for (std::size_t c = 0; c < C; ++c) t[r * C + c] /= total;
  }
  Loss loss;
  loss.reduction = Reduction::sum;
  losskit::Options<T> weighted;
  weighted.sample_weight = sw;
  for (bool probabilities : {false, true}) {
    if (probabilities && !TakesProbabilities<Loss, T>::value) continue;
    CHECK((TakesProbabilities<Loss, T>::value == losskit::info(Loss::id).probability_targets));
    const std::string where = std::string("typed ") + losskit::info(Loss::id).name + " " +
                              losskit_test::dtype_name<T>() + (probabilities ? " probabilities" : "");
    double value = 0;
    if constexpr (TakesProbabilities<Loss, T>::value) {
      value = probabilities ? loss.value_and_grad(x, C, t, grad, weighted)
                            : loss.value_and_grad(x, C, labels, grad, weighted);
    } else {
      value = loss.value_and_grad(x, C, labels, grad, weighted);
    }
    Real expected = 0, magnitude = 0;
    const double rtol = kTolerance<T>.rtol, atol = kTolerance<T>.atol;
    for (std::size_t r = 0; r < N; ++r) {
      std::vector<Real> row(x.begin() + r * C, x.begin() + (r + 1) * C), target(C);
      for (std::size_t c = 0; c < C; ++c) target[c] = t[r * C + c];
      const RowExpected e = reference_row(o, row.data(), C, labels[r],
                                          probabilities ? target.data() : nullptr, {});
      expected += sw[r] * e.value;
      magnitude += std::fabs(sw[r] * e.value);
      for (std::size_t c = 0; c < C; ++c)
        CHECK_CLOSE(grad[r * C + c], double(sw[r] * e.grad[c]), rtol, atol,
                    where + " row " + std::to_string(r));
    }
    CHECK_CLOSE(value, double(expected), 0.0, rtol * double(magnitude) + atol, where + " value");
  }
}

LOSSKIT_TEST(typed_rowwise_objects_match_the_formulas) {
#define LOSSKIT_CHECK_OBJECT(Loss)                \
  check_typed_object<losskit::Loss, double>(); \
  check_typed_object<losskit::Loss, float>();
  LOSSKIT_CHECK_OBJECT(CrossEntropy)
  LOSSKIT_CHECK_OBJECT(NLL)
  LOSSKIT_CHECK_OBJECT(MultiMargin)
  LOSSKIT_CHECK_OBJECT(MulticlassHinge)
#undef LOSSKIT_CHECK_OBJECT
}

LOSSKIT_TEST(rowwise_losses_match_their_formulas_float64) { check_all<double>(); }
LOSSKIT_TEST(rowwise_losses_match_their_formulas_float32) { check_all<float>(); }

LOSSKIT_TEST(rowwise_registry) {
  for (int i = 0; i < losskit::kNumRowwiseLosses; ++i) {
    const auto loss = RowwiseLoss(i);
    CHECK(losskit::rowwise_loss_from_name(losskit::info(loss).name) == loss);
  }
  // Every parameter's default lies in its domain (rows of the default case are valid input).
  for (int i = 0; i < losskit::kNumRowwiseLosses; ++i) {
    const losskit::LossInfo& info = losskit::info(RowwiseLoss(i));
    CHECK(info.family == losskit::LossFamily::rowwise);
    for (int j = 0; j < info.num_params; ++j)
      if (!info.params[j].domain.contains(info.params[j].default_value))
        losskit_test::report(__FILE__, __LINE__, std::string(info.name) + "." + info.params[j].name +
                                                     " default outside its domain");
  }
  const losskit::LossInfo& mm = losskit::info(RowwiseLoss::multi_margin);
  CHECK(mm.num_params == 3);
  CHECK(std::string(mm.params[0].name) == "p" && mm.params[0].kind == losskit::ParamKind::integer);
  CHECK(mm.params[0].default_value == 1);
  CHECK(mm.params[0].domain.contains(2) && !mm.params[0].domain.contains(3));
  CHECK(std::string(mm.params[1].name) == "margin" && mm.params[1].default_value == 1.0);
  CHECK(mm.params[2].kind == losskit::ParamKind::class_weight);
  CHECK(losskit::kernel_param_count(mm) == 2);
  const losskit::LossInfo& ce = losskit::info(RowwiseLoss::cross_entropy);
  CHECK(ce.params[1].kind == losskit::ParamKind::ignore_index && ce.params[1].default_value == -100);
  CHECK_THROWS(losskit::rowwise_loss_from_name("cross-entropy"), std::invalid_argument);
  CHECK_THROWS(losskit::info(RowwiseLoss(losskit::kNumRowwiseLosses)), std::invalid_argument);
}

// Labels outside [0, C) (other than ignore_index, for the losses that honour it) and negative
// sample weights are refused, with the first offending row, before any output is written.
LOSSKIT_TEST(bad_labels_and_weights_are_refused_before_writing) {
  const std::size_t N = 40, C = 5;
  std::vector<double> x(N * C, 0.5), sw(N, 1.0);
  for (int i = 0; i < losskit::kNumRowwiseLosses; ++i) {
    const auto loss = RowwiseLoss(i);
    if (losskit::info(loss).row_target != losskit::RowTarget::labels) continue;  // see below
    const bool honours_ignore = loss == RowwiseLoss::cross_entropy || loss == RowwiseLoss::nll;
    for (std::int64_t bad : {std::int64_t(-1), std::int64_t(C), std::int64_t(-100), INT64_MIN, INT64_MAX}) {
      const losskit_test::Scope scope(std::string(losskit::info(loss).name) + " label " + std::to_string(bad));
      std::vector<std::int64_t> labels(N, 1);
      labels[17] = bad;
      labels[30] = -7;
      std::vector<double> grad(N * C, 42.0), values(N, 42.0);
      losskit::RowwiseCall<double> call = losskit_test::labelled_rows(x.data(), N, C, labels.data());
      call.reduction = Reduction::none;
      call.value_out = values.data();
      call.grad_out = grad.data();
      LossParams lp;
      lp.values[0] = loss == RowwiseLoss::multi_margin ? 1 : 0;
      const losskit::ElementwiseResult r = losskit::evaluate(loss, lp, call);
      CHECK(r.bad_argument == BadArgument::target);
      CHECK(r.bad_index == (bad == -100 && honours_ignore ? 30u : 17u));
      bool untouched = true;
      for (double g : grad) untouched = untouched && g == 42.0;
      for (double v : values) untouched = untouched && v == 42.0;
      CHECK(untouched);
    }
    std::vector<std::int64_t> labels(N, 0);
    sw[23] = -0.5;
    losskit::RowwiseCall<double> call = losskit_test::labelled_rows(x.data(), N, C, labels.data());
    call.sample_weight = sw.data();
    const losskit::ElementwiseResult r = losskit::evaluate(loss, LossParams{}, call);
    CHECK(r.bad_argument == BadArgument::sample_weight);
    CHECK(r.bad_index == 23u);
    sw[23] = 1.0;
  }
}

// The other targets: a label list entry of C or more (before the row's first negative entry;
// entries after it are not read), a sign other than +-1; and negative weights, for every loss.
LOSSKIT_TEST(bad_targets_of_every_kind_are_refused_before_writing) {
  const std::size_t N = 12, C = 4;
  for (int i = 0; i < losskit::kNumRowwiseLosses; ++i) {
    const auto loss = RowwiseLoss(i);
    const losskit::LossInfo& info = losskit::info(loss);
    const losskit_test::Scope scope(info.name);
    Lcg rng(5);
    losskit_test::RowArguments<double> args(info, N, C, rng);
    std::vector<double> grad(N * C, 42.0), sw(N, 1.0);
    auto untouched = [&] {
      bool same = true;
      for (double g : grad) same = same && g == 42.0;
      return same;
    };
    losskit::ElementwiseResult r;
    if (info.row_target == losskit::RowTarget::label_lists) {
      args.labels[5 * C + 0] = 2;
      args.labels[5 * C + 1] = -1;
      args.labels[5 * C + 2] = 99;  // after the end: not read
      args.labels[7 * C + 1] = std::int64_t(C);
      losskit::RowwiseCall<double> call = args.call(N, C);
      call.grad_out = grad.data();
      r = losskit::evaluate(loss, LossParams{}, call);
      CHECK(r.bad_argument == BadArgument::target && r.bad_index == 7 * C + 1);
      CHECK(untouched());
    }
    if (info.row_target == losskit::RowTarget::signs) {
      for (double bad : {0.0, 0.5, 2.0, std::nan("")}) {
        losskit_test::RowArguments<double> bad_args = args;
        bad_args.target[9] = bad;
        losskit::RowwiseCall<double> call = bad_args.call(N, C);
        call.grad_out = grad.data();
        r = losskit::evaluate(loss, LossParams{}, call);
        CHECK(r.bad_argument == BadArgument::target && r.bad_index == 9u);
        CHECK(untouched());
      }
    }
    losskit_test::RowArguments<double> good(info, N, C, rng);
    sw[10] = -1;
    losskit::RowwiseCall<double> call = good.call(N, C);
    call.sample_weight = sw.data();
    call.grad_out = grad.data();
    r = losskit::evaluate(loss, LossParams{}, call);
    CHECK(r.bad_argument == BadArgument::sample_weight && r.bad_index == 10u);
    CHECK(untouched());
  }
}

// Poly-1, the multi-label losses and the losses over pairs and triplets of rows against their
// formulas, written here in long double (PyTorch's definitions), with sample weights, on every
// ISA: the value per row and the gradient of every array of rows.
struct AnyRow {
  Real value = 0;
  std::vector<Real> grads[3];
};

Real pnorm(const std::vector<Real>& d, Real p) {
  Real s = 0;
  for (Real v : d) s += std::pow(std::fabs(v), p);
  return std::pow(s, 1 / p);
}
std::vector<Real> pnorm_slope(const std::vector<Real>& d, Real p) {
  const Real n = pnorm(d, p);
  std::vector<Real> g(d.size());
  for (std::size_t i = 0; i < d.size(); ++i)
    g[i] = (d[i] > 0 ? 1 : d[i] < 0 ? -1 : 0) * std::pow(std::fabs(d[i]), p - 1) / std::pow(n, p - 1);
  return g;
}

template <class T>
AnyRow reference_any(RowwiseLoss loss, const double* q, const losskit_test::RowArguments<T>& a,
                     std::size_t r, std::size_t C) {
  AnyRow e;
  std::vector<Real> x(C), b(C), c3(C);
  for (std::size_t k = 0; k < C; ++k) {
    x[k] = a.x[r * C + k];
    if (!a.second.empty()) b[k] = a.second[r * C + k];
    if (!a.third.empty()) c3[k] = a.third[r * C + k];
  }
  for (auto& g : e.grads) g.assign(C, 0);
  switch (loss) {
    case RowwiseLoss::poly1: {
      Real m = x[0], s = 0;
      for (Real v : x) m = std::fmax(m, v);
      for (Real v : x) s += std::exp(v - m);
      const std::size_t y = std::size_t(a.labels[r]);
      const Real ce = m + std::log(s) - x[y], py = std::exp(-ce);
      e.value = ce + q[0] * (1 - py);
      for (std::size_t k = 0; k < C; ++k)
        e.grads[0][k] = (1 + q[0] * py) * (std::exp(x[k] - m) / s - (k == y ? 1 : 0));
      return e;
    }
    case RowwiseLoss::multilabel_soft_margin:
      for (std::size_t k = 0; k < C; ++k) {
        const Real y = a.target[r * C + k];
        e.value += (std::log1p(std::exp(-std::fabs(x[k]))) + std::fmax(x[k], Real(0)) - y * x[k]) / Real(C);
        e.grads[0][k] = (1 / (1 + std::exp(-x[k])) - y) / Real(C);
      }
      return e;
    case RowwiseLoss::multilabel_margin: {
      std::vector<bool> target(C, false);
      std::size_t count = 0;
      while (count < C && a.labels[r * C + count] >= 0) target[std::size_t(a.labels[r * C + count++])] = true;
      for (std::size_t j = 0; j < count; ++j) {
        const std::size_t y = std::size_t(a.labels[r * C + j]);
        for (std::size_t k = 0; k < C; ++k) {
          const Real z = 1 - x[y] + x[k];
          if (target[k] || !(z > 0)) continue;
          e.value += z / Real(C);
          e.grads[0][k] += 1 / Real(C);
          e.grads[0][y] -= 1 / Real(C);
        }
      }
      return e;
    }
    case RowwiseLoss::cosine_embedding: {
      Real ab = 0, aa = 0, bb = 0;
      for (std::size_t k = 0; k < C; ++k) ab += x[k] * b[k], aa += x[k] * x[k], bb += b[k] * b[k];
      const Real m1 = aa + Real(T(1e-12)), m2 = bb + Real(T(1e-12)), root = std::sqrt(m1 * m2);
      const Real cos = ab / root;
      const bool similar = a.target[r] == T(1);
      e.value = similar ? 1 - cos : std::fmax(cos - q[0], Real(0));
      const Real slope = similar ? -1 : (cos - q[0] >= 0 ? 1 : 0);
      for (std::size_t k = 0; k < C; ++k) {
        e.grads[0][k] = slope * (b[k] / root - cos * x[k] / m1);
        e.grads[1][k] = slope * (x[k] / root - cos * b[k] / m2);
      }
      return e;
    }
    case RowwiseLoss::triplet_margin: {
      const Real margin = q[0], p = q[1], eps = Real(T(q[2]));
      std::vector<Real> dp(C), dn(C), ds(C);
      for (std::size_t k = 0; k < C; ++k)
        dp[k] = x[k] - b[k] + eps, dn[k] = x[k] - c3[k] + eps, ds[k] = b[k] - c3[k] + eps;
      const Real np = pnorm(dp, p), nn = pnorm(dn, p), ns = pnorm(ds, p);
      const bool use_swap = q[3] != 0 && ns < nn;
      const Real z = margin + np - (use_swap ? ns : nn);
      e.value = std::fmax(z, Real(0));
      if (z < 0) return e;
      const std::vector<Real> gp = pnorm_slope(dp, p), gn = pnorm_slope(dn, p), gs = pnorm_slope(ds, p);
      for (std::size_t k = 0; k < C; ++k) {
        e.grads[0][k] = gp[k] - (use_swap ? 0 : gn[k]);
        e.grads[1][k] = -gp[k] - (use_swap ? gs[k] : 0);
        e.grads[2][k] = use_swap ? gs[k] : gn[k];
      }
      return e;
    }
    default: break;
  }
  throw std::logic_error("no reference for this loss");
}

template <class T> void check_other_losses() {
  struct Case {
    RowwiseLoss loss;
    double q[4];
  };
  const Case cases[] = {{RowwiseLoss::poly1, {1.0}}, {RowwiseLoss::poly1, {-0.5}},
                        {RowwiseLoss::multilabel_soft_margin, {}},
                        {RowwiseLoss::multilabel_margin, {}},
                        {RowwiseLoss::cosine_embedding, {0.0}}, {RowwiseLoss::cosine_embedding, {0.3}},
                        {RowwiseLoss::triplet_margin, {1.0, 2.0, 1e-6, 0}},
                        {RowwiseLoss::triplet_margin, {2.0, 1.0, 1e-3, 1}},
                        {RowwiseLoss::triplet_margin, {1.5, 3.0, 0.0, 1}}};
  const std::size_t shapes[][2] = {{1, 1}, {9, 3}, {33, 17}, {70, 40}};
  const double rtol = kTolerance<T>.rtol, atol = kTolerance<T>.atol;
  for (const Case& k : cases) {
    const losskit::LossInfo& info = losskit::info(k.loss);
    for (const auto& shape : shapes) {
      const std::size_t N = shape[0], C = shape[1];
      Lcg rng(N * 7 + C);
      const losskit_test::RowArguments<T> args(info, N, C, rng);
      std::vector<T> sw(N);
      for (auto& v : sw) v = T(rng.uniform(0, 2));
      losskit_test::for_each_isa([&](losskit::Isa isa) {
        const std::string where = std::string(info.name) + " q0=" + losskit_test::show(k.q[0]) + " " +
                                  losskit_test::dtype_name<T>() + " " + losskit::isa_name(isa) + " " +
                                  std::to_string(N) + "x" + std::to_string(C);
        std::vector<T> values(N), grads[3] = {std::vector<T>(N * C), std::vector<T>(N * C),
                                                std::vector<T>(N * C)};
        losskit::RowwiseCall<T> call = args.call(N, C);
        call.sample_weight = sw.data();
        call.reduction = Reduction::none;
        call.value_out = values.data();
        call.grad_out = grads[0].data();
        if (call.second) call.grad_second_out = grads[1].data();
        if (call.third) call.grad_third_out = grads[2].data();
        LossParams lp;
        for (int i = 0; i < 4; ++i) lp.values[i] = k.q[i];
        CHECK(losskit::evaluate(k.loss, lp, call).bad_argument == BadArgument::none);
        for (std::size_t r = 0; r < N; ++r) {
          const AnyRow e = reference_any(k.loss, k.q, args, r, C);
          const Real s = sw[r];
          const std::string at = where + " row " + std::to_string(r);
          CHECK_CLOSE(values[r], double(s * e.value), rtol, atol, at);
          for (int a = 0; a < 3; ++a) {
            if (a == 1 && !call.second) break;
            if (a == 2 && !call.third) break;
            for (std::size_t c = 0; c < C; ++c)
              CHECK_CLOSE(grads[a][r * C + c], double(s * e.grads[a][c]), rtol, atol,
                          at + " argument " + std::to_string(a) + " column " + std::to_string(c));
          }
        }
      });
    }
  }
}

LOSSKIT_TEST(other_rowwise_losses_match_their_formulas_float64) { check_other_losses<double>(); }
LOSSKIT_TEST(other_rowwise_losses_match_their_formulas_float32) { check_other_losses<float>(); }

// (N, C, d1 d2) scores: the same results as the (N d1 d2, C) rows of the class axis moved last,
// for the losses that take them, with class and sample weights, ignored positions, each ISA.
LOSSKIT_TEST(spatial_scores_are_rows_of_positions) {
  const std::size_t N = 3, C = 7, P = 1000;  // several tiles of positions per sample
  Lcg rng(11);
  std::vector<double> x(N * C * P), rows(N * P * C), cw(C), sw(N), sw_rows(N * P);
  std::vector<std::int64_t> labels(N * P);
  for (auto& v : x) v = rng.uniform(-4, 4);
  for (auto& v : cw) v = rng.uniform(0.2, 2);
  for (std::size_t n = 0; n < N; ++n) sw[n] = rng.uniform(0, 2);
  for (std::size_t i = 0; i < N * P; ++i) {
    labels[i] = i % 11 == 4 ? -100 : rng.below(C);
    sw_rows[i] = sw[i / P];
  }
  for (std::size_t n = 0; n < N; ++n)
    for (std::size_t c = 0; c < C; ++c)
      for (std::size_t j = 0; j < P; ++j) rows[(n * P + j) * C + c] = x[(n * C + c) * P + j];
  for (RowwiseLoss loss : {RowwiseLoss::cross_entropy, RowwiseLoss::nll, RowwiseLoss::poly1}) {
    const losskit::LossInfo& info = losskit::info(loss);
    CHECK(info.spatial);
    losskit_test::for_each_isa([&](losskit::Isa isa) {
      for (Reduction red : {Reduction::none, Reduction::mean}) {
        const std::string where = std::string(info.name) + " " + losskit::isa_name(isa);
        std::vector<double> g(x.size()), h(x.size()), v(N * P), gr(x.size()), hr(x.size()), vr(N * P);
        LossParams lp;
        lp.values[0] = loss == RowwiseLoss::nll ? 0 : 0.2;  // smoothing, or Poly-1's epsilon
        auto run = [&](const double* in, std::size_t rows_, std::size_t positions, const double* w,
                       double* value_out, double* grad_out, double* hess_out) {
          losskit::RowwiseCall<double> call =
              losskit_test::labelled_rows(in, rows_, C, labels.data());
          call.positions = positions;
          if (loss != RowwiseLoss::poly1) call.class_weight = cw.data();
          call.ignore_index = loss == RowwiseLoss::poly1 ? INT64_MIN : -100;
          call.sample_weight = w;
          call.reduction = red;
          if (red == Reduction::none) call.value_out = value_out;
          call.grad_out = grad_out;
          double value = losskit::evaluate(loss, lp, call).value;
          call.hess_out = hess_out;
          call.compute_value = false;
          call.hessian = losskit::Hessian::positive;
          losskit::evaluate(loss, lp, call);
          return value;
        };
        if (loss == RowwiseLoss::poly1)
          for (auto& l : labels) l = l < 0 ? 0 : l;
        const double value = run(x.data(), N, P, sw.data(), v.data(), g.data(), h.data());
        const double value_rows = run(rows.data(), N * P, 1, sw_rows.data(), vr.data(), gr.data(), hr.data());
        CHECK_CLOSE(value, value_rows, 1e-14, 0.0, where);
        for (std::size_t i = 0; i < N * P && red == Reduction::none; ++i)
          CHECK_CLOSE(v[i], vr[i], 1e-14, 1e-300, where + " value " + std::to_string(i));
        for (std::size_t n = 0; n < N; ++n)
          for (std::size_t c = 0; c < C; ++c)
            for (std::size_t j = 0; j < P; ++j) {
              const std::size_t i = (n * C + c) * P + j, k = (n * P + j) * C + c;
              CHECK_CLOSE(g[i], gr[k], 1e-14, 1e-300, where + " grad " + std::to_string(i));
              CHECK_CLOSE(h[i], hr[k], 1e-14, 1e-300, where + " hess " + std::to_string(i));
            }
      }
    });
  }
}

LOSSKIT_TEST(all_rows_ignored_mean_is_nan) {
  std::vector<double> x(6, 0.0);
  std::vector<std::int64_t> labels(2, -100);
  losskit::RowwiseCall<double> call = losskit_test::labelled_rows(x.data(), 2, 3, labels.data());
  CHECK(std::isnan(losskit::evaluate(RowwiseLoss::cross_entropy, LossParams{}, call).value));
  call.reduction = Reduction::sum;
  CHECK(losskit::evaluate(RowwiseLoss::cross_entropy, LossParams{}, call).value == 0);
}

}  // namespace
