// The member functions of the typed loss objects (losskit/loss_objects.hpp, generated from the
// definitions), written once per family. Each has a float and a double overload; arrays are
// spans (losskit/span.hpp: a std::vector, std::array, std::span or pointer + size converts),
// the optional arguments an Options<T> (sample weights, the per-element values of reduction
// "none", batchmean's batch size). Every call goes through evaluate_checked
// (losskit/checked.hpp): parameters, sizes, null pointers, overlaps and argument domains are
// checked, and std::invalid_argument thrown, before anything is written.
//
// Elementwise losses of (input, target):
//   double value(input, target, options = {})               the reduced loss (0 for "none",
//                                                            whose values go to options.values)
//   void   grad(input, target, grad, options = {})          d loss / d input
//   double value_and_grad(input, target, grad, options = {})  both, in one pass
//   void   grad_hess(input, target, grad, hess[, policy], options = {})
//          the gradient and the curvature under `policy` (default: the loss's training_hessian)
// Losses of a third argument (gaussian_nll's var) take it after the target in every call and
// add value_and_grads(input, target, var, grad, grad_var, options = {}); margin_ranking takes
// PyTorch's (input1, input2, target): value_and_grads(input1, input2, target, grad,
// grad_input2). Barron's loss takes its alpha and scale from its members, or per element after
// the target (alpha, scale), and adds value_and_grads(..., grad, grad_alpha, grad_scale,
// options = {}).
// Row-wise losses of scores (rows x classes, row-major) and labels (one class index per row):
//   double value(scores, classes, labels, options = {})
//   void   grad(scores, classes, labels, grad, options = {})
//   double value_and_grad(scores, classes, labels, grad, options = {})
//   void   grad_hess(scores, classes, labels, grad, hess[, policy], options = {})
// and, where the loss takes probability targets (cross-entropy), the same with target
// probabilities (rows x classes) in place of labels. multilabel_margin takes label lists (rows x
// classes, each row ended by a negative entry) as its labels; multilabel_soft_margin a target
// of 0/1 values (rows x classes) in their place. Pairs and triplets of rows:
//   cosine_embedding: value(input1, input2, columns, target, options = {}), grad, value_and_grad
//                     and grad_hess likewise, value_and_grads(..., grad1, grad2, options = {})
//   triplet_margin:   value(anchor, positive, negative, columns, options = {}), ...,
//                     value_and_grads(..., grad, grad_positive, grad_negative, options = {})
#pragma once

#include <cstddef>
#include <cstdint>

#include "losskit/checked.hpp"
#include "losskit/loss_ids.hpp"
#include "losskit/loss_types.hpp"
#include "losskit/span.hpp"

namespace losskit::detail {

// What a call writes: the gradient in the input, in the loss's operands (elementwise: the third
// and fourth arguments; row-wise: the row operands after the input), and the curvature.
template <class T> struct Outputs {
  span<T> grad, grad_operand1, grad_operand2, hess;
};

template <class T, class Loss>
double elementwise(const Loss& loss, span<const T> input, span<const T> target,
                   span<const T> third, span<const T> fourth, bool value,
                   const Outputs<T>& outputs, Hessian hessian, const Options<T>& options) {
  ElementwiseArrays<T> a;
  a.input = input;
  a.target = target;
  a.third = third;
  a.fourth = fourth;
  a.sample_weight = options.sample_weight;
  a.values = options.values;
  a.grad = outputs.grad;
  a.grad_third = outputs.grad_operand1;
  a.grad_fourth = outputs.grad_operand2;
  a.hess = outputs.hess;
  a.reduction = loss.reduction;
  a.batch_size = options.batch_size;
  a.compute_value = value;
  a.hessian = hessian;
  return evaluate_checked(Loss::id, loss.kernel_params(), a);
}

template <class T, class Loss>
double rowwise(const Loss& loss, span<const T> scores, std::size_t classes,
               span<const std::int64_t> labels, span<const T> target, bool value,
               const Outputs<T>& outputs, Hessian hessian, const Options<T>& options,
               span<const T> second = {}, span<const T> third = {}) {
  RowwiseArrays<T> a;
  a.input = scores;
  a.classes = classes;
  a.labels = labels;
  a.target = target;
  a.second = second;
  a.third = third;
  a.grad_second = outputs.grad_operand1;
  a.grad_third = outputs.grad_operand2;
  a.ignore_index = loss.ignored_label();
  a.class_weight = loss.class_weight();
  a.sample_weight = options.sample_weight;
  a.values = options.values;
  a.grad = outputs.grad;
  a.hess = outputs.hess;
  a.reduction = loss.reduction;
  a.compute_value = value;
  a.hessian = hessian;
  return evaluate_checked(Loss::id, loss.kernel_params(), a);
}

}  // namespace losskit::detail

// ---- the member functions, per family (T: float or double) -----------------------------------
#define LOSSKIT_DETAIL_ELEMENTWISE(T)                                                               \
  double value(span<const T> input, span<const T> target, const Options<T>& options = {}) const {   \
    return detail::elementwise<T>(*this, input, target, {}, {},                                     \
                                                                 true, {}, {}, options);            \
  }                                                                                                 \
  void grad(span<const T> input, span<const T> target, span<T> grad,                                \
            const Options<T>& options = {}) const {                                                 \
    detail::elementwise<T>(*this, input, target, {}, {}, false,                                     \
                                                          {grad, {}, {}, {}}, {}, options);         \
  }                                                                                                 \
  double value_and_grad(span<const T> input, span<const T> target, span<T> grad,                    \
                        const Options<T>& options = {}) const {                                     \
    return detail::elementwise<T>(*this, input, target, {}, {},                                     \
                                                                 true, {grad, {}, {}, {}}, {},      \
                                                                 options);                          \
  }                                                                                                 \
  void grad_hess(span<const T> input, span<const T> target, span<T> grad, span<T> hess,             \
                 Hessian policy, const Options<T>& options = {}) const {                            \
    detail::elementwise<T>(*this, input, target, {}, {}, false,                                     \
                                                          {grad, {}, {}, hess}, policy, options);   \
  }                                                                                                 \
  void grad_hess(span<const T> input, span<const T> target, span<T> grad, span<T> hess,             \
                 const Options<T>& options = {}) const {                                            \
    grad_hess(input, target, grad, hess, training_hessian, options);                                \
  }

// Arity 3: the third argument (named by the definition) after the target (gaussian_nll's
// (input, target, var)), or before it where LossInfo::third_position is 1 (margin_ranking's
// (input1, input2, target), PyTorch's order): FIRST and SECOND name the two in call order.
#define LOSSKIT_DETAIL_ELEMENTWISE3(T, third, FIRST, SECOND)                                        \
  double value(span<const T> input, span<const T> FIRST, span<const T> SECOND,                      \
               const Options<T>& options = {}) const {                                              \
    return detail::elementwise<T>(*this, input, target, third, {},                                  \
                                                                 true, {}, {}, options);            \
  }                                                                                                 \
  void grad(span<const T> input, span<const T> FIRST, span<const T> SECOND, span<T> grad,           \
            const Options<T>& options = {}) const {                                                 \
    detail::elementwise<T>(*this, input, target, third, {}, false,                                  \
                                                          {grad, {}, {}, {}}, {}, options);         \
  }                                                                                                 \
  double value_and_grad(span<const T> input, span<const T> FIRST, span<const T> SECOND,             \
                        span<T> grad, const Options<T>& options = {}) const {                       \
    return detail::elementwise<T>(*this, input, target, third, {},                                  \
                                                                 true, {grad, {}, {}, {}}, {},      \
                                                                 options);                          \
  }                                                                                                 \
  double value_and_grads(span<const T> input, span<const T> FIRST, span<const T> SECOND,            \
                         span<T> grad, span<T> grad_##third, const Options<T>& options = {}) const { \
    return detail::elementwise<T>(                                                                  \
        *this, input, target, third, {}, true, {grad, grad_##third, {}, {}}, {}, options);          \
  }                                                                                                 \
  void grad_hess(span<const T> input, span<const T> FIRST, span<const T> SECOND, span<T> grad,      \
                 span<T> hess, Hessian policy, const Options<T>& options = {}) const {              \
    detail::elementwise<T>(*this, input, target, third, {}, false,                                  \
                                                          {grad, {}, {}, hess}, policy, options);   \
  }                                                                                                 \
  void grad_hess(span<const T> input, span<const T> FIRST, span<const T> SECOND, span<T> grad,      \
                 span<T> hess, const Options<T>& options = {}) const {                              \
    grad_hess(input, FIRST, SECOND, grad, hess, training_hessian, options);                         \
  }

// Arity 4: the gradients in the two parameters with the member values, and every call with
// both parameters given per element (after the target).
#define LOSSKIT_DETAIL_ELEMENTWISE4(T, third, fourth)                                               \
  double value_and_grads(span<const T> input, span<const T> target, span<T> grad,                   \
                         span<T> grad_##third, span<T> grad_##fourth,                               \
                         const Options<T>& options = {}) const {                                    \
    return detail::elementwise<T>(                                                                  \
        *this, input, target, {}, {}, true, {grad, grad_##third, grad_##fourth, {}}, {}, options);  \
  }                                                                                                 \
  double value(span<const T> input, span<const T> target, span<const T> third##s,                   \
               span<const T> fourth##s, const Options<T>& options = {}) const {                     \
    return detail::elementwise<T>(*this, input, target, third##s,                                   \
                                                                 fourth##s, true, {}, {}, options); \
  }                                                                                                 \
  void grad(span<const T> input, span<const T> target, span<const T> third##s, span<const T> fourth##s, \
            span<T> grad, const Options<T>& options = {}) const {                                   \
    detail::elementwise<T>(                                                                         \
        *this, input, target, third##s, fourth##s, false, {grad, {}, {}, {}}, {}, options);         \
  }                                                                                                 \
  double value_and_grad(span<const T> input, span<const T> target, span<const T> third##s,          \
                        span<const T> fourth##s, span<T> grad, const Options<T>& options = {}) const { \
    return detail::elementwise<T>(                                                                  \
        *this, input, target, third##s, fourth##s, true, {grad, {}, {}, {}}, {}, options);          \
  }                                                                                                 \
  double value_and_grads(span<const T> input, span<const T> target, span<const T> third##s,         \
                         span<const T> fourth##s, span<T> grad, span<T> grad_##third,               \
                         span<T> grad_##fourth, const Options<T>& options = {}) const {             \
    return detail::elementwise<T>(                                                                  \
        *this, input, target, third##s, fourth##s, true, {grad, grad_##third, grad_##fourth, {}}, {}, \
        options);                                                                                   \
  }                                                                                                 \
  void grad_hess(span<const T> input, span<const T> target, span<const T> third##s,                 \
                 span<const T> fourth##s, span<T> grad, span<T> hess, Hessian policy,               \
                 const Options<T>& options = {}) const {                                            \
    detail::elementwise<T>(                                                                         \
        *this, input, target, third##s, fourth##s, false, {grad, {}, {}, hess}, policy, options);   \
  }                                                                                                 \
  void grad_hess(span<const T> input, span<const T> target, span<const T> third##s,                 \
                 span<const T> fourth##s, span<T> grad, span<T> hess,                               \
                 const Options<T>& options = {}) const {                                            \
    grad_hess(input, target, third##s, fourth##s, grad, hess, training_hessian, options);           \
  }

// Row-wise losses; TARGET is the type of the per-row targets: labels, or probabilities.
#define LOSSKIT_DETAIL_ROWWISE(T, TARGET, LABELS, PROBABILITIES)                                    \
  double value(span<const T> scores, std::size_t classes, span<const TARGET> target,                \
               const Options<T>& options = {}) const {                                              \
    return detail::rowwise<T>(*this, scores, classes, LABELS,                                       \
                                                             PROBABILITIES, true, {}, {}, options); \
  }                                                                                                 \
  void grad(span<const T> scores, std::size_t classes, span<const TARGET> target, span<T> grad,     \
            const Options<T>& options = {}) const {                                                 \
    detail::rowwise<T>(*this, scores, classes, LABELS,                                              \
                                                      PROBABILITIES, false, {grad, {}, {}, {}},     \
                                                      {}, options);                                 \
  }                                                                                                 \
  double value_and_grad(span<const T> scores, std::size_t classes, span<const TARGET> target,       \
                        span<T> grad, const Options<T>& options = {}) const {                       \
    return detail::rowwise<T>(*this, scores, classes, LABELS,                                       \
                                                             PROBABILITIES, true,                   \
                                                             {grad, {}, {}, {}}, {}, options);      \
  }                                                                                                 \
  void grad_hess(span<const T> scores, std::size_t classes, span<const TARGET> target,              \
                 span<T> grad, span<T> hess, Hessian policy, const Options<T>& options = {}) const { \
    detail::rowwise<T>(*this, scores, classes, LABELS,                                              \
                                                      PROBABILITIES, false, {grad, {}, {}, hess},   \
                                                      policy, options);                             \
  }                                                                                                 \
  void grad_hess(span<const T> scores, std::size_t classes, span<const TARGET> target,              \
                 span<T> grad, span<T> hess, const Options<T>& options = {}) const {                \
    grad_hess(scores, classes, target, grad, hess, training_hessian, options);                      \
  }

// Pairs of rows (cosine_embedding): input1 and input2 (rows x columns) and one +1/-1 target per
// row; value_and_grads adds the gradient in input2.
#define LOSSKIT_DETAIL_ROWWISE_PAIR(T)                                                              \
  double value(span<const T> input1, span<const T> input2, std::size_t columns,                     \
               span<const T> target, const Options<T>& options = {}) const {                        \
    return detail::rowwise<T>(*this, input1, columns, {}, target, true, {}, {}, options, input2);   \
  }                                                                                                 \
  void grad(span<const T> input1, span<const T> input2, std::size_t columns, span<const T> target,  \
            span<T> grad, const Options<T>& options = {}) const {                                   \
    detail::rowwise<T>(*this, input1, columns, {}, target, false, {grad, {}, {}, {}}, {}, options,  \
                       input2);                                                                     \
  }                                                                                                 \
  double value_and_grad(span<const T> input1, span<const T> input2, std::size_t columns,            \
                        span<const T> target, span<T> grad, const Options<T>& options = {}) const { \
    return detail::rowwise<T>(*this, input1, columns, {}, target, true, {grad, {}, {}, {}}, {},     \
                              options, input2);                                                     \
  }                                                                                                 \
  double value_and_grads(span<const T> input1, span<const T> input2, std::size_t columns,           \
                         span<const T> target, span<T> grad1, span<T> grad2,                        \
                         const Options<T>& options = {}) const {                                    \
    return detail::rowwise<T>(*this, input1, columns, {}, target, true, {grad1, grad2, {}, {}}, {}, \
                              options, input2);                                                     \
  }                                                                                                 \
  void grad_hess(span<const T> input1, span<const T> input2, std::size_t columns,                   \
                 span<const T> target, span<T> grad, span<T> hess, Hessian policy,                  \
                 const Options<T>& options = {}) const {                                            \
    detail::rowwise<T>(*this, input1, columns, {}, target, false, {grad, {}, {}, hess}, policy,     \
                       options, input2);                                                            \
  }                                                                                                 \
  void grad_hess(span<const T> input1, span<const T> input2, std::size_t columns,                   \
                 span<const T> target, span<T> grad, span<T> hess,                                  \
                 const Options<T>& options = {}) const {                                            \
    grad_hess(input1, input2, columns, target, grad, hess, training_hessian, options);              \
  }

// Triplets of rows (triplet_margin): anchor, positive and negative (rows x columns), no target;
// value_and_grads adds the gradients in positive and negative.
#define LOSSKIT_DETAIL_ROWWISE_TRIPLET(T)                                                           \
  double value(span<const T> anchor, span<const T> positive, span<const T> negative,               \
               std::size_t columns, const Options<T>& options = {}) const {                         \
    return detail::rowwise<T>(*this, anchor, columns, {}, {}, true, {}, {}, options, positive,      \
                              negative);                                                            \
  }                                                                                                 \
  void grad(span<const T> anchor, span<const T> positive, span<const T> negative,                  \
            std::size_t columns, span<T> grad, const Options<T>& options = {}) const {              \
    detail::rowwise<T>(*this, anchor, columns, {}, {}, false, {grad, {}, {}, {}}, {}, options,      \
                       positive, negative);                                                         \
  }                                                                                                 \
  double value_and_grad(span<const T> anchor, span<const T> positive, span<const T> negative,      \
                        std::size_t columns, span<T> grad, const Options<T>& options = {}) const {  \
    return detail::rowwise<T>(*this, anchor, columns, {}, {}, true, {grad, {}, {}, {}}, {},         \
                              options, positive, negative);                                         \
  }                                                                                                 \
  double value_and_grads(span<const T> anchor, span<const T> positive, span<const T> negative,     \
                         std::size_t columns, span<T> grad, span<T> grad_positive,                  \
                         span<T> grad_negative, const Options<T>& options = {}) const {             \
    return detail::rowwise<T>(*this, anchor, columns, {}, {}, true,                                \
                              {grad, grad_positive, grad_negative, {}}, {}, options, positive,      \
                              negative);                                                            \
  }                                                                                                 \
  void grad_hess(span<const T> anchor, span<const T> positive, span<const T> negative,             \
                 std::size_t columns, span<T> grad, span<T> hess, Hessian policy,                   \
                 const Options<T>& options = {}) const {                                            \
    detail::rowwise<T>(*this, anchor, columns, {}, {}, false, {grad, {}, {}, hess}, policy,         \
                       options, positive, negative);                                                \
  }                                                                                                 \
  void grad_hess(span<const T> anchor, span<const T> positive, span<const T> negative,             \
                 std::size_t columns, span<T> grad, span<T> hess,                                   \
                 const Options<T>& options = {}) const {                                            \
    grad_hess(anchor, positive, negative, columns, grad, hess, training_hessian, options);          \
  }

// What the generated objects name.
#define LOSSKIT_ELEMENTWISE_METHODS LOSSKIT_DETAIL_ELEMENTWISE(float) LOSSKIT_DETAIL_ELEMENTWISE(double)
#define LOSSKIT_ELEMENTWISE3_METHODS(third)                                                         \
  LOSSKIT_DETAIL_ELEMENTWISE3(float, third, target, third)                                          \
  LOSSKIT_DETAIL_ELEMENTWISE3(double, third, target, third)
#define LOSSKIT_ELEMENTWISE3_BEFORE_TARGET_METHODS(third)                                           \
  LOSSKIT_DETAIL_ELEMENTWISE3(float, third, third, target)                                          \
  LOSSKIT_DETAIL_ELEMENTWISE3(double, third, third, target)
#define LOSSKIT_ELEMENTWISE4_METHODS(third, fourth)                                                 \
  LOSSKIT_DETAIL_ELEMENTWISE4(float, third, fourth) LOSSKIT_DETAIL_ELEMENTWISE4(double, third, fourth)
#define LOSSKIT_ROWWISE_METHODS                                                                     \
  LOSSKIT_DETAIL_ROWWISE(float, std::int64_t, target, span<const float>{})                          \
  LOSSKIT_DETAIL_ROWWISE(double, std::int64_t, target, span<const double>{})
#define LOSSKIT_ROWWISE_PROBABILITY_METHODS                                                         \
  LOSSKIT_DETAIL_ROWWISE(float, float, span<const std::int64_t>{}, target)                          \
  LOSSKIT_DETAIL_ROWWISE(double, double, span<const std::int64_t>{}, target)
#define LOSSKIT_ROWWISE_PAIR_METHODS                                                                \
  LOSSKIT_DETAIL_ROWWISE_PAIR(float) LOSSKIT_DETAIL_ROWWISE_PAIR(double)
#define LOSSKIT_ROWWISE_TRIPLET_METHODS                                                             \
  LOSSKIT_DETAIL_ROWWISE_TRIPLET(float) LOSSKIT_DETAIL_ROWWISE_TRIPLET(double)
