"""Softmax cross-entropy and BCE-with-logits: formulas of each contender.

- ``ce``: ``losskit.CrossEntropyLoss()`` on float logits of shape (N, C) with int64 labels
  in [0, C), at (64, 10) (per-call cost), (4096, 1000) (many classes) and (65536, 10)
  (many short rows). Bytes counted: 2 * N * C * itemsize (read the logits, write the
  gradient; the 8 N label bytes are not counted); bandwidth kernel: read 1, write 1.
- ``bce_with_logits``: ``losskit.BCEWithLogitsLoss()`` on N logits and N targets in {0, 1}
  of the same dtype, on the size axis like the regression losses.

See :mod:`.losses` for what each formula of a :class:`~.losses.LossSpec` is for.
"""

from __future__ import annotations

import numpy as np

from .losses import LossSpec, LossWorkload, tensors_like
from .workload import alloc, touched_like

CE_SHAPES = [(64, 10), (4096, 1000), (65536, 10)]
QUICK_CE_SHAPES = [(64, 10), (256, 1000), (4096, 10)]
CE_LOGIT_SCALE = 2.0  # logits ~ N(0, 2^2)
BCE_LOGIT_SCALE = 2.0


def make_ce_data(shape: tuple, dtype, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Logits ~ N(0, 2^2), labels uniform in [0, C) (int64)."""
    dtype = np.dtype(dtype)
    n, c = shape
    rng = np.random.default_rng([seed, n * c, dtype.itemsize, 2])
    x = (CE_LOGIT_SCALE * rng.standard_normal((n, c))).astype(dtype)
    return x, rng.integers(0, c, n, dtype=np.int64)


def make_bce_data(shape: tuple, dtype, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Logits ~ N(0, 2^2), targets ~ Bernoulli(sigmoid(logit)) (so the logits are
    informative, as in training), in the logits' dtype."""
    dtype = np.dtype(dtype)
    n = shape[0]
    rng = np.random.default_rng([seed, n, dtype.itemsize, 3])
    x = (BCE_LOGIT_SCALE * rng.standard_normal(n)).astype(dtype)
    p = 1.0 / (1.0 + np.exp(-x.astype(np.float64)))
    return x, (rng.random(n) < p).astype(dtype)


# ------------------------------------------------------------- softmax cross-entropy
# l_i = logsumexp(x_i) - x_i[y_i];  d l_i / d x_ij = softmax(x_i)_j - [j == y_i]

def _ce_loss(xp, x, y):
    m = x.max(axis=1, keepdims=True)
    lse = m[:, 0] + xp.log(xp.sum(xp.exp(x - m), axis=1))
    return lse - xp.take_along_axis(x, y[:, None], axis=1)[:, 0]


def _ce_jax_loss(jax, x, y):
    return jax.nn.logsumexp(x, axis=1) - jax.numpy.take_along_axis(x, y[:, None], axis=1)[:, 0]


def _ce_dloss(x, y):
    z = x - x.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(x.shape[0]), y] -= 1.0
    return p



def _ce_np_out(x, y):
    n, c = x.shape
    dt = x.dtype
    g = alloc((n, c), dt)
    gf = g.reshape(-1)
    xf = x.reshape(-1)
    m = alloc((n, 1), dt)
    s = alloc((n, 1), dt)
    r = alloc((n, 1), dt)
    picked = alloc(n, dt)
    gy = alloc(n, dt)
    flat = np.arange(n, dtype=np.int64) * c + y  # index of each target in the flat arrays

    def f():
        np.max(x, axis=1, keepdims=True, out=m)
        np.subtract(x, m, out=g)
        np.exp(g, out=g)
        np.sum(g, axis=1, keepdims=True, out=s)
        np.divide(1.0 / n, s, out=r)
        np.multiply(g, r, out=g)  # softmax / N
        np.take(gf, flat, out=gy)
        np.subtract(gy, 1.0 / n, out=gy)
        np.put(gf, flat, gy)
        np.take(xf, flat, out=picked)
        np.log(s, out=s)
        np.add(s, m, out=s)  # logsumexp per row
        v = (float(np.sum(s)) - float(np.sum(picked))) / n
        return v, g

    return f


def _ce_torch_out(torch, x, y):
    n, c = x.shape
    dt = x.dtype

    def z(*shape):
        return torch.zeros(shape, dtype=dt)

    g, m, s, r, pk = z(n, c), z(n, 1), z(n, 1), z(n, 1), z(n, 1)
    y2 = y.view(n, 1)
    neg = torch.full((n, 1), -1.0 / n, dtype=dt)

    def f():
        torch.amax(x, 1, keepdim=True, out=m)
        torch.sub(x, m, out=g)
        g.exp_()
        torch.sum(g, 1, keepdim=True, out=s)
        torch.reciprocal(s, out=r)
        r.mul_(1.0 / n)
        g.mul_(r)
        g.scatter_add_(1, y2, neg)
        torch.gather(x, 1, y2, out=pk)
        s.log_().add_(m).sub_(pk)
        return s.sum().item() / n, g

    return f


# ------------------------------------------------------------------ BCE with logits
# l = max(x, 0) - x y + log1p(exp(-|x|));  dl/dx = sigmoid(x) - y

def _bce_loss(xp, x, y):
    return xp.maximum(x, 0.0) - x * y + xp.log1p(xp.exp(-xp.abs(x)))


def _bce_dloss(x, y):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)) - y



def _bce_np_out(x, y):
    n = x.size
    t, g = touched_like(x, 2)

    def f():
        np.abs(x, out=t)
        np.negative(t, out=t)
        np.exp(t, out=t)  # e = exp(-|x|)
        np.add(t, 1.0, out=g)
        np.reciprocal(g, out=g)  # sigmoid(|x|)
        np.log1p(t, out=t)
        s = float(np.sum(t))
        np.maximum(x, 0, out=t)
        v = (s + float(np.sum(t)) - float(np.dot(x, y))) / n
        np.sign(x, out=t)
        np.subtract(g, 0.5, out=g)
        np.multiply(g, t, out=g)
        np.add(g, 0.5, out=g)  # sigmoid(x) = 0.5 + sign(x) (sigmoid(|x|) - 0.5)
        np.subtract(g, y, out=g)
        np.multiply(g, 1.0 / n, out=g)
        return v, g

    return f


def _bce_torch_out(torch, x, y):
    n = x.numel()
    t, g = tensors_like(torch, x, 2)

    def f():
        torch.abs(x, out=t)
        t.neg_().exp_().log1p_()
        s = t.sum().item()
        torch.clamp(x, min=0, out=t)
        v = (s + t.sum().item() - torch.dot(x, y).item()) / n
        torch.sigmoid(x, out=g)
        g.sub_(y).mul_(1.0 / n)
        return v, g

    return f


CE = LossSpec(
    name="ce", suite="classification", cls="CrossEntropyLoss", params={},
    formula="softmax cross-entropy, (N, C) logits, int64 labels", make_data=make_ce_data,
    loss=_ce_loss, dloss=_ce_dloss, numpy_out=_ce_np_out, jax_loss=_ce_jax_loss,
    torch_loss=lambda torch, x, y: torch.nn.functional.cross_entropy(x, y), torch_out=_ce_torch_out,
    torch_functional="cross_entropy",
    sklearn=lambda sk, x: (sk.HalfMultinomialLoss(n_classes=x.shape[1]), 1.0),  # not halved
    stream_shape="r1w1", elementwise=False,
)
BCE = LossSpec(
    name="bce_with_logits", suite="classification", cls="BCEWithLogitsLoss", params={},
    formula="max(x,0) - x y + log1p(exp(-|x|)), targets in {0, 1}", make_data=make_bce_data,
    loss=_bce_loss, dloss=_bce_dloss, numpy_out=_bce_np_out,
    torch_loss=lambda torch, x, y: torch.nn.functional.binary_cross_entropy_with_logits(x, y),
    torch_out=_bce_torch_out, torch_functional="binary_cross_entropy_with_logits",
    sklearn=lambda sk, x: (sk.HalfBinomialLoss(), 1.0),  # log1p(exp(x)) - y x: not halved
)

WORKLOADS = [
    LossWorkload(CE, "softmax cross-entropy over (N, C) logits: value and gradient, mean reduction",
                 shapes={"full": CE_SHAPES, "quick": QUICK_CE_SHAPES, "overhead": (16, 10),
                         "isa": (1000, 100), "isa_quick": (100, 100)}),
    LossWorkload(BCE, f"{BCE.formula}: value and gradient, mean reduction"),
]
