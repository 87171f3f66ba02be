"""Clipping (vs torch.nn.utils), penalties, MinibatchSampler, gather, numerical gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import losskit

DTYPES = [np.float32, np.float64]
NORMS = [1.0, 2.0, math.inf]


def _arrays(rng, dtype, shapes=((7,), (3, 50), (2049,))):
    return [(rng.standard_normal(s) * 3).astype(dtype) for s in shapes]


# ---- clipping ----------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("norm_type", NORMS)
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_clip_grad_norm_matches_torch(dtype, norm_type, max_norm):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    grads = _arrays(rng, dtype)
    ts = [torch.zeros(g.shape, dtype=torch.float32 if dtype == np.float32 else torch.float64,
                      requires_grad=True) for g in grads]
    for t, g in zip(ts, grads):
        t.grad = torch.tensor(g.copy())
    expected = torch.nn.utils.clip_grad_norm_(ts, max_norm, norm_type=norm_type, foreach=False)
    total = losskit.clip_grad_norm(grads, max_norm, norm_type=norm_type)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert isinstance(total, float)
    assert total == pytest.approx(float(expected), rel=tol)
    for g, t in zip(grads, ts):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=tol, atol=tol * 1e-3)


def test_clip_grad_norm_nonfinite():
    torch = pytest.importorskip("torch")
    g = np.array([1.0, np.nan, 2.0])
    before = g.copy()
    with pytest.raises(RuntimeError, match="error_if_nonfinite"):
        losskit.clip_grad_norm([g], 1.0, error_if_nonfinite=True)
    np.testing.assert_array_equal(g, before)  # untouched
    t = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    t.grad = torch.tensor(before)
    with pytest.raises(RuntimeError):
        torch.nn.utils.clip_grad_norm_([t], 1.0, error_if_nonfinite=True)
    assert math.isnan(losskit.clip_grad_norm([g], 1.0))
    assert np.all(np.isnan(g))  # as torch: NaN everywhere
    h = np.array([np.inf, 1.0])
    with pytest.raises(RuntimeError):
        losskit.clip_grad_norm([h], 1.0, norm_type="inf", error_if_nonfinite=True)


@given(
    hnp.arrays(np.float64, st.integers(1, 300), elements=st.floats(-1e3, 1e3)),
    st.floats(0, 100),
    st.sampled_from(NORMS),
)
def test_clipping_never_increases_the_norm(g, max_norm, norm_type):
    before = losskit.grad_norm([g], norm_type)
    total = losskit.clip_grad_norm([g], max_norm, norm_type)
    after = losskit.grad_norm([g], norm_type)
    assert total == before
    assert after <= before * (1 + 1e-12)
    assert after <= max(max_norm, 0) * (1 + 1e-9) or before <= max_norm + 1e-6


@pytest.mark.parametrize("dtype", DTYPES)
def test_norm_threads_and_isas_bitwise(dtype, restore_threads, restore_isa):
    rng = np.random.default_rng(1)
    grads = _arrays(rng, dtype, shapes=((300_001,), (70_000,)))
    for norm_type in NORMS:
        results = set()
        for threads in (1, 2):
            losskit.set_num_threads(threads)
            results.add(losskit.grad_norm(grads, norm_type))
        assert len(results) == 1
    # every ISA computes the norm to rounding of the float64 sum
    ref = math.sqrt(sum(float(np.sum(g.astype(np.float64) ** 2)) for g in grads))
    for isa in losskit.available_isas():
        losskit.set_isa(isa)
        assert losskit.grad_norm(grads) == pytest.approx(ref, rel=1e-12 if dtype == np.float64 else 1e-7)


def test_clip_scaling_threads_bitwise(restore_threads):
    rng = np.random.default_rng(2)
    base = rng.standard_normal(200_003).astype(np.float32)
    out = []
    for threads in (1, 2):
        losskit.set_num_threads(threads)
        g = base.copy()
        losskit.clip_grad_norm([g], 1.0)
        out.append(g)
    np.testing.assert_array_equal(out[0], out[1])


@pytest.mark.parametrize("dtype", DTYPES)
def test_clip_grad_value_matches_torch(dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    grads = _arrays(rng, dtype)
    grads[0][0] = np.nan
    ts = [torch.zeros(g.shape, dtype=torch.from_numpy(g).dtype, requires_grad=True) for g in grads]
    for t, g in zip(ts, grads):
        t.grad = torch.tensor(g.copy())
    torch.nn.utils.clip_grad_value_(ts, 0.7, foreach=False)
    losskit.clip_grad_value(grads, 0.7)
    for g, t in zip(grads, ts):
        np.testing.assert_array_equal(g, t.grad.numpy())


def test_clip_bad_input():
    with pytest.raises(ValueError, match="norm_type"):
        losskit.clip_grad_norm([np.zeros(3)], 1.0, norm_type=3)
    with pytest.raises(ValueError, match="max_norm"):
        losskit.clip_grad_norm([np.zeros(3)], -1.0)
    with pytest.raises(ValueError, match=r"grads\[1\].*dtype"):
        losskit.clip_grad_norm([np.zeros(3), np.zeros(3, dtype=np.float32)], 1.0)
    ro = np.zeros(3)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match=r"grads\[0\].*read-only"):
        losskit.clip_grad_value([ro], 1.0)
    with pytest.raises(ValueError, match="clip_value"):
        losskit.clip_grad_value([np.zeros(3)], -1.0)
    assert losskit.clip_grad_norm([], 1.0) == 0.0


# ---- penalties ---------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
def test_penalties_value_grad(dtype):
    w = np.array([-2.0, -0.5, 0.0, 0.25, 3.0], dtype=dtype)
    w64 = w.astype(np.float64)
    cases = [
        (losskit.L1Penalty(0.3), 0.3 * np.abs(w64).sum(), 0.3 * np.sign(w64)),
        (losskit.L2Penalty(0.3), 0.15 * (w64**2).sum(), 0.3 * w64),
        (
            losskit.ElasticNetPenalty(0.3, l1_ratio=0.25),
            0.3 * (0.25 * np.abs(w64).sum() + 0.375 * (w64**2).sum()),
            0.3 * (0.25 * np.sign(w64) + 0.75 * w64),
        ),
    ]
    for pen, value, grad in cases:
        assert pen.value(w) == pytest.approx(value, rel=1e-6)
        assert pen(w) == pen.value(w)
        g = pen.grad(w)
        assert g.dtype == dtype and g[2] == 0
        np.testing.assert_allclose(g, grad, rtol=1e-6)
        out = np.empty_like(w)
        v, g2 = pen.value_and_grad(w, out=out)
        assert g2 is out and v == pen.value(w)
        np.testing.assert_array_equal(g2, g)


@given(
    hnp.arrays(np.float64, st.integers(0, 100), elements=st.floats(-100, 100)),
    st.floats(0, 10),
    st.floats(0, 2),
)
def test_l1_prox_is_soft_thresholding(w, lam, step):
    expected = np.sign(w) * np.maximum(np.abs(w) - step * lam, 0.0)
    out = losskit.L1Penalty(lam).prox(w.copy(), step)
    np.testing.assert_allclose(out, expected, rtol=1e-15, atol=1e-300)


def test_prox_l2_and_elastic_net():
    w = np.array([-3.0, 0.1, 2.0])
    np.testing.assert_allclose(losskit.L2Penalty(2.0).prox(w.copy(), 0.5), w / 2.0)
    en = losskit.ElasticNetPenalty(1.0, 0.5).prox(w.copy(), 0.4)
    np.testing.assert_allclose(en, np.sign(w) * np.maximum(np.abs(w) - 0.2, 0) / 1.2)
    strided = np.arange(6.0)[::2]
    losskit.L1Penalty(1.0).prox(strided, 1.0)
    np.testing.assert_array_equal(strided, [0.0, 1.0, 3.0])


def test_penalty_gradcheck_and_bad_input():
    w = np.array([-1.0, 0.5, 2.0])
    pen = losskit.ElasticNetPenalty(0.7, 0.3)
    assert losskit.gradcheck(pen.value, w, grad=pen.grad(w)).passed
    with pytest.raises(ValueError, match="lam"):
        losskit.L1Penalty(-1.0)
    with pytest.raises(ValueError, match="l1_ratio"):
        losskit.ElasticNetPenalty(1.0, 1.5)
    with pytest.raises(ValueError, match="step"):
        losskit.L1Penalty(1.0).prox(w, -1.0)


# ---- sampler -----------------------------------------------------------------------------
@given(st.integers(0, 500), st.integers(1, 64), st.integers(0, 2**64 - 1), st.booleans())
def test_sampler_epochs_are_permutations(n, batch_size, seed, drop_last):
    s = losskit.MinibatchSampler(n, batch_size, seed=seed, drop_last=drop_last)
    for _ in range(2):
        batches = list(s)
        assert len(batches) == len(s)
        assert all(b.dtype == np.int64 and len(b) <= batch_size for b in batches)
        joined = np.concatenate(batches) if batches else np.empty(0, np.int64)
        if drop_last:
            assert all(len(b) == batch_size for b in batches)
            assert len(np.unique(joined)) == len(joined) == (n // batch_size) * batch_size
        else:
            np.testing.assert_array_equal(np.sort(joined), np.arange(n))


@given(st.integers(1, 300), st.integers(0, 2**32))
def test_same_seed_same_sequence(n, seed):
    a = losskit.MinibatchSampler(n, 7, seed=seed)
    b = losskit.MinibatchSampler(n, 7, seed=seed)
    for _ in range(3):
        for x, y in zip(a, b, strict=True):
            np.testing.assert_array_equal(x, y)


def test_sampler_reference_values_and_epochs(restore_threads):
    """Pinned output: the same on every machine and thread count."""
    s = losskit.MinibatchSampler(10, 4, seed=12345)
    first = np.concatenate(list(s))
    second = np.concatenate(list(s))
    assert not np.array_equal(first, second)  # epochs differ
    s.set_epoch(0)
    np.testing.assert_array_equal(np.concatenate(list(s)), first)
    # SplitMix64 reference: first outputs for seed 1234567 (published test vector)
    assert losskit._core._random_u64(1234567, 0) == 6457827717110365317
    assert losskit._core._random_u64(1234567, 1) == 3203168211198807973
    big = []
    for threads in (1, 2):
        losskit.set_num_threads(threads)
        big.append(losskit.MinibatchSampler(300_000, 1000, seed=5).epoch_indices(3))
    np.testing.assert_array_equal(big[0], big[1])
    np.testing.assert_array_equal(np.sort(big[0]), np.arange(300_000))


def test_sampler_unshuffled_and_replacement():
    s = losskit.MinibatchSampler(10, 3, shuffle=False)
    assert [b.tolist() for b in s] == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    r = losskit.MinibatchSampler(1000, 100, replacement=True, seed=1)
    idx = np.concatenate(list(r))
    assert len(idx) == 1000 and idx.min() >= 0 and idx.max() < 1000
    assert len(np.unique(idx)) < 1000  # repeats (probability of none is ~0)
    counts = np.bincount(losskit.MinibatchSampler(10, 10, replacement=True, seed=2)
                         .epoch_indices(0), minlength=10)
    assert counts.sum() == 10


def test_sampler_bad_input():
    with pytest.raises(ValueError, match="batch_size"):
        losskit.MinibatchSampler(10, 0)
    with pytest.raises(ValueError, match="batch_size"):
        losskit.MinibatchSampler(10, -3)
    with pytest.raises(ValueError, match="n must"):
        losskit.MinibatchSampler(-1, 3)
    with pytest.raises(ValueError, match="seed"):
        losskit.MinibatchSampler(10, 3, seed=-1)
    with pytest.raises(ValueError, match="replacement"):
        losskit.MinibatchSampler(10, 3, shuffle=False, replacement=True)


# ---- gather ------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.uint8])
@pytest.mark.parametrize("shape", [(1000,), (1000, 64), (500, 3)])
def test_gather(dtype, shape, restore_threads):
    rng = np.random.default_rng(4)
    X = (rng.standard_normal(shape) * 100).astype(dtype)
    idx = rng.integers(0, shape[0], 70_000)
    for threads in (1, 2):
        losskit.set_num_threads(threads)
        out = losskit.gather(X, idx)
        np.testing.assert_array_equal(out, X[idx])
        buf = np.empty_like(out)
        assert losskit.gather(X, idx.astype(np.int32), out=buf) is buf
        np.testing.assert_array_equal(buf, X[idx])


def test_gather_bad_input(restore_threads):
    X = np.arange(20.0).reshape(10, 2)
    for threads in (1, 2):
        losskit.set_num_threads(threads)
        idx = np.zeros(100_000, dtype=np.int64)
        idx[70_000] = 10
        idx[90_000] = -1
        with pytest.raises(ValueError, match=r"indices\[70000\] = 10 is out of range"):
            losskit.gather(X, idx)
    with pytest.raises(ValueError, match=r"indices\[1\] = -1"):
        losskit.gather(X, [0, -1])
    with pytest.raises(TypeError, match="indices"):
        losskit.gather(X, [0.5])
    with pytest.raises(ValueError, match="out"):
        losskit.gather(X, [0, 1], out=np.empty((3, 2)))
    # a strided 1-D X is valid (NumPy's indexing takes it), a bad index still named
    np.testing.assert_array_equal(losskit.gather(X[:, 0], [3, 0, 9]), X[[3, 0, 9], 0])
    with pytest.raises(ValueError, match=r"indices\[1\] = 10"):
        losskit.gather(X[:, 0], [0, 10])
    with pytest.raises(ValueError, match="X"):
        losskit.gather(np.zeros((2, 2, 2)), [0])


# ---- numerical gradients -----------------------------------------------------------------
def _f(x):
    return float(np.sum(np.sin(x) * x**2)), np.cos(x) * x**2 + 2 * x * np.sin(x)


@pytest.mark.parametrize("method", ["central", "forward"])
def test_numerical_gradient(method):
    x = np.linspace(-2, 2, 12).reshape(3, 4)
    g = losskit.numerical_gradient(lambda v: _f(v)[0], x, method=method)
    assert g.shape == x.shape
    np.testing.assert_allclose(g, _f(x)[1], rtol=1e-3 if method == "forward" else 1e-7, atol=1e-4)


def test_gradcheck_catches_wrong_gradient():
    x = np.linspace(-2, 2, 9)
    good = losskit.gradcheck(_f, x)
    assert good.passed and good.max_rel_error < 1e-4
    wrong = _f(x)[1].copy()
    wrong[5] *= 1.01
    bad = losskit.gradcheck(lambda v: _f(v)[0], x, grad=wrong)
    assert not bad.passed and bad.worst_index == (5,)
    assert bad.max_rel_error == pytest.approx(0.01 / 1.01, rel=1e-3)
    # a loss gradient checked the same way
    loss = losskit.HuberLoss(delta=1.0, reduction="sum")
    y = np.zeros(9)
    assert losskit.gradcheck(lambda v: loss.value_and_grad(v, y), x + 0.05).passed


def test_gradcheck_bad_input():
    with pytest.raises(ValueError, match="h"):
        losskit.numerical_gradient(np.sum, np.zeros(3), h=0.0)
    with pytest.raises(ValueError, match="method"):
        losskit.numerical_gradient(np.sum, np.zeros(3), method="backward")
    with pytest.raises(ValueError, match="grad"):
        losskit.gradcheck(np.sum, np.zeros(3))
    with pytest.raises(ValueError, match="shape"):
        losskit.gradcheck(np.sum, np.zeros(3), grad=np.zeros(4))


# ---- array boundaries: subclasses, byte order, aliasing, huge integers ----------------------
@pytest.mark.parametrize("norm_type", NORMS)
def test_clipping_memmap_and_byte_order_in_place(norm_type, tmp_path):
    rng = np.random.default_rng(11)
    ref = _arrays(rng, np.float64, shapes=((7,), (3, 5)))
    mm = np.memmap(tmp_path / "g.bin", dtype=np.float64, mode="w+", shape=(7,))
    mm[:] = ref[0]
    swapped = ref[1].astype(">f8")
    expected = [a.copy() for a in ref]
    norm = losskit.clip_grad_norm(expected, 0.5, norm_type=norm_type)
    assert losskit.grad_norm([mm, swapped], norm_type) == norm
    assert losskit.clip_grad_norm([mm, swapped], 0.5, norm_type=norm_type) == norm
    assert swapped.dtype == ">f8"
    np.testing.assert_array_equal(np.asarray(mm), expected[0])
    np.testing.assert_array_equal(swapped, expected[1])
    losskit.clip_grad_value([mm, swapped], 0.01)
    assert np.abs(mm).max() <= 0.01 and np.abs(swapped).max() <= 0.01
    assert (swapped != 0).all()


def test_huge_integers_are_value_errors(restore_threads):
    threads = losskit.get_num_threads()
    for bad in (2**40, 2**64, -(2**64), 0):
        with pytest.raises(ValueError, match=r"num_threads must be in \[1, 1024\]"):
            losskit.set_num_threads(bad)
    with pytest.raises(TypeError, match=r"\bn\b"):
        losskit.set_num_threads(2.0)
    assert losskit.get_num_threads() == threads
    losskit.set_num_threads(np.int64(1))
    assert losskit.get_num_threads() == 1
    with pytest.raises(ValueError, match=r"^n must"):
        losskit.MinibatchSampler(2**64, 4)
    with pytest.raises(ValueError, match="batch_size"):
        losskit.MinibatchSampler(10, 2**64)
    sampler = losskit.MinibatchSampler(10, 4, seed=1)
    sampler.set_epoch(3)
    for bad in (2**64, 2**63 - 1):
        with pytest.raises(ValueError, match="epoch"):
            sampler.set_epoch(bad)
        with pytest.raises(ValueError, match="epoch"):
            sampler.epoch_indices(bad)
    assert sampler.epoch == 3
    with pytest.raises(TypeError, match="epoch"):
        sampler.set_epoch(1.0)


def _gather_cases():
    # (X, indices, out) where out shares memory with X or the indices
    base = np.arange(36.0).reshape(12, 3)
    yield "out is X", base.copy(), np.array([3, 0, 0, 11, 5, 5, 1, 2, 9, 10, 4, 7]), None
    yield "out overlaps X", base.copy(), np.array([7, 6, 5, 4, 3, 2, 1, 0]), (4, 12)
    yield "out inside X", base.copy(), np.array([0, 1, 2]), (1, 4)


@pytest.mark.parametrize("case", list(_gather_cases()), ids=lambda c: c[0])
def test_gather_out_sharing_memory_with_X(case):
    _, X, idx, rows = case
    expected = X.copy()[idx]
    out = X if rows is None else X[rows[0] : rows[1]]
    assert losskit.gather(X, idx, out=out) is out
    np.testing.assert_array_equal(out, expected)


def test_gather_out_sharing_memory_with_indices():
    idx = np.array([4, 0, 3, 3, 1], dtype=np.int64)
    X = np.array([10, 11, 12, 13, 14], dtype=np.int64)
    expected = X[idx.copy()]
    assert losskit.gather(X, idx, out=idx) is idx  # out is the index array itself
    np.testing.assert_array_equal(idx, expected)
    # another dtype over the indices' bytes
    idx = np.array([2, 2, 0, 1], dtype=np.int64)
    Xf = np.array([0.5, 1.5, 2.5])
    out = idx.view(np.float64)
    expected = Xf[idx.copy()]
    losskit.gather(Xf, idx, out=out)
    np.testing.assert_array_equal(out, expected)
    # an index out of range: the valid rows are written, the others keep out's values
    X = np.arange(5.0)
    out = X[:3]
    with pytest.raises(ValueError, match=r"indices\[1\] = 7"):
        losskit.gather(X, [4, 7, 0], out=out)
    np.testing.assert_array_equal(X, [4.0, 1.0, 0.0, 3.0, 4.0])
