"""Calls from many Python threads at once, and the GIL.

* Eight threads (ThreadPoolExecutor) run every kind of kernel at once, on shared read-only
  inputs and on inputs of their own, small (the GIL is kept) and large (released, OpenMP teams
  in several threads at once): every result is bitwise the serial one.
* Every kernel family releases the GIL while it computes. The signal is deterministic, not a
  timing: with the interpreter's switch interval made huge, a thread holding the GIL is never
  asked to give it up, so a second thread running a pure-Python loop makes progress during a
  call if and only if the call released the GIL. The control (a long C loop that holds the GIL)
  shows exactly zero progress; each kernel must show some within a few attempts (one attempt
  would do, unless the machine is too loaded to schedule the second thread at all).
"""

from __future__ import annotations

import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import losskit

RNG = np.random.default_rng(2024)
SMALL, LARGE = 1_000, 150_001  # below the GIL-release threshold / above the OpenMP one


def _shared_inputs(n, dtype):
    x = RNG.normal(size=n).astype(dtype)
    y = RNG.normal(size=n).astype(dtype)
    w = RNG.uniform(0, 2, size=n).astype(dtype)
    return x, y, w


SHARED = {(n, d): _shared_inputs(n, d) for n in (SMALL, LARGE) for d in (np.float32, np.float64)}
LOGITS = RNG.normal(size=(3_001, 17))
LABELS = RNG.integers(0, 17, size=3_001)
TABLE = RNG.normal(size=(20_000, 24)).astype(np.float32)
ROWS = RNG.integers(0, 20_000, size=40_000)


def _digest(result):
    """The bytes of everything a call returned (floats, arrays, nested tuples)."""
    if isinstance(result, (tuple, list)):
        return b"|".join(_digest(r) for r in result)
    return np.ascontiguousarray(result).tobytes()


def _jobs():
    """Closures, each running one kind of call and returning the bytes of its results."""
    jobs = []
    for (n, dtype), (x, y, w) in SHARED.items():
        for name in ("mse", "huber", "log_cosh", "poisson_nll", "bce_with_logits"):
            loss = losskit.get_loss(name)
            jobs.append(lambda loss=loss, x=x, y=y, w=w: loss.value_and_grad(x, y, sample_weight=w))

            def own_buffers(loss=loss, x=x, y=y):  # inputs and out= buffer of its own
                xc, yc = x.copy(), y.copy()
                return loss.value_and_grad(xc, yc, out=np.empty_like(xc))

            jobs.append(own_buffers)
        jobs.append(lambda x=x, y=y: losskit.GaussianNLLLoss().value_and_grads(x, y, np.abs(y) + 0.1))
        alpha = np.linspace(-3, 3, x.size).astype(dtype)
        jobs.append(lambda x=x, y=y, a=alpha: losskit.BarronLoss(alpha=a, scale=0.5).value_and_grads(x, y))
        jobs.append(lambda x=x: losskit.grad_norm([x], 2.0))
        jobs.append(lambda x=x: losskit.ElasticNetPenalty(0.1, 0.3).value_and_grad(x))

        def clip(x=x, y=y):
            g = [x.copy(), y.copy()]
            return losskit.clip_grad_norm(g, 1.0), g

        jobs.append(clip)

        def train(x=x, y=y):
            p = x.copy()
            opt = losskit.optim.Adam([p], lr=0.01, amsgrad=True)
            for _ in range(3):
                opt.step([y])
            return p, opt.state[0]["exp_avg_sq"]

        jobs.append(train)
    for name in ("cross_entropy", "nll", "multi_margin", "multiclass_hinge"):
        loss = losskit.get_loss(name)
        jobs.append(lambda loss=loss: loss.value_and_grad(LOGITS, LABELS))

    def adaptive():
        loss = losskit.AdaptiveBarronLoss(num_dims=17)
        return loss.value_and_grad(LOGITS, LOGITS[::-1]), loss.param_grads

    jobs.append(adaptive)
    jobs.append(lambda: losskit.barron_log_partition(np.linspace(0, 10, 50_001), return_grad=True))
    jobs.append(lambda: losskit.gather(TABLE, ROWS))
    jobs.append(lambda: list(losskit.MinibatchSampler(100_003, 4096, seed=5)))
    return jobs


def test_eight_threads_give_the_serial_results():
    jobs = _jobs()
    serial = [_digest(job()) for job in jobs]
    order = list(range(len(jobs))) * 3  # every job three times, interleaved
    np.random.default_rng(0).shuffle(order)
    with ThreadPoolExecutor(max_workers=8) as pool:
        concurrent = list(pool.map(lambda k: (k, _digest(jobs[k]())), order))
    differing = sorted({k for k, digest in concurrent if digest != serial[k]})
    assert not differing, f"jobs {differing} gave different bits when run concurrently"


# ---- the GIL --------------------------------------------------------------------------------
def python_ran_during(call, max_calls=200):
    """Whether a pure-Python loop in a second thread made progress while this thread ran call()
    (repeatedly, up to max_calls times, stopping at the first progress).

    The switch interval is made huge, so this thread keeps the GIL unless it releases it
    itself: the loop can only run inside call(), and only if call() released the GIL. The loop
    sleeps briefly each iteration, so that this thread gets the GIL back when its call returns.
    Repeating the call is for loaded machines, where waking the second thread can take longer
    than one call."""
    count = 0
    stop = False
    go = threading.Event()

    def loop():
        nonlocal count
        go.wait()
        while not stop:
            count += 1
            time.sleep(1e-4)

    thread = threading.Thread(target=loop)
    thread.start()
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1000.0)
    try:
        go.set()
        for _ in range(max_calls):
            call()
            if count:
                return True
        return False
    finally:
        sys.setswitchinterval(interval)
        stop = True
        thread.join()


def _long_calls():
    """A call of each kernel family, several milliseconds long, that allocates nothing with
    NumPy (NumPy releases the GIL itself in some array operations)."""
    n = 2_000_000
    x = RNG.normal(size=n)
    y = RNG.normal(size=n)
    out = np.empty_like(x)
    logits = RNG.normal(size=(2_000, 1_000))
    labels = RNG.integers(0, 1_000, size=2_000)
    logits_grad = np.empty_like(logits)
    param = x.copy()
    adam = losskit.optim.Adam([param])
    clipped = y.copy()
    table = RNG.normal(size=(100_000, 32))
    rows = RNG.integers(0, 100_000, size=400_000)
    gathered = np.empty((rows.size, 32))
    alpha = np.abs(x)
    return {
        "elementwise loss": lambda: losskit.LogCoshLoss().value_and_grad(x, y, out=out),
        "row-wise loss": lambda: losskit.CrossEntropyLoss().value_and_grad(logits, labels,
                                                                           out=logits_grad),
        "barron": lambda: losskit.BarronLoss(alpha=0.5).value_and_grads(x, y),
        "barron_log_partition": lambda: losskit.barron_log_partition(alpha, return_grad=True),
        "optimizer step": lambda: adam.step([y]),
        "clip_grad_norm": lambda: losskit.clip_grad_norm([clipped], 1.0),
        "penalty": lambda: losskit.L1Penalty(0.1).grad(x, out=out),
        "gather": lambda: losskit.gather(table, rows, out=gathered),
        "sampler": lambda: losskit.MinibatchSampler(n, 64, seed=1).epoch_indices(0),
    }


LONG_CALLS = _long_calls()


def test_no_python_runs_during_a_call_that_holds_the_gil():
    # the control: a loop in C that never releases the GIL (sum over a range)
    assert not python_ran_during(lambda: sum(range(300_000)), max_calls=20)


@pytest.mark.parametrize("name", list(LONG_CALLS))
def test_kernels_release_the_gil(name, restore_threads):
    losskit.set_num_threads(1)  # leave a core to the Python loop
    assert python_ran_during(LONG_CALLS[name]), f"{name}: no Python ran during 200 calls"
