"""The benchmarked losses: data, float64 reference and the peer implementations.

Every loss here is elementwise with ``reduction="mean"``; the gradient is the
gradient of the mean with respect to the input (so it carries a 1/N factor).
The semantics are PyTorch's (SPEC section 2). For each loss this module holds

- ``reference(x, y)``: value and gradient in float64 (NumPy, written for clarity
  and accuracy, not speed) -- the oracle every implementation is checked against;
- ``kinks(r)``: where the gradient is a set-valued subgradient (e.g. the pinball
  loss at r == 0); those elements are not compared;
- ``numpy_idiomatic(x, y)``: what a NumPy user would write (temporaries and all);
- ``numpy_out(x, y)``: a factory returning a closure that works in preallocated,
  warmed buffers with ufunc ``out=`` (the gradient buffer is reused every call);
- ``torch_autograd(F, x, y)``: the ``torch.nn.functional`` loss where PyTorch has
  one, else the formula composed from torch ops, differentiated by autograd;
- ``torch_out(torch, x, y)``: a hand-written formula with ``out=`` / in-place ops
  on preallocated buffers.

The input is ``x`` (prediction), the target ``y`` and the residual ``r = x - y``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

LOG2 = math.log(2.0)


def alloc(n: int, dtype) -> np.ndarray:
    """A buffer whose pages are already touched (no first-touch faults later)."""
    buf = np.empty(n, dtype=dtype)
    buf.fill(0)
    return buf


def talloc(torch, n: int, dtype):
    buf = torch.empty(n, dtype=dtype)
    buf.zero_()
    return buf


@dataclass(frozen=True)
class LossSpec:
    name: str
    cls: str
    params: dict
    data: str  # "regression" or "poisson"
    formula: str
    reference: Callable
    numpy_idiomatic: Callable
    numpy_out: Callable
    torch_autograd: Callable
    torch_out: Callable
    torch_functional: str  # the torch.nn.functional name, or "" if composed
    kinks: Callable | None = None
    extra: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------- mse

def _mse_ref(x, y):
    r = x - y
    return float(np.mean(r * r)), 2.0 * r / r.size


def _mse_np(x, y):
    r = x - y
    return float(np.mean(r * r)), (2.0 / r.size) * r


def _mse_np_out(x, y):
    n = x.size
    g = alloc(n, x.dtype)

    def f():
        np.subtract(x, y, out=g)
        v = float(np.dot(g, g)) / n
        np.multiply(g, 2.0 / n, out=g)
        return v, g

    return f


def _mse_torch_ag(F, x, y):
    return F.mse_loss(x, y, reduction="mean")


def _mse_torch_out(torch, x, y):
    n = x.numel()
    g = talloc(torch, n, x.dtype)

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

def _huber_ref_d(x, y, d, scale):
    r = x - y
    a = np.abs(r)
    l = np.where(a < d, 0.5 * r * r, d * (a - 0.5 * d))
    g = np.clip(r, -d, d)
    return float(np.mean(l)) * scale, g * (scale / r.size)


def _huber_np_d(x, y, d, scale):
    r = x - y
    a = np.abs(r)
    v = np.mean(np.where(a < d, 0.5 * r * r, d * (a - 0.5 * d)))
    g = np.clip(r, -d, d) * (scale / r.size)
    return float(v) * scale, g


def _huber_np_out_d(x, y, d, scale):
    n = x.size
    r = alloc(n, x.dtype)
    g = alloc(n, x.dtype)

    def f():
        np.subtract(x, y, out=r)
        np.clip(r, -d, d, out=g)
        v = (float(np.dot(g, r)) - 0.5 * float(np.dot(g, g))) * (scale / n)
        np.multiply(g, scale / n, out=g)
        return v, g

    return f


def _huber_torch_out_d(torch, x, y, d, scale):
    n = x.numel()
    r = talloc(torch, n, x.dtype)
    g = talloc(torch, n, x.dtype)

    def f():
        torch.sub(x, y, out=r)
        torch.clamp(r, -d, d, out=g)
        v = (torch.dot(g, r).item() - 0.5 * torch.dot(g, g).item()) * (scale / n)
        g.mul_(scale / n)
        return v, g

    return f


HUBER_DELTA = 1.0
SMOOTH_L1_BETA = 1.0


# ------------------------------------------------------------------- pseudo_huber
# delta^2 (sqrt(1 + (r/delta)^2) - 1);  grad r / sqrt(1 + (r/delta)^2)
PH_DELTA = 1.0


def _ph_ref(x, y, d=PH_DELTA):
    r = x - y
    s = np.sqrt(1.0 + (r / d) ** 2)
    l = r * r / (s + 1.0)  # = d^2 (s - 1) without cancellation
    return float(np.mean(l)), r / s / r.size


def _ph_np(x, y, d=PH_DELTA):
    r = x - y
    s = np.sqrt(1 + (r / d) ** 2)
    v = d * d * np.mean(s - 1)
    return float(v), r / s / r.size


def _ph_np_out(x, y, d=PH_DELTA):
    n = x.size
    r = alloc(n, x.dtype)
    t = alloc(n, x.dtype)
    g = alloc(n, x.dtype)

    def f():
        np.subtract(x, y, out=r)
        if d != 1.0:
            np.multiply(r, 1.0 / d, out=t)
            np.square(t, out=t)
        else:
            np.square(r, out=t)
        np.add(t, 1.0, out=t)
        np.sqrt(t, out=t)  # s
        np.divide(r, t, out=g)
        np.subtract(t, 1.0, out=t)
        v = d * d * float(np.sum(t)) / n
        np.multiply(g, 1.0 / n, out=g)
        return v, g

    return f


def _ph_torch_ag(F, x, y, d=PH_DELTA):
    import torch

    r = x - y
    return (d * d * (torch.sqrt(1 + (r / d) ** 2) - 1)).mean()


def _ph_torch_out(torch, x, y, d=PH_DELTA):
    n = x.numel()
    r = talloc(torch, n, x.dtype)
    t = talloc(torch, n, x.dtype)
    g = talloc(torch, n, x.dtype)

    def f():
        torch.sub(x, y, out=r)
        torch.mul(r, r, out=t)
        if d != 1.0:
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

def _lc_ref(x, y):
    r = x - y
    a = np.abs(r)
    l = a + np.log1p(np.exp(-2.0 * a)) - LOG2
    return float(np.mean(l)), np.tanh(r) / r.size


def _lc_np(x, y):
    r = x - y
    a = np.abs(r)
    v = np.mean(a + np.log1p(np.exp(-2 * a)) - LOG2)  # a Python float keeps float32 float32
    return float(v), np.tanh(r) / r.size


def _lc_np_out(x, y):
    n = x.size
    t = alloc(n, x.dtype)
    g = alloc(n, x.dtype)

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


def _lc_torch_ag(F, x, y):
    import torch

    a = (x - y).abs()
    return (a + torch.log1p(torch.exp(-2 * a)) - LOG2).mean()


def _lc_torch_out(torch, x, y):
    n = x.numel()
    t = talloc(torch, n, x.dtype)
    g = talloc(torch, n, x.dtype)

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


def _q_ref(x, y, q=QUANTILE):
    d = y - x
    l = np.maximum(q * d, (q - 1.0) * d)
    g = np.where(d > 0, -q, 1.0 - q)
    return float(np.mean(l)), g / d.size


def _q_kinks(r):
    return r == 0


def _q_np(x, y, q=QUANTILE):
    d = y - x
    v = np.mean(np.maximum(q * d, (q - 1) * d))
    t = x.dtype.type
    g = np.where(d > 0, t(-q), t(1 - q)) / d.size
    return float(v), g


def _q_np_out(x, y, q=QUANTILE):
    n = x.size
    r = alloc(n, x.dtype)
    g = alloc(n, x.dtype)

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


def _q_torch_ag(F, x, y, q=QUANTILE):
    import torch

    d = y - x
    return torch.maximum(q * d, (q - 1) * d).mean()


def _q_torch_out(torch, x, y, q=QUANTILE):
    n = x.numel()
    r = talloc(torch, n, x.dtype)
    g = talloc(torch, n, x.dtype)

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


def _eps_ref(x, y, eps=EPSILON):
    r = x - y
    a = np.abs(r)
    l = np.maximum(a - eps, 0.0)
    g = np.where(a > eps, np.sign(r), 0.0)
    return float(np.mean(l)), g / r.size


def _eps_kinks(r, eps=EPSILON):
    # |r| == eps, with room for eps rounded to float32 and r rounded in float32
    return np.abs(np.abs(r) - eps) <= 1e-6 * eps


def _eps_np(x, y, eps=EPSILON):
    r = x - y
    a = np.abs(r)
    v = np.mean(np.maximum(a - eps, 0))
    g = np.where(a > eps, np.sign(r), 0) / r.size
    return float(v), g


def _eps_np_out(x, y, eps=EPSILON):
    n = x.size
    r = alloc(n, x.dtype)
    g = alloc(n, x.dtype)

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


def _eps_torch_ag(F, x, y, eps=EPSILON):
    return F.relu((x - y).abs() - eps).mean()


def _eps_torch_out(torch, x, y, eps=EPSILON):
    n = x.numel()
    r = talloc(torch, n, x.dtype)
    g = talloc(torch, n, x.dtype)

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

def _p_ref(x, y):
    e = np.exp(x)
    return float(np.mean(e - y * x)), (e - y) / x.size


def _p_np(x, y):
    e = np.exp(x)
    return float(np.mean(e - y * x)), (e - y) / x.size


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


def _p_torch_ag(F, x, y):
    return F.poisson_nll_loss(x, y, log_input=True, full=False, eps=1e-8, reduction="mean")


def _p_torch_out(torch, x, y):
    n = x.numel()
    g = talloc(torch, n, x.dtype)

    def f():
        torch.exp(x, out=g)
        v = (g.sum().item() - torch.dot(y, x).item()) / n
        g.sub_(y).mul_(1.0 / n)
        return v, g

    return f


# ------------------------------------------------------------------------ registry

LOSSES: dict[str, LossSpec] = {}


def _register(spec: LossSpec) -> None:
    LOSSES[spec.name] = spec


_register(LossSpec(
    name="mse", cls="MSELoss", params={}, data="regression", formula="(x-y)^2",
    reference=_mse_ref, numpy_idiomatic=_mse_np, numpy_out=_mse_np_out,
    torch_autograd=_mse_torch_ag, torch_out=_mse_torch_out, torch_functional="mse_loss",
))
_register(LossSpec(
    name="huber", cls="HuberLoss", params={"delta": HUBER_DELTA}, data="regression",
    formula=f"huber, delta={HUBER_DELTA:g}",
    reference=lambda x, y: _huber_ref_d(x, y, HUBER_DELTA, 1.0),
    numpy_idiomatic=lambda x, y: _huber_np_d(x, y, HUBER_DELTA, 1.0),
    numpy_out=lambda x, y: _huber_np_out_d(x, y, HUBER_DELTA, 1.0),
    torch_autograd=lambda F, x, y: F.huber_loss(x, y, reduction="mean", delta=HUBER_DELTA),
    torch_out=lambda torch, x, y: _huber_torch_out_d(torch, x, y, HUBER_DELTA, 1.0),
    torch_functional="huber_loss",
))
_register(LossSpec(
    name="smooth_l1", cls="SmoothL1Loss", params={"beta": SMOOTH_L1_BETA}, data="regression",
    formula=f"smooth L1, beta={SMOOTH_L1_BETA:g}",
    reference=lambda x, y: _huber_ref_d(x, y, SMOOTH_L1_BETA, 1.0 / SMOOTH_L1_BETA),
    numpy_idiomatic=lambda x, y: _huber_np_d(x, y, SMOOTH_L1_BETA, 1.0 / SMOOTH_L1_BETA),
    numpy_out=lambda x, y: _huber_np_out_d(x, y, SMOOTH_L1_BETA, 1.0 / SMOOTH_L1_BETA),
    torch_autograd=lambda F, x, y: F.smooth_l1_loss(x, y, reduction="mean", beta=SMOOTH_L1_BETA),
    torch_out=lambda torch, x, y: _huber_torch_out_d(torch, x, y, SMOOTH_L1_BETA, 1.0 / SMOOTH_L1_BETA),
    torch_functional="smooth_l1_loss",
))
_register(LossSpec(
    name="pseudo_huber", cls="PseudoHuberLoss", params={"delta": PH_DELTA}, data="regression",
    formula=f"delta^2 (sqrt(1+(r/delta)^2) - 1), delta={PH_DELTA:g}",
    reference=_ph_ref, numpy_idiomatic=_ph_np, numpy_out=_ph_np_out,
    torch_autograd=_ph_torch_ag, torch_out=_ph_torch_out, torch_functional="",
))
_register(LossSpec(
    name="log_cosh", cls="LogCoshLoss", params={}, data="regression", formula="log(cosh(r))",
    reference=_lc_ref, numpy_idiomatic=_lc_np, numpy_out=_lc_np_out,
    torch_autograd=_lc_torch_ag, torch_out=_lc_torch_out, torch_functional="",
))
_register(LossSpec(
    name="quantile", cls="QuantileLoss", params={"quantile": QUANTILE}, data="regression",
    formula=f"pinball, quantile={QUANTILE:g}",
    reference=_q_ref, numpy_idiomatic=_q_np, numpy_out=_q_np_out,
    torch_autograd=_q_torch_ag, torch_out=_q_torch_out, torch_functional="", kinks=_q_kinks,
))
_register(LossSpec(
    name="epsilon_insensitive", cls="EpsilonInsensitiveLoss", params={"epsilon": EPSILON},
    data="regression", formula=f"max(0, |r| - eps), eps={EPSILON:g}",
    reference=_eps_ref, numpy_idiomatic=_eps_np, numpy_out=_eps_np_out,
    torch_autograd=_eps_torch_ag, torch_out=_eps_torch_out, torch_functional="", kinks=_eps_kinks,
))
_register(LossSpec(
    name="poisson_nll", cls="PoissonNLLLoss", params={"log_input": True, "full": False},
    data="poisson", formula="exp(x) - y x (log_input=True, full=False)",
    reference=_p_ref, numpy_idiomatic=_p_np, numpy_out=_p_np_out,
    torch_autograd=_p_torch_ag, torch_out=_p_torch_out, torch_functional="poisson_nll_loss",
))


# ---------------------------------------------------------------------------- data

def make_data(kind: str, n: int, dtype, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Input and target arrays (C-contiguous, pages touched).

    regression: x, y ~ N(0, 1), so r ~ N(0, 2): both branches of huber / smooth_l1
    / epsilon_insensitive are well populated (no artificially predictable branch).
    poisson: x ~ N(0, 0.5^2) is a log-rate, y ~ Poisson(exp(x)) are counts.
    """
    dtype = np.dtype(dtype)
    rng = np.random.default_rng([seed, n, dtype.itemsize, 0 if kind == "regression" else 1])
    if kind == "regression":
        x = rng.standard_normal(n, dtype=dtype)
        y = rng.standard_normal(n, dtype=dtype)
    elif kind == "poisson":
        x = (0.5 * rng.standard_normal(n)).astype(dtype)
        y = rng.poisson(np.exp(x.astype(np.float64))).astype(dtype)
    else:  # pragma: no cover
        raise ValueError(f"unknown data kind {kind!r}")
    return np.ascontiguousarray(x), np.ascontiguousarray(y)


# ---------------------------------------------------------------------- checking

# Tolerances of the correctness gate (a failed check means "wrong", the case is
# not timed). They catch bugs, not rate accuracy: the measured errors are reported
# next to the timings. float32 values may come from float32 dot products, which
# are off by ~1e-4 at N = 1e7 (PERF-NOTES), hence the loose value tolerance.
TOLERANCES = {
    np.dtype(np.float32): {"value_rtol": 1e-3, "grad_rtol": 1e-4, "grad_atol": 1e-5},
    np.dtype(np.float64): {"value_rtol": 1e-9, "grad_rtol": 1e-9, "grad_atol": 1e-12},
}


@dataclass
class CheckResult:
    ok: bool
    value_err: float = float("nan")  # relative error of the value
    grad_err: float = float("nan")  # max |g - g_ref| / max |g_ref|
    message: str = ""


def reference(spec: LossSpec, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray, np.ndarray | None]:
    """(value, grad, mask of elements to compare or None) in float64."""
    x64 = x.astype(np.float64)
    y64 = y.astype(np.float64)
    v, g = spec.reference(x64, y64)
    mask = None
    if spec.kinks is not None:
        k = spec.kinks(x64 - y64)
        if k.any():
            mask = ~k
    return v, np.asarray(g, dtype=np.float64), mask


def check(result: Any, ref: tuple, dtype) -> CheckResult:
    """Compare an implementation's ``(value, grad)`` with the reference."""
    dtype = np.dtype(dtype)
    v_ref, g_ref, mask = ref
    tol = TOLERANCES[dtype]
    try:
        v, g = result
    except (TypeError, ValueError):
        return CheckResult(False, message=f"expected (value, grad), got {type(result).__name__}")
    try:
        v = float(v)
    except (TypeError, ValueError):
        return CheckResult(False, message=f"value is not a scalar: {type(v).__name__} {getattr(v, 'shape', '')}")
    g = to_numpy(g)
    if g.shape != g_ref.shape:
        return CheckResult(False, message=f"grad shape {g.shape}, expected {g_ref.shape}")
    if g.dtype != dtype:
        return CheckResult(False, message=f"grad dtype {g.dtype}, expected {dtype}")
    scale = max(abs(v_ref), np.finfo(np.float64).tiny)
    v_err = abs(v - v_ref) / scale if math.isfinite(v) else float("inf")
    gd = g.astype(np.float64)
    gr = g_ref
    if mask is not None:
        gd = gd[mask]
        gr = gr[mask]
    diff = np.abs(gd - gr)
    gmax = float(np.max(np.abs(gr))) if gr.size else 0.0
    if gr.size and not np.all(np.isfinite(gd)):
        bad = int(np.flatnonzero(~np.isfinite(gd))[0])
        return CheckResult(False, v_err, float("inf"), f"non-finite gradient at element {bad}")
    g_err = float(np.max(diff)) / gmax if gr.size and gmax > 0 else float(np.max(diff, initial=0.0))
    msgs = []
    if not v_err <= tol["value_rtol"]:
        msgs.append(f"value {v!r} vs reference {v_ref!r} (rel err {v_err:.2e} > {tol['value_rtol']:.0e})")
    bad = diff > tol["grad_rtol"] * np.abs(gr) + tol["grad_atol"] * gmax
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        msgs.append(
            f"grad differs at {int(np.count_nonzero(bad))} of {gr.size} elements (first: {float(gd[i])!r} vs {float(gr[i])!r}; "
            f"max err {g_err:.2e} of max|g|)"
        )
    return CheckResult(not msgs, v_err, g_err, "; ".join(msgs))


def to_numpy(g) -> np.ndarray:
    if isinstance(g, np.ndarray):
        return g
    detach = getattr(g, "detach", None)
    if detach is not None:  # a torch tensor
        return detach().cpu().numpy()
    return np.asarray(g)
