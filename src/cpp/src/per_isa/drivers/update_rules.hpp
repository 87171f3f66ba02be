// Update rules, clipping, penalties and gathering, written once over Vec<T> and compiled per ISA.
//
// Every update rule is one pass: load param, grad and state, compute, store param and state.
// The per-element arithmetic follows torch.optim's single-tensor path operation by operation
// (each PyTorch in-place op rounds once; `a.add(b, alpha=s)` is fma(b, s, a) in ATen's
// vectorized CPU kernels, addcmul is fma(s * b, c, a), addcdiv is a + (s * b) / c, lerp is
// fma(w, end - a, a) for |w| < 0.5 and fma(w - 1, end - a, end) otherwise). On the sse2 baseline
// fma has two roundings. Options that change which arrays are touched, or that PyTorch skips
// when zero (weight decay: 0 * inf would be NaN), are compile-time variants.
//
// Threads: the elementwise rules have no cross-element dependence, so any split gives the same
// bits; the reductions use fixed kBlock blocks whose float64 partial results are combined in
// block order.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstring>
#include <tuple>
#include <type_traits>
#include <vector>

#include "kernel_table.hpp"
#include "parallel.hpp"
#include "losskit/simd/vec.hpp"

namespace losskit::LOSSKIT_ISA {

// body over [0, n): one thread below the streaming threshold, else kBlock blocks on the team.
template <class T, class Body> void for_each_vector(std::size_t n, const Body& body) {
  const int threads = threads_for(n, kParallelMinStreaming);
  if (threads <= 1) {
    vectors<T>(0, n, body);
    return;
  }
  const std::size_t nblocks = (n + kBlock - 1) / kBlock;
  parallel_for(threads, nblocks, [&](std::size_t b) {
    vectors<T>(b * kBlock, b + 1 == nblocks ? n : (b + 1) * kBlock, body);
  });
}

// Two float64 partial results per block, combined in block order.
struct Pair {
  double a = 0, b = 0;
};
template <class Block, class Combine>
Pair reduce_blocks(std::size_t n, const Block& block, const Combine& combine) {
  return combine_blocks<Pair>(block, n, kBlock, threads_for(n, kParallelMinStreaming), combine);
}

// -x where the mask holds the sign bit, x otherwise (maximize: exact negation).
template <class T> LOSSKIT_INLINE Mask<T> sign_mask(bool negate) {
  using B = typename VecTraits<T>::bits;
  return Mask<T>{} + (negate ? B(B(1) << (8 * sizeof(T) - 1)) : B(0));
}
template <class T> LOSSKIT_INLINE Vec<T> flip(Vec<T> x, Mask<T> m) {
  return from_bits<T>(as_bits<T>(x) ^ m);
}

// ATen's lerp(start, end, w) for a scalar weight (w already rounded to T).
template <class T> struct Lerp {
  T coeff;     // w, or w - 1 for |w| >= 0.5
  bool small;  // |w| < 0.5: the base is start, else end
  explicit Lerp(T w) : coeff(std::abs(w) < T(0.5) ? w : w - T(1)), small(std::abs(w) < T(0.5)) {}
  LOSSKIT_INLINE Vec<T> operator()(Vec<T> start, Vec<T> end) const {
    return fma(splat<T>(coeff), end - start, small ? start : end);
  }
};

// NaN-propagating elementwise maximum (torch.maximum).
template <class T> LOSSKIT_INLINE Vec<T> maximum(Vec<T> a, Vec<T> b) {
  return select<Vec<T>>((a > b) | (a != a), a, b);
}

// ---- update rules ------------------------------------------------------------------------
// Each rule is a policy over one vector of elements: its constructor splats the per-step
// scalars and takes its state pointers, variants() lists the run-time options that become
// compile-time variants, and update(L, p, g, variants...) loads and stores its state and
// returns the new parameter. The driver below does what every rule shares: one pass, the
// gradient's sign (maximize) and the L2 weight decay, the parameter's load and store.
template <class Rule, class T>
void update_kernel(const typename Rule::Step& s, T* param, const T* grad, const State<T>& state,
                   std::size_t n) {
  const Rule rule(s, state);
  const Mask<T> neg = sign_mask<T>(s.maximize);
  const Vec<T> wd = splat<T>(T(s.weight_decay));
  std::apply([&](auto... variants) {
    with_flags([&](auto kDecay, auto... kVariants) {
      for_each_vector<T>(n, [&](const auto& L) {
        const Vec<T> p = L.ld(param);
        Vec<T> g = flip<T>(L.ld(grad), neg);
        if constexpr (kDecay) g = fma(p, wd, g);  // grad.add(param, alpha=weight_decay)
        L.st(param, rule.update(L, p, g, kVariants...));
      });
    }, s.weight_decay != 0, variants...);
  }, rule.variants());
}

template <class T> struct SgdUpdate {
  using Step = SgdStep;
  Vec<T> mom, keep, neg_lr;
  T* buf;
  bool momentum, nesterov, init_buffer;
  SgdUpdate(const SgdStep& s, const State<T>& state)
      : mom(splat<T>(T(s.momentum))), keep(splat<T>(T(1 - s.dampening))),
        neg_lr(splat<T>(T(-s.lr))), buf(state[StateName::momentum_buffer]),
        momentum(s.momentum != 0), nesterov(s.nesterov),
        init_buffer((state.fresh & state_bit(StateName::momentum_buffer)) != 0) {}
  std::tuple<bool, bool, bool> variants() const {
    return {momentum, momentum && nesterov, momentum && init_buffer};
  }
  template <class L, class KMomentum, class KNesterov, class KInit>
  LOSSKIT_INLINE Vec<T> update(const L& lanes, Vec<T> p, Vec<T> g, KMomentum, KNesterov,
                               KInit) const {
    if constexpr (KMomentum::value) {
      Vec<T> b;
      if constexpr (KInit::value) {
        b = g;  // PyTorch's first step: buf = clone(grad)
      } else {
        b = lanes.ld(buf) * mom;  // buf.mul_(momentum)
        b = fma(g, keep, b);      //    .add_(grad, alpha=1 - dampening)
      }
      lanes.st(buf, b);
      if constexpr (KNesterov::value) g = fma(b, mom, g);  // grad.add(buf, alpha=momentum)
      else g = b;
    }
    return fma(g, neg_lr, p);  // param.add_(grad, alpha=-lr)
  }
};

template <class T> struct AdamUpdate {
  using Step = AdamStep;
  Lerp<T> lerp;
  Vec<T> decay, b2, one_minus_b2, bc2, eps, neg_step;
  T *exp_avg, *exp_avg_sq, *max_exp_avg_sq;
  bool decoupled, amsgrad;
  AdamUpdate(const AdamStep& s, const State<T>& state)
      : lerp(T(s.lerp_weight)), decay(splat<T>(T(s.decay_factor))), b2(splat<T>(T(s.beta2))),
        one_minus_b2(splat<T>(T(s.one_minus_beta2))), bc2(splat<T>(T(s.bc2_sqrt))),
        eps(splat<T>(T(s.eps))), neg_step(splat<T>(T(s.neg_step_size))),
        exp_avg(state[StateName::exp_avg]), exp_avg_sq(state[StateName::exp_avg_sq]),
        max_exp_avg_sq(state[StateName::max_exp_avg_sq]), decoupled(s.decay_factor != 1),
        amsgrad(s.amsgrad) {}
  std::tuple<bool, bool> variants() const { return {decoupled, amsgrad}; }
  template <class L, class KDecoupled, class KAmsgrad>
  LOSSKIT_INLINE Vec<T> update(const L& lanes, Vec<T> p, Vec<T> g, KDecoupled, KAmsgrad) const {
    // The L2 form (the driver's) and the decoupled form never both apply.
    if constexpr (KDecoupled::value) p = p * decay;  // param.mul_(1 - lr * weight_decay)
    const Vec<T> m = lerp(lanes.ld(exp_avg), g);     // exp_avg.lerp_(grad, 1 - beta1)
    Vec<T> v = lanes.ld(exp_avg_sq) * b2;            // exp_avg_sq.mul_(beta2)
    v = fma(one_minus_b2 * g, g, v);                 //    .addcmul_(grad, grad, value=1 - beta2)
    lanes.st(exp_avg, m);
    lanes.st(exp_avg_sq, v);
    if constexpr (KAmsgrad::value) {
      v = maximum<T>(lanes.ld(max_exp_avg_sq), v);  // torch.maximum(max_exp_avg_sq, exp_avg_sq)
      lanes.st(max_exp_avg_sq, v);
    }
    const Vec<T> denom = sqrt(v) / bc2 + eps;  // (v.sqrt() / bias_correction2_sqrt).add_(eps)
    return p + neg_step * m / denom;           // param.addcdiv_(m, denom, value=-step_size)
  }
};

template <class T> struct RmspropUpdate {
  using Step = RmspropStep;
  Lerp<T> lerp;
  Vec<T> alpha, one_minus_alpha, eps, mom, neg_lr;
  T *square_avg, *grad_avg, *buf;
  bool centered, momentum;
  RmspropUpdate(const RmspropStep& s, const State<T>& state)
      : lerp(T(s.one_minus_alpha)), alpha(splat<T>(T(s.alpha))),
        one_minus_alpha(splat<T>(T(s.one_minus_alpha))), eps(splat<T>(T(s.eps))),
        mom(splat<T>(T(s.momentum))), neg_lr(splat<T>(T(-s.lr))),
        square_avg(state[StateName::square_avg]), grad_avg(state[StateName::grad_avg]),
        buf(state[StateName::momentum_buffer]), centered(s.centered), momentum(s.momentum > 0) {}
  std::tuple<bool, bool> variants() const { return {centered, momentum}; }
  template <class L, class KCentered, class KMomentum>
  LOSSKIT_INLINE Vec<T> update(const L& lanes, Vec<T> p, Vec<T> g, KCentered, KMomentum) const {
    Vec<T> sq = lanes.ld(square_avg) * alpha;  // square_avg.mul_(alpha)
    sq = fma(one_minus_alpha * g, g, sq);      //    .addcmul_(grad, grad, value=1 - alpha)
    lanes.st(square_avg, sq);
    Vec<T> avg;
    if constexpr (KCentered::value) {
      const Vec<T> ga = lerp(lanes.ld(grad_avg), g);  // grad_avg.lerp_(grad, 1 - alpha)
      lanes.st(grad_avg, ga);
      avg = sqrt(fma(-ga, ga, sq));  // square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
    } else {
      avg = sqrt(sq);
    }
    avg = avg + eps;
    if constexpr (KMomentum::value) {
      const Vec<T> b = lanes.ld(buf) * mom + g / avg;  // buf.mul_(momentum).addcdiv_(grad, avg)
      lanes.st(buf, b);
      return fma(b, neg_lr, p);  // param.add_(buf, alpha=-lr)
    } else {
      return p + neg_lr * g / avg;  // param.addcdiv_(grad, avg, value=-lr)
    }
  }
};

template <class T> struct AdagradUpdate {
  using Step = AdagradStep;
  Vec<T> eps, neg_clr;
  T* sum;
  AdagradUpdate(const AdagradStep& s, const State<T>& state)
      : eps(splat<T>(T(s.eps))), neg_clr(splat<T>(T(s.neg_clr))), sum(state[StateName::sum]) {}
  std::tuple<> variants() const { return {}; }
  template <class L> LOSSKIT_INLINE Vec<T> update(const L& lanes, Vec<T> p, Vec<T> g) const {
    const Vec<T> acc = fma(g, g, lanes.ld(sum));  // state_sum.addcmul_(grad, grad, value=1)
    lanes.st(sum, acc);
    return p + neg_clr * g / (sqrt(acc) + eps);  // addcdiv_(grad, std, value=-clr)
  }
};

// ---- norms, scaling, clamping ---------------------------------------------------------------
template <class T> double norm_kernel(NormType type, const T* x, std::size_t n) {
  if (type == NormType::inf) {
    const Pair r = reduce_blocks(n, [&](std::size_t begin, std::size_t end) {
      Vec<T> m = {};
      Mask<T> nan = {};
      vectors<T>(begin, end, [&](const auto& L) {
        const Vec<T> a = abs<T>(L.ld(x));  // padding lanes are 0
        nan |= a != a;
        m = select<Vec<T>>(a > m, a, m);
      });
      double best = 0;
      for (std::size_t i = 0; i < kLanes<T>; ++i) best = std::max(best, double(m[i]));
      return Pair{best, any(nan) ? 1.0 : 0.0};
    }, [](Pair t, Pair p) { return Pair{std::max(t.a, p.a), t.b + p.b}; });
    return r.b > 0 ? __builtin_nan("") : r.a;
  }
  const bool squares = type == NormType::l2;
  const Pair r = reduce_blocks(n, [&](std::size_t begin, std::size_t end) {
    Accumulator<T> acc;
    vectors<T>(begin, end, [&](const auto& L) {
      const Vec<T> v = L.ld(x);
      acc.add(squares ? v * v : abs<T>(v));
    });
    return Pair{acc.sum(), 0};
  }, [](Pair t, Pair p) { return Pair{t.a + p.a, 0}; });
  return r.a;
}

template <class T> void scale_kernel(T* x, std::size_t n, T factor) {
  const Vec<T> f = splat<T>(factor);
  for_each_vector<T>(n, [&](const auto& L) { L.st(x, L.ld(x) * f); });
}

// clamp(x, lo, hi) as torch.clamp: NaN stays NaN.
template <class T> void clamp_kernel(T* x, std::size_t n, T lo, T hi) {
  const Vec<T> l = splat<T>(lo), h = splat<T>(hi);
  for_each_vector<T>(n, [&](const auto& L) {
    Vec<T> v = L.ld(x);
    v = select<Vec<T>>(v < l, l, v);
    v = select<Vec<T>>(v > h, h, v);
    L.st(x, v);
  });
}

// ---- penalties ---------------------------------------------------------------------------
template <class T>
double penalty_kernel(const PenaltyCoefficients& c, const T* w, T* grad, std::size_t n,
                      bool want_value) {
  const Vec<T> l1 = splat<T>(T(c.l1)), l2 = splat<T>(T(c.l2));
  if (grad && !want_value) {
    for_each_vector<T>(n, [&](const auto& L) {
      const Vec<T> v = L.ld(w);
      L.st(grad, fma(l2, v, l1 * sign<T>(v)));
    });
    return 0;
  }
  const Pair r = reduce_blocks(n, [&](std::size_t begin, std::size_t end) {
    Accumulator<T> abs_sum, sq_sum;
    vectors<T>(begin, end, [&](const auto& L) {
      const Vec<T> v = L.ld(w);
      abs_sum.add(abs<T>(v));
      sq_sum.add(v * v);
      if (grad) L.st(grad, fma(l2, v, l1 * sign<T>(v)));
    });
    return Pair{abs_sum.sum(), sq_sum.sum()};
  }, [](Pair t, Pair p) { return Pair{t.a + p.a, t.b + p.b}; });
  // Terms with a zero coefficient are left out (0 * inf would be NaN).
  double value = 0;
  if (c.l1 != 0) value += c.l1 * r.a;
  if (c.l2 != 0) value += 0.5 * c.l2 * r.b;
  return value;
}

// w = sign(w) * max(|w| - threshold, 0) / divisor; NaN stays NaN.
template <class T> void prox_kernel(T threshold, T divisor, T* w, std::size_t n) {
  const Vec<T> t = splat<T>(threshold), d = splat<T>(divisor), zero = splat<T>(0);
  for_each_vector<T>(n, [&](const auto& L) {
    const Vec<T> v = L.ld(w);
    Vec<T> a = abs<T>(v) - t;
    a = select<Vec<T>>(a < zero, zero, a);
    L.st(w, copysign<T>(a, v) / d);
  });
}

// ---- gather ------------------------------------------------------------------------------
// Rows are copied with inline 32-byte moves when the row size allows (no call per row), and
// the row a few indices ahead is prefetched: random rows of a large table are latency-bound.
inline std::size_t gather_kernel(const void* X, std::size_t rows, std::size_t row_bytes,
                                 const std::int64_t* indices, std::size_t count, void* out) {
  constexpr std::size_t kChunk = 512;      // indices per work item
  constexpr std::size_t kPrefetch = 8;     // rows ahead
  const char* src = static_cast<const char*>(X);
  char* dst = static_cast<char*>(out);
  const std::size_t nchunks = (count + kChunk - 1) / kChunk;
  auto chunk = [&](std::size_t c) -> std::size_t {
    const std::size_t begin = c * kChunk, end = std::min(count, begin + kChunk);
    std::size_t bad = count;
    for (std::size_t i = begin; i < end; ++i) {
      if (i + kPrefetch < end) {
        const std::uint64_t ahead = std::uint64_t(indices[i + kPrefetch]);
        if (ahead < rows) {
          const char* r = src + ahead * row_bytes;
          for (std::size_t o = 0; o < row_bytes; o += 64) __builtin_prefetch(r + o);
        }
      }
      const std::uint64_t k = std::uint64_t(indices[i]);  // negative -> huge -> out of range
      if (k >= rows) {
        if (bad == count) bad = i;
        continue;
      }
      const char* from = src + k * row_bytes;
      char* to = dst + i * row_bytes;
      if (row_bytes % 32 == 0) {
        typedef char Block32 __attribute__((vector_size(32), aligned(1)));
        for (std::size_t o = 0; o < row_bytes; o += 32) {
          Block32 v;
          std::memcpy(&v, from + o, 32);
          std::memcpy(to + o, &v, 32);
        }
      } else {
        std::memcpy(to, from, row_bytes);
      }
    }
    return bad;
  };
  const int threads = threads_for(count * row_bytes / 4, kParallelMinStreaming);
  if (threads <= 1) {
    for (std::size_t c = 0; c < nchunks; ++c) {
      const std::size_t b = chunk(c);
      if (b != count) {
        // keep copying the valid rows (documented: rows with a bad index are skipped)
        for (std::size_t d = c + 1; d < nchunks; ++d) chunk(d);
        return b;
      }
    }
    return count;
  }
  std::vector<std::size_t> first(nchunks, count);
  parallel_for(threads, nchunks, [&](std::size_t c) { first[c] = chunk(c); });
  for (std::size_t b : first)
    if (b != count) return b;
  return count;
}

template <class T> constexpr OptimKernels<T> optim_kernels() {
  return {&update_kernel<SgdUpdate<T>, T>,     &update_kernel<AdamUpdate<T>, T>,
          &update_kernel<RmspropUpdate<T>, T>, &update_kernel<AdagradUpdate<T>, T>,
          &norm_kernel<T>,                     &scale_kernel<T>,
          &clamp_kernel<T>,                    &penalty_kernel<T>,
          &prox_kernel<T>};
}

}  // namespace losskit::LOSSKIT_ISA
