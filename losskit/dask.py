"""losskit over dask arrays: losses, gradients and curvatures of data that does not fit in
memory, computed chunk by chunk on dask's workers.

Every function takes a losskit loss and dask (or NumPy) arrays and returns lazy dask arrays.
A reduced value is the sum of per-chunk float64 partial sums (and, for ``"mean"``, of the
per-chunk weight totals), added in chunk order in one final task: the same chunks give the
same bits on any scheduler and any number of workers, and a float64 value agrees with the
in-memory NumPy call to about 1e-15 relative. Gradients of a ``"mean"`` are the per-chunk
``"sum"`` gradients times one over the total weight.

Arrays need not share chunks: the target, a third argument and the weights are rechunked to
the input's chunks (and a row-wise loss's class axis to one chunk). Chunk sizes must be known
(``x.compute_chunk_sizes()`` after boolean indexing). Errors in the arguments (shapes,
dtypes, unknown chunks, reductions) are raised before any task runs; errors in the values
(a negative weight, a label out of range) by the chunk's task, as the in-memory call would.

Examples
--------
>>> import dask.array as da, numpy as np, losskit, losskit.dask
>>> x = da.from_array(np.linspace(-3.0, 3.0, 1000), chunks=250)
>>> y = da.zeros(1000, chunks=400)                  # other chunks: rechunked to x's
>>> value, grad = losskit.dask.value_and_grad(losskit.HuberLoss(), x, y)
>>> bool(np.isclose(value.compute(), losskit.HuberLoss()(np.linspace(-3.0, 3.0, 1000), np.zeros(1000))))
True
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np

try:
    import dask
    import dask.array as da
except ImportError as exc:  # pragma: no cover - the extra is missing
    raise ImportError("losskit.dask needs dask: pip install 'losskit[dask]'") from exc

from . import _base, _solvers
from ._validation import check_hessian

__all__ = ["value", "grad", "value_and_grad", "grad_hess", "glm_family"]


# ---- arguments ------------------------------------------------------------------------------
def _numeric(name: str, a: Any) -> da.Array:
    if not isinstance(a, da.Array):
        a = np.asarray(a)
    if a.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be a numeric array, got dtype {a.dtype}")
    if isinstance(a, da.Array) and any(math.isnan(c) for chunks in a.chunks for c in chunks):
        raise ValueError(f"{name} has chunks of unknown size; call {name}.compute_chunk_sizes() "
                         f"first")
    return a


def _aligned(name: str, a: Any, like: da.Array) -> da.Array:
    """``a`` as a dask array of ``like``'s shape and chunks."""
    a = _numeric(name, a)
    if a.shape != like.shape:
        raise ValueError(f"{name} must have the input's shape {like.shape}, got {a.shape}")
    if not isinstance(a, da.Array):
        return da.from_array(a, chunks=like.chunks)
    return a if a.chunks == like.chunks else a.rechunk(like.chunks)


def _rows_aligned(name: str, a: Any, like: da.Array) -> da.Array:
    """``a`` (one entry or row per sample) chunked along axis 0 as ``like``, whole otherwise."""
    a = _numeric(name, a)
    if a.ndim == 0 or a.shape[0] != like.shape[0]:
        raise ValueError(f"{name} must have one entry per sample ({like.shape[0]}), got shape "
                         f"{a.shape}")
    chunks = (like.chunks[0],) + tuple((n,) for n in a.shape[1:])
    if not isinstance(a, da.Array):
        return da.from_array(a, chunks=chunks)
    return a if a.chunks == chunks else a.rechunk(chunks)


class _Call:
    """One loss call over dask arrays, checked: the loss with reduction "sum" (what every
    chunk computes), the reduction asked for, and the arguments chunked alike."""

    def __init__(self, loss: Any, input: Any, target: Any, extra: tuple[Any, ...],
                 sample_weight: Any) -> None:
        if not isinstance(loss, _base.Loss):
            raise TypeError(f"loss must be a losskit loss, got {type(loss).__name__}")
        self.reduction = getattr(loss, "reduction", "mean")
        self.rowwise = isinstance(loss, _base.RowwiseLoss)
        x = _numeric("input", input)
        if not isinstance(x, da.Array):
            x = da.from_array(x)
        if x.dtype.kind != "f":
            x = x.astype(np.float64)
        if self.rowwise:
            if x.ndim != 2:
                raise ValueError(f"input of a row-wise loss must be 2-D (N, C), got shape {x.shape}")
            if len(x.chunks[1]) != 1:
                x = x.rechunk({1: -1})  # a row's classes are one chunk
            t = _numeric("target", target)
            t = _rows_aligned("target", t, x) if t.ndim == 1 else _aligned("target", t, x)
        else:
            t = _aligned("target", target, x)
        self.extra = tuple(_aligned(f"argument {i + 3}", e, x) for i, e in enumerate(extra))
        w = None
        if sample_weight is not None:
            w = _numeric("sample_weight", sample_weight)
            if self.rowwise or w.shape != x.shape:
                w = _rows_aligned("sample_weight", w, x)
                if w.ndim != 1:
                    raise ValueError(f"sample_weight must have shape ({x.shape[0]},) or the "
                                     f"input's shape {x.shape}, got {w.shape}")
                if not self.rowwise:
                    # per sample: broadcast over the other axes, chunked as the input
                    w = da.broadcast_to(w.reshape((-1,) + (1,) * (x.ndim - 1)), x.shape,
                                        chunks=x.chunks)
            else:
                w = _aligned("sample_weight", w, x)
        self.x, self.t, self.w = x, t, w
        self.per_sample = 1 if x.ndim == 0 else int(np.prod(x.shape[1:], dtype=np.int64))
        self.summing = copy.deepcopy(loss)
        if self.reduction != "none":
            self.summing.reduction = "sum"

    def blocks(self) -> list[tuple[Any, ...]]:
        """Per block of the input, in C order: the delayed (input, target, extra..., weight)."""
        xs = self.x.to_delayed().ravel()
        ts = self.t.to_delayed().ravel()
        es = [e.to_delayed().ravel() for e in self.extra]
        ws = self.w.to_delayed().ravel() if self.w is not None else [None] * len(xs)
        return [(xs[i], ts[i], *[e[i] for e in es], ws[i]) for i in range(len(xs))]

    def denominator(self) -> float:
        """What the total weight is divided by to give the mean's denominator."""
        return float(self.per_sample) if self.reduction == "batchmean" else 1.0


# ---- the per-chunk tasks --------------------------------------------------------------------
def _chunk_sums(loss: Any, x: np.ndarray, t: np.ndarray, *rest: Any) -> np.ndarray:
    """[sum of the weighted losses, total weight] of one chunk, in float64."""
    *extra, w = rest
    value = float(loss(x, t, *extra, sample_weight=w))
    if isinstance(loss, _base.RowwiseLoss):  # the kernel's own denominator (class-weighted labels)
        total = loss._mean_denominator(x, t, *extra, sample_weight=w)
    else:
        total = float(x.size) if w is None else float(np.sum(w, dtype=np.float64))
    return np.array([value, total])


def _sum_in_order(parts: list[Any]) -> Any:
    """The sum of per-chunk partials (arrays or the solvers' sums) in chunk order, whatever
    order the tasks finished in: the same bits on any scheduler."""
    total = parts[0]
    for p in parts[1:]:
        total = total + p
    return total


def _first(sums: np.ndarray) -> float:
    return float(sums[0])


def _mean(sums: np.ndarray, per_unit: float) -> float:
    # 0/0 is NaN, as the in-memory mean of nothing
    return float(sums[0] / (sums[1] / per_unit)) if sums[1] else math.nan


def _inverse_total(sums: np.ndarray, per_unit: float) -> float:
    return per_unit / float(sums[1]) if sums[1] else math.nan


def _chunk_call(loss: Any, mode: str, factor: Any, x: np.ndarray, t: np.ndarray,
                *rest: Any) -> Any:
    """One chunk's per-element values ("value"), gradient ("grad") or gradient and curvature
    (a Hessian policy), times ``factor`` (one over a mean's total weight) when given."""
    *extra, w = rest
    if mode == "value":
        out = loss(x, t, *extra, sample_weight=w)
    elif mode == "grad":
        out = loss.grad(x, t, *extra, sample_weight=w)
    else:
        out = loss.grad_hess(x, t, *extra, sample_weight=w, hessian=mode)
    if factor is None:
        return out
    if isinstance(out, tuple):
        return tuple((o * factor).astype(o.dtype, copy=False) for o in out)
    return (out * factor).astype(out.dtype, copy=False)


# ---- the functions --------------------------------------------------------------------------
def _reduced_value(call: _Call) -> tuple[da.Array, Any]:
    """(the lazy value, the lazy factor the gradients of that reduction are scaled by)."""
    parts = [dask.delayed(_chunk_sums, pure=True)(call.summing, *b) for b in call.blocks()]
    sums = dask.delayed(_sum_in_order, pure=True)(parts)
    if call.reduction == "sum":
        value, factor = dask.delayed(_first, pure=True)(sums), None
    else:
        value = dask.delayed(_mean, pure=True)(sums, call.denominator())
        factor = dask.delayed(_inverse_total, pure=True)(sums, call.denominator())
    return da.from_delayed(value, shape=(), dtype=np.float64), factor


def value(loss: Any, input: Any, target: Any, *args: Any, sample_weight: Any = None) -> da.Array:
    """The loss of dask arrays: a lazy 0-d float64 array (for ``reduction="none"`` a lazy
    array of the per-element, or row-wise per-row, losses). ``args``: a third argument
    (GaussianNLLLoss's ``var``) of the input's shape. See the module's documentation for how
    chunks are combined.

    Examples
    --------
    >>> import dask.array as da, numpy as np, losskit, losskit.dask
    >>> x = da.from_array(np.array([0.5, -1.5, 2.0, 0.0]), chunks=2)
    >>> y = da.zeros(4, chunks=2)
    >>> lazy = losskit.dask.value(losskit.MSELoss(), x, y)
    >>> float(lazy.compute())                     # (0.25 + 2.25 + 4 + 0) / 4
    1.625
    """
    call = _Call(loss, input, target, args, sample_weight)
    if call.reduction == "none":
        return _per_chunk(call, "value", None)[0]
    return _reduced_value(call)[0]


def grad(loss: Any, input: Any, target: Any, *args: Any, sample_weight: Any = None) -> da.Array:
    """The gradient in the input: a lazy dask array of the input's shape and chunks.

    Examples
    --------
    >>> import dask.array as da, numpy as np, losskit, losskit.dask
    >>> x = da.from_array(np.array([0.5, -1.5, 2.0, 0.0]), chunks=2)
    >>> losskit.dask.grad(losskit.MSELoss(), x, da.zeros(4, chunks=2)).compute()   # 2 x / 4
    array([ 0.25, -0.75,  1.  ,  0.  ])
    """
    return value_and_grad(loss, input, target, *args, sample_weight=sample_weight)[1]


def value_and_grad(loss: Any, input: Any, target: Any, *args: Any,
                   sample_weight: Any = None) -> tuple[da.Array, da.Array]:
    """(lazy value, lazy gradient in the input).

    Examples
    --------
    >>> import dask.array as da, numpy as np, losskit, losskit.dask
    >>> x = da.from_array(np.array([0.5, -1.5, 2.0, 0.0]), chunks=2)
    >>> value, grad = losskit.dask.value_and_grad(losskit.L1Loss(reduction="sum"), x, da.zeros(4, chunks=2))
    >>> float(value.compute()), grad.compute()
    (4.0, array([ 1., -1.,  1.,  0.]))
    """
    call = _Call(loss, input, target, args, sample_weight)
    if call.reduction == "none":
        return _per_chunk(call, "value", None)[0], _per_chunk(call, "grad", None)[0]
    v, factor = _reduced_value(call)
    return v, _per_chunk(call, "grad", factor)[0]


def grad_hess(loss: Any, input: Any, target: Any, *args: Any, sample_weight: Any = None,
              hessian: str = "exact") -> tuple[da.Array, da.Array]:
    """(lazy gradient, lazy curvature) in the input, as ``loss.grad_hess`` (``hessian``:
    one of ``loss.hessians``).

    Examples
    --------
    >>> import dask.array as da, numpy as np, losskit, losskit.dask
    >>> x = da.from_array(np.array([0.5, -1.5, 2.0, 0.0]), chunks=2)
    >>> g, h = losskit.dask.grad_hess(losskit.MSELoss(reduction="sum"), x, da.zeros(4, chunks=2))
    >>> h.compute()
    array([2., 2., 2., 2.])
    """
    check_hessian(type(loss).__name__, tuple(getattr(loss, "hessians", ())), hessian)
    call = _Call(loss, input, target, args, sample_weight)
    factor = _reduced_value(call)[1] if call.reduction not in ("none", "sum") else None
    gradient, curvature = _per_chunk(call, hessian, factor)
    return gradient, curvature


def _per_chunk(call: _Call, mode: str, factor: Any) -> list[da.Array]:
    """The arrays a chunk's call returns (its value per element, its gradient, or gradient
    and curvature), assembled into dask arrays chunked as the input (a row-wise loss's
    per-row values: as its rows)."""
    x = call.x
    grid = x.numblocks
    nout = 2 if mode not in ("value", "grad") else 1
    per_row = mode == "value" and call.rowwise
    outs: list[np.ndarray] = [np.empty(grid, dtype=object) for _ in range(nout)]
    for index, b in enumerate(call.blocks()):
        position = np.unravel_index(index, grid)
        shape = tuple(c[i] for c, i in zip(x.chunks, position))
        if per_row:
            shape = shape[:1]
        task = dask.delayed(_chunk_call, pure=True, nout=nout)(call.summing, mode, factor, *b)
        for which in range(nout):
            part = task[which] if nout == 2 else task
            outs[which][position] = da.from_delayed(part, shape=shape, dtype=x.dtype)
    if per_row:
        return [da.concatenate(list(outs[0][:, 0]))]
    return [da.block(o.tolist()) if x.ndim else o[()] for o in outs]


# ---- estimators ---------------------------------------------------------------------------
class RegressionTargets:
    """A block of regression targets as the loss takes them: (n, k) in X's dtype."""

    def __init__(self, k: int, dtype: Any) -> None:
        self.k, self.dtype = k, np.dtype(dtype)

    def __call__(self, y: np.ndarray, w: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
        return np.ascontiguousarray(np.reshape(y, (len(y), self.k)), dtype=self.dtype), w


class LabelTargets:
    """A block of class labels as the loss takes them (codes or one-hot/sign columns), and
    its sample weights times the class weights, from the fitted estimator's classes."""

    def __init__(self, estimator: Any, dtype: Any) -> None:
        self.estimator, self.dtype = estimator, np.dtype(dtype)

    def __call__(self, y: np.ndarray, w: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
        codes = self.estimator._encode(np.asarray(y))
        w = self.estimator._class_weights(codes, w)
        return self.estimator._targets(codes, self.dtype), w


def _block_targets(y: np.ndarray, w: np.ndarray | None, targets: Any) -> tuple[Any, np.ndarray]:
    """A block's targets as the loss takes them and its weights (float64, checked): computed
    once per fit and kept beside the rows, not again at every evaluation."""
    T, w = targets(y, w)
    w = np.ones(len(T)) if w is None else np.asarray(w, dtype=np.float64)
    if np.any(w < 0) or not np.all(np.isfinite(w)):
        raise ValueError("sample_weight must be finite and non-negative")
    return T, w


def _block_moments(X: np.ndarray, Tw: tuple[Any, np.ndarray]) -> Any:
    """(total weight, [sum w x, sum w x^2]) of one block (float64)."""
    w = Tw[1]
    return float(w.sum()), _solvers.moment_sums(np.asarray(X), w)


def _block_rows(X: np.ndarray, Tw: tuple[Any, np.ndarray], factor: float, loss: Any, k: int,
                scale_mode: Any, latent: bool) -> Any:
    T, w = Tw
    X = np.ascontiguousarray(X)
    return _solvers.Rows(X, T, loss, w * factor, k, scale_mode,
                         list(loss.params) if latent else None)


def _block_gradient(X: Any, Tw: Any, factor: float, loss: Any, k: int, scale_mode: Any,
                    latent: bool, W: np.ndarray, b: np.ndarray | None,
                    scale: float | None) -> _solvers.GradientSums:
    rows = _block_rows(X, Tw, factor, loss, k, scale_mode, latent)
    return rows.gradient_sums(W, b, scale)


def _block_curvature(X: Any, Tw: Any, factor: float, loss: Any, k: int, scale_mode: Any,
                     latent: bool, W: np.ndarray, b: np.ndarray | None, scale: float | None,
                     policy: str) -> _solvers.CurvatureSums:
    rows = _block_rows(X, Tw, factor, loss, k, scale_mode, latent)
    return rows.curvature_sums(W, b, scale, policy)


class DaskObjective(_solvers.Coordinates):
    """The training objective of a linear model over dask arrays: every evaluation is one
    dask computation whose tasks each return a row block's :class:`GradientSums` (or
    :class:`CurvatureSums`), added in block order on the client. The rows stay where dask
    keeps them (workers' memory after ``persist()``, or chunked storage read again each
    pass); only the coefficients and the sums cross the network."""

    def __init__(self, X: da.Array, y: da.Array, w: da.Array | None, targets: Any, loss: Any,
                 k: int, lam: float, fit_intercept: bool, scale: Any, scale0: float,
                 latent: list[np.ndarray] | None, mean_over_outputs: bool) -> None:
        self.Xb = list(X.to_delayed()[:, 0])
        yb = list(y.to_delayed().reshape(len(self.Xb), -1)[:, 0])
        wb = list(w.to_delayed()) if w is not None else [None] * len(self.Xb)
        # the blocks' targets and weights, encoded once and kept where the rows are (with a
        # distributed client: on the workers)
        self.Twb = dask.persist(*[dask.delayed(_block_targets)(y_, w_, targets)
                                  for y_, w_ in zip(yb, wb)])
        self.loss, self.dtype = loss, X.dtype
        self.n = X.shape[0]
        parts = dask.compute(*[dask.delayed(_block_moments)(xb, tw)
                               for xb, tw in zip(self.Xb, self.Twb)])
        total = math.fsum(p[0] for p in parts)
        if not total > 0:
            raise ValueError("sample_weight is zero for every sample: no sample to train on")
        moments = _sum_in_order([p[1] for p in parts])
        # v = w / (total k): the loss is the mean over all elements
        self.factor = 1.0 / (total * (k if mean_over_outputs else 1))
        mu, s = _solvers.moments_from_sums(moments / total, 1.0, fit_intercept)
        super().__init__(mu, s, k, lam, fit_intercept, scale, scale0, latent)

    def _tasks(self, fn: Any, *args: Any) -> Any:
        return dask.compute(*[dask.delayed(fn)(xb, tw, self.factor, self.loss, self.k,
                                               self.scale_mode, bool(self.latent), *args)
                              for xb, tw in zip(self.Xb, self.Twb)])

    def value_grad(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        self.evaluations += 1
        W, b, scale = self.unpack(theta)
        sums = _sum_in_order(self._tasks(_block_gradient, W, b if self.n_b else None, scale))
        return self.finish(W, scale, sums)

    def newton_direction(self, theta: np.ndarray, g: np.ndarray, policy: str) -> np.ndarray:
        W, b, scale = self.unpack(theta)
        sums = _sum_in_order(self._tasks(_block_curvature, W, b if self.n_b else None, scale,
                                         policy))
        return _solvers.direction_from_sums(self, g, sums, scale if self.n_t else None)


def as_training_arrays(X: Any, y: Any, sample_weight: Any) -> tuple[da.Array, da.Array, Any]:
    """X, y and the weights of a fit on dask arrays, checked and chunked alike (X whole in its
    columns, y and the weights as X's rows); nothing is computed."""
    X = _numeric("X", X)
    if not isinstance(X, da.Array) or X.ndim != 2:
        raise ValueError(f"X must be a 2-D dask array, got {type(X).__name__} of shape "
                         f"{getattr(X, 'shape', None)}")
    if 0 in X.shape:
        raise ValueError(f"X must have at least one sample and one feature, got shape {X.shape}")
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    if len(X.chunks[1]) != 1:
        X = X.rechunk({1: -1})
    if y is None:
        raise ValueError("fit requires y")
    y = y if isinstance(y, da.Array) else np.asarray(y)
    if y.ndim not in (1, 2) or y.shape[0] != X.shape[0]:
        raise ValueError(f"X and y have different lengths: X has {X.shape[0]} samples, y has "
                         f"shape {y.shape}")
    if y.dtype.kind not in "biufUSO":
        raise ValueError(f"y must be numeric or labels, got dtype {y.dtype}")
    if any(math.isnan(c) for c in y.chunks[0]) if isinstance(y, da.Array) else False:
        raise ValueError("y has chunks of unknown size; call y.compute_chunk_sizes() first")
    chunks = (X.chunks[0],) + tuple((n,) for n in y.shape[1:])
    if not isinstance(y, da.Array):
        y = da.from_array(y, chunks=chunks)
    elif y.chunks != chunks:
        y = y.rechunk(chunks)
    w = None
    if sample_weight is not None:
        w = _rows_aligned("sample_weight", sample_weight, X)
        if w.ndim != 1:
            raise ValueError(f"sample_weight must have shape ({X.shape[0]},), got {w.shape}")
    return X, y, w


# ---- dask-glm -----------------------------------------------------------------------------
def glm_family(loss: Any) -> type:
    """A dask-glm family (``dask_glm.algorithms.lbfgs(X, y, family=...)``, and the other
    gradient-based algorithms: ``gradient_descent``, ``proximal_grad``, ``admm``) whose
    negative log-likelihood is ``loss`` with reduction "sum" of the linear scores ``X beta``
    against ``y``.

    dask-glm's ``hessian(Xbeta, X)`` takes no targets, which the curvature of a loss other
    than the logistic depends on: the family's ``hessian`` raises NotImplementedError, so
    ``dask_glm.algorithms.newton`` cannot use it (losskit's estimators run Newton on dask
    arrays themselves).

    Examples
    --------
    >>> import dask_glm.algorithms, losskit, losskit.dask  # doctest: +SKIP
    >>> family = losskit.dask.glm_family(losskit.HuberLoss(delta=1.0))  # doctest: +SKIP
    >>> beta = dask_glm.algorithms.lbfgs(X, y, family=family, regularizer=None)  # doctest: +SKIP
    """
    if not isinstance(loss, _base.ElementwiseLoss):
        raise TypeError(f"a dask-glm family needs an elementwise loss of (scores, targets), "
                        f"got {type(loss).__name__}")
    summing = copy.deepcopy(loss)
    summing.reduction = "sum"

    def loglike(Xbeta: Any, y: Any) -> Any:
        if isinstance(Xbeta, da.Array) or isinstance(y, da.Array):
            return value(summing, Xbeta, y)
        return summing(np.asarray(Xbeta, dtype=np.float64), np.asarray(y, dtype=np.float64))

    def gradient(Xbeta: Any, X: Any, y: Any) -> Any:
        if isinstance(Xbeta, da.Array) or isinstance(y, da.Array):
            g = grad(summing, Xbeta, y)
        else:
            g = summing.grad(np.asarray(Xbeta, dtype=np.float64), np.asarray(y, dtype=np.float64))
        return X.T.dot(g)

    def pointwise_loss(beta: Any, X: Any, y: Any) -> Any:
        return loglike(X.dot(beta.ravel()), y.ravel())

    def pointwise_gradient(beta: Any, X: Any, y: Any) -> Any:
        return gradient(X.dot(beta.ravel()), X, y.ravel())

    def hessian(Xbeta: Any, X: Any) -> Any:
        raise NotImplementedError(
            f"dask-glm's hessian(Xbeta, X) has no targets, and the curvature of "
            f"{type(loss).__name__} depends on them; use a gradient-based dask-glm algorithm, "
            f"or losskit.LinearRegressor(solver='newton') on the dask arrays")

    methods = {"loglike": loglike, "gradient": gradient, "pointwise_loss": pointwise_loss,
               "pointwise_gradient": pointwise_gradient, "hessian": hessian}
    return type(f"{type(loss).__name__}Family", (),
                {name: staticmethod(fn) for name, fn in methods.items()})
