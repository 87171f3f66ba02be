"""Peers of the elementwise losses added from scikit-learn's and torchvision's catalogues: the
GLM deviances on a log link and the exponential loss (peer: ``sklearn._loss``), the sigmoid
focal loss (peer: torchvision's formula in torch) and the hinge embedding loss (peer:
``torch.nn.functional``). Each spec writes the loss and its derivative once in NumPy (the
reference and the NumPy contender) and, where PyTorch is the peer, in torch ops for autograd.
Hand-written ``out=`` variants are left out: the contenders are losskit, NumPy, PyTorch eager
and scikit-learn.
"""

from __future__ import annotations

import numpy as np

from .impls import Unavailable
from .losses import CONTENDERS, LossSpec, LossWorkload

TWEEDIE_POWER = 1.5
FOCAL_ALPHA, FOCAL_GAMMA = 0.25, 2.0


def _rng(shape, dtype, seed, stream):
    return np.random.default_rng([seed, shape[0], np.dtype(dtype).itemsize, stream])


def _log_mean_data(positive: bool):
    """x ~ N(0, 0.5^2) a log-mean; y ~ Poisson(e^x) counts, or Gamma(2, e^x / 2) (positive)."""
    def make(shape, dtype, seed):
        rng = _rng(shape, dtype, seed, 10)
        x = 0.5 * rng.standard_normal(shape[0])
        mean = np.exp(x)
        y = rng.gamma(2.0, mean / 2.0) if positive else rng.poisson(mean).astype(np.float64)
        return x.astype(dtype), y.astype(dtype)
    return make


def _binary_data(shape, dtype, seed):
    rng = _rng(shape, dtype, seed, 11)
    return ((2.0 * rng.standard_normal(shape[0])).astype(dtype),
            rng.integers(0, 2, shape[0]).astype(dtype))


def _signed_data(shape, dtype, seed):
    rng = _rng(shape, dtype, seed, 12)
    return ((1.0 + rng.standard_normal(shape[0])).astype(dtype),
            rng.choice(np.array([-1.0, 1.0]), shape[0]).astype(dtype))


def _none(*args):
    raise Unavailable("no hand-written out= variant")


def _no_torch(torch, x, y):
    raise Unavailable("PyTorch has no such loss; the peer is scikit-learn")


def _tweedie_loss(xp, x, y, p=TWEEDIE_POWER):
    return xp.exp((2 - p) * x) / (2 - p) - y * xp.exp((1 - p) * x) / (1 - p)


def _tweedie_dloss(x, y, p=TWEEDIE_POWER):
    return np.exp((2 - p) * x) - y * np.exp((1 - p) * x)


def _focal_loss(xp, x, y, a=FOCAL_ALPHA, g=FOCAL_GAMMA):
    # torchvision.ops.sigmoid_focal_loss; the NumPy form in its stable pieces
    if xp is np:
        p = 1 / (1 + np.exp(-x))
        ce = np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))
    else:  # torch
        p = xp.sigmoid(x)
        ce = xp.nn.functional.binary_cross_entropy_with_logits(x, y, reduction="none")
    m = p * (1 - y) + (1 - p) * y
    return (a * y + (1 - a) * (1 - y)) * ce * m ** g


def _focal_dloss(x, y, a=FOCAL_ALPHA, g=FOCAL_GAMMA):
    p = 1 / (1 + np.exp(-x))
    ce = np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))
    m = p * (1 - y) + (1 - p) * y
    return (a * y + (1 - a) * (1 - y)) * ((p - y) * m ** g
                                          + g * ce * m ** (g - 1) * p * (1 - p) * (1 - 2 * y))


def _hinge_embedding_loss(xp, x, y, margin=1.0):
    if xp is np:
        return np.where(y == 1, x, np.maximum(0, margin - x))
    return xp.nn.functional.hinge_embedding_loss(x, y, margin=margin, reduction="none")


def _spec(name, cls, formula, make_data, loss, dloss, params=None, sklearn=None, torch=None,
          torch_functional=""):
    torch_loss = _no_torch if torch is None else (lambda t, x, y: torch(t, x, y).mean())
    return LossSpec(name=name, suite="catalogue", cls=cls, params=params or {}, formula=formula,
                    make_data=make_data, loss=loss, dloss=dloss, numpy_out=_none,
                    torch_loss=torch_loss, torch_out=_none, torch_functional=torch_functional,
                    sklearn=sklearn)


SPECS = [
    _spec("poisson", "PoissonLoss", "exp(f) - y f", _log_mean_data(False),
          lambda xp, x, y: xp.exp(x) - y * x, lambda x, y: np.exp(x) - y,
          sklearn=lambda sk, x: (sk.HalfPoissonLoss(), 1.0)),
    _spec("gamma", "GammaLoss", "f + y exp(-f)", _log_mean_data(True),
          lambda xp, x, y: x + y * xp.exp(-x), lambda x, y: 1 - y * np.exp(-x),
          sklearn=lambda sk, x: (sk.HalfGammaLoss(), 1.0)),
    _spec("tweedie", "TweedieLoss", f"half Tweedie deviance, power={TWEEDIE_POWER:g}",
          _log_mean_data(False), _tweedie_loss, _tweedie_dloss, {"power": TWEEDIE_POWER},
          sklearn=lambda sk, x: (sk.HalfTweedieLoss(power=TWEEDIE_POWER), 1.0)),
    _spec("exponential", "ExponentialLoss", "y exp(-f) + (1 - y) exp(f)", _binary_data,
          lambda xp, x, y: y * xp.exp(-x) + (1 - y) * xp.exp(x),
          lambda x, y: -y * np.exp(-x) + (1 - y) * np.exp(x),
          sklearn=lambda sk, x: (sk.ExponentialLoss(), 1.0)),
    _spec("sigmoid_focal", "SigmoidFocalLoss",
          f"sigmoid focal loss, alpha={FOCAL_ALPHA:g}, gamma={FOCAL_GAMMA:g}", _binary_data,
          _focal_loss, _focal_dloss, torch=_focal_loss),
    _spec("hinge_embedding", "HingeEmbeddingLoss", "x (y = 1), max(0, 1 - x) (y = -1)",
          _signed_data, _hinge_embedding_loss,
          lambda x, y: np.where(y == 1, np.ones_like(x),
                                np.where(1 - x >= 0, -np.ones_like(x), np.zeros_like(x))),
          torch=_hinge_embedding_loss, torch_functional="hinge_embedding_loss"),
]


def _workload(spec: LossSpec) -> LossWorkload:
    w = LossWorkload(spec, f"{spec.formula}: value and gradient, mean reduction")
    keep = ("losskit", "losskit[out]", "numpy") + (
        ("sklearn",) if spec.sklearn is not None else ("torch-autograd",))
    w.contenders = {k: v for k, v in CONTENDERS.items() if k in keep}
    return w


WORKLOADS = [_workload(spec) for spec in SPECS]
