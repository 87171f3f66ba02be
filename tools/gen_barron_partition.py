#!/usr/bin/env python3
"""Generate src/cpp/src/generated/barron_partition_table.hpp: log Z(alpha) of Barron's general
robust loss, from losskit's own high-precision quadrature (mpmath), for
losskit::barron_log_partition.

    Z(alpha) = integral over the real line of exp(-rho(x, alpha, 1)) dx,   alpha >= 0

d logZ / d alpha = -E[d rho / d alpha] under the density exp(-rho) / Z, also by quadrature
(the analytic d rho / d alpha, evaluated at 30 digits where its terms cancel harmlessly).

Coordinates. On [0, LOW_MAX] a cubic Hermite spline in alpha itself with a fine uniform step
is used (with a 32x finer one on [0, NEAR0_MAX]: logZ is not analytic at alpha = 0, the edge
of alpha >= 0, and its high derivatives grow like powers of 1/alpha there). Above, logZ has a logarithmic singularity at alpha = 2: near
it logZ is a series in d^k log^j |d| (d = alpha - 2), which no polynomial in alpha
interpolates. In s = log|d| (one table per side of 2, uniform knots) every term is smooth, so a
cubic Hermite spline in s with exact slopes from the quadrature is accurate:
  * for s < 0 (|d| < 1) the table holds G = (logZ - logZ(2)) / d and dG/ds; G ~ c0 + c1 s as
    d -> 0, so below the first knot G is extended linearly in s (its error there is O(d)),
  * for s >= 0 it holds logZ itself and d logZ / ds (smoother than G once |d| is large).
Beyond the last knot on the right (alpha = ALPHA_MAX) the function returns the asymptote
logZ(inf) + (logZ(ALPHA_MAX) - logZ(inf)) * ALPHA_MAX / alpha (logZ - logZ(inf) ~ c / alpha),
where logZ(inf) is the integral of exp(1 - exp(x^2/2)) (rho's alpha -> +inf limit).

Run: python tools/gen_barron_partition.py [--step 0.0625] [--jobs 2]   (a few minutes)
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import sys

import mpmath as mp

DPS = 30
S_LO = -25.0              # first knot of each side: |alpha - 2| = exp(-25) ~ 1.4e-11
S_HI_RIGHT = 12.0         # last knot on the right: alpha = 2 + exp(12) ~ 1.6e5
LOW_MAX = 1.75            # alpha in [0, LOW_MAX]: the table in alpha
LOW_STEP = 1.0 / 256
# logZ is not analytic at alpha = 0 (Z is infinite for alpha < 0): its fourth derivative grows
# like ~1/alpha^2 there, so [0, NEAR0_MAX] has a 32x finer table of its own.
NEAR0_MAX = 1.0 / 16
NEAR0_STEP = 1.0 / 8192
S_HI_LEFT = math.log(2.0 - LOW_MAX)  # the left table reaches (at least) down to LOW_MAX
S_SWITCH = 0.0            # from the first knot with s >= S_SWITCH on, knots hold logZ


def rho(x, a):
    if a == 0:
        return mp.log1p(x * x / 2)
    b = abs(a - 2)
    return b / a * mp.expm1(a / 2 * mp.log1p(x * x / b))


def rho_alpha(x, a):
    """d rho / d alpha (a != 2)."""
    x2 = x * x
    if a == 0:
        z = x2 / 2
        L = mp.log1p(z)
        return -L / 2 + z / (2 * (1 + z)) + L * L / 4
    b = abs(a - 2)
    L = mp.log1p(x2 / b)
    r = b / a * mp.expm1(a / 2 * L)
    Q = mp.exp((a - 2) / 2 * L)
    return (r - x2 * Q / 2) / (a - 2) + (b * L / 2 - r) / a + r * L / 2


def _points(f_rho, heavy_tail):
    # Past rho = 200 the integrand is below e^-200: stop there (unless the tail is heavy).
    if heavy_tail:
        return [0, 1, 4, mp.inf]
    lo, hi = mp.mpf(1), mp.mpf(2)
    while f_rho(hi) < 200:
        lo, hi = hi, 2 * hi
    for _ in range(60):
        mid = (lo + hi) / 2
        if f_rho(mid) < 200:
            lo = mid
        else:
            hi = mid
    pts = [mp.mpf(0)]
    step = hi / 8
    pts += [step * k for k in range(1, 9)]
    return pts


def log_partition(a):
    """(logZ(a), d logZ / d a) for a >= 0, a != 2, at DPS digits."""
    mp.mp.dps = DPS
    a = mp.mpf(a)
    pts = _points(lambda x: rho(x, a), heavy_tail=a <= 2)
    Z = 2 * mp.quad(lambda x: mp.exp(-rho(x, a)), pts)
    D = 2 * mp.quad(lambda x: rho_alpha(x, a) * mp.exp(-rho(x, a)), pts)
    return mp.log(Z), -D / Z


def log_partition_inf():
    mp.mp.dps = DPS
    f = lambda x: mp.expm1(x * x / 2)  # noqa: E731
    pts = _points(f, heavy_tail=False)
    return mp.log(2 * mp.quad(lambda x: mp.exp(-f(x)), pts))


def knot(args):
    side, s, switch = args
    mp.mp.dps = DPS
    s = mp.mpf(s)
    d = side * mp.exp(s)
    a = 2 + d
    if side < 0 and abs(a) < mp.mpf(10) ** (-DPS + 5):
        a = mp.mpf(0)
    F, dF = log_partition(a)
    F2 = mp.log(2 * mp.pi) / 2
    if s < switch:
        G = (F - F2) / d
        return float(G), float(dF - G)   # G and dG/ds
    return float(F), float(dF * d)       # logZ and dlogZ/ds


def knots_for(side, step):
    hi = S_HI_RIGHT if side > 0 else S_HI_LEFT
    n = int(math.ceil((hi - S_LO) / step - 1e-9))
    return S_LO, [S_LO + k * step for k in range(n + 1)]


def low_knot(a):
    F, dF = log_partition(a)
    return float(F), float(dF)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--step", type=float, default=0.0625)
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "src", "cpp",
                                                  "src", "generated", "barron_partition_table.hpp"))
    args = p.parse_args(argv)
    step = args.step
    lo_l, s_left = knots_for(-1, step)
    lo_r, s_right = knots_for(+1, step)
    # Each side switches from G to logZ at its first knot with s >= S_SWITCH.
    sw_l = min((s for s in s_left if s >= S_SWITCH), default=s_left[-1] + step)
    sw_r = min(s for s in s_right if s >= S_SWITCH)
    tasks = [(-1, s, sw_l) for s in s_left] + [(+1, s, sw_r) for s in s_right]
    n_low = int(round(LOW_MAX / LOW_STEP))
    n_near0 = int(round(NEAR0_MAX / NEAR0_STEP))
    with multiprocessing.Pool(args.jobs) as pool:
        near0 = pool.map(low_knot, [k * NEAR0_STEP for k in range(n_near0 + 1)], chunksize=8)
        low = pool.map(low_knot, [k * LOW_STEP for k in range(n_low + 1)], chunksize=4)
        values = pool.map(knot, tasks, chunksize=8)
    left, right = values[: len(s_left)], values[len(s_left):]
    mp.mp.dps = DPS
    a_max = 2 + mp.exp(S_HI_RIGHT)
    F_inf = float(log_partition_inf())
    F_max = right[-1][0]

    def rows(vals):
        return "\n".join(f"    {{{v:.17g}, {m:.17g}}}," for v, m in vals)

    text = f"""// Generated by tools/gen_barron_partition.py (mpmath, {DPS} digits, step {step} in s):
// do not edit. log Z(alpha) of Barron's general robust loss; see the generator for the
// coordinates (s = log|alpha - 2|, one table per side of alpha = 2) and what each knot holds.
#pragma once

namespace losskit::barron_partition {{

inline constexpr double kNear0Step = {NEAR0_STEP!r};  // [0, kNear0Max]: finer knots in alpha
inline constexpr int kNear0Count = {len(near0)};
inline constexpr double kNear0Max = {NEAR0_MAX!r};
inline constexpr double kLowStep = {LOW_STEP!r};  // [0, kLowMax]: knots in alpha itself
inline constexpr int kLowCount = {len(low)};
inline constexpr double kLowMax = {LOW_MAX!r};
inline constexpr double kStep = {step!r};  // the other tables: knots in s = log|alpha - 2|
// Knots with s < kLeftSwitch (kRightSwitch) hold G = (logZ - logZ(2)) / (alpha - 2) and dG/ds, the others logZ
// and dlogZ/ds.
inline constexpr double kLeftLo = {lo_l!r};   // s of the first left knot (alpha < 2)
inline constexpr double kLeftSwitch = {sw_l!r};
inline constexpr int kLeftCount = {len(left)};
inline constexpr double kRightLo = {lo_r!r};  // s of the first right knot (alpha > 2)
inline constexpr double kRightSwitch = {sw_r!r};
inline constexpr int kRightCount = {len(right)};
inline constexpr double kLogZ2 = 0.91893853320467274178;  // log sqrt(2 pi)
inline constexpr double kAlphaMax = {float(a_max)!r};  // 2 + exp(last right s)
inline constexpr double kLogZInf = {F_inf!r};  // alpha -> +inf limit
inline constexpr double kLogZMax = {F_max!r};  // at kAlphaMax

// {{logZ, d logZ / d alpha}} per knot of [0, kNear0Max].
inline constexpr double kNear0[kNear0Count][2] = {{
{rows(near0)}
}};

// {{logZ, d logZ / d alpha}} per knot of [0, kLowMax].
inline constexpr double kLow[kLowCount][2] = {{
{rows(low)}
}};

// {{value, d value / ds}} per knot.
inline constexpr double kLeft[kLeftCount][2] = {{
{rows(left)}
}};
inline constexpr double kRight[kRightCount][2] = {{
{rows(right)}
}};

}}  // namespace losskit::barron_partition
"""
    with open(args.out, "w") as f:
        f.write(text)
    print(f"wrote {args.out}: {len(near0)} + {len(low)} + {len(left)} + {len(right)} knots",
          file=sys.stderr)


if __name__ == "__main__":
    main()
