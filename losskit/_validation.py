"""Argument validation and conversion: the one place losskit checks what users pass.

The compiled kernels accept only canonical arrays (NumPy float32/float64, C-contiguous, one
dtype and shape). Calls that already are canonical never reach this module; everything else
comes here, is checked (errors name the argument and the offending shape, dtype or value),
converted, and sent back to the kernel.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

REDUCTIONS = ("mean", "sum", "none")

# Mode numbers of ElementwiseKernel._call (see src/cpp/bindings/bind_losses.cpp).
VALUE, GRAD, VALUE_AND_GRAD, VALUE_AND_GRADS = 0, 1, 2, 3


# ---- parameters --------------------------------------------------------------------------
def check_reduction(reduction: Any, allowed: tuple[str, ...] = REDUCTIONS) -> str:
    if reduction not in allowed:
        raise ValueError(f"reduction must be one of {allowed}, got {reduction!r}")
    return reduction


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


def check_positive(name: str, value: Any) -> float:
    value = check_real(name, value)
    if not value > 0 or math.isinf(value):
        raise ValueError(f"{name} must be positive and finite, got {value!r}")
    return value


def check_nonnegative(name: str, value: Any) -> float:
    value = check_real(name, value)
    if not value >= 0 or math.isinf(value):
        raise ValueError(f"{name} must be non-negative and finite, got {value!r}")
    return value


def check_open_unit(name: str, value: Any) -> float:
    value = check_real(name, value)
    if not 0 < value < 1:
        raise ValueError(f"{name} must lie strictly between 0 and 1, got {value!r}")
    return value


def check_int(name: str, value: Any) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    return int(value)


def check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


# ---- arrays ------------------------------------------------------------------------------
def _kernel_dtype(dtype: np.dtype) -> np.dtype:
    """float32 stays float32 (float16 widens to it); every other real dtype computes in float64."""
    if dtype == np.float32 or dtype == np.float16:
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def cast_to(array: np.ndarray, dtype: Any) -> np.ndarray:
    """`array` as a C-contiguous array of `dtype` (no copy when it is one). Values beyond the
    dtype's range become +-inf, as IEEE arithmetic says (float64 1e308 cast to a float32
    input's dtype): documented, so not warned about."""
    with np.errstate(over="ignore"):
        return np.asarray(array, dtype=dtype, order="C")


def as_real_array(name: str, value: Any, dtype: np.dtype | None = None) -> np.ndarray:
    """`value` as a C-contiguous, aligned NumPy array of `dtype` (default: its kernel dtype)."""
    try:
        array = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} could not be converted to an array: {exc}") from None
    kind = array.dtype.kind
    if kind == "c":
        raise TypeError(f"{name} must be real, got complex dtype {array.dtype}")
    if kind not in "biuf":
        raise TypeError(f"{name} must be numeric, got dtype {array.dtype}")
    array = cast_to(array, _kernel_dtype(array.dtype) if dtype is None else dtype)
    if not array.flags.aligned:
        array = array.copy()
    return array


def as_index_array(array: np.ndarray) -> np.ndarray:
    """Integer labels or indices as the kernels read them: C-contiguous, aligned, native int64."""
    array = np.ascontiguousarray(array, dtype=np.int64)
    return array if array.flags.aligned else array.copy()


def _check_out(name: str, out: Any, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(out).__name__}")
    if out.dtype != dtype:
        raise TypeError(f"{name} must have dtype {dtype}, got {out.dtype}")
    if out.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {out.shape}")
    if not out.flags.writeable:
        raise ValueError(f"{name} is read-only")
    return out


def _writable_buffer(out: np.ndarray | None, inputs: list[np.ndarray]) -> np.ndarray | None:
    """`out` itself when the kernel can write it directly, else None (use a temporary)."""
    if out is None:
        return None
    canonical = out.flags.c_contiguous and out.flags.aligned and out.dtype.isnative
    # Exact aliasing of an input is safe (each element is read before it is written);
    # partial overlap is not.
    overlaps = any(
        np.may_share_memory(out, a)
        and not (a.ctypes.data == out.ctypes.data and a.strides == out.strides)
        for a in inputs
    )
    return out if canonical and not overlaps else None


def _third_to_input_shape(name: str, third: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """PyTorch's rule for gaussian_nll's var: the input's shape; a scalar; the input's shape
    without its last axis (one variance per row); or the input's number of dimensions with
    exactly one axis of size 1 where the input's differs (one variance shared along it)."""
    if third.shape == shape:
        return third
    view = third
    if view.ndim == len(shape) - 1 and view.shape == shape[:-1]:
        view = view[..., None]
    mismatched = [v for s, v in zip(shape, view.shape) if s != v] if view.ndim == len(shape) else None
    if view.ndim == 0 or mismatched == [1]:
        return np.ascontiguousarray(np.broadcast_to(view, shape))
    raise ValueError(
        f"{name} shape {third.shape} must be the input shape {shape}, a scalar, the input shape "
        f"without its last axis, or the input shape with one axis of size 1"
    )


def operand_to_input_shape(name: str, operand: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A per-element operand (e.g. barron's alpha) broadcast to the input's shape (NumPy rules;
    the input's shape must not change) and made contiguous."""
    if operand.shape == shape:
        return operand
    try:
        if np.broadcast_shapes(operand.shape, shape) != shape:
            raise ValueError
    except ValueError:
        raise ValueError(
            f"{name} shape {operand.shape} does not broadcast to the input shape {shape}"
        ) from None
    return np.ascontiguousarray(np.broadcast_to(operand, shape))


def _weight_to_input_shape(weight: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    if weight.shape == shape:
        return weight
    if len(shape) >= 2 and weight.shape == shape[:1]:
        return np.ascontiguousarray(
            np.broadcast_to(weight.reshape(shape[:1] + (1,) * (len(shape) - 1)), shape)
        )
    expected = f"{shape}" + (f" or {shape[:1]}" if len(shape) >= 2 else "")
    raise ValueError(f"sample_weight shape {weight.shape} must be {expected}")


def _deliver(computed: np.ndarray, user: np.ndarray | None) -> np.ndarray:
    """`computed`, copied into the user's `out` buffer when the kernel could not write it."""
    if user is None or computed is user:
        return computed
    user[...] = computed
    return user


def _sum_to_shape(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The gradient of an argument broadcast to grad's shape (by _third_to_input_shape),
    summed back to the argument's `shape`."""
    if len(shape) == 0:
        return np.asarray(grad.sum(), dtype=grad.dtype)
    aligned = shape + (1,) if len(shape) == grad.ndim - 1 else shape
    axes = tuple(i for i, (g, a) in enumerate(zip(grad.shape, aligned)) if a == 1 and g != 1)
    return grad.sum(axis=axes, keepdims=True).reshape(shape)


def elementwise_slow_path(
    kernel: Any,
    mode: int,
    input: Any,
    target: Any,
    third: Any,
    sample_weight: Any,
    out: Any,
    out_third: Any,
    fourth: Any = None,
    out_fourth: Any = None,
) -> Any:
    """Validate and convert the arguments of an elementwise loss call, then run the kernel.

    Arity-4 kernels also take ``fourth`` and ``out_fourth``: ``third`` and ``fourth`` are both
    None (the loss's parameters apply) or both given (broadcast to the input's shape); their
    gradients have the input's shape.
    """
    arity = kernel._arity
    if arity == 4:
        return _slow_path4(kernel, mode, input, target, third, sample_weight, out, out_third,
                           fourth, out_fourth)
    if mode not in (VALUE, GRAD, VALUE_AND_GRAD) and not (arity == 3 and mode == VALUE_AND_GRADS):
        raise ValueError(f"unsupported mode {mode}")
    x = as_real_array("input", input)
    shape, dtype = x.shape, x.dtype
    t = as_real_array("target", target, dtype)
    if t.shape != shape:
        raise ValueError(f"target shape {t.shape} does not match input shape {shape}")

    third_name = getattr(kernel, "_third_name", "third")
    z = None
    if arity == 3:
        if third is None:
            raise TypeError(f"{kernel.name} needs a third argument, {third_name}")
        z_given = as_real_array(third_name, third, dtype)
        z = _third_to_input_shape(third_name, z_given, shape)
    w = None
    if sample_weight is not None:
        w = _weight_to_input_shape(as_real_array("sample_weight", sample_weight, dtype), shape)

    reduction = kernel.reduction
    if mode == VALUE and out is not None and reduction != "none":
        raise ValueError(f"out is only used with reduction='none' (this loss has {reduction!r})")
    if out is not None:
        out = _check_out("out", out, shape, dtype)
    inputs = [a for a in (x, t, z, w) if a is not None]
    out_buffer = _writable_buffer(out, inputs)

    out_third_buffer = None
    if out_third is not None:
        if mode != VALUE_AND_GRADS:
            raise ValueError("out_third is only used by value_and_grads")
        out_third = _check_out("out_third", out_third, z_given.shape, dtype)
        if z_given.shape == shape:
            out_third_buffer = _writable_buffer(out_third, inputs)

    result = kernel._call_canonical(mode, x, t, z, w, out_buffer, out_third_buffer)

    # Copy results into user buffers the kernel could not write directly, and sum d/dthird
    # over the axis a broadcast third argument was repeated along.
    if mode == VALUE:
        return _deliver(result, out) if reduction == "none" else result
    if mode == GRAD:
        return _deliver(result, out)
    if mode == VALUE_AND_GRAD:
        return result[0], _deliver(result[1], out)
    value, grad, grad_third = result
    if z_given.shape != shape:
        grad_third = _sum_to_shape(grad_third, z_given.shape)
    return value, _deliver(grad, out), _deliver(grad_third, out_third)


def check_class_weight(weight: Any) -> tuple[float, ...] | None:
    """Per-class weights as a tuple of floats (1-D, finite, non-negative), or None."""
    if weight is None:
        return None
    w = as_real_array("weight", weight, np.dtype(np.float64))
    if w.ndim != 1 or w.size == 0:
        raise ValueError(f"weight must be a non-empty 1-D array of per-class weights, got shape {w.shape}")
    bad = np.flatnonzero(~(np.isfinite(w) & (w >= 0)))
    if bad.size:
        raise ValueError(f"weight must be finite and non-negative, got weight[{bad[0]}] = {w[bad[0]]!r}")
    return tuple(float(v) for v in w)


def rowwise_slow_path(kernel: Any, mode: int, input: Any, target: Any, sample_weight: Any,
                      out: Any) -> Any:
    """Validate and convert the arguments of a row-wise loss call, then run the kernel."""
    if mode not in (VALUE, GRAD, VALUE_AND_GRAD):
        raise ValueError(f"unsupported mode {mode}")
    x = as_real_array("input", input)
    if x.ndim != 2:
        raise ValueError(f"input must have shape (N, C), got shape {x.shape}")
    n, c = x.shape
    if c == 0:
        raise ValueError("input must have at least one class (C >= 1), got shape (N, 0)")
    weight = kernel._params.get("weight")
    if weight is not None and len(weight) != c:
        raise ValueError(f"weight has {len(weight)} entries but input has {c} classes")

    probabilities = kernel._takes_probabilities
    expected = "integer class labels of shape (N,)" + (
        " or probabilities of the input's shape (N, C)" if probabilities else "")
    try:
        t = np.asarray(target)
    except Exception as exc:
        raise TypeError(f"target could not be converted to an array: {exc}") from None
    if t.dtype.kind in "iu":
        if t.shape != (n,):
            raise ValueError(f"target must be {expected}; got labels of shape {t.shape} for input {x.shape}")
        if t.dtype.kind == "u" and t.size and t.max() > np.iinfo(np.int64).max:
            i = int(np.argmax(t > np.iinfo(np.int64).max))
            raise ValueError(f"target[{i}] = {t[i]} is not a class index in [0, {c})")
        t = as_index_array(t)
    elif t.dtype.kind == "f" and probabilities and t.shape == x.shape:
        t = as_real_array("target", t, x.dtype)
    elif t.dtype.kind in "fb":
        raise TypeError(f"target must be {expected}; got a {t.dtype} array of shape {t.shape}")
    else:
        raise TypeError(f"target must be {expected}; got dtype {t.dtype}")

    w = None
    if sample_weight is not None:
        w = as_real_array("sample_weight", sample_weight, x.dtype)
        if w.shape != (n,):
            raise ValueError(f"sample_weight shape {w.shape} must be (N,) = {(n,)}")
    if mode == VALUE and out is not None:
        raise ValueError("out receives the gradient: pass it to grad or value_and_grad")
    if out is not None:
        out = _check_out("out", out, x.shape, x.dtype)
    out_buffer = _writable_buffer(out, [a for a in (x, t, w) if a is not None])

    result = kernel._call_canonical(mode, x, t, w, out_buffer)
    if mode == GRAD:
        return _deliver(result, out)
    if mode == VALUE_AND_GRAD:
        return result[0], _deliver(result[1], out)
    return result
def _slow_path4(
    kernel: Any,
    mode: int,
    input: Any,
    target: Any,
    third: Any,
    sample_weight: Any,
    out: Any,
    out_third: Any,
    fourth: Any,
    out_fourth: Any,
) -> Any:
    """elementwise_slow_path for arity-4 kernels (optional per-element third and fourth)."""
    if mode not in (VALUE, GRAD, VALUE_AND_GRAD, VALUE_AND_GRADS):
        raise ValueError(f"unsupported mode {mode}")
    names = getattr(kernel, "_operand_names", ("third", "fourth"))
    x = as_real_array("input", input)
    shape, dtype = x.shape, x.dtype
    t = as_real_array("target", target, dtype)
    if t.shape != shape:
        raise ValueError(f"target shape {t.shape} does not match input shape {shape}")
    if (third is None) != (fourth is None):
        raise TypeError(f"{names[0]} and {names[1]} must be given together")
    z3 = z4 = None
    if third is not None:
        z3 = operand_to_input_shape(names[0], as_real_array(names[0], third, dtype), shape)
        z4 = operand_to_input_shape(names[1], as_real_array(names[1], fourth, dtype), shape)
    w = None
    if sample_weight is not None:
        w = _weight_to_input_shape(as_real_array("sample_weight", sample_weight, dtype), shape)
    reduction = kernel.reduction
    if mode == VALUE and out is not None and reduction != "none":
        raise ValueError(f"out is only used with reduction='none' (this loss has {reduction!r})")
    if (out_third is not None or out_fourth is not None) and mode != VALUE_AND_GRADS:
        raise ValueError("out buffers for the parameter gradients are only used by value_and_grads")
    inputs = [a for a in (x, t, z3, z4, w) if a is not None]
    users = []
    buffers = []
    for name, buf in (("out", out), (f"out for d_{names[0]}", out_third),
                      (f"out for d_{names[1]}", out_fourth)):
        if buf is not None:
            buf = _check_out(name, buf, shape, dtype)
        users.append(buf)
        buffers.append(_writable_buffer(buf, inputs))
    result = kernel._call_canonical4(mode, x, t, z3, w, buffers[0], buffers[1], z4, buffers[2])

    if mode == VALUE:
        return _deliver(result, users[0]) if reduction == "none" else result
    if mode == GRAD:
        return _deliver(result, users[0])
    if mode == VALUE_AND_GRAD:
        return result[0], _deliver(result[1], users[0])
    value, *grads = result
    return (value, *(_deliver(g, u) for g, u in zip(grads, users)))
