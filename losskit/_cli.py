"""The `losskit` command: list, demo, bench."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import numpy as np


def _summary(cls: type) -> str:
    doc = (cls.__doc__ or "").strip().splitlines()
    return doc[0] if doc else ""


def cmd_list(args: argparse.Namespace) -> int:
    from . import _base

    rows = []
    for name in _base.available_losses():
        cls = _base._REGISTRY[name]
        try:
            loss = _base.get_loss(name)
            # Trainable losses (adaptive_barron) hold arrays in .params and their settings in .config.
            config = loss.params if isinstance(loss.params, dict) else loss.config
        except TypeError:  # required constructor arguments (adaptive_barron: num_dims)
            config = {}
        params = {k: v for k, v in config.items() if k != "reduction"}
        rows.append({"name": name, "class": cls.__name__, "params": params,
                     "summary": _summary(cls)})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        params = ", ".join(f"{k}={v!r}" for k, v in r["params"].items())
        print(f"{r['name']:<{width}}  {r['class']}({params})  {r['summary']}")
    return 0


def _fit_line(loss: Any, x: np.ndarray, y: np.ndarray, steps: int, lr: float) -> tuple[float, float]:
    """Full-batch gradient descent with momentum on y ~ a x + b under `loss`."""
    a = b = 0.0
    va = vb = 0.0
    grad = np.empty_like(y)
    for _ in range(steps):
        _, g = loss.value_and_grad(a * x + b, y, out=grad)
        ga, gb = float(g @ x), float(g.sum())
        va, vb = 0.9 * va + ga, 0.9 * vb + gb
        a, b = a - lr * va, b - lr * vb
    return a, b


def cmd_demo(args: argparse.Namespace) -> int:
    from . import HuberLoss, L1Loss, LogCoshLoss, MSELoss, PseudoHuberLoss, get_isa, get_num_threads

    rng = np.random.default_rng(args.seed)
    n = 2000
    x = rng.uniform(0, 1, n)
    y = 0.7 * x + 0.15 + rng.normal(0, 0.025, n)
    outliers = rng.random(n) < 0.10
    y[outliers] = rng.choice([0.05, 0.85], outliers.sum())
    print(f"losskit demo: robust line fit, {n} points, 10% gross outliers "
          f"(isa {get_isa()}, {get_num_threads()} threads)")
    print("truth: slope 0.700  intercept 0.150\n")
    print(f"{'loss':<34}{'slope':>8}{'intercept':>11}{'|error|':>9}{'time':>9}")
    losses = [MSELoss(), L1Loss(), HuberLoss(delta=0.05), PseudoHuberLoss(delta=0.05),
              LogCoshLoss()]
    for loss in losses:
        start = time.perf_counter()
        a, b = _fit_line(loss, x, y, steps=3000, lr=0.05)
        elapsed = time.perf_counter() - start
        err = max(abs(a - 0.7), abs(b - 0.15))
        label = repr(loss).replace(", reduction='mean'", "").replace("(reduction='mean')", "")
        print(f"{label:<34}{a:8.3f}{b:11.3f}{err:9.3f}{elapsed * 1e3:7.0f}ms")
    print("\nSquared error is pulled toward the outliers; the losses that grow linearly beyond")
    print("a small residual recover the line. log_cosh is quadratic for |r| < 1, so at this")
    print("scale it behaves like squared error.")
    return 0


def cmd_bench(argv: list[str]) -> int:
    from .bench import main as bench_main

    return int(bench_main(argv) or 0)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["bench"]:  # the harness parses its own options
        return cmd_bench(argv[1:])
    parser = argparse.ArgumentParser(prog="losskit", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_list = sub.add_parser("list", help="every loss: name, parameters, formula")
    p_list.add_argument("--json", action="store_true")
    p_demo = sub.add_parser("demo", help="robust regression with every regression loss")
    p_demo.add_argument("--seed", type=int, default=0)
    sub.add_parser("bench", help="benchmark against NumPy/PyTorch (see `losskit bench --help`)")
    args = parser.parse_args(argv)
    return {"list": cmd_list, "demo": cmd_demo}[args.command](args)
