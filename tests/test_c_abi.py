"""The shared library (losskit.get_library()) loaded at run time through its C ABI, as Julia's
ccall, R's dyn.load or a Rust/Go FFI load it: here with ctypes. Values and gradients against
the NumPy references and the Python API, refusals with their status and message and nothing
written, clipping against the formula, and an optimizer against losskit.optim."""

from __future__ import annotations

import ctypes
import os

import numpy as np
import pytest

import losskit
import reference as ref

OK, INVALID_ARGUMENT, UNKNOWN_NAME, NOT_FINITE = 0, 1, 2, 3
REDUCTION = {"none": 0, "sum": 1, "mean": 2}
F64 = ctypes.POINTER(ctypes.c_double)


class Elementwise64(ctypes.Structure):
    """losskit_elementwise_f64"""

    _fields_ = [("size", ctypes.c_size_t), ("input", F64), ("target", F64), ("third", F64),
                ("fourth", F64), ("sample_weight", F64), ("values", F64), ("grad", F64),
                ("grad_third", F64), ("grad_fourth", F64), ("hess", F64),
                ("hessian", ctypes.c_int), ("batch_size", ctypes.c_size_t)]


@pytest.fixture(scope="module")
def lib():
    assert os.path.isfile(losskit.get_library())
    lib = ctypes.CDLL(losskit.get_library())
    lib.losskit_last_error.restype = ctypes.c_char_p
    lib.losskit_version.restype = ctypes.c_char_p
    lib.losskit_loss_set.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_double]
    lib.losskit_loss_new.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
    lib.losskit_loss_free.argtypes = [ctypes.c_void_p]
    lib.losskit_loss_set_reduction.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.losskit_evaluate_f64.argtypes = [ctypes.c_void_p, ctypes.POINTER(Elementwise64),
                                         ctypes.POINTER(ctypes.c_double)]
    lib.losskit_clip_grad_norm_f64.argtypes = [
        ctypes.POINTER(F64), ctypes.POINTER(ctypes.c_size_t), ctypes.c_size_t, ctypes.c_double,
        ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctypes.c_double)]
    lib.losskit_optimizer_new.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_size_t,
                                          ctypes.POINTER(ctypes.c_void_p)]
    lib.losskit_optimizer_free.argtypes = [ctypes.c_void_p]
    lib.losskit_optimizer_set.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_double]
    lib.losskit_optimizer_step_f64.argtypes = [ctypes.c_void_p, F64, F64, ctypes.c_size_t]
    return lib


def ptr(a: np.ndarray):
    return a.ctypes.data_as(F64)


def new_loss(lib, name: str, reduction: str, **params: float) -> ctypes.c_void_p:
    handle = ctypes.c_void_p()
    assert lib.losskit_loss_new(name.encode(), ctypes.byref(handle)) == OK
    for key, value in params.items():
        assert lib.losskit_loss_set(handle, key.encode(), value) == OK
    assert lib.losskit_loss_set_reduction(handle, REDUCTION[reduction]) == OK
    return handle


def test_version(lib):
    assert lib.losskit_version().decode() == losskit.__version__


@pytest.mark.parametrize("name,params", [("huber", {"delta": 0.5}), ("log_cosh", {}),
                                         ("quantile", {"quantile": 0.2})])
@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_value_and_grad_match_the_python_api(lib, name, params, reduction):
    rng = np.random.default_rng(3)
    x, y, w = rng.normal(size=(3, 1001))
    w = np.abs(w)
    handle = new_loss(lib, name, reduction, **params)
    grad = np.empty_like(x)
    call = Elementwise64(size=x.size, input=ptr(x), target=ptr(y), sample_weight=ptr(w),
                         grad=ptr(grad))
    value = ctypes.c_double()
    assert lib.losskit_evaluate_f64(handle, ctypes.byref(call), ctypes.byref(value)) == OK
    lib.losskit_loss_free(handle)
    v, g = losskit.get_loss(name, reduction=reduction, **params).value_and_grad(
        x, y, sample_weight=w)
    assert value.value == v
    np.testing.assert_array_equal(grad, g)
    terms = getattr(ref, f"{name}_value")(x, y, **params) * w
    expected = terms.sum() / (w.sum() if reduction == "mean" else 1)
    np.testing.assert_allclose(value.value, expected, rtol=1e-12)


def test_refusals_write_nothing(lib):
    handle = ctypes.c_void_p()
    assert lib.losskit_loss_new(b"hubert", ctypes.byref(handle)) == UNKNOWN_NAME
    assert b"hubert" in lib.losskit_last_error()
    handle = new_loss(lib, "huber", "none")
    assert lib.losskit_loss_set(handle, b"delta", -1.0) == INVALID_ARGUMENT
    assert lib.losskit_last_error() == b"delta must be positive and finite, got -1.0"
    x = np.arange(5.0)
    values = np.full(5, 7.0)
    short_target = np.zeros(5)
    call = Elementwise64(size=5, input=ptr(x), target=None, values=ptr(values))
    assert lib.losskit_evaluate_f64(handle, ctypes.byref(call), None) == INVALID_ARGUMENT
    assert b"target" in lib.losskit_last_error()
    call = Elementwise64(size=5, input=ptr(x), target=ptr(short_target), values=ptr(x))
    assert lib.losskit_evaluate_f64(handle, ctypes.byref(call), None) == OK  # in place
    np.testing.assert_array_equal(x, ref.huber_value(np.arange(5.0), 0.0))
    np.testing.assert_array_equal(values, 7.0)
    lib.losskit_loss_free(handle)


def test_clip_grad_norm_against_the_formula(lib):
    rng = np.random.default_rng(0)
    grads = [rng.normal(size=7), rng.normal(size=3)]
    expected_norm = np.sqrt(sum((g * g).sum() for g in grads))
    clipped = [g * (1.0 / (expected_norm + 1e-6)) for g in grads]
    arrays = (F64 * 2)(*(ptr(g) for g in grads))
    sizes = (ctypes.c_size_t * 2)(7, 3)
    norm = ctypes.c_double()
    assert lib.losskit_clip_grad_norm_f64(arrays, sizes, 2, 1.0, 2, 0, ctypes.byref(norm)) == OK
    np.testing.assert_allclose(norm.value, expected_norm, rtol=1e-14)
    for g, c in zip(grads, clipped):
        np.testing.assert_allclose(g, c, rtol=1e-15)
    before = [g.copy() for g in grads]
    grads[1][2] = np.inf
    before[1][2] = np.inf
    assert lib.losskit_clip_grad_norm_f64(arrays, sizes, 2, 1.0, 2, 1, None) == NOT_FINITE
    for g, b in zip(grads, before):
        np.testing.assert_array_equal(g, b)


def test_adam_matches_losskit_optim(lib):
    rng = np.random.default_rng(1)
    p = rng.normal(size=50)
    p_ref = p.copy()
    handle = ctypes.c_void_p()
    assert lib.losskit_optimizer_new(b"adam", 1, 50, ctypes.byref(handle)) == OK
    assert lib.losskit_optimizer_set(handle, b"lr", 0.01) == OK
    assert lib.losskit_optimizer_set(handle, b"beta1", 1.5) == INVALID_ARGUMENT
    assert b"beta1" in lib.losskit_last_error()
    adam = losskit.optim.Adam([p_ref], lr=0.01)
    for _ in range(5):
        g = rng.normal(size=50)
        assert lib.losskit_optimizer_step_f64(handle, ptr(p), ptr(g), 50) == OK
        adam.step([g])
    lib.losskit_optimizer_free(handle)
    np.testing.assert_array_equal(p, p_ref)
