"""The elementwise regression losses and Barron's general loss: formulas of each contender.

Every loss here is elementwise with ``reduction="mean"``; see :mod:`.losses` for what each
formula of a :class:`~.losses.LossSpec` is for. The input is ``x`` (prediction), the target
``y`` and the residual ``r = x - y``.
"""

from __future__ import annotations

import math

import numpy as np

from .losses import LossSpec, LossWorkload, tensors_like
from .workload import alloc, touched_like

LOG2 = math.log(2.0)


def make_data(shape: tuple, dtype, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """x, y ~ N(0, 1), so r ~ N(0, 2): both branches of huber / smooth_l1 /
    epsilon_insensitive are well populated (no artificially predictable branch)."""
    dtype = np.dtype(dtype)
    n = shape[0]
    rng = np.random.default_rng([seed, n, dtype.itemsize, 0])
    return rng.standard_normal(n, dtype=dtype), rng.standard_normal(n, dtype=dtype)


def make_poisson_data(shape: tuple, dtype, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """x ~ N(0, 0.5^2) is a log-rate, y ~ Poisson(exp(x)) are counts."""
    dtype = np.dtype(dtype)
    n = shape[0]
    rng = np.random.default_rng([seed, n, dtype.itemsize, 1])
    x = (0.5 * rng.standard_normal(n)).astype(dtype)
    y = rng.poisson(np.exp(x.astype(np.float64))).astype(dtype)
    return x, y


# ----------------------------------------------------------------------------- mse

def _mse_loss(xp, x, y):
    r = x - y
    return r * r



def _mse_np_out(x, y):
    n = x.size
    g = alloc(n, x.dtype)

    def f():
        np.subtract(x, y, out=g)
        v = float(np.dot(g, g)) / n
        np.multiply(g, 2.0 / n, out=g)
        return v, g

    return f


def _mse_torch_out(torch, x, y):
    n = x.numel()
    g = torch.zeros(n, dtype=x.dtype)

    def f():
        torch.sub(x, y, out=g)
        v = torch.dot(g, g).item() / n
        g.mul_(2.0 / n)
        return v, g

    return f


# --------------------------------------------------------------- huber / smooth_l1
# huber(delta):     0.5 r^2 if |r| < delta else delta (|r| - delta/2);  grad clip(r, -delta, delta)
# smooth_l1(beta):  huber(beta) / beta
# With c = clip(r, -d, d) the huber value is c (r - c/2) in both branches, so
# sum(l) = dot(c, r) - dot(c, c)/2: two reductions, no temporary.
HUBER_DELTA = 1.0
SMOOTH_L1_BETA = 1.0


def _huber_loss(xp, x, y, d, scale):
    r = x - y
    a = xp.abs(r)
    return scale * xp.where(a < d, 0.5 * r * r, d * (a - 0.5 * d))


def _huber_dloss(x, y, d, scale):
    return scale * np.clip(x - y, -d, d)



def _huber_np_out(x, y, d, scale):
    n = x.size
    r, g = touched_like(x, 2)

    def f():
        np.subtract(x, y, out=r)
        np.clip(r, -d, d, out=g)
        v = (float(np.dot(g, r)) - 0.5 * float(np.dot(g, g))) * (scale / n)
        np.multiply(g, scale / n, out=g)
        return v, g

    return f


def _huber_torch_out(torch, x, y, d, scale):
    n = x.numel()
    r, g = tensors_like(torch, x, 2)

    def f():
        torch.sub(x, y, out=r)
        torch.clamp(r, -d, d, out=g)
        v = (torch.dot(g, r).item() - 0.5 * torch.dot(g, g).item()) * (scale / n)
        g.mul_(scale / n)
        return v, g

    return f


# ------------------------------------------------------------------- pseudo_huber
# delta^2 (sqrt(1 + (r/delta)^2) - 1) = r^2 / (s + 1) with s = sqrt(1 + (r/delta)^2)
# (no cancellation);  grad r / s
PH_DELTA = 1.0


def _ph_loss(xp, x, y, d=PH_DELTA):
    r = x - y
    s = xp.sqrt(1.0 + (r / d) ** 2)
    return r * r / (s + 1.0)


def _ph_dloss(x, y, d=PH_DELTA):
    r = x - y
    return r / np.sqrt(1.0 + (r / d) ** 2)



def _ph_np_out(x, y, d=PH_DELTA):
    n = x.size
    r, t, g = touched_like(x, 3)

    def f():
        np.subtract(x, y, out=r)
        if d != 1.0:
            np.multiply(r, 1.0 / d, out=t)
            np.square(t, out=t)
        else:  # one pass fewer
            np.square(r, out=t)
        np.add(t, 1.0, out=t)
        np.sqrt(t, out=t)  # s
        np.divide(r, t, out=g)
        np.subtract(t, 1.0, out=t)
        v = d * d * float(np.sum(t)) / n
        np.multiply(g, 1.0 / n, out=g)
        return v, g

    return f


def _ph_torch(torch, x, y, d=PH_DELTA):
    r = x - y
    return (d * d * (torch.sqrt(1 + (r / d) ** 2) - 1)).mean()


def _ph_torch_out(torch, x, y, d=PH_DELTA):
    n = x.numel()
    r, t, g = tensors_like(torch, x, 3)

    def f():
        torch.sub(x, y, out=r)
        torch.mul(r, r, out=t)
        if d != 1.0:  # one pass fewer
            t.mul_(1.0 / (d * d))
        t.add_(1.0).sqrt_()
        torch.div(r, t, out=g)
        t.sub_(1.0)
        v = d * d * t.sum().item() / n
        g.mul_(1.0 / n)
        return v, g

    return f


# ----------------------------------------------------------------------- log_cosh
# log(cosh r) = |r| + log1p(exp(-2|r|)) - log 2 (no overflow);  grad tanh(r)

def _lc_loss(xp, x, y):
    a = xp.abs(x - y)
    return a + xp.log1p(xp.exp(-2.0 * a)) - LOG2


def _lc_dloss(x, y):
    return np.tanh(x - y)



def _lc_np_out(x, y):
    n = x.size
    t, g = touched_like(x, 2)

    def f():
        np.subtract(x, y, out=g)
        np.abs(g, out=t)
        s = float(np.sum(t))
        np.multiply(t, -2.0, out=t)
        np.exp(t, out=t)
        np.log1p(t, out=t)
        v = (s + float(np.sum(t))) / n - LOG2
        np.tanh(g, out=g)
        np.multiply(g, 1.0 / n, out=g)
        return v, g

    return f


def _lc_torch(torch, x, y):
    a = (x - y).abs()
    return (a + torch.log1p(torch.exp(-2 * a)) - LOG2).mean()


def _lc_torch_out(torch, x, y):
    n = x.numel()
    t, g = tensors_like(torch, x, 2)

    def f():
        torch.sub(x, y, out=g)
        torch.abs(g, out=t)
        s = t.sum().item()
        t.mul_(-2.0).exp_().log1p_()
        v = (s + t.sum().item()) / n - LOG2
        g.tanh_().mul_(1.0 / n)
        return v, g

    return f


# ----------------------------------------------------------------------- quantile
# pinball loss with d = y - x:  max(q d, (q - 1) d);  d/dx = -q if d > 0 else 1 - q.
# In terms of r = x - y: sum(l) = sum(max(r, 0)) - q sum(r); grad = (sign(r) + 1 - 2q) / 2.
QUANTILE = 0.5


def _q_loss(xp, x, y, q=QUANTILE):
    d = y - x
    return xp.maximum(q * d, (q - 1.0) * d)


def _q_dloss(x, y, q=QUANTILE):
    return 0.5 * (np.sign(x - y) + (1.0 - 2.0 * q))  # -q below the target, 1 - q above


def _q_kinks(r):
    return r == 0



def _q_np_out(x, y, q=QUANTILE):
    n = x.size
    r, g = touched_like(x, 2)

    def f():
        np.subtract(x, y, out=r)
        s = float(np.sum(r))
        np.maximum(r, 0, out=g)
        v = (float(np.sum(g)) - q * s) / n
        np.sign(r, out=g)
        np.add(g, 1.0 - 2.0 * q, out=g)
        np.multiply(g, 0.5 / n, out=g)
        return v, g

    return f


def _q_torch(torch, x, y, q=QUANTILE):
    d = y - x
    return torch.maximum(q * d, (q - 1) * d).mean()


def _q_torch_out(torch, x, y, q=QUANTILE):
    n = x.numel()
    r, g = tensors_like(torch, x, 2)

    def f():
        torch.sub(x, y, out=r)
        s = r.sum().item()
        torch.clamp(r, min=0, out=g)
        v = (g.sum().item() - q * s) / n
        torch.sign(r, out=g)
        g.add_(1.0 - 2.0 * q).mul_(0.5 / n)
        return v, g

    return f


# ------------------------------------------------------------ epsilon_insensitive
# max(0, |r| - eps);  grad sign(r) where |r| > eps, else 0.
EPSILON = 0.1


def _eps_loss(xp, x, y, eps=EPSILON):
    return xp.maximum(xp.abs(x - y) - eps, 0.0)


def _eps_dloss(x, y, eps=EPSILON):
    r = x - y
    return np.where(np.abs(r) > eps, np.sign(r), 0.0)


def _eps_kinks(r, eps=EPSILON):
    # |r| == eps, with room for eps rounded to float32 and r rounded in float32
    return np.abs(np.abs(r) - eps) <= 1e-6 * eps



def _eps_np_out(x, y, eps=EPSILON):
    n = x.size
    r, g = touched_like(x, 2)

    def f():
        np.subtract(x, y, out=r)
        np.abs(r, out=g)
        np.subtract(g, eps, out=g)
        np.maximum(g, 0, out=g)
        v = float(np.sum(g)) / n
        np.sign(g, out=g)  # 1 where |r| > eps, else 0
        np.sign(r, out=r)
        np.multiply(g, r, out=g)
        np.multiply(g, 1.0 / n, out=g)
        return v, g

    return f


def _eps_torch(torch, x, y, eps=EPSILON):
    return torch.nn.functional.relu((x - y).abs() - eps).mean()


def _eps_torch_out(torch, x, y, eps=EPSILON):
    n = x.numel()
    r, g = tensors_like(torch, x, 2)

    def f():
        torch.sub(x, y, out=r)
        torch.abs(r, out=g)
        g.sub_(eps).clamp_(min=0)
        v = g.sum().item() / n
        g.sign_()
        r.sign_()
        g.mul_(r).mul_(1.0 / n)
        return v, g

    return f


# -------------------------------------------------------------------- poisson_nll
# log_input=True, full=False: exp(x) - y x;  grad exp(x) - y.  (PyTorch's eps only
# matters for log_input=False.)

def _p_loss(xp, x, y):
    return xp.exp(x) - y * x


def _p_dloss(x, y):
    return np.exp(x) - y



def _p_np_out(x, y):
    n = x.size
    g = alloc(n, x.dtype)

    def f():
        np.exp(x, out=g)
        v = (float(np.sum(g)) - float(np.dot(y, x))) / n
        np.subtract(g, y, out=g)
        np.multiply(g, 1.0 / n, out=g)
        return v, g

    return f


def _p_torch(torch, x, y):
    return torch.nn.functional.poisson_nll_loss(x, y, log_input=True, full=False, eps=1e-8, reduction="mean")


def _p_torch_out(torch, x, y):
    n = x.numel()
    g = torch.zeros(n, dtype=x.dtype)

    def f():
        torch.exp(x, out=g)
        v = (g.sum().item() - torch.dot(y, x).item()) / n
        g.sub_(y).mul_(1.0 / n)
        return v, g

    return f


# ------------------------------------------------------------------------- barron
# Barron's general loss with b = |alpha - 2| and z = (r/c)^2 / b:
#   rho = b/alpha (((r/c)^2/b + 1)^(alpha/2) - 1) = b/alpha expm1(alpha/2 log1p(z))
#   d rho / dx = r/c^2 (z + 1)^(alpha/2 - 1)
# (the expm1/log1p form is accurate for small residuals). alpha = 1 runs the general kernel
# of losskit (only alpha = 2 and +-inf have branches of their own).
BARRON_ALPHA = 1.0
BARRON_SCALE = 0.5


def _barron_loss(xp, x, y, a=BARRON_ALPHA, c=BARRON_SCALE):
    b = abs(a - 2.0)
    z = ((x - y) / c) ** 2 / b
    return b / a * xp.expm1(0.5 * a * xp.log1p(z))


def _barron_dloss(x, y, a=BARRON_ALPHA, c=BARRON_SCALE):
    r = x - y
    return r / (c * c) * np.exp((0.5 * a - 1.0) * np.log1p((r / c) ** 2 / abs(a - 2.0)))



def _barron_np_out(x, y, a=BARRON_ALPHA, c=BARRON_SCALE):
    n = x.size
    b = abs(a - 2.0)
    r, t, g = touched_like(x, 3)

    def f():
        np.subtract(x, y, out=r)
        np.multiply(r, r, out=t)
        np.multiply(t, 1.0 / (c * c * b), out=t)
        np.log1p(t, out=t)  # log1p(z)
        np.multiply(t, 0.5 * a - 1.0, out=g)
        np.exp(g, out=g)
        np.multiply(g, r, out=g)
        np.multiply(g, 1.0 / (c * c * n), out=g)
        np.multiply(t, 0.5 * a, out=t)
        np.expm1(t, out=t)
        v = b / a * float(np.sum(t)) / n
        return v, g

    return f


def _barron_torch(torch, x, y, a=BARRON_ALPHA, c=BARRON_SCALE):
    b = abs(a - 2.0)
    z = ((x - y) / c) ** 2 / b
    return (b / a * torch.expm1(0.5 * a * torch.log1p(z))).mean()


def _barron_torch_out(torch, x, y, a=BARRON_ALPHA, c=BARRON_SCALE):
    n = x.numel()
    b = abs(a - 2.0)
    r, t, g = tensors_like(torch, x, 3)

    def f():
        torch.sub(x, y, out=r)
        torch.mul(r, r, out=t)
        t.mul_(1.0 / (c * c * b)).log1p_()
        torch.mul(t, 0.5 * a - 1.0, out=g)
        g.exp_().mul_(r).mul_(1.0 / (c * c * n))
        t.mul_(0.5 * a).expm1_()
        v = b / a * t.sum().item() / n
        return v, g

    return f


# ------------------------------------------------------------------------ registry

def _huber(d, scale, **kw):
    return dict(
        loss=lambda xp, x, y: _huber_loss(xp, x, y, d, scale),
        dloss=lambda x, y: _huber_dloss(x, y, d, scale),
        numpy_out=lambda x, y: _huber_np_out(x, y, d, scale),
        torch_out=lambda torch, x, y: _huber_torch_out(torch, x, y, d, scale),
        # sklearn's HuberLoss is PyTorch's huber (0.5 r^2 inside); smooth_l1 divides it by beta
        sklearn=lambda sk, x: (sk.HuberLoss(delta=d), scale),
        **kw,
    )


SPECS = [
    LossSpec(
        name="mse", suite="regression", cls="MSELoss", params={}, formula="(x-y)^2", make_data=make_data,
        loss=_mse_loss, dloss=lambda x, y: 2.0 * (x - y), numpy_out=_mse_np_out,
        torch_loss=lambda torch, x, y: torch.nn.functional.mse_loss(x, y), torch_out=_mse_torch_out,
        torch_functional="mse_loss",
        sklearn=lambda sk, x: (sk.HalfSquaredError(), 2.0),  # 0.5 r^2
    ),
    LossSpec(
        name="huber", suite="regression", cls="HuberLoss", params={"delta": HUBER_DELTA},
        formula=f"huber, delta={HUBER_DELTA:g}", make_data=make_data,
        torch_loss=lambda torch, x, y: torch.nn.functional.huber_loss(x, y, delta=HUBER_DELTA),
        torch_functional="huber_loss", **_huber(HUBER_DELTA, 1.0),
    ),
    LossSpec(
        name="smooth_l1", suite="regression", cls="SmoothL1Loss", params={"beta": SMOOTH_L1_BETA},
        formula=f"smooth L1, beta={SMOOTH_L1_BETA:g}", make_data=make_data,
        torch_loss=lambda torch, x, y: torch.nn.functional.smooth_l1_loss(x, y, beta=SMOOTH_L1_BETA),
        torch_functional="smooth_l1_loss", **_huber(SMOOTH_L1_BETA, 1.0 / SMOOTH_L1_BETA),
    ),
    LossSpec(
        name="pseudo_huber", suite="regression", cls="PseudoHuberLoss", params={"delta": PH_DELTA},
        formula=f"delta^2 (sqrt(1+(r/delta)^2) - 1), delta={PH_DELTA:g}", make_data=make_data,
        loss=_ph_loss, dloss=_ph_dloss, numpy_out=_ph_np_out,
        torch_loss=_ph_torch, torch_out=_ph_torch_out, torch_functional="",
    ),
    LossSpec(
        name="log_cosh", suite="regression", cls="LogCoshLoss", params={}, formula="log(cosh(r))",
        make_data=make_data, loss=_lc_loss, dloss=_lc_dloss, numpy_out=_lc_np_out,
        torch_loss=_lc_torch, torch_out=_lc_torch_out, torch_functional="",
    ),
    LossSpec(
        name="quantile", suite="regression", cls="QuantileLoss", params={"quantile": QUANTILE},
        formula=f"pinball, quantile={QUANTILE:g}", make_data=make_data,
        loss=_q_loss, dloss=_q_dloss, numpy_out=_q_np_out,
        torch_loss=_q_torch, torch_out=_q_torch_out, torch_functional="", kinks=_q_kinks,
        sklearn=lambda sk, x: (sk.PinballLoss(quantile=QUANTILE), 1.0),
    ),
    LossSpec(
        name="epsilon_insensitive", suite="regression", cls="EpsilonInsensitiveLoss",
        params={"epsilon": EPSILON}, formula=f"max(0, |r| - eps), eps={EPSILON:g}", make_data=make_data,
        loss=_eps_loss, dloss=_eps_dloss, numpy_out=_eps_np_out,
        torch_loss=_eps_torch, torch_out=_eps_torch_out, torch_functional="", kinks=_eps_kinks,
    ),
    LossSpec(
        name="poisson_nll", suite="regression", cls="PoissonNLLLoss", params={"log_input": True, "full": False},
        formula="exp(x) - y x (log_input=True, full=False)", make_data=make_poisson_data,
        loss=_p_loss, dloss=_p_dloss, numpy_out=_p_np_out,
        torch_loss=_p_torch, torch_out=_p_torch_out, torch_functional="poisson_nll_loss",
        sklearn=lambda sk, x: (sk.HalfPoissonLoss(), 1.0),  # exp(x) - y x: the same, despite "half"
    ),
    LossSpec(
        name="barron", suite="barron", cls="BarronLoss", params={"alpha": BARRON_ALPHA, "scale": BARRON_SCALE},
        formula=f"Barron's general loss, alpha={BARRON_ALPHA:g}, scale={BARRON_SCALE:g}", make_data=make_data,
        loss=_barron_loss, dloss=_barron_dloss, numpy_out=_barron_np_out,
        torch_loss=_barron_torch, torch_out=_barron_torch_out, torch_functional="",
    ),
]

WORKLOADS = [
    LossWorkload(spec, f"{spec.formula}: value and gradient, mean reduction") for spec in SPECS
]
