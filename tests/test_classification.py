"""Loss-specific stories of the classification and divergence losses that the common module
(test_losses.py, through reference.py) does not tell: BCE with logits at huge logits and with
pos_weight, BCE at p = 0 and 1, KL's batchmean and log_target, the scikit-learn margin losses
at their kinks, cross-loss identities, and bad input (labels, class weights, targets, domains).
PyTorch is the oracle where it has the loss.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import losskit
from reference import REFERENCE, assert_close_scaled, rtol_for

DTYPES = [np.float32, np.float64]
DTYPE_IDS = ["float32", "float64"]
REDUCTIONS = ["none", "sum", "mean"]
ERRORS = (ValueError, TypeError)


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def _torch_vg(torch, fn, x, reduction):
    tx = torch.tensor(x, requires_grad=True)
    out = fn(tx)
    (out.sum() if reduction == "none" else out).backward()
    return out.detach().numpy(), tx.grad.numpy()


def _close_torch(got, expected, dtype, what):
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert got.shape == expected.shape, what
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol * scale, err_msg=what)


# --------------------------------------------------------------------------------------
# BCE with logits
# --------------------------------------------------------------------------------------
def _huge_logit_data(dtype):
    mags = [100.0, 1e4, 30.0, 1.0]
    x = np.array([s * m for m in mags for s in (1.0, -1.0) for _ in range(4)], dtype=dtype)
    y = np.array([t for _ in mags for _ in (1.0, -1.0) for t in (0.0, 1.0, 0.3, 0.5)], dtype=dtype)
    return x, y


@pytest.mark.parametrize("pos_weight", [None, 3.0, 0.25])
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_bce_with_logits_finite_at_huge_logits(dtype, pos_weight, restore_isa):
    """Logits of +-100 and +-1e4: no overflow of e^-x, no log(0): finite values within
    rounding at the scale of the logit, finite gradients within a few ulp, on every ISA."""
    x, y = _huge_logit_data(dtype)
    ref = REFERENCE["bce_with_logits"]
    rargs = (x.astype(np.float64), y.astype(np.float64))
    p = {"pos_weight": pos_weight}
    ev, eg = ref.ref_value(rargs, p), ref.ref_grad(rargs, p)
    eps = np.finfo(dtype).eps
    for isa in losskit.available_isas():
        losskit.set_isa(isa)
        loss = losskit.BCEWithLogitsLoss(pos_weight=pos_weight, reduction="none")
        v, g = loss.value_and_grad(x, y)
        assert np.all(np.isfinite(v)) and np.all(np.isfinite(g)), (isa, v, g)
        assert_close_scaled(v, ev, 4 * eps, scale=0.0, terms=np.abs(x.astype(np.float64)) * 3.0,
                            err_msg=f"value isa={isa}")
        # gradient: sigma(x) - y rounds at the scale of its terms
        assert_close_scaled(g, eg, 4 * eps, scale=0.0, terms=np.abs(y.astype(np.float64)) + 1.0,
                            err_msg=f"grad isa={isa}")
        for reduction in ("sum", "mean"):
            assert np.isfinite(losskit.BCEWithLogitsLoss(pos_weight=pos_weight,
                                                         reduction=reduction)(x, y))


@pytest.mark.parametrize("pos_weight", [None, 3.0])
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_bce_with_logits_value_exact_at_large_logits(dtype, pos_weight):
    """Element by element within a few ulp of the exact loss, also where it is tiny:
    x = -30, y = 0 gives log(1 + e^-30) = 9.36e-14 and x = -100, y = 0 gives 3.7e-44
    (max(x, 0) - x y + log1p(e^-|x|) has no cancellation there), like x = 30, y = 1."""
    x, y = _huge_logit_data(dtype)
    ref = REFERENCE["bce_with_logits"]
    ev = ref.ref_value((x.astype(np.float64), y.astype(np.float64)), {"pos_weight": pos_weight})
    v = losskit.BCEWithLogitsLoss(pos_weight=pos_weight, reduction="none")(x, y)
    assert_close_scaled(v, ev, 4 * np.finfo(dtype).eps, scale=0.0, err_msg=f"x={x} y={y}")


@pytest.mark.parametrize("pos_weight", [None, 2.5])
def test_bce_with_logits_float32_accurate_everywhere(pos_weight, restore_isa):
    """Dense float32 check of the logistic pieces (exp, the log1p polynomial of the float32
    kernels, the sigmoid) on every ISA: 200,000 logits over [-110, 110] (past the underflow of
    e^-|x|) with 0/1 and fractional targets. Each element within 4 ulp of the float64
    reference, relative to the value plus the size of its linear term (whose product
    rounds): purely relative where the value is a tiny log1p(e^-|x|)."""
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.uniform(-110, 110, 100_000), rng.standard_normal(100_000) * 4])
    x = x.astype(np.float32)
    y = rng.choice(np.array([0.0, 1.0, 0.25], dtype=np.float32), x.size)
    ref = REFERENCE["bce_with_logits"]
    rargs = (x.astype(np.float64), y.astype(np.float64))
    p = {"pos_weight": pos_weight}
    ev, eg = ref.ref_value(rargs, p), ref.ref_grad(rargs, p)
    eps = np.finfo(np.float32).eps
    pw = 1.0 if pos_weight is None else pos_weight
    for isa in losskit.available_isas():
        losskit.set_isa(isa)
        v, g = losskit.BCEWithLogitsLoss(pos_weight=pos_weight,
                                         reduction="none").value_and_grad(x, y)
        assert_close_scaled(v, ev, 4 * eps, scale=0.0, err_msg=f"value isa={isa}",
                            terms=np.abs(x * np.where(x >= 0, 1 - y, pw * y)).astype(np.float64))
        assert_close_scaled(g, eg, 4 * eps, scale=0.0, err_msg=f"grad isa={isa}",
                            terms=np.full(x.shape, 1.0 + pw))


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_bce_with_logits_huge_logits_match_torch(torch, dtype):
    x = np.array([1e4, -1e4, 100.0, -100.0, 1e4, -1e4, 100.0, -100.0, 88.0, -88.0], dtype=dtype)
    y = np.array([0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.3, 0.7], dtype=dtype)
    for reduction in REDUCTIONS:
        v, g = losskit.BCEWithLogitsLoss(reduction=reduction).value_and_grad(x, y)
        ev, eg = _torch_vg(torch, lambda tx: torch.nn.functional.binary_cross_entropy_with_logits(
            tx, torch.tensor(y), reduction=reduction), x, reduction)
        _close_torch(v, ev, dtype, f"value {reduction}")
        _close_torch(g, eg, dtype, f"grad {reduction}")


@pytest.mark.parametrize("pos_weight", [None, 2.5])
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_bce_with_logits_infinite_logits(torch, dtype, pos_weight):
    """x = +inf with y < 1: +inf; x = -inf: PyTorch's formula gives nan (-inf + inf), the limit
    is +inf: either is accepted; the gradients are PyTorch's (finite)."""
    x = np.array([np.inf, -np.inf, np.inf, -np.inf], dtype=dtype)
    y = np.array([0.5, 0.5, 0.0, 1.0], dtype=dtype)
    loss = losskit.BCEWithLogitsLoss(pos_weight=pos_weight, reduction="none")
    v, g = loss.value_and_grad(x, y)
    assert v[0] == np.inf and v[2] == np.inf
    assert v[1] == np.inf or np.isnan(v[1])
    assert v[3] == np.inf or np.isnan(v[3])
    tpw = None if pos_weight is None else torch.tensor(pos_weight, dtype=torch.float64)
    _, eg = _torch_vg(torch, lambda tx: torch.nn.functional.binary_cross_entropy_with_logits(
        tx, torch.tensor(y.astype(np.float64)), pos_weight=tpw, reduction="none"),
        x.astype(np.float64), "none")
    np.testing.assert_array_equal(g, eg.astype(dtype))


POS_WEIGHTS = [2.5, 0.5, (0.5, 1.0, 2.0, 5.0), (3.0,)]


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(31, 4), (2, 3, 4), (4,)], ids=["31x4", "2x3x4", "4"])
@pytest.mark.parametrize("pos_weight", POS_WEIGHTS, ids=["2.5", "0.5", "per-class", "len1"])
def test_bce_with_logits_pos_weight_matches_torch(torch, pos_weight, shape, reduction, dtype):
    rng = np.random.default_rng(1)
    x = (rng.normal(0, 3, shape) * rng.choice([0.2, 1.0, 10.0], shape)).astype(dtype)
    y = np.where(rng.random(shape) < 0.5, rng.integers(0, 2, shape), rng.random(shape)).astype(dtype)
    loss = losskit.BCEWithLogitsLoss(pos_weight=pos_weight, reduction=reduction)
    v, g = loss.value_and_grad(x, y)
    tpw = torch.tensor(np.asarray(pos_weight, dtype=dtype))
    ev, eg = _torch_vg(torch, lambda tx: torch.nn.functional.binary_cross_entropy_with_logits(
        tx, torch.tensor(y), pos_weight=tpw, reduction=reduction), x, reduction)
    _close_torch(v, ev, dtype, "value")
    _close_torch(g, eg, dtype, "grad")
    assert g.dtype == np.dtype(dtype)
    assert_same_call = loss(x, y)
    np.testing.assert_array_equal(assert_same_call, v)
    np.testing.assert_array_equal(loss.grad(x, y), g)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_bce_with_logits_per_class_pos_weight_reference_and_reuse(dtype):
    """One loss object called on several shapes and dtypes (its broadcast pos_weight is kept
    between calls): each result is the reference's; sample_weight and out= work."""
    pw = np.array([0.5, 1.0, 2.0, 5.0])
    loss = losskit.BCEWithLogitsLoss(pos_weight=pw, reduction="none")
    ref = REFERENCE["bce_with_logits"]
    rng = np.random.default_rng(2)
    for shape, dt in (((6, 4), dtype), ((3, 4), dtype), ((6, 4), np.float64), ((5, 2, 4), dtype),
                      ((6, 4), dtype)):
        x = rng.normal(0, 4, shape).astype(dt)
        y = rng.random(shape).astype(dt)
        pwb = np.broadcast_to(pw, shape)
        rargs = (x.astype(np.float64), y.astype(np.float64))
        ev = ref.ref_value(rargs, {"pos_weight": pwb})
        eg = ref.ref_grad(rargs, {"pos_weight": pwb})
        v, g = loss.value_and_grad(x, y)
        assert v.dtype == np.dtype(dt) and v.shape == shape
        rtol = rtol_for(dt)
        assert_close_scaled(v, ev, rtol)
        assert_close_scaled(g, eg, rtol)
        sw = rng.uniform(0, 2, shape[0]).astype(dt)
        vw = loss(x, y, sample_weight=sw)
        assert_close_scaled(vw, ev * sw.reshape((-1,) + (1,) * (len(shape) - 1)), rtol)
        buf = np.empty(shape, dtype=dt)
        assert loss.grad(x, y, out=buf) is buf
        np.testing.assert_array_equal(buf, g)
    # pickling and equality keep the per-class weights
    import pickle

    again = pickle.loads(pickle.dumps(loss))
    assert again == loss and np.array_equal(again.params["pos_weight"], pw)


def test_bce_with_logits_pos_weight_one_is_plain():
    rng = np.random.default_rng(3)
    x = rng.normal(0, 5, (50, 3))
    y = rng.random((50, 3))
    for reduction in REDUCTIONS:
        a = losskit.BCEWithLogitsLoss(reduction=reduction)
        b = losskit.BCEWithLogitsLoss(pos_weight=1.0, reduction=reduction)
        c = losskit.BCEWithLogitsLoss(pos_weight=[1.0, 1.0, 1.0], reduction=reduction)
        for other in (b, c):
            np.testing.assert_allclose(other(x, y), a(x, y), rtol=1e-14)
            np.testing.assert_allclose(other.grad(x, y), a.grad(x, y), rtol=1e-13, atol=1e-16)


@pytest.mark.parametrize("y", [-1.0, 1.0])
def test_soft_margin_is_bce_with_logits_on_mapped_targets(y):
    """log(1 + e^{-y x}) = BCE-with-logits(x, (1 + y) / 2) for y = +-1, with the same gradient,
    element by element for |x| from 1e-8 to 700 of both signs."""
    mags = np.logspace(-8, np.log10(700.0), 601)
    xs = np.concatenate([mags, -mags, [0.0, 1.0, -1.0, 4.0, -4.0, 30.0, -30.0]])
    ys = np.full(xs.shape, y)
    t = (1.0 + ys) / 2.0
    sm = losskit.SoftMarginLoss(reduction="none")
    bce = losskit.BCEWithLogitsLoss(reduction="none")
    v_sm, v_bce = sm(xs, ys), bce(xs, t)
    exact = REFERENCE["soft_margin"].ref_value((xs, ys), {})
    assert_close_scaled(v_sm, exact, 8 * np.finfo(np.float64).eps, scale=0.0, err_msg="soft_margin")
    assert_close_scaled(v_bce, exact, 8 * np.finfo(np.float64).eps, scale=0.0,
                        err_msg="bce_with_logits")
    assert_close_scaled(sm.grad(xs, ys), bce.grad(xs, t), 1e-14, scale=1.0)


@given(x=st.floats(-1e6, 1e6), y=st.floats(0.0, 1.0))
def test_bce_with_logits_symmetry(x, y):
    """loss(x, y) = loss(-x, 1 - y) and grad(x, y) = -grad(-x, 1 - y)."""
    loss = losskit.BCEWithLogitsLoss(reduction="none")
    a = np.array([x])
    ya, yb = np.array([y]), np.array([1.0 - y])
    if 1.0 - (1.0 - y) != y:
        return  # 1 - y is not exact
    assert_close_scaled(loss(a, ya), loss(-a, yb), 1e-14, terms=abs(x) + 1.0)
    assert_close_scaled(loss.grad(a, ya), -loss.grad(-a, yb), 1e-14, scale=1.0)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_soft_margin_matches_torch(torch, reduction, dtype):
    rng = np.random.default_rng(4)
    # |x| < 80: PyTorch computes log(1 + exp(-y x)) directly, which overflows beyond
    # (float32: 88); losskit is stable there (next test)
    x = np.clip(rng.normal(0, 1, 101) * rng.choice([0.5, 5.0, 30.0], 101), -79, 79).astype(dtype)
    y = rng.choice([-1.0, 1.0], 101).astype(dtype)
    v, g = losskit.SoftMarginLoss(reduction=reduction).value_and_grad(x, y)
    ev, eg = _torch_vg(torch, lambda tx: torch.nn.functional.soft_margin_loss(
        tx, torch.tensor(y), reduction=reduction), x, reduction)
    _close_torch(v, ev, dtype, "value")
    _close_torch(g, eg, dtype, "grad")


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_soft_margin_stable_for_any_margin(dtype):
    z = np.array([1e4, -1e4, 100.0, -100.0, 800.0, -800.0, 1e30, -1e30, 0.0, 1e-20], dtype=dtype)
    y = np.array([1.0, -1.0] * 5, dtype=dtype)
    x = (z * y).astype(dtype)
    loss = losskit.SoftMarginLoss(reduction="none")
    v, g = loss.value_and_grad(x, y)
    ref = REFERENCE["soft_margin"]
    rargs = (x.astype(np.float64), y.astype(np.float64))
    assert np.all(np.isfinite(v)) and np.all(np.isfinite(g))
    assert_close_scaled(v, ref.ref_value(rargs, {}), 4 * np.finfo(dtype).eps, scale=0.0)
    assert_close_scaled(g, ref.ref_grad(rargs, {}), 4 * np.finfo(dtype).eps, scale=0.0)


# --------------------------------------------------------------------------------------
# BCE on probabilities
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_at_zero_and_one_matches_torch(torch, reduction, dtype):
    """p = 0 and 1 exactly (and next to them): log clamped at -100, gradient divided by
    max(p (1 - p), 1e-12); finite everywhere, as PyTorch."""
    tiny = float(np.finfo(dtype).tiny)
    one_minus = float(np.nextafter(np.asarray(1.0, dtype=dtype), np.asarray(0.0, dtype=dtype)))
    ps = [0.0, 1.0, tiny, one_minus, 1e-30, 1e-7, 0.5]
    x = np.array([p for p in ps for _ in range(3)], dtype=dtype)
    y = np.array([t for _ in ps for t in (0.0, 1.0, 0.25)], dtype=dtype)
    v, g = losskit.BCELoss(reduction=reduction).value_and_grad(x, y)
    assert np.all(np.isfinite(v)) and np.all(np.isfinite(g))
    ev, eg = _torch_vg(torch, lambda tx: torch.nn.functional.binary_cross_entropy(
        tx, torch.tensor(y), reduction=reduction), x, reduction)
    _close_torch(v, ev, dtype, "value")
    # element by element (the clamped gradients are ~1e12, the others O(1))
    assert_close_scaled(g, eg, 1e-12 if dtype == np.float64 else 1e-5, scale=0.0)
    if reduction == "none":
        np.testing.assert_array_equal(v[:6], [0.0, 100.0, 25.0, 100.0, 0.0, 75.0])


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_bce_matches_torch(torch, reduction, dtype, weighted):
    rng = np.random.default_rng(5)
    x = rng.uniform(0, 1, 257).astype(dtype)
    x[::17] = 0.0
    x[5::19] = 1.0
    y = np.where(rng.random(257) < 0.5, rng.integers(0, 2, 257), rng.random(257)).astype(dtype)
    w = rng.uniform(0, 2, 257).astype(dtype) if weighted else None
    v, g = losskit.BCELoss(reduction=reduction).value_and_grad(x, y, sample_weight=w)
    F = torch.nn.functional

    def fn(tx):
        if w is None:
            return F.binary_cross_entropy(tx, torch.tensor(y), reduction=reduction)
        per = F.binary_cross_entropy(tx, torch.tensor(y), reduction="none") * torch.tensor(w)
        return {"none": per, "sum": per.sum(), "mean": per.sum() / torch.tensor(w).sum()}[reduction]

    ev, eg = _torch_vg(torch, fn, x, reduction)
    _close_torch(v, ev, dtype, "value")
    assert_close_scaled(g, eg, 1e-12 if dtype == np.float64 else 1e-5, scale=0.0)


# --------------------------------------------------------------------------------------
# KL divergence
# --------------------------------------------------------------------------------------
def _kl_data(shape, log_target, dtype, seed):
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2, shape)
    x = logits - np.log(np.sum(np.exp(logits), axis=-1, keepdims=True))
    t = rng.dirichlet(np.full(shape[-1], 0.5), shape[:-1])
    t[rng.random(shape) < 0.15] = 0.0
    if log_target:
        with np.errstate(divide="ignore"):
            t = np.log(np.where(t > 0, t, 1e-30))
    return x.astype(dtype), t.astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("reduction", ["batchmean", "mean", "sum", "none"])
@pytest.mark.parametrize("log_target", [False, True])
@pytest.mark.parametrize("shape", [(8, 5), (3, 4, 6), (7,)], ids=["8x5", "3x4x6", "7"])
def test_kl_div_matches_torch(torch, shape, log_target, reduction, dtype):
    x, t = _kl_data(shape, log_target, dtype, seed=6)
    loss = losskit.KLDivLoss(log_target=log_target, reduction=reduction)
    v, g = loss.value_and_grad(x, t)
    with warnings.catch_warnings():  # torch warns that its "mean" is not "batchmean"
        warnings.simplefilter("ignore", UserWarning)
        ev, eg = _torch_vg(torch, lambda tx: torch.nn.functional.kl_div(
            tx, torch.tensor(t), reduction=reduction, log_target=log_target), x, reduction)
    _close_torch(v, ev, dtype, "value")
    _close_torch(g, eg, dtype, "grad")


def test_kl_div_default_is_batchmean():
    x, t = _kl_data((6, 4), False, np.float64, seed=7)
    loss = losskit.KLDivLoss()
    assert loss.reduction == "batchmean" and loss.params["log_target"] is False
    total = losskit.KLDivLoss(reduction="sum")(x, t)
    assert loss(x, t) == pytest.approx(total / 6, rel=1e-14)
    assert losskit.get_loss("kl_div")(x, t) == loss(x, t)
    np.testing.assert_allclose(loss.grad(x, t), -t / 6, rtol=1e-15)
    # batchmean of (N, C) is C times the elementwise mean
    assert losskit.KLDivLoss(reduction="mean")(x, t) * 4 == pytest.approx(loss(x, t), rel=1e-14)


def test_kl_div_is_zero_for_equal_distributions():
    x, _ = _kl_data((5, 7), False, np.float64, seed=8)
    p = np.exp(x)
    assert losskit.KLDivLoss(reduction="sum")(x, p) == pytest.approx(0.0, abs=1e-14)
    assert losskit.KLDivLoss(log_target=True, reduction="sum")(x, x) == 0.0


def test_kl_div_zero_target_contributes_nothing():
    x = np.array([-1.0, -2.0, -50.0])
    t = np.array([0.0, 0.0, 0.0])
    loss = losskit.KLDivLoss(reduction="none")
    np.testing.assert_array_equal(loss(x, t), 0.0)
    np.testing.assert_array_equal(loss.grad(x, t), 0.0)


# --------------------------------------------------------------------------------------
# scikit-learn's margin losses: hand-computed values and subgradients at the kinks
# --------------------------------------------------------------------------------------
MARGIN_HAND = [
    # loss, params, x, y, value, d/dx
    ("hinge", {"margin": 1.0}, 1.0, 1.0, 0.0, -1.0),      # kink: the subgradient is -y
    ("hinge", {"margin": 1.0}, -1.0, -1.0, 0.0, 1.0),     # kink
    ("hinge", {"margin": 1.0}, 0.5, 1.0, 0.5, -1.0),
    ("hinge", {"margin": 1.0}, 2.0, 1.0, 0.0, 0.0),
    ("hinge", {"margin": 1.0}, -3.0, 1.0, 4.0, -1.0),
    ("hinge", {"margin": 1.0}, 3.0, -1.0, 4.0, 1.0),
    ("hinge", {"margin": 2.0}, 2.0, 1.0, 0.0, -1.0),      # kink at z = margin
    ("hinge", {"margin": 2.0}, 1.0, 1.0, 1.0, -1.0),
    ("hinge", {"margin": 2.0}, 2.5, 1.0, 0.0, 0.0),
    ("hinge", {"margin": 0.0}, 0.0, 1.0, 0.0, -1.0),
    ("squared_hinge", {"margin": 1.0}, 1.0, 1.0, 0.0, 0.0),
    ("squared_hinge", {"margin": 1.0}, 0.5, 1.0, 0.25, -1.0),
    ("squared_hinge", {"margin": 1.0}, -1.0, 1.0, 4.0, -4.0),
    ("squared_hinge", {"margin": 1.0}, 2.0, -1.0, 9.0, 6.0),
    ("squared_hinge", {"margin": 1.0}, -2.0, -1.0, 0.0, 0.0),
    ("squared_hinge", {"margin": 0.5}, 0.25, 1.0, 0.0625, -0.5),
    ("modified_huber", {}, 1.0, 1.0, 0.0, 0.0),            # z = 1
    ("modified_huber", {}, 2.0, 1.0, 0.0, 0.0),
    ("modified_huber", {}, 0.5, 1.0, 0.25, -1.0),
    ("modified_huber", {}, 0.0, -1.0, 1.0, 2.0),
    ("modified_huber", {}, -1.0, 1.0, 4.0, -4.0),          # z = -1: both pieces agree
    ("modified_huber", {}, -2.0, 1.0, 8.0, -4.0),          # linear part: -4z
    ("modified_huber", {}, 2.0, -1.0, 8.0, 4.0),
    ("modified_huber", {}, -0.5, -1.0, 0.25, 1.0),
    ("perceptron", {}, 0.0, 1.0, 0.0, -1.0),               # kink: -y
    ("perceptron", {}, 0.0, -1.0, 0.0, 1.0),
    ("perceptron", {}, 1.0, 1.0, 0.0, 0.0),
    ("perceptron", {}, -2.0, 1.0, 2.0, -1.0),
    ("perceptron", {}, 2.0, -1.0, 2.0, 1.0),
    ("perceptron", {}, -0.5, -1.0, 0.0, 0.0),
]


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_margin_losses_hand_computed(dtype, restore_isa):
    for isa in losskit.available_isas():
        losskit.set_isa(isa)
        for name, params, x, y, value, dx in MARGIN_HAND:
            # one element, and the same element inside a longer vector (the SIMD body)
            for n in (1, 37):
                xs = np.full(n, x, dtype=dtype)
                ys = np.full(n, y, dtype=dtype)
                loss = losskit.get_loss(name, reduction="none", **params)
                v, g = loss.value_and_grad(xs, ys)
                what = f"{name}{params} x={x} y={y} isa={isa} n={n}"
                np.testing.assert_array_equal(v, np.full(n, value, dtype=dtype), err_msg=what)
                np.testing.assert_array_equal(g, np.full(n, dx, dtype=dtype), err_msg=what)


@pytest.mark.parametrize("name,params", [("hinge", {"margin": 1.0}), ("hinge", {"margin": 2.0}),
                                         ("squared_hinge", {"margin": 1.0}),
                                         ("modified_huber", {}), ("perceptron", {})])
def test_margin_losses_match_numpy_formulas(name, params):
    """Against the reference's NumPy formulas (scikit-learn's definitions), with points on
    every kink and +-1 targets, element by element in float64."""
    rng = np.random.default_rng(9)
    z = np.concatenate([rng.normal(0, 2, 200), [-1.0, 0.0, 1.0, params.get("margin", 1.0)] * 3])
    y = rng.choice([-1.0, 1.0], z.size)
    x = y * z
    ref = REFERENCE[name]
    v, g = losskit.get_loss(name, reduction="none", **params).value_and_grad(x, y)
    assert_close_scaled(v, ref.ref_value((x, y), params), 1e-14, scale=1.0)
    np.testing.assert_array_equal(g, ref.ref_grad((x, y), params))


def test_hinge_with_zero_margin_is_perceptron():
    rng = np.random.default_rng(10)
    x = np.concatenate([rng.normal(0, 3, 100), [0.0, -0.0]])
    y = rng.choice([-1.0, 1.0], 102)
    for reduction in REDUCTIONS:
        h = losskit.HingeLoss(margin=0.0, reduction=reduction)
        p = losskit.PerceptronLoss(reduction=reduction)
        np.testing.assert_array_equal(h(x, y), p(x, y))
        np.testing.assert_array_equal(h.grad(x, y), p.grad(x, y))


def test_modified_huber_is_squared_hinge_above_minus_one():
    rng = np.random.default_rng(11)
    z = rng.uniform(-1.0, 3.0, 200)
    y = rng.choice([-1.0, 1.0], 200)
    x = y * z
    mh = losskit.ModifiedHuberLoss(reduction="none")
    sq = losskit.SquaredHingeLoss(reduction="none")
    np.testing.assert_allclose(mh(x, y), sq(x, y), rtol=1e-15, atol=0)
    np.testing.assert_allclose(mh.grad(x, y), sq.grad(x, y), rtol=1e-15, atol=0)


@given(x=st.floats(-1e3, 1e3), y=st.sampled_from([-1.0, 1.0]), margin=st.sampled_from([0.0, 0.5, 1.0, 2.0]))
def test_hinge_family_definitions_hypothesis(x, y, margin):
    xs, ys = np.array([x]), np.array([y])
    z = x * y
    h = losskit.HingeLoss(margin=margin, reduction="sum")
    assert h(xs, ys) == max(0.0, margin - z)
    assert h.grad(xs, ys)[0] == (-y if z <= margin else 0.0)
    s = losskit.SquaredHingeLoss(margin=margin, reduction="sum")
    assert s(xs, ys) == pytest.approx(max(0.0, margin - z) ** 2, rel=1e-15, abs=0)
    assert s.grad(xs, ys)[0] == pytest.approx(-2.0 * y * max(0.0, margin - z), rel=1e-15, abs=0)
    p = losskit.PerceptronLoss(reduction="sum")
    assert p(xs, ys) == max(0.0, -z)
    assert p.grad(xs, ys)[0] == (-y if z <= 0 else 0.0)
    m = losskit.ModifiedHuberLoss(reduction="sum")
    expected = 0.0 if z >= 1 else ((1 - z) ** 2 if z >= -1 else -4 * z)
    assert m(xs, ys) == pytest.approx(expected, rel=1e-15, abs=0)


def test_margin_losses_docstrings_mention_targets():
    for cls in (losskit.SoftMarginLoss, losskit.HingeLoss, losskit.SquaredHingeLoss,
                losskit.ModifiedHuberLoss, losskit.PerceptronLoss):
        assert "+1" in cls.__doc__ and "-1" in cls.__doc__, cls


# --------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------
ROWWISE = [losskit.CrossEntropyLoss, losskit.NLLLoss, losskit.MultiMarginLoss,
           losskit.MulticlassHingeLoss]
METHODS = ["__call__", "grad", "value_and_grad"]


def _method(loss, name):
    return loss if name == "__call__" else getattr(loss, name)


def _scores(n=6, c=3, seed=12):
    return np.random.default_rng(seed).normal(size=(n, c))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("bad", [3, 5, -1, -2, 2**40, -(2**62)])
@pytest.mark.parametrize("cls", ROWWISE, ids=lambda c: c.__name__)
def test_label_out_of_range(cls, bad, method):
    x = _scores()
    t = np.array([0, 1, bad, 2, 0, 1])
    with pytest.raises(ValueError, match=rf"target.*\[2\].*{bad}"):
        _method(cls(), method)(x, t)


@pytest.mark.parametrize("cls", ROWWISE, ids=lambda c: c.__name__)
def test_label_out_of_range_other_integer_dtypes(cls):
    x = _scores()
    for t in (np.array([0, 1, 2, 3, 0, 1], dtype=np.uint8),
              np.array([0, 1, 2, 0, 2**63 + 5, 1], dtype=np.uint64),
              np.array([0, 1, 2, 0, -7, 1], dtype=np.int16)):
        with pytest.raises(ValueError, match="target"):
            cls()(x, t)


def test_minus_100_is_only_ignored_where_there_is_ignore_index():
    x = _scores()
    t = np.array([0, 1, -100, 2, 0, 1])
    losskit.CrossEntropyLoss()(x, t)
    losskit.NLLLoss()(x, t)
    for loss in (losskit.MultiMarginLoss(), losskit.MulticlassHingeLoss(),
                 losskit.CrossEntropyLoss(ignore_index=1), losskit.NLLLoss(ignore_index=0)):
        with pytest.raises(ValueError, match=r"target.*\[2\].*-100"):
            loss(x, t)


def test_bad_label_reports_the_first_offender_with_threads(restore_threads):
    """The check runs inside the threaded loop: still the first bad index, no crash."""
    n = 40_000
    x = np.zeros((n, 5))
    t = np.zeros(n, dtype=np.int64)
    t[30_000] = 7
    t[5_000] = 9
    t[39_999] = -3
    for threads in (1, 2):
        losskit.set_num_threads(threads)
        for cls in ROWWISE:
            with pytest.raises(ValueError, match=r"target\[5000\] = 9"):
                cls().value_and_grad(x, t)


@pytest.mark.parametrize("cls", ROWWISE, ids=lambda c: c.__name__)
def test_float_and_bool_labels_rejected(cls):
    x = _scores()
    for t in (np.array([0.0, 1.0, 2.0, 0.0, 1.0, 2.0]), np.array([0.5, 1, 2, 0, 1, 2]),
              np.array([True, False, True, False, True, False])):
        with pytest.raises(ERRORS, match="target"):
            cls()(x, t)
        with pytest.raises(ERRORS, match="target"):
            cls().grad(x, t)


@pytest.mark.parametrize("cls", ROWWISE, ids=lambda c: c.__name__)
def test_wrong_number_of_class_weights(cls):
    x = _scores(c=3)
    t = np.array([0, 1, 2, 0, 1, 2])
    for w in ([1.0, 2.0], [1.0, 2.0, 3.0, 4.0]):
        for method in METHODS:
            with pytest.raises(ValueError, match="weight"):
                _method(cls(weight=w), method)(x, t)


@pytest.mark.parametrize("cls", ROWWISE, ids=lambda c: c.__name__)
def test_invalid_class_weights(cls):
    for w in ([1.0, -0.5, 1.0], [1.0, math.nan], [1.0, math.inf], [[1.0, 2.0]], []):
        with pytest.raises(ValueError, match="weight"):
            cls(weight=w)
    with pytest.raises(TypeError, match="weight"):
        cls(weight=["a", "b"])


def test_probability_targets_of_the_wrong_shape():
    x = _scores(6, 3)
    loss = losskit.CrossEntropyLoss()
    for t in (np.full((6, 4), 0.25), np.full((7, 3), 1 / 3), np.full((6,), 0.5), np.full((6, 3, 1), 1 / 3),
              np.full((3, 6), 1 / 6)):
        for method in METHODS:
            with pytest.raises(ERRORS, match="target"):
                _method(loss, method)(x, t)
    # NLL never takes probabilities
    with pytest.raises(ERRORS, match="target"):
        losskit.NLLLoss()(x, np.full((6, 3), 1 / 3))


@pytest.mark.parametrize("cls", ROWWISE, ids=lambda c: c.__name__)
def test_labels_of_the_wrong_shape(cls):
    x = _scores(6, 3)
    for t in (np.zeros(5, dtype=int), np.zeros(7, dtype=int), np.zeros((6, 1), dtype=int),
              np.zeros((6, 3), dtype=int)):
        with pytest.raises(ValueError, match="target"):
            cls()(x, t)


@pytest.mark.parametrize("cls", ROWWISE, ids=lambda c: c.__name__)
def test_scores_must_be_n_by_c(cls):
    # (N, C, d1) scores are (N, C) rows of d1 positions where the loss takes them (their labels
    # are then (N, d1)); other losses refuse them
    spatial = losskit._base.DEFINITIONS[cls.name]["spatial"]
    for x in (np.zeros(6), np.zeros((6, 3, 1)), np.zeros((6, 0)), np.float64(1.0)):
        with pytest.raises(ValueError, match="target" if spatial and np.ndim(x) == 3 else "input"):
            cls()(x, np.zeros(6, dtype=int))
    with pytest.raises(TypeError, match="input"):
        cls()(np.zeros((6, 3), dtype=np.complex128), np.zeros(6, dtype=int))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("cls", ROWWISE, ids=lambda c: c.__name__)
def test_rowwise_negative_or_misshapen_sample_weight(cls, method):
    x = _scores()
    t = np.array([0, 1, 2, 0, 1, 2])
    with pytest.raises(ValueError, match="sample_weight"):
        _method(cls(), method)(x, t, sample_weight=np.array([1.0, 0.5, -0.1, 2.0, 0.0, 1.0]))
    for bad in (np.ones(5), np.ones(7), np.ones((6, 3))):
        with pytest.raises(ValueError, match="sample_weight"):
            _method(cls(), method)(x, t, sample_weight=bad)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("bad", ["1.5", "-0.1", "above_one", "below_zero", "inf", "-inf"])
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_bce_input_outside_unit_interval(dtype, bad, method):
    one, zero = np.asarray(1.0, dtype=dtype), np.asarray(0.0, dtype=dtype)
    value = {"above_one": np.nextafter(one, 2 * one), "below_zero": np.nextafter(zero, -one)}.get(
        bad, None)
    x = np.array([0.5, 0.0, float(bad) if value is None else value, 1.0], dtype=dtype)
    assert not 0.0 <= x[2] <= 1.0
    y = np.array([0.0, 1.0, 0.5, 1.0], dtype=dtype)
    with pytest.raises(ValueError, match="input"):
        _method(losskit.BCELoss(), method)(x, y)


def test_bce_nan_input_propagates():
    v = losskit.BCELoss(reduction="none")(np.array([0.5, np.nan]), np.array([0.0, 1.0]))
    assert np.isfinite(v[0]) and np.isnan(v[1])


@pytest.mark.parametrize("p", [3, 0, 1.5, -1, True, "1", None])
def test_multi_margin_p_must_be_1_or_2(p):
    with pytest.raises(ERRORS, match="p"):
        losskit.MultiMarginLoss(p=p)


@pytest.mark.parametrize("bad", [-0.1, 1.5, math.nan, math.inf])
def test_label_smoothing_outside_unit_interval(bad):
    with pytest.raises(ValueError, match="label_smoothing"):
        losskit.CrossEntropyLoss(label_smoothing=bad)


def test_bad_constructor_arguments_name_the_argument():
    with pytest.raises(ERRORS, match="ignore_index"):
        losskit.CrossEntropyLoss(ignore_index=1.5)
    with pytest.raises(ERRORS, match="squared"):
        losskit.MulticlassHingeLoss(squared="yes")
    with pytest.raises(ERRORS, match="margin"):
        losskit.MultiMarginLoss(margin=math.nan)
    with pytest.raises(ERRORS, match="margin"):
        losskit.HingeLoss(margin=math.nan)
    with pytest.raises(ERRORS, match="log_target"):
        losskit.KLDivLoss(log_target="no")
    with pytest.raises(ERRORS, match="pos_weight"):
        losskit.BCEWithLogitsLoss(pos_weight=math.nan)
    for cls in ROWWISE + [losskit.BCELoss, losskit.HingeLoss]:
        with pytest.raises(ValueError, match="reduction"):
            cls(reduction="batchmean")  # KLDivLoss only
    losskit.KLDivLoss(reduction="batchmean")


def test_pos_weight_that_does_not_broadcast():
    loss = losskit.BCEWithLogitsLoss(pos_weight=[1.0, 2.0, 3.0])
    for method in METHODS:
        with pytest.raises(ValueError, match="pos_weight"):
            _method(loss, method)(np.zeros((2, 4)), np.zeros((2, 4)))
