"""Barron's general and adaptive robust loss (J. T. Barron, "A General and Adaptive Robust Loss
Function", CVPR 2019). The formulas live in C++ (src/cpp/include/losskit/definitions/barron.hpp, and
src/cpp/src/barron_partition.cpp for log Z); these classes hold parameters, validation and
documentation."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from . import _core
from ._base import DEFINITIONS, ElementwiseLoss, Loss, _unpack_out
from ._validation import (
    GRAD,
    GRAD_HESS_OUT_NAMES,
    VALUE,
    VALUE_AND_GRAD,
    VALUE_AND_GRADS,
    _first_bad,
    as_real_array,
    cast_to,
    check_hessian,
    check_out,
    check_outs,
    check_real,
    check_reduction,
    kernel_dtype,
    operand_to_input_shape,
    weight_to_input_shape,
)

__all__ = ["BarronBase", "AdaptiveBarronLoss", "barron_log_partition"]

_LOG_E_MINUS_1 = math.log(math.e - 1.0)
_FLOAT32_TINY = float(np.finfo(np.float32).tiny)


class BarronBase(ElementwiseLoss):
    """What BarronLoss adds to its definition: alpha and scale may be arrays (broadcast to the
    input, they reach the kernel as per-element operands), and ``value_and_grads`` returns the
    gradients in both."""

    def _kernel_values(self, kernel_name: str, config: dict[str, Any]) -> list[float]:
        if self._per_element(config):
            return [1.0, 1.0]  # unused: the operands hold alpha and scale
        return [config["alpha"], config["scale"]]

    @staticmethod
    def _per_element(config: dict[str, Any]) -> bool:
        return isinstance(config["alpha"], np.ndarray) or isinstance(config["scale"], np.ndarray)

    def _configured(self) -> None:
        self._cast: dict[np.dtype, tuple[np.ndarray, np.ndarray]] = {}
        scale = self._config["scale"]
        self._min_scale = float(np.min(scale)) if np.size(scale) else 1.0
        # The common case, scalar parameters of any float32 input, needs no work per call.
        self._plain = not self._per_element(self._config) and self._min_scale >= _FLOAT32_TINY

    def _operands(self, input: Any) -> tuple[Any, Any]:
        """alpha and scale as kernel operands for this input's dtype (None: scalar parameters)."""
        dtype = kernel_dtype(np.asarray(input).dtype)
        if self._min_scale < _FLOAT32_TINY and dtype == np.float32:
            # The kernel runs on 1/scale in the input's dtype: a scale below float32's smallest
            # normal number would make it inf (NaN even at x = 0).
            raise ValueError(f"scale must be at least {_FLOAT32_TINY!r} (the smallest normal "
                             f"float32) for float32 input, got scale = {self._min_scale!r}")
        if not self._per_element(self._config):
            return None, None
        ops = self._cast.get(dtype)
        if ops is None:
            ops = (cast_to(np.asarray(self._config["alpha"], dtype=np.float64), dtype),
                   cast_to(np.asarray(self._config["scale"], dtype=np.float64), dtype))
            self._cast[dtype] = ops
        return ops

    # (The scalar-parameter case calls the kernel straight away: see ElementwiseLoss.)
    def __call__(self, input: Any, target: Any, sample_weight: Any = None, out: Any = None) -> Any:
        a, c = (None, None) if self._plain else self._operands(input)
        r = self._kernel.run(VALUE, input, target, a, c, sample_weight, out, None, None)
        return r if r is not NotImplemented else self._run(VALUE, input, target, a, c,
                                                           sample_weight, out)

    def grad(self, input: Any, target: Any, sample_weight: Any = None, out: Any = None) -> Any:
        a, c = (None, None) if self._plain else self._operands(input)
        r = self._kernel.run(GRAD, input, target, a, c, sample_weight, out, None, None)
        return r if r is not NotImplemented else self._run(GRAD, input, target, a, c,
                                                           sample_weight, out)

    def value_and_grad(
        self, input: Any, target: Any, sample_weight: Any = None, out: Any = None
    ) -> Any:
        a, c = (None, None) if self._plain else self._operands(input)
        r = self._kernel.run(VALUE_AND_GRAD, input, target, a, c, sample_weight, out, None, None)
        return r if r is not NotImplemented else self._run(VALUE_AND_GRAD, input, target, a, c,
                                                           sample_weight, out)

    def value_and_grads(
        self, input: Any, target: Any, sample_weight: Any = None, out: Any = None
    ) -> Any:
        """``(value, d_input, d_alpha, d_scale)`` in one pass; ``out`` is None or a triple of
        buffers of the input's shape and dtype."""
        a, c = (None, None) if self._plain else self._operands(input)
        o = _unpack_out(out, 3)
        return self._run(VALUE_AND_GRADS, input, target, a, c, sample_weight, *o)

    def grad_hess(self, input: Any, target: Any, sample_weight: Any = None, out: Any = None,
                  hessian: str = "exact") -> Any:
        """``(d_input, curvature)`` in one pass: the exact d2 rho / dx2 (smooth through alpha =
        0 and 2), or ``hessian="irls"``'s rho'(r)/r (see :meth:`ElementwiseLoss.grad_hess`)."""
        mode = self._grad_hess_mode(hessian)
        a, c = (None, None) if self._plain else self._operands(input)
        g_out, h_out = _unpack_out(out, 2)
        return self._run(mode, input, target, a, c, sample_weight, g_out, h_out)


def barron_log_partition(alpha: Any, return_grad: bool = False) -> Any:
    r"""log Z(alpha) of Barron's general robust loss, for alpha >= 0.

    .. math:: Z(\alpha) = \int_{-\infty}^{\infty} \exp(-\rho(x, \alpha, 1))\, dx

    the normaliser that makes exp(-rho) / (c Z) a density (the adaptive loss's negative
    log-likelihood is rho + log c + log Z). Closed forms: Z(0) = pi sqrt(2),
    Z(1) = 2 e K_1(1), Z(2) = sqrt(2 pi). Computed by losskit itself: a cubic Hermite spline in
    s = log|alpha - 2| through values and slopes from 30-digit quadrature
    (tools/gen_barron_partition.py), absolute error below 1e-9 on [0, 64].

    As alpha -> inf, log Z decreases to log of the integral of exp(1 - exp(x^2/2)) (0.7052603,
    the alpha = +inf limit of rho) like c / alpha (c ~ 0.0977); beyond the table
    (alpha > 2 + e^12 ~ 1.6e5) that asymptote, matched at the table's end, is returned.
    d log Z / d alpha is -inf at exactly alpha = 2 (a genuine log singularity).

    Parameters
    ----------
    alpha : float or array_like, >= 0
    return_grad : bool
        Also return d log Z / d alpha.

    Returns
    -------
    float or ndarray (float64), or a pair of them with ``return_grad``.

    Raises
    ------
    ValueError
        If any alpha < 0 (Z is infinite there).

    Examples
    --------
    >>> import numpy as np, losskit
    >>> bool(np.isclose(losskit.barron_log_partition(2.0), np.log(np.sqrt(2 * np.pi))))  # Z(2)
    True
    >>> bool(np.isclose(losskit.barron_log_partition(0.0), np.log(np.pi * np.sqrt(2))))   # Z(0)
    True
    >>> log_z, d_log_z = losskit.barron_log_partition(np.array([0.5, 1.0]), return_grad=True)
    """
    a = as_real_array("alpha", alpha, np.dtype(np.float64))
    bad = a < 0
    if bad.any():
        raise _first_bad("alpha", a, bad, ">= 0 (Z(alpha) is infinite for alpha < 0)")
    result = _core._barron_log_partition(a, bool(return_grad))
    if a.ndim == 0:
        if return_grad:
            return float(result[0]), float(result[1])
        return float(result)
    return result


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _softplus(x: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):  # a NaN latent gives NaN, unannounced, as elsewhere
        return np.logaddexp(0.0, x)


class AdaptiveBarronLoss(Loss):
    r"""Barron's adaptive robust loss: the negative log-likelihood of the general loss's
    density, with one alpha and one scale per dimension, learned with the model.

    .. math::
        \ell(x, y) = \rho(x - y, \alpha_d, c_d) + \log c_d + \log Z(\alpha_d)

    per element of column d (inputs ``(N, num_dims)``; a 1-D input is one column when
    ``num_dims == 1``). alpha and c are held as latent reals, mapped as in the paper's
    reference code, so that plain gradient steps keep them in range:

    .. math::
        \alpha = \alpha_{lo} + (\alpha_{hi} - \alpha_{lo})\,\mathrm{sigmoid}(\ell_\alpha),
        \qquad
        c = c_{lo} + (c_{init} - c_{lo})\,\mathrm{softplus}(\ell_c + \log(e - 1))

    ``params == [latent_alpha, latent_scale]`` (float64 arrays of shape (num_dims,), updated
    in place by any optimizer); they start at 0, or latent_alpha at the latent of
    ``alpha_init``. ``value_and_grad(input, target)`` returns ``(value, d_input)`` and stores
    the gradients of the latents in ``param_grads`` (same order and shapes); ``grad`` does the
    same and returns d_input. ``alpha_lo == alpha_hi`` fixes alpha (its gradient is 0).
    Because calls store ``param_grads``, one instance is not for concurrent use by several
    threads (the other losses hold no state and can be shared).

    Parameters
    ----------
    num_dims : int, >= 1
    alpha_lo, alpha_hi : float, 0 <= alpha_lo <= alpha_hi; neither is 2 unless they are
        equal (alpha fixed): d rho / d alpha is +inf at alpha = 2.
    alpha_init : float in (alpha_lo, alpha_hi), or None for the midpoint
    scale_lo : float, > 0
    scale_init : float, >= scale_lo
    reduction : {"mean", "sum", "none"}

    Examples
    --------
    >>> import numpy as np, losskit
    >>> loss = losskit.AdaptiveBarronLoss(num_dims=2)
    >>> residual = np.array([[0.1, -0.2], [3.0, 0.05], [-0.4, 0.3]])
    >>> value, grad = loss.value_and_grad(residual, np.zeros_like(residual))
    >>> [p.shape for p in loss.params], [g.shape for g in loss.param_grads]
    ([(2,), (2,)], [(2,), (2,)])
    >>> opt = losskit.optim.Adam([*loss.params], lr=0.01)   # train alpha and scale
    >>> opt.step(loss.param_grads)
    >>> bool(np.all((loss.alpha > 0.001) & (loss.alpha < 1.999)))
    True
    """

    name = "adaptive_barron"
    # What `losskit list` shows (the losses defined in C++ state it in their definitions).
    task = "regression"
    formula = "rho(r, alpha, c) + log c + log Z(alpha), alpha and c learned"
    probabilistic = True
    convex = False  # rho is not convex for alpha < 1

    def __init__(
        self,
        num_dims: int,
        alpha_lo: float = 0.001,
        alpha_hi: float = 1.999,
        alpha_init: float | None = None,
        scale_lo: float = 1e-5,
        scale_init: float = 1.0,
        reduction: str = "mean",
    ) -> None:
        if isinstance(num_dims, (bool, np.bool_)) or not isinstance(num_dims, numbers.Integral):
            raise TypeError(f"num_dims must be an integer, got {num_dims!r}")
        if num_dims < 1:
            raise ValueError(f"num_dims must be >= 1, got num_dims = {num_dims!r}")
        lo, hi = check_real("alpha_lo", alpha_lo), check_real("alpha_hi", alpha_hi)
        if not (0 <= lo and math.isfinite(lo)):
            raise ValueError(f"alpha_lo must be finite and >= 0 (log Z needs alpha >= 0), "
                             f"got alpha_lo = {lo!r}")
        if not (lo <= hi and math.isfinite(hi)):
            raise ValueError(f"alpha_hi must be finite and >= alpha_lo = {lo!r}, got alpha_hi = {hi!r}")
        if lo < hi and 2.0 in (lo, hi):
            # d rho / d alpha is +inf at alpha = 2 and d alpha / d latent is 0 at a bound: a
            # latent saturated at a bound of 2 would get inf * 0 = NaN.
            name, value = ("alpha_hi", hi) if hi == 2 else ("alpha_lo", lo)
            raise ValueError(f"{name} must not be 2 when alpha is learned (alpha_lo < alpha_hi): "
                             f"d rho / d alpha is infinite there; got {name} = {value!r}")
        s_lo, s_init = check_real("scale_lo", scale_lo), check_real("scale_init", scale_init)
        if not (s_lo > 0 and math.isfinite(s_lo)):
            raise ValueError(f"scale_lo must be positive and finite, got scale_lo = {s_lo!r}")
        if not (s_init >= s_lo and math.isfinite(s_init)):
            raise ValueError(f"scale_init must be finite and >= scale_lo = {s_lo!r}, "
                             f"got scale_init = {s_init!r}")
        latent_alpha = 0.0
        if alpha_init is not None:
            a0 = check_real("alpha_init", alpha_init)
            if lo == hi:
                if a0 != lo:
                    raise ValueError(f"alpha_init must equal alpha_lo = alpha_hi = {lo!r} "
                                     f"(alpha is fixed), got alpha_init = {a0!r}")
            elif not lo < a0 < hi:
                raise ValueError(f"alpha_init must lie strictly between alpha_lo = {lo!r} and "
                                 f"alpha_hi = {hi!r}, got alpha_init = {a0!r}")
            else:
                p = (a0 - lo) / (hi - lo)
                latent_alpha = math.log(p) - math.log1p(-p)
        self._config = {"num_dims": int(num_dims), "alpha_lo": lo, "alpha_hi": hi,
                        "alpha_init": alpha_init, "scale_lo": s_lo, "scale_init": s_init}
        self.reduction = reduction
        self._latents = [np.full(self.num_dims, latent_alpha), np.zeros(self.num_dims)]
        self.param_grads = [np.zeros(self.num_dims), np.zeros(self.num_dims)]

    # ---- configuration: num_dims and the bounds fix the latents' meaning (read-only);
    # reduction may be assigned -------------------------------------------------------------
    @property
    def reduction(self) -> str:
        return self._reduction

    @reduction.setter
    def reduction(self, value: str) -> None:
        kernel = _core.ElementwiseKernel("barron", [1.0, 1.0], check_reduction(value))
        self._reduction, self._kernel = value, kernel

    @property
    def num_dims(self) -> int:
        return self._config["num_dims"]

    # ---- parameters ---------------------------------------------------------------------
    @property
    def params(self) -> list[np.ndarray]:  # type: ignore[override]
        """``[latent_alpha, latent_scale]``: the trainable arrays (updated in place)."""
        return self._latents

    @property
    def config(self) -> dict[str, Any]:
        """The constructor arguments (reduction included)."""
        return dict(self._config, reduction=self.reduction)

    def _alpha_and_slope(self) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self._config["alpha_lo"], self._config["alpha_hi"]
        s = _sigmoid(self._latents[0])
        return lo + (hi - lo) * s, (hi - lo) * s * (1.0 - s)

    def _scale_and_slope(self) -> tuple[np.ndarray, np.ndarray]:
        lo, init = self._config["scale_lo"], self._config["scale_init"]
        v = self._latents[1] + _LOG_E_MINUS_1
        return lo + (init - lo) * _softplus(v), (init - lo) * _sigmoid(v)

    @property
    def alpha(self) -> np.ndarray:
        """alpha per dimension (from the latent parameter)."""
        return self._alpha_and_slope()[0]

    @property
    def scale(self) -> np.ndarray:
        """scale per dimension (from the latent parameter)."""
        return self._scale_and_slope()[0]

    def set_scale(self, scale: Any) -> None:
        """Set the scale per dimension (its latent parameter), e.g. to a scale tuned after
        training; each must lie above ``scale_lo``."""
        lo, init = self._config["scale_lo"], self._config["scale_init"]
        c = np.broadcast_to(np.asarray(scale, dtype=np.float64), (self.num_dims,))
        if not np.all(np.isfinite(c) & (c > lo)):
            bad = c[~(np.isfinite(c) & (c > lo))][0]
            raise ValueError(f"scale must be finite and > scale_lo = {lo!r}, got {bad!r}")
        if init == lo:
            raise ValueError(f"the scale is fixed at scale_lo = scale_init = {lo!r}")
        u = (c - lo) / (init - lo)
        # the inverse of softplus: log(expm1(u)), written to stay finite for large u
        self._latents[1][...] = u + np.log(-np.expm1(-u)) - _LOG_E_MINUS_1

    # ---- evaluation -----------------------------------------------------------------------
    def _prepare(self, input: Any, target: Any, sample_weight: Any) -> tuple:
        x = as_real_array("input", input)
        shape = x.shape
        if x.ndim == 2:
            cols = shape[1]
        elif x.ndim == 1 and self.num_dims == 1:
            cols = 1
        else:
            raise ValueError(f"input must have shape (N, num_dims) = (N, {self.num_dims}), "
                             f"got shape {shape}")
        if cols != self.num_dims:
            raise ValueError(f"input has {cols} columns (shape {shape}) but num_dims = "
                             f"{self.num_dims}")
        t = as_real_array("target", target, x.dtype)
        if t.shape != shape:
            raise ValueError(f"target shape {t.shape} does not match input shape {shape}")
        w = None
        if sample_weight is not None:
            w = weight_to_input_shape(as_real_array("sample_weight", sample_weight, x.dtype),
                                      shape)
            if (w < 0).any():
                raise _first_bad("sample_weight", w, w < 0, "non-negative")
        return x, t, w

    def _evaluate(self, mode: int, input: Any, target: Any, sample_weight: Any, out: Any) -> Any:
        x, t, w = self._prepare(input, target, sample_weight)
        shape, dtype = x.shape, x.dtype
        if out is not None:
            out = check_out("out", out, shape, dtype)
        # The kernel writes out directly only when out is canonical and shares no memory
        # with an argument; otherwise a fresh array, copied into out at the end.
        direct = out is not None and out.flags.c_contiguous and out.flags.aligned and \
            out.dtype == dtype and not any(np.may_share_memory(out, a) for a in
                                           (input, target, sample_weight, x, t, w)
                                           if isinstance(a, np.ndarray))
        buffer = out.view(np.ndarray) if direct else None
        # From here on the arithmetic is IEEE's on values already validated: latents a diverging
        # optimizer left at +-inf or NaN give inf or NaN results, as the kernels do, without
        # NumPy's warnings.
        with np.errstate(all="ignore"):
            alpha, d_alpha_latent = self._alpha_and_slope()
            scale, d_scale_latent = self._scale_and_slope()
            a_op = operand_to_input_shape("alpha", cast_to(alpha, dtype), shape)
            c_op = operand_to_input_shape("scale", cast_to(scale, dtype), shape)
            log_z, dlog_z = barron_log_partition(alpha, return_grad=True)
            const = np.log(scale) + log_z  # per dimension, float64
            # The reduction's weight of each element (mean: w / sum(w); none: the sum's 1).
            w64 = None if w is None else w.astype(np.float64).reshape(-1, self.num_dims)
            n_rows = x.size // self.num_dims
            colsum = np.full(self.num_dims, float(n_rows)) if w64 is None else w64.sum(axis=0)
            factor = 1.0
            if self.reduction == "mean":
                total = float(colsum.sum())
                factor = 1.0 / total if total != 0 else math.nan
            col_weight = colsum * factor

            if mode == VALUE:
                v = self._kernel.run(VALUE, x, t, a_op, c_op, w,
                                     buffer if self.reduction == "none" else None, None, None)
                return self._deliver(self._add_constant(v, const, w, col_weight), out, buffer)
            v, g_input, g_alpha, g_scale = self._kernel.run(VALUE_AND_GRADS, x, t, a_op, c_op, w,
                                                            buffer, None, None)
            g_input = self._deliver(g_input, out, buffer)
            # d/dlatent = (sum over rows of d/dparam + the constant's part) * dparam/dlatent
            ga = g_alpha.reshape(-1, self.num_dims).sum(axis=0, dtype=np.float64)
            gc = g_scale.reshape(-1, self.num_dims).sum(axis=0, dtype=np.float64)
            ga = (ga + col_weight * dlog_z) * d_alpha_latent
            gc = (gc + col_weight / scale) * d_scale_latent
            if self._config["alpha_lo"] == self._config["alpha_hi"]:
                ga = np.zeros(self.num_dims)
            self.param_grads[0][...] = ga
            self.param_grads[1][...] = gc
            value = self._add_constant(v, const, w, col_weight)
            return g_input if mode == GRAD else (value, g_input)

    @staticmethod
    def _deliver(computed: Any, out: Any, buffer: Any) -> Any:
        if out is None:
            return computed
        if buffer is None:
            out[...] = computed
        return out

    def _add_constant(self, v: Any, const: np.ndarray, w: Any, col_weight: np.ndarray) -> Any:
        if self.reduction == "none":
            c = const.astype(v.dtype)
            add = c if w is None else w * c
            v += np.broadcast_to(add, v.shape) if v.ndim == 2 else add.reshape(v.shape)
            return v
        return float(v + np.dot(col_weight, const))

    def __call__(self, input: Any, target: Any, sample_weight: Any = None, out: Any = None) -> Any:
        """The (reduced) negative log-likelihood (does not touch ``param_grads``)."""
        if out is not None and self.reduction != "none":
            raise ValueError(f"out is only used with reduction='none' (this loss has "
                             f"{self.reduction!r})")
        return self._evaluate(VALUE, input, target, sample_weight, out)

    def grad(self, input: Any, target: Any, sample_weight: Any = None, out: Any = None) -> Any:
        """d loss / d input; also stores the latent gradients in ``param_grads``."""
        return self._evaluate(GRAD, input, target, sample_weight, out)

    def value_and_grad(
        self, input: Any, target: Any, sample_weight: Any = None, out: Any = None
    ) -> Any:
        """``(value, d_input)``; also stores the latent gradients in ``param_grads``."""
        return self._evaluate(VALUE_AND_GRAD, input, target, sample_weight, out)

    # log c + log Z(alpha) does not depend on the input: the curvature is rho's.
    hessians = tuple(DEFINITIONS["barron"]["hessians"])

    def grad_hess(self, input: Any, target: Any, sample_weight: Any = None, out: Any = None,
                  hessian: str = "exact") -> Any:
        """``(d_input, curvature)`` at the current alpha and scale, as
        :meth:`BarronLoss.grad_hess` (does not touch ``param_grads``); ``out`` is None or a
        pair of buffers."""
        mode = check_hessian(self.name, self.hessians, hessian)
        g_out, h_out = _unpack_out(out, 2)
        x, t, w = self._prepare(input, target, sample_weight)
        users = check_outs(GRAD_HESS_OUT_NAMES, [g_out, h_out], [x.shape] * 2, x.dtype)
        with np.errstate(all="ignore"):
            a_op = operand_to_input_shape("alpha", cast_to(self.alpha, x.dtype), x.shape)
            c_op = operand_to_input_shape("scale", cast_to(self.scale, x.dtype), x.shape)
        result = self._kernel.run(mode, x, t, a_op, c_op, w, None, None, None)
        return tuple(self._deliver(r, u, None) for r, u in zip(result, users))

    # ---- object protocol (params is the latent list here, not the configuration) ----------
    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config.items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return (type(self) is type(other) and self.config == other.config  # type: ignore[attr-defined]
                and all(np.array_equal(a, b) for a, b in zip(self.params, other.params)))  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]  # mutable (trainable) state

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_adaptive, (self.config, [p.copy() for p in self.params]))


def _rebuild_adaptive(config: dict[str, Any], latents: list[np.ndarray]) -> AdaptiveBarronLoss:
    loss = AdaptiveBarronLoss(**config)
    for p, v in zip(loss.params, latents):
        p[...] = v
    return loss
