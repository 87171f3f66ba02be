// The public optimizer / clipping / penalty / sampling API (losskit/optim.hpp): the per-step
// scalars are computed here in double, once per call, the way torch.optim computes them in
// Python; the element loops run in the active instruction set's kernels.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

#include "dispatch.hpp"

namespace losskit {
namespace {

template <class T> const OptimKernels<T>& optim_table();
template <> const OptimKernels<float>& optim_table<float>() { return kernels().optim_f32; }
template <> const OptimKernels<double>& optim_table<double>() { return kernels().optim_f64; }

template <class T>
void sgd_impl(const SgdOptions& o, T* param, const T* grad, T* buf, bool is_new, std::size_t n) {
  const SgdStep s{o.lr, o.momentum, o.dampening, o.weight_decay, o.nesterov, o.maximize, is_new};
  optim_table<T>().sgd(s, param, grad, buf, n);
}

template <class T>
void adam_impl(const AdamOptions& o, std::int64_t step, T* param, const T* grad, T* exp_avg,
               T* exp_avg_sq, T* max_exp_avg_sq, std::size_t n) {
  // As torch.optim.adam._single_tensor_adam (Python floats, step as a float).
  const double t = double(step);
  const double bias_correction1 = 1 - std::pow(o.beta1, t);
  const double bias_correction2 = 1 - std::pow(o.beta2, t);
  const double step_size = o.lr / bias_correction1;
  AdamStep s;
  s.lerp_weight = 1 - o.beta1;
  s.beta2 = o.beta2;
  s.one_minus_beta2 = 1 - o.beta2;
  s.neg_step_size = -step_size;
  s.bc2_sqrt = std::pow(bias_correction2, 0.5);  // bias_correction2 ** 0.5
  s.eps = o.eps;
  s.decoupled = o.decoupled_weight_decay;
  s.weight_decay = o.decoupled_weight_decay ? 0 : o.weight_decay;
  s.decay_factor = o.decoupled_weight_decay ? 1 - o.lr * o.weight_decay : 1;
  s.amsgrad = o.amsgrad;
  s.maximize = o.maximize;
  optim_table<T>().adam(s, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, n);
}

template <class T>
void rmsprop_impl(const RmspropOptions& o, T* param, const T* grad, T* square_avg, T* grad_avg,
                  T* buf, std::size_t n) {
  const RmspropStep s{o.lr,          o.alpha,    1 - o.alpha, o.eps, o.momentum,
                      o.weight_decay, o.centered, o.maximize};
  optim_table<T>().rmsprop(s, param, grad, square_avg, grad_avg, buf, n);
}

template <class T>
void adagrad_impl(const AdagradOptions& o, std::int64_t step, T* param, const T* grad, T* sum,
                  std::size_t n) {
  const double clr = o.lr / (1 + (double(step) - 1) * o.lr_decay);
  const AdagradStep s{-clr, o.eps, o.weight_decay, o.maximize};
  optim_table<T>().adagrad(s, param, grad, sum, n);
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

#define LOSSKIT_BOTH(T)                                                                        \
  void sgd_step(const SgdOptions& o, T* param, const T* grad, T* momentum_buffer,             \
                bool momentum_buffer_is_new, std::size_t n) {                                 \
    sgd_impl<T>(o, param, grad, momentum_buffer, momentum_buffer_is_new, n);                   \
  }                                                                                            \
  void adam_step(const AdamOptions& o, std::int64_t step, T* param, const T* grad,            \
                 T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq, std::size_t n) {               \
    adam_impl<T>(o, step, param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, n);                \
  }                                                                                            \
  void rmsprop_step(const RmspropOptions& o, T* param, const T* grad, T* square_avg,           \
                    T* grad_avg, T* momentum_buffer, std::size_t n) {                         \
    rmsprop_impl<T>(o, param, grad, square_avg, grad_avg, momentum_buffer, n);                 \
  }                                                                                            \
  void adagrad_step(const AdagradOptions& o, std::int64_t step, T* param, const T* grad,      \
                    T* sum, std::size_t n) {                                                  \
    adagrad_impl<T>(o, step, param, grad, sum, n);                                             \
  }                                                                                            \
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
