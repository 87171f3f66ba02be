"""What the command line knows about each loss: a one-line formula, how to feed it a curve
over [-5, 5], random test data for gradient checks, and properties measured on that curve."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from . import _base

# name -> (task, one-line formula with r = input - target, z = target * input, s = scores)
FORMULAS: dict[str, tuple[str, str]] = {
    "mse": ("regression", "r^2"),
    "l1": ("regression", "|r|"),
    "huber": ("regression", "r^2/2 if |r| < delta else delta (|r| - delta/2)"),
    "smooth_l1": ("regression", "r^2/(2 beta) if |r| < beta else |r| - beta/2"),
    "pseudo_huber": ("regression", "delta^2 (sqrt(1 + (r/delta)^2) - 1)"),
    "log_cosh": ("regression", "log(cosh(r))"),
    "quantile": ("regression", "max(q r', (q - 1) r'), r' = target - input"),
    "epsilon_insensitive": ("regression", "max(0, |r| - epsilon) (squared if squared)"),
    "gaussian_nll": ("regression", "(log(max(var, eps)) + r^2 / max(var, eps)) / 2 (+ log(2 pi)/2 if full)"),
    "poisson_nll": ("regression", "exp(x) - y x (log_input), x - y log(x + eps) otherwise"),
    "barron": ("regression", "|a-2|/a (((r/c)^2/|a-2| + 1)^(a/2) - 1), limits at a = 0, 2, -inf"),
    "adaptive_barron": ("regression", "rho(r, alpha, c) + log c + log Z(alpha), alpha and c learned"),
    "cross_entropy": ("classification", "logsumexp(s) - s_y"),
    "nll": ("classification", "-x_y (x: log-probabilities)"),
    "bce_with_logits": ("classification", "max(x, 0) - x y + log(1 + exp(-|x|))"),
    "bce": ("classification", "-(y log p + (1 - y) log(1 - p)), logs clamped at -100"),
    "kl_div": ("divergence", "y (log y - x) (x: log-probabilities)"),
    "soft_margin": ("classification", "log(1 + exp(-z))"),
    "multi_margin": ("classification", "sum_{c != y} max(0, margin - s_y + s_c)^p / C"),
    "hinge": ("classification", "max(0, margin - z)"),
    "squared_hinge": ("classification", "max(0, margin - z)^2"),
    "multiclass_hinge": ("classification", "sum_{c != y} max(0, s_c - s_y + margin)"),
    "modified_huber": ("classification", "max(0, 1 - z)^2 if z >= -1 else -4 z"),
    "perceptron": ("classification", "max(0, -z)"),
}

ROWWISE = ("cross_entropy", "nll", "multi_margin", "multiclass_hinge")

# what the estimators accept (see losskit/_estimators.py)
ROWWISE_CLASSIFICATION = ("cross_entropy", "multi_margin", "multiclass_hinge")
MARGIN_LOSSES = ("hinge", "squared_hinge", "modified_huber", "perceptron", "soft_margin")
LOGIT_LOSSES = ("bce_with_logits",)
CLASSIFICATION_LOSSES = ROWWISE_CLASSIFICATION + MARGIN_LOSSES + LOGIT_LOSSES
PROBABILISTIC_LOSSES = ("cross_entropy", "bce_with_logits", "soft_margin", "modified_huber")
# losses that need probabilities / log-probabilities or a third argument: no linear model
NOT_FOR_REGRESSION = CLASSIFICATION_LOSSES + ("nll", "bce", "kl_div", "gaussian_nll")
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop", "adagrad")
PENALTIES = ("l2", "l1", "elasticnet", "none")
MARGIN = ("hinge", "squared_hinge", "modified_huber", "perceptron", "soft_margin")
PROBABILISTIC = ("cross_entropy", "nll", "bce_with_logits", "bce", "soft_margin", "gaussian_nll",
                 "poisson_nll", "adaptive_barron", "kl_div")


def make_loss(name: str, reduction: str = "mean", **params: Any) -> Any:
    """``get_loss`` that also fills ``num_dims=1`` for losses that need it."""
    if name not in _base._REGISTRY:
        _base.get_loss(name)  # the ValueError listing every name
    cls = _base._REGISTRY[name]
    sig = inspect.signature(cls.__init__).parameters
    if "num_dims" in sig and "num_dims" not in params:
        params["num_dims"] = 1
    if "reduction" in sig:
        params["reduction"] = reduction
    return cls(**params)


def has_latent(loss: Any) -> bool:
    return isinstance(getattr(loss, "params", None), (list, tuple)) and hasattr(loss, "param_grads")


def _arity(loss: Any) -> int:
    return 3 if hasattr(loss, "value_and_grads") and loss.name == "gaussian_nll" else 2


def curve(loss: Any, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-point value and derivative of ``loss`` along x: the residual for regression losses,
    the score of a sample of class +1 (label 0 of two classes with scores [x, 0]) for
    classification losses. ``loss`` has reduction "sum"."""
    name = loss.name
    x = np.asarray(x, dtype=np.float64)
    if name == "bce":
        raise ValueError("loss 'bce' takes probabilities in [0, 1], not a value on [-5, 5]; "
                         "plot 'bce_with_logits' instead")
    if name in ROWWISE:
        s = np.stack([x, np.zeros_like(x)], axis=1)
        labels = np.zeros(len(x), dtype=np.int64)
        per = make_loss(name, "none", **_params(loss))(s, labels)
        g = loss.grad(s, labels)
        return np.asarray(per), g[:, 0]
    shape = (len(x), 1) if has_latent(loss) else (len(x),)
    xi = x.reshape(shape)
    if name in MARGIN or name == "bce_with_logits":
        t = np.ones(shape)
    elif name == "kl_div":
        t = np.full(shape, 0.5)
    elif name == "poisson_nll":
        t = np.ones(shape)
    else:
        t = np.zeros(shape)
    if _arity(loss) == 3:
        var = np.ones(shape)
        v = make_loss(name, "none", **_params(loss))(xi, t, var)
        return np.asarray(v).reshape(-1), loss.grad(xi, t, var).reshape(-1)
    g = np.empty(shape)
    per = []
    # value per point: differences of the running sum would lose accuracy; evaluate each
    # point through reduction="none" when the loss has it, else one point at a time
    try:
        per = np.asarray(make_loss(name, "none", **_params(loss))(xi, t)).reshape(-1)
    except Exception:
        per = np.array([float(loss(xi[i:i + 1], t[i:i + 1])) for i in range(len(x))])
    _, g = loss.value_and_grad(xi, t, out=g)
    return per, np.asarray(g).reshape(-1)


def _params(loss: Any) -> dict[str, Any]:
    p = getattr(loss, "params", {})
    if not isinstance(p, dict):
        p = getattr(loss, "_params", {})
    return {k: v for k, v in p.items() if k != "reduction"}


def properties(name: str) -> dict[str, Any]:
    """Task and formula, plus properties measured on the curve over [-5, 5] (default params):
    convex (derivative non-decreasing), smooth (no jump of the derivative), bounded gradient
    (|derivative| stays below 100 out to |x| = 1e4: robust to outliers), symmetric."""
    task, formula = FORMULAS.get(name, ("unknown", ""))
    out: dict[str, Any] = {"task": task, "formula": formula,
                           "kind": "rowwise" if name in ROWWISE else "elementwise",
                           "probabilistic": name in PROBABILISTIC}
    try:
        loss = make_loss(name, "sum")
        x = np.linspace(-5, 5, 2000)  # even count: no grid point on a kink at 0 or +-1
        v, g = curve(loss, x)
        h = float(x[1] - x[0])
        out["convex"] = bool(np.all(np.diff(g) >= -1e-9))
        # a kink shows as one step of the derivative far larger than its neighbours'
        dg = np.abs(np.diff(g))
        neighbours = np.maximum(np.r_[dg[1:], 0.0], np.r_[0.0, dg[:-1]])
        out["smooth"] = not bool(np.any((dg > 5 * neighbours) & (dg > 1e-3 * h)))
        with np.errstate(all="ignore"):
            _, gfar = curve(loss, np.array([-1e4, 1e4]))
        out["bounded_gradient"] = bool(np.all(np.isfinite(gfar)) and np.max(np.abs(gfar)) < 100)
        out["symmetric"] = bool(np.allclose(v, v[::-1], rtol=1e-9, atol=1e-12))
    except Exception as exc:  # a loss this table cannot drive: say so, do not fail `list`
        out["note"] = f"properties not measured: {exc}"
    return out


def sample(name: str, loss: Any, rng: np.random.Generator, n: int = 12, c: int = 4) -> dict[str, Any]:
    """Random arguments away from kinks for a gradient check: {"x": input, "args": rest}."""
    if name in ROWWISE:
        x = rng.normal(0, 1.5, (n, c))
        return {"x": x, "args": (rng.integers(0, c, n).astype(np.int64),)}
    shape = (n, getattr(loss, "num_dims", 1)) if has_latent(loss) else (n,)
    x = rng.normal(0, 1.5, shape)
    if name in MARGIN:
        t = rng.choice([-1.0, 1.0], shape)
    elif name == "bce_with_logits":
        t = rng.uniform(0, 1, shape)
    elif name == "bce":
        x = rng.uniform(0.05, 0.95, shape)
        t = rng.uniform(0, 1, shape)
    elif name == "kl_div":
        t = rng.uniform(0.05, 1, shape)
    elif name == "poisson_nll":
        t = rng.poisson(2.0, shape).astype(np.float64)
    else:
        t = rng.normal(0, 1.5, shape)
    if _arity(loss) == 3:
        return {"x": x, "args": (t, rng.uniform(0.5, 2.0, shape))}
    return {"x": x, "args": (t,)}
