"""Second derivatives (``grad_hess``) of every loss made from a definition, parametrised from
the definitions: the exact curvature against 4th-order differences of the analytic gradient,
the "irls" curvature against l'(r)/r (losses symmetric in the residual) and its majorizer
property, "positive" against max(exact, 2^-23), the reduction and weight scaling, out=, threads,
instruction sets, float32, PyTorch's double backward where torch has the loss, and bad input.
"""

from __future__ import annotations

import numpy as np
import pytest

import losskit
from losskit import _base, _catalog

DEFINED = sorted(name for name, d in _base.DEFINITIONS.items() if d["class_name"])
ROWWISE = {n for n in DEFINED if _base.DEFINITIONS[n]["family"] == "rowwise"}
TINY = 2.0**-23
BARRON_ALPHAS = [-np.inf, -2.0, -1e-7, 0.0, 1e-7, 0.5, 1.0, 1.9999999, 2.0, 2.0000001, 3.0, 5.0]


def variants(name):
    """The default parameters, then each boolean flipped and each other choice."""
    out = [{}]
    for p in _base.DEFINITIONS[name]["params"]:
        if p["kind"] == "boolean":
            out.append({p["name"]: not bool(p["default"])})
        elif p["kind"] == "choice":
            out += [{p["name"]: c} for c in p["choices"][1:]]
    if name == "barron":
        out = [{"alpha": a} for a in BARRON_ALPHAS] + [{"alpha": 0.5, "scale": 0.3}]
    if name == "bce_with_logits":
        out.append({"pos_weight": 3.0})
        out.append({"pos_weight": np.array([0.5, 2.0, 4.0])})
    if name == "multi_margin":
        out.append({"p": 2})
    if name == "multiclass_hinge":
        out.append({"squared": True})
    if name == "cross_entropy":
        out += [{"label_smoothing": 0.2}, {"weight": np.array([1.0, 2.0, 0.5, 3.0, 1.5])}]
    if name == "epsilon_insensitive":
        out.append({"epsilon": 0.0})
    if name == "smooth_l1":
        out.append({"beta": 0.0})
    return out


CASES = [(n, p) for n in DEFINED for p in variants(n)]


def case_id(case):
    name, params = case
    text = ",".join(f"{k}={v.tolist() if isinstance(v, np.ndarray) else v}"
                    for k, v in params.items())
    return f"{name}-{text or 'default'}"


def make(name, params, reduction="sum"):
    return losskit.get_loss(name, reduction=reduction, **params)


def arguments(name, params, n=60, seed=0, dtype=np.float64):
    """Valid (input, *rest) of a loss, input of shape (n, 3) for elementwise losses (so a
    pos_weight array broadcasts), (n, 5) scores for row-wise ones."""
    loss = make(name, params)
    rng = np.random.default_rng(seed)
    if name in ROWWISE:
        data = _catalog.sample(name, loss, rng, n=n, c=5)
        args = [data["x"], *data["args"]]
    else:
        data = _catalog.sample(name, loss, rng, n=3 * n)
        args = [a.reshape(n, 3) for a in (data["x"], *data["args"])]
    return [a.astype(dtype) if a.dtype.kind == "f" else a for a in args]


def split(args):
    x, *rest = args
    return x, rest


def numeric_hessian(loss, args, step):
    """d g_j / d x_j by 4th-order central differences of the analytic gradient (all elements
    of a column at once: elementwise losses and rows do not couple them)."""
    x, rest = split(args)
    if x.ndim == 2 and loss.name in ROWWISE:
        out = np.empty_like(x)
        for c in range(x.shape[1]):
            e = np.zeros_like(x)
            e[:, c] = step[:, c]
            g = [loss.grad(x + k * e, *rest)[:, c] for k in (2, 1, -1, -2)]
            out[:, c] = (-g[0] + 8 * g[1] - 8 * g[2] + g[3]) / (12 * step[:, c])
        return out
    g = [loss.grad(x + k * step, *rest) for k in (2, 1, -1, -2)]
    return (-g[0] + 8 * g[1] - 8 * g[2] + g[3]) / (12 * step)


def steps(name, x):
    h = np.full_like(x, 1e-4)
    if _base.DEFINITIONS[name]["input_domain"][0] == 0.0:  # probabilities: stay inside [0, 1]
        h = np.minimum(h, 0.05 * np.minimum(x, 1 - x))
    return h


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_exact_hessian_matches_differences_of_the_gradient(case):
    """Where the gradient is smooth (the differences at two step sizes agree: kinks excluded,
    and they are few), the exact curvature is the derivative of the gradient."""
    name, params = case
    loss = make(name, params)
    args = arguments(name, params)
    x, rest = split(args)
    g, h = loss.grad_hess(*args)
    np.testing.assert_array_equal(g, loss.grad(*args))
    step = steps(name, x)
    with np.errstate(all="ignore"):
        coarse = numeric_hessian(loss, args, step)
        fine = numeric_hessian(loss, args, step / 4)
    scale = np.maximum(1.0, np.abs(fine))
    smooth = np.abs(coarse - fine) <= 1e-5 * scale
    assert smooth.mean() > 0.7, "too few smooth points to test"
    np.testing.assert_allclose(h[smooth], fine[smooth], rtol=1e-6, atol=1e-6 * scale.max())


def symmetric_in_the_residual(name, loss, args):
    """Whether l(x, y) = l(2y - x, y) on these arguments (x - y -> y - x)."""
    if name in ROWWISE or _base.DEFINITIONS[name]["margin_targets"]:
        return False
    x, rest = split(args)
    mirrored = 2 * rest[0] - x
    with np.errstate(all="ignore"):
        a, b = loss(x, *rest), loss(mirrored, *rest)
    return bool(np.allclose(a, b, rtol=1e-12, atol=1e-12))


def psi_over_r_decreases(loss, args):
    """Whether l'(r)/r is nonincreasing in |r| (the condition under which it is the curvature
    of a majorizer; epsilon_insensitive's jumps up at the tube's edge)."""
    x, rest = split(args)
    r = np.geomspace(1e-3, 50, 400)
    shape_rest = [np.zeros_like(r) if a.dtype.kind == "f" else a for a in rest]
    g = loss.grad(r, *shape_rest)
    ratio = g / r
    return bool(np.all(np.diff(ratio) <= 1e-12 * np.abs(ratio[1:])))


def majorizes(name, params):
    """Barron's loss grows faster than any quadratic for alpha > 2: no majorizer there."""
    return not (name == "barron" and params.get("alpha", 1.0) > 2)


IRLS_CASES = [c for c in CASES if "irls" in _base.DEFINITIONS[c[0]]["hessians"]]


@pytest.mark.parametrize("case", IRLS_CASES, ids=case_id)
def test_irls_curvature_is_the_quadratic_majorizer(case):
    """The quadratic l(x) + g (t - x) + w (t - x)^2 / 2 lies above the loss at every t (for
    every point x), w >= 0, and w = l'(r) / r for losses symmetric in the residual."""
    name, params = case
    loss = make(name, params, "none")
    args = arguments(name, params, n=40)
    x, rest = split(args)
    g, w = loss.grad_hess(*args, hessian="irls")
    assert (w >= 0).all()
    if symmetric_in_the_residual(name, loss, args) and psi_over_r_decreases(loss, args):
        r = x - rest[0]
        far = np.abs(r) > 1e-6
        np.testing.assert_allclose(w[far], g[far] / r[far], rtol=1e-10)
    if not majorizes(name, params):
        return
    value = loss(*args)
    for t in np.linspace(-8, 8, 81):
        shift = t - x
        with np.errstate(all="ignore"):
            quadratic = value + g * shift + 0.5 * w * shift**2
            actual = loss(np.full_like(x, t), *rest)
        ok = np.isfinite(actual)
        assert (quadratic[ok] >= actual[ok] - 1e-9 * np.maximum(1, np.abs(actual[ok]))).all(), t


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_positive_is_the_floored_exact_curvature(case):
    name, params = case
    loss = make(name, params)
    args = arguments(name, params)
    if "positive" not in loss.hessians:
        pytest.skip("not offered")
    _, exact = loss.grad_hess(*args)
    g, positive = loss.grad_hess(*args, hessian="positive")
    np.testing.assert_array_equal(g, loss.grad(*args))
    if name in ROWWISE:  # floored per unit of row weight: check the bound only
        assert (positive >= np.minimum(exact, 0) + 0).all() and (positive > 0).all()
        np.testing.assert_array_equal(positive[exact > TINY * 10], exact[exact > TINY * 10])
        return
    np.testing.assert_array_equal(positive, np.maximum(exact, TINY))


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", DEFINED)
def test_curvature_is_scaled_as_the_gradient(name, dtype, reduction):
    """With weights w and any reduction, each curvature is h * w / (normaliser), exactly as
    the gradient is g * w / (normaliser) (checked through their common factor)."""
    if reduction not in _base.DEFINITIONS[name]["reductions"]:
        pytest.skip("reduction not offered")
    params = {}
    args = arguments(name, params, dtype=dtype)
    x, _ = split(args)
    w = np.random.default_rng(3).uniform(0.2, 3.0, x.shape[0]).astype(dtype)
    if name not in ROWWISE:
        w = np.broadcast_to(w[:, None], x.shape).copy()
    base = make(name, params, "none" if name not in ROWWISE else "sum")
    if name in ROWWISE:  # per row: g and h of the unweighted sum, each row times its weight
        g1, h1 = base.grad_hess(*args)
        factor = np.broadcast_to(w[:, None], x.shape)
    else:
        g1, h1 = base.grad_hess(*args)
        factor = w
    denominator = {"none": 1.0, "sum": 1.0, "mean": float(np.sum(w, dtype=np.float64))}[reduction]
    for policy in make(name, params).hessians:
        loss = make(name, params, reduction)
        g, h = loss.grad_hess(*args, sample_weight=w, hessian=policy)
        _, h_unit = base.grad_hess(*args, hessian=policy)
        rtol = 1e-5 if dtype == np.float32 else 1e-12
        expected_g = g1.astype(np.float64) * factor / denominator
        expected_h = h_unit.astype(np.float64) * factor / denominator
        if policy == "positive" and name not in ROWWISE:
            expected_h = np.maximum(h1.astype(np.float64), TINY) * factor / denominator
        assert g.dtype == h.dtype == np.dtype(dtype)
        np.testing.assert_allclose(g, expected_g, rtol=rtol, atol=rtol * np.abs(expected_g).max())
        np.testing.assert_allclose(h, expected_h, rtol=rtol, atol=rtol * np.abs(expected_h).max())


@pytest.mark.parametrize("name", DEFINED)
def test_out_buffers(name):
    params = {}
    loss = make(name, params)
    args = arguments(name, params)
    x, _ = split(args)
    expected = loss.grad_hess(*args, hessian=loss.hessians[0])
    g_out, h_out = np.empty_like(x), np.empty_like(x)
    got = loss.grad_hess(*args, out=(g_out, h_out), hessian=loss.hessians[0])
    assert got[0] is g_out and got[1] is h_out
    np.testing.assert_array_equal(g_out, expected[0])
    np.testing.assert_array_equal(h_out, expected[1])
    # out over the input: the result of fresh copies
    fresh = [a.copy() for a in args]
    got = loss.grad_hess(*args, out=(args[0], h_out), hessian=loss.hessians[0])
    assert got[0] is args[0]
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])
    # two outputs over the same memory: refused, nothing written
    args = fresh
    buffer = np.zeros_like(x)
    before = [a.copy() for a in args]
    with pytest.raises(ValueError, match="out"):
        loss.grad_hess(*args, out=(buffer, buffer))
    assert not buffer.any()
    for a, b in zip(args, before):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="out"):
        loss.grad_hess(*args, out=(np.empty_like(x),))
    with pytest.raises(ValueError, match="out"):
        loss.grad_hess(*args, out=(np.empty_like(x), np.empty(x.shape[0] + 1)))


@pytest.mark.parametrize("name", DEFINED)
def test_bad_policy_names_the_argument_and_the_offered_ones(name):
    loss = make(name, {})
    args = arguments(name, {})
    for bad in ["newton", None, 3, ["exact"]]:
        with pytest.raises(ValueError, match="hessian must be one of"):
            loss.grad_hess(*args, hessian=bad)
    for policy in ("exact", "irls", "positive"):
        if policy not in loss.hessians:
            with pytest.raises(ValueError, match=f"{policy!r} is not offered by {name}; it offers"):
                loss.grad_hess(*args, hessian=policy)


@pytest.mark.parametrize("name", DEFINED)
def test_threads_and_isas(name, restore_isa, restore_threads):
    """Bitwise the same for 1 and 2 threads (a size above the parallel threshold); every ISA
    agrees with the scalar-most one to rounding."""
    params = {}
    loss = make(name, params, "mean")
    args = arguments(name, params, n=40000 if name not in ROWWISE else 8000, seed=5)
    results = {}
    for isa in losskit.available_isas():
        losskit.set_isa(isa)
        for threads in (1, 2):
            losskit.set_num_threads(threads)
            results[isa, threads] = [loss.grad_hess(*args, hessian=p) for p in loss.hessians]
    for isa in losskit.available_isas():
        for a, b in zip(results[isa, 1], results[isa, 2]):
            np.testing.assert_array_equal(a[0], b[0])
            np.testing.assert_array_equal(a[1], b[1])
        for a, b in zip(results[isa, 1], results["sse2", 1]):
            for u, v in zip(a, b):
                np.testing.assert_allclose(u, v, rtol=1e-12, atol=1e-12 * np.abs(v).max())


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_float32_agrees_with_float64(case):
    name, params = case
    args64 = arguments(name, params)
    args32 = [a.astype(np.float32) if a.dtype.kind == "f" else a for a in args64]
    loss = make(name, params)
    for policy in loss.hessians:
        with np.errstate(all="ignore"):
            _, h64 = loss.grad_hess(*args64, hessian=policy)
            _, h32 = loss.grad_hess(*args32, hessian=policy)
        assert h32.dtype == np.float32
        finite = np.isfinite(h64) & (np.abs(h64) < 1e30)
        scale = np.maximum(1.0, np.abs(h64[finite]))
        np.testing.assert_allclose(h32[finite], h64[finite], rtol=2e-4, atol=2e-4 * scale.max())


def test_nan_propagates_into_the_curvature():
    for name in DEFINED:
        loss = make(name, {})
        args = arguments(name, {}, n=4)
        args[0][1, 1] = np.nan
        for policy in loss.hessians:
            with np.errstate(all="ignore"):
                g, h = loss.grad_hess(*args, hessian=policy)
            if name not in ROWWISE:  # NaN where the gradient is NaN (kl_div's is not)
                assert np.isnan(g[1, 1]) == np.isnan(h[1, 1]), (name, policy)
            else:  # the row's softmax or margins see the NaN
                assert np.isnan(h[1]).any() == np.isnan(g[1]).any(), (name, policy)


# ---- Barron through alpha = 0 and 2, and the adaptive loss ------------------------------------
def barron_exact_hessian(r, alpha, c):
    """d2 rho / dx2 in closed form at the special alphas (u = r / c)."""
    u2 = (r / c) ** 2
    if alpha == 2:
        return np.full_like(r, 1 / c**2)
    if alpha == 0:
        return (1 - u2 / 2) / (1 + u2 / 2) ** 2 / c**2
    if alpha == 1:
        return (1 + u2) ** -1.5 / c**2
    if alpha == -np.inf:
        return (1 - u2) * np.exp(-u2 / 2) / c**2
    raise ValueError(alpha)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("alpha", [0.0, 1.0, 2.0, -np.inf])
def test_barron_hessian_is_smooth_through_the_special_alphas(alpha, dtype):
    r = np.linspace(-6, 6, 241).astype(dtype)
    y = np.zeros_like(r)
    expected = barron_exact_hessian(r.astype(np.float64), alpha, 0.7)
    rtol = 1e-12 if dtype == np.float64 else 3e-6
    near = [alpha] if np.isinf(alpha) else [alpha, alpha - 1e-9, alpha + 1e-9]
    for a in near:
        _, h = losskit.BarronLoss(alpha=a, scale=0.7, reduction="sum").grad_hess(r, y)
        tol = rtol if a == alpha else 1e-7
        np.testing.assert_allclose(h, expected, rtol=tol, atol=tol * 2)


def test_adaptive_barron_curvature_is_that_of_barron_at_its_alpha_and_scale():
    loss = losskit.AdaptiveBarronLoss(3, reduction="mean")
    loss.params[0][...] = [-1.0, 0.5, 2.0]
    loss.params[1][...] = [0.3, -0.2, 0.0]
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(50, 3)), rng.normal(size=(50, 3))
    w = rng.uniform(0.5, 2, 50)
    before = [p.copy() for p in loss.param_grads]
    fixed = losskit.BarronLoss(alpha=loss.alpha, scale=loss.scale, reduction="mean")
    for policy in loss.hessians:
        got = loss.grad_hess(x, y, sample_weight=w, hessian=policy)
        expected = fixed.grad_hess(x, y, sample_weight=w, hessian=policy)
        np.testing.assert_allclose(got[0], expected[0], rtol=1e-12)
        np.testing.assert_allclose(got[1], expected[1], rtol=1e-12)
    for p, b in zip(loss.param_grads, before):
        np.testing.assert_array_equal(p, b)
    with pytest.raises(ValueError, match="hessian must be one of"):
        loss.grad_hess(x, y, hessian="newton")


# ---- PyTorch's double backward ---------------------------------------------------------------
torch = pytest.importorskip("torch")
F = torch.nn.functional

TORCH = {
    "mse": ({}, lambda x, y: F.mse_loss(x, y, reduction="sum")),
    "l1": ({}, lambda x, y: F.l1_loss(x, y, reduction="sum")),
    "huber": ({"delta": 0.7}, lambda x, y: F.huber_loss(x, y, delta=0.7, reduction="sum")),
    "smooth_l1": ({"beta": 0.5}, lambda x, y: F.smooth_l1_loss(x, y, beta=0.5, reduction="sum")),
    "soft_margin": ({}, lambda x, y: F.soft_margin_loss(x, y, reduction="sum")),
    "bce_with_logits": ({"pos_weight": 2.5}, lambda x, y: F.binary_cross_entropy_with_logits(
        x, y, pos_weight=torch.tensor(2.5, dtype=x.dtype), reduction="sum")),
    "bce": ({}, lambda x, y: F.binary_cross_entropy(x, y, reduction="sum")),
    "poisson_nll": ({}, lambda x, y: F.poisson_nll_loss(x, y, reduction="sum")),
    "kl_div": ({}, lambda x, y: F.kl_div(x, y, reduction="sum")),
    "gaussian_nll": ({}, lambda x, y, v: F.gaussian_nll_loss(x, y, v, reduction="sum")),
    "cross_entropy": ({"label_smoothing": 0.1},
                      lambda x, y: F.cross_entropy(x, y, label_smoothing=0.1, reduction="sum")),
    "nll": ({}, lambda x, y: F.nll_loss(x, y, reduction="sum")),
}


@pytest.mark.parametrize("name", sorted(TORCH))
def test_exact_hessian_matches_torch_double_backward(name):
    params, fn = TORCH[name]
    args = arguments(name, params, n=30)
    loss = make(name, params)
    _, h = loss.grad_hess(*args)
    x = torch.tensor(args[0], requires_grad=True)
    rest = [torch.tensor(a) for a in args[1:]]
    (g,) = torch.autograd.grad(fn(x, *rest), x, create_graph=True)
    expected = np.zeros_like(args[0])
    for c in range(x.shape[1] if g.requires_grad else 0):  # a linear loss's g has no graph
        v = torch.zeros_like(x)  # column c of every row: the diagonal (rows do not couple)
        v[:, c] = 1
        (hv,) = torch.autograd.grad(g, x, grad_outputs=v, retain_graph=True, allow_unused=True)
        if hv is not None and not hv._is_zerotensor():
            expected[:, c] = hv[:, c].detach().numpy()
    np.testing.assert_allclose(h, expected, rtol=1e-10, atol=1e-12)
