// Vectorized exp, expm1, log, log1p and tanh for float and double, all lanes branch-free.
//
// Accuracy contract (max error in ULP over the whole domain, every ISA; measured by
// tests/test_vmath.py against mpmath and recorded in docs/ARCHITECTURE.md):
//   exp 1, expm1 2, log 1, log1p 2, tanh 3 (float and double).
// Special values follow IEEE/C99: exp(-inf)=0, exp(+inf)=inf, log(0)=-inf, log(x<0)=NaN,
// log1p(-1)=-inf, expm1(-inf)=-1, tanh(+-inf)=+-1, NaN in -> NaN out; subnormal inputs and
// results are handled exactly (no flush to zero).
#pragma once

#include "simd/vec.hpp"

namespace losskit::LOSSKIT_ISA {

template <class T> struct MathConstants;
template <> struct MathConstants<float> {
  // Cody-Waite split of ln 2: n * kLn2Hi is exact for |n| < 2^15 (kLn2Hi has 9 significant bits).
  static constexpr float kLn2Hi = 0.693359375f;
  static constexpr float kLn2Lo = -2.12194440e-4f;
  static constexpr float kLog2e = 1.44269504088896341f;
  // Adding 1.5 * 2^23 rounds |x| < 2^22 to an integer held in the low mantissa bits.
  static constexpr float kRoundMagic = 12582912.0f;
  // exp(x) is +inf above ~88.72 and 0 below ~-103.97; clamping to +-150 keeps n in range for
  // the two-step scaling while still overflowing / underflowing through the arithmetic.
  static constexpr float kExpClamp = 150.0f;
  // expm1: below -30, expm1(x) rounds to -1; above 2^40 the "- 1" is below half an ulp.
  static constexpr float kExpm1Lo = -30.0f;
  static constexpr int kExpm1DirectMaxN = 40;
  // Taylor coefficients 1/k! for expm1 on |r| <= ln2/2; degree 7 leaves a truncation error
  // of r^8/8! < 6e-9 relative (0.05 ulp).
  static constexpr int kExpDegree = 7;
  // log: log(1+f) = f - f^2/2 + s (f^2/2 + R(s^2)), s = f/(2+f), |s| <= 0.1716; R is the
  // minimax polynomial of FreeBSD's e_logf.c (Lg1..Lg4), error < 2^-25.
  static constexpr int kLogDegree = 4;
  static constexpr float kLogCoeffs[8] = {6.6666662693e-01f, 4.0000972152e-01f,
                                          2.8498786688e-01f, 2.4279078841e-01f, 0, 0, 0, 0};
  static constexpr float kLogLn2Hi = 6.9313812256e-01f;
  static constexpr float kLogLn2Lo = 9.0580006145e-06f;
  static constexpr float kSqrtHalf = 0.70710678118654752f;
  static constexpr float kSubnormalScale = 33554432.0f;  // 2^25
  static constexpr int kSubnormalShift = 25;
};
template <> struct MathConstants<double> {
  // n * kLn2Hi is exact for |n| < 2^20 (kLn2Hi has 33 significant bits).
  static constexpr double kLn2Hi = 6.93147180369123816490e-01;
  static constexpr double kLn2Lo = 1.90821492927058770002e-10;
  static constexpr double kLog2e = 1.44269504088896338700e+00;
  static constexpr double kRoundMagic = 6755399441055744.0;  // 1.5 * 2^52
  // exp(x) is +inf above ~709.78 and 0 below ~-745.13.
  static constexpr double kExpClamp = 1000.0;
  static constexpr double kExpm1Lo = -80.0;
  static constexpr int kExpm1DirectMaxN = 60;
  // degree 13: truncation r^14/14! < 5e-18 relative (0.04 ulp) on |r| <= ln2/2.
  static constexpr int kExpDegree = 13;
  // FreeBSD/fdlibm e_log.c minimax coefficients Lg1..Lg7, error < 2^-58.45.
  static constexpr int kLogDegree = 7;
  static constexpr double kLogCoeffs[8] = {
      6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01,
      2.222219843214978396e-01, 1.818357216161805012e-01, 1.531383769920937332e-01,
      1.479819860511658591e-01, 0};
  static constexpr double kLogLn2Hi = 6.93147180369123816490e-01;
  static constexpr double kLogLn2Lo = 1.90821492927058770002e-10;
  static constexpr double kSqrtHalf = 0.70710678118654752440;
  static constexpr double kSubnormalScale = 18014398509481984.0;  // 2^54
  static constexpr int kSubnormalShift = 54;
};

// x = n ln2 + r with |r| <= ln2/2 (slightly more after rounding); n returned as T and as the
// integer held in the bits of the rounding sum.
template <class T>
LOSSKIT_INLINE void reduce_ln2(Vec<T> x, Vec<T>& n, Mask<T>& n_int, Vec<T>& r) {
  using C = MathConstants<T>;
  const Vec<T> magic = splat<T>(C::kRoundMagic);
  const Vec<T> shifted = fma(x, splat<T>(C::kLog2e), magic);
  n = shifted - magic;
  n_int = as_bits<T>(shifted) - as_bits<T>(magic);
  r = fma(-n, splat<T>(C::kLn2Hi), x);
  r = fma(-n, splat<T>(C::kLn2Lo), r);
}

// 1/k! for k = 0..N, rounded once from double.
template <class T, int N> struct InverseFactorials {
  T value[N + 1] = {};
  constexpr InverseFactorials() {
    double f = 1;
    for (int k = 0; k <= N; ++k) {
      if (k > 0) f *= k;
      value[k] = T(1 / f);
    }
  }
};

// sum_i c[B + i] x^i for i < C, by Estrin's scheme: a tree of FMAs of depth ~log2(C) instead of
// Horner's chain of C (the kernels are latency-bound otherwise). pow2x[k] holds x^(2^k).
template <class T, int B, int C> struct Estrin {
  template <class Coeffs>
  static LOSSKIT_INLINE Vec<T> eval(const Coeffs& c, const Vec<T>* pow2x) {
    if constexpr (C == 1) {
      return splat<T>(c[B]);
    } else if constexpr (C == 2) {
      return fma(splat<T>(c[B + 1]), pow2x[0], splat<T>(c[B]));
    } else {
      constexpr int kHalf = C > 4 ? (C > 8 ? 8 : 4) : 2;  // largest power of two below C
      constexpr int kLog = kHalf == 8 ? 3 : (kHalf == 4 ? 2 : 1);
      return fma(Estrin<T, B + kHalf, C - kHalf>::eval(c, pow2x), pow2x[kLog],
                 Estrin<T, B, kHalf>::eval(c, pow2x));
    }
  }
};
template <class T, int B, int C, class Coeffs>
LOSSKIT_INLINE Vec<T> estrin(const Coeffs& c, Vec<T> x) {
  Vec<T> pow2x[4];
  pow2x[0] = x;
  for (int k = 1; k < 4; ++k) pow2x[k] = pow2x[k - 1] * pow2x[k - 1];
  return Estrin<T, B, C>::eval(c, pow2x);
}

// expm1(r) for |r| <= ~0.35: r + r^2 (1/2! + r/3! + ...), accurate relative to the result.
template <class T> LOSSKIT_INLINE Vec<T> expm1_reduced(Vec<T> r) {
  constexpr int kDegree = MathConstants<T>::kExpDegree;
  constexpr InverseFactorials<T, kDegree> c{};
  return fma(estrin<T, 2, kDegree - 1>(c.value, r), r * r, r);
}

// 2^n for integer n in [min_exponent, max_exponent] of T (normal range; other lanes wrap).
template <class T> LOSSKIT_INLINE Vec<T> pow2(Mask<T> n_int) {
  using Tr = VecTraits<T>;
  using U = Unsigned<Mask<T>>;
  return from_bits<T>(Mask<T>((U(n_int) + Tr::kExponentBias) << Tr::kMantissaBits));
}

template <class T> LOSSKIT_INLINE Vec<T> vexp(Vec<T> x) {
  using C = MathConstants<T>;
  const Vec<T> lim = splat<T>(C::kExpClamp);
  Vec<T> xc = select<Vec<T>>(x > lim, lim, x);  // NaN compares false and passes through
  xc = select<Vec<T>>(xc < -lim, -lim, xc);
  Vec<T> n, r;
  Mask<T> ni;
  reduce_ln2<T>(xc, n, ni, r);
  // Scale by 2^n in two steps so that n past the exponent range still overflows to inf or
  // rounds gradually into the subnormals, with a single rounding at the last step.
  const Mask<T> n1 = half_floor(ni);
  const Vec<T> p = splat<T>(1) + expm1_reduced<T>(r);
  return (p * pow2<T>(n1)) * pow2<T>(wrapping_sub(ni, n1));
}

template <class T> LOSSKIT_INLINE Vec<T> vexpm1(Vec<T> x) {
  using C = MathConstants<T>;
  const Vec<T> lim = splat<T>(C::kExpClamp);
  Vec<T> xc = select<Vec<T>>(x > lim, lim, x);
  xc = select<Vec<T>>(xc < splat<T>(C::kExpm1Lo), splat<T>(C::kExpm1Lo), xc);
  Vec<T> n, r;
  Mask<T> ni;
  reduce_ln2<T>(xc, n, ni, r);
  const Vec<T> em = expm1_reduced<T>(r);
  // n <= max: 2^n (1 + em) - 1 = fma(2^n, em, 2^n - 1), where 2^n - 1 is exact or the result
  // is so close to -1 that its rounding is below half an ulp.
  // (Lane choices compare n as T: 64-bit integer compares are missing before SSE4.2/AVX-512.)
  const auto large_n = n > T(C::kExpm1DirectMaxN);
  const Mask<T> n_direct = large_n ? Mask<T>{} + C::kExpm1DirectMaxN : ni;
  const Vec<T> s = pow2<T>(n_direct);
  const Vec<T> direct = fma(s, em, s - splat<T>(1));
  // Larger n: exp(x) - 1 rounds to exp(x).
  const Mask<T> n1 = half_floor(ni);
  const Vec<T> large = ((splat<T>(1) + em) * pow2<T>(n1)) * pow2<T>(wrapping_sub(ni, n1));
  const Vec<T> y = select<Vec<T>>(large_n, large, direct);
  return select<Vec<T>>(x == splat<T>(0), x, y);  // keeps the sign of -0
}

// log(m 2^k) for m = 1 + f in [sqrt(1/2), sqrt(2)), with `correction` (an additive term already
// divided by the argument, for log1p) folded in before the final sum.
template <class T>
LOSSKIT_INLINE Vec<T> log_kernel(Vec<T> f, Vec<T> k, Vec<T> correction) {
  using C = MathConstants<T>;
  const Vec<T> s = f / (splat<T>(2) + f);
  const Vec<T> z = s * s;
  const Vec<T> R = estrin<T, 0, C::kLogDegree>(C::kLogCoeffs, z) * z;
  const Vec<T> hfsq = splat<T>(T(0.5)) * f * f;
  const Vec<T> low = fma(k, splat<T>(C::kLogLn2Lo), correction);
  return fma(k, splat<T>(C::kLogLn2Hi), f - (hfsq - fma(s, hfsq + R, low)));
}

// Splits positive finite normal x into m in [sqrt(1/2), sqrt(2)) and exponent k (as T).
template <class T> LOSSKIT_INLINE void split_exponent(Vec<T> x, Vec<T>& m, Vec<T>& k) {
  using Tr = VecTraits<T>;
  using B = typename Tr::bits;
  constexpr B kMantissaMask = (B(1) << Tr::kMantissaBits) - 1;
  const Mask<T> bits = as_bits<T>(x);
  const Mask<T> e = shift_right_nonnegative(bits, Tr::kMantissaBits) - Tr::kExponentBias;
  m = from_bits<T>((bits & kMantissaMask) | (B(Tr::kExponentBias) << Tr::kMantissaBits));
  // k as T without an int64->double conversion (absent before AVX-512DQ): place the small
  // integer in the mantissa of 2^52 (2^23) and subtract.
  // 2^p + 2^(p-1) + e has e in its low mantissa bits for |e| < 2^(p-1), p = mantissa bits.
  const Vec<T> offset = splat<T>(T(B(3) << (Tr::kMantissaBits - 1)));
  k = from_bits<T>(as_bits<T>(offset) + e) - offset;
  const auto hi = m > splat<T>(T(2) * MathConstants<T>::kSqrtHalf);
  m = select<Vec<T>>(hi, m * T(0.5), m);
  k = select<Vec<T>>(hi, k + T(1), k);
}

template <class T> LOSSKIT_INLINE Vec<T> vlog(Vec<T> x) {
  using C = MathConstants<T>;
  const Vec<T> zero = splat<T>(0);
  const Vec<T> inf = splat<T>(__builtin_inf());
  // Subnormals: scale into the normal range first.
  const auto tiny = x < splat<T>(sizeof(T) == 4 ? T(__FLT_MIN__) : T(__DBL_MIN__));
  const Vec<T> xs = select<Vec<T>>(tiny, x * C::kSubnormalScale, x);
  Vec<T> m, k;
  split_exponent<T>(xs, m, k);
  k = select<Vec<T>>(tiny, k - T(C::kSubnormalShift), k);
  Vec<T> y = log_kernel<T>(m - T(1), k, zero);
  y = select<Vec<T>>(x == zero, -inf, y);
  y = select<Vec<T>>(x == inf, inf, y);
  return select<Vec<T>>(x < zero, splat<T>(__builtin_nan("")), select<Vec<T>>(x != x, x, y));
}

template <class T> LOSSKIT_INLINE Vec<T> vlog1p(Vec<T> x) {
  const Vec<T> one = splat<T>(1);
  const Vec<T> inf = splat<T>(__builtin_inf());
  const Vec<T> u = one + x;
  // The rounding error of 1 + x, exactly: u - x is exact for x >= 1 (Sterbenz), u - 1 below.
  const Vec<T> err = select<Vec<T>>(u >= splat<T>(2), one - (u - x), x - (u - one));
  // Lanes with u <= 0 or non-finite are overwritten below; keep their arithmetic harmless.
  const auto regular = (u > splat<T>(0)) & (u < inf);
  const Vec<T> us = select<Vec<T>>(regular, u, one);
  Vec<T> m, k;
  split_exponent<T>(us, m, k);
  Vec<T> y = log_kernel<T>(m - one, k, err / us);
  y = select<Vec<T>>(u == splat<T>(0), -inf, y);
  y = select<Vec<T>>(x == inf, inf, y);
  y = select<Vec<T>>(x == splat<T>(0), x, y);  // keeps the sign of -0
  return select<Vec<T>>(x < -one, splat<T>(__builtin_nan("")), select<Vec<T>>(x != x, x, y));
}

// log(1 + e) and 1 / (1 + e) for e in [0, 1] (no special values), sharing one division: the
// logistic losses need both. Same accuracy as vlog1p on that range.
template <class T> struct Log1pUnit {
  Vec<T> log1p;       // log(1 + e)
  Vec<T> reciprocal;  // 1 / (1 + e)
};
template <class T> LOSSKIT_INLINE Log1pUnit<T> vlog1p_unit(Vec<T> e) {
  const Vec<T> one = splat<T>(1);
  const Vec<T> u = one + e;                // in [1, 2]
  const Vec<T> r = one / u;
  const Vec<T> err = e - (u - one);        // the rounding error of 1 + e, exactly
  const auto hi = u > splat<T>(T(2) * MathConstants<T>::kSqrtHalf);
  const Vec<T> m = select<Vec<T>>(hi, u * T(0.5), u);
  const Vec<T> k = select<Vec<T>>(hi, one, splat<T>(0));
  return {log_kernel<T>(m - one, k, err * r), r};
}

// tanh(x) = sign(x) * -e / (2 + e) with e = expm1(-2|x|) in (-1, 0]: no cancellation anywhere.
template <class T> LOSSKIT_INLINE Vec<T> vtanh(Vec<T> x) {
  const Vec<T> e = vexpm1<T>(splat<T>(-2) * abs<T>(x));
  return copysign<T>(-e / (splat<T>(2) + e), x);
}

}  // namespace losskit::LOSSKIT_ISA
