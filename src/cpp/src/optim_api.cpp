// The public optimizer / clipping / penalty / sampling API (losskit/optim.hpp): the per-step
// scalars are computed here in double, once per call, the way torch.optim computes them in
// Python; the element loops run in the active instruction set's kernels.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

#include "dispatch.hpp"
#include "losskit/checked.hpp"

namespace losskit {
namespace {

template <class T> const OptimKernels<T>& optim_table();
template <> const OptimKernels<float>& optim_table<float>() { return kernels().optim_f32; }
template <> const OptimKernels<double>& optim_table<double>() { return kernels().optim_f64; }

// Per rule: the per-step scalars, computed in double as torch.optim's single-tensor path
// computes them in Python (Python floats; the step as a float), and its kernel in the table.
SgdStep step_scalars(const Sgd& r, std::int64_t) {
  return {{r.weight_decay, r.maximize}, r.lr, r.momentum, r.dampening, r.nesterov};
}
template <class T> UpdateKernel<T, SgdStep> kernel_of(const Sgd&) { return optim_table<T>().sgd; }

AdamStep step_scalars(const Adam& r, std::int64_t step) {
  const double t = double(step);
  const double bias_correction1 = 1 - std::pow(r.beta1, t);
  const double bias_correction2 = 1 - std::pow(r.beta2, t);
  AdamStep s;
  s.weight_decay = r.decoupled_weight_decay ? 0 : r.weight_decay;
  s.maximize = r.maximize;
  s.lerp_weight = 1 - r.beta1;
  s.beta2 = r.beta2;
  s.one_minus_beta2 = 1 - r.beta2;
  s.neg_step_size = -(r.lr / bias_correction1);
  s.bc2_sqrt = std::pow(bias_correction2, 0.5);  // bias_correction2 ** 0.5
  s.eps = r.eps;
  s.decay_factor = r.decoupled_weight_decay ? 1 - r.lr * r.weight_decay : 1;
  s.amsgrad = r.amsgrad;
  return s;
}
template <class T> UpdateKernel<T, AdamStep> kernel_of(const Adam&) { return optim_table<T>().adam; }

RmspropStep step_scalars(const Rmsprop& r, std::int64_t) {
  return {{r.weight_decay, r.maximize}, r.lr, r.alpha, 1 - r.alpha, r.eps, r.momentum, r.centered};
}
template <class T> UpdateKernel<T, RmspropStep> kernel_of(const Rmsprop&) {
  return optim_table<T>().rmsprop;
}

AdagradStep step_scalars(const Adagrad& r, std::int64_t step) {
  const double clr = r.lr / (1 + (double(step) - 1) * r.lr_decay);
  return {{r.weight_decay, r.maximize}, -clr, r.eps};
}
template <class T> UpdateKernel<T, AdagradStep> kernel_of(const Adagrad&) {
  return optim_table<T>().adagrad;
}

template <class T>
double total_norm_impl(NormType type, const T* const* arrays, const std::size_t* sizes,
                       std::size_t count) {
  const auto norm = optim_table<T>().norm;
  double total = 0;
  bool nan = false;
  for (std::size_t k = 0; k < count; ++k) {
    const double part = norm(type, arrays[k], sizes[k]);
    if (std::isnan(part)) nan = true;
    if (type == NormType::inf) total = std::max(total, part);
    else total += part;
  }
  if (nan) return std::nan("");
  return type == NormType::l2 ? std::sqrt(total) : total;
}

template <class T>
double clip_grad_norm_impl(T* const* arrays, const std::size_t* sizes, std::size_t count,
                           double max_norm, NormType type, bool error_if_nonfinite) {
  const double norm = total_norm_impl<T>(type, arrays, sizes, count);
  if (error_if_nonfinite && !std::isfinite(norm))
    throw std::runtime_error(
        "the total norm of the gradients is " + std::to_string(norm) +
        ", so they cannot be clipped; pass error_if_nonfinite=False to clip anyway");
  // torch: clip_coef = max_norm / (total_norm + 1e-6), i.e. reciprocal() * max_norm in the
  // gradients' dtype, clamped to 1, then grad.mul_(clip_coef) (also when it is 1).
  const T coef_raw = (T(1) / (T(norm) + T(1e-6))) * T(max_norm);
  const T coef = coef_raw > T(1) ? T(1) : coef_raw;  // clamp(max=1) keeps NaN
  const auto scale = optim_table<T>().scale;
  for (std::size_t k = 0; k < count; ++k) scale(arrays[k], sizes[k], coef);
  return norm;
}

std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
constexpr std::uint64_t kGolden = 0x9E3779B97F4A7C15ull;

}  // namespace

namespace {

void require(bool ok, const char* name, const char* requirement, double value) {
  if (!ok)
    throw std::invalid_argument(std::string(name) + " must be " + requirement + ", got " +
                                format_real(value));
}
void nonnegative(const char* name, double v) {
  require(v >= 0 && std::isfinite(v), name, "non-negative and finite", v);
}
void beta(const char* name, double v) { require(v >= 0 && v < 1, name, "in [0, 1)", v); }

}  // namespace

void check(const Sgd& r) {
  nonnegative("lr", r.lr);
  nonnegative("momentum", r.momentum);
  require(std::isfinite(r.dampening), "dampening", "finite", r.dampening);
  nonnegative("weight_decay", r.weight_decay);
  if (r.nesterov && (r.momentum <= 0 || r.dampening != 0))
    throw std::invalid_argument("nesterov needs momentum > 0 and dampening == 0");
}
void check(const Adam& r) {
  nonnegative("lr", r.lr);
  beta("beta1", r.beta1);
  beta("beta2", r.beta2);
  nonnegative("eps", r.eps);
  nonnegative("weight_decay", r.weight_decay);
}
void check(const Rmsprop& r) {
  nonnegative("lr", r.lr);
  nonnegative("alpha", r.alpha);
  nonnegative("eps", r.eps);
  nonnegative("weight_decay", r.weight_decay);
  nonnegative("momentum", r.momentum);
}
void check(const Adagrad& r) {
  nonnegative("lr", r.lr);
  nonnegative("lr_decay", r.lr_decay);
  nonnegative("weight_decay", r.weight_decay);
  nonnegative("initial_accumulator_value", r.initial_accumulator_value);
  nonnegative("eps", r.eps);
}

const char* state_name(StateName name) {
  static const char* const names[kNumStateNames] = {
      "momentum_buffer", "exp_avg", "exp_avg_sq", "max_exp_avg_sq", "square_avg", "grad_avg",
      "sum"};
  return names[int(name)];
}

template <class Rule, class T>
void step(const Rule& rule, std::int64_t t, T* param, const T* grad, const State<T>& state,
          std::size_t n) {
  kernel_of<T>(rule)(step_scalars(rule, t), param, grad, state, n);
}

#define LOSSKIT_STEP(Rule)                                                                     \
  template void step<Rule, float>(const Rule&, std::int64_t, float*, const float*,            \
                                  const State<float>&, std::size_t);                          \
  template void step<Rule, double>(const Rule&, std::int64_t, double*, const double*,         \
                                   const State<double>&, std::size_t);
LOSSKIT_STEP(Sgd)
LOSSKIT_STEP(Adam)
LOSSKIT_STEP(Rmsprop)
LOSSKIT_STEP(Adagrad)
#undef LOSSKIT_STEP

#define LOSSKIT_BOTH(T)                                                                        \
  double total_norm(NormType type, const T* const* arrays, const std::size_t* sizes,          \
                    std::size_t count) {                                                      \
    return total_norm_impl<T>(type, arrays, sizes, count);                                     \
  }                                                                                            \
  double clip_grad_norm(T* const* arrays, const std::size_t* sizes, std::size_t count,        \
                        double max_norm, NormType type, bool error_if_nonfinite) {            \
    return clip_grad_norm_impl<T>(arrays, sizes, count, max_norm, type, error_if_nonfinite);   \
  }                                                                                            \
  void scale(T* x, std::size_t n, double factor) { optim_table<T>().scale(x, n, T(factor)); } \
  void clip_grad_value(T* x, std::size_t n, double clip_value) {                              \
    optim_table<T>().clamp(x, n, T(-clip_value), T(clip_value));                               \
  }                                                                                            \
  double penalty_value_and_grad(const PenaltyCoefficients& c, const T* w, T* grad,            \
                                std::size_t n, bool want_value) {                             \
    return optim_table<T>().penalty(c, w, grad, n, want_value);                                \
  }                                                                                            \
  void penalty_prox(const PenaltyCoefficients& c, double step, T* w, std::size_t n) {         \
    optim_table<T>().prox(T(step * c.l1), T(1 + step * c.l2), w, n);                           \
  }
LOSSKIT_BOTH(float)
LOSSKIT_BOTH(double)
#undef LOSSKIT_BOTH

std::size_t gather_rows(const void* X, std::size_t rows, std::size_t row_bytes,
                        const std::int64_t* indices, std::size_t count, void* out) {
  return kernels().gather(X, rows, row_bytes, indices, count, out);
}

std::uint64_t stream_key(std::uint64_t seed, std::uint64_t stream) {
  return mix64(mix64(seed) ^ mix64(stream + 0x2545F4914F6CDD1Dull));
}

std::uint64_t random_u64(std::uint64_t key, std::uint64_t counter) {
  return mix64(key + (counter + 1) * kGolden);
}

std::uint64_t random_below(std::uint64_t key, std::uint64_t counter, std::uint64_t range) {
  __extension__ typedef unsigned __int128 U128;
  const U128 product = U128(random_u64(key, counter)) * range;
  return std::uint64_t(product >> 64);
}

void random_permutation(std::uint64_t seed, std::uint64_t stream, std::int64_t* out,
                        std::size_t n) {
  const std::uint64_t key = stream_key(seed, stream);
  for (std::size_t i = 0; i < n; ++i) out[i] = std::int64_t(i);
  for (std::size_t i = n; i-- > 1;) std::swap(out[i], out[random_below(key, i, i + 1)]);
}

void random_indices(std::uint64_t seed, std::uint64_t stream, std::uint64_t range,
                    std::int64_t* out, std::size_t count) {
  const std::uint64_t key = stream_key(seed, stream);
  for (std::size_t i = 0; i < count; ++i) out[i] = std::int64_t(random_below(key, i, range));
}

}  // namespace losskit
