"""A default workload for every elementwise loss of (input, target) the harness has no
hand-written peers for, made from its definition alone (``_core.loss_definitions()``): data
drawn from the definition's domains, and losskit's two ways of calling it (with and without
``out=``), checked against losskit's own float64 result and timed beside the same-shape
bandwidth kernel. A new loss is in ``losskit bench`` as soon as it is defined; hand-written
peers (regression.py, classification.py) replace its default workload when someone adds them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .losses import CONTENDERS, LossSpec, LossWorkload


def _unavailable(*args: Any) -> Any:
    raise RuntimeError("a default workload has no peer formulas")


def _data_maker(definition: dict[str, Any]):
    """(shape, dtype, seed) -> (x, y) drawn from the definition's domains."""
    input_domain = tuple(definition["input_domain"])
    target_domain = tuple(definition["target_domain"])

    def make(shape: tuple, dtype: Any, seed: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(seed)
        if input_domain == (0.0, 1.0, True, True):
            x = rng.uniform(0.05, 0.95, shape)
        else:
            x = rng.normal(0.0, 2.0, shape)
        if definition["margin_targets"] or definition["target_check"] == "signs":
            y = rng.choice([-1.0, 1.0], shape)
        elif target_domain == (0.0, 1.0, True, True):
            y = rng.uniform(0.0, 1.0, shape)
        elif target_domain[:3] == (0.0, np.inf, False):  # positive
            y = rng.gamma(2.0, 1.0, shape)
        elif target_domain[0] == 0.0:
            y = rng.poisson(2.0, shape).astype(np.float64)
        else:
            y = rng.normal(0.0, 2.0, shape)
        return x.astype(dtype), y.astype(dtype)

    return make


def _spec(definition: dict[str, Any]) -> LossSpec:
    import losskit

    name = definition["name"]
    per_element = losskit.get_loss(name, reduction="none")
    summed = losskit.get_loss(name, reduction="sum")
    return LossSpec(
        name=name, suite="defined", cls=definition["class_name"], params={},
        formula=definition["formula"], make_data=_data_maker(definition),
        # the reference: losskit in float64 (the common tests hold it to independent ones)
        loss=lambda xp, x, y: per_element(x, y), dloss=lambda x, y: summed.grad(x, y),
        numpy_out=_unavailable, torch_loss=_unavailable, torch_out=_unavailable,
        torch_functional="",
    )


def default_workloads(covered: set[str]) -> list[LossWorkload]:
    """One workload per elementwise (input, target) loss not in ``covered``."""
    from losskit import _core

    workloads = []
    for d in _core.loss_definitions():
        if (d["class_name"] and d["family"] == "elementwise" and d["arity"] == 2
                and d["name"] not in covered):
            w = LossWorkload(_spec(d), f"{d['formula']}: value and gradient, mean reduction "
                                       f"(default workload: losskit only)")
            w.contenders = {k: v for k, v in CONTENDERS.items() if k.startswith("losskit")}
            workloads.append(w)
    return workloads
