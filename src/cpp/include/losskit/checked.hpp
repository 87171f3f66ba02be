// The checked loss API over spans: what the typed loss objects (losskit/loss_objects.hpp), the C
// ABI (losskit/losskit.h) and the Python module all call through. Every parameter is checked
// against its definition's domain (LossInfo), every array against the others (sizes, null
// pointers, overlaps), and every argument with a domain (sample weights, labels, input and
// operand domains) before anything is written; a refused call throws std::invalid_argument
// naming the argument and the first offending value, and leaves every output untouched.
//
// Included by <losskit/losskit.hpp>.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "losskit/loss_ids.hpp"
#include "losskit/loss_types.hpp"
#include "losskit/span.hpp"

namespace losskit {

// ---- parameters -----------------------------------------------------------------------------
// Throws std::invalid_argument "<name> must be <domain>, got <value>" for the first kernel
// parameter (in LossInfo order) outside its domain; NaN is outside every domain.
void check_params(const LossInfo& info, const LossParams& params);
// One parameter's value (as LossParams holds it) against its ParamInfo.
void check_param(const ParamInfo& param, double value);
// Per-class weights (row-wise losses): finite and non-negative ("weight must be finite and
// non-negative, got weight[2] = -1.0").
void check_class_weight(span<const double> weight);
// The words the messages use for a domain: "positive and finite", "in [1, 2]", ...
std::string describe_interval(const Interval& domain);
// A double as Python's repr writes it (shortest round trip: 0.5, 1.0, 1e-06, inf, nan), so that
// messages read the same from every front end.
std::string format_real(double value);

// ---- one call ---------------------------------------------------------------------------------
// The optional arguments of a typed loss call.
template <class T> struct Options {
  span<const T> sample_weight;  // one weight per element (per row for row-wise losses), or empty
  span<T> values;               // Reduction::none: receives the weighted value of each element/row
  std::size_t batch_size = 0;   // Reduction::batchmean: the divisor (the number of samples)
};

// An elementwise call. `input` sets the size; target and the operands the loss takes (arity 3:
// third; arity 4: third and fourth, or neither) have that size too, and so does every output
// given. An output may be exactly an input (each element is read before it is written) but may
// not overlap one otherwise, nor another output. What is computed: the value when compute_value
// (per element into `values` when the reduction is none), the gradient into `grad` when given,
// d/dthird and d/dfourth into grad_third and grad_fourth when given (with grad); with `hess`
// (and grad, and no value) the curvature under `hessian` instead.
template <class T> struct ElementwiseArrays {
  span<const T> input, target, third, fourth, sample_weight;
  span<T> values, grad, grad_third, grad_fourth, hess;
  Reduction reduction = Reduction::mean;
  std::size_t batch_size = 0;
  bool compute_value = true;
  Hessian hessian = Hessian::exact;
};
// The reduced value (0 for Reduction::none or without compute_value).
double evaluate_checked(ElementwiseLoss loss, const LossParams& params,
                        const ElementwiseArrays<float>& call);
double evaluate_checked(ElementwiseLoss loss, const LossParams& params,
                        const ElementwiseArrays<double>& call);

// A row-wise call over input (rows x classes, row-major): rows = input.size() / classes. The
// targets follow the loss's LossInfo::row_target:
//   labels       `labels` (rows,) or, where the loss takes them, `target` probabilities
//                (rows x classes); one of the two;
//   label_lists  `labels` (rows x classes), each row's class indices ended by a negative entry;
//   values       `target` (rows x classes);
//   signs        `target` (rows,), each +1 or -1;
//   none         neither.
// Row operands (LossInfo::operands: cosine_embedding's input2; triplet_margin's positive and
// negative) have the input's size, and so do their gradients (optional, with grad; both or
// neither where there are two). class_weight has `classes` entries or none; sample_weight and
// `values` one per row; grad and hess the input's size. No output may overlap any argument or
// other output.
template <class T> struct RowwiseArrays {
  span<const T> input;
  std::size_t classes = 0;
  span<const std::int64_t> labels;
  span<const T> target;
  span<const T> second, third;       // row operands
  span<T> grad_second, grad_third;  // their gradients
  std::int64_t ignore_index = -100;
  span<const double> class_weight;
  span<const T> sample_weight;
  span<T> values, grad, hess;
  Reduction reduction = Reduction::mean;
  bool compute_value = true;
  Hessian hessian = Hessian::exact;
};
double evaluate_checked(RowwiseLoss loss, const LossParams& params, const RowwiseArrays<float>& call);
double evaluate_checked(RowwiseLoss loss, const LossParams& params, const RowwiseArrays<double>& call);

}  // namespace losskit
