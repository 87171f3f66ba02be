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

#include "losskit/losskit.hpp"
#include "definitions/point.hpp"
#include "parallel.hpp"
#include "simd/vec.hpp"

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
  bool bad_weight = false;
  bool bad_third = false;
  bool bad_input = false;
};

// Losses whose input has a domain (e.g. probabilities) declare kChecksInput and input_invalid.
template <class Loss, class = void> struct ChecksInput : std::false_type {};
template <class Loss>
struct ChecksInput<Loss, std::void_t<decltype(Loss::kChecksInput)>>
    : std::bool_constant<Loss::kChecksInput> {};

// Arity-4 losses (loss_list.hpp) have two optional per-element operands and gradients for
// both; the block reads the operands when kOperands, and asks the loss for those gradients
// (template <bool kExtraGrads> eval(...)) only when kExtraGrads.
template <class Loss, class T, bool kWeighted, bool kValue, bool kGrad, bool kOperands = false,
          bool kExtraGrads = false>
struct ElementwiseBlock {
  Loss loss;
  ElementwiseCall<T> c;
  Normaliser<T> norm;
  bool sum_value;  // reduction sum/mean: accumulate the (weighted) values

  // One vector at i: stores what is asked for and returns the value to sum (0 in lanes past
  // `lanes`, and everywhere when the values are not summed).
  LOSSKIT_INLINE Vec<T> vector(std::size_t i, std::size_t lanes, Mask<T>& bad_w, Mask<T>& bad_z,
                               Mask<T>& bad_x) const {
    const bool partial = lanes < kLanes<T>;
    auto ld = [&](const T* p) { return partial ? load_partial<T>(p + i, lanes) : load<T>(p + i); };
    auto st = [&](T* p, Vec<T> v) {
      if (partial) store_partial<T>(p + i, lanes, v); else store<T>(p + i, v);
    };
    const Vec<T> x = ld(c.input), y = ld(c.target);
    if constexpr (ChecksInput<Loss>::value) bad_x |= Loss::input_invalid(x);
    Point<T> pt;
    if constexpr (Loss::kArity == 4) {
      if constexpr (kOperands) {
        pt = loss.template eval<kExtraGrads>(x, y, ld(c.third), ld(c.fourth));
      } else {
        pt = loss.template eval<kExtraGrads>(x, y);
      }
    } else if constexpr (Loss::kArity == 3) {
      const Vec<T> z = ld(c.third);
      bad_z |= Loss::third_invalid(z);
      pt = loss(x, y, z);
    } else {
      pt = loss(x, y);
    }
    Vec<T> w = splat<T>(1);
    if constexpr (kWeighted) {
      const Vec<T> raw = ld(c.sample_weight);
      bad_w |= raw < T(0);
      w = raw * norm.pow2;  // exact (see Normaliser); raw when not averaged (pow2 = 1)
    }
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
      if constexpr (Loss::kArity == 3) {
        if (c.grad_third_out) st(c.grad_third_out, pt.grad_third * s);
      }
      if constexpr (Loss::kArity == 4 && kExtraGrads) {
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
    Mask<T> bad_w = {}, bad_z = {}, bad_x = {};
    constexpr std::size_t L = kLanes<T>;
    std::size_t i = begin;
    if constexpr (sizeof(T) == 4) {
      // float32: two vectors' values are added in float32 before widening to the float64
      // accumulator, which halves the widening work (8% of the logistic losses' time); the
      // extra rounding is that of one two-term sum, and the order stays fixed.
      for (; i + 2 * L <= end; i += 2 * L) {
        const Vec<T> v0 = self.vector(i, L, bad_w, bad_z, bad_x);
        const Vec<T> v1 = self.vector(i + L, L, bad_w, bad_z, bad_x);
        if (kValue && sum_value) acc.add(v0 + v1);
      }
    }
    for (; i + L <= end; i += L) {
      const Vec<T> v = self.vector(i, L, bad_w, bad_z, bad_x);
      if (kValue && sum_value) acc.add(v);
    }
    if (i < end) {
      const Vec<T> v = self.vector(i, end - i, bad_w, bad_z, bad_x);
      if (kValue && sum_value) acc.add(v);
    }
    return {acc.sum(), any(bad_w), any(bad_z), any(bad_x)};
  }
};

template <class Block>
BlockSummary run_blocks(const Block& block, std::size_t n, std::size_t block_size, int threads) {
  return combine_blocks<BlockSummary>(block, n, block_size, threads,
                                      [](BlockSummary t, const BlockSummary& b) {
                                        t.sum += b.sum;
                                        t.bad_weight |= b.bad_weight;
                                        t.bad_third |= b.bad_third;
                                        t.bad_input |= b.bad_input;
                                        return t;
                                      });
}

template <class T> std::size_t first_index(const T* p, std::size_t n, bool (*bad)(T)) {
  for (std::size_t i = 0; i < n; ++i)
    if (bad(p[i])) return i;
  return n;
}

// sum(w) and whether any w < 0, in the same fixed blocks (needed before the main pass for a
// weighted mean, whose gradient is scaled by 1/sum(w)).
template <class T> BlockSummary weight_sum(const T* w, std::size_t n) {
  auto block = [w](std::size_t begin, std::size_t end) {
    Accumulator<T> acc;
    Mask<T> bad = {};
    std::size_t i = begin;
    for (; i + kLanes<T> <= end; i += kLanes<T>) {
      const Vec<T> v = load<T>(w + i);
      bad |= v < T(0);
      acc.add(v);
    }
    if (i < end) {
      const Vec<T> v = load_partial<T>(w + i, end - i);
      bad |= v < T(0);
      acc.add(v);
    }
    return BlockSummary{acc.sum(), any(bad), false, false};
  };
  return run_blocks(block, n, kBlock, threads_for(n, kParallelMinStreaming));
}

template <class Loss, class T, bool kWeighted, bool kValue, bool kGrad, bool kOperands = false,
          bool kExtraGrads = false>
BlockSummary run_variant(const Loss& loss, const ElementwiseCall<T>& c,
                         const Normaliser<T>& norm) {
  const ElementwiseBlock<Loss, T, kWeighted, kValue, kGrad, kOperands, kExtraGrads> block{
      loss, c, norm, c.compute_value && c.reduction != Reduction::none};
  return run_blocks(block, c.size, kBlock, threads_for(c.size, kParallelMinStreaming));
}

template <class Loss, class T, bool kWeighted, bool kOperands = false>
BlockSummary run_weighted(const Loss& loss, const ElementwiseCall<T>& c,
                          const Normaliser<T>& norm) {
  const bool value = c.compute_value && (c.reduction != Reduction::none || c.value_out);
  if constexpr (Loss::kArity == 4) {
    // Arity 4: both operands or neither; both extra gradients or neither (with grad_out).
    if (!kOperands && c.third)
      return run_weighted<Loss, T, kWeighted, true>(loss, c, norm);
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

template <template <class> class LossTemplate, class T>
ElementwiseResult evaluate_elementwise(const LossParams& params, const ElementwiseCall<T>& c) {
  const LossTemplate<T> loss(params);
  const std::size_t n = c.size;
  ElementwiseResult result{0, BadArgument::none, 0};
  double denominator = c.reduction == Reduction::batchmean ? double(c.batch_size) : double(n);
  if (c.sample_weight && (c.reduction == Reduction::mean || c.reduction == Reduction::batchmean)) {
    const BlockSummary ws = weight_sum(c.sample_weight, n);
    if (ws.bad_weight) {
      result.bad_argument = BadArgument::sample_weight;
      result.bad_index = first_index<T>(c.sample_weight, n, [](T w) { return w < 0; });
      return result;
    }
    // batchmean with weights: sum(w l) over the samples' total weight, the weights' sum over
    // the elements of a sample (n / batch_size of them; unit weights give batch_size back).
    denominator = c.reduction == Reduction::mean || n == 0
                      ? ws.sum
                      : ws.sum / (double(n) / double(c.batch_size));
  }
  const bool averaged = c.reduction == Reduction::mean || c.reduction == Reduction::batchmean;
  const Normaliser<T> norm = normaliser<T>(denominator, averaged, c.sample_weight != nullptr);
  const BlockSummary s = c.sample_weight ? run_weighted<LossTemplate<T>, T, true>(loss, c, norm)
                                         : run_weighted<LossTemplate<T>, T, false>(loss, c, norm);
  if (s.bad_weight) {
    result.bad_argument = BadArgument::sample_weight;
    result.bad_index = first_index<T>(c.sample_weight, n, [](T w) { return w < 0; });
  } else if (s.bad_input) {
    result.bad_argument = BadArgument::input;
    if constexpr (ChecksInput<LossTemplate<T>>::value) {
      for (std::size_t i = 0; i < n; ++i) {
        if (any(LossTemplate<T>::input_invalid(splat<T>(c.input[i])))) {
          result.bad_index = i;
          break;
        }
      }
    }
  } else if (s.bad_third) {
    result.bad_argument = BadArgument::third;
    if constexpr (LossTemplate<T>::kArity == 3) {
      for (std::size_t i = 0; i < n; ++i) {
        if (any(LossTemplate<T>::third_invalid(splat<T>(c.third[i])))) {
          result.bad_index = i;
          break;
        }
      }
    }
  } else if (c.compute_value && c.reduction != Reduction::none) {
    result.value = averaged ? s.sum / norm.value_divisor : s.sum;
  }
  return result;
}

}  // namespace losskit::LOSSKIT_ISA
