"""Argument validation and conversion: the one place losskit checks what users pass.

Parameters are checked against the domains of the loss definitions (``_core.loss_definitions``).
Arrays: the compiled kernels compute directly on canonical arguments (NumPy float32/float64,
C-contiguous, one dtype and shape, outputs that overlap nothing they must not) and answer
NotImplemented to anything else; the slow paths below then check every argument (errors name
the argument and the offending shape, dtype or value), convert, and call the kernel again.
Everything is checked before anything is written: a failing call leaves every buffer as it was.
Only ValueError and TypeError leave this module.
"""

from __future__ import annotations

import math
import numbers
import sys
from typing import Any

import numpy as np

from . import _core

# The kernels' call modes (value, grad, value_and_grad, value_and_grads, and grad_hess under
# each Hessian policy).
MODES: dict[str, int] = dict(_core.MODES)
VALUE = MODES["value"]
GRAD = MODES["grad"]
VALUE_AND_GRAD = MODES["value_and_grad"]
VALUE_AND_GRADS = MODES["value_and_grads"]
MEAN_DENOMINATOR = MODES["mean_denominator"]
HESSIAN_POLICIES = ("exact", "irls", "positive")
GRAD_HESS = {h: MODES[f"grad_hess_{h}"] for h in HESSIAN_POLICIES}
GRAD_HESS_MODES = frozenset(GRAD_HESS.values())

REDUCTIONS = ("mean", "sum", "none")


# ---- parameters --------------------------------------------------------------------------
def check_reduction(reduction: Any, allowed: tuple[str, ...] = REDUCTIONS) -> str:
    if not isinstance(reduction, str) or reduction not in allowed:
        raise ValueError(f"reduction must be one of {allowed}, got {reduction!r}")
    return reduction


def check_hessian(loss_name: str, offered: tuple[str, ...], hessian: Any) -> int:
    """The grad_hess mode of policy `hessian`, which the loss must offer."""
    if not isinstance(hessian, str) or hessian not in GRAD_HESS:
        raise ValueError(f"hessian must be one of {HESSIAN_POLICIES}, got {hessian!r}")
    if hessian not in offered:
        raise ValueError(f"hessian={hessian!r} is not offered by {loss_name}; it offers "
                         f"{', '.join(repr(h) for h in offered)}")
    return GRAD_HESS[hessian]


def check_real(name: str, value: Any) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    try:
        value = float(value)
    except OverflowError:  # a Python int beyond float64's range
        raise ValueError(f"{name} must be a finite real number, got {value!r}") from None
    if math.isnan(value):
        raise ValueError(f"{name} must not be NaN")
    return value


def check_int(name: str, value: Any) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    return int(value)


# Counts, sizes, epochs and seeds reach the C++ core as 64-bit integers (and an epoch advances
# by one), hence the bound.
COUNT_LIMIT = 2**63 - 1


def check_count(name: str, value: Any, minimum: int = 0) -> int:
    """An integer in [minimum, 2**63 - 1): TypeError for a non-integer, ValueError outside."""
    value = check_int(name, value)
    if not minimum <= value < COUNT_LIMIT:
        raise ValueError(f"{name} must be an integer in [{minimum}, 2**63 - 1), got {value}")
    return value


def check_nonnegative(name: str, value: Any) -> float:
    """A finite real >= 0."""
    value = check_real(name, value)
    if not value >= 0 or math.isinf(value):
        raise ValueError(f"{name} must be non-negative and finite, got {value!r}")
    return value


def check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


Interval = tuple[float, float, bool, bool]  # (low, high, low_closed, high_closed)


def in_interval(value: Any, domain: Interval) -> Any:
    """Whether value (a float or an array) lies in domain; NaN does not."""
    low, high, low_closed, high_closed = domain
    above = value >= low if low_closed else value > low
    below = value <= high if high_closed else value < high
    return above & below


def describe_interval(domain: Interval) -> str:
    """The domain in words, for messages and docstrings (the C++ checks' own words)."""
    return _core.describe_interval(*domain)


def _first_bad(name: str, array: np.ndarray, bad: np.ndarray, requirement: str) -> ValueError:
    i = np.unravel_index(int(np.flatnonzero(bad)[0]), array.shape) if array.ndim else ()
    where = f"{name}[{', '.join(map(str, i))}]" if array.ndim else name
    return ValueError(f"{name} must be {requirement}, got {where} = {array[i].item()!r}")


def check_class_weight(weight: Any) -> tuple[float, ...] | None:
    """Per-class weights as a tuple of floats (1-D, finite, non-negative), or None."""
    if weight is None:
        return None
    w = as_real_array("weight", weight, np.dtype(np.float64))
    if w.ndim != 1 or w.size == 0:
        raise ValueError(f"weight must be a non-empty 1-D array of per-class weights, got shape {w.shape}")
    return tuple(float(v) for v in w)  # finite and non-negative: checked by the kernel (C++)


def check_param(spec: dict[str, Any], value: Any) -> Any:
    """A loss parameter checked against its definition (``_core.loss_definitions()``):
    the canonical Python value (float, int, bool, str, a read-only float64 array, a tuple of
    class weights, or None)."""
    name, kind = spec["name"], spec["kind"]
    if value is None and spec["none_default"]:
        return None
    if kind == "class_weight":
        return check_class_weight(value)
    if kind == "boolean":
        return check_bool(name, value)
    if kind == "choice":
        return check_choice(name, value, tuple(spec["choices"]))
    domain = tuple(spec["domain"])
    if kind == "ignore_index":
        value = check_int(name, value)
        if not -(2**63) <= value < 2**63:
            raise ValueError(f"{name} must fit in int64, got {value}")
        return value
    if kind == "integer":
        value = check_int(name, value)
        _core.check_param(spec["loss"], name, value)  # the domain, checked in C++
        return value
    if spec["array_allowed"] and not _is_scalar(value):
        array = as_real_array(name, value, np.dtype(np.float64))
        bad = ~in_interval(array, domain)
        if bad.any():
            raise _first_bad(name, array, bad, describe_interval(domain))
        array.flags.writeable = False
        return array
    if isinstance(value, np.ndarray):  # a 0-d array
        value = value[()]
    value = check_real(name, value)
    _core.check_param(spec["loss"], name, value)  # the domain (and any gap), checked in C++
    return value


def describe_param_domain(spec: dict[str, Any]) -> str:
    """A real parameter's domain in words, its excluded gap included."""
    text = describe_interval(tuple(spec["domain"]))
    low, high, low_closed, high_closed = spec["excluded"]
    if low < high:
        gap = f"{'[' if low_closed else '('}{low:g}, {high:g}{']' if high_closed else ')'}"
        text += f", not in {gap}"
    return text


def kernel_value(spec: dict[str, Any], value: Any) -> float:
    """What the kernel reads for a checked scalar parameter (LossParams)."""
    if value is None:
        return float(spec["default"])
    if spec["kind"] == "choice":
        return float(spec["choices"].index(value))
    return float(value)


def _is_scalar(value: Any) -> bool:
    return isinstance(value, numbers.Real) or (isinstance(value, np.ndarray) and value.ndim == 0)


# ---- arrays ------------------------------------------------------------------------------
def _masked(value: Any) -> bool:
    ma = sys.modules.get("numpy.ma")  # no masked array exists unless numpy.ma was imported
    return ma is not None and isinstance(value, ma.MaskedArray)


def _refuse_masked(name: str, value: Any) -> None:
    if _masked(value):
        raise TypeError(f"{name} is a masked array: losskit does not drop masked elements; pass "
                        f"the values to use (e.g. {name}.compressed() or {name}.filled(...))")


def kernel_dtype(dtype: np.dtype) -> np.dtype:
    """float32 stays float32 (float16 widens to it), whatever the byte order; every other real
    dtype computes in float64."""
    if dtype.kind == "f" and dtype.itemsize <= 4:
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def cast_to(array: Any, dtype: Any) -> np.ndarray:
    """`array` as a C-contiguous array of `dtype` (no copy when it is one). Values beyond the
    dtype's range become +-inf, as IEEE arithmetic says (float64 1e308 cast to a float32
    input's dtype): documented, so not warned about."""
    with np.errstate(over="ignore"):
        return np.asarray(array, dtype=dtype, order="C")


def as_real_array(name: str, value: Any, dtype: np.dtype | None = None) -> np.ndarray:
    """`value` as a C-contiguous, aligned, native NumPy array (a base-class ndarray) of `dtype`
    (default: its kernel dtype)."""
    _refuse_masked(name, value)
    try:
        array = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} could not be converted to an array: {exc}") from None
    kind = array.dtype.kind
    if kind == "c":
        raise TypeError(f"{name} must be real, got complex dtype {array.dtype}")
    if kind not in "biuf":
        raise TypeError(f"{name} must be numeric, got dtype {array.dtype}")
    array = cast_to(array, kernel_dtype(array.dtype) if dtype is None else dtype)
    if not array.flags.aligned:
        array = array.copy()
    return array


# The tensor dtypes the PyTorch modules compute in (named, so that this module needs no torch).
TENSOR_DTYPES = ("torch.float32", "torch.float64")


def check_tensor(name: str, tensor: Any, floating: bool = True) -> None:
    """A tensor argument of a ``losskit.torch`` module: on the CPU and, where ``floating``,
    float32 or float64 (the dtypes the kernels compute in)."""
    if tensor.device.type != "cpu":
        raise ValueError(f"{name} must be on the CPU (losskit's kernels run there), got "
                         f"device {tensor.device}")
    if floating and str(tensor.dtype) not in TENSOR_DTYPES:
        raise TypeError(f"{name} must be a float32 or float64 tensor, got {tensor.dtype}")


def as_index_array(array: Any) -> np.ndarray:
    """Integer labels or indices as the kernels read them: C-contiguous, aligned, native int64."""
    array = np.ascontiguousarray(array, dtype=np.int64)
    return array if array.flags.aligned else array.copy()


def check_out(name: str, out: Any, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """A user's output buffer: an ndarray (subclasses such as np.memmap included, any byte
    order) of the result's shape and dtype, writeable."""
    _refuse_masked(name, out)
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(out).__name__}")
    if out.dtype.kind != dtype.kind or out.dtype.itemsize != dtype.itemsize:
        raise TypeError(f"{name} must have dtype {dtype}, got {out.dtype}")
    if out.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {out.shape}")
    if not out.flags.writeable:
        raise ValueError(f"{name} is read-only")
    return out


def _check_outputs_distinct(names: list[str], outs: list[np.ndarray | None]) -> None:
    """Two output buffers cannot receive two different results in the same memory."""
    given = [(n, o) for n, o in zip(names, outs) if o is not None]
    for i, (name_a, a) in enumerate(given):
        for name_b, b in given[i + 1:]:
            if np.may_share_memory(a, b):
                raise ValueError(f"{name_a} and {name_b} share memory: each result needs its "
                                 f"own buffer")


# The buffers of grad_hess's two results.
GRAD_HESS_OUT_NAMES = ("out for the gradient", "out for the Hessian")


def check_outs(names: tuple[str, ...] | list[str], outs: list[Any], shapes: list[tuple[int, ...]],
               dtype: np.dtype) -> list[np.ndarray | None]:
    """Each given output buffer checked (see check_out), and no two sharing memory."""
    users = [None if u is None else check_out(n, u, s, dtype)
             for n, u, s in zip(names, outs, shapes)]
    _check_outputs_distinct(list(names), users)
    return users


def _direct_buffer(out: np.ndarray | None, dtype: np.dtype,
                   arguments: list[Any]) -> np.ndarray | None:
    """`out` (as a base-class view) when the kernel can write it directly: canonical, and
    sharing no memory with any argument, given or converted. Otherwise None: the kernel writes
    a fresh array that is copied into `out` afterwards (the result is that of fresh copies)."""
    if out is None:
        return None
    if not (out.flags.c_contiguous and out.flags.aligned and out.dtype == dtype):
        return None
    if any(isinstance(a, np.ndarray) and np.may_share_memory(out, a) for a in arguments):
        return None
    return out.view(np.ndarray)


def _deliver(computed: Any, user: np.ndarray | None, buffer: np.ndarray | None) -> Any:
    """The user's `out` buffer (`computed` copied into it unless the kernel wrote it directly
    through `buffer`), or `computed` when there is none."""
    if user is None:
        return computed
    if buffer is None:
        user[...] = computed
    return user


def third_view_shape(name: str, third_shape: tuple[int, ...],
                     shape: tuple[int, ...]) -> tuple[int, ...]:
    """PyTorch's rule for gaussian_nll's var: the input's shape; a scalar; the input's shape
    without its last axis (one variance per row); or the input's number of dimensions with
    exactly one axis of size 1 where the input's differs (one variance shared along it).
    Returns the shape to view the third argument as before broadcasting it to ``shape`` (a
    trailing axis added to the one-variance-per-row form); ValueError otherwise."""
    third_shape, shape = tuple(third_shape), tuple(shape)
    if third_shape == shape:
        return third_shape
    view = third_shape
    if len(view) == len(shape) - 1 and view == shape[:-1]:
        view = view + (1,)
    if len(view) == 0 or (len(view) == len(shape)
                          and [v for s, v in zip(shape, view) if s != v] == [1]):
        return view
    raise ValueError(
        f"{name} shape {third_shape} must be the input shape {shape}, a scalar, the input shape "
        f"without its last axis, or the input shape with one axis of size 1"
    )


def _third_to_input_shape(name: str, third: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The third argument broadcast to the input's shape by :func:`third_view_shape`."""
    if third.shape == shape:
        return third
    view = third.reshape(third_view_shape(name, third.shape, shape))
    return np.ascontiguousarray(np.broadcast_to(view, shape))


def check_operand_shape(name: str, operand_shape: tuple[int, ...],
                        shape: tuple[int, ...]) -> None:
    """A per-element operand (barron's alpha, bce_with_logits' pos_weight) must broadcast to the
    input's shape by NumPy's rules without changing it."""
    operand_shape, shape = tuple(operand_shape), tuple(shape)
    if len(operand_shape) > len(shape) or any(
            o not in (1, s) for o, s in zip(reversed(operand_shape), reversed(shape))):
        raise ValueError(f"{name} shape {operand_shape} does not broadcast to the input shape "
                         f"{shape}")


def operand_to_input_shape(name: str, operand: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A per-element operand (e.g. barron's alpha) broadcast to the input's shape (NumPy rules;
    the input's shape must not change) and made contiguous."""
    if operand.shape == shape:
        return operand
    check_operand_shape(name, operand.shape, shape)
    return np.ascontiguousarray(np.broadcast_to(operand, shape))


def weight_to_input_shape(weight: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    if weight.shape == shape:
        return weight
    if len(shape) >= 2 and weight.shape == shape[:1]:
        return np.ascontiguousarray(
            np.broadcast_to(weight.reshape(shape[:1] + (1,) * (len(shape) - 1)), shape)
        )
    expected = f"{shape}" + (f" or {shape[:1]}" if len(shape) >= 2 else "")
    raise ValueError(f"sample_weight shape {weight.shape} must be {expected}")


def _sum_to_shape(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The gradient of an argument broadcast to grad's shape (by _third_to_input_shape),
    summed back to the argument's `shape`."""
    if len(shape) == 0:
        return np.asarray(grad.sum(), dtype=grad.dtype)
    aligned = shape + (1,) if len(shape) == grad.ndim - 1 else shape
    axes = tuple(i for i, (g, a) in enumerate(zip(grad.shape, aligned)) if a == 1 and g != 1)
    return grad.sum(axis=axes, keepdims=True).reshape(shape)


def _run(kernel: Any, *args: Any) -> Any:
    result = kernel.run(*args)
    if result is NotImplemented:  # the slow paths hand over canonical arguments only
        raise RuntimeError("losskit internal error: converted arguments are not canonical")
    return result


def elementwise_slow_path(loss: Any, mode: int, input: Any, target: Any, third: Any,
                          fourth: Any, sample_weight: Any, out: Any, out2: Any, out3: Any) -> Any:
    """Check and convert the arguments of an elementwise loss call, then run its kernel.

    Arity 3: ``third`` is required (PyTorch's broadcasting rule of gaussian_nll's var; its
    gradient is summed back to its shape). Arity 4: ``third`` and ``fourth`` are both None
    (the loss's parameters apply) or both given (broadcast to the input's shape). ``out``,
    ``out2`` and ``out3`` receive the mode's array results in order (grad_hess: the gradient,
    then the curvature).
    """
    definition = loss._kernel_info
    arity, names = definition["arity"], definition["operands"]
    grad_hess = mode in GRAD_HESS_MODES
    if (mode not in (VALUE, GRAD, VALUE_AND_GRAD) and not grad_hess
            and not (arity >= 3 and mode == VALUE_AND_GRADS)):
        raise ValueError(f"unsupported mode {mode}")
    x = as_real_array("input", input)
    shape, dtype = x.shape, x.dtype
    t = as_real_array("target", target, dtype)
    if t.shape != shape:
        raise ValueError(f"target shape {t.shape} does not match input shape {shape}")
    z3 = z4 = z3_given = None
    if arity == 3:
        if third is None:
            raise TypeError(f"{loss.name} needs a third argument, {names[0]}")
        z3_given = as_real_array(names[0], third, dtype)
        z3 = _third_to_input_shape(names[0], z3_given, shape)
    elif arity == 4:
        if (third is None) != (fourth is None):
            raise TypeError(f"{names[0]} and {names[1]} must be given together")
        if third is not None:
            z3 = operand_to_input_shape(names[0], as_real_array(names[0], third, dtype), shape)
            z4 = operand_to_input_shape(names[1], as_real_array(names[1], fourth, dtype), shape)
    w = None
    if sample_weight is not None:
        w = weight_to_input_shape(as_real_array("sample_weight", sample_weight, dtype), shape)

    reduction = loss.reduction
    if mode == VALUE and out is not None and reduction != "none":
        raise ValueError(f"out is only used with reduction='none' (this loss has {reduction!r})")
    if grad_hess:
        out_names, shapes, users = list(GRAD_HESS_OUT_NAMES), [shape] * 2, [out, out2]
    else:
        if (out2 is not None or out3 is not None) and mode != VALUE_AND_GRADS:
            raise ValueError("out buffers for the other gradients are only used by "
                             "value_and_grads")
        out_names = ["out"] + [f"out for d_{n}" for n in names]
        third_shape = z3_given.shape if z3_given is not None else shape
        shapes = [shape, third_shape, shape]
        users = [out, out2, out3][: 1 + len(names)]
    users = check_outs(out_names, users, shapes, dtype)
    arguments = [input, target, third, fourth, sample_weight, x, t, z3, z4, w]
    buffers = [_direct_buffer(u, dtype, arguments) for u in users]
    if arity == 3 and not grad_hess and z3_given is not None and z3_given.shape != shape:
        buffers[1] = None  # d/dthird is summed back to the given shape afterwards
    buffers += [None] * (3 - len(buffers))

    result = _run(loss._kernel, mode, x, t, z3, z4, w, *buffers)
    if mode == VALUE:
        return _deliver(result, users[0], buffers[0]) if reduction == "none" else result
    if mode == GRAD:
        return _deliver(result, users[0], buffers[0])
    if mode == VALUE_AND_GRAD:
        return result[0], _deliver(result[1], users[0], buffers[0])
    if grad_hess:
        return tuple(_deliver(r, u, b) for r, u, b in zip(result, users, buffers))
    value, *grads = result
    if arity == 3 and z3_given.shape != shape:
        grads[1] = _sum_to_shape(grads[1], z3_given.shape)
    return (value, *(_deliver(g, u, b) for g, u, b in zip(grads, users, buffers)))


def _labels_of(target: Any, shape: tuple[int, ...], classes: int, expected: str,
               probabilities: np.ndarray | None) -> np.ndarray:
    """Integer labels (or, where `probabilities` is given, that array) as the kernels read
    them; TypeError/ValueError naming target otherwise."""
    _refuse_masked("target", target)
    try:
        t = np.asarray(target)
    except Exception as exc:
        raise TypeError(f"target could not be converted to an array: {exc}") from None
    if t.dtype.kind in "iu":
        if t.shape != shape:
            raise ValueError(f"target must be {expected}; got labels of shape {t.shape}")
        if t.dtype.kind == "u" and t.size and t.max() > np.iinfo(np.int64).max:
            i = np.unravel_index(int(np.argmax(t > np.iinfo(np.int64).max)), t.shape)
            raise ValueError(f"target[{', '.join(map(str, i))}] = {t[i]} is not a class index "
                             f"in [0, {classes})")
        return as_index_array(t)
    if probabilities is not None and t.dtype.kind == "f" and t.shape == probabilities.shape:
        return as_real_array("target", t, probabilities.dtype)
    if t.dtype.kind in "fb":
        raise TypeError(f"target must be {expected}; got a {t.dtype} array of shape {t.shape}")
    raise TypeError(f"target must be {expected}; got dtype {t.dtype}")


def _row_target(definition: dict[str, Any], target: Any, x: np.ndarray) -> np.ndarray | None:
    """The target of a row-wise loss, checked and converted by its kind (the definition's
    ``row_target``); its values (labels in range, signs) are checked by the kernel."""
    kind = definition["row_target"]
    n, c = x.shape[:2]
    if kind == "none":
        return None
    if kind == "labels":
        shape = (n, *x.shape[2:])
        dims = "(N" + "".join(f", d{i}" for i in range(1, x.ndim - 1)) + ")"
        expected = f"integer class labels of shape {dims} = {shape}"
        probabilities = x if definition["probability_targets"] else None
        if probabilities is not None:
            expected += " or probabilities of the input's shape"
        return _labels_of(target, shape, c, expected, probabilities)
    if kind == "label_lists":
        return _labels_of(target, x.shape, c, f"integer class labels of the input's shape "
                          f"{x.shape}, each row ended by -1", None)
    t = as_real_array("target", target, x.dtype)
    shape = (n,) if kind == "signs" else x.shape
    if t.shape != shape:
        raise ValueError(f"target shape {t.shape} must be {shape}")
    return t


def rowwise_slow_path(loss: Any, mode: int, input: Any, target: Any, second: Any, third: Any,
                      sample_weight: Any, out: Any, out2: Any = None, out3: Any = None) -> Any:
    """Check and convert the arguments of a row-wise loss call, then run its kernel.

    ``second`` and ``third`` are the row operands (the definition's ``operands``: the other
    arrays of embeddings, the first one's shape); ``out``, ``out2`` and ``out3`` receive the
    mode's array results in order (grad_hess: the gradient, then the curvature).
    """
    definition = loss._kernel_info
    operands, first = definition["operands"], definition["input_name"]
    grad_hess = mode in GRAD_HESS_MODES
    if (mode not in (VALUE, GRAD, VALUE_AND_GRAD, MEAN_DENOMINATOR) and not grad_hess
            and not (operands and mode == VALUE_AND_GRADS)):
        raise ValueError(f"unsupported mode {mode}")
    x = as_real_array(first, input)
    if definition["spatial"]:
        if x.ndim < 2:
            raise ValueError(f"{first} must have shape (N, C) or (N, C, d1, ...), got shape "
                             f"{x.shape}")
    elif x.ndim != 2:
        raise ValueError(f"{first} must have shape (N, {'D' if operands else 'C'}), got shape "
                         f"{x.shape}")
    n, c = x.shape[:2]
    if c == 0:
        raise ValueError(f"{first} must have at least one class (C >= 1), got shape {x.shape}")
    weight = loss.params.get("weight")
    if weight is not None and len(weight) != c:
        raise ValueError(f"weight has {len(weight)} entries but {first} has {c} classes")
    rows = []
    for name, value in zip(operands, (second, third)):
        z = as_real_array(name, value, x.dtype)
        if z.shape != x.shape:
            raise ValueError(f"{name} shape {z.shape} does not match {first} shape {x.shape}")
        rows.append(z)
    b, z3 = (rows + [None, None])[:2]
    t = _row_target(definition, target, x)

    w = None
    if sample_weight is not None:
        w = as_real_array("sample_weight", sample_weight, x.dtype)
        if w.shape != (n,):
            raise ValueError(f"sample_weight shape {w.shape} must be (N,) = {(n,)}")
    if mode == VALUE and out is not None:
        raise ValueError("out receives the gradient: pass it to grad or value_and_grad")
    if grad_hess:
        names, users = list(GRAD_HESS_OUT_NAMES), [out, out2]
    elif mode == VALUE_AND_GRADS:
        names = ["out"] + [f"out for d_{name}" for name in operands]
        users = [out, out2, out3][: 1 + len(operands)]
    else:
        if out2 is not None or out3 is not None:
            raise ValueError("out buffers for the other gradients are only used by "
                             "value_and_grads")
        names, users = ["out"], [out]
    users = check_outs(names, users, [x.shape] * len(users), x.dtype)
    arguments = [input, target, second, third, sample_weight, x, t, b, z3, w]
    buffers = [_direct_buffer(u, x.dtype, arguments) for u in users]
    result = _run(loss._kernel, mode, x, t, b, z3, w, *buffers, *[None] * (3 - len(buffers)))
    if mode in (VALUE, MEAN_DENOMINATOR):
        return result
    if mode == GRAD:
        return _deliver(result, users[0], buffers[0])
    if mode == VALUE_AND_GRAD:
        return result[0], _deliver(result[1], users[0], buffers[0])
    if grad_hess:
        return tuple(_deliver(r, u, bu) for r, u, bu in zip(result, users, buffers))
    value, *grads = result
    return (value, *(_deliver(g, u, bu) for g, u, bu in zip(grads, users, buffers)))
