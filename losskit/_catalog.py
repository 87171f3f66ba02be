"""What the command line knows about each loss: a one-line formula, how to feed it a curve
over [-5, 5], random test data for gradient checks, and properties measured on that curve."""

from __future__ import annotations

import inspect
import math
from typing import Any

import numpy as np

from . import _base
from ._validation import describe_interval

def _describe(name: str) -> dict[str, Any]:
    """The definition's metadata of a registered loss; a loss made in Python only (the adaptive
    Barron loss) states the same fields as class attributes."""
    if name in _base.DEFINITIONS:
        return _base.DEFINITIONS[name]
    cls = _base._REGISTRY[name]
    return {"task": cls.task, "formula": cls.formula, "family": "elementwise",
            "probabilistic": cls.probabilistic, "margin_targets": False, "arity": 2,
            "convex": cls.convex, "link": "identity"}


def _registered() -> dict[str, dict[str, Any]]:
    return {name: _describe(name) for name in _base.available_losses()}


ROWWISE = tuple(n for n, d in _registered().items() if d["family"] == "rowwise")
MARGIN = tuple(n for n, d in _registered().items() if d["margin_targets"])
PROBABILISTIC = tuple(n for n, d in _registered().items() if d["probabilistic"])

_REAL_LINE = (-math.inf, math.inf, False, False)
_UNIT_INTERVAL = (0.0, 1.0, True, True)

# what the estimators accept (see losskit/_estimators.py)
ROWWISE_CLASSIFICATION = ("cross_entropy", "multi_margin", "multiclass_hinge")
MARGIN_LOSSES = MARGIN
# losses of a real score and a 0/1 target (one-vs-rest columns of a linear classifier)
LOGIT_LOSSES = tuple(
    n for n, d in _registered().items()
    if d["task"] == "classification" and d["family"] == "elementwise" and d["arity"] == 2
    and not d["margin_targets"] and tuple(d.get("input_domain", _REAL_LINE)) == _REAL_LINE
    and tuple(d.get("target_domain", _REAL_LINE)) == _UNIT_INTERVAL)
CLASSIFICATION_LOSSES = ROWWISE_CLASSIFICATION + MARGIN_LOSSES + LOGIT_LOSSES
PROBABILISTIC_LOSSES = ("cross_entropy", "bce_with_logits", "soft_margin", "modified_huber")
# losses of something else than a real prediction and a real target (classification,
# probabilities, a third argument): no linear regression model
NOT_FOR_REGRESSION = tuple(
    n for n, d in _registered().items()
    if d["task"] != "regression" or d["family"] != "elementwise" or d["arity"] == 3)
# losses whose prediction is the log of the mean (the GLM deviances): the regressor's predict
# returns exp of the linear model
LOG_LINK_LOSSES = tuple(n for n, d in _registered().items() if d.get("link") == "log")
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop", "adagrad")
PENALTIES = ("l2", "l1", "elasticnet", "none")
FULL_BATCH_SOLVERS = ("lbfgs", "newton")
SOLVERS = ("auto",) + FULL_BATCH_SOLVERS + OPTIMIZERS
# losses whose shape parameter (delta, beta, epsilon, the bend of log cosh, Barron's scale) is
# in units of the residual: with scale="auto" the estimators fit them to r / sigma with sigma
# estimated jointly, which makes the fit scale-equivariant. mse, l1, quantile and expectile are
# positively homogeneous (scale-equivariant as they are) and need no scale.
SCALE_LOSSES = ("huber", "smooth_l1", "pseudo_huber", "log_cosh", "epsilon_insensitive", "barron",
                "adaptive_barron")
# kinked, piecewise-linear losses: fitted by reweighted least squares with a vanishing
# smoothing (the mean of the two slopes at the kink is the value)
KINKED_LOSSES = {"l1": 1.0, "quantile": 0.5}
# kinked losses that no smooth solver or IRLS scheme here converges on: "auto" trains them by
# minibatches, as scikit-learn trains hinge and perceptron losses with SGD
NONSMOOTH_LOSSES = ("hinge", "multiclass_hinge", "multi_margin", "perceptron",
                    "epsilon_insensitive")
# losses whose exact second derivative can be negative: Newton uses the loss's own first
# policy (the IRLS curvature of Barron's losses, the floored curvature of focal and Tweedie)
NONCONVEX_LOSSES = tuple(n for n, d in _registered().items() if not d.get("convex", True))


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


_REALS = (-math.inf, math.inf, False, False)


def _target_kind(d: dict[str, Any]) -> str:
    """What the targets of a loss are, from its definition's target domain."""
    if d["margin_targets"] or d.get("target_check") == "signs":
        return "margin"
    domain = tuple(d.get("target_domain", _REALS))
    if domain == (0.0, 1.0, True, True):
        return "probability"
    if domain[0] == 0.0:
        return "count" if domain[2] else "positive"
    return "real"


def _arity(loss: Any) -> int:
    return _describe(loss.name)["arity"]


def _with_third(loss: Any, x: np.ndarray, t: np.ndarray, third: np.ndarray) -> list[np.ndarray]:
    """The rest of an arity-3 loss's call after x: the target and the third argument in the
    definition's order."""
    rest = [t]
    rest.insert(_describe(loss.name)["third_position"] - 1, third)
    return rest


def _third_like(loss: Any, shape: tuple, rng: np.random.Generator | None = None) -> np.ndarray:
    """Values of a loss's third argument: positive (a variance, a scale) where its domain
    starts at 0, real otherwise (a second score)."""
    positive = tuple(_describe(loss.name)["third_domain"])[0] == 0.0
    if rng is None:
        return np.ones(shape) if positive else np.zeros(shape)
    return rng.uniform(0.5, 2.0, shape) if positive else rng.normal(0, 1.5, shape)


def curve(loss: Any, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-point value and derivative of ``loss`` along x: the residual for regression losses,
    the score of a sample of class +1 (label 0 of two classes with scores [x, 0]) for
    classification losses. ``loss`` has reduction "sum"."""
    name = loss.name
    d = _describe(name)
    x = np.asarray(x, dtype=np.float64)
    if tuple(d.get("input_domain", _REALS)) != _REALS:
        raise ValueError(f"loss {name!r} takes inputs {describe_interval(d['input_domain'])}"
                         f", not a value on [-5, 5]")
    if name in ROWWISE and d["arity"] != 2:
        raise ValueError(f"loss {name!r} compares arrays of embeddings: it has no curve over "
                         f"one score")
    if name in ROWWISE:
        s = np.stack([x, np.zeros_like(x)], axis=1)
        # a sample whose (first) class is the target
        labels = {"labels": np.zeros(len(x), dtype=np.int64),
                  "label_lists": np.tile(np.array([0, -1], dtype=np.int64), (len(x), 1)),
                  "values": np.tile(np.array([1.0, 0.0]), (len(x), 1))}[d["row_target"]]
        per = make_loss(name, "none", **_params(loss))(s, labels)
        g = loss.grad(s, labels)
        return np.asarray(per), g[:, 0]
    shape = (len(x), 1) if has_latent(loss) else (len(x),)
    xi = x.reshape(shape)
    # a positive example: target 1 (margin, probability, count), 0 for a residual
    t = np.full(shape, 0.0 if _target_kind(d) == "real" else 1.0)
    if _arity(loss) == 3:
        rest = _with_third(loss, xi, t, _third_like(loss, shape))
        v = make_loss(name, "none", **_params(loss))(xi, *rest)
        return np.asarray(v).reshape(-1), loss.grad(xi, *rest).reshape(-1)
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
    """Task and formula, plus properties measured on the curve over [-5, 5] (default params;
    a learned shape parameter at both ends of its range):
    convex (derivative non-decreasing), smooth (no jump of the derivative), bounded gradient
    (|derivative| stays below 100 out to |x| = 1e4: robust to outliers), symmetric."""
    d = _describe(name)
    out: dict[str, Any] = {"task": d["task"], "formula": d["formula"], "kind": d["family"],
                           "probabilistic": d["probabilistic"]}
    try:
        variants = _variants(name)
        measured = [_measure(loss) for loss in variants]
        # a property of the loss holds for every shape it can take (the adaptive loss's alpha
        # ranges over [alpha_lo, alpha_hi]: near 0 it is not convex, near 2 its gradient is
        # unbounded)
        for key in ("convex", "smooth", "bounded_gradient", "symmetric"):
            out[key] = all(m[key] for m in measured)
    except Exception as exc:  # a loss this table cannot drive: say so, do not fail `list`
        out["note"] = f"properties not measured: {exc}"
    return out


def _variants(name: str) -> list[Any]:
    """The loss with its default parameters, or at both ends of a learned shape parameter."""
    cls = _base._REGISTRY[name]
    sig = inspect.signature(cls.__init__).parameters
    if "alpha_lo" in sig and "alpha_hi" in sig and "alpha_init" in sig:
        lo, hi = sig["alpha_lo"].default, sig["alpha_hi"].default
        return [make_loss(name, "sum", alpha_init=a) for a in (lo + 1e-3, hi - 1e-3)]
    return [make_loss(name, "sum")]


def _measure(loss: Any) -> dict[str, bool]:
    out: dict[str, bool] = {}
    if True:
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
    return out


def sample(name: str, loss: Any, rng: np.random.Generator, n: int = 12, c: int = 4) -> dict[str, Any]:
    """Random arguments away from kinks for a gradient check: {"x": input, "args": rest}."""
    if name in ROWWISE:
        return _row_sample(_describe(name), rng, n, c)
    d = _describe(name)
    shape = (n, getattr(loss, "num_dims", 1)) if has_latent(loss) else (n,)
    x = rng.normal(0, 1.5, shape)
    if tuple(d.get("input_domain", _REALS)) != _REALS:  # probabilities
        x = rng.uniform(0.05, 0.95, shape)
    t = {"margin": lambda: rng.choice([-1.0, 1.0], shape),
         "probability": lambda: rng.uniform(0, 1, shape),
         "count": lambda: rng.poisson(2.0, shape).astype(np.float64),
         "positive": lambda: rng.gamma(2.0, 1.0, shape),
         "real": lambda: rng.normal(0, 1.5, shape)}[_target_kind(d)]()
    if _arity(loss) == 3:
        return {"x": x, "args": tuple(_with_third(loss, x, t, _third_like(loss, shape, rng)))}
    return {"x": x, "args": (t,)}


def _row_sample(d: dict[str, Any], rng: np.random.Generator, n: int, c: int) -> dict[str, Any]:
    """Arguments of a row-wise loss by its definition: scores (N, C) and the target its
    ``row_target`` names, or arrays of embeddings (the first, then its ``operands``)."""
    x = rng.normal(0, 1.5, (n, c))
    # other arrays of embeddings: near the first (a positive) or not (a negative)
    rows = [x + rng.normal(0, 0.5 + 1.5 * i, (n, c)) for i in range(len(d["operands"]))]
    kind = d["row_target"]
    if kind == "labels":
        target: tuple = (rng.integers(0, c, n).astype(np.int64),)
    elif kind == "label_lists":
        lists = np.full((n, c), -1, dtype=np.int64)
        for i in range(n):
            k = int(rng.integers(1, c))
            lists[i, :k] = rng.permutation(c)[:k]
        target = (lists,)
    elif kind == "values":
        target = ((rng.random((n, c)) < 0.4).astype(np.float64),)
    elif kind == "signs":
        target = (rng.choice([-1.0, 1.0], n),)
    else:
        target = ()
    return {"x": x, "args": (*rows, *target)}
