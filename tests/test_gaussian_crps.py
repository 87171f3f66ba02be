"""GaussianCRPSLoss against its definition: the CRPS integral of (F(x) - 1[x >= y])^2 over the
real line for the normal cdf F, evaluated by mpmath quadrature at 30 digits (value, and the
derivatives in mu and sigma by mpmath's numerical differentiation of that integral); its
limits; and the refusal of sigma <= 0."""

from __future__ import annotations

import numpy as np
import pytest

import losskit

mpmath = pytest.importorskip("mpmath")

# (mu, y, sigma): centred, in the tails (|z| up to 8), small and large sigma
POINTS = [(0.0, 0.0, 1.0), (0.3, -1.2, 0.7), (2.0, 5.0, 0.5), (-1.0, 3.0, 2.5),
          (10.0, -6.0, 2.0), (0.0, 1e-3, 1e-2), (1.5, 1.0, 40.0)]


def _crps_integral(mu, y, sigma):
    mu, y, sigma = (mpmath.mpf(v) for v in (mu, y, sigma))
    cdf = lambda x: mpmath.ncdf(x, mu, sigma)  # noqa: E731
    below = mpmath.quad(lambda x: cdf(x) ** 2, [-mpmath.inf, min(mu, y), y])
    above = mpmath.quad(lambda x: (1 - cdf(x)) ** 2, [y, max(mu, y), mpmath.inf])
    return below + above


@pytest.fixture(scope="module")
def integrals():
    with mpmath.workdps(30):
        out = []
        for mu, y, s in POINTS:
            v = _crps_integral(mu, y, s)
            d_mu = mpmath.diff(lambda m: _crps_integral(m, y, s), mu)
            d_sigma = mpmath.diff(lambda t: _crps_integral(mu, y, t), s)
            d2_mu = mpmath.diff(lambda m: _crps_integral(m, y, s), mu, 2)
            out.append(tuple(float(t) for t in (v, d_mu, d_sigma, d2_mu)))
    return np.array(out)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_matches_the_crps_integral(integrals, isa, dtype):
    mu, y, sigma = (np.array(c, dtype=dtype) for c in zip(*POINTS))
    loss = losskit.GaussianCRPSLoss(reduction="none")
    v, d_mu, d_sigma = loss.value_and_grads(mu, y, sigma)
    _, d2_mu = loss.grad_hess(mu, y, sigma)
    rtol = 2e-13 if dtype == np.float64 else 2e-6
    # each value against the size of its terms: |y - mu| and sigma / sqrt(pi)
    scale = np.abs(y - mu).astype(np.float64) + sigma
    for got, want, what, s in ((v, integrals[:, 0], "value", scale),
                               (d_mu, integrals[:, 1], "d_mu", 1.0),
                               (d_sigma, integrals[:, 2], "d_sigma", 1.0),
                               (d2_mu, integrals[:, 3], "d2_mu", 1 / sigma.astype(np.float64))):
        err = np.abs(np.asarray(got, np.float64) - want)
        assert np.all(err <= rtol * (np.abs(want) + s)), f"{what}: {got} vs {want}"


def test_limits():
    loss = losskit.GaussianCRPSLoss(reduction="none")
    mu = np.array([0.0, 1.0, -2.0, 0.0])
    y = np.array([3.0, 1.0, 5.0, 1.0])
    # sigma -> 0: the absolute error, and no overflow of z = (y - mu) / sigma
    tiny = np.array([1e-300, 1e-300, 5e-324, 1e-30])
    v, d_mu, d_sigma = loss.value_and_grads(mu, y, tiny)
    np.testing.assert_allclose(v, np.abs(y - mu), rtol=1e-15, atol=1e-29)
    np.testing.assert_array_equal(d_mu, -np.sign(y - mu))
    # sigma = inf: infinite, its gradient in sigma (sqrt 2 - 1) / sqrt(pi)
    v, _, d_sigma = loss.value_and_grads(mu, y, np.full(4, np.inf))
    np.testing.assert_array_equal(v, np.inf)
    np.testing.assert_allclose(d_sigma, (np.sqrt(2) - 1) / np.sqrt(np.pi), rtol=1e-15)
    # at y = mu: sigma (sqrt 2 - 1) / sqrt(pi)
    assert losskit.GaussianCRPSLoss()(0.5, 0.5, 2.0) == pytest.approx(
        2 * (np.sqrt(2) - 1) / np.sqrt(np.pi), rel=1e-15)


@pytest.mark.parametrize("bad", [0.0, -1.0, -np.inf])
def test_nonpositive_sigma_is_refused_before_writing(bad):
    n = 3000
    mu, y, sigma = np.zeros(n), np.ones(n), np.ones(n)
    sigma[2222] = bad
    sigma[2999] = -5.0
    out = (np.full(n, 7.0), np.full(n, 7.0))
    loss = losskit.GaussianCRPSLoss(reduction="sum")
    with pytest.raises(ValueError, match=r"sigma must lie in \(0, inf\] for gaussian_crps, got "
                                         r"sigma.flat\[2222\]"):
        loss.value_and_grads(mu, y, sigma, out=out)
    assert np.all(out[0] == 7.0) and np.all(out[1] == 7.0)
