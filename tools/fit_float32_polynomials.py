"""Fits the float32 polynomials of the vector math (src/cpp/src/simd/vmath.hpp).

- expm1(r) = r + r^2 P(r) on |r| <= ln2/2, P of degree 4 (MathConstants<float>::kExpm1Coeffs),
  fitted to the relative error of exp(r) = 1 + expm1(r), which is what vexp returns.
- log(1 + e) = e + e^2 R(e) on e in [0, 1], R of degree 7 (kLog1pUnitCoeffs), fitted to the
  relative error of log(1 + e).

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


def main() -> None:
    for name, coeffs, err, ulp in (fit_expm1(), fit_log1p_unit()):
        print(f"{name}: fit error {err:.3g} (relative), float32 evaluation {ulp:.3f} ulp")
        print("    " + ", ".join(f"{float(c)!r}f" for c in coeffs))


if __name__ == "__main__":
    main()
