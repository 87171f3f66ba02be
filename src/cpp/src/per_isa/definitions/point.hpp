// What a per-point loss definition returns for one vector of elements.
#pragma once

#include <limits>

#include "simd/vec.hpp"

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
      : value(v), grad(g), hess(h), irls(w) {}
};

// 1 / max(|r|, kIrlsFloor): the majorizer curvature of a kink at |r| (NaN stays NaN).
template <class T> LOSSKIT_INLINE Vec<T> inverse_distance(Vec<T> abs_r) {
  const T floor = T(kIrlsFloor);
  return T(1) / select<Vec<T>>(abs_r < floor, splat<T>(floor), abs_r);
}

}  // namespace losskit::LOSSKIT_ISA
