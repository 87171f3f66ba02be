"""The contenders: losskit (with and without ``out=``), the peers, the stream kernel.

Everything optional is imported lazily: the harness runs without losskit and
without PyTorch (those contenders are then listed as unavailable).
"""

from __future__ import annotations

import ctypes
import importlib
import os
import sys
from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import workloads
from .workloads import LossSpec, alloc

# name -> (family, uses_out, description)
IMPLS: dict[str, tuple[str, bool, str]] = {
    "losskit[out]": ("losskit", True, "losskit value_and_grad(x, y, out=g), g preallocated and reused"),
    "losskit": ("losskit", False, "losskit value_and_grad(x, y): a new gradient array every call"),
    "numpy": ("peer", False, "idiomatic NumPy (r = x - y; np.mean(...); temporaries)"),
    "numpy[out]": ("peer", True, "NumPy ufuncs with out= into preallocated buffers"),
    "torch-autograd": ("peer", False, "torch.nn.functional loss (or composed ops) + backward(); grad set to None each call"),
    "torch[out]": ("peer", True, "hand-written torch formula with out= / in-place ops on preallocated buffers"),
    "stream": ("stream", True, "C kernel g = a - b; s += g*g (the bandwidth reference)"),
}
PEERS = [k for k, v in IMPLS.items() if v[0] == "peer"]
CONTENDERS = [k for k in IMPLS if k != "stream"]


class Unavailable(Exception):
    """The contender cannot run here (not installed, no such loss, ...)."""


@dataclass(eq=False)
class Impl:
    name: str
    call: Callable[[], object]  # one value_and_grad call -> (value, grad)
    batch: Callable[[int], object] | None = None  # k calls (default: a Python loop)
    # Extra validation after the correctness check: returns an error message or "".
    validate: Callable[[object], str] | None = None

    @property
    def family(self) -> str:
        return IMPLS[self.name][0]

    @property
    def uses_out(self) -> bool:
        return IMPLS[self.name][1]

    def run(self, k: int) -> None:
        if self.batch is not None:
            self.batch(k)
            return
        call = self.call
        for _ in range(k):
            call()


# --------------------------------------------------------------------- optional modules

_modules: dict[str, object] = {}
_import_errors: dict[str, str] = {}


_REPO_ROOT = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))


def _import_losskit():
    """Import losskit, preferring the installed build over the source tree.

    ``python -m bench`` runs from the repository root, which puts the source
    directory ``losskit/`` first on ``sys.path``; without a compiled extension
    there (or as an empty directory: a namespace package) it would shadow the
    installed package. So look past the repository root first and fall back to
    the source tree (an in-place or editable build) only if nothing else is found.
    """
    if "losskit" in sys.modules and getattr(sys.modules["losskit"], "__file__", None):
        return sys.modules["losskit"]  # already imported (e.g. run from `losskit bench`)

    def forget():
        for key in [k for k in sys.modules if k == "losskit" or k.startswith("losskit.")]:
            del sys.modules[key]

    saved = sys.path[:]
    mod, first_error = None, None
    try:
        sys.path[:] = [p for p in sys.path if os.path.realpath(p or os.getcwd()) != _REPO_ROOT]
        forget()
        mod = importlib.import_module("losskit")
        if getattr(mod, "__file__", None) is None:
            mod = None
    except ImportError as exc:
        first_error = exc
    finally:
        sys.path[:] = saved
    if mod is None:
        forget()
        mod = importlib.import_module("losskit")  # the source tree, if anything
        if getattr(mod, "__file__", None) is None:
            forget()
            where = ", ".join(getattr(mod, "__path__", []) or ["?"])
            raise ImportError(
                f"only an empty 'losskit' directory was found ({where}): losskit is not built/installed"
                + (f"; installed copy: {first_error}" if first_error else "")
            )
    return mod


def get_module(name: str):
    """Import ``name`` once; return None (and remember why) if it cannot be imported."""
    if name in _modules:
        return _modules[name]
    try:
        mod = _import_losskit() if name == "losskit" else importlib.import_module(name)
    except Exception as exc:  # ImportError, or a broken build raising anything
        _modules[name] = None
        _import_errors[name] = f"{type(exc).__name__}: {exc}"
        return None
    _modules[name] = mod
    return mod


def import_error(name: str) -> str:
    return _import_errors.get(name, "")


def losskit_info() -> dict:
    lk = get_module("losskit")
    if lk is None:
        return {"available": False, "error": import_error("losskit")}
    info = {"available": True, "version": getattr(lk, "__version__", "?"), "file": getattr(lk, "__file__", "?")}
    for key, fn in (("isa", "get_isa"), ("available_isas", "available_isas"), ("num_threads", "get_num_threads")):
        f = getattr(lk, fn, None)
        if callable(f):
            try:
                val = f()
                info[key] = list(val) if isinstance(val, (tuple, list)) else val
            except Exception as exc:  # report, never crash the harness
                info[key] = f"error: {exc}"
    return info


def torch_info() -> dict:
    torch = get_module("torch")
    if torch is None:
        return {"available": False, "error": import_error("torch")}
    return {"available": True, "version": torch.__version__, "num_threads": torch.get_num_threads()}


# ----------------------------------------------------------------------------- threads

def _openblas():
    """NumPy's OpenBLAS (set/get thread count functions) found via the loaded libraries."""
    if "_openblas" in _modules:
        return _modules["_openblas"]
    found = None
    try:
        with open("/proc/self/maps") as fh:
            paths = sorted(
                {ln.split()[-1] for ln in fh if "openblas" in ln.lower() and ".so" in ln.split()[-1]}
            )
        for path in paths:
            try:
                lib = ctypes.CDLL(path)
            except OSError:
                continue
            for setter, getter in (
                ("scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_"),
                ("scipy_openblas_set_num_threads", "scipy_openblas_get_num_threads"),
                ("openblas_set_num_threads64_", "openblas_get_num_threads64_"),
                ("openblas_set_num_threads", "openblas_get_num_threads"),
            ):
                if hasattr(lib, setter) and hasattr(lib, getter):
                    s, g = getattr(lib, setter), getattr(lib, getter)
                    s.argtypes = [ctypes.c_int]
                    s.restype = None
                    g.argtypes = []
                    g.restype = ctypes.c_int
                    found = (s, g)
                    break
            if found:
                break
    except OSError:
        found = None
    _modules["_openblas"] = found
    return found


def get_threads() -> dict:
    """Current thread settings of every library we control (to restore them later)."""
    state = {}
    lk = _modules.get("losskit")
    if lk is not None and callable(getattr(lk, "get_num_threads", None)):
        try:
            state["losskit"] = int(lk.get_num_threads())
        except Exception:
            pass
    torch = _modules.get("torch")
    if torch is not None:
        state["torch"] = int(torch.get_num_threads())
    ob = _openblas()
    if ob is not None:
        state["openblas"] = int(ob[1]())
    return state


def set_threads(n: int | None, libs: dict | None = None) -> dict:
    """Set the thread count of losskit, torch and NumPy's BLAS to ``n``; or, with
    ``libs`` (as returned by :func:`get_threads`), restore exactly those settings.
    Returns what was applied."""
    targets = dict(libs) if libs is not None else {"losskit": n, "torch": n, "openblas": n}
    applied = {}
    lk = _modules.get("losskit")
    if "losskit" in targets and lk is not None and callable(getattr(lk, "set_num_threads", None)):
        try:
            lk.set_num_threads(targets["losskit"])
            applied["losskit"] = targets["losskit"]
        except Exception as exc:
            applied["losskit"] = f"error: {exc}"
    torch = _modules.get("torch")
    if "torch" in targets and torch is not None:
        torch.set_num_threads(targets["torch"])
        applied["torch"] = targets["torch"]
    ob = _openblas() if "openblas" in targets else None
    if ob is not None:
        ob[0](targets["openblas"])
        applied["openblas"] = targets["openblas"]
    return applied


# ----------------------------------------------------------------------------- factories

def build(name: str, spec: LossSpec, x: np.ndarray, y: np.ndarray, threads: int, stream_kernel=None) -> Impl:
    """Build one contender for this loss and data. Raises Unavailable or any error."""
    if name == "numpy":
        f = spec.numpy_idiomatic
        return Impl(name, lambda: f(x, y))
    if name == "numpy[out]":
        return Impl(name, spec.numpy_out(x, y))
    if name in ("torch-autograd", "torch[out]"):
        torch = get_module("torch")
        if torch is None:
            raise Unavailable(f"torch not importable ({import_error('torch')})")
        xt = torch.from_numpy(x)
        yt = torch.from_numpy(y)
        if name == "torch[out]":
            return Impl(name, spec.torch_out(torch, xt, yt))
        import torch.nn.functional as F

        xa = torch.from_numpy(x).requires_grad_(True)
        make = spec.torch_autograd

        def call():
            xa.grad = None
            loss = make(F, xa, yt)
            loss.backward()
            return loss.item(), xa.grad

        return Impl(name, call)
    if name in ("losskit", "losskit[out]"):
        lk = get_module("losskit")
        if lk is None:
            raise Unavailable(f"losskit not importable ({import_error('losskit')})")
        cls = getattr(lk, spec.cls, None)
        if cls is None:
            raise Unavailable(f"losskit has no {spec.cls}")
        loss = cls(**spec.params)
        vg = loss.value_and_grad
        if name == "losskit":
            return Impl(name, lambda: vg(x, y))
        buf = alloc(x.size, x.dtype).reshape(x.shape)

        def validate(result):
            g = result[1]
            if g is buf:
                return ""
            if isinstance(g, np.ndarray) and np.shares_memory(g, buf):
                return ""
            return "out= was not used: the gradient came back in a new array"

        # (a lambda: functools.partial with a keyword costs ~130 ns more per call)
        return Impl(name, lambda: vg(x, y, out=buf), validate=validate)
    if name == "stream":
        if stream_kernel is None:
            raise Unavailable("no bandwidth kernel")
        g = alloc(x.size, x.dtype)
        run = stream_kernel.bind(x, y, g, threads)
        n = x.size

        def call():
            return run(1) / n, g  # (mean of squares, g = x - y)

        return Impl(name, call, batch=run)
    raise ValueError(f"unknown implementation {name!r}")


def stream_reference(x: np.ndarray, y: np.ndarray):
    """What the stream kernel must return: (mean of r^2, r) in float64, r = x - y."""
    r = x.astype(np.float64) - y.astype(np.float64)
    return float(np.mean(r * r)), r, None


__all__ = ["IMPLS", "PEERS", "CONTENDERS", "Impl", "Unavailable", "build", "get_module", "workloads"]
