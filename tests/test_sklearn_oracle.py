"""scikit-learn's ``sklearn._loss`` as the oracle of the GLM deviances on a log link (Poisson,
Gamma, Tweedie) and of the exponential loss: ``loss``, ``gradient`` and ``gradient_hessian``
on raw predictions, weighted and unweighted; and the domains scikit-learn states for them."""

from __future__ import annotations

import numpy as np
import pytest

import losskit

sk_loss = pytest.importorskip("sklearn._loss.loss")

DTYPES = [np.float32, np.float64]
DTYPE_IDS = ["float32", "float64"]
POWERS = [0.0, 1.0, 1.5, 2.0, 2.5, 3.0, -0.5]


def _cases():
    yield "poisson", {}, sk_loss.HalfPoissonLoss(), 1.0
    yield "gamma", {}, sk_loss.HalfGammaLoss(), 2.0
    for p in POWERS:
        yield "tweedie", {"power": p}, sk_loss.HalfTweedieLoss(power=p), p
    yield "exponential", {}, sk_loss.ExponentialLoss(), None


CASES = list(_cases())
IDS = [f"{n}-{p}" if p else n for n, p, _, _ in CASES]


def _data(power, n, dtype, seed):
    rng = np.random.default_rng(seed)
    f = rng.uniform(-3, 3, n)
    if power is None:  # exponential: {0, 1} and a few fractions (scikit-learn allows [0, 1])
        y = np.where(rng.random(n) < 0.8, rng.integers(0, 2, n), rng.uniform(0, 1, n))
    elif power <= 0:
        y = rng.normal(1.0, 2.0, n)
    elif power < 2:
        y = np.where(rng.random(n) < 0.5, rng.poisson(2.0, n), rng.uniform(0, 6, n))
    else:
        y = rng.gamma(2.0, 1.5, n) + 1e-3
    return f.astype(dtype), y.astype(dtype)


def _terms(power, f, y):
    """The size of the terms that cancel in the value, gradient and Hessian: e^((2-p) f) and
    |y| e^((1-p) f) (e.g. e^f - y for Poisson), plus |f| (1 + |y|) for the linear terms of the
    Poisson and Gamma values; y e^-f and (1 - y) e^f for the exponential loss."""
    if power is None:
        return np.abs(y) * np.exp(-f) + np.abs(1 - y) * np.exp(f)
    return (np.exp((2 - power) * f) + np.abs(y) * np.exp((1 - power) * f)
            + np.abs(f) * (1 + np.abs(y)))


def _close(got, expected, dtype, what, terms=None):
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    rtol = 1e-12 if dtype == np.float64 else 3e-6
    scale = np.abs(expected) if terms is None else np.maximum(np.abs(expected), terms)
    assert np.all(np.abs(got - expected) <= rtol * (scale + 1e-300)), (
        f"{what}: max rel error {np.max(np.abs(got - expected) / np.maximum(scale, 1e-300)):g}")


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("name,params,oracle,power", CASES, ids=IDS)
def test_matches_sklearn(name, params, oracle, power, dtype, weighted):
    f, y = _data(power, 300, dtype, seed=7)
    f64, y64 = f.astype(np.float64), y.astype(np.float64)
    w = np.random.default_rng(8).uniform(0, 2, 300) if weighted else None
    w_arg = None if w is None else w.astype(dtype)
    sk_value = oracle.loss(y64, f64, sample_weight=w)
    sk_grad, sk_hess = oracle.gradient_hessian(y64, f64, sample_weight=w)
    terms = _terms(power, f64, y64) * (1.0 if w is None else w)
    loss = losskit.get_loss(name, reduction="none", **params)
    v, g = loss.value_and_grad(f, y, sample_weight=w_arg)
    _close(v, sk_value, dtype, "loss", np.abs(sk_value) + terms)
    _close(g, sk_grad, dtype, "gradient", terms)
    g2, h = loss.grad_hess(f, y, sample_weight=w_arg, hessian="exact")
    np.testing.assert_array_equal(g2, g)
    _close(h, sk_hess, dtype, "hessian", terms)
    # the mean is scikit-learn's weighted average of the per-sample losses
    mean = losskit.get_loss(name, reduction="mean", **params)(f, y, sample_weight=w_arg)
    expected = np.average(sk_value if w is None else sk_value / w, weights=w)
    assert mean == pytest.approx(expected, rel=1e-12 if dtype == np.float64 else 1e-5)


def test_scikit_learn_leaves_out_the_same_constant_terms():
    """losskit's value is scikit-learn's ``loss()``: half the deviance minus
    ``constant_to_optimal_zero``, which is 0 at the optimum f = log y."""
    y = np.array([0.5, 1.0, 3.0, 7.5])
    for name, params, oracle, power in CASES:
        if power is None:
            continue
        f = np.log(y)
        v = losskit.get_loss(name, reduction="none", **params)(f, y)
        np.testing.assert_allclose(v + oracle.constant_to_optimal_zero(y), 0.0, atol=1e-12,
                                   err_msg=f"{name} {params}")


@pytest.mark.parametrize("power", [0.5, 1e-9, 0.999])
def test_tweedie_power_between_zero_and_one_is_refused(power):
    metrics = pytest.importorskip("sklearn.metrics")
    with pytest.raises(ValueError):
        metrics.mean_tweedie_deviance([1.0, 2.0], [1.5, 1.5], power=power)
    with pytest.raises(ValueError, match=r"power must be .*not in \(0, 1\), got"):
        losskit.TweedieLoss(power=power)
    loss = losskit.TweedieLoss()
    with pytest.raises(ValueError, match="power"):
        loss.power = power
    assert loss.power == 1.5


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name,params,oracle,power", CASES, ids=IDS)
def test_targets_outside_scikit_learns_domain_are_refused_before_writing(
        name, params, oracle, power, dtype):
    """The target domain is scikit-learn's interval_y_true; the first target outside it is
    named and nothing is written."""
    low, high, low_closed, high_closed = (oracle.interval_y_true.low, oracle.interval_y_true.high,
                                          oracle.interval_y_true.low_inclusive,
                                          oracle.interval_y_true.high_inclusive)
    bad = []
    if np.isfinite(low):
        bad.append(low if not low_closed else low - 0.5)
    if np.isfinite(high):
        bad.append(high + 0.5)
    if not bad:
        pytest.skip("every real target is valid")
    f, y = _data(power, 3000, dtype, seed=9)
    for value in bad:
        assert not oracle.in_y_true_range(np.array([value]))
        y_bad = y.copy()
        y_bad[2500] = value
        y_bad[2900] = value
        out = np.full_like(f, 7.0)
        loss = losskit.get_loss(name, reduction="mean", **params)
        with pytest.raises(ValueError, match=r"target must lie in .* got target.flat\[2500\]"):
            loss.grad(f, y_bad, out=out)
        assert np.all(out == 7.0)
    assert oracle.in_y_true_range(y.astype(np.float64))
    losskit.get_loss(name, **params)(f, y)  # the valid targets pass
