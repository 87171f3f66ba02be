// The table of kernels one instruction set provides; dispatch.cpp holds one per compiled ISA.
#pragma once

#include "losskit/losskit.hpp"

namespace losskit {

template <class T> using ElementwiseKernel = ElementwiseResult (*)(const LossParams&,
                                                                    const ElementwiseCall<T>&);
template <class T> using RowwiseKernel = ElementwiseResult (*)(const LossParams&,
                                                                const RowwiseCall<T>&);
template <class T> using MathKernel = void (*)(const T*, T*, std::size_t);

inline constexpr int kNumMathFunctions = 5;

struct KernelTable {
  ElementwiseKernel<float> elementwise_f32[kNumElementwiseLosses];
  ElementwiseKernel<double> elementwise_f64[kNumElementwiseLosses];
  RowwiseKernel<float> rowwise_f32[kNumRowwiseLosses];
  RowwiseKernel<double> rowwise_f64[kNumRowwiseLosses];
  MathKernel<float> math_f32[kNumMathFunctions];
  MathKernel<double> math_f64[kNumMathFunctions];
};

#define LOSSKIT_DECLARE_TABLE(isa) \
  namespace isa {                  \
  const KernelTable& kernel_table(); \
  }
LOSSKIT_DECLARE_TABLE(sse2)
LOSSKIT_DECLARE_TABLE(avx2)
LOSSKIT_DECLARE_TABLE(avx512)
#undef LOSSKIT_DECLARE_TABLE

}  // namespace losskit
