// Vectorized exp, expm1, log, log1p, tanh and erf for float and double, all lanes branch-free.
//
// Accuracy contract (max error in ULP over the whole domain, every ISA; measured by
// tests/test_vmath.py against mpmath and recorded in docs/ARCHITECTURE.md):
//   exp 1, expm1 2, log 1, log1p 2, tanh 3, erf 3 (float and double).
// Special values follow IEEE/C99: exp(-inf)=0, exp(+inf)=inf, log(0)=-inf, log(x<0)=NaN,
// log1p(-1)=-inf, expm1(-inf)=-1, tanh(+-inf)=+-1, erf(+-inf)=+-1, NaN in -> NaN out;
// subnormal inputs and
// results are handled exactly (no flush to zero).
#pragma once

#include "losskit/simd/vec.hpp"

namespace losskit::LOSSKIT_ISA {

// 1/k! for k = K0 .. K0 + N - 1, rounded once from double.
template <class T, int K0, int N> struct InverseFactorials {
  struct Table {
    T value[N] = {};
    constexpr T operator[](int i) const { return value[i]; }
  };
  static constexpr Table make() {
    Table t{};
    double f = 1;
    for (int k = 1; k < K0 + N; ++k) {
      f *= k;
      if (k >= K0) t.value[k - K0] = T(1 / f);
    }
    return t;
  }
  static constexpr Table value = make();
};

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
  // expm1: above 2^40 the "- 1" is below half an ulp.
  static constexpr int kExpm1DirectMaxN = 40;
  // expm1(r) = r + r^2 P(r) on |r| <= ln2/2: P of degree 4 fitted to the relative error of
  // exp(r) (3.1e-9; tools/fit_float32_polynomials.py), two terms fewer than Taylor's.
  static constexpr int kExpm1Terms = 5;
  static constexpr float kExpm1Coeffs[kExpm1Terms] = {
      0.4999999403953552f, 0.1666651964187622f, 0.041668400168418884f, 0.008368843235075474f,
      0.0013814285630360246f};
  // log: log(1+f) = f - f^2/2 + s (f^2/2 + R(s^2)), s = f/(2+f), |s| <= 0.1716; R is the
  // minimax polynomial of FreeBSD's e_logf.c (Lg1..Lg4), error < 2^-25.
  static constexpr int kLogDegree = 4;
  static constexpr float kLogCoeffs[8] = {6.6666662693e-01f, 4.0000972152e-01f,
                                          2.8498786688e-01f, 2.4279078841e-01f, 0, 0, 0, 0};
  static constexpr float kLogLn2Hi = 6.9313812256e-01f;
  static constexpr float kLogLn2Lo = 9.0580006145e-06f;
  static constexpr float kSqrtHalf = 0.70710678118654752f;
  // log(1 + e) = e + e^2 R(e) on e in [0, 1]: R is a degree-7 polynomial fitted (Lawson's
  // weighted least squares, tools/fit_float32_polynomials.py) to relative error 3.3e-8; evaluated in
  // float32 with FMA the result is within 1.4 ulp, without the division of the log reduction.
  static constexpr float kLog1pUnitCoeffs[8] = {
      -0.49999648332595825f, 0.3332132399082184f,   -0.2485717236995697f,
      0.19153697788715363f,  -0.1375390738248825f,  0.0792059376835823f,
      -0.030066752806305885f, 0.005365087650716305f};
  static constexpr float kSubnormalScale = 33554432.0f;  // 2^25
  static constexpr int kSubnormalShift = 25;
  // erf (see verf_gauss): x P(x^2) below 1, 1 - e^(-x^2) t Q(t), t = 1/|x|, above;
  // tools/fit_erf.py (P relative error 1.5e-9, Q 6.8e-8, where 2e-7 suffices).
  static constexpr float kErfSplit = 1.0f;
  static constexpr int kErfSmallTerms = 7;
  static constexpr float kErfSmallCoeffs[kErfSmallTerms] = {
      1.12837917f, -3.76126267e-1f, 1.12835947e-1f, -2.6854212e-2f, 5.18908742e-3f,
      -8.01686429e-4f, 7.87587506e-5f};
  static constexpr int kErfTailTerms = 9;
  static constexpr float kErfTailCoeffs[kErfTailTerms] = {
      5.63951719e-1f, 3.56379821e-3f, -3.01237545e-1f, 2.56657697e-2f, 6.02145448e-1f,
      -9.56277666e-1f, 7.40977184e-1f, -3.04131215e-1f, 5.29261043e-2f};
};
template <> struct MathConstants<double> {
  // n * kLn2Hi is exact for |n| < 2^20 (kLn2Hi has 33 significant bits).
  static constexpr double kLn2Hi = 6.93147180369123816490e-01;
  static constexpr double kLn2Lo = 1.90821492927058770002e-10;
  static constexpr double kLog2e = 1.44269504088896338700e+00;
  static constexpr double kRoundMagic = 6755399441055744.0;  // 1.5 * 2^52
  // exp(x) is +inf above ~709.78 and 0 below ~-745.13.
  static constexpr double kExpClamp = 1000.0;
  static constexpr int kExpm1DirectMaxN = 60;
  // Taylor coefficients 1/k!, k = 2..13: truncation r^14/14! < 5e-18 relative (0.04 ulp)
  // on |r| <= ln2/2.
  static constexpr int kExpm1Terms = 12;
  static constexpr auto kExpm1Coeffs = InverseFactorials<double, 2, kExpm1Terms>::value;
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
  // erf: tools/fit_erf.py (P relative error 7.6e-18; Q 3e-16, where ~1e-15 suffices: the
  // tail's erfc <= 0.034 is subtracted from 1).
  static constexpr double kErfSplit = 1.5;
  static constexpr int kErfSmallTerms = 15;
  static constexpr double kErfSmallCoeffs[kErfSmallTerms] = {
      1.1283791670955126, -3.7612638903183677e-1, 1.1283791670952624e-1, -2.6866170644802673e-2,
      5.2239776231793482e-3, -8.5483269294706915e-4, 1.205533042989976e-4,
      -1.4925602741550848e-5, 1.6461484722454146e-6, -1.6359841594724728e-7,
      1.4765666857055745e-8, -1.2083048517022722e-9, 8.6858701143913336e-11,
      -4.9101179846805083e-12, 1.5889546007818837e-13};
  static constexpr int kErfTailTerms = 19;
  static constexpr double kErfTailCoeffs[kErfTailTerms] = {
      5.6418970721745353e-1, -7.0231817758743461e-6, -2.819090502907767e-1,
      -3.0346258218075811e-3, 4.5737383752837576e-1, -2.8190964843078273e-1,
      6.8627557319110149e-1, -8.1889586751432223, 3.2642338930490878e+1, -7.4276483999117981e+1,
      1.0866363001581294e+2, -9.5144440735306934e+1, 1.7955672921443825e+1,
      8.1525580057963719e+1, -1.3481561567346401e+2, 1.1563776453811501e+2,
      -6.0742685986929443e+1, 1.8596884267130264e+1, -2.5671274263710349};
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

// expm1(r) for |r| <= ~0.35: r + r^2 P(r), accurate relative to the result.
template <class T> LOSSKIT_INLINE Vec<T> expm1_reduced(Vec<T> r) {
  using C = MathConstants<T>;
  if constexpr (C::kExpm1Terms <= 5) {
    // Horner: as short a chain as Estrin's for five terms, without the r^4 product.
    Vec<T> p = splat<T>(C::kExpm1Coeffs[C::kExpm1Terms - 1]);
    for (int k = C::kExpm1Terms - 2; k >= 0; --k) p = fma(p, r, splat<T>(C::kExpm1Coeffs[k]));
    return fma(p, r * r, r);
  }
  return fma(estrin<T, 0, C::kExpm1Terms>(C::kExpm1Coeffs, r), r * r, r);
}

// 2^n for integer n in [min_exponent, max_exponent] of T (normal range; other lanes wrap).
template <class T> LOSSKIT_INLINE Vec<T> pow2(Mask<T> n_int) {
  using Tr = VecTraits<T>;
  using U = Unsigned<Mask<T>>;
  return from_bits<T>(Mask<T>((U(n_int) + Tr::kExponentBias) << Tr::kMantissaBits));
}

// p * 2^n for integer-valued n (given as T and as the integer ni), |n| < 2^12, rounded once:
// past the exponent range the result overflows to inf or rounds gradually into the subnormals.
template <class T> LOSSKIT_INLINE Vec<T> scale_pow2(Vec<T> p, Vec<T> n, Mask<T> ni) {
#if LOSSKIT_AVX512_VECTORS
  // One instruction (vscalef), where the generic form below needs seven. (The masked forms:
  // GCC 12 warns about the unmasked intrinsics' undefined pass-through operand.)
  (void)ni;
  if constexpr (sizeof(Vec<T>) == 64) {
    if constexpr (sizeof(T) == 4) return _mm512_maskz_scalef_ps(__mmask16(-1), p, n);
    else return _mm512_maskz_scalef_pd(__mmask8(-1), p, n);
  } else if constexpr (sizeof(Vec<T>) == 32) {
    if constexpr (sizeof(T) == 4) return _mm256_maskz_scalef_ps(__mmask8(-1), p, n);
    else return _mm256_maskz_scalef_pd(__mmask8(-1), p, n);
  } else {
    if constexpr (sizeof(T) == 4) return _mm_maskz_scalef_ps(__mmask8(-1), p, n);
    else return _mm_maskz_scalef_pd(__mmask8(-1), p, n);
  }
#else
  // 2^n in two factors, each a normal number, so that only the last product rounds.
  (void)n;
  const Mask<T> n1 = half_floor(ni);
  return (p * pow2<T>(n1)) * pow2<T>(wrapping_sub(ni, n1));
#endif
}

template <class T> LOSSKIT_INLINE Vec<T> vexp(Vec<T> x) {
  using C = MathConstants<T>;
  const Vec<T> lim = splat<T>(C::kExpClamp);
  const Vec<T> xc = min_or_second<T>(lim, max_or_second<T>(-lim, x));  // NaN passes through
  Vec<T> n, r;
  Mask<T> ni;
  reduce_ln2<T>(xc, n, ni, r);
  return scale_pow2<T>(splat<T>(1) + expm1_reduced<T>(r), n, ni);
}

// exp(x) and expm1(x) from one reduction (the Barron loss needs both).
template <class T> struct ExpPair {
  Vec<T> exp, expm1;
};
template <class T> LOSSKIT_INLINE ExpPair<T> vexp_pair(Vec<T> x) {
  using C = MathConstants<T>;
  const Vec<T> lim = splat<T>(C::kExpClamp);
  const Vec<T> xc = min_or_second<T>(lim, max_or_second<T>(-lim, x));  // NaN passes through
  Vec<T> n, r;
  Mask<T> ni;
  reduce_ln2<T>(xc, n, ni, r);
  const Vec<T> em = expm1_reduced<T>(r);
  const Vec<T> one = splat<T>(1);
  const Vec<T> e = scale_pow2<T>(one + em, n, ni);
  // n <= max: 2^n (1 + em) - 1 = fma(2^n, em, 2^n - 1), where 2^n - 1 is exact or the result
  // is so close to -1 that its rounding is below half an ulp. Larger n: exp(x) - 1 rounds to
  // exp(x). (Lane choices compare n as T: 64-bit integer compares are missing before
  // SSE4.2/AVX-512.)
  const Vec<T> s = scale_pow2<T>(one, n, ni);
  const Vec<T> direct = fma(s, em, s - one);
  const Vec<T> m1 = select<Vec<T>>(n > T(C::kExpm1DirectMaxN), e, direct);
  return {e, select<Vec<T>>(x == splat<T>(0), x, m1)};  // keeps the sign of -0
}

template <class T> LOSSKIT_INLINE Vec<T> vexpm1(Vec<T> x) { return vexp_pair<T>(x).expm1; }

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
#if LOSSKIT_AVX512_VECTORS
  // vgetmant / vgetexp: m in [1, 2) and k in two instructions. (Masked forms: GCC 12 warns
  // about the unmasked intrinsics' undefined pass-through operand.)
  if constexpr (sizeof(Vec<T>) == 64 && sizeof(T) == 4) {
    m = _mm512_maskz_getmant_ps(__mmask16(-1), x, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_src);
    k = _mm512_maskz_getexp_ps(__mmask16(-1), x);
  } else if constexpr (sizeof(Vec<T>) == 64) {
    m = _mm512_maskz_getmant_pd(__mmask8(-1), x, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_src);
    k = _mm512_maskz_getexp_pd(__mmask8(-1), x);
  } else if constexpr (sizeof(Vec<T>) == 32 && sizeof(T) == 4) {
    m = _mm256_maskz_getmant_ps(__mmask8(-1), x, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_src);
    k = _mm256_maskz_getexp_ps(__mmask8(-1), x);
  } else if constexpr (sizeof(Vec<T>) == 32) {
    m = _mm256_maskz_getmant_pd(__mmask8(-1), x, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_src);
    k = _mm256_maskz_getexp_pd(__mmask8(-1), x);
  } else if constexpr (sizeof(T) == 4) {
    m = _mm_maskz_getmant_ps(__mmask8(-1), x, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_src);
    k = _mm_maskz_getexp_ps(__mmask8(-1), x);
  } else {
    m = _mm_maskz_getmant_pd(__mmask8(-1), x, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_src);
    k = _mm_maskz_getexp_pd(__mmask8(-1), x);
  }
#else
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
#endif
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

#if LOSSKIT_AVX512_VECTORS
// The table-driven log of glibc's logf, in float with AVX-512's 16-lane permute: u = 2^k m with
// m in [kOffset, 2 kOffset) (split in the bits of u - kOffset, so m never needs a compare),
// 16 subintervals of m by the next 4 bits, each with 1/c and log c (c its midpoint, or exactly
// 1 for the one holding 1: no cancellation near u = 1). Then log u = k ln2 + log c + log1p(r)
// with r = m/c - 1 (one FMA, |r| < 0.03) and log1p(r) = r + r^2 Q(r), Q of degree 3: no
// division and a third of the polynomial of the generic reduction. Tables and Q from
// tools/fit_float32_polynomials.py (log1p within 1.54 ulp there; measured in tests/test_vmath.py).
struct LogTable {
  static constexpr std::int32_t kOffset = 0x3F330000;  // ~0.6992
  alignas(64) static constexpr float kInvC[16] = {
      0x1.661ec6p+0f, 0x1.571ed4p+0f, 0x1.49539ep+0f, 0x1.3c995ap+0f, 0x1.30d19p+0f, 0x1.25e228p+0f,
      0x1.1bb4a4p+0f, 0x1.12358ep+0f, 0x1.0953f4p+0f, 0x1p+0f,        0x1.e573acp-1f, 0x1.ca4b3p-1f,
      0x1.b20364p-1f, 0x1.9c2d14p-1f, 0x1.886e6p-1f,  0x1.767dcep-1f};
  alignas(64) static constexpr float kLogC[16] = {
      -0x1.57bf74p-2f, -0x1.2bef08p-2f, -0x1.01eae4p-2f, -0x1.b31d84p-3f, -0x1.6574ecp-3f,
      -0x1.1aa2bep-3f, -0x1.a4e764p-4f, -0x1.1973b6p-4f, -0x1.252f4p-5f, 0.0f,
      0x1.b42de0p-5f,  0x1.c5e54cp-4f,  0x1.526e5ep-3f,  0x1.bc286cp-3f,  0x1.1058bep-2f,
      0x1.40430ap-2f};
  static constexpr float kCoeffs[4] = {-0x1.fffffep-2f, 0x1.555552p-2f, -0x1.0030e6p-2f,
                                       0x1.99f6aap-3f};
};
#endif

// log(u) + correction for u positive, normal and finite, with `correction` small (a term
// already divided by u: log1p's rounding error of 1 + x).
template <class T> LOSSKIT_INLINE Vec<T> log_normal(Vec<T> u, Vec<T> correction) {
#if LOSSKIT_AVX512_VECTORS
  if constexpr (sizeof(T) == 4 && sizeof(Vec<T>) == 64) {
    using Table = LogTable;
    const Mask<T> bits = as_bits<T>(u);
    const Mask<T> shifted = bits - Table::kOffset;
    const Vec<T> k = __builtin_convertvector(shifted >> 23, Vec<T>);  // arithmetic shift
    const Vec<T> m = from_bits<T>(bits - (shifted & std::int32_t(0xFF800000u)));
    // vpermps reads the low 4 bits of each index lane: the next 4 bits of the mantissa.
    // (Masked forms: GCC 12 warns about the unmasked one's undefined pass-through operand.)
    const __m512i index = (__m512i)(shifted >> 19);
    const __mmask16 all = __mmask16(-1);
    const Vec<T> inv_c = (Vec<T>)_mm512_maskz_permutexvar_ps(all, index, _mm512_load_ps(Table::kInvC));
    const Vec<T> log_c = (Vec<T>)_mm512_maskz_permutexvar_ps(all, index, _mm512_load_ps(Table::kLogC));
    const Vec<T> r = fma(m, inv_c, splat<T>(-1));
    Vec<T> q = splat<T>(Table::kCoeffs[3]);
    for (int i = 2; i >= 0; --i) q = fma(q, r, splat<T>(Table::kCoeffs[i]));
    const Vec<T> tail = fma(r * r, q, correction) + r;
    return fma(k, splat<T>(T(0.693147180559945309)), log_c) + tail;
  }
#endif
  Vec<T> m, k;
  split_exponent<T>(u, m, k);
  return log_kernel<T>(m - T(1), k, correction);
}

// log1p(x) for u = 1 + x (x rounded) positive and finite, given inv_u = 1 / u: the rounding
// error of 1 + x, divided by u, is added back.
template <class T> LOSSKIT_INLINE Vec<T> log1p_finite(Vec<T> x, Vec<T> u, Vec<T> inv_u) {
  const Vec<T> one = splat<T>(1);
  // The rounding error of 1 + x, exactly: u - x is exact for x >= 1 (Sterbenz), u - 1 below.
  const Vec<T> err = select<Vec<T>>(u >= splat<T>(2), one - (u - x), x - (u - one));
  return log_normal<T>(u, err * inv_u);
}

template <class T> LOSSKIT_INLINE Vec<T> vlog1p(Vec<T> x) {
  const Vec<T> one = splat<T>(1);
  const Vec<T> inf = splat<T>(__builtin_inf());
  const Vec<T> u = one + x;
  // Lanes with u <= 0 or non-finite are overwritten below; keep their arithmetic harmless.
  const auto regular = (u > splat<T>(0)) & (u < inf);
  const Vec<T> us = select<Vec<T>>(regular, u, one);
  Vec<T> y = log1p_finite<T>(x, us, one / us);
  y = select<Vec<T>>(u == splat<T>(0), -inf, y);
  y = select<Vec<T>>(x == inf, inf, y);
  y = select<Vec<T>>(x == splat<T>(0), x, y);  // keeps the sign of -0
  return select<Vec<T>>(x < -one, splat<T>(__builtin_nan("")), select<Vec<T>>(x != x, x, y));
}

// log1p(z) for z >= 0 (or +inf, NaN), given u = 1 + z and inv_u = 1 / u, which the caller
// needs too: no division of its own beyond the log reduction's. Accuracy as vlog1p.
template <class T> LOSSKIT_INLINE Vec<T> vlog1p_nonnegative(Vec<T> z, Vec<T> u, Vec<T> inv_u) {
  const auto finite = u < splat<T>(__builtin_inf());  // NaN compares false
  const Vec<T> one = splat<T>(1);
  // The rounding error of 1 + z: exact while u < 2^(mantissa bits + 1) (u - 1 is exact and
  // within a factor 2 of z); past that it is garbage below ulp(u), i.e. below 2^-23 relative,
  // against a log above 16: negligible.
  const Vec<T> err = z - (u - one);
  return select<Vec<T>>(finite, log_normal<T>(select<Vec<T>>(finite, u, one), err * inv_u), u);
}

// log(1 + e) and 1 / (1 + e) for e in [0, 1] (no special values): the logistic losses need
// both. float: a polynomial (1.4 ulp); double: the log reduction of vlog1p, sharing the one
// division (2 ulp).
template <class T> struct Log1pUnit {
  Vec<T> log1p;       // log(1 + e)
  Vec<T> reciprocal;  // 1 / (1 + e)
};
template <class T> LOSSKIT_INLINE Log1pUnit<T> vlog1p_unit(Vec<T> e) {
  const Vec<T> one = splat<T>(1);
  const Vec<T> u = one + e;                // in [1, 2]
  const Vec<T> r = one / u;
  if constexpr (sizeof(T) == 4) {
    // Horner, not Estrin: the kernels around it keep the FMA pipes busy, and Horner needs
    // three fewer multiplications.
    constexpr const float* c = MathConstants<float>::kLog1pUnitCoeffs;
    Vec<T> p = splat<T>(c[7]);
    for (int k = 6; k >= 0; --k) p = fma(p, e, splat<T>(c[k]));
    return {fma(p, e * e, e), r};
  }
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

// erf(x) and e^(-x^2) from one exp (the Gaussian CRPS needs both). Two pieces, odd in x, split
// at s = 1.5 (float: 1):
//   |x| < s:  erf(x) = x P(x^2)                          (relative to erf, no cancellation)
//   |x| >= s: erf(x) = sign(x) (1 - e^(-x^2) t Q(t)), t = 1/|x|
// (a larger split leaves P's alternating terms cancelling: 12 ulp near 2 in double). The
// tail's erfc is at most 0.034 (float: 0.16) and is subtracted from 1, so its own relative
// error (Q's fit, the rounding of x^2 amplified by exp: ~x^2 eps) only needs to stay below
// ~1e-15 (float: 2e-7) for half an ulp of the result. Past the fit (|x| > 5.9, float 3.92)
// erfc is below half an ulp of 1 and Q's extrapolation towards its limit 1/sqrt(pi) at t = 0
// is harmless; e^(-x^2) underflows to 0 for large |x|, giving +-1 exactly (and for +-inf,
// where t = 0). NaN propagates.
template <class T> struct ErfGauss {
  Vec<T> erf;    // erf(x)
  Vec<T> gauss;  // e^(-x^2)
};
template <class T> LOSSKIT_INLINE ErfGauss<T> verf_gauss(Vec<T> x) {
  using C = MathConstants<T>;
  const Vec<T> split = splat<T>(C::kErfSplit);
  const Vec<T> a = abs<T>(x);
  const Vec<T> x2 = x * x;
  const Vec<T> gauss = vexp<T>(-x2);
  // Each piece's argument clamped to its range, so unselected lanes stay finite.
  const Vec<T> u = min_or_second<T>(split * split, x2);
  const Vec<T> small = x * estrin<T, 0, C::kErfSmallTerms>(C::kErfSmallCoeffs, u);
  const Vec<T> t = splat<T>(1) / max_or_second<T>(split, a);
  const Vec<T> erfc = gauss * t * estrin<T, 0, C::kErfTailTerms>(C::kErfTailCoeffs, t);
  const Vec<T> tail = copysign<T>(splat<T>(1) - erfc, x);
  return {select<Vec<T>>(a < split, small, tail), gauss};
}

template <class T> LOSSKIT_INLINE Vec<T> verf(Vec<T> x) { return verf_gauss<T>(x).erf; }

}  // namespace losskit::LOSSKIT_ISA
