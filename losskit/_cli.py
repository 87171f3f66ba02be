"""The `losskit` command: list, gradcheck, plot, fit, demo, bench."""

from __future__ import annotations

import argparse
import inspect
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
            # defaults only: a required argument (num_dims) was filled in to build the loss
            required = {k for k, p in inspect.signature(cls.__init__).parameters.items()
                        if p.default is inspect.Parameter.empty}
            params = {k: v for k, v in config.items() if k != "reduction" and k not in required}
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
    described = _catalog._describe(name)
    if described["arity"] == 3:  # the other differentiable arguments
        # (row-wise: the arrays of embeddings after the input; elementwise: the third, before
        # or after the target)
        positions = (range(len(described["operands"])) if described["family"] == "rowwise"
                     else [described["third_position"] - 1])
        _, _, *grads = loss.value_and_grads(x, *args)
        worst = 0.0
        for position, g in zip(positions, grads):
            def moved(v: np.ndarray, position: int = position) -> float:
                rest = list(args)
                rest[position] = v
                return value(x, *rest)

            worst = max(worst, gradcheck(moved, args[position], grad=g).max_rel_error)
        row["third"] = worst
        errors.append(worst)
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

    if args.seed < 0:
        raise UsageError(f"--seed must be non-negative, got {args.seed}")
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
    print(f"{'loss':<22}{'d input':>11}{'d others':>11}{'d params':>11}  result")
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

    lo, hi = args.range
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise UsageError(f"--range LO HI needs finite LO < HI, got {lo:g} {hi:g}")
    _check_output(args.output)
    params = _parse_params(args.params)
    try:
        loss = _catalog.make_loss(args.loss, "sum", **params)
    except TypeError as exc:
        raise UsageError(str(exc)) from None
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


# ---- fit / predict ----------------------------------------------------------------------------
class UsageError(ValueError):
    """A mistake in what the user asked for: reported in one line, exit status 2."""


CLASSIFICATION_SETS = ("digits", "glyphs", "blobs")


def _read_table(path: str, delimiter: str | None, header: str) -> tuple[list[str] | None, list[list[str]]]:
    """The cells of a delimited text file: (column names or None, rows of strings)."""
    import csv

    try:
        with open(path, newline="") as f:
            text = f.read()
    except UnicodeDecodeError:
        raise UsageError(f"{path!r} is not a text table (not UTF-8)") from None
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise UsageError(f"{path!r} is empty")
    if delimiter is None:  # the most frequent of , ; tab in the first line (comma by default)
        counts = {d: lines[0].count(d) for d in (",", ";", "\t")}
        delimiter = max(counts, key=lambda d: (counts[d], d == ","))
    rows = [[c.strip() for c in row] for row in csv.reader(lines, delimiter=delimiter)]
    width = len(rows[0])
    for i, row in enumerate(rows):
        if len(row) != width:
            raise UsageError(f"{path!r}: line {i + 1} has {len(row)} fields, the first line "
                             f"{width} (delimiter {delimiter!r}; --delimiter to choose another)")

    def numeric(cell: str) -> bool:
        try:
            float(cell)
            return True
        except ValueError:
            return False

    if header == "auto":
        # a header: the first row has a non-number in a column that is numeric below it (a
        # first row of data with a string label is not a header)
        body = rows[1:]
        has_header = len(body) > 0 and any(
            not numeric(rows[0][j]) and all(numeric(r[j]) for r in body) for j in range(width))
        if not has_header and len(body) > 0 and all(not numeric(c) for c in rows[0]) and \
                all(all(not numeric(r[j]) for r in body) for j in range(width)):
            has_header = True  # only text: the first row names the columns
    else:
        has_header = header == "yes"
    names = rows[0] if has_header else None
    data = rows[1:] if has_header else rows
    if not data:
        raise UsageError(f"{path!r} has a header and no rows of data")
    return names, data


def _column_index(target: str | None, names: list[str] | None, width: int, path: str) -> int:
    if target is None:
        return width - 1
    if names is not None and target in names:
        return names.index(target)
    try:
        col = int(target)
    except ValueError:
        known = f"; the columns are {', '.join(names)}" if names else " (the file has no header)"
        raise UsageError(f"--target {target!r}: no such column in {path!r}{known}") from None
    if not -width <= col < width:
        raise UsageError(f"--target {col}: {path!r} has {width} columns (0..{width - 1}, or "
                         f"negative from the end)")
    return col % width


def _load_table(path: str, target: str | None, delimiter: str | None, header: str,
                need_target: bool = True) -> dict[str, Any]:
    """Features, target and names of a .csv/.tsv/.txt/.npy/.npz file."""
    import os

    if os.path.isdir(path):
        raise UsageError(f"{path!r} is a directory, not a data file")
    out: dict[str, Any] = {"desc": path, "feature_names": None, "target_name": None}
    if path.endswith(".npz"):
        try:
            z = np.load(path, allow_pickle=False)
        except Exception as exc:
            raise UsageError(f"{path!r} is not a readable .npz file ({exc})") from None
        with z:
            keys = list(z.keys())
            if not keys:
                raise UsageError(f"{path!r} holds no arrays (expected X and y)")
            if "X" in keys:
                X = np.asarray(z["X"])
                y = np.asarray(z["y"]) if "y" in keys else None
            elif len(keys) >= 2:
                X, y = np.asarray(z[keys[0]]), np.asarray(z[keys[1]])
            else:
                X, y = np.asarray(z[keys[0]]), None
        if y is None:
            if need_target:
                if X.ndim != 2 or X.shape[1] < 2:
                    raise UsageError(f"{path!r}: expected arrays X and y, or one 2-D table, got "
                                     f"{keys} of shape {X.shape}")
                col = _column_index(target, None, X.shape[1], path)
                X, y = np.delete(X, col, axis=1), X[:, col]
        if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
            raise UsageError(f"{path!r}: X must be a non-empty 2-D array, got shape {X.shape}")
        if y is not None and (y.ndim != 1 or len(y) != len(X)):
            raise UsageError(f"{path!r}: y must be 1-D with one value per row of X; got X "
                             f"{X.shape} and y {y.shape}")
        if X.dtype.kind not in "biuf":
            raise UsageError(f"{path!r}: X must be numeric, got dtype {X.dtype}")
        out.update(X=X.astype(np.float64), y=y)
        return out
    if path.endswith(".npy"):
        try:
            data = np.load(path, allow_pickle=False)
        except Exception as exc:
            raise UsageError(f"{path!r} is not a readable .npy file ({exc})") from None
        if data.ndim != 2 or data.shape[0] == 0 or data.shape[1] < (2 if need_target else 1):
            raise UsageError(f"{path!r}: expected a 2-D table with features and a target column, "
                             f"got shape {data.shape}")
        if data.dtype.kind not in "biuf":
            raise UsageError(f"{path!r}: expected a numeric table, got dtype {data.dtype}")
        if not need_target and target is None:
            out.update(X=data.astype(np.float64), y=None)
            return out
        col = _column_index(target, None, data.shape[1], path)
        out.update(X=np.delete(data, col, axis=1).astype(np.float64), y=data[:, col])
        return out
    if not path.endswith((".csv", ".tsv", ".txt")):
        raise UsageError(f"{path!r}: data files are .csv, .tsv, .txt, .npy or .npz")
    names, rows = _read_table(path, delimiter, header)
    width = len(rows[0])
    col = None
    if need_target or target is not None:
        if width < 2 and need_target:
            raise UsageError(f"{path!r} has one column: no features besides the target")
        col = _column_index(target, names, width, path)
    cells = [[r[j] for j in range(width) if j != col] for r in rows]
    X = np.empty((len(rows), width - (col is not None)))
    for i, r in enumerate(cells):
        for j, c in enumerate(r):
            try:
                X[i, j] = float(c)
            except ValueError:
                feature_cols = [j2 for j2 in range(width) if j2 != col]
                label = names[feature_cols[j]] if names else f"column {feature_cols[j]}"
                line = i + 1 + (names is not None)
                raise UsageError(f"{path!r} line {line}, {label}: {c!r} is not a number "
                                 f"(features must be numeric; the first line is "
                                 f"{'a header' if names else 'data: --header yes if it names the columns'})") from None
    y = None
    if col is not None:
        raw = [r[col] for r in rows]
        try:
            y = np.array([float(c) for c in raw])
        except ValueError:
            y = np.array(raw)  # class labels as strings
    out.update(X=X, y=y, feature_names=[n for j, n in enumerate(names) if j != col] if names else None,
               target_name=names[col] if names and col is not None else None)
    return out


def _load_data(args: argparse.Namespace) -> dict[str, Any]:
    import os

    from . import _datasets

    spec = args.data
    if not os.path.exists(spec):
        if "." in os.path.basename(spec) and spec.rsplit(".", 1)[1] in ("npy", "npz", "csv", "tsv", "txt"):
            raise UsageError(f"no such file: {spec!r}")
        X, y, desc = _datasets.load(spec, args.seed)
        return {"X": X, "y": y, "desc": desc, "feature_names": None, "target_name": None,
                "builtin_task": "classification" if spec in CLASSIFICATION_SETS else "regression"}
    data = _load_table(spec, args.target, args.delimiter, args.header)
    if data["y"] is None:
        raise UsageError(f"{spec!r}: no target (an .npz needs X and y)")
    return data


def _split(n: int, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    n_test = int(round(n * test_size))
    return np.sort(order[n_test:]), np.sort(order[:n_test])


def _task(args: argparse.Namespace, data: dict[str, Any]) -> tuple[bool, str | None]:
    """(classification?, a note for the user or None)."""
    from ._catalog import CLASSIFICATION_LOSSES

    y = data["y"]
    if args.task != "auto":
        if args.task == "regression" and y.dtype.kind not in "biuf":
            raise UsageError("--task regression needs a numeric target; this one has text labels")
        return args.task == "classification", None
    if args.loss is not None:
        return args.loss in CLASSIFICATION_LOSSES, None
    if "builtin_task" in data:
        return data["builtin_task"] == "classification", None
    if y.dtype.kind not in "biuf":
        return True, None
    values = np.unique(y)
    if np.all(values == np.round(values)) and len(values) <= 20:
        return False, (f"note: the target has {len(values)} distinct integer values; fitting a "
                       f"regression (--task classification to treat them as classes)")
    return False, None


def _check_number(name: str, value: float, lo: float, hi: float, hi_open: bool = True) -> None:
    if not (lo <= value and (value < hi if hi_open else value <= hi)) or value != value:
        raise UsageError(f"{name} must lie in [{lo:g}, {hi:g}{')' if hi_open else ']'}, got {value:g}")


def _check_output(path: str | None) -> None:
    import os

    if path is None:
        return
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UsageError(f"-o {path!r}: the folder {folder!r} does not exist")
    if os.path.isdir(path):
        raise UsageError(f"-o {path!r} is a directory")
    if not os.access(folder, os.W_OK):
        raise UsageError(f"-o {path!r}: the folder is not writable")


def cmd_fit(args: argparse.Namespace) -> int:
    from . import _catalog
    from ._estimators import LinearClassifier, LinearRegressor

    # every check before any training
    _check_number("--test-size", args.test_size, 0.0, 1.0)
    for name, value in (("--epochs", args.epochs), ("--batch-size", args.batch_size),
                        ("--max-iter", args.max_iter)):
        if value < 1:
            raise UsageError(f"{name} must be at least 1, got {value}")
    if args.seed < 0:
        raise UsageError(f"--seed must be non-negative, got {args.seed}")
    for name, value in (("--alpha", args.alpha), ("--lr", args.lr), ("--tol", args.tol)):
        if value is not None and (not value >= 0 or value == float("inf")):
            raise UsageError(f"{name} must be a non-negative number, got {value}")
    _check_output(args.output)
    data = _load_data(args)
    X, y = np.asarray(data["X"], dtype=np.float64), data["y"]
    if not np.all(np.isfinite(X)):
        raise UsageError(f"{data['desc']!r}: the features contain NaN or infinity")
    classify, note = _task(args, data)
    if not classify:
        y = np.asarray(y, dtype=np.float64)
        if not np.all(np.isfinite(y)):
            raise UsageError(f"{data['desc']!r}: the target contains NaN or infinity")
    train, test = _split(len(X), args.test_size, args.seed)
    if len(train) < 2:
        raise UsageError(f"--test-size {args.test_size:g} leaves {len(train)} training rows")
    loss: Any = args.loss
    if args.loss_param:
        params = _parse_params(args.loss_param)
        name = args.loss or ("cross_entropy" if classify else "mse")
        try:
            loss = _catalog.make_loss(name, **params)
        except (TypeError, ValueError) as exc:
            raise UsageError(f"--loss-param {' '.join(args.loss_param)}: {exc}") from None
    est_cls = LinearClassifier if classify else LinearRegressor
    kw: dict[str, Any] = dict(penalty=None if args.penalty == "none" else args.penalty, l1_ratio=args.l1_ratio,
                              solver=args.solver, lr=args.lr, epochs=args.epochs,
                              batch_size=args.batch_size, max_iter=args.max_iter,
                              clip_norm=args.clip_norm, random_state=args.seed,
                              verbose=0 if args.json else 1)
    if args.alpha is not None:
        kw["alpha"] = args.alpha
    if args.tol is not None:
        kw["tol"] = args.tol
    model = est_cls(loss if loss is not None else est_cls().loss, **kw)
    try:
        model._check_hyper()  # a bad combination of options, before any work
        if classify:
            model._check_y(np.asarray(y))
    except (TypeError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    if classify and len(np.unique(y[train])) < 2:
        raise UsageError("the training rows hold a single class: nothing to classify")
    if note and not args.json:
        print(note, file=sys.stderr)
    mean = X[train].mean(axis=0) if args.standardize else np.zeros(X.shape[1])
    std = X[train].std(axis=0) if args.standardize else np.ones(X.shape[1])
    std[std == 0] = 1.0
    Xs = (X - mean) / std
    shown = est_cls(model.loss, **dict(kw, verbose=0))
    start = time.perf_counter()
    model.fit(Xs[train], y[train])
    elapsed = time.perf_counter() - start
    result: dict[str, Any] = {"data": data["desc"], "task": "classification" if classify else "regression",
                              "model": repr(shown), "solver": model.solver_,
                              "n_train": int(len(train)), "n_test": int(len(test)),
                              "n_features": int(X.shape[1]), "n_iter": model.n_iter_,
                              "epochs": model.n_iter_, "steps": model.t_,
                              "fit_seconds": round(elapsed, 4),
                              "final_loss": model.loss_curve_[-1]}
    if note:
        result["note"] = note
    if data.get("target_name"):
        result["target"] = data["target_name"]
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
    if getattr(model, "scale_", None) is not None:
        result["scale"] = float(model.scale_)
    if _catalog.has_latent(model.loss_):
        for attr in ("alpha", "scale"):
            if hasattr(model.loss_, attr):
                result[f"loss_{attr}"] = np.asarray(getattr(model.loss_, attr)).tolist()
    if args.output:
        arrays: dict[str, Any] = dict(coef=np.asarray(model.coef_), intercept=np.asarray(model.intercept_),
                                      feature_mean=mean, feature_scale=std,
                                      loss_curve=np.asarray(model.loss_curve_),
                                      meta=np.array(json.dumps(result)),
                                      task=np.array(result["task"]),
                                      loss=np.array(_catalog_name(model)),
                                      n_features=np.array(X.shape[1]))
        if data.get("feature_names"):
            arrays["feature_names"] = np.array(data["feature_names"])
        if data.get("target_name"):
            arrays["target_name"] = np.array(data["target_name"])
        if classify:
            arrays["classes"] = np.asarray(model.classes_)
        np.savez(args.output, **arrays)
        result["output"] = args.output
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"data: {data['desc']}; {result['task']}, {len(train)} train / {len(test)} test samples")
    print(f"model: {result['model']}")
    unit = "iterations" if model.solver_ in ("lbfgs", "newton") else f"epochs ({model.t_} steps)"
    print(f"trained by {model.solver_}: {model.n_iter_} {unit} in {elapsed:.3f} s; "
          f"final training loss {result['final_loss']:.5g}")
    for key in ("train_accuracy", "test_accuracy", "train_r2", "test_r2", "train_mae", "test_mae",
                "slope", "intercept", "scale", "loss_alpha", "loss_scale"):
        if key in result:
            v = result[key]
            print(f"  {key:<15} {v:.4f}" if isinstance(v, float) else f"  {key:<15} {v}")
    if args.output:
        print(f"wrote {args.output} (load it with `losskit predict {args.output} DATA`)")
    return 0


def _catalog_name(model: Any) -> str:
    from ._estimators import loss_name

    return str(loss_name(model.loss) or type(model.loss_).__name__)


def cmd_predict(args: argparse.Namespace) -> int:
    import os

    if os.path.isdir(args.model):
        raise UsageError(f"{args.model!r} is a directory, not a model file")
    if not os.path.exists(args.model):
        raise UsageError(f"no such model file: {args.model!r}")
    try:
        with np.load(args.model, allow_pickle=False) as z:
            model = {k: z[k] for k in z.keys()}
    except Exception as exc:
        raise UsageError(f"{args.model!r} is not a model written by `losskit fit -o` ({exc})") from None
    need = ("coef", "intercept", "feature_mean", "feature_scale", "task", "n_features")
    missing = [k for k in need if k not in model]
    if missing:
        raise UsageError(f"{args.model!r} is not a model written by `losskit fit -o` "
                         f"(missing {', '.join(missing)})")
    _check_output(args.output)
    d = int(model["n_features"])
    task = str(model["task"])
    target = args.target
    target_name = str(model["target_name"]) if "target_name" in model else None
    if os.path.isdir(args.data):
        raise UsageError(f"{args.data!r} is a directory, not a data file")
    if not os.path.exists(args.data):
        raise UsageError(f"no such file: {args.data!r}")
    if target is None and target_name is not None and args.data.endswith((".csv", ".tsv", ".txt")):
        names, _ = _read_table(args.data, args.delimiter, args.header)
        if names and target_name in names:
            target = target_name
    table = _load_table(args.data, target, args.delimiter, args.header, need_target=False)
    X, y = table["X"], table["y"]
    if y is None and X.shape[1] == d + 1:
        # the data has the target column too: by the model's name for it, else the last
        col = None
        names = table["feature_names"]
        if target_name is not None and names and target_name in names:
            col = names.index(target_name)
        elif target_name is None:
            col = X.shape[1] - 1
        if col is not None:
            y = X[:, col]
            X = np.delete(X, col, axis=1)
    if X.shape[1] != d:
        raise UsageError(f"{args.data!r} has {X.shape[1]} feature columns, the model {d}")
    Xs = (X - model["feature_mean"]) / model["feature_scale"]
    coef = np.reshape(model["coef"], (-1, d))
    scores = Xs @ coef.T + np.reshape(model["intercept"], -1)
    if task == "classification":
        classes = model["classes"]
        if scores.shape[1] == 1:
            pred = classes[(scores[:, 0] > 0).astype(np.intp)]
        else:
            pred = classes[np.argmax(scores, axis=1)]
    else:
        pred = scores[:, 0] if np.ndim(model["coef"]) == 1 or coef.shape[0] == 1 else scores
    out = sys.stdout if args.output is None else open(args.output, "w")
    try:
        if args.json:
            result: dict[str, Any] = {"predictions": np.asarray(pred).tolist()}
            if y is not None:
                if task == "classification":
                    same = (pred.astype(np.float64) == np.asarray(y, dtype=np.float64)
                            if pred.dtype.kind in "biuf" and np.asarray(y).dtype.kind in "biuf"
                            else pred.astype(str) == np.asarray(y).astype(str))
                    result["accuracy"] = float(np.mean(same))
                else:
                    yy = np.asarray(y, dtype=np.float64)
                    result["r2"] = float(1 - np.sum((yy - pred) ** 2) / np.sum((yy - yy.mean()) ** 2))
            print(json.dumps(result), file=out)
        else:
            for p in np.asarray(pred).reshape(len(pred), -1):
                print(",".join(str(v) if isinstance(v, str) else f"{v:.10g}" if isinstance(v, float)
                               else str(v) for v in p.tolist()), file=out)
    finally:
        if out is not sys.stdout:
            out.close()
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
    from . import __version__
    from ._catalog import PENALTIES, SOLVERS

    parser = argparse.ArgumentParser(prog="losskit", description=__doc__)
    parser.add_argument("--version", action="version", version=f"losskit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p_list = sub.add_parser("list", help="every loss: name, parameters, formula, properties")
    p_list.add_argument("--json", action="store_true", help="print the table as JSON")

    p_gc = sub.add_parser("gradcheck", help="analytic vs numerical gradients of every loss")
    p_gc.add_argument("names", nargs="*", metavar="NAME", help="losses to check (default: all)")
    p_gc.add_argument("--json", action="store_true", help="print the results as JSON")
    p_gc.add_argument("--seed", type=int, default=0, help="seed of the random test points (>= 0)")

    p_plot = sub.add_parser("plot", help="a loss, its derivative and exp(-loss) in one PNG")
    p_plot.add_argument("loss", help="a loss name (losskit list)")
    p_plot.add_argument("params", nargs="*", metavar="KEY=VALUE", help="parameters of the loss")
    p_plot.add_argument("-o", "--output", default=None, help="PNG file (default LOSS.png)")
    p_plot.add_argument("--range", type=float, nargs=2, default=(-5.0, 5.0), metavar=("LO", "HI"),
                        help="the interval plotted, LO < HI (default -5 5)")

    data_help = ("a table: .csv/.tsv/.txt (delimiter , ; or tab, detected; a header line is "
                 "detected too), .npy, or .npz with arrays X and y; or a built-in set: line, "
                 "digits, glyphs, blobs")
    p_fit = sub.add_parser("fit", help="train a linear model on a file or a built-in data set")
    p_fit.add_argument("data", help=data_help)
    p_fit.add_argument("--target", default=None, metavar="NAME|INDEX",
                       help="the target column: its header name or index (default: the last)")
    p_fit.add_argument("--delimiter", default=None, help="field delimiter of a text table "
                       "(default: detected among , ; and tab)")
    p_fit.add_argument("--header", choices=("auto", "yes", "no"), default="auto",
                       help="whether the first line of a text table names the columns "
                       "(auto: when it has text where the rows below have numbers)")
    p_fit.add_argument("--task", choices=("auto", "regression", "classification"), default="auto",
                       help="auto: classification for text labels, a classification loss or a "
                       "built-in classification set; numeric targets are regressed")
    p_fit.add_argument("--loss", default=None, help="a loss name (losskit list); default mse / "
                       "cross_entropy")
    p_fit.add_argument("--loss-param", action="append", default=[], metavar="KEY=VALUE",
                       help="a parameter of the loss (repeatable), e.g. delta=1.35")
    p_fit.add_argument("--solver", choices=SOLVERS, default="auto",
                       help="lbfgs / newton (full batch, to convergence) or a minibatch "
                       "optimizer; auto picks (see LinearRegressor)")
    p_fit.add_argument("--optimizer", choices=SOLVERS[3:], default=None, dest="optimizer",
                       help="alias of --solver for the minibatch optimizers")
    p_fit.add_argument("--penalty", choices=PENALTIES, default="l2", help="penalty on the weights")
    p_fit.add_argument("--alpha", type=float, default=None,
                       help="penalty strength (default: the estimator's, 1e-4 / 1e-3)")
    p_fit.add_argument("--l1-ratio", type=float, default=0.15, help="elastic-net mixing")
    p_fit.add_argument("--max-iter", type=int, default=200, help="full-batch solvers: most iterations")
    p_fit.add_argument("--tol", type=float, default=None, help="full-batch solvers: tolerance "
                       "(default 1e-4)")
    p_fit.add_argument("--lr", type=float, default=0.01, help="minibatch solvers: learning rate")
    p_fit.add_argument("--epochs", type=int, default=20, help="minibatch solvers: epochs")
    p_fit.add_argument("--batch-size", type=int, default=32, help="minibatch solvers: batch size")
    p_fit.add_argument("--clip-norm", type=float, default=None,
                       help="minibatch solvers: clip the gradient norm")
    p_fit.add_argument("--test-size", type=float, default=0.25,
                       help="fraction of the rows held out for testing, in [0, 1)")
    p_fit.add_argument("--standardize", action="store_true",
                       help="scale features to zero mean, unit variance (stored in the model)")
    p_fit.add_argument("--seed", type=int, default=0, help="seed of the split and minibatches (>= 0)")
    p_fit.add_argument("-o", "--output", default=None, metavar="MODEL.npz",
                       help="write the model (for `losskit predict`)")
    p_fit.add_argument("--json", action="store_true", help="print the results as JSON")

    p_pred = sub.add_parser("predict", help="predictions of a model written by `losskit fit -o`")
    p_pred.add_argument("model", help="the .npz written by `losskit fit -o`")
    p_pred.add_argument("data", help="a table of features (.csv/.tsv/.txt, .npy or .npz with X); "
                        "a target column, if present, is scored")
    p_pred.add_argument("--target", default=None, metavar="NAME|INDEX",
                        help="the target column of DATA, if any (default: the model's target "
                        "name, or none)")
    p_pred.add_argument("--delimiter", default=None, help="field delimiter of a text table")
    p_pred.add_argument("--header", choices=("auto", "yes", "no"), default="auto",
                        help="whether the first line of a text table names the columns")
    p_pred.add_argument("-o", "--output", default=None, help="write the predictions to a file")
    p_pred.add_argument("--json", action="store_true",
                        help="print predictions (and the score, with a target) as JSON")

    p_demo = sub.add_parser("demo", help="robust regression and the optimisation ladder; "
                            "`demo boosting`: robust gradient boosting with XGBoost")
    p_demo.add_argument("topic", nargs="?", choices=("linear", "boosting"), default="linear",
                        help="linear (default): linear models; boosting: XGBoost with losskit's "
                        "robust losses (needs `pip install 'losskit[gbdt]'`)")
    p_demo.add_argument("--seed", type=int, default=0, help="seed of the data")
    p_demo.add_argument("--out-dir", default=".", help="where the PNG plots go")
    p_demo.add_argument("--no-plots", action="store_true", help="print the tables only")
    p_demo.add_argument("--quick", action="store_true", help="fewer iterations (for tests)")
    sub.add_parser("bench", help="time every workload against NumPy, PyTorch, JAX, scikit-learn and the "
                                 "memory bandwidth (see `losskit bench --help`)")
    args = parser.parse_args(argv)
    if args.command == "fit" and args.optimizer is not None:
        if args.solver not in ("auto", args.optimizer):
            parser.error(f"--optimizer {args.optimizer} contradicts --solver {args.solver}")
        args.solver = args.optimizer
    if args.command == "plot" and args.output is None:
        args.output = f"{args.loss}.png"
    commands = {"list": cmd_list, "gradcheck": cmd_gradcheck, "plot": cmd_plot, "fit": cmd_fit,
                "predict": cmd_predict, "demo": cmd_demo}
    try:
        return commands[args.command](args)
    except ValueError as exc:  # bad names, files, parameters: one line, no traceback
        message = " ".join(str(exc).split())
        print(f"losskit {args.command}: error: {message}", file=sys.stderr)
        return 2
