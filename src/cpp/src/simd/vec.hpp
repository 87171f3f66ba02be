// A thin vector type for kernels written once and compiled per instruction set.
//
// Compiled in every ISA translation unit with LOSSKIT_ISA defined (sse2, avx2, avx512) so each
// copy lives in its own namespace (no ODR clash between copies built with different -m flags).
// The vector type is a GCC/Clang vector extension of the target's natural width: arithmetic,
// comparisons (-> integer masks) and `mask ? a : b` are the language's; this file adds what the
// language lacks (fma, sqrt, masked tail load/store, float64 accumulation, bit tricks).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

#ifndef LOSSKIT_ISA
#error "define LOSSKIT_ISA (the namespace of this instruction set's copy of the kernels)"
#endif

#define LOSSKIT_INLINE inline __attribute__((always_inline))

namespace losskit::LOSSKIT_ISA {

#if defined(__AVX512F__)
inline constexpr int kVectorBytes = 64;
#elif defined(__AVX2__)
inline constexpr int kVectorBytes = 32;
#else
inline constexpr int kVectorBytes = 16;
#endif

template <class T> struct VecTraits;
template <> struct VecTraits<float> {
  typedef float type __attribute__((vector_size(kVectorBytes)));
  typedef std::int32_t mask __attribute__((vector_size(kVectorBytes)));
  using bits = std::int32_t;
  static constexpr int kMantissaBits = 23;
  static constexpr int kExponentBias = 127;
};
template <> struct VecTraits<double> {
  typedef double type __attribute__((vector_size(kVectorBytes)));
  typedef std::int64_t mask __attribute__((vector_size(kVectorBytes)));
  using bits = std::int64_t;
  static constexpr int kMantissaBits = 52;
  static constexpr int kExponentBias = 1023;
};
// Float64 vectors (accumulators for float32 data).
typedef double VecF64 __attribute__((vector_size(kVectorBytes)));

template <class T> using Vec = typename VecTraits<T>::type;
// Integer vector of the same lane count and width: comparison results and bit patterns.
template <class T> using Mask = typename VecTraits<T>::mask;
template <class T> inline constexpr std::size_t kLanes = kVectorBytes / sizeof(T);

template <class T> LOSSKIT_INLINE Vec<T> splat(T x) { return Vec<T>{} + x; }
template <class V> LOSSKIT_INLINE V select(decltype(V{} < V{}) m, V a, V b) { return m ? a : b; }

// Bit casts between a vector and its integer vector (a vector cast reinterprets the bits).
template <class T> LOSSKIT_INLINE Mask<T> as_bits(Vec<T> v) { return (Mask<T>)v; }
template <class T> LOSSKIT_INLINE Vec<T> from_bits(Mask<T> m) { return (Vec<T>)m; }

template <class T> LOSSKIT_INLINE Vec<T> abs(Vec<T> v) {
  using B = typename VecTraits<T>::bits;
  constexpr B kNoSign = ~(B(1) << (8 * sizeof(T) - 1));
  return from_bits<T>(as_bits<T>(v) & kNoSign);
}
// |magnitude| with the sign bit of sign.
template <class T> LOSSKIT_INLINE Vec<T> copysign(Vec<T> magnitude, Vec<T> sign) {
  using B = typename VecTraits<T>::bits;
  constexpr B kSign = B(1) << (8 * sizeof(T) - 1);
  return from_bits<T>((as_bits<T>(magnitude) & ~kSign) | (as_bits<T>(sign) & kSign));
}
// -1, 0 or +1 (0 for +-0, NaN for NaN): torch.sign's subgradient convention.
template <class T> LOSSKIT_INLINE Vec<T> sign(Vec<T> v) {
  const Vec<T> one = splat<T>(1);
  Vec<T> s = select<Vec<T>>(v > 0, one, splat<T>(0));
  s = select<Vec<T>>(v < 0, -one, s);
  return select<Vec<T>>(v != v, v, s);
}

// a * b + c with one rounding where the ISA has FMA; two roundings on the sse2 baseline.
LOSSKIT_INLINE Vec<float> fma(Vec<float> a, Vec<float> b, Vec<float> c) {
#if defined(__AVX512F__)
  return _mm512_fmadd_ps(a, b, c);
#elif defined(__FMA__)
  return _mm256_fmadd_ps(a, b, c);
#else
  return a * b + c;
#endif
}
LOSSKIT_INLINE Vec<double> fma(Vec<double> a, Vec<double> b, Vec<double> c) {
#if defined(__AVX512F__)
  return _mm512_fmadd_pd(a, b, c);
#elif defined(__FMA__)
  return _mm256_fmadd_pd(a, b, c);
#else
  return a * b + c;
#endif
}

LOSSKIT_INLINE Vec<float> sqrt(Vec<float> v) {
#if defined(__AVX512F__)
  return _mm512_mask_sqrt_ps(v, static_cast<__mmask16>(-1), v);  // GCC 12 warns on the unmasked form
#elif defined(__AVX__)
  return _mm256_sqrt_ps(v);
#elif defined(__SSE2__)
  return _mm_sqrt_ps(v);
#else
  for (std::size_t i = 0; i < kLanes<float>; ++i) v[i] = __builtin_sqrtf(v[i]);
  return v;
#endif
}
LOSSKIT_INLINE Vec<double> sqrt(Vec<double> v) {
#if defined(__AVX512F__)
  return _mm512_mask_sqrt_pd(v, static_cast<__mmask8>(-1), v);
#elif defined(__AVX__)
  return _mm256_sqrt_pd(v);
#elif defined(__SSE2__)
  return _mm_sqrt_pd(v);
#else
  for (std::size_t i = 0; i < kLanes<double>; ++i) v[i] = __builtin_sqrt(v[i]);
  return v;
#endif
}

template <class T> LOSSKIT_INLINE Vec<T> load(const T* p) {
  Vec<T> v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
template <class T> LOSSKIT_INLINE void store(T* p, Vec<T> v) { std::memcpy(p, &v, sizeof(v)); }

// Lanes [0, n) read from p, the rest 0; never touches memory past p + n. n < kLanes<T>.
template <class T> LOSSKIT_INLINE Vec<T> load_partial(const T* p, std::size_t n) {
#if defined(__AVX512F__)
  if constexpr (sizeof(T) == 4) {
    return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << n) - 1), p);
  } else {
    return _mm512_maskz_loadu_pd(static_cast<__mmask8>((1u << n) - 1), p);
  }
#else
  Vec<T> v = {};
  std::memcpy(&v, p, n * sizeof(T));
  return v;
#endif
}
template <class T> LOSSKIT_INLINE void store_partial(T* p, std::size_t n, Vec<T> v) {
#if defined(__AVX512F__)
  if constexpr (sizeof(T) == 4) {
    _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << n) - 1), v);
  } else {
    _mm512_mask_storeu_pd(p, static_cast<__mmask8>((1u << n) - 1), v);
  }
#else
  std::memcpy(p, &v, n * sizeof(T));
#endif
}
// Lanes [0, n) all-ones, the rest 0.
template <class T> LOSSKIT_INLINE Mask<T> first_lanes(std::size_t n) {
  Mask<T> m;
  for (std::size_t i = 0; i < kLanes<T>; ++i) m[i] = i < n ? -1 : 0;
  return m;
}

template <class M> LOSSKIT_INLINE bool any(M m) {
  M zero = {};
  bool r = false;
  for (std::size_t i = 0; i < sizeof(M) / sizeof(m[0]); ++i) r |= (m[i] != zero[i]);
  return r;
}

// Adds the lanes of v (float or double) into float64 accumulators in a fixed lane order.
LOSSKIT_INLINE void accumulate(VecF64& lo, VecF64& /*hi*/, Vec<double> v) { lo += v; }
LOSSKIT_INLINE void accumulate(VecF64& lo, VecF64& hi, Vec<float> v) {
#if defined(__AVX512F__)
  lo += __builtin_convertvector(__builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7), VecF64);
  hi += __builtin_convertvector(__builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15), VecF64);
#elif defined(__AVX2__)
  lo += __builtin_convertvector(__builtin_shufflevector(v, v, 0, 1, 2, 3), VecF64);
  hi += __builtin_convertvector(__builtin_shufflevector(v, v, 4, 5, 6, 7), VecF64);
#else
  lo += __builtin_convertvector(__builtin_shufflevector(v, v, 0, 1), VecF64);
  hi += __builtin_convertvector(__builtin_shufflevector(v, v, 2, 3), VecF64);
#endif
}
// Sum of the lanes, always in the same order.
LOSSKIT_INLINE double horizontal_sum(VecF64 v) {
  double s = 0;
  for (std::size_t i = 0; i < kLanes<double>; ++i) s += v[i];
  return s;
}

}  // namespace losskit::LOSSKIT_ISA
