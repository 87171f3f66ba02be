"""losskit.jax under jax.jit against jax.jit of the same formula in jax.numpy: value and gradient
(``jax.value_and_grad``), mean reduction, float32.

The speed target: ``jax.jit(jax.value_and_grad(losskit.jax.<loss>))`` faster than
``jax.jit(jax.value_and_grad(<the jnp formula>))`` at N >= 1e4. Contenders, per loss and N:

- ``losskit.jax``: the XLA FFI custom call (one fused kernel call; the backward pass scales the
  saved gradient by the cotangent);
- ``jnp jit``: the formula written in jax.numpy, differentiated and fused by XLA;
- ``pure_callback``: losskit.jax's path for builds without jaxlib's headers (the same kernel
  through ``jax.pure_callback``);
- ``losskit numpy``: ``loss.value_and_grad(x, y, out=g)`` on NumPy arrays, no JAX at all;
- ``jit 2x``: ``jax.jit(lambda x: 2 * x)``, not a contender: what XLA takes to read N elements
  and write a fresh array of N (the gradient's allocation is part of every jitted call).

The per-call overhead of a path is its time at N = 100 less losskit numpy's. Every contender is
checked against the jnp formula (float32, relative error 1e-4) before anything is timed, then
all are timed in interleaved rounds (each timing repeats the call until it lasts about 2 ms);
the best round is reported, as in ``bench/rows.py``: on a shared machine the other rounds add
the neighbours' load, not the code's cost::

    python -m losskit.bench.jax_frontend [--sizes 1e2,1e3,1e4,1e5,1e6,1e7] [--threads 2]
                                         [--rounds 7]

Needs jax. losskit runs on ``--threads`` threads (OpenMP); XLA's CPU backend picks its own
(pin both with taskset or OMP_NUM_THREADS for a fixed comparison).
"""

from __future__ import annotations

import argparse
import time
from typing import Any, Callable

import numpy as np

ROUNDS = 7


def _formulas(jnp: Any) -> dict[str, tuple[Callable[..., Any], dict[str, Any]]]:
    """The jnp formula of each loss (mean reduction) and the losskit parameters it matches."""
    def huber(x, y, delta=1.0):
        r = jnp.abs(x - y)
        return jnp.mean(jnp.where(r <= delta, 0.5 * r * r, delta * (r - 0.5 * delta)))

    def barron(x, y, alpha=0.5, scale=0.7):
        b = abs(alpha - 2.0)
        z = ((x - y) / scale) ** 2 / b
        return jnp.mean(b / alpha * ((z + 1.0) ** (alpha / 2.0) - 1.0))

    def bce_with_logits(x, y):
        return jnp.mean(jnp.maximum(x, 0) - x * y + jnp.log1p(jnp.exp(-jnp.abs(x))))

    return {"huber": (huber, {"delta": 1.0}), "barron": (barron, {"alpha": 0.5, "scale": 0.7}),
            "bce_with_logits": (bce_with_logits, {})}


def _per_call(fn: Callable[[], Any], jax: Any) -> float:
    """Seconds per call: the call repeated until it lasts about 2 ms."""
    reps = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(reps):
            out = fn()
        jax.block_until_ready(out)
        elapsed = time.perf_counter() - t0
        if elapsed > 2e-3 or reps >= 1 << 14:
            return elapsed / reps
        reps *= 4


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1e2,1e3,1e4,1e5,1e6,1e7")
    parser.add_argument("--losses", default="huber,barron,bce_with_logits")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args(argv)
    import jax
    import jax.numpy as jnp

    import losskit
    from losskit import functional
    from losskit import jax as LJ

    losskit.set_num_threads(args.threads)
    formulas = _formulas(jnp)
    print(f"value_and_grad, mean, float32, losskit on {args.threads} threads; FFI built: "
          f"{LJ.FFI}; best of {args.rounds} interleaved rounds; times per call")
    print(f"{'loss':<16} {'N':>6}  {'losskit.jax':>11}  {'jnp jit':>9}  {'callback':>9}  "
          f"{'numpy':>9}  {'jit 2x':>9}  {'jnp/losskit.jax':>15}")
    double = jax.jit(lambda a: 2 * a)
    for name in args.losses.split(","):
        formula, params = formulas[name]
        fname = functional.function_name(name)
        lj = getattr(LJ, fname)
        for n in (int(float(s)) for s in args.sizes.split(",")):
            rng = np.random.default_rng(n)
            x = rng.standard_normal(n, dtype=np.float32)
            x[x == 0] = 1.0  # (at 0 jnp.maximum's gradient is 1/2: a subgradient convention)
            y = (rng.random(n) < 0.5).astype(np.float32) if name == "bce_with_logits" else \
                rng.standard_normal(n, dtype=np.float32)
            xj, yj = jax.device_put(x), jax.device_put(y)
            ffi = jax.jit(jax.value_and_grad(lambda a, b: lj(a, b, **params)))
            reference = jax.jit(jax.value_and_grad(lambda a, b: formula(a, b, **params)))
            kernel_call = LJ._kernel_call
            LJ._kernel_call = LJ._callback_call  # traced now: this function keeps the callback
            callback = jax.jit(jax.value_and_grad(lambda a, b: lj(a, b, **params)))
            jax.block_until_ready(callback(xj, yj))
            LJ._kernel_call = kernel_call
            loss = losskit.get_loss(name, **params)
            g = np.empty_like(x)
            contenders = {"losskit.jax": lambda: ffi(xj, yj), "jnp": lambda: reference(xj, yj),
                          "callback": lambda: callback(xj, yj),
                          "numpy": lambda: loss.value_and_grad(x, y, out=g),
                          "2x": lambda: double(xj)}
            want_v, want_g = (np.asarray(r, np.float64) for r in reference(xj, yj))
            for label, call in list(contenders.items())[:-1]:
                v, gr = call()
                err = max(abs(float(v) - float(want_v)) / max(abs(float(want_v)), 1e-30),
                          float(np.max(np.abs(np.asarray(gr, np.float64) - want_g)) /
                                max(float(np.max(np.abs(want_g))), 1e-30)))
                if not err < 1e-4:
                    raise SystemExit(f"{label} {name} N={n} differs from the jnp formula: "
                                     f"relative error {err:.2g}")
            times: dict[str, list[float]] = {k: [] for k in contenders}
            for _ in range(args.rounds):
                for label, call in contenders.items():
                    times[label].append(_per_call(call, jax))
            t = {k: min(v) for k, v in times.items()}
            print(f"{name:<16} {n:>6.0e}  {_fmt(t['losskit.jax'])}  {_fmt(t['jnp'], 9)}  "
                  f"{_fmt(t['callback'], 9)}  {_fmt(t['numpy'], 9)}  {_fmt(t['2x'], 9)}  "
                  f"{t['jnp'] / t['losskit.jax']:>14.2f}x")
    return 0


def _fmt(seconds: float, width: int = 11) -> str:
    return (f"{seconds * 1e6:.1f}us" if seconds < 1e-3 else f"{seconds * 1e3:.2f}ms").rjust(width)


if __name__ == "__main__":
    raise SystemExit(main())
