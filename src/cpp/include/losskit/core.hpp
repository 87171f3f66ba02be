// losskit's descriptor API: plain pointers and sizes for float and double, unchecked (the caller
// validates), what the typed API and the bindings run on; the loss metadata (info), the vector
// math, and the instruction-set and thread settings. Nothing here depends on SIMD types, OpenMP
// or Python. Included by <losskit/losskit.hpp>, which C++ programs include.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "losskit/loss_ids.hpp"  // generated from the definitions
#include "losskit/loss_types.hpp"
#include "losskit/optim.hpp"

namespace losskit {

// ---- losses ---------------------------------------------------------------------------------
// ElementwiseLoss and RowwiseLoss (losskit/loss_ids.hpp) are generated from the definitions, in
// their order; info() gives each loss's LossInfo (losskit/loss_types.hpp).
const LossInfo& info(ElementwiseLoss loss);  // std::invalid_argument for a value out of range
const LossInfo& info(RowwiseLoss loss);
// Throw std::invalid_argument for an unknown name.
ElementwiseLoss elementwise_loss_from_name(std::string_view name);
RowwiseLoss rowwise_loss_from_name(std::string_view name);

// Evaluates value and/or gradients in one fused pass. Mean is sum(w*l)/sum(w) (sum(l)/size
// without weights). Bitwise identical results for any thread count. Arguments outside their
// domains (sample_weight < 0, LossInfo::input_domain, LossInfo::third_domain) are reported in
// bad_argument before anything is written. With hess_out (and grad_out), the call writes the
// gradient and the curvature under call.hessian instead (std::invalid_argument, before
// anything is written, for a policy LossInfo::hessians does not list).
ElementwiseResult evaluate(ElementwiseLoss loss, const LossParams& params,
                           const ElementwiseCall<float>& call);
ElementwiseResult evaluate(ElementwiseLoss loss, const LossParams& params,
                           const ElementwiseCall<double>& call);

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
enum class MathFunction : int { exp = 0, log, log1p, expm1, tanh, erf };
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

// Kernels called from this thread use n threads while this object lives (get_num_threads()
// returns n here; other threads keep the setting): for front ends that take a thread count
// per call. Throws std::invalid_argument as set_num_threads does.
class ScopedNumThreads {
 public:
  explicit ScopedNumThreads(int n);
  ~ScopedNumThreads();
  ScopedNumThreads(const ScopedNumThreads&) = delete;
  ScopedNumThreads& operator=(const ScopedNumThreads&) = delete;

 private:
  int previous_;
};

}  // namespace losskit
