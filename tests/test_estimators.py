"""LinearRegressor / LinearClassifier: scikit-learn compatibility, accuracy, robust regression,
latent loss parameters, partial_fit, bad input, and the path without scikit-learn."""

from __future__ import annotations

import os
import pickle
import subprocess
import tempfile
import sys

import numpy as np
import pytest

import losskit
from losskit._estimators import CLASSIFICATION_LOSSES, OPTIMIZERS, PROBABILISTIC_LOSSES


def outlier_line(n=2000, seed=0):
    """x ~ U(0, 1), y = 0.7 x + 0.15 + N(0, 0.025^2); 10% of y pushed to 0.05 or 0.85."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, n)
    y = 0.7 * x + 0.15 + rng.normal(0, 0.025, n)
    out = rng.random(n) < 0.10
    y[out] = rng.choice([0.05, 0.85], out.sum())
    return x[:, None], y


def blobs(n=300, d=4, c=3, seed=0, spread=0.6):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 2.0, (c, d))
    y = rng.integers(0, c, n)
    return centers[y] + rng.normal(0, spread, (n, d)), y


# ---- scikit-learn ---------------------------------------------------------------------------
@pytest.mark.parametrize("cls", ["LinearRegressor", "LinearClassifier"])
def test_check_estimator(cls):
    pytest.importorskip("sklearn")
    from sklearn.utils.estimator_checks import check_estimator

    est = getattr(losskit, cls)(random_state=0)
    results = check_estimator(est, on_fail=None, on_skip=None)
    failed = [(r["check_name"], repr(r["exception"])[:300]) for r in results
              if r["status"] == "failed"]
    assert not failed


def test_digits_at_least_sgdclassifier():
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_digits
    from sklearn.linear_model import SGDClassifier
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    scaler = StandardScaler().fit(Xtr)
    Xtr, Xte = scaler.transform(Xtr), scaler.transform(Xte)
    ours = losskit.LinearClassifier(random_state=0).fit(Xtr, ytr).score(Xte, yte)
    theirs = SGDClassifier(random_state=0).fit(Xtr, ytr).score(Xte, yte)
    assert ours >= theirs
    assert ours > 0.94


def test_sklearn_clone_and_pipeline():
    pytest.importorskip("sklearn")
    from sklearn.base import clone
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    est = losskit.LinearClassifier("hinge", optimizer="nesterov", lr=0.05, random_state=1)
    c = clone(est)
    assert c.get_params() == est.get_params()
    X, y = blobs()
    assert make_pipeline(StandardScaler(), c).fit(X, y).score(X, y) > 0.9


# ---- regression ------------------------------------------------------------------------------
def _fit_line(loss, **kw):
    X, y = outlier_line()
    kw = dict(dict(optimizer="adam", epochs=50, batch_size=64, penalty=None, random_state=0), **kw)
    m = losskit.LinearRegressor(loss, **kw).fit(X, y)
    return float(m.coef_[0]), float(m.intercept_[0]), m


@pytest.mark.parametrize("loss", [losskit.HuberLoss(delta=0.05), "l1",
                                  losskit.PseudoHuberLoss(delta=0.05)], ids=repr)
def test_robust_loss_recovers_line(loss):
    a, b, m = _fit_line(loss)
    assert abs(a - 0.7) < 0.03 and abs(b - 0.15) < 0.03
    assert len(m.loss_curve_) == 50 and m.n_iter_ == 50


def test_mse_is_pulled_by_outliers():
    a, b, m = _fit_line("mse")
    assert max(abs(a - 0.7), abs(b - 0.15)) > 0.03
    # ... to the least-squares line
    X, y = outlier_line()
    A = np.hstack([X, np.ones_like(X)])
    slope, icpt = np.linalg.lstsq(A, y, rcond=None)[0]
    assert abs(a - slope) < 0.01 and abs(b - icpt) < 0.01
    assert m.loss_curve_[-1] < m.loss_curve_[0]


def test_multioutput_regression_and_full_batch():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(400, 3))
    W = np.array([[1.0, -2.0, 0.5], [0.0, 1.0, 3.0]])
    Y = X @ W.T + np.array([0.5, -1.0])
    m = losskit.LinearRegressor(optimizer="nesterov", lr=0.1, batch_size=1000, epochs=200,
                                penalty=None).fit(X, Y)
    assert m.coef_.shape == (2, 3) and m.intercept_.shape == (2,)
    np.testing.assert_allclose(m.coef_, W, atol=1e-3)
    assert m.predict(X).shape == (400, 2)
    assert m.score(X, Y) > 0.999


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_optimizer_learns(optimizer):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 4))
    y = X @ np.array([1.0, -1.0, 0.5, 2.0]) + 0.3
    lr = {"sgd": 0.05, "momentum": 0.02, "nesterov": 0.02, "adagrad": 0.5}.get(optimizer, 0.05)
    m = losskit.LinearRegressor(optimizer=optimizer, lr=lr, epochs=40, random_state=0).fit(X, y)
    assert m.score(X, y) > 0.98, m.loss_curve_[-5:]


def test_schedule_clip_and_penalties():
    X, y = outlier_line(500)
    sched = losskit.optim.cosine_decay(0.05, total_steps=30 * 8)
    m = losskit.LinearRegressor("huber", lr=sched, clip_norm=1.0, epochs=30, batch_size=64,
                                random_state=0).fit(X, y)
    assert m.t_ == 30 * 8
    rng = np.random.default_rng(0)
    Xs = rng.normal(size=(300, 10))
    ys = Xs[:, 0] * 2.0
    l1 = losskit.LinearRegressor(penalty="l1", alpha=0.5, optimizer="sgd", lr=0.01,
                                 epochs=60, random_state=0).fit(Xs, ys)
    none = losskit.LinearRegressor(penalty=None, optimizer="sgd", lr=0.01, epochs=60,
                                   random_state=0).fit(Xs, ys)
    assert l1.coef_[0] < none.coef_[0] - 0.1
    en = losskit.LinearRegressor(penalty="elasticnet", alpha=0.1, l1_ratio=0.5, epochs=5).fit(Xs, ys)
    assert np.all(np.isfinite(en.coef_))


def test_same_random_state_same_model_and_no_growth_of_buffers():
    X, y = blobs(n=333)
    a = losskit.LinearClassifier(optimizer="adam", random_state=7, epochs=5).fit(X, y)
    b = losskit.LinearClassifier(optimizer="adam", random_state=7, epochs=5).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    assert a.coef_.shape == (3, 4) and np.shares_memory(a.coef_, a._trainer.W)
    # one buffer set per batch length: the full batches and the last, shorter one
    assert sorted(a._trainer._buffers) == [333 % 32, 32]


# ---- a loss with trainable parameters of its own (duck typing, as AdaptiveBarronLoss) ---------
class LearnedScaleLoss:
    """Gaussian NLL with a learned log-scale s per output: 0.5 r^2 e^{-2s} + s (mean)."""

    name = "learned_scale_test"
    reduction = "mean"

    def __init__(self, num_dims=1):
        self.params = [np.zeros(num_dims)]
        self.param_grads = [np.zeros(num_dims)]

    @property
    def scale(self):
        return np.exp(self.params[0])

    def value_and_grad(self, input, target, sample_weight=None, out=None):
        s = self.params[0]
        r = input - target
        inv = np.exp(-2 * s)
        n = r.size
        out = np.empty_like(r) if out is None else out
        np.multiply(r, inv / n, out=out)
        self.param_grads[0][...] = (1.0 - r * r * inv).sum(axis=0) / n
        return float((0.5 * r * r * inv + s).mean()), out


def test_loss_params_trained_with_weights():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (3000, 2))
    y = X @ np.array([2.0, -1.0]) + 1.0 + rng.normal(0, 0.3, 3000)
    loss = LearnedScaleLoss()
    m = losskit.LinearRegressor(loss, penalty=None, lr=0.02, epochs=30, random_state=0).fit(X, y)
    assert loss.params[0][0] == 0.0  # the estimator trains a copy
    assert m.loss_ is not loss
    assert abs(m.loss_.scale[0] - 0.3) < 0.03
    np.testing.assert_allclose(m.coef_, [2.0, -1.0], atol=0.05)


def test_adaptive_barron_when_available():
    if "adaptive_barron" not in losskit.available_losses():
        pytest.skip("adaptive_barron is not in this build")
    X, y = outlier_line()
    m = losskit.LinearRegressor("adaptive_barron", penalty=None, optimizer="adam", epochs=50,
                                batch_size=64, random_state=0).fit(X, y)
    assert abs(m.coef_[0] - 0.7) < 0.03 and abs(m.intercept_[0] - 0.15) < 0.03
    assert np.all(np.asarray(m.loss_.alpha) < 1.999)


# ---- classification --------------------------------------------------------------------------
@pytest.mark.parametrize("loss", CLASSIFICATION_LOSSES)
def test_every_classification_loss(loss):
    X, y = blobs()
    m = losskit.LinearClassifier(loss, random_state=0, epochs=10).fit(X, y)
    assert m.score(X, y) > 0.9
    S = m.decision_function(X)
    assert S.shape == (300, 3)
    np.testing.assert_array_equal(m.classes_[np.argmax(S, axis=1)], m.predict(X))
    assert hasattr(m, "predict_proba") == (loss in PROBABILISTIC_LOSSES)
    if loss in PROBABILISTIC_LOSSES:
        P = m.predict_proba(X)
        np.testing.assert_allclose(P.sum(axis=1), 1.0)
        assert P.shape == (300, 3) and np.all(P >= 0)


@pytest.mark.parametrize("loss", ["cross_entropy", "hinge", "bce_with_logits"])
def test_binary_string_labels(loss):
    X, y = blobs(c=2, seed=4)
    labels = np.array(["no", "yes"])[y]
    m = losskit.LinearClassifier(loss, random_state=0, epochs=10).fit(X, labels)
    assert list(m.classes_) == ["no", "yes"]
    d = m.decision_function(X)
    assert d.shape == (300,)
    np.testing.assert_array_equal(m.predict(X), np.where(d > 0, "yes", "no"))
    assert m.score(X, labels) > 0.9
    assert m.coef_.shape == (1, 4)  # scikit-learn's binary shape, cross-entropy included


def test_partial_fit():
    X, y = blobs()
    m = losskit.LinearClassifier(random_state=0)
    m.partial_fit(X[:100], y[:100], classes=[0, 1, 2])
    m.partial_fit(X[100:], y[100:])
    assert len(m.loss_curve_) == 2 and m.t_ == 4 + 7
    with pytest.raises(ValueError, match=r"labels not in classes_ \[0, 1, 2\]: \[5\]"):
        m.partial_fit(X[:3], np.array([0, 1, 5]))
    with pytest.raises(ValueError, match="labels not in classes_"):
        losskit.LinearClassifier().partial_fit(X, y, classes=[0, 1])
    r = losskit.LinearRegressor(random_state=0)
    for _ in range(3):
        r.partial_fit(X, X[:, 0])
    assert r.n_iter_ == 3


def test_pickle_roundtrip_and_continue():
    X, y = blobs()
    m = losskit.LinearClassifier(random_state=0, epochs=3).fit(X, y)
    m2 = pickle.loads(pickle.dumps(m))
    np.testing.assert_array_equal(m.predict(X), m2.predict(X))
    m.partial_fit(X, y)
    m2.partial_fit(X, y)
    np.testing.assert_array_equal(m.coef_, m2.coef_)


# ---- bad input -------------------------------------------------------------------------------
def test_unknown_names_list_valid_ones():
    X, y = blobs()
    with pytest.raises(ValueError, match="unknown loss 'hubber'.*huber"):
        losskit.LinearRegressor("hubber").fit(X, X[:, 0])
    with pytest.raises(ValueError, match="unknown optimizer 'adamm'.*sgd, momentum, nesterov, adam"):
        losskit.LinearClassifier(optimizer="adamm").fit(X, y)
    with pytest.raises(ValueError, match="unknown penalty 'l3'"):
        losskit.LinearClassifier(penalty="l3").fit(X, y)
    with pytest.raises(ValueError, match="cannot train a LinearClassifier; valid losses: cross_entropy"):
        losskit.LinearClassifier("mse").fit(X, y)
    with pytest.raises(ValueError, match="not a regression loss"):
        losskit.LinearRegressor("cross_entropy").fit(X, X[:, 0])


@pytest.mark.parametrize("cls", [losskit.LinearRegressor, losskit.LinearClassifier])
def test_bad_arrays(cls):
    X, y = blobs()
    with pytest.raises(ValueError, match="inconsistent numbers of samples|different lengths"):
        cls().fit(X, y[:-1])
    Xn = X.copy()
    Xn[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        cls().fit(Xn, y)
    m = cls(epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="NaN"):
        m.predict(Xn)
    with pytest.raises(ValueError, match="features"):
        m.predict(X[:, :2])
    with pytest.raises(ValueError, match="batch_size"):
        cls(batch_size=0).fit(X, y)
    with pytest.raises((ValueError, AttributeError), match="not fitted"):
        cls().predict(X)


def test_classifier_one_class_and_continuous_targets():
    X, _ = blobs()
    with pytest.raises(ValueError, match="1 class"):
        losskit.LinearClassifier().fit(X, np.zeros(300))
    with pytest.raises(ValueError, match="Unknown label type"):
        losskit.LinearClassifier().fit(X, X[:, 0])


# ---- without scikit-learn --------------------------------------------------------------------
NO_SKLEARN = r"""
import sys
sys.modules["sklearn"] = None           # import sklearn now raises ImportError
import numpy as np, losskit
from losskit import _estimators
assert not _estimators.HAVE_SKLEARN
rng = np.random.default_rng(0)
X = rng.normal(size=(200, 3)); y = (X[:, 0] + X[:, 1] > 0).astype(int)
m = losskit.LinearClassifier(epochs=10, random_state=0)
assert m.get_params()["loss"] == "cross_entropy"
m.set_params(optimizer="momentum", lr=0.05)
assert m.fit(X, y).score(X, y) > 0.9
assert m.predict_proba(X).shape == (200, 2)
print(repr(m))
r = losskit.LinearRegressor(epochs=30, lr=0.05, random_state=0).fit(X, 2 * X[:, 2] + 1)
assert r.score(X, 2 * X[:, 2] + 1) > 0.99
for bad, match in [((X, y[:-1]), "different lengths"), ((np.where(X > 2, np.nan, X), y), "NaN"),
                   ((X[:, 0], y), "2-D")]:
    try:
        losskit.LinearClassifier().fit(*bad)
    except ValueError as e:
        assert match in str(e), e
    else:
        raise AssertionError(match)
try:
    m.set_params(nope=1)
except ValueError as e:
    assert "valid parameters" in str(e)
try:
    losskit.LinearRegressor().predict(X)
except ValueError as e:
    assert "not fitted" in str(e)
print("ok")
"""


def test_estimators_without_sklearn():
    env = dict(os.environ)
    # Outside the source tree, so that the installed package is the one imported.
    r = subprocess.run([sys.executable, "-c", NO_SKLEARN], capture_output=True, text=True,
                       env=env, timeout=120, cwd=tempfile.gettempdir())
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1] == "ok"
    assert "LinearClassifier(" in r.stdout and "optimizer='momentum'" in r.stdout


@pytest.mark.parametrize("loss,power", [("poisson", None), ("gamma", None), ("tweedie", 1.5),
                                        ("tweedie", 3.0), ("tweedie", 0.0)])
def test_glm_losses_fit_like_scikit_learns_glm_regressors(loss, power):
    """The deviances on a log link: the model is the log of the mean, predict its exp; the fit
    is scikit-learn's unpenalised PoissonRegressor / GammaRegressor / TweedieRegressor's."""
    linear_model = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 3))
    mean = np.exp(X @ np.array([0.3, -0.2, 0.5]) + 0.4)
    y = rng.poisson(mean).astype(float) if loss == "poisson" or power == 1.5 else rng.gamma(2, mean / 2)
    ours = losskit.LinearRegressor(
        loss=losskit.get_loss(loss, **({} if power is None else {"power": power})),
        penalty="none").fit(X, y)
    theirs = {"poisson": linear_model.PoissonRegressor(alpha=0.0),
              "gamma": linear_model.GammaRegressor(alpha=0.0)}.get(loss) or \
        linear_model.TweedieRegressor(power=power, alpha=0.0, link="log")
    theirs.set_params(tol=1e-10, max_iter=10_000).fit(X, y)
    np.testing.assert_allclose(ours.coef_.ravel(), theirs.coef_, atol=2e-4)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-3)
    assert np.all(ours.predict(X) > 0)
