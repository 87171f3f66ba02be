"""Fitting a linear model to convergence on the data sets scikit-learn ships, against the
scikit-learn estimator of the same model.

Each call is one ``fit`` from scratch on the raw training features (75% of the rows, seeded
split) with the estimators' default settings:

- ``diabetes`` (442 x 10, regression): ``losskit.LinearRegressor()`` (mean squared error,
  L2 1e-4) against ``LinearRegression``;
- ``breast_cancer`` (569 x 30, two classes) and ``digits`` (1797 x 64, ten classes):
  ``losskit.LinearClassifier()`` (cross-entropy, L2 1e-3) against ``LogisticRegression()``;
- ``diabetes+outliers``: the diabetes targets with 10% of the training rows moved by 300-600
  (4-8 standard deviations): ``LinearRegressor(HuberLoss(delta=1.35))`` against
  ``HuberRegressor()`` (epsilon 1.35). (The adaptive Barron loss's fit of the same data is in
  ``examples/compare_sklearn.py``: every contender of a workload runs on every one of its
  data sets, and that loss fits regressions only.)

Different solvers reach different points of a flat optimum, so the correctness gate is on
what fitting is for: each contender's held-out score (R^2 or accuracy) must be within
:data:`SCORE_MARGIN` of the float64 NumPy reference fitted on the same split (least squares;
for the classifiers, plain gradient descent on standardised features; for the contaminated
set, least absolute deviations by reweighted least squares). The value the tables report
next to each time is that score's shortfall from the reference (negative: better).
"""

from __future__ import annotations

import numpy as np

from .impls import Impl, require
from .workload import CheckResult, Contender, Reference, Workload

SCORE_MARGIN = 0.02
TEST_FRACTION = 0.25
SETS = ("diabetes", "breast_cancer", "digits", "diabetes+outliers")


def _load(name: str, seed: int) -> dict[str, np.ndarray]:
    datasets = require("sklearn.datasets")
    base = name.split("+")[0]
    X, y = getattr(datasets, f"load_{base}")(return_X_y=True)
    order = np.random.default_rng(seed).permutation(len(y))
    n_test = int(round(TEST_FRACTION * len(y)))
    test, train = np.sort(order[:n_test]), np.sort(order[n_test:])
    ytr = y[train].astype(np.float64 if base == "diabetes" else np.int64)
    if name.endswith("+outliers"):
        rng = np.random.default_rng(seed + 1)
        bad = rng.random(len(ytr)) < 0.10
        ytr = ytr.copy()
        ytr[bad] += rng.choice([-1.0, 1.0], bad.sum()) * rng.uniform(300, 600, bad.sum())
    return {"X_train": np.ascontiguousarray(X[train]), "y_train": ytr,
            "X_test": np.ascontiguousarray(X[test]), "y_test": y[test],
            "set": np.array([SETS.index(name)])}


def _r2(pred: np.ndarray, y: np.ndarray) -> float:
    return float(1 - np.sum((y - pred) ** 2) / np.sum((y - y.mean()) ** 2))


def _reference_score(name: str, d: dict[str, np.ndarray]) -> float:
    X, y, Xt, yt = d["X_train"], d["y_train"], d["X_test"], d["y_test"]
    A = np.hstack([X, np.ones((len(X), 1))])
    At = np.hstack([Xt, np.ones((len(Xt), 1))])
    if name == "diabetes":
        return _r2(At @ np.linalg.lstsq(A, y, rcond=None)[0], yt)
    if name == "diabetes+outliers":  # least absolute deviations, reweighted least squares
        beta = np.linalg.lstsq(A, y, rcond=None)[0]
        for _ in range(200):
            w = 1.0 / np.maximum(np.abs(y - A @ beta), 1e-6)
            beta = np.linalg.solve(A.T @ (A * w[:, None]), A.T @ (w * y))
        return _r2(At @ beta, yt)
    mu, sd = X.mean(axis=0), np.maximum(X.std(axis=0), 1e-12)
    Z, Zt = (X - mu) / sd, (Xt - mu) / sd
    classes = np.unique(y)
    Y = (y[:, None] == classes[None, :]).astype(np.float64)
    W = np.zeros((Z.shape[1], len(classes)))
    b = np.zeros(len(classes))
    for _ in range(500):  # softmax regression, full-batch gradient descent, L2 1e-3
        S = Z @ W + b
        S -= S.max(axis=1, keepdims=True)
        P = np.exp(S)
        P /= P.sum(axis=1, keepdims=True)
        G = (P - Y) / len(y)
        W -= 0.5 * (Z.T @ G + 1e-3 * W)
        b -= 0.5 * G.sum(axis=0)
    return float(np.mean(classes[np.argmax(Zt @ W + b, axis=1)] == yt))


class FitWorkload(Workload):
    name = "fit"
    suite = "fit"
    description = "fit a linear model to convergence on scikit-learn's data sets (default settings)"
    dtypes = ("float64",)
    contenders = {
        "losskit": Contender("losskit", False, "LinearRegressor() / LinearClassifier() / "
                                               "LinearRegressor(HuberLoss(delta=1.35)), solver='auto'"),
        "sklearn": Contender("sklearn", False, "LinearRegression() / LogisticRegression() / HuberRegressor()"),
    }

    def shapes(self, sizes, shapes, quick):
        return [(i,) for i in range(len(SETS))]

    def overhead_shape(self):
        return None

    def isa_shape(self, quick):
        return None

    def elements(self, shape):
        return shape[0] + 1

    def label(self, shape):
        return SETS[shape[0]]

    def make_inputs(self, shape, dtype, seed):
        return _load(SETS[shape[0]], seed)

    def reference(self, inputs):
        return Reference(value=_reference_score(SETS[int(inputs["set"][0])], inputs))

    def check(self, result, ref, dtype):
        score = result[0]
        shortfall = ref.value - score
        if shortfall > SCORE_MARGIN:
            return CheckResult(False, shortfall, message=f"held-out score {score:.4f}, "
                               f"reference {ref.value:.4f}")
        return CheckResult(True, shortfall)

    def build(self, name, inputs, threads):
        X, y = inputs["X_train"], inputs["y_train"]
        Xt, yt = inputs["X_test"], inputs["y_test"]
        data_set = SETS[int(inputs["set"][0])]
        regression = data_set.startswith("diabetes")
        contaminated = data_set == "diabetes+outliers"
        if name == "losskit":
            lk = require("losskit")
            if contaminated:
                est = lk.LinearRegressor(lk.HuberLoss(delta=1.35))
            else:
                est = lk.LinearRegressor() if regression else lk.LinearClassifier()
        elif name == "sklearn":
            linear = require("sklearn.linear_model")
            if contaminated:
                est = linear.HuberRegressor(epsilon=1.35)
            else:
                est = linear.LinearRegression() if regression else linear.LogisticRegression()
        else:
            raise ValueError(f"unknown contender {name!r}")

        def fit() -> None:
            import warnings

            with warnings.catch_warnings():  # LogisticRegression warns on the raw features
                warnings.simplefilter("ignore")
                est.fit(X, y)

        def score() -> tuple[float, None]:
            return float(est.score(Xt, yt)), None

        return Impl(fit, result=score)


WORKLOADS = [FitWorkload()]
