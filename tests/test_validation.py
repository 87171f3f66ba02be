"""Bad input raises ValueError/TypeError whose message names the offending argument."""

from __future__ import annotations

import math

import numpy as np
import pytest

import losskit
from reference import args_of, roles_of

ERRORS = (ValueError, TypeError)


def _args(loss_case, n=5, dtype=np.float64):
    """The data arguments in call order."""
    rng = np.random.default_rng(0)
    d = loss_case.ref.sample(rng, loss_case.params, (n,))
    return [np.asarray(a).astype(dtype) for a in args_of(loss_case.ref, d)]


def _target(loss_case):
    """Where the target is in the call."""
    return roles_of(loss_case.ref).index("target")


METHODS = ["__call__", "grad", "value_and_grad"]


def _method(loss, name):
    return loss if name == "__call__" else getattr(loss, name)


# --------------------------------------------------------------------------------------
# data arguments
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
def test_shape_mismatch(default_loss_case, method):
    loss = default_loss_case.make("mean")
    args = _args(default_loss_case, 5)
    t = _target(default_loss_case)
    args[t] = args[t][:4]
    with pytest.raises(ValueError, match="target"):
        _method(loss, method)(*args)


def test_shape_mismatch_2d(default_loss_case):
    loss = default_loss_case.make("sum")
    args = [a.reshape(2, 3) for a in _args(default_loss_case, 6)]
    t = _target(default_loss_case)
    args[t] = args[t].T
    with pytest.raises(ValueError, match="target"):
        loss(*args)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("which", ["input", "target"])
def test_complex_dtype_rejected(default_loss_case, method, which):
    loss = default_loss_case.make("mean")
    args = _args(default_loss_case)
    i = 0 if which == "input" else _target(default_loss_case)
    args[i] = args[i].astype(np.complex128)
    with pytest.raises(TypeError, match=which):
        _method(loss, method)(*args)


@pytest.mark.parametrize("which", ["input", "target"])
@pytest.mark.parametrize("kind", ["object", "str"])
def test_object_and_string_dtype_rejected(default_loss_case, which, kind):
    loss = default_loss_case.make("sum")
    args = _args(default_loss_case, 3)
    i = 0 if which == "input" else _target(default_loss_case)
    args[i] = (np.array([1.0, None, 2.0], dtype=object) if kind == "object"
               else np.array(["a", "b", "c"]))
    with pytest.raises(TypeError, match=which):
        loss(*args)
    with pytest.raises(TypeError, match=which):
        loss.grad(*args)


# --------------------------------------------------------------------------------------
# out=
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["grad", "value_and_grad"])
def test_out_wrong_shape(default_loss_case, method):
    loss = default_loss_case.make("sum")
    args = _args(default_loss_case, 6)
    for bad in (np.empty(5), np.empty((6, 1)), np.empty((2, 3))):
        with pytest.raises(ValueError, match="out"):
            _method(loss, method)(*args, out=bad)


@pytest.mark.parametrize("method", ["grad", "value_and_grad"])
def test_out_wrong_dtype(default_loss_case, method):
    loss = default_loss_case.make("sum")
    args = _args(default_loss_case, 6, np.float64)
    for bad in (np.empty(6, dtype=np.float32), np.empty(6, dtype=np.int64)):
        with pytest.raises(ERRORS, match="out"):
            _method(loss, method)(*args, out=bad)
    args32 = _args(default_loss_case, 6, np.float32)
    with pytest.raises(ERRORS, match="out"):
        _method(loss, method)(*args32, out=np.empty(6))


@pytest.mark.parametrize("method", ["grad", "value_and_grad"])
def test_out_read_only(default_loss_case, method):
    loss = default_loss_case.make("sum")
    args = _args(default_loss_case, 6)
    buf = np.zeros(6)
    buf.setflags(write=False)
    with pytest.raises(ValueError, match="out"):
        _method(loss, method)(*args, out=buf)
    np.testing.assert_array_equal(buf, 0.0)


def test_out_on_call_with_reduction_is_rejected(default_loss_case):
    args = _args(default_loss_case, 6)
    for reduction in ("sum", "mean"):
        loss = default_loss_case.make(reduction)
        with pytest.raises(ValueError, match="out"):
            loss(*args, out=np.empty(6))
    # and accepted with "none" (positive control)
    loss = default_loss_case.make("none")
    buf = np.empty(6)
    assert loss(*args, out=buf) is buf


def test_out_on_call_wrong_shape(default_loss_case):
    loss = default_loss_case.make("none")
    with pytest.raises(ValueError, match="out"):
        loss(*_args(default_loss_case, 6), out=np.empty(7))


# --------------------------------------------------------------------------------------
# sample_weight
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
def test_negative_sample_weight(default_loss_case, method):
    loss = default_loss_case.make("mean")
    args = _args(default_loss_case, 5)
    w = np.array([1.0, 0.5, -0.1, 2.0, 0.0])
    with pytest.raises(ValueError, match="sample_weight"):
        _method(loss, method)(*args, sample_weight=w)


@pytest.mark.parametrize("method", METHODS)
def test_sample_weight_wrong_shape(default_loss_case, method):
    loss = default_loss_case.make("sum")
    args = _args(default_loss_case, 6)
    for bad in (np.ones(5), np.ones(7), np.ones((6, 2))):
        with pytest.raises(ValueError, match="sample_weight"):
            _method(loss, method)(*args, sample_weight=bad)
    # 2-D input: (N,) and (N, D) are fine, (D,) and (N+1,) are not
    args2 = [a.reshape(2, 3) for a in args]
    loss(*args2, sample_weight=np.ones(2))
    loss(*args2, sample_weight=np.ones((2, 3)))
    for bad in (np.ones(3), np.ones(4)):
        with pytest.raises(ValueError, match="sample_weight"):
            _method(loss, method)(*args2, sample_weight=bad)


def test_complex_sample_weight(default_loss_case):
    loss = default_loss_case.make("sum")
    args = _args(default_loss_case, 4)
    with pytest.raises(TypeError, match="sample_weight"):
        loss(*args, sample_weight=np.ones(4, dtype=np.complex128))


# --------------------------------------------------------------------------------------
# constructors and reduction
# --------------------------------------------------------------------------------------
BAD_PARAMS = [
    ("HuberLoss", {"delta": -1.0}, "delta"),
    ("HuberLoss", {"delta": 0.0}, "delta"),
    ("HuberLoss", {"delta": math.nan}, "delta"),
    ("SmoothL1Loss", {"beta": -1.0}, "beta"),
    ("SmoothL1Loss", {"beta": math.nan}, "beta"),
    ("PseudoHuberLoss", {"delta": 0.0}, "delta"),
    ("PseudoHuberLoss", {"delta": -2.0}, "delta"),
    ("QuantileLoss", {"quantile": 0.0}, "quantile"),
    ("QuantileLoss", {"quantile": 1.0}, "quantile"),
    ("QuantileLoss", {"quantile": 1.5}, "quantile"),
    ("QuantileLoss", {"quantile": -0.2}, "quantile"),
    ("EpsilonInsensitiveLoss", {"epsilon": -0.1}, "epsilon"),
    ("GaussianNLLLoss", {"eps": 0.0}, "eps"),
    ("GaussianNLLLoss", {"eps": -1e-6}, "eps"),
    ("GaussianNLLLoss", {"param": "bogus"}, "param"),
    ("PoissonNLLLoss", {"eps": -1e-8}, "eps"),
]


@pytest.mark.parametrize("cls,params,argname", BAD_PARAMS,
                         ids=[f"{c}-{p}" for c, p, _ in BAD_PARAMS])
def test_invalid_constructor_parameters(cls, params, argname):
    with pytest.raises(ValueError, match=argname):
        getattr(losskit, cls)(**params)


@pytest.mark.parametrize("cls,params", [
    ("HuberLoss", {"delta": 1e-3}), ("SmoothL1Loss", {"beta": 0.0}), ("QuantileLoss", {"quantile": 0.01}),
    ("EpsilonInsensitiveLoss", {"epsilon": 0.0}), ("PoissonNLLLoss", {"eps": 0.0}),
    ("GaussianNLLLoss", {"param": "precision"}),
])
def test_boundary_parameters_accepted(cls, params):
    loss = getattr(losskit, cls)(**params)
    for k, v in params.items():
        assert loss.params[k] == v


@pytest.mark.parametrize("reduction", ["avg", "MEAN", "", None, "batchmean_typo"])
def test_unknown_reduction(default_loss_case, reduction):
    cls = getattr(losskit, default_loss_case.ref.cls_name)
    with pytest.raises(ERRORS, match="reduction"):
        cls(reduction=reduction)


def test_get_loss_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="nope") as info:
        losskit.get_loss("nope")
    msg = str(info.value)
    for name in losskit.available_losses():
        assert name in msg, f"valid name {name!r} missing from the error message: {msg}"


def test_get_loss_invalid_parameter_name():
    with pytest.raises(TypeError, match="bogus"):
        losskit.get_loss("huber", bogus=1.0)


# --------------------------------------------------------------------------------------
# gaussian_nll third argument
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("param", ["var", "precision"])
@pytest.mark.parametrize("method", METHODS + ["value_and_grads"])
def test_gaussian_negative_var(param, method):
    loss = losskit.GaussianNLLLoss(param=param)
    x = np.zeros(4)
    var = np.array([1.0, 0.5, -0.25, 2.0])
    with pytest.raises(ValueError, match="var" if param == "var" else "var|precision|beta"):
        _method(loss, method)(x, x, var)


@pytest.mark.parametrize("shape", [(5, 2), (3,), (4, 1, 1)])
def test_gaussian_var_wrong_shape(shape):
    loss = losskit.GaussianNLLLoss()
    x = np.zeros((5, 3))
    with pytest.raises(ValueError, match="var"):
        loss(x, x, np.ones(shape))


def test_gaussian_value_and_grads_out_pair():
    loss = losskit.GaussianNLLLoss(reduction="sum")
    x = np.zeros((5, 3))
    var = np.ones((5, 1))
    with pytest.raises(ValueError, match="out"):
        loss.value_and_grads(x, x, var, out=(np.empty((5, 3)), np.empty((5, 3))))
    gx, gv = np.empty((5, 3)), np.empty((5, 1))
    _, a, b = loss.value_and_grads(x, x, var, out=(gx, gv))
    assert a is gx and b is gv


def test_gaussian_missing_var_is_an_error():
    loss = losskit.GaussianNLLLoss()
    with pytest.raises(TypeError):
        loss(np.zeros(3), np.zeros(3))
