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

import copy
import inspect
import numbers
from typing import Any

import numpy as np

from . import _base, optim
from ._progress import Progress
from ._utils import ElasticNetPenalty, L1Penalty, L2Penalty, MinibatchSampler, clip_grad_norm, gather
from ._validation import check_count

__all__ = ["LinearRegressor", "LinearClassifier"]

try:  # scikit-learn is an optional extra ("losskit[sklearn]")
    from sklearn.base import BaseEstimator as _Base
    from sklearn.base import ClassifierMixin as _ClassifierMixin
    from sklearn.base import RegressorMixin as _RegressorMixin
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
    OPTIMIZERS,
    PENALTIES,
    PROBABILISTIC_LOSSES,
    ROWWISE_CLASSIFICATION,
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
    """The training state between calls: parameters, optimizer, sampler seed, buffers."""

    def __init__(self, est: Any, n_features: int, n_outputs: int, loss: Any, scale_sum: bool,
                 target_dtype: Any, target_cols: int | None) -> None:
        # W is (n_features, n_outputs), C-contiguous: the two products per step are plain
        # GEMMs (X @ W, X.T @ G); coef_ is its transpose (a view)
        self.W = np.zeros((n_features, n_outputs))
        self.b = np.zeros(n_outputs)
        self.gW = np.empty_like(self.W)
        self.gb = np.empty_like(self.b)
        self.pg = np.empty_like(self.W)
        self.loss = loss
        self.scale_sum = scale_sum  # loss reduction is "sum": divide by the batch size
        self.latent = has_latent_params(loss)
        self.fit_intercept = bool(est.fit_intercept)
        self.penalty = _make_penalty(est.penalty, est.alpha, est.l1_ratio)
        self.clip_norm = est.clip_norm
        if self.clip_norm is not None and not (isinstance(self.clip_norm, numbers.Real)
                                               and self.clip_norm > 0):
            raise ValueError(f"clip_norm must be a positive number or None, got {self.clip_norm!r}")
        self.batch_size = check_count("batch_size", est.batch_size, minimum=1)
        self.shuffle = bool(est.shuffle)
        params = [self.W, self.b] if self.fit_intercept else [self.W]
        self.latent_grads: list[np.ndarray] = []
        if self.latent:
            params += list(loss.params)
            self.latent_grads = [np.empty_like(p) for p in loss.params]
        extra = dict(est.optimizer_params or {})
        self.opt = _make_optimizer(est.optimizer, params, est.lr, extra)
        self.grads = [self.gW, self.gb] if self.fit_intercept else [self.gW]
        self.grads += self.latent_grads
        self.seed = _seed_from(est.random_state)
        if self.seed is None:
            self.seed = int(np.random.SeedSequence().generate_state(1, np.uint64)[0])
        self.epoch = 0
        self.target_dtype = target_dtype
        self.target_cols = target_cols
        self._buffers: dict[int, tuple[np.ndarray, ...]] = {}

    def _buffers_for(self, m: int, n_features: int) -> tuple[np.ndarray, ...]:
        buf = self._buffers.get(m)
        if buf is None:
            k = self.W.shape[1]
            tshape = (m,) if self.target_cols is None else (m, self.target_cols)
            buf = (np.empty((m, n_features)), np.empty(tshape, dtype=self.target_dtype),
                   np.empty((m, k)), np.empty((m, k)), np.ones(m))
            self._buffers[m] = buf
        return buf

    def epoch_pass(self, X: np.ndarray, T: np.ndarray) -> float:
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
        for idx in sampler:
            m = len(idx)
            Xb, Tb, S, G, ones = self._buffers_for(m, d)
            if full:
                Xb, Tb = X, T
            else:
                gather(X, idx, out=Xb)
                gather(T, idx, out=Tb)
            np.matmul(Xb, W, out=S)
            if self.fit_intercept:
                S += b
            value, _ = loss.value_and_grad(S, Tb, out=G)
            value = float(value)
            if self.scale_sum:
                G *= 1.0 / m
                value /= m
            np.matmul(Xb.T, G, out=gW)
            if self.fit_intercept:
                np.matmul(ones, G, out=gb)  # column sums (np.sum over axis 0 is slower)
            if self.latent:
                for dst, src in zip(self.latent_grads, loss.param_grads):
                    np.multiply(src, 1.0 / m if self.scale_sum else 1.0, out=dst)
            if penalty is not None:
                pv, _ = penalty.value_and_grad(W, out=self.pg)
                gW += self.pg
                value += pv
            if self.clip_norm is not None:
                clip_grad_norm(self.grads, self.clip_norm)
            opt.step(self.grads)
            total += value * m
        return total / n


class _LinearModel(_Base):
    """Shared constructor and training loop of the two estimators."""

    _default_loss = "mse"

    def __init__(
        self,
        loss: Any = None,
        *,
        penalty: str | None = "l2",
        alpha: float = 1e-4,
        l1_ratio: float = 0.15,
        optimizer: str = "adam",
        lr: Any = 0.01,
        epochs: int = 20,
        batch_size: int = 32,
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
        self.optimizer = optimizer
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.clip_norm = clip_norm
        self.fit_intercept = fit_intercept
        self.shuffle = shuffle
        self.optimizer_params = optimizer_params
        self.random_state = random_state
        self.verbose = verbose

    # -- validation ------------------------------------------------------------------------
    def _validate(self, X: Any, y: Any = None, reset: bool = True, regression: bool = True,
                  no_y: bool = False) -> Any:
        if HAVE_SKLEARN:
            if no_y:
                return _sk_validate_data(self, X, dtype=np.float64, order="C", reset=reset)
            return _sk_validate_data(self, X, y, dtype=np.float64, order="C", reset=reset,
                                     multi_output=regression, y_numeric=regression)
        X = _check_X(X)
        if reset:
            self.n_features_in_ = X.shape[1]
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
        return X, y

    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet; call 'fit' first"
            )

    def _check_hyper(self) -> None:
        check_count("epochs", self.epochs, minimum=1)
        check_count("batch_size", self.batch_size, minimum=1)
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"unknown optimizer {self.optimizer!r}; valid optimizers: {', '.join(OPTIMIZERS)}"
            )
        _make_penalty(self.penalty, self.alpha, self.l1_ratio)

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
            return loss, red == "sum"
        if isinstance(spec, _base.Loss):
            params = dict(spec.params, reduction=reduction)
            return _base.get_loss(spec.name, **params), reduction == "sum"
        red = getattr(spec, "reduction", "mean")
        return spec, red == "sum"

    def _progress(self, total: int) -> Progress:
        return Progress(total, type(self).__name__, enabled=None if self.verbose else False)

    def _train(self, X: np.ndarray, T: np.ndarray, epochs: int) -> None:
        tr = self._trainer
        # a coef_/intercept_ replaced by the user (or unpickled apart from the trainer) is used
        if not np.shares_memory(self.coef_, tr.W):
            d, k = tr.W.shape
            np.copyto(tr.W, np.reshape(self.coef_, (k, d)).T)
            np.copyto(tr.b, np.reshape(self.intercept_, tr.b.shape))
        with self._progress(epochs) as bar:
            for _ in range(epochs):
                value = tr.epoch_pass(X, T)
                self.loss_curve_.append(value)
                bar.update(1, loss=value)
        self.n_iter_ = len(self.loss_curve_)
        self.t_ = tr.opt.step_count
        self._publish()

    def _publish(self) -> None:
        raise NotImplementedError

    @property
    def _loss_name(self) -> str | None:
        return loss_name(self._default_loss if self.loss is None else self.loss)

    def _decision(self, X: Any) -> np.ndarray:
        self._check_fitted()
        X = self._validate(X, reset=False, no_y=True)
        # (n_features, n_outputs) C-contiguous: a plain GEMM (X @ coef_.T on a C-ordered
        # coef_ can take a much slower BLAS path)
        W = np.ascontiguousarray(np.reshape(self.coef_, (-1, X.shape[1])).T)
        return X @ W + np.reshape(self.intercept_, -1)


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
    X = np.ascontiguousarray(X, dtype=np.float64)
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
        them trained together with the weights; the trained copy is ``loss_``.
    penalty : {{"l2", "l1", "elasticnet", None}}, default "l2"
        Penalty on ``coef_`` (not the intercept), added to the gradient.
    alpha : float, default 1e-4
        Penalty strength (``losskit.L2Penalty(alpha)`` etc.).
    l1_ratio : float, default 0.15
        Elastic-net mixing (scikit-learn's convention).
    optimizer : {{"sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop", "adagrad"}}
        Update rule from :mod:`losskit.optim` ("momentum" and "nesterov": SGD with momentum
        0.9). Default "adam".
    lr : float or callable, default 0.01
        Learning rate, or a schedule ``step -> lr`` (e.g. ``losskit.optim.cosine_decay``).
    epochs : int, default 20
        Passes over the data in ``fit`` (``partial_fit`` makes one).
    batch_size : int, default 32
        Minibatch size (>= n_samples: full-batch gradient descent).
    clip_norm : float or None
        Clip the total gradient norm (``losskit.clip_grad_norm``) before each step.
    fit_intercept : bool, default True
    shuffle : bool, default True
        Random minibatch order per epoch (``losskit.MinibatchSampler``).
    optimizer_params : dict, optional
        Extra keywords for the optimizer (e.g. ``{{"momentum": 0.5}}``, ``{{"betas": ...}}``).
    random_state : int, numpy random generator or None
        Seed of the minibatch order.
    verbose : int, default 0
        Show a progress bar on stderr (only when it is a terminal).

    Attributes
    ----------
    coef_, intercept_ : arrays
    loss_curve_ : list of float
        The mean training objective (loss + penalty) of each epoch, averaged over its batches.
    loss_ : the loss object that was trained (with its learned parameters, if any)
    n_iter_ : int (epochs run), t_ : int (optimizer steps), n_features_in_ : int
"""


class LinearRegressor(_RegressorMixin, _LinearModel):
    __doc__ = (
        """Linear regression ``X @ coef_.T + intercept_`` trained with any losskit loss.

    ``y`` of shape (n_samples,) or (n_samples, n_outputs). The intercept starts at the
    median of ``y``, the weights at 0.

    >>> import numpy as np, losskit
    >>> X = np.random.default_rng(0).uniform(size=(200, 1)); y = 0.7 * X[:, 0] + 0.15
    >>> model = losskit.LinearRegressor(loss=losskit.HuberLoss(delta=0.05), epochs=50).fit(X, y)
"""
        + _PARAMS_DOC.format(default="mse", extra=" Any elementwise loss of (input, target).")
    )

    _default_loss = "mse"

    def __init__(
        self,
        loss: Any = "mse",
        *,
        penalty: str | None = "l2",
        alpha: float = 1e-4,
        l1_ratio: float = 0.15,
        optimizer: str = "adam",
        lr: Any = 0.01,
        epochs: int = 20,
        batch_size: int = 32,
        clip_norm: float | None = None,
        fit_intercept: bool = True,
        shuffle: bool = True,
        optimizer_params: dict[str, Any] | None = None,
        random_state: Any = None,
        verbose: int = 0,
    ) -> None:
        super().__init__(
            loss, penalty=penalty, alpha=alpha, l1_ratio=l1_ratio, optimizer=optimizer, lr=lr,
            epochs=epochs, batch_size=batch_size, clip_norm=clip_norm,
            fit_intercept=fit_intercept, shuffle=shuffle, optimizer_params=optimizer_params,
            random_state=random_state, verbose=verbose,
        )

    if HAVE_SKLEARN:
        def __sklearn_tags__(self) -> Any:
            tags = super().__sklearn_tags__()
            tags.target_tags.multi_output = True
            return tags

    def _start(self, X: np.ndarray, Y: np.ndarray) -> None:
        self._check_hyper()
        name = self._loss_name
        if name in NOT_FOR_REGRESSION:
            raise ValueError(
                f"loss {name!r} is not a regression loss of (input, target); use "
                f"LinearClassifier for classification losses"
            )
        loss, scale_sum = self._resolve_loss(Y.shape[1], "mean")
        self.loss_ = loss
        self._trainer = _Trainer(self, X.shape[1], Y.shape[1], loss, scale_sum, np.float64, Y.shape[1])
        if self.fit_intercept:
            self._trainer.b[:] = np.median(Y, axis=0)
        self.loss_curve_: list[float] = []
        self._publish()

    def _publish(self) -> None:
        tr = self._trainer
        self.coef_ = tr.W[:, 0] if self._y_1d else tr.W.T
        self.intercept_ = tr.b

    def _targets(self, y: np.ndarray) -> np.ndarray:
        Y = y.reshape(len(y), -1) if y.ndim == 1 else y
        return np.ascontiguousarray(Y, dtype=np.float64)

    def fit(self, X: Any, y: Any) -> LinearRegressor:
        """Train for ``epochs`` epochs from zero weights."""
        X, y = self._validate(X, y, reset=True)
        self._y_1d = y.ndim == 1
        Y = self._targets(y)
        self._start(X, Y)
        self._train(X, Y, self.epochs)
        return self

    def partial_fit(self, X: Any, y: Any) -> LinearRegressor:
        """One epoch over (X, y), continuing from the current weights and optimizer state."""
        first = not hasattr(self, "_trainer")
        X, y = self._validate(X, y, reset=first)
        Y = self._targets(y)
        if first:
            self._y_1d = y.ndim == 1
            self._start(X, Y)
        elif Y.shape[1] != self._trainer.W.shape[1]:
            raise ValueError(f"y has {Y.shape[1]} outputs, the model was fitted with "
                             f"{self._trainer.W.shape[1]}")
        self._train(X, Y, 1)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predictions, shape (n_samples,) or (n_samples, n_outputs)."""
        out = self._decision(X)
        return out[:, 0] if self._y_1d else out


class LinearClassifier(_ClassifierMixin, _LinearModel):
    __doc__ = (
        """Linear classifier trained with any losskit classification loss.

    * ``"cross_entropy"`` (softmax regression), ``"multiclass_hinge"`` (the multiclass SVM) and
      ``"multi_margin"``: one score column per class, trained together on (N, C) scores.
    * the binary margin losses (``"hinge"``, ``"squared_hinge"``, ``"modified_huber"``,
      ``"perceptron"``, ``"soft_margin"``, targets -1/+1) and ``"bce_with_logits"``
      (targets 0/1): one-vs-rest, one score column per class (a single column for two
      classes), all columns trained in one pass (the loss summed over columns, averaged over
      samples).

    ``predict_proba`` exists for the probabilistic losses: softmax for ``cross_entropy``,
    the logistic function for ``bce_with_logits`` and ``soft_margin``, scikit-learn's
    ``(clip(s, -1, 1) + 1) / 2`` for ``modified_huber`` (one-vs-rest probabilities
    normalised to sum to 1). ``decision_function`` gives the scores ((N,) for two classes).
"""
        + _PARAMS_DOC.format(default="cross_entropy",
                             extra=" One of: " + ", ".join(CLASSIFICATION_LOSSES) + ".")
    )

    _default_loss = "cross_entropy"

    def __init__(
        self,
        loss: Any = "cross_entropy",
        *,
        penalty: str | None = "l2",
        alpha: float = 1e-4,
        l1_ratio: float = 0.15,
        optimizer: str = "adam",
        lr: Any = 0.01,
        epochs: int = 20,
        batch_size: int = 32,
        clip_norm: float | None = None,
        fit_intercept: bool = True,
        shuffle: bool = True,
        optimizer_params: dict[str, Any] | None = None,
        random_state: Any = None,
        verbose: int = 0,
    ) -> None:
        super().__init__(
            loss, penalty=penalty, alpha=alpha, l1_ratio=l1_ratio, optimizer=optimizer, lr=lr,
            epochs=epochs, batch_size=batch_size, clip_norm=clip_norm,
            fit_intercept=fit_intercept, shuffle=shuffle, optimizer_params=optimizer_params,
            random_state=random_state, verbose=verbose,
        )

    def _kind(self) -> str:
        name = self._loss_name
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

    def _targets(self, codes: np.ndarray) -> np.ndarray:
        kind, C = self._kind(), len(self.classes_)
        if kind == "rowwise":
            return np.ascontiguousarray(codes, dtype=np.int64)
        neg = 0.0 if kind == "logit" else -1.0
        if C == 2:
            T = np.where(codes == 1, 1.0, neg).reshape(-1, 1)
        else:
            T = np.full((len(codes), C), neg)
            T[np.arange(len(codes)), codes] = 1.0
        return np.ascontiguousarray(T)

    def _start(self, X: np.ndarray, classes: np.ndarray) -> None:
        self._check_hyper()
        kind = self._kind()
        if len(classes) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes; got 1 class "
                f"({classes.tolist()})"
            )
        self.classes_ = classes
        C = len(classes)
        k = C if (kind == "rowwise" or C > 2) else 1
        # one-vs-rest: the loss summed over columns, divided by the batch size in the loop
        loss, scale_sum = self._resolve_loss(k, "mean" if kind == "rowwise" else "sum")
        self.loss_ = loss
        if kind == "rowwise":
            self._trainer = _Trainer(self, X.shape[1], k, loss, scale_sum, np.int64, None)
        else:
            self._trainer = _Trainer(self, X.shape[1], k, loss, scale_sum, np.float64, k)
        self.loss_curve_: list[float] = []
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

    def fit(self, X: Any, y: Any) -> LinearClassifier:
        """Train for ``epochs`` epochs from zero weights; ``classes_`` = the sorted labels."""
        X, y = self._validate(X, y, reset=True, regression=False)
        self._check_y(y)
        self._start(X, np.unique(y))
        T = self._targets(self._encode(y))
        self._train(X, T, self.epochs)
        return self

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> LinearClassifier:
        """One epoch over (X, y), continuing from the current state.

        ``classes`` (every label the model will see) may be given on the first call; without
        it the labels of the first call are the classes. Labels outside ``classes_`` raise
        ValueError.
        """
        first = not hasattr(self, "_trainer")
        X, y = self._validate(X, y, reset=first, regression=False)
        self._check_y(y)
        if first:
            cls = np.unique(y) if classes is None else np.unique(np.asarray(classes))
            self._start(X, cls)
        elif classes is not None and not np.array_equal(np.unique(np.asarray(classes)), self.classes_):
            raise ValueError(f"classes {np.unique(np.asarray(classes)).tolist()} differ from "
                             f"classes_ {self.classes_.tolist()} of the first call")
        T = self._targets(self._encode(y))
        self._train(X, T, 1)
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
        S = self._decision(X)
        name = self._loss_name
        if name == "cross_entropy":
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
