// Elementwise losses: one kernel class for every loss in loss_list.hpp.
//
// The fast path accepts only canonical arguments (see canonical_dtype: same dtype, same shape,
// C-contiguous) and runs the kernel directly; anything else is handed to
// losskit._validation.elementwise_slow_path, the one place that validates and converts, which
// calls back here with canonical arrays.
#include <sstream>
#include <stdexcept>
#include <string>
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
  throw std::invalid_argument("reduction must be 'mean', 'sum' or 'none', got '" + name + "'");
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
    auto optional_output = [&](py::handle h) {
      return h.is_none() || (matches(h) && writeable(h));
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
    if (c.size >= kReleaseGilMin) {
      py::gil_scoped_release nogil;
      r = evaluate(loss_, params_, c);
    } else {
      r = evaluate(loss_, params_, c);
    }
    if (r.bad_argument != BadArgument::none) raise_bad_value<T>(r, weight, third);
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
  [[noreturn]] void raise_bad_value(const ElementwiseResult& r, py::handle weight,
                                    py::handle third) const {
    const bool is_weight = r.bad_argument == BadArgument::sample_weight;
    const std::string name = is_weight ? "sample_weight" : third_name_;
    const T bad = data<T>(is_weight ? weight : third)[r.bad_index];
    std::ostringstream msg;
    msg << name << " must be non-negative, got " << name << ".flat[" << r.bad_index
        << "] = " << bad;
    throw py::value_error(msg.str());
  }

  ElementwiseLoss loss_;
  LossParams params_;
  Reduction reduction_;
  int arity_;
  std::string third_name_;
};

}  // namespace

void bind_losses(py::module_& m) {
  m.def("elementwise_losses", [] {
        py::dict out;
        for (int i = 0; i < kNumElementwiseLosses; ++i) {
          const ElementwiseLossInfo& li = info(static_cast<ElementwiseLoss>(i));
          py::list names;
          std::string all = li.param_names, item;
          std::istringstream in(all);
          while (std::getline(in, item, ',')) names.append(item);
          out[li.name] = py::make_tuple(li.arity, py::tuple(names));
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
          barron_log_partition(alpha.data(), out.mutable_data(),
                               return_grad ? grad.mutable_data() : nullptr,
                               static_cast<std::size_t>(alpha.size()));
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
}

}  // namespace losskit::bindings
