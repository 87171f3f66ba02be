"""Second derivatives: ``grad_hess`` against ``value_and_grad`` of the same loss, every
elementwise loss, same data, same process, interleaved rounds (median per call).

The speed target: ``grad_hess(out=(g, h))`` at most 1.2x the time of
``value_and_grad(out=g)`` at N = 1e7. Both write into preallocated buffers; grad_hess stores
one array more (2 reads + 2 writes against 2 reads + 1 write), so the same-shape bandwidth
kernels are timed beside them: ``np.add(x, y, out=a)`` (2 + 1 streams) and the pair
``np.add(x, y, out=a); np.multiply(x, y, out=b)`` (2 + 2 streams, but reading twice)::

    python -m losskit.bench.grad_hess [--sizes 1e7] [--threads 2] [--dtype float32]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any, Callable

import numpy as np

ROUNDS = 7


def _data(definition: dict[str, Any], n: int, dtype: Any) -> tuple[np.ndarray, np.ndarray]:
    """Arguments drawn from the definition's domains (as the harness's default workloads)."""
    from .defined import _data_maker

    return _data_maker(definition)((n,), dtype, 0)


def _median_times(calls: dict[str, Callable[[], Any]], rounds: int) -> dict[str, float]:
    times: dict[str, list[float]] = {k: [] for k in calls}
    for call in calls.values():
        call()  # warm up: page in the buffers
    for _ in range(rounds):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
    return {k: statistics.median(v) for k, v in times.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1e7")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args(argv)
    import losskit
    from losskit import _base

    losskit.set_num_threads(args.threads)
    dtype = np.dtype(args.dtype)
    names = sorted(n for n, d in _base.DEFINITIONS.items()
                   if d["class_name"] and d["family"] == "elementwise" and d["arity"] == 2)
    print(f"grad_hess vs value_and_grad, {args.dtype}, {args.threads} threads, "
          f"{losskit.get_isa()}; median of {args.rounds} interleaved rounds")
    for n in (int(float(s)) for s in args.sizes.split(",")):
        print(f"\nN = {n:.0e}")
        print(f"{'loss':<22}{'value_and_grad':>16}{'grad_hess':>12}{'ratio':>8}")
        a, b = np.empty(n, dtype), np.empty(n, dtype)
        x0, y0 = np.random.default_rng(1).normal(size=(2, n)).astype(dtype)
        stream = _median_times({
            "2+1": lambda: np.add(x0, y0, out=a),
            "2+2": lambda: (np.add(x0, y0, out=a), np.multiply(x0, y0, out=b)),
        }, args.rounds)
        for name in names:
            loss = losskit.get_loss(name, reduction="mean")
            x, y = _data(_base.DEFINITIONS[name], n, dtype)
            g, h = np.empty_like(x), np.empty_like(x)
            policy = loss.hessians[0]
            t = _median_times({
                "vg": lambda: loss.value_and_grad(x, y, out=g),
                "gh": lambda: loss.grad_hess(x, y, out=(g, h), hessian=policy),
            }, args.rounds)
            print(f"{name:<22}{t['vg'] * 1e3:>13.2f} ms{t['gh'] * 1e3:>9.2f} ms"
                  f"{t['gh'] / t['vg']:>8.2f}")
        print(f"{'bandwidth 2+1 / 2+2':<22}{stream['2+1'] * 1e3:>13.2f} ms"
              f"{stream['2+2'] * 1e3:>9.2f} ms{stream['2+2'] / stream['2+1']:>8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
