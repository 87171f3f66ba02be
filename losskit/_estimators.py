"""Linear models trained with losskit: :class:`LinearRegressor` and :class:`LinearClassifier`.

Everything numerical in the training loop is losskit's: the loss (fused value + gradient into
a reused buffer), the penalty, gradient clipping, the update rule and the minibatch sampler
with ``gather`` into reused batch buffers; NumPy does the two matrix products per step. No
array is allocated per step.

scikit-learn is optional. When it is installed the estimators inherit its ``BaseEstimator``
and mixins (so ``clone``, pipelines, grid search and ``check_estimator`` work) and validate
input with its helpers; without it they carry a small ``get_params``/``set_params`` of their
own and check input themselves.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import math
import numbers
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

from . import _base, _solvers, optim
from ._progress import Progress
from ._utils import ElasticNetPenalty, L1Penalty, L2Penalty, MinibatchSampler, clip_grad_norm, gather
from ._validation import check_count

__all__ = ["LinearRegressor", "LinearClassifier", "ConvergenceWarning"]

try:  # scikit-learn is an optional extra ("losskit[sklearn]")
    from sklearn.base import BaseEstimator as _Base
    from sklearn.base import ClassifierMixin as _ClassifierMixin
    from sklearn.base import RegressorMixin as _RegressorMixin
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.multiclass import check_classification_targets as _sk_check_targets

    try:
        from sklearn.utils.validation import validate_data as _sk_validate_data
    except ImportError:  # scikit-learn < 1.6
        def _sk_validate_data(est: Any, *args: Any, **kwargs: Any) -> Any:
            return est._validate_data(*args, **kwargs)

    HAVE_SKLEARN = True
except ImportError:
    HAVE_SKLEARN = False

    class NotFittedError(ValueError, AttributeError):  # type: ignore[no-redef]
        """Raised when a model is used before ``fit``."""

    class ConvergenceWarning(UserWarning):  # type: ignore[no-redef]
        """A solver stopped at ``max_iter`` before meeting its tolerance (scikit-learn's
        ``sklearn.exceptions.ConvergenceWarning`` when scikit-learn is installed).

        Examples
        --------
        >>> import warnings, numpy as np, losskit
        >>> rng = np.random.default_rng(0)
        >>> X = rng.standard_normal((50, 3))
        >>> y = (X[:, 0] + rng.standard_normal(50) > 0).astype(int)
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     _ = losskit.LinearClassifier(max_iter=1).fit(X, y)
        >>> any(issubclass(w.category, losskit.ConvergenceWarning) for w in caught)
        True
        """

    class _Base:  # type: ignore[no-redef]
        """get_params / set_params from the constructor's signature (scikit-learn's protocol)."""

        @classmethod
        def _get_param_names(cls) -> list[str]:
            sig = inspect.signature(cls.__init__)
            return sorted(p for p in sig.parameters if p != "self")

        def get_params(self, deep: bool = True) -> dict[str, Any]:
            return {name: getattr(self, name) for name in self._get_param_names()}

        def set_params(self, **params: Any) -> Any:
            valid = self._get_param_names()
            for key, value in params.items():
                if key not in valid:
                    raise ValueError(
                        f"invalid parameter {key!r} for {type(self).__name__}; "
                        f"valid parameters: {', '.join(valid)}"
                    )
                setattr(self, key, value)
            return self

        def __repr__(self) -> str:
            sig = inspect.signature(type(self).__init__)
            changed = [
                f"{name}={getattr(self, name)!r}"
                for name, p in sig.parameters.items()
                if name != "self" and not _same(getattr(self, name), p.default)
            ]
            return f"{type(self).__name__}({', '.join(changed)})"

    class _RegressorMixin:  # type: ignore[no-redef]
        _estimator_type = "regressor"

        def score(self, X: Any, y: Any) -> float:
            """The coefficient of determination R^2 (averaged over outputs)."""
            y = np.asarray(y, dtype=np.float64)
            pred = np.asarray(self.predict(X), dtype=np.float64).reshape(y.shape)  # type: ignore[attr-defined]
            y2, p2 = y.reshape(len(y), -1), pred.reshape(len(y), -1)
            ss_res = ((y2 - p2) ** 2).sum(axis=0)
            ss_tot = ((y2 - y2.mean(axis=0)) ** 2).sum(axis=0)
            with np.errstate(divide="ignore", invalid="ignore"):
                r2 = np.where(ss_tot > 0, 1 - ss_res / np.where(ss_tot > 0, ss_tot, 1),
                              np.where(ss_res == 0, 1.0, 0.0))
            return float(r2.mean())

    class _ClassifierMixin:  # type: ignore[no-redef]
        _estimator_type = "classifier"

        def score(self, X: Any, y: Any) -> float:
            """Mean accuracy."""
            return float(np.mean(self.predict(X) == np.asarray(y)))  # type: ignore[attr-defined]


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a is b or a == b)
    except Exception:
        return False


class _available_if:
    """A method that exists (for ``hasattr``) only when ``check(self)`` is true."""

    def __init__(self, check: Any) -> None:
        self.check = check

    def __call__(self, fn: Any) -> Any:
        self.fn = fn
        self.__doc__ = fn.__doc__
        return self

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self.fn
        if not self.check(obj):
            raise AttributeError(
                f"{type(obj).__name__} has no {self.name!r} with loss={obj.loss!r}"
            )
        return self.fn.__get__(obj, owner)


# ---- losses, penalties and optimizers by name -----------------------------------------------
from ._catalog import (  # noqa: E402  (names shared with the command line)
    CLASSIFICATION_LOSSES,
    LOGIT_LOSSES,
    MARGIN_LOSSES,
    NOT_FOR_REGRESSION,
    FULL_BATCH_SOLVERS,
    KINKED_LOSSES,
    LOG_LINK_LOSSES,
    NONCONVEX_LOSSES,
    NONSMOOTH_LOSSES,
    OPTIMIZERS,
    PENALTIES,
    PROBABILISTIC_LOSSES,
    ROWWISE_CLASSIFICATION,
    SCALE_LOSSES,
    SOLVERS,
)


def _make_optimizer(name: Any, params: list[np.ndarray], lr: Any, extra: dict[str, Any]) -> Any:
    if name == "sgd":
        return optim.SGD(params, lr=lr, **extra)
    if name in ("momentum", "nesterov"):
        kw = dict(momentum=0.9, nesterov=name == "nesterov")
        kw.update(extra)
        return optim.SGD(params, lr=lr, **kw)
    table = {"adam": optim.Adam, "adamw": optim.AdamW, "rmsprop": optim.RMSprop,
             "adagrad": optim.Adagrad}
    if name in table:
        return table[name](params, lr=lr, **extra)
    raise ValueError(f"unknown optimizer {name!r}; valid optimizers: {', '.join(OPTIMIZERS)}")


def _make_penalty(name: Any, alpha: Any, l1_ratio: Any) -> Any:
    if name is None or name == "none":
        return None
    if name not in PENALTIES:
        raise ValueError(f"unknown penalty {name!r}; valid penalties: {', '.join(PENALTIES)} or None")
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 <= alpha < np.inf:
        raise ValueError(f"alpha must be a non-negative finite number, got {alpha!r}")
    if alpha == 0:
        return None
    if name == "l2":
        return L2Penalty(alpha)
    if name == "l1":
        return L1Penalty(alpha)
    return ElasticNetPenalty(alpha, l1_ratio)


def has_latent_params(loss: Any) -> bool:
    """Whether ``loss`` carries trainable parameters of its own (``.params`` as a list of
    arrays and ``.param_grads`` filled by ``value_and_grad``), as ``AdaptiveBarronLoss``."""
    params = getattr(loss, "params", None)
    return isinstance(params, (list, tuple)) and hasattr(loss, "param_grads")


def loss_name(loss: Any) -> str | None:
    """The registry name of a loss given by name or object (None if it has none)."""
    if isinstance(loss, str):
        return loss
    return getattr(loss, "name", None)


def _seed_from(random_state: Any) -> int | None:
    if random_state is None:
        return None
    if isinstance(random_state, (bool, np.bool_)):
        raise ValueError(f"random_state must be None, an int or a NumPy random generator, got {random_state!r}")
    if isinstance(random_state, numbers.Integral):
        return int(random_state) % 2**64
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**31 - 1))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**63 - 1))
    raise ValueError(f"random_state must be None, an int or a NumPy random generator, got {random_state!r}")


class _Trainer:
    """The minibatch training state between calls: parameters, optimizer, sampler seed,
    buffers."""

    def __init__(self, est: Any, n_features: int, n_outputs: int, loss: Any, scale_sum: bool,
                 target_dtype: Any, target_cols: int | None, x_dtype: Any = np.float64,
                 scale: float | None = None, optimizer: str = "adam") -> None:
        # W is (n_features, n_outputs), C-contiguous: the two products per step are plain
        # GEMMs (X @ W, X.T @ G); coef_ is its transpose (a view)
        self.W = np.zeros((n_features, n_outputs))
        self.b = np.zeros(n_outputs)
        self.gW = np.empty_like(self.W)
        self.gb = np.empty_like(self.b)
        self.pg = np.empty_like(self.W)
        self.loss = loss
        self.scale_sum = scale_sum  # loss reduction is "sum": divide by the batch's weight
        self.scale = scale  # the loss sees r / scale (its value times scale)
        self.latent = has_latent_params(loss)
        self.fit_intercept = bool(est.fit_intercept)
        self.penalty = _make_penalty(est.penalty, est.alpha, est.l1_ratio)
        self.clip_norm = est.clip_norm
        self.batch_size = check_count("batch_size", est.batch_size, minimum=1)
        self.shuffle = bool(est.shuffle)
        params = [self.W, self.b] if self.fit_intercept else [self.W]
        self.latent_grads: list[np.ndarray] = []
        if self.latent:
            params += list(loss.params)
            self.latent_grads = [np.empty_like(p) for p in loss.params]
        extra = dict(est.optimizer_params or {})
        self.opt = _make_optimizer(optimizer, params, est.lr, extra)
        self.grads = [self.gW, self.gb] if self.fit_intercept else [self.gW]
        self.grads += self.latent_grads
        self.seed = _seed_from(est.random_state)
        if self.seed is None:
            self.seed = int(np.random.SeedSequence().generate_state(1, np.uint64)[0])
        self.epoch = 0
        self.x_dtype = np.dtype(x_dtype)
        self.target_dtype = target_dtype
        self.target_cols = target_cols
        self._buffers: dict[int, tuple[np.ndarray, ...]] = {}

    def _buffers_for(self, m: int, n_features: int) -> tuple[np.ndarray, ...]:
        buf = self._buffers.get(m)
        if buf is None:
            k = self.W.shape[1]
            tshape = (m,) if self.target_cols is None else (m, self.target_cols)
            buf = (np.empty((m, n_features), dtype=self.x_dtype),
                   np.empty(tshape, dtype=self.target_dtype),
                   np.empty((m, k)), np.empty((m, k)), np.ones(m), np.empty(m))
            self._buffers[m] = buf
        return buf

    def epoch_pass(self, X: np.ndarray, T: np.ndarray, sw: np.ndarray | None = None) -> float:
        """One epoch over (X, T); returns the mean objective (loss + penalty) over its batches."""
        n, d = X.shape
        W, b, gW, gb = self.W, self.b, self.gW, self.gb
        loss, penalty, opt = self.loss, self.penalty, self.opt
        full = self.batch_size >= n
        sampler = MinibatchSampler(n, min(self.batch_size, n), shuffle=self.shuffle and not full,
                                   seed=self.seed)
        sampler.set_epoch(self.epoch)
        self.epoch += 1
        total = 0.0
        scale = self.scale
        for idx in sampler:
            m = len(idx)
            Xb, Tb, S, G, ones, wb = self._buffers_for(m, d)
            if full:
                Xb, Tb = X, T
                if sw is not None:
                    wb = sw
            else:
                gather(X, idx, out=Xb)
                gather(T, idx, out=Tb)
                if sw is not None:
                    np.take(sw, idx, out=wb)
            np.matmul(Xb, W, out=S)
            if self.fit_intercept:
                S += b
            weights = None if sw is None else wb
            if scale is not None:
                S *= 1.0 / scale
                value, _ = loss.value_and_grad(S, Tb / scale, sample_weight=weights, out=G)
                value = float(value) * scale  # d/dS of scale * l(S / scale) is l'(S / scale)
            else:
                value, _ = loss.value_and_grad(S, Tb, sample_weight=weights, out=G)
                value = float(value)
            mass = float(m if weights is None else weights.sum())
            if self.scale_sum:
                G *= 1.0 / mass
                value /= mass
            np.matmul(Xb.T, G, out=gW)
            if self.fit_intercept:
                np.matmul(ones, G, out=gb)  # column sums (np.sum over axis 0 is slower)
            if self.latent:
                for dst, src in zip(self.latent_grads, loss.param_grads):
                    np.multiply(src, 1.0 / mass if self.scale_sum else 1.0, out=dst)
            if penalty is not None:
                pv, _ = penalty.value_and_grad(W, out=self.pg)
                gW += self.pg
                value += pv
            if self.clip_norm is not None:
                clip_grad_norm(self.grads, self.clip_norm)
            opt.step(self.grads)
            total += value * m
        return total / n


def _check_choice(name: str, value: Any, choices: tuple[Any, ...]) -> None:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")


def _check_real(name: str, value: Any, lo: float, hi: float, lo_open: bool = False,
                hi_open: bool = False) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    v = float(value)
    ok = (lo < v if lo_open else lo <= v) and (v < hi if hi_open else v <= hi)
    if not ok or math.isnan(v):
        left, right = "(" if lo_open else "[", ")" if hi_open else "]"
        raise ValueError(f"{name} must lie in {left}{lo:g}, {hi:g}{right}, got {value!r}")
    return v


def _robust_scale(y: np.ndarray, v: np.ndarray) -> float:
    """A starting residual scale: 1.4826 x the median absolute deviation of y (the standard
    deviation of a normal sample), else its standard deviation, else 1."""
    flat = np.asarray(y, dtype=np.float64)
    mad = 1.4826 * float(np.median(np.abs(flat - np.median(flat, axis=0))))
    if mad > 0 and math.isfinite(mad):
        return mad
    sd = float(np.std(flat))
    return sd if sd > 0 and math.isfinite(sd) else 1.0


class _LinearModel(_Base):
    """Shared constructor, validation and training loops of the two estimators."""

    _default_loss = "mse"
    _regression = True

    @contextlib.contextmanager
    def _unchanged_on_error(self) -> Iterator[None]:
        """A failing ``fit`` / ``partial_fit`` leaves the estimator's attributes as they were."""
        saved = dict(self.__dict__)
        try:
            yield
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise

    def __init__(
        self,
        loss: Any = None,
        *,
        penalty: str | None = "l2",
        alpha: float = 1e-4,
        l1_ratio: float = 0.15,
        solver: str = "auto",
        optimizer: str | None = None,
        lr: Any = 0.01,
        epochs: int = 20,
        batch_size: int = 32,
        max_iter: int = 200,
        tol: float = 1e-4,
        warm_start: bool = False,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 5,
        clip_norm: float | None = None,
        fit_intercept: bool = True,
        shuffle: bool = True,
        optimizer_params: dict[str, Any] | None = None,
        random_state: Any = None,
        verbose: int = 0,
    ) -> None:
        self.loss = loss
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.solver = solver
        self.optimizer = optimizer
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.clip_norm = clip_norm
        self.fit_intercept = fit_intercept
        self.shuffle = shuffle
        self.optimizer_params = optimizer_params
        self.random_state = random_state
        self.verbose = verbose

    # -- nested parameters of the loss (set_params(loss__delta=0.5), grid searches) ---------
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        params = super().get_params(deep=False)
        if deep:
            for key, value in self._loss_params().items():
                params[f"loss__{key}"] = value
        return params

    def _loss_params(self) -> dict[str, Any]:
        spec = self._default_loss if self.loss is None else self.loss
        if isinstance(spec, _base.Loss) and isinstance(getattr(spec, "params", None), dict):
            return {k: v for k, v in spec.params.items() if k != "reduction"}
        if isinstance(spec, str) and spec in _base._REGISTRY:
            sig = inspect.signature(_base._REGISTRY[spec].__init__).parameters
            return {k: p.default for k, p in sig.items()
                    if k not in ("self", "reduction", "num_dims")
                    and p.default is not inspect.Parameter.empty}
        return {}

    def set_params(self, **params: Any) -> Any:
        """Set parameters; ``loss__NAME=value`` sets a parameter of the loss (a loss given by
        name becomes the loss object with that parameter). Everything is checked first: a
        failing call changes nothing."""
        nested = {k[len("loss__"):]: params.pop(k) for k in list(params) if k.startswith("loss__")}
        if nested:
            spec = params.get("loss", self.loss)
            spec = self._default_loss if spec is None else spec
            name = loss_name(spec)
            if name not in _base._REGISTRY:
                raise ValueError(f"loss__ parameters need a registered loss, got loss={spec!r}")
            current = (dict(spec.params) if isinstance(spec, _base.Loss)
                       and isinstance(getattr(spec, "params", None), dict) else {})
            current.update(nested)
            valid = set(inspect.signature(_base._REGISTRY[name].__init__).parameters) - {"self"}
            unknown = sorted(set(nested) - valid)
            if unknown:
                raise ValueError(f"invalid parameter {unknown[0]!r} of loss {name!r}; valid: "
                                 f"{', '.join(sorted(valid - {'reduction', 'num_dims'}))}")
            params["loss"] = _base.get_loss(name, **current)  # checks the values
        return super().set_params(**params)

    # -- fitting dask arrays ---------------------------------------------------------------
    def _fit_dask(self, X: Any, y: Any, sample_weight: Any) -> Any:
        """``fit`` on dask arrays: a full-batch solver whose every evaluation sums the row
        blocks' gradients (and curvatures) on dask's workers (``losskit.dask``)."""
        from . import dask as _dask

        self._check_hyper()
        X, y, w = _dask.as_training_arrays(X, y, sample_weight)
        self._n_features_now = X.shape[1]
        k, targets, first_T, first_w = self._dask_targets(X, y, w)
        solver = self._resolve_solver(partial=False)
        name = self._loss_name
        if solver not in FULL_BATCH_SOLVERS:
            raise ValueError(f"fit on dask arrays trains with a full-batch solver ('lbfgs' or "
                             f"'newton'), got solver {solver!r}; minibatches of dask arrays "
                             f"train with partial_fit (dask_ml.wrappers.Incremental)")
        if name in KINKED_LOSSES:
            raise ValueError(f"loss {name!r} is fitted by an exact linear-programme method that "
                             f"needs the rows in memory; fit it on a NumPy array")
        loss, _ = self._training_loss(k, "sum") if hasattr(self, "_training_loss") \
            else self._resolve_loss(k, "sum")
        mode = self._scale_mode(loss) if self._regression else None
        if mode == "auto" and name in NONCONVEX_LOSSES:
            raise ValueError(f"loss {name!r} with scale='auto' needs an exact L1 pilot fit of the "
                             f"rows in memory; give a fixed scale (e.g. scale=1.0) to fit dask "
                             f"arrays")
        # starting values from the first block (the optimum does not depend on them)
        scale0 = _robust_scale(first_T, first_w) if mode == "auto" else (mode or 1.0)
        W0, b0 = np.zeros((X.shape[1], k)), np.zeros(k)
        if self.fit_intercept and self._regression:
            b0 = self._intercept_start(first_T)
        W, b, scale_, res = self._full_batch(X, _DaskTargets(y, targets), w, k, loss, solver,
                                             (W0, b0, scale0), mode, scale0,
                                             mean_over_outputs=self._regression)
        self.n_features_in_ = X.shape[1]
        if hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        self.loss_ = loss
        self._trainer = None
        if self._regression:
            self._y_1d = y.ndim == 1
            self.coef_ = W[:, 0].copy() if self._y_1d else np.ascontiguousarray(W.T)
            self.scale_ = scale_
        else:
            self.coef_ = np.ascontiguousarray(W.T)
        self.intercept_ = b
        self.n_iter_ = res.n_iter
        self.loss_curve_ = list(res.curve)
        self.t_ = 0
        self.solver_ = solver
        return self

    # -- validation ------------------------------------------------------------------------
    def _validate(self, X: Any, y: Any = None, reset: bool = True, regression: bool = True,
                  no_y: bool = False) -> Any:
        dtypes = [np.float64, np.float32]
        plain = self._plain_arrays(X, None if no_y else y, reset, regression)
        if HAVE_SKLEARN and not plain:
            if no_y:
                return _aligned(_sk_validate_data(self, X, dtype=dtypes, order="C", reset=reset))
            X, y = _sk_validate_data(self, X, y, dtype=dtypes, order="C", reset=reset,
                                     multi_output=regression, y_numeric=regression)
            return _aligned(X), _aligned(y)
        if not plain:
            X = _check_X(X)
        if reset:
            self.n_features_in_ = X.shape[1]
            if HAVE_SKLEARN and hasattr(self, "feature_names_in_"):
                del self.feature_names_in_  # as scikit-learn's validation does for arrays
        elif X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input"
            )
        if no_y:
            return X
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        y = np.asarray(y)
        if y.ndim == 0:
            raise ValueError("y must be an array of targets, got a scalar")
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"X and y have different lengths: X has {X.shape[0]} samples, "
                             f"y has {y.shape[0]}")
        if regression:
            if y.dtype.kind not in "biuf":
                raise ValueError(f"y must be numeric for regression, got dtype {y.dtype}")
            y = np.asarray(y, dtype=np.float64)
            if not np.all(np.isfinite(y)):
                raise ValueError("y contains NaN or infinity")
        else:
            if y.ndim == 2 and y.shape[1] == 1:
                y = y[:, 0]
            if y.ndim != 1:
                raise ValueError(f"y must be 1-D (one label per sample), got shape {y.shape}")
        return X, _aligned(y)

    def _plain_arrays(self, X: Any, y: Any, reset: bool, regression: bool) -> bool:
        """Whether ``X`` (and ``y``) are arrays that scikit-learn's validation would pass
        through unchanged: float C-contiguous 2-D ``X``, numeric ``y`` of matching length, no
        feature names to compare. Its checks (pandas, sparse and array-API dispatch) cost more
        than a small fit's arithmetic; such arrays pass on with the checks below, and anything
        else takes its validation (or ``_check_X`` without scikit-learn), messages included."""
        if not (type(X) is np.ndarray and X.dtype in (np.float32, np.float64) and X.ndim == 2
                and X.flags.c_contiguous and X.flags.aligned and X.size):
            return False
        if not reset and (hasattr(self, "feature_names_in_")
                          or X.shape[1] != getattr(self, "n_features_in_", -1)):
            return False
        if y is not None:
            if not (type(y) is np.ndarray and len(y) == len(X) and y.dtype.kind in "biuf"
                    and (y.ndim == 1 or (regression and y.ndim == 2))):
                return False
            if y.dtype.kind == "f" and not np.isfinite(y).all():
                return False
        return bool(np.isfinite(X).all())

    def _sample_weight(self, sample_weight: Any, n: int) -> np.ndarray | None:
        if sample_weight is None:
            return None
        try:
            w = np.asarray(sample_weight, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError("sample_weight must be an array of non-negative numbers") from None
        if w.ndim == 0:
            w = np.full(n, float(w))
        if w.shape != (n,):
            raise ValueError(f"sample_weight must have shape ({n},) (one weight per sample), "
                             f"got shape {w.shape}")
        if not np.all(np.isfinite(w)):
            raise ValueError("sample_weight contains NaN or infinity")
        if np.any(w < 0):
            raise ValueError(f"sample_weight must be non-negative, got {float(w.min())!r}")
        if not w.sum() > 0:
            raise ValueError("sample_weight is zero for every sample: no sample to train on")
        return _aligned(w)

    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet; call 'fit' first"
            )

    def _check_hyper(self) -> None:
        """Every hyperparameter, before any work."""
        check_count("epochs", self.epochs, minimum=1)
        check_count("batch_size", self.batch_size, minimum=1)
        check_count("max_iter", self.max_iter, minimum=1)
        check_count("n_iter_no_change", self.n_iter_no_change, minimum=1)
        _check_real("tol", self.tol, 0.0, math.inf, hi_open=True)
        _check_real("validation_fraction", self.validation_fraction, 0.0, 1.0, True, True)
        _check_choice("solver", self.solver, SOLVERS)
        if self.optimizer is not None and self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"unknown optimizer {self.optimizer!r}; valid optimizers: {', '.join(OPTIMIZERS)}"
            )
        if self.optimizer is not None and self.solver not in ("auto", self.optimizer):
            raise ValueError(f"optimizer={self.optimizer!r} (an alias of solver) contradicts "
                             f"solver={self.solver!r}; set one of them")
        for name in ("warm_start", "early_stopping", "fit_intercept", "shuffle"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
        if self.clip_norm is not None and (isinstance(self.clip_norm, bool) or not isinstance(
                self.clip_norm, numbers.Real) or not self.clip_norm > 0):
            raise ValueError(f"clip_norm must be a positive number or None, got {self.clip_norm!r}")
        if not (callable(self.lr) or (isinstance(self.lr, numbers.Real)
                                      and not isinstance(self.lr, bool) and self.lr >= 0)):
            raise ValueError(f"lr must be a non-negative number or a schedule, got {self.lr!r}")
        if self.optimizer_params is not None and not isinstance(self.optimizer_params, dict):
            raise ValueError(f"optimizer_params must be a dict or None, got {self.optimizer_params!r}")
        _seed_from(self.random_state)
        _make_penalty(self.penalty, self.alpha, self.l1_ratio)
        if self.penalty == "elasticnet":
            _check_real("l1_ratio", self.l1_ratio, 0.0, 1.0)
        if not isinstance(self.verbose, numbers.Integral):
            raise ValueError(f"verbose must be an integer, got {self.verbose!r}")

    def _resolve_solver(self, partial: bool) -> str:
        """The solver a call runs: "lbfgs", "newton" or a minibatch optimizer."""
        if self.optimizer is not None:
            return self.optimizer
        solver = self.solver
        smooth_penalty = self.penalty in (None, "none", "l2") or self.alpha == 0
        spec = self._default_loss if self.loss is None else self.loss
        name = self._loss_name
        if solver in FULL_BATCH_SOLVERS:
            if partial:
                raise ValueError(f"partial_fit trains by minibatches; solver={solver!r} is "
                                 f"full-batch (use solver='auto' or a minibatch optimizer)")
            if not smooth_penalty:
                raise ValueError(f"solver={solver!r} supports penalty 'l2' or None, got "
                                 f"{self.penalty!r} (use a minibatch optimizer for l1/elasticnet)")
            if self.early_stopping:
                raise ValueError(f"early_stopping holds out data between epochs of a minibatch "
                                 f"optimizer; solver={solver!r} is full-batch")
            if not isinstance(spec, (str, _base.Loss)):
                raise ValueError(f"solver={solver!r} needs a losskit loss (a name or a "
                                 f"losskit.Loss), got {type(spec).__name__}")
            if solver == "newton" and has_latent_params(spec if not isinstance(spec, str) else None):
                raise ValueError("solver='newton' cannot train a loss's own parameters; use 'lbfgs'")
            if solver == "newton" and name not in KINKED_LOSSES and not _has_curvature(name):
                raise ValueError(f"solver='newton' needs the loss's second derivatives "
                                 f"(grad_hess); loss {name!r} has none")
            return solver
        if solver != "auto":
            return solver
        # auto: minibatches where they are asked for or the only way, else full batch
        if (partial or callable(self.lr) or self.early_stopping or not smooth_penalty
                or not isinstance(spec, (str, _base.Loss)) or name in NONSMOOTH_LOSSES):
            return "sgd" if name == "perceptron" else "adam"
        if name in KINKED_LOSSES:
            return "newton"
        latent = name == "adaptive_barron" or (not isinstance(spec, str) and has_latent_params(spec))
        # Newton's block-diagonal curvature is exact for one score column and for elementwise
        # losses; softmax over more classes couples the columns, and L-BFGS does better there
        coupled = name in ROWWISE_CLASSIFICATION and getattr(self, "_n_classes_now", 2) > 2
        if not latent and not coupled and _has_curvature(name) and self._newton_small():
            return "newton"
        return "lbfgs"

    def _newton_small(self) -> bool:
        n_features = getattr(self, "_n_features_now", 0)
        return n_features <= 200

    def _resolve_loss(self, n_outputs: int, reduction: str) -> tuple[Any, bool]:
        """(loss object for training, whether its reduction is "sum")."""
        spec = self._default_loss if self.loss is None else self.loss
        if isinstance(spec, str):
            if spec not in _base._REGISTRY:
                _base.get_loss(spec)  # raises ValueError listing the valid names
            cls = _base._REGISTRY[spec]
            kwargs: dict[str, Any] = {"reduction": reduction}
            if "num_dims" in inspect.signature(cls.__init__).parameters:
                kwargs["num_dims"] = n_outputs
            return cls(**kwargs), reduction == "sum"
        if not hasattr(spec, "value_and_grad"):
            raise TypeError(
                f"loss must be a registered loss name or a loss object with value_and_grad, "
                f"got {type(spec).__name__}"
            )
        if has_latent_params(spec):
            loss = copy.deepcopy(spec)  # fit trains a copy; the parameter is left untouched
            red = getattr(loss, "reduction", "mean")
            if red not in ("mean", "sum"):
                raise ValueError(f"a loss with its own parameters must have reduction 'mean' "
                                 f"or 'sum', got {red!r}")
            if isinstance(loss, _base.Loss) and red != reduction:
                config = dict(getattr(loss, "config", {}), reduction=reduction)
                fresh = type(loss)(**config)
                for dst, src in zip(fresh.params, loss.params):
                    dst[...] = src
                return fresh, reduction == "sum"
            return loss, red == "sum"
        if isinstance(spec, _base.Loss):
            params = dict(spec.params, reduction=reduction)
            return _base.get_loss(spec.name, **params), reduction == "sum"
        red = getattr(spec, "reduction", "mean")
        return spec, red == "sum"

    def _progress(self, total: int, unit: str) -> Progress:
        return Progress(total, f"{type(self).__name__} ({unit})",
                        enabled=None if self.verbose else False, lines=bool(self.verbose))

    @property
    def _loss_name(self) -> str | None:
        return loss_name(self._default_loss if self.loss is None else self.loss)

    def _decision(self, X: Any) -> np.ndarray:
        self._check_fitted()
        X = self._validate(X, reset=False, no_y=True)
        # (n_features, n_outputs) C-contiguous: a plain GEMM (X @ coef_.T on a C-ordered
        # coef_ can take a much slower BLAS path)
        W = np.ascontiguousarray(np.reshape(self.coef_, (-1, X.shape[1])).T, dtype=X.dtype)
        return X @ W + np.reshape(self.intercept_, -1).astype(X.dtype)

    # -- the two training paths -------------------------------------------------------------
    def _split_validation(self, n: int, classes: np.ndarray | None = None,
                          codes: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(train rows, validation rows) for early stopping: validation_fraction of the rows,
        drawn with random_state (per class for a classifier, at least one of each)."""
        seed = _seed_from(self.random_state)
        rng = np.random.default_rng(seed)
        if codes is None:
            order = rng.permutation(n)
            n_val = max(1, int(round(self.validation_fraction * n)))
            if n_val >= n:
                raise ValueError(f"early_stopping needs at least 2 samples, got {n}")
            return np.sort(order[n_val:]), np.sort(order[:n_val])
        val = []
        for c in range(len(classes)):
            rows = rng.permutation(np.flatnonzero(codes == c))
            take = max(1, int(round(self.validation_fraction * len(rows))))
            if take >= len(rows):
                raise ValueError(f"early_stopping: class {classes[c]!r} has {len(rows)} "
                                 f"sample(s), too few to hold some out for validation")
            val.append(rows[:take])
        val_rows = np.sort(np.concatenate(val))
        mask = np.ones(n, dtype=bool)
        mask[val_rows] = False
        return np.flatnonzero(mask), val_rows

    def _minibatch(self, X: np.ndarray, T: np.ndarray, sw: np.ndarray | None, epochs: int,
                   validation: tuple[np.ndarray, Any] | None = None) -> None:
        tr = self._trainer
        # a coef_/intercept_ replaced by the user (or unpickled apart from the trainer) is used
        if not np.shares_memory(self.coef_, tr.W):
            d, k = tr.W.shape
            np.copyto(tr.W, np.reshape(self.coef_, (k, d)).T)
            np.copyto(tr.b, np.reshape(self.intercept_, tr.b.shape))
        n = X.shape[0]
        steps_per_epoch = -(-n // min(tr.batch_size, n))
        best, best_state, stale = -np.inf, None, 0
        self._stopped_by_schedule = False
        with self._progress(epochs, "epochs") as bar:
            for _ in range(epochs):
                if self._schedule_exhausted(tr, steps_per_epoch):
                    break
                value = tr.epoch_pass(X, T, sw)
                self.loss_curve_.append(value)
                bar.update(1, loss=value)
                if validation is not None:
                    self._publish()
                    score = self.score(*validation)
                    self.validation_scores_.append(score)
                    if score > best + self.tol:
                        best, best_state, stale = score, (tr.W.copy(), tr.b.copy()), 0
                    else:
                        stale += 1
                        if stale >= self.n_iter_no_change:
                            break
        if validation is not None and best_state is not None:
            tr.W[...], tr.b[...] = best_state  # the weights of the best validation score
            self.best_validation_score_ = best
        self.n_iter_ = len(self.loss_curve_)
        self.t_ = tr.opt.step_count
        self._publish()

    def _schedule_exhausted(self, tr: _Trainer, steps: int) -> bool:
        """True (with a warning) when a learning-rate schedule is 0 for every step of the
        next epoch: the remaining epochs would change nothing."""
        if not callable(self.lr):
            return False
        first = tr.opt.step_count
        if self.lr(first) != 0 or self.lr(first + steps - 1) != 0:
            return False
        warnings.warn(
            f"the learning-rate schedule {self.lr!r} is 0 from step {first} on; training "
            f"stopped after {len(self.loss_curve_)} epoch(s) ({first} steps) instead of "
            f"running more steps at lr 0 (raise the schedule's total_steps, or fewer epochs)",
            ConvergenceWarning, stacklevel=4)
        self._stopped_by_schedule = True
        return True

    def _full_batch(self, X: np.ndarray, T: np.ndarray, sw: np.ndarray | None, k: int,
                    loss: Any, solver: str, start: tuple[np.ndarray, np.ndarray, float | None],
                    scale: Any, scale0: float, mean_over_outputs: bool,
                    cold: tuple[Any, ...] | None = None) -> tuple[Any, ...]:
        lam = float(self.alpha) if self.penalty == "l2" else 0.0
        latent = list(loss.params) if has_latent_params(loss) else None
        name = self._loss_name
        pilot_scale = scale == "auto" and name in NONCONVEX_LOSSES
        if isinstance(T, _DaskTargets):
            from . import dask as _dask

            obj = _dask.DaskObjective(X, T.y, sw, T.targets, loss, k, lam, self.fit_intercept,
                                      scale, scale0, latent, mean_over_outputs)
        else:
            n = X.shape[0]
            w = np.ones(n) if sw is None else sw
            v = w / (w.sum() * (k if mean_over_outputs else 1))
        if pilot_scale:
            # sigma l(r / sigma) of a loss growing slower than |r| goes to 0 with sigma: the
            # joint problem has no minimum. Instead, as an MM-estimator: the scale is fixed at
            # the (normal-consistent) median absolute residual of the exact L1 fit, which
            # also gives the start (the adaptive loss then learns its own scale in these
            # units, starting from 1)
            l1 = _base.get_loss("l1", reduction="sum")
            pilot = _solvers.Objective(X, T, l1, v, k, lam, self.fit_intercept, None, 1.0)
            res1 = _solvers.kinked_irls(pilot, pilot.to_theta(start[0], start[1], None),
                                        self.max_iter, self.tol, KINKED_LOSSES["l1"])
            W1, b1, _ = pilot.unpack(res1.theta)
            resid = np.abs(np.asarray(pilot.S, dtype=np.float64) - np.asarray(T, dtype=np.float64))
            scale0 = 1.4826 * float(np.median(resid)) or _robust_scale(T, sw)
            scale, start = scale0, (W1, b1, scale0)
        if not isinstance(T, _DaskTargets):
            obj = _solvers.Objective(X, T, loss, v, k, lam, self.fit_intercept, scale, scale0,
                                     latent)
        theta = obj.to_theta(start[0], start[1], start[2])
        # the tolerance is relative to the objective of a cold start, also when warm starting
        f_scale = obj.value(obj.to_theta(*cold)) if cold is not None else None
        with self._progress(self.max_iter, solver) as bar:
            def callback(it: int, f: float) -> None:
                bar.update(1, objective=f)

            if solver == "lbfgs":
                res = _solvers.lbfgs(obj, theta, self.max_iter, self.tol, callback=callback,
                                     f_scale=f_scale, unit=scale0 if scale is not None else 1.0)
            elif name in KINKED_LOSSES:
                res = _solvers.kinked_irls(obj, theta, self.max_iter, self.tol,
                                           KINKED_LOSSES[name], callback=callback)
            else:
                policy = _newton_policy(loss, name, scale == "auto")
                res = _solvers.newton(obj, theta, self.max_iter, self.tol, policy,
                                      callback=callback, f_scale=f_scale)
        W, b, scale_ = obj.unpack(res.theta)
        if pilot_scale and latent and name == "adaptive_barron":
            W, b, res = self._efficient_refit(X, T, v, k, lam, loss, scale0, W, b, res)
        if scale == "auto" and scale_ is not None and scale_ < 1e-6 * scale0:
            warnings.warn(
                f"{type(self).__name__}: the residual scale went to 0 ({scale_:.3g}): with "
                f"loss {self._loss_name!r} and these parameters the joint objective is "
                f"smallest in the L1 limit (Huber's delta, smooth_l1's beta must exceed 1, as "
                f"HuberRegressor's epsilon); the fit is the L1 fit. Use delta > 1 or a fixed "
                f"scale", UserWarning, stacklevel=3)
        if not res.converged:
            warnings.warn(
                f"{type(self).__name__}: solver {solver!r} stopped at max_iter={self.max_iter} "
                f"before meeting tol={self.tol:g}; raise max_iter (or tol)",
                ConvergenceWarning, stacklevel=3)
        return W, b, scale_, res

    def _efficient_refit(self, X: np.ndarray, T: np.ndarray, v: np.ndarray, k: int, lam: float,
                         loss: Any, unit: float, W: np.ndarray, b: np.ndarray,
                         res: Any) -> tuple[np.ndarray, np.ndarray, Any]:
        """The adaptive loss's second stage: keep the shape alpha its likelihood chose, raise
        its scale to where the fit is 95% efficient at normal residuals, refit from there.

        The likelihood fits one density to all residuals, outliers included, so its scale is
        that of a heavy-tailed density: small, and down-weighting the regular residuals' own
        tail too (on 10%-contaminated diabetes targets it gives alpha ~0.1, c ~0.5 pilot
        units, and a test R^2 below Huber's). M-estimators are tuned instead for efficiency
        at the normal, as Huber's 1.345 and Cauchy's 2.385 are; the scale is raised to that
        point (never lowered), and the coefficients refitted with alpha and that scale fixed.
        ``loss`` is left holding the scale used.
        """
        if loss.config["scale_lo"] == loss.config["scale_init"]:
            return W, b, res  # the scale is fixed by the caller
        alpha, scale = loss.alpha, loss.scale
        tuned = np.array([_normal_efficient_scale(float(a), float(c)) for a, c in zip(alpha, scale)])
        if np.all(tuned <= scale):
            return W, b, res
        fixed = _base.get_loss("barron", alpha=alpha.copy(), scale=tuned, reduction="sum")
        obj = _solvers.Objective(X, T, fixed, v, k, lam, self.fit_intercept, unit, unit)
        refit = _solvers.newton(obj, obj.to_theta(W, b, unit), self.max_iter, self.tol,
                                _newton_policy(fixed, "barron", False))
        loss.set_scale(tuned)
        W, b, _ = obj.unpack(refit.theta)
        return W, b, _solvers.Result(refit.theta, res.n_iter + refit.n_iter, refit.converged,
                                     res.curve + refit.curve)


# The quadrature of the standard normal that _normal_efficient_scale integrates with
_NORMAL_NODES = np.linspace(-12.0, 12.0, 4801)
_NORMAL_WEIGHTS = np.exp(-0.5 * _NORMAL_NODES ** 2) * (
    (_NORMAL_NODES[1] - _NORMAL_NODES[0]) / math.sqrt(2.0 * math.pi))
_NORMAL_EFFICIENCY = 0.95


def _normal_efficiency(alpha: float, scale: float) -> float:
    """Asymptotic efficiency at the standard normal of the M-estimator of location with
    Barron's loss: ``E[psi']^2 / E[psi^2]`` (psi the loss's derivative), from the loss's own
    gradient and exact second derivative."""
    x = _NORMAL_NODES
    g, h = _base.get_loss("barron", alpha=alpha, scale=scale, reduction="none").grad_hess(
        x, np.zeros_like(x), hessian="exact")
    return float(_NORMAL_WEIGHTS @ h) ** 2 / float(_NORMAL_WEIGHTS @ (g * g))


def _normal_efficient_scale(alpha: float, scale: float) -> float:
    """The smallest scale >= ``scale`` at which Barron's loss with this alpha is
    _NORMAL_EFFICIENCY efficient at the standard normal (the efficiency grows with the scale:
    the loss approaches the squared error)."""
    if _normal_efficiency(alpha, scale) >= _NORMAL_EFFICIENCY:
        return scale
    lo, hi = scale, 2.0 * scale
    while _normal_efficiency(alpha, hi) < _NORMAL_EFFICIENCY:
        lo, hi = hi, 2.0 * hi
    for _ in range(30):  # bisection to 2^-30 of the bracket
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if _normal_efficiency(alpha, mid) < _NORMAL_EFFICIENCY else (lo, mid)
    return hi


def _is_dask_array(a: Any) -> bool:
    # without importing dask: only a dask array's type lives in dask.array
    return type(a).__module__.startswith("dask.array")


class _DaskTargets:
    """The targets of a fit on dask arrays: the lazy ``y`` and the per-block conversion to
    what the loss takes (``losskit.dask``)."""

    def __init__(self, y: Any, targets: Any) -> None:
        self.y, self.targets = y, targets


def _has_curvature(name: str | None) -> bool:
    """Whether the loss offers second derivatives (``grad_hess``) the Newton solver can use."""
    definition = _base.DEFINITIONS.get(name) if name is not None else None
    return bool(definition and definition.get("hessians"))


def _newton_policy(loss: Any, name: str | None, joint_scale: bool) -> str:
    """The ``grad_hess`` policy Newton uses: the exact curvature where the loss is convex (the
    joint scale's derivation needs it too), else the loss's own recommendation (its first
    policy: the IRLS majorizer for Barron's non-convex losses)."""
    offered = tuple(getattr(loss, "hessians", ()) or ("exact",))
    if "exact" in offered and (joint_scale or name not in NONCONVEX_LOSSES):
        return "exact"
    return offered[0]


def _aligned(a: np.ndarray) -> np.ndarray:
    """``a``, or an aligned copy of it: blocks that dask workers hand over can be
    C-contiguous at an odd address, which the kernels' direct path (and ``gather``'s) does not
    take."""
    return a if a.flags.aligned else a.copy()


def _check_X(X: Any) -> np.ndarray:
    try:
        X = np.asarray(X)
    except Exception as exc:
        raise ValueError(f"X could not be converted to an array: {exc}") from None
    if X.dtype.kind == "c":
        raise ValueError("X must be real, got complex data")
    if X.dtype.kind not in "biuf":
        try:
            X = X.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"X must be numeric, got dtype {X.dtype}") from None
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D array of shape (n_samples, n_features), got shape {X.shape}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X must have at least one sample and one feature, got shape {X.shape}")
    dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
    X = _aligned(np.ascontiguousarray(X, dtype=dtype))
    if not np.all(np.isfinite(X)):
        raise ValueError("X contains NaN or infinity")
    return X


_PARAMS_DOC = """
    Parameters
    ----------
    loss : str or Loss, default {default!r}
        A registered loss name (``losskit.available_losses()``) or a loss object.{extra}
        A loss that holds trainable parameters of its own (``.params``, a list of arrays,
        with ``.param_grads`` filled by ``value_and_grad``; e.g. ``"adaptive_barron"``) has
        them trained together with the weights; the trained copy is ``loss_``. A full-batch
        fit of the adaptive Barron loss then raises its scale to 95% efficiency at normal
        residuals and refits (the estimators guide, "The adaptive loss in the estimators").
        ``set_params(loss__delta=0.5)`` sets a parameter of the loss (grid searches).
    penalty : {{"l2", "l1", "elasticnet", None}}, default "l2"
        Penalty on ``coef_`` (not the intercept), added to the mean loss.
    alpha : float, default {alpha}
        Penalty strength (``losskit.L2Penalty(alpha)``: ``alpha/2 ||coef_||^2``, etc.).{alpha_note}
    l1_ratio : float, default 0.15
        Elastic-net mixing (scikit-learn's convention).
    solver : {{"auto", "lbfgs", "newton", "sgd", "momentum", "nesterov", "adam", "adamw", \
"rmsprop", "adagrad"}}, default "auto"
        ``"lbfgs"`` (limited-memory BFGS) and ``"newton"`` (Newton's method with the loss's
        ``grad_hess``: the exact curvature for convex losses, the IRLS weights for Barron's;
        the L1 and quantile losses by reweighted least squares with a vanishing smoothing,
        finished exactly) minimise the penalised mean loss over the whole training set,
        deterministically, to ``tol``, in at most ``max_iter`` iterations. The others are
        minibatch update rules from :mod:`losskit.optim` ("momentum" and "nesterov": SGD
        with momentum 0.9) run for ``epochs`` epochs at ``lr``. ``"auto"``: for ``fit``,
        Newton when the loss has second derivatives and there are at most 200 features (or
        the loss is L1/quantile), else L-BFGS; minibatch Adam (SGD for the perceptron) when
        a full-batch solver cannot do the job: ``partial_fit``, a schedule as ``lr``,
        ``early_stopping``, an l1/elasticnet penalty, a loss object that is not a
        ``losskit.Loss``, the kinked margin losses (hinge, multiclass_hinge, multi_margin,
        perceptron) and epsilon_insensitive.
    optimizer : str or None, default None
        Alias of ``solver`` for the minibatch update rules (kept for older code).
    lr : float or callable, default 0.01
        Minibatch solvers: learning rate, or a schedule ``step -> lr`` (e.g.
        ``losskit.optim.cosine_decay``); training stops with a ``ConvergenceWarning`` when
        the schedule is 0 for a whole epoch.
    epochs : int, default 20
        Minibatch solvers: passes over the data in ``fit`` (``partial_fit`` makes one).
    batch_size : int, default 32
        Minibatch size (>= n_samples: full-batch gradient descent).
    max_iter : int, default 200
        Full-batch solvers: the most iterations; reaching it before ``tol`` warns
        (``ConvergenceWarning``).
    tol : float, default 1e-4
        Full-batch solvers: stop when every gradient entry (in standardised coordinates) is at
        most ``tol`` times the objective at the start (scikit-learn's LogisticRegression stops
        at ``tol`` = 1e-4 too, on its mean loss's gradient). Smaller values buy precision
        (1e-8 for coefficients to ~1e-6). With ``early_stopping``: the smallest validation
        improvement that counts.
    warm_start : bool, default False
        ``fit`` starts from the previous solution (same shapes) instead of zero weights.
    early_stopping : bool, default False
        Minibatch solvers: hold out ``validation_fraction`` of the training data, score it
        after every epoch, stop after ``n_iter_no_change`` epochs without an improvement of
        more than ``tol``, and keep the weights of the best score.
    validation_fraction : float, default 0.1
    n_iter_no_change : int, default 5
    clip_norm : float or None
        Minibatch solvers: clip the total gradient norm (``losskit.clip_grad_norm``) before
        each step.
    fit_intercept : bool, default True
    shuffle : bool, default True
        Random minibatch order per epoch (``losskit.MinibatchSampler``).
    optimizer_params : dict, optional
        Extra keywords for the update rule (e.g. ``{{"momentum": 0.5}}``, ``{{"betas": ...}}``).
    random_state : int, numpy random generator or None
        Seed of the minibatch order and of the early-stopping split.
    verbose : int, default 0
        Report progress on stderr: a bar on a terminal, a line every tenth of the run
        elsewhere (Jupyter, logs).
{more}
    Attributes
    ----------
    coef_ : ndarray
    intercept_ : ndarray of shape (n_outputs,)
    n_iter_ : int
        Iterations (full-batch solvers) or epochs (minibatch solvers) run by the last
        ``fit`` (``partial_fit``: epochs so far).
    loss_curve_ : list of float
        The objective (mean loss + penalty) after each iteration (full batch: the first
        entry is at the start), or averaged over each epoch's batches (minibatches).
    solver_ : str
        The solver the last call ran.
    loss_ : Loss
        The loss object that was trained (with its learned parameters, if any).
    t_ : int
        Minibatch steps so far.
    n_features_in_ : int
        The number of features seen by ``fit``.
    validation_scores_, best_validation_score_ : list of float, float
        With ``early_stopping``: the validation score after each epoch, and the best.
"""

_REGRESSOR_MORE = """    scale : "auto" or float, default "auto"
        For losses whose parameter is in units of the residual (huber, smooth_l1,
        pseudo_huber, log_cosh, epsilon_insensitive, barron): "auto" estimates the residual
        scale ``sigma`` jointly with the weights, minimising
        ``mean_i sigma (l((x_i w + b - y_i) / sigma) + 1/2) + alpha/2 ||w||^2`` (Huber's
        concomitant scale, as scikit-learn's ``HuberRegressor``, whose objective this is, up
        to a factor 2 n_samples), so ``delta`` is in units of sigma and the fit is
        scale-equivariant (y times k gives ``coef_`` times k, without a penalty); a float fixes
        sigma (1.0: the loss on raw residuals). Minibatch solvers fix sigma at the start
        (the targets' scaled median absolute deviation). Other losses ignore it.
"""

_CLASSIFIER_MORE = """    class_weight : dict, "balanced" or None, default None
        Weights per class, multiplying the sample weights (scikit-learn's convention;
        "balanced": n_samples / (n_classes * count of the class)).
"""


class LinearRegressor(_RegressorMixin, _LinearModel):
    __doc__ = (
        """Linear regression ``X @ coef_.T + intercept_`` trained with any losskit loss.

    ``y`` of shape (n_samples,) or (n_samples, n_outputs). Trained by default with a
    full-batch solver to convergence (see ``solver``), on raw features: the solvers work in
    standardised coordinates internally (without copying ``X``; float32 data stays float32).

    Examples
    --------
    >>> import numpy as np, losskit
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(size=(200, 1)); y = 0.7 * X[:, 0] + 0.15 + rng.normal(0, 0.01, 200)
    >>> y[:20] = 3.0                                        # gross outliers
    >>> m = losskit.LinearRegressor(losskit.HuberLoss(delta=1.35)).fit(X, y)
    >>> print(np.round(m.coef_, 2), np.round(m.intercept_, 2), m.solver_)
    [0.7] [0.15] newton
"""
        + _PARAMS_DOC.format(default="mse", extra=" Any elementwise loss of (input, target).",
                             more=_REGRESSOR_MORE, alpha="0.0", alpha_note="""
        (no penalty, as LinearRegression and, up to a negligible 1e-4 / n_samples,
        HuberRegressor: a penalty on raw coefficients depends on the units of X and y,
        and bounded-gradient losses feel it far more than the squared error does).""")
        + """    scale_ : float or None
        The residual scale sigma the loss was fitted with (None: the loss takes no scale).
"""
    )

    _default_loss = "mse"

    def __init__(
        self,
        loss: Any = "mse",
        *,
        penalty: str | None = "l2",
        alpha: float = 0.0,
        l1_ratio: float = 0.15,
        solver: str = "auto",
        optimizer: str | None = None,
        lr: Any = 0.01,
        epochs: int = 20,
        batch_size: int = 32,
        max_iter: int = 200,
        tol: float = 1e-4,
        scale: Any = "auto",
        warm_start: bool = False,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 5,
        clip_norm: float | None = None,
        fit_intercept: bool = True,
        shuffle: bool = True,
        optimizer_params: dict[str, Any] | None = None,
        random_state: Any = None,
        verbose: int = 0,
    ) -> None:
        super().__init__(
            loss, penalty=penalty, alpha=alpha, l1_ratio=l1_ratio, solver=solver,
            optimizer=optimizer, lr=lr, epochs=epochs, batch_size=batch_size,
            max_iter=max_iter, tol=tol, warm_start=warm_start, early_stopping=early_stopping,
            validation_fraction=validation_fraction, n_iter_no_change=n_iter_no_change,
            clip_norm=clip_norm, fit_intercept=fit_intercept, shuffle=shuffle,
            optimizer_params=optimizer_params, random_state=random_state, verbose=verbose,
        )
        self.scale = scale

    if HAVE_SKLEARN:
        def __sklearn_tags__(self) -> Any:
            tags = super().__sklearn_tags__()
            tags.target_tags.multi_output = True
            return tags

    def _check_hyper(self) -> None:
        super()._check_hyper()
        if not (isinstance(self.scale, str) and self.scale == "auto"):
            if isinstance(self.scale, str):
                raise ValueError(f"scale must be 'auto' or a positive number, got {self.scale!r}")
            _check_real("scale", self.scale, 0.0, math.inf, lo_open=True, hi_open=True)
        name = self._loss_name
        if name in NOT_FOR_REGRESSION:
            raise ValueError(
                f"loss {name!r} is not a regression loss of (input, target); use "
                f"LinearClassifier for classification losses"
            )

    def _scale_mode(self, loss: Any, full_batch: bool = True) -> Any:
        """None (the loss takes raw residuals), "auto" or a fixed float."""
        name = self._loss_name
        if name not in SCALE_LOSSES:
            return None
        if has_latent_params(loss) and not (full_batch and name == "adaptive_barron"):
            return None
        return "auto" if isinstance(self.scale, str) else float(self.scale)

    def _intercept_start(self, Y: np.ndarray) -> np.ndarray:
        """The intercept's starting value: the mean of y for the squared error (its optimum
        at zero weights), the median for every other loss (robust to the outliers)."""
        if self._loss_name == "mse":
            return np.asarray(Y.mean(axis=0), dtype=np.float64)
        if self._loss_name in LOG_LINK_LOSSES:  # the log of the mean: the optimum at zero weights
            mean = np.asarray(Y.mean(axis=0), dtype=np.float64)
            return np.log(np.where(mean > 0, mean, 1.0))
        return np.median(Y, axis=0).astype(np.float64)

    def _targets(self, y: np.ndarray, dtype: Any = np.float64) -> np.ndarray:
        Y = y.reshape(len(y), -1) if y.ndim == 1 else y
        return np.ascontiguousarray(Y, dtype=dtype)

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> LinearRegressor:
        """Fit the model: to convergence with a full-batch solver, or ``epochs`` epochs of
        minibatches (see ``solver``), from zero weights (``warm_start``: from the last fit).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            float32 data is used as it is (no float64 copy); other dtypes become float64.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weights: the loss is their weighted mean (integer weights fit as
            the rows repeated).

        Returns
        -------
        self
        """
        with self._unchanged_on_error():
            if _is_dask_array(X):
                return self._fit_dask(X, y, sample_weight)
            return self._fit(X, y, sample_weight)

    def _fit(self, X: Any, y: Any, sample_weight: Any) -> LinearRegressor:
        self._check_hyper()
        X, y = self._validate(X, y, reset=True)
        sw = self._sample_weight(sample_weight, X.shape[0])
        Y = self._targets(y, X.dtype)
        k = Y.shape[1]
        self._n_features_now = X.shape[1]
        solver = self._resolve_solver(partial=False)
        warm = (self.warm_start and hasattr(self, "coef_")
                and np.size(self.coef_) == X.shape[1] * k and np.size(self.intercept_) == k)
        if solver in FULL_BATCH_SOLVERS:
            loss, _ = self._resolve_loss(k, "sum")
            mode = self._scale_mode(loss)
            scale0 = _robust_scale(Y, sw) if mode == "auto" else (mode or 1.0)
            if warm:
                W0 = np.reshape(self.coef_, (k, -1)).T.astype(np.float64)
                b0 = np.reshape(self.intercept_, k).astype(np.float64)
                s0 = self.scale_ if mode == "auto" and getattr(self, "scale_", None) else scale0
            else:
                W0, b0, s0 = np.zeros((X.shape[1], k)), np.zeros(k), scale0
                if self.fit_intercept:
                    b0 = self._intercept_start(Y)
            cold = (np.zeros((X.shape[1], k)),
                    self._intercept_start(Y) if self.fit_intercept else np.zeros(k),
                    scale0) if warm else None
            W, b, scale_, res = self._full_batch(X, Y, sw, k, loss, solver, (W0, b0, s0),
                                                 mode, scale0, mean_over_outputs=True, cold=cold)
            self._y_1d = y.ndim == 1
            self.loss_ = loss
            self._trainer = None
            self.coef_ = W[:, 0].copy() if self._y_1d else np.ascontiguousarray(W.T)
            self.intercept_ = b
            self.scale_ = scale_
            self.n_iter_ = res.n_iter
            self.loss_curve_ = list(res.curve)
            self.t_ = 0
            self.solver_ = solver
            return self
        previous = (self.coef_, self.intercept_) if warm else None
        self._y_1d = y.ndim == 1
        self._start(X, Y, solver, sw)
        if previous is not None:
            np.copyto(self._trainer.W, np.reshape(previous[0], (k, -1)).T)
            np.copyto(self._trainer.b, np.reshape(previous[1], k))
        if self.early_stopping:
            train, val = self._split_validation(X.shape[0])
            self.validation_scores_ = []
            self._minibatch(np.ascontiguousarray(X[train]), Y[train],
                            None if sw is None else sw[train], self.epochs,
                            validation=(X[val], y[val]))
        else:
            self._minibatch(X, Y, sw, self.epochs)
        return self

    def _start(self, X: np.ndarray, Y: np.ndarray, solver: str, sw: np.ndarray | None) -> None:
        loss, scale_sum = self._resolve_loss(Y.shape[1], "mean")
        mode = self._scale_mode(loss, full_batch=False)
        scale = _robust_scale(Y, sw) if mode == "auto" else mode
        self.loss_ = loss
        self.scale_ = scale
        self._trainer = _Trainer(self, X.shape[1], Y.shape[1], loss, scale_sum, Y.dtype,
                                 Y.shape[1], x_dtype=X.dtype, scale=scale, optimizer=solver)
        if self.fit_intercept:
            self._trainer.b[:] = np.median(Y, axis=0)
        self.loss_curve_: list[float] = []
        self.solver_ = solver
        self._publish()

    def _publish(self) -> None:
        tr = self._trainer
        self.coef_ = tr.W[:, 0] if self._y_1d else tr.W.T
        self.intercept_ = tr.b

    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> LinearRegressor:
        """One epoch of minibatches over (X, y), continuing from the current weights (those
        of a full-batch ``fit`` included) and optimizer state."""
        with self._unchanged_on_error():
            self._check_hyper()
            first = not hasattr(self, "coef_")
            X, y = self._validate(X, y, reset=first)
            sw = self._sample_weight(sample_weight, X.shape[0])
            Y = self._targets(y, X.dtype)
            if first:
                self._y_1d = y.ndim == 1
            elif Y.shape[1] != np.reshape(self.intercept_, -1).shape[0]:
                raise ValueError(f"y has {Y.shape[1]} outputs, the model was fitted with "
                                 f"{np.size(self.intercept_)}")
            solver = self._resolve_solver(partial=True)
            if getattr(self, "_trainer", None) is None:
                previous = None if first else (self.coef_, self.intercept_, self.loss_curve_)
                self._start(X, Y, solver, sw)
                if previous is not None:
                    k = Y.shape[1]
                    np.copyto(self._trainer.W, np.reshape(previous[0], (k, -1)).T)
                    np.copyto(self._trainer.b, np.reshape(previous[1], k))
                    self.loss_curve_ = list(previous[2])
                    self._publish()
            self._minibatch(X, Y, sw, 1)
            return self

    def predict(self, X: Any) -> np.ndarray:
        """Predictions, shape (n_samples,) or (n_samples, n_outputs): the linear model, or its
        exp for the losses on a log link (``poisson``, ``gamma``, ``tweedie``: the model is the
        log of the mean, as in scikit-learn's PoissonRegressor)."""
        out = self._decision(X)
        if self._loss_name in LOG_LINK_LOSSES:
            out = np.exp(out)
        return out[:, 0] if self._y_1d else out

    def _dask_targets(self, X: Any, y: Any, w: Any) -> tuple[int, Any, np.ndarray, Any]:
        """(score columns, the per-block target conversion, the first block's targets and
        weights) of a fit on dask arrays."""
        from . import dask as _dask

        if y.dtype.kind not in "biuf":
            raise ValueError(f"y must be numeric for regression, got dtype {y.dtype}")
        k = 1 if y.ndim == 1 else y.shape[1]
        targets = _dask.RegressionTargets(k, X.dtype)
        first_w = None if w is None else np.asarray(w.blocks[0].compute(), dtype=np.float64)
        return k, targets, targets(np.asarray(y.blocks[0].compute()), None)[0], first_w


class LinearClassifier(_ClassifierMixin, _LinearModel):
    __doc__ = (
        """Linear classifier trained with any losskit classification loss.

    * ``"cross_entropy"`` (softmax regression), ``"multiclass_hinge"`` (the multiclass SVM) and
      ``"multi_margin"``: one score column per class, trained together on (N, C) scores.
      With two classes, cross-entropy is logistic regression on one score column (the same
      model: softmax over (0, s) is the logistic function of s), so ``coef_`` has shape
      (1, n_features) as in scikit-learn.
    * the binary margin losses (``"hinge"``, ``"squared_hinge"``, ``"modified_huber"``,
      ``"perceptron"``, ``"soft_margin"``, targets -1/+1) and ``"bce_with_logits"``
      (targets 0/1): one-vs-rest, one score column per class (a single column for two
      classes), all columns trained in one pass (the loss summed over columns, averaged over
      samples).

    ``predict_proba`` exists for the probabilistic losses: softmax for ``cross_entropy``,
    the logistic function for ``bce_with_logits`` and ``soft_margin``, scikit-learn's
    ``(clip(s, -1, 1) + 1) / 2`` for ``modified_huber`` (one-vs-rest probabilities
    normalised to sum to 1). ``decision_function`` gives the scores ((N,) for two classes).
    With solver "newton" and more than two classes, each class's block of the Hessian
    (from the diagonal curvature p(1 - p) of ``grad_hess``) is used, the coupling between
    classes left to the line search.

    Examples
    --------
    >>> import numpy as np, losskit
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2)); y = np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")
    >>> clf = losskit.LinearClassifier().fit(X, y)
    >>> clf.coef_.shape, clf.score(X, y) > 0.95
    ((1, 2), True)
"""
        + _PARAMS_DOC.format(default="cross_entropy",
                             extra=" One of: " + ", ".join(CLASSIFICATION_LOSSES) + ".",
                             more=_CLASSIFIER_MORE, alpha="1e-3",
                             alpha_note="""
        (about scikit-learn's LogisticRegression default C = 1 for a thousand samples,
        which is 1 / (C n_samples) here: a weaker penalty lets the weights of nearly
        separable or mislabelled data grow, and fits noise).""")
    )

    _default_loss = "cross_entropy"
    _regression = False

    def __init__(
        self,
        loss: Any = "cross_entropy",
        *,
        penalty: str | None = "l2",
        alpha: float = 1e-3,
        l1_ratio: float = 0.15,
        solver: str = "auto",
        optimizer: str | None = None,
        lr: Any = 0.01,
        epochs: int = 20,
        batch_size: int = 32,
        max_iter: int = 200,
        tol: float = 1e-4,
        class_weight: Any = None,
        warm_start: bool = False,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 5,
        clip_norm: float | None = None,
        fit_intercept: bool = True,
        shuffle: bool = True,
        optimizer_params: dict[str, Any] | None = None,
        random_state: Any = None,
        verbose: int = 0,
    ) -> None:
        super().__init__(
            loss, penalty=penalty, alpha=alpha, l1_ratio=l1_ratio, solver=solver,
            optimizer=optimizer, lr=lr, epochs=epochs, batch_size=batch_size,
            max_iter=max_iter, tol=tol, warm_start=warm_start, early_stopping=early_stopping,
            validation_fraction=validation_fraction, n_iter_no_change=n_iter_no_change,
            clip_norm=clip_norm, fit_intercept=fit_intercept, shuffle=shuffle,
            optimizer_params=optimizer_params, random_state=random_state, verbose=verbose,
        )
        self.class_weight = class_weight

    def _check_hyper(self) -> None:
        super()._check_hyper()
        cw = self.class_weight
        if not (cw is None or (isinstance(cw, str) and cw == "balanced") or isinstance(cw, dict)):
            raise ValueError(f"class_weight must be None, 'balanced' or a dict, got {cw!r}")
        if isinstance(cw, dict):
            for label, weight in cw.items():
                _check_real(f"class_weight[{label!r}]", weight, 0.0, math.inf, hi_open=True)
        self._kind(3)

    def _kind(self, n_classes: int) -> str:
        name = self._loss_name
        if name == "cross_entropy" and n_classes == 2:
            return "logit"  # binary softmax = logistic regression on one column
        if name in ROWWISE_CLASSIFICATION:
            return "rowwise"
        if name in MARGIN_LOSSES:
            return "margin"
        if name in LOGIT_LOSSES:
            return "logit"
        raise ValueError(
            f"loss {name!r} cannot train a LinearClassifier; valid losses: "
            f"{', '.join(CLASSIFICATION_LOSSES)}"
        )

    def _binary_ce(self) -> bool:
        return self._loss_name == "cross_entropy" and len(self.classes_) == 2

    def _encode(self, y: np.ndarray) -> np.ndarray:
        """Labels -> int64 positions in classes_; unseen labels raise ValueError."""
        classes = self.classes_
        pos = np.searchsorted(classes, y)
        pos = np.clip(pos, 0, len(classes) - 1)
        bad = classes[pos] != y
        if np.any(bad):
            unseen = np.unique(y[bad])
            raise ValueError(
                f"y contains labels not in classes_ {classes.tolist()}: {unseen.tolist()[:10]}"
                " (pass every label in `classes` on the first call to partial_fit)"
            )
        return pos.astype(np.int64)

    def _ce_option(self, key: str, default: Any) -> Any:
        spec = self.loss
        if isinstance(spec, _base.Loss) and isinstance(getattr(spec, "params", None), dict):
            value = spec.params.get(key, default)
            return default if value is None else value
        return default

    def _targets(self, codes: np.ndarray, dtype: Any = np.float64) -> np.ndarray:
        C = len(self.classes_)
        kind = self._kind(C)
        if kind == "rowwise":
            return np.ascontiguousarray(codes, dtype=np.int64)
        neg = 0.0 if kind == "logit" else -1.0
        pos = 1.0
        if self._binary_ce():
            # label smoothing eps of a two-class softmax puts eps/2 on the other class
            eps = float(self._ce_option("label_smoothing", 0.0))
            neg, pos = eps / 2, 1.0 - eps / 2
        if C == 2:
            T = np.where(codes == 1, pos, neg).reshape(-1, 1)
        else:
            T = np.full((len(codes), C), neg)
            T[np.arange(len(codes)), codes] = pos
        return np.ascontiguousarray(T, dtype=dtype)

    def _class_weights(self, codes: np.ndarray, sw: np.ndarray | None) -> np.ndarray | None:
        """Sample weights times class_weight (and a binary cross-entropy's class ``weight``)."""
        C = len(self.classes_)
        per_class = np.ones(C)
        cw = self.class_weight
        if isinstance(cw, str):  # "balanced"
            counts = np.bincount(codes, minlength=C).astype(np.float64)
            per_class = np.where(counts > 0, len(codes) / (C * np.maximum(counts, 1)), 0.0)
        elif isinstance(cw, dict):
            for label, weight in cw.items():
                hit = np.flatnonzero(self.classes_ == label) if np.asarray(label).dtype.kind == \
                    self.classes_.dtype.kind or self.classes_.dtype.kind in "iuf" else []
                if len(hit) == 0:
                    raise ValueError(f"class_weight has label {label!r}, not among the "
                                     f"classes {self.classes_.tolist()}")
                per_class[hit[0]] = float(weight)
        if self._binary_ce():
            weight = self._ce_option("weight", None)
            if weight is not None:
                per_class = per_class * np.asarray(weight, dtype=np.float64)
        if np.all(per_class == 1.0):
            return sw
        w = per_class[codes]
        return w if sw is None else w * sw

    def _training_loss(self, k: int, reduction: str) -> tuple[Any, bool]:
        if self._binary_ce():
            return _base.get_loss("bce_with_logits", reduction=reduction), reduction == "sum"
        return self._resolve_loss(k, reduction)

    def _columns(self) -> int:
        C = len(self.classes_)
        return C if (self._kind(C) == "rowwise" or C > 2) else 1

    def _start(self, X: np.ndarray, classes: np.ndarray, solver: str) -> None:
        if len(classes) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes; got 1 class "
                f"({classes.tolist()})"
            )
        self.classes_ = classes
        k = self._columns()
        kind = self._kind(len(classes))
        # one-vs-rest: the loss summed over columns, divided by the batch's weight in the loop
        loss, scale_sum = self._training_loss(k, "mean" if kind == "rowwise" else "sum")
        self.loss_ = loss
        if kind == "rowwise":
            self._trainer = _Trainer(self, X.shape[1], k, loss, scale_sum, np.int64, None,
                                     x_dtype=X.dtype, optimizer=solver)
        else:
            self._trainer = _Trainer(self, X.shape[1], k, loss, scale_sum, X.dtype, k,
                                     x_dtype=X.dtype, optimizer=solver)
        self.loss_curve_: list[float] = []
        self.solver_ = solver
        self._publish()

    def _publish(self) -> None:
        self.coef_ = self._trainer.W.T
        self.intercept_ = self._trainer.b

    def _check_y(self, y: np.ndarray) -> None:
        if HAVE_SKLEARN:
            _sk_check_targets(y)
        elif y.dtype.kind == "f" and not np.all(np.isfinite(y) & (y == np.round(y))):
            raise ValueError("Unknown label type: continuous targets; LinearClassifier needs "
                             "class labels")

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> LinearClassifier:
        """Fit the model (see ``solver``); ``classes_`` = the sorted labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            float32 data is used as it is (no float64 copy); other dtypes become float64.
        y : array-like of shape (n_samples,)
            Class labels (numbers or strings).
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weights (times ``class_weight``).

        Returns
        -------
        self
        """
        with self._unchanged_on_error():
            if _is_dask_array(X):
                return self._fit_dask(X, y, sample_weight)
            return self._fit(X, y, sample_weight)

    def _fit(self, X: Any, y: Any, sample_weight: Any) -> LinearClassifier:
        self._check_hyper()
        X, y = self._validate(X, y, reset=True, regression=False)
        self._check_y(y)
        sw = self._sample_weight(sample_weight, X.shape[0])
        classes = np.unique(y)
        if len(classes) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes; got 1 class "
                f"({classes.tolist()})"
            )
        old_classes = getattr(self, "classes_", None)
        self.classes_ = classes
        codes = self._encode(y)
        sw = self._class_weights(codes, sw)
        self._n_features_now = X.shape[1]
        self._n_classes_now = len(classes)
        solver = self._resolve_solver(partial=False)
        k = self._columns()
        warm = (self.warm_start and hasattr(self, "coef_") and old_classes is not None
                and np.array_equal(old_classes, classes) and np.shape(self.coef_) == (k, X.shape[1]))
        if solver in FULL_BATCH_SOLVERS:
            loss, _ = self._training_loss(k, "sum")
            T = self._targets(codes, X.dtype)
            if warm:
                W0 = np.asarray(self.coef_, dtype=np.float64).T.copy()
                b0 = np.asarray(self.intercept_, dtype=np.float64).copy()
            else:
                W0, b0 = np.zeros((X.shape[1], k)), np.zeros(k)
            cold = (np.zeros((X.shape[1], k)), np.zeros(k), None) if warm else None
            W, b, _, res = self._full_batch(X, T, sw, k, loss, solver, (W0, b0, None), None,
                                            1.0, mean_over_outputs=False, cold=cold)
            self.loss_ = loss
            self._trainer = None
            self.coef_ = np.ascontiguousarray(W.T)
            self.intercept_ = b
            self.n_iter_ = res.n_iter
            self.loss_curve_ = list(res.curve)
            self.t_ = 0
            self.solver_ = solver
            return self
        previous = (self.coef_, self.intercept_) if warm else None
        self._start(X, classes, solver)
        if previous is not None:
            np.copyto(self._trainer.W, np.asarray(previous[0]).T)
            np.copyto(self._trainer.b, previous[1])
        T = self._targets(codes, X.dtype)
        if self.early_stopping:
            train, val = self._split_validation(X.shape[0], classes, codes)
            self.validation_scores_ = []
            self._minibatch(np.ascontiguousarray(X[train]), T[train],
                            None if sw is None else sw[train], self.epochs,
                            validation=(X[val], y[val]))
        else:
            self._minibatch(X, T, sw, self.epochs)
        return self

    def _dask_targets(self, X: Any, y: Any, w: Any) -> tuple[int, Any, None, None]:
        """(score columns, the per-block target conversion) of a fit on dask arrays; the
        classes are found in one pass over y."""
        from . import dask as _dask

        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1:
            raise ValueError(f"y must be 1-D (one label per sample), got shape {y.shape}")
        classes, counts = (np.asarray(a) for a in
                           _dask.dask.compute(*_dask.da.unique(y, return_counts=True)))
        self._check_y(classes)
        if len(classes) < 2:
            raise ValueError(f"{type(self).__name__} needs samples of at least 2 classes; got "
                             f"1 class ({classes.tolist()})")
        self.classes_ = classes
        self._n_classes_now = len(classes)
        encoder = type(self)(**self.get_params(deep=False))
        encoder.classes_ = classes
        if isinstance(self.class_weight, str):  # "balanced", from the counts of all blocks
            encoder.class_weight = dict(zip(classes.tolist(),
                                            (len(y) / (len(classes) * counts)).tolist()))
        return self._columns(), _dask.LabelTargets(encoder, X.dtype), None, None

    def partial_fit(self, X: Any, y: Any, classes: Any = None,
                    sample_weight: Any = None) -> LinearClassifier:
        """One epoch of minibatches over (X, y), continuing from the current state.

        ``classes`` (every label the model will see) may be given on the first call; without
        it the labels of the first call are the classes. Labels outside ``classes_`` raise
        ValueError.
        """
        with self._unchanged_on_error():
            self._check_hyper()
            first = not hasattr(self, "coef_")
            X, y = self._validate(X, y, reset=first, regression=False)
            self._check_y(y)
            sw = self._sample_weight(sample_weight, X.shape[0])
            solver = self._resolve_solver(partial=True)
            if first:
                cls = np.unique(y) if classes is None else np.unique(np.asarray(classes))
                self._start(X, cls, solver)
            else:
                if classes is not None and not np.array_equal(np.unique(np.asarray(classes)),
                                                              self.classes_):
                    raise ValueError(f"classes {np.unique(np.asarray(classes)).tolist()} differ "
                                     f"from classes_ {self.classes_.tolist()} of the first call")
                if getattr(self, "_trainer", None) is None:  # after a full-batch fit
                    previous = (self.coef_, self.intercept_, self.loss_curve_)
                    self._start(X, self.classes_, solver)
                    np.copyto(self._trainer.W, np.asarray(previous[0]).T)
                    np.copyto(self._trainer.b, previous[1])
                    self.loss_curve_ = list(previous[2])
                    self._publish()
            codes = self._encode(y)
            sw = self._class_weights(codes, sw)
            T = self._targets(codes, X.dtype)
            self._minibatch(X, T, sw, 1)
            return self

    def decision_function(self, X: Any) -> np.ndarray:
        """Scores: (n_samples, n_classes), or (n_samples,) for two classes (> 0: classes_[1])."""
        S = self._decision(X)
        if len(self.classes_) == 2:
            return S[:, 1] - S[:, 0] if S.shape[1] == 2 else S[:, 0]
        return S

    def predict(self, X: Any) -> np.ndarray:
        """The class of the highest score."""
        d = self.decision_function(X)
        if d.ndim == 1:
            return self.classes_[(d > 0).astype(np.intp)]
        return self.classes_[np.argmax(d, axis=1)]

    def _has_proba(self) -> bool:
        return self._loss_name in PROBABILISTIC_LOSSES

    @_available_if(_has_proba)
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes), rows summing to 1."""
        S = np.asarray(self._decision(X), dtype=np.float64)
        name = self._loss_name
        if name == "cross_entropy" and S.shape[1] > 1:
            S = S - S.max(axis=1, keepdims=True)
            np.exp(S, out=S)
            S /= S.sum(axis=1, keepdims=True)
            return S
        if name == "modified_huber":
            P = (np.clip(S, -1.0, 1.0) + 1.0) / 2.0
        else:  # logistic
            P = 0.5 * (1.0 + np.tanh(0.5 * S))
        if P.shape[1] == 1:
            return np.hstack([1.0 - P, P])
        total = P.sum(axis=1, keepdims=True)
        uniform = total[:, 0] == 0
        P[uniform] = 1.0
        total[uniform] = P.shape[1]
        return P / total

    @_available_if(_has_proba)
    def predict_log_proba(self, X: Any) -> np.ndarray:
        """log of :meth:`predict_proba`."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))
