"""Every workload of the harness, by name and by suite, in the order the tables show them."""

from __future__ import annotations

from . import classification, defined, epoch, fit, gather, gbdt, glm, optim, regression
from .workload import Workload

_HAND_WRITTEN = regression.WORKLOADS + classification.WORKLOADS + glm.WORKLOADS
WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in _HAND_WRITTEN + defined.default_workloads({w.name for w in _HAND_WRITTEN})
    + optim.WORKLOADS + gather.WORKLOADS + epoch.WORKLOADS + gbdt.WORKLOADS + fit.WORKLOADS
}

SUITES: dict[str, list[str]] = {}
for _w in WORKLOADS.values():
    SUITES.setdefault(_w.suite, []).append(_w.name)
