"""A contender as its worker runs it (:class:`Impl`), and the lazy import of optional libraries.

Everything optional (losskit itself, PyTorch, JAX, scikit-learn) is imported on first use,
inside the worker process of that library, so the harness runs without any of them (their
contenders are then reported as unavailable) and ``import losskit`` stays light.
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Callable


class Unavailable(Exception):
    """The contender cannot run here (library not installed, no such loss, ...)."""


@dataclass(eq=False)
class Impl:
    """One contender, built on one case's data."""

    call: Callable[[], Any]  # one call; returns what the correctness check needs
    batch: Callable[[int], Any] | None = None  # k calls at once (default: a Python loop)
    # After the correctness check: an error message, or "" (e.g. "out= was not used").
    validate: Callable[[Any], str] | None = None
    # What the correctness check compares, when it is not the last call's return value.
    result: Callable[[], Any] | None = None
    # What the correctness gate calls instead of ``call``, where the timed call alone does not
    # reproduce the reference (see optim.py).
    check_call: Callable[[], Any] | None = None
    info: dict = field(default_factory=dict)  # reported in the JSON (e.g. compile time)

    def run(self, k: int) -> None:
        if self.batch is not None:
            self.batch(k)
            return
        call = self.call
        for _ in range(k):
            call()


_modules: dict[str, Any] = {}
_import_errors: dict[str, str] = {}

_REPO_ROOT = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))


def _import_losskit() -> Any:
    """Import losskit, preferring the installed build over the source tree.

    ``python -m bench`` runs from the repository root, which puts the source directory
    ``losskit/`` first on ``sys.path``; without a compiled extension there (or as an empty
    directory: a namespace package) it would shadow the installed package. So look past the
    repository root first and fall back to the source tree (an in-place or editable build)
    only if nothing else is found.
    """
    if "losskit" in sys.modules and getattr(sys.modules["losskit"], "__file__", None):
        return sys.modules["losskit"]  # already imported (e.g. run from `losskit bench`)

    def forget() -> None:
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


def get_module(name: str) -> Any:
    """Import ``name`` once; None (and remember why) if it cannot be imported."""
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


def require(name: str) -> Any:
    """:func:`get_module`, raising :class:`Unavailable` (with the reason) if it is missing."""
    mod = get_module(name)
    if mod is None:
        raise Unavailable(f"{name} not importable ({_import_errors.get(name, '')})")
    return mod


def import_error(name: str) -> str:
    return _import_errors.get(name, "")


def require_jax() -> tuple[Any, Any]:
    """``(jax, jax.numpy)`` with 64-bit floats enabled (else float64 inputs silently become
    float32), or :class:`Unavailable`."""
    jax = require("jax")
    try:
        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp
    except Exception as exc:
        raise Unavailable(f"jax unusable: {type(exc).__name__}: {exc}") from None
    return jax, jnp
