// Threads and instruction sets: every kernel with a reduction gives the same bits for 1, 2, 3
// and 4 threads; the ISA can be forced (set_isa, LOSSKIT_ISA) and unavailable ones are refused.
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "check.hpp"
#include "support.hpp"

namespace {

using losskit::LossParams;
using losskit::Reduction;
using losskit_test::Lcg;

constexpr int kMaxThreads = 4;  // more than the CI machine's cores: oversubscription is fine

// Inputs inside every loss's domain (probabilities for bce, positive third arguments), for the
// reduction helpers.
template <class T> struct Inputs {
  std::vector<T> x, y, z3, z4, w;
  explicit Inputs(std::size_t n) {
    Lcg rng(n);
    for (std::size_t i = 0; i < n; ++i) {
      x.push_back(T(rng.uniform(0.01, 0.99)));
      y.push_back(T(rng.uniform(0, 1)));
      z3.push_back(T(rng.uniform(0.1, 2)));
      z4.push_back(T(rng.uniform(0.5, 2)));
      w.push_back(T(rng.uniform(0, 2)));
    }
  }
  // A loss's arguments drawn from its definition's domains (targets +-1 for a margin loss;
  // arity 4: per-element operands from the domains of its last two parameters).
  Inputs(std::size_t n, const losskit::LossInfo& info) {
    Lcg rng(n);
    const std::vector<int> k = losskit_test::kernel_param_indices(info);
    for (std::size_t i = 0; i < n; ++i) {
      x.push_back(T(losskit_test::draw(info.input_domain, rng)));
      const bool signs = info.margin_targets || info.target_check == losskit::TargetCheck::signs;
      y.push_back(T(signs ? (rng.uniform(0, 1) < 0.5 ? -1.0 : 1.0)
                          : losskit_test::draw(info.target_domain, rng)));
      if (info.arity == 3) z3.push_back(T(losskit_test::draw(info.third_domain, rng)));
      if (info.arity == 4) {
        z3.push_back(T(losskit_test::draw(info.params[k[k.size() - 2]].domain, rng)));
        z4.push_back(T(losskit_test::draw(info.params[k.back()].domain, rng)));
      }
      w.push_back(T(rng.uniform(0, 2)));
    }
  }
};

// Everything one evaluation produces, to be compared bit for bit.
template <class T> struct Outputs {
  double value;
  std::vector<T> values, grad, grad3, grad4;
  bool operator==(const Outputs& o) const {
    return losskit_test::same_bits(value, o.value) && losskit_test::same_bytes(values, o.values) &&
           losskit_test::same_bytes(grad, o.grad) && losskit_test::same_bytes(grad3, o.grad3) &&
           losskit_test::same_bytes(grad4, o.grad4);
  }
};

template <class T>
Outputs<T> evaluate_all(losskit::ElementwiseLoss loss, const Inputs<T>& in, Reduction red, bool weighted) {
  const std::size_t n = in.x.size();
  const int arity = losskit::info(loss).arity;
  Outputs<T> out{0, std::vector<T>(n), std::vector<T>(n), std::vector<T>(n), std::vector<T>(n)};
  losskit::ElementwiseCall<T> call;
  call.input = in.x.data();
  call.target = in.y.data();
  if (arity >= 3) call.third = in.z3.data();
  if (arity == 4) call.fourth = in.z4.data();
  if (weighted) call.sample_weight = in.w.data();
  call.size = n;
  call.reduction = red;
  call.batch_size = 3;
  if (red == Reduction::none) call.value_out = out.values.data();
  call.grad_out = out.grad.data();
  if (arity >= 3) call.grad_third_out = out.grad3.data();
  if (arity == 4) call.grad_fourth_out = out.grad4.data();
  LossParams params;  // the definition's defaults
  const std::vector<double> defaults = losskit_test::default_params(losskit::info(loss));
  for (std::size_t i = 0; i < defaults.size(); ++i) params.values[i] = defaults[i];
  const losskit::ElementwiseResult r = losskit::evaluate(loss, params, call);
  CHECK(r.bad_argument == losskit::BadArgument::none);
  out.value = r.value;
  return out;
}

template <class T, class Run> void check_same_for_every_thread_count(const Run& run, const std::string& what) {
  decltype(run()) first{};
  losskit_test::for_each_thread_count(kMaxThreads, [&](int threads) {
    if (threads == 1) {
      first = run();
    } else if (!(run() == first)) {
      losskit_test::report(__FILE__, __LINE__, what + ": differs between 1 and " + std::to_string(threads) + " threads");
    }
  });
}

template <class T> void check_elementwise_determinism() {
  for (int i = 0; i < losskit::kNumElementwiseLosses; ++i) {
    const auto loss = losskit::ElementwiseLoss(i);
    // 48 blocks of 2048 and a partial one, past the thread threshold
    const Inputs<T> in(100003, losskit::info(loss));
    for (Reduction red : {Reduction::none, Reduction::sum, Reduction::mean, Reduction::batchmean})
      for (bool weighted : {false, true})
        check_same_for_every_thread_count<T>([&] { return evaluate_all<T>(loss, in, red, weighted); },
                                             std::string(losskit::info(loss).name) + " " +
                                                 losskit_test::dtype_name<T>() + " reduction " +
                                                 std::to_string(int(red)) + (weighted ? " weighted" : ""));
  }
}

template <class T> void check_rowwise_determinism() {
  const std::size_t N = 3001, C = 23;  // blocks of 356 rows; N * C above the thread threshold
  Lcg rng(17);
  std::vector<T> x(N * C), sw(N);
  std::vector<std::int64_t> labels(N);
  for (auto& v : x) v = T(rng.uniform(-5, 5));
  for (auto& v : sw) v = T(rng.uniform(0, 2));
  for (auto& l : labels) l = rng.below(C);
  for (int i = 0; i < losskit::kNumRowwiseLosses; ++i) {
    const auto loss = losskit::RowwiseLoss(i);
    Lcg arguments_rng(18);
    const losskit_test::RowArguments<T> args(losskit::info(loss), N, C, arguments_rng);
    for (Reduction red : {Reduction::none, Reduction::sum, Reduction::mean}) {
      check_same_for_every_thread_count<T>(
          [&] {
            Outputs<T> out{0, std::vector<T>(N), std::vector<T>(N * C), {}, {}};
            losskit::RowwiseCall<T> call =
                losskit::info(loss).row_target == losskit::RowTarget::labels
                    ? losskit_test::labelled_rows(x.data(), N, C, labels.data())
                    : args.call(N, C);
            call.sample_weight = sw.data();
            call.reduction = red;
            if (red == Reduction::none) call.value_out = out.values.data();
            call.grad_out = out.grad.data();
            if (call.second) {  // the gradients of the row operands too
              out.grad3.resize(N * C);
              call.grad_second_out = out.grad3.data();
            }
            if (call.third) {
              out.grad4.resize(N * C);
              call.grad_third_out = out.grad4.data();
            }
            LossParams params;
            params.values[0] = 0.1;  // label smoothing; p = 0.1 (hinge), margin 0.1
            params.values[1] = 1;
            out.value = losskit::evaluate(loss, params, call).value;
            return out;
          },
          std::string(losskit::info(loss).name) + " " + losskit_test::dtype_name<T>());
    }
  }
}

template <class T> void check_reduction_helpers_determinism() {
  const Inputs<T> in(200003);
  const T* arrays[] = {in.x.data(), in.y.data(), in.w.data()};
  const std::size_t sizes[] = {in.x.size(), 70001, in.w.size()};
  for (losskit::NormType type : {losskit::NormType::l1, losskit::NormType::l2, losskit::NormType::inf})
    check_same_for_every_thread_count<T>(
        [&] { return Outputs<T>{losskit::total_norm(type, arrays, sizes, 3), {}, {}, {}, {}}; },
        std::string("total_norm ") + losskit_test::dtype_name<T>());
  check_same_for_every_thread_count<T>(
      [&] {
        Outputs<T> out{0, {}, std::vector<T>(in.y.size()), {}, {}};
        std::vector<T> copy = in.y;
        T* mut[] = {copy.data()};
        const std::size_t n = copy.size();
        out.value = losskit::clip_grad_norm(mut, &n, 1, 1.0, losskit::NormType::l2, false);
        out.grad = copy;
        return out;
      },
      std::string("clip_grad_norm ") + losskit_test::dtype_name<T>());
  check_same_for_every_thread_count<T>(
      [&] {
        Outputs<T> out{0, {}, std::vector<T>(in.z3.size()), {}, {}};
        out.value = losskit::penalty_value_and_grad({0.3, 0.7}, in.z3.data(), out.grad.data(), in.z3.size(), true);
        return out;
      },
      std::string("penalty ") + losskit_test::dtype_name<T>());
}

// On the default ISA: the blocking that makes sums independent of the thread count is the
// same code for every ISA.
LOSSKIT_TEST(reductions_are_bitwise_identical_for_1_to_4_threads) {
  check_elementwise_determinism<float>();
  check_elementwise_determinism<double>();
  check_rowwise_determinism<float>();
  check_rowwise_determinism<double>();
  check_reduction_helpers_determinism<float>();
  check_reduction_helpers_determinism<double>();
}

LOSSKIT_TEST(thread_count_setting) {
  const int previous = losskit::get_num_threads();
  CHECK(previous >= 1);
  losskit::set_num_threads(3);
  CHECK(losskit::get_num_threads() == 3);
  CHECK_THROWS(losskit::set_num_threads(0), std::invalid_argument);
  CHECK_THROWS(losskit::set_num_threads(-2), std::invalid_argument);
  CHECK_THROWS(losskit::set_num_threads(losskit::kMaxThreads + 1), std::invalid_argument);
  CHECK(losskit::get_num_threads() == 3);
  losskit::set_num_threads(previous);
}

// A thread count for the calling thread only, while the scope lives (nested scopes restore the
// outer one); other threads keep the setting.
LOSSKIT_TEST(scoped_thread_count) {
  const int previous = losskit::get_num_threads();
  losskit::set_num_threads(2);
  {
    const losskit::ScopedNumThreads outer(3);
    CHECK(losskit::get_num_threads() == 3);
    {
      const losskit::ScopedNumThreads inner(1);
      CHECK(losskit::get_num_threads() == 1);
    }
    CHECK(losskit::get_num_threads() == 3);
    int elsewhere = 0;
    std::thread([&] { elsewhere = losskit::get_num_threads(); }).join();
    CHECK(elsewhere == 2);
    CHECK_THROWS(losskit::ScopedNumThreads(0), std::invalid_argument);
    CHECK_THROWS(losskit::ScopedNumThreads(losskit::kMaxThreads + 1), std::invalid_argument);
    CHECK(losskit::get_num_threads() == 3);
  }
  CHECK(losskit::get_num_threads() == 2);
  losskit::set_num_threads(previous);
}

LOSSKIT_TEST(isa_can_be_forced) {
  CHECK(losskit::isa_available(losskit::Isa::sse2));  // the x86-64 baseline is always there
  for (losskit::Isa isa : losskit_test::kAllIsas) {
    if (losskit::isa_available(isa)) continue;
    const losskit::Isa before = losskit::get_isa();
    CHECK_THROWS(losskit::set_isa(isa), std::invalid_argument);
    CHECK(losskit::get_isa() == before);
  }
  CHECK(std::string(losskit::isa_name(losskit::Isa::avx2)) == "avx2");
  losskit_test::for_each_isa([](losskit::Isa isa) {
    CHECK(losskit::get_isa() == isa);
    // The vector math of this ISA: within 2 ulp of the C library on a few points.
    const double xs[] = {-20.5, -1.0, -1e-3, 0.0, 0.3, 1.0, 7.25, 700.0};
    const double fs[] = {0.0, 0.25, 1e-300, 1.0, 2.0, 3.5, 1e10, 1e300};
    const std::size_t n = sizeof(xs) / sizeof(xs[0]);
    double out[n];
    losskit::vector_math(losskit::MathFunction::exp, xs, out, n);
    for (std::size_t i = 0; i < n; ++i) CHECK_CLOSE(out[i], std::exp(xs[i]), 4.5e-16, 0, isa_name(isa) + std::string(" exp"));
    losskit::vector_math(losskit::MathFunction::expm1, xs, out, n);
    for (std::size_t i = 0; i < n; ++i) CHECK_CLOSE(out[i], std::expm1(xs[i]), 4.5e-16, 0, isa_name(isa) + std::string(" expm1"));
    losskit::vector_math(losskit::MathFunction::tanh, xs, out, n);
    for (std::size_t i = 0; i < n; ++i) CHECK_CLOSE(out[i], std::tanh(xs[i]), 6.7e-16, 0, isa_name(isa) + std::string(" tanh"));
    losskit::vector_math(losskit::MathFunction::log, fs, out, n);
    for (std::size_t i = 0; i < n; ++i) CHECK_CLOSE(out[i], std::log(fs[i]), 4.5e-16, 0, isa_name(isa) + std::string(" log"));
    losskit::vector_math(losskit::MathFunction::log1p, fs, out, n);
    for (std::size_t i = 0; i < n; ++i) CHECK_CLOSE(out[i], std::log1p(fs[i]), 4.5e-16, 0, isa_name(isa) + std::string(" log1p"));
  });
}

// Run by CTest with LOSSKIT_ISA=sse2|avx2|avx512: that level when this CPU has it, else the
// best available one (a message on stderr says so); without the variable, the best.
LOSSKIT_TEST(isa_from_environment) {
  losskit::Isa best = losskit::Isa::sse2;
  for (losskit::Isa isa : losskit_test::kAllIsas)
    if (losskit::isa_available(isa)) best = isa;
  const char* env = std::getenv("LOSSKIT_ISA");
  losskit::Isa expected = best;
  for (losskit::Isa isa : losskit_test::kAllIsas)
    if (env && std::strcmp(env, losskit::isa_name(isa)) == 0 && losskit::isa_available(isa)) expected = isa;
  CHECK(losskit::get_isa() == expected);
}

}  // namespace
