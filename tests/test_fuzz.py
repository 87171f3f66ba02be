"""Fuzzing every public function with hypothesis.

Random shapes (0-d, empty, mismatched), dtypes (float16/32/64, ints, unsigned, bool, complex,
object, strings), memory layouts (Fortran order, strided, negative strides, byte-swapped,
unaligned, read-only, broadcast), special values (NaN, +-inf, subnormals, +-1e308, huge
integers), out-of-range labels and indices, and parameter values of every kind go to every
loss (construction, __call__, grad, value_and_grad, value_and_grads, sample_weight=, out=),
BarronLoss/AdaptiveBarronLoss, barron_log_partition, the optimizers (construction, user-set
state, step, state dicts), schedules, clipping, penalties, the sampler, gather,
numerical_gradient/gradcheck, the derivative-free searches and the estimators. Each call must
return, or raise ValueError or TypeError with a message: never crash, never raise anything else,
never let a warning escape (the suite turns warnings into errors). The one documented exception:
clip_grad_norm(error_if_nonfinite=True) raises RuntimeError on a non-finite norm, as PyTorch.

Examples per test: LOSSKIT_FUZZ_EXAMPLES (default 30). A long, non-derandomized run:

    HYPOTHESIS_PROFILE=dev LOSSKIT_FUZZ_EXAMPLES=5000 pytest tests/test_fuzz.py -s

prints how many calls returned and how many raised each exception type.
"""

from __future__ import annotations

import collections
import inspect
import math
import os
import pickle
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import losskit
from losskit import optim

EXAMPLES = int(os.environ.get("LOSSKIT_FUZZ_EXAMPLES", "30"))
fuzz_settings = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much],
)


def fuzz_test(fn):
    """A hypothesis test of fn(..., data) with the fuzz settings."""
    return fuzz_settings(given(data=st.data())(fn))


# ---- the harness ----------------------------------------------------------------------------
OUTCOMES: collections.Counter[str] = collections.Counter()
REFUSED = object()  # what exercise() returns when the call raised an allowed exception


def exercise(fn, *args, allowed=(ValueError, TypeError), **kwargs):
    """fn(*args, **kwargs): its result, or REFUSED when it raised an allowed exception (which
    must carry a message). Anything else propagates and fails the test."""
    try:
        result = fn(*args, **kwargs)
    except allowed as exc:
        OUTCOMES[type(exc).__name__] += 1
        assert str(exc).strip(), f"{type(exc).__name__} without a message from {fn!r}"
        return REFUSED
    OUTCOMES["returned"] += 1
    return result


@pytest.fixture(scope="module", autouse=True)
def report_outcomes():
    yield
    if "LOSSKIT_FUZZ_EXAMPLES" in os.environ:
        total = sum(OUTCOMES.values())
        print(f"\nfuzz: {total} calls: " + ", ".join(f"{k} {v}" for k, v in OUTCOMES.most_common()))


# ---- values ---------------------------------------------------------------------------------
SPECIAL_FLOATS = [0.0, -0.0, 1.0, -1.0, 0.5, 2.0, 3.0, -7.5, 1e-7, math.nan, math.inf, -math.inf,
                  5e-324, -2.5e-310, 1e-40, 1e308, -1e308, 1.7976931348623157e308, 3.5e38,
                  65504.0, 1e15]
floats = st.one_of(st.sampled_from(SPECIAL_FLOATS), st.floats(-10, 10), st.floats())

NUMERIC_DTYPES = [np.float64, np.float32, np.float16, np.int64, np.int32, np.int8, np.uint8,
                  np.uint64, np.bool_]
ODD_DTYPES = [np.complex128, np.complex64, object, "U3", "datetime64[s]"]
dtypes = st.one_of(st.sampled_from([np.float64, np.float32]), st.sampled_from(NUMERIC_DTYPES),
                   st.sampled_from(ODD_DTYPES))

shapes = st.one_of(
    st.just(()),
    st.tuples(st.integers(0, 7)),
    st.tuples(st.integers(0, 5), st.integers(0, 4)),
    st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 2)),
)
# Above the sizes where the kernels release the GIL (8192) and go parallel (65536).
large_shapes = st.sampled_from([(8193,), (70001,), (300, 257)])


def _values_as(values, dtype, shape):
    dtype = np.dtype(dtype)
    flat = np.array(values, dtype=np.float64)
    # casting NaN to int and the like warns: building test data must not
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        if dtype.kind == "O":
            return np.array(flat.tolist(), dtype=object).reshape(shape)
        if dtype.kind == "U":
            return flat.astype(str).astype(dtype).reshape(shape)
        if dtype.kind == "M":
            return np.zeros(shape, dtype=dtype)
        return flat.astype(dtype).reshape(shape)


LAYOUTS = ["c", "c", "c", "fortran", "strided", "reversed", "byteswapped", "unaligned",
           "readonly", "broadcast"]


def _layout(a, layout):
    """The same values in another memory layout (where the dtype allows it)."""
    if layout == "fortran":
        return np.asfortranarray(a)
    if layout == "strided" and a.ndim:
        b = np.repeat(a, 2, axis=0)
        return b[::2]
    if layout == "reversed" and a.ndim:
        return np.ascontiguousarray(a[::-1])[::-1]
    if layout == "byteswapped" and a.dtype.kind in "fiuc" and a.dtype.itemsize > 1:
        return a.astype(a.dtype.newbyteorder(">" if a.dtype.byteorder in "=<" else "<"))
    if layout == "unaligned" and a.dtype.kind in "fiuc" and a.dtype.itemsize > 1:
        raw = np.empty(a.nbytes + 1, dtype=np.uint8)[1:]
        b = raw.view(a.dtype).reshape(a.shape)
        b[...] = a
        return b
    if layout == "readonly":
        b = a.copy()
        b.flags.writeable = False
        return b
    if layout == "broadcast" and a.ndim and a.shape[0] > 0:
        return np.broadcast_to(a[:1], a.shape)
    return a


@st.composite
def arrays(draw, shape=None, dtype=None, elements=floats):
    shape = draw(st.one_of(shapes, large_shapes) if shape is None else st.just(shape))
    dtype = draw(dtypes) if dtype is None else dtype
    size = math.prod(shape)
    if size > 64:  # large arrays: a few drawn values repeated
        values = np.resize(np.array(draw(st.lists(elements, min_size=1, max_size=8))), size)
    else:
        values = draw(st.lists(elements, min_size=size, max_size=size))
    return _layout(_values_as(values, dtype, shape), draw(st.sampled_from(LAYOUTS)))


SCALARS = [None, True, False, 0, 1, -1, 2, 3, 10**30, -(2**63), 2**64, 0.0, 0.5, 1.5, -2.0,
           math.nan, math.inf, -math.inf, 1e308, 5e-324, np.float32(0.25), np.int64(4),
           np.float64(math.nan), "mean", "sum", "none", "batchmean", "var", "precision",
           "inf", "", "bogus", 1 + 2j, [], [1.0, 2.0], [[1.0], [2.0, 3.0]], (1, 2), {}, object()]
scalars = st.sampled_from(SCALARS)
anything = st.one_of(scalars, arrays())


@st.composite
def operand(draw, shape, dtype=np.float64, elements=floats):
    """Mostly an array of `shape` and `dtype` (any layout, special values); sometimes any other
    array or value (mismatched shapes and dtypes, scalars, lists, None)."""
    kind = draw(st.integers(0, 9))
    if kind < 7:
        return draw(arrays(shape=shape, dtype=dtype, elements=elements))
    if kind < 9:
        return draw(arrays())
    return draw(scalars)


def maybe(valid):
    """Mostly a valid value, sometimes anything."""
    return st.one_of(valid, valid, valid, anything)


numbers_ = st.one_of(st.integers(-2, 6), floats)


def keyword_arguments(draw, fn, skip=()):
    """Keyword arguments for fn's parameters: one without a default mostly a number; one with a
    default left out (the default) or drawn from anything."""
    kwargs = {}
    for name, p in inspect.signature(fn).parameters.items():
        if name in skip or name == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.default is p.empty:
            kwargs[name] = draw(maybe(numbers_))
        elif draw(st.integers(0, 2)) == 0:
            kwargs[name] = draw(anything)
    return kwargs


def fuzzed(cls, data):
    """An instance of cls from fuzzed keyword arguments, or REFUSED."""
    return exercise(cls, **keyword_arguments(data.draw, cls.__init__))


# ---- losses ---------------------------------------------------------------------------------
LOSS_CLASSES = {cls.name: cls for cls in vars(losskit).values()
                if isinstance(cls, type) and issubclass(cls, losskit.Loss) and "name" in vars(cls)}


def test_every_registered_loss_is_fuzzed():
    assert sorted(LOSS_CLASSES) == losskit.available_losses()


def _loss_inputs(draw, loss):
    """Positional arguments for a call of `loss`: an input, a target (labels or probabilities
    for row-wise losses) and a third argument where the loss has one."""
    dtype = draw(st.sampled_from([np.float64, np.float32, np.float16, np.int64]))
    if isinstance(loss, losskit.AdaptiveBarronLoss):
        shape = (draw(st.integers(0, 6)), loss.num_dims if draw(st.integers(0, 5)) else 2)
    elif isinstance(loss, losskit.RowwiseLoss):
        shape = draw(st.tuples(st.integers(0, 6), st.integers(0, 5)))
    else:
        shape = draw(st.one_of(shapes, large_shapes))
    x = draw(operand(shape, dtype))
    if isinstance(loss, losskit.RowwiseLoss) and len(shape) == 2:
        n, c = shape
        labels = st.integers(-101, c + 1) if draw(st.booleans()) else st.integers(0, max(c - 1, 0))
        label_dtype = draw(st.sampled_from([np.int64, np.int32, np.uint8, np.uint64, np.int8]))
        target = draw(st.one_of(
            arrays(shape=(n,), dtype=label_dtype, elements=labels),
            operand(shape, dtype, elements=st.floats(0, 1)),  # probabilities
            operand((n,), np.int64, elements=st.sampled_from([0, -100, -(2**63), 2**63 - 1]))))
    else:
        target = draw(operand(shape, dtype))
    args = [x, target]
    if "third" in inspect.signature(loss.__call__).parameters:
        args.append(draw(operand(draw(st.sampled_from([shape, shape[:-1], ()])), dtype,
                                 elements=st.one_of(floats, st.floats(0, 3)))))
    return shape, dtype, args


@pytest.mark.parametrize("name", sorted(LOSS_CLASSES))
@fuzz_test
def test_losses(name, data):
    cls = LOSS_CLASSES[name]
    kwargs = keyword_arguments(data.draw, cls.__init__)
    loss = exercise(losskit.get_loss, name, **kwargs)
    if loss is REFUSED:
        return
    repr(loss)
    exercise(hash, loss)  # losses with array parameters are unhashable (TypeError)
    assert repr(pickle.loads(pickle.dumps(loss))) == repr(loss)  # (== is False for NaN params)
    if isinstance(loss, losskit.AdaptiveBarronLoss) and data.draw(st.booleans()):
        for latent in loss.params:  # where a diverging optimizer could have left them
            latent[...] = data.draw(st.lists(floats, min_size=latent.size, max_size=latent.size))
        exercise(lambda: (loss.alpha, loss.scale))
    shape, dtype, args = _loss_inputs(data.draw, loss)
    methods = [m for m in ("__call__", "grad", "value_and_grad", "value_and_grads")
               if hasattr(loss, m)]
    for _ in range(data.draw(st.integers(1, 3))):
        method = getattr(loss, data.draw(st.sampled_from(methods)))
        kw = {}
        if data.draw(st.booleans()):
            kw["sample_weight"] = data.draw(operand(
                data.draw(st.sampled_from([shape, shape[:1]])), dtype,
                elements=st.one_of(floats, st.floats(0, 2))))
        if data.draw(st.booleans()):
            out = data.draw(operand(shape, data.draw(st.sampled_from([np.float64, np.float32]))))
            kw["out"] = (out, data.draw(operand(shape))) if data.draw(st.booleans()) else out
        extra = [data.draw(anything)] if data.draw(st.integers(0, 9)) == 0 else []
        exercise(method, *args, *extra, **kw)


@pytest.mark.parametrize("shape", [(), (5,), (300, 257)])
@fuzz_test
def test_barron_log_partition(shape, data):
    alpha = data.draw(operand(shape, elements=st.one_of(floats, st.floats(0, 70))))
    exercise(losskit.barron_log_partition, alpha, return_grad=data.draw(maybe(st.booleans())))


# ---- optimizers, clipping, penalties --------------------------------------------------------
OPTIMIZERS = [optim.SGD, optim.Adam, optim.AdamW, optim.RMSprop, optim.Adagrad]
STATE_KEYS = ["momentum_buffer", "exp_avg", "exp_avg_sq", "max_exp_avg_sq", "square_avg",
              "grad_avg", "sum", "step"]


@st.composite
def parameter_arrays(draw):
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    shapes_ = draw(st.lists(st.one_of(shapes, large_shapes), min_size=1, max_size=3))
    return [draw(operand(s, dtype)) for s in shapes_]


@pytest.mark.parametrize("cls", OPTIMIZERS, ids=lambda c: c.__name__)
@fuzz_test
def test_optimizers(cls, data):
    params = data.draw(st.one_of(parameter_arrays(), anything))
    kwargs = keyword_arguments(data.draw, cls.__init__, skip=("params",))
    if "lr" in kwargs and data.draw(st.integers(0, 3)) == 0:
        lr_value = kwargs["lr"]
        kwargs["lr"] = lambda step: lr_value  # a schedule returning anything
    opt = exercise(cls, params, **kwargs)
    if opt is REFUSED:
        return
    repr(opt)
    if opt.params and data.draw(st.integers(0, 3)) == 0:  # a user-set state entry
        key = data.draw(st.sampled_from(STATE_KEYS))
        opt.state[0][key] = data.draw(st.one_of(operand(opt.params[0].shape, opt.params[0].dtype),
                                                anything))
    for _ in range(data.draw(st.integers(1, 3))):
        grads = data.draw(st.one_of(
            st.just([data.draw(operand(p.shape, p.dtype)) for p in opt.params]), anything))
        exercise(opt.step, grads)
    state = exercise(opt.state_dict)
    if state is not REFUSED:
        exercise(opt.load_state_dict, state)
    exercise(opt.load_state_dict, data.draw(st.one_of(
        anything, st.fixed_dictionaries({"state": anything, "step_count": anything}))))



grad_lists = st.one_of(parameter_arrays(), anything)
NORM_TYPES = [1, 2, 2.0, math.inf, "inf", "Infinity", 3, 0, -1, math.nan, "2", None, True]


@fuzz_test
def test_clipping(data):
    grads = data.draw(grad_lists)
    norm_type = data.draw(st.one_of(st.sampled_from(NORM_TYPES), anything))
    error_if_nonfinite = data.draw(maybe(st.booleans()))
    # clip_grad_norm's one documented RuntimeError: a non-finite norm with error_if_nonfinite
    allowed = (ValueError, TypeError, RuntimeError) if error_if_nonfinite is True else (ValueError, TypeError)
    exercise(losskit.clip_grad_norm, grads, data.draw(maybe(floats)), norm_type, error_if_nonfinite,
             allowed=allowed)
    exercise(losskit.grad_norm, grads, norm_type)
    exercise(losskit.clip_grad_value, grads, data.draw(maybe(floats)))


PENALTIES = [losskit.L1Penalty, losskit.L2Penalty, losskit.ElasticNetPenalty]


@pytest.mark.parametrize("cls", PENALTIES, ids=lambda c: c.__name__)
@fuzz_test
def test_penalties(cls, data):
    penalty = fuzzed(cls, data)
    if penalty is REFUSED:
        return
    repr(penalty)
    shape = data.draw(st.one_of(shapes, large_shapes))
    dtype = data.draw(st.sampled_from([np.float64, np.float32, np.int64, np.float16]))
    w = data.draw(operand(shape, dtype))
    out = data.draw(st.one_of(st.none(), operand(shape, dtype)))
    exercise(penalty.value, w)
    exercise(penalty, w)
    exercise(penalty.grad, w, out)
    exercise(penalty.value_and_grad, w, out)
    exercise(penalty.prox, w, data.draw(maybe(floats)))


# ---- sampling and gathering -----------------------------------------------------------------
counts = st.one_of(st.integers(-2, 300), st.sampled_from([2**40, 2**64, 1.0, True, None, "3"]))


@fuzz_test
def test_sampler(data):
    seed = data.draw(st.one_of(st.integers(-1, 2**64), st.sampled_from([None, 1.5, "1", True])))
    sampler = exercise(losskit.MinibatchSampler, data.draw(counts), data.draw(counts),
                       shuffle=data.draw(maybe(st.booleans())),
                       drop_last=data.draw(maybe(st.booleans())),
                       replacement=data.draw(maybe(st.booleans())), seed=seed)
    if sampler is REFUSED:
        return
    repr(sampler)
    len(sampler)
    exercise(sampler.set_epoch, data.draw(st.one_of(st.integers(-1, 2**64), scalars)))
    if sampler.n <= 10**5:  # a whole epoch of a huge n would not fit in memory
        batches = exercise(list, sampler)
        if batches is not REFUSED:
            assert sum(len(b) for b in batches) <= sampler.n
        exercise(sampler.epoch_indices, data.draw(st.one_of(st.integers(-1, 2**64), scalars)))


INDEX_DTYPES = [np.int64, np.int32, np.uint64, np.uint8, np.int8, np.float64, np.bool_]


@fuzz_test
def test_gather(data):
    shape = data.draw(st.one_of(shapes, st.just((20000, 3))))
    X = data.draw(operand(shape, data.draw(dtypes)))
    rows = shape[0] if shape else 0
    indices = data.draw(st.one_of(
        arrays(shape=(data.draw(st.integers(0, 9)),),
               dtype=data.draw(st.sampled_from(INDEX_DTYPES)),
               elements=st.integers(-3, rows + 2)),
        arrays(shape=(9000,), dtype=np.int64, elements=st.integers(0, max(rows - 1, 0))),
        anything))
    n = len(indices) if isinstance(indices, np.ndarray) and indices.ndim == 1 else 3
    out = data.draw(st.one_of(st.none(), operand((n,) + tuple(shape[1:]), getattr(X, "dtype", None))))
    exercise(losskit.gather, X, indices, out)


# ---- gradient checking, searches, schedules ------------------------------------------------
def _square_norm(x):
    with np.errstate(all="ignore"):
        return float(np.sum(x * x)), 2 * x


@fuzz_test
def test_gradient_checking(data):
    # small: numerical gradients cost two calls of f per element
    small = st.sampled_from([(), (3,), (2, 2), (0,)])
    x = data.draw(st.one_of(arrays(shape=data.draw(small)), arrays(shape=data.draw(small), dtype=np.float64), scalars))
    f = data.draw(st.sampled_from([_square_norm, lambda x: _square_norm(x)[0], None, "f"]))
    kw = keyword_arguments(data.draw, losskit.numerical_gradient, skip=("f", "x"))
    exercise(losskit.numerical_gradient, f, x, **kw)
    kw = keyword_arguments(data.draw, losskit.gradcheck, skip=("f", "x"))
    exercise(losskit.gradcheck, f, x, **kw)


@pytest.mark.parametrize("cls", [optim.RandomSearch, optim.RandomLocalSearch], ids=lambda c: c.__name__)
@fuzz_test
def test_searches(cls, data):
    search = fuzzed(cls, data)
    if search is REFUSED:
        return
    x0 = data.draw(operand(data.draw(st.sampled_from([(), (2,), (0,)]))))
    # (a valid huge count would just run that long)
    iters = data.draw(st.one_of(st.integers(-1, 5), st.sampled_from([1.5, None, "3", True, math.nan])))
    exercise(search.minimize, lambda x: _square_norm(x)[0], x0, iters)


SCHEDULES = [optim.constant, optim.step_decay, optim.exponential_decay, optim.cosine_decay,
             optim.inverse_scaling]


@pytest.mark.parametrize("fn", SCHEDULES, ids=lambda f: f.__name__)
@fuzz_test
def test_schedules(fn, data):
    schedule = exercise(fn, **keyword_arguments(data.draw, fn))
    if schedule is REFUSED:
        return
    exercise(schedule, data.draw(st.one_of(st.integers(-2, 10**6), st.just(2**70), scalars)))
    assert repr(pickle.loads(pickle.dumps(schedule))(3)) == repr(schedule(3))  # NaN: 0 * inf


def test_runtime_settings(restore_threads, restore_isa):
    for bad in (0, -1, 1025, 2**40, 1.5, "2", None):
        assert exercise(losskit.set_num_threads, bad) is REFUSED
    for bad in ("avx3", "", None, 2, "SSE2"):
        assert exercise(losskit.set_isa, bad) is REFUSED
    for bad in ("nope", None, 3, ["mse"]):
        assert exercise(losskit.get_loss, bad) is REFUSED


# ---- estimators -----------------------------------------------------------------------------
LOSS_NAMES = st.one_of(st.sampled_from(losskit.available_losses()), scalars)


@pytest.mark.parametrize("cls_name", ["LinearRegressor", "LinearClassifier"])
@fuzz_test
def test_estimators(cls_name, data):
    cls = getattr(losskit, cls_name)
    kwargs = keyword_arguments(data.draw, cls.__init__, skip=("verbose",))
    kwargs["loss"] = data.draw(LOSS_NAMES)
    if not isinstance(kwargs.get("epochs"), int) or kwargs["epochs"] > 3:
        kwargs["epochs"] = data.draw(st.sampled_from([1, 2, 0, -1, 1.5, None]))
    n, d = data.draw(st.integers(0, 12)), data.draw(st.integers(0, 3))
    X = data.draw(operand((n, d), elements=st.one_of(st.floats(-3, 3), floats)))
    y = data.draw(st.one_of(
        operand((n,), elements=st.one_of(st.floats(-3, 3), floats)),
        arrays(shape=(n,), dtype=np.int64, elements=st.integers(0, 2)),
        operand((n, 2)), anything))
    # scikit-learn warns by convention (conversions, convergence) and training on values near
    # the float64 range overflows as IEEE arithmetic says: warnings are not failures here.
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        model = exercise(cls(**kwargs).fit, X, y)
        if model is not REFUSED:
            exercise(model.predict, X)
            exercise(model.predict, data.draw(anything))
