"""Row-wise losses against PyTorch eager: value and every gradient (forward + backward), mean
reduction, one call each, float32.

Every row-wise loss is taken from its definition (``_core.loss_definitions()``): its arguments
are drawn by ``losskit._catalog.sample`` from the definition's target kind, and losskit is
called through ``value_and_grads`` (losses of several arrays) or ``value_and_grad``; a new
row-wise loss is benchmarked as soon as it is defined. The PyTorch peer of a loss is the
``torch.nn.functional`` function of the same semantics (``TORCH`` below; Poly-1 is written
out: PyTorch has no such function), autograd on the arrays losskit differentiates. K-dimensional
cross-entropy ((N, C, d1, d2) logits, (N, d1, d2) labels) is timed the same way.

    python -m losskit.bench.rows [--quick] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any, Callable

import numpy as np

SHAPES = [(64, 16), (1024, 128), (16384, 256)]
QUICK_SHAPES = [(64, 16), (1024, 128)]
KDIM_SHAPES = [(8, 21, 32, 32), (32, 21, 64, 64)]


def _poly1(torch: Any, x: Any, y: Any) -> Any:
    F = torch.nn.functional
    return (F.cross_entropy(x, y, reduction="none") + 1.0 - torch.gather(
        F.softmax(x, dim=1), 1, y.unsqueeze(1)).squeeze(1)).mean()


# (functional, positional arguments as losskit takes them) -> scalar tensor
TORCH: dict[str, Callable[..., Any]] = {
    "cross_entropy": lambda torch, *a: torch.nn.functional.cross_entropy(*a),
    "nll": lambda torch, *a: torch.nn.functional.nll_loss(*a),
    "multi_margin": lambda torch, *a: torch.nn.functional.multi_margin_loss(*a),
    "poly1": _poly1,
    "multilabel_soft_margin": lambda torch, *a: torch.nn.functional.multilabel_soft_margin_loss(*a),
    "multilabel_margin": lambda torch, *a: torch.nn.functional.multilabel_margin_loss(*a),
    "cosine_embedding": lambda torch, *a: torch.nn.functional.cosine_embedding_loss(*a),
    "triplet_margin": lambda torch, *a: torch.nn.functional.triplet_margin_loss(*a),
}


def _best(call: Callable[[], Any], budget: float = 0.3) -> float:
    """The best of repeated calls (seconds), at least 5, within about `budget` seconds."""
    call()
    times = []
    start = time.perf_counter()
    while len(times) < 5 or time.perf_counter() - start < budget:
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
        if len(times) >= 200:
            break
    return min(times)


def _losskit_call(losskit: Any, d: dict, args: list) -> Callable[[], Any]:
    loss = losskit.get_loss(d["name"])
    if d["arity"] == 3:
        return lambda: loss.value_and_grads(*args)
    return lambda: loss.value_and_grad(*args)


def _torch_call(torch: Any, d: dict, args: list) -> Callable[[], Any] | None:
    fn = TORCH.get(d["name"])
    if fn is None:
        return None
    grads = 1 + len(d["operands"])  # the arrays losskit differentiates come first
    tensors = [torch.from_numpy(a) for a in args]
    leaves = [t.requires_grad_(True) for t in tensors[:grads]]

    def call() -> Any:
        for t in leaves:
            t.grad = None
        out = fn(torch, *tensors)
        out.backward()
        return out.item()

    return call


def run(quick: bool = False, shapes: list | None = None, kdim_shapes: list | None = None,
        budget: float = 0.3) -> list[dict]:
    from .impls import require

    torch = require("torch")
    losskit = require("losskit")  # the installed build, not the source tree
    from losskit import _catalog, _core

    rows = []
    shapes = shapes or (QUICK_SHAPES if quick else SHAPES)
    kdim_shapes = kdim_shapes or (KDIM_SHAPES[:1] if quick else KDIM_SHAPES)
    for d in _core.loss_definitions():
        if d["family"] != "rowwise" or not d["class_name"]:
            continue
        for n, c in shapes:
            data = _catalog._row_sample(d, np.random.default_rng(0), n, c)
            args = [a.astype(np.float32) if a.dtype.kind == "f" else a
                    for a in (data["x"], *data["args"])]
            if d["name"] == "nll":
                args[0] = args[0] - np.log(np.sum(np.exp(args[0]), axis=1, keepdims=True))
            entry = {"loss": d["name"], "shape": [n, c],
                     "losskit_us": 1e6 * _best(_losskit_call(losskit, d, args), budget)}
            peer = _torch_call(torch, d, args)
            if peer is not None:
                entry["torch_us"] = 1e6 * _best(peer, budget)
            rows.append(entry)
    for shape in kdim_shapes:
        rng = np.random.default_rng(1)
        x = rng.normal(0, 2, shape).astype(np.float32)
        y = rng.integers(0, shape[1], (shape[0], *shape[2:]))
        d = {"name": "cross_entropy", "arity": 2, "operands": []}
        rows.append({"loss": "cross_entropy (K-dim)", "shape": list(shape),
                     "losskit_us": 1e6 * _best(_losskit_call(losskit, d, [x, y]), budget),
                     "torch_us": 1e6 * _best(_torch_call(torch, d, [x, y]), budget)})
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    rows = run(args.quick)
    print(f"{'loss':28} {'shape':>20} {'losskit us':>11} {'torch us':>10} {'speed-up':>8}")
    for r in rows:
        t, mine = r.get("torch_us"), r["losskit_us"]
        peer = "-" if t is None else f"{t:.1f}"
        ratio = "-" if t is None else f"{t / mine:.1f}x"
        print(f"{r['loss']:28} {str(tuple(r['shape'])):>20} {mine:11.1f} {peer:>10} {ratio:>8}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
