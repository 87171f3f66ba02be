// Barron's general and adaptive robust loss (CVPR 2019): the per-point definition, with its
// derivatives in the input, in alpha and in the scale. docs/ARCHITECTURE.md ("The Barron loss")
// explains which form is used where and why.
//
//   rho(x, a, c) = b/a * ((z + 1)^(a/2) - 1),   u = x/c,  b = |a - 2|,  z = u^2 / b
//
// Per lane, with L = log1p(z), h = a L / 2, E = expm1(h) and e^h from the same reduction
// (vexp_pair), and one reciprocal 1 / (1 + z) shared by the log's correction term and Q:
//   rho          = (b/a) E                                  (products only: no cancellation)
//   Q            = (1 + z)^(a/2 - 1) = e^h / (1 + z)
//   d rho / d x  = u Q / c,           d rho / d c = -u^2 Q / c = -u (d rho / d x)
//   irls         = Q / c^2  (d rho / d x over r; rho's quadratic majorizer for a <= 2)
//   d2 rho / dx2 = (Q / c^2)(1 + (a - 1) z) / (1 + z) = (Q / c^2)(1/(1 + z) + (a - 1) w),
//                  w = z / (1 + z): smooth through a = 0 and 2 (at 2 it is 1 / c^2)
//   d rho / d a  = T1 + T2 + T3 with  T2 = (b L / 2 - rho) / a,  T3 = rho L / 2, and
//                  T2 + T3 = (b / a^2)(h e^h - E) = (b L^2 / 4) phi3(h),
//                  phi3(h) = (h e^h - e^h + 1) / h^2 (a Taylor series for |h| < 1/2): no 1/a
//                  near a = 0, and no cancellation of the large L terms as h -> -inf,
//                  T1 = (rho - u^2 Q / 2) / (a - 2)                   for a < 1 (fine near 0),
//                     = (|em| - u^2 Q / 2) / a, em = expm1((a - 2) L / 2) = Q - 1   for a >= 1
//                       (the same, rewritten without 1/(a - 2): fine near 2);
//                  for small z the three terms cancel to O(z^3) and the binomial series
//                  d rho / d a = b sum_{k>=3} h_k(a) z^k is used instead (see barron_dalpha_series).
// Special lanes (masks; their general-branch operands are replaced by finite ones):
//   a = 2:    u^2/2, d/dx = u/c, d/dc = -u^2/c, d/da = +inf (0 at x = 0): log singularity
//   a = 0:    log1p(u^2/2)  (and |h| < kTinyH: rho = (b L / 2)(1 + h/2), no b/a)
//   a = -inf: -expm1(-u^2/2);   a = +inf: expm1(u^2/2);   d/da = 0 at both
// |u| > kHuge (u^2 or z could overflow): L = 2 log|u| - log b, and d/dx from
// exp((a - 1) log|u| - (a - 2)/2 log b), so the value overflows to inf (or reaches its finite
// limit b/|a| for a < 0) and the gradients keep their limits instead of becoming NaN.
#pragma once

#include <cmath>
#include <limits>

#include "losskit/loss_types.hpp"
#include "losskit/definitions/point.hpp"
#include "losskit/simd/vmath.hpp"

namespace losskit::LOSSKIT_ISA {

// Lane quantities that depend on alpha and the scale only (per call for scalar parameters,
// per vector for array parameters).
template <class T> struct BarronLanes {
  Vec<T> a;         // alpha; 1 in special lanes (2, +-inf) so general-branch operands stay finite
  Vec<T> b;         // |a - 2|
  Vec<T> inv_b;     // 1 / b
  Vec<T> b_over_a;  // b / a (unused where a = 0)
  Vec<T> inv_c;     // 1 / scale
  Mask<T> two, zero, ninf, pinf;
};

template <class T> struct BarronConstants;
template <> struct BarronConstants<float> {
  // u^2 <= 2^100 and b >= 2^-24 (the float nearest 2) keep z = u^2/b below 2^124 < max float.
  static constexpr float kHuge = 1125899906842624.0f;  // 2^50
  // |h| below 2^-100: E = expm1(h) is near the subnormals, or b/a overflows (subnormal a).
  // Above it b/a and E are both accurate; below it rho = (b L / 2)(1 + h/2) exactly.
  static constexpr float kTinyH = 7.88860905221011805e-31f;  // 2^-100
  // The d/dalpha series: the ratio of its terms, |a/2 - k| z / (k + 1) for k >= 2, is at most
  // z max(1, |a/2 - 2| / 3); used where that is < 1/4, the terms shrink at least 4x each,
  // so 13 terms reach float precision. (The closed form above 1/4 cancels at most ~30x.)
  static constexpr int kSeriesTerms = 13;
  // phi3(h) = sum_k (k+1) h^k / (k+2)! for |h| < 1/2: 9 terms leave < 1e-8 relative.
  static constexpr int kPhi3Terms = 9;
  // D(z) = log1p(z) - z/(1+z) by its series in t^2, t = z/(2+z) <= 1/3: 7 terms.
  static constexpr int kDTerms = 7;
  // Above this h, e^h times d/dalpha's factors could overflow: d/dalpha = e^(h + log K).
  static constexpr float kBigH = 80.0f;
  // Near a = 2 the series in L (barron_dalpha_near2) for L <= 1.4: 16 terms.
  static constexpr int kNear2Terms = 16;
};
template <> struct BarronConstants<double> {
  static constexpr double kHuge = 3.1217485503159922e144;  // 2^480; u^2/b < 2^1013
  static constexpr double kTinyH = 1.1830521861667747e-271;  // 2^-900
  static constexpr int kSeriesTerms = 28;
  static constexpr int kPhi3Terms = 17;  // < 1e-17 relative
  static constexpr int kDTerms = 18;
  static constexpr double kBigH = 700.0;
  static constexpr int kNear2Terms = 26;
};

template <class T> LOSSKIT_INLINE BarronLanes<T> barron_lanes(Vec<T> a, Vec<T> c) {
  BarronLanes<T> p;
  const Vec<T> inf = splat<T>(std::numeric_limits<T>::infinity());
  p.two = a == T(2);
  p.ninf = a == -inf;
  p.pinf = a == inf;
  p.zero = a == T(0);
  p.a = select<Vec<T>>(p.two | p.ninf | p.pinf, splat<T>(1), a);
  p.b = abs<T>(p.a - T(2));
  p.inv_b = T(1) / p.b;
  p.b_over_a = p.b / p.a;
  p.inv_c = T(1) / c;
  return p;
}

// The same for scalar parameters, derived in double from alpha rounded to T (so that an array
// of that alpha gives the same loss up to the rounding of 1/b, b/a and 1/c).
template <class T> BarronLanes<T> barron_lanes(double alpha, double scale) {
  const T a = T(alpha);
  const double ad = double(a);
  const bool special = ad == 2 || std::isinf(ad);
  const double as = special ? 1.0 : ad;
  const double b = std::fabs(as - 2);
  BarronLanes<T> p;
  p.a = splat<T>(T(as));
  p.b = splat<T>(T(b));
  p.inv_b = splat<T>(T(1 / b));
  p.b_over_a = splat<T>(as != 0 ? T(b / as) : T(0));
  p.inv_c = splat<T>(T(1 / double(T(scale))));
  const Vec<T> av = splat<T>(a);
  p.two = av == T(2);
  p.ninf = av == -std::numeric_limits<T>::infinity();
  p.pinf = av == std::numeric_limits<T>::infinity();
  p.zero = av == T(0);
  return p;
}

// Whether any lane of a comparison mask is set, in one test instruction (the generic any()
// of vec.hpp reads the lanes one by one; these guards run once or more per vector).
template <class M> LOSSKIT_INLINE bool barron_any(M m) {
#if defined(__AVX512F__)
  if constexpr (sizeof(M) == 64) {
    __m512i v;
    std::memcpy(&v, &m, 64);
    return _mm512_test_epi64_mask(v, v) != 0;
  }
#endif
#if defined(__AVX__)
  if constexpr (sizeof(M) == 32) {
    __m256i v;
    std::memcpy(&v, &m, 32);
    return !_mm256_testz_si256(v, v);
  }
#endif
#if defined(__SSE2__)
  if constexpr (sizeof(M) == 16) {
    __m128i v;
    std::memcpy(&v, &m, 16);
    return _mm_movemask_epi8(v) != 0;
  }
#endif
  return any(m);
}

// Whether any lane of v is above (kAbove) or below t. With AVX-512 that is one compare into a
// mask register and one test; barron_any of the vector compare costs two instructions more
// (GCC expands the mask register into a vector first), and these guards run on every vector.
template <bool kAbove, class T> LOSSKIT_INLINE bool barron_any_beyond(Vec<T> v, T t) {
#if defined(__AVX512F__)
  if constexpr (sizeof(Vec<T>) == 64) {
    constexpr int kPredicate = kAbove ? _CMP_GT_OQ : _CMP_LT_OQ;  // false for NaN, as > and <
    if constexpr (sizeof(T) == 4) return _mm512_cmp_ps_mask(v, splat<T>(t), kPredicate) != 0;
    else return _mm512_cmp_pd_mask(v, splat<T>(t), kPredicate) != 0;
  }
#endif
  if constexpr (kAbove) return barron_any(v > t);
  else return barron_any(v < t);
}

// (k + 1) / (k + 2)! for k = 0..N: the Taylor coefficients of phi3.
template <class T, int N> struct Phi3Coefficients {
  T value[N + 1] = {};
  constexpr Phi3Coefficients() {
    double f = 2;  // (k + 2)!
    for (int k = 0; k <= N; ++k) {
      if (k > 0) f *= k + 2;
      value[k] = T((k + 1) / f);
    }
  }
};

// phi3(h) = (h e^h - expm1(h)) / h^2 = 1/2 + h/3 + h^2/8 + ...  given p = e^h, e = expm1(h):
// a Taylor series where the subtraction would cancel (|h| < 1/2), the closed form elsewhere
// (cancellation at most ~8x there).
template <class T> LOSSKIT_INLINE Vec<T> barron_phi3(Vec<T> h, Vec<T> p, Vec<T> e) {
  constexpr int kTerms = BarronConstants<T>::kPhi3Terms;
  constexpr Phi3Coefficients<T, kTerms> c{};
  const auto small = abs<T>(h) < T(0.5);
  const Vec<T> hs = select<Vec<T>>(small, splat<T>(1), h);
  const Vec<T> closed = fma(h, p, -e) / (hs * hs);
  if (!barron_any(small)) return closed;
  return select<Vec<T>>(small, estrin<T, 0, kTerms>(c.value, h), closed);
}

// d rho / d a = b sum_{k>=3} h_k z^k for small z, from rho = b sum_k g_k(a) z^k with
// g_k = binom(a/2, k) / a = (a - 2) G_k:  h_k = (2 - k) G_k + (a - 2) G_k',
// G_2 = 1/8, G_{k+1} = G_k (a/2 - k) / (k + 1) (and its derivative in a).
// The recurrence carries G_k z^k and G_k' z^k: G_k alone grows like (a/2)^k / k! and
// overflows for large |a| (float: |a| ~ 1e4) while z^k underflows (inf * 0).
template <class T> LOSSKIT_INLINE Vec<T> barron_dalpha_series(Vec<T> a, Vec<T> b, Vec<T> z) {
  constexpr int kTerms = BarronConstants<T>::kSeriesTerms;
  const Vec<T> half_a = T(0.5) * a;
  const Vec<T> d = a - T(2);
  Vec<T> Gz = T(0.125) * (z * z), dGz = splat<T>(0), sum = splat<T>(0);
  for (int k = 2; k < 2 + kTerms; ++k) {
    const Vec<T> step = z * T(1.0 / (k + 1));
    const Vec<T> f = half_a - T(k);
    dGz = fma(dGz, f, T(0.5) * Gz) * step;
    Gz = Gz * f * step;
    sum += fma(d, dGz, T(1 - k) * Gz);  // h_{k+1} z^{k+1}
  }
  return b * sum;
}

// D(z) = log1p(z) - z/(1+z) = L - w without cancellation: for z <= 1 (where L - w would
// cancel up to ~1/z) as 2t^2/(1+t) + 2t^3 (1/3 + t^2/5 + t^4/7 + ...), t = z/(2+z), from
// log1p(z) = 2 atanh(t) and w = 2t/(1+t): all terms positive. Elsewhere L - w (>= 0.19).
template <class T> LOSSKIT_INLINE Vec<T> barron_log1p_minus_ratio(Vec<T> z, Vec<T> L, Vec<T> w) {
  constexpr int kTerms = BarronConstants<T>::kDTerms;
  const auto small = z <= T(1);
  const Vec<T> direct = L - w;
  if (!barron_any(small)) return direct;
  const Vec<T> zs = select<Vec<T>>(small, z, splat<T>(0));
  const Vec<T> t = zs / (zs + T(2));
  const Vec<T> t2 = t * t;
  Vec<T> sum = splat<T>(T(1.0 / (2 * kTerms + 1)));
  for (int j = kTerms - 1; j >= 1; --j) sum = fma(sum, t2, splat<T>(T(1.0 / (2 * j + 1))));
  const Vec<T> series = T(2) * t2 * ((T(1) / (T(1) + t)) + t * sum);
  return select<Vec<T>>(small, series, direct);
}

// Near a = 2: d rho / d a = (b/4) sum_{n>=3} L^n e_n / n!,  e_n = c^(n-2) (n - 1 - c) +
// (c - 1)^(n-1), c = a/2 (entire in L: from rho = (b/a)(e^(cL) - 1) with z = e^L - 1). For
// |c - 1| < 1/4 no term cancels, and where z is past the z-series the closed forms would
// cancel ~20x (their O(z^2) parts cancel to b z^3 / 24).
template <class T> LOSSKIT_INLINE Vec<T> barron_dalpha_near2(Vec<T> a, Vec<T> b, Vec<T> L) {
  constexpr int kTerms = BarronConstants<T>::kNear2Terms;
  const Vec<T> c = T(0.5) * a, cm = c - T(1);
  const Vec<T> L3 = L * L * L * T(1.0 / 6);
  Vec<T> A = L3 * c, B = L3 * (cm * cm), sum = splat<T>(0);
  for (int n = 3; n < 3 + kTerms; ++n) {
    sum += fma(A, T(n - 1) - c, B);
    const Vec<T> step = L * T(1.0 / (n + 1));
    A *= step * c;
    B *= step * cm;
  }
  return T(0.25) * b * sum;
}

template <class T> LOSSKIT_INLINE Vec<T> barron_max(Vec<T> x, Vec<T> y) {
  return select<Vec<T>>(x > y, x, y);
}

template <class T, bool kAlphaGrad = true>
LOSSKIT_INLINE Point<T> barron_point(Vec<T> r, const BarronLanes<T>& p) {
  using C = BarronConstants<T>;
  const Vec<T> one = splat<T>(1), half = splat<T>(T(0.5));
  const Vec<T> u = r * p.inv_c;
  const Vec<T> u2 = u * u;
  const Vec<T> z = u2 * p.inv_b;
  const Vec<T> one_z = one + z;
  const Vec<T> inv_one_z = one / one_z;  // the one division (beyond the log's)
  Vec<T> L = vlog1p_nonnegative<T>(z, one_z, inv_one_z);
  const Vec<T> abs_u = abs<T>(u);
  const auto huge = abs_u > C::kHuge;
  Vec<T> log_u = {}, log_b = {};
  const bool any_huge = barron_any_beyond<true>(abs_u, C::kHuge);
  if (any_huge) {  // z = u^2/b may have overflowed: log1p(z) = log(z) to within 1/z
    log_u = vlog<T>(abs_u);
    log_b = vlog<T>(p.b);
    L = select<Vec<T>>(huge, T(2) * log_u - log_b, L);
  }
  const Vec<T> h = half * p.a * L;
  // E = expm1(h) and P = e^h from one reduction (1 + E would lose digits where E is near -1).
  const ExpPair<T> exp_h = vexp_pair<T>(h);
  const Vec<T> E = exp_h.expm1, P = exp_h.exp;
  // |h| tiny (a subnormal or nearly, or u tiny): E = h (1 + h/2) to within h^2/6, so
  // rho = (b L / 2)(1 + h/2) without b/a (which overflows for subnormal a, and would meet a
  // subnormal E). The threshold is that far down so that real data never takes the branch.
  const Vec<T> abs_h = abs<T>(h);
  const auto tiny_h = abs_h < C::kTinyH;
  Vec<T> value = p.b_over_a * E;
  // Rare lanes: skip the blends when there are none.
  if (barron_any(p.zero) || barron_any_beyond<false>(abs_h, C::kTinyH)) {
    value = select<Vec<T>>(tiny_h, half * p.b * L * fma(half, h, one), value);
    value = select<Vec<T>>(p.zero, L, value);
  }
  const Vec<T> Q = P * inv_one_z;
  Vec<T> gx = u * inv_one_z * P * p.inv_c;  // not u Q (Q may be subnormal) nor (u P) / (1 + z)
  Vec<T> u2Q = u2 * Q;                   // for d/da
  const Vec<T> inv_c2 = p.inv_c * p.inv_c;
  Vec<T> irls = Q * inv_c2;
  Vec<T> w = z * inv_one_z;
  if (any_huge) {  // u Q = sign(u) exp((a - 1) log|u| - (a - 2)/2 log b)
    const Vec<T> e1 = select<Vec<T>>(p.a == one, splat<T>(0), (p.a - one) * log_u);
    const Vec<T> uq = copysign<T>(vexp<T>(e1 - half * (p.a - T(2)) * log_b), u);
    gx = select<Vec<T>>(huge, uq * p.inv_c, gx);
    u2Q = select<Vec<T>>(huge, abs<T>(u) * abs<T>(uq), u2Q);
    irls = select<Vec<T>>(huge, (abs<T>(uq) / abs_u) * inv_c2, irls);
    w = select<Vec<T>>(huge, one, w);
  }
  Vec<T> curvature = irls * fma(p.a - one, w, inv_one_z);

  Vec<T> ga = splat<T>(0);
  if constexpr (kAlphaGrad) {
    // T2 + T3 = (b/a^2)(h e^h - E) = (b L^2 / 4) phi3(h): no 1/a, and no cancellation of the
    // large L terms when h -> -inf (a < 0, large z).
    const Vec<T> phi3 = barron_phi3<T>(h, P, E);
    const Vec<T> T23 = (T(0.25) * p.b * L * L) * phi3;
    // |a - 2| >= 1/2: the compact form below; near 2 the em form (no 1/(a - 2) blow-up).
    const auto near0 = abs<T>(p.a - T(2)) >= T(0.5);
    const auto near2 = ~near0;  // also NaN alphas
    Vec<T> T1 = {}, compact = {}, D = {};
    if (barron_any(near0)) {
      // T1 + T2 + T3 = (s/2)(e^h D - L^2 phi3(h)), s = sign(a - 2), with
      // D = log1p(z) - z/(1+z) computed without cancellation (T1 = (rho - u^2 Q/2)/(a - 2)
      // alone cancels ~10x at z ~ 1/4, on top of T1 + T23's own cancellation).
      D = barron_log1p_minus_ratio<T>(z, L, w);
      compact = half * (L * L * phi3 - P * D);
      compact = select<Vec<T>>(p.a > T(2), -compact, compact);
    }
    if (barron_any(near2)) {
      const Vec<T> em = vexpm1<T>(half * (p.a - T(2)) * L);
      const Vec<T> a_safe = select<Vec<T>>(near2, p.a, one);
      const Vec<T> qs = (abs<T>(em) - half * u2Q) / a_safe;  // Q = 1 + em, but accurate
      T1 = select<Vec<T>>(near2, qs, T1);
      const auto series2 = near2 & (L <= T(1.4));
      if (barron_any(series2)) {
        const Vec<T> n2 = barron_dalpha_near2<T>(select<Vec<T>>(series2, p.a, splat<T>(2)), p.b,
                                                 select<Vec<T>>(series2, L, splat<T>(0)));
        T1 = select<Vec<T>>(series2, n2 - T23, T1);  // T1 + T23 below gives n2 back (to rounding)
      }
    }
    ga = select<Vec<T>>(near0, compact, T1 + T23);
    // Large h (a >= 1 there): e^h times the factors overflows before d/dalpha does. There
    // d/dalpha = (1/2)(e^h K - 4 s/a^2), s K = s (D - (2/a)(L - 2/a)) > 0 (near 2, where that
    // cancels, s K = (b/a)(L - (a + 2)/a) + s/(1 + z)), and 4/a^2 is below e^h K's rounding:
    // d/dalpha = exp(h + log(s K / 2)), inf only where it overflows itself (never inf - inf).
    if (barron_any_beyond<true>(h, C::kBigH)) {
      const auto big = h > C::kBigH;
      const Vec<T> ab = select<Vec<T>>(big, p.a, one);
      const Vec<T> sz = select<Vec<T>>(ab > T(2), inv_one_z, -inv_one_z);
      const Vec<T> K = D - (T(2) / ab) * (L - T(2) / ab);
      const Vec<T> sK = select<Vec<T>>(near0, select<Vec<T>>(ab > T(2), K, -K),
                                       fma(p.b_over_a, L - (ab + T(2)) / ab, sz));
      const Vec<T> big_ga = vexp<T>(h + vlog<T>(half * sK));
      ga = select<Vec<T>>(big, big_ga, ga);
    }
    // Small z: the terms cancel to O(z^3); the series is exact there.
    const Vec<T> m = abs<T>(fma(half, p.a, splat<T>(-2))) * T(1.0 / 3);  // |a/2 - 2| / 3
    const auto series = z * barron_max<T>(one, m) < T(0.25);
    if (barron_any(series)) {
      const Vec<T> zs = select<Vec<T>>(series, z, splat<T>(0));
      ga = select<Vec<T>>(series, barron_dalpha_series<T>(p.a, p.b, zs), ga);
    }
  }

  // Special alphas.
  const auto two = p.two;
  if (barron_any(two)) {
    value = select<Vec<T>>(two, half * u2, value);
    gx = select<Vec<T>>(two, u * p.inv_c, gx);
    irls = select<Vec<T>>(two, inv_c2, irls);
    curvature = select<Vec<T>>(two, inv_c2, curvature);
    // d/da is genuinely singular at a = 2 (log|a - 2| terms), except at u = 0 where rho = 0.
    const Vec<T> sing = select<Vec<T>>(u2 == T(0), splat<T>(0),
                                       splat<T>(std::numeric_limits<T>::infinity()));
    ga = select<Vec<T>>(two, select<Vec<T>>(u2 != u2, u2, sing), ga);
  }
  const auto infinite = p.ninf | p.pinf;
  if (barron_any(infinite)) {
    // -inf: 1 - exp(-u^2/2); +inf: exp(u^2/2) - 1.  d/dx = u/c exp(-+u^2/2), d/da = 0,
    // d2/dx2 = (1 -+ u^2) exp(-+u^2/2) / c^2.
    const Vec<T> v = select<Vec<T>>(p.pinf, half * u2, -half * u2);
    const Vec<T> em = vexpm1<T>(v);
    const Vec<T> ev = vexp<T>(v);
    value = select<Vec<T>>(infinite, select<Vec<T>>(p.pinf, em, -em), value);
    gx = select<Vec<T>>(infinite, u * ev * p.inv_c, gx);
    irls = select<Vec<T>>(infinite, ev * inv_c2, irls);
    curvature = select<Vec<T>>(infinite, ev * inv_c2 * fma(splat<T>(2), v, one), curvature);
    ga = select<Vec<T>>(infinite, select<Vec<T>>(u != u, u, splat<T>(0)), ga);
  }
  Point<T> out{value, gx, curvature, irls};
  out.grad_third = ga;
  out.grad_fourth = -u * gx;  // d/dscale = -u^2 Q / c = -u (d/dx)
  return out;
}

// The loss as the elementwise driver sees it: (input, target) with alpha and scale from the
// parameters, or (input, target, alpha, scale) with both per element (arity 4).
template <class T> struct BarronLoss {
  static constexpr LossInfo kInfo = with_params([] {
    LossInfo d;
    d.name = "barron";
    d.residual = true;
    d.convex = false;  // for alpha < 1
    d.class_name = "BarronLoss";
    d.arity = 4;
    d.operands = "alpha,scale";
    d.hessians = "irls,exact,positive";
    d.summary = "Barron's general robust loss (CVPR 2019), of the residual r = input - target.";
    d.formula = "|a-2|/a (((r/c)^2/|a-2| + 1)^(a/2) - 1), limits at a = 0, 2, -inf";
    d.math = R"(\rho(r, \alpha, c) = \frac{|\alpha - 2|}{\alpha}
\left(\left(\frac{(r/c)^2}{|\alpha - 2|} + 1\right)^{\alpha/2} - 1\right))";
    d.notes = R"(One family for many classic losses, each an exact special case (with u = r/c):

* alpha = 2: L2, ``u^2 / 2``;   alpha = 1: pseudo-Huber / Charbonnier, ``sqrt(u^2 + 1) - 1``
* alpha = 0: Cauchy / Lorentzian, ``log(u^2 / 2 + 1)``
* alpha = -2: Geman-McClure, ``2 u^2 / (u^2 + 4)``
* alpha = -inf: Welsch / Leclerc, ``1 - exp(-u^2 / 2)``;  alpha = +inf: ``exp(u^2 / 2) - 1``

Smaller alpha is more robust (the gradient of outliers shrinks); ``scale`` (c > 0) is the
size of the quadratic bowl near 0. The loss is evaluated without cancellation
(log1p/expm1 forms and series), so value and gradients are smooth and accurate *through*
alpha = 0 and alpha = 2, in float32 and float64.

``value_and_grads(input, target, sample_weight=None, out=None)`` returns
``(value, d_input, d_alpha, d_scale)``: three arrays of the input's shape, scaled by the
reduction exactly as ``grad`` is (sum d_alpha over broadcast axes for the gradient of a
shared alpha). d rho / d alpha is +inf at exactly alpha = 2 (a genuine log singularity,
0 where r = 0) and 0 at alpha = +-inf.

``grad_hess`` gives the exact second derivative in the input (smooth through alpha = 0 and
2, negative beyond the inflection points where alpha < 2) or, with ``hessian="irls"``,
:math:`\rho'(r)/r = Q/c^2`, the curvature of the quadratic majorizer of rho for alpha <= 2
(for alpha > 2 the loss grows faster than any quadratic and it majorizes nothing).)";
    return d;
  }(), {[] {
          ParamInfo p = real_param("alpha", 1.0, kExtendedReals,
                                   "Shape parameter, any real number or +-inf; an array "
                                   "broadcasts to the input.");
          p.array_allowed = true;
          return p;
        }(),
        [] {
          ParamInfo p = real_param("scale", 1.0, kPositive,
                                   "Scale c; an array broadcasts to the input. float32 input "
                                   "needs c >= 1.2e-38 (the smallest normal float32).");
          p.array_allowed = true;
          return p;
        }()});
  BarronLanes<T> lanes;
  explicit BarronLoss(const LossParams& prm) : lanes(barron_lanes<T>(prm.values[0], prm.values[1])) {}
  // kExtraGrads: also d/dalpha (grad_third) and d/dscale (grad_fourth).
  template <bool kExtraGrads> LOSSKIT_INLINE Point<T> eval(Vec<T> x, Vec<T> y) const {
    return barron_point<T, kExtraGrads>(x - y, lanes);
  }
  template <bool kExtraGrads>
  LOSSKIT_INLINE Point<T> eval(Vec<T> x, Vec<T> y, Vec<T> alpha, Vec<T> scale) const {
    return barron_point<T, kExtraGrads>(x - y, barron_lanes<T>(alpha, scale));
  }
};

}  // namespace losskit::LOSSKIT_ISA

// The losses this file defines.
#define LOSSKIT_BARRON_LOSSES(X) X(BarronLoss)
