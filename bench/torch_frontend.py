"""losskit.torch against torch.nn: forward + backward of every loss PyTorch has, and the cost
of the custom operator.

For every loss whose definition names a ``torch.nn.functional`` function, at N elements
(row-wise losses: N / 16 rows of 16), float32, mean reduction: ``losskit.torch.<Class>()``
forward + backward against the ``torch.nn.functional`` function forward + backward (autograd
on the arrays losskit differentiates), after checking that both give the same value and
gradients. Next to them, the plain losskit call (NumPy arrays, ``value_and_grad`` /
``value_and_grads``) and the cost of PyTorch's dispatch of a custom operator with autograd
(an operator that returns a zero and a saved, uninitialised gradient, forward + backward, at
the same N): ``overhead`` is losskit.torch / (plain losskit + dispatch), the target being
at most 1.3. Contenders run in interleaved rounds (order rotated), one sample being enough calls
to last 2 ms; the median per call is reported, and the ratios of the fastest samples too (on a
busy machine the minimum is the steadier estimate of a fixed cost)::

    python -m losskit.bench.torch_frontend [--sizes 1e2,1e3,1e4,1e5,1e6,1e7] [--threads 2]
        [--losses mse,cross_entropy] [--rounds 7] [--json FILE]

Needs torch.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings
from typing import Any, Callable

import numpy as np

SIZES = "1e2,1e3,1e4,1e5,1e6,1e7"
ROW_LENGTH = 16


def _sample(losskit: Any, name: str, n: int) -> list[np.ndarray]:
    """The loss's data arguments in call order (float32 where real), ``n`` elements in all."""
    from losskit import _catalog

    loss = losskit.get_loss(name)
    rng = np.random.default_rng(n)
    if name in _catalog.ROWWISE:
        data = _catalog.sample(name, loss, rng, n=max(n // ROW_LENGTH, 1), c=ROW_LENGTH)
    else:
        data = _catalog.sample(name, loss, rng, n=n)
    return [a.astype(np.float32) if a.dtype.kind == "f" else a for a in (data["x"], *data["args"])]


def _torch_kwargs(module: Any) -> dict[str, Any]:
    """The module's constructor arguments as torch.nn.functional takes them."""
    import torch

    kwargs = {k: v for k, v in module._config.items() if k != "param"}
    for k in ("weight", "pos_weight"):
        if kwargs.get(k) is not None:
            kwargs[k] = torch.as_tensor(np.asarray(kwargs[k], dtype=np.float32))
    return kwargs


def _contenders(torch: Any, losskit: Any, lt: Any, name: str, arrays: list[np.ndarray]
                ) -> tuple[dict[str, Callable[[], Any]], list[Any]]:
    """The four calls timed, and the tensors the two forward + backward calls differentiate."""
    d = losskit._base.DEFINITIONS[name]
    module = getattr(lt, d["class_name"])(reduction="mean")
    function = getattr(torch.nn.functional, d["torch_function"])
    kwargs = _torch_kwargs(module)
    positions = [0] + [module._data.index(n) for n in d["operands"] if n in module._data]
    tensors = [torch.from_numpy(a.copy()) for a in arrays]
    leaves = [tensors[i].requires_grad_(True) for i in positions]

    def step(f: Callable[..., Any]) -> Callable[[], Any]:
        def call() -> Any:
            for t in leaves:
                t.grad = None
            out = f(*tensors)
            out.backward()
            return out

        return call

    plain = losskit.get_loss(name, reduction="mean")
    grads = plain.value_and_grads if len(positions) > 1 else plain.value_and_grad
    x = torch.from_numpy(arrays[0].copy()).requires_grad_(True)
    return {"losskit.torch": step(module),
            "torch.nn": step(lambda *a: function(*a, **kwargs)),
            "losskit (NumPy)": lambda: grads(*arrays),
            "dispatch": _dispatch_call(torch, x)}, leaves


_DISPATCH_OP: list[Any] = []


def _dispatch_call(torch: Any, x: Any) -> Callable[[], Any]:
    """Forward + backward of a custom operator that does next to nothing: its value is a new
    0-d zero, its saved gradient a new empty tensor of the input's shape (an allocation, as a
    loss's gradient is)."""
    if not _DISPATCH_OP:
        @torch.library.custom_op("losskit_bench::dispatch", mutates_args=(), device_types="cpu",
                                 schema="(Tensor input) -> (Tensor, Tensor)")
        def dispatch(input):
            return input.new_zeros(()), torch.empty_like(input)

        @dispatch.register_fake
        def _(input):
            return input.new_empty(()), torch.empty_like(input)

        def setup(ctx, inputs, output):
            ctx.mark_non_differentiable(output[1])
            ctx.set_materialize_grads(False)
            ctx.save_for_backward(output[1])

        def backward(ctx, grad, _):
            return ctx.saved_tensors[0].detach()  # an alias: no copy into the leaf's .grad

        dispatch.register_autograd(backward, setup_context=setup)
        _DISPATCH_OP.append(dispatch)
    op = _DISPATCH_OP[0]

    def call() -> Any:
        x.grad = None
        out = op(x)[0]
        out.backward()
        return out

    return call


def _check(contenders: dict[str, Callable[[], Any]], leaves: list[Any]) -> None:
    """losskit.torch's value and gradients against torch.nn's."""
    values, grads = {}, {}
    for key in ("losskit.torch", "torch.nn"):
        values[key] = contenders[key]().item()
        grads[key] = [t.grad.clone() for t in leaves]
    scale = max(abs(values["torch.nn"]), 1e-30)
    if abs(values["losskit.torch"] - values["torch.nn"]) > 1e-3 * scale:
        raise SystemExit(f"value differs: {values}")
    for a, b in zip(grads["losskit.torch"], grads["torch.nn"]):
        err = float((a - b).abs().max()) / max(float(b.abs().max()), 1e-30)
        if not err < 1e-3:
            raise SystemExit(f"gradient differs from torch.nn: relative error {err:.2g}")


def _time(call: Callable[[], Any]) -> tuple[int, float]:
    """Calls per sample (a sample lasts >= 2 ms) and the time of one call."""
    call()
    k, t = 1, 0.0
    while True:
        t0 = time.perf_counter()
        for _ in range(k):
            call()
        t = time.perf_counter() - t0
        if t >= 2e-3:
            return k, t / k
        k *= 2


def run(sizes: list[int], losses: list[str] | None, rounds: int,
        report: Callable[[dict], None] = lambda row: None) -> list[dict]:
    from .impls import require

    torch = require("torch")
    losskit = require("losskit")
    import losskit.torch as lt

    names = [n for n, d in sorted(losskit._base.DEFINITIONS.items())
             if d["torch_function"] and d["class_name"] and (losses is None or n in losses)]
    with warnings.catch_warnings():
        # PyTorch warns that kl_div's "mean" (over elements, losskit's too) is not batchmean
        warnings.filterwarnings("ignore", message="reduction: 'mean' divides the total loss")
        return _measure(torch, losskit, lt, names, sizes, rounds, report)


def _measure(torch: Any, losskit: Any, lt: Any, names: list[str], sizes: list[int],
             rounds: int, report: Callable[[dict], None]) -> list[dict]:
    rows = []
    for n in sizes:
        for name in names:
            arrays = _sample(losskit, name, n)
            contenders, leaves = _contenders(torch, losskit, lt, name, arrays)
            _check(contenders, leaves)
            calls = {key: _time(fn)[0] for key, fn in contenders.items()}
            samples: dict[str, list[float]] = {key: [] for key in contenders}
            keys = list(contenders)
            for r in range(rounds):
                for key in keys[r % len(keys):] + keys[:r % len(keys)]:
                    fn, k = contenders[key], calls[key]
                    t0 = time.perf_counter()
                    for _ in range(k):
                        fn()
                    samples[key].append((time.perf_counter() - t0) / k)
            med = {key: statistics.median(v) for key, v in samples.items()}
            best = {key: min(v) for key, v in samples.items()}
            rows.append({"loss": name, "elements": int(arrays[0].size),
                         "shape": list(arrays[0].shape),
                         **{f"{key}_s": v for key, v in med.items()},
                         **{f"{key}_min_s": v for key, v in best.items()},
                         "vs_torch": med["losskit.torch"] / med["torch.nn"],
                         "vs_torch_min": best["losskit.torch"] / best["torch.nn"],
                         "overhead": med["losskit.torch"] / (med["losskit (NumPy)"]
                                                             + med["dispatch"]),
                         "overhead_min": best["losskit.torch"] / (best["losskit (NumPy)"]
                                                                  + best["dispatch"])})
            report(rows[-1])
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=SIZES)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--losses", default=None, help="comma-separated registry names")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    import torch

    import losskit

    torch.set_num_threads(args.threads)
    losskit.set_num_threads(args.threads)
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    losses = args.losses.split(",") if args.losses else None
    print(f"forward + backward, float32, mean reduction, {args.threads} threads; median of "
          f"{args.rounds} interleaved rounds (microseconds per call)")
    print(f"{'loss':24} {'N':>8} {'losskit.torch':>13} {'torch.nn':>10} {'ratio':>6} "
          f"{'NumPy':>9} {'dispatch':>9} {'overhead':>8} {'ratio(min)':>10} "
          f"{'overhead(min)':>12}")

    def report(r: dict) -> None:
        print(f"{r['loss']:24} {r['elements']:>8.0e} {r['losskit.torch_s'] * 1e6:>13.1f} "
              f"{r['torch.nn_s'] * 1e6:>10.1f} {r['vs_torch']:>6.2f} "
              f"{r['losskit (NumPy)_s'] * 1e6:>9.1f} {r['dispatch_s'] * 1e6:>9.1f} "
              f"{r['overhead']:>8.2f} {r['vs_torch_min']:>10.2f} {r['overhead_min']:>12.2f}",
              flush=True)

    rows = run(sizes, losses, args.rounds, report)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
