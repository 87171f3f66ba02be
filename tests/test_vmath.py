"""ULP accuracy of the vectorized math functions, for every compiled ISA.

``losskit._core._vmath(name, x, out)`` applies exp / log / log1p / expm1 / tanh / erf with
the current ISA.  float64 results are compared with mpmath at 120 bits (correctly rounded to
float64); float32 results with the float64 NumPy result rounded to float32.  The error is the
distance in units in the last place between the result and that correctly rounded value,
measured on the integer representation (so it also counts across powers of two, the
subnormal range and zero).
"""

from __future__ import annotations

import functools
import math
import zlib

import numpy as np
import pytest

import losskit

mpmath = pytest.importorskip("mpmath")

FUNCS = ["exp", "log", "log1p", "expm1", "tanh", "erf"]
DTYPES = [np.float32, np.float64]
DTYPE_IDS = ["float32", "float64"]

# Accuracy contract: max distance, in ULP, from the correctly rounded result.
ULP_BOUNDS = {
    np.float64: {"exp": 1, "log": 1, "log1p": 2, "expm1": 2, "tanh": 3, "erf": 3},
    np.float32: {"exp": 1, "log": 1, "log1p": 2, "expm1": 2, "tanh": 3, "erf": 3},
}


def vmath(name, x):
    x = np.ascontiguousarray(x)
    out = np.empty_like(x)
    ret = losskit._core._vmath(name, x, out)
    assert ret is None or ret is out or np.shares_memory(ret, out)
    return out


# --------------------------------------------------------------------------------------
# ULP distance
# --------------------------------------------------------------------------------------
def _ordered(a):
    """Map floats to integers that are monotonic in the float order (+0 and -0 both 0).

    A negative float with magnitude bits m maps to -m; float64 uses Python integers (object
    arrays) so that differences across the whole range cannot overflow.
    """
    a = np.ascontiguousarray(a)
    if a.dtype == np.float64:
        bits = a.view(np.int64).astype(object)
        top = -(2 ** 63)
        return np.array([top - b if b < 0 else b for b in bits], dtype=object)
    bits = a.view(np.int32).astype(np.int64)
    return np.where(bits < 0, np.int64(-(2 ** 31)) - bits, bits)


def ulp_distance(got, expected):
    """Integer ULP distance; NaN vs NaN is 0, NaN vs a number is inf."""
    got = np.asarray(got)
    expected = np.asarray(expected).astype(got.dtype)
    d = np.abs(_ordered(got) - _ordered(expected)).astype(np.float64)
    gn, en = np.isnan(got), np.isnan(expected)
    d[gn & en] = 0.0
    d[gn ^ en] = np.inf
    return d


def test_ulp_distance_helper():
    f = np.float64
    one = np.array([1.0])
    assert ulp_distance(np.nextafter(one, 2), one)[0] == 1
    assert ulp_distance(np.nextafter(one, 0), one)[0] == 1
    assert ulp_distance(np.array([-0.0]), np.array([0.0]))[0] == 0
    tiny = np.array([5e-324])
    assert ulp_distance(tiny, -tiny)[0] == 2
    assert ulp_distance(np.array([np.inf]), np.array([np.finfo(f).max]))[0] == 1
    assert ulp_distance(np.array([np.nan]), np.array([np.nan]))[0] == 0
    assert ulp_distance(np.array([np.nan]), one)[0] == np.inf
    one32 = np.array([1.0], dtype=np.float32)
    assert ulp_distance(np.nextafter(one32, np.float32(2)), one32)[0] == 1
    assert ulp_distance(np.array([-1.0], np.float32), one32)[0] == 2 * 0x3F800000


# --------------------------------------------------------------------------------------
# test points
# --------------------------------------------------------------------------------------
def _loguniform(rng, lo, hi, n):
    return np.exp(rng.uniform(np.log(lo), np.log(hi), n))


def _random_bits(rng, n, dtype):
    if dtype == np.float64:
        b = rng.integers(0, 2 ** 63, n, dtype=np.int64) * rng.choice([1, -1], n)
        x = b.view(np.float64)
    else:
        b = rng.integers(-(2 ** 31), 2 ** 31, n, dtype=np.int64).astype(np.int32)
        x = b.view(np.float32)
    return x[np.isfinite(x)]


def _points(name, dtype, n):
    """Wide-range test points for one function (finite, in and around its domain)."""
    with np.errstate(all="ignore"):
        return _points_impl(name, dtype, n)


def _points_impl(name, dtype, n):
    rng = np.random.default_rng(zlib.crc32(f"{name}-{np.dtype(dtype).name}".encode()))
    fi = np.finfo(dtype)
    big = float(np.log(fi.max))        # exp overflow threshold
    small = float(np.log(fi.smallest_subnormal))  # exp underflow to 0
    pts = [_random_bits(rng, n // 4, dtype)]
    if name in ("exp", "expm1"):
        pts += [rng.uniform(small - 5, big + 5, n // 4),
                _loguniform(rng, fi.smallest_normal, big, n // 4) * rng.choice([-1, 1], n // 4),
                _loguniform(rng, 1e-12, 1.0, n // 4) * rng.choice([-1, 1], n // 4)]
        if name == "exp":  # results in the subnormal range
            pts.append(rng.uniform(small, float(np.log(fi.smallest_normal)), n // 8))
    elif name == "log":
        pts += [np.abs(_random_bits(rng, n // 4, dtype)),
                1.0 + rng.uniform(-0.3, 0.3, n // 4),
                _loguniform(rng, fi.smallest_subnormal, fi.max, n // 4)]
    elif name == "log1p":
        pts += [_loguniform(rng, fi.smallest_subnormal, fi.max, n // 4),
                -_loguniform(rng, fi.smallest_subnormal, 1.0, n // 4),
                -1.0 + _loguniform(rng, fi.eps / 2, 1.0, n // 4)]
    elif name == "erf":
        # both pieces, the switch at |x| = 1.5 (float: 1), and the tail until erf rounds to +-1
        split = 1.5 if dtype == np.float64 else 1.0
        pts += [rng.uniform(-7, 7, n // 4),
                split + rng.uniform(-0.05, 0.05, n // 8) * rng.choice([-1, 1], n // 8),
                _loguniform(rng, fi.smallest_subnormal, 1.0, n // 4) * rng.choice([-1, 1], n // 4)]
    elif name == "tanh":
        pts += [_loguniform(rng, fi.smallest_subnormal, 40.0, n // 4) * rng.choice([-1, 1], n // 4),
                rng.uniform(-5, 5, n // 4),
                _loguniform(rng, 1e-5, 1.0, n // 4) * rng.choice([-1, 1], n // 4)]
    x = np.concatenate(pts).astype(dtype)
    return np.concatenate([x, _special_points(name, dtype)])


def _special_points(name, dtype):
    with np.errstate(all="ignore"):
        return _special_points_impl(name, dtype)


def _special_points_impl(name, dtype):
    fi = np.finfo(dtype)
    vals = [0.0, -0.0, float(fi.smallest_subnormal), -float(fi.smallest_subnormal),
            float(fi.smallest_normal), -float(fi.smallest_normal), 1.0, -1.0,
            float(fi.max), -float(fi.max), float(fi.eps), -float(fi.eps)]
    if name in ("exp", "expm1"):
        big = np.log(np.float64(fi.max))
        small = np.log(np.float64(fi.smallest_subnormal))
        norm = np.log(np.float64(fi.smallest_normal))
        for t in (big, small, norm, -np.log(2.0) * (fi.nmant + 1)):
            t = np.asarray(t, dtype=dtype)
            vals += [float(np.nextafter(t, -np.inf)), float(t), float(np.nextafter(t, np.inf))]
    if name == "log1p":
        vals += [float(np.nextafter(np.asarray(-1.0, dtype), 0))]
    if name == "tanh":
        vals += [9.0, 10.0, 19.0, 20.0, 22.0]
    if name == "erf":
        split = np.asarray(1.5 if dtype == np.float64 else 1.0, dtype)
        vals += [float(np.nextafter(split, 0)), float(split), float(np.nextafter(split, 3)),
                 3.92, 5.9, 6.0]
        vals += [-v for v in vals[-6:]]
    return np.array(vals, dtype=dtype)


@functools.lru_cache(maxsize=None)
def _mp_reference_f64(name, x_bytes):
    x = np.frombuffer(x_bytes, dtype=np.float64)
    mp = mpmath.mp
    fn = {"exp": mpmath.exp, "log": mpmath.log, "log1p": mpmath.log1p, "expm1": mpmath.expm1,
          "tanh": mpmath.tanh, "erf": mpmath.erf}[name]
    out = np.empty_like(x)
    with mpmath.workprec(120):
        for i, xi in enumerate(x):
            xi = float(xi)
            if np.isnan(xi):
                out[i] = np.nan
                continue
            try:
                if name == "log" and xi < 0 or name == "log1p" and xi < -1:
                    out[i] = np.nan
                    continue
                if name == "log" and xi == 0:
                    out[i] = -np.inf
                    continue
                if name == "log1p" and xi == -1:
                    out[i] = -np.inf
                    continue
                if np.isinf(xi):
                    out[i] = {"exp": (np.inf, 0.0), "expm1": (np.inf, -1.0),
                              "tanh": (1.0, -1.0), "erf": (1.0, -1.0), "log": (np.inf, np.nan),
                              "log1p": (np.inf, np.nan)}[name][0 if xi > 0 else 1]
                    continue
                if xi == 0.0:
                    out[i] = 1.0 if name == "exp" else xi
                    continue
                out[i] = _round_f64(fn(mp.mpf(xi)))
            except OverflowError:
                out[i] = np.inf
    return out


_OVERFLOW = None


def _round_f64(r):
    """Correctly rounded float64 of an mpmath number (also in the subnormal range)."""
    global _OVERFLOW
    if _OVERFLOW is None:
        _OVERFLOW = mpmath.mpf(2) ** 1024 * (1 - mpmath.mpf(2) ** -54)
    if abs(r) >= _OVERFLOW:
        return float(np.copysign(np.inf, float(mpmath.sign(r))))
    c = float(r)
    best, best_err = c, None
    for cand in (np.nextafter(c, -np.inf), c, np.nextafter(c, np.inf)):
        if not np.isfinite(cand):
            continue
        err = abs(mpmath.mpf(float(cand)) - r)
        if best_err is None or err < best_err:
            best, best_err = float(cand), err
    if best == 0.0:
        best = float(np.copysign(0.0, float(mpmath.sign(r)) or 1.0))
    return best


def reference(name, x):
    x = np.asarray(x)
    if x.dtype == np.float64:
        return _mp_reference_f64(name, x.tobytes())
    fn = {"exp": np.exp, "log": np.log, "log1p": np.log1p, "expm1": np.expm1, "tanh": np.tanh,
          "erf": lambda v: np.frompyfunc(math.erf, 1, 1)(v).astype(np.float64)}[name]
    with np.errstate(all="ignore"):
        return fn(x.astype(np.float64)).astype(np.float32)


N_POINTS = {np.float64: 4000, np.float32: 60000}


@functools.lru_cache(maxsize=None)
def _case(name, dtype):
    x = _points(name, dtype, N_POINTS[dtype])
    return x, reference(name, x)


# --------------------------------------------------------------------------------------
# tests
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", FUNCS)
def test_ulp_error_within_bound(name, dtype, isa):
    x, expected = _case(name, dtype)
    got = vmath(name, x)
    assert got.dtype == np.dtype(dtype)
    d = ulp_distance(got, expected)
    worst = int(np.argmax(d))
    bound = ULP_BOUNDS[dtype][name]
    assert d[worst] <= bound, (
        f"{name} {np.dtype(dtype).name} isa={isa}: max error {d[worst]} ULP > {bound} at "
        f"x={x[worst]!r}: got {got[worst]!r}, expected {expected[worst]!r} "
        f"({int(np.sum(d > bound))} of {d.size} points over the bound)")


SPECIAL = {
    "exp": [(0.0, 1.0), (-0.0, 1.0), (np.inf, np.inf), (-np.inf, 0.0), (np.nan, np.nan),
            (1000.0, np.inf), (-1000.0, 0.0), (1.0, np.e)],
    "log": [(0.0, -np.inf), (-0.0, -np.inf), (1.0, 0.0), (-1.0, np.nan), (np.inf, np.inf),
            (-np.inf, np.nan), (np.nan, np.nan), (2.0, np.log(2.0))],
    "log1p": [(0.0, 0.0), (-0.0, -0.0), (-1.0, -np.inf), (-2.0, np.nan), (np.inf, np.inf),
              (-np.inf, np.nan), (np.nan, np.nan)],
    "expm1": [(0.0, 0.0), (-0.0, -0.0), (np.inf, np.inf), (-np.inf, -1.0), (np.nan, np.nan),
              (1000.0, np.inf), (-1000.0, -1.0)],
    "tanh": [(0.0, 0.0), (-0.0, -0.0), (np.inf, 1.0), (-np.inf, -1.0), (np.nan, np.nan),
             (1000.0, 1.0), (-1000.0, -1.0), (30.0, 1.0)],
    "erf": [(0.0, 0.0), (-0.0, -0.0), (np.inf, 1.0), (-np.inf, -1.0), (np.nan, np.nan),
            (1e30, 1.0), (-1e30, -1.0), (10.0, 1.0), (-7.0, -1.0)],
}


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", FUNCS)
def test_special_values(name, dtype, isa):
    xs = np.array([s[0] for s in SPECIAL[name]], dtype=dtype)
    ys = np.array([s[1] for s in SPECIAL[name]], dtype=dtype)
    got = vmath(name, xs)
    exact = np.isnan(ys) | np.isinf(ys) | (ys == 0) | (np.abs(ys) == 1)
    np.testing.assert_array_equal(got[exact], ys[exact], err_msg=f"{name} at {xs[exact]}")
    # signed zeros
    zero = exact & (ys == 0)
    np.testing.assert_array_equal(np.signbit(got[zero]), np.signbit(ys[zero]),
                                  err_msg=f"sign of zero for {name} at {xs[zero]}")
    inexact = ~exact
    assert np.all(ulp_distance(got[inexact], ys[inexact]) <= 1)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", FUNCS)
def test_every_length_and_offset(name, dtype, isa):
    """Array tails (masked partial vectors) and unaligned starts give the same results."""
    x, expected = _case(name, dtype)
    x, expected = x[:80], expected[:80]
    full = vmath(name, x)
    bound = ULP_BOUNDS[dtype][name]
    for n in range(0, 35):
        for off in (0, 1, 3):
            got = vmath(name, x[off:off + n])
            assert got.shape == (len(x[off:off + n]),)
            d = ulp_distance(got, expected[off:off + n])
            assert np.all(d <= bound), (n, off, d)
            # a tail element is computed like the same element in a long array, up to the bound
            assert np.all(ulp_distance(got, full[off:off + n]) <= 2 * bound)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_vmath_writes_out_only(dtype, isa):
    x = np.linspace(-3, 3, 101).astype(dtype)
    x_copy = x.copy()
    out = np.full_like(x, 7.0)
    losskit._core._vmath("exp", x, out)
    np.testing.assert_array_equal(x, x_copy)
    assert np.all(ulp_distance(out, reference("exp", x)) <= ULP_BOUNDS[dtype]["exp"])


def test_vmath_unknown_function_rejected():
    x = np.ones(4)
    with pytest.raises((ValueError, TypeError)):
        losskit._core._vmath("sqrt_typo", x, np.empty(4))
