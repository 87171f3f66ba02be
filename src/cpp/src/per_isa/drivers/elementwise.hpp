// The generic loop every elementwise loss runs through: dtype, reduction, sample_weight, output
// buffers, SIMD tails and threads are handled here once, for any per-point definition.
//
// Determinism: the array is cut into fixed blocks of kBlock elements whatever the thread count;
// each block sums its values in float64 lanes in a fixed order, and the block sums are added in
// block order after the (optional) parallel loop. So every thread count gives the same bits.
#pragma once

#include <cmath>
#include <limits>
#include <type_traits>
#include <utility>

#include "losskit/loss_types.hpp"
#include "losskit/definitions/point.hpp"
#include "parallel.hpp"
#include "losskit/simd/vec.hpp"

namespace losskit::LOSSKIT_ISA {


// The factor a reduction multiplies each weighted element by, w / denominator, as
// (w * pow2) * scale: pow2 is a power of two that brings the weights near 1 (exact, and normal
// in T even when the weights are subnormal or huge) and scale = 2^-e / (pow2 denominator) is
// rounded once. A plain 1 / denominator in T would overflow below ~3e-38 (float) or lose
// bits to the subnormals above ~1e38 (e.g. 1e5 weights of 1e36). Values are summed as
// l * (w * pow2) and divided by denominator * pow2 in double, so they keep their precision too.
// Unweighted calls use `scale` alone (1 / N or 1, pow2 = 1): their path is unchanged.
template <class T> struct Normaliser {
  T pow2 = 1, scale = 1;
  double value_divisor = 1;  // what the summed values are divided by
};
template <class T> Normaliser<T> normaliser(double denominator, bool averaged, bool weighted) {
  Normaliser<T> n;
  if (!averaged) return n;
  n.value_divisor = denominator;
  if (!weighted || !(denominator > 0) || std::isinf(denominator)) {
    n.scale = T(1 / denominator);  // 0 -> inf (0/0 = NaN gradients, as the mean's value)
    return n;
  }
  int e = 0;
  const double f = std::frexp(denominator, &e);  // denominator = f 2^e, f in [1/2, 1)
  // w * 2^-e <= denominator 2^-e < 1; keep 2^-e within T's normal exponents, the rest goes
  // into scale (which is then still far from overflow: |e| <= 1100).
  constexpr int kMinExp = std::numeric_limits<T>::min_exponent - 1;  // 2^kMinExp is normal
  constexpr int kMaxExp = std::numeric_limits<T>::max_exponent - 1;
  const int p = -e < kMinExp ? kMinExp : (-e > kMaxExp ? kMaxExp : -e);
  n.pow2 = T(std::ldexp(1.0, p));
  n.scale = T(std::ldexp(1 / f, -e - p));
  n.value_divisor = std::ldexp(denominator, p);
  return n;
}

struct BlockSummary {
  double sum = 0;
  bool bad = false;  // an argument outside its domain (the checking passes only)
};

// Arity-4 losses (LossInfo::arity) have two optional per-element operands and gradients for
// both; the block reads the operands when kOperands, and asks the loss for those gradients
// (template <bool kExtraGrads> eval(...)) only when kExtraGrads. kCurvature >= 0 (a Hessian
// policy) also writes the second derivative, scaled as the gradient.
inline constexpr int kNoCurvature = -1;
template <class Loss, class T, bool kWeighted, bool kValue, bool kGrad, bool kOperands = false,
          bool kExtraGrads = false, int kCurvature = kNoCurvature>
struct ElementwiseBlock {
  Loss loss;
  ElementwiseCall<T> c;
  Normaliser<T> norm;
  bool sum_value;  // reduction sum/mean: accumulate the (weighted) values

  // One vector at i: stores what is asked for and returns the value to sum (0 in lanes past
  // `lanes`, and everywhere when the values are not summed).
  LOSSKIT_INLINE Vec<T> vector(std::size_t i, std::size_t lanes) const {
    const bool partial = lanes < kLanes<T>;
    auto ld = [&](const T* p) { return partial ? load_partial<T>(p + i, lanes) : load<T>(p + i); };
    auto st = [&](T* p, Vec<T> v) {
      if (partial) store_partial<T>(p + i, lanes, v); else store<T>(p + i, v);
    };
    const Vec<T> x = ld(c.input), y = ld(c.target);
    Point<T> pt;
    if constexpr (Loss::kInfo.arity == 4 && kOperands) {
      pt = evaluate<kExtraGrads>(loss, x, y, ld(c.third), ld(c.fourth));
    } else if constexpr (Loss::kInfo.arity == 3) {
      pt = evaluate(loss, x, y, ld(c.third));
    } else {
      pt = evaluate<kExtraGrads>(loss, x, y);
    }
    Vec<T> w = splat<T>(1);
    // exact (see Normaliser); the weights themselves when not averaged (pow2 = 1)
    if constexpr (kWeighted) w = ld(c.sample_weight) * norm.pow2;
    Vec<T> summed = {};
    if constexpr (kValue) {
      Vec<T> v = pt.value;
      if constexpr (kWeighted) v *= w;
      if (c.value_out) st(c.value_out, v);
      if (sum_value) summed = partial ? select<Vec<T>>(first_lanes<T>(lanes), v, summed) : v;
    }
    if constexpr (kGrad) {
      const Vec<T> s = kWeighted ? w * norm.scale : splat<T>(norm.scale);
      st(c.grad_out, pt.grad * s);
      if constexpr (kCurvature != kNoCurvature) {
        st(c.hess_out, curvature<static_cast<Hessian>(kCurvature)>(pt) * s);
      }
      if constexpr (Loss::kInfo.arity == 3 && kCurvature == kNoCurvature) {
        if (c.grad_third_out) st(c.grad_third_out, pt.grad_third * s);
      }
      if constexpr (Loss::kInfo.arity == 4 && kExtraGrads) {
        st(c.grad_third_out, pt.grad_third * s);
        st(c.grad_fourth_out, pt.grad_fourth * s);
      }
    }
    return summed;
  }

  BlockSummary operator()(std::size_t begin, std::size_t end) const {
    // The loop runs on a local copy: the stores (memcpy) may alias anything reachable through
    // `this`, so the compiler would otherwise reload every pointer and parameter, and
    // re-broadcast every constant, once per vector (30% of the time of the logistic losses).
    const ElementwiseBlock self = *this;
    Accumulator<T> acc;
    constexpr std::size_t L = kLanes<T>;
    std::size_t i = begin;
    if constexpr (sizeof(T) == 4) {
      // float32: two vectors' values are added in float32 before widening to the float64
      // accumulator, which halves the widening work (8% of the logistic losses' time); the
      // extra rounding is that of one two-term sum, and the order stays fixed.
      for (; i + 2 * L <= end; i += 2 * L) {
        const Vec<T> v0 = self.vector(i, L);
        const Vec<T> v1 = self.vector(i + L, L);
        if (kValue && sum_value) acc.add(v0 + v1);
      }
    }
    for (; i + L <= end; i += L) {
      const Vec<T> v = self.vector(i, L);
      if (kValue && sum_value) acc.add(v);
    }
    if (i < end) {
      const Vec<T> v = self.vector(i, end - i);
      if (kValue && sum_value) acc.add(v);
    }
    BlockSummary out;
    out.sum = acc.sum();
    return out;
  }
};

template <class Block>
BlockSummary run_blocks(const Block& block, std::size_t n, std::size_t block_size, int threads) {
  return combine_blocks<BlockSummary>(block, n, block_size, threads,
                                      [](BlockSummary t, const BlockSummary& b) {
                                        t.sum += b.sum;
                                        t.bad |= b.bad;
                                        return t;
                                      });
}

// Whether v lies outside d (NaN does not: it propagates as IEEE arithmetic says).
template <class T> LOSSKIT_INLINE Mask<T> outside(Vec<T> v, const Interval& d) {
  const T low = T(d.low), high = T(d.high);
  return (d.low_closed ? v < low : v <= low) | (d.high_closed ? v > high : v >= high);
}
// The set {-1, +1} (TargetCheck::signs); NaN again passes.
struct Signs {};
template <class T> LOSSKIT_INLINE Mask<T> outside(Vec<T> v, Signs) {
  return (v == v) & (v != T(1)) & (v != T(-1));
}

// The domain a definition checks its targets against (TargetCheck::domain): its parameters'
// `target_domain()` where it has one, else LossInfo::target_domain.
template <class Loss, class = void> struct HasTargetDomain : std::false_type {};
template <class Loss>
struct HasTargetDomain<Loss, std::void_t<decltype(std::declval<const Loss&>().target_domain())>>
    : std::true_type {};
template <class Loss> Interval checked_target_domain(const Loss& loss) {
  if constexpr (HasTargetDomain<Loss>::value) return loss.target_domain();
  else return Loss::kInfo.target_domain;
}

// sum(p) and whether any p lies outside d (an Interval or Signs), in the same fixed blocks as
// the kernels (the sum is the weighted mean's denominator, needed before the main pass scales
// the gradient by it).
template <class T, class Domain>
BlockSummary sum_and_check(const T* p, std::size_t n, const Domain& d) {
  auto block = [p, &d](std::size_t begin, std::size_t end) {
    Accumulator<T> acc;
    Mask<T> bad = {};
    std::size_t i = begin;
    for (; i + kLanes<T> <= end; i += kLanes<T>) {
      const Vec<T> v = load<T>(p + i);
      bad |= outside<T>(v, d);
      acc.add(v);
    }
    if (i < end) {
      const Vec<T> v = load_partial<T>(p + i, end - i);
      bad |= outside<T>(v, d) & first_lanes<T>(end - i);
      acc.add(v);
    }
    BlockSummary out;
    out.sum = acc.sum();
    out.bad = any(bad);
    return out;
  };
  return run_blocks(block, n, kBlock, threads_for(n, kParallelMinStreaming));
}

template <class T, class Domain>
std::size_t first_outside(const T* p, std::size_t n, const Domain& d) {
  for (std::size_t i = 0; i < n; ++i)
    if (any(outside<T>(splat<T>(p[i]), d))) return i;
  return n;
}

template <class Loss, class T, bool kWeighted, bool kValue, bool kGrad, bool kOperands = false,
          bool kExtraGrads = false, int kCurvature = kNoCurvature>
BlockSummary run_variant(const Loss& loss, const ElementwiseCall<T>& c,
                         const Normaliser<T>& norm) {
  const ElementwiseBlock<Loss, T, kWeighted, kValue, kGrad, kOperands, kExtraGrads, kCurvature> block{
      loss, c, norm, c.compute_value && c.reduction != Reduction::none};
  return run_blocks(block, c.size, kBlock, threads_for(c.size, kParallelMinStreaming));
}

template <class Loss, class T, bool kWeighted, bool kOperands = false>
BlockSummary run_weighted(const Loss& loss, const ElementwiseCall<T>& c,
                          const Normaliser<T>& norm) {
  const bool value = c.compute_value && (c.reduction != Reduction::none || c.value_out);
  if constexpr (Loss::kInfo.arity == 4) {
    // Arity 4: both operands or neither; both extra gradients or neither (with grad_out).
    if (!kOperands && c.third)
      return run_weighted<Loss, T, kWeighted, true>(loss, c, norm);
  }
  if (c.hess_out) {  // gradient and curvature (only the policies the loss offers are built)
    constexpr const LossInfo& info = Loss::kInfo;
    constexpr auto kExact = static_cast<int>(Hessian::exact);
    constexpr auto kIrls = static_cast<int>(Hessian::irls);
    constexpr auto kPositive = static_cast<int>(Hessian::positive);
    if constexpr (offers(info, Hessian::irls)) {
      if (c.hessian == Hessian::irls)
        return run_variant<Loss, T, kWeighted, false, true, kOperands, false, kIrls>(loss, c, norm);
    }
    if constexpr (offers(info, Hessian::positive)) {
      if (c.hessian == Hessian::positive)
        return run_variant<Loss, T, kWeighted, false, true, kOperands, false, kPositive>(loss, c,
                                                                                         norm);
    }
    return run_variant<Loss, T, kWeighted, false, true, kOperands, false, kExact>(loss, c, norm);
  }
  if constexpr (Loss::kInfo.arity == 4) {
    if (c.grad_out && c.grad_third_out && c.grad_fourth_out) {
      if (value) return run_variant<Loss, T, kWeighted, true, true, kOperands, true>(loss, c, norm);
      return run_variant<Loss, T, kWeighted, false, true, kOperands, true>(loss, c, norm);
    }
  }
  if (value && c.grad_out)
    return run_variant<Loss, T, kWeighted, true, true, kOperands>(loss, c, norm);
  if (c.grad_out) return run_variant<Loss, T, kWeighted, false, true, kOperands>(loss, c, norm);
  return run_variant<Loss, T, kWeighted, true, false, kOperands>(loss, c, norm);
}

// Sample weights: non-negative (inf included).
inline constexpr Interval kWeightDomain{0, kInf, true, true};

template <template <class> class LossTemplate, class T>
ElementwiseResult evaluate_elementwise(const LossParams& params, const ElementwiseCall<T>& c) {
  using Loss = LossTemplate<T>;
  constexpr const LossInfo& info = Loss::kInfo;
  const std::size_t n = c.size;
  ElementwiseResult result{0, BadArgument::none, 0};
  // Every argument with a domain is checked before anything is written (one read of it; the
  // weights' pass also sums them for a weighted mean).
  auto refuse = [&](BadArgument what, const T* p, const auto& d) {
    result.bad_argument = what;
    result.bad_index = first_outside<T>(p, n, d);
    if constexpr (std::is_same_v<std::decay_t<decltype(d)>, Interval>) result.domain = d;
    return result;
  };
  const Loss loss(params);
  double denominator = c.reduction == Reduction::batchmean ? double(c.batch_size) : double(n);
  if (c.sample_weight) {
    const BlockSummary ws = sum_and_check<T>(c.sample_weight, n, kWeightDomain);
    if (ws.bad) return refuse(BadArgument::sample_weight, c.sample_weight, kWeightDomain);
    // batchmean with weights: sum(w l) over the samples' total weight, the weights' sum over
    // the elements of a sample (n / batch_size of them; unit weights give batch_size back).
    if (c.reduction == Reduction::mean || (c.reduction == Reduction::batchmean && n == 0))
      denominator = ws.sum;
    else if (c.reduction == Reduction::batchmean)
      denominator = ws.sum / (double(n) / double(c.batch_size));
  }
  if constexpr (!info.input_domain.is_everything()) {
    if (sum_and_check<T>(c.input, n, info.input_domain).bad)
      return refuse(BadArgument::input, c.input, info.input_domain);
  }
  if constexpr (info.arity == 3 && !info.third_domain.is_everything()) {
    if (sum_and_check<T>(c.third, n, info.third_domain).bad)
      return refuse(BadArgument::third, c.third, info.third_domain);
  }
  if constexpr (info.target_check == TargetCheck::signs) {
    if (sum_and_check<T>(c.target, n, Signs{}).bad)
      return refuse(BadArgument::target, c.target, Signs{});
  } else if constexpr (info.target_check == TargetCheck::domain) {
    const Interval d = checked_target_domain(loss);
    if (!d.is_everything() && sum_and_check<T>(c.target, n, d).bad)
      return refuse(BadArgument::target, c.target, d);
  }
  const bool averaged = c.reduction == Reduction::mean || c.reduction == Reduction::batchmean;
  const Normaliser<T> norm = normaliser<T>(denominator, averaged, c.sample_weight != nullptr);
  const BlockSummary s = c.sample_weight ? run_weighted<Loss, T, true>(loss, c, norm)
                                         : run_weighted<Loss, T, false>(loss, c, norm);
  if (c.compute_value && !c.hess_out && c.reduction != Reduction::none)
    result.value = averaged ? s.sum / norm.value_divisor : s.sum;
  return result;
}

}  // namespace losskit::LOSSKIT_ISA
