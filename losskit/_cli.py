"""The `losskit` command: list, gradcheck, plot, fit, demo, bench."""

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


def _label(loss: Any) -> str:
    return repr(loss).replace(", reduction='mean'", "").replace("(reduction='mean')", "")


def cmd_list(args: argparse.Namespace) -> int:
    from . import _base, _catalog

    rows = []
    for name in _base.available_losses():
        cls = _base._REGISTRY[name]
        try:
            loss = _catalog.make_loss(name)
            # Trainable losses (adaptive_barron) hold arrays in .params, settings in .config.
            config = loss.params if isinstance(loss.params, dict) else getattr(loss, "config", {})
            params = {k: v for k, v in config.items() if k != "reduction"}
        except Exception:  # a loss that cannot be built without arguments
            params = {}
        info = _catalog.properties(name)
        rows.append({"name": name, "class": cls.__name__, "params": params,
                     "summary": _summary(cls), "formula": info.pop("formula"),
                     "properties": info})
    if args.json:
        print(json.dumps(rows, indent=2, default=repr))
        return 0
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        params = ", ".join(f"{k}={v!r}" for k, v in r["params"].items())
        props = r["properties"]
        tags = [props["task"]] + [k.replace("_", " ") for k in
                                  ("convex", "smooth", "bounded_gradient", "probabilistic")
                                  if props.get(k)]
        print(f"{r['name']:<{width}}  {r['class']}({params})")
        print(f"{'':<{width}}    {r['formula']}   [{', '.join(tags)}]")
    return 0


# ---- gradcheck ------------------------------------------------------------------------------
def _gradcheck_one(name: str, seed: int) -> dict[str, Any]:
    from . import _catalog
    from ._utils import gradcheck

    rng = np.random.default_rng(seed)
    loss = _catalog.make_loss(name, "sum")
    data = _catalog.sample(name, loss, rng)
    x, args = data["x"], data["args"]
    row: dict[str, Any] = {"name": name}

    def value(xv: np.ndarray, *rest: Any) -> float:
        return float(loss(xv, *rest))

    r = gradcheck(lambda v: value(v, *args), x, grad=loss.grad(x, *args))
    row["input"] = r.max_rel_error
    errors = [r.max_rel_error]
    if len(args) == 2 and hasattr(loss, "value_and_grads"):  # d/d third argument
        t, third = args
        _, _, g3 = loss.value_and_grads(x, t, third)
        r3 = gradcheck(lambda v: value(x, t, v), third, grad=g3)
        row["third"] = r3.max_rel_error
        errors.append(r3.max_rel_error)
    if _catalog.has_latent(loss):  # the loss's own parameters
        worst = 0.0
        for i, p in enumerate(loss.params):
            loss.value_and_grad(x, *args)
            analytic = np.array(loss.param_grads[i], dtype=np.float64, copy=True)
            saved = p.copy()

            def f(v: np.ndarray, p: np.ndarray = p) -> float:
                p[...] = v
                return value(x, *args)

            rp = gradcheck(f, saved, grad=analytic)
            p[...] = saved
            worst = max(worst, rp.max_rel_error)
        row["params"] = worst
        errors.append(worst)
    row["max_rel_error"] = max(errors)
    row["passed"] = bool(row["max_rel_error"] <= 1e-4)
    return row


def cmd_gradcheck(args: argparse.Namespace) -> int:
    from . import _base

    names = args.names or _base.available_losses()
    for n in names:
        if n not in _base._REGISTRY:
            _base.get_loss(n)  # ValueError naming the valid losses
    rows = []
    for name in names:
        try:
            rows.append(_gradcheck_one(name, args.seed))
        except Exception as exc:
            rows.append({"name": name, "max_rel_error": None, "passed": False,
                         "error": f"{type(exc).__name__}: {exc}"})
    ok = all(r["passed"] for r in rows)
    if args.json:
        print(json.dumps({"passed": ok, "rtol": 1e-4, "losses": rows}, indent=2))
        return 0 if ok else 1
    print("analytic vs central-difference gradients (float64, reduction='sum', h=1e-5)")
    print(f"{'loss':<22}{'d input':>11}{'d 3rd arg':>11}{'d params':>11}  result")
    fmt = lambda v: f"{v:11.1e}" if isinstance(v, float) else f"{'-':>11}"  # noqa: E731
    for r in rows:
        status = "ok" if r["passed"] else ("FAIL " + r.get("error", ""))
        print(f"{r['name']:<22}{fmt(r.get('input'))}{fmt(r.get('third'))}{fmt(r.get('params'))}  {status}")
    print(f"\n{sum(r['passed'] for r in rows)}/{len(rows)} losses pass (max relative error <= 1e-4)")
    return 0 if ok else 1


# ---- plot -------------------------------------------------------------------------------------
def _parse_params(items: list[str]) -> dict[str, Any]:
    import ast

    params: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"parameters are key=value, got {item!r}")
        key, _, text = item.partition("=")
        try:
            params[key] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            params[key] = text
    return params


def _pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend, or None (with the one-line message) if missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


_NO_MPL = ("losskit: plotting needs matplotlib; install it with "
           "`pip install 'losskit[plot]'` (or `pip install matplotlib`)")


def cmd_plot(args: argparse.Namespace) -> int:
    from . import _catalog

    params = _parse_params(args.params)
    loss = _catalog.make_loss(args.loss, "sum", **params)
    lo, hi = args.range
    x = np.linspace(lo, hi, 1000)
    value, deriv = _catalog.curve(loss, x)
    with np.errstate(over="ignore"):
        dens = np.exp(-(value - np.min(value)))
    mass = float(np.sum((dens[1:] + dens[:-1]) * np.diff(x)) / 2)
    dens /= mass
    plt = _pyplot()
    if plt is None:
        print(_NO_MPL, file=sys.stderr)
        return 1
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    label = _label(_catalog.make_loss(args.loss, **params)) if not _catalog.has_latent(loss) else args.loss
    what = "residual r" if _catalog._describe(args.loss)["task"] == "regression" \
        else "score of a sample of class +1"
    for ax, y, title in zip(axes, (value, deriv, dens),
                            ("loss", "derivative", f"density exp(-loss) / Z on [{lo:g}, {hi:g}]")):
        ax.plot(x, y, color="C0")
        ax.set_title(title)
        ax.set_xlabel(what)
        ax.axhline(0, color="0.8", lw=0.8)
        ax.grid(alpha=0.3)
    fig.suptitle(label)
    fig.tight_layout()
    fig.savefig(args.output, dpi=100)
    plt.close(fig)
    print(f"wrote {args.output}")
    return 0


# ---- fit ------------------------------------------------------------------------------------
def _load_data(spec: str, target: int, seed: int) -> tuple[np.ndarray, np.ndarray, str]:
    import os

    from . import _datasets

    if not os.path.exists(spec):
        if "." in os.path.basename(spec) and spec.rsplit(".", 1)[1] in ("npy", "npz", "csv"):
            raise ValueError(f"no such file: {spec!r}")
        return _datasets.load(spec, seed)
    if spec.endswith(".npz"):
        with np.load(spec, allow_pickle=False) as z:
            keys = list(z.keys())
            if "X" in keys and "y" in keys:
                return np.asarray(z["X"]), np.asarray(z["y"]), spec
            if len(keys) >= 2:
                return np.asarray(z[keys[0]]), np.asarray(z[keys[1]]), spec
            data = np.asarray(z[keys[0]])
    elif spec.endswith(".npy"):
        data = np.load(spec, allow_pickle=False)
    elif spec.endswith(".csv"):
        with open(spec) as f:
            first = f.readline()
        try:
            [float(v) for v in first.strip().split(",")]
            skip = 0
        except ValueError:
            skip = 1  # a header line
        data = np.loadtxt(spec, delimiter=",", skiprows=skip, ndmin=2)
    else:
        raise ValueError(f"{spec!r}: data files are .npy, .npz or .csv")
    if data.ndim != 2 or data.shape[1] < 2:
        raise ValueError(f"{spec!r}: expected a 2-D table with features and a target column, "
                         f"got shape {data.shape}")
    col = target % data.shape[1]
    return np.delete(data, col, axis=1), data[:, col], spec


def _split(n: int, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    n_test = int(round(n * test_size))
    return np.sort(order[n_test:]), np.sort(order[:n_test])


def _is_classification(task: str, loss: str | None, y: np.ndarray) -> bool:
    from ._catalog import CLASSIFICATION_LOSSES

    if task != "auto":
        return task == "classification"
    if loss is not None:
        return loss in CLASSIFICATION_LOSSES
    if y.dtype.kind in "iub":
        return True
    if y.dtype.kind == "f":
        return bool(np.all(y == np.round(y)) and len(np.unique(y)) <= 20)
    return True  # strings


def cmd_fit(args: argparse.Namespace) -> int:
    from . import _catalog
    from ._estimators import LinearClassifier, LinearRegressor

    X, y, desc = _load_data(args.data, args.target, args.seed)
    X = np.asarray(X, dtype=np.float64)
    classify = _is_classification(args.task, args.loss, y)
    if not classify:
        y = np.asarray(y, dtype=np.float64)
    train, test = _split(len(X), args.test_size, args.seed)
    mean = X[train].mean(axis=0) if args.standardize else np.zeros(X.shape[1])
    std = X[train].std(axis=0) if args.standardize else np.ones(X.shape[1])
    std[std == 0] = 1.0
    Xs = (X - mean) / std
    loss: Any = args.loss
    if args.loss_param:
        loss = _catalog.make_loss(args.loss or ("cross_entropy" if classify else "mse"),
                                  **_parse_params(args.loss_param))
    kw = dict(penalty=None if args.penalty == "none" else args.penalty, alpha=args.alpha,
              l1_ratio=args.l1_ratio, optimizer=args.optimizer, lr=args.lr, epochs=args.epochs,
              batch_size=args.batch_size, clip_norm=args.clip_norm, random_state=args.seed,
              verbose=0 if args.json else 1)
    est_cls = LinearClassifier if classify else LinearRegressor
    model = est_cls(loss if loss is not None else est_cls().loss, **kw)
    shown = est_cls(model.loss, **dict(kw, verbose=0))
    start = time.perf_counter()
    model.fit(Xs[train], y[train])
    elapsed = time.perf_counter() - start
    result: dict[str, Any] = {"data": desc, "task": "classification" if classify else "regression",
                              "model": repr(shown), "n_train": int(len(train)),
                              "n_test": int(len(test)), "n_features": int(X.shape[1]),
                              "epochs": model.n_iter_, "steps": model.t_,
                              "fit_seconds": round(elapsed, 4),
                              "final_loss": model.loss_curve_[-1]}
    for part, idx in (("train", train), ("test", test)):
        if len(idx) == 0:
            continue
        pred = model.predict(Xs[idx])
        if classify:
            result[f"{part}_accuracy"] = float(np.mean(pred == y[idx]))
        else:
            result[f"{part}_r2"] = float(model.score(Xs[idx], y[idx]))
            result[f"{part}_mae"] = float(np.mean(np.abs(pred - y[idx])))
    if not classify and X.shape[1] == 1:  # a line: the slope and intercept in data units
        slope = float(model.coef_[0] / std[0])
        result["slope"] = slope
        result["intercept"] = float(model.intercept_[0] - slope * mean[0])
    if _catalog.has_latent(model.loss_):
        for attr in ("alpha", "scale"):
            if hasattr(model.loss_, attr):
                result[attr] = np.asarray(getattr(model.loss_, attr)).tolist()
    if args.output:
        arrays: dict[str, Any] = dict(coef=np.asarray(model.coef_), intercept=np.asarray(model.intercept_),
                                      feature_mean=mean, feature_scale=std,
                                      loss_curve=np.asarray(model.loss_curve_),
                                      meta=np.array(json.dumps(result)))
        if classify:
            arrays["classes"] = np.asarray(model.classes_)
        np.savez(args.output, **arrays)
        result["output"] = args.output
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"data: {desc}; {result['task']}, {len(train)} train / {len(test)} test samples")
    print(f"model: {result['model']}")
    print(f"trained {model.n_iter_} epochs ({model.t_} steps) in {elapsed:.3f} s; "
          f"final training loss {result['final_loss']:.5g}")
    for key in ("train_accuracy", "test_accuracy", "train_r2", "test_r2", "train_mae", "test_mae",
                "slope", "intercept", "alpha", "scale"):
        if key in result:
            v = result[key]
            print(f"  {key:<15} {v:.4f}" if isinstance(v, float) else f"  {key:<15} {v}")
    if args.output:
        print(f"wrote {args.output} (coef, intercept, feature_mean, feature_scale, loss_curve, "
              f"meta{', classes' if classify else ''})")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from ._demo import run_boosting_demo, run_demo

    if args.topic == "boosting":
        return run_boosting_demo(seed=args.seed, out_dir=args.out_dir, plots=not args.no_plots,
                                 quick=args.quick)
    return run_demo(seed=args.seed, out_dir=args.out_dir, plots=not args.no_plots, quick=args.quick)


def cmd_bench(argv: list[str]) -> int:
    from .bench import main as bench_main

    return int(bench_main(argv) or 0)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["bench"]:  # the harness parses its own options
        return cmd_bench(argv[1:])
    from ._catalog import OPTIMIZERS, PENALTIES

    parser = argparse.ArgumentParser(prog="losskit", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_list = sub.add_parser("list", help="every loss: name, parameters, formula, properties")
    p_list.add_argument("--json", action="store_true")

    p_gc = sub.add_parser("gradcheck", help="analytic vs numerical gradients of every loss")
    p_gc.add_argument("names", nargs="*", metavar="NAME", help="losses to check (default: all)")
    p_gc.add_argument("--json", action="store_true")
    p_gc.add_argument("--seed", type=int, default=0)

    p_plot = sub.add_parser("plot", help="a loss, its derivative and exp(-loss) in one PNG")
    p_plot.add_argument("loss")
    p_plot.add_argument("params", nargs="*", metavar="KEY=VALUE")
    p_plot.add_argument("-o", "--output", default=None, help="PNG file (default LOSS.png)")
    p_plot.add_argument("--range", type=float, nargs=2, default=(-5.0, 5.0), metavar=("LO", "HI"))

    p_fit = sub.add_parser("fit", help="train a linear model on a file or a built-in data set")
    p_fit.add_argument("data", help="a .npy/.csv table (target in the last column, or --target), "
                       "a .npz with X and y, or a built-in set: line, digits, glyphs, blobs")
    p_fit.add_argument("--target", type=int, default=-1, help="target column of a table")
    p_fit.add_argument("--task", choices=("auto", "regression", "classification"), default="auto")
    p_fit.add_argument("--loss", default=None, help="a loss name (losskit list)")
    p_fit.add_argument("--loss-param", action="append", default=[], metavar="KEY=VALUE")
    p_fit.add_argument("--penalty", choices=PENALTIES, default="l2")
    p_fit.add_argument("--alpha", type=float, default=1e-4, help="penalty strength")
    p_fit.add_argument("--l1-ratio", type=float, default=0.15)
    p_fit.add_argument("--optimizer", choices=OPTIMIZERS, default="adam")
    p_fit.add_argument("--lr", type=float, default=0.01)
    p_fit.add_argument("--epochs", type=int, default=20)
    p_fit.add_argument("--batch-size", type=int, default=32)
    p_fit.add_argument("--clip-norm", type=float, default=None)
    p_fit.add_argument("--test-size", type=float, default=0.25)
    p_fit.add_argument("--standardize", action="store_true", help="scale features to unit variance")
    p_fit.add_argument("--seed", type=int, default=0)
    p_fit.add_argument("-o", "--output", default=None, help="write the model as .npz")
    p_fit.add_argument("--json", action="store_true")

    p_demo = sub.add_parser("demo", help="robust regression and the optimisation ladder; "
                            "`demo boosting`: robust gradient boosting with XGBoost")
    p_demo.add_argument("topic", nargs="?", choices=("linear", "boosting"), default="linear",
                        help="linear (default): linear models; boosting: XGBoost with losskit's "
                        "robust losses (needs `pip install 'losskit[gbdt]'`)")
    p_demo.add_argument("--seed", type=int, default=0)
    p_demo.add_argument("--out-dir", default=".", help="where the PNG plots go")
    p_demo.add_argument("--no-plots", action="store_true")
    p_demo.add_argument("--quick", action="store_true", help="fewer iterations (for tests)")
    sub.add_parser("bench", help="time every workload against NumPy, PyTorch, JAX, scikit-learn and the "
                                 "memory bandwidth (see `losskit bench --help`)")
    args = parser.parse_args(argv)
    if args.command == "plot" and args.output is None:
        args.output = f"{args.loss}.png"
    commands = {"list": cmd_list, "gradcheck": cmd_gradcheck, "plot": cmd_plot, "fit": cmd_fit,
                "demo": cmd_demo}
    try:
        return commands[args.command](args)
    except ValueError as exc:  # bad names, files, parameters: one line, no traceback
        print(f"losskit {args.command}: error: {exc}", file=sys.stderr)
        return 2
