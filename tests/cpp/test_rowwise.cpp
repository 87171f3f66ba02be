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

// The typed object of every row-wise loss at its defaults against the formulas: value and
// gradient of the weighted sum, with labels (and probabilities where the loss takes them).
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
  LOSSKIT_ROWWISE_OBJECTS(LOSSKIT_CHECK_OBJECT)
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

LOSSKIT_TEST(all_rows_ignored_mean_is_nan) {
  std::vector<double> x(6, 0.0);
  std::vector<std::int64_t> labels(2, -100);
  losskit::RowwiseCall<double> call = losskit_test::labelled_rows(x.data(), 2, 3, labels.data());
  CHECK(std::isnan(losskit::evaluate(RowwiseLoss::cross_entropy, LossParams{}, call).value));
  call.reduction = Reduction::sum;
  CHECK(losskit::evaluate(RowwiseLoss::cross_entropy, LossParams{}, call).value == 0);
}

}  // namespace
