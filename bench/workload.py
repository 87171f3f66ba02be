"""What a benchmark workload is, and the correctness gate (:mod:`.catalog` lists them all).

A *workload* (one loss, one optimizer step, the minibatch gather, one training epoch) knows

- its contenders: name -> :class:`Contender` (which worker family runs it, whether it writes
  into preallocated buffers, a description);
- the shapes it runs at (the size table, the per-call overhead probe, the per-ISA probe);
- how to make its input arrays from a seed and the float64 NumPy reference of the result;
- how to build each contender on those arrays (in the contender's worker process) and how to
  check a contender's result against the reference;
- the bytes one call must move and the access shape of its bandwidth kernel (:mod:`.stream`).

Workloads are plain Python over NumPy: the coordinator imports them to make the data and the
references, each worker imports them to build its contenders; the optional libraries are
imported by the builders only, inside the worker that runs them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .impls import Impl

# The size axis of the elementwise losses (N elements).
FULL_SIZES = [10**k for k in range(2, 8)]
QUICK_SIZES = [10**3, 10**5]
# The per-ISA table probes every workload at one size that fits in the caches, where the
# instruction set (not the memory) decides the speed.
ISA_N = 10**5
QUICK_ISA_N = 10**4
OVERHEAD_N = 16


@dataclass(frozen=True)
class Contender:
    """How a workload's contender runs (the builder is the workload's)."""

    family: str  # the worker that runs it: losskit, numpy, torch, jax, sklearn or stream
    uses_out: bool  # writes into preallocated, already-touched buffers
    description: str


STREAM_CONTENDER = Contender("stream", True, "the same-shape bandwidth kernel (bench/stream.py)")


@dataclass
class Reference:
    """The float64 NumPy result a contender must reproduce: a scalar, an array, or both.

    ``mask`` marks the array elements that are compared (None: all). With an ``origin``
    (an optimizer's starting parameters) ``array`` is the displacement from it: the
    contender's array minus ``origin`` is compared with it, and each element may also be off
    by ``rounding * |origin|`` (the rounding of the parameters to their dtype, step by step).
    """

    value: float | None = None
    array: np.ndarray | None = None
    mask: np.ndarray | None = None
    origin: np.ndarray | None = None
    rounding: float = 0.0


@dataclass
class CheckResult:
    ok: bool
    value_err: float = float("nan")  # relative error of the value
    array_err: float = float("nan")  # max |a - a_ref| / max |a_ref|
    message: str = ""


# Tolerances of the correctness gate. They catch bugs, they do not rate accuracy (the measured
# errors are reported next to the timings). float32 values may come from float32 dot
# products, off by ~1e-4 at N = 1e7, hence the loose value tolerance.
TOLERANCES = {
    np.dtype(np.float32): {"value_rtol": 1e-3, "array_rtol": 1e-4, "array_atol": 1e-5},
    np.dtype(np.float64): {"value_rtol": 1e-9, "array_rtol": 1e-9, "array_atol": 1e-12},
}


def to_numpy(a: Any) -> np.ndarray:
    """A NumPy view of a result array (torch tensors are detached, JAX arrays copied)."""
    if isinstance(a, np.ndarray):
        return a
    detach = getattr(a, "detach", None)
    if detach is not None:  # a torch tensor
        return detach().cpu().numpy()
    return np.asarray(a)


def check(result: Any, ref: Reference, dtype: Any) -> CheckResult:
    """Compare a contender's result with the reference.

    Parameters
    ----------
    result : tuple
        ``(value, array)``: what the contender computed (the array may be a NumPy array, a
        torch tensor or a JAX array).
    ref : Reference
        The float64 reference.
    dtype : str or numpy.dtype
        The case's dtype: the array must have it, and it picks the tolerances.

    Returns
    -------
    CheckResult
        ``ok`` when the value (if the reference has one) is within the relative tolerance and
        every compared element within the relative tolerance plus an absolute part scaled by
        max|reference| (plus the rounding allowance of a reference with an origin); the
        measured errors either way.
    """
    dtype = np.dtype(dtype)
    tol = TOLERANCES[dtype]
    try:
        value, array = result
    except (TypeError, ValueError):
        return CheckResult(False, message=f"expected (value, array), got {type(result).__name__}")
    msgs = []
    v_err = float("nan")
    if ref.value is not None:
        try:
            value = float(value)
        except (TypeError, ValueError):
            return CheckResult(False, message=f"value is not a scalar: {type(value).__name__}")
        scale = max(abs(ref.value), np.finfo(np.float64).tiny)
        v_err = abs(value - ref.value) / scale if math.isfinite(value) else float("inf")
        if not v_err <= tol["value_rtol"]:
            msgs.append(f"value {value!r} vs reference {ref.value!r} "
                        f"(rel err {v_err:.2e} > {tol['value_rtol']:.0e})")
    a_err = float("nan")
    if ref.array is not None:
        got = to_numpy(array)
        if got.shape != ref.array.shape:
            return CheckResult(False, v_err, message=f"shape {got.shape}, expected {ref.array.shape}")
        if got.dtype != dtype:
            return CheckResult(False, v_err, message=f"dtype {got.dtype}, expected {dtype}")
        got = got.astype(np.float64)
        want = ref.array
        allowance: np.ndarray | float = 0.0
        if ref.origin is not None:
            got -= ref.origin
            allowance = ref.rounding * np.abs(ref.origin)
        if ref.mask is not None:
            got, want = got[ref.mask], want[ref.mask]
            if isinstance(allowance, np.ndarray):
                allowance = allowance[ref.mask]
        if want.size and not np.all(np.isfinite(got)):
            bad = int(np.flatnonzero(~np.isfinite(got))[0])
            return CheckResult(False, v_err, float("inf"), f"non-finite result at element {bad}")
        diff = np.abs(got - want)
        amax = float(np.max(np.abs(want))) if want.size else 0.0
        a_err = float(np.max(diff)) / amax if want.size and amax > 0 else float(np.max(diff, initial=0.0))
        bad = diff > tol["array_rtol"] * np.abs(want) + tol["array_atol"] * amax + allowance
        if np.any(bad):
            i = int(np.flatnonzero(bad)[0])
            msgs.append(f"differs at {int(np.count_nonzero(bad))} of {want.size} elements "
                        f"(first: {float(got[i])!r} vs {float(want[i])!r}; max err {a_err:.2e} of max|ref|)")
    return CheckResult(not msgs, v_err, a_err, "; ".join(msgs))


def alloc(shape: Any, dtype: Any) -> np.ndarray:
    """A buffer whose pages are already touched (no first-touch page faults later)."""
    buf = np.empty(shape, dtype=dtype)
    buf.fill(0)
    return buf


def touched_like(a: np.ndarray, count: int) -> list[np.ndarray]:
    """``count`` buffers of ``a``'s shape and dtype, pages touched."""
    return [alloc(a.shape, a.dtype) for _ in range(count)]


def fmt_n(n: int) -> str:
    """1e5 for powers of ten from 100 on, else the number."""
    k = round(math.log10(n)) if n > 0 else 0
    return f"1e{k}" if n > 0 and 10**k == n and k >= 2 else str(n)


class Workload:
    """One benchmarked operation. Subclasses fill in the data, the reference and the builders.

    ``shape`` is the workload's own size parameter: ``(N,)`` for the elementwise losses and
    the optimizers, ``(N, C)`` for cross-entropy, ``(rows, cols, count)`` for the gather.
    """

    name: str
    suite: str  # the --suite it belongs to
    description: str
    contenders: dict[str, Contender]
    dtypes: tuple[str, ...] = ("float32", "float64")
    # "r2w1", "r1w1", "r1u2", "r1u3" (see stream.SHAPES), or None: no bandwidth kernel
    stream_shape: str | None = None
    bytes_model: str = ""
    elementwise: bool = False  # an elementwise loss (the bandwidth target applies)
    check_calls: int = 1  # calls before the correctness check (optimizer steps, epochs)

    def shapes(self, sizes: list[int] | None, shapes: list[tuple[int, ...]] | None,
               quick: bool) -> list[tuple[int, ...]]:
        """The shapes of the size table: the user's --sizes apply to the workloads with a size
        axis, the user's --shapes to those with 2-D shapes (cross-entropy)."""
        return [(n,) for n in (sizes or (QUICK_SIZES if quick else FULL_SIZES))]

    def overhead_shape(self) -> tuple[int, ...] | None:
        """The shape that measures the per-call overhead, or None."""
        return (OVERHEAD_N,)

    def isa_shape(self, quick: bool) -> tuple[int, ...] | None:
        """The shape of the per-ISA table, or None when the ISA does not matter."""
        return (QUICK_ISA_N if quick else ISA_N,)

    def elements(self, shape: tuple[int, ...]) -> int:
        """The x axis of the plot and the size the thread-scaling table picks the largest of."""
        return int(np.prod(shape))

    def label(self, shape: tuple[int, ...]) -> str:
        return "x".join(fmt_n(d) if len(shape) == 1 else str(d) for d in shape)

    def bytes(self, shape: tuple[int, ...], dtype: str) -> int | None:
        """The bytes one call must move at least, or None."""
        return None

    def make_inputs(self, shape: tuple[int, ...], dtype: str, seed: int) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def reference(self, inputs: dict[str, np.ndarray]) -> Reference:
        raise NotImplementedError

    def build(self, name: str, inputs: dict[str, np.ndarray], threads: int) -> Impl:
        """Build one contender (in its worker). Raises :class:`~.impls.Unavailable` or any error."""
        raise NotImplementedError

    def stream_arrays(self, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        """The arrays the bandwidth kernel reads, in order (copies are made by the caller)."""
        raise NotImplementedError

    def check(self, result: Any, ref: Reference, dtype: str) -> CheckResult:
        return check(result, ref, dtype)
