"""The row-wise losses over (N, C) scores and one target per sample: cross_entropy (integer
labels and probability targets), nll, multi_margin, multiclass_hinge, poly1,
multilabel_soft_margin (0/1 targets (N, C)) and multilabel_margin (label lists (N, C)); the
losses over pairs and triplets of rows are in test_embedding.py.

One module over all four, parametrized by the settings in reference.ROWWISE_REFERENCE:
values and gradients against the independent float64 NumPy reference, 4th-order central
differences, reductions (incl. PyTorch's weighted mean), class weights, ignore_index, label
smoothing, sample_weight, out=, memory layout, label dtypes, float32, threads, ISAs, extreme
and -inf logits, the textbook examples, and PyTorch as an oracle.
"""

from __future__ import annotations

import math

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import losskit
from reference import (EMBEDDING_REFERENCE, ROWWISE_REFERENCE, assert_close_scaled, log_softmax,
                       rtol_for)

DTYPES = [np.float32, np.float64]
DTYPE_IDS = ["float32", "float64"]
REDUCTIONS = ["none", "sum", "mean"]
C = 5  # the class count of the weight vectors in ROWWISE_REFERENCE


# --------------------------------------------------------------------------------------
# cases and data
# --------------------------------------------------------------------------------------
class RowCase:
    def __init__(self, name, params, kind=None):
        self.name = name
        self.params = dict(params)
        self.ref = ROWWISE_REFERENCE[name]
        # "labels", "probs" (cross_entropy), "values" (0/1 of the input's shape) or
        # "label_lists" (int64 of the input's shape, padded with -1)
        self.kind = kind or self.ref.target

    def make(self, reduction="mean", c=None, **overrides):
        return losskit.get_loss(self.name, reduction=reduction, **dict(self.for_classes(c), **overrides))

    def for_classes(self, c):
        """The parameters with the class weights stretched to c classes."""
        p = dict(self.params)
        if c is not None and p.get("weight") is not None:
            p["weight"] = tuple(float(v) for v in np.resize(np.array(p["weight"]), c))
        return p

    def __repr__(self):
        bits = []
        for k, v in self.params.items():
            if k == "weight":
                bits.append("w" if v is not None else "")
            elif k == "ignore_index":
                bits.append("" if v == -100 else f"ii={v}")
            else:
                bits.append(f"{k}={v}")
        s = ",".join(b for b in bits if b)
        return f"{self.name}[{s}]" + ("-probs" if self.kind == "probs" else "")


def _cases():
    out = []
    for name, ref in ROWWISE_REFERENCE.items():
        for p in ref.param_sets:
            out.append(RowCase(name, p))
        if ref.probabilities:
            for p in ref.param_sets:
                if p.get("ignore_index", -100) == -100:  # ignore_index plays no part
                    out.append(RowCase(name, p, "probs"))
    return out


CASES = _cases()
CASE_IDS = [repr(c) for c in CASES]


def float_target(case):
    return case.kind in ("probs", "values")


def label_lists(rng, n, c):
    """Each row: a random set of 0..c distinct classes, then -1, then entries never read."""
    t = np.full((n, c), -1, dtype=np.int64)
    for i in range(n):
        k = int(rng.integers(0, c + 1))
        t[i, :k] = rng.permutation(c)[:k]
        t[i, k + 1:] = rng.integers(-5, c + 5, max(c - k - 1, 0))
    return t


def make_data(case, n, c, seed, dtype=np.float64, ignore_frac=0.15):
    """(scores, target) for a case: NLL gets log-probabilities, the others logits at several
    scales; labels include ignore_index on some rows where the loss has one."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 1.0, (n, c)) * rng.choice([0.3, 2.0, 8.0], (n, 1))
    x = log_softmax(logits) if case.name == "nll" else logits
    if case.kind == "values":
        return x.astype(dtype), (rng.random((n, c)) < 0.4).astype(dtype)
    if case.kind == "label_lists":
        return x.astype(dtype), label_lists(rng, n, c)
    if case.kind == "probs":
        t = rng.dirichlet(np.full(c, 0.7), n)
        t[rng.random((n, c)) < 0.2] = 0.0  # some exact zeros (renormalised below)
        s = t.sum(axis=1, keepdims=True)
        t = np.where(s > 0, t / np.where(s > 0, s, 1.0), 1.0 / c)
        return x.astype(dtype), t.astype(dtype)
    labels = rng.integers(0, c, n)
    ii = case.params.get("ignore_index")
    if case.ref.ignore and ii is not None and n:
        labels[rng.random(n) < ignore_frac] = ii
    return x.astype(dtype), labels


def sample_weights(n, seed, dtype=np.float64):
    w = np.random.default_rng(seed).uniform(0.0, 2.0, n).astype(dtype)
    if n > 3:
        w[3] = 0.0
    return w


def kink_rows(case, x, t, tol):
    """Rows of a kinked loss with a hinge argument within tol of its kink (0)."""
    if not case.ref.kinked:
        return np.zeros(len(x), dtype=bool)
    z = case.ref.slack(x, t, case.params)
    with np.errstate(all="ignore"):
        return np.any(np.abs(z) <= tol, axis=1)


def ref_reduced(case, x, t, reduction, sw=None, c=None):
    x64 = np.asarray(x, dtype=np.float64)
    t_ref = np.asarray(t, dtype=np.float64) if float_target(case) else np.asarray(t)
    return case.ref.reduced(x64, t_ref, case.for_classes(c if c is not None else x64.shape[1]),
                            reduction, None if sw is None else np.asarray(sw, dtype=np.float64))


def assert_same(a, b, err_msg=""):
    a_arr, b_arr = np.asarray(a), np.asarray(b)
    assert a_arr.shape == b_arr.shape, err_msg
    assert a_arr.tobytes() == b_arr.astype(a_arr.dtype).tobytes(), (
        f"results differ bitwise: {a_arr!r} vs {b_arr!r}. {err_msg}")


def check(got, expected, rtol, what):
    assert_close_scaled(got, expected, rtol, err_msg=what)


# --------------------------------------------------------------------------------------
# against the reference
# --------------------------------------------------------------------------------------
def test_every_rowwise_loss_has_a_reference():
    # Classes, not instances: some losses have required constructor arguments.
    classes = {c.name: c for c in vars(losskit).values()
               if isinstance(c, type) and issubclass(c, losskit.Loss) and "name" in c.__dict__}
    assert sorted(classes) == losskit.available_losses()
    rowwise = [n for n, c in classes.items() if issubclass(c, losskit.RowwiseLoss)]
    assert sorted(rowwise) == sorted([*ROWWISE_REFERENCE, *EMBEDDING_REFERENCE])


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_matches_reference(case, dtype, reduction, weighted):
    n = 37
    x, t = make_data(case, n, C, seed=1, dtype=dtype)
    sw = sample_weights(n, 2, dtype) if weighted else None
    loss = case.make(reduction)
    v, g = loss.value_and_grad(x, t, sample_weight=sw)
    ev, eg = ref_reduced(case, x, t, reduction, sw)
    rtol = rtol_for(dtype)
    if reduction == "none":
        assert isinstance(v, np.ndarray) and v.shape == (n,) and v.dtype == np.dtype(dtype)
    else:
        assert np.ndim(v) == 0
    assert g.shape == (n, C) and g.dtype == np.dtype(dtype)
    check(v, ev, rtol, "value")
    ok = ~kink_rows(case, x, t, 1e-4)
    check(g[ok], eg[ok], rtol, "grad")
    if case.kind == "labels" and case.ref.ignore:
        ignored = t == case.params["ignore_index"]
        assert ignored.any()
        np.testing.assert_array_equal(g[ignored], 0.0)
        if reduction == "none":
            np.testing.assert_array_equal(v[ignored], 0.0)


def _hyp_data(case):
    @st.composite
    def strat(draw):
        # past a tile of rows (16) and past one vector of classes (8 float64 lanes at
        # AVX-512): both cross-entropy kernels
        n = draw(st.integers(0, 20))
        c = draw(st.integers(1, 11))
        x = draw(hnp.arrays(np.float64, (n, c),
                            elements=st.floats(-60, 60, allow_nan=False, allow_infinity=False)))
        if case.name == "nll":
            x = -np.abs(x)
        if case.kind == "values":
            return x, draw(hnp.arrays(np.float64, (n, c), elements=st.sampled_from([0.0, 1.0]))), c
        if case.kind == "label_lists":
            return x, label_lists(np.random.default_rng(draw(st.integers(0, 2**32))), n, c), c
        if case.kind == "probs":
            raw = draw(hnp.arrays(np.float64, (n, c), elements=st.floats(0, 1)))
            s = raw.sum(axis=1, keepdims=True)
            t = np.where(s > 0, raw / np.where(s > 0, s, 1.0), 1.0 / c)
            return x, t, c
        choices = list(range(c))
        ii = case.params.get("ignore_index")
        if case.ref.ignore and ii is not None and ii not in choices:
            choices.append(ii)
        t = np.array(draw(st.lists(st.sampled_from(choices), min_size=n, max_size=n)),
                     dtype=np.int64)
        return x, t, c

    return strat()


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_matches_reference_hypothesis(case):
    """Any shape (N from 0, C from 1), float64: per-sample values and the summed gradient."""

    @given(data=_hyp_data(case))
    def run(data):
        x, t, c = data
        ev, _ = ref_reduced(case, x, t, "none", c=c)
        _, eg = ref_reduced(case, x, t, "sum", c=c)
        loss = case.make("none", c=c)
        v, g = loss.value_and_grad(x, t)
        assert v.shape == (x.shape[0],) and g.shape == x.shape
        scale = float(np.max(np.abs(x), initial=1.0))
        # the reference and the kernel round x_y - x_c + margin differently: compare the
        # gradient away from the kinks only (the value is continuous there)
        ok = ~kink_rows(case, x, t, 64 * np.finfo(np.float64).eps * (scale + 2))
        vscale = max(float(np.max(np.abs(ev), initial=0.0)), scale)
        assert_close_scaled(v, ev, 1e-12, scale=vscale, err_msg="value")
        # gradient elements are differences of terms of size up to 1 (probabilities, unit
        # weights): they round at that scale even where they cancel to 0
        assert_close_scaled(g[ok], eg[ok], 1e-12, floor=1.0, err_msg="grad")

    run()


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("classes", [1, 2, 7, 8, 9, 15, 16, 17, 40])
@pytest.mark.parametrize("case", [c for c in CASES if c.name == "cross_entropy"
                                  and c.kind == "labels"], ids=repr)
def test_cross_entropy_kernels_meet_at_the_vector_width(case, classes, dtype, restore_isa):
    """Rows of at most one vector take the transposed-tile kernel (float32: C <= 16 lanes at
    AVX-512, 8 at AVX2; float64: half that), longer rows the row kernel: on every ISA, both
    match the reference on each side of the width, with a partial tile of rows (N = 37),
    ignored rows, zero and non-zero class and sample weights and a -inf logit."""
    x, t = make_data(case, 37, classes, seed=classes, dtype=dtype)
    x[5, 0] = -np.inf if t[5] != 0 else x[5, 0]
    sw = sample_weights(37, 1, dtype)
    ev, eg = ref_reduced(case, x, t, "none", sw=sw)
    for isa in losskit.available_isas():
        losskit.set_isa(isa)
        v, g = case.make("none", c=classes).value_and_grad(x, t, sample_weight=sw)
        check(v, ev, rtol_for(dtype), f"value isa={isa}")
        # a gradient element is p times a weight minus that weight: it rounds at their scale
        # (sample weights up to 2, class weights up to 3), exactly 0 only in exact arithmetic
        assert_close_scaled(g, eg, rtol_for(dtype), floor=6.0, err_msg=f"grad isa={isa}")


def _fd(f, x, h):
    return (-f(x + 2 * h) + 8 * f(x + h) - 8 * f(x - h) + f(x - 2 * h)) / (12 * h)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_grad_matches_finite_differences_per_row(case):
    """reduction="none" with sample weights: d sum_i s_i l_i / d x_ic, one column at a time
    (row i's value depends on row i only)."""
    n = 40
    x, t = make_data(case, n, C, seed=3)
    sw = sample_weights(n, 4)
    keep = ~kink_rows(case, x, t, 0.02)
    x, t, sw = x[keep], t[keep], sw[keep]
    loss = case.make("none")
    h = 1e-3
    numeric = np.empty_like(x)
    for col in range(C):
        e = np.zeros_like(x)
        e[:, col] = 1.0
        numeric[:, col] = _fd(lambda s: loss(x + s * e, t, sample_weight=sw), 0.0, h)
    analytic = loss.grad(x, t, sample_weight=sw)
    scale = float(np.max(np.abs(numeric)))
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9 * scale)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_grad_of_reduced_value_matches_finite_differences(case, reduction):
    """The scalar value, element by element (the mean's denominator included)."""
    n = 7
    x, t = make_data(case, n, C, seed=5, ignore_frac=0.3)
    sw = sample_weights(n, 6)
    keep = ~kink_rows(case, x, t, 0.02)
    x, t, sw = x[keep], t[keep], sw[keep]
    loss = case.make(reduction)
    h = 1e-3
    numeric = np.empty_like(x)
    for i in range(x.shape[0]):
        for j in range(C):
            e = np.zeros_like(x)
            e[i, j] = 1.0
            numeric[i, j] = _fd(lambda s: loss(x + s * e, t, sample_weight=sw), 0.0, h)
    analytic = loss.grad(x, t, sample_weight=sw)
    scale = float(np.max(np.abs(numeric)))
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9 * scale)


# --------------------------------------------------------------------------------------
# API: fused pass, sample_weight, out=, layout, dtypes
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_value_and_grad_equals_value_and_grad_separately(case, dtype, reduction, weighted):
    x, t = make_data(case, 3001, C, seed=7, dtype=dtype)
    kw = {"sample_weight": sample_weights(3001, 8, dtype)} if weighted else {}
    loss = case.make(reduction)
    v, g = loss.value_and_grad(x, t, **kw)
    assert_same(v, loss(x, t, **kw), "value")
    assert_same(g, loss.grad(x, t, **kw), "grad")


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_sample_weight_scales_each_row(case, dtype):
    n = 101
    x, t = make_data(case, n, C, seed=9, dtype=dtype)
    sw = np.random.default_rng(10).uniform(0.0, 4.0, n).astype(dtype)
    sw[::5] = 0.0
    loss = case.make("none")
    tol = dict(rtol=4 * np.finfo(dtype).eps, atol=0)
    v1, g1 = loss.value_and_grad(x, t)
    vw, gw = loss.value_and_grad(x, t, sample_weight=sw)
    np.testing.assert_allclose(vw, sw * v1, **tol)
    # gradient: within rounding of each row's scale (p_y - 1 cancels when p_y ~ 1, and the
    # weight may be applied before or after that subtraction)
    expected = sw[:, None].astype(np.float64) * g1
    wmax = max(case.params.get("weight") or (1.0,))
    row_scale = sw[:, None].astype(np.float64) * (
        np.max(np.abs(g1), axis=1, keepdims=True).astype(np.float64) + wmax)
    err = np.abs(gw - expected)
    assert np.all(err <= 4 * np.finfo(dtype).eps * (np.abs(expected) + row_scale)), err.max()
    assert np.all(vw[::5] == 0) and np.all(gw[::5] == 0)
    # the reductions use the same per-row weights
    s = case.make("sum")(x, t, sample_weight=sw)
    w64 = sw.astype(np.float64)
    scale = float(np.sum(np.abs(w64 * v1)))
    assert abs(s - np.sum(w64 * v1)) <= rtol_for(dtype) * scale
    # and unit weights change nothing
    for reduction in REDUCTIONS:
        lr = case.make(reduction)
        ones = np.ones(n, dtype=dtype)
        np.testing.assert_allclose(lr(x, t, sample_weight=ones), lr(x, t), rtol=4 * np.finfo(dtype).eps)
        assert_close_scaled(lr.grad(x, t, sample_weight=ones), lr.grad(x, t),
                            4 * np.finfo(dtype).eps)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_sample_weight_accepts_lists_and_ints(case):
    x, t = make_data(case, 6, C, seed=11)
    w = [1, 0, 2, 3, 1, 1]
    loss = case.make("mean")
    expected = loss(x, t, sample_weight=np.array(w, dtype=np.float64))
    assert_same(loss(x, t, sample_weight=w), expected)
    assert_same(loss(x, t, sample_weight=np.array(w, dtype=np.int32)), expected)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_out_is_written_in_place(case, dtype, reduction):
    x, t = make_data(case, 33, C, seed=12, dtype=dtype)
    loss = case.make(reduction)
    expected = loss.grad(x, t)
    buf = np.full((33, C), -7.0, dtype=dtype)
    g = loss.grad(x, t, out=buf)
    assert g is buf and np.shares_memory(g, buf)
    assert_same(buf, expected)
    buf2 = np.full((33, C), np.nan, dtype=dtype)
    v, g2 = loss.value_and_grad(x, t, out=buf2)
    assert g2 is buf2 and np.shares_memory(g2, buf2)
    assert_same(buf2, expected)
    assert_same(v, loss(x, t))
    # a non-contiguous out is filled in place, its neighbours untouched
    big = np.full((33, 2 * C), -3.0, dtype=dtype)
    view = big[:, ::2]
    g3 = loss.grad(x, t, out=view)
    assert g3 is view and np.shares_memory(g3, big)
    assert_same(np.ascontiguousarray(view), expected)
    np.testing.assert_array_equal(big[:, 1::2], -3.0)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_out_may_be_the_input(case, dtype):
    x, t = make_data(case, 2001, C, seed=13, dtype=dtype)
    loss = case.make("mean")
    expected = loss.grad(x, t)
    x2 = x.copy()
    g = loss.grad(x2, t, out=x2)
    assert g is x2
    assert_same(x2, expected)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_out_wrong_shape_or_dtype(case):
    x, t = make_data(case, 6, C, seed=14)
    loss = case.make("sum")
    for bad in (np.empty((6, C + 1)), np.empty(6 * C), np.empty((C, 6))):
        with pytest.raises(ValueError, match="out"):
            loss.grad(x, t, out=bad)
    with pytest.raises((TypeError, ValueError), match="out"):
        loss.value_and_grad(x, t, out=np.empty((6, C), dtype=np.float32))


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("layout", ["columns", "transpose", "reversed"])
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_non_contiguous_inputs(case, dtype, layout):
    xb, tb = make_data(case, 20, 2 * C, seed=15, dtype=dtype)
    if layout == "columns":
        x = xb[:10, ::2]
    elif layout == "transpose":
        x = np.ascontiguousarray(xb[:10, :C].T).T
    else:
        x = xb[9::-1, C - 1::-1]
    assert x.shape == (10, C) and not x.flags.c_contiguous
    if case.kind == "probs":
        t = np.ascontiguousarray(tb[:10, :C]).T.copy().T  # a Fortran-ordered probability matrix
        t = t / t.sum(axis=1, keepdims=True)
    elif case.kind == "values":
        t = np.asfortranarray(tb[:10, :C])
    elif case.kind == "label_lists":
        t = make_data(case, 20, C, seed=16)[1][::2]
        assert not t.flags.c_contiguous
    else:
        _, labels = make_data(case, 20, C, seed=16)
        t = labels[::2]
        assert not t.flags.c_contiguous
    sw_big = np.random.default_rng(17).uniform(0, 2, 20).astype(dtype)
    sw = sw_big[::2]
    xc, tc, swc = np.ascontiguousarray(x), np.ascontiguousarray(t), np.ascontiguousarray(sw)
    x_before = x.copy()
    eps = np.finfo(dtype).eps
    for reduction in REDUCTIONS:
        loss = case.make(reduction)
        for kw, kwc in (({}, {}), ({"sample_weight": sw}, {"sample_weight": swc})):
            va, ga = loss.value_and_grad(x, t, **kw)
            vc, gc = loss.value_and_grad(xc, tc, **kwc)
            assert ga.shape == (10, C)
            assert_close_scaled(va, vc, 8 * eps)
            assert_close_scaled(ga, gc, 8 * eps)
    assert_same(x, x_before)


LABEL_DTYPES = [np.int32, np.int16, np.int8, np.uint8, np.uint16, np.uint32, np.uint64, np.intp]


@pytest.mark.parametrize("label_dtype", LABEL_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", sorted(ROWWISE_REFERENCE))
def test_integer_label_dtypes_accepted(name, label_dtype):
    case = RowCase(name, ROWWISE_REFERENCE[name].param_sets[0])
    if case.kind == "values" or (case.kind == "label_lists" and np.dtype(label_dtype).kind == "u"):
        pytest.skip("float targets; or label lists, whose -1 padding unsigned types cannot hold")
    x, t = make_data(case, 50, C, seed=18, ignore_frac=0.0)
    expected = {r: case.make(r).value_and_grad(x, t.astype(np.int64)) for r in REDUCTIONS}
    for r in REDUCTIONS:
        v, g = case.make(r).value_and_grad(x, t.astype(label_dtype))
        assert_same(v, expected[r][0], f"{r} value, labels {np.dtype(label_dtype)}")
        assert_same(g, expected[r][1], f"{r} grad, labels {np.dtype(label_dtype)}")
    # and plain Python lists of ints
    assert_same(case.make("sum")(x.tolist(), t.tolist()), expected["sum"][0])


IGNORE_CASES = [c for c in CASES if c.kind == "labels" and c.ref.ignore]


@pytest.mark.parametrize("case", IGNORE_CASES, ids=[repr(c) for c in IGNORE_CASES])
def test_int32_labels_with_ignore_index(case):
    x, t = make_data(case, 64, C, seed=19)
    for r in REDUCTIONS:
        loss = case.make(r)
        assert_same(loss(x, t.astype(np.int32)), loss(x, t))
        assert_same(loss.grad(x, t.astype(np.int32)), loss.grad(x, t))


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_float32_agrees_with_float64(case):
    x32, t = make_data(case, 300, C, seed=20, dtype=np.float32)
    x64 = x32.astype(np.float64)
    t64 = t.astype(np.float64) if float_target(case) else t
    ok = ~kink_rows(case, x64, t, 1e-4)
    sw = sample_weights(300, 21, np.float32)
    for reduction in REDUCTIONS:
        loss = case.make(reduction)
        v32, g32 = loss.value_and_grad(x32, t, sample_weight=sw)
        v64, g64 = loss.value_and_grad(x64, t64, sample_weight=sw.astype(np.float64))
        assert g32.dtype == np.float32 and g64.dtype == np.float64
        assert np.asarray(v32).dtype == np.float32 or reduction != "none"
        assert_close_scaled(v32, v64, 1e-5, err_msg=reduction)
        assert_close_scaled(g32[ok], g64[ok], 1e-5, err_msg=reduction)


def test_float16_and_int_scores_are_converted():
    case = RowCase("cross_entropy", ROWWISE_REFERENCE["cross_entropy"].param_sets[0])
    x, t = make_data(case, 20, C, seed=22)
    x16 = x.astype(np.float16)
    loss = case.make("none")
    v = loss(x16, t)
    assert v.dtype == np.float32
    assert_same(v, loss(x16.astype(np.float32), t))
    xi = np.round(x).astype(np.int64)
    g = loss.grad(xi, t)
    assert g.dtype == np.float64
    assert_same(g, loss.grad(xi.astype(np.float64), t))


# --------------------------------------------------------------------------------------
# threads and ISAs
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("shape", [(4096, 100), (20000, 10)], ids=["4096x100", "20000x10"])
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_one_and_two_threads_bitwise_identical(case, shape, dtype, restore_threads):
    n, c = shape
    x, t = make_data(case, n, c, seed=23, dtype=dtype)
    sw = sample_weights(n, 24, dtype)
    results = {}
    for threads in (1, 2):
        losskit.set_num_threads(threads)
        assert losskit.get_num_threads() == threads
        out = []
        for reduction in ("none", "mean", "sum"):
            loss = case.make(reduction, c=c)
            for kw in ({}, {"sample_weight": sw}):
                v, g = loss.value_and_grad(x, t, **kw)
                out += [v, g]
            out.append(loss.grad(x, t))
        results[threads] = out
    for i, (a, b) in enumerate(zip(results[1], results[2])):
        assert_same(a, b, f"result #{i} differs between 1 and 2 threads")


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_every_isa_matches_reference(case, dtype, isa):
    n, c = 203, 37  # odd class count: full vectors plus tails in every row
    x, t = make_data(case, n, c, seed=25, dtype=dtype)
    sw = sample_weights(n, 26, dtype)
    assert losskit.get_isa() == isa
    rtol = rtol_for(dtype)
    ok = ~kink_rows(case, x, t, 1e-4)
    for reduction in REDUCTIONS:
        v, g = case.make(reduction, c=c).value_and_grad(x, t, sample_weight=sw)
        ev, eg = ref_reduced(case, x, t, reduction, sw, c=c)
        check(v, ev, rtol, f"value isa={isa} {reduction}")
        check(g[ok], eg[ok], rtol, f"grad isa={isa} {reduction}")


@pytest.mark.parametrize("c", [1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 64, 65])
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_every_isa_every_class_count(c, dtype, restore_isa):
    """Class counts around the vector widths, each ISA, against the reference."""
    rtol = rtol_for(dtype)
    for name in sorted(ROWWISE_REFERENCE):
        case = RowCase(name, ROWWISE_REFERENCE[name].param_sets[-1])
        x, t = make_data(case, 9, c, seed=27 + c, dtype=dtype)
        ev, eg = ref_reduced(case, x, t, "none", c=c)
        ok = ~kink_rows(case, x, t, 1e-4)
        for isa_name in losskit.available_isas():
            losskit.set_isa(isa_name)
            v, g = case.make("none", c=c).value_and_grad(x, t)
            check(v, ev, rtol, f"{name} C={c} isa={isa_name}")
            check(g[ok], eg[ok], rtol, f"{name} C={c} isa={isa_name}")


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_isas_agree_with_each_other(case, dtype, restore_isa):
    x, t = make_data(case, 500, 13, seed=28, dtype=dtype)
    res = {}
    for name in losskit.available_isas():
        losskit.set_isa(name)
        loss = case.make("none", c=13)
        res[name] = loss.value_and_grad(x, t)
    base = res[losskit.available_isas()[0]]
    eps = np.finfo(dtype).eps
    for name, (v, g) in res.items():
        assert_close_scaled(v, base[0], 16 * eps, err_msg=f"value {name}")
        assert_close_scaled(g, base[1], 16 * eps, err_msg=f"grad {name}")


# --------------------------------------------------------------------------------------
# extremes: huge logits, -inf masking, empty input, everything ignored
# --------------------------------------------------------------------------------------
BIG = [
    # logits row, label
    ([1e4, -1e4, 0.0], 0),
    ([1e4, -1e4, 0.0], 1),
    ([1e4, -1e4, 0.0], 2),
    ([-1e4, -1e4, -1e4], 1),
    ([1e4, 1e4, -1e4], 0),
    ([-1e4, 1e4, 3.0], 2),
]


BIG_X = np.array([r for r, _ in BIG])
BIG_T = np.array([y for _, y in BIG])


@pytest.mark.parametrize("isa_name", losskit.available_isas())
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_cross_entropy_value_exact_at_logits_of_1e4(dtype, isa_name, restore_isa):
    """The loss is log(sum exp(x - max)) - (x_y - max): exact (to the dtype) for logits of any
    size, also where the answer is O(1) (ties: log 2, log 3) next to logits of 1e4."""
    losskit.set_isa(isa_name)
    x = BIG_X.astype(dtype)
    v = losskit.CrossEntropyLoss(reduction="none")(x, BIG_T)
    expected = np.array([0.0, 2e4, 1e4, math.log(3.0), math.log(2.0), 1e4 - 3.0])
    np.testing.assert_allclose(v, expected.astype(dtype), rtol=2 * np.finfo(dtype).eps, atol=0)


@pytest.mark.parametrize("isa_name", losskit.available_isas())
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_rowwise_losses_finite_and_exact_at_logits_of_1e4(dtype, isa_name, restore_isa):
    losskit.set_isa(isa_name)
    x = BIG_X.astype(dtype)
    g = losskit.CrossEntropyLoss(reduction="none").grad(x, BIG_T)
    assert np.all(np.isfinite(g))
    eg = np.array([[0, 0, 0], [1, -1, 0], [1, 0, -1], [1 / 3, -2 / 3, 1 / 3], [-0.5, 0.5, 0],
                   [0, 1, -1]], dtype=np.float64)
    np.testing.assert_allclose(g, eg, rtol=0, atol=4 * np.finfo(dtype).eps)
    for case in (RowCase("cross_entropy", {"weight": (0.5, 2.0, 1.0), "label_smoothing": 0.3}),
                 RowCase("multi_margin", {"p": 2, "margin": 1.0}),
                 RowCase("multi_margin", {"p": 1, "margin": 1.0, "weight": (0.5, 2.0, 1.0)}),
                 RowCase("multiclass_hinge", {"margin": 1.0, "squared": False}),
                 RowCase("multiclass_hinge", {"margin": 1.0, "squared": True}),
                 RowCase("nll", {})):
        xx = x if case.name != "nll" else log_softmax(x.astype(np.float64)).astype(dtype)
        v, g = case.make("none").value_and_grad(xx, BIG_T)
        ev, eg = ref_reduced(case, xx, BIG_T, "none")
        assert np.all(np.isfinite(v)) and np.all(np.isfinite(g)), case
        assert_close_scaled(g, eg, 4 * np.finfo(dtype).eps, err_msg=repr(case))
        if case.name != "cross_entropy":
            assert_close_scaled(v, ev, 4 * np.finfo(dtype).eps, err_msg=repr(case))
        else:  # the smoothing term is O(1e4): within rounding of it
            assert_close_scaled(v, ev, 4 * np.finfo(dtype).eps, scale=2e4)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_cross_entropy_logits_near_dtype_max(dtype):
    """Logits near the top of the dtype's range: no overflow in exp or in the sum."""
    big = float(np.finfo(dtype).max) / 4
    x = np.array([[big, 0.0, -big], [0.0, big, big], [-big, -big, -big]], dtype=dtype)
    t = np.array([1, 2, 0])
    v, g = losskit.CrossEntropyLoss(reduction="none").value_and_grad(x, t)
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(v[1:], [math.log(2.0), math.log(3.0)], rtol=4 * np.finfo(dtype).eps)
    assert v[0] == np.asarray(big, dtype=dtype)


MASK_CASES = [c for c in CASES if c.kind == "labels" and not c.params.get("label_smoothing")]


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("case", MASK_CASES, ids=[repr(c) for c in MASK_CASES])
def test_minus_inf_logits_on_other_classes(case, dtype):
    """-inf on classes that are not the target (masking): finite loss, zero gradient there
    (label smoothing sums -log p over every class, so it is left out here)."""
    rng = np.random.default_rng(29)
    n = 24
    x = rng.normal(0, 2, (n, C))
    if case.name == "nll":
        x = log_softmax(x)
    t = rng.integers(0, C, n)
    mask = rng.random((n, C)) < 0.4
    mask[np.arange(n), t] = False
    x[mask] = -np.inf
    x = x.astype(dtype)
    for reduction in REDUCTIONS:
        loss = case.make(reduction)
        v, g = loss.value_and_grad(x, t)
        assert np.all(np.isfinite(v)), v
        assert np.all(np.isfinite(g)), g
        np.testing.assert_array_equal(g[mask], 0.0)
        ev, eg = ref_reduced(case, x, t, reduction)
        ok = ~kink_rows(case, x, t, 1e-4)
        check(v, ev, rtol_for(dtype), f"value {reduction}")
        check(g[ok], eg[ok], rtol_for(dtype), f"grad {reduction}")


def test_minus_inf_logits_same_as_dropping_the_class():
    rng = np.random.default_rng(30)
    x = rng.normal(0, 2, (10, 4))
    t = rng.integers(0, 3, 10)  # never class 3
    xm = x.copy()
    xm[:, 3] = -np.inf
    for loss in (losskit.CrossEntropyLoss(reduction="none"),
                 losskit.MulticlassHingeLoss(reduction="none"),
                 losskit.MulticlassHingeLoss(squared=True, reduction="none")):
        v, g = loss.value_and_grad(xm, t)
        v3, g3 = loss.value_and_grad(x[:, :3], t)
        np.testing.assert_allclose(v, v3, rtol=1e-14, atol=0)
        np.testing.assert_allclose(g[:, :3], g3, rtol=1e-14, atol=1e-300)
        np.testing.assert_array_equal(g[:, 3], 0.0)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_empty_batch(case, dtype):
    x = np.empty((0, C), dtype=dtype)
    t = {"probs": np.empty((0, C), dtype=dtype), "values": np.empty((0, C), dtype=dtype),
         "label_lists": np.empty((0, C), dtype=np.int64)}.get(case.kind, np.empty(0, dtype=np.int64))
    v = case.make("none")(x, t)
    assert isinstance(v, np.ndarray) and v.shape == (0,) and v.dtype == np.dtype(dtype)
    assert case.make("sum")(x, t) == 0.0
    assert math.isnan(case.make("mean")(x, t))
    for reduction in REDUCTIONS:
        v, g = case.make(reduction).value_and_grad(x, t)
        assert g.shape == (0, C) and g.dtype == np.dtype(dtype)


@pytest.mark.parametrize("name", ["cross_entropy", "nll"])
def test_every_row_ignored(name):
    x = np.random.default_rng(31).normal(size=(6, 3))
    t = np.full(6, -100)
    for reduction, expected in (("sum", 0.0), ("none", np.zeros(6))):
        np.testing.assert_array_equal(losskit.get_loss(name, reduction=reduction)(x, t), expected)
    assert math.isnan(losskit.get_loss(name, reduction="mean")(x, t))  # 0/0, as PyTorch
    np.testing.assert_array_equal(losskit.get_loss(name, reduction="sum").grad(x, t), 0.0)


def test_ignore_index_outside_class_range_is_ignored():
    x = np.random.default_rng(32).normal(size=(5, 3))
    t = np.array([0, 7, 2, 7, 1])
    loss = losskit.CrossEntropyLoss(ignore_index=7, reduction="mean")
    v, g = loss.value_and_grad(x, t)
    keep = t != 7
    v2, g2 = losskit.CrossEntropyLoss(reduction="mean").value_and_grad(x[keep], t[keep])
    assert v == pytest.approx(v2, rel=1e-14)
    np.testing.assert_allclose(g[keep], g2, rtol=1e-14)
    np.testing.assert_array_equal(g[~keep], 0.0)


def test_ignore_index_that_is_a_class():
    x = np.random.default_rng(33).normal(size=(8, 4))
    t = np.array([0, 1, 2, 3, 1, 1, 0, 2])
    for name in ("cross_entropy", "nll"):
        loss = losskit.get_loss(name, ignore_index=1, reduction="none")
        v, g = loss.value_and_grad(x, t)
        np.testing.assert_array_equal(v[t == 1], 0.0)
        np.testing.assert_array_equal(g[t == 1], 0.0)
        assert np.all(v[t != 1] != 0)


# --------------------------------------------------------------------------------------
# identities and textbook examples
# --------------------------------------------------------------------------------------
SVM_SCORES = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
SVM_LABELS = np.array([0, 1, 2])


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_textbook_svm_example(dtype):
    x = SVM_SCORES.astype(dtype)
    loss = losskit.MulticlassHingeLoss(reduction="none")
    v = loss(x, SVM_LABELS)
    np.testing.assert_allclose(v, [2.9, 0.0, 12.9], rtol=rtol_for(dtype) * 10, atol=1e-5)
    assert losskit.MulticlassHingeLoss()(x, SVM_LABELS) == pytest.approx(15.8 / 3, rel=1e-5)
    g = losskit.MulticlassHingeLoss(reduction="sum").grad(x, SVM_LABELS)
    # row 0: only the car score violates (5.1 - 3.2 + 1 > 0); row 2: both others do
    np.testing.assert_array_equal(g, np.array([[-1, 1, 0], [0, 0, 0], [1, 1, -2]], dtype=dtype))


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_textbook_softmax_example(dtype):
    x = SVM_SCORES[:1].astype(dtype)
    v = losskit.CrossEntropyLoss(reduction="sum")(x, [0])
    assert v == pytest.approx(2.04, abs=5e-3)
    exact = math.log(math.exp(3.2) + math.exp(5.1) + math.exp(-1.7)) - 3.2
    assert v == pytest.approx(exact, rel=rtol_for(dtype))


@pytest.mark.parametrize("squared,p", [(False, 1), (True, 2)])
def test_multi_margin_is_multiclass_hinge_over_c(squared, p):
    x, t = make_data(RowCase("multi_margin", {}), 50, 6, seed=34)
    w = np.linspace(0.5, 2.0, 6)
    for reduction in REDUCTIONS:
        mm = losskit.MultiMarginLoss(p=p, margin=0.8, weight=w, reduction=reduction)
        mh = losskit.MulticlassHingeLoss(margin=0.8, squared=squared, weight=w, reduction=reduction)
        np.testing.assert_allclose(np.asarray(mm(x, t)) * 6, mh(x, t), rtol=1e-14)
        np.testing.assert_allclose(mm.grad(x, t) * 6, mh.grad(x, t), rtol=1e-14, atol=1e-300)


@pytest.mark.parametrize("weighted", [False, True])
def test_nll_of_log_softmax_is_cross_entropy(weighted):
    x, t = make_data(RowCase("cross_entropy", {}), 60, 7, seed=35)
    t[::9] = -100
    w = np.linspace(0.0, 2.0, 7) if weighted else None
    for reduction in REDUCTIONS:
        ce = losskit.CrossEntropyLoss(weight=w, reduction=reduction)
        nll = losskit.NLLLoss(weight=w, reduction=reduction)
        # (both round at the scale of the logits: lse and x_y cancel when p_y ~ 1)
        assert_close_scaled(ce(x, t), nll(log_softmax(x), t), 1e-13,
                            scale=float(np.max(np.abs(x))) * 2.0)


@pytest.mark.parametrize("smoothing", [0.0, 0.3])
@pytest.mark.parametrize("weighted", [False, True])
def test_one_hot_probabilities_equal_labels(smoothing, weighted):
    x, t = make_data(RowCase("cross_entropy", {}), 40, 5, seed=36, ignore_frac=0.0)
    onehot = np.eye(5)[t]
    w = np.array([0.5, 1.0, 2.0, 0.25, 1.5]) if weighted else None
    reductions = ("none", "sum") if weighted else REDUCTIONS  # weighted mean: sum w_y vs N
    for reduction in reductions:
        loss = losskit.CrossEntropyLoss(weight=w, label_smoothing=smoothing, reduction=reduction)
        va, ga = loss.value_and_grad(x, t)
        vb, gb = loss.value_and_grad(x, onehot)
        assert_close_scaled(va, vb, 1e-13, scale=float(np.max(np.abs(x))) * 2.0)
        assert_close_scaled(ga, gb, 1e-13, scale=2.0)


def test_label_smoothing_one_is_uniform_target():
    x = np.random.default_rng(37).normal(size=(9, 4))
    t = np.arange(9) % 4
    a = losskit.CrossEntropyLoss(label_smoothing=1.0, reduction="none")(x, t)
    b = losskit.CrossEntropyLoss(reduction="none")(x, np.full((9, 4), 0.25))
    np.testing.assert_allclose(a, b, rtol=1e-14)


def test_cross_entropy_weighted_mean_is_pytorch_convention():
    """mean = sum_i w_{y_i} l_i / sum_i w_{y_i}: a class of weight 0 drops out entirely."""
    x = np.random.default_rng(38).normal(size=(6, 3))
    t = np.array([0, 1, 2, 2, 1, 0])
    w = np.array([1.0, 0.0, 3.0])
    v = losskit.CrossEntropyLoss(weight=w)(x, t)
    per = losskit.CrossEntropyLoss(reduction="none")(x, t)
    assert v == pytest.approx(np.sum(w[t] * per) / np.sum(w[t]), rel=1e-14)


def test_sample_weight_mean_divides_by_weighted_class_weights():
    x = np.random.default_rng(39).normal(size=(6, 3))
    t = np.array([0, 1, 2, -100, 1, 0])
    w = np.array([1.0, 0.5, 3.0])
    s = np.array([2.0, 1.0, 0.5, 7.0, 0.0, 1.0])
    v = losskit.CrossEntropyLoss(weight=w)(x, t, sample_weight=s)
    per = losskit.CrossEntropyLoss(weight=w, reduction="none")(x, t)
    keep = t != -100
    assert v == pytest.approx(np.sum(s * per) / np.sum((s * w[np.where(keep, t, 0)])[keep]), rel=1e-14)
    v2 = losskit.MultiMarginLoss()(x, np.abs(t) % 3, sample_weight=s)
    per2 = losskit.MultiMarginLoss(reduction="none")(x, np.abs(t) % 3)
    assert v2 == pytest.approx(np.sum(s * per2) / np.sum(s), rel=1e-14)


# --------------------------------------------------------------------------------------
# PyTorch as an oracle (values and autograd gradients)
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def _torch_check(torch, fn, x, dtype, reduction, v, g, what):
    tx = torch.tensor(x, requires_grad=True)
    out = fn(tx)
    (out.sum() if reduction == "none" else out).backward()
    ev, eg = out.detach().numpy(), tx.grad.numpy()
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    assert np.shape(v) == np.shape(ev), what
    scale = float(np.max(np.abs(ev))) if np.size(ev) else 0.0
    np.testing.assert_allclose(np.asarray(v, dtype=np.float64), ev, rtol=rtol, atol=rtol * scale,
                               err_msg=f"value {what}")
    gscale = float(np.max(np.abs(eg))) if eg.size else 0.0
    np.testing.assert_allclose(g, eg, rtol=rtol, atol=rtol * gscale, err_msg=f"grad {what}")


CE_TORCH = [
    {"weight": w, "ignore_index": ii, "label_smoothing": ls}
    for w in (None, (0.5, 2.0, 1.0, 0.0, 3.0))
    for ii in (-100, 1)
    for ls in (0.0, 0.2)
]
# (ignore_index plays no part with probability targets)
CE_TORCH_KINDS = [(p, "labels") for p in CE_TORCH] + [
    (p, "probs") for p in CE_TORCH if p["ignore_index"] == -100]


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("params,kind", CE_TORCH_KINDS, ids=[
    f"{k}-w={p['weight'] is not None},ii={p['ignore_index']},ls={p['label_smoothing']}"
    for p, k in CE_TORCH_KINDS])
def test_cross_entropy_matches_torch(torch, params, kind, reduction, dtype):
    case = RowCase("cross_entropy", params, kind)
    x, t = make_data(case, 41, C, seed=40, dtype=dtype, ignore_frac=0.2)
    loss = case.make(reduction)
    v, g = loss.value_and_grad(x, t)
    tw = None if params["weight"] is None else torch.tensor(np.array(params["weight"], dtype=dtype))
    tt = torch.tensor(t)
    fn = lambda tx: torch.nn.functional.cross_entropy(  # noqa: E731
        tx, tt, weight=tw, ignore_index=params["ignore_index"],
        label_smoothing=params["label_smoothing"], reduction=reduction)
    _torch_check(torch, fn, x, dtype, reduction, v, g, repr(case))


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("params", CE_TORCH[::2], ids=lambda p: f"w={p['weight'] is not None},ii={p['ignore_index']}")
def test_cross_entropy_sample_weight_matches_weighted_torch(torch, params, reduction, dtype):
    """sample_weight s: none -> s*l, sum -> sum s*l, mean -> sum s*l / sum s*w[y] (rows kept)."""
    case = RowCase("cross_entropy", params)
    x, t = make_data(case, 41, C, seed=41, dtype=dtype, ignore_frac=0.2)
    s = sample_weights(41, 42, dtype)
    v, g = case.make(reduction).value_and_grad(x, t, sample_weight=s)
    F = torch.nn.functional
    w = np.ones(C, dtype=dtype) if params["weight"] is None else np.array(params["weight"], dtype=dtype)
    keep = t != params["ignore_index"]
    den = float(np.sum((s.astype(np.float64) * w[np.where(keep, t, 0)])[keep]))
    ts, tt = torch.tensor(s), torch.tensor(t)
    tw = None if params["weight"] is None else torch.tensor(w)

    def fn(tx):
        per = F.cross_entropy(tx, tt, weight=tw, ignore_index=params["ignore_index"],
                              reduction="none") * ts
        return {"none": per, "sum": per.sum(), "mean": per.sum() / den}[reduction]

    _torch_check(torch, fn, x, dtype, reduction, v, g, repr(case))


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("params", [{"weight": None, "ignore_index": -100},
                                    {"weight": (0.5, 2.0, 1.0, 0.0, 3.0), "ignore_index": -100},
                                    {"weight": (0.5, 2.0, 1.0, 0.0, 3.0), "ignore_index": 2},
                                    {"weight": None, "ignore_index": 0}],
                         ids=["plain", "weight", "weight-ii2", "ii0"])
def test_nll_matches_torch(torch, params, reduction, dtype):
    case = RowCase("nll", params)
    x, t = make_data(case, 41, C, seed=43, dtype=dtype, ignore_frac=0.2)
    v, g = case.make(reduction).value_and_grad(x, t)
    tw = None if params["weight"] is None else torch.tensor(np.array(params["weight"], dtype=dtype))
    tt = torch.tensor(t)
    fn = lambda tx: torch.nn.functional.nll_loss(  # noqa: E731
        tx, tt, weight=tw, ignore_index=params["ignore_index"], reduction=reduction)
    _torch_check(torch, fn, x, dtype, reduction, v, g, repr(case))


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True], ids=["noweight", "weight"])
@pytest.mark.parametrize("margin", [1.0, 0.7, 2.5])
@pytest.mark.parametrize("p", [1, 2])
def test_multi_margin_matches_torch(torch, p, margin, weighted, reduction, dtype):
    params = {"p": p, "margin": margin, "weight": (0.5, 2.0, 1.0, 0.0, 3.0) if weighted else None}
    case = RowCase("multi_margin", params)
    x, t = make_data(case, 41, C, seed=44, dtype=dtype)
    v, g = case.make(reduction).value_and_grad(x, t)
    tw = None if not weighted else torch.tensor(np.array(params["weight"], dtype=dtype))
    tt = torch.tensor(t)
    fn = lambda tx: torch.nn.functional.multi_margin_loss(  # noqa: E731
        tx, tt, p=p, margin=margin, weight=tw, reduction=reduction)
    _torch_check(torch, fn, x, dtype, reduction, v, g, repr(case))


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("p", [1, 2])
def test_multi_margin_kink_gradient_matches_torch(torch, p, dtype):
    """Scores exactly on the margin (z = 0): the gradient there is 0, as in PyTorch."""
    x = np.array([[2.0, 1.0, 0.5, 1.0], [0.0, 1.0, -1.0, 3.0], [1.5, 0.5, 0.5, 0.5]], dtype=dtype)
    t = np.array([0, 1, 0])
    v, g = losskit.MultiMarginLoss(p=p, reduction="sum").value_and_grad(x, t)
    fn = lambda tx: torch.nn.functional.multi_margin_loss(  # noqa: E731
        tx, torch.tensor(t), p=p, margin=1.0, reduction="sum")
    _torch_check(torch, fn, x, dtype, "sum", v, g, f"kinks p={p}")
    # (the kink rows' gradient is 0 except for genuinely violated classes)
    np.testing.assert_array_equal(g[2], 0.0)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_cross_entropy_extremes_match_torch(torch, dtype):
    x = np.array([r for r, _ in BIG] + [[2.0, -np.inf, 0.5]], dtype=dtype)
    t = np.array([y for _, y in BIG] + [2])
    v, g = losskit.CrossEntropyLoss(reduction="none").value_and_grad(x, t)
    fn = lambda tx: torch.nn.functional.cross_entropy(tx, torch.tensor(t), reduction="none")  # noqa: E731
    _torch_check(torch, fn, x, dtype, "none", v, g, "extremes")
