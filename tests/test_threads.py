"""Bitwise determinism across thread counts, and the thread-count API.

Each subprocess starts with OMP_NUM_THREADS=1 or 2 (so the default OpenMP team size is
exercised, not only set_num_threads) and prints a SHA-256 of every result of every registered
loss at N = 1_000_003 in float32 and float64.  The two digests must be equal.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

import losskit

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))

SCRIPT = textwrap.dedent(
    """
    import hashlib, json, sys
    import numpy as np
    sys.path.insert(0, {tests_dir!r})
    import losskit
    from reference import REFERENCE, args_of, cast_data

    n = 1_000_003
    report = {{"threads": losskit.get_num_threads(), "digests": {{}}}}
    for name in losskit.available_losses():
        ref = REFERENCE.get(name)
        if ref is None:
            continue
        params = ref.defaults
        base = ref.sample(np.random.default_rng(123), params, (n,))
        w = np.random.default_rng(7).uniform(0.0, 2.0, n)
        for dtype in (np.float32, np.float64):
            data = cast_data(base, dtype)
            args = args_of(ref, data)
            h = hashlib.sha256()
            for reduction in ("none", "sum", "mean"):
                loss = losskit.get_loss(name, reduction=reduction, **params)
                for kw in ({{}}, {{"sample_weight": w.astype(dtype)}}):
                    results = [loss(*args, **kw), loss.grad(*args, **kw)]
                    results += list(loss.value_and_grad(*args, **kw))
                    if ref.n_args == 3:
                        results += list(loss.value_and_grads(*args, **kw))
                    for r in results:
                        h.update(np.ascontiguousarray(r).tobytes())
            report["digests"][name + "-" + np.dtype(dtype).name] = h.hexdigest()
    print(json.dumps(report))
    """
)


def _run(threads, tmp_path):
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = str(threads)
    env.pop("LOSSKIT_ISA", None)
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(tests_dir=TESTS_DIR)],
        env=env, cwd=str(tmp_path), capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_results_bitwise_identical_for_1_and_2_threads(tmp_path):
    one = _run(1, tmp_path)
    two = _run(2, tmp_path)
    # OMP_NUM_THREADS is respected
    assert one["threads"] == 1
    assert two["threads"] == 2
    assert one["digests"], "no loss was hashed"
    assert set(one["digests"]) == set(two["digests"])
    differing = sorted(k for k in one["digests"] if one["digests"][k] != two["digests"][k])
    assert not differing, f"results differ between 1 and 2 threads for {differing}"


def test_set_get_num_threads_round_trip(restore_threads):
    for n in (1, 2, 3, 1):
        losskit.set_num_threads(n)
        assert losskit.get_num_threads() == n


@pytest.mark.parametrize("bad", [0, -1, -8])
def test_set_num_threads_rejects_less_than_one(bad, restore_threads):
    before = losskit.get_num_threads()
    with pytest.raises(ValueError):
        losskit.set_num_threads(bad)
    assert losskit.get_num_threads() == before


def test_set_num_threads_rejects_non_integers(restore_threads):
    with pytest.raises((TypeError, ValueError)):
        losskit.set_num_threads(1.5)


def test_losskit_isa_environment_override(tmp_path):
    """LOSSKIT_ISA=<name> at import selects the ISA (each available one in turn)."""
    for isa in losskit.available_isas():
        env = dict(os.environ, LOSSKIT_ISA=isa)
        proc = subprocess.run(
            [sys.executable, "-c", "import losskit; print(losskit.get_isa())"],
            env=env, cwd=str(tmp_path), capture_output=True, text=True, timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == isa


def test_concurrent_python_threads_give_serial_results():
    """Kernels release the GIL: calls from several Python threads at once must not interfere."""
    import threading

    import numpy as np

    rng = np.random.default_rng(0)
    jobs = []
    for i, name in enumerate(["mse", "huber", "log_cosh", "poisson_nll"] * 2):
        loss = losskit.get_loss(name, reduction="mean")
        x = rng.normal(size=200_003 + i)
        y = rng.uniform(0, 3, size=200_003 + i)
        jobs.append((loss, x, y))
    serial = [loss.value_and_grad(x, y) for loss, x, y in jobs]
    results = [None] * len(jobs)

    def work(k):
        loss, x, y = jobs[k]
        for _ in range(5):
            results[k] = loss.value_and_grad(x, y)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for (v, g), (v2, g2) in zip(serial, results):
        assert v == v2
        assert g.tobytes() == g2.tobytes()
