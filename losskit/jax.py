"""losskit's losses as JAX functions: one per loss, under :mod:`losskit.functional`'s names and
signatures, usable inside :func:`jax.jit`, :func:`jax.grad`, :func:`jax.value_and_grad` and
:func:`jax.vmap` on CPU float32/float64 arrays::

    >>> import jax, jax.numpy as jnp
    >>> from losskit import jax as LJ
    >>> x, y = jnp.array([0.5, 3.0]), jnp.zeros(2)
    >>> float(jax.jit(LJ.huber_loss)(x, y))
    1.3125
    >>> value, g = jax.value_and_grad(LJ.huber_loss)(x, y)
    >>> g.tolist()
    [0.25, 0.5]

Each function is a :func:`jax.custom_vjp`: its forward pass calls losskit's fused kernel once
and keeps the gradients it returns with the value; the backward pass only scales them by the
cotangent (no second kernel call, no recomputation). The arguments losskit differentiates are
differentiable: the input, the pair and triplet losses' other inputs, gaussian_nll's ``var``,
gaussian_crps's ``sigma``, and Barron's ``alpha`` and ``scale`` when given as arrays (a JAX
scalar is an array: ``barron(x, y, alpha=jnp.float32(1.0))`` learns alpha). Differentiating a
target, a label, a sample weight or bce_with_logits' array ``pos_weight`` raises TypeError when
the gradient is traced (losskit does not compute those derivatives). The other parameters and
``reduction`` are static: Python values, checked when the call is traced (ValueError/TypeError
naming the parameter).

The kernels run as XLA FFI custom calls (``jax.ffi``) compiled from the same C++ core, where
losskit was built with jaxlib's FFI headers (``losskit.jax.FFI`` is True); a reduction stays one
value per batch element under :func:`jax.vmap` (the handlers loop over the batch). A build
without those headers (``pip install .`` where jax was not importable at build time and
``LOSSKIT_JAX_FFI_INCLUDE`` was unset) runs the same kernels through :func:`jax.pure_callback`
instead: the same results, at the cost of a host callback per call (bench/RESULTS.md).

Arguments with a domain (labels, signs, sample weights, inputs outside a loss's domain, Barron's
per-element alpha and scale) are checked by the kernel before anything is written, when the
computation runs: under ``jax.jit`` a bad value raises ``jax.errors.JaxRuntimeError`` carrying
losskit's message (a ValueError outside a transformation is not possible: the values are not
known when the call is traced). Shapes, dtypes and parameters are checked at trace time.
Inputs are float32 or float64 (float16 and bfloat16 compute in float32 and return their dtype;
integers compute in JAX's default float). Gradients are first order: the functions have no
forward-mode (``jax.jvp``, ``jax.jacfwd``) or second-derivative rule.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.custom_derivatives import SymbolicZero

from . import _base, _core, functional
from ._validation import MODES, check_reduction

__all__: list[str] = []

# ---- the kernels as JAX operations -----------------------------------------------------------
# The FFI targets (src/cpp/jax/bind_jax_ffi.cpp); absent from a build without jaxlib's headers.
FFI: bool = hasattr(_core, "jax_ffi_handlers")
if FFI:
    for _target, _capsule in _core.jax_ffi_handlers().items():
        jax.ffi.register_ffi_target(_target, _capsule, platform="cpu")

# A definition's position among those of its family is the C++ enum value (loss_ids.hpp).
_LOSS_IDS: dict[str, int] = {}
for _family in ("elementwise", "rowwise"):
    _names = [d["name"] for d in _core.loss_definitions() if d["family"] == _family]
    _LOSS_IDS.update({name: i for i, name in enumerate(_names)})
_REDUCTION_IDS = {"none": 0, "sum": 1, "mean": 2, "batchmean": 3}
# Which optional operands a call passes (the handlers' `operands` attribute).
_THIRD, _FOURTH, _WEIGHT = 1, 2, 4  # elementwise, after input and target
_ROW_TARGET, _ROW_SECOND, _ROW_THIRD, _ROW_WEIGHT, _ROW_CLASS_WEIGHT = 1, 2, 4, 8, 16


class _Spec(NamedTuple):
    """One traced call: the kernel, its configuration and its operands' layout (hashable)."""

    family: str             # "elementwise" or "rowwise"
    kernel: str             # the definition whose kernel runs
    params: tuple[float, ...]  # the kernel's parameters (LossParams)
    reduction: str
    operands: int           # the bit mask of the optional operands passed
    differentiable: tuple[int, ...]  # positions of the operands with a gradient, kernel order
    rank: int               # the unbatched input's rank
    batch_size: int         # reduction "batchmean"'s divisor
    ignore_index: int
    class_weight: tuple[float, ...]
    value_shape: tuple[int, ...]  # reduction "none": the unbatched per-element/per-row values
    names: tuple[str, ...]  # of the operands passed, in order (for messages)


def _ffi_call(spec: _Spec, arrays: list[Any], grads: int) -> tuple[Any, ...]:
    """The value (when grads == 0) or the value and the first `grads` gradients."""
    dtype = arrays[0].dtype
    value_shape = spec.value_shape if spec.reduction == "none" else ()
    results = [jax.ShapeDtypeStruct(value_shape, dtype)]
    results += [jax.ShapeDtypeStruct(arrays[p].shape, dtype) for p in spec.differentiable[:grads]]
    params = np.zeros(4, np.float64)
    params[: len(spec.params)] = spec.params
    attributes = dict(loss=np.int64(_LOSS_IDS[spec.kernel]), params=params,
                      operands=np.int64(spec.operands),
                      reduction=np.int64(_REDUCTION_IDS[spec.reduction]),
                      grads=np.int64(grads), rank=np.int64(spec.rank))
    if spec.family == "elementwise":
        attributes["batch_size"] = np.int64(spec.batch_size)
    else:
        attributes["ignore_index"] = np.int64(spec.ignore_index)
    # broadcast_all: under vmap every operand gets the batch axes in front, and the handler
    # runs the kernel once per batch element (reductions stay per element).
    call = jax.ffi.ffi_call(f"losskit_{spec.family}", results, vmap_method="broadcast_all")
    return tuple(call(*arrays, **attributes))


@functools.lru_cache(maxsize=256)
def _host_kernel(spec: _Spec) -> Any:
    if spec.family == "elementwise":
        return _core.ElementwiseKernel(spec.kernel, list(spec.params), spec.reduction)
    return _core.RowwiseKernel(spec.kernel, list(spec.params), spec.reduction, spec.ignore_index,
                               list(spec.class_weight))


def _callback_call(spec: _Spec, arrays: list[Any], grads: int) -> tuple[Any, ...]:
    """What _ffi_call computes, through jax.pure_callback and the Python binding's entry."""
    dtype = arrays[0].dtype
    value_shape = spec.value_shape if spec.reduction == "none" else ()
    results = [jax.ShapeDtypeStruct(value_shape, dtype)]
    results += [jax.ShapeDtypeStruct(arrays[p].shape, dtype) for p in spec.differentiable[:grads]]
    mode = (MODES["value"] if grads == 0 else MODES["value_and_grad"] if grads == 1
            else MODES["value_and_grads"])
    present = _present(spec)

    def host(*values: np.ndarray) -> tuple[np.ndarray, ...]:
        operands: list[Any] = [None] * 5
        for slot, v in zip(present, values):
            operands[slot] = np.asarray(v)
        if spec.family == "rowwise" and operands[1] is not None and operands[1].dtype.kind in "iu":
            operands[1] = operands[1].astype(np.int64)
        out = _host_kernel(spec).run(mode, *operands, None, None, None)
        out = out if isinstance(out, tuple) else (out,)
        return tuple(np.asarray(o, dtype).reshape(r.shape) for o, r in zip(out, results))

    # sequential: the host kernel sees one batch element at a time (reductions per element).
    return tuple(jax.pure_callback(host, tuple(results), *arrays, vmap_method="sequential"))


def _present(spec: _Spec) -> list[int]:
    """The slots (in the Python binding's run order) of the operands a call passes; row-wise
    class weights go to the host kernel's constructor instead."""
    if spec.family == "elementwise":
        bits = [(_THIRD, 2), (_FOURTH, 3), (_WEIGHT, 4)]
        return [0, 1] + [slot for bit, slot in bits if spec.operands & bit]
    bits = [(_ROW_TARGET, 1), (_ROW_SECOND, 2), (_ROW_THIRD, 3), (_ROW_WEIGHT, 4)]
    return [0] + [slot for bit, slot in bits if spec.operands & bit]


_kernel_call: Callable[[_Spec, list[Any], int], tuple[Any, ...]] = (
    _ffi_call if FFI else _callback_call)


# ---- differentiation: the fused gradients saved by the forward pass --------------------------
@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def _loss(spec: _Spec, *arrays: Any) -> Any:
    return _kernel_call(spec, list(arrays), 0)[0]


def _loss_fwd(spec: _Spec, *primals: Any) -> tuple[Any, tuple[Any, ...]]:
    arrays = [p.value for p in primals]
    wanted = [p for p in spec.differentiable if primals[p].perturbed]
    for position, primal in enumerate(primals):
        if primal.perturbed and position not in spec.differentiable:
            raise TypeError(f"losskit.jax does not differentiate {spec.kernel}'s "
                            f"{spec.names[position]} (targets, labels and sample weights are "
                            f"constants)")
    # The kernels write the input's gradient, and the other arguments' all together.
    grads = len(spec.differentiable) if any(p != 0 for p in wanted) else 1
    value, *gradients = _kernel_call(spec, arrays, grads)
    return value, tuple(gradients)


def _loss_bwd(spec: _Spec, gradients: tuple[Any, ...], cotangent: Any) -> tuple[Any, ...]:
    out: list[Any] = [None] * len(spec.names)
    if isinstance(cotangent, SymbolicZero):
        return tuple(out)
    for position, g in zip(spec.differentiable, gradients):
        if spec.reduction != "none":
            out[position] = cotangent * g
        elif spec.family == "rowwise":  # one value per row (and position): along the classes
            out[position] = jnp.expand_dims(cotangent, 1) * g
        else:
            out[position] = cotangent * g
    return tuple(out)


_loss.defvjp(_loss_fwd, _loss_bwd, symbolic_zeros=True)


# ---- the functions, from the registry --------------------------------------------------------
def _float_dtype(*arrays: Any) -> Any:
    """The dtype the kernels compute in (float32/float64) and the one results are given in."""
    dtype = jnp.result_type(*[a for a in arrays if a is not None])
    if jnp.issubdtype(dtype, jnp.complexfloating):
        raise TypeError(f"losskit.jax needs real arrays, got dtype {dtype}")
    if not jnp.issubdtype(dtype, jnp.floating):
        dtype = jnp.result_type(float)
    compute = jnp.float32 if jnp.finfo(dtype).bits < 32 else dtype
    return jnp.dtype(compute), jnp.dtype(dtype)


def _as_array(name: str, value: Any) -> Any:
    try:
        return jnp.asarray(value)
    except TypeError as exc:
        raise TypeError(f"{name} could not be converted to an array: {exc}") from None


def _to_input_shape(name: str, a: Any, shape: tuple[int, ...]) -> Any:
    """A scalar broadcast to the input's shape; any other shape must be the input's."""
    if a.shape == shape:
        return a
    if a.ndim == 0:
        return jnp.broadcast_to(a, shape)
    raise ValueError(f"{name} shape {a.shape} does not match input shape {shape}")


def _third_to_input_shape(name: str, a: Any, shape: tuple[int, ...]) -> Any:
    """PyTorch's rule for gaussian_nll's var (losskit's, see _validation)."""
    if a.shape == shape:
        return a
    view = a[..., None] if a.ndim == len(shape) - 1 and a.shape == shape[:-1] else a
    mismatched = ([v for s, v in zip(shape, view.shape) if s != v]
                  if view.ndim == len(shape) else None)
    if view.ndim == 0 or mismatched == [1]:
        return jnp.broadcast_to(view, shape)
    raise ValueError(f"{name} shape {a.shape} must be the input shape {shape}, a scalar, the "
                     f"input shape without its last axis, or the input shape with one axis of "
                     f"size 1")


def _operand_to_input_shape(name: str, a: Any, shape: tuple[int, ...]) -> Any:
    try:
        if jnp.broadcast_shapes(a.shape, shape) == shape:
            return jnp.broadcast_to(a, shape)
    except ValueError:
        pass
    raise ValueError(f"{name} shape {a.shape} does not broadcast to the input shape {shape}")


def _weight_to_input_shape(w: Any, shape: tuple[int, ...]) -> Any:
    if w.shape == shape:
        return w
    if len(shape) >= 2 and w.shape == shape[:1]:
        return jnp.broadcast_to(w.reshape(shape[:1] + (1,) * (len(shape) - 1)), shape)
    expected = f"{shape}" + (f" or {shape[:1]}" if len(shape) >= 2 else "")
    raise ValueError(f"sample_weight shape {w.shape} must be {expected}")


def _is_array(value: Any) -> bool:
    return isinstance(value, (jax.Array, np.ndarray)) or isinstance(value, jax.core.Tracer)


def _configure(name: str, params: dict[str, Any]) -> tuple[Any, list[str]]:
    """The checked loss object and the names of its parameters given as arrays (which become
    per-element operands). Array parameters are checked for their shape here and for their
    values by the kernel; the object is built with their defaults in their place."""
    definition = _base.DEFINITIONS[name]
    arrays = [p["name"] for p in definition["params"]
              if p["array_allowed"] and _is_array(params[p["name"]])]
    placeholders = {n: np.asarray(_default(definition, n)) .reshape(1) for n in arrays}
    loss = _base._REGISTRY[name](**{**params, **placeholders})
    return loss, arrays


def _default(definition: dict[str, Any], param: str) -> float:
    return next(p["default"] for p in definition["params"] if p["name"] == param)


def _elementwise(name: str, data: list[Any], params: dict[str, Any], reduction: str,
                 sample_weight: Any, grad: bool) -> Any:
    loss, array_params = _configure(name, params)
    kernel = loss._kernel_name(loss._config)
    d = _base.DEFINITIONS[kernel]
    kernel_params = tuple(loss._kernel_values(kernel, loss._config))
    ordered = list(data)
    if d["arity"] == 3 and d["third_position"] == 1:  # (input1, input2, target): kernel order
        ordered = [data[0], data[2], data[1]]
    names = [d["input_name"], "target", *d["operands"]]
    x = _as_array(names[0], ordered[0])
    others = [_as_array(n, v) for n, v in zip(names[1:], ordered[1:])]
    operand_values = [_as_array(n, params[n]) for n in array_params]
    w = None if sample_weight is None else _as_array("sample_weight", sample_weight)
    compute, result = _float_dtype(x, *others, *operand_values, w)
    shape = x.shape
    arrays = [x.astype(compute), _to_input_shape("target", others[0].astype(compute), shape)]
    bits = 0
    if array_params:  # per-element parameters (NumPy broadcasting; the other one broadcast)
        for n in d["operands"]:
            v = params[n] if n in array_params else loss._config[n]
            arrays.append(_operand_to_input_shape(n, jnp.asarray(v, compute), shape))
    elif d["arity"] == 3:  # a data argument (gaussian_nll's var: PyTorch's broadcasting)
        arrays.append(_third_to_input_shape(names[2], others[1].astype(compute), shape))
    bits |= (0, _THIRD, _THIRD | _FOURTH)[len(arrays) - 2]
    # The operands' gradients where losskit computes them (its class offers value_and_grads:
    # Barron's alpha and scale, var, sigma, input2; not bce_with_logits' pos_weight).
    operand_grads = hasattr(type(loss), "value_and_grads")
    differentiable = (0, *range(2, len(arrays))) if operand_grads else (0,)
    names = names[: len(arrays)]
    if w is not None:
        arrays.append(_weight_to_input_shape(w.astype(compute), shape))
        bits |= _WEIGHT
        names.append("sample_weight")
    spec = _Spec("elementwise", kernel, kernel_params, reduction, bits, differentiable,
                 len(shape), shape[0] if shape else 1, 0, (), shape, tuple(names))
    return _finish(spec, arrays, result, grad)


def _rowwise(name: str, data: list[Any], params: dict[str, Any], reduction: str,
             sample_weight: Any, grad: bool) -> Any:
    loss, _ = _configure(name, params)
    d = _base.DEFINITIONS[name]
    first, operands = d["input_name"], d["operands"]
    x = _as_array(first, data[0])
    rows = [_as_array(n, v) for n, v in zip(operands, data[1:])]
    target = None if d["row_target"] == "none" else _as_array("target", data[1 + len(operands)])
    w = None if sample_weight is None else _as_array("sample_weight", sample_weight)
    floating = target is not None and jnp.issubdtype(target.dtype, jnp.floating)
    float_target = target if floating else None
    compute, result = _float_dtype(x, *rows, float_target, w)
    if d["spatial"]:
        if x.ndim < 2:
            raise ValueError(f"{first} must have shape (N, C) or (N, C, d1, ...), got shape "
                             f"{x.shape}")
    elif x.ndim != 2:
        raise ValueError(f"{first} must have shape (N, {'D' if operands else 'C'}), got shape "
                         f"{x.shape}")
    n, c = x.shape[:2]
    if c == 0:
        raise ValueError(f"{first} must have at least one class (C >= 1), got shape {x.shape}")
    weight = loss._config.get("weight")
    if weight is not None and len(weight) != c:
        raise ValueError(f"weight has {len(weight)} entries but {first} has {c} classes")
    arrays, bits, names = [x.astype(compute)], 0, [first]
    if target is not None:
        arrays.append(_row_target(d, target, x.shape, compute))
        bits |= _ROW_TARGET
        names.append("target")
    for i, (nm, z) in enumerate(zip(operands, rows)):
        if z.shape != x.shape:
            raise ValueError(f"{nm} shape {z.shape} does not match {first} shape {x.shape}")
        arrays.append(z.astype(compute))
        bits |= _ROW_SECOND if i == 0 else _ROW_THIRD
        names.append(nm)
    differentiable = (0, *range(len(arrays) - len(rows), len(arrays)))
    if w is not None:
        if w.shape != (n,):
            raise ValueError(f"sample_weight shape {w.shape} must be (N,) = {(n,)}")
        arrays.append(w.astype(compute))
        bits |= _ROW_WEIGHT
        names.append("sample_weight")
    class_weight = () if weight is None else tuple(float(v) for v in weight)
    if class_weight and FFI:  # (the host kernel takes them at construction)
        arrays.append(jnp.asarray(class_weight, compute))
        bits |= _ROW_CLASS_WEIGHT
        names.append("weight")
    ignore = loss._config.get("ignore_index")
    spec = _Spec("rowwise", name, tuple(loss._kernel_values(name, loss._config)), reduction,
                 bits, differentiable, x.ndim, n, -(2**63) if ignore is None else ignore,
                 class_weight, (n, *x.shape[2:]), tuple(names))
    return _finish(spec, arrays, result, grad)


def _row_target(d: dict[str, Any], t: Any, shape: tuple[int, ...], compute: Any) -> Any:
    """A row-wise loss's target by its kind (the definition's ``row_target``), as losskit's
    Python API takes it; the labels' values are checked by the kernel."""
    kind = d["row_target"]
    n = shape[0]
    if kind in ("labels", "label_lists"):
        if jnp.issubdtype(t.dtype, jnp.integer):
            expected = (n, *shape[2:]) if kind == "labels" else shape
            if t.shape != expected:
                raise ValueError(f"target must be integer class labels of shape {expected}; "
                                 f"got labels of shape {t.shape}")
            return t if t.dtype in (jnp.int32, jnp.int64) else t.astype(jnp.int32)
        if kind == "labels" and d["probability_targets"] and jnp.issubdtype(t.dtype, jnp.floating) \
                and t.shape == shape:
            return t.astype(compute)
        alternative = " or probabilities of the input shape" if d["probability_targets"] else ""
        raise TypeError(f"target must be integer class labels{alternative}; got a {t.dtype} "
                        f"array of shape {t.shape}")
    expected = (n,) if kind == "signs" else shape
    if t.shape != expected:
        raise ValueError(f"target shape {t.shape} must be {expected}")
    return t.astype(compute)


def _finish(spec: _Spec, arrays: list[Any], result: Any, grad: bool) -> Any:
    if grad:  # the fused pair (value, d/dfirst argument) as losskit.functional returns it
        value, g = _kernel_call(spec, arrays, 1)
        return value.astype(result), g.astype(result)
    return _loss(spec, *arrays).astype(result)


def _make(name: str) -> Callable[..., Any]:
    reference = functional.FUNCTIONS[functional.function_name(name)]
    signature = inspect.signature(reference)
    definition = _base.DEFINITIONS[name]
    data = [p for p in signature.parameters.values()
            if p.default is inspect.Parameter.empty]
    family = _rowwise if definition["family"] == "rowwise" else _elementwise
    reductions = tuple(definition["reductions"])
    param_names = [p.name for p in signature.parameters.values()
                   if p.default is not inspect.Parameter.empty
                   and p.name not in ("reduction", "sample_weight", "grad")]

    def function(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        a = bound.arguments
        reduction = check_reduction(a["reduction"], reductions)
        return family(name, [a[p.name] for p in data], {n: a[n] for n in param_names},
                      reduction, a["sample_weight"], bool(a["grad"]))

    fname = reference.__name__
    function.__name__ = function.__qualname__ = fname
    function.__module__ = __name__
    function.__signature__ = signature  # type: ignore[attr-defined]
    function.__doc__ = _docstring(definition, fname, [p.name for p in data])
    return function


def _docstring(d: dict[str, Any], fname: str, data: list[str]) -> str:
    """The NumPy-style docstring of a loss's JAX function, from its definition."""
    if d["family"] == "rowwise":
        differentiable = [data[0], *d["operands"]]
    elif d["arity"] == 3:
        differentiable = [n for n in data if n != "target"]
    else:
        differentiable = [data[0]]
    array_params = [p["name"] for p in d["params"] if p["array_allowed"]]
    if d["name"] == "barron":
        differentiable += [f"``{n}`` when given as an array" for n in array_params]
    names = ", ".join(n if n.startswith("`") else f"``{n}``" for n in differentiable)
    math = "\n".join("    " + line for line in (d["math"] or d["formula"]).splitlines())
    return (
        f"{d['summary']}\n\n"
        f".. math::\n\n{math}\n\n"
        f"The JAX form of :func:`losskit.functional.{fname}` (:class:`losskit.{d['class_name']}`,"
        f" whose docstring has the parameters and domains): the same arguments and defaults, "
        f"JAX arrays in and out, under ``jax.jit``, ``jax.grad``, ``jax.value_and_grad`` and "
        f"``jax.vmap``. Differentiable: {names}; targets and sample weights are constants, the "
        f"other parameters and ``reduction`` static Python values. ``grad=True`` returns the "
        f"fused pair ``(value, d/d {data[0]})`` of one kernel call.\n\n"
        f"Examples\n--------\n{_example(d, fname)}\n"
    )


def _example(d: dict[str, Any], fname: str) -> str:
    lines = [">>> import jax, jax.numpy as jnp", ">>> from losskit import jax as LJ"]
    if d["family"] == "rowwise":
        rows = ["[[2.0, -1.0, 0.5], [0.1, 0.3, -0.2]]", "[[1.0, -0.5, 0.5], [0.3, 0.2, 0.1]]",
                "[[0.0, 1.0, -1.0], [0.5, 0.5, 0.5]]"][: 1 + len(d["operands"])]
        target = {"labels": "jnp.array([0, 2])",
                  "label_lists": "jnp.array([[0, 2, -1], [1, -1, -1]])",
                  "values": "jnp.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])",
                  "signs": "jnp.array([1.0, -1.0])", "none": None}[d["row_target"]]
        args = [f"jnp.array({r})" for r in rows] + ([target] if target else [])
        shape = "(2, 3)"
    else:
        x = _base._EXAMPLE_VALUES["input"].get(tuple(d["input_domain"]), "[0.5, -1.5, 2.0]")
        if d["margin_targets"] or d["target_check"] == "signs":
            y = "[1.0, -1.0, 1.0]"
        else:
            y = _base._EXAMPLE_VALUES["target"].get(tuple(d["target_domain"]), "[0.0, 1.0, 2.0]")
        args = [f"jnp.array({x})", f"jnp.array({y})"]
        if d["arity"] == 3:
            args.insert(d["third_position"], "jnp.array([1.0, 0.5, 2.0])")
        shape = "(3,)"
    lines += [f">>> args = ({', '.join(args)})",
              f">>> value, grad = jax.jit(jax.value_and_grad(LJ.{fname}))(*args)",
              ">>> grad.shape", shape,
              f">>> bool(jnp.allclose(value, LJ.{fname}(*args)))", "True"]
    return "\n".join(lines)


def _functions() -> dict[str, Callable[..., Any]]:
    out = {}
    for name in _base.available_losses():
        if name in _base.DEFINITIONS and functional.function_name(name) in functional.FUNCTIONS:
            function = _make(name)
            out[function.__name__] = function
    return out


FUNCTIONS: dict[str, Callable[..., Any]] = _functions()
globals().update(FUNCTIONS)
__all__ = sorted(FUNCTIONS)
