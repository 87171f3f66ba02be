// Nanoseconds per call of value_and_grad (Huber, float32) and of an Adam step through the
// descriptor API, the typed API and the C ABI, for N elements (default 100): the best of 7
// rounds of 200000 calls each, one thread. Usage: call_overhead [N]
#include <losskit/losskit.h>
#include <losskit/losskit.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

template <class Fn> double ns_per_call(const Fn& fn) {
  constexpr int kCalls = 200000, kRounds = 7;
  double best = 1e300;
  for (int round = 0; round < kRounds; ++round) {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kCalls; ++i) fn();
    const std::chrono::duration<double, std::nano> took = std::chrono::steady_clock::now() - start;
    best = std::min(best, took.count() / kCalls);
  }
  return best;
}

volatile double sink;

}  // namespace

int main(int argc, char** argv) {
  const std::size_t n = argc > 1 ? std::size_t(std::atol(argv[1])) : 100;
  losskit::set_num_threads(1);
  std::vector<float> x(n), y(n), grad(n), param(n, 0.5f), state1(n), state2(n);
  for (std::size_t i = 0; i < n; ++i) {
    x[i] = float(i % 7) * 0.3f - 1;
    y[i] = float(i % 5) * 0.2f;
  }

  losskit::LossParams params;
  params.values[0] = 1.0;
  losskit::ElementwiseCall<float> call;
  call.input = x.data();
  call.target = y.data();
  call.size = n;
  call.grad_out = grad.data();
  const double descriptor = ns_per_call([&] {
    sink = losskit::evaluate(losskit::ElementwiseLoss::huber, params, call).value;
  });
  const losskit::Huber huber;
  const double typed = ns_per_call([&] { sink = huber.value_and_grad(x, y, grad); });
  losskit_loss* c_huber;
  losskit_loss_new("huber", &c_huber);
  const losskit_elementwise_f32 c_call = {n, x.data(), y.data(), nullptr, nullptr, nullptr,
                                          nullptr, grad.data(), nullptr, nullptr, nullptr,
                                          LOSSKIT_HESSIAN_EXACT, 0};
  double value;
  const double c_abi = ns_per_call([&] {
    losskit_evaluate_f32(c_huber, &c_call, &value);
    sink = value;
  });
  losskit_loss_free(c_huber);

  losskit::Adam adam;
  losskit::State<float> state;
  state[losskit::StateName::exp_avg] = state1.data();
  state[losskit::StateName::exp_avg_sq] = state2.data();
  std::int64_t t = 0;
  const double step_descriptor = ns_per_call([&] {
    losskit::step(adam, ++t, param.data(), grad.data(), state, n);
  });
  losskit::Optimizer<losskit::Adam, float> optimizer(adam, n);
  const double step_typed = ns_per_call([&] { optimizer.step(param, grad); });
  losskit_optimizer* c_adam;
  losskit_optimizer_new("adam", 0, n, &c_adam);
  const double step_c = ns_per_call([&] {
    losskit_optimizer_step_f32(c_adam, param.data(), grad.data(), n);
  });
  losskit_optimizer_free(c_adam);

  std::printf("N = %zu, isa %s, 1 thread, ns per call (best of 7 x 200000)\n", n,
              losskit::isa_name(losskit::get_isa()));
  std::printf("huber value_and_grad  descriptor %7.1f  typed %7.1f (+%.1f)  C ABI %7.1f (+%.1f)\n",
              descriptor, typed, typed - descriptor, c_abi, c_abi - descriptor);
  std::printf("adam step             descriptor %7.1f  typed %7.1f (+%.1f)  C ABI %7.1f (+%.1f)\n",
              step_descriptor, step_typed, step_typed - step_descriptor, step_c,
              step_c - step_descriptor);
  return 0;
}
