"""Fitting from chunked storage on a dask cluster: losskit against dask-ml.

    python -m losskit.bench.dask_fit [--rows 20000000] [--chunk-rows 500000] [--workers 1,2]

Writes ``rows`` x 16 float32 features and binary labels as .npy chunks, then for each number
of worker processes (one thread each) times:

- one plain read of every chunk (``X.sum()``): the storage's bandwidth through dask;
- one pass of ``losskit.dask.value_and_grad`` (BCE-with-logits of the chunks' scores
  ``X @ w``: read, score, loss and gradient per chunk), against the plain read;
- ``losskit.LinearClassifier(solver="lbfgs")`` and dask-ml's
  ``LogisticRegression(solver="lbfgs")`` fitted from the chunks (dask-ml's admm/newton
  solvers are dask-glm's), with iterations and training accuracy.

Nothing is persisted: every pass reads the chunks from disk (the page cache, once warm).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
import warnings

import numpy as np


def _write(path: str, rows: int, chunk_rows: int) -> None:
    import dask
    import dask.array as da

    rng = da.random.default_rng(0)
    X = rng.standard_normal((rows, 16), chunks=(chunk_rows, 16), dtype=np.float32)
    coef = np.linspace(-1.0, 1.0, 16).astype(np.float32)
    noise = da.random.default_rng(1).logistic(size=rows, chunks=chunk_rows)
    y = ((X @ coef + noise) > 0).astype(np.float32)
    with dask.config.set(scheduler="threads"):
        da.to_npy_stack(os.path.join(path, "X"), X)
        da.to_npy_stack(os.path.join(path, "y"), y)


def _time(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def run(rows: int, chunk_rows: int, workers: list[int], path: str) -> list[dict]:
    import dask
    import dask.array as da
    from distributed import Client, LocalCluster

    import losskit
    from losskit import dask as ld

    _write(path, rows, chunk_rows)
    results = []
    for n in workers:
        with LocalCluster(n_workers=n, threads_per_worker=1, dashboard_address=None) as cluster, \
                Client(cluster):
            X = da.from_npy_stack(os.path.join(path, "X"), mmap_mode=None)
            y = da.from_npy_stack(os.path.join(path, "y"), mmap_mode=None)
            gib = (X.nbytes + y.nbytes) / 2**30
            read = _time(lambda: dask.compute(X.sum(), y.sum()))
            loss = losskit.BCEWithLogitsLoss(reduction="sum")
            scores = X @ np.full((16,), 0.01, dtype=np.float32)
            evaluate = _time(lambda: ld.value_and_grad(loss, scores, y)[0].compute())
            t0 = time.perf_counter()
            ours = losskit.LinearClassifier(solver="lbfgs").fit(X, y)
            fit_ours = time.perf_counter() - t0
            acc_ours = float(np.mean(ours.predict(X[:200_000].compute()) == y[:200_000].compute()))
            row = {"workers": n, "GiB": gib, "read_s": read, "read_GiBps": gib / read,
                   "loss_pass_s": evaluate,
                   "losskit_fit_s": fit_ours, "losskit_iter": ours.n_iter_,
                   "losskit_acc": acc_ours}
            try:
                from dask_ml.linear_model import LogisticRegression
            except ImportError:
                LogisticRegression = None
            if LogisticRegression is not None:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    t0 = time.perf_counter()
                    theirs = LogisticRegression(solver="lbfgs").fit(X, y.astype(bool))
                    row["dask_ml_fit_s"] = time.perf_counter() - t0
                    row["dask_ml_iter"] = getattr(theirs, "n_iter_", None)
                    pred = theirs.predict(X[:200_000]).compute() if hasattr(
                        theirs.predict(X[:10]), "compute") else theirs.predict(X[:200_000])
                    row["dask_ml_acc"] = float(np.mean(np.asarray(pred) == y[:200_000].compute()))
            results.append(row)
            print(row, flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--chunk-rows", type=int, default=500_000)
    parser.add_argument("--workers", default="1,2")
    args = parser.parse_args()
    path = tempfile.mkdtemp(prefix="losskit-dask-bench-")
    try:
        run(args.rows, args.chunk_rows, [int(w) for w in args.workers.split(",")], path)
    finally:
        shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    main()
