"""One function per loss, under PyTorch's ``torch.nn.functional`` name where PyTorch has the loss
(the definition's ``torch_function``: ``huber_loss``, ``binary_cross_entropy``, ...) and under
the registry name otherwise (``pseudo_huber``, ``tweedie``, ...)::

    >>> import numpy as np
    >>> from losskit import functional as F
    >>> F.huber_loss(np.array([0.5, 3.0]), np.array([0.0, 0.0]), delta=1.0)
    1.3125
    >>> value, grad = F.huber_loss(np.array([0.5, 3.0]), np.array([0.0, 0.0]), grad=True)

Each function takes the loss's data arguments in its call order, then its constructor
parameters with their defaults, then ``reduction``, ``sample_weight`` and ``grad``; it returns
what ``loss(...)`` returns, or ``loss.value_and_grad(...)`` (the value and the gradient in the
first argument) with ``grad=True``. The functions are generated from the registry: a loss
added to it has its function here. They keep the loss objects of recent parameter values
(at most ``_CACHE_SIZE`` per function), so a call costs a dictionary lookup more than calling a
loss object. The adaptive Barron loss holds trained state and has no function here.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

from . import _base

_CACHE_SIZE = 64


def _data_arguments(definition: dict[str, Any]) -> list[str]:
    """The data arguments of a loss in call order (PyTorch's)."""
    if definition["family"] == "rowwise":  # the row operands come before the target, if any
        target = [] if definition["row_target"] == "none" else ["target"]
        return [definition["input_name"], *definition["operands"], *target]
    names = [definition["input_name"], "target"]
    if definition["arity"] == 3:
        names.insert(definition["third_position"], definition["operands"][0])
    return names


def function_name(name: str) -> str:
    """The name of loss ``name``'s function here: PyTorch's where PyTorch has the loss."""
    definition = _base.DEFINITIONS.get(name, {})
    return definition.get("torch_function") or name


def _make(name: str) -> Callable[..., Any]:
    cls = _base._REGISTRY[name]
    definition = _base.DEFINITIONS[name]
    data = _data_arguments(definition)
    params = [p for p in inspect.signature(cls.__init__).parameters.values()
              if p.name != "self"]
    names = [p.name for p in params]
    fname = function_name(name)
    for identifier in [fname, *data, *names]:
        if not identifier.isidentifier():
            raise RuntimeError(f"losskit internal error: {identifier!r} is not an identifier")
    namespace: dict[str, Any] = {"_cache": {}, "_limit": _CACHE_SIZE, "_cls": cls,
                                 "_last": [(object(),) * (len(names) + 1)]}
    defaults = []
    for i, p in enumerate(params):
        namespace[f"_default{i}"] = p.default
        defaults.append(f"{p.name}=_default{i}")
    # The key holds each parameter's type as well: 1, 1.0 and True are equal keys, but the
    # class refuses a bool where it wants a number. Unhashable values (arrays) are not cached.
    key = ", ".join(f"{n}.__class__, {n}" for n in names)
    kwargs = ", ".join(f"{n}={n}" for n in names)
    args = ", ".join(data)
    # The cache holds the loss's two bound methods (no attribute lookups per call). The last
    # call's parameter objects are compared by identity first: a call site passes the same
    # constant objects every time (and identical objects are equal and of one type), so the
    # usual call builds no key. _last[0] is replaced whole, so a thread reads one consistent
    # entry.
    same = " and ".join(f"{n} is last[{i}]" for i, n in enumerate(names))
    source = f"""
def {fname}({args}, {", ".join(defaults)}, sample_weight=None, grad=False):
    last = _last[0]
    if {same}:
        methods = last[-1]
    else:
        try:
            key = ({key},)
            methods = _cache.get(key)
        except TypeError:
            key = methods = None
        if methods is None:
            loss = _cls({kwargs})
            methods = (loss.__call__, loss.value_and_grad)
            if key is not None:
                if len(_cache) >= _limit:
                    _cache.clear()
                _cache[key] = methods
        if key is not None:  # (arrays, which may change in place, are never matched)
            _last[0] = ({", ".join(names)}, methods)
    return methods[1 if grad else 0]({args}, sample_weight)
"""
    exec(compile(source, f"<losskit.functional.{fname}>", "exec"), namespace)
    function = namespace[fname]
    function.__module__ = __name__
    function.__qualname__ = fname
    function.__doc__ = _docstring(definition, cls, fname, data)
    return function


def _docstring(definition: dict[str, Any], cls: type, fname: str, data: list[str]) -> str:
    setup, args = _base.example_arguments(definition)
    example = "\n".join([">>> import numpy as np, losskit", ">>> from losskit import functional as F",
                         *setup, f">>> value, grad = F.{fname}({args}, grad=True)",
                         f">>> bool(np.allclose(value, losskit.{cls.__name__}()({args})))",
                         "True"])
    return (
        f"{definition['summary']}\n\n"
        f"The functional form of :class:`losskit.{cls.__name__}`: "
        f"``{fname}({', '.join(data)}, **params)`` is "
        f"``{cls.__name__}(**params)({', '.join(data)}, sample_weight)``, and with "
        f"``grad=True`` its ``value_and_grad`` (the value and d/d {data[0]}). Parameters, "
        f"formula and domains: see :class:`losskit.{cls.__name__}`.\n\n"
        f"Examples\n--------\n{example}\n"
    )


def _functions() -> dict[str, Callable[..., Any]]:
    out = {}
    for name in _base.available_losses():
        if name in _base.DEFINITIONS:
            function = _make(name)
            out[function.__name__] = function
    return out


FUNCTIONS: dict[str, Callable[..., Any]] = _functions()
globals().update(FUNCTIONS)
__all__ = sorted(FUNCTIONS)
