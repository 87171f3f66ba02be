"""The loss workloads: value and gradient of a mean-reduced loss, one :class:`LossSpec` each.

A spec holds the formulas (regression.py and classification.py define them):

- ``loss(xp, x, y)``: the per-element (or per-sample) loss written with the array namespace
  ``xp``, and ``dloss(x, y)``: its derivative in NumPy (the gradient of the *sum*). On float64
  data they are the reference (value ``mean(loss)``, gradient ``dloss / N``); on the input's
  dtype they are the idiomatic NumPy contender (what a NumPy user writes: the loss and its
  gradient as two expressions, temporaries and all); with ``jax.numpy``, ``loss`` is what JAX
  differentiates unless ``jax_loss`` is given. Both keep the input's dtype (Python scalars only,
  no float64 constants);
- ``jax_loss(jax, x, y)``: the loss as a JAX user writes it, where that differs from ``loss``
  (cross-entropy: ``jax.nn.logsumexp``, whose max carries no gradient; differentiating the
  explicit max costs JAX a tie mask over the whole input, 5-8x the time here), or None;
- ``kinks(r)``: where the gradient is a set-valued subgradient (not compared), or None;
- ``numpy_out(x, y)``: a factory of a closure that works in preallocated, warmed buffers;
- ``torch_loss(torch, x, y)``: the loss as a scalar tensor (``torch.nn.functional`` where
  PyTorch has it), for autograd and ``torch.compile``;
- ``torch_out(torch, x, y)``: a factory of a hand-written ``out=`` / in-place closure;
- ``sklearn(module, x)``: ``(loss object, scale)`` from ``sklearn._loss.loss`` where it has
  the loss (``scale`` turns its "half" convention into ours), or None.

The semantics are PyTorch's (as losskit's are); the gradient is that of the mean, so it
carries a 1/N factor (N = the number of samples: elements, or rows for cross-entropy).
"""

from __future__ import annotations

import signal
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .impls import Impl, Unavailable, require, require_jax
from .workload import Contender, Reference, Workload, alloc

CONTENDERS: dict[str, Contender] = {
    "losskit[out]": Contender("losskit", True, "loss.value_and_grad(x, y, out=g), g preallocated and reused"),
    "losskit": Contender("losskit", False, "loss.value_and_grad(x, y): a new gradient array every call"),
    "numpy": Contender("numpy", False, "idiomatic NumPy: mean(loss(x, y)) and dloss(x, y) / N, the "
                                       "reference's formulas in the input's dtype (temporaries and all)"),
    "numpy[out]": Contender("numpy", True, "NumPy ufuncs with out= into preallocated buffers"),
    "torch-autograd": Contender("torch", False, "torch.nn.functional loss (or composed torch ops) + backward(); "
                                                "x.grad = None each call"),
    "torch[out]": Contender("torch", True, "hand-written torch formula, out= / in-place ops on preallocated buffers"),
    "torch-compile": Contender("torch", False, "torch.compile(torch.func.grad_and_value(loss), dynamic=True, "
                                               "fullgraph=True), compiled once per loss and dtype before timing"),
    "jax-jit": Contender("jax", False, "jax.jit(jax.value_and_grad(mean loss)) on device arrays (x64 enabled)"),
    "sklearn": Contender("sklearn", True, "sklearn._loss: loss_gradient(loss_out=, gradient_out=, n_threads=), "
                                          "then the mean and the 1/N scaling"),
}
# A torch.compile compilation that takes longer is abandoned (and not tried again in the run).
COMPILE_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class LossSpec:
    name: str
    suite: str
    cls: str  # the losskit class
    params: dict
    formula: str
    make_data: Callable  # (shape, dtype, seed) -> (x, y)
    loss: Callable
    dloss: Callable
    numpy_out: Callable
    torch_loss: Callable
    torch_out: Callable
    torch_functional: str  # the torch.nn.functional name, or "" if composed from torch ops
    kinks: Callable | None = None
    sklearn: Callable | None = None
    jax_loss: Callable | None = None
    stream_shape: str = "r2w1"  # read input and target, write the gradient
    elementwise: bool = True


class LossWorkload(Workload):
    """A loss: ``(value, grad) = value_and_grad(x, y)``, reduction "mean"."""

    check_calls = 1

    def __init__(self, spec: LossSpec, description: str, shapes: dict | None = None):
        self.spec = spec
        self.name = spec.name
        self.suite = spec.suite
        self.description = description
        self.elementwise = spec.elementwise
        self.stream_shape = spec.stream_shape
        self._shapes = shapes  # full, quick, overhead, isa; None: the size axis
        self.contenders = {k: v for k, v in CONTENDERS.items() if k != "sklearn" or spec.sklearn is not None}
        if spec.stream_shape == "r2w1":
            self.bytes_model = "3 * N * itemsize (read input and target, write the gradient)"
        else:
            self.bytes_model = "2 * N * C * itemsize (read the logits, write the gradient; labels not counted)"

    def shapes(self, sizes, shapes, quick):
        if self._shapes is None:
            return super().shapes(sizes, shapes, quick)
        return list(shapes or self._shapes["quick" if quick else "full"])

    def overhead_shape(self):
        return super().overhead_shape() if self._shapes is None else self._shapes["overhead"]

    def isa_shape(self, quick):
        if self._shapes is None:
            return super().isa_shape(quick)
        return self._shapes["isa_quick" if quick else "isa"]

    def bytes(self, shape, dtype):
        reads = 2 if self.stream_shape == "r2w1" else 1
        return (reads + 1) * int(np.prod(shape)) * np.dtype(dtype).itemsize

    def make_inputs(self, shape, dtype, seed):
        x, y = self.spec.make_data(shape, dtype, seed)
        return {"x": x, "y": y}

    def reference(self, inputs):
        x = inputs["x"].astype(np.float64)
        y = inputs["y"] if inputs["y"].dtype.kind in "iu" else inputs["y"].astype(np.float64)
        value, grad = _value_and_grad(self.spec, x, y)
        mask = None
        if self.spec.kinks is not None:
            kinks = self.spec.kinks(x - y)
            if kinks.any():
                mask = ~kinks
        return Reference(value, grad, mask)

    def stream_arrays(self, inputs):
        return [inputs["x"], inputs["y"]] if self.stream_shape == "r2w1" else [inputs["x"]]

    def build(self, name, inputs, threads):
        x, y = inputs["x"], inputs["y"]
        spec = self.spec
        if name == "numpy":
            return Impl(lambda: _value_and_grad(spec, x, y))
        if name == "numpy[out]":
            return Impl(spec.numpy_out(x, y))
        if name in ("losskit", "losskit[out]"):
            return _losskit(spec, name, x, y)
        if name.startswith("torch"):
            return _torch(spec, name, x, y)
        if name == "jax-jit":
            return _jax(spec, x, y)
        if name == "sklearn":
            return _sklearn(spec, x, y, threads)
        raise ValueError(f"unknown contender {name!r}")


def _value_and_grad(spec: LossSpec, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """The mean loss and its gradient from the spec's NumPy formulas, in x's dtype."""
    return float(np.mean(spec.loss(np, x, y))), spec.dloss(x, y) / x.shape[0]


def tensors_like(torch: Any, x: Any, count: int) -> list:
    """``count`` zeroed (so already touched) tensors of ``x``'s shape and dtype."""
    return [torch.zeros(x.shape, dtype=x.dtype) for _ in range(count)]


def uses_buffer(buf: np.ndarray) -> Callable[[Any], str]:
    """A validator: the result's array must live in ``buf`` (the ``out=`` argument)."""

    def validate(result: Any) -> str:
        g = result[1]
        if g is buf or (isinstance(g, np.ndarray) and np.shares_memory(g, buf)):
            return ""
        return "out= was not used: the result came back in a new array"

    return validate


def _losskit(spec: LossSpec, name: str, x: np.ndarray, y: np.ndarray) -> Impl:
    lk = require("losskit")
    cls = getattr(lk, spec.cls, None)
    if cls is None:
        raise Unavailable(f"losskit has no {spec.cls}")
    vg = cls(**spec.params).value_and_grad
    if name == "losskit":
        return Impl(lambda: vg(x, y))
    buf = alloc(x.shape, x.dtype)
    # (a lambda: functools.partial with a keyword costs ~130 ns more per call)
    return Impl(lambda: vg(x, y, out=buf), validate=uses_buffer(buf))


# torch.compile: one compilation per loss and dtype in each worker (dynamic shapes, so the
# sizes of the table reuse it; the run takes the cases of one loss and dtype in a row). Only
# the current one is kept: dynamo's caches are reset for the next, since it counts every
# compilation of grad_and_value's wrapper against one recompilation limit (and would check
# the guards of all of them on every call). A compilation that times out is not tried again.
_compiled: tuple[tuple[str, str], Any] | None = None
_compile_disabled = ""


class _CompileTimeout(Exception):
    pass


def _first_call_within(call: Callable[[], Any], timeout: float) -> float:
    """Run ``call`` (whose first call compiles) under a wall-clock limit; its duration.

    In the main thread an interval timer interrupts a compilation that runs past ``timeout``;
    elsewhere the limit is only checked afterwards.
    """
    use_alarm = threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
    fired: list[bool] = []
    old = None
    if use_alarm:
        def on_alarm(signum: int, frame: Any) -> None:
            fired.append(True)
            raise _CompileTimeout()

        old = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout)
    t0 = time.perf_counter()
    try:
        call()
    except Exception:
        if fired:  # dynamo wraps the timer's exception (BackendCompilerFailed)
            raise _CompileTimeout() from None
        raise
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
    dt = time.perf_counter() - t0
    if fired or dt > timeout:
        raise _CompileTimeout()
    return dt


def _torch(spec: LossSpec, name: str, x: np.ndarray, y: np.ndarray) -> Impl:
    global _compiled, _compile_disabled
    torch = require("torch")
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    if name == "torch[out]":
        return Impl(spec.torch_out(torch, xt, yt))
    loss = spec.torch_loss
    if name == "torch-autograd":
        xa = torch.from_numpy(x).requires_grad_(True)

        def call() -> tuple[float, Any]:
            xa.grad = None
            out = loss(torch, xa, yt)
            out.backward()
            return out.item(), xa.grad

        return Impl(call)
    if name != "torch-compile":
        raise ValueError(f"unknown contender {name!r}")
    if _compile_disabled:
        raise Unavailable(_compile_disabled)
    key = (spec.name, str(x.dtype))
    try:
        if _compiled is None or _compiled[0] != key:
            torch._dynamo.reset()
            _compiled = key, torch.compile(torch.func.grad_and_value(lambda a, b: loss(torch, a, b)),
                                           dynamic=True, fullgraph=True)
        compiled = _compiled[1]

        def call() -> tuple[float, Any]:
            g, v = compiled(xt, yt)
            return v.item(), g

        compile_s = _first_call_within(call, COMPILE_TIMEOUT_S)
        call()  # a second call: nothing left to compile for the timed ones
    except _CompileTimeout:
        _compile_disabled = f"torch.compile took more than {COMPILE_TIMEOUT_S:g} s (not retried in this run)"
        raise Unavailable(_compile_disabled) from None
    except Exception as exc:
        lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
        raise Unavailable(f"torch.compile failed: {type(exc).__name__}: {' / '.join(lines[:3])}"[:300]) from None
    return Impl(call, info={"compile_s": compile_s})


def _jax(spec: LossSpec, x: np.ndarray, y: np.ndarray) -> Impl:
    jax, jnp = require_jax()
    xj, yj = jnp.asarray(x), jnp.asarray(y)
    jax_loss, loss = spec.jax_loss, spec.loss
    per_sample = (lambda a, b: jax_loss(jax, a, b)) if jax_loss else (lambda a, b: loss(jnp, a, b))
    fn = jax.jit(jax.value_and_grad(lambda a, b: jnp.mean(per_sample(a, b))))

    def call() -> tuple[float, Any]:
        v, g = fn(xj, yj)
        g.block_until_ready()
        return float(v), g

    call()  # compile outside the timing
    return Impl(call)


def _sklearn(spec: LossSpec, x: np.ndarray, y: np.ndarray, threads: int) -> Impl:
    module = require("sklearn._loss.loss")
    try:
        loss, scale = spec.sklearn(module, x)
    except (AttributeError, TypeError) as exc:  # a private module: its API may change
        raise Unavailable(f"sklearn._loss API differs: {type(exc).__name__}: {exc}") from None
    n = x.shape[0]
    y_true = np.ascontiguousarray(y, dtype=x.dtype)  # class labels as floats, as sklearn takes them
    per_sample = alloc(n, x.dtype)
    g = alloc(x.shape, x.dtype)
    loss_gradient = loss.loss_gradient

    def call() -> tuple[float, np.ndarray]:
        loss_gradient(y_true, x, loss_out=per_sample, gradient_out=g, n_threads=threads)
        v = scale * float(per_sample.sum()) / n
        np.multiply(g, scale / n, out=g)
        return v, g

    return Impl(call, validate=uses_buffer(g))
