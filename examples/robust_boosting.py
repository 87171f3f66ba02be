"""
Gradient boosting through gross outliers
========================================

Squared error against losskit's robust losses, in XGBoost and LightGBM::

    python examples/robust_boosting.py [--seed 0] [--rounds 200] [--plot boosting.png]

Data: x ~ U(-3, 3), clean target f(x) = sin(2x) + 0.3x, y = f(x) + N(0, 0.1^2), and 10% of
the y pushed up by 3 to 6. XGBoost's built-in squared error follows the outliers up; the same
trees grown on losskit's Huber and Barron losses (losskit.gbdt.XGBObjective) stay on the
clean curve; with LightGBM installed, the same comparison runs there (LGBMObjective). Each
model is scored by the mean absolute error against the clean targets of fresh data.

A custom objective starts from base_score (XGBoost) or 0 (LightGBM): the script starts each
robust model at the loss's best constant (XGBObjective.base_score, LGBMObjective.init_score)
as the built-in objectives do. Needs `pip install 'losskit[gbdt]'` (matplotlib for --plot).
"""

from __future__ import annotations

import argparse

import numpy as np

from losskit.gbdt import LGBMObjective, XGBObjective


def make_data(seed, n):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3, 3, n)
    clean = np.sin(2 * x) + 0.3 * x
    y = clean + rng.normal(0, 0.1, n)
    outliers = rng.random(n) < 0.10
    y[outliers] += rng.uniform(3, 6, int(outliers.sum()))
    return x[:, None], y, clean


def robust_objectives(cls):
    return {"huber(delta=0.3)": cls("huber", delta=0.3),
            "barron(alpha=0, scale=0.2)": cls("barron", alpha=0.0, scale=0.2)}


def xgboost_models(X, y, X_test, rounds):
    import xgboost

    params = {"max_depth": 3, "eta": 0.1, "nthread": 1}
    dtrain, dtest = xgboost.DMatrix(X, y), xgboost.DMatrix(X_test)
    booster = xgboost.train({**params, "objective": "reg:squarederror"}, dtrain, rounds)
    preds = {"squared error (built-in)": booster.predict(dtest)}
    for label, obj in robust_objectives(XGBObjective).items():
        booster = xgboost.train({**params, "base_score": obj.base_score(y)}, dtrain, rounds,
                                obj=obj)
        preds[f"losskit {label}"] = booster.predict(dtest, output_margin=True)
    return preds


def lightgbm_models(X, y, X_test, rounds):
    import lightgbm

    params = {"num_leaves": 8, "learning_rate": 0.1, "num_threads": 1, "verbose": -1}
    booster = lightgbm.train({**params, "objective": "regression"}, lightgbm.Dataset(X, y), rounds)
    preds = {"squared error (built-in)": booster.predict(X_test)}
    for label, obj in robust_objectives(LGBMObjective).items():
        data = lightgbm.Dataset(X, y, init_score=obj.init_score(y))
        booster = lightgbm.train({**params, "objective": obj}, data, rounds)
        # LightGBM keeps init_score out of the model: add the constant back
        preds[f"losskit {label}"] = booster.predict(X_test) + obj.optimal_constant(y)
    return preds


def main(argv=None):
    parser = argparse.ArgumentParser(description=(__doc__ or "").strip().partition("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--plot", default=None, help="save a PNG of the XGBoost fits here")
    args = parser.parse_args(argv)
    X, y, _ = make_data(args.seed, 3000)
    X_test, _, clean_test = make_data(args.seed + 1, 3000)
    results = {"XGBoost": xgboost_models(X, y, X_test, args.rounds)}
    try:
        results["LightGBM"] = lightgbm_models(X, y, X_test, args.rounds)
    except ImportError:
        print("(LightGBM is not installed: XGBoost only)")
    worst_robust, best_builtin = 0.0, np.inf
    for library, preds in results.items():
        print(f"{library}: MAE on the clean targets")
        for label, pred in preds.items():
            mae = float(np.mean(np.abs(pred - clean_test)))
            print(f"  {label:<38} {mae:.4f}")
            if label.startswith("losskit"):
                worst_robust = max(worst_robust, mae)
            else:
                best_builtin = min(best_builtin, mae)
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        plt = None
    if plt is not None:
        order = np.argsort(X_test[:, 0])
        fig, ax = plt.subplots(figsize=(7, 4.5))
        ax.scatter(X[:, 0], y, s=3, color="0.65", label="training data (10% gross outliers)")
        ax.plot(X_test[order, 0], clean_test[order], "k--", lw=2, label="clean target")
        for i, (label, pred) in enumerate(results["XGBoost"].items()):
            ax.plot(X_test[order, 0], pred[order], color=f"C{i}", lw=1.2, label=label)
        ax.set_ylim(-2.0, 7.0)
        ax.legend(fontsize=8)
        ax.set_title("XGBoost through outliers")
        fig.tight_layout()
        if args.plot:
            fig.savefig(args.plot, dpi=100)
            print(f"wrote {args.plot}")
    ok = worst_robust < best_builtin
    print(f"robust losses beat squared error: {'yes' if ok else 'NO'}")
    return 0 if ok else 1


if __name__ == "__main__":
    status = main()
    if status:  # (a success returns: the docs build runs this file and must not exit)
        raise SystemExit(status)
