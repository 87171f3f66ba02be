"""The full-batch solvers of LinearRegressor / LinearClassifier, held against scikit-learn's
estimators on the data sets scikit-learn ships (and contaminated copies of them): default
scores, Huber and quantile coefficients, scale equivariance, sample and class weights,
warm starts, early stopping, nested parameters, dtypes, warnings and argument checks."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest

import losskit
from losskit._estimators import ConvergenceWarning

sklearn = pytest.importorskip("sklearn")
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits  # noqa: E402
from sklearn.linear_model import (  # noqa: E402
    HuberRegressor,
    LinearRegression,
    LogisticRegression,
    QuantileRegressor,
)
from sklearn.model_selection import GridSearchCV, train_test_split  # noqa: E402


def split(load, contaminate=False, seed=0):
    """75/25 split of a scikit-learn data set; ``contaminate``: 10% of the training targets
    made gross outliers (regression: +-300..600, about 4-8 standard deviations of y) or
    given a wrong label (classification). The test part stays clean."""
    X, y = load(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0)
    if contaminate:
        rng = np.random.default_rng(seed)
        bad = rng.random(len(ytr)) < 0.10
        ytr = ytr.copy()
        if load is load_diabetes:
            ytr[bad] += rng.choice([-1.0, 1.0], bad.sum()) * rng.uniform(300, 600, bad.sum())
        else:
            classes = np.unique(y)
            ytr[bad] = (ytr[bad] + rng.integers(1, len(classes), bad.sum())) % len(classes)
    return Xtr, Xte, ytr, yte


# ---- default estimators against LinearRegression / LogisticRegression -----------------------
@pytest.mark.parametrize("contaminate", [False, True], ids=["clean", "contaminated"])
@pytest.mark.parametrize("load", [load_diabetes, load_breast_cancer, load_digits],
                         ids=["diabetes", "breast_cancer", "digits"])
def test_defaults_match_sklearn_on_raw_data(load, contaminate):
    Xtr, Xte, ytr, yte = split(load, contaminate)
    if load is load_diabetes:
        ours, theirs = losskit.LinearRegressor(), LinearRegression()
    else:
        ours, theirs = losskit.LinearClassifier(), LogisticRegression(max_iter=5000)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # the defaults converge
        ours.fit(Xtr, ytr)
    with warnings.catch_warnings():
        # LogisticRegression's L-BFGS does not converge on the raw contaminated features
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs.fit(Xtr, ytr)
    assert ours.score(Xte, yte) >= theirs.score(Xte, yte) - 0.02
    assert ours.solver_ in ("lbfgs", "newton")


# ---- robust regression -----------------------------------------------------------------------
@pytest.mark.parametrize("contaminate", [False, True], ids=["clean", "contaminated"])
@pytest.mark.parametrize("solver", ["newton", "lbfgs"])
def test_huber_equals_huberregressor(solver, contaminate):
    X, _, y, _ = split(load_diabetes, contaminate)
    # standardised features: on the raw ones HuberRegressor's L-BFGS-B stops at its own
    # objective-change threshold short of the optimum (losskit's objective is lower there)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    n, eps, alpha = len(y), 1.35, 1e-3
    ref = HuberRegressor(epsilon=eps, alpha=alpha, tol=1e-12, max_iter=100_000).fit(X, y)
    # HuberRegressor minimises sum(sigma + H(r / sigma) sigma) + alpha ||w||^2: 2 n times
    # losskit's mean objective with lam / 2 ||w||^2, lam = alpha / n
    m = losskit.LinearRegressor(losskit.HuberLoss(delta=eps), alpha=alpha / n, solver=solver,
                                tol=1e-10, max_iter=2000).fit(X, y)
    np.testing.assert_allclose(m.coef_, ref.coef_, rtol=1e-4, atol=1e-4 * np.abs(ref.coef_).max())
    assert abs(m.intercept_[0] - ref.intercept_) <= 1e-4 * abs(ref.intercept_)
    assert abs(m.scale_ - ref.scale_) <= 1e-4 * ref.scale_


@pytest.mark.parametrize("loss", [losskit.HuberLoss(delta=1.35), "adaptive_barron",
                                  losskit.BarronLoss(alpha=0.0), "l1",
                                  losskit.QuantileLoss(quantile=0.3)], ids=repr)
def test_robust_fits_are_scale_equivariant(loss):
    X, _, y, _ = split(load_diabetes, contaminate=True)
    a = losskit.LinearRegressor(loss, penalty=None, tol=1e-10, max_iter=1000).fit(X, y)
    b = losskit.LinearRegressor(loss, penalty=None, tol=1e-10, max_iter=1000).fit(X, 100 * y)
    np.testing.assert_allclose(b.coef_, 100 * a.coef_, rtol=1e-4, atol=1e-4 * np.abs(b.coef_).max())
    np.testing.assert_allclose(b.intercept_, 100 * a.intercept_, rtol=1e-4)


def outlier_line(n=2000, seed=0):
    """y = 0.7 x + 0.15 + N(0, 0.025^2), 10% of y pushed to 0.05 or 0.85 (the README's data)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, n)
    y = 0.7 * x + 0.15 + rng.normal(0, 0.025, n)
    out = rng.random(n) < 0.10
    y[out] = rng.choice([0.05, 0.85], out.sum())
    return x[:, None], y


def test_readme_outlier_line_is_robust_at_any_scale():
    X, y = outlier_line()
    for k in (1.0, 100.0):
        errors = {}
        for loss in ("mse", losskit.HuberLoss(delta=1.35), "adaptive_barron"):
            m = losskit.LinearRegressor(loss).fit(X, k * y)
            errors[repr(loss)] = np.hypot(m.coef_[0] / k - 0.7, m.intercept_[0] / k - 0.15)
        # both robust fits find the true line to the noise's precision (0.025 / sqrt(n) ~
        # 6e-4 per coefficient); the squared error is pulled off it by the outliers
        assert errors["'adaptive_barron'"] < 0.01 and errors[repr(losskit.HuberLoss(delta=1.35))] < 0.01
        assert errors["'mse'"] > 0.05


def test_adaptive_barron_on_contaminated_diabetes():
    Xtr, Xte, ytr, yte = split(load_diabetes, contaminate=True)
    huber = losskit.LinearRegressor(losskit.HuberLoss(delta=1.35)).fit(Xtr, ytr).score(Xte, yte)
    barron = losskit.LinearRegressor("adaptive_barron").fit(Xtr, ytr).score(Xte, yte)
    mse = losskit.LinearRegressor().fit(Xtr, ytr).score(Xte, yte)
    ref = HuberRegressor(epsilon=1.35).fit(Xtr, ytr).score(Xte, yte)
    assert huber >= ref - 0.005 and barron > mse + 0.05
    assert barron >= huber



def test_adaptive_barron_scale_is_tuned_to_normal_efficiency():
    from reference import barron_grad

    X, _, y, _ = split(load_diabetes, contaminate=True)
    m = losskit.LinearRegressor("adaptive_barron").fit(X, y)
    alpha, scale = float(m.loss_.alpha[0]), float(m.loss_.scale[0])
    # the likelihood's heavy-tailed shape is kept
    assert alpha < 0.5
    # E[psi']^2 / E[psi^2] under N(0, 1) in the pilot scale's units, by the trapezoid rule
    # over the reference gradient and its central differences
    x = np.linspace(-12, 12, 24001)
    phi = np.exp(-x * x / 2) / np.sqrt(2 * np.pi)
    psi = barron_grad(x, 0.0, alpha, scale)
    h = 1e-4
    dpsi = (barron_grad(x + h, 0.0, alpha, scale) - barron_grad(x - h, 0.0, alpha, scale)) / (2 * h)
    efficiency = np.trapezoid(dpsi * phi, x) ** 2 / np.trapezoid(psi * psi * phi, x)
    assert efficiency == pytest.approx(0.95, abs=1e-4)
    # the coefficients are a stationary point of the fixed loss at that alpha and scale (in
    # the pilot scale's units): the reference gradient is orthogonal to the standardised
    # features and the intercept
    m = losskit.LinearRegressor("adaptive_barron", penalty=None, tol=1e-8).fit(X, y)
    alpha, scale = float(m.loss_.alpha[0]), float(m.loss_.scale[0])
    r = (X @ m.coef_ + m.intercept_ - y) / m.scale_
    g = barron_grad(r, 0.0, alpha, scale)
    Z = np.hstack([(X - X.mean(axis=0)) / X.std(axis=0), np.ones((len(y), 1))])
    assert np.max(np.abs(Z.T @ g)) <= 1e-6 * np.max(np.abs(Z).T @ np.abs(g))


def test_adaptive_barron_set_scale_round_trips():
    loss = losskit.AdaptiveBarronLoss(num_dims=3)
    loss.set_scale([0.5, 2.0, 40.0])
    np.testing.assert_allclose(loss.scale, [0.5, 2.0, 40.0], rtol=1e-12)
    before = loss.params[1].copy()
    with pytest.raises(ValueError, match="scale_lo"):
        loss.set_scale([1.0, -1.0, 1.0])
    np.testing.assert_array_equal(loss.params[1], before)

@pytest.mark.parametrize("q", [0.2, 0.5, 0.9])
def test_quantile_equals_quantileregressor(q):
    X, _, y, _ = split(load_diabetes, contaminate=q == 0.5)
    w = np.random.default_rng(1).integers(0, 4, len(y)).astype(float)
    ref = QuantileRegressor(quantile=q, alpha=0.0, solver="highs").fit(X, y, sample_weight=w)
    m = losskit.LinearRegressor(losskit.QuantileLoss(quantile=q), penalty=None).fit(X, y, sample_weight=w)
    assert m.solver_ == "newton"
    scale = np.abs(ref.coef_).max()
    np.testing.assert_allclose(m.coef_, ref.coef_, rtol=1e-8, atol=1e-8 * scale)
    assert abs(m.intercept_[0] - ref.intercept_) <= 1e-8 * scale
    if q == 0.5:  # L1 is twice the median's pinball loss: the same fit
        l1 = losskit.LinearRegressor("l1", penalty=None).fit(X, y, sample_weight=w)
        np.testing.assert_allclose(l1.coef_, m.coef_, rtol=1e-9, atol=1e-9 * scale)


# ---- the solvers against each other and against LogisticRegression ----------------------------
@pytest.mark.parametrize("load", [load_breast_cancer, load_digits], ids=["binary", "multiclass"])
def test_logistic_coefficients_equal_logisticregression(load):
    Xtr, _, ytr, _ = split(load)
    # standardised, so that the reference converges (on raw breast-cancer features it does not)
    Xtr = (Xtr - Xtr.mean(axis=0)) / np.maximum(Xtr.std(axis=0), 1e-12)
    n, C = len(ytr), 1.0
    ref = LogisticRegression(C=C, tol=1e-8, max_iter=10_000).fit(Xtr, ytr)
    for solver in ("lbfgs", "newton"):
        m = losskit.LinearClassifier(alpha=1 / (C * n), solver=solver, tol=1e-8,
                                     max_iter=2000).fit(Xtr, ytr)
        assert m.coef_.shape == ref.coef_.shape
        # the softmax is unchanged by adding a vector to every class's weights; the L2
        # penalty picks the same representative in both
        np.testing.assert_allclose(m.predict_proba(Xtr), ref.predict_proba(Xtr), atol=2e-4)


def test_mse_newton_and_lbfgs_equal_least_squares_with_ridge():
    X, _, y, _ = split(load_diabetes)
    lam = 1e-3
    A = np.hstack([X, np.ones((len(y), 1))])
    # mean (x w + b - y)^2 + lam/2 ||w||^2: normal equations (2/n A^T A + diag(lam, 0)) [w, b] = 2/n A^T y
    P = np.diag(np.r_[np.full(X.shape[1], lam), 0.0])
    exact = np.linalg.solve(2 / len(y) * A.T @ A + P, 2 / len(y) * A.T @ y)
    for solver in ("newton", "lbfgs"):
        m = losskit.LinearRegressor(alpha=lam, solver=solver, tol=1e-10, max_iter=1000).fit(X, y)
        np.testing.assert_allclose(np.r_[m.coef_, m.intercept_], exact, rtol=1e-6, atol=1e-6)


# ---- weights ---------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda: losskit.LinearRegressor(losskit.HuberLoss(delta=1.35), tol=1e-10),
    lambda: losskit.LinearRegressor(solver="lbfgs", tol=1e-10),
    lambda: losskit.LinearClassifier(tol=1e-10),
    lambda: losskit.LinearClassifier(solver="lbfgs", tol=1e-10, max_iter=2000),
], ids=["huber-newton", "mse-lbfgs", "logistic-newton", "softmax-lbfgs"])
def test_integer_weights_equal_repeated_rows(make):
    classify = isinstance(make(), losskit.LinearClassifier)
    load = (load_digits if "lbfgs" in repr(make()) else load_breast_cancer) if classify else load_diabetes
    X, _, y, _ = split(load)
    X, y = X[:300], y[:300]
    w = np.random.default_rng(0).integers(0, 4, len(y))
    weighted = make().fit(X, y, sample_weight=w)
    repeated = make().fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-4,
                               atol=1e-4 * np.abs(repeated.coef_).max())


def test_class_weight():
    Xtr, _, ytr, _ = split(load_breast_cancer)
    balanced = losskit.LinearClassifier(class_weight="balanced", tol=1e-10).fit(Xtr, ytr)
    counts = np.bincount(ytr)
    w = (len(ytr) / (2 * counts))[ytr]
    by_hand = losskit.LinearClassifier(tol=1e-10).fit(Xtr, ytr, sample_weight=w)
    np.testing.assert_allclose(balanced.coef_, by_hand.coef_, rtol=1e-6, atol=1e-9)
    as_dict = losskit.LinearClassifier(class_weight={0: 3.0}, tol=1e-10).fit(Xtr, ytr)
    by_hand = losskit.LinearClassifier(tol=1e-10).fit(Xtr, ytr, sample_weight=np.where(ytr == 0, 3.0, 1.0))
    np.testing.assert_allclose(as_dict.coef_, by_hand.coef_, rtol=1e-6, atol=1e-9)
    with pytest.raises(ValueError, match="class_weight has label 7"):
        losskit.LinearClassifier(class_weight={7: 1.0}).fit(Xtr, ytr)


# ---- warm start, early stopping, nested parameters, dtypes ------------------------------------
def test_warm_start_continues():
    Xtr, _, ytr, _ = split(load_digits)
    cold = losskit.LinearClassifier().fit(Xtr, ytr)
    warm = losskit.LinearClassifier(warm_start=True).fit(Xtr, ytr)
    again = warm.fit(Xtr, ytr)
    assert again.n_iter_ < cold.n_iter_ / 4
    np.testing.assert_allclose(again.predict_proba(Xtr), cold.predict_proba(Xtr), atol=1e-3)


def test_early_stopping_keeps_the_best_epoch():
    Xtr, Xte, ytr, yte = split(load_digits)
    m = losskit.LinearClassifier(early_stopping=True, validation_fraction=0.2, n_iter_no_change=3,
                                 epochs=200, lr=0.05, random_state=0).fit(Xtr, ytr)
    assert m.solver_ == "adam" and m.n_iter_ < 200
    assert len(m.validation_scores_) == m.n_iter_
    assert m.best_validation_score_ == max(m.validation_scores_)
    assert m.score(Xte, yte) > 0.9


def test_nested_loss_parameters_in_grid_search():
    X, _, y, _ = split(load_diabetes, contaminate=True)
    m = losskit.LinearRegressor("huber")
    assert m.get_params()["loss__delta"] == 1.0
    m.set_params(loss__delta=1.5)
    assert isinstance(m.loss, losskit.HuberLoss) and m.loss.delta == 1.5
    with pytest.raises(ValueError, match="invalid parameter 'delt' of loss 'huber'"):
        m.set_params(loss__delt=2.0)
    with pytest.raises(ValueError):
        m.set_params(loss__delta=-1.0)
    assert m.loss.delta == 1.5  # a failing call changes nothing
    search = GridSearchCV(losskit.LinearRegressor(losskit.HuberLoss()),
                          {"loss__delta": [1.1, 1.35, 2.0]}, cv=3).fit(X, y)
    assert search.best_params_["loss__delta"] in (1.1, 1.35, 2.0)
    assert search.best_estimator_.loss.delta == search.best_params_["loss__delta"]


def test_float32_memmap_is_not_copied(tmp_path):
    import tracemalloc

    rng = np.random.default_rng(0)
    n, d = 20000, 50
    X = np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+", dtype=np.float32, shape=(n, d))
    X[:] = rng.normal(size=(n, d))
    y = (X[:, :3].astype(np.float64) @ np.array([1.0, -2.0, 0.5]) + 0.3
         + rng.normal(0, 0.1, n))
    m = losskit.LinearRegressor()
    tracemalloc.start()
    m.fit(X, y)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < X.nbytes  # a float64 copy alone would be twice X
    np.testing.assert_allclose(m.coef_[:3], [1.0, -2.0, 0.5], atol=1e-2)
    assert m.predict(X[:5]).dtype == np.float32


# ---- warnings, progress, schedules -------------------------------------------------------------
def test_convergence_warning_and_n_iter():
    Xtr, _, ytr, _ = split(load_digits)
    with pytest.warns(ConvergenceWarning, match="max_iter=3"):
        m = losskit.LinearClassifier(max_iter=3).fit(Xtr, ytr)
    assert m.n_iter_ == 3 and len(m.loss_curve_) == 4
    if losskit._estimators.HAVE_SKLEARN:
        from sklearn.exceptions import ConvergenceWarning as SkWarning

        assert ConvergenceWarning is SkWarning


def test_schedule_reaching_zero_stops_with_a_warning():
    Xtr, _, ytr, _ = split(load_digits)
    # README: 1000 steps of cosine decay; 20 epochs of 43 batches would be 860 steps... and
    # 40 epochs 1720, of which 720 at lr 0
    sched = losskit.optim.cosine_decay(0.05, total_steps=1000)
    with pytest.warns(ConvergenceWarning, match="is 0 from step"):
        m = losskit.LinearClassifier(lr=sched, epochs=40, random_state=0).fit(Xtr, ytr)
    assert m.solver_ == "adam" and 1000 <= m.t_ < 1000 + 43 and m.n_iter_ < 40


def test_verbose_writes_lines_where_there_is_no_terminal(capsys):
    X, _, y, _ = split(load_diabetes)
    m = losskit.LinearRegressor(solver="lbfgs", verbose=1).fit(X, y)
    err = capsys.readouterr().err
    assert "\r" not in err and "\x1b" not in err
    assert err == f"LinearRegressor (lbfgs): {m.n_iter_}/200  objective {m.loss_curve_[-1]:.4g}\n"
    losskit.LinearRegressor(optimizer="adam", epochs=20, verbose=1).fit(X, y)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 10 and lines[-1].startswith("LinearRegressor (epochs): 20/20  loss ")


# ---- argument checks ----------------------------------------------------------------------------
def test_bad_arguments_leave_the_estimator_as_it_was():
    X, _, y, _ = split(load_diabetes)
    m = losskit.LinearRegressor().fit(X, y)
    coef = m.coef_.copy()
    cases = [
        (dict(solver="bfgs"), "solver must be one of"),
        (dict(optimizer="adam", solver="lbfgs"), "contradicts"),
        (dict(solver="lbfgs", penalty="l1", alpha=0.1), "supports penalty 'l2' or None"),
        (dict(solver="newton", early_stopping=True), "early_stopping"),
        (dict(tol=-1.0), "tol must lie"),
        (dict(max_iter=0), "max_iter"),
        (dict(scale=0.0), "scale must lie"),
        (dict(scale="mad"), "scale must be 'auto'"),
        (dict(validation_fraction=1.0), "validation_fraction"),
    ]
    for params, match in cases:
        bad = losskit.LinearRegressor(**params)
        with pytest.raises(ValueError, match=match):
            bad.fit(X, y)
        assert not hasattr(bad, "coef_") and not hasattr(bad, "n_features_in_")
    for sw, match in [(np.ones(3), "shape"), (-np.ones(len(y)), "non-negative"),
                      (np.zeros(len(y)), "zero")]:
        with pytest.raises(ValueError, match=match):
            m.fit(X[:, :4], y, sample_weight=sw)
        np.testing.assert_array_equal(m.coef_, coef)
        assert m.n_features_in_ == X.shape[1]
    with pytest.raises(ValueError, match="partial_fit trains by minibatches"):
        losskit.LinearRegressor(solver="lbfgs").partial_fit(X, y)
    # partial_fit continues a full-batch fit
    m.partial_fit(X, y)
    assert m.solver_ == "adam" and m.score(X, y) > 0.4
