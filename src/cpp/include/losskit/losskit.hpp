// losskit: vectorized losses with analytic gradients. Public C++ API.
//
// Plain pointers and sizes for float and double; nothing here depends on SIMD types, OpenMP or
// Python. Link with `find_package(losskit CONFIG)` and `losskit::losskit`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "losskit/loss_list.hpp"
#include "losskit/optim.hpp"

namespace losskit {

// ---- losses -------------------------------------------------------------------------------
// batchmean: the sum divided by ElementwiseCall::batch_size (KL divergence's convention).
enum class Reduction : int { none = 0, sum = 1, mean = 2, batchmean = 3 };

enum class ElementwiseLoss : int {
#define LOSSKIT_ENUM_ENTRY(name, arity, params) name,
  LOSSKIT_ELEMENTWISE_LOSSES(LOSSKIT_ENUM_ENTRY)
#undef LOSSKIT_ENUM_ENTRY
};
inline constexpr int kNumElementwiseLosses = 0
#define LOSSKIT_COUNT_ENTRY(name, arity, params) +1
    LOSSKIT_ELEMENTWISE_LOSSES(LOSSKIT_COUNT_ENTRY)
#undef LOSSKIT_COUNT_ENTRY
    ;

struct ElementwiseLossInfo {
  const char* name;        // registry name, e.g. "huber"
  int arity;               // 2: (input, target); 3: (input, target, third);
                           // 4: (input, target[, third, fourth]), see ElementwiseCall
  const char* param_names; // comma-separated, in LossParams order
};
const ElementwiseLossInfo& info(ElementwiseLoss loss);
// Throws std::invalid_argument for an unknown name.
ElementwiseLoss elementwise_loss_from_name(std::string_view name);

// Numeric parameters in the order loss_list.hpp names them (booleans as 0/1). The caller
// validates them (e.g. delta > 0); the kernels assume valid parameters.
struct LossParams {
  static constexpr int kMax = 4;
  double values[kMax] = {0, 0, 0, 0};
};

// One evaluation of an elementwise loss over `size` elements.
template <class T>
struct ElementwiseCall {
  const T* input = nullptr;
  const T* target = nullptr;
  const T* third = nullptr;          // arity-3 losses only (gaussian_nll: var or precision)
  // Arity-4 losses: third and fourth are both null (the loss's last two parameters apply to
  // every element) or both given (one value per element, e.g. barron's alpha and scale).
  const T* fourth = nullptr;
  const T* sample_weight = nullptr;  // one weight per element, or nullptr
  std::size_t size = 0;
  Reduction reduction = Reduction::mean;
  std::size_t batch_size = 0;   // Reduction::batchmean only: the divisor
  bool compute_value = true;    // false: only gradients (the returned value is then 0)
  T* value_out = nullptr;       // reduction none: w * loss per element (optional)
  T* grad_out = nullptr;        // d(reduced value)/d input (optional; for none: of the sum)
  T* grad_third_out = nullptr;  // d(reduced value)/d third (optional, arity 3 and 4)
  T* grad_fourth_out = nullptr; // d(reduced value)/d fourth (optional, arity 4)
  // (Arity 4: grad_third_out and grad_fourth_out are written together, with grad_out.)
};

// Why an evaluation refused its input: the argument and the first offending element.
enum class BadArgument : int { none = 0, sample_weight = 1, third = 2, input = 3, target = 4 };
struct ElementwiseResult {
  double value;              // the reduced value: sum, or mean (nan for a mean over nothing);
                             // 0 for Reduction::none
  BadArgument bad_argument;  // sample_weight < 0, or a third argument outside its domain
  std::size_t bad_index;     // first offending element when bad_argument != none
};

// Evaluates value and/or gradients in one fused pass. Mean is sum(w*l)/sum(w) (sum(l)/size
// without weights). Bitwise identical results for any thread count. When bad_argument is set
// the outputs are unspecified.
ElementwiseResult evaluate(ElementwiseLoss loss, const LossParams& params,
                           const ElementwiseCall<float>& call);
ElementwiseResult evaluate(ElementwiseLoss loss, const LossParams& params,
                           const ElementwiseCall<double>& call);

// ---- losses over rows: (N, C) scores with a label or a probability row per sample ---------
enum class RowwiseLoss : int {
#define LOSSKIT_ENUM_ENTRY(name, params) name,
  LOSSKIT_ROWWISE_LOSSES(LOSSKIT_ENUM_ENTRY)
#undef LOSSKIT_ENUM_ENTRY
};
inline constexpr int kNumRowwiseLosses = 0
#define LOSSKIT_COUNT_ENTRY(name, params) +1
    LOSSKIT_ROWWISE_LOSSES(LOSSKIT_COUNT_ENTRY)
#undef LOSSKIT_COUNT_ENTRY
    ;
struct RowwiseLossInfo {
  const char* name;
  const char* param_names;  // comma-separated, in LossParams order
};
const RowwiseLossInfo& info(RowwiseLoss loss);
RowwiseLoss rowwise_loss_from_name(std::string_view name);  // std::invalid_argument if unknown

template <class T>
struct RowwiseCall {
  const T* input = nullptr;          // (rows, classes), C-contiguous
  std::size_t rows = 0, classes = 0;
  const std::int64_t* labels = nullptr;  // (rows,): class index, or ignore_index to skip a row
  const T* target = nullptr;         // (rows, classes) probabilities (cross_entropy), or nullptr
  std::int64_t ignore_index = -100;  // labels only
  const T* class_weight = nullptr;   // (classes,), or nullptr
  const T* sample_weight = nullptr;  // (rows,), or nullptr
  Reduction reduction = Reduction::mean;
  bool compute_value = true;
  T* value_out = nullptr;  // (rows,) weighted per-sample losses, Reduction::none
  T* grad_out = nullptr;   // (rows, classes)
};

// Mean: sum_i s_i l_i / sum_i s_i w[y_i] over rows not ignored (PyTorch's weighted mean) for
// cross_entropy with labels and nll; sum_i s_i l_i / sum_i s_i otherwise (s: sample weights, 1
// if absent; w: class weights, 1 if absent). Labels outside [0, classes) other than
// ignore_index are refused (BadArgument::target) before anything is written.
ElementwiseResult evaluate(RowwiseLoss loss, const LossParams& params, const RowwiseCall<float>& call);
ElementwiseResult evaluate(RowwiseLoss loss, const LossParams& params, const RowwiseCall<double>& call);
// ---- Barron's general robust loss: log partition function -------------------------------
// log Z(alpha), Z(alpha) = integral of exp(-rho(x, alpha, 1)) dx over the real line, for
// alpha >= 0 (NaN gives NaN; alpha < 0 throws std::invalid_argument: Z is infinite there).
// Interpolated from losskit's own quadrature table (tools/gen_barron_partition.py), |error|
// < 1e-9 on [0, 64]. `grad` (optional) receives d logZ / d alpha: -inf at alpha = 2, where it
// is genuinely singular. As alpha -> inf, logZ -> log of the integral of exp(1 - exp(x^2/2))
// (0.70526...) like c / alpha; beyond the table (alpha > 2 + e^12) that asymptote is used.
double barron_log_partition(double alpha, double* grad = nullptr);
// Elementwise over n values; grad may be null. Throws before writing if any alpha < 0.
void barron_log_partition(const double* alpha, double* out, double* grad, std::size_t n);

// ---- vectorized math (the functions the kernels use), elementwise over arrays ---------------
// Max error in ULP over the whole domain, measured by tests/test_vmath.py for every ISA:
// see the table in docs/ARCHITECTURE.md.
enum class MathFunction : int { exp = 0, log, log1p, expm1, tanh };
void vector_math(MathFunction f, const float* x, float* out, std::size_t n);
void vector_math(MathFunction f, const double* x, double* out, std::size_t n);

// ---- instruction sets and threads ---------------------------------------------------------
enum class Isa : int { sse2 = 0, avx2 = 1, avx512 = 2 };
const char* isa_name(Isa isa);
bool isa_available(Isa isa);  // compiled in and supported by this CPU
Isa get_isa();                // the best available, or LOSSKIT_ISA from the environment
void set_isa(Isa isa);        // throws std::invalid_argument if not available

// Threads used by kernels above their size threshold (OpenMP's default at start-up, at most
// kMaxThreads). The bound exists because OpenMP (libgomp) ends the process when it cannot start
// a thread: an absurd request must be refused, not attempted.
inline constexpr int kMaxThreads = 1024;
int get_num_threads();
void set_num_threads(int n);  // throws std::invalid_argument unless 1 <= n <= kMaxThreads

}  // namespace losskit
