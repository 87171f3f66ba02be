// losskit: vectorized losses with analytic gradients. Public C++ API (C++17).
//
// Link with `find_package(losskit CONFIG)` and `losskit::losskit`. Two levels, for float and
// double:
//   - Typed objects, what C++ programs use: one per loss, generated from its definition
//     (losskit/loss_objects.hpp; losskit::Huber{.delta = 0.5}.value_and_grad(x, y, grad)),
//     and losskit::Optimizer<Rule, T> (losskit/optimizer.hpp). They take spans
//     (losskit/span.hpp), check every parameter and array (losskit/checked.hpp), and throw
//     std::invalid_argument naming the argument before anything is written.
//   - Descriptors (losskit/core.hpp): evaluate() with an ElementwiseCall, step() with a State;
//     plain pointers and sizes, unchecked, what the typed level and the bindings run on.
// C programs and other languages' FFIs use the C ABI, losskit/losskit.h.
#pragma once

#include "losskit/checked.hpp"
#include "losskit/core.hpp"
#include "losskit/loss_objects.hpp"  // generated from the definitions
#include "losskit/optimizer.hpp"
#include "losskit/span.hpp"
