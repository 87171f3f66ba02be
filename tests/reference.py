"""Independent NumPy (float64) reference implementations of the losskit losses.

Everything here is written from the documented formulas (PyTorch semantics), not from the
C++ kernels.  For every registered loss there is one ``RefLoss`` entry holding

* ``value(x, y[, v], **params)``: the loss per element,
* ``grad(x, y[, v], **params)``: d value / d input per element,
* ``grad_third(x, y, v, **params)``: d value / d third argument (gaussian_nll only),
* ``param_sets``: the constructor settings the tests run (the first one is the defaults),
* ``domains(params)``: the valid data domain of every argument, as ``Interval`` objects,
  used both to draw hypothesis data and to keep the finite-difference steps inside it,
* ``sample(rng, params, shape)``: realistic float64 test data (residuals spread over the
  scales where the loss changes regime),
* ``kinks(params)``: residual values where the gradient is not smooth (the finite-difference
  test keeps away from them; the reference gradient there is 0 by the subgradient-0 rule).

All functions work on float64 and silence floating point warnings (the test suite runs with
``filterwarnings = error``).  The second half of this file holds small helpers shared by the
test modules (calling a loss with two or three arguments, scaled tolerances).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

LN2 = math.log(2.0)
HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


# --------------------------------------------------------------------------------------
# Domains
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Interval:
    """Closed or half-open interval; ``low``/``high`` are the bounds test data is drawn from.

    ``true_low`` is the real lower edge of the domain (e.g. 0 for var > 0) when the drawing
    bounds are narrower than the domain; finite-difference steps stay inside it.
    """

    low: float
    high: float
    low_inclusive: bool = True
    high_inclusive: bool = True

    def includes(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        lo = x >= self.low if self.low_inclusive else x > self.low
        hi = x <= self.high if self.high_inclusive else x < self.high
        return lo & hi


REAL = Interval(-100.0, 100.0)          # drawing range for unbounded arguments
NONNEG = Interval(0.0, 100.0)           # poisson targets
POSITIVE = Interval(0.0, 100.0, low_inclusive=False)


# --------------------------------------------------------------------------------------
# Per-element definitions
# --------------------------------------------------------------------------------------
def _f64(*arrays):
    return [np.asarray(a, dtype=np.float64) for a in arrays]


def _sign(r):
    # torch.sign / np.sign: 0 at 0 (the subgradient-0 convention), nan at nan.
    return np.sign(r)


# mse -------------------------------------------------------------------------------
def mse_value(x, y):
    x, y = _f64(x, y)
    r = x - y
    return r * r


def mse_grad(x, y):
    x, y = _f64(x, y)
    return 2.0 * (x - y)


# l1 --------------------------------------------------------------------------------
def l1_value(x, y):
    x, y = _f64(x, y)
    return np.abs(x - y)


def l1_grad(x, y):
    x, y = _f64(x, y)
    return _sign(x - y)


# huber -----------------------------------------------------------------------------
def huber_value(x, y, delta=1.0):
    x, y = _f64(x, y)
    r = x - y
    a = np.abs(r)
    return np.where(a < delta, 0.5 * r * r, delta * (a - 0.5 * delta))


def huber_grad(x, y, delta=1.0):
    x, y = _f64(x, y)
    r = x - y
    # continuous at |r| = delta (both pieces give +-delta)
    return np.where(np.abs(r) <= delta, r, delta * _sign(r))


# smooth_l1 -------------------------------------------------------------------------
def smooth_l1_value(x, y, beta=1.0):
    x, y = _f64(x, y)
    r = x - y
    a = np.abs(r)
    if beta == 0.0:
        return a
    return np.where(a < beta, 0.5 * r * r / beta, a - 0.5 * beta)


def smooth_l1_grad(x, y, beta=1.0):
    x, y = _f64(x, y)
    r = x - y
    if beta == 0.0:
        return _sign(r)
    return np.where(np.abs(r) < beta, r / beta, _sign(r))


# pseudo_huber ----------------------------------------------------------------------
def pseudo_huber_value(x, y, delta=1.0):
    # delta^2 (sqrt(1+t^2) - 1) = delta^2 t^2 / (sqrt(1+t^2) + 1) = delta * r * t / (hypot(1,t)+1)
    # (no cancellation for small t, no overflow of t^2 for large t)
    x, y = _f64(x, y)
    r = x - y
    t = r / delta
    v = delta * r * (t / (np.hypot(1.0, t) + 1.0))
    return np.where(np.isinf(r), np.inf, v)  # the limit at |r| = inf


def pseudo_huber_grad(x, y, delta=1.0):
    x, y = _f64(x, y)
    r = x - y
    g = r / np.hypot(1.0, r / delta)
    return np.where(np.isinf(r), delta * np.sign(r), g)  # the limit at |r| = inf


# log_cosh --------------------------------------------------------------------------
def log_cosh_value(x, y):
    # |r| < 1: log(cosh r) = log1p(cosh r - 1) = log1p(2 sinh(r/2)^2)   (exact for tiny r)
    # |r| >= 1: |r| - log 2 + log1p(exp(-2|r|))                        (no overflow)
    x, y = _f64(x, y)
    a = np.abs(x - y)
    small = a < 1.0
    a_small = np.where(small, a, 0.0)
    s = np.sinh(0.5 * a_small)
    v_small = np.log1p(2.0 * s * s)
    v_large = (a - LN2) + np.log1p(np.exp(-2.0 * a))
    return np.where(small, v_small, v_large)


def log_cosh_grad(x, y):
    x, y = _f64(x, y)
    return np.tanh(x - y)


# quantile --------------------------------------------------------------------------
def quantile_value(x, y, quantile=0.5):
    x, y = _f64(x, y)
    r = y - x
    return np.where(r >= 0, quantile * r, (quantile - 1.0) * r)


def quantile_grad(x, y, quantile=0.5):
    x, y = _f64(x, y)
    r = y - x
    # d/dx = -d/dr; subgradient 0 at r == 0; nan propagates through the arithmetic below
    g = np.where(r > 0, -quantile, np.where(r < 0, 1.0 - quantile, 0.0))
    return np.where(np.isnan(r), np.nan, g)


# epsilon_insensitive ---------------------------------------------------------------
def epsilon_insensitive_value(x, y, epsilon=0.1, squared=False):
    x, y = _f64(x, y)
    r = x - y
    e = np.abs(r) - epsilon
    e = np.where(np.isnan(e), np.nan, np.where(e > 0, e, 0.0))
    return e * e if squared else e


def epsilon_insensitive_grad(x, y, epsilon=0.1, squared=False):
    x, y = _f64(x, y)
    r = x - y
    e = np.abs(r) - epsilon
    outside = e > 0
    if squared:
        g = np.where(outside, 2.0 * e * _sign(r), 0.0)
    else:
        g = np.where(outside, _sign(r), 0.0)
    return np.where(np.isnan(r), np.nan, g)


# gaussian_nll ----------------------------------------------------------------------
def _gauss_prec(v, eps, param):
    """Clamped precision beta (= 1/var) for either parameterisation."""
    if param == "var":
        return 1.0 / np.maximum(v, eps)
    return np.minimum(v, 1.0 / eps)


def gaussian_nll_value(x, y, v, full=False, eps=1e-6, param="var"):
    x, y, v = _f64(x, y, v)
    r = x - y
    if param == "var":
        vc = np.maximum(v, eps)
        val = 0.5 * (np.log(vc) + r * r / vc)
    else:
        b = np.minimum(v, 1.0 / eps)
        val = 0.5 * (r * r * b - np.log(b))
    if full:
        val = val + HALF_LOG_2PI
    return val


def gaussian_nll_grad(x, y, v, full=False, eps=1e-6, param="var"):
    x, y, v = _f64(x, y, v)
    r = x - y
    if param == "var":
        return r / np.maximum(v, eps)
    return r * np.minimum(v, 1.0 / eps)


def gaussian_nll_grad_third(x, y, v, full=False, eps=1e-6, param="var"):
    # the clamp is transparent to the gradient (PyTorch clamps under no_grad)
    x, y, v = _f64(x, y, v)
    r = x - y
    if param == "var":
        vc = np.maximum(v, eps)
        return 0.5 * (1.0 / vc - (r / vc) ** 2)
    b = np.minimum(v, 1.0 / eps)
    return 0.5 * (r * r - 1.0 / b)


# poisson_nll -----------------------------------------------------------------------
def expectile_value(x, y, expectile=0.5):
    x, y = _f64(x, y)
    u = y - x
    return np.where(u < 0, 1 - expectile, expectile) * u * u


def expectile_grad(x, y, expectile=0.5):
    x, y = _f64(x, y)
    u = y - x
    return -2 * np.where(u < 0, 1 - expectile, expectile) * u


def _stirling(y):
    # y log y - y + 0.5 log(2 pi y), only where y > 1 (PyTorch masks y <= 1 to 0)
    big = y > 1
    ys = np.where(big, y, 2.0)
    term = ys * np.log(ys) - ys + 0.5 * np.log(2.0 * np.pi * ys)
    return np.where(big, term, np.where(np.isnan(y), np.nan, 0.0))


def poisson_nll_value(x, y, log_input=True, full=False, eps=1e-8):
    x, y = _f64(x, y)
    if log_input:
        val = np.exp(x) - y * x
    else:
        val = x - y * np.log(x + eps)
    if full:
        val = val + _stirling(y)
    return val


def poisson_nll_grad(x, y, log_input=True, full=False, eps=1e-8):
    x, y = _f64(x, y)
    if log_input:
        return np.exp(x) - y
    return 1.0 - y / (x + eps)


# barron ----------------------------------------------------------------------------
# Barron's general robust loss rho(r, alpha, c), with its special cases.
def _barron_parts(x, y, alpha, scale):
    x, y = _f64(x, y)
    u = (x - y) / scale
    u2 = u * u
    b = abs(alpha - 2.0)
    return u, u2, b


def barron_value(x, y, alpha=1.0, scale=1.0):
    u, u2, b = _barron_parts(x, y, alpha, scale)
    if alpha == 2.0:
        return 0.5 * u2
    if alpha == 0.0:
        return np.log1p(0.5 * u2)
    if alpha == -np.inf:
        return -np.expm1(-0.5 * u2)
    if alpha == np.inf:
        return np.expm1(0.5 * u2)
    # b/a ((z + 1)^(a/2) - 1) without cancellation
    return b / alpha * np.expm1(0.5 * alpha * np.log1p(u2 / b))


def barron_grad(x, y, alpha=1.0, scale=1.0):
    # d rho / dx = (u / c) (z + 1)^(a/2 - 1)
    u, u2, b = _barron_parts(x, y, alpha, scale)
    if alpha == 2.0:
        return u / scale
    if np.isinf(alpha):
        return u / scale * np.exp(np.sign(alpha) * 0.5 * u2)
    return u / scale * np.exp(0.5 * (alpha - 2.0) * np.log1p(u2 / b))


# --------------------------------------------------------------------------------------
# Term magnitudes: sum of |terms| of each formula (the scale of its rounding error when
# the terms cancel, e.g. exp(x) - y for poisson_nll or 1 - y/(x+eps))
# --------------------------------------------------------------------------------------
def _stirling_terms(y):
    big = y > 1
    ys = np.where(big, y, 2.0)
    t = np.abs(ys * np.log(ys)) + ys + np.abs(0.5 * np.log(2.0 * np.pi * ys))
    return np.where(big, t, 0.0)


def poisson_nll_value_terms(x, y, log_input=True, full=False, eps=1e-8):
    x, y = _f64(x, y)
    if log_input:
        t = np.exp(x) + np.abs(y * x)
    else:
        t = np.abs(x) + np.abs(y * np.log(x + eps))
    return t + (_stirling_terms(y) if full else 0.0)


def poisson_nll_grad_terms(x, y, log_input=True, full=False, eps=1e-8):
    x, y = _f64(x, y)
    return np.exp(x) + np.abs(y) if log_input else 1.0 + np.abs(y / (x + eps))


def gaussian_nll_value_terms(x, y, v, full=False, eps=1e-6, param="var"):
    x, y, v = _f64(x, y, v)
    b = _gauss_prec(v, eps, param)
    r = x - y
    return 0.5 * (np.abs(np.log(b)) + r * r * b) + (HALF_LOG_2PI if full else 0.0)


def gaussian_nll_grad_third_terms(x, y, v, full=False, eps=1e-6, param="var"):
    x, y, v = _f64(x, y, v)
    b = _gauss_prec(v, eps, param)
    r = x - y
    if param == "var":
        return 0.5 * (b + (r * b) ** 2)
    return 0.5 * (r * r + 1.0 / b)


def epsilon_insensitive_value_terms(x, y, epsilon=0.1, squared=False):
    x, y = _f64(x, y)
    a = np.abs(x - y) + epsilon
    return a * a if squared else a


def epsilon_insensitive_grad_terms(x, y, epsilon=0.1, squared=False):
    x, y = _f64(x, y)
    return 2.0 * (np.abs(x - y) + epsilon) if squared else np.ones_like(x)


def log_cosh_value_terms(x, y):
    x, y = _f64(x, y)
    a = np.abs(x - y)
    return np.where(a < 1.0, np.abs(log_cosh_value(x, y)), a + LN2)


# --------------------------------------------------------------------------------------
# Test data
# --------------------------------------------------------------------------------------
def _residual_scales(params):
    """Scales where the loss changes regime, so residuals straddle every kink."""
    s = [0.05, 1.0, 5.0]
    for k in ("delta", "beta", "epsilon"):
        if k in params and params[k] > 0:
            s.append(float(params[k]))
    return np.array(s)


def _residual_data(rng, params, shape):
    y = rng.normal(0.0, 2.0, size=shape)
    scales = _residual_scales(params)
    r = rng.normal(0.0, 1.0, size=shape) * rng.choice(scales, size=shape)
    return {"input": y + r, "target": y}


def _poisson_targets(rng, shape):
    # integers (incl. 0 and 1, where the Stirling mask switches) and non-integers
    counts = rng.poisson(3.0, size=shape).astype(np.float64)
    frac = rng.uniform(0.0, 8.0, size=shape)
    return np.where(rng.random(shape) < 0.5, counts, frac)


def _poisson_sample(rng, params, shape):
    y = _poisson_targets(rng, shape)
    if params.get("log_input", True):
        x = rng.uniform(-4.0, 4.0, size=shape)
    else:
        x = np.exp(rng.uniform(-4.0, 3.0, size=shape))
    return {"input": x, "target": y}


def _gauss_sample(rng, params, shape):
    d = _residual_data(rng, params, shape)
    if params.get("param", "var") == "var":
        d["third"] = np.exp(rng.uniform(-3.0, 2.0, size=shape))
    else:
        d["third"] = np.exp(rng.uniform(-2.0, 3.0, size=shape))
    return d


def _regression_domains(params):
    return {"input": REAL, "target": REAL}


def _poisson_domains(params):
    if params.get("log_input", True):
        # exp(20) stays finite in float32
        return {"input": Interval(-20.0, 20.0), "target": NONNEG}
    return {"input": POSITIVE, "target": NONNEG}


def _gauss_domains(params):
    if params.get("param", "var") == "var":
        # (0, eps) is inside: the clamp is exercised
        third = Interval(0.0, 1000.0, low_inclusive=False)
    else:
        # beta > 1/eps is inside (clamp); beta -> 0 is left out: d/dbeta = -1/(2 beta)
        # overflows float32 below ~1e-38
        third = Interval(1e-3, 1e7)
    return {"input": REAL, "target": REAL, "third": third}


def _no_kinks(params):
    return ()


# --------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RefLoss:
    name: str
    cls_name: str
    value: Callable
    grad: Callable
    param_sets: tuple
    n_args: int = 2
    grad_third: Callable | None = None
    domains: Callable = _regression_domains
    sample_fn: Callable = _residual_data
    kinks: Callable = _no_kinks
    # residual sign used by the kink masks: the kinks are symmetric, so x - y is enough
    nan_grad: Callable = field(default=lambda params: True)
    has_inf_limit: bool = True    # value -> +inf as input -> +-inf (with finite target)
    # magnitudes of the terms of value / grad / grad_third (default: |result|)
    value_terms: Callable | None = None
    grad_terms: Callable | None = None
    grad_third_terms: Callable | None = None
    # the data roles in call order (default: input, target[, third]); the reference functions
    # take their arguments in this order
    order: tuple = ()
    # where the kinks(params) lie: a coordinate of the data (input, target, third) per element,
    # the residual input - target by default
    kink_coordinate: Callable | None = None

    @property
    def defaults(self) -> dict:
        return dict(self.param_sets[0])

    def sample(self, rng, params, shape):
        return self.sample_fn(rng, params, shape)

    def ref_value(self, args, params):
        with np.errstate(all="ignore"):
            return self.value(*args, **params)

    def ref_grad(self, args, params):
        with np.errstate(all="ignore"):
            return self.grad(*args, **params)

    def ref_grad_third(self, args, params):
        with np.errstate(all="ignore"):
            return self.grad_third(*args, **params)

    def terms(self, kind, args, params):
        """Per-element magnitude of the terms of "value", "grad" or "third"."""
        fn = {"value": self.value_terms, "grad": self.grad_terms,
              "third": self.grad_third_terms}[kind]
        with np.errstate(all="ignore"):
            if fn is not None:
                return np.abs(fn(*args, **params))
            base = {"value": self.value, "grad": self.grad, "third": self.grad_third}[kind]
            return np.abs(base(*args, **params))


REFERENCE: dict[str, RefLoss] = {}


def _register(ref: RefLoss):
    REFERENCE[ref.name] = ref


_register(RefLoss("mse", "MSELoss", mse_value, mse_grad, ({},)))
_register(RefLoss("l1", "L1Loss", l1_value, l1_grad, ({},),
                  kinks=lambda p: (0.0,), nan_grad=lambda p: False))
_register(RefLoss("huber", "HuberLoss", huber_value, huber_grad,
                  ({"delta": 1.0}, {"delta": 0.5}, {"delta": 2.0}),
                  kinks=lambda p: (-p["delta"], p["delta"])))
_register(RefLoss("smooth_l1", "SmoothL1Loss", smooth_l1_value, smooth_l1_grad,
                  ({"beta": 1.0}, {"beta": 0.0}, {"beta": 0.3}),
                  kinks=lambda p: (-p["beta"], 0.0, p["beta"]) if p["beta"] == 0 else (-p["beta"], p["beta"]),
                  nan_grad=lambda p: p["beta"] > 0))
_register(RefLoss("pseudo_huber", "PseudoHuberLoss", pseudo_huber_value, pseudo_huber_grad,
                  ({"delta": 1.0}, {"delta": 0.5}, {"delta": 2.0})))
_register(RefLoss("log_cosh", "LogCoshLoss", log_cosh_value, log_cosh_grad, ({},),
                  value_terms=log_cosh_value_terms))
_register(RefLoss("quantile", "QuantileLoss", quantile_value, quantile_grad,
                  ({"quantile": 0.5}, {"quantile": 0.1}, {"quantile": 0.9}),
                  kinks=lambda p: (0.0,), nan_grad=lambda p: False))
_register(RefLoss("expectile", "ExpectileLoss", expectile_value, expectile_grad,
                  ({"expectile": 0.5}, {"expectile": 0.1}, {"expectile": 0.9}),
                  # the gradient is continuous, its slope jumps at u = 0 (finite differences)
                  kinks=lambda p: (0.0,)))
_register(RefLoss("epsilon_insensitive", "EpsilonInsensitiveLoss",
                  epsilon_insensitive_value, epsilon_insensitive_grad,
                  ({"epsilon": 0.1, "squared": False}, {"epsilon": 0.1, "squared": True},
                   {"epsilon": 0.5, "squared": False}, {"epsilon": 0.5, "squared": True}),
                  kinks=lambda p: (-p["epsilon"], p["epsilon"]), nan_grad=lambda p: False,
                  value_terms=epsilon_insensitive_value_terms,
                  grad_terms=epsilon_insensitive_grad_terms))
_register(RefLoss("gaussian_nll", "GaussianNLLLoss", gaussian_nll_value, gaussian_nll_grad,
                  ({"full": False, "eps": 1e-6, "param": "var"},
                   {"full": True, "eps": 1e-6, "param": "var"},
                   {"full": False, "eps": 1e-6, "param": "precision"},
                   {"full": True, "eps": 1e-6, "param": "precision"},
                   {"full": False, "eps": 1e-2, "param": "var"}),
                  n_args=3, grad_third=gaussian_nll_grad_third,
                  domains=_gauss_domains, sample_fn=_gauss_sample,
                  value_terms=gaussian_nll_value_terms,
                  grad_third_terms=gaussian_nll_grad_third_terms))
_register(RefLoss("poisson_nll", "PoissonNLLLoss", poisson_nll_value, poisson_nll_grad,
                  ({"log_input": True, "full": False, "eps": 1e-8},
                   {"log_input": True, "full": True, "eps": 1e-8},
                   {"log_input": False, "full": False, "eps": 1e-8},
                   {"log_input": False, "full": True, "eps": 1e-8}),
                  domains=_poisson_domains, sample_fn=_poisson_sample, has_inf_limit=False,
                  value_terms=poisson_nll_value_terms, grad_terms=poisson_nll_grad_terms))


_register(RefLoss("barron", "BarronLoss", barron_value, barron_grad,
                  ({"alpha": 1.0, "scale": 1.0}, {"alpha": 0.0, "scale": 1.0},
                   {"alpha": 2.0, "scale": 0.5}, {"alpha": -2.0, "scale": 2.0},
                   {"alpha": 1.999, "scale": 1.0}),
                  # bounded for alpha < 0: tests/test_barron.py covers infinite input
                  has_inf_limit=False))


# glm: scikit-learn's half deviances on a log link (its loss(), without the constant terms) --
def poisson_value(f, y):
    f, y = _f64(f, y)
    return np.exp(f) - y * f


def poisson_grad(f, y):
    f, y = _f64(f, y)
    return np.exp(f) - y


def poisson_value_terms(f, y):
    f, y = _f64(f, y)
    return np.exp(f) + np.abs(y * f)


def poisson_grad_terms(f, y):
    f, y = _f64(f, y)
    return np.exp(f) + np.abs(y)


def gamma_value(f, y):
    f, y = _f64(f, y)
    return f + y * np.exp(-f)


def gamma_grad(f, y):
    f, y = _f64(f, y)
    return 1.0 - y * np.exp(-f)


def gamma_value_terms(f, y):
    f, y = _f64(f, y)
    return np.abs(f) + np.abs(y) * np.exp(-f)


def gamma_grad_terms(f, y):
    f, y = _f64(f, y)
    return 1.0 + np.abs(y) * np.exp(-f)


def tweedie_value(f, y, power=1.5):
    if power == 0:
        f, y = _f64(f, y)
        return 0.5 * (np.exp(f) - y) ** 2
    if power == 1:
        return poisson_value(f, y)
    if power == 2:
        return gamma_value(f, y)
    f, y = _f64(f, y)
    return np.exp((2 - power) * f) / (2 - power) - y * np.exp((1 - power) * f) / (1 - power)


def tweedie_grad(f, y, power=1.5):
    if power == 0:
        f, y = _f64(f, y)
        return np.exp(f) * (np.exp(f) - y)
    if power == 1:
        return poisson_grad(f, y)
    if power == 2:
        return gamma_grad(f, y)
    f, y = _f64(f, y)
    return np.exp((2 - power) * f) - y * np.exp((1 - power) * f)


def tweedie_value_terms(f, y, power=1.5):
    f, y = _f64(f, y)
    if power == 0:
        return 0.5 * (np.exp(f) + np.abs(y)) ** 2
    if power in (1, 2):
        return (poisson_value_terms if power == 1 else gamma_value_terms)(f, y)
    return (np.exp((2 - power) * f) / abs(2 - power)
            + np.abs(y) * np.exp((1 - power) * f) / abs(1 - power))


def tweedie_grad_terms(f, y, power=1.5):
    f, y = _f64(f, y)
    if power == 0:
        return np.exp(f) * (np.exp(f) + np.abs(y))
    if power in (1, 2):
        return (poisson_grad_terms if power == 1 else gamma_grad_terms)(f, y)
    return np.exp((2 - power) * f) + np.abs(y) * np.exp((1 - power) * f)


def _glm_targets(rng, power, shape):
    """Targets in the domain of a Tweedie power: real (p <= 0), counts and zeros (p < 2),
    positive (p >= 2)."""
    if power <= 0:
        return rng.normal(2.0, 2.0, size=shape)
    if power < 2:
        return _poisson_targets(rng, shape)
    return rng.gamma(2.0, 1.5, size=shape) + 1e-3


def _glm_sample(power):
    def sample(rng, params, shape):
        p = params.get("power", power)
        return {"input": rng.uniform(-3.0, 3.0, size=shape), "target": _glm_targets(rng, p, shape)}
    return sample


def _glm_domains(power):
    def domains(params):
        p = params.get("power", power)
        target = REAL if p <= 0 else (NONNEG if p < 2 else Interval(1e-3, 100.0))
        # exp((2 - p) f) with p = 0 stays finite in float32
        return {"input": Interval(-20.0, 20.0), "target": target}
    return domains


# exponential: scikit-learn's ExponentialLoss ------------------------------------
def exponential_value(f, y):
    f, y = _f64(f, y)
    return y * np.exp(-f) + (1.0 - y) * np.exp(f)


def exponential_grad(f, y):
    f, y = _f64(f, y)
    return -y * np.exp(-f) + (1.0 - y) * np.exp(f)


def exponential_grad_terms(f, y):
    return exponential_value(f, y)


def _exponential_sample(rng, params, shape):
    f = rng.normal(0.0, 1.0, size=shape) * rng.choice([0.3, 2.0, 6.0], size=shape)
    y = np.where(rng.random(shape) < 0.7, rng.integers(0, 2, size=shape), rng.uniform(0, 1, size=shape))
    return {"input": f, "target": y.astype(np.float64)}


def _exponential_domains(params):
    return {"input": Interval(-20.0, 20.0), "target": Interval(0.0, 1.0)}


# gaussian_crps: the closed form of the CRPS of N(mu, sigma) at y --------------------
_erf = np.frompyfunc(math.erf, 1, 1)


def _crps_parts(mu, y, sigma):
    mu, y, sigma = _f64(mu, y, sigma)
    r = y - mu
    z = r / sigma
    e = np.asarray(_erf(z / math.sqrt(2.0)), dtype=np.float64)  # 2 Phi(z) - 1
    two_phi = math.sqrt(2.0 / math.pi) * np.exp(-0.5 * z * z)
    return r, sigma, e, two_phi


def gaussian_crps_value(mu, y, sigma):
    # sigma (z (2 Phi - 1) + 2 phi - 1/sqrt(pi)), with sigma z written as r
    r, sigma, e, two_phi = _crps_parts(mu, y, sigma)
    return r * e + sigma * (two_phi - 1.0 / math.sqrt(math.pi))


def gaussian_crps_grad(mu, y, sigma):
    return -_crps_parts(mu, y, sigma)[2]


def gaussian_crps_grad_third(mu, y, sigma):
    return _crps_parts(mu, y, sigma)[3] - 1.0 / math.sqrt(math.pi)


def gaussian_crps_value_terms(mu, y, sigma):
    r, sigma, e, two_phi = _crps_parts(mu, y, sigma)
    return np.abs(r * e) + sigma * (two_phi + 1.0 / math.sqrt(math.pi))


def gaussian_crps_grad_third_terms(mu, y, sigma):
    return _crps_parts(mu, y, sigma)[3] + 1.0 / math.sqrt(math.pi)


def _crps_sample(rng, params, shape):
    d = _residual_data(rng, params, shape)
    d["third"] = np.exp(rng.uniform(-3.0, 2.0, size=shape))
    return d


def _crps_domains(params):
    return {"input": REAL, "target": REAL, "third": Interval(1e-3, 1e3)}


_register(RefLoss("poisson", "PoissonLoss", poisson_value, poisson_grad, ({},),
                  domains=_glm_domains(1.0), sample_fn=_glm_sample(1.0), has_inf_limit=False,
                  value_terms=poisson_value_terms, grad_terms=poisson_grad_terms))
_register(RefLoss("gamma", "GammaLoss", gamma_value, gamma_grad, ({},),
                  domains=_glm_domains(2.0), sample_fn=_glm_sample(2.0), has_inf_limit=False,
                  value_terms=gamma_value_terms, grad_terms=gamma_grad_terms))
_register(RefLoss("tweedie", "TweedieLoss", tweedie_value, tweedie_grad,
                  ({"power": 1.5}, {"power": 0.0}, {"power": 1.0}, {"power": 2.0},
                   {"power": 3.0}, {"power": -0.5}),
                  domains=_glm_domains(1.5), sample_fn=_glm_sample(1.5), has_inf_limit=False,
                  value_terms=tweedie_value_terms, grad_terms=tweedie_grad_terms))
_register(RefLoss("exponential", "ExponentialLoss", exponential_value, exponential_grad, ({},),
                  domains=_exponential_domains, sample_fn=_exponential_sample,
                  has_inf_limit=False, grad_terms=exponential_grad_terms))
_register(RefLoss("gaussian_crps", "GaussianCRPSLoss", gaussian_crps_value, gaussian_crps_grad,
                  ({},), n_args=3, grad_third=gaussian_crps_grad_third,
                  domains=_crps_domains, sample_fn=_crps_sample,
                  value_terms=gaussian_crps_value_terms,
                  grad_third_terms=gaussian_crps_grad_third_terms))


# Registered losses that do not fit the common (input, target) contract of this table (their
# params are trainable state, their inputs have a fixed column count): covered by their own
# test module instead.
COVERED_ELSEWHERE: dict[str, str] = {"adaptive_barron": "tests/test_barron.py"}


def param_id(params: dict) -> str:
    if not params:
        return "default"
    return ",".join(f"{k}={v}" for k, v in params.items())


# --------------------------------------------------------------------------------------
# Helpers shared by the test modules
# --------------------------------------------------------------------------------------
ARG_NAMES = ("input", "target", "third")


def roles_of(ref: RefLoss) -> tuple:
    """The data roles in call order."""
    return ref.order or ARG_NAMES[: ref.n_args]


def args_of(ref: RefLoss, data: dict) -> tuple:
    """Positional data arguments (input, target[, var]) in call order."""
    return tuple(data[k] for k in roles_of(ref))


def kink_coordinate(ref: RefLoss, x, y, third=None) -> np.ndarray:
    """Per element, the coordinate in which ``ref.kinks`` are given (float64)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if ref.kink_coordinate is None:
        return x - y
    return ref.kink_coordinate(x, y, None if third is None else np.asarray(third, np.float64))


def cast_data(data: dict, dtype) -> dict:
    return {k: np.asarray(v).astype(dtype) for k, v in data.items()}


def reduce_ref(values, weights, reduction):
    """Reference reduction of per-element values (float64)."""
    values = np.asarray(values, dtype=np.float64)
    w = np.ones_like(values) if weights is None else np.broadcast_to(
        _expand_weights(weights, values.shape), values.shape)
    with np.errstate(all="ignore"):
        if reduction == "none":
            return w * values
        if reduction == "sum":
            return float(np.sum(w * values))
        return float(np.sum(w * values) / np.sum(w))


def reduce_grad_ref(grads, weights, reduction):
    grads = np.asarray(grads, dtype=np.float64)
    w = np.ones_like(grads) if weights is None else np.broadcast_to(
        _expand_weights(weights, grads.shape), grads.shape)
    with np.errstate(all="ignore"):
        if reduction in ("none", "sum"):
            return w * grads
        return w * grads / np.sum(w)


def _expand_weights(w, shape):
    w = np.asarray(w, dtype=np.float64)
    if w.shape == tuple(shape):
        return w
    # one weight per sample (first axis)
    return w.reshape(w.shape + (1,) * (len(shape) - w.ndim))


def rtol_for(dtype) -> float:
    return 1e-12 if np.dtype(dtype) == np.float64 else 1e-5


def param_floor(params: dict) -> float:
    """Magnitude of the loss's own scale parameters (delta, beta, epsilon).

    Rounding the parameter to float32 moves a value or gradient near a kink by about
    eps32 * parameter, so this is a floor for the tolerance scale.
    """
    vals = [abs(float(v)) for k, v in params.items() if k in ("delta", "beta", "epsilon")]
    return max(vals, default=0.0)


def assert_close_scaled(got, expected, rtol, scale=None, err_msg="", floor=0.0, terms=None):
    """|got - expected| <= rtol * (|expected| + scale), scale = max |expected| by default.

    ``floor`` is a lower bound for ``scale``; ``terms`` (same shape as expected) raises the
    scale element by element to the magnitude of the terms that cancel in the formula.

    NaN must match NaN and infinities must match exactly.
    """
    got = np.asarray(got)
    got_dtype = got.dtype if got.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    got = got.astype(np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if got_dtype == np.float32:
        # what the exact result is in float32: overflow to inf, underflow to 0 are right
        with np.errstate(all="ignore"):
            expected = expected.astype(np.float32).astype(np.float64)
    assert got.shape == expected.shape, f"shape {got.shape} != {expected.shape}. {err_msg}"
    if expected.size == 0:
        return
    finite = np.isfinite(expected)
    if scale is None:
        scale = float(np.max(np.abs(expected[finite]))) if finite.any() else 0.0
    scale = max(scale, floor)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected),
                                  err_msg="NaN pattern differs. " + err_msg)
    inf = np.isinf(expected)
    np.testing.assert_array_equal(got[inf], expected[inf], err_msg="inf differs. " + err_msg)
    g, e = got[finite], expected[finite]
    if terms is not None:
        t = np.broadcast_to(np.asarray(terms, dtype=np.float64), expected.shape)[finite]
        scale = np.maximum(scale, np.where(np.isfinite(t), t, 0.0))
    tol = rtol * (np.abs(e) + scale) + 4 * np.finfo(got_dtype).tiny  # subnormal results
    bad = ~(np.abs(g - e) <= tol)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        idx = np.flatnonzero(finite.ravel())[i]
        raise AssertionError(
            f"{int(bad.sum())}/{bad.size} elements differ beyond rtol={rtol} "
            f"(scale={float(np.max(scale)):g}); "
            f"first at flat index {idx}: got {g[i]!r}, expected {e[i]!r}. {err_msg}")


def near_kink(ref: RefLoss, params: dict, x, y, dtype, third=None) -> np.ndarray:
    """Elements whose residual sits on (or, in float32, within rounding of) a gradient kink."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    with np.errstate(all="ignore"):
        r = kink_coordinate(ref, x, y, third)
    size = np.abs(x) + np.abs(y) + (0.0 if third is None else np.abs(np.asarray(third, np.float64)))
    mask = np.zeros(r.shape, dtype=bool)
    for k in ref.kinks(params):
        if np.dtype(dtype) == np.float64:
            tol = 4 * np.finfo(np.float64).eps * (size + abs(k))
        else:
            tol = 4 * np.finfo(np.float32).eps * (size + abs(k))
        mask |= np.abs(r - k) <= tol
    return mask


# ======================================================================================
# Classification and divergence losses
# ======================================================================================
# Elementwise entries join REFERENCE (so test_losses.py covers them); the row-wise losses
# over (N, C) scores are in ROWWISE_REFERENCE (used by test_rowwise.py): they are not
# elementwise and cannot run through the common module.

# PyTorch's BCE gradient clamp: EPSILON = 1e-12 held as a float32 constant (in float64 too).
BCE_GRAD_CLAMP = float(np.float32(1e-12))
BCE_LOG_CLAMP = -100.0
MARGIN_LOSSES = ("soft_margin", "hinge", "squared_hinge", "modified_huber", "perceptron")


def softplus(t):
    """log(1 + e^t), stable for every t (inf -> inf, -inf -> 0)."""
    t = np.asarray(t, dtype=np.float64)
    return np.maximum(t, 0.0) + np.log1p(np.exp(-np.abs(t)))


def sigmoid(t):
    t = np.asarray(t, dtype=np.float64)
    e = np.exp(-np.abs(t))
    return np.where(t >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _pw(pos_weight):
    return 1.0 if pos_weight is None else np.asarray(pos_weight, dtype=np.float64)


# bce_with_logits ------------------------------------------------------------------
def bce_with_logits_value(x, y, pos_weight=None):
    # (1-y) x + lw log(1+e^-x), lw = 1 + (pw-1) y; for x < 0 rewritten as
    # -pw y x + lw log(1+e^x) (no inf - inf at x = -inf)
    x, y = _f64(x, y)
    pw = _pw(pos_weight)
    lw = 1.0 + (pw - 1.0) * y
    lin = np.where(x >= 0, (1.0 - y) * x, -pw * y * x)
    return lin + lw * np.log1p(np.exp(-np.abs(x)))


def bce_with_logits_grad(x, y, pos_weight=None):
    x, y = _f64(x, y)
    pw = _pw(pos_weight)
    lw = 1.0 + (pw - 1.0) * y
    return (1.0 - y) - lw * sigmoid(-x)


def bce_with_logits_value_terms(x, y, pos_weight=None):
    x, y = _f64(x, y)
    pw = _pw(pos_weight)
    lw = 1.0 + (pw - 1.0) * y
    return np.abs(x) * (np.abs(1.0 - y) + np.abs(y) * (1.0 + np.abs(pw))) + np.abs(lw) * softplus(-np.abs(x))


def bce_with_logits_grad_terms(x, y, pos_weight=None):
    # both written forms: (1-y) - lw sigma(-x) and (pw=1) sigma(x) - y
    x, y = _f64(x, y)
    pw = _pw(pos_weight)
    lw = 1.0 + (pw - 1.0) * y
    return np.abs(1.0 - y) + np.abs(lw) * sigmoid(-x) + sigmoid(x) + np.abs(y)


def _bce_with_logits_sample(rng, params, shape):
    x = rng.normal(0.0, 1.0, size=shape) * rng.choice([0.3, 2.0, 10.0, 40.0], size=shape)
    y = np.where(rng.random(shape) < 0.5, rng.integers(0, 2, size=shape), rng.uniform(0, 1, size=shape))
    return {"input": x, "target": y.astype(np.float64)}


def _bce_with_logits_domains(params):
    return {"input": REAL, "target": Interval(0.0, 1.0)}


# bce -------------------------------------------------------------------------------
def bce_value(x, y):
    x, y = _f64(x, y)
    lp = np.maximum(np.log(x), BCE_LOG_CLAMP)
    l1p = np.maximum(np.log1p(-x), BCE_LOG_CLAMP)
    return -(y * lp + (1.0 - y) * l1p)


def bce_grad(x, y):
    x, y = _f64(x, y)
    return (x - y) / np.maximum(x * (1.0 - x), BCE_GRAD_CLAMP)


def bce_value_terms(x, y):
    x, y = _f64(x, y)
    lp = np.maximum(np.log(x), BCE_LOG_CLAMP)
    l1p = np.maximum(np.log1p(-x), BCE_LOG_CLAMP)
    return np.abs(y * lp) + np.abs((1.0 - y) * l1p)


def bce_grad_terms(x, y):
    x, y = _f64(x, y)
    return (np.abs(x) + np.abs(y)) / np.maximum(x * (1.0 - x), BCE_GRAD_CLAMP)


def _bce_sample(rng, params, shape):
    # inside [0.05, 0.95]: the finite-difference steps stay in (0, 1) and accurate
    x = rng.uniform(0.05, 0.95, size=shape)
    y = np.where(rng.random(shape) < 0.5, rng.integers(0, 2, size=shape), rng.uniform(0, 1, size=shape))
    return {"input": x, "target": y.astype(np.float64)}


def _bce_domains(params):
    return {"input": Interval(0.0, 1.0), "target": Interval(0.0, 1.0)}


# kl_div ----------------------------------------------------------------------------
def _xlogx(y):
    """y log y with 0 at y == 0 (torch.xlogy(y, y)); nan for y < 0 or nan."""
    safe = np.where(y == 0, 1.0, y)
    return np.where(y == 0, 0.0, y * np.log(safe))


def kl_div_value(x, y, log_target=False):
    x, y = _f64(x, y)
    if log_target:
        return np.exp(y) * (y - x)
    return _xlogx(y) - y * x


def kl_div_grad(x, y, log_target=False):
    x, y = _f64(x, y)
    return -np.exp(y) if log_target else -y  # independent of x


def kl_div_value_terms(x, y, log_target=False):
    x, y = _f64(x, y)
    if log_target:
        return np.exp(y) * (np.abs(y) + np.abs(x))
    return np.abs(_xlogx(y)) + np.abs(y * x)


def _kl_sample(rng, params, shape):
    x = np.log(rng.uniform(1e-4, 1.0, size=shape))
    if params.get("log_target", False):
        y = np.log(rng.uniform(1e-4, 1.0, size=shape))
    else:
        y = rng.uniform(0.0, 1.0, size=shape)
        y = np.where(rng.random(shape) < 0.1, 0.0, y)
    return {"input": x, "target": y}


def _kl_domains(params):
    logp = Interval(-30.0, 0.0)
    return {"input": logp, "target": logp if params.get("log_target", False) else Interval(0.0, 1.0)}


# binary margin losses (targets +-1; z = y x) ---------------------------------------
def soft_margin_value(x, y):
    x, y = _f64(x, y)
    return softplus(-y * x)


def soft_margin_grad(x, y):
    x, y = _f64(x, y)
    return -y * sigmoid(-y * x)


def hinge_value(x, y, margin=1.0):
    x, y = _f64(x, y)
    return np.maximum(0.0, margin - y * x)


def hinge_grad(x, y, margin=1.0):
    # scikit-learn's subgradient: -y where z <= margin (the kink included)
    x, y = _f64(x, y)
    return np.where(y * x <= margin, -y, 0.0)


def hinge_value_terms(x, y, margin=1.0):
    x, y = _f64(x, y)
    return abs(margin) + np.abs(y * x)


def squared_hinge_value(x, y, margin=1.0):
    x, y = _f64(x, y)
    t = np.maximum(0.0, margin - y * x)
    return t * t


def squared_hinge_grad(x, y, margin=1.0):
    x, y = _f64(x, y)
    return -2.0 * y * np.maximum(0.0, margin - y * x)


def squared_hinge_value_terms(x, y, margin=1.0):
    x, y = _f64(x, y)
    return (abs(margin) + np.abs(y * x)) ** 2


def squared_hinge_grad_terms(x, y, margin=1.0):
    x, y = _f64(x, y)
    return 2.0 * np.abs(y) * (abs(margin) + np.abs(y * x))


def modified_huber_value(x, y):
    x, y = _f64(x, y)
    z = y * x
    return np.where(z >= 1.0, 0.0, np.where(z >= -1.0, (1.0 - z) ** 2, -4.0 * z))


def modified_huber_grad(x, y):
    x, y = _f64(x, y)
    z = y * x
    return np.where(z >= 1.0, 0.0, np.where(z >= -1.0, -2.0 * y * (1.0 - z), -4.0 * y))


def modified_huber_value_terms(x, y):
    x, y = _f64(x, y)
    z = np.abs(y * x)
    return np.where(z <= 1.0, (1.0 + z) ** 2, 4.0 * z)


def modified_huber_grad_terms(x, y):
    x, y = _f64(x, y)
    return 2.0 * np.abs(y) * (1.0 + np.abs(y * x))


def perceptron_value(x, y):
    x, y = _f64(x, y)
    return np.maximum(0.0, -y * x)


def perceptron_grad(x, y):
    x, y = _f64(x, y)
    return np.where(y * x <= 0.0, -y, 0.0)


def margin_kinks(name, params):
    """Margins z = y x where the gradient has a kink (or the second derivative jumps)."""
    if name in ("hinge", "squared_hinge"):
        return (float(params.get("margin", 1.0)),)
    if name == "modified_huber":
        return (-1.0, 1.0)
    if name == "perceptron":
        return (0.0,)
    return ()


def _residual_kinks(name):
    # with y = +-1 the kink z = k sits at x = k y, i.e. at residual r = x - y = (k - 1) y
    def kinks(params):
        ks = set()
        for k in margin_kinks(name, params):
            ks.update({k - 1.0, 1.0 - k})
        return tuple(sorted(ks))
    return kinks


def _margin_sample(name):
    def sample(rng, params, shape):
        y = rng.choice([-1.0, 1.0], size=shape)
        z = rng.normal(0.0, 1.0, size=shape) * rng.choice([0.3, 1.0, 3.0], size=shape)
        ks = margin_kinks(name, params)
        if ks:  # a few points exactly on the kinks
            on = rng.random(shape) < 0.05
            z = np.where(on, rng.choice(np.array(ks), size=shape), z)
        return {"input": y * z, "target": y}
    return sample


def _margin_domains(target):
    def domains(params):
        return {"input": REAL, "target": target}
    return domains


# Targets drawn by hypothesis: [-1, 1] where the loss is C^1 in z (a float32 rounding of
# y*x onto a kink moves the result by a rounding error only); exactly +1 for hinge and
# perceptron, whose gradient jumps at the kink (float32 y*x rounding onto the kink would
# switch branches against the float64 reference). sample() draws y = +-1 for all of them.
_ANY_MARGIN_TARGET = Interval(-1.0, 1.0)
_UNIT_TARGET = Interval(1.0, 1.0)

_register(RefLoss("bce_with_logits", "BCEWithLogitsLoss", bce_with_logits_value,
                  bce_with_logits_grad,
                  ({"pos_weight": None}, {"pos_weight": 3.0}, {"pos_weight": 0.25}),
                  domains=_bce_with_logits_domains, sample_fn=_bce_with_logits_sample,
                  # PyTorch's (1-y) x + lw (log1p(e^-|x|) + max(-x, 0)) is nan at x = -inf
                  # (-inf + inf); losskit follows it, so no IEEE inf limit is asserted
                  has_inf_limit=False,
                  value_terms=bce_with_logits_value_terms, grad_terms=bce_with_logits_grad_terms))
_register(RefLoss("bce", "BCELoss", bce_value, bce_grad, ({},),
                  domains=_bce_domains, sample_fn=_bce_sample, has_inf_limit=False,
                  value_terms=bce_value_terms, grad_terms=bce_grad_terms))
_register(RefLoss("kl_div", "KLDivLoss", kl_div_value, kl_div_grad,
                  ({"log_target": False}, {"log_target": True}),
                  domains=_kl_domains, sample_fn=_kl_sample, has_inf_limit=False,
                  nan_grad=lambda p: False, value_terms=kl_div_value_terms))
_register(RefLoss("soft_margin", "SoftMarginLoss", soft_margin_value, soft_margin_grad, ({},),
                  domains=_margin_domains(_ANY_MARGIN_TARGET), sample_fn=_margin_sample("soft_margin"),
                  has_inf_limit=False))
_register(RefLoss("hinge", "HingeLoss", hinge_value, hinge_grad,
                  ({"margin": 1.0}, {"margin": 2.0}, {"margin": 0.0}),
                  domains=_margin_domains(_UNIT_TARGET), sample_fn=_margin_sample("hinge"),
                  kinks=_residual_kinks("hinge"), nan_grad=lambda p: False, has_inf_limit=False,
                  value_terms=hinge_value_terms))
_register(RefLoss("squared_hinge", "SquaredHingeLoss", squared_hinge_value, squared_hinge_grad,
                  ({"margin": 1.0}, {"margin": 0.5}),
                  domains=_margin_domains(_ANY_MARGIN_TARGET), sample_fn=_margin_sample("squared_hinge"),
                  kinks=_residual_kinks("squared_hinge"), nan_grad=lambda p: False,
                  has_inf_limit=False, value_terms=squared_hinge_value_terms,
                  grad_terms=squared_hinge_grad_terms))
_register(RefLoss("modified_huber", "ModifiedHuberLoss", modified_huber_value, modified_huber_grad,
                  ({},),
                  domains=_margin_domains(_ANY_MARGIN_TARGET), sample_fn=_margin_sample("modified_huber"),
                  kinks=_residual_kinks("modified_huber"), nan_grad=lambda p: False,
                  has_inf_limit=False, value_terms=modified_huber_value_terms,
                  grad_terms=modified_huber_grad_terms))
_register(RefLoss("perceptron", "PerceptronLoss", perceptron_value, perceptron_grad, ({},),
                  domains=_margin_domains(_UNIT_TARGET), sample_fn=_margin_sample("perceptron"),
                  kinks=_residual_kinks("perceptron"), nan_grad=lambda p: False,
                  has_inf_limit=False))


# sigmoid_focal: torchvision.ops.sigmoid_focal_loss, written out ------------------------
def _focal_parts(x, y, alpha, gamma):
    x, y = _f64(x, y)
    p = sigmoid(x)
    ce = bce_with_logits_value(x, y)              # binary_cross_entropy_with_logits
    m = p * (1.0 - y) + sigmoid(-x) * y           # 1 - p_t, p_t = p y + (1 - p)(1 - y)
    a = alpha * y + (1.0 - alpha) * (1.0 - y) if alpha >= 0 else np.ones_like(x)
    return p, ce, m, a


def sigmoid_focal_value(x, y, alpha=0.25, gamma=2.0):
    p, ce, m, a = _focal_parts(x, y, alpha, gamma)
    return a * ce * m ** gamma


def sigmoid_focal_grad(x, y, alpha=0.25, gamma=2.0):
    # d/dx [ce m^g] = (p - y) m^g + g ce m^(g-1) dm/dx,  dm/dx = p (1 - p) (1 - 2y)
    x, y = _f64(x, y)
    p, ce, m, a = _focal_parts(x, y, alpha, gamma)
    dm = p * sigmoid(-x) * (1.0 - 2.0 * y)
    safe = np.where(m > 0, m, 1.0)
    second = np.where(m > 0, gamma * ce * safe ** (gamma - 1.0) * dm, 0.0)
    return a * ((p - y) * m ** gamma + second)


def sigmoid_focal_grad_terms(x, y, alpha=0.25, gamma=2.0):
    x, y = _f64(x, y)
    p, ce, m, a = _focal_parts(x, y, alpha, gamma)
    safe = np.where(m > 0, m, 1.0)
    dm = p * sigmoid(-x)
    return np.abs(a) * ((p + np.abs(y)) * m ** gamma + np.where(m > 0, gamma * ce * safe ** (gamma - 1.0) * dm, 0.0))


# hinge_embedding, margin_ranking: PyTorch, labels -1 / +1 --------------------------------
def hinge_embedding_value(x, y, margin=1.0):
    x, y = _f64(x, y)
    return np.where(y == 1, x, np.maximum(0.0, margin - x))


def hinge_embedding_grad(x, y, margin=1.0):
    # clamp_min's backward passes the gradient where margin - x >= 0
    x, y = _f64(x, y)
    return np.where(y == 1, 1.0, np.where(margin - x >= 0, -1.0, 0.0))


def _hinge_embedding_sample(rng, params, shape):
    margin = params.get("margin", 1.0)
    y = rng.choice([-1.0, 1.0], size=shape)
    x = margin + rng.normal(0.0, 1.0, size=shape) * rng.choice([0.3, 1.0, 3.0], size=shape)
    x = np.where(rng.random(shape) < 0.05, margin, x)  # a few exactly on the kink
    return {"input": x, "target": y}


def margin_ranking_value(x1, x2, y, margin=0.0):
    x1, x2, y = _f64(x1, x2, y)
    return np.maximum(0.0, margin - y * (x1 - x2))


def margin_ranking_grad(x1, x2, y, margin=0.0):
    x1, x2, y = _f64(x1, x2, y)
    h = margin - y * (x1 - x2)
    return np.where(np.isnan(h), np.nan, np.where(h >= 0, -y, 0.0))


def margin_ranking_grad_third(x1, x2, y, margin=0.0):
    return -margin_ranking_grad(x1, x2, y, margin)


def margin_ranking_value_terms(x1, x2, y, margin=0.0):
    x1, x2, y = _f64(x1, x2, y)
    return abs(margin) + np.abs(x1) + np.abs(x2)


def _margin_ranking_sample(rng, params, shape):
    margin = params.get("margin", 0.0)
    y = rng.choice([-1.0, 1.0], size=shape)
    x2 = rng.normal(0.0, 2.0, size=shape)
    d = rng.normal(0.0, 1.0, size=shape) * rng.choice([0.3, 1.0, 3.0], size=shape)
    d = np.where(rng.random(shape) < 0.05, margin, d)  # y (x1 - x2) = margin: the kink
    return {"input": x2 + y * d, "target": y, "third": x2}


# the label sign where the gradient jumps, exactly -1 for hypothesis data (sample() draws both)
_NEGATIVE_LABEL = Interval(-1.0, -1.0)

_register(RefLoss("sigmoid_focal", "SigmoidFocalLoss", sigmoid_focal_value, sigmoid_focal_grad,
                  ({"alpha": 0.25, "gamma": 2.0}, {"alpha": -1.0, "gamma": 2.0},
                   {"alpha": 0.5, "gamma": 0.0}, {"alpha": 0.25, "gamma": 1.5}),
                  domains=_bce_with_logits_domains, sample_fn=_bce_with_logits_sample,
                  has_inf_limit=False, grad_terms=sigmoid_focal_grad_terms))
_register(RefLoss("hinge_embedding", "HingeEmbeddingLoss", hinge_embedding_value,
                  hinge_embedding_grad, ({"margin": 1.0}, {"margin": 0.5}, {"margin": -0.5}),
                  domains=_margin_domains(_NEGATIVE_LABEL), sample_fn=_hinge_embedding_sample,
                  kinks=lambda p: (p["margin"],),
                  kink_coordinate=lambda x, y, third: np.where(y == -1, x, np.nan),
                  nan_grad=lambda p: True, has_inf_limit=False))
_register(RefLoss("margin_ranking", "MarginRankingLoss", margin_ranking_value,
                  margin_ranking_grad, ({"margin": 0.0}, {"margin": 0.5}),
                  n_args=3, grad_third=margin_ranking_grad_third,
                  order=("input", "third", "target"),
                  domains=lambda p: {"input": REAL, "target": _NEGATIVE_LABEL, "third": REAL},
                  sample_fn=_margin_ranking_sample,
                  kinks=lambda p: (p["margin"],),
                  kink_coordinate=lambda x, y, third: y * (x - third),
                  has_inf_limit=False, value_terms=margin_ranking_value_terms))


# --------------------------------------------------------------------------------------
# Row-wise losses over (N, C) scores (cross_entropy, nll, multi_margin, multiclass_hinge)
# --------------------------------------------------------------------------------------
def log_softmax(x):
    """Row-wise log-softmax in float64: (x - max) - log(sum(exp(x - max))); -inf entries
    give -inf (probability 0)."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        m = np.max(x, axis=1, keepdims=True)
        m = np.where(np.isfinite(m), m, 0.0)
        s = x - m
        return s - np.log(np.sum(np.exp(s), axis=1, keepdims=True))


def _class_weights(weight, c):
    return np.ones(c) if weight is None else np.asarray(weight, dtype=np.float64)


def _labels(t, ignore_index):
    """(labels with ignored rows mapped to class 0, mask of the rows that count)."""
    t = np.asarray(t).astype(np.int64)
    keep = np.ones(t.shape, dtype=bool) if ignore_index is None else t != ignore_index
    return np.where(keep, t, 0), keep


def _is_probability_target(t):
    return np.asarray(t).ndim == 2


def cross_entropy_row_value(x, t, weight=None, ignore_index=-100, label_smoothing=0.0):
    x = np.asarray(x, dtype=np.float64)
    n, c = x.shape
    w = _class_weights(weight, c)
    lp = log_softmax(x)
    eps = label_smoothing
    with np.errstate(all="ignore"):
        if _is_probability_target(t):
            tt = (1.0 - eps) * np.asarray(t, dtype=np.float64) + eps / c
            return -np.sum(w * tt * lp, axis=1)
        lab, keep = _labels(t, ignore_index)
        l = -w[lab] * lp[np.arange(n), lab]
        if eps:
            l = (1.0 - eps) * l + (eps / c) * -np.sum(w * lp, axis=1)
        return np.where(keep, l, 0.0)


def cross_entropy_row_grad(x, t, weight=None, ignore_index=-100, label_smoothing=0.0):
    x = np.asarray(x, dtype=np.float64)
    n, c = x.shape
    w = _class_weights(weight, c)
    p = np.exp(log_softmax(x))
    eps = label_smoothing
    if _is_probability_target(t):
        tt = (1.0 - eps) * np.asarray(t, dtype=np.float64) + eps / c
        return p * np.sum(w * tt, axis=1, keepdims=True) - w * tt
    lab, keep = _labels(t, ignore_index)
    onehot = np.zeros((n, c))
    onehot[np.arange(n), lab] = 1.0
    g = (1.0 - eps) * w[lab][:, None] * (p - onehot)
    if eps:
        g = g + (eps / c) * (np.sum(w) * p - w)
    return np.where(keep[:, None], g, 0.0)


def _label_mean_weight(x, t, weight=None, ignore_index=-100, **_):
    """Per-row weight of the "mean" denominator: w[y_i] on the rows that count (labels), 1 for
    probability targets."""
    n, c = np.shape(x)
    if _is_probability_target(t):
        return np.ones(n)
    lab, keep = _labels(t, ignore_index)
    return np.where(keep, _class_weights(weight, c)[lab], 0.0)


def nll_row_value(x, t, weight=None, ignore_index=-100):
    x = np.asarray(x, dtype=np.float64)
    n, c = x.shape
    lab, keep = _labels(t, ignore_index)
    return np.where(keep, -_class_weights(weight, c)[lab] * x[np.arange(n), lab], 0.0)


def nll_row_grad(x, t, weight=None, ignore_index=-100):
    n, c = np.shape(x)
    lab, keep = _labels(t, ignore_index)
    g = np.zeros((n, c))
    g[np.arange(n), lab] = np.where(keep, -_class_weights(weight, c)[lab], 0.0)
    return g


def margin_slack(x, t, margin):
    """z_ic = margin - x_iy + x_ic for c != y (the hinge argument), -inf at c == y."""
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[0]
    lab = np.asarray(t).astype(np.int64)
    with np.errstate(all="ignore"):
        z = margin - x[np.arange(n), lab][:, None] + x
    z[np.arange(n), lab] = -np.inf
    return z


def _hinge_rows(x, t, margin, power, weight, scale):
    x = np.asarray(x, dtype=np.float64)
    n, c = x.shape
    z = margin_slack(x, t, margin)
    act = z > 0  # the kink z == 0 gets gradient 0
    zp = np.where(act, z, 0.0)
    wy = _class_weights(weight, c)[np.asarray(t).astype(np.int64)] * scale
    value = wy * np.sum(zp ** power, axis=1)
    dz = wy[:, None] * (power * zp ** (power - 1)) * act
    grad = dz.copy()
    grad[np.arange(n), np.asarray(t).astype(np.int64)] = -np.sum(dz, axis=1)
    return value, grad


def multi_margin_row_value(x, t, p=1, margin=1.0, weight=None):
    return _hinge_rows(x, t, margin, p, weight, 1.0 / np.shape(x)[1])[0]


def multi_margin_row_grad(x, t, p=1, margin=1.0, weight=None):
    return _hinge_rows(x, t, margin, p, weight, 1.0 / np.shape(x)[1])[1]


def multiclass_hinge_row_value(x, t, margin=1.0, squared=False, weight=None):
    return _hinge_rows(x, t, margin, 2 if squared else 1, weight, 1.0)[0]


def multiclass_hinge_row_grad(x, t, margin=1.0, squared=False, weight=None):
    return _hinge_rows(x, t, margin, 2 if squared else 1, weight, 1.0)[1]


def _unit_mean_weight(x, t, **_):
    return np.ones(np.shape(x)[0])


def poly1_row_value(x, t, epsilon=1.0):
    """Poly-1: ce + epsilon (1 - p_y), ce = -log p_y."""
    x = np.asarray(x, dtype=np.float64)
    lab = np.asarray(t).astype(np.int64)
    ce = -log_softmax(x)[np.arange(x.shape[0]), lab]
    return ce + epsilon * -np.expm1(-ce)


def poly1_row_grad(x, t, epsilon=1.0):
    """(1 + epsilon p_y) (p - onehot(y)): d p_y / d x_c = p_y ([c = y] - p_c)."""
    x = np.asarray(x, dtype=np.float64)
    n, c = x.shape
    lab = np.asarray(t).astype(np.int64)
    p = np.exp(log_softmax(x))
    onehot = np.zeros((n, c))
    onehot[np.arange(n), lab] = 1.0
    return (1.0 + epsilon * p[np.arange(n), lab])[:, None] * (p - onehot)


def multilabel_soft_margin_row_value(x, t, weight=None):
    """mean over classes of w_c (-(y log sigmoid(x) + (1 - y) log sigmoid(-x)))."""
    x, t = _f64(x, t)
    w = _class_weights(weight, x.shape[1])
    return np.mean(w * (softplus(x) - t * x), axis=1)


def multilabel_soft_margin_row_grad(x, t, weight=None):
    x, t = _f64(x, t)
    c = x.shape[1]
    return _class_weights(weight, c) * (sigmoid(x) - t) / c


def _label_sets(t):
    """Per row: the label list up to the first negative entry."""
    out = []
    for row in np.asarray(t).astype(np.int64):
        end = np.flatnonzero(row < 0)
        out.append(row[: end[0] if end.size else row.size])
    return out


def multilabel_margin_slack(x, t, params=None):
    """z_ijc = 1 - x_ij + x_ic over targets j and non-targets c, per row (padded with -inf)."""
    x = np.asarray(x, dtype=np.float64)
    n, c = x.shape
    z = np.full((n, c, c), -np.inf)
    for i, labels in enumerate(_label_sets(t)):
        others = np.setdiff1d(np.arange(c), labels)
        for k, j in enumerate(labels):
            z[i, k, others] = 1.0 - x[i, j] + x[i, others]
    return z.reshape(n, c * c)


def multilabel_margin_row_value(x, t):
    x = np.asarray(x, dtype=np.float64)
    z = multilabel_margin_slack(x, t)
    return np.sum(np.where(z > 0, z, 0.0), axis=1) / x.shape[1]


def multilabel_margin_row_grad(x, t):
    x = np.asarray(x, dtype=np.float64)
    n, c = x.shape
    g = np.zeros((n, c))
    for i, labels in enumerate(_label_sets(t)):
        others = np.setdiff1d(np.arange(c), labels)
        for j in labels:
            active = (1.0 - x[i, j] + x[i, others]) > 0  # the kink gets 0
            g[i, others] += active / c
            g[i, j] -= np.sum(active) / c
    return g


@dataclass(frozen=True)
class RowRefLoss:
    """Reference of a loss over the rows of (N, C) scores.

    ``value``/``grad`` give the per-sample loss l_i (N,) and d l_i / d x_i (N, C) before any
    reduction (0 on ignored rows); ``mean_weight`` the per-row weight of the "mean"
    denominator (sum_i s_i l_i / sum_i s_i mean_weight_i); ``kinked`` says whether the
    gradient jumps where ``margin_slack`` is 0.
    """

    name: str
    cls_name: str
    value: Callable
    grad: Callable
    mean_weight: Callable
    param_sets: tuple
    probabilities: bool = False
    ignore: bool = False
    kinked: bool = False
    # the target: "labels" (N,), "label_lists" (N, C) int64 padded with -1, "values" (N, C) 0/1
    target: str = "labels"
    # (x, t, params) -> the hinge arguments of each row (N, K) where the gradient has kinks
    slack: Callable | None = None

    def ref_value(self, x, t, params):
        with np.errstate(all="ignore"):
            return self.value(x, t, **params)

    def ref_grad(self, x, t, params):
        with np.errstate(all="ignore"):
            return self.grad(x, t, **params)

    def reduced(self, x, t, params, reduction, sample_weight=None):
        """(reduced value, gradient of it) in float64."""
        l = self.ref_value(x, t, params)
        g = self.ref_grad(x, t, params)
        n = l.shape[0]
        s = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        with np.errstate(all="ignore"):
            if reduction == "none":
                return s * l, s[:, None] * g
            if reduction == "sum":
                return float(np.sum(s * l)), s[:, None] * g
            den = np.sum(s * self.mean_weight(x, t, **params))
            return float(np.sum(s * l) / den), s[:, None] * g / den


ROWWISE_REFERENCE: dict[str, RowRefLoss] = {}

_W5 = (0.5, 2.0, 1.0, 0.0, 3.0)  # class weights for C = 5 (a zero weight included)
for _ref in (
    RowRefLoss("cross_entropy", "CrossEntropyLoss", cross_entropy_row_value,
               cross_entropy_row_grad, _label_mean_weight,
               ({"weight": None, "ignore_index": -100, "label_smoothing": 0.0},
                {"weight": _W5, "ignore_index": -100, "label_smoothing": 0.0},
                {"weight": None, "ignore_index": 1, "label_smoothing": 0.1},
                {"weight": _W5, "ignore_index": -100, "label_smoothing": 0.25}),
               probabilities=True, ignore=True),
    RowRefLoss("nll", "NLLLoss", nll_row_value, nll_row_grad, _label_mean_weight,
               ({"weight": None, "ignore_index": -100},
                {"weight": _W5, "ignore_index": -100},
                {"weight": _W5, "ignore_index": 0}),
               ignore=True),
    RowRefLoss("multi_margin", "MultiMarginLoss", multi_margin_row_value, multi_margin_row_grad,
               _unit_mean_weight, slack=lambda x, t, p: margin_slack(x, t, p["margin"]),
               param_sets=
               ({"p": 1, "margin": 1.0, "weight": None},
                {"p": 2, "margin": 1.0, "weight": None},
                {"p": 1, "margin": 0.5, "weight": _W5},
                {"p": 2, "margin": 2.0, "weight": _W5}),
               kinked=True),
    RowRefLoss("multiclass_hinge", "MulticlassHingeLoss", multiclass_hinge_row_value,
               multiclass_hinge_row_grad, _unit_mean_weight,
               slack=lambda x, t, p: margin_slack(x, t, p["margin"]), param_sets=
               ({"margin": 1.0, "squared": False, "weight": None},
                {"margin": 1.0, "squared": True, "weight": None},
                {"margin": 0.5, "squared": False, "weight": _W5},
                {"margin": 2.0, "squared": True, "weight": _W5}),
               kinked=True),
    RowRefLoss("poly1", "PolyLoss", poly1_row_value, poly1_row_grad, _unit_mean_weight,
               ({"epsilon": 1.0}, {"epsilon": 0.0}, {"epsilon": -0.8}, {"epsilon": 3.5})),
    RowRefLoss("multilabel_soft_margin", "MultiLabelSoftMarginLoss",
               multilabel_soft_margin_row_value, multilabel_soft_margin_row_grad,
               _unit_mean_weight, ({"weight": None}, {"weight": _W5}), target="values"),
    RowRefLoss("multilabel_margin", "MultiLabelMarginLoss", multilabel_margin_row_value,
               multilabel_margin_row_grad, _unit_mean_weight, ({},), kinked=True,
               target="label_lists", slack=multilabel_margin_slack),
):
    ROWWISE_REFERENCE[_ref.name] = _ref
del _ref


# --------------------------------------------------------------------------------------
# Losses over pairs and triplets of rows (cosine_embedding, triplet_margin): per-row value
# and the gradient of each array of embeddings, float64 (PyTorch's formulas)
# --------------------------------------------------------------------------------------
def cosine_embedding_rows(x1, x2, y, margin=0.0):
    """(l_i, d l_i / d x1, d l_i / d x2): cos = x1.x2 / sqrt((|x1|^2 + 1e-12)(|x2|^2 + 1e-12)),
    l = 1 - cos (y = 1) or max(0, cos - margin) (y = -1; gradient passed at the kink)."""
    x1, x2, y = _f64(x1, x2, y)
    m1 = np.sum(x1 * x1, axis=1) + 1e-12
    m2 = np.sum(x2 * x2, axis=1) + 1e-12
    root = np.sqrt(m1 * m2)
    cos = np.sum(x1 * x2, axis=1) / root
    value = np.where(y == 1, 1.0 - cos, np.maximum(cos - margin, 0.0))
    slope = np.where(y == 1, -1.0, (cos - margin >= 0).astype(np.float64))[:, None]
    g1 = slope * (x2 / root[:, None] - cos[:, None] * x1 / m1[:, None])
    g2 = slope * (x1 / root[:, None] - cos[:, None] * x2 / m2[:, None])
    return value, g1, g2


def _pnorm_rows(d, p):
    """|d|_p per row and its gradient in d (0 where the norm is 0)."""
    a = np.abs(d)
    n = np.sum(a**p, axis=1) ** (1.0 / p)
    with np.errstate(all="ignore"):
        g = np.sign(d) * a ** (p - 1) / n[:, None] ** (p - 1)
    return n, np.where(n[:, None] > 0, g, 0.0)


def triplet_margin_rows(a, q, n, margin=1.0, p=2.0, eps=1e-6, swap=False):
    """(l_i, d/d anchor, d/d positive, d/d negative): max(0, margin + |a - q + eps|_p - dn),
    dn = |a - n + eps|_p (with swap: its minimum with |q - n + eps|_p; ties split)."""
    a, q, n = _f64(a, q, n)
    dp, gp = _pnorm_rows(a - q + eps, p)
    dn, gn = _pnorm_rows(a - n + eps, p)
    ds, gs = _pnorm_rows(q - n + eps, p)
    wn = np.where(swap & (ds < dn), 0.0, np.where(swap & (ds == dn), 0.5, 1.0))[:, None]
    ws = 1.0 - wn
    z = margin + dp - np.where(wn[:, 0] == 0, ds, dn)
    k = (z >= 0).astype(np.float64)[:, None]
    return (np.maximum(z, 0.0), k * (gp - wn * gn), k * (-gp - ws * gs), k * (wn * gn + ws * gs))


@dataclass(frozen=True)
class EmbeddingRefLoss:
    """Reference of a loss over rows of several arrays: ``rows(*args, **params)`` gives the
    per-row loss and the per-row gradient of each array of embeddings; ``sample(rng, n, d)``
    realistic arguments in call order; ``slack(*args, **params)`` the hinge argument per row."""

    name: str
    cls_name: str
    rows: Callable
    param_sets: tuple
    sample: Callable
    slack: Callable


def _cosine_sample(rng, n, d):
    x1 = rng.normal(size=(n, d))
    x2 = 0.6 * x1 + rng.normal(size=(n, d)) * rng.choice([0.2, 1.0, 3.0], (n, 1))
    return x1, x2, rng.choice([1.0, -1.0], n)


def _cosine_slack(x1, x2, y, margin=0.0):
    m1 = np.sum(np.asarray(x1, dtype=np.float64) ** 2, axis=1) + 1e-12
    m2 = np.sum(np.asarray(x2, dtype=np.float64) ** 2, axis=1) + 1e-12
    cos = np.sum(np.asarray(x1, dtype=np.float64) * x2, axis=1) / np.sqrt(m1 * m2)
    return np.where(np.asarray(y) == 1, 1.0, cos - margin)


def _triplet_sample(rng, n, d):
    a = rng.normal(size=(n, d))
    return a, a + 0.5 * rng.normal(size=(n, d)), a + rng.normal(size=(n, d))


def _triplet_slack(a, q, n, margin=1.0, p=2.0, eps=1e-6, swap=False):
    a, q, n = _f64(a, q, n)
    dp, _ = _pnorm_rows(a - q + eps, p)
    dn, _ = _pnorm_rows(a - n + eps, p)
    if swap:
        ds, _ = _pnorm_rows(q - n + eps, p)
        return np.stack([margin + dp - np.minimum(dn, ds), dn - ds], axis=1)
    return (margin + dp - dn)[:, None]


EMBEDDING_REFERENCE: dict[str, EmbeddingRefLoss] = {
    r.name: r for r in (
        EmbeddingRefLoss("cosine_embedding", "CosineEmbeddingLoss", cosine_embedding_rows,
                         ({"margin": 0.0}, {"margin": 0.3}, {"margin": -0.5}),
                         _cosine_sample, _cosine_slack),
        EmbeddingRefLoss("triplet_margin", "TripletMarginLoss", triplet_margin_rows,
                         ({"margin": 1.0, "p": 2.0, "eps": 1e-6, "swap": False},
                          {"margin": 0.5, "p": 1.0, "eps": 1e-6, "swap": False},
                          {"margin": 1.5, "p": 3.0, "eps": 0.0, "swap": True},
                          {"margin": 1.0, "p": 1.5, "eps": 1e-3, "swap": True}),
                         _triplet_sample, _triplet_slack),
    )
}
