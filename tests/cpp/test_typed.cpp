// The typed C++ API: parameter domains refused from the definitions' metadata (every parameter
// of every loss, with its name in the message), the array checks of the checked calls (sizes,
// null pointers, overlaps, labels, reductions), nothing written by a refused call, and
// losskit::Optimizer (its steps are the descriptor's, its saved state resumes exactly, its
// hyperparameters are checked). The values themselves are checked against the formulas in
// test_elementwise.cpp and test_rowwise.cpp (typed_objects_match_the_formulas).
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "check.hpp"
#include "support.hpp"

namespace {

using losskit::ElementwiseLoss;
using losskit::Interval;
using losskit::LossInfo;
using losskit::LossParams;
using losskit::ParamKind;
using losskit::Reduction;
using losskit::RowwiseLoss;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kSentinel = -1234.5;

// The message of the std::invalid_argument `fn` throws ("" and a failure if it throws none).
template <class Fn> std::string refusal(const Fn& fn, const char* file, int line) {
  try {
    fn();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  losskit_test::report(file, line, "no std::invalid_argument");
  return "";
}
#define REFUSAL(expr) refusal([&] { (void)(expr); }, __FILE__, __LINE__)
#define CHECK_MENTIONS(message, text)                                                     \
  do {                                                                                  \
    const std::string check_m_ = (message);                                             \
    if (check_m_.find(text) == std::string::npos)                                       \
      losskit_test::report(__FILE__, __LINE__, "'" + check_m_ + "' does not mention '" + \
                                                   std::string(text) + "'");            \
  } while (0)

// Values outside a parameter's domain (its open or excluded ends, beyond them, NaN).
std::vector<double> outside(const losskit::ParamInfo& p) {
  std::vector<double> out{kNaN};
  switch (p.kind) {
    case ParamKind::boolean: return {2.0, -1.0, 0.5, kNaN};
    case ParamKind::choice: return {-1.0, 17.0, 0.5, kNaN};
    default: break;
  }
  const Interval& d = p.domain;
  if (std::isfinite(d.low)) out.push_back(d.low_closed ? std::nextafter(d.low, -HUGE_VAL) : d.low);
  if (std::isfinite(d.high)) out.push_back(d.high_closed ? std::nextafter(d.high, HUGE_VAL) : d.high);
  if (!d.low_closed) out.push_back(-HUGE_VAL);
  if (!d.high_closed) out.push_back(HUGE_VAL);
  if (p.kind == ParamKind::integer && std::isfinite(d.low)) out.push_back(d.low + 0.5);
  return out;
}

// Every parameter of every loss, at every value outside its domain: refused, by name, before
// anything is written (the path every front end takes: typed objects, C ABI, Python).
template <class Loss, class Arrays>
void check_every_domain(Loss loss, const LossInfo& info, Arrays call, const std::vector<double>& grad) {
  const std::vector<double> defaults = losskit_test::default_params(info);
  const std::vector<int> where = losskit_test::kernel_param_indices(info);
  for (std::size_t k = 0; k < defaults.size(); ++k) {
    const losskit::ParamInfo& p = info.params[where[k]];
    for (double bad : outside(p)) {
      LossParams params;
      for (std::size_t j = 0; j < defaults.size(); ++j) params.values[j] = defaults[j];
      params.values[k] = bad;
      const losskit_test::Scope scope(std::string(info.name) + " " + p.name + " = " +
                                      losskit_test::show(bad));
      CHECK_MENTIONS(REFUSAL(losskit::evaluate_checked(loss, params, call)), p.name);
      for (double g : grad) CHECK(g == kSentinel);
    }
  }
}

LOSSKIT_TEST(every_parameter_domain_is_refused_by_name) {
  const std::size_t n = 6;
  std::vector<double> x(n, 0.5), y(n, 1.0), z(n, 1.0), grad(n, kSentinel);
  for (int i = 0; i < losskit::kNumElementwiseLosses; ++i) {
    const auto loss = ElementwiseLoss(i);
    losskit::ElementwiseArrays<double> call;
    call.input = x;
    call.target = y;
    if (losskit::info(loss).arity == 3) call.third = z;
    call.grad = grad;
    check_every_domain(loss, losskit::info(loss), call, grad);
  }
  std::vector<double> scores(n * 3, 0.5), row_grad(n * 3, kSentinel);
  std::vector<std::int64_t> labels(n, 1);
  for (int i = 0; i < losskit::kNumRowwiseLosses; ++i) {
    const auto loss = RowwiseLoss(i);
    losskit::RowwiseArrays<double> call;
    call.input = scores;
    call.classes = 3;
    call.labels = labels;
    call.grad = row_grad;
    check_every_domain(loss, losskit::info(loss), call, row_grad);
  }
}

LOSSKIT_TEST(messages_read_as_python_writes_numbers) {
  CHECK(losskit::format_real(0.0) == "0.0");
  CHECK(losskit::format_real(-1.0) == "-1.0");
  CHECK(losskit::format_real(0.1) == "0.1");
  CHECK(losskit::format_real(1e-6) == "1e-06");
  CHECK(losskit::format_real(123456.5) == "123456.5");
  CHECK(losskit::format_real(1e16) == "1e+16");
  CHECK(losskit::format_real(2.5e-300) == "2.5e-300");
  CHECK(losskit::format_real(1.0 / 3) == "0.3333333333333333");
  CHECK(losskit::format_real(HUGE_VAL) == "inf");
  CHECK(losskit::format_real(kNaN) == "nan");
  losskit::Huber huber;
  huber.delta = -1;
  std::vector<float> x(3), y(3);
  CHECK(REFUSAL(huber.value(x, y)) == "delta must be positive and finite, got -1.0");
  losskit::Quantile quantile;
  quantile.quantile = 2;
  CHECK(REFUSAL(quantile.value(x, y)) == "quantile must be strictly between 0 and 1, got 2.0");
  losskit::MultiMargin margin;
  margin.p = 3;
  std::vector<float> scores(6);
  std::vector<std::int64_t> labels(3);
  CHECK(REFUSAL(margin.value(scores, 2, labels)) == "p must be in [1, 2], got 3");
}

LOSSKIT_TEST(typed_objects_have_their_definitions_defaults) {
  CHECK(losskit::Huber{}.delta == 1.0);
  CHECK(losskit::Quantile{}.quantile == 0.5);
  CHECK(losskit::GaussianNLL{}.param == losskit::GaussianNLL::Param::var);
  CHECK(losskit::GaussianNLL{}.eps == 1e-6);
  CHECK(!losskit::GaussianNLL{}.full);
  CHECK(losskit::CrossEntropy{}.ignore_index == -100);
  CHECK(losskit::CrossEntropy{}.weight.empty());
  CHECK(losskit::KLDiv{}.reduction == Reduction::batchmean);
  CHECK(losskit::MSE{}.reduction == Reduction::mean);
  CHECK(losskit::Huber::training_hessian == losskit::Hessian::irls);
  CHECK(losskit::Barron{}.alpha == 1.0 && losskit::Barron{}.scale == 1.0);
}

// A refused call leaves its outputs as they were.
template <class T> bool untouched(const std::vector<T>& v) {
  for (T x : v)
    if (x != T(kSentinel)) return false;
  return true;
}

LOSSKIT_TEST(array_checks_refuse_before_writing) {
  const std::size_t n = 8;
  std::vector<float> x(n, 0.5f), y(n, 1.0f), w(n, 1.0f), grad(n, float(kSentinel)),
      hess(n, float(kSentinel)), values(n, float(kSentinel));
  const losskit::Huber huber;
  std::vector<float> short_target(n - 1);
  CHECK_MENTIONS(REFUSAL(huber.value_and_grad(x, short_target, grad)), "target has 7 elements");
  CHECK_MENTIONS(REFUSAL(huber.value_and_grad(x, y, losskit::span<float>(grad.data(), 3))),
                 "grad has 3 elements");
  CHECK_MENTIONS(REFUSAL(huber.value(losskit::span<const float>(nullptr, n), y)), "input is null");
  losskit::Options<float> bad_weights;
  bad_weights.sample_weight = losskit::span<const float>(w.data(), 2);
  CHECK_MENTIONS(REFUSAL(huber.grad(x, y, grad, bad_weights)), "sample_weight has 2");
  std::vector<float> negative = w;
  negative[5] = -2;
  losskit::Options<float> negative_weights;
  negative_weights.sample_weight = negative;
  CHECK(REFUSAL(huber.grad(x, y, grad, negative_weights)) ==
        "sample_weight must be non-negative, got sample_weight[5] = -2.0");
  // Outputs: overlapping each other, an input partly, or the per-element values without "none".
  CHECK_MENTIONS(REFUSAL(huber.grad_hess(x, y, grad, grad)), "share memory");
  std::vector<float> both(2 * n, float(kSentinel));
  const losskit::span<const float> first(both.data(), n);
  CHECK_MENTIONS(REFUSAL(huber.grad(first, y, losskit::span<float>(both.data() + 1, n))),
                 "shares memory with input");
  losskit::Options<float> with_values;
  with_values.values = values;
  CHECK_MENTIONS(REFUSAL(huber.value(x, y, with_values)), "reduction 'none' only");
  losskit::Huber none;
  none.reduction = Reduction::none;
  CHECK_MENTIONS(REFUSAL(none.value(x, y)), "values has 0 elements");
  // Reductions and policies the loss does not offer.
  losskit::Huber batchmean;
  batchmean.reduction = Reduction::batchmean;
  CHECK_MENTIONS(REFUSAL(batchmean.value(x, y)), "reduction must be one of mean,sum,none");
  CHECK_MENTIONS(REFUSAL(losskit::BCEWithLogits{}.grad_hess(x, y, grad, hess, losskit::Hessian::irls)),
                 "bce_with_logits has no 'irls' Hessian");
  const losskit::KLDiv kl;
  CHECK_MENTIONS(REFUSAL(kl.value(x, y)), "batch_size");
  // Input outside the loss's domain (bce takes probabilities).
  std::vector<float> p(n, 0.5f);
  p[3] = 1.5f;
  CHECK(REFUSAL(losskit::BCE{}.grad(p, y, grad)) ==
        "input must be in [0, 1] for bce, got input[3] = 1.5");
  // Barron's per-element scale has the scale parameter's domain.
  std::vector<float> alpha(n, 1.0f), scale(n, 1.0f);
  scale[6] = 0;
  CHECK(REFUSAL(losskit::Barron{}.grad(x, y, alpha, scale, grad)) ==
        "scale must be positive and finite, got scale[6] = 0.0");
  CHECK(untouched(grad) && untouched(hess) && untouched(values) && untouched(both));
  // An output may be exactly an input: each element is read before it is written.
  std::vector<float> in_place = x, separate(n);
  huber.grad(x, y, separate);
  huber.grad(in_place, y, in_place);
  CHECK(losskit_test::same_bytes(in_place, separate));
}

LOSSKIT_TEST(rowwise_checks_refuse_before_writing) {
  const std::size_t N = 4, C = 3;
  std::vector<double> x(N * C, 0.1), grad(N * C, kSentinel);
  std::vector<std::int64_t> labels = {0, 2, 1, 3};
  losskit::CrossEntropy ce;
  CHECK(REFUSAL(ce.value_and_grad(x, C, labels, grad)) ==
        "labels[3] = 3 is not a class index in [0, 3) or ignore_index (-100)");
  labels[3] = -100;  // ignored
  CHECK_MENTIONS(REFUSAL(ce.value_and_grad(x, 5, labels, grad)), "not a whole number of rows");
  CHECK_MENTIONS(REFUSAL(ce.value_and_grad(x, 0, labels, grad)), "classes must be at least 1");
  CHECK_MENTIONS(REFUSAL(ce.value_and_grad(x, C, losskit::span<const std::int64_t>(labels.data(), 2), grad)),
                 "labels has 2 elements");
  ce.weight = {1.0, -1.0, 1.0};
  CHECK(REFUSAL(ce.value(x, C, labels)) == "weight must be finite and non-negative, got weight[1] = -1.0");
  ce.weight = {1.0, 1.0};
  CHECK_MENTIONS(REFUSAL(ce.value(x, C, labels)), "weight has 2 elements");
  ce.weight.clear();
  ce.label_smoothing = 1.5;
  CHECK(REFUSAL(ce.value(x, C, labels)) == "label_smoothing must be in [0, 1], got 1.5");
  ce.label_smoothing = 0;
  // A gradient over the scores is refused (rows are read several times).
  CHECK_MENTIONS(REFUSAL(ce.grad(x, C, labels, x)), "shares memory with input");
  CHECK(untouched(grad));
  std::vector<double> probabilities(N * C, 1.0 / 3);
  CHECK(std::fabs(ce.value(x, C, probabilities) - std::log(3.0)) < 1e-15);
  const double ignored_mean = ce.value_and_grad(x, C, labels, grad);
  CHECK(std::fabs(ignored_mean - std::log(3.0)) < 1e-15);
  for (std::size_t c = 0; c < C; ++c) CHECK(grad[3 * C + c] == 0);  // the ignored row
}

// ---- update rules ------------------------------------------------------------------------------
template <class Rule> void check_optimizer_matches_the_descriptor(const Rule& rule) {
  const std::size_t n = 37;
  losskit_test::Lcg rng(5);
  std::vector<double> p(n), reference(n), grad(n);
  for (double& v : p) v = rng.uniform(-1, 1);
  reference = p;
  const losskit::StateLayout layout = rule.state_layout();
  std::vector<std::vector<double>> arrays(losskit::kNumStateNames, std::vector<double>(n, layout.fill));
  losskit::State<double> state;
  for (int k = 0; k < losskit::kNumStateNames; ++k)
    if (layout.has(losskit::StateName(k))) state.arrays[k] = arrays[k].data();
  state.fresh = layout.from_first_grad;
  losskit::Optimizer<Rule, double> opt(rule, n);
  for (int t = 1; t <= 6; ++t) {
    for (double& g : grad) g = rng.uniform(-1, 1);
    losskit::step(rule, t, reference.data(), grad.data(), state, n);
    state.fresh = 0;
    opt.step(p, grad);
  }
  CHECK(losskit_test::same_bytes(p, reference));
  CHECK(opt.steps() == 6);
}

LOSSKIT_TEST(optimizers_step_as_the_descriptor_does) {
  losskit::Sgd sgd;
  sgd.lr = 0.1;
  sgd.momentum = 0.9;
  sgd.nesterov = true;
  check_optimizer_matches_the_descriptor(sgd);
  losskit::Adam adam;
  adam.lr = 0.01;
  adam.amsgrad = true;
  check_optimizer_matches_the_descriptor(adam);
  losskit::Rmsprop rmsprop;
  rmsprop.centered = true;
  rmsprop.momentum = 0.5;
  check_optimizer_matches_the_descriptor(rmsprop);
  losskit::Adagrad adagrad;
  adagrad.lr_decay = 0.01;
  adagrad.initial_accumulator_value = 0.1;
  check_optimizer_matches_the_descriptor(adagrad);
}

LOSSKIT_TEST(saved_state_resumes_exactly) {
  const std::size_t n = 11;
  losskit_test::Lcg rng(9);
  std::vector<float> p(n), grads(8 * n);
  for (float& v : p) v = float(rng.uniform(-1, 1));
  for (float& v : grads) v = float(rng.uniform(-1, 1));
  losskit::Adam rule;
  rule.lr = 0.05;
  losskit::Optimizer<losskit::Adam, float> straight(rule, n);
  std::vector<float> a = p, b = p;
  for (int t = 0; t < 8; ++t) straight.step(a, losskit::span<const float>(grads.data() + t * n, n));
  losskit::Optimizer<losskit::Adam, float> first(rule, n);
  for (int t = 0; t < 4; ++t) first.step(b, losskit::span<const float>(grads.data() + t * n, n));
  const losskit::SavedState<float> saved = first.save_state();
  CHECK(saved.steps == 4);
  CHECK(saved.arrays[int(losskit::StateName::exp_avg)].size() == n);
  CHECK(saved.arrays[int(losskit::StateName::momentum_buffer)].empty());
  losskit::Optimizer<losskit::Adam, float> second(rule, n);
  second.load_state(saved);
  for (int t = 4; t < 8; ++t) second.step(b, losskit::span<const float>(grads.data() + t * n, n));
  CHECK(losskit_test::same_bytes(a, b));
  // A state of the wrong size is refused and changes nothing.
  losskit::SavedState<float> bad = saved;
  bad.arrays[int(losskit::StateName::exp_avg_sq)].resize(3);
  CHECK_MENTIONS(REFUSAL(second.load_state(bad)), "exp_avg_sq");
  CHECK(second.steps() == 8);
}

LOSSKIT_TEST(borrowed_state_is_the_callers) {
  const std::size_t n = 5;
  std::vector<double> p(n, 1.0), g(n, 0.5), buffer(n, 0.0);
  losskit::Sgd rule;
  rule.lr = 0.1;
  rule.momentum = 0.9;
  losskit::State<double> state;
  state[losskit::StateName::momentum_buffer] = buffer.data();
  state.fresh = losskit::state_bit(losskit::StateName::momentum_buffer);
  losskit::Optimizer<losskit::Sgd, double> opt(rule, n, state);
  opt.step(p, g);
  for (double b : buffer) CHECK(b == 0.5);  // the first gradient, as PyTorch clones it
  opt.step(p, g);
  for (double b : buffer) CHECK(b == 0.9 * 0.5 + 0.5);
  // A rule that needs state the borrowed arrays lack is refused.
  losskit::Optimizer<losskit::Adam, double> adam(losskit::Adam{}, n, losskit::State<double>{});
  CHECK_MENTIONS(REFUSAL(adam.step(p, g)), "exp_avg");
}

LOSSKIT_TEST(optimizer_arguments_are_checked) {
  const std::size_t n = 4;
  std::vector<double> p(n, 1.0), g(n, 1.0);
  const std::vector<double> before = p;
  losskit::Optimizer<losskit::Adam, double> adam(losskit::Adam{}, n);
  adam.rule().beta1 = 1.0;
  CHECK(REFUSAL(adam.step(p, g)) == "beta1 must be in [0, 1), got 1.0");
  adam.rule().beta1 = 0.9;
  adam.rule().eps = -1;
  CHECK_MENTIONS(REFUSAL(adam.step(p, g)), "eps must be non-negative");
  adam.rule().eps = 1e-8;
  CHECK_MENTIONS(REFUSAL(adam.step(p, losskit::span<const double>(g.data(), 2))), "grad has 2");
  CHECK_MENTIONS(REFUSAL(adam.step(losskit::span<double>(nullptr, n), g)), "param is null");
  CHECK(losskit_test::same_bytes(p, before) && adam.steps() == 0);
  std::vector<double> both(2 * n, 1.0);
  CHECK_MENTIONS(REFUSAL(adam.step(losskit::span<double>(both.data(), n),
                                   losskit::span<const double>(both.data() + 1, n))),
                 "grad shares memory with param");
  losskit::Sgd nesterov;
  nesterov.nesterov = true;
  CHECK_MENTIONS(REFUSAL((losskit::Optimizer<losskit::Sgd, double>(nesterov, n))), "nesterov");
  losskit::Rmsprop rmsprop;
  rmsprop.alpha = -0.5;
  CHECK_MENTIONS(REFUSAL((losskit::Optimizer<losskit::Rmsprop, double>(rmsprop, n))), "alpha");
  losskit::Adagrad adagrad;
  adagrad.lr = HUGE_VAL;
  CHECK_MENTIONS(REFUSAL((losskit::Optimizer<losskit::Adagrad, double>(adagrad, n))), "lr");
  // The gradient may be the parameter itself (read before written).
  losskit::Optimizer<losskit::Sgd, double> sgd(losskit::Sgd{}, n);
  sgd.step(p, p);
  for (double v : p) CHECK(v == 1.0 - 1e-3);
}

}  // namespace
