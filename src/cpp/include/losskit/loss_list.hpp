// The list of elementwise losses: the one place a loss is registered. The enum below, every
// per-ISA kernel table, the Python bindings and the Python registry are generated from it.
//
//   X(identifier, arity, "comma-separated parameter names, in LossParams order")
//
// arity 2: (input, target); arity 3: (input, target, third) where the loss also has a gradient
// with respect to the third argument; arity 4: (input, target[, third, fourth]) where third and
// fourth are optional per-element values of the last two parameters, with gradients for both.
// The per-point definitions are in src/cpp/src/per_isa/definitions/ (regression.hpp,
// classification.hpp, barron.hpp).
#pragma once

#define LOSSKIT_ELEMENTWISE_LOSSES(X)                                   \
  X(mse, 2, "")                                                         \
  X(l1, 2, "")                                                          \
  X(huber, 2, "delta")                                                  \
  X(smooth_l1, 2, "beta")                                               \
  X(pseudo_huber, 2, "delta")                                           \
  X(log_cosh, 2, "")                                                    \
  X(quantile, 2, "quantile")                                            \
  X(epsilon_insensitive, 2, "epsilon,squared")                          \
  X(gaussian_nll, 3, "full,eps,precision")                              \
  X(poisson_nll, 2, "log_input,full,eps")                               \
  X(bce_with_logits, 2, "pos_weight")                                   \
  X(bce_with_logits_weighted, 3, "")                                    \
  X(bce, 2, "")                                                         \
  X(kl_div, 2, "log_target")                                            \
  X(soft_margin, 2, "")                                                 \
  X(hinge, 2, "margin")                                                 \
  X(squared_hinge, 2, "margin")                                         \
  X(modified_huber, 2, "")                                              \
  X(perceptron, 2, "")                                                  \
  X(barron, 4, "alpha,scale")

// Losses over rows of an (N, C) array with an integer label (or a probability row) per sample.
//   X(identifier, "comma-separated parameter names, in LossParams order")
// The per-row definitions are in src/cpp/src/per_isa/definitions/multiclass.hpp.
#define LOSSKIT_ROWWISE_LOSSES(X)                                       \
  X(cross_entropy, "label_smoothing")                                   \
  X(nll, "")                                                            \
  X(multi_margin, "p,margin")                                           \
  X(multiclass_hinge, "margin,squared")
