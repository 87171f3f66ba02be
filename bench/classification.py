"""The classification suite: softmax cross-entropy and BCE-with-logits, value + gradient.

    python -m bench --suite classification              # CE (64,10) (4096,1000) (65536,10), BCE N = 1e3..1e7
    python -m bench --suite classification --quick      # smoke run
    python -m bench --suite classification --losses ce --shapes 4096x1000 --threads 1,2

Same method as the regression suite (:mod:`bench.run`): per case the data is made,
every contender is called once and checked against a float64 NumPy reference,
the survivors are timed in interleaved rounds next to a same-shape bandwidth
kernel (:mod:`bench.stream`), and the report gives time, GB/s, % of the
bandwidth kernel and the ratio to the best peer.

Workloads (``reduction="mean"``, gradient of the mean with respect to the logits):

- ``ce``: ``losskit.CrossEntropyLoss()`` on float logits of shape (N, C) with
  int64 labels in [0, C). Bytes counted: 2 * N * C * itemsize (read the logits,
  write the gradient; the 8 N label bytes are not counted). Bandwidth kernel: the
  read-1-write-1 shape ``g = a; s += a*a`` over N * C elements.
- ``bce_with_logits``: ``losskit.BCEWithLogitsLoss()`` on N logits and N targets
  in {0, 1} of the same dtype. Bytes: 3 * N * itemsize; bandwidth kernel: the
  read-2-write-1 shape of the regression suite.

Contenders: losskit with and without ``out=``, idiomatic NumPy, NumPy with
``out=``, PyTorch eager + autograd, hand-written PyTorch with ``out=``,
``torch.compile`` of ``torch.func.grad_and_value(loss)`` (compiled once per case,
outside the timing; unavailable if compiling fails or takes more than
``COMPILE_TIMEOUT_S``), and JAX ``jit(value_and_grad)`` when JAX is installed.
"""

from __future__ import annotations

import argparse
import datetime
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import impls as impls_mod
from . import report, stream, timing
from . import run as run_mod
from .impls import Impl, Unavailable
from .workloads import alloc

# ------------------------------------------------------------------------ contenders

# name -> (family, uses_out, description)
IMPLS: dict[str, tuple[str, bool, str]] = {
    "losskit[out]": ("losskit", True, "losskit value_and_grad(x, y, out=g), g preallocated and reused"),
    "losskit": ("losskit", False, "losskit value_and_grad(x, y): a new gradient array every call"),
    "numpy": ("peer", False, "idiomatic NumPy (stable log-softmax / log1p(exp(-|x|)); temporaries)"),
    "numpy[out]": ("peer", True, "NumPy ufuncs with out= into preallocated buffers"),
    "torch-autograd": ("peer", False, "F.cross_entropy / F.binary_cross_entropy_with_logits + backward(); grad set to None each call"),
    "torch[out]": ("peer", True, "hand-written torch formula with out= / in-place ops on preallocated buffers"),
    "torch-compile": ("peer", False, "torch.compile(torch.func.grad_and_value(F.<loss>), dynamic=False, fullgraph=True), "
                                     "compiled once per case before timing"),
    "jax-jit": ("peer", False, "jax.jit(jax.value_and_grad(loss)) on device arrays (if JAX is installed)"),
    "stream": ("stream", True, "C kernel: CE g = a; s += a*a over N*C logits (read 1, write 1); "
                               "BCE g = a - b; s += g*g (read 2, write 1)"),
}
PEERS = [k for k, v in IMPLS.items() if v[0] == "peer"]
CONTENDERS = [k for k in IMPLS if k != "stream"]

CE_SHAPES = [(64, 10), (4096, 1000), (65536, 10)]
BCE_SIZES = [10**k for k in range(3, 8)]
QUICK_BCE_SIZES = [10**3, 10**5, 10**6]
COMPILE_TIMEOUT_S = 120.0
CE_LOGIT_SCALE = 2.0  # logits ~ N(0, 2^2)
BCE_LOGIT_SCALE = 2.0


# ----------------------------------------------------------------------------- specs

@dataclass(frozen=True)
class ClassSpec:
    name: str
    cls: str
    params: dict
    kind: str  # "ce" (2-D logits, int labels) or "bce" (1-D logits, float targets)
    formula: str
    reference: Callable  # (x float64, y) -> (value, grad float64)
    numpy_idiomatic: Callable
    numpy_out: Callable
    torch_loss: Callable  # (F, x, y) -> scalar loss tensor (eager autograd and torch.compile)
    torch_out: Callable
    jax_loss: Callable  # (jax, jnp, x, y) -> scalar
    torch_functional: str
    kinks: Callable | None = None


# ------------------------------------------------------------- softmax cross-entropy
# l_i = logsumexp(x_i) - x_i[y_i];  d mean / d x_ij = (softmax(x_i)_j - [j == y_i]) / N

def _ce_ref(x, y):
    n = x.shape[0]
    rows = np.arange(n)
    m = x.max(axis=1, keepdims=True)
    z = x - m
    lse = np.log(np.exp(z).sum(axis=1, keepdims=True))
    v = float(np.mean(lse[:, 0] - z[rows, y]))
    g = np.exp(z - lse)
    g[rows, y] -= 1.0
    return v, g / n


def _ce_np(x, y):
    n = x.shape[0]
    z = x - x.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    rows = np.arange(n)
    v = -logp[rows, y].mean()
    g = np.exp(logp)
    g[rows, y] -= 1
    g /= n
    return float(v), g


def _ce_np_out(x, y):
    n, c = x.shape
    dt = x.dtype
    g = alloc(n * c, dt).reshape(n, c)
    gf = g.reshape(-1)
    xf = x.reshape(-1)
    m = alloc(n, dt).reshape(n, 1)
    s = alloc(n, dt).reshape(n, 1)
    r = alloc(n, dt).reshape(n, 1)
    picked = alloc(n, dt)
    gy = alloc(n, dt)
    flat = np.arange(n, dtype=np.int64) * c + y  # index of each target in the flat arrays

    def f():
        np.max(x, axis=1, keepdims=True, out=m)
        np.subtract(x, m, out=g)
        np.exp(g, out=g)
        np.sum(g, axis=1, keepdims=True, out=s)
        np.divide(1.0 / n, s, out=r)
        np.multiply(g, r, out=g)  # softmax / N
        np.take(gf, flat, out=gy)
        np.subtract(gy, 1.0 / n, out=gy)
        np.put(gf, flat, gy)
        np.take(xf, flat, out=picked)
        np.log(s, out=s)
        np.add(s, m, out=s)  # logsumexp per row
        v = (float(np.sum(s)) - float(np.sum(picked))) / n
        return v, g

    return f


def _ce_torch_loss(F, x, y):
    return F.cross_entropy(x, y, reduction="mean")


def _ce_torch_out(torch, x, y):
    n, c = x.shape
    dt = x.dtype

    def z(*shape):
        return torch.zeros(shape, dtype=dt)

    g, m, s, r, pk = z(n, c), z(n, 1), z(n, 1), z(n, 1), z(n, 1)
    y2 = y.view(n, 1)
    neg = torch.full((n, 1), -1.0 / n, dtype=dt)

    def f():
        torch.amax(x, 1, keepdim=True, out=m)
        torch.sub(x, m, out=g)
        g.exp_()
        torch.sum(g, 1, keepdim=True, out=s)
        torch.reciprocal(s, out=r)
        r.mul_(1.0 / n)
        g.mul_(r)
        g.scatter_add_(1, y2, neg)
        torch.gather(x, 1, y2, out=pk)
        s.log_().add_(m).sub_(pk)
        return s.sum().item() / n, g

    return f


def _ce_jax_loss(jax, jnp, x, y):
    logp = jax.nn.log_softmax(x, axis=1)
    return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))


# ------------------------------------------------------------------ BCE with logits
# l = max(x, 0) - x y + log1p(exp(-|x|));  d mean / dx = (sigmoid(x) - y) / N

def _bce_ref(x, y):
    e = np.exp(-np.abs(x))
    v = float(np.mean(np.maximum(x, 0.0) - x * y + np.log1p(e)))
    sig = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return v, (sig - y) / x.size


def _bce_np(x, y):
    v = np.mean(np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x))))
    g = (1 / (1 + np.exp(-x)) - y) / x.size
    return float(v), g


def _bce_np_out(x, y):
    n = x.size
    t = alloc(n, x.dtype)
    g = alloc(n, x.dtype)

    def f():
        np.abs(x, out=t)
        np.negative(t, out=t)
        np.exp(t, out=t)  # e = exp(-|x|)
        np.add(t, 1.0, out=g)
        np.reciprocal(g, out=g)  # sigmoid(|x|)
        np.log1p(t, out=t)
        s = float(np.sum(t))
        np.maximum(x, 0, out=t)
        v = (s + float(np.sum(t)) - float(np.dot(x, y))) / n
        np.sign(x, out=t)
        np.subtract(g, 0.5, out=g)
        np.multiply(g, t, out=g)
        np.add(g, 0.5, out=g)  # sigmoid(x) = 0.5 + sign(x) (sigmoid(|x|) - 0.5)
        np.subtract(g, y, out=g)
        np.multiply(g, 1.0 / n, out=g)
        return v, g

    return f


def _bce_torch_loss(F, x, y):
    return F.binary_cross_entropy_with_logits(x, y, reduction="mean")


def _bce_torch_out(torch, x, y):
    n = x.numel()
    t = torch.zeros(n, dtype=x.dtype)
    g = torch.zeros(n, dtype=x.dtype)

    def f():
        torch.abs(x, out=t)
        t.neg_().exp_().log1p_()
        s = t.sum().item()
        torch.clamp(x, min=0, out=t)
        v = (s + t.sum().item() - torch.dot(x, y).item()) / n
        torch.sigmoid(x, out=g)
        g.sub_(y).mul_(1.0 / n)
        return v, g

    return f


def _bce_jax_loss(jax, jnp, x, y):
    return jnp.mean(jax.nn.softplus(x) - x * y)


LOSSES: dict[str, ClassSpec] = {
    "ce": ClassSpec(
        name="ce", cls="CrossEntropyLoss", params={}, kind="ce",
        formula="softmax cross-entropy, (N, C) logits, int64 labels",
        reference=_ce_ref, numpy_idiomatic=_ce_np, numpy_out=_ce_np_out,
        torch_loss=_ce_torch_loss, torch_out=_ce_torch_out, jax_loss=_ce_jax_loss,
        torch_functional="cross_entropy",
    ),
    "bce_with_logits": ClassSpec(
        name="bce_with_logits", cls="BCEWithLogitsLoss", params={}, kind="bce",
        formula="max(x,0) - x y + log1p(exp(-|x|)), targets in {0, 1}",
        reference=_bce_ref, numpy_idiomatic=_bce_np, numpy_out=_bce_np_out,
        torch_loss=_bce_torch_loss, torch_out=_bce_torch_out, jax_loss=_bce_jax_loss,
        torch_functional="binary_cross_entropy_with_logits",
    ),
}


# ------------------------------------------------------------------------------ data

def make_data(spec: ClassSpec, shape: tuple, dtype, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """C-contiguous, pages touched. CE: logits ~ N(0, 2^2), labels uniform in [0, C)
    (int64). BCE: logits ~ N(0, 2^2), targets ~ Bernoulli(sigmoid(logit)) (so the
    logits are informative, as in training), in the logits' dtype."""
    dtype = np.dtype(dtype)
    size = int(np.prod(shape))
    rng = np.random.default_rng([seed, size, dtype.itemsize, 2 if spec.kind == "ce" else 3])
    if spec.kind == "ce":
        n, c = shape
        x = (CE_LOGIT_SCALE * rng.standard_normal((n, c))).astype(dtype)
        y = rng.integers(0, c, n, dtype=np.int64)
    else:
        x = (BCE_LOGIT_SCALE * rng.standard_normal(size)).astype(dtype)
        p = 1.0 / (1.0 + np.exp(-x.astype(np.float64)))
        y = (rng.random(size) < p).astype(dtype)
    return np.ascontiguousarray(x), np.ascontiguousarray(y)


def shape_label(shape: tuple) -> str:
    return "x".join(str(d) for d in shape) if len(shape) > 1 else report.fmt_n(shape[0])


# ----------------------------------------------------------------- optional: JAX

def _jax():
    """(jax, jnp) with 64-bit floats enabled, or raise Unavailable."""
    jax = impls_mod.get_module("jax")
    if jax is None:
        raise Unavailable(f"jax not installed ({impls_mod.import_error('jax')})")
    try:
        jax.config.update("jax_enable_x64", True)  # else float64 inputs silently become float32
        import jax.numpy as jnp
    except Exception as exc:
        raise Unavailable(f"jax unusable: {type(exc).__name__}: {exc}") from None
    return jax, jnp


# ---------------------------------------------------------- optional: torch.compile

_compile_disabled = ""  # set after a timeout: compiling is not tried again in this run


class _CompileTimeout(Exception):
    pass


def _compile_first_call(call: Callable, timeout: float):
    """Run ``call`` (whose first call compiles) under a wall-clock limit.

    In the main thread an interval timer interrupts a compilation that runs past
    ``timeout``; elsewhere the limit is only checked afterwards.
    """
    use_alarm = threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
    old = None
    fired = []
    if use_alarm:
        def on_alarm(signum, frame):
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


# ------------------------------------------------------------------------- factories

def build(name: str, spec: ClassSpec, x: np.ndarray, y: np.ndarray, threads: int, stream_kernel=None) -> Impl:
    """One contender for this loss and data. Raises Unavailable or any error."""
    global _compile_disabled
    if name == "numpy":
        f = spec.numpy_idiomatic
        return Impl(name, lambda: f(x, y))
    if name == "numpy[out]":
        return Impl(name, spec.numpy_out(x, y))
    if name in ("torch-autograd", "torch[out]", "torch-compile"):
        torch = impls_mod.get_module("torch")
        if torch is None:
            raise Unavailable(f"torch not importable ({impls_mod.import_error('torch')})")
        import torch.nn.functional as F

        xt = torch.from_numpy(x)
        yt = torch.from_numpy(y)
        if name == "torch[out]":
            return Impl(name, spec.torch_out(torch, xt, yt))
        loss = spec.torch_loss
        if name == "torch-autograd":
            xa = torch.from_numpy(x).requires_grad_(True)

            def call():
                xa.grad = None
                out = loss(F, xa, yt)
                out.backward()
                return out.item(), xa.grad

            return Impl(name, call)
        # torch.compile: a fresh compilation per case (dynamic=False: specialised to
        # this shape, dtype and -- in the generated C++ -- thread count).
        if _compile_disabled:
            raise Unavailable(_compile_disabled)
        try:
            import torch._dynamo

            torch._dynamo.reset()
            compiled = torch.compile(torch.func.grad_and_value(lambda a, b: loss(F, a, b)),
                                     dynamic=False, fullgraph=True)

            def call():
                g, v = compiled(xt, yt)
                return v.item(), g

            dt = _compile_first_call(call, COMPILE_TIMEOUT_S)
            call()  # a second call: no recompilation left for the timed ones
        except _CompileTimeout:
            _compile_disabled = f"torch.compile took more than {COMPILE_TIMEOUT_S:g} s (not retried in this run)"
            raise Unavailable(_compile_disabled) from None
        except Unavailable:
            raise
        except Exception as exc:
            lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
            raise Unavailable(f"torch.compile failed: {type(exc).__name__}: {' / '.join(lines[:3])}"[:300]) from None
        imp = Impl(name, call)
        imp.info = {"compile_s": dt}  # reported in the JSON
        return imp
    if name == "jax-jit":
        jax, jnp = _jax()
        xj = jnp.asarray(x)
        yj = jnp.asarray(y)
        jl = spec.jax_loss
        fn = jax.jit(jax.value_and_grad(lambda a, b: jl(jax, jnp, a, b)))

        def call():
            v, g = fn(xj, yj)
            g.block_until_ready()
            return float(v), g

        call()  # compile outside the timing
        return Impl(name, call)
    if name in ("losskit", "losskit[out]"):
        lk = impls_mod.get_module("losskit")
        if lk is None:
            raise Unavailable(f"losskit not importable ({impls_mod.import_error('losskit')})")
        cls = getattr(lk, spec.cls, None)
        if cls is None:
            raise Unavailable(f"losskit has no {spec.cls}")
        vg = cls(**spec.params).value_and_grad
        if name == "losskit":
            return Impl(name, lambda: vg(x, y))
        buf = alloc(x.size, x.dtype).reshape(x.shape)

        def validate(result):
            g = result[1]
            if g is buf or (isinstance(g, np.ndarray) and np.shares_memory(g, buf)):
                return ""
            return "out= was not used: the gradient came back in a new array"

        return Impl(name, lambda: vg(x, y, out=buf), validate=validate)
    if name == "stream":
        if stream_kernel is None:
            raise Unavailable("no bandwidth kernel")
        g = alloc(x.size, x.dtype).reshape(x.shape)
        n = x.size
        if spec.kind == "ce":
            run = stream_kernel.bind1(x, g, threads)
        else:
            run = stream_kernel.bind(x, y, g, threads)

        def call():
            return run(1) / n, g

        return Impl(name, call, batch=run)
    raise ValueError(f"unknown implementation {name!r}")


@dataclass
class Suite:
    """What :func:`bench.run.run_case` needs to know about this suite's loss ``spec``."""

    spec: ClassSpec
    impls: dict
    peers: list

    def build(self, name, spec, x, y, threads, stream_kernel):
        return build(name, spec, x, y, threads, stream_kernel)

    def reference(self, spec, x, y):
        v, g = spec.reference(x.astype(np.float64), y if spec.kind == "ce" else y.astype(np.float64))
        return v, np.asarray(g, dtype=np.float64), None

    def stream_reference(self, x, y):
        a = x.astype(np.float64)
        if self.spec.kind == "ce":
            return float(np.mean(a * a)), a, None
        return impls_mod.stream_reference(x, y)

    def case_fields(self, spec, x, y) -> dict:
        item = x.dtype.itemsize
        fields = {"shape": list(x.shape), "shape_label": shape_label(x.shape)}
        if spec.kind == "ce":
            fields["bytes"] = 2 * x.size * item
            fields["n_rows"], fields["n_classes"] = x.shape
        return fields


# ----------------------------------------------------------------------- arguments

def _parse_shapes(text: str) -> list[tuple[int, int]]:
    out = []
    for tok in [t.strip() for t in text.split(",") if t.strip()]:
        parts = tok.lower().split("x")
        try:
            n, c = (int(float(p)) for p in parts)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{tok!r} is not NxC, e.g. 4096x1000") from None
        if n < 1 or c < 1:
            raise argparse.ArgumentTypeError(f"{tok!r}: N and C must be >= 1")
        out.append((n, c))
    if not out:
        raise argparse.ArgumentTypeError("empty list")
    return out


def _parse_choice(table: list[str], what: str):
    def parse(text: str) -> list[str]:
        if text.strip() == "all":
            return list(table)
        out = [t.strip() for t in text.split(",") if t.strip()]
        bad = [t for t in out if t not in table]
        if bad:
            raise argparse.ArgumentTypeError(f"unknown {what} {', '.join(bad)} (choose from {', '.join(table)})")
        return out

    return parse


def make_parser() -> argparse.ArgumentParser:
    from .run import _parse_dtypes, _parse_sizes, _parse_threads

    p = argparse.ArgumentParser(
        prog="losskit bench --suite classification",
        description=(
            "Benchmark losskit's softmax cross-entropy and BCE-with-logits (value + gradient, mean "
            "reduction) against NumPy, PyTorch (eager, hand-written, torch.compile) and JAX, next to a "
            "same-shape memory-bandwidth kernel."
        ),
    )
    p.add_argument("--suite", choices=["regression", "classification"], default="classification",
                   help="which suite (this is the classification one)")
    p.add_argument("--quick", action="store_true",
                   help="a smoke run (BCE sizes 1e3,1e5,1e6; few repeats; torch.compile still compiles per case)")
    p.add_argument("--shapes", type=_parse_shapes,
                   help="CE shapes NxC, comma-separated (default " + ",".join(f"{n}x{c}" for n, c in CE_SHAPES) + ")")
    p.add_argument("--sizes", type=_parse_sizes, help="BCE sizes N, e.g. 1e3,1e7 (default 1e3..1e7)")
    p.add_argument("--losses", type=_parse_choice(list(LOSSES), "loss"),
                   help=f"comma-separated, or 'all' (default): {','.join(LOSSES)}")
    p.add_argument("--dtypes", type=_parse_dtypes, help="float32,float64 (default both)")
    p.add_argument("--threads", type=_parse_threads,
                   help="comma-separated thread counts, e.g. 1,2 (default: OMP_NUM_THREADS or the CPUs available)")
    p.add_argument("--impls", type=_parse_choice(CONTENDERS, "contender"),
                   help=f"contenders (default all): {','.join(CONTENDERS)}")
    p.add_argument("--repeats", type=int, help="minimum rounds per case (default 7, --quick 3)")
    p.add_argument("--budget", type=float, help="seconds per case before stopping at the minimum rounds (default 0.4, --quick 0.03)")
    p.add_argument("--gap-ms", type=float, default=0.0, help="pause before each sample at >= 65536 elements with >1 thread")
    p.add_argument("--no-stream", action="store_true", help="skip the bandwidth kernel")
    p.add_argument("--cc", default="cc", help="C compiler for the bandwidth kernel (default: cc)")
    p.add_argument("--seed", type=int, default=0, help="data seed (default 0)")
    p.add_argument("--json", metavar="PATH", help="write all results (every sample) as JSON")
    p.add_argument("--markdown", metavar="PATH", nargs="?", const="-",
                   help="markdown tables: to PATH, or instead of the plain tables on stdout if no PATH")
    p.add_argument("--list", action="store_true", help="list losses and contenders, then exit")
    return p


# ------------------------------------------------------------------------------ main

def main(argv: list[str] | None = None) -> int:
    from .run import GAP_MIN_N, _machine, _progress, default_threads, run_case

    parser = make_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) if isinstance(exc.code, int) or exc.code is None else 2

    if args.list:
        print("losses (--suite classification):")
        for spec in LOSSES.values():
            print(f"  {spec.name:18s} losskit.{spec.cls}()  {spec.formula}")
        print("contenders:")
        for name, (_fam, _out, desc) in IMPLS.items():
            print(f"  {name:16s} {desc}")
        return 0

    shapes = args.shapes or list(CE_SHAPES)
    sizes = args.sizes or (QUICK_BCE_SIZES if args.quick else BCE_SIZES)
    losses = args.losses or list(LOSSES)
    dtypes = args.dtypes or ["float32", "float64"]
    threads_list = args.threads or [default_threads()]
    setup = run_mod.setup_run(parser, args, IMPLS, CONTENDERS)
    if isinstance(setup, int):
        return setup
    names, st, gap_s, stream_kernel, stream_msg = setup

    results = {
        "schema": "losskit-bench/1",
        "suite": "classification",
        "title": "losskit benchmark: classification losses, value + gradient, mean reduction",
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": _machine(),
        "losskit": impls_mod.losskit_info(),
        "torch": impls_mod.torch_info(),
        "stream_kernel": {"available": stream_kernel is not None, "info": stream_msg,
                          "openmp": getattr(stream_kernel, "openmp", None),
                          "parallel_min_n": stream.PARALLEL_MIN},
        "config": {"sizes": sizes, "shapes": [list(s) for s in shapes], "losses": losses, "dtypes": dtypes,
                   "threads": threads_list, "impls": names, "quick": args.quick, "seed": args.seed,
                   "min_rounds": st.min_rounds, "max_rounds": st.max_rounds, "budget_s": st.budget_s,
                   "min_sample_s": st.min_sample_s, "gap_s": gap_s, "gap_min_n": GAP_MIN_N,
                   "settle_call_before_long_samples": "when threads > 1",
                   "compile_timeout_s": COMPILE_TIMEOUT_S},
        "bytes_model": "ce: 2 * N * C * itemsize (read logits, write gradient; labels not counted); "
                       "bce_with_logits: 3 * N * itemsize (read logits and targets, write gradient)",
        "bytes_short": "CE 2*N*C*itemsize, BCE 3*N*itemsize",
        "summary_note": ("losskit[out] reuses a preallocated, warmed gradient buffer (out=); losskit and the best "
                         "peer may allocate per call. stream = the same-shape bandwidth kernel in the same case: "
                         "CE g = a; s += a*a over the N*C logits (read 1, write 1); BCE g = a - b; s += g*g "
                         "(read 2, write 1)."),
        "contenders": {k: {"family": v[0], "uses_out": v[1], "description": v[2]} for k, v in IMPLS.items()},
        "losses": {k: {"class": s.cls, "params": s.params, "formula": s.formula,
                       "torch_functional": s.torch_functional} for k, s in LOSSES.items()},
        "thread_settings": [],
        "overhead": [],
        "cases": [],
    }
    # OpenMP wait policy: with several OpenMP runtimes in one process (losskit's and the
    # stream kernel's libgomp, torch's own libgomp) and other load on 2 cores, spinning
    # idle workers make 2-thread timings jump by whole scheduler ticks; OMP_WAIT_POLICY=passive
    # (set before starting Python) avoids that. Record what was in effect.
    omp_env = {k: os.environ[k] for k in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OMP_NUM_THREADS") if k in os.environ}
    results["environment"] = omp_env
    results["header_note"] = ("OpenMP environment: " + (", ".join(f"{k}={v}" for k, v in omp_env.items()) or
                                                        "default (OMP_WAIT_POLICY unset: idle workers spin)"))

    def shapes_of(lname):
        return [tuple(s) for s in shapes] if LOSSES[lname].kind == "ce" else [(n,) for n in sizes]

    saved_threads = impls_mod.get_threads()
    t_start = time.perf_counter()
    interrupted = False
    try:
        total = len(threads_list) * len(dtypes) * sum(len(shapes_of(l)) for l in losses)
        done = 0
        for threads in threads_list:
            applied = impls_mod.set_threads(threads)
            results["thread_settings"].append({"threads": threads, "applied": applied})
            for dtype in dtypes:
                for lname in losses:
                    spec = LOSSES[lname]
                    suite = Suite(spec, IMPLS, PEERS)
                    for shape in shapes_of(lname):
                        done += 1
                        size = int(np.prod(shape))
                        st.gap_s = gap_s if (threads > 1 and size >= GAP_MIN_N) else 0.0
                        st.settle = threads > 1
                        _progress(f"[{done}/{total}] {lname} {dtype} {shape_label(shape)} threads={threads}")
                        x, y = make_data(spec, shape, dtype, args.seed)
                        case = run_case(spec, x, y, dtype, threads, names, st, stream_kernel,
                                        with_stream=stream_kernel is not None, suite=suite)
                        results["cases"].append(case)
                        del x, y
    except KeyboardInterrupt:
        interrupted = True
        print("\ninterrupted: reporting what was measured", file=sys.stderr)
    finally:
        if saved_threads:
            impls_mod.set_threads(None, saved_threads)
    return run_mod.finish_run(args, results, t_start, interrupted)


__all__ = ["main", "LOSSES", "IMPLS", "PEERS", "CONTENDERS", "build", "make_data", "Suite"]
