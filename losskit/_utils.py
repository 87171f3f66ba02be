"""Gradient clipping, penalties, minibatch sampling, gather and gradient checking.

The numerical work runs in the C++ core (one pass per array, threads above a size threshold,
bitwise identical for any thread count); this module validates arguments, with messages that
name the argument.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple

import numpy as np

from . import _core
from ._validation import (
    as_index_array,
    as_real_array,
    check_bool,
    check_count,
    check_nonnegative,
    check_real,
)

__all__ = [
    "clip_grad_norm",
    "grad_norm",
    "clip_grad_value",
    "L1Penalty",
    "L2Penalty",
    "ElasticNetPenalty",
    "MinibatchSampler",
    "gather",
    "numerical_gradient",
    "gradcheck",
    "GradcheckResult",
]


# ---- clipping ----------------------------------------------------------------------------
def _grad_list(grads: Any, writable: bool = True) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The arrays as the kernels take them, and the user's arrays to copy results back into.

    ndarray subclasses (np.memmap) are used in place; a non-native byte order array is
    worked on as a native copy, written back afterwards."""
    if isinstance(grads, np.ndarray):
        grads = [grads]
    try:
        grads = list(grads)
    except TypeError:
        raise TypeError(f"grads must be a sequence of arrays, got {type(grads).__name__}") from None
    dtype = None
    work = []
    for i, g in enumerate(grads):
        name = f"grads[{i}]"
        if not isinstance(g, np.ndarray):
            raise TypeError(f"{name} must be a numpy.ndarray, got {type(g).__name__}")
        native = g.dtype.newbyteorder("=")
        if native not in (np.float32, np.float64):
            raise ValueError(f"{name} must have dtype float32 or float64, got {g.dtype}")
        if dtype is not None and native != dtype:
            raise ValueError(f"{name} has dtype {g.dtype}, but grads[0] has dtype {dtype}")
        dtype = native
        if writable and not g.flags.writeable:
            raise ValueError(f"{name} is read-only; clipping works in place")
        if not (g.flags.c_contiguous and g.flags.aligned):
            raise ValueError(f"{name} must be C-contiguous; clipping works in place")
        work.append(g if g.dtype.isnative else g.astype(native))
    return work, grads


def _write_back(work: list[np.ndarray], grads: list[np.ndarray]) -> None:
    for w, g in zip(work, grads):
        if w is not g:
            g[...] = w


# The norms clip_grad_norm supports, by the norm_type users pass.
_NORM_TYPES = {1.0: _core.NormType.l1, 2.0: _core.NormType.l2, math.inf: _core.NormType.inf}


def _norm_type(norm_type: Any) -> Any:
    if isinstance(norm_type, str) and norm_type.lower() in ("inf", "infinity"):
        norm_type = math.inf
    if isinstance(norm_type, numbers.Real) and not isinstance(norm_type, (bool, np.bool_)):
        try:
            found = _NORM_TYPES.get(float(norm_type))
        except OverflowError:  # an int beyond float64's range
            found = None
        if found is not None:
            return found
    raise ValueError(f"norm_type must be 1, 2 or inf, got {norm_type!r}")


def clip_grad_norm(
    grads: Sequence[np.ndarray] | np.ndarray,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> float:
    r"""Scale gradients in place so that their total norm is at most ``max_norm``.

    As ``torch.nn.utils.clip_grad_norm_``: the norm of all arrays together (as if
    concatenated), :math:`\|g\|_1`, :math:`\|g\|_2` or :math:`\max |g_i|`, is computed in
    float64 over fixed blocks (bitwise identical for any thread count); then every array is
    multiplied by ``min(1, max_norm / (norm + 1e-6))`` (that coefficient computed in the
    gradients' dtype, as PyTorch does).

    Parameters
    ----------
    grads : sequence of arrays (or one array)
        Writable C-contiguous float32/float64 arrays, all of one dtype (any byte order;
        ndarray subclasses such as np.memmap are updated in place).
    max_norm : float
        Non-negative.
    norm_type : 1, 2 or inf
    error_if_nonfinite : bool
        Raise RuntimeError (as PyTorch) instead of clipping when the norm is NaN or inf;
        otherwise a NaN norm makes every gradient NaN.

    Returns
    -------
    float
        The total norm before clipping (float64).

    Examples
    --------
    >>> import numpy as np, losskit
    >>> grads = [np.array([3.0, 0.0]), np.array([4.0])]
    >>> losskit.clip_grad_norm(grads, max_norm=1.0)    # the norm before clipping
    5.0
    >>> np.round(np.concatenate(grads), 6)             # scaled by 1 / (5 + 1e-6)
    array([0.6, 0. , 0.8])
    """
    work, grads = _grad_list(grads)
    max_norm = check_real("max_norm", max_norm)
    if not max_norm >= 0:
        raise ValueError(f"max_norm must be non-negative, got {max_norm!r}")
    kind = _norm_type(norm_type)
    error_if_nonfinite = check_bool("error_if_nonfinite", error_if_nonfinite)
    norm = _core._clip_grad_norm(work, max_norm, kind, error_if_nonfinite)
    _write_back(work, grads)
    return norm


def grad_norm(grads: Sequence[np.ndarray] | np.ndarray, norm_type: float = 2.0) -> float:
    """The total norm of ``grads`` (as :func:`clip_grad_norm` computes it), without clipping.

    Examples
    --------
    >>> import numpy as np, losskit
    >>> losskit.grad_norm([np.array([3.0, 0.0]), np.array([-4.0])])
    5.0
    >>> losskit.grad_norm([np.array([3.0, 0.0]), np.array([-4.0])], norm_type=float("inf"))
    4.0
    """
    work, _ = _grad_list(grads, writable=False)
    return _core._total_norm(work, _norm_type(norm_type))


def clip_grad_value(grads: Sequence[np.ndarray] | np.ndarray, clip_value: float) -> None:
    """Clamp every gradient element to ``[-clip_value, clip_value]`` in place (NaN stays NaN),
    as ``torch.nn.utils.clip_grad_value_``.

    Examples
    --------
    >>> import numpy as np, losskit
    >>> g = np.array([-3.0, 0.5, 2.0])
    >>> losskit.clip_grad_value(g, 1.0)
    >>> g
    array([-1. ,  0.5,  1. ])
    """
    work, grads = _grad_list(grads)
    clip_value = check_real("clip_value", clip_value)
    if not clip_value >= 0:
        raise ValueError(f"clip_value must be non-negative, got {clip_value!r}")
    _core._clip_grad_value(work, clip_value)
    _write_back(work, grads)


# ---- penalties ---------------------------------------------------------------------------
class _Penalty:
    """l1 * ||w||_1 + l2 / 2 * ||w||^2; the subclasses set l1 and l2."""

    _l1: float
    _l2: float

    def _w(self, w: Any) -> np.ndarray:
        return as_real_array("w", w)

    def value(self, w: Any) -> float:
        """The penalty value (sums in float64)."""
        return _core._penalty(self._w(w), None, self._l1, self._l2, True)

    __call__ = value

    def _out(self, w: np.ndarray, out: Any) -> np.ndarray:
        if out is None:
            return np.empty_like(w)
        if not isinstance(out, np.ndarray):
            raise TypeError(f"out must be a numpy.ndarray, got {type(out).__name__}")
        if out.shape != w.shape or out.dtype != w.dtype:
            raise ValueError(
                f"out must have shape {w.shape} and dtype {w.dtype}, got {out.shape} {out.dtype}"
            )
        if not out.flags.writeable or not (out.flags.c_contiguous and out.flags.aligned):
            raise ValueError("out must be a writable C-contiguous array")
        return out

    def grad(self, w: Any, out: np.ndarray | None = None) -> np.ndarray:
        """The (sub)gradient ``l1 * sign(w) + l2 * w`` (sign(0) = 0), into ``out`` if given."""
        w = self._w(w)
        g = self._out(w, out)
        _core._penalty(w, g, self._l1, self._l2, False)
        return g

    def value_and_grad(self, w: Any, out: np.ndarray | None = None) -> tuple[float, np.ndarray]:
        """``(value(w), grad(w))`` in one pass."""
        w = self._w(w)
        g = self._out(w, out)
        return _core._penalty(w, g, self._l1, self._l2, True), g

    def prox(self, w: np.ndarray, step: float) -> np.ndarray:
        """The proximal operator of ``step * penalty``, applied to ``w`` in place::

            w = sign(w) * max(|w| - step * l1, 0) / (1 + step * l2)

        (soft-thresholding for L1, shrinkage for L2). Returns ``w``.
        """
        step = check_real("step", step)
        if not step >= 0:
            raise ValueError(f"step must be non-negative, got {step!r}")
        if not isinstance(w, np.ndarray):
            raise TypeError(f"w must be a numpy.ndarray (prox works in place), got {type(w).__name__}")
        if w.dtype not in (np.float32, np.float64):
            raise ValueError(f"w must have dtype float32 or float64, got {w.dtype}")
        if not w.flags.writeable:
            raise ValueError("w is read-only; prox works in place")
        if w.flags.c_contiguous and w.flags.aligned and w.dtype.isnative:
            _core._penalty_prox(w, self._l1, self._l2, step)
        else:
            tmp = np.ascontiguousarray(w, dtype=w.dtype.newbyteorder("="))
            _core._penalty_prox(tmp, self._l1, self._l2, step)
            w[...] = tmp
        return w

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._params.items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self._params == other._params  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self), tuple(self._params.items())))


def _check_lam(lam: Any) -> float:
    return check_nonnegative("lam", lam)


class L1Penalty(_Penalty):
    r"""``lam * ||w||_1``; gradient ``lam * sign(w)`` (0 at 0); prox = soft-thresholding.

    Examples
    --------
    >>> import numpy as np, losskit
    >>> penalty = losskit.L1Penalty(lam=0.5)
    >>> w = np.array([1.0, -2.0, 0.0])
    >>> penalty.value(w)
    1.5
    >>> penalty.grad(w)
    array([ 0.5, -0.5,  0. ])
    >>> penalty.prox(w, step=1.0)          # soft-thresholding by step * lam, in place
    array([ 0.5, -1.5,  0. ])
    """

    def __init__(self, lam: float = 1.0) -> None:
        self.lam = _check_lam(lam)
        self._params = {"lam": self.lam}
        self._l1, self._l2 = self.lam, 0.0


class L2Penalty(_Penalty):
    r"""``lam / 2 * ||w||^2``; gradient ``lam * w``; prox ``w / (1 + step * lam)``.

    Examples
    --------
    >>> import numpy as np, losskit
    >>> penalty = losskit.L2Penalty(lam=0.5)
    >>> w = np.array([1.0, -2.0, 0.0])
    >>> penalty.value(w)                   # 0.5 / 2 * (1 + 4)
    1.25
    >>> penalty.grad(w)
    array([ 0.5, -1. ,  0. ])
    """

    def __init__(self, lam: float = 1.0) -> None:
        self.lam = _check_lam(lam)
        self._params = {"lam": self.lam}
        self._l1, self._l2 = 0.0, self.lam


class ElasticNetPenalty(_Penalty):
    r"""``lam * (l1_ratio * ||w||_1 + (1 - l1_ratio) / 2 * ||w||^2)`` (scikit-learn's
    convention); prox = soft-thresholding by ``step * lam * l1_ratio``, then division by
    ``1 + step * lam * (1 - l1_ratio)``.

    Examples
    --------
    >>> import numpy as np, losskit
    >>> penalty = losskit.ElasticNetPenalty(lam=1.0, l1_ratio=0.5)
    >>> penalty.value(np.array([1.0, -2.0, 0.0]))    # 0.5 * 3 + 0.25 * 5
    2.75
    """

    def __init__(self, lam: float = 1.0, l1_ratio: float = 0.5) -> None:
        self.lam = _check_lam(lam)
        l1_ratio = check_real("l1_ratio", l1_ratio)
        if not 0 <= l1_ratio <= 1:
            raise ValueError(f"l1_ratio must lie in [0, 1], got {l1_ratio!r}")
        self.l1_ratio = l1_ratio
        self._params = {"lam": self.lam, "l1_ratio": l1_ratio}
        self._l1, self._l2 = self.lam * l1_ratio, self.lam * (1 - l1_ratio)


# ---- minibatches -------------------------------------------------------------------------
class MinibatchSampler:
    """Index batches covering an epoch, reproducible on every machine and thread count.

    Each ``iter(sampler)`` is one epoch (epoch numbers 0, 1, 2, ...; ``set_epoch`` jumps).
    With ``shuffle`` the epoch's order is a random permutation of ``range(n)`` (Fisher-Yates)
    or, with ``replacement``, ``n`` indices drawn uniformly with replacement; the random
    numbers come from a counter-based SplitMix64 generator in C++ keyed by (seed, epoch)
    (documented in ``losskit/optim.hpp``), so the sequence depends only on the seed.

    Parameters
    ----------
    n : int
        Number of samples (>= 0).
    batch_size : int
        > 0.
    shuffle : bool
        Random order per epoch (else 0, 1, ..., n-1).
    drop_last : bool
        Leave out a last batch smaller than batch_size.
    replacement : bool
        Sample with replacement (needs shuffle=True).
    seed : int or None
        0 <= seed < 2**64; None draws one from the operating system (``self.seed``).

    ``len(sampler)`` is the number of batches per epoch; each batch is an int64 array.
    ``iter()`` advances the epoch, so a sampler is not for concurrent use by several threads
    (``epoch_indices(epoch)`` is: it reads only the settings).

    Examples
    --------
    >>> import numpy as np, losskit
    >>> sampler = losskit.MinibatchSampler(10, batch_size=4, shuffle=False)
    >>> len(sampler)
    3
    >>> [batch.tolist() for batch in sampler]
    [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    >>> shuffled = losskit.MinibatchSampler(10, batch_size=4, seed=0)
    >>> sorted(np.concatenate(list(shuffled)).tolist()) == list(range(10))   # each index once
    True
    """

    def __init__(
        self,
        n: int,
        batch_size: int,
        shuffle: bool = True,
        drop_last: bool = False,
        replacement: bool = False,
        seed: int | None = None,
    ) -> None:
        self.n = check_count("n", n, 0)
        if isinstance(batch_size, numbers.Integral) and not isinstance(batch_size, bool) \
                and batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.batch_size = check_count("batch_size", batch_size, 1)
        self.shuffle = check_bool("shuffle", shuffle)
        self.drop_last = check_bool("drop_last", drop_last)
        self.replacement = check_bool("replacement", replacement)
        if self.replacement and not self.shuffle:
            raise ValueError("replacement=True needs shuffle=True")
        if seed is None:
            seed = int(np.random.SeedSequence().generate_state(1, np.uint64)[0])
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed < 2**64:
            raise ValueError(f"seed must be an integer in [0, 2**64) or None, got {seed!r}")
        self.seed = int(seed)
        self.epoch = 0

    def __len__(self) -> int:
        if self.drop_last:
            return self.n // self.batch_size
        return -(-self.n // self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        """The epoch the next ``iter()`` yields (for resuming)."""
        self.epoch = check_count("epoch", epoch, 0)

    def epoch_indices(self, epoch: int) -> np.ndarray:
        """All indices of one epoch, in order (int64)."""
        epoch = check_count("epoch", epoch, 0)
        if not self.shuffle:
            return np.arange(self.n, dtype=np.int64)
        if self.replacement:
            if self.n == 0:
                return np.empty(0, dtype=np.int64)
            return _core._random_indices(self.seed, epoch, self.n, self.n)
        return _core._random_permutation(self.seed, epoch, self.n)

    def __iter__(self) -> Iterator[np.ndarray]:
        order = self.epoch_indices(self.epoch)
        self.epoch += 1
        bs = self.batch_size
        for b in range(len(self)):
            yield order[b * bs : (b + 1) * bs]

    def __repr__(self) -> str:
        return (
            f"MinibatchSampler(n={self.n}, batch_size={self.batch_size}, shuffle={self.shuffle}, "
            f"drop_last={self.drop_last}, replacement={self.replacement}, seed={self.seed})"
        )


def gather(X: np.ndarray, indices: Any, out: np.ndarray | None = None) -> np.ndarray:
    """Rows of ``X`` at ``indices`` into ``out``: ``out[i] = X[indices[i]]``.

    ``X`` is a 1-D or 2-D array of any plain dtype and layout (C-contiguous and aligned
    takes the threaded kernel; strided or unaligned arrays NumPy's indexing); ``indices`` integers in
    ``[0, len(X))`` (negative indices are rejected, not wrapped); ``out`` (optional)
    a writable C-contiguous array of shape ``(len(indices),) + X.shape[1:]`` and X's dtype,
    reused across calls to avoid page faults; it may share memory with X or the indices (the
    result is then what fresh copies would give). Threaded above a size threshold; an index
    out of range raises ValueError naming its position (after the valid rows were copied).

    Examples
    --------
    >>> import numpy as np, losskit
    >>> X = np.arange(12.0).reshape(4, 3)
    >>> losskit.gather(X, [2, 0])
    array([[6., 7., 8.],
           [0., 1., 2.]])
    """
    if not isinstance(X, np.ndarray):
        X = np.asarray(X)
    if X.ndim not in (1, 2):
        raise ValueError(f"X must be 1-D or 2-D, got shape {X.shape}")
    if X.dtype.hasobject:
        raise TypeError(f"X must be an array of a plain dtype, got dtype {X.dtype}")
    idx = np.asarray(indices)
    if idx.dtype.kind not in "iu" and not (idx.size == 0 and idx.dtype.kind == "f"):
        raise TypeError(f"indices must be integers, got dtype {idx.dtype}")
    if idx.ndim != 1:
        raise ValueError(f"indices must be 1-D, got shape {idx.shape}")
    if idx.dtype.kind == "u" and idx.size and idx.max() > np.iinfo(np.int64).max:
        raise ValueError("indices out of range")
    idx = as_index_array(idx)
    shape = (idx.shape[0],) + X.shape[1:]
    if out is None:
        out = np.empty(shape, dtype=X.dtype)
    else:
        if not isinstance(out, np.ndarray):
            raise TypeError(f"out must be a numpy.ndarray, got {type(out).__name__}")
        if out.shape != shape or out.dtype != X.dtype:
            raise ValueError(
                f"out must have shape {shape} and dtype {X.dtype}, got {out.shape} {out.dtype}"
            )
        if not out.flags.writeable or not (out.flags.c_contiguous and out.flags.aligned):
            raise ValueError("out must be a writable C-contiguous array")
    # The kernel reads X and the indices while it writes out: where out shares memory with
    # either (an alias, an overlap, another dtype over the same bytes), gather into a new
    # array and copy it over, which gives what fresh copies would give (rows with a bad
    # index keep out's values, as in the direct path).
    target = out
    if np.may_share_memory(out, X) or np.may_share_memory(out, idx):
        target = out.copy()
    if X.flags.c_contiguous and X.flags.aligned:
        bad = _core._gather(X, idx, target)
    else:
        # any other layout (a strided view; a block a dask worker handed over, C-contiguous
        # but not aligned): NumPy's fancy indexing, with the same rule for bad indices
        invalid = (idx < 0) | (idx >= X.shape[0])
        bad = int(np.argmax(invalid)) if invalid.any() else -1
        valid = ~invalid
        target[valid] = X[idx[valid]]
    if target is not out:
        out[...] = target
    if bad >= 0:
        raise ValueError(
            f"indices[{bad}] = {int(idx[bad])} is out of range for X with {X.shape[0]} rows"
        )
    return out


# ---- gradient checking -------------------------------------------------------------------
def _f_value(f: Callable[[np.ndarray], Any], x: np.ndarray) -> float:
    r = f(x)
    if isinstance(r, tuple):
        r = r[0]
    return float(r)


def numerical_gradient(
    f: Callable[[np.ndarray], Any], x: Any, h: float = 1e-5, method: str = "central"
) -> np.ndarray:
    """The gradient of ``f`` at ``x`` by finite differences, element by element.

    ``f(x)`` returns a float or ``(value, grad)`` (only the value is used); ``x`` is
    converted to float64 (f receives float64 arrays of x's shape). With step ``h`` and unit
    vector ``e_i``:

    * ``"central"``: ``(f(x + h e_i) - f(x - h e_i)) / (2h)`` (error O(h^2))
    * ``"forward"``: ``(f(x + h e_i) - f(x)) / h`` (error O(h))

    Examples
    --------
    >>> import numpy as np, losskit
    >>> f = lambda x: float(np.sum(x ** 2))
    >>> np.round(losskit.numerical_gradient(f, [1.0, -2.0]), 6)
    array([ 2., -4.])
    """
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    h = check_real("h", h)
    if not h > 0 or math.isinf(h):
        raise ValueError(f"h must be positive and finite, got {h!r}")
    if method not in ("central", "forward"):
        raise ValueError(f"method must be 'central' or 'forward', got {method!r}")
    x = np.array(as_real_array("x", x), dtype=np.float64, copy=True)
    flat = x.reshape(-1)
    grad = np.empty_like(flat)
    f0 = _f_value(f, x.copy()) if method == "forward" else 0.0
    for i in range(flat.size):
        orig = flat[i]
        flat[i] = orig + h
        fp = _f_value(f, x.copy())
        if method == "central":
            flat[i] = orig - h
            fm = _f_value(f, x.copy())
            grad[i] = (fp - fm) / (2 * h)
        else:
            grad[i] = (fp - f0) / h
        flat[i] = orig
    return grad.reshape(x.shape)


class GradcheckResult(NamedTuple):
    """``max_rel_error`` = ``max_i |a_i - n_i| / max(|a_i|, |n_i|, tiny)``; ``worst_index`` where
    it occurs (a tuple index into x); ``passed`` = max_rel_error <= rtol.

    Examples
    --------
    >>> import numpy as np, losskit
    >>> result = losskit.gradcheck(lambda x: float(np.sum(x ** 3)), np.array([1.0, 2.0]),
    ...                            grad=np.array([3.0, 12.0]))
    >>> result.passed, result.max_rel_error < 1e-8
    (True, True)
    """

    max_rel_error: float
    worst_index: tuple[int, ...]
    passed: bool


def gradcheck(
    f: Callable[[np.ndarray], Any],
    x: Any,
    grad: Any = None,
    h: float = 1e-5,
    rtol: float = 1e-4,
    tiny: float = 1e-5,
    method: str = "central",
) -> GradcheckResult:
    """Compare an analytic gradient with :func:`numerical_gradient`.

    Parameters
    ----------
    f : callable
        ``f(x) -> value`` or ``f(x) -> (value, grad)``.
    x : array_like
        The point (converted to float64).
    grad : array_like, optional
        The analytic gradient at x; default: the second item of ``f(x)``.
    h, method
        As :func:`numerical_gradient`.
    rtol : float
        Pass if the maximum relative error is at most this.
    tiny : float
        Floor of the denominator, so components where both gradients are ~0 compare
        absolutely (central differences have an absolute error of about
        ``eps * |f| / h + h^2 |f'''|``).

    Returns
    -------
    GradcheckResult(max_rel_error, worst_index, passed)

    Examples
    --------
    >>> import numpy as np, losskit
    >>> loss = losskit.HuberLoss(reduction="sum")
    >>> target = np.array([0.0, 1.0, 2.0])
    >>> f = lambda x: loss.value_and_grad(x, target)      # (value, analytic gradient)
    >>> losskit.gradcheck(f, np.array([0.5, -1.5, 2.2])).passed
    True
    """
    rtol = check_real("rtol", rtol)
    tiny = check_real("tiny", tiny)
    if not tiny > 0:
        raise ValueError(f"tiny must be positive, got {tiny!r}")
    x64 = np.array(as_real_array("x", x), dtype=np.float64, copy=True)
    if grad is None:
        r = f(x64.copy())
        if not (isinstance(r, tuple) and len(r) == 2):
            raise ValueError("grad is None, so f(x) must return (value, grad)")
        grad = r[1]
    a = as_real_array("grad", grad, np.dtype(np.float64))
    if a.shape != x64.shape:
        raise ValueError(f"grad has shape {a.shape}, but x has shape {x64.shape}")
    n = numerical_gradient(f, x64, h=h, method=method)
    if a.size == 0:
        return GradcheckResult(0.0, (), True)
    denom = np.maximum(np.maximum(np.abs(a), np.abs(n)), tiny)
    rel = np.abs(a - n) / denom
    rel = np.where(np.isnan(rel), np.inf, rel)
    flat = int(np.argmax(rel))
    worst = float(rel.reshape(-1)[flat])
    index = tuple(int(i) for i in np.unravel_index(flat, a.shape))
    return GradcheckResult(worst, index, bool(worst <= rtol))
