"""Every workload of the harness, by name and by suite, in the order the tables show them."""

from __future__ import annotations

from . import classification, epoch, gather, optim, regression
from .workload import Workload

WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in regression.WORKLOADS + classification.WORKLOADS + optim.WORKLOADS + gather.WORKLOADS + epoch.WORKLOADS
}

SUITES: dict[str, list[str]] = {}
for _w in WORKLOADS.values():
    SUITES.setdefault(_w.suite, []).append(_w.name)
