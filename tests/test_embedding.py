"""The losses over pairs and triplets of rows of embeddings, (N, D) each: cosine_embedding
(input1, input2, target +-1) and triplet_margin (anchor, positive, negative).

Parametrized by reference.EMBEDDING_REFERENCE: the value and the gradient of every array of
embeddings against the float64 NumPy reference and against 4th-order central differences,
reductions, sample weights, value_and_grads / value_and_grad / grad / __call__ agreeing
bitwise, out=, float32, thread counts, ISAs, and bad input refused before anything is written.
(PyTorch as the oracle: test_torch_oracle.py; the boundary and grad_hess rules: test_boundary.py,
test_grad_hess.py.)
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import losskit
from reference import EMBEDDING_REFERENCE, assert_close_scaled, rtol_for

DTYPES = [np.float32, np.float64]
REDUCTIONS = ["none", "sum", "mean"]
CASES = [(name, p) for name, ref in EMBEDDING_REFERENCE.items() for p in ref.param_sets]


def case_id(case):
    name, params = case
    return f"{name}-" + ",".join(f"{k}={v}" for k, v in params.items())


def data(name, n, d, seed, dtype=np.float64):
    args = EMBEDDING_REFERENCE[name].sample(np.random.default_rng(seed), n, d)
    return [a.astype(dtype) for a in args]


def weights(n, seed, dtype=np.float64):
    w = np.random.default_rng(seed).uniform(0.0, 2.0, n).astype(dtype)
    if n > 3:
        w[3] = 0.0
    return w


def gradient_count(name):
    return len(losskit.get_loss(name)._kernel_info["operands"]) + 1


def reference(name, params, args, reduction, sw=None):
    """(value, [gradient of each array of embeddings]) of the reduced loss, float64."""
    value, *grads = EMBEDDING_REFERENCE[name].rows(*args, **params)
    grads = grads[: gradient_count(name)]
    s = np.ones(len(value)) if sw is None else np.asarray(sw, dtype=np.float64)
    scale = s / (np.sum(s) if reduction == "mean" else 1.0)
    v = s * value if reduction == "none" else float(np.sum(scale * value))
    return v, [scale[:, None] * g for g in grads]


def away_from_kinks(name, params, args, tol):
    slack = EMBEDDING_REFERENCE[name].slack(*[np.asarray(a, np.float64) for a in args], **params)
    return ~np.any(np.abs(np.atleast_2d(slack.T).T) <= tol, axis=1)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_matches_reference(case, weighted, reduction, dtype):
    name, params = case
    n, d = 37, 19
    args = data(name, n, d, seed=1, dtype=dtype)
    sw = weights(n, 2, dtype) if weighted else None
    loss = losskit.get_loss(name, reduction=reduction, **params)
    value, *grads = loss.value_and_grads(*args, sample_weight=sw)
    ev, egrads = reference(name, params, args, reduction, sw)
    assert len(grads) == gradient_count(name)
    rtol = rtol_for(dtype)
    assert_close_scaled(value, ev, rtol, err_msg="value")
    if reduction == "none":
        assert value.shape == (n,) and value.dtype == np.dtype(dtype)
    ok = away_from_kinks(name, params, args, 1e-4)
    for i, (g, eg) in enumerate(zip(grads, egrads)):
        assert g.shape == (n, d) and g.dtype == np.dtype(dtype)
        assert_close_scaled(g[ok], eg[ok], rtol, err_msg=f"gradient {i}")


def _fd(f, h):
    return (-f(2 * h) + 8 * f(h) - 8 * f(-h) + f(-2 * h)) / (12 * h)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_gradients_match_finite_differences(case, reduction):
    """Every array of embeddings, element by element, of the reduced value (weights included)."""
    name, params = case
    n, d = 6, 4
    args = data(name, n, d, seed=3)
    sw = weights(n, 4)
    keep = away_from_kinks(name, params, args, 0.02)
    args, sw = [a[keep] for a in args], sw[keep]
    loss = losskit.get_loss(name, reduction=reduction, **params)
    _, *grads = loss.value_and_grads(*args, sample_weight=sw)
    for which, g in enumerate(grads):
        numeric = np.empty_like(g)
        for i in range(g.shape[0]):
            for j in range(d):
                e = np.zeros_like(g)
                e[i, j] = 1.0

                def f(s):
                    moved = list(args)
                    moved[which] = args[which] + s * e
                    return loss(*moved, sample_weight=sw)

                numeric[i, j] = _fd(f, 1e-4)
        np.testing.assert_allclose(g, numeric, rtol=1e-6, atol=1e-8, err_msg=f"argument {which}")


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_every_call_agrees_bitwise(case, reduction, dtype):
    name, params = case
    args = data(name, 3001, 7, seed=5, dtype=dtype)
    sw = weights(3001, 6, dtype)
    loss = losskit.get_loss(name, reduction=reduction, **params)
    value, *grads = loss.value_and_grads(*args, sample_weight=sw)
    v2, g2 = loss.value_and_grad(*args, sample_weight=sw)
    np.testing.assert_array_equal(v2, value)
    np.testing.assert_array_equal(g2, grads[0])
    np.testing.assert_array_equal(loss(*args, sample_weight=sw), value)
    np.testing.assert_array_equal(loss.grad(*args, sample_weight=sw), grads[0])
    # out= receives each gradient in place, also non-contiguous buffers
    outs = [np.full_like(g, np.nan) for g in grads]
    outs[-1] = np.full((3001, 14), np.nan, dtype=dtype)[:, ::2]
    got = loss.value_and_grads(*args, sample_weight=sw, out=tuple(outs))
    for o, r, g in zip(outs, got[1:], grads):
        assert r is o
        np.testing.assert_array_equal(o, g)
    # an out over an argument: the result of fresh copies
    fresh = [a.copy() for a in args]
    _, *over = loss.value_and_grads(*args, sample_weight=sw, out=tuple(args[: len(grads)]))
    for r, g in zip(over, losskit.get_loss(name, reduction=reduction, **params)
                    .value_and_grads(*fresh, sample_weight=sw)[1:]):
        np.testing.assert_array_equal(r, g)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_float32_agrees_with_float64(case):
    name, params = case
    args = data(name, 300, 16, seed=7, dtype=np.float32)
    ok = away_from_kinks(name, params, args, 1e-3)
    for reduction in REDUCTIONS:
        loss = losskit.get_loss(name, reduction=reduction, **params)
        v32, *g32 = loss.value_and_grads(*args)
        v64, *g64 = loss.value_and_grads(*[a.astype(np.float64) for a in args])
        assert_close_scaled(v32, v64, 1e-5, err_msg=reduction)
        for a, b in zip(g32, g64):
            assert a.dtype == np.float32
            assert_close_scaled(a[ok], b[ok], 1e-5, err_msg=reduction)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_threads_bitwise_and_isas_agree(case, dtype, restore_isa, restore_threads):
    name, params = case
    args = data(name, 5000, 40, seed=8, dtype=dtype)
    sw = weights(5000, 9, dtype)
    results = {}
    for isa in losskit.available_isas():
        losskit.set_isa(isa)
        for threads in (1, 2):
            losskit.set_num_threads(threads)
            loss = losskit.get_loss(name, reduction="mean", **params)
            results[isa, threads] = loss.value_and_grads(*args, sample_weight=sw)
    ev, egrads = reference(name, params, args, "mean", sw)
    ok = away_from_kinks(name, params, args, 1e-3)
    for isa in losskit.available_isas():
        for a, b in zip(results[isa, 1], results[isa, 2]):
            np.testing.assert_array_equal(a, b)
        assert_close_scaled(results[isa, 1][0], ev, rtol_for(dtype), err_msg=isa)
        for g, eg in zip(results[isa, 1][1:], egrads):
            assert_close_scaled(g[ok], eg[ok], rtol_for(dtype), err_msg=isa)


@pytest.mark.parametrize("name", sorted(EMBEDDING_REFERENCE))
def test_empty_batch(name):
    args = data(name, 0, 5, seed=10)
    assert losskit.get_loss(name, reduction="sum")(*args) == 0.0
    assert math.isnan(losskit.get_loss(name, reduction="mean")(*args))
    v, *grads = losskit.get_loss(name, reduction="none").value_and_grads(*args)
    assert v.shape == (0,) and all(g.shape == (0, 5) for g in grads)


@pytest.mark.parametrize("name", sorted(EMBEDDING_REFERENCE))
def test_shapes_that_disagree_are_refused_before_writing(name):
    loss = losskit.get_loss(name, reduction="sum")
    names = [loss._kernel_info["input_name"], *loss._kernel_info["operands"]]
    for position in range(1, len(names)):
        args = data(name, 6, 4, seed=11)
        args[position] = args[position][:, :3]
        out = np.full((6, 4), 7.0)
        with pytest.raises(ValueError, match=rf"{names[position]} shape \(6, 3\) does not match"):
            loss.value_and_grad(*args, out=out)
        assert (out == 7.0).all()
    args = data(name, 6, 4, seed=11)
    with pytest.raises(ValueError, match=names[0]):
        loss(args[0][:, :, None], *args[1:])


def test_cosine_targets_other_than_plus_minus_one_are_refused():
    x1, x2, y = data("cosine_embedding", 6, 4, seed=12)
    loss = losskit.CosineEmbeddingLoss(reduction="sum")
    for bad, shown in ((0.0, "0"), (0.5, "0.5"), (np.nan, "nan"), (2.0, "2")):
        t = y.copy()
        t[4] = bad
        out = np.full_like(x1, 7.0)
        with pytest.raises(ValueError, match=rf"target must be 1 or -1, got target\[4\] = {shown}"):
            loss.value_and_grad(x1, x2, t, out=out)
        assert (out == 7.0).all()
    with pytest.raises(ValueError, match=r"target shape \(5,\) must be \(6,\)"):
        loss(x1, x2, y[:5])
    # integer targets are converted
    assert loss(x1, x2, y.astype(np.int64)) == loss(x1, x2, y)


def test_triplet_distance_is_pytorchs_pairwise_distance():
    """eps is added to each difference: identical rows are at distance eps * D^(1/p)."""
    a = np.ones((2, 4))
    for p in (1.0, 2.0, 3.0):
        loss = losskit.TripletMarginLoss(margin=0.0, p=p, eps=1e-3, reduction="none")
        v = loss(a, a, a + 10.0)  # the positive distance: |eps|_p; negative: |eps - 10|_p
        expected = 1e-3 * 4 ** (1 / p) - (10 - 1e-3) * 4 ** (1 / p)
        np.testing.assert_allclose(v, max(expected, 0.0))
        v = loss(a, a + 10.0, a)
        np.testing.assert_allclose(v, (10 - 2e-3) * 4 ** (1 / p), rtol=1e-12)
