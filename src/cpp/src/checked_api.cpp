// The checked span API (losskit/checked.hpp): every check the typed objects, the C ABI and the
// Python module share, made before the descriptor call (losskit.hpp's evaluate) writes anything.
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "losskit/losskit.hpp"

namespace losskit {

std::string format_real(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  // The shortest digits that round-trip, laid out as Python's repr: positional for decimal
  // exponents in [-4, 16), scientific with a two-digit exponent otherwise, ".0" for integers.
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  const std::string s(buf, r.ptr);
  const std::size_t e = s.find('e');
  const bool negative = s[0] == '-';
  std::string digits;
  for (std::size_t i = negative ? 1 : 0; i < e; ++i)
    if (s[i] != '.') digits += s[i];
  const int exponent = std::atoi(s.c_str() + e + 1);
  std::string out = negative ? "-" : "";
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) {
      out += "0." + std::string(std::size_t(-exponent - 1), '0') + digits;
    } else if (digits.size() <= std::size_t(exponent) + 1) {
      out += digits + std::string(std::size_t(exponent) + 1 - digits.size(), '0') + ".0";
    } else {
      out += digits.substr(0, std::size_t(exponent) + 1) + "." +
             digits.substr(std::size_t(exponent) + 1);
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (digits.size() > 1) out += "." + digits.substr(1);
  const int a = exponent < 0 ? -exponent : exponent;
  out += std::string(exponent < 0 ? "e-" : "e+") + (a < 10 ? "0" : "") + std::to_string(a);
  return out;
}

namespace {

std::string format_bound(double v) {
  // Bounds read as numbers in messages ("in [1, 2]"), as %g would write them.
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

}  // namespace

std::string describe_interval(const Interval& d) {
  struct Named {
    Interval domain;
    const char* words;
  };
  static const Named named[] = {
      {kPositive, "positive and finite"},
      {kNonnegative, "non-negative and finite"},
      {kOpenUnit, "strictly between 0 and 1"},
      {kReals, "finite"},
      {kExtendedReals, "a real number or +-inf (not NaN)"},
  };
  for (const Named& n : named)
    if (n.domain.low == d.low && n.domain.high == d.high && n.domain.low_closed == d.low_closed &&
        n.domain.high_closed == d.high_closed)
      return n.words;
  return std::string("in ") + (d.low_closed ? "[" : "(") + format_bound(d.low) + ", " +
         format_bound(d.high) + (d.high_closed ? "]" : ")");
}

void check_param(const ParamInfo& p, double v) {
  std::string got;
  switch (p.kind) {
    case ParamKind::real:
      if (p.domain.contains(v) && !p.excluded.contains(v)) return;
      got = format_real(v);
      break;
    case ParamKind::integer:
      if (p.domain.contains(v) && v == std::floor(v)) return;
      got = v == std::floor(v) && std::fabs(v) < 1e18 ? std::to_string(std::int64_t(v))
                                                     : format_real(v);
      break;
    case ParamKind::boolean:
      if (v == 0 || v == 1) return;
      throw std::invalid_argument(std::string(p.name) + " must be True or False (0 or 1), got " +
                                  format_real(v));
    case ParamKind::choice: {
      int count = 1;
      for (const char* c = p.choices; *c; ++c) count += *c == ',';
      if (v >= 0 && v < count && v == std::floor(v)) return;
      throw std::invalid_argument(std::string(p.name) + " must be the index of one of '" +
                                  p.choices + "', got " + format_real(v));
    }
    default: return;  // class weights and ignore_index are not kernel values
  }
  std::string domain = describe_interval(p.domain);
  if (p.excluded.low < p.excluded.high)  // a gap in the domain (Tweedie's power)
    domain += std::string(", not in ") + (p.excluded.low_closed ? "[" : "(") +
              format_bound(p.excluded.low) + ", " + format_bound(p.excluded.high) +
              (p.excluded.high_closed ? "]" : ")");
  throw std::invalid_argument(std::string(p.name) + " must be " + domain + ", got " + got);
}

void check_params(const LossInfo& info, const LossParams& params) {
  int k = 0;  // index into LossParams: the kernel parameters only
  for (int i = 0; i < info.num_params; ++i) {
    const ParamInfo& p = info.params[i];
    if (p.kind == ParamKind::class_weight || p.kind == ParamKind::ignore_index) continue;
    check_param(p, params.values[k++]);
  }
}

void check_class_weight(span<const double> weight) {
  if (!weight.empty() && !weight.data())
    throw std::invalid_argument("weight is null with " + std::to_string(weight.size()) +
                                " elements");
  for (std::size_t i = 0; i < weight.size(); ++i)
    if (!(std::isfinite(weight[i]) && weight[i] >= 0))
      throw std::invalid_argument("weight must be finite and non-negative, got weight[" +
                                  std::to_string(i) + "] = " + format_real(weight[i]));
}

namespace {

[[noreturn]] void refuse(const std::string& message) { throw std::invalid_argument(message); }

// A named array argument: its bytes, for the size, null and overlap checks. The name is
// prefix + name (e.g. "grad_" + "alpha"), put together only for a message.
struct Named {
  std::string_view prefix, name;
  const void* data;
  std::size_t size;   // elements
  std::size_t bytes;  // size * element size
  std::string label() const { return std::string(prefix) + std::string(name); }
};
template <class T> Named named(std::string_view name, span<T> s, std::string_view prefix = {}) {
  return {prefix, name, static_cast<const void*>(s.data()), s.size(), s.size() * sizeof(T)};
}
template <class T> bool given(span<T> s) { return s.data() || s.size(); }

void check_pointer(const Named& a) {
  if (a.size && !a.data) refuse(a.label() + " is null with " + std::to_string(a.size) + " elements");
}
void check_size(const Named& a, std::size_t expected, const char* of_what) {
  if (a.size != expected)
    refuse(a.label() + " has " + std::to_string(a.size) + " elements, expected " +
           std::to_string(expected) + " (" + of_what + ")");
  check_pointer(a);
}
bool overlap(const Named& a, const Named& b) {
  if (!a.bytes || !b.bytes) return false;
  // Addresses of unrelated arrays are compared as integers (std::less gives a total order).
  const auto* p = static_cast<const char*>(a.data);
  const auto* q = static_cast<const char*>(b.data);
  return std::less<const char*>()(p, q + b.bytes) && std::less<const char*>()(q, p + a.bytes);
}
// No output may overlap another; an output may overlap an argument only by being exactly it
// (where exact_alias_ok: elementwise kernels read each element before writing it).
void check_overlaps(std::initializer_list<Named> outputs, std::initializer_list<Named> arguments,
                    bool exact_alias_ok) {
  for (auto o = outputs.begin(); o != outputs.end(); ++o) {
    for (auto later = o + 1; later != outputs.end(); ++later)
      if (overlap(*o, *later)) refuse(o->label() + " and " + later->label() + " share memory");
    for (const Named& a : arguments) {
      if (!overlap(*o, a)) continue;
      if (exact_alias_ok && o->data == a.data && o->bytes == a.bytes) continue;
      refuse(o->label() + " shares memory with " + a.label() +
             (exact_alias_ok ? " without being exactly that array" : ""));
    }
  }
}

void check_reduction(const LossInfo& info, Reduction r) {
  static const char* const names[] = {"none", "sum", "mean", "batchmean"};
  const int i = static_cast<int>(r);
  if (i < 0 || i > 3) refuse("unknown reduction " + std::to_string(i));
  if (!list_contains(info.reductions, names[i]))
    refuse(std::string("reduction must be one of ") + info.reductions + " for " + info.name +
           ", got '" + names[i] + "'");
}

// The names of a loss's operands (LossInfo::operands: "alpha,scale").
std::string_view operand_name(const LossInfo& info, int which) {
  const std::string_view names = info.operands;
  const std::size_t comma = names.find(',');
  if (which == 0) return names.substr(0, comma);
  return comma == std::string_view::npos ? names : names.substr(comma + 1);
}

template <class T>
[[noreturn]] void refuse_element(std::string_view view, const std::string& requirement,
                                 std::size_t i, T value) {
  const std::string name(view);
  refuse(name + " must be " + requirement + ", got " + name + "[" + std::to_string(i) + "] = " +
         format_real(double(value)));
}

template <class T>
double evaluate_elementwise(ElementwiseLoss loss, const LossParams& params,
                            const ElementwiseArrays<T>& a) {
  const LossInfo& info = losskit::info(loss);
  check_params(info, params);
  check_reduction(info, a.reduction);
  const std::size_t n = a.input.size();
  const Named input = named("input", a.input);
  check_pointer(input);
  check_size(named("target", a.target), n, "the input's size");
  const std::string_view third_name = operand_name(info, 0), fourth_name = operand_name(info, 1);
  const Named third = named(third_name, a.third);
  const Named fourth = named(fourth_name, a.fourth);
  const bool operands = given(a.third) || given(a.fourth);
  if (info.arity == 2 && operands) refuse(std::string(info.name) + " takes no third argument");
  if (info.arity == 3) check_size(third, n, "the input's size");
  if (info.arity == 4 && operands) {
    check_size(third, n, "the input's size");
    check_size(fourth, n, "the input's size");
  }
  const bool weighted = given(a.sample_weight);
  if (weighted) check_size(named("sample_weight", a.sample_weight), n, "the input's size");
  if (a.reduction == Reduction::batchmean && a.batch_size == 0)
    refuse("batch_size must be at least 1 for reduction 'batchmean'");

  const bool none = a.reduction == Reduction::none;
  const bool grad_hess = given(a.hess);
  const bool values_given = given(a.values);
  const bool grad_given = given(a.grad);
  if (values_given && !(none && a.compute_value && !grad_hess))
    refuse("values receives the per-element values of reduction 'none' only");
  if (none && a.compute_value && !grad_hess) check_size(named("values", a.values), n, "the input's size");
  if (grad_given) check_size(named("grad", a.grad), n, "the input's size");
  const Named grad_third = named(third_name, a.grad_third, "grad_");
  const Named grad_fourth = named(fourth_name, a.grad_fourth, "grad_");
  const bool extra = given(a.grad_third) || given(a.grad_fourth);
  if (extra) {
    if (info.arity < 3) refuse(std::string(info.name) + " has no third argument to differentiate");
    if (!grad_given) refuse(grad_third.label() + " needs grad");
    if (grad_hess) refuse("grad_hess computes no gradient in " + std::string(third_name));
    check_size(grad_third, n, "the input's size");
    if (info.arity == 4) check_size(grad_fourth, n, "the input's size");
    else if (given(a.grad_fourth)) refuse(std::string(info.name) + " has no fourth argument");
  }
  if (grad_hess) {
    if (!grad_given) refuse("hess needs grad");
    if (a.compute_value) refuse("grad_hess computes no value");
    check_size(named("hess", a.hess), n, "the input's size");
    if (!offers(info, a.hessian))
      refuse(std::string(info.name) + " has no '" + hessian_name(a.hessian) +
             "' Hessian; it offers " + info.hessians);
  }
  if (!a.compute_value && !grad_given) refuse("nothing to compute: no value and no grad");
  check_overlaps({named("values", a.values), named("grad", a.grad), grad_third, grad_fourth,
                  named("hess", a.hess)},
                 {input, named("target", a.target), third, fourth,
                  named("sample_weight", a.sample_weight)},
                 true);
  // Per-element parameters (arity 4) have their parameters' domains; the kernel does not check
  // them (they are parameters, checked once where a front end takes them).
  if (info.arity == 4 && operands) {
    for (int which = 0; which < 2; ++which) {
      const ParamInfo& p = info.params[info.num_params - 2 + which];
      const T* v = which == 0 ? a.third.data() : a.fourth.data();
      for (std::size_t i = 0; i < n; ++i)
        if (!p.domain.contains(double(v[i])))
          refuse_element(which == 0 ? third_name : fourth_name, describe_interval(p.domain), i,
                         v[i]);
    }
  }

  ElementwiseCall<T> c;
  c.input = a.input.data();
  c.target = a.target.data();
  c.third = info.arity >= 3 ? a.third.data() : nullptr;
  c.fourth = info.arity == 4 ? a.fourth.data() : nullptr;
  c.sample_weight = weighted ? a.sample_weight.data() : nullptr;
  c.size = n;
  c.reduction = a.reduction;
  c.batch_size = a.batch_size;
  c.compute_value = a.compute_value;
  c.value_out = none && a.compute_value && !grad_hess ? a.values.data() : nullptr;
  c.grad_out = grad_given ? a.grad.data() : nullptr;
  c.grad_third_out = extra ? a.grad_third.data() : nullptr;
  c.grad_fourth_out = extra && info.arity == 4 ? a.grad_fourth.data() : nullptr;
  c.hess_out = grad_hess ? a.hess.data() : nullptr;
  c.hessian = a.hessian;
  // The kernels need some pointer for the arrays they read even when n = 0.
  static const T nothing[1] = {T(0)};
  if (!c.input) c.input = nothing;
  if (!c.target) c.target = nothing;
  if (info.arity == 3 && !c.third) c.third = nothing;
  const ElementwiseResult r = evaluate(loss, params, c);
  switch (r.bad_argument) {
    case BadArgument::none: break;
    case BadArgument::sample_weight:
      refuse_element("sample_weight", "non-negative", r.bad_index, c.sample_weight[r.bad_index]);
    case BadArgument::input:
      refuse_element("input", describe_interval(info.input_domain) + " for " + info.name,
                     r.bad_index, c.input[r.bad_index]);
    case BadArgument::third:
      refuse_element(third_name, describe_interval(info.third_domain), r.bad_index,
                     c.third[r.bad_index]);
    case BadArgument::target:
      refuse_element("target", describe_interval(info.target_domain), r.bad_index,
                     c.target[r.bad_index]);
  }
  return r.value;
}

template <class T>
double evaluate_rowwise(RowwiseLoss loss, const LossParams& params, const RowwiseArrays<T>& a) {
  const LossInfo& info = losskit::info(loss);
  check_params(info, params);
  check_reduction(info, a.reduction);
  check_class_weight(a.class_weight);
  const Named input = named(info.input_name, a.input);
  check_pointer(input);
  if (a.classes == 0) refuse("classes must be at least 1");
  if (a.input.size() % a.classes)
    refuse("input has " + std::to_string(a.input.size()) + " elements, not a whole number of rows of " +
           std::to_string(a.classes) + " classes");
  const std::size_t rows = a.input.size() / a.classes;
  const bool labels = given(a.labels);
  const bool probabilities = given(a.target);
  switch (info.row_target) {
    case RowTarget::labels:
      if (labels == probabilities && rows)
        refuse("give either labels (one class index per row) or target probabilities");
      if (probabilities && !info.probability_targets)
        refuse(std::string(info.name) + " takes class labels, not probabilities");
      if (probabilities) check_size(named("target", a.target), a.input.size(), "rows x classes");
      else check_size(named("labels", a.labels), rows, "one per row");
      break;
    case RowTarget::label_lists:
      if (probabilities) refuse(std::string(info.name) + " takes label lists, not a target of values");
      check_size(named("labels", a.labels), a.input.size(), "rows x classes");
      break;
    case RowTarget::values:
    case RowTarget::signs:
      if (labels) refuse(std::string(info.name) + " takes a target of values, not labels");
      check_size(named("target", a.target), info.row_target == RowTarget::signs ? rows : a.input.size(),
                 info.row_target == RowTarget::signs ? "one per row" : "rows x classes");
      break;
    case RowTarget::none:
      if (labels || probabilities) refuse(std::string(info.name) + " takes no target");
      break;
  }
  // The row operands and their gradients.
  const int operand_count = info.arity == 3 ? (std::string_view(info.operands).find(',') ==
                                                       std::string_view::npos ? 1 : 2)
                                            : 0;
  const Named second = named(operand_name(info, 0), a.second);
  const Named third = named(operand_count == 2 ? operand_name(info, 1) : "third", a.third);
  const Named grad_second = named(operand_name(info, 0), a.grad_second, "grad_");
  const Named grad_third =
      named(operand_count == 2 ? operand_name(info, 1) : "third", a.grad_third, "grad_");
  if (operand_count < 1 && (given(a.second) || given(a.grad_second)))
    refuse(std::string(info.name) + " takes no row operand");
  if (operand_count < 2 && (given(a.third) || given(a.grad_third)))
    refuse(std::string(info.name) + " takes no second row operand");
  if (operand_count >= 1) check_size(second, a.input.size(), "the input's size");
  if (operand_count >= 2) check_size(third, a.input.size(), "the input's size");
  if (given(a.grad_second) || given(a.grad_third)) {
    if (!given(a.grad)) refuse("the operands' gradients need grad");
    if (given(a.hess)) refuse("grad_hess gives the curvature in the input only");
    if (operand_count == 2 && given(a.grad_second) != given(a.grad_third))
      refuse("give both operands' gradients or neither");
    check_size(grad_second, a.input.size(), "the input's size");
    if (operand_count == 2) check_size(grad_third, a.input.size(), "the input's size");
  }
  if (!a.class_weight.empty()) {
    bool takes = false;
    for (int i = 0; i < info.num_params; ++i) takes |= info.params[i].kind == ParamKind::class_weight;
    if (!takes) refuse(std::string(info.name) + " takes no class weights");
    check_size(named("weight", a.class_weight), a.classes, "one per class");
  }
  const bool weighted = given(a.sample_weight);
  if (weighted) check_size(named("sample_weight", a.sample_weight), rows, "one per row");
  const bool none = a.reduction == Reduction::none;
  const bool grad_given = given(a.grad);
  const bool grad_hess = given(a.hess);
  const bool values_given = given(a.values);
  if (values_given && !(none && a.compute_value && !grad_hess))
    refuse("values receives the per-row values of reduction 'none' only");
  if (none && a.compute_value && !grad_hess) check_size(named("values", a.values), rows, "one per row");
  if (grad_given) check_size(named("grad", a.grad), a.input.size(), "rows x classes");
  if (grad_hess) {
    if (!grad_given) refuse("hess needs grad");
    if (a.compute_value) refuse("grad_hess computes no value");
    check_size(named("hess", a.hess), a.input.size(), "rows x classes");
    if (!offers(info, a.hessian))
      refuse(std::string(info.name) + " has no '" + hessian_name(a.hessian) +
             "' Hessian; it offers " + info.hessians);
  }
  if (!a.compute_value && !grad_given) refuse("nothing to compute: no value and no grad");
  // A row is read several times (max, sums, gradient): no output may share a byte with an
  // argument.
  check_overlaps({named("values", a.values), named("grad", a.grad), named("hess", a.hess),
                  grad_second, grad_third},
                 {input, named("labels", a.labels), named("target", a.target), second, third,
                  named("weight", a.class_weight), named("sample_weight", a.sample_weight)},
                 false);

  std::vector<T> class_weight(a.class_weight.begin(), a.class_weight.end());
  RowwiseCall<T> c;
  c.input = a.input.data();
  c.rows = rows;
  c.classes = a.classes;
  c.labels = labels ? a.labels.data() : nullptr;
  c.target = probabilities ? a.target.data() : nullptr;
  c.second = operand_count >= 1 ? a.second.data() : nullptr;
  c.third = operand_count >= 2 ? a.third.data() : nullptr;
  c.grad_second_out = given(a.grad_second) ? a.grad_second.data() : nullptr;
  c.grad_third_out = given(a.grad_third) ? a.grad_third.data() : nullptr;
  c.ignore_index = a.ignore_index;
  c.class_weight = class_weight.empty() ? nullptr : class_weight.data();
  c.sample_weight = weighted ? a.sample_weight.data() : nullptr;
  c.reduction = a.reduction;
  c.compute_value = a.compute_value;
  c.value_out = none && a.compute_value && !grad_hess ? a.values.data() : nullptr;
  c.grad_out = grad_given ? a.grad.data() : nullptr;
  c.hess_out = grad_hess ? a.hess.data() : nullptr;
  c.hessian = a.hessian;
  const ElementwiseResult r = evaluate(loss, params, c);
  if (r.bad_argument == BadArgument::sample_weight)
    refuse_element("sample_weight", "non-negative", r.bad_index, c.sample_weight[r.bad_index]);
  if (r.bad_argument == BadArgument::target && info.row_target == RowTarget::signs)
    refuse_element("target", "1 or -1", r.bad_index, c.target[r.bad_index]);
  if (r.bad_argument == BadArgument::target && info.row_target == RowTarget::values)
    refuse_element("target", describe_interval(info.target_domain), r.bad_index, c.target[r.bad_index]);
  if (r.bad_argument == BadArgument::target) {
    bool ignores = false;
    for (int i = 0; i < info.num_params; ++i) ignores |= info.params[i].kind == ParamKind::ignore_index;
    refuse("labels[" + std::to_string(r.bad_index) + "] = " + std::to_string(c.labels[r.bad_index]) +
           " is not a class index in [0, " + std::to_string(a.classes) + ")" +
           (ignores ? " or ignore_index (" + std::to_string(a.ignore_index) + ")" : "") +
           (info.row_target == RowTarget::label_lists ? " (a negative entry ends a row's labels)"
                                                       : ""));
  }
  return r.value;
}

}  // namespace

double evaluate_checked(ElementwiseLoss loss, const LossParams& params,
                        const ElementwiseArrays<float>& call) {
  return evaluate_elementwise(loss, params, call);
}
double evaluate_checked(ElementwiseLoss loss, const LossParams& params,
                        const ElementwiseArrays<double>& call) {
  return evaluate_elementwise(loss, params, call);
}
double evaluate_checked(RowwiseLoss loss, const LossParams& params, const RowwiseArrays<float>& call) {
  return evaluate_rowwise(loss, params, call);
}
double evaluate_checked(RowwiseLoss loss, const LossParams& params, const RowwiseArrays<double>& call) {
  return evaluate_rowwise(loss, params, call);
}

}  // namespace losskit
