"""Classification and divergence losses. The formulas live in C++ (src/cpp/src/per_isa/
definitions/classification.hpp for the elementwise ones, multiclass.hpp for those over (N, C)
scores); these classes hold parameters, validation and documentation."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._base import ElementwiseLoss, RowwiseLoss
from ._validation import (
    GRAD,
    VALUE,
    VALUE_AND_GRAD,
    as_real_array,
    cast_to,
    check_bool,
    check_int,
    check_real,
)

__all__ = [
    "CrossEntropyLoss",
    "NLLLoss",
    "BCEWithLogitsLoss",
    "BCELoss",
    "KLDivLoss",
    "SoftMarginLoss",
    "MultiMarginLoss",
    "HingeLoss",
    "SquaredHingeLoss",
    "MulticlassHingeLoss",
    "ModifiedHuberLoss",
    "PerceptronLoss",
]

_MARGIN_TARGETS = """Targets are +1 / -1. Any real target is used as given (the margin is
    ``z = target * input``), so targets in {0, 1} must be mapped to {-1, +1} first."""


class CrossEntropyLoss(RowwiseLoss):
    r"""Softmax cross-entropy over logits of shape (N, C).

    With :math:`\mathrm{lse} = \log\sum_c e^{x_c}`, class weights :math:`w` (sum :math:`W`) and
    label smoothing :math:`\epsilon`:

    .. math::
        \ell_i = (1-\epsilon)\, w_{y}(\mathrm{lse} - x_{y})
                 + \tfrac{\epsilon}{C}\,\Big(W\,\mathrm{lse} - \sum_c w_c x_c\Big)

    for an integer label :math:`y`, and for a probability row :math:`t` (smoothed to
    :math:`t' = (1-\epsilon) t + \epsilon/C`):
    :math:`\ell_i = -\sum_c w_c t'_c (x_c - \mathrm{lse})`.

    Same as ``torch.nn.functional.cross_entropy``: "mean" divides by the summed weight
    :math:`w_{y_i}` of the rows not ignored (by N for probability targets); rows whose label is
    ``ignore_index`` contribute nothing. Logits may be -inf on classes that are not the target
    (masking): their probability and gradient are 0. Exact for logits of any size.

    Parameters
    ----------
    weight : array of shape (C,), optional
        Per-class weights.
    ignore_index : int
    label_smoothing : float in [0, 1]
    reduction : {"mean", "sum", "none"}
    """

    name = "cross_entropy"

    def __init__(
        self,
        weight: Any = None,
        ignore_index: int = -100,
        label_smoothing: float = 0.0,
        reduction: str = "mean",
    ) -> None:
        label_smoothing = check_real("label_smoothing", label_smoothing)
        if not 0 <= label_smoothing <= 1:
            raise ValueError(f"label_smoothing must lie in [0, 1], got {label_smoothing!r}")
        super().__init__(reduction, weight=weight,
                         ignore_index=check_int("ignore_index", ignore_index),
                         label_smoothing=label_smoothing)


class NLLLoss(RowwiseLoss):
    r"""Negative log-likelihood of log-probabilities of shape (N, C).

    .. math:: \ell_i = -w_{y_i}\, x_{i, y_i}

    Same as ``torch.nn.functional.nll_loss`` ("mean" divides by the summed weights of the rows
    not ignored).

    Parameters
    ----------
    weight : array of shape (C,), optional
    ignore_index : int
    reduction : {"mean", "sum", "none"}
    """

    name = "nll"

    def __init__(self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean") -> None:
        super().__init__(reduction, weight=weight,
                         ignore_index=check_int("ignore_index", ignore_index))


class MultiMarginLoss(RowwiseLoss):
    r"""Multiclass margin loss of ``torch.nn.functional.multi_margin_loss``.

    .. math:: \ell_i = \frac{w_{y}}{C} \sum_{c \ne y} \max(0,\ \mathrm{margin} - x_y + x_c)^p

    ``p = 2`` is the squared hinge. "mean" divides by N. The gradient at the kink is 0.

    Parameters
    ----------
    p : {1, 2}
    margin : float
    weight : array of shape (C,), optional
    reduction : {"mean", "sum", "none"}
    """

    name = "multi_margin"

    def __init__(self, p: int = 1, margin: float = 1.0, weight: Any = None, reduction: str = "mean") -> None:
        if p not in (1, 2) or isinstance(p, bool):
            raise ValueError(f"p must be 1 or 2, got {p!r}")
        super().__init__(reduction, weight=weight, ignore_index=None, p=int(p),
                         margin=check_real("margin", margin))


class MulticlassHingeLoss(RowwiseLoss):
    r"""The multiclass SVM loss (Weston-Watkins, as in CS231n) over scores of shape (N, C).

    .. math:: \ell_i = w_y \sum_{c \ne y} \max(0,\ s_c - s_y + \mathrm{margin})

    (squared terms when ``squared``). Unlike :class:`MultiMarginLoss` there is no 1/C factor.
    "mean" divides by N. The gradient at the kink is 0.

    Parameters
    ----------
    margin : float
    squared : bool
    weight : array of shape (C,), optional
        Per-class weights (multiply the loss of samples of that class).
    reduction : {"mean", "sum", "none"}
    """

    name = "multiclass_hinge"

    def __init__(self, margin: float = 1.0, squared: bool = False, weight: Any = None,
                 reduction: str = "mean") -> None:
        super().__init__(reduction, weight=weight, ignore_index=None,
                         margin=check_real("margin", margin), squared=check_bool("squared", squared))


class BCEWithLogitsLoss(ElementwiseLoss):
    r"""Binary cross-entropy on logits, stable for any logit.

    .. math:: \ell = (1 - y)\,x + (1 + (p_w - 1) y)\,\log(1 + e^{-x}), \qquad
              \partial\ell/\partial x = (1 - y) - (1 + (p_w - 1) y)\,\sigma(-x)

    (with ``pos_weight`` :math:`p_w = 1`: :math:`\max(x,0) - xy + \log(1+e^{-|x|})` and
    gradient :math:`\sigma(x) - y`). Targets in [0, 1]. Same as
    ``torch.nn.functional.binary_cross_entropy_with_logits``.

    Parameters
    ----------
    pos_weight : float or array, optional
        Weight of positive examples; an array broadcasts along the last axis (one per class).
    reduction : {"mean", "sum", "none"}
    """

    name = "bce_with_logits"
    _third_name = "pos_weight"

    def __init__(self, pos_weight: Any = None, reduction: str = "mean") -> None:
        self._pos_weight = None
        self._expanded: np.ndarray | None = None
        if pos_weight is None or np.ndim(pos_weight) == 0:
            scalar = 1.0 if pos_weight is None else check_real("pos_weight", float(np.asarray(pos_weight)))
            super().__init__(reduction, pos_weight=scalar)
            if pos_weight is None:
                self._params["pos_weight"] = None
            return
        self._pos_weight = as_real_array("pos_weight", pos_weight, np.dtype(np.float64))
        self._pos_weight.setflags(write=False)
        super().__init__(reduction, kernel="bce_with_logits_weighted", pos_weight=self._pos_weight)
        self._params["pos_weight"] = tuple(self._pos_weight.ravel().tolist())

    def _expand(self, input: Any) -> Any:
        """pos_weight broadcast to the input's shape and dtype (kept for the next call)."""
        shape = np.shape(input)
        dtype = np.float32 if getattr(input, "dtype", None) in (np.float32, np.float16) else np.float64
        e = self._expanded
        if e is None or e.shape != shape or e.dtype != dtype:
            try:
                e = np.ascontiguousarray(np.broadcast_to(cast_to(self._pos_weight, dtype), shape))
            except ValueError:
                raise ValueError(
                    f"pos_weight shape {self._pos_weight.shape} does not broadcast to input shape {shape}"
                ) from None
            self._expanded = e
        return e

    def __call__(self, input: Any, target: Any, sample_weight: Any = None, out: Any = None) -> Any:
        pw = None if self._pos_weight is None else self._expand(input)
        return self._call(VALUE, input, target, pw, sample_weight, out, None)

    def grad(self, input: Any, target: Any, sample_weight: Any = None, out: Any = None) -> Any:
        pw = None if self._pos_weight is None else self._expand(input)
        return self._call(GRAD, input, target, pw, sample_weight, out, None)

    def value_and_grad(self, input: Any, target: Any, sample_weight: Any = None, out: Any = None) -> Any:
        pw = None if self._pos_weight is None else self._expand(input)
        return self._call(VALUE_AND_GRAD, input, target, pw, sample_weight, out, None)


class BCELoss(ElementwiseLoss):
    r"""Binary cross-entropy on probabilities in [0, 1].

    .. math:: \ell = -\big(y \max(\log p, -100) + (1 - y)\max(\log(1 - p), -100)\big), \qquad
              \partial\ell/\partial p = \frac{p - y}{\max(p (1 - p),\ 10^{-12})}

    Same as ``torch.nn.functional.binary_cross_entropy`` (its clamps included). Inputs outside
    [0, 1] raise ValueError. Prefer :class:`BCEWithLogitsLoss` on logits.

    Parameters
    ----------
    reduction : {"mean", "sum", "none"}
    """

    name = "bce"

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__(reduction)


class KLDivLoss(ElementwiseLoss):
    r"""Kullback-Leibler divergence with the input holding log-probabilities.

    .. math:: \ell = y (\log y - x) \ (0 \text{ where } y = 0), \qquad
              \partial\ell/\partial x = -y

    or, with ``log_target``, :math:`e^{y}(y - x)`. Same as ``torch.nn.functional.kl_div``;
    the default reduction "batchmean" divides the sum by ``input.shape[0]`` (the mathematically
    correct KL per sample), "mean" by the number of elements.

    Parameters
    ----------
    log_target : bool
    reduction : {"batchmean", "mean", "sum", "none"}
    """

    name = "kl_div"
    _reductions = ("batchmean", "mean", "sum", "none")

    def __init__(self, log_target: bool = False, reduction: str = "batchmean") -> None:
        super().__init__(reduction, log_target=check_bool("log_target", log_target))


class SoftMarginLoss(ElementwiseLoss):
    r"""Logistic loss on the margin: :math:`\ell = \log(1 + e^{-y x})`,
    :math:`\partial\ell/\partial x = -y\,\sigma(-y x)`.

    Same as ``torch.nn.functional.soft_margin_loss``; stable for any margin.
    """

    name = "soft_margin"

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__(reduction)


class HingeLoss(ElementwiseLoss):
    r"""Hinge loss :math:`\ell = \max(0,\ \mathrm{margin} - y x)`.

    scikit-learn's definition, its subgradient included: :math:`-y` where
    :math:`y x \le \mathrm{margin}`, else 0.
    """

    name = "hinge"

    def __init__(self, margin: float = 1.0, reduction: str = "mean") -> None:
        super().__init__(reduction, margin=check_real("margin", margin))


class SquaredHingeLoss(ElementwiseLoss):
    r"""Squared hinge :math:`\ell = \max(0,\ \mathrm{margin} - y x)^2`, gradient
    :math:`-2 y \max(0, \mathrm{margin} - y x)` (scikit-learn's)."""

    name = "squared_hinge"

    def __init__(self, margin: float = 1.0, reduction: str = "mean") -> None:
        super().__init__(reduction, margin=check_real("margin", margin))


class ModifiedHuberLoss(ElementwiseLoss):
    r"""scikit-learn's modified Huber loss on the margin z = y x.

    .. math:: \ell = \begin{cases} 0 & z \ge 1 \\ (1 - z)^2 & -1 \le z < 1 \\
              -4 z & z < -1 \end{cases}

    A smooth hinge that is linear for badly misclassified points.
    """

    name = "modified_huber"

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__(reduction)


class PerceptronLoss(ElementwiseLoss):
    r"""Perceptron loss :math:`\ell = \max(0, -y x)`, subgradient :math:`-y` where
    :math:`y x \le 0` (scikit-learn's)."""

    name = "perceptron"

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__(reduction)


for _cls in (SoftMarginLoss, HingeLoss, SquaredHingeLoss, ModifiedHuberLoss, PerceptronLoss):
    _cls.__doc__ = (_cls.__doc__ or "") + "\n    " + _MARGIN_TARGETS + "\n"
del _cls
