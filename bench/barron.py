"""Barron loss timings (issue 4): float32 value+grad vs MSE at the same size, and
value+all-grads vs a PyTorch autograd implementation of the same formula.

    python -m bench.barron [--n 10000000] [--rounds 7] [--threads 2]

Rounds are interleaved (every implementation once per round, in rotating order) and the
median is reported: the machine's memory bandwidth drifts within minutes. All losskit calls
write into preallocated, touched `out=` buffers (a fresh 40 MB output costs 10+ ms in page
faults alone); the PyTorch implementation allocates as autograd does.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import losskit


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=10_000_000)
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--alpha", type=float, default=1.0)
    p.add_argument("--no-torch", action="store_true")
    args = p.parse_args(argv)
    if args.threads:
        losskit.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    n = args.n
    x = rng.normal(size=n).astype(np.float32) * 3
    y = rng.normal(size=n).astype(np.float32)
    bufs = [np.zeros(n, np.float32) for _ in range(3)]
    mse = losskit.MSELoss()
    barron = losskit.BarronLoss(alpha=args.alpha, scale=0.5)
    impls = {
        "mse value+grad": lambda: mse.value_and_grad(x, y, out=bufs[0]),
        "barron value+grad": lambda: barron.value_and_grad(x, y, out=bufs[0]),
        "barron grad": lambda: barron.grad(x, y, out=bufs[0]),
        "barron value+all grads": lambda: barron.value_and_grads(x, y, out=tuple(bufs)),
    }
    if not args.no_torch:
        import torch

        torch.set_num_threads(losskit.get_num_threads())
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)

        def torch_barron():
            xi = tx.detach().requires_grad_(True)
            a = torch.tensor(args.alpha, requires_grad=True)
            c = torch.tensor(0.5, requires_grad=True)
            b = torch.abs(a - 2)
            z = ((xi - ty) / c) ** 2 / b
            loss = (b / a * torch.expm1(0.5 * a * torch.log1p(z))).mean()
            loss.backward()
            return loss.item(), xi.grad, a.grad, c.grad

        impls["torch autograd value+all grads"] = torch_barron
    for f in impls.values():  # warm up
        f()
    times = {k: [] for k in impls}
    names = list(impls)
    for r in range(args.rounds):
        order = names[r % len(names):] + names[: r % len(names)]
        for k in order:
            t0 = time.perf_counter()
            impls[k]()
            times[k].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
    print(f"n={n} float32 threads={losskit.get_num_threads()} isa={losskit.get_isa()} "
          f"alpha={args.alpha} rounds={args.rounds} (median ms, min-max)")
    for k in names:
        print(f"  {k:<32} {med[k]:9.2f}   ({min(times[k]) * 1e3:.2f}-{max(times[k]) * 1e3:.2f})")
    print(f"  barron value+grad / mse value+grad        = {med['barron value+grad'] / med['mse value+grad']:.2f}x")
    if "torch autograd value+all grads" in med:
        print(f"  torch autograd / barron value+all grads  = "
              f"{med['torch autograd value+all grads'] / med['barron value+all grads']:.1f}x")


if __name__ == "__main__":
    main()
