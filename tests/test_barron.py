"""Barron's general and adaptive robust loss: accuracy against an mpmath reference computed
here, properties, special cases, the log partition function, the adaptive loss's latent
gradients and bad input. The common behaviour of BarronLoss (reductions,
weights, out=, threads, ISAs, dtypes) is covered by test_losses.py through reference.py."""

from __future__ import annotations

import math
import pickle

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import losskit

DTYPES = [np.float32, np.float64]
DTYPE_IDS = ["float32", "float64"]


# --------------------------------------------------------------------------------------
# mpmath reference (50 digits)
# --------------------------------------------------------------------------------------
def mp_rho(u, a):
    u, a = mp.mpf(u), mp.mpf(a)
    if a == 2:
        return u * u / 2
    if a == 0:
        return mp.log1p(u * u / 2)
    if mp.isinf(a):
        return -mp.expm1(-u * u / 2) if a < 0 else mp.expm1(u * u / 2)
    b = abs(a - 2)
    return b / a * mp.expm1(a / 2 * mp.log1p(u * u / b))


def mp_reference(u, a):
    """(rho, d rho/du, d rho/da, magnitude of the terms of d rho/da) at c = 1."""
    with mp.workdps(50):
        u, a = mp.mpf(u), mp.mpf(a)
        u2 = u * u
        if a == 2:
            return u2 / 2, u, (mp.inf if u != 0 else mp.mpf(0)), mp.mpf(0)
        if a == 0:
            z = u2 / 2
            L = mp.log1p(z)
            terms = [-L / 2 + z / (2 * (1 + z)), L * L / 4]
            return L, u / (1 + z), sum(terms), sum(abs(t) for t in terms)
        b = abs(a - 2)
        L = mp.log1p(u2 / b)
        r = b / a * mp.expm1(a / 2 * L)
        Q = mp.exp((a - 2) / 2 * L)
        terms = [(r - u2 * Q / 2) / (a - 2), (b * L / 2 - r) / a + r * L / 2]
        return r, u * Q, sum(terms), sum(abs(t) for t in terms)


HARD_ALPHAS = [-10.0, -2.0, -1e-3, -1e-9, 0.0, 1e-9, 1e-3, 0.5, 1.0, 1.5, 1.999, 2 - 1e-6, 2.0,
               2 + 1e-6, 2.001, 3.0, 4.0, 10.0]
HARD_US = [1e-6, 1e-4, 1e-3, 0.01, 0.1, 0.3, 1.0, 2.0, 3.0, 10.0, 30.0, 1e3, 1e4, 1e6]


def _rel(got, ref, dtype):
    ref = float(ref)
    got = float(got)
    if math.isinf(ref) or ref == 0.0:
        return 0.0 if got == ref else math.inf
    info = np.finfo(dtype)
    tiny, huge = float(info.tiny), float(info.max)
    if abs(ref) < tiny:  # the exact result is subnormal in this dtype: absolute error
        return abs(got - ref) / tiny
    if abs(ref) > huge:
        return 0.0 if got == math.copysign(math.inf, ref) else math.inf
    return abs(got - ref) / abs(ref)


@pytest.fixture(scope="module")
def hard_reference():
    return {(a, dt): [mp_reference(float(np.asarray(u, dt)), float(np.asarray(a, dt)))
                      for u in HARD_US]
            for a in HARD_ALPHAS for dt in (np.float32, np.float64)}


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("arrays", [False, True], ids=["scalar-params", "array-params"])
def test_hard_points_against_mpmath(hard_reference, dtype, arrays, isa):
    """Value, d/dx, d/dscale to 1e-13 (float64) / 1e-5 (float32) relative at alpha near 0, 2,
    +-1e-3 and |x/c| from 1e-6 to 1e6; d/dalpha relative to its size (its terms cancel only
    at its genuine zero crossing, and the series takes over where they would for small z)."""
    rtol = 1e-13 if dtype == np.float64 else 1e-5
    rtol_alpha = 1e-12 if dtype == np.float64 else 3e-5
    u = np.array(HARD_US, dtype=dtype)
    y = np.zeros_like(u)
    worst = {}
    for a in HARD_ALPHAS:
        if arrays:
            loss = losskit.BarronLoss(alpha=np.full(u.shape, a), scale=np.ones(u.shape),
                                      reduction="none")
        else:
            loss = losskit.BarronLoss(alpha=a, reduction="none")
        v, gx, ga, gc = loss.value_and_grads(u, y)
        for i, ref in enumerate(hard_reference[(a, dtype)]):
            r_v, r_g, r_a, terms = ref
            ui = float(u[i])
            errs = {"value": _rel(v[i], r_v, dtype), "d_input": _rel(gx[i], r_g, dtype),
                    "d_scale": _rel(gc[i], -ui * r_g, dtype)}
            if math.isinf(r_a) or r_a == 0 or abs(float(r_a)) > float(np.finfo(dtype).max):
                errs["d_alpha"] = _rel(ga[i], r_a, dtype) * rtol / rtol_alpha
            else:
                scale = max(abs(float(r_a)), 1e-3 * float(terms))
                errs["d_alpha"] = abs(float(ga[i]) - float(r_a)) / scale * rtol / rtol_alpha
            for k, e in errs.items():
                if e > worst.get(k, (0.0,))[0]:
                    worst[k] = (e, a, ui)
    bad = {k: w for k, w in worst.items() if w[0] > rtol}
    assert not bad, f"relative errors beyond {rtol} (d_alpha: {rtol_alpha}): {bad}"


# --------------------------------------------------------------------------------------
# special cases and limits
# --------------------------------------------------------------------------------------
def _rho(x, alpha, scale=1.0, dtype=np.float64):
    x = np.asarray(x, dtype=dtype)
    return losskit.BarronLoss(alpha=alpha, scale=scale, reduction="none")(x, np.zeros_like(x))


SPECIAL = [
    (2.0, lambda u: 0.5 * u * u),
    (0.0, lambda u: np.log1p(0.5 * u * u)),
    (1.0, lambda u: u * u / (np.sqrt(u * u + 1) + 1)),  # sqrt(u^2 + 1) - 1
    (-2.0, lambda u: 2 * u * u / (u * u + 4)),
    (-np.inf, lambda u: -np.expm1(-0.5 * u * u)),
    (np.inf, lambda u: np.expm1(0.5 * u * u)),
]


@pytest.mark.parametrize("alpha,closed", SPECIAL, ids=[str(s[0]) for s in SPECIAL])
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_special_cases(alpha, closed, dtype):
    u = np.array([0.0, 1e-5, 0.01, 0.3, 1.0, 2.5, 7.0, 20.0])
    if alpha == np.inf:
        u = u[u < 8]
    x = (1.7 * u).astype(dtype)
    v = _rho(x, alpha, scale=1.7, dtype=dtype)
    expected = closed(x.astype(np.float64) / np.float64(np.asarray(1.7, dtype)))
    np.testing.assert_allclose(v, expected, rtol=1e-14 if dtype == np.float64 else 2e-6, atol=0)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_alpha_gradient_special_values(dtype):
    x = np.array([0.0, 0.5, -3.0], dtype=dtype)
    y = np.zeros_like(x)
    _, _, ga, _ = losskit.BarronLoss(alpha=2.0, reduction="none").value_and_grads(x, y)
    np.testing.assert_array_equal(ga, [0.0, np.inf, np.inf])  # log singularity; 0 at x = 0
    for a in (-np.inf, np.inf):
        _, _, ga, _ = losskit.BarronLoss(alpha=a, reduction="none").value_and_grads(x, y)
        np.testing.assert_array_equal(ga, 0.0)
    # NaN alpha lanes are impossible (rejected); NaN input propagates to every output
    out = losskit.BarronLoss(alpha=2.0, reduction="none").value_and_grads(
        np.array([np.nan], dtype=dtype), np.zeros(1, dtype=dtype))
    assert all(np.isnan(o[0]) for o in out[1:]) and np.isnan(out[0][0])


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_smooth_through_0_and_2(dtype):
    """Values and gradients approach the alpha = 0 and alpha = 2 cases continuously."""
    x = np.array([1e-3, 0.2, 1.0, 5.0, 100.0], dtype=dtype)
    y = np.zeros_like(x)
    tol = 1e-9 if dtype == np.float64 else 2e-5
    for centre, eps in ((0.0, 1e-10), (2.0, 1e-12)):
        if dtype == np.float32:
            eps = 1e-6
        at = losskit.BarronLoss(alpha=centre, reduction="none").value_and_grads(x, y)
        for a in (centre - eps, centre + eps):
            near = losskit.BarronLoss(alpha=a, reduction="none").value_and_grads(x, y)
            for k in (0, 1, 3):  # value, d/dx, d/dscale
                np.testing.assert_allclose(near[k], at[k], rtol=tol, atol=0)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_huge_residuals_overflow_to_inf_not_nan(dtype):
    """Where |x/c|^2 overflows, the value is still right (inf, or the finite limit
    |a - 2|/|a| for a < 0; log-growth for a = 0) and d/dx, d/dc are not NaN."""
    big = np.array([1e18, -1e30, 1e200 if dtype == np.float64 else 3e38], dtype=dtype)
    y = np.zeros_like(big)
    # d/dx is exp((a - 1) log|u| - ...): log's rounding is amplified by the exponent (~700)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    for a in (-10.0, -2.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 10.0, np.inf):
        v, gx, ga, gc = losskit.BarronLoss(alpha=a, reduction="none").value_and_grads(big, y)
        for i, u in enumerate(big):
            r_v, r_g, _, _ = mp_reference(float(u), a) if np.isfinite(a) else (mp.inf, mp.inf, 0, 0)
            assert _rel(v[i], r_v, dtype) <= rtol, (a, u, v[i], r_v)
            assert _rel(abs(gx[i]), abs(r_g), dtype) <= rtol, (a, u, gx[i], r_g)
        assert not np.isnan(gc).any() and not np.isnan(ga).any(), (a, gc, ga)
    # infinite input: the limits
    inf = np.array([np.inf, -np.inf], dtype=dtype)
    for a, limit in ((-2.0, 2.0), (0.0, np.inf), (1.0, np.inf), (3.0, np.inf)):
        np.testing.assert_array_equal(_rho(inf, a, dtype=dtype), limit)
    # alpha = 10: rho overflows near |x| ~ 1.8e4 (float32), 1e31 (float64); d/dalpha is +inf there
    x = np.array([1e5 if dtype == np.float32 else 1e40], dtype=dtype)
    v, gx, ga, gc = losskit.BarronLoss(alpha=10.0, reduction="none").value_and_grads(x, 0 * x)
    assert v[0] == np.inf and ga[0] == np.inf and gx[0] == np.inf and gc[0] == -np.inf


# --------------------------------------------------------------------------------------
# properties (hypothesis)
# --------------------------------------------------------------------------------------
alphas = st.one_of(st.floats(-10, 10), st.sampled_from([0.0, 2.0, 1.0, -2.0, 1e-3, -1e-3,
                                                        1.999, 2.001, -np.inf, np.inf]))
residuals = st.floats(-1e3, 1e3, allow_subnormal=False)
scales = st.floats(1e-2, 1e2)


@given(alpha=alphas, r=st.lists(residuals, min_size=2, max_size=12), c=scales)
def test_monotone_in_abs_residual(alpha, r, c):
    r = np.array(sorted(r, key=abs))
    v = _rho(r, alpha, scale=c)
    finite = np.isfinite(v)
    assert np.all(np.diff(v[finite]) >= -1e-14 * np.abs(v[finite][1:])), (alpha, r, v)
    g = losskit.BarronLoss(alpha=alpha, scale=c, reduction="none").grad(r, 0 * r)
    assert np.all(g[np.isfinite(g)] * r[np.isfinite(g)] >= 0)  # same sign as the residual


@given(a1=alphas, a2=alphas, r=st.lists(residuals, min_size=1, max_size=12), c=scales)
def test_monotone_in_alpha(a1, a2, r, c):
    lo, hi = min(a1, a2), max(a1, a2)
    r = np.array(r)
    v_lo, v_hi = _rho(r, lo, scale=c), _rho(r, hi, scale=c)
    assert np.all(v_lo <= v_hi * (1 + 1e-13) + 1e-300), (lo, hi, r, v_lo, v_hi)
    _, _, ga, _ = losskit.BarronLoss(alpha=lo, scale=c, reduction="none").value_and_grads(r, 0 * r)
    assert np.all(ga >= 0)


@given(alpha=alphas, r=st.lists(residuals, min_size=1, max_size=12), c=scales,
       k=st.floats(1e-3, 1e3))
def test_scale_invariance(alpha, r, c, k):
    r = np.array(r)
    v1 = _rho(r, alpha, scale=c)
    v2 = _rho(k * r, alpha, scale=k * c)
    np.testing.assert_allclose(v2, v1, rtol=1e-12 * (1 + abs(alpha) if np.isfinite(alpha) else 1e3),
                               atol=0)


@settings(max_examples=12)
@given(alpha=st.floats(-6, 6), u=st.floats(1e-3, 50), c=st.floats(0.1, 10))
def test_gradients_vs_mpmath_differentiation(alpha, u, c):
    """All three gradients against mpmath's numerical differentiation of the 40-digit loss."""
    x = np.array([u * c])
    v, gx, ga, gc = losskit.BarronLoss(alpha=alpha, scale=c, reduction="sum").value_and_grads(
        x, np.zeros(1))
    with mp.workdps(40):
        xx, cc, aa = mp.mpf(float(x[0])), mp.mpf(c), mp.mpf(alpha)
        f = lambda X, A, C: mp_rho(X / C, A)  # noqa: E731
        n_x = mp.diff(lambda t: f(t, aa, cc), xx)
        n_c = mp.diff(lambda t: f(xx, aa, t), cc)
        terms = mp_reference(xx / cc, aa)[3]
        if alpha == 2:
            n_a = mp.inf
        else:
            n_a = mp.diff(lambda t: f(xx, t, cc), aa)
    assert float(v) == pytest.approx(float(f(xx, aa, cc)), rel=1e-13)
    assert gx[0] == pytest.approx(float(n_x), rel=1e-13)
    assert gc[0] == pytest.approx(float(n_c), rel=1e-13)
    if alpha != 2:
        assert abs(ga[0] - float(n_a)) <= 1e-12 * max(abs(float(n_a)), 1e-3 * float(terms))


@given(alpha=alphas, r=st.lists(st.floats(-100, 100, width=32), min_size=1, max_size=16),
       c=st.floats(0.0625, 16, width=32))
def test_float32_agrees_with_float64(alpha, r, c):
    r32 = np.array(r, dtype=np.float32)
    a32 = float(np.float32(alpha))
    l32 = losskit.BarronLoss(alpha=a32, scale=c, reduction="none")
    out32 = l32.value_and_grads(r32, np.zeros_like(r32))
    out64 = l32.value_and_grads(r32.astype(np.float64), np.zeros(len(r)))
    for k, (g32, g64) in enumerate(zip(out32, out64)):
        m = np.isfinite(g64) & (np.abs(g64) < 1e30) & (np.abs(g64) > 1e-30)
        if k == 2:  # d/dalpha: relative to the size of the loss's terms
            scale = np.abs(out64[0]) + np.abs(out64[3]) + np.abs(g64)
            assert np.all(np.abs(g32[m] - g64[m]) <= 3e-5 * scale[m] + 1e-30), (k, g32, g64)
        else:
            # At alpha = +-inf the gradients hold exp(-+u^2/2): float32's rounding of u (and so
            # of the exponent) is amplified by u^2 (e.g. 1e-5 relative at u = 11).
            u2 = (r32.astype(np.float64) / c) ** 2
            rtol = 1e-5 + (2.4e-7 if math.isinf(a32) else 0.0) * u2
            assert np.all(np.abs(g32[m] - g64[m]) <= rtol[m] * np.abs(g64[m])), (k, g32, g64)


# --------------------------------------------------------------------------------------
# array alpha and scale
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_array_parameters_broadcast(dtype, reduction):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 4)).astype(dtype)
    y = rng.normal(size=(50, 4)).astype(dtype)
    alpha = np.array([-2.0, 0.0, 1.0, 2.0])
    scale = np.array([[0.5, 1.0, 2.0, 3.0]])
    loss = losskit.BarronLoss(alpha=alpha, scale=scale, reduction=reduction)
    v, gx, ga, gc = loss.value_and_grads(x, y)
    assert gx.shape == ga.shape == gc.shape == x.shape and ga.dtype == np.dtype(dtype)
    cols = [losskit.BarronLoss(alpha=alpha[j], scale=scale[0, j], reduction="none")
            .value_and_grads(x[:, j], y[:, j]) for j in range(4)]
    factor = 1.0 / x.size if reduction == "mean" else 1.0
    rtol = 1e-13 if dtype == np.float64 else 1e-6
    for k in (1, 2, 3):
        expected = np.stack([c[k] for c in cols], axis=1) * factor
        np.testing.assert_allclose(ga if k == 2 else (gx if k == 1 else gc), expected, rtol=rtol)
    vals = np.stack([c[0] for c in cols], axis=1).astype(np.float64)
    if reduction == "none":
        np.testing.assert_allclose(v, vals, rtol=rtol)
    else:
        assert v == pytest.approx(vals.sum() * factor, rel=rtol)
    # value, grad and value_and_grad agree with value_and_grads
    np.testing.assert_array_equal(loss.grad(x, y), gx)
    np.testing.assert_array_equal(loss.value_and_grad(x, y)[1], gx)


def test_shared_alpha_gradient_is_the_sum():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=200) * 3, rng.normal(size=200)
    for a in (-1.0, 0.5, 1.5, 3.0):
        loss = lambda al, c=1.3: losskit.BarronLoss(alpha=al, scale=c, reduction="mean")  # noqa: E731
        _, _, ga, gc = loss(a).value_and_grads(x, y)
        h = 1e-5
        n_a = (loss(a + h)(x, y) - loss(a - h)(x, y)) / (2 * h)
        n_c = (loss(a, 1.3 + h)(x, y) - loss(a, 1.3 - h)(x, y)) / (2 * h)
        assert ga.sum() == pytest.approx(n_a, rel=1e-7)
        assert gc.sum() == pytest.approx(n_c, rel=1e-7)


def test_value_and_grads_out_buffers():
    x = np.linspace(-3, 3, 11)
    y = np.zeros(11)
    loss = losskit.BarronLoss(alpha=0.5, reduction="sum")
    bufs = tuple(np.empty(11) for _ in range(3))
    v, gx, ga, gc = loss.value_and_grads(x, y, out=bufs)
    assert gx is bufs[0] and ga is bufs[1] and gc is bufs[2]
    ref = loss.value_and_grads(x, y)
    for a, b in zip((v, gx, ga, gc), ref):
        np.testing.assert_array_equal(a, b)
    # non-canonical input takes the slow path and gives the same
    ref_list = loss.value_and_grads(list(x), list(y))
    for a, b in zip(ref_list, ref):
        np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------------------
# log partition function
# --------------------------------------------------------------------------------------
def mp_log_partition(a):
    with mp.workdps(20):
        a = mp.mpf(a)
        pts = [0, 1, 4, mp.inf] if a <= 2 else [0, 1, 2, 3, 6, 12]
        return mp.log(2 * mp.quad(lambda x: mp.exp(-mp_rho(x, a)), pts))


def test_log_partition_closed_forms():
    got = losskit.barron_log_partition([0.0, 1.0, 2.0])
    expected = [math.log(math.pi * math.sqrt(2)),
                math.log(2 * math.e * float(mp.besselk(1, 1))),
                0.5 * math.log(2 * math.pi)]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    assert isinstance(losskit.barron_log_partition(1.0), float)


@pytest.mark.parametrize("alpha", [0.0007, 0.002, 0.02, 0.3, 1.5, 1.99, 2.02, 2.7, 7.3, 33.3, 61.0])
def test_log_partition_vs_quadrature(alpha):
    assert abs(losskit.barron_log_partition(alpha) - float(mp_log_partition(alpha))) <= 1e-9


def test_log_partition_gradient():
    a = np.array([0.0, 0.01, 0.7, 1.5, 1.9999, 2.0001, 2.5, 10.0, 60.0, 1e3, 1e6])
    v, g = losskit.barron_log_partition(a, return_grad=True)
    h = np.minimum(1e-6, 0.1 * np.abs(a - 2))
    lo = np.maximum(a - h, 0.0)
    n = (losskit.barron_log_partition(a + h) - losskit.barron_log_partition(lo)) / (a + h - lo)
    np.testing.assert_allclose(g, n, rtol=1e-5, atol=1e-9)
    v2, g2 = losskit.barron_log_partition(2.0, return_grad=True)
    assert v2 == pytest.approx(0.5 * math.log(2 * math.pi), abs=1e-15) and g2 == -np.inf
    # continuous through 2 and beyond the table; decreasing for alpha >= 0
    near = losskit.barron_log_partition([2 - 1e-15, 2 + 1e-15, 2 - 1e-9, 2 + 1e-9])
    np.testing.assert_allclose(near, 0.5 * math.log(2 * math.pi), atol=1e-13)
    grid = np.concatenate([np.linspace(0, 64, 2001), [1e3, 1e5, 2e5, 1e8, np.inf]])
    vals = losskit.barron_log_partition(grid)
    assert np.all(np.diff(vals) < 0) and vals[-1] == pytest.approx(0.70526025441757, abs=1e-12)


def test_log_partition_rejects_negative_alpha():
    with pytest.raises(ValueError, match=r"alpha.*-0\.5"):
        losskit.barron_log_partition(-0.5)
    with pytest.raises(ValueError, match=r"alpha\[1\]"):
        losskit.barron_log_partition([1.0, -1e-9])


# --------------------------------------------------------------------------------------
# adaptive loss
# --------------------------------------------------------------------------------------
def _adaptive_reference(loss, x, y):
    a, c = loss.alpha, loss.scale
    rho = np.stack([_rho(x[:, j] - y[:, j], a[j], scale=c[j]) for j in range(x.shape[1])], axis=1)
    return rho + np.log(c) + losskit.barron_log_partition(a)


def test_adaptive_parameterisation_and_value():
    loss = losskit.AdaptiveBarronLoss(3)
    assert [p.shape for p in loss.params] == [(3,), (3,)]
    np.testing.assert_array_equal(loss.params[0], 0.0)
    np.testing.assert_array_equal(loss.params[1], 0.0)
    np.testing.assert_allclose(loss.alpha, 1.0)   # the midpoint of (0.001, 1.999)
    np.testing.assert_allclose(loss.scale, 1.0)   # scale_init
    loss2 = losskit.AdaptiveBarronLoss(2, alpha_init=0.5, scale_lo=0.1, scale_init=2.0)
    np.testing.assert_allclose(loss2.alpha, 0.5)
    np.testing.assert_allclose(loss2.scale, 2.0)
    loss2.params[0][:] = [-3.0, 4.0]
    loss2.params[1][:] = [-50.0, 2.0]
    lat = np.array([-3.0, 4.0])
    np.testing.assert_allclose(loss2.alpha, 0.001 + 1.998 / (1 + np.exp(-lat)))
    np.testing.assert_allclose(loss2.scale, 0.1 + 1.9 * np.log1p(np.exp(np.array([-50.0, 2.0])
                                                                        + math.log(math.e - 1))))
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(40, 2)) * 2, rng.normal(size=(40, 2))
    ref = _adaptive_reference(loss2, x, y)
    for reduction, expected in (("none", ref), ("sum", ref.sum()), ("mean", ref.mean())):
        loss2.reduction = reduction
        loss2._kernel = losskit.AdaptiveBarronLoss(2, reduction=reduction)._kernel
        np.testing.assert_allclose(loss2(x, y), expected, rtol=1e-12)
        v, g = loss2.value_and_grad(x, y)
        np.testing.assert_allclose(v, expected, rtol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_adaptive_latent_gradients_vs_finite_differences(reduction, weighted):
    rng = np.random.default_rng(3)
    x, y = rng.standard_cauchy(size=(60, 3)), rng.normal(size=(60, 3)) * 0.1
    w = rng.uniform(0, 2, size=60) if weighted else None
    loss = losskit.AdaptiveBarronLoss(3, alpha_lo=0.0, alpha_hi=3.0, scale_lo=0.01,
                                      scale_init=0.7, reduction=reduction)
    loss.params[0][:] = [-1.0, 0.3, 2.0]   # alpha ~ 0.8, 1.7 (near 2: the log singularity), 2.6
    loss.params[1][:] = [0.5, -0.4, 0.1]

    def total(v):
        return float(np.sum(v))

    v, gx = loss.value_and_grad(x, y, sample_weight=w)
    grads = [g.copy() for g in loss.param_grads]
    for p, g in zip(loss.params, grads):
        for j in range(3):
            h = 1e-6
            old = p[j]
            p[j] = old + h
            fp = total(loss(x, y, sample_weight=w))
            p[j] = old - h
            fm = total(loss(x, y, sample_weight=w))
            p[j] = old
            assert g[j] == pytest.approx((fp - fm) / (2 * h), rel=1e-6, abs=1e-9)
    # d_input vs finite differences of the value (whose rounding is ~1e-16 |total|)
    h = 1e-4
    noise = 1e-15 * abs(total(v)) / h
    for i, j in ((0, 0), (5, 2), (17, 1)):
        xp, xm = x.copy(), x.copy()
        xp[i, j] += h
        xm[i, j] -= h
        n = (total(loss(xp, y, sample_weight=w)) - total(loss(xm, y, sample_weight=w))) / (2 * h)
        assert gx[i, j] == pytest.approx(n, rel=1e-6, abs=noise)


def test_adaptive_fixed_alpha_and_float32():
    loss = losskit.AdaptiveBarronLoss(2, alpha_lo=1.0, alpha_hi=1.0)
    x = np.array([[0.5, -2.0], [3.0, 0.1]], dtype=np.float32)
    v, g = loss.value_and_grad(x, np.zeros_like(x))
    assert g.dtype == np.float32 and isinstance(v, float)
    np.testing.assert_array_equal(loss.param_grads[0], 0.0)
    np.testing.assert_allclose(loss.alpha, 1.0)
    ref = _adaptive_reference(loss, x.astype(np.float64), np.zeros((2, 2))).mean()
    assert v == pytest.approx(ref, rel=1e-6)
    # one column: 1-D input is accepted
    one = losskit.AdaptiveBarronLoss(1)
    assert one(np.array([1.0, 2.0]), np.zeros(2)) == pytest.approx(
        one(np.array([[1.0], [2.0]]), np.zeros((2, 1))))


def test_adaptive_is_trainable_by_gradient_steps():
    """Plain gradient descent on the latents: Cauchy-like noise pulls alpha down, scale adapts."""
    rng = np.random.default_rng(4)
    r = np.concatenate([rng.normal(size=(900, 1)) * 0.5, rng.normal(size=(100, 1)) * 20])
    loss = losskit.AdaptiveBarronLoss(1)
    first = loss(r, np.zeros_like(r))
    for _ in range(300):
        loss.value_and_grad(r, np.zeros_like(r))
        for p, g in zip(loss.params, loss.param_grads):
            p -= 0.5 * g
    assert loss(r, np.zeros_like(r)) < first - 0.1
    assert loss.alpha[0] < 0.5 and 0.1 < loss.scale[0] < 0.9
    clone = pickle.loads(pickle.dumps(loss))
    assert clone == loss and clone.alpha[0] == loss.alpha[0]
    assert losskit.get_loss("adaptive_barron", num_dims=2).num_dims == 2


# --------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs,match", [
    ({"scale": 0.0}, r"scale.*0\.0"),
    ({"scale": -1.0}, r"scale.*-1\.0"),
    ({"scale": [1.0, 0.0]}, r"scale\[1\] = 0\.0"),
    ({"scale": np.inf}, r"scale.*inf"),
    ({"alpha": np.nan}, r"alpha"),
    ({"alpha": [0.0, np.nan]}, r"alpha\[1\]"),
])
def test_barron_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        losskit.BarronLoss(**kwargs)


def test_barron_array_parameter_must_broadcast():
    loss = losskit.BarronLoss(alpha=np.array([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match=r"alpha shape \(3,\).*input shape \(4,\)"):
        loss(np.zeros(4), np.zeros(4))


@pytest.mark.parametrize("kwargs,match", [
    ({"alpha_init": 2.5}, r"alpha_init.*2\.5"),
    ({"alpha_init": 0.0}, r"alpha_init.*0\.0"),
    ({"alpha_lo": -1.0}, r"alpha_lo.*-1\.0"),
    ({"alpha_lo": 1.5, "alpha_hi": 1.0}, r"alpha_hi.*1\.0"),
    ({"scale_lo": 0.0}, r"scale_lo.*0\.0"),
    ({"scale_lo": 2.0, "scale_init": 1.0}, r"scale_init.*1\.0"),
    ({"alpha_lo": 1.0, "alpha_hi": 1.0, "alpha_init": 1.5}, r"alpha_init.*1\.5"),
])
def test_adaptive_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        losskit.AdaptiveBarronLoss(2, **kwargs)


def test_adaptive_bad_num_dims():
    with pytest.raises(ValueError, match=r"num_dims.*0"):
        losskit.AdaptiveBarronLoss(0)
    with pytest.raises(TypeError, match="num_dims"):
        losskit.AdaptiveBarronLoss(2.5)
    loss = losskit.AdaptiveBarronLoss(3)
    with pytest.raises(ValueError, match=r"4 columns.*num_dims = 3"):
        loss(np.zeros((5, 4)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        loss.value_and_grad(np.zeros(5), np.zeros(5))
    with pytest.raises(ValueError, match="target shape"):
        loss(np.zeros((5, 3)), np.zeros((4, 3)))
