// What a per-point loss definition returns for one vector of elements.
#pragma once

#include <limits>

#include "losskit/loss_types.hpp"
#include "losskit/simd/vec.hpp"

namespace losskit::LOSSKIT_ISA {

// value, its first and second derivatives in the input, and the curvature of the quadratic
// majorizer (Hessian::irls; losses that do not offer that policy leave it 0). The driver keeps
// what a call asks for; the compiler drops the rest, so value_and_grad pays for no curvature.
template <class T> struct Point {
  Vec<T> value;
  Vec<T> grad;        // d value / d input
  Vec<T> hess;        // d^2 value / d input^2
  Vec<T> irls;        // the majorizer's curvature (LossInfo::hessians)
  Vec<T> grad_third;  // d value / d third argument (arity-3 and arity-4 losses)
  Vec<T> grad_fourth; // d value / d fourth argument (arity-4 losses)
  Point() = default;
  LOSSKIT_INLINE Point(Vec<T> v, Vec<T> g, Vec<T> h = Vec<T>{}, Vec<T> w = Vec<T>{})
      : value(v), grad(g), hess(h), irls(w), grad_third{}, grad_fourth{} {}
};

// The definition at one vector of elements, whatever its arity: arity-4 losses take their two
// operands or none (their parameters), and compute those operands' gradients only when
// kExtraGrads. The array drivers and the per-point functions (losskit/point.hpp) both call it.
template <bool kExtraGrads = false, class Loss, class V, class... Operands>
LOSSKIT_INLINE auto evaluate(const Loss& loss, V x, V y, Operands... operands) {
  if constexpr (Loss::kInfo.arity == 4) return loss.template eval<kExtraGrads>(x, y, operands...);
  else return loss(x, y, operands...);
}

// The curvature a Hessian policy gives at a point (LossInfo::hessians lists the policies a
// loss offers): exact, the majorizer's (irls), or the exact one floored at kPositiveCurvature.
template <Hessian kPolicy, class T> LOSSKIT_INLINE Vec<T> curvature(const Point<T>& pt) {
  Vec<T> h = kPolicy == Hessian::irls ? pt.irls : pt.hess;
  if constexpr (kPolicy == Hessian::positive) {
    const T tiny = T(kPositiveCurvature);
    h = select<Vec<T>>(h < tiny, splat<T>(tiny), h);  // NaN stays NaN
  }
  // Where the gradient is NaN (a NaN argument), so is the curvature, whatever its formula's
  // branches give.
  return select<Vec<T>>(pt.grad != pt.grad, pt.grad, h);
}

// 1 / max(|r|, kIrlsFloor): the majorizer curvature of a kink at |r| (NaN stays NaN).
template <class T> LOSSKIT_INLINE Vec<T> inverse_distance(Vec<T> abs_r) {
  const T floor = T(kIrlsFloor);
  return T(1) / select<Vec<T>>(abs_r < floor, splat<T>(floor), abs_r);
}

}  // namespace losskit::LOSSKIT_ISA
