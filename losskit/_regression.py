"""Regression losses. The formulas live in C++ (src/cpp/src/per_isa/definitions/
regression.hpp); these classes hold parameters, validation and documentation. r = input - target throughout."""

from __future__ import annotations

from ._base import ElementwiseLoss, ElementwiseLoss3
from ._validation import (
    check_bool,
    check_choice,
    check_nonnegative,
    check_open_unit,
    check_positive,
)

__all__ = [
    "MSELoss",
    "L1Loss",
    "HuberLoss",
    "SmoothL1Loss",
    "PseudoHuberLoss",
    "LogCoshLoss",
    "QuantileLoss",
    "EpsilonInsensitiveLoss",
    "GaussianNLLLoss",
    "PoissonNLLLoss",
]


class MSELoss(ElementwiseLoss):
    r"""Mean squared error.

    .. math:: \ell(x, y) = (x - y)^2, \qquad \partial\ell/\partial x = 2 (x - y)

    Same as ``torch.nn.functional.mse_loss``.

    Parameters
    ----------
    reduction : {"mean", "sum", "none"}
    """

    name = "mse"

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__(reduction)


class L1Loss(ElementwiseLoss):
    r"""Absolute error.

    .. math:: \ell(x, y) = |x - y|, \qquad \partial\ell/\partial x = \operatorname{sign}(x - y)

    The subgradient at x = y is 0, as ``torch.nn.functional.l1_loss``.

    Parameters
    ----------
    reduction : {"mean", "sum", "none"}
    """

    name = "l1"

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__(reduction)


class HuberLoss(ElementwiseLoss):
    r"""Huber loss: quadratic near zero, linear in the tails.

    .. math::
        \ell = \begin{cases} \tfrac12 r^2 & |r| < \delta \\
                             \delta (|r| - \tfrac12 \delta) & \text{otherwise} \end{cases}
        \qquad \partial\ell/\partial x = \operatorname{clip}(r, -\delta, \delta)

    Same as ``torch.nn.functional.huber_loss``.

    Parameters
    ----------
    delta : float, > 0
        Where the loss turns from quadratic to linear.
    reduction : {"mean", "sum", "none"}
    """

    name = "huber"

    def __init__(self, delta: float = 1.0, reduction: str = "mean") -> None:
        super().__init__(reduction, delta=check_positive("delta", delta))


class SmoothL1Loss(ElementwiseLoss):
    r"""Smooth L1 loss (Huber divided by beta).

    .. math::
        \ell = \begin{cases} \tfrac12 r^2 / \beta & |r| < \beta \\
                             |r| - \tfrac12 \beta & \text{otherwise} \end{cases}

    ``beta = 0`` is exactly :class:`L1Loss` (no division by zero). Same as
    ``torch.nn.functional.smooth_l1_loss``.

    Parameters
    ----------
    beta : float, >= 0
    reduction : {"mean", "sum", "none"}
    """

    name = "smooth_l1"

    def __init__(self, beta: float = 1.0, reduction: str = "mean") -> None:
        super().__init__(reduction, beta=check_nonnegative("beta", beta))


class PseudoHuberLoss(ElementwiseLoss):
    r"""Pseudo-Huber loss: a smooth Huber.

    .. math:: \ell = \delta^2 \left(\sqrt{1 + (r/\delta)^2} - 1\right), \qquad
              \partial\ell/\partial x = \frac{r}{\sqrt{1 + (r/\delta)^2}}

    Evaluated without cancellation for small r and without overflow for huge r.

    Parameters
    ----------
    delta : float, > 0
    reduction : {"mean", "sum", "none"}
    """

    name = "pseudo_huber"

    def __init__(self, delta: float = 1.0, reduction: str = "mean") -> None:
        super().__init__(reduction, delta=check_positive("delta", delta))


class LogCoshLoss(ElementwiseLoss):
    r"""Log-cosh loss.

    .. math:: \ell = \log\cosh(r), \qquad \partial\ell/\partial x = \tanh(r)

    Exact over the whole range: ~ r^2/2 for tiny r, |r| - log 2 for large |r| (no overflow of
    cosh, e.g. at |r| = 1e30).

    Parameters
    ----------
    reduction : {"mean", "sum", "none"}
    """

    name = "log_cosh"

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__(reduction)


class QuantileLoss(ElementwiseLoss):
    r"""Quantile (pinball) loss, with u = target - input.

    .. math:: \ell = \max(q\,u,\ (q - 1)\,u), \qquad
              \partial\ell/\partial x = \begin{cases} -q & u > 0 \\ 1 - q & u < 0 \\
              0 & u = 0 \end{cases}

    Minimised in expectation by the q-quantile of the target; q = 0.5 is half the L1 loss.

    Parameters
    ----------
    quantile : float in (0, 1)
    reduction : {"mean", "sum", "none"}
    """

    name = "quantile"

    def __init__(self, quantile: float = 0.5, reduction: str = "mean") -> None:
        super().__init__(reduction, quantile=check_open_unit("quantile", quantile))


class EpsilonInsensitiveLoss(ElementwiseLoss):
    r"""Epsilon-insensitive loss of support vector regression.

    .. math:: \ell = \max(0, |r| - \epsilon) \quad\text{or, if squared,}\quad
              \max(0, |r| - \epsilon)^2

    The subgradient is 0 inside the tube and on its edge |r| = epsilon.

    Parameters
    ----------
    epsilon : float, >= 0
    squared : bool
    reduction : {"mean", "sum", "none"}
    """

    name = "epsilon_insensitive"

    def __init__(
        self, epsilon: float = 0.1, squared: bool = False, reduction: str = "mean"
    ) -> None:
        super().__init__(
            reduction,
            epsilon=check_nonnegative("epsilon", epsilon),
            squared=check_bool("squared", squared),
        )


class GaussianNLLLoss(ElementwiseLoss3):
    r"""Gaussian negative log-likelihood with a predicted variance (or precision).

    .. math:: \ell(x, y, v) = \tfrac12 \left(\log v + \frac{(x - y)^2}{v}\right)
              \ [+\ \tfrac12 \log 2\pi \text{ if full}],
              \qquad v \leftarrow \max(v, \epsilon)

    with gradients for the input, ``r / v``, and for the variance,
    ``(1/v - r^2/v^2) / 2``; the clamp passes the gradient straight through, as
    ``torch.nn.functional.gaussian_nll_loss`` does. With ``param="precision"`` the third
    argument is beta = 1/var (the maximum-likelihood view of weighted L2), clamped to
    ``min(beta, 1/eps)``: ``(r^2 beta - log beta) / 2``.

    The third argument has the input's shape, or the input's shape without its last axis or
    with a last axis of 1 (one variance shared along it; its gradient is summed there).
    Negative variances raise ValueError.

    Call as ``loss(input, target, var)``; ``value_and_grads(input, target, var)`` returns
    ``(value, d_input, d_var)``.

    Parameters
    ----------
    full : bool
        Add the constant 0.5 log(2 pi).
    eps : float, > 0
        Clamp for the variance.
    param : {"var", "precision"}
    reduction : {"mean", "sum", "none"}
    """

    name = "gaussian_nll"

    def __init__(
        self, full: bool = False, eps: float = 1e-6, param: str = "var", reduction: str = "mean"
    ) -> None:
        check_choice("param", param, ("var", "precision"))
        self._third_name = param
        super().__init__(
            reduction,
            full=check_bool("full", full),
            eps=check_positive("eps", eps),
            precision=param == "precision",
        )
        self._params = {"full": self._params["full"], "eps": self._params["eps"], "param": param}


class PoissonNLLLoss(ElementwiseLoss):
    r"""Poisson negative log-likelihood.

    .. math:: \ell = e^{x} - y\,x \quad(\text{log\_input}) \qquad\text{or}\qquad
              \ell = x - y \log(x + \epsilon)

    plus, when ``full``, Stirling's term ``y log y - y + log(2 pi y)/2`` for y > 1.
    Same as ``torch.nn.functional.poisson_nll_loss``.

    Parameters
    ----------
    log_input : bool
        The input is the log of the rate (default) or the rate itself.
    full : bool
    eps : float, >= 0
        Added to the rate inside the log when ``log_input=False``.
    reduction : {"mean", "sum", "none"}
    """

    name = "poisson_nll"

    def __init__(
        self,
        log_input: bool = True,
        full: bool = False,
        eps: float = 1e-8,
        reduction: str = "mean",
    ) -> None:
        super().__init__(
            reduction,
            log_input=check_bool("log_input", log_input),
            full=check_bool("full", full),
            eps=check_nonnegative("eps", eps),
        )
