"""Fits the polynomials of the vectorized erf (src/cpp/include/losskit/simd/vmath.hpp, verf).

erf is evaluated in two pieces (odd, so on |x|), split at s = 1.5 (double) / 1 (float):
- |x| < s:  erf(x) = x P(x^2), P fitted to erf(sqrt(u)) / sqrt(u) on u in [0, s^2];
- s <= |x|:  erf(x) = 1 - e^(-x^2) t Q(t), t = 1/|x|, Q fitted to
  erfc(1/t) e^(1/t^2) / t on t in [1/x1, 1/s]; beyond x1, erf(x) rounds to +-1
  (erfc below half an ulp of 1: 5.9 for double, 3.92 for float).
The tail piece needs only an absolute accuracy of half an ulp of 1 (erfc(1.5) = 0.034,
erfc(1) = 0.16 is subtracted from 1), so its relative accuracy may be ~1e-15 (double) / ~2e-7
(float). A larger split costs accuracy in P: its alternating terms cancel (12 ulp near 2 in
double; float's rounded coefficients give 6 ulp near 1.5).
Chebyshev fits at 40 digits (mpmath.chebyfit, near-minimax), printed lowest degree first and
rounded to each type, with the fit's error.

    python tools/fit_erf.py
"""

import mpmath as mp

mp.mp.dps = 40

SPLIT = {"double": 1.5, "float": 1.0}
ONE = {"double": 5.9, "float": 3.92}
DEGREES = {"double": (14, 18), "float": (6, 8)}


def small(u):
    if u == 0:
        return 2 / mp.sqrt(mp.pi)
    x = mp.sqrt(u)
    return mp.erf(x) / x


def tail(t):
    x = 1 / t
    return mp.erfc(x) * mp.exp(x * x) / t


def show(name, coeffs, ctype):
    suffix = "f" if ctype == "float" else ""
    values = ", ".join(f"{mp.nstr(c, 17 if ctype == 'double' else 9, min_fixed=-1, max_fixed=1)}{suffix}"
                       for c in coeffs)
    print(f"  static constexpr {ctype} {name}[{len(coeffs)}] = {{{values}}};")


for ctype in ("double", "float"):
    d_small, d_tail = DEGREES[ctype]
    split = mp.mpf(SPLIT[ctype])
    p, err_p = mp.chebyfit(small, [0, split * split], d_small + 1, error=True)
    q, err_q = mp.chebyfit(tail, [1 / mp.mpf(ONE[ctype]), 1 / split], d_tail + 1, error=True)
    print(f"// {ctype}: P error {mp.nstr(err_p, 3)} "
          f"(relative ~{mp.nstr(err_p / small(split * split), 3)}), "
          f"Q error relative {mp.nstr(err_q / tail(1 / split), 3)}")
    show("kErfSmallCoeffs", list(reversed(p)), ctype)
    show("kErfTailCoeffs", list(reversed(q)), ctype)
