"""losskit.optim: update rules against torch.optim, schedules, state dicts, threads, ISAs,
derivative-free baselines and bad input."""

from __future__ import annotations

import math
import pickle
import zlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import losskit
from losskit import optim

DTYPES = [np.float32, np.float64]
# Trajectory tolerance (relative to the parameter scale, which is O(1) here): float32 Adam-type
# rules differ from torch by an ulp now and then because torch's vectorized sqrt is not
# correctly rounded; those differences stay at rounding level over the trajectory.
TOL = {np.float32: 2e-5, np.float64: 1e-12}

SGD_CASES = [
    {},
    {"momentum": 0.9},
    {"momentum": 0.9, "nesterov": True},
    {"momentum": 0.9, "dampening": 0.3, "weight_decay": 0.05},
    {"momentum": 0.5, "nesterov": True, "weight_decay": 0.1, "maximize": True},
    {"weight_decay": 0.2, "maximize": True},
]
ADAM_CASES = [
    {},
    {"amsgrad": True},
    {"weight_decay": 0.1},
    {"weight_decay": 0.1, "amsgrad": True, "maximize": True},
    {"betas": (0.5, 0.9), "eps": 1e-6},
    {"betas": (0.0, 0.0)},
]
RMSPROP_CASES = [
    {},
    {"centered": True},
    {"momentum": 0.9},
    {"centered": True, "momentum": 0.5, "weight_decay": 0.1},
    {"alpha": 0.3, "maximize": True},
]
ADAGRAD_CASES = [
    {},
    {"lr_decay": 0.1},
    {"weight_decay": 0.1, "initial_accumulator_value": 0.5, "maximize": True},
]


def _cases():
    for kw in SGD_CASES:
        yield "SGD", kw
    for kw in ADAM_CASES:
        yield "Adam", kw
        yield "AdamW", kw
    for kw in RMSPROP_CASES:
        yield "RMSprop", kw
    for kw in ADAGRAD_CASES:
        yield "Adagrad", kw


CASES = list(_cases())


def _case_id(case):
    name, kw = case
    return name + "-" + ("-".join(f"{k}={v}" for k, v in kw.items()) or "default")


def _grads(rng, shapes, dtype, steps):
    return [[rng.standard_normal(s).astype(dtype) for s in shapes] for _ in range(steps)]


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
@pytest.mark.parametrize("dtype", DTYPES)
def test_trajectory_matches_torch(case, dtype):
    torch = pytest.importorskip("torch")
    name, kw = case
    rng = np.random.default_rng(zlib.crc32(_case_id(case).encode()))
    shapes = [(37,), (5, 9), (1030,)]  # odd sizes: vector tails
    params = [rng.standard_normal(s).astype(dtype) for s in shapes]
    tparams = [torch.tensor(p.copy()) for p in params]
    lr = 0.05
    opt = getattr(optim, name)(params, lr=lr, **kw)
    topt = getattr(torch.optim, name)(tparams, lr=lr, foreach=False, **kw)
    for grads in _grads(rng, shapes, dtype, 40):
        opt.step(grads)
        for t, g in zip(tparams, grads):
            t.grad = torch.tensor(g)
        topt.step()
    assert opt.step_count == 40
    for p, t in zip(params, tparams):
        assert p.dtype == dtype
        np.testing.assert_allclose(p, t.numpy(), rtol=TOL[dtype], atol=TOL[dtype])
    # state names and contents as torch.optim's
    for st_, t in zip(opt.state, tparams):
        tst = topt.state[t]
        for key, value in tst.items():
            if key == "step":
                assert st_["step"] == int(value)
            elif value is not None:
                np.testing.assert_allclose(
                    st_[key], value.numpy(), rtol=TOL[dtype] * 10, atol=TOL[dtype]
                )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "kw", [{}, {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01}, {"momentum": 0.8, "dampening": 0.2}]
)
def test_sgd_bitwise_equal_to_torch(dtype, kw, restore_isa):
    """SGD uses no sqrt, so where the ISA has FMA it reproduces torch.optim bit for bit."""
    torch = pytest.importorskip("torch")
    fma_isas = [i for i in losskit.available_isas() if i != "sse2"]
    if not fma_isas:
        pytest.skip("no FMA instruction set")
    losskit.set_isa(fma_isas[-1])
    rng = np.random.default_rng(1)
    p = rng.standard_normal(4096).astype(dtype)
    t = torch.tensor(p.copy())
    opt, topt = optim.SGD([p], lr=0.1, **kw), torch.optim.SGD([t], lr=0.1, foreach=False, **kw)
    for _ in range(20):
        g = rng.standard_normal(4096).astype(dtype)
        opt.step([g])
        t.grad = torch.tensor(g)
        topt.step()
    np.testing.assert_array_equal(p, t.numpy())


def test_user_set_state_is_used():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    p = rng.standard_normal(50)
    t = torch.tensor(p.copy())
    buf = rng.standard_normal(50)
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    opt.state[0]["momentum_buffer"] = buf.copy()
    topt = torch.optim.SGD([t], lr=0.1, momentum=0.9, foreach=False)
    topt.state[t]["momentum_buffer"] = torch.tensor(buf.copy())
    for _ in range(3):
        g = rng.standard_normal(50)
        opt.step([g])
        t.grad = torch.tensor(g)
        topt.step()
    np.testing.assert_allclose(p, t.numpy(), rtol=1e-14, atol=1e-14)
    # the user's array object itself is updated in place
    user = np.zeros(50)
    opt2 = optim.Adam([np.zeros(50)])
    opt2.state[0]["exp_avg"] = user
    opt2.step([np.ones(50)])
    assert opt2.state[0]["exp_avg"] is user and np.all(user > 0)


def test_first_step_momentum_initialisation():
    p = np.zeros(3)
    g = np.array([1.0, -2.0, 3.0])
    opt = optim.SGD([p], lr=1.0, momentum=0.9, dampening=0.5)
    opt.step([g])
    np.testing.assert_array_equal(opt.state[0]["momentum_buffer"], g)  # not (1 - dampening) g
    np.testing.assert_array_equal(p, -g)
    opt.step([g])
    np.testing.assert_array_equal(opt.state[0]["momentum_buffer"], 0.9 * g + 0.5 * g)


@given(
    st.lists(st.floats(-10, 10), min_size=1, max_size=40),
    st.floats(0, 1),
    st.integers(1, 5),
)
def test_sgd_without_momentum_is_gradient_descent(values, lr, steps):
    w = np.array(values)
    expected = w.copy()
    opt = optim.SGD([w], lr=lr)
    for k in range(steps):
        g = np.sin(expected + k)  # any gradient sequence
        expected = expected - lr * g
        opt.step([np.sin(w + k)])
    np.testing.assert_allclose(w, expected, rtol=1e-15, atol=1e-15)
    assert "momentum_buffer" not in opt.state[0]


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_state_dict_round_trip_bitwise(case):
    name, kw = case
    rng = np.random.default_rng(3)
    shapes = [(20,), (3, 7)]
    grads = _grads(rng, shapes, np.float32, 12)
    params = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    resumed = [p.copy() for p in params]
    cls = getattr(optim, name)
    opt = cls(params, lr=0.01, **kw)
    for g in grads[:6]:
        opt.step(g)
    saved = pickle.loads(pickle.dumps(opt.state_dict()))
    snapshot = [p.copy() for p in params]
    for g in grads[6:]:
        opt.step(g)
    # a fresh optimizer on arrays holding the snapshot values continues bit for bit
    for r, s in zip(resumed, snapshot):
        r[...] = s
    opt2 = cls(resumed, lr=0.5)  # hyperparameters come from the state dict
    opt2.load_state_dict(saved)
    assert opt2.step_count == 6 and opt2.lr == 0.01
    for g in grads[6:]:
        opt2.step(g)
    for a, b in zip(params, resumed):
        np.testing.assert_array_equal(a, b)
    # the saved dict is a copy, not a view of the live state
    for st_ in saved["state"]:
        for v in st_.values():
            if isinstance(v, np.ndarray):
                assert not any(np.shares_memory(v, p) for p in params)


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "Adagrad"])
def test_threads_bitwise_identical(name, restore_threads):
    rng = np.random.default_rng(4)
    n = 300_001  # above the threading threshold, with a tail
    kw = {"SGD": {"momentum": 0.9, "nesterov": True}, "Adam": {"amsgrad": True},
          "RMSprop": {"centered": True, "momentum": 0.5}, "Adagrad": {}}[name]
    grads = [rng.standard_normal(n).astype(np.float32) for _ in range(3)]
    results = []
    for threads in (1, 2):
        losskit.set_num_threads(threads)
        p = np.linspace(-1, 1, n, dtype=np.float32)
        opt = getattr(optim, name)([p], lr=0.01, **kw)
        for g in grads:
            opt.step([g])
        results.append(p)
    np.testing.assert_array_equal(results[0], results[1])


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_every_isa_agrees(name, isa):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    p = rng.standard_normal(1001)
    t = torch.tensor(p.copy())
    kw = {"SGD": {"momentum": 0.9}, "RMSprop": {"centered": True}}.get(name, {})
    opt = getattr(optim, name)([p], lr=0.01, **kw)
    topt = getattr(torch.optim, name)([t], lr=0.01, foreach=False, **kw)
    for _ in range(10):
        g = rng.standard_normal(1001)
        opt.step([g])
        t.grad = torch.tensor(g)
        topt.step()
    np.testing.assert_allclose(p, t.numpy(), rtol=1e-12, atol=1e-12)


def test_nan_gradient_propagates():
    p = np.zeros(4)
    optim.Adam([p], lr=0.1).step([np.array([np.nan, 1.0, 1.0, 1.0])])
    assert np.isnan(p[0]) and np.all(np.isfinite(p[1:]))


def test_single_array_and_lr_schedule():
    p = np.zeros(3)
    seen = []

    def lr(step):
        seen.append(step)
        return 0.1 / (step + 1)

    opt = optim.SGD(p, lr=lr)  # one array instead of a list
    for _ in range(3):
        opt.step(np.ones(3))
    assert seen == [0, 1, 2]
    np.testing.assert_allclose(p, -(0.1 + 0.05 + 0.1 / 3) * np.ones(3))
    assert opt.current_lr() == pytest.approx(0.025)


# ---- schedules ---------------------------------------------------------------------------
def test_schedules():
    assert optim.constant(0.3)(17) == 0.3
    s = optim.step_decay(1.0, step_size=10, gamma=0.5)
    assert [s(0), s(9), s(10), s(25)] == [1.0, 1.0, 0.5, 0.25]
    e = optim.exponential_decay(2.0, 0.9)
    assert e(3) == pytest.approx(2.0 * 0.9**3)
    c = optim.cosine_decay(1.0, total_steps=110, min_lr=0.1, warmup_steps=10)
    assert c(0) == pytest.approx(0.1) and c(9) == pytest.approx(1.0)
    assert c(10) == pytest.approx(1.0) and c(60) == pytest.approx(0.55)
    assert c(110) == pytest.approx(0.1) and c(500) == pytest.approx(0.1)
    inv = optim.inverse_scaling(0.5, power_t=0.25)
    assert inv(0) == 0.5 and inv(15) == pytest.approx(0.5 / 16**0.25)
    for sched in (s, e, c, inv):
        again = pickle.loads(pickle.dumps(sched))
        assert again(7) == sched(7) and repr(again) == repr(sched)
    with pytest.raises(ValueError, match="step_size"):
        optim.step_decay(1.0, step_size=0)
    with pytest.raises(ValueError, match="step"):
        s(-1)


def test_cosine_decay_matches_torch():
    torch = pytest.importorskip("torch")
    t = torch.tensor([0.0], requires_grad=True)
    topt = torch.optim.SGD([t], lr=0.5)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(topt, T_max=20, eta_min=0.01)
    ours = optim.cosine_decay(0.5, total_steps=20, min_lr=0.01)
    for step in range(20):
        assert ours(step) == pytest.approx(topt.param_groups[0]["lr"], rel=1e-12)
        topt.step()
        sched.step()


def test_schedule_in_optimizer_state_dict():
    p = np.zeros(2)
    opt = optim.SGD([p], lr=optim.exponential_decay(0.1, 0.5))
    opt.step([np.ones(2)])
    opt.step([np.ones(2)])
    np.testing.assert_allclose(p, [-0.15, -0.15])


# ---- derivative-free baselines ---------------------------------------------------------------
def _sphere(x):
    return float(np.sum((x - 1.5) ** 2))


@pytest.mark.parametrize("cls,arg", [(optim.RandomSearch, 3.0), (optim.RandomLocalSearch, 0.3)])
def test_random_search(cls, arg):
    x0 = np.zeros(3)
    best_x, best, history = cls(arg, seed=7).minimize(_sphere, x0, 300)
    assert history.shape == (301,) and history[0] == _sphere(x0)
    assert np.all(np.diff(history) <= 0) and best == history[-1] == _sphere(best_x)
    assert best < 0.5 * _sphere(x0)
    again = cls(arg, seed=7).minimize(_sphere, x0, 300)
    np.testing.assert_array_equal(again[0], best_x)
    np.testing.assert_array_equal(again[2], history)
    assert np.all(x0 == 0)  # x0 is not modified


def test_random_search_bad_input():
    with pytest.raises(ValueError, match="iters"):
        optim.RandomSearch(seed=0).minimize(_sphere, np.zeros(2), -1)
    with pytest.raises(ValueError, match="scale"):
        optim.RandomSearch(scale=-1.0)
    with pytest.raises(ValueError, match="seed"):
        optim.RandomLocalSearch(seed=-3)


# ---- bad input ---------------------------------------------------------------------------
def test_bad_params():
    ro = np.zeros(3)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match=r"params\[0\].*read-only"):
        optim.SGD([ro])
    with pytest.raises(ValueError, match=r"params\[1\].*C-contiguous"):
        optim.Adam([np.zeros(3), np.zeros((4, 4))[:, 0]])
    with pytest.raises(TypeError, match=r"params\[0\].*dtype"):
        optim.SGD([np.zeros(3, dtype=np.int64)])
    with pytest.raises(TypeError, match=r"params\[0\]"):
        optim.SGD([[1.0, 2.0]])


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda p: optim.SGD(p, lr=-0.1), "lr"),
        (lambda p: optim.Adam(p, lr=-1.0), "lr"),
        (lambda p: optim.Adam(p, betas=(1.0, 0.9)), r"beta1 must be in \[0, 1\), got 1.0"),
        (lambda p: optim.Adam(p, betas=(0.9, -0.1)), "beta2"),
        (lambda p: optim.AdamW(p, betas=(0.9,)), "betas"),
        (lambda p: optim.SGD(p, momentum=-0.5), "momentum"),
        (lambda p: optim.SGD(p, nesterov=True), "nesterov"),
        (lambda p: optim.RMSprop(p, eps=-1.0), "eps"),
        (lambda p: optim.Adagrad(p, lr_decay=-1.0), "lr_decay"),
        (lambda p: optim.Adam(p, weight_decay=-1.0), "weight_decay"),
    ],
)
def test_bad_hyperparameters(make, match):
    with pytest.raises(ValueError, match=match):
        make([np.zeros(3)])


def test_bad_grads():
    opt = optim.Adam([np.zeros(3), np.zeros((2, 2), dtype=np.float32)])
    with pytest.raises(ValueError, match="grads.*expected 2, got 1"):
        opt.step([np.zeros(3)])
    with pytest.raises(ValueError, match=r"grads\[1\].*shape"):
        opt.step([np.zeros(3), np.zeros(4, dtype=np.float32)])
    with pytest.raises(ValueError, match=r"grads\[1\].*dtype"):
        opt.step([np.zeros(3), np.zeros((2, 2))])
    with pytest.raises(ValueError, match="lr"):
        optim.SGD([np.zeros(3)], lr=lambda step: -1.0).step([np.zeros(3)])
    with pytest.raises(ValueError, match=r"state\[0\]\['exp_avg'\]"):
        opt.state[0]["exp_avg"] = np.zeros(5)
        opt.step([np.zeros(3), np.zeros((2, 2), dtype=np.float32)])
    assert opt.step_count == 0
    # non-contiguous gradients and lists are accepted (copied)
    p = np.zeros(3)
    o = optim.SGD([p], lr=1.0)
    o.step([np.arange(6.0)[::2]])
    o.step([[1.0, 1.0, 1.0]])
    np.testing.assert_array_equal(p, [-1.0, -3.0, -5.0])


def test_load_state_dict_bad():
    opt = optim.SGD([np.zeros(3)], momentum=0.9)
    with pytest.raises(ValueError, match="2 parameters"):
        opt.load_state_dict({"state": [{}, {}], "step_count": 0})
    with pytest.raises(ValueError, match="momentum_buffer"):
        opt.load_state_dict({"state": [{"momentum_buffer": np.zeros(4)}], "step_count": 1})
    assert math.isfinite(opt.current_lr())


# ---- transactions: a failing call changes nothing ------------------------------------------
def _snapshot(opt, params):
    return (
        [p.copy() for p in params],
        pickle.dumps(opt.state_dict()),
        opt.step_count,
    )


def _assert_unchanged(opt, params, snap):
    before_params, before_state, before_count = snap
    for p, b in zip(params, before_params):
        np.testing.assert_array_equal(p, b)
    after = pickle.loads(pickle.dumps(opt.state_dict()))
    expected = pickle.loads(before_state)
    assert opt.step_count == before_count == after["step_count"]
    assert after["hyperparameters"] == expected["hyperparameters"]
    assert [sorted(s) for s in after["state"]] == [sorted(s) for s in expected["state"]]
    for a, e in zip(after["state"], expected["state"]):
        for k in e:
            np.testing.assert_array_equal(a[k], e[k])


def _stepped_adam(steps=2):
    params = [np.linspace(-1, 1, 5), np.linspace(0, 1, 3)]
    opt = optim.Adam(params, lr=0.1, amsgrad=True)
    for _ in range(steps):
        opt.step([np.ones(5), -np.ones(3)])
    return params, opt


@pytest.mark.parametrize(
    "change,error,match",
    [
        (lambda sd: sd["hyperparameters"].update(eps=-1.0), ValueError, "eps"),
        (lambda sd: sd["hyperparameters"].update(betas=(0.9, 1.5)), ValueError, "beta2"),
        (lambda sd: sd["hyperparameters"].update(bogus=1), ValueError, "bogus"),
        (lambda sd: sd["state"][1].update(step=-5), ValueError, r"\[1\]\['step'\]"),
        (lambda sd: sd["state"][1].update(step=2.7), TypeError, r"\[1\]\['step'\]"),
        (lambda sd: sd["state"][1].update(step="abc"), TypeError, r"\[1\]\['step'\]"),
        (lambda sd: sd["state"][1].update(step=True), TypeError, r"\[1\]\['step'\]"),
        (lambda sd: sd["state"][1].update(exp_avg=np.zeros(4)), ValueError, r"\[1\]\['exp_avg'\]"),
        (lambda sd: sd["state"][1].update(exp_avg=np.zeros(3, np.float32)), ValueError,
         r"\[1\]\['exp_avg'\]"),
        (lambda sd: sd["state"][1].update(exp_avg=[0.0, 0.0, 0.0]), ValueError, r"\[1\]\['exp_avg'\]"),
        (lambda sd: sd["state"][0].update(momentum=np.zeros(5)), ValueError, "momentum"),
        (lambda sd: sd.update(state=[None, {}]), TypeError, r"\['state'\]\[0\]"),
        (lambda sd: sd.update(state={0: {}}), TypeError, r"state_dict\['state'\]"),
        (lambda sd: sd.update(step_count=-1), ValueError, "step_count"),
        (lambda sd: sd.update(step_count=1.5), ValueError, "step_count"),
        (lambda sd: sd.update(hyperparameters=None), TypeError, "hyperparameters"),
    ],
)
def test_load_state_dict_is_transactional(change, error, match):
    params, opt = _stepped_adam()
    snap = _snapshot(opt, params)
    bad = opt.state_dict()
    bad["hyperparameters"]["lr"] = 0.5  # a valid change that must not be applied either
    change(bad)
    with pytest.raises(error, match=match):
        opt.load_state_dict(bad)
    _assert_unchanged(opt, params, snap)
    assert opt.lr == 0.1


def test_load_state_dict_refuses_other_objects():
    torch = pytest.importorskip("torch")
    t = torch.zeros(3, requires_grad=True)
    topt = torch.optim.SGD([t], lr=0.1, momentum=0.9)
    t.grad = torch.ones(3)
    topt.step()
    opt = optim.SGD([np.zeros(3)], lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="torch.optim state_dict"):
        opt.load_state_dict(topt.state_dict())
    with pytest.raises(TypeError, match="state_dict"):
        opt.load_state_dict([{}])
    assert opt.state == [{}] and opt.step_count == 0


def test_loaded_state_accepts_other_byte_orders_and_integer_types():
    params, opt = _stepped_adam()
    sd = opt.state_dict()
    sd["state"][0]["exp_avg"] = sd["state"][0]["exp_avg"].astype(">f8")
    sd["state"][0]["step"] = np.int64(2)
    p2 = [p.copy() for p in params]
    opt2 = optim.Adam(p2)
    opt2.load_state_dict(sd)
    assert opt2.state[0]["exp_avg"].dtype == np.float64 and type(opt2.state[0]["step"]) is int
    for o in (opt, opt2):
        o.step([np.ones(5), -np.ones(3)])
    for a, b in zip(params, p2):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "spoil,error,match",
    [
        (lambda st: st[1].update(exp_avg=np.zeros(4)), ValueError, r"state\[1\]\['exp_avg'\]"),
        (lambda st: st[1].update(exp_avg_sq=np.zeros(3)[::-1]), ValueError,
         r"state\[1\]\['exp_avg_sq'\]"),
        (lambda st: st[1].update(exp_avg=np.zeros(3, ">f8")), ValueError, r"state\[1\]\['exp_avg'\]"),
        (lambda st: st[1].update(step=-5), ValueError, r"state\[1\]\['step'\]"),
        (lambda st: st[1].update(step=2.7), TypeError, r"state\[1\]\['step'\]"),
        (lambda st: st[1].update(step="abc"), TypeError, r"state\[1\]\['step'\]"),
        (lambda st: st[1].update(step=2**63 - 1), ValueError, r"state\[1\]\['step'\]"),
        (lambda st: st.__setitem__(1, None), TypeError, r"state\[1\]"),
    ],
)
def test_failing_step_changes_nothing(spoil, error, match):
    """A step that fails on parameter 1 has not updated parameter 0 (nor its state)."""
    params, opt = _stepped_adam()
    spoil(opt.state)
    snap = ([p.copy() for p in params], opt.step_count)
    state0 = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in opt.state[0].items()}
    with pytest.raises(error, match=match):
        opt.step([np.ones(5), -np.ones(3)])
    for p, b in zip(params, snap[0]):
        np.testing.assert_array_equal(p, b)
    assert opt.step_count == snap[1]
    assert sorted(opt.state[0]) == sorted(state0)
    for k, v in state0.items():
        np.testing.assert_array_equal(opt.state[0][k], v)


def test_failing_first_step_creates_no_state():
    p0, p1 = np.zeros(4), np.zeros(2)
    opt = optim.RMSprop([p0, p1], centered=True, momentum=0.5)
    opt.state[1]["grad_avg"] = np.zeros(2, dtype=np.float32)
    with pytest.raises(ValueError, match=r"state\[1\]\['grad_avg'\]"):
        opt.step([np.ones(4), np.ones(2)])
    assert opt.state == [{}, {"grad_avg": opt.state[1]["grad_avg"]}]
    assert not p0.any() and not p1.any()


def test_state_step_counts_from_the_stored_value():
    """Adam's bias correction uses state["step"] (as torch.optim), also when set by the user."""
    torch = pytest.importorskip("torch")
    p = np.linspace(-1, 1, 7)
    t = torch.tensor(p.copy())
    opt = optim.Adam([p], lr=0.1)
    topt = torch.optim.Adam([t], lr=0.1, foreach=False)
    opt.state[0].update(step=np.int32(10), exp_avg=np.full(7, 0.5), exp_avg_sq=np.full(7, 0.25))
    topt.state[t] = {"step": torch.tensor(10.0), "exp_avg": torch.full((7,), 0.5, dtype=t.dtype),
                     "exp_avg_sq": torch.full((7,), 0.25, dtype=t.dtype)}
    g = np.cos(np.arange(7.0))
    opt.step([g])
    t.grad = torch.tensor(g)
    topt.step()
    assert opt.state[0]["step"] == 11
    np.testing.assert_allclose(p, t.numpy(), rtol=1e-15, atol=1e-15)


# ---- hyperparameters as attributes --------------------------------------------------------
def test_hyperparameter_assignment_takes_effect_or_raises():
    a, b = np.ones(4), np.ones(4)
    opt = optim.SGD([a], lr=0.1, momentum=0.5)
    opt.lr, opt.momentum, opt.weight_decay = 0.2, 0.9, 0.1
    ref = optim.SGD([b], lr=0.2, momentum=0.9, weight_decay=0.1)
    for _ in range(3):
        opt.step([np.arange(4.0)])
        ref.step([np.arange(4.0)])
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="momentum"):
        opt.momentum = -1.0
    with pytest.raises(ValueError, match="nesterov"):
        opt.dampening = 0.5
        opt.nesterov = True
    assert opt.momentum == 0.9 and opt.nesterov is False
    adam = optim.Adam([np.zeros(3)])
    with pytest.raises(ValueError, match="eps"):
        adam.eps = -1.0
    with pytest.raises(TypeError, match="amsgrad"):
        adam.amsgrad = "yes"
    assert adam.eps == 1e-8 and adam.amsgrad is False
    adam.amsgrad = True
    adam.step([np.ones(3)])
    assert "max_exp_avg_sq" in adam.state[0]
    assert "betas=(0.9, 0.999)" in repr(adam)


@pytest.mark.parametrize("make", [
    lambda p: optim.SGD(p, lr=10**400),
    lambda p: optim.Adam(p, eps=-(10**400)),
    lambda p: optim.Adagrad(p, lr_decay=10**400),
])
def test_huge_int_hyperparameters_are_value_errors(make):
    with pytest.raises(ValueError, match="lr|eps|lr_decay"):
        make([np.zeros(3)])


def test_rule_objects_come_from_core():
    """The compiled policy objects hold what the Python attributes say."""
    opt = optim.AdamW([np.zeros(3)], betas=(0.8, 0.95), weight_decay=0.3, amsgrad=True)
    rule = opt._rule
    assert isinstance(rule, losskit._core.Adam)
    assert (rule.beta1, rule.beta2, rule.weight_decay, rule.amsgrad) == (0.8, 0.95, 0.3, True)
    assert rule.decoupled_weight_decay is True
    assert rule.state_names == ("exp_avg", "exp_avg_sq", "max_exp_avg_sq", "step")
    assert optim.SGD([np.zeros(1)], momentum=0.9)._rule.state_names == ("momentum_buffer",)
    with pytest.raises(TypeError, match="beta3"):
        losskit._core.Adam(beta3=0.5)


# ---- arrays: subclasses, byte order, aliasing ------------------------------------------------
@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "Adagrad"])
def test_memmap_parameters_are_updated_in_place(name, tmp_path):
    kw = {"SGD": {"momentum": 0.9}}.get(name, {})
    plain = np.linspace(-1, 1, 33)
    mm = np.memmap(tmp_path / "p.bin", dtype=np.float64, mode="w+", shape=(33,))
    mm[:] = plain
    grad_mm = np.memmap(tmp_path / "g.bin", dtype=np.float64, mode="w+", shape=(33,))
    grad_mm[:] = np.sin(np.arange(33.0))
    o1 = getattr(optim, name)([plain], lr=0.1, **kw)
    o2 = getattr(optim, name)([mm], lr=0.1, **kw)
    for _ in range(3):
        o1.step([np.array(grad_mm)])
        o2.step([grad_mm])
    np.testing.assert_array_equal(np.asarray(mm), plain)
    # a memmap set as state is used, too
    o2.state[0][o2._rule.state_names[0]] = np.memmap(
        tmp_path / "s.bin", dtype=np.float64, mode="w+", shape=(33,))
    o2.step([grad_mm])


def test_byte_order():
    with pytest.raises(ValueError, match=r"params\[0\].*byte order"):
        optim.Adam([np.zeros(3, dtype=">f8")])
    # gradients are only read: any byte order
    a, b = np.linspace(0, 1, 5), np.linspace(0, 1, 5)
    o1, o2 = optim.Adam([a], lr=0.1), optim.Adam([b], lr=0.1)
    g = np.arange(5.0)
    o1.step([g])
    o2.step([g.astype(">f8")])
    np.testing.assert_array_equal(a, b)


def test_parameters_must_not_share_memory():
    buf = np.zeros(10)
    with pytest.raises(ValueError, match=r"params\[1\] shares memory with params\[0\]"):
        optim.SGD([buf[:6], buf[4:]])
    with pytest.raises(ValueError, match=r"params\[2\] shares memory with params\[0\]"):
        optim.SGD([buf, np.zeros(2), buf.view(np.float32)])
    optim.SGD([buf[:5], buf[5:]])  # adjacent, not overlapping


def test_state_must_not_share_memory():
    p0, p1 = np.zeros(4), np.zeros(4)
    opt = optim.Adam([p0, p1])
    opt.state[1]["exp_avg"] = p0  # another parameter
    with pytest.raises(ValueError, match=r"shares memory.*must not overlap"):
        opt.step([np.ones(4), np.ones(4)])
    buf = np.zeros(6)
    opt.state[1]["exp_avg"] = buf[:4]
    opt.state[1]["exp_avg_sq"] = buf[2:]  # another state array
    with pytest.raises(ValueError, match=r"state\[1\]\['exp_avg(_sq)?'\] shares memory"):
        opt.step([np.ones(4), np.ones(4)])
    opt.state[1]["exp_avg_sq"] = opt.state[1]["exp_avg"]  # the same array twice
    with pytest.raises(ValueError, match="shares memory"):
        opt.step([np.ones(4), np.ones(4)])
    assert not p0.any() and not p1.any() and opt.step_count == 0


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "Adagrad"])
@pytest.mark.parametrize("where", ["param", "param_shifted", "state", "other_param"])
def test_gradient_sharing_memory_gives_what_a_copy_gives(name, where):
    kw = {"SGD": {"momentum": 0.9}, "RMSprop": {"centered": True}}.get(name, {})
    key = {"SGD": "momentum_buffer", "Adam": "exp_avg", "RMSprop": "grad_avg",
           "Adagrad": "sum"}[name]
    n = 40
    buf = np.linspace(-2, 2, 2 * n + 8)
    other = np.cos(np.arange(n + 8.0))
    p, q = buf[4 : n + 4], other[:n]
    expected_p, expected_q = p.copy(), q.copy()
    ref = getattr(optim, name)([expected_p, expected_q], lr=0.1, **kw)
    opt = getattr(optim, name)([p, q], lr=0.1, **kw)
    for k in range(3):
        ref.step([np.ones(n), np.ones(n)])
        opt.step([np.ones(n), np.ones(n)])
        if k == 0:  # state exists from here on
            opt.state[0][key] = np.array(opt.state[0][key])  # own memory
    # gradients that start before the memory they share: an in-order pass would overwrite
    # elements it has not read yet (param 0 is updated before param 1 reads its gradient)
    ones = np.ones(n)
    grads = {"param": [p, ones], "param_shifted": [buf[:n], ones],
             "state": [opt.state[0][key], ones], "other_param": [ones, buf[2 : n + 2]]}[where]
    ref.step([g.copy() for g in grads])
    opt.step(grads)
    np.testing.assert_array_equal(p, expected_p)
    np.testing.assert_array_equal(q, expected_q)
    np.testing.assert_array_equal(opt.state[0][key], ref.state[0][key])


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_optimizers_pickle_and_copy(case):
    import copy

    name, kw = case
    for clone_of in (lambda o: pickle.loads(pickle.dumps(o)), copy.deepcopy):
        opt = getattr(optim, name)([np.linspace(-1, 1, 6)], lr=0.05, **kw)
        opt.step([np.arange(6.0)])
        clone = clone_of(opt)
        assert repr(clone) == repr(opt) and clone.step_count == 1
        for o in (opt, clone):
            o.step([np.ones(6)])
        assert not np.shares_memory(clone.params[0], opt.params[0])
        np.testing.assert_array_equal(clone.params[0], opt.params[0])
        for k, v in opt.state[0].items():
            np.testing.assert_array_equal(clone.state[0][k], v)
