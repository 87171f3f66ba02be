"""Update rules, learning-rate schedules and derivative-free baselines.

The optimizers follow :mod:`torch.optim` step for step (its single-tensor path): the same
state names, the same first-step initialisation, the per-step scalars (bias corrections,
decayed learning rates) computed in double as PyTorch computes them, and the per-element
arithmetic in the same order, so a trajectory of many steps matches torch.optim to rounding
in float32 and float64. Each :meth:`Optimizer.step` is one fused C++ pass over memory per
parameter array (in place, no temporaries, threads above a size threshold, bitwise identical
for any thread count)::

    >>> import numpy as np, losskit
    >>> w = np.zeros(3)
    >>> opt = losskit.optim.Adam([w], lr=0.1)
    >>> opt.step([np.array([1.0, -2.0, 0.5])])   # w is updated in place

Parameters are writable, C-contiguous float32/float64 NumPy arrays of native byte order (any
shape; ndarray subclasses such as ``np.memmap`` included) that share no memory with each
other; gradients have the parameter's shape and dtype (any byte order and layout: they are
only read). A NaN (or inf) gradient propagates into the parameters
and the state, as in PyTorch; clip with ``losskit.clip_grad_norm(..., error_if_nonfinite=True)``
first to stop it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import _core
from ._validation import as_real_array, check_bool, check_count, check_nonnegative, check_real

__all__ = [
    "Optimizer",
    "SGD",
    "Adam",
    "AdamW",
    "RMSprop",
    "Adagrad",
    "Schedule",
    "constant",
    "step_decay",
    "exponential_decay",
    "cosine_decay",
    "inverse_scaling",
    "RandomSearch",
    "RandomLocalSearch",
]

# ---- validation helpers --------------------------------------------------------------------
def _check_lr(name: str, lr: Any) -> float | Callable[[int], float]:
    if callable(lr):
        return lr
    return check_nonnegative(name, lr)


def _check_betas(name: str, betas: Any) -> tuple[float, float]:
    try:
        b1, b2 = betas
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (beta1, beta2), got {betas!r}") from None
    return (check_real(f"{name}[0]", b1), check_real(f"{name}[1]", b2))


def _check_params(params: Any) -> list[np.ndarray]:
    if isinstance(params, np.ndarray):
        params = [params]
    try:
        params = list(params)
    except TypeError:
        raise TypeError(
            f"params must be a sequence of numpy arrays, got {type(params).__name__}"
        ) from None
    for i, p in enumerate(params):
        name = f"params[{i}]"
        if not isinstance(p, np.ndarray):
            raise TypeError(f"{name} must be a numpy.ndarray, got {type(p).__name__}")
        if p.dtype.kind != "f" or p.dtype.itemsize not in (4, 8):
            raise TypeError(f"{name} must have dtype float32 or float64, got {p.dtype}")
        if not p.dtype.isnative:
            # The kernels update parameters in place in the machine's byte order.
            raise ValueError(
                f"{name} has non-native byte order ({p.dtype.str}); the optimizer updates "
                f"parameters in place: pass p.astype(p.dtype.newbyteorder('='))"
            )
        if not p.flags.writeable:
            raise ValueError(f"{name} is read-only; the optimizer updates parameters in place")
        if not (p.flags.c_contiguous and p.flags.aligned):
            raise ValueError(
                f"{name} must be C-contiguous (use np.ascontiguousarray before creating the "
                f"optimizer); the optimizer updates parameters in place"
            )
    # C-contiguous arrays share memory exactly where their byte ranges overlap.
    ranges = sorted(
        (p.ctypes.data, p.ctypes.data + p.nbytes, i) for i, p in enumerate(params) if p.nbytes
    )
    for (_, end, i), (begin, _, j) in zip(ranges, ranges[1:]):
        if begin < end:
            i, j = sorted((i, j))
            raise ValueError(f"params[{j}] shares memory with params[{i}]")
    ids = [id(p) for p in params]
    if len(set(ids)) != len(ids):
        raise ValueError("params must not contain the same array twice")
    return params


def _fix_grad(i: int, p: np.ndarray, g: Any) -> np.ndarray:
    """The slow path: grads[i] as a C-contiguous array of p's shape and dtype (native byte
    order), or a ValueError (TypeError for what is not a real array: complex, objects,
    strings)."""
    name = f"grads[{i}]"
    if not isinstance(g, np.ndarray):
        g = as_real_array(name, g, p.dtype)  # lists, scalars, tensors
    if g.shape != p.shape:
        raise ValueError(f"{name} has shape {g.shape}, but params[{i}] has shape {p.shape}")
    if g.dtype.newbyteorder("=") != p.dtype:
        raise ValueError(f"{name} has dtype {g.dtype}, but params[{i}] has dtype {p.dtype}")
    g = np.ascontiguousarray(g, dtype=p.dtype)
    return g if g.flags.aligned else g.copy()


def _check_step(name: str, value: Any) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if not 0 <= value < 2**63 - 1:
        raise ValueError(f"{name} must be a non-negative integer below 2**63 - 1, got {value!r}")
    return int(value)


def _loaded_state(i: int, st: Any, p: np.ndarray) -> dict[str, Any]:
    """state_dict["state"][i] checked and copied: PyTorch's state names holding arrays of p's
    shape and dtype (any byte order), and "step"."""
    if not isinstance(st, dict):
        raise TypeError(f"state_dict['state'][{i}] must be a dict, got {type(st).__name__}")
    entry: dict[str, Any] = {}
    for key, value in st.items():
        name = f"state_dict['state'][{i}][{key!r}]"
        if key == "step":
            entry[key] = _check_step(name, value)
        elif key not in _core.STATE_NAMES:
            raise ValueError(
                f"{name}: unknown state entry; expected one of {('step',) + _core.STATE_NAMES}"
            )
        elif value is not None:
            if (
                not isinstance(value, np.ndarray)
                or value.shape != p.shape
                or value.dtype.newbyteorder("=") != p.dtype
            ):
                what = (
                    f"array of shape {value.shape}, dtype {value.dtype}"
                    if isinstance(value, np.ndarray)
                    else type(value).__name__
                )
                raise ValueError(
                    f"{name} must be an array of shape {p.shape} and dtype {p.dtype} (the "
                    f"parameter's), got {what}"
                )
            entry[key] = np.array(value, dtype=p.dtype, order="C", copy=True)
    return entry


class _Hyperparameter:
    """A constructor argument as an attribute: assigning it checks the value and rebuilds the
    update rule, so it takes effect on the next step, or raises and changes nothing."""

    def __init__(self, check: Callable[[str, Any], Any]) -> None:
        self.check = check

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.slot = "_" + name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        return self if obj is None else getattr(obj, self.slot)

    def __set__(self, obj: Any, value: Any) -> None:
        obj._set_hyperparameters({self.name: value})


# ---- the optimizer base class ------------------------------------------------------------
class Optimizer:
    """Base class: parameters, per-parameter state, the step counter and state dicts.

    An optimizer holds its update rule as a compiled policy object (``_core.Sgd``,
    ``_core.Adam``, ...: the hyperparameters), and one generic :meth:`step` runs it.

    Attributes
    ----------
    state : list of dict
        One dict per parameter with PyTorch's state names (``momentum_buffer``, ``exp_avg``,
        ``exp_avg_sq``, ``max_exp_avg_sq``, ``square_avg``, ``grad_avg``, ``sum``) holding
        arrays that :meth:`step` updates in place, and ``step`` (int) where PyTorch has it.
        Entries are created on the first step; an array set by the user before that is used
        (it must have the parameter's shape and dtype, and share memory with no parameter and
        no other state array).
    step_count : int
        Steps taken so far. A callable ``lr`` is called with it (the 0-based index of the
        step being taken).

    A :meth:`step` or :meth:`load_state_dict` that raises changes nothing. A gradient may
    share memory with a parameter or a state array (the step reads it as it was); parameters
    must not share memory with each other (ValueError at construction).

    Thread safety: one optimizer must not :meth:`step` from two threads at once (a step
    updates the parameters, the state arrays, the state dicts and ``step_count`` in place, and
    creates state lazily). Different optimizers over different arrays may step concurrently
    from different threads: the kernels release the GIL, so such steps run in parallel.

    Examples
    --------
    Every update rule is a subclass; they share :meth:`step`, the state and its dicts:

    >>> import numpy as np, losskit
    >>> w = np.zeros(2)
    >>> opt = losskit.optim.SGD([w], lr=0.1, momentum=0.9)
    >>> opt.step([np.array([1.0, -1.0])])
    >>> opt.step_count, sorted(opt.state[0])
    (1, ['momentum_buffer'])
    >>> saved = opt.state_dict()              # PyTorch's layout
    >>> opt.step([np.array([1.0, -1.0])])
    >>> opt.load_state_dict(saved)            # back to the state after the first step
    >>> opt.step_count
    1
    """

    _hyper_names: tuple[str, ...] = ()
    _rule_class: Any = None
    lr = _Hyperparameter(_check_lr)

    def __init__(self, params: Any, **hyperparameters: Any) -> None:
        self._params = _check_params(params)
        self._set_hyperparameters(hyperparameters)
        self.state: list[dict[str, Any]] = [{} for _ in self._params]
        self.step_count = 0

    def _set_hyperparameters(self, values: dict[str, Any]) -> None:
        """Convert `values`, build the compiled rule (its constructor checks every domain and
        constraint: ValueError naming the hyperparameter), then set them."""
        merged = {k: getattr(self, "_" + k) for k in ("lr",) + self._hyper_names
                  if "_" + k in self.__dict__}
        for name, value in values.items():
            merged[name] = getattr(type(self), name).check(name, value)
        rule = self._rule_class(**self._rule_fields(merged))
        for name, value in merged.items():
            setattr(self, "_" + name, value)  # the descriptors' slots
        self._rule = rule

    def _rule_fields(self, h: dict[str, Any]) -> dict[str, Any]:
        """The compiled rule's fields from the hyperparameters (lr is passed per step)."""
        raise NotImplementedError

    @property
    def params(self) -> list[np.ndarray]:
        """The parameter arrays (updated in place)."""
        return list(self._params)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in ("lr",) + self._hyper_names)
        return f"{type(self).__name__}({len(self._params)} arrays, {args})"

    def current_lr(self) -> float:
        """The learning rate the next step uses (``lr(step_count)`` for a schedule)."""
        lr = self.lr
        if callable(lr):
            value = lr(self.step_count)
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
                raise TypeError(f"lr({self.step_count}) returned {value!r}, not a real number")
            value = float(value)
            if not value >= 0 or math.isinf(value):
                raise ValueError(
                    f"lr must be non-negative and finite, got lr({self.step_count}) = {value!r}"
                )
            return value
        return lr

    def _grads(self, grads: Any) -> list[np.ndarray]:
        if isinstance(grads, np.ndarray):
            grads = (grads,)
        params = self._params
        try:
            count = len(grads)
        except TypeError:
            raise TypeError(
                f"grads must be a sequence of arrays, got {type(grads).__name__}"
            ) from None
        if count != len(params):
            raise ValueError(
                f"grads must hold one array per parameter: expected {len(params)}, got {count}"
            )
        out = list(grads)
        for i, (p, g) in enumerate(zip(params, out)):
            if (
                type(g) is not np.ndarray
                or g.dtype != p.dtype
                or g.shape != p.shape
                or not g.flags.c_contiguous
                or not g.flags.aligned
            ):
                out[i] = _fix_grad(i, p, g)
        return out

    def step(self, grads: Any) -> None:
        """One update of every parameter from its gradient, in place.

        Everything (gradients, the learning rate, every state entry, overlaps) is checked
        before anything is written: a step that raises changes nothing.

        Parameters
        ----------
        grads : sequence of arrays (or one array for a single parameter)
            One gradient per parameter, of its shape and dtype.
        """
        grads = self._grads(grads)
        self._rule.step(self.current_lr(), self._params, grads, self.state)
        self.step_count += 1

    def zero_state(self) -> None:
        """Forget every state entry and the step count (as a fresh optimizer)."""
        self.state = [{} for _ in self._params]
        self.step_count = 0

    # -- state dicts ------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """A deep copy of the state: ``{"state", "step_count", "hyperparameters"}``.

        Loading it into an optimizer over arrays holding the same parameter values continues
        the trajectory bit for bit.
        """
        return {
            "state": [
                {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in st.items()}
                for st in self.state
            ],
            "step_count": self.step_count,
            "hyperparameters": {k: getattr(self, k) for k in ("lr",) + self._hyper_names},
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` (arrays are copied; the hyperparameters are set).

        Everything is checked first; a state dict that does not fit raises ValueError or
        TypeError and leaves the optimizer as it was.
        """
        if not isinstance(state_dict, dict):
            raise TypeError(
                f"state_dict must be a dict from Optimizer.state_dict(), got "
                f"{type(state_dict).__name__}"
            )
        if "param_groups" in state_dict:
            raise ValueError(
                "state_dict looks like a torch.optim state_dict (it has 'param_groups'); "
                "load a dict from losskit's Optimizer.state_dict()"
            )
        if "state" not in state_dict:
            raise ValueError("state_dict must be a dict from Optimizer.state_dict()")
        states = state_dict["state"]
        if not isinstance(states, (list, tuple)):
            raise TypeError(
                f"state_dict['state'] must be a list with one dict per parameter, got "
                f"{type(states).__name__}"
            )
        if len(states) != len(self._params):
            raise ValueError(
                f"state_dict holds state for {len(states)} parameters, this optimizer has "
                f"{len(self._params)}"
            )
        new_state = [_loaded_state(i, st, p) for i, (st, p) in enumerate(zip(states, self._params))]
        step_count = state_dict.get("step_count", 0)
        if (
            isinstance(step_count, (bool, np.bool_))
            or not isinstance(step_count, numbers.Integral)
            or step_count < 0
        ):
            raise ValueError(f"step_count must be a non-negative integer, got {step_count!r}")
        hyper = state_dict.get("hyperparameters", {})
        if not isinstance(hyper, dict):
            raise TypeError(f"state_dict['hyperparameters'] must be a dict, got {hyper!r}")
        unknown = set(hyper) - set(("lr",) + self._hyper_names)
        if unknown:
            raise ValueError(f"unknown hyperparameters in state_dict: {sorted(unknown)}")
        self._set_hyperparameters(hyper)  # checks all, then sets all
        self.state = new_state
        self.step_count = int(step_count)


# ---- the update rules ----------------------------------------------------------------------
class SGD(Optimizer):
    r"""Stochastic gradient descent with momentum (``torch.optim.SGD``).

    Per element, with :math:`g` the gradient (negated if ``maximize``)::

        g = g + weight_decay * p
        if momentum != 0:
            b = g                                   (first step, no momentum_buffer yet)
            b = momentum * b + (1 - dampening) * g  (later steps)
            g = g + momentum * b  if nesterov  else  b
        p = p - lr * g

    Parameters
    ----------
    params : sequence of arrays
        Writable C-contiguous float32/float64 arrays, updated in place.
    lr : float or callable
        Learning rate >= 0, or ``lr(step) -> float`` (see the schedules in this module).
    momentum, dampening, weight_decay : float
        momentum >= 0, weight_decay >= 0.
    nesterov : bool
        Nesterov momentum (needs momentum > 0 and dampening == 0).
    maximize : bool
        Ascend instead of descend.

    State: ``momentum_buffer`` (when momentum != 0).

    Examples
    --------
    >>> import numpy as np, losskit
    >>> w = np.zeros(3)
    >>> opt = losskit.optim.SGD([w], lr=0.1, momentum=0.9)
    >>> g = np.array([1.0, -2.0, 0.5])
    >>> opt.step([g])                         # b = g, w = -0.1 g
    >>> opt.step([g])                         # b = 0.9 b + g, w = -0.1 g - 0.19 g
    >>> np.round(w, 6)
    array([-0.29 ,  0.58 , -0.145])
    """

    _hyper_names = ("momentum", "dampening", "weight_decay", "nesterov", "maximize")
    _rule_class = _core.Sgd
    momentum = _Hyperparameter(check_real)
    dampening = _Hyperparameter(check_real)
    weight_decay = _Hyperparameter(check_real)
    nesterov = _Hyperparameter(check_bool)
    maximize = _Hyperparameter(check_bool)

    def __init__(
        self,
        params: Sequence[np.ndarray],
        lr: float | Callable[[int], float] = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params, lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
            nesterov=nesterov, maximize=maximize,
        )

    def _rule_fields(self, h: dict[str, Any]) -> dict[str, Any]:
        return {k: h[k] for k in self._hyper_names}


class Adam(Optimizer):
    r"""Adam (``torch.optim.Adam``), optionally AMSGrad.

    Per element, at step :math:`t = 1, 2, \dots` (state ``step``)::

        g = g + weight_decay * p                     (L2 penalty in the gradient)
        m = m + (1 - beta1) * (g - m)                (exp_avg, a lerp)
        v = beta2 * v + (1 - beta2) * g * g          (exp_avg_sq)
        vmax = max(vmax, v); use vmax for v          (amsgrad: max_exp_avg_sq)
        p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    Parameters
    ----------
    params : sequence of arrays
    lr : float or callable
    betas : (float, float)
        Each in [0, 1).
    eps, weight_decay : float
        Non-negative.
    amsgrad, maximize : bool

    State: ``step``, ``exp_avg``, ``exp_avg_sq`` (zeros at first), ``max_exp_avg_sq``
    (amsgrad).

    Examples
    --------
    >>> import numpy as np, losskit
    >>> w = np.zeros(3)
    >>> opt = losskit.optim.Adam([w], lr=0.1)
    >>> opt.step([np.array([1.0, -2.0, 0.5])])   # the first step moves each weight by about lr
    >>> np.round(w, 6)
    array([-0.1,  0.1, -0.1])
    """

    _hyper_names = ("betas", "eps", "weight_decay", "amsgrad", "maximize")
    _rule_class = _core.Adam
    _decoupled = False
    betas = _Hyperparameter(_check_betas)
    eps = _Hyperparameter(check_real)
    weight_decay = _Hyperparameter(check_real)
    amsgrad = _Hyperparameter(check_bool)
    maximize = _Hyperparameter(check_bool)

    def __init__(
        self,
        params: Sequence[np.ndarray],
        lr: float | Callable[[int], float] = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
            maximize=maximize,
        )

    def _rule_fields(self, h: dict[str, Any]) -> dict[str, Any]:
        return {
            "beta1": h["betas"][0], "beta2": h["betas"][1], "eps": h["eps"],
            "weight_decay": h["weight_decay"], "amsgrad": h["amsgrad"],
            "maximize": h["maximize"], "decoupled_weight_decay": self._decoupled,
        }


class AdamW(Adam):
    r"""Adam with decoupled weight decay (``torch.optim.AdamW``).

    As :class:`Adam`, except that the decay does not enter the gradient: each step first
    does ``p = p * (1 - lr * weight_decay)``. Default weight_decay is 1e-2.

    Examples
    --------
    >>> import numpy as np, losskit
    >>> w = np.ones(2)
    >>> opt = losskit.optim.AdamW([w], lr=0.1, weight_decay=0.01)
    >>> opt.step([np.array([1.0, -1.0])])        # w (1 - lr wd), then Adam's step
    >>> np.round(w, 6)
    array([0.899, 1.099])
    """

    _decoupled = True

    def __init__(
        self,
        params: Sequence[np.ndarray],
        lr: float | Callable[[int], float] = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        maximize: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize)


class RMSprop(Optimizer):
    r"""RMSprop (``torch.optim.RMSprop``).

    Per element::

        g = g + weight_decay * p
        s = alpha * s + (1 - alpha) * g * g                    (square_avg)
        centered: a = a + (1 - alpha) * (g - a)                (grad_avg, a lerp)
                  d = sqrt(s - a * a) + eps;   else d = sqrt(s) + eps
        momentum > 0: b = momentum * b + g / d;  p = p - lr * b   (momentum_buffer)
        else:         p = p - lr * g / d

    State: ``step``, ``square_avg``, ``grad_avg`` (centered), ``momentum_buffer``
    (momentum > 0), all zeros at first.

    Examples
    --------
    >>> import numpy as np, losskit
    >>> w = np.zeros(2)
    >>> opt = losskit.optim.RMSprop([w], lr=0.01)
    >>> opt.step([np.array([2.0, -0.5])])     # v = 0.01 g^2: a first step of lr / sqrt(0.01)
    >>> np.round(w, 6)
    array([-0.1,  0.1])
    """

    _hyper_names = ("alpha", "eps", "weight_decay", "momentum", "centered", "maximize")
    _rule_class = _core.Rmsprop
    alpha = _Hyperparameter(check_real)
    eps = _Hyperparameter(check_real)
    weight_decay = _Hyperparameter(check_real)
    momentum = _Hyperparameter(check_real)
    centered = _Hyperparameter(check_bool)
    maximize = _Hyperparameter(check_bool)

    def __init__(
        self,
        params: Sequence[np.ndarray],
        lr: float | Callable[[int], float] = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params, lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
            centered=centered, maximize=maximize,
        )

    def _rule_fields(self, h: dict[str, Any]) -> dict[str, Any]:
        return {k: h[k] for k in self._hyper_names}


class Adagrad(Optimizer):
    r"""Adagrad (``torch.optim.Adagrad``).

    Per element, at step :math:`t = 1, 2, \dots`::

        g = g + weight_decay * p
        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g * g                                 (sum)
        p = p - clr * g / (sqrt(s) + eps)

    State: ``step``, ``sum`` (``initial_accumulator_value`` at first).

    Examples
    --------
    >>> import numpy as np, losskit
    >>> w = np.zeros(2)
    >>> opt = losskit.optim.Adagrad([w], lr=0.1)
    >>> opt.step([np.array([2.0, -0.5])])     # sum = g^2: a first step of lr
    >>> np.round(w, 6)
    array([-0.1,  0.1])
    >>> sorted(opt.state[0])
    ['step', 'sum']
    """

    _hyper_names = ("lr_decay", "weight_decay", "initial_accumulator_value", "eps", "maximize")
    _rule_class = _core.Adagrad
    lr_decay = _Hyperparameter(check_real)
    weight_decay = _Hyperparameter(check_real)
    initial_accumulator_value = _Hyperparameter(check_real)
    eps = _Hyperparameter(check_real)
    maximize = _Hyperparameter(check_bool)

    def __init__(
        self,
        params: Sequence[np.ndarray],
        lr: float | Callable[[int], float] = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params, lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value, eps=eps, maximize=maximize,
        )

    def _rule_fields(self, h: dict[str, Any]) -> dict[str, Any]:
        return {k: h[k] for k in self._hyper_names}


# ---- schedules ---------------------------------------------------------------------------
class Schedule:
    """A learning-rate schedule: ``schedule(step) -> lr`` for the 0-based step index.

    Plain, picklable callables; pass one as an optimizer's ``lr``.

    Examples
    --------
    >>> import pickle, losskit
    >>> schedule = losskit.optim.cosine_decay(0.1, total_steps=100)
    >>> isinstance(schedule, losskit.optim.Schedule), schedule(0)
    (True, 0.1)
    >>> pickle.loads(pickle.dumps(schedule))(50) == schedule(50)
    True
    """

    def __init__(self, name: str, fn: Callable[[int], float], **params: Any) -> None:
        self._name = name
        self._fn = fn
        self.params = params

    def __call__(self, step: int) -> float:
        if isinstance(step, (bool, np.bool_)) or not isinstance(step, numbers.Integral):
            raise TypeError(f"step must be an integer, got {step!r}")
        if not 0 <= step < 2**63:
            raise ValueError(f"step must lie in [0, 2**63), got {step}")
        # The formulas run in float64 scalars: a power that overflows gives inf (and one that
        # underflows 0), as IEEE arithmetic says, not Python's OverflowError or
        # ZeroDivisionError; the optimizer then refuses a non-finite lr by name.
        with np.errstate(all="ignore"):
            return float(self._fn(int(step)))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self._name}({args})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_schedule, (self._name, self.params))


def _rebuild_schedule(name: str, params: dict[str, Any]) -> Schedule:
    return _SCHEDULES[name](**params)


def constant(lr: float) -> Schedule:
    """``lr(step) = lr``.

    Examples
    --------
    >>> import losskit
    >>> losskit.optim.constant(0.1)(1000)
    0.1
    """
    lr = check_nonnegative("lr", lr)
    return Schedule("constant", lambda step: lr, lr=lr)


def step_decay(lr: float, step_size: int, gamma: float = 0.1) -> Schedule:
    """``lr(step) = lr * gamma ** (step // step_size)`` (PyTorch's StepLR).

    Examples
    --------
    >>> import losskit
    >>> schedule = losskit.optim.step_decay(0.1, step_size=10, gamma=0.5)
    >>> [float(schedule(step)) for step in (0, 9, 10, 25)]
    [0.1, 0.1, 0.05, 0.025]
    """
    lr = check_nonnegative("lr", lr)
    if isinstance(step_size, bool) or not isinstance(step_size, numbers.Integral) or step_size < 1:
        raise ValueError(f"step_size must be a positive integer, got {step_size!r}")
    gamma = check_nonnegative("gamma", gamma)
    return Schedule(
        "step_decay", lambda step: lr * np.float64(gamma) ** np.float64(step // step_size),
        lr=lr, step_size=int(step_size), gamma=gamma,
    )


def exponential_decay(lr: float, gamma: float) -> Schedule:
    """``lr(step) = lr * gamma ** step`` (PyTorch's ExponentialLR).

    Examples
    --------
    >>> import losskit
    >>> schedule = losskit.optim.exponential_decay(1.0, gamma=0.5)
    >>> [float(schedule(step)) for step in range(4)]
    [1.0, 0.5, 0.25, 0.125]
    """
    lr = check_nonnegative("lr", lr)
    gamma = check_nonnegative("gamma", gamma)
    return Schedule("exponential_decay", lambda step: lr * np.float64(gamma) ** np.float64(step),
                    lr=lr, gamma=gamma)


def cosine_decay(
    lr: float, total_steps: int, min_lr: float = 0.0, warmup_steps: int = 0
) -> Schedule:
    """Linear warm-up, then a half cosine from ``lr`` down to ``min_lr``::

        step < warmup_steps:  lr * (step + 1) / warmup_steps
        otherwise:            min_lr + (lr - min_lr) * (1 + cos(pi * t / T)) / 2,
                              t = min(step - warmup_steps, T), T = total_steps - warmup_steps

    (``min_lr`` from ``total_steps`` on; with warmup_steps = 0, PyTorch's CosineAnnealingLR
    with T_max = total_steps.)

    Examples
    --------
    >>> import losskit
    >>> schedule = losskit.optim.cosine_decay(0.1, total_steps=110, warmup_steps=10)
    >>> [round(float(schedule(step)), 6) for step in (0, 9, 10, 60, 110, 200)]
    [0.01, 0.1, 0.1, 0.05, 0.0, 0.0]
    """
    lr = check_nonnegative("lr", lr)
    min_lr = check_nonnegative("min_lr", min_lr)
    for name, v in (("total_steps", total_steps), ("warmup_steps", warmup_steps)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {v!r}")
    if warmup_steps >= total_steps and total_steps > 0:
        raise ValueError(
            f"warmup_steps ({warmup_steps}) must be less than total_steps ({total_steps})"
        )
    span = max(int(total_steps) - int(warmup_steps), 1)

    def fn(step: int) -> float:
        if step < warmup_steps:
            return lr * (step + 1) / warmup_steps
        t = min(step - warmup_steps, span)
        return min_lr + (lr - min_lr) * (1 + math.cos(math.pi * t / span)) / 2

    return Schedule(
        "cosine_decay", fn, lr=lr, total_steps=int(total_steps), min_lr=min_lr,
        warmup_steps=int(warmup_steps),
    )


def inverse_scaling(lr: float, power_t: float = 0.5) -> Schedule:
    """``lr(step) = lr / (step + 1) ** power_t`` (scikit-learn's ``invscaling``:
    eta0 / t**power_t with t counting from 1).

    Examples
    --------
    >>> import losskit
    >>> schedule = losskit.optim.inverse_scaling(0.1, power_t=0.5)
    >>> [float(schedule(step)) for step in (0, 3, 15)]
    [0.1, 0.05, 0.025]
    """
    lr = check_nonnegative("lr", lr)
    power_t = check_real("power_t", power_t)
    return Schedule(
        "inverse_scaling", lambda step: lr / np.float64(step + 1) ** power_t, lr=lr,
        power_t=power_t
    )


_SCHEDULES: dict[str, Callable[..., Schedule]] = {
    "constant": constant,
    "step_decay": step_decay,
    "exponential_decay": exponential_decay,
    "cosine_decay": cosine_decay,
    "inverse_scaling": inverse_scaling,
}


# ---- derivative-free baselines ---------------------------------------------------------------
def _value_of(result: Any) -> float:
    if isinstance(result, tuple):
        result = result[0]
    return float(result)


def _check_seed(seed: Any) -> int | None:
    return None if seed is None else check_count("seed", seed)


class _DerivativeFree:
    _spread_name = ""

    def __init__(self, spread: float, seed: int | None) -> None:
        self._spread = spread
        self.seed = _check_seed(seed)

    def _start(self, f: Any, x0: Any, iters: Any) -> tuple[Any, np.ndarray, int]:
        if not callable(f):
            raise TypeError(f"f must be callable, got {type(f).__name__}")
        x = np.array(as_real_array("x0", x0, np.dtype(np.float64)), copy=True)
        # PCG64 with uniform draws: integer arithmetic and one exact scaling, so the same
        # candidates on every machine.
        rng = np.random.Generator(np.random.PCG64(self.seed))
        return rng, x, check_count("iters", iters)

    def _box(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        return self._spread * rng.uniform(-1.0, 1.0, size=shape)


class RandomSearch(_DerivativeFree):
    """Pure random search around a starting point.

    Each of ``iters`` candidates is ``x0 + scale * u`` with ``u`` uniform in [-1, 1]^d (drawn
    independently, NumPy's PCG64 seeded with ``seed``); the best is kept.

    ``minimize(f, x0, iters) -> (best_x, best_value, history)`` where ``f(x)`` returns a float
    (or ``(value, grad)``) and ``history[k]`` is the best value after k candidates
    (``history[0] = f(x0)``, length iters + 1). Same seed, same result on every machine.

    Examples
    --------
    >>> import numpy as np, losskit
    >>> f = lambda x: float(np.sum((x - 1.0) ** 2))
    >>> x, value, history = losskit.optim.RandomSearch(scale=2.0, seed=0).minimize(f, np.zeros(2), 200)
    >>> len(history), bool(np.all(np.diff(history) <= 0)), value < 0.1
    (201, True, True)
    """

    def __init__(self, scale: float = 1.0, seed: int | None = None) -> None:
        self.scale = check_nonnegative("scale", scale)
        super().__init__(self.scale, seed)

    def __repr__(self) -> str:
        return f"RandomSearch(scale={self.scale!r}, seed={self.seed!r})"

    def minimize(self, f: Callable[[np.ndarray], Any], x0: Any, iters: int
                 ) -> tuple[np.ndarray, float, np.ndarray]:
        rng, x0, iters = self._start(f, x0, iters)
        best_x, best = x0.copy(), _value_of(f(x0.copy()))
        history = [best]
        for _ in range(iters):
            x = x0 + self._box(rng, x0.shape)
            v = _value_of(f(x))
            if v < best:
                best_x, best = x, v
            history.append(best)
        return best_x, best, np.asarray(history)


class RandomLocalSearch(_DerivativeFree):
    """Random local search (hill climbing with random steps, Matyas 1965).

    From the best point so far, propose ``x + step_size * u`` with ``u`` uniform in
    [-1, 1]^d; move there if it is strictly better. Same return value as
    :meth:`RandomSearch.minimize`.

    Examples
    --------
    >>> import numpy as np, losskit
    >>> f = lambda x: float(np.sum((x - 1.0) ** 2))
    >>> search = losskit.optim.RandomLocalSearch(step_size=0.5, seed=0)
    >>> x, value, history = search.minimize(f, np.zeros(2), 500)
    >>> value < 0.01
    True
    """

    def __init__(self, step_size: float = 0.1, seed: int | None = None) -> None:
        self.step_size = check_nonnegative("step_size", step_size)
        super().__init__(self.step_size, seed)

    def __repr__(self) -> str:
        return f"RandomLocalSearch(step_size={self.step_size!r}, seed={self.seed!r})"

    def minimize(self, f: Callable[[np.ndarray], Any], x0: Any, iters: int
                 ) -> tuple[np.ndarray, float, np.ndarray]:
        rng, x, iters = self._start(f, x0, iters)
        best = _value_of(f(x.copy()))
        history = [best]
        for _ in range(iters):
            candidate = x + self._box(rng, x.shape)
            v = _value_of(f(candidate))
            if v < best:
                x, best = candidate, v
            history.append(best)
        return x, best, np.asarray(history)
