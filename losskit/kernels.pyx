# cython: language_level=3
"""losskit's array kernels for Cython code (``from losskit.kernels cimport ...``).

Nothing here is for Python: ``losskit/kernels.pxd`` declares the functions, which other Cython
modules call without the GIL and without linking (Cython's ``__pyx_capi__`` capsules). They
run the kernels of ``losskit._core`` (one library, one thread setting and instruction set)
through the table it exports.
"""
from cpython.pycapsule cimport PyCapsule_GetPointer
from libc.stdint cimport int64_t

from . import _core

cdef extern from "cython_table.hpp" namespace "losskit::cython" nogil:
    const char* kCapsuleName
    ctypedef struct Table:
        int (*loss_new)(const char*, losskit_loss**) noexcept nogil
        void (*loss_free)(losskit_loss*) noexcept nogil
        int (*loss_set)(losskit_loss*, const char*, double) noexcept nogil
        int (*loss_set_choice)(losskit_loss*, const char*, const char*) noexcept nogil
        int (*loss_set_reduction)(losskit_loss*, int) noexcept nogil
        const char* (*last_error)() noexcept nogil
        int (*value_and_grad_f32)(const losskit_loss*, Py_ssize_t, const float*, Py_ssize_t,
                                  const float*, Py_ssize_t, const float*, Py_ssize_t, double*,
                                  float*, Py_ssize_t, float*, Py_ssize_t, int) noexcept nogil
        int (*value_and_grad_f64)(const losskit_loss*, Py_ssize_t, const double*, Py_ssize_t,
                                  const double*, Py_ssize_t, const double*, Py_ssize_t, double*,
                                  double*, Py_ssize_t, double*, Py_ssize_t, int) noexcept nogil
        int (*grad_hess_f32)(const losskit_loss*, Py_ssize_t, const float*, Py_ssize_t,
                             const float*, Py_ssize_t, const float*, Py_ssize_t, float*,
                             Py_ssize_t, float*, Py_ssize_t, int, int) noexcept nogil
        int (*grad_hess_f64)(const losskit_loss*, Py_ssize_t, const double*, Py_ssize_t,
                             const double*, Py_ssize_t, const double*, Py_ssize_t, double*,
                             Py_ssize_t, double*, Py_ssize_t, int, int) noexcept nogil
        int (*rowwise_value_and_grad_f32)(const losskit_loss*, Py_ssize_t, Py_ssize_t,
                                          const float*, Py_ssize_t, const int64_t*, Py_ssize_t,
                                          const float*, Py_ssize_t, double*, float*, Py_ssize_t,
                                          int) noexcept nogil
        int (*rowwise_value_and_grad_f64)(const losskit_loss*, Py_ssize_t, Py_ssize_t,
                                          const double*, Py_ssize_t, const int64_t*, Py_ssize_t,
                                          const double*, Py_ssize_t, double*, double*,
                                          Py_ssize_t, int) noexcept nogil

cdef const Table* table = <const Table*>PyCapsule_GetPointer(_core._cython_table, kCapsuleName)


cdef int loss_new(const char* name, Loss** out) noexcept nogil:
    return table.loss_new(name, out)

cdef void loss_free(Loss* loss) noexcept nogil:
    table.loss_free(loss)

cdef int loss_set(Loss* loss, const char* param, double value) noexcept nogil:
    return table.loss_set(loss, param, value)

cdef int loss_set_choice(Loss* loss, const char* param, const char* choice) noexcept nogil:
    return table.loss_set_choice(loss, param, choice)

cdef int loss_set_reduction(Loss* loss, int reduction) noexcept nogil:
    return table.loss_set_reduction(loss, reduction)

cdef const char* last_error() noexcept nogil:
    return table.last_error()

cdef int value_and_grad_f64(
        const Loss* loss, Py_ssize_t n, const double* input, Py_ssize_t input_stride,
        const double* target, Py_ssize_t target_stride, const double* sample_weight,
        Py_ssize_t weight_stride, double* value, double* values, Py_ssize_t values_stride,
        double* grad, Py_ssize_t grad_stride, int n_threads) noexcept nogil:
    return table.value_and_grad_f64(loss, n, input, input_stride, target, target_stride,
                                    sample_weight, weight_stride, value, values, values_stride,
                                    grad, grad_stride, n_threads)

cdef int value_and_grad_f32(
        const Loss* loss, Py_ssize_t n, const float* input, Py_ssize_t input_stride,
        const float* target, Py_ssize_t target_stride, const float* sample_weight,
        Py_ssize_t weight_stride, double* value, float* values, Py_ssize_t values_stride,
        float* grad, Py_ssize_t grad_stride, int n_threads) noexcept nogil:
    return table.value_and_grad_f32(loss, n, input, input_stride, target, target_stride,
                                    sample_weight, weight_stride, value, values, values_stride,
                                    grad, grad_stride, n_threads)

cdef int grad_hess_f64(
        const Loss* loss, Py_ssize_t n, const double* input, Py_ssize_t input_stride,
        const double* target, Py_ssize_t target_stride, const double* sample_weight,
        Py_ssize_t weight_stride, double* grad, Py_ssize_t grad_stride, double* hess,
        Py_ssize_t hess_stride, int hessian, int n_threads) noexcept nogil:
    return table.grad_hess_f64(loss, n, input, input_stride, target, target_stride,
                               sample_weight, weight_stride, grad, grad_stride, hess,
                               hess_stride, hessian, n_threads)

cdef int grad_hess_f32(
        const Loss* loss, Py_ssize_t n, const float* input, Py_ssize_t input_stride,
        const float* target, Py_ssize_t target_stride, const float* sample_weight,
        Py_ssize_t weight_stride, float* grad, Py_ssize_t grad_stride, float* hess,
        Py_ssize_t hess_stride, int hessian, int n_threads) noexcept nogil:
    return table.grad_hess_f32(loss, n, input, input_stride, target, target_stride,
                               sample_weight, weight_stride, grad, grad_stride, hess,
                               hess_stride, hessian, n_threads)

cdef int rowwise_value_and_grad_f64(
        const Loss* loss, Py_ssize_t rows, Py_ssize_t classes, const double* input,
        Py_ssize_t input_row_stride, const int64_t* labels, Py_ssize_t label_stride,
        const double* sample_weight, Py_ssize_t weight_stride, double* value, double* grad,
        Py_ssize_t grad_row_stride, int n_threads) noexcept nogil:
    return table.rowwise_value_and_grad_f64(loss, rows, classes, input, input_row_stride,
                                            labels, label_stride, sample_weight, weight_stride,
                                            value, grad, grad_row_stride, n_threads)

cdef int rowwise_value_and_grad_f32(
        const Loss* loss, Py_ssize_t rows, Py_ssize_t classes, const float* input,
        Py_ssize_t input_row_stride, const int64_t* labels, Py_ssize_t label_stride,
        const float* sample_weight, Py_ssize_t weight_stride, double* value, float* grad,
        Py_ssize_t grad_row_stride, int n_threads) noexcept nogil:
    return table.rowwise_value_and_grad_f32(loss, rows, classes, input, input_row_stride,
                                            labels, label_stride, sample_weight, weight_stride,
                                            value, grad, grad_row_stride, n_threads)
