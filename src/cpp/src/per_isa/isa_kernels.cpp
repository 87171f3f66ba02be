// Every kernel, instantiated for one instruction set: CMake compiles this file once per ISA
// with LOSSKIT_ISA naming the namespace and the matching -m flags.
#include "kernel_table.hpp"
#include "drivers/elementwise.hpp"
#include "losskit/definitions/all.hpp"
#include "drivers/rowwise.hpp"
#include "drivers/update_rules.hpp"

namespace losskit::LOSSKIT_ISA {
namespace {

// out[i] = f(x[i]) with the vector math functions (the hook the ULP tests use).
template <class T, Vec<T> (*F)(Vec<T>)> void map_math(const T* x, T* out, std::size_t n) {
  const std::size_t nblocks = (n + kBlock - 1) / kBlock;
  parallel_for(threads_for(n, kParallelMinStreaming), nblocks, [=](std::size_t b) {
    const std::size_t end = b + 1 == nblocks ? n : (b + 1) * kBlock;
    std::size_t i = b * kBlock;
    for (; i + kLanes<T> <= end; i += kLanes<T>) store<T>(out + i, F(load<T>(x + i)));
    if (i < end) store_partial<T>(out + i, end - i, F(load_partial<T>(x + i, end - i)));
  });
}

template <class T> Vec<T> exp_fn(Vec<T> v) { return vexp<T>(v); }
template <class T> Vec<T> log_fn(Vec<T> v) { return vlog<T>(v); }
template <class T> Vec<T> log1p_fn(Vec<T> v) { return vlog1p<T>(v); }
template <class T> Vec<T> expm1_fn(Vec<T> v) { return vexpm1<T>(v); }
template <class T> Vec<T> tanh_fn(Vec<T> v) { return vtanh<T>(v); }
template <class T> Vec<T> erf_fn(Vec<T> v) { return verf<T>(v); }

const KernelTable table = {
#define LOSSKIT_TABLE_ENTRY(Definition) &evaluate_elementwise<Definition, float>,
    {LOSSKIT_ELEMENTWISE_DEFINITIONS(LOSSKIT_TABLE_ENTRY)},
#undef LOSSKIT_TABLE_ENTRY
#define LOSSKIT_TABLE_ENTRY(Definition) &evaluate_elementwise<Definition, double>,
    {LOSSKIT_ELEMENTWISE_DEFINITIONS(LOSSKIT_TABLE_ENTRY)},
#undef LOSSKIT_TABLE_ENTRY
#define LOSSKIT_TABLE_ENTRY(Definition) &evaluate_rowwise<Definition, float>,
    {LOSSKIT_ROWWISE_DEFINITIONS(LOSSKIT_TABLE_ENTRY)},
#undef LOSSKIT_TABLE_ENTRY
#define LOSSKIT_TABLE_ENTRY(Definition) &evaluate_rowwise<Definition, double>,
    {LOSSKIT_ROWWISE_DEFINITIONS(LOSSKIT_TABLE_ENTRY)},
#undef LOSSKIT_TABLE_ENTRY
#define LOSSKIT_TABLE_ENTRY(Definition) &Definition<float>::kInfo,
    {LOSSKIT_ELEMENTWISE_DEFINITIONS(LOSSKIT_TABLE_ENTRY)},
    {LOSSKIT_ROWWISE_DEFINITIONS(LOSSKIT_TABLE_ENTRY)},
#undef LOSSKIT_TABLE_ENTRY
    // Order of MathFunction.
    {&map_math<float, exp_fn<float>>, &map_math<float, log_fn<float>>,
     &map_math<float, log1p_fn<float>>, &map_math<float, expm1_fn<float>>,
     &map_math<float, tanh_fn<float>>, &map_math<float, erf_fn<float>>},
    {&map_math<double, exp_fn<double>>, &map_math<double, log_fn<double>>,
     &map_math<double, log1p_fn<double>>, &map_math<double, expm1_fn<double>>,
     &map_math<double, tanh_fn<double>>, &map_math<double, erf_fn<double>>},
    optim_kernels<float>(),
    optim_kernels<double>(),
    &gather_kernel,
};

}  // namespace

const KernelTable& kernel_table() { return table; }

}  // namespace losskit::LOSSKIT_ISA
