"""The Loss base class, the elementwise loss machinery and the registry."""

from __future__ import annotations

from typing import Any, ClassVar

from . import _core
from ._validation import (
    GRAD,
    VALUE,
    VALUE_AND_GRAD,
    VALUE_AND_GRADS,
    check_class_weight,
    check_int,
    check_reduction,
)

# {name: (arity, parameter names in kernel order)}, from src/cpp/include/losskit/loss_list.hpp.
_KERNELS: dict[str, tuple[int, tuple[str, ...]]] = _core.elementwise_losses()
# {name: parameter names in kernel order} of the row-wise kernels.
_ROW_KERNELS: dict[str, tuple[str, ...]] = _core.rowwise_losses()
_REGISTRY: dict[str, type[Loss]] = {}


class Loss:
    """Base class of every losskit loss.

    A loss is configured at construction and called on arrays::

        v = loss(input, target, sample_weight=None)
        g = loss.grad(input, target, sample_weight=None, out=None)
        v, g = loss.value_and_grad(input, target, sample_weight=None, out=None)

    ``reduction`` is "mean" (sum(w*l)/sum(w), or the plain mean without weights), "sum"
    (sum(w*l)) or "none" (w*l per element); ``grad`` is the gradient of the reduced value
    (for "none", of the sum). float32 and float64 run natively and keep their dtype; other
    real inputs compute in float64 (float16 in float32). NaN and inf propagate as IEEE
    arithmetic says. Empty input gives 0.0 for "sum", nan for "mean" (0/0, as NumPy and
    PyTorch) and empty arrays for "none" and for gradients. Subclasses set ``name`` and are
    registered under it (see :func:`get_loss`).
    """

    name: ClassVar[str]
    reduction: str

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
        return dict(self._params, reduction=self.reduction)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.params == other.params  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self), tuple(sorted(self.params.items()))))

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.name, self.params))


def _rebuild(name: str, params: dict[str, Any]) -> Loss:
    return get_loss(name, **params)


class ElementwiseLoss(_core.ElementwiseKernel, Loss):
    """A loss applied element by element to (input, target) of one shape.

    Subclasses call ``super().__init__(reduction, **params)`` with their validated parameters;
    the compiled kernel of the same name does the work.
    """

    _third_name: ClassVar[str] = "third"
    _reductions: ClassVar[tuple[str, ...]] = ("mean", "sum", "none")

    def __init__(self, reduction: str = "mean", kernel: str | None = None, **params: Any) -> None:
        self.reduction = check_reduction(reduction, self._reductions)
        self._params = params
        kernel = self.name if kernel is None else kernel
        _, names = _KERNELS[kernel]
        _core.ElementwiseKernel.__init__(
            self, kernel, [float(params[n]) for n in names], reduction, self._third_name
        )

    def __call__(self, input: Any, target: Any, sample_weight: Any = None, out: Any = None) -> Any:
        """The (reduced) loss; with reduction="none" an array, written to ``out`` if given."""
        return self._call(VALUE, input, target, None, sample_weight, out, None)

    def grad(self, input: Any, target: Any, sample_weight: Any = None, out: Any = None) -> Any:
        """d(reduced loss)/d input, same shape and dtype as input (written to ``out`` if given)."""
        return self._call(GRAD, input, target, None, sample_weight, out, None)

    def value_and_grad(
        self, input: Any, target: Any, sample_weight: Any = None, out: Any = None
    ) -> Any:
        """``(loss(...), grad(...))`` in one fused pass; ``out`` receives the gradient."""
        return self._call(VALUE_AND_GRAD, input, target, None, sample_weight, out, None)


class ElementwiseLoss3(ElementwiseLoss):
    """An elementwise loss of (input, target, third) with a gradient in the third argument."""

    def __call__(  # type: ignore[override]
        self, input: Any, target: Any, third: Any, sample_weight: Any = None, out: Any = None
    ) -> Any:
        return self._call(VALUE, input, target, third, sample_weight, out, None)

    def grad(  # type: ignore[override]
        self, input: Any, target: Any, third: Any, sample_weight: Any = None, out: Any = None
    ) -> Any:
        return self._call(GRAD, input, target, third, sample_weight, out, None)

    def value_and_grad(  # type: ignore[override]
        self, input: Any, target: Any, third: Any, sample_weight: Any = None, out: Any = None
    ) -> Any:
        return self._call(VALUE_AND_GRAD, input, target, third, sample_weight, out, None)

    def value_and_grads(
        self, input: Any, target: Any, third: Any, sample_weight: Any = None, out: Any = None
    ) -> Any:
        """``(value, d/dinput, d/dthird)`` in one pass; ``out`` is None or a pair of buffers."""
        out_input, out_third = (None, None) if out is None else out
        return self._call(VALUE_AND_GRADS, input, target, third, sample_weight, out_input, out_third)


class RowwiseLoss(_core.RowwiseKernel, Loss):
    """A loss over the rows of (N, C) scores with a class label per sample: ``target`` holds
    integer labels of shape (N,) (and, for cross-entropy, may hold probabilities of shape
    (N, C)). ``reduction="none"`` gives one value per sample; gradients have the input's shape.
    ``sample_weight`` has shape (N,).
    """

    def __init__(
        self,
        reduction: str = "mean",
        *,
        weight: Any = None,
        ignore_index: int = -100,
        **params: Any,
    ) -> None:
        # ignore_index: the label whose rows contribute nothing (cross-entropy, NLL), or None
        # for the losses that have no such parameter (it is then not one of their params)
        self.reduction = check_reduction(reduction)
        self._params = dict(params, weight=check_class_weight(weight))
        if ignore_index is not None:
            ignore_index = check_int("ignore_index", ignore_index)
            if not -(2**63) <= ignore_index < 2**63:
                raise ValueError(f"ignore_index must fit in int64, got {ignore_index}")
            self._params["ignore_index"] = ignore_index
        names = _ROW_KERNELS[self.name]
        _core.RowwiseKernel.__init__(
            self,
            self.name,
            [float(params[n]) for n in names],
            reduction,
            -(2**63) if ignore_index is None else int(ignore_index),
            [] if weight is None else list(self._params["weight"]),
        )

    def __call__(self, input: Any, target: Any, sample_weight: Any = None) -> Any:
        """The (reduced) loss; with reduction="none" one value per sample."""
        return self._call(VALUE, input, target, sample_weight, None)

    def grad(self, input: Any, target: Any, sample_weight: Any = None, out: Any = None) -> Any:
        """d(reduced loss)/d input, shape (N, C) (written to ``out`` if given)."""
        return self._call(GRAD, input, target, sample_weight, out)

    def value_and_grad(
        self, input: Any, target: Any, sample_weight: Any = None, out: Any = None
    ) -> Any:
        """``(loss(...), grad(...))`` in one fused pass; ``out`` receives the gradient."""
        return self._call(VALUE_AND_GRAD, input, target, sample_weight, out)


def get_loss(name: str, **params: Any) -> Loss:
    """The loss registered as ``name``, constructed with ``params``.

    >>> get_loss("huber", delta=0.5)
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
    """Names of every registered loss, sorted."""
    return sorted(_REGISTRY)
