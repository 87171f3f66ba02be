"""losskit.gbdt: losskit's losses as XGBoost and LightGBM objectives and metrics.

Real boosters on small data (a few hundred samples, ten rounds, one thread). The references
are the libraries' built-in objectives (the same model, to float32 rounding) and NumPy
formulas (softmax curvatures, optimal constants, metric values).
"""

from __future__ import annotations

import os
import pickle
import re
import subprocess
import sys

import numpy as np
import pytest

xgb = pytest.importorskip("xgboost")
lgb = pytest.importorskip("lightgbm")

import losskit  # noqa: E402
from losskit import gbdt  # noqa: E402

N, K, ROUNDS = 400, 4, 10
XGB_PARAMS = {"nthread": 1, "max_depth": 3, "eta": 0.3, "tree_method": "hist"}
# losskit's mse is (x - y)^2, twice reg:squarederror: the same model takes reg_lambda and
# min_child_weight doubled (XGBoost's defaults are 1 and 1)
XGB_MSE_SCALE = {"reg_lambda": 2.0, "min_child_weight": 2.0}
LGB_PARAMS = {"num_threads": 1, "verbose": -1, "num_leaves": 7, "learning_rate": 0.3,
              "deterministic": True, "force_col_wise": True}


def softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, 4))
    w = rng.uniform(0.2, 3.0, N)
    y_reg = 2.0 * X[:, 0] + np.sin(X[:, 1]) + 5.0 + 0.3 * rng.normal(size=N)
    y_bin = (X[:, 1] + 0.5 * X[:, 2] + 0.5 * rng.normal(size=N) > 0.3).astype(np.float64)
    y_cls = np.digitize(X[:, 0] + 0.4 * X[:, 3] + 0.3 * rng.normal(size=N), [-0.7, 0.0, 0.7])
    return {"X": X, "w": w, "mse": y_reg, "bce_with_logits": y_bin, "cross_entropy": y_cls}


def split_conditions(booster):
    """Every split of every tree, as XGBoost dumps it ([f0<0.25] ...), in tree order."""
    return [re.findall(r"\[f\d+<[^\]]+\]", tree) for tree in booster.get_dump()]


# ---- the same models as the built-in objectives ------------------------------------------------
XGB_BUILTIN = {"mse": "reg:squarederror", "bce_with_logits": "binary:logistic",
               "cross_entropy": "multi:softprob"}


@pytest.mark.parametrize("name", ["mse", "bce_with_logits", "cross_entropy"])
def test_xgboost_train_gives_the_builtin_model(data, name):
    X, w, y = data["X"], data["w"], data[name]
    dtrain = xgb.DMatrix(X, y, weight=w)
    obj = gbdt.XGBObjective(name)
    extra = {"num_class": K} if name == "cross_entropy" else {}
    builtin = xgb.train({**XGB_PARAMS, **extra, "objective": XGB_BUILTIN[name]}, dtrain, ROUNDS)
    ours = xgb.train({**XGB_PARAMS, **extra, **(XGB_MSE_SCALE if name == "mse" else {}),
                      "base_score": obj.base_score(y, w)}, dtrain, ROUNDS, obj=obj)
    assert split_conditions(ours) == split_conditions(builtin)
    want = builtin.predict(dtrain, output_margin=True)
    got = ours.predict(dtrain, output_margin=True)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-6 * np.abs(want).max())


def test_xgboost_sklearn_wrappers_give_the_builtin_models(data):
    X, w = data["X"], data["w"]
    common = {"n_estimators": ROUNDS, "max_depth": 3, "learning_rate": 0.3, "n_jobs": 1}
    y = data["mse"]
    obj = gbdt.XGBObjective("mse")
    ours = xgb.XGBRegressor(objective=obj, base_score=obj.base_score(y, w), reg_lambda=2.0,
                            min_child_weight=2.0, **common).fit(X, y, sample_weight=w)
    builtin = xgb.XGBRegressor(**common).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(ours.predict(X), builtin.predict(X), rtol=1e-6)

    y = data["bce_with_logits"]
    obj = gbdt.XGBObjective(losskit.BCEWithLogitsLoss())
    ours = xgb.XGBClassifier(objective=obj, **common,
                             base_score=obj.base_score(y, w, objective="binary:logistic"))
    ours.fit(X, y, sample_weight=w)
    builtin = xgb.XGBClassifier(**common).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(ours.predict_proba(X), builtin.predict_proba(X), atol=1e-6)

    y = data["cross_entropy"]
    obj = gbdt.XGBObjective("cross_entropy")
    ours = xgb.XGBClassifier(objective=obj, base_score=obj.base_score(y, w), **common)
    ours.fit(X, y, sample_weight=w)
    builtin = xgb.XGBClassifier(**common).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(ours.predict_proba(X), builtin.predict_proba(X), atol=1e-6)
    assert np.array_equal(ours.predict(X), builtin.predict(X))


LGB_BUILTIN = {"mse": "regression", "bce_with_logits": "binary", "cross_entropy": "multiclass"}


@pytest.mark.parametrize("name", ["mse", "bce_with_logits", "cross_entropy"])
def test_lightgbm_train_gives_the_builtin_model(data, name):
    X, w, y = data["X"], data["w"], data[name]
    obj = gbdt.LGBMObjective(name)
    extra = {"num_class": K} if name == "cross_entropy" else {}
    builtin = lgb.train({**LGB_PARAMS, **extra, "objective": LGB_BUILTIN[name]},
                        lgb.Dataset(X, y, weight=w), ROUNDS)
    ours = lgb.train({**LGB_PARAMS, **extra, "objective": obj},
                     lgb.Dataset(X, y, weight=w, init_score=obj.init_score(y, w)), ROUNDS)
    mine, theirs = ours.dump_model()["tree_info"], builtin.dump_model()["tree_info"]
    assert [t["num_leaves"] for t in mine] == [t["num_leaves"] for t in theirs]
    # LightGBM does not store init_score in the model: add the constant back
    got = ours.predict(X, raw_score=True) + obj.optimal_constant(y, w)
    want = builtin.predict(X, raw_score=True)
    if name == "cross_entropy":  # the built-in's class scores are uncentred log frequencies
        got, want = softmax(got), softmax(want)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6 * np.abs(want).max())


def test_lightgbm_sklearn_wrappers_give_the_builtin_models(data):
    X, w = data["X"], data["w"]
    common = {"n_estimators": ROUNDS, "num_leaves": 7, "learning_rate": 0.3, "n_jobs": 1,
              "verbose": -1, "deterministic": True, "force_col_wise": True}
    y = data["mse"]
    obj = gbdt.LGBMObjective("mse")
    ours = lgb.LGBMRegressor(objective=obj, **common)
    ours.fit(X, y, sample_weight=w, init_score=obj.init_score(y, w))
    builtin = lgb.LGBMRegressor(**common).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(ours.predict(X) + obj.optimal_constant(y, w), builtin.predict(X),
                               rtol=1e-7)  # LightGBM stores gradients as float32

    y = data["bce_with_logits"]
    obj = gbdt.LGBMObjective("bce_with_logits")
    ours = lgb.LGBMClassifier(objective=obj, **common)
    ours.fit(X, y, sample_weight=w, init_score=obj.init_score(y, w))
    builtin = lgb.LGBMClassifier(**common).fit(X, y, sample_weight=w)
    got = sigmoid(ours.predict(X, raw_score=True) + obj.optimal_constant(y, w))
    np.testing.assert_allclose(got, builtin.predict_proba(X)[:, 1], atol=1e-7)

    y = data["cross_entropy"]
    obj = gbdt.LGBMObjective("cross_entropy")
    ours = lgb.LGBMClassifier(objective=obj, **common)
    ours.fit(X, y, sample_weight=w, init_score=obj.init_score(y, w))
    builtin = lgb.LGBMClassifier(**common).fit(X, y, sample_weight=w)
    got = softmax(ours.predict(X, raw_score=True) + obj.optimal_constant(y, w))
    np.testing.assert_allclose(got, builtin.predict_proba(X), atol=1e-7)


# ---- robust losses on contaminated data ---------------------------------------------------------
def contaminated(seed, n):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, size=(n, 3))
    clean = np.sin(2 * X[:, 0]) + 0.5 * X[:, 1] ** 2
    y = clean + 0.1 * rng.normal(size=n)
    gross = rng.random(n) < 0.1
    y[gross] += rng.uniform(8, 12, size=int(gross.sum()))
    return X, y, clean


ROBUST = [("huber", {"delta": 0.5}), ("pseudo_huber", {"delta": 0.5}),
          ("barron", {"alpha": 0.0, "scale": 0.3}), ("quantile", {"quantile": 0.5})]


@pytest.fixture(scope="module")
def outliers():
    X, y, _ = contaminated(1, 600)
    X_test, _, clean_test = contaminated(2, 1000)
    mse_xgb = xgb.train({**XGB_PARAMS, "objective": "reg:squarederror"}, xgb.DMatrix(X, y), 30)
    mse_lgb = lgb.train({**LGB_PARAMS, "objective": "regression"}, lgb.Dataset(X, y), 30)
    return {"X": X, "y": y, "X_test": X_test, "clean": clean_test,
            "xgb_mae": np.mean(np.abs(mse_xgb.predict(xgb.DMatrix(X_test)) - clean_test)),
            "lgb_mae": np.mean(np.abs(mse_lgb.predict(X_test) - clean_test))}


@pytest.mark.parametrize("name,params", ROBUST, ids=[r[0] for r in ROBUST])
def test_robust_objectives_beat_squared_error_under_outliers(outliers, name, params):
    X, y, X_test, clean = outliers["X"], outliers["y"], outliers["X_test"], outliers["clean"]
    obj = gbdt.XGBObjective(name, **params)
    booster = xgb.train({**XGB_PARAMS, "base_score": obj.base_score(y)}, xgb.DMatrix(X, y), 30,
                        obj=obj)
    assert all(tree.count("leaf=") > 1 for tree in booster.get_dump())
    mae = np.mean(np.abs(booster.predict(xgb.DMatrix(X_test), output_margin=True) - clean))
    assert mae < outliers["xgb_mae"], (mae, outliers["xgb_mae"])

    obj = gbdt.LGBMObjective(name, **params)
    booster = lgb.train({**LGB_PARAMS, "objective": obj},
                        lgb.Dataset(X, y, init_score=obj.init_score(y)), 30)
    assert booster.num_trees() == 30  # LightGBM stops at the first tree it cannot split
    assert all(t["num_leaves"] > 1 for t in booster.dump_model()["tree_info"])
    pred = booster.predict(X_test, raw_score=True) + obj.optimal_constant(y)
    mae = np.mean(np.abs(pred - clean))
    assert mae < outliers["lgb_mae"], (mae, outliers["lgb_mae"])


def pinball(y, pred, q):
    u = y - pred
    return np.mean(np.maximum(q * u, (q - 1) * u))


@pytest.mark.parametrize("q", [0.2, 0.8])
def test_quantile_objectives_match_the_builtin_quantile_regressions(q):
    # heteroscedastic noise: the q-quantile is not the mean shifted. The built-ins
    # (reg:quantileerror, LightGBM's quantile) refit each leaf to its residuals' quantile;
    # the custom objective takes Newton steps with the capped IRLS curvature
    def make(seed, n):
        rng = np.random.default_rng(seed)
        X = rng.uniform(-2, 2, size=(n, 3))
        return X, np.sin(2 * X[:, 0]) + (0.2 + 0.3 * np.abs(X[:, 1])) * rng.normal(size=n)

    X, y = make(3, 800)
    X_test, y_test = make(4, 4000)
    obj = gbdt.XGBObjective("quantile", quantile=q)
    ours = xgb.train({**XGB_PARAMS, "base_score": obj.base_score(y)}, xgb.DMatrix(X, y), 30,
                     obj=obj).predict(xgb.DMatrix(X_test), output_margin=True)
    builtin = xgb.train({**XGB_PARAMS, "objective": "reg:quantileerror", "quantile_alpha": q},
                        xgb.DMatrix(X, y), 30).predict(xgb.DMatrix(X_test))
    assert abs(np.mean(y_test <= ours) - q) < 0.05
    assert pinball(y_test, ours, q) < 1.05 * pinball(y_test, builtin, q)
    obj = gbdt.LGBMObjective("quantile", quantile=q)
    booster = lgb.train({**LGB_PARAMS, "objective": obj},
                        lgb.Dataset(X, y, init_score=obj.init_score(y)), 30)
    assert all(t["num_leaves"] > 1 for t in booster.dump_model()["tree_info"])
    ours = booster.predict(X_test, raw_score=True) + obj.optimal_constant(y)
    builtin = lgb.train({**LGB_PARAMS, "objective": "quantile", "alpha": q},
                        lgb.Dataset(X, y), 30).predict(X_test)
    assert abs(np.mean(y_test <= ours) - q) < 0.05
    assert pinball(y_test, ours, q) < 1.05 * pinball(y_test, builtin, q)


def weighted_median(v, w):
    order = np.argsort(v, kind="stable")
    cum = np.cumsum(w[order])
    return v[order][np.searchsorted(cum, 0.5 * cum[-1])]


def test_quantile_auto_curvature_is_the_irls_curvature_capped_at_its_median(data):
    w = data["w"].copy()
    w[:5] = 0.0  # zero-weight samples take no part in the median
    y = data["mse"]
    pred = y + np.random.default_rng(6).normal(size=N)
    pred[7] = y[7]  # a residual of exactly 0: the plain IRLS curvature is 2^22
    q = 0.8
    r = pred - y
    g_ref = w * np.where(r > 0, 1 - q, np.where(r < 0, -q, 0.0))
    irls = 1.0 / (2.0 * np.maximum(np.abs(r), 2.0**-23))  # the pinball loss's majorizer
    capped = np.minimum(irls, weighted_median(irls[w > 0], w[w > 0]))
    for cls in (gbdt.XGBObjective, gbdt.LGBMObjective):
        g, h = cls("quantile", quantile=q)(y, pred, w)
        np.testing.assert_allclose(g, g_ref, rtol=1e-12)
        np.testing.assert_allclose(h, w * capped, rtol=1e-12)
        g, h = cls("quantile", quantile=q, hessian="irls")(y, pred, w)
        np.testing.assert_allclose(h, w * irls, rtol=1e-6)
    # the cap follows the residuals' scale: rescaled targets, the same leaf values -G/H, scaled
    obj = gbdt.XGBObjective("quantile", quantile=q)
    g1, h1 = obj(y, pred, w)
    g2, h2 = obj(1000.0 * y, 1000.0 * pred, w)
    np.testing.assert_allclose(g2, g1, rtol=1e-12)
    np.testing.assert_allclose(h2, h1 / 1000.0, rtol=1e-9)
    # one score per target (a multi-target booster): each target's own median
    Y = np.stack([y, 10.0 * y], axis=1)
    P = np.stack([pred, 10.0 * pred], axis=1)
    _, h = obj(Y.ravel(), P, w)
    np.testing.assert_allclose(h, np.stack([w * capped, w * capped / 10.0], axis=1), rtol=1e-9)


def test_the_losses_with_a_kink_are_the_ones_with_unbounded_irls_curvature():
    # every registry loss that offers irls, probed on a fine grid and at its kinks: the
    # adapter caps the curvature of exactly those whose curvature blows up
    grid = np.concatenate([np.linspace(-3, 3, 6001), [0.0, 0.1, -0.1, 1.0, -1.0]])
    variants = [(name, {}) for name in losskit.available_losses()]
    variants += [("smooth_l1", {"beta": 0.0}), ("epsilon_insensitive", {"squared": True})]
    probed = 0
    for name, params in variants:
        try:
            loss = losskit.get_loss(name, reduction="sum", **params)
        except TypeError:  # needs arguments of its own (adaptive_barron)
            continue
        d = gbdt.DEFINITIONS.get(name, {})
        # a third argument per sample is nothing a booster provides
        if "irls" not in getattr(loss, "hessians", ()) or d["arity"] == 3:
            continue
        margin = d["margin_targets"] or d["target_check"] == "signs"
        worst = 0.0
        for t in ((1.0, -1.0) if margin else (0.0,)):
            _, h = loss.grad_hess(grid + t if not margin else grid, np.full_like(grid, t),
                                  hessian="irls")
            worst = max(worst, float(h.max()))
        unbounded = worst > 1e5
        assert gbdt._kinked(loss) == unbounded, (name, params, worst)
        assert gbdt.XGBObjective(loss)._median_cap == unbounded
        assert not gbdt.XGBObjective(loss, hessian="irls")._median_cap
        probed += 1
    assert probed >= 10


# ---- curvature conventions, constants, metrics (NumPy references) -------------------------------
def test_softmax_curvature_conventions(data):
    rng = np.random.default_rng(3)
    scores = rng.normal(scale=2.0, size=(N, K))
    y, w = data["cross_entropy"], data["w"]
    p = softmax(scores)
    onehot = np.eye(K)[y]
    g_ref = (p - onehot) * w[:, None]
    exact = p * (1 - p) * w[:, None]
    for cls, auto in ((gbdt.XGBObjective, np.maximum(2 * exact, 1e-16)),
                      (gbdt.LGBMObjective, K / (K - 1) * exact)):
        for hessian, h_ref in (("auto", auto), ("exact", exact)):
            g, h = cls("cross_entropy", hessian=hessian)(y, scores, w)
            assert g.shape == h.shape == (N, K)
            np.testing.assert_allclose(g, g_ref, rtol=1e-12, atol=1e-15)
            np.testing.assert_allclose(h, h_ref, rtol=1e-12, atol=1e-300)
    # a zero-weight sample: XGBoost floors its Hessian, LightGBM's is 0
    w0 = np.where(np.arange(N) == 0, 0.0, w)
    assert np.all(gbdt.XGBObjective("cross_entropy")(y, scores, w0)[1][0] == 1e-16)
    assert np.all(gbdt.LGBMObjective("cross_entropy")(y, scores, w0)[1][0] == 0.0)


def test_elementwise_objective_matches_formula_in_both_call_forms(data):
    X, w = data["X"], data["w"]
    y = data["mse"].astype(np.float32).astype(np.float64)  # as the DMatrix stores it
    pred = np.random.default_rng(4).normal(size=N).astype(np.float32)
    obj = gbdt.XGBObjective("pseudo_huber", delta=0.7)
    r = pred.astype(np.float64) - y
    s = np.hypot(1.0, r / 0.7)
    g_ref, h_ref = w * r / s, w / s**3  # d/dx and d2/dx2 of delta^2 (sqrt(1 + (r/delta)^2) - 1)
    assert obj.policy == obj.loss.hessians[0]
    for g, h in (obj(pred, xgb.DMatrix(X, y, weight=w)), obj(y, pred, sample_weight=w)):
        np.testing.assert_allclose(g, g_ref, rtol=1e-6)
        if obj.policy == "exact":
            np.testing.assert_allclose(h, h_ref, rtol=1e-6)
        else:  # irls: psi(r) / r
            np.testing.assert_allclose(h, w / s, rtol=1e-6)
    lobj = gbdt.LGBMObjective("pseudo_huber", delta=0.7, reduction="mean")
    g, _ = lobj(pred.astype(np.float64), lgb.Dataset(X, y, weight=w).construct())
    np.testing.assert_allclose(g, g_ref, rtol=1e-6)  # per sample, whatever the given reduction


def test_margin_losses_read_the_boosters_0_1_classes(data):
    y = data["bce_with_logits"]
    pred = np.random.default_rng(5).normal(size=N)
    g, _ = gbdt.XGBObjective("hinge")(y, pred)
    t = 2 * y - 1
    np.testing.assert_array_equal(g, np.where(1 - t * pred > 0, -t, 0.0))


def test_optimal_constants_match_numpy(data):
    w, y = data["w"], data["mse"]
    assert gbdt.XGBObjective("mse").optimal_constant(y, w) == pytest.approx(
        np.average(y, weights=w), rel=1e-14)
    m = np.average(data["bce_with_logits"], weights=w)
    assert gbdt.XGBObjective("bce_with_logits").optimal_constant(
        data["bce_with_logits"], w) == pytest.approx(np.log(m / (1 - m)), rel=1e-12)
    assert gbdt.XGBObjective("bce_with_logits").base_score(
        data["bce_with_logits"], w, objective="binary:logistic") == pytest.approx(m, rel=1e-12)
    for q in (0.5, 0.8):  # a weighted q-quantile (to rounding: the root may sit on a sample)
        c = gbdt.LGBMObjective("quantile", quantile=q).optimal_constant(y, w)
        tol = 1e-12 * abs(c)
        assert np.sum(w[y < c - tol]) <= q * w.sum() * (1 + 1e-12)
        assert np.sum(w[y > c + tol]) <= (1 - q) * w.sum() * (1 + 1e-12)
    freq = np.bincount(data["cross_entropy"], weights=w, minlength=K) / w.sum()
    ref = np.log(freq) - np.log(freq).mean()
    np.testing.assert_allclose(gbdt.XGBObjective("cross_entropy").optimal_constant(
        data["cross_entropy"], w), ref, rtol=1e-12)
    # class weights: the weighted loss's best probabilities are proportional to cw_k freq_k
    cw = np.array([1.0, 2.0, 0.5, 3.0])
    p = cw * freq / np.sum(cw * freq)
    np.testing.assert_allclose(gbdt.LGBMObjective("cross_entropy", weight=cw).optimal_constant(
        data["cross_entropy"], w), np.log(p) - np.log(p).mean(), rtol=1e-12)
    init = gbdt.LGBMObjective("cross_entropy").init_score(data["cross_entropy"], w)
    assert init.shape == (N, K) and np.allclose(init, ref)


def huber_mean(pred, y, w, delta=1.0):
    a = np.abs(pred - y)
    return np.average(np.where(a < delta, 0.5 * a * a, delta * (a - 0.5 * delta)), weights=w)


def test_xgboost_metric(data):
    X, w, y = data["X"], data["w"], data["mse"]
    dtrain = xgb.DMatrix(X, y, weight=w)
    log = {}
    obj = gbdt.XGBObjective("huber")
    booster = xgb.train({**XGB_PARAMS, "disable_default_eval_metric": 1,
                         "base_score": obj.base_score(y, w)}, dtrain, 3, obj=obj,
                        custom_metric=gbdt.XGBMetric("huber"), evals=[(dtrain, "train")],
                        evals_result=log, verbose_eval=False)
    pred = booster.predict(dtrain, output_margin=True)
    y = dtrain.get_label().astype(np.float64)  # float32, as the metric reads it
    assert log["train"]["huber"][-1] == pytest.approx(huber_mean(pred, y, w), rel=1e-5)
    metric = gbdt.XGBMetric(losskit.HuberLoss(reduction="sum"))
    assert metric(y, pred, sample_weight=w) == pytest.approx(huber_mean(pred, y, w), rel=1e-12)
    w32 = dtrain.get_weight().astype(np.float64)
    assert metric(pred, dtrain) == ("huber", pytest.approx(huber_mean(pred, y, w32), rel=1e-12))
    # the sklearn wrapper's eval_metric callable, weighted by the eval set's weights
    reg = xgb.XGBRegressor(objective=obj, base_score=obj.base_score(y, w), n_estimators=3,
                           max_depth=3, n_jobs=1, eval_metric=gbdt.XGBMetric("huber"))
    reg.fit(X, y, sample_weight=w, eval_set=[(X, y)], sample_weight_eval_set=[w], verbose=False)
    got = reg.evals_result()["validation_0"]["huber"][-1]
    assert got == pytest.approx(huber_mean(reg.predict(X, output_margin=True), y, w), rel=1e-5)


def test_lightgbm_metric(data):
    X, w, y = data["X"], data["w"], data["cross_entropy"]
    train = lgb.Dataset(X, y, weight=w)
    log = {}
    obj = gbdt.LGBMObjective("cross_entropy")
    train.set_init_score(obj.init_score(y, w))
    booster = lgb.train({**LGB_PARAMS, "objective": obj, "num_class": K, "metric": "None"},
                        train, 3, valid_sets=[train], valid_names=["train"],
                        feval=gbdt.LGBMMetric("cross_entropy"),
                        callbacks=[lgb.record_evaluation(log)])
    scores = booster.predict(X, raw_score=True) + obj.optimal_constant(y, w)
    p = softmax(scores)
    ref = np.average(-np.log(p[np.arange(N), y]), weights=w)
    assert log["train"]["cross_entropy"][-1] == pytest.approx(ref, rel=1e-9)
    assert gbdt.LGBMMetric("cross_entropy")(y, scores, w) == ("cross_entropy",
                                                              pytest.approx(ref, rel=1e-12), False)


# ---- bad input ----------------------------------------------------------------------------------
def test_bad_hessian_policies():
    with pytest.raises(ValueError, match="hessian must be one of auto, exact, irls, positive"):
        gbdt.XGBObjective("mse", hessian="newton")
    offered = losskit.BCEWithLogitsLoss().hessians
    missing = next(p for p in ("irls", "exact", "positive") if p not in offered)
    with pytest.raises(ValueError, match=f"hessian='{missing}' is not offered by "
                       f"bce_with_logits; it offers {', '.join(offered)}"):
        gbdt.LGBMObjective("bce_with_logits", hessian=missing)
    with pytest.raises(ValueError, match="hessian must be one of"):
        gbdt.LGBMObjective("mse", hessian=None)


def test_bad_losses():
    with pytest.raises(ValueError, match="unknown loss"):
        gbdt.XGBObjective("no_such_loss")
    with pytest.raises(TypeError, match="loss parameters are given with a registry name"):
        gbdt.XGBObjective(losskit.HuberLoss(), delta=2.0)
    with pytest.raises(TypeError, match="loss must be a losskit Loss"):
        gbdt.LGBMMetric(3.0)
    with pytest.raises(ValueError, match="third argument"):
        gbdt.XGBObjective("gaussian_nll")
    with pytest.raises(ValueError, match="learns parameters of its own"):
        gbdt.XGBObjective(losskit.AdaptiveBarronLoss(1))


def test_predictions_of_the_wrong_shape(data):
    X, y, w = data["X"], data["mse"], data["w"]
    with pytest.raises(ValueError, match=r"predt has shape \(400, 4\): the booster gives 4 scores"):
        gbdt.XGBObjective("mse")(np.zeros((N, K), np.float32), xgb.DMatrix(X, y))
    with pytest.raises(ValueError, match=r"y_pred has shape \(400,\), but cross_entropy scores "
                       r"every class.*num_class"):
        gbdt.LGBMObjective("cross_entropy")(data["cross_entropy"], np.zeros(N), w)
    with pytest.raises(ValueError, match=r"class indices in \[0, 3\) for a 3-class booster"):
        gbdt.XGBObjective("cross_entropy")(data["cross_entropy"], np.zeros((N, 3)))
    with pytest.raises(ValueError, match=r"y_pred has shape \(399,\) but y_true has 400 samples"):
        gbdt.XGBMetric("mse")(y, np.zeros(N - 1))
    with pytest.raises(ValueError, match=r"sample weights have shape \(3,\)"):
        gbdt.LGBMObjective("mse")(y, np.zeros(N), np.ones(3))
    with pytest.raises(ValueError, match="objective must be one of"):
        gbdt.XGBObjective("mse").base_score(y, objective="reg:gamma")
    with pytest.raises(ValueError, match="does not go with mse"):
        gbdt.XGBObjective("mse").base_score(y, objective="multi:softprob")


def test_objectives_pickle_and_clone(data):
    from sklearn.base import clone

    obj = gbdt.XGBObjective("huber", delta=0.3, hessian="exact")
    again = pickle.loads(pickle.dumps(obj))
    assert again == obj and again.policy == "exact" and again.loss.delta == 0.3
    reg = clone(xgb.XGBRegressor(objective=obj))
    assert reg.objective == obj
    metric = pickle.loads(pickle.dumps(gbdt.LGBMMetric("mse")))
    y = data["mse"]
    assert metric(y, y + 1.0) == ("mse", 1.0, False)


def test_imports_stay_light_and_missing_libraries_name_the_extra():
    code = (
        "import sys\n"
        "sys.modules['xgboost'] = None\n"
        "sys.modules['lightgbm'] = None\n"
        "import losskit\n"
        "import losskit.gbdt\n"
        "for cls in (losskit.gbdt.XGBObjective, losskit.gbdt.LGBMMetric):\n"
        "    try:\n"
        "        cls('mse')\n"
        "    except ImportError as exc:\n"
        "        print(exc)\n"
    )
    env = dict(os.environ)
    r = subprocess.run([sys.executable, "-P", "-c", code], capture_output=True, text=True,
                       timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 2
    assert "XGBObjective needs xgboost" in lines[0] and "pip install 'losskit[gbdt]'" in lines[0]
    assert "LGBMMetric needs lightgbm" in lines[1] and "pip install 'losskit[gbdt]'" in lines[1]
    r = subprocess.run([sys.executable, "-P", "-c",
                        "import sys, losskit, losskit.gbdt\n"
                        "print(sorted(m for m in ('xgboost', 'lightgbm') if m in sys.modules))"],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_robust_boosting_example_runs():
    example = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "examples",
                           "robust_boosting.py")
    r = subprocess.run([sys.executable, "-P", example, "--rounds", "40"], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "robust losses beat squared error: yes" in r.stdout
