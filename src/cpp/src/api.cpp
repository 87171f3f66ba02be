// The public C++ API: argument lookups and dispatch to the active instruction set's kernels.
#include <stdexcept>
#include <string>

#include "dispatch.hpp"

namespace losskit {

const LossInfo& info(ElementwiseLoss loss) {
  const int i = static_cast<int>(loss);
  if (i < 0 || i >= kNumElementwiseLosses) throw std::invalid_argument("unknown elementwise loss");
  return *kernels().elementwise_info[i];
}

const LossInfo& info(RowwiseLoss loss) {
  const int i = static_cast<int>(loss);
  if (i < 0 || i >= kNumRowwiseLosses) throw std::invalid_argument("unknown row-wise loss");
  return *kernels().rowwise_info[i];
}

ElementwiseLoss elementwise_loss_from_name(std::string_view name) {
  for (int i = 0; i < kNumElementwiseLosses; ++i) {
    const auto loss = static_cast<ElementwiseLoss>(i);
    if (name == info(loss).name) return loss;
  }
  throw std::invalid_argument("unknown elementwise loss '" + std::string(name) + "'");
}

RowwiseLoss rowwise_loss_from_name(std::string_view name) {
  for (int i = 0; i < kNumRowwiseLosses; ++i) {
    const auto loss = static_cast<RowwiseLoss>(i);
    if (name == info(loss).name) return loss;
  }
  throw std::invalid_argument("unknown row-wise loss '" + std::string(name) + "'");
}

namespace {

// A curvature request the loss cannot serve is a programming error: refuse it before anything
// is written.
template <class Call> void check_curvature(const LossInfo& d, const Call& call) {
  if (!call.hess_out) return;
  if (!call.grad_out) throw std::invalid_argument("hess_out needs grad_out");
  const auto policy = static_cast<int>(call.hessian);
  if (policy < 0 || policy > static_cast<int>(Hessian::positive))
    throw std::invalid_argument("unknown Hessian policy " + std::to_string(policy));
  if (!offers(d, call.hessian))
    throw std::invalid_argument(std::string(d.name) + " has no '" + hessian_name(call.hessian) +
                                "' Hessian; it offers " + d.hessians);
}

}  // namespace

ElementwiseResult evaluate(ElementwiseLoss loss, const LossParams& params,
                           const ElementwiseCall<float>& call) {
  check_curvature(info(loss), call);
  return kernels().elementwise_f32[static_cast<int>(loss)](params, call);
}
ElementwiseResult evaluate(ElementwiseLoss loss, const LossParams& params,
                           const ElementwiseCall<double>& call) {
  check_curvature(info(loss), call);
  return kernels().elementwise_f64[static_cast<int>(loss)](params, call);
}

ElementwiseResult evaluate(RowwiseLoss loss, const LossParams& params,
                           const RowwiseCall<float>& call) {
  check_curvature(info(loss), call);
  return kernels().rowwise_f32[static_cast<int>(loss)](params, call);
}
ElementwiseResult evaluate(RowwiseLoss loss, const LossParams& params,
                           const RowwiseCall<double>& call) {
  check_curvature(info(loss), call);
  return kernels().rowwise_f64[static_cast<int>(loss)](params, call);
}

void vector_math(MathFunction f, const float* x, float* out, std::size_t n) {
  kernels().math_f32[static_cast<int>(f)](x, out, n);
}
void vector_math(MathFunction f, const double* x, double* out, std::size_t n) {
  kernels().math_f64[static_cast<int>(f)](x, out, n);
}

}  // namespace losskit
