"""Optimizer steps and gather: losskit against torch.optim and NumPy, interleaved.

    python -m bench.optim                       # N = 1e6, 1e7; float32; 2 threads
    python -m bench.optim --sizes 1e7 --threads 1,2 --rounds 15 --json out.json

Workloads (float32, one parameter array of N elements, gradient fixed and preallocated):
  adam      Adam step (lr 1e-3, default betas)         contenders: losskit, torch fused=True,
  nesterov  SGD step, momentum 0.9, nesterov=True        torch foreach=True, torch default
                                                         (foreach=False: the single-tensor loop)
  gather    65536 random rows of a 1e6 x 64 table into a preallocated out
            contenders: losskit.gather(out=), torch.index_select(out=), np.take(out=)

Each round times one sample of every contender, the order rotated each round (the machine's
bandwidth drifts), after one untimed warm-up call; a sample is k calls (k so that it lasts
>= 5 ms). Reported: median and min ms per call, and the ratio to losskit's median. Every
contender works on its own copy of the parameters; states are warmed up (a few steps) before
timing, so the steps measured are steady-state steps.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import numpy as np


def _timer(fn, min_s=5e-3):
    fn()
    k = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(k):
            fn()
        dt = time.perf_counter() - t0
        if dt >= min_s or k >= 1 << 16:
            return k
        k *= 2


def _measure(contenders, rounds):
    ks = {name: _timer(fn) for name, fn in contenders.items()}
    samples = {name: [] for name in contenders}
    names = list(contenders)
    for r in range(rounds):
        order = names[r % len(names):] + names[: r % len(names)]
        for name in order:
            fn, k = contenders[name], ks[name]
            fn()  # wake the threads of this contender
            t0 = time.perf_counter()
            for _ in range(k):
                fn()
            samples[name].append((time.perf_counter() - t0) / k)
    return samples


def optimizer_contenders(kind, n, torch, losskit):
    rng = np.random.default_rng(0)
    p0 = rng.standard_normal(n).astype(np.float32)
    g = (rng.standard_normal(n) * 1e-3).astype(np.float32)
    out = {}
    p = p0.copy()
    if kind == "adam":
        opt = losskit.optim.Adam([p], lr=1e-3)
    else:
        opt = losskit.optim.SGD([p], lr=1e-3, momentum=0.9, nesterov=True)
    grads = [g]
    out["losskit"] = lambda: opt.step(grads)
    if torch is not None:
        for label, flags in (
            ("torch fused", {"fused": True}),
            ("torch foreach", {"foreach": True}),
            ("torch default", {"foreach": False}),
        ):
            t = torch.tensor(p0.copy())
            t.grad = torch.tensor(g)
            try:
                if kind == "adam":
                    topt = torch.optim.Adam([t], lr=1e-3, **flags)
                else:
                    topt = torch.optim.SGD([t], lr=1e-3, momentum=0.9, nesterov=True, **flags)
                topt.step()
            except Exception as exc:  # fused may be unavailable on some builds
                print(f"  {label}: unavailable ({exc})", file=sys.stderr)
                continue
            out[label] = topt.step
    for fn in out.values():
        for _ in range(3):
            fn()
    return out


def gather_contenders(torch, losskit, rows=1_000_000, cols=64, count=65536):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((rows, cols), dtype=np.float32)
    idx = rng.integers(0, rows, count)
    out = {}
    o1 = np.empty((count, cols), np.float32)
    out["losskit"] = lambda: losskit.gather(X, idx, out=o1)
    o2 = np.empty((count, cols), np.float32)
    out["numpy take"] = lambda: np.take(X, idx, axis=0, out=o2)
    if torch is not None:
        tX, tidx = torch.from_numpy(X), torch.from_numpy(idx)
        o3 = torch.empty((count, cols))
        out["torch index_select"] = lambda: torch.index_select(tX, 0, tidx, out=o3)
    for fn in out.values():
        fn()
    np.testing.assert_array_equal(o1, X[idx])
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.optim", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1e6,1e7")
    ap.add_argument("--threads", default="2")
    ap.add_argument("--rounds", type=int, default=11)
    ap.add_argument("--workloads", default="adam,nesterov,gather")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    import losskit

    try:
        import torch
    except ImportError:
        torch = None
    print(f"losskit {losskit.__file__} isa={losskit.get_isa()}"
          + (f"; torch {torch.__version__}" if torch else "; torch unavailable"))
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    results = []
    for threads in [int(t) for t in args.threads.split(",")]:
        losskit.set_num_threads(threads)
        if torch is not None:
            torch.set_num_threads(threads)
        for work in args.workloads.split(","):
            cases = [None] if work == "gather" else sizes
            for n in cases:
                if work == "gather":
                    contenders = gather_contenders(torch, losskit)
                    label = "gather 65536 rows of 1e6x64"
                else:
                    contenders = optimizer_contenders(work, n, torch, losskit)
                    label = f"{work} N={n:.0e}"
                samples = _measure(contenders, args.rounds)
                base = statistics.median(samples["losskit"])
                print(f"\n{label}, float32, {threads} thread(s)")
                for name, s in samples.items():
                    med = statistics.median(s)
                    print(f"  {name:20s} median {med * 1e3:8.3f} ms  min {min(s) * 1e3:8.3f} ms"
                          f"  x{med / base:5.2f} of losskit")
                    results.append({"workload": work, "n": n, "threads": threads,
                                    "impl": name, "median_s": med, "min_s": min(s),
                                    "samples_s": s})
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
