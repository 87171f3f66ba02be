// Elementwise losses: one kernel class for every loss in loss_list.hpp.
//
// The fast path accepts only canonical arguments (see canonical_dtype: same dtype, same shape,
// C-contiguous) and runs the kernel directly; anything else is handed to
// losskit._validation.elementwise_slow_path, the one place that validates and converts, which
// calls back here with canonical arrays.
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "bindings.hpp"
#include "losskit/losskit.hpp"

namespace losskit::bindings {

namespace {

// What a call computes (and returns).
enum Mode : int {
  kValue = 0,          // value
  kGrad = 1,           // d/dinput
  kValueAndGrad = 2,   // (value, d/dinput)
  kValueAndGrads = 3,  // (value, d/dinput, d/dthird)   arity-3 losses
                       // (value, d/dinput, d/dthird, d/dfourth)   arity-4 losses
};

Reduction reduction_from_name(const std::string& name) {
  if (name == "mean") return Reduction::mean;
  if (name == "sum") return Reduction::sum;
  if (name == "none") return Reduction::none;
  if (name == "batchmean") return Reduction::batchmean;
  throw std::invalid_argument("reduction must be 'mean', 'sum', 'none' or 'batchmean', got '" +
                              name + "'");
}

const py::object& slow_path() {
  // Leaked on purpose: a module-level py::object must not be destroyed after the interpreter.
  static const py::object* fn = new py::object(
      py::module_::import("losskit._validation").attr("elementwise_slow_path"));
  return *fn;
}

class ElementwiseKernel {
 public:
  ElementwiseKernel(const std::string& name, const std::vector<double>& params,
                    const std::string& reduction, std::string third_name)
      : loss_(elementwise_loss_from_name(name)),
        reduction_(reduction_from_name(reduction)),
        arity_(info(loss_).arity),
        third_name_(std::move(third_name)) {
    if (params.size() > std::size_t(LossParams::kMax))
      throw std::invalid_argument("too many loss parameters");
    for (std::size_t i = 0; i < params.size(); ++i) params_.values[i] = params[i];
  }

  // mode, input, target, third, sample_weight, out, out_third (and for arity-4 losses fourth,
  // out_fourth); None where absent.
  py::object call(int mode, py::handle input, py::handle target, py::handle third,
                  py::handle weight, py::handle out, py::handle out_third,
                  py::handle fourth = py::none(), py::handle out_fourth = py::none()) const {
    const Operands ops{third, fourth, out_third, out_fourth};
    switch (fast_dtype(mode, input, target, ops, weight, out)) {
      case Dtype::f32: return run<float>(mode, input, target, ops, weight, out);
      case Dtype::f64: return run<double>(mode, input, target, ops, weight, out);
      default: break;
    }
    const py::object self = py::cast(this, py::return_value_policy::reference);
    if (arity_ == 4)
      return slow_path()(self, mode, input, target, third, weight, out, out_third, fourth,
                         out_fourth);
    return slow_path()(self, mode, input, target, third, weight, out, out_third);
  }

  // The same, for arguments the slow path has made canonical.
  py::object call_canonical(int mode, py::handle input, py::handle target, py::handle third,
                            py::handle weight, py::handle out, py::handle out_third,
                            py::handle fourth = py::none(),
                            py::handle out_fourth = py::none()) const {
    const Operands ops{third, fourth, out_third, out_fourth};
    switch (fast_dtype(mode, input, target, ops, weight, out)) {
      case Dtype::f32: return run<float>(mode, input, target, ops, weight, out);
      case Dtype::f64: return run<double>(mode, input, target, ops, weight, out);
      default: break;
    }
    throw std::runtime_error("losskit internal error: arguments are not canonical");
  }

  int arity() const { return arity_; }

 private:
  // The extra operands and their gradient buffers (None where absent).
  struct Operands {
    py::handle third, fourth, out_third, out_fourth;
  };

  // The common dtype when every argument is canonical and consistent; Dtype::other otherwise.
  Dtype fast_dtype(int mode, py::handle input, py::handle target, const Operands& ops,
                   py::handle weight, py::handle out) const {
    const py::handle third = ops.third, out_third = ops.out_third;
    const Dtype t = canonical_dtype(input);
    if (t == Dtype::other) return t;
    auto matches = [&](py::handle h) { return canonical_dtype(h) == t && same_shape(h, input); };
    const std::size_t itemsize = t == Dtype::f32 ? 4 : 8;
    auto optional_output = [&](py::handle h) {
      if (h.is_none()) return true;
      if (!matches(h) || !writeable(h)) return false;
      for (py::handle a : {input, target, third, weight})
        if (!a.is_none() && overlaps_partially(h, a, itemsize)) return false;
      return true;
    };
    if (!matches(target)) return Dtype::other;
    if (arity_ == 4) {  // both operands or neither
      if (third.is_none() != ops.fourth.is_none()) return Dtype::other;
      if (!third.is_none() && !(matches(third) && matches(ops.fourth))) return Dtype::other;
      if (!ops.out_fourth.is_none() && (mode != kValueAndGrads || !optional_output(ops.out_fourth)))
        return Dtype::other;
    } else {
      if (arity_ == 3 ? !matches(third) : !third.is_none()) return Dtype::other;
      if (!ops.fourth.is_none() || !ops.out_fourth.is_none()) return Dtype::other;
    }
    if (!weight.is_none() && !matches(weight)) return Dtype::other;
    if (mode < kValue || mode > (arity_ >= 3 ? kValueAndGrads : kValueAndGrad)) return Dtype::other;
    if (mode == kValue && !out.is_none() && reduction_ != Reduction::none) return Dtype::other;
    if (!optional_output(out)) return Dtype::other;
    if (!out_third.is_none() && (mode != kValueAndGrads || !optional_output(out_third)))
      return Dtype::other;
    return t;
  }

  template <class T>
  py::object run(int mode, py::handle input, py::handle target, const Operands& ops,
                 py::handle weight, py::handle out) const {
    const py::handle third = ops.third;
    ElementwiseCall<T> c;
    c.input = data<T>(input);
    c.target = data<T>(target);
    c.third = arity_ >= 3 && !third.is_none() ? data<T>(third) : nullptr;
    c.fourth = arity_ == 4 && !ops.fourth.is_none() ? data<T>(ops.fourth) : nullptr;
    c.sample_weight = weight.is_none() ? nullptr : data<T>(weight);
    c.size = size_of(input);
    c.reduction = reduction_;
    c.batch_size = ndim(input) > 0 ? std::size_t(dims(input)[0]) : 1;
    c.compute_value = mode != kGrad;
    auto output = [&](py::handle given) -> py::object {
      return given.is_none() ? py::object(empty_like<T>(input))
                             : py::reinterpret_borrow<py::object>(given);
    };
    py::object values, grad, grad_third, grad_fourth;
    if (mode != kGrad && reduction_ == Reduction::none) {
      values = output(mode == kValue ? out : py::none());
      c.value_out = data<T>(values);
    }
    if (mode != kValue) {
      grad = output(out);
      c.grad_out = data<T>(grad);
    }
    if (mode == kValueAndGrads) {
      grad_third = output(ops.out_third);
      c.grad_third_out = data<T>(grad_third);
      if (arity_ == 4) {
        grad_fourth = output(ops.out_fourth);
        c.grad_fourth_out = data<T>(grad_fourth);
      }
    }
    ElementwiseResult r;
    run_kernel(c.size, [&] { r = evaluate(loss_, params_, c); });
    if (r.bad_argument != BadArgument::none) raise_bad_value<T>(r, input, weight, third);
    py::object value = reduction_ == Reduction::none ? values : py::float_(r.value);
    switch (mode) {
      case kValue: return value;
      case kGrad: return grad;
      case kValueAndGrad: return py::make_tuple(value, grad);
      default:
        if (arity_ == 4) return py::make_tuple(value, grad, grad_third, grad_fourth);
        return py::make_tuple(value, grad, grad_third);
    }
  }

  template <class T>
  [[noreturn]] void raise_bad_value(const ElementwiseResult& r, py::handle input,
                                    py::handle weight, py::handle third) const {
    std::ostringstream msg;
    if (r.bad_argument == BadArgument::input) {
      msg << "input is outside this loss's domain (" << info(loss_).name << "): input.flat["
          << r.bad_index << "] = " << data<T>(input)[r.bad_index];
    } else {
      const bool is_weight = r.bad_argument == BadArgument::sample_weight;
      const std::string name = is_weight ? "sample_weight" : third_name_;
      msg << name << " must be non-negative, got " << name << ".flat[" << r.bad_index
          << "] = " << data<T>(is_weight ? weight : third)[r.bad_index];
    }
    throw py::value_error(msg.str());
  }

  ElementwiseLoss loss_;
  LossParams params_;
  Reduction reduction_;
  int arity_;
  std::string third_name_;
};

// Losses over rows of (N, C) scores: target is int64 labels (N,) or, where the loss allows it,
// probabilities (N, C) of the input's dtype.
class RowwiseKernel {
 public:
  RowwiseKernel(const std::string& name, const std::vector<double>& params,
                const std::string& reduction, std::int64_t ignore_index,
                const std::vector<double>& class_weight)
      : loss_(rowwise_loss_from_name(name)),
        reduction_(reduction_from_name(reduction)),
        ignore_index_(ignore_index),
        weight_f64_(class_weight),
        weight_f32_(class_weight.begin(), class_weight.end()) {
    if (reduction_ == Reduction::batchmean)
      throw std::invalid_argument("reduction 'batchmean' is for kl_div");
    if (params.size() > std::size_t(LossParams::kMax))
      throw std::invalid_argument("too many loss parameters");
    for (std::size_t i = 0; i < params.size(); ++i) params_.values[i] = params[i];
  }

  // mode (kValue, kGrad, kValueAndGrad), input, target, sample_weight, out.
  py::object call(int mode, py::handle input, py::handle target, py::handle weight,
                  py::handle out) const {
    switch (fast_dtype(mode, input, target, weight, out)) {
      case Dtype::f32: return run<float>(mode, input, target, weight, out);
      case Dtype::f64: return run<double>(mode, input, target, weight, out);
      default: break;
    }
    return rowwise_slow_path()(py::cast(this, py::return_value_policy::reference), mode, input,
                               target, weight, out);
  }

  py::object call_canonical(int mode, py::handle input, py::handle target, py::handle weight,
                            py::handle out) const {
    switch (fast_dtype(mode, input, target, weight, out)) {
      case Dtype::f32: return run<float>(mode, input, target, weight, out);
      case Dtype::f64: return run<double>(mode, input, target, weight, out);
      default: break;
    }
    throw std::runtime_error("losskit internal error: arguments are not canonical");
  }

  bool takes_probabilities() const { return loss_ == RowwiseLoss::cross_entropy; }

 private:
  static const py::object& rowwise_slow_path() {
    static const py::object* fn = new py::object(
        py::module_::import("losskit._validation").attr("rowwise_slow_path"));
    return *fn;
  }

  Dtype fast_dtype(int mode, py::handle input, py::handle target, py::handle weight,
                   py::handle out) const {
    const Dtype t = canonical_dtype(input);
    if (t == Dtype::other || ndim(input) != 2 || mode < kValue || mode > kValueAndGrad)
      return Dtype::other;
    const std::size_t classes = std::size_t(dims(input)[1]);
    if (classes == 0) return Dtype::other;
    if (!weight_f64_.empty() && weight_f64_.size() != classes) return Dtype::other;
    const Py_intptr_t rows = dims(input)[0];
    if (is_int64_array(target)) {
      if (ndim(target) != 1 || dims(target)[0] != rows) return Dtype::other;
    } else if (!(takes_probabilities() && canonical_dtype(target) == t && same_shape(target, input))) {
      return Dtype::other;
    }
    if (!weight.is_none() &&
        (canonical_dtype(weight) != t || ndim(weight) != 1 || dims(weight)[0] != rows))
      return Dtype::other;
    if (!out.is_none()) {
      if (mode == kValue || canonical_dtype(out) != t || !same_shape(out, input) || !writeable(out))
        return Dtype::other;
      const std::size_t itemsize = t == Dtype::f32 ? 4 : 8;
      for (py::handle a : {input, target, weight})
        if (!a.is_none() && overlaps_partially(out, a, itemsize)) return Dtype::other;
    }
    return t;
  }

  template <class T>
  py::object run(int mode, py::handle input, py::handle target, py::handle weight,
                 py::handle out) const {
    RowwiseCall<T> c;
    c.input = data<T>(input);
    c.rows = std::size_t(dims(input)[0]);
    c.classes = std::size_t(dims(input)[1]);
    const bool labels = is_int64_array(target);
    c.labels = labels ? data<std::int64_t>(target) : nullptr;
    c.target = labels ? nullptr : data<T>(target);
    c.ignore_index = ignore_index_;
    if constexpr (std::is_same_v<T, float>) {
      c.class_weight = weight_f32_.empty() ? nullptr : weight_f32_.data();
    } else {
      c.class_weight = weight_f64_.empty() ? nullptr : weight_f64_.data();
    }
    c.sample_weight = weight.is_none() ? nullptr : data<T>(weight);
    c.reduction = reduction_;
    c.compute_value = mode != kGrad;
    py::object values, grad;
    if (mode != kGrad && reduction_ == Reduction::none) {
      values = py::array_t<T>(std::vector<py::ssize_t>{py::ssize_t(c.rows)});
      c.value_out = data<T>(values);
    }
    if (mode != kValue) {
      grad = out.is_none() ? py::object(empty_like<T>(input))
                           : py::reinterpret_borrow<py::object>(out);
      c.grad_out = data<T>(grad);
    }
    ElementwiseResult r;
    run_kernel(c.rows * c.classes, [&] { r = evaluate(loss_, params_, c); });
    if (r.bad_argument == BadArgument::sample_weight) {
      std::ostringstream msg;
      msg << "sample_weight must be non-negative, got sample_weight[" << r.bad_index
          << "] = " << c.sample_weight[r.bad_index];
      throw py::value_error(msg.str());
    }
    if (r.bad_argument == BadArgument::target) {
      std::ostringstream msg;
      msg << "target[" << r.bad_index << "] = " << c.labels[r.bad_index]
          << " is not a class index in [0, " << c.classes << ")";
      if (loss_ == RowwiseLoss::cross_entropy || loss_ == RowwiseLoss::nll)
        msg << " or ignore_index (" << ignore_index_ << ")";
      throw py::value_error(msg.str());
    }
    py::object value = reduction_ == Reduction::none ? values : py::float_(r.value);
    switch (mode) {
      case kValue: return value;
      case kGrad: return grad;
      default: return py::make_tuple(value, grad);
    }
  }

  RowwiseLoss loss_;
  LossParams params_;
  Reduction reduction_;
  std::int64_t ignore_index_;
  std::vector<double> weight_f64_;
  std::vector<float> weight_f32_;
};

// "a,b" -> ("a", "b"): the parameter names of loss_list.hpp.
py::tuple split_names(const char* names) {
  py::list out;
  std::string item;
  std::istringstream in(names);
  while (std::getline(in, item, ',')) out.append(item);
  return py::tuple(out);
}

}  // namespace

void bind_losses(py::module_& m) {
  m.def("elementwise_losses", [] {
        py::dict out;
        for (int i = 0; i < kNumElementwiseLosses; ++i) {
          const ElementwiseLossInfo& li = info(static_cast<ElementwiseLoss>(i));
          out[li.name] = py::make_tuple(li.arity, split_names(li.param_names));
        }
        return out;
      }, "{name: (arity, parameter names)} of every elementwise loss kernel.");

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

  py::class_<ElementwiseKernel>(m, "ElementwiseKernel", py::dynamic_attr())
      .def(py::init<const std::string&, const std::vector<double>&, const std::string&,
                    std::string>(),
           py::arg("name"), py::arg("params"), py::arg("reduction"), py::arg("third_name"))
      .def("_call",
           [](const ElementwiseKernel& k, int mode, py::handle input, py::handle target,
              py::handle third, py::handle weight, py::handle out, py::handle out_third) {
             return k.call(mode, input, target, third, weight, out, out_third);
           },
           "_call(mode, input, target, third, sample_weight, out, out_third)")
      .def("_call_canonical",
           [](const ElementwiseKernel& k, int mode, py::handle input, py::handle target,
              py::handle third, py::handle weight, py::handle out, py::handle out_third) {
             return k.call_canonical(mode, input, target, third, weight, out, out_third);
           })
      // Arity-4 losses: the same with the fourth operand and its gradient buffer.
      .def("_call4", &ElementwiseKernel::call,
           "_call4(mode, input, target, third, sample_weight, out, out_third, fourth, out_fourth)")
      .def("_call_canonical4", &ElementwiseKernel::call_canonical)
      .def_property_readonly("_arity", &ElementwiseKernel::arity);

  m.def("rowwise_losses", [] {
        py::dict out;
        for (int i = 0; i < kNumRowwiseLosses; ++i) {
          const RowwiseLossInfo& li = info(static_cast<RowwiseLoss>(i));
          out[li.name] = split_names(li.param_names);
        }
        return out;
      }, "{name: parameter names} of every row-wise loss kernel.");

  py::class_<RowwiseKernel>(m, "RowwiseKernel", py::dynamic_attr())
      .def(py::init<const std::string&, const std::vector<double>&, const std::string&,
                    std::int64_t, const std::vector<double>&>(),
           py::arg("name"), py::arg("params"), py::arg("reduction"), py::arg("ignore_index"),
           py::arg("class_weight"))
      .def("_call", &RowwiseKernel::call, "_call(mode, input, target, sample_weight, out)")
      .def("_call_canonical", &RowwiseKernel::call_canonical)
      .def_property_readonly("_takes_probabilities", &RowwiseKernel::takes_probabilities);
}

}  // namespace losskit::bindings
