"""Numerically adversarial inputs: tiny and huge weights, extreme Barron parameters, large
PseudoHuber deltas, NaN propagation in the margin losses, weighted KL batchmean, and the
LOSSKIT_ISA warning. References are float64 NumPy formulas or 50-digit mpmath."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import numpy as np
import pytest

import losskit

from test_barron import mp_reference

ISAS = losskit.available_isas()


@pytest.fixture(params=ISAS)
def each_isa(request):
    before = losskit.get_isa()
    losskit.set_isa(request.param)
    yield request.param
    losskit.set_isa(before)


# --------------------------------------------------------------------------------------
# weighted means: the normaliser never leaves float64 before the last multiply
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("w0", [1e-40, 1e-45, 3e-39, 1e36, 3e38])
def test_weighted_mean_gradient_with_tiny_or_huge_float32_weights(each_isa, w0):
    rng = np.random.default_rng(1)
    n = 100_000 if w0 >= 1e36 else 1000
    x = rng.standard_normal(n).astype(np.float32)
    w = np.full(n, w0, np.float32)
    w[::7] *= np.float32(0.5)
    v, g = losskit.MSELoss().value_and_grad(x, np.zeros_like(x), sample_weight=w)
    wd = w.astype(np.float64)
    ref_g = 2 * x.astype(np.float64) * wd / wd.sum()
    ref_v = float((wd * x.astype(np.float64) ** 2).sum() / wd.sum())
    assert np.all(np.isfinite(g))
    ulp = np.spacing(np.abs(ref_g).astype(np.float32)).astype(np.float64)
    assert np.max(np.abs(g - ref_g) / ulp) <= 2.0
    assert v == pytest.approx(ref_v, rel=1e-6)


@pytest.mark.parametrize("w0", [1e-40, 1e36])
@pytest.mark.parametrize("C", [3, 40])
def test_weighted_cross_entropy_and_nll_with_tiny_or_huge_float32_weights(each_isa, w0, C):
    rng = np.random.default_rng(2)
    N = 50
    x = rng.standard_normal((N, C)).astype(np.float32)
    y = rng.integers(0, C, N)
    sw = np.full(N, w0, np.float32)
    xd = x.astype(np.float64)
    p = np.exp(xd - xd.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    onehot = np.eye(C)[y]
    wd = sw.astype(np.float64)
    ref_g = (p - onehot) * wd[:, None] / wd.sum()
    ref_v = float((wd * -np.log(p[np.arange(N), y])).sum() / wd.sum())
    v, g = losskit.CrossEntropyLoss().value_and_grad(x, y, sample_weight=sw)
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(g, ref_g, rtol=2e-6, atol=1e-7 * np.abs(ref_g).max())
    assert v == pytest.approx(ref_v, rel=1e-6)
    logp = np.log(p).astype(np.float32)
    v, g = losskit.NLLLoss().value_and_grad(logp, y, sample_weight=sw)
    np.testing.assert_allclose(g, -onehot * wd[:, None] / wd.sum(), rtol=1e-6)
    assert np.all(np.isfinite(g))


def test_weighted_multi_margin_with_tiny_float32_weights():
    x = np.array([[1.0, 2.0, 0.5], [0.0, 0.1, 3.0]], np.float32)
    y = np.array([0, 2])
    sw = np.array([2.0**-133, 2.0**-132], np.float32)  # subnormal, exactly 1 : 2
    g = losskit.MultiMarginLoss().grad(x, y, sample_weight=sw)
    g1 = losskit.MultiMarginLoss().grad(x, y, sample_weight=np.array([1.0, 2.0], np.float32))
    np.testing.assert_allclose(g, g1, rtol=1e-6)


def test_multi_margin_nan_score_propagates_to_the_gradient():
    x = np.array([[np.nan, 1.0, 2.0], [0.0, 1.0, 0.5]])
    g = losskit.MultiMarginLoss().grad(x, np.array([1, 0]))
    assert np.isnan(g[0]).sum() >= 2 and np.isnan(g[0, 1])  # the NaN class and the label's
    assert np.all(np.isfinite(g[1]))
    g = losskit.MultiMarginLoss().grad(np.array([[0.0, np.nan, 2.0]]), np.array([1]))
    assert np.all(np.isnan(g))


# --------------------------------------------------------------------------------------
# KL batchmean with sample weights: sum(w l) / (total weight of the samples)
# --------------------------------------------------------------------------------------
def test_kl_batchmean_with_sample_weight_divides_by_the_weights():
    rng = np.random.default_rng(3)
    N, C = 6, 4
    logq = np.log(rng.dirichlet(np.ones(C), N))
    t = rng.dirichlet(np.ones(C), N)
    w = rng.uniform(0.1, 3.0, N)
    elem = t * (np.log(t) - logq)
    ref = float((w[:, None] * elem).sum() / w.sum())
    loss = losskit.KLDivLoss(reduction="batchmean")
    assert loss(logq, t, sample_weight=w) == pytest.approx(ref, rel=1e-12)
    g = loss.grad(logq, t, sample_weight=w)
    np.testing.assert_allclose(g, -t * w[:, None] / w.sum(), rtol=1e-12)
    # unit weights are the unweighted batchmean
    assert loss(logq, t, sample_weight=np.ones(N)) == pytest.approx(loss(logq, t), rel=1e-14)


# --------------------------------------------------------------------------------------
# Barron d/dalpha against mpmath on alpha and x grids
# --------------------------------------------------------------------------------------
SWEEP_ALPHAS = [-1e6, -1e3, -10.0, -2.0, -0.5, -1e-4, 1e-4, 0.01, 0.3, 0.5, 1.0, 1.5, 1.9,
                1.999, 2.001, 2.1, 3.0, 5.0, 10.0, 10.75, 50.0, 1e3, 1.5e4, 1e5, 1e8]
SWEEP_XS = list(np.logspace(-3, 4, 36)) + [0.5, 0.73]


def _dalpha_error(got, ref, terms, dtype):
    """Error relative to the larger of |d/dalpha| and 1e-3 x the size of its terms (beyond a
    1000x cancellation of its terms, relative to 1e-3 of their size)."""
    ref, got = float(ref), float(got)
    info = np.finfo(dtype)
    if math.isinf(ref) or abs(ref) > float(info.max):
        return 0.0 if got == math.inf else math.inf
    if ref == 0:
        return 0.0 if got == 0 else math.inf
    if not math.isfinite(got):
        return math.inf
    scale = max(abs(ref), 1e-3 * float(terms), float(info.tiny))
    return abs(got - ref) / scale


@pytest.fixture(scope="module")
def sweep_reference():
    out = {}
    for dt in (np.float32, np.float64):
        alphas = SWEEP_ALPHAS + ([3e12, 1e15] if dt == np.float64 else [])
        x = np.array(SWEEP_XS, dt)
        out[dt] = (x, {a: [mp_reference(float(xi), float(dt(a))) for xi in x] for a in alphas})
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_barron_dalpha_sweep_against_mpmath(each_isa, sweep_reference, dtype):
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    x, refs = sweep_reference[dtype]
    worst = (0.0,)
    for a, rows in refs.items():
        _, _, ga, _ = losskit.BarronLoss(alpha=a, reduction="none").value_and_grads(x, np.zeros_like(x))
        for i, (_, _, ra, terms) in enumerate(rows):
            e = _dalpha_error(ga[i], ra, terms, dtype)
            if e > worst[0]:
                worst = (e, a, float(x[i]), float(ga[i]), float(ra))
    assert worst[0] <= rtol, worst


@pytest.mark.parametrize("a, x", [(1.0, 0.5), (1e-4, 0.73), (0.5, 0.63), (2.1, 0.178),
                                  (2.001, 0.0178), (-0.5, 0.794)])
def test_barron_float32_dalpha_relative_error_at_moderate_cancellation(each_isa, a, x):
    xs = np.array([x], np.float32)
    ref = float(mp_reference(float(xs[0]), float(np.float32(a)))[2])
    ga = losskit.BarronLoss(alpha=a, reduction="sum").value_and_grads(xs, np.zeros(1, np.float32))[2]
    assert abs(float(ga[0]) - ref) <= 1e-5 * abs(ref)


def test_barron_dalpha_large_alpha_is_finite_and_overflow_is_inf(each_isa):
    ga = losskit.BarronLoss(alpha=2e4, reduction="none").value_and_grads(
        np.array([0.0, 1e-3, 1.0], np.float32), np.zeros(3, np.float32))[2]
    assert ga[0] == 0 and np.all(np.isfinite(ga)) and np.all(ga[1:] > 0)
    ga = losskit.BarronLoss(alpha=3e12, reduction="none").value_and_grads(
        np.array([1.0]), np.zeros(1))[2]
    assert float(ga[0]) == pytest.approx(float(mp_reference(1.0, 3e12)[2]), rel=1e-6)
    # float32 alpha 10.75 at x = 1e4: the value is finite, d/dalpha overflows: +inf, not NaN
    v, _, ga, _ = losskit.BarronLoss(alpha=10.75, reduction="none").value_and_grads(
        np.array([1e4], np.float32), np.zeros(1, np.float32))
    assert np.isfinite(v[0]) and ga[0] == np.inf


@pytest.mark.parametrize("scale", [1e-40, 1e-50])
@pytest.mark.parametrize("as_array", [False, True])
def test_barron_float32_subnormal_scale_is_refused(scale, as_array):
    s = np.full(3, scale) if as_array else scale
    loss = losskit.BarronLoss(alpha=1.0, scale=s)
    with pytest.raises(ValueError, match="scale"):
        loss.value_and_grads(np.zeros(3, np.float32), np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="scale"):
        loss(np.zeros(3, np.float32), np.zeros(3, np.float32))
    # float64 computes it: rho(x = scale) = sqrt(2) - 1 at alpha = 1
    v = losskit.BarronLoss(alpha=1.0, scale=s, reduction="none")(np.full(3, scale), np.zeros(3))
    np.testing.assert_allclose(v, math.sqrt(2) - 1, rtol=1e-12)


def test_adaptive_barron_refuses_a_learned_alpha_bound_of_2():
    with pytest.raises(ValueError, match="alpha_hi"):
        losskit.AdaptiveBarronLoss(num_dims=2, alpha_hi=2.0)
    with pytest.raises(ValueError, match="alpha_lo"):
        losskit.AdaptiveBarronLoss(num_dims=2, alpha_lo=2.0, alpha_hi=3.0)
    losskit.AdaptiveBarronLoss(num_dims=2, alpha_lo=2.0, alpha_hi=2.0)  # fixed alpha is fine
    # a bound past 2 saturates at a finite d/dalpha: the latent gradient stays finite
    loss = losskit.AdaptiveBarronLoss(num_dims=2, alpha_lo=0.0, alpha_hi=3.0)
    loss.params[0][:] = 60.0  # sigmoid saturates: alpha = 3
    x = np.array([[0.5, 2.0], [1.0, -3.0]])
    loss.value_and_grad(x, np.zeros_like(x))
    assert all(np.all(np.isfinite(g)) for g in loss.param_grads)


# --------------------------------------------------------------------------------------
# PseudoHuber with a large delta: finite wherever the value is
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype, delta, r", [(np.float32, 1e30, 1e10), (np.float32, 1e20, 1e15),
                                             (np.float32, 1e10, 1e20), (np.float64, 1e300, 1e10),
                                             (np.float64, 1e200, 1e150), (np.float64, 1.0, 1e300)])
def test_pseudo_huber_large_delta_is_finite(each_isa, dtype, delta, r):
    loss = losskit.PseudoHuberLoss(delta=delta, reduction="none")
    x = np.array([r, -r, 0.0], dtype)
    v, g = loss.value_and_grad(x, np.zeros(3, dtype))
    # delta^2 (sqrt(1 + a^2) - 1) = r^2 / (sqrt(1 + a^2) + 1), a = r / delta, in float64
    d = float(np.asarray(delta, dtype))
    rr = float(x[0])
    ref = rr * rr / (math.hypot(1.0, rr / d) + 1) if rr / d < 1e150 else d * rr
    rtol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(v, [ref, ref, 0.0], rtol=rtol)
    np.testing.assert_allclose(g[:2], [rr / math.hypot(1.0, rr / d), -rr / math.hypot(1.0, rr / d)],
                               rtol=rtol)


# --------------------------------------------------------------------------------------
# LOSSKIT_ISA: an unknown name is reported once
# --------------------------------------------------------------------------------------
def test_unknown_losskit_isa_warns_once(tmp_path):
    env = dict(os.environ, LOSSKIT_ISA="no-such-isa")
    code = ("import numpy as np, losskit; losskit.get_isa(); "
            "losskit.MSELoss()(np.ones(3), np.zeros(3)); print(losskit.get_isa())")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         cwd=tmp_path, check=True)
    assert out.stderr.count("unknown LOSSKIT_ISA") == 1, out.stderr


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("pos_weight", [None, 3.0])
def test_bce_with_logits_gradient_keeps_tiny_targets(dtype, pos_weight):
    """d/dx = lw sigmoid(x) - pw y for x < 0 (lw = 1 + (pw - 1) y): computed without 1 - y,
    which would round a tiny target away (x = -1e4, y = 1e-30 gave 0, not -1e-30)."""
    import mpmath

    x = np.array([-1e4, -200.0, -20.0, -1.0, 0.5, 30.0], dtype=dtype)
    y = np.array([1e-30, 1e-25, 1e-30, 1e-30, 1e-30, 1 - 1e-7], dtype=dtype)
    loss = losskit.BCEWithLogitsLoss(pos_weight=pos_weight, reduction="sum")
    got = loss.grad(x, y)
    pw = 1.0 if pos_weight is None else pos_weight
    for xi, yi, gi in zip(x.astype(float), y.astype(float), got.astype(float)):
        with mpmath.workdps(50):
            X, Y = mpmath.mpf(xi), mpmath.mpf(yi)
            lw = 1 + (pw - 1) * Y
            expected = float((1 - Y) - lw / (1 + mpmath.exp(X)))
        assert gi == pytest.approx(expected, rel=4 * np.finfo(dtype).eps, abs=0), (xi, yi)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
def test_cross_entropy_mean_over_zero_weight_is_nan_as_pytorch(label_smoothing):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).normal(size=(4, 3))
    y = np.array([0, 0, 1, 1])
    w = np.array([0.0, 0.0, 1.0])
    expected = float(torch.nn.functional.cross_entropy(
        torch.tensor(x), torch.tensor(y), weight=torch.tensor(w), label_smoothing=label_smoothing))
    got = losskit.CrossEntropyLoss(weight=w, label_smoothing=label_smoothing)(x, y)
    assert math.isnan(expected) and math.isnan(got)


@pytest.mark.parametrize("classes", [3, 10, 17, 300])
@pytest.mark.parametrize("margin", [8.0, 12.0, 16.0])
def test_float32_cross_entropy_error_is_absolute_near_zero_loss(classes, margin):
    """The documented limit: the loss is log(sum exp(x - max)) - (x_y - max), whose float32
    error is ~1 ulp of 1 in absolute terms (6e-8), not relative to a loss far below 1."""
    rng = np.random.default_rng(int(margin) + classes)
    x = rng.normal(0, 1, (64, classes)).astype(np.float32)
    y = rng.integers(0, classes, 64)
    x[np.arange(64), y] = margin + rng.uniform(0, 1, 64).astype(np.float32)
    got = losskit.CrossEntropyLoss(reduction="none")(x, y)
    x64 = x.astype(np.float64)
    d = x64 - x64.max(axis=1, keepdims=True)
    expected = np.log1p(np.exp(d).sum(axis=1) - 1.0) - d[np.arange(64), y]
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=4 * np.finfo(np.float32).eps)
