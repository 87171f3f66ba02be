"""losskit.jax: every loss as a JAX function, under jax.jit, jax.grad, jax.value_and_grad and
jax.vmap, against the NumPy references (tests/reference.py), losskit's own NumPy API and
numerical derivatives (jax.test_util.check_grads), in float32 and float64; the checks of bad
arguments; and the jax.pure_callback path of builds without jaxlib's FFI headers."""

from __future__ import annotations

import inspect
import os

import numpy as np
import pytest

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402
from jax.test_util import check_grads  # noqa: E402

import losskit  # noqa: E402
from losskit import _base  # noqa: E402
from losskit import functional as F  # noqa: E402
from losskit import jax as LJ  # noqa: E402
from reference import (  # noqa: E402
    EMBEDDING_REFERENCE,
    REFERENCE,
    ROWWISE_REFERENCE,
    args_of,
    cast_data,
    kink_coordinate,
    near_kink,
    reduce_grad_ref,
    reduce_ref,
    roles_of,
)

DTYPES = [np.float32, np.float64]
DTYPE_IDS = ["float32", "float64"]
ELEMENTWISE = sorted(n for n in REFERENCE if n in _base.DEFINITIONS)
ROWWISE = sorted(n for n, d in _base.DEFINITIONS.items()
                 if d["family"] == "rowwise" and d["class_name"])


@pytest.fixture(autouse=True, scope="module")
def _x64():
    """float64 arrays need jax_enable_x64; the previous setting is restored after the module."""
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", previous)


def _fn(name):
    return getattr(LJ, F.function_name(name))


def _tol(dtype):
    return dict(rtol=2e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)


def _elementwise_data(name, dtype, shape=(6, 5), seed=3):
    ref = REFERENCE[name]
    params = ref.defaults
    data = cast_data(ref.sample(np.random.default_rng(seed), params, shape), dtype)
    return ref, params, data


def _row_data(name, dtype, n=6, c=5, seed=5):
    """A row-wise loss's data arguments in call order (scores, row operands, target)."""
    rng = np.random.default_rng(seed)
    d = _base.DEFINITIONS[name]
    if name in EMBEDDING_REFERENCE:
        return [np.asarray(a).astype(dtype) if np.asarray(a).dtype.kind == "f" else np.asarray(a)
                for a in EMBEDDING_REFERENCE[name].sample(rng, n, c)]
    x = rng.normal(0, 2, (n, c)).astype(dtype)
    kind = d["row_target"]
    if kind == "label_lists":
        target = np.full((n, c), -1)
        for i, k in enumerate(rng.integers(0, c, n)):
            target[i, :k] = rng.permutation(c)[:k]
        return [x, target]
    if kind == "values":
        return [x, (rng.random((n, c)) < 0.4).astype(dtype)]
    return [x, rng.integers(0, c, n)]


def test_one_function_per_functional_function_with_its_signature():
    assert set(LJ.__all__) == set(F.__all__)
    for fname in F.__all__:
        assert inspect.signature(getattr(LJ, fname)) == inspect.signature(getattr(F, fname))
        doc = getattr(LJ, fname).__doc__
        assert "Examples" in doc and ".. math::" in doc


def test_ffi_handlers_are_used_where_built():
    """CI builds with jaxlib's headers (LOSSKIT_JAX_FFI_INCLUDE): the FFI path must be there."""
    if os.environ.get("LOSSKIT_JAX_FFI_INCLUDE"):
        assert LJ.FFI
    if LJ.FFI:
        jaxpr = str(jax.make_jaxpr(LJ.huber_loss)(jnp.ones(3), jnp.zeros(3)))
        assert "losskit_elementwise" in jaxpr and "callback" not in jaxpr


# ---- elementwise losses ------------------------------------------------------------------
def _all_reductions(fn, params, reductions, weights, diff, row_cotangent=False):
    """One jitted function giving, for every reduction and weight, the value and the gradients
    of the differentiable arguments (reduction "none": of the values' sum, or with
    `row_cotangent` of sum(i * l_i), so that each row's cotangent differs)."""
    combos = [(r, w) for r in reductions for w in weights]

    def results(*a):
        out = []
        for reduction, weight in combos:
            def objective(*d, reduction=reduction, weight=weight):
                v = fn(*d, **params, reduction=reduction, sample_weight=weight)
                if reduction != "none":
                    return v, v
                c = jnp.arange(1, v.size + 1).reshape(v.shape) if row_cotangent else 1
                return jnp.sum(v * c), v
            (_, value), grads = jax.value_and_grad(objective, argnums=diff, has_aux=True)(*a)
            out.append((value, grads))
        return out

    return combos, results


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_value_and_grads_under_jit(name, dtype):
    ref, params, data = _elementwise_data(name, dtype)
    args = args_of(ref, data)
    roles = roles_of(ref)
    diff = tuple(i for i, r in enumerate(roles) if r != "target")  # input (and the third)
    x = data["input"]
    keep = ~near_kink(ref, params, x, data["target"], dtype, data.get("third"))
    w = np.linspace(0.5, 2.0, x.shape[0]).astype(dtype)
    reductions = [r for r in _base.DEFINITIONS[name]["reductions"] if r != "batchmean"]
    combos, results = _all_reductions(_fn(name), params, reductions, (None, w), diff)
    tol = _tol(dtype)
    for (reduction, weight), (value, grads) in zip(combos, jax.jit(results)(*args)):
        assert value.dtype == dtype and grads[0].dtype == dtype
        # the same kernel as losskit's NumPy API (the same numbers), and the reference
        expected = losskit.get_loss(name, reduction=reduction, **params)(*args,
                                                                         sample_weight=weight)
        np.testing.assert_allclose(np.asarray(value), expected, **tol)
        ref_value = reduce_ref(ref.ref_value(args, params), weight, reduction)
        np.testing.assert_allclose(np.asarray(value), ref_value, rtol=_ref_rtol(dtype),
                                   atol=_ref_atol(dtype, ref_value))
        ref_grad = reduce_grad_ref(ref.ref_grad(args, params), weight, reduction)
        np.testing.assert_allclose(np.asarray(grads[0])[keep], ref_grad[keep],
                                   rtol=_ref_rtol(dtype), atol=_ref_atol(dtype, ref_grad))
        if len(diff) == 2:
            ref_third = reduce_grad_ref(ref.ref_grad_third(args, params), weight, reduction)
            np.testing.assert_allclose(np.asarray(grads[1])[keep], ref_third[keep],
                                       rtol=_ref_rtol(dtype), atol=_ref_atol(dtype, ref_third))


def _ref_rtol(dtype):
    return 1e-4 if dtype == np.float32 else 1e-9


def _ref_atol(dtype, ref):
    scale = float(np.max(np.abs(ref))) if np.size(ref) else 1.0
    return (1e-5 if dtype == np.float32 else 1e-12) * max(scale, 1.0)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_under_vmap_reduces_per_batch_element(name, dtype=np.float64):
    # (float64 only: batching does not depend on the dtype, which the jit tests cover)
    ref, params, data = _elementwise_data(name, dtype, shape=(3, 4, 5))
    args = args_of(ref, data)
    fn = _fn(name)
    f = lambda *a: fn(*a, **params)  # noqa: E731
    # a batched target, then one shared by the batch (not batched: broadcast by vmap)
    values, grads, shared = jax.jit(lambda *a: (
        jax.vmap(f)(*a), jax.vmap(jax.grad(f))(*a),
        jax.vmap(lambda x: f(x, *(b[0] for b in a[1:])))(a[0])))(*args)
    reference = F.FUNCTIONS[F.function_name(name)]
    for b in range(3):
        v, g = reference(*(a[b] for a in args), **params, grad=True)
        np.testing.assert_allclose(np.asarray(values[b]), v, **_tol(dtype))
        np.testing.assert_allclose(np.asarray(grads[b]), g, **_tol(dtype))
        v = reference(args[0][b], *(a[0] for a in args[1:]), **params)
        np.testing.assert_allclose(np.asarray(shared[b]), v, **_tol(dtype))


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_gradients_match_numerical_derivatives(name):
    ref, params, data = _elementwise_data(name, np.float64, shape=(4, 3), seed=11)
    # rows away from every kink (by more than the step): a difference quotient across a kink
    # is not the subgradient
    r = kink_coordinate(ref, data["input"], data["target"], data.get("third"))
    far = np.ones(r.shape, bool)
    for k in ref.kinks(params):
        far &= ~(np.abs(r - k) <= 1e-3)  # (a NaN coordinate: no kink for that element)
    args = [a[far] for a in args_of(ref, data)]
    assert len(args[0]) >= 6
    roles = roles_of(ref)
    fn = _fn(name)
    diff = [i for i, r in enumerate(roles) if r != "target"]

    def f(*d):
        full = list(args)
        for i, v in zip(diff, d):
            full[i] = v
        return fn(*full, **params, reduction="sum")

    check_grads(f, [args[i] for i in diff], order=1, modes=["rev"], eps=1e-6, atol=1e-5,
                rtol=1e-5)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_barron_alpha_and_scale_arrays_are_differentiable(dtype):
    rng = np.random.default_rng(2)
    x, y = rng.normal(0, 2, (5, 4)).astype(dtype), np.zeros((5, 4), dtype)
    alpha = np.array([-1.0, 0.5, 1.0, 3.0], dtype)  # one per column, broadcast
    scale = np.asarray(0.7, dtype)

    def f(x, alpha, scale):
        return LJ.barron(x, y, alpha=alpha, scale=scale)

    value, (gx, ga, gs) = jax.jit(jax.value_and_grad(f, argnums=(0, 1, 2)))(x, alpha, scale)
    v, g, g_alpha, g_scale = losskit.BarronLoss(alpha=alpha, scale=scale).value_and_grads(x, y)
    tol = _tol(dtype)
    np.testing.assert_allclose(np.asarray(value), v, **tol)
    np.testing.assert_allclose(np.asarray(gx), g, **tol)
    # (losskit's NumPy API gives the per-element derivatives; JAX sums them back to the shapes)
    np.testing.assert_allclose(np.asarray(ga), g_alpha.sum(axis=0, dtype=np.float64),
                               rtol=tol["rtol"] * 10, atol=tol["atol"])
    np.testing.assert_allclose(np.asarray(gs), g_scale.sum(dtype=np.float64),
                               rtol=tol["rtol"] * 10, atol=tol["atol"])
    assert ga.shape == alpha.shape and gs.shape == ()
    if dtype == np.float64:
        check_grads(f, [x, alpha, scale], order=1, modes=["rev"], eps=1e-6, atol=1e-6, rtol=1e-6)
        # alpha alone, batched: one loss and one d/dalpha per value of alpha
        alphas = np.array([-1.0, 0.5, 1.5])
        g_alpha = jax.vmap(jax.grad(lambda a: f(x, a, scale)))(alphas)
        for a, g in zip(alphas, np.asarray(g_alpha)):
            expected = losskit.BarronLoss(alpha=np.full(x.shape, a), scale=np.full(x.shape, 0.7))
            np.testing.assert_allclose(g, expected.value_and_grads(x, y)[2].sum(), rtol=1e-12)
        # float parameters are constants of the kernel: only the input's gradient
        g_const = jax.grad(lambda x: LJ.barron(x, y, alpha=1.5, scale=0.7))(x)
        np.testing.assert_allclose(np.asarray(g_const),
                                   losskit.BarronLoss(alpha=1.5, scale=0.7).grad(x, y), **tol)


def test_bce_pos_weight_array_is_a_constant():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(6, 3))
    y = (rng.random((6, 3)) < 0.5).astype(np.float64)
    pos_weight = np.array([0.5, 1.0, 3.0])
    f = lambda x, pw: LJ.binary_cross_entropy_with_logits(x, y, pos_weight=pw)  # noqa: E731
    value, g = jax.value_and_grad(f)(x, pos_weight)
    ev, eg = F.binary_cross_entropy_with_logits(x, y, pos_weight=pos_weight, grad=True)
    np.testing.assert_allclose(np.asarray(value), ev, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(g), eg, rtol=1e-12)
    check_grads(lambda x: f(x, pos_weight), [x], order=1, modes=["rev"], eps=1e-6, atol=1e-6,
                rtol=1e-6)
    with pytest.raises(TypeError, match="pos_weight"):
        jax.grad(f, argnums=1)(x, pos_weight)


def test_gaussian_nll_var_broadcasts_as_pytorch_and_its_gradient_sums_back():
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    for var in (rng.random((4, 3)) + 0.5, rng.random(4) + 0.5, rng.random((4, 1)) + 0.5,
                np.float64(0.8)):
        v = LJ.gaussian_nll_loss(x, y, var)
        np.testing.assert_allclose(np.asarray(v), F.gaussian_nll_loss(x, y, var), rtol=1e-12)
        g = jax.grad(LJ.gaussian_nll_loss, argnums=2)(x, y, var)
        assert g.shape == np.shape(var)
        check_grads(lambda m, s: LJ.gaussian_nll_loss(m, y, s), [x, var], order=1,
                    modes=["rev"], eps=1e-6, atol=1e-6, rtol=1e-6)


# ---- row-wise losses ---------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", ROWWISE)
def test_rowwise_value_and_grads_under_jit(name, dtype):
    d = _base.DEFINITIONS[name]
    args = _row_data(name, dtype)
    diff = tuple(range(1 + len(d["operands"])))
    params = (ROWWISE_REFERENCE[name].param_sets[1] if name in ROWWISE_REFERENCE
              and len(ROWWISE_REFERENCE[name].param_sets) > 1 else {})
    w = np.linspace(0.5, 2.0, args[0].shape[0]).astype(dtype)
    combos, results = _all_reductions(_fn(name), params, ("mean", "sum", "none"), (None, w),
                                      diff, row_cotangent=True)
    tol = _tol(dtype)
    for (reduction, weight), (value, grads) in zip(combos, jax.jit(results)(*args)):
        loss = losskit.get_loss(name, reduction=reduction, **params)
        np.testing.assert_allclose(np.asarray(value), loss(*args, sample_weight=weight), **tol)
        assert value.dtype == dtype
        # the per-row cotangent (1, 2, 3, ...) of reduction "none" reaches each row's gradient
        row_ct = (np.arange(1, args[0].shape[0] + 1, dtype=np.float64)[:, None]
                  if reduction == "none" else 1.0)
        if d["operands"]:
            expected = loss.value_and_grads(*args, sample_weight=weight)[1:]
        else:
            expected = [loss.grad(*args, sample_weight=weight)]
        for g, e in zip(grads, expected):
            np.testing.assert_allclose(np.asarray(g), row_ct * e, **tol)
        _check_row_reference(name, args, params, reduction, weight, value, grads[0], dtype)


def _check_row_reference(name, args, params, reduction, weight, value, grad, dtype):
    """Against the NumPy formulas (row-wise references; the losses over embeddings by rows)."""
    if name in ROWWISE_REFERENCE:
        ref_value, ref_grad = ROWWISE_REFERENCE[name].reduced(*args, params, reduction, weight)
    else:
        per_row, g, *_ = EMBEDDING_REFERENCE[name].rows(*args, **params)
        s = np.ones(len(per_row)) if weight is None else weight.astype(np.float64)
        ref_value = reduce_ref(per_row, weight, reduction)
        ref_grad = s[:, None] * g / (s.sum() if reduction == "mean" else 1.0)
    if reduction == "none":
        ref_grad = ref_grad * np.arange(1, args[0].shape[0] + 1)[:, None]
    np.testing.assert_allclose(np.asarray(value), ref_value, rtol=_ref_rtol(dtype),
                               atol=_ref_atol(dtype, ref_value))
    np.testing.assert_allclose(np.asarray(grad), ref_grad, rtol=_ref_rtol(dtype) * 10,
                               atol=_ref_atol(dtype, ref_grad))


@pytest.mark.parametrize("name", ROWWISE)
def test_rowwise_under_vmap_reduces_per_batch_element(name, dtype=np.float64):
    batches = [_row_data(name, dtype, seed=s) for s in (1, 2, 3)]
    args = [np.stack(parts) for parts in zip(*batches)]
    fn = _fn(name)
    values, grads = jax.jit(lambda *a: (jax.vmap(fn)(*a), jax.vmap(jax.grad(fn))(*a)))(*args)
    for b, batch in enumerate(batches):
        v, g = F.FUNCTIONS[F.function_name(name)](*batch, grad=True)
        np.testing.assert_allclose(np.asarray(values[b]), v, **_tol(dtype))
        np.testing.assert_allclose(np.asarray(grads[b]), g, **_tol(dtype))


@pytest.mark.parametrize("name", ROWWISE)
def test_rowwise_gradients_match_numerical_derivatives(name):
    d = _base.DEFINITIONS[name]
    args = _row_data(name, np.float64, n=4, c=3, seed=8)
    n_diff = 1 + len(d["operands"])

    def f(*rows):
        return _fn(name)(*rows, *args[n_diff:], reduction="sum")

    check_grads(f, args[:n_diff], order=1, modes=["rev"], eps=1e-6, atol=1e-5, rtol=1e-5)


def test_cross_entropy_spatial_scores_probabilities_and_int32_labels():
    rng = np.random.default_rng(9)
    x = rng.normal(size=(3, 4, 2, 2))
    labels = rng.integers(0, 4, (3, 2, 2))
    for target in (labels, labels.astype(np.int32)):
        v, g = jax.value_and_grad(LJ.cross_entropy)(x, target)
        ev, eg = F.cross_entropy(x, labels, grad=True)
        np.testing.assert_allclose(np.asarray(v), ev, rtol=1e-12)
        np.testing.assert_allclose(np.asarray(g), eg, rtol=1e-12, atol=1e-15)
    p = rng.random((3, 4))
    p /= p.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(np.asarray(LJ.cross_entropy(x[..., 0, 0], p, label_smoothing=0.1)),
                               F.cross_entropy(x[..., 0, 0], p, label_smoothing=0.1), rtol=1e-12)


# ---- dtypes and bad arguments ------------------------------------------------------------
def test_half_precision_computes_in_float32_and_keeps_its_dtype():
    x = jnp.asarray([0.5, 3.0, -1.0], jnp.float16)
    y = jnp.zeros(3, jnp.float16)
    value, g = jax.value_and_grad(LJ.huber_loss)(x, y)
    assert value.dtype == jnp.float16 and g.dtype == jnp.float16
    np.testing.assert_allclose(float(value), F.huber_loss(np.float32(x), np.float32(y)),
                               rtol=1e-3)


def test_bad_arguments_raise_at_trace_time():
    x, y = jnp.ones(4), jnp.zeros(4)
    traced = jax.jit(lambda x, y: LJ.huber_loss(x, y, delta=-1.0))
    with pytest.raises(ValueError, match="delta"):
        traced(x, y)
    with pytest.raises(ValueError, match="reduction"):
        jax.jit(lambda x, y: LJ.huber_loss(x, y, reduction="avg"))(x, y)
    with pytest.raises(ValueError, match="target shape"):
        jax.jit(LJ.huber_loss)(x, jnp.zeros(3))
    with pytest.raises(ValueError, match="sample_weight shape"):
        LJ.mse_loss(x, y, sample_weight=jnp.ones(3))
    with pytest.raises(TypeError, match="real"):
        LJ.mse_loss(x.astype(jnp.complex64), y)
    with pytest.raises(TypeError, match="does not differentiate mse's target"):
        jax.grad(LJ.mse_loss, argnums=1)(x, y)
    with pytest.raises(TypeError, match="sample_weight"):
        jax.grad(lambda w: LJ.mse_loss(x, y + 1, sample_weight=w))(jnp.ones(4))
    with pytest.raises(ValueError, match=r"must have shape \(N, C\)"):
        LJ.nll_loss(jnp.ones(3), jnp.zeros(3, jnp.int32))
    with pytest.raises(ValueError, match="labels of shape"):
        LJ.cross_entropy(jnp.ones((3, 2)), jnp.zeros(4, jnp.int32))
    with pytest.raises(TypeError, match="integer class labels"):
        LJ.nll_loss(jnp.ones((3, 2)), jnp.zeros(3))
    with pytest.raises(ValueError, match="alpha shape"):
        LJ.barron(jnp.ones((2, 3)), jnp.zeros((2, 3)), alpha=jnp.ones(2))
    with pytest.raises(TypeError):
        jax.jit(lambda d: LJ.huber_loss(x, y, delta=d))(1.0)  # a traced non-array parameter


@pytest.mark.parametrize("call, message", [
    (lambda: LJ.cross_entropy(jnp.ones((3, 4)), jnp.array([0, 4, 1])),
     r"target\[1\] = 4 is not a class index in \[0, 4\)"),
    (lambda: LJ.mse_loss(jnp.ones(3), jnp.zeros(3), sample_weight=jnp.array([1.0, -2.0, 1.0])),
     r"sample_weight must be non-negative, got sample_weight\[1\] = -2.0"),
    (lambda: LJ.binary_cross_entropy(jnp.array([0.5, 1.5]), jnp.zeros(2)),
     r"input must be in \[0, 1\] for bce, got input\[1\] = 1.5"),
    (lambda: LJ.barron(jnp.ones(2), jnp.zeros(2), alpha=jnp.array(1.0), scale=jnp.array(-1.0)),
     "scale"),
    (lambda: LJ.hinge_embedding_loss(jnp.ones(2), jnp.array([1.0, 0.5])), "target"),
])
def test_bad_values_are_refused_by_the_kernel_with_losskit_messages(call, message):
    with pytest.raises(jax.errors.JaxRuntimeError, match=message):
        jax.block_until_ready(jax.jit(call)())


# ---- the jax.pure_callback path ----------------------------------------------------------
def test_pure_callback_path_gives_the_same_results(monkeypatch):
    """The path of builds without jaxlib's headers: the same kernels through the binding."""
    rng = np.random.default_rng(12)
    x, y = rng.normal(size=(3, 4, 5)), rng.normal(size=(3, 4, 5))
    logits, labels = rng.normal(size=(3, 6, 4)), rng.integers(0, 4, (3, 6))
    cases = [
        (lambda x: LJ.huber_loss(x, y[0], delta=0.5), x),
        (lambda x: LJ.barron(x, y[0], alpha=jnp.asarray(0.5), scale=jnp.asarray(2.0)), x),
        (lambda s: LJ.cross_entropy(s, labels[0], weight=[1.0, 2.0, 0.5, 1.0]), logits),
        (lambda s: LJ.triplet_margin_loss(s, s[::-1] * 0.5, s + 1.0), logits),
    ]
    ffi = [(jax.vmap(f)(a), jax.jit(jax.vmap(jax.grad(f)))(a)) for f, a in cases]
    monkeypatch.setattr(LJ, "_kernel_call", LJ._callback_call)
    for (f, a), (value, grad) in zip(cases, ffi):
        jaxpr = str(jax.make_jaxpr(f)(a[0]))
        assert "callback" in jaxpr and "losskit_" not in jaxpr
        np.testing.assert_allclose(np.asarray(jax.vmap(f)(a)), np.asarray(value), rtol=1e-13)
        np.testing.assert_allclose(np.asarray(jax.jit(jax.vmap(jax.grad(f)))(a)),
                                   np.asarray(grad), rtol=1e-13, atol=1e-15)
    with pytest.raises(jax.errors.JaxRuntimeError, match="class index"):
        jax.block_until_ready(jax.jit(LJ.cross_entropy)(logits[0], labels[0] + 4))


# ---- documentation -----------------------------------------------------------------------
def test_docstring_examples_run():
    import doctest

    result = doctest.testmod(LJ, optionflags=doctest.ELLIPSIS)
    assert result.attempted > len(LJ.__all__) and result.failed == 0


def test_robust_regression_example_recovers_the_line():
    pytest.importorskip("optax")
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "examples",
                        "jax_robust_regression.py")
    spec = importlib.util.spec_from_file_location("jax_robust_regression", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    X, y, w_true = example.make_data(seed=1)
    fits = {kind: example.fit(kind, X, y, steps=300)[0] for kind in ("mse", "barron")}
    error = {k: float(np.max(np.abs(np.asarray(p["w"]) - w_true))) for k, p in fits.items()}
    assert error["barron"] < 0.05 < error["mse"]
    assert abs(float(fits["barron"]["b"]) - 0.5) < 0.05


def test_frontend_bench_checks_every_contender_before_timing(capsys):
    from losskit.bench import jax_frontend

    threads = losskit.get_num_threads()
    try:
        assert jax_frontend.main(["--sizes", "100", "--losses", "huber,barron,bce_with_logits",
                                  "--threads", "1"]) == 0
    finally:
        losskit.set_num_threads(threads)
    assert LJ._kernel_call is (LJ._ffi_call if LJ.FFI else LJ._callback_call)
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[2:]]
    assert [r[0] for r in rows] == ["huber", "barron", "bce_with_logits"]
