"""`losskit demo`: robust regression through gross outliers, then the optimisation ladder
from random search to Adam on a softmax classifier. Seconds on two cores; no network; PNG
plots when matplotlib is installed."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import numpy as np

from . import _datasets, optim
from ._base import _REGISTRY, get_loss
from ._estimators import LinearClassifier, LinearRegressor
from ._progress import Progress

TRUE_SLOPE, TRUE_INTERCEPT = 0.7, 0.15


def _label(loss: Any) -> str:
    return repr(loss).replace(", reduction='mean'", "").replace("(reduction='mean')", "")


def robust_regression(seed: int, bar: Progress) -> tuple[list[dict[str, Any]], Any]:
    X, y = _datasets.outlier_line(2000, seed)
    losses: list[Any] = [get_loss("mse"), get_loss("huber", delta=0.05), get_loss("l1")]
    if "adaptive_barron" in _REGISTRY:
        losses.append("adaptive_barron")
    rows = []
    for loss in losses:
        start = time.perf_counter()
        m = LinearRegressor(loss, penalty=None, optimizer="adam", lr=0.01, epochs=50,
                            batch_size=64, random_state=seed).fit(X, y)
        elapsed = time.perf_counter() - start
        a, b = float(m.coef_[0]), float(m.intercept_[0])
        row = {"loss": loss if isinstance(loss, str) else _label(loss), "slope": a,
               "intercept": b, "error": max(abs(a - TRUE_SLOPE), abs(b - TRUE_INTERCEPT)),
               "seconds": elapsed}
        for attr in ("alpha", "scale"):
            if hasattr(m.loss_, attr) and isinstance(getattr(m.loss_, "params", None), list):
                row[attr] = float(np.ravel(getattr(m.loss_, attr))[0])
        rows.append(row)
        bar.update(1)
    return rows, (X, y)


class _SoftmaxObjective:
    """Mean cross-entropy of a softmax classifier with flat parameters theta = [W (d x C), b]
    on fixed data, with reused buffers (for the derivative-free searches)."""

    def __init__(self, X: np.ndarray, y: np.ndarray, n_classes: int) -> None:
        self.X, self.y = X, y.astype(np.int64)
        self.d, self.c = X.shape[1], n_classes
        self.scores = np.empty((len(X), n_classes))
        self.loss = get_loss("cross_entropy")
        self.evaluations = 0

    def unpack(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return theta[: self.d * self.c].reshape(self.d, self.c), theta[self.d * self.c:]

    def __call__(self, theta: np.ndarray) -> float:
        W, b = self.unpack(theta)
        np.matmul(self.X, W, out=self.scores)
        self.scores += b
        self.evaluations += 1
        return float(self.loss(self.scores, self.y))

    def accuracy(self, theta: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
        W, b = self.unpack(theta)
        return float(np.mean(np.argmax(X @ W + b, axis=1) == y))


def optimisation_ladder(seed: int, quick: bool, bar: Progress) -> tuple[list[dict[str, Any]], str]:
    X, y, desc = _datasets.digits()
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(X))
    n_test = len(X) // 4
    test, train = order[:n_test], order[n_test:]
    mean, std = X[train].mean(axis=0), X[train].std(axis=0)
    std[std == 0] = 1.0
    X = (X - mean) / std
    Xtr, ytr, Xte, yte = X[train], y[train], X[test], y[test]
    n_classes = int(y.max()) + 1
    rows: list[dict[str, Any]] = []
    searches = 300 if quick else 3000
    obj = _SoftmaxObjective(np.ascontiguousarray(Xtr), ytr, n_classes)
    x0 = np.zeros(Xtr.shape[1] * n_classes + n_classes)
    for label, searcher in (("random search", optim.RandomSearch(scale=0.1, seed=seed)),
                            ("random local search", optim.RandomLocalSearch(step_size=0.02, seed=seed))):
        start = time.perf_counter()
        theta, best, history = searcher.minimize(obj, x0, searches)
        elapsed = time.perf_counter() - start
        rows.append({"method": label, "updates": f"{searches} evaluations", "train_loss": best,
                     "test_accuracy": obj.accuracy(theta, Xte, yte), "seconds": elapsed,
                     "curve": history[np.linspace(0, searches, 21).astype(int)].tolist()})
        bar.update(1)
    epochs = 4 if quick else 20
    ladder = (
        ("full-batch gradient descent", dict(optimizer="sgd", lr=0.5, batch_size=len(Xtr),
                                             epochs=10 * epochs)),
        ("minibatch SGD", dict(optimizer="sgd", lr=0.05, epochs=epochs)),
        ("momentum", dict(optimizer="momentum", lr=0.005, epochs=epochs)),
        ("Nesterov", dict(optimizer="nesterov", lr=0.005, epochs=epochs)),
        ("Adam", dict(optimizer="adam", lr=0.005, epochs=epochs)),
    )
    for label, kw in ladder:
        start = time.perf_counter()
        m = LinearClassifier("cross_entropy", penalty=None, random_state=seed, **kw).fit(Xtr, ytr)
        elapsed = time.perf_counter() - start
        rows.append({"method": label, "updates": f"{m.t_} steps ({m.n_iter_} epochs)",
                     "train_loss": m.loss_curve_[-1], "test_accuracy": m.score(Xte, yte),
                     "seconds": elapsed, "curve": list(m.loss_curve_)})
        bar.update(1)
    return rows, desc


def _plots(out_dir: str, reg_rows: list[dict[str, Any]], line: Any, ladder: list[dict[str, Any]],
           desc: str) -> list[str]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    os.makedirs(out_dir, exist_ok=True)
    X, y = line
    written = []
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    ax.scatter(X[:, 0], y, s=4, color="0.6", label="data (10% gross outliers)")
    xs = np.array([0.0, 1.0])
    ax.plot(xs, TRUE_SLOPE * xs + TRUE_INTERCEPT, "k--", lw=2, label="truth")
    for i, r in enumerate(reg_rows):
        ax.plot(xs, r["slope"] * xs + r["intercept"], color=f"C{i}", lw=1.5, label=r["loss"])
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title("robust regression: y = 0.7 x + 0.15")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = os.path.join(out_dir, "losskit-demo-regression.png")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    written.append(path)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.5))
    for i, r in enumerate(ladder):
        curve = r["curve"]
        a1.plot(np.linspace(0, 1, len(curve)), curve, color=f"C{i}", label=r["method"])
    a1.set_yscale("log")
    a1.set_xlabel("fraction of the run")
    a1.set_ylabel("training cross-entropy")
    a1.legend(fontsize=8)
    a2.barh([r["method"] for r in ladder], [r["test_accuracy"] for r in ladder],
            color=[f"C{i}" for i in range(len(ladder))])
    a2.set_xlim(0, 1)
    a2.set_xlabel("test accuracy")
    a2.invert_yaxis()
    fig.suptitle(f"the optimisation ladder: softmax regression on {desc}")
    fig.tight_layout()
    path = os.path.join(out_dir, "losskit-demo-ladder.png")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    written.append(path)
    return written


def run_demo(seed: int = 0, out_dir: str = ".", plots: bool = True, quick: bool = False) -> int:
    from . import get_isa, get_num_threads

    t0 = time.perf_counter()
    n_reg = 4 if "adaptive_barron" in _REGISTRY else 3
    with Progress(n_reg + 7, "losskit demo") as bar:
        reg_rows, line = robust_regression(seed, bar)
        ladder, desc = optimisation_ladder(seed, quick, bar)
    out = sys.stdout
    print(f"losskit demo (isa {get_isa()}, {get_num_threads()} threads)\n", file=out)
    print("1. Robust regression: 2000 points on y = 0.7 x + 0.15 + N(0, 0.025^2), 10% of them "
          "pushed to 0.05 or 0.85.", file=out)
    print("   LinearRegressor, Adam lr 0.01, 50 epochs of minibatches of 64.\n", file=out)
    print(f"   {'loss':<24}{'slope':>8}{'intercept':>11}{'|error|':>9}{'time':>9}", file=out)
    print(f"   {'truth':<24}{TRUE_SLOPE:8.3f}{TRUE_INTERCEPT:11.3f}", file=out)
    for r in reg_rows:
        extra = ""
        if "alpha" in r:
            extra = f"   learned alpha {r['alpha']:.3f}" + (
                f", scale {r['scale']:.4f}" if "scale" in r else "")
        print(f"   {r['loss']:<24}{r['slope']:8.3f}{r['intercept']:11.3f}{r['error']:9.3f}"
              f"{r['seconds'] * 1e3:7.0f}ms{extra}", file=out)
    if "adaptive_barron" not in _REGISTRY:
        print("   (the adaptive Barron loss joins this table when losskit has it)", file=out)
    print("   Squared error is dragged toward the outliers; losses whose gradient stays bounded",
          file=out)
    print("   (Huber with a small delta, L1, the adaptive loss) recover the line.\n", file=out)
    print(f"2. The optimisation ladder: softmax regression on {desc},", file=out)
    print("   standardised pixels, 75% train / 25% test.\n", file=out)
    print(f"   {'method':<29}{'updates':<25}{'train loss':>11}{'test acc':>10}{'time':>9}",
          file=out)
    for r in ladder:
        print(f"   {r['method']:<29}{r['updates']:<25}{r['train_loss']:11.4f}"
              f"{r['test_accuracy']:10.3f}{r['seconds']:8.2f}s", file=out)
    print("   Blind random search barely moves in 650 dimensions; local search creeps downhill one",
          file=out)
    print("   evaluation at a time; a gradient step uses every coordinate at once.", file=out)
    if plots:
        written = _plots(out_dir, reg_rows, line, ladder, desc)
        if written:
            print("\nplots: " + ", ".join(written), file=out)
        else:
            print("\n(install matplotlib, `pip install 'losskit[plot]'`, for PNG plots)", file=out)
    print(f"\ndemo finished in {time.perf_counter() - t0:.1f} s", file=out)
    return 0


__all__ = ["run_demo", "run_boosting_demo", "get_loss"]


# ---- losskit demo boosting ------------------------------------------------------------------
BOOSTING_PARAMS = {"max_depth": 3, "eta": 0.1, "nthread": 1}


def boosting(seed: int, quick: bool) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    """Boosted trees on the outlier curve: XGBoost's squared error against losskit's robust
    losses through losskit.gbdt, scored by the MAE on the clean test targets."""
    from .gbdt import XGBObjective

    try:
        import xgboost
    except ImportError:
        raise ValueError("the boosting demo needs xgboost; install losskit's gradient boosting "
                         "extra with `pip install 'losskit[gbdt]'`") from None
    n, rounds = (1000, 60) if quick else (3000, 200)
    X, y, _ = _datasets.outlier_curve(n, seed)
    X_test, _, clean_test = _datasets.outlier_curve(n, seed + 1)
    dtrain, dtest = xgboost.DMatrix(X, y), xgboost.DMatrix(X_test)
    models: list[tuple[str, Any]] = [("XGBoost reg:squarederror", None),
                                     ("losskit huber(delta=0.3)", XGBObjective("huber", delta=0.3)),
                                     ("losskit barron(alpha=0)", XGBObjective("barron", alpha=0.0,
                                                                              scale=0.2))]
    rows, curves = [], {}
    grid = np.linspace(-3, 3, 301)[:, None]
    for label, obj in models:
        params = dict(BOOSTING_PARAMS)
        if obj is None:
            params["objective"] = "reg:squarederror"
        else:  # a custom objective starts from base_score: start at the loss's best constant
            params["base_score"] = obj.base_score(y)
        start = time.perf_counter()
        booster = xgboost.train(params, dtrain, rounds, obj=obj)
        elapsed = time.perf_counter() - start
        pred = booster.predict(dtest, output_margin=True)
        rows.append({"model": label, "mae": float(np.mean(np.abs(pred - clean_test))),
                     "seconds": elapsed})
        curves[label] = booster.predict(xgboost.DMatrix(grid), output_margin=True)
    return rows, {"X": X[:, 0], "y": y, "grid": grid[:, 0], **curves}


def _boosting_plot(out_dir: str, curves: dict[str, np.ndarray]) -> str | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    os.makedirs(out_dir, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.scatter(curves["X"], curves["y"], s=3, color="0.65", label="data (10% gross outliers)")
    grid = curves["grid"]
    ax.plot(grid, _datasets.clean_curve(grid), "k--", lw=2, label="clean target")
    for i, label in enumerate(k for k in curves if k not in ("X", "y", "grid")):
        ax.plot(grid, curves[label], color=f"C{i}", lw=1.5, label=label)
    ax.set_ylim(-2.0, 7.0)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title("gradient boosting through outliers: squared error vs losskit's robust losses")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = os.path.join(out_dir, "losskit-demo-boosting.png")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def run_boosting_demo(seed: int = 0, out_dir: str = ".", plots: bool = True,
                      quick: bool = False) -> int:
    t0 = time.perf_counter()
    rows, curves = boosting(seed, quick)
    out = sys.stdout
    n = len(curves["y"])
    print(f"losskit demo boosting: {n} points of y = sin(2x) + 0.3x + N(0, 0.1^2), 10% of them "
          "pushed up by 3 to 6.", file=out)
    print("   XGBoost, depth-3 trees, eta 0.1; losskit's losses through "
          "losskit.gbdt.XGBObjective.\n", file=out)
    print(f"   {'model':<28}{'MAE on clean targets':>22}{'time':>9}", file=out)
    for r in rows:
        print(f"   {r['model']:<28}{r['mae']:22.4f}{r['seconds']:8.2f}s", file=out)
    print("   Squared error follows the outliers up; the robust losses' bounded gradients keep the",
          file=out)
    print("   trees on the clean curve.", file=out)
    if plots:
        path = _boosting_plot(out_dir, curves)
        print(f"\nplot: {path}" if path else
              "\n(install matplotlib, `pip install 'losskit[plot]'`, for a PNG plot)", file=out)
    print(f"\ndemo finished in {time.perf_counter() - t0:.1f} s", file=out)
    return 0

