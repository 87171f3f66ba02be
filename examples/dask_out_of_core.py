"""
Out-of-core robust regression with Dask
=======================================

A robust regression on more data than the workers may hold, read from chunks on disk.

The data set (float32 features with a heavy-tailed target and 5% gross outliers) is written
as a stack of .npy chunks; two worker processes with a memory limit below its size fit a
Huber regression with the residual scale estimated jointly. Each solver iteration reads the
chunks again on the workers and returns only the per-chunk gradient (and Newton curvature)
sums: the rows never gather on the client, and nothing larger than a chunk is in memory.
Progress is printed as plain lines (``verbose=1`` off a terminal), no dashboard needed.
Run it with::

    python examples/dask_out_of_core.py [--rows 4000000] [--dir /tmp/losskit-dask]

The in-memory fit of the same rows (when they fit in memory) gives the same coefficients.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time

import dask
import dask.array as da
import numpy as np
from distributed import Client, LocalCluster

import losskit

FEATURES = 16


def write_chunks(path: str, rows: int, chunk_rows: int, seed: int = 0) -> None:
    """X (rows, 16) float32 and y (rows,) as .npy chunk stacks under ``path``."""
    rng = np.random.default_rng(seed)
    true_coef = rng.normal(size=FEATURES).astype(np.float32)
    X = da.random.default_rng(seed).standard_normal((rows, FEATURES), chunks=(chunk_rows, FEATURES),
                                                    dtype=np.float32)
    noise = da.random.default_rng(seed + 1).standard_t(3, size=rows, chunks=chunk_rows)
    gross = da.random.default_rng(seed + 2).random(rows, chunks=chunk_rows) < 0.05
    y = (X @ true_coef + 2.0 + noise + 50.0 * gross).astype(np.float32)
    with dask.config.set(scheduler="threads"):  # before the cluster: the writer's memory
        da.to_npy_stack(os.path.join(path, "X"), X)
        da.to_npy_stack(os.path.join(path, "y"), y)
    np.save(os.path.join(path, "true_coef.npy"), true_coef)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").strip().partition("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--chunk-rows", type=int, default=250_000)
    parser.add_argument("--dir", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "losskit-dask"))
    parser.add_argument("--memory-limit", default="300MiB", help="per worker process")
    args = parser.parse_args()

    shutil.rmtree(args.dir, ignore_errors=True)
    os.makedirs(args.dir)
    t0 = time.perf_counter()
    write_chunks(args.dir, args.rows, args.chunk_rows)
    written = time.perf_counter() - t0
    with LocalCluster(n_workers=2, threads_per_worker=1, memory_limit=args.memory_limit,
                      dashboard_address=":0") as cluster, Client(cluster):
        # each task reads its chunk from disk (no memory map: the pages would count against
        # the worker's memory) and drops it when its sums are made
        X = da.from_npy_stack(os.path.join(args.dir, "X"), mmap_mode=None)
        y = da.from_npy_stack(os.path.join(args.dir, "y"), mmap_mode=None)
        size_mb = (X.nbytes + y.nbytes) / 2**20
        print(f"data: {X.shape[0]:,} x {X.shape[1]} float32, {size_mb:.0f} MiB in "
              f"{X.numblocks[0]} chunks on disk (written in {written:.1f} s); "
              f"workers: 2 x {args.memory_limit}")

        t0 = time.perf_counter()
        dask.compute(X.sum(), y.sum())  # one plain read of every chunk, for scale
        read = time.perf_counter() - t0
        print(f"one read of the chunks: {read:.1f} s ({size_mb / read:.0f} MiB/s)")

        t0 = time.perf_counter()
        model = losskit.LinearRegressor(losskit.HuberLoss(delta=1.35), penalty=None, verbose=1)
        model.fit(X, y)
        seconds = time.perf_counter() - t0
        true_coef = np.load(os.path.join(args.dir, "true_coef.npy"))
        error = float(np.max(np.abs(model.coef_ - true_coef)))
        print(f"fit: {model.solver_} in {model.n_iter_} iterations, {seconds:.1f} s "
              f"(the time of {seconds / read:.1f} plain reads); "
              f"scale {model.scale_:.3f}, intercept {model.intercept_[0]:.3f} (true 2), "
              f"largest coefficient error {error:.4f}")
    shutil.rmtree(args.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
