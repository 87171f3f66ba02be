r"""losskit's losses as XGBoost and LightGBM objectives and evaluation metrics.

Gradient boosting fits each tree to the first and second derivatives of the loss in the
booster's raw scores (margins). :class:`XGBObjective` and :class:`LGBMObjective` hand a
losskit loss's ``grad_hess`` to the booster in the shapes each library expects;
:class:`XGBMetric` and :class:`LGBMMetric` report the loss's weighted mean as an evaluation
metric. Every loss of the registry with one score per sample (``mse``, ``huber``,
``barron``, ``quantile``, ``bce_with_logits``, ...) or one score per class
(``cross_entropy``) can be boosted::

    import xgboost, losskit.gbdt
    obj = losskit.gbdt.XGBObjective("huber", delta=0.5)
    booster = xgboost.train({"base_score": obj.base_score(y)}, xgboost.DMatrix(X, y),
                            num_boost_round=100, obj=obj)

Both libraries are optional (``pip install 'losskit[gbdt]'``). ``import losskit`` never
imports either, and neither does ``import losskit.gbdt``: each class imports its library
when it is constructed, and raises ImportError naming the extra if it is missing.

Per sample, the objectives pass ``w * dl/dx`` and ``w * h`` (``w`` the sample weight, ``h``
the curvature chosen by ``hessian``), whatever reduction the given loss object has: boosting
needs per-sample derivatives, so the adapter works with the loss's ``reduction="sum"`` form.

Three conventions of the boosting libraries that a custom objective meets:

- **The intercept.** XGBoost (``base_score``) and LightGBM (``boost_from_average``) start a
  built-in objective from its best constant score; a custom objective starts from
  ``base_score=0.5`` (XGBoost) or 0 (LightGBM). :meth:`XGBObjective.base_score` and
  :meth:`LGBMObjective.init_score` give the loss's best constant (the root of its summed
  gradient) in the form each library reads; with them, boosting mse, bce_with_logits and
  cross_entropy through losskit gives the built-in models.
- **Squared error's scale.** losskit's ``mse`` is :math:`(x - y)^2` (PyTorch's), twice the
  :math:`\tfrac12 (x - y)^2` of ``reg:squarederror`` and LightGBM's ``regression``: its
  gradient and Hessian are twice theirs. Leaf values :math:`-G / (H + \lambda)` and split
  gains are then those of the built-in with half the regularisation, so the same model takes
  ``reg_lambda``, ``min_child_weight`` and ``gamma`` doubled in XGBoost (LightGBM's defaults,
  ``lambda_l2=0``, need no change).
- **Softmax curvature.** For ``cross_entropy`` under ``hessian="auto"`` the objectives use each
  library's own diagonal: XGBoost's ``multi:softprob`` takes :math:`\max(2 p (1 - p) w,
  10^{-16})`, LightGBM's ``multiclass`` :math:`\tfrac{K}{K-1} p (1 - p) w` (Friedman's
  multiclass factor). ``hessian="exact"`` gives :math:`p (1 - p) w`, the diagonal of the
  row's Hessian.
- **Kinks.** The IRLS curvature of a loss with an L1-type kink (``l1``, ``quantile``,
  ``epsilon_insensitive``, ``hinge``, ``perceptron``, ``smooth_l1`` with ``beta=0``) is
  :math:`c / d`, ``d`` the distance to the kink: unbounded. A sample at the kink (a residual of
  0, as at the weighted median a boosted quantile starts from) then outweighs every other
  sample of its leaf, whose value :math:`-G / H` stays near 0 round after round (the stall of
  Weiszfeld's iteration at a data point); LightGBM, which estimates a leaf's sample count from
  its Hessian sum, finds no split at all. Under ``hessian="auto"`` the objectives therefore
  cap the curvature at its weighted median over the samples, per round: the distance to the
  kink is floored at the median distance, which is the IRLS curvature of the loss smoothed
  Huber-like at that scale (the gradient is the loss's own). The cap follows the residuals'
  scale, so the model is unchanged by a rescaling of the targets. ``hessian="irls"`` hands
  the booster the plain majorizer curvature.
"""

from __future__ import annotations

import importlib
import math
from typing import Any

import numpy as np

from ._base import DEFINITIONS, Loss, RowwiseLoss, get_loss

__all__ = ["XGBObjective", "LGBMObjective", "XGBMetric", "LGBMMetric"]

HESSIAN_POLICIES = ("auto", "exact", "irls", "positive")
_INSTALL = "pip install 'losskit[gbdt]'"
# XGBoost's multi:softprob floors its Hessian at this value (src/objective/multiclass_obj.cu)
_XGB_SOFTMAX_HESSIAN_FLOOR = 1e-16
# A class absent from the labels has best score -inf; its probability is floored here (the
# floor LightGBM's multiclass objective applies to its initial class frequencies)
_CLASS_PROBABILITY_FLOOR = 1e-15
# XGBoost objectives whose base_score XGBObjective.base_score converts to, by the space the
# booster reads base_score in (checked against XGBoost 3.2's intercept estimation)
_XGB_BASE_SCORE_SPACE = {"reg:squarederror": "margin", "binary:logistic": "probability",
                         "multi:softprob": "class margins", "multi:softmax": "class margins"}
# Losses whose IRLS curvature is unbounded (an L1-type kink): hessian="auto" caps it at its
# weighted median per round (module docstring, "Kinks"). tests/test_gbdt.py checks this list
# against the curvature every registry loss offering "irls" gives near its kinks.
_KINKED = frozenset({"l1", "quantile", "epsilon_insensitive", "hinge", "perceptron",
                     "hinge_embedding"})


def _kinked(loss: Loss) -> bool:
    """Whether the loss's IRLS curvature is unbounded (an L1-type kink)."""
    params = loss.params
    if loss.name == "epsilon_insensitive":
        return not params.get("squared", False)
    if loss.name == "smooth_l1":
        return params.get("beta", 1.0) == 0
    return loss.name in _KINKED


def _weighted_median(v: np.ndarray, w: np.ndarray | None) -> float:
    """The lower weighted median of ``v`` (weights ``w``, ignoring zero weights)."""
    if w is not None:
        keep = w > 0
        v, w = v[keep], w[keep]
    if v.size == 0:
        return math.inf
    order = np.argsort(v, kind="stable")
    if w is None:
        return float(v[order[(v.size - 1) // 2]])
    cum = np.cumsum(w[order])
    return float(v[order[np.searchsorted(cum, 0.5 * cum[-1])]])


def _import(module: str, user: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"{user} needs {module}, which is not installed; install losskit's "
                          f"gradient boosting extra with `{_INSTALL}`") from exc


def _boosting_loss(loss: Any, params: dict[str, Any], reduction: str) -> Loss:
    """The loss as a new object with ``reduction``, after checking it can be boosted."""
    if isinstance(loss, str):
        base = get_loss(loss, **params)
    elif isinstance(loss, Loss):
        if params:
            raise TypeError("loss parameters are given with a registry name "
                            f"(XGBObjective('huber', delta=0.5)), not with a loss object; got "
                            f"{', '.join(params)} with {loss!r}")
        base = loss
    else:
        raise TypeError(f"loss must be a losskit Loss or a registry name, got "
                        f"{type(loss).__name__}")
    config = base.params
    definition = DEFINITIONS.get(getattr(base, "name", ""))
    if not isinstance(config, dict) or definition is None:
        raise ValueError(f"loss {base.name!r} learns parameters of its own and cannot be boosted; "
                         "use its fixed-shape counterpart (AdaptiveBarronLoss -> BarronLoss)")
    if definition["arity"] == 3:
        raise ValueError(f"loss {base.name!r} takes a third argument per sample "
                         f"({definition.get('third_name') or 'var'}), which a booster does not "
                         "provide")
    if reduction not in definition["reductions"]:
        raise ValueError(f"loss {base.name!r} has no reduction {reduction!r} (it offers "
                         f"{', '.join(definition['reductions'])})")
    return get_loss(base.name, **dict(config, reduction=reduction))


class _Adapter:
    """What the objectives and metrics share: the loss, labels and shapes."""

    _module: str

    def __init__(self, loss: Any, reduction: str, params: dict[str, Any]) -> None:
        self._loss = _boosting_loss(loss, params, reduction)
        definition = DEFINITIONS[self._loss.name]
        self._rowwise = isinstance(self._loss, RowwiseLoss)
        self._margin_targets = bool(definition["margin_targets"])
        self._real_targets = tuple(definition["target_domain"][:2]) == (-math.inf, math.inf)
        self._data_type = self._library_data_type()

    _data_class: str

    def _library_data_type(self) -> type:
        """The boosting library's data class (DMatrix, Dataset): imported on construction."""
        return getattr(_import(self._module, type(self).__name__), self._data_class)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        del state["_data_type"]  # a class of the boosting library: looked up again on load
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._data_type = self._library_data_type()

    @property
    def loss(self) -> Loss:
        """The loss the booster sees (its ``reduction="sum"`` form for objectives)."""
        return self._loss

    def _is_data(self, obj: Any) -> bool:
        return isinstance(obj, self._data_type)

    def _labels(self, y: Any, name: str, n_classes: int | None) -> np.ndarray:
        """Targets as the loss reads them: class indices for row-wise losses, +-1 for margin
        losses given the booster's {0, 1} classes, floats otherwise."""
        y = np.asarray(y)
        if y.dtype.kind not in "biuf":
            raise TypeError(f"{name} must hold numbers, got dtype {y.dtype}")
        if self._rowwise:
            if y.ndim != 1:
                raise ValueError(f"{name} must hold one class index per sample for "
                                 f"{self._loss.name}, got shape {y.shape}")
            if y.size and not np.all(y == np.floor(y)):
                raise ValueError(f"{name} must hold integer class indices for {self._loss.name}")
            labels = y.astype(np.int64)
            if n_classes is not None and labels.size and (labels.min() < 0
                                                          or labels.max() >= n_classes):
                raise ValueError(f"{name} must hold class indices in [0, {n_classes}) for a "
                                 f"{n_classes}-class booster, got values in "
                                 f"[{labels.min()}, {labels.max()}]")
            return labels
        y = y.astype(np.float64)
        if self._margin_targets and y.size:
            if np.all((y == 0) | (y == 1)):
                return 2.0 * y - 1.0  # the booster's classes {0, 1} -> the loss's -1, +1
            if not np.all((y == -1) | (y == 1)):
                raise ValueError(f"{name} must hold the classes 0/1 or -1/+1 for "
                                 f"{self._loss.name}")
        return y

    def _arrays(self, pred: Any, y: Any, weight: Any,
                names: tuple[str, str]) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Scores (float64, C order), targets and weights, checked against each other."""
        pred_name, label_name = names
        pred = np.asarray(pred)
        if pred.dtype.kind not in "biuf":
            raise TypeError(f"{pred_name} must hold real scores, got dtype {pred.dtype}")
        y = np.asarray(y)
        if self._rowwise:
            if pred.ndim != 2 or pred.shape[1] < 2:
                raise ValueError(
                    f"{pred_name} has shape {pred.shape}, but {self._loss.name} scores every "
                    f"class: it needs a multiclass booster ({self._classes_hint}) giving "
                    "(n_samples, n_classes) scores")
            labels = self._labels(y, label_name, pred.shape[1])
        else:
            labels = self._labels(y, label_name, None)
            if pred.ndim == 2 and pred.shape[1] > 1:
                if labels.size != pred.size:
                    raise ValueError(
                        f"{pred_name} has shape {pred.shape}: the booster gives {pred.shape[1]} "
                        f"scores per sample, but {self._loss.name} takes one score per target; "
                        f"{label_name} has {labels.size} values (a multiclass loss such as "
                        "cross_entropy takes one score per class)")
                labels = labels.reshape(pred.shape)
            elif pred.ndim > 2:
                raise ValueError(f"{pred_name} must be 1-D or 2-D, got shape {pred.shape}")
            elif pred.ndim == 2:  # (n, 1)
                labels = labels.reshape(pred.shape)
        n = pred.shape[0] if pred.ndim else 0
        if pred.ndim == 0 or labels.shape[0] != n:
            raise ValueError(f"{pred_name} has shape {pred.shape} but {label_name} has "
                             f"{labels.shape[0] if labels.ndim else 0} samples")
        w = None
        if weight is not None:
            w = np.asarray(weight, dtype=np.float64)
            if w.size == 0:  # a DMatrix / Dataset without weights
                w = None
            elif w.shape != (n,):
                raise ValueError(f"the sample weights have shape {w.shape}, expected ({n},)")
        return np.ascontiguousarray(pred, dtype=np.float64), labels, w

    _classes_hint = "num_class"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._loss!r})"


class _ObjectiveBase(_Adapter):
    """An objective: the loss's gradient and the curvature chosen by ``hessian``."""

    def __init__(self, loss: Any, hessian: str = "auto", **params: Any) -> None:
        if not isinstance(hessian, str) or hessian not in HESSIAN_POLICIES:
            raise ValueError(f"hessian must be one of {', '.join(HESSIAN_POLICIES)}; "
                             f"got {hessian!r}")
        super().__init__(loss, "sum", params)
        offered = tuple(self._loss.hessians)
        if hessian != "auto" and hessian not in offered:
            raise ValueError(f"hessian={hessian!r} is not offered by {self._loss.name}; it "
                             f"offers {', '.join(offered)} (and 'auto', which is "
                             f"{offered[0]!r})")
        self._hessian = hessian
        self._policy = offered[0] if hessian == "auto" else hessian
        # unbounded IRLS curvature under "auto": capped at its weighted median (module docstring)
        self._median_cap = hessian == "auto" and self._policy == "irls" and _kinked(self._loss)
        # the library's own softmax curvature (module docstring) under "auto"
        self._softmax_convention = hessian == "auto" and self._loss.name == "cross_entropy"

    @property
    def hessian(self) -> str:
        """The policy asked for: "auto", "exact", "irls" or "positive"."""
        return self._hessian

    @property
    def policy(self) -> str:
        """The loss's Hessian policy this objective uses ("auto" resolved)."""
        return self._policy

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._loss!r}, hessian={self._hessian!r})"

    def __eq__(self, other: object) -> bool:
        return (type(self) is type(other) and self._loss == other._loss  # type: ignore[attr-defined]
                and self._hessian == other._hessian)  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self), self._loss, self._hessian))

    def _softmax_curvature(self, h: np.ndarray) -> np.ndarray:
        return h

    def _grad_hess(self, pred: Any, y: Any, weight: Any,
                   names: tuple[str, str]) -> tuple[np.ndarray, np.ndarray]:
        x, labels, w = self._arrays(pred, y, weight, names)
        if self._median_cap:
            g, h = self._loss.grad_hess(x, labels, hessian=self._policy)
            if h.ndim == 1:
                np.minimum(h, _weighted_median(h, w), out=h)
            else:  # one score per target: each target's own residual scale
                for j in range(h.shape[1]):
                    np.minimum(h[:, j], _weighted_median(h[:, j], w), out=h[:, j])
            if w is not None:
                g *= w[:, None] if g.ndim == 2 else w
                h *= w[:, None] if h.ndim == 2 else w
            return g, h
        g, h = self._loss.grad_hess(x, labels, sample_weight=w, hessian=self._policy)
        if self._softmax_convention:
            h = self._softmax_curvature(h)
        return g, h

    def optimal_constant(self, y: Any, sample_weight: Any = None,
                         n_classes: int | None = None) -> float | np.ndarray:
        """The constant score that minimises the weighted loss over the targets ``y``.

        For a loss with one score per sample, the root of the summed gradient
        :math:`\\sum_i w_i \\, \\partial l(c, y_i) / \\partial c` (a safeguarded Newton
        iteration on the loss's own ``grad_hess``: the weighted mean for mse, the logit of
        the weighted mean for bce_with_logits, the weighted median for l1). Regression losses
        start at the weighted median, so a non-convex loss (Barron with alpha < 1) takes the
        root nearest the bulk of the data.

        For cross_entropy, the vector of class scores :math:`c_k = \\log p_k - \\frac1K
        \\sum_j \\log p_j` (centred: softmax ignores a common shift) with :math:`p` the
        minimiser, the weighted class frequencies for plain labels (class weights and label
        smoothing included, read from the loss's derivatives at zero scores); an absent class
        gets :math:`p_k = 10^{-15}`.

        Parameters
        ----------
        y : array_like of shape (n_samples,)
            The training targets (class indices for cross_entropy).
        sample_weight : array_like of shape (n_samples,), optional
            Non-negative sample weights.
        n_classes : int, optional
            The booster's class count (cross_entropy only; default ``max(y) + 1``).

        Returns
        -------
        float or ndarray of shape (n_classes,)
        """
        if self._rowwise:
            labels = self._labels(y, "y", n_classes)
            k = int(labels.max()) + 1 if n_classes is None and labels.size else n_classes
            if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 2:
                raise ValueError(f"n_classes must be an integer >= 2, got {n_classes!r}")
            return self._class_scores(labels, int(k), sample_weight)
        labels = self._labels(y, "y", None).reshape(-1)
        _, labels, w = self._arrays(np.zeros(labels.shape), labels, sample_weight, ("y", "y"))
        if labels.size == 0 or (w is not None and not np.any(w > 0)):
            raise ValueError("y must hold at least one sample of positive weight")
        return self._root(labels, w)

    def _class_scores(self, labels: np.ndarray, k: int, weight: Any) -> np.ndarray:
        # At constant scores every cross-entropy gradient row is a_i p - b_i with b_i summing
        # to a_i (the row's total weight: sample weight, class weight, smoothing), and the
        # exact Hessian diagonal a_i p (1 - p). At p = 1/K the Hessian sums to A (K-1)/K^2 per
        # class, A = sum a_i; the gradient sums to A/K - B; the minimiser is p = B / A.
        x, labels, w = self._arrays(np.zeros((labels.size, k)), labels, weight, ("y", "y"))
        g, h = self._loss.grad_hess(x, labels, sample_weight=w, hessian="exact")
        total = float(h.sum()) * k / (k - 1)
        if not total > 0:
            raise ValueError("y must hold at least one sample of positive weight")
        p = 1.0 / k - g.sum(axis=0) / total
        scores = np.log(np.maximum(p, _CLASS_PROBABILITY_FLOOR))
        return scores - scores.mean()

    def _root(self, y: np.ndarray, w: np.ndarray | None) -> float:
        n = y.size
        ones = np.ones(n) if w is None else w
        if self._real_targets:  # regression: start at the weighted median
            order = np.argsort(y, kind="stable")
            cum = np.cumsum(ones[order])
            c = float(y[order][np.searchsorted(cum, 0.5 * cum[-1])])
        else:
            c = 0.0
        x = np.empty(n)
        lo, hi = -math.inf, math.inf
        last_step = math.inf
        for _ in range(300):
            x.fill(c)
            g, h = self._loss.grad_hess(x, y, sample_weight=w, hessian=self._policy)
            s, curvature = math.fsum(g), math.fsum(h)
            if s == 0.0 or not math.isfinite(s):
                return c
            if s > 0:
                hi = c
            else:
                lo = c
            step = -s / curvature if curvature > 0 else math.nan
            candidate = c + step
            # Newton while it stays inside the bracket and at least halves its step;
            # otherwise bisect (or widen an open bracket), so the iteration always ends
            if not (lo < candidate < hi and abs(step) <= 0.5 * last_step):
                if math.isinf(lo):
                    candidate = hi - max(1.0, 2.0 * abs(hi))
                elif math.isinf(hi):
                    candidate = lo + max(1.0, 2.0 * abs(lo))
                else:
                    candidate = 0.5 * (lo + hi)
                step = candidate - c
            if abs(step) <= 2.0 * np.finfo(np.float64).eps * abs(c) or candidate == c:
                return candidate
            if math.isfinite(lo) and math.isfinite(hi) and hi - lo <= 4.0 * np.finfo(
                    np.float64).eps * max(abs(lo), abs(hi)):
                return 0.5 * (lo + hi)
            last_step = abs(step)
            c = candidate
        return c


class XGBObjective(_ObjectiveBase):
    r"""A losskit loss as an XGBoost custom objective.

    The instance is the callable XGBoost calls once per boosting round, in either of its two
    forms:

    - ``xgboost.train(params, dtrain, obj=objective)``: ``objective(predt, dtrain)`` with the
      raw margins ``predt`` and the training ``DMatrix`` (labels and weights read from it);
    - ``XGBRegressor(objective=objective)`` / ``XGBClassifier(objective=objective)``:
      ``objective(y_true, y_pred, sample_weight=None)``.

    It returns ``(grad, hess)`` in ``predt``'s shape: ``(n_samples,)``, or
    ``(n_samples, n_classes)`` for cross_entropy (set ``num_class``), or ``(n_samples,
    n_targets)`` for a multi-target regression. Per sample :math:`g_i = w_i \, \partial
    l / \partial x_i` and :math:`h_i = w_i \, \partial^2 l / \partial x_i^2` under the
    chosen Hessian policy.

    Parameters
    ----------
    loss : Loss or str
        A losskit loss, or a registry name (``losskit.available_losses()``) constructed with
        ``params``. Its reduction does not matter (the objective uses the loss's
        ``reduction="sum"`` form: per-sample derivatives).
    hessian : {"auto", "exact", "irls", "positive"}, default "auto"
        The curvature handed to XGBoost. "auto" is the loss's first policy
        (``loss.hessians[0]``: "exact" where that is positive, "irls" for robust losses whose
        second derivative vanishes or turns negative: huber, l1, quantile, barron, ...), and
        for cross_entropy XGBoost's own ``multi:softprob`` diagonal
        :math:`\max(2 p (1 - p) w, 10^{-16})`; for a loss with an L1-type kink (l1,
        quantile, hinge, ...) the IRLS curvature capped at its weighted median (module
        docstring, "Kinks"). "exact" is :math:`\partial^2 l / \partial
        x^2` (:math:`p (1 - p)` for cross_entropy), "irls" :math:`l'(r) / r`, "positive"
        max(exact, tiny).
    **params
        The loss's parameters, when ``loss`` is a name.

    Notes
    -----
    With a custom objective XGBoost does not estimate the intercept: the model starts from
    ``base_score`` (0.5 unless set). Pass ``base_score=objective.base_score(y, w)`` to start
    from the loss's best constant, as the built-in objectives do. losskit's mse is
    :math:`(x - y)^2`, twice XGBoost's squared error: the same model as
    ``reg:squarederror`` takes ``reg_lambda``, ``min_child_weight`` and ``gamma`` doubled.
    ``XGBClassifier`` runs a custom objective under ``binary:logistic`` or
    ``multi:softprob``, so ``predict_proba`` applies the sigmoid or the softmax; with
    ``xgboost.train``, predict with ``output_margin=True``.

    Examples
    --------
    >>> import numpy as np, xgboost, losskit.gbdt
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3)); y = X[:, 0] + rng.standard_cauchy(200)
    >>> obj = losskit.gbdt.XGBObjective("huber", delta=1.0)
    >>> obj.policy
    'irls'
    >>> booster = xgboost.train({"base_score": obj.base_score(y), "nthread": 1},
    ...                         xgboost.DMatrix(X, y), num_boost_round=10, obj=obj)
    >>> booster.predict(xgboost.DMatrix(X), output_margin=True).shape
    (200,)
    """

    _module = "xgboost"
    _data_class = "DMatrix"

    def __call__(self, predt: Any, dtrain: Any,
                 sample_weight: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """``(grad, hess)``; the arguments are ``(predt, dtrain)`` or ``(y_true, y_pred[,
        sample_weight])``."""
        if self._is_data(dtrain):
            if sample_weight is not None:
                raise TypeError("sample_weight goes with (y_true, y_pred); with (predt, dtrain) "
                                "the weights are the DMatrix's")
            return self._grad_hess(predt, dtrain.get_label(), dtrain.get_weight(),
                                   ("predt", "the DMatrix's labels"))
        return self._grad_hess(dtrain, predt, sample_weight, ("y_pred", "y_true"))

    def _softmax_curvature(self, h: np.ndarray) -> np.ndarray:
        h *= 2.0
        return np.maximum(h, _XGB_SOFTMAX_HESSIAN_FLOOR, out=h)

    def base_score(self, y: Any, sample_weight: Any = None,
                   objective: str | None = None) -> float | list[float]:
        """The ``base_score`` parameter that starts boosting from the loss's best constant.

        XGBoost reads ``base_score`` through the link of the booster's ``objective``
        parameter (the one a custom objective runs under): as a margin for
        ``reg:squarederror`` (the default of ``xgboost.train`` and ``XGBRegressor``), as a
        probability for ``binary:logistic`` (``XGBClassifier`` with two classes), as one
        margin per class for ``multi:softprob`` / ``multi:softmax`` (``XGBClassifier`` with
        more, or ``xgboost.train`` with ``num_class``).

        Parameters
        ----------
        y : array_like of shape (n_samples,)
            The training targets.
        sample_weight : array_like of shape (n_samples,), optional
            The training sample weights.
        objective : str, optional
            The booster's ``objective`` parameter: "reg:squarederror", "binary:logistic",
            "multi:softprob" or "multi:softmax". Default: "multi:softprob" for
            cross_entropy, else "reg:squarederror".

        Returns
        -------
        float or list of float
            :meth:`optimal_constant` in that space (a list for the multiclass objectives).
        """
        if objective is None:
            objective = "multi:softprob" if self._rowwise else "reg:squarederror"
        space = _XGB_BASE_SCORE_SPACE.get(objective) if isinstance(objective, str) else None
        if space is None:
            raise ValueError(f"objective must be one of {', '.join(_XGB_BASE_SCORE_SPACE)}; "
                             f"got {objective!r}")
        if (space == "class margins") != self._rowwise:
            raise ValueError(f"objective {objective!r} does not go with {self._loss.name} "
                             f"({'one score per class' if self._rowwise else 'one score per sample'})")
        c = self.optimal_constant(y, sample_weight)
        if space == "class margins":
            return [float(v) for v in np.asarray(c)]
        if space == "probability":
            return float(1.0 / (1.0 + math.exp(-c))) if c >= 0 else float(
                math.exp(c) / (1.0 + math.exp(c)))
        return float(c)


class LGBMObjective(_ObjectiveBase):
    r"""A losskit loss as a LightGBM custom objective.

    The instance is the callable LightGBM calls once per boosting round, in either of its two
    forms:

    - ``lightgbm.train({"objective": objective, ...}, train_set)``: ``objective(preds,
      train_data)`` with the raw scores and the training ``Dataset``;
    - ``LGBMRegressor(objective=objective)`` / ``LGBMClassifier(objective=objective)``:
      ``objective(y_true, y_pred, weight)``.

    It returns ``(grad, hess)`` in ``preds``' shape: ``(n_samples,)``, or ``(n_samples,
    n_classes)`` for cross_entropy (set ``num_class``). Per sample :math:`g_i = w_i \,
    \partial l / \partial x_i` and :math:`h_i = w_i \, \partial^2 l / \partial x_i^2` under
    the chosen Hessian policy.

    Parameters
    ----------
    loss : Loss or str
        A losskit loss, or a registry name constructed with ``params``. Its reduction does not
        matter (the objective uses the loss's ``reduction="sum"`` form).
    hessian : {"auto", "exact", "irls", "positive"}, default "auto"
        The curvature handed to LightGBM. "auto" is the loss's first policy
        (``loss.hessians[0]``), and for cross_entropy LightGBM's own ``multiclass`` diagonal
        :math:`\frac{K}{K-1} p (1 - p) w`; for a loss with an L1-type kink (l1, quantile,
        hinge, ...) the IRLS curvature capped at its weighted median (module docstring,
        "Kinks"). "exact" is :math:`\partial^2 l / \partial x^2`
        (:math:`p (1 - p)` for cross_entropy), "irls" :math:`l'(r) / r`, "positive"
        max(exact, tiny).
    **params
        The loss's parameters, when ``loss`` is a name.

    Notes
    -----
    LightGBM's ``boost_from_average`` applies to built-in objectives only: a custom objective
    starts from 0 unless the data carries an ``init_score``. Pass
    ``init_score=objective.init_score(y, w)`` to the ``Dataset`` (or to ``fit``) to start from
    the loss's best constant, as the built-ins do; LightGBM does not store it in the model,
    so add ``objective.optimal_constant(y, w)`` to ``predict(X, raw_score=True)``, and give
    every validation set the same constant (``Dataset(..., init_score=objective.init_score(
    y_valid))``, ``fit(..., eval_init_score=[...])``) or its metrics read scores without it.
    With a custom objective ``LGBMClassifier.predict_proba`` returns raw scores. LightGBM
    estimates a leaf's sample count from its Hessian sum (``min_data_in_leaf``), which assumes
    roughly even curvatures: ``hessian="exact"`` or ``"positive"`` for a robust loss (zero
    curvature beyond huber's ``delta``, 0 everywhere for quantile) finds no split, and a
    plain ``"irls"`` for a kinked loss may not either; ``"auto"`` avoids both.

    Examples
    --------
    >>> import numpy as np, lightgbm, losskit.gbdt
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3)); y = X[:, 0] + rng.standard_cauchy(200)
    >>> obj = losskit.gbdt.LGBMObjective("pseudo_huber", delta=1.0)
    >>> data = lightgbm.Dataset(X, y, init_score=obj.init_score(y))
    >>> booster = lightgbm.train({"objective": obj, "verbose": -1, "num_threads": 1}, data,
    ...                          num_boost_round=10)
    >>> (booster.predict(X) + obj.optimal_constant(y)).shape
    (200,)
    """

    _module = "lightgbm"
    _data_class = "Dataset"
    _classes_hint = "num_class"

    def __call__(self, preds: Any, train_data: Any,
                 weight: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """``(grad, hess)``; the arguments are ``(preds, train_data)`` or ``(y_true, y_pred[,
        weight])``."""
        if self._is_data(train_data):
            if weight is not None:
                raise TypeError("weight goes with (y_true, y_pred); with (preds, train_data) "
                                "the weights are the Dataset's")
            return self._grad_hess(preds, train_data.get_label(), train_data.get_weight(),
                                   ("preds", "the Dataset's labels"))
        return self._grad_hess(train_data, preds, weight, ("y_pred", "y_true"))

    def _softmax_curvature(self, h: np.ndarray) -> np.ndarray:
        k = h.shape[1]
        h *= k / (k - 1.0)
        return h

    def init_score(self, y: Any, sample_weight: Any = None,
                   n_classes: int | None = None) -> np.ndarray:
        """The ``init_score`` that starts boosting from the loss's best constant.

        Parameters
        ----------
        y : array_like of shape (n_samples,)
            The training targets.
        sample_weight : array_like of shape (n_samples,), optional
            The training sample weights.
        n_classes : int, optional
            The booster's class count (cross_entropy only; default ``max(y) + 1``).

        Returns
        -------
        ndarray of shape (n_samples,), or (n_samples, n_classes) for cross_entropy
            :meth:`optimal_constant` repeated for every sample.
        """
        c = self.optimal_constant(y, sample_weight, n_classes)
        n = np.shape(y)[0]
        if self._rowwise:
            return np.tile(np.asarray(c), (n, 1))
        return np.full(n, c)


class _MetricBase(_Adapter):
    """An evaluation metric: the loss's weighted mean over the evaluation set."""

    def __init__(self, loss: Any, **params: Any) -> None:
        super().__init__(loss, "mean", params)
        self.__name__ = self._loss.name  # the name the libraries log the metric under

    @property
    def name(self) -> str:
        """The metric's name in the training log (the loss's registry name)."""
        return self._loss.name

    def _value(self, pred: Any, y: Any, weight: Any, names: tuple[str, str]) -> float:
        x, labels, w = self._arrays(pred, y, weight, names)
        return float(self._loss(x, labels, sample_weight=w))

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self._loss == other._loss  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self), self._loss))


class XGBMetric(_MetricBase):
    r"""A losskit loss as an XGBoost evaluation metric: its weighted mean.

    .. math::
        \mathrm{value} = \frac{\sum_i w_i \, l(x_i, y_i)}{\sum_i w_i}

    (the loss's ``reduction="mean"``; without weights the plain mean). Lower is better.

    - ``xgboost.train(..., custom_metric=metric)``: ``metric(predt, dmatrix)`` returns
      ``(name, value)``;
    - ``XGBRegressor(eval_metric=metric)`` / ``XGBClassifier(eval_metric=metric)``:
      ``metric(y_true, y_pred, sample_weight=None)`` returns ``value``.

    Parameters
    ----------
    loss : Loss or str
        A losskit loss, or a registry name constructed with ``params``.
    **params
        The loss's parameters, when ``loss`` is a name.

    Notes
    -----
    The loss reads raw margins. XGBoost passes margins to a custom metric when the objective is
    custom (an :class:`XGBObjective`); with a built-in objective it passes transformed
    predictions (probabilities for ``binary:logistic``), which a margin loss would misread.

    Examples
    --------
    >>> import numpy as np, xgboost, losskit.gbdt
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3)); y = X[:, 0] + rng.normal(size=200)
    >>> dtrain = xgboost.DMatrix(X, y)
    >>> log = {}
    >>> booster = xgboost.train({"nthread": 1, "disable_default_eval_metric": 1}, dtrain, 5,
    ...                         obj=losskit.gbdt.XGBObjective("huber"),
    ...                         custom_metric=losskit.gbdt.XGBMetric("huber"),
    ...                         evals=[(dtrain, "train")], evals_result=log, verbose_eval=False)
    >>> len(log["train"]["huber"])
    5
    """

    _module = "xgboost"
    _data_class = "DMatrix"

    def __call__(self, predt: Any, dmatrix: Any, sample_weight: Any = None) -> Any:
        """``(name, value)`` for ``(predt, dmatrix)``; ``value`` for ``(y_true, y_pred[,
        sample_weight])``."""
        if self._is_data(dmatrix):
            if sample_weight is not None:
                raise TypeError("sample_weight goes with (y_true, y_pred); with (predt, dmatrix) "
                                "the weights are the DMatrix's")
            return self._loss.name, self._value(predt, dmatrix.get_label(), dmatrix.get_weight(),
                                                ("predt", "the DMatrix's labels"))
        return self._value(dmatrix, predt, sample_weight, ("y_pred", "y_true"))


class LGBMMetric(_MetricBase):
    r"""A losskit loss as a LightGBM evaluation metric: its weighted mean.

    .. math::
        \mathrm{value} = \frac{\sum_i w_i \, l(x_i, y_i)}{\sum_i w_i}

    (the loss's ``reduction="mean"``; without weights the plain mean). Lower is better: the
    metric returns ``is_higher_better=False``.

    - ``lightgbm.train(..., feval=metric)``: ``metric(preds, eval_data)``;
    - ``LGBMRegressor(...).fit(..., eval_metric=metric)``: ``metric(y_true, y_pred,
      weight)``;

    both return ``(name, value, False)``.

    Parameters
    ----------
    loss : Loss or str
        A losskit loss, or a registry name constructed with ``params``.
    **params
        The loss's parameters, when ``loss`` is a name.

    Notes
    -----
    The loss reads raw scores. LightGBM passes raw scores to ``feval`` when the objective is
    custom (an :class:`LGBMObjective`); with a built-in objective it passes transformed
    predictions (probabilities for ``binary``), which a margin loss would misread.

    Examples
    --------
    >>> import numpy as np, lightgbm, losskit.gbdt
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3)); y = X[:, 0] + rng.normal(size=200)
    >>> data = lightgbm.Dataset(X, y)
    >>> log = {}
    >>> booster = lightgbm.train({"objective": losskit.gbdt.LGBMObjective("huber"),
    ...                           "metric": "None", "verbose": -1, "num_threads": 1}, data, 5,
    ...                          valid_sets=[data], valid_names=["train"],
    ...                          feval=losskit.gbdt.LGBMMetric("huber"),
    ...                          callbacks=[lightgbm.record_evaluation(log)])
    >>> len(log["train"]["huber"])
    5
    """

    _module = "lightgbm"
    _data_class = "Dataset"

    def __call__(self, preds: Any, eval_data: Any, weight: Any = None) -> tuple[str, float, bool]:
        """``(name, value, False)`` for ``(preds, eval_data)`` or ``(y_true, y_pred[,
        weight])``."""
        if self._is_data(eval_data):
            if weight is not None:
                raise TypeError("weight goes with (y_true, y_pred); with (preds, eval_data) "
                                "the weights are the Dataset's")
            return (self._loss.name, self._value(preds, eval_data.get_label(),
                                                 eval_data.get_weight(),
                                                 ("preds", "the Dataset's labels")), False)
        return self._loss.name, self._value(eval_data, preds, weight, ("y_pred", "y_true")), False
