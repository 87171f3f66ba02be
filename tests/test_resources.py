"""No memory growth over 1e5 calls, error paths included; byte offsets past 4 GiB.

Every kind of call (fast path, slow path, each family of kernels) and every kind of refusal
(errors raised by the C++ kernels, by the bindings, by the Python validation) runs in a cycle;
after a warm-up (allocator pools, caches, lazily created state), the resident set size is
measured (/proc/self/statm), 1e5 more calls are made, and the RSS must not have grown by more
than a small slack (2 MiB: two of the allocator's arenas; none is measured without a leak): a
leak of 1 KiB in any one kind of call (about 4,000 calls each), or of 32 bytes in every call,
would exceed it.
"""

from __future__ import annotations

import gc
import mmap
import os

import numpy as np
import pytest

import losskit

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux /proc")

SLACK = 2 << 20  # bytes


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _cycle():
    """The calls of one cycle, each with the exception it is expected to raise (or None)."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=200), rng.normal(size=200)
    x32 = x.astype(np.float32)
    out = np.empty_like(x)
    negative_w = np.ones_like(x)
    negative_w[7] = -1.0
    huber = losskit.HuberLoss()
    bce = losskit.BCELoss()
    nll = losskit.GaussianNLLLoss()
    logits = rng.normal(size=(20, 5))
    labels = rng.integers(0, 5, size=20)
    bad_labels = labels.copy()
    bad_labels[3] = 9
    ce = losskit.CrossEntropyLoss()
    barron = losskit.BarronLoss(alpha=rng.uniform(-2, 2, size=200), scale=1.5)
    adaptive = losskit.AdaptiveBarronLoss(num_dims=5)
    p = np.zeros(200)
    adam = losskit.optim.Adam([p], lr=0.01)
    table = rng.normal(size=(100, 8))
    rows = rng.integers(0, 100, size=50)
    g = [x.copy()]
    nan_g = [np.full(3, np.nan)]
    return [
        (lambda: huber.value_and_grad(x, y, out=out), None),
        (lambda: huber(x32, y), None),                              # slow path: cast
        (lambda: huber(x[::2], y[::2], sample_weight=np.ones(100)), None),
        (lambda: huber(list(x[:5]), list(y[:5])), None),
        (lambda: huber(x, y, sample_weight=negative_w), ValueError),  # refused by the kernel
        (lambda: huber(x, y[:10]), ValueError),                     # refused in Python
        (lambda: huber(x + 1j, y), TypeError),
        (lambda: bce(np.full(10, 1.5), np.zeros(10)), ValueError),
        (lambda: nll.value_and_grads(x, y, -np.ones_like(x)), ValueError),
        (lambda: ce.value_and_grad(logits, labels), None),
        (lambda: ce(logits, bad_labels), ValueError),
        (lambda: ce(logits, labels.astype(np.float64)), TypeError),
        (lambda: barron.value_and_grads(x, y), None),
        (lambda: adaptive.value_and_grad(logits, logits), None),
        (lambda: losskit.barron_log_partition(np.array([0.5, -1.0])), ValueError),
        (lambda: adam.step([y]), None),
        (lambda: adam.step([y[:3]]), ValueError),
        (lambda: losskit.clip_grad_norm(g, 1.0), None),
        (lambda: losskit.clip_grad_norm(nan_g, 1.0, error_if_nonfinite=True), RuntimeError),
        (lambda: losskit.gather(table, rows), None),
        (lambda: losskit.gather(table, np.array([1, 100])), ValueError),
        (lambda: losskit.L1Penalty(0.1).value_and_grad(x), None),
        (lambda: losskit.MinibatchSampler(500, 50, seed=1).epoch_indices(3), None),
        (lambda: losskit.set_num_threads(0), ValueError),          # a C++ exception, translated
        (lambda: losskit.get_loss("no such loss"), ValueError),
    ]


def _run(cycle, calls):
    done = 0
    while done < calls:
        for fn, expected in cycle:
            if expected is None:
                fn()
            else:
                try:
                    fn()
                except expected:
                    pass
                else:
                    raise AssertionError(f"{fn} did not raise {expected.__name__}")
        done += len(cycle)


def test_no_memory_growth_over_1e5_calls(restore_threads):
    cycle = _cycle()
    _run(cycle, 10_000)  # warm-up
    gc.collect()
    before = rss_bytes()
    _run(cycle, 100_000)
    gc.collect()
    grown = rss_bytes() - before
    assert grown < SLACK, f"resident memory grew by {grown / 2**20:.1f} MiB over 1e5 calls"


def test_gather_reads_rows_past_4_gib():
    """Row offsets beyond 2^32 bytes through the binding (X.nbytes / rows, 64-bit offsets), on
    a private anonymous mapping of which only the rows written and read are ever backed."""
    row_bytes, rows = (1 << 20) + 64, 4_200  # rows from 4092 on start past 2^32 bytes
    try:
        buf = mmap.mmap(-1, rows * row_bytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    except OSError as exc:
        pytest.skip(f"a {rows * row_bytes / 2**30:.1f} GiB mapping was refused: {exc}")
    try:
        X = np.frombuffer(buf, dtype=np.uint8).reshape(rows, row_bytes)
        picks = np.array([4199, 4100, 7, 4150, 4100])
        for r in picks:
            X[r, ::4093] = (r + np.arange(X[r, ::4093].size)) % 251
        got = losskit.gather(X, picks)
        assert np.array_equal(got, X[picks])
        with pytest.raises(ValueError, match=r"indices\[1\] = 4200"):
            losskit.gather(X, np.array([4199, 4200]), out=got[:2])
        del X, got
    finally:
        buf.close()
