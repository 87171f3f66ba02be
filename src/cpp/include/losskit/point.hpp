// Per-point losses: every elementwise loss definition (losskit/definitions/), the code the
// array kernels run, compiled here with one lane per vector and inlined into the caller, for
// loops over single samples (SGD, SAGA, coordinate descent) in C++ or Cython
// (losskit/point.pxd declares the same functions).
//
//   #include "losskit/point.hpp"
//   double g = losskit::point::huber_gradient(prediction, y, /*delta=*/0.5);
//   auto vg = losskit::point::barron_value_gradients(prediction, y, /*alpha=*/0.0, /*scale=*/1.0);
//   // vg.value, vg.gradient, vg.gradient_alpha, vg.gradient_scale
//
// Each elementwise loss <name> (its registry name) has, for float and double:
//   T <name>_value(args...)                 the value at one element (no weight, no reduction)
//   T <name>_gradient(args...)              d value / d input
//   ValueGrad<T> <name>_value_gradient(...) both, from one evaluation
//   GradHess<T> <name>_gradient_hessian(..) the gradient and the exact second derivative
//   GradHess<T> <name>_gradient_irls(...)   the gradient and the quadratic majorizer's
//                                           curvature (losses that offer Hessian::irls)
//   <Name>Gradients<T> <name>_value_gradients(...)  losses of three or four arguments: the
//                                           value and the gradient of every argument
// args are the data in the order of the Python call (input, target; GaussianNLLLoss's var,
// MarginRankingLoss's (input1, input2, target)), then the parameters in constructor order
// with their defaults (a choice parameter as the index of its choice). Barron's alpha and
// scale are per point. Parameters are not checked: outside their domains the result is what
// the formula gives (NaN or inf), never undefined behaviour.
//
// Results equal the array kernels' for the same arguments up to the last bits: the vector math
// is the same code, but the compiler and flags (FMA contraction, -ffast-math) are the caller's.
// Needs GCC or Clang (one-lane vector extensions) and C++17.
#pragma once

#ifdef LOSSKIT_ISA
#error "losskit/point.hpp is for code outside the per-ISA kernels (which define LOSSKIT_ISA)"
#endif
#define LOSSKIT_ISA scalar
#define LOSSKIT_F32_BYTES 4
#define LOSSKIT_F64_BYTES 8
#include "losskit/definitions/elementwise.hpp"
#undef LOSSKIT_ISA

namespace losskit::point {

template <class T> struct ValueGrad {
  T value, gradient;
};
template <class T> struct GradHess {
  T gradient, hessian;
};

namespace detail {
// Definition<T> made from its parameters and evaluated at one point (kExtraGrads: also the
// gradients in an arity-4 loss's operands).
template <template <class> class Definition, bool kExtraGrads, class T, class... Operands>
LOSSKIT_INLINE scalar::Point<T> at(const LossParams& params, T input, T target,
                                   Operands... operands) {
  using V = scalar::Vec<T>;
  return scalar::evaluate<kExtraGrads>(Definition<T>(params), V{input}, V{target},
                                       V{operands}...);
}
}  // namespace detail

}  // namespace losskit::point

#include "losskit/point_functions.hpp"
