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
#include <type_traits>
#include <utility>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

#ifndef LOSSKIT_ISA
#error "define LOSSKIT_ISA (the namespace of this instruction set's copy of the kernels)"
#endif

#define LOSSKIT_INLINE inline __attribute__((always_inline))

namespace losskit::LOSSKIT_ISA {

// Vector widths, per element type: the ISA's natural width by default. The build can pick
// another per type (CMake LOSSKIT_AVX512_F32_BYTES): on AMD Zen 4, which splits 512-bit work
// in two halves, 256-bit float32 vectors were tried and measured 1.3-1.5x slower on the real
// loss kernels (docs/ARCHITECTURE.md, "Vector widths"), so 512 bits stays the default.
#if defined(__AVX512F__)
#define LOSSKIT_DEFAULT_F32_BYTES 64
#define LOSSKIT_DEFAULT_F64_BYTES 64
#elif defined(__AVX2__)
#define LOSSKIT_DEFAULT_F32_BYTES 32
#define LOSSKIT_DEFAULT_F64_BYTES 32
#else
#define LOSSKIT_DEFAULT_F32_BYTES 16
#define LOSSKIT_DEFAULT_F64_BYTES 16
#endif
#ifndef LOSSKIT_F32_BYTES
#define LOSSKIT_F32_BYTES LOSSKIT_DEFAULT_F32_BYTES
#endif
#ifndef LOSSKIT_F64_BYTES
#define LOSSKIT_F64_BYTES LOSSKIT_DEFAULT_F64_BYTES
#endif
// One lane per vector (4 and 8 bytes): the scalar copy of the definitions behind the public
// per-point functions (losskit/point.hpp), compiled by the user's compiler with the user's
// flags. One-lane vectors keep every lane-wise operation of the definitions as written; the
// ISA-specific intrinsics below are for full vectors only.
#if LOSSKIT_F32_BYTES == 4 && LOSSKIT_F64_BYTES == 8
#define LOSSKIT_SCALAR_LANES 1
#else
#define LOSSKIT_SCALAR_LANES 0
#endif
#if defined(__AVX512F__) && !LOSSKIT_SCALAR_LANES
#define LOSSKIT_AVX512_VECTORS 1
#else
#define LOSSKIT_AVX512_VECTORS 0
#endif

template <class T> struct VecTraits;
template <> struct VecTraits<float> {
  typedef float type __attribute__((vector_size(LOSSKIT_F32_BYTES)));
  typedef std::int32_t mask __attribute__((vector_size(LOSSKIT_F32_BYTES)));
  using bits = std::int32_t;
  static constexpr int kMantissaBits = 23;
  static constexpr int kExponentBias = 127;
};
template <> struct VecTraits<double> {
  typedef double type __attribute__((vector_size(LOSSKIT_F64_BYTES)));
  typedef std::int64_t mask __attribute__((vector_size(LOSSKIT_F64_BYTES)));
  using bits = std::int64_t;
  static constexpr int kMantissaBits = 52;
  static constexpr int kExponentBias = 1023;
};

template <class T> using Vec = typename VecTraits<T>::type;
// Integer vector of the same lane count and width: comparison results and bit patterns.
template <class T> using Mask = typename VecTraits<T>::mask;
template <class T> inline constexpr std::size_t kLanes = sizeof(Vec<T>) / sizeof(T);

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
#if !defined(__FMA__)
  return a * b + c;
#elif LOSSKIT_SCALAR_LANES
  return Vec<float>{__builtin_fmaf(a[0], b[0], c[0])};
#elif LOSSKIT_F32_BYTES == 64
  return _mm512_fmadd_ps(a, b, c);
#elif LOSSKIT_F32_BYTES == 32
  return _mm256_fmadd_ps(a, b, c);
#else
  return _mm_fmadd_ps(a, b, c);
#endif
}
LOSSKIT_INLINE Vec<double> fma(Vec<double> a, Vec<double> b, Vec<double> c) {
#if !defined(__FMA__)
  return a * b + c;
#elif LOSSKIT_SCALAR_LANES
  return Vec<double>{__builtin_fma(a[0], b[0], c[0])};
#elif LOSSKIT_F64_BYTES == 64
  return _mm512_fmadd_pd(a, b, c);
#elif LOSSKIT_F64_BYTES == 32
  return _mm256_fmadd_pd(a, b, c);
#else
  return _mm_fmadd_pd(a, b, c);
#endif
}

LOSSKIT_INLINE Vec<float> sqrt(Vec<float> v) {
#if LOSSKIT_F32_BYTES == 64
  return _mm512_mask_sqrt_ps(v, static_cast<__mmask16>(-1), v);  // GCC 12 warns on the unmasked form
#elif LOSSKIT_F32_BYTES == 32
  return _mm256_sqrt_ps(v);
#elif defined(__SSE2__) && LOSSKIT_F32_BYTES == 16
  return _mm_sqrt_ps(v);
#else
  for (std::size_t i = 0; i < kLanes<float>; ++i) v[i] = __builtin_sqrtf(v[i]);
  return v;
#endif
}
LOSSKIT_INLINE Vec<double> sqrt(Vec<double> v) {
#if LOSSKIT_F64_BYTES == 64
  return _mm512_mask_sqrt_pd(v, static_cast<__mmask8>(-1), v);
#elif LOSSKIT_F64_BYTES == 32
  return _mm256_sqrt_pd(v);
#elif defined(__SSE2__) && LOSSKIT_F64_BYTES == 16
  return _mm_sqrt_pd(v);
#else
  for (std::size_t i = 0; i < kLanes<double>; ++i) v[i] = __builtin_sqrt(v[i]);
  return v;
#endif
}

// a > b ? a : b and a < b ? a : b: b when either is NaN (the x86 rule), one instruction each
// (GCC compiles the conditional form to a compare and a blend). min(hi, max(lo, x)) clamps x
// and keeps a NaN x. (512-bit: the masked forms, as for sqrt.)
template <bool kMax, class T> LOSSKIT_INLINE Vec<T> extreme_or_second(Vec<T> a, Vec<T> b) {
#if defined(__SSE2__) && !LOSSKIT_SCALAR_LANES
  if constexpr (sizeof(Vec<T>) == 64 && sizeof(T) == 4) {
    return kMax ? _mm512_maskz_max_ps(__mmask16(-1), a, b) : _mm512_maskz_min_ps(__mmask16(-1), a, b);
  } else if constexpr (sizeof(Vec<T>) == 64) {
    return kMax ? _mm512_maskz_max_pd(__mmask8(-1), a, b) : _mm512_maskz_min_pd(__mmask8(-1), a, b);
  } else if constexpr (sizeof(Vec<T>) == 32 && sizeof(T) == 4) {
    return kMax ? _mm256_max_ps(a, b) : _mm256_min_ps(a, b);
  } else if constexpr (sizeof(Vec<T>) == 32) {
    return kMax ? _mm256_max_pd(a, b) : _mm256_min_pd(a, b);
  } else if constexpr (sizeof(T) == 4) {
    return kMax ? _mm_max_ps(a, b) : _mm_min_ps(a, b);
  } else {
    return kMax ? _mm_max_pd(a, b) : _mm_min_pd(a, b);
  }
#else
  return (kMax ? a > b : a < b) ? a : b;
#endif
}
template <class T> LOSSKIT_INLINE Vec<T> max_or_second(Vec<T> a, Vec<T> b) {
  return extreme_or_second<true, T>(a, b);
}
template <class T> LOSSKIT_INLINE Vec<T> min_or_second(Vec<T> a, Vec<T> b) {
  return extreme_or_second<false, T>(a, b);
}

template <class T> LOSSKIT_INLINE Vec<T> load(const T* p) {
  Vec<T> v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
template <class T> LOSSKIT_INLINE void store(T* p, Vec<T> v) { std::memcpy(p, &v, sizeof(v)); }

// Lanes [0, n) read from p, the rest 0; never touches memory past p + n. n < kLanes<T>.
template <class T> LOSSKIT_INLINE Mask<T> first_lanes(std::size_t n);

template <class T> LOSSKIT_INLINE Vec<T> load_partial(const T* p, std::size_t n) {
#if defined(__AVX512VL__)
  const auto m = static_cast<__mmask16>((1u << n) - 1);
  if constexpr (sizeof(T) == 4) {
#if LOSSKIT_F32_BYTES == 64
    return _mm512_maskz_loadu_ps(m, p);
#else
    return _mm256_maskz_loadu_ps(__mmask8(m), p);
#endif
  } else {
#if LOSSKIT_F64_BYTES == 64
    return _mm512_maskz_loadu_pd(__mmask8(m), p);
#else
    return _mm256_maskz_loadu_pd(__mmask8(m), p);
#endif
  }
#elif defined(__AVX2__)
  // vmaskmov: lanes outside the mask are neither read (no fault) nor kept (0).
  if constexpr (sizeof(T) == 4) return _mm256_maskload_ps(p, (__m256i)first_lanes<T>(n));
  else return _mm256_maskload_pd(p, (__m256i)first_lanes<T>(n));
#else
  // n < kLanes<T>, so the modulo changes nothing; it tells GCC, which otherwise can derive a
  // wider n on a path that never runs and warn of an overflow.
  Vec<T> v = {};
  std::memcpy(&v, p, n % kLanes<T> * sizeof(T));
  return v;
#endif
}
template <class T> LOSSKIT_INLINE void store_partial(T* p, std::size_t n, Vec<T> v) {
#if defined(__AVX512VL__)
  const auto m = static_cast<__mmask16>((1u << n) - 1);
  if constexpr (sizeof(T) == 4) {
#if LOSSKIT_F32_BYTES == 64
    _mm512_mask_storeu_ps(p, m, v);
#else
    _mm256_mask_storeu_ps(p, __mmask8(m), v);
#endif
  } else {
#if LOSSKIT_F64_BYTES == 64
    _mm512_mask_storeu_pd(p, __mmask8(m), v);
#else
    _mm256_mask_storeu_pd(p, __mmask8(m), v);
#endif
  }
#elif defined(__AVX2__)
  if constexpr (sizeof(T) == 4) _mm256_maskstore_ps(p, (__m256i)first_lanes<T>(n), v);
  else _mm256_maskstore_pd(p, (__m256i)first_lanes<T>(n), v);
#else
  std::memcpy(p, &v, n % kLanes<T> * sizeof(T));  // n < kLanes<T>: see load_partial
#endif
}
// Lanes [0, n) all-ones, the rest 0: one compare against the lane indices.
template <class T, std::size_t... I> LOSSKIT_INLINE Vec<T> lane_indices(std::index_sequence<I...>) {
  return Vec<T>{T(I)...};
}
template <class T> LOSSKIT_INLINE Mask<T> first_lanes(std::size_t n) {
  return lane_indices<T>(std::make_index_sequence<kLanes<T>>()) < T(n);
}

// One vector of lanes [i, i + n) of every array: full or partial (masked) loads and stores.
template <class T, bool kPartial> struct Lanes {
  std::size_t i, n;
  LOSSKIT_INLINE Vec<T> ld(const T* p) const {
    if constexpr (kPartial) return load_partial<T>(p + i, n);
    else return load<T>(p + i);
  }
  LOSSKIT_INLINE void st(T* p, Vec<T> v) const {
    if constexpr (kPartial) store_partial<T>(p + i, n, v);
    else store<T>(p + i, v);
  }
  // v in the lanes inside [i, i + n), `fill` in those past it.
  LOSSKIT_INLINE Vec<T> keep(Vec<T> v, Vec<T> fill = Vec<T>{}) const {
    if constexpr (kPartial) return select<Vec<T>>(first_lanes<T>(n), v, fill);
    else return v;
  }
};

// body(lanes) over [begin, end) in vectors, the tail as one partial vector.
template <class T, class Body>
LOSSKIT_INLINE void vectors(std::size_t begin, std::size_t end, const Body& body) {
  std::size_t i = begin;
  for (; i + kLanes<T> <= end; i += kLanes<T>) body(Lanes<T, false>{i, kLanes<T>});
  if (i < end) body(Lanes<T, true>{i, end - i});
}

// f(std::bool_constant<b>{}...) for run-time flags b: a loop compiled once per combination
// instead of testing the flags once per vector. Returns what f returns.
template <class F> LOSSKIT_INLINE decltype(auto) with_flags(const F& f) { return f(); }
template <class F, class... Rest>
LOSSKIT_INLINE decltype(auto) with_flags(const F& f, bool flag, Rest... rest) {
  if (flag) return with_flags([&](auto... c) { return f(std::true_type{}, c...); }, rest...);
  return with_flags([&](auto... c) { return f(std::false_type{}, c...); }, rest...);
}

// The unsigned integer vector of M's shape. Integer lane arithmetic that can overflow is done
// there, where it wraps by definition: lanes that hold garbage (NaN's bits in a padding lane
// or an unselected branch, whose results are discarded) must not make the arithmetic undefined.
template <class M> struct UnsignedLanes {
  typedef std::make_unsigned_t<std::remove_cv_t<std::remove_reference_t<decltype(M{}[0])>>> lane;
  typedef lane type __attribute__((vector_size(sizeof(M))));
};
template <class M> using Unsigned = typename UnsignedLanes<M>::type;
template <class M> LOSSKIT_INLINE M wrapping_sub(M a, M b) { return M(Unsigned<M>(a) - Unsigned<M>(b)); }

// floor(n / 2) for integer lanes |n| < 2^29, with a logical shift on a biased value: AVX2 has
// no 64-bit arithmetic shift, and GCC would emulate one lane by lane.
template <class M> LOSSKIT_INLINE M half_floor(M n) {
  typedef Unsigned<M> UM;
  constexpr auto kBias = typename UnsignedLanes<M>::lane(1) << 30;
  return M(((UM(n) + kBias) >> 1) - (kBias >> 1));
}
// x >> shift for lanes known to be non-negative (a logical shift, native at every width).
template <class M> LOSSKIT_INLINE M shift_right_nonnegative(M n, int shift) {
  return M(Unsigned<M>(n) >> shift);
}

template <class M> LOSSKIT_INLINE bool any(M m) {
  M zero = {};
  bool r = false;
  for (std::size_t i = 0; i < sizeof(M) / sizeof(m[0]); ++i) r |= (m[i] != zero[i]);
  return r;
}

// Lane i takes lane i ^ S: swaps neighbouring groups of S lanes.
template <std::size_t S, class V, std::size_t... I>
LOSSKIT_INLINE V swap_groups(V v, std::index_sequence<I...>) {
  return __builtin_shufflevector(v, v, (I ^ S)...);
}
template <std::size_t S, class V> LOSSKIT_INLINE V swap_groups(V v) {
  return swap_groups<S>(v, std::make_index_sequence<sizeof(V) / sizeof(v[0])>());
}

// Horizontal max / sum by halving: log2(lanes) steps in a fixed order. The max skips NaN lanes
// (a > b is false for NaN); callers that need NaN get it through another path.
template <std::size_t S, class V> LOSSKIT_INLINE V max_steps(V v) {
  if constexpr (S == 0) {
    return v;
  } else {
    const V h = swap_groups<S>(v);
    return max_steps<S / 2>(h > v ? h : v);
  }
}
template <std::size_t S, class V> LOSSKIT_INLINE V sum_steps(V v) {
  if constexpr (S == 0) return v;
  else return sum_steps<S / 2>(v + swap_groups<S>(v));
}
template <class V> LOSSKIT_INLINE auto reduce_max(V v) {
  return max_steps<sizeof(V) / sizeof(v[0]) / 2>(v)[0];
}
template <class V> LOSSKIT_INLINE auto reduce_sum(V v) {
  return sum_steps<sizeof(V) / sizeof(v[0]) / 2>(v)[0];
}

// Sums vectors of T in float64 lanes, always in the same order (float32 data is widened first,
// so a block of float32 values sums to double precision).
// (Array drivers only: not built for scalar lanes.)
template <class T> struct Accumulator;
#if !LOSSKIT_SCALAR_LANES
template <> struct Accumulator<double> {
  Vec<double> lanes = {};
  LOSSKIT_INLINE void add(Vec<double> v) { lanes += v; }
  LOSSKIT_INLINE double sum() const {
    double s = 0;
    for (std::size_t i = 0; i < kLanes<double>; ++i) s += lanes[i];
    return s;
  }
};
template <> struct Accumulator<float> {
  // Two float64 vectors of half the float32 lane count each.
  typedef double Half __attribute__((vector_size(LOSSKIT_F32_BYTES)));
  Half lo = {}, hi = {};
  LOSSKIT_INLINE void add(Vec<float> v) {
#if LOSSKIT_F32_BYTES == 64
    // Spelled with intrinsics: GCC lowers the generic shuffle + convert to 10 instructions
    // (through xmm halves) instead of 3, a tenth of a nanosecond per element.
    // (Masked forms: GCC 12 warns about the unmasked ones' undefined pass-through operand.)
    const __mmask8 all = __mmask8(-1);
    lo += _mm512_maskz_cvtps_pd(all, __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7));
    hi += _mm512_maskz_cvtps_pd(
        all, _mm256_castpd_ps(_mm512_maskz_extractf64x4_pd(all, _mm512_castps_pd(v), 1)));
#elif LOSSKIT_F32_BYTES == 32
    lo += __builtin_convertvector(__builtin_shufflevector(v, v, 0, 1, 2, 3), Half);
    hi += __builtin_convertvector(__builtin_shufflevector(v, v, 4, 5, 6, 7), Half);
#else
    lo += __builtin_convertvector(__builtin_shufflevector(v, v, 0, 1), Half);
    hi += __builtin_convertvector(__builtin_shufflevector(v, v, 2, 3), Half);
#endif
  }
  LOSSKIT_INLINE double sum() const {
    double s = 0;
    for (std::size_t i = 0; i < kLanes<float> / 2; ++i) s += lo[i];
    for (std::size_t i = 0; i < kLanes<float> / 2; ++i) s += hi[i];
    return s;
  }
};
#endif

}  // namespace losskit::LOSSKIT_ISA
