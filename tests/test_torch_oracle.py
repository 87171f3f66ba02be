"""PyTorch as an oracle: value and autograd gradient for every loss torch.nn.functional has.

Includes points exactly on the kinks (r = 0, |r| = delta, |r| = beta), where losskit's
gradient must be PyTorch's.
"""

from __future__ import annotations

import numpy as np
import pytest

import losskit

torch = pytest.importorskip("torch")
F = torch.nn.functional

DTYPES = [np.float32, np.float64]
DTYPE_IDS = ["float32", "float64"]
REDUCTIONS = ["none", "sum", "mean"]
TORCH_DTYPE = {np.float32: torch.float32, np.float64: torch.float64}


def _mse(p):
    return lambda x, y, r: F.mse_loss(x, y, reduction=r)


def _l1(p):
    return lambda x, y, r: F.l1_loss(x, y, reduction=r)


def _huber(p):
    return lambda x, y, r: F.huber_loss(x, y, reduction=r, delta=p["delta"])


def _smooth_l1(p):
    return lambda x, y, r: F.smooth_l1_loss(x, y, reduction=r, beta=p["beta"])


def _poisson(p):
    return lambda x, y, r: F.poisson_nll_loss(x, y, log_input=p["log_input"], full=p["full"],
                                              eps=p["eps"], reduction=r)


# (name, params, torch function builder)
TWO_ARG = [
    ("mse", {}, _mse),
    ("l1", {}, _l1),
    ("huber", {"delta": 1.0}, _huber),
    ("huber", {"delta": 0.5}, _huber),
    ("huber", {"delta": 2.0}, _huber),
    ("smooth_l1", {"beta": 1.0}, _smooth_l1),
    ("smooth_l1", {"beta": 0.0}, _smooth_l1),
    ("smooth_l1", {"beta": 0.3}, _smooth_l1),
    ("smooth_l1", {"beta": 2.0}, _smooth_l1),
]
POISSON = [
    ("poisson_nll", {"log_input": li, "full": full, "eps": 1e-8}, _poisson)
    for li in (True, False) for full in (False, True)
]


def _ids(cases):
    return [f"{n}-" + ",".join(f"{k}={v}" for k, v in p.items()) for n, p, _ in cases]


def _tol(dtype):
    return 1e-12 if dtype == np.float64 else 1e-5


def _assert_close(got, expected, dtype, what):
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert got.shape == expected.shape, what
    rtol = _tol(dtype)
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol * scale, err_msg=what)


def _torch_value_grad(fn, x, y, reduction, weights=None, third=None):
    """Torch value and gradient(s) of the reduced value, optionally weighted by hand."""
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.tensor(y)
    extra = []
    if third is not None:
        tv = torch.tensor(third, requires_grad=True)
        extra = [tv]
    if weights is None:
        out = fn(tx, ty, *extra, reduction)
    else:
        tw = torch.tensor(weights)
        per = fn(tx, ty, *extra, "none") * tw
        out = {"none": per, "sum": per.sum(), "mean": per.sum() / tw.sum()}[reduction]
    out.sum().backward() if reduction == "none" else out.backward()
    grads = [tx.grad.numpy()] + ([tv.grad.numpy()] if third is not None else [])
    return out.detach().numpy(), grads


def _data(name, params, n, dtype, seed):
    rng = np.random.default_rng(seed)
    if name == "poisson_nll":
        y = np.where(rng.random(n) < 0.5, rng.poisson(3.0, n), rng.uniform(0, 8, n))
        x = rng.uniform(-3, 3, n) if params["log_input"] else np.exp(rng.uniform(-3, 2, n))
        return x.astype(dtype), y.astype(dtype)
    y = rng.normal(0, 2, n)
    x = y + rng.normal(0, 1, n) * rng.choice([0.05, 0.5, 1.0, 4.0], n)
    return x.astype(dtype), y.astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("name,params,builder", TWO_ARG + POISSON, ids=_ids(TWO_ARG + POISSON))
def test_matches_torch(name, params, builder, dtype, reduction, weighted):
    x, y = _data(name, params, 257, dtype, seed=1)
    w = np.random.default_rng(2).uniform(0, 2, 257).astype(dtype) if weighted else None
    kw = {} if w is None else {"sample_weight": w}
    loss = losskit.get_loss(name, reduction=reduction, **params)
    t_val, (t_grad,) = _torch_value_grad(builder(params), x, y, reduction, w)
    v, g = loss.value_and_grad(x, y, **kw)
    _assert_close(v, t_val, dtype, "value")
    _assert_close(g, t_grad, dtype, "grad")
    assert np.asarray(g).dtype == np.dtype(dtype)


def _kink_points(name, params, dtype):
    """Inputs / targets whose residual sits exactly on the loss's kinks (exact in dtype)."""
    ks = [0.0]
    for key in ("delta", "beta"):
        if key in params:
            ks += [params[key], -params[key]]
    y = np.array([0.0, 1.5, -2.0, 0.25], dtype=dtype)
    xs, ys = [], []
    for k in ks:
        kk = np.asarray(k, dtype=dtype)
        for t in y:
            x = t + kk
            if dtype == np.float32:
                x = np.float32(x)
            if x - t == kk:  # the residual is the kink exactly
                xs.append(x)
                ys.append(t)
    return np.array(xs, dtype=dtype), np.array(ys, dtype=dtype)


KINK_CASES = [
    ("mse", {}, _mse),
    ("l1", {}, _l1),
    ("huber", {"delta": 1.0}, _huber),
    ("huber", {"delta": 0.5}, _huber),
    ("huber", {"delta": 2.0}, _huber),
    ("smooth_l1", {"beta": 1.0}, _smooth_l1),
    ("smooth_l1", {"beta": 0.0}, _smooth_l1),
    ("smooth_l1", {"beta": 0.5}, _smooth_l1),
    ("smooth_l1", {"beta": 2.0}, _smooth_l1),
]


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name,params,builder", KINK_CASES, ids=_ids(KINK_CASES))
def test_gradient_at_kinks_matches_torch(name, params, builder, dtype, reduction):
    x, y = _kink_points(name, params, dtype)
    assert x.size >= 4
    loss = losskit.get_loss(name, reduction=reduction, **params)
    t_val, (t_grad,) = _torch_value_grad(builder(params), x, y, reduction)
    v, g = loss.value_and_grad(x, y)
    _assert_close(v, t_val, dtype, "value at kinks")
    # at the kinks the gradient must be torch's, to the last bit or nearly
    np.testing.assert_allclose(g, t_grad, rtol=4 * np.finfo(dtype).eps, atol=0,
                               err_msg=f"grad at kinks x={x} y={y}")
    assert not np.any(np.isnan(g))


def test_smooth_l1_beta_zero_at_zero_residual_matches_torch():
    x = np.array([0.0, 1.0, -1.0, 3.5])
    loss = losskit.SmoothL1Loss(beta=0.0, reduction="sum")
    _, (t_grad,) = _torch_value_grad(_smooth_l1({"beta": 0.0}), x, x.copy(), "sum")
    np.testing.assert_array_equal(loss.grad(x, x.copy()), t_grad)
    np.testing.assert_array_equal(t_grad, 0.0)


def _gauss_torch(p):
    return lambda x, y, v, r: F.gaussian_nll_loss(x, y, v, full=p["full"], eps=p["eps"],
                                                  reduction=r)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("var_shape", ["full", "column", "one_dim_fewer"])
def test_gaussian_nll_matches_torch(dtype, reduction, full, var_shape):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(20, 4)).astype(dtype)
    y = rng.normal(size=(20, 4)).astype(dtype)
    shape = {"full": (20, 4), "column": (20, 1), "one_dim_fewer": (20,)}[var_shape]
    var = rng.uniform(0.05, 3.0, size=shape).astype(dtype)
    var.flat[::7] = 1e-8  # below eps: clamped, gradient straight through
    p = {"full": full, "eps": 1e-6}
    t_val, (t_gx, t_gv) = _torch_value_grad(_gauss_torch(p), x, y, reduction, third=var)
    loss = losskit.GaussianNLLLoss(reduction=reduction, **p)
    v, gx, gv = loss.value_and_grads(x, y, var)
    _assert_close(v, t_val, dtype, "value")
    _assert_close(gx, t_gx, dtype, "d_input")
    assert gv.shape == var.shape
    _assert_close(gv, t_gv, dtype, "d_var")
    v2, gx2 = loss.value_and_grad(x, y, var)
    _assert_close(v2, t_val, dtype, "value (value_and_grad)")
    _assert_close(gx2, t_gx, dtype, "d_input (value_and_grad)")


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("full", [False, True])
def test_gaussian_nll_precision_matches_torch_through_inverse(dtype, reduction, full):
    """param="precision": torch with var = 1/beta and autograd through the reciprocal."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=64).astype(dtype)
    y = rng.normal(size=64).astype(dtype)
    beta = rng.uniform(0.1, 20.0, size=64).astype(dtype)  # inside (0, 1/eps): no clamp
    tx = torch.tensor(x, requires_grad=True)
    tb = torch.tensor(beta, requires_grad=True)
    out = F.gaussian_nll_loss(tx, torch.tensor(y), 1.0 / tb, full=full, eps=1e-6,
                              reduction=reduction)
    (out.sum() if reduction == "none" else out).backward()
    loss = losskit.GaussianNLLLoss(param="precision", full=full, reduction=reduction)
    v, gx, gb = loss.value_and_grads(x, y, beta)
    _assert_close(v, out.detach().numpy(), dtype, "value")
    _assert_close(gx, tx.grad.numpy(), dtype, "d_input")
    _assert_close(gb, tb.grad.numpy(), dtype, "d_beta")


@pytest.mark.parametrize("shape", [(7,), (5, 3)])
def test_gaussian_nll_scalar_var_matches_torch(shape):
    """PyTorch accepts a positive float as var (the same variance for every element)."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=shape)
    y = rng.normal(size=shape)
    tx = torch.tensor(x, requires_grad=True)
    out = F.gaussian_nll_loss(tx, torch.tensor(y), 0.5, reduction="sum")
    out.backward()
    loss = losskit.GaussianNLLLoss(reduction="sum")
    v, g = loss.value_and_grad(x, y, 0.5)
    _assert_close(v, out.detach().numpy(), np.float64, "value")
    _assert_close(g, tx.grad.numpy(), np.float64, "d_input")


@pytest.mark.parametrize("var_shape", [(6, 3, 4), (6, 3, 1), (6, 3), (6, 1, 4), (1, 3, 4)],
                         ids=["same", "last1", "one_dim_fewer", "middle1", "first1"])
def test_gaussian_nll_3d_var_shapes_match_torch(var_shape):
    """PyTorch's rule: var of the input's shape, one dimension fewer, or exactly one
    mismatched dimension of size 1 (anywhere); d_var keeps var's shape."""
    rng = np.random.default_rng(6)
    x = rng.normal(size=(6, 3, 4))
    y = rng.normal(size=(6, 3, 4))
    var = rng.uniform(0.1, 2.0, size=var_shape)
    t_val, (t_gx, t_gv) = _torch_value_grad(_gauss_torch({"full": False, "eps": 1e-6}), x, y,
                                            "mean", third=var)
    v, gx, gv = losskit.GaussianNLLLoss(reduction="mean").value_and_grads(x, y, var)
    _assert_close(v, t_val, np.float64, "value")
    _assert_close(gx, t_gx, np.float64, "d_input")
    assert gv.shape == var_shape
    _assert_close(gv, t_gv, np.float64, "d_var")


# ---- hinge_embedding, margin_ranking (PyTorch), sigmoid_focal (torchvision's formula) ------
def _labels(rng, n, dtype):
    return rng.choice([-1.0, 1.0], n).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("margin", [1.0, 0.5, -0.25])
def test_hinge_embedding_matches_torch(dtype, reduction, weighted, margin):
    rng = np.random.default_rng(11)
    n = 257
    y = _labels(rng, n, dtype)
    x = (margin + rng.normal(0, 1, n) * rng.choice([0.3, 1.0, 3.0], n)).astype(dtype)
    x[::9] = margin  # on the kink: clamp_min passes the gradient there
    w = rng.uniform(0, 2, n).astype(dtype) if weighted else None
    fn = lambda tx, ty, r: F.hinge_embedding_loss(tx, ty, margin=margin, reduction=r)  # noqa: E731
    t_val, (t_grad,) = _torch_value_grad(fn, x, y, reduction, w)
    loss = losskit.HingeEmbeddingLoss(margin=margin, reduction=reduction)
    v, g = loss.value_and_grad(x, y, sample_weight=w)
    _assert_close(v, t_val, dtype, "value")
    _assert_close(g, t_grad, dtype, "grad")


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("margin", [0.0, 0.5])
def test_margin_ranking_matches_torch(dtype, reduction, weighted, margin):
    rng = np.random.default_rng(12)
    n = 257
    y = _labels(rng, n, dtype)
    x2 = rng.normal(0, 2, n).astype(dtype)
    x1 = (x2 + y * rng.normal(0, 1, n)).astype(dtype)
    x1[::9] = x2[::9]  # y (x1 - x2) = 0: on the kink for margin 0
    w = rng.uniform(0, 2, n).astype(dtype) if weighted else None
    t1 = torch.tensor(x1, requires_grad=True)
    t2 = torch.tensor(x2, requires_grad=True)
    per = F.margin_ranking_loss(t1, t2, torch.tensor(y), margin=margin, reduction="none")
    if w is not None:
        per = per * torch.tensor(w)
    total = {"none": per, "sum": per.sum(),
             "mean": per.sum() / (float(np.sum(w, dtype=np.float64)) if w is not None else n)}
    out = total[reduction]
    (out.sum() if reduction == "none" else out).backward()
    loss = losskit.MarginRankingLoss(margin=margin, reduction=reduction)
    v, g1, g2 = loss.value_and_grads(x1, x2, y, sample_weight=w)
    _assert_close(v, out.detach().numpy(), dtype, "value")
    _assert_close(g1, t1.grad.numpy(), dtype, "d_input1")
    _assert_close(g2, t2.grad.numpy(), dtype, "d_input2")
    np.testing.assert_array_equal(loss.grad(x1, x2, y, sample_weight=w), g1)


def _torchvision_focal(alpha, gamma):
    """torchvision.ops.sigmoid_focal_loss, written out (torchvision is not needed)."""
    def focal(x, y, reduction):
        p = torch.sigmoid(x)
        ce = F.binary_cross_entropy_with_logits(x, y, reduction="none")
        p_t = p * y + (1 - p) * (1 - y)
        loss = ce * ((1 - p_t) ** gamma)
        if alpha >= 0:
            loss = (alpha * y + (1 - alpha) * (1 - y)) * loss
        return {"none": loss, "sum": loss.sum(), "mean": loss.mean()}[reduction]
    return focal


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("alpha,gamma", [(0.25, 2.0), (-1.0, 2.0), (0.5, 0.0), (0.75, 1.5),
                                         (0.25, 0.5)])
def test_sigmoid_focal_matches_torchvision_formula(dtype, reduction, alpha, gamma):
    rng = np.random.default_rng(13)
    n = 257
    # |x| <= 12: torchvision's 1 - p_t cancels beyond (losskit's form does not)
    x = np.clip(rng.normal(0, 4, n), -12, 12).astype(dtype)
    y = np.where(rng.random(n) < 0.7, rng.integers(0, 2, n), rng.uniform(0, 1, n)).astype(dtype)
    t_val, (t_grad,) = _torch_value_grad(_torchvision_focal(alpha, gamma), x, y, reduction)
    loss = losskit.SigmoidFocalLoss(alpha=alpha, gamma=gamma, reduction=reduction)
    v, g = loss.value_and_grad(x, y)
    _assert_close(v, t_val, dtype, "value")
    # float32: torch's own 1 - p_t loses ~|x| ulps; compare with float64 torch instead
    if dtype == np.float32:
        t_val, (t_grad,) = _torch_value_grad(_torchvision_focal(alpha, gamma), x.astype(np.float64),
                                             y.astype(np.float64), reduction)
    _assert_close(g, t_grad, dtype, "grad")
    # the curvature against torch's double backward
    tx = torch.tensor(x.astype(np.float64), requires_grad=True)
    (gx,) = torch.autograd.grad(_torchvision_focal(alpha, gamma)(tx, torch.tensor(y.astype(np.float64)), "sum"),
                                tx, create_graph=True)
    (hx,) = torch.autograd.grad(gx.sum(), tx)
    _, h = losskit.SigmoidFocalLoss(alpha=alpha, gamma=gamma, reduction="sum").grad_hess(
        x, y, hessian="exact")
    _assert_close(h, hx.numpy(), dtype, "exact curvature")


# ---- row-wise losses over (N, C) and (N, C, d1, ...), pairs and triplets of rows -----------
def _rows_torch(fn, arrays, differentiable, reduction, sample_weight=None, denominator=None):
    """Torch's value and the gradients of the arrays at positions ``differentiable``;
    sample weights (one per sample) by hand: none -> s l, sum -> sum s l, mean -> sum s l /
    denominator (sum s unless given)."""
    ts = [torch.tensor(a, requires_grad=i in differentiable) if isinstance(a, np.ndarray)
          else a for i, a in enumerate(arrays)]
    if sample_weight is None:
        out = fn(*ts, reduction)
    else:
        per = fn(*ts, "none")
        s = torch.tensor(sample_weight).reshape((-1,) + (1,) * (per.ndim - 1))
        per = per * s
        den = float(np.sum(sample_weight)) if denominator is None else denominator
        out = {"none": per, "sum": per.sum(), "mean": per.sum() / den}[reduction]
    (out.sum() if reduction == "none" else out).backward()
    return out.detach().numpy(), [ts[i].grad.numpy() for i in differentiable]


def _check_rows(got, expected, dtype):
    value, *grads = got
    ev, egrads = expected
    _assert_close(value, ev, dtype, "value")
    assert len(grads) == len(egrads)
    for i, (g, eg) in enumerate(zip(grads, egrads)):
        _assert_close(g, eg, dtype, f"gradient {i}")


ROW_SHAPES = [(1, 1), (7, 5), (33, 17), (300, 40)]


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "sample-weighted"])
@pytest.mark.parametrize("class_weighted", [False, True], ids=["", "class-weight"])
@pytest.mark.parametrize("shape", ROW_SHAPES, ids=str)
def test_multilabel_soft_margin_matches_torch(shape, class_weighted, weighted, reduction, dtype):
    rng = np.random.default_rng(50)
    n, c = shape
    x = (rng.normal(0, 3, shape)).astype(dtype)
    t = (rng.random(shape) < 0.4).astype(dtype)
    w = rng.uniform(0, 2, c).astype(dtype) if class_weighted else None
    s = rng.uniform(0, 2, n).astype(dtype) if weighted else None
    loss = losskit.MultiLabelSoftMarginLoss(weight=w, reduction=reduction)
    tw = None if w is None else torch.tensor(w)
    fn = lambda a, b, r: F.multilabel_soft_margin_loss(a, b, weight=tw, reduction=r)  # noqa: E731
    _check_rows(loss.value_and_grad(x, t, sample_weight=s),
                _rows_torch(fn, [x, t], [0], reduction, s), dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "sample-weighted"])
@pytest.mark.parametrize("shape", ROW_SHAPES, ids=str)
def test_multilabel_margin_matches_torch(shape, weighted, reduction, dtype):
    rng = np.random.default_rng(51)
    n, c = shape
    x = rng.normal(0, 1, shape).astype(dtype)
    t = np.full(shape, -1, dtype=np.int64)
    for i in range(n):  # 0..C labels (a repeated one too), -1, then entries never read
        k = int(rng.integers(0, c + 1))
        t[i, :k] = rng.integers(0, c, k) if i % 3 == 0 else rng.permutation(c)[:k]
        t[i, k + 1:] = rng.integers(0, c, max(c - k - 1, 0))
    s = rng.uniform(0, 2, n).astype(dtype) if weighted else None
    loss = losskit.MultiLabelMarginLoss(reduction=reduction)
    fn = lambda a, b, r: F.multilabel_margin_loss(a, b, reduction=r)  # noqa: E731
    _check_rows(loss.value_and_grad(x, t, sample_weight=s),
                _rows_torch(fn, [x, torch.tensor(t)], [0], reduction, s), dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "sample-weighted"])
@pytest.mark.parametrize("margin", [0.0, 0.4, -0.3])
@pytest.mark.parametrize("shape", ROW_SHAPES[1:], ids=str)
def test_cosine_embedding_matches_torch(shape, margin, weighted, reduction, dtype):
    rng = np.random.default_rng(52)
    n, d = shape
    x1 = rng.normal(size=shape).astype(dtype)
    x2 = (0.5 * x1 + rng.normal(size=shape)).astype(dtype)
    y = rng.choice([1.0, -1.0], n).astype(dtype)
    s = rng.uniform(0, 2, n).astype(dtype) if weighted else None
    loss = losskit.CosineEmbeddingLoss(margin=margin, reduction=reduction)
    fn = lambda a, b, t, r: F.cosine_embedding_loss(a, b, t, margin=margin, reduction=r)  # noqa: E731
    _check_rows(loss.value_and_grads(x1, x2, y, sample_weight=s),
                _rows_torch(fn, [x1, x2, y], [0, 1], reduction, s), dtype)


TRIPLET = [{"margin": 1.0, "p": 2.0, "eps": 1e-6, "swap": False},
           {"margin": 0.3, "p": 1.0, "eps": 1e-6, "swap": False},
           {"margin": 2.0, "p": 3.0, "eps": 1e-4, "swap": True},
           {"margin": 1.0, "p": 1.5, "eps": 0.0, "swap": True},
           {"margin": 1.0, "p": 2.0, "eps": 1e-6, "swap": True}]


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "sample-weighted"])
@pytest.mark.parametrize("params", TRIPLET, ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()))
@pytest.mark.parametrize("shape", ROW_SHAPES[1:], ids=str)
def test_triplet_margin_matches_torch(shape, params, weighted, reduction, dtype):
    rng = np.random.default_rng(53)
    n, d = shape
    a = rng.normal(size=shape).astype(dtype)
    pos = (a + 0.5 * rng.normal(size=shape)).astype(dtype)
    neg = (a + rng.normal(size=shape)).astype(dtype)
    s = rng.uniform(0, 2, n).astype(dtype) if weighted else None
    loss = losskit.TripletMarginLoss(**params, reduction=reduction)
    fn = lambda x, q, z, r: F.triplet_margin_loss(x, q, z, **params, reduction=r)  # noqa: E731
    _check_rows(loss.value_and_grads(a, pos, neg, sample_weight=s),
                _rows_torch(fn, [a, pos, neg], [0, 1, 2], reduction, s), dtype)


def _poly1_torch(epsilon):
    def fn(x, y, r):
        per = F.cross_entropy(x, y, reduction="none") + epsilon * (
            1 - torch.gather(F.softmax(x, dim=1), 1, y.unsqueeze(1)).squeeze(1))
        return {"none": per, "sum": per.sum(), "mean": per.mean()}[r]
    return fn


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "sample-weighted"])
@pytest.mark.parametrize("epsilon", [1.0, 0.0, -1.0, 2.5])
@pytest.mark.parametrize("shape", [(7, 5), (33, 17), (300, 40), (64, 3, 4, 5)], ids=str)
def test_poly1_matches_torch_formula(shape, epsilon, weighted, reduction, dtype):
    """CE + epsilon (1 - softmax[label]), also over (N, C, d1, d2) scores."""
    rng = np.random.default_rng(54)
    n, c = shape[:2]
    x = rng.normal(0, 3, shape).astype(dtype)
    y = rng.integers(0, c, (n, *shape[2:]))
    s = rng.uniform(0, 2, n).astype(dtype) if weighted else None
    positions = int(np.prod(shape[2:]))
    den = None if s is None else float(np.sum(s)) * positions
    loss = losskit.PolyLoss(epsilon=epsilon, reduction=reduction)
    _check_rows(loss.value_and_grad(x, y, sample_weight=s),
                _rows_torch(_poly1_torch(epsilon), [x, torch.tensor(y)], [0], reduction, s, den),
                dtype)


KDIM_SHAPES = [(4, 3, 7), (2, 5, 3, 4), (3, 21, 16, 16), (2, 4, 2, 3, 5), (5, 2, 1), (2, 600, 20)]


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("params", [
    {}, {"weight": True}, {"ignore_index": 1}, {"weight": True, "ignore_index": 0},
    {"label_smoothing": 0.2}, {"weight": True, "label_smoothing": 0.1, "ignore_index": 2},
    {"probabilities": True}, {"probabilities": True, "weight": True, "label_smoothing": 0.3}],
    ids=lambda p: ",".join(p) or "plain")
@pytest.mark.parametrize("shape", KDIM_SHAPES, ids=str)
def test_kdim_cross_entropy_matches_torch(shape, params, reduction, dtype):
    """(N, C, d1, ...) logits with (N, d1, ...) labels or (N, C, d1, ...) probabilities:
    PyTorch's K-dimensional cross_entropy (mean over the positions not ignored, weighted)."""
    rng = np.random.default_rng(55)
    n, c = shape[:2]
    x = rng.normal(0, 3, shape).astype(dtype)
    w = rng.uniform(0.2, 2, c).astype(dtype) if params.get("weight") else None
    ii = params.get("ignore_index", -100)
    if params.get("probabilities"):
        t = rng.dirichlet(np.ones(c), (n, *shape[2:])).astype(dtype)
        t = np.ascontiguousarray(np.moveaxis(t, -1, 1))
        tt = torch.tensor(t)
    else:
        t = rng.integers(0, c, (n, *shape[2:]))
        t[rng.random(t.shape) < 0.2] = ii
        tt = torch.tensor(t)
    kwargs = {"weight": None if w is None else torch.tensor(w), "ignore_index": ii,
              "label_smoothing": params.get("label_smoothing", 0.0)}
    loss = losskit.CrossEntropyLoss(weight=w, ignore_index=ii,
                                    label_smoothing=kwargs["label_smoothing"], reduction=reduction)
    fn = lambda a, b, r: F.cross_entropy(a, b, reduction=r, **kwargs)  # noqa: E731
    _check_rows(loss.value_and_grad(x, t), _rows_torch(fn, [x, tt], [0], reduction), dtype)
    # sample weights: one per sample, over all its positions; mean divides by sum s w_y
    s = rng.uniform(0, 2, n).astype(dtype)
    if params.get("probabilities"):
        den = float(np.sum(s)) * int(np.prod(shape[2:]))
    else:
        keep = t != ii
        wy = (np.ones(c) if w is None else w.astype(np.float64))[np.where(keep, t, 0)] * keep
        den = float(np.sum(s.reshape((-1,) + (1,) * (t.ndim - 1)) * wy))
    _check_rows(loss.value_and_grad(x, t, sample_weight=s),
                _rows_torch(fn, [x, tt], [0], reduction, s, den), dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("params", [{}, {"weight": True}, {"weight": True, "ignore_index": 1}],
                         ids=lambda p: ",".join(p) or "plain")
@pytest.mark.parametrize("shape", KDIM_SHAPES, ids=str)
def test_kdim_nll_matches_torch(shape, params, reduction, dtype):
    rng = np.random.default_rng(56)
    n, c = shape[:2]
    x = np.log(rng.dirichlet(np.ones(c), (n, *shape[2:])))
    x = np.ascontiguousarray(np.moveaxis(x, -1, 1)).astype(dtype)
    w = rng.uniform(0.2, 2, c).astype(dtype) if params.get("weight") else None
    ii = params.get("ignore_index", -100)
    t = rng.integers(0, c, (n, *shape[2:]))
    t[rng.random(t.shape) < 0.2] = ii
    loss = losskit.NLLLoss(weight=w, ignore_index=ii, reduction=reduction)
    tw = None if w is None else torch.tensor(w)
    fn = lambda a, b, r: F.nll_loss(a, b, weight=tw, ignore_index=ii, reduction=r)  # noqa: E731
    _check_rows(loss.value_and_grad(x, t), _rows_torch(fn, [x, torch.tensor(t)], [0], reduction),
                dtype)


def test_kdim_grad_hess_is_that_of_the_rows():
    """(N, C, d1, d2): every result equals the (N d1 d2, C) computation with the class axis
    moved last (an independent layout), for each loss that takes K-dimensional scores."""
    rng = np.random.default_rng(57)
    x = rng.normal(0, 2, (3, 6, 5, 7))
    y = rng.integers(0, 6, (3, 5, 7))
    s = rng.uniform(0, 2, 3)
    rows = np.moveaxis(x, 1, -1).reshape(-1, 6)
    s_rows = np.repeat(s, 35)
    for loss in (losskit.CrossEntropyLoss(label_smoothing=0.1), losskit.NLLLoss(),
                 losskit.PolyLoss(epsilon=2.0)):
        for policy in loss.hessians:
            g, h = loss.grad_hess(x, y, sample_weight=s, hessian=policy)
            gr, hr = loss.grad_hess(rows, y.reshape(-1), sample_weight=s_rows, hessian=policy)
            np.testing.assert_allclose(np.moveaxis(g, 1, -1).reshape(-1, 6), gr, rtol=1e-13, atol=1e-16)
            np.testing.assert_allclose(np.moveaxis(h, 1, -1).reshape(-1, 6), hr, rtol=1e-13, atol=1e-16)
        v = type(loss)(**{k: v for k, v in loss.params.items() if k != "reduction"},
                       reduction="none")(x, y, sample_weight=s)
        assert v.shape == (3, 5, 7)
