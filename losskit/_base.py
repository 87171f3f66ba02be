"""The Loss base classes, the registry, and the classes made from the C++ definitions.

Each loss is defined once, in C++ (src/cpp/include/losskit/definitions/): its LossInfo reaches
Python through ``_core.loss_definitions()``, and :func:`define` makes the class from it: the
constructor's signature, the parameters' checks (their domains), attributes that take effect
when assigned, and the docstring. A class holds (composes) a compiled kernel object, rebuilt
whenever a parameter changes.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

import numpy as np

from . import _core
from ._validation import (
    GRAD,
    GRAD_HESS,
    MEAN_DENOMINATOR,
    VALUE,
    VALUE_AND_GRAD,
    VALUE_AND_GRADS,
    check_hessian,
    check_param,
    check_reduction,
    describe_param_domain,
    elementwise_slow_path,
    kernel_value,
    rowwise_slow_path,
)

# Every loss definition's metadata, by registry name (internal kernels included).
DEFINITIONS: dict[str, dict[str, Any]] = {d["name"]: d for d in _core.loss_definitions()}
_REGISTRY: dict[str, type[Loss]] = {}


def _key(value: Any) -> Any:
    """A hashable, comparable form of a parameter value (arrays by shape and bytes)."""
    if isinstance(value, np.ndarray):
        return ("array", value.shape, value.tobytes())
    return value


class Loss:
    """Base class of every losskit loss.

    A loss is configured at construction and called on arrays::

        v = loss(input, target, sample_weight=None)
        g = loss.grad(input, target, sample_weight=None, out=None)
        v, g = loss.value_and_grad(input, target, sample_weight=None, out=None)
        g, h = loss.grad_hess(input, target, sample_weight=None, out=None, hessian="exact")

    ``reduction`` is "mean" (sum(w*l)/sum(w), or the plain mean without weights), "sum"
    (sum(w*l)) or "none" (w*l per element); ``grad`` is the gradient of the reduced value
    (for "none", of the sum); ``grad_hess``'s curvature is scaled the same way. float32 and float64 run natively and keep their dtype (any byte
    order); other real inputs compute in float64 (float16 in float32). NaN and inf propagate
    as IEEE arithmetic says. Empty input gives 0.0 for "sum", nan for "mean" (0/0, as NumPy and
    PyTorch) and empty arrays for "none" and for gradients. ``out`` may share memory with any
    argument: the result is what fresh copies would give. Subclasses set ``name`` and are
    registered under it (see :func:`get_loss`).

    Examples
    --------
    >>> import numpy as np, losskit
    >>> loss = losskit.get_loss("huber", delta=1.0)
    >>> isinstance(loss, losskit.Loss), loss.name
    (True, 'huber')
    >>> x, y = np.array([0.5, 3.0]), np.array([0.0, 0.0])
    >>> float(loss(x, y))                      # (0.125 + 2.5) / 2
    1.3125
    >>> value, grad = loss.value_and_grad(x, y)
    >>> grad
    array([0.25, 0.5 ])
    """

    name: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("name")
        if name is not None:
            if name in _REGISTRY:
                raise RuntimeError(f"two losses are registered as {name!r}")
            _REGISTRY[name] = cls

    @property
    def params(self) -> dict[str, Any]:
        """The constructor arguments of this loss (reduction included)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        if type(self) is not type(other):
            return False
        mine, theirs = self.params, other.params  # type: ignore[attr-defined]
        return mine.keys() == theirs.keys() and all(_key(mine[k]) == _key(theirs[k]) for k in mine)

    def __hash__(self) -> int:
        return hash((type(self), tuple(sorted((k, _key(v)) for k, v in self.params.items()))))

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.name, self.params))


def _rebuild(name: str, params: dict[str, Any]) -> Loss:
    return get_loss(name, **params)


class DefinedLoss(Loss):
    """A loss made from its C++ definition (``_definition``): parameters are checked against
    the definition's domains, readable as attributes, and assignable (the kernel is rebuilt;
    a bad value raises and changes nothing)."""

    _definition: ClassVar[dict[str, Any]]

    def _configure(self, config: dict[str, Any]) -> None:
        """Check every parameter, build the kernel, then commit (nothing changes on error)."""
        d = self._definition
        reductions = tuple(d["reductions"])
        checked = {p["name"]: check_param(p, config[p["name"]]) for p in d["params"]}
        checked["reduction"] = check_reduction(config["reduction"], reductions)
        kernel_name = self._kernel_name(checked)
        kernel = self._make_kernel(kernel_name, checked)
        info = DEFINITIONS[kernel_name]
        object.__setattr__(self, "_config", checked)
        object.__setattr__(self, "_kernel", kernel)
        object.__setattr__(self, "_kernel_info", info)
        object.__setattr__(self, "_hessian_modes", {h: GRAD_HESS[h] for h in info["hessians"]})
        self._configured()

    def _kernel_name(self, config: dict[str, Any]) -> str:
        """The definition whose kernel computes this configuration (its own by default)."""
        return self.name

    def _configured(self) -> None:
        """Called after a (re)configuration: subclasses drop what they derived from the old one."""

    def _kernel_values(self, kernel_name: str, config: dict[str, Any]) -> list[float]:
        return [kernel_value(p, config[p["name"]]) for p in DEFINITIONS[kernel_name]["params"]
                if p["kind"] not in ("class_weight", "ignore_index")]

    def _make_kernel(self, kernel_name: str, config: dict[str, Any]) -> Any:
        raise NotImplementedError

    @property
    def params(self) -> dict[str, Any]:
        return dict(self._config)

    @property
    def hessians(self) -> tuple[str, ...]:
        """The ``hessian=`` policies ``grad_hess`` offers; the first is the one to train with
        (what gradient boosting's ``hessian="auto"`` picks)."""
        return tuple(self._hessian_modes)

    def _grad_hess_mode(self, hessian: Any) -> int:
        mode = self._hessian_modes.get(hessian) if isinstance(hessian, str) else None
        return mode if mode is not None else check_hessian(self.name, self.hessians, hessian)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self.__dict__.get("_config", ()):
            self._configure(dict(self._config, **{name: value}))
        elif name.startswith("_") or hasattr(type(self), name):
            object.__setattr__(self, name, value)
        else:
            raise AttributeError(f"{type(self).__name__} has no parameter {name!r}; its "
                                 f"parameters are {', '.join(self._config)}")


class ElementwiseLoss(DefinedLoss):
    """A loss applied element by element to (input, target) of one shape.

    Examples
    --------
    >>> import numpy as np, losskit
    >>> loss = losskit.L1Loss(reduction="none")
    >>> isinstance(loss, losskit.ElementwiseLoss)
    True
    >>> loss(np.array([[1.0, -2.0], [0.5, 0.0]]), np.zeros((2, 2)))
    array([[1. , 2. ],
           [0.5, 0. ]])
    """

    def _make_kernel(self, kernel_name: str, config: dict[str, Any]) -> Any:
        return _core.ElementwiseKernel(kernel_name, self._kernel_values(kernel_name, config),
                                       config["reduction"])

    # The methods call the kernel themselves (no helper frame: it would add ~60 ns to every
    # call); NotImplemented sends the call through the checks and conversions of
    # _validation.py.
    def _run(self, mode: int, input: Any, target: Any, third: Any, fourth: Any,
             sample_weight: Any, out: Any, out2: Any = None, out3: Any = None) -> Any:
        result = self._kernel.run(mode, input, target, third, fourth, sample_weight, out, out2,
                                  out3)
        if result is NotImplemented:
            result = elementwise_slow_path(self, mode, input, target, third, fourth,
                                           sample_weight, out, out2, out3)
        return result

    def __call__(self, input: Any, target: Any, sample_weight: Any = None, out: Any = None) -> Any:
        """The (reduced) loss; with reduction="none" an array, written to ``out`` if given."""
        r = self._kernel.run(VALUE, input, target, None, None, sample_weight, out, None, None)
        if r is NotImplemented:
            r = elementwise_slow_path(self, VALUE, input, target, None, None, sample_weight, out,
                                      None, None)
        return r

    def grad(self, input: Any, target: Any, sample_weight: Any = None, out: Any = None) -> Any:
        """d(reduced loss)/d input, same shape and dtype as input (written to ``out`` if given)."""
        r = self._kernel.run(GRAD, input, target, None, None, sample_weight, out, None, None)
        if r is NotImplemented:
            r = elementwise_slow_path(self, GRAD, input, target, None, None, sample_weight, out,
                                      None, None)
        return r

    def value_and_grad(
        self, input: Any, target: Any, sample_weight: Any = None, out: Any = None
    ) -> Any:
        """``(loss(...), grad(...))`` in one fused pass; ``out`` receives the gradient."""
        r = self._kernel.run(VALUE_AND_GRAD, input, target, None, None, sample_weight, out, None,
                             None)
        if r is NotImplemented:
            r = elementwise_slow_path(self, VALUE_AND_GRAD, input, target, None, None,
                                      sample_weight, out, None, None)
        return r

    def grad_hess(self, input: Any, target: Any, sample_weight: Any = None, out: Any = None,
                  hessian: str = "exact") -> Any:
        """``(grad(...), curvature)`` in one fused pass: the second derivative in the input
        (``hessian="exact"``), the quadratic majorizer's curvature (``"irls"``) or
        ``max(exact, 2**-23)`` (``"positive"``), scaled by the reduction and the weights
        exactly as the gradient; ``out`` is None or a pair of buffers (gradient, curvature).
        ``hessians`` lists the policies this loss offers."""
        mode = self._grad_hess_mode(hessian)
        g_out, h_out = _unpack_out(out, 2)
        return self._run(mode, input, target, None, None, sample_weight, g_out, h_out)


class ElementwiseLoss3(ElementwiseLoss):
    """An elementwise loss of (input, target, third) with a gradient in the third argument."""

    def __call__(  # type: ignore[override]
        self, input: Any, target: Any, third: Any, sample_weight: Any = None, out: Any = None
    ) -> Any:
        return self._run(VALUE, input, target, third, None, sample_weight, out)

    def grad(  # type: ignore[override]
        self, input: Any, target: Any, third: Any, sample_weight: Any = None, out: Any = None
    ) -> Any:
        return self._run(GRAD, input, target, third, None, sample_weight, out)

    def value_and_grad(  # type: ignore[override]
        self, input: Any, target: Any, third: Any, sample_weight: Any = None, out: Any = None
    ) -> Any:
        return self._run(VALUE_AND_GRAD, input, target, third, None, sample_weight, out)

    def value_and_grads(
        self, input: Any, target: Any, third: Any, sample_weight: Any = None, out: Any = None
    ) -> Any:
        """``(value, d/dinput, d/dthird)`` in one pass; ``out`` is None or a pair of buffers."""
        out_input, out_third = _unpack_out(out, 2)
        return self._run(VALUE_AND_GRADS, input, target, third, None, sample_weight, out_input,
                         out_third)

    def grad_hess(  # type: ignore[override]
        self, input: Any, target: Any, third: Any, sample_weight: Any = None, out: Any = None,
        hessian: str = "exact",
    ) -> Any:
        """``(d/dinput, d2/dinput2)`` in one pass (see :meth:`ElementwiseLoss.grad_hess`)."""
        mode = self._grad_hess_mode(hessian)
        g_out, h_out = _unpack_out(out, 2)
        return self._run(mode, input, target, third, None, sample_weight, g_out, h_out)


class ElementwisePairLoss(ElementwiseLoss3):
    """An elementwise loss of (input1, input2, target) with a gradient in both inputs: the
    kernel's third argument comes second in the call (its definition's ``third_position`` 1,
    PyTorch's order for margin_ranking)."""

    def __call__(  # type: ignore[override]
        self, input1: Any, input2: Any, target: Any, sample_weight: Any = None, out: Any = None
    ) -> Any:
        return self._run(VALUE, input1, target, input2, None, sample_weight, out)

    def grad(  # type: ignore[override]
        self, input1: Any, input2: Any, target: Any, sample_weight: Any = None, out: Any = None
    ) -> Any:
        """d(reduced loss)/d input1."""
        return self._run(GRAD, input1, target, input2, None, sample_weight, out)

    def value_and_grad(  # type: ignore[override]
        self, input1: Any, input2: Any, target: Any, sample_weight: Any = None, out: Any = None
    ) -> Any:
        """``(value, d/dinput1)`` in one pass."""
        return self._run(VALUE_AND_GRAD, input1, target, input2, None, sample_weight, out)

    def value_and_grads(  # type: ignore[override]
        self, input1: Any, input2: Any, target: Any, sample_weight: Any = None, out: Any = None
    ) -> Any:
        """``(value, d/dinput1, d/dinput2)`` in one pass; ``out`` is None or a pair of buffers."""
        out_1, out_2 = _unpack_out(out, 2)
        return self._run(VALUE_AND_GRADS, input1, target, input2, None, sample_weight, out_1,
                         out_2)

    def grad_hess(  # type: ignore[override]
        self, input1: Any, input2: Any, target: Any, sample_weight: Any = None, out: Any = None,
        hessian: str = "exact",
    ) -> Any:
        """``(d/dinput1, d2/dinput1^2)`` in one pass (see :meth:`ElementwiseLoss.grad_hess`)."""
        mode = self._grad_hess_mode(hessian)
        g_out, h_out = _unpack_out(out, 2)
        return self._run(mode, input1, target, input2, None, sample_weight, g_out, h_out)


def _unpack_out(out: Any, count: int) -> tuple[Any, ...]:
    if out is None:
        return (None,) * count
    if not isinstance(out, (tuple, list)) or len(out) != count:
        raise ValueError(f"out must be None or a sequence of {count} arrays (one per result)")
    return tuple(out)


class RowwiseLoss(DefinedLoss):
    """A loss over the rows of (N, C) scores with a target per sample: ``target`` holds
    integer labels of shape (N,) (cross-entropy: or probabilities of shape (N, C)), or what
    the loss's definition says (multi-label targets of shape (N, C)). Where PyTorch allows it
    (cross_entropy, nll, poly1) scores may be (N, C, d1, ...) with labels (N, d1, ...).
    ``reduction="none"`` gives one value per sample (and position); gradients have the input's
    shape. ``sample_weight`` has shape (N,).

    Examples
    --------
    >>> import numpy as np, losskit
    >>> loss = losskit.CrossEntropyLoss()
    >>> isinstance(loss, losskit.RowwiseLoss)
    True
    >>> scores = np.array([[0.0, 0.0], [0.0, 0.0]])     # two classes, equal scores
    >>> bool(np.isclose(loss(scores, np.array([0, 1])), np.log(2)))
    True
    >>> loss.grad(scores, np.array([0, 1]))             # (softmax - one hot) / N
    array([[-0.25,  0.25],
           [ 0.25, -0.25]])
    """

    def _make_kernel(self, kernel_name: str, config: dict[str, Any]) -> Any:
        weight = config.get("weight")
        ignore_index = config.get("ignore_index")
        return _core.RowwiseKernel(
            kernel_name, self._kernel_values(kernel_name, config), config["reduction"],
            -(2**63) if ignore_index is None else ignore_index,
            [] if weight is None else list(weight))

    def _run(self, mode: int, input: Any, target: Any, second: Any, third: Any,
             sample_weight: Any, out: Any, out2: Any = None, out3: Any = None) -> Any:
        result = self._kernel.run(mode, input, target, second, third, sample_weight, out, out2,
                                  out3)
        if result is NotImplemented:
            result = rowwise_slow_path(self, mode, input, target, second, third, sample_weight,
                                       out, out2, out3)
        return result

    def _mean_denominator(self, input: Any, target: Any, *operands: Any,
                          sample_weight: Any = None) -> float:
        """What reduction "mean" divides the weighted sum by for these targets and weights
        (the weight of the rows and positions counted; class weights of the labels where the
        loss weighs its mean so): a mean over chunks of rows adds these up per chunk."""
        second, third = (list(operands) + [None, None])[:2]
        return float(self._run(MEAN_DENOMINATOR, input, target, second, third, sample_weight,
                               None))

    def __call__(self, input: Any, target: Any, sample_weight: Any = None) -> Any:
        """The (reduced) loss; with reduction="none" one value per sample."""
        r = self._kernel.run(VALUE, input, target, None, None, sample_weight, None, None, None)
        if r is NotImplemented:
            r = rowwise_slow_path(self, VALUE, input, target, None, None, sample_weight, None)
        return r

    def grad(self, input: Any, target: Any, sample_weight: Any = None, out: Any = None) -> Any:
        """d(reduced loss)/d input, the input's shape (written to ``out`` if given)."""
        r = self._kernel.run(GRAD, input, target, None, None, sample_weight, out, None, None)
        if r is NotImplemented:
            r = rowwise_slow_path(self, GRAD, input, target, None, None, sample_weight, out)
        return r

    def value_and_grad(
        self, input: Any, target: Any, sample_weight: Any = None, out: Any = None
    ) -> Any:
        """``(loss(...), grad(...))`` in one fused pass; ``out`` receives the gradient."""
        r = self._kernel.run(VALUE_AND_GRAD, input, target, None, None, sample_weight, out, None,
                             None)
        if r is NotImplemented:
            r = rowwise_slow_path(self, VALUE_AND_GRAD, input, target, None, None, sample_weight,
                                  out)
        return r

    def grad_hess(self, input: Any, target: Any, sample_weight: Any = None, out: Any = None,
                  hessian: str = "exact") -> Any:
        """``(grad(...), h)`` in one pass, h the diagonal of each row's Hessian in the scores
        (softmax cross-entropy: p (1 - p) times the row's weight), scaled as the gradient;
        ``out`` is None or a pair of buffers of the input's shape. ``hessians`` lists the
        policies."""
        mode = self._grad_hess_mode(hessian)
        g_out, h_out = _unpack_out(out, 2)
        return self._run(mode, input, target, None, None, sample_weight, g_out, h_out)


class RowwiseLoss3(RowwiseLoss):
    """A loss over rows of three arrays in PyTorch's order: two of embeddings and a target
    ``(input1, input2, target)`` (cosine_embedding), or three of embeddings ``(anchor,
    positive, negative)`` (triplet_margin). Every array of embeddings has the first one's
    shape (N, D) and a gradient: ``grad`` is d/d(first argument), ``value_and_grads`` gives
    the value and the gradient of each array of embeddings, in argument order."""

    def _configured(self) -> None:
        self._operand_count = len(self._kernel_info["operands"])

    def _kernel_arguments(self, second: Any, third: Any) -> tuple[Any, Any, Any]:
        """(target, second row operand, third row operand) of the kernel."""
        if self._operand_count == 2:
            return None, second, third
        return third, second, None

    def __call__(  # type: ignore[override]
        self, input: Any, second: Any, third: Any, sample_weight: Any = None
    ) -> Any:
        return self._run(VALUE, input, *self._kernel_arguments(second, third), sample_weight,
                         None)

    def grad(  # type: ignore[override]
        self, input: Any, second: Any, third: Any, sample_weight: Any = None, out: Any = None
    ) -> Any:
        return self._run(GRAD, input, *self._kernel_arguments(second, third), sample_weight, out)

    def value_and_grad(  # type: ignore[override]
        self, input: Any, second: Any, third: Any, sample_weight: Any = None, out: Any = None
    ) -> Any:
        return self._run(VALUE_AND_GRAD, input, *self._kernel_arguments(second, third),
                         sample_weight, out)

    def value_and_grads(
        self, input: Any, second: Any, third: Any, sample_weight: Any = None, out: Any = None
    ) -> Any:
        """``(value, d/dinput, d/d(each other array of embeddings))`` in one pass; ``out`` is
        None or a sequence of one buffer per gradient."""
        outs = _unpack_out(out, 1 + self._operand_count) + (None,) * (2 - self._operand_count)
        return self._run(VALUE_AND_GRADS, input, *self._kernel_arguments(second, third),
                         sample_weight, *outs)

    def grad_hess(  # type: ignore[override]
        self, input: Any, second: Any, third: Any, sample_weight: Any = None, out: Any = None,
        hessian: str = "exact",
    ) -> Any:
        """``(d/dinput, h)`` in one pass, h the diagonal of each row's Hessian in the first
        argument, scaled as the gradient (see :meth:`RowwiseLoss.grad_hess`)."""
        mode = self._grad_hess_mode(hessian)
        g_out, h_out = _unpack_out(out, 2)
        return self._run(mode, input, *self._kernel_arguments(second, third), sample_weight,
                         g_out, h_out)


# ---- classes from definitions ----------------------------------------------------------------
def _param_type(p: dict[str, Any]) -> str:
    kind = p["kind"]
    if kind == "choice":
        return "{" + ", ".join(f'"{c}"' for c in p["choices"]) + "}"
    if kind == "boolean":
        return "bool"
    if kind == "class_weight":
        return "array of shape (C,), optional"
    if kind in ("integer", "ignore_index"):
        text = "int"
    else:
        text = "float or array_like" if p["array_allowed"] else "float"
    domain = describe_param_domain(p)
    if kind != "ignore_index" and domain != "finite":
        text += f", {domain}"
    return text + (", optional" if p["none_default"] else "")


def _default(p: dict[str, Any]) -> Any:
    if p["none_default"]:
        return None
    if p["kind"] == "boolean":
        return bool(p["default"])
    if p["kind"] == "choice":
        return p["choices"][0]
    if p["kind"] in ("integer", "ignore_index"):
        return int(p["default"])
    return float(p["default"])


_EXAMPLE_VALUES = {
    "input": {(0.0, 1.0, True, True): "[0.25, 0.75, 0.5]"},
    "target": {(0.0, 1.0, True, True): "[1.0, 0.0, 0.5]",
               (0.0, float("inf"), True, False): "[1.0, 0.0, 3.0]",
               (0.0, float("inf"), False, False): "[1.0, 0.5, 3.0]"},
}


def example_arguments(d: dict[str, Any]) -> tuple[list[str], str]:
    """Doctest lines that make example data for the loss of definition ``d``, and the
    arguments of a call on it (the data of the docstring examples)."""
    if d["family"] == "rowwise":
        first = "scores" if d["arity"] == 2 else d["input_name"]
        lines = [f">>> {first} = np.array([[2.0, -1.0, 0.5], [0.1, 0.3, -0.2]])"]
        if d["arity"] == 3:
            lines.append(f">>> {d['operands'][0]} = np.array([[1.0, -0.5, 0.5], [0.3, 0.2, 0.1]])")
        rest = {"labels": "np.array([0, 2])",
                "label_lists": "np.array([[0, 2, -1], [1, -1, -1]])",
                "values": "np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])",
                "signs": "np.array([1.0, -1.0])",
                "none": ""}[d["row_target"]]
        if d["row_target"] == "none":
            lines.append(f">>> {d['operands'][1]} = np.array([[0.0, 1.0, -1.0], [0.5, 0.5, 0.5]])")
            rest = d["operands"][1]
        return lines, ", ".join([first, *d["operands"][:1], rest])
    x = _EXAMPLE_VALUES["input"].get(tuple(d["input_domain"]), "[0.5, -1.5, 2.0]")
    if d["margin_targets"] or d["target_check"] == "signs":
        y = "[1.0, -1.0, 1.0]"
    else:
        y = _EXAMPLE_VALUES["target"].get(tuple(d["target_domain"]), "[0.0, 1.0, 2.0]")
    args = [f"np.array({x})", f"np.array({y})"]
    if d["arity"] == 3:
        args.insert(d["third_position"], "np.array([1.0, 0.5, 2.0])")
    return [], ", ".join(args)


def _example(d: dict[str, Any]) -> str:
    cls = d["class_name"]
    lines, args = example_arguments(d)
    lines = [">>> import numpy as np, losskit", f">>> loss = losskit.{cls}()", *lines]
    shape = "(2, 3)" if d["family"] == "rowwise" else "(3,)"
    if d["arity"] == 3 and d["family"] == "rowwise":
        lines += [f">>> value, *grads = loss.value_and_grads({args})", ">>> len(grads)",
                  f"{1 + len(d['operands'])}"]
    else:
        lines += [f">>> value, grad = loss.value_and_grad({args})", ">>> grad.shape", shape]
    lines += [f">>> grad, hess = loss.grad_hess({args}, hessian={d['hessians'][0]!r})",
              ">>> hess.shape", shape]
    return "\n".join(lines)


def docstring(d: dict[str, Any], extra: str = "") -> str:
    """The NumPy-style docstring of a loss, from its definition."""
    indent = "    "
    parts = [d["summary"], ""]
    if d["math"]:
        parts += [".. math::", *(indent + line for line in d["math"].splitlines()), ""]
    if d["notes"]:
        parts += [d["notes"], ""]
    if d["margin_targets"]:
        parts += ["Targets are +1 / -1. Any real target is used as given (the margin is",
                  "``z = target * input``), so targets in {0, 1} must be mapped to {-1, +1} first.",
                  ""]
    if extra:
        parts += [extra.strip(), ""]
    parts += ["Parameters", "----------"]
    for p in d["params"]:
        parts += [f"{p['name']} : {_param_type(p)}", indent + p["doc"]]
    reductions = ", ".join(f'"{r}"' for r in d["reductions"])
    parts += [f"reduction : {{{reductions}}}", indent + "How the per-element values are reduced "
              f"(default \"{d['reductions'][0]}\").", ""]
    policies = ", ".join(f'"{h}"' for h in d["hessians"])
    parts += ["Notes", "-----", f"``grad_hess`` offers ``hessian=`` {policies}; gradient "
              "boosting trains with "
              f"\"{d['hessians'][0]}\".", ""]
    parts += ["Examples", "--------", _example(d)]
    return "\n".join(parts) + "\n"


def define(name: str, base: type[DefinedLoss], extra_doc: str = "") -> type[DefinedLoss]:
    """The class of loss `name`, made from its definition on `base`: signature (the
    definition's parameters, then reduction), checked attributes, docstring."""
    d = DEFINITIONS[name]
    parameters = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    parameters += [inspect.Parameter(p["name"], inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                     default=_default(p)) for p in d["params"]]
    parameters.append(inspect.Parameter("reduction", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                        default=d["reductions"][0]))
    signature = inspect.Signature(parameters)

    def __init__(self: DefinedLoss, *args: Any, **kwargs: Any) -> None:
        try:
            bound = signature.bind(self, *args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{d['class_name']}: {exc}") from None
        bound.apply_defaults()
        config = dict(bound.arguments)
        del config["self"]
        self._configure(config)

    __init__.__signature__ = signature  # type: ignore[attr-defined]
    __init__.__qualname__ = f"{d['class_name']}.__init__"

    def attribute(param: str) -> property:
        return property(lambda self: self._config[param],
                        lambda self, value: self._configure(dict(self._config, **{param: value})),
                        doc=f"The {param} parameter (assigning it reconfigures the loss).")

    namespace: dict[str, Any] = {
        "name": name,
        "_definition": d,
        "__init__": __init__,
        "__doc__": docstring(d, extra_doc),
        "__module__": "losskit",
        "__qualname__": d["class_name"],
    }
    for p in [*d["params"], {"name": "reduction"}]:
        namespace[p["name"]] = attribute(p["name"])
    return type(d["class_name"], (base,), namespace)


def get_loss(name: str, **params: Any) -> Loss:
    """The loss registered as ``name``, constructed with ``params``.

    Examples
    --------
    >>> import losskit
    >>> losskit.get_loss("huber", delta=0.5)
    HuberLoss(delta=0.5, reduction='mean')
    """
    try:
        cls = _REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown loss {name!r}; available losses: {', '.join(available_losses())}"
        ) from None
    return cls(**params)


def available_losses() -> list[str]:
    """Names of every registered loss, sorted.

    Examples
    --------
    >>> import losskit
    >>> names = losskit.available_losses()
    >>> "huber" in names and "cross_entropy" in names
    True
    """
    return sorted(_REGISTRY)
