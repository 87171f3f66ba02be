"""losskit over dask arrays: the lazy loss functions against the in-memory calls, their
determinism across schedulers, the estimators' out-of-core fit against the in-memory fit (on
a real cluster of worker processes), partial_fit under dask-ml's Incremental, arrays in any
layout, and the checks made before any task runs."""

from __future__ import annotations

import numpy as np
import pytest

import losskit

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")
import losskit.dask as ld  # noqa: E402

RNG = np.random.default_rng(7)


@pytest.fixture(scope="module")
def client():
    """A cluster of two single-threaded worker processes, as a machine's would be."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as c:
        yield c


def unaligned(a):
    """A C-contiguous copy of ``a`` at an odd address (as a worker's buffer can be)."""
    buf = np.empty(a.nbytes + 1, dtype=np.uint8)
    u = np.frombuffer(buf[1:].data, dtype=a.dtype, count=a.size).reshape(a.shape)
    u[...] = a
    assert not u.flags.aligned and u.flags.c_contiguous
    return u


def _case(name):
    n = 1003
    x = RNG.normal(size=(n, 3))
    if name == "bce_with_logits":
        t = RNG.integers(0, 2, size=(n, 3)).astype(float)
    elif name == "kl_div":
        t = RNG.dirichlet(np.ones(3), size=n)
        x = np.log(RNG.dirichlet(np.ones(3), size=n))
    else:
        t = RNG.normal(size=(n, 3))
    return x, t


ELEMENTWISE = [("mse", {}), ("huber", {"delta": 0.7}), ("bce_with_logits", {}),
               ("pseudo_huber", {}), ("quantile", {"quantile": 0.3})]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name,params", ELEMENTWISE, ids=[n for n, _ in ELEMENTWISE])
def test_elementwise_equal_the_in_memory_call(name, params, reduction):
    x, t = _case(name)
    w = RNG.random(len(x))
    loss = losskit.get_loss(name, reduction=reduction, **params)
    # chunks that do not line up between the arguments
    X = da.from_array(x, chunks=(200, 2))
    T = da.from_array(t, chunks=(333, 3))
    W = da.from_array(w, chunks=150)
    value, grad = ld.value_and_grad(loss, X, T, sample_weight=W)
    ref_value, ref_grad = loss.value_and_grad(x, t, sample_weight=w)
    assert grad.chunks == X.chunks
    np.testing.assert_allclose(value.compute(), ref_value, rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(grad.compute(), ref_grad, rtol=1e-13, atol=1e-17)
    if "exact" in loss.hessians:
        g, h = ld.grad_hess(loss, X, T, sample_weight=W)
        rg, rh = loss.grad_hess(x, t, sample_weight=w)
        np.testing.assert_allclose(g.compute(), rg, rtol=1e-13, atol=1e-17)
        np.testing.assert_allclose(h.compute(), rh, rtol=1e-13, atol=1e-17)


def test_float32_value_is_a_float64_sum_of_chunks():
    x = RNG.normal(size=100_000).astype(np.float32)
    t = RNG.normal(size=100_000).astype(np.float32)
    loss = losskit.HuberLoss(reduction="sum")
    lazy = ld.value(loss, da.from_array(x, chunks=7_000), da.from_array(t, chunks=7_000))
    exact = float(np.sum(losskit.HuberLoss(reduction="none")(x.astype(np.float64),
                                                             t.astype(np.float64))))
    assert lazy.dtype == np.float64
    assert abs(float(lazy.compute()) - exact) <= 1e-6 * exact


def test_three_arguments_batchmean_and_rowwise():
    x, t = _case("mse")
    var = RNG.random(x.shape) + 0.1
    X, T, V = (da.from_array(a, chunks=(250, 3)) for a in (x, t, var))
    g = losskit.GaussianNLLLoss()
    np.testing.assert_allclose(ld.value(g, X, T, V).compute(), g(x, t, var), rtol=1e-13)
    xk, tk = _case("kl_div")
    kl = losskit.KLDivLoss(reduction="batchmean")
    np.testing.assert_allclose(ld.value(kl, da.from_array(xk, chunks=300), tk).compute(),
                               kl(xk, tk), rtol=1e-13)
    labels = RNG.integers(0, 3, len(x))
    w = RNG.random(len(x))
    for reduction in ("sum", "none"):
        ce = losskit.CrossEntropyLoss(reduction=reduction, label_smoothing=0.1)
        value, grad = ld.value_and_grad(ce, da.from_array(x, chunks=(100, 1)),
                                        da.from_array(labels, chunks=170), sample_weight=w)
        ref_value, ref_grad = ce.value_and_grad(x, labels, sample_weight=w)
        np.testing.assert_allclose(value.compute(), ref_value, rtol=1e-13)
        np.testing.assert_allclose(grad.compute(), ref_grad, rtol=1e-13, atol=1e-17)


@pytest.mark.parametrize("make", [
    lambda: losskit.CrossEntropyLoss(weight=[0.5, 2.0, 1.0], ignore_index=1),
    lambda: losskit.CrossEntropyLoss(weight=[0.5, 2.0, 1.0], label_smoothing=0.2),
    lambda: losskit.NLLLoss(weight=[3.0, 1.0, 0.25]),
    lambda: losskit.MultiMarginLoss(weight=[1.0, 2.0, 0.5]),
], ids=["ce-ignore-index", "ce-smoothing", "nll", "multi-margin"])
def test_rowwise_mean_divides_by_the_kernels_denominator(make):
    # the mean of class-weighted labels divides by the weight of the labels counted (rows of
    # ignore_index not counted): each chunk's denominator comes from the kernel
    x = RNG.normal(size=(1000, 3))
    labels = RNG.integers(0, 3, len(x))
    w = RNG.random(len(x))
    loss = make()
    value, grad = ld.value_and_grad(loss, da.from_array(x, chunks=(130, 3)),
                                    da.from_array(labels, chunks=200), sample_weight=w)
    ref_value, ref_grad = loss.value_and_grad(x, labels, sample_weight=w)
    np.testing.assert_allclose(value.compute(), ref_value, rtol=1e-13)
    np.testing.assert_allclose(grad.compute(), ref_grad, rtol=1e-13, atol=1e-17)
    # the same denominator the in-memory mean uses: sum over counted rows of w * weight[label]
    kept = labels != getattr(loss, "ignore_index", -100)
    class_weight = np.asarray(loss.weight)
    by_label = not isinstance(loss, losskit.MultiMarginLoss)
    expected = np.sum((w * class_weight[labels])[kept]) if by_label else w.sum()
    np.testing.assert_allclose(loss._mean_denominator(x, labels, sample_weight=w), expected,
                               rtol=1e-14)
    summing = type(loss)(**{**loss.params, "reduction": "sum"})
    np.testing.assert_allclose(ref_value * expected, summing(x, labels, sample_weight=w),
                               rtol=1e-12)


def test_same_bits_on_every_scheduler(client):
    x = RNG.normal(size=200_000)
    t = RNG.normal(size=200_000)
    loss = losskit.LogCoshLoss()
    X, T = da.from_array(x, chunks=9_000), da.from_array(t, chunks=9_000)
    values = {s: float(ld.value(loss, X, T).compute(scheduler=s)) for s in ("sync", "threads")}
    values["distributed"] = float(client.compute(ld.value(loss, X, T)).result())
    assert len(set(values.values())) == 1, values
    np.testing.assert_allclose(values["sync"], loss(x, t), rtol=1e-14)


def _raising(block):
    raise AssertionError("a task ran")


def test_bad_arguments_are_refused_before_any_task_runs():
    x = da.from_array(RNG.normal(size=100), chunks=10)
    poisoned = x.map_blocks(_raising, dtype=x.dtype)  # computing it fails the test
    loss = losskit.MSELoss()
    with pytest.raises(ValueError, match="target must have the input's shape"):
        ld.value(loss, poisoned, da.zeros(99, chunks=10))
    with pytest.raises(ValueError, match="unknown size"):
        ld.value(loss, poisoned, x[x > 0])
    with pytest.raises(ValueError, match="numeric"):
        ld.value(loss, poisoned, da.from_array(np.array(["a"] * 100), chunks=10))
    with pytest.raises(ValueError, match="sample_weight"):
        ld.value(loss, poisoned, x, sample_weight=np.ones(7))
    with pytest.raises(ValueError, match="hessian"):
        ld.grad_hess(losskit.L1Loss(), poisoned, x, hessian="bogus")
    with pytest.raises(ValueError, match="row-wise loss must be 2-D"):
        ld.value(losskit.CrossEntropyLoss(), poisoned, np.zeros(100, np.int64))
    with pytest.raises(ValueError, match="unknown size"):
        losskit.LinearRegressor().fit(poisoned[poisoned > 0][:, None], poisoned)


def _regression(n=3000, d=6, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.5, 20, d) + rng.normal(size=d)
    y = X @ rng.normal(size=d) + 3 + rng.standard_t(3, size=n)
    return X, y


@pytest.mark.parametrize("solver", ["newton", "lbfgs"])
@pytest.mark.parametrize("loss", ["mse", losskit.HuberLoss(delta=1.35),
                                  losskit.PseudoHuberLoss(delta=2.0)], ids=repr)
def test_fit_on_a_cluster_equals_the_in_memory_fit(client, loss, solver):
    X, y = _regression()
    w = RNG.integers(0, 3, len(y)).astype(float)
    kwargs = dict(solver=solver, tol=1e-10, max_iter=500)
    ref = losskit.LinearRegressor(loss, **kwargs).fit(X, y, sample_weight=w)
    Xd = da.from_array(X, chunks=(700, 3)).persist()
    m = losskit.LinearRegressor(loss, **kwargs).fit(Xd, da.from_array(y, chunks=500),
                                                    sample_weight=da.from_array(w, chunks=900))
    np.testing.assert_allclose(m.coef_, ref.coef_, rtol=1e-6, atol=1e-6 * np.abs(ref.coef_).max())
    np.testing.assert_allclose(m.intercept_, ref.intercept_, rtol=1e-6, atol=1e-6)
    if ref.scale_ is not None:
        np.testing.assert_allclose(m.scale_, ref.scale_, rtol=1e-6)
    np.testing.assert_allclose(m.predict(X), ref.predict(X), rtol=1e-6, atol=1e-6 * np.abs(y).max())


@pytest.mark.parametrize("n_classes", [2, 4])
def test_classifier_fit_on_a_cluster_equals_the_in_memory_fit(client, n_classes):
    X, _ = _regression(n=2000, d=5, seed=3)
    scores = X @ RNG.normal(size=(5, n_classes)) * 0.1
    labels = np.array(["ant", "bee", "cat", "dog"])[:n_classes]
    y = labels[np.argmax(scores + RNG.gumbel(size=scores.shape), axis=1)]
    kwargs = dict(tol=1e-10, max_iter=1000, class_weight="balanced")
    ref = losskit.LinearClassifier(**kwargs).fit(X, y)
    m = losskit.LinearClassifier(**kwargs).fit(da.from_array(X, chunks=(600, 5)),
                                               da.from_array(y, chunks=450))
    np.testing.assert_array_equal(m.classes_, ref.classes_)
    assert m.coef_.shape == ref.coef_.shape
    np.testing.assert_allclose(m.coef_, ref.coef_, rtol=1e-5, atol=1e-5 * np.abs(ref.coef_).max())
    np.testing.assert_allclose(m.predict_proba(X), ref.predict_proba(X), atol=1e-6)


def test_a_failing_fit_leaves_the_estimator_as_it_was():
    X, y = _regression(n=500)
    m = losskit.LinearRegressor().fit(X, y)
    coef = m.coef_.copy()
    w = np.ones(len(y))
    w[321] = -1.0
    with pytest.raises(ValueError, match="non-negative"):
        m.fit(da.from_array(X, chunks=100), da.from_array(y, chunks=100),
              sample_weight=da.from_array(w, chunks=100))
    np.testing.assert_array_equal(m.coef_, coef)
    with pytest.raises(ValueError, match="pilot"):
        m.set_params(loss="barron").fit(da.from_array(X, chunks=100), y)
    with pytest.raises(ValueError, match="partial_fit"):
        losskit.LinearRegressor(solver="adam").fit(da.from_array(X, chunks=100), y)


def test_unaligned_arrays_are_accepted_everywhere():
    X, y = _regression(n=400, d=4)
    Xu, yu = unaligned(X), unaligned(y)
    for solver in ("auto", "sgd"):
        a = losskit.LinearRegressor(solver=solver, random_state=0).fit(X, y)
        b = losskit.LinearRegressor(solver=solver, random_state=0).fit(Xu, yu)
        np.testing.assert_array_equal(a.coef_, b.coef_)
    a = losskit.LinearClassifier(solver="adam", random_state=0).partial_fit(X, (y > 3).astype(float), classes=[0.0, 1.0])
    b = losskit.LinearClassifier(solver="adam", random_state=0).partial_fit(Xu, unaligned((y > 3).astype(float)),
                                                                            classes=[0.0, 1.0])
    np.testing.assert_array_equal(a.coef_, b.coef_)
    idx = np.array([3, 0, 399, 17])
    np.testing.assert_array_equal(losskit.gather(Xu, idx), X[idx])
    np.testing.assert_array_equal(losskit.gather(X[:, ::2], idx), X[idx, ::2])
    out = np.full((2, 4), -1.0)
    with pytest.raises(ValueError, match=r"indices\[1\] = 400"):
        losskit.gather(Xu, [2, 400], out=out)
    np.testing.assert_array_equal(out[0], X[2])
    np.testing.assert_array_equal(out[1], -1.0)


def test_partial_fit_under_dask_ml_incremental(client):
    wrappers = pytest.importorskip("dask_ml.wrappers")
    X, y = _regression(n=4000, d=5)
    labels = y > np.median(y)
    Xd = da.from_array(X, chunks=(500, 5))
    yd = da.from_array(labels, chunks=500)
    inc = wrappers.Incremental(losskit.LinearClassifier(solver="adam", lr=0.05, random_state=0),
                               scoring="accuracy", shuffle_blocks=False)
    inc.fit(Xd, yd, classes=[False, True])
    # the same sequence of partial_fit calls on the blocks in memory gives the same model
    ref = losskit.LinearClassifier(solver="adam", lr=0.05, random_state=0)
    for i in range(0, 4000, 500):
        ref.partial_fit(X[i:i + 500], labels[i:i + 500], classes=[False, True])
    np.testing.assert_allclose(inc.estimator_.coef_, ref.coef_, rtol=1e-6, atol=1e-7)
    assert inc.score(Xd, yd) > 0.8


# dask-glm sets a dask option under its deprecated name and passes SciPy a deprecated option
@pytest.mark.filterwarnings("ignore:Dask configuration key:FutureWarning")
@pytest.mark.filterwarnings("ignore:scipy.optimize:DeprecationWarning")
def test_dask_glm_family_of_a_losskit_loss():
    algorithms = pytest.importorskip("dask_glm.algorithms")
    families = pytest.importorskip("dask_glm.families")
    X, y = _regression(n=3000, d=4, seed=5)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    labels = (y > np.median(y)).astype(np.float64)
    Xd, yd = da.from_array(X, chunks=(700, 4)), da.from_array(labels, chunks=700)
    kwargs = dict(regularizer=None, max_iter=500, tol=1e-12)
    ref = algorithms.lbfgs(Xd, yd, family=families.Logistic, **kwargs)
    ours = algorithms.lbfgs(Xd, yd, family=ld.glm_family(losskit.BCEWithLogitsLoss()), **kwargs)
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-7)
    # a robust family: the same minimum as losskit's own fit of the raw residuals
    yr = da.from_array(y, chunks=700)
    huber = algorithms.lbfgs(Xd, yr, family=ld.glm_family(losskit.HuberLoss(delta=2.0)), **kwargs)
    fit = losskit.LinearRegressor(losskit.HuberLoss(delta=2.0), scale=1.0, penalty=None,
                                  fit_intercept=False, tol=1e-12, max_iter=500).fit(X, y)
    np.testing.assert_allclose(huber, fit.coef_, rtol=1e-5, atol=1e-6 * np.abs(fit.coef_).max())
    with pytest.raises(NotImplementedError, match="targets"):
        ld.glm_family(losskit.HuberLoss()).hessian(Xd @ np.ones(4), Xd)
