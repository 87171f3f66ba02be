"""Optimizer steps: Adam and Nesterov-momentum SGD on one parameter array of N elements.

The gradient is fixed and preallocated; every contender updates its own copy of the
parameters in place, from the same starting point, with PyTorch's update rules (which
losskit.optim follows): Adam (lr 1e-3, betas (0.9, 0.999), eps 1e-8) and SGD (lr 1e-3,
momentum 0.9, nesterov=True). The correctness gate runs :data:`CHECK_STEPS` steps from zero state (the
first SGD step differs from the others) and compares the displacement of the parameters with
the float64 NumPy reference; the timed steps that follow are steady-state steps.

Bytes: Adam reads the gradient and updates the parameters and two moments in place,
7 * N * itemsize; SGD with momentum updates the parameters and one buffer, 5 * N * itemsize.
Their bandwidth kernels have the same in-place shapes (stream.py: r1u3, r1u2).
"""

from __future__ import annotations

import math

import numpy as np

from .impls import Impl, Unavailable, require
from .workload import Contender, Reference, Workload, touched_like

CHECK_STEPS = 3
LR = 1e-3
BETAS = (0.9, 0.999)
EPS = 1e-8
MOMENTUM = 0.9


def _adam_np(p, g):
    """Idiomatic NumPy Adam: new moment arrays every step, the parameters updated in place."""
    b1, b2 = BETAS
    m, v, t = np.zeros_like(p), np.zeros_like(p), 0

    def step():
        nonlocal p, m, v, t
        t += 1
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p -= LR / (1 - b1**t) * m / (np.sqrt(v / (1 - b2**t)) + EPS)

    return step


def _adam_np_out(p, g):
    """NumPy Adam with ufunc out= into preallocated buffers (PyTorch's order of operations)."""
    b1, b2 = BETAS
    m, v, tmp = touched_like(p, 3)
    steps = [0]

    def step():
        steps[0] += 1
        t = steps[0]
        np.multiply(m, b1, out=m)
        np.multiply(g, 1 - b1, out=tmp)
        np.add(m, tmp, out=m)
        np.multiply(v, b2, out=v)
        np.multiply(g, g, out=tmp)
        np.multiply(tmp, 1 - b2, out=tmp)
        np.add(v, tmp, out=v)
        np.sqrt(v, out=tmp)
        np.multiply(tmp, 1 / math.sqrt(1 - b2**t), out=tmp)
        np.add(tmp, EPS, out=tmp)  # denom
        np.divide(m, tmp, out=tmp)
        np.multiply(tmp, LR / (1 - b1**t), out=tmp)
        np.subtract(p, tmp, out=p)

    return step


def _sgd_np(p, g):
    """Idiomatic NumPy Nesterov SGD (the first step's buffer is the gradient itself)."""
    buf = None

    def step():
        nonlocal p, buf
        buf = g.copy() if buf is None else MOMENTUM * buf + g
        p -= LR * (g + MOMENTUM * buf)

    return step


def _sgd_np_out(p, g):
    """NumPy Nesterov SGD with out= (a zero buffer makes the first step's buffer the gradient)."""
    buf, tmp = touched_like(p, 2)

    def step():
        np.multiply(buf, MOMENTUM, out=buf)
        np.add(buf, g, out=buf)
        np.multiply(buf, MOMENTUM, out=tmp)
        np.add(tmp, g, out=tmp)
        np.multiply(tmp, LR, out=tmp)
        np.subtract(p, tmp, out=p)

    return step


def _adam_reference(p0, g, steps):
    b1, b2 = BETAS
    p, m, v = p0.copy(), np.zeros_like(p0), np.zeros_like(p0)
    for t in range(1, steps + 1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p -= LR / (1 - b1**t) * m / (np.sqrt(v) / math.sqrt(1 - b2**t) + EPS)
    return p


def _sgd_reference(p0, g, steps):
    p, buf = p0.copy(), None
    for _ in range(steps):
        buf = g.copy() if buf is None else MOMENTUM * buf + g
        p -= LR * (g + MOMENTUM * buf)
    return p


class OptimizerWorkload(Workload):
    """One optimizer step on N parameters."""

    suite = "optim"
    elementwise = False
    check_calls = CHECK_STEPS

    def __init__(self, name: str, description: str, stream_shape: str, bytes_per_element: int,
                 numpy_idiomatic, numpy_out, reference):
        self.name = name
        self.description = description
        self.stream_shape = stream_shape
        self._bytes_per_element = bytes_per_element
        self._numpy = {"numpy": numpy_idiomatic, "numpy[out]": numpy_out}
        self._reference = reference
        torch_call = "torch.optim.Adam(lr=1e-3" if name == "adam" else "torch.optim.SGD(lr=1e-3, momentum=0.9, nesterov=True"
        lk_call = "losskit.optim.Adam([p], lr=1e-3)" if name == "adam" else \
            "losskit.optim.SGD([p], lr=1e-3, momentum=0.9, nesterov=True)"
        self.contenders = {
            "losskit": Contender("losskit", True, f"{lk_call}.step(grads)"),
            "numpy": Contender("numpy", False, "idiomatic NumPy (new state arrays every step)"),
            "numpy[out]": Contender("numpy", True, "NumPy ufuncs with out= on preallocated state"),
            "torch-fused": Contender("torch", True, f"{torch_call}, fused=True).step()"),
            "torch-foreach": Contender("torch", True, f"{torch_call}, foreach=True).step()"),
            "torch-default": Contender("torch", True, f"{torch_call}, foreach=False).step(): the "
                                                      "per-tensor loop, PyTorch's default on CPU"),
        }
        self.bytes_model = f"{bytes_per_element} * N * itemsize (read the gradient, update the state in place)"

    def shapes(self, sizes, shapes, quick):
        return [(n,) for n in (sizes or ([10**5] if quick else [10**6, 10**7]))]

    def bytes(self, shape, dtype):
        return self._bytes_per_element * shape[0] * np.dtype(dtype).itemsize

    def make_inputs(self, shape, dtype, seed):
        rng = np.random.default_rng([seed, shape[0], np.dtype(dtype).itemsize, 4])
        return {"p0": rng.standard_normal(shape[0]).astype(dtype), "g": rng.standard_normal(shape[0]).astype(dtype)}

    def reference(self, inputs):
        p0 = inputs["p0"].astype(np.float64)
        p = self._reference(p0, inputs["g"].astype(np.float64), CHECK_STEPS)
        # each step rounds the parameters to their dtype: up to half an ulp, <= eps |p|
        rounding = 2 * CHECK_STEPS * float(np.finfo(inputs["p0"].dtype).eps)
        return Reference(array=p - p0, origin=p0, rounding=rounding)

    def stream_arrays(self, inputs):
        return [inputs["g"]]

    def build(self, name, inputs, threads):
        p, g = inputs["p0"].copy(), inputs["g"]
        if name in self._numpy:
            return Impl(self._numpy[name](p, g), result=lambda: (None, p))
        if name == "losskit":
            optim = require("losskit").optim
            opt = optim.Adam([p], lr=LR) if self.name == "adam" else \
                optim.SGD([p], lr=LR, momentum=MOMENTUM, nesterov=True)
            grads = [g]
            return Impl(lambda: opt.step(grads), result=lambda: (None, p))
        if name.startswith("torch-"):
            torch = require("torch")
            flags = {"torch-fused": {"fused": True}, "torch-foreach": {"foreach": True},
                     "torch-default": {"foreach": False}}[name]
            t = torch.from_numpy(p)
            g_t = torch.from_numpy(g)
            t.grad = g_t.clone()
            try:
                opt = torch.optim.Adam([t], lr=LR, **flags) if self.name == "adam" else \
                    torch.optim.SGD([t], lr=LR, momentum=MOMENTUM, nesterov=True, **flags)
            except (RuntimeError, ValueError) as exc:  # e.g. no fused kernel for this dtype
                raise Unavailable(f"{type(exc).__name__}: {exc}") from None

            def check_step():
                # foreach Nesterov SGD adds the momentum into .grad in place: harmless in a
                # training loop, which computes a new .grad every step, as this does here
                t.grad.copy_(g_t)
                opt.step()

            return Impl(opt.step, check_call=check_step, result=lambda: (None, p))
        raise ValueError(f"unknown contender {name!r}")


WORKLOADS = [
    OptimizerWorkload("adam", "Adam step (lr 1e-3, default betas) on N float parameters", "r1u3", 7,
                      _adam_np, _adam_np_out, _adam_reference),
    OptimizerWorkload("nesterov", "SGD step, momentum 0.9, nesterov=True, on N float parameters", "r1u2", 5,
                      _sgd_np, _sgd_np_out, _sgd_reference),
]
