"""losskit's losses as PyTorch modules (needs torch: ``pip install 'losskit[torch]'``).

Every loss of the registry is a :class:`torch.nn.Module` here, under the class name and with
the constructor arguments of losskit's own class (``losskit.torch.HuberLoss(delta=1.0)``), called
on CPU float32 / float64 tensors with or without ``requires_grad``::

    >>> import torch, losskit.torch as lt
    >>> x = torch.tensor([0.5, 3.0], requires_grad=True)
    >>> value = lt.HuberLoss(delta=1.0)(x, torch.zeros(2))
    >>> value.backward()
    >>> x.grad
    tensor([0.2500, 0.5000])

Each module calls one PyTorch custom operator, ``torch.ops.losskit.loss`` (made with
``torch.library.custom_op``, with an autograd formula and a fake implementation, so
``torch.compile(fullgraph=True)`` traces it), whose forward pass runs losskit's fused kernel
for the value and the gradients together, and keeps the gradients for the backward pass:
nothing is computed twice. Contiguous tensors are read in place; other layouts are copied
once. Eager calls on plain tensors run the same body and backward pass as a
:class:`torch.autograd.Function`, without the operator's dispatch (identical results; under
``torch.compile`` and other tracing the operator is used). Gradients flow to the input and
to every other array the kernel differentiates: the second input of the pair losses,
GaussianNLLLoss's var, GaussianCRPSLoss's sigma, BarronLoss's alpha and scale when they
are tensors (an ``nn.Parameter`` is trained), and the target of the losses of the residual
input - target (MSE, L1, Huber, SmoothL1, GaussianNLL, Barron, quantile, ...: minus the
input's gradient). The other targets, sample weights and the other parameters (a tensor
pos_weight, class weights) are data: one that requires grad raises ValueError. Second
derivatives (``create_graph=True``) are not available. :class:`AdaptiveLossFunction` is a
drop-in for ``robust_loss_pytorch``'s class.
"""

from __future__ import annotations

import inspect
import json
import math
import textwrap
from typing import Any, ClassVar, Optional

import numpy as np
import torch

from . import _base, _core
from ._barron import AdaptiveBarronLoss, barron_log_partition
from ._losses import CLASSES
from ._validation import (
    VALUE,
    VALUE_AND_GRAD,
    VALUE_AND_GRADS,
    check_operand_shape,
    check_tensor,
    elementwise_slow_path,
    rowwise_slow_path,
    third_view_shape,
)
from .functional import _data_arguments

__all__ = sorted([*CLASSES, "AdaptiveLossFunction"])

Tensor = torch.Tensor


# ---- the operator ----------------------------------------------------------------------------
class _Kernel:
    """A compiled kernel and what the slow paths of ``_validation`` read of a loss (its
    definition, reduction and class weights), made from a configuration string
    (:func:`config_string`)."""

    __slots__ = ("name", "_kernel", "_kernel_info", "reduction", "params",
                 "slow_path", "rows", "reduced", "row_values")

    def __init__(self, config: str) -> None:
        name, params, reduction, ignore_index, class_weight = json.loads(config)
        info = _base.DEFINITIONS[name]
        self.name, self._kernel_info = name, info
        self.reduction, self.reduced = reduction, reduction != "none"
        self.params = {"weight": tuple(class_weight) or None}
        self.rows = info["family"] == "rowwise"
        # a per-row value multiplies its row's gradients (rows lie along axis 1)
        self.row_values = self.rows and not self.reduced
        if self.rows:
            self._kernel = _core.RowwiseKernel(name, params, reduction, ignore_index,
                                               class_weight)
            self.slow_path = rowwise_slow_path
        else:
            self._kernel = _core.ElementwiseKernel(name, params, reduction)
            self.slow_path = elementwise_slow_path


_NO_IGNORE_INDEX = -(2**63)


def config_string(name: str, params: list[float], reduction: str,
                  ignore_index: int = _NO_IGNORE_INDEX, class_weight: Any = ()) -> str:
    """The configuration string ``torch.ops.losskit.loss`` takes: the kernel of registry
    definition ``name``, its parameters as losskit's classes pass them to it (``LossParams``),
    the reduction, and for row-wise losses the ignored label and the class weights. One string
    keeps the operator's schema short (PyTorch's dispatch of a custom operator costs per
    argument) and is a constant for ``torch.compile``."""
    return json.dumps([name, [float(p) for p in params], reduction, int(ignore_index),
                       [float(w) for w in class_weight]])


_KERNELS: dict[str, _Kernel] = {}


def _kernel(config: str) -> _Kernel:
    kernel = _KERNELS.get(config)
    if kernel is None:
        kernel = _Kernel(config)
        if len(_KERNELS) >= 256:
            _KERNELS.clear()
        _KERNELS[config] = kernel
    return kernel


def _array(t: Optional[Tensor]) -> Optional[np.ndarray]:
    # a view of the tensor's memory (NumPy reads any strides; the kernel copies only what is
    # not C-contiguous); detach() only where numpy() needs it (it costs 0.3 us)
    if t is None:
        return None
    return t.detach().numpy() if t.requires_grad else t.numpy()


def _run(kernel: _Kernel, mode: int, input: Tensor, target: Optional[Tensor],
         operand1: Optional[Tensor], operand2: Optional[Tensor],
         sample_weight: Optional[Tensor]) -> tuple[Tensor, list[Tensor]]:
    """The kernel's value (a tensor) and the gradients ``mode`` computes (d_input, then
    d_operand1 and d_operand2 for value_and_grads), in one fused call on the tensors'
    memory: the body of both the operator and :class:`_EagerLoss`."""
    arrays = (_array(input), _array(target), _array(operand1), _array(operand2),
              _array(sample_weight))
    result = kernel._kernel.run(mode, *arrays, None, None, None)
    if result is NotImplemented:
        result = kernel.slow_path(kernel, mode, *arrays, None, None, None)
    value, grads = (result, ()) if mode == VALUE else (result[0], result[1:])
    return (torch.from_numpy(np.asarray(value, dtype=arrays[0].dtype)),
            [torch.from_numpy(g) for g in grads])


@torch.library.custom_op("losskit::loss", mutates_args=(), device_types="cpu")
def loss_op(config: str, mode: int, input: Tensor, target: Optional[Tensor],
            operand1: Optional[Tensor], operand2: Optional[Tensor],
            sample_weight: Optional[Tensor]) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """The loss :func:`config_string` describes under ``mode`` (``_core.MODES``: value,
    value_and_grad or value_and_grads).

    Returns ``(value, d_input, d_operand1, d_operand2)``: the reduced value (0-d) or the
    per-element / per-row values, then the gradients of the reduced value (for "none": of
    the sum) the mode computes; a gradient not computed is an empty tensor. ``operand1`` and
    ``operand2`` are the kernel's third and fourth arguments (elementwise) or its second and
    third rows (row-wise), in the input's shape.
    """
    value, grads = _run(_kernel(config), mode, input, target, operand1, operand2,
                        sample_weight)
    grads += [input.new_empty(0) for _ in range(3 - len(grads))]
    return value, grads[0], grads[1], grads[2]


def _computed(mode: int, operand1: Optional[Tensor], operand2: Optional[Tensor]) -> tuple:
    """Which of d_input, d_operand1, d_operand2 the mode computes."""
    every = mode == VALUE_AND_GRADS
    return mode != VALUE, every and operand1 is not None, every and operand2 is not None


@loss_op.register_fake
def _loss_fake(config: str, mode: int, input: Tensor, target: Optional[Tensor],
               operand1: Optional[Tensor], operand2: Optional[Tensor],
               sample_weight: Optional[Tensor]) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    kernel = _kernel(config)
    shape = tuple(input.shape)
    if kernel.reduction != "none":
        value_shape: tuple = ()
    elif kernel.rows:
        value_shape = shape[:1] + shape[2:]
    else:
        value_shape = shape
    grads = [input.new_empty(t.shape if c else (0,))
             for c, t in zip(_computed(mode, operand1, operand2), (input, operand1, operand2))]
    return (input.new_empty(value_shape), *grads)


def _setup_context(ctx: Any, inputs: tuple, output: tuple) -> None:
    ctx.mark_non_differentiable(*output[1:])
    # no zero tensors for the gradients' outputs, which nothing differentiates (autograd
    # would fill one of the input's size for each, every backward pass)
    ctx.set_materialize_grads(False)
    ctx.kernel = _kernel(inputs[0])
    ctx.save_for_backward(*output[1:1 + sum(_computed(inputs[1], inputs[4], inputs[5]))])


def _backward(ctx: Any, grad_value: Optional[Tensor], *_: Any) -> tuple:
    """The gradients of the operator's (and :class:`_EagerLoss`'s) arguments: the saved
    gradients (``ctx.saved_tensors``: d_input, then d_operand1 and d_operand2 where computed)
    times the value's gradient."""
    if torch.is_grad_enabled() and not torch.compiler.is_compiling():
        raise RuntimeError("losskit.torch losses have no second derivatives "
                           "(backward with create_graph=True)")
    saved = ctx.saved_tensors
    if grad_value is None:
        return None, None, None, None, None, None, None
    kernel = ctx.kernel
    if kernel.row_values:
        grad_value = grad_value.unsqueeze(1)
    # loss.backward() seeds 1: the saved gradients are the answer as they are (in eager mode,
    # on a plain tensor; a traced graph multiplies). They are returned as aliases: the saved
    # tensor's own reference would make autograd copy a gradient it stores in a leaf's .grad
    # (an alias shares the version counter, so a later in-place change of that .grad makes a
    # second backward through a retained graph fail loudly instead of reading it).
    unit = (kernel.reduced and type(grad_value) is Tensor and not torch.compiler.is_compiling()
            and grad_value.item() == 1.0)
    grads = [g.detach() if unit else g * grad_value for g in saved] + [None, None]
    # the target requires grad only in a residual loss (_LossModule refuses it otherwise)
    d_target = -grads[0] if ctx.needs_input_grad[3] else None
    return None, None, grads[0], d_target, grads[1], grads[2], None


loss_op.register_autograd(_backward, setup_context=_setup_context)


class _EagerLoss(torch.autograd.Function):
    """``torch.ops.losskit.loss``'s value without PyTorch's operator dispatch (which costs
    more than the kernel below ~1e4 elements), for eager calls on plain tensors
    (:func:`_eager`): the same body (:func:`_run`) and backward pass, one output. The forward
    takes ``ctx``: a separate ``setup_context`` would make ``apply`` bind the arguments
    through ``inspect.signature`` (~25 us a call)."""

    @staticmethod
    def forward(ctx: Any, kernel: _Kernel, mode: int, *tensors: Optional[Tensor]) -> Tensor:
        value, grads = _run(kernel, mode, *tensors)
        ctx.kernel = kernel
        ctx.save_for_backward(*grads)
        return value

    backward = staticmethod(_backward)


# Function.apply without its Python wrapper, which binds the arguments for a separate
# setup_context and unwraps dead functorch wrappers (none here: _eager) - 3 us a call
_eager_apply = torch._C._FunctionBase.__dict__["apply"].__get__(None, _EagerLoss)
_dispatch_modes = torch._C._len_torch_dispatch_stack
_function_modes = torch._C._is_torch_function_mode_enabled
_functorch = torch._C._are_functorch_transforms_active
_tracing_state = torch._C._get_tracing_state


def _eager(x: Tensor) -> bool:
    """Whether a call on input ``x`` may skip the operator: nothing traces, compiles or
    transforms it (no torch.compile, FakeTensor, functionalization, functorch, jit trace
    or other mode) and ``x`` is a plain tensor. ``torch.compiler.is_compiling()`` comes first:
    Dynamo folds it to True and never reaches the other calls."""
    return not (torch.compiler.is_compiling() or _dispatch_modes() or _function_modes()
                or _functorch() or _tracing_state() is not None) and type(x) is Tensor


def _value(config: str, mode: int, input: Tensor, *rest: Optional[Tensor]) -> Tensor:
    """The value of ``torch.ops.losskit.loss(config, mode, input, *rest)``, its gradients
    wired into autograd: through the operator, or eagerly the same body without it (identical
    values and gradients)."""
    if not _eager(input):
        return loss_op(config, mode, input, *rest)[0]
    if mode == VALUE:
        return _run(_kernel(config), mode, input, *rest)[0]
    return _eager_apply(_kernel(config), mode, input, *rest)


@torch.library.custom_op("losskit::barron_log_partition", mutates_args=(), device_types="cpu")
def log_partition_op(alpha: Tensor) -> tuple[Tensor, Tensor]:
    """log Z(alpha) of Barron's loss and its derivative, elementwise (see
    :func:`losskit.barron_log_partition`)."""
    value, slope = barron_log_partition(alpha.detach().numpy().astype(np.float64),
                                        return_grad=True)
    return (torch.from_numpy(np.asarray(value, dtype=np.float64)).to(alpha.dtype),
            torch.from_numpy(np.asarray(slope, dtype=np.float64)).to(alpha.dtype))


@log_partition_op.register_fake
def _log_partition_fake(alpha: Tensor) -> tuple[Tensor, Tensor]:
    return alpha.new_empty(alpha.shape), alpha.new_empty(alpha.shape)


def _log_partition_setup(ctx: Any, inputs: tuple, output: tuple) -> None:
    ctx.mark_non_differentiable(output[1])
    ctx.set_materialize_grads(False)
    ctx.save_for_backward(output[1])


def _log_partition_backward(ctx: Any, grad_value: Optional[Tensor], _: Any) -> Any:
    (slope,) = ctx.saved_tensors
    return None if grad_value is None else grad_value * slope


log_partition_op.register_autograd(_log_partition_backward, setup_context=_log_partition_setup)


# ---- the modules -------------------------------------------------------------------------------
_FLOAT_TENSORS = (torch.float32, torch.float64)


def _check(name: str, tensor: Tensor, floating: bool = True) -> None:
    """``check_tensor``, called only when it will raise (the checks cost ~2 us a call)."""
    if not tensor.is_cpu or (floating and tensor.dtype not in _FLOAT_TENSORS):
        check_tensor(name, tensor, floating)


def _as_tensor(name: str, value: Any, dtype: torch.dtype) -> Tensor:
    """A data argument as a tensor (a number or array becomes one of the input's dtype)."""
    if isinstance(value, Tensor):
        _check(name, value, floating=False)
        return value
    return torch.as_tensor(np.asarray(value), dtype=dtype)


def _refuse_grad(name: str, tensor: Optional[Tensor]) -> None:
    if tensor is not None and tensor.requires_grad:
        raise ValueError(f"{name} requires grad, but losskit does not differentiate {name} "
                         f"in this loss; pass {name}.detach()")


def _plain(value: Any) -> Any:
    """A parameter as losskit's own class takes it (tensors as NumPy arrays)."""
    if isinstance(value, Tensor):
        return value.detach().cpu().numpy()
    return value


class _LossModule(torch.nn.Module):
    """A losskit loss as a module: the constructor arguments are checked by losskit's own class
    (``_loss_class``), and assigning one reconfigures the module as losskit's class does."""

    _loss_class: ClassVar[type]
    _signature: ClassVar[inspect.Signature]
    _data: ClassVar[tuple[str, ...]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        try:
            bound = self._signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{type(self).__name__}: {exc}") from None
        bound.apply_defaults()
        self._configure(dict(bound.arguments))

    def _configure(self, config: dict[str, Any]) -> None:
        loss = self._loss_class(**{k: _plain(v) for k, v in config.items()})
        info = loss._kernel_info
        operands = info["operands"] if info["family"] == "rowwise" or info["arity"] > 2 else []
        # the kernel's operand gradients are real where losskit's class returns them
        # (value_and_grads); pos_weight's is not
        differentiable = operands if hasattr(loss, "value_and_grads") else []
        checked = loss._config
        for name, value in config.items():
            if isinstance(value, Tensor) and name not in differentiable:
                _refuse_grad(name, value)
        # kernel operands named by parameters (Barron's alpha and scale, pos_weight) are
        # passed per element once one of them is a tensor or an array: a tensor is read at each
        # call (a Parameter trains), an array or a number is made a tensor here
        per_element = any(isinstance(config.get(n), Tensor)
                          or isinstance(checked.get(n), np.ndarray) for n in operands)
        slots = []
        for n in operands[:2]:
            if n in self._data:
                slots.append(("data", n, self._data.index(n)))
            elif per_element:
                value = config[n]
                slots.append(("param" if n in differentiable else "constant", n,
                              None if isinstance(value, Tensor)
                              else torch.tensor(np.array(checked[n], dtype=np.float64))))
        rowwise = info["family"] == "rowwise"
        weight = checked.get("weight") if rowwise else None
        ignore_index = checked.get("ignore_index") if rowwise else None
        op_config = config_string(info["name"], loss._kernel_values(info["name"], checked),
                                  loss.reduction, _NO_IGNORE_INDEX if ignore_index is None
                                  else ignore_index, weight or ())
        # commit: nothing has changed before every check passed
        for name, value in config.items():
            self._parameters.pop(name, None)
            self._buffers.pop(name, None)
            self.__dict__.pop(name, None)
            if isinstance(value, torch.nn.Parameter):
                self.register_parameter(name, value)
            elif isinstance(value, Tensor):
                self.register_buffer(name, value)
            else:
                object.__setattr__(self, name, checked.get(name, value))
        object.__setattr__(self, "_config", config)
        object.__setattr__(self, "_op_config", op_config)
        object.__setattr__(self, "_slots", tuple(slots))
        object.__setattr__(self, "_rowwise", rowwise)
        object.__setattr__(self, "_residual", info["residual"])
        # (input, target) and nothing else: forward's fast accept applies
        object.__setattr__(self, "_pair", not slots and self._data[1:] == ("target",))
        object.__setattr__(self, "_target", self._data.index("target")
                           if "target" in self._data else None)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self._signature.parameters and "_config" in self.__dict__:
            self._configure(dict(self._config, **{name: value}))
        else:
            super().__setattr__(name, value)

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self._config.items())

    def forward(self, *data: Any, sample_weight: Any = None) -> Tensor:
        """The loss of the data arguments (in PyTorch's order), as a tensor."""
        if self._pair and sample_weight is None and len(data) == 2:
            x, target = data
            # the usual call accepted in a few attribute reads (_arguments checks the rest
            # and raises the errors)
            if (type(x) is Tensor and type(target) is Tensor and x.dtype in _FLOAT_TENSORS
                    and x.is_cpu and target.is_cpu and not target.requires_grad):
                mode = VALUE_AND_GRAD if x.requires_grad and torch.is_grad_enabled() else VALUE
                return _value(self._op_config, mode, x, target, None, None, None)
        return _value(*self._arguments(data, sample_weight))

    def _arguments(self, data: tuple, sample_weight: Any) -> tuple:
        """The arguments of ``torch.ops.losskit.loss`` for this call."""
        names = self._data
        if len(data) != len(names):
            raise TypeError(f"{type(self).__name__} takes {len(names)} arrays "
                            f"({', '.join(names)}), got {len(data)}")
        x = data[0]
        if not isinstance(x, Tensor):
            raise TypeError(f"{names[0]} must be a torch.Tensor, got {type(x).__name__}")
        _check(names[0], x)
        shape = x.shape
        target = None
        if self._target is not None:
            target = _as_tensor("target", data[self._target], x.dtype)
        weight = None if sample_weight is None else _as_tensor("sample_weight", sample_weight,
                                                                x.dtype)
        operands: list[Optional[Tensor]] = [None, None]
        # kind: "data" (source: its position), "param" or "constant" (source: a tensor made of
        # the parameter's value, or None: read the module's tensor)
        for i, (kind, name, source) in enumerate(self._slots):
            if kind == "data":
                t = _as_tensor(name, data[source], x.dtype)
                if not self._rowwise:  # PyTorch's broadcasting rule of gaussian_nll's var
                    t = t.reshape(third_view_shape(name, t.shape, shape)).expand(shape)
            else:
                t = getattr(self, name) if source is None else source
                _check(name, t, floating=False)
                if kind == "constant" and torch.is_grad_enabled():
                    _refuse_grad(name, t)
                check_operand_shape(name, t.shape, shape)
                t = t.expand(shape)
            operands[i] = t if t.dtype == x.dtype else t.to(x.dtype)
        grad = torch.is_grad_enabled()
        if grad:
            if not self._residual:
                _refuse_grad("target", target)
            _refuse_grad("sample_weight", weight)
        if grad and any(t is not None and t.requires_grad for t in operands):
            mode = VALUE_AND_GRADS
        else:
            # a residual loss's target gradient is minus the input's
            wanted = x.requires_grad or (target is not None and target.requires_grad)
            mode = VALUE_AND_GRAD if grad and wanted else VALUE
        return (self._op_config, mode, x, target, operands[0], operands[1], weight)


_CALL_PARTS = {"labels": "torch.tensor([0, 2])",
               "label_lists": "torch.tensor([[0, 2, -1], [1, -1, -1]])",
               "values": "torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])",
               "signs": "torch.tensor([1.0, -1.0])"}


def _example(d: dict[str, Any], data: tuple[str, ...]) -> str:
    cls = d["class_name"]
    lines = [">>> import torch, losskit.torch as lt", f">>> loss = lt.{cls}()"]
    if d["family"] == "rowwise":
        rows = ["[[2.0, -1.0, 0.5], [0.1, 0.3, -0.2]]", "[[1.0, -0.5, 0.5], [0.3, 0.2, 0.1]]",
                "[[0.0, 1.0, -1.0], [0.5, 0.5, 0.5]]"]
        args = [f"torch.tensor({r}, requires_grad=True)" for r in rows[:1 + len(d["operands"])]]
        if d["row_target"] != "none":
            args.append(_CALL_PARTS[d["row_target"]])
        shape = "torch.Size([2, 3])"
    else:
        x = _base._EXAMPLE_VALUES["input"].get(tuple(d["input_domain"]), "[0.5, -1.5, 2.0]")
        if d["margin_targets"] or d["target_check"] == "signs":
            y = "[1.0, -1.0, 1.0]"
        else:
            y = _base._EXAMPLE_VALUES["target"].get(tuple(d["target_domain"]), "[0.0, 1.0, 2.0]")
        args = [f"torch.tensor({x}, requires_grad=True)", f"torch.tensor({y})"]
        if d["arity"] == 3:
            args.insert(d["third_position"], "torch.tensor([1.0, 0.5, 2.0], requires_grad=True)")
        shape = "torch.Size([3])"
    lines += [f">>> {', '.join(data)} = {', '.join(args)}",
              f">>> value = loss({', '.join(data)})", ">>> value.backward()",
              f">>> {data[0]}.grad.shape", shape]
    return "\n".join(lines)


def _docstring(loss_class: type, data: tuple[str, ...]) -> str:
    d = loss_class._definition
    own = inspect.getdoc(loss_class) or ""
    start = own.find("Parameters\n----------")
    end = own.find("\nNotes\n-----", start)
    parameters = own[start:end].strip() if start >= 0 else ""
    parts = [d["summary"], "",
             textwrap.fill(f"The PyTorch module of :class:`losskit.{d['class_name']}` (same "
                           f"constructor arguments): ``forward({', '.join(data)}, "
                           "sample_weight=None)`` takes CPU float32/float64 tensors and returns "
                           "a tensor; its backward pass uses the gradient losskit computed with "
                           "the value.", width=92), ""]
    if d["math"]:
        parts += [".. math::", *("    " + line for line in d["math"].splitlines()), ""]
    parts += [parameters, "", "Examples", "--------", _example(d, data)]
    return "\n".join(parts) + "\n"


def _module(loss_class: type) -> type:
    d = loss_class._definition
    signature = inspect.signature(loss_class.__init__)
    signature = signature.replace(parameters=list(signature.parameters.values())[1:])
    data = tuple(_data_arguments(d))
    return type(d["class_name"], (_LossModule,), {
        "_loss_class": loss_class, "_signature": signature, "_data": data,
        "__doc__": _docstring(loss_class, data), "__module__": __name__,
        "__qualname__": d["class_name"],
        "__init__": _with_signature(_LossModule.__init__, signature, d["class_name"]),
    })


def _with_signature(init: Any, signature: inspect.Signature, class_name: str) -> Any:
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)

    params = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
              *signature.parameters.values()]
    __init__.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    __init__.__qualname__ = f"{class_name}.__init__"
    return __init__


_MODULES = {name: _module(cls) for name, cls in CLASSES.items()}
globals().update(_MODULES)


# ---- robust_loss_pytorch's adaptive loss -------------------------------------------------------
_LOG_E_MINUS_1 = math.log(math.e - 1.0)
# Barron's rho per element, alpha and scale given per element
_BARRON_PER_ELEMENT = config_string("barron", [1.0, 1.0], "none")
_FLOAT_DTYPES = {np.float32: torch.float32, np.float64: torch.float64,
                 torch.float32: torch.float32, torch.float64: torch.float64}


class AdaptiveLossFunction(torch.nn.Module):
    r"""Barron's adaptive robust loss with one alpha and one scale per dimension, learned with
    the model: a drop-in for ``robust_loss_pytorch.adaptive.AdaptiveLossFunction``.

    ``lossfun(x)`` is the negative log-likelihood of each element of the (N, num_dims)
    residuals ``x`` under the general loss's density,

    .. math::
        \ell(x_{nd}) = \rho(x_{nd}, \alpha_d, c_d) + \log c_d + \log Z(\alpha_d)

    with alpha and scale held as latent parameters (``latent_alpha``, ``latent_scale``, each
    of shape (1, num_dims), :class:`torch.nn.Parameter` s) mapped as in the paper's reference
    code:

    .. math::
        \alpha = \alpha_{lo} + (\alpha_{hi} - \alpha_{lo})\,\mathrm{sigmoid}(\ell_\alpha),
        \qquad
        c = c_{lo} + (c_{init} - c_{lo})\,\mathrm{softplus}(\ell_c + \log(e - 1))

    ``alpha_lo == alpha_hi`` fixes alpha and ``scale_lo == scale_init`` fixes the scale (no
    parameter is made for them). rho, its gradients in x, alpha and scale come from losskit's
    fused Barron kernel, log Z and its derivative from :func:`losskit.barron_log_partition`.

    Parameters
    ----------
    num_dims : int, >= 1
        The number of columns of ``x``.
    float_dtype : {numpy.float32, numpy.float64, torch.float32, torch.float64}
        The dtype of the inputs and of the latent parameters.
    device : str, default "cpu"
        Only the CPU is supported.
    alpha_lo, alpha_hi : float
        The range of alpha, 0 <= alpha_lo <= alpha_hi (neither 2 unless they are equal).
    alpha_init : float, optional
        The initial alpha, in (alpha_lo, alpha_hi); the midpoint by default (ignored when
        alpha_lo == alpha_hi).
    scale_lo : float, > 0
        The smallest scale.
    scale_init : float, >= scale_lo
        The initial scale.

    Examples
    --------
    >>> import torch, losskit.torch as lt
    >>> adaptive = lt.AdaptiveLossFunction(num_dims=2, float_dtype=torch.float64)
    >>> x = torch.tensor([[0.5, -1.0], [2.0, 0.1]], dtype=torch.float64)
    >>> adaptive.lossfun(x).shape
    torch.Size([2, 2])
    >>> adaptive.alpha()
    tensor([[1., 1.]], dtype=torch.float64, grad_fn=<AddBackward0>)
    >>> adaptive.lossfun(x).mean().backward()
    >>> adaptive.latent_alpha.grad.shape
    torch.Size([1, 2])
    """

    def __init__(self, num_dims: int, float_dtype: Any, device: Any = "cpu",
                 alpha_lo: float = 0.001, alpha_hi: float = 1.999,
                 alpha_init: Optional[float] = None, scale_lo: float = 1e-5,
                 scale_init: float = 1.0) -> None:
        super().__init__()
        # losskit's own adaptive loss checks the configuration and computes the initial latents
        # (alpha_init is ignored when alpha is fixed, as in the reference code)
        fixed = alpha_lo == alpha_hi
        reference = AdaptiveBarronLoss(num_dims, alpha_lo, alpha_hi,
                                       None if fixed else alpha_init, scale_lo, scale_init)
        dtype = _FLOAT_DTYPES.get(float_dtype)
        if dtype is None:
            raise ValueError(f"float_dtype must be float32 or float64, got {float_dtype!r}")
        if torch.device(device).type != "cpu":
            raise ValueError(f"device must be the CPU (losskit's kernels run there), got "
                             f"{device!r}")
        self.num_dims, self.float_dtype, self.device = num_dims, dtype, torch.device(device)
        config = reference.config
        self.alpha_lo, self.alpha_hi = config["alpha_lo"], config["alpha_hi"]
        self.scale_lo, self.scale_init = config["scale_lo"], config["scale_init"]
        latent_alpha, latent_scale = (torch.tensor(p, dtype=dtype).reshape(1, num_dims)
                                      for p in reference.params)
        if self.alpha_lo == self.alpha_hi:
            self.register_buffer("fixed_alpha", torch.full((1, num_dims), self.alpha_lo,
                                                           dtype=dtype), persistent=False)
        else:
            self.latent_alpha = torch.nn.Parameter(latent_alpha)
        if self.scale_lo == self.scale_init:
            self.register_buffer("fixed_scale", torch.full((1, num_dims), self.scale_lo,
                                                           dtype=dtype), persistent=False)
        else:
            self.latent_scale = torch.nn.Parameter(latent_scale)

    def alpha(self) -> Tensor:
        """alpha per dimension, shape (1, num_dims)."""
        if self.alpha_lo == self.alpha_hi:
            return self.fixed_alpha
        return self.alpha_lo + (self.alpha_hi - self.alpha_lo) * torch.sigmoid(self.latent_alpha)

    def scale(self) -> Tensor:
        """The scale per dimension, shape (1, num_dims)."""
        if self.scale_lo == self.scale_init:
            return self.fixed_scale
        softplus = torch.nn.functional.softplus(self.latent_scale + _LOG_E_MINUS_1)
        return self.scale_lo + (self.scale_init - self.scale_lo) * softplus

    def lossfun(self, x: Any) -> Tensor:
        """The negative log-likelihood of each element of ``x`` (N, num_dims; a tensor or an
        array): a tensor of x's shape."""
        x = torch.as_tensor(x)
        _check("x", x)
        if x.dim() != 2 or x.shape[1] != self.num_dims:
            raise ValueError(f"x must have shape (N, num_dims) = (N, {self.num_dims}), got "
                             f"shape {tuple(x.shape)}")
        if x.dtype != self.float_dtype:
            raise TypeError(f"x must have dtype {self.float_dtype}, got {x.dtype}")
        alpha, scale = self.alpha(), self.scale()
        grad = torch.is_grad_enabled()
        mode = VALUE_AND_GRADS if grad and (alpha.requires_grad or scale.requires_grad) else (
            VALUE_AND_GRAD if grad and x.requires_grad else VALUE)
        rho = _value(_BARRON_PER_ELEMENT, mode, x, torch.zeros_like(x), alpha.expand(x.shape),
                     scale.expand(x.shape), None)
        return rho + (torch.log(scale) + log_partition_op(alpha)[0])

    def forward(self, x: Tensor) -> Tensor:
        """Same as :meth:`lossfun`."""
        return self.lossfun(x)
