"""Fits the polynomials of the vectorized erf (src/cpp/src/per_isa/simd/vmath.hpp, verf).

erf is evaluated in two pieces (odd, so on |x|):
- |x| < 1.5:  erf(x) = x P(x^2), P fitted to erf(sqrt(u)) / sqrt(u) on u in [0, 2.25];
- 1.5 <= |x|:  erf(x) = 1 - e^(-x^2) t Q(t), t = 1/|x|, Q fitted to
  erfc(1/t) e^(1/t^2) / t on t in [1/x1, 1/1.5]; beyond x1, erf(x) rounds to +-1
  (erfc below half an ulp of 1: 5.9 for double, 3.92 for float).
The tail piece needs only an absolute accuracy of half an ulp of 1 (erfc(1.5) = 0.034 is
subtracted from 1), so its relative accuracy may be ~1e-15 (double) / ~1e-7 (float).
Chebyshev fits at 40 digits (mpmath.chebyfit, near-minimax), printed lowest degree first and
rounded to each type, with the fit's error.

    python tools/fit_erf.py
"""

import mpmath as mp

mp.mp.dps = 40

SPLIT = 1.5
ONE = {"double": 5.9, "float": 3.92}
DEGREES = {"double": (14, 18), "float": (8, 7)}


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
    p, err_p = mp.chebyfit(small, [0, SPLIT * SPLIT], d_small + 1, error=True)
    q, err_q = mp.chebyfit(tail, [1 / mp.mpf(ONE[ctype]), mp.mpf(1) / SPLIT], d_tail + 1,
                           error=True)
    print(f"// {ctype}: P error {mp.nstr(err_p, 3)} (relative ~{mp.nstr(err_p / small(4), 3)}), "
          f"Q error relative {mp.nstr(err_q / tail(mp.mpf(1) / SPLIT), 3)}")
    show("kErfSmallCoeffs", list(reversed(p)), ctype)
    show("kErfTailCoeffs", list(reversed(q)), ctype)
