"""One test module over every registered loss.

Parametrized from ``losskit.available_losses()`` (see conftest.py): a new loss is covered by
every test here as soon as it has an entry in reference.py, and a registered loss without one
fails ``test_registered_loss_has_reference``.
"""

from __future__ import annotations

import math

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import losskit
from reference import (
    ARG_NAMES,
    COVERED_ELSEWHERE,
    REFERENCE,
    args_of,
    assert_close_scaled,
    cast_data,
    kink_coordinate,
    param_floor,
    near_kink,
    reduce_grad_ref,
    reduce_ref,
    rtol_for,
)

DTYPES = [np.float32, np.float64]
DTYPE_IDS = ["float32", "float64"]
REDUCTIONS = ["none", "sum", "mean"]


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------
def lib_value(case, args, reduction="none", **kw):
    return case.make(reduction)(*args, **kw)


def lib_grad(case, args, reduction="none", **kw):
    return case.make(reduction).grad(*args, **kw)


def lib_vg(case, args, reduction="none", **kw):
    return case.make(reduction).value_and_grad(*args, **kw)


def lib_vgs(case, args, reduction="none", **kw):
    return case.make(reduction).value_and_grads(*args, **kw)


def close(case, got, expected, rtol, scale=None, err_msg="", terms=None):
    """assert_close_scaled with the loss's parameter scale as a floor."""
    assert_close_scaled(got, expected, rtol, scale=scale, err_msg=err_msg,
                        floor=param_floor(case.params), terms=terms)


def terms_of(case, data, kind, weights=None, reduction="none"):
    """Magnitude of the terms of value/grad/third per element, weighted like the result."""
    t = case.ref.terms(kind, ref_args(case, data), case.params)
    if kind == "value":
        return reduce_ref(t, weights, reduction)
    return reduce_grad_ref(t, weights, reduction)


def ref_args(case, data):
    """float64 copies of the (already dtype-cast) data, in call order."""
    return tuple(np.asarray(a, dtype=np.float64) for a in args_of(case.ref, data))


def sample(case, shape, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return cast_data(case.ref.sample(rng, case.params, shape), dtype)


def value_scale(case, data, weights=None, reduction="none"):
    """Scale for the tolerance of a reduced value: the same reduction of |l|."""
    v = case.ref.terms("value", ref_args(case, data), case.params)
    s = reduce_ref(v, weights, reduction)
    return float(np.max(np.abs(s))) if np.ndim(s) else abs(s)


def grad_mask(case, data, dtype):
    """Elements whose gradient is compared (not exactly on a kink of the gradient)."""
    return ~near_kink(case.ref, case.params, data["input"], data["target"], dtype,
                      data.get("third"))


def assert_same(a, b, err_msg=""):
    """Bitwise equality of two results (floats or arrays), NaN == NaN."""
    a_arr = np.asarray(a)
    b_arr = np.asarray(b)
    assert a_arr.shape == b_arr.shape, err_msg
    assert a_arr.dtype == b_arr.dtype or (a_arr.ndim == 0 and b_arr.ndim == 0), err_msg
    assert a_arr.tobytes() == b_arr.astype(a_arr.dtype).tobytes(), (
        f"results differ bitwise: {a_arr!r} vs {b_arr!r}. {err_msg}")


def _representable(lo, hi, dtype):
    """Bounds rounded inwards to values of dtype (hypothesis needs exact bounds)."""
    lo_d, hi_d = np.asarray(lo, dtype=dtype), np.asarray(hi, dtype=dtype)
    if float(lo_d) < lo:
        lo_d = np.nextafter(lo_d, np.asarray(np.inf, dtype=dtype))
    if float(hi_d) > hi:
        hi_d = np.nextafter(hi_d, np.asarray(-np.inf, dtype=dtype))
    return float(lo_d), float(hi_d)


def data_strategy(ref, params, dtype, max_size=24):
    doms = ref.domains(params)
    width = 32 if np.dtype(dtype) == np.float32 else 64

    @st.composite
    def strat(draw):
        n = draw(st.integers(0, max_size))
        out = {}
        for role in ARG_NAMES[: ref.n_args]:
            iv = doms[role]
            lo, hi = _representable(iv.low, iv.high, dtype)
            elements = st.floats(lo, hi, exclude_min=not iv.low_inclusive,
                                 exclude_max=not iv.high_inclusive, width=width,
                                 allow_nan=False, allow_infinity=False)
            out[role] = draw(hnp.arrays(dtype, n, elements=elements))
        return out

    return strat()


# --------------------------------------------------------------------------------------
# registry
# --------------------------------------------------------------------------------------
def test_registered_loss_has_reference(loss_name):
    import reference

    # losses over a class axis live in a separate table (not elementwise)
    other = {**getattr(reference, "ROWWISE_REFERENCE", {}),
             **getattr(reference, "EMBEDDING_REFERENCE", {})}
    assert loss_name in REFERENCE or loss_name in other or loss_name in COVERED_ELSEWHERE, (
        f"loss {loss_name!r} is registered but has no reference implementation in "
        f"tests/reference.py")


def test_reference_losses_are_registered():
    names = losskit.available_losses()
    missing = [n for n in REFERENCE if n not in names]
    assert not missing, f"losses of this release not registered: {missing}"


def test_set_isa_rejects_unknown_names(restore_isa):
    before = losskit.get_isa()
    with pytest.raises(ValueError):
        losskit.set_isa("avx9000")
    assert losskit.get_isa() == before
    assert before in losskit.available_isas()
    assert set(losskit.available_isas()) <= {"sse2", "avx2", "avx512"}


def test_available_losses_sorted_unique_strings():
    names = losskit.available_losses()
    assert isinstance(names, list)
    assert all(isinstance(n, str) for n in names)
    assert names == sorted(names)
    assert len(set(names)) == len(names)


def test_get_loss_returns_configured_instance(loss_case):
    cls = getattr(losskit, loss_case.ref.cls_name)
    obj = losskit.get_loss(loss_case.name, **loss_case.params)
    assert type(obj) is cls
    assert isinstance(obj, losskit.Loss)
    assert obj.name == loss_case.name
    assert isinstance(obj.params, dict)
    for k, v in loss_case.params.items():
        assert obj.params[k] == v, f"params[{k!r}] = {obj.params.get(k)!r}, expected {v!r}"
    # the class configured directly is the same loss
    direct = cls(**loss_case.params)
    assert direct.name == loss_case.name
    assert direct.params == obj.params


def test_defaults_match_spec(default_loss_case):
    case = default_loss_case
    obj = getattr(losskit, case.ref.cls_name)()
    for k, v in case.ref.defaults.items():
        assert obj.params[k] == v, f"default {k}={obj.params[k]!r}, documented default {v!r}"
    # reduction defaults to "mean"
    data = sample(case, (9,), seed=1)
    args = args_of(case.ref, data)
    expected = reduce_ref(case.ref.ref_value(ref_args(case, data), case.params), None, "mean")
    close(case, obj(*args), expected, 1e-12, scale=value_scale(case, data, None, "mean"))


def test_class_docstring_has_formula(default_loss_case):
    cls = getattr(losskit, default_loss_case.ref.cls_name)
    doc = cls.__dict__.get("__doc__")
    assert doc and doc.strip(), f"{cls.__name__} has no docstring of its own"
    assert doc != losskit.Loss.__doc__
    assert any(tok in doc for tok in ("=", "^", "**", "max(", "log", "sqrt", "|")), (
        f"{cls.__name__} docstring shows no formula: {doc!r}")


# --------------------------------------------------------------------------------------
# values and gradients against the reference
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_value_and_grad_match_reference(loss_case, dtype):
    case = loss_case

    @given(data=data_strategy(case.ref, case.params, dtype))
    def check(data):
        args = args_of(case.ref, data)
        rargs = ref_args(case, data)
        rtol = rtol_for(dtype)
        v = lib_value(case, args)
        assert v.dtype == np.dtype(dtype)
        close(case, v, case.ref.ref_value(rargs, case.params), rtol, err_msg="value",
              terms=terms_of(case, data, "value"))
        g = lib_grad(case, args)
        assert g.dtype == np.dtype(dtype) and g.shape == data["input"].shape
        m = grad_mask(case, data, dtype)
        close(case, g[m], case.ref.ref_grad(rargs, case.params)[m], rtol,
              err_msg="grad", terms=terms_of(case, data, "grad")[m])
        if case.ref.n_args == 3:
            _, gx, gv = lib_vgs(case, args)
            close(case, gx[m], case.ref.ref_grad(rargs, case.params)[m], rtol,
                  err_msg="d_input of value_and_grads", terms=terms_of(case, data, "grad")[m])
            close(case, gv[m], case.ref.ref_grad_third(rargs, case.params)[m], rtol,
                  err_msg="d_var", terms=terms_of(case, data, "third")[m])

    check()


WIDE_RANGE = ("mse", "l1", "huber", "smooth_l1", "pseudo_huber", "log_cosh", "quantile",
              "epsilon_insensitive")


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_wide_range_matches_reference(loss_case, dtype):
    """Residuals over the whole finite range (no overflow of x - y itself): the result is the
    exact one rounded to dtype, overflowing to inf only where the exact loss does."""
    case = loss_case
    if case.name not in WIDE_RANGE:
        pytest.skip("formula has an intermediate overflow that PyTorch shares")
    big = float(np.finfo(dtype).max) / 4
    width = 32 if dtype == np.float32 else 64
    elements = st.floats(-big, big, width=width)

    @given(x=hnp.arrays(dtype, 8, elements=elements), y=hnp.arrays(dtype, 8, elements=elements))
    def check(x, y):
        data = {"input": x, "target": y}
        args, rargs = args_of(case.ref, data), ref_args(case, data)
        rtol = rtol_for(dtype)
        # The reference overflows exactly where the loss does; NumPy's warning is expected.
        with np.errstate(over="ignore", invalid="ignore"):
            close(case, lib_value(case, args), case.ref.ref_value(rargs, case.params), rtol,
                  terms=terms_of(case, data, "value"), err_msg="value")
            m = grad_mask(case, data, dtype)
            close(case, lib_grad(case, args)[m], case.ref.ref_grad(rargs, case.params)[m], rtol,
                  terms=terms_of(case, data, "grad")[m], err_msg="grad")

    check()


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighting", ["unweighted", "per_element", "per_sample"])
def test_reductions(loss_case, dtype, reduction, weighting):
    case = loss_case
    shape = (37,) if weighting != "per_sample" else (9, 5)
    data = sample(case, shape, seed=2, dtype=dtype)
    rng = np.random.default_rng(3)
    if weighting == "unweighted":
        w = None
    elif weighting == "per_element":
        w = rng.uniform(0.0, 2.0, size=shape).astype(dtype)
        w[::7] = 0.0
    else:
        w = rng.uniform(0.0, 2.0, size=shape[0]).astype(dtype)
        w[2] = 0.0
    args = args_of(case.ref, data)
    rargs = ref_args(case, data)
    kw = {} if w is None else {"sample_weight": w}
    rtol = rtol_for(dtype)
    l_ref = case.ref.ref_value(rargs, case.params)
    g_ref = case.ref.ref_grad(rargs, case.params)

    v = lib_value(case, args, reduction, **kw)
    expected = reduce_ref(l_ref, w, reduction)
    if reduction == "none":
        assert isinstance(v, np.ndarray) and v.shape == shape and v.dtype == np.dtype(dtype)
        close(case, v, expected, rtol, terms=terms_of(case, data, "value", w, reduction))
    else:
        assert np.ndim(v) == 0
        close(case, v, expected, rtol,
                            scale=value_scale(case, data, w, reduction))
    g = lib_grad(case, args, reduction, **kw)
    assert g.shape == shape and g.dtype == np.dtype(dtype)
    m = grad_mask(case, data, dtype)
    g_expected = reduce_grad_ref(g_ref, w, reduction)
    g_terms = terms_of(case, data, "grad", w, reduction)[m]
    close(case, g[m], g_expected[m], rtol, terms=g_terms)
    if case.ref.n_args == 3:
        _, gx, gv = lib_vgs(case, args, reduction, **kw)
        close(case, gx[m], g_expected[m], rtol, terms=g_terms)
        gv_expected = reduce_grad_ref(case.ref.ref_grad_third(rargs, case.params), w, reduction)
        close(case, gv[m], gv_expected[m], rtol,
              terms=terms_of(case, data, "third", w, reduction)[m])


def test_grad_matches_finite_differences(loss_case):
    """Analytic gradient vs a 4th-order central difference of the float64 loss value."""
    case = loss_case
    data = sample(case, (400,), seed=4)
    keep = np.ones(400, dtype=bool)
    with np.errstate(invalid="ignore"):
        r = kink_coordinate(case.ref, data["input"], data["target"], data.get("third"))
    for k in case.ref.kinks(case.params):
        keep &= ~(np.abs(r - k) <= 0.02)
    data = {k: v[keep] for k, v in data.items()}
    x = data["input"]
    lo = case.ref.domains(case.params)["input"]
    h = np.full_like(x, 1e-3)
    if lo.low == 0.0:  # positive-only input: stay inside the domain
        h = np.minimum(h, 0.01 * x)

    def values(xx, third=None):
        d = dict(data, input=xx)
        if third is not None:
            d["third"] = third
        return lib_value(case, args_of(case.ref, d), "none")

    def fd(f, z, hz):
        return (-f(z + 2 * hz) + 8 * f(z + hz) - 8 * f(z - hz) + f(z - 2 * hz)) / (12 * hz)

    numeric = fd(values, x, h)
    analytic = lib_grad(case, args_of(case.ref, data), "none")
    scale = float(np.max(np.abs(numeric)))
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9 * scale)
    if case.ref.n_args == 3:
        v = data["third"]
        hv = 1e-3 * np.where(v > 0, v, 1.0)
        numeric_v = fd(lambda vv: values(x, vv), v, hv)
        _, _, analytic_v = lib_vgs(case, args_of(case.ref, data), "none")
        scale = float(np.max(np.abs(numeric_v)))
        np.testing.assert_allclose(analytic_v, numeric_v, rtol=1e-6, atol=1e-9 * scale)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_value_and_grad_equals_value_and_grad_separately(loss_case, dtype, reduction, weighted):
    case = loss_case
    data = sample(case, (3001,), seed=5, dtype=dtype)
    args = args_of(case.ref, data)
    kw = {}
    if weighted:
        kw["sample_weight"] = np.random.default_rng(6).uniform(0, 3, 3001).astype(dtype)
    v, g = lib_vg(case, args, reduction, **kw)
    assert_same(v, lib_value(case, args, reduction, **kw), "value")
    assert_same(g, lib_grad(case, args, reduction, **kw), "grad")
    if case.ref.n_args == 3:
        v3, gx, gv = lib_vgs(case, args, reduction, **kw)
        assert_same(v3, v, "value of value_and_grads")
        assert_same(gx, g, "d_input of value_and_grads")
        assert gv.shape == data["third"].shape and gv.dtype == np.dtype(dtype)


# --------------------------------------------------------------------------------------
# sample_weight
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_sample_weight_scales_elementwise(loss_case, dtype):
    case = loss_case
    data = sample(case, (101,), seed=7, dtype=dtype)
    args = args_of(case.ref, data)
    w = np.random.default_rng(8).uniform(0.0, 4.0, 101).astype(dtype)
    w[::5] = 0.0
    tol = dict(rtol=4 * np.finfo(dtype).eps, atol=0)
    v1 = lib_value(case, args)
    vw = lib_value(case, args, sample_weight=w)
    np.testing.assert_allclose(vw, w * v1, **tol)
    g1 = lib_grad(case, args)
    gw = lib_grad(case, args, sample_weight=w)
    np.testing.assert_allclose(gw, w * g1, **tol)
    assert np.all(vw[::5] == 0) and np.all(gw[::5] == 0)
    # sum and mean use the same weights
    s = lib_value(case, args, "sum", sample_weight=w)
    m = lib_value(case, args, "mean", sample_weight=w)
    scale = float(np.sum(np.abs(w * v1.astype(np.float64))))
    rtol = rtol_for(dtype)
    assert abs(s - np.sum(w.astype(np.float64) * v1)) <= rtol * scale
    assert abs(m - s / np.sum(w.astype(np.float64))) <= rtol * scale / np.sum(w)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_per_sample_weight_broadcasts_over_rows(loss_case, dtype):
    case = loss_case
    data = sample(case, (13, 6), seed=9, dtype=dtype)
    args = args_of(case.ref, data)
    w = np.random.default_rng(10).uniform(0.0, 2.0, 13).astype(dtype)
    w[4] = 0.0
    w_full = np.repeat(w[:, None], 6, axis=1)
    for reduction in REDUCTIONS:
        a = lib_value(case, args, reduction, sample_weight=w)
        b = lib_value(case, args, reduction, sample_weight=w_full)
        scale = value_scale(case, data, w_full, reduction)
        close(case, a, b, 1e-14 if dtype == np.float64 else 1e-6, scale=scale)
        ga = lib_grad(case, args, reduction, sample_weight=w)
        gb = lib_grad(case, args, reduction, sample_weight=w_full)
        np.testing.assert_allclose(ga, gb, rtol=4 * np.finfo(dtype).eps, atol=0)


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_large_float32_reduction_is_accurate(default_loss_case, reduction, num_threads):
    """float32 data, 3e5 elements, 1 and 2 threads: the reduction keeps float32 accuracy
    (a plain float32 running sum is off by ~1e-4 here)."""
    case = default_loss_case
    n = 300_007
    data = sample(case, (n,), seed=40, dtype=np.float32)
    args, rargs = args_of(case.ref, data), ref_args(case, data)
    w = np.random.default_rng(41).uniform(0, 2, n).astype(np.float32)
    expected = reduce_ref(case.ref.ref_value(rargs, case.params), w, reduction)
    got = lib_value(case, args, reduction, sample_weight=w)
    close(case, got, expected, 1e-5, scale=value_scale(case, data, w, reduction))
    g = lib_grad(case, args, reduction, sample_weight=w)
    m = grad_mask(case, data, np.float32)
    g_ref = reduce_grad_ref(case.ref.ref_grad(rargs, case.params), w, reduction)
    close(case, g[m], g_ref[m], 1e-5, terms=terms_of(case, data, "grad", w, reduction)[m])


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_per_sample_weight_3d(default_loss_case, dtype):
    case = default_loss_case
    data = sample(case, (4, 3, 5), seed=42, dtype=dtype)
    args = args_of(case.ref, data)
    w = np.array([0.5, 0.0, 2.0, 1.0], dtype=dtype)
    w_full = np.ascontiguousarray(np.broadcast_to(w[:, None, None], (4, 3, 5)))
    for reduction in REDUCTIONS:
        a = lib_value(case, args, reduction, sample_weight=w)
        b = lib_value(case, args, reduction, sample_weight=w_full)
        close(case, a, b, 1e-14 if dtype == np.float64 else 1e-6,
              scale=value_scale(case, data, w_full, reduction))
        np.testing.assert_allclose(lib_grad(case, args, reduction, sample_weight=w),
                                   lib_grad(case, args, reduction, sample_weight=w_full),
                                   rtol=4 * np.finfo(dtype).eps, atol=0)


def test_sample_weight_accepts_lists_and_ints(default_loss_case):
    case = default_loss_case
    data = sample(case, (6,), seed=43)
    args = args_of(case.ref, data)
    w = [1, 0, 2, 3, 1, 1]
    expected = lib_value(case, args, "sum", sample_weight=np.array(w, dtype=np.float64))
    assert_same(lib_value(case, args, "sum", sample_weight=w), expected)
    assert_same(lib_value(case, args, "sum", sample_weight=np.array(w, dtype=np.int32)), expected)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_all_zero_weights_mean_is_nan(default_loss_case, dtype):
    case = default_loss_case
    data = sample(case, (10,), seed=11, dtype=dtype)
    args = args_of(case.ref, data)
    w = np.zeros(10, dtype=dtype)
    assert lib_value(case, args, "sum", sample_weight=w) == 0.0
    assert math.isnan(lib_value(case, args, "mean", sample_weight=w))
    np.testing.assert_array_equal(lib_grad(case, args, "sum", sample_weight=w), 0.0)


# --------------------------------------------------------------------------------------
# out=, memory layout, dtypes
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_out_is_written_in_place(loss_case, dtype, reduction):
    case = loss_case
    data = sample(case, (4, 33), seed=12, dtype=dtype)
    args = args_of(case.ref, data)
    expected_g = lib_grad(case, args, reduction)
    buf = np.full((4, 33), -7.0, dtype=dtype)
    g = lib_grad(case, args, reduction, out=buf)
    assert g is buf and np.shares_memory(g, buf)
    assert_same(buf, expected_g)

    buf2 = np.full((4, 33), np.nan, dtype=dtype)
    v, g2 = lib_vg(case, args, reduction, out=buf2)
    assert g2 is buf2
    assert_same(buf2, expected_g)
    assert_same(v, lib_value(case, args, reduction))

    if reduction == "none":
        buf3 = np.empty((4, 33), dtype=dtype)
        v3 = lib_value(case, args, "none", out=buf3)
        assert v3 is buf3
        assert_same(buf3, lib_value(case, args, "none"))

    # a non-contiguous out is still filled in place
    big = np.full((4, 66), -3.0, dtype=dtype)
    view = big[:, ::2]
    g4 = lib_grad(case, args, reduction, out=view)
    assert g4 is view
    assert_same(np.ascontiguousarray(view), expected_g)
    np.testing.assert_array_equal(big[:, 1::2], -3.0)

    if case.ref.n_args == 3:
        bx = np.empty((4, 33), dtype=dtype)
        bv = np.empty((4, 33), dtype=dtype)
        _, gx, gv = lib_vgs(case, args, reduction, out=(bx, bv))
        assert gx is bx and gv is bv
        assert_same(bx, expected_g)
        rargs = ref_args(case, data)
        gv_expected = reduce_grad_ref(case.ref.ref_grad_third(rargs, case.params), None, reduction)
        m = grad_mask(case, data, dtype)
        close(case, bv[m], gv_expected[m], rtol_for(dtype),
              terms=terms_of(case, data, "third", None, reduction)[m])


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_out_may_be_the_input(loss_case, dtype):
    """grad(x, y, out=x) overwrites x with the gradient, as if x had been copied first."""
    case = loss_case
    data = sample(case, (3001,), seed=44, dtype=dtype)
    args = args_of(case.ref, data)
    expected = lib_grad(case, args, "none")
    x = data["input"].copy()
    g = lib_grad(case, (x,) + args[1:], "none", out=x)
    assert g is x
    assert_same(x, expected)


@pytest.mark.parametrize("byteorder", [">", "<"])
def test_byte_order_is_accepted(default_loss_case, byteorder):
    case = default_loss_case
    data = sample(case, (17,), seed=45)
    swapped = {k: v.astype(byteorder + "f8") for k, v in data.items()}
    a, b = args_of(case.ref, swapped), args_of(case.ref, data)
    assert_same(lib_value(case, a), lib_value(case, b))
    assert_same(lib_grad(case, a, "mean"), lib_grad(case, b, "mean"))


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("layout", ["slice", "transpose", "reversed"])
def test_non_contiguous_inputs(loss_case, dtype, layout):
    case = loss_case
    big = sample(case, (10, 22), seed=13, dtype=dtype)
    wbig = np.random.default_rng(14).uniform(0, 2, (10, 22)).astype(dtype)

    def view(a):
        if layout == "slice":
            return a[1::2, ::3]
        if layout == "transpose":
            return a.T
        return a[::-1, ::-2]

    views = {k: view(v) for k, v in big.items()}
    w_view = view(wbig)
    assert not views["input"].flags.c_contiguous
    contig = {k: np.ascontiguousarray(v) for k, v in views.items()}
    w_contig = np.ascontiguousarray(w_view)
    a_args, c_args = args_of(case.ref, views), args_of(case.ref, contig)
    eps = np.finfo(dtype).eps
    for reduction in REDUCTIONS:
        for kw_a, kw_c in (({}, {}), ({"sample_weight": w_view}, {"sample_weight": w_contig})):
            va = lib_value(case, a_args, reduction, **kw_a)
            vc = lib_value(case, c_args, reduction, **kw_c)
            close(case, va, vc, 8 * eps if reduction == "none" else rtol_for(dtype))
            ga = lib_grad(case, a_args, reduction, **kw_a)
            gc = lib_grad(case, c_args, reduction, **kw_c)
            assert ga.shape == views["input"].shape
            close(case, ga, gc, 8 * eps)
    # the views were not modified
    for k in views:
        assert_same(views[k], contig[k])


def test_float32_agrees_with_float64(loss_case):
    case = loss_case
    d32 = sample(case, (500,), seed=15, dtype=np.float32)
    d64 = cast_data(d32, np.float64)
    a32, a64 = args_of(case.ref, d32), args_of(case.ref, d64)
    for reduction in REDUCTIONS:
        v32 = lib_value(case, a32, reduction)
        v64 = lib_value(case, a64, reduction)
        if reduction == "none":
            close(case, v32, v64, 1e-5, terms=terms_of(case, d64, "value"))
        else:
            close(case, v32, v64, 1e-5, scale=value_scale(case, d64, None, reduction))
        m = grad_mask(case, d32, np.float32)
        g32 = lib_grad(case, a32, reduction)
        g64 = lib_grad(case, a64, reduction)
        assert g32.dtype == np.float32 and g64.dtype == np.float64
        close(case, g32[m], g64[m], 1e-5, terms=terms_of(case, d64, "grad", None, reduction)[m])


def _int_data(case):
    """Integer data inside each argument's domain (at most |6|, so exp() stays moderate)."""
    rng = np.random.default_rng(16)
    out = {}
    for role, iv in case.ref.domains(case.params).items():
        lo, hi = math.ceil(max(iv.low, -6.0)), math.floor(min(iv.high, 6.0))
        if lo == iv.low and not iv.low_inclusive:
            lo += 1
        if hi == iv.high and not iv.high_inclusive:
            hi -= 1
        out[role] = rng.integers(lo, hi + 1, 40)
    return out


def test_int_inputs_are_converted_to_float64(loss_case):
    case = loss_case
    di = _int_data(case)
    df = cast_data(di, np.float64)
    ai, af = args_of(case.ref, di), args_of(case.ref, df)
    v = lib_value(case, ai)
    assert v.dtype == np.float64
    assert_same(v, lib_value(case, af))
    g = lib_grad(case, ai)
    assert g.dtype == np.float64
    assert_same(g, lib_grad(case, af))
    assert_same(lib_value(case, ai, "mean"), lib_value(case, af, "mean"))
    # anything numpy.asarray accepts: plain lists
    al = tuple(a.tolist() for a in ai)
    assert_same(lib_value(case, al), lib_value(case, af))
    assert_same(lib_grad(case, al), lib_grad(case, af))


def test_float16_input_runs_as_float32(default_loss_case):
    case = default_loss_case
    d16 = sample(case, (31,), seed=17, dtype=np.float16)
    d32 = cast_data(d16, np.float32)
    v = lib_value(case, args_of(case.ref, d16))
    assert v.dtype == np.float32
    assert_same(v, lib_value(case, args_of(case.ref, d32)))


@pytest.mark.parametrize("in_dtype,other_dtype", [(np.float32, np.float64), (np.float64, np.float32)],
                         ids=["f32-input", "f64-input"])
def test_target_is_cast_to_input_dtype(loss_case, in_dtype, other_dtype):
    case = loss_case
    d = sample(case, (57,), seed=18)
    mixed = {k: (v.astype(in_dtype) if k == "input" else v.astype(other_dtype)) for k, v in d.items()}
    same = {k: np.asarray(v).astype(in_dtype) for k, v in mixed.items()}
    am, as_ = args_of(case.ref, mixed), args_of(case.ref, same)
    for reduction in REDUCTIONS:
        v = lib_value(case, am, reduction)
        if reduction == "none":
            assert v.dtype == np.dtype(in_dtype)
        assert_same(v, lib_value(case, as_, reduction))
        g = lib_grad(case, am, reduction)
        assert g.dtype == np.dtype(in_dtype)
        assert_same(g, lib_grad(case, as_, reduction))
    w = np.linspace(0, 2, 57).astype(other_dtype)
    assert_same(lib_value(case, am, "sum", sample_weight=w),
                lib_value(case, as_, "sum", sample_weight=w.astype(in_dtype)))


# --------------------------------------------------------------------------------------
# threads and ISAs
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("n", [2047, 2049, 100_003, 300_000])
def test_thread_counts_bitwise_identical(loss_case, dtype, n, restore_threads):
    case = loss_case
    data = sample(case, (n,), seed=19, dtype=dtype)
    args = args_of(case.ref, data)
    w = np.random.default_rng(20).uniform(0, 2, n).astype(dtype)
    results = {}
    for t in (1, 2, 3):
        losskit.set_num_threads(t)
        assert losskit.get_num_threads() == t
        out = []
        for reduction in REDUCTIONS:
            for kw in ({}, {"sample_weight": w}):
                out.append(lib_value(case, args, reduction, **kw))
                v, g = lib_vg(case, args, reduction, **kw)
                out += [v, g, lib_grad(case, args, reduction, **kw)]
                if case.ref.n_args == 3:
                    out += list(lib_vgs(case, args, reduction, **kw))
        results[t] = out
    for t in (2, 3):
        for i, (a, b) in enumerate(zip(results[1], results[t])):
            assert_same(a, b, f"result #{i} differs between 1 and {t} threads")


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_every_isa_matches_reference(loss_case, dtype, isa):
    case = loss_case
    data = sample(case, (1037,), seed=21, dtype=dtype)
    args, rargs = args_of(case.ref, data), ref_args(case, data)
    rtol = rtol_for(dtype)
    assert losskit.get_isa() == isa
    l_ref = case.ref.ref_value(rargs, case.params)
    close(case, lib_value(case, args), l_ref, rtol, err_msg=f"isa={isa}",
          terms=terms_of(case, data, "value"))
    close(case, lib_value(case, args, "sum"), reduce_ref(l_ref, None, "sum"), rtol,
                        scale=value_scale(case, data, None, "sum"), err_msg=f"isa={isa}")
    m = grad_mask(case, data, dtype)
    close(case, lib_grad(case, args)[m], case.ref.ref_grad(rargs, case.params)[m], rtol,
          err_msg=f"isa={isa}", terms=terms_of(case, data, "grad")[m])
    if case.ref.n_args == 3:
        close(case, lib_vgs(case, args)[2][m], case.ref.ref_grad_third(rargs, case.params)[m],
              rtol, err_msg=f"isa={isa}", terms=terms_of(case, data, "third")[m])


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_every_isa_short_arrays_and_tails(loss_case, dtype, isa):
    """Lengths 1..40 (partial vectors only, and full vectors plus a tail) at unaligned starts."""
    case = loss_case
    full = sample(case, (48,), seed=30, dtype=dtype)
    rtol = rtol_for(dtype)
    for n in range(1, 41):
        for off in (0, 1):
            data = {k: v[off:off + n] for k, v in full.items()}
            args, rargs = args_of(case.ref, data), ref_args(case, data)
            v, g = lib_vg(case, args, "sum")
            close(case, v, float(np.sum(case.ref.ref_value(rargs, case.params))), rtol,
                  scale=value_scale(case, data, None, "sum"), err_msg=f"n={n} off={off}")
            m = grad_mask(case, data, dtype)
            close(case, g[m], case.ref.ref_grad(rargs, case.params)[m], rtol,
                  terms=terms_of(case, data, "grad")[m], err_msg=f"n={n} off={off}")


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_isas_agree_with_each_other(loss_case, dtype, restore_isa):
    case = loss_case
    data = sample(case, (2500,), seed=22, dtype=dtype)
    args = args_of(case.ref, data)
    eps = np.finfo(dtype).eps
    results = {}
    for name in losskit.available_isas():
        losskit.set_isa(name)
        results[name] = (lib_value(case, args), lib_grad(case, args), lib_value(case, args, "sum"))
    base_name = losskit.available_isas()[0]
    base = results[base_name]
    terms = (terms_of(case, data, "value"), terms_of(case, data, "grad"),
             value_scale(case, data, None, "sum"))
    for name, res in results.items():
        for what, a, b, t in zip(("value", "grad", "sum"), res, base, terms):
            close(case, a, b, 16 * eps, err_msg=f"{what}: isa {name} vs {base_name}", terms=t)


# --------------------------------------------------------------------------------------
# special values and shapes
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_nan_propagates(loss_case, dtype):
    case = loss_case
    data = sample(case, (16,), seed=23, dtype=dtype)
    nan_at = {"input": 3, "target": 7, "third": 11}
    for role in args_of(case.ref, {k: k for k in data}):
        data[role][nan_at[role]] = np.nan
    poisoned = [nan_at[r] for r in data]
    clean = np.setdiff1d(np.arange(16), poisoned)
    args, rargs = args_of(case.ref, data), ref_args(case, data)
    v = lib_value(case, args)
    assert np.all(np.isnan(v[poisoned])), f"NaN dropped from the value: {v[poisoned]}"
    close(case, v[clean], case.ref.ref_value(rargs, case.params)[clean], rtol_for(dtype),
          terms=terms_of(case, data, "value")[clean])
    assert math.isnan(lib_value(case, args, "sum"))
    assert math.isnan(lib_value(case, args, "mean"))
    g = lib_grad(case, args)
    if case.ref.nan_grad(case.params):
        assert np.all(np.isnan(g[poisoned])), f"NaN dropped from the gradient: {g[poisoned]}"
    m = grad_mask(case, data, dtype)[clean]
    close(case, g[clean][m], case.ref.ref_grad(rargs, case.params)[clean][m],
          rtol_for(dtype), terms=terms_of(case, data, "grad")[clean][m])
    if case.ref.n_args == 3:
        gv = lib_vgs(case, args)[2]
        assert np.all(np.isnan(gv[poisoned]))


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_infinite_input(loss_case, dtype):
    case = loss_case
    if not case.ref.has_inf_limit:
        pytest.skip("exp(inf) - y*inf has no IEEE limit")
    data = {"input": np.array([np.inf, -np.inf], dtype=dtype),
            "target": np.array([0.5, 0.5], dtype=dtype)}
    if case.ref.n_args == 3:
        data["third"] = np.array([1.0, 2.0], dtype=dtype)
    args, rargs = args_of(case.ref, data), ref_args(case, data)
    v = lib_value(case, args)
    np.testing.assert_array_equal(v, [np.inf, np.inf])
    assert lib_value(case, args, "sum") == np.inf
    g = lib_grad(case, args)
    if case.name == "pseudo_huber":
        # limit is +-delta; inf/inf = nan is what naive IEEE arithmetic gives
        d = case.params["delta"]
        assert (g[0] == d or np.isnan(g[0])) and (g[1] == -d or np.isnan(g[1])), g
    else:
        np.testing.assert_array_equal(g, case.ref.ref_grad(rargs, case.params).astype(dtype))
    if case.ref.n_args == 3:
        np.testing.assert_array_equal(lib_vgs(case, args)[2],
                                      case.ref.ref_grad_third(rargs, case.params).astype(dtype))


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("shape", [(0,), (3, 0)], ids=["0", "3x0"])
def test_empty_input(loss_case, dtype, shape):
    case = loss_case
    data = {k: np.empty(shape, dtype=dtype) for k in ARG_NAMES[: case.ref.n_args]}
    args = args_of(case.ref, data)
    v = lib_value(case, args, "none")
    assert isinstance(v, np.ndarray) and v.shape == shape and v.dtype == np.dtype(dtype)
    assert lib_value(case, args, "sum") == 0.0
    assert math.isnan(lib_value(case, args, "mean"))
    for reduction in REDUCTIONS:
        g = lib_grad(case, args, reduction)
        assert g.shape == shape and g.dtype == np.dtype(dtype)
        v, g = lib_vg(case, args, reduction)
        assert g.shape == shape


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_zero_dim_input(loss_case, dtype):
    case = loss_case
    full = sample(case, (1,), seed=24, dtype=dtype)
    data = {k: np.asarray(v[0]).astype(dtype) for k, v in full.items()}
    assert data["input"].shape == ()
    args, rargs = args_of(case.ref, data), ref_args(case, data)
    rtol = rtol_for(dtype)
    l_ref = case.ref.ref_value(rargs, case.params)
    g_ref = case.ref.ref_grad(rargs, case.params)
    v = lib_value(case, args, "none")
    assert np.shape(v) == ()
    vt = terms_of(case, data, "value")
    close(case, v, l_ref, rtol, terms=vt)
    for reduction in ("sum", "mean"):
        close(case, lib_value(case, args, reduction), l_ref, rtol, terms=vt)
    for reduction in REDUCTIONS:
        g = lib_grad(case, args, reduction)
        assert np.shape(g) == ()
        if not near_kink(case.ref, case.params, data["input"], data["target"], dtype,
                         data.get("third")):
            close(case, g, g_ref, rtol, terms=terms_of(case, data, "grad"))


# --------------------------------------------------------------------------------------
# hand-computed values (independent of reference.py)
# --------------------------------------------------------------------------------------
_L2PI = 0.5 * math.log(2 * math.pi)
HAND = [
    # name, params, input, target, [third], value, d_input, [d_third]
    ("mse", {}, 3.0, 1.0, None, 4.0, 4.0, None),
    ("l1", {}, -2.0, 1.0, None, 3.0, -1.0, None),
    ("l1", {}, 1.5, 1.5, None, 0.0, 0.0, None),
    ("huber", {"delta": 1.0}, 3.0, 0.5, None, 2.0, 1.0, None),
    ("huber", {"delta": 1.0}, 0.5, 0.0, None, 0.125, 0.5, None),
    ("huber", {"delta": 2.0}, -5.0, 0.0, None, 8.0, -2.0, None),
    ("smooth_l1", {"beta": 1.0}, 0.5, 0.0, None, 0.125, 0.5, None),
    ("smooth_l1", {"beta": 1.0}, 3.0, 0.0, None, 2.5, 1.0, None),
    ("smooth_l1", {"beta": 0.5}, 0.25, 0.0, None, 0.0625, 0.5, None),
    ("smooth_l1", {"beta": 0.0}, -0.25, 0.0, None, 0.25, -1.0, None),
    ("pseudo_huber", {"delta": 1.0}, 0.75, 0.0, None, 0.25, 0.6, None),
    ("pseudo_huber", {"delta": 2.0}, 1.0, -0.5, None, 1.0, 1.2, None),
    ("log_cosh", {}, 0.0, 0.0, None, 0.0, 0.0, None),
    ("log_cosh", {}, 1.3169578969248166, 0.0, None, math.log(2.0), math.sqrt(3) / 2, None),
    ("quantile", {"quantile": 0.9}, 1.0, 3.0, None, 1.8, -0.9, None),
    ("quantile", {"quantile": 0.9}, 3.0, 1.0, None, 0.2, 0.1, None),
    ("epsilon_insensitive", {"epsilon": 0.5, "squared": False}, 2.0, 0.0, None, 1.5, 1.0, None),
    ("epsilon_insensitive", {"epsilon": 0.5, "squared": True}, -2.0, 0.0, None, 2.25, -3.0, None),
    ("epsilon_insensitive", {"epsilon": 0.5, "squared": False}, 0.25, 0.0, None, 0.0, 0.0, None),
    ("gaussian_nll", {"full": False, "eps": 1e-6, "param": "var"}, 5.0, 1.0, 4.0,
     0.5 * (math.log(4.0) + 4.0), 1.0, -0.375),
    ("gaussian_nll", {"full": True, "eps": 1e-6, "param": "var"}, 5.0, 1.0, 4.0,
     0.5 * (math.log(4.0) + 4.0) + _L2PI, 1.0, -0.375),
    ("gaussian_nll", {"full": False, "eps": 1e-6, "param": "precision"}, 5.0, 1.0, 0.25,
     0.5 * (math.log(4.0) + 4.0), 1.0, 6.0),
    ("gaussian_nll", {"full": False, "eps": 0.5, "param": "var"}, 2.0, 1.0, 0.25,
     0.5 * (math.log(0.5) + 2.0), 2.0, 0.5 * (2.0 - 4.0)),
    ("poisson_nll", {"log_input": True, "full": False, "eps": 1e-8}, 0.0, 2.0, None, 1.0, -1.0, None),
    ("poisson_nll", {"log_input": True, "full": True, "eps": 1e-8}, 0.0, 2.0, None,
     1.0 + 2 * math.log(2) - 2 + 0.5 * math.log(4 * math.pi), -1.0, None),
    ("poisson_nll", {"log_input": True, "full": True, "eps": 1e-8}, 1.0, 1.0, None,
     math.e - 1.0, math.e - 1.0, None),
    ("poisson_nll", {"log_input": False, "full": False, "eps": 1e-8}, 2.0, 3.0, None,
     2.0 - 3.0 * math.log(2.0 + 1e-8), 1.0 - 3.0 / (2.0 + 1e-8), None),
]


@pytest.mark.parametrize("case", HAND, ids=[f"{h[0]}-{i}" for i, h in enumerate(HAND)])
def test_hand_computed_values(case):
    name, params, x, y, third, value, dx, dthird = case
    loss = losskit.get_loss(name, reduction="sum", **params)
    args = [np.array([x]), np.array([y])]
    if third is not None:
        args.append(np.array([third]))
    assert loss(*args) == pytest.approx(value, rel=1e-14, abs=1e-300)
    assert loss.grad(*args)[0] == pytest.approx(dx, rel=1e-14, abs=1e-300)
    if dthird is not None:
        assert loss.value_and_grads(*args)[2][0] == pytest.approx(dthird, rel=1e-14, abs=1e-15)


# --------------------------------------------------------------------------------------
# loss-specific stories
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_l1_subgradient_at_zero_is_zero(dtype):
    x = np.array([0.0, 1.5, -2.0, 3.0], dtype=dtype)
    g = losskit.L1Loss(reduction="sum").grad(x, x.copy())
    np.testing.assert_array_equal(g, np.zeros(4))


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_smooth_l1_beta_zero_is_l1(dtype):
    rng = np.random.default_rng(25)
    x = rng.normal(size=200).astype(dtype)
    y = rng.normal(size=200).astype(dtype)
    y[::10] = x[::10]  # r == 0 exactly
    for reduction in REDUCTIONS:
        s = losskit.SmoothL1Loss(beta=0.0, reduction=reduction)
        l1 = losskit.L1Loss(reduction=reduction)
        v = s(x, y)
        assert not np.any(np.isnan(v))
        assert_same(v, l1(x, y))
        g = s.grad(x, y)
        assert not np.any(np.isnan(g))
        assert_same(g, l1.grad(x, y))
        assert np.all(g[::10] == 0)


def test_log_cosh_extreme_residuals_float64():
    r = np.array([1e30, -1e30, 1e5, -1e5, 710.0, -800.0, 1e-20, -1e-20, 1e-8, 0.5, 1.0, 30.0])
    y = np.zeros_like(r)
    loss = losskit.LogCoshLoss(reduction="none")
    v = loss(r, y)
    expected = REFERENCE["log_cosh"].ref_value((r, y), {})
    np.testing.assert_allclose(v, expected, rtol=1e-15, atol=0)
    g = loss.grad(r, y)
    np.testing.assert_allclose(g, np.tanh(r), rtol=1e-15, atol=0)


def test_log_cosh_extreme_residuals_float32():
    r = np.array([1e30, -1e30, 1e5, -1e5, 100.0, 1e-10, -1e-10, 0.5], dtype=np.float32)
    y = np.zeros_like(r)
    loss = losskit.LogCoshLoss(reduction="none")
    v = loss(r, y)
    assert v.dtype == np.float32 and np.all(np.isfinite(v))
    expected = REFERENCE["log_cosh"].ref_value((r, y), {})
    np.testing.assert_allclose(v, expected, rtol=2e-7, atol=0)
    np.testing.assert_allclose(loss.grad(r, y), np.tanh(r.astype(np.float64)), rtol=2e-7, atol=0)


@pytest.mark.parametrize("delta", [1.0, 0.5, 2.0])
def test_pseudo_huber_large_residuals_finite(delta):
    loss = losskit.PseudoHuberLoss(delta=delta, reduction="none")
    r64 = np.array([1e10, -1e10, 1e30, -1e30, 1e200, 1e300])
    v = loss(r64, np.zeros_like(r64))
    assert np.all(np.isfinite(v))
    np.testing.assert_allclose(v, REFERENCE["pseudo_huber"].ref_value((r64, 0 * r64), {"delta": delta}),
                               rtol=1e-14, atol=0)
    np.testing.assert_allclose(loss.grad(r64, np.zeros_like(r64)), delta * np.sign(r64), rtol=1e-14)
    r32 = np.array([1e10, 1e20, -1e30, 3e37], dtype=np.float32)
    v32 = loss(r32, np.zeros_like(r32))
    assert v32.dtype == np.float32 and np.all(np.isfinite(v32)), v32
    ref32 = REFERENCE["pseudo_huber"].ref_value((r32, 0 * r32), {"delta": delta})
    np.testing.assert_allclose(v32, ref32, rtol=1e-6, atol=0)
    g32 = loss.grad(r32, np.zeros_like(r32))
    np.testing.assert_allclose(g32, delta * np.sign(r32), rtol=1e-6)


@pytest.mark.parametrize("delta", [1.0, 0.5, 2.0])
def test_pseudo_huber_small_residuals_no_cancellation(delta):
    r = np.array([1e-10, -1e-7, 1e-5, 1e-3, 3e-2])
    loss = losskit.PseudoHuberLoss(delta=delta, reduction="none")
    expected = REFERENCE["pseudo_huber"].ref_value((r, 0 * r), {"delta": delta})
    np.testing.assert_allclose(loss(r, 0 * r), expected, rtol=1e-13, atol=0)
    r32 = r.astype(np.float32)
    expected32 = REFERENCE["pseudo_huber"].ref_value((r32, 0 * r32), {"delta": delta})
    np.testing.assert_allclose(loss(r32, 0 * r32), expected32, rtol=1e-5, atol=0)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("param", ["var", "precision"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gaussian_nll_var_broadcast(dtype, param, reduction):
    rng = np.random.default_rng(26)
    x = rng.normal(size=(12, 5)).astype(dtype)
    y = rng.normal(size=(12, 5)).astype(dtype)
    var = rng.uniform(0.2, 3.0, size=(12, 1)).astype(dtype)
    var_full = np.ascontiguousarray(np.broadcast_to(var, (12, 5)))
    loss = losskit.GaussianNLLLoss(param=param, reduction=reduction)
    rtol = rtol_for(dtype)
    v_b, gx_b, gv_b = loss.value_and_grads(x, y, var)
    v_f, gx_f, gv_f = loss.value_and_grads(x, y, var_full)
    assert gv_b.shape == (12, 1) and gv_b.dtype == np.dtype(dtype)
    assert gx_b.shape == (12, 5)
    assert_close_scaled(v_b, v_f, rtol)
    assert_close_scaled(gx_b, gx_f, rtol)
    assert_close_scaled(gv_b, gv_f.astype(np.float64).sum(axis=1, keepdims=True), rtol,
                        scale=float(np.abs(gv_f).sum(axis=1).max()))
    assert_close_scaled(loss(x, y, var), v_f, rtol)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("full", [False, True])
def test_gaussian_nll_precision_is_inverse_var(dtype, full):
    rng = np.random.default_rng(27)
    x = rng.normal(size=300).astype(dtype)
    y = rng.normal(size=300).astype(dtype)
    beta = rng.uniform(0.1, 10.0, size=300).astype(dtype)
    var = (1.0 / beta.astype(np.float64)).astype(dtype)
    p = losskit.GaussianNLLLoss(param="precision", full=full, reduction="none")
    q = losskit.GaussianNLLLoss(param="var", full=full, reduction="none")
    vp, gxp, gbp = p.value_and_grads(x, y, beta)
    vq, gxq, gvq = q.value_and_grads(x, y, var)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    assert_close_scaled(vp, vq, rtol)
    assert_close_scaled(gxp, gxq, rtol)
    # chain rule: d/dbeta = d/dvar * dvar/dbeta = -d/dvar / beta^2
    assert_close_scaled(gbp, -gvq.astype(np.float64) / beta.astype(np.float64) ** 2, rtol)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_gaussian_nll_clamp_is_straight_through(dtype):
    x = np.array([1.0, 0.5, -0.25, 2.0, 0.0, 1e-4], dtype=dtype)
    y = np.zeros(6, dtype=dtype)
    var = np.array([1e-9, 1e-7, 0.0, 1e-6, 1e-3, 1e-12], dtype=dtype)
    ref = REFERENCE["gaussian_nll"]
    p = {"full": False, "eps": 1e-6, "param": "var"}
    loss = losskit.GaussianNLLLoss(reduction="none", **p)
    v, gx, gv = loss.value_and_grads(x, y, var)
    rargs = (x.astype(np.float64), y.astype(np.float64), var.astype(np.float64))
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(v, ref.ref_value(rargs, p), rtol=rtol)
    np.testing.assert_allclose(gx, ref.ref_grad(rargs, p), rtol=rtol)
    np.testing.assert_allclose(gv, ref.ref_grad_third(rargs, p), rtol=rtol)
    # precision: beta above 1/eps is clamped to 1/eps
    pp = {"full": False, "eps": 1e-6, "param": "precision"}
    lp = losskit.GaussianNLLLoss(reduction="none", **pp)
    beta = np.array([1e7, 1e9, 1e6, 5e5, 1.0, 1e12], dtype=dtype)
    rargs = (rargs[0], rargs[1], beta.astype(np.float64))
    v, gx, gb = lp.value_and_grads(x, y, beta)
    np.testing.assert_allclose(v, ref.ref_value(rargs, pp), rtol=rtol)
    np.testing.assert_allclose(gx, ref.ref_grad(rargs, pp), rtol=rtol)
    np.testing.assert_allclose(gb, ref.ref_grad_third(rargs, pp), rtol=rtol)


@pytest.mark.parametrize("log_input", [True, False])
def test_poisson_stirling_term_only_above_one(log_input):
    y = np.array([0.0, 0.5, 1.0, 1.0000001, 2.0, 10.0, 1000.0])
    x = np.full_like(y, 0.5)
    full = losskit.PoissonNLLLoss(log_input=log_input, full=True, reduction="none")
    part = losskit.PoissonNLLLoss(log_input=log_input, full=False, reduction="none")
    diff = full(x, y) - part(x, y)
    stirling = np.array([0.0, 0.0, 0.0] + [t * math.log(t) - t + 0.5 * math.log(2 * math.pi * t)
                                           for t in y[3:]])
    np.testing.assert_allclose(diff, stirling, rtol=1e-12, atol=1e-12)
    # the Stirling term does not depend on the input: same gradient
    assert_same(full.grad(x, y), part.grad(x, y))


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name,params", [("log_cosh", {}), ("pseudo_huber", {"delta": 1.0}),
                                         ("pseudo_huber", {"delta": 0.5})])
def test_smooth_losses_accurate_over_the_whole_range(name, params, dtype, isa):
    """Element by element, within 8 eps of the exact value for |r| from 1e-20 to 1e30
    (no cancellation near 0, no overflow of cosh or r^2 in the tails)."""
    mags = np.logspace(-20, 30, 4001)
    r = np.concatenate([mags, -mags]).astype(dtype)
    y = np.zeros_like(r)
    loss = losskit.get_loss(name, reduction="none", **params)
    ref = REFERENCE[name]
    rargs = (r.astype(np.float64), y.astype(np.float64))
    eps = np.finfo(dtype).eps
    for what, got, exact in (("value", loss(r, y), ref.ref_value(rargs, params)),
                             ("grad", loss.grad(r, y), ref.ref_grad(rargs, params))):
        with np.errstate(all="ignore"):
            exact = exact.astype(dtype).astype(np.float64)
        got = got.astype(np.float64)
        err = np.abs(got - exact)
        tol = 8 * eps * np.abs(exact) + 4 * np.finfo(dtype).tiny
        bad = ~(err <= tol)
        assert not bad.any(), (
            f"{what}: {int(bad.sum())} points beyond 8 eps, e.g. r={r[bad][0]!r}: "
            f"got {got[bad][0]!r}, exact {exact[bad][0]!r}")


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_log_cosh_relative_accuracy_everywhere(dtype, restore_isa):
    """log cosh r and tanh r element by element, relative to their own size, on every ISA:
    |r| from 1e-20 (value r^2/2, no cancellation allowed) through the branch change at 1.3 to
    1e30 (value |r| - log 2), against mpmath. Within 4 ulp."""
    mpmath = pytest.importorskip("mpmath")
    rng = np.random.default_rng(11)
    mags = np.concatenate([np.logspace(-20, 30, 400), rng.uniform(1.2, 1.4, 100),
                           rng.uniform(0, 5, 200)])
    r = (mags * rng.choice([-1.0, 1.0], mags.size)).astype(dtype)
    with mpmath.workdps(100):  # cosh(1e-20) = 1 + 5e-41: the log needs > 41 digits
        exact_v = np.array([float(mpmath.log(mpmath.cosh(mpmath.mpf(float(v))))) for v in r])
        exact_g = np.array([float(mpmath.tanh(mpmath.mpf(float(v)))) for v in r])
    eps = np.finfo(dtype).eps
    for isa in losskit.available_isas():
        losskit.set_isa(isa)
        v, g = losskit.LogCoshLoss(reduction="none").value_and_grad(r, np.zeros_like(r))
        assert_close_scaled(v, exact_v, 4 * eps, scale=0.0, err_msg=f"value isa={isa}")
        assert_close_scaled(g, exact_g, 4 * eps, scale=0.0, err_msg=f"grad isa={isa}")
