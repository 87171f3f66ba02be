// losskit: update rules, gradient clipping, penalties, minibatch sampling. Public C++ API.
//
// Everything works in place on plain pointers and sizes, for float and double. The update rules
// follow torch.optim (its single-tensor path) step for step: the per-step scalars (bias
// corrections, decayed learning rates) are computed in double exactly as PyTorch computes them,
// each is rounded to the element type where PyTorch uses it as a scalar operand, and the
// per-element arithmetic is done in the same order, so trajectories match torch.optim to
// rounding. Each call is one pass over memory (threads above a size threshold); results never
// depend on the thread count. NaN in a gradient propagates into the parameter (and the state).
//
// Included by <losskit/losskit.hpp>.
#pragma once

#include <cstddef>
#include <cstdint>

namespace losskit {

// ---- update rules ------------------------------------------------------------------------
// An update rule is a policy struct: its hyperparameters (double), and state_layout(), which
// state arrays it reads and writes and how each starts. One generic step() runs any rule on one
// parameter array; the caller owns the state arrays (PyTorch's state names below) and checks
// the hyperparameters first (check(rule)): kernels assume them valid. losskit/optimizer.hpp
// holds a rule with its state and checks everything.

// PyTorch's per-parameter state names.
enum class StateName : int {
  momentum_buffer,
  exp_avg,
  exp_avg_sq,
  max_exp_avg_sq,
  square_avg,
  grad_avg,
  sum,
};
inline constexpr int kNumStateNames = 7;
const char* state_name(StateName name);  // "momentum_buffer", ...

// Which state arrays a rule uses (bit k for StateName k) and how each starts: taken from the
// first gradient (SGD's momentum buffer, as PyTorch clones it), else filled with `fill`.
// `counts_steps`: the rule keeps PyTorch's state "step".
struct StateLayout {
  unsigned used = 0;
  unsigned from_first_grad = 0;
  double fill = 0;
  bool counts_steps = false;
  constexpr bool has(StateName s) const { return used >> int(s) & 1u; }
};
constexpr unsigned state_bit(StateName s) { return 1u << int(s); }

// The state arrays of one parameter, each of its n elements, indexed by StateName (null where
// the rule does not use it). `fresh` (state bits): from_first_grad arrays that hold no value
// yet; the step only writes them.
template <class T> struct State {
  T* arrays[kNumStateNames] = {};
  unsigned fresh = 0;
  T* operator[](StateName s) const { return arrays[int(s)]; }
  T*& operator[](StateName s) { return arrays[int(s)]; }
};

// torch.optim.SGD:
//   g = grad (negated if maximize) + weight_decay * param
//   momentum != 0:  buf = g on the first step (momentum_buffer fresh), else
//                   buf = momentum * buf + (1 - dampening) * g;
//                   g = nesterov ? g + momentum * buf : buf
//   param -= lr * g
struct Sgd {
  double lr = 1e-3;
  double momentum = 0;
  double dampening = 0;
  double weight_decay = 0;
  bool nesterov = false;
  bool maximize = false;
  constexpr StateLayout state_layout() const {
    const unsigned buf = momentum != 0 ? state_bit(StateName::momentum_buffer) : 0u;
    return {buf, buf, 0, false};
  }
};

// torch.optim.Adam / AdamW (decoupled_weight_decay), step t = 1, 2, ...:
//   decoupled: param *= 1 - lr * weight_decay;  else g += weight_decay * param
//   m = lerp(m, g, 1 - beta1);  v = beta2 * v + (1 - beta2) * g * g
//   amsgrad: vmax = max(vmax, v), used for v below
//   param -= (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
struct Adam {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;
  bool amsgrad = false;
  bool maximize = false;
  bool decoupled_weight_decay = false;  // AdamW
  constexpr StateLayout state_layout() const {
    return {state_bit(StateName::exp_avg) | state_bit(StateName::exp_avg_sq) |
                (amsgrad ? state_bit(StateName::max_exp_avg_sq) : 0u),
            0u, 0, true};
  }
};

// torch.optim.RMSprop:
//   g = grad (negated if maximize) + weight_decay * param
//   sq = alpha * sq + (1 - alpha) * g * g
//   centered: ga = lerp(ga, g, 1 - alpha); avg = sqrt(sq - ga * ga) + eps;  else sqrt(sq) + eps
//   momentum > 0: buf = momentum * buf + g / avg; param -= lr * buf;  else param -= lr * g / avg
struct Rmsprop {
  double lr = 1e-2;
  double alpha = 0.99;
  double eps = 1e-8;
  double weight_decay = 0;
  double momentum = 0;
  bool centered = false;
  bool maximize = false;
  constexpr StateLayout state_layout() const {
    return {state_bit(StateName::square_avg) |
                (centered ? state_bit(StateName::grad_avg) : 0u) |
                (momentum > 0 ? state_bit(StateName::momentum_buffer) : 0u),
            0u, 0, true};
  }
};

// torch.optim.Adagrad, step t = 1, 2, ...:
//   g = grad (negated if maximize) + weight_decay * param;  clr = lr / (1 + (t - 1) * lr_decay)
//   sum += g * g;  param -= clr * g / (sqrt(sum) + eps)
// (sum starts at initial_accumulator_value.)
struct Adagrad {
  double lr = 1e-2;
  double lr_decay = 0;
  double weight_decay = 0;
  double initial_accumulator_value = 0;
  double eps = 1e-10;
  bool maximize = false;
  constexpr StateLayout state_layout() const {
    return {state_bit(StateName::sum), 0u, initial_accumulator_value, true};
  }
};

// The hyperparameters of each rule by name, for the front ends that set them by name (the
// Python classes, the C ABI): f(name, pointer to member), in declaration order.
template <class F> void for_each_hyperparameter(Sgd*, F f) {
  f("lr", &Sgd::lr);
  f("momentum", &Sgd::momentum);
  f("dampening", &Sgd::dampening);
  f("weight_decay", &Sgd::weight_decay);
  f("nesterov", &Sgd::nesterov);
  f("maximize", &Sgd::maximize);
}
template <class F> void for_each_hyperparameter(Adam*, F f) {
  f("lr", &Adam::lr);
  f("beta1", &Adam::beta1);
  f("beta2", &Adam::beta2);
  f("eps", &Adam::eps);
  f("weight_decay", &Adam::weight_decay);
  f("amsgrad", &Adam::amsgrad);
  f("maximize", &Adam::maximize);
  f("decoupled_weight_decay", &Adam::decoupled_weight_decay);
}
template <class F> void for_each_hyperparameter(Rmsprop*, F f) {
  f("lr", &Rmsprop::lr);
  f("alpha", &Rmsprop::alpha);
  f("eps", &Rmsprop::eps);
  f("weight_decay", &Rmsprop::weight_decay);
  f("momentum", &Rmsprop::momentum);
  f("centered", &Rmsprop::centered);
  f("maximize", &Rmsprop::maximize);
}
template <class F> void for_each_hyperparameter(Adagrad*, F f) {
  f("lr", &Adagrad::lr);
  f("lr_decay", &Adagrad::lr_decay);
  f("weight_decay", &Adagrad::weight_decay);
  f("initial_accumulator_value", &Adagrad::initial_accumulator_value);
  f("eps", &Adagrad::eps);
  f("maximize", &Adagrad::maximize);
}

// Throw std::invalid_argument naming the first hyperparameter outside its domain (torch.optim's):
// lr, eps, weight_decay, momentum, alpha, lr_decay and initial_accumulator_value non-negative
// and finite, dampening finite, 0 <= beta < 1, nesterov only with momentum > 0 and
// dampening = 0.
void check(const Sgd& rule);
void check(const Adam& rule);
void check(const Rmsprop& rule);
void check(const Adagrad& rule);

// One step of `rule` on one parameter array of n elements, in place (param and the state
// arrays of rule.state_layout()). t: the 1-based index of this step (the state "step" after
// its increment; Adam and Adagrad use it). Defined for Rule = Sgd, Adam, Rmsprop, Adagrad and
// T = float, double. The arrays must not overlap, except that grad may be the same array as
// param or as a state array (each element is read before it is written).
template <class Rule, class T>
void step(const Rule& rule, std::int64_t t, T* param, const T* grad, const State<T>& state,
          std::size_t n);

// ---- gradient clipping (torch.nn.utils) -----------------------------------------------------
enum class NormType : int { l1 = 1, l2 = 2, inf = 3 };

// The norm of all `count` arrays together (as if concatenated): sum |x|, sqrt(sum x^2) or
// max |x|, accumulated in float64 over fixed blocks in a fixed order (bitwise identical for any
// thread count). NaN anywhere gives NaN.
double total_norm(NormType type, const float* const* arrays, const std::size_t* sizes,
                  std::size_t count);
double total_norm(NormType type, const double* const* arrays, const std::size_t* sizes,
                  std::size_t count);

// torch.nn.utils.clip_grad_norm_: computes the total norm, then multiplies every array by
// min(1, max_norm / (norm + 1e-6)) (that coefficient computed in the element type, as PyTorch
// does). Returns the total norm. With error_if_nonfinite and a NaN/inf norm, throws
// std::runtime_error before touching the arrays.
double clip_grad_norm(float* const* arrays, const std::size_t* sizes, std::size_t count,
                      double max_norm, NormType type, bool error_if_nonfinite);
double clip_grad_norm(double* const* arrays, const std::size_t* sizes, std::size_t count,
                      double max_norm, NormType type, bool error_if_nonfinite);

// x *= factor (one multiplication per element).
void scale(float* x, std::size_t n, double factor);
void scale(double* x, std::size_t n, double factor);

// torch.nn.utils.clip_grad_value_: x = clamp(x, -clip_value, clip_value); NaN stays NaN.
void clip_grad_value(float* x, std::size_t n, double clip_value);
void clip_grad_value(double* x, std::size_t n, double clip_value);

// ---- penalties ---------------------------------------------------------------------------
// P(w) = l1 * ||w||_1 + l2 / 2 * ||w||^2, covering L1 (l2 = 0), L2 (l1 = 0) and elastic net
// (l1 = lam * l1_ratio, l2 = lam * (1 - l1_ratio)).
struct PenaltyCoefficients {
  double l1 = 0;
  double l2 = 0;
};
// Returns P(w) (both sums in float64, fixed blocks) when want_value, else 0; writes
// grad = l1 * sign(w) + l2 * w (sign(0) = 0) when grad is not null. One pass.
double penalty_value_and_grad(const PenaltyCoefficients& c, const float* w, float* grad,
                              std::size_t n, bool want_value);
double penalty_value_and_grad(const PenaltyCoefficients& c, const double* w, double* grad,
                              std::size_t n, bool want_value);
// The proximal operator of step * P, in place:
//   w = sign(w) * max(|w| - step * l1, 0) / (1 + step * l2)   (soft-thresholding, then shrinkage)
void penalty_prox(const PenaltyCoefficients& c, double step, float* w, std::size_t n);
void penalty_prox(const PenaltyCoefficients& c, double step, double* w, std::size_t n);

// ---- gathering rows ----------------------------------------------------------------------
// out row i = X row indices[i], for a C-contiguous X of `rows` rows of `row_bytes` bytes each
// and `count` indices (threads above a size threshold). Returns the position of the first
// index outside [0, rows), or `count` when all are valid; rows with a bad index are not written.
std::size_t gather_rows(const void* X, std::size_t rows, std::size_t row_bytes,
                        const std::int64_t* indices, std::size_t count, void* out);

// ---- random numbers and minibatch sampling -------------------------------------------------
// A counter-based generator: SplitMix64 (Steele, Lea & Flood, "Fast splittable pseudorandom
// number generators", OOPSLA 2014) evaluated at an arbitrary position:
//   random_u64(key, i) = mix(key + (i + 1) * 0x9E3779B97F4A7C15)
//   mix(z): z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9; z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
//           return z ^ (z >> 31)
// i.e. the (i+1)-th output of SplitMix64 seeded with `key`. Integer arithmetic only, so every
// machine and thread count gives the same numbers. stream_key(seed, stream) = mix(mix(seed) ^
// mix(stream + 0x2545F4914F6CDD1D)) separates independent streams (one per epoch).
std::uint64_t stream_key(std::uint64_t seed, std::uint64_t stream);
std::uint64_t random_u64(std::uint64_t key, std::uint64_t counter);
// A uniform integer in [0, range) from random_u64(key, counter) by Lemire's multiply-shift,
// floor(x * range / 2^64) (bias below range / 2^64; range >= 1).
std::uint64_t random_below(std::uint64_t key, std::uint64_t counter, std::uint64_t range);

// out = a uniformly random permutation of 0 .. n-1: Fisher-Yates from the end,
// for i = n-1 .. 1: swap(out[i], out[random_below(key, i, i + 1)]), key = stream_key(seed, stream).
void random_permutation(std::uint64_t seed, std::uint64_t stream, std::int64_t* out,
                        std::size_t n);
// out[i] = random_below(stream_key(seed, stream), i, range) for i < count (sampling with
// replacement).
void random_indices(std::uint64_t seed, std::uint64_t stream, std::uint64_t range,
                    std::int64_t* out, std::size_t count);

}  // namespace losskit
