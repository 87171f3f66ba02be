"""Every loss class, made from its C++ definition (see ``_base.define``). Most need nothing
else; the few with behaviour of their own in Python (array-valued parameters) extend the base
they are made on."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _base
from ._barron import BarronBase
from ._base import (ElementwiseLoss, ElementwiseLoss3, ElementwisePairLoss, RowwiseLoss,
                    RowwiseLoss3, _unpack_out)
from ._validation import (GRAD, VALUE, VALUE_AND_GRAD, cast_to, check_operand_shape,
                          kernel_dtype)


class _BCEWithLogits(ElementwiseLoss):
    """pos_weight may be an array, broadcast along the input's last axes: it then reaches the
    kernel of ``bce_with_logits_weighted`` as a per-element third argument."""

    def _kernel_name(self, config: dict[str, Any]) -> str:
        if isinstance(config["pos_weight"], np.ndarray):
            return "bce_with_logits_weighted"
        return self.name

    def _configured(self) -> None:
        self._expanded: np.ndarray | None = None
        self._array = isinstance(self._config["pos_weight"], np.ndarray)

    def _pos_weight_operand(self, input: Any) -> Any:
        """pos_weight broadcast to the input's shape and dtype (kept for the next call)."""
        pos_weight = self._config["pos_weight"]
        shape = np.shape(input)
        dtype = kernel_dtype(np.asarray(input).dtype)
        e = self._expanded
        if e is None or e.shape != shape or e.dtype != dtype:
            check_operand_shape("pos_weight", pos_weight.shape, shape)
            e = np.ascontiguousarray(np.broadcast_to(cast_to(pos_weight, dtype), shape))
            self._expanded = e
        return e

    def __call__(self, input: Any, target: Any, sample_weight: Any = None, out: Any = None) -> Any:
        pw = self._pos_weight_operand(input) if self._array else None
        r = self._kernel.run(VALUE, input, target, pw, None, sample_weight, out, None, None)
        return r if r is not NotImplemented else self._run(VALUE, input, target, pw, None,
                                                           sample_weight, out)

    def grad(self, input: Any, target: Any, sample_weight: Any = None, out: Any = None) -> Any:
        pw = self._pos_weight_operand(input) if self._array else None
        r = self._kernel.run(GRAD, input, target, pw, None, sample_weight, out, None, None)
        return r if r is not NotImplemented else self._run(GRAD, input, target, pw, None,
                                                           sample_weight, out)

    def value_and_grad(self, input: Any, target: Any, sample_weight: Any = None,
                       out: Any = None) -> Any:
        pw = self._pos_weight_operand(input) if self._array else None
        r = self._kernel.run(VALUE_AND_GRAD, input, target, pw, None, sample_weight, out, None,
                             None)
        return r if r is not NotImplemented else self._run(VALUE_AND_GRAD, input, target, pw,
                                                           None, sample_weight, out)

    def grad_hess(self, input: Any, target: Any, sample_weight: Any = None, out: Any = None,
                  hessian: str = "exact") -> Any:
        mode = self._grad_hess_mode(hessian)
        pw = self._pos_weight_operand(input) if self._array else None
        g_out, h_out = _unpack_out(out, 2)
        return self._run(mode, input, target, pw, None, sample_weight, g_out, h_out)


_EXTENSIONS: dict[str, type] = {"bce_with_logits": _BCEWithLogits, "barron": BarronBase}


def _base_of(definition: dict[str, Any]) -> type:
    if definition["name"] in _EXTENSIONS:
        return _EXTENSIONS[definition["name"]]
    if definition["family"] == "rowwise":
        return RowwiseLoss3 if definition["arity"] == 3 else RowwiseLoss
    if definition["arity"] == 3:
        return ElementwisePairLoss if definition["third_position"] == 1 else ElementwiseLoss3
    return ElementwiseLoss


CLASSES: dict[str, type] = {
    d["class_name"]: _base.define(d["name"], _base_of(d))
    for d in _base.DEFINITIONS.values() if d["class_name"]
}
__all__ = list(CLASSES)
