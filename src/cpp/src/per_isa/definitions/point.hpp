// What a per-point loss definition returns for one vector of elements.
#pragma once

#include "simd/vec.hpp"

namespace losskit::LOSSKIT_ISA {

template <class T> struct Point {
  Vec<T> value;
  Vec<T> grad;        // d value / d input
  Vec<T> grad_third;  // d value / d third argument (arity-3 and arity-4 losses)
  Vec<T> grad_fourth; // d value / d fourth argument (arity-4 losses)
  Point() = default;
  LOSSKIT_INLINE Point(Vec<T> v, Vec<T> g, Vec<T> g3 = Vec<T>{}, Vec<T> g4 = Vec<T>{})
      : value(v), grad(g), grad_third(g3), grad_fourth(g4) {}
};

}  // namespace losskit::LOSSKIT_ISA
