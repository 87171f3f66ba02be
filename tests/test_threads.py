"""Bitwise determinism across thread counts, and the thread-count API.

Each subprocess starts with OMP_NUM_THREADS = 1, 2, 3 or 4 (so the default OpenMP team size is
exercised, not only set_num_threads; 4 oversubscribes a 2-core machine, which is fine) and
prints a SHA-256 per kernel family of every result of every kernel with a reduction: every
registered elementwise and row-wise loss (value, grad, value_and_grad(s); each reduction, with
and without sample weights; float32 and float64), BarronLoss with per-element alpha and scale
(value_and_grads), AdaptiveBarronLoss (and its parameter gradients), the clipping norms (l1, l2,
inf), clip_grad_norm (norm and clipped arrays), the three penalties. All digests must agree.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from reference import EMBEDDING_REFERENCE, REFERENCE, ROWWISE_REFERENCE

import losskit

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))

SCRIPT = textwrap.dedent(
    """
    import hashlib, json, sys
    import numpy as np
    sys.path.insert(0, {tests_dir!r})
    import losskit
    from reference import EMBEDDING_REFERENCE, REFERENCE, ROWWISE_REFERENCE, args_of, cast_data
    from losskit import _catalog

    n = 300_007  # 147 blocks of 2048, the last partial: split differently by 1..4 threads
    digests = {{}}

    def record(key, results):
        h = hashlib.sha256()
        for r in results:
            h.update(np.ascontiguousarray(r).tobytes())
        digests[key] = h.hexdigest()

    w = np.random.default_rng(7).uniform(0.0, 2.0, n)
    for dtype in (np.float32, np.float64):
        dt = np.dtype(dtype).name
        for name, ref in REFERENCE.items():
            params = ref.defaults
            args = args_of(ref, cast_data(ref.sample(np.random.default_rng(123), params, (n,)), dtype))
            results = []
            for reduction in ("none", "sum", "mean"):
                loss = losskit.get_loss(name, reduction=reduction, **params)
                for kw in ({{}}, {{"sample_weight": w.astype(dtype)}}):
                    results += [loss(*args, **kw), loss.grad(*args, **kw)]
                    results += list(loss.value_and_grad(*args, **kw))
                    if hasattr(loss, "value_and_grads"):
                        results += list(loss.value_and_grads(*args, **kw))
            record(name + "-" + dt, results)

        rows, classes = 20_011, 5  # 5: the class weights of the reference; 13 blocks of rows
        rng = np.random.default_rng(5)
        logits = rng.normal(size=(rows, classes)).astype(dtype)
        labels = rng.integers(0, classes, size=rows)
        probs = rng.dirichlet(np.ones(classes), size=rows).astype(dtype)
        sw = w[:rows].astype(dtype)
        for name, ref in [*ROWWISE_REFERENCE.items(), *EMBEDDING_REFERENCE.items()]:
            # the arguments the definition's target kind asks for (labels as above)
            drawn = _catalog._row_sample(losskit._base.DEFINITIONS[name], rng, rows, classes)
            rest = [a.astype(dtype) if a.dtype.kind == "f" else a for a in drawn["args"]]
            if losskit._base.DEFINITIONS[name]["row_target"] == "labels":
                rest = [labels]
            results = []
            for params in ref.param_sets:
                for reduction in ("none", "sum", "mean"):
                    loss = losskit.get_loss(name, reduction=reduction, **params)
                    for args in ([[labels], [probs]] if name == "cross_entropy" else [rest]):
                        results += list(loss.value_and_grad(logits, *args, sample_weight=sw))
                        results.append(loss(logits, *args))
                        if hasattr(loss, "value_and_grads"):
                            results += list(loss.value_and_grads(logits, *args, sample_weight=sw))
            record(name + "-" + dt, results)

        x = rng.normal(size=n).astype(dtype)
        y = rng.normal(size=n).astype(dtype)
        alpha = rng.uniform(-3, 3, size=n)
        scale = rng.uniform(0.5, 2, size=n)
        results = []
        for reduction in ("sum", "mean"):
            results += list(losskit.BarronLoss(alpha, scale, reduction=reduction).value_and_grads(x, y))
        record("barron_arrays-" + dt, results)
        adaptive = losskit.AdaptiveBarronLoss(num_dims=7)
        xa = x[: 7 * 40_000].reshape(-1, 7)
        results = list(adaptive.value_and_grad(xa, xa[::-1])) + adaptive.param_grads
        record("adaptive_barron-" + dt, results)

        results = [losskit.grad_norm([x, y[:1000]], p) for p in (1, 2, "inf")]
        g = [x.copy(), y.copy()]
        results += [losskit.clip_grad_norm(g, 1.0)] + g
        record("clipping-" + dt, results)
        results = []
        for penalty in (losskit.L1Penalty(0.3), losskit.L2Penalty(0.7),
                        losskit.ElasticNetPenalty(0.5, 0.25)):
            results += list(penalty.value_and_grad(x))
        record("penalties-" + dt, results)
    print(json.dumps({{"threads": losskit.get_num_threads(), "digests": digests}}))
    """
)


def _run(threads, tmp_path):
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = str(threads)
    env.pop("LOSSKIT_ISA", None)
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(tests_dir=TESTS_DIR)],
        env=env, cwd=str(tmp_path), capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_results_bitwise_identical_for_1_to_4_threads(tmp_path):
    runs = {t: _run(t, tmp_path) for t in (1, 2, 3, 4)}
    for t, run in runs.items():
        assert run["threads"] == t  # OMP_NUM_THREADS is respected
    one = runs[1]["digests"]
    families = {k.rsplit("-", 1)[0] for k in one}
    assert families == set(REFERENCE) | set(ROWWISE_REFERENCE) | set(EMBEDDING_REFERENCE) | {
        "barron_arrays", "adaptive_barron", "clipping", "penalties"}
    assert set(losskit.available_losses()) <= families
    for t in (2, 3, 4):
        differing = sorted(k for k in one if runs[t]["digests"][k] != one[k])
        assert not differing, f"results differ between 1 and {t} threads for {differing}"


def test_set_get_num_threads_round_trip(restore_threads):
    for n in (1, 2, 3, 1):
        losskit.set_num_threads(n)
        assert losskit.get_num_threads() == n


@pytest.mark.parametrize("bad", [0, -1, -8, 1025, 10**6])
def test_set_num_threads_rejects_counts_outside_1_to_1024(bad, restore_threads):
    # above the bound OpenMP would try to start the threads and end the process when it can't
    before = losskit.get_num_threads()
    with pytest.raises(ValueError, match=r"\[1, 1024\]"):
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
