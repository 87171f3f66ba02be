// The table of kernels one instruction set provides; dispatch.cpp holds one per compiled ISA.
#pragma once

#include "losskit/core.hpp"

namespace losskit {

template <class T> using ElementwiseKernel = ElementwiseResult (*)(const LossParams&,
                                                                    const ElementwiseCall<T>&);
template <class T> using RowwiseKernel = ElementwiseResult (*)(const LossParams&,
                                                                const RowwiseCall<T>&);
template <class T> using MathKernel = void (*)(const T*, T*, std::size_t);

inline constexpr int kNumMathFunctions = 6;

// ---- update rules: the per-step scalars, computed in double by optim_api.cpp -----------------
// Each kernel rounds every scalar to the element type where PyTorch uses it as a scalar operand.
// What every rule does to the gradient first (the generic driver does it): negate it
// (maximize), then add weight_decay * param (the L2 form; 0 for none).
struct GradientStep {
  double weight_decay;
  bool maximize;
};
struct SgdStep : GradientStep {
  double lr, momentum, dampening;
  bool nesterov;
};
struct AdamStep : GradientStep {
  double lerp_weight;     // 1 - beta1
  double beta2, one_minus_beta2;
  double neg_step_size;   // -lr / (1 - beta1^t)
  double bc2_sqrt;        // (1 - beta2^t) ** 0.5
  double eps;
  double decay_factor;    // decoupled weight decay: 1 - lr * weight_decay, 1 for none
  bool amsgrad;
};
struct RmspropStep : GradientStep {
  double lr, alpha, one_minus_alpha, eps, momentum;
  bool centered;
};
struct AdagradStep : GradientStep {
  double neg_clr, eps;
};

// One step of a rule on one parameter array: (scalars, param, grad, state, n).
template <class T, class Step>
using UpdateKernel = void (*)(const Step&, T*, const T*, const State<T>&, std::size_t);
// Partial norm of one array: sum |x| (l1), sum x^2 (l2) or max |x| (inf); NaN if any x is NaN.
template <class T> using NormKernel = double (*)(NormType, const T*, std::size_t);
template <class T> using ScaleKernel = void (*)(T*, std::size_t, T);
template <class T> using ClampKernel = void (*)(T*, std::size_t, T, T);
template <class T>
using PenaltyKernel = double (*)(const PenaltyCoefficients&, const T*, T*, std::size_t, bool);
template <class T> using ProxKernel = void (*)(T, T, T*, std::size_t);  // threshold, divisor
using GatherKernel = std::size_t (*)(const void*, std::size_t, std::size_t, const std::int64_t*,
                                     std::size_t, void*);

template <class T> struct OptimKernels {
  UpdateKernel<T, SgdStep> sgd;
  UpdateKernel<T, AdamStep> adam;
  UpdateKernel<T, RmspropStep> rmsprop;
  UpdateKernel<T, AdagradStep> adagrad;
  NormKernel<T> norm;
  ScaleKernel<T> scale;
  ClampKernel<T> clamp;
  PenaltyKernel<T> penalty;
  ProxKernel<T> prox;
};

struct KernelTable {
  ElementwiseKernel<float> elementwise_f32[kNumElementwiseLosses];
  ElementwiseKernel<double> elementwise_f64[kNumElementwiseLosses];
  RowwiseKernel<float> rowwise_f32[kNumRowwiseLosses];
  RowwiseKernel<double> rowwise_f64[kNumRowwiseLosses];
  // The definitions' metadata (the same in every ISA's table).
  const LossInfo* elementwise_info[kNumElementwiseLosses];
  const LossInfo* rowwise_info[kNumRowwiseLosses];
  MathKernel<float> math_f32[kNumMathFunctions];
  MathKernel<double> math_f64[kNumMathFunctions];
  OptimKernels<float> optim_f32;
  OptimKernels<double> optim_f64;
  GatherKernel gather;
};

#define LOSSKIT_DECLARE_TABLE(isa) \
  namespace isa {                  \
  const KernelTable& kernel_table(); \
  }
LOSSKIT_DECLARE_TABLE(sse2)
LOSSKIT_DECLARE_TABLE(avx2)
LOSSKIT_DECLARE_TABLE(avx512)
#undef LOSSKIT_DECLARE_TABLE

}  // namespace losskit
