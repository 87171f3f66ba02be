# distutils: language = c++
# cython: language_level=3, boundscheck=False, wraparound=False
"""A consumer of losskit's Cython API, built by tests/test_cython.py: per-sample SGD with the
per-point functions, per-point values over arrays, and the array kernels with their errors."""
import numpy as np

from libc.stdint cimport int64_t

from losskit.kernels cimport (
    HESSIAN_EXACT, Loss, last_error, loss_free, loss_new, loss_set, loss_set_reduction,
    grad_hess_f32, grad_hess_f64, rowwise_value_and_grad_f64, value_and_grad_f64)
from losskit.point cimport (
    BarronGradients, GradHess, ValueGrad, barron_value_gradients, huber_gradient,
    huber_gradient_hessian, huber_gradient_irls, huber_value, huber_value_gradient,
    gaussian_nll_value_gradients, GaussianNLLGradients)


def sgd_huber(double[:, ::1] X, double[::1] y, double delta, double lr, int epochs):
    """Per-sample SGD on the Huber loss of a linear model; returns (w, summed losses)."""
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], i, j
    cdef double[::1] w = np.zeros(d)
    cdef double pred, total = 0
    cdef ValueGrad[double] vg
    with nogil:
        for _ in range(epochs):
            for i in range(n):
                pred = 0
                for j in range(d):
                    pred += X[i, j] * w[j]
                vg = huber_value_gradient(pred, y[i], delta)
                total += vg.value
                for j in range(d):
                    w[j] -= lr * vg.gradient * X[i, j]
    return np.asarray(w), total


def sgd_barron(double[:, ::1] X, double[::1] y, double alpha, double scale, double lr,
               int epochs):
    """Per-sample SGD on Barron's loss, alpha and scale learnt with w (scale kept >= 0.05)."""
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], i, j
    cdef double[::1] w = np.zeros(d)
    cdef double pred
    cdef BarronGradients[double] r
    with nogil:
        for _ in range(epochs):
            for i in range(n):
                pred = 0
                for j in range(d):
                    pred += X[i, j] * w[j]
                r = barron_value_gradients(pred, y[i], alpha, scale)
                for j in range(d):
                    w[j] -= lr * r.gradient * X[i, j]
                alpha -= lr * r.gradient_alpha
                scale = max(0.05, scale - lr * r.gradient_scale)
    return np.asarray(w), alpha, scale


def huber_points(double[::1] x, double[::1] y, double delta):
    """value, gradient, both, exact hessian and irls curvature at every point."""
    cdef Py_ssize_t n = x.shape[0], i
    out = np.empty((6, n))
    cdef double[:, ::1] o = out
    cdef ValueGrad[double] vg
    cdef GradHess[double] gh
    for i in range(n):
        o[0, i] = huber_value(x[i], y[i], delta)
        o[1, i] = huber_gradient(x[i], y[i], delta)
        vg = huber_value_gradient(x[i], y[i], delta)
        o[2, i] = vg.value - o[0, i] + vg.gradient - o[1, i]  # 0: the fused pair agrees
        gh = huber_gradient_hessian(x[i], y[i], delta)
        o[3, i] = gh.hessian
        o[4, i] = huber_gradient_irls(x[i], y[i], delta).hessian
        o[5, i] = gh.gradient
    return out


def huber_points_f32(float[::1] x, float[::1] y, double delta):
    cdef Py_ssize_t n = x.shape[0], i
    out = np.empty(n, dtype=np.float32)
    cdef float[::1] o = out
    for i in range(n):
        o[i] = huber_gradient(x[i], y[i], delta)
    return out


def barron_points(double[::1] x, double[::1] y, double alpha, double scale):
    cdef Py_ssize_t n = x.shape[0], i
    out = np.empty((4, n))
    cdef double[:, ::1] o = out
    cdef BarronGradients[double] r
    for i in range(n):
        r = barron_value_gradients(x[i], y[i], alpha, scale)
        o[0, i] = r.value
        o[1, i] = r.gradient
        o[2, i] = r.gradient_alpha
        o[3, i] = r.gradient_scale
    return out


def gaussian_nll_points(double[::1] x, double[::1] y, double[::1] var):
    cdef Py_ssize_t n = x.shape[0], i
    out = np.empty((3, n))
    cdef double[:, ::1] o = out
    cdef GaussianNLLGradients[double] r
    for i in range(n):
        r = gaussian_nll_value_gradients(x[i], y[i], var[i])
        o[0, i] = r.value
        o[1, i] = r.gradient
        o[2, i] = r.gradient_var
    return out


cdef Loss* make(bytes name, dict params, int reduction) except NULL:
    cdef Loss* loss = NULL
    if loss_new(name, &loss) != 0:
        raise ValueError(last_error().decode())
    for key, value in params.items():
        if loss_set(loss, key, value) != 0:
            message = last_error().decode()
            loss_free(loss)
            raise ValueError(message)
    if loss_set_reduction(loss, reduction) != 0:
        loss_free(loss)
        raise ValueError(last_error().decode())
    return loss


def value_and_grad(bytes name, dict params, int reduction, double[:] x, double[:] y,
                   w, double[:] grad, int n_threads):
    """The array kernel over (possibly strided) views; returns the reduced value."""
    cdef Loss* loss = make(name, params, reduction)
    cdef double value = 0
    cdef double[:] wv
    cdef const double* wp = NULL
    cdef Py_ssize_t ws = 0
    if w is not None:
        wv = w
        wp = &wv[0]
        ws = wv.strides[0] // 8
    cdef int status
    with nogil:
        status = value_and_grad_f64(loss, x.shape[0], &x[0], x.strides[0] // 8, &y[0],
                                    y.strides[0] // 8, wp, ws, &value, NULL, 1, &grad[0],
                                    grad.strides[0] // 8, n_threads)
    loss_free(loss)
    if status != 0:
        raise ValueError(last_error().decode())
    return value


def grad_hess(bytes name, float[:] x, float[:] y, float[:] grad, float[:] hess):
    cdef Loss* loss = make(name, {}, 1)
    cdef int status = grad_hess_f32(loss, x.shape[0], &x[0], x.strides[0] // 4, &y[0],
                                    y.strides[0] // 4, NULL, 0, &grad[0], grad.strides[0] // 4,
                                    &hess[0], hess.strides[0] // 4, HESSIAN_EXACT, 0)
    loss_free(loss)
    if status != 0:
        raise ValueError(last_error().decode())


def rowwise(bytes name, int reduction, double[:, ::1] scores, Py_ssize_t classes,
            int64_t[:] labels, double[:, ::1] grad):
    """Row-wise kernel over the first `classes` columns of each row of scores."""
    cdef Loss* loss = make(name, {}, reduction)
    cdef double value = 0
    cdef int status = rowwise_value_and_grad_f64(
        loss, scores.shape[0], classes, &scores[0, 0], scores.shape[1], &labels[0],
        labels.strides[0] // 8, NULL, 0, &value, &grad[0, 0], grad.shape[1], 1)
    loss_free(loss)
    if status != 0:
        raise ValueError(last_error().decode())
    return value


cdef tuple entry(int status, const double* g):
    return status, last_error().decode(), all(g[k] == -7 for k in range(4))


def bad_calls():
    """(status, message, grad untouched) of each bad call to the array kernels."""
    cdef double x[4]
    cdef double y[4]
    cdef double g[4]
    cdef double w[4]
    cdef double value = 0
    cdef int64_t labels[2]
    cdef Loss* loss = NULL
    cdef Loss* ce = NULL
    cdef Loss* unknown = NULL
    for i in range(4):
        x[i] = i
        y[i] = 0
        g[i] = -7
        w[i] = 1
    w[2] = -1
    labels[0] = 0
    labels[1] = 2  # two classes: out of range
    loss_new(b"huber", &loss)
    loss_new(b"cross_entropy", &ce)
    cdef double h[4]
    results = {}
    results["null input"] = entry(value_and_grad_f64(loss, 4, NULL, 1, y, 1, NULL, 0, &value, NULL, 1, g, 1, 0), g)
    results["null target"] = entry(value_and_grad_f64(loss, 4, x, 1, NULL, 1, NULL, 0, &value, NULL, 1, g, 1, 0), g)
    results["negative n"] = entry(value_and_grad_f64(loss, -1, x, 1, y, 1, NULL, 0, &value, NULL, 1, g, 1, 0), g)
    results["negative stride"] = entry(value_and_grad_f64(loss, 4, x, -1, y, 1, NULL, 0, &value, NULL, 1, g, 1, 0), g)
    results["zero output stride"] = entry(value_and_grad_f64(loss, 4, x, 1, y, 1, NULL, 0, &value, NULL, 1, g, 0, 0), g)
    results["negative weight"] = entry(value_and_grad_f64(loss, 4, x, 1, y, 1, w, 1, &value, NULL, 1, g, 1, 0), g)
    results["negative n_threads"] = entry(value_and_grad_f64(loss, 4, x, 1, y, 1, NULL, 0, &value, NULL, 1, g, 1, -2), g)
    results["null loss"] = entry(value_and_grad_f64(NULL, 4, x, 1, y, 1, NULL, 0, &value, NULL, 1, g, 1, 0), g)
    results["row-wise loss"] = entry(value_and_grad_f64(ce, 4, x, 1, y, 1, NULL, 0, &value, NULL, 1, g, 1, 0), g)
    results["label out of range"] = entry(rowwise_value_and_grad_f64(ce, 2, 2, x, 2, labels, 1, NULL, 0, &value, g, 2, 0), g)
    results["row stride below classes"] = entry(rowwise_value_and_grad_f64(ce, 2, 2, x, 1, labels, 1, NULL, 0, &value, g, 2, 0), g)
    results["hessian policy"] = entry(grad_hess_f64(loss, 4, x, 1, y, 1, NULL, 0, g, 1, h, 1, 7, 0), g)
    results["invalid parameter"] = entry(loss_set(loss, b"delta", -1.0), g)
    results["unknown parameter"] = entry(loss_set(loss, b"beta", 1.0), g)
    results["invalid reduction"] = entry(loss_set_reduction(loss, 9), g)
    results["unknown loss"] = entry(loss_new(b"no_such_loss", &unknown), g)
    loss_free(loss)
    loss_free(ce)
    return results
