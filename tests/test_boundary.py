"""The rules of the Python/C++ boundary, over every loss made from a definition (parametrised
from the definitions, not by hand lists): ``out`` may share memory with anything (the result is
what fresh copies give, or ValueError naming out); nothing is written before every check has
passed; parameters are attributes that take effect when assigned or refuse; any byte order and
ndarray subclasses work; only ValueError/TypeError reach the user.

The reference of each call is the same call on fresh, independent copies of its arguments."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import losskit
from losskit import _base, _catalog

DEFINED = sorted(name for name, d in _base.DEFINITIONS.items() if d["class_name"])
ELEMENTWISE = [n for n in DEFINED if _base.DEFINITIONS[n]["family"] == "elementwise"]
ROWWISE = [n for n in DEFINED if _base.DEFINITIONS[n]["family"] == "rowwise"]
DTYPES = [np.float32, np.float64]


def make(name, reduction="mean", **params):
    return losskit.get_loss(name, reduction=reduction, **params)


def arguments(name, dtype, n=12, seed=0):
    """Valid (input, *rest) of a loss (labels stay int64), freshly allocated."""
    loss = make(name)
    data = _catalog.sample(name, loss, np.random.default_rng(seed), n=n, c=5)
    cast = [np.ascontiguousarray(a, dtype=dtype) if a.dtype.kind == "f" else a.copy()
            for a in (data["x"], *data["args"])]
    return cast


def fresh(args):
    return [a.copy() for a in args]


def grad_call(loss, args, **kw):
    return loss.grad(*args, **kw)


def same(a, b):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


# ---- out= sharing memory with an argument ----------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", DEFINED)
def test_out_aliasing_an_argument_gives_the_fresh_copies_result(name, dtype):
    loss = make(name, "sum")
    for position in range(len(arguments(name, dtype))):
        args = arguments(name, dtype)
        if args[position].dtype != dtype or args[position].shape != args[0].shape:
            continue
        expected = loss.value_and_grad(*fresh(args))
        out = args[position]  # exact alias: out is this argument
        value, grad = loss.value_and_grad(*args, out=out)
        assert grad is out
        same(value, expected[0])
        same(grad, expected[1])


@pytest.mark.parametrize("name", DEFINED)
def test_out_partially_overlapping_an_argument(name):
    args = arguments(name, np.float64, n=13)
    expected = make(name, "sum").grad(*fresh(args))
    shape = args[0].shape
    # a buffer whose first element sits on the input's second element (a shifted overlap)
    backing = np.zeros(args[0].size + 1)
    backing[: args[0].size] = args[0].ravel()
    args[0] = backing[: args[0].size].reshape(shape)
    out = backing[1:].reshape(shape)
    got = make(name, "sum").grad(*args, out=out)
    assert got is out
    same(out, expected)


@pytest.mark.parametrize("name", DEFINED)
def test_out_over_the_bytes_of_another_dtype(name):
    """out as float64 over the bytes of an argument of another dtype (int64 labels, a float32
    input): the fresh copies' result, never a crash."""
    args = arguments(name, np.float32)
    expected = make(name, "sum").grad(*fresh(args)).astype(np.float32)
    for position, a in enumerate(args):
        trial = fresh(args)
        raw = np.zeros(max(a.nbytes, expected.nbytes) + 8, dtype=np.uint8)
        view = raw[: trial[position].nbytes].view(trial[position].dtype).reshape(a.shape)
        view[...] = trial[position]
        trial[position] = view
        out = raw[: expected.nbytes].view(np.float32).reshape(expected.shape)
        got = make(name, "sum").grad(*trial, out=out)
        assert got is out
        same(out, expected)


@pytest.mark.parametrize("name", ["gaussian_nll", "barron"])
def test_output_buffers_sharing_memory_are_refused(name):
    args = arguments(name, np.float64)
    loss = make(name, "sum")
    count = 3 if name == "barron" else 2
    buf = np.zeros_like(args[0])
    before = [a.copy() for a in args]
    with pytest.raises(ValueError, match="out"):
        loss.value_and_grads(*args, out=(buf,) * count)
    assert not buf.any()
    for a, b in zip(args, before):
        same(a, b)


# ---- nothing is written before every check has passed ----------------------------------------
@pytest.mark.parametrize("reduction", ["sum", "none", "mean"])
@pytest.mark.parametrize("name", DEFINED)
def test_negative_weight_writes_nothing(name, reduction):
    if reduction not in _base.DEFINITIONS[name]["reductions"]:
        pytest.skip("reduction not offered")
    args = arguments(name, np.float64)
    n = args[0].shape[0]
    w = np.ones(n)
    w[-1] = -1.0
    out = np.full(args[0].shape, 7.0)
    before = [a.copy() for a in args]
    with pytest.raises(ValueError, match=r"sample_weight.*-1"):
        make(name, reduction).value_and_grad(*args, sample_weight=w, out=out)
    assert (out == 7.0).all()
    for a, b in zip(args, before):
        same(a, b)


@pytest.mark.parametrize("name", [n for n in ELEMENTWISE
                                  if _base.DEFINITIONS[n]["input_domain"] != [-np.inf, np.inf, False, False]
                                  and tuple(_base.DEFINITIONS[n]["input_domain"]) != (-np.inf, np.inf, False, False)])
def test_input_outside_its_domain_writes_nothing(name):
    args = arguments(name, np.float64)
    low = _base.DEFINITIONS[name]["input_domain"][0]
    args[0][-1] = low - 0.5
    out = args[0]  # aliasing the input: the message must report the value as given
    before = args[0].copy()
    with pytest.raises(ValueError, match=r"input.*-0\.5"):
        make(name, "sum").grad(*args, out=out)
    same(args[0], before)


def test_third_argument_outside_its_domain_writes_nothing():
    x, t, var = arguments("gaussian_nll", np.float64)
    var[3] = -2.0
    out = np.full_like(x, 5.0)
    with pytest.raises(ValueError, match=r"var.*-2"):
        make("gaussian_nll", "sum").value_and_grad(x, t, var, out=out)
    assert (out == 5.0).all() and var[3] == -2.0


# ---- parameters are attributes ----------------------------------------------------------------
def _other_value(p):
    kind = p["kind"]
    if kind == "boolean":
        return not p["default"]
    if kind == "choice":
        return p["choices"][-1]
    if kind == "class_weight":
        return None
    if kind in ("integer", "ignore_index"):
        return int(p["domain"][1]) if kind == "integer" else -7
    low, high = p["domain"][0], p["domain"][1]
    if np.isfinite(low) and np.isfinite(high):
        return (low + high) / 2 if (low + high) / 2 != p["default"] else low + (high - low) / 4
    return p["default"] * 2 + 0.25 if p["default"] != 0 else 0.25


@pytest.mark.parametrize("name", DEFINED)
def test_parameters_are_readable_and_assignable_with_effect(name):
    d = _base.DEFINITIONS[name]
    args = arguments(name, np.float64)
    for p in d["params"]:
        loss = make(name, "sum")
        assert getattr(loss, p["name"]) == loss.params[p["name"]]
        value = _other_value(p)
        setattr(loss, p["name"], value)
        reference = make(name, "sum", **{p["name"]: value})
        assert loss == reference and repr(loss) == repr(reference)
        assert pickle.loads(pickle.dumps(loss)) == reference
        same(loss.grad(*fresh(args)), reference.grad(*fresh(args)))
    loss = make(name, "sum")
    loss.reduction = "none"
    same(loss(*fresh(args)), make(name, "none")(*fresh(args)))


@pytest.mark.parametrize("name", DEFINED)
def test_a_bad_assignment_raises_and_changes_nothing(name):
    loss = make(name)
    before = repr(loss)
    with pytest.raises(ValueError):
        loss.reduction = "median"
    for p in _base.DEFINITIONS[name]["params"]:
        with pytest.raises((ValueError, TypeError)):
            setattr(loss, p["name"], "not a value" if p["kind"] != "choice" else "nope")
    with pytest.raises(AttributeError, match="no parameter"):
        loss.not_a_parameter = 1.0
    assert repr(loss) == before


def test_huber_delta_attribute():
    h = losskit.HuberLoss()
    assert h.delta == 1.0
    h.delta = 0.01
    r = np.array([0.5])
    assert h(r, np.zeros(1)) == pytest.approx(0.01 * (0.5 - 0.005))


# ---- exceptions ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", DEFINED)
def test_huge_python_int_parameters_are_value_errors(name):
    for p in _base.DEFINITIONS[name]["params"]:
        if p["kind"] in ("real", "integer", "ignore_index"):
            with pytest.raises(ValueError, match=p["name"]):
                make(name, **{p["name"]: 10**400})


def test_masked_arrays_are_refused():
    x = np.ma.masked_array([1.0, 2.0], mask=[False, True])
    with pytest.raises(TypeError, match="masked"):
        losskit.MSELoss()(x, np.zeros(2))
    with pytest.raises(TypeError, match="masked"):
        losskit.MSELoss().grad(np.ones(2), np.zeros(2), out=np.ma.zeros(2))


# ---- byte order and subclasses ---------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", DEFINED)
def test_non_native_byte_order_keeps_the_dtype(name, dtype):
    args = arguments(name, dtype)
    swapped = [a.astype(a.dtype.newbyteorder(">" if a.dtype.byteorder != ">" else "<"))
               for a in args]
    loss = make(name, "none")
    value, grad = loss.value_and_grad(*swapped)
    expected_value, expected_grad = loss.value_and_grad(*fresh(args))
    assert grad.dtype == np.dtype(dtype) and np.asarray(value).dtype == np.dtype(dtype)
    same(grad, expected_grad)
    same(value, expected_value)
    out = np.empty(args[0].shape, dtype=np.dtype(dtype).newbyteorder(">"))
    assert loss.grad(*swapped, out=out) is out
    same(out, expected_grad)


@pytest.mark.parametrize("name", DEFINED)
def test_memmap_arguments_and_out(name, tmp_path):
    args = arguments(name, np.float64)
    expected = make(name, "sum").grad(*fresh(args))
    mapped = []
    for i, a in enumerate(args):
        m = np.memmap(tmp_path / f"a{i}.bin", dtype=a.dtype, mode="w+", shape=a.shape)
        m[...] = a
        mapped.append(m)
    out = np.memmap(tmp_path / "out.bin", dtype=np.float64, mode="w+", shape=args[0].shape)
    assert make(name, "sum").grad(*mapped, out=out) is out
    same(out, expected)
