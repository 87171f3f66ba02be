// Threads in one place: OpenMP only above a size threshold, a static schedule over work items
// whose results never depend on which thread ran them.
#pragma once

#include <cstddef>

#include "losskit/losskit.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace losskit::LOSSKIT_ISA {

// Elements below which a streaming kernel (a few flops per element, memory bound) stays on one
// thread: forking a team costs a few microseconds, about what one core needs for this many
// elements. Tuned with bench/ (see the issue notes).
inline constexpr std::size_t kParallelMinStreaming = std::size_t(1) << 16;
// The same for kernels that spend about a nanosecond per element (an exp, a log, a division).
inline constexpr std::size_t kParallelMinCompute = std::size_t(1) << 13;

inline int threads_for(std::size_t n, std::size_t parallel_min) {
#ifdef _OPENMP
  if (n < parallel_min) return 1;
  return get_num_threads();
#else
  (void)n;
  (void)parallel_min;
  return 1;
#endif
}

// fn(i) for i in [0, count) on `threads` threads, contiguous chunks per thread. fn must not
// throw: exceptions cannot leave an OpenMP region.
template <class Fn> void parallel_for(int threads, std::size_t count, const Fn& fn) noexcept {
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static)
  for (std::ptrdiff_t i = 0; i < std::ptrdiff_t(count); ++i) fn(std::size_t(i));
#else
  (void)threads;
  for (std::size_t i = 0; i < count; ++i) fn(i);
#endif
}

}  // namespace losskit::LOSSKIT_ISA
