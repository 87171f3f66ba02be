"""Fits the float32 polynomial of vlog1p_unit (src/cpp/src/simd/vmath.hpp).

log(1 + e) = e + e^2 R(e) for e in [0, 1], R of degree 7, fitted by Lawson's iteratively
reweighted least squares to the minimax relative error of log(1 + e), then rounded to float32.
Prints the coefficients, the fit's error and the error of the float32 evaluation (Horner with
FMA, as the kernel does) in ulp against mpmath over 220,000 points.

    python tools/fit_log1p_unit.py
"""

import mpmath as mp
import numpy as np

DEGREE = 7


def fit(degree: int) -> tuple[np.ndarray, float]:
    e = np.linspace(0, 1, 40001)
    log1p = np.array([float(mp.log1p(mp.mpf(v))) for v in e])
    safe = np.where(e > 0, e, 1)
    # R(e) = (log(1 + e) - e) / e^2, -1/2 at 0; the error that matters is relative to log1p.
    target = np.where(e > 0, (log1p - e) / safe**2, -0.5)
    scale = np.where(e > 0, safe**2 / np.where(e > 0, log1p, 1), 0)
    basis = np.vander(e, degree + 1, increasing=True)
    weight = np.ones_like(e)
    for _ in range(100):
        coeffs, *_ = np.linalg.lstsq(basis * (weight * scale)[:, None], weight * scale * target,
                                     rcond=None)
        err = np.abs((basis @ coeffs - target) * scale)
        weight *= 1 + err / err.max()
    return coeffs, float(err.max())


def fma32(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    # float32 products are exact in float64; the sum then rounds to float32 as an FMA would
    # (up to a double rounding that does not change the ulp figure).
    return (a.astype(np.float64) * b + c).astype(np.float32)


def float32_error_ulp(coeffs: np.ndarray) -> float:
    rng = np.random.default_rng(0)
    e = np.concatenate([rng.random(200_000), np.logspace(-40, 0, 20_000), [0.5, 1.0]])
    e = e.astype(np.float32)
    c = coeffs.astype(np.float32)
    p = np.full_like(e, c[-1])
    for k in range(len(c) - 2, -1, -1):
        p = fma32(p, e, np.full_like(e, c[k]))
    result = fma32(p, (e * e).astype(np.float32), e)
    mp.mp.dps = 30
    exact = np.array([float(mp.log1p(mp.mpf(float(v)))) for v in e])
    ulp = np.spacing(np.maximum(np.abs(exact), np.finfo(np.float32).smallest_subnormal)
                     .astype(np.float32)).astype(np.float64)
    return float(np.max(np.abs(result - exact) / ulp))


def main() -> None:
    mp.mp.dps = 30
    coeffs, err = fit(DEGREE)
    c32 = coeffs.astype(np.float32)
    print(f"degree {DEGREE}: relative error of the fit {err:.3g}, "
          f"float32 evaluation {float32_error_ulp(coeffs):.3f} ulp")
    print(",\n".join(f"{float(v)!r}f" for v in c32))


if __name__ == "__main__":
    main()
