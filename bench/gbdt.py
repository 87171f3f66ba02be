"""Gradient boosting with losskit's losses (losskit.gbdt) against XGBoost's built-in objective.

Two workloads, both on squared error with sample weights:

- ``gbdt_round``: one XGBoost boosting round on ``n x 16`` float32 features (hist, depth-6
  trees, one XGBoost thread): ``Booster.update`` with ``losskit.gbdt.XGBObjective("mse")``,
  with the same objective written in NumPy, and with the built-in ``reg:squarederror``.
  Same data, same trees: losskit's mse is (x - y)^2, twice XGBoost's squared error, so the
  custom objectives run with ``reg_lambda`` and ``min_child_weight`` doubled, and every model
  starts from the same ``base_score``. The correctness gate: the training margins after
  :data:`CHECK_ROUNDS` rounds must be those of the built-in objective (trained in the
  coordinator; without XGBoost the workload is unavailable). The timed rounds continue from
  there. XGBoost runs on one thread in every case so that the rounds differ only in the
  objective (losskit's own threads follow the case).
- ``gbdt_objective``: the Python callback alone, ``objective(predt, dtrain)`` as XGBoost calls
  it once per round (float32 margins in, the labels and weights read from the DMatrix,
  float64 gradient and Hessian out): ``XGBObjective("mse")``, the same loss's
  ``grad_hess`` on arrays already in hand (the adapter's cost is the difference), and the
  NumPy objective. Checked against the float64 formula (2 w (x - y), 2 w).
"""

from __future__ import annotations

import numpy as np

from .impls import Impl, Unavailable, get_module, require
from .workload import Contender, Reference, Workload

N_FEATURES = 16
CHECK_ROUNDS = 5
XGB_PARAMS = {"tree_method": "hist", "max_depth": 6, "eta": 0.3, "nthread": 1}
# losskit's mse is twice XGBoost's squared error: the same trees take these doubled
MSE_SCALE = {"reg_lambda": 2.0, "min_child_weight": 2.0}
ROUND_SIZES = [10**4, 10**5]
OBJECTIVE_SIZES = [10**4, 10**5, 10**6]


def _data(n: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, N_FEATURES)).astype(np.float32)
    beta = rng.normal(size=N_FEATURES)
    y = (X @ beta + np.sin(3 * X[:, 0]) + 0.5 * rng.normal(size=n)).astype(np.float32)
    w = rng.uniform(0.5, 2.0, n).astype(np.float32)
    return {"X": X, "y": y, "w": w}


def _numpy_mse(predt: np.ndarray, dtrain) -> tuple[np.ndarray, np.ndarray]:
    """Squared error (x - y)^2 as a hand-written XGBoost objective."""
    y = dtrain.get_label().astype(np.float64)
    w = dtrain.get_weight().astype(np.float64)
    r = predt.astype(np.float64) - y
    return 2.0 * w * r, 2.0 * w


def _gbdt_module():
    require("losskit")  # the installed build first (see impls._import_losskit), then its gbdt
    return require("losskit.gbdt")


def _base_score(y: np.ndarray, w: np.ndarray) -> float:
    return float(np.average(y.astype(np.float64), weights=w.astype(np.float64)))


class BoostingRoundWorkload(Workload):
    name = "gbdt_round"
    suite = "gbdt"
    description = ("one XGBoost boosting round (hist, depth 6, 16 features, weighted squared error): "
                   "losskit.gbdt objective vs the built-in")
    dtypes = ("float32",)
    check_calls = CHECK_ROUNDS
    contenders = {
        "losskit": Contender("losskit", False, "Booster.update(dtrain, i, fobj=losskit.gbdt.XGBObjective('mse'))"),
        "numpy": Contender("numpy", False, "Booster.update with the objective in NumPy (2 w (x - y), 2 w)"),
        "xgboost": Contender("xgboost", False, "Booster.update with the built-in reg:squarederror"),
    }

    def shapes(self, sizes, shapes, quick):
        return [(n, N_FEATURES) for n in (sizes or ([10**4] if quick else ROUND_SIZES))]

    def overhead_shape(self):
        return None

    def isa_shape(self, quick):
        return None

    def elements(self, shape):
        return int(shape[0])

    def label(self, shape):
        return f"{shape[0]:.0e}x{shape[1]}".replace("e+0", "e")

    def make_inputs(self, shape, dtype, seed):
        return _data(shape[0], seed)

    def reference(self, inputs):
        xgboost = get_module("xgboost")
        if xgboost is None:
            raise Unavailable("xgboost not importable: the reference is its built-in objective")
        dtrain = xgboost.DMatrix(inputs["X"], inputs["y"], weight=inputs["w"], nthread=1)
        params = {**XGB_PARAMS, "objective": "reg:squarederror",
                  "base_score": _base_score(inputs["y"], inputs["w"])}
        booster = xgboost.train(params, dtrain, CHECK_ROUNDS)
        return Reference(array=booster.predict(dtrain, output_margin=True).astype(np.float64))

    def build(self, name, inputs, threads):
        xgboost = require("xgboost")
        dtrain = xgboost.DMatrix(inputs["X"], inputs["y"], weight=inputs["w"], nthread=1)
        params = {**XGB_PARAMS, "base_score": _base_score(inputs["y"], inputs["w"])}
        if name == "xgboost":
            params["objective"] = "reg:squarederror"
            obj = None
        elif name == "losskit":
            obj = _gbdt_module().XGBObjective("mse")
            params.update(MSE_SCALE)
        elif name == "numpy":
            obj = _numpy_mse
            params.update(MSE_SCALE)
        else:
            raise ValueError(f"unknown contender {name!r}")
        booster = xgboost.Booster(params, [dtrain])
        rounds = [0]

        def one_round() -> None:
            booster.update(dtrain, rounds[0], fobj=obj)
            rounds[0] += 1

        return Impl(one_round, result=lambda: (None, booster.predict(dtrain, output_margin=True)))


class ObjectiveCallWorkload(Workload):
    name = "gbdt_objective"
    suite = "gbdt"
    description = "the XGBoost objective callback alone: (grad, hess) of weighted squared error"
    dtypes = ("float64",)
    contenders = {
        "losskit": Contender("losskit", False, "losskit.gbdt.XGBObjective('mse')(predt, dtrain)"),
        "losskit[grad_hess]": Contender("losskit", False, "MSELoss(reduction='sum').grad_hess(x, y, "
                                                          "sample_weight=w): the loss alone, arrays in hand"),
        "numpy": Contender("numpy", False, "the objective in NumPy: (2 w (x - y), 2 w) from the DMatrix"),
    }

    def shapes(self, sizes, shapes, quick):
        return [(n,) for n in (sizes or ([10**4, 10**5] if quick else OBJECTIVE_SIZES))]

    def overhead_shape(self):
        return None

    def isa_shape(self, quick):
        return None

    def make_inputs(self, shape, dtype, seed):
        n = shape[0]
        data = _data(n, seed)
        predt = (data["y"] + np.random.default_rng(seed + 1).normal(size=n)).astype(np.float32)
        return {"X": data["X"][:, :1], "y": data["y"], "w": data["w"], "predt": predt}

    def reference(self, inputs):
        r = inputs["predt"].astype(np.float64) - inputs["y"].astype(np.float64)
        w = inputs["w"].astype(np.float64)
        return Reference(array=np.concatenate([2.0 * w * r, 2.0 * w]))

    def build(self, name, inputs, threads):
        predt = inputs["predt"]

        def joined(gh):
            return None, np.concatenate(gh)

        if name == "losskit[grad_hess]":
            loss = require("losskit").MSELoss(reduction="sum")
            x = predt.astype(np.float64)
            y = inputs["y"].astype(np.float64)
            w = inputs["w"].astype(np.float64)
            call = lambda: loss.grad_hess(x, y, sample_weight=w)  # noqa: E731
            return Impl(call, check_call=lambda: joined(call()))
        xgboost = require("xgboost")
        dtrain = xgboost.DMatrix(inputs["X"], inputs["y"], weight=inputs["w"], nthread=1)
        if name == "losskit":
            obj = _gbdt_module().XGBObjective("mse")
        elif name == "numpy":
            obj = _numpy_mse
        else:
            raise ValueError(f"unknown contender {name!r}")
        return Impl(lambda: obj(predt, dtrain), check_call=lambda: joined(obj(predt, dtrain)))


WORKLOADS = [BoostingRoundWorkload(), ObjectiveCallWorkload()]
