"""Shared pytest configuration for the losskit test suite.

* hypothesis profiles: "ci" (selected when CI=true) is derandomized with a modest number of
  examples so the whole suite stays well under the CI budget; "dev" draws more examples;
  "sanitizers" (the instrumented run of tools/ci_sanitizers.sh) fewer.
  HYPOTHESIS_PROFILE=<name> overrides the choice.
* ``loss_case`` parametrizes a test over every registered loss that has a reference entry,
  times that entry's parameter settings; ``loss_name`` over every registered loss name.
* ``isa`` parametrizes over ``losskit.available_isas()`` and ``num_threads`` over (1, 2); both
  restore the previous setting afterwards.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, settings

# the suite runs with --import-mode=importlib: make tests/reference.py importable by name
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import losskit  # noqa: E402
from reference import REFERENCE, RefLoss, param_id  # noqa: E402

settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=25,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "dev",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Under AddressSanitizer (tools/ci_sanitizers.sh) every kernel runs several times slower: fewer
# examples, the same derandomized search.
settings.register_profile("sanitizers", parent=settings.get_profile("ci"), max_examples=8)
_in_ci = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if _in_ci else "dev"))


@dataclass(frozen=True)
class LossCase:
    name: str
    params: dict
    ref: RefLoss

    def make(self, reduction="mean", **overrides):
        kw = dict(self.params)
        kw.update(overrides)
        return losskit.get_loss(self.name, reduction=reduction, **kw)

    def __repr__(self):
        return f"{self.name}[{param_id(self.params)}]"


def registered_names():
    return list(losskit.available_losses())


def loss_cases(defaults_only=False):
    cases = []
    for name in registered_names():
        ref = REFERENCE.get(name)
        if ref is None:
            continue  # test_losses.py::test_registered_loss_has_reference fails for it
        sets = ref.param_sets[:1] if defaults_only else ref.param_sets
        for p in sets:
            cases.append(LossCase(name, dict(p), ref))
    return cases


def pytest_generate_tests(metafunc):
    if "loss_case" in metafunc.fixturenames:
        cases = loss_cases()
        metafunc.parametrize("loss_case", cases, ids=[repr(c) for c in cases])
    if "default_loss_case" in metafunc.fixturenames:
        cases = loss_cases(defaults_only=True)
        metafunc.parametrize("default_loss_case", cases, ids=[c.name for c in cases])
    if "loss_name" in metafunc.fixturenames:
        names = registered_names()
        metafunc.parametrize("loss_name", names, ids=names)


AVAILABLE_ISAS = list(losskit.available_isas())


@pytest.fixture(params=AVAILABLE_ISAS)
def isa(request):
    previous = losskit.get_isa()
    losskit.set_isa(request.param)
    try:
        yield request.param
    finally:
        losskit.set_isa(previous)


@pytest.fixture
def restore_isa():
    previous = losskit.get_isa()
    try:
        yield previous
    finally:
        losskit.set_isa(previous)


@pytest.fixture(params=[1, 2], ids=["threads1", "threads2"])
def num_threads(request):
    previous = losskit.get_num_threads()
    losskit.set_num_threads(request.param)
    try:
        yield request.param
    finally:
        losskit.set_num_threads(previous)


@pytest.fixture
def restore_threads():
    previous = losskit.get_num_threads()
    try:
        yield previous
    finally:
        losskit.set_num_threads(previous)
