"""Barron's loss, value and every gradient (input, alpha, scale): losskit against PyTorch autograd.

The speed target: ``BarronLoss.value_and_grads`` at least 10x faster than a PyTorch
autograd implementation of the same formula, rho = b/a ((z + 1)^(a/2) - 1) with b = |a - 2|,
z = (r/c)^2 / b, mean reduction. Both are checked against each other (float64 torch as the
reference) before anything is timed, then timed in interleaved rounds (median per call), with
alpha and scale as scalars (one value each, gradients per element for losskit, summed by
autograd) and as per-element arrays (the adaptive loss's case)::

    python -m losskit.bench.barron_grads [--sizes 1e6,1e7] [--threads 2]

Needs torch; float32; losskit writes into preallocated buffers (``out=``).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

ALPHA, SCALE = 0.5, 0.7
ROUNDS = 9


def _torch_fn(torch, x, y, alpha, scale):
    xt, yt = torch.from_numpy(x).requires_grad_(), torch.from_numpy(y)
    at = torch.tensor(alpha, requires_grad=True) if np.isscalar(alpha) else torch.from_numpy(alpha).requires_grad_()
    ct = torch.tensor(scale, requires_grad=True) if np.isscalar(scale) else torch.from_numpy(scale).requires_grad_()

    def call():
        for t in (xt, at, ct):
            t.grad = None
        b = torch.abs(at - 2)
        z = ((xt - yt) / ct) ** 2 / b
        loss = (b / at * (torch.pow(z + 1, at / 2) - 1)).mean()
        loss.backward()
        return loss.item(), xt.grad, at.grad, ct.grad

    return call


def _losskit_fn(losskit, x, y, alpha, scale):
    loss = losskit.BarronLoss(alpha=alpha, scale=scale)
    out = tuple(np.empty_like(x) for _ in range(3))

    def call():
        return loss.value_and_grads(x, y, out=out)

    return call


def _check(lk, ref, scalar: bool) -> None:
    """losskit's value and gradients against float64 autograd (per-element gradients of a
    scalar parameter summed, as autograd reports them)."""
    value, gx, ga, gc = lk
    rv, rgx, rga, rgc = (float(ref[0]),) + tuple(t.detach().numpy() for t in ref[1:])
    if scalar:
        ga, gc = np.sum(ga, dtype=np.float64), np.sum(gc, dtype=np.float64)
    for name, got, want in (("value", value, rv), ("d/dinput", gx, rgx), ("d/dalpha", ga, rga),
                            ("d/dscale", gc, rgc)):
        err = np.max(np.abs(np.asarray(got, np.float64) - want)) / max(np.max(np.abs(want)), 1e-30)
        if not err < 1e-3:
            raise SystemExit(f"losskit {name} differs from autograd: relative error {err:.2g}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1e6,1e7")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    import torch

    import losskit

    torch.set_num_threads(args.threads)
    losskit.set_num_threads(args.threads)
    print(f"Barron value + d/dinput, d/dalpha, d/dscale, float32, {args.threads} threads, alpha {ALPHA}, "
          f"scale {SCALE}; median of {ROUNDS} interleaved rounds")
    print(f"{'N':>6}  {'parameters':<12}  {'losskit':>10}  {'torch autograd':>15}  {'speedup':>8}")
    for n in (int(float(s)) for s in args.sizes.split(",")):
        rng = np.random.default_rng(n)
        x = rng.standard_normal(n, dtype=np.float32)
        y = rng.standard_normal(n, dtype=np.float32)
        for scalar in (True, False):
            alpha = ALPHA if scalar else rng.uniform(-1, 1.9, n).astype(np.float32)
            scale = SCALE if scalar else rng.uniform(0.5, 1.5, n).astype(np.float32)
            lk = _losskit_fn(losskit, x, y, alpha, scale)
            tt = _torch_fn(torch, x, y, alpha, scale)
            as64 = (lambda v: np.float64(v)) if scalar else (lambda v: v.astype(np.float64))
            ref = _torch_fn(torch, x.astype(np.float64), y.astype(np.float64), as64(alpha), as64(scale))()
            _check(lk(), ref, scalar)
            times: dict[str, list[float]] = {"losskit": [], "torch": []}
            for _ in range(ROUNDS):
                for name, fn in (("losskit", lk), ("torch", tt)):
                    t0 = time.perf_counter()
                    fn()
                    times[name].append(time.perf_counter() - t0)
            a, b = statistics.median(times["losskit"]), statistics.median(times["torch"])
            print(f"{n:>6.0e}  {'scalars' if scalar else 'per element':<12}  {a * 1e3:>8.2f}ms  "
                  f"{b * 1e3:>13.2f}ms  {b / a:>7.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
