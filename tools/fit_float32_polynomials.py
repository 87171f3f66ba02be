"""Fits the float32 polynomials of the vector math (src/cpp/include/losskit/simd/vmath.hpp).

- expm1(r) = r + r^2 P(r) on |r| <= ln2/2, P of degree 4 (MathConstants<float>::kExpm1Coeffs),
  fitted to the relative error of exp(r) = 1 + expm1(r), which is what vexp returns.
- log(1 + e) = e + e^2 R(e) on e in [0, 1], R of degree 7 (kLog1pUnitCoeffs), fitted to the
  relative error of log(1 + e).
- The table-driven log of the AVX-512 log1p (LogTable<float>): u = 2^k m with m in
  [kOffset, 2 kOffset) split into 16 subintervals by the bits of u - kOffset; per subinterval
  1/c (c its midpoint, or 1 for the one holding 1, so that there is no cancellation near
  u = 1) and log c correctly rounded from that 1/c; log(1 + r) = r + r^2 Q(r), Q of degree 3,
  fitted on the range of r = m / c - 1. The float32 evaluation is checked on log1p(x).

Both by Lawson's iteratively reweighted least squares (which converges to the minimax fit),
then rounded to float32. Prints each fit's error, the error of its float32 evaluation (FMA, as
the kernels evaluate it) in ulp against mpmath, and the coefficients.

    python tools/fit_float32_polynomials.py
"""

import mpmath as mp
import numpy as np

mp.mp.dps = 30


def lawson(x: np.ndarray, target: np.ndarray, scale: np.ndarray, degree: int):
    """Coefficients c minimising max |(sum_k c_k x^k - target) * scale|, and that maximum."""
    basis = np.vander(x, degree + 1, increasing=True)
    weight = np.ones_like(x)
    for _ in range(100):
        coeffs, *_ = np.linalg.lstsq(basis * (weight * scale)[:, None], weight * scale * target,
                                     rcond=None)
        err = np.abs((basis @ coeffs - target) * scale)
        weight *= 1 + err / err.max()
    return coeffs.astype(np.float32), float(err.max())


def fma32(a, b, c):
    # float32 products are exact in float64; the sum then rounds to float32 as an FMA would
    # (up to a double rounding that does not change the ulp figure).
    return (np.asarray(a, np.float64) * b + c).astype(np.float32)


def horner32(coeffs: np.ndarray, x: np.ndarray) -> np.ndarray:
    p = np.full_like(x, coeffs[-1])
    for c in coeffs[-2::-1]:
        p = fma32(p, x, np.full_like(x, c))
    return p


def ulp_error(got: np.ndarray, exact: np.ndarray) -> float:
    tiny = np.finfo(np.float32).smallest_subnormal
    ulp = np.spacing(np.maximum(np.abs(exact), tiny).astype(np.float32)).astype(np.float64)
    return float(np.max(np.abs(got - exact) / ulp))


def fit_expm1():
    half_ln2 = float(mp.log(2)) / 2 * 1.002  # the reduction's |r| bound, with its rounding
    r = np.linspace(-half_ln2, half_ln2, 40001)
    r[r == 0] = 1e-30
    exp = np.exp(r)
    target = np.array([float((mp.exp(mp.mpf(v)) - 1 - v) / mp.mpf(v) ** 2) for v in r])
    coeffs, err = lawson(r, target, r**2 / exp, 4)
    r32 = r.astype(np.float32)
    got = fma32(fma32(horner32(coeffs, r32), (r32 * r32).astype(np.float32), r32), 1, 1)
    exact = np.array([float(mp.exp(mp.mpf(float(v)))) for v in r32])
    return "kExpm1Coeffs", coeffs, err, ulp_error(got, exact)


def fit_log1p_unit():
    e = np.linspace(0, 1, 40001)
    log1p = np.array([float(mp.log1p(mp.mpf(v))) for v in e])
    safe = np.where(e > 0, e, 1)
    target = np.where(e > 0, (log1p - e) / safe**2, -0.5)  # R(0) = -1/2
    scale = np.where(e > 0, safe**2 / np.where(e > 0, log1p, 1), 0)
    coeffs, err = lawson(e, target, scale, 7)
    rng = np.random.default_rng(0)
    e32 = np.concatenate([rng.random(200_000), np.logspace(-40, 0, 20_000), [0.5, 1.0]])
    e32 = e32.astype(np.float32)
    got = fma32(horner32(coeffs, e32), (e32 * e32).astype(np.float32), e32)
    exact = np.array([float(mp.log1p(mp.mpf(float(v)))) for v in e32])
    return "kLog1pUnitCoeffs", coeffs, err, ulp_error(got, exact)


LOG_TABLE_OFFSET = 0x3F330000  # ~0.6992 (glibc's logf splits at the same point)
LOG_TABLE_SIZE = 16


def log_table():
    """(1/c, log c) per subinterval, as float32, and the range of r = m / c - 1."""
    inv_c = np.zeros(LOG_TABLE_SIZE, np.float32)
    log_c = np.zeros(LOG_TABLE_SIZE, np.float32)
    r_lo = r_hi = 0.0
    for i in range(LOG_TABLE_SIZE):
        lo, hi = (float(np.uint32(LOG_TABLE_OFFSET + j * 2**19).view(np.float32)) for j in (i, i + 1))
        c = 1.0 if lo <= 1 < hi else (lo + hi) / 2
        inv_c[i] = np.float32(1 / c)
        log_c[i] = np.float32(-mp.log(mp.mpf(float(inv_c[i]))))
        r_lo = min(r_lo, lo * float(inv_c[i]) - 1)
        r_hi = max(r_hi, hi * float(inv_c[i]) - 1)
    return inv_c, log_c, r_lo, r_hi


def table_log1p32(x: np.ndarray, inv_c, log_c, coeffs) -> np.ndarray:
    """vlog1p's AVX-512 float path, step by step in float32 (x > -1, finite)."""
    f32 = np.float32
    u = (x.astype(np.float64) + 1).astype(f32)
    err = np.where(u >= 2, f32(1) - (u - x), x - (u - f32(1))).astype(f32)
    correction = (err * (f32(1) / u)).astype(f32)
    bits = u.view(np.int32).astype(np.int64)
    shifted = bits - LOG_TABLE_OFFSET
    k = (shifted >> 23).astype(f32)
    index = (shifted >> 19) & (LOG_TABLE_SIZE - 1)
    m = (bits - (shifted & ~0x7FFFFF)).astype(np.uint32).view(f32)
    r = fma32(m, inv_c[index], f32(-1))
    tail = (fma32((r * r).astype(f32), horner32(coeffs, r), correction) + r).astype(f32)
    return (fma32(k, f32(np.log(2)), log_c[index]) + tail).astype(f32)


def fit_log_table():
    inv_c, log_c, r_lo, r_hi = log_table()
    r = np.linspace(r_lo * 1.01, r_hi * 1.01, 40001)
    r[r == 0] = 1e-30
    target = np.array([float((mp.log1p(mp.mpf(v)) - v) / mp.mpf(v) ** 2) for v in r])
    coeffs, err = lawson(r, target, r**2 / np.abs(np.log1p(r)), 3)
    rng = np.random.default_rng(0)
    x = np.concatenate([np.logspace(-30, 30, 100_000), -np.logspace(-30, 0, 50_000) * 0.9999,
                        rng.uniform(-0.5, 1, 100_000)]).astype(np.float32)
    got = table_log1p32(x, inv_c, log_c, coeffs)
    exact = np.array([float(mp.log1p(mp.mpf(float(v)))) for v in x])
    return inv_c, log_c, coeffs, err, ulp_error(got, exact)


def main() -> None:
    for name, coeffs, err, ulp in (fit_expm1(), fit_log1p_unit()):
        print(f"{name}: fit error {err:.3g} (relative), float32 evaluation {ulp:.3f} ulp")
        print("    " + ", ".join(f"{float(c)!r}f" for c in coeffs))
    inv_c, log_c, coeffs, err, ulp = fit_log_table()
    print(f"LogTable<float>: fit error {err:.3g} (relative), float32 log1p {ulp:.3f} ulp")
    for name, values in (("kInvC", inv_c), ("kLogC", log_c), ("kCoeffs", coeffs)):
        print(f"    {name}: " + ", ".join(f"{float(v).hex()}f" for v in values))


if __name__ == "__main__":
    main()
