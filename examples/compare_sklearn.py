"""
losskit's linear models against scikit-learn's
==============================================

losskit's linear models side by side with scikit-learn's on the data sets scikit-learn
ships, and on contaminated copies of them (the table of the estimators guide).

Each row fits both estimators with their defaults on the raw features (75/25 split,
random_state=0) and prints the held-out score (R^2 or accuracy) and the best fit time of
five (``--repeats``; the documentation's build times each fit once). Contaminated copies:
10% of the training targets moved by 300-600 (diabetes, 4-8 standard deviations) or given a
wrong label (classification); the test part stays clean. Run it with::

    python examples/compare_sklearn.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import timeit
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import HuberRegressor, LinearRegression, LogisticRegression, QuantileRegressor
from sklearn.model_selection import train_test_split

import losskit


def split(load, contaminate=False, seed=0):
    X, y = load(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0)
    if contaminate:
        rng = np.random.default_rng(seed)
        bad = rng.random(len(ytr)) < 0.10
        ytr = ytr.copy()
        if load is load_diabetes:
            ytr[bad] += rng.choice([-1.0, 1.0], bad.sum()) * rng.uniform(300, 600, bad.sum())
        else:
            k = len(np.unique(y))
            ytr[bad] = (ytr[bad] + rng.integers(1, k, bad.sum())) % k
    return Xtr, Xte, ytr, yte


def timed(est, X, y, repeats):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        seconds = min(timeit.repeat(lambda: est.fit(X, y), number=1, repeat=repeats))
    return est, seconds


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").strip().partition("\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="fits timed per row (best kept)")
    repeats = parser.parse_args(argv).repeats
    rows = []
    for load, name in ((load_diabetes, "diabetes"), (load_breast_cancer, "breast cancer"),
                       (load_digits, "digits")):
        for contaminate in (False, True):
            Xtr, Xte, ytr, yte = split(load, contaminate)
            noise = " + 10% outliers" if load is load_diabetes else " + 10% wrong labels"
            label = name + (noise if contaminate else "")
            if load is load_diabetes:
                pairs = [("LinearRegressor()", losskit.LinearRegressor(), "LinearRegression()",
                          LinearRegression())]
                if contaminate:
                    pairs.append(("LinearRegressor(HuberLoss(delta=1.35))",
                                  losskit.LinearRegressor(losskit.HuberLoss(delta=1.35)),
                                  "HuberRegressor()", HuberRegressor(max_iter=1000)))
                    pairs.append(('LinearRegressor("adaptive_barron")',
                                  losskit.LinearRegressor("adaptive_barron"), "", None))
                    pairs.append(('LinearRegressor("l1")', losskit.LinearRegressor("l1"),
                                  "QuantileRegressor(alpha=0)",
                                  QuantileRegressor(quantile=0.5, alpha=0.0, solver="highs")))
            else:
                pairs = [("LinearClassifier()", losskit.LinearClassifier(), "LogisticRegression()",
                          LogisticRegression())]
            for ours_name, ours, theirs_name, theirs in pairs:
                ours, t_ours = timed(ours, Xtr, ytr, repeats)
                row = [label, ours_name, f"{ours.score(Xte, yte):.4f}", f"{t_ours * 1e3:.2f}",
                       f"{ours.solver_} ({ours.n_iter_})"]
                if theirs is not None:
                    theirs, t_theirs = timed(theirs, Xtr, ytr, repeats)
                    row += [theirs_name, f"{theirs.score(Xte, yte):.4f}", f"{t_theirs * 1e3:.2f}"]
                else:
                    row += ["", "", ""]
                rows.append(row)
    header = ["data", "losskit", "score", "ms", "solver (iterations)", "scikit-learn", "score",
              "ms"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in rows:
        print("| " + " | ".join(r) + " |")
    plot(rows)


def plot(rows):
    """The held-out scores side by side (when matplotlib is installed)."""
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        return
    labels = [f"{r[0]}\n{r[1]}" for r in rows]
    ours = [float(r[2]) for r in rows]
    theirs = [float(r[6]) if r[6] else np.nan for r in rows]
    y = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(8, 0.55 * len(rows) + 1))
    ax.barh(y - 0.2, ours, height=0.4, label="losskit")
    ax.barh(y + 0.2, theirs, height=0.4, label="scikit-learn")
    ax.set_yticks(y, labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("held-out score (R^2 or accuracy)")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, fontsize=8)
    fig.tight_layout()


if __name__ == "__main__":
    main()
