// Losses: one kernel object per family, one entry point (run) each, and the definitions'
// metadata (loss_definitions) from which the Python classes are made.
//
// run() computes directly when every argument is canonical (see canonical_dtype: one dtype,
// one shape, C-contiguous, outputs writeable and not overlapping what they must not) and
// returns NotImplemented otherwise: losskit/_validation.py then checks and converts the
// arguments and calls run() again. C++ never calls back into Python.
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "bindings.hpp"
#include "losskit/losskit.hpp"

namespace losskit::bindings {

namespace {

// What a call computes (and returns); exported to Python as _core.MODES.
enum Mode : int {
  kValue = 0,          // value
  kGrad = 1,           // d/dinput
  kValueAndGrad = 2,   // (value, d/dinput)
  kValueAndGrads = 3,  // (value, d/dinput, d/dthird)   arity-3 losses
                       // (value, d/dinput, d/dthird, d/dfourth)   arity-4 losses
  // (d/dinput, curvature) under a Hessian policy: kGradHess + Hessian
  kGradHess = 4,
  kGradHessLast = kGradHess + static_cast<int>(Hessian::positive),
  // (row-wise) the denominator reduction "mean" divides by, for these targets and weights:
  // what a mean over chunks of rows (losskit.dask) adds up per chunk
  kMeanDenominator = kGradHessLast + 1,
};

bool is_grad_hess(int mode) { return mode >= kGradHess && mode <= kGradHessLast; }
Hessian hessian_of(int mode) { return static_cast<Hessian>(mode - kGradHess); }
// Whether the loss computes `mode` (grad_hess: under a policy it offers).
bool serves(const LossInfo& d, int mode, int last_plain_mode) {
  if (is_grad_hess(mode)) return offers(d, hessian_of(mode));
  return mode >= kValue && mode <= last_plain_mode;
}

Reduction reduction_from_name(const std::string& name) {
  if (name == "mean") return Reduction::mean;
  if (name == "sum") return Reduction::sum;
  if (name == "none") return Reduction::none;
  if (name == "batchmean") return Reduction::batchmean;
  throw std::invalid_argument("reduction must be 'mean', 'sum', 'none' or 'batchmean', got '" +
                              name + "'");
}

LossParams loss_params(const std::vector<double>& params) {
  if (params.size() > std::size_t(LossParams::kMax))
    throw std::invalid_argument("too many loss parameters");
  LossParams p;
  for (std::size_t i = 0; i < params.size(); ++i) p.values[i] = params[i];
  return p;
}

// Whether the bytes of two arrays overlap (any dtype, any shape: both are contiguous here).
bool overlaps(py::handle a, py::handle b) {
  const char* p = data<char>(a);
  const char* q = data<char>(b);
  const std::size_t np = nbytes(a), nq = nbytes(b);
  return np && nq && p < q + nq && q < p + np;
}

// The outputs may be written directly: none overlaps another, and each either overlaps no
// argument or (where `exact_alias_ok`) is exactly one of them (same address and size: each
// element is then read before it is written, by the elementwise kernels only).
bool outputs_independent(std::initializer_list<py::handle> outputs,
                         std::initializer_list<py::handle> arguments, bool exact_alias_ok) {
  for (auto o = outputs.begin(); o != outputs.end(); ++o) {
    if (o->is_none()) continue;
    for (auto later = o + 1; later != outputs.end(); ++later)
      if (!later->is_none() && overlaps(*o, *later)) return false;
    for (py::handle a : arguments) {
      if (a.is_none() || !overlaps(*o, a)) continue;
      if (!(exact_alias_ok && data<char>(*o) == data<char>(a) && nbytes(*o) == nbytes(a)))
        return false;
    }
  }
  return true;
}

py::object not_canonical() { return py::reinterpret_borrow<py::object>(Py_NotImplemented); }

class ElementwiseKernel {
 public:
  ElementwiseKernel(const std::string& name, const std::vector<double>& params,
                    const std::string& reduction)
      : loss_(elementwise_loss_from_name(name)),
        params_(loss_params(params)),
        reduction_(reduction_from_name(reduction)),
        info_(info(loss_)) {
    check_params(info_, params_);
  }

  // mode, input, target, third, fourth, sample_weight, out, out2, out3 (None where absent;
  // the outputs are the mode's array results in order: d/dinput, then d/dthird and d/dfourth
  // or the curvature): the result, or NotImplemented when the arguments are not canonical.
  py::object run(int mode, py::handle input, py::handle target, py::handle third,
                 py::handle fourth, py::handle weight, py::handle out, py::handle out2,
                 py::handle out3) const {
    const Args a{mode, input, target, third, fourth, weight, out, out2, out3};
    switch (fast_dtype(a)) {
      case Dtype::f32: return compute<float>(a);
      case Dtype::f64: return compute<double>(a);
      default: return not_canonical();
    }
  }

 private:
  struct Args {
    int mode;
    py::handle input, target, third, fourth, weight, out, out2, out3;
  };

  // The common dtype when every argument is canonical and consistent; Dtype::other otherwise.
  Dtype fast_dtype(const Args& a) const {
    const int arity = info_.arity;
    const Dtype t = canonical_dtype(a.input);
    if (t == Dtype::other) return t;
    auto matches = [&](py::handle h) { return canonical_dtype(h) == t && same_shape(h, a.input); };
    auto output_ok = [&](py::handle h) { return h.is_none() || (matches(h) && writeable(h)); };
    if (!matches(a.target)) return Dtype::other;
    if (!serves(info_, a.mode, arity >= 3 ? kValueAndGrads : kValueAndGrad)) return Dtype::other;
    if (arity == 4) {  // both operands or neither
      if (a.third.is_none() != a.fourth.is_none()) return Dtype::other;
      if (!a.third.is_none() && !(matches(a.third) && matches(a.fourth))) return Dtype::other;
    } else {
      if (arity == 3 ? !matches(a.third) : !a.third.is_none()) return Dtype::other;
      if (!a.fourth.is_none()) return Dtype::other;
    }
    if (!a.weight.is_none() && !matches(a.weight)) return Dtype::other;
    if (a.mode == kValue && !a.out.is_none() && reduction_ != Reduction::none) return Dtype::other;
    if (!a.out2.is_none() && a.mode != kValueAndGrads && !is_grad_hess(a.mode))
      return Dtype::other;
    if (!a.out3.is_none() && (arity != 4 || a.mode != kValueAndGrads)) return Dtype::other;
    if (!output_ok(a.out) || !output_ok(a.out2) || !output_ok(a.out3)) return Dtype::other;
    if (!outputs_independent({a.out, a.out2, a.out3},
                             {a.input, a.target, a.third, a.fourth, a.weight}, true))
      return Dtype::other;
    return t;
  }

  template <class T> py::object compute(const Args& a) const {
    const int arity = info_.arity;
    ElementwiseCall<T> c;
    c.input = data<T>(a.input);
    c.target = data<T>(a.target);
    c.third = arity >= 3 && !a.third.is_none() ? data<T>(a.third) : nullptr;
    c.fourth = arity == 4 && !a.fourth.is_none() ? data<T>(a.fourth) : nullptr;
    c.sample_weight = a.weight.is_none() ? nullptr : data<T>(a.weight);
    c.size = size_of(a.input);
    c.reduction = reduction_;
    c.batch_size = ndim(a.input) > 0 ? std::size_t(dims(a.input)[0]) : 1;
    auto output = [&](py::handle given) -> py::object {
      return given.is_none() ? py::object(empty_like<T>(a.input))
                             : py::reinterpret_borrow<py::object>(given);
    };
    if (is_grad_hess(a.mode)) {
      c.compute_value = false;
      py::object grad = output(a.out), hess = output(a.out2);
      c.grad_out = data<T>(grad);
      c.hess_out = data<T>(hess);
      c.hessian = hessian_of(a.mode);
      ElementwiseResult r;
      run_kernel(c.size, [&] { r = evaluate(loss_, params_, c); });
      if (r.bad_argument != BadArgument::none) raise_bad_value<T>(r, c);
      return py::make_tuple(grad, hess);
    }
    c.compute_value = a.mode != kGrad;
    py::object values, grad, grad_third, grad_fourth;
    if (a.mode != kGrad && reduction_ == Reduction::none) {
      values = output(a.mode == kValue ? a.out : py::none());
      c.value_out = data<T>(values);
    }
    if (a.mode != kValue) {
      grad = output(a.out);
      c.grad_out = data<T>(grad);
    }
    if (a.mode == kValueAndGrads) {
      grad_third = output(a.out2);
      c.grad_third_out = data<T>(grad_third);
      if (arity == 4) {
        grad_fourth = output(a.out3);
        c.grad_fourth_out = data<T>(grad_fourth);
      }
    }
    ElementwiseResult r;
    run_kernel(c.size, [&] { r = evaluate(loss_, params_, c); });
    if (r.bad_argument != BadArgument::none) raise_bad_value<T>(r, c);
    py::object value = reduction_ == Reduction::none ? values : py::float_(r.value);
    switch (a.mode) {
      case kValue: return value;
      case kGrad: return grad;
      case kValueAndGrad: return py::make_tuple(value, grad);
      default:
        if (arity == 4) return py::make_tuple(value, grad, grad_third, grad_fourth);
        return py::make_tuple(value, grad, grad_third);
    }
  }

  // Nothing has been written: the kernel checks every domain first.
  template <class T>
  [[noreturn]] void raise_bad_value(const ElementwiseResult& r, const ElementwiseCall<T>& c) const {
    std::ostringstream msg;
    const std::size_t i = r.bad_index;
    if (r.bad_argument == BadArgument::input) {
      msg << info_.input_name << " must lie in " << show(r.domain) << " for " << info_.name
          << ", got " << info_.input_name << ".flat[" << i << "] = " << c.input[i];
    } else if (r.bad_argument == BadArgument::third) {
      msg << third_name() << " must lie in " << show(r.domain) << " for " << info_.name
          << ", got " << third_name() << ".flat[" << i << "] = " << c.third[i];
    } else if (r.bad_argument == BadArgument::target) {
      if (info_.target_check == TargetCheck::signs) msg << "target must be -1 or +1";
      else msg << "target must lie in " << show(r.domain);
      msg << " for " << info_.name << ", got target.flat[" << i << "] = " << c.target[i];
    } else {
      msg << "sample_weight must be non-negative, got sample_weight.flat[" << i
          << "] = " << c.sample_weight[i];
    }
    throw py::value_error(msg.str());
  }

  std::string third_name() const {
    const std::string names = info_.operands;
    return names.substr(0, names.find(','));
  }

  static std::string show(const Interval& d) {
    std::ostringstream s;
    s << (d.low_closed ? "[" : "(") << d.low << ", " << d.high << (d.high_closed ? "]" : ")");
    return s.str();
  }

  ElementwiseLoss loss_;
  LossParams params_;
  Reduction reduction_;
  const LossInfo& info_;
};

// "[i, j, ...]": the position of flat element i of a C-contiguous array.
std::string index_text(py::handle a, std::size_t flat) {
  std::vector<std::size_t> index(std::size_t(ndim(a)));
  for (int k = ndim(a) - 1; k >= 0; --k) {
    const std::size_t extent = std::size_t(dims(a)[k]);
    index[std::size_t(k)] = extent ? flat % extent : 0;
    flat = extent ? flat / extent : 0;
  }
  std::string out = "[";
  for (std::size_t k = 0; k < index.size(); ++k) out += (k ? ", " : "") + std::to_string(index[k]);
  return out + "]";
}

// Losses over rows: input (N, C), or (N, C, d1, ...) where the definition is spatial; the
// target as the definition's RowTarget says (int64 labels (N[, d1, ...]) or probabilities of
// the input's shape, int64 label lists (N, C), values (N, C) or signs (N,) of the input's
// dtype, or none); the row operands (LossInfo::operands: second, third) of the input's shape.
class RowwiseKernel {
 public:
  RowwiseKernel(const std::string& name, const std::vector<double>& params,
                const std::string& reduction, std::int64_t ignore_index,
                const std::vector<double>& class_weight)
      : loss_(rowwise_loss_from_name(name)),
        params_(loss_params(params)),
        reduction_(reduction_from_name(reduction)),
        ignore_index_(ignore_index),
        weight_f64_(class_weight),
        weight_f32_(class_weight.begin(), class_weight.end()),
        info_(info(loss_)),
        operand_count_(info_.operands[0] ? 1 + int(std::string(info_.operands).find(',') !=
                                                   std::string::npos)
                                         : 0) {
    check_params(info_, params_);
    check_class_weight(class_weight);
    if (reduction_ == Reduction::batchmean)
      throw std::invalid_argument("reduction 'batchmean' is for kl_div");
  }

  // mode, input, target, second, third (the row operands), sample_weight, out, out2, out3 (None
  // where absent; the outputs are the mode's array results in order: d/dinput, then d/dsecond
  // and d/dthird or the curvature): the result, or NotImplemented when the arguments are not
  // canonical.
  py::object run(int mode, py::handle input, py::handle target, py::handle second,
                 py::handle third, py::handle weight, py::handle out, py::handle out2,
                 py::handle out3) const {
    const Args a{mode, input, target, second, third, weight, out, out2, out3};
    switch (fast_dtype(a)) {
      case Dtype::f32: return compute<float>(a);
      case Dtype::f64: return compute<double>(a);
      default: return not_canonical();
    }
  }

 private:
  struct Args {
    int mode;
    py::handle input, target, second, third, weight, out, out2, out3;
  };

  bool has_ignore_index() const {
    for (int i = 0; i < info_.num_params; ++i)
      if (info_.params[i].kind == ParamKind::ignore_index) return true;
    return false;
  }

  // Whether a label array has the input's shape without its class axis.
  static bool label_shape(py::handle labels, py::handle input) {
    const int n = ndim(input);
    if (ndim(labels) != n - 1 || dims(labels)[0] != dims(input)[0]) return false;
    for (int k = 2; k < n; ++k)
      if (dims(labels)[k - 1] != dims(input)[k]) return false;
    return true;
  }

  bool target_ok(Dtype t, py::handle target, py::handle input) const {
    switch (info_.row_target) {
      case RowTarget::labels:
        if (is_int64_array(target)) return label_shape(target, input);
        return info_.probability_targets && canonical_dtype(target) == t &&
               same_shape(target, input);
      case RowTarget::label_lists: return is_int64_array(target) && same_shape(target, input);
      case RowTarget::values: return canonical_dtype(target) == t && same_shape(target, input);
      case RowTarget::signs:
        return canonical_dtype(target) == t && ndim(target) == 1 &&
               dims(target)[0] == dims(input)[0];
      case RowTarget::none: return target.is_none();
    }
    return false;
  }

  Dtype fast_dtype(const Args& a) const {
    const Dtype t = canonical_dtype(a.input);
    if (t == Dtype::other) return t;
    const int nd = ndim(a.input);
    if (nd < 2 || (nd > 2 && !info_.spatial)) return Dtype::other;
    if (a.mode != kMeanDenominator &&
        !serves(info_, a.mode, operand_count_ ? kValueAndGrads : kValueAndGrad))
      return Dtype::other;
    const std::size_t classes = std::size_t(dims(a.input)[1]);
    if (classes == 0) return Dtype::other;
    if (!weight_f64_.empty() && weight_f64_.size() != classes) return Dtype::other;
    if (!target_ok(t, a.target, a.input)) return Dtype::other;
    auto matches = [&](py::handle h) { return canonical_dtype(h) == t && same_shape(h, a.input); };
    if (operand_count_ >= 1 ? !matches(a.second) : !a.second.is_none()) return Dtype::other;
    if (operand_count_ >= 2 ? !matches(a.third) : !a.third.is_none()) return Dtype::other;
    if (!a.weight.is_none() &&
        (canonical_dtype(a.weight) != t || ndim(a.weight) != 1 || dims(a.weight)[0] != dims(a.input)[0]))
      return Dtype::other;
    // The outputs each mode writes: d/dinput (and the curvature, or the operands' gradients).
    const int outputs = a.mode == kValue || a.mode == kMeanDenominator ? 0
                        : is_grad_hess(a.mode) ? 2
                        : a.mode == kValueAndGrads ? 1 + operand_count_
                                                   : 1;
    const py::handle outs[] = {a.out, a.out2, a.out3};
    for (int i = 0; i < 3; ++i) {
      if (outs[i].is_none()) continue;
      if (i >= outputs || !matches(outs[i]) || !writeable(outs[i])) return Dtype::other;
    }
    // A row is read several times (max, sums, gradient): no output may share any byte with an
    // argument, not even exactly.
    if (!outputs_independent({a.out, a.out2, a.out3},
                             {a.input, a.target, a.second, a.third, a.weight}, false))
      return Dtype::other;
    return t;
  }

  template <class T> py::object compute(const Args& a) const {
    RowwiseCall<T> c;
    c.input = data<T>(a.input);
    c.rows = std::size_t(dims(a.input)[0]);
    c.classes = std::size_t(dims(a.input)[1]);
    for (int k = 2; k < ndim(a.input); ++k) c.positions *= std::size_t(dims(a.input)[k]);
    const bool labels = is_int64_array(a.target);
    c.labels = labels ? data<std::int64_t>(a.target) : nullptr;
    c.target = labels || a.target.is_none() ? nullptr : data<T>(a.target);
    c.second = operand_count_ >= 1 ? data<T>(a.second) : nullptr;
    c.third = operand_count_ >= 2 ? data<T>(a.third) : nullptr;
    c.ignore_index = ignore_index_;
    if constexpr (std::is_same_v<T, float>) {
      c.class_weight = weight_f32_.empty() ? nullptr : weight_f32_.data();
    } else {
      c.class_weight = weight_f64_.empty() ? nullptr : weight_f64_.data();
    }
    c.sample_weight = a.weight.is_none() ? nullptr : data<T>(a.weight);
    c.reduction = reduction_;
    const int mode = a.mode;
    const bool grad_hess = is_grad_hess(mode);
    const bool denominator = mode == kMeanDenominator;
    c.compute_value = mode != kGrad && !grad_hess && !denominator;
    auto output = [&](py::handle given, py::handle like) -> py::object {
      return given.is_none() ? py::object(empty_like<T>(like))
                             : py::reinterpret_borrow<py::object>(given);
    };
    py::object values, grad, second_grad, third_grad, hess;
    if (c.compute_value && reduction_ == Reduction::none) {
      // one value per sample (and position): the input's shape without its class axis
      std::vector<py::ssize_t> shape{py::ssize_t(c.rows)};
      for (int k = 2; k < ndim(a.input); ++k) shape.push_back(dims(a.input)[k]);
      values = py::array_t<T>(shape);
      c.value_out = data<T>(values);
    }
    if (mode != kValue && !denominator) {
      grad = output(a.out, a.input);
      c.grad_out = data<T>(grad);
    }
    if (mode == kValueAndGrads) {
      second_grad = output(a.out2, a.input);
      c.grad_second_out = data<T>(second_grad);
      if (operand_count_ >= 2) {
        third_grad = output(a.out3, a.input);
        c.grad_third_out = data<T>(third_grad);
      }
    }
    if (grad_hess) {
      hess = output(a.out2, a.input);
      c.hess_out = data<T>(hess);
      c.hessian = hessian_of(mode);
    }
    ElementwiseResult r;
    run_kernel(c.rows * c.classes * c.positions, [&] { r = evaluate(loss_, params_, c); });
    if (r.bad_argument != BadArgument::none) raise_bad_value<T>(r, c, a.target);
    if (grad_hess) return py::make_tuple(grad, hess);
    if (denominator) return py::float_(r.value);
    py::object value = reduction_ == Reduction::none ? values : py::float_(r.value);
    switch (mode) {
      case kValue: return value;
      case kGrad: return grad;
      case kValueAndGrad: return py::make_tuple(value, grad);
      default:
        if (operand_count_ >= 2) return py::make_tuple(value, grad, second_grad, third_grad);
        return py::make_tuple(value, grad, second_grad);
    }
  }

  // Nothing has been written: the kernel checks the targets and weights first.
  template <class T>
  [[noreturn]] void raise_bad_value(const ElementwiseResult& r, const RowwiseCall<T>& c,
                                    py::handle target) const {
    std::ostringstream msg;
    const std::size_t i = r.bad_index;
    if (r.bad_argument == BadArgument::sample_weight) {
      msg << "sample_weight must be non-negative, got sample_weight[" << i
          << "] = " << c.sample_weight[i];
    } else if (info_.row_target == RowTarget::signs) {
      msg << "target must be 1 or -1, got target[" << i << "] = " << c.target[i];
    } else {
      msg << "target" << index_text(target, i) << " = " << c.labels[i]
          << " is not a class index in [0, " << c.classes << ")";
      if (has_ignore_index()) msg << " or ignore_index (" << ignore_index_ << ")";
      if (info_.row_target == RowTarget::label_lists)
        msg << " (a negative entry ends a row's labels)";
    }
    throw py::value_error(msg.str());
  }

  RowwiseLoss loss_;
  LossParams params_;
  Reduction reduction_;
  std::int64_t ignore_index_;
  std::vector<double> weight_f64_;
  std::vector<float> weight_f32_;
  const LossInfo& info_;
  int operand_count_;  // row operands after the input (LossInfo::operands)
};

// ---- the definitions' metadata as Python values ----------------------------------------------
py::tuple interval(const Interval& d) {
  return py::make_tuple(d.low, d.high, d.low_closed, d.high_closed);
}

py::list split(const char* names) {
  py::list out;
  std::string item;
  std::istringstream in(names);
  while (std::getline(in, item, ',')) out.append(item);
  return out;
}

const char* kind_name(ParamKind kind) {
  switch (kind) {
    case ParamKind::real: return "real";
    case ParamKind::integer: return "integer";
    case ParamKind::boolean: return "boolean";
    case ParamKind::choice: return "choice";
    case ParamKind::class_weight: return "class_weight";
    case ParamKind::ignore_index: return "ignore_index";
  }
  return "unknown";
}

py::dict definition(const LossInfo& d) {
  py::list params;
  for (int i = 0; i < d.num_params; ++i) {
    const ParamInfo& p = d.params[i];
    py::dict entry;
    entry["name"] = p.name;
    entry["kind"] = kind_name(p.kind);
    entry["default"] = p.default_value;
    entry["domain"] = interval(p.domain);
    entry["choices"] = split(p.choices);
    entry["doc"] = p.doc;
    entry["array_allowed"] = p.array_allowed;
    entry["none_default"] = p.none_default;
    entry["loss"] = d.name;
    entry["excluded"] = interval(p.excluded);
    params.append(entry);
  }
  py::dict out;
  out["name"] = d.name;
  out["class_name"] = d.class_name ? py::object(py::str(d.class_name)) : py::object(py::none());
  out["family"] = d.family == LossFamily::elementwise ? "elementwise" : "rowwise";
  out["arity"] = d.arity;
  out["operands"] = split(d.operands);
  out["input_name"] = d.input_name;
  out["third_position"] = d.third_position;
  out["task"] = d.task;
  out["summary"] = d.summary;
  out["formula"] = d.formula;
  out["math"] = d.math;
  out["notes"] = d.notes;
  out["input_domain"] = interval(d.input_domain);
  out["target_domain"] = interval(d.target_domain);
  out["target_check"] = d.target_check == TargetCheck::signs    ? "signs"
                        : d.target_check == TargetCheck::domain ? "domain"
                                                                 : "none";
  out["third_domain"] = interval(d.third_domain);
  out["reductions"] = split(d.reductions);
  out["probabilistic"] = d.probabilistic;
  out["margin_targets"] = d.margin_targets;
  out["probability_targets"] = d.probability_targets;
  out["hessians"] = split(d.hessians);
  out["torch_function"] = d.torch_function;
  out["link"] = d.link;
  out["convex"] = d.convex;
  out["residual"] = d.residual;
  static const char* const kRowTargets[] = {"labels", "label_lists", "values", "signs", "none"};
  out["row_target"] = kRowTargets[static_cast<int>(d.row_target)];
  out["spatial"] = d.spatial;
  out["params"] = params;
  return out;
}

}  // namespace

void bind_losses(py::module_& m) {
  m.def("loss_definitions", [] {
        py::list out;
        for (int i = 0; i < kNumElementwiseLosses; ++i)
          out.append(definition(info(static_cast<ElementwiseLoss>(i))));
        for (int i = 0; i < kNumRowwiseLosses; ++i)
          out.append(definition(info(static_cast<RowwiseLoss>(i))));
        return out;
      }, "Every loss definition's metadata (LossInfo), elementwise first, in definition order.");

  m.def("check_param",
        [](const std::string& loss, const std::string& param, py::handle value) {
          const LossInfo* d = nullptr;
          for (int i = 0; i < kNumElementwiseLosses && !d; ++i)
            if (loss == info(static_cast<ElementwiseLoss>(i)).name) d = &info(static_cast<ElementwiseLoss>(i));
          for (int i = 0; i < kNumRowwiseLosses && !d; ++i)
            if (loss == info(static_cast<RowwiseLoss>(i)).name) d = &info(static_cast<RowwiseLoss>(i));
          if (!d) throw std::invalid_argument("unknown loss '" + loss + "'");
          // A Python int beyond double's range is beyond every domain too.
          double v = PyFloat_AsDouble(value.ptr());
          if (v == -1 && PyErr_Occurred()) {
            if (!PyErr_ExceptionMatches(PyExc_OverflowError)) throw py::error_already_set();
            PyErr_Clear();
            v = PyObject_RichCompareBool(value.ptr(), py::int_(0).ptr(), Py_LT) == 1 ? -kInf : kInf;
          }
          for (int i = 0; i < d->num_params; ++i)
            if (param == d->params[i].name) return check_param(d->params[i], v);
          throw std::invalid_argument(loss + " has no parameter '" + param + "'");
        },
        py::arg("loss"), py::arg("param"), py::arg("value"),
        "Checks one parameter's value against its definition's domain (ValueError naming it).");
  m.def("describe_interval",
        [](double low, double high, bool low_closed, bool high_closed) {
          return describe_interval(Interval{low, high, low_closed, high_closed});
        },
        py::arg("low"), py::arg("high"), py::arg("low_closed"), py::arg("high_closed"),
        "A domain in the words of the error messages.");

  py::dict modes;
  modes["value"] = int(kValue);
  modes["grad"] = int(kGrad);
  modes["mean_denominator"] = int(kMeanDenominator);
  modes["value_and_grad"] = int(kValueAndGrad);
  modes["value_and_grads"] = int(kValueAndGrads);
  for (Hessian h : {Hessian::exact, Hessian::irls, Hessian::positive})
    modes[py::str(std::string("grad_hess_") + hessian_name(h))] = kGradHess + static_cast<int>(h);
  m.attr("MODES") = modes;

  m.def("_barron_log_partition",
        [](py::array_t<double, py::array::c_style> alpha, bool return_grad) -> py::object {
          py::array_t<double> out(std::vector<py::ssize_t>(alpha.shape(), alpha.shape() + alpha.ndim()));
          py::array_t<double> grad;
          if (return_grad)
            grad = py::array_t<double>(
                std::vector<py::ssize_t>(alpha.shape(), alpha.shape() + alpha.ndim()));
          const std::size_t n = static_cast<std::size_t>(alpha.size());
          const double* a = alpha.data();
          double* o = out.mutable_data();
          double* g = return_grad ? grad.mutable_data() : nullptr;
          run_kernel(n, [&] { barron_log_partition(a, o, g, n); });
          if (return_grad) return py::make_tuple(out, grad);
          return std::move(out);
        },
        py::arg("alpha"), py::arg("return_grad"),
        "log Z(alpha) of Barron's loss (and d/dalpha) for a C-contiguous float64 array.");

  py::class_<ElementwiseKernel>(m, "ElementwiseKernel")
      .def(py::init<const std::string&, const std::vector<double>&, const std::string&>(),
           py::arg("name"), py::arg("params"), py::arg("reduction"))
      .def("run", &ElementwiseKernel::run,
           "run(mode, input, target, third, fourth, sample_weight, out, out2, out3)");

  py::class_<RowwiseKernel>(m, "RowwiseKernel")
      .def(py::init<const std::string&, const std::vector<double>&, const std::string&,
                    std::int64_t, const std::vector<double>&>(),
           py::arg("name"), py::arg("params"), py::arg("reduction"), py::arg("ignore_index"),
           py::arg("class_weight"))
      .def("run", &RowwiseKernel::run,
           "run(mode, input, target, second, third, sample_weight, out, out2, out3)");
}

}  // namespace losskit::bindings
