// The array kernels of the Cython module losskit.kernels (losskit/kernels.pxd documents them):
// the C ABI's calls with strides, signed sizes and a thread count per call. _core hands the
// table to losskit.kernels in a capsule, so both modules run one copy of the library (one
// instruction set, one thread setting) and a Cython consumer links nothing.
#pragma once

#include <cstddef>
#include <cstdint>

#include "losskit/losskit.h"

namespace losskit::cython {

using Index = std::ptrdiff_t;  // Py_ssize_t

// Elementwise losses: value (the reduced value), values (reduction "none": one per element) and
// grad, each NULL when not wanted.
template <class T>
using ValueAndGrad = int (*)(const losskit_loss* loss, Index n, const T* input, Index input_stride,
                             const T* target, Index target_stride, const T* sample_weight,
                             Index weight_stride, double* value, T* values, Index values_stride,
                             T* grad, Index grad_stride, int n_threads);
// Elementwise losses: the gradient and the curvature under a Hessian policy.
template <class T>
using GradHess = int (*)(const losskit_loss* loss, Index n, const T* input, Index input_stride,
                         const T* target, Index target_stride, const T* sample_weight,
                         Index weight_stride, T* grad, Index grad_stride, T* hess,
                         Index hess_stride, int hessian, int n_threads);
// Row-wise losses over (rows, classes) scores with integer labels: input and grad rows start
// row_stride elements apart (classes contiguous).
template <class T>
using RowwiseValueAndGrad = int (*)(const losskit_loss* loss, Index rows, Index classes,
                                    const T* input, Index input_row_stride,
                                    const std::int64_t* labels, Index label_stride,
                                    const T* sample_weight, Index weight_stride, double* value,
                                    T* grad, Index grad_row_stride, int n_threads);

struct Table {
  int (*loss_new)(const char* name, losskit_loss** out);
  void (*loss_free)(losskit_loss* loss);
  int (*loss_set)(losskit_loss* loss, const char* param, double value);
  int (*loss_set_choice)(losskit_loss* loss, const char* param, const char* choice);
  int (*loss_set_reduction)(losskit_loss* loss, int reduction);
  const char* (*last_error)();
  ValueAndGrad<float> value_and_grad_f32;
  ValueAndGrad<double> value_and_grad_f64;
  GradHess<float> grad_hess_f32;
  GradHess<double> grad_hess_f64;
  RowwiseValueAndGrad<float> rowwise_value_and_grad_f32;
  RowwiseValueAndGrad<double> rowwise_value_and_grad_f64;
};

inline constexpr const char* kCapsuleName = "losskit._core._cython_table";
const Table* table();

}  // namespace losskit::cython
