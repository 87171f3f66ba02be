// The types of the loss API that do not depend on which losses exist: what a loss is (LossInfo,
// as its one definition states it: name, parameters with defaults and domains, arity, family,
// the domains of its arguments, formula and documentation), its parameters, and one call of its
// kernel. Every loss definition (src/cpp/include/losskit/definitions/) carries one LossInfo; the
// enum of losses (losskit/loss_ids.hpp, generated at build time), the kernel tables, the Python
// classes and their docstrings, the catalog of `losskit list` and the common tests derive from it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>

namespace losskit {

// batchmean: the sum divided by ElementwiseCall::batch_size (KL divergence's convention).
enum class Reduction : int { none = 0, sum = 1, mean = 2, batchmean = 3 };

// What a second-derivative call writes as the curvature of each element (LossInfo::hessians
// lists the policies a loss offers):
//   exact:    d^2 l / d input^2 (0 at kinks and where the loss is linear);
//   irls:     the curvature of the quadratic majorizer touching the loss at this point: l'(r)/r
//             for symmetric residual losses (the weight of iteratively reweighted least
//             squares), >= 0, so that Newton steps on it descend; a kink's 1/|r| divides by
//             max(|r|, kIrlsFloor);
//   positive: max(exact, kPositiveCurvature).
enum class Hessian : int { exact = 0, irls = 1, positive = 2 };
inline constexpr double kPositiveCurvature = 1.1920928955078125e-07;  // 2^-23
inline constexpr double kIrlsFloor = 1.1920928955078125e-07;          // 2^-23

// Numeric parameters in the order the loss's LossInfo lists its kernel parameters (booleans
// and choices as 0/1/index). The caller validates them against LossInfo's domains; the
// kernels assume valid parameters.
struct LossParams {
  static constexpr int kMax = 4;
  double values[kMax] = {0, 0, 0, 0};
};

// A set of reals: [low, high], with either end open. Unbounded ends are +-inf; an open
// infinite end excludes inf itself (a finite value is required).
struct Interval {
  double low = -std::numeric_limits<double>::infinity();
  double high = std::numeric_limits<double>::infinity();
  bool low_closed = false;
  bool high_closed = false;
  constexpr bool contains(double v) const {
    return (low_closed ? v >= low : v > low) && (high_closed ? v <= high : v < high);
  }
  constexpr bool is_everything() const {
    return low == -std::numeric_limits<double>::infinity() && !low_closed &&
           high == std::numeric_limits<double>::infinity() && !high_closed;
  }
};
inline constexpr double kInf = std::numeric_limits<double>::infinity();
inline constexpr Interval kReals{};                              // finite reals
inline constexpr Interval kPositive{0, kInf, false, false};      // finite, > 0
inline constexpr Interval kNonnegative{0, kInf, true, false};    // finite, >= 0
inline constexpr Interval kOpenUnit{0, 1, false, false};         // (0, 1)
inline constexpr Interval kUnit{0, 1, true, true};               // [0, 1]
inline constexpr Interval kExtendedReals{-kInf, kInf, true, true};  // +-inf allowed
inline constexpr Interval kNothing{0, 0, false, false};               // the empty set

enum class ParamKind : int {
  real = 0,          // a float in `domain`
  integer = 1,       // an integer in `domain`
  boolean = 2,       // True/False; the kernel reads 0/1
  choice = 3,        // one of `choices` (comma-separated); the kernel reads its index
  class_weight = 4,  // row-wise losses: optional per-class weights (C,), not a kernel value
  ignore_index = 5,  // row-wise losses: the label whose rows are skipped, not a kernel value
};

struct ParamInfo {
  const char* name = nullptr;
  ParamKind kind = ParamKind::real;
  double default_value = 0;
  Interval domain = kReals;
  const char* choices = "";  // ParamKind::choice
  const char* doc = "";      // one sentence for the docstring's Parameters section
  // The parameter may also be an array broadcast to the input (its values then reach the
  // kernel as per-element operands, see LossInfo::operands), or None (its default then is
  // default_value).
  bool array_allowed = false;
  bool none_default = false;
  // Values inside are refused although `domain` holds them (a gap in the domain: Tweedie's
  // power in (0, 1)).
  Interval excluded = kNothing;
};

// What the kernels check of each target before anything is written.
enum class TargetCheck : int {
  none = 0,    // nothing: LossInfo::target_domain documents the targets and drives test data
  domain = 1,  // the target lies in target_domain, or in the definition's `target_domain()`
               // where its parameters decide the domain (Tweedie's power)
  signs = 2,   // the target is -1 or +1 (the labels of a ranking or embedding pair)
};

enum class LossFamily : int {
  elementwise = 0,  // (input, target[, operands]) of one shape
  rowwise = 1,      // (N, C) scores with a label (N,) or a probability row per sample
};

// What the target of a row-wise loss is (the kernels check it before anything is written).
enum class RowTarget : int {
  labels = 0,       // (N[, d1, ...]) int64 class indices (or probabilities where
                    // LossInfo::probability_targets: the input's shape and dtype)
  label_lists = 1,  // (N, C) int64: each row's class indices, ended by the first negative
                    // entry (PyTorch's -1 padding of multilabel_margin_loss)
  values = 2,       // (N, C) of the input's dtype (multi-label 0/1 targets)
  signs = 3,        // (N,) of the input's dtype, each +1 or -1
  none = 4,         // no target: every argument is a row operand (triplet_margin)
};

struct LossInfo {
  static constexpr int kMaxParams = 6;
  const char* name = nullptr;        // registry name, e.g. "huber"
  const char* class_name = nullptr;  // the Python class; nullptr for an internal kernel
  LossFamily family = LossFamily::elementwise;
  // 2: (input, target); 3: (input, target, third) with a gradient in third (operands names
  // it); 4: (input, target[, third, fourth]): the last two kernel parameters may instead be
  // per-element operands, with gradients for both (operands names them).
  int arity = 2;
  const char* operands = "";  // comma-separated names of the third (and fourth) argument
  const char* input_name = "input";  // the name of the first argument
  // Arity 3, elementwise: where the third argument comes in the call: 2, after the target
  // (gaussian_nll's (input, target, var)); 1, before it (margin_ranking's (input1, input2,
  // target)). Row-wise operands always come before the target (see row_target).
  int third_position = 2;
  const char* task = "regression";  // regression, classification, divergence or embedding
  const char* summary = "";         // one line
  const char* formula = "";         // one line of plain text (`losskit list`)
  const char* math = "";            // the docstring's formula, reStructuredText math
  const char* notes = "";           // the rest of the docstring's description
  Interval input_domain = kReals;   // values outside are refused before anything is written
  Interval target_domain = kReals;  // documents and drives test data (checked: target_check)
  TargetCheck target_check = TargetCheck::none;
  Interval third_domain = kReals;   // arity 3: values outside are refused
  const char* reductions = "mean,sum,none";  // the first is the default
  bool probabilistic = false;  // a negative log-likelihood (of some distribution)
  // Targets are +1 / -1 and the loss is a function of the margin z = target * input.
  bool margin_targets = false;
  // Row-wise: the target may also be (N, C) probabilities instead of (N,) labels.
  bool probability_targets = false;
  // The Hessian policies the loss offers; the first is the one to train with (gradient
  // boosting's "auto"): exact where the loss is strictly convex, irls where its curvature
  // vanishes or decays (robust losses, kinks).
  const char* hessians = "exact,positive";
  // The torch.nn.functional function of the same semantics ("" where PyTorch has none): the
  // loss's name in losskit.functional.
  const char* torch_function = "";
  // What the input predicts: "identity" (the target itself, or a score), or "log" (the log
  // of the target's mean: the GLM deviances; a linear model predicts its exp).
  const char* link = "identity";
  bool convex = true;  // in the input (false: its second derivative is negative somewhere)
  // A function of the residual input - target (and of the third argument): the gradient in
  // the target is minus the input's (front ends differentiate the target with it).
  bool residual = false;
  // Row-wise: the target's kind; whether (N, C, d1, ...) scores with (N, d1, ...) targets are
  // accepted (PyTorch's K-dimensional losses). The row operands (arity 3: `operands` names
  // them) have the input's shape, follow it in the argument order, and come before the target.
  RowTarget row_target = RowTarget::labels;
  bool spatial = false;
  ParamInfo params[kMaxParams] = {};
  int num_params = 0;
};

// Builders for the definitions' LossInfo (C++17 has no designated initializers).
constexpr ParamInfo real_param(const char* name, double default_value, Interval domain,
                               const char* doc) {
  ParamInfo p;
  p.name = name;
  p.default_value = default_value;
  p.domain = domain;
  p.doc = doc;
  return p;
}
constexpr ParamInfo integer_param(const char* name, double default_value, Interval domain,
                                  const char* doc) {
  ParamInfo p = real_param(name, default_value, domain, doc);
  p.kind = ParamKind::integer;
  return p;
}
constexpr ParamInfo bool_param(const char* name, bool default_value, const char* doc) {
  ParamInfo p = real_param(name, default_value ? 1 : 0, kUnit, doc);
  p.kind = ParamKind::boolean;
  return p;
}
// The first choice is the default.
constexpr ParamInfo choice_param(const char* name, const char* choices, const char* doc) {
  ParamInfo p = real_param(name, 0, kNonnegative, doc);
  p.kind = ParamKind::choice;
  p.choices = choices;
  return p;
}
constexpr ParamInfo class_weight_param() {
  ParamInfo p = real_param("weight", 0, kNonnegative,
                           "Per-class weights of shape (C,), finite and non-negative.");
  p.kind = ParamKind::class_weight;
  p.none_default = true;
  return p;
}
constexpr ParamInfo ignore_index_param() {
  ParamInfo p = integer_param("ignore_index", -100, kReals,
                              "Rows whose label is this value contribute nothing.");
  p.kind = ParamKind::ignore_index;
  return p;
}
// The parameters of a definition, in the order of the Python constructor (the kernel reads
// the real, integer, boolean and choice ones, in this order, as LossParams).
constexpr LossInfo with_params(LossInfo info, std::initializer_list<ParamInfo> params) {
  for (const ParamInfo& p : params) info.params[info.num_params++] = p;
  return info;
}

// Whether a comma-separated list (LossInfo::reductions, LossInfo::hessians) holds `item`.
constexpr bool list_contains(const char* list, const char* item) {
  for (const char* p = list; *p;) {
    const char* q = item;
    while (*q && *p == *q) ++p, ++q;
    if (!*q && (*p == ',' || !*p)) return true;
    while (*p && *p != ',') ++p;
    if (*p == ',') ++p;
  }
  return false;
}
constexpr const char* hessian_name(Hessian h) {
  return h == Hessian::exact ? "exact" : h == Hessian::irls ? "irls" : "positive";
}
constexpr bool offers(const LossInfo& info, Hessian h) {
  return list_contains(info.hessians, hessian_name(h));
}

// How many of a loss's parameters the kernel reads (LossParams' length).
constexpr int kernel_param_count(const LossInfo& info) {
  int n = 0;
  for (int i = 0; i < info.num_params; ++i)
    if (info.params[i].kind != ParamKind::class_weight &&
        info.params[i].kind != ParamKind::ignore_index)
      ++n;
  return n;
}

// One evaluation of an elementwise loss over `size` elements.
template <class T>
struct ElementwiseCall {
  const T* input = nullptr;
  const T* target = nullptr;
  const T* third = nullptr;          // arity-3 losses only (gaussian_nll: var or precision)
  // Arity-4 losses: third and fourth are both null (the loss's last two parameters apply to
  // every element) or both given (one value per element, e.g. barron's alpha and scale).
  const T* fourth = nullptr;
  const T* sample_weight = nullptr;  // one weight per element, or nullptr
  std::size_t size = 0;
  Reduction reduction = Reduction::mean;
  std::size_t batch_size = 0;   // Reduction::batchmean only: the divisor
  bool compute_value = true;    // false: only gradients (the returned value is then 0)
  T* value_out = nullptr;       // reduction none: w * loss per element (optional)
  T* grad_out = nullptr;        // d(reduced value)/d input (optional; for none: of the sum)
  T* grad_third_out = nullptr;  // d(reduced value)/d third (optional, arity 3 and 4)
  T* grad_fourth_out = nullptr; // d(reduced value)/d fourth (optional, arity 4)
  // (Arity 4: grad_third_out and grad_fourth_out are written together, with grad_out.)
  // Second derivatives: with grad_out, the curvature in the input under `hessian` (a policy
  // LossInfo::hessians offers), scaled by the reduction and the weights exactly as grad_out.
  // The value and the other gradients are not computed in the same call.
  T* hess_out = nullptr;
  Hessian hessian = Hessian::exact;
};

// Why an evaluation refused its input: the argument and the first offending element.
enum class BadArgument : int { none = 0, sample_weight = 1, third = 2, input = 3, target = 4 };
struct ElementwiseResult {
  double value;              // the reduced value: sum, or mean (nan for a mean over nothing);
                             // 0 for Reduction::none
  BadArgument bad_argument;  // sample_weight < 0, or an argument outside its domain
  std::size_t bad_index;     // first offending element when bad_argument != none
  Interval domain = kReals;  // the domain an elementwise argument left (a target's may depend
                             // on the parameters); TargetCheck::signs: unused
};

template <class T>
struct RowwiseCall {
  const T* input = nullptr;          // (rows, classes[, positions]), C-contiguous
  std::size_t rows = 0, classes = 0;
  // (N, C, d1, ...) scores (LossInfo::spatial): d1 * d2 * ..., the stride of the class axis.
  // Labels, per-sample values and value_out then hold one entry per position (rows *
  // positions, position-major within a sample); sample weights stay one per sample.
  std::size_t positions = 1;
  // (rows[, positions]): class index, or ignore_index to skip a row; RowTarget::label_lists:
  // (rows, classes), each row's indices ended by the first negative entry.
  const std::int64_t* labels = nullptr;
  // (rows, classes[, positions]) probabilities (cross_entropy) or values (RowTarget::values);
  // (rows,) signs (RowTarget::signs); or nullptr.
  const T* target = nullptr;
  // Row operands of arity-3 losses (LossInfo::operands), the input's shape, and their
  // gradients (written with grad_out, both or neither where the loss has two).
  const T* second = nullptr;
  const T* third = nullptr;
  T* grad_second_out = nullptr;
  T* grad_third_out = nullptr;
  std::int64_t ignore_index = -100;  // labels only
  const T* class_weight = nullptr;   // (classes,), or nullptr
  const T* sample_weight = nullptr;  // (rows,), or nullptr
  Reduction reduction = Reduction::mean;
  // Neither compute_value nor grad_out: the call checks the targets and weights and returns,
  // as its value, the denominator reduction "mean" divides by (the weight of the rows and
  // positions counted: sample weights, times the label's class weight where the loss weighs
  // its mean so).
  bool compute_value = true;
  T* value_out = nullptr;  // (rows,) weighted per-sample losses, Reduction::none
  T* grad_out = nullptr;   // (rows, classes)
  // With grad_out: the diagonal of each row's Hessian in the scores (rows, classes), scaled as
  // grad_out (LossInfo::hessians: exact, or positive, a floor on the curvature per unit of
  // row weight, e.g. max(p (1 - p), kPositiveCurvature) for the softmax).
  T* hess_out = nullptr;
  Hessian hessian = Hessian::exact;
};

}  // namespace losskit
