# losskit's array kernels for Cython: ``from losskit.kernels cimport ...``. They are exported
# through Cython's capsules (the module's ``__pyx_capi__``), so a consumer links nothing; its
# build needs ``include_dirs=[losskit.get_include()]`` for ``losskit/losskit.h``'s types.
#
# Every function is ``noexcept nogil`` and returns a status: OK (0), or an error code with
# ``last_error()`` (this thread's message, naming the argument and the offending value). A
# failing call writes nothing. Sizes and strides are in elements; a null pointer with a
# nonzero size, a negative size, a negative input stride or an output stride below 1 (row
# strides below ``classes``), an unknown loss or parameter, a parameter outside its domain,
# a label outside [0, classes) and a negative sample weight are errors, never a crash.
# ``n_threads``: threads for this call (>= 1), or 0 for losskit's setting
# (``losskit.set_num_threads``). Results are bitwise identical for any thread count.
from libc.stdint cimport int64_t

cdef extern from "losskit/losskit.h" nogil:
    ctypedef struct losskit_loss:
        pass
    # status codes
    enum:
        OK "LOSSKIT_OK"
        INVALID_ARGUMENT "LOSSKIT_INVALID_ARGUMENT"
        UNKNOWN_NAME "LOSSKIT_UNKNOWN_NAME"
        OUT_OF_MEMORY "LOSSKIT_OUT_OF_MEMORY"
        INTERNAL_ERROR "LOSSKIT_INTERNAL_ERROR"
    # reductions (loss_set_reduction)
    enum:
        REDUCTION_NONE "LOSSKIT_REDUCTION_NONE"
        REDUCTION_SUM "LOSSKIT_REDUCTION_SUM"
        REDUCTION_MEAN "LOSSKIT_REDUCTION_MEAN"
        REDUCTION_BATCHMEAN "LOSSKIT_REDUCTION_BATCHMEAN"
    # Hessian policies (grad_hess_*)
    enum:
        HESSIAN_EXACT "LOSSKIT_HESSIAN_EXACT"
        HESSIAN_IRLS "LOSSKIT_HESSIAN_IRLS"
        HESSIAN_POSITIVE "LOSSKIT_HESSIAN_POSITIVE"

# A loss by registry name with its parameters and reduction (the defaults until set): made
# once, used from any number of threads at once, freed with loss_free.
ctypedef losskit_loss Loss

cdef int loss_new(const char* name, Loss** out) noexcept nogil
cdef void loss_free(Loss* loss) noexcept nogil
# A real, integer or boolean (0/1) parameter, checked against its domain.
cdef int loss_set(Loss* loss, const char* param, double value) noexcept nogil
# A choice parameter by name (gaussian_nll's param: b"var" or b"precision").
cdef int loss_set_choice(Loss* loss, const char* param, const char* choice) noexcept nogil
cdef int loss_set_reduction(Loss* loss, int reduction) noexcept nogil
cdef const char* last_error() noexcept nogil

# Elementwise losses of (input, target) over n elements. value (NULL: not computed): the
# reduced value; with reduction "none" the per-element values go to values (NULL: not
# computed). grad (NULL: not computed): the gradient of the reduced value. sample_weight
# NULL: unit weights. Input strides may be 0 (one element repeated).
cdef int value_and_grad_f64(
    const Loss* loss, Py_ssize_t n,
    const double* input, Py_ssize_t input_stride,
    const double* target, Py_ssize_t target_stride,
    const double* sample_weight, Py_ssize_t weight_stride,
    double* value, double* values, Py_ssize_t values_stride,
    double* grad, Py_ssize_t grad_stride, int n_threads) noexcept nogil
cdef int value_and_grad_f32(
    const Loss* loss, Py_ssize_t n,
    const float* input, Py_ssize_t input_stride,
    const float* target, Py_ssize_t target_stride,
    const float* sample_weight, Py_ssize_t weight_stride,
    double* value, float* values, Py_ssize_t values_stride,
    float* grad, Py_ssize_t grad_stride, int n_threads) noexcept nogil

# The gradient and the curvature (HESSIAN_EXACT, HESSIAN_IRLS or HESSIAN_POSITIVE, where the
# loss offers it), both scaled by the reduction; grad and hess are required.
cdef int grad_hess_f64(
    const Loss* loss, Py_ssize_t n,
    const double* input, Py_ssize_t input_stride,
    const double* target, Py_ssize_t target_stride,
    const double* sample_weight, Py_ssize_t weight_stride,
    double* grad, Py_ssize_t grad_stride,
    double* hess, Py_ssize_t hess_stride, int hessian, int n_threads) noexcept nogil
cdef int grad_hess_f32(
    const Loss* loss, Py_ssize_t n,
    const float* input, Py_ssize_t input_stride,
    const float* target, Py_ssize_t target_stride,
    const float* sample_weight, Py_ssize_t weight_stride,
    float* grad, Py_ssize_t grad_stride,
    float* hess, Py_ssize_t hess_stride, int hessian, int n_threads) noexcept nogil

# Row-wise losses (cross_entropy, nll, multi_margin, ...) over (rows, classes) scores with one
# integer label per row: row r of input starts at input + r * input_row_stride (its classes
# contiguous), likewise grad. value and grad may be NULL (not computed).
cdef int rowwise_value_and_grad_f64(
    const Loss* loss, Py_ssize_t rows, Py_ssize_t classes,
    const double* input, Py_ssize_t input_row_stride,
    const int64_t* labels, Py_ssize_t label_stride,
    const double* sample_weight, Py_ssize_t weight_stride,
    double* value, double* grad, Py_ssize_t grad_row_stride, int n_threads) noexcept nogil
cdef int rowwise_value_and_grad_f32(
    const Loss* loss, Py_ssize_t rows, Py_ssize_t classes,
    const float* input, Py_ssize_t input_row_stride,
    const int64_t* labels, Py_ssize_t label_stride,
    const float* sample_weight, Py_ssize_t weight_stride,
    double* value, float* grad, Py_ssize_t grad_row_stride, int n_threads) noexcept nogil
